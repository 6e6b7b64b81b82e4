// SPDX-License-Identifier: MIT
/*
 * Programs for the register checks (test_regs, fixture target_regs), attached with
 * -a PROG=FUNC: an entry and a return program that only count, and an entry program that
 * overrides the function's result with 7.
 */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
/* clang-format on */

__u64 entries = 0;
__u64 returns = 0;

SEC("uprobe")
int on_entry(void *ctx)
{
	__sync_fetch_and_add(&entries, 1);
	return 0;
}

SEC("uretprobe")
int on_return(void *ctx)
{
	__sync_fetch_and_add(&returns, 1);
	return 0;
}

SEC("uprobe")
int override7(void *ctx)
{
	bpf_override_return(ctx, 7);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
