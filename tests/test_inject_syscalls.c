// SPDX-License-Identifier: MIT
/*
 * Syscall tracepoints in real processes: programs JIT-compiled for the target on
 * sys_enter/sys_exit events and raw_syscalls, counted against what the target counts itself,
 * bpf_override_return failing its writes with EIO, every byte of every module put back, and
 * per-syscall counts of a coreutils command compared with the kernel's own tracepoints.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/arena.h>
#include <bpfinject/injector.h>
#include <bpfinject/jit.h>

#include "test_util.h"

#define ROUND_N 1000

/* eBPF instructions, spelled out (the kernel's filter.h macros, abridged). */
#define LD_IMM64(dst, v)                                                            \
	{ BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0, (int32_t)(uint32_t)(uint64_t)(v) }, \
	{                                                                           \
		0, 0, 0, 0, (int32_t)((uint64_t)(v) >> 32)                          \
	}
#define MOV_IMM(dst, imm)                                   \
	{                                                   \
		BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm \
	}
#define MOV_REG(dst, src)                                   \
	{                                                   \
		BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0 \
	}
#define ALU_IMM(op, dst, imm)                            \
	{                                                \
		BPF_ALU64 | (op) | BPF_K, dst, 0, 0, imm \
	}
#define ALU_REG(op, dst, src)                            \
	{                                                \
		BPF_ALU64 | (op) | BPF_X, dst, src, 0, 0 \
	}
#define LDX(sz, dst, src, off)                             \
	{                                                  \
		BPF_LDX | (sz) | BPF_MEM, dst, src, off, 0 \
	}
#define STX(sz, dst, src, off)                             \
	{                                                  \
		BPF_STX | (sz) | BPF_MEM, dst, src, off, 0 \
	}
#define XADD(dst, src, off)                                           \
	{                                                             \
		BPF_STX | BPF_DW | BPF_ATOMIC, dst, src, off, BPF_ADD \
	}
#define JMP_IMM(op, dst, imm, o)                       \
	{                                              \
		BPF_JMP | (op) | BPF_K, dst, 0, o, imm \
	}
#define CALL(id)                                \
	{                                       \
		BPF_JMP | BPF_CALL, 0, 0, 0, id \
	}
#define EXIT                                   \
	{                                      \
		BPF_JMP | BPF_EXIT, 0, 0, 0, 0 \
	}

struct target {
	pid_t pid;
	int to, from;
	char file[64];
};

