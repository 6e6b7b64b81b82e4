// SPDX-License-Identifier: MIT
/*
 * The structural pass (the kernel's resolve_pseudo_ldimm64 + check_subprogs + check_cfg):
 * every instruction well formed, ld_imm64 maps resolved, subprogram boundaries, jump targets,
 * the end of each subprogram, and a walk of the graph that finds unreachable code.
 */
#include <errno.h>
#include <stdlib.h>

#include "verifier_internal.h"

/* The kernel's BPF_MAX_SUBPROGS. */
#define VERIFIER_MAX_SUBPROGS 256

#define malformed(env, i, ...) verifier__reject(env, -EINVAL, i, __VA_ARGS__)

static int check_regs(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn)
{
	if (insn->dst_reg >= MAX_BPF_REG)
		return malformed(env, i, "R%d is invalid", insn->dst_reg);
	if (insn->src_reg >= MAX_BPF_REG)
		return malformed(env, i, "R%d is invalid", insn->src_reg);
	return 0;
}

static int check_dst_writable(struct bpfi_verifier_env *env, uint32_t i, uint8_t reg)
{
	if (reg == BPFI_REG_10)
		return verifier__reject(env, -EACCES, i, "frame pointer is read only");
	return 0;
}

/* ALU and ALU64, including the cpu v4 forms told apart by @off (sdiv/smod, movsx). */
static int check_alu(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn)
{
	uint8_t op = BPF_OP(insn->code);
	bool is64 = BPF_CLASS(insn->code) == BPF_ALU64;
	bool x = BPF_SRC(insn->code) == BPF_X;

	if (op > BPF_END)
		return malformed(env, i, "invalid BPF_ALU opcode %#x", insn->code);
	if (op == BPF_END) {
		if (insn->src_reg || insn->off || (is64 && x))
			return malformed(env, i, "BPF_END uses reserved fields");
		if (insn->imm != 16 && insn->imm != 32 && insn->imm != 64)
			return malformed(env, i, "BPF_END uses reserved fields");
		return check_dst_writable(env, i, insn->dst_reg);
	}
	if (op == BPF_NEG) {
		if (x || insn->src_reg || insn->off || insn->imm)
			return malformed(env, i, "BPF_NEG uses reserved fields");
		return check_dst_writable(env, i, insn->dst_reg);
	}
	if (x ? insn->imm != 0 : insn->src_reg != 0)
		return malformed(env, i, "BPF_ALU uses reserved fields");
	if (insn->off) {
		bool ok = false;

		if (op == BPF_DIV || op == BPF_MOD)
			ok = insn->off == 1;
		else if (op == BPF_MOV && x)
			ok = insn->off == 8 || insn->off == 16 || (is64 && insn->off == 32);
		if (!ok)
			return malformed(env, i, "BPF_ALU uses reserved fields");
	}
	/* The kernel refuses these immediates instead of giving them RFC 9669's meaning. */
	if (!x && (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) &&
	    (insn->imm < 0 || insn->imm >= (is64 ? 64 : 32)))
		return malformed(env, i, "invalid shift %d", insn->imm);
	if (!x && (op == BPF_DIV || op == BPF_MOD) && insn->imm == 0)
		return malformed(env, i, "division by zero");
	return check_dst_writable(env, i, insn->dst_reg);
}

static int check_jmp(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn)
{
	uint8_t op = BPF_OP(insn->code);
	bool is32 = BPF_CLASS(insn->code) == BPF_JMP32;
	bool x = BPF_SRC(insn->code) == BPF_X;

	if (op == 0xe0 || op == 0xf0 || (is32 && (op == BPF_CALL || op == BPF_EXIT)))
		return malformed(env, i, "invalid BPF_JMP/JMP32 opcode %#x", insn->code);
	switch (op) {
	case BPF_JA:
		if (x || insn->src_reg || insn->dst_reg || (is32 ? insn->off : insn->imm))
			return malformed(env, i, "BPF_JA uses reserved fields");
		return 0;
	case BPF_EXIT:
		if (x || insn->src_reg || insn->dst_reg || insn->off || insn->imm)
			return malformed(env, i, "BPF_EXIT uses reserved fields");
		return 0;
	case BPF_CALL:
		if (x) { /* callx: the helper id is in dst_reg (RFC 9669) */
			if (insn->src_reg || insn->off || insn->imm)
				return malformed(env, i, "BPF_CALL uses reserved fields");
			return 0;
		}
		if (insn->dst_reg || insn->off)
			return malformed(env, i, "BPF_CALL uses reserved fields");
		if (insn->src_reg == BPF_PSEUDO_KFUNC_CALL)
			return malformed(env, i, "kernel function calls are not supported");
		if (insn->src_reg != 0 && insn->src_reg != BPF_PSEUDO_CALL)
			return malformed(env, i, "BPF_CALL uses reserved fields");
		return 0;
	default:
		if (x ? insn->imm != 0 : insn->src_reg != 0)
			return malformed(env, i, "BPF_JMP/JMP32 uses reserved fields");
		return 0;
	}
}

