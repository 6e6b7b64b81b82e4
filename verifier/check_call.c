// SPDX-License-Identifier: MIT
/*
 * Calls and exits of do_check (the kernel's check_helper_call, check_func_call and
 * prepare_func_exit): helper ids and prototypes, references (ringbuf records), bpf-to-bpf
 * frames, bpf_loop callbacks and callx.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/helpers.h>

#include "verifier_internal.h"

/* What the arguments of one helper call tell about its result. */
struct call_meta {
	const struct bpfi_verifier_map *map;
	uint32_t callback; /* first insn of the callback subprogram, if any */
	bool has_callback;
	uint64_t alloc_size;
	uint32_t release_id;
};

static void clobber_caller_saved(struct vframe *f)
{
	uint32_t r;

	for (r = BPFI_REG_1; r <= BPFI_REG_5; r++)
		f->regs[r] = (struct vreg){ .type = VREG_NOT_INIT };
}

static int expected(struct bpfi_verifier_env *env, uint32_t i, uint32_t regno, const char *what)
{
	return verifier__reject(env, -EACCES, i, "R%u type=%s expected=%s", regno,
				verifier__reg_type_str(verifier__reg(env, regno)->type), what);
}

/* A size argument: a scalar with a usable upper bound (its maximum is what is checked). */
static int check_size_arg(struct bpfi_verifier_env *env, uint32_t i, uint32_t regno, uint8_t type,
			  uint64_t *ret_size)
{
	const struct vreg *r = verifier__reg(env, regno);
	int err = verifier__check_reg_read(env, i, regno);

	if (err)
		return err;
	if (r->type != VREG_SCALAR)
		return expected(env, i, regno, "scalar");
	if (r->umax > (uint64_t)VERIFIER_MAX_VAR_OFF)
		return verifier__reject(env, -EACCES, i,
					"R%u unbounded memory access, use 'var &= const' or "
					"'if (var < const)'",
					regno);
	if (type == VARG_CONST_SIZE && r->umin == 0)
		return verifier__reject(env, -EACCES, i, "R%u invalid zero-sized read", regno);
	*ret_size = r->umax;
	return 0;
}

static int check_map_arg(struct bpfi_verifier_env *env, uint32_t i, uint32_t regno, int32_t id,
			 const struct helper_proto *proto, struct call_meta *meta)
{
	const struct vreg *r = verifier__reg(env, regno);

	if (r->type != VREG_CONST_PTR_TO_MAP)
		return expected(env, i, regno, "map_ptr");
	if (proto->map_type && r->map->type != proto->map_type)
		return verifier__reject(env, -EACCES, i,
					"cannot pass map_type %u into func bpf_%s#%d", r->map->type,
					proto->name, id);
	meta->map = r->map;
	return 0;
}

/* One argument against the prototype (the kernel's check_func_arg, reduced). */
static int check_arg(struct bpfi_verifier_env *env, uint32_t i, int32_t id,
		     const struct helper_proto *proto, int k, struct call_meta *meta)
{
	uint32_t regno = (uint32_t)k + 1;
	uint8_t t = proto->args[k];
	const struct vreg *r = verifier__reg(env, regno);
	uint64_t size = 0;
	int err;

	if (t == VARG_DONTCARE)
		return 0;
	err = verifier__check_reg_read(env, i, regno);
	if (err)
		return err;
	switch (t) {
	case VARG_CONST_MAP_PTR:
		return check_map_arg(env, i, regno, id, proto, meta);
	case VARG_PTR_TO_MAP_KEY:
	case VARG_PTR_TO_MAP_VALUE:
		if (!meta->map)
			return verifier__reject(env, -EFAULT, i, "bug: no map before R%u", regno);
		size = t == VARG_PTR_TO_MAP_KEY ? meta->map->key_size : meta->map->value_size;
		return verifier__check_helper_mem(env, i, regno, size, false);
	case VARG_PTR_TO_MEM:
	case VARG_PTR_TO_UNINIT_MEM:
		if (k == 4)
			return verifier__reject(env, -EFAULT, i, "bug: no size after R%u", regno);
		/* The pointer first, as the kernel reports it (bpftrace's probes rely on it). */
		if (r->type != VREG_PTR_TO_STACK && r->type != VREG_PTR_TO_MAP_VALUE &&
		    r->type != VREG_PTR_TO_MEM)
			return expected(env, i, regno, "fp, map_value, mem");
		err = check_size_arg(env, i, regno + 1, proto->args[k + 1], &size);
		if (err)
			return err;
		return verifier__check_helper_mem(env, i, regno, size, t == VARG_PTR_TO_UNINIT_MEM);
	case VARG_CONST_SIZE:
	case VARG_CONST_SIZE_OR_ZERO:
		return check_size_arg(env, i, regno, t, &size);
	case VARG_CONST_ALLOC_SIZE:
		if (!bounds__is_const(r))
			return verifier__reject(env, -EACCES, i, "R%u is not a known constant",
						regno);
		meta->alloc_size = r->umin;
		return 0;
	case VARG_PTR_TO_CTX:
		if (r->type != VREG_PTR_TO_CTX)
			return expected(env, i, regno, "ctx");
		if (r->omin || r->omax)
			return verifier__reject(
				env, -EACCES, i,
				"dereference of modified ctx ptr R%u off=%lld disallowed", regno,
				(long long)r->omin);
		return 0;
	case VARG_PTR_TO_ALLOC_MEM:
		if (r->type != VREG_PTR_TO_MEM || !r->ref_obj_id)
			return expected(env, i, regno, "alloc_mem");
		if (r->omin || r->omax)
			return verifier__reject(
				env, -EACCES, i,
				"R%u must have zero offset when passed to release func", regno);
		meta->release_id = r->ref_obj_id;
		return 0;
	case VARG_PTR_TO_FUNC:
		if (r->type != VREG_PTR_TO_FUNC)
			return expected(env, i, regno, "func");
		meta->callback = r->mem_size;
		meta->has_callback = true;
		return 0;
	case VARG_PTR_TO_STACK_OR_NULL:
		if (r->type != VREG_PTR_TO_STACK && !(bounds__is_const(r) && r->umin == 0))
			return expected(env, i, regno, "fp");
		return 0;
	default: /* VARG_ANYTHING */
		return 0;
	}
}

