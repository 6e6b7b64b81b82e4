/* SPDX-License-Identifier: MIT */
/*
 * Layouts shared between the host and every process of a session (DESIGN.md D3). They live in
 * the arena, a memfd (mode 0600) mapped at a different address in each process, so they hold
 * offsets, never pointers, and only fixed-width fields with explicit padding.
 *
 *   arena base
 *   +--------------------------+ 0                          the meta region: written by the
 *   | struct bpfi_arena_hdr    |                            host only, mapped read-only in
 *   +--------------------------+ BPFI_ARENA_HDR_SIZE        targets (from an O_RDONLY fd, so
 *   | map headers, perf buffer |  BPFI_META_ALIGN slots     neither mprotect nor /proc/PID/mem
 *   | descriptors              |                            can make it writable there)
 *   +--------------------------+ meta_size (page multiple)
 *   | map 1 storage            |  the data region: read-write in every process of the
 *   | map 2 storage ...        |  session, so nothing in it is trusted (maps/maps_internal.h)
 *   +--------------------------+ brk (grows up to size)
 *
 * Everything a map's code needs to stay inside its own storage (type, sizes, data_off, the
 * layout of its storage) is in its header, in the meta region: no process of the session can
 * change it but the host.
 */
#ifndef BPFINJECT_ABI_H
#define BPFINJECT_ABI_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "arena atomics must be lock-free across processes");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "arena atomics must be lock-free across processes");

#define BPFI_ARENA_MAGIC    0x414e524149504642ULL /* "BPFIARNA" little endian */
#define BPFI_ARENA_VERSION  2
#define BPFI_ARENA_HDR_SIZE 4096
#define BPFI_PAGE_SIZE	    4096
#define BPFI_META_ALIGN	    128 /* every meta allocation: a map header or less */

struct bpfi_arena_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;
	uint64_t size; /* bytes of the memfd, fixed at creation */
	_Atomic uint64_t brk; /* next free data offset; only grows (maps are not reclaimed yet) */
	uint32_t nr_cpus; /* possible CPUs: the number of per-CPU slots */
	uint32_t pad0;
	uint64_t printk_off; /* offset of the trace_printk ring buffer map, 0 if none */
	_Atomic uint32_t next_map_id;
	uint32_t pad1;
	uint64_t meta_size; /* bytes of the meta region, from offset 0 */
	_Atomic uint64_t meta_brk; /* next free meta offset (BPFI_META_ALIGN multiples) */
	uint64_t reserved[7];
};
_Static_assert(sizeof(struct bpfi_arena_hdr) == 128, "arena header layout");
_Static_assert(offsetof(struct bpfi_arena_hdr, brk) == 24, "arena header layout");

#define BPFI_MAP_MAGIC 0x50414d42u /* "BMAP" */

/*
 * The common header of every map, in the meta region. The map type's storage (hash buckets,
 * array values, ring pages) is in the data region at data_off from the header, laid out as
 * maps/ defines; impl holds the type's fixed parameters of that layout.
 * A program's map pointer (what ld_imm64 with BPF_PSEUDO_MAP_FD becomes) points here.
 */
struct bpfi_map_hdr {
	uint32_t magic;
	uint32_t type; /* enum bpf_map_type */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	uint32_t nr_cpus; /* copies per value for per-CPU types, else 1 */
	uint32_t id; /* the map id user space sees */
	uint64_t self_off; /* offset of this header from the arena base */
	uint64_t size; /* bytes owned, from this header to the end of its storage */
	uint64_t data_off; /* offset from this header of the type's storage */
	_Atomic uint32_t frozen;
	uint32_t pad0;
	char name[16];
	uint64_t impl[6]; /* type-specific layout parameters, see maps/ (fixed at creation) */
};
_Static_assert(sizeof(struct bpfi_map_hdr) == 128, "map header layout");

/* The arena base, from any map in it. */
static inline char *bpfi_map_arena_base(const struct bpfi_map_hdr *map)
{
	return (char *)map - map->self_off;
}

/*
 * One trace_printk line in the trace_printk ring (a BPF_MAP_TYPE_RINGBUF map, the arena's
 * printk_off): the helper reserves sizeof(struct bpfi_printk_rec) + len + 1 bytes, fills them
 * and submits; the host drains the ring and prints the lines as trace_pipe does.
 * @msg holds @len bytes of text followed by a NUL (kernel bpf_trace_printk: at most 1023).
 */
struct bpfi_printk_rec {
	uint64_t ts_ns; /* CLOCK_MONOTONIC when the helper ran */
	uint32_t pid; /* tgid */
	uint32_t tid;
	uint32_t cpu;
	char comm[16]; /* PR_GET_NAME, NUL-padded */
	uint32_t len; /* bytes of msg, without the NUL */
	char msg[];
};
_Static_assert(sizeof(struct bpfi_printk_rec) == 40, "printk record layout");
_Static_assert(offsetof(struct bpfi_printk_rec, msg) == 40, "printk record layout");

/* Longest trace_printk message, as the kernel's MAX_BPRINTF_BUF (1024 with the NUL). */
#define BPFI_PRINTK_MAX 1023

#endif