static int check_mem_insn(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn)
{
	uint8_t mode = BPF_MODE(insn->code), size = BPF_SIZE(insn->code);

	switch (BPF_CLASS(insn->code)) {
	case BPF_LDX:
		if ((mode != BPF_MEM && mode != BPF_MEMSX) ||
		    (mode == BPF_MEMSX && size == BPF_DW) || insn->imm)
			return malformed(env, i, "BPF_LDX uses reserved fields");
		return check_dst_writable(env, i, insn->dst_reg);
	case BPF_ST:
		if (mode != BPF_MEM || insn->src_reg)
			return malformed(env, i, "BPF_ST uses reserved fields");
		return 0;
	default: /* BPF_STX */
		if (mode == BPF_MEM) {
			if (insn->imm)
				return malformed(env, i, "BPF_STX uses reserved fields");
			return 0;
		}
		if (mode != BPF_ATOMIC || (size != BPF_W && size != BPF_DW))
			return malformed(env, i, "BPF_STX uses reserved fields");
		switch (insn->imm) {
		case BPF_ADD:
		case BPF_OR:
		case BPF_AND:
		case BPF_XOR:
			return 0;
		case BPF_ADD | BPF_FETCH:
		case BPF_OR | BPF_FETCH:
		case BPF_AND | BPF_FETCH:
		case BPF_XOR | BPF_FETCH:
		case BPF_XCHG:
			return check_dst_writable(env, i, insn->src_reg);
		case BPF_CMPXCHG:
			return 0;
		default:
			return malformed(env, i, "BPF_ATOMIC uses invalid atomic opcode %#x",
					 (unsigned)insn->imm);
		}
	}
}

/* ld_imm64: two slots, pseudo sources resolved (map fds through opts->map_by_fd). */
static int check_ldimm64(struct bpfi_verifier_env *env, uint32_t i)
{
	const struct bpf_insn *insn = &env->insns[i], *next = insn + 1;
	const struct bpfi_verifier_map *map;

	if (i + 1 >= env->insn_cnt || next->code || next->dst_reg || next->src_reg || next->off ||
	    insn->off)
		return malformed(env, i, "invalid bpf_ld_imm64 insn");
	switch (insn->src_reg) {
	case 0:
		break;
	case BPF_PSEUDO_MAP_FD:
	case BPF_PSEUDO_MAP_VALUE:
		map = env->map_by_fd ? env->map_by_fd(insn->imm, env->cookie) : NULL;
		if (!map)
			return malformed(env, i, "fd %d is not pointing to valid bpf_map",
					 insn->imm);
		if (insn->src_reg == BPF_PSEUDO_MAP_FD && next->imm)
			return malformed(env, i, "invalid bpf_ld_imm64 insn");
		if (insn->src_reg == BPF_PSEUDO_MAP_VALUE && (uint32_t)next->imm >= map->value_size)
			return malformed(
				env, i, "invalid access to map value pointer, value_size=%u off=%u",
				map->value_size, (uint32_t)next->imm);
		env->aux[i].map = map;
		break;
	case BPF_PSEUDO_FUNC:
		if (next->imm)
			return malformed(env, i, "invalid bpf_ld_imm64 insn");
		break;
	case BPF_PSEUDO_BTF_ID:
	case BPF_PSEUDO_MAP_IDX:
	case BPF_PSEUDO_MAP_IDX_VALUE:
		return malformed(env, i, "pseudo ld_imm64 src %d is not supported", insn->src_reg);
	default:
		return malformed(env, i, "unrecognized bpf_ld_imm64 insn");
	}
	env->aux[i + 1].flags |= AUX_LDIMM_SECOND;
	return check_dst_writable(env, i, insn->dst_reg);
}

