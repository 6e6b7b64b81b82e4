// SPDX-License-Identifier: MIT
/*
 * Perf events, links, mmap and epoll of the userspace bpf(2), driven by the real libbpf on a
 * clang-built object: perf and ring buffers consumed by libbpf's own readers, uprobe and
 * tracepoint attachments recorded, the kernel's error answers.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/runtime.h>

#include "common/compiler.h"

#define PAGE	      4096
#define EVENT_PAYLOAD 48
#define EVENT_MAGIC   0xfeedbeefu
#define RING_SIZE     (4 * PAGE)

Suite *events_suite(void);
int events_target_fn(int x);

/* Layout of struct event in tests/bpf/events.bpf.c. */
struct event {
	uint32_t seq;
	uint32_t magic;
	uint8_t payload[EVENT_PAYLOAD];
};

static struct bpf_object *obj;
/* Opened as a skeleton: libbpf 1.1 maps .bss/.rodata over the map fds only on that path. */
static struct bpf_object_skeleton *skel;
static void *skel_bss, *skel_rodata;
static void *obj_data;

/* The uprobe target: a real function of this binary, kept out of line. */
_noinline_ int events_target_fn(int x)
{
	return x * 3 + 1;
}

_printf_(2, 0) static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN || getenv("BPFI_TEST_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static void *read_file(const char *path, size_t *ret_size)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	ck_assert_msg(f, "open %s: %d", path, errno);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*ret_size = (size_t)size;
	return buf;
}

static void setup(void)
{
	static struct bpf_map_skeleton maps[2];
	const char *build = getenv("BPFI_BUILD_DIR");
	char path[1024];
	cpu_set_t cpus;
	int err;

	/* BPF_F_CURRENT_CPU: one CPU keeps the records of a test in one buffer, in order. */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	libbpf_set_print(quiet_print);
	err = bpfi_runtime_init(NULL, NULL);
	ck_assert_int_eq(err, 0);
	snprintf(path, sizeof(path), "%s/tests/bpf/events.bpf.o", build ? build : ".");

	/* What bpftool gen skeleton emits, by hand. */
	skel = calloc(1, sizeof(*skel));
	ck_assert_ptr_nonnull(skel);
	skel->sz = sizeof(*skel);
	skel->name = "events";
	skel->obj = &obj;
	skel->data = obj_data = read_file(path, &skel->data_sz);
	maps[0] = (struct bpf_map_skeleton){ .name = ".bss", .mmaped = &skel_bss };
	maps[1] = (struct bpf_map_skeleton){ .name = ".rodata", .mmaped = &skel_rodata };
	for (int i = 0; i < 2; i++)
		maps[i].map = calloc(1, sizeof(struct bpf_map *));
	skel->map_cnt = 2;
	skel->map_skel_sz = sizeof(maps[0]);
	skel->maps = maps;
	err = bpf_object__open_skeleton(skel, NULL);
	ck_assert_msg(err == 0, "open %s: %d", path, err);
	err = bpf_object__load_skeleton(skel);
	ck_assert_msg(err == 0, "bpf_object__load_skeleton: %d", err);
}

static void teardown(void)
{
	bpf_object__close(obj);
	obj = NULL;
	for (uint32_t i = 0; skel && i < (uint32_t)skel->map_cnt; i++)
		free(skel->maps[i].map);
	free(skel);
	skel = NULL;
	free(obj_data);
	bpfi_runtime_fini();
}

static int prog_fd(const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);

	ck_assert_msg(prog, "no program %s", name);
	return bpf_program__fd(prog);
}

static struct bpf_program *prog_of(const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);

	ck_assert_msg(prog, "no program %s", name);
	return prog;
}

static uint32_t prog_id(const char *name)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	ck_assert_int_eq(bpf_obj_get_info_by_fd(prog_fd(name), &info, &len), 0);
	return info.id;
}

static int map_fd(const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);

	ck_assert_msg(map, "no map %s", name);
	return bpf_map__fd(map);
}

static void run_prog(const char *name, int times)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts);
	int fd = prog_fd(name);

	for (int i = 0; i < times; i++) {
		int err = bpf_prog_test_run_opts(fd, &topts);

		ck_assert_msg(err == 0, "test run %s: %d", name, err);
	}
}

/* A global of .bss, found through the object's BTF, in libbpf's mmapped copy of the map. */
static void *bss_var(const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, ".bss");
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	size_t size;
	char *base;
	int id;

	ck_assert_ptr_nonnull(map);
	base = skel_bss;
	ck_assert_ptr_nonnull(base);
	/* libbpf's own view is the same shared mapping. */
	ck_assert_ptr_eq(bpf_map__initial_value(map, &size), base);
	id = btf__find_by_name_kind(btf, ".bss", BTF_KIND_DATASEC);
	ck_assert_int_gt(id, 0);
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);

		if (!strcmp(btf__name_by_offset(btf, var->name_off), name))
			return base + vs->offset;
	}
	ck_abort_msg("no .bss variable %s", name);
	return NULL;
}

static void xclose(int fd)
{
	bool handled;

	bpfi_runtime_close(fd, &handled);
	if (!handled)
		close(fd);
}

/* Records received by the libbpf consumers: in order, intact. */
struct rx {
	int64_t last; /* last sequence number seen, -1 before the first */
	uint32_t got;
	uint64_t lost;
	char bad[160];
};

