// SPDX-License-Identifier: MIT
/*
 * Maps in the shared arena, part two: ring buffers and perf buffers read back by consumers
 * written here the way libbpf's ringbuf.c and perf_buffer read them, across processes.
 */
#include <check.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpfinject/arena.h>
#include <bpfinject/maps.h>

#include "tests/maps_test.h"

/* The same map in another mapping of the arena (what a second process sees). */
static struct bpfi_map_hdr *map_in(struct bpfi_arena *arena, const struct bpfi_map_hdr *map)
{
	return (void *)(bpfi_arena_base(arena) + map->self_off);
}

/* ---- ring buffer ------------------------------------------------------------------------- */

/* A consumer as libbpf's ringbuf.c is one: its own mappings of the map (consumer page RW,
 * producer page + data mapped twice RO), positions read with acquire, consumer_pos released. */
struct rb_reader {
	char *cons_map, *prod_map;
	_Atomic uint64_t *consumer_pos, *producer_pos;
	char *data;
	uint64_t mask, len;
};

static void rb_reader_open(struct rb_reader *r, struct bpfi_arena *arena, struct bpfi_map_hdr *map)
{
	int fd = bpfi_arena_fd(arena);
	uint64_t off, len, off1, len1, size = map->max_entries;
	char *p;

	ck_assert_int_eq(bpfi_map_mmap_range(map, 0, &off, &len), 0);
	ck_assert_uint_eq(len, 2 * PAGE + 2 * size);
	r->cons_map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	ck_assert_ptr_ne(r->cons_map, MAP_FAILED);
	ck_assert_int_eq(bpfi_map_mmap_range(map, 1, &off1, &len1), 0);
	ck_assert_uint_eq(off1, off + PAGE);
	ck_assert_uint_eq(len1, PAGE + 2 * size);
	/* What the runtime does for libbpf's mmap(pgoff 1): the data area twice in a row. */
	r->len = len1;
	r->prod_map = mmap(NULL, len1, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(r->prod_map, MAP_FAILED);
	p = mmap(r->prod_map, PAGE + size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, (off_t)off1);
	ck_assert_ptr_eq(p, r->prod_map);
	p = mmap(r->prod_map + PAGE + size, size, PROT_READ, MAP_SHARED | MAP_FIXED, fd,
		 (off_t)(off1 + PAGE));
	ck_assert_ptr_eq(p, r->prod_map + PAGE + size);
	r->consumer_pos = (void *)r->cons_map;
	r->producer_pos = (void *)r->prod_map;
	r->data = r->prod_map + PAGE;
	r->mask = size - 1;
}

static void rb_reader_close(struct rb_reader *r)
{
	munmap(r->cons_map, PAGE);
	munmap(r->prod_map, r->len);
}

/* libbpf ringbuf_process_ring(): returns samples consumed, calling @cb for each. */
static int rb_consume(struct rb_reader *r, void (*cb)(const void *sample, uint32_t len, void *ctx),
		      void *ctx)
{
	uint64_t cons = atomic_load_explicit(r->consumer_pos, memory_order_acquire);
	int n = 0;
	bool got;

	do {
		uint64_t prod = atomic_load_explicit(r->producer_pos, memory_order_acquire);

		got = false;
		while (cons < prod) {
			_Atomic uint32_t *lenp = (void *)(r->data + (cons & r->mask));
			uint32_t len = atomic_load_explicit(lenp, memory_order_acquire);

			if (len & BPF_RINGBUF_BUSY_BIT)
				goto done;
			got = true;
			cons += ((len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) + 8 +
				 7) /
				8 * 8;
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				cb((char *)lenp + 8, len, ctx);
				n++;
			}
			atomic_store_explicit(r->consumer_pos, cons, memory_order_release);
		}
	} while (got);
done:
	return n;
}

struct rb_expect {
	uint64_t next_seq;
	uint32_t errors;
};

/* Samples carry a sequence number and a size derived from it. */
static uint32_t seq_size(uint64_t seq)
{
	return 9 + (uint32_t)(seq * 37 % 300); /* the last byte is past the sequence number */
}

static void check_seq(const void *sample, uint32_t len, void *ctx)
{
	struct rb_expect *e = ctx;
	uint64_t seq;

	memcpy(&seq, sample, 8);
	/* Discarded sequence numbers (every 5th) never arrive. */
	while (e->next_seq % 5 == 4)
		e->next_seq++;
	if (seq != e->next_seq || len != seq_size(seq) ||
	    ((const uint8_t *)sample)[len - 1] != (uint8_t)seq) {
		e->errors++;
	}
	e->next_seq = seq + 1;
}

/* Produce sample @seq: reserve/submit, output, or reserve/discard (every 5th); every other
 * sample through the _tid calls. */
