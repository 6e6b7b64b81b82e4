// SPDX-License-Identifier: MIT
/*
 * Counts the calls of a target function at entry and return, with the sum of its first
 * argument and of its results, into an array the end-to-end tests read back as JSON. Also
 * a libc probe (getpid, which the fixtures call a known number of times) and a ring buffer
 * record on the first call.
 */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/types.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
/* clang-format on */

enum { CALLS, ARG_SUM, RETURNS, RET_SUM, GETPID, NR_COUNTERS };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct first_call {
	__u32 tid;
	__u32 pad;
	__u64 arg;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

static __always_inline void add(__u32 key, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &key);

	if (c)
		__sync_fetch_and_add(c, v);
}

SEC("uprobe")
int BPF_KPROBE(count_entry, long arg)
{
	__u32 key = CALLS;
	__u64 *calls = bpf_map_lookup_elem(&counters, &key);

	if (calls && *calls == 0) {
		struct first_call e = { .tid = (__u32)bpf_get_current_pid_tgid(), .arg = arg };

		bpf_ringbuf_output(&events, &e, sizeof(e), 0);
		bpf_printk("first call, arg %ld", arg);
	}
	add(CALLS, 1);
	add(ARG_SUM, (__u64)arg);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(count_return, long ret)
{
	add(RETURNS, 1);
	add(RET_SUM, (__u64)ret);
	return 0;
}

SEC("uprobe/libc.so.6:getpid")
int BPF_KPROBE(count_getpid)
{
	add(GETPID, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
