/* SPDX-License-Identifier: MIT */
/*
 * bpf_perf_event_output: PERF_RECORD_SAMPLE records into the perf buffer a PERF_EVENT_ARRAY
 * slot names, in the kernel's perf_event_mmap_page ring, read unchanged by libbpf perf_buffer.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/abi.h>
#include <bpfinject/sys.h>

#include "maps_internal.h"

#define PERF_RECORD_LOST   2
#define PERF_RECORD_SAMPLE 9

struct perf_rec_hdr {
	uint32_t type;
	uint16_t misc;
	uint16_t size;
};

/* Copy @len bytes to ring position @pos, wrapping at the end of the data area. A NULL @src
 * writes zeros (the padding of a raw sample). */
static void ring_write(char *data, uint64_t dsize, uint64_t pos, const void *src, uint64_t len)
{
	uint64_t off = pos & (dsize - 1);
	uint64_t first = len < dsize - off ? len : dsize - off;

	if (src) {
		bpfi_memcpy(data + off, src, first);
		bpfi_memcpy(data, (const char *)src + first, len - first);
	} else {
		bpfi_memset(data + off, 0, first);
		bpfi_memset(data, 0, len - first);
	}
}

/*
 * The descriptor of the perf buffer slot @index names, or NULL. The slot is in the data region
 * (any target can rewrite it): it must name a descriptor slot of the meta region, whose fields
 * only the host writes. A target can thus only point the slot at another perf buffer of the
 * session.
 */
static const struct maps_perfbuf_meta *perf_slot(struct bpfi_map_hdr *map, uint32_t index)
{
	_Atomic uint64_t *slots = MAPS_AT(map, map->data_off);
	/* Acquire: pairs with the release store in bpfi_perf_array_set(), so the buffer's
	 * initialised header is visible. */
	uint64_t off = atomic_load_explicit(&slots[index], memory_order_acquire);
	const struct maps_perfbuf_meta *pm = maps__meta_at(bpfi_map_arena_base(map), off);

	if (!pm || pm->magic != PERFBUF_MAGIC)
		return NULL;
	return pm;
}

/* Under the buffer's lock: append a PERF_RECORD_LOST (if any) and the sample, then publish. */
static long perf_write(struct maps_perfbuf *pb, struct maps_perf_page *pg, uint64_t dsize,
		       const void *data, uint64_t size)
{
	char *ring = (char *)pg + BPFI_PAGE_SIZE;
	uint64_t raw = MAPS_ROUND8(size + 4) - 4;
	uint64_t rec = sizeof(struct perf_rec_hdr) + 4 + raw;
	uint64_t lost = atomic_load_explicit(&pb->lost, memory_order_relaxed);
	uint64_t need = rec + (lost ? 24 : 0);
	uint64_t head = atomic_load_explicit(&pg->data_head, memory_order_relaxed);
	/* Acquire: pairs with the reader's release store of data_tail (libbpf
	 * ring_buffer_write_tail()), so the space it consumed is free. */
	uint64_t tail = atomic_load_explicit(&pg->data_tail, memory_order_acquire);
	struct perf_rec_hdr h = { .type = PERF_RECORD_SAMPLE, .size = (uint16_t)rec };
	uint32_t raw32 = (uint32_t)raw;

	if (head - tail > dsize || need > dsize - (head - tail)) {
		atomic_fetch_add_explicit(&pb->lost, 1, memory_order_relaxed);
		return -BPFI_ENOSPC;
	}
	if (lost) {
		/* struct { perf_event_header; u64 id; u64 lost; } as perf_event_lost() writes. */
		struct perf_rec_hdr lh = { .type = PERF_RECORD_LOST, .size = 24 };
		uint64_t id = 0;

		lost = atomic_exchange_explicit(&pb->lost, 0, memory_order_relaxed);
		ring_write(ring, dsize, head, &lh, sizeof(lh));
		ring_write(ring, dsize, head + 8, &id, sizeof(id));
		ring_write(ring, dsize, head + 16, &lost, sizeof(lost));
		head += 24;
	}
	ring_write(ring, dsize, head, &h, sizeof(h));
	ring_write(ring, dsize, head + 8, &raw32, sizeof(raw32));
	ring_write(ring, dsize, head + 12, data, size);
	ring_write(ring, dsize, head + 12 + size, NULL, raw - size);
	/* Release: pairs with the reader's acquire load of data_head (libbpf
	 * ring_buffer_read_head()): the records are complete before the head covers them. */
	atomic_store_explicit(&pg->data_head, head + rec, memory_order_release);
	return 0;
}

long bpfi_perf_event_output(struct bpfi_map_hdr *map, uint64_t flags, uint32_t cpu,
			    const void *data, uint64_t size)
{
	return bpfi_perf_event_output_tid(map, flags, cpu, data, size, 0);
}

long bpfi_perf_event_output_tid(struct bpfi_map_hdr *map, uint64_t flags, uint32_t cpu,
				const void *data, uint64_t size, uint32_t tid)
{
	uint64_t index = flags & BPFI_F_INDEX_MASK;
	const struct maps_perfbuf_meta *pm;
	struct maps_perf_page *pg;
	struct maps_perfbuf *pb;
	long err;

	if (map->type != BPFI_MAP_PERF_EVENT_ARRAY || (flags & ~BPFI_F_INDEX_MASK))
		return -BPFI_EINVAL;
	if (index == BPFI_F_CURRENT_CPU)
		index = cpu;
	if (index >= map->max_entries)
		return -BPFI_E2BIG;
	if (size > 0xffff - 16)
		return -BPFI_E2BIG; /* perf_event_header.size is 16 bits */
	pm = perf_slot(map, (uint32_t)index);
	if (!pm)
		return -BPFI_ENOENT;
	pg = (void *)(bpfi_map_arena_base(map) + pm->page_off);
	pb = (void *)((char *)pg - BPFI_PAGE_SIZE);
	err = maps__lock_tid(&pb->lock, tid ? tid : maps__tid());
	if (err)
		return err;
	err = perf_write(pb, pg, (uint64_t)pm->data_pages * BPFI_PAGE_SIZE, data, size);
	maps__unlock(&pb->lock);
	if (!err)
		atomic_fetch_add_explicit(&pb->wakeups, 1, memory_order_release);
	return err;
}
