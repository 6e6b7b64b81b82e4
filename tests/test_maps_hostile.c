// SPDX-License-Identifier: MIT
/*
 * The arena as untrusted input (issue 11 A3, maps/maps_internal.h): whatever a target writes
 * in the data region, map operations stay inside the map's own storage, end, and do not crash;
 * the meta region cannot be made writable in a mapping made as the injector makes targets'.
 * Each case corrupts what one validation path reads, runs every operation, and checks that no
 * byte of the arena outside the map's storage changed and that pointers handed out lie in it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpfinject/arena.h>
#include <bpfinject/maps.h>

#include "maps/maps_internal.h"
#include "tests/maps_test.h"

/* What may change: [lo, hi) of the arena (the map's storage, its perf buffer). */
struct region {
	uint64_t lo, hi;
};

struct guard {
	struct bpfi_arena *arena;
	uint64_t len;
	char *copy;
	struct region ok[2];
	int nr_ok;
};

static void guard_start(struct guard *g, struct bpfi_arena *arena, const struct bpfi_map_hdr *map)
{
	g->arena = arena;
	g->len = atomic_load(&bpfi_arena_hdr(arena)->brk);
	g->copy = malloc(g->len);
	ck_assert_ptr_nonnull(g->copy);
	memcpy(g->copy, bpfi_arena_base(arena), g->len);
	g->ok[0].lo = map->self_off + map->data_off;
	g->ok[0].hi = g->ok[0].lo + map->size;
	g->nr_ok = 1;
}

static bool guard_allows(const struct guard *g, uint64_t off)
{
	for (int i = 0; i < g->nr_ok; i++)
		if (off >= g->ok[i].lo && off < g->ok[i].hi)
			return true;
	return false;
}

/* No byte outside the allowed regions changed (the meta region included). */
static void guard_check(struct guard *g, const char *what)
{
	const char *base = bpfi_arena_base(g->arena);

	for (uint64_t off = 0; off < g->len; off += 8) {
		if (guard_allows(g, off) || !memcmp(base + off, g->copy + off, 8))
			continue;
		ck_abort_msg("%s: arena offset 0x%llx written outside the map", what,
			     (unsigned long long)off);
	}
	free(g->copy);
}

/* A pointer a lookup returned: its whole value inside the map's storage. */
static void assert_inside(const struct guard *g, const void *p, uint64_t len, const char *what)
{
	uint64_t off;

	if (!p)
		return;
	off = (uint64_t)((const char *)p - bpfi_arena_base(g->arena));
	ck_assert_msg(guard_allows(g, off) && guard_allows(g, off + len - 1),
		      "%s: pointer at 0x%llx outside the map", what, (unsigned long long)off);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * Hostile words over [lo, hi): random, offsets in and around the map (relative to its header,
 * as links are), links to themselves (cycles), nulls markers, unaligned and huge values. No
 * 32-bit half names a live thread: a lock word that does makes each operation wait out lock.c's
 * bound (-EBUSY), which test_maps checks; here it would only make the test slow.
 */
static void corrupt(struct bpfi_map_hdr *map, char *lo, char *hi, unsigned round)
{
	uint64_t span = (uint64_t)(hi - (char *)map) + 4096;

	for (char *p = lo; p + 8 <= hi; p += 8) {
		uint64_t rel = (uint64_t)(p - (char *)map), v;

		switch ((round + (uint64_t)(p - lo) / 8) % 6) {
		case 0:
			v = rnd();
			break;
		case 1:
			v = rnd() % span;
			break;
		case 2:
			v = rel;
			break;
		case 3:
			v = rel | 1;
			break;
		case 4:
			v = (rnd() % span) | 4;
			break;
		default:
			v = ~(uint64_t)0 - (rnd() & 0xffff);
			break;
		}
		for (int half = 0; half < 2; half++) {
			uint32_t w = (uint32_t)(v >> (32 * half));

			if (w && maps__tid_alive(w))
				v ^= (uint64_t)1 << (32 * half + 31);
		}
		memcpy(p, &v, 8);
	}
}

static void run_hash_ops(const struct guard *g, struct bpfi_map_hdr *map)
{
	uint64_t value[64] = { 0 }, got[64];
	uint32_t key, next, cpu = 0;

	for (key = 0; key < 2 * map->max_entries + 4; key++) {
		void *v = bpfi_map_lookup_elem(map, &key, cpu);

		assert_inside(g, v, map->value_size, "lookup");
		if (v)
			memset(v, 0x5a, map->value_size); /* what a program may do with it */
		bpfi_map_update_elem(map, &key, value, BPF_ANY, cpu);
		v = bpfi_map_lookup_elem(map, &key, cpu);
		assert_inside(g, v, map->value_size, "lookup after update");
		bpfi_map_lookup_user(map, &key, got, 0);
		if (key % 3 == 0)
			bpfi_map_delete_elem(map, &key);
	}
	/* Iteration from the start ends by itself, however the chains are linked. */
	if (bpfi_map_get_next_key(map, NULL, &next) == 0) {
		uint32_t n = 0;

		do {
			key = next;
			ck_assert_uint_le(++n, map->max_entries * 4 + 4);
		} while (bpfi_map_get_next_key(map, &key, &next) == 0);
	}
}

static const uint32_t hash_types[] = { BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH,
				       BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH };

/* Bucket heads, chain links, the free stack, element states and LRU hand: all corrupted. */
START_TEST(hash_storage_corrupted)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, hash_types[_i], 4, 8, 32, 0);
	char *lo = (char *)map + map->data_off;
	uint64_t t0 = test_now_ns();

	for (unsigned round = 0; round < 24; round++) {
		struct guard g;
		uint64_t v = round;

		for (uint32_t k = 0; k < 40; k++)
			bpfi_map_update_elem(map, &k, &v, BPF_ANY, 0);
		guard_start(&g, arena, map);
		corrupt(map, lo, lo + map->size, round);
		run_hash_ops(&g, map);
		guard_check(&g, "hash");
	}
	ck_assert_uint_lt(test_now_ns() - t0, 20000000000ull);
	bpfi_arena_free(arena);
}
END_TEST

