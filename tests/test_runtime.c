// SPDX-License-Identifier: MIT
/*
 * The userspace bpf(2) under real libbpf: clang-compiled objects opened and loaded with
 * bpf_object__open_file/bpf_object__load, their system calls routed by runtime_wrap_args.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpfinject/runtime.h>

#include "runtime_util.h"

static void setup(void)
{
	rt_start(BPFI_JIT_INTERP);
}

static void teardown(void)
{
	bpfi_runtime_fini();
}

/* libbpf's feature probes and the kernel answers libbpf 1.1 relies on (bpf-surface.md §3). */
struct probe_case {
	const char *descr;
	enum bpf_prog_type type;
	struct bpf_insn insns[8];
	uint32_t cnt;
};

static const struct probe_case probe_cases[] = {
	{ "trivial socket filter", BPF_PROG_TYPE_SOCKET_FILTER, { MOV0, EXIT }, 2 },
	{ "memcg (ktime_get_coarse_ns)", BPF_PROG_TYPE_SOCKET_FILTER, { CALL(160), EXIT }, 2 },
	{ "probe_read_kernel in a tracepoint",
	  BPF_PROG_TYPE_TRACEPOINT,
	  { INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 10, 0, 0),
	    INSN(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, -8),
	    INSN(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 8),
	    INSN(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0), CALL(113), EXIT },
	  6 },
	{ "trivial kprobe", BPF_PROG_TYPE_KPROBE, { MOV0, EXIT }, 2 },
	{ "trivial raw tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT, { MOV0, EXIT }, 2 },
};

START_TEST(feature_probe_loads)
{
	const struct probe_case *c = &probe_cases[_i];
	int fd;

	fd = bpf_prog_load(c->type, "libbpf_nametest", "GPL", c->insns, c->cnt, NULL);
	ck_assert_msg(fd >= 3, "%s: %d (%s)", c->descr, fd, strerror(errno));
	close(fd);
}
END_TEST

/* The tag is the kernel's: SHA-1 of the instructions (checked against sha1sum), 8 bytes. */
START_TEST(prog_tag_is_sha1)
{
	/* 9 insns, 72 bytes: a full block and a padded one */
	struct bpf_insn insns[] = { MOV0, MOV0, MOV0, MOV0, MOV0, MOV0, MOV0, CALL(5), EXIT };
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	char path[] = "/tmp/bpfi-tag-XXXXXX", cmd[64], hex[17] = "", want[41] = "";
	int fd, tmp;
	FILE *f;

	fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 9, NULL);
	ck_assert_int_ge(fd, 3);
	ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", info.tag[i]);
	tmp = mkstemp(path);
	ck_assert_int_ge(tmp, 0);
	ck_assert_int_eq(write(tmp, insns, sizeof(insns)), sizeof(insns));
	close(tmp);
	snprintf(cmd, sizeof(cmd), "sha1sum %s", path);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%40s", want), 1);
	pclose(f);
	unlink(path);
	want[16] = 0;
	ck_assert_str_eq(hex, want);
	close(fd);
}
END_TEST

/* FEAT_GLOBAL_DATA + FEAT_PROG_BIND_MAP + FEAT_PERF_LINK, as libbpf 1.1 issues them. */
START_TEST(feature_probe_global_data_bind_perf_link)
{
	struct bpf_insn insns[] = {
		INSN(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_VALUE, 0, 0),
		INSN(0, 0, 0, 0, 16),
		INSN(BPF_ST | BPF_MEM | BPF_DW, 1, 0, 0, 42),
		MOV0,
		EXIT,
	};
	int map, prog, link;
	uint32_t key = 0;
	uint64_t val[4];

	struct bpf_insn tp_insns[] = { MOV0, EXIT };
	int tp;

	map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "libbpf_global", 4, 32, 1, NULL);
	ck_assert_int_ge(map, 3);
	insns[0].imm = map;
	prog = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", insns, 5, NULL);
	ck_assert_msg(prog >= 3, "global data probe: %s", strerror(errno));
	ck_assert_int_eq(bpf_prog_bind_map(prog, map, NULL), 0);
	ck_assert_int_eq(bpf_map_lookup_elem(map, &key, val), 0);
	ck_assert_uint_eq(val[2], 0);

	tp = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, NULL, "GPL", tp_insns, 2, NULL);
	ck_assert_int_ge(tp, 3);
	link = bpf_link_create(tp, -1, BPF_PERF_EVENT, NULL);
	ck_assert_int_eq(link, -EBADF);
	close(tp);
	close(prog);
	close(map);
}
END_TEST

/* ld_imm64 through fd_array (BPF_PSEUDO_MAP_IDX_VALUE), as newer loaders emit it. */
START_TEST(fd_array_map_idx)
{
	struct bpf_insn insns[] = {
		INSN(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_IDX_VALUE, 0, 1),
		INSN(0, 0, 0, 0, 8),
		INSN(BPF_ST | BPF_MEM | BPF_DW, 1, 0, 0, 42),
		MOV0,
		EXIT,
	};
	int fds[2], prog;
	uint32_t key = 0;
	uint64_t val[2];
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .fd_array = fds);
	LIBBPF_OPTS(bpf_test_run_opts, run);

	fds[0] = bpf_map_create(BPF_MAP_TYPE_HASH, "unused", 4, 4, 1, NULL);
	fds[1] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "idx_value", 4, 16, 1, NULL);
	prog = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL, "GPL", insns, 5, &opts);
	ck_assert_msg(prog >= 3, "load: %s", strerror(errno));
	ck_assert_int_eq(bpf_prog_test_run_opts(prog, &run), 0);
	ck_assert_int_eq(bpf_map_lookup_elem(fds[1], &key, val), 0);
	ck_assert_uint_eq(val[0], 0);
	ck_assert_uint_eq(val[1], 42);
	/* the value offset must lie inside the value */
	insns[1].imm = 16;
	ck_assert_int_eq(bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL, "GPL", insns, 5, &opts),
			 -EINVAL);
	/* an index far past the caller's array: -EFAULT as from the kernel, not a crash */
	insns[1].imm = 8;
	insns[0].imm = 1 << 28;
	ck_assert_int_eq(bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL, "GPL", insns, 5, &opts),
			 -EFAULT);
	close(prog);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(libbpf_probe_apis)
{
	ck_assert_int_eq(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, NULL), 1);
	ck_assert_int_eq(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL), 1);
	ck_assert_int_eq(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_HASH, NULL), 1);
	ck_assert_int_eq(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL), 1);
	ck_assert_int_eq(
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_probe_read_kernel, NULL),
		1);
}
END_TEST