/* Every register and spill still pointing into a released record becomes a number. */
static int release_reference(struct bpfi_verifier_env *env, uint32_t i, uint32_t ref_id)
{
	struct vstate *st = env->cur;
	uint32_t fi, r, k;

	for (k = 0; k < st->nrefs && st->refs[k].id != ref_id; k++)
		;
	if (k == st->nrefs)
		return verifier__reject(env, -EFAULT, i, "bug: reference %u not held", ref_id);
	st->refs[k] = st->refs[--st->nrefs];
	for (fi = 0; fi <= st->curframe; fi++) {
		struct vframe *f = st->frames[fi];

		for (r = 0; r < MAX_BPF_REG; r++)
			if (f->regs[r].ref_obj_id == ref_id)
				bounds__set_unknown(&f->regs[r]);
		for (r = 0; r < f->nslots; r++)
			if (verifier__slot_has_spill(&f->slots[r]) &&
			    f->slots[r].spill.ref_obj_id == ref_id)
				bounds__set_unknown(&f->slots[r].spill);
	}
	return 0;
}

static void record_call_edge(struct bpfi_verifier_env *env, uint32_t callee_subprog)
{
	uint32_t caller = verifier__cur_frame(env)->subprog;

	env->call_edges[caller * env->subprog_cnt + callee_subprog] = 1;
}

/* bpf_loop(nr, cb, ctx, flags) calls cb(index, ctx); nr is at most 1 << 23. */
static void init_callback_regs(struct vframe *f, const struct vframe *caller, uint32_t frameno)
{
	memset(f->regs, 0, sizeof(f->regs));
	f->regs[BPFI_REG_1] = (struct vreg){ .type = VREG_SCALAR, .umax = (1u << 23) - 1 };
	f->regs[BPFI_REG_2] = caller->regs[BPFI_REG_3];
	f->regs[BPFI_REG_10] =
		(struct vreg){ .type = VREG_PTR_TO_STACK, .frameno = (uint8_t)frameno };
}

/* A new frame for a bpf-to-bpf call or a callback; the caller's R1-R5 become its arguments. */
static int push_frame(struct bpfi_verifier_env *env, uint32_t i, uint32_t target, bool callback)
{
	struct vstate *st = env->cur;
	struct vframe *caller = verifier__cur_frame(env), *f;
	uint32_t r;

	if (st->curframe + 1 >= BPFI_MAX_CALL_FRAMES)
		return verifier__reject(env, -E2BIG, i, "the call stack of %u frames is too deep",
					st->curframe + 2);
	f = calloc(1, sizeof(*f));
	if (!f)
		return verifier__reject(env, -ENOMEM, i, "out of memory");
	f->callsite = i;
	f->subprog = env->aux[target].subprog;
	f->is_callback = callback;
	if (callback) {
		f->cb_entry = states__alloc();
		if (!f->cb_entry || states__copy(f->cb_entry, st)) {
			states__free(f->cb_entry);
			free(f);
			return verifier__reject(env, -ENOMEM, i, "out of memory");
		}
		init_callback_regs(f, caller, st->curframe + 1);
	} else {
		for (r = BPFI_REG_1; r <= BPFI_REG_5; r++)
			f->regs[r] = caller->regs[r];
		f->regs[BPFI_REG_10] = (struct vreg){ .type = VREG_PTR_TO_STACK,
						      .frameno = (uint8_t)(st->curframe + 1) };
	}
	record_call_edge(env, f->subprog);
	st->frames[++st->curframe] = f;
	st->insn_idx = target;
	return 0;
}

