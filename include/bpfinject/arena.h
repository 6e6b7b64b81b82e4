/* SPDX-License-Identifier: MIT */
/*
 * The arena from the host's side: creating the shared memory, mapping it into another
 * process of the session, and allocating maps and buffers in it. Hosted code only.
 */
#ifndef BPFINJECT_ARENA_H
#define BPFINJECT_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include <bpfinject/abi.h>
#include <bpfinject/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bpfi_arena;

/**
 * @brief **bpfi_arena_new()** creates an arena of @size bytes (a memfd, mode 0600, sparse)
 * and maps it read-write here.
 */
int bpfi_arena_new(size_t size, struct bpfi_arena **ret_arena, struct bpfi_log *log);

/**
 * @brief **bpfi_arena_open_fd()** maps an existing arena from its memfd (another process of
 * the session); @fd is duplicated, the caller keeps its own.
 */
int bpfi_arena_open_fd(int fd, struct bpfi_arena **ret_arena, struct bpfi_log *log);

/** @brief **bpfi_arena_free()** unmaps and closes. NULL is a no-op. Maps stay in the memfd. */
void bpfi_arena_free(struct bpfi_arena *arena);

int bpfi_arena_fd(const struct bpfi_arena *arena);
char *bpfi_arena_base(const struct bpfi_arena *arena);
size_t bpfi_arena_size(const struct bpfi_arena *arena);
struct bpfi_arena_hdr *bpfi_arena_hdr(const struct bpfi_arena *arena);

/**
 * @brief **bpfi_arena_alloc()** reserves @size bytes aligned to @align (a power of two,
 * at most a page), zeroed. Lock-free: any process of the session may allocate.
 * @return the offset from the arena base, or 0 when the arena is full
 */
uint64_t bpfi_arena_alloc(struct bpfi_arena *arena, uint64_t size, uint64_t align);

/** Parameters of BPF_MAP_CREATE that the arena needs (libbpf-style opts with a size). */
struct bpfi_map_create_opts {
	size_t sz;
	uint32_t type; /* enum bpf_map_type */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	const char *name; /* may be NULL */
};
#define bpfi_map_create_opts__last_field name

/**
 * @brief **bpfi_map_new()** creates a map in the arena after checking its parameters as the
 * kernel does (sizes, flags, a power-of-two page multiple for RINGBUF, ...).
 * @return 0 and the map in @ret_map (inside the arena, owned by it), or -EINVAL, -E2BIG,
 * -ENOMEM, -ENOTSUP with one line in @log
 */
int bpfi_map_new(struct bpfi_arena *arena, const struct bpfi_map_create_opts *opts,
		 struct bpfi_map_hdr **ret_map, struct bpfi_log *log);

/**
 * @brief **bpfi_map_mmap_range()** where mmap(map_fd, @pgoff) should land in the arena, for
 * BPF_F_MMAPABLE arrays and ring buffers: the arena offset, and the largest length allowed.
 * Ring buffers: the window is consumer page, producer page, data, data again; the arena holds
 * the first three contiguously (pgoff 0 -> consumer page, 1 -> producer page, 2.. -> data), and
 * the part of the window past the first copy of the data must be mapped from the data start.
 * @return 0, or -EINVAL when the map cannot be mapped at that offset
 */
int bpfi_map_mmap_range(const struct bpfi_map_hdr *map, uint64_t pgoff, uint64_t *ret_arena_off,
			uint64_t *ret_max_len);

/**
 * @brief **bpfi_perfbuf_new()** allocates one perf buffer (a perf_event_mmap_page and
 * @data_pages pages, a power of two) for a BPF_OUTPUT perf event, page aligned.
 * @return 0 and its arena offset in @ret_off
 */
int bpfi_perfbuf_new(struct bpfi_arena *arena, uint32_t data_pages, uint64_t *ret_off,
		     struct bpfi_log *log);

/**
 * @brief **bpfi_perf_array_set()** / **bpfi_perf_array_clear()**: point slot @index of a
 * PERF_EVENT_ARRAY at the perf buffer at arena offset @perfbuf_off (0 clears).
 */
int bpfi_perf_array_set(struct bpfi_map_hdr *map, uint32_t index, uint64_t perfbuf_off);

#ifdef __cplusplus
}
#endif

#endif
