// SPDX-License-Identifier: MIT
/*
 * Verifier states: copies, the stack of branches still to explore, and pruning (the kernel's
 * is_state_visited): a path reaching a prune point in a state contained in one already found
 * safe there stops, because every continuation of it was checked.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/compiler.h"
#include "verifier_internal.h"

/* Distinct ids one comparison can pair up (regs + spills of all frames, generously). */
#define IDMAP_SIZE 128

struct idmap {
	uint32_t n;
	uint32_t old[IDMAP_SIZE], cur[IDMAP_SIZE];
};

struct vstate *states__alloc(void)
{
	return calloc(1, sizeof(struct vstate));
}

static void free_frames(struct vstate *st)
{
	uint32_t i;

	for (i = 0; i < BPFI_MAX_CALL_FRAMES; i++) {
		if (!st->frames[i])
			continue;
		states__free(st->frames[i]->cb_entry);
		free(st->frames[i]->slots);
		free(st->frames[i]);
		st->frames[i] = NULL;
	}
}

void states__free(struct vstate *st)
{
	if (!st)
		return;
	free_frames(st);
	free(st);
}

int states__grow_stack(struct vframe *f, uint32_t nslots)
{
	struct vslot *s;

	if (nslots <= f->nslots)
		return 0;
	s = realloc(f->slots, nslots * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s + f->nslots, 0, (nslots - f->nslots) * sizeof(*s));
	f->slots = s;
	f->nslots = nslots;
	return 0;
}

/* Deep copy of @src into @dst (whose old frames are freed); @dst->live is reset. */
int states__copy(struct vstate *dst, const struct vstate *src)
{
	uint32_t i;

	free_frames(dst);
	for (i = 0; i <= src->curframe; i++) {
		const struct vframe *sf = src->frames[i];
		struct vframe *df = malloc(sizeof(*df));

		if (!df)
			return -ENOMEM;
		*df = *sf;
		df->slots = NULL;
		df->nslots = 0;
		df->cb_entry = NULL;
		dst->frames[i] = df;
		if (states__grow_stack(df, sf->nslots))
			return -ENOMEM;
		if (sf->cb_entry) {
			df->cb_entry = states__alloc();
			if (!df->cb_entry || states__copy(df->cb_entry, sf->cb_entry))
				return -ENOMEM;
		}
		if (sf->nslots)
			memcpy(df->slots, sf->slots, sf->nslots * sizeof(*sf->slots));
	}
	dst->curframe = src->curframe;
	dst->insn_idx = src->insn_idx;
	dst->nrefs = src->nrefs;
	memcpy(dst->refs, src->refs, sizeof(dst->refs));
	dst->parent = src->parent;
	dst->live = 0;
	return 0;
}

/* Queues a copy of the current state to continue at @insn_idx later (the other arm). */
int states__push(struct bpfi_verifier_env *env, uint32_t insn_idx, struct vstate **ret)
{
	struct vstate *st;

	if (env->pending_len >= VERIFIER_MAX_PENDING)
		return verifier__reject(env, -E2BIG, env->cur->insn_idx,
					"the sequence of %u jumps is too complex",
					env->pending_len);
	if (env->pending_len == env->pending_cap) {
		uint32_t cap = env->pending_cap ? env->pending_cap * 2 : 64;
		struct vstate **p = realloc(env->pending, cap * sizeof(*p));

		if (!p)
			return verifier__reject(env, -ENOMEM, insn_idx, "out of memory");
		env->pending = p;
		env->pending_cap = cap;
	}
	st = states__alloc();
	if (!st || states__copy(st, env->cur)) {
		states__free(st);
		return verifier__reject(env, -ENOMEM, insn_idx, "out of memory");
	}
	st->insn_idx = insn_idx;
	if (st->parent)
		st->parent->live++;
	env->pending[env->pending_len++] = st;
	if (env->pending_len > env->max_pending)
		env->max_pending = env->pending_len;
	if (ret)
		*ret = st;
	return 0;
}

