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

/* The key of a thread found by its id (see stub_thread_slot_slow): never a user address. */
#define STUB_THREAD_KEY_TID (1ull << 63)

/*
 * %fs:0: on x86-64 the TCB's self pointer with glibc and musl alike, so a unique key per live
 * thread read in one load. Not so in every thread: Go's set %fs to their own TLS block, where
 * %fs:0 is a word of the runtime's (zero in every thread); it is only ever compared, with keys
 * that were seen to be FS bases.
 */
static inline uint64_t stub_thread_pointer(void)
{
	uint64_t tp;

	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

static inline uint32_t stub_thread_hash(uint64_t key)
{
	return (uint32_t)((key >> 4) * 0x9e3779b97f4a7c15ull >> 40);
}

/*
 * The slot keyed @key, claimed with a compare-and-swap if there is none so that two new
 * threads never share one. Slots of exited threads stay claimed (glibc reuses thread control
 * blocks, the kernel thread ids, and so the slots) — a full table means misses, not failures.
 */
static inline struct bpfi_thread_state *stub_thread_claim(struct bpfi_thread_state *tab,
							  uint64_t key)
{
	uint32_t h = stub_thread_hash(key);

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

/* A thread's first event, or any event of a thread whose %fs:0 is not its FS base. */
__attribute__((visibility("hidden"))) struct bpfi_thread_state *
stub_thread_slot_slow(struct bpfi_thread_state *tab, uint64_t tp);

/*
 * Finds this thread's slot: open addressing on the thread pointer, the whole cost of a probe's
 * lookup with glibc or musl. A key is only ever claimed by the slow path, after it saw the
 * pointer is the FS base: a value at %fs:0 that is not a thread's self pointer never matches.
 * In a process whose threads were found without self pointers (BPFI_THREADS_BY_ID), %fs is
 * not read at all: it may be 0.
 */
static inline struct bpfi_thread_state *stub_thread_slot(uint64_t table)
{
	struct bpfi_thread_state *tab =
		(struct bpfi_thread_state *)(uintptr_t)(table & ~BPFI_THREADS_BY_ID);
	uint64_t key;
	uint32_t h;

	if (__builtin_expect(table & BPFI_THREADS_BY_ID, 0)) /* %fs is not a TCB's */
		return stub_thread_slot_slow(tab, 0);
	key = stub_thread_pointer();
	h = stub_thread_hash(key);
	if (__builtin_expect(!key, 0)) /* never a self pointer: Go's threads */
		return stub_thread_slot_slow(tab, key);
	for (uint32_t n = 0; n < BPFI_MAX_THREADS; n++) {
		struct bpfi_thread_state *ts = &tab[(h + n) & (BPFI_MAX_THREADS - 1)];
		uint64_t cur = atomic_load_explicit(&ts->key, memory_order_relaxed);

		if (__builtin_expect(cur == key, 1))
			return ts;
		if (!cur)
			break;
	}
	return stub_thread_slot_slow(tab, key);
}

static inline struct bpfi_thread_state *stub_thread_state(const struct bpfi_target_hdr *t)
{
	return stub_thread_slot(t->threads);
}

#endif
