// SPDX-License-Identifier: MIT
/*
 * Scalar value ranges: a pure value module (no env, no allocation), like the kernel's tnum.c
 * and the min/max part of its verifier. A scalar is the unsigned range [umin, umax]; a known
 * constant has umin == umax. 32-bit operations work on the low half and zero-extend.
 */
#include "common/compiler.h"
#include "verifier_internal.h"

#define U32_MASK    0xffffffffULL
#define S64_MIN_BIT (1ULL << 63)

struct range {
	uint64_t lo, hi;
};

void bounds__set_const(struct vreg *r, uint64_t v)
{
	*r = (struct vreg){ .type = VREG_SCALAR, .umin = v, .umax = v };
}

void bounds__set_unknown(struct vreg *r)
{
	*r = (struct vreg){ .type = VREG_SCALAR, .umin = 0, .umax = UINT64_MAX };
}

bool bounds__is_const(const struct vreg *r)
{
	return r->type == VREG_SCALAR && r->umin == r->umax;
}

static uint64_t width_max(bool is64)
{
	return is64 ? UINT64_MAX : U32_MASK;
}

/* The low 32 bits of every value in [lo, hi], as a range: exact when the high halves agree. */
static struct range trunc32(uint64_t lo, uint64_t hi)
{
	if ((lo >> 32) == (hi >> 32))
		return (struct range){ lo & U32_MASK, hi & U32_MASK };
	return (struct range){ 0, U32_MASK };
}

static struct range view(const struct vreg *r, bool is64)
{
	return is64 ? (struct range){ r->umin, r->umax } : trunc32(r->umin, r->umax);
}

/* All ones up to the highest set bit of @x (OR/XOR results never exceed it). */
static uint64_t fill_mask(uint64_t x)
{
	x |= x >> 1;
	x |= x >> 2;
	x |= x >> 4;
	x |= x >> 8;
	x |= x >> 16;
	x |= x >> 32;
	return x;
}

static int64_t sext(uint64_t v, unsigned bits)
{
	uint64_t m = 1ULL << (bits - 1);

	v &= bits == 64 ? UINT64_MAX : (1ULL << bits) - 1;
	return (int64_t)((v ^ m) - m);
}

/* Signed division and modulo as RFC 9669 defines them (no C undefined behaviour). */
static uint64_t sdivmod(bool is_mod, bool is64, uint64_t a, uint64_t b)
{
	int64_t x = sext(a, is64 ? 64 : 32), y = sext(b, is64 ? 64 : 32);

	if (y == 0)
		return is_mod ? a : 0;
	if (y == -1)
		return is_mod ? 0 : (uint64_t)0 - (uint64_t)x;
	return is_mod ? (uint64_t)(x % y) : (uint64_t)(x / y);
}

/* The exact result of an ALU operation on known values (the interpreter's semantics). */
uint64_t bounds__alu_const(uint8_t op, bool is64, uint64_t a, uint64_t b, int16_t off)
{
	uint64_t m = width_max(is64), r;
	unsigned sh = (unsigned)(b & (is64 ? 63 : 31));

	a &= m;
	b &= m;
	switch (op) {
	case BPF_ADD:
		r = a + b;
		break;
	case BPF_SUB:
		r = a - b;
		break;
	case BPF_MUL:
		r = a * b;
		break;
	case BPF_DIV:
		r = off ? sdivmod(false, is64, a, b) : (b ? a / b : 0);
		break;
	case BPF_MOD:
		r = off ? sdivmod(true, is64, a, b) : (b ? a % b : a);
		break;
	case BPF_OR:
		r = a | b;
		break;
	case BPF_AND:
		r = a & b;
		break;
	case BPF_XOR:
		r = a ^ b;
		break;
	case BPF_LSH:
		r = a << sh;
		break;
	case BPF_RSH:
		r = a >> sh;
		break;
	case BPF_ARSH:
		r = is64 ? (uint64_t)(sext(a, 64) >> sh) : (uint64_t)(sext(a, 32) >> sh);
		break;
	case BPF_NEG:
		r = (uint64_t)0 - a;
		break;
	case BPF_MOV:
		r = off ? (uint64_t)sext(b, (unsigned)off) : b;
		break;
	default:
		r = 0;
		break;
	}
	return r & m;
}