/* A larger attr than the kernel's union: accepted when the tail is zero, else E2BIG. */
START_TEST(attr_size_checks)
{
	struct {
		union bpf_attr attr;
		char tail[16];
	} big;
	long fd;

	memset(&big, 0, sizeof(big));
	big.attr.map_type = BPF_MAP_TYPE_ARRAY;
	big.attr.key_size = 4;
	big.attr.value_size = 8;
	big.attr.max_entries = 1;
	fd = syscall(SYS_bpf, BPF_MAP_CREATE, &big, sizeof(big));
	ck_assert_int_ge(fd, 3);
	close((int)fd);
	big.tail[7] = 1;
	ck_assert_int_eq(syscall(SYS_bpf, BPF_MAP_CREATE, &big, sizeof(big)), -1);
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_int_eq(syscall(SYS_bpf, 0x7fff, &big, sizeof(big.attr)), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* Every map of the object exists with its BTF-defined type and sizes (OBJ_GET_INFO_BY_FD). */
struct map_expect {
	const char *name;
	uint32_t type, key_size, value_size, max_entries;
};

static const struct map_expect map_expects[] = {
	{ "counts", BPF_MAP_TYPE_HASH, 4, 8, 64 },
	{ "slots", BPF_MAP_TYPE_ARRAY, 4, 8, 16 },
	{ "pcpu_arr", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4 },
	{ "pcpu_hash", BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 32 },
	{ "lru", BPF_MAP_TYPE_LRU_HASH, 8, 4, 8 },
	{ "rb", BPF_MAP_TYPE_RINGBUF, 0, 0, 4 * 4096 },
	{ "perf", BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 0 },
	{ "cgroups", BPF_MAP_TYPE_CGROUP_ARRAY, 4, 4, 1 },
	{ "progs", BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4 },
};

START_TEST(object_maps_created)
{
	struct bpf_object *obj = load_obj("rt_basic.bpf.o");

	for (size_t i = 0; i < sizeof(map_expects) / sizeof(map_expects[0]); i++) {
		const struct map_expect *e = &map_expects[i];
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd = map_fd(obj, e->name);

		ck_assert_int_ge(fd, 3);
		ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
		ck_assert_uint_eq(len, sizeof(info));
		ck_assert_msg(info.type == e->type, "%s: type %u", e->name, info.type);
		ck_assert_uint_eq(info.key_size, e->key_size);
		ck_assert_uint_eq(info.value_size, e->value_size);
		/* libbpf sizes PERF_EVENT_ARRAY to the possible CPUs */
		ck_assert_uint_eq(info.max_entries, e->max_entries
							    ? e->max_entries
							    : (uint32_t)libbpf_num_possible_cpus());
		ck_assert_str_eq(info.name, e->name);
		ck_assert_uint_ne(info.id, 0);
	}
	bpf_object__close(obj);
}
END_TEST

/* .rodata set before load (and frozen), .data and .bss shared between us and the program. */
START_TEST(globals_shared_with_programs)
{
	struct bpf_object *obj = bpf_object__open_file(obj_path("rt_basic.bpf.o"), NULL);
	struct bpf_map *rodata;
	uint64_t *ro, *data, *bss;
	size_t sz, mul_off;
	int fd;

	ck_assert_ptr_nonnull(obj);
	rodata = bpf_object__find_map_by_name(obj, ".rodata");
	ck_assert_ptr_nonnull(rodata);
	mul_off = datasec_var_off(obj, ".rodata", "mul");
	ro = byte_off((void *)bpf_map__initial_value(rodata, &sz), mul_off);
	ck_assert_uint_ge(sz, mul_off + 8);
	ck_assert_uint_eq(*ro, 3);
	*ro = 5;
	ck_assert_int_eq(bpf_object__load(obj), 0);
	ro = byte_off(remap_global(obj, ".rodata"), mul_off);
	data = byte_off(remap_global(obj, ".data"), datasec_var_off(obj, ".data", "data_counter"));
	bss = byte_off(remap_global(obj, ".bss"), datasec_var_off(obj, ".bss", "bss_last"));
	ck_assert_uint_eq(*ro, 5);
	ck_assert_uint_eq(*data, 100);

	*data = 1000;
	fd = prog_fd(obj, "count_arg");
	ck_assert_int_eq(run_kprobe(fd, 7, 1, NULL), 7 * 5 + 1);
	ck_assert_uint_eq(*data, 1001);
	ck_assert_uint_eq(*bss, 7 * 5 + 1);
	/* writes to frozen .rodata are refused */
	ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(rodata), &(uint32_t){ 0 }, ro, 0), -EPERM);
	bpf_object__close(obj);
}
END_TEST

/*
 * The skeleton flow libbpf-tools use (bpftool gen skeleton's, written by hand in
 * runtime_util.c): load_skeleton re-mmaps .rodata/.data/.bss over the map fds with mmap64.
 */
START_TEST(skeleton_flow)
{
	struct hand_skel k = { 0 };
	uint64_t *mul, *counter, *last;
	int fd;

	hand_skel_open(&k);
	mul = byte_off(k.rodata_p, datasec_var_off(k.obj, ".rodata", "mul"));
	*mul = 4;
	ck_assert_int_eq(bpf_object__load_skeleton(k.s), 0);
	/* the same addresses, now the maps' memory */
	mul = byte_off(k.rodata_p, datasec_var_off(k.obj, ".rodata", "mul"));
	counter = byte_off(k.data_p, datasec_var_off(k.obj, ".data", "data_counter"));
	last = byte_off(k.bss_p, datasec_var_off(k.obj, ".bss", "bss_last"));
	ck_assert_uint_eq(*mul, 4);
	*counter = 7;
	fd = bpf_program__fd(k.count_arg);
	ck_assert_int_eq(run_kprobe(fd, 10, 1, NULL), 41);
	ck_assert_uint_eq(*counter, 8);
	ck_assert_uint_eq(*last, 41);
	bpf_object__destroy_skeleton(k.s);
	free(k.elf);
}
END_TEST

