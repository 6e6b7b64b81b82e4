// SPDX-License-Identifier: MIT
/*
 * Maps in the shared arena: kernel semantics of every type and flag, per-CPU layouts, and the
 * cross-process guarantees of D3 (no lost update, no wedge after SIGKILL), with real processes.
 */
#include <check.h>
#include <errno.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/arena.h>
#include <bpfinject/maps.h>

#include "maps/maps_internal.h"
#include "tests/maps_test.h"

struct bpfi_arena *test_arena_new(void)
{
	struct bpfi_arena *arena = NULL;
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

	ck_assert_msg(bpfi_arena_new(ARENA_SIZE, &arena, &log) == 0, "%s", buf);
	return arena;
}

struct bpfi_map_hdr *test_map_new(struct bpfi_arena *arena, uint32_t type, uint32_t key_size,
				  uint32_t value_size, uint32_t max_entries, uint32_t flags)
{
	struct bpfi_map_create_opts opts = {
		.sz = sizeof(opts),
		.type = type,
		.key_size = key_size,
		.value_size = value_size,
		.max_entries = max_entries,
		.map_flags = flags,
		.name = "test",
	};
	struct bpfi_map_hdr *map = NULL;
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

	ck_assert_msg(bpfi_map_new(arena, &opts, &map, &log) == 0, "%s", buf);
	return map;
}

uint64_t test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- creation ---------------------------------------------------------------------------- */

static const struct {
	uint32_t type, key, value, max, flags;
	int err;
} create_cases[] = {
	{ BPF_MAP_TYPE_HASH, 4, 8, 16, 0, 0 },
	{ BPF_MAP_TYPE_HASH, 0, 8, 16, 0, -EINVAL },
	{ BPF_MAP_TYPE_HASH, 4, 0, 16, 0, -EINVAL },
	{ BPF_MAP_TYPE_HASH, 4, 8, 0, 0, -EINVAL },
	{ BPF_MAP_TYPE_HASH, 513, 8, 16, 0, -E2BIG },
	{ BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_MMAPABLE, -EINVAL },
	{ BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_NO_PREALLOC, 0 },
	{ BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_NO_COMMON_LRU, -EINVAL },
	{ BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG, -EINVAL },
	{ BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_RDONLY | BPF_F_WRONLY, -EINVAL },
	{ BPF_MAP_TYPE_PERCPU_HASH, 4, 32768, 16, 0, 0 },
	{ BPF_MAP_TYPE_PERCPU_HASH, 4, 32769, 16, 0, -E2BIG },
	{ BPF_MAP_TYPE_LRU_HASH, 4, 8, 16, 0, 0 },
	{ BPF_MAP_TYPE_LRU_HASH, 4, 8, 16, BPF_F_NO_PREALLOC, -ENOTSUP },
	{ BPF_MAP_TYPE_LRU_PERCPU_HASH, 8, 8, 16, BPF_F_NO_COMMON_LRU, 0 },
	{ BPF_MAP_TYPE_ARRAY, 4, 8, 16, 0, 0 },
	{ BPF_MAP_TYPE_ARRAY, 8, 8, 16, 0, -EINVAL },
	{ BPF_MAP_TYPE_ARRAY, 4, 0, 16, 0, -EINVAL },
	{ BPF_MAP_TYPE_ARRAY, 4, 8, 0, 0, -EINVAL },
	{ BPF_MAP_TYPE_ARRAY, 4, 8, 16, BPF_F_MMAPABLE | BPF_F_RDONLY_PROG, 0 },
	{ BPF_MAP_TYPE_ARRAY, 4, 8, 16, BPF_F_NO_PREALLOC, -EINVAL },
	{ BPF_MAP_TYPE_ARRAY, 4, 8, 16, BPF_F_PRESERVE_ELEMS, -EINVAL },
	{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 16, BPF_F_MMAPABLE, -EINVAL },
	{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 16, 0, 0 },
	{ BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 16, 0, 0 },
	{ BPF_MAP_TYPE_PROG_ARRAY, 4, 8, 16, 0, -EINVAL },
	{ BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 16, BPF_F_RDONLY_PROG, -EINVAL },
	{ BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 2, BPF_F_PRESERVE_ELEMS, 0 },
	{ BPF_MAP_TYPE_CGROUP_ARRAY, 4, 4, 1, 0, 0 },
	{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 0 },
	{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4096 * 3, 0, -EINVAL },
	{ BPF_MAP_TYPE_RINGBUF, 0, 0, 2048, 0, -EINVAL },
	{ BPF_MAP_TYPE_RINGBUF, 4, 0, 4096, 0, -EINVAL },
	{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, BPF_F_MMAPABLE, -EINVAL },
	{ BPF_MAP_TYPE_STACK_TRACE, 4, 8, 16, 0, -ENOTSUP },
	{ 0, 4, 8, 16, 0, -EINVAL },
	{ 1000, 4, 8, 16, 0, -EINVAL },
	{ BPF_MAP_TYPE_ARRAY, 4, 1u << 20, 1u << 20, 0, -E2BIG },
	{ BPF_MAP_TYPE_HASH, 4, 1u << 20, 1000, 0, -ENOMEM },
};

START_TEST(map_create_checks)
{
	struct bpfi_arena *arena = test_arena_new();

	for (size_t i = 0; i < sizeof(create_cases) / sizeof(create_cases[0]); i++) {
		struct bpfi_map_create_opts opts = {
			.sz = sizeof(opts),
			.type = create_cases[i].type,
			.key_size = create_cases[i].key,
			.value_size = create_cases[i].value,
			.max_entries = create_cases[i].max,
			.map_flags = create_cases[i].flags,
		};
		struct bpfi_map_hdr *map = NULL;
		char buf[256] = "";
		struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
		int err = bpfi_map_new(arena, &opts, &map, &log);

		ck_assert_msg(err == create_cases[i].err, "case %zu: got %d want %d (%s)", i, err,
			      create_cases[i].err, buf);
		if (err) {
			ck_assert_msg(strlen(buf) > 0 && strchr(buf, '\n'), "case %zu: no log line",
				      i);
			continue;
		}
		ck_assert_uint_eq((map->self_off + map->data_off) % PAGE, 0);
		ck_assert_uint_lt(map->self_off, bpfi_arena_hdr(arena)->meta_size);
		ck_assert_uint_eq(map->type, create_cases[i].type);
		ck_assert_uint_ne(map->id, 0);
	}
	bpfi_arena_free(arena);
}
END_TEST

