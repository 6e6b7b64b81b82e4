// SPDX-License-Identifier: MIT
/*
 * What syscall site trampolines call (DESIGN.md D5, D9): run the programs of sys_enter_X /
 * sys_exit_X for the record's number and those of raw_syscalls, on the tracefs-layout record
 * with its common header filled in as the kernel fills it, under the per-thread recursion
 * guard the uprobe dispatch uses. Freestanding: part of the stub.
 */
#include "dispatch_syscall.h"

#include <stdatomic.h>
#include <stdint.h>

#include <bpfinject/sys.h>
#include <bpfinject/target.h>

#include "catchall.h"
#include "dispatch.h"
#include "thread_state.h"

/* The event of @nr in @tab, or NULL when the number is out of the table. */
static inline const struct bpfi_sc_event *event_of(const struct bpfi_sc_event *tab, int64_t nr)
{
	return (uint64_t)nr < BPFI_SC_NR_MAX ? &tab[nr] : 0;
}

/* Programs published so far (acquire: their addresses are visible before the count). */
static inline uint32_t nr_progs(const struct bpfi_sc_event *ev)
{
	uint32_t n = ev ? atomic_load_explicit(&ev->nr_progs, memory_order_acquire) : 0;

	return n < BPFI_SC_MAX_PROGS ? n : BPFI_SC_MAX_PROGS;
}

/* On the thread's private stack, as the uprobe dispatch runs them (dispatch.c). */
static inline void run(struct bpfi_thread_state *ts, const struct bpfi_sc_event *ev, uint32_t n,
		       void *ctx)
{
	for (uint32_t i = 0; i < n; i++)
		stub_run_prog(ts, ev->progs[i], ctx);
}

/*
 * This thread's slot with the guard taken, or NULL (counted as a miss): a program is already
 * running on this thread (a signal handler's syscall, a helper reaching a hooked site), or
 * no slot is free. common_pid is the thread's id, as the kernel's current->pid.
 */
static struct bpfi_thread_state *enter_guard(struct bpfi_target_hdr *t)
{
	struct bpfi_thread_state *ts = stub_thread_state(t);

	if (!ts || ts->depth) {
		atomic_fetch_add_explicit(&t->sc.misses, 1, memory_order_relaxed);
		return 0;
	}
	ts->depth++;
	if (!ts->tid)
		ts->tid = (uint32_t)bpfi_syscall0(BPFI_NR_gettid);
	return ts;
}

/*
 * The thread's context buffer (target.h, struct bpfi_sc_ctx) with the record's common header:
 * common_type is set per event, common_pid is the thread's id as the kernel's current->pid.
 * Only the first 64 bytes are written: the rest of the buffer stays zero.
 */
static inline struct bpfi_sc_ctx *ctx_header(struct bpfi_thread_state *ts, int64_t nr,
					     uint64_t kind)
{
	struct bpfi_sc_ctx *c = &ts->sc;

	c->kind = kind;
	c->override_ret = 0;
	c->rec.enter.common_type = 0;
	c->rec.enter.common_flags = 0;
	c->rec.enter.common_preempt_count = 0;
	c->rec.enter.common_pid = (int32_t)ts->tid;
	c->rec.enter.nr = nr;
	return c;
}

/* The programs of one enter event: out of line, so that the common case (none) stays a
 * few loads with no frame to build. */
__attribute__((noinline)) static uint64_t enter_run(struct bpfi_sc_enter_ctx *rec,
						    struct bpfi_target_hdr *t,
						    const struct bpfi_sc_event *ev, uint32_t n,
						    uint32_t nraw)
{
	struct bpfi_thread_state *ts = enter_guard(t);
	struct bpfi_sc_ctx *c;

	if (!ts)
		return 0;
	c = ctx_header(ts, rec->nr, BPFI_SC_CTX_ENTER);
	for (int a = 0; a < 6; a++)
		c->rec.enter.args[a] = rec->args[a];
	if (n) {
		c->rec.enter.common_type = (uint16_t)ev->id;
		run(ts, ev, n, &c->rec);
	}
	if (nraw) {
		c->rec.enter.common_type = (uint16_t)t->sc.raw_enter.id;
		run(ts, &t->sc.raw_enter, nraw, &c->rec);
	}
	ts->depth--;
	rec->override_ret = c->override_ret;
	return c->kind == BPFI_SC_CTX_OVERRIDDEN;
}