/* PROG_TEST_RUN: ctx_in as pt_regs (PT_REGS_PARM1), repeat, duration, maps after the runs. */
START_TEST(test_run_kprobe)
{
	struct bpf_object *obj = load_obj("rt_basic.bpf.o");
	int fd = prog_fd(obj, "count_arg"), ncpu = libbpf_num_possible_cpus();
	uint64_t count = 0, slot = 0, pcpu[256] = { 0 }, sum = 0;
	uint32_t key = 77 & 63, duration = 0, zero = 0;

	ck_assert_int_eq(run_kprobe(fd, 77, 1000, &duration), 77 * 3 + 1);
	ck_assert_uint_gt(duration, 0);
	ck_assert_int_eq(bpf_map_lookup_elem(map_fd(obj, "counts"), &key, &count), 0);
	ck_assert_uint_eq(count, 1000);
	key = 77 & 15;
	ck_assert_int_eq(bpf_map_lookup_elem(map_fd(obj, "slots"), &key, &slot), 0);
	ck_assert_uint_eq(slot, 77 * 1000);
	ck_assert_int_le(ncpu, 256);
	ck_assert_int_eq(bpf_map_lookup_elem(map_fd(obj, "pcpu_arr"), &zero, pcpu), 0);
	for (int i = 0; i < ncpu; i++)
		sum += pcpu[i];
	ck_assert_uint_eq(sum, 1000);

	/* a context shorter than pt_regs is zero-extended: arg 0 */
	ck_assert_int_eq(run_args(fd, (uint64_t[]){ 9 }, 1), 1);
	ck_assert_int_eq(run_kprobe(prog_fd(obj, "hash_pcpu"), 12, 1, NULL), 1);
	/* a per-CPU hash value comes back as one 8-byte slot per possible CPU */
	memset(pcpu, 0, sizeof(pcpu));
	key = 12;
	ck_assert_int_eq(bpf_map_lookup_elem(map_fd(obj, "pcpu_hash"), &key, pcpu), 0);
	sum = 0;
	for (int i = 0; i < ncpu; i++)
		sum += pcpu[i];
	ck_assert_uint_eq(sum, 24);
	bpf_object__close(obj);
}
END_TEST

/* ctx_out (ENOSPC when short), data_in refused for tracing types, socket filters not run. */
START_TEST(test_run_ctx_rules)
{
	struct bpf_insn insns[] = { MOV0, EXIT };
	uint64_t regs[PT_REGS_SLOTS] = { 0 }, out[PT_REGS_SLOTS] = { 0 }, pkt[8] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = regs, .ctx_size_in = sizeof(regs),
		    .ctx_out = out, .ctx_size_out = sizeof(out));
	int kp, sf;

	kp = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 2, NULL);
	sf = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", insns, 2, NULL);
	ck_assert_int_ge(kp, 3);
	ck_assert_int_ge(sf, 3);
	regs[PT_REGS_DI_SLOT] = 0x1234;
	ck_assert_int_eq(bpf_prog_test_run_opts(kp, &opts), 0);
	ck_assert_uint_eq(opts.ctx_size_out, sizeof(regs));
	ck_assert_uint_eq(out[PT_REGS_DI_SLOT], 0x1234);
	opts.ctx_size_out = 16;
	ck_assert_int_eq(bpf_prog_test_run_opts(kp, &opts), -ENOSPC);
	ck_assert_uint_eq(opts.ctx_size_out, sizeof(regs));

	opts.ctx_out = NULL;
	opts.ctx_size_out = 0;
	opts.data_in = pkt;
	opts.data_size_in = sizeof(pkt);
	ck_assert_int_eq(bpf_prog_test_run_opts(kp, &opts), -EINVAL);
	ck_assert_int_eq(bpf_prog_test_run_opts(sf, &opts), -KERNEL_ENOTSUPP);
	close(kp);
	close(sf);
}
END_TEST

/*
 * Issue 11 B4: a tracepoint program may read its context up to 2048 bytes, whatever ctx_in
 * gave: the run's buffer is that large, zeroes past ctx_in (under ASan a short buffer is a
 * heap-buffer-overflow; here the read words must be 0).
 */
START_TEST(test_run_short_ctx_reads_zeroes)
{
	struct bpf_insn insns[] = {
		INSN(BPF_LDX | BPF_DW | BPF_MEM, 0, 1, 2040, 0),
		INSN(BPF_LDX | BPF_DW | BPF_MEM, 2, 1, 1024, 0),
		INSN(BPF_ALU64 | BPF_OR | BPF_X, 0, 2, 0, 0),
		INSN(BPF_LDX | BPF_DW | BPF_MEM, 2, 1, 8, 0),
		INSN(BPF_ALU64 | BPF_OR | BPF_X, 0, 2, 0, 0),
		EXIT,
	};
	uint64_t rec[2] = { 0x1111, 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = rec, .ctx_size_in = 8);
	int tp = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, NULL, "GPL", insns, 6, NULL);

	ck_assert_int_ge(tp, 3);
	ck_assert_int_eq(bpf_prog_test_run_opts(tp, &opts), 0);
	ck_assert_uint_eq(opts.retval, 0);
	opts.ctx_size_in = 16;
	rec[1] = 0x2222;
	ck_assert_int_eq(bpf_prog_test_run_opts(tp, &opts), 0);
	ck_assert_uint_eq(opts.retval, 0x2222);
	close(tp);
}
END_TEST

/* A tracepoint record of 8-byte slots, and the ring buffer read back with libbpf. */
static int ring_cb(void *ctx, void *data, size_t size)
{
	uint64_t *out = ctx;

	ck_assert_uint_eq(size, 8);
	*out = *(uint64_t *)data;
	return 0;
}

START_TEST(test_run_tracepoint_ringbuf)
{
	struct bpf_object *obj = load_obj("rt_basic.bpf.o");
	uint64_t rec[8] = { 0, 257, 30, 12 }, got = 0;
	struct ring_buffer *rb;

	ck_assert_int_eq(run_args(prog_fd(obj, "tp_ring"), rec, 8), 42);
	rb = ring_buffer__new(map_fd(obj, "rb"), ring_cb, &got, NULL);
	ck_assert_msg(rb != NULL, "ring_buffer__new: %s", strerror(errno));
	ck_assert_int_eq(ring_buffer__consume(rb), 1);
	ck_assert_uint_eq(got, 42);
	ring_buffer__free(rb);
	bpf_object__close(obj);
}
END_TEST