static void target_start_threads(struct target *t, int threads)
{
	char path[1024], line[64], n[16], th[16];
	int in[2], out[2], fd;

	snprintf(t->file, sizeof(t->file), "/tmp/bpfi-sc-XXXXXX");
	fd = mkstemp(t->file);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/tests/fixtures/target_syscalls", getenv("BPFI_BUILD_DIR"));
	snprintf(n, sizeof(n), "%d", ROUND_N);
	snprintf(th, sizeof(th), "%d", threads);
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	t->pid = fork();
	if (t->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(path, path, t->file, n, th, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->to = in[1];
	t->from = out[0];
	ck_assert_int_eq(test_read_line(t->from, line, sizeof(line), 5000), 0);
}

static void target_start(struct target *t)
{
	target_start_threads(t, 1);
}

struct round {
	long n, ok, eio, other, size;
	size_t line_len;
};

static struct round target_round(struct target *t)
{
	struct round r = { -1, -1, -1, -1, -1, 0 };
	char line[160];

	ck_assert_int_eq(write(t->to, "r", 1), 1);
	ck_assert_int_eq(test_read_line(t->from, line, sizeof(line), 10000), 0);
	ck_assert_msg(sscanf(line, "done %ld ok %ld eio %ld other %ld size %ld", &r.n, &r.ok,
			     &r.eio, &r.other, &r.size) == 5,
		      "target said: %s", line);
	r.line_len = strlen(line);
	return r;
}

static void target_quit(struct target *t)
{
	int status;

	ck_assert_int_eq(write(t->to, "q", 1), 1);
	ck_assert_int_eq(waitpid(t->pid, &status, 0), t->pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "target status %#x", status);
	close(t->to);
	close(t->from);
	unlink(t->file);
}

/* JIT-compiles @insns for the target and copies them there. @return the entry */
static uint64_t jit_into(struct bpfi_target *tg, const struct bpf_insn *insns, uint32_t cnt)
{
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	uint64_t helpers[BPFI_HELPER_MAX], fn;
	struct bpfi_jit_image *img = NULL;
	struct bpfi_jit_opts opts;

	bpfi_target_jit_opts(tg, &opts, helpers);
	ck_assert_msg(bpfi_jit_compile(insns, cnt, &opts, &img, &log) == 0, "jit: %s", buf);
	ck_assert_msg(bpfi_target_add_code(tg, bpfi_jit_image_code(img), bpfi_jit_image_size(img),
					   0, &fn, &log) == 0,
		      "%s", buf);
	bpfi_jit_image_free(img);
	return fn;
}

/*
 * slot[1] = common_type; slot[2] = common_pid; slot[3] = the number at 8;
 * slot[4] = the word at 16 (args[0], or ret); slot[5] = the word at 32 (args[2], enter only);
 * then slot[0] += 1, last, so that a count seen means the fields of that event are in place.
 */
static uint64_t record_prog(struct bpfi_target *tg, uint64_t slot, bool enter)
{
	struct bpf_insn p[] = {
		MOV_REG(6, 1),
		LD_IMM64(1, slot),
		LDX(BPF_H, 2, 6, 0),
		STX(BPF_DW, 1, 2, 8),
		LDX(BPF_W, 2, 6, 4),
		STX(BPF_DW, 1, 2, 16),
		LDX(BPF_DW, 2, 6, 8),
		STX(BPF_DW, 1, 2, 24),
		LDX(BPF_DW, 2, 6, 16),
		STX(BPF_DW, 1, 2, 32),
		LDX(BPF_DW, 2, 6, enter ? 32 : 16),
		STX(BPF_DW, 1, 2, 40),
		MOV_IMM(2, 1),
		XADD(1, 2, 0),
		MOV_IMM(0, 0),
		EXIT,
	};

	return jit_into(tg, p, sizeof(p) / sizeof(p[0]));
}

/* counts[id] += 1 for raw_syscalls (`long id` at 8), ids below 512. */
static uint64_t per_nr_prog(struct bpfi_target *tg, uint64_t counts)
{
	struct bpf_insn p[] = {
		LDX(BPF_DW, 2, 1, 8),
		JMP_IMM(BPF_JGE, 2, 512, 6),
		ALU_IMM(BPF_LSH, 2, 3),
		LD_IMM64(1, counts),
		ALU_REG(BPF_ADD, 1, 2),
		MOV_IMM(3, 1),
		XADD(1, 3, 0),
		MOV_IMM(0, 0),
		EXIT,
	};

	return jit_into(tg, p, sizeof(p) / sizeof(p[0]));
}

/*
 * For getppid only (the number at 8): slot[1] |= the words at 64, 72, 1024 and 2040 (the
 * last a tracepoint program may read), and at 24 and 56 for an exit record (past its 24
 * bytes); then slot[0] += 1. Every word must be zero: bytes past the record are ours.
 */
static uint64_t past_record_prog(struct bpfi_target *tg, uint64_t slot, bool exit)
{
	struct bpf_insn p[] = {
		LDX(BPF_DW, 2, 1, 8),
		JMP_IMM(BPF_JNE, 2, SYS_getppid, 16),
		LDX(BPF_DW, 2, 1, 64),
		LDX(BPF_DW, 3, 1, 72),
		ALU_REG(BPF_OR, 2, 3),
		LDX(BPF_DW, 3, 1, 1024),
		ALU_REG(BPF_OR, 2, 3),
		LDX(BPF_DW, 3, 1, 2040),
		ALU_REG(BPF_OR, 2, 3),
		LDX(BPF_DW, 3, 1, exit ? 24 : 64),
		ALU_REG(BPF_OR, 2, 3),
		LDX(BPF_DW, 3, 1, exit ? 56 : 64),
		ALU_REG(BPF_OR, 2, 3),
		LD_IMM64(1, slot),
		{ BPF_STX | BPF_DW | BPF_ATOMIC, 1, 2, 8, BPF_OR },
		MOV_IMM(2, 1),
		XADD(1, 2, 0),
		MOV_IMM(0, 0),
		EXIT,
	};

	return jit_into(tg, p, sizeof(p) / sizeof(p[0]));
}

/* bpf_override_return(ctx, -EIO) unless args[0] (the fd) is 1: the target's own reports. */
static uint64_t override_prog(struct bpfi_target *tg)
{
	struct bpf_insn p[] = {
		LDX(BPF_DW, 2, 1, 16), JMP_IMM(BPF_JEQ, 2, 1, 2),
		MOV_IMM(2, -EIO),      CALL(58),
		MOV_IMM(0, 0),	       EXIT,
	};

	return jit_into(tg, p, sizeof(p) / sizeof(p[0]));
}

/* *@slot = bpf_override_return(ctx, 0): what the helper answers where it cannot work. */
static uint64_t override_answer_prog(struct bpfi_target *tg, uint64_t slot)
{
	struct bpf_insn p[] = {
		MOV_IMM(2, 0),	      CALL(58),	     MOV_REG(2, 0), LD_IMM64(1, slot),
		STX(BPF_DW, 1, 2, 0), MOV_IMM(0, 0), EXIT,
	};

	return jit_into(tg, p, sizeof(p) / sizeof(p[0]));
}

/* count += 1 when ret (at 16) is -EIO. */
static uint64_t count_eio_prog(struct bpfi_target *tg, uint64_t count)
{
	struct bpf_insn p[] = {
		LDX(BPF_DW, 2, 1, 16),
		JMP_IMM(BPF_JNE, 2, -EIO, 4),
		LD_IMM64(1, count),
		MOV_IMM(3, 1),
		XADD(1, 3, 0),
		MOV_IMM(0, 0),
		EXIT,
	};

	return jit_into(tg, p, sizeof(p) / sizeof(p[0]));
}

/*
 * The target's report line is read as soon as its write() is done, which may be before the
 * sys_exit programs of that write have run: exit counts are read once they settle.
 */
static int64_t settled(volatile int64_t *v, int64_t want)
{
	for (int i = 0; i < 1000 && *v != want; i++)
		usleep(1000);
	return *v;
}

/* Every executable file mapping of @pid, as bytes, to compare before and after. */
struct text {
	size_t len;
	uint8_t *bytes;
	unsigned int nr;
};

static void read_text(pid_t pid, struct text *tx)
{
	char path[64], line[1024];
	FILE *f;
	int fd;

	memset(tx, 0, sizeof(*tx));
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char perms[8], file[512] = "";

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %511s", &s, &e, perms, file) < 3 ||
		    perms[2] != 'x' || file[0] != '/' || !strncmp(file, "/memfd:", 7))
			continue;
		tx->bytes = realloc(tx->bytes, tx->len + (e - s));
		ck_assert_ptr_nonnull(tx->bytes);
		ck_assert_int_eq(pread(fd, tx->bytes + tx->len, e - s, (off_t)s), (ssize_t)(e - s));
		tx->len += e - s;
		tx->nr++;
	}
	close(fd);
	fclose(f);
}

