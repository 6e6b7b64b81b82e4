/* SPDX-License-Identifier: MIT */
/*
 * The ptrace session with a target process (DESIGN.md D4): seize every thread, run system
 * calls inside the target through a `syscall` instruction it already has (the vDSO's), read
 * and write its memory, and let it go exactly as it was.
 */
#ifndef BPFINJECT_INJECTOR_H
#define BPFINJECT_INJECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bpfinject/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bpfi_injector;

struct bpfi_injector_opts {
	size_t sz;
	unsigned int timeout_ms; /* per wait for a thread to stop; 0: 2000 ms */
};
#define bpfi_injector_opts__last_field timeout_ms

/**
 * @brief **bpfi_injector_attach()** seizes every thread of @pid (rescanning /proc/PID/task
 * until no thread is new) and stops them all. On failure nothing is left attached.
 * @return 0, or -ESRCH (no such process, or it exited), -EPERM (not permitted, or already
 * traced: the log says which), -ETIMEDOUT, with one line in @log
 */
int bpfi_injector_attach(pid_t pid, const struct bpfi_injector_opts *opts,
			 struct bpfi_injector **ret_inj, struct bpfi_log *log);

/**
 * @brief **bpfi_injector_detach()** restores every thread's registers (with syscall-restart
 * handling) and lets the target run. NULL is a no-op.
 */
void bpfi_injector_detach(struct bpfi_injector *inj);

pid_t bpfi_injector_pid(const struct bpfi_injector *inj);
unsigned int bpfi_injector_nr_threads(const struct bpfi_injector *inj);

/**
 * @brief **bpfi_injector_syscall()** runs system call @nr with @args (up to 6) in the target,
 * on its main thread, through a `syscall` instruction of the target's vDSO.
 * @return 0 and the raw result (-errno on failure inside the target) in @ret, or a negative
 * errno when the remote call itself failed (target died: -ESRCH; seccomp: -EPERM)
 */
int bpfi_injector_syscall(struct bpfi_injector *inj, long nr, const long *args, int nargs,
			  long *ret, struct bpfi_log *log);

/** @brief **bpfi_injector_read()** / **bpfi_injector_write()**: the target's memory, through
 * /proc/PID/mem (writes reach read-only text, as ptrace's FOLL_FORCE does). */
int bpfi_injector_read(struct bpfi_injector *inj, uint64_t addr, void *buf, size_t len,
		       struct bpfi_log *log);
int bpfi_injector_write(struct bpfi_injector *inj, uint64_t addr, const void *buf, size_t len,
			struct bpfi_log *log);

#ifdef __cplusplus
}
#endif

#endif
