// SPDX-License-Identifier: MIT
/*
 * The load-time check against the running kernel's verifier (as root; the binary exits 77,
 * skipped, where the kernel loads no programs). Seeded random kprobe programs built from
 * the pieces real programs are made of: a map lookup and accesses to the value at computed,
 * bounds-checked offsets (some bounds off by one, some missing), ALU on those offsets,
 * spills and fills of every width (plain and atomic, partial fills of spilled pointers, bytes
 * of a spilled pointer overwritten), branches, stack accesses at variable offsets, bpf-to-bpf
 * calls taking pointers, and map updates. Each is judged by the kernel (BPF_PROG_LOAD with a
 * kernel map of the same shape) and by our runtime (its BPF_PROG_LOAD, the check).
 *
 * A program only we accept must run clean: PROG_TEST_RUN in our interpreter, and the checked
 * interpreter (tests/checked_interp.c) with the check's facts, where every access must stay
 * in a region of the kind the check claimed and every register read follow a write. Programs only
 * the kernel accepts are counted and printed (the goal is none), as are the ones only we
 * accept (each is a question for the check).
 */
#include <check.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpfinject/jit.h>
#include <bpfinject/runtime.h>
#include <bpfinject/verifier.h>

#include "checked_interp.h"
#include "jit_fuzz.h"
#include "runtime/runtime_internal.h"

#define NR_PROGS   10000
#define MAX_INSNS  320
#define VALUE_SIZE 64
#define MAP_IDX	   7 /* placeholder in ld_imm64 until a side's map fd goes in */
#define MAX_KINDS  48

struct gen {
	struct bpf_insn insn[MAX_INSNS];
	uint32_t n;
	uint64_t s;
	uint32_t exit_fix[64]; /* jumps to the common exit */
	uint32_t nr_exit_fix;
	uint32_t call_fix[2][16]; /* calls of subprogram 0 (stack reader) and 1 (value reader) */
	uint32_t nr_call_fix[2];
	int32_t sub_off[2]; /* the offset each subprogram reads at */
};

static uint32_t rnd(struct gen *g, uint32_t n)
{
	g->s ^= g->s << 13;
	g->s ^= g->s >> 7;
	g->s ^= g->s << 17;
	return (uint32_t)(g->s % n);
}

static void emit(struct gen *g, struct bpf_insn insn)
{
	if (g->n < MAX_INSNS)
		g->insn[g->n++] = insn;
}

static void emit_map(struct gen *g, uint8_t reg)
{
	emit(g, INSN(BPF_LD | BPF_DW | BPF_IMM, reg, BPF_PSEUDO_MAP_FD, 0, MAP_IDX));
	emit(g, INSN(0, 0, 0, 0, 0));
}

static const uint8_t sizes[] = { BPF_B, BPF_H, BPF_W, BPF_DW };
static const uint32_t widths[] = { 1, 2, 4, 8 };

/* A conditional jump over the next @skip instructions (fixed by the caller). */
static uint32_t emit_skip(struct gen *g, uint8_t op, uint8_t reg, int32_t imm)
{
	emit(g, JMP_IMM(op, reg, imm, 0));
	return g->n - 1;
}

static void land(struct gen *g, uint32_t at)
{
	g->insn[at].off = (int16_t)(g->n - at - 1);
}

