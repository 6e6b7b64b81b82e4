/* SPDX-License-Identifier: MIT */
/*
 * The load-time check every program passes before it runs anywhere (D7). It starts as the
 * structural and data-flow checks of the foundation issue and grows into the full verifier.
 */
#ifndef BPFINJECT_VERIFIER_H
#define BPFINJECT_VERIFIER_H

#include <stdbool.h>
#include <stdint.h>

#include <bpfinject/common.h>
#include <bpfinject/insn.h>

/**
 * @brief **bpfi_verifier_ctx_size()** is how many bytes of its context a program of
 * @prog_type may read (what the check allows when @ctx_size is 0): whoever runs the program
 * must give it that many bytes it owns (zeroes past the real record).
 */
uint32_t bpfi_verifier_ctx_size(uint32_t prog_type);

#ifdef __cplusplus
extern "C" {
#endif

/* What the check knows about a map an ld_imm64 refers to. */
struct bpfi_verifier_map {
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	bool frozen;
	/* For frozen read-only arrays: the value bytes (so branches on .rodata constants fold). */
	const void *frozen_value;
};

/**
 * struct bpfi_verifier_opts
 * @prog_type:   enum bpf_prog_type (selects the context size and the allowed helpers)
 * @ctx_size:    bytes of the context r1 points to (0: use the default for @prog_type)
 * @map_by_fd:   resolves the map of an ld_imm64 with BPF_PSEUDO_MAP_FD/VALUE (imm = fd);
 *               returns NULL for an unknown fd
 * @helper_known: true if helper @id exists (NULL: bpfi_helper_is_known())
 * @cookie:      passed to the callbacks
 * @strict_stack: refuse reads of stack bytes never written (loads and helper arguments such
 *               as map keys), as the kernel does for loaders without CAP_PERFMON; by default
 *               they are allowed, as the kernel allows the privileged tools we run
 * @insn_live:   optional output, @insn_cnt bytes: on success 1 for every instruction some
 *               checked path executes, 0 for code dead once known constants are folded
 *               (the kernel rewrites such code to `ja -1` before JIT-compiling it)
 * @facts:       optional output, @insn_cnt entries: on success what the check concluded
 *               about each instruction (struct bpfi_verifier_fact)
 */
/* Regions of memory as the check tells pointers apart (bits of struct bpfi_verifier_fact). */
#define BPFI_REGION_STACK     (1u << 0)
#define BPFI_REGION_CTX	      (1u << 1)
#define BPFI_REGION_MAP_VALUE (1u << 2)
#define BPFI_REGION_MEM	      (1u << 3) /* a ringbuf record */

/**
 * struct bpfi_verifier_fact - what the check concluded about one instruction, joined over
 * every path it followed there: the claims a checked run (tests/checked_interp.c) holds the
 * program to
 * @regs_read: registers the check required to be initialised here (bit n: Rn)
 * @mem:       load, store or atomic: the regions its pointer may point into
 * @ret:       helper call: the region r0 points into when not NULL; ld_imm64: dst's region
 * @arg:       helper call: the regions memory argument R(k+1) may point into
 * @arg_write: bit k: the helper may write that memory
 * @arg_size:  the largest size checked for argument k
 * @ret_size:  the size of @ret's region (the smallest over paths)
 * @ret_off:   ld_imm64 of a map value: dst's offset into the value
 */
struct bpfi_verifier_fact {
	uint16_t regs_read;
	uint8_t mem;
	uint8_t ret;
	uint8_t arg[5];
	uint8_t arg_write;
	uint32_t arg_size[5];
	uint32_t ret_size;
	uint32_t ret_off;
};

struct bpfi_verifier_opts {
	size_t sz;
	uint32_t prog_type;
	uint32_t ctx_size;
	const struct bpfi_verifier_map *(*map_by_fd)(int fd, void *cookie);
	bool (*helper_known)(int32_t id, void *cookie);
	void *cookie;
	bool strict_stack;
	uint8_t *insn_live;
	struct bpfi_verifier_fact *facts;
};
#define bpfi_verifier_opts__last_field facts

/**
 * @brief **bpfi_verifier_check()** checks @insns (as libbpf hands them to PROG_LOAD: pseudo
 * ld_imm64 forms still present). Only paths that can execute are judged, so code that is dead
 * once known constants are folded (libbpf's poisoned calls) does not cause a rejection.
 * @return 0, or -EACCES (unsafe) / -EINVAL (malformed) / -E2BIG (a limit) with exactly one
 * line in @log naming the instruction ("insn N: ..."; kernel wording where tools match on
 * it, e.g. "unknown func"); -ENOMEM, or -EFAULT with a "bug:" line for an internal error.
 * With @log->level >= BPFI_LOG_TRACE the line follows a per-instruction trace.
 */
int bpfi_verifier_check(const struct bpf_insn *insns, uint32_t insn_cnt,
			const struct bpfi_verifier_opts *opts, struct bpfi_log *log);

#ifdef __cplusplus
}
#endif

#endif
