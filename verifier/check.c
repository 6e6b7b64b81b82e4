// SPDX-License-Identifier: MIT
/*
 * do_check: path-sensitive abstract interpretation of the program (the kernel's do_check),
 * the main loop plus ALU and jumps; memory accesses are in check_mem.c, calls in
 * check_call.c.
 *
 * Theory of operation
 *
 * A *state* is what is known about the machine at one instruction on one path: for each call
 * frame the type and value of R0-R10 and of the stack bytes touched so far, plus the
 * references (ringbuf records) held. Register types:
 *   NOT_INIT               never written on this path; reading it is refused ("R%d !read_ok")
 *   SCALAR                 a number; its unsigned range [umin, umax] (a known constant
 *                          when umin == umax, from immediates, folded arithmetic and loads
 *                          from frozen read-only map values)
 *   PTR_TO_CTX             r1 at entry; constant offsets within the context size, read only
 *   PTR_TO_STACK           r10 and what is derived from it; offset range from the frame top;
 *                          accesses must stay in [-512, 0)
 *   CONST_PTR_TO_MAP       an ld_imm64 of a map fd; only passed to helpers
 *   PTR_TO_MAP_VALUE       an ld_imm64 of a map value, or a lookup result once NULL-checked
 *   PTR_TO_MAP_VALUE_OR_NULL  a lookup result; must be compared with 0 before any use
 *   PTR_TO_MEM(_OR_NULL)   a ringbuf_reserve record of known size, an acquired reference
 *                          that must be submitted or discarded before exit
 *   PTR_TO_FUNC            a callback address (ld_imm64 BPF_PSEUDO_FUNC) for bpf_loop
 * Stack bytes are INVALID (never written), MISC (unknown), CONST (known byte) or part of a
 * register SPILL (8 bytes, or an aligned 1/2/4-byte part holding a scalar that fits), so
 * pointers, ranges and constants survive a trip through the stack.
 *
 * Exploration: the current state steps through instructions. A conditional jump whose
 * outcome the known values decide follows that arm only; this is how code that is dead
 * once constants are folded (libbpf's poisoned calls, branches on .rodata flags) is never
 * judged. Otherwise the taken arm is queued (states.c) with its registers narrowed to what
 * the condition implies, and the fall-through continues. A path ends at the exit of the
 * main program; then the next queued state is resumed. Bounded loops are simply unrolled:
 * each iteration is a new state, ended by a decided condition.
 *
 * Pruning: at jump targets and after branches (cfg.c's prune points) the state is compared
 * with those stored there. If one whose every continuation was already found safe contains
 * it (registers live from there on within its ranges, stack no less initialised, same
 * pointers), the path stops. Meeting an equal state that is still being explored is a loop
 * that makes no progress ("infinite loop detected"). Work is bounded by
 * VERIFIER_MAX_PROCESSED instructions and VERIFIER_MAX_PENDING queued branches (-E2BIG).
 *
 * Value tracking is deliberately small: unsigned ranges only. Signed comparisons refine a
 * range when it lies in one half of the signed space or the outcome selects one half
 * ("x s< 0" and "x s>= 0"); there are no bit-level (tnum) facts yet, so "x & ~63 == 0" does
 * not bound x (the kernel's tnum.c does; ours is the next stage, STYLE §2.9).
 *
 * Not checked yet (the full verifier's later stages): arguments of helpers without a
 * prototype in helpers.c; context field types and narrow-access rules (any read inside the
 * context size is an unknown number, no write is allowed); pointer leaks (we load as the
 * privileged tools do); uninitialised stack reads unless opts->strict_stack; alignment
 * outside the stack. kfuncs, BTF ids and LD_ABS/IND are
 * refused.
 *
 * bpf_loop callbacks run as calls (check_call.c): once from an entry view of the callers'
 * stacks that is widened until a run leaves them within it, so every iteration count is
 * covered (zero iterations is a queued path of its own).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "verifier_internal.h"

const char *verifier__reg_type_str(uint8_t type)
{
	static const char *const names[] = {
		[VREG_NOT_INIT] = "?",
		[VREG_SCALAR] = "scalar",
		[VREG_PTR_TO_CTX] = "ctx",
		[VREG_PTR_TO_STACK] = "fp",
		[VREG_CONST_PTR_TO_MAP] = "map_ptr",
		[VREG_PTR_TO_MAP_VALUE] = "map_value",
		[VREG_PTR_TO_MAP_VALUE_OR_NULL] = "map_value_or_null",
		[VREG_PTR_TO_MEM] = "mem",
		[VREG_PTR_TO_MEM_OR_NULL] = "mem_or_null",
		[VREG_PTR_TO_FUNC] = "func",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

int verifier__check_reg_read(const struct bpfi_verifier_env *env, uint32_t insn, uint32_t regno)
{
	if (env->facts)
		env->facts[insn].regs_read |= (uint16_t)(1u << regno);
	if (verifier__reg(env, regno)->type == VREG_NOT_INIT &&
	    !(verifier__test_weaken & VERIFIER_WEAKEN_REG_INIT))
		return verifier__reject(env, -EACCES, insn, "R%u !read_ok", regno);
	return 0;
}

static void trace_insn(const struct bpfi_verifier_env *env, uint32_t i)
{
	const struct bpf_insn *insn = &env->insns[i];
	const struct vframe *f = verifier__cur_frame(env);
	const struct vreg *d = &f->regs[insn->dst_reg];

	verifier__trace(env,
			"%u: (%02x) dst r%u src r%u off %d imm %d; frame %u; R%u=%s [%llu,%llu] "
			"off [%lld,%lld]\n",
			i, insn->code, insn->dst_reg, insn->src_reg, insn->off, insn->imm,
			env->cur->curframe, insn->dst_reg, verifier__reg_type_str(d->type),
			(unsigned long long)d->umin, (unsigned long long)d->umax,
			(long long)d->omin, (long long)d->omax);
}

/* The immediate as the source operand: sign-extended for 64-bit ops, zero-extended 32. */
static void imm_operand(struct vreg *r, int32_t imm, bool is64)
{
	bounds__set_const(r, is64 ? (uint64_t)(int64_t)imm : (uint64_t)(uint32_t)imm);
}

