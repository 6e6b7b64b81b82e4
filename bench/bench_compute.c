// SPDX-License-Identifier: MIT
/*
 * Compute benchmark: each kernel of kernels.h run by the interpreter, by the x86-64 JIT
 * (both on the instructions libbpf hands out for compute.bpf.o) and as the same C compiled
 * natively with clang -O2, side by side in one run; prints ns per run and the ratios.
 *
 * usage: bench_compute [--obj compute.bpf.o] [--ms N] [--rounds N] [--dump-jit DIR]
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpfinject/helpers.h>
#include <bpfinject/jit.h>

#include "bench_native.h"

#ifndef BENCH_DEFAULT_OBJ
#define BENCH_DEFAULT_OBJ "compute.bpf.o"
#endif

typedef uint64_t (*native_fn)(const uint64_t *ctx);

static const struct {
	const char *name;
	native_fn native;
	const char *what;
} kernels[] = {
	{ "loop", native_loop, "1000 x (mul, add, shift, xor) chain" },
	{ "fnv", native_fnv, "FNV-1a over 256 stack bytes" },
	{ "xxh", native_xxh, "xxHash64 4-lane rounds, 512 B" },
	{ "memory", native_memory, "16 x memcpy 192 B + byte sum" },
	{ "sort", native_sort, "insertion sort of 24 u32" },
	{ "fsm", native_fsm, "tokenizer state machine, 256 B" },
};

enum { NATIVE, JIT, INTERP, NR_MODES };

static const char *const mode_names[NR_MODES] = { "native", "jit", "interp" };

struct kernel_run {
	const struct bpf_insn *insns;
	uint32_t insn_cnt;
	struct bpfi_jit_image *image;
	bpfi_jit_fn jit;
	double best_ns[NR_MODES];
};

static struct bpfi_env bench_env = { .unwind_helper_id = -1 };
/* The context every kernel reads; volatile sink keeps results alive. */
static uint64_t bench_ctx[4] = { 0x123456789abcdefULL, 0, 0, 0 };
static volatile uint64_t sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Runs @k in @mode @iters times; @return the result of the last run. */
static uint64_t run_mode(struct kernel_run *k, size_t idx, int mode, uint64_t iters)
{
	uint64_t i, r = 0;

	for (i = 0; i < iters; i++) {
		switch (mode) {
		case NATIVE:
			r = kernels[idx].native(bench_ctx);
			break;
		case JIT:
			r = k->jit((uint64_t)(uintptr_t)bench_ctx, 0);
			break;
		default:
			if (bpfi_interp_run(k->insns, k->insn_cnt, (uint64_t)(uintptr_t)bench_ctx,
					    0, &bench_env, &r))
				r = ~0ULL;
		}
		sink = r;
	}
	return r;
}

/* Iterations so that one batch of @mode lasts about @ms milliseconds. */
static uint64_t calibrate(struct kernel_run *k, size_t idx, int mode, double ms)
{
	uint64_t iters = 1;
	double t;

	for (;;) {
		t = now_ns();
		run_mode(k, idx, mode, iters);
		t = now_ns() - t;
		if (t > ms * 1e6 / 8 || iters > (1ULL << 40))
			break;
		iters *= 2;
	}
	return (uint64_t)(iters * (ms * 1e6 / (t > 0 ? t : 1))) + 1;
}

static int prepare(struct bpf_object *obj, size_t idx, struct kernel_run *k, const char *dump_dir)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, kernels[idx].name);
	struct bpfi_jit_opts opts = {
		.sz = sizeof(opts),
		.env_addr = (uint64_t)(uintptr_t)&bench_env,
		.unwind_helper_id = -1,
	};
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	int err;

	if (!prog) {
		fprintf(stderr, "bench_compute: no program '%s' in the object\n",
			kernels[idx].name);
		return -ENOENT;
	}
	k->insns = bpf_program__insns(prog);
	k->insn_cnt = (uint32_t)bpf_program__insn_cnt(prog);
	err = bpfi_jit_compile(k->insns, k->insn_cnt, &opts, &k->image, &log);
	if (!err)
		err = bpfi_jit_image_load(k->image, &k->jit, &log);
	if (err) {
		fprintf(stderr, "bench_compute: %s: %s", kernels[idx].name, buf);
		return err;
	}
	if (dump_dir) {
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s.jit.bin", dump_dir, kernels[idx].name);
		f = fopen(path, "wb");
		if (f) {
			fwrite(bpfi_jit_image_code(k->image), 1, bpfi_jit_image_size(k->image), f);
			fclose(f);
		}
	}
	return 0;
}