/* Cycles: a bucket's chain that loops through one element, and through two. */
START_TEST(hash_chain_cycles)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_HASH, 4, 8, 16, 0);
	const struct maps_htab *h = (const void *)map->impl;
	struct maps_bucket *b = MAPS_AT(map, h->buckets_off);
	uint64_t v = 7, e0 = h->elems_off, e1 = h->elems_off + h->elem_size;
	struct maps_htab_elem *x = MAPS_AT(map, e0), *y = MAPS_AT(map, e1);
	struct guard g;

	for (uint32_t k = 0; k < 16; k++)
		ck_assert_int_eq(bpfi_map_update_elem(map, &k, &v, BPF_ANY, 0), 0);
	guard_start(&g, arena, map);
	for (uint32_t i = 0; i < h->n_buckets; i++)
		atomic_store(&b[i].head, i % 2 ? e0 : e1);
	atomic_store(&x->next, e0); /* x -> x */
	atomic_store(&y->next, e0); /* y -> x -> x */
	run_hash_ops(&g, map);
	atomic_store(&x->next, e1); /* x -> y -> x */
	run_hash_ops(&g, map);
	guard_check(&g, "cycles");
	bpfi_arena_free(arena);
}
END_TEST

/* Arrays: nothing in the data region steers them; values stay where the header says. */
START_TEST(array_storage_corrupted)
{
	static const uint32_t types[] = { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY };
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, types[_i], 4, 24, 8, 0);
	char *lo = (char *)map + map->data_off;
	struct guard g;
	uint64_t val[3] = { 0 };

	guard_start(&g, arena, map);
	corrupt(map, lo, lo + map->size, 1);
	for (uint32_t k = 0; k < 12; k++) {
		void *p = bpfi_map_lookup_elem(map, &k, 0);

		ck_assert(k < 8 ? p == lo + (uint64_t)k * 24 * map->nr_cpus : p == NULL);
		assert_inside(&g, p, 24, "array lookup");
		bpfi_map_update_elem(map, &k, val, BPF_ANY, 0);
	}
	guard_check(&g, "array");
	bpfi_arena_free(arena);
}
END_TEST

/* Ring: positions, pending position, record headers and reservation slots corrupted. */
START_TEST(ring_storage_corrupted)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	char *lo = (char *)map + map->data_off;
	char *data = lo + RINGBUF_DATA_PAGE * PAGE;
	uint64_t t0 = test_now_ns();

	for (unsigned round = 0; round < 48; round++) {
		struct guard g;
		char buf[600] = { 1 };

		guard_start(&g, arena, map);
		corrupt(map, lo, lo + map->size, round);
		for (int i = 0; i < 40; i++) {
			uint64_t size = (uint64_t)(i * 37) % 600;
			char *p = bpfi_ringbuf_reserve(map, size, 0);

			if (p) {
				ck_assert_msg(p - 8 >= data && p + size <= data + 4096,
					      "record outside the data area");
				memset(p, 0x77, size);
				if (i % 2)
					bpfi_ringbuf_submit(bpfi_arena_base(arena), p, 0);
				else
					bpfi_ringbuf_discard(bpfi_arena_base(arena), p, 0);
			}
			bpfi_ringbuf_output(map, buf, size, 0);
			bpfi_ringbuf_query(map, (uint64_t)i % 4);
		}
		guard_check(&g, "ring");
	}
	ck_assert_uint_lt(test_now_ns() - t0, 20000000000ull);
	bpfi_arena_free(arena);
}
END_TEST