static void set_range(struct vreg *r, uint64_t lo, uint64_t hi)
{
	*r = (struct vreg){ .type = VREG_SCALAR, .umin = lo, .umax = hi };
}

/* [a] + [b] or [a] - [b] at @is64 width: exact unless the ends wrap differently. */
static struct range add_sub(bool sub, bool is64, struct range a, struct range b)
{
	struct range r;
	bool wl, wh;

	if (sub) {
		r.lo = a.lo - b.hi;
		r.hi = a.hi - b.lo;
		wl = a.lo < b.hi;
		wh = a.hi < b.lo;
	} else {
		r.lo = a.lo + b.lo;
		r.hi = a.hi + b.hi;
		wl = r.lo < a.lo;
		wh = r.hi < a.hi;
	}
	if (is64)
		return wl == wh ? r : (struct range){ 0, UINT64_MAX };
	/* 32-bit inputs: the true result fits in 64 bits, so the sign of the ends tells. */
	if (sub && wl != wh)
		return (struct range){ 0, U32_MASK };
	return trunc32(r.lo, r.hi);
}

/* The range of an ALU result on ranges @d and @s (non-constant: the caller folded those). */
static struct range alu_range(uint8_t op, bool is64, struct range d, struct range s, int16_t off)
{
	uint64_t m = width_max(is64);
	unsigned bits = is64 ? 64 : 32;

	switch (op) {
	case BPF_ADD:
	case BPF_SUB:
		return add_sub(op == BPF_SUB, is64, d, s);
	case BPF_MUL:
		if (d.hi && s.hi > m / d.hi)
			return (struct range){ 0, m };
		return (struct range){ d.lo * s.lo, d.hi * s.hi };
	case BPF_DIV:
		if (off)
			return (struct range){ 0, m };
		return s.lo ? (struct range){ d.lo / s.hi, d.hi / s.lo }
			    : (struct range){ 0, d.hi };
	case BPF_MOD:
		if (off)
			return (struct range){ 0, m };
		return s.lo ? (struct range){ 0, BPFI_MIN(d.hi, s.hi - 1) }
			    : (struct range){ 0, d.hi };
	case BPF_AND:
		return (struct range){ 0, BPFI_MIN(d.hi, s.hi) };
	case BPF_OR:
		return (struct range){ BPFI_MAX(d.lo, s.lo), fill_mask(BPFI_MAX(d.hi, s.hi)) };
	case BPF_XOR:
		return (struct range){ 0, fill_mask(BPFI_MAX(d.hi, s.hi)) };
	case BPF_LSH:
		if (s.lo != s.hi || s.lo >= bits || d.hi > (m >> s.lo))
			return (struct range){ 0, m };
		return (struct range){ d.lo << s.lo, d.hi << s.lo };
	case BPF_RSH:
		if (s.lo != s.hi || s.lo >= bits)
			return (struct range){ 0, d.hi };
		return (struct range){ d.lo >> s.lo, d.hi >> s.lo };
	case BPF_ARSH:
		/* Non-negative values shift like RSH. */
		if (d.hi > (m >> 1))
			return (struct range){ 0, m };
		return alu_range(BPF_RSH, is64, d, s, 0);
	case BPF_MOV:
		if (off && s.hi >= (1ULL << (off - 1)))
			return (struct range){ 0, m };
		return s;
	default: /* NEG */
		return (struct range){ 0, m };
	}
}

/*
 * dst = dst OP src on scalars (src already holds the immediate for BPF_K). Sets @dst to the
 * result: a constant when both inputs are, else a sound range.
 */
void bounds__alu(uint8_t op, bool is64, struct vreg *dst, const struct vreg *src, int16_t off)
{
	struct range d = view(dst, is64), s = view(src, is64), r;

	if (s.lo == s.hi && (op == BPF_MOV || d.lo == d.hi)) {
		bounds__set_const(dst, bounds__alu_const(op, is64, d.lo, s.lo, off));
		return;
	}
	if (op == BPF_MOD || op == BPF_DIV || op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) {
		/* Shift amounts are taken modulo the width, as RFC 9669 says. */
		if ((op != BPF_MOD && op != BPF_DIV) && s.lo == s.hi)
			s.lo = s.hi = s.lo & (is64 ? 63 : 31);
	}
	r = alu_range(op, is64, d, s, off);
	if (!is64 && r.hi > U32_MASK)
		r = trunc32(r.lo, r.hi);
	set_range(dst, r.lo, r.hi);
}