/* bpf_loop: the callback runs as a call; a queued path skips it (zero iterations). */
static int enter_callback(struct bpfi_verifier_env *env, uint32_t i, uint32_t cb)
{
	struct vstate *skip;
	struct vframe *f;
	int err = states__push(env, i + 1, &skip);

	if (err)
		return err;
	f = skip->frames[skip->curframe];
	clobber_caller_saved(f);
	bounds__set_unknown(&f->regs[BPFI_REG_0]);
	return push_frame(env, i, cb, true);
}

/*
 * A tail call replaces only the current frame: the frames of its callers stay on the stack
 * under the target, and BPFI_MAX_TAIL_CALLS tail calls in a row pile them up. The JIT gives
 * every frame that uses the stack all of BPFI_STACK_SIZE, with the return address, saved
 * registers and alignment VERIFIER_JIT_FRAME_MAX bytes, and programs run on a 32 KiB private
 * stack (stub/dispatch.c). So tail calls are allowed from the main program and from the
 * subprograms it calls, not deeper: 33 tail calls leave 33 * 576 bytes, the last program's
 * deepest chain adds 8 * 576, 23.6 KiB in all, and 9 KiB remain for the helpers. (The kernel
 * sizes its frames by their use and allows deeper chains whose callers use less than 256
 * bytes; stack_depth.c applies that rule too.) A bpf_loop callback is entered afresh by the
 * helper, where the JIT starts the count over, so tail calls are refused there (the
 * running kernel refuses them too).
 */
static int check_tail_call_depth(struct bpfi_verifier_env *env, uint32_t i)
{
	struct vstate *st = env->cur;
	struct subprog_info *sp;
	uint32_t fi;

	for (fi = 1; fi <= st->curframe; fi++)
		if (st->frames[fi]->is_callback)
			return verifier__reject(env, -EACCES, i,
						"tail_call is not allowed in callbacks");
	if (st->curframe > 1)
		return verifier__reject(env, -EACCES, i,
					"tail_calls are not allowed at call depth %u: each of %u "
					"tail calls would leave %u caller frames of up to %u bytes",
					st->curframe, BPFI_MAX_TAIL_CALLS, st->curframe,
					VERIFIER_JIT_FRAME_MAX);
	sp = &env->subprogs[verifier__cur_frame(env)->subprog];
	if (st->curframe && !sp->has_tail_call) {
		sp->has_tail_call = true;
		sp->tail_call_insn = i;
	}
	return 0;
}

/*
 * A tail call from a subprogram that succeeds returns to the subprogram's caller once the
 * target exits (the target replaces only the current frame), as the kernel models it: that
 * path, a return with an unknown R0, is followed now; the failed call's path is queued. So a
 * record the subprogram holds is lost there, and one its caller holds must still be released
 * by the caller, whatever the subprogram does after the call.
 */
static int tail_call_return(struct bpfi_verifier_env *env, uint32_t i)
{
	struct vstate *failed;
	struct vframe *f;
	bool end = false;
	int err = states__push(env, i + 1, &failed);

	if (err)
		return err;
	f = failed->frames[failed->curframe];
	clobber_caller_saved(f);
	bounds__set_unknown(&f->regs[BPFI_REG_0]);
	bounds__set_unknown(verifier__reg(env, BPFI_REG_0));
	verifier__trace(env, "%u: tail call succeeded: return to the caller\n", i);
	return verifier__check_exit(env, i, &end);
}

