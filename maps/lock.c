/* SPDX-License-Identifier: MIT */
/*
 * The owner-tid lock that serialises writers of one hash bucket, one ring buffer's
 * reservations and one perf buffer, across every process of a session. Freestanding.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <bpfinject/sys.h>

#include "maps_internal.h"

/*
 * Theory of operation (DESIGN.md D3).
 *
 * Readers never lock: hash lookups walk nulls-terminated chains with acquire loads, arrays are
 * plain memory, ring and perf buffer consumers follow the kernel's position protocol. Only
 * writers that must change several words together lock, and only for a few dozen instructions
 * that make no system call and never wait for anything else (a bucket lock is never held while
 * taking another lock: LRU eviction runs before the inserting bucket is locked).
 *
 * Such a short section can still be cut forever by SIGKILL, or suspended by SIGSTOP or ptrace.
 * A lock-free hash table with deletion and in-place replacement needs double-word CAS or
 * hazard pointers across processes, and a lock-free multi-producer ring that keeps the
 * kernel's record layout is not possible (the consumer must never see a producer position
 * whose header has not been written). So we lock, and make the lock recoverable:
 *
 *  - the lock word holds the holder's tid (0: free), set with one CAS;
 *  - a waiter spins briefly, then yields; every LIVENESS_EVERY rounds it asks the kernel
 *    whether the holder still exists (kill(tid, 0) == -ESRCH). If not, it takes the lock over
 *    with a CAS from that tid to its own, so two waiters cannot both take it;
 *  - after SPIN_LIMIT rounds with a live holder (stopped, or a tid reused by an unrelated
 *    thread) the operation fails with -EBUSY, as the kernel's htab does when a bucket is
 *    locked: nobody spins forever.
 *
 * Taking over is only safe because every critical section keeps the structure consistent after
 * any prefix of its stores: a chain is changed by one release store; ring and perf positions
 * are published last; elements a dead writer held are marked with its tid (HTAB_STATE) and
 * reclaimed later (htab.c). Whatever the dead holder stored is visible to the taker: the
 * holder's stores drained when the kernel switched away from it for good, before kill() could
 * report it gone. A zombie (killed, not yet reaped) still counts as alive: the lock is taken
 * over once its parent reaps it. Tids are compared within one pid namespace, and a tid reused
 * by a new thread looks alive (then -EBUSY, not a hang, until that thread exits).
 *
 * Cost: one gettid system call per locked operation (the freestanding code has no per-thread
 * storage to cache it in); lookups, the hot path of programs, take no lock and make no call.
 */

#define SPIN_PAUSES    128
#define LIVENESS_EVERY 64
#define SPIN_LIMIT     (1u << 18)

static inline void cpu_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

uint32_t maps__tid(void)
{
	return (uint32_t)bpfi_syscall0(BPFI_NR_gettid);
}

bool maps__tid_alive(uint32_t tid)
{
	/* kill(tid, 0): 0 or -EPERM means a task with that id exists (any thread, not only a
	 * group leader); only -ESRCH proves it is gone. */
	return bpfi_syscall2(BPFI_NR_kill, (long)tid, 0) != -BPFI_ESRCH;
}

int maps__lock(_Atomic uint32_t *lock)
{
	return maps__lock_tid(lock, maps__tid());
}

int maps__lock_tid(_Atomic uint32_t *lock, uint32_t me)
{
	uint32_t owner = 0;

	for (uint32_t round = 0;; round++) {
		owner = 0;
		/* Acquire: pairs with the release store in maps__unlock() (or the release CAS of
		 * a take-over below), so the previous holder's stores are visible to us. */
		if (atomic_compare_exchange_weak_explicit(lock, &owner, me, memory_order_acquire,
							  memory_order_relaxed))
			return 0;
		if (owner == me)
			return -BPFI_EBUSY; /* re-entered from a nested program: never self-deadlock */
		if (round < SPIN_PAUSES) {
			cpu_relax();
			continue;
		}
		bpfi_syscall0(BPFI_NR_sched_yield);
		if (owner && round % LIVENESS_EVERY == 0 && !maps__tid_alive(owner)) {
			/* Acquire as above: the dead holder's stores (any prefix of its section)
			 * become visible before we look at the structure. */
			if (atomic_compare_exchange_strong_explicit(
				    lock, &owner, me, memory_order_acquire, memory_order_relaxed))
				return 0;
		}
		if (round > SPIN_LIMIT)
			return -BPFI_EBUSY;
	}
}

/*
 * Round @round of waiting for @owner (not the caller) to let go of something that is not a lock
 * word (htab.c: a claim on the top free element), with maps__lock_tid()'s schedule: spin, then
 * yield, ask the kernel every LIVENESS_EVERY rounds. 1: @owner is gone (take over with a CAS
 * from its tid); 0: wait another round; -EBUSY: it is alive and has not let go in SPIN_LIMIT.
 */
int maps__wait_owner(uint32_t owner, uint32_t round)
{
	if (round < SPIN_PAUSES) {
		cpu_relax();
		return 0;
	}
	bpfi_syscall0(BPFI_NR_sched_yield);
	if (round % LIVENESS_EVERY == 0 && !maps__tid_alive(owner))
		return 1;
	return round > SPIN_LIMIT ? -BPFI_EBUSY : 0;
}

void maps__unlock(_Atomic uint32_t *lock)
{
	/* Release: pairs with the acquire CAS in maps__lock(). */
	atomic_store_explicit(lock, 0, memory_order_release);
}