static void check_event(struct rx *rx, const void *data, uint32_t size)
{
	const struct event *e = data;

	if (rx->bad[0])
		return;
	if (size < sizeof(*e)) {
		snprintf(rx->bad, sizeof(rx->bad), "record of %u bytes", size);
		return;
	}
	if (e->magic != EVENT_MAGIC || (int64_t)e->seq <= rx->last) {
		snprintf(rx->bad, sizeof(rx->bad), "seq %u after %lld, magic %#x", e->seq,
			 (long long)rx->last, e->magic);
		return;
	}
	for (int i = 0; i < EVENT_PAYLOAD; i++) {
		if (e->payload[i] != (uint8_t)(e->seq + i)) {
			snprintf(rx->bad, sizeof(rx->bad), "seq %u: payload[%d] %u", e->seq, i,
				 e->payload[i]);
			return;
		}
	}
	rx->last = e->seq;
	rx->got++;
}

static void on_perf_sample(void *ctx, int cpu, void *data, __u32 size)
{
	check_event(ctx, data, size);
}

static void on_perf_lost(void *ctx, int cpu, __u64 cnt)
{
	((struct rx *)ctx)->lost += cnt;
}

static int on_ring_sample(void *ctx, void *data, size_t size)
{
	check_event(ctx, data, (uint32_t)size);
	return 0;
}

/* Polls until @want records (and losses) arrived or the polls run out. */
static void perf_drain(struct perf_buffer *pb, struct rx *rx, uint64_t want)
{
	for (int i = 0; i < 50 && rx->got + rx->lost < want; i++)
		ck_assert_int_ge(perf_buffer__poll(pb, 100), 0);
}

START_TEST(test_perfbuf_records)
{
	struct rx rx = { .last = -1 };
	struct perf_buffer *pb;

	pb = perf_buffer__new(map_fd("perf_events"), 8, on_perf_sample, on_perf_lost, &rx, NULL);
	ck_assert_msg(pb, "perf_buffer__new: %d", -errno);
	run_prog("emit_perf", 200);
	perf_drain(pb, &rx, 200);
	ck_assert_msg(!rx.bad[0], "%s", rx.bad);
	ck_assert_uint_eq(rx.got, 200);
	ck_assert_uint_eq(rx.lost, 0);
	ck_assert_int_eq(rx.last, 199);
	/* Nothing more: a poll times out empty. */
	ck_assert_int_eq(perf_buffer__poll(pb, 20), 0);
	perf_buffer__free(pb);
}
END_TEST

/* One data page holds ~56 records: the rest are counted lost and reported by libbpf. */
START_TEST(test_perfbuf_lost)
{
	struct rx rx = { .last = -1 };
	struct perf_buffer *pb;

	pb = perf_buffer__new(map_fd("perf_events"), 1, on_perf_sample, on_perf_lost, &rx, NULL);
	ck_assert_msg(pb, "perf_buffer__new: %d", -errno);
	run_prog("emit_perf", 200);
	perf_drain(pb, &rx, 200);
	/* The kernel reports a loss with the next record that fits: send one. */
	run_prog("emit_perf", 1);
	perf_drain(pb, &rx, 201);
	ck_assert_msg(!rx.bad[0], "%s", rx.bad);
	ck_assert_uint_gt(rx.got, 1);
	ck_assert_uint_gt(rx.lost, 0);
	ck_assert_uint_eq(rx.got + rx.lost, 201);
	ck_assert_int_eq(rx.last, 200);
	perf_buffer__free(pb);
}
END_TEST

START_TEST(test_ringbuf_records)
{
	struct rx rx = { .last = -1 };
	struct ring_buffer *rb;
	uint64_t *dropped = bss_var("ring_dropped");

	rb = ring_buffer__new(map_fd("ring"), on_ring_sample, &rx, NULL);
	ck_assert_msg(rb, "ring_buffer__new: %d", -errno);
	run_prog("emit_ring", 50);
	run_prog("emit_discard", 3);
	run_prog("emit_ring", 50);
	for (int i = 0; i < 20 && rx.got < 100; i++)
		ck_assert_int_ge(ring_buffer__poll(rb, 100), 0);
	ck_assert_msg(!rx.bad[0], "%s", rx.bad);
	ck_assert_uint_eq(rx.got, 100);
	ck_assert_int_eq(rx.last, 99);
	ck_assert_uint_eq(*dropped, 0);
	ck_assert_int_eq(ring_buffer__poll(rb, 20), 0);
	ring_buffer__free(rb);
}
END_TEST

/* A full ring refuses reservations: what the program counted dropped never arrives. */
START_TEST(test_ringbuf_overflow)
{
	struct rx rx = { .last = -1 };
	struct ring_buffer *rb;
	uint64_t *dropped = bss_var("ring_dropped");
	uint32_t total = RING_SIZE / 64 + 100;

	rb = ring_buffer__new(map_fd("ring"), on_ring_sample, &rx, NULL);
	ck_assert_msg(rb, "ring_buffer__new: %d", -errno);
	run_prog("emit_ring", (int)total);
	ck_assert_uint_gt(*dropped, 0);
	ck_assert_int_ge(ring_buffer__consume(rb), 0);
	ck_assert_msg(!rx.bad[0], "%s", rx.bad);
	ck_assert_uint_eq(rx.got + *dropped, total);
	/* Consumed: there is room again. */
	run_prog("emit_ring", 1);
	ck_assert_int_eq(ring_buffer__poll(rb, 100), 1);
	ck_assert_int_eq(rx.last, total);
	ring_buffer__free(rb);
}
END_TEST

static void *emit_later(void *arg)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts);

	usleep(50 * 1000);
	bpf_prog_test_run_opts(*(int *)arg, &topts);
	return NULL;
}