static bool is_ptr(const struct vreg *r)
{
	return r->type != VREG_SCALAR && r->type != VREG_NOT_INIT;
}

static uint64_t bswap_n(uint64_t v, int bits)
{
	uint64_t r = 0;
	int b;

	for (b = 0; b < bits / 8; b++)
		r = (r << 8) | ((v >> (8 * b)) & 0xff);
	return r;
}

/* BPF_END: to_le is a truncation on this little-endian host, to_be and bswap swap bytes. */
static int check_end(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn)
{
	struct vreg *d = verifier__reg(env, insn->dst_reg);
	bool swap = BPF_CLASS(insn->code) == BPF_ALU64 || BPF_SRC(insn->code) == BPF_TO_BE;
	uint64_t m = insn->imm == 64 ? UINT64_MAX : (1ULL << insn->imm) - 1;

	if (is_ptr(d))
		return verifier__reject(env, -EACCES, i, "R%u byte swap on pointer prohibited",
					insn->dst_reg);
	if (bounds__is_const(d))
		bounds__set_const(d, swap ? bswap_n(d->umin, insn->imm) : d->umin & m);
	else if (swap || d->umax > m)
		*d = (struct vreg){ .type = VREG_SCALAR, .umin = 0, .umax = m };
	return 0;
}

static int check_mov(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn)
{
	bool is64 = BPF_CLASS(insn->code) == BPF_ALU64;
	struct vreg *d = verifier__reg(env, insn->dst_reg), s;
	int err;

	if (BPF_SRC(insn->code) == BPF_K) {
		imm_operand(d, insn->imm, is64);
		return 0;
	}
	err = verifier__check_reg_read(env, i, insn->src_reg);
	if (err)
		return err;
	s = *verifier__reg(env, insn->src_reg);
	if (is64 && !insn->off) {
		*d = s; /* a pointer copy keeps its id, so a NULL check on either refines both */
		return 0;
	}
	if (is_ptr(&s)) {
		/* Part of a pointer is a number (allowed to privileged programs, as here). */
		*d = (struct vreg){ .type = VREG_SCALAR,
				    .umax = is64 ? UINT64_MAX : 0xffffffffULL };
		return 0;
	}
	bounds__set_unknown(d);
	bounds__alu(BPF_MOV, is64, d, &s, insn->off);
	return 0;
}

