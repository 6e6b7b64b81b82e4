// SPDX-License-Identifier: MIT
/*
 * test_runtime: code that is dead once the frozen .rodata is known (as libbpf-tools' option
 * flags and libbpf's poisoned calls): it must load, and the live branch must run.
 */
/* The UAPI types must come before libbpf's helper definitions. */
/* clang-format off */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>
/* clang-format on */

static long (*bpf_no_such_helper)(void) = (void *)999;

const volatile int use_missing_helper = 0;

SEC("raw_tracepoint/rodata_dead")
int rodata_dead(void *ctx)
{
	if (use_missing_helper)
		return (int)bpf_no_such_helper();
	return 11;
}

char LICENSE[] SEC("license") = "GPL";