/* epoll_wait(…, timeout) sleeps, yet wakes up soon after a record arrives. */
START_TEST(test_ringbuf_epoll_wakeup)
{
	struct rx rx = { .last = -1 };
	struct ring_buffer *rb;
	struct timespec t0, t1;
	pthread_t thread;
	int fd = prog_fd("emit_ring");
	double ms;

	rb = ring_buffer__new(map_fd("ring"), on_ring_sample, &rx, NULL);
	ck_assert_ptr_nonnull(rb);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(ring_buffer__poll(rb, 30), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_msg(ms >= 25 && ms < 1000, "empty poll took %.1f ms", ms);

	ck_assert_int_eq(pthread_create(&thread, NULL, emit_later, &fd), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(ring_buffer__poll(rb, 5000), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(thread, NULL);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_msg(ms < 1000, "woke after %.1f ms", ms);
	ck_assert_uint_eq(rx.got, 1);
	ring_buffer__free(rb);
}
END_TEST

/* epoll_ctl/epoll_wait on a ring buffer fd next to a pipe, as the kernel answers them. */
START_TEST(test_epoll_ctl)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, out[4];
	struct epoll_event pev = { .events = EPOLLIN, .data.u64 = 7 };
	int ep = epoll_create1(EPOLL_CLOEXEC), ring = map_fd("ring"), pipefd[2];
	struct ring_buffer *rb;
	struct rx rx = { .last = -1 };

	ck_assert_int_ge(ep, 0);
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, ring, &ev), 0);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, ring, &ev), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(epoll_ctl(pipefd[0], EPOLL_CTL_ADD, ring, &ev), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &pev), 0);
	ck_assert_int_eq(epoll_wait(ep, out, 4, 0), 0);

	run_prog("emit_ring", 1);
	ck_assert_int_eq(epoll_wait(ep, out, 4, 100), 1);
	ck_assert_uint_eq(out[0].data.u64, 42);
	ck_assert_uint_eq(out[0].events, EPOLLIN);
	/* Level-triggered: still readable until consumed. */
	ck_assert_int_eq(write(pipefd[1], "x", 1), 1);
	ck_assert_int_eq(epoll_wait(ep, out, 4, 100), 2);
	ck_assert_uint_eq(out[0].data.u64 + out[1].data.u64, 49);

	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_DEL, ring, NULL), 0);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_DEL, ring, NULL), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_MOD, ring, &ev), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(epoll_wait(ep, out, 4, 0), 1);
	ck_assert_uint_eq(out[0].data.u64, 7);

	/* Edge-triggered: reported once per arrival. */
	ev.events = EPOLLIN | EPOLLET;
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_DEL, pipefd[0], NULL), 0);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, ring, &ev), 0);
	ck_assert_int_eq(epoll_wait(ep, out, 4, 100), 1);
	ck_assert_int_eq(epoll_wait(ep, out, 4, 30), 0);
	run_prog("emit_ring", 1);
	ck_assert_int_eq(epoll_wait(ep, out, 4, 100), 1);

	/* A closed epoll forgets it: a new instance (maybe the same number) can add it again. */
	close(ep);
	rb = ring_buffer__new(ring, on_ring_sample, &rx, NULL);
	ck_assert_ptr_nonnull(rb);
	ck_assert_int_eq(ring_buffer__poll(rb, 100), 2);
	ring_buffer__free(rb);
	rb = ring_buffer__new(ring, on_ring_sample, &rx, NULL);
	ck_assert_ptr_nonnull(rb);
	ck_assert_int_eq(ring_buffer__poll(rb, 20), 0);
	ring_buffer__free(rb);
	ck_assert_uint_eq(rx.got, 2);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

/* Closing the last fd of a ring buffer takes it out of every epoll, as releasing the file does. */
START_TEST(test_epoll_close)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1 };
	int ep = epoll_create1(EPOLL_CLOEXEC), a, b;

	a = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "ring_a", 0, 0, RING_SIZE, NULL);
	ck_assert_int_ge(a, 3);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev), 0);
	close(a);
	b = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "ring_b", 0, 0, RING_SIZE, NULL);
	ck_assert_int_eq(b, a); /* the lowest free number: the same */
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_MOD, b, &ev), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev), 0);
	ck_assert_int_eq(epoll_wait(ep, &ev, 1, 0), 0);
	close(b);
	close(ep);
}
END_TEST

/* The data area is mapped twice back to back; only the consumer page may be writable. */
START_TEST(test_ringbuf_mmap)
{
	int fd = map_fd("ring");
	bool handled;
	char *prod;

	prod = bpfi_runtime_mmap(NULL, PAGE + 2 * RING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
				 PAGE, &handled);
	ck_assert(handled);
	ck_assert_int_eq((long)prod, -EPERM);
	prod = bpfi_runtime_mmap(NULL, PAGE + 2 * RING_SIZE, PROT_READ, MAP_PRIVATE, fd, PAGE,
				 &handled);
	ck_assert_int_eq((long)prod, -EINVAL);
	prod = bpfi_runtime_mmap(NULL, PAGE + 3 * RING_SIZE, PROT_READ, MAP_SHARED, fd, PAGE,
				 &handled);
	ck_assert_int_eq((long)prod, -EINVAL);

	prod = mmap(NULL, PAGE + 2 * RING_SIZE, PROT_READ, MAP_SHARED, fd, PAGE);
	ck_assert_ptr_ne(prod, MAP_FAILED);
	run_prog("emit_ring", 10);
	ck_assert_uint_eq(*(uint64_t *)(void *)prod, 10 * 64);
	ck_assert_int_eq(memcmp(prod + PAGE, prod + PAGE + RING_SIZE, RING_SIZE), 0);
	ck_assert_int_eq(((struct event *)(void *)(prod + PAGE + 8 + 64))->seq, 1);
	/* The kernel clears VM_MAYWRITE: it cannot be made writable later either. */
	ck_assert_int_ne(mprotect(prod, PAGE, PROT_READ | PROT_WRITE), 0);
	ck_assert_int_eq(munmap(prod, PAGE + 2 * RING_SIZE), 0);
}
END_TEST

