// SPDX-License-Identifier: MIT
/* The compute kernels of kernels.h as eBPF programs: r1 points to 4 u64 of context. */
/* The UAPI types must come before libbpf's headers: keep this order. */
/* clang-format off */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
/* clang-format on */

#include "kernels.h"

#define BENCH_PROG(name)                        \
	SEC("raw_tp")                           \
	long name(bench_u64 *ctx)               \
	{                                       \
		return (long)bench_##name(ctx); \
	}

BENCH_PROG(loop)
BENCH_PROG(fnv)
BENCH_PROG(xxh)
BENCH_PROG(memory)
BENCH_PROG(sort)
BENCH_PROG(fsm)

char LICENSE[] SEC("license") = "Dual MIT/GPL";