static void printk_cb(const struct bpfi_printk_line *line, void *cookie)
{
	snprintf(cookie, 64, "%s", line->msg);
}

START_TEST(trace_printk_drained)
{
	struct bpf_object *obj = load_obj("rt_basic.bpf.o");
	char msg[64] = "";

	ck_assert_int_eq(run_args(prog_fd(obj, "raw_printk"), (uint64_t[]){ 42 }, 1), 0);
	ck_assert_int_eq(bpfi_runtime_drain_printk(printk_cb, msg), 1);
	ck_assert_str_eq(msg, "hello 42");
	ck_assert_int_eq(bpfi_runtime_drain_printk(printk_cb, msg), 0);
	bpf_object__close(obj);
}
END_TEST

/* Userspace map access: GET_NEXT_KEY iteration sees every key exactly once. */
START_TEST(map_iteration)
{
	struct bpf_object *obj = load_obj("rt_basic.bpf.o");
	int fd = map_fd(obj, "counts"), n = 0;
	uint32_t key, next, *prev = NULL, seen = 0;
	uint64_t val;

	for (key = 0; key < 20; key++) {
		val = key * 10;
		ck_assert_int_eq(bpf_map_update_elem(fd, &key, &val, BPF_NOEXIST), 0);
	}
	key = 3;
	ck_assert_int_eq(bpf_map_update_elem(fd, &key, &val, BPF_NOEXIST), -EEXIST);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		ck_assert_uint_lt(next, 20);
		ck_assert_int_eq(bpf_map_lookup_elem(fd, &next, &val), 0);
		ck_assert_uint_eq(val, next * 10);
		seen |= 1u << next;
		key = next;
		prev = &key;
		n++;
	}
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(n, 20);
	ck_assert_uint_eq(seen, (1u << 20) - 1);
	key = 5;
	ck_assert_int_eq(bpf_map_lookup_and_delete_elem(fd, &key, &val), 0);
	ck_assert_uint_eq(val, 50);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &val), -ENOENT);
	ck_assert_int_eq(bpf_map_delete_elem(fd, &key), -ENOENT);
	bpf_object__close(obj);
}
END_TEST

/* LOOKUP_BATCH and LOOKUP_AND_DELETE_BATCH: batches until ENOENT, count at the end. */
START_TEST(map_batches)
{
	struct bpf_object *obj = load_obj("rt_basic.bpf.o");
	int fd = map_fd(obj, "counts"), afd = map_fd(obj, "slots");
	uint32_t keys[8], count, batch, total = 0, seen = 0, ukeys[10];
	uint64_t vals[8], uvals[10];
	void *in = NULL;
	int err;

	for (uint32_t i = 0; i < 10; i++) {
		ukeys[i] = i + 40;
		uvals[i] = i + 1000;
	}
	count = 10;
	ck_assert_int_eq(bpf_map_update_batch(fd, ukeys, uvals, &count, NULL), 0);
	ck_assert_uint_eq(count, 10);
	do {
		count = 4;
		err = bpf_map_lookup_batch(fd, in, &batch, keys, vals, &count, NULL);
		ck_assert_msg(!err || err == -ENOENT, "lookup batch: %d", err);
		for (uint32_t i = 0; i < count; i++) {
			ck_assert_uint_eq(vals[i], keys[i] - 40 + 1000);
			seen |= 1u << (keys[i] - 40);
		}
		total += count;
		in = &batch;
	} while (!err);
	ck_assert_uint_eq(total, 10);
	ck_assert_uint_eq(seen, (1u << 10) - 1);

	total = 0;
	do {
		count = 3;
		err = bpf_map_lookup_and_delete_batch(fd, NULL, &batch, keys, vals, &count, NULL);
		ck_assert_msg(!err || err == -ENOENT, "lookup and delete batch: %d", err);
		total += count;
	} while (!err);
	ck_assert_uint_eq(total, 10);
	ck_assert_int_eq(bpf_map_get_next_key(fd, NULL, keys), -ENOENT);

	/* arrays: lookup batch walks every index; deleting is not an array operation */
	count = 8;
	ck_assert_int_eq(bpf_map_lookup_batch(afd, NULL, &batch, keys, vals, &count, NULL), 0);
	ck_assert_uint_eq(count, 8);
	ck_assert_uint_eq(keys[7], 7);
	count = 8;
	ck_assert_int_eq(bpf_map_lookup_batch(afd, &batch, &batch, keys, vals, &count, NULL), 0);
	ck_assert_uint_eq(count, 8);
	ck_assert_uint_eq(keys[0], 8);
	count = 8;
	ck_assert_int_eq(bpf_map_lookup_batch(afd, &batch, &batch, keys, vals, &count, NULL),
			 -ENOENT);
	ck_assert_uint_eq(count, 0);
	count = 1;
	ck_assert_int_eq(bpf_map_delete_batch(afd, keys, &count, NULL), -KERNEL_ENOTSUPP);
	bpf_object__close(obj);
}
END_TEST

/* The check rejects the program; the reason reaches libbpf's log buffer. */
START_TEST(rejected_program_log)
{
	struct bpf_object *obj = bpf_object__open_file(obj_path("rt_reject.bpf.o"), NULL);
	struct bpf_program *prog;
	char log[4096] = "";

	ck_assert_ptr_nonnull(obj);
	prog = bpf_object__find_program_by_name(obj, "rejected");
	ck_assert_ptr_nonnull(prog);
	ck_assert_int_eq(bpf_program__set_log_buf(prog, log, sizeof(log)), 0);
	ck_assert_int_ne(bpf_object__load(obj), 0);
	ck_assert_msg(strstr(log, "func unknown#999") != NULL, "log: '%s'", log);
	ck_assert_msg(strstr(log, "insn ") != NULL, "log: '%s'", log);
	bpf_object__close(obj);
}
END_TEST

