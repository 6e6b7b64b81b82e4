// SPDX-License-Identifier: MIT
/*
 * Memory accesses of do_check (the kernel's check_mem_access and friends): loads, stores and
 * atomics through stack, map value, ringbuf record and context pointers, and the memory
 * arguments of helpers. The stack model (INVALID/MISC/CONST/SPILL bytes) lives here.
 */
#include <errno.h>
#include <string.h>

#include "verifier_internal.h"

static uint32_t access_size(uint8_t code)
{
	switch (BPF_SIZE(code)) {
	case BPF_B:
		return 1;
	case BPF_H:
		return 2;
	case BPF_W:
		return 4;
	default:
		return 8;
	}
}

/* An unknown value loaded from @size bytes: zero-extended unless sign-extending. */
static void unknown_load(struct vreg *r, uint32_t size, bool sx)
{
	bounds__set_unknown(r);
	if (size < 8 && !sx)
		r->umax = (1ULL << (8 * size)) - 1;
}

static uint64_t sign_extend(uint64_t v, uint32_t size)
{
	uint64_t m;

	if (size >= 8)
		return v;
	m = 1ULL << (8 * size - 1);
	v &= (m << 1) - 1;
	return (v ^ m) - m;
}

/* The slot holding stack byte @byte (< 0) and the byte's index in it. */
static struct vslot *slot_of(struct vframe *f, int64_t byte, int *ret_idx)
{
	int64_t k = (-byte - 1) / 8;

	*ret_idx = (int)(byte + 8 * (k + 1));
	return &f->slots[k];
}

/* Checks [omin + off, omax + off + size) against the frame, records the depth, grows it. */
static int stack_bounds(struct bpfi_verifier_env *env, uint32_t i, uint32_t regno,
			const struct vreg *ptr, int64_t off, uint64_t size, bool align, int64_t *lo,
			int64_t *hi)
{
	struct vframe *f = env->cur->frames[ptr->frameno];
	struct subprog_info *sp = &env->subprogs[f->subprog];
	bool var = ptr->omin != ptr->omax;

	*lo = ptr->omin + off;
	*hi = ptr->omax + off + (int64_t)size;
	if (*lo < -BPFI_STACK_SIZE || *hi > 0) {
		if (var)
			return verifier__reject(env, -EACCES, i,
						"invalid variable-offset stack access R%u "
						"var_off=[%lld,%lld] size=%llu",
						regno, (long long)(ptr->omin + off),
						(long long)(ptr->omax + off),
						(unsigned long long)size);
		return verifier__reject(env, -EACCES, i, "invalid stack off=%lld size=%llu",
					(long long)*lo, (unsigned long long)size);
	}
	if (align && !var && (-*lo) % (int64_t)size)
		return verifier__reject(env, -EACCES, i,
					"misaligned stack access off=%lld size=%llu",
					(long long)*lo, (unsigned long long)size);
	if ((uint64_t) - *lo > sp->stack_depth)
		sp->stack_depth = (uint32_t) - *lo;
	if (states__grow_stack(f, (uint32_t)((-*lo + 7) / 8)))
		return verifier__reject(env, -ENOMEM, i, "out of memory");
	return 0;
}

/* A spill partly overwritten is a spill no more: its other bytes are unknown. */
static void scrub_spill(struct vslot *s)
{
	int b;

	if (!verifier__slot_has_spill(s))
		return;
	for (b = 0; b < 8; b++)
		if (s->type[b] == VSLOT_SPILL)
			s->type[b] = VSLOT_MISC;
	memset(&s->spill, 0, sizeof(s->spill));
}

/*
 * A register spilled whole, or a scalar spilled to an aligned 1/2/4-byte slot part whose
 * range fits (clang spills 32-bit subregisters that way), keeps its abstract value.
 */
