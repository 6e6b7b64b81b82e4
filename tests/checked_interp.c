// SPDX-License-Identifier: MIT
/*
 * The checked execution mode (checked_interp.h): jit/interp.c compiled once more with its two
 * hooks, which hold every instruction to what the verifier concluded about it (its facts).
 * The state of a run is reached through a thread-local pointer, so the interpreter's own
 * struct is not changed; bpf_loop callbacks (nested runs) share it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/insn.h>

struct interp;
static int checked__insn(struct interp *vm, const struct bpf_insn *insns, uint32_t pc);
static void checked__return(struct interp *vm);

#define INTERP_CHECK_INSN   checked__insn
#define INTERP_CHECK_RETURN checked__return
#define bpfi_interp_run	    checked__interp_run_raw

#include "jit/interp.c"

#undef bpfi_interp_run

#include "checked_interp.h"

#define CHECKED_MAX_REGIONS 256
#define CHECKED_ALL_REGIONS \
	(BPFI_REGION_STACK | BPFI_REGION_CTX | BPFI_REGION_MAP_VALUE | BPFI_REGION_MEM)
#define CHECKED_HELPER_RINGBUF_SUBMIT  132
#define CHECKED_HELPER_RINGBUF_DISCARD 133

struct checked_region {
	uint64_t base, len;
	uint8_t kind;
};

/* Per frame: which registers were written, and which stack bytes (for strict_stack). */
struct checked_frame {
	uint16_t regs;
	uint8_t stack_init[BPFI_STACK_SIZE / 8];
};

struct checked_state {
	const struct checked_opts *o;
	const struct bpf_insn *prog; /* the program the facts describe */
	const struct bpf_insn *last_insns; /* the program of the last instruction (tail calls) */
	uint32_t depth; /* the frame of the last instruction */
	bool pending_call; /* a bpf-to-bpf call was made: the next frame gets its R1-R5 */
	bool popped; /* the last instruction left a frame (its caller's program comes back) */
	struct checked_frame fr[BPFI_MAX_CALL_FRAMES];
	struct checked_region regions[CHECKED_MAX_REGIONS];
	uint32_t nr_regions;
};

static __thread struct checked_state *checked_cur;

#define REG(n) (1u << (n))
#define ARGS   (REG(1) | REG(2) | REG(3) | REG(4) | REG(5))