/* r8 (an unknown scalar) becomes an offset; then the value is read or written there. */
static void block_value_access(struct gen *g)
{
	static const int32_t masks[] = { 7, 31, 63, 127, 255 };
	uint32_t w = rnd(g, 4), at = 0;
	bool check = rnd(g, 8) != 0;
	int32_t limit = VALUE_SIZE - (int32_t)widths[w] + (int32_t)rnd(g, 5) - 2;

	switch (rnd(g, 4)) {
	case 0:
		emit(g, ALU64_IMM(BPF_AND, 8, masks[rnd(g, 5)]));
		break;
	case 1:
		emit(g, INSN(BPF_ALU | BPF_MOV | BPF_X, 8, 8, 0, 0)); /* w8 = w8 */
		emit(g, ALU64_IMM(BPF_RSH, 8, 24 + (int32_t)rnd(g, 8)));
		break;
	case 2:
		emit(g, ALU64_IMM(BPF_MOD, 8, 1 + (int32_t)rnd(g, 100)));
		break;
	default:
		break; /* unbounded until the check */
	}
	if (check) {
		static const uint8_t ops[] = { BPF_JGT, BPF_JGE, BPF_JSGT };
		uint8_t op = ops[rnd(g, 3)];

		at = emit_skip(g, op, 8, op == BPF_JGE ? limit + 1 : limit);
	}
	emit(g, MOV64_REG(2, 7));
	emit(g, ALU64_REG(BPF_ADD, 2, 8));
	if (rnd(g, 2))
		emit(g, LDX(sizes[w], 0, 2, 0));
	else
		emit(g, STX(sizes[w], 2, 8, 0));
	if (check)
		land(g, at);
}

/* A register spilled at some width, maybe partly overwritten, filled at some width, used. */
static void block_spill_fill(struct gen *g)
{
	static const uint8_t srcs[] = { 6, 7, 8, 10 };
	uint8_t src = srcs[rnd(g, 4)];
	uint32_t w = rnd(g, 8) < 5 ? 3 : rnd(g, 4), w2 = rnd(g, 8) < 5 ? w : rnd(g, 4);
	int16_t slot = (int16_t)(-8 * (2 + (int32_t)rnd(g, 6)));
	int16_t off = (int16_t)(slot + (int16_t)(rnd(g, 4) ? 0 : rnd(g, 8)));
	int16_t off2 = rnd(g, 4) ? off : (int16_t)(slot + (int16_t)rnd(g, 8));

	if (rnd(g, 4) == 0 && widths[w] >= 4) {
		/* Atomics on the slot: add, fetch-add, xchg, cmpxchg (r0 compared). */
		static const int32_t ops[] = { BPF_ADD, BPF_ADD | BPF_FETCH, BPF_XCHG,
					       BPF_CMPXCHG };
		int32_t op = ops[rnd(g, 4)];

		emit(g, STX(sizes[w], 10, 8, slot));
		if (op == BPF_CMPXCHG)
			emit(g, MOV64_IMM(0, (int32_t)rnd(g, 3)));
		emit(g, ATOMIC(sizes[w], 10, src, slot, op));
	} else {
		emit(g, STX(sizes[w], 10, src, off));
	}
	if (rnd(g, 6) == 0) /* a byte of the spill overwritten */
		emit(g, ST_IMM(BPF_B, 10, (int16_t)(slot + (int16_t)rnd(g, 8)), 0));
	emit(g, LDX(sizes[w2], 9, 10, off2));
	switch (rnd(g, 3)) {
	case 0: /* used as a pointer */
		emit(g, LDX(BPF_B, 0, 9, 0));
		break;
	case 1: /* used as a scalar */
		emit(g, ALU64_IMM(BPF_ADD, 9, 1));
		break;
	default:
		break;
	}
}

/* A stack access at fp - 64 + r8 (bounded or not), or at a constant offset. */
static void block_stack(struct gen *g)
{
	uint32_t w = rnd(g, 4);

	if (rnd(g, 3)) {
		if (rnd(g, 4))
			emit(g, ALU64_IMM(BPF_AND, 8, rnd(g, 2) ? 31 : 63));
		emit(g, MOV64_REG(2, 10));
		emit(g, ALU64_IMM(BPF_ADD, 2, -64));
		emit(g, ALU64_REG(BPF_ADD, 2, 8));
		if (rnd(g, 2))
			emit(g, LDX(sizes[w], 0, 2, 0));
		else
			emit(g, ST_IMM(sizes[w], 2, 0, 5));
	} else {
		int16_t off = (int16_t)(-(int32_t)rnd(g, 80));

		if (rnd(g, 2))
			emit(g, LDX(sizes[w], 0, 10, off));
		else
			emit(g, ST_IMM(sizes[w], 10, off, 3));
	}
}

