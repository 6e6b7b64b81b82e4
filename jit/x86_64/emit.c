// SPDX-License-Identifier: MIT
/*
 * x86-64 encoders of the JIT. Each appends one instruction to the growing buffer and becomes a
 * no-op once st->err is set (uBPF emit_bytes), so translators check the error once per insn.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit_x86_internal.h"

/* Largest image we produce: far above what BPFI_MAX_INSNS can need, small enough for rel32. */
#define JIT_MAX_IMAGE (256u << 20)

void jit__fail(struct jit_state *st, int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (st->err)
		return;
	st->err = err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bpfi_log_err(st->log, err, "jit: insn %u: %s", st->idx, msg);
}

/* Makes room for @len more bytes; sets a sticky error and returns false when it cannot. */
static bool ensure_room(struct jit_state *st, uint32_t len)
{
	uint8_t *grown;
	uint32_t cap;

	if (st->err)
		return false;
	if (st->off + len <= st->cap)
		return true;
	if ((uint64_t)st->off + len > JIT_MAX_IMAGE) {
		jit__fail(st, -E2BIG, "native code exceeds %u bytes", JIT_MAX_IMAGE);
		return false;
	}
	cap = st->cap ? st->cap : 4096;
	while (cap < st->off + len)
		cap *= 2;
	grown = realloc(st->buf, cap);
	if (!grown) {
		jit__fail(st, -ENOMEM, "out of memory for %u bytes of code", cap);
		return false;
	}
	st->buf = grown;
	st->cap = cap;
	return true;
}

void jit__emit_bytes(struct jit_state *st, const void *data, uint32_t len)
{
	if (!ensure_room(st, len))
		return;
	memcpy(st->buf + st->off, data, len);
	st->off += len;
}

void jit__emit1(struct jit_state *st, uint8_t b)
{
	jit__emit_bytes(st, &b, 1);
}

void jit__emit4(struct jit_state *st, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	jit__emit_bytes(st, b, 4);
}

void jit__emit8(struct jit_state *st, uint64_t v)
{
	jit__emit4(st, (uint32_t)v);
	jit__emit4(st, (uint32_t)(v >> 32));
}

/* REX is 0100WRXB; it is left out when no bit is set (callers needing it force it). */
void jit__emit_rex(struct jit_state *st, int w, int r, int x, int b)
{
	if (w || r || x || b)
		jit__emit1(st, (uint8_t)(0x40 | (w << 3) | (r << 2) | (x << 1) | b));
}

void jit__emit_modrm(struct jit_state *st, int mod, int reg, int rm)
{
	jit__emit1(st, (uint8_t)((mod << 6) | ((reg & 7) << 3) | (rm & 7)));
}

/*
 * ModRM (+SIB, +displacement) for [base + disp]. Two quirks of the encoding: rm=100 means "a
 * SIB byte follows", so rsp/r12 as a base need the SIB 0x24 (no index); and mod=00 rm=101 means
 * rip-relative, so rbp/r13 as a base always carry a displacement, even 0.
 */
void jit__emit_modrm_mem(struct jit_state *st, int reg, int base, int32_t disp)
{
	int mod;

	if (disp == 0 && (base & 7) != RBP)
		mod = 0;
	else if (disp >= -128 && disp <= 127)
		mod = 1;
	else
		mod = 2;
	jit__emit_modrm(st, mod, reg, base);
	if ((base & 7) == RSP)
		jit__emit1(st, 0x24);
	if (mod == 1)
		jit__emit1(st, (uint8_t)disp);
	else if (mod == 2)
		jit__emit4(st, (uint32_t)disp);
}

static bool is_high_byte_alias(int reg)
{
	/* Without REX, byte registers 4..7 are ah/ch/dh/bh instead of spl/bpl/sil/dil. */
	return reg >= RSP && reg <= RDI;
}

