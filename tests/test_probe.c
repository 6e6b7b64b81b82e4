// SPDX-License-Identifier: MIT
/*
 * Entry and return probes end to end inside this process: the stub's dispatch
 * (stub/dispatch.c) behind real trampolines patched into real functions, with "programs"
 * that are native functions of the same signature as JIT'd code. Covers arguments and
 * return values in pt_regs, recursion, longjmp past pending returns, and threads.
 */
#include <check.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <bpfinject/injector.h>
#include <bpfinject/target.h>

#include "../stub/dispatch.h"
#include "test_util.h"

/* pt_regs indexes (offset / 8) */
#define R_AX 10
#define R_DI 14
#define R_IP 16

static _Atomic long entries, returns, arg_sum, ret_sum;
static _Atomic uint64_t last_ret_ip;

static _Atomic uintptr_t prog_sp; /* where the last entry program's frame was */

static uint64_t prog_entry(uint64_t ctx, uint64_t unused)
{
	const uint64_t *regs = (const uint64_t *)(uintptr_t)ctx;
	volatile char here;

	atomic_store(&prog_sp, (uintptr_t)&here);

	atomic_fetch_add(&entries, 1);
	atomic_fetch_add(&arg_sum, (long)regs[R_DI]);
	return 0;
}

static uint64_t prog_return(uint64_t ctx, uint64_t unused)
{
	const uint64_t *regs = (const uint64_t *)(uintptr_t)ctx;

	atomic_fetch_add(&returns, 1);
	atomic_fetch_add(&ret_sum, (long)regs[R_AX]);
	atomic_store(&last_ret_ip, regs[R_IP]);
	return 0;
}

/*
 * The victims count their own calls and results: the probes must agree. Recursion goes
 * through a volatile pointer so that the compiler keeps every call a real call.
 */
static _Atomic long fib_calls, fib_ret_sum;

__attribute__((noinline)) long fib(long n);
static long (*volatile fib_self)(long) = fib;
__attribute__((noinline)) long fib(long n)
{
	long r = n < 2 ? n : fib_self(n - 1) + fib_self(n - 2);

	atomic_fetch_add(&fib_calls, 1);
	atomic_fetch_add(&fib_ret_sum, r);
	return r;
}

static jmp_buf jump_out;
static _Atomic long jumper_calls;
__attribute__((noinline)) long jumper(long n);
static long (*volatile jumper_self)(long) = jumper;
__attribute__((noinline)) long jumper(long n)
{
	atomic_fetch_add(&jumper_calls, 1);
	if (n < 0)
		return 0;
	if (n == 0)
		longjmp(jump_out, 1);
	return jumper_self(n - 1) + 1;
}

struct hook {
	uintptr_t func;
	uint8_t orig[BPFI_PATCH_LEN];
};

struct probe_env {
	struct bpfi_target_hdr *t;
	uint8_t *code; /* trampolines, near the functions */
	size_t code_used;
};

