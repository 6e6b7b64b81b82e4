// SPDX-License-Identifier: MIT
/*
 * The eBPF interpreter (RFC 9669, cpu v1-v4). Freestanding: the stub carries this same file.
 * It trusts the program's memory accesses (the verifier checks them) but checks control flow.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/helpers.h>
#include <bpfinject/insn.h>
#include <bpfinject/jit.h>
#include <bpfinject/sys.h>

/*
 * Theory of operation.
 *
 * One struct interp holds the whole machine: registers, the current program (a tail call
 * swaps it), the call frames and one BPFI_STACK_SIZE stack per frame. It lives on the C stack
 * of bpfi_interp_run(), so the interpreter has no state of its own (the stub has no writable
 * globals). run() executes from vm->pc until the frame it was entered at exits; bpf-to-bpf
 * calls and their exits only move vm->depth, so they cost no C recursion. bpf_loop is the one
 * place that recurses: its callback runs as a frame of its own through a nested run(), so C
 * recursion is bounded by INTERP_MAX_FRAMES too.
 *
 * A tail call replaces the current frame only: from a subprogram, the target's main program
 * runs one frame down and returns to the subprogram's caller, whose frame stays. So each
 * program gets BPFI_MAX_CALL_FRAMES from where its main runs (vm->base), and a run has room
 * for one more frame per tail call: the check allows tail calls from the main program and its
 * direct subprograms only, so 33 tail calls move the base at most 33 frames down.
 *
 * Control flow is never trusted: every instruction fetch checks pc < insn_cnt (so a jump out
 * of range, a call past the end and falling off the end all stop there), jumps into the
 * second slot of an ld_imm64 meet opcode 0, which is invalid, and the register fields (4 bits)
 * index a 16-slot array, so r11-r15 are harmless (the verifier rejects them). Fields that RFC
 * 9669 requires to be zero (off of most ALU ops, src of K forms) are the verifier's to check
 * too; they are ignored here, except where they select an operation (sdiv/smod, movsx).
 *
 * Checked builds (tests/checked_interp.c) define INTERP_CHECK_INSN and INTERP_CHECK_RETURN
 * and include this file: the first sees each instruction before it runs, the second each
 * helper's return. Without them (the stub, the runtime) they cost nothing.
 *
 * Memory is accessed byte by byte in little-endian order: that is defined for any alignment
 * and aliasing, and gcc and clang turn it back into single loads and stores at -O2.
 * Arithmetic is on unsigned types; signed operations go through explicit sign handling.
 */

/* Kernel helper ids the interpreter implements itself, since they change control flow. */
#define INTERP_FUNC_TAIL_CALL 12
#define INTERP_FUNC_LOOP      181
/* bpf_loop refuses more iterations than this (the kernel's BPF_MAX_LOOPS). */
#define INTERP_MAX_LOOPS (1u << 23)

/* run() result: the conformance "unwind" helper asked to stop the whole program. */
#define INTERP_STOP 1

#define INTERP_NR_REGS	 16
#define INTERP_STACK_U64 (BPFI_STACK_SIZE / 8)
/* Frames of one run: a program's own, plus one per tail call (41 stacks, 21 KiB). */
#define INTERP_MAX_FRAMES (BPFI_MAX_CALL_FRAMES + BPFI_MAX_TAIL_CALLS)

/* What a call saves to be restored by the matching exit: where to return and r6-r9. */
struct interp_frame {
	const struct bpf_insn *insns;
	uint32_t insn_cnt;
	uint32_t ret_pc;
	uint32_t base; /* the caller's vm->base */
	uint64_t callee_saved[4];
};

struct interp {
	uint64_t reg[INTERP_NR_REGS];
	const struct bpf_insn *insns; /* the running program: changes on tail calls */
	uint32_t insn_cnt;
	uint32_t pc;
	uint32_t depth; /* current frame, 0 for the main program */
	uint32_t base; /* frame the running program's main runs in (moved by tail calls) */
	uint32_t tail_calls;
	const struct bpfi_env *env;
	struct interp_frame frames[INTERP_MAX_FRAMES]; /* frames[d]: saved by the call into d */
	uint64_t stack[INTERP_MAX_FRAMES][INTERP_STACK_U64];
};

