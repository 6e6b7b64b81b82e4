/* SPDX-License-Identifier: MIT */
/*
 * A thread's slot of per-thread state in the target (DESIGN.md D6), found from the thread
 * pointer: shared by the uprobe (dispatch.c) and syscall (dispatch_syscall.c) dispatchers so
 * that one recursion guard covers both. Freestanding.
 */
#ifndef BPFI_STUB_THREAD_STATE_H
#define BPFI_STUB_THREAD_STATE_H

#include <stdatomic.h>
#include <stdint.h>

#include <bpfinject/target.h>

/* The thread pointer: %fs:0 is the TCB's self pointer on x86-64 (glibc and musl alike). */
static inline uint64_t stub_thread_pointer(void)
{
	uint64_t tp;

	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

/*
 * Finds or claims this thread's slot: open addressing on the thread pointer, claimed with a
 * compare-and-swap so two new threads never share one. Slots of exited threads stay claimed
 * (glibc reuses thread control blocks, and so the slots) — a full table means misses, not
 * failures.
 */
static inline struct bpfi_thread_state *stub_thread_slot(uint64_t table)
{
	struct bpfi_thread_state *tab = (struct bpfi_thread_state *)(uintptr_t)table;
	uint64_t key = stub_thread_pointer();
	uint32_t h = (uint32_t)((key >> 4) * 0x9e3779b97f4a7c15ull >> 40);

	for (uint32_t n = 0; n < BPFI_MAX_THREADS; n++) {
		struct bpfi_thread_state *ts = &tab[(h + n) & (BPFI_MAX_THREADS - 1)];
		uint64_t cur = atomic_load_explicit(&ts->key, memory_order_relaxed);

		if (cur == key)
			return ts;
		if (cur)
			continue;
		/* Only this thread writes its slot after the claim; relaxed is enough. */
		if (atomic_compare_exchange_strong_explicit(
			    &ts->key, &cur, key, memory_order_relaxed, memory_order_relaxed))
			return ts;
		if (cur == key)
			return ts;
	}
	return 0;
}

static inline struct bpfi_thread_state *stub_thread_state(const struct bpfi_target_hdr *t)
{
	return stub_thread_slot(t->threads);
}

#endif
