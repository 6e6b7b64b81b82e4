// SPDX-License-Identifier: MIT
/*
 * test_runtime: one object with a map of every type the runtime creates, .data/.rodata/.bss
 * globals, a subprogram and several programs of different types, loaded by libbpf.
 */
/* The UAPI types must come before libbpf's helper definitions. */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/ptrace.h>

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
/* clang-format on */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8);
	__type(key, __u64);
	__type(value, __u32);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 4096);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} progs SEC(".maps");

const volatile __u64 mul = 3; /* .rodata: set before load, frozen */
__u64 data_counter = 100; /* .data */
__u64 bss_last; /* .bss */

/* A real bpf-to-bpf call: noinline keeps it a subprogram. */
static __noinline __u64 mix(__u64 x)
{
	return x * mul + 1;
}

SEC("kprobe/rt_do_thing")
int BPF_KPROBE(count_arg, __u64 arg)
{
	__u32 key = arg & 63, slot = arg & 15, zero = 0;
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_ANY);
	v = bpf_map_lookup_elem(&slots, &slot);
	if (v)
		*v += arg;
	v = bpf_map_lookup_elem(&pcpu_arr, &zero);
	if (v)
		*v += 1;
	bss_last = mix(arg);
	data_counter += 1;
	return (int)mix(arg);
}

SEC("kprobe/rt_other")
int BPF_KPROBE(hash_pcpu, __u64 arg)
{
	__u32 key = arg & 31;
	__u64 k64 = arg, val = arg * 2;
	__u32 small = (__u32)arg;

	bpf_map_update_elem(&pcpu_hash, &key, &val, BPF_ANY);
	bpf_map_update_elem(&lru, &k64, &small, BPF_ANY);
	return bpf_map_lookup_elem(&lru, &k64) ? 1 : 0;
}

/* Tracepoint records: 8-byte common header, then 8-byte slots (sys_enter: args from 16). */
SEC("tracepoint/syscalls/sys_enter_openat")
int tp_ring(unsigned long long *ctx)
{
	__u64 rec = ctx[2] + ctx[3];

	if (bpf_ringbuf_output(&rb, &rec, sizeof(rec), 0))
		return -1;
	return (int)rec;
}

SEC("raw_tracepoint/sys_enter")
int raw_printk(__u64 *args)
{
	bpf_printk("hello %d", (int)args[0]);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
