// SPDX-License-Identifier: MIT
/*
 * Injection benchmark (DESIGN.md §5): how long a busy thread of a 7- and a 57-thread target
 * is held while bpfinject attaches (maps the stub, the arena and the block, then patches one
 * probe), and how much memory the target gains. Not a test: prints a table.
 * Usage: bench_inject PAUSE_TARGET [REPS]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/arena.h>
#include <bpfinject/injector.h>

struct target {
	pid_t pid;
	int to, from;
};

static const char *target_path;

static int read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 5000) <= 0 || read(fd, buf + len, 1) != 1)
			return -1;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	return 0;
}

static int start(struct target *t, int threads)
{
	char arg[16], line[64];
	int in[2], out[2];

	if (pipe(in) || pipe(out))
		return -1;
	snprintf(arg, sizeof(arg), "%d", threads);
	t->pid = fork();
	if (t->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(target_path, target_path, arg, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->to = in[1];
	t->from = out[0];
	return read_line(t->from, line, sizeof(line));
}

static void stop(struct target *t)
{
	kill(t->pid, SIGKILL);
	waitpid(t->pid, NULL, 0);
	close(t->to);
	close(t->from);
}

static long stall_ns(struct target *t)
{
	char line[128];
	long stall = -1, calls;

	if (write(t->to, "p", 1) != 1 || read_line(t->from, line, sizeof(line)) ||
	    sscanf(line, "stall_ns %ld calls %ld", &stall, &calls) != 2)
		return -1;
	return stall;
}

static void reset(struct target *t)
{
	if (write(t->to, "r", 1) != 1)
		perror("write");
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Rss: %ld kB", &kib) == 1)
			break;
	}
	if (f)
		fclose(f);
	return kib;
}

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/* A program of the JIT'd kind: counts its hits in the arena (lock inc [imm64]). */
static size_t counting_program(uint8_t *code, uint64_t counter)
{
	size_t n = 0;

	code[n++] = 0x48;
	code[n++] = 0xb8;
	memcpy(code + n, &counter, 8);
	n += 8;
	memcpy(code + n, "\xf0\x48\xff\x00\x31\xc0\xc3", 7);
	return n + 7;
}

/* One attach: open + one probe + commit. Returns the busy thread's longest stall. */
static int attach_once(struct target *t, struct bpfi_arena *arena, uint64_t coff, long *ret_stall,
		       long *ret_host_ns, long *ret_commit_ns, long *ret_rss_delta)
{
	char buf[512] = "", exe[512], path[64];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_target_opts o = { .sz = sizeof(o), .arena_fd = bpfi_arena_fd(arena) };
	struct bpfi_target *tg = NULL;
	uint64_t foff, fsize, addr, fn;
	uint8_t code[32];
	long t0, rss0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	if (bpfi_elf_find_function(exe, "bench_victim", &foff, &fsize, &log) ||
	    bpfi_proc_offset_to_addr(t->pid, exe, foff, &addr, &log))
		goto fail;
	rss0 = rss_kib(t->pid);
	usleep(20000);
	reset(t);
	usleep(20000);
	t0 = now_ns();
	if (bpfi_target_open(t->pid, &o, &tg, &log) ||
	    bpfi_target_add_code(tg, code,
				 counting_program(code, bpfi_target_arena_addr(tg) + coff), 0, &fn,
				 &log) ||
	    bpfi_target_add_probe(tg, addr, addr, fsize, false, fn, &log))
		goto fail;
	*ret_host_ns = now_ns() - t0;
	t0 = now_ns();
	if (bpfi_target_commit(tg, &log))
		goto fail;
	*ret_commit_ns = now_ns() - t0;
	usleep(30000);
	*ret_stall = stall_ns(t);
	usleep(100000);
	*ret_rss_delta = rss_kib(t->pid) - rss0;
	bpfi_target_restore(tg, NULL);
	bpfi_target_close(tg);
	return 0;
fail:
	fprintf(stderr, "bench_inject: %s", buf);
	bpfi_target_close(tg);
	return -1;
}

static void run(int threads, int reps, struct bpfi_arena *arena, uint64_t coff)
{
	long stall[64], host[64], commit[64], rss[64], floor[64];
	int ok = 0;

	for (int r = 0; r < reps && r < 64; r++) {
		struct target t;

		if (start(&t, threads)) {
			fprintf(stderr, "bench_inject: cannot start %s\n", target_path);
			return;
		}
		usleep(50000);
		reset(&t);
		usleep(30000);
		floor[ok] = stall_ns(&t);
		if (!attach_once(&t, arena, coff, &stall[ok], &host[ok], &commit[ok], &rss[ok]))
			ok++;
		stop(&t);
	}
	if (!ok)
		return;
	qsort(stall, (size_t)ok, sizeof(long), cmp_long);
	qsort(host, (size_t)ok, sizeof(long), cmp_long);
	qsort(commit, (size_t)ok, sizeof(long), cmp_long);
	qsort(rss, (size_t)ok, sizeof(long), cmp_long);
	qsort(floor, (size_t)ok, sizeof(long), cmp_long);
	printf("| %3d | %4d | %8.3f | %8.3f | %8.3f | %8.3f | %8.3f | %6ld |\n", threads, ok,
	       stall[ok / 2] / 1e6, stall[ok * 9 / 10] / 1e6, floor[ok / 2] / 1e6,
	       host[ok / 2] / 1e6, commit[ok / 2] / 1e6, rss[ok / 2]);
}

int main(int argc, char **argv)
{
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	int reps = argc > 2 ? atoi(argv[2]) : 15;
	struct bpfi_arena *arena;
	uint64_t coff;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_inject PAUSE_TARGET [REPS]\n");
		return 2;
	}
	target_path = argv[1];
	if (bpfi_arena_new(64 << 20, &arena, &log)) {
		fprintf(stderr, "bench_inject: %s", buf);
		return 1;
	}
	coff = bpfi_arena_alloc(arena, 64, 8);
	printf("Injection pause: busy thread's longest stall while attaching (open + 1 probe + commit)\n");
	printf("| threads | runs | stall median ms | stall p90 ms | noise floor ms | setup ms (main thread held) | patch ms (all threads held) | target RSS added KiB |\n");
	printf("|---|---|---|---|---|---|---|---|\n");
	run(7, reps, arena, coff);
	run(57, reps, arena, coff);
	bpfi_arena_free(arena);
	return 0;
}