/* libbpf mmaps .bss over the map: the program and user space share the very same bytes. */
START_TEST(test_bss_shared)
{
	uint64_t *in = bss_var("bss_in"), *out = bss_var("bss_out"), *hits = bss_var("hits");
	struct bpf_map *bss = bpf_object__find_map_by_name(obj, ".bss");
	char *base = skel_bss;
	uint32_t key = 0;
	char value[64];

	*in = 20;
	run_prog("touch_bss", 1);
	ck_assert_uint_eq(*out, 41);
	ck_assert_uint_eq(*hits, 1);
	*in = 1000;
	run_prog("touch_bss", 2);
	ck_assert_uint_eq(*out, 2001);
	ck_assert_uint_eq(*hits, 3);
	/* The syscall side sees the same value. */
	ck_assert_uint_le(bpf_map__value_size(bss), sizeof(value));
	ck_assert_int_eq(bpf_map_lookup_elem(bpf_map__fd(bss), &key, value), 0);
	ck_assert_int_eq(memcmp(value + ((char *)out - base), out, 8), 0);
}
END_TEST

/* .rodata is frozen: PROT_WRITE is -EPERM, PROT_READ shows the initial image. */
START_TEST(test_rodata_frozen)
{
	struct bpf_map *ro = bpf_object__find_map_by_name(obj, ".rodata");
	bool handled;
	void *p;

	ck_assert_ptr_nonnull(ro);
	/* libbpf's own read-only mapping (load_skeleton) shows the frozen image. */
	ck_assert_ptr_nonnull(skel_rodata);
	ck_assert_uint_eq(*(const uint32_t *)skel_rodata, EVENT_MAGIC);
	p = bpfi_runtime_mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(ro), 0,
			      &handled);
	ck_assert(handled);
	ck_assert_int_eq((long)p, -EPERM);
	p = bpfi_runtime_mmap(NULL, PAGE, PROT_READ, MAP_SHARED, bpf_map__fd(ro), 0, &handled);
	ck_assert(!((unsigned long)p > -4096UL));
	ck_assert_uint_eq(*(uint32_t *)p, EVENT_MAGIC);
	ck_assert_int_ne(mprotect(p, PAGE, PROT_READ | PROT_WRITE), 0);
	ck_assert_int_eq(bpfi_runtime_munmap(p, PAGE, &handled), 0);
	ck_assert(handled);
	/* Not ours any more: left to the caller. */
	bpfi_runtime_munmap(p, PAGE, &handled);
	ck_assert(!handled);
}
END_TEST

struct mmap_case {
	const char *descr;
	enum bpf_map_type type;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	size_t len;
	int prot;
	int flags;
	off_t off;
	int expect; /* 0: mapped */
};

#define RW (PROT_READ | PROT_WRITE)

/* bpf_map_mmap(), array_map_mmap() and ringbuf_map_mmap_kern() answers. */
static const struct mmap_case mmap_cases[] = {
	{ "mmapable array", BPF_MAP_TYPE_ARRAY, 8, 1024, BPF_F_MMAPABLE, 2 * PAGE, RW, MAP_SHARED,
	  0, 0 },
	{ "second page alone", BPF_MAP_TYPE_ARRAY, 8, 1024, BPF_F_MMAPABLE, PAGE, RW, MAP_SHARED,
	  PAGE, 0 },
	{ "past the values", BPF_MAP_TYPE_ARRAY, 8, 1024, BPF_F_MMAPABLE, 3 * PAGE, RW, MAP_SHARED,
	  0, -EINVAL },
	{ "offset past the values", BPF_MAP_TYPE_ARRAY, 8, 1024, BPF_F_MMAPABLE, PAGE, RW,
	  MAP_SHARED, 2 * PAGE, -EINVAL },
	{ "private mapping", BPF_MAP_TYPE_ARRAY, 8, 1024, BPF_F_MMAPABLE, PAGE, RW, MAP_PRIVATE, 0,
	  -EINVAL },
	{ "unaligned offset", BPF_MAP_TYPE_ARRAY, 8, 1024, BPF_F_MMAPABLE, PAGE, RW, MAP_SHARED,
	  100, -EINVAL },
	{ "array without MMAPABLE", BPF_MAP_TYPE_ARRAY, 8, 1024, 0, PAGE, RW, MAP_SHARED, 0,
	  -EINVAL },
	{ "read-only-prog array writable", BPF_MAP_TYPE_ARRAY, 8, 16,
	  BPF_F_MMAPABLE | BPF_F_RDONLY_PROG, PAGE, RW, MAP_SHARED, 0, -EACCES },
	{ "read-only-prog array readable", BPF_MAP_TYPE_ARRAY, 8, 16,
	  BPF_F_MMAPABLE | BPF_F_RDONLY_PROG, PAGE, PROT_READ, MAP_SHARED, 0, 0 },
	{ "hash map", BPF_MAP_TYPE_HASH, 8, 16, 0, PAGE, PROT_READ, MAP_SHARED, 0, -ENODEV },
	{ "ringbuf consumer page", BPF_MAP_TYPE_RINGBUF, 0, RING_SIZE, 0, PAGE, RW, MAP_SHARED, 0,
	  0 },
	{ "ringbuf consumer and more, writable", BPF_MAP_TYPE_RINGBUF, 0, RING_SIZE, 0, 2 * PAGE,
	  RW, MAP_SHARED, 0, -EPERM },
	{ "ringbuf everything read-only", BPF_MAP_TYPE_RINGBUF, 0, RING_SIZE, 0,
	  2 * PAGE + 2 * RING_SIZE, PROT_READ, MAP_SHARED, 0, 0 },
	{ "ringbuf data writable", BPF_MAP_TYPE_RINGBUF, 0, RING_SIZE, 0, PAGE, RW, MAP_SHARED,
	  2 * PAGE, -EPERM },
};