START_TEST(map_names)
{
	static const struct {
		const char *name;
		int err;
	} cases[] = {
		{ ".rodata", 0 },
		{ "libbpf_mmap", 0 },
		{ "a23456789012345", 0 },
		{ "", 0 },
		{ "a234567890123456", -EINVAL },
		{ "bad name", -EINVAL },
		{ "bad-name", -EINVAL },
	};
	struct bpfi_arena *arena = test_arena_new();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bpfi_map_create_opts opts = {
			.sz = sizeof(opts),
			.type = BPF_MAP_TYPE_ARRAY,
			.key_size = 4,
			.value_size = 4,
			.max_entries = 1,
			.name = cases[i].name,
		};
		struct bpfi_map_hdr *map = NULL;

		ck_assert_msg(bpfi_map_new(arena, &opts, &map, NULL) == cases[i].err, "'%s'",
			      cases[i].name);
		if (!cases[i].err)
			ck_assert_str_eq(map->name, cases[i].name);
	}
	bpfi_arena_free(arena);
}
END_TEST

START_TEST(arena_basics)
{
	struct bpfi_arena *arena = test_arena_new(), *other = NULL;
	struct bpfi_arena_hdr *hdr = bpfi_arena_hdr(arena);
	struct stat st;
	uint64_t a, b;

	ck_assert_int_eq(fstat(bpfi_arena_fd(arena), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(hdr->header_size, PAGE);
	ck_assert_uint_ge(hdr->nr_cpus, 1);
	ck_assert_uint_eq(hdr->nr_cpus, (uint32_t)sysconf(_SC_NPROCESSORS_CONF));
	a = bpfi_arena_alloc(arena, 10, 8);
	b = bpfi_arena_alloc(arena, 10, 64);
	ck_assert_uint_ge(a, PAGE);
	ck_assert_uint_eq(b % 64, 0);
	ck_assert_uint_ge(b, a + 10);
	ck_assert_uint_eq(bpfi_arena_alloc(arena, 10, 3), 0);
	ck_assert_uint_eq(bpfi_arena_alloc(arena, ARENA_SIZE, 8), 0);
	ck_assert_int_eq(bpfi_arena_open_fd(bpfi_arena_fd(arena), &other, NULL), 0);
	ck_assert_ptr_ne(bpfi_arena_base(other), bpfi_arena_base(arena));
	strcpy(bpfi_arena_base(arena) + a, "shared");
	ck_assert_str_eq(bpfi_arena_base(other) + a, "shared");
	bpfi_arena_free(other);
	ck_assert_int_eq(bpfi_arena_open_fd(0, &other, NULL) < 0, 1);
	bpfi_arena_free(arena);
}
END_TEST

/* ---- hash semantics ---------------------------------------------------------------------- */

enum op { UPD, UPD_PROG, LOOKUP, LOOKUP_PROG, DEL, LAD };

static const struct {
	enum op op;
	uint32_t key;
	uint64_t value, flags;
	long ret;
	uint64_t want; /* value expected by lookups */
} hash_steps[] = {
	{ UPD, 1, 100, BPF_NOEXIST, 0, 0 },
	{ UPD, 1, 101, BPF_NOEXIST, -EEXIST, 0 },
	{ LOOKUP, 1, 0, 0, 0, 100 },
	{ UPD, 2, 200, BPF_EXIST, -ENOENT, 0 },
	{ LOOKUP, 2, 0, 0, -ENOENT, 0 },
	{ UPD, 2, 200, BPF_ANY, 0, 0 },
	{ UPD, 2, 201, BPF_EXIST, 0, 0 },
	{ LOOKUP_PROG, 2, 0, 0, 0, 201 },
	{ UPD, 3, 300, 3, -EINVAL, 0 },
	{ UPD, 3, 300, BPF_F_LOCK, -EINVAL, 0 },
	{ UPD_PROG, 3, 300, BPF_ANY, 0, 0 },
	{ UPD_PROG, 4, 400, BPF_ANY, 0, 0 },
	{ UPD, 5, 500, BPF_ANY, -E2BIG, 0 }, /* max_entries 4 */
	{ UPD, 4, 401, BPF_ANY, 0, 0 }, /* replacing in a full map works */
	{ LOOKUP, 4, 0, 0, 0, 401 },
	{ DEL, 9, 0, 0, -ENOENT, 0 },
	{ DEL, 1, 0, 0, 0, 0 },
	{ LOOKUP_PROG, 1, 0, 0, -ENOENT, 0 },
	{ UPD, 5, 500, BPF_NOEXIST, 0, 0 },
	{ LAD, 5, 0, 0, 0, 500 },
	{ LAD, 5, 0, 0, -ENOENT, 0 },
	{ LOOKUP, 3, 0, 0, 0, 300 },
};

static long run_step(struct bpfi_map_hdr *map, enum op op, uint32_t key, uint64_t value,
		     uint64_t flags, uint64_t *got)
{
	uint64_t *p;

	switch (op) {
	case UPD:
		return bpfi_map_update_user(map, &key, &value, flags);
	case UPD_PROG:
		return bpfi_map_update_elem(map, &key, &value, flags, 0);
	case LOOKUP:
		return bpfi_map_lookup_user(map, &key, got, 0);
	case LOOKUP_PROG:
		p = bpfi_map_lookup_elem(map, &key, 1);
		if (p)
			*got = *p;
		return p ? 0 : -ENOENT;
	case DEL:
		return bpfi_map_delete_user(map, &key);
	case LAD:
		return bpfi_map_lookup_and_delete_user(map, &key, got);
	}
	return -1;
}

START_TEST(hash_semantics)
{
	static const uint32_t types[] = { BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH };
	struct bpfi_arena *arena = test_arena_new();
	uint32_t type = types[_i];
	/* LRU: room for all, so the table's deletes and lookups are deterministic. */
	struct bpfi_map_hdr *map =
		test_map_new(arena, type, 4, 8, type == BPF_MAP_TYPE_HASH ? 4 : 8, 0);

	for (size_t i = 0; i < sizeof(hash_steps) / sizeof(hash_steps[0]); i++) {
		uint64_t got = 0;
		long ret;

		if (type == BPF_MAP_TYPE_LRU_HASH && hash_steps[i].ret == -E2BIG)
			continue; /* an LRU map evicts instead */
		ret = run_step(map, hash_steps[i].op, hash_steps[i].key, hash_steps[i].value,
			       hash_steps[i].flags, &got);
		ck_assert_msg(ret == hash_steps[i].ret, "type %u step %zu: ret %ld want %ld", type,
			      i, ret, hash_steps[i].ret);
		if (!ret && hash_steps[i].want)
			ck_assert_msg(got == hash_steps[i].want, "step %zu: value %lu", i,
				      (unsigned long)got);
	}
	bpfi_arena_free(arena);
}
END_TEST

START_TEST(hash_get_next_key)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_HASH, 8, 4, 300, 0);
	static bool seen[300];
	uint64_t key, next, unknown = 1u << 30;
	uint32_t v = 7, n = 0;

	ck_assert_int_eq(bpfi_map_get_next_key(map, NULL, &next), -ENOENT);
	for (key = 0; key < 300; key++)
		ck_assert_int_eq(bpfi_map_update_user(map, &key, &v, BPF_NOEXIST), 0);
	ck_assert_int_eq(bpfi_map_update_user(map, &unknown, &v, BPF_NOEXIST), -E2BIG);
	memset(seen, 0, sizeof(seen));
	for (long r = bpfi_map_get_next_key(map, NULL, &next); r == 0;
	     r = bpfi_map_get_next_key(map, &key, &next)) {
		ck_assert_uint_lt(next, 300);
		ck_assert_msg(!seen[next], "key %lu twice", (unsigned long)next);
		seen[next] = true;
		key = next;
		n++;
	}
	ck_assert_uint_eq(n, 300);
	/* An unknown key restarts from the first key, as in the kernel. */
	uint64_t first, again;

	ck_assert_int_eq(bpfi_map_get_next_key(map, NULL, &first), 0);
	ck_assert_int_eq(bpfi_map_get_next_key(map, &unknown, &again), 0);
	ck_assert_uint_eq(first, again);
	bpfi_arena_free(arena);
}
END_TEST

