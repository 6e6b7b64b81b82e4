// SPDX-License-Identifier: MIT
/*
 * libc's own functions in a real Debian program: the host name getaddrinfo() is asked for,
 * read with bpf_probe_read_user_str into a ring buffer record, and a count of malloc calls.
 */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/types.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
/* clang-format on */

struct lookup {
	char host[64];
	__s64 len;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

__u64 mallocs = 0;
/* Puts struct lookup in the object's BTF, as libbpf-tools do, for --event-type. */
const struct lookup *unused_lookup __attribute__((unused));

SEC("uprobe/libc.so.6:getaddrinfo")
int BPF_KPROBE(on_getaddrinfo, const char *node)
{
	struct lookup *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->len = bpf_probe_read_user_str(e->host, sizeof(e->host), node);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("uprobe/libc.so.6:malloc")
int BPF_KPROBE(on_malloc)
{
	__sync_fetch_and_add(&mallocs, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