/* Replaces the current state by the next queued one; -ENOENT when none is left. */
int states__pop(struct bpfi_verifier_env *env)
{
	if (!env->pending_len)
		return -ENOENT;
	states__free(env->cur);
	env->cur = env->pending[--env->pending_len];
	return 0;
}

/* The current path ended safely: checkpoints with no path left below become usable. */
void states__path_done(struct bpfi_verifier_env *env)
{
	struct vstate *p = env->cur->parent;

	while (p) {
		if (--p->live)
			break;
		p = p->parent;
	}
}

static bool check_ids(struct idmap *m, uint32_t old, uint32_t cur)
{
	uint32_t i;

	if (!old || !cur)
		return old == cur;
	for (i = 0; i < m->n; i++)
		if (m->old[i] == old || m->cur[i] == cur)
			return m->old[i] == old && m->cur[i] == cur;
	if (m->n == IDMAP_SIZE)
		return false;
	m->old[m->n] = old;
	m->cur[m->n++] = cur;
	return true;
}

static bool within(const struct vreg *o, const struct vreg *c)
{
	return c->omin >= o->omin && c->omax <= o->omax;
}

/* True when every value @cur may hold is one @old was checked with. */
static bool regsafe(const struct vreg *old, const struct vreg *cur, struct idmap *m)
{
	if (old->type == VREG_NOT_INIT)
		return true; /* the checked path never read it before writing it */
	if (old->type != cur->type)
		return false;
	switch (old->type) {
	case VREG_SCALAR:
		return cur->umin >= old->umin && cur->umax <= old->umax;
	case VREG_PTR_TO_CTX:
		return within(old, cur);
	case VREG_PTR_TO_STACK:
		return old->frameno == cur->frameno && within(old, cur);
	case VREG_CONST_PTR_TO_MAP:
		return old->map == cur->map;
	case VREG_PTR_TO_MAP_VALUE:
	case VREG_PTR_TO_MAP_VALUE_OR_NULL:
		return old->map == cur->map && within(old, cur) && check_ids(m, old->id, cur->id);
	case VREG_PTR_TO_MEM:
	case VREG_PTR_TO_MEM_OR_NULL:
		return old->mem_size == cur->mem_size && within(old, cur) &&
		       check_ids(m, old->id, cur->id) &&
		       check_ids(m, old->ref_obj_id, cur->ref_obj_id);
	case VREG_PTR_TO_FUNC:
		return old->mem_size == cur->mem_size;
	default:
		return false;
	}
}

static bool slot_safe(const struct vframe *of, const struct vframe *cf, uint32_t i, struct idmap *m)
{
	static const struct vslot invalid;
	const struct vslot *o = i < of->nslots ? &of->slots[i] : &invalid;
	const struct vslot *c = i < cf->nslots ? &cf->slots[i] : &invalid;
	bool cur_ptr = verifier__slot_has_spill(c) && c->spill.type != VREG_SCALAR;
	int b;

	/* A spill must be where it was, whole: only then does a fill restore it. */
	if (verifier__slot_has_spill(o)) {
		if (!regsafe(&o->spill, &c->spill, m))
			return false;
		for (b = 0; b < 8; b++)
			if ((o->type[b] == VSLOT_SPILL) != (c->type[b] == VSLOT_SPILL))
				return false;
	}
	for (b = 0; b < 8; b++) {
		switch (o->type[b]) {
		case VSLOT_SPILL:
			break;
		case VSLOT_INVALID:
			/* Anything but a pointer: old paths read unknown numbers here. */
			if (c->type[b] == VSLOT_SPILL && cur_ptr)
				return false;
			break;
		case VSLOT_MISC:
			if (c->type[b] == VSLOT_INVALID || (c->type[b] == VSLOT_SPILL && cur_ptr))
				return false;
			break;
		default: /* VSLOT_CONST */
			if (c->type[b] != VSLOT_CONST || c->val[b] != o->val[b])
				return false;
			break;
		}
	}
	return true;
}

