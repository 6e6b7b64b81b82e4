// SPDX-License-Identifier: MIT
/*
 * A ptrace session: seize every thread of a target, run system calls in it, read and write
 * its memory, and give it back as it was. Every failure path undoes what was done.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "injector_internal.h"

#define DEFAULT_TIMEOUT_MS 2000
/* A thread list that keeps changing after this many scans is a fork bomb, not a target. */
#define MAX_TASK_SCANS 100

static struct inj_thread *find_thread(struct bpfi_injector *inj, pid_t tid)
{
	for (unsigned int i = 0; i < inj->nr_threads; i++) {
		if (inj->threads[i].tid == tid)
			return &inj->threads[i];
	}
	return NULL;
}

static int add_thread(struct bpfi_injector *inj, pid_t tid)
{
	if (inj->nr_threads == inj->cap_threads) {
		unsigned int cap = inj->cap_threads ? inj->cap_threads * 2 : 16;
		struct inj_thread *grown = realloc(inj->threads, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		inj->threads = grown;
		inj->cap_threads = cap;
	}
	memset(&inj->threads[inj->nr_threads], 0, sizeof(inj->threads[0]));
	inj->threads[inj->nr_threads++].tid = tid;
	return 0;
}

/* Takes hold of one thread: seized, or (borrowed) already ours and just interrupted. */
static int grab(struct bpfi_injector *inj, pid_t tid, struct bpfi_log *log)
{
	return inj->borrowed ? injector__interrupt(tid, log) : injector__seize(inj, tid, log);
}

/* Explains an EPERM from PTRACE_SEIZE: another tracer, or no right to trace at all. */
static int explain_eperm(pid_t pid, struct bpfi_log *log)
{
	pid_t tracer = injector__tracer_pid(pid);

	bpfi_log_reset(log);
	if (tracer > 0)
		return bpfi_log_err(log, -EPERM, "process %d is already traced by process %d", pid,
				    tracer);
	return bpfi_log_err(
		log, -EPERM,
		"not permitted to trace process %d (another user, no CAP_SYS_PTRACE, or ptrace_scope)",
		pid);
}

/* Is thread @tid gone or on its way out (a zombie, dead)? */
static bool exiting(pid_t tid)
{
	char state = injector__proc_state(tid);

	return !state || state == 'Z' || state == 'X' || state == 'x';
}

/* Seizes every thread not yet held, until a scan of /proc/PID/task finds none new. */
static int seize_all(struct bpfi_injector *inj, struct bpfi_log *log)
{
	for (int scan = 0; scan < MAX_TASK_SCANS; scan++) {
		unsigned int n, added = 0;
		pid_t *tids;
		int err;

		err = injector__list_tasks(inj->pid, &tids, &n);
		if (err)
			return bpfi_log_err(log, err, "process %d: no such process", inj->pid);
		for (unsigned int i = 0; i < n && !err; i++) {
			if (find_thread(inj, tids[i]))
				continue;
			err = grab(inj, tids[i], log);
			/* The kernel refuses a thread that is exiting with EPERM, not ESRCH. */
			if (err == -EPERM && tids[i] != inj->pid && exiting(tids[i]))
				err = -ESRCH;
			if (err == -ESRCH) { /* exited meanwhile: nothing to hold */
				err = 0;
				continue;
			}
			if (!err)
				err = add_thread(inj, tids[i]);
			added++;
		}
		free(tids);
		if (err == -EPERM)
			return explain_eperm(inj->pid, log);
		if (err)
			return err;
		if (!added)
			return inj->nr_threads
				       ? 0
				       : bpfi_log_err(log, -ESRCH, "process %d exited", inj->pid);
	}
	return bpfi_log_err(log, -EAGAIN, "process %d keeps creating threads; gave up", inj->pid);
}

/* The main thread alone, or (if it has exited, leaving a zombie leader) another one. */
static int seize_one(struct bpfi_injector *inj, struct bpfi_log *log)
{
	unsigned int n;
	pid_t *tids;
	int err;

	if (injector__proc_state(inj->pid) != 'Z') {
		err = grab(inj, inj->pid, log);
		if (!err)
			return add_thread(inj, inj->pid);
		if (err == -EPERM)
			return explain_eperm(inj->pid, log);
		if (err != -ESRCH)
			return err;
	}
	err = injector__list_tasks(inj->pid, &tids, &n);
	if (err)
		return bpfi_log_err(log, err, "process %d: no such process", inj->pid);
	err = -ESRCH;
	for (unsigned int i = 0; i < n && err == -ESRCH; i++) {
		if (tids[i] != inj->pid)
			err = grab(inj, tids[i], log);
		if (!err)
			err = add_thread(inj, tids[i]);
	}
	free(tids);
	if (err == -EPERM)
		return explain_eperm(inj->pid, log);
	return err == -ESRCH ? bpfi_log_err(log, err, "process %d exited", inj->pid) : err;
}

static int stop_all(struct bpfi_injector *inj, struct bpfi_log *log)
{
	unsigned int alive = 0;

	for (unsigned int i = 0; i < inj->nr_threads; i++) {
		struct inj_thread *th = &inj->threads[i];
		int err = injector__wait_stop(inj, th, log);

		if (err == -ESRCH)
			continue; /* exited while we attached: fine unless all do */
		if (err)
			return err;
		if (ptrace(PTRACE_GETREGS, th->tid, 0, &th->saved) < 0) {
			err = -errno;
			if (err == -ESRCH) {
				th->gone = true;
				continue;
			}
			return bpfi_log_err(log, err, "PTRACE_GETREGS of thread %d: %s", th->tid,
					    strerror(-err));
		}
		alive++;
	}
	if (!alive)
		return bpfi_log_err(log, -ESRCH, "process %d exited while attaching", inj->pid);
	return 0;
}

int bpfi_injector_attach(pid_t pid, const struct bpfi_injector_opts *opts,
			 struct bpfi_injector **ret_inj, struct bpfi_log *log)
{
	struct bpfi_injector *inj;
	char path[64], state;
	int err;

	if (pid <= 0)
		return bpfi_log_err(log, -EINVAL, "invalid process id %d", pid);
	state = injector__proc_state(pid);
	if (!state || state == 'Z' || state == 'X')
		return bpfi_log_err(log, -ESRCH, "process %d: no such process", pid);
	if (state == 'T' && injector__tracer_pid(pid) == 0)
		return bpfi_log_err(
			log, -EAGAIN,
			"process %d is stopped (job control); continue it first (kill -CONT %d)",
			pid, pid);
	inj = calloc(1, sizeof(*inj));
	if (!inj)
		return -ENOMEM;
	inj->pid = pid;
	inj->mem_fd = -1;
	inj->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	inj->borrowed =
		opts && opts->sz > offsetof(struct bpfi_injector_opts, borrow) && opts->borrow;
	if (opts && opts->one_thread)
		err = seize_one(inj, log);
	else
		err = seize_all(inj, log);
	if (!err)
		err = stop_all(inj, log);
	if (!err) {
		snprintf(path, sizeof(path), "/proc/%d/mem", pid);
		inj->mem_fd = open(path, O_RDWR | O_CLOEXEC);
		if (inj->mem_fd < 0)
			err = bpfi_log_err(log, -errno, "%s: %s", path, strerror(errno));
	}
	if (err) {
		bpfi_injector_detach(inj);
		return err;
	}
	*ret_inj = inj;
	return 0;
}

void bpfi_injector_detach(struct bpfi_injector *inj)
{
	if (!inj)
		return;
	if (inj->scratch) {
		long args[2] = { (long)inj->scratch, BPFI_SCRATCH_SIZE }, r;

		bpfi_injector_syscall(inj, SYS_munmap, args, 2, &r, NULL);
	}
	for (unsigned int i = 0; i < inj->nr_threads; i++) {
		struct inj_thread *th = &inj->threads[i];

		if (!th->gone)
			injector__release(inj, th);
		injector__seccomp_free(th->seccomp);
	}
	if (inj->mem_fd >= 0)
		close(inj->mem_fd);
	free(inj->threads);
	free(inj);
}

bool injector__maps_has(pid_t pid, uint64_t addr, const char *name)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strtoull(line, NULL, 16) == addr && strstr(line, name);
	if (f)
		fclose(f);
	return found;
}

pid_t bpfi_injector_pid(const struct bpfi_injector *inj)
{
	return inj->pid;
}

unsigned int bpfi_injector_nr_threads(const struct bpfi_injector *inj)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < inj->nr_threads; i++)
		n += !inj->threads[i].gone;
	return n;
}
