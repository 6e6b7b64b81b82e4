// SPDX-License-Identifier: MIT
/*
 * A uprobe on open(2)-like functions that sends one event per call to a ring buffer: the
 * pid, the time and the path (the first argument, read from user memory), the way
 * opensnoop does. Events larger than the ring's free space are counted as dropped.
 */
/* The UAPI types must come before libbpf's headers: keep this order. */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/types.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
/* clang-format on */

#define PATH_MAX_LEN 128

struct event {
	__u64 ts_ns;
	__u32 pid;
	__u32 flags;
	char comm[16];
	char path[PATH_MAX_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

__u64 sent = 0;
__u64 dropped = 0;

SEC("uprobe")
int BPF_KPROBE(trace_open, const char *path, int flags)
{
	struct event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->flags = flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* A bad pointer leaves an empty string: the helper zeroes the buffer on -EFAULT. */
	bpf_probe_read_user_str(e->path, sizeof(e->path), path);
	bpf_ringbuf_submit(e, 0);
	__sync_fetch_and_add(&sent, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
