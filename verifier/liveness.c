// SPDX-License-Identifier: MIT
/*
 * Register liveness (a backward data-flow pass over the CFG): which registers may be read
 * before being written from each instruction on. Pruning ignores the others, so paths that
 * differ only in dead registers meet (the kernel tracks the same through its parentage chain).
 */
#include <stdbool.h>

#include "verifier_internal.h"

#define R0_R5 0x3fu

static void uses_defs(const struct bpf_insn *insn, uint16_t *use, uint16_t *def)
{
	uint16_t dst = (uint16_t)(1u << insn->dst_reg), src = (uint16_t)(1u << insn->src_reg);
	uint8_t cls = BPF_CLASS(insn->code), op = BPF_OP(insn->code);
	bool x = BPF_SRC(insn->code) == BPF_X;

	*use = *def = 0;
	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		*def = dst;
		*use = (op == BPF_MOV ? 0 : dst) | (x && op != BPF_END ? src : 0);
		break;
	case BPF_LDX:
		*use = src;
		*def = dst;
		break;
	case BPF_ST:
		*use = dst;
		break;
	case BPF_STX:
		*use = dst | src;
		if (BPF_MODE(insn->code) == BPF_ATOMIC && insn->imm == BPF_CMPXCHG) {
			*use |= 1;
			*def = 1;
		} else if (BPF_MODE(insn->code) == BPF_ATOMIC && (insn->imm & BPF_FETCH)) {
			*def = src;
		}
		break;
	case BPF_LD:
		*def = dst;
		break;
	default: /* JMP, JMP32 */
		if (op == BPF_EXIT) {
			*use = 1;
		} else if (op == BPF_CALL) {
			*use = (uint16_t)((R0_R5 & ~1u) | (x ? dst : 0));
			*def = R0_R5;
		} else if (op != BPF_JA) {
			*use = dst | (x ? src : 0);
		}
		break;
	}
}

int verifier__compute_liveness(struct bpfi_verifier_env *env)
{
	bool changed = true;
	uint32_t i;

	while (changed) {
		changed = false;
		for (i = env->insn_cnt; i-- > 0;) {
			struct insn_aux *aux = &env->aux[i];
			int64_t succ[2], callee;
			uint16_t use, def, out = 0, in;
			int n, k;

			if (aux->flags & AUX_LDIMM_SECOND)
				continue;
			n = verifier__insn_succs(env, i, succ, &callee);
			for (k = 0; k < n; k++)
				out |= env->aux[succ[k]].live_regs;
			uses_defs(&env->insns[i], &use, &def);
			in = (uint16_t)(use | (out & ~def));
			if (in != aux->live_regs) {
				aux->live_regs = in;
				changed = true;
			}
		}
	}
	return 0;
}
