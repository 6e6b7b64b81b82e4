/* SPDX-License-Identifier: MIT */
/*
 * The catch-all for syscall sites that could not be rewritten (stub/catchall.c): Syscall User
 * Dispatch delivers them as SIGSYS to the stub. Shared with the site dispatch, which keeps
 * the mode's two invariants on rewritten sites too: no thread ever blocks SIGSYS, and every
 * new task is armed.
 */
#ifndef BPFI_STUB_CATCHALL_H
#define BPFI_STUB_CATCHALL_H

#include <stdint.h>

#include <bpfinject/target.h>

#define STUB_NR_rt_sigaction   13
#define STUB_NR_rt_sigprocmask 14
#define STUB_NR_rt_sigreturn   15
#define STUB_NR_clone	       56
#define STUB_NR_fork	       57
#define STUB_NR_vfork	       58
#define STUB_NR_clone3	       435

static inline int stub_is_fork(int64_t nr)
{
	return nr == STUB_NR_clone || nr == STUB_NR_fork || nr == STUB_NR_vfork ||
	       nr == STUB_NR_clone3;
}

/* Arms the calling task (a child the kernel created unarmed), if the mode is still on. */
void stub_catchall_arm(const struct bpfi_target_hdr *t);

/*
 * rt_sigaction / rt_sigprocmask made at a rewritten site: when they would block SIGSYS (a
 * full mask, a handler's sa_mask), makes the call itself without it. @return 1 with the
 * result in *ret when it did, 0 when the call may run as it is.
 */
int stub_catchall_sanitize(int64_t nr, const uint64_t args[6], int64_t *ret);

/* The SA_SIGINFO handler and its restorer (catchall.S). */
void stub_sigsys(int sig, void *info, void *ucontext);
void stub_sigsys_restorer(void);

#endif
