/* SPDX-License-Identifier: MIT */
/*
 * Layouts of each map type inside its arena block, the owner-tid lock, and the prototypes the
 * files of maps/ share. Freestanding: included by the stub build too.
 *
 * Trust (DESIGN.md D3, issue 11 A3). Every target of a session maps the arena, and a target is
 * any process its user controls: it can write whatever its own mapping lets it write, with
 * plain stores or through /proc/self/mem, at any moment. No process may thereby make another
 * process of the session (a target of another user, or the host) read or write outside that
 * map's own storage, loop forever, or crash. So:
 *  - what never changes after creation (the map header: type, sizes, max_entries, data_off,
 *    and in impl the type's layout: bucket count, element size, offsets, ring mask; perf
 *    buffer descriptors) is in the arena's meta region, which targets map read-only from an
 *    O_RDONLY fd of the memfd (a MAP_SHARED mapping without VM_MAYWRITE: mprotect cannot make
 *    it writable, /proc/self/mem cannot write it, and the read-write mapping of the data region
 *    after it cannot be grown over it by mremap, which only extends forward);
 *  - everything in the data region (values, chain links, bucket heads, free stack, element
 *    states, lock words, ring and perf positions, record headers, perf array slots) is input:
 *    each offset or index read from it is read once into a local, checked (range within the
 *    map's own storage, alignment) and only then used, and every walk is bounded by the map's
 *    size. A corrupted map gives wrong contents or failed operations, nothing worse. Lock words
 *    are bounded by lock.c's schedule (-EBUSY after SPIN_LIMIT rounds), never a hang.
 */
#ifndef BPFI_MAPS_INTERNAL_H
#define BPFI_MAPS_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/abi.h>
#include <bpfinject/maps.h>
#include <bpfinject/sys.h>

/* enum bpf_map_type values (uapi linux/bpf.h; checked against it in arena.c). */
#define BPFI_MAP_HASH		  1
#define BPFI_MAP_ARRAY		  2
#define BPFI_MAP_PROG_ARRAY	  3
#define BPFI_MAP_PERF_EVENT_ARRAY 4
#define BPFI_MAP_PERCPU_HASH	  5
#define BPFI_MAP_PERCPU_ARRAY	  6
#define BPFI_MAP_CGROUP_ARRAY	  8
#define BPFI_MAP_LRU_HASH	  9
#define BPFI_MAP_LRU_PERCPU_HASH  10
#define BPFI_MAP_RINGBUF	  27
#define BPFI_MAP_TYPE_KNOWN_MAX	  33 /* BPF_MAP_TYPE_ARENA: larger numbers are -EINVAL */

/* Map creation flags (BPF_F_*). */
#define BPFI_F_NO_PREALLOC    (1u << 0)
#define BPFI_F_NO_COMMON_LRU  (1u << 1)
#define BPFI_F_NUMA_NODE      (1u << 2)
#define BPFI_F_RDONLY	      (1u << 3)
#define BPFI_F_WRONLY	      (1u << 4)
#define BPFI_F_ZERO_SEED      (1u << 6)
#define BPFI_F_RDONLY_PROG    (1u << 7)
#define BPFI_F_WRONLY_PROG    (1u << 8)
#define BPFI_F_MMAPABLE	      (1u << 10)
#define BPFI_F_PRESERVE_ELEMS (1u << 11)
#define BPFI_F_INNER_MAP      (1u << 12)
#define BPFI_F_ACCESS_MASK    (BPFI_F_RDONLY | BPFI_F_RDONLY_PROG | BPFI_F_WRONLY | BPFI_F_WRONLY_PROG)

/* Update flags. */
#define BPFI_ANY     0
#define BPFI_NOEXIST 1
#define BPFI_EXIST   2

/* Ring buffer flags and query selectors. */
#define BPFI_RB_NO_WAKEUP    1u
#define BPFI_RB_FORCE_WAKEUP 2u
#define BPFI_RB_AVAIL_DATA   0
#define BPFI_RB_RING_SIZE    1
#define BPFI_RB_CONS_POS     2
#define BPFI_RB_PROD_POS     3
#define BPFI_RINGBUF_BUSY    (1u << 31)
#define BPFI_RINGBUF_DISCARD (1u << 30)
#define BPFI_RINGBUF_HDR_SZ  8

#define BPFI_F_INDEX_MASK  0xffffffffULL
#define BPFI_F_CURRENT_CPU BPFI_F_INDEX_MASK

#define BPFI_NR_sched_yield 24

#define MAPS_ROUND8(x)	  (((x) + 7) & ~(uint64_t)7)
#define MAPS_ROUNDPG(x)	  (((x) + BPFI_PAGE_SIZE - 1) & ~(uint64_t)(BPFI_PAGE_SIZE - 1))
#define MAPS_AT(map, off) ((void *)((char *)(map) + (off)))

