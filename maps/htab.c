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
 *   FREE (on the free stack) --claim, pop--> IN_FLIGHT(tid) --link under bucket lock--> LINKED
 *   LINKED --mark IN_FLIGHT(tid), unlink under bucket lock--> IN_FLIGHT(tid) --push--> FREE
 *
 * A writer can be SIGKILLed between any two of its stores, so every step keeps the element in
 * a state that names whoever may be half-way through it:
 *  - FREE implies "on the free stack": an element becomes FREE only while on the stack, and
 *    leaves it only claimed.
 *  - stack_pop() claims the top element (CAS FREE -> IN_FLIGHT(me)) before the head CAS, and
 *    hands the claim back (FREE) if the head moved on. A claimed element cannot be popped by
 *    anyone else, so it stays on the stack until its claimant pops it.
 *  - stack_push() keeps IN_FLIGHT(me) through the head CAS and stores FREE only after it.
 * So an element on the stack is FREE or in flight for its claimant or pusher, and an element
 * in flight for a thread that is gone can no longer move on or off the stack until someone
 * changes its state. Recovery, with the owner's death checked first (lock.c):
 *  - a popper that finds such an element on top of the stack takes the claim over (CAS from
 *    the dead tid to its own), as maps__lock_tid() takes a dead holder's lock;
 *  - reclaim_one(), with the stack seen empty after the death (so the element is not on it),
 *    locks the element's bucket and marks it LINKED again if it is still linked, else takes
 *    it (and returns it to the stack, or evicts with it on LRU maps).
 * The state changes to LINKED only after the link store, so an element is never both
 * reachable and free. No element is lost, whatever instruction a writer dies at.
 */

static bool is_lru(const struct bpfi_map_hdr *map)
{
	return map->type == BPFI_MAP_LRU_HASH || map->type == BPFI_MAP_LRU_PERCPU_HASH;
}

/* The layout (meta: read-only in targets, trusted) and the free stack (data: untrusted). */
static struct maps_htab *htab_of(struct bpfi_map_hdr *map)
{
	return (struct maps_htab *)(void *)map->impl;
}

static struct maps_htab_free *free_of(struct bpfi_map_hdr *map)
{
	return MAPS_AT(map, map->data_off);
}

/* Bounds every retry loop a corrupted arena could otherwise keep going (stack_pop()). */
#define HTAB_MAX_RETRIES (1u << 20)

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

/*
 * An element from a chain link (a bucket head or a next field: data the targets can write);
 * NULL for an offset that is not 8-byte aligned inside the element area. An aligned offset
 * inside it that does not start an element gives a wrong element, whose whole extent is still
 * inside the area: wrong contents, never memory outside the map. Two compares and a mask
 * (off - elems_off wraps for offsets below the area).
 */
static inline struct maps_htab_elem *elem_from_off(struct bpfi_map_hdr *map,
						   const struct maps_htab *h, uint64_t off)
{
	if (off - h->elems_off > h->elems_end - h->elems_off - h->elem_size || (off & 7))
		return NULL;
	return MAPS_AT(map, off);
}

/* An element from a free stack link (index + 1, from the data region): NULL for 0 or out of
 * range. */