static void print_report(const struct bpfi_target *tg)
{
	const struct bpfi_syscall_module *m;
	size_t n = bpfi_target_syscall_report(tg, &m);

	for (size_t i = 0; i < n; i++) {
		printf("inject_syscalls: %u of %u syscall sites in %s rewritten", m[i].rewritten,
		       m[i].found, m[i].path);
		for (unsigned int w = 0; w < m[i].nr_why; w++)
			printf("%s %u: %s (first 0x%llx)", w ? ";" : "; not:", m[i].why[w].count,
			       m[i].why[w].reason, (unsigned long long)m[i].why[w].first_addr);
		printf("\n");
	}
}

static const struct bpfi_syscall_module *module_named(const struct bpfi_target *tg,
						      const char *part)
{
	const struct bpfi_syscall_module *m;
	size_t n = bpfi_target_syscall_report(tg, &m);

	for (size_t i = 0; i < n; i++) {
		if (strstr(m[i].path, part))
			return &m[i];
	}
	return NULL;
}

static struct bpfi_target *open_target(pid_t pid, struct bpfi_arena *arena,
				       struct bpfi_injector *inj)
{
	char buf[512] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_target_opts o = { .sz = sizeof(o),
				      .arena_fd = bpfi_arena_fd(arena),
				      .inj = inj };
	struct bpfi_target *tg = NULL;

	ck_assert_msg(bpfi_target_open(pid, &o, &tg, &log) == 0, "open: %s", buf);
	return tg;
}

