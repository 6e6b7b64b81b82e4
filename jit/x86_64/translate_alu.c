// SPDX-License-Identifier: MIT
/*
 * ALU and ALU64 instructions. A 32-bit x86 operation zero-extends its result into the full
 * register, which is exactly the ALU32 rule, so most ALU32 forms are the 64-bit ones minus REX.W.
 */
#include <errno.h>

#include "jit_x86_internal.h"

/* "op r/m, r" opcode and group-1 extension of the simple two-operand operations. */
static int simple_op(uint8_t bpf_op, uint8_t *ret_rr)
{
	switch (bpf_op) {
	case BPF_ADD:
		*ret_rr = 0x01;
		return 0;
	case BPF_OR:
		*ret_rr = 0x09;
		return 1;
	case BPF_AND:
		*ret_rr = 0x21;
		return 4;
	case BPF_SUB:
		*ret_rr = 0x29;
		return 5;
	default: /* BPF_XOR */
		*ret_rr = 0x31;
		return 6;
	}
}

static void emit_simple(struct jit_state *st, const struct bpf_insn *insn, bool w, int dst)
{
	uint8_t op_rr;
	int ext = simple_op(BPF_OP(insn->code), &op_rr);

	if (BPF_SRC(insn->code) == BPF_X) {
		jit__emit_alu_rr(st, w, op_rr, jit__reg(insn->src_reg), dst);
		return;
	}
	/* x op 0 is x for add/sub/or/xor: ALU64 needs nothing, ALU32 still truncates. */
	if (insn->imm == 0 && BPF_OP(insn->code) != BPF_AND) {
		if (!w)
			jit__emit_mov_rr(st, false, dst, dst);
		return;
	}
	/* A non-negative mask clears the upper half either way; the 32-bit and is shorter. */
	if (BPF_OP(insn->code) == BPF_AND && insn->imm >= 0)
		w = false;
	jit__emit_alu_ri(st, w, ext, dst, insn->imm);
}

/* mov and movsx (cpu v4: off = 8, 16, 32 sign-extends from that width). */
static void emit_mov(struct jit_state *st, const struct bpf_insn *insn, bool w, int dst)
{
	int src = jit__reg(insn->src_reg);

	if (BPF_SRC(insn->code) == BPF_K) {
		jit__emit_mov_ri(st, w, dst, insn->imm);
		return;
	}
	switch (insn->off) {
	case 0:
		if (w && src == dst)
			return;
		jit__emit_mov_rr(st, w, src, dst);
		return;
	case 8:
		jit__emit_op_rr(st, (w ? JIT_W : 0) | JIT_BYTE, 0x0fbe, dst, src);
		return;
	case 16:
		jit__emit_op_rr(st, w ? JIT_W : 0, 0x0fbf, dst, src);
		return;
	default: /* 32, ALU64 only (checked by the caller) */
		jit__emit_op_rr(st, JIT_W, 0x63, dst, src);
		return;
	}
}

/*
 * Shifts. x86 masks the count to 5 (32-bit) or 6 (64-bit) bits, the same masking RFC 9669
 * asks for, so the amount needs no explicit and. A count in a register must be in cl, and
 * cl is eBPF r4: park r4 in R11 around the shift (and shift R11 itself when dst is r4).
 */
static void emit_shift(struct jit_state *st, const struct bpf_insn *insn, bool w, int dst)
{
	static const int ext_of[] = { [BPF_LSH >> 4] = 4, [BPF_RSH >> 4] = 5, [BPF_ARSH >> 4] = 7 };
	int ext = ext_of[BPF_OP(insn->code) >> 4], src = jit__reg(insn->src_reg);
	uint8_t amount;

	if (BPF_SRC(insn->code) == BPF_K) {
		amount = (uint8_t)(insn->imm & (w ? 63 : 31));
		if (amount)
			jit__emit_shift_ri(st, w, ext, dst, amount);
		else if (!w)
			jit__emit_mov_rr(st, false, dst, dst);
		return;
	}
	if (src == RCX) {
		jit__emit_op_rr(st, w ? JIT_W : 0, 0xd3, ext, dst);
		return;
	}
	jit__emit_mov_rr(st, true, RCX, JIT_TMP);
	jit__emit_mov_rr(st, false, src, RCX);
	if (dst == RCX) {
		jit__emit_op_rr(st, w ? JIT_W : 0, 0xd3, ext, JIT_TMP);
		jit__emit_mov_rr(st, true, JIT_TMP, RCX);
		return;
	}
	jit__emit_op_rr(st, w ? JIT_W : 0, 0xd3, ext, dst);
	jit__emit_mov_rr(st, true, JIT_TMP, RCX);
}

