/* SPDX-License-Identifier: MIT */
/*
 * The per-target block: what one target process needs to run its probes, shared between the
 * host (read-write, fills it) and that target (read-write, counters only). It is a memfd of
 * its own, not part of the arena, because it holds the target's own addresses.
 *
 *   target block (mapped RW in host and target)
 *   +-----------------------------+
 *   | struct bpfi_target_hdr      |  magic, where things are in the target
 *   |   env                       |  the struct bpfi_env JIT'd code and helpers get (%r9)
 *   |   helpers[BPFI_HELPER_MAX]  |  env.helpers: the stub's helpers at target addresses
 *   +-----------------------------+
 *   | progs[BPFI_MAX_PROGS]       |  env.progs: by program id, JIT'd code in the target
 *   | sites[BPFI_MAX_SITES]       |  one per hooked address, named by its trampoline's cookie
 *   +-----------------------------+
 *
 * Per-thread state (recursion guard, return shadow stacks) is NOT here: it lives in a private
 * anonymous mapping of the target marked MADV_WIPEONFORK, so that a forked child starts with
 * none (D6); the block only records where it is.
 */
#ifndef BPFINJECT_TARGET_H
#define BPFINJECT_TARGET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/helpers.h>

#define BPFI_TARGET_MAGIC   0x54454752414754ULL /* "TGTARGET" */
#define BPFI_TARGET_VERSION 4

/* Program ids index env.progs: the runtime's limit (RT_MAX_PROGS). */
#define BPFI_MAX_PROGS 4096
/* Hooked addresses per target, and programs per address and kind. */
#define BPFI_MAX_SITES	    1024
#define BPFI_SITE_MAX_PROGS 8
/* Threads with per-thread state at once: a thread that finds no free slot skips the probe
 * (counted in the site's misses) rather than running it unguarded. */
#define BPFI_MAX_THREADS 512
/* Pending return probes per thread (the kernel's MAX_URETPROBE_DEPTH is 64). */
#define BPFI_URETPROBE_DEPTH 32

struct bpfi_site {
	uint64_t addr; /* the hooked address */
	uint32_t nr_entry; /* programs run at entry (uprobe) */
	uint32_t nr_return; /* programs run at return (uretprobe) */
	uint64_t entry_progs[BPFI_SITE_MAX_PROGS]; /* bpfi_jit_fn in the target */
	uint64_t return_progs[BPFI_SITE_MAX_PROGS]; /* bpfi_jit_fn in the target */
	uint64_t block; /* the target block, in the target */
	_Atomic uint64_t hits;
	_Atomic uint64_t misses; /* skipped: recursion, no thread slot, depth */
	/* The patch, so that another bpfinject (`detach -p PID`) can take it out. */
	uint8_t orig[8]; /* the bytes the jump replaced (BPFI_PATCH_LEN used) */
	uint8_t jump[8]; /* the jump written there */
	uint32_t patched; /* 1 while the jump is in place */
	uint32_t patch_len; /* whole instructions the jump covers */
};

/* A function return the thread has yet to make, validated by stack pointer as the kernel does. */
struct bpfi_shadow_frame {
	uint64_t ret_addr; /* the real return address we replaced */
	uint64_t sp; /* where it sat on the stack */
	uint64_t site; /* struct bpfi_site in the target */
};

/*
 * The tracefs sys_enter record as site trampolines build it (the same layout as struct
 * bpfi_syscall_enter_rec in injector.h, which the stub cannot include), then the override
 * answer the trampoline returns when a program called bpf_override_return.
 */
struct bpfi_sc_enter_ctx {
	uint16_t common_type;
	uint8_t common_flags;
	uint8_t common_preempt_count;
	int32_t common_pid;
	int64_t nr;
	uint64_t args[6];
	int64_t override_ret; /* at 64 */
	uint64_t reserved;
};

struct bpfi_sc_exit_ctx {
	uint16_t common_type;
	uint8_t common_flags;
	uint8_t common_preempt_count;
	int32_t common_pid;
	int64_t nr;
	int64_t ret;
	uint64_t pad[7];
};

/*
 * Bytes of its context a tracepoint program may read: the kernel's PERF_MAX_TRACE_SIZE, which
 * its check (tp_prog_is_valid_access) allows whatever the event's record size.
 */
#define BPFI_TP_CTX_SIZE 2048

