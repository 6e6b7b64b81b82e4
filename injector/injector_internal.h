/* SPDX-License-Identifier: MIT */
/*
 * The injector's session state, shared by its files (kubo injector_internal.h style).
 *
 *   struct bpfi_injector
 *     pid, mem_fd (/proc/PID/mem, read-write)
 *     threads[]: every seized thread, its registers as we found it (saved), whether we
 *                changed them (dirty: restored at detach with the syscall-restart fix-up),
 *                and a signal it received while we held it (re-delivered at detach)
 *     gadget:    address of a `syscall` (0f 05) in the target's vDSO, found on first use
 */
#ifndef BPFI_INJECTOR_INTERNAL_H
#define BPFI_INJECTOR_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include <bpfinject/common.h>
#include <bpfinject/injector.h>
#include <bpfinject/target.h>

struct inj_thread {
	pid_t tid;
	bool stopped;
	bool dirty; /* registers changed by us: restore at detach */
	bool gone; /* exited while we held it */
	bool group_stop; /* borrowed: held in a group-stop, given back with PTRACE_LISTEN */
	int pending_sig; /* signal to deliver when we let go, 0 if none */
	struct user_regs_struct saved;
	struct injector_seccomp *seccomp; /* its filters, read before its first remote call */
};

struct bpfi_injector {
	pid_t pid;
	int mem_fd;
	unsigned int timeout_ms;
	struct inj_thread *threads;
	unsigned int nr_threads;
	unsigned int cap_threads;
	uint64_t gadget;
	bool pad; /* gadget is our restore pad (remote.c), not a bare syscall */
	uint64_t scratch; /* a private page in the target for remote call arguments */
	/* Borrowed (bpfi_injector_opts.borrow, spawn.c's process tree): the caller is already
	 * the tracer of every thread. Threads are stopped with PTRACE_INTERRUPT and given back
	 * with PTRACE_CONT (PTRACE_LISTEN in a group-stop), never seized or detached. */
	bool borrowed;
};

#define BPFI_SCRATCH_SIZE 4096

/* An injected process (inject.c). */
#define CODE_AREA_SIZE (1u << 20)
#define MAX_CODE_AREAS 16

struct code_area {
	int fd;
	uint8_t *host; /* RW here */
	uint64_t addr; /* R-X there */
	size_t used;
};

struct pending_site {
	struct bpfi_site *site; /* in the block */
	uint64_t addr;
	uint8_t orig[BPFI_PATCH_LEN];
	uint8_t jmp[BPFI_PATCH_LEN];
	uint32_t patch_len;
	bool patched;
};

/* Modules a target may have mapped executable whose syscall sites are reported. */
#define SC_MAX_MODULES 64

struct bpfi_target {
	pid_t pid;
	unsigned int timeout_ms;
	struct bpfi_injector *inj; /* non-NULL while the target is stopped */
	bool hold; /* started by us at main: stays stopped until commit */
	bool all_held; /* inj holds every thread (patching), not just one */
	bool traced; /* we are its tracer (followed command): hold with borrowed sessions */
	uint64_t stub;
	struct bpfi_stub_header stub_hdr;
	uint64_t arena;
	int block_fd;
	struct bpfi_target_hdr *block; /* host mapping */
	uint64_t block_addr;
	struct code_area areas[MAX_CODE_AREAS];
	unsigned int nr_areas;
	struct pending_site *sites;
	unsigned int nr_sites;
	/* Syscall tracepoints (inject_syscalls.c): what was found per module. The sites
	 * themselves live in the block (block->sc.sites), so a fresh session can restore them. */
	struct bpfi_syscall_module sc_mods[SC_MAX_MODULES];
	unsigned int nr_sc_mods;
	/* The stub's memfd, RW here: the image, then the catch-all's gadgets (catch_all.c). */
	uint8_t *stub_host;
	size_t stub_size;
	size_t gadgets_off; /* where the gadget area starts */
	size_t gadgets_used;
	bool catch_all; /* bpfi_target_catch_all() was asked: syscalls go through gadgets */
	bool catch_all_armed; /* the threads held at commit were armed */
};

/* The catch-all's syscall gadgets, behind the stub image: 16 bytes each. */
#define GADGET_AREA_SIZE (512u << 10)
#define GADGET_SIZE	 16