static bool stacks_cover(const struct vstate *old, const struct vstate *cur, uint32_t nframes,
			 struct idmap *m)
{
	uint32_t fi, i;

	for (fi = 0; fi < nframes; fi++) {
		const struct vframe *of = old->frames[fi], *cf = cur->frames[fi];

		for (i = 0; i < BPFI_MAX(of->nslots, cf->nslots); i++)
			if (!slot_safe(of, cf, i, m))
				return false;
	}
	return true;
}

bool states__stacks_cover(const struct vstate *old, const struct vstate *cur, uint32_t nframes)
{
	struct idmap m = { 0 };

	return stacks_cover(old, cur, nframes, &m);
}

/*
 * @e := a state covering both @e and @a, for one slot. The lattice is short (a spill or a
 * known byte, then unknown, then uninitialised), so repeated joins reach a fixed point fast.
 */
static bool join_slot(struct vslot *e, const struct vslot *a)
{
	bool changed = false, same_extent = true;
	int b;

	for (b = 0; b < 8; b++)
		if ((e->type[b] == VSLOT_SPILL) != (a->type[b] == VSLOT_SPILL))
			same_extent = false;
	if (verifier__slot_has_spill(e)) {
		struct idmap m1 = { 0 }, m2 = { 0 };
		bool keep = same_extent && regsafe(&e->spill, &a->spill, &m1) &&
			    regsafe(&a->spill, &e->spill, &m2);

		if (!keep && same_extent && e->spill.type == VREG_SCALAR &&
		    a->spill.type == VREG_SCALAR) {
			/* Widen at once: a counter would otherwise grow one step per run. */
			bounds__set_unknown(&e->spill);
			changed = true;
		} else if (!keep) {
			for (b = 0; b < 8; b++)
				if (e->type[b] == VSLOT_SPILL)
					e->type[b] = VSLOT_MISC;
			memset(&e->spill, 0, sizeof(e->spill));
			changed = true;
		}
	}
	for (b = 0; b < 8; b++) {
		uint8_t te = e->type[b], ta = a->type[b] == VSLOT_SPILL ? VSLOT_MISC : a->type[b];
		uint8_t want;

		if (te == VSLOT_SPILL ||
		    (te == VSLOT_CONST && ta == VSLOT_CONST && e->val[b] == a->val[b]))
			continue;
		want = (te == VSLOT_INVALID || ta == VSLOT_INVALID) ? VSLOT_INVALID : VSLOT_MISC;
		if (te != want) {
			e->type[b] = want;
			e->val[b] = 0;
			changed = true;
		}
	}
	return changed;
}

int states__join_stacks(struct vstate *into, const struct vstate *other, uint32_t nframes)
{
	static const struct vslot invalid;
	uint32_t fi, i;
	int changed = 0;

	for (fi = 0; fi < nframes; fi++) {
		struct vframe *e = into->frames[fi];
		const struct vframe *a = other->frames[fi];

		if (states__grow_stack(e, a->nslots))
			return -ENOMEM;
		for (i = 0; i < e->nslots; i++)
			changed |= join_slot(&e->slots[i], i < a->nslots ? &a->slots[i] : &invalid);
	}
	return changed;
}

int states__copy_stacks(struct vstate *dst, const struct vstate *src, uint32_t nframes)
{
	uint32_t fi;

	for (fi = 0; fi < nframes; fi++) {
		struct vframe *d = dst->frames[fi];
		const struct vframe *sf = src->frames[fi];

		if (states__grow_stack(d, sf->nslots))
			return -ENOMEM;
		d->nslots = sf->nslots; /* never shrinks below what was touched: sf covers d */
		if (sf->nslots)
			memcpy(d->slots, sf->slots, sf->nslots * sizeof(*sf->slots));
	}
	return 0;
}

