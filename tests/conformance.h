/* SPDX-License-Identifier: MIT */
/* Loads the shared eBPF conformance suite (../shared/conformance/bin) for the tests. */
#ifndef BPFI_TESTS_CONFORMANCE_H
#define BPFI_TESTS_CONFORMANCE_H

#include <stddef.h>
#include <stdint.h>

#include <bpfinject/insn.h>

struct conformance_case {
	char name[96];
	struct bpf_insn *insns;
	uint32_t insn_cnt;
	uint8_t *mem; /* NULL when the test has no memory */
	uint32_t mem_len;
	uint64_t expected_r0;
	char expected_error[128]; /* non-empty when the program must be rejected */
	char features[128];
};

/* Loads every row of manifest.tsv; returns the number of cases (>0) or a negative errno. */
int conformance_load(const char *dir, struct conformance_case **ret_cases);
void conformance_free(struct conformance_case *cases, int n);

/*
 * The suite's helper 5 ("unwind"): returns its first argument; the runner stops the program
 * with r0 = 0 when that argument is 0 (unwind_helper_id = 5).
 */
#define CONFORMANCE_UNWIND_HELPER 5

#endif
