// SPDX-License-Identifier: MIT
/*
 * The catch-all for system calls no trampoline serves (issue 4, DESIGN.md D9): Syscall User
 * Dispatch sends every call made outside one address range to SIGSYS, handled in the stub
 * (stub/catchall.c). The range is the stub's mapping: its image, then gadgets `syscall; jmp
 * back` that rewritten sites' trampolines make their calls through, so that they are not
 * dispatched a second time.
 *
 * Armed per thread with PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG (Linux 6.4) while every
 * thread is held at commit; tasks created later arm themselves in the stub. Detaching disarms
 * every thread and tells armed stragglers to disarm themselves; the SIGSYS action stays the
 * stub's (a process may still have a thread between "armed" and "told"), and it behaves as
 * the default action for any SIGSYS that is not a dispatched call.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "injector_internal.h"

#define PTRACE_GET_SUD_CONFIG 0x4211
#define PTRACE_SET_SUD_CONFIG 0x4210
#define SUD_ON		      1 /* PR_SYS_DISPATCH_ON (EXCLUSIVE_ON): all but the range */
#define SA_RESTORER_	      0x04000000ull
#define SIGSYS_BIT	      (1ull << (SIGSYS - 1))

int injector__sud_get(pid_t tid, struct injector_sud *cfg)
{
	return ptrace((enum __ptrace_request)PTRACE_GET_SUD_CONFIG, tid, (void *)sizeof(*cfg), cfg)
		       ? -errno
		       : 0;
}

int injector__sud_set(pid_t tid, const struct injector_sud *cfg)
{
	return ptrace((enum __ptrace_request)PTRACE_SET_SUD_CONFIG, tid, (void *)sizeof(*cfg),
		      (void *)cfg)
		       ? -errno
		       : 0;
}

uint64_t inject__gadget(struct bpfi_target *t, uint64_t back)
{
	uint8_t *p;

	if (!t->stub_host || t->gadgets_used + GADGET_SIZE > GADGET_AREA_SIZE)
		return 0;
	p = t->stub_host + t->gadgets_off + t->gadgets_used;
	memcpy(p, "\x0f\x05\xff\x25\0\0\0\0", 8); /* syscall; jmp [rip + 0] */
	memcpy(p + 8, &back, 8);
	t->gadgets_used += GADGET_SIZE;
	return t->stub + t->gadgets_off + t->gadgets_used - GADGET_SIZE;
}

/* A hex signal mask line of /proc/PID[/task/TID]/status ("SigBlk:", "SigCgt:"). */
static bool status_has_sigsys(const char *path, const char *key)
{
	char line[256];
	unsigned long long mask = 0;
	size_t klen = strlen(key);
	FILE *f = fopen(path, "re");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen)) {
			sscanf(line + klen, "%llx", &mask);
			break;
		}
	}
	if (f)
		fclose(f);
	return mask & SIGSYS_BIT;
}

/* Is @addr inside a stub some bpfinject mapped there (a SIGSYS action we left earlier)? */
static bool in_a_stub(pid_t pid, uint64_t addr)
{
	char path[64], line[512];
	unsigned long long s, e;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%llx-%llx", &s, &e) == 2 && addr >= s && addr < e &&
			strstr(line, "bpfinject-stub");
	if (f)
		fclose(f);
	return found;
}

static int check_threads(pid_t pid, struct bpfi_log *log)
{
	unsigned int n = 0;
	pid_t *tids = NULL;
	char path[96];
	int err;

	err = injector__list_tasks(pid, &tids, &n);
	if (err)
		return bpfi_log_err(log, err, "process %d: cannot list its threads: %s", pid,
				    strerror(-err));
	for (unsigned int i = 0; i < n && !err; i++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tids[i]);
		if (status_has_sigsys(path, "SigBlk:"))
			err = bpfi_log_err(
				log, -EBUSY,
				"--catch-all: thread %d of process %d blocks SIGSYS, which the catch-all needs",
				tids[i], pid);
	}
	free(tids);
	return err;
}

