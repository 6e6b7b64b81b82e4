/* SPDX-License-Identifier: MIT */
/*
 * BPF_MAP_TYPE_RINGBUF with the kernel's layout and protocol (kernel/bpf/ringbuf.c), so that
 * libbpf's ring_buffer__* consumer reads it unchanged from its own mapping.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/abi.h>
#include <bpfinject/sys.h>

#include "maps_internal.h"

/*
 * One difference from the kernel: the kernel maps the data area twice in its own address
 * space, so a record may straddle the end of the area and still be contiguous for the program.
 * A target sees the arena once, so a record that would straddle the end is preceded by a
 * discarded padding record that fills the area up to its end; consumers skip discarded records
 * (libbpf ringbuf_process_ring), so they see the same samples in the same order.
 */

struct ringbuf_hdr {
	_Atomic uint32_t len; /* size | BUSY | DISCARD */
	uint32_t pg_off; /* pages from the map header (kernel: from struct bpf_ringbuf) */
};

/*
 * Positions, record headers and slots are in the data region, where any target can write them:
 * positions are masked to 8-byte aligned offsets of the data area before any use, walks over
 * records are bounded by the ring's size, and the map a record names is checked (commit).
 */
static struct maps_ringbuf *rb_of(struct bpfi_map_hdr *map)
{
	return MAPS_AT(map, map->data_off);
}

/* The ring's size - 1, from the header (meta: trusted). */
static uint64_t rb_mask(const struct bpfi_map_hdr *map)
{
	return map->impl[0];
}

static struct maps_ringbuf_pos *rb_page(struct bpfi_map_hdr *map, uint64_t page)
{
	return MAPS_AT(map, map->data_off + page * BPFI_PAGE_SIZE);
}

static struct ringbuf_hdr *rb_rec(struct bpfi_map_hdr *map, uint64_t pos)
{
	return MAPS_AT(map, map->data_off + RINGBUF_DATA_PAGE * BPFI_PAGE_SIZE +
				    (pos & rb_mask(map) & ~(uint64_t)7));
}

static uint64_t rec_span(uint32_t len)
{
	return MAPS_ROUND8((uint64_t)(len & ~(BPFI_RINGBUF_BUSY | BPFI_RINGBUF_DISCARD)) +
			   BPFI_RINGBUF_HDR_SZ);
}

static void rec_init(struct bpfi_map_hdr *map, struct ringbuf_hdr *hdr, uint32_t len)
{
	hdr->pg_off = (uint32_t)(map->self_off / BPFI_META_ALIGN);
	atomic_store_explicit(&hdr->len, len, memory_order_relaxed);
}

static struct maps_ringbuf_slot *rb_slots(struct bpfi_map_hdr *map)
{
	return MAPS_AT(map, map->data_off + RINGBUF_SLOTS_OFF);
}

static struct maps_ringbuf_slot *slot_find(struct bpfi_map_hdr *map, uint64_t pos)
{
	struct maps_ringbuf_slot *slots = rb_slots(map);

	for (uint32_t i = 0; i < RINGBUF_SLOTS; i++) {
		struct maps_ringbuf_slot *s = &slots[(pos / 8 + i) % RINGBUF_SLOTS];

		/* Acquire: pairs with the release store in slot_take(). */
		if (atomic_load_explicit(&s->tid, memory_order_acquire) &&
		    atomic_load_explicit(&s->pos, memory_order_relaxed) == pos)
			return s;
	}
	return NULL;
}

/* Under rb->lock: remember who reserved the record at @pos (untracked if the table is full:
 * then only that record is not recoverable). */
