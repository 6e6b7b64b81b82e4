// SPDX-License-Identifier: MIT
/*
 * The combined stack of a call chain (the kernel's check_max_stack_depth): each subprogram
 * allocates its deepest offset (rounded up to 32 bytes, as the kernel counts) when called, so
 * the deepest chain of calls seen on checked paths must fit in one 512-byte stack.
 */
#include <errno.h>
#include <stdlib.h>

#include "verifier_internal.h"

static uint32_t frame_size(const struct subprog_info *sp)
{
	uint32_t d = sp->stack_depth ? sp->stack_depth : 1;

	return (d + 31) & ~31u;
}

/*
 * Deepest stack from subprogram @s with @frames frames left. Memoised per (s, frames);
 * bounded recursion (a subprogram calling itself) is limited by the frame count like at
 * run time.
 */
static uint32_t chain_depth(const struct bpfi_verifier_env *env, uint32_t *memo, uint32_t s,
			    uint32_t frames)
{
	uint32_t *m = &memo[s * (BPFI_MAX_CALL_FRAMES + 1) + frames], best = 0, c;

	if (*m)
		return *m - 1;
	if (frames > 1) {
		for (c = 0; c < env->subprog_cnt; c++) {
			if (env->call_edges[s * env->subprog_cnt + c]) {
				uint32_t d = chain_depth(env, memo, c, frames - 1);

				best = d > best ? d : best;
			}
		}
	}
	best += frame_size(&env->subprogs[s]);
	*m = best + 1;
	return best;
}

/*
 * The kernel's rule for tail calls in subprograms: the frames below one (only the main
 * program's, as check_call.c allows them) must use less than 256 bytes, rounded as the
 * kernel's JIT rounds them (to 16), so that 33 tail calls leave little behind.
 */
static int check_tail_call_callers(struct bpfi_verifier_env *env)
{
	uint32_t depth = (env->subprogs[0].stack_depth + 15) & ~15u, s;

	for (s = 1; s < env->subprog_cnt; s++)
		if (env->subprogs[s].has_tail_call && depth >= 256)
			return verifier__reject(env, -EACCES, env->subprogs[s].tail_call_insn,
						"tail_calls are not allowed when call stack of "
						"previous frames is %u bytes. Too large",
						depth);
	return 0;
}

int verifier__check_max_stack_depth(struct bpfi_verifier_env *env)
{
	uint32_t *memo, depth, calls = 0, s;
	int err = check_tail_call_callers(env);

	if (err)
		return err;

	for (s = 0; s < env->subprog_cnt * env->subprog_cnt; s++)
		calls += env->call_edges[s];
	if (!calls)
		return 0; /* one frame: the 512-byte bound was checked at each access */
	memo = calloc((size_t)env->subprog_cnt * (BPFI_MAX_CALL_FRAMES + 1), sizeof(*memo));
	if (!memo)
		return verifier__reject(env, -ENOMEM, 0, "out of memory");
	depth = chain_depth(env, memo, 0, BPFI_MAX_CALL_FRAMES);
	free(memo);
	if (depth > BPFI_STACK_SIZE)
		return verifier__reject(env, -EACCES, 0,
					"combined stack size of the call chain is %u. Too large",
					depth);
	return 0;
}
