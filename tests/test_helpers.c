// SPDX-License-Identifier: MIT
/*
 * The helpers, called through the table bpfi_helpers_fill() builds, against a real arena with
 * real maps, and checked against what the system says (getpid, clock_gettime, sched_getcpu...).
 */
#include <check.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/abi.h>
#include <bpfinject/arena.h>
#include <bpfinject/helpers.h>
#include <bpfinject/maps.h>

#define P(x) ((uint64_t)(uintptr_t)(x))

/* Kernel helper ids (enum bpf_func_id). */
enum {
	H_LOOKUP = 1,
	H_UPDATE = 2,
	H_DELETE = 3,
	H_PROBE_READ = 4,
	H_KTIME = 5,
	H_PRINTK = 6,
	H_PRANDOM = 7,
	H_CPU = 8,
	H_TAIL_CALL = 12,
	H_PID_TGID = 14,
	H_UID_GID = 15,
	H_COMM = 16,
	H_PERF_OUTPUT = 25,
	H_TASK = 35,
	H_PROBE_READ_STR = 45,
	H_GET_STACK = 67,
	H_CGROUP_ID = 80,
	H_SEND_SIGNAL = 109,
	H_READ_USER = 112,
	H_READ_KERNEL = 113,
	H_READ_USER_STR = 114,
	H_READ_KERNEL_STR = 115,
	H_SEND_SIGNAL_THREAD = 117,
	H_KTIME_BOOT = 125,
	H_RB_OUTPUT = 130,
	H_RB_RESERVE = 131,
	H_RB_SUBMIT = 132,
	H_RB_DISCARD = 133,
	H_RB_QUERY = 134,
	H_KTIME_COARSE = 160,
	H_LOOP = 181,
};

/* Per-test state, set up in each forked test by the fixture. */
static struct bpfi_arena *t_arena;
static bpfi_helper_fn t_helpers[BPFI_HELPER_MAX];
static struct bpfi_env t_env;
static struct bpfi_map_hdr *t_printk;
static cpu_set_t t_affinity;
static int clock_calls;
static volatile sig_atomic_t got_usr1, got_usr2;

static struct bpfi_map_hdr *new_map(uint32_t type, uint32_t key_size, uint32_t value_size,
				    uint32_t max_entries)
{
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_map_create_opts opts = {
		.sz = sizeof(opts),
		.type = type,
		.key_size = key_size,
		.value_size = value_size,
		.max_entries = max_entries,
		.name = "test",
	};
	struct bpfi_map_hdr *map = NULL;
	int err = bpfi_map_new(t_arena, &opts, &map, &log);

	ck_assert_msg(err == 0, "map type %u: %d: %s", type, err, buf);
	return map;
}

static void setup(void)
{
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	int err = bpfi_arena_new(64 << 20, &t_arena, &log);

	ck_assert_msg(err == 0, "arena: %d: %s", err, buf);
	/* CK_FORK=no (valgrind, gdb) runs every test in one process: start each from scratch */
	ck_assert_int_eq(sched_getaffinity(0, sizeof(t_affinity), &t_affinity), 0);
	clock_calls = 0;
	got_usr1 = got_usr2 = 0;
	bpfi_helpers_fill(t_helpers);
	memset(&t_env, 0, sizeof(t_env));
	t_env.arena = bpfi_arena_base(t_arena);
	t_env.nr_cpus = bpfi_arena_hdr(t_arena)->nr_cpus;
	t_env.unwind_helper_id = -1;
	t_env.helpers = t_helpers;
	t_printk = new_map(BPF_MAP_TYPE_RINGBUF, 0, 0, 1 << 16);
	t_env.printk_ring = t_printk;
}

static void teardown(void)
{
	sched_setaffinity(0, sizeof(t_affinity), &t_affinity);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	bpfi_arena_free(t_arena);
	t_arena = NULL;
}

static uint64_t call(int id, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	ck_assert_msg(t_helpers[id], "helper %d missing", id);
	return t_helpers[id](r1, r2, r3, r4, r5, &t_env);
}

/* ---- the table ---- */

static const int32_t known_ids[] = { 1,	  2,   3,   4,	 5,   6,   7,	8,   12,  14,  15,
				     16,  25,  35,  45,	 58,  67,  80,	109, 112, 113, 114,
				     115, 117, 125, 130, 131, 132, 133, 134, 160, 181 };

START_TEST(table_name_and_fill_agree)
{
	size_t k = 0;

	for (int32_t id = 0; id < BPFI_HELPER_MAX; id++) {
		const char *name = bpfi_helper_name(id);
		bool expect = k < sizeof(known_ids) / sizeof(known_ids[0]) && known_ids[k] == id;

		if (expect)
			k++;
		ck_assert_msg(!!t_helpers[id] == expect, "id %d: table", id);
		ck_assert_msg(!!name == expect, "id %d: name", id);
		ck_assert_int_eq(bpfi_helper_is_known(id), expect);
		ck_assert_msg(!name || strncmp(name, "bpf_", 4) == 0, "id %d: %s", id, name);
	}
	ck_assert_str_eq(bpfi_helper_name(1), "bpf_map_lookup_elem");
	ck_assert_str_eq(bpfi_helper_name(6), "bpf_trace_printk");
	ck_assert_str_eq(bpfi_helper_name(181), "bpf_loop");
	ck_assert_ptr_null(bpfi_helper_name(-1));
	ck_assert_int_eq(bpfi_helper_is_known(BPFI_HELPER_MAX), 0);
	ck_assert_int_eq(bpfi_helper_is_known(INT32_MAX), 0);
}
END_TEST