/*
 * What syscall tracepoint programs get as their context (issue 11 B4): the record, then
 * zeroes up to BPFI_TP_CTX_SIZE, in the thread's own state rather than on the target's stack,
 * so that any read the check allows past the record finds zeroes, never the target's frames.
 * Programs cannot write their context, so the tail stays as the mapping gave it (zero) and an
 * event writes only the record's 64 bytes. bpf_override_return finds @kind and @override_ret
 * by the context's address (it is this thread's @rec), out of the programs' reach.
 */
struct bpfi_sc_ctx {
	uint64_t kind; /* BPFI_SC_CTX_* */
	int64_t override_ret;
	union {
		struct bpfi_sc_enter_ctx enter; /* bytes [0, 64) only: the rest is not written */
		struct bpfi_sc_exit_ctx exit; /* bytes [0, 24), then zeroes */
		uint8_t bytes[BPFI_TP_CTX_SIZE];
	} rec;
};

/*
 * bpf_override_return(ctx, rc) on this thread's syscall context: an enter record (the syscall
 * does not run, it returns rc), an exit record (refused); on anything else, a pt_regs: as the
 * kernel does for kprobes, ax = rc and ip = a marker the uprobe dispatch turns into "return
 * now".
 */
#define BPFI_SC_CTX_ENTER      1
#define BPFI_SC_CTX_OVERRIDDEN 2
#define BPFI_SC_CTX_EXIT       3
#define BPFI_OVERRIDE_IP       0xffffffffffffbad0ULL /* never a user address */

struct bpfi_thread_state {
	/* The thread pointer (%fs:0) once seen to be the FS base (a glibc or musl TCB's self
	 * pointer); for a thread whose %fs:0 is not (Go's), 1 << 63 | its tid; 0: free. */
	_Atomic uint64_t key;
	uint32_t tid; /* cached gettid(), 0 until asked */
	uint32_t depth; /* > 0 while a program runs: the recursion guard */
	uint32_t nr_frames;
	uint32_t tgid; /* cached getpid(), 0 until asked */
	uint64_t stack_top; /* the private stack programs run on; 0: none yet, 1: none to be had */
	struct bpfi_shadow_frame frames[BPFI_URETPROBE_DEPTH];
	struct bpfi_sc_ctx sc; /* the context of syscall tracepoint programs */
};

/*
 * Syscall tracepoints (issue 4): the programs of every sys_enter_X / sys_exit_X event by
 * syscall number, those of raw_syscalls/sys_enter and sys_exit, and the rewritten sites.
 * Site trampolines call the stub's syscall dispatchers with the block as their cookie.
 */
#define BPFI_SC_NR_MAX	  512 /* syscall numbers below this (x86-64 has < 470) */
#define BPFI_SC_MAX_PROGS 8 /* programs per event */
#define BPFI_SC_MAX_SITES 8192 /* rewritten syscall sites per target */

struct bpfi_sc_event {
	_Atomic uint32_t nr_progs; /* published after progs[] */
	uint32_t id; /* the tracefs event id: the record's common_type */
	uint64_t progs[BPFI_SC_MAX_PROGS]; /* bpfi_jit_fn in the target */
};

/* One rewritten window; the block keeps its bytes so any bpfinject can restore it. */
struct bpfi_sc_site {
	uint64_t addr; /* start of the window: where the jump goes */
	uint64_t syscall_addr; /* the `syscall` instruction */
	uint8_t orig[8]; /* the window's first BPFI_PATCH_LEN bytes as they were */
	uint8_t jump[8]; /* `jmp rel32` to the site's trampoline */
	uint8_t win_len; /* bytes of whole instructions up to and including the `syscall` */
	uint8_t restart_safe; /* the jump leaves the `syscall` itself intact */
	uint16_t module; /* index in the host's module report */
	uint32_t state; /* BPFI_SC_SITE_* */
};

#define BPFI_SC_SITE_PLANNED  0
#define BPFI_SC_SITE_PATCHED  1
#define BPFI_SC_SITE_SKIPPED  2 /* found unsafe at commit (a thread inside it) */
#define BPFI_SC_SITE_RESTORED 3

/*
 * The catch-all (issue 4): Syscall User Dispatch sends every system call made outside
 * [region_lo, region_lo + region_len) — the stub and its syscall gadgets — to the stub's SIGSYS
 * handler, which runs the programs and makes the call itself. Armed per thread (the kernel
 * clears it in new tasks and at exec): by ptrace for the threads there at commit, by the stub
 * itself in children of clone/fork/vfork while @on is set.
 */