/* ptr +/- scalar: the offset range moves; kernel limits keep it far from wrapping. */
static int adjust_ptr(struct bpfi_verifier_env *env, uint32_t i, uint32_t regno, struct vreg *ptr,
		      const struct vreg *k, bool sub)
{
	const char *t = verifier__reg_type_str(ptr->type);
	int64_t lo, hi;

	switch (ptr->type) {
	case VREG_PTR_TO_CTX:
	case VREG_PTR_TO_STACK:
	case VREG_PTR_TO_MAP_VALUE:
	case VREG_PTR_TO_MEM:
		break;
	case VREG_PTR_TO_MAP_VALUE_OR_NULL:
	case VREG_PTR_TO_MEM_OR_NULL:
		return verifier__reject(
			env, -EACCES, i,
			"R%u pointer arithmetic on %s prohibited, null-check it first", regno, t);
	default:
		return verifier__reject(env, -EACCES, i, "R%u pointer arithmetic on %s prohibited",
					regno, t);
	}
	if (bounds__is_const(k)) {
		lo = hi = (int64_t)k->umin;
		if (lo < -VERIFIER_MAX_VAR_OFF || lo > VERIFIER_MAX_VAR_OFF)
			return verifier__reject(env, -EACCES, i,
						"R%u value %lld makes %s pointer be out of bounds",
						regno, (long long)lo, t);
	} else if (k->umax > (uint64_t)VERIFIER_MAX_VAR_OFF) {
		return verifier__reject(env, -EACCES, i,
					"R%u math between %s pointer and register with unbounded "
					"value is not allowed",
					regno, t);
	} else {
		lo = (int64_t)k->umin;
		hi = (int64_t)k->umax;
	}
	if (sub) {
		int64_t t0 = lo;

		lo = -hi;
		hi = -t0;
	}
	ptr->omin += lo;
	ptr->omax += hi;
	if (ptr->omin < -VERIFIER_MAX_VAR_OFF || ptr->omax > VERIFIER_MAX_VAR_OFF)
		return verifier__reject(env, -EACCES, i, "R%u %s pointer offset out of bounds",
					regno, t);
	return 0;
}

static const char *alu_op_str(uint8_t op)
{
	static const char *const names[] = { "+=",  "-=",  "*=", "/=", "|=", "&=",   "<<=",
					     ">>=", "neg", "%=", "^=", "=",  "s>>=", "endian" };

	return names[op >> 4];
}

/* An ALU operation with a pointer operand: only ptr +/- scalar and ptr - ptr make sense. */
static int check_ptr_alu(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn,
			 struct vreg *d, const struct vreg *s)
{
	uint8_t op = BPF_OP(insn->code);

	if (BPF_CLASS(insn->code) != BPF_ALU64)
		return verifier__reject(env, -EACCES, i, "R%u 32-bit pointer arithmetic prohibited",
					insn->dst_reg);
	if (is_ptr(d) && is_ptr(s)) {
		if (op != BPF_SUB || d->type != s->type)
			return verifier__reject(env, -EACCES, i,
						"R%u pointer %s pointer prohibited", insn->dst_reg,
						alu_op_str(op));
		bounds__set_unknown(d); /* a distance: a number */
		return 0;
	}
	if (op != BPF_ADD && op != BPF_SUB)
		return verifier__reject(env, -EACCES, i,
					"R%u pointer arithmetic with %s operator prohibited",
					insn->dst_reg, alu_op_str(op));
	if (is_ptr(d))
		return adjust_ptr(env, i, insn->dst_reg, d, s, op == BPF_SUB);
	if (op == BPF_SUB)
		return verifier__reject(env, -EACCES, i,
					"R%u tried to subtract pointer from scalar", insn->dst_reg);
	{
		struct vreg k = *d;

		*d = *s;
		return adjust_ptr(env, i, insn->dst_reg, d, &k, false);
	}
}

static int check_alu(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn)
{
	uint8_t op = BPF_OP(insn->code);
	bool is64 = BPF_CLASS(insn->code) == BPF_ALU64;
	struct vreg *d = verifier__reg(env, insn->dst_reg), s;
	int err;

	if (op == BPF_MOV)
		return check_mov(env, i, insn);
	err = verifier__check_reg_read(env, i, insn->dst_reg);
	if (err)
		return err;
	if (op == BPF_END)
		return check_end(env, i, insn);
	if (op == BPF_NEG) {
		if (is_ptr(d))
			return verifier__reject(env, -EACCES, i,
						"R%u pointer arithmetic with neg prohibited",
						insn->dst_reg);
		bounds__set_const(&s, 0);
	} else if (BPF_SRC(insn->code) == BPF_X) {
		err = verifier__check_reg_read(env, i, insn->src_reg);
		if (err)
			return err;
		s = *verifier__reg(env, insn->src_reg);
	} else {
		imm_operand(&s, insn->imm, is64);
	}
	if (is_ptr(d) || is_ptr(&s))
		return check_ptr_alu(env, i, insn, d, &s);
	bounds__alu(op, is64, d, &s, insn->off);
	return 0;
}