uint64_t stub_syscall_events_enter(struct bpfi_sc_enter_ctx *rec, struct bpfi_target_hdr *t)
{
	const struct bpfi_sc_event *ev = event_of(t->sc.enter, rec->nr);
	uint32_t n = nr_progs(ev), nraw = nr_progs(&t->sc.raw_enter);

	if (!n && !nraw)
		return 0;
	return enter_run(rec, t, ev, n, nraw);
}

static inline int catch_all_on(const struct bpfi_target_hdr *t)
{
	return atomic_load_explicit((_Atomic uint32_t *)&t->sc.catch_all.on,
				    memory_order_relaxed) != 0;
}

/*
 * Returns non-zero when a program called bpf_override_return: the trampoline then skips the
 * syscall and returns rec->override_ret. rec->nr is never changed (the exit record reuses it).
 * With the catch-all on, a mask that would block SIGSYS is applied without it (catchall.h).
 */
uint64_t stub_syscall_enter(struct bpfi_sc_enter_ctx *rec, struct bpfi_target_hdr *t)
{
	uint64_t r = stub_syscall_events_enter(rec, t);

	if (!r && __builtin_expect(catch_all_on(t), 0) &&
	    (rec->nr == STUB_NR_rt_sigaction || rec->nr == STUB_NR_rt_sigprocmask) &&
	    stub_catchall_sanitize(rec->nr, rec->args, &rec->override_ret))
		r = 1;
	return r;
}

/* The exit record is 24 bytes: the 40 after it, an enter record's arguments, are zeroed. */
__attribute__((noinline)) static void exit_run(const struct bpfi_sc_exit_ctx *rec,
					       struct bpfi_target_hdr *t,
					       const struct bpfi_sc_event *ev, uint32_t n,
					       uint32_t nraw)
{
	struct bpfi_thread_state *ts = enter_guard(t);
	struct bpfi_sc_ctx *c;

	if (!ts)
		return;
	c = ctx_header(ts, rec->nr, BPFI_SC_CTX_EXIT);
	c->rec.exit.ret = rec->ret;
	for (int a = 0; a < 5; a++)
		c->rec.exit.pad[a] = 0;
	if (n) {
		c->rec.exit.common_type = (uint16_t)ev->id;
		run(ts, ev, n, &c->rec);
	}
	if (nraw) {
		c->rec.exit.common_type = (uint16_t)t->sc.raw_exit.id;
		run(ts, &t->sc.raw_exit, nraw, &c->rec);
	}
	ts->depth--;
}

void stub_syscall_events_exit(const struct bpfi_sc_exit_ctx *rec, struct bpfi_target_hdr *t)
{
	const struct bpfi_sc_event *ev = event_of(t->sc.exit, rec->nr);
	uint32_t n = nr_progs(ev), nraw = nr_progs(&t->sc.raw_exit);

	if (n || nraw)
		exit_run(rec, t, ev, n, nraw);
}

void stub_syscall_forget_ids(const struct bpfi_target_hdr *t)
{
	struct bpfi_thread_state *ts = stub_thread_state(t);

	if (ts)
		ts->tid = ts->tgid = 0;
}

/*
 * After clone/fork/vfork. The child of vfork (or of clone with CLONE_VM and no new TLS) has
 * the parent's thread pointer, so its per-thread slot and the ids cached there: both sides
 * forget them and ask the kernel again (the parent waits while such a child runs). With the
 * catch-all on, the child arms itself before anything else.
 */
void stub_syscall_exit(const struct bpfi_sc_exit_ctx *rec, struct bpfi_target_hdr *t)
{
	if (__builtin_expect(stub_is_fork(rec->nr), 0)) {
		if (rec->ret == 0)
			stub_catchall_arm(t);
		stub_syscall_forget_ids(t);
	}
	stub_syscall_events_exit(rec, t);
}