static long rb_produce(struct bpfi_map_hdr *map, uint64_t seq)
{
	uint32_t size = seq_size(seq);
	uint8_t buf[512];
	void *p;

	memset(buf, (uint8_t)seq, sizeof(buf));
	memcpy(buf, &seq, 8);
	if (seq % 5 == 1)
		return seq % 2 ? bpfi_ringbuf_output(map, buf, size, 0)
			       : bpfi_ringbuf_output_tid(map, buf, size, 0, (uint32_t)gettid());
	p = seq % 2 ? bpfi_ringbuf_reserve(map, size, 0)
		    : bpfi_ringbuf_reserve_tid(map, size, 0, (uint32_t)gettid());
	if (!p)
		return -EAGAIN;
	memcpy(p, buf, size);
	if (seq % 5 == 4)
		bpfi_ringbuf_discard(bpfi_map_arena_base(map), p, 0);
	else
		bpfi_ringbuf_submit(bpfi_map_arena_base(map), p, 0);
	return 0;
}

static void count_cb(const void *sample, uint32_t len, void *ctx)
{
	*(uint32_t *)ctx += len;
}

START_TEST(ringbuf_semantics)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	struct rb_reader r;
	uint32_t *hdr, total = 0;
	void *p, *q;
	int n;

	rb_reader_open(&r, arena, map);
	ck_assert_uint_eq(bpfi_ringbuf_query(map, BPF_RB_RING_SIZE), 4096);
	ck_assert_ptr_null(bpfi_ringbuf_reserve(map, 8, 1));
	ck_assert_ptr_null(bpfi_ringbuf_reserve(map, 4096, 0));
	p = bpfi_ringbuf_reserve(map, 13, 0);
	ck_assert_ptr_nonnull(p);
	hdr = (uint32_t *)p - 2;
	ck_assert_uint_eq(hdr[0], 13 | BPF_RINGBUF_BUSY_BIT);
	/* pg_off leads back to the map: its header's slot in the meta region. */
	ck_assert_ptr_eq(bpfi_arena_base(arena) + (uint64_t)hdr[1] * BPFI_META_ALIGN, (char *)map);
	ck_assert_uint_eq(bpfi_ringbuf_query(map, BPF_RB_AVAIL_DATA), 24);
	ck_assert_uint_eq(bpfi_ringbuf_query(map, BPF_RB_PROD_POS), 24);
	q = bpfi_ringbuf_reserve(map, 8, 0);
	ck_assert_ptr_nonnull(q);
	bpfi_ringbuf_submit(bpfi_arena_base(arena), q, 0);
	ck_assert_int_eq(rb_consume(&r, count_cb, &total), 0); /* blocked by the BUSY one */
	bpfi_ringbuf_discard(bpfi_arena_base(arena), p, 0);
	ck_assert_uint_eq(hdr[0], 13 | BPF_RINGBUF_DISCARD_BIT);
	ck_assert_int_eq(rb_consume(&r, count_cb, &total), 1);
	ck_assert_uint_eq(total, 8);
	ck_assert_uint_eq(bpfi_ringbuf_query(map, BPF_RB_CONS_POS), 40);
	ck_assert_int_eq(bpfi_ringbuf_output(map, &total, 4, 4), -EINVAL);
	ck_assert_int_eq(bpfi_ringbuf_output(map, &total, 4, BPF_RB_FORCE_WAKEUP), 0);
	ck_assert_uint_ge(bpfi_ringbuf_wakeups(map), 1);
	/* Full: the producer stays less than one lap ahead of the consumer. */
	n = 0;
	while ((p = bpfi_ringbuf_reserve(map, 120, 0)))
		n++;
	ck_assert_int_eq(n, (4096 - 16) / 128);
	while (bpfi_ringbuf_output(map, &total, 4, 0) == 0)
		n++;
	ck_assert_int_eq(bpfi_ringbuf_output(map, &total, 4, 0), -EAGAIN);
	ck_assert_uint_le(bpfi_ringbuf_query(map, BPF_RB_AVAIL_DATA), 4095);
	ck_assert_uint_gt(bpfi_ringbuf_query(map, BPF_RB_AVAIL_DATA), 4095 - 16);
	rb_reader_close(&r);
	bpfi_arena_free(arena);
}
END_TEST

