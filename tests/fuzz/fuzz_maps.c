// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness of map operations: the input picks a map type and shape, then is read as
 * a sequence of operations (update with flags, lookup, delete, lookup-and-delete,
 * get_next_key, update and lookup batches) made through the runtime's bpf(2) and checked
 * against a plain reference model: what a lookup finds, the errors (EEXIST, ENOENT, E2BIG,
 * EINVAL) and the keys an iteration visits. LRU maps may evict, so for them the model says
 * what may be there: a key found must have been written, not deleted since, with that value. Any disagreement aborts, as does a crash or a sanitizer report.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/runtime.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRIES 32
#define MAX_VALUE   64
#define KEY_SPACE   40 /* more keys than entries: full maps are reached */

struct model {
	uint32_t type, key_size, value_size, max;
	bool percpu, lru, array;
	bool used[KEY_SPACE];
	uint8_t value[KEY_SPACE]; /* every byte of the value is this byte */
};

static uint32_t ncpus;
static uint8_t *buf, *buf2;

#define ASSERT(cond)                                                                          \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "fuzz_maps: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                              \
		}                                                                             \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct bpfi_runtime_opts opts = { .sz = sizeof(opts) };
	int n = libbpf_num_possible_cpus();

	if (n <= 0 || bpfi_runtime_init(&opts, NULL))
		abort();
	ncpus = (uint32_t)n;
	buf = malloc((size_t)MAX_VALUE * ncpus * MAX_ENTRIES);
	buf2 = malloc((size_t)MAX_VALUE * ncpus * MAX_ENTRIES);
	if (!buf || !buf2)
		abort();
	return 0;
}

static long sys(int cmd, union bpf_attr *a)
{
	return bpfi_runtime_bpf(cmd, a, sizeof(*a));
}

/* The bytes user space exchanges for one value (per-CPU: one 8-aligned copy per CPU). */
static size_t user_value_size(const struct model *m)
{
	return m->percpu ? (size_t)((m->value_size + 7) & ~7u) * ncpus : m->value_size;
}

static void make_key(const struct model *m, uint32_t k, uint8_t *key)
{
	memset(key, 0, m->key_size);
	if (m->key_size >= 4)
		memcpy(key, &k, 4);
	else
		key[0] = (uint8_t)k;
}

static uint32_t key_of(const struct model *m, const uint8_t *key)
{
	uint32_t k = 0;

	if (m->key_size >= 4)
		memcpy(&k, key, 4);
	else
		k = key[0];
	return k;
}

static void make_value(const struct model *m, uint8_t v, uint8_t *val)
{
	size_t stride = m->percpu ? (m->value_size + 7) & ~7u : m->value_size;

	memset(val, 0, user_value_size(m));
	for (uint32_t c = 0; c < (m->percpu ? ncpus : 1); c++)
		memset(val + c * stride, v, m->value_size);
}

static bool value_is(const struct model *m, const uint8_t *val, uint8_t v)
{
	uint8_t want[MAX_VALUE * 8 * 4];

	if (user_value_size(m) > sizeof(want))
		return true; /* more CPUs than the buffer: not compared */
	make_value(m, v, want);
	return !memcmp(val, want, user_value_size(m));
}

static size_t model_count(const struct model *m)
{
	size_t n = 0;

	for (uint32_t k = 0; k < KEY_SPACE; k++)
		n += m->used[k];
	return n;
}

/* One update; @flags BPF_ANY/NOEXIST/EXIST (or junk). */
static void op_update(struct model *m, int fd, uint32_t k, uint8_t v, uint64_t flags)
{
	uint8_t key[8];
	union bpf_attr a = { .map_fd = (uint32_t)fd, .flags = flags };
	long err, want = 0;

	make_key(m, k, key);
	make_value(m, v, buf);
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)buf;
	err = sys(BPF_MAP_UPDATE_ELEM, &a);
	if (flags > BPF_EXIST)
		want = -EINVAL;
	else if (m->array && k >= m->max)
		want = -E2BIG;
	else if (m->array && flags == BPF_NOEXIST)
		want = -EEXIST;
	else if (!m->array && flags == BPF_NOEXIST && m->used[k])
		want = -EEXIST;
	else if (!m->array && flags == BPF_EXIST && !m->used[k])
		want = -ENOENT;
	else if (!m->array && !m->lru && !m->used[k] && model_count(m) >= m->max)
		want = -E2BIG;
	if (m->lru) {
		/* Eviction makes EEXIST/ENOENT depend on what was evicted. */
		if (flags > BPF_EXIST)
			ASSERT(err == -EINVAL);
		if (err)
			return;
	} else {
		ASSERT(err == want);
		if (err)
			return;
	}
	m->used[k] = true;
	m->value[k] = v;
}

