// SPDX-License-Identifier: MIT
/*
 * Syscall tracepoint overhead (issue 4 §4), side by side in one run: a tight getpid loop in a
 * target process, bare; with every syscall site rewritten but no program on getpid; with a
 * counting program on sys_enter_getpid run inside the target; the same with --catch-all, at
 * the rewritten site and from generated code (a signal per call); and with the same program
 * in the kernel (bpftrace, as root). Not a test: prints a table.
 * Usage: bench_syscall TARGET_SYSCALLS [CALLS] [REPS]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpfinject/arena.h>
#include <bpfinject/injector.h>
#include <bpfinject/jit.h>

#define MAX_REPS 15

struct target {
	pid_t pid;
	int to, from;
};

static int read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	size_t len = 0;

	while (len + 1 < size) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, timeout_ms) <= 0 || read(fd, buf + len, 1) != 1)
			return -1;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	return 0;
}

static int start(struct target *t, const char *path, long calls)
{
	char n[32], line[64];
	int in[2], out[2];

	if (pipe(in) || pipe(out))
		return -1;
	snprintf(n, sizeof(n), "%ld", calls);
	t->pid = fork();
	if (t->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(path, path, "/dev/null", n, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->to = in[1];
	t->from = out[0];
	return read_line(t->from, line, sizeof(line), 5000);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median ns per getpid over @reps loops of the target: 'b' libc's getpid, 'j' generated code. */
static double loops(struct target *t, int reps, const char *how)
{
	double v[MAX_REPS];
	char line[64];

	for (int r = 0; r < reps; r++) {
		if (write(t->to, how, 1) != 1 || read_line(t->from, line, sizeof(line), 60000) ||
		    sscanf(line, "bench %lf", &v[r]) != 1)
			return -1;
	}
	qsort(v, (size_t)reps, sizeof(v[0]), cmp_double);
	return v[reps / 2];
}

/* lock *(u64 *)counter += 1; return 0 — what `@c = count()` amounts to. */
static int counting_prog(struct bpfi_target *tg, uint64_t counter, uint64_t *ret_fn,
			 struct bpfi_log *log)
{
	struct bpf_insn p[] = {
		{ BPF_LD | BPF_DW | BPF_IMM, 1, 0, 0, (int32_t)(uint32_t)counter },
		{ 0, 0, 0, 0, (int32_t)(counter >> 32) },
		{ BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 1 },
		{ BPF_STX | BPF_DW | BPF_ATOMIC, 1, 2, 0, BPF_ADD },
		{ BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0 },
		{ BPF_JMP | BPF_EXIT, 0, 0, 0, 0 },
	};
	uint64_t helpers[BPFI_HELPER_MAX];
	struct bpfi_jit_image *img = NULL;
	struct bpfi_jit_opts opts;
	int err;

	bpfi_target_jit_opts(tg, &opts, helpers);
	err = bpfi_jit_compile(p, sizeof(p) / sizeof(p[0]), &opts, &img, log);
	if (!err)
		err = bpfi_target_add_code(tg, bpfi_jit_image_code(img), bpfi_jit_image_size(img),
					   0, ret_fn, log);
	bpfi_jit_image_free(img);
	return err;
}

/* Injects a counting program on sys_enter of @nr, measures loop @how, restores. */
static double in_target(struct target *t, struct bpfi_arena *arena, long nr, bool catch_all,
			const char *how, volatile uint64_t *counter, uint64_t off,
			struct bpfi_log *log)
{
	struct bpfi_target_opts o = { .sz = sizeof(o), .arena_fd = bpfi_arena_fd(arena) };
	struct bpfi_target *tg = NULL;
	double ns = -1;
	uint64_t fn;
	int err;

	*counter = 0;
	err = bpfi_target_open(t->pid, &o, &tg, log);
	if (!err)
		err = counting_prog(tg, bpfi_target_arena_addr(tg) + off, &fn, log);
	if (!err)
		err = bpfi_target_add_syscall_prog(tg, nr, false, fn, log);
	if (!err && catch_all)
		err = bpfi_target_catch_all(tg, log);
	if (!err)
		err = bpfi_target_plan_syscalls(tg, log);
	if (!err)
		err = bpfi_target_commit(tg, log);
	if (!err)
		ns = loops(t, 1, how);
	if (tg)
		bpfi_target_restore(tg, log);
	bpfi_target_close(tg);
	return err ? -1 : ns;
}

