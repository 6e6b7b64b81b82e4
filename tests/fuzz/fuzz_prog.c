// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness of raw PROG_LOAD: the input is a program type selector byte and then
 * instructions. They go through the runtime's BPF_PROG_LOAD (the load-time check, then the
 * x86-64 JIT) against a few maps made first; a program the check accepts is run with
 * PROG_TEST_RUN (its JIT code) and once more in the interpreter. A crash, a hang or a
 * sanitizer report is a bug in the check or in what runs what it accepted.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpfinject/jit.h>
#include <bpfinject/runtime.h>

#include "../checked_interp.h"
#include "runtime/runtime_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INSNS 1024
#define NR_MAPS	  5

static const uint32_t prog_types[] = { BPF_PROG_TYPE_KPROBE, BPF_PROG_TYPE_TRACEPOINT,
				       BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_PROG_TYPE_PERF_EVENT,
				       BPF_PROG_TYPE_SOCKET_FILTER };
static int map_fds[NR_MAPS];
static struct bpfi_verifier_map map_shapes[NR_MAPS]; /* for the checked run's own check */

static int map_create(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max)
{
	union bpf_attr a = {
		.map_type = type, .key_size = key_size, .value_size = value_size, .max_entries = max
	};
	long fd = bpfi_runtime_bpf(BPF_MAP_CREATE, &a, sizeof(a));
	static int n;

	if (fd < 0 || n == NR_MAPS)
		abort();
	map_shapes[n++] = (struct bpfi_verifier_map){
		.type = type, .key_size = key_size, .value_size = value_size, .max_entries = max
	};
	return (int)fd;
}

static const struct bpfi_verifier_map *map_by_fd(int fd, void *cookie)
{
	(void)cookie;
	for (int i = 0; i < NR_MAPS; i++) {
		if (map_fds[i] == fd)
			return &map_shapes[i];
	}
	return NULL;
}

/*
 * The checked execution mode (tests/checked_interp.c): the program the runtime accepted, on
 * its relocated instructions, with the facts of a check of the same instructions; any access
 * outside a region of the kind the check claimed, or a read of a register never written, is
 * a verifier false accept: abort, so that libFuzzer keeps the input.
 */
static void run_checked(int fd, const struct bpf_insn *insns, uint32_t n, uint32_t prog_type)
{
	static uint64_t ctx[2048 / 8]; /* the largest context a check allows (tracepoints) */
	struct bpfi_verifier_fact *facts = calloc(n, sizeof(*facts));
	struct bpfi_verifier_opts vo = {
		.sz = sizeof(vo),
		.prog_type = prog_type,
		.map_by_fd = map_by_fd,
		.facts = facts,
	};
	char why[256];
	struct checked_opts co = {
		.facts = facts,
		.ctx = (uint64_t)(uintptr_t)ctx,
		.ctx_size = bpfi_verifier_ctx_size(prog_type),
		.env = bpfi_runtime_env(),
		.why = why,
		.why_size = sizeof(why),
	};
	struct rt_obj *obj;
	uint64_t r0;

	if (!facts || bpfi_verifier_check(insns, n, &vo, NULL))
		abort(); /* the runtime's check accepted these very instructions */
	if (runtime__obj_lookup_fd(fd, RT_PROG, &obj))
		abort();
	memset(ctx, 0, sizeof(ctx));
	if (checked_interp_run(obj->prog.xlated, obj->prog.insn_cnt, &co, &r0) ==
	    CHECKED_VIOLATION) {
		fprintf(stderr, "fuzz_prog: checked run: %s\n", why);
		abort();
	}
	runtime__obj_put(obj);
	free(facts);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct bpfi_runtime_opts opts = { .sz = sizeof(opts), .backend = BPFI_JIT_X86_64 };

	if (bpfi_runtime_init(&opts, NULL))
		abort();
	/* The shapes programs use: an array and a hash of 8-byte values, a per-CPU array, a
	 * ring buffer, a program array (tail calls into nothing). */
	map_fds[0] = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 16);
	map_fds[1] = map_create(BPF_MAP_TYPE_HASH, 8, 16, 64);
	map_fds[2] = map_create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32, 4);
	map_fds[3] = map_create(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
	map_fds[4] = map_create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4);
	return 0;
}

/*
 * Helpers whose effect reaches outside the program: they would stop or corrupt the harness
 * itself (a signal to this process, a write to any user address), not find a bug.
 */
static bool harmful(const struct bpf_insn *insn, uint32_t i)
{
	(void)i;
	return insn->code == (BPF_JMP | BPF_CALL) && insn->src_reg == 0 &&
	       (insn->imm == BPF_FUNC_send_signal || insn->imm == BPF_FUNC_send_signal_thread ||
		insn->imm == BPF_FUNC_probe_write_user);
}

/* The interpreter on the relocated instructions the JIT compiled. */
static void run_interp(int fd, void *ctx)
{
	struct rt_obj *obj;
	uint64_t r0;

	if (runtime__obj_lookup_fd(fd, RT_PROG, &obj))
		abort();
	bpfi_interp_run(obj->prog.xlated, obj->prog.insn_cnt, (uint64_t)(uintptr_t)ctx, 0,
			bpfi_runtime_env(), &r0);
	runtime__obj_put(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bpf_insn insns[MAX_INSNS];
	uint64_t ctx[64] = { 0 }; /* the largest context (pt_regs, perf event data) fits */
	union bpf_attr a;
	uint32_t n, i;
	long fd;

	if (size < 1 + sizeof(struct bpf_insn))
		return -1;
	n = (uint32_t)((size - 1) / sizeof(struct bpf_insn));
	if (n > MAX_INSNS)
		n = MAX_INSNS;
	memcpy(insns, data + 1, n * sizeof(*insns));
	for (i = 0; i < n; i++) {
		if (harmful(&insns[i], i))
			return -1;
		/* Map references name one of our maps, whatever the number. */
		if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    (insns[i].src_reg == BPF_PSEUDO_MAP_FD ||
		     insns[i].src_reg == BPF_PSEUDO_MAP_VALUE))
			insns[i].imm = map_fds[(uint32_t)insns[i].imm % NR_MAPS];
	}
	memset(&a, 0, sizeof(a));
	a.prog_type = prog_types[data[0] % (sizeof(prog_types) / sizeof(prog_types[0]))];
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = n;
	a.license = (uint64_t)(uintptr_t) "GPL";
	fd = bpfi_runtime_bpf(BPF_PROG_LOAD, &a, sizeof(a));
	if (fd < 0)
		return 0;
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = (uint32_t)fd;
	a.test.ctx_in = (uint64_t)(uintptr_t)ctx;
	a.test.ctx_size_in = sizeof(ctx);
	if (a.test.prog_fd && bpfi_runtime_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)) == 0) {
		run_interp((int)fd, ctx);
		run_checked((int)fd, insns, n,
			    prog_types[data[0] % (sizeof(prog_types) / sizeof(prog_types[0]))]);
	}
	bpfi_runtime_close((int)fd, &(bool){ false });
	return 0;
}