static void emit_prefixes(struct jit_state *st, unsigned flags, int reg, int rm, bool rm_is_reg)
{
	int w = !!(flags & JIT_W), r = reg >> 3 & 1, b = rm >> 3 & 1;

	if (flags & JIT_LOCK)
		jit__emit1(st, 0xf0);
	if (flags & JIT_66)
		jit__emit1(st, 0x66);
	if ((flags & JIT_BYTE) && !(w | r | b) &&
	    (is_high_byte_alias(reg) || (rm_is_reg && is_high_byte_alias(rm))))
		jit__emit1(st, 0x40);
	else
		jit__emit_rex(st, w, r, 0, b);
}

/* Opcodes of one to three bytes are passed as one integer, most significant byte first. */
static void emit_opcode(struct jit_state *st, uint32_t op)
{
	if (op > 0xffff)
		jit__emit1(st, (uint8_t)(op >> 16));
	if (op > 0xff)
		jit__emit1(st, (uint8_t)(op >> 8));
	jit__emit1(st, (uint8_t)op);
}

void jit__emit_op_rr(struct jit_state *st, unsigned flags, uint32_t op, int reg, int rm)
{
	emit_prefixes(st, flags, reg, rm, true);
	emit_opcode(st, op);
	jit__emit_modrm(st, 3, reg, rm);
}

void jit__emit_op_mem(struct jit_state *st, unsigned flags, uint32_t op, int reg, int base,
		      int32_t disp)
{
	emit_prefixes(st, flags, reg, base, false);
	emit_opcode(st, op);
	jit__emit_modrm_mem(st, reg, base, disp);
}

/* mov dst, src (0x89: mov r/m, r). A 32-bit mov zero-extends, which is how ALU32 results end. */
void jit__emit_mov_rr(struct jit_state *st, bool w, int src, int dst)
{
	jit__emit_op_rr(st, w ? JIT_W : 0, 0x89, src, dst);
}

/*
 * The shortest load of a constant: xor for 0 (clobbers flags: never between a compare and its
 * jump), mov r32, imm32 for what zero-extends, the sign-extending mov r/m64, imm32, movabs.
 * With !w only the low 32 bits of @imm count.
 */
void jit__emit_mov_ri(struct jit_state *st, bool w, int dst, int64_t imm)
{
	if (!w)
		imm = (uint32_t)imm;
	if (imm == 0) {
		jit__emit_op_rr(st, 0, 0x31, dst, dst);
	} else if (imm > 0 && imm <= UINT32_MAX) {
		jit__emit_rex(st, 0, 0, 0, dst >> 3);
		jit__emit1(st, (uint8_t)(0xb8 + (dst & 7)));
		jit__emit4(st, (uint32_t)imm);
	} else if (imm >= INT32_MIN && imm < 0) {
		jit__emit_op_rr(st, JIT_W, 0xc7, 0, dst);
		jit__emit4(st, (uint32_t)imm);
	} else {
		jit__emit_movabs(st, dst, (uint64_t)imm);
	}
}

void jit__emit_movabs(struct jit_state *st, int dst, uint64_t imm)
{
	jit__emit_rex(st, 1, 0, 0, dst >> 3);
	jit__emit1(st, (uint8_t)(0xb8 + (dst & 7)));
	jit__emit8(st, imm);
}

/* Two-operand ALU, "op r/m, r" form: 0x01 add, 0x09 or, 0x21 and, 0x29 sub, 0x31 xor,
 * 0x39 cmp, 0x85 test, 0x89 mov. */
void jit__emit_alu_rr(struct jit_state *st, bool w, uint8_t op, int src, int dst)
{
	jit__emit_op_rr(st, w ? JIT_W : 0, op, src, dst);
}

/*
 * Group-1 ALU with an immediate (/0 add, /1 or, /4 and, /5 sub, /6 xor, /7 cmp): imm8 when it
 * fits, the one-byte-shorter rax form otherwise. The 64-bit forms sign-extend the immediate,
 * exactly as eBPF ALU64/JMP do.
 */