/* A branch on r8 over one instruction. */
static void block_branch(struct gen *g)
{
	static const uint8_t ops[] = { BPF_JEQ,	 BPF_JNE,  BPF_JGT,  BPF_JLT,
				       BPF_JSGT, BPF_JSLT, BPF_JSET, BPF_JLE };
	uint32_t at;

	if (rnd(g, 2)) {
		at = emit_skip(g, ops[rnd(g, 8)], 8, (int32_t)rnd(g, 80) - 8);
	} else {
		emit(g, INSN(BPF_JMP32 | ops[rnd(g, 8)] | BPF_K, 8, 0, 0, (int32_t)rnd(g, 80)));
		at = g->n - 1;
	}
	switch (rnd(g, 3)) {
	case 0:
		emit(g, ALU64_IMM(BPF_ADD, 8, (int32_t)rnd(g, 16)));
		break;
	case 1:
		emit(g, MOV64_REG(9, 7));
		break;
	default:
		emit(g, MOV64_IMM(8, (int32_t)rnd(g, 100)));
		break;
	}
	land(g, at);
}

/* ALU on r8 with a constant. */
static void block_alu(struct gen *g)
{
	static const uint8_t ops[] = { BPF_ADD, BPF_SUB, BPF_MUL,  BPF_OR,  BPF_AND,
				       BPF_LSH, BPF_RSH, BPF_ARSH, BPF_DIV, BPF_XOR };
	uint8_t op = ops[rnd(g, 10)];
	int32_t imm = (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) ? (int32_t)rnd(g, 32)
									 : 1 + (int32_t)rnd(g, 64);

	emit(g, rnd(g, 2) ? ALU64_IMM(op, 8, imm) : ALU32_IMM(op, 8, imm));
}

/* bpf-to-bpf calls: a stack pointer of ours, or the map value, to a subprogram that reads. */
static void block_call(struct gen *g)
{
	int s = (int)rnd(g, 2);

	if (s == 0) {
		if (rnd(g, 3))
			emit(g, STX(BPF_DW, 10, 8, -16));
		emit(g, MOV64_REG(1, 10));
		emit(g, ALU64_IMM(BPF_ADD, 1, -16));
	} else {
		emit(g, MOV64_REG(1, 7));
	}
	if (g->nr_call_fix[s] < 16) {
		g->call_fix[s][g->nr_call_fix[s]++] = g->n;
		emit(g, CALL_LOCAL(0));
		emit(g, MOV64_REG(8, 0));
	}
}

/* bpf_map_update_elem(map, &key, value): the value from the map or from the stack. */
static void block_update(struct gen *g)
{
	emit(g, ST_IMM(BPF_W, 10, -4, (int32_t)rnd(g, 5)));
	emit_map(g, 1);
	emit(g, MOV64_REG(2, 10));
	emit(g, ALU64_IMM(BPF_ADD, 2, -4));
	if (rnd(g, 2)) {
		emit(g, MOV64_REG(3, 7));
	} else {
		emit(g, MOV64_REG(3, 10));
		emit(g, ALU64_IMM(BPF_ADD, 3, -(int32_t)(VALUE_SIZE + 8 * rnd(g, 3))));
	}
	emit(g, MOV64_IMM(4, 0));
	emit(g, CALL_HELPER(BPF_FUNC_map_update_elem));
}

