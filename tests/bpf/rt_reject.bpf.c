// SPDX-License-Identifier: MIT
/* test_runtime: a program the load-time check rejects (a helper id no kernel has). */
/* The UAPI types must come before libbpf's helper definitions. */
/* clang-format off */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>
/* clang-format on */

static long (*bpf_no_such_helper)(void) = (void *)999;

SEC("raw_tracepoint/reject")
int rejected(void *ctx)
{
	return (int)bpf_no_such_helper();
}

char LICENSE[] SEC("license") = "GPL";