int bpfi_target_catch_all(struct bpfi_target *t, struct bpfi_log *log)
{
	struct bpfi_sc_catch_all *c = &t->block->sc.catch_all;
	uint64_t act_addr = t->block_addr + offsetof(struct bpfi_target_hdr, sc.catch_all.act);
	uint64_t old_addr = t->block_addr + offsetof(struct bpfi_target_hdr, sc.catch_all.old_act);
	struct injector_sud probe;
	long args[4], r;
	int err;

	if (t->block->sc.nr_sites)
		return bpfi_log_err(log, -EINVAL,
				    "bug: the catch-all is set before syscall sites are planned");
	if (!t->stub_hdr.sigsys_handler)
		return bpfi_log_err(log, -ENOTSUP, "the stub in process %d has no SIGSYS handler",
				    t->pid);
	err = check_threads(t->pid, log);
	if (!err)
		err = inject__hold_one(t, log);
	if (err)
		return err;
	/* The ptrace interface is what arms threads at commit: without it, say so now. */
	err = injector__sud_get(t->inj->threads[0].tid, &probe);
	if (err)
		return bpfi_log_err(
			log, err,
			"--catch-all: Syscall User Dispatch cannot be set by a tracer on this kernel (%s; Linux 6.4 or later)",
			strerror(-err));
	if (probe.mode && !in_a_stub(t->pid, probe.offset))
		return bpfi_log_err(log, -EBUSY,
				    "--catch-all: process %d uses Syscall User Dispatch itself",
				    t->pid);
	/* What SIGSYS does now: the default, ignored, or a handler of its own (refused). */
	args[0] = SIGSYS;
	args[1] = 0;
	args[2] = (long)old_addr;
	args[3] = 8;
	err = bpfi_injector_syscall(t->inj, SYS_rt_sigaction, args, 4, &r, log);
	if (!err && r)
		err = bpfi_log_err(log, (int)r, "rt_sigaction(SIGSYS) in process %d: %s", t->pid,
				   strerror((int)-r));
	if (err)
		return err;
	if (c->old_act[0] > 1 && !in_a_stub(t->pid, c->old_act[0]))
		return bpfi_log_err(
			log, -EBUSY,
			"--catch-all: process %d handles SIGSYS itself (a seccomp sandbox?); the catch-all needs that signal",
			t->pid);
	if (c->old_act[0] > 1)
		memset(c->old_act, 0, sizeof(c->old_act)); /* ours, from an earlier session */
	/* SA_NODEFER: a handler the call runs into (a signal while it blocks) may make calls of
	 * its own that come back here. SA_RESTART: as the kernel would restart them. */
	c->act[0] = t->stub + t->stub_hdr.sigsys_handler;
	c->act[1] = SA_SIGINFO | SA_NODEFER | SA_RESTART | SA_RESTORER_;
	c->act[2] = t->stub + t->stub_hdr.sigsys_restorer;
	c->act[3] = 0;
	args[1] = (long)act_addr;
	args[2] = 0;
	err = bpfi_injector_syscall(t->inj, SYS_rt_sigaction, args, 4, &r, log);
	if (!err && r)
		err = bpfi_log_err(log, (int)r, "rt_sigaction(SIGSYS) in process %d: %s", t->pid,
				   strerror((int)-r));
	if (err)
		return err;
	c->region_lo = t->stub;
	c->region_len = t->stub_size;
	t->catch_all = true;
	return 0;
}

uint64_t bpfi_target_catch_all_caught(const struct bpfi_target *t)
{
	return atomic_load(&t->block->sc.catch_all.caught);
}

int inject__catch_all_arm(struct bpfi_target *t, struct bpfi_log *log)
{
	struct bpfi_sc_catch_all *c = &t->block->sc.catch_all;
	struct injector_sud on = { .mode = SUD_ON, .offset = c->region_lo, .len = c->region_len };
	unsigned int armed = 0;

	if (!t->catch_all || t->catch_all_armed)
		return 0;
	atomic_store((_Atomic uint32_t *)&c->on, 1); /* before any thread runs: children arm */
	for (unsigned int i = 0; i < t->inj->nr_threads; i++) {
		const struct inj_thread *th = &t->inj->threads[i];
		int err;

		if (th->gone)
			continue;
		err = injector__sud_set(th->tid, &on);
		if (err == -ESRCH)
			continue; /* exited while held: nothing to arm */
		if (err)
			return bpfi_log_err(
				log, err,
				"--catch-all: arming Syscall User Dispatch in thread %d: %s%s",
				th->tid, strerror(-err),
				err == -EPERM ? " (sysctl kernel.syscall_user_dispatch is 0?)"
					      : "");
		armed++;
	}
	t->catch_all_armed = armed > 0;
	return 0;
}

int inject__catch_all_disarm(struct bpfi_target *t, struct bpfi_log *log)
{
	struct bpfi_sc_catch_all *c = &t->block->sc.catch_all;
	const struct injector_sud off = { 0 };
	int first = 0;

	if (!atomic_load((_Atomic uint32_t *)&c->on))
		return 0;
	atomic_store((_Atomic uint32_t *)&c->on, 0); /* stragglers disarm themselves */
	for (unsigned int i = 0; i < t->inj->nr_threads; i++) {
		const struct inj_thread *th = &t->inj->threads[i];
		struct injector_sud cur;
		int err;

		if (th->gone || injector__sud_get(th->tid, &cur) || !cur.mode ||
		    cur.offset != c->region_lo)
			continue;
		err = injector__sud_set(th->tid, &off);
		if (err && err != -ESRCH && !first)
			first = bpfi_log_err(log, err,
					     "disarming Syscall User Dispatch in thread %d: %s",
					     th->tid, strerror(-err));
	}
	t->catch_all_armed = false;
	return first;
}