/* The same rejection through the raw command; a log_size under 128 is refused, as the kernel. */
START_TEST(rejected_program_short_log)
{
	struct bpf_insn insns[] = { CALL(999), EXIT };
	char log[128];
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log),
		    .log_level = 1);
	int fd;

	fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "rej", "GPL", insns, 2, &opts);
	ck_assert_int_lt(fd, 0);
	ck_assert_msg(strlen(log) > 0, "empty log");
	opts.log_size = 8;
	ck_assert_int_eq(bpf_prog_load(BPF_PROG_TYPE_KPROBE, "rej", "GPL", insns, 2, &opts),
			 -EINVAL);
}
END_TEST

/* log_level 2 traces the check; a log too small for it gives ENOSPC (and log_true_size). */
START_TEST(prog_log_levels)
{
	struct bpf_insn insns[16];
	char small[128], big[65536];
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = big, .log_size = sizeof(big),
		    .log_level = 1);
	int fd;

	for (int i = 0; i < 15; i++)
		insns[i] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, i % 10, 0, 0, i);
	insns[15] = EXIT;
	fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "lvl", "GPL", insns, 16, &opts);
	ck_assert_int_ge(fd, 3);
	ck_assert_msg(strstr(big, "processed 16 insns") != NULL, "log: '%s'", big);
	close(fd);
	opts.log_level = 2;
	fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "lvl", "GPL", insns, 16, &opts);
	ck_assert_int_ge(fd, 3);
	ck_assert_uint_gt(strlen(big), sizeof(small));
	close(fd);
	opts.log_buf = small;
	opts.log_size = sizeof(small);
	ck_assert_int_eq(bpf_prog_load(BPF_PROG_TYPE_KPROBE, "lvl", "GPL", insns, 16, &opts),
			 -ENOSPC);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);

	/* log_true_size (Linux 6.4, after core_relo_rec_size): what the whole log needs */
	union bpf_attr attr = {
		.prog_type = BPF_PROG_TYPE_KPROBE,
		.insn_cnt = 16,
		.insns = (uint64_t)(uintptr_t)insns,
		.license = (uint64_t)(uintptr_t) "GPL",
		.log_level = 2,
		.log_size = sizeof(small),
		.log_buf = (uint64_t)(uintptr_t)small,
	};
	uint32_t true_size;

	ck_assert_int_eq(syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)), -1);
	ck_assert_int_eq(errno, ENOSPC);
	memcpy(&true_size, (char *)&attr + 140, sizeof(true_size));
	ck_assert_uint_eq(true_size, strlen(big) + 1);
}
END_TEST

/*
 * A raw PROG_LOAD of "call pc+1; exit; call pc-4; exit" (issue 11 B1): the bpf-to-bpf call to
 * insn -1 is refused like the kernel does, where the check used to read out of bounds and
 * the loading process (a tool under the shim) died.
 */
START_TEST(prog_load_call_before_start)
{
	struct bpf_insn insns[] = { INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 1), EXIT,
				    INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, -4), EXIT };
	char log[256] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log),
		    .log_level = 1);

	ck_assert_int_eq(bpf_prog_load(BPF_PROG_TYPE_KPROBE, "neg", "GPL", insns, 4, &opts),
			 -EINVAL);
	ck_assert_msg(strstr(log, "insn 2: call to invalid destination") != NULL, "log: '%s'", log);
}
END_TEST

/* One lock around the object table: threads creating, updating and loading at once. */
#define NR_THREADS 4
#define NR_UPDATES 500

static void *hammer(void *arg)
{
	int fd = *(int *)arg, tid = ((int *)arg)[1];
	struct bpf_insn insns[] = { MOV0, EXIT };

	for (uint32_t i = 0; i < NR_UPDATES; i++) {
		uint32_t key = (uint32_t)tid * NR_UPDATES + i;
		uint64_t val = key;

		if (bpf_map_update_elem(fd, &key, &val, BPF_NOEXIST))
			return (void *)1;
		if (i % 50 == 0) {
			int p = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 2, NULL);

			if (p < 0)
				return (void *)2;
			close(p);
		}
	}
	return NULL;
}