/* Signed order as unsigned order: flip the sign bit; a range crossing it becomes everything. */
static struct range flip(struct range r, bool is64)
{
	uint64_t sb = is64 ? S64_MIN_BIT : (1ULL << 31);

	if (r.lo < sb && r.hi >= sb)
		return (struct range){ 0, width_max(is64) };
	return (struct range){ r.lo ^ sb, r.hi ^ sb };
}

static bool is_signed_op(uint8_t op)
{
	return op == BPF_JSGT || op == BPF_JSGE || op == BPF_JSLT || op == BPF_JSLE;
}

/* JS* -> J* on flipped values; JLT/JLE -> JGT/JGE with the operands swapped. */
static uint8_t unsigned_op(uint8_t op)
{
	switch (op) {
	case BPF_JSGT:
		return BPF_JGT;
	case BPF_JSGE:
		return BPF_JGE;
	case BPF_JSLT:
		return BPF_JLT;
	case BPF_JSLE:
		return BPF_JLE;
	default:
		return op;
	}
}

static int taken_unsigned(uint8_t op, struct range a, struct range b)
{
	switch (op) {
	case BPF_JEQ:
		if (a.lo == a.hi && b.lo == b.hi && a.lo == b.lo)
			return 1;
		return (a.hi < b.lo || b.hi < a.lo) ? 0 : -1;
	case BPF_JNE: {
		int t = taken_unsigned(BPF_JEQ, a, b);

		return t < 0 ? t : !t;
	}
	case BPF_JGT:
		return a.lo > b.hi ? 1 : (a.hi <= b.lo ? 0 : -1);
	case BPF_JGE:
		return a.lo >= b.hi ? 1 : (a.hi < b.lo ? 0 : -1);
	case BPF_JLT:
		return taken_unsigned(BPF_JGT, b, a);
	case BPF_JLE:
		return taken_unsigned(BPF_JGE, b, a);
	case BPF_JSET:
		if (a.lo == a.hi && b.lo == b.hi)
			return (a.lo & b.lo) != 0;
		return (a.hi == 0 || b.hi == 0) ? 0 : -1;
	default:
		return -1;
	}
}

/* 1: the branch is always taken, 0: never, -1: depends on values not known. */
int bounds__branch_taken(uint8_t op, bool is64, const struct vreg *a, const struct vreg *b)
{
	struct range ra = view(a, is64), rb = view(b, is64);

	if (is_signed_op(op)) {
		ra = flip(ra, is64);
		rb = flip(rb, is64);
	}
	return taken_unsigned(unsigned_op(op), ra, rb);
}

static uint8_t negate(uint8_t op)
{
	switch (op) {
	case BPF_JEQ:
		return BPF_JNE;
	case BPF_JNE:
		return BPF_JEQ;
	case BPF_JGT:
		return BPF_JLE;
	case BPF_JLE:
		return BPF_JGT;
	case BPF_JGE:
		return BPF_JLT;
	case BPF_JLT:
		return BPF_JGE;
	case BPF_JSGT:
		return BPF_JSLE;
	case BPF_JSLE:
		return BPF_JSGT;
	case BPF_JSGE:
		return BPF_JSLT;
	case BPF_JSLT:
		return BPF_JSGE;
	default:
		return 0; /* JSET: nothing to learn */
	}
}

/* a > b (strict) or a >= b: raise a's floor, lower b's ceiling. */
static void refine_gt(struct range *a, struct range *b, bool strict)
{
	uint64_t k = strict ? 1 : 0;

	if (b->lo + k > a->lo && b->lo + k >= b->lo)
		a->lo = b->lo + k;
	if (a->hi >= k && a->hi - k < b->hi)
		b->hi = a->hi - k;
}

static void refine_unsigned(uint8_t op, struct range *a, struct range *b)
{
	switch (op) {
	case BPF_JEQ:
		a->lo = b->lo = BPFI_MAX(a->lo, b->lo);
		a->hi = b->hi = BPFI_MIN(a->hi, b->hi);
		break;
	case BPF_JNE:
		if (b->lo == b->hi && a->lo == b->lo && a->lo < a->hi)
			a->lo++;
		else if (b->lo == b->hi && a->hi == b->lo && a->lo < a->hi)
			a->hi--;
		break;
	case BPF_JGT:
		refine_gt(a, b, true);
		break;
	case BPF_JGE:
		refine_gt(a, b, false);
		break;
	case BPF_JLT:
		refine_gt(b, a, true);
		break;
	case BPF_JLE:
		refine_gt(b, a, false);
		break;
	default:
		break;
	}
}

