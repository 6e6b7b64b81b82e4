/* SPDX-License-Identifier: MIT */
/*
 * Layouts shared between the host and every process of a session (DESIGN.md D3). They live in
 * the arena, a memfd (mode 0600) mapped at a different address in each process, so they hold
 * offsets, never pointers, and only fixed-width fields with explicit padding.
 *
 *   arena base
 *   +--------------------------+ 0
 *   | struct bpfi_arena_hdr    |
 *   +--------------------------+ BPFI_ARENA_HDR_SIZE (one page)
 *   | map 1: bpfi_map_hdr,     |  each map: one contiguous block from the bump allocator,
 *   |        type storage      |  page aligned so that mmapable parts can be mapped alone
 *   | map 2 ...                |
 *   +--------------------------+ brk (grows up to size)
 */
#ifndef BPFINJECT_ABI_H
#define BPFINJECT_ABI_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "arena atomics must be lock-free across processes");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "arena atomics must be lock-free across processes");

#define BPFI_ARENA_MAGIC    0x414e524149504642ULL /* "BPFIARNA" little endian */
#define BPFI_ARENA_VERSION  1
#define BPFI_ARENA_HDR_SIZE 4096
#define BPFI_PAGE_SIZE	    4096

struct bpfi_arena_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;
	uint64_t size; /* bytes of the memfd, fixed at creation */
	_Atomic uint64_t brk; /* next free offset; only grows (maps are not reclaimed yet) */
	uint32_t nr_cpus; /* possible CPUs: the number of per-CPU slots */
	uint32_t pad0;
	uint64_t printk_off; /* offset of the trace_printk ring buffer map, 0 if none */
	_Atomic uint32_t next_map_id;
	uint32_t pad1;
	uint64_t reserved[9];
};
_Static_assert(sizeof(struct bpfi_arena_hdr) == 128, "arena header layout");
_Static_assert(offsetof(struct bpfi_arena_hdr, brk) == 24, "arena header layout");

#define BPFI_MAP_MAGIC 0x50414d42u /* "BMAP" */

/*
 * The common header of every map in the arena. What follows it (hash buckets, array values,
 * ring pages) is the map type's own layout, defined in maps/, found at data_off.
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
	uint64_t impl[6]; /* type-specific bookkeeping, see maps/ */
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