static inline struct maps_htab_elem *elem_from_link(struct bpfi_map_hdr *map, struct maps_htab *h,
						    uint32_t link)
{
	if (!link || link > map->max_entries)
		return NULL;
	return elem_at(map, h, link - 1);
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

/*
 * We hold the claim on @e (index @idx), so it is on the stack and nobody else can pop it: pop
 * it if it is on top. False when it is not on top any more (something was pushed over it).
 */
static bool pop_claimed(struct maps_htab_free *h, struct maps_htab_elem *e, uint32_t idx,
			uint64_t *head)
{
	uint32_t tries = 0;

	do {
		/* Stable: @e is on the stack since before *head was read, or the tag moved on
		 * and the CAS fails (ABA-safe). */
		uint32_t next = atomic_load_explicit(&e->free_next, memory_order_relaxed);

		/* Acquire: pairs with the release CAS in stack_push(), so the pusher's last
		 * stores to the element are visible before we reuse it. */
		if (atomic_compare_exchange_weak_explicit(
			    &h->free_head, head, (((*head >> 32) + 1) << 32) | next,
			    memory_order_acquire, memory_order_acquire))
			return true;
	} while ((uint32_t)*head == idx && ++tries < HTAB_MAX_RETRIES);
	return false;
}

/*
 * The claim on @e, the element at *head, failed: its state was @st. 1 when we took over a
 * dead claimant's claim (then @e is on top of the stack and ours to pop), 0 to start over
 * from the head we reload into *head, -EBUSY when a live claim is not let go (*round counts
 * the rounds we waited, as in maps__lock_tid()).
 */
static long claim_held(struct maps_htab_free *h, struct maps_htab_elem *e, uint64_t st,
		       uint64_t *head, uint32_t me, uint32_t *round)
{
	uint32_t owner = (uint32_t)(st >> 32);
	uint64_t now = atomic_load_explicit(&h->free_head, memory_order_acquire);
	long r;

	if (now != *head) {
		*head = now; /* stale: @e may not even be on the stack any more */
		return 0;
	}
	/* An unchanged head (tag included) means @e was on top all along, so @st is the state
	 * of an element on the stack: a claimant before its head CAS or a pusher after its.
	 * Anything else is a corrupted arena: fail rather than spin. */
	if ((st & 3) != HTAB_IN_FLIGHT || owner == me)
		return -BPFI_EBUSY; /* ours: re-entered from a nested program, never wait */
	r = maps__wait_owner(owner, (*round)++);
	if (r <= 0)
		return r;
	/* Gone: from its death on, @e stays where it is until its state changes. Seen on top
	 * after the death, it is on the stack when we take it over. Acquire: the dead thread's
	 * stores are visible (lock.c), and this load stays before the CAS. */
	*head = atomic_load_explicit(&h->free_head, memory_order_acquire);
	if ((uint32_t)*head != (uint32_t)now)
		return 0;
	return atomic_compare_exchange_strong_explicit(&e->state, &st, HTAB_STATE(me),
						       memory_order_acquire, memory_order_relaxed);
}

/* The top free element, IN_FLIGHT(me); NULL with *ret_err 0 when the stack is empty, or
 * -EBUSY when its top is claimed by a live thread that does not let go. */
static struct maps_htab_elem *stack_pop(struct bpfi_map_hdr *map, struct maps_htab *h, uint32_t me,
					long *ret_err)
{
	struct maps_htab_free *hf = free_of(map);
	uint64_t head = atomic_load_explicit(&hf->free_head, memory_order_acquire);
	uint32_t round = 0;

	for (uint32_t tries = 0;; tries++) {
		uint32_t idx = (uint32_t)head;
		struct maps_htab_elem *e = elem_from_link(map, h, idx);
		uint64_t st = HTAB_FREE;
		long r;

		if (!e)
			return NULL;
		if (tries > HTAB_MAX_RETRIES) {
			/* Only a target rewriting the stack's head under us gets here. */
			*ret_err = -BPFI_EBUSY;
			return NULL;
		}
		/* Claim it before popping it. Acquire: pairs with the release FREE stores in
		 * stack_push() and below, so the last owner is done with the element. */
		if (!atomic_compare_exchange_strong_explicit(&e->state, &st, HTAB_STATE(me),
							     memory_order_acquire,
							     memory_order_acquire)) {
			r = claim_held(hf, e, st, &head, me, &round);
			if (r < 0) {
				*ret_err = r;
				return NULL;
			}
			if (!r)
				continue;
		}
		if (pop_claimed(hf, e, idx, &head))
			return e;
		/* Still on the stack, under what was pushed over it: hand the claim back.
		 * Release: pairs with the acquire claim CAS above. */
		atomic_store_explicit(&e->state, HTAB_FREE, memory_order_release);
	}
}

/* Push @e, which we hold (IN_FLIGHT(me)); it says so until it is on the stack. */
static void stack_push(struct bpfi_map_hdr *map, struct maps_htab *h, struct maps_htab_elem *e)
{
	struct maps_htab_free *hf = free_of(map);
	uint32_t idx = elem_index(map, h, e) + 1;
	uint64_t head = atomic_load_explicit(&hf->free_head, memory_order_relaxed);

	/* Unbounded only while others keep pushing and popping: each failure is their progress
	 * (a target rewriting the head in a loop can delay us, as any writer can). */
	do {
		atomic_store_explicit(&e->free_next, (uint32_t)head, memory_order_relaxed);
		/* Release: pairs with the acquire CAS in pop_claimed(). */
	} while (!atomic_compare_exchange_weak_explicit(
		&hf->free_head, &head, (((head >> 32) + 1) << 32) | idx, memory_order_release,
		memory_order_relaxed));
	/* Now on the stack: FREE lets poppers claim it (until then they wait for us, or take
	 * over if we die here). Release: pairs with the acquire claim CAS in stack_pop(). */
	atomic_store_explicit(&e->state, HTAB_FREE, memory_order_release);
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

enum reclaim_result { RECLAIM_SKIP, RECLAIM_LINKED, RECLAIM_OWNED, RECLAIM_STACK_USED };

/*
 * @e was seen IN_FLIGHT (@st) for another thread: if that thread is gone, mark @e LINKED again
 * (still linked: the writer died around a link store) or take it (RECLAIM_OWNED, now
 * IN_FLIGHT(me), off the stack). Taken only with the stack seen empty after the owner's death:
 * from then on @e cannot move on or off the stack while its state names the dead owner, so it
 * is not on it (a popper takes over such an element only from the top of the stack). With
 * elements on the stack, RECLAIM_STACK_USED: pop those instead. No bucket lock may be held.
 */
static enum reclaim_result reclaim_one(struct bpfi_map_hdr *map, struct maps_htab *h,
				       struct maps_htab_elem *e, uint64_t st, uint32_t me)
{
	enum reclaim_result ret = RECLAIM_SKIP;
	_Atomic uint64_t *link = NULL;
	struct maps_bucket *b;

	if ((st & 3) != HTAB_IN_FLIGHT || (uint32_t)(st >> 32) == me ||
	    maps__tid_alive((uint32_t)(st >> 32)))
		return RECLAIM_SKIP;
	/* Acquire: keeps this load after the liveness check and before the state CAS. */
	if ((uint32_t)atomic_load_explicit(&free_of(map)->free_head, memory_order_acquire))
		return RECLAIM_STACK_USED;
	/* The hash is the owner's, written before any link: the bucket @e would be in. */
	b = bucket_of(map, h, atomic_load_explicit(&e->hash, memory_order_relaxed));
	if (maps__lock_tid(&b->lock, me))
		return RECLAIM_SKIP;
	/* One reclaimer or popper wins the element. Acquire: the dead owner's stores. */
	if (atomic_compare_exchange_strong_explicit(&e->state, &st, HTAB_STATE(me),
						    memory_order_acquire, memory_order_relaxed)) {
		if (find_locked(map, h, b, NULL, 0, e, &link)) {
			atomic_store_explicit(&e->state, HTAB_LINKED, memory_order_relaxed);
			ret = RECLAIM_LINKED;
		} else {
			ret = RECLAIM_OWNED;
		}
	}
	maps__unlock(&b->lock);
	return ret;
}

/*
 * The clock algorithm over the element array: skip referenced elements once, evict the first
 * unreferenced one. An element a dead writer held is recovered as the hand passes (LRU maps
 * rarely run htab_reclaim(): their free stack is empty but eviction succeeds). Runs with no
 * bucket lock held, so taking the victim's is safe.
 */
static struct maps_htab_elem *lru_evict(struct bpfi_map_hdr *map, struct maps_htab *h, uint32_t me)
{
	for (uint32_t tries = 0; tries < 2 * map->max_entries + 2; tries++) {
		uint64_t i =
			atomic_fetch_add_explicit(&free_of(map)->lru_hand, 1, memory_order_relaxed);
		struct maps_htab_elem *e = elem_at(map, h, (uint32_t)(i % map->max_entries));
		uint64_t st = atomic_load_explicit(&e->state, memory_order_relaxed);
		_Atomic uint64_t *link = NULL;
		struct maps_bucket *b;

		if (st != HTAB_LINKED) {
			if (reclaim_one(map, h, e, st, me) == RECLAIM_OWNED)
				return e;
			continue;
		}
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

/*
 * Recover what dead writers held (see the life cycle above): one element for the caller, the
 * others back on the stack. They are pushed only at the end, so that the stack stays empty for
 * reclaim_one() while we scan; if we die meanwhile, they are in flight for us, and recovered.
 */
static struct maps_htab_elem *htab_reclaim(struct bpfi_map_hdr *map, struct maps_htab *h,
					   uint32_t me)
{
	struct maps_htab_elem *got = NULL, *e;
	uint32_t chain = 0; /* the others, linked through free_next (index + 1, 0 ends) */

	for (uint32_t i = 0; i < map->max_entries; i++) {
		enum reclaim_result r;

		e = elem_at(map, h, i);
		r = reclaim_one(map, h, e, atomic_load_explicit(&e->state, memory_order_relaxed),
				me);
		if (r == RECLAIM_STACK_USED)
			break; /* freed meanwhile: the caller pops that */
		if (r != RECLAIM_OWNED)
			continue;
		if (!got) {
			got = e;
			continue;
		}
		atomic_store_explicit(&e->free_next, chain, memory_order_relaxed);
		chain = i + 1;
	}
	/* The links were ours, but sit in the data region: checked, and at most max_entries. */
	for (uint32_t n = 0; n < map->max_entries && (e = elem_from_link(map, h, chain)); n++) {
		chain = atomic_load_explicit(&e->free_next, memory_order_relaxed);
		stack_push(map, h, e);
	}
	return got;
}

/* A fresh element, IN_FLIGHT(me); NULL with *ret_err -E2BIG (full) or -EBUSY. */
static struct maps_htab_elem *htab_alloc(struct bpfi_map_hdr *map, struct maps_htab *h, uint32_t me,
					 long *ret_err)
{
	struct maps_htab_elem *e = stack_pop(map, h, me, ret_err);

	if (e)
		return e;
	if (is_lru(map)) {
		/* Also when the stack's top is busy: evicting needs no free element. */
		e = lru_evict(map, h, me);
		if (e) {
			*ret_err = 0;
			return e;
		}
	}
	if (*ret_err)
		return NULL;
	e = htab_reclaim(map, h, me);
	if (!e)
		e = stack_pop(map, h, me, ret_err);
	if (!e && !*ret_err)
		*ret_err = -BPFI_E2BIG;
	return e;
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
	long alloc_err; /* why e is NULL: -E2BIG or -EBUSY */
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
		return op->alloc_err ? op->alloc_err : -BPFI_E2BIG;
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
		op.e = htab_alloc(map, h, op.me, &op.alloc_err);
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

/*
 * Under bucket @i's lock (@b): whether @e's key belongs to this bucket and @e is where a walk
 * of the chain finds it first. Iteration returns only such keys, so that each key it returns
 * sits further down its chain than the one before, or in a later bucket: a chain a target
 * corrupted (a cycle, another bucket's element, a key twice) ends the bucket instead of making
 * get_next_key go round for ever.
 */
static bool key_is_first(struct bpfi_map_hdr *map, struct maps_htab *h, struct maps_bucket *b,
			 uint32_t i, struct maps_htab_elem *e)
{
	_Atomic uint64_t *link = NULL;
	uint32_t hash = htab_hash(h, elem_key(e), map->key_size);

	return (hash & (h->n_buckets - 1)) == i &&
	       find_locked(map, h, b, elem_key(e), hash, NULL, &link) == e;
}

/* Under @b's lock: whether a walk of its chain meets @n before it gets past @e. */
static bool before(struct bpfi_map_hdr *map, struct maps_htab *h, struct maps_bucket *b,
		   const struct maps_htab_elem *n, const struct maps_htab_elem *e)
{
	uint64_t off = atomic_load_explicit(&b->head, memory_order_relaxed);

	for (uint32_t steps = 0; !(off & 1) && steps < map->max_entries; steps++) {
		struct maps_htab_elem *x = elem_from_off(map, h, off);

		if (!x)
			break;
		if (x == n)
			return true;
		if (x == e)
			break;
		off = atomic_load_explicit(&x->next, memory_order_relaxed);
	}
	return false;
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
		if (e && !key_is_first(map, h, b, i, e))
			e = NULL;
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
	if (n &&
	    (!key_is_first(map, h, b, hash & (h->n_buckets - 1), n) || before(map, h, b, n, e)))
		n = NULL; /* n's key was seen already: a cycle, the bucket ends here */
	if (n)
		bpfi_memcpy(next_key, elem_key(n), map->key_size);
	maps__unlock(&b->lock);
	if (n)
		return 0;
	return first_key_from(map, h, (hash & (h->n_buckets - 1)) + 1, next_key);
}
