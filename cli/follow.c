// SPDX-License-Identifier: MIT
/*
 * `-- CMD` follows the command's descendants exactly. bpfinject stays the ptrace tracer of
 * the command's whole process tree (injector/spawn.c, bpfi_tree_*): a forked child inherits
 * the probes (the same patched text, the shared arena, a wiped per-thread state) and is just
 * let go on; a process that execs loses them with its old image, so it is held at its new
 * main() and injected again before any of its code runs, however short-lived it is.
 *
 * -p PID targets are not our children and we are not their tracer between injections: their
 * descendants are not followed (a tracer must be attached before the fork to see it).
 *
 * What being traced changes for the command: each signal it receives and each fork waits for
 * us to answer the stop (tens of microseconds); a stopped process shows 't', not 'T', in
 * /proc; no debugger can attach; a set-user-ID program runs without its privileges unless
 * bpfinject has CAP_SYS_PTRACE (the kernel's rule for traced execs). Should bpfinject die,
 * the tree runs on, untraced (no PTRACE_O_EXITKILL).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/injector.h>

#include "cli_internal.h"

/* The followed command (CLI state, one per bpfinject run). */
static bool follow_enabled;
static struct bpfi_tree *tree;
static int chld_fd = -1; /* signalfd: SIGCHLD, which the tree's stops and exits send us */
static sigset_t saved_mask;
static bool full_said; /* "more than N processes" is said once */

struct exec_ctx {
	struct cli_target *cts;
	unsigned int *n;
	unsigned int max;
};

void cli__follow_enable(void)
{
	follow_enabled = true;
}

bool cli__follow_enabled(void)
{
	return follow_enabled;
}

bool cli__follow_active(void)
{
	return tree != NULL;
}

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Stops of the tree wake the event loop: SIGCHLD, read from a signalfd. Blocked only now,
 * after the command started, so that it does not inherit the blocked signal. */
static void watch_children(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, &saved_mask))
		return;
	chld_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (chld_fd < 0)
		sigprocmask(SIG_SETMASK, &saved_mask, NULL);
}

int cli__follow_spawn(char **cmd, struct cli_target *ct, struct bpfi_log *log)
{
	struct bpfi_injector *inj;
	pid_t pid;
	int err;

	err = bpfi_tree_spawn(cmd, &tree, &inj, log);
	if (err)
		return err;
	pid = bpfi_injector_pid(inj);
	err = cli__inject(ct, pid, inj, log); /* takes the session over */
	if (err) {
		kill(pid, SIGKILL);
		bpfi_tree_detach(tree); /* collects it */
		tree = NULL;
		return err;
	}
	ct->followed = true;
	watch_children();
	return 0;
}

static struct cli_target *find(struct cli_target *cts, unsigned int n, pid_t pid)
{
	for (unsigned int i = 0; i < n; i++) {
		if (cts[i].pid == pid)
			return &cts[i];
	}
	return NULL;
}

/* A process of the tree exec'd and is held at its new main: inject it, let it go. */
static void on_exec(pid_t pid, struct bpfi_injector *inj, const char *why, void *cookie)
{
	char buf[CLI_REASON_MAX] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct exec_ctx *c = cookie;
	struct cli_target *ct = find(c->cts, *c->n, pid);
	bool spawned = false;

	if (ct) {
		/* Its old image, probes and all, is gone: nothing there to restore. */
		spawned = ct->spawned;
		cli__detach(ct, true, NULL);
	} else if (*c->n < c->max) {
		ct = &c->cts[(*c->n)++];
		memset(ct, 0, sizeof(*ct));
		ct->pid = pid;
	}
	if (!ct) {
		bpfi_injector_detach(inj);
		if (!full_said)
			cli__warn("follow",
				  "process %d: more than %u processes at once; not probed", pid,
				  c->max);
		full_said = true;
		return;
	}
	ct->followed = true;
	if (!inj) {
		ct->t = NULL;
		ct->spawned = spawned;
		cli__warn("follow", "process %d: %s", pid, why);
		return;
	}
	if (cli__inject(ct, pid, inj, &log)) {
		buf[strcspn(buf, "\n")] = '\0';
		cli__warn("follow", "process %d: %s", pid, buf);
		ct->t = NULL;
		ct->pid = pid;
		ct->spawned = spawned;
		ct->followed = true;
		return;
	}
	/* cli__inject() started afresh: it took a held session for a spawned command */
	ct->spawned = spawned;
	ct->followed = true;
	fprintf(stderr, "bpfinject: attached %u probe%s to process %d (after exec)\n", ct->probes,
		ct->probes == 1 ? "" : "s", pid);
}

