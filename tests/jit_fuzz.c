// SPDX-License-Identifier: MIT
/*
 * Random eBPF programs for differential tests of the backends: every ALU/ALU64 operation,
 * register pair and awkward immediate, forward branches, stack accesses and atomics.
 */
#include "jit_fuzz.h"

#include <stdint.h>

#include "common/compiler.h"

#define FUZZ_LEN 96

static uint64_t fuzz_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int32_t fuzz_imm(uint64_t *s)
{
	static const int32_t special[] = { 0,	1,    -1,	 2,	    7,	     8,
					   16,	31,   32,	 33,	    63,	     64,
					   255, -256, INT32_MIN, INT32_MAX, 0x10000, -0x10000 };
	uint64_t r = fuzz_next(s);

	return r % 3 ? special[r / 3 % ARRAY_SIZE(special)] : (int32_t)(r >> 32);
}

static struct bpf_insn fuzz_alu(uint64_t *s)
{
	static const uint8_t ops[] = { BPF_ADD, BPF_SUB, BPF_MUL,  BPF_DIV, BPF_OR,
				       BPF_AND, BPF_LSH, BPF_RSH,  BPF_NEG, BPF_MOD,
				       BPF_XOR, BPF_MOV, BPF_ARSH, BPF_END };
	uint64_t r = fuzz_next(s);
	uint8_t op = ops[r % ARRAY_SIZE(ops)], cls = (r >> 8) & 1 ? BPF_ALU64 : BPF_ALU;
	uint8_t src = (r >> 9) & 1 ? BPF_X : BPF_K;
	struct bpf_insn insn = INSN(cls | op | src, (r >> 12) % 10, (r >> 16) % 10, 0, fuzz_imm(s));

	if (src == BPF_K)
		insn.src_reg = 0;
	if (op == BPF_NEG)
		insn.code = cls | op;
	if (op == BPF_DIV || op == BPF_MOD)
		insn.off = (r >> 20) & 1; /* sdiv/smod */
	if (op == BPF_MOV && src == BPF_X && (r >> 21) % 3 == 0) {
		static const int16_t widths[] = { 8, 16, 32 };

		insn.off = widths[(r >> 23) % (cls == BPF_ALU64 ? 3 : 2)]; /* movsx */
	}
	if (op == BPF_END) {
		insn.imm = 16 << ((r >> 24) % 3);
		if (cls == BPF_ALU64)
			insn.code = BPF_ALU64 | BPF_END | BPF_K; /* bswap */
	}
	return insn;
}

static struct bpf_insn fuzz_mem(uint64_t *s)
{
	static const uint8_t sizes[] = { BPF_B, BPF_H, BPF_W, BPF_DW };
	static const int32_t atomics[] = { BPF_ADD,
					   BPF_OR,
					   BPF_AND,
					   BPF_XOR,
					   BPF_ADD | BPF_FETCH,
					   BPF_OR | BPF_FETCH,
					   BPF_AND | BPF_FETCH,
					   BPF_XOR | BPF_FETCH,
					   BPF_XCHG,
					   BPF_CMPXCHG };
	uint64_t r = fuzz_next(s);
	uint8_t size = sizes[r % 4], dst = (r >> 4) % 10, src = (r >> 8) % 10;
	int16_t off = (int16_t)(-8 * (int)(1 + (r >> 12) % 8));

	switch ((r >> 16) % 5) {
	case 0:
		return INSN(BPF_LDX | BPF_MEM | size, dst, 10, off, 0);
	case 1:
		return INSN(BPF_LDX | BPF_MEMSX | sizes[(r >> 20) % 3], dst, 10, off, 0);
	case 2:
		return INSN(BPF_STX | BPF_MEM | size, 10, src, off, 0);
	case 3:
		return INSN(BPF_ST | BPF_MEM | size, 10, 0, off, fuzz_imm(s));
	default:
		return INSN(BPF_STX | BPF_ATOMIC | ((r >> 20) & 1 ? BPF_DW : BPF_W), 10, src, off,
			    atomics[(r >> 24) % ARRAY_SIZE(atomics)]);
	}
}

static struct bpf_insn fuzz_jump(uint64_t *s, uint32_t pc, uint32_t end)
{
	static const uint8_t ops[] = { BPF_JEQ,	 BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE,  BPF_JSGT,
				       BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE, BPF_JA };
	uint64_t r = fuzz_next(s);
	uint8_t op = ops[r % ARRAY_SIZE(ops)], src = (r >> 5) & 1 ? BPF_X : BPF_K;
	uint8_t cls = (r >> 6) & 1 ? BPF_JMP32 : BPF_JMP;
	int16_t off = (int16_t)((r >> 8) % (end - pc));
	struct bpf_insn insn =
		INSN(cls | op | src, (r >> 16) % 10, (r >> 20) % 10, off, fuzz_imm(s));

	if (op == BPF_JA) /* ja, or gotol with the offset in imm */
		insn = cls == BPF_JMP ? JA(off) : INSN(BPF_JMP32 | BPF_JA, 0, 0, 0, off);
	else if (src == BPF_K)
		insn.src_reg = 0;
	return insn;
}

uint32_t jit_fuzz_program(uint64_t seed, struct bpf_insn *insns)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	uint32_t k = 0, body;

	for (int r = 0; r < 10; r++) {
		uint64_t v = fuzz_next(&s);

		insns[k++] = INSN(BPF_LD | BPF_DW | BPF_IMM, r, 0, 0, (int32_t)(uint32_t)v);
		insns[k++] = INSN(0, 0, 0, 0, (int32_t)(v >> 32));
	}
	for (int slot = 1; slot <= 8; slot++)
		insns[k++] = STX(BPF_DW, 10, slot, -8 * slot);
	body = k + FUZZ_LEN;
	while (k < body) {
		uint64_t r = fuzz_next(&s) % 8;

		if (r < 5)
			insns[k] = fuzz_alu(&s);
		else if (r < 7)
			insns[k] = fuzz_mem(&s);
		else
			insns[k] = fuzz_jump(&s, k, body);
		k++;
	}
	/* r0 = r0 ^ (r1 * 3) ^ ... ^ the eight stack words, each rotated by its index */
	for (int r = 1; r < 10; r++) {
		insns[k++] = ALU64_IMM(BPF_MUL, r, 2 * r + 1);
		insns[k++] = ALU64_REG(BPF_XOR, 0, r);
	}
	for (int slot = 1; slot <= 8; slot++) {
		insns[k++] = LDX(BPF_DW, 1, 10, -8 * slot);
		insns[k++] = ALU64_IMM(BPF_LSH, 0, slot);
		insns[k++] = ALU64_REG(BPF_ADD, 0, 1);
	}
	insns[k++] = EXIT;
	return k;
}
