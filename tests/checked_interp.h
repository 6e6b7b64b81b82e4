/* SPDX-License-Identifier: MIT */
/*
 * The checked execution mode (issue 11): the interpreter (jit/interp.c, built again here with
 * its check hooks) run with every claim of the verifier tested. Each load, store and atomic
 * must land inside a live region of a kind the check said (the current frames' stacks, the
 * context of its real size, map values handed out by lookups or ld_imm64, ringbuf records
 * between reserve and submit), each helper memory argument likewise for the size the check
 * allowed, and every register read must have been written before (and, with @strict_stack,
 * every stack byte). A violation stops the run with one "insn N: what" line: a verifier
 * false accept becomes a test failure. Hosted, tests only.
 */
#ifndef BPFI_TESTS_CHECKED_INTERP_H
#define BPFI_TESTS_CHECKED_INTERP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/helpers.h>
#include <bpfinject/insn.h>
#include <bpfinject/verifier.h>

/* What checked_interp_run() returns for a violation (outside the errno range). */
#define CHECKED_VIOLATION (-100000)

/**
 * struct checked_opts
 * @facts:        the check's facts for @insns (bpfi_verifier_opts.facts)
 * @ctx, @ctx_size: the context r1 points to, and how many bytes of it are really there
 * @strict_stack: the program was checked with strict_stack: stack bytes must be written
 *                before they are read, by loads and helpers
 * @env:          helpers and tail call targets, as for bpfi_interp_run()
 * @why:          the violation, "insn N: ..." (@why_size bytes)
 */
struct checked_opts {
	const struct bpfi_verifier_fact *facts;
	uint64_t ctx;
	uint32_t ctx_size;
	bool strict_stack;
	const struct bpfi_env *env;
	char *why;
	size_t why_size;
};

/* Runs @insns (ld_imm64 map forms already resolved) as bpfi_interp_run() does, checked. */
int checked_interp_run(const struct bpf_insn *insns, uint32_t insn_cnt,
		       const struct checked_opts *o, uint64_t *ret_r0);

#endif
