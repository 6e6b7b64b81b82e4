// SPDX-License-Identifier: MIT
/*
 * The x86-64 JIT driver: checks the program's shape (targets, ld_imm64, functions), decides
 * each function's frame, translates instruction by instruction, resolves the patches, and
 * maps the result W^X.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpfinject/jit.h>

#include "common/compiler.h"
#include "jit_x86_internal.h"

struct bpfi_jit_image {
	uint8_t *code;
	size_t size;
	size_t tail_off;
	void *exec; /* the RX mapping once loaded, NULL before */
	size_t exec_len;
};

#define BPFI_HELPER_TAIL_CALL 12
/* Far above the kernel's helper count (BPFI_HELPER_MAX); keeps the callx table small. */
#define JIT_MAX_HELPERS 65536

static bool is_jump(const struct bpf_insn *insn)
{
	uint8_t cls = BPF_CLASS(insn->code), op = BPF_OP(insn->code);

	return (cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT;
}

static bool is_local_call(const struct bpf_insn *insn)
{
	return insn->code == (BPF_JMP | BPF_CALL) && insn->src_reg == BPF_PSEUDO_CALL;
}

static bool is_helper_call(const struct bpf_insn *insn, int32_t id)
{
	return insn->code == (BPF_JMP | BPF_CALL) && insn->src_reg == 0 && insn->imm == id;
}

/* Target of a jump, call or PSEUDO_FUNC at @i, as a signed index (may be out of range). */
static int64_t target_of(const struct bpf_insn *insn, uint32_t i)
{
	if (insn->code == (BPF_JMP32 | BPF_JA))
		return (int64_t)i + 1 + insn->imm; /* gotol */
	if (is_jump(insn))
		return (int64_t)i + 1 + insn->off;
	return (int64_t)i + 1 + insn->imm;
}

static int fail_at(struct jit_state *st, uint32_t i, int err, const char *what)
{
	st->idx = i;
	jit__fail(st, err, "%s", what);
	return err;
}

/* Marks ld_imm64 second slots and checks registers; functions start at 0 and every target
 * of a bpf-to-bpf call or a BPF_PSEUDO_FUNC load. */
static int scan_slots(struct jit_state *st)
{
	const struct bpf_insn *insns = st->insns;

	st->flags[0] |= JIT_INSN_FUNC;
	for (uint32_t i = 0; i < st->insn_cnt; i++) {
		if (insns[i].dst_reg >= MAX_BPF_REG || insns[i].src_reg >= MAX_BPF_REG)
			return fail_at(st, i, -EINVAL, "invalid register");
		if (!bpfi_insn_is_ldimm64(&insns[i]))
			continue;
		if (i + 1 >= st->insn_cnt)
			return fail_at(st, i, -EINVAL, "truncated ld_imm64");
		if (insns[i + 1].code || insns[i + 1].dst_reg || insns[i + 1].src_reg ||
		    insns[i + 1].off)
			return fail_at(st, i + 1, -EINVAL, "invalid second slot of ld_imm64");
		st->flags[++i] |= JIT_INSN_LDIMM_HI;
	}
	return 0;
}

/* Range-checks every jump and call target and marks function starts. */
static int scan_targets(struct jit_state *st)
{
	for (uint32_t i = 0; i < st->insn_cnt; i++) {
		const struct bpf_insn *insn = &st->insns[i];
		bool func = is_local_call(insn) ||
			    (bpfi_insn_is_ldimm64(insn) && insn->src_reg == BPF_PSEUDO_FUNC);
		int64_t t;

		if (st->flags[i] & JIT_INSN_LDIMM_HI || (!func && !is_jump(insn)))
			continue;
		t = target_of(insn, i);
		if (t < 0 || t >= st->insn_cnt)
			return fail_at(st, i, -EINVAL,
				       func ? "call target out of range" : "jump out of range");
		if (st->flags[t] & JIT_INSN_LDIMM_HI)
			return fail_at(st, i, -EINVAL, "jump into the middle of ld_imm64");
		if (func)
			st->flags[t] |= JIT_INSN_FUNC;
	}
	return 0;
}

/* Splits the program into functions; each must end in exit or ja and keep its jumps inside. */
static int build_funcs(struct jit_state *st)
{
	uint32_t n = 0, f = 0;

	for (uint32_t i = 0; i < st->insn_cnt; i++)
		n += !!(st->flags[i] & JIT_INSN_FUNC);
	st->funcs = calloc(n, sizeof(*st->funcs));
	if (!st->funcs)
		return bpfi_log_err(st->log, -ENOMEM, "jit: out of memory");
	st->nr_funcs = n;
	for (uint32_t i = 0; i < st->insn_cnt; i++) {
		if (i && (st->flags[i] & JIT_INSN_FUNC))
			st->funcs[f++].end = i;
		if (st->flags[i] & JIT_INSN_FUNC)
			st->funcs[f].start = i;
		st->func_of[i] = f;
	}
	st->funcs[f].end = st->insn_cnt;
	for (f = 0; f < n; f++) {
		uint32_t last = st->funcs[f].end - 1;
		uint8_t code = st->insns[last].code;

		if ((st->flags[last] & JIT_INSN_LDIMM_HI) ||
		    (code != (BPF_JMP | BPF_EXIT) && code != (BPF_JMP | BPF_JA) &&
		     code != (BPF_JMP32 | BPF_JA)))
			return fail_at(st, last, -EINVAL,
				       f + 1 == n ? "falls off the end of the program"
						  : "falls through into the next subprogram");
	}
	for (uint32_t i = 0; i < st->insn_cnt; i++)
		if (!(st->flags[i] & JIT_INSN_LDIMM_HI) && is_jump(&st->insns[i]) &&
		    st->func_of[target_of(&st->insns[i], i)] != st->func_of[i])
			return fail_at(st, i, -EINVAL, "jump out of its subprogram");
	return 0;
}

/*
 * Decides one function's frame: which callee-saved registers it touches, whether it needs
 * the 512-byte stack (uses r10), the tail-call count (tail or local calls), and padding so
 * that rsp is 16-byte aligned at its calls.
 */
static void plan_frame(struct jit_state *st, struct jit_func *fn, bool main_prog)
{
	static const uint8_t callee_saved[] = { 6, 7, 8, 9, 10 };
	uint16_t used = 0;
	bool calls = false;
	unsigned pushes = 0;

	for (uint32_t i = fn->start; i < fn->end; i++) {
		const struct bpf_insn *insn = &st->insns[i];

		if (st->flags[i] & JIT_INSN_LDIMM_HI)
			continue;
		used |= 1u << insn->dst_reg;
		if (BPF_CLASS(insn->code) != BPF_LD && insn->code != (BPF_JMP | BPF_CALL))
			used |= 1u << insn->src_reg;
		if (BPF_CLASS(insn->code) == BPF_JMP && BPF_OP(insn->code) == BPF_CALL)
			calls = true;
		if (is_local_call(insn) ||
		    (is_helper_call(insn, BPFI_HELPER_TAIL_CALL) && st->opts.tail_call_addr))
			fn->uses_count = true;
	}
	for (unsigned k = 0; k < sizeof(callee_saved); k++)
		if (used & (1u << callee_saved[k]))
			fn->saved_mask |= 1u << jit__reg(callee_saved[k]);
	if (fn->uses_count)
		fn->saved_mask |= 1u << JIT_TCOUNT;
	for (unsigned r = 0; r < 16; r++)
		pushes += !!(fn->saved_mask & (1u << r));
	fn->frame = (used & (1u << BPFI_REG_10)) ? BPFI_STACK_SIZE : 0;
	/* At entry rsp = 8 mod 16 (the return address). */
	if (calls && (8 + 8 * pushes + fn->frame) % 16)
		fn->frame += 8;
	if (main_prog)
		fn->zero_mask = used & ~(1u << BPFI_REG_1 | 1u << BPFI_REG_2 | 1u << BPFI_REG_10);
}

static void plan(struct jit_state *st)
{
	bool unwind_used = false;

	for (uint32_t i = 0; i < st->insn_cnt; i++) {
		if (st->flags[i] & JIT_INSN_LDIMM_HI)
			continue;
		if (st->insns[i].code == (BPF_JMP | BPF_CALL | BPF_X))
			st->has_callx = true;
		if (st->opts.unwind_helper_id >= 0 &&
		    is_helper_call(&st->insns[i], st->opts.unwind_helper_id))
			unwind_used = true;
	}
	st->unwind_flag = st->nr_funcs > 1 &&
			  (unwind_used || (st->has_callx && st->opts.unwind_helper_id >= 0));
	for (uint32_t f = 0; f < st->nr_funcs; f++)
		plan_frame(st, &st->funcs[f], f == 0);
}

/* Dispatch by instruction class; the translators reject what their class does not define. */
static void translate_one(struct jit_state *st, const struct bpf_insn *insn)
{
	switch (BPF_CLASS(insn->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		jit__translate_alu(st, insn);
		break;
	case BPF_JMP:
		if (insn->code == (BPF_JMP | BPF_EXIT))
			jit__translate_exit(st, insn);
		else if (insn->code == (BPF_JMP | BPF_CALL) ||
			 insn->code == (BPF_JMP | BPF_CALL | BPF_X))
			jit__translate_call(st, insn);
		else if (BPF_OP(insn->code) == BPF_CALL || BPF_OP(insn->code) == BPF_EXIT ||
			 insn->code == (BPF_JMP | BPF_JA | BPF_X))
			jit__fail(st, -EINVAL, "unknown opcode 0x%02x", insn->code);
		else
			jit__translate_jmp(st, insn);
		break;
	case BPF_JMP32:
		if (BPF_OP(insn->code) == BPF_CALL || BPF_OP(insn->code) == BPF_EXIT ||
		    insn->code == (BPF_JMP32 | BPF_JA | BPF_X))
			jit__fail(st, -EINVAL, "unknown opcode 0x%02x", insn->code);
		else
			jit__translate_jmp(st, insn);
		break;
	case BPF_LD:
		jit__translate_ld(st, insn);
		break;
	case BPF_LDX:
		jit__translate_ldx(st, insn);
		break;
	default: /* BPF_ST, BPF_STX */
		jit__translate_st(st, insn);
		break;
	}
}

/* The callx table: one absolute helper address per id, 8-byte aligned after the code. */
static void emit_helper_table(struct jit_state *st)
{
	while (st->off % 8)
		jit__emit1(st, 0xcc);
	st->table_off = st->off;
	for (uint32_t id = 0; id < st->opts.nr_helpers; id++)
		jit__emit8(st, st->opts.helper_addrs[id]);
}

static void resolve_patches(struct jit_state *st)
{
	for (uint32_t k = 0; k < st->nr_patches && !st->err; k++) {
		const struct jit_patch *p = &st->patches[k];
		uint32_t dest;
		int32_t rel;

		switch (p->kind) {
		case JIT_PATCH_INSN8:
			rel = (int32_t)(st->pc_locs[p->target] - (p->at + 1));
			if (rel > 127) {
				st->idx = p->target;
				jit__fail(st, -EFAULT, "bug: short jump of %d bytes", rel);
			}
			st->buf[p->at] = (uint8_t)rel;
			continue;
		case JIT_PATCH_INSN:
			dest = st->pc_locs[p->target];
			break;
		case JIT_PATCH_FUNC_TAIL:
			dest = st->funcs[st->func_of[p->target]].tail_off;
			break;
		case JIT_PATCH_FUNC_EXT:
			dest = st->funcs[st->func_of[p->target]].ext_off;
			break;
		default:
			dest = st->table_off;
			break;
		}
		/* The image is below JIT_MAX_IMAGE (256 MiB): every displacement fits in rel32. */
		rel = (int32_t)((int64_t)dest - ((int64_t)p->at + 4));
		memcpy(st->buf + p->at, &rel, sizeof(rel));
	}
}

static void translate_pass(struct jit_state *st)
{
	st->off = 0;
	st->nr_patches = 0;
	for (uint32_t f = 0; f < st->nr_funcs && !st->err; f++) {
		struct jit_func *fn = &st->funcs[f];

		st->cur = fn;
		st->idx = fn->start;
		jit__emit_prologue(st, fn);
		for (uint32_t i = fn->start; i < fn->end && !st->err; i++) {
			if (st->flags[i] & JIT_INSN_LDIMM_HI)
				continue;
			st->idx = i;
			st->pc_locs[i] = st->off;
			translate_one(st, &st->insns[i]);
			st->ends[i] = st->off;
		}
	}
}

/*
 * Two passes when the first one leaves forward jumps that could be short: the second knows
 * from the first which of them fit rel8 (see jit__emit_jump()).
 */
static int translate(struct jit_state *st)
{
	bool shrinkable = false;
	uint32_t *tmp;

	translate_pass(st);
	for (uint32_t k = 0; k < st->nr_patches && !st->err && !shrinkable; k++) {
		const struct jit_patch *p = &st->patches[k];

		shrinkable =
			p->kind == JIT_PATCH_INSN && st->pc_locs[p->target] - (p->at + 4) <= 127;
	}
	if (shrinkable && !st->err) {
		st->prev_locs = calloc(st->insn_cnt, sizeof(*st->prev_locs));
		st->prev_ends = calloc(st->insn_cnt, sizeof(*st->prev_ends));
		if (!st->prev_locs || !st->prev_ends)
			return bpfi_log_err(st->log, -ENOMEM, "jit: out of memory");
		tmp = st->prev_locs;
		st->prev_locs = st->pc_locs;
		st->pc_locs = tmp;
		tmp = st->prev_ends;
		st->prev_ends = st->ends;
		st->ends = tmp;
		translate_pass(st);
	}
	if (st->has_callx)
		emit_helper_table(st);
	resolve_patches(st);
	return st->err;
}

static int copy_opts(struct jit_state *st, const struct bpfi_jit_opts *opts)
{
	st->opts.unwind_helper_id = -1;
	if (!opts)
		return 0;
	if (opts->sz < offsetof(struct bpfi_jit_opts, env_addr))
		return bpfi_log_err(st->log, -EINVAL, "jit: opts size %zu too small", opts->sz);
	for (size_t k = sizeof(*opts); k < opts->sz; k++)
		if (((const char *)opts)[k])
			return bpfi_log_err(st->log, -EINVAL, "jit: unknown non-zero opts field");
	memcpy(&st->opts, opts, BPFI_MIN(opts->sz, sizeof(*opts)));
	if (opts->sz < offsetof(struct bpfi_jit_opts, unwind_helper_id) + sizeof(int32_t))
		st->opts.unwind_helper_id = -1;
	if (st->opts.nr_helpers && !st->opts.helper_addrs)
		return bpfi_log_err(st->log, -EINVAL, "jit: nr_helpers without helper_addrs");
	/* callx compares the id against nr_helpers as a sign-extended imm32. */
	if (st->opts.nr_helpers > JIT_MAX_HELPERS)
		return bpfi_log_err(st->log, -EINVAL, "jit: %u helpers, at most %u",
				    st->opts.nr_helpers, JIT_MAX_HELPERS);
	return 0;
}

static void state_done(struct jit_state *st)
{
	free(st->buf);
	free(st->pc_locs);
	free(st->prev_locs);
	free(st->prev_ends);
	free(st->ends);
	free(st->flags);
	free(st->func_of);
	free(st->funcs);
	free(st->patches);
}

int bpfi_jit_compile(const struct bpf_insn *insns, uint32_t insn_cnt,
		     const struct bpfi_jit_opts *opts, struct bpfi_jit_image **ret_image,
		     struct bpfi_log *log)
{
	struct jit_state st = { .insns = insns, .insn_cnt = insn_cnt, .log = log };
	struct bpfi_jit_image *image;
	int err;

	if (!insns || !insn_cnt || !ret_image)
		return bpfi_log_err(log, -EINVAL, "jit: empty program");
	if (insn_cnt > BPFI_MAX_INSNS)
		return bpfi_log_err(log, -E2BIG, "jit: %u instructions, at most %u", insn_cnt,
				    BPFI_MAX_INSNS);
	err = copy_opts(&st, opts);
	if (err)
		return err;
	st.pc_locs = calloc(insn_cnt, sizeof(*st.pc_locs));
	st.flags = calloc(insn_cnt, sizeof(*st.flags));
	st.func_of = calloc(insn_cnt, sizeof(*st.func_of));
	st.ends = calloc(insn_cnt, sizeof(*st.ends));
	image = calloc(1, sizeof(*image));
	if (!st.pc_locs || !st.flags || !st.func_of || !st.ends || !image) {
		err = bpfi_log_err(log, -ENOMEM, "jit: out of memory");
		goto out;
	}
	err = scan_slots(&st);
	if (!err)
		err = scan_targets(&st);
	if (!err)
		err = build_funcs(&st);
	if (err)
		goto out;
	plan(&st);
	err = translate(&st);
	if (err)
		goto out;
	image->code = st.buf;
	image->size = st.off;
	image->tail_off = st.funcs[0].tail_off;
	st.buf = NULL;
	if (log && log->level >= BPFI_LOG_TRACE)
		bpfi_log_printf(log, "jit: %u insns, %u functions -> %zu bytes\n", insn_cnt,
				st.nr_funcs, image->size);
	*ret_image = TAKE_PTR(image);
out:
	free(image);
	state_done(&st);
	return err;
}

const void *bpfi_jit_image_code(const struct bpfi_jit_image *image)
{
	return image ? image->code : NULL;
}

size_t bpfi_jit_image_size(const struct bpfi_jit_image *image)
{
	return image ? image->size : 0;
}

size_t bpfi_jit_image_tail_offset(const struct bpfi_jit_image *image)
{
	return image ? image->tail_off : 0;
}

/* W^X: the pages are writable while we copy, then only readable and executable. */
int bpfi_jit_image_load(struct bpfi_jit_image *image, bpfi_jit_fn *ret_fn, struct bpfi_log *log)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len;
	void *p;
	int err;

	if (!image || !ret_fn)
		return bpfi_log_err(log, -EINVAL, "jit: load: no image");
	if (!image->exec) {
		len = ALIGN_UP(image->size, (size_t)page);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			err = -errno;
			return bpfi_log_err(log, err, "jit: mmap of %zu bytes failed", len);
		}
		memcpy(p, image->code, image->size);
		if (mprotect(p, len, PROT_READ | PROT_EXEC)) {
			err = -errno;
			munmap(p, len);
			return bpfi_log_err(log, err, "jit: mprotect to read-execute failed");
		}
		image->exec = p;
		image->exec_len = len;
	}
	*ret_fn = (bpfi_jit_fn)image->exec;
	return 0;
}

void bpfi_jit_image_free(struct bpfi_jit_image *image)
{
	if (!image)
		return;
	if (image->exec)
		munmap(image->exec, image->exec_len);
	free(image->code);
	free(image);
}