static uint32_t enter_id(long nr)
{
	const struct bpfi_syscall *sc;
	struct bpfi_syscall_ids ids;

	ck_assert_int_eq(bpfi_syscall_by_nr(nr, &sc, NULL), 0);
	ck_assert_int_eq(bpfi_syscall_live_ids(sc, NULL, &ids, NULL), 0);
	return ids.enter;
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static uint32_t exit_id(long nr)
{
	const struct bpfi_syscall *sc;
	struct bpfi_syscall_ids ids;

	ck_assert_int_eq(bpfi_syscall_by_nr(nr, &sc, NULL), 0);
	ck_assert_int_eq(bpfi_syscall_live_ids(sc, NULL, &ids, NULL), 0);
	return ids.exit;
}

/*
 * Counting programs on sys_enter_getpid, sys_enter_write, sys_exit_write and raw enter/exit:
 * every count equals what the target made, the records carry the kernel's header and fields;
 * restore puts back every byte of every module and the target goes on unprobed.
 */
START_TEST(counts_match_the_targets_own)
{
	char buf[1024] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_arena *arena = NULL;
	struct bpfi_target *tg;
	const struct bpfi_syscall_module *libc;
	volatile int64_t *slots, *raw_in, *raw_out;
	uint64_t off, a;
	struct text before, after;
	struct round r0, r1, r2;
	struct timespec ts[3];
	struct target t;

	target_start(&t);
	r0 = target_round(&t);
	ck_assert_int_eq(r0.ok, ROUND_N);
	ck_assert_int_eq(bpfi_arena_new(16 << 20, &arena, &log), 0);
	off = bpfi_arena_alloc(arena, 3 * 512 * 8, 8);
	ck_assert_uint_gt(off, 0);
	slots = (volatile int64_t *)(bpfi_arena_base(arena) + off);
	raw_in = slots + 512;
	raw_out = slots + 1024;
	read_text(t.pid, &before);
	tg = open_target(t.pid, arena, NULL);
	a = bpfi_target_arena_addr(tg) + off;
	ck_assert_int_eq(
		bpfi_target_add_syscall_prog(tg, SYS_getpid, false, record_prog(tg, a, true), &log),
		0);
	ck_assert_int_eq(bpfi_target_add_syscall_event(tg, "syscalls:sys_enter_write", 0,
						       record_prog(tg, a + 64, true), &log),
			 0);
	ck_assert_int_eq(bpfi_target_add_syscall_event(tg, NULL, exit_id(SYS_write),
						       record_prog(tg, a + 128, false), &log),
			 0);
	ck_assert_int_eq(bpfi_target_add_syscall_event(tg, "raw_syscalls:sys_enter", 0,
						       per_nr_prog(tg, a + 512 * 8), &log),
			 0);
	ck_assert_int_eq(
		bpfi_target_add_syscall_prog(tg, -1, true, per_nr_prog(tg, a + 1024 * 8), &log), 0);
	clock_gettime(CLOCK_MONOTONIC, &ts[0]);
	ck_assert_msg(bpfi_target_plan_syscalls(tg, &log) == 0, "plan: %s", buf);
	clock_gettime(CLOCK_MONOTONIC, &ts[1]);
	ck_assert_msg(bpfi_target_commit(tg, &log) == 0, "commit: %s", buf);
	clock_gettime(CLOCK_MONOTONIC, &ts[2]);
	print_report(tg);
	printf("inject_syscalls: %u sites planned in %.1f ms, committed (every thread stopped) in "
	       "%.1f ms\n",
	       bpfi_target_block(tg)->sc.nr_sites, ms_between(&ts[0], &ts[1]),
	       ms_between(&ts[1], &ts[2]));
	libc = module_named(tg, "libc.so");
	ck_assert_ptr_nonnull(libc);
	ck_assert_uint_gt(libc->rewritten, 100);

	r1 = target_round(&t);
	ck_assert_int_eq(r1.ok, ROUND_N);
	ck_assert_int_eq(r1.size, ROUND_N);
	/* sys_enter_getpid: count, header, number */
	ck_assert_int_eq(slots[0], ROUND_N);
	ck_assert_int_eq(slots[1], enter_id(SYS_getpid));
	ck_assert_int_eq(slots[2], t.pid);
	ck_assert_int_eq(slots[3], SYS_getpid);
	/* sys_enter_write: the round's writes and the report line (the last one seen) */
	ck_assert_int_eq(slots[8], ROUND_N + 1);
	ck_assert_int_eq(slots[9], enter_id(SYS_write));
	ck_assert_int_eq(slots[10], t.pid);
	ck_assert_int_eq(slots[11], SYS_write);
	ck_assert_int_eq(slots[12], 1);
	ck_assert_int_eq(slots[13], (int64_t)r1.line_len);
	/* sys_exit_write: ret is the report's length */
	ck_assert_int_eq(settled(&slots[16], ROUND_N + 1), ROUND_N + 1);
	ck_assert_int_eq(slots[17], exit_id(SYS_write));
	ck_assert_int_eq(slots[18], t.pid);
	ck_assert_int_eq(slots[19], SYS_write);
	ck_assert_int_eq(slots[20], (int64_t)r1.line_len);
	/* raw_syscalls, per number, both ways */
	ck_assert_int_eq(raw_in[SYS_getpid], ROUND_N);
	ck_assert_int_eq(raw_in[SYS_write], ROUND_N + 1);
	ck_assert_int_eq(raw_in[SYS_openat], ROUND_N + 1);
	ck_assert_int_eq(raw_in[SYS_close], ROUND_N + 1);
	ck_assert_int_eq(raw_in[SYS_newfstatat] + raw_in[SYS_stat], 1);
	ck_assert_int_ge(raw_in[SYS_read], 1);
	ck_assert_int_eq(raw_out[SYS_getpid], ROUND_N);
	ck_assert_int_eq(settled(&raw_out[SYS_write], ROUND_N + 1), ROUND_N + 1);
	ck_assert_int_eq(raw_out[SYS_openat], ROUND_N + 1);
	ck_assert_uint_eq(bpfi_target_block(tg)->sc.misses, 0);

	ck_assert_msg(bpfi_target_restore(tg, &log) == 0, "restore: %s", buf);
	read_text(t.pid, &after);
	ck_assert_uint_eq(before.nr, after.nr);
	ck_assert_uint_eq(before.len, after.len);
	ck_assert_msg(!memcmp(before.bytes, after.bytes, before.len),
		      "module text differs after restore");
	r2 = target_round(&t);
	ck_assert_int_eq(r2.ok, ROUND_N);
	ck_assert_int_eq(slots[0], ROUND_N);
	ck_assert_int_eq(raw_in[SYS_getpid], ROUND_N);
	bpfi_target_close(tg);
	target_quit(&t);
	free(before.bytes);
	free(after.bytes);
	bpfi_arena_free(arena);
}
END_TEST

/* Threads: each has its own slot and guard; every call of every thread is seen once. */
START_TEST(counts_in_threads)
{
	char buf[1024] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_arena *arena = NULL;
	volatile int64_t *slots, *raw_in, *raw_out;
	struct bpfi_target *tg;
	struct target t;
	struct round r;
	uint64_t off, a;

	target_start_threads(&t, 8);
	ck_assert_int_eq(bpfi_arena_new(16 << 20, &arena, &log), 0);
	off = bpfi_arena_alloc(arena, 3 * 512 * 8, 8);
	slots = (volatile int64_t *)(bpfi_arena_base(arena) + off);
	raw_in = slots + 512;
	raw_out = slots + 1024;
	tg = open_target(t.pid, arena, NULL);
	a = bpfi_target_arena_addr(tg) + off;
	ck_assert_int_eq(
		bpfi_target_add_syscall_prog(tg, SYS_getpid, false, record_prog(tg, a, true), &log),
		0);
	ck_assert_int_eq(
		bpfi_target_add_syscall_prog(tg, -1, false, per_nr_prog(tg, a + 512 * 8), &log), 0);
	ck_assert_int_eq(
		bpfi_target_add_syscall_prog(tg, -1, true, per_nr_prog(tg, a + 1024 * 8), &log), 0);
	ck_assert_msg(bpfi_target_plan_syscalls(tg, &log) == 0, "plan: %s", buf);
	ck_assert_msg(bpfi_target_commit(tg, &log) == 0, "commit: %s", buf);
	for (int i = 1; i <= 3; i++) {
		r = target_round(&t);
		ck_assert_int_eq(r.ok, ROUND_N);
		ck_assert_int_eq(slots[0], 8 * ROUND_N * i);
		ck_assert_int_eq(raw_in[SYS_getpid], 8 * ROUND_N * i);
		ck_assert_int_eq(raw_out[SYS_getpid], 8 * ROUND_N * i);
		ck_assert_int_eq(raw_in[SYS_write], (ROUND_N + 1) * i);
	}
	ck_assert_int_ne(slots[2], t.pid); /* the last getpid came from a thread, its own tid */
	ck_assert_uint_eq(bpfi_target_block(tg)->sc.misses, 0);
	ck_assert_int_eq(bpfi_target_restore(tg, &log), 0);
	bpfi_target_close(tg);
	target_quit(&t);
	bpfi_arena_free(arena);
}
END_TEST

/* --persist, then `detach -p` from a fresh session: the block alone restores every site. */
START_TEST(persist_then_detach)
{
	char buf[1024] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_arena *arena = NULL;
	struct bpfi_target *tg;
	struct text before, after;
	volatile int64_t *slots;
	struct target t;
	uint64_t off;

	target_start(&t);
	ck_assert_int_eq(bpfi_arena_new(16 << 20, &arena, &log), 0);
	off = bpfi_arena_alloc(arena, 64, 8);
	slots = (volatile int64_t *)(bpfi_arena_base(arena) + off);
	read_text(t.pid, &before);
	tg = open_target(t.pid, arena, NULL);
	ck_assert_int_eq(bpfi_target_add_syscall_prog(
				 tg, SYS_getpid, false,
				 record_prog(tg, bpfi_target_arena_addr(tg) + off, true), &log),
			 0);
	ck_assert_msg(bpfi_target_plan_syscalls(tg, &log) == 0, "plan: %s", buf);
	ck_assert_msg(bpfi_target_commit(tg, &log) == 0, "commit: %s", buf);
	bpfi_target_set_owner(tg, 0);
	bpfi_target_close(tg);
	target_round(&t);
	ck_assert_int_eq(slots[0], ROUND_N); /* still traced with nobody holding it */

	ck_assert_msg(bpfi_target_find(t.pid, &tg, &log) == 0, "find: %s", buf);
	ck_assert_msg(bpfi_target_restore(tg, &log) == 0, "restore: %s", buf);
	bpfi_target_close(tg);
	read_text(t.pid, &after);
	ck_assert_uint_eq(before.len, after.len);
	ck_assert_msg(!memcmp(before.bytes, after.bytes, before.len),
		      "module text differs after detach");
	target_round(&t);
	ck_assert_int_eq(slots[0], ROUND_N);
	target_quit(&t);
	free(before.bytes);
	free(after.bytes);
	bpfi_arena_free(arena);
}
END_TEST

static void target_dlopen(struct target *t)
{
	char line[64];

	ck_assert_int_eq(write(t->to, "d", 1), 1);
	ck_assert_int_eq(test_read_line(t->from, line, sizeof(line), 10000), 0);
	ck_assert_msg(!strncmp(line, "dl ", 3), "target said: %s", line);
}

/*
 * A library loaded with dlopen after the plan is not covered until planned: a second plan
 * takes only the new module, a second commit patches only its sites.
 */
START_TEST(dlopen_then_plan_again)
{
	char buf[1024] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	const struct bpfi_syscall_module *extra;
	struct bpfi_arena *arena = NULL;
	struct bpfi_target *tg;
	volatile int64_t *slots;
	size_t nr_mods;
	struct target t;
	uint64_t off;

	target_start(&t);
	ck_assert_int_eq(bpfi_arena_new(16 << 20, &arena, &log), 0);
	off = bpfi_arena_alloc(arena, 64, 8);
	slots = (volatile int64_t *)(bpfi_arena_base(arena) + off);
	tg = open_target(t.pid, arena, NULL);
	ck_assert_int_eq(bpfi_target_add_syscall_prog(
				 tg, SYS_getppid, false,
				 record_prog(tg, bpfi_target_arena_addr(tg) + off, true), &log),
			 0);
	ck_assert_msg(bpfi_target_plan_syscalls(tg, &log) == 0, "plan: %s", buf);
	ck_assert_msg(bpfi_target_commit(tg, &log) == 0, "commit: %s", buf);
	nr_mods = bpfi_target_syscall_report(tg, &extra);
	target_dlopen(&t);
	ck_assert_int_eq(slots[0], 0);
	ck_assert_ptr_null(module_named(tg, "libsc_extra"));

	ck_assert_msg(bpfi_target_plan_syscalls(tg, &log) == 0, "plan again: %s", buf);
	ck_assert_uint_eq(bpfi_target_syscall_report(tg, &extra), nr_mods + 1);
	extra = module_named(tg, "libsc_extra");
	ck_assert_ptr_nonnull(extra);
	ck_assert_uint_eq(extra->found, 1);
	ck_assert_uint_eq(extra->planned, 1);
	ck_assert_msg(bpfi_target_commit(tg, &log) == 0, "commit again: %s", buf);
	ck_assert_uint_eq(extra->rewritten, 1);
	target_dlopen(&t);
	ck_assert_int_eq(slots[0], ROUND_N);
	ck_assert_int_eq(slots[3], SYS_getppid);
	ck_assert_int_eq(bpfi_target_restore(tg, &log), 0);
	target_dlopen(&t);
	ck_assert_int_eq(slots[0], ROUND_N);
	bpfi_target_close(tg);
	target_quit(&t);
	bpfi_arena_free(arena);
}
END_TEST

/* Fault injection: write() to the file fails with EIO and writes nothing, then works again. */
START_TEST(override_write_with_eio)
{
	char buf[1024] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_arena *arena = NULL;
	struct bpfi_target *tg;
	volatile int64_t *count;
	struct round r1, r2;
	struct target t;
	uint64_t off;

	target_start(&t);
	ck_assert_int_eq(bpfi_arena_new(16 << 20, &arena, &log), 0);
	off = bpfi_arena_alloc(arena, 64, 8);
	count = (volatile int64_t *)(bpfi_arena_base(arena) + off);
	tg = open_target(t.pid, arena, NULL);
	ck_assert_int_eq(
		bpfi_target_add_syscall_prog(tg, SYS_write, false, override_prog(tg), &log), 0);
	ck_assert_int_eq(bpfi_target_add_syscall_prog(
				 tg, SYS_write, true,
				 count_eio_prog(tg, bpfi_target_arena_addr(tg) + off), &log),
			 0);
	count[1] = 1;
	ck_assert_int_eq(bpfi_target_add_syscall_prog(
				 tg, SYS_close, true,
				 override_answer_prog(tg, bpfi_target_arena_addr(tg) + off + 8),
				 &log),
			 0);
	ck_assert_msg(bpfi_target_plan_syscalls(tg, &log) == 0, "plan: %s", buf);
	ck_assert_msg(bpfi_target_commit(tg, &log) == 0, "commit: %s", buf);
	r1 = target_round(&t);
	ck_assert_int_eq(count[1], -EINVAL); /* refused at sys_exit: the call already ran */
	ck_assert_int_eq(r1.ok, 0);
	ck_assert_int_eq(r1.eio, ROUND_N);
	ck_assert_int_eq(r1.other, 0);
	ck_assert_int_eq(r1.size, 0);
	ck_assert_int_eq(*count, ROUND_N); /* sys_exit_write saw the injected result */
	ck_assert_msg(bpfi_target_restore(tg, &log) == 0, "restore: %s", buf);
	r2 = target_round(&t);
	ck_assert_int_eq(r2.ok, ROUND_N);
	ck_assert_int_eq(r2.size, ROUND_N);
	bpfi_target_close(tg);
	target_quit(&t);
	bpfi_arena_free(arena);
}
END_TEST

START_TEST(errors)
{
	char buf[512] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_arena *arena = NULL;
	struct bpfi_target *tg;
	struct target t;

	target_start(&t);
	ck_assert_int_eq(bpfi_arena_new(16 << 20, &arena, &log), 0);
	tg = open_target(t.pid, arena, NULL);
	ck_assert_int_eq(bpfi_target_add_syscall_prog(tg, 100000, false, 0x1000, &log), -ENOENT);
	ck_assert_msg(strstr(buf, "no syscall number"), "%s", buf);
	buf[0] = '\0';
	log.len = 0;
	ck_assert_int_eq(
		bpfi_target_add_syscall_event(tg, "syscalls:sys_enter_nosuch", 0, 0x1000, &log),
		-ENOENT);
	ck_assert_msg(strstr(buf, "no syscall tracepoint named"), "%s", buf);
	buf[0] = '\0';
	log.len = 0;
	ck_assert_int_eq(bpfi_target_add_syscall_event(tg, NULL, 1, 0x1000, &log), -ENOENT);
	ck_assert_msg(strstr(buf, "no syscall tracepoint has id 1"), "%s", buf);
	for (int i = 0; i < BPFI_SC_MAX_PROGS; i++)
		ck_assert_int_eq(bpfi_target_add_syscall_prog(tg, SYS_getpid, false, 0x1000, &log),
				 0);
	ck_assert_int_eq(bpfi_target_add_syscall_prog(tg, SYS_getpid, false, 0x1000, &log), -E2BIG);
	/* Never committed: the programs (bogus addresses) never run. */
	bpfi_target_close(tg);
	target_quit(&t);
	bpfi_arena_free(arena);
}
END_TEST

/*
 * bpf_override_return at a function entry (a uprobe): fixture_work of target_calls is not run
 * and returns 7, so the sum of its results the target keeps grows by 7 a call; after
 * restore, by its real results again.
 */
START_TEST(uprobe_override_return)
{
	char buf[512] = "", exe[512], path[1024], line[160];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpf_insn p[] = { MOV_IMM(2, 7), CALL(58), MOV_IMM(0, 0), EXIT };
	long c0[3], c1[3], c2[3];
	struct bpfi_arena *arena = NULL;
	uint64_t foff, fsize, addr;
	struct bpfi_target *tg;
	struct target t;
	int in[2], out[2], status;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/target_calls", getenv("BPFI_BUILD_DIR"));
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	t.pid = fork();
	if (t.pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(path, path, "1", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t.to = in[1];
	t.from = out[0];
	ck_assert_int_eq(test_read_line(t.from, line, sizeof(line), 5000), 0);
#define PAUSE(c)                                                                                   \
	do {                                                                                       \
		ck_assert_int_eq(write(t.to, "s", 1), 1);                                          \
		ck_assert_int_eq(test_read_line(t.from, line, sizeof(line), 5000), 0);             \
		ck_assert_int_eq(                                                                  \
			sscanf(line, "stopped calls %ld sum %ld retsum %ld", &c[0], &c[1], &c[2]), \
			3);                                                                        \
	} while (0)
	PAUSE(c0);
	ck_assert_int_eq(bpfi_arena_new(16 << 20, &arena, &log), 0);
	snprintf(path, sizeof(path), "/proc/%d/exe", t.pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	ck_assert_int_eq(bpfi_elf_find_function(exe, "fixture_work", &foff, &fsize, &log), 0);
	ck_assert_int_eq(bpfi_proc_offset_to_addr(t.pid, exe, foff, &addr, &log), 0);
	tg = open_target(t.pid, arena, NULL);
	ck_assert_msg(bpfi_target_add_probe(tg, addr, addr, fsize, false,
					    jit_into(tg, p, sizeof(p) / sizeof(p[0])), &log) == 0,
		      "%s", buf);
	ck_assert_msg(bpfi_target_commit(tg, &log) == 0, "commit: %s", buf);
	ck_assert_int_eq(write(t.to, "g", 1), 1);
	usleep(100000);
	PAUSE(c1);
	ck_assert_int_gt(c1[0] - c0[0], 100);
	ck_assert_int_eq(c1[2] - c0[2], 7 * (c1[0] - c0[0]));
	ck_assert_int_eq(bpfi_target_restore(tg, &log), 0);
	ck_assert_int_eq(write(t.to, "g", 1), 1);
	usleep(50000);
	PAUSE(c2);
	ck_assert_int_gt(c2[0], c1[0]);
	/* fixture_work(x) = 3x + 1 again */
	ck_assert_int_eq(c2[2] - c1[2], 3 * (c2[1] - c1[1]) + (c2[0] - c1[0]));
#undef PAUSE
	bpfi_target_close(tg);
	ck_assert_int_eq(write(t.to, "q", 1), 1);
	ck_assert_int_eq(waitpid(t.pid, &status, 0), t.pid);
	close(t.to);
	close(t.from);
	bpfi_arena_free(arena);
}
END_TEST

/*
 * The kernel's own count, from one perf event on raw_syscalls/sys_enter of @pid sampling
 * every event into a ring (one event to open and close: a tracepoint per syscall would cost
 * a synchronize_rcu each when closed).
 */
#define KRING_PAGES 256

struct kernel_trace {
	int fd;
	uint8_t *ring;
	size_t size;
};

static bool kernel_trace_open(struct kernel_trace *kt, pid_t pid)
{
	struct bpfi_syscall_ids raw;
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.sample_period = 1,
		.sample_type = PERF_SAMPLE_RAW,
	};

	bpfi_syscall_live_ids(NULL, NULL, &raw, NULL);
	attr.config = raw.enter;
	kt->size = (KRING_PAGES + 1) * 4096;
	kt->fd = (int)syscall(SYS_perf_event_open, &attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (kt->fd < 0 || !raw.live)
		return false;
	kt->ring = mmap(NULL, kt->size, PROT_READ | PROT_WRITE, MAP_SHARED, kt->fd, 0);
	ck_assert_ptr_ne(kt->ring, MAP_FAILED);
	return true;
}

/* Adds up the samples by syscall number; every event must be there (no PERF_RECORD_LOST). */
static void kernel_trace_count(struct kernel_trace *kt, uint64_t *counts)
{
	struct perf_event_mmap_page *mp = (struct perf_event_mmap_page *)kt->ring;
	uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE), pos = mp->data_tail;
	const uint8_t *data = kt->ring + mp->data_offset;
	uint64_t dsize = mp->data_size;

	for (; pos < head;) {
		struct perf_event_header h;
		uint8_t rec[512];

		for (size_t b = 0; b < sizeof(h); b++)
			((uint8_t *)&h)[b] = data[(pos + b) % dsize];
		ck_assert_uint_le(h.size, sizeof(rec));
		for (size_t b = 0; b < h.size; b++)
			rec[b] = data[(pos + b) % dsize];
		ck_assert_msg(h.type != PERF_RECORD_LOST, "the kernel lost samples");
		if (h.type == PERF_RECORD_SAMPLE) {
			int64_t id; /* after the header and the u32 raw size: `long id` at 8 */

			memcpy(&id, rec + sizeof(h) + 4 + 8, sizeof(id));
			if (id >= 0 && id < BPFI_SC_NR_MAX)
				counts[id]++;
		}
		pos += h.size;
	}
	munmap(kt->ring, kt->size);
	close(kt->fd);
}

/*
 * System calls the kernel sees from main on that are not the command's: the stub's gettid
 * (once per thread, for common_pid), its arch_prctl(ARCH_GET_FS) (once per thread, to see
 * that %fs:0 is the FS base), the mmap and mprotect of the private stack programs run
 * on (once per thread), and the injector's munmap of its scratch page when it lets the
 * command go. All run outside any site.
 */
static uint64_t artefact(int nr)
{
	return nr == SYS_gettid || nr == SYS_arch_prctl || nr == SYS_munmap || nr == SYS_mmap ||
	       nr == SYS_mprotect;
}

/*
 * With the catch-all, the calls the stub makes for its own sake: the rt_sigreturn that ends
 * each SIGSYS, the mask kept in the signal frame, fault-safe reads, children arming
 * themselves. For these the kernel may count more than the programs see.
 */
static bool catch_all_bookkeeping(int nr)
{
	return nr == SYS_rt_sigreturn || nr == SYS_rt_sigprocmask || nr == SYS_getpid ||
	       nr == SYS_process_vm_readv || nr == SYS_prctl;
}

/* The kernel's count needs tracefs for the event ids: mounted where distributions do, as root. */
static void mount_tracefs(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) && !geteuid())
		mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL);
}