START_TEST(test_mmap_rules)
{
	const struct mmap_case *c = &mmap_cases[_i];
	uint32_t key_size = c->type == BPF_MAP_TYPE_RINGBUF ? 0 : 4;
	bool handled;
	char *p;
	int fd;

	fd = bpf_map_create(c->type, "mmap_case", key_size, c->value_size, c->max_entries,
			    &(struct bpf_map_create_opts){ .sz = sizeof(struct bpf_map_create_opts),
							   .map_flags = c->map_flags });
	ck_assert_msg(fd >= 3, "%s: map create %d", c->descr, fd);
	p = bpfi_runtime_mmap(NULL, c->len, c->prot, c->flags, fd, c->off, &handled);
	ck_assert(handled);
	if (c->expect) {
		ck_assert_msg((long)p == c->expect, "%s: %ld, want %d", c->descr, (long)p,
			      c->expect);
	} else {
		ck_assert_msg((unsigned long)p < -4096UL, "%s: %ld", c->descr, (long)p);
		/* Every page is backed: touch them all. */
		for (size_t i = 0; i < c->len; i += PAGE)
			ck_assert_int_eq(((volatile char *)p)[i], ((volatile char *)p)[i]);
		ck_assert_int_eq(bpfi_runtime_munmap(p, c->len, &handled), 0);
	}
	xclose(fd);
}
END_TEST

static int perf_open(struct perf_event_attr *attr, pid_t pid, int cpu, unsigned long flags)
{
	return (int)bpfi_runtime_perf_event_open(attr, pid, cpu, -1, flags);
}

static int output_event(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_BPF_OUTPUT,
		.sample_type = PERF_SAMPLE_RAW,
		.sample_period = 1,
		.wakeup_events = 1,
	};

	return perf_open(&attr, -1, 0, PERF_FLAG_FD_CLOEXEC);
}

/* Perf buffers: 1 + 2^n pages at offset 0, the same size at every mmap of an event. */
START_TEST(test_perf_mmap)
{
	struct perf_event_mmap_page *pp, *pq;
	int fd = output_event();
	bool handled;
	char *p, *q;

	ck_assert_int_ge(fd, 3);
	ck_assert_int_eq(fcntl(fd, F_GETFD), FD_CLOEXEC);
	p = bpfi_runtime_mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, &handled);
	ck_assert_int_eq((long)p, -EINVAL);
	p = bpfi_runtime_mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE,
			      &handled);
	ck_assert_int_eq((long)p, -EINVAL);
	p = bpfi_runtime_mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, &handled);
	ck_assert(handled && (unsigned long)p < -4096UL);
	q = bpfi_runtime_mmap(NULL, 9 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, &handled);
	ck_assert_int_eq((long)q, -EINVAL);
	q = bpfi_runtime_mmap(NULL, 5 * PAGE, PROT_READ, MAP_SHARED, fd, 0, &handled);
	ck_assert((unsigned long)q < -4096UL);
	/* Two views of one buffer: the user page is shared. */
	pp = (void *)p;
	pq = (void *)q;
	ck_assert_uint_eq(pq->data_size, 4 * PAGE);
	pp->data_tail = 123;
	ck_assert_uint_eq(pq->data_tail, 123);
	pp->data_tail = 0;
	/* Bookkeeping follows partial unmaps: the middle, then what is left on each side. */
	ck_assert_int_eq(bpfi_runtime_munmap(q + PAGE, 2 * PAGE, &handled), 0);
	ck_assert(handled);
	bpfi_runtime_munmap(q + PAGE, 2 * PAGE, &handled);
	ck_assert(!handled);
	ck_assert_int_eq(bpfi_runtime_munmap(q, PAGE, &handled), 0);
	ck_assert(handled);
	ck_assert_int_eq(bpfi_runtime_munmap(q + 3 * PAGE, 2 * PAGE, &handled), 0);
	ck_assert(handled);
	ck_assert_int_eq(bpfi_runtime_munmap(p, 5 * PAGE, &handled), 0);
	xclose(fd);
}
END_TEST

struct attach_list {
	struct bpfi_runtime_attach a[16];
	char names[16][256];
	int n;
};

static int collect_attach(const struct bpfi_runtime_attach *a, void *cookie)
{
	struct attach_list *l = cookie;

	if (l->n < 16) {
		l->a[l->n] = *a;
		snprintf(l->names[l->n], sizeof(l->names[0]), "%s", a->name ? a->name : "");
		l->a[l->n].name = l->names[l->n];
		l->n++;
	}
	return 0;
}

static struct attach_list list_attach(void)
{
	struct attach_list l;

	memset(&l, 0, sizeof(l));
	ck_assert_int_ge(bpfi_runtime_foreach_attach(collect_attach, &l), 0);
	return l;
}

static const struct bpfi_runtime_attach *find_attach(const struct attach_list *l, uint32_t prog)
{
	for (int i = 0; i < l->n; i++) {
		if (l->a[i].prog_id == prog)
			return &l->a[i];
	}
	return NULL;
}

