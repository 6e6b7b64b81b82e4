/* SPDX-License-Identifier: MIT */
/*
 * The few x86-64 encodings the trampolines are made of (trampoline.c, syscall_tramp.c): a
 * bounded buffer whose first overflow sticks (as the JIT's emitter does), register moves to
 * and from [rsp + off], and 64-bit immediates.
 */
#ifndef BPFI_INJECTOR_TRAMP_EMIT_H
#define BPFI_INJECTOR_TRAMP_EMIT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct tbuf {
	uint8_t *p;
	size_t len, size;
	int err;
};

static inline void put(struct tbuf *b, const void *bytes, size_t n)
{
	if (b->err || b->len + n > b->size) {
		b->err = -E2BIG;
		return;
	}
	memcpy(b->p + b->len, bytes, n);
	b->len += n;
}

static inline void put1(struct tbuf *b, uint8_t v)
{
	put(b, &v, 1);
}

static inline void put4(struct tbuf *b, uint32_t v)
{
	put(b, &v, 4);
}

static inline void put8(struct tbuf *b, uint64_t v)
{
	put(b, &v, 8);
}

/* mov [rsp+off], reg (store) or mov reg, [rsp+off] (load): REX.W, REX.R for r8-r15, a SIB
 * byte because the base is rsp, disp8 below 128 and disp32 above. */
static inline void mov_rsp(struct tbuf *b, uint8_t reg, uint32_t off, bool load)
{
	put1(b, 0x48 | (reg >= 8 ? 0x04 : 0));
	put1(b, load ? 0x8b : 0x89);
	if (off < 128) {
		put1(b, 0x44 | (uint8_t)((reg & 7) << 3)); /* mod=01 rm=100 (SIB): disp8 */
		put1(b, 0x24); /* SIB: base=rsp, no index */
		put1(b, (uint8_t)off);
		return;
	}
	put1(b, 0x84 | (uint8_t)((reg & 7) << 3)); /* mod=10 rm=100 (SIB): disp32 */
	put1(b, 0x24);
	put4(b, off);
}

/* mov qword [rsp+off], imm32 (sign-extended) */
static inline void mov_rsp_imm(struct tbuf *b, uint32_t off, int32_t imm)
{
	put(b, "\x48\xc7\x84\x24", 4);
	put4(b, off);
	put4(b, (uint32_t)imm);
}

/* mov reg, imm64 */
static inline void movabs(struct tbuf *b, uint8_t reg, uint64_t imm)
{
	put1(b, 0x48 | (reg >= 8 ? 0x01 : 0));
	put1(b, 0xb8 | (reg & 7));
	put8(b, imm);
}

#endif