/*
 * Coverage: a coreutils command held at main, every syscall counted in it by raw_syscalls
 * and by the kernel's own sys_enter_X tracepoints from main on; per syscall, equal, but for
 * the sites glibc 2.36 has that cannot take a jump: __read_nocancel (`xor %eax,%eax;
 * syscall` at a function entry, used to read locale files) and _exit (exit_group), where
 * ours may be lower (the figures are printed). With the catch-all, equal for every syscall.
 */
START_TEST(coverage_against_the_kernel)
{
	static const struct {
		bool catch_all;
		const char *argv[4];
	} cmds[] = {
		{ false, { "/bin/cat", "FILE", NULL } },
		{ false, { "/bin/ls", "-l", "/usr/lib", NULL } },
		{ false, { "/bin/cp", "FILE", "FILE.copy", NULL } },
		{ true, { "/bin/cat", "FILE", NULL } },
		{ true, { "/bin/ls", "-l", "/usr/lib", NULL } },
		{ true, { "/bin/cp", "FILE", "FILE.copy", NULL } },
	};
	char buf[1024] = "", file[] = "/tmp/bpfi-cov-XXXXXX", copy[64], *argv[4];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	int fd = mkstemp(file), devnull, saved, status;
	uint64_t kernel[BPFI_SC_NR_MAX];
	struct kernel_trace kt;
	struct bpfi_arena *arena = NULL;
	struct bpfi_injector *inj;
	struct bpfi_target *tg;
	volatile int64_t *ours;
	char data[4096];
	uint64_t off;
	pid_t pid;

	ck_assert_int_ge(fd, 0);
	mount_tracefs();
	memset(data, 'z', sizeof(data));
	for (int i = 0; i < 64; i++) /* 256 KiB: several reads and writes */
		ck_assert_int_eq(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	close(fd);
	snprintf(copy, sizeof(copy), "%s.copy", file);
	ck_assert_int_eq(bpfi_arena_new(16 << 20, &arena, &log), 0);
	off = bpfi_arena_alloc(arena, BPFI_SC_NR_MAX * 8, 8);
	ours = (volatile int64_t *)(bpfi_arena_base(arena) + off);
	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
		long total_ours = 0, total_kernel = 0, differ = 0;
		int i;

		for (i = 0; cmds[c].argv[i]; i++)
			argv[i] = !strcmp(cmds[c].argv[i], "FILE")	  ? file
				  : !strcmp(cmds[c].argv[i], "FILE.copy") ? copy
									  : (char *)cmds[c].argv[i];
		argv[i] = NULL;
		memset((void *)ours, 0, BPFI_SC_NR_MAX * 8);
		devnull = open("/dev/null", O_WRONLY);
		saved = dup(1);
		dup2(devnull, 1);
		ck_assert_msg(bpfi_injector_spawn(argv, &inj, &log) == 0, "spawn: %s", buf);
		dup2(saved, 1);
		close(saved);
		close(devnull);
		pid = bpfi_injector_pid(inj);
		tg = open_target(pid, arena, inj);
		ck_assert_int_eq(bpfi_target_add_syscall_prog(
					 tg, -1, false,
					 per_nr_prog(tg, bpfi_target_arena_addr(tg) + off), &log),
				 0);
		if (cmds[c].catch_all)
			ck_assert_msg(bpfi_target_catch_all(tg, &log) == 0, "catch-all: %s", buf);
		ck_assert_msg(bpfi_target_plan_syscalls(tg, &log) == 0, "plan: %s", buf);
		/* The kernel counts from here: the command is still held at main. */
		if (!kernel_trace_open(&kt, pid)) {
			printf("inject_syscalls: no kernel tracepoint (not root?): "
			       "coverage not compared\n");
			bpfi_target_commit(tg, &log);
			waitpid(pid, &status, 0);
			bpfi_target_close(tg);
			continue;
		}
		ck_assert_msg(bpfi_target_commit(tg, &log) == 0, "commit: %s", buf);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status %#x",
			      argv[0], status);
		memset(kernel, 0, sizeof(kernel));
		kernel_trace_count(&kt, kernel);
		print_report(tg);
		printf("inject_syscalls: coverage %s%s:", argv[0],
		       cmds[c].catch_all ? " --catch-all" : "");
		for (int nr = 0; nr < BPFI_SC_NR_MAX; nr++) {
			uint64_t k = kernel[nr];

			total_ours += ours[nr];
			total_kernel += (long)k;
			if (!k && !ours[nr])
				continue;
			printf(" %d:%lld/%llu", nr, (long long)ours[nr], (unsigned long long)k);
			k -= k ? artefact(nr) : 0;
			if (cmds[c].catch_all && catch_all_bookkeeping(nr))
				differ += (uint64_t)ours[nr] > k;
			else if (cmds[c].catch_all) /* every call, from every site */
				differ += (uint64_t)ours[nr] != k;
			else if (nr == SYS_read || nr == SYS_exit_group)
				differ +=
					(uint64_t)ours[nr] > k; /* sites libc leaves unrewritten */
			else
				differ += (uint64_t)ours[nr] != k;
		}
		printf("  (nr:ours/kernel) total %ld/%ld, missed %llu, through the catch-all %llu\n",
		       total_ours, total_kernel,
		       (unsigned long long)bpfi_target_block(tg)->sc.misses,
		       (unsigned long long)bpfi_target_catch_all_caught(tg));
		ck_assert_int_gt(total_ours, 10);
		ck_assert_msg(!differ, "%s: %ld syscalls counted differently", argv[0], differ);
		bpfi_target_close(tg);
	}
	unlink(file);
	unlink(copy);
	bpfi_arena_free(arena);
}
END_TEST