/* ---- arrays ------------------------------------------------------------------------------ */

static const struct {
	enum op op;
	uint32_t key;
	uint64_t value, flags;
	long ret;
	uint64_t want;
} array_steps[] = {
	{ LOOKUP, 0, 0, 0, 0, 0 },
	{ UPD, 0, 10, BPF_ANY, 0, 0 },
	{ UPD, 0, 11, BPF_EXIST, 0, 0 },
	{ UPD, 0, 12, BPF_NOEXIST, -EEXIST, 0 },
	{ UPD, 0, 12, 3, -EINVAL, 0 },
	{ UPD, 8, 12, BPF_ANY, -E2BIG, 0 },
	{ UPD_PROG, 8, 12, BPF_ANY, -E2BIG, 0 },
	{ LOOKUP, 0, 0, 0, 0, 11 },
	{ LOOKUP, 8, 0, 0, -ENOENT, 0 },
	{ LOOKUP_PROG, 8, 0, 0, -ENOENT, 0 },
	{ UPD_PROG, 7, 77, BPF_ANY, 0, 0 },
	{ LOOKUP_PROG, 7, 0, 0, 0, 77 },
	{ DEL, 0, 0, 0, -EINVAL, 0 },
	{ LAD, 0, 0, 0, -ENOTSUP, 0 },
};

START_TEST(array_semantics)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_ARRAY, 4, 8, 8, 0);
	uint32_t k, next;

	for (size_t i = 0; i < sizeof(array_steps) / sizeof(array_steps[0]); i++) {
		uint64_t got = 0;
		long ret = run_step(map, array_steps[i].op, array_steps[i].key,
				    array_steps[i].value, array_steps[i].flags, &got);

		ck_assert_msg(ret == array_steps[i].ret, "step %zu: ret %ld want %ld", i, ret,
			      array_steps[i].ret);
		if (!ret && array_steps[i].want)
			ck_assert_uint_eq(got, array_steps[i].want);
	}
	ck_assert_int_eq(bpfi_map_get_next_key(map, NULL, &next), 0);
	ck_assert_uint_eq(next, 0);
	k = 3;
	ck_assert_int_eq(bpfi_map_get_next_key(map, &k, &next), 0);
	ck_assert_uint_eq(next, 4);
	k = 7;
	ck_assert_int_eq(bpfi_map_get_next_key(map, &k, &next), -ENOENT);
	k = 100;
	ck_assert_int_eq(bpfi_map_get_next_key(map, &k, &next), 0);
	ck_assert_uint_eq(next, 0);
	bpfi_arena_free(arena);
}
END_TEST

