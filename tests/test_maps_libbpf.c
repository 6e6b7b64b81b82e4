// SPDX-License-Identifier: MIT
/*
 * Maps in the shared arena, part three: libbpf's own ring_buffer__* and perf_buffer__*
 * consumers read what maps/ writes. A few of libbpf's system calls are answered here
 * (-Wl,--wrap), just enough to hand it our buffers: this checks the layouts, not runtime/.
 */
#include <bpf/libbpf.h>
#include <check.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpfinject/arena.h>
#include <bpfinject/maps.h>

#include "tests/maps_test.h"

long __real_syscall(long nr, ...);
long __wrap_syscall(long nr, ...);
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);

#define MAX_PERF 8

/* What the wrappers answer for: one map fd (an eventfd, so epoll accepts it) and the perf
 * event fds libbpf opens, each given a perf buffer in the arena. */
static struct {
	struct bpfi_arena *arena;
	struct bpfi_map_hdr *map;
	int map_fd;
	int perf_fd[MAX_PERF];
	uint64_t perf_off[MAX_PERF];
	int nr_perf;
} fake = { .map_fd = -1 };

static int perf_index(int fd)
{
	for (int i = 0; i < fake.nr_perf; i++) {
		if (fake.perf_fd[i] == fd)
			return i;
	}
	return -1;
}

static long fake_bpf(int cmd, union bpf_attr *attr)
{
	struct bpf_map_info *info;
	uint32_t key, value;
	int i;

	switch (cmd) {
	case BPF_OBJ_GET_INFO_BY_FD:
		if ((int)attr->info.bpf_fd != fake.map_fd)
			return -2;
		info = (void *)(uintptr_t)attr->info.info;
		memset(info, 0, attr->info.info_len);
		info->type = fake.map->type;
		info->id = fake.map->id;
		info->key_size = fake.map->key_size;
		info->value_size = fake.map->value_size;
		info->max_entries = fake.map->max_entries;
		info->map_flags = fake.map->map_flags;
		return 0;
	case BPF_MAP_UPDATE_ELEM:
		if ((int)attr->map_fd != fake.map_fd)
			return -2;
		memcpy(&key, (void *)(uintptr_t)attr->key, 4);
		memcpy(&value, (void *)(uintptr_t)attr->value, 4);
		i = perf_index((int)value);
		if (i < 0)
			return -EBADF;
		return bpfi_perf_array_set(fake.map, key, fake.perf_off[i]);
	case BPF_MAP_DELETE_ELEM:
		return (int)attr->map_fd == fake.map_fd ? 0 : -2;
	default:
		return -2;
	}
}

long __wrap_syscall(long nr, ...)
{
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == __NR_bpf && fake.map) {
		long r = fake_bpf((int)a[0], (union bpf_attr *)a[1]);

		if (r != -2) {
			if (r < 0) {
				errno = (int)-r;
				return -1;
			}
			return r;
		}
	}
	if (nr == __NR_perf_event_open && fake.map && fake.nr_perf < MAX_PERF) {
		/* A BPF_OUTPUT event: an eventfd stands in for it, mmap below gives it a buffer. */
		int fd = eventfd(0, EFD_CLOEXEC);

		fake.perf_fd[fake.nr_perf++] = fd;
		return fd;
	}
	return __real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* Ring buffer windows as the runtime builds them: consumer page, or producer page + data + data. */
static void *map_ringbuf(size_t len, int prot, off_t off)
{
	int afd = bpfi_arena_fd(fake.arena);
	uint64_t aoff, max, size = fake.map->max_entries;
	char *base;

	if (bpfi_map_mmap_range(fake.map, (uint64_t)off / PAGE, &aoff, &max) || len > max)
		return MAP_FAILED;
	if (off == 0)
		return __real_mmap64(NULL, len, prot, MAP_SHARED, afd, (off_t)aoff);
	base = __real_mmap64(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return base;
	__real_mmap64(base, PAGE + size, prot, MAP_SHARED | MAP_FIXED, afd, (off_t)aoff);
	__real_mmap64(base + PAGE + size, size, prot, MAP_SHARED | MAP_FIXED, afd,
		      (off_t)(aoff + PAGE));
	return base;
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	int i;

	if (fake.map && fd == fake.map_fd)
		return map_ringbuf(len, prot, off);
	i = fake.map && fd >= 0 ? perf_index(fd) : -1;
	if (i >= 0) {
		if (bpfi_perfbuf_new(fake.arena, (uint32_t)(len / PAGE - 1), &fake.perf_off[i],
				     NULL))
			return MAP_FAILED;
		return __real_mmap64(addr, len, prot, flags, bpfi_arena_fd(fake.arena),
				     (off_t)fake.perf_off[i]);
	}
	return __real_mmap64(addr, len, prot, flags, fd, off);
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fake.map && perf_index(fd) >= 0)
		return 0; /* PERF_EVENT_IOC_ENABLE / DISABLE */
	return __real_ioctl(fd, req, arg);
}