/*
 * Positions chosen rather than random: unaligned next to the end of the data area (a padding
 * record's header must not spill past it), and a producer position far beyond the pending one
 * over committed empty records (the walk that advances pending_pos must stop after a lap).
 */
START_TEST(ring_positions_forged)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	struct bpfi_map_hdr *next = test_map_new(arena, BPF_MAP_TYPE_ARRAY, 4, 8, 512, 0);
	char *lo = (char *)map + map->data_off;
	struct maps_ringbuf_pos *cons = (void *)(lo + RINGBUF_CONS_PAGE * PAGE);
	struct maps_ringbuf_pos *prod = (void *)(lo + RINGBUF_PROD_PAGE * PAGE);
	static const uint64_t at[] = { 4096 - 3, 4096 - 1, 2 * 4096 - 5, (1ull << 62) + 4093 };
	uint64_t t0;
	struct guard g;

	ck_assert_ptr_nonnull(next);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		char *p;

		guard_start(&g, arena, map);
		atomic_store(&cons->pos, at[i]);
		atomic_store(&prod->pos, at[i]);
		atomic_store(&prod->pending_pos, at[i]);
		p = bpfi_ringbuf_reserve(map, 16, 0);
		if (p)
			bpfi_ringbuf_submit(bpfi_arena_base(arena), p, 0);
		guard_check(&g, "unaligned positions");
	}
	memset(lo + RINGBUF_DATA_PAGE * PAGE, 0, 4096);
	atomic_store(&prod->pending_pos, 0);
	atomic_store(&prod->pos, 1ull << 62);
	atomic_store(&cons->pos, 1ull << 62);
	t0 = test_now_ns();
	ck_assert_ptr_null(bpfi_ringbuf_reserve(map, 16, 0));
	ck_assert_uint_lt(test_now_ns() - t0, 1000000000ull);
	bpfi_arena_free(arena);
}
END_TEST

/* A record header's pg_off (which submit follows back to the map) pointing anywhere. */
START_TEST(ring_record_names_another_map)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *other = test_map_new(arena, BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0);
	struct bpfi_map_hdr *ring = test_map_new(arena, BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	struct bpfi_map_hdr *ring2 = test_map_new(arena, BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	const uint32_t bad[] = { 0,
				 1,
				 (uint32_t)(other->self_off / BPFI_META_ALIGN),
				 (uint32_t)(ring2->self_off / BPFI_META_ALIGN),
				 (uint32_t)(bpfi_arena_hdr(arena)->meta_size / BPFI_META_ALIGN),
				 (uint32_t)((ring->self_off + ring->data_off) / BPFI_META_ALIGN),
				 0xffffffffu };
	char *base = bpfi_arena_base(arena);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct guard g;
		uint32_t *p = bpfi_ringbuf_reserve(ring, 16, 0);

		ck_assert_ptr_nonnull(p);
		guard_start(&g, arena, ring);
		p[-1] = bad[i];
		bpfi_ringbuf_submit(base, p, 0);
		/* Not committed: the record stays busy (the ring is stuck, nothing worse). */
		ck_assert_uint_eq(p[-2] & BPFI_RINGBUF_BUSY, BPFI_RINGBUF_BUSY);
		guard_check(&g, "ring pg_off");
		p[-1] = (uint32_t)(ring->self_off / BPFI_META_ALIGN);
		bpfi_ringbuf_discard(base, p, 0);
		ck_assert_uint_eq(p[-2] & BPFI_RINGBUF_BUSY, 0);
	}
	bpfi_arena_free(arena);
}
END_TEST

