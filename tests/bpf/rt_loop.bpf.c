// SPDX-License-Identifier: MIT
/* test_runtime: bpf_loop with a callback subprogram (ld_imm64 BPF_PSEUDO_FUNC). */
/* The UAPI types must come before libbpf's helper definitions. */
/* clang-format off */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>
/* clang-format on */

static long add_index(__u32 i, void *ctx)
{
	*(__u64 *)ctx += i;
	return 0;
}

SEC("raw_tracepoint/loop")
int loop_sum(__u64 *args)
{
	__u64 sum = 0;

	bpf_loop((__u32)args[0], add_index, &sum, 0);
	return (int)sum;
}

char LICENSE[] SEC("license") = "GPL";