void jit__emit_alu_ri(struct jit_state *st, bool w, int ext, int dst, int32_t imm)
{
	unsigned flags = w ? JIT_W : 0;

	if (imm >= -128 && imm <= 127) {
		jit__emit_op_rr(st, flags, 0x83, ext, dst);
		jit__emit1(st, (uint8_t)imm);
	} else if (dst == RAX) {
		jit__emit_rex(st, w, 0, 0, 0);
		jit__emit1(st, (uint8_t)(ext << 3 | 5));
		jit__emit4(st, (uint32_t)imm);
	} else {
		jit__emit_op_rr(st, flags, 0x81, ext, dst);
		jit__emit4(st, (uint32_t)imm);
	}
}

/* Group 3 on a register: /2 not, /3 neg, /6 div, /7 idiv (rdx:rax implicit). */
void jit__emit_unary(struct jit_state *st, bool w, int ext, int rm)
{
	jit__emit_op_rr(st, w ? JIT_W : 0, 0xf7, ext, rm);
}

/* Group 2 shift by a constant: /4 shl, /5 shr, /7 sar; D1 is the shorter by-one form. */
void jit__emit_shift_ri(struct jit_state *st, bool w, int ext, int dst, uint8_t imm)
{
	if (imm == 1) {
		jit__emit_op_rr(st, w ? JIT_W : 0, 0xd1, ext, dst);
		return;
	}
	jit__emit_op_rr(st, w ? JIT_W : 0, 0xc1, ext, dst);
	jit__emit1(st, imm);
}

void jit__emit_push(struct jit_state *st, int reg)
{
	jit__emit_rex(st, 0, 0, 0, reg >> 3);
	jit__emit1(st, (uint8_t)(0x50 + (reg & 7)));
}

void jit__emit_pop(struct jit_state *st, int reg)
{
	jit__emit_rex(st, 0, 0, 0, reg >> 3);
	jit__emit1(st, (uint8_t)(0x58 + (reg & 7)));
}

void jit__emit_bswap(struct jit_state *st, bool w, int reg)
{
	jit__emit_rex(st, w, 0, 0, reg >> 3);
	jit__emit1(st, 0x0f);
	jit__emit1(st, (uint8_t)(0xc8 + (reg & 7)));
}

/*
 * dst = *(size *)(base + off), zero- or sign-extended to 64 bits: movzx/movsx for bytes and
 * halves, a 32-bit mov (zero-extends) or movsxd for words.
 */
void jit__emit_load(struct jit_state *st, int size, bool sx, int dst, int base, int32_t off)
{
	switch (size) {
	case BPF_B:
		jit__emit_op_mem(st, sx ? JIT_W : 0, sx ? 0x0fbe : 0x0fb6, dst, base, off);
		break;
	case BPF_H:
		jit__emit_op_mem(st, sx ? JIT_W : 0, sx ? 0x0fbf : 0x0fb7, dst, base, off);
		break;
	case BPF_W:
		jit__emit_op_mem(st, sx ? JIT_W : 0, sx ? 0x63 : 0x8b, dst, base, off);
		break;
	default:
		jit__emit_op_mem(st, JIT_W, 0x8b, dst, base, off);
		break;
	}
}

void jit__emit_store_reg(struct jit_state *st, int size, int src, int base, int32_t off)
{
	static const unsigned flags[4] = { [BPF_W >> 3] = 0,
					   [BPF_H >> 3] = JIT_66,
					   [BPF_B >> 3] = JIT_BYTE,
					   [BPF_DW >> 3] = JIT_W };

	jit__emit_op_mem(st, flags[size >> 3], size == BPF_B ? 0x88 : 0x89, src, base, off);
}

/* mov size [base + off], imm: the 64-bit form stores the sign-extended imm32, as eBPF's ST. */
void jit__emit_store_imm(struct jit_state *st, int size, int base, int32_t off, int32_t imm)
{
	switch (size) {
	case BPF_B:
		jit__emit_op_mem(st, 0, 0xc6, 0, base, off);
		jit__emit1(st, (uint8_t)imm);
		break;
	case BPF_H:
		jit__emit_op_mem(st, JIT_66, 0xc7, 0, base, off);
		jit__emit1(st, (uint8_t)imm);
		jit__emit1(st, (uint8_t)(imm >> 8));
		break;
	default:
		jit__emit_op_mem(st, size == BPF_DW ? JIT_W : 0, 0xc7, 0, base, off);
		jit__emit4(st, (uint32_t)imm);
		break;
	}
}