static bool is_spill(const struct vreg *val, int64_t lo, int64_t hi)
{
	uint64_t size = (uint64_t)(hi - lo);

	if (!val || val->type == VREG_NOT_INIT || lo % (int64_t)size)
		return false;
	if (size == 8)
		return true;
	return val->type == VREG_SCALAR && val->umax < (1ULL << (8 * size));
}

/* Records a store of @val (NULL: unknown bytes) to [lo, hi) of frame @f. */
static void stack_write(struct vframe *f, int64_t lo, int64_t hi, bool var, const struct vreg *val)
{
	bool is_const = val && !var && bounds__is_const(val);
	int64_t b;
	int idx;

	if (!var && !is_const && is_spill(val, lo, hi)) {
		struct vslot *s = slot_of(f, lo, &idx);

		scrub_spill(s);
		memset(s->type + idx, VSLOT_SPILL, (size_t)(hi - lo));
		s->spill = *val;
		return;
	}
	for (b = lo; b < hi; b++) {
		struct vslot *s = slot_of(f, b, &idx);

		scrub_spill(s);
		s->type[idx] = is_const ? VSLOT_CONST : VSLOT_MISC;
		s->val[idx] = is_const ? (uint8_t)(val->umin >> (8 * (b - lo))) : 0;
	}
}

/* The spill that is exactly [lo, hi) (same bytes as were stored), or NULL. */
static const struct vreg *exact_fill(struct vframe *f, int64_t lo, int64_t hi)
{
	int idx, b, first = -1, last = -1;
	struct vslot *s = slot_of(f, lo, &idx);

	if ((-lo - 1) / 8 != (-(hi - 1) - 1) / 8)
		return NULL; /* spans two slots */
	for (b = 0; b < 8; b++) {
		if (s->type[b] != VSLOT_SPILL)
			continue;
		first = first < 0 ? b : first;
		last = b;
	}
	if (first != idx || last != idx + (int)(hi - lo) - 1)
		return NULL;
	return &s->spill;
}

/*
 * A load of @size bytes somewhere in [lo, hi) (exactly there unless @var): a spill comes
 * back whole, known bytes as a constant, anything else as an unknown number.
 */
static int stack_read(struct bpfi_verifier_env *env, uint32_t i, struct vframe *f, int64_t lo,
		      int64_t hi, uint32_t size, bool var, bool sx, struct vreg *out)
{
	bool all_const = !var, uninit = false;
	const struct vreg *spill = var ? NULL : exact_fill(f, lo, hi);
	uint64_t v = 0;
	int64_t b;
	int idx;

	/* A sign-extending fill keeps the value only if its sign bit is clear. */
	if (spill && !(sx && size < 8 && spill->umax >= (1ULL << (8 * size - 1)))) {
		*out = *spill;
		return 0;
	}
	for (b = lo; b < hi; b++) {
		struct vslot *s = slot_of(f, b, &idx);

		switch (s->type[idx]) {
		case VSLOT_SPILL:
			/* Part of a pointer as a number, also where a variable offset may
			 * reach it: a byte of an address would leave the program as data. */
			if (s->spill.type != VREG_SCALAR)
				return verifier__reject(env, -EACCES, i,
							"invalid size of register fill");
			all_const = false;
			break;
		case VSLOT_CONST:
			if (!var)
				v |= (uint64_t)s->val[idx] << (8 * (b - lo));
			break;
		case VSLOT_INVALID:
			uninit = true;
			all_const = false;
			break;
		default:
			all_const = false;
			break;
		}
	}
	if (uninit && env->strict_stack)
		return verifier__reject(env, -EACCES, i, "invalid read from stack off %lld size %u",
					(long long)lo, size);
	if (uninit)
		verifier__trace(env, "%u: note: read of uninitialised stack off=%lld (allowed)\n",
				i, (long long)lo);
	if (all_const)
		bounds__set_const(out, sx ? sign_extend(v, size) : v);
	else
		unknown_load(out, size, sx);
	return 0;
}