START_TEST(array_access_flags)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *ro =
		test_map_new(arena, BPF_MAP_TYPE_ARRAY, 4, 4, 2, BPF_F_RDONLY_PROG);
	struct bpfi_map_hdr *frz = test_map_new(arena, BPF_MAP_TYPE_ARRAY, 4, 4, 2, 0);
	struct bpfi_map_hdr *rdonly =
		test_map_new(arena, BPF_MAP_TYPE_ARRAY, 4, 4, 2, BPF_F_RDONLY);
	struct bpfi_map_hdr *wronly = test_map_new(arena, BPF_MAP_TYPE_HASH, 4, 4, 2, BPF_F_WRONLY);
	uint32_t k = 1, v = 5, out = 0;

	/* .rodata: the syscall side writes it, programs may not. */
	ck_assert_int_eq(bpfi_map_update_user(ro, &k, &v, BPF_ANY), 0);
	ck_assert_int_eq(bpfi_map_update_elem(ro, &k, &v, BPF_ANY, 0), -EPERM);
	ck_assert_uint_eq(*(uint32_t *)bpfi_map_lookup_elem(ro, &k, 0), 5);
	/* Freeze: syscall-side writes fail, programs still write. */
	ck_assert_int_eq(bpfi_map_freeze(frz), 0);
	ck_assert_int_eq(bpfi_map_freeze(frz), -EBUSY);
	ck_assert_int_eq(bpfi_map_update_user(frz, &k, &v, BPF_ANY), -EPERM);
	ck_assert_int_eq(bpfi_map_update_elem(frz, &k, &v, BPF_ANY, 0), 0);
	ck_assert_int_eq(bpfi_map_lookup_user(frz, &k, &out, 0), 0);
	ck_assert_uint_eq(out, 5);
	ck_assert_int_eq(bpfi_map_lookup_user(frz, &k, &out, BPF_F_LOCK), -EINVAL);
	ck_assert_int_eq(bpfi_map_update_user(rdonly, &k, &v, BPF_ANY), -EPERM);
	ck_assert_int_eq(bpfi_map_lookup_user(rdonly, &k, &out, 0), 0);
	ck_assert_int_eq(bpfi_map_update_user(wronly, &k, &v, BPF_ANY), 0);
	ck_assert_int_eq(bpfi_map_lookup_user(wronly, &k, &out, 0), -EPERM);
	ck_assert_int_eq(bpfi_map_get_next_key(wronly, NULL, &out), -EPERM);
	bpfi_arena_free(arena);
}
END_TEST

START_TEST(array_mmapable)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map =
		test_map_new(arena, BPF_MAP_TYPE_ARRAY, 4, 12, 1000, BPF_F_MMAPABLE);
	struct bpfi_map_hdr *plain = test_map_new(arena, BPF_MAP_TYPE_ARRAY, 4, 12, 10, 0);
	uint64_t off, len, off1, len1;
	uint32_t k = 999, v[3] = { 1, 2, 3 }, out[3];
	char *m;

	ck_assert_int_eq(bpfi_map_mmap_range(map, 0, &off, &len), 0);
	ck_assert_uint_eq(off % PAGE, 0);
	ck_assert_uint_eq(len, 4 * PAGE); /* round_up(1000 * round_up(12, 8), 4096) */
	ck_assert_int_eq(bpfi_map_mmap_range(map, 1, &off1, &len1), 0);
	ck_assert_uint_eq(off1, off + PAGE);
	ck_assert_uint_eq(len1, 3 * PAGE);
	ck_assert_int_eq(bpfi_map_mmap_range(map, 4, &off1, &len1), -EINVAL);
	ck_assert_int_eq(bpfi_map_mmap_range(plain, 0, &off1, &len1), -EINVAL);
	/* Map it the way the runtime will (mmap of the memfd at that offset), as libbpf maps
	 * .bss: writes through it are the map's values, and the other way round. */
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpfi_arena_fd(arena), (off_t)off);
	ck_assert_ptr_ne(m, MAP_FAILED);
	memcpy(m + 999 * 16, v, sizeof(v));
	ck_assert_int_eq(bpfi_map_lookup_user(map, &k, out, 0), 0);
	ck_assert_mem_eq(out, v, sizeof(v));
	k = 5;
	ck_assert_int_eq(bpfi_map_update_user(map, &k, v, BPF_ANY), 0);
	ck_assert_mem_eq(m + 5 * 16, v, sizeof(v));
	munmap(m, len);
	bpfi_arena_free(arena);
}
END_TEST

START_TEST(percpu_layout)
{
	static const uint32_t types[] = { BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH,
					  BPF_MAP_TYPE_LRU_PERCPU_HASH };
	struct bpfi_arena *arena = test_arena_new();
	uint32_t ncpu = bpfi_arena_hdr(arena)->nr_cpus, k = 3, stride = 16; /* round_up(12, 8) */
	struct bpfi_map_hdr *map = test_map_new(arena, types[_i], 4, 12, 8, 0);
	uint8_t *buf = calloc(ncpu, stride), v[12];
	uint32_t *p;

	ck_assert_uint_eq(map->nr_cpus, ncpu);
	for (uint32_t c = 0; c < ncpu; c++) {
		memset(v, 0x10 + (int)c, sizeof(v));
		ck_assert_int_eq(bpfi_map_update_elem(map, &k, v, BPF_ANY, c), 0);
	}
	ck_assert_int_eq(bpfi_map_update_elem(map, &k, v, BPF_ANY, ncpu), -EINVAL);
	/* The syscall side sees round_up(value_size, 8) bytes per possible CPU. */
	ck_assert_int_eq(bpfi_map_lookup_user(map, &k, buf, 0), 0);
	for (uint32_t c = 0; c < ncpu; c++) {
		memset(v, 0x10 + (int)c, sizeof(v));
		ck_assert_mem_eq(buf + c * stride, v, sizeof(v));
	}
	/* And writes them the same way; each CPU's copy is what its programs see. */
	for (uint32_t c = 0; c < ncpu; c++)
		memset(buf + c * stride, 0x40 + (int)c, stride);
	ck_assert_int_eq(bpfi_map_update_user(map, &k, buf, BPF_ANY), 0);
	for (uint32_t c = 0; c < ncpu; c++) {
		p = bpfi_map_lookup_elem(map, &k, c);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(*p, 0x01010101u * (0x40 + c));
	}
	if (types[_i] != BPF_MAP_TYPE_PERCPU_ARRAY && ncpu > 1) {
		/* A new element's other CPUs start at zero (pcpu_init_value). */
		k = 4;
		memset(v, 0x77, sizeof(v));
		ck_assert_int_eq(bpfi_map_update_elem(map, &k, v, BPF_NOEXIST, 1), 0);
		ck_assert_int_eq(bpfi_map_lookup_user(map, &k, buf, 0), 0);
		ck_assert_uint_eq(buf[0], 0);
		ck_assert_uint_eq(buf[stride], 0x77);
	}
	free(buf);
	bpfi_arena_free(arena);
}
END_TEST

