// SPDX-License-Identifier: MIT
/*
 * test_events: records through bpf_perf_event_output and the ring buffer (output, reserve +
 * submit, discard), global data shared through mmapped .bss, and programs to attach.
 */
/* The UAPI types must come before libbpf's helper definitions. */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/ptrace.h>

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
/* clang-format on */

#define EVENT_PAYLOAD 48

struct event {
	__u32 seq;
	__u32 magic;
	__u8 payload[EVENT_PAYLOAD];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(int));
	__uint(value_size, sizeof(int));
} perf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 4096);
} ring SEC(".maps");

/* .bss: shared with user space through libbpf's mmap of the map. */
__u32 perf_seq;
__u32 ring_seq;
__u64 ring_dropped;
__u64 bss_in;
__u64 bss_out;
__u64 hits;

/* .rodata: frozen, mapped read-only. */
const volatile __u32 event_magic = 0xfeedbeef;

static __always_inline void fill(struct event *e, __u32 seq)
{
	e->seq = seq;
	e->magic = event_magic;
	for (int i = 0; i < EVENT_PAYLOAD; i++)
		e->payload[i] = (__u8)(seq + i);
}

SEC("raw_tp/events_perf")
int emit_perf(void *ctx)
{
	struct event e;

	fill(&e, perf_seq++);
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

/* Even records through bpf_ringbuf_output, odd ones reserved and submitted in place. */
SEC("raw_tp/events_ring")
int emit_ring(void *ctx)
{
	__u32 seq = ring_seq++;
	struct event *r, e;

	if (seq % 2 == 0) {
		fill(&e, seq);
		if (bpf_ringbuf_output(&ring, &e, sizeof(e), 0))
			ring_dropped++;
		return 0;
	}
	r = bpf_ringbuf_reserve(&ring, sizeof(*r), 0);
	if (!r) {
		ring_dropped++;
		return 0;
	}
	fill(r, seq);
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* A discarded reservation: the consumer must skip it. */
SEC("raw_tp/events_discard")
int emit_discard(void *ctx)
{
	struct event *r = bpf_ringbuf_reserve(&ring, sizeof(*r), 0);

	if (!r)
		return 0;
	fill(r, 0xdead);
	bpf_ringbuf_discard(r, 0);
	return 0;
}

SEC("raw_tp/events_bss")
int touch_bss(void *ctx)
{
	bss_out = bss_in * 2 + 1;
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(on_uprobe, long arg)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(on_uretprobe, long ret)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int on_openat(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("perf_event")
int on_perf_event(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