/* inject.c: the target held (its main thread at least) for remote system calls. */
int inject__hold_one(struct bpfi_target *t, struct bpfi_log *log);

/* catch_all.c: called by bpfi_target_commit() / bpfi_target_restore(), every thread held. */
int inject__catch_all_arm(struct bpfi_target *t, struct bpfi_log *log);
int inject__catch_all_disarm(struct bpfi_target *t, struct bpfi_log *log);
/* A gadget `syscall; jmp back` in the dispatch region; 0 when the area is full. */
uint64_t inject__gadget(struct bpfi_target *t, uint64_t back);
/* Syscall User Dispatch of one stopped tracee, as PTRACE_{GET,SET}_SYSCALL_USER_DISPATCH_CONFIG
 * see it (remote.c suspends it while running a remote system call). */
struct injector_sud {
	uint64_t mode, selector, offset, len;
};
int injector__sud_get(pid_t tid, struct injector_sud *cfg);
/* bpfi_injector_syscall() on thread @tid (held), for calls whose effect is per thread. */
int injector__syscall_on(struct bpfi_injector *inj, pid_t tid, long nr, const long *args, int nargs,
			 long *ret, struct bpfi_log *log);
int injector__sud_set(pid_t tid, const struct injector_sud *cfg);

/* inject_syscalls.c: called by bpfi_target_commit() / bpfi_target_restore() while every
 * thread is stopped; no-ops for a target without syscall sites. */
int inject__syscalls_commit(struct bpfi_target *t, struct bpfi_log *log);
int inject__syscalls_restore(struct bpfi_target *t, struct bpfi_log *log);

/* ptrace.c */
int injector__seize(struct bpfi_injector *inj, pid_t tid, struct bpfi_log *log);
/* A thread we already trace: PTRACE_INTERRUPT alone (borrowed sessions). */
int injector__interrupt(pid_t tid, struct bpfi_log *log);

/* upload.c: a free range of @size bytes within rel32 reach of @near; 0 if none (or !@near). */
uint64_t injector__gap_near(pid_t pid, uint64_t near, uint64_t size);

/* session.c: does a mapping of @pid start at @addr, with @name in its line of maps? */
bool injector__maps_has(pid_t pid, uint64_t addr, const char *name);
int injector__wait_stop(struct bpfi_injector *inj, struct inj_thread *th, struct bpfi_log *log);
int injector__step_syscall(struct bpfi_injector *inj, struct inj_thread *th,
			   struct user_regs_struct *regs, struct bpfi_log *log);
void injector__release(struct bpfi_injector *inj, struct inj_thread *th);
/* The registers a thread interrupted in a system call must resume with to restart it. */
void injector__restart_fixup(struct user_regs_struct *regs);

/* seccomp.c: a thread's seccomp filters, and what they answer for one system call. */
struct injector_seccomp;
struct seccomp_data;
struct sock_filter;
int injector__seccomp_load(pid_t pid, pid_t tid, struct injector_seccomp **ret_sc);
void injector__seccomp_free(struct injector_seccomp *sc);
/* SECCOMP_RET_* (action and data) for the call @d, as the kernel would decide it. */
uint32_t injector__seccomp_eval(const struct injector_seccomp *sc, const struct seccomp_data *d);
uint32_t injector__cbpf_run(const struct sock_filter *insns, unsigned int len,
			    const struct seccomp_data *d);
const char *injector__seccomp_action_str(uint32_t action);
bool injector__seccomp_is_strict(const struct injector_seccomp *sc);
int injector__seccomp_read_err(const struct injector_seccomp *sc);

/* procfs.c */
int injector__list_tasks(pid_t pid, pid_t **ret_tids, unsigned int *ret_n);
char injector__proc_state(pid_t pid); /* 'R', 'S', 'T', ... or 0 if gone */
pid_t injector__tracer_pid(pid_t pid); /* TracerPid from status, -1 if unknown */
int injector__find_vdso(pid_t pid, uint64_t *ret_start, uint64_t *ret_end);
/* The file mapped at @addr in @pid (-ENOENT: none, anonymous or special). */
int injector__file_at(pid_t pid, uint64_t addr, char *ret_path, size_t size);
/* retprobe_check.c: does code in @path take part in unwinding (Go, C++ exceptions)? */
bool injector__module_unwinds(const char *path);

#endif