/* After "if ptr == 0": every copy of that maybe-NULL pointer is 0 or a valid pointer. */
static void mark_ptr_or_null(struct vstate *st, uint32_t id, bool is_null)
{
	uint32_t fi, r, k;

	for (fi = 0; fi <= st->curframe; fi++) {
		struct vframe *f = st->frames[fi];

		for (r = 0; r < MAX_BPF_REG + f->nslots; r++) {
			struct vreg *reg =
				r < MAX_BPF_REG ? &f->regs[r] : &f->slots[r - MAX_BPF_REG].spill;

			if (r >= MAX_BPF_REG &&
			    !verifier__slot_has_spill(&f->slots[r - MAX_BPF_REG]))
				continue;
			if ((reg->type != VREG_PTR_TO_MAP_VALUE_OR_NULL &&
			     reg->type != VREG_PTR_TO_MEM_OR_NULL) ||
			    reg->id != id)
				continue;
			if (is_null)
				bounds__set_const(reg, 0);
			else
				reg->type = reg->type == VREG_PTR_TO_MEM_OR_NULL
						    ? VREG_PTR_TO_MEM
						    : VREG_PTR_TO_MAP_VALUE;
		}
	}
	if (!is_null)
		return;
	/* A NULL record was never acquired: drop the reference. */
	for (k = 0; k < st->nrefs; k++) {
		if (st->refs[k].id != id)
			continue;
		st->refs[k] = st->refs[--st->nrefs];
		break;
	}
}

static bool is_or_null(const struct vreg *r)
{
	return r->type == VREG_PTR_TO_MAP_VALUE_OR_NULL || r->type == VREG_PTR_TO_MEM_OR_NULL;
}

static bool is_zero(const struct vreg *r)
{
	return bounds__is_const(r) && r->umin == 0;
}

static struct vreg *state_reg(struct vstate *st, uint32_t regno)
{
	return &st->frames[st->curframe]->regs[regno];
}

/* A NULL check "if rX ==/!= 0": both arms, with the pointer's copies marked in each. */
static int null_check(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn,
		      uint32_t id)
{
	uint32_t target = i + 1 + (uint32_t)(int32_t)insn->off;
	bool eq = BPF_OP(insn->code) == BPF_JEQ;
	struct vstate *other;
	int err = states__push(env, target, &other);

	if (err)
		return err;
	mark_ptr_or_null(other, id, eq);
	mark_ptr_or_null(env->cur, id, !eq);
	env->cur->insn_idx = i + 1;
	return 0;
}

/* Both arms of a comparison, each with its operands narrowed, unless the values decide. */
static int check_cond_jmp(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn)
{
	uint8_t op = BPF_OP(insn->code);
	bool is64 = BPF_CLASS(insn->code) == BPF_JMP, x = BPF_SRC(insn->code) == BPF_X;
	uint32_t target = i + 1 + (uint32_t)(int32_t)insn->off;
	struct vreg *d, s, *sp = NULL;
	struct vstate *other;
	int err, taken = -1;

	err = verifier__check_reg_read(env, i, insn->dst_reg);
	if (!err && x)
		err = verifier__check_reg_read(env, i, insn->src_reg);
	if (err)
		return err;
	d = verifier__reg(env, insn->dst_reg);
	if (x) {
		sp = verifier__reg(env, insn->src_reg);
		s = *sp;
	} else {
		imm_operand(&s, insn->imm, is64);
	}
	if (is64 && (op == BPF_JEQ || op == BPF_JNE)) {
		if (is_or_null(d) && is_zero(&s))
			return null_check(env, i, insn, d->id);
		if (x && is_or_null(&s) && is_zero(d))
			return null_check(env, i, insn, s.id);
		/* A valid pointer is never NULL. */
		if ((is_ptr(d) && is_zero(&s)) || (is_ptr(&s) && is_zero(d)))
			taken = op == BPF_JNE;
	}
	if (d->type == VREG_SCALAR && s.type == VREG_SCALAR)
		taken = bounds__branch_taken(op, is64, d, &s);
	if (taken >= 0) {
		verifier__trace(env, "%u: branch %s\n", i, taken ? "always taken" : "never taken");
		env->cur->insn_idx = taken ? target : i + 1;
		return 0;
	}
	err = states__push(env, target, &other);
	if (err)
		return err;
	if (d->type == VREG_SCALAR && s.type == VREG_SCALAR) {
		struct vreg so = s;

		bounds__refine(op, is64, true, state_reg(other, insn->dst_reg),
			       x ? state_reg(other, insn->src_reg) : &so);
		bounds__refine(op, is64, false, d, sp ? sp : &s);
	}
	env->cur->insn_idx = i + 1;
	return 0;
}

