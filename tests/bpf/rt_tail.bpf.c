// SPDX-License-Identifier: MIT
/* test_runtime: a tail call between two programs through a PROG_ARRAY. */
/* The UAPI types must come before libbpf's helper definitions. */
/* clang-format off */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>
/* clang-format on */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} jmp_table SEC(".maps");

__u64 target_runs;

SEC("raw_tracepoint/tail_target")
int tail_target(__u64 *args)
{
	target_runs++;
	return 42 + (int)args[0];
}

SEC("raw_tracepoint/tail_entry")
int tail_entry(__u64 *args)
{
	bpf_tail_call(args, &jmp_table, 0);
	return 7; /* the slot was empty */
}

char LICENSE[] SEC("license") = "GPL";