/*
 * Owner lock: 0 when free, else the tid of the holder (tids are unique across the processes of
 * one pid namespace, and a session lives in one). See lock.c for why this, and not a plain
 * spinlock: a holder killed inside the critical section is detected and its lock taken over.
 */
int maps__lock(_Atomic uint32_t *lock);
int maps__lock_tid(_Atomic uint32_t *lock, uint32_t me); /* @me: maps__tid(), if known */
void maps__unlock(_Atomic uint32_t *lock);
uint32_t maps__tid(void);
bool maps__tid_alive(uint32_t tid);
int maps__wait_owner(uint32_t owner, uint32_t round); /* 1 gone, 0 wait on, -EBUSY */

/*
 * Hash maps (HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH):
 *
 *   meta: hdr (128), its impl a struct maps_htab (the layout, fixed)
 *   data: struct maps_htab_free | buckets[n_buckets] | elems[max_entries]
 *
 * Every element is preallocated (the kernel's prealloc mode). Chains link elements by their
 * offset from the map header; a chain ends with a "nulls" value (bucket << 1 | 1), so a
 * lock-free reader that followed an element into another bucket notices and restarts
 * (kernel hlist_nulls). Unused elements sit on a lock-free stack with a tagged head.
 */
struct maps_htab {
	uint32_t n_buckets; /* a power of two */
	uint32_t elem_size; /* a multiple of 8 */
	uint32_t key_stride; /* round_up(key_size, 8) */
	uint32_t value_stride; /* round_up(value_size, 8): one CPU's copy */
	uint64_t buckets_off; /* from the map header */
	uint64_t elems_off;
	uint64_t elems_end; /* elems_off + max_entries * elem_size */
	uint64_t seed;
};
_Static_assert(sizeof(struct maps_htab) <= sizeof(((struct bpfi_map_hdr *)0)->impl),
	       "htab layout fits the header");

/* At data_off: what every writer changes. */
struct maps_htab_free {
	_Atomic uint64_t free_head; /* tag << 32 | (element index + 1); 0 index: empty */
	_Atomic uint64_t lru_hand; /* clock hand for LRU eviction */
};

struct maps_bucket {
	_Atomic uint64_t head; /* element offset, or nulls */
	_Atomic uint32_t lock; /* owner tid */
	uint32_t pad;
};
_Static_assert(sizeof(struct maps_bucket) == 16, "bucket layout");

/* Element states: who may touch it. IN_FLIGHT carries the owner's tid in the high half (on the
 * free stack: a popper's claim, or a pusher's before it stores FREE; see htab.c). */
#define HTAB_FREE	0u
#define HTAB_LINKED	1u
#define HTAB_IN_FLIGHT	2u
#define HTAB_STATE(tid) (((uint64_t)(tid) << 32) | HTAB_IN_FLIGHT)

struct maps_htab_elem {
	_Atomic uint64_t next; /* chain link (offset or nulls) */
	_Atomic uint64_t state; /* HTAB_FREE, HTAB_LINKED or HTAB_STATE(tid) */
	_Atomic uint32_t free_next; /* free stack link: index + 1, 0 ends */
	_Atomic uint32_t hash;
	_Atomic uint32_t ref; /* LRU: referenced since the clock hand last passed */
	uint32_t pad;
	/* key (key_stride bytes), then value_stride bytes per CPU copy */
};
_Static_assert(sizeof(struct maps_htab_elem) == 32, "htab element layout");

/*
 * Arrays: values at data_off (a page boundary when BPF_F_MMAPABLE, so the value area can be
 * mapped alone), round_up(value_size, 8) apart, times nr_cpus for PERCPU_ARRAY.
 * PROG_ARRAY: _Atomic uint32_t program ids (0 empty). PERF_EVENT_ARRAY: _Atomic uint64_t arena
 * offsets of perf buffers (0 empty). CGROUP_ARRAY: _Atomic uint32_t (unused).
 *
 * Ring buffer, kernel layout from the consumer page on (struct bpf_ringbuf); the header (meta)
 * holds the mask in impl[0]; at data_off:
 *   page 0:   struct maps_ringbuf, the slots         (private: never mapped by users)
 *   page 1:   consumer_pos                           (mmap pgoff 0, read-write)
 *   page 2:   producer_pos, pending_pos              (mmap pgoff 1, read-only)
 *   page 3..: data[max_entries]                      (users map it twice, after the producer)
 * A record header's pg_off (the kernel's, pages back to struct bpf_ringbuf; consumers never
 * read it) holds the map header's slot in the meta region (self_off / BPFI_META_ALIGN), so
 * submit finds the map from the sample alone, and checks what it found (ringbuf.c).
 */
struct maps_ringbuf {
	_Atomic uint32_t lock; /* owner tid, serialises reservations (kernel spinlock) */
	uint32_t pad;
	_Atomic uint64_t wakeups; /* wakeups requested by submit; the host polls this */
};

/*
 * Outstanding reservations and their owners, in the private header page, so that a record
 * whose writer died between reserve and submit can be discarded instead of blocking the
 * consumer forever. Open addressing from (pos / 8) % RINGBUF_SLOTS.
 */