/* The three must agree before their times mean anything. */
static int check_results(struct kernel_run *k, size_t idx)
{
	uint64_t r[NR_MODES];
	int m;

	for (m = 0; m < NR_MODES; m++)
		r[m] = run_mode(k, idx, m, 1);
	/* The eBPF program returns long; native returns the same value. */
	if (r[JIT] != r[NATIVE] || r[INTERP] != r[NATIVE]) {
		fprintf(stderr,
			"bench_compute: %s: results differ: native %#llx jit %#llx interp %#llx\n",
			kernels[idx].name, (unsigned long long)r[NATIVE],
			(unsigned long long)r[JIT], (unsigned long long)r[INTERP]);
		return -EINVAL;
	}
	return 0;
}

static void measure(struct kernel_run *runs, size_t n, double ms, int rounds)
{
	uint64_t iters[sizeof(kernels) / sizeof(kernels[0])][NR_MODES];
	size_t i;
	int m, round;
	double t;

	for (i = 0; i < n; i++)
		for (m = 0; m < NR_MODES; m++) {
			iters[i][m] = calibrate(&runs[i], i, m, ms);
			runs[i].best_ns[m] = 1e300;
		}
	/* Interleave kernels and modes round by round: this machine's speed drifts. */
	for (round = 0; round < rounds; round++)
		for (i = 0; i < n; i++)
			for (m = 0; m < NR_MODES; m++) {
				t = now_ns();
				run_mode(&runs[i], i, m, iters[i][m]);
				t = (now_ns() - t) / (double)iters[i][m];
				if (t < runs[i].best_ns[m])
					runs[i].best_ns[m] = t;
			}
}

static void report(const struct kernel_run *runs, size_t n, double ms, int rounds)
{
	double jit_geo = 1, interp_geo = 1;
	size_t i;

	printf("compute benchmark: ns per run, best of %d rounds of ~%.0f ms "
	       "(native = the same C, clang -O2)\n\n",
	       rounds, ms);
	printf("%-8s %-38s %6s %8s %9s %9s %10s %8s %9s\n", "kernel", "what", "insns", "jit B",
	       mode_names[NATIVE], mode_names[JIT], mode_names[INTERP], "jit/nat", "int/nat");
	for (i = 0; i < n; i++) {
		const struct kernel_run *k = &runs[i];
		double rj = k->best_ns[JIT] / k->best_ns[NATIVE];
		double ri = k->best_ns[INTERP] / k->best_ns[NATIVE];

		jit_geo *= rj;
		interp_geo *= ri;
		printf("%-8s %-38s %6u %8zu %9.1f %9.1f %10.1f %7.2fx %8.1fx\n", kernels[i].name,
		       kernels[i].what, k->insn_cnt, bpfi_jit_image_size(k->image),
		       k->best_ns[NATIVE], k->best_ns[JIT], k->best_ns[INTERP], rj, ri);
	}
	printf("\ngeometric mean: jit/native %.2fx, interp/native %.1fx, interp/jit %.1fx\n",
	       pow(jit_geo, 1.0 / n), pow(interp_geo, 1.0 / n), pow(interp_geo / jit_geo, 1.0 / n));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "obj", required_argument, NULL, 'o' },
		{ "ms", required_argument, NULL, 'm' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "dump-jit", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct kernel_run runs[sizeof(kernels) / sizeof(kernels[0])] = { 0 };
	const char *obj_path = BENCH_DEFAULT_OBJ, *dump_dir = NULL;
	size_t i, n = sizeof(kernels) / sizeof(kernels[0]);
	struct bpf_object *obj;
	double ms = 50;
	int c, rounds = 5, ret = EXIT_FAILURE;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			obj_path = optarg;
			break;
		case 'm':
			ms = atof(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'd':
			dump_dir = optarg;
			break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"usage: bench_compute [--obj FILE] [--ms N] [--rounds N] "
				"[--dump-jit DIR]\n");
			return c == 'h' ? EXIT_SUCCESS : 2;
		}
	}
	if (ms <= 0 || rounds <= 0) {
		fprintf(stderr, "bench_compute: --ms and --rounds must be positive\n");
		return 2;
	}
	/* Opening needs no bpf(2): the instructions are taken as libbpf prepared them. */
	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj) {
		fprintf(stderr, "bench_compute: %s: %s\n", obj_path, strerror(errno));
		return EXIT_FAILURE;
	}
	for (i = 0; i < n; i++)
		if (prepare(obj, i, &runs[i], dump_dir) || check_results(&runs[i], i))
			goto out;
	measure(runs, n, ms, rounds);
	report(runs, n, ms, rounds);
	ret = EXIT_SUCCESS;
out:
	for (i = 0; i < n; i++)
		bpfi_jit_image_free(runs[i].image);
	bpf_object__close(obj);
	return ret;
}
