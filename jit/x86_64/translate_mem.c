// SPDX-License-Identifier: MIT
/*
 * Loads, stores, atomics and ld_imm64. Memory accesses are trusted (the verifier's job), so
 * each is a single mov with the eBPF offset as the displacement.
 */
#include <errno.h>

#include "jit_x86_internal.h"

/* ld_imm64: a constant, or (BPF_PSEUDO_FUNC) the SysV entry of a subprogram, rip-relative. */
void jit__translate_ld(struct jit_state *st, const struct bpf_insn *insn)
{
	int dst = jit__reg(insn->dst_reg);
	uint64_t imm;

	if (insn->code != (BPF_LD | BPF_IMM | BPF_DW)) {
		if (BPF_MODE(insn->code) == BPF_ABS || BPF_MODE(insn->code) == BPF_IND)
			jit__fail(st, -ENOTSUP, "legacy packet access 0x%02x is not supported",
				  insn->code);
		else
			jit__fail(st, -EINVAL, "unknown opcode 0x%02x", insn->code);
		return;
	}
	switch (insn->src_reg) {
	case 0:
		imm = (uint32_t)insn[0].imm | (uint64_t)(uint32_t)insn[1].imm << 32;
		jit__emit_mov_ri(st, true, dst, (int64_t)imm);
		break;
	case BPF_PSEUDO_FUNC:
		jit__emit_lea_rip(st, dst, JIT_PATCH_FUNC_EXT, st->idx + 1 + insn->imm);
		break;
	default:
		jit__fail(st, -EINVAL, "ld_imm64 with unresolved pseudo source %d", insn->src_reg);
	}
}

void jit__translate_ldx(struct jit_state *st, const struct bpf_insn *insn)
{
	bool sx = BPF_MODE(insn->code) == BPF_MEMSX;

	if ((BPF_MODE(insn->code) != BPF_MEM && !sx) || (sx && BPF_SIZE(insn->code) == BPF_DW)) {
		jit__fail(st, -EINVAL, "unknown opcode 0x%02x", insn->code);
		return;
	}
	jit__emit_load(st, BPF_SIZE(insn->code), sx, jit__reg(insn->dst_reg),
		       jit__reg(insn->src_reg), insn->off);
}

/*
 * Fetching or/and/xor have no x86 instruction: load the old value into rax and retry
 * lock cmpxchg until no other writer came in between. r0 (rax) is parked in R10; when dst is
 * r0 the address moves to R9 first, when src is r0 the operand is the parked copy.
 */
static void emit_fetch_loop(struct jit_state *st, const struct bpf_insn *insn, uint8_t op_rr)
{
	bool w = BPF_SIZE(insn->code) == BPF_DW;
	unsigned fl = w ? JIT_W : 0;
	int base = jit__reg(insn->dst_reg), src = jit__reg(insn->src_reg);
	int operand = src == RAX ? JIT_TMP2 : src;
	uint32_t retry;

	jit__emit_mov_rr(st, true, RAX, JIT_TMP2);
	if (base == RAX) {
		jit__emit_mov_rr(st, true, RAX, JIT_ENV);
		base = JIT_ENV;
	}
	jit__emit_load(st, w ? BPF_DW : BPF_W, false, RAX, base, insn->off);
	retry = st->off;
	jit__emit_mov_rr(st, w, RAX, JIT_TMP);
	jit__emit_alu_rr(st, w, op_rr, operand, JIT_TMP);
	jit__emit_op_mem(st, fl | JIT_LOCK, 0x0fb1, JIT_TMP, base, insn->off);
	jit__emit1(st, 0x70 | CC_NE); /* jne retry: a few bytes back, always rel8 */
	jit__emit1(st, (uint8_t)(retry - (st->off + 1)));
	if (src != RAX) {
		jit__emit_mov_rr(st, w, RAX, src);
		jit__emit_mov_rr(st, true, JIT_TMP2, RAX);
	}
}

/* BPF_ATOMIC: imm selects the operation (RFC 9669 §5.3), W or DW only. */
static void emit_atomic(struct jit_state *st, const struct bpf_insn *insn)
{
	bool w = BPF_SIZE(insn->code) == BPF_DW;
	unsigned fl = w ? JIT_W : 0;
	int dst = jit__reg(insn->dst_reg), src = jit__reg(insn->src_reg);

	if (BPF_SIZE(insn->code) != BPF_W && !w) {
		jit__fail(st, -EINVAL, "atomic operation of invalid size, code 0x%02x", insn->code);
		return;
	}
	switch (insn->imm) {
	case BPF_ADD:
		jit__emit_op_mem(st, fl | JIT_LOCK, 0x01, src, dst, insn->off);
		break;
	case BPF_OR:
		jit__emit_op_mem(st, fl | JIT_LOCK, 0x09, src, dst, insn->off);
		break;
	case BPF_AND:
		jit__emit_op_mem(st, fl | JIT_LOCK, 0x21, src, dst, insn->off);
		break;
	case BPF_XOR:
		jit__emit_op_mem(st, fl | JIT_LOCK, 0x31, src, dst, insn->off);
		break;
	case BPF_ADD | BPF_FETCH: /* lock xadd: src gets the old value */
		jit__emit_op_mem(st, fl | JIT_LOCK, 0x0fc1, src, dst, insn->off);
		break;
	case BPF_OR | BPF_FETCH:
		emit_fetch_loop(st, insn, 0x09);
		break;
	case BPF_AND | BPF_FETCH:
		emit_fetch_loop(st, insn, 0x21);
		break;
	case BPF_XOR | BPF_FETCH:
		emit_fetch_loop(st, insn, 0x31);
		break;
	case BPF_XCHG: /* xchg with memory is locked implicitly */
		jit__emit_op_mem(st, fl, 0x87, src, dst, insn->off);
		break;
	case BPF_CMPXCHG:
		jit__emit_op_mem(st, fl | JIT_LOCK, 0x0fb1, src, dst, insn->off);
		/* A successful 32-bit cmpxchg leaves rax's upper half alone: clear it. */
		if (!w)
			jit__emit_mov_rr(st, false, RAX, RAX);
		break;
	default:
		jit__fail(st, -EINVAL, "unknown atomic operation 0x%x", (unsigned)insn->imm);
	}
}

/* ST (store an immediate) and STX (store a register, or an atomic operation). */
void jit__translate_st(struct jit_state *st, const struct bpf_insn *insn)
{
	int dst = jit__reg(insn->dst_reg);

	if (BPF_CLASS(insn->code) == BPF_STX && BPF_MODE(insn->code) == BPF_ATOMIC) {
		emit_atomic(st, insn);
		return;
	}
	if (BPF_MODE(insn->code) != BPF_MEM) {
		jit__fail(st, -EINVAL, "unknown opcode 0x%02x", insn->code);
		return;
	}
	if (BPF_CLASS(insn->code) == BPF_ST)
		jit__emit_store_imm(st, BPF_SIZE(insn->code), dst, insn->off, insn->imm);
	else
		jit__emit_store_reg(st, BPF_SIZE(insn->code), jit__reg(insn->src_reg), dst,
				    insn->off);
}