static void slot_take(struct bpfi_map_hdr *map, uint64_t pos, uint32_t me)
{
	struct maps_ringbuf_slot *slots = rb_slots(map);
	struct maps_ringbuf_slot *stale = slot_find(map, pos);

	/* A writer that died between commit and release_slot() a lap ago left this. */
	if (stale)
		atomic_store_explicit(&stale->tid, 0, memory_order_relaxed);
	for (uint32_t i = 0; i < RINGBUF_SLOTS; i++) {
		struct maps_ringbuf_slot *s = &slots[(pos / 8 + i) % RINGBUF_SLOTS];

		if (atomic_load_explicit(&s->tid, memory_order_acquire))
			continue;
		atomic_store_explicit(&s->pos, pos, memory_order_relaxed);
		atomic_store_explicit(&s->seen, 0, memory_order_relaxed);
		/* Release: pairs with the acquire load in slot_find(). */
		atomic_store_explicit(&s->tid, me, memory_order_release);
		return;
	}
}

/*
 * Under rb->lock: the record at @pos is still BUSY. If its writer is gone (checked on every
 * 16th reservation that finds it blocking, so live writers cost no system call most of the
 * time), discard it for them, as if they had called bpf_ringbuf_discard().
 */
static bool recover_busy(struct bpfi_map_hdr *map, struct ringbuf_hdr *hdr, uint64_t pos,
			 uint32_t len)
{
	struct maps_ringbuf_slot *s = slot_find(map, pos);
	uint32_t tid;

	if (!s || (atomic_fetch_add_explicit(&s->seen, 1, memory_order_relaxed) & 15) != 15)
		return false;
	tid = atomic_load_explicit(&s->tid, memory_order_relaxed);
	if (!tid || tid == maps__tid() || maps__tid_alive(tid))
		return false;
	/* Release: pairs with the consumer's acquire load of the header, as in commit. The
	 * CAS fails if the writer committed after all. */
	if (!atomic_compare_exchange_strong_explicit(
		    &hdr->len, &len, (len & ~BPFI_RINGBUF_BUSY) | BPFI_RINGBUF_DISCARD,
		    memory_order_acq_rel, memory_order_relaxed))
		return false;
	atomic_store_explicit(&s->tid, 0, memory_order_release);
	return true;
}

/* Under rb->lock: advance pending_pos over committed records (kernel 6.8+). */
static uint64_t advance_pending(struct bpfi_map_hdr *map, struct maps_ringbuf_pos *prod,
				uint64_t prod_pos)
{
	uint64_t pend = atomic_load_explicit(&prod->pending_pos, memory_order_relaxed) & ~7ull;

	/* At most a lap of the smallest records: positions a target wrote cannot keep us. */
	for (uint64_t n = 0; pend < prod_pos && n <= (rb_mask(map) + 1) / 8; n++) {
		struct ringbuf_hdr *hdr = rb_rec(map, pend);
		/* Acquire: pairs with the exchange in ringbuf_commit(). */
		uint32_t len = atomic_load_explicit(&hdr->len, memory_order_acquire);

		if ((len & BPFI_RINGBUF_BUSY) && !recover_busy(map, hdr, pend, len))
			break;
		pend += rec_span(len);
	}
	atomic_store_explicit(&prod->pending_pos, pend, memory_order_relaxed);
	return pend;
}

void *bpfi_ringbuf_reserve(struct bpfi_map_hdr *map, uint64_t size, uint64_t flags)
{
	return bpfi_ringbuf_reserve_tid(map, size, flags, 0);
}