/*
 * Issue 11 B4: a tracepoint program may read 2048 bytes of its context, as in the kernel,
 * while the record is 64 bytes (24 for sys_exit). Reads past it, up to the last allowed
 * byte, find zeroes on sys_enter_X, sys_exit_X and both raw_syscalls events, never the
 * target's stack, where the caller keeps a secret just above the call.
 */
START_TEST(reads_past_the_record_find_zeroes)
{
	char buf[1024] = "", line[64];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_arena *arena = NULL;
	struct bpfi_target *tg;
	volatile uint64_t *s;
	uint64_t off, a;
	struct target t;

	target_start(&t);
	ck_assert_int_eq(bpfi_arena_new(16 << 20, &arena, &log), 0);
	off = bpfi_arena_alloc(arena, 4 * 16, 8);
	ck_assert_uint_gt(off, 0);
	s = (volatile uint64_t *)(bpfi_arena_base(arena) + off);
	tg = open_target(t.pid, arena, NULL);
	a = bpfi_target_arena_addr(tg) + off;
	ck_assert_int_eq(bpfi_target_add_syscall_prog(tg, SYS_getppid, false,
						      past_record_prog(tg, a, false), &log),
			 0);
	ck_assert_int_eq(bpfi_target_add_syscall_prog(tg, SYS_getppid, true,
						      past_record_prog(tg, a + 16, true), &log),
			 0);
	ck_assert_int_eq(bpfi_target_add_syscall_prog(tg, -1, false,
						      past_record_prog(tg, a + 32, false), &log),
			 0);
	ck_assert_int_eq(bpfi_target_add_syscall_prog(tg, -1, true,
						      past_record_prog(tg, a + 48, true), &log),
			 0);
	ck_assert_msg(bpfi_target_plan_syscalls(tg, &log) == 0, "plan: %s", buf);
	ck_assert_msg(bpfi_target_commit(tg, &log) == 0, "commit: %s", buf);

	ck_assert_int_eq(write(t.to, "s", 1), 1);
	ck_assert_int_eq(test_read_line(t.from, line, sizeof(line), 10000), 0);
	ck_assert_str_eq(line, "secret 1000\n");
	for (int e = 0; e < 4; e++) {
		ck_assert_int_eq(settled((volatile int64_t *)&s[2 * e], ROUND_N), ROUND_N);
		ck_assert_msg(s[2 * e + 1] == 0, "event %d read %#llx past its record", e,
			      (unsigned long long)s[2 * e + 1]);
	}
	ck_assert_msg(bpfi_target_restore(tg, &log) == 0, "restore: %s", buf);
	bpfi_target_close(tg);
	target_quit(&t);
	bpfi_arena_free(arena);
}
END_TEST

Suite *inject_syscalls_suite(void);
Suite *inject_syscalls_suite(void)
{
	Suite *s = suite_create("inject_syscalls");
	TCase *tc = tcase_create("live");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, counts_match_the_targets_own);
	tcase_add_test(tc, counts_in_threads);
	tcase_add_test(tc, persist_then_detach);
	tcase_add_test(tc, dlopen_then_plan_again);
	tcase_add_test(tc, override_write_with_eio);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, uprobe_override_return);
	tcase_add_test(tc, reads_past_the_record_find_zeroes);
	tcase_add_test(tc, coverage_against_the_kernel);
	suite_add_tcase(s, tc);
	return s;
}