/* Field checks of one instruction, by class. */
static int check_insn(struct bpfi_verifier_env *env, uint32_t i)
{
	const struct bpf_insn *insn = &env->insns[i];
	int err = check_regs(env, i, insn);

	if (err)
		return err;
	switch (BPF_CLASS(insn->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		return check_alu(env, i, insn);
	case BPF_JMP:
	case BPF_JMP32:
		return check_jmp(env, i, insn);
	case BPF_LDX:
	case BPF_ST:
	case BPF_STX:
		return check_mem_insn(env, i, insn);
	default: /* BPF_LD */
		if (bpfi_insn_is_ldimm64(insn))
			return check_ldimm64(env, i);
		if (BPF_MODE(insn->code) == BPF_ABS || BPF_MODE(insn->code) == BPF_IND)
			return malformed(env, i, "BPF_LD_[ABS|IND] is not supported");
		return malformed(env, i, "invalid BPF_LD opcode %#x", insn->code);
	}
}

static bool is_pseudo_call(const struct bpf_insn *insn)
{
	return insn->code == (BPF_JMP | BPF_CALL) && insn->src_reg == BPF_PSEUDO_CALL;
}

static bool is_pseudo_func(const struct bpf_insn *insn)
{
	return bpfi_insn_is_ldimm64(insn) && insn->src_reg == BPF_PSEUDO_FUNC;
}

/*
 * Where control may go from @i: up to two successors (fall-through and target). Returns the
 * count; a pseudo call or a callback address also names its subprogram in @ret_callee, which
 * is VERIFIER_NO_CALLEE otherwise (a real target may be negative: "call pc-4" at insn 2 names
 * insn -1, and must be refused, not taken for "no call").
 */
int verifier__insn_succs(const struct bpfi_verifier_env *env, uint32_t i, int64_t succ[2],
			 int64_t *ret_callee)
{
	const struct bpf_insn *insn = &env->insns[i];
	uint8_t cls = BPF_CLASS(insn->code), op = BPF_OP(insn->code);

	*ret_callee = VERIFIER_NO_CALLEE;
	if (bpfi_insn_is_ldimm64(insn)) {
		if (is_pseudo_func(insn))
			*ret_callee = (int64_t)i + insn->imm + 1;
		succ[0] = (int64_t)i + 2;
		return 1;
	}
	if (cls != BPF_JMP && cls != BPF_JMP32) {
		succ[0] = (int64_t)i + 1;
		return 1;
	}
	switch (op) {
	case BPF_EXIT:
		return 0;
	case BPF_CALL:
		if (is_pseudo_call(insn))
			*ret_callee = (int64_t)i + insn->imm + 1;
		succ[0] = (int64_t)i + 1;
		return 1;
	case BPF_JA:
		succ[0] = (int64_t)i + 1 + (cls == BPF_JMP32 ? insn->imm : insn->off);
		return 1;
	default:
		succ[0] = (int64_t)i + 1;
		succ[1] = (int64_t)i + 1 + insn->off;
		return 2;
	}
}

/* Subprogram starts: insn 0 and every pseudo call / callback target. */
static int find_subprogs(struct bpfi_verifier_env *env)
{
	uint32_t i, n = 0;
	uint8_t *start = calloc(env->insn_cnt, 1);
	int64_t succ[2], callee;

	if (!start)
		return bpfi_log_err(env->log, -ENOMEM, "insn 0: out of memory");
	start[0] = 1;
	for (i = 0; i < env->insn_cnt; i++) {
		if (env->aux[i].flags & AUX_LDIMM_SECOND)
			continue;
		verifier__insn_succs(env, i, succ, &callee);
		if (callee == VERIFIER_NO_CALLEE)
			continue;
		if (callee < 0 || callee >= env->insn_cnt ||
		    (env->aux[callee].flags & AUX_LDIMM_SECOND)) {
			free(start);
			return malformed(env, i, "call to invalid destination %lld",
					 (long long)callee);
		}
		start[callee] = 1;
	}
	for (i = 0; i < env->insn_cnt; i++)
		n += start[i];
	if (n > VERIFIER_MAX_SUBPROGS) {
		free(start);
		return bpfi_log_err(env->log, -E2BIG, "insn 0: too many subprograms (%u)", n);
	}
	env->subprogs = calloc(n, sizeof(*env->subprogs));
	if (!env->subprogs) {
		free(start);
		return bpfi_log_err(env->log, -ENOMEM, "insn 0: out of memory");
	}
	for (i = 0; i < env->insn_cnt; i++) {
		if (start[i]) {
			if (env->subprog_cnt)
				env->subprogs[env->subprog_cnt - 1].end = i;
			env->subprogs[env->subprog_cnt++].start = i;
		}
		env->aux[i].subprog = env->subprog_cnt - 1;
	}
	env->subprogs[env->subprog_cnt - 1].end = env->insn_cnt;
	free(start);
	return 0;
}

/* Jumps stay inside their subprogram and land on an instruction start; ends are exits. */
static int check_jumps(struct bpfi_verifier_env *env)
{
	uint32_t i, s;
	int64_t succ[2], callee;

	for (i = 0; i < env->insn_cnt; i++) {
		const struct bpf_insn *insn = &env->insns[i];
		int k, n;

		if (env->aux[i].flags & AUX_LDIMM_SECOND)
			continue;
		n = verifier__insn_succs(env, i, succ, &callee);
		if ((BPF_CLASS(insn->code) != BPF_JMP && BPF_CLASS(insn->code) != BPF_JMP32) ||
		    BPF_OP(insn->code) == BPF_CALL)
			continue;
		/* Only targets: a fall-through past the end is the last-insn rule's to report. */
		for (k = n == 2 ? 1 : 0; k < n; k++) {
			const struct subprog_info *sp = &env->subprogs[env->aux[i].subprog];

			if (succ[k] < 0 || succ[k] >= env->insn_cnt)
				return malformed(env, i, "jump out of range from insn %u to %lld",
						 i, (long long)succ[k]);
			if (env->aux[succ[k]].flags & AUX_LDIMM_SECOND)
				return malformed(env, i,
						 "jump into the middle of ldimm64 insn %lld",
						 (long long)succ[k] - 1);
			if (succ[k] < sp->start || succ[k] >= sp->end)
				return malformed(env, i, "jump out of range from insn %u to %lld",
						 i, (long long)succ[k]);
		}
	}
	for (s = 0; s < env->subprog_cnt; s++) {
		uint32_t last = env->subprogs[s].end - 1;
		const struct bpf_insn *insn = &env->insns[last];
		uint8_t cls = BPF_CLASS(insn->code), op = BPF_OP(insn->code);

		if (!(env->aux[last].flags & AUX_LDIMM_SECOND) &&
		    ((cls == BPF_JMP && (op == BPF_EXIT || op == BPF_JA)) ||
		     (cls == BPF_JMP32 && op == BPF_JA)))
			continue;
		return malformed(env, last, "last insn is not an exit or jmp (falls off the end)");
	}
	return 0;
}

/*
 * Depth-first walk from insn 0 through both arms of every branch and into every called or
 * referenced subprogram. Like the kernel we refuse what no path reaches: libbpf never emits
 * it (it appends only used subprograms), whereas code that is dead only once constants are
 * known (poisoned calls) is reachable here and left to check.c. Also marks prune points:
 * jump targets, the fall-through of conditional jumps, and the return point of calls.
 */
static int walk_cfg(struct bpfi_verifier_env *env)
{
	uint32_t *todo = malloc(sizeof(*todo) * env->insn_cnt), top = 0, i;
	int64_t succ[2], callee;

	if (!todo)
		return bpfi_log_err(env->log, -ENOMEM, "insn 0: out of memory");
	todo[top++] = 0;
	env->aux[0].flags |= AUX_SEEN | AUX_PRUNE_POINT;
	while (top) {
		uint32_t cur = todo[--top];
		const struct bpf_insn *insn = &env->insns[cur];
		int n = verifier__insn_succs(env, cur, succ, &callee), k;
		bool branch =
			n == 2 || BPF_OP(insn->code) == BPF_JA || callee != VERIFIER_NO_CALLEE;

		if (callee != VERIFIER_NO_CALLEE)
			succ[n++] = callee;
		for (k = 0; k < n; k++) {
			struct insn_aux *aux = &env->aux[succ[k]];

			if (branch && (BPF_CLASS(insn->code) == BPF_JMP ||
				       BPF_CLASS(insn->code) == BPF_JMP32))
				aux->flags |= AUX_PRUNE_POINT;
			if (aux->flags & AUX_SEEN)
				continue;
			aux->flags |= AUX_SEEN;
			todo[top++] = (uint32_t)succ[k];
		}
	}
	free(todo);
	for (i = 0; i < env->insn_cnt; i++)
		if (!(env->aux[i].flags & (AUX_SEEN | AUX_LDIMM_SECOND)))
			return malformed(env, i, "unreachable insn %u", i);
	return 0;
}

int verifier__check_cfg(struct bpfi_verifier_env *env)
{
	uint32_t i;
	int err;

	for (i = 0; i < env->insn_cnt; i++) {
		if (env->aux[i].flags & AUX_LDIMM_SECOND)
			continue;
		err = check_insn(env, i);
		if (err)
			return err;
	}
	err = find_subprogs(env);
	if (err)
		return err;
	err = check_jumps(env);
	if (err)
		return err;
	return walk_cfg(env);
}
