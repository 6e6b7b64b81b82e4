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
 */
struct bpfi_verifier_opts {
	size_t sz;
	uint32_t prog_type;
	uint32_t ctx_size;
	const struct bpfi_verifier_map *(*map_by_fd)(int fd, void *cookie);
	bool (*helper_known)(int32_t id, void *cookie);
	void *cookie;
	bool strict_stack;
	uint8_t *insn_live;
};
#define bpfi_verifier_opts__last_field insn_live

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
