// SPDX-License-Identifier: MIT
/*
 * Every map type a target can corrupt, used on each call of fixture_work() in the victim of
 * test_hostile (issue 11 A3): lookups, updates and deletes in the four hash map types (the LRU
 * ones with more keys than entries, so they evict), array and per-CPU array counters, ring
 * buffer reserve/submit and output, perf buffer output and trace_printk.
 */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/types.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
/* clang-format on */

#define HASH_MAP(name, kind, n)         \
	struct {                        \
		__uint(type, kind);     \
		__uint(max_entries, n); \
		__type(key, __u32);     \
		__type(value, __u64);   \
	} name SEC(".maps")

HASH_MAP(h_hash, BPF_MAP_TYPE_HASH, 64);
HASH_MAP(h_lru, BPF_MAP_TYPE_LRU_HASH, 16);
HASH_MAP(h_pcpu_hash, BPF_MAP_TYPE_PERCPU_HASH, 64);
HASH_MAP(h_lru_pcpu, BPF_MAP_TYPE_LRU_PERCPU_HASH, 16);
HASH_MAP(h_array, BPF_MAP_TYPE_ARRAY, 4);
HASH_MAP(h_pcpu_array, BPF_MAP_TYPE_PERCPU_ARRAY, 4);

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} h_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} h_perf SEC(".maps");

struct rec {
	__u64 arg;
	__u64 seq;
};

static __always_inline void hash_use(void *map, __u32 key, __u64 arg)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(map, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(map, &key, &one, BPF_ANY);
	if (arg % 7 == 0)
		bpf_map_delete_elem(map, &key);
}

SEC("uprobe")
int BPF_KPROBE(hostile_probe, __u64 arg)
{
	__u32 zero = 0, k = (__u32)arg & 63;
	struct rec r = { .arg = arg };
	struct rec *e;
	__u64 *v;

	v = bpf_map_lookup_elem(&h_array, &zero);
	if (v)
		__sync_fetch_and_add(v, 1);
	v = bpf_map_lookup_elem(&h_pcpu_array, &zero);
	if (v)
		*v += 1;
	hash_use(&h_hash, k, arg);
	hash_use(&h_lru, k, arg);
	hash_use(&h_pcpu_hash, k, arg);
	hash_use(&h_lru_pcpu, k, arg);
	if (arg % 32)
		return 0;
	e = bpf_ringbuf_reserve(&h_ring, sizeof(*e), 0);
	if (e) {
		e->arg = arg;
		e->seq = 1;
		bpf_ringbuf_submit(e, 0);
	}
	bpf_ringbuf_output(&h_ring, &r, sizeof(r), 0);
	bpf_perf_event_output(ctx, &h_perf, BPF_F_CURRENT_CPU, &r, sizeof(r));
	bpf_printk("hostile %llu", arg);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
