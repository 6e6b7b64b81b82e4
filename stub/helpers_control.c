// SPDX-License-Identifier: MIT
/*
 * Control-flow helpers: tail-call resolution, bpf_loop for JIT'd programs, and get_stack
 * (not available yet). Freestanding.
 */
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/helpers.h>
#include <bpfinject/maps.h>
#include <bpfinject/sys.h>
#include <bpfinject/target.h>

#include "stub_internal.h"
#include "thread_state.h"

/*
 * A PROG_ARRAY slot holds the id of the program stored in it, 0 when empty (maps/); the entry
 * counts only if this process has code for it (the host may not have sent it here yet).
 */
const struct bpfi_prog_entry *bpfi_tail_call_target(const struct bpfi_env *env,
						    struct bpfi_map_hdr *map, uint32_t index)
{
	const struct bpfi_prog_entry *prog;
	uint32_t id;

	if (!map || map->type != STUB_MAP_TYPE_PROG_ARRAY)
		return NULL;
	id = bpfi_prog_array_get(map, index);
	if (!id || id >= env->max_progs || !env->progs)
		return NULL;
	prog = &env->progs[id];
	if (!prog->jit_func && !(prog->insns && prog->insn_cnt))
		return NULL;
	return prog;
}

/*
 * bpf_tail_call is never called as a function: the interpreter and the JIT intercept it (it
 * replaces the running program). The entry exists so that the id counts as known.
 */
STUB_HELPER(tail_call)
{
	return stub_err(-BPFI_EINVAL);
}

/* bpf_get_stack(ctx, buf, size, flags): no unwinder yet; the kernel's failure shape. */
STUB_HELPER(get_stack)
{
	uint32_t size = (uint32_t)r3;

	if (r2 && size)
		bpfi_memset((void *)(uintptr_t)r2, 0, size);
	return stub_err(-BPFI_EFAULT);
}

/* A JIT'd callback subprogram, entered natively with eBPF r1 = index, r2 = ctx. */
typedef long (*stub_loop_fn)(uint64_t index, void *ctx);

/*
 * bpf_loop(nr_loops, callback, ctx, flags) as the kernel runs it: the callback returns 0 to
 * go on, 1 to stop; the result is the number of calls made. Interpreted programs never get
 * here (the interpreter runs its callbacks itself), so @callback is always native code.
 */
STUB_HELPER(loop)
{
	stub_loop_fn fn = (stub_loop_fn)(uintptr_t)r2;
	uint32_t nr_loops = (uint32_t)r1;
	uint64_t i;

	if (r4)
		return stub_err(-BPFI_EINVAL);
	if (nr_loops > STUB_MAX_LOOPS)
		return stub_err(-BPFI_E2BIG);
	for (i = 0; i < nr_loops; i++) {
		if (fn(i, (void *)(uintptr_t)r3))
			return i + 1;
	}
	return i;
}

/*
 * bpf_override_return(ctx, rc). @ctx is this thread's syscall context (target.h, struct
 * bpfi_sc_ctx) when a syscall tracepoint program calls it: an enter record gets the result
 * the syscall returns instead of running; an exit record cannot (-EINVAL: it already ran).
 * Anything else is a pt_regs at a function entry, where, as the kernel does for kprobes, ax
 * takes rc and ip a marker that makes the dispatch return at once.
 */
STUB_HELPER(override_return)
{
	uint64_t *ctx = (uint64_t *)(uintptr_t)r1;
	struct bpfi_thread_state *ts = env->threads ? stub_thread_slot(env->threads) : 0;

	if (!ctx)
		return stub_err(-BPFI_EINVAL);
	if (ts && (void *)ctx == (void *)&ts->sc.rec) {
		if (ts->sc.kind == BPFI_SC_CTX_EXIT)
			return stub_err(-BPFI_EINVAL);
		ts->sc.override_ret = (int64_t)r2;
		ts->sc.kind = BPFI_SC_CTX_OVERRIDDEN;
		return 0;
	}
	ctx[10] = r2; /* pt_regs->ax */
	ctx[16] = BPFI_OVERRIDE_IP; /* pt_regs->ip */
	return 0;
}