static int run(struct interp *vm, uint32_t base);

/* r10 of frame @depth: one past the end of its stack (the stack grows down). */
static inline uint64_t frame_pointer(struct interp *vm, uint32_t depth)
{
	return (uint64_t)(uintptr_t)(vm->stack[depth] + INTERP_STACK_U64);
}

/* ---- values ---------------------------------------------------------------------------- */

/* Sign-extends the low @bits bits of @x to 64 bits, without signed overflow. */
static inline uint64_t sext(uint64_t x, unsigned bits)
{
	const uint64_t sign = 1ull << (bits - 1);
	const uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;

	return ((x & mask) ^ sign) - sign;
}

/* Arithmetic right shifts: C leaves >> of a negative value implementation-defined. */
static inline uint64_t arsh64(uint64_t x, unsigned n)
{
	const uint64_t fill = 0 - (x >> 63);

	return (x >> n) | (fill << (63 - n) << 1);
}

static inline uint32_t arsh32(uint32_t x, unsigned n)
{
	const uint32_t fill = 0 - (x >> 31);

	return (x >> n) | (fill << (31 - n) << 1);
}

static inline uint64_t bswap16(uint64_t x)
{
	return ((x >> 8) & 0xff) | ((x & 0xff) << 8);
}

static inline uint64_t bswap32(uint64_t x)
{
	return ((x >> 24) & 0xff) | ((x >> 8) & 0xff00) | ((x & 0xff00) << 8) | ((x & 0xff) << 24);
}

static inline uint64_t bswap64(uint64_t x)
{
	return bswap32(x >> 32) | bswap32(x & 0xffffffff) << 32;
}

/*
 * Signed 64-bit division and remainder on two's complement bit patterns (RFC 9669 sdiv/smod):
 * truncation toward zero, the remainder takes the dividend's sign. x / -1 is negation, which
 * also gives INT64_MIN / -1 = INT64_MIN and INT64_MIN % -1 = 0 without overflow.
 */
static uint64_t sdiv64(uint64_t a, uint64_t b)
{
	const bool neg_a = a >> 63, neg_b = b >> 63;
	uint64_t q;

	if (!b)
		return 0;
	q = (neg_a ? 0 - a : a) / (neg_b ? 0 - b : b);
	return neg_a != neg_b ? 0 - q : q;
}

static uint64_t smod64(uint64_t a, uint64_t b)
{
	const bool neg_a = a >> 63;
	uint64_t r;

	if (!b)
		return a;
	r = (neg_a ? 0 - a : a) % (b >> 63 ? 0 - b : b);
	return neg_a ? 0 - r : r;
}

/*
 * BPF_DIV and BPF_MOD, both widths and operand forms; off 1 selects the signed forms (v4).
 * By zero: div gives 0, mod leaves dst (truncated to 32 bits for ALU). Returns false for an
 * invalid off.
 */
static bool alu_divmod(const struct bpf_insn *in, uint64_t *reg)
{
	const bool is64 = BPF_CLASS(in->code) == BPF_ALU64;
	const bool is_div = BPF_OP(in->code) == BPF_DIV;
	uint64_t a = reg[in->dst_reg];
	uint64_t b = BPF_SRC(in->code) == BPF_X ? reg[in->src_reg] : (uint64_t)(int64_t)in->imm;

	if (in->off != 0 && in->off != 1)
		return false;
	if (!is64) {
		a = in->off ? sext(a, 32) : (uint32_t)a;
		b = in->off ? sext(b, 32) : (uint32_t)b;
	}
	if (in->off)
		a = is_div ? sdiv64(a, b) : smod64(a, b);
	else if (is_div)
		a = b ? a / b : 0;
	else
		a = b ? a % b : a;
	reg[in->dst_reg] = is64 ? a : (uint32_t)a;
	return true;
}