static void env_init(struct probe_env *e)
{
	size_t len;
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

	e->t = mmap(NULL, sizeof(*e->t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		    0);
	ck_assert_ptr_ne(e->t, MAP_FAILED);
	e->t->magic = BPFI_TARGET_MAGIC;
	e->t->threads = (uintptr_t)calloc(BPFI_MAX_THREADS, sizeof(struct bpfi_thread_state));
	e->code = test_map_near((uintptr_t)fib, 65536);
	ck_assert_int_eq(bpfi_tramp_build_return((uintptr_t)stub_dispatch_return, (uintptr_t)e->t,
						 e->code, 4096, &len, &log),
			 0);
	e->t->ret_tramp = (uintptr_t)e->code;
	e->code_used = 4096;
	entries = returns = arg_sum = ret_sum = 0;
	fib_calls = fib_ret_sum = jumper_calls = 0;
}

static void env_fini(struct probe_env *e)
{
	free((void *)(uintptr_t)e->t->threads);
	munmap(e->t, sizeof(*e->t));
	munmap(e->code, 65536);
}

/* Hooks @func with a site running @entry and/or @ret programs. */
static struct bpfi_site *hook(struct probe_env *e, uintptr_t func, bool entry, bool ret,
			      struct hook *h)
{
	struct bpfi_site *site = &e->t->sites[e->t->nr_sites++];
	uint8_t *tramp = e->code + e->code_used;
	struct bpfi_relocation r;
	uint8_t jmp[BPFI_PATCH_LEN] = { 0xe9 };
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_tramp_opts o = {
		.site_addr = func,
		.tramp_addr = (uintptr_t)tramp,
		.reloc_addr = (uintptr_t)tramp + bpfi_tramp_reloc_offset(false, true),
		.reloc = &r,
		.dispatch_addr = (uintptr_t)stub_dispatch_entry,
		.cookie = (uintptr_t)site,
		/* return-only sites take the light path, as in a target */
		.push_return_addr = (uintptr_t)stub_dispatch_push_return,
	};
	int32_t rel;
	size_t len;

	site->addr = func;
	site->block = (uintptr_t)e->t;
	if (entry)
		site->entry_progs[site->nr_entry++] = (uintptr_t)prog_entry;
	if (ret)
		site->return_progs[site->nr_return++] = (uintptr_t)prog_return;
	ck_assert_msg(bpfi_hook_relocate((const uint8_t *)func, 64, func, o.reloc_addr, &r, &log) ==
			      0,
		      "%s", buf);
	ck_assert_int_eq(bpfi_tramp_build(&o, tramp, BPFI_TRAMP_MAX, &len, &log), 0);
	e->code_used += BPFI_TRAMP_MAX;
	ck_assert_int_eq(mprotect(e->code, 65536, PROT_READ | PROT_EXEC), 0);
	h->func = func;
	memcpy(h->orig, (void *)func, BPFI_PATCH_LEN);
	rel = (int32_t)((intptr_t)tramp - (intptr_t)(func + BPFI_PATCH_LEN));
	memcpy(jmp + 1, &rel, 4);
	test_patch_text(func, jmp, sizeof(jmp));
	ck_assert_int_eq(mprotect(e->code, 65536, PROT_READ | PROT_WRITE), 0);
	return site;
}

static void unhook(struct hook *h)
{
	test_patch_text(h->func, h->orig, BPFI_PATCH_LEN);
}

START_TEST(entry_and_return_through_recursion)
{
	long (*volatile f)(long) = fib;
	struct probe_env e;
	struct bpfi_site *site;
	struct hook h;
	long calls;

	env_init(&e);
	site = hook(&e, (uintptr_t)fib, true, true, &h);
	ck_assert_int_eq(mprotect(e.code, 65536, PROT_READ | PROT_EXEC), 0);
	ck_assert_int_eq(f(15), 610);
	unhook(&h);
	/* fib(15) makes 1973 calls; each is seen entering and returning, with its value. */
	calls = fib_calls;
	ck_assert_int_eq(calls, 1973);
	ck_assert_int_eq(entries, calls);
	ck_assert_int_eq(returns, calls);
	ck_assert_int_eq(ret_sum, fib_ret_sum);
	ck_assert_uint_eq(atomic_load(&site->hits), calls);
	ck_assert_uint_eq(atomic_load(&site->misses), 0);
	ck_assert_int_eq(f(15), 610);
	ck_assert_int_eq(entries, calls);
	/* The programs ran on this thread's private stack, not on ours. */
	{
		const struct bpfi_thread_state *tab =
			(const struct bpfi_thread_state *)(uintptr_t)e.t->threads;
		uintptr_t sp = atomic_load(&prog_sp);
		bool found = false;

		for (int i = 0; i < BPFI_MAX_THREADS; i++)
			found |= tab[i].stack_top > 1 && sp < tab[i].stack_top &&
				 sp >= tab[i].stack_top - (32u << 10);
		ck_assert_msg(found, "program frame at %#lx is not on a private stack",
			      (unsigned long)sp);
	}
	env_fini(&e);
}
END_TEST

START_TEST(longjmp_past_pending_returns)
{
	long (*volatile j)(long) = jumper;
	long (*volatile f)(long) = fib;
	struct probe_env e;
	struct hook hj, hf;

	env_init(&e);
	hook(&e, (uintptr_t)jumper, true, true, &hj);
	hook(&e, (uintptr_t)fib, false, true, &hf);
	ck_assert_int_eq(mprotect(e.code, 65536, PROT_READ | PROT_EXEC), 0);
	for (int round = 0; round < 50; round++) {
		if (!setjmp(jump_out))
			j(10); /* 11 pending returns abandoned by longjmp */
		/* Returns still work afterwards, at shallower and deeper stack depths. */
		ck_assert_int_eq(f(5), 5);
	}
	unhook(&hj);
	unhook(&hf);
	ck_assert_int_eq(jumper_calls, 50 * 11);
	ck_assert_int_eq(entries, jumper_calls);
	/* jumper never returned: only fib's returns ran, each with its value. */
	ck_assert_int_eq(returns, fib_calls);
	ck_assert_int_eq(ret_sum, fib_ret_sum);
	env_fini(&e);
}
END_TEST

static void *call_many(void *arg)
{
	long (*volatile f)(long) = fib;

	for (int i = 0; i < 2000; i++)
		ck_assert_int_eq(f(3), 2);
	return arg;
}

/* 8 threads through one site, with an entry program (the full path) and with return programs
 * only (the light path, no pt_regs at entry). */
START_TEST(threads_count_exactly)
{
	bool with_entry = _i == 0;
	struct probe_env e;
	pthread_t th[8];
	struct hook h;

	env_init(&e);
	hook(&e, (uintptr_t)fib, with_entry, true, &h);
	ck_assert_int_eq(mprotect(e.code, 65536, PROT_READ | PROT_EXEC), 0);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, call_many, NULL), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	unhook(&h);
	/* fib(3) = 5 calls; 8 threads x 2000 */
	ck_assert_int_eq(fib_calls, 8 * 2000 * 5);
	ck_assert_int_eq(entries, with_entry ? fib_calls : 0);
	ck_assert_int_eq(returns, fib_calls);
	ck_assert_int_eq(ret_sum, fib_ret_sum);
	env_fini(&e);
}
END_TEST

Suite *probe_suite(void);
Suite *probe_suite(void)
{
	Suite *s = suite_create("probe");
	TCase *tc = tcase_create("in_process");

	tcase_add_test(tc, entry_and_return_through_recursion);
	tcase_add_test(tc, longjmp_past_pending_returns);
	tcase_add_loop_test(tc, threads_count_exactly, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