/* Helpers live at absolute addresses in the target process: movabs r11, addr; call r11. */
void jit__emit_call_abs(struct jit_state *st, uint64_t addr)
{
	jit__emit_movabs(st, JIT_TMP, addr);
	jit__emit_op_rr(st, 0, 0xff, 2, JIT_TMP);
}

static void add_patch(struct jit_state *st, enum jit_patch_kind kind, uint32_t target)
{
	struct jit_patch *grown;

	if (st->err)
		return;
	if (st->nr_patches == st->cap_patches) {
		uint32_t cap = st->cap_patches ? st->cap_patches * 2 : 64;

		grown = reallocarray(st->patches, cap, sizeof(*grown));
		if (!grown) {
			jit__fail(st, -ENOMEM, "out of memory for jump patches");
			return;
		}
		st->patches = grown;
		st->cap_patches = cap;
	}
	st->patches[st->nr_patches++] =
		(struct jit_patch){ .at = st->off, .target = target, .kind = kind };
}

/* A rel32 placeholder, resolved by jit.c once every offset is known. */
void jit__emit_rel32(struct jit_state *st, enum jit_patch_kind kind, uint32_t target)
{
	add_patch(st, kind, target);
	jit__emit4(st, 0);
}

/*
 * Jump (cc, or CC_ALWAYS) to eBPF instruction @target_insn of the current function. Backward
 * targets are already placed: they get rel8 when it fits (loops are where it matters).
 * Forward ones get a placeholder and a patch: rel8 when the previous pass proved the distance
 * fits (the jump ends its instruction, so prev_ends[idx] is where the displacement counted
 * from then), rel32 otherwise.
 */
void jit__emit_jump(struct jit_state *st, int cc, uint32_t target_insn)
{
	if (target_insn <= st->idx) {
		int64_t dest = st->pc_locs[target_insn];
		int64_t rel8 = dest - (int64_t)(st->off + 2);

		if (rel8 >= -128) {
			jit__emit1(st, cc == CC_ALWAYS ? 0xeb : (uint8_t)(0x70 | cc));
			jit__emit1(st, (uint8_t)rel8);
			return;
		}
	}
	if (target_insn > st->idx && st->prev_locs &&
	    st->prev_locs[target_insn] - st->prev_ends[st->idx] <= 127) {
		jit__emit1(st, cc == CC_ALWAYS ? 0xeb : (uint8_t)(0x70 | cc));
		add_patch(st, JIT_PATCH_INSN8, target_insn);
		jit__emit1(st, 0);
		return;
	}
	if (cc == CC_ALWAYS) {
		jit__emit1(st, 0xe9);
	} else {
		jit__emit1(st, 0x0f);
		jit__emit1(st, (uint8_t)(0x80 | cc));
	}
	jit__emit_rel32(st, JIT_PATCH_INSN, target_insn);
}

/* A short forward jump inside one translated instruction; returns where its rel8 lives. */
uint32_t jit__emit_jump8(struct jit_state *st, int cc)
{
	jit__emit1(st, cc == CC_ALWAYS ? 0xeb : (uint8_t)(0x70 | cc));
	jit__emit1(st, 0);
	return st->off - 1;
}

/* Points the rel8 at @at to the current offset. */
void jit__patch_jump8(struct jit_state *st, uint32_t at)
{
	uint32_t rel = st->off - (at + 1);

	if (st->err)
		return;
	if (rel > 127) {
		jit__fail(st, -EFAULT, "bug: short jump of %u bytes", rel);
		return;
	}
	st->buf[at] = (uint8_t)rel;
}

/* lea dst, [rip + rel32]: an address inside the image, position-independent. */
void jit__emit_lea_rip(struct jit_state *st, int dst, enum jit_patch_kind kind, uint32_t target)
{
	jit__emit_rex(st, 1, dst >> 3, 0, 0);
	jit__emit1(st, 0x8d);
	jit__emit_modrm(st, 0, dst, 5);
	jit__emit_rel32(st, kind, target);
}