void *bpfi_ringbuf_reserve_tid(struct bpfi_map_hdr *map, uint64_t size, uint64_t flags,
			       uint32_t tid)
{
	struct maps_ringbuf *rb = rb_of(map);
	struct maps_ringbuf_pos *cons = rb_page(map, RINGBUF_CONS_PAGE);
	struct maps_ringbuf_pos *prod = rb_page(map, RINGBUF_PROD_PAGE);
	uint64_t len, cons_pos, prod_pos, pend, pad, new_prod, mask = rb_mask(map);
	struct ringbuf_hdr *hdr;
	uint32_t me = tid ? tid : maps__tid();

	if (map->type != BPFI_MAP_RINGBUF || flags || size > (UINT32_MAX >> 2))
		return NULL;
	len = MAPS_ROUND8(size + BPFI_RINGBUF_HDR_SZ);
	if (len > mask + 1)
		return NULL;
	/* Acquire: pairs with the consumer's release store of consumer_pos (libbpf
	 * ringbuf_process_ring()), so the space it gave back is really free. */
	cons_pos = atomic_load_explicit(&cons->pos, memory_order_acquire);
	if (maps__lock_tid(&rb->lock, me))
		return NULL;
	/* Aligned, so that the padding record below has room for its header. */
	prod_pos = atomic_load_explicit(&prod->pos, memory_order_relaxed) & ~7ull;
	pend = advance_pending(map, prod, prod_pos);
	pad = (prod_pos & mask) + len > mask + 1 ? mask + 1 - (prod_pos & mask) : 0;
	new_prod = prod_pos + pad + len;
	/* The kernel's two checks: the producer stays within one lap of the consumer and of
	 * the oldest uncommitted record. */
	if (new_prod - cons_pos > mask || new_prod - pend > mask) {
		maps__unlock(&rb->lock);
		return NULL;
	}
	if (pad)
		rec_init(map, rb_rec(map, prod_pos),
			 (uint32_t)(pad - BPFI_RINGBUF_HDR_SZ) | BPFI_RINGBUF_DISCARD);
	hdr = rb_rec(map, prod_pos + pad);
	rec_init(map, hdr, (uint32_t)size | BPFI_RINGBUF_BUSY);
	slot_take(map, prod_pos + pad, me);
	/* Release: pairs with the consumer's acquire load of producer_pos; the headers above
	 * (BUSY, or the padding's DISCARD) are visible before the position that covers them. */
	atomic_store_explicit(&prod->pos, new_prod, memory_order_release);
	maps__unlock(&rb->lock);
	return hdr + 1;
}

/* The free-running position of our BUSY record at data offset @rec_pos: the latest position
 * with that offset before the producer's, which cannot lap a record still BUSY. */
static uint64_t busy_pos(struct bpfi_map_hdr *map, uint64_t rec_pos)
{
	uint64_t prod =
		atomic_load_explicit(&rb_page(map, RINGBUF_PROD_PAGE)->pos, memory_order_acquire);
	uint64_t pos = (prod & ~rb_mask(map)) + rec_pos;

	return pos >= prod ? pos - (rb_mask(map) + 1) : pos;
}

static void release_slot(struct bpfi_map_hdr *map, uint64_t pos)
{
	struct maps_ringbuf_slot *s = slot_find(map, pos);

	/* Release: pairs with the acquire loads in slot_take() and slot_find(). */
	if (s)
		atomic_store_explicit(&s->tid, 0, memory_order_release);
}

/*
 * The ring whose record header is at @hdr (a sample returned by reserve, so in the data area of
 * a ring of this arena), found through the header's pg_off, which any target can rewrite: it
 * must name a map header slot of the meta region, that map a ring, and its data area must hold
 * @hdr. NULL otherwise. @arena: this process's mapping of the arena.
 */
static struct bpfi_map_hdr *rec_map(char *arena, struct ringbuf_hdr *hdr, uint64_t *ret_rec_pos)
{
	uint32_t slot = *(volatile uint32_t *)&hdr->pg_off; /* once */
	struct bpfi_map_hdr *map = maps__meta_at(arena, (uint64_t)slot * BPFI_META_ALIGN);
	uint64_t rec_pos;

	if (!map || map->magic != BPFI_MAP_MAGIC || map->type != BPFI_MAP_RINGBUF)
		return NULL;
	rec_pos = (uint64_t)((char *)hdr - (char *)rb_rec(map, 0));
	if (rec_pos > rb_mask(map) + 1 - BPFI_RINGBUF_HDR_SZ || (rec_pos & 7))
		return NULL;
	*ret_rec_pos = rec_pos;
	return map;
}

