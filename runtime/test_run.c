// SPDX-License-Identifier: MIT
/*
 * BPF_PROG_TEST_RUN: runs a program here, in this process, on a context the caller gives
 * (ctx_in) or a zeroed one of its type's size, with the kernel's repeat/duration/ctx_out rules.
 * The kernel runs only some types this way; we run every type we load (bpftrace's BEGIN/END
 * are RAW_TRACEPOINT programs; the CLI's test-run takes kprobe and tracepoint programs too).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpfinject/verifier.h>

#include "common/compiler.h"
#include "runtime_internal.h"

#define U64_PTR(x) ((void *)(unsigned long)(x))

/*
 * Context sizes (reference/bpf-surface.md §4): what ctx_out reports when there was no ctx_in.
 * The buffer itself is as large as the check lets the program read (a tracepoint program
 * may read 2048 bytes), zeroes past what ctx_in gave.
 */
#define RT_CTX_PT_REGS	   168 /* struct pt_regs, x86-64 */
#define RT_CTX_PERF_EVENT  184 /* struct bpf_perf_event_data: pt_regs, sample_period, addr */
#define RT_CTX_TRACEPOINT  64 /* common header (8), __syscall_nr slot (8), 6 argument slots */
#define RT_CTX_RAW_TP_ARGS 96 /* u64 args[MAX_BPF_FUNC_ARGS = 12] */

static uint32_t ctx_size_of(uint32_t prog_type)
{
	switch (prog_type) {
	case BPF_PROG_TYPE_KPROBE:
		return RT_CTX_PT_REGS;
	case BPF_PROG_TYPE_PERF_EVENT:
		return RT_CTX_PERF_EVENT;
	case BPF_PROG_TYPE_TRACEPOINT:
		return RT_CTX_TRACEPOINT;
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
		return RT_CTX_RAW_TP_ARGS;
	default:
		return 0; /* socket filters take packets (data_in): not run here */
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Runs @prog @repeat times on @ctx; the average duration as the kernel's bpf_test_timer. */
static int run_prog(const struct rt_prog *prog, void *ctx, uint32_t repeat, uint32_t *ret_retval,
		    uint32_t *ret_duration)
{
	const struct bpfi_env *env = &runtime__rt.env;
	uint64_t r0 = 0, start, total;
	int err = 0;

	start = now_ns();
	for (uint32_t i = 0; i < repeat; i++) {
		if (prog->jit_func)
			r0 = prog->jit_func((uint64_t)(uintptr_t)ctx, 0);
		else
			err = bpfi_interp_run(prog->xlated, prog->insn_cnt,
					      (uint64_t)(uintptr_t)ctx, 0, env, &r0);
		if (err)
			return err;
	}
	total = now_ns() - start;
	total /= repeat;
	*ret_duration = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
	*ret_retval = (uint32_t)r0;
	return 0;
}

/* ctx_out: the context after the run; -ENOSPC (with the full size) when the buffer is short. */
static int copy_ctx_out(union bpf_attr *attr, const void *ctx, uint32_t ctx_size)
{
	uint32_t copy = ctx_size;
	int err = 0;

	if (!attr->test.ctx_out)
		return 0;
	if (copy > attr->test.ctx_size_out) {
		copy = attr->test.ctx_size_out;
		err = -ENOSPC;
	}
	memcpy(U64_PTR(attr->test.ctx_out), ctx, copy);
	attr->test.ctx_size_out = ctx_size;
	return err;
}

static int test_run(const struct rt_prog *prog, union bpf_attr *attr)
{
	uint32_t def = ctx_size_of(prog->type), size, repeat = attr->test.repeat;
	void *ctx;
	int err;

	if (!def)
		return -RT_ENOTSUPP;
	if (attr->test.data_in || attr->test.data_size_in || attr->test.data_out ||
	    attr->test.data_size_out)
		return -EINVAL; /* tracing programs take no packet */
	if (attr->test.flags & ~(uint32_t)BPF_F_TEST_RUN_ON_CPU)
		return -EINVAL;
	if (attr->test.ctx_size_in && !attr->test.ctx_in)
		return -EINVAL;
	if (attr->test.ctx_size_in > 4096)
		return -E2BIG;
	/* A shorter ctx_in is zero-extended so that any byte the check allows can be read. */
	size = BPFI_MAX(BPFI_MAX(def, bpfi_verifier_ctx_size(prog->type)), attr->test.ctx_size_in);
	ctx = calloc(1, size);
	if (!ctx)
		return -ENOMEM;
	if (attr->test.ctx_in)
		memcpy(ctx, U64_PTR(attr->test.ctx_in), attr->test.ctx_size_in);
	if (!repeat)
		repeat = 1;
	err = run_prog(prog, ctx, repeat, &attr->test.retval, &attr->test.duration);
	if (!err)
		err = copy_ctx_out(attr, ctx,
				   attr->test.ctx_size_in ? attr->test.ctx_size_in : def);
	free(ctx);
	return err;
}

int runtime__prog_test_run(void *vattr, unsigned int size)
{
	union bpf_attr *attr = vattr;
	struct rt_obj *obj;
	int err;

	err = runtime__obj_lookup_fd((int)attr->test.prog_fd, RT_PROG, &obj);
	if (err)
		return err;
	err = test_run(&obj->prog, attr);
	runtime__obj_put(obj);
	return err;
}
