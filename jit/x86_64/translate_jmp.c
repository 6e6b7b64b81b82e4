// SPDX-License-Identifier: MIT
/*
 * JMP and JMP32 branches: one cmp/test and one Jcc. Targets were range-checked by jit.c;
 * forward ones are patched after the last instruction (jit__emit_jump).
 */
#include <errno.h>

#include "jit_x86_internal.h"

/* x86 condition of each eBPF jump, -1 for opcodes that are not conditional jumps. */
static int cond_of(uint8_t op)
{
	switch (op) {
	case BPF_JEQ:
		return CC_E;
	case BPF_JNE:
	case BPF_JSET: /* test sets ZF when no bit is common */
		return CC_NE;
	case BPF_JGT:
		return CC_A;
	case BPF_JGE:
		return CC_AE;
	case BPF_JLT:
		return CC_B;
	case BPF_JLE:
		return CC_BE;
	case BPF_JSGT:
		return CC_G;
	case BPF_JSGE:
		return CC_GE;
	case BPF_JSLT:
		return CC_L;
	case BPF_JSLE:
		return CC_LE;
	default:
		return -1;
	}
}

/*
 * The flags for one comparison. JMP compares 64 bits and sign-extends imm, as cmp r64, imm32
 * does; JMP32 compares the low halves. A compare against 0 becomes test, which sets the same
 * ZF/SF and clears CF/OF just as cmp x, 0 would, one byte shorter.
 */
static void emit_compare(struct jit_state *st, const struct bpf_insn *insn, bool w)
{
	int dst = jit__reg(insn->dst_reg);
	bool jset = BPF_OP(insn->code) == BPF_JSET;

	if (BPF_SRC(insn->code) == BPF_X) {
		jit__emit_alu_rr(st, w, jset ? 0x85 : 0x39, jit__reg(insn->src_reg), dst);
	} else if (jset && insn->imm >= 0 && insn->imm <= 255) {
		jit__emit_op_rr(st, JIT_BYTE, 0xf6, 0, dst); /* test dst8, imm8 */
		jit__emit1(st, (uint8_t)insn->imm);
	} else if (jset) {
		jit__emit_op_rr(st, w ? JIT_W : 0, 0xf7, 0, dst); /* test dst, imm32 */
		jit__emit4(st, (uint32_t)insn->imm);
	} else if (insn->imm == 0) {
		jit__emit_alu_rr(st, w, 0x85, dst, dst);
	} else {
		jit__emit_alu_ri(st, w, 7, dst, insn->imm);
	}
}

void jit__translate_jmp(struct jit_state *st, const struct bpf_insn *insn)
{
	bool w = BPF_CLASS(insn->code) == BPF_JMP;
	int cc;

	if (BPF_OP(insn->code) == BPF_JA) {
		/* JMP32 | JA is gotol: the 32-bit offset is in imm (cpu v4). */
		jit__emit_jump(st, CC_ALWAYS, st->idx + 1 + (w ? insn->off : insn->imm));
		return;
	}
	cc = cond_of(BPF_OP(insn->code));
	if (cc < 0) {
		jit__fail(st, -EINVAL, "unknown opcode 0x%02x", insn->code);
		return;
	}
	emit_compare(st, insn, w);
	jit__emit_jump(st, cc, st->idx + 1 + insn->off);
}