static void op_lookup(struct model *m, int fd, uint32_t k, bool and_delete)
{
	uint8_t key[8];
	union bpf_attr a = { .map_fd = (uint32_t)fd };
	long err;

	make_key(m, k, key);
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)buf;
	err = sys(and_delete ? BPF_MAP_LOOKUP_AND_DELETE_ELEM : BPF_MAP_LOOKUP_ELEM, &a);
	if (m->array) {
		/* Arrays refuse lookup-and-delete (the kernel's error depends on its version). */
		if (and_delete || k >= m->max)
			ASSERT(err < 0);
		else
			ASSERT(!err && value_is(m, buf, m->used[k] ? m->value[k] : 0));
		return;
	}
	if (and_delete && m->percpu) {
		/* Not every kernel supports it for per-CPU hashes; if done, the key is gone. */
		if (!err)
			m->used[k] = false;
		return;
	}
	if (m->lru) {
		if (!err)
			ASSERT(m->used[k] && value_is(m, buf, m->value[k]));
	} else {
		ASSERT(err == (m->used[k] ? 0 : -ENOENT));
		if (!err)
			ASSERT(value_is(m, buf, m->value[k]));
	}
	if (!err && and_delete)
		m->used[k] = false;
}

static void op_delete(struct model *m, int fd, uint32_t k)
{
	uint8_t key[8];
	union bpf_attr a = { .map_fd = (uint32_t)fd };
	long err;

	make_key(m, k, key);
	a.key = (uint64_t)(uintptr_t)key;
	err = sys(BPF_MAP_DELETE_ELEM, &a);
	if (m->array)
		ASSERT(err == -EINVAL);
	else if (!m->lru)
		ASSERT(err == (m->used[k] ? 0 : -ENOENT));
	if (!err)
		m->used[k] = false;
}

/* A full iteration with get_next_key: every key once, all of them (not on LRU maps). */
static void op_iterate(struct model *m, int fd)
{
	uint8_t key[8], next[8];
	bool seen[KEY_SPACE] = { false };
	union bpf_attr a = { .map_fd = (uint32_t)fd };
	uint32_t n = 0, k;

	a.key = 0; /* NULL: the first key */
	a.next_key = (uint64_t)(uintptr_t)next;
	while (sys(BPF_MAP_GET_NEXT_KEY, &a) == 0) {
		k = key_of(m, next);
		ASSERT(n++ < MAX_ENTRIES + 1);
		if (!m->array) {
			ASSERT(k < KEY_SPACE && !seen[k]);
			seen[k] = true;
			ASSERT(m->used[k]);
		}
		memcpy(key, next, sizeof(key));
		a.key = (uint64_t)(uintptr_t)key;
	}
	if (m->array)
		ASSERT(n == m->max);
	else if (!m->lru)
		ASSERT(n == model_count(m));
}

/* UPDATE_BATCH of @cnt keys from @k, then LOOKUP_BATCH of the whole map. */
static void op_batch(struct model *m, int fd, uint32_t k, uint32_t cnt, uint8_t v)
{
	uint8_t keys[8 * MAX_ENTRIES];
	size_t vs = user_value_size(m);
	union bpf_attr a;
	uint32_t i, out = 0;
	long err;

	cnt = cnt % 8 + 1;
	for (i = 0; i < cnt; i++) {
		make_key(m, (k + i) % KEY_SPACE, keys + i * m->key_size);
		make_value(m, v, buf + i * vs);
	}
	memset(&a, 0, sizeof(a));
	a.batch.map_fd = (uint32_t)fd;
	a.batch.keys = (uint64_t)(uintptr_t)keys;
	a.batch.values = (uint64_t)(uintptr_t)buf;
	a.batch.count = cnt;
	err = sys(BPF_MAP_UPDATE_BATCH, &a);
	ASSERT(a.batch.count <= cnt);
	/* The ones done, done as single updates would be (the first error stops it). */
	for (i = 0; i < a.batch.count; i++) {
		uint32_t kk = (k + i) % KEY_SPACE;

		m->used[kk] = !m->array || kk < m->max;
		m->value[kk] = v;
	}
	if (err && !m->lru && !m->array) {
		/* Only a full map stops a hash batch of BPF_ANY updates. */
		ASSERT(err == -E2BIG && model_count(m) == m->max);
	}
	memset(&a, 0, sizeof(a));
	a.batch.map_fd = (uint32_t)fd;
	a.batch.out_batch = (uint64_t)(uintptr_t)&out;
	a.batch.keys = (uint64_t)(uintptr_t)keys;
	a.batch.values = (uint64_t)(uintptr_t)buf2;
	a.batch.count = MAX_ENTRIES;
	err = sys(BPF_MAP_LOOKUP_BATCH, &a);
	ASSERT(!err || err == -ENOENT);
	ASSERT(a.batch.count <= MAX_ENTRIES);
	for (i = 0; i < a.batch.count; i++) {
		uint32_t kk = key_of(m, keys + i * m->key_size);

		if (m->array)
			ASSERT(kk == i);
		else
			ASSERT(kk < KEY_SPACE && m->used[kk]);
		if (kk < KEY_SPACE && (!m->array || m->used[kk]))
			ASSERT(value_is(m, buf2 + i * vs, m->value[kk]));
	}
	if (!m->lru)
		ASSERT(a.batch.count == (m->array ? m->max : model_count(m)));
}