static void ringbuf_commit(char *arena, void *sample, uint64_t flags, bool discard)
{
	struct ringbuf_hdr *hdr = (struct ringbuf_hdr *)sample - 1;
	uint64_t rec_pos = 0, cons_pos, pos;
	struct bpfi_map_hdr *map = rec_map(arena, hdr, &rec_pos);
	uint32_t new_len = atomic_load_explicit(&hdr->len, memory_order_relaxed);
	struct maps_ringbuf *rb;

	if (!map || !(new_len & BPFI_RINGBUF_BUSY))
		return; /* not a live reservation: ignore rather than corrupt the ring */
	rb = rb_of(map);
	new_len &= ~BPFI_RINGBUF_BUSY;
	if (discard)
		new_len |= BPFI_RINGBUF_DISCARD;
	pos = busy_pos(map, rec_pos);
	/* Release: pairs with the consumer's acquire load of the header (libbpf
	 * ringbuf_process_ring()) and with advance_pending(): the sample is complete. */
	atomic_exchange_explicit(&hdr->len, new_len, memory_order_acq_rel);
	/* After the commit: dying between the two leaves a stale slot, which slot_take()
	 * clears, rather than an untracked BUSY record. */
	release_slot(map, pos);

	/* Acquire: pairs with the consumer's release store of consumer_pos. */
	cons_pos =
		atomic_load_explicit(&rb_page(map, RINGBUF_CONS_PAGE)->pos, memory_order_acquire) &
		rb_mask(map);
	if ((flags & BPFI_RB_FORCE_WAKEUP) || (cons_pos == rec_pos && !(flags & BPFI_RB_NO_WAKEUP)))
		atomic_fetch_add_explicit(&rb->wakeups, 1, memory_order_release);
}

void bpfi_ringbuf_submit(char *arena, void *sample, uint64_t flags)
{
	ringbuf_commit(arena, sample, flags, false);
}

void bpfi_ringbuf_discard(char *arena, void *sample, uint64_t flags)
{
	ringbuf_commit(arena, sample, flags, true);
}

long bpfi_ringbuf_output(struct bpfi_map_hdr *map, const void *data, uint64_t size, uint64_t flags)
{
	return bpfi_ringbuf_output_tid(map, data, size, flags, 0);
}

long bpfi_ringbuf_output_tid(struct bpfi_map_hdr *map, const void *data, uint64_t size,
			     uint64_t flags, uint32_t tid)
{
	void *rec;

	if (flags & ~(uint64_t)(BPFI_RB_NO_WAKEUP | BPFI_RB_FORCE_WAKEUP))
		return -BPFI_EINVAL;
	rec = bpfi_ringbuf_reserve_tid(map, size, 0, tid);
	if (!rec)
		return -BPFI_EAGAIN;
	bpfi_memcpy(rec, data, size);
	ringbuf_commit(bpfi_map_arena_base(map), rec, flags, false);
	return 0;
}

uint64_t bpfi_ringbuf_query(struct bpfi_map_hdr *map, uint64_t flags)
{
	uint64_t cons, prod;

	if (map->type != BPFI_MAP_RINGBUF)
		return 0;
	cons = atomic_load_explicit(&rb_page(map, RINGBUF_CONS_PAGE)->pos, memory_order_acquire);
	prod = atomic_load_explicit(&rb_page(map, RINGBUF_PROD_PAGE)->pos, memory_order_acquire);
	switch (flags) {
	case BPFI_RB_AVAIL_DATA:
		return prod - cons;
	case BPFI_RB_RING_SIZE:
		return rb_mask(map) + 1;
	case BPFI_RB_CONS_POS:
		return cons;
	case BPFI_RB_PROD_POS:
		return prod;
	default:
		return 0;
	}
}

uint64_t bpfi_ringbuf_wakeups(const struct bpfi_map_hdr *map)
{
	if (map->type != BPFI_MAP_RINGBUF)
		return 0;
	/* Acquire: pairs with the release increment in ringbuf_commit(). */
	return atomic_load_explicit(&rb_of((struct bpfi_map_hdr *)map)->wakeups,
				    memory_order_acquire);
}