/* uprobe and uretprobe on a function of this binary, through libbpf's perf link path. */
START_TEST(test_attach_uprobe)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uopts, .func_name = "events_target_fn");
	LIBBPF_OPTS(bpf_uprobe_opts, ropts, .func_name = "events_target_fn", .retprobe = true);
	const struct bpfi_runtime_attach *a, *r;
	struct bpf_link *entry, *ret;
	struct attach_list l;

	entry = bpf_program__attach_uprobe_opts(prog_of("on_uprobe"), -1, "/proc/self/exe", 0,
						&uopts);
	ck_assert_msg(entry, "attach uprobe: %d", -errno);
	ret = bpf_program__attach_uprobe_opts(prog_of("on_uretprobe"), getpid(), "/proc/self/exe",
					      0, &ropts);
	ck_assert_msg(ret, "attach uretprobe: %d", -errno);

	l = list_attach();
	a = find_attach(&l, prog_id("on_uprobe"));
	r = find_attach(&l, prog_id("on_uretprobe"));
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(r);
	ck_assert(a->uprobe && !a->retprobe && a->enabled);
	ck_assert(r->uprobe && r->retprobe && r->enabled);
	ck_assert_uint_ne(a->link_id, 0);
	ck_assert_str_eq(a->name, "/proc/self/exe");
	ck_assert_uint_ne(a->offset, 0);
	ck_assert_uint_eq(a->offset, r->offset);
	ck_assert_int_eq(a->pid, -1);
	ck_assert_int_eq(r->pid, getpid());
	ck_assert_int_eq(events_target_fn(2), 7);

	ck_assert_int_eq(bpf_link__destroy(entry), 0);
	l = list_attach();
	ck_assert_ptr_null(find_attach(&l, prog_id("on_uprobe")));
	ck_assert_ptr_nonnull(find_attach(&l, prog_id("on_uretprobe")));
	ck_assert_int_eq(bpf_link__destroy(ret), 0);
	ck_assert_int_eq(list_attach().n, 0);
}
END_TEST

/* tracefs ids are needed: mount tracefs in a private mount namespace if it is not there. */
static bool tracefs_ready(void)
{
	const char *id = "/sys/kernel/tracing/events/syscalls/sys_enter_openat/id";

	if (!access(id, R_OK) ||
	    !access("/sys/kernel/debug/tracing/events/syscalls/sys_enter_openat/id", R_OK))
		return true;
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL))
		return false;
	return !access(id, R_OK);
}

static uint64_t read_tp_id(void)
{
	FILE *f = fopen("/sys/kernel/tracing/events/syscalls/sys_enter_openat/id", "r");
	unsigned long long id = 0;

	if (!f)
		f = fopen("/sys/kernel/debug/tracing/events/syscalls/sys_enter_openat/id", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%llu", &id), 1);
	fclose(f);
	return id;
}

START_TEST(test_attach_tracepoint)
{
	struct perf_event_attr attr = { .type = PERF_TYPE_TRACEPOINT, .size = sizeof(attr) };
	const struct bpfi_runtime_attach *a;
	struct attach_list l;
	struct bpf_link *link;
	int fd;

	if (!tracefs_ready()) {
		fprintf(stderr, "test_attach_tracepoint: no tracefs, skipped\n");
		return;
	}
	link = bpf_program__attach_tracepoint(prog_of("on_openat"), "syscalls", "sys_enter_openat");
	ck_assert_msg(link, "attach tracepoint: %d", -errno);
	l = list_attach();
	a = find_attach(&l, prog_id("on_openat"));
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->perf_type, PERF_TYPE_TRACEPOINT);
	ck_assert_uint_eq(a->config, read_tp_id());
	ck_assert_str_eq(a->name, "syscalls:sys_enter_openat");
	ck_assert(!a->uprobe && a->enabled && a->link_id);
	ck_assert_int_eq(bpf_link__destroy(link), 0);
	ck_assert_int_eq(list_attach().n, 0);

	/* An id no event has is -EINVAL (perf_trace_init). */
	attr.config = 0x7fffffff;
	fd = perf_open(&attr, -1, 0, PERF_FLAG_FD_CLOEXEC);
	ck_assert_int_eq(fd, -EINVAL);
}
END_TEST

static int uprobe_type(void)
{
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "r");
	int type = -1;

	if (f) {
		if (fscanf(f, "%d", &type) != 1)
			type = -1;
		fclose(f);
	}
	return type;
}

static int uprobe_event(const char *path, uint64_t offset, bool retprobe)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = (uint32_t)uprobe_type(),
		.config = retprobe ? 1 : 0,
		.config1 = (uint64_t)(uintptr_t)path,
		.config2 = offset,
	};

	return perf_open(&attr, -1, 0, PERF_FLAG_FD_CLOEXEC);
}

