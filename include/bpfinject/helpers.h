/* SPDX-License-Identifier: MIT */
/*
 * The helper calling convention and the per-process environment the helpers, the interpreter
 * and JIT'd code run against. Freestanding: the stub carries the same code.
 *
 * A helper is called with eBPF r1..r5 as its first five arguments and the environment of the
 * process it runs in as the sixth (x86-64 %r9), so helpers need no global state.
 */
#ifndef BPFINJECT_HELPERS_H
#define BPFINJECT_HELPERS_H

#include <stdint.h>

#include <bpfinject/abi.h>
#include <bpfinject/insn.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bpfi_env;

typedef uint64_t (*bpfi_helper_fn)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				   const struct bpfi_env *env);

/* Helper ids are the kernel's (enum bpf_func_id); the table covers ids below this. */
#define BPFI_HELPER_MAX 212

/* JIT'd code entry: eBPF r1 and r2 arrive in the first two SysV argument registers. */
typedef uint64_t (*bpfi_jit_fn)(uint64_t r1, uint64_t r2);

/*
 * A loaded program as one process sees it, found by program id for tail calls.
 * @insns are relocated for this process (no pseudo ld_imm64 left).
 */
struct bpfi_prog_entry {
	const struct bpf_insn *insns;
	uint32_t insn_cnt;
	uint32_t flags;
	bpfi_jit_fn jit_func; /* NULL: run @insns with the interpreter */
	uint64_t tail_entry; /* address of the JIT'd tail-call entry, 0 if none */
};

/*
 * Everything a helper may need beyond its arguments. One per process (host or target); its
 * address is an immediate in JIT'd code. Fields are read-only while programs run.
 */
struct bpfi_env {
	char *arena; /* base of the arena in this process */
	uint32_t nr_cpus; /* possible CPUs, as in the arena header */
	int32_t unwind_helper_id; /* conformance suite only ("unwind"), else -1 */
	const bpfi_helper_fn *helpers; /* by helper id, BPFI_HELPER_MAX entries */
	const struct bpfi_prog_entry *progs; /* by program id, for tail calls */
	uint32_t max_progs;
	uint32_t pad0;
	struct bpfi_map_hdr *printk_ring; /* trace_printk output (a ring buffer map), or NULL */
	/* clock_gettime without a system call (vDSO or libc); NULL: raw system call. */
	int (*clock_gettime)(int clock, void *ts);
	uint32_t hwcaps; /* BPFI_HWCAP_*, from bpfi_helpers_hwcaps() */
	uint32_t pad1;
	/* In a target, its per-thread state (struct bpfi_thread_state[], target.h): the ids the
	 * helpers give are cached there. 0 in the host: they are asked of the kernel. */
	uint64_t threads;
	uint64_t reserved[2];
};

/*
 * CPU features the helpers may use (env->hwcaps); 0 is always safe, only slower: the CPU
 * number then costs a getcpu system call (~130 ns). Valgrind does not emulate lsl: leave
 * BPFI_HWCAP_LSL clear when running under it.
 */
#define BPFI_HWCAP_RDPID (1u << 0) /* rdpid reads the CPU number (~1 ns) */
#define BPFI_HWCAP_LSL	 (1u << 1) /* lsl on Linux's per-CPU GDT segment reads it (~15 ns) */

/**
 * @brief **bpfi_helpers_fill()** stores the address of every helper this build implements in
 * @table (BPFI_HELPER_MAX entries, indexed by helper id; NULL for ids it does not know).
 * A function rather than a static table: position-independent code with a table of pointers
 * would need relocations, and the stub has none.
 */
void bpfi_helpers_fill(bpfi_helper_fn *table);

/**
 * @brief **bpfi_helpers_hwcaps()** probes (cpuid) the BPFI_HWCAP_* features of this machine,
 * for env->hwcaps. Call it once when setting up an environment, not per helper call.
 */
uint32_t bpfi_helpers_hwcaps(void);

/**
 * @brief **bpfi_helper_is_known()** tells whether @id is a helper this build implements
 * (used by the load-time check to reject unknown helpers).
 */
int bpfi_helper_is_known(int32_t id);

/** @brief **bpfi_helper_name()** returns the kernel name of helper @id, or NULL. */
const char *bpfi_helper_name(int32_t id);

/**
 * @brief **bpfi_tail_call_target()** resolves a tail call: the entry of the program at
 * @index of the PROG_ARRAY @map, or NULL when the slot is empty or out of range (the caller
 * then falls through, as the kernel does).
 */
const struct bpfi_prog_entry *bpfi_tail_call_target(const struct bpfi_env *env,
						    struct bpfi_map_hdr *map, uint32_t index);

#ifdef __cplusplus
}
#endif

#endif
