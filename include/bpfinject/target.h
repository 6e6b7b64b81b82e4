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
#define BPFI_TARGET_VERSION 1

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

struct bpfi_thread_state {
	_Atomic uint64_t key; /* the thread pointer (%fs:0), 0: free */
	uint32_t tid; /* cached gettid(), 0 until asked */
	uint32_t depth; /* > 0 while a program runs: the recursion guard */
	uint32_t nr_frames;
	uint32_t pad;
	struct bpfi_shadow_frame frames[BPFI_URETPROBE_DEPTH];
};

struct bpfi_target_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t size; /* bytes of the block */
	uint64_t self; /* the block's address in the target */
	uint64_t stub; /* the stub's address in the target */
	uint64_t threads; /* struct bpfi_thread_state[BPFI_MAX_THREADS], private */
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
};

#endif