/* bpftrace's path: perf_event_open, then PERF_EVENT_IOC_SET_BPF and ENABLE/DISABLE. */
START_TEST(test_set_bpf)
{
	char buf[sizeof(struct perf_event_query_bpf) + 4 * sizeof(uint32_t)];
	struct perf_event_query_bpf *query = (void *)buf;
	const struct bpfi_runtime_attach *a;
	struct attach_list l;
	uint64_t id = 0;
	int fd, dup_fd;

	if (uprobe_type() < 0) {
		fprintf(stderr, "test_set_bpf: no uprobe PMU, skipped\n");
		return;
	}
	fd = uprobe_event("/proc/self/exe", 0x100, false);
	ck_assert_int_ge(fd, 3);
	ck_assert_int_eq(ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd("on_openat")), -1);
	ck_assert_int_eq(errno, EINVAL); /* a tracepoint program on a uprobe */
	ck_assert_int_eq(bpfi_runtime_ioctl(fd, PERF_EVENT_IOC_SET_BPF, (unsigned long)fd),
			 -EINVAL);
	ck_assert_int_eq(bpfi_runtime_ioctl(fd, PERF_EVENT_IOC_SET_BPF, 1000), -EBADF);
	ck_assert_int_eq(
		bpfi_runtime_ioctl(fd, PERF_EVENT_IOC_SET_BPF, (unsigned long)prog_fd("on_uprobe")),
		0);
	ck_assert_int_eq(
		bpfi_runtime_ioctl(fd, PERF_EVENT_IOC_SET_BPF, (unsigned long)prog_fd("on_uprobe")),
		-EEXIST);
	ck_assert_int_eq(bpfi_runtime_ioctl(fd, PERF_EVENT_IOC_DISABLE, 0), 0);
	ck_assert_int_eq(bpfi_runtime_ioctl(fd, PERF_EVENT_IOC_ID, (unsigned long)&id), 0);
	ck_assert_int_eq(bpfi_runtime_ioctl(fd, _IO('$', 99), 0), -ENOTTY);
	memset(buf, 0, sizeof(buf));
	query->ids_len = 4;
	ck_assert_int_eq(bpfi_runtime_ioctl(fd, PERF_EVENT_IOC_QUERY_BPF, (unsigned long)query), 0);
	ck_assert_uint_eq(query->prog_cnt, 1);
	ck_assert_uint_eq(query->ids[0], prog_id("on_uprobe"));

	l = list_attach();
	a = find_attach(&l, prog_id("on_uprobe"));
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->link_id, 0);
	ck_assert_uint_eq(a->perf_id, id);
	ck_assert_uint_eq(a->offset, 0x100);
	ck_assert(!a->enabled);
	ck_assert_int_eq(bpfi_runtime_ioctl(fd, PERF_EVENT_IOC_ENABLE, 0), 0);
	l = list_attach();
	ck_assert(find_attach(&l, prog_id("on_uprobe"))->enabled);

	/* Closing one of two fds keeps the event; the last close detaches. */
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	xclose(fd);
	ck_assert_int_eq(list_attach().n, 1);
	xclose(dup_fd);
	ck_assert_int_eq(list_attach().n, 0);
}
END_TEST

/* LINK_CREATE's answers: libbpf's perf-link probe needs EBADF for target -1. */
START_TEST(test_link_create)
{
	LIBBPF_OPTS(bpf_link_create_opts, lopts, .perf_event.bpf_cookie = 0x1234);
	struct bpf_link_info info;
	uint32_t len = sizeof(info);
	const struct bpfi_runtime_attach *a;
	struct attach_list l;
	int out, link, link2;

	out = output_event();
	ck_assert_int_ge(out, 3);
	ck_assert_int_eq(bpf_link_create(prog_fd("on_uprobe"), -1, BPF_PERF_EVENT, NULL), -EBADF);
	ck_assert_int_eq(bpf_link_create(prog_fd("on_uprobe"), out, BPF_TRACE_KPROBE_MULTI, NULL),
			 -EOPNOTSUPP);
	ck_assert_int_eq(bpf_link_create(prog_fd("on_openat"), out, BPF_TRACE_KPROBE_MULTI, NULL),
			 -EINVAL);
	ck_assert_int_eq(bpf_link_create(map_fd("ring"), out, BPF_PERF_EVENT, NULL), -EINVAL);
	ck_assert_int_eq(
		bpf_link_create(prog_fd("on_uprobe"), map_fd("ring"), BPF_PERF_EVENT, NULL),
		-EBADF);
	/* A BPF_OUTPUT event takes PERF_EVENT programs only. */
	ck_assert_int_eq(bpf_link_create(prog_fd("on_uprobe"), out, BPF_PERF_EVENT, NULL), -EINVAL);
	link = bpf_link_create(prog_fd("on_perf_event"), out, BPF_PERF_EVENT, &lopts);
	ck_assert_int_ge(link, 3);
	link2 = bpf_link_create(prog_fd("on_perf_event"), out, BPF_PERF_EVENT, NULL);
	ck_assert_int_eq(link2, -EEXIST);

	memset(&info, 0, sizeof(info));
	ck_assert_int_eq(bpf_obj_get_info_by_fd(link, &info, &len), 0);
	ck_assert_uint_eq(info.type, BPF_LINK_TYPE_PERF_EVENT);
	ck_assert_uint_eq(info.prog_id, prog_id("on_perf_event"));
	l = list_attach();
	a = find_attach(&l, prog_id("on_perf_event"));
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->link_id, info.id);
	ck_assert_uint_eq(a->cookie, 0x1234);

	/* The link keeps the event: closing the event fd detaches nothing. */
	xclose(out);
	ck_assert_int_eq(list_attach().n, 1);
	ck_assert_int_eq(bpf_link_detach(link), 0);
	ck_assert_int_eq(list_attach().n, 0);
	xclose(link);
}
END_TEST

struct open_case {
	const char *descr;
	uint32_t type; /* UINT32_MAX: the uprobe PMU */
	uint64_t config;
	const char *path; /* uprobe config1 */
	uint64_t config2;
	uint32_t size;
	pid_t pid;
	int cpu;
	unsigned long flags;
	int expect; /* 0: an fd */
};

#define UPROBE UINT32_MAX
#define SZ     sizeof(struct perf_event_attr)

