/* SPDX-License-Identifier: MIT */
/*
 * Map operations over the arena. Freestanding and lock-free or bounded-spinning (D3): the
 * stub runs the same code in targets while the host reads and updates the same maps.
 *
 * Two sides, as in the kernel:
 *  - program side (helpers): lookups return a pointer into the value (this CPU's copy for
 *    per-CPU maps);
 *  - syscall side (bpf(2)): values are copied in and out; per-CPU maps carry
 *    round_up(value_size, 8) bytes for each of nr_cpus CPUs.
 * Errors are -BPFI_E* (negative errno).
 */
#ifndef BPFINJECT_MAPS_H
#define BPFINJECT_MAPS_H

#include <stdint.h>

#include <bpfinject/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Program side. @cpu selects the per-CPU copy (ignored by other types). */
void *bpfi_map_lookup_elem(struct bpfi_map_hdr *map, const void *key, uint32_t cpu);
long bpfi_map_update_elem(struct bpfi_map_hdr *map, const void *key, const void *value,
			  uint64_t flags, uint32_t cpu);
long bpfi_map_delete_elem(struct bpfi_map_hdr *map, const void *key);
/*
 * The same for callers that know the calling thread's kernel tid (the stub caches it per
 * thread, DESIGN D6): writers lock with it, saving the gettid system call (~400 ns here) that
 * the calls above make. @tid must be the caller's own; 0 means "ask the kernel".
 */
long bpfi_map_update_elem_tid(struct bpfi_map_hdr *map, const void *key, const void *value,
			      uint64_t flags, uint32_t cpu, uint32_t tid);
long bpfi_map_delete_elem_tid(struct bpfi_map_hdr *map, const void *key, uint32_t tid);

/* Syscall side. */
long bpfi_map_lookup_user(struct bpfi_map_hdr *map, const void *key, void *value, uint64_t flags);
long bpfi_map_update_user(struct bpfi_map_hdr *map, const void *key, const void *value,
			  uint64_t flags);
long bpfi_map_lookup_and_delete_user(struct bpfi_map_hdr *map, const void *key, void *value);
/* @key NULL: the first key. -BPFI_ENOENT after the last. */
long bpfi_map_get_next_key(struct bpfi_map_hdr *map, const void *key, void *next_key);
/* Like bpfi_map_delete_elem(), with the syscall's checks (frozen or BPF_F_RDONLY: -EPERM). */
long bpfi_map_delete_user(struct bpfi_map_hdr *map, const void *key);
/* BPF_MAP_FREEZE: syscall-side writes fail with -EPERM from now on; -EBUSY if already frozen. */
long bpfi_map_freeze(struct bpfi_map_hdr *map);

/* PROG_ARRAY slot @index for tail calls: the program id, 0 when empty or out of range. */
uint32_t bpfi_prog_array_get(const struct bpfi_map_hdr *map, uint32_t index);

/* Ring buffer (BPF_MAP_TYPE_RINGBUF), kernel layout, read unchanged by libbpf. */
void *bpfi_ringbuf_reserve(struct bpfi_map_hdr *map, uint64_t size, uint64_t flags);
/* @arena: the caller's mapping of the arena (the sample's header is not trusted, ringbuf.c). */
void bpfi_ringbuf_submit(char *arena, void *sample, uint64_t flags);
void bpfi_ringbuf_discard(char *arena, void *sample, uint64_t flags);
long bpfi_ringbuf_output(struct bpfi_map_hdr *map, const void *data, uint64_t size, uint64_t flags);
uint64_t bpfi_ringbuf_query(struct bpfi_map_hdr *map, uint64_t flags);
/* Wakeups requested by submits so far (a counter the host polls to signal epoll). */
uint64_t bpfi_ringbuf_wakeups(const struct bpfi_map_hdr *map);
/* With the caller's tid, as bpfi_map_update_elem_tid(). */
void *bpfi_ringbuf_reserve_tid(struct bpfi_map_hdr *map, uint64_t size, uint64_t flags,
			       uint32_t tid);
long bpfi_ringbuf_output_tid(struct bpfi_map_hdr *map, const void *data, uint64_t size,
			     uint64_t flags, uint32_t tid);

/*
 * perf_event_output into the perf buffer that slot @index of the PERF_EVENT_ARRAY @map
 * names (BPF_F_CURRENT_CPU selects @cpu), kernel PERF_RECORD_SAMPLE layout.
 */
long bpfi_perf_event_output(struct bpfi_map_hdr *map, uint64_t flags, uint32_t cpu,
			    const void *data, uint64_t size);
/* With the caller's tid, as bpfi_map_update_elem_tid(). */
long bpfi_perf_event_output_tid(struct bpfi_map_hdr *map, uint64_t flags, uint32_t cpu,
				const void *data, uint64_t size, uint32_t tid);

#ifdef __cplusplus
}
#endif

#endif