static void set_return(struct bpfi_verifier_env *env, uint32_t i, const struct helper_proto *p,
		       const struct call_meta *meta)
{
	struct vreg *r0 = verifier__reg(env, BPFI_REG_0);
	struct vstate *st = env->cur;

	switch (p ? p->ret : VRET_INTEGER) {
	case VRET_VOID:
		*r0 = (struct vreg){ .type = VREG_NOT_INIT };
		break;
	case VRET_MAP_VALUE_OR_NULL:
		*r0 = (struct vreg){ .type = VREG_PTR_TO_MAP_VALUE_OR_NULL,
				     .map = meta->map,
				     .id = ++env->id_gen };
		break;
	case VRET_ALLOC_MEM_OR_NULL:
		*r0 = (struct vreg){ .type = VREG_PTR_TO_MEM_OR_NULL,
				     .mem_size = (uint32_t)meta->alloc_size,
				     .id = ++env->id_gen };
		r0->ref_obj_id = r0->id;
		st->refs[st->nrefs++] = (struct vref){ .id = r0->id, .insn = i };
		break;
	default:
		bounds__set_unknown(r0);
		break;
	}
}

static int check_helper_call(struct bpfi_verifier_env *env, uint32_t i, int64_t id)
{
	const struct helper_proto *p = NULL;
	struct call_meta meta = { 0 };
	int err, k;

	if (id >= 0 && id <= INT32_MAX)
		p = verifier__helper_proto((int32_t)id);
	if (id < 0 || id >= BPFI_HELPER_MAX || !env->helper_known((int32_t)id, env->cookie)) {
		if (p)
			return verifier__reject(env, -EINVAL, i, "unknown func bpf_%s#%lld",
						p->name, (long long)id);
		return verifier__reject(env, -EINVAL, i, "unknown func unknown#%lld",
					(long long)id);
	}
	/*
	 * bpf_override_return writes a pt_regs (uprobe) or a sys_enter record: other contexts
	 * have neither. Which tracepoint a program attaches to is not known here, so a sys_exit
	 * program gets -EINVAL from the helper at run time instead.
	 */
	if (id == 58 && env->prog_type != BPF_PROG_TYPE_KPROBE &&
	    env->prog_type != BPF_PROG_TYPE_TRACEPOINT)
		return verifier__reject(env, -EINVAL, i,
					"bpf_override_return is only for uprobe and syscall-entry "
					"programs, not program type %u",
					env->prog_type);
	for (k = 0; p && k < 5; k++) {
		err = check_arg(env, i, (int32_t)id, p, k, &meta);
		if (err)
			return err;
	}
	/* A callback reaching a helper we cannot follow into would run unchecked. */
	for (k = 1; !p && k <= 5; k++)
		if (verifier__reg(env, (uint32_t)k)->type == VREG_PTR_TO_FUNC)
			return verifier__reject(env, -EACCES, i,
						"R%d callback passed to func #%lld, which is not "
						"supported",
						k, (long long)id);
	if (id == VERIFIER_FUNC_TAIL_CALL) {
		err = check_tail_call_depth(env, i);
		if (err)
			return err;
		/* From the main program, one that succeeds never comes back to submit a record. */
		if (!env->cur->curframe && env->cur->nrefs)
			return verifier__reject(env, -EINVAL, i,
						"tail_call would lead to reference leak");
		if (env->cur->curframe)
			return tail_call_return(env, i);
	}
	if (meta.release_id) {
		err = release_reference(env, i, meta.release_id);
		if (err)
			return err;
	}
	if (p && p->ret == VRET_ALLOC_MEM_OR_NULL && env->cur->nrefs == VERIFIER_MAX_REFS)
		return verifier__reject(env, -E2BIG, i, "too many references held (%u)",
					VERIFIER_MAX_REFS);
	if (meta.has_callback)
		return enter_callback(env, i, meta.callback);
	clobber_caller_saved(verifier__cur_frame(env));
	set_return(env, i, p, &meta);
	verifier__note_ret(env, i, verifier__reg(env, BPFI_REG_0));
	env->cur->insn_idx = i + 1;
	return 0;
}

int verifier__check_call(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn)
{
	const struct vreg *r;
	int err;

	if (BPF_SRC(insn->code) == BPF_X) { /* callx: a helper id in a register */
		err = verifier__check_reg_read(env, i, insn->dst_reg);
		if (err)
			return err;
		r = verifier__reg(env, insn->dst_reg);
		if (!bounds__is_const(r))
			return verifier__reject(env, -EACCES, i,
						"R%u callx target is not a known helper id",
						insn->dst_reg);
		return check_helper_call(env, i, r->umin > INT32_MAX ? -1 : (int64_t)r->umin);
	}
	if (insn->src_reg == BPF_PSEUDO_CALL)
		return push_frame(env, i, i + 1 + (uint32_t)insn->imm, false);
	return check_helper_call(env, i, insn->imm);
}