START_TEST(threads_share_the_table)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "threads", 4, 8, NR_THREADS * NR_UPDATES, NULL);
	int args[NR_THREADS][2];
	pthread_t th[NR_THREADS];
	uint32_t key, n = 0, *prev = NULL, next;

	ck_assert_int_ge(fd, 3);
	for (int i = 0; i < NR_THREADS; i++) {
		args[i][0] = fd;
		args[i][1] = i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, args[i]), 0);
	}
	for (int i = 0; i < NR_THREADS; i++) {
		void *ret;

		ck_assert_int_eq(pthread_join(th[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	ck_assert_uint_eq(n, NR_THREADS * NR_UPDATES);
	close(fd);
}
END_TEST

/* OBJ_GET_INFO_BY_FD for programs (xlated insns with map ids, as the kernel dumps) and BTF. */
START_TEST(info_by_fd)
{
	struct bpf_object *obj = load_obj("rt_basic.bpf.o");
	struct bpf_prog_info info = { 0 };
	struct bpf_map_info minfo = { 0 };
	struct bpf_btf_info binfo = { 0 };
	uint32_t len = sizeof(info), ids[16] = { 0 }, mlen = sizeof(minfo), blen = sizeof(binfo);
	struct bpf_insn insns[512];
	int fd = prog_fd(obj, "count_arg"), cfd = map_fd(obj, "counts");
	bool found = false;

	ck_assert_int_eq(bpf_obj_get_info_by_fd(cfd, &minfo, &mlen), 0);
	ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	ck_assert_uint_eq(info.type, BPF_PROG_TYPE_KPROBE);
	ck_assert_str_eq(info.name, "count_arg");
	ck_assert_uint_gt(info.xlated_prog_len, 0);
	ck_assert_uint_eq(info.xlated_prog_len % 8, 0);
	ck_assert_uint_le(info.xlated_prog_len, sizeof(insns));
	ck_assert_uint_ge(info.nr_map_ids, 3);
	ck_assert(info.gpl_compatible);

	len = info.xlated_prog_len;
	memset(&info, 0, sizeof(info));
	info.xlated_prog_len = len;
	info.xlated_prog_insns = (uint64_t)(uintptr_t)insns;
	info.nr_map_ids = 16;
	info.map_ids = (uint64_t)(uintptr_t)ids;
	len = sizeof(info);
	ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	for (uint32_t i = 0; i < info.xlated_prog_len / 8; i++) {
		if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    insns[i].src_reg == BPF_PSEUDO_MAP_FD && (uint32_t)insns[i].imm == minfo.id)
			found = true;
	}
	ck_assert_msg(found, "no ld_imm64 of map id %u in the dump", minfo.id);
	found = false;
	for (uint32_t i = 0; i < info.nr_map_ids && i < 16; i++)
		found |= ids[i] == minfo.id;
	ck_assert(found);

	ck_assert_int_ge(btf__fd(bpf_object__btf(obj)), 3);
	ck_assert_int_eq(bpf_obj_get_info_by_fd(btf__fd(bpf_object__btf(obj)), &binfo, &blen), 0);
	ck_assert_uint_gt(binfo.btf_size, 24);
	ck_assert_uint_ne(binfo.id, 0);
	ck_assert_uint_eq(minfo.btf_id, binfo.id);
	bpf_object__close(obj);
}
END_TEST

/* Map fds are real fds: fstat, dup + close keep the map, the last close frees it. */
START_TEST(fds_are_real)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "fdtest", 4, 4, 8, NULL), fd2, fd3;
	uint32_t key = 1, val = 2, id;
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	struct stat st;

	ck_assert_int_ge(fd, 3);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	id = info.id;
	ck_assert_int_eq(bpf_map_update_elem(fd, &key, &val, 0), 0);
	fd2 = dup(fd);
	ck_assert_int_ge(fd2, 3);
	ck_assert_int_eq(close(fd), 0);
	val = 0;
	ck_assert_int_eq(bpf_map_lookup_elem(fd2, &key, &val), 0);
	ck_assert_uint_eq(val, 2);
	fd3 = bpf_map_get_fd_by_id(id);
	ck_assert_int_ge(fd3, 3);
	ck_assert_int_eq(close(fd2), 0);
	ck_assert_int_eq(bpf_map_lookup_elem(fd3, &key, &val), 0);
	ck_assert_int_eq(close(fd3), 0);
	ck_assert_int_eq(bpf_map_get_fd_by_id(id), -ENOENT);
	ck_assert_int_eq(bpf_map_lookup_elem(fd3, &key, &val), -EBADF);
	/* a regular file is not a map */
	fd = open("/proc/self/stat", O_RDONLY);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &val), -EINVAL);
	close(fd);
}
END_TEST

/* MAP_FREEZE: not while mapped writable, once only, then syscall writes are refused. */
START_TEST(freeze_rules)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_MMAPABLE);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "frz", 4, 8, 4, &mopts);
	uint32_t key = 1;
	uint64_t val = 5, *mem;

	ck_assert_int_ge(fd, 3);
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(mem, MAP_FAILED);
	ck_assert_int_eq(bpf_map_update_elem(fd, &key, &val, BPF_ANY), 0);
	ck_assert_uint_eq(mem[1], 5);
	ck_assert_int_eq(bpf_map_freeze(fd), -EBUSY);
	ck_assert_int_eq(munmap(mem, 4096), 0);
	ck_assert_int_eq(bpf_map_freeze(fd), 0);
	ck_assert_int_eq(bpf_map_freeze(fd), -EBUSY);
	ck_assert_int_eq(bpf_map_update_elem(fd, &key, &val, BPF_ANY), -EPERM);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &val), 0);
	ck_assert_uint_eq(val, 5);
	close(fd);
}
END_TEST

/* A program holds its maps: the map outlives its fds, GET_FD_BY_ID gives a new one. */
START_TEST(map_held_by_program)
{
	struct bpf_insn insns[] = {
		INSN(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_VALUE, 0, 0),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ST | BPF_MEM | BPF_DW, 1, 0, 0, 42),
		MOV0,
		EXIT,
	};
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info), key = 0;
	uint64_t val = 0;
	LIBBPF_OPTS(bpf_test_run_opts, run);
	int map, prog;

	map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "held", 4, 8, 1, NULL);
	ck_assert_int_ge(map, 3);
	ck_assert_int_eq(bpf_obj_get_info_by_fd(map, &info, &len), 0);
	insns[0].imm = map;
	prog = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL, "GPL", insns, 5, NULL);
	ck_assert_int_ge(prog, 3);
	ck_assert_int_eq(close(map), 0);
	ck_assert_int_eq(bpf_prog_test_run_opts(prog, &run), 0);
	map = bpf_map_get_fd_by_id(info.id);
	ck_assert_int_ge(map, 3);
	ck_assert_int_eq(bpf_map_lookup_elem(map, &key, &val), 0);
	ck_assert_uint_eq(val, 42);
	ck_assert_int_eq(close(map), 0);
	ck_assert_int_eq(close(prog), 0);
	ck_assert_int_eq(bpf_map_get_fd_by_id(info.id), -ENOENT);
}
END_TEST

/* BTF_LOAD of a well-formed blob (libbpf's int probe) and of junk; ids as a bare kernel. */
START_TEST(btf_load_and_ids)
{
	struct {
		struct btf_header hdr;
		uint32_t types[4];
		char strs[4];
	} blob = {
		.hdr = { .magic = BTF_MAGIC,
			 .version = BTF_VERSION,
			 .hdr_len = sizeof(blob.hdr),
			 .type_off = 0,
			 .type_len = 16,
			 .str_off = 16,
			 .str_len = 4 },
		/* [1] int "a" size 4: name_off 1, info INT, size 4, encoding bits 32 */
		.types = { 1, BTF_KIND_INT << 24, 4, 32 },
		.strs = "\0a\0",
	};
	uint32_t id = 0, next;
	int fd;

	ck_assert_int_eq(bpf_btf_get_next_id(0, &next), -ENOENT);
	fd = bpf_btf_load(&blob, sizeof(blob), NULL);
	ck_assert_int_ge(fd, 3);
	ck_assert_int_eq(bpf_btf_get_next_id(0, &id), 0);
	ck_assert_int_eq(bpf_btf_get_next_id(id, &next), -ENOENT);
	blob.hdr.magic = 0x1234;
	ck_assert_int_eq(bpf_btf_load(&blob, sizeof(blob), NULL), -EINVAL);
	blob.hdr.magic = BTF_MAGIC;
	blob.types[1] = 31u << 24;
	ck_assert_int_eq(bpf_btf_load(&blob, sizeof(blob), NULL), -EINVAL);
	close(fd);
}
END_TEST