/* BPF_MOV with off 8/16/32: movsx (v4). ALU sign-extends into 32 bits, then zero-extends. */
static bool alu_movsx(const struct bpf_insn *in, uint64_t *reg)
{
	const bool is64 = BPF_CLASS(in->code) == BPF_ALU64;
	uint64_t v;

	if (in->off != 8 && in->off != 16 && (in->off != 32 || !is64))
		return false;
	v = sext(reg[in->src_reg], (unsigned)in->off);
	reg[in->dst_reg] = is64 ? v : (uint32_t)v;
	return true;
}

/*
 * BPF_END. ALU: to little endian truncates (the host is little endian), to big endian swaps.
 * ALU64 (v4): bswap whatever the host. imm is the width: 16, 32 or 64.
 */
static bool alu_end(const struct bpf_insn *in, uint64_t *reg)
{
	const bool swap = BPF_CLASS(in->code) == BPF_ALU64 || BPF_SRC(in->code) == BPF_TO_BE;
	uint64_t v = reg[in->dst_reg];

	switch (in->imm) {
	case 16:
		v = swap ? bswap16(v) : v & 0xffff;
		break;
	case 32:
		v = swap ? bswap32(v) : v & 0xffffffff;
		break;
	case 64:
		v = swap ? bswap64(v) : v;
		break;
	default:
		return false;
	}
	reg[in->dst_reg] = v;
	return true;
}

/* ---- memory ------------------------------------------------------------------------------ */

static inline unsigned char *mem_at(uint64_t base, int16_t off)
{
	return (unsigned char *)(uintptr_t)(base + (uint64_t)(int64_t)off);
}

static inline uint64_t load16(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8;
}

static inline uint64_t load32(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
}

static inline uint64_t load64(const unsigned char *p)
{
	return load32(p) | load32(p + 4) << 32;
}