struct bpfi_sc_catch_all {
	uint32_t on; /* threads arm children; 0: armed threads disarm themselves */
	uint32_t pad;
	uint64_t region_lo;
	uint64_t region_len;
	_Atomic uint64_t caught; /* system calls that came through SIGSYS */
	/* The kernel sigaction installed for SIGSYS: handler, flags, restorer, mask. */
	uint64_t act[4];
	uint64_t old_act[4]; /* the one it replaced */
	uint64_t scratch[5]; /* arguments of the injector's remote calls at arming */
};

struct bpfi_sc_table {
	_Atomic uint64_t misses; /* events skipped: recursion, no thread slot */
	uint32_t nr_sites;
	uint32_t pad;
	struct bpfi_sc_catch_all catch_all;
	struct bpfi_sc_event raw_enter; /* raw_syscalls/sys_enter */
	struct bpfi_sc_event raw_exit; /* raw_syscalls/sys_exit */
	struct bpfi_sc_event enter[BPFI_SC_NR_MAX]; /* syscalls/sys_enter_X by number */
	struct bpfi_sc_event exit[BPFI_SC_NR_MAX]; /* syscalls/sys_exit_X by number */
	struct bpfi_sc_site sites[BPFI_SC_MAX_SITES];
};

/* Maps listed per target (`bpfinject list`); more are used but not listed. */
#define BPFI_TARGET_MAX_MAPS 64

struct bpfi_target_map {
	char name[16];
	uint32_t type; /* enum bpf_map_type */
	uint32_t id;
	uint64_t arena_off; /* its struct bpfi_map_hdr, from the arena's base */
};

/*
 * Set in the header's (and env's) threads when a thread of the process had no TCB self
 * pointer at %fs:0 as it was found (Go's runtime keeps its own TLS at %fs; a program without
 * libc may have %fs at 0, where reading %fs:0 faults): the stub then never reads %fs and
 * finds every thread's slot by its id.
 */
#define BPFI_THREADS_BY_ID 1ull

struct bpfi_target_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t size; /* bytes of the block */
	uint64_t self; /* the block's address in the target */
	uint64_t stub; /* the stub's address in the target */
	uint64_t threads; /* struct bpfi_thread_state[BPFI_MAX_THREADS], private; may carry
			   * BPFI_THREADS_BY_ID */
	uint64_t ret_tramp; /* the return trampoline, in the target */
	uint64_t override_ip; /* reserved for bpf_override_return */
	uint64_t owner; /* pid of the bpfinject holding it; 0 once left with --persist */
	uint64_t reserved[8];
	struct bpfi_env env;
	bpfi_helper_fn helpers[BPFI_HELPER_MAX];
	struct bpfi_prog_entry progs[BPFI_MAX_PROGS];
	_Atomic uint32_t nr_sites;
	uint32_t pad;
	struct bpfi_site sites[BPFI_MAX_SITES];
	struct bpfi_sc_table sc; /* syscall tracepoints */
	/* The maps of the programs, for `bpfinject list`: names and where they are in the arena. */
	uint32_t nr_maps;
	uint32_t pad2;
	struct bpfi_target_map maps[BPFI_TARGET_MAX_MAPS];
};

/* The stub's header at offset 0 of its image: where its entry points are. */
#define BPFI_STUB_MAGIC 0x42555453u /* "STUB" */

struct bpfi_stub_header {
	uint32_t magic;
	uint32_t version;
	uint32_t size; /* bytes of the image */
	uint32_t helpers_fill; /* offsets from the image start */
	uint32_t dispatch_entry; /* uint64_t (struct pt_regs *, struct bpfi_site *) */
	uint32_t dispatch_return; /* uint64_t (struct pt_regs *, struct bpfi_target_hdr *) */
	uint32_t tail_call_target; /* bpfi_tail_call_target */
	uint32_t interp_run; /* bpfi_interp_run */
	uint32_t syscall_enter; /* uint64_t (struct bpfi_sc_enter_ctx *, target_hdr *) */
	uint32_t syscall_exit; /* void (struct bpfi_sc_exit_ctx *, target_hdr *) */
	uint32_t sigsys_handler; /* the catch-all's SA_SIGINFO handler */
	uint32_t sigsys_restorer; /* its sa_restorer (rt_sigreturn from inside the stub) */
	uint32_t dispatch_push_return; /* void (uint64_t sp, struct bpfi_site *) */
	uint32_t pad;
	uint64_t block; /* written at upload: the target block, for the SIGSYS handler */
};

#endif