/* The same count in the kernel: bpftrace attached, measured, stopped. -1 when unavailable. */
static double in_kernel(struct target *t, int reps)
{
	char line[256] = "";
	int out[2], status;
	double ns = -1;
	pid_t bt;
	FILE *f;

	if (geteuid() != 0 || pipe(out))
		return -1;
	bt = fork();
	if (bt == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		execlp("bpftrace", "bpftrace", "-e",
		       "tracepoint:syscalls:sys_enter_getpid { @c = count(); }", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	while (f && fgets(line, sizeof(line), f) && !strstr(line, "Attaching"))
		;
	if (strstr(line, "Attaching")) {
		usleep(200000); /* attached once it says so; leave it a moment */
		ns = loops(t, reps, "b");
	}
	kill(bt, SIGINT);
	while (f && fgets(line, sizeof(line), f))
		;
	waitpid(bt, &status, 0);
	if (f)
		fclose(f);
	return ns;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

/*
 * Each repetition measures the four cases back to back, so that drift of a shared machine
 * hits them alike; overheads are medians of the per-repetition differences.
 */
int main(int argc, char **argv)
{
	long calls = argc > 2 ? atol(argv[2]) : 2000000;
	int reps = argc > 3 ? atoi(argv[3]) : 7;
	double bare[MAX_REPS], other[MAX_REPS], target[MAX_REPS], kernel[MAX_REPS];
	double d_other[MAX_REPS], d_target[MAX_REPS], d_kernel[MAX_REPS], ratio[MAX_REPS];
	double bare_j[MAX_REPS], all[MAX_REPS], all_j[MAX_REPS], d_all[MAX_REPS], d_all_j[MAX_REPS];
	char buf[1024] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_arena *arena = NULL;
	volatile uint64_t *counter;
	bool have_kernel = true;
	struct target t;
	uint64_t off;
	int status, err = 0;

	if (argc < 2 || reps < 1 || reps > MAX_REPS) {
		fprintf(stderr, "usage: %s TARGET_SYSCALLS [CALLS] [REPS <= %d]\n", argv[0],
			MAX_REPS);
		return 2;
	}
	if (start(&t, argv[1], calls) || bpfi_arena_new(16 << 20, &arena, &log)) {
		fprintf(stderr, "bench_syscall: cannot start: %s\n", buf);
		return 1;
	}
	off = bpfi_arena_alloc(arena, 64, 64);
	counter = (volatile uint64_t *)(bpfi_arena_base(arena) + off);
	for (int r = 0; r < reps && !err; r++) {
		bare[r] = loops(&t, 1, "b");
		other[r] = in_target(&t, arena, SYS_getppid, false, "b", counter, off, &log);
		target[r] = in_target(&t, arena, SYS_getpid, false, "b", counter, off, &log);
		if (target[r] > 0 && *counter != (uint64_t)calls)
			fprintf(stderr, "bench_syscall: the program counted %llu calls, not %ld\n",
				(unsigned long long)*counter, calls);
		/* --catch-all: the same rewritten sites (through gadgets), and generated code */
		all[r] = in_target(&t, arena, SYS_getpid, true, "b", counter, off, &log);
		bare_j[r] = loops(&t, 1, "j");
		all_j[r] = in_target(&t, arena, SYS_getpid, true, "j", counter, off, &log);
		if (all_j[r] > 0 && *counter != (uint64_t)calls)
			fprintf(stderr,
				"bench_syscall: the catch-all counted %llu calls, not %ld\n",
				(unsigned long long)*counter, calls);
		d_all[r] = all[r] - bare[r];
		d_all_j[r] = all_j[r] - bare_j[r];
		kernel[r] = have_kernel ? in_kernel(&t, 1) : -1;
		have_kernel = kernel[r] > 0;
		err = bare[r] < 0 || other[r] < 0 || target[r] < 0 || all[r] < 0 || all_j[r] < 0;
		d_other[r] = other[r] - bare[r];
		d_target[r] = target[r] - bare[r];
		d_kernel[r] = kernel[r] - bare[r];
		ratio[r] = d_kernel[r] / d_target[r];
	}
	if (err) {
		fprintf(stderr, "bench_syscall: %s", buf);
		return 1;
	}
	printf("getpid loop, %ld calls, %d repetitions: medians, ns per call (overhead)\n", calls,
	       reps);
	printf("  bare                                   %7.1f\n", median(bare, reps));
	printf("  sites rewritten, no program on getpid  %7.1f  (+%.1f)\n", median(other, reps),
	       median(d_other, reps));
	printf("  sys_enter_getpid counting, in target   %7.1f  (+%.1f)\n", median(target, reps),
	       median(d_target, reps));
	printf("  --catch-all, rewritten sites           %7.1f  (+%.1f)\n", median(all, reps),
	       median(d_all, reps));
	printf("  --catch-all, generated code (SIGSYS)   %7.1f  (+%.1f)  bare %.1f\n",
	       median(all_j, reps), median(d_all_j, reps), median(bare_j, reps));
	if (have_kernel) {
		printf("  sys_enter_getpid counting, kernel      %7.1f  (+%.1f)  bpftrace\n",
		       median(kernel, reps), median(d_kernel, reps));
		printf("  kernel overhead / in-target overhead   %7.1fx\n", median(ratio, reps));
	} else {
		printf("  kernel (bpftrace): not measured (needs root and bpftrace)\n");
	}
	if (write(t.to, "q", 1) == 1)
		waitpid(t.pid, &status, 0);
	bpfi_arena_free(arena);
	return 0;
}