static void fake_setup(uint32_t type, uint32_t max_entries)
{
	memset(&fake, 0, sizeof(fake));
	fake.arena = test_arena_new();
	fake.map = test_map_new(fake.arena, type, type == BPF_MAP_TYPE_RINGBUF ? 0 : 4,
				type == BPF_MAP_TYPE_RINGBUF ? 0 : 4, max_entries, 0);
	fake.map_fd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(fake.map_fd, 0);
}

struct lb_expect {
	uint64_t next_seq, samples, lost;
	uint32_t errors;
};

static uint32_t lb_size(uint64_t seq)
{
	return 9 + (uint32_t)(seq * 53 % 400);
}

static void lb_fill(uint8_t *buf, uint64_t seq)
{
	memset(buf, (uint8_t)seq, lb_size(seq));
	memcpy(buf, &seq, 8);
}

static void lb_check(struct lb_expect *e, const uint8_t *data, uint32_t size, bool exact)
{
	uint64_t seq;

	memcpy(&seq, data, 8);
	if (seq < e->next_seq || (exact ? size != lb_size(seq) : size < lb_size(seq)) ||
	    data[lb_size(seq) - 1] != (uint8_t)seq)
		e->errors++;
	e->next_seq = seq + 1;
	e->samples++;
}

static int rb_sample(void *ctx, void *data, size_t size)
{
	lb_check(ctx, data, (uint32_t)size, true);
	return 0;
}

/* A second process writes; libbpf's ring_buffer__consume() reads, exactly and in order. */
START_TEST(libbpf_ring_buffer_reads)
{
	const uint64_t total = 20000;
	struct lb_expect e = { 0 };
	struct ring_buffer *rb;
	uint64_t t0 = test_now_ns();
	pid_t pid;
	int st;

	fake_setup(BPF_MAP_TYPE_RINGBUF, 16384);
	rb = ring_buffer__new(fake.map_fd, rb_sample, &e, NULL);
	ck_assert_ptr_nonnull(rb);
	pid = fork();
	if (pid < 0)
		ck_abort_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		uint8_t buf[512];

		for (uint64_t seq = 0; seq < total;) {
			lb_fill(buf, seq);
			if (bpfi_ringbuf_output(fake.map, buf, lb_size(seq), 0) == 0)
				seq++;
			else
				usleep(10);
		}
		_exit(0);
	}
	while (e.samples < total && test_now_ns() - t0 < 30000000000ull)
		ck_assert_int_ge(ring_buffer__consume(rb), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(st, 0);
	ck_assert_uint_eq(e.samples, total);
	ck_assert_uint_eq(e.errors, 0);
	ring_buffer__free(rb);
	bpfi_arena_free(fake.arena);
	fake.map = NULL;
}
END_TEST

static void pb_sample_cb(void *ctx, int cpu, void *data, __u32 size)
{
	lb_check(ctx, data, size, false); /* libbpf hands out raw_size: padded to 8 - 4 */
}

static void pb_lost_cb(void *ctx, int cpu, __u64 cnt)
{
	((struct lb_expect *)ctx)->lost += cnt;
}

/* libbpf's perf_buffer__new() sets up its buffers through us, then reads samples that wrap
 * and the PERF_RECORD_LOST that reports drops. */
START_TEST(libbpf_perf_buffer_reads)
{
	struct lb_expect e = { 0 };
	struct perf_buffer *pb;
	uint64_t drops = 0;
	uint8_t buf[512];

	fake_setup(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 1);
	pb = perf_buffer__new(fake.map_fd, 2, pb_sample_cb, pb_lost_cb, &e, NULL);
	ck_assert_ptr_nonnull(pb);
	ck_assert_int_eq(fake.nr_perf, 1);
	for (uint64_t seq = 0; seq < 3000; seq++) {
		long err;

		lb_fill(buf, seq);
		err = bpfi_perf_event_output(fake.map, BPF_F_CURRENT_CPU, 0, buf, lb_size(seq));
		if (err == -ENOSPC)
			drops++;
		else
			ck_assert_int_eq(err, 0);
		if (seq < 1500 ? seq % 5 == 0 : err == -ENOSPC && drops % 4 == 0)
			ck_assert_int_ge(perf_buffer__consume(pb), 0);
	}
	ck_assert_int_ge(perf_buffer__consume(pb), 0);
	lb_fill(buf, 3000);
	ck_assert_int_eq(bpfi_perf_event_output(fake.map, 0, 0, buf, lb_size(3000)), 0);
	ck_assert_int_ge(perf_buffer__consume(pb), 0);
	ck_assert_uint_eq(e.errors, 0);
	ck_assert_uint_gt(drops, 0);
	ck_assert_uint_eq(e.lost, drops);
	ck_assert_uint_eq(e.samples + e.lost, 3001);
	perf_buffer__free(pb);
	bpfi_arena_free(fake.arena);
	fake.map = NULL;
}
END_TEST

TCase *maps_libbpf_tcase(void)
{
	TCase *tc = tcase_create("libbpf");

	tcase_set_timeout(tc, 100);
	tcase_add_test(tc, libbpf_ring_buffer_reads);
	tcase_add_test(tc, libbpf_perf_buffer_reads);
	return tc;
}