/* Writes a refined view back when the register's value is exactly that view. */
static void store_view(struct vreg *r, struct range v, bool is64)
{
	if (!is64 && r->umax > U32_MASK)
		return; /* the high half is unknown: the low half does not bound the value */
	if (v.lo > v.hi)
		return; /* impossible arm: leave it, it will not matter */
	r->umin = v.lo;
	r->umax = v.hi;
}

static bool crosses(struct range r, bool is64)
{
	uint64_t sb = is64 ? S64_MIN_BIT : (1ULL << 31);

	return r.lo < sb && r.hi >= sb;
}

/*
 * @r crosses the sign boundary: in signed order it is two pieces, the negative values
 * [0, hi ^ sb] and the non-negative ones [lo ^ sb, max] (flipped). When the comparison with
 * @fo (the other operand, flipped) leaves values in one piece only, that piece is a plain
 * unsigned range again. @left: @r is the left operand of @op (JGT/JGE/JLT/JLE after mapping).
 */
static void refine_crossing(uint8_t op, bool left, struct range fo, bool is64, struct range *r)
{
	uint64_t sb = is64 ? S64_MIN_BIT : (1ULL << 31), mw = width_max(is64);
	struct range want, neg = { 0, r->hi ^ sb }, pos = { r->lo ^ sb, mw };
	bool lower; /* the outcome bounds @r from below (else from above) */

	if (!left)
		op = op == BPF_JGT   ? BPF_JLT
		     : op == BPF_JGE ? BPF_JLE
		     : op == BPF_JLT ? BPF_JGT
				     : BPF_JGE;
	lower = op == BPF_JGT || op == BPF_JGE;
	if (lower) {
		if (op == BPF_JGT && fo.lo == mw)
			return;
		want = (struct range){ fo.lo + (op == BPF_JGT), mw };
	} else {
		if (op == BPF_JLT && fo.hi == 0)
			return;
		want = (struct range){ 0, fo.hi - (op == BPF_JLT) };
	}
	/* Keep the one piece that meets @want, if only one does. */
	if (want.lo > neg.hi)
		*r = (struct range){ BPFI_MAX(pos.lo, want.lo) ^ sb,
				     BPFI_MIN(pos.hi, want.hi) ^ sb };
	else if (want.hi < pos.lo)
		*r = (struct range){ BPFI_MAX(neg.lo, want.lo) ^ sb,
				     BPFI_MIN(neg.hi, want.hi) ^ sb };
}

/*
 * Narrows scalars @a and @b (@b may be a temporary holding an immediate) to the values for
 * which the comparison has outcome @taken.
 */
void bounds__refine(uint8_t op, bool is64, bool taken, struct vreg *a, struct vreg *b)
{
	struct range ra = view(a, is64), rb = view(b, is64);
	bool sgn;

	if (!taken)
		op = negate(op);
	if (!op || op == BPF_JSET)
		return;
	sgn = is_signed_op(op);
	if (sgn) {
		uint64_t sb = is64 ? S64_MIN_BIT : (1ULL << 31);
		struct range fa = flip(ra, is64), fb = flip(rb, is64);
		bool ca = crosses(ra, is64), cb = crosses(rb, is64);

		if (ca || cb) {
			/* One side may still fall into one half: "x s< 0" or "x s>= 0". */
			if (ca && !cb)
				refine_crossing(unsigned_op(op), true, fb, is64, &ra);
			if (cb && !ca)
				refine_crossing(unsigned_op(op), false, fa, is64, &rb);
			store_view(a, ra, is64);
			store_view(b, rb, is64);
			return;
		}
		refine_unsigned(unsigned_op(op), &fa, &fb);
		ra = (struct range){ fa.lo ^ sb, fa.hi ^ sb };
		rb = (struct range){ fb.lo ^ sb, fb.hi ^ sb };
	} else {
		refine_unsigned(op, &ra, &rb);
	}
	store_view(a, ra, is64);
	store_view(b, rb, is64);
}