START_TEST(ringbuf_wraps)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_RINGBUF, 0, 0, 8192, 0);
	struct rb_expect e = { 0 };
	struct rb_reader r;
	uint64_t seq = 0;

	rb_reader_open(&r, arena, map);
	/* Many laps: reading only when full exercises full -> drain -> wrap. */
	while (seq < 5000) {
		if (rb_produce(map, seq) == 0) {
			seq++;
			continue;
		}
		rb_consume(&r, check_seq, &e);
		ck_assert_uint_eq(bpfi_ringbuf_query(map, BPF_RB_AVAIL_DATA), 0);
	}
	rb_consume(&r, check_seq, &e);
	ck_assert_uint_eq(e.errors, 0);
	ck_assert_uint_ge(e.next_seq, 4999);
	ck_assert_uint_gt(bpfi_ringbuf_query(map, BPF_RB_PROD_POS), 10 * 8192);
	ck_assert_uint_eq(bpfi_ringbuf_query(map, BPF_RB_AVAIL_DATA), 0);
	rb_reader_close(&r);
	bpfi_arena_free(arena);
}
END_TEST

START_TEST(ringbuf_two_processes)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_RINGBUF, 0, 0, 16384, 0);
	const uint64_t total = 50000;
	struct rb_expect e = { 0 };
	struct rb_reader r;
	uint64_t t0 = test_now_ns();
	pid_t pid;
	int st;

	rb_reader_open(&r, arena, map);
	pid = fork();
	if (pid < 0)
		ck_abort_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		struct bpfi_arena *a = NULL;
		struct bpfi_map_hdr *m;

		if (bpfi_arena_open_fd(bpfi_arena_fd(arena), &a, NULL))
			_exit(1);
		m = map_in(a, map);
		for (uint64_t seq = 0; seq < total;) {
			if (rb_produce(m, seq) == 0)
				seq++;
			else
				sched_yield();
		}
		_exit(0);
	}
	while (e.next_seq < total - 1 && test_now_ns() - t0 < 30000000000ull) {
		if (!rb_consume(&r, check_seq, &e))
			sched_yield();
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(st, 0);
	rb_consume(&r, check_seq, &e);
	ck_assert_uint_eq(e.errors, 0);
	ck_assert_uint_ge(e.next_seq, total - 1);
	rb_reader_close(&r);
	bpfi_arena_free(arena);
}
END_TEST

/* A writer killed between reserve and submit does not block the consumer forever: later
 * reservations discard its record once they find its writer gone. */