static int map_access(struct bpfi_verifier_env *env, uint32_t i, const struct vreg *ptr,
		      int64_t off, uint64_t size, bool write)
{
	const struct bpfi_verifier_map *map = ptr->map;
	int64_t lo = ptr->omin + off, hi = ptr->omax + off + (int64_t)size;

	if (lo < 0 ||
	    (hi > (int64_t)map->value_size && !(verifier__test_weaken & VERIFIER_WEAKEN_MAP_BOUND)))
		return verifier__reject(
			env, -EACCES, i,
			"invalid access to map value, value_size=%u off=%lld size=%llu",
			map->value_size, (long long)lo, (unsigned long long)size);
	if (write && (map->map_flags & BPF_F_RDONLY_PROG))
		return verifier__reject(
			env, -EACCES, i,
			"write into map forbidden, value_size=%u off=%lld size=%llu",
			map->value_size, (long long)lo, (unsigned long long)size);
	return 0;
}

static int mem_access(struct bpfi_verifier_env *env, uint32_t i, const struct vreg *ptr,
		      int64_t off, uint64_t size)
{
	int64_t lo = ptr->omin + off, hi = ptr->omax + off + (int64_t)size;

	if (lo < 0 || hi > (int64_t)ptr->mem_size)
		return verifier__reject(env, -EACCES, i,
					"invalid access to memory, mem_size=%u off=%lld size=%llu",
					ptr->mem_size, (long long)lo, (unsigned long long)size);
	return 0;
}

static int ctx_access(struct bpfi_verifier_env *env, uint32_t i, uint32_t regno,
		      const struct vreg *ptr, int64_t off, uint32_t size, bool write)
{
	int64_t lo = ptr->omin + off;

	if (ptr->omin != ptr->omax)
		return verifier__reject(env, -EACCES, i, "R%u variable ctx access disallowed",
					regno);
	if (write || lo < 0 || lo + size > env->ctx_size)
		return verifier__reject(env, -EACCES, i,
					"invalid bpf_context access off=%lld size=%u",
					(long long)lo, size);
	return 0;
}

/* A load from a frozen read-only map (.rodata) at a known offset is a known constant. */
static bool frozen_load(const struct vreg *ptr, int64_t off, uint32_t size, bool sx,
			struct vreg *out)
{
	const struct bpfi_verifier_map *map = ptr->map;
	uint8_t bytes[8] = { 0 };
	uint64_t v = 0;
	uint32_t b;

	if (!map->frozen || !(map->map_flags & BPF_F_RDONLY_PROG) || !map->frozen_value ||
	    ptr->omin != ptr->omax)
		return false;
	memcpy(bytes, (const uint8_t *)map->frozen_value + ptr->omin + off, size);
	for (b = 0; b < size; b++)
		v |= (uint64_t)bytes[b] << (8 * b);
	bounds__set_const(out, sx ? sign_extend(v, size) : v);
	return true;
}

int verifier__check_load(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn)
{
	uint32_t size = access_size(insn->code);
	bool sx = BPF_MODE(insn->code) == BPF_MEMSX;
	struct vreg ptr, out;
	int64_t lo, hi;
	int err = verifier__check_reg_read(env, i, insn->src_reg);

	if (err)
		return err;
	ptr = *verifier__reg(env, insn->src_reg);
	verifier__note_mem(env, i, ptr.type);
	switch (ptr.type) {
	case VREG_PTR_TO_STACK:
		err = stack_bounds(env, i, insn->src_reg, &ptr, insn->off, size, true, &lo, &hi);
		if (!err)
			err = stack_read(env, i, env->cur->frames[ptr.frameno], lo, hi, size,
					 ptr.omin != ptr.omax, sx, &out);
		break;
	case VREG_PTR_TO_MAP_VALUE:
		err = map_access(env, i, &ptr, insn->off, size, false);
		if (!err && !frozen_load(&ptr, insn->off, size, sx, &out))
			unknown_load(&out, size, sx);
		break;
	case VREG_PTR_TO_MEM:
		err = mem_access(env, i, &ptr, insn->off, size);
		unknown_load(&out, size, sx);
		break;
	case VREG_PTR_TO_CTX:
		err = ctx_access(env, i, insn->src_reg, &ptr, insn->off, size, false);
		unknown_load(&out, size, sx);
		break;
	default:
		return verifier__reject(env, -EACCES, i, "R%u invalid mem access '%s'",
					insn->src_reg, verifier__reg_type_str(ptr.type));
	}
	if (err)
		return err;
	*verifier__reg(env, insn->dst_reg) = out;
	return 0;
}