START_TEST(prog_and_fd_arrays)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *pa = test_map_new(arena, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0);
	struct bpfi_map_hdr *pea = test_map_new(arena, BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 2, 0);
	struct bpfi_map_hdr *cga = test_map_new(arena, BPF_MAP_TYPE_CGROUP_ARRAY, 4, 4, 2, 0);
	uint32_t k = 1, id = 7, out = 0;

	ck_assert_uint_eq(bpfi_prog_array_get(pa, 1), 0);
	ck_assert_int_eq(bpfi_map_lookup_user(pa, &k, &out, 0), -ENOENT);
	ck_assert_int_eq(bpfi_map_update_user(pa, &k, &id, BPF_NOEXIST), -EINVAL);
	ck_assert_int_eq(bpfi_map_update_user(pa, &k, &id, BPF_ANY), 0);
	ck_assert_uint_eq(bpfi_prog_array_get(pa, 1), 7);
	ck_assert_uint_eq(bpfi_prog_array_get(pa, 4), 0);
	ck_assert_int_eq(bpfi_map_lookup_user(pa, &k, &out, 0), 0);
	ck_assert_uint_eq(out, 7);
	ck_assert_ptr_null(bpfi_map_lookup_elem(pa, &k, 0));
	ck_assert_int_eq(bpfi_map_delete_user(pa, &k), 0);
	ck_assert_int_eq(bpfi_map_delete_user(pa, &k), -ENOENT);
	k = 4;
	ck_assert_int_eq(bpfi_map_update_user(pa, &k, &id, BPF_ANY), -E2BIG);
	k = 0;
	ck_assert_int_eq(bpfi_map_update_user(pea, &k, &id, BPF_ANY), -ENOTSUP);
	ck_assert_int_eq(bpfi_map_lookup_user(pea, &k, &out, 0), -ENOTSUP);
	ck_assert_int_eq(bpfi_map_delete_user(pea, &k), -ENOENT);
	ck_assert_int_eq(bpfi_map_lookup_user(cga, &k, &out, 0), -ENOTSUP);
	ck_assert_int_eq(bpfi_map_get_next_key(cga, NULL, &out), 0);
	bpfi_arena_free(arena);
}
END_TEST

/* ---- LRU --------------------------------------------------------------------------------- */

START_TEST(lru_evicts)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_LRU_HASH, 4, 8, 64, 0);
	uint32_t hot = 1000000, key, next, n = 0;
	uint64_t v = 1;

	ck_assert_int_eq(bpfi_map_update_user(map, &hot, &v, BPF_ANY), 0);
	for (key = 0; key < 5000; key++) {
		ck_assert_int_eq(bpfi_map_update_elem(map, &key, &v, BPF_ANY, 0), 0);
		ck_assert_ptr_nonnull(bpfi_map_lookup_elem(map, &hot, 0)); /* keep it hot */
	}
	for (long r = bpfi_map_get_next_key(map, NULL, &next); r == 0;
	     r = bpfi_map_get_next_key(map, &key, &next)) {
		key = next;
		n++;
	}
	ck_assert_uint_eq(n, 64); /* full, and every insert evicted instead of failing */
	key = 4999; /* the most recent survives too */
	ck_assert_ptr_nonnull(bpfi_map_lookup_elem(map, &key, 0));
	key = 0;
	ck_assert_ptr_null(bpfi_map_lookup_elem(map, &key, 0));
	bpfi_arena_free(arena);
}
END_TEST

/* ---- two processes ----------------------------------------------------------------------- */

#define HAMMER_N   20000
#define HAMMER_HOT 0xffffffffu

static long retry_busy(long r, int *busy)
{
	if (r == -EBUSY)
		(*busy)++;
	return r;
}

/* Child @c: bump the hot counter, insert its own keys, delete three quarters of them again. */
static int hammer_child(int fd, uint64_t map_off, uint32_t c)
{
	struct bpfi_arena *arena = NULL;
	struct bpfi_map_hdr *map;
	uint32_t tid = (uint32_t)gettid(); /* the second half of the keys uses the _tid calls */
	int busy = 0;

	if (bpfi_arena_open_fd(fd, &arena, NULL))
		return 10;
	map = (void *)(bpfi_arena_base(arena) + map_off);
	for (uint32_t i = 0; i < HAMMER_N; i++) {
		uint32_t hot = HAMMER_HOT, key = c * 1000000 + i;
		uint64_t *p = bpfi_map_lookup_elem(map, &hot, c), v = i;
		long r;

		if (!p)
			return 11;
		__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
		while ((r = retry_busy(i < HAMMER_N / 2
					       ? bpfi_map_update_elem(map, &key, &v, BPF_NOEXIST, c)
					       : bpfi_map_update_elem_tid(map, &key, &v,
									  BPF_NOEXIST, c, tid),
				       &busy)) == -EBUSY)
			;
		if (r)
			return 12;
		if (i % 4 == 0)
			continue;
		while ((r = retry_busy(i < HAMMER_N / 2 ? bpfi_map_delete_elem(map, &key)
							: bpfi_map_delete_elem_tid(map, &key, tid),
				       &busy)) == -EBUSY)
			;
		if (r)
			return 13;
	}
	bpfi_arena_free(arena);
	return busy > HAMMER_N ? 14 : 0;
}

START_TEST(hash_two_processes)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_HASH, 4, 8, 16384, 0);
	uint32_t hot = HAMMER_HOT;
	uint64_t zero = 0, v;
	pid_t pids[2];

	ck_assert_int_eq(bpfi_map_update_user(map, &hot, &zero, BPF_NOEXIST), 0);
	for (uint32_t c = 0; c < 2; c++) {
		pids[c] = fork();
		if (pids[c] < 0)
			ck_abort_msg("fork: %s", strerror(errno));
		if (pids[c] == 0)
			_exit(hammer_child(bpfi_arena_fd(arena), map->self_off, c));
	}
	for (int c = 0; c < 2; c++) {
		int st;

		ck_assert_int_eq(waitpid(pids[c], &st, 0), pids[c]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: status 0x%x", c,
			      st);
	}
	ck_assert_int_eq(bpfi_map_lookup_user(map, &hot, &v, 0), 0);
	ck_assert_uint_eq(v, 2 * HAMMER_N);
	for (uint32_t c = 0; c < 2; c++) {
		for (uint32_t i = 0; i < HAMMER_N; i++) {
			uint32_t key = c * 1000000 + i;
			long r = bpfi_map_lookup_user(map, &key, &v, 0);

			if (i % 4 == 0) {
				ck_assert_msg(r == 0 && v == i, "key %u lost (%ld)", key, r);
			} else {
				ck_assert_msg(r == -ENOENT, "key %u not deleted", key);
			}
		}
	}
	/* Every element not in use is back on the free list. */
	uint32_t key = 5000000, n = 0;

	while (bpfi_map_update_user(map, &key, &zero, BPF_NOEXIST) == 0) {
		key++;
		n++;
	}
	ck_assert_uint_eq(n, 16384 - 1 - 2 * (HAMMER_N / 4));
	bpfi_arena_free(arena);
}
END_TEST