/* ---- maps ---- */

START_TEST(map_hash_lookup_update_delete)
{
	struct bpfi_map_hdr *m = new_map(BPF_MAP_TYPE_HASH, 4, 8, 16);
	uint32_t key = 7;
	uint64_t val = 0x1122334455667788ULL, *p;

	ck_assert_uint_eq(call(H_LOOKUP, P(m), P(&key), 0, 0, 0), 0);
	ck_assert_int_eq((long)call(H_UPDATE, P(m), P(&key), P(&val), BPF_ANY, 0), 0);
	p = (uint64_t *)(uintptr_t)call(H_LOOKUP, P(m), P(&key), 0, 0, 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(*p, val);
	*p += 1; /* programs write through the pointer */
	ck_assert_int_eq(bpfi_map_lookup_user(m, &key, &val, 0), 0);
	ck_assert_uint_eq(val, 0x1122334455667789ULL);
	ck_assert_int_eq((long)call(H_UPDATE, P(m), P(&key), P(&val), BPF_NOEXIST, 0), -EEXIST);
	ck_assert_int_eq((long)call(H_DELETE, P(m), P(&key), 0, 0, 0), 0);
	ck_assert_int_eq((long)call(H_DELETE, P(m), P(&key), 0, 0, 0), -ENOENT);
	ck_assert_uint_eq(call(H_LOOKUP, P(m), P(&key), 0, 0, 0), 0);
}
END_TEST

static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Valgrind does not emulate lsl (SIGILL); it preloads its core library into the process. */
static bool under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");

	return preload && strstr(preload, "vgpreload");
}

/* How the helpers find the CPU (loop index): the getcpu system call, lsl, rdpid. */
static const uint32_t cpu_modes[] = { 0, BPFI_HWCAP_LSL, BPFI_HWCAP_RDPID };

/* Runs on every CPU the test may use, once per way of finding the CPU. */
START_TEST(map_percpu_uses_current_cpu)
{
	struct bpfi_map_hdr *arr = new_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1);
	struct bpfi_map_hdr *hash = new_map(BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 4);
	uint32_t n = t_env.nr_cpus, key = 0, tried = 0;
	uint64_t *vals;

	ck_assert(bpfi_helpers_hwcaps() & BPFI_HWCAP_LSL);
	if ((cpu_modes[_i] & ~bpfi_helpers_hwcaps()) ||
	    (cpu_modes[_i] == BPFI_HWCAP_LSL && under_valgrind()))
		return; /* not available here */
	t_env.hwcaps = cpu_modes[_i];
	vals = calloc(n, 8);
	for (uint32_t cpu = 0; cpu < n; cpu++) {
		uint64_t v = 100 + cpu, *p;

		if (pin_to((int)cpu) < 0)
			continue;
		tried++;
		ck_assert_int_eq(sched_getcpu(), (int)cpu);
		ck_assert_uint_eq(call(H_CPU, 0, 0, 0, 0, 0), cpu);
		p = (uint64_t *)(uintptr_t)call(H_LOOKUP, P(arr), P(&key), 0, 0, 0);
		ck_assert_ptr_nonnull(p);
		*p = v;
		ck_assert_int_eq((long)call(H_UPDATE, P(hash), P(&key), P(&v), BPF_ANY, 0), 0);
	}
	ck_assert_uint_gt(tried, 0);
	ck_assert_int_eq(bpfi_map_lookup_user(arr, &key, vals, 0), 0);
	for (uint32_t cpu = 0; cpu < n; cpu++)
		ck_assert_msg(vals[cpu] == 0 || vals[cpu] == 100 + cpu, "cpu %u: %lu", cpu,
			      (unsigned long)vals[cpu]);
	ck_assert_int_eq(bpfi_map_lookup_user(hash, &key, vals, 0), 0);
	for (uint32_t cpu = 0; cpu < n; cpu++)
		ck_assert_msg(vals[cpu] == 0 || vals[cpu] == 100 + cpu, "cpu %u", cpu);
	free(vals);
}
END_TEST

/* ---- time and identity ---- */

