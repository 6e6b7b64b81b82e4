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

/* The mask line @key ("SigBlk:", "SigCgt:") of /proc/PID[/task/TID]/status. */
static uint64_t status_mask(const char *path, const char *key)
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
	return mask;
}

/*
 * A SIGSYS forced on a thread that blocks it kills the process, and masks set before the
 * catch-all was on are still in force when it arms (a thread inside pthread_create() has
 * every signal blocked for a moment; a handler installed earlier may block all while it
 * runs). So, every thread held: threads that block SIGSYS now unblock it, and handlers whose
 * sa_mask holds it lose it (later changes are kept clear of SIGSYS by the stub).
 */
static int clear_sigsys_masks(struct bpfi_target *t, struct bpfi_log *log)
{
	struct bpfi_sc_catch_all *c = &t->block->sc.catch_all;
	uint64_t at = t->block_addr + offsetof(struct bpfi_target_hdr, sc.catch_all.scratch);
	char path[96];
	uint64_t caught;
	long args[4], r;
	int err;

	c->scratch[0] = SIGSYS_BIT;
	for (unsigned int i = 0; i < t->inj->nr_threads; i++) {
		const struct inj_thread *th = &t->inj->threads[i];

		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", t->pid, th->tid);
		if (th->gone || !(status_mask(path, "SigBlk:") & SIGSYS_BIT))
			continue;
		args[0] = SIG_UNBLOCK;
		args[1] = (long)at;
		args[2] = 0;
		args[3] = 8;
		err = injector__syscall_on(t->inj, th->tid, SYS_rt_sigprocmask, args, 4, &r, log);
		if (err || r)
			return bpfi_log_err(
				log, err ? err : (int)r,
				"--catch-all: thread %d blocks SIGSYS and cannot unblock it",
				th->tid);
	}
	snprintf(path, sizeof(path), "/proc/%d/status", t->pid);
	caught = status_mask(path, "SigCgt:");
	for (int sig = 1; sig <= 64; sig++) {
		if (!(caught & (1ull << (sig - 1))) || sig == SIGSYS)
			continue;
		args[0] = sig;
		args[1] = 0;
		args[2] = (long)(at + 8); /* the current action, into scratch[1..4] */
		args[3] = 8;
		err = bpfi_injector_syscall(t->inj, SYS_rt_sigaction, args, 4, &r, log);
		if (err)
			return err;
		if (r || !(c->scratch[4] & SIGSYS_BIT))
			continue;
		c->scratch[4] &= ~SIGSYS_BIT;
		args[1] = (long)(at + 8);
		args[2] = 0;
		err = bpfi_injector_syscall(t->inj, SYS_rt_sigaction, args, 4, &r, log);
		if (err)
			return err;
	}
	return 0;
}

int inject__catch_all_arm(struct bpfi_target *t, struct bpfi_log *log)
{
	struct bpfi_sc_catch_all *c = &t->block->sc.catch_all;
	struct injector_sud on = { .mode = SUD_ON, .offset = c->region_lo, .len = c->region_len };
	unsigned int armed = 0;
	int err;

	if (!t->catch_all || t->catch_all_armed)
		return 0;
	err = clear_sigsys_masks(t, log);
	if (err)
		return err;
	atomic_store((_Atomic uint32_t *)&c->on, 1); /* before any thread runs: children arm */
	for (unsigned int i = 0; i < t->inj->nr_threads; i++) {
		const struct inj_thread *th = &t->inj->threads[i];

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