/* A tail call through a PROG_ARRAY; an empty slot falls through. */
START_TEST(tail_call)
{
	struct bpf_object *obj = load_obj("rt_tail.bpf.o");
	int entry = prog_fd(obj, "tail_entry"), target = prog_fd(obj, "tail_target");
	int table = map_fd(obj, "jmp_table");
	uint64_t *bss = remap_global(obj, ".bss");
	uint32_t key = 0, id = 0;
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	ck_assert_int_eq(run_args(entry, (uint64_t[]){ 5 }, 1), 7);
	ck_assert_int_eq(bpf_map_update_elem(table, &key, &target, BPF_ANY), 0);
	ck_assert_int_eq(run_args(entry, (uint64_t[]){ 5 }, 1), 47);
	ck_assert_uint_eq(*bss, 1);
	/* a syscall lookup of a PROG_ARRAY slot gives the program id */
	ck_assert_int_eq(bpf_map_lookup_elem(table, &key, &id), 0);
	ck_assert_int_eq(bpf_obj_get_info_by_fd(target, &info, &len), 0);
	ck_assert_uint_eq(id, info.id);
	/* the slot keeps the program alive after its last fd is closed, as the kernel's */
	target = dup(target);
	bpf_program__unload(bpf_object__find_program_by_name(obj, "tail_target"));
	ck_assert_int_eq(close(target), 0);
	ck_assert_int_eq(run_args(entry, (uint64_t[]){ 5 }, 1), 47);
	ck_assert_int_eq(bpf_map_delete_elem(table, &key), 0);
	ck_assert_int_eq(run_args(entry, (uint64_t[]){ 5 }, 1), 7);
	bpf_object__close(obj);
}
END_TEST

/*
 * rt_rodata with its optional map not created, as mountsnoop does with a heap it does not
 * need: libbpf turns the map's ld_imm64 into poisoned calls, dead behind a .rodata flag.
 */
static struct bpf_object *load_rodata_obj(void)
{
	struct bpf_object *obj = bpf_object__open_file(obj_path("rt_rodata.bpf.o"), NULL);

	ck_assert_ptr_nonnull(obj);
	ck_assert_int_eq(
		bpf_map__set_autocreate(bpf_object__find_map_by_name(obj, "optional"), false), 0);
	ck_assert_int_eq(bpf_object__load(obj), 0);
	return obj;
}

/* A call to an unknown helper behind a frozen .rodata flag that is false: dead, loads. */
START_TEST(rodata_dead_code_loads)
{
	struct bpf_object *obj = load_rodata_obj();

	ck_assert_int_eq(run_args(prog_fd(obj, "rodata_dead"), (uint64_t[]){ 0 }, 1), 11);
	ck_assert_int_eq(run_args(prog_fd(obj, "rodata_poisoned"), (uint64_t[]){ 0 }, 1), 12);
	bpf_object__close(obj);
}
END_TEST

/* bpf_loop's callback is a subprogram named by ld_imm64 BPF_PSEUDO_FUNC, left to the backends. */
START_TEST(bpf_loop_callback)
{
	struct bpf_object *obj = load_obj("rt_loop.bpf.o");

	ck_assert_int_eq(run_args(prog_fd(obj, "loop_sum"), (uint64_t[]){ 10 }, 1), 45);
	bpf_object__close(obj);
}
END_TEST

/* perf_buffer__new: BPF_OUTPUT perf events stored into the PERF_EVENT_ARRAY by fd. */
static void perf_cb(void *ctx, int cpu, void *data, __u32 size)
{
}

START_TEST(perf_event_array_slots)
{
	struct bpf_object *obj = load_obj("rt_basic.bpf.o");
	int fd = map_fd(obj, "perf");
	struct perf_buffer *pb;
	uint32_t key = 0, val = 0;

	pb = perf_buffer__new(fd, 4, perf_cb, NULL, NULL, NULL);
	ck_assert_msg(pb != NULL, "perf_buffer__new: %s", strerror(errno));
	/* a slot holds a perf event: not readable back, as the kernel's -ENOTSUPP */
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &val), -KERNEL_ENOTSUPP);
	/* a map fd is not a perf event */
	val = (uint32_t)map_fd(obj, "counts");
	ck_assert_int_eq(bpf_map_update_elem(fd, &key, &val, BPF_ANY), -EBADF);
	perf_buffer__free(pb);
	ck_assert_int_eq(bpf_map_delete_elem(fd, &key), 0);
	bpf_object__close(obj);
}
END_TEST

/* Both backends run the same objects to the same results. */
#define NR_RUNS 6

struct backend_result {
	int retvals[NR_RUNS * 3];
	int rodata_ret;
	uint64_t slots[16];
	uint64_t counts[64];
	uint64_t bss;
};

/* The program really runs on @backend: JIT'd code has a length, interpreted code none. */
static void assert_backend(int fd, enum bpfi_jit_backend backend)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	ck_assert_msg((info.jited_prog_len > 0) == (backend == BPFI_JIT_X86_64),
		      "%s: jited_prog_len %u", info.name, info.jited_prog_len);
}