/* Registers that matter in frame @fi: live ones where that frame will continue. */
static uint16_t frame_live(const struct bpfi_verifier_env *env, const struct vstate *st,
			   uint32_t fi)
{
	uint32_t ret_insn;

	if (fi == st->curframe)
		return env->aux[st->insn_idx].live_regs;
	/* A caller resumes after the call with R0-R5 replaced: only R6-R9 carry over. */
	ret_insn = st->frames[fi + 1]->callsite + 1;
	return env->aux[ret_insn].live_regs & 0x3c0;
}

static bool states_safe(const struct bpfi_verifier_env *env, const struct vstate *old,
			const struct vstate *cur)
{
	struct idmap m = { 0 };
	uint32_t fi, r, i;

	if (old->curframe != cur->curframe || old->nrefs != cur->nrefs)
		return false;
	for (fi = 0; fi <= old->curframe; fi++) {
		const struct vframe *of = old->frames[fi], *cf = cur->frames[fi];
		uint16_t live = frame_live(env, cur, fi);

		if (of->callsite != cf->callsite || of->is_callback != cf->is_callback)
			return false;
		/* A callback's future depends on its entry view too (it is joined at exit). */
		if (of->is_callback && !stacks_cover(of->cb_entry, cf->cb_entry, fi, &m))
			return false;
		for (r = 0; r < BPFI_REG_10; r++)
			if ((live & (1u << r)) && !regsafe(&of->regs[r], &cf->regs[r], &m))
				return false;
		for (i = 0; i < BPFI_MAX(of->nslots, cf->nslots); i++)
			if (!slot_safe(of, cf, i, &m))
				return false;
	}
	for (i = 0; i < old->nrefs; i++)
		if (!check_ids(&m, old->refs[i].id, cur->refs[i].id))
			return false;
	return true;
}

/*
 * At a prune point: prune when a finished checkpoint covers the current state; refuse when
 * an unfinished one (an ancestor, so this is a loop) equals it; else store a checkpoint.
 */
int states__is_visited(struct bpfi_verifier_env *env, uint32_t insn_idx, bool *ret_prune)
{
	struct vstate *cur = env->cur, *st;
	struct state_list *sl, *n;
	uint32_t count = 0;

	*ret_prune = false;
	if (!(env->aux[insn_idx].flags & AUX_PRUNE_POINT))
		return 0;
	for (sl = env->explored[insn_idx]; sl; sl = sl->next, count++) {
		if (!sl->st->live) {
			if (states_safe(env, sl->st, cur)) {
				*ret_prune = true;
				return 0;
			}
		} else if (states_safe(env, sl->st, cur) && states_safe(env, cur, sl->st)) {
			return verifier__reject(env, -EINVAL, insn_idx,
						"infinite loop detected at insn %u", insn_idx);
		}
	}
	if (count >= VERIFIER_MAX_STATES_PER_INSN ||
	    env->stored_states >= VERIFIER_MAX_STORED_STATES)
		return 0;
	st = states__alloc();
	n = malloc(sizeof(*n));
	if (!st || !n || states__copy(st, cur)) {
		states__free(st);
		free(n);
		return verifier__reject(env, -ENOMEM, insn_idx, "out of memory");
	}
	st->live = 1;
	cur->parent = st;
	n->st = st;
	n->next = env->explored[insn_idx];
	env->explored[insn_idx] = n;
	env->stored_states++;
	return 0;
}

void states__free_all(struct bpfi_verifier_env *env)
{
	uint32_t i;

	states__free(env->cur);
	env->cur = NULL;
	for (i = 0; i < env->pending_len; i++)
		states__free(env->pending[i]);
	free(env->pending);
	env->pending = NULL;
	env->pending_len = 0;
	if (!env->explored)
		return;
	for (i = 0; i < env->insn_cnt; i++) {
		struct state_list *sl = env->explored[i], *next;

		for (; sl; sl = next) {
			next = sl->next;
			states__free(sl->st);
			free(sl);
		}
		env->explored[i] = NULL;
	}
}
