// SPDX-License-Identifier: MIT
/*
 * test_e2e: the deepest stack tail calls can build in a program the check accepts (issue 11
 * A2), in a live process. The probe calls a subprogram that tail-calls the probe itself until
 * the budget (33) is spent, each tail call leaving the probe's frame behind; then the
 * subprogram goes down a chain to the eighth frame. counters[0] counts the subprogram's
 * runs, counters[1] the ends of the chain.
 *
 * With TAIL_AT_THE_END (e2e_tail_deep.bpf.c), the tail call is made from the end of the
 * chain instead, seven frames down, as in the issue: each tail call would leave seven frames
 * (4 KiB) behind, and the target died on the ninth; the check refuses it.
 */
/* clang-format off */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
/* clang-format on */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

int tail_deep(void *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, int(void *));
} self SEC(".maps") = {
	.values = { [0] = (void *)&tail_deep },
};

static __always_inline void add(__u32 key)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &key);

	if (c)
		__sync_fetch_and_add(c, 1);
}

/* A frame that uses its stack: what the chain below the tail call is made of. */
#define LINK(name, next)                      \
	static __noinline int name(void *ctx) \
	{                                     \
		volatile __u64 slot = 0;      \
                                              \
		return next(ctx) + (int)slot; \
	}

static __noinline int chain_end(void *ctx)
{
	volatile __u64 slot = 0;

	add(1);
#ifdef TAIL_AT_THE_END
	bpf_tail_call(ctx, &self, 0);
#endif
	return (int)slot;
}

LINK(chain5, chain_end)
LINK(chain4, chain5)
LINK(chain3, chain4)
LINK(chain2, chain3)
LINK(chain1, chain2)

static __noinline int tail_from_sub(void *ctx)
{
	volatile __u64 slot = 0;

	add(0);
#ifndef TAIL_AT_THE_END
	bpf_tail_call(ctx, &self, 0);
#endif
	return chain1(ctx) + (int)slot;
}

SEC("uprobe")
int tail_deep(void *ctx)
{
	volatile __u64 slot = 0;

	return tail_from_sub(ctx) + (int)slot;
}

char LICENSE[] SEC("license") = "GPL";