static uint32_t generate(uint64_t seed, struct bpf_insn *out)
{
	static void (*const blocks[])(
		struct gen *) = { block_value_access, block_spill_fill, block_stack, block_branch,
				  block_alu,	      block_call,	block_update };
	struct gen *g = calloc(1, sizeof(*g));
	uint32_t i, nb, n, exit_at;
	int s;

	ck_assert_ptr_nonnull(g);
	g->s = seed * 0x9e3779b97f4a7c15ull + 1;
	emit(g, MOV64_REG(6, 1));
	emit(g, ST_IMM(BPF_W, 10, -4, (int32_t)rnd(g, 5)));
	emit_map(g, 1);
	emit(g, MOV64_REG(2, 10));
	emit(g, ALU64_IMM(BPF_ADD, 2, -4));
	emit(g, CALL_HELPER(BPF_FUNC_map_lookup_elem));
	g->exit_fix[g->nr_exit_fix++] = g->n;
	emit(g, JMP_IMM(BPF_JEQ, 0, 0, 0));
	emit(g, MOV64_REG(7, 0));
	emit(g, LDX(BPF_DW, 8, 6, (int16_t)(8 * rnd(g, 21))));
	emit(g, MOV64_IMM(9, 0));
	nb = 2 + rnd(g, 7);
	for (i = 0; i < nb; i++)
		blocks[rnd(g, sizeof(blocks) / sizeof(blocks[0]))](g);
	exit_at = g->n;
	emit(g, MOV64_IMM(0, 0));
	emit(g, EXIT);
	for (i = 0; i < g->nr_exit_fix; i++)
		g->insn[g->exit_fix[i]].off = (int16_t)(exit_at - g->exit_fix[i] - 1);
	/* The subprograms that are called: read 8 bytes at an offset from r1. */
	for (s = 0; s < 2; s++) {
		static const int32_t offs[2][4] = { { 0, 8, 16, -8 }, { 0, 56, 57, 64 } };
		uint32_t start = g->n;

		if (!g->nr_call_fix[s])
			continue;
		emit(g, LDX(BPF_DW, 0, 1, (int16_t)offs[s][rnd(g, 4)]));
		emit(g, EXIT);
		for (i = 0; i < g->nr_call_fix[s]; i++)
			g->insn[g->call_fix[s][i]].imm = (int32_t)(start - g->call_fix[s][i] - 1);
	}
	n = g->n;
	memcpy(out, g->insn, n * sizeof(*out));
	free(g);
	return n;
}

static void set_map(struct bpf_insn *p, uint32_t n, int fd)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i].code == (BPF_LD | BPF_DW | BPF_IMM) && p[i].src_reg == BPF_PSEUDO_MAP_FD)
			p[i].imm = fd;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static union bpf_attr map_attr(void)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = VALUE_SIZE;
	a.max_entries = 4;
	return a;
}

static const struct bpfi_verifier_map *checked_map_by_fd(int fd, void *cookie)
{
	static const struct bpfi_verifier_map m = { .type = BPF_MAP_TYPE_ARRAY,
						    .key_size = 4,
						    .value_size = VALUE_SIZE,
						    .max_entries = 4 };

	(void)fd;
	(void)cookie;
	return &m;
}

/*
 * The program our runtime accepted as @ofd (@p, its map references naming our map), run in
 * the checked interpreter on the runtime's relocated instructions with the facts of a check
 * of @p: NULL when it ran clean, else the violation.
 */
static const char *run_checked(int ofd, const struct bpf_insn *p, uint32_t n, uint64_t *ctx,
			       uint32_t ctx_size, char *why, size_t why_size)
{
	struct bpfi_verifier_fact *facts = calloc(n, sizeof(*facts));
	struct bpfi_verifier_opts vo = {
		.sz = sizeof(vo),
		.prog_type = BPF_PROG_TYPE_KPROBE,
		.map_by_fd = checked_map_by_fd,
		.facts = facts,
	};
	struct checked_opts co = {
		.facts = facts,
		.ctx = (uint64_t)(uintptr_t)ctx,
		.ctx_size = ctx_size,
		.env = bpfi_runtime_env(),
		.why = why,
		.why_size = why_size,
	};
	struct rt_obj *obj;
	uint64_t r0;
	int err;

	ck_assert_ptr_nonnull(facts);
	why[0] = '\0';
	ck_assert_int_eq(bpfi_verifier_check(p, n, &vo, NULL), 0);
	ck_assert_int_eq(runtime__obj_lookup_fd(ofd, RT_PROG, &obj), 0);
	ck_assert_uint_eq(obj->prog.insn_cnt, n);
	err = checked_interp_run(obj->prog.xlated, n, &co, &r0);
	runtime__obj_put(obj);
	free(facts);
	return err == CHECKED_VIOLATION ? why : NULL;
}

static union bpf_attr prog_attr(const struct bpf_insn *p, uint32_t n, char *log, size_t size)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_KPROBE;
	a.insns = (uintptr_t)p;
	a.insn_cnt = n;
	a.license = (uintptr_t) "GPL";
	a.log_buf = (uintptr_t)log;
	a.log_size = (uint32_t)size;
	a.log_level = log ? 1 : 0;
	return a;
}

