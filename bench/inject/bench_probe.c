// SPDX-License-Identifier: MIT
/*
 * Probe overhead, side by side in one run (DESIGN.md §5): the CPU time per call of a small
 * function, bare, with a program attached by bpfinject (inside the process), and with the
 * same program attached as a kernel uprobe by the system's libbpf (as root). Programs: empty,
 * and counting into a hash map; at entry (uprobe) and at return (uretprobe). Two functions
 * (probe_target.c): one whose first instruction the kernel must single-step (its slow path),
 * one starting with `push %rbp`, which it emulates (its common case).
 * Usage: bench_probe BUILD_DIR   (prints a Markdown table per function)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char target_path[600], obj[600], bpfinject[600], kloader[600];

struct child {
	pid_t pid;
	int out, err;
};

static int spawn(struct child *c, char *const argv[], bool want_out)
{
	int out[2], err[2];

	if (pipe(out) || pipe(err))
		return -1;
	c->pid = fork();
	if (c->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(want_out ? out[1] : null, 1);
		dup2(err[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	c->out = out[0];
	c->err = err[0];
	return 0;
}

static void reap(struct child *c)
{
	kill(c->pid, SIGTERM);
	waitpid(c->pid, NULL, 0);
	close(c->out);
	close(c->err);
}

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

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Drops the rounds the target printed before now: they are from before the change. */
static void drain(int fd)
{
	char buf[4096];
	int flags = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	fcntl(fd, F_SETFL, flags);
}

/* The median of @n rounds from now, after dropping @skip (the round a change fell into). */
static double rounds(struct child *t, int skip, int n)
{
	double v[16];
	char line[128];

	drain(t->out);
	read_line(t->out, line, sizeof(line), 60000); /* the rest of a partial line */
	for (int i = 0; i < skip + n; i++) {
		if (read_line(t->out, line, sizeof(line), 60000) ||
		    sscanf(line, "ns_per_call %lf", &v[i < skip ? 0 : i - skip]) != 1)
			return -1;
	}
	qsort(v, (size_t)n, sizeof(double), cmp);
	return v[n / 2];
}

/* Starts an attacher and waits for it to say it is attached; -1 if it failed. */
static int attach(struct child *a, char *const argv[])
{
	char line[512];

	if (spawn(a, argv, false))
		return -1;
	while (!read_line(a->err, line, sizeof(line), 20000)) {
		if (strstr(line, "attached"))
			return 0;
		fprintf(stderr, "  %s", line);
	}
	reap(a);
	return -1;
}

static const char *const progs[] = { "empty_entry", "count_entry", "empty_return", "count_return" };
static const char *const what[] = { "uprobe, empty program", "uprobe, count into hash map",
				    "uretprobe, empty program", "uretprobe, count into hash map" };

/* One table: @func in a target started with @arg (NULL or "fp"). */
static int table(const char *func, const char *arg, const char *title)
{
	char *targv[] = { target_path, (char *)arg, NULL }, pid[16], spec[64];
	struct child t;

	if (spawn(&t, targv, true))
		return 1;
	snprintf(pid, sizeof(pid), "%d", t.pid);
	printf("%s (`%s`): per-call CPU time (median of 5 rounds of 100 ms of calls); overhead = "
	       "probed - bare\n\n",
	       title, func);
	printf("| probe | bare ns | bpfinject ns | bpfinject overhead ns | kernel ns | kernel "
	       "overhead ns | kernel/bpfinject overhead |\n|---|---|---|---|---|---|---|\n");
	fflush(stdout);
	for (int i = 0; i < 4; i++) {
		char *bargv[] = {
			bpfinject, "-p", pid, obj, "-a", spec, "--duration", "600", NULL
		};
		char *kargv[] = { kloader, obj, (char *)progs[i], target_path, (char *)func,
				  pid,	   NULL };
		double bare, ours = -1, kern = -1;
		struct child a;

		snprintf(spec, sizeof(spec), "%s=%s", progs[i], func);
		bare = rounds(&t, 1, 5);
		if (!attach(&a, bargv)) {
			ours = rounds(&t, 1, 5);
			reap(&a);
		}
		if (!attach(&a, kargv)) {
			kern = rounds(&t, 1, 3);
			reap(&a);
		}
		printf("| %s | %.2f | %.2f | %.2f | %.1f | %.1f | %.0fx |\n", what[i], bare, ours,
		       ours - bare, kern, kern - bare,
		       ours > bare && kern > 0 ? (kern - bare) / (ours - bare) : 0.0);
		fflush(stdout);
	}
	printf("\n");
	reap(&t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bench_probe BUILD_DIR\n");
		return 2;
	}
	snprintf(target_path, sizeof(target_path), "%s/bench/inject/probe_target", argv[1]);
	snprintf(obj, sizeof(obj), "%s/bench/inject/probe_progs.bpf.o", argv[1]);
	snprintf(bpfinject, sizeof(bpfinject), "%s/cli/bpfinject", argv[1]);
	snprintf(kloader, sizeof(kloader), "%s/bench/inject/kernel_loader", argv[1]);
	if (table("bench_victim", NULL,
		  "First instruction RIP-relative, single-stepped by the kernel"))
		return 1;
	return table("bench_victim_fp", "fp", "A `push %rbp` prologue, emulated by the kernel");
}