START_TEST(ringbuf_dead_writer)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_RINGBUF, 0, 0, 8192, 0);
	uint32_t got = 0, dead_len;
	struct rb_reader r;
	int fds[2];
	char c;
	pid_t pid;

	rb_reader_open(&r, arena, map);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	if (pid < 0)
		ck_abort_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		void *p = bpfi_ringbuf_reserve(map, 100, 0);

		if (write(fds[1], p ? "y" : "n", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	close(fds[0]);
	close(fds[1]);
	memcpy(&dead_len, r.data, 4);
	ck_assert_uint_eq(dead_len, 100 | BPF_RINGBUF_BUSY_BIT);
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(bpfi_ringbuf_output(map, &i, sizeof(i), 0), 0);
	ck_assert_int_eq(rb_consume(&r, count_cb, &got), 40);
	memcpy(&dead_len, r.data, 4);
	ck_assert_uint_eq(dead_len, 100 | BPF_RINGBUF_DISCARD_BIT);
	ck_assert_uint_eq(bpfi_ringbuf_query(map, BPF_RB_AVAIL_DATA), 0);
	rb_reader_close(&r);
	bpfi_arena_free(arena);
}
END_TEST

/* ---- perf buffers ------------------------------------------------------------------------ */

struct pb_reader {
	struct perf_event_mmap_page *page;
	char *base;
	uint64_t size;
	uint64_t lost;
	uint64_t samples;
	uint32_t errors;
	uint64_t next_seq;
};

/* Check a sample the way bpf_perf_event_output's callers see it through libbpf. */
static void pb_sample(struct pb_reader *r, const struct perf_event_header *eh)
{
	struct {
		struct perf_event_header header;
		uint32_t size;
		char data[];
	} const *s = (const void *)eh;
	uint64_t seq;
	uint32_t want;

	memcpy(&seq, s->data, 8);
	want = seq_size(seq);
	if (s->size != ((want + 4 + 7) & ~7u) - 4 || eh->size != 8 + 4 + s->size ||
	    seq < r->next_seq || (uint8_t)s->data[want - 1] != (uint8_t)seq) {
		r->errors++;
	}
	r->next_seq = seq + 1;
	r->samples++;
}

/* libbpf perf_event_read_simple(): records that wrap are copied out first. */
static void pb_consume(struct pb_reader *r)
{
	_Atomic uint64_t *headp = (_Atomic uint64_t *)&r->page->data_head;
	_Atomic uint64_t *tailp = (_Atomic uint64_t *)&r->page->data_tail;
	uint64_t head = atomic_load_explicit(headp, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(tailp, memory_order_relaxed);
	static char copy[65536];

	while (tail != head) {
		struct perf_event_header *eh = (void *)(r->base + (tail & (r->size - 1)));
		size_t ehs = eh->size;

		if ((char *)eh + ehs > r->base + r->size) {
			size_t len_first = (size_t)(r->base + r->size - (char *)eh);

			memcpy(copy, eh, len_first);
			memcpy(copy + len_first, r->base, ehs - len_first);
			eh = (void *)copy;
		}
		if (eh->type == PERF_RECORD_SAMPLE) {
			pb_sample(r, eh);
		} else if (eh->type == PERF_RECORD_LOST) {
			struct {
				struct perf_event_header header;
				uint64_t id, lost;
			} const *l = (const void *)eh;

			r->lost += l->lost;
		} else {
			r->errors++;
		}
		tail += ehs;
	}
	atomic_store_explicit(tailp, tail, memory_order_release);
}

START_TEST(perf_buffer_records)
{
	struct bpfi_arena *arena = test_arena_new();
	struct bpfi_map_hdr *map = test_map_new(arena, BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 2, 0);
	struct pb_reader r = { 0 };
	uint64_t off, seq = 0, drops = 0;
	uint8_t buf[512];
	char *m;

	ck_assert_int_eq(bpfi_perfbuf_new(arena, 3, &off, NULL), -EINVAL);
	ck_assert_int_eq(bpfi_perfbuf_new(arena, 2, &off, NULL), 0);
	ck_assert_uint_eq(off % PAGE, 0);
	/* The reader's mapping of the perf fd: header page + data pages. */
	m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, bpfi_arena_fd(arena),
		 (off_t)off);
	ck_assert_ptr_ne(m, MAP_FAILED);
	r.page = (void *)m;
	ck_assert_uint_eq(r.page->data_offset, PAGE);
	ck_assert_uint_eq(r.page->data_size, 2 * PAGE);
	r.base = m + r.page->data_offset;
	r.size = r.page->data_size;
	ck_assert_int_eq(bpfi_perf_event_output(map, BPF_F_CURRENT_CPU, 0, buf, 8), -ENOENT);
	ck_assert_int_eq(bpfi_perf_array_set(map, 0, off), 0);
	ck_assert_int_eq(bpfi_perf_array_set(map, 2, off), -E2BIG);
	ck_assert_int_eq(bpfi_perf_event_output(map, 1, 0, buf, 8), -ENOENT);
	ck_assert_int_eq(bpfi_perf_event_output(map, 2, 0, buf, 8), -E2BIG);
	ck_assert_int_eq(bpfi_perf_event_output(map, 1ull << 33, 0, buf, 8), -EINVAL);
	/* Many laps of odd-sized records; read every few writes, sometimes only when full. */
	for (int i = 0; seq < 3000; i++) {
		uint32_t size = seq_size(seq);
		long err;

		memset(buf, (uint8_t)seq, sizeof(buf));
		memcpy(buf, &seq, 8);
		err = seq % 2 ? bpfi_perf_event_output(map, BPF_F_CURRENT_CPU, 0, buf, size)
			      : bpfi_perf_event_output_tid(map, BPF_F_CURRENT_CPU, 0, buf, size,
							   (uint32_t)gettid());
		if (err == -ENOSPC) {
			drops++;
			if (drops % 3 == 0)
				pb_consume(&r);
			seq++; /* a drop loses this sample; the next one comes after it */
			continue;
		}
		ck_assert_int_eq(err, 0);
		seq++;
		if (i % 7 == 0 && seq < 1000) /* later, read only after drops: LOST records */
			pb_consume(&r);
	}
	pb_consume(&r);
	/* Dropped samples are reported by a PERF_RECORD_LOST once there is room. */
	memset(buf, (uint8_t)seq, sizeof(buf));
	memcpy(buf, &seq, 8);
	ck_assert_int_eq(bpfi_perf_event_output(map, 0, 1, buf, seq_size(seq)), 0);
	pb_consume(&r);
	ck_assert_uint_eq(r.errors, 0);
	ck_assert_uint_gt(drops, 0);
	ck_assert_uint_eq(r.lost, drops);
	ck_assert_uint_eq(r.samples + r.lost, 3001);
	ck_assert_uint_eq(bpfi_perf_array_set(map, 0, 0), 0);
	ck_assert_int_eq(bpfi_perf_event_output(map, 0, 0, buf, 8), -ENOENT);
	munmap(m, 3 * PAGE);
	bpfi_arena_free(arena);
}
END_TEST

TCase *maps_buffers_tcase(void)
{
	TCase *tc = tcase_create("buffers");

	tcase_set_timeout(tc, 100);
	tcase_add_test(tc, ringbuf_semantics);
	tcase_add_test(tc, ringbuf_wraps);
	tcase_add_test(tc, ringbuf_two_processes);
	tcase_add_test(tc, ringbuf_dead_writer);
	tcase_add_test(tc, perf_buffer_records);
	return tc;
}
