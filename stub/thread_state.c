// SPDX-License-Identifier: MIT
/*
 * The slow path of the per-thread lookup (thread_state.h): a thread's first event, and every
 * event of a thread whose %fs:0 is not its own FS base. Freestanding.
 */
#include "thread_state.h"

#include <bpfinject/sys.h>

#define ARCH_GET_FS 0x1003

/*
 * A thread pointer is a key only once the kernel said it is this thread's FS base: then it is
 * the TCB's self pointer and unique among live threads (glibc, musl; asked once per thread).
 * A thread whose %fs:0 is anything else — Go's threads point %fs at the runtime's own TLS,
 * where %fs:0 is 0 — has its slot found by thread id, asked of the kernel at every event:
 * correct whatever the thread keeps at %fs, nothing of its memory read but that one word, and
 * a system call per event (gettid; 0 needs no arch_prctl first, it is never a self pointer).
 */
struct bpfi_thread_state *stub_thread_slot_slow(struct bpfi_thread_state *tab, uint64_t tp)
{
	struct bpfi_thread_state *ts;
	uint64_t base = 0;
	uint32_t tid;

	if (tp && bpfi_syscall2(BPFI_NR_arch_prctl, ARCH_GET_FS, (long)(uintptr_t)&base) == 0 &&
	    base == tp)
		return stub_thread_claim(tab, tp);
	tid = (uint32_t)bpfi_syscall0(BPFI_NR_gettid);
	ts = stub_thread_claim(tab, STUB_THREAD_KEY_TID | tid);
	if (ts)
		ts->tid = tid; /* a reused id's slot: the cached id is this thread's anyway */
	return ts;
}