/* Division by a constant power of two: a shift or a mask, as a compiler would. */
static bool emit_div_pow2(struct jit_state *st, bool w, bool mod, int dst, int32_t imm)
{
	uint64_t d = w ? (uint64_t)(int64_t)imm : (uint32_t)imm;
	uint8_t k = 0;

	if (d == 0 || (d & (d - 1)))
		return false;
	while ((1ull << k) != d)
		k++;
	if (!mod) {
		if (k)
			jit__emit_shift_ri(st, w, 5, dst, k);
		else if (!w)
			jit__emit_mov_rr(st, false, dst, dst);
	} else if (k == 0) {
		jit__emit_mov_ri(st, false, dst, 0);
	} else {
		/* (2^k - 1) is a positive imm32 for k <= 31; the 32-bit and zero-extends. */
		jit__emit_alu_ri(st, false, 4, dst, (int32_t)((1u << k) - 1));
	}
	return true;
}

/*
 * div/mod/sdiv/smod. The divisor goes to R11; rax (r0) and rdx (r3), which div uses, are parked
 * in R9/R10. Division by zero gives 0 for div and leaves dst for mod (truncated to 32 bits by
 * ALU32); a signed division by -1 is done as neg / 0 because idiv faults on INT_MIN / -1.
 */
static void emit_div(struct jit_state *st, const struct bpf_insn *insn, bool w, int dst)
{
	bool mod = BPF_OP(insn->code) == BPF_MOD, sgn = insn->off == 1;
	uint32_t to_zero, to_done = 0, to_div = 0, to_end = 0;

	if (BPF_SRC(insn->code) == BPF_K) {
		if (insn->imm == 0) {
			if (!mod)
				jit__emit_mov_ri(st, false, dst, 0);
			else if (!w)
				jit__emit_mov_rr(st, false, dst, dst);
			return;
		}
		if (!sgn && emit_div_pow2(st, w, mod, dst, insn->imm))
			return;
		jit__emit_mov_ri(st, w, JIT_TMP, insn->imm);
	} else {
		jit__emit_mov_rr(st, w, jit__reg(insn->src_reg), JIT_TMP);
	}
	jit__emit_alu_rr(st, w, 0x85, JIT_TMP, JIT_TMP);
	to_zero = jit__emit_jump8(st, CC_E);
	if (sgn) {
		jit__emit_alu_ri(st, w, 7, JIT_TMP, -1);
		to_div = jit__emit_jump8(st, CC_NE);
		if (mod)
			jit__emit_mov_ri(st, false, dst, 0);
		else
			jit__emit_unary(st, w, 3, dst);
		to_end = jit__emit_jump8(st, CC_ALWAYS);
		jit__patch_jump8(st, to_div);
	}
	if (dst != RAX)
		jit__emit_mov_rr(st, true, RAX, JIT_ENV);
	if (dst != RDX)
		jit__emit_mov_rr(st, true, RDX, JIT_TMP2);
	if (dst != RAX)
		jit__emit_mov_rr(st, true, dst, RAX);
	if (sgn) {
		jit__emit_rex(st, w, 0, 0, 0); /* cqo / cdq: sign-extend rax into rdx */
		jit__emit1(st, 0x99);
	} else {
		jit__emit_mov_ri(st, false, RDX, 0);
	}
	jit__emit_unary(st, w, sgn ? 7 : 6, JIT_TMP);
	jit__emit_mov_rr(st, true, mod ? RDX : RAX, JIT_TMP);
	if (dst != RAX)
		jit__emit_mov_rr(st, true, JIT_ENV, RAX);
	if (dst != RDX)
		jit__emit_mov_rr(st, true, JIT_TMP2, RDX);
	jit__emit_mov_rr(st, w, JIT_TMP, dst);
	if (!mod || !w)
		to_done = jit__emit_jump8(st, CC_ALWAYS);
	jit__patch_jump8(st, to_zero);
	if (!mod)
		jit__emit_mov_ri(st, false, dst, 0);
	else if (!w)
		jit__emit_mov_rr(st, false, dst, dst);
	if (to_done)
		jit__patch_jump8(st, to_done);
	if (sgn)
		jit__patch_jump8(st, to_end);
}