#define RINGBUF_SLOTS	  128
#define RINGBUF_SLOTS_OFF 1024
struct maps_ringbuf_slot {
	_Atomic uint64_t pos; /* the record's position; written under rb->lock */
	_Atomic uint32_t tid; /* its writer, 0: slot free */
	_Atomic uint32_t seen; /* reservations that found it blocking pending_pos */
};
_Static_assert(RINGBUF_SLOTS_OFF + RINGBUF_SLOTS * sizeof(struct maps_ringbuf_slot) <=
		       BPFI_PAGE_SIZE,
	       "ringbuf slots fit the header page");

#define RINGBUF_CONS_PAGE 1 /* pages from data_off */
#define RINGBUF_PROD_PAGE 2
#define RINGBUF_DATA_PAGE 3

struct maps_ringbuf_pos {
	_Atomic uint64_t pos;
	_Atomic uint64_t pending_pos; /* producer page only */
};

/*
 * A perf buffer: in the data region one private page (struct maps_perfbuf), then struct
 * perf_event_mmap_page, then data_pages pages; in the meta region its descriptor. The offset
 * handed out is that of perf_event_mmap_page; a PERF_EVENT_ARRAY slot holds the descriptor's.
 */
struct maps_perfbuf {
	_Atomic uint32_t lock; /* owner tid: writers on one "CPU" are not serialised by
					 * preemption as in the kernel, so they take this */
	uint32_t pad;
	_Atomic uint64_t lost; /* records dropped and not yet reported */
	_Atomic uint64_t wakeups;
};
struct maps_perfbuf_meta {
	uint64_t magic;
	uint64_t page_off; /* arena offset of its perf_event_mmap_page */
	uint32_t data_pages; /* a power of two */
	uint32_t pad;
};
#define PERFBUF_MAGIC 0x4655425246524550ULL /* "PERFBUFF" */

/*
 * The arena object at arena offset @off in the meta region, when @off names a whole
 * BPFI_META_ALIGN slot there (one compare, one mask); else NULL. For offsets read from the
 * data region (perf array slots, ring record headers).
 */
static inline void *maps__meta_at(char *arena, uint64_t off)
{
	const struct bpfi_arena_hdr *ah = (const struct bpfi_arena_hdr *)(void *)arena;

	if (off - BPFI_ARENA_HDR_SIZE >= ah->meta_size - BPFI_ARENA_HDR_SIZE ||
	    (off & (BPFI_META_ALIGN - 1)))
		return NULL;
	return arena + off;
}

/* struct perf_event_mmap_page, the fields we use at their uapi offsets. */
struct maps_perf_page {
	uint32_t version;
	uint32_t compat_version;
	uint8_t pad0[1024 - 8];
	_Atomic uint64_t data_head;
	_Atomic uint64_t data_tail;
	uint64_t data_offset;
	uint64_t data_size;
};
_Static_assert(offsetof(struct maps_perf_page, data_head) == 1024, "perf_event_mmap_page");
_Static_assert(offsetof(struct maps_perf_page, data_size) == 1048, "perf_event_mmap_page");

/* htab.c */
void *maps__htab_lookup(struct bpfi_map_hdr *map, const void *key, uint32_t cpu);
/* @me: the caller's tid, 0 to ask the kernel. */
long maps__htab_update(struct bpfi_map_hdr *map, const void *key, const void *value, uint64_t flags,
		       int64_t cpu, uint32_t me);
long maps__htab_delete(struct bpfi_map_hdr *map, const void *key, void *ret_value, uint32_t me);
long maps__htab_lookup_user(struct bpfi_map_hdr *map, const void *key, void *value);
long maps__htab_get_next_key(struct bpfi_map_hdr *map, const void *key, void *next_key);
/* Inline: they sit on every lookup's path, and the stub's files are not linked with LTO. */
static inline bool maps__is_htab(uint32_t type)
{
	return type == BPFI_MAP_HASH || type == BPFI_MAP_PERCPU_HASH || type == BPFI_MAP_LRU_HASH ||
	       type == BPFI_MAP_LRU_PERCPU_HASH;
}

static inline bool maps__is_percpu(uint32_t type)
{
	return type == BPFI_MAP_PERCPU_HASH || type == BPFI_MAP_LRU_PERCPU_HASH ||
	       type == BPFI_MAP_PERCPU_ARRAY;
}

/* array.c */
void *maps__array_lookup(struct bpfi_map_hdr *map, const void *key, uint32_t cpu);
long maps__array_update(struct bpfi_map_hdr *map, const void *key, const void *value,
			uint64_t flags, int64_t cpu);
long maps__array_lookup_user(struct bpfi_map_hdr *map, const void *key, void *value);
long maps__array_delete(struct bpfi_map_hdr *map, const void *key);
long maps__array_get_next_key(struct bpfi_map_hdr *map, const void *key, void *next_key);

#endif