static int violation(uint32_t pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int violation(uint32_t pc, const char *fmt, ...)
{
	const struct checked_opts *o = checked_cur->o;
	char what[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (o->why && o->why_size)
		snprintf(o->why, o->why_size, "insn %u: %s", pc, what);
	return CHECKED_VIOLATION;
}

static const char *kinds_str(uint8_t kinds)
{
	static __thread char buf[64];

	buf[0] = '\0';
	if (kinds & BPFI_REGION_STACK)
		strcat(buf, "|stack");
	if (kinds & BPFI_REGION_CTX)
		strcat(buf, "|ctx");
	if (kinds & BPFI_REGION_MAP_VALUE)
		strcat(buf, "|map_value");
	if (kinds & BPFI_REGION_MEM)
		strcat(buf, "|mem");
	return buf[0] ? buf + 1 : "nothing";
}

static bool inside(uint64_t addr, uint64_t size, uint64_t base, uint64_t len)
{
	return size <= len && addr >= base && addr - base <= len - size;
}

/*
 * Is [addr, addr + size) inside one live region of a kind in @kinds? For the stack, any
 * frame from 0 to the current one; @ret_frame says which (-1 for other regions).
 */
static bool in_region(struct interp *vm, uint64_t addr, uint64_t size, uint8_t kinds,
		      int *ret_frame)
{
	const struct checked_state *st = checked_cur;

	*ret_frame = -1;
	if (kinds & BPFI_REGION_STACK)
		for (uint32_t d = 0; d <= vm->depth; d++)
			if (inside(addr, size, frame_pointer(vm, d) - BPFI_STACK_SIZE,
				   BPFI_STACK_SIZE)) {
				*ret_frame = (int)d;
				return true;
			}
	if ((kinds & BPFI_REGION_CTX) && inside(addr, size, st->o->ctx, st->o->ctx_size))
		return true;
	for (uint32_t k = 0; k < st->nr_regions; k++)
		if ((st->regions[k].kind & kinds) &&
		    inside(addr, size, st->regions[k].base, st->regions[k].len))
			return true;
	return false;
}

static void add_region(uint64_t base, uint64_t len, uint8_t kind)
{
	struct checked_state *st = checked_cur;

	for (uint32_t k = 0; k < st->nr_regions; k++)
		if (st->regions[k].base == base && st->regions[k].kind == kind) {
			if (len > st->regions[k].len)
				st->regions[k].len = len;
			return;
		}
	if (st->nr_regions < CHECKED_MAX_REGIONS)
		st->regions[st->nr_regions++] = (struct checked_region){ base, len, kind };
}

static void drop_region(uint64_t base, uint8_t kind)
{
	struct checked_state *st = checked_cur;

	for (uint32_t k = 0; k < st->nr_regions; k++)
		if (st->regions[k].base == base && st->regions[k].kind == kind) {
			st->regions[k] = st->regions[--st->nr_regions];
			return;
		}
}

/* Stack bytes of frame @d at [addr, addr + size): written (@set) or all written? */
static bool stack_bytes(struct interp *vm, uint32_t d, uint64_t addr, uint64_t size, bool set)
{
	struct checked_frame *f = &checked_cur->fr[d];
	uint64_t off = addr - (frame_pointer(vm, d) - BPFI_STACK_SIZE);

	for (uint64_t b = off; b < off + size; b++) {
		if (set)
			f->stack_init[b / 8] |= (uint8_t)(1u << (b % 8));
		else if (!(f->stack_init[b / 8] & (1u << (b % 8))))
			return false;
	}
	return true;
}

/*
 * One access of @size bytes at @addr by insn @pc, claimed to be in @kinds: inside such a
 * region, and, for a read of the stack under strict_stack, of bytes written before.
 */
static int check_access(struct interp *vm, uint32_t pc, uint64_t addr, uint64_t size, uint8_t kinds,
			bool read, bool write, const char *what)
{
	int frame;

	if (!in_region(vm, addr, size, kinds, &frame))
		return violation(pc, "%s of %llu bytes at %#llx is outside every live %s region",
				 what, (unsigned long long)size, (unsigned long long)addr,
				 kinds_str(kinds));
	if (frame < 0)
		return 0;
	if (read && checked_cur->o->strict_stack &&
	    !stack_bytes(vm, (uint32_t)frame, addr, size, false))
		return violation(pc, "%s of %llu bytes at fp%d%+lld reads stack never written",
				 what, (unsigned long long)size, frame,
				 (long long)(addr - frame_pointer(vm, (uint32_t)frame)));
	if (write)
		stack_bytes(vm, (uint32_t)frame, addr, size, true);
	return 0;
}

/* Registers @in reads, by the ISA; for a helper call, those the check read (its arguments). */
static uint16_t regs_read(const struct bpf_insn *in, const struct bpfi_verifier_fact *f)
{
	const uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
	const bool x = BPF_SRC(in->code) == BPF_X;

	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		if (op == BPF_MOV)
			return x ? REG(in->src_reg) : 0;
		if (op == BPF_NEG || op == BPF_END)
			return REG(in->dst_reg);
		return REG(in->dst_reg) | (x ? REG(in->src_reg) : 0);
	case BPF_LDX:
		return REG(in->src_reg);
	case BPF_ST:
		return REG(in->dst_reg);
	case BPF_STX:
		if (BPF_MODE(in->code) == BPF_ATOMIC && in->imm == BPF_CMPXCHG)
			return REG(in->dst_reg) | REG(in->src_reg) | REG(0);
		return REG(in->dst_reg) | REG(in->src_reg);
	case BPF_LD:
		return 0;
	default: /* JMP, JMP32 */
		if (op == BPF_JA)
			return 0;
		if (op == BPF_EXIT)
			return REG(0);
		if (op == BPF_CALL) {
			if (x)
				return REG(in->dst_reg);
			return in->src_reg == 0 && f ? f->regs_read & ARGS : 0;
		}
		return REG(in->dst_reg) | (x ? REG(in->src_reg) : 0);
	}
}

/* Frames entered since the last instruction: by a bpf-to-bpf call, or by bpf_loop. */
static void sync_frames(struct interp *vm, const struct bpf_insn *insns)
{
	struct checked_state *st = checked_cur;

	while (st->depth < vm->depth) {
		struct checked_frame *f = &st->fr[++st->depth];

		f->regs = st->pending_call
				  ? (uint16_t)((st->fr[st->depth - 1].regs & ARGS) | REG(10))
				  : (uint16_t)(REG(1) | REG(2) | REG(10));
		memset(f->stack_init, 0, sizeof(f->stack_init));
		st->pending_call = false;
	}
	st->depth = vm->depth;
	/* A tail call: the new program starts with r1 and r10, on a fresh stack. */
	if (insns != st->last_insns && !st->popped) {
		st->fr[vm->depth].regs = REG(1) | REG(10);
		memset(st->fr[vm->depth].stack_init, 0, sizeof(st->fr[vm->depth].stack_init));
	}
	st->last_insns = insns;
	st->popped = false;
}

static int check_call(struct interp *vm, const struct bpf_insn *in, uint32_t pc,
		      const struct bpfi_verifier_fact *f, struct checked_frame *fr)
{
	const uint64_t *reg = vm->reg;
	uint64_t id;
	int err;

	if (in->src_reg == BPF_PSEUDO_CALL ||
	    (BPF_SRC(in->code) == BPF_X && func_index(vm, reg[in->dst_reg]) >= 0)) {
		checked_cur->pending_call = true;
		return 0;
	}
	id = BPF_SRC(in->code) == BPF_X ? reg[in->dst_reg] : (uint64_t)(int64_t)in->imm;
	for (int k = 0; f && k < 5; k++) {
		if (!f->arg[k] || !f->arg_size[k])
			continue;
		err = check_access(vm, pc, reg[k + 1], f->arg_size[k], f->arg[k],
				   !(f->arg_write & (1u << k)), false, "helper argument");
		if (err)
			return err;
		/* What a helper writes is written: as many bytes as the size argument says. */
		if (f->arg_write & (1u << k)) {
			int frame;
			uint64_t n = reg[k + 2] < f->arg_size[k] ? reg[k + 2] : f->arg_size[k];

			if (in_region(vm, reg[k + 1], n, BPFI_REGION_STACK, &frame) && frame >= 0)
				stack_bytes(vm, (uint32_t)frame, reg[k + 1], n, true);
		}
	}
	if (id == CHECKED_HELPER_RINGBUF_SUBMIT || id == CHECKED_HELPER_RINGBUF_DISCARD)
		drop_region(reg[1], BPFI_REGION_MEM);
	fr->regs = (uint16_t)((fr->regs & ~ARGS) | REG(0));
	return 0;
}

static int checked__insn(struct interp *vm, const struct bpf_insn *insns, uint32_t pc)
{
	struct checked_state *st = checked_cur;
	const struct bpf_insn *in = &insns[pc];
	const struct bpfi_verifier_fact *f = insns == st->prog ? &st->o->facts[pc] : NULL;
	const uint8_t cls = BPF_CLASS(in->code);
	const uint8_t kinds = f ? f->mem : CHECKED_ALL_REGIONS;
	struct checked_frame *fr;
	const uint64_t *reg = vm->reg;
	uint16_t missing;
	uint32_t size;
	int err;

	sync_frames(vm, insns);
	fr = &st->fr[vm->depth];
	missing = regs_read(in, f) & ~fr->regs;
	if (missing)
		return violation(pc, "R%d read before it was written", __builtin_ctz(missing));
	switch (BPF_SIZE(in->code)) {
	case BPF_B:
		size = 1;
		break;
	case BPF_H:
		size = 2;
		break;
	case BPF_W:
		size = 4;
		break;
	default:
		size = 8;
		break;
	}
	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		fr->regs |= (uint16_t)REG(in->dst_reg);
		return 0;
	case BPF_LD:
		if (f && (f->ret & BPFI_REGION_MAP_VALUE) && pc + 1 < vm->insn_cnt) {
			uint64_t v = (uint32_t)in->imm | (uint64_t)(uint32_t)insns[pc + 1].imm
								 << 32;

			add_region(v - f->ret_off, f->ret_size, BPFI_REGION_MAP_VALUE);
		}
		fr->regs |= (uint16_t)REG(in->dst_reg);
		return 0;
	case BPF_LDX:
		err = check_access(vm, pc, reg[in->src_reg] + (uint64_t)(int64_t)in->off, size,
				   kinds, true, false, "load");
		fr->regs |= (uint16_t)REG(in->dst_reg);
		return err;
	case BPF_ST:
	case BPF_STX:
		if (BPF_MODE(in->code) == BPF_ATOMIC) {
			if (in->imm == BPF_CMPXCHG)
				fr->regs |= (uint16_t)REG(0);
			else if (in->imm & BPF_FETCH)
				fr->regs |= (uint16_t)REG(in->src_reg);
		}
		return check_access(vm, pc, reg[in->dst_reg] + (uint64_t)(int64_t)in->off, size,
				    kinds, BPF_MODE(in->code) == BPF_ATOMIC, true,
				    BPF_MODE(in->code) == BPF_ATOMIC ? "atomic" : "store");
	default:
		if (BPF_OP(in->code) == BPF_CALL)
			return check_call(vm, in, pc, f, fr);
		/* Leaving a frame: the caller gets r0 and loses r1-r5, as after a helper. */
		if (BPF_OP(in->code) == BPF_EXIT && vm->depth > 0) {
			st->fr[vm->depth - 1].regs =
				(uint16_t)((st->fr[vm->depth - 1].regs & ~ARGS) | REG(0));
			st->depth = vm->depth - 1;
			st->popped = true;
		}
		return 0;
	}
}

/* After a helper: a region r0 points into now exists (a map value, a ringbuf record). */
static void checked__return(struct interp *vm)
{
	const struct checked_state *st = checked_cur;
	const struct bpfi_verifier_fact *f;

	if (vm->insns != st->prog || !vm->pc || !vm->reg[0])
		return;
	f = &st->o->facts[vm->pc - 1];
	if (f->ret)
		add_region(vm->reg[0], f->ret_size, f->ret);
}

int checked_interp_run(const struct bpf_insn *insns, uint32_t insn_cnt,
		       const struct checked_opts *o, uint64_t *ret_r0)
{
	struct checked_state *st = calloc(1, sizeof(*st));
	int err;

	if (!st)
		return -BPFI_ENOMEM;
	st->o = o;
	st->prog = insns;
	st->last_insns = insns;
	st->fr[0].regs = REG(1) | REG(10);
	if (o->why && o->why_size)
		o->why[0] = '\0';
	checked_cur = st;
	err = checked__interp_run_raw(insns, insn_cnt, o->ctx, 0, o->env, ret_r0);
	checked_cur = NULL;
	free(st);
	return err;
}