static void run_backend(enum bpfi_jit_backend backend, struct backend_result *res)
{
	static const uint64_t args[NR_RUNS] = {
		0, 1, 77, 1ull << 40, 0xffffffffffffffffull, 12345
	};
	struct bpf_object *obj, *tail, *loop, *dead;
	int fd, sfd, cfd, table, target;
	uint32_t key = 0;

	rt_start(backend);
	obj = load_obj("rt_basic.bpf.o");
	tail = load_obj("rt_tail.bpf.o");
	loop = load_obj("rt_loop.bpf.o");
	dead = load_rodata_obj(); /* dead calls to unknown helpers */
	fd = prog_fd(obj, "count_arg");
	table = map_fd(tail, "jmp_table");
	target = prog_fd(tail, "tail_target");
	ck_assert_int_eq(bpf_map_update_elem(table, &key, &target, BPF_ANY), 0);
	assert_backend(fd, backend);
	assert_backend(target, backend);
	assert_backend(prog_fd(tail, "tail_entry"), backend);
	assert_backend(prog_fd(loop, "loop_sum"), backend);
	assert_backend(prog_fd(dead, "rodata_dead"), backend);
	res->rodata_ret = run_args(prog_fd(dead, "rodata_dead"), args, 1) +
			  run_args(prog_fd(dead, "rodata_poisoned"), args, 1);
	for (int i = 0; i < NR_RUNS; i++) {
		res->retvals[i] = run_kprobe(fd, args[i], 3, NULL);
		res->retvals[NR_RUNS + i] = run_args(prog_fd(tail, "tail_entry"), &args[i], 1);
		res->retvals[2 * NR_RUNS + i] =
			run_args(prog_fd(loop, "loop_sum"), (uint64_t[]){ args[i] & 1023 }, 1);
	}
	sfd = map_fd(obj, "slots");
	cfd = map_fd(obj, "counts");
	for (key = 0; key < 16; key++)
		ck_assert_int_eq(bpf_map_lookup_elem(sfd, &key, &res->slots[key]), 0);
	for (key = 0; key < 64; key++)
		bpf_map_lookup_elem(cfd, &key, &res->counts[key]);
	res->bss = *(uint64_t *)remap_global(obj, ".bss");
	bpf_object__close(dead);
	bpf_object__close(loop);
	bpf_object__close(tail);
	bpf_object__close(obj);
	bpfi_runtime_fini();
}

START_TEST(backends_agree)
{
	struct backend_result interp = { 0 }, jit = { 0 };

	run_backend(BPFI_JIT_INTERP, &interp);
	run_backend(BPFI_JIT_X86_64, &jit);
	for (int i = 0; i < NR_RUNS * 3; i++)
		ck_assert_msg(interp.retvals[i] == jit.retvals[i], "run %d: interp %d, jit %d", i,
			      interp.retvals[i], jit.retvals[i]);
	ck_assert_mem_eq(interp.slots, jit.slots, sizeof(jit.slots));
	ck_assert_mem_eq(interp.counts, jit.counts, sizeof(jit.counts));
	ck_assert_uint_eq(interp.bss, jit.bss);
	ck_assert_int_eq(interp.rodata_ret, 11 + 12);
	ck_assert_int_eq(jit.rodata_ret, 11 + 12);
	ck_assert_int_eq(interp.retvals[NR_RUNS + 2], 42 + 77);
}
END_TEST

/* A JIT'd program reports its machine code through prog info. */
START_TEST(jit_prog_info)
{
	struct bpf_object *obj;
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	rt_start(BPFI_JIT_X86_64);
	obj = load_obj("rt_basic.bpf.o");
	ck_assert_int_eq(bpf_obj_get_info_by_fd(prog_fd(obj, "count_arg"), &info, &len), 0);
	ck_assert_uint_gt(info.jited_prog_len, 0);
	ck_assert_int_eq(run_kprobe(prog_fd(obj, "count_arg"), 2, 1, NULL), 7);
	bpf_object__close(obj);
	bpfi_runtime_fini();
}
END_TEST

/* Life cycle: once per process, backends that are built in, routing only while active. */
START_TEST(init_rules)
{
	struct bpfi_runtime_opts opts = { .sz = sizeof(opts), .backend = BPFI_JIT_LLVM };
	char buf[128] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

	ck_assert_int_eq(syscall(SYS_bpf, BPF_MAP_CREATE, NULL, 0), -1);
	ck_assert_int_ne(errno, 0); /* the kernel's answer: the runtime is not active yet */
	ck_assert_int_eq(bpfi_runtime_init(&opts, &log), -ENOTSUP);
	ck_assert_msg(strstr(buf, "backend") != NULL, "log: %s", buf);
	ck_assert(!bpfi_runtime_active());
	rt_start(BPFI_JIT_INTERP);
	ck_assert(bpfi_runtime_active());
	opts.backend = BPFI_JIT_INTERP;
	ck_assert_int_eq(bpfi_runtime_init(&opts, NULL), -EBUSY);
	bpfi_runtime_fini();
	ck_assert(!bpfi_runtime_active());
}
END_TEST

Suite *runtime_suite(void);
Suite *runtime_suite(void)
{
	Suite *s = suite_create("runtime");
	TCase *tc = tcase_create("libbpf");
	TCase *tb = tcase_create("backends");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, feature_probe_loads, 0,
			    (int)(sizeof(probe_cases) / sizeof(probe_cases[0])));
	tcase_add_test(tc, feature_probe_global_data_bind_perf_link);
	tcase_add_test(tc, fd_array_map_idx);
	tcase_add_test(tc, prog_tag_is_sha1);
	tcase_add_test(tc, libbpf_probe_apis);
	tcase_add_test(tc, attr_size_checks);
	tcase_add_test(tc, object_maps_created);
	tcase_add_test(tc, globals_shared_with_programs);
	tcase_add_test(tc, skeleton_flow);
	tcase_add_test(tc, test_run_kprobe);
	tcase_add_test(tc, test_run_ctx_rules);
	tcase_add_test(tc, test_run_short_ctx_reads_zeroes);
	tcase_add_test(tc, test_run_tracepoint_ringbuf);
	tcase_add_test(tc, trace_printk_drained);
	tcase_add_test(tc, map_iteration);
	tcase_add_test(tc, map_batches);
	tcase_add_test(tc, rejected_program_log);
	tcase_add_test(tc, rejected_program_short_log);
	tcase_add_test(tc, prog_log_levels);
	tcase_add_test(tc, prog_load_call_before_start);
	tcase_add_test(tc, threads_share_the_table);
	tcase_add_test(tc, info_by_fd);
	tcase_add_test(tc, fds_are_real);
	tcase_add_test(tc, map_held_by_program);
	tcase_add_test(tc, freeze_rules);
	tcase_add_test(tc, btf_load_and_ids);
	tcase_add_test(tc, tail_call);
	tcase_add_test(tc, rodata_dead_code_loads);
	tcase_add_test(tc, bpf_loop_callback);
	tcase_add_test(tc, perf_event_array_slots);
	suite_add_tcase(s, tc);

	tcase_add_test(tb, backends_agree);
	tcase_add_test(tb, jit_prog_info);
	tcase_add_test(tb, init_rules);
	suite_add_tcase(s, tb);
	return s;
}