/* After a frame is gone, nothing may point into its stack. */
static void drop_dangling(struct vstate *st)
{
	uint32_t fi, r;

	for (fi = 0; fi <= st->curframe; fi++) {
		struct vframe *f = st->frames[fi];

		for (r = 0; r < MAX_BPF_REG; r++)
			if (f->regs[r].type == VREG_PTR_TO_STACK &&
			    f->regs[r].frameno > st->curframe)
				f->regs[r] = (struct vreg){ .type = VREG_NOT_INIT };
		for (r = 0; r < f->nslots; r++)
			if (verifier__slot_has_spill(&f->slots[r]) &&
			    f->slots[r].spill.type == VREG_PTR_TO_STACK &&
			    f->slots[r].spill.frameno > st->curframe)
				bounds__set_unknown(&f->slots[r].spill);
	}
}

static bool same_refs(const struct vstate *a, const struct vstate *b)
{
	uint32_t k, m;

	if (a->nrefs != b->nrefs)
		return false;
	for (k = 0; k < a->nrefs; k++) {
		for (m = 0; m < b->nrefs && b->refs[m].id != a->refs[k].id; m++)
			;
		if (m == b->nrefs)
			return false;
	}
	return true;
}

/*
 * The end of one run of a bpf_loop callback. The loop may run it again with whatever it
 * left in its callers' stacks (through the ctx pointer), so it is verified from an entry
 * view that covers every run: if this run left the stacks within that view, the loop's
 * effect is that view; otherwise the view is widened and the callback checked again.
 */
static int callback_fixed_point(struct bpfi_verifier_env *env, uint32_t i, struct vframe *callee,
				const struct vframe *caller, bool *ret_again)
{
	struct vstate *st = env->cur, *entry = callee->cb_entry;
	uint32_t n = st->curframe;
	int err;

	/*
	 * The same references, not only as many: one that released its caller's record and
	 * kept a new one would leave the caller holding a record its stack no longer names.
	 */
	if (!same_refs(st, entry))
		return verifier__reject(env, -EACCES, i,
					"callback changes the references held (%u, was %u)",
					st->nrefs, entry->nrefs);
	if (states__stacks_cover(entry, st, n))
		return states__copy_stacks(st, entry, n)
			       ? verifier__reject(env, -ENOMEM, i, "out of memory")
			       : 0;
	err = states__join_stacks(entry, st, n);
	if (err >= 0)
		err = states__copy_stacks(st, entry, n);
	if (err < 0)
		return verifier__reject(env, -ENOMEM, i, "out of memory");
	verifier__trace(env, "%u: callback left its callers' stacks wider: checking it again\n", i);
	free(callee->slots);
	callee->slots = NULL;
	callee->nslots = 0;
	init_callback_regs(callee, caller, st->curframe);
	st->insn_idx = env->subprogs[callee->subprog].start;
	*ret_again = true;
	return 0;
}

int verifier__check_exit(struct bpfi_verifier_env *env, uint32_t i, bool *ret_path_end)
{
	struct vstate *st = env->cur;
	struct vframe *callee, *caller;
	struct vreg r0;
	int err = verifier__check_reg_read(env, i, BPFI_REG_0);

	if (err)
		return err;
	if (!st->curframe) {
		if (st->nrefs)
			return verifier__reject(env, -EACCES, i,
						"Unreleased reference id=%u alloc_insn=%u",
						st->refs[0].id, st->refs[0].insn);
		*ret_path_end = true;
		return 0;
	}
	callee = st->frames[st->curframe];
	caller = st->frames[st->curframe - 1];
	r0 = callee->regs[BPFI_REG_0];
	if (callee->is_callback && r0.type != VREG_SCALAR)
		return verifier__reject(
			env, -EACCES, i,
			"At callback return the register R0 is not a known value (%s)",
			verifier__reg_type_str(r0.type));
	if (callee->is_callback) {
		bool again = false;

		err = callback_fixed_point(env, i, callee, caller, &again);
		if (err || again)
			return err;
	}
	if (r0.type == VREG_PTR_TO_STACK && r0.frameno == st->curframe)
		return verifier__reject(env, -EACCES, i,
					"cannot return stack pointer to the caller");
	if (callee->is_callback)
		bounds__set_unknown(&r0);
	caller->regs[BPFI_REG_0] = r0;
	clobber_caller_saved(caller);
	st->insn_idx = callee->callsite + 1;
	states__free(callee->cb_entry);
	free(callee->slots);
	free(callee);
	st->frames[st->curframe--] = NULL;
	drop_dangling(st);
	return 0;
}