/* Perf: array slots naming anything, a forged perf buffer in the data region, positions. */
START_TEST(perf_storage_corrupted)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 2, 0);
	struct bpfi_map_hdr *other = test_map_new(arena, BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0);
	char *base = bpfi_arena_base(arena);
	_Atomic uint64_t *slots = MAPS_AT(map, map->data_off);
	uint64_t pb_off, forged;
	char data[100] = { 3 };

	ck_assert_int_eq(bpfi_perfbuf_new(arena, 1, &pb_off, NULL), 0);
	ck_assert_int_eq(bpfi_perf_array_set(map, 0, pb_off), 0);
	/* A perf buffer lookalike in the data region: the magic a target can write there. */
	ck_assert_int_eq(bpfi_perfbuf_new(arena, 1, &forged, NULL), 0);
	{
		struct maps_perfbuf_meta fake = { .magic = PERFBUF_MAGIC,
						  .page_off = 4096,
						  .data_pages = 1u << 20 };

		memcpy(base + forged, &fake, sizeof(fake));
	}
	const uint64_t bad[] = { 1,
				 4096,
				 pb_off,
				 forged,
				 other->self_off,
				 bpfi_arena_hdr(arena)->meta_size,
				 ~(uint64_t)0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct guard g;

		guard_start(&g, arena, map);
		atomic_store(&slots[1], bad[i]);
		ck_assert_int_eq(bpfi_perf_event_output(map, 1, 0, data, sizeof(data)), -ENOENT);
		guard_check(&g, "perf slot");
	}
	/* The real buffer, its positions and private page corrupted: writes stay in its pages. */
	for (unsigned round = 0; round < 12; round++) {
		struct guard g;

		guard_start(&g, arena, map);
		g.ok[1].lo = pb_off - PAGE;
		g.ok[1].hi = pb_off + 2 * PAGE;
		g.nr_ok = 2;
		corrupt(map, base + pb_off - PAGE, base + pb_off + 2 * PAGE, round);
		/* Keep the header's fixed fields as libbpf needs them; data_head/tail stay hostile. */
		for (int j = 0; j < 20; j++)
			bpfi_perf_event_output(map, 0, 0, data, (uint64_t)(j * 13) % sizeof(data));
		guard_check(&g, "perf buffer");
	}
	bpfi_arena_free(arena);
}
END_TEST

/*
 * The mapping targets get (injector/inject.c): the meta region from an O_RDONLY fd, the data
 * region read-write over the rest. Neither mprotect nor /proc/self/mem makes a header writable.
 */
START_TEST(meta_region_read_only_in_targets)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_HASH, 4, 8, 16, 0);
	uint64_t meta = bpfi_arena_hdr(arena)->meta_size, size = bpfi_arena_size(arena);
	char path[64], *t, *d;
	uint32_t evil = 0xffffffffu;
	int ro, mem;

	ck_assert_uint_lt(map->self_off + sizeof(*map), meta + 1);
	ck_assert_uint_ge(map->self_off + map->data_off, meta);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", bpfi_arena_fd(arena));
	ro = open(path, O_RDONLY);
	ck_assert_int_ge(ro, 0);
	t = mmap(NULL, size, PROT_READ, MAP_SHARED, ro, 0);
	ck_assert_ptr_ne(t, MAP_FAILED);
	close(ro);
	d = mmap(t + meta, size - meta, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 bpfi_arena_fd(arena), (off_t)meta);
	ck_assert_ptr_eq(d, t + meta);
	ck_assert_int_eq(mprotect(t, meta, PROT_READ | PROT_WRITE), -1);
	ck_assert_int_eq(errno, EACCES);
	mem = open("/proc/self/mem", O_RDWR);
	ck_assert_int_ge(mem, 0);
	ck_assert_int_eq(
		pwrite(mem, &evil, sizeof(evil), (off_t)(uintptr_t)(t + map->self_off + 16)), -1);
	/* The data region is writable there, and is the same memory as ours. */
	ck_assert_int_eq(pwrite(mem, &evil, sizeof(evil), (off_t)(uintptr_t)(d + 64)), 4);
	close(mem);
	ck_assert_uint_eq(map->max_entries, 16);
	ck_assert_uint_eq(*(uint32_t *)(bpfi_arena_base(arena) + meta + 64), evil);
	munmap(t, size);
	bpfi_arena_free(arena);
}
END_TEST

TCase *maps_hostile_tcase(void)
{
	TCase *tc = tcase_create("hostile");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, hash_storage_corrupted, 0,
			    (int)(sizeof(hash_types) / sizeof(hash_types[0])));
	tcase_add_test(tc, hash_chain_cycles);
	tcase_add_loop_test(tc, array_storage_corrupted, 0, 2);
	tcase_add_test(tc, ring_storage_corrupted);
	tcase_add_test(tc, ring_positions_forged);
	tcase_add_test(tc, ring_record_names_another_map);
	tcase_add_test(tc, perf_storage_corrupted);
	tcase_add_test(tc, meta_region_read_only_in_targets);
	return tc;
}
