// SPDX-License-Identifier: MIT
/*
 * A uprobe on a function's entry that keeps a log2 histogram of its first argument, a count
 * per distinct argument, and prints the first call and every 25000th with trace_printk.
 * Attach it to e.g. malloc to see the sizes a program asks for.
 */
/* The UAPI types must come before libbpf's headers: keep this order. */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/types.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
/* clang-format on */

#define HIST_SLOTS 64

/* Configuration, set by the loader before load (.rodata, frozen). */
const volatile __u64 min_arg = 0;
const volatile __u32 print_every = 25000;

/* Statistics as globals (.bss): read back with the map dump. */
__u64 calls = 0;
__u64 skipped = 0;

struct arg_stat {
	__u64 count;
	__u64 last_ns;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HIST_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct arg_stat);
} args SEC(".maps");

/* floor(log2(v)) for v > 0, 0 for v == 0, without loops. */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xffffffffULL) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

SEC("uprobe")
int BPF_KPROBE(hist_arg, __u64 arg)
{
	struct arg_stat zero = {}, *st;
	__u32 slot;
	__u64 *bucket, n;

	if (arg < min_arg) {
		__sync_fetch_and_add(&skipped, 1);
		return 0;
	}
	slot = log2_u64(arg);
	bucket = bpf_map_lookup_elem(&hist, &slot);
	if (bucket)
		__sync_fetch_and_add(bucket, 1);

	st = bpf_map_lookup_elem(&args, &arg);
	if (!st) {
		bpf_map_update_elem(&args, &arg, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&args, &arg);
		if (!st)
			return 0;
	}
	__sync_fetch_and_add(&st->count, 1);
	st->last_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(st->comm, sizeof(st->comm));

	n = __sync_fetch_and_add(&calls, 1);
	if (print_every && n % print_every == 0)
		bpf_printk("call %llu: arg=%llu slot=%u", n + 1, arg, slot);
	return slot;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