/* Followed processes that have exited free their slot (the maps keep what they counted). The
 * tracer hears of an exit first: no look at a zombie its parent has yet to collect. */
static void forget_exited(struct cli_target *cts, unsigned int *n, pid_t root)
{
	for (unsigned int i = 0; i < *n;) {
		if (cts[i].followed && cts[i].pid != root && !bpfi_tree_traces(tree, cts[i].pid)) {
			cli__detach(&cts[i], true, NULL);
			cts[i] = cts[--(*n)];
			continue;
		}
		i++;
	}
}

int cli__follow(struct cli_target *cts, unsigned int *n, unsigned int max)
{
	struct exec_ctx c = { .cts = cts, .n = n, .max = max };
	struct signalfd_siginfo si;
	struct cli_target *root;
	int status, stops;

	if (!tree)
		return 0;
	while (chld_fd >= 0 && read(chld_fd, &si, sizeof(si)) == sizeof(si))
		; /* drained before looking, so that a stop after the look wakes us again */
	stops = bpfi_tree_poll(tree, on_exec, &c);
	root = find(cts, *n, bpfi_tree_root(tree));
	if (root && bpfi_tree_root_exited(tree, &status))
		root->exit_status = exit_code(status);
	forget_exited(cts, n, bpfi_tree_root(tree));
	return stops;
}

bool cli__follow_alive(struct cli_target *ct)
{
	if (tree && ct->followed && ct->pid == bpfi_tree_root(tree))
		return !bpfi_tree_root_exited(tree, NULL);
	if (tree && ct->followed)
		return ct->t && bpfi_tree_traces(tree, ct->pid);
	return ct->t && cli__target_alive(ct); /* -p PID */
}

static void wait_children(int timeout_ms)
{
	struct pollfd pfd = { .fd = chld_fd, .events = POLLIN };

	if (timeout_ms <= 0)
		return;
	if (chld_fd < 0)
		usleep((useconds_t)timeout_ms * 1000);
	else
		poll(&pfd, 1, timeout_ms);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms(void)
{
	return now_us() / 1000;
}

/*
 * Stops come in runs (each call --catch-all catches is a SIGSYS, so a stop): after one, the
 * next is looked for at once for a few tens of microseconds before sleeping again, which
 * saves the two wake-ups a sleep costs (a caught call: 41 us through sleeps, far less so).
 */
#define SPIN_US 50

void cli__follow_run(struct cli_target *cts, unsigned int *n, unsigned int max, int ms)
{
	int64_t until = now_ms() + ms;

	/* Every stop answered as soon as it comes (a process of the command waits in it), for
	 * @ms; the rest of the event loop's work is done once per turn. */
	do {
		wait_children((int)(until - now_ms()));
		for (int64_t spin = cli__follow(cts, n, max) ? now_us() + SPIN_US : 0;
		     now_us() < spin && tree;)
			if (cli__follow(cts, n, max))
				spin = now_us() + SPIN_US;
	} while (!cli__stop_requested && tree && !bpfi_tree_root_exited(tree, NULL) &&
		 now_ms() < until);
}

void cli__follow_end(struct cli_target *cts, unsigned int n)
{
	struct cli_target *root;
	int status;

	if (!tree)
		return;
	root = find(cts, n, bpfi_tree_root(tree));
	status = bpfi_tree_detach(tree);
	tree = NULL;
	if (root && status != -1)
		root->exit_status = exit_code(status);
	/* Not traced any more: the probes are restored through sessions of their own. */
	for (unsigned int i = 0; i < n; i++) {
		if (cts[i].t)
			bpfi_target_set_traced(cts[i].t, false);
	}
	if (chld_fd >= 0) {
		close(chld_fd);
		chld_fd = -1;
		sigprocmask(SIG_SETMASK, &saved_mask, NULL);
	}
}
