/* SPDX-License-Identifier: MIT */
/*
 * HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH over preallocated elements in the arena:
 * lock-free lookups, per-bucket owner locks for writers, a tagged lock-free free stack.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/abi.h>
#include <bpfinject/sys.h>

#include "maps_internal.h"

/*
 * Element life cycle (see also lock.c):
 *   FREE (on the free stack) --pop--> IN_FLIGHT(tid) --link under bucket lock--> LINKED
 *   LINKED --mark IN_FLIGHT(tid), unlink under bucket lock--> IN_FLIGHT(tid) --push--> FREE
 * A writer killed between those steps leaves IN_FLIGHT(dead tid) behind; when the free stack
 * runs dry, htab_reclaim() locks the element's bucket, and either finds it still linked (marks
 * it LINKED again) or returns it to the stack. The state changes to LINKED only after the link
 * store, so an element is never both reachable and free. The few instructions between a pop or
 * push CAS and the state store can still leak one element if the writer dies right there.
 */

static bool is_lru(const struct bpfi_map_hdr *map)
{
	return map->type == BPFI_MAP_LRU_HASH || map->type == BPFI_MAP_LRU_PERCPU_HASH;
}

static struct maps_htab *htab_of(struct bpfi_map_hdr *map)
{
	return MAPS_AT(map, map->data_off);
}

/* FNV-1a over the key, then the murmur3 finaliser so that low bits select buckets well. */
/*
 * Little-endian bytes as one word. 4 and 8 bytes are one unaligned load: the freestanding
 * build (-fno-builtin) does not turn the byte loop into one, and keys are mostly that size.
 */
typedef uint64_t __attribute__((may_alias, aligned(1))) u64_unaligned;
typedef uint32_t __attribute__((may_alias, aligned(1))) u32_unaligned;