/* BPF_END: to-little-endian is a truncation on x86; to-big-endian and bswap swap bytes. */
static void emit_end(struct jit_state *st, const struct bpf_insn *insn, bool w, int dst)
{
	bool swap = w || BPF_SRC(insn->code) == BPF_TO_BE;

	switch (insn->imm) {
	case 16:
		if (swap) { /* rol dst16, 8 swaps the two low bytes */
			jit__emit_op_rr(st, JIT_66, 0xc1, 0, dst);
			jit__emit1(st, 8);
		}
		jit__emit_op_rr(st, 0, 0x0fb7, dst, dst); /* movzx dst32, dst16 */
		break;
	case 32:
		if (swap)
			jit__emit_bswap(st, false, dst);
		else
			jit__emit_mov_rr(st, false, dst, dst);
		break;
	case 64:
		if (swap)
			jit__emit_bswap(st, true, dst);
		break;
	default:
		jit__fail(st, -EINVAL, "invalid byte swap width %d", insn->imm);
	}
}

/* Rejects the offsets and source bits RFC 9669 does not define for @insn. */
static bool check_alu_fields(struct jit_state *st, const struct bpf_insn *insn, bool w)
{
	uint8_t op = BPF_OP(insn->code);
	bool ok;

	if (op == BPF_DIV || op == BPF_MOD)
		ok = insn->off == 0 || insn->off == 1;
	else if (op == BPF_MOV && BPF_SRC(insn->code) == BPF_X)
		ok = insn->off == 0 || insn->off == 8 || insn->off == 16 || (w && insn->off == 32);
	else
		ok = insn->off == 0;
	if (op == BPF_END && w && BPF_SRC(insn->code) == BPF_X)
		ok = false;
	if (!ok)
		jit__fail(st, -EINVAL, "invalid alu instruction code 0x%02x off %d", insn->code,
			  insn->off);
	return ok;
}

/* The ALU/ALU64 dispatch: one case per operation. */
void jit__translate_alu(struct jit_state *st, const struct bpf_insn *insn)
{
	bool w = BPF_CLASS(insn->code) == BPF_ALU64;
	int dst = jit__reg(insn->dst_reg);

	if (!check_alu_fields(st, insn, w))
		return;
	switch (BPF_OP(insn->code)) {
	case BPF_ADD:
	case BPF_SUB:
	case BPF_AND:
	case BPF_OR:
	case BPF_XOR:
		emit_simple(st, insn, w, dst);
		break;
	case BPF_MUL:
		if (BPF_SRC(insn->code) == BPF_X) {
			jit__emit_op_rr(st, w ? JIT_W : 0, 0x0faf, dst, jit__reg(insn->src_reg));
		} else if (insn->imm >= -128 && insn->imm <= 127) {
			jit__emit_op_rr(st, w ? JIT_W : 0, 0x6b, dst, dst);
			jit__emit1(st, (uint8_t)insn->imm);
		} else {
			jit__emit_op_rr(st, w ? JIT_W : 0, 0x69, dst, dst);
			jit__emit4(st, (uint32_t)insn->imm);
		}
		break;
	case BPF_MOV:
		emit_mov(st, insn, w, dst);
		break;
	case BPF_NEG:
		jit__emit_unary(st, w, 3, dst);
		break;
	case BPF_LSH:
	case BPF_RSH:
	case BPF_ARSH:
		emit_shift(st, insn, w, dst);
		break;
	case BPF_DIV:
	case BPF_MOD:
		emit_div(st, insn, w, dst);
		break;
	case BPF_END:
		emit_end(st, insn, w, dst);
		break;
	default:
		jit__fail(st, -EINVAL, "unknown opcode 0x%02x", insn->code);
	}
}