/* Where a store or atomic may write: checks the pointer and the range, @ret_* for stacks. */
static int check_write(struct bpfi_verifier_env *env, uint32_t i, uint32_t regno, int16_t off,
		       uint32_t size, const struct vreg *val)
{
	struct vreg ptr = *verifier__reg(env, regno);
	int64_t lo, hi;
	int err;

	verifier__note_mem(env, i, ptr.type);
	switch (ptr.type) {
	case VREG_PTR_TO_STACK:
		err = stack_bounds(env, i, regno, &ptr, off, size, true, &lo, &hi);
		if (!err)
			stack_write(env->cur->frames[ptr.frameno], lo, hi, ptr.omin != ptr.omax,
				    val);
		return err;
	case VREG_PTR_TO_MAP_VALUE:
		return map_access(env, i, &ptr, off, size, true);
	case VREG_PTR_TO_MEM:
		return mem_access(env, i, &ptr, off, size);
	case VREG_PTR_TO_CTX:
		return ctx_access(env, i, regno, &ptr, off, size, true);
	default:
		return verifier__reject(env, -EACCES, i, "R%u invalid mem access '%s'", regno,
					verifier__reg_type_str(ptr.type));
	}
}

int verifier__check_store(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn)
{
	uint32_t size = access_size(insn->code);
	struct vreg val;
	int err = verifier__check_reg_read(env, i, insn->dst_reg);

	if (err)
		return err;
	if (BPF_CLASS(insn->code) == BPF_ST) {
		bounds__set_const(&val, (uint64_t)(int64_t)insn->imm);
	} else {
		err = verifier__check_reg_read(env, i, insn->src_reg);
		if (err)
			return err;
		val = *verifier__reg(env, insn->src_reg);
	}
	/* A pointer is spilled whole or not at all (the kernel's rule, for every loader). */
	if (size < 8 && val.type != VREG_SCALAR &&
	    verifier__reg(env, insn->dst_reg)->type == VREG_PTR_TO_STACK)
		return verifier__reject(env, -EACCES, i, "invalid size of register spill");
	/* A narrow store keeps what fits: a constant's low bytes, a scalar range that fits. */
	if (size < 8 && bounds__is_const(&val))
		bounds__set_const(&val, val.umin & ((1ULL << (8 * size)) - 1));
	else if (size < 8 && (val.type != VREG_SCALAR || val.umax >> (8 * size)))
		unknown_load(&val, size, false);
	return check_write(env, i, insn->dst_reg, insn->off, size, &val);
}

