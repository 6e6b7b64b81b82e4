// SPDX-License-Identifier: MIT
/*
 * What a trampoline calls: run the programs attached at a site, with a kernel-layout pt_regs
 * as their context, under a per-thread recursion guard; for return probes, swap the return
 * address for the return trampoline and keep the real one on a per-thread shadow stack
 * validated by stack pointer (the kernel's uretprobe scheme, kernel/events/uprobes.c).
 * Freestanding: part of the stub.
 */
#include "dispatch.h"

#include <stdatomic.h>
#include <stdint.h>

#include <bpfinject/sys.h>
#include <bpfinject/target.h>

#include "thread_state.h"

/* pt_regs fields by index (offset / 8). */
#define PT_AX 10
#define PT_IP 16
#define PT_SP 19

/* Private stacks: 32 KiB (programs need at most 8 x 512 bytes plus their helpers') above a
 * guard page, reserved lazily per thread (MAP_NORESERVE: only the pages used count). */
#define STACK_SIZE  (32u << 10)
#define GUARD_SIZE  4096u
#define NR_MMAP	    9
#define NR_MPROTECT 10
#define MMAP_FLAGS  (0x02 | 0x20 | 0x4000 | 0x20000) /* PRIVATE|ANONYMOUS|NORESERVE|STACK */

uint64_t stub_run_on_stack(bpfi_jit_fn fn, uint64_t ctx, uint64_t stack_top);

/* The thread's first program: reserves its private stack (or marks that none can be had). */
__attribute__((noinline, cold)) static void reserve_stack(struct bpfi_thread_state *ts)
{
	long base =
		bpfi_syscall6(NR_MMAP, 0, STACK_SIZE + GUARD_SIZE, 3 /* RW */, MMAP_FLAGS, -1, 0);

	if ((unsigned long)base > -4096UL ||
	    bpfi_syscall3(NR_MPROTECT, base, GUARD_SIZE, 0 /* PROT_NONE */) < 0)
		ts->stack_top = 1;
	else
		ts->stack_top = (uint64_t)base + GUARD_SIZE + STACK_SIZE;
}

/*
 * Runs a program with @ctx as its context on the thread's private stack, reserving it on
 * first use; when none can be had, on the target's own stack as before. Inline here, on the
 * probe paths; stub_run_prog() for the syscall dispatch.
 */
static inline __attribute__((always_inline)) void run_prog(struct bpfi_thread_state *ts,
							   uint64_t fn, void *ctx)
{
	if (__builtin_expect(!ts->stack_top, 0))
		reserve_stack(ts);
	if (ts->stack_top > 1)
		stub_run_on_stack((bpfi_jit_fn)(uintptr_t)fn, (uint64_t)(uintptr_t)ctx,
				  ts->stack_top);
	else
		((bpfi_jit_fn)(uintptr_t)fn)((uint64_t)(uintptr_t)ctx, 0);
}

void stub_run_prog(struct bpfi_thread_state *ts, uint64_t fn, void *ctx)
{
	run_prog(ts, fn, ctx);
}

/* Frames whose stack slot is at or below @sp belong to functions that already left. */
static void drop_stale_frames(struct bpfi_thread_state *ts, uint64_t sp)
{
	while (ts->nr_frames && ts->frames[ts->nr_frames - 1].sp <= sp)
		ts->nr_frames--;
}

/* Claims the return of the function whose return address is at @sp (the uretprobe scheme). */
static void push_frame(struct bpfi_thread_state *ts, const struct bpfi_target_hdr *t,
		       struct bpfi_site *site, uint64_t sp)
{
	drop_stale_frames(ts, sp);
	if (ts->nr_frames < BPFI_URETPROBE_DEPTH) {
		uint64_t *slot = (uint64_t *)(uintptr_t)sp;
		struct bpfi_shadow_frame *f = &ts->frames[ts->nr_frames++];

		f->ret_addr = *slot;
		f->sp = sp;
		f->site = (uint64_t)(uintptr_t)site;
		*slot = t->ret_tramp;
	} else {
		atomic_fetch_add_explicit(&site->misses, 1, memory_order_relaxed);
	}
}

/* A plain increment, not a locked one: hits are statistics, and a lock prefix here is a third
 * of an empty probe's cost. Threads hitting one site at once may lose counts. */
static inline void count_hit(struct bpfi_site *site)
{
	atomic_store_explicit(&site->hits,
			      atomic_load_explicit(&site->hits, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/*
 * A function entry whose site has return programs only: the trampoline built no pt_regs (none
 * is needed yet), @sp is where the return address is.
 */
void stub_dispatch_push_return(uint64_t sp, struct bpfi_site *site)
{
	const struct bpfi_target_hdr *t = (const struct bpfi_target_hdr *)(uintptr_t)site->block;
	struct bpfi_thread_state *ts = stub_thread_state(t);

	if (!ts || ts->depth) {
		atomic_fetch_add_explicit(&site->misses, 1, memory_order_relaxed);
		return;
	}
	count_hit(site);
	if (site->nr_return)
		push_frame(ts, t, site, sp);
}

uint64_t stub_dispatch_entry(uint64_t *regs, struct bpfi_site *site)
{
	const struct bpfi_target_hdr *t = (const struct bpfi_target_hdr *)(uintptr_t)site->block;
	struct bpfi_thread_state *ts = stub_thread_state(t);
	uint64_t sp = regs[PT_SP], overridden = 0;

	if (!ts || ts->depth) {
		atomic_fetch_add_explicit(&site->misses, 1, memory_order_relaxed);
		return 0;
	}
	count_hit(site);
	ts->depth++;
	for (uint32_t i = 0; i < site->nr_entry && i < BPFI_SITE_MAX_PROGS; i++)
		run_prog(ts, site->entry_progs[i], regs);
	/* bpf_override_return marked ip, as the kernel does: the function will not run. */
	if (regs[PT_IP] == BPFI_OVERRIDE_IP) {
		regs[PT_IP] = site->addr;
		overridden = 1;
	}
	if (site->nr_return)
		push_frame(ts, t, site, sp);
	ts->depth--;
	return overridden;
}

/*
 * Called by the return trampoline with regs->sp just above the return address that was
 * ours: the matching frame is the one whose slot was at regs->sp - 8; deeper frames were
 * skipped by longjmp or an exception and are dropped. Returns the real return address.
 */
uint64_t stub_dispatch_return(uint64_t *regs, const struct bpfi_target_hdr *t)
{
	struct bpfi_thread_state *ts = stub_thread_state(t);
	struct bpfi_shadow_frame f;
	struct bpfi_site *site;

	/* A frame was pushed by this thread, so its slot exists and nr_frames > 0. */
	while (ts->nr_frames > 1 && ts->frames[ts->nr_frames - 1].sp < regs[PT_SP] - 8)
		ts->nr_frames--;
	f = ts->frames[--ts->nr_frames];
	site = (struct bpfi_site *)(uintptr_t)f.site;
	regs[PT_IP] = f.ret_addr;
	ts->depth++;
	for (uint32_t i = 0; i < site->nr_return && i < BPFI_SITE_MAX_PROGS; i++)
		run_prog(ts, site->return_progs[i], regs);
	ts->depth--;
	return f.ret_addr;
}