#define KILL_KEYS   256
#define KILL_ROUNDS 300

/* With the tid known, as the stub calls them: no gettid per call, so most of the time goes to
 * the map, and more kills land inside an operation. */
static _Noreturn void kill_child(struct bpfi_map_hdr *map, uint32_t seed)
{
	uint32_t tid = (uint32_t)gettid();

	for (uint64_t i = 0;; i++) {
		uint32_t key;
		uint64_t v = i;

		seed = seed * 1103515245u + 12345u;
		key = (seed >> 8) % KILL_KEYS;
		switch ((seed >> 4) % 4) {
		case 0:
		case 1:
			bpfi_map_update_elem_tid(map, &key, &v, BPF_ANY, 0, tid);
			break;
		case 2:
			bpfi_map_delete_elem_tid(map, &key, tid);
			break;
		default:
			bpfi_map_lookup_elem(map, &key, 0);
			break;
		}
	}
}

static struct maps_htab_elem *htab_elem(struct bpfi_map_hdr *map, uint32_t i)
{
	struct maps_htab *h = (struct maps_htab *)(void *)map->impl;

	return MAPS_AT(map, h->elems_off + (uint64_t)i * h->elem_size);
}

/* White box: locks and elements a killed writer left behind (what recovery must repair). */
static uint32_t count_left_behind(struct bpfi_map_hdr *map)
{
	struct maps_htab *h = (struct maps_htab *)(void *)map->impl;
	struct maps_bucket *b = MAPS_AT(map, h->buckets_off);
	uint32_t n = 0;

	for (uint32_t i = 0; i < h->n_buckets; i++)
		n += atomic_load(&b[i].lock) != 0;
	for (uint32_t i = 0; i < map->max_entries; i++)
		n += (atomic_load(&htab_elem(map, i)->state) & 3) == HTAB_IN_FLIGHT;
	return n;
}

/* White box, with no writer running: free elements that are not on the free list, and elements
 * on it that are neither free nor in flight (both would be lost for good). */
static uint32_t count_lost_free(struct bpfi_map_hdr *map)
{
	uint8_t *on_list = calloc(map->max_entries, 1);
	uint32_t idx = (uint32_t)atomic_load(
			 &((struct maps_htab_free *)MAPS_AT(map, map->data_off))->free_head),
		 lost = 0;

	for (uint32_t steps = 0; idx && steps < map->max_entries; steps++) {
		on_list[idx - 1] = 1;
		idx = atomic_load(&htab_elem(map, idx - 1)->free_next);
	}
	for (uint32_t i = 0; i < map->max_entries; i++) {
		uint64_t st = atomic_load(&htab_elem(map, i)->state);

		lost += on_list[i] ? st == HTAB_LINKED : st == HTAB_FREE;
	}
	free(on_list);
	return lost;
}

static uint32_t count_keys(struct bpfi_map_hdr *map)
{
	uint32_t key, next, n = 0;

	for (long r = bpfi_map_get_next_key(map, NULL, &next); r == 0;
	     r = bpfi_map_get_next_key(map, &key, &next)) {
		key = next;
		n++;
	}
	return n;
}

/*
 * Fill the map again after recovery: a HASH map takes exactly max_entries keys, an LRU map
 * keeps max_entries keys however many go in. Either way no element may be missing, nor left
 * in flight for a dead writer afterwards.
 */
static void assert_all_usable(struct bpfi_map_hdr *map, uint32_t first_key, const char *what)
{
	bool lru = map->type == BPF_MAP_TYPE_LRU_HASH;
	uint32_t n = 0, have = count_keys(map);
	uint64_t v = 7;
	long r = 0;

	for (uint32_t key = first_key; key < first_key + 3 * map->max_entries; key++) {
		r = bpfi_map_update_user(map, &key, &v, BPF_NOEXIST);
		if (r)
			break;
		n++;
	}
	if (lru)
		ck_assert_msg(r == 0 && n == 3 * map->max_entries, "%s: insert %u: %ld", what, n,
			      r);
	else
		ck_assert_msg(r == -E2BIG && n + have == map->max_entries,
			      "%s: %u+%u of %u elements usable (%ld)", what, have, n,
			      map->max_entries, r);
	ck_assert_uint_eq(count_keys(map), map->max_entries);
	ck_assert_msg(count_left_behind(map) == 0, "%s: %u left in flight or locked", what,
		      count_left_behind(map));
	ck_assert_uint_eq(count_lost_free(map), 0);
}

/*
 * Writers (two at a time, on the same keys) SIGKILLed at random points, many of them inside
 * an update or a delete: afterwards every key works again, and no element is lost.
 */
static const struct {
	uint32_t type;
	uint32_t max; /* 128 < KILL_KEYS: the map fills, so reclaim (HASH) or eviction (LRU) runs */
	int rounds; /* a full map's writers spend most of their time scanning, holding nothing */
} kill_maps[] = {
	{ BPF_MAP_TYPE_HASH, 1024, KILL_ROUNDS },
	{ BPF_MAP_TYPE_HASH, 128, 3 * KILL_ROUNDS },
	{ BPF_MAP_TYPE_LRU_HASH, 1024, KILL_ROUNDS },
	{ BPF_MAP_TYPE_LRU_HASH, 128, 3 * KILL_ROUNDS },
};