static inline void store16(unsigned char *p, uint64_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void store32(unsigned char *p, uint64_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static inline void store64(unsigned char *p, uint64_t v)
{
	store32(p, v);
	store32(p + 4, v >> 32);
}

/*
 * BPF_STX | BPF_ATOMIC on a uint32_t or uint64_t. Maps are shared between processes, so these
 * are real lock-prefixed operations; the kernel makes the fetch forms and xchg/cmpxchg full
 * barriers, and we use sequential consistency for all of them. The old value of a FETCH form
 * goes to src, cmpxchg's to r0, zero-extended. Returns false for an unknown operation in imm.
 */
#define DEFINE_ATOMIC_OP(name, type)                                                     \
	static bool name(type *m, const struct bpf_insn *in, uint64_t *reg)              \
	{                                                                                \
		const type v = (type)reg[in->src_reg];                                   \
		type old;                                                                \
                                                                                         \
		switch (in->imm) {                                                       \
		case BPF_ADD:                                                            \
		case BPF_ADD | BPF_FETCH:                                                \
			old = __atomic_fetch_add(m, v, __ATOMIC_SEQ_CST);                \
			break;                                                           \
		case BPF_OR:                                                             \
		case BPF_OR | BPF_FETCH:                                                 \
			old = __atomic_fetch_or(m, v, __ATOMIC_SEQ_CST);                 \
			break;                                                           \
		case BPF_AND:                                                            \
		case BPF_AND | BPF_FETCH:                                                \
			old = __atomic_fetch_and(m, v, __ATOMIC_SEQ_CST);                \
			break;                                                           \
		case BPF_XOR:                                                            \
		case BPF_XOR | BPF_FETCH:                                                \
			old = __atomic_fetch_xor(m, v, __ATOMIC_SEQ_CST);                \
			break;                                                           \
		case BPF_XCHG:                                                           \
			old = __atomic_exchange_n(m, v, __ATOMIC_SEQ_CST);               \
			break;                                                           \
		case BPF_CMPXCHG:                                                        \
			/* On failure the builtin stores the value it found into old. */ \
			old = (type)reg[BPFI_REG_0];                                     \
			__atomic_compare_exchange_n(m, &old, v, false, __ATOMIC_SEQ_CST, \
						    __ATOMIC_SEQ_CST);                   \
			reg[BPFI_REG_0] = old;                                           \
			return true;                                                     \
		default:                                                                 \
			return false;                                                    \
		}                                                                        \
		if (in->imm & BPF_FETCH)                                                 \
			reg[in->src_reg] = old;                                          \
		return true;                                                             \
	}

DEFINE_ATOMIC_OP(atomic_op32, uint32_t)
DEFINE_ATOMIC_OP(atomic_op64, uint64_t)

static bool atomic_op(const struct bpf_insn *in, uint64_t *reg)
{
	const uint64_t addr = reg[in->dst_reg] + (uint64_t)(int64_t)in->off;

	if (BPF_SIZE(in->code) == BPF_DW)
		return atomic_op64((uint64_t *)(uintptr_t)addr, in, reg);
	return atomic_op32((uint32_t *)(uintptr_t)addr, in, reg);
}

/* ---- calls ------------------------------------------------------------------------------- */

/* Instruction index of a BPF_PSEUDO_FUNC value (&insns[i]) in the running program, or -1. */
static int64_t func_index(const struct interp *vm, uint64_t value)
{
	const uint64_t base = (uint64_t)(uintptr_t)vm->insns;
	const uint64_t sz = sizeof(struct bpf_insn);

	if (value < base || value - base >= (uint64_t)vm->insn_cnt * sz || (value - base) % sz)
		return -1;
	return (int64_t)((value - base) / sz);
}

/* Enters a new frame: saves the return point and r6-r9, gives the callee a fresh stack. */
static int push_frame(struct interp *vm, uint32_t target)
{
	struct interp_frame *f;

	if (target >= vm->insn_cnt)
		return -BPFI_EINVAL;
	if (vm->depth + 1 - vm->base >= BPFI_MAX_CALL_FRAMES || vm->depth + 1 >= INTERP_MAX_FRAMES)
		return -BPFI_E2BIG;
	f = &vm->frames[++vm->depth];
	f->insns = vm->insns;
	f->insn_cnt = vm->insn_cnt;
	f->ret_pc = vm->pc;
	f->base = vm->base;
	for (int i = 0; i < 4; i++)
		f->callee_saved[i] = vm->reg[BPFI_REG_6 + i];
	vm->reg[BPFI_REG_10] = frame_pointer(vm, vm->depth);
	vm->pc = target;
	return 0;
}

/* Leaves the current frame: back to the caller with its r6-r9 and r10. */
static void pop_frame(struct interp *vm)
{
	const struct interp_frame *f = &vm->frames[vm->depth--];

	vm->insns = f->insns;
	vm->insn_cnt = f->insn_cnt;
	vm->pc = f->ret_pc;
	vm->base = f->base;
	for (int i = 0; i < 4; i++)
		vm->reg[BPFI_REG_6 + i] = f->callee_saved[i];
	vm->reg[BPFI_REG_10] = frame_pointer(vm, vm->depth);
}

/*
 * bpf_tail_call(ctx, map, index), as the kernel does it: on success the program at @index
 * replaces the running one in the current frame (from insn 0, r1 unchanged, the frame's stack
 * reused as a fresh one) and never returns here; when the slot is empty or out of range, or
 * BPFI_MAX_TAIL_CALLS were already made, execution goes on after the call. The kernel leaves
 * r0 unreadable then (the verifier marks it so); we put the documented -ENOENT there.
 */
static int tail_call(struct interp *vm)
{
	const struct bpfi_prog_entry *e = NULL;

	if (vm->env && vm->tail_calls < BPFI_MAX_TAIL_CALLS)
		e = bpfi_tail_call_target(vm->env, (struct bpfi_map_hdr *)(uintptr_t)vm->reg[2],
					  (uint32_t)vm->reg[3]);
	if (!e || !e->insns || !e->insn_cnt) {
		vm->reg[BPFI_REG_0] = (uint64_t)-BPFI_ENOENT;
		return 0;
	}
	if (e->insn_cnt > BPFI_MAX_INSNS)
		return -BPFI_EINVAL;
	vm->tail_calls++;
	vm->insns = e->insns;
	vm->insn_cnt = e->insn_cnt;
	vm->pc = 0;
	vm->base = vm->depth;
	vm->reg[BPFI_REG_10] = frame_pointer(vm, vm->depth);
	return 0;
}

/*
 * bpf_loop(nr, callback, ctx, flags): runs the callback subprogram (a BPF_PSEUDO_FUNC value)
 * as callback(i, ctx) for i in [0, nr) until it returns non-zero; r0 = iterations run. Bad
 * flags or nr are the helper's error returns; a callback outside the program is a control
 * flow error. Each iteration is a call frame of its own, entered through a nested run().
 */
static int bpf_loop(struct interp *vm)
{
	const uint64_t nr = vm->reg[1], ctx = vm->reg[3];
	const int64_t target = func_index(vm, vm->reg[2]);
	const uint32_t depth = vm->depth, ret_pc = vm->pc;
	uint64_t i;
	int err;

	if (vm->reg[4] || nr > INTERP_MAX_LOOPS) {
		vm->reg[BPFI_REG_0] = (uint64_t)(vm->reg[4] ? -BPFI_EINVAL : -BPFI_E2BIG);
		return 0;
	}
	if (target < 0)
		return -BPFI_EINVAL;
	for (i = 0; i < nr;) {
		err = push_frame(vm, (uint32_t)target);
		if (err)
			return err;
		vm->reg[1] = i++;
		vm->reg[2] = ctx;
		vm->reg[3] = vm->reg[4] = vm->reg[5] = 0;
		err = run(vm, depth + 1);
		if (err)
			return err;
		pop_frame(vm); /* also undoes a tail call made by the callback */
		if (vm->reg[BPFI_REG_0])
			break;
	}
	vm->pc = ret_pc;
	vm->reg[BPFI_REG_0] = i;
	return 0;
}

/*
 * A helper call by id (call imm, or callx). Tail calls and bpf_loop change control flow and
 * are done here; every other id goes to env->helpers. The conformance "unwind" helper stops
 * the whole program when it returns 0.
 */
static int call_helper(struct interp *vm, uint64_t id)
{
	const struct bpfi_env *env = vm->env;
	uint64_t *r = vm->reg;
	bpfi_helper_fn fn;

	if (id == INTERP_FUNC_TAIL_CALL)
		return tail_call(vm);
	if (id == INTERP_FUNC_LOOP)
		return bpf_loop(vm);
	if (!env || !env->helpers || id >= BPFI_HELPER_MAX || !(fn = env->helpers[id]))
		return -BPFI_EINVAL;
	r[0] = fn(r[1], r[2], r[3], r[4], r[5], env);
#ifdef INTERP_CHECK_RETURN
	INTERP_CHECK_RETURN(vm);
#endif
	if (env->unwind_helper_id >= 0 && id == (uint64_t)env->unwind_helper_id && !r[0])
		return INTERP_STOP;
	return 0;
}

/*
 * BPF_CALL: helper (src 0), bpf-to-bpf (src 1, imm relative to the next insn); kfunc calls
 * (src 2) are not supported. callx (BPF_X) takes its target from the register named by dst:
 * a BPF_PSEUDO_FUNC value of this program is a bpf-to-bpf call, anything else a helper id.
 */
static int do_call(struct interp *vm, const struct bpf_insn *in)
{
	if (BPF_SRC(in->code) == BPF_X) {
		const uint64_t v = vm->reg[in->dst_reg];
		const int64_t target = func_index(vm, v);

		return target >= 0 ? push_frame(vm, (uint32_t)target) : call_helper(vm, v);
	}
	switch (in->src_reg) {
	case 0:
		return in->imm < 0 ? -BPFI_EINVAL : call_helper(vm, (uint64_t)in->imm);
	case BPF_PSEUDO_CALL:
		return push_frame(vm, vm->pc + (uint32_t)in->imm);
	default:
		return -BPFI_EINVAL;
	}
}

/*
 * ld_imm64 (two slots). src 0: the 64-bit constant. BPF_PSEUDO_FUNC: the subprogram at
 * pc + 1 + imm, identified by its host address. Every map form was resolved by the loader
 * before the program got here, so it is an error. @pc is the index of the second slot.
 */
static bool ld_imm64(const struct interp *vm, const struct bpf_insn *in, uint32_t pc, uint64_t *ret)
{
	uint32_t target;

	if (pc >= vm->insn_cnt)
		return false;
	switch (in->src_reg) {
	case 0:
		*ret = (uint32_t)in->imm | (uint64_t)(uint32_t)vm->insns[pc].imm << 32;
		return true;
	case BPF_PSEUDO_FUNC:
		target = pc + (uint32_t)in->imm;
		if (target >= vm->insn_cnt)
			return false;
		*ret = (uint64_t)(uintptr_t)&vm->insns[target];
		return true;
	default:
		return false;
	}
}

/* ---- the dispatch loop --------------------------------------------------------------------- */

#define DST    reg[in->dst_reg]
#define SRC    reg[in->src_reg]
#define IMM64  ((uint64_t)(int64_t)in->imm) /* ALU64/JMP: imm sign-extended to 64 bits */
#define IMM32  ((uint32_t)in->imm)
#define S64(x) ((x) ^ 0x8000000000000000ull) /* signed order as unsigned order */
#define S32(x) ((x) ^ 0x80000000u)

/* The four forms of a plain ALU operation; @e64 and @e32 compute from a and b. */
#define ALU_CASES(op, e64, e32)                                      \
	case BPF_ALU64 | (op) | BPF_X: {                             \
		const uint64_t a = DST, b = SRC;                     \
		DST = (e64);                                         \
		break;                                               \
	}                                                            \
	case BPF_ALU64 | (op) | BPF_K: {                             \
		const uint64_t a = DST, b = IMM64;                   \
		DST = (e64);                                         \
		break;                                               \
	}                                                            \
	case BPF_ALU | (op) | BPF_X: {                               \
		const uint32_t a = (uint32_t)DST, b = (uint32_t)SRC; \
		DST = (uint32_t)(e32);                               \
		break;                                               \
	}                                                            \
	case BPF_ALU | (op) | BPF_K: {                               \
		const uint32_t a = (uint32_t)DST, b = IMM32;         \
		DST = (uint32_t)(e32);                               \
		break;                                               \
	}

/* The four forms of a conditional jump; @c64 and @c32 compare a and b. */
#define JMP_CASES(op, c64, c32)                                      \
	case BPF_JMP | (op) | BPF_X: {                               \
		const uint64_t a = DST, b = SRC;                     \
		if (c64)                                             \
			pc += (uint32_t)(int32_t)in->off;            \
		break;                                               \
	}                                                            \
	case BPF_JMP | (op) | BPF_K: {                               \
		const uint64_t a = DST, b = IMM64;                   \
		if (c64)                                             \
			pc += (uint32_t)(int32_t)in->off;            \
		break;                                               \
	}                                                            \
	case BPF_JMP32 | (op) | BPF_X: {                             \
		const uint32_t a = (uint32_t)DST, b = (uint32_t)SRC; \
		if (c32)                                             \
			pc += (uint32_t)(int32_t)in->off;            \
		break;                                               \
	}                                                            \
	case BPF_JMP32 | (op) | BPF_K: {                             \
		const uint32_t a = (uint32_t)DST, b = IMM32;         \
		if (c32)                                             \
			pc += (uint32_t)(int32_t)in->off;            \
		break;                                               \
	}

/*
 * Runs from vm->pc until frame @base exits. The dispatch switch covers every opcode of RFC
 * 9669 and compiles to jump tables (one indirect branch per instruction); the rare and long ones (div,
 * mod, movsx, end, atomics, calls, ld_imm64) are functions. pc, insns and insn_cnt live in
 * locals and are synced with vm around calls, which may change all three.
 * Returns 0 (r0 holds the result), INTERP_STOP, or a negative errno.
 */
static int run(struct interp *vm, uint32_t base)
{
	const struct bpf_insn *insns = vm->insns, *in;
	uint32_t cnt = vm->insn_cnt, pc = vm->pc;
	uint64_t *reg = vm->reg;
	int err;

	for (;;) {
		/* Also catches jumps out of range (pc wraps) and falling off the end. */
		if (pc >= cnt)
			return -BPFI_EINVAL;
		in = &insns[pc++];
#ifdef INTERP_CHECK_INSN
		err = INTERP_CHECK_INSN(vm, insns, pc - 1);
		if (err)
			return err;
#endif
		switch (in->code) {
			ALU_CASES(BPF_ADD, a + b, a + b)
			ALU_CASES(BPF_SUB, a - b, a - b)
			ALU_CASES(BPF_MUL, a * b, a * b)
			ALU_CASES(BPF_OR, a | b, a | b)
			ALU_CASES(BPF_AND, a & b, a & b)
			ALU_CASES(BPF_XOR, a ^ b, a ^ b)
			ALU_CASES(BPF_LSH, a << (b & 63), a << (b & 31))
			ALU_CASES(BPF_RSH, a >> (b & 63), a >> (b & 31))
			ALU_CASES(BPF_ARSH, arsh64(a, b & 63), arsh32(a, b & 31))
		case BPF_ALU64 | BPF_DIV | BPF_X:
		case BPF_ALU64 | BPF_DIV | BPF_K:
		case BPF_ALU64 | BPF_MOD | BPF_X:
		case BPF_ALU64 | BPF_MOD | BPF_K:
		case BPF_ALU | BPF_DIV | BPF_X:
		case BPF_ALU | BPF_DIV | BPF_K:
		case BPF_ALU | BPF_MOD | BPF_X:
		case BPF_ALU | BPF_MOD | BPF_K:
			if (!alu_divmod(in, reg))
				return -BPFI_EINVAL;
			break;
		case BPF_ALU64 | BPF_MOV | BPF_X:
		case BPF_ALU | BPF_MOV | BPF_X:
			if (in->off) {
				if (!alu_movsx(in, reg))
					return -BPFI_EINVAL;
			} else {
				DST = BPF_CLASS(in->code) == BPF_ALU64 ? SRC : (uint32_t)SRC;
			}
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			DST = IMM64;
			break;
		case BPF_ALU | BPF_MOV | BPF_K:
			DST = IMM32;
			break;
		case BPF_ALU64 | BPF_NEG:
			DST = 0 - DST;
			break;
		case BPF_ALU | BPF_NEG:
			DST = (uint32_t)(0 - (uint32_t)DST);
			break;
		case BPF_ALU | BPF_END | BPF_TO_LE:
		case BPF_ALU | BPF_END | BPF_TO_BE:
		case BPF_ALU64 | BPF_END | BPF_TO_LE:
			if (!alu_end(in, reg))
				return -BPFI_EINVAL;
			break;

			JMP_CASES(BPF_JEQ, a == b, a == b)
			JMP_CASES(BPF_JNE, a != b, a != b)
			JMP_CASES(BPF_JGT, a > b, a > b)
			JMP_CASES(BPF_JGE, a >= b, a >= b)
			JMP_CASES(BPF_JLT, a < b, a < b)
			JMP_CASES(BPF_JLE, a <= b, a <= b)
			JMP_CASES(BPF_JSET, a & b, a & b)
			JMP_CASES(BPF_JSGT, S64(a) > S64(b), S32(a) > S32(b))
			JMP_CASES(BPF_JSGE, S64(a) >= S64(b), S32(a) >= S32(b))
			JMP_CASES(BPF_JSLT, S64(a) < S64(b), S32(a) < S32(b))
			JMP_CASES(BPF_JSLE, S64(a) <= S64(b), S32(a) <= S32(b))
		case BPF_JMP | BPF_JA:
			pc += (uint32_t)(int32_t)in->off;
			break;
		case BPF_JMP32 | BPF_JA: /* gotol (v4): the offset is imm */
			pc += (uint32_t)in->imm;
			break;
		case BPF_JMP | BPF_CALL:
		case BPF_JMP | BPF_CALL | BPF_X:
			vm->insns = insns;
			vm->insn_cnt = cnt;
			vm->pc = pc;
			err = do_call(vm, in);
			if (err)
				return err;
			insns = vm->insns;
			cnt = vm->insn_cnt;
			pc = vm->pc;
			break;
		case BPF_JMP | BPF_EXIT:
			if (vm->depth == base)
				return 0;
			pop_frame(vm);
			insns = vm->insns;
			cnt = vm->insn_cnt;
			pc = vm->pc;
			break;

		case BPF_LDX | BPF_MEM | BPF_B:
			DST = *mem_at(SRC, in->off);
			break;
		case BPF_LDX | BPF_MEM | BPF_H:
			DST = load16(mem_at(SRC, in->off));
			break;
		case BPF_LDX | BPF_MEM | BPF_W:
			DST = load32(mem_at(SRC, in->off));
			break;
		case BPF_LDX | BPF_MEM | BPF_DW:
			DST = load64(mem_at(SRC, in->off));
			break;
		case BPF_LDX | BPF_MEMSX | BPF_B:
			DST = sext(*mem_at(SRC, in->off), 8);
			break;
		case BPF_LDX | BPF_MEMSX | BPF_H:
			DST = sext(load16(mem_at(SRC, in->off)), 16);
			break;
		case BPF_LDX | BPF_MEMSX | BPF_W:
			DST = sext(load32(mem_at(SRC, in->off)), 32);
			break;
		case BPF_ST | BPF_MEM | BPF_B:
			*mem_at(DST, in->off) = (unsigned char)in->imm;
			break;
		case BPF_ST | BPF_MEM | BPF_H:
			store16(mem_at(DST, in->off), IMM64);
			break;
		case BPF_ST | BPF_MEM | BPF_W:
			store32(mem_at(DST, in->off), IMM64);
			break;
		case BPF_ST | BPF_MEM | BPF_DW:
			store64(mem_at(DST, in->off), IMM64);
			break;
		case BPF_STX | BPF_MEM | BPF_B:
			*mem_at(DST, in->off) = (unsigned char)SRC;
			break;
		case BPF_STX | BPF_MEM | BPF_H:
			store16(mem_at(DST, in->off), SRC);
			break;
		case BPF_STX | BPF_MEM | BPF_W:
			store32(mem_at(DST, in->off), SRC);
			break;
		case BPF_STX | BPF_MEM | BPF_DW:
			store64(mem_at(DST, in->off), SRC);
			break;
		case BPF_STX | BPF_ATOMIC | BPF_W:
		case BPF_STX | BPF_ATOMIC | BPF_DW:
			if (!atomic_op(in, reg))
				return -BPFI_EINVAL;
			break;
		case BPF_LD | BPF_IMM | BPF_DW:
			vm->insns = insns;
			vm->insn_cnt = cnt;
			if (!ld_imm64(vm, in, pc, &DST))
				return -BPFI_EINVAL;
			pc++;
			break;
		default:
			/* Unknown opcodes, legacy BPF_ABS/BPF_IND packet loads, and the second slot
			 * of an ld_imm64 (code 0) when a jump lands there. */
			return -BPFI_EINVAL;
		}
	}
}

int bpfi_interp_run(const struct bpf_insn *insns, uint32_t insn_cnt, uint64_t r1, uint64_t r2,
		    const struct bpfi_env *env, uint64_t *ret_r0)
{
	struct interp vm; /* the stacks are left uninitialised: zeroing 4 KiB per run costs */
	int err;

	if (!insns || !insn_cnt || insn_cnt > BPFI_MAX_INSNS || !ret_r0)
		return -BPFI_EINVAL;
	for (int i = 0; i < INTERP_NR_REGS; i++)
		vm.reg[i] = 0;
	vm.reg[BPFI_REG_1] = r1;
	vm.reg[BPFI_REG_2] = r2;
	vm.insns = insns;
	vm.insn_cnt = insn_cnt;
	vm.pc = 0;
	vm.depth = 0;
	vm.base = 0;
	vm.tail_calls = 0;
	vm.env = env;
	vm.reg[BPFI_REG_10] = frame_pointer(&vm, 0);
	err = run(&vm, 0);
	if (err < 0)
		return err;
	*ret_r0 = err == INTERP_STOP ? 0 : vm.reg[BPFI_REG_0];
	return 0;
}