static inline uint64_t load_word(const unsigned char *p, uint32_t n)
{
	uint64_t v = 0;

	if (n == 8)
		return *(const u64_unaligned *)p;
	if (n == 4)
		return *(const u32_unaligned *)p;
	for (uint32_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/*
 * A word at a time, one multiply per word and two to finish (a murmur3-style mix): keys are
 * usually 4 or 8 bytes (a tid, a pid, an address), and on the probe path every cycle of the
 * hash's dependency chain shows in the cost of a hit. The seed is per map.
 */
static inline uint32_t htab_hash(const struct maps_htab *h, const void *key, uint32_t key_size)
{
	const unsigned char *p = key;
	uint64_t x = h->seed ^ ((uint64_t)key_size * 0x9e3779b97f4a7c15ULL);

	if (key_size == 4) /* the common sizes with constant loads */
		x = (x ^ load_word(p, 4)) * 0x9e3779b97f4a7c15ULL;
	else if (key_size == 8)
		x = (x ^ load_word(p, 8)) * 0x9e3779b97f4a7c15ULL;
	else {
		for (; key_size >= 8; key_size -= 8, p += 8)
			x = (x ^ load_word(p, 8)) * 0x9e3779b97f4a7c15ULL;
		if (key_size)
			x = (x ^ load_word(p, key_size)) * 0x9e3779b97f4a7c15ULL;
	}
	x ^= x >> 32;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 29;
	return (uint32_t)x;
}

static struct maps_bucket *bucket_of(struct bpfi_map_hdr *map, struct maps_htab *h, uint32_t hash)
{
	struct maps_bucket *buckets = MAPS_AT(map, h->buckets_off);

	return &buckets[hash & (h->n_buckets - 1)];
}

static struct maps_htab_elem *elem_at(struct bpfi_map_hdr *map, struct maps_htab *h, uint32_t i)
{
	return MAPS_AT(map, h->elems_off + (uint64_t)i * h->elem_size);
}

static uint32_t elem_index(struct bpfi_map_hdr *map, struct maps_htab *h,
			   const struct maps_htab_elem *e)
{
	return (uint32_t)(((const char *)e - (const char *)map - h->elems_off) / h->elem_size);
}

static uint64_t elem_off(struct bpfi_map_hdr *map, const struct maps_htab_elem *e)
{
	return (uint64_t)((const char *)e - (const char *)map);
}

/* An element from a chain link; NULL for an offset outside the element area (a corrupted
 * arena must not make us read outside the map). */
static struct maps_htab_elem *elem_from_off(struct bpfi_map_hdr *map, struct maps_htab *h,
					    uint64_t off)
{
	uint64_t end = h->elems_off + (uint64_t)map->max_entries * h->elem_size;

	if (off < h->elems_off || off + h->elem_size > end)
		return NULL;
	return MAPS_AT(map, off);
}

static char *elem_key(struct maps_htab_elem *e)
{
	return (char *)(e + 1);
}

static char *elem_value(struct maps_htab *h, struct maps_htab_elem *e, uint32_t cpu)
{
	return elem_key(e) + h->key_stride + (uint64_t)cpu * h->value_stride;
}

/* Keys of 4 and 8 bytes (tids, pids, addresses: most of them) compare as one word. */
static inline bool key_equal(const void *a, const void *b, uint32_t size)
{
	if (size == 4)
		return load_word(a, 4) == load_word(b, 4);
	if (size == 8)
		return load_word(a, 8) == load_word(b, 8);
	return !bpfi_memcmp(a, b, size);
}

/* Lock-free search: chains change under readers, nulls markers detect a wrong turn. */
static struct maps_htab_elem *htab_find(struct bpfi_map_hdr *map, struct maps_htab *h,
					const void *key, uint32_t hash)
{
	struct maps_bucket *b = bucket_of(map, h, hash);
	uint32_t bidx = hash & (h->n_buckets - 1);

	for (int restarts = 0; restarts < 8; restarts++) {
		/* Acquire: pairs with the release link stores in htab_link()/htab_unlink(), so
		 * a linked element's key, hash and value are visible once we see its offset. */
		uint64_t off = atomic_load_explicit(&b->head, memory_order_acquire);
		uint32_t steps = 0;

		while (!(off & 1)) {
			struct maps_htab_elem *e = elem_from_off(map, h, off);

			if (!e || ++steps > map->max_entries)
				break;
			if (atomic_load_explicit(&e->hash, memory_order_relaxed) == hash &&
			    key_equal(elem_key(e), key, map->key_size))
				return e;
			/* Acquire: pairs with the release stores of ->next's successor link. */
			off = atomic_load_explicit(&e->next, memory_order_acquire);
		}
		if ((off & 1) && (off >> 1) == bidx)
			return NULL;
	}
	return NULL;
}

/* Under the bucket lock: the element and the link that points at it. */
static struct maps_htab_elem *find_locked(struct bpfi_map_hdr *map, struct maps_htab *h,
					  struct maps_bucket *b, const void *key, uint32_t hash,
					  const struct maps_htab_elem *want,
					  _Atomic uint64_t **ret_link)
{
	_Atomic uint64_t *link = &b->head;
	uint64_t off = atomic_load_explicit(link, memory_order_relaxed);
	uint32_t steps = 0;

	while (!(off & 1) && ++steps <= map->max_entries) {
		struct maps_htab_elem *e = elem_from_off(map, h, off);

		if (!e)
			break;
		if (want ? e == want
			 : (atomic_load_explicit(&e->hash, memory_order_relaxed) == hash &&
			    !bpfi_memcmp(elem_key(e), key, map->key_size))) {
			*ret_link = link;
			return e;
		}
		link = &e->next;
		off = atomic_load_explicit(link, memory_order_relaxed);
	}
	return NULL;
}

static struct maps_htab_elem *stack_pop(struct bpfi_map_hdr *map, struct maps_htab *h, uint32_t me)
{
	uint64_t head = atomic_load_explicit(&h->free_head, memory_order_acquire);

	for (;;) {
		uint32_t idx = (uint32_t)head;
		struct maps_htab_elem *e;
		uint64_t next;

		if (!idx || idx > map->max_entries)
			return NULL;
		e = elem_at(map, h, idx - 1);
		/* May be stale if another process popped e meanwhile: then the tag has moved
		 * on and the CAS below fails (ABA-safe). */
		next = atomic_load_explicit(&e->free_next, memory_order_relaxed);
		/* Acquire: pairs with the release CAS in stack_push(), so the pusher's last
		 * stores to the element are visible before we reuse it. */
		if (atomic_compare_exchange_weak_explicit(
			    &h->free_head, &head, (((head >> 32) + 1) << 32) | (uint32_t)next,
			    memory_order_acquire, memory_order_acquire)) {
			atomic_store_explicit(&e->state, HTAB_STATE(me), memory_order_relaxed);
			return e;
		}
	}
}

static void stack_push(struct bpfi_map_hdr *map, struct maps_htab *h, struct maps_htab_elem *e)
{
	uint32_t idx = elem_index(map, h, e) + 1;
	uint64_t head = atomic_load_explicit(&h->free_head, memory_order_relaxed);

	atomic_store_explicit(&e->state, HTAB_FREE, memory_order_relaxed);
	do {
		atomic_store_explicit(&e->free_next, (uint32_t)head, memory_order_relaxed);
		/* Release: pairs with the acquire CAS in stack_pop(). */
	} while (!atomic_compare_exchange_weak_explicit(
		&h->free_head, &head, (((head >> 32) + 1) << 32) | idx, memory_order_release,
		memory_order_relaxed));
}

/* Unlink @e (found at @link) under its bucket lock and mark it ours. */
static void htab_unlink(struct maps_htab_elem *e, _Atomic uint64_t *link, uint32_t me)
{
	atomic_store_explicit(&e->state, HTAB_STATE(me), memory_order_relaxed);
	/* Release: pairs with the acquire loads in htab_find(). */
	atomic_store_explicit(link, atomic_load_explicit(&e->next, memory_order_relaxed),
			      memory_order_release);
}

/* Link @e at @link (replacing whatever followed it with @next) under the bucket lock. */
static void htab_link(struct maps_htab_elem *e, _Atomic uint64_t *link, uint64_t next, uint64_t off)
{
	atomic_store_explicit(&e->next, next, memory_order_relaxed);
	/* Release: pairs with the acquire loads in htab_find(): key, hash and value written
	 * before this store are visible to a reader that sees @off. */
	atomic_store_explicit(link, off, memory_order_release);
	atomic_store_explicit(&e->state, HTAB_LINKED, memory_order_relaxed);
}

/* The clock algorithm over the element array: skip referenced elements once, evict the
 * first unreferenced one. Runs with no bucket lock held, so taking the victim's is safe. */
static struct maps_htab_elem *lru_evict(struct bpfi_map_hdr *map, struct maps_htab *h, uint32_t me)
{
	for (uint32_t tries = 0; tries < 2 * map->max_entries + 2; tries++) {
		uint64_t i = atomic_fetch_add_explicit(&h->lru_hand, 1, memory_order_relaxed);
		struct maps_htab_elem *e = elem_at(map, h, (uint32_t)(i % map->max_entries));
		_Atomic uint64_t *link = NULL;
		struct maps_bucket *b;

		if (atomic_load_explicit(&e->state, memory_order_relaxed) != HTAB_LINKED)
			continue;
		if (atomic_load_explicit(&e->ref, memory_order_relaxed)) {
			atomic_store_explicit(&e->ref, 0, memory_order_relaxed);
			continue;
		}
		b = bucket_of(map, h, atomic_load_explicit(&e->hash, memory_order_relaxed));
		if (maps__lock_tid(&b->lock, me))
			continue;
		if (atomic_load_explicit(&e->state, memory_order_relaxed) == HTAB_LINKED &&
		    find_locked(map, h, b, NULL, 0, e, &link)) {
			htab_unlink(e, link, me);
			maps__unlock(&b->lock);
			return e;
		}
		maps__unlock(&b->lock);
	}
	return NULL;
}

/* Return elements that dead writers held to the free stack (see the life cycle above). */
static bool htab_reclaim(struct bpfi_map_hdr *map, struct maps_htab *h, uint32_t me)
{
	bool got = false;

	for (uint32_t i = 0; i < map->max_entries; i++) {
		struct maps_htab_elem *e = elem_at(map, h, i);
		uint64_t st = atomic_load_explicit(&e->state, memory_order_relaxed);
		_Atomic uint64_t *link = NULL;
		struct maps_bucket *b;

		if ((st & 3) != HTAB_IN_FLIGHT || (uint32_t)(st >> 32) == me ||
		    maps__tid_alive((uint32_t)(st >> 32)))
			continue;
		b = bucket_of(map, h, atomic_load_explicit(&e->hash, memory_order_relaxed));
		if (maps__lock_tid(&b->lock, me))
			continue;
		if (atomic_load_explicit(&e->state, memory_order_relaxed) == st) {
			if (find_locked(map, h, b, NULL, 0, e, &link)) {
				atomic_store_explicit(&e->state, HTAB_LINKED, memory_order_relaxed);
			} else {
				stack_push(map, h, e);
				got = true;
			}
		}
		maps__unlock(&b->lock);
	}
	return got;
}

static struct maps_htab_elem *htab_alloc(struct bpfi_map_hdr *map, struct maps_htab *h, uint32_t me)
{
	struct maps_htab_elem *e = stack_pop(map, h, me);

	if (e)
		return e;
	if (is_lru(map)) {
		e = lru_evict(map, h, me);
		if (e)
			return e;
	}
	if (htab_reclaim(map, h, me))
		return stack_pop(map, h, me);
	return NULL;
}

/* Copy a value in: @cpu >= 0 is the program side (that CPU's copy); -1 the syscall side
 * (nr_cpus copies, round_up(value_size, 8) apart, for per-CPU maps). @fresh zeroes the other
 * CPUs' copies of a new per-CPU element, as the kernel's pcpu_init_value() does. */
static void copy_value_in(struct bpfi_map_hdr *map, struct maps_htab *h, struct maps_htab_elem *e,
			  const void *value, int64_t cpu, bool fresh)
{
	if (!maps__is_percpu(map->type)) {
		bpfi_memcpy(elem_value(h, e, 0), value, map->value_size);
		return;
	}
	for (uint32_t c = 0; c < map->nr_cpus; c++) {
		if (cpu < 0)
			bpfi_memcpy(elem_value(h, e, c),
				    (const char *)value + (uint64_t)c * h->value_stride,
				    h->value_stride);
		else if (c == (uint64_t)cpu)
			bpfi_memcpy(elem_value(h, e, c), value, map->value_size);
		else if (fresh)
			bpfi_memset(elem_value(h, e, c), 0, h->value_stride);
	}
}

static void copy_value_out(struct bpfi_map_hdr *map, struct maps_htab *h, struct maps_htab_elem *e,
			   void *value)
{
	if (!maps__is_percpu(map->type)) {
		bpfi_memcpy(value, elem_value(h, e, 0), map->value_size);
		return;
	}
	for (uint32_t c = 0; c < map->nr_cpus; c++)
		bpfi_memcpy((char *)value + (uint64_t)c * h->value_stride, elem_value(h, e, c),
			    h->value_stride);
}

void *maps__htab_lookup(struct bpfi_map_hdr *map, const void *key, uint32_t cpu)
{
	struct maps_htab *h = htab_of(map);
	struct maps_htab_elem *e;

	if (!maps__is_percpu(map->type))
		cpu = 0;
	else if (cpu >= map->nr_cpus)
		return NULL;
	e = htab_find(map, h, key, htab_hash(h, key, map->key_size));
	if (!e)
		return NULL;
	if (is_lru(map) && !atomic_load_explicit(&e->ref, memory_order_relaxed))
		atomic_store_explicit(&e->ref, 1, memory_order_relaxed);
	return elem_value(h, e, cpu);
}

/* One update: what the caller asked, and the elements it holds. */
struct htab_op {
	const void *key;
	const void *value;
	uint64_t flags;
	int64_t cpu;
	uint32_t hash;
	uint32_t me;
	struct maps_htab_elem *e; /* the filled new element, NULL once linked */
	struct maps_htab_elem *old; /* the replaced element, to free after unlocking */
};

static long htab_update_locked(struct bpfi_map_hdr *map, struct maps_htab *h, struct maps_bucket *b,
			       struct htab_op *op)
{
	_Atomic uint64_t *link = NULL;
	struct maps_htab_elem *old = find_locked(map, h, b, op->key, op->hash, NULL, &link);

	if (old && op->flags == BPFI_NOEXIST)
		return -BPFI_EEXIST;
	if (!old && op->flags == BPFI_EXIST)
		return -BPFI_ENOENT;
	if (old && (maps__is_percpu(map->type) || !op->e)) {
		/* Per-CPU values are updated in place, as the kernel does; so is a full map's
		 * element, where the kernel would use a spare element. */
		copy_value_in(map, h, old, op->value, op->cpu, false);
		return 0;
	}
	if (!op->e)
		return -BPFI_E2BIG;
	if (old) {
		/* Replace: readers see the old element or the new one, never neither. */
		atomic_store_explicit(&old->state, HTAB_STATE(op->me), memory_order_relaxed);
		htab_link(op->e, link, atomic_load_explicit(&old->next, memory_order_relaxed),
			  elem_off(map, op->e));
		op->old = old;
	} else {
		htab_link(op->e, &b->head, atomic_load_explicit(&b->head, memory_order_relaxed),
			  elem_off(map, op->e));
	}
	op->e = NULL;
	return 0;
}

/* @cpu: as in copy_value_in(). */
long maps__htab_update(struct bpfi_map_hdr *map, const void *key, const void *value, uint64_t flags,
		       int64_t cpu, uint32_t me)
{
	struct maps_htab *h = htab_of(map);
	struct htab_op op = { .key = key, .value = value, .flags = flags, .cpu = cpu };
	struct maps_bucket *b;
	long err;

	if (flags > BPFI_EXIST)
		return -BPFI_EINVAL;
	if (maps__is_percpu(map->type) && cpu >= (int64_t)map->nr_cpus)
		return -BPFI_EINVAL;
	op.hash = htab_hash(h, key, map->key_size);
	op.me = me ? me : maps__tid();
	b = bucket_of(map, h, op.hash);
	if (!(maps__is_percpu(map->type) && flags == BPFI_EXIST)) {
		op.e = htab_alloc(map, h, op.me);
		if (op.e) {
			/* Fill the new element before anyone can see it. */
			atomic_store_explicit(&op.e->hash, op.hash, memory_order_relaxed);
			/* Unreferenced until looked up (kernel bpf_lru_list: new nodes start with
			 * ref 0), so a hot element outlives one that was only inserted. */
			atomic_store_explicit(&op.e->ref, 0, memory_order_relaxed);
			bpfi_memcpy(elem_key(op.e), key, map->key_size);
			copy_value_in(map, h, op.e, value, cpu, true);
		}
	}
	err = maps__lock_tid(&b->lock, op.me);
	if (!err) {
		err = htab_update_locked(map, h, b, &op);
		maps__unlock(&b->lock);
	}
	if (op.old)
		stack_push(map, h, op.old);
	if (op.e)
		stack_push(map, h, op.e);
	return err;
}

/* Delete @key; with @ret_value, copy its value out first (LOOKUP_AND_DELETE). */
long maps__htab_delete(struct bpfi_map_hdr *map, const void *key, void *ret_value, uint32_t me)
{
	struct maps_htab *h = htab_of(map);
	uint32_t hash = htab_hash(h, key, map->key_size);
	struct maps_bucket *b = bucket_of(map, h, hash);
	_Atomic uint64_t *link = NULL;
	struct maps_htab_elem *e;
	long err;

	if (!me)
		me = maps__tid();
	err = maps__lock_tid(&b->lock, me);
	if (err)
		return err;
	e = find_locked(map, h, b, key, hash, NULL, &link);
	if (!e) {
		maps__unlock(&b->lock);
		return -BPFI_ENOENT;
	}
	if (ret_value)
		copy_value_out(map, h, e, ret_value);
	htab_unlink(e, link, me);
	maps__unlock(&b->lock);
	stack_push(map, h, e);
	return 0;
}

long maps__htab_lookup_user(struct bpfi_map_hdr *map, const void *key, void *value)
{
	struct maps_htab *h = htab_of(map);
	uint32_t hash = htab_hash(h, key, map->key_size);
	struct maps_bucket *b = bucket_of(map, h, hash);
	_Atomic uint64_t *link = NULL;
	struct maps_htab_elem *e;
	long err;

	/* Under the lock, so that a copy never interleaves with an in-place update. */
	err = maps__lock(&b->lock);
	if (err)
		return err;
	e = find_locked(map, h, b, key, hash, NULL, &link);
	if (e)
		copy_value_out(map, h, e, value);
	maps__unlock(&b->lock);
	return e ? 0 : -BPFI_ENOENT;
}

/* The first key of bucket @i or later, into @next_key. */
static long first_key_from(struct bpfi_map_hdr *map, struct maps_htab *h, uint32_t i,
			   void *next_key)
{
	struct maps_bucket *buckets = MAPS_AT(map, h->buckets_off);

	for (; i < h->n_buckets; i++) {
		struct maps_bucket *b = &buckets[i];
		struct maps_htab_elem *e;
		uint64_t off;

		if (atomic_load_explicit(&b->head, memory_order_acquire) & 1)
			continue;
		if (maps__lock(&b->lock))
			return -BPFI_EBUSY;
		off = atomic_load_explicit(&b->head, memory_order_relaxed);
		e = (off & 1) ? NULL : elem_from_off(map, h, off);
		if (e)
			bpfi_memcpy(next_key, elem_key(e), map->key_size);
		maps__unlock(&b->lock);
		if (e)
			return 0;
	}
	return -BPFI_ENOENT;
}

/* Kernel htab_map_get_next_key(): the key after @key in bucket order; an unknown @key (or
 * NULL) restarts from the first key. */
long maps__htab_get_next_key(struct bpfi_map_hdr *map, const void *key, void *next_key)
{
	struct maps_htab *h = htab_of(map);
	_Atomic uint64_t *link = NULL;
	struct maps_htab_elem *e, *n;
	struct maps_bucket *b;
	uint32_t hash;
	uint64_t off;

	if (!key)
		return first_key_from(map, h, 0, next_key);
	hash = htab_hash(h, key, map->key_size);
	b = bucket_of(map, h, hash);
	if (maps__lock(&b->lock))
		return -BPFI_EBUSY;
	e = find_locked(map, h, b, key, hash, NULL, &link);
	if (!e) {
		maps__unlock(&b->lock);
		return first_key_from(map, h, 0, next_key);
	}
	off = atomic_load_explicit(&e->next, memory_order_relaxed);
	n = (off & 1) ? NULL : elem_from_off(map, h, off);
	if (n)
		bpfi_memcpy(next_key, elem_key(n), map->key_size);
	maps__unlock(&b->lock);
	if (n)
		return 0;
	return first_key_from(map, h, (hash & (h->n_buckets - 1)) + 1, next_key);
}