static int counting_clock(int clk, void *ts)
{
	clock_calls++;
	return clock_gettime(clk, ts);
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const struct {
	int id;
	clockid_t clk;
} clock_cases[] = {
	{ H_KTIME, CLOCK_MONOTONIC },
	{ H_KTIME_BOOT, CLOCK_BOOTTIME },
	{ H_KTIME_COARSE, CLOCK_MONOTONIC_COARSE },
};

/* Loop index: clock case * 2 + (0: raw system call, 1: the env's clock_gettime). */
START_TEST(time_within_bounds)
{
	int c = _i / 2;
	uint64_t before, v, after;

	if (_i % 2)
		t_env.clock_gettime = counting_clock;
	before = now_ns(clock_cases[c].clk);
	v = call(clock_cases[c].id, 0, 0, 0, 0, 0);
	after = now_ns(clock_cases[c].clk);
	ck_assert_uint_le(before, v);
	ck_assert_uint_le(v, after);
	ck_assert_int_eq(clock_calls, _i % 2);
}
END_TEST

START_TEST(identity_matches_system)
{
	uint64_t v = call(H_PID_TGID, 0, 0, 0, 0, 0);

	ck_assert_uint_eq(v >> 32, (uint64_t)getpid());
	ck_assert_uint_eq((uint32_t)v, (uint32_t)gettid());
	v = call(H_UID_GID, 0, 0, 0, 0, 0);
	ck_assert_uint_eq((uint32_t)v, getuid());
	ck_assert_uint_eq(v >> 32, getgid());
	ck_assert_uint_eq(call(H_CGROUP_ID, 0, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(call(H_TASK, 0, 0, 0, 0, 0), 0);
}
END_TEST

START_TEST(comm_sizes)
{
	char buf[32];

	ck_assert_int_eq(prctl(PR_SET_NAME, "helpers-test", 0, 0, 0), 0);
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq((long)call(H_COMM, P(buf), 16, 0, 0, 0), 0);
	ck_assert_str_eq(buf, "helpers-test");
	for (int i = 12; i < 16; i++)
		ck_assert_int_eq(buf[i], 0); /* zero-padded to size */
	ck_assert_int_eq(buf[16], 'X');

	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq((long)call(H_COMM, P(buf), 5, 0, 0, 0), 0);
	ck_assert_str_eq(buf, "help"); /* truncated, NUL-terminated */
	ck_assert_int_eq(buf[5], 'X');

	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq((long)call(H_COMM, P(buf), 32, 0, 0, 0), 0);
	for (int i = 12; i < 32; i++)
		ck_assert_int_eq(buf[i], 0);

	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq((long)call(H_COMM, P(buf), 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(buf[0], 'X');
}
END_TEST

START_TEST(prandom_varies)
{
	uint32_t v[64], all_or = 0, all_and = ~0u;
	int same = 0;

	for (int i = 0; i < 64; i++) {
		v[i] = (uint32_t)call(H_PRANDOM, 0, 0, 0, 0, 0);
		all_or |= v[i];
		all_and &= v[i];
	}
	for (int i = 0; i < 64; i++)
		for (int j = i + 1; j < 64; j++)
			same += v[i] == v[j];
	ck_assert_int_eq(same, 0);
	ck_assert_uint_eq(all_or, 0xffffffffu); /* every bit is 1 somewhere ... */
	ck_assert_uint_eq(all_and, 0); /* ... and 0 somewhere */
}
END_TEST

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1++;
	else
		got_usr2++;
}

START_TEST(send_signal_delivers)
{
	signal(SIGUSR1, on_signal);
	signal(SIGUSR2, on_signal);
	ck_assert_int_eq((long)call(H_SEND_SIGNAL, SIGUSR1, 0, 0, 0, 0), 0);
	ck_assert_int_eq(got_usr1, 1);
	ck_assert_int_eq((long)call(H_SEND_SIGNAL_THREAD, SIGUSR2, 0, 0, 0, 0), 0);
	ck_assert_int_eq(got_usr2, 1);
	ck_assert_int_eq((long)call(H_SEND_SIGNAL, 65, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq((long)call(H_SEND_SIGNAL_THREAD, 1000, 0, 0, 0, 0), -EINVAL);
}
END_TEST

/* ---- memory reads ---- */

/* Two pages, the second unmapped: a string or a read can end right at the hole. */
static char *page_before_hole(void)
{
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_int_eq(munmap(p + 4096, 4096), 0);
	return p;
}

static int all_bytes(const char *p, size_t n, char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

START_TEST(probe_read_user_ok_and_fault)
{
	char *page = page_before_hole();
	char dst[64];
	int read_ids[] = { H_READ_USER, H_PROBE_READ };

	for (int k = 0; k < 2; k++) {
		int id = read_ids[k];

		memcpy(page + 4096 - 16, "0123456789abcdef", 16);
		memset(dst, 'X', sizeof(dst));
		ck_assert_int_eq((long)call(id, P(dst), 16, P(page + 4096 - 16), 0, 0), 0);
		ck_assert_int_eq(memcmp(dst, "0123456789abcdef", 16), 0);
		ck_assert_int_eq(dst[16], 'X');

		/* crosses into the hole: the whole read fails, dst zeroed, no SIGSEGV */
		memset(dst, 'X', sizeof(dst));
		ck_assert_int_eq((long)call(id, P(dst), 32, P(page + 4096 - 16), 0, 0), -EFAULT);
		ck_assert(all_bytes(dst, 32, 0));
		ck_assert_int_eq(dst[32], 'X');

		memset(dst, 'X', sizeof(dst));
		ck_assert_int_eq((long)call(id, P(dst), 8, P(page + 4096), 0, 0), -EFAULT);
		ck_assert(all_bytes(dst, 8, 0));
		ck_assert_int_eq((long)call(id, P(dst), 8, 0, 0, 0), -EFAULT);
		ck_assert_int_eq((long)call(id, P(dst), 0, 0, 0, 0), 0);
	}
	/* bpf_probe_read of a kernel address is a kernel read: never readable here */
	memset(dst, 'X', sizeof(dst));
	ck_assert_int_eq((long)call(H_PROBE_READ, P(dst), 8, 0xffffffff81000000ULL, 0, 0), -EFAULT);
	ck_assert(all_bytes(dst, 8, 0));
	munmap(page, 4096);
}
END_TEST

START_TEST(probe_read_kernel_faults)
{
	char dst[16], src[16] = "kernel?";
	int ids[] = { H_READ_KERNEL, H_READ_KERNEL_STR };
	uint64_t task = call(H_TASK, 0, 0, 0, 0, 0);

	for (int k = 0; k < 2; k++) {
		memset(dst, 'X', sizeof(dst));
		ck_assert_int_eq((long)call(ids[k], P(dst), 8, P(src), 0, 0), -EFAULT);
		ck_assert(all_bytes(dst, 8, 0));
		ck_assert_int_eq(dst[8], 'X');
		ck_assert_int_eq((long)call(ids[k], P(dst), 8, task + 1000, 0, 0), -EFAULT);
		ck_assert_int_eq((long)call(ids[k], P(dst), 0, P(src), 0, 0), 0);
	}
}
END_TEST

/* A string placed in the page before the hole so that it ends @tail bytes before the hole. */
struct str_case {
	const char *descr;
	const char *str; /* NULL: a source address of page + 4096 (unmapped) */
	uint32_t tail; /* bytes between the NUL (or the end of str) and the hole */
	bool no_nul; /* copy str without its NUL, right up to the hole */
	uint32_t size;
	long expect;
	const char *expect_str; /* what dst holds up to its NUL (checked when expect > 0) */
};

static const struct str_case str_cases[] = {
	{ "fits", "hello", 100, false, 16, 6, "hello" },
	{ "exact", "hello", 100, false, 6, 6, "hello" },
	{ "truncated", "hello", 100, false, 5, 5, "hell" },
	{ "size one", "hello", 100, false, 1, 1, "" },
	{ "size zero", "hello", 100, false, 0, 0, NULL },
	{ "empty", "", 100, false, 8, 1, "" },
	{ "ends at the hole", "edge", 0, false, 64, 5, "edge" },
	{ "runs into the hole", "nonul", 0, true, 64, -EFAULT, NULL },
	{ "stops before the hole", "nonul", 0, true, 5, 5, "nonu" },
	{ "unmapped", NULL, 0, false, 16, -EFAULT, NULL },
};

START_TEST(probe_read_user_str_cases)
{
	const struct str_case *c = &str_cases[_i];
	char *page = page_before_hole();
	int ids[] = { H_READ_USER_STR, H_PROBE_READ_STR };
	char dst[80];
	const char *src = page + 4096;

	if (c->str) {
		size_t n = strlen(c->str) + (c->no_nul ? 0 : 1);

		src = page + 4096 - c->tail - n;
		memcpy((char *)src, c->str, n);
	}
	for (int k = 0; k < 2; k++) {
		long ret;

		memset(dst, 'X', sizeof(dst));
		ret = (long)call(ids[k], P(dst), c->size, P(src), 0, 0);
		ck_assert_msg(ret == c->expect, "%s: got %ld", c->descr, ret);
		if (c->expect > 0) {
			ck_assert_str_eq(dst, c->expect_str);
			/* bytes after the NUL are left alone, as the kernel leaves them */
			ck_assert_msg(
				all_bytes(dst + c->expect, sizeof(dst) - (size_t)c->expect, 'X'),
				"%s: bytes past the NUL changed", c->descr);
		} else if (c->expect < 0) {
			ck_assert(all_bytes(dst, c->size, 0));
		} else {
			ck_assert(all_bytes(dst, sizeof(dst), 'X'));
		}
	}
	munmap(page, 4096);
}
END_TEST

/* A string longer than the helpers' read chunk and than a page. */
START_TEST(probe_read_user_str_long)
{
	size_t n = 9000;
	char *src = malloc(n + 1), *dst = malloc(n + 64);

	for (size_t i = 0; i < n; i++)
		src[i] = (char)('a' + i % 26);
	src[n] = 0;
	ck_assert_int_eq((long)call(H_READ_USER_STR, P(dst), (uint32_t)n + 64, P(src), 0, 0),
			 (long)n + 1);
	ck_assert_str_eq(dst, src);
	ck_assert_int_eq((long)call(H_READ_USER_STR, P(dst), 5000, P(src), 0, 0), 5000);
	ck_assert_uint_eq(strlen(dst), 4999);
	ck_assert_int_eq(memcmp(dst, src, 4999), 0);
	free(src);
	free(dst);
}
END_TEST

/* ---- ring buffers (kernel layout, read back the way libbpf reads it) ---- */

#define RB_BUSY	   (1u << 31)
#define RB_DISCARD (1u << 30)

struct rb_view {
	_Atomic uint64_t *cons, *prod;
	char *data;
	uint64_t mask;
};

static struct rb_view rb_view(struct bpfi_map_hdr *rb)
{
	uint64_t cons_off, prod_off, max_len;
	char *base = bpfi_arena_base(t_arena);
	struct rb_view v;

	ck_assert_int_eq(bpfi_map_mmap_range(rb, 0, &cons_off, &max_len), 0);
	ck_assert_int_eq(bpfi_map_mmap_range(rb, 1, &prod_off, &max_len), 0);
	v.cons = (_Atomic uint64_t *)(base + cons_off);
	v.prod = (_Atomic uint64_t *)(base + prod_off);
	v.data = base + prod_off + 4096;
	v.mask = rb->max_entries - 1;
	return v;
}

/* Next committed, non-discarded sample (consumed), or NULL; libbpf ringbuf_process_ring(). */
static void *rb_next(struct bpfi_map_hdr *rb, uint32_t *ret_len)
{
	struct rb_view v = rb_view(rb);
	uint64_t cons = atomic_load(v.cons), prod = atomic_load(v.prod);

	while (cons < prod) {
		uint32_t *hdr = (uint32_t *)(v.data + (cons & v.mask));
		uint32_t len = atomic_load((_Atomic uint32_t *)hdr);

		if (len & RB_BUSY)
			return NULL;
		cons += (8 + (len & ~(RB_BUSY | RB_DISCARD)) + 7) & ~7ULL;
		atomic_store(v.cons, cons);
		if (!(len & RB_DISCARD)) {
			*ret_len = len;
			return hdr + 2;
		}
	}
	return NULL;
}

START_TEST(ringbuf_reserve_submit_discard_output_query)
{
	struct bpfi_map_hdr *rb = new_map(BPF_MAP_TYPE_RINGBUF, 0, 0, 1 << 14);
	uint32_t len;
	char *p, *got;

	ck_assert_uint_eq(call(H_RB_QUERY, P(rb), BPF_RB_RING_SIZE, 0, 0, 0), 1 << 14);
	ck_assert_uint_eq(call(H_RB_QUERY, P(rb), BPF_RB_AVAIL_DATA, 0, 0, 0), 0);

	p = (char *)(uintptr_t)call(H_RB_RESERVE, P(rb), 12, 0, 0, 0);
	ck_assert_ptr_nonnull(p);
	memcpy(p, "reserved-one", 12);
	ck_assert_uint_eq(call(H_RB_SUBMIT, P(p), 0, 0, 0, 0), 0);

	p = (char *)(uintptr_t)call(H_RB_RESERVE, P(rb), 8, 0, 0, 0);
	ck_assert_ptr_nonnull(p);
	memcpy(p, "dropped!", 8);
	ck_assert_uint_eq(call(H_RB_DISCARD, P(p), 0, 0, 0, 0), 0);

	ck_assert_int_eq((long)call(H_RB_OUTPUT, P(rb), P("output-two"), 10, 0, 0), 0);
	/* 8-byte headers, samples rounded up to 8: 24 + 16 + 24 */
	ck_assert_uint_eq(call(H_RB_QUERY, P(rb), BPF_RB_AVAIL_DATA, 0, 0, 0), 64);
	ck_assert_uint_eq(call(H_RB_QUERY, P(rb), BPF_RB_PROD_POS, 0, 0, 0), 64);
	ck_assert_uint_eq(call(H_RB_QUERY, P(rb), BPF_RB_CONS_POS, 0, 0, 0), 0);

	got = rb_next(rb, &len);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(len, 12);
	ck_assert_int_eq(memcmp(got, "reserved-one", 12), 0);
	got = rb_next(rb, &len);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(len, 10);
	ck_assert_int_eq(memcmp(got, "output-two", 10), 0);
	ck_assert_ptr_null(rb_next(rb, &len));
	ck_assert_uint_eq(call(H_RB_QUERY, P(rb), BPF_RB_AVAIL_DATA, 0, 0, 0), 0);

	/* too big for the ring, or bad flags: no sample */
	ck_assert_uint_eq(call(H_RB_RESERVE, P(rb), 1 << 14, 0, 0, 0), 0);
	ck_assert_uint_eq(call(H_RB_RESERVE, P(rb), 8, 1, 0, 0), 0);
	ck_assert_int_lt((long)call(H_RB_OUTPUT, P(rb), P("x"), 1 << 14, 0, 0), 0);
}
END_TEST

/* ---- perf_event_output ---- */

/* The next PERF_RECORD_SAMPLE's raw data in the perf buffer at @off (consumed), or NULL. */
static void *perf_next(uint64_t off, uint32_t *ret_size)
{
	char *base = bpfi_arena_base(t_arena);
	struct perf_event_mmap_page *pg = (struct perf_event_mmap_page *)(base + off);
	char *data = base + off + pg->data_offset;
	/* Synchronizes with the release store of data_head in maps/ (kernel perf_output_put_handle) */
	uint64_t head =
		atomic_load_explicit((_Atomic uint64_t *)&pg->data_head, memory_order_acquire);
	uint64_t tail = pg->data_tail;
	struct perf_event_header *eh;
	void *raw;

	if (tail >= head)
		return NULL;
	eh = (struct perf_event_header *)(data + (tail & (pg->data_size - 1)));
	ck_assert_uint_eq(eh->type, PERF_RECORD_SAMPLE);
	*ret_size = *(uint32_t *)(eh + 1);
	raw = (uint32_t *)(eh + 1) + 1;
	atomic_store_explicit((_Atomic uint64_t *)&pg->data_tail, tail + eh->size,
			      memory_order_release);
	return raw;
}

START_TEST(perf_event_output_current_cpu_and_index)
{
	struct bpfi_map_hdr *pa = new_map(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, t_env.nr_cpus);
	uint64_t *bufs = calloc(t_env.nr_cpus, sizeof(*bufs));
	uint32_t size, cpu;
	char *raw;

	for (uint32_t c = 0; c < t_env.nr_cpus; c++) {
		ck_assert_int_eq(bpfi_perfbuf_new(t_arena, 2, &bufs[c], NULL), 0);
		ck_assert_int_eq(bpfi_perf_array_set(pa, c, bufs[c]), 0);
	}
	cpu = (uint32_t)sched_getcpu();
	ck_assert_int_eq(pin_to((int)cpu), 0);
	ck_assert_int_eq(
		(long)call(H_PERF_OUTPUT, 0, P(pa), BPF_F_CURRENT_CPU, P("on-this-cpu"), 11), 0);
	raw = perf_next(bufs[cpu], &size);
	ck_assert_ptr_nonnull(raw);
	ck_assert_uint_ge(size, 11);
	ck_assert_int_eq(memcmp(raw, "on-this-cpu", 11), 0);

	ck_assert_int_eq((long)call(H_PERF_OUTPUT, 0, P(pa), 0, P("slot-zero"), 9), 0);
	raw = perf_next(bufs[0], &size);
	ck_assert_ptr_nonnull(raw);
	ck_assert_int_eq(memcmp(raw, "slot-zero", 9), 0);

	ck_assert_int_eq((long)call(H_PERF_OUTPUT, 0, P(pa), 1ULL << 40, P("x"), 1), -EINVAL);
	ck_assert_int_lt((long)call(H_PERF_OUTPUT, 0, P(pa), t_env.nr_cpus, P("x"), 1), 0);
	free(bufs);
}
END_TEST

/* ---- trace_printk ---- */

static const char user_str[] = "world";
static const uint8_t ip4[4] = { 10, 0, 2, 255 };
static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

struct printk_case {
	const char *fmt;
	uint64_t a1, a2, a3;
	const char *expect; /* NULL: -EINVAL */
};

#define S P(user_str)

static const struct printk_case printk_cases[] = {
	{ "plain text", 0, 0, 0, "plain text" },
	{ "%d", (uint64_t)-1, 0, 0, "-1" },
	{ "%i", 42, 0, 0, "42" },
	{ "%d", 0x100000005ULL, 0, 0, "5" }, /* int-sized */
	{ "%u", 0xffffffffULL, 0, 0, "4294967295" },
	{ "%u", 0x1ffffffffULL, 0, 0, "4294967295" },
	{ "%x", 255, 0, 0, "ff" },
	{ "%X", 0xabcdef, 0, 0, "ABCDEF" },
	{ "%ld", (uint64_t)-5, 0, 0, "-5" },
	{ "%li", 1ULL << 40, 0, 0, "1099511627776" },
	{ "%lu", UINT64_MAX, 0, 0, "18446744073709551615" },
	{ "%lx", 0xdeadbeefcafef00dULL, 0, 0, "deadbeefcafef00d" },
	{ "%lld", (uint64_t)INT64_MIN, 0, 0, "-9223372036854775808" },
	{ "%lli", 7, 0, 0, "7" },
	{ "%llu", 1234567890123ULL, 0, 0, "1234567890123" },
	{ "%llx", 0x1234, 0, 0, "1234" },
	{ "%lX", 0xbeef, 0, 0, "BEEF" },
	{ "%p", 0x1234, 0, 0, "0000000000001234" },
	{ "%px", 0xffff8880deadbeefULL, 0, 0, "ffff8880deadbeef" },
	{ "%s", S, 0, 0, "world" },
	{ "%s!", 0, 0, 0, "!" }, /* unreadable string: empty */
	{ "%s.", 0xffffffff81000000ULL, 0, 0, "." }, /* kernel address */
	{ "%pus", S, 0, 0, "world" },
	{ "%pks", S, 0, 0, "" },
	{ "%c%c", 'o', 'k', 0, "ok" },
	{ "100%%", 0, 0, 0, "100%" },
	{ "a %d b %s c %c", 1, S, 'z', "a 1 b world c z" },
	{ "%5d|%-5d|%05d", 42, 42, (uint64_t)-42, "   42|42   |-0042" },
	{ "%+d % d %+u", 5, 5, 5, "+5  5 5" },
	{ "%08x %-4x|", 255, 10, 0, "000000ff a   |" },
	{ "%8s|%-7s|", S, S, 0, "   world|world  |" },
	{ "%3c|", 'c', 0, 0, "  c|" },
	{ "tab\tnewline\n", 0, 0, 0, "tab\tnewline\n" },
	{ "%pI4 %pi4", P(ip4), P(ip4), 0, "10.0.2.255 010.000.002.255" },
	{ "%pI6", P(ip6), 0, 0, "2001:0db8:0000:0000:0000:0000:0000:0001" },
	{ "%pi6|%pI4", P(ip6), 8, 0, "20010db8000000000000000000000001|0.0.0.0" },
	{ "%pi5", P(ip4), 0, 0, NULL },
	/* refused, as the kernel refuses them */
	{ "%d %d %d %d", 1, 2, 3, NULL },
	{ "%q", 0, 0, 0, NULL },
	{ "%", 0, 0, 0, NULL },
	{ "%l", 0, 0, 0, NULL },
	{ "%hd", 0, 0, 0, NULL },
	{ "%.3d", 0, 0, 0, NULL },
	{ "%#x", 0, 0, 0, NULL },
	{ "%sx", S, 0, 0, NULL },
	{ "%pusx", S, 0, 0, NULL },
	{ "%pQ", 0, 0, 0, NULL },
	{ "bell\a", 0, 0, 0, NULL },
	{ "caf\xc3\xa9", 0, 0, 0, NULL },
};

#undef S

START_TEST(printk_formats)
{
	const struct printk_case *c = &printk_cases[_i];
	struct bpfi_printk_rec *rec;
	uint64_t before = now_ns(CLOCK_MONOTONIC), after;
	uint32_t len;
	long ret;

	ck_assert_int_eq(prctl(PR_SET_NAME, "printk-test", 0, 0, 0), 0);
	ret = (long)call(H_PRINTK, P(c->fmt), strlen(c->fmt) + 1, c->a1, c->a2, c->a3);
	after = now_ns(CLOCK_MONOTONIC);
	rec = rb_next(t_printk, &len);
	if (!c->expect) {
		ck_assert_msg(ret == -EINVAL, "'%s': %ld", c->fmt, ret);
		ck_assert_ptr_null(rec);
		return;
	}
	ck_assert_msg(ret == (long)strlen(c->expect), "'%s': %ld", c->fmt, ret);
	ck_assert_ptr_nonnull(rec);
	ck_assert_uint_eq(len, sizeof(*rec) + rec->len + 1);
	ck_assert_uint_eq(rec->len, strlen(c->expect));
	ck_assert_msg(strcmp(rec->msg, c->expect) == 0, "'%s': got '%s', want '%s'", c->fmt,
		      rec->msg, c->expect);
	ck_assert_uint_eq(rec->pid, (uint32_t)getpid());
	ck_assert_uint_eq(rec->tid, (uint32_t)gettid());
	ck_assert_uint_lt(rec->cpu, t_env.nr_cpus);
	ck_assert_str_eq(rec->comm, "printk-test");
	ck_assert_uint_le(before, rec->ts_ns);
	ck_assert_uint_le(rec->ts_ns, after);
}
END_TEST

START_TEST(printk_sizes_and_truncation)
{
	struct bpfi_printk_rec *rec;
	char fmt[8] = "abc";
	uint32_t len;

	/* fmt_size must cover the NUL */
	ck_assert_int_eq((long)call(H_PRINTK, P(fmt), 3, 0, 0, 0), -EINVAL);
	ck_assert_int_eq((long)call(H_PRINTK, P(fmt), 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq((long)call(H_PRINTK, P(fmt), sizeof(fmt), 0, 0, 0), 3);
	rec = rb_next(t_printk, &len);
	ck_assert_ptr_nonnull(rec);
	ck_assert_str_eq(rec->msg, "abc");

	/* longer than the kernel's 1024-byte buffer: cut to 1023, length as the kernel reports */
	ck_assert_int_eq((long)call(H_PRINTK, P("%1000d%100d"), 12, 1, 2, 0), 1100);
	rec = rb_next(t_printk, &len);
	ck_assert_ptr_nonnull(rec);
	ck_assert_uint_eq(rec->len, BPFI_PRINTK_MAX);
	ck_assert_uint_eq(strlen(rec->msg), BPFI_PRINTK_MAX);
	ck_assert_int_eq(rec->msg[999], '1');

	/* no ring: the text is lost, the call still succeeds (as with the kernel's trace buffer) */
	t_env.printk_ring = NULL;
	ck_assert_int_eq((long)call(H_PRINTK, P("%d"), 3, 12345, 0, 0), 5);
}
END_TEST

/* ---- control ---- */

struct loop_ctx {
	uint64_t calls, sum, stop_at;
};

static long count_cb(uint64_t index, void *ctx)
{
	struct loop_ctx *c = ctx;

	c->calls++;
	c->sum += index;
	return index + 1 == c->stop_at;
}

static const struct {
	uint64_t nr, flags, stop_at;
	long expect;
	uint64_t calls;
} loop_cases[] = {
	{ 10, 0, 0, 10, 10 },
	{ 10, 0, 4, 4, 4 },
	{ 0, 0, 0, 0, 0 },
	{ 1u << 23, 0, 1, 1, 1 },
	{ (1u << 23) + 1, 0, 0, -E2BIG, 0 },
	{ 10, 1, 0, -EINVAL, 0 },
};

START_TEST(loop_native_callback)
{
	struct loop_ctx ctx = { .stop_at = loop_cases[_i].stop_at };
	long ret = (long)call(H_LOOP, loop_cases[_i].nr, P(count_cb), P(&ctx), loop_cases[_i].flags,
			      0);

	ck_assert_int_eq(ret, loop_cases[_i].expect);
	ck_assert_uint_eq(ctx.calls, loop_cases[_i].calls);
	ck_assert_uint_eq(ctx.sum, ctx.calls * (ctx.calls - (ctx.calls > 0)) / 2);
}
END_TEST

static uint64_t dummy_jit(uint64_t r1, uint64_t r2)
{
	return r1 + r2;
}

START_TEST(tail_call_target_resolves)
{
	static const struct bpf_insn exit_insn[] = { { .code = BPF_JMP | BPF_EXIT } };
	struct bpfi_prog_entry progs[4] = {
		[1] = { .jit_func = dummy_jit },
		[2] = { .insns = exit_insn, .insn_cnt = 1 },
		[3] = { 0 }, /* a program id without code */
	};
	struct bpfi_map_hdr *pa = new_map(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 8);
	struct bpfi_map_hdr *arr = new_map(BPF_MAP_TYPE_ARRAY, 4, 4, 8);
	uint32_t ids[] = { 1, 2, 3, 7 }; /* slots 0..3; 7 is beyond max_progs */

	t_env.progs = progs;
	t_env.max_progs = 4;
	for (uint32_t k = 0; k < 4; k++)
		ck_assert_int_eq(bpfi_map_update_user(pa, &k, &ids[k], 0), 0);
	ck_assert_ptr_eq(bpfi_tail_call_target(&t_env, pa, 0), &progs[1]);
	ck_assert_ptr_eq(bpfi_tail_call_target(&t_env, pa, 1), &progs[2]);
	ck_assert_ptr_null(bpfi_tail_call_target(&t_env, pa, 2));
	ck_assert_ptr_null(bpfi_tail_call_target(&t_env, pa, 3));
	ck_assert_ptr_null(bpfi_tail_call_target(&t_env, pa, 4)); /* empty slot */
	ck_assert_ptr_null(bpfi_tail_call_target(&t_env, pa, 8)); /* out of range */
	ck_assert_ptr_null(bpfi_tail_call_target(&t_env, pa, UINT32_MAX));
	ck_assert_ptr_null(bpfi_tail_call_target(&t_env, arr, 0)); /* not a PROG_ARRAY */
	ck_assert_ptr_null(bpfi_tail_call_target(&t_env, NULL, 0));
	/* the helper itself is never meant to run: the interpreter and JIT intercept it */
	ck_assert_int_lt((long)call(H_TAIL_CALL, 0, P(pa), 0, 0, 0), 0);
}
END_TEST

START_TEST(get_stack_zeroes_and_fails)
{
	char buf[64];

	memset(buf, 'X', sizeof(buf));
	ck_assert_int_lt((long)call(H_GET_STACK, 0, P(buf), 32, 0, 0), 0);
	ck_assert(all_bytes(buf, 32, 0));
	ck_assert_int_eq(buf[32], 'X');
}
END_TEST

#define N_CASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static TCase *new_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	suite_add_tcase(s, tc);
	return tc;
}

Suite *helpers_suite(void);
Suite *helpers_suite(void)
{
	Suite *s = suite_create("helpers");
	TCase *tc;

	tc = new_tcase(s, "table");
	tcase_add_test(tc, table_name_and_fill_agree);

	tc = new_tcase(s, "maps");
	tcase_add_test(tc, map_hash_lookup_update_delete);
	tcase_add_loop_test(tc, map_percpu_uses_current_cpu, 0, N_CASES(cpu_modes));

	tc = new_tcase(s, "identity");
	tcase_add_loop_test(tc, time_within_bounds, 0, 2 * N_CASES(clock_cases));
	tcase_add_test(tc, identity_matches_system);
	tcase_add_test(tc, comm_sizes);
	tcase_add_test(tc, prandom_varies);
	tcase_add_test(tc, send_signal_delivers);

	tc = new_tcase(s, "memory");
	tcase_add_test(tc, probe_read_user_ok_and_fault);
	tcase_add_test(tc, probe_read_kernel_faults);
	tcase_add_loop_test(tc, probe_read_user_str_cases, 0, N_CASES(str_cases));
	tcase_add_test(tc, probe_read_user_str_long);

	tc = new_tcase(s, "output");
	tcase_add_test(tc, ringbuf_reserve_submit_discard_output_query);
	tcase_add_test(tc, perf_event_output_current_cpu_and_index);
	tcase_add_loop_test(tc, printk_formats, 0, N_CASES(printk_cases));
	tcase_add_test(tc, printk_sizes_and_truncation);

	tc = new_tcase(s, "control");
	tcase_add_loop_test(tc, loop_native_callback, 0, N_CASES(loop_cases));
	tcase_add_test(tc, tail_call_target_resolves);
	tcase_add_test(tc, get_stack_zeroes_and_fails);
	return s;
}