static const uint32_t kv_types[] = { BPF_MAP_TYPE_HASH,	       BPF_MAP_TYPE_ARRAY,
				     BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY,
				     BPF_MAP_TYPE_LRU_HASH,    BPF_MAP_TYPE_LRU_PERCPU_HASH };

/* Empties a map for the next input: zeroes in every array slot, no key in a hash. */
static void clear_map(struct model *m, int fd)
{
	uint8_t key[8], zero[MAX_VALUE * 8 * 4] = { 0 };
	union bpf_attr a;
	uint32_t i;

	ASSERT(user_value_size(m) <= sizeof(zero));
	for (i = 0; i < m->max && m->array; i++) {
		memset(&a, 0, sizeof(a));
		a.map_fd = (uint32_t)fd;
		a.key = (uint64_t)(uintptr_t)&i;
		a.value = (uint64_t)(uintptr_t)zero;
		ASSERT(sys(BPF_MAP_UPDATE_ELEM, &a) == 0);
	}
	for (i = 0; !m->array; i++) {
		ASSERT(i <= MAX_ENTRIES);
		memset(&a, 0, sizeof(a));
		a.map_fd = (uint32_t)fd;
		a.next_key = (uint64_t)(uintptr_t)key;
		if (sys(BPF_MAP_GET_NEXT_KEY, &a) == -ENOENT)
			break;
		a.key = (uint64_t)(uintptr_t)key;
		ASSERT(sys(BPF_MAP_DELETE_ELEM, &a) == 0);
	}
}

/*
 * The map of a shape, made once: the arena never takes back a closed map's memory (a bump
 * allocator), so a map per input would fill it within minutes.
 */
static int map_of(struct model *m, uint32_t t, uint32_t k, uint32_t v, uint32_t x)
{
	static int pool[6][4][8][8];
	union bpf_attr a = { 0 };
	long fd;

	if (pool[t][k][v][x])
		return pool[t][k][v][x] - 1;
	a.map_type = m->type;
	a.key_size = m->key_size;
	a.value_size = m->value_size;
	a.max_entries = m->max;
	fd = sys(BPF_MAP_CREATE, &a);
	if (fd < 0) {
		fprintf(stderr, "fuzz_maps: MAP_CREATE type %u: %ld\n", m->type, fd);
		abort();
	}
	pool[t][k][v][x] = (int)fd + 1;
	return (int)fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t key_sizes[] = { 1, 2, 4, 8 };
	static const uint32_t value_sizes[] = { 1, 3, 4, 8, 12, 16, 33, 64 };
	static const uint32_t maxes[] = { 1, 2, 3, 5, 8, 16, 31, 32 };
	struct model m = { 0 };
	uint32_t t, ks, vs, mx;
	size_t i;
	int fd;

	if (size < 4)
		return -1;
	t = data[0] % (sizeof(kv_types) / sizeof(kv_types[0]));
	ks = data[1] % 4;
	vs = data[2] % 8;
	mx = data[3] % 8;
	m.type = kv_types[t];
	m.array = m.type == BPF_MAP_TYPE_ARRAY || m.type == BPF_MAP_TYPE_PERCPU_ARRAY;
	m.percpu = m.type == BPF_MAP_TYPE_PERCPU_HASH || m.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
		   m.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	m.lru = m.type == BPF_MAP_TYPE_LRU_HASH || m.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	if (m.array)
		ks = 2;
	m.key_size = key_sizes[ks];
	m.value_size = value_sizes[vs];
	m.max = maxes[mx];
	fd = map_of(&m, t, ks, vs, mx);
	clear_map(&m, fd);
	for (i = 4; i + 3 <= size; i += 3) {
		uint32_t k = data[i + 1] % KEY_SPACE;
		uint8_t v = data[i + 2];

		switch (data[i] % 8) {
		case 0:
		case 1:
			op_update(&m, fd, k, v, data[i] / 8 % 5);
			break;
		case 2:
			op_lookup(&m, fd, k, false);
			break;
		case 3:
			op_lookup(&m, fd, k, true);
			break;
		case 4:
			op_delete(&m, fd, k);
			break;
		case 5:
			op_iterate(&m, fd);
			break;
		default:
			op_batch(&m, fd, k, data[i] / 8, v);
			break;
		}
	}
	return 0;
}
