// SPDX-License-Identifier: MIT
/*
 * Output helpers: perf_event_output into perf buffers and the BPF ring buffer helpers. The
 * buffers' layouts (those libbpf's consumers read) belong to maps/; these adapt arguments.
 */
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/helpers.h>
#include <bpfinject/maps.h>
#include <bpfinject/sys.h>

#include "stub_internal.h"

/*
 * bpf_perf_event_output(ctx, map, flags, data, size): flags carry the PERF_EVENT_ARRAY index,
 * or BPF_F_CURRENT_CPU for this CPU's slot; no other bit is valid (kernel: -EINVAL).
 */
STUB_HELPER(perf_event_output)
{
	struct bpfi_map_hdr *map = (struct bpfi_map_hdr *)(uintptr_t)r2;

	if (r3 & ~STUB_F_INDEX_MASK)
		return stub_err(-BPFI_EINVAL);
	return stub_err(bpfi_perf_event_output_tid(
		map, r3, stub__current_cpu(env), (const void *)(uintptr_t)r4, r5, stub__tid(env)));
}

/* bpf_ringbuf_output(ringbuf, data, size, flags): 0 or a negative errno. */
STUB_HELPER(ringbuf_output)
{
	return stub_err(bpfi_ringbuf_output_tid((struct bpfi_map_hdr *)(uintptr_t)r1,
						(const void *)(uintptr_t)r2, r3, r4,
						stub__tid(env)));
}

/* bpf_ringbuf_reserve(ringbuf, size, flags): the sample, or NULL. */
STUB_HELPER(ringbuf_reserve)
{
	return (uint64_t)(uintptr_t)bpfi_ringbuf_reserve_tid((struct bpfi_map_hdr *)(uintptr_t)r1,
							     r2, r3, stub__tid(env));
}

/* bpf_ringbuf_submit(data, flags) and _discard: void in the kernel; r0 is 0. */
STUB_HELPER(ringbuf_submit)
{
	bpfi_ringbuf_submit(env->arena, (void *)(uintptr_t)r1, r2);
	return 0;
}

STUB_HELPER(ringbuf_discard)
{
	bpfi_ringbuf_discard(env->arena, (void *)(uintptr_t)r1, r2);
	return 0;
}

/* bpf_ringbuf_query(ringbuf, flags): BPF_RB_AVAIL_DATA, _RING_SIZE, _CONS_POS, _PROD_POS. */
STUB_HELPER(ringbuf_query)
{
	return bpfi_ringbuf_query((struct bpfi_map_hdr *)(uintptr_t)r1, r2);
}
