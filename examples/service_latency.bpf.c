// SPDX-License-Identifier: MIT
/*
 * What a user attaches to a live service: a log2 histogram of the sizes it asks malloc for,
 * and the latency of one of its own functions (entry and return probes), with a
 * trace_printk line for every slow call.
 *
 *   bpfinject -p PID service_latency.bpf.o \
 *       -a request_enter=handle_request -a request_exit=handle_request
 */
/* The UAPI types must come before libbpf's headers: keep this order. */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/types.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
/* clang-format on */

#define SLOTS 32

/* Calls slower than this are printed (.rodata: the loader may change it). */
const volatile __u64 slow_us = 2000;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} malloc_size_log2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} latency_us_log2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 r = 0;

#pragma unroll
	for (int shift = 16; shift > 0; shift >>= 1) {
		if (v >= (1ULL << shift)) {
			v >>= shift;
			r += shift;
		}
	}
	return r < SLOTS ? r : SLOTS - 1;
}

static __always_inline void count(void *map, __u64 v)
{
	__u32 slot = log2_slot(v);
	__u64 *n = bpf_map_lookup_elem(map, &slot);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("uprobe/libc.so.6:malloc")
int BPF_KPROBE(on_malloc, __u64 size)
{
	count(&malloc_size_log2, size);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(request_enter, long size)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&start, &tid, &now, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(request_exit, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *t0 = bpf_map_lookup_elem(&start, &tid), us;

	if (!t0)
		return 0;
	us = (bpf_ktime_get_ns() - *t0) / 1000;
	bpf_map_delete_elem(&start, &tid);
	count(&latency_us_log2, us);
	if (us >= slow_us)
		bpf_printk("slow request: %llu us (tid %u)", us, tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