START_TEST(hash_survives_sigkill)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map =
		test_map_new(arena, kill_maps[_i].type, 4, 8, kill_maps[_i].max, 0);
	uint32_t left = 0, lost = 0, worst = 0;
	uint64_t t0, v;

	srand(1234);
	for (int round = 0; round < kill_maps[_i].rounds; round++) {
		pid_t pid[2];

		for (int c = 0; c < 2; c++) {
			pid[c] = fork();
			if (pid[c] < 0)
				ck_abort_msg("fork: %s", strerror(errno));
			if (pid[c] == 0)
				kill_child(map, (uint32_t)(2 * round + c) * 7919u + 1);
		}
		for (int c = 0; c < 2; c++) {
			struct timespec ts = { 0, (rand() % 1500) * 1000L };

			nanosleep(&ts, NULL);
			kill(pid[c], SIGKILL);
			ck_assert_int_eq(waitpid(pid[c], NULL, 0), pid[c]);
		}
		left += count_left_behind(map);
		lost = count_lost_free(map);
		worst = lost > worst ? lost : worst;
	}
	/* The kills did land inside operations, so what follows tests recovery. */
	ck_assert_uint_gt(left, 0);
	/* At no point was an element free yet off the free list (see htab.c). */
	ck_assert_msg(worst == 0, "%u elements lost after %d rounds (%u at worst)", lost,
		      kill_maps[_i].rounds, worst);
	/* Every key (and so every bucket the children used) is usable again, quickly. */
	t0 = test_now_ns();
	for (uint32_t key = 0; key < KILL_KEYS; key++) {
		long r = bpfi_map_delete_user(map, &key); /* and room in a full map */

		ck_assert_msg(r == 0 || r == -ENOENT, "delete %u: %ld", key, r);
	}
	for (uint32_t key = 0; key < KILL_KEYS; key++) {
		v = key + 1;
		ck_assert_int_eq(bpfi_map_update_user(map, &key, &v, BPF_ANY), 0);
		ck_assert_int_eq(bpfi_map_lookup_user(map, &key, &v, 0), 0);
		ck_assert_uint_eq(v, key + 1);
		ck_assert_ptr_nonnull(bpfi_map_lookup_elem(map, &key, 0));
		ck_assert_int_eq(bpfi_map_delete_user(map, &key), 0);
	}
	ck_assert_msg(test_now_ns() - t0 < 2000000000ull, "recovery took %lu ms",
		      (unsigned long)((test_now_ns() - t0) / 1000000));
	/* Elements the killed children held are recovered: the map fills up again. */
	assert_all_usable(map, KILL_KEYS, "after the kills");
	bpfi_arena_free(arena);
}
END_TEST

/* ---- a writer stopped for good at each step of the free stack ------------------------------ */

enum stop_at {
	STOP_POPPED, /* after the pop's head CAS (and the push's, before it) */
	STOP_CLAIMED_TOP, /* claimed the top element, no head CAS yet; or pushed, FREE not stored */
	STOP_CLAIMED_DEEP, /* claimed, then others pushed over it */
	STOP_LINKED, /* linked, LINKED not stored (also: marked for unlink, not unlinked) */
};

enum stop_owner { OWNER_DEAD, OWNER_LIVE, OWNER_SELF };

static const struct {
	const char *descr;
	uint32_t type;
	enum stop_at at;
	enum stop_owner owner;
	long expect; /* the first insert after it */
} stop_cases[] = {
	{ "hash: dead after the pop", BPF_MAP_TYPE_HASH, STOP_POPPED, OWNER_DEAD, 0 },
	{ "hash: dead holding the top", BPF_MAP_TYPE_HASH, STOP_CLAIMED_TOP, OWNER_DEAD, 0 },
	{ "hash: dead holding a deep one", BPF_MAP_TYPE_HASH, STOP_CLAIMED_DEEP, OWNER_DEAD, 0 },
	{ "hash: dead before LINKED", BPF_MAP_TYPE_HASH, STOP_LINKED, OWNER_DEAD, 0 },
	{ "lru: dead after the pop", BPF_MAP_TYPE_LRU_HASH, STOP_POPPED, OWNER_DEAD, 0 },
	{ "lru: dead holding the top", BPF_MAP_TYPE_LRU_HASH, STOP_CLAIMED_TOP, OWNER_DEAD, 0 },
	{ "lru: dead holding a deep one", BPF_MAP_TYPE_LRU_HASH, STOP_CLAIMED_DEEP, OWNER_DEAD, 0 },
	{ "lru: dead before LINKED", BPF_MAP_TYPE_LRU_HASH, STOP_LINKED, OWNER_DEAD, 0 },
	/* A live holder (stopped, say) is waited for, never robbed: -EBUSY in bounded time,
	 * and taken over once it is gone. */
	{ "hash: live holding the top", BPF_MAP_TYPE_HASH, STOP_CLAIMED_TOP, OWNER_LIVE, -EBUSY },
	/* Our own claim seen from a nested program: fail at once, never wait for ourselves. */
	{ "hash: own claim on the top", BPF_MAP_TYPE_HASH, STOP_CLAIMED_TOP, OWNER_SELF, -EBUSY },
};

/* Leave the map as a writer @tid stopped at @at would (white box, mirrors htab.c). */
static void stop_writer_at(struct bpfi_map_hdr *map, enum stop_at at, uint32_t tid)
{
	uint64_t head =
		atomic_load(&((struct maps_htab_free *)MAPS_AT(map, map->data_off))->free_head);
	struct maps_htab_elem *e = htab_elem(map, (uint32_t)head - 1);
	uint32_t key = 999999;
	uint64_t v = 1;

	switch (at) {
	case STOP_POPPED:
		atomic_store(&((struct maps_htab_free *)MAPS_AT(map, map->data_off))->free_head,
			     (((head >> 32) + 1) << 32) | atomic_load(&e->free_next));
		break;
	case STOP_CLAIMED_TOP:
		break;
	case STOP_CLAIMED_DEEP:
		for (int i = 0; i < 3; i++)
			e = htab_elem(map, atomic_load(&e->free_next) - 1);
		break;
	case STOP_LINKED:
		ck_assert_int_eq(bpfi_map_update_user(map, &key, &v, BPF_NOEXIST), 0);
		e = htab_elem(map, (uint32_t)head - 1); /* the element the insert popped */
		ck_assert_uint_eq(atomic_load(&e->state), HTAB_LINKED);
		break;
	}
	atomic_store(&e->state, HTAB_STATE(tid));
}