static int check_ldimm64(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn)
{
	struct vreg *d = verifier__reg(env, insn->dst_reg);
	const struct insn_aux *aux = &env->aux[i];

	switch (insn->src_reg) {
	case BPF_PSEUDO_MAP_FD:
		*d = (struct vreg){ .type = VREG_CONST_PTR_TO_MAP, .map = aux->map };
		break;
	case BPF_PSEUDO_MAP_VALUE:
		*d = (struct vreg){ .type = VREG_PTR_TO_MAP_VALUE, .map = aux->map };
		d->omin = d->omax = (uint32_t)insn[1].imm;
		verifier__note_ret(env, i, d);
		break;
	case BPF_PSEUDO_FUNC:
		*d = (struct vreg){ .type = VREG_PTR_TO_FUNC, .mem_size = i + 1 + insn->imm };
		break;
	default:
		bounds__set_const(d, (uint32_t)insn->imm | ((uint64_t)(uint32_t)insn[1].imm << 32));
		break;
	}
	env->cur->insn_idx = i + 2;
	return 0;
}

/* One instruction of the current state; sets the next insn or ends the path. */
static int do_insn(struct bpfi_verifier_env *env, uint32_t i, bool *ret_end)
{
	const struct bpf_insn *insn = &env->insns[i];
	int err;

	switch (BPF_CLASS(insn->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		err = check_alu(env, i, insn);
		break;
	case BPF_LDX:
		err = verifier__check_load(env, i, insn);
		break;
	case BPF_ST:
		err = verifier__check_store(env, i, insn);
		break;
	case BPF_STX:
		err = BPF_MODE(insn->code) == BPF_ATOMIC ? verifier__check_atomic(env, i, insn)
							 : verifier__check_store(env, i, insn);
		break;
	case BPF_LD:
		return check_ldimm64(env, i, insn);
	default: /* JMP, JMP32 */
		switch (BPF_OP(insn->code)) {
		case BPF_JA:
			env->cur->insn_idx =
				i + 1 +
				(uint32_t)(BPF_CLASS(insn->code) == BPF_JMP32 ? insn->imm
									      : insn->off);
			return 0;
		case BPF_CALL:
			return verifier__check_call(env, i, insn);
		case BPF_EXIT:
			return verifier__check_exit(env, i, ret_end);
		default:
			return check_cond_jmp(env, i, insn);
		}
	}
	if (!err)
		env->cur->insn_idx = i + 1;
	return err;
}

static int init_state(struct bpfi_verifier_env *env)
{
	struct vstate *st = states__alloc();
	struct vframe *f = calloc(1, sizeof(*f));

	env->call_edges = calloc((size_t)env->subprog_cnt * env->subprog_cnt, 1);
	if (!st || !f || !env->call_edges) {
		free(st);
		free(f);
		return verifier__reject(env, -ENOMEM, 0, "out of memory");
	}
	f->regs[BPFI_REG_1].type = VREG_PTR_TO_CTX;
	f->regs[BPFI_REG_10].type = VREG_PTR_TO_STACK;
	st->frames[0] = f;
	env->cur = st;
	return 0;
}

int verifier__do_check(struct bpfi_verifier_env *env)
{
	int err = init_state(env);

	while (!err) {
		uint32_t i = env->cur->insn_idx;
		bool end = false;

		if (++env->insn_processed > VERIFIER_MAX_PROCESSED)
			return verifier__reject(env, -E2BIG, i,
						"BPF program is too large. Processed %u insn",
						VERIFIER_MAX_PROCESSED);
		if (i >= env->insn_cnt || (env->aux[i].flags & AUX_LDIMM_SECOND))
			return verifier__reject(env, -EFAULT, i, "bug: path left the program");
		err = states__is_visited(env, i, &end);
		if (err)
			return err;
		if (end) {
			verifier__trace(env, "%u: safe (pruned)\n", i);
		} else {
			env->aux[i].flags |= AUX_EXECUTED;
			if (env->trace)
				trace_insn(env, i);
			err = do_insn(env, i, &end);
			if (err)
				return err;
		}
		if (!end)
			continue;
		states__path_done(env);
		if (states__pop(env))
			break;
		verifier__trace(env, "from queue: resume at insn %u\n", env->cur->insn_idx);
	}
	return err;
}
