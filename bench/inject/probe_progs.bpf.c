// SPDX-License-Identifier: MIT
/*
 * The programs of the probe benchmark, identical for bpfinject and for the kernel: an empty
 * one, and one counting hits into a hash map (the DESIGN.md §5 workload).
 */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/types.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
/* clang-format on */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline int count(void)
{
	__u32 key = 0;
	__u64 one = 1, *v = bpf_map_lookup_elem(&hits, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&hits, &key, &one, BPF_NOEXIST);
	return 0;
}

SEC("uprobe")
int empty_entry(struct pt_regs *ctx)
{
	return 0;
}

SEC("uprobe")
int count_entry(struct pt_regs *ctx)
{
	return count();
}

SEC("uretprobe")
int empty_return(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int count_return(struct pt_regs *ctx)
{
	return count();
}

char LICENSE[] SEC("license") = "GPL";