START_TEST(hash_writer_stopped)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, stop_cases[_i].type, 4, 8, 64, 0);
	uint32_t key = 0, tid;
	uint64_t v = 1, t0;
	pid_t pid = 0;
	long r;

	if (stop_cases[_i].owner == OWNER_SELF) {
		tid = (uint32_t)gettid();
	} else {
		pid = fork();
		if (pid < 0)
			ck_abort_msg("fork: %s", strerror(errno));
		if (pid == 0) {
			for (;;)
				pause();
		}
		if (stop_cases[_i].owner == OWNER_DEAD) {
			kill(pid, SIGKILL);
			ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
		}
		tid = (uint32_t)pid;
	}
	stop_writer_at(map, stop_cases[_i].at, tid);
	t0 = test_now_ns();
	r = bpfi_map_update_user(map, &key, &v, BPF_NOEXIST);
	ck_assert_msg(r == stop_cases[_i].expect, "%s: insert: %ld", stop_cases[_i].descr, r);
	ck_assert_uint_lt(test_now_ns() - t0, 10000000000ull);
	if (stop_cases[_i].owner == OWNER_LIVE) {
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
		ck_assert_int_eq(bpfi_map_update_user(map, &key, &v, BPF_NOEXIST), 0);
	}
	if (stop_cases[_i].owner != OWNER_SELF)
		assert_all_usable(map, 1, stop_cases[_i].descr);
	bpfi_arena_free(arena);
}
END_TEST

/* The bucket lock of @key, found the way htab.c finds it (white box). */
static _Atomic uint32_t *bucket_lock_of(struct bpfi_map_hdr *map, uint32_t key)
{
	struct maps_htab *h = (struct maps_htab *)(void *)map->impl;
	struct maps_bucket *b = MAPS_AT(map, h->buckets_off);
	uint64_t v = 1;

	/* Insert the key, then find the bucket whose chain holds it. */
	ck_assert_int_eq(bpfi_map_update_user(map, &key, &v, BPF_ANY), 0);
	for (uint32_t i = 0; i < h->n_buckets; i++) {
		for (uint64_t off = atomic_load(&b[i].head); !(off & 1);) {
			struct maps_htab_elem *e = MAPS_AT(map, off);

			if (!memcmp(e + 1, &key, sizeof(key)))
				return &b[i].lock;
			off = atomic_load(&e->next);
		}
	}
	ck_abort_msg("key %u not found", key);
	return NULL;
}

/* A lock held by a thread that is gone is taken over; one held by a live thread that does not
 * let go (stopped) makes the operation fail with -EBUSY in bounded time, never hang. */
START_TEST(hash_lock_owner_recovery)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_HASH, 4, 8, 64, 0);
	uint32_t key = 42;
	_Atomic uint32_t *lock = bucket_lock_of(map, key);
	uint64_t v = 2, t0;
	pid_t pid = fork();

	if (pid < 0)

		ck_abort_msg("fork: %s", strerror(errno));
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	atomic_store(lock, (uint32_t)pid); /* as if it died holding the lock */
	t0 = test_now_ns();
	ck_assert_int_eq(bpfi_map_update_elem(map, &key, &v, BPF_ANY, 0), 0);
	ck_assert_uint_lt(test_now_ns() - t0, 500000000ull);
	ck_assert_uint_eq(atomic_load(lock), 0);

	pid = fork();
	if (pid < 0)
		ck_abort_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		for (;;)
			pause();
	}
	atomic_store(lock, (uint32_t)pid); /* alive, and never letting go */
	t0 = test_now_ns();
	ck_assert_int_eq(bpfi_map_update_elem(map, &key, &v, BPF_ANY, 0), -EBUSY);
	ck_assert_int_eq(bpfi_map_lookup_user(map, &key, &v, 0), -EBUSY);
	ck_assert_ptr_nonnull(bpfi_map_lookup_elem(map, &key, 0)); /* lookups never lock */
	ck_assert_uint_lt(test_now_ns() - t0, 10000000000ull);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(bpfi_map_update_elem(map, &key, &v, BPF_ANY, 0), 0);
	bpfi_arena_free(arena);
}
END_TEST

Suite *maps_suite(void);
Suite *maps_suite(void)
{
	Suite *s = suite_create("maps");
	TCase *sem = tcase_create("semantics");
	TCase *conc = tcase_create("processes");

	tcase_add_test(sem, arena_basics);
	tcase_add_test(sem, map_create_checks);
	tcase_add_test(sem, map_names);
	tcase_add_loop_test(sem, hash_semantics, 0, 2);
	tcase_add_test(sem, hash_get_next_key);
	tcase_add_test(sem, array_semantics);
	tcase_add_test(sem, array_access_flags);
	tcase_add_test(sem, array_mmapable);
	tcase_add_loop_test(sem, percpu_layout, 0, 3);
	tcase_add_test(sem, prog_and_fd_arrays);
	tcase_add_test(sem, lru_evicts);
	suite_add_tcase(s, sem);

	tcase_set_timeout(conc, 100);
	tcase_add_test(conc, hash_two_processes);
	tcase_add_loop_test(conc, hash_survives_sigkill, 0,
			    (int)(sizeof(kill_maps) / sizeof(kill_maps[0])));
	tcase_add_loop_test(conc, hash_writer_stopped, 0,
			    (int)(sizeof(stop_cases) / sizeof(stop_cases[0])));
	tcase_add_test(conc, hash_lock_owner_recovery);
	suite_add_tcase(s, conc);

	suite_add_tcase(s, maps_buffers_tcase());
	suite_add_tcase(s, maps_libbpf_tcase());
	suite_add_tcase(s, maps_hostile_tcase());
	return s;
}