/* The last line of a verifier log that is not a statistics line. */
static const char *reason(char *log)
{
	char *end = log + strlen(log), *start;

	for (;;) {
		while (end > log && (end[-1] == '\n' || end[-1] == ' '))
			*--end = '\0';
		start = strrchr(log, '\n');
		start = start ? start + 1 : log;
		if (start == log ||
		    (strncmp(start, "processed ", 10) && strncmp(start, "verification time", 17)))
			return start;
		end = start;
	}
}

/* Disagreements by the refusing side's reason, numbers left out: a count and one example. */
struct kind {
	char reason[160];
	uint32_t count;
	uint64_t seed;
};

static void normalize(const char *in, char *out, size_t size)
{
	size_t o = 0;

	if (!strncmp(in, "insn ", 5) && strchr(in, ':'))
		in = strchr(in, ':') + 2;
	for (; *in && o + 1 < size; in++) {
		if (in[0] == '0' && in[1] == 'x') { /* a hex number: one # */
			for (in += 2; (*in >= '0' && *in <= '9') || (*in >= 'a' && *in <= 'f');
			     in++)
				;
			in--;
			if (!o || out[o - 1] != '#')
				out[o++] = '#';
		} else if (*in >= '0' && *in <= '9') {
			if (o && out[o - 1] == '#')
				continue;
			out[o++] = '#';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

/* True the first time @why is seen (the caller then shows the program). */
static bool count_kind(struct kind *kinds, uint32_t *nr, const char *why, uint64_t seed)
{
	char norm[160];
	uint32_t i;

	normalize(why, norm, sizeof(norm));
	for (i = 0; i < *nr; i++) {
		if (!strcmp(kinds[i].reason, norm)) {
			kinds[i].count++;
			return false;
		}
	}
	if (*nr == MAX_KINDS)
		return false;
	snprintf(kinds[*nr].reason, sizeof(kinds[0].reason), "%s", norm);
	kinds[*nr].count = 1;
	kinds[(*nr)++].seed = seed;
	return true;
}

static void print_kinds(const char *what, const struct kind *kinds, uint32_t nr)
{
	for (uint32_t i = 0; i < nr; i++)
		fprintf(stderr, "verifier_kernel: %s: %5u x %s (first: seed %llu)\n", what,
			kinds[i].count, kinds[i].reason, (unsigned long long)kinds[i].seed);
}

static void show(const char *what, uint64_t seed, const struct bpf_insn *p, uint32_t n,
		 const char *ours, const char *kernel)
{
	fprintf(stderr, "verifier_kernel: %s: seed %llu (%u insns): ours: %s; kernel: %s\n", what,
		(unsigned long long)seed, n, ours, kernel);
	for (uint32_t i = 0; i < n; i++)
		fprintf(stderr, "  %3u: %02x %x %x %6d %d\n", i, p[i].code, p[i].dst_reg,
			p[i].src_reg, p[i].off, p[i].imm);
}

START_TEST(kernel_differential)
{
	struct bpfi_runtime_opts opts = { .sz = sizeof(opts), .backend = BPFI_JIT_INTERP };
	static char klog[1 << 20], olog[4096];
	static struct bpf_insn p[MAX_INSNS];
	static struct kind ours_kinds[MAX_KINDS], kernel_kinds[MAX_KINDS];
	uint32_t nr_ours_kinds = 0, nr_kernel_kinds = 0;
	bool verbose = getenv("BPFI_VERIFIER_KERNEL_SHOW") != NULL;
	uint32_t agree_acc = 0, agree_rej = 0, ours_only = 0, kernel_only = 0, checked_runs = 0;
	uint64_t ctx[21];
	union bpf_attr a;
	int kmap, omap;
	uint64_t seed;

	ck_assert_int_eq(bpfi_runtime_init(&opts, NULL), 0);
	a = map_attr();
	kmap = (int)sys_bpf(BPF_MAP_CREATE, &a);
	ck_assert_int_ge(kmap, 0);
	a = map_attr();
	omap = (int)bpfi_runtime_bpf(BPF_MAP_CREATE, &a, sizeof(a));
	ck_assert_int_ge(omap, 0);
	for (seed = 1; seed <= NR_PROGS; seed++) {
		uint32_t n = generate(seed, p);
		long kfd, ofd;

		set_map(p, n, kmap);
		a = prog_attr(p, n, NULL, 0);
		kfd = sys_bpf(BPF_PROG_LOAD, &a);
		set_map(p, n, omap);
		olog[0] = '\0';
		a = prog_attr(p, n, olog, sizeof(olog));
		ofd = bpfi_runtime_bpf(BPF_PROG_LOAD, &a, sizeof(a));
		if (kfd >= 0 && ofd >= 0) {
			agree_acc++;
		} else if (kfd < 0 && ofd < 0) {
			agree_rej++;
		} else if (ofd >= 0) {
			/* Ours only: it must run clean here (the interpreter). */
			ours_only++;
			set_map(p, n, kmap);
			klog[0] = '\0';
			a = prog_attr(p, n, klog, sizeof(klog));
			sys_bpf(BPF_PROG_LOAD, &a);
			if (count_kind(ours_kinds, &nr_ours_kinds, reason(klog), seed) && verbose)
				show("accepted by us only", seed, p, n, "accepted", reason(klog));
			for (uint32_t i = 0; i < 21; i++)
				ctx[i] = seed * 0x100000001b3ull * (i + 1);
			memset(&a, 0, sizeof(a));
			a.test.prog_fd = (uint32_t)ofd;
			a.test.ctx_in = (uintptr_t)ctx;
			a.test.ctx_size_in = sizeof(ctx);
			ck_assert_msg(bpfi_runtime_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)) == 0,
				      "seed %llu: accepted by us only and its run failed",
				      (unsigned long long)seed);
			{
				char why[256];
				const char *v = run_checked((int)ofd, p, n, ctx, sizeof(ctx), why,
							    sizeof(why));

				ck_assert_msg(!v, "seed %llu: accepted by us only, checked run: %s",
					      (unsigned long long)seed, v);
			}
			checked_runs++;
		} else {
			kernel_only++;
			if (count_kind(kernel_kinds, &nr_kernel_kinds, reason(olog), seed) &&
			    verbose)
				show("accepted by the kernel only", seed, p, n, reason(olog),
				     "accepted");
		}
		if (kfd >= 0)
			close((int)kfd);
		if (ofd >= 0)
			bpfi_runtime_close((int)ofd, &(bool){ false });
	}
	fprintf(stderr,
		"verifier_kernel: %u programs: %u accepted by both, %u refused by both, "
		"%u accepted by us only (all ran clean, %u of them in the checked interpreter), "
		"%u accepted by the kernel only\n",
		NR_PROGS, agree_acc, agree_rej, ours_only, checked_runs, kernel_only);
	print_kinds("accepted by us only, the kernel says", ours_kinds, nr_ours_kinds);
	print_kinds("accepted by the kernel only, we say", kernel_kinds, nr_kernel_kinds);
	close(kmap);
	bpfi_runtime_fini();
}
END_TEST

/* Exit 77 (skipped) where the kernel will not load a program: not root, or no bpf(2). */
static bool kernel_bpf_available(void)
{
	static const struct bpf_insn prog[] = { MOV64_IMM(0, 0), EXIT };
	union bpf_attr a = prog_attr(prog, 2, NULL, 0);
	long fd = sys_bpf(BPF_PROG_LOAD, &a);

	if (fd < 0)
		return false;
	close((int)fd);
	return true;
}

Suite *verifier_kernel_suite(void);
Suite *verifier_kernel_suite(void)
{
	Suite *s = suite_create("verifier_kernel");
	TCase *tc = tcase_create("differential");

	if (!kernel_bpf_available()) {
		fprintf(stderr,
			"verifier_kernel: the kernel loads no programs here (%s), "
			"skipped\n",
			strerror(errno));
		exit(77);
	}
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, kernel_differential);
	suite_add_tcase(s, tc);
	return s;
}