static const struct open_case open_cases[] = {
	{ "bpf output", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_BPF_OUTPUT, NULL, 0, SZ, -1, 0, 8, 0 },
	{ "size 0 is VER0", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_BPF_OUTPUT, NULL, 0, 0, -1, 0, 8, 0 },
	{ "size below VER0", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_BPF_OUTPUT, NULL, 0, 32, -1, 0, 8,
	  -E2BIG },
	{ "size above a page", PERF_TYPE_SOFTWARE, 10, NULL, 0, 8192, -1, 0, 8, -E2BIG },
	{ "unknown pmu", 1000, 0, NULL, 0, SZ, -1, 0, 8, -ENOENT },
	{ "hardware pmu absent", PERF_TYPE_HARDWARE, 0, NULL, 0, SZ, -1, 0, 8, -ENOENT },
	{ "software id past the end", PERF_TYPE_SOFTWARE, 1000, NULL, 0, SZ, -1, 0, 8, -ENOENT },
	{ "pid and cpu both -1", PERF_TYPE_SOFTWARE, 10, NULL, 0, SZ, -1, -1, 8, -EINVAL },
	{ "cpu out of range", PERF_TYPE_SOFTWARE, 10, NULL, 0, SZ, -1, 4096, 8, -EINVAL },
	{ "unknown flag", PERF_TYPE_SOFTWARE, 10, NULL, 0, SZ, -1, 0, 1 << 10, -EINVAL },
	{ "no such pid", PERF_TYPE_SOFTWARE, 10, NULL, 0, SZ, 0x3fffffff, -1, 8, -ESRCH },
	{ "uprobe", UPROBE, 0, "/proc/self/exe", 0, SZ, -1, 0, 8, 0 },
	{ "uretprobe on a pid", UPROBE, 1, "/proc/self/exe", 0, SZ, 0, -1, 8, 0 },
	{ "uprobe without path", UPROBE, 0, NULL, 0, SZ, -1, 0, 8, -EINVAL },
	{ "uprobe missing file", UPROBE, 0, "/nonexistent/x", 0, SZ, -1, 0, 8, -ENOENT },
	{ "uprobe on a directory", UPROBE, 0, "/tmp", 0, SZ, -1, 0, 8, -EINVAL },
	{ "uprobe past the file", UPROBE, 0, "/proc/self/exe", 1ULL << 40, SZ, -1, 0, 8, -EINVAL },
};

START_TEST(test_perf_open_errors)
{
	const struct open_case *c = &open_cases[_i];
	char buf[2 * PAGE];
	struct perf_event_attr *attr = (void *)buf;
	int fd;

	if (c->type == UPROBE && uprobe_type() < 0)
		return;
	memset(buf, 0, sizeof(buf));
	attr->type = c->type == UPROBE ? (uint32_t)uprobe_type() : c->type;
	attr->size = c->size;
	attr->config = c->config;
	attr->config1 = (uint64_t)(uintptr_t)c->path;
	attr->config2 = c->config2;
	fd = perf_open(attr, c->pid, c->cpu, c->flags);
	if (c->expect) {
		ck_assert_msg(fd == c->expect, "%s: %d, want %d", c->descr, fd, c->expect);
		if (c->expect == -E2BIG)
			ck_assert_uint_eq(attr->size, sizeof(*attr));
		return;
	}
	ck_assert_msg(fd >= 3, "%s: %d", c->descr, fd);
	ck_assert(bpfi_runtime_owns_fd(fd));
	xclose(fd);
}
END_TEST

/* Non-zero bytes past the struct we know are -E2BIG; reserved fields -EINVAL. */
START_TEST(test_perf_open_attr_tail)
{
	char buf[2 * PAGE];
	struct perf_event_attr *attr = (void *)buf;
	int fd;

	memset(buf, 0, sizeof(buf));
	attr->type = PERF_TYPE_SOFTWARE;
	attr->config = PERF_COUNT_SW_BPF_OUTPUT;
	attr->size = 256;
	buf[200] = 1;
	ck_assert_int_eq(perf_open(attr, -1, 0, 0), -E2BIG);
	buf[200] = 0;
	attr->size = 256;
	attr->__reserved_2 = 1;
	ck_assert_int_eq(perf_open(attr, -1, 0, 0), -EINVAL);
	attr->__reserved_2 = 0;
	/* Without PERF_FLAG_FD_CLOEXEC the fd survives exec. */
	fd = perf_open(attr, -1, 0, 0);
	ck_assert_int_ge(fd, 3);
	ck_assert_int_eq(fcntl(fd, F_GETFD), 0);
	xclose(fd);
}
END_TEST

Suite *events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *bufs = tcase_create("buffers");
	TCase *mm = tcase_create("mmap");
	TCase *att = tcase_create("attach");

	tcase_add_checked_fixture(bufs, setup, teardown);
	tcase_set_timeout(bufs, 60);
	tcase_add_test(bufs, test_perfbuf_records);
	tcase_add_test(bufs, test_perfbuf_lost);
	tcase_add_test(bufs, test_ringbuf_records);
	tcase_add_test(bufs, test_ringbuf_overflow);
	tcase_add_test(bufs, test_ringbuf_epoll_wakeup);
	tcase_add_test(bufs, test_epoll_ctl);
	tcase_add_test(bufs, test_epoll_close);
	suite_add_tcase(s, bufs);

	tcase_add_checked_fixture(mm, setup, teardown);
	tcase_set_timeout(mm, 60);
	tcase_add_test(mm, test_ringbuf_mmap);
	tcase_add_test(mm, test_bss_shared);
	tcase_add_test(mm, test_rodata_frozen);
	tcase_add_test(mm, test_perf_mmap);
	tcase_add_loop_test(mm, test_mmap_rules, 0, (int)ARRAY_SIZE(mmap_cases));
	suite_add_tcase(s, mm);

	tcase_add_checked_fixture(att, setup, teardown);
	tcase_set_timeout(att, 60);
	tcase_add_test(att, test_attach_uprobe);
	tcase_add_test(att, test_attach_tracepoint);
	tcase_add_test(att, test_set_bpf);
	tcase_add_test(att, test_link_create);
	tcase_add_loop_test(att, test_perf_open_errors, 0, (int)ARRAY_SIZE(open_cases));
	tcase_add_test(att, test_perf_open_attr_tail);
	suite_add_tcase(s, att);
	return s;
}