int verifier__check_atomic(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn)
{
	uint32_t size = access_size(insn->code);
	const struct vreg *ptr;
	int err = verifier__check_reg_read(env, i, insn->dst_reg);

	if (!err)
		err = verifier__check_reg_read(env, i, insn->src_reg);
	if (!err && insn->imm == BPF_CMPXCHG)
		err = verifier__check_reg_read(env, i, BPFI_REG_0);
	if (err)
		return err;
	if (verifier__reg(env, insn->src_reg)->type != VREG_SCALAR)
		return verifier__reject(env, -EACCES, i, "R%u leaks addr into mem", insn->src_reg);
	ptr = verifier__reg(env, insn->dst_reg);
	if (ptr->type == VREG_PTR_TO_CTX)
		return verifier__reject(env, -EACCES, i,
					"BPF_ATOMIC stores into R%u ctx is not allowed",
					insn->dst_reg);
	/*
	 * An atomic reads before it writes: on the stack that read is a fill, so a narrow one
	 * on a spilled pointer is refused like a narrow load (it would otherwise turn the
	 * pointer's other bytes into a number an 8-byte fill returns).
	 */
	if (ptr->type == VREG_PTR_TO_STACK) {
		struct vreg p = *ptr, old;
		int64_t lo, hi;

		/* The kernel refuses these outright (no fill of unknown place and size). */
		if (p.omin != p.omax)
			return verifier__reject(
				env, -EACCES, i,
				"variable offset stack pointer cannot be passed into "
				"helper function; var_off=[%lld,%lld] size=%u",
				(long long)(p.omin + insn->off), (long long)(p.omax + insn->off),
				size);
		err = stack_bounds(env, i, insn->dst_reg, &p, insn->off, size, true, &lo, &hi);
		if (!err)
			err = stack_read(env, i, env->cur->frames[p.frameno], lo, hi, size, false,
					 false, &old);
		if (err)
			return err;
	}
	err = check_write(env, i, insn->dst_reg, insn->off, size, NULL);
	if (err)
		return err;
	if (insn->imm == BPF_CMPXCHG)
		unknown_load(verifier__reg(env, BPFI_REG_0), size, false);
	else if (insn->imm & BPF_FETCH)
		unknown_load(verifier__reg(env, insn->src_reg), size, false);
	return 0;
}

static int stack_helper_mem(struct bpfi_verifier_env *env, uint32_t i, uint32_t regno,
			    const struct vreg *ptr, uint64_t size, bool write)
{
	struct vframe *f = env->cur->frames[ptr->frameno];
	int64_t lo, hi, b;
	int idx, err;

	if (ptr->omin + (int64_t)size > 0 || ptr->omin < -BPFI_STACK_SIZE ||
	    ptr->omax + (int64_t)size > 0)
		return verifier__reject(env, -EACCES, i,
					"invalid indirect access to stack R%u off=%lld size=%llu",
					regno, (long long)ptr->omin, (unsigned long long)size);
	err = stack_bounds(env, i, regno, ptr, 0, size, false, &lo, &hi);
	if (err)
		return err;
	if (write) {
		stack_write(f, lo, hi, true, NULL);
		return 0;
	}
	for (b = lo; b < hi && slot_of(f, b, &idx)->type[idx] != VSLOT_INVALID; b++)
		;
	if (b == hi)
		return 0;
	if (env->strict_stack)
		return verifier__reject(
			env, -EACCES, i,
			"invalid indirect read from stack R%u off %lld+%lld size %llu", regno,
			(long long)ptr->omin, (long long)(b - lo), (unsigned long long)size);
	verifier__trace(env, "%u: note: R%u reads uninitialised stack off=%lld (allowed)\n", i,
			regno, (long long)b);
	return 0;
}

int verifier__check_helper_mem(struct bpfi_verifier_env *env, uint32_t i, uint32_t regno,
			       uint64_t size, bool write)
{
	struct vreg ptr = *verifier__reg(env, regno);

	if (!size)
		return 0;
	verifier__note_arg(env, i, regno, ptr.type, size, write);
	if (size > (uint64_t)VERIFIER_MAX_VAR_OFF)
		return verifier__reject(env, -EACCES, i, "R%u unbounded memory access", regno + 1);
	switch (ptr.type) {
	case VREG_PTR_TO_STACK:
		return stack_helper_mem(env, i, regno, &ptr, size, write);
	case VREG_PTR_TO_MAP_VALUE:
		return map_access(env, i, &ptr, 0, size, write);
	case VREG_PTR_TO_MEM:
		return mem_access(env, i, &ptr, 0, size);
	default:
		return verifier__reject(env, -EACCES, i, "R%u type=%s expected=fp, map_value, mem",
					regno, verifier__reg_type_str(ptr.type));
	}
}
