// SPDX-License-Identifier: MIT
/*
 * The x86-64 JIT: the conformance suite through the JIT and against the interpreter, golden
 * encodings cross-checked with objdump, position independence, W^X, tail calls, rejections.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpfinject/helpers.h>
#include <bpfinject/jit.h>

#include "common/compiler.h"
#include "conformance.h"
#include "jit/x86_64/jit_x86_internal.h"
#include "jit_fuzz.h"
#include "tail_worst.h"

Suite *jit_suite(void);

#define HELPER_SUM5	1 /* returns r1 + 2 r2 + 3 r3 + 4 r4 + 5 r5, or 0 if env is wrong */
#define HELPER_CALLBACK 2 /* calls its r1 as long (*)(uint64_t, void *) with (r2, r3) */
#define HELPER_TAIL	12 /* bpf_tail_call */
#define HELPER_LOOP	181 /* bpf_loop(nr, callback, ctx, flags) */

static struct conformance_case *cases;
static int nr_cases;
static bpfi_helper_fn helper_table[BPFI_HELPER_MAX];
static uint64_t helper_addrs[BPFI_HELPER_MAX];
static struct bpfi_env test_env;

static uint64_t unwind_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			      const struct bpfi_env *env)
{
	return r1;
}

static uint64_t sum5_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			    const struct bpfi_env *env)
{
	if (env != &test_env)
		return 0;
	return r1 + 2 * r2 + 3 * r3 + 4 * r4 + 5 * r5;
}

static uint64_t callback_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				const struct bpfi_env *env)
{
	long (*fn)(uint64_t, void *);

	memcpy(&fn, &r1, sizeof(fn));
	return (uint64_t)fn(r2, (void *)(uintptr_t)r3);
}

/* bpf_loop as the helpers implement it: the callback is the subprogram's native SysV entry. */
static uint64_t loop_helper(uint64_t nr, uint64_t cb, uint64_t ctx, uint64_t flags, uint64_t r5,
			    const struct bpfi_env *env)
{
	long (*fn)(uint64_t, void *);
	uint64_t i;

	memcpy(&fn, &cb, sizeof(fn));
	for (i = 0; i < nr; i++)
		if (fn(i, (void *)(uintptr_t)ctx))
			return i + 1;
	return i;
}

static void setup_env(void)
{
	helper_table[CONFORMANCE_UNWIND_HELPER] = unwind_helper;
	helper_table[HELPER_SUM5] = sum5_helper;
	helper_table[HELPER_CALLBACK] = callback_helper;
	helper_table[HELPER_LOOP] = loop_helper;
	for (int i = 0; i < BPFI_HELPER_MAX; i++)
		memcpy(&helper_addrs[i], &helper_table[i], sizeof(helper_addrs[i]));
	test_env.helpers = helper_table;
	test_env.unwind_helper_id = CONFORMANCE_UNWIND_HELPER;
}

static struct bpfi_jit_opts default_opts(void)
{
	return (struct bpfi_jit_opts){
		.sz = sizeof(struct bpfi_jit_opts),
		.env_addr = (uint64_t)(uintptr_t)&test_env,
		.helper_addrs = helper_addrs,
		.nr_helpers = BPFI_HELPER_MAX,
		.unwind_helper_id = CONFORMANCE_UNWIND_HELPER,
	};
}

/* Compiles, loads and runs @insns once with r1 = @r1, r2 = @r2. */
static int jit_run(const struct bpf_insn *insns, uint32_t cnt, const struct bpfi_jit_opts *opts,
		   uint64_t r1, uint64_t r2, uint64_t *ret_r0, char *logbuf, size_t logsz)
{
	struct bpfi_log log = { .buf = logbuf, .size = logsz };
	struct bpfi_jit_image *image = NULL;
	bpfi_jit_fn fn;
	int err;

	if (logsz)
		logbuf[0] = '\0';
	err = bpfi_jit_compile(insns, cnt, opts, &image, &log);
	if (!err)
		err = bpfi_jit_image_load(image, &fn, &log);
	if (!err)
		*ret_r0 = fn(r1, r2);
	bpfi_jit_image_free(image);
	return err;
}

/* One conformance case through the JIT, on a private copy of its memory. */
static int run_case_jit(const struct conformance_case *c, uint64_t *ret_r0, char *logbuf,
			size_t logsz)
{
	struct bpfi_jit_opts opts = default_opts();
	uint8_t *mem = NULL;
	int err;

	if (c->mem_len) {
		mem = malloc(c->mem_len);
		ck_assert_ptr_nonnull(mem);
		memcpy(mem, c->mem, c->mem_len);
	}
	err = jit_run(c->insns, c->insn_cnt, &opts, (uint64_t)(uintptr_t)mem, c->mem_len, ret_r0,
		      logbuf, logsz);
	free(mem);
	return err;
}

static int run_case_interp(const struct conformance_case *c, uint64_t *ret_r0)
{
	uint8_t *mem = NULL;
	int err;

	if (c->mem_len) {
		mem = malloc(c->mem_len);
		ck_assert_ptr_nonnull(mem);
		memcpy(mem, c->mem, c->mem_len);
	}
	err = bpfi_interp_run(c->insns, c->insn_cnt, (uint64_t)(uintptr_t)mem, c->mem_len,
			      &test_env, ret_r0);
	free(mem);
	return err;
}

START_TEST(test_conformance_case)
{
	const struct conformance_case *c = &cases[_i];
	char logbuf[512];
	uint64_t r0 = 0;
	int err;

	err = run_case_jit(c, &r0, logbuf, sizeof(logbuf));
	ck_assert_msg(!err, "%s: jit failed (%d): %s", c->name, err, logbuf);
	ck_assert_msg(r0 == c->expected_r0, "%s: r0 = 0x%llx, expected 0x%llx", c->name,
		      (unsigned long long)r0, (unsigned long long)c->expected_r0);
}
END_TEST

/* The whole suite in one process: the score must be 313/313. */
START_TEST(test_conformance_all)
{
	char logbuf[512], failed[1024] = "";
	int passed = 0;

	ck_assert_int_eq(nr_cases, 313);
	for (int i = 0; i < nr_cases; i++) {
		uint64_t r0 = 0;

		if (!run_case_jit(&cases[i], &r0, logbuf, sizeof(logbuf)) &&
		    r0 == cases[i].expected_r0)
			passed++;
		else if (strlen(failed) + strlen(cases[i].name) + 2 < sizeof(failed))
			strcat(strcat(failed, " "), cases[i].name);
	}
	ck_assert_msg(passed == 313, "jit conformance %d/313, failed:%s", passed, failed);
}
END_TEST

/* Differential: the interpreter and the JIT agree on every conformance program. */
START_TEST(test_differential_case)
{
	const struct conformance_case *c = &cases[_i];
	uint64_t r_jit = 0, r_interp = 0;
	char logbuf[512];
	int err;

	err = run_case_jit(c, &r_jit, logbuf, sizeof(logbuf));
	ck_assert_msg(!err, "%s: jit failed (%d): %s", c->name, err, logbuf);
	err = run_case_interp(c, &r_interp);
	ck_assert_msg(!err, "%s: interpreter failed (%d)", c->name, err);
	ck_assert_msg(r_jit == r_interp, "%s: jit 0x%llx, interpreter 0x%llx", c->name,
		      (unsigned long long)r_jit, (unsigned long long)r_interp);
}
END_TEST

/*
 * Edge cases of our own, where register allocation meets x86's fixed registers (rax/rdx for
 * div, cl for shifts, rax for cmpxchg) and where x86 traps or masks differently from eBPF.
 */
struct exec_case {
	const char *descr;
	struct bpf_insn insns[24];
	uint64_t expect;
	bool jit_only; /* uses our own bpf_loop or a run-time error the interpreter reports */
};

#define INT64_MIN_BITS 0x8000000000000000ull

static const struct exec_case exec_cases[] = {
	{ "sdiv64 INT64_MIN / -1 does not trap",
	  { LD_IMM64(0, INT64_MIN_BITS), MOV64_IMM(1, -1), SDIV64_REG(BPF_DIV, 0, 1), EXIT },
	  INT64_MIN_BITS,
	  false },
	{ "smod64 INT64_MIN % -1 = 0",
	  { LD_IMM64(3, INT64_MIN_BITS), MOV64_IMM(1, -1), SDIV64_REG(BPF_MOD, 3, 1),
	    MOV64_REG(0, 3), EXIT },
	  0,
	  false },
	{ "sdiv32 INT_MIN / -1",
	  { MOV64_IMM(4, INT32_MIN), MOV64_IMM(2, -1), SDIV32_REG(BPF_DIV, 4, 2), MOV64_REG(0, 4),
	    EXIT },
	  0x80000000,
	  false },
	{ "sdiv64 by imm -1",
	  { MOV64_IMM(0, 7), INSN(BPF_ALU64 | BPF_DIV | BPF_K, 0, 0, 1, -1), EXIT },
	  (uint64_t)-7,
	  false },
	{ "div64 by zero register = 0",
	  { MOV64_IMM(0, 77), MOV64_IMM(1, 0), ALU64_REG(BPF_DIV, 0, 1), EXIT },
	  0,
	  false },
	{ "mod64 by zero keeps dst",
	  { LD_IMM64(3, 0x1234567890ull), MOV64_IMM(1, 0), ALU64_REG(BPF_MOD, 3, 1),
	    MOV64_REG(0, 3), EXIT },
	  0x1234567890ull,
	  false },
	{ "mod32 by zero truncates dst",
	  { LD_IMM64(0, 0x1234567890ull), ALU32_IMM(BPF_MOD, 0, 0), EXIT },
	  0x34567890,
	  false },
	{ "div with dst r3 (rdx) keeps r0 (rax)",
	  { MOV64_IMM(0, 5), MOV64_IMM(3, 100), MOV64_IMM(1, 7), ALU64_REG(BPF_DIV, 3, 1),
	    ALU64_IMM(BPF_MUL, 0, 1000), ALU64_REG(BPF_ADD, 0, 3), EXIT },
	  5014,
	  false },
	{ "mod with src r0 and dst r3",
	  { MOV64_IMM(0, 7), MOV64_IMM(3, 100), ALU64_REG(BPF_MOD, 3, 0),
	    ALU64_IMM(BPF_MUL, 0, 1000), ALU64_REG(BPF_ADD, 0, 3), EXIT },
	  7002,
	  false },
	{ "div keeps r3 when dst is r2",
	  { MOV64_IMM(3, 9), MOV64_IMM(2, 50), MOV64_IMM(0, 5), ALU64_REG(BPF_DIV, 2, 0),
	    ALU64_IMM(BPF_MUL, 3, 100), ALU64_REG(BPF_ADD, 3, 2), MOV64_REG(0, 3), EXIT },
	  910,
	  false },
	{ "udiv by power of two imm",
	  { LD_IMM64(0, 0xffffffffffffffffull), ALU64_IMM(BPF_DIV, 0, 16), EXIT },
	  0x0fffffffffffffffull,
	  false },
	{ "umod32 by power of two imm",
	  { LD_IMM64(0, 0xffffffffffffffffull), ALU32_IMM(BPF_MOD, 0, 8), EXIT },
	  7,
	  false },
	{ "udiv64 by negative imm (sign-extended divisor)",
	  { LD_IMM64(0, 0xfffffffffffffffeull), ALU64_IMM(BPF_DIV, 0, -2), EXIT },
	  1,
	  false },
	{ "shift r4 by r4",
	  { MOV64_IMM(4, 3), ALU64_REG(BPF_LSH, 4, 4), MOV64_REG(0, 4), EXIT },
	  24,
	  false },
	{ "shift r4 by r1 keeps r1",
	  { MOV64_IMM(4, 1), MOV64_IMM(1, 65), ALU64_REG(BPF_LSH, 4, 1), MOV64_REG(0, 4),
	    ALU64_REG(BPF_ADD, 0, 1), EXIT },
	  2 + 65,
	  false },
	{ "shift r0 by r1 keeps r4",
	  { MOV64_IMM(4, 1000), MOV64_IMM(0, 1), MOV64_IMM(1, 4), ALU64_REG(BPF_LSH, 0, 1),
	    ALU64_REG(BPF_ADD, 0, 4), EXIT },
	  1016,
	  false },
	{ "arsh32 by register masks with 31",
	  { MOV64_IMM(0, -16), MOV64_IMM(2, 33), ALU32_REG(BPF_ARSH, 0, 2), EXIT },
	  0xfffffff8,
	  false },
	{ "fetch_or with dst r0",
	  { MOV64_REG(0, 10), ALU64_IMM(BPF_ADD, 0, -8), ST_IMM(BPF_DW, 10, -8, 0x10),
	    MOV64_IMM(1, 0x3), ATOMIC(BPF_DW, 0, 1, 0, BPF_OR | BPF_FETCH), LDX(BPF_DW, 0, 10, -8),
	    ALU64_IMM(BPF_MUL, 0, 100), ALU64_REG(BPF_ADD, 0, 1), EXIT },
	  0x13 * 100 + 0x10,
	  false },
	{ "fetch_xor32 with src r0",
	  { ST_IMM(BPF_DW, 10, -8, -1), MOV64_IMM(0, 0xff),
	    ATOMIC(BPF_W, 10, 0, -8, BPF_XOR | BPF_FETCH), LDX(BPF_DW, 1, 10, -8),
	    ALU64_REG(BPF_XOR, 0, 1), EXIT },
	  0xffffffff00000000ull ^ 0xffffff00ull ^ 0xffffffffull,
	  false },
	{ "cmpxchg32 success zero-extends r0",
	  { ST_IMM(BPF_W, 10, -4, 5), LD_IMM64(0, 0xaaaaaaaa00000005ull), MOV64_IMM(1, 9),
	    ATOMIC(BPF_W, 10, 1, -4, BPF_CMPXCHG), LDX(BPF_W, 1, 10, -4), ALU64_IMM(BPF_LSH, 1, 32),
	    ALU64_REG(BPF_OR, 0, 1), EXIT },
	  0x900000005ull,
	  false },
	{ "byte store of r1 and r2 (sil/dil need REX)",
	  { MOV64_IMM(1, 0x1ab), MOV64_IMM(2, 0x2cd), STX(BPF_B, 10, 1, -1), STX(BPF_B, 10, 2, -2),
	    LDX(BPF_H, 0, 10, -2), EXIT },
	  0xabcd,
	  false },
	{ "helper gets r1..r5 and env",
	  { MOV64_IMM(1, 1), MOV64_IMM(2, 10), MOV64_IMM(3, 100), MOV64_IMM(4, 1000),
	    MOV64_IMM(5, 10000), CALL_HELPER(HELPER_SUM5), EXIT },
	  1 + 20 + 300 + 4000 + 50000,
	  false },
	{ "callx helper id",
	  { MOV64_IMM(1, 2), MOV64_IMM(3, 0), MOV64_IMM(4, 0), MOV64_IMM(5, 0),
	    MOV64_IMM(7, HELPER_SUM5), CALLX(7), EXIT },
	  2,
	  false },
	{ "callx unknown helper id gives -EINVAL",
	  { MOV64_IMM(6, 3), CALLX(6), EXIT },
	  (uint64_t)-EINVAL,
	  true },
	{ "callx through a PSEUDO_FUNC address",
	  { LD_FUNC(6, 5), MOV64_IMM(1, 20), CALLX(6), ALU64_IMM(BPF_ADD, 0, 1), EXIT,
	    MOV64_REG(0, 1), ALU64_IMM(BPF_MUL, 0, 3), EXIT },
	  61,
	  true },
	{ "unwind helper returning 0 in a subprogram ends the program with 0",
	  { MOV64_IMM(6, 5), CALL_LOCAL(3), ALU64_IMM(BPF_ADD, 0, 100), ALU64_REG(BPF_ADD, 0, 6),
	    EXIT, MOV64_IMM(1, 0), CALL_HELPER(CONFORMANCE_UNWIND_HELPER), MOV64_IMM(0, 7), EXIT },
	  0,
	  false },
	{ "unwind helper returning non-zero continues",
	  { MOV64_IMM(6, 5), CALL_LOCAL(3), ALU64_IMM(BPF_ADD, 0, 100), ALU64_REG(BPF_ADD, 0, 6),
	    EXIT, MOV64_IMM(1, 3), CALL_HELPER(CONFORMANCE_UNWIND_HELPER), MOV64_IMM(0, 7), EXIT },
	  112,
	  false },
	{ "unwind through two bpf-to-bpf frames",
	  { CALL_LOCAL(2), ALU64_IMM(BPF_ADD, 0, 100), EXIT, CALL_LOCAL(2),
	    ALU64_IMM(BPF_ADD, 0, 10), EXIT, MOV64_IMM(1, 0),
	    CALL_HELPER(CONFORMANCE_UNWIND_HELPER), MOV64_IMM(0, 1), EXIT },
	  0,
	  false },
	{ "unwind through callx",
	  { MOV64_IMM(1, 0), MOV64_IMM(2, CONFORMANCE_UNWIND_HELPER), CALLX(2), MOV64_IMM(0, 9),
	    EXIT },
	  0,
	  false },
	{ "bpf_loop calls a subprogram through its SysV entry",
	  /* sum of i for i < 10 into the stack slot the callback gets as ctx */
	  { ST_IMM(BPF_DW, 10, -8, 0), MOV64_IMM(1, 10), LD_FUNC(2, 7), MOV64_REG(3, 10),
	    ALU64_IMM(BPF_ADD, 3, -8), MOV64_IMM(4, 0), CALL_HELPER(HELPER_LOOP),
	    LDX(BPF_DW, 0, 10, -8), EXIT,
	    /* callback(i, ctx): *ctx += i; uses r6..r9 and its own stack */
	    MOV64_IMM(6, 1), MOV64_IMM(7, 2), MOV64_IMM(8, 3), MOV64_IMM(9, 4),
	    STX(BPF_DW, 10, 1, -8), LDX(BPF_DW, 3, 2, 0), ALU64_REG(BPF_ADD, 3, 1),
	    STX(BPF_DW, 2, 3, 0), MOV64_IMM(0, 0), EXIT },
	  45,
	  true },
	{ "local call keeps r6..r9, each frame has its own stack",
	  { MOV64_IMM(6, 6), MOV64_IMM(7, 7), MOV64_IMM(8, 8), MOV64_IMM(9, 9),
	    ST_IMM(BPF_DW, 10, -8, 100), CALL_LOCAL(5), LDX(BPF_DW, 1, 10, -8),
	    ALU64_REG(BPF_ADD, 0, 1), ALU64_REG(BPF_ADD, 0, 6), ALU64_REG(BPF_ADD, 0, 9), EXIT,
	    ST_IMM(BPF_DW, 10, -8, 5), MOV64_IMM(6, 0), MOV64_IMM(9, 0), LDX(BPF_DW, 0, 10, -8),
	    EXIT },
	  5 + 100 + 6 + 9,
	  false },
};

START_TEST(test_exec_case)
{
	const struct exec_case *c = &exec_cases[_i];
	struct bpfi_jit_opts opts = default_opts();
	uint32_t cnt = ARRAY_SIZE(c->insns);
	uint64_t r0 = 0, r_interp = 0;
	char logbuf[512];
	int err;

	while (cnt && !c->insns[cnt - 1].code && !c->insns[cnt - 1].imm)
		cnt--;
	err = jit_run(c->insns, cnt, &opts, 0, 0, &r0, logbuf, sizeof(logbuf));
	ck_assert_msg(!err, "%s: %d %s", c->descr, err, logbuf);
	ck_assert_msg(r0 == c->expect, "%s: r0 = 0x%llx, expected 0x%llx", c->descr,
		      (unsigned long long)r0, (unsigned long long)c->expect);
	if (c->jit_only)
		return;
	err = bpfi_interp_run(c->insns, cnt, 0, 0, &test_env, &r_interp);
	ck_assert_msg(!err && r_interp == r0, "%s: interpreter %d 0x%llx, jit 0x%llx", c->descr,
		      err, (unsigned long long)r_interp, (unsigned long long)r0);
}
END_TEST

/* Golden encodings: what each encoder must produce, and how objdump -M intel reads it back. */
struct golden_case {
	const char *intel; /* objdump's text, whitespace collapsed */
	void (*emit)(struct jit_state *st);
	const char *hex;
};

#define GOLDEN(name, call)                     \
	static void name(struct jit_state *st) \
	{                                      \
		call;                          \
	}
GOLDEN(g_mov_rax_r12, jit__emit_mov_rr(st, true, R12, RAX))
GOLDEN(g_mov_r12d_eax, jit__emit_mov_rr(st, false, RAX, R12))
GOLDEN(g_xor_eax, jit__emit_mov_ri(st, false, RAX, 0))
GOLDEN(g_mov_ecx_imm, jit__emit_mov_ri(st, true, RCX, 0x12345678))
GOLDEN(g_mov_rdx_m1, jit__emit_mov_ri(st, true, RDX, -1))
GOLDEN(g_movabs_r11, jit__emit_movabs(st, R11, 0x1122334455667788ull))
GOLDEN(g_add_rdi_rsi, jit__emit_alu_rr(st, true, 0x01, RSI, RDI))
GOLDEN(g_sub_r13d_5, jit__emit_alu_ri(st, false, 5, R13, 5))
GOLDEN(g_cmp_rax_imm, jit__emit_alu_ri(st, true, 7, RAX, 0x1000))
GOLDEN(g_and_r14_imm, jit__emit_alu_ri(st, true, 4, R14, 0x12345))
GOLDEN(g_neg_rbx, jit__emit_unary(st, true, 3, RBX))
GOLDEN(g_div_r11, jit__emit_unary(st, true, 6, R11))
GOLDEN(g_idiv_r11d, jit__emit_unary(st, false, 7, R11))
GOLDEN(g_shl_r15_3, jit__emit_shift_ri(st, true, 4, R15, 3))
GOLDEN(g_sar_ecx_1, jit__emit_shift_ri(st, false, 7, RCX, 1))
GOLDEN(g_push_r12, jit__emit_push(st, R12))
GOLDEN(g_pop_rbp, jit__emit_pop(st, RBP))
GOLDEN(g_bswap_r8d, jit__emit_bswap(st, false, R8))
GOLDEN(g_bswap_rdx, jit__emit_bswap(st, true, RDX))
GOLDEN(g_load_dw, jit__emit_load(st, BPF_DW, false, RAX, RDI, 8))
GOLDEN(g_load_b_r13, jit__emit_load(st, BPF_B, false, RSI, R13, 0))
GOLDEN(g_load_hsx_r12, jit__emit_load(st, BPF_H, true, RCX, R12, 0x100))
GOLDEN(g_load_wsx_rbp, jit__emit_load(st, BPF_W, true, RDX, RBP, -4))
GOLDEN(g_store_b_sil, jit__emit_store_reg(st, BPF_B, RSI, RDX, 1))
GOLDEN(g_store_h_r8w, jit__emit_store_reg(st, BPF_H, R8, RBP, -2))
GOLDEN(g_store_imm_dw, jit__emit_store_imm(st, BPF_DW, RBX, 0, 0x7f))
GOLDEN(g_store_imm_h, jit__emit_store_imm(st, BPF_H, R15, -6, 0x1234))
GOLDEN(g_lock_cmpxchg, jit__emit_op_mem(st, JIT_W | JIT_LOCK, 0x0fb1, R11, RDI, 0x10))
GOLDEN(g_lock_xadd, jit__emit_op_mem(st, JIT_LOCK, 0x0fc1, RCX, R14, 0))
GOLDEN(g_xchg, jit__emit_op_mem(st, JIT_W, 0x87, RAX, RSI, 8))
GOLDEN(g_call_r11, jit__emit_op_rr(st, 0, 0xff, 2, R11))
GOLDEN(g_lea_rbp, jit__emit_op_mem(st, JIT_W, 0x8d, RBP, RSP, 512))
GOLDEN(g_test_sil, (jit__emit_op_rr(st, JIT_BYTE, 0xf6, 0, RSI), jit__emit1(st, 4)))
GOLDEN(g_movsx_dil, jit__emit_op_rr(st, JIT_BYTE, 0x0fbe, RAX, RDI))
GOLDEN(g_imul, jit__emit_op_rr(st, JIT_W, 0x0faf, R13, RSI))
GOLDEN(g_shl_cl, jit__emit_op_rr(st, JIT_W, 0xd3, 4, R14))

static const struct golden_case golden_cases[] = {
	{ "mov rax,r12", g_mov_rax_r12, "4c 89 e0" },
	{ "mov r12d,eax", g_mov_r12d_eax, "41 89 c4" },
	{ "xor eax,eax", g_xor_eax, "31 c0" },
	{ "mov ecx,0x12345678", g_mov_ecx_imm, "b9 78 56 34 12" },
	{ "mov rdx,0xffffffffffffffff", g_mov_rdx_m1, "48 c7 c2 ff ff ff ff" },
	{ "movabs r11,0x1122334455667788", g_movabs_r11, "49 bb 88 77 66 55 44 33 22 11" },
	{ "add rdi,rsi", g_add_rdi_rsi, "48 01 f7" },
	{ "sub r13d,0x5", g_sub_r13d_5, "41 83 ed 05" },
	{ "cmp rax,0x1000", g_cmp_rax_imm, "48 3d 00 10 00 00" },
	{ "and r14,0x12345", g_and_r14_imm, "49 81 e6 45 23 01 00" },
	{ "neg rbx", g_neg_rbx, "48 f7 db" },
	{ "div r11", g_div_r11, "49 f7 f3" },
	{ "idiv r11d", g_idiv_r11d, "41 f7 fb" },
	{ "shl r15,0x3", g_shl_r15_3, "49 c1 e7 03" },
	{ "sar ecx,1", g_sar_ecx_1, "d1 f9" },
	{ "push r12", g_push_r12, "41 54" },
	{ "pop rbp", g_pop_rbp, "5d" },
	{ "bswap r8d", g_bswap_r8d, "41 0f c8" },
	{ "bswap rdx", g_bswap_rdx, "48 0f ca" },
	{ "mov rax,QWORD PTR [rdi+0x8]", g_load_dw, "48 8b 47 08" },
	{ "movzx esi,BYTE PTR [r13+0x0]", g_load_b_r13, "41 0f b6 75 00" },
	{ "movsx rcx,WORD PTR [r12+0x100]", g_load_hsx_r12, "49 0f bf 8c 24 00 01 00 00" },
	{ "movsxd rdx,DWORD PTR [rbp-0x4]", g_load_wsx_rbp, "48 63 55 fc" },
	{ "mov BYTE PTR [rdx+0x1],sil", g_store_b_sil, "40 88 72 01" },
	{ "mov WORD PTR [rbp-0x2],r8w", g_store_h_r8w, "66 44 89 45 fe" },
	{ "mov QWORD PTR [rbx],0x7f", g_store_imm_dw, "48 c7 03 7f 00 00 00" },
	{ "mov WORD PTR [r15-0x6],0x1234", g_store_imm_h, "66 41 c7 47 fa 34 12" },
	{ "lock cmpxchg QWORD PTR [rdi+0x10],r11", g_lock_cmpxchg, "f0 4c 0f b1 5f 10" },
	{ "lock xadd DWORD PTR [r14],ecx", g_lock_xadd, "f0 41 0f c1 0e" },
	{ "xchg QWORD PTR [rsi+0x8],rax", g_xchg, "48 87 46 08" },
	{ "call r11", g_call_r11, "41 ff d3" },
	{ "lea rbp,[rsp+0x200]", g_lea_rbp, "48 8d ac 24 00 02 00 00" },
	{ "test sil,0x4", g_test_sil, "40 f6 c6 04" },
	{ "movsx eax,dil", g_movsx_dil, "40 0f be c7" },
	{ "imul r13,rsi", g_imul, "4c 0f af ee" },
	{ "shl r14,cl", g_shl_cl, "49 d3 e6" },
};

static void to_hex(const uint8_t *p, size_t n, char *out, size_t outsz)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && used + 4 < outsz; i++)
		used += (size_t)snprintf(out + used, outsz - used, i ? " %02x" : "%02x", p[i]);
}

START_TEST(test_golden_encoding)
{
	const struct golden_case *g = &golden_cases[_i];
	struct jit_state st = { 0 };
	char hex[128];

	g->emit(&st);
	ck_assert_int_eq(st.err, 0);
	to_hex(st.buf, st.off, hex, sizeof(hex));
	ck_assert_msg(!strcmp(hex, g->hex), "%s: got %s, expected %s", g->intel, hex, g->hex);
	free(st.buf);
}
END_TEST

/* Collapses runs of blanks to one space and trims the end. */
static void squeeze(char *s)
{
	char *out = s;

	for (char *p = s; *p; p++) {
		if ((*p == ' ' || *p == '\t' || *p == '\n') && (out == s || out[-1] == ' '))
			continue;
		*out++ = (*p == '\t' || *p == '\n') ? ' ' : *p;
	}
	while (out > s && out[-1] == ' ')
		out--;
	*out = '\0';
}

/*
 * Disassembles @len bytes with objdump; returns the mnemonic text of every instruction, one
 * per line, or NULL when objdump is not installed. The caller frees.
 */
static char *objdump(const void *code, size_t len)
{
	char path[] = "/tmp/bpfi-jit-XXXXXX", cmd[256], line[512];
	size_t cap = 4096, used = 0;
	char *text;
	FILE *p;
	int fd;

	if (access("/usr/bin/objdump", X_OK))
		return NULL;
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, code, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "objdump -D -b binary -m i386:x86-64 -M intel %s", path);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	text = calloc(1, cap);
	while (fgets(line, sizeof(line), p)) {
		char *first = strchr(line, '\t'), *mnem = first ? strchr(first + 1, '\t') : NULL;

		if (!mnem) /* a continuation line holds bytes only */
			continue;
		squeeze(++mnem);
		while (used + strlen(mnem) + 2 > cap)
			text = realloc(text, cap *= 2);
		used += (size_t)sprintf(text + used, "%s\n", mnem);
	}
	pclose(p);
	unlink(path);
	return text;
}

START_TEST(test_golden_objdump)
{
	const struct golden_case *g = &golden_cases[_i];
	struct jit_state st = { 0 };
	char *text;

	g->emit(&st);
	text = objdump(st.buf, st.off);
	free(st.buf);
	if (!text)
		return; /* no binutils: the byte check above still holds */
	ck_assert_msg(!strcmp(text, g->intel) || (strlen(text) == strlen(g->intel) + 1 &&
						  !strncmp(text, g->intel, strlen(g->intel))),
		      "objdump reads '%s' as '%s'", g->intel, text);
	free(text);
}
END_TEST

/* Every conformance program's code disassembles cleanly (no "(bad)"), table aside. */
START_TEST(test_objdump_all_images)
{
	struct bpfi_jit_opts opts = default_opts();
	size_t total = 0;
	uint8_t *all = NULL;
	char *text;

	for (int i = 0; i < nr_cases; i++) {
		struct bpfi_jit_image *image = NULL;
		bool callx = false;

		for (uint32_t k = 0; k < cases[i].insn_cnt; k++)
			callx |= cases[i].insns[k].code == (BPF_JMP | BPF_CALL | BPF_X);
		if (callx)
			continue;
		ck_assert_int_eq(
			bpfi_jit_compile(cases[i].insns, cases[i].insn_cnt, &opts, &image, NULL),
			0);
		all = realloc(all, total + bpfi_jit_image_size(image));
		memcpy(all + total, bpfi_jit_image_code(image), bpfi_jit_image_size(image));
		total += bpfi_jit_image_size(image);
		bpfi_jit_image_free(image);
	}
	text = objdump(all, total);
	free(all);
	if (!text)
		return;
	ck_assert_msg(!strstr(text, "(bad)"), "objdump found an undecodable instruction");
	ck_assert_ptr_nonnull(strstr(text, "lock cmpxchg"));
	ck_assert_ptr_nonnull(strstr(text, "idiv"));
	free(text);
}
END_TEST

/* Main: callback through a helper, a local call, and (r1 != 0) the subprogram's address. */
static const struct bpf_insn pic_prog[] = {
	MOV64_REG(6, 1),
	LD_FUNC(1, 12),
	MOV64_IMM(2, 5),
	MOV64_IMM(3, 0),
	CALL_HELPER(HELPER_CALLBACK), /* sub(5) = 15 */
	MOV64_REG(7, 0),
	MOV64_IMM(1, 7),
	CALL_LOCAL(5), /* sub(7) = 21 */
	ALU64_REG(BPF_ADD, 0, 7),
	JMP_IMM(BPF_JEQ, 6, 0, 2),
	LD_FUNC(0, 2),
	EXIT,
	MOV64_REG(0, 1), /* sub(x) = 3 x */
	ALU64_IMM(BPF_MUL, 0, 3),
	EXIT,
};

static void *map_code(const void *code, size_t len)
{
	size_t mlen = ALIGN_UP(len, (size_t)sysconf(_SC_PAGESIZE));
	void *p = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	memcpy(p, code, len);
	ck_assert_int_eq(mprotect(p, mlen, PROT_READ | PROT_EXEC), 0);
	return p;
}

/* The image's bytes run unchanged from two different places (as in another process). */
START_TEST(test_position_independent)
{
	struct bpfi_jit_opts opts = default_opts();
	struct bpfi_jit_image *image = NULL;
	uint64_t a0, b0, a1, b1;
	bpfi_jit_fn fa, fb;
	uint8_t *pa, *pb;
	size_t len;

	ck_assert_int_eq(bpfi_jit_compile(pic_prog, ARRAY_SIZE(pic_prog), &opts, &image, NULL), 0);
	len = bpfi_jit_image_size(image);
	pa = map_code(bpfi_jit_image_code(image), len);
	pb = map_code(bpfi_jit_image_code(image), len);
	bpfi_jit_image_free(image); /* nothing may point back into the original buffer */
	fa = (bpfi_jit_fn)(void *)pa;
	fb = (bpfi_jit_fn)(void *)pb;
	a0 = fa(0, 0);
	b0 = fb(0, 0);
	ck_assert_uint_eq(a0, 36);
	ck_assert_uint_eq(b0, 36);
	a1 = fa(1, 0);
	b1 = fb(1, 0);
	ck_assert_msg(a1 > (uintptr_t)pa && a1 < (uintptr_t)pa + len, "subprogram outside copy A");
	ck_assert_uint_eq(a1 - (uintptr_t)pa, b1 - (uintptr_t)pb);
}
END_TEST

/* bpfi_jit_image_load() maps r-x, never rwx. */
START_TEST(test_wx_mapping)
{
	struct bpfi_jit_opts opts = default_opts();
	struct bpfi_jit_image *image = NULL;
	bool found = false;
	char line[512];
	bpfi_jit_fn fn;
	uintptr_t addr;
	FILE *maps;

	ck_assert_int_eq(bpfi_jit_compile(pic_prog, ARRAY_SIZE(pic_prog), &opts, &image, NULL), 0);
	ck_assert_int_eq(bpfi_jit_image_load(image, &fn, NULL), 0);
	ck_assert_uint_eq(fn(0, 0), 36);
	memcpy(&addr, &fn, sizeof(addr));
	maps = fopen("/proc/self/maps", "r");
	ck_assert_ptr_nonnull(maps);
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || addr < lo || addr >= hi)
			continue;
		found = true;
		ck_assert_msg(!strcmp(perms, "r-xp"), "image mapped %s", perms);
	}
	fclose(maps);
	ck_assert(found);
	bpfi_jit_image_free(image);
}
END_TEST

/* Tail calls: bpfi_tail_call_target() stand-in resolving (map 0x1234, index 0). */
#define TAIL_MAP 0x1234
static struct bpfi_prog_entry tail_entry_tbl[1];

static const struct bpfi_prog_entry *tail_target(const struct bpfi_env *env, void *map,
						 uint32_t index)
{
	if (env != &test_env || map != (void *)TAIL_MAP || index >= ARRAY_SIZE(tail_entry_tbl) ||
	    !tail_entry_tbl[index].tail_entry)
		return NULL;
	return &tail_entry_tbl[index];
}

static bpfi_jit_fn load_prog(const struct bpf_insn *insns, uint32_t cnt,
			     struct bpfi_jit_image **ret_image)
{
	struct bpfi_jit_opts opts = default_opts();
	const struct bpfi_prog_entry *(*resolve)(const struct bpfi_env *, void *, uint32_t) =
		tail_target;
	bpfi_jit_fn fn;

	memcpy(&opts.tail_call_addr, &resolve, sizeof(opts.tail_call_addr));
	ck_assert_int_eq(bpfi_jit_compile(insns, cnt, &opts, ret_image, NULL), 0);
	ck_assert_int_eq(bpfi_jit_image_load(*ret_image, &fn, NULL), 0);
	return fn;
}

/* Caller: uses r6..r10 (a full frame to unwind), then tail-calls (map, index = r2). */
static const struct bpf_insn tail_caller[] = {
	MOV64_IMM(6, 1),	   MOV64_IMM(7, 2),
	MOV64_IMM(8, 3),	   MOV64_IMM(9, 4),
	ST_IMM(BPF_DW, 10, -8, 1), MOV64_REG(3, 2),
	LD_IMM64(2, TAIL_MAP),	   CALL_HELPER(HELPER_TAIL),
	MOV64_IMM(0, 99),	   EXIT,
};
static const struct bpf_insn tail_callee[] = {
	MOV64_REG(0, 1),
	ALU64_IMM(BPF_ADD, 0, 1000),
	EXIT,
};
/* A failed tail call leaves r0 = -ENOENT, as the interpreter does. */
static const struct bpf_insn tail_fail[] = {
	MOV64_REG(3, 2),
	LD_IMM64(2, TAIL_MAP),
	CALL_HELPER(HELPER_TAIL),
	EXIT,
};
/* Counts its runs in *ctx and tail-calls itself until the budget is spent. */
static const struct bpf_insn tail_self[] = {
	LDX(BPF_DW, 0, 1, 0),  ALU64_IMM(BPF_ADD, 0, 1), STX(BPF_DW, 1, 0, 0), MOV64_IMM(3, 0),
	LD_IMM64(2, TAIL_MAP), CALL_HELPER(HELPER_TAIL), MOV64_IMM(0, 7),      EXIT,
};

START_TEST(test_tail_call)
{
	struct bpfi_jit_image *caller = NULL, *callee = NULL, *failing = NULL;
	bpfi_jit_fn fa, fb;

	fa = load_prog(tail_caller, ARRAY_SIZE(tail_caller), &caller);
	fb = load_prog(tail_callee, ARRAY_SIZE(tail_callee), &callee);
	ck_assert_uint_eq(fa(5, 0), 99); /* empty slot: falls through */
	memcpy(&tail_entry_tbl[0].tail_entry, &fb, sizeof(fb));
	tail_entry_tbl[0].tail_entry += bpfi_jit_image_tail_offset(callee);
	for (int i = 0; i < 1000; i++) /* a leaked frame would show as a crash here */
		ck_assert_uint_eq(fa(5 + i, 0), 1005 + i);
	ck_assert_uint_eq(fa(5, 1), 99); /* index out of the array */
	fb = load_prog(tail_fail, ARRAY_SIZE(tail_fail), &failing);
	ck_assert_uint_eq(fb(5, 1), (uint64_t)-ENOENT);
	bpfi_jit_image_free(failing);
	tail_entry_tbl[0].tail_entry = 0;
	bpfi_jit_image_free(caller);
	bpfi_jit_image_free(callee);
}
END_TEST

START_TEST(test_tail_call_limit)
{
	struct bpfi_jit_image *image = NULL;
	uint64_t counter = 0;
	bpfi_jit_fn fn;

	fn = load_prog(tail_self, ARRAY_SIZE(tail_self), &image);
	memcpy(&tail_entry_tbl[0].tail_entry, &fn, sizeof(fn));
	tail_entry_tbl[0].tail_entry += bpfi_jit_image_tail_offset(image);
	ck_assert_uint_eq(fn((uintptr_t)&counter, 0), 7);
	ck_assert_uint_eq(counter, BPFI_MAX_TAIL_CALLS + 1);
	counter = 0;
	ck_assert_uint_eq(fn((uintptr_t)&counter, 0), 7); /* a new run starts from 0 again */
	ck_assert_uint_eq(counter, BPFI_MAX_TAIL_CALLS + 1);
	tail_entry_tbl[0].tail_entry = 0;
	bpfi_jit_image_free(image);
}
END_TEST

/* A tail call from a subprogram replaces the subprogram: the callee returns to main. */
static const struct bpf_insn tail_from_sub[] = {
	CALL_LOCAL(2),
	ALU64_IMM(BPF_ADD, 0, 1),
	EXIT,
	MOV64_IMM(3, 0),
	LD_IMM64(2, TAIL_MAP),
	CALL_HELPER(HELPER_TAIL),
	MOV64_IMM(0, 99),
	EXIT,
};

START_TEST(test_tail_call_from_subprogram)
{
	struct bpfi_jit_image *caller = NULL, *callee = NULL;
	bpfi_jit_fn fa, fb;

	fa = load_prog(tail_from_sub, ARRAY_SIZE(tail_from_sub), &caller);
	fb = load_prog(tail_callee, ARRAY_SIZE(tail_callee), &callee);
	ck_assert_uint_eq(fa(5, 0), 100);
	memcpy(&tail_entry_tbl[0].tail_entry, &fb, sizeof(fb));
	tail_entry_tbl[0].tail_entry += bpfi_jit_image_tail_offset(callee);
	ck_assert_uint_eq(fa(5, 0), 1006);
	tail_entry_tbl[0].tail_entry = 0;
	bpfi_jit_image_free(caller);
	bpfi_jit_image_free(callee);
}
END_TEST

/* fn(r1, 0) with rsp at @top: a stack of our own, switched to as stub/stack.S does. */
__asm__(".text\n"
	".hidden tw_run_on_stack\n"
	".type tw_run_on_stack, @function\n"
	"tw_run_on_stack:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	mov %rdx, %rsp\n"
	"	and $-16, %rsp\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	xor %esi, %esi\n"
	"	call *%rax\n"
	"	mov %rbp, %rsp\n"
	"	pop %rbp\n"
	"	ret\n"
	".size tw_run_on_stack, . - tw_run_on_stack\n");
uint64_t tw_run_on_stack(bpfi_jit_fn fn, uint64_t r1, uint64_t top);

/* A target's private stack (stub/dispatch.c): 32 KiB above a guard page. */
#define TW_STACK (32u << 10)
/* What the JIT's largest frame takes: 512 bytes, alignment, 6 saved registers, the return. */
#define TW_FRAME (BPFI_STACK_SIZE + 8 + 6 * 8 + 8)

/*
 * Issue 11 A2: the deepest stack an accepted program can build with tail calls (33 from a
 * subprogram of main, each leaving main's frame, then a chain to the eighth frame) runs on a
 * target-sized private stack, makes every tail call, and leaves room for helpers below.
 */
START_TEST(test_tail_call_worst_case_stack)
{
	struct bpf_insn insns[TAIL_WORST_INSNS];
	struct bpfi_jit_image *image = NULL;
	uint64_t res[3] = { 0 }, top, used;
	bpfi_jit_fn fn;
	uint8_t *mem;

	tail_worst_build(insns, 0, TAIL_MAP, 0, (uintptr_t)res);
	fn = load_prog(insns, TAIL_WORST_INSNS, &image);
	memcpy(&tail_entry_tbl[0].tail_entry, &fn, sizeof(fn));
	tail_entry_tbl[0].tail_entry += bpfi_jit_image_tail_offset(image);
	mem = mmap(NULL, 4096 + TW_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	ck_assert(mem != MAP_FAILED);
	ck_assert_int_eq(mprotect(mem, 4096, PROT_NONE), 0);
	top = (uintptr_t)mem + 4096 + TW_STACK;
	ck_assert_uint_eq(tw_run_on_stack(fn, 0, top), 0);
	ck_assert_uint_eq(res[0], 1 + BPFI_MAX_TAIL_CALLS);
	used = top - (res[1] - BPFI_STACK_SIZE);
	printf("jit: 33 tail calls from a subprogram, then 8 frames: %llu of %u stack bytes\n",
	       (unsigned long long)used, TW_STACK);
	ck_assert_uint_le(used, (1 + BPFI_MAX_TAIL_CALLS + BPFI_MAX_CALL_FRAMES - 1) * TW_FRAME);
	ck_assert_uint_ge(TW_STACK - used, 8192);
	ck_assert_uint_le(res[2] - res[1], used);
	munmap(mem, 4096 + TW_STACK);
	tail_entry_tbl[0].tail_entry = 0;
	bpfi_jit_image_free(image);
}
END_TEST

/* Maps code built with our own (golden-tested) encoders, read-execute. */
static void *map_state(struct jit_state *st)
{
	void *p;

	ck_assert_int_eq(st->err, 0);
	p = map_code(st->buf, st->off);
	free(st->buf);
	return p;
}

/*
 * uint64_t check(fn, r1, r2): loads the SysV callee-saved registers with known values, calls
 * fn(r1, r2) and returns which of them came back changed (0: all preserved).
 */
static void *build_sysv_checker(void)
{
	static const uint8_t saved[] = { RBX, RBP, R12, R13, R14, R15 };
	struct jit_state st = { 0 };

	for (unsigned k = 0; k < sizeof(saved); k++)
		jit__emit_push(&st, saved[k]);
	jit__emit_alu_ri(&st, true, 5, RSP, 8);
	jit__emit_mov_rr(&st, true, RDI, RAX);
	jit__emit_mov_rr(&st, true, RSI, RDI);
	jit__emit_mov_rr(&st, true, RDX, RSI);
	for (unsigned k = 0; k < sizeof(saved); k++)
		jit__emit_mov_ri(&st, true, saved[k], 0x1111111 * (k + 1));
	jit__emit_op_rr(&st, 0, 0xff, 2, RAX); /* call rax */
	for (unsigned k = 0; k < sizeof(saved); k++) {
		jit__emit_alu_ri(&st, true, 5, saved[k], 0x1111111 * (k + 1));
		if (k)
			jit__emit_alu_rr(&st, true, 0x09, saved[k], RBX);
	}
	jit__emit_mov_rr(&st, true, RBX, RAX);
	jit__emit_alu_ri(&st, true, 0, RSP, 8);
	for (unsigned k = sizeof(saved); k-- > 0;)
		jit__emit_pop(&st, saved[k]);
	jit__emit1(&st, 0xc3);
	return map_state(&st);
}

/* Every conformance program is a SysV function: rbx, rbp, r12..r15 survive it. */
START_TEST(test_sysv_callee_saved)
{
	uint64_t (*check)(bpfi_jit_fn, uint64_t, uint64_t);
	struct bpfi_jit_opts opts = default_opts();
	void *code = build_sysv_checker();

	memcpy(&check, &code, sizeof(check));
	for (int i = 0; i < nr_cases; i++) {
		const struct conformance_case *c = &cases[i];
		struct bpfi_jit_image *image = NULL;
		uint8_t *mem = c->mem_len ? malloc(c->mem_len) : NULL;
		bpfi_jit_fn fn;

		if (mem)
			memcpy(mem, c->mem, c->mem_len);
		ck_assert_int_eq(bpfi_jit_compile(c->insns, c->insn_cnt, &opts, &image, NULL), 0);
		ck_assert_int_eq(bpfi_jit_image_load(image, &fn, NULL), 0);
		ck_assert_msg(!check(fn, (uintptr_t)mem, c->mem_len),
			      "%s clobbers a callee-saved register", c->name);
		bpfi_jit_image_free(image);
		free(mem);
	}
}
END_TEST

#define HELPER_RSP 3 /* returns rsp at its entry */

/* rsp is 16-byte aligned at every call: a helper sees rsp = 8 mod 16 (the return address). */
static const struct bpf_insn align_progs[][12] = {
	{ CALL_HELPER(HELPER_RSP), EXIT },
	{ MOV64_IMM(6, 1), ST_IMM(BPF_DW, 10, -8, 1), CALL_HELPER(HELPER_RSP), EXIT },
	{ MOV64_IMM(6, 1), MOV64_IMM(7, 1), CALL_HELPER(HELPER_RSP), EXIT },
	{ CALL_LOCAL(1), EXIT, MOV64_IMM(9, 1), CALL_HELPER(HELPER_RSP), EXIT },
	{ CALL_LOCAL(1), EXIT, ST_IMM(BPF_DW, 10, -8, 1), CALL_HELPER(HELPER_RSP), EXIT },
	{ MOV64_IMM(8, HELPER_RSP), CALLX(8), EXIT },
};

START_TEST(test_call_alignment)
{
	struct bpfi_jit_opts opts = default_opts();
	uint64_t addrs[BPFI_HELPER_MAX];
	struct jit_state st = { 0 };
	void *rsp_helper;

	jit__emit_mov_rr(&st, true, RSP, RAX);
	jit__emit1(&st, 0xc3);
	rsp_helper = map_state(&st);
	memcpy(addrs, helper_addrs, sizeof(addrs));
	memcpy(&addrs[HELPER_RSP], &rsp_helper, sizeof(addrs[0]));
	opts.helper_addrs = addrs;
	for (unsigned i = 0; i < ARRAY_SIZE(align_progs); i++) {
		uint32_t cnt = 0;
		uint64_t r0 = 0;

		while (align_progs[i][cnt].code)
			cnt++;
		ck_assert_int_eq(jit_run(align_progs[i], cnt, &opts, 0, 0, &r0, NULL, 0), 0);
		ck_assert_msg(r0 % 16 == 8, "program %u: rsp = 0x%llx at the helper", i,
			      (unsigned long long)r0);
	}
}
END_TEST

/*
 * Forward and backward jumps across N filler instructions, N crossing the rel8 limit (about
 * 20 six-byte fillers), in both passes of the translation.
 */
START_TEST(test_jump_distances)
{
	struct bpfi_jit_opts opts = default_opts();
	const uint32_t n = (uint32_t)_i;
	struct bpf_insn insns[128];
	uint64_t r0 = 0;
	uint32_t k = 0;

	insns[k++] = MOV64_IMM(0, 1);
	insns[k++] = JMP_IMM(BPF_JEQ, 1, 0, (int16_t)(n + 1));
	for (uint32_t j = 0; j < n; j++)
		insns[k++] = ALU64_IMM(BPF_ADD, 0, 1000);
	insns[k++] = ALU64_IMM(BPF_ADD, 0, 2);
	insns[k++] = MOV64_IMM(2, 3); /* loop 3 times over n fillers */
	for (uint32_t j = 0; j < n; j++)
		insns[k++] = ALU64_IMM(BPF_ADD, 0, 1);
	insns[k++] = ALU64_IMM(BPF_ADD, 2, -1);
	insns[k] = JMP_IMM(BPF_JNE, 2, 0, (int16_t)(-(int32_t)n - 2));
	k++;
	insns[k++] = EXIT;
	ck_assert_int_eq(jit_run(insns, k, &opts, 0, 0, &r0, NULL, 0), 0);
	ck_assert_uint_eq(r0, 1 + 3 * n);
	ck_assert_int_eq(jit_run(insns, k, &opts, 1, 0, &r0, NULL, 0), 0);
	ck_assert_uint_eq(r0, 1 + 1000 * n + 2 + 3 * n);
}
END_TEST

/*
 * Random differential programs (jit_fuzz.c): every ALU/ALU64 operation, register pair and
 * awkward immediate, forward branches, stack loads/stores/atomics of every size.
 */
#define FUZZ_PROGS 500

START_TEST(test_fuzz_differential)
{
	struct bpf_insn insns[JIT_FUZZ_MAX_INSNS];
	struct bpfi_jit_opts opts = default_opts();
	uint64_t r_jit = 0, r_interp = 0;
	uint32_t cnt = jit_fuzz_program((uint64_t)_i, insns);
	char logbuf[256];
	int err;

	ck_assert_uint_le(cnt, ARRAY_SIZE(insns));
	err = jit_run(insns, cnt, &opts, 0, 0, &r_jit, logbuf, sizeof(logbuf));
	ck_assert_msg(!err, "program %d: jit %d: %s", _i, err, logbuf);
	err = bpfi_interp_run(insns, cnt, 0, 0, &test_env, &r_interp);
	ck_assert_msg(!err, "program %d: interpreter %d", _i, err);
	ck_assert_msg(r_jit == r_interp, "program %d: jit 0x%llx, interpreter 0x%llx", _i,
		      (unsigned long long)r_jit, (unsigned long long)r_interp);
}
END_TEST

/* Malformed programs: one log line naming the instruction, and the errno. */
struct reject_case {
	const char *descr;
	struct bpf_insn insns[8];
	uint32_t cnt;
	int expect_err;
	const char *expect_msg;
};

#define LDDW_CODE (BPF_LD | BPF_DW | BPF_IMM)

static const struct reject_case reject_cases[] = {
	{ "unknown alu opcode",
	  { MOV64_IMM(0, 0), INSN(0xe7, 0, 0, 0, 0), EXIT },
	  3,
	  -EINVAL,
	  "jit: insn 1: unknown opcode 0xe7" },
	{ "jump past the end", { JA(5), EXIT }, 2, -EINVAL, "insn 0: jump out of range" },
	{ "jump before the start",
	  { MOV64_IMM(0, 0), JA(-3), EXIT },
	  3,
	  -EINVAL,
	  "insn 1: jump out of range" },
	{ "jump into ld_imm64",
	  { JA(1), LD_IMM64(0, 1), EXIT },
	  4,
	  -EINVAL,
	  "insn 0: jump into the middle of ld_imm64" },
	{ "truncated ld_imm64",
	  { MOV64_IMM(0, 0), INSN(LDDW_CODE, 0, 0, 0, 1) },
	  2,
	  -EINVAL,
	  "insn 1: truncated ld_imm64" },
	{ "bad ld_imm64 second slot",
	  { INSN(LDDW_CODE, 0, 0, 0, 1), MOV64_IMM(0, 0), EXIT },
	  3,
	  -EINVAL,
	  "insn 1: invalid second slot of ld_imm64" },
	{ "falls off the end",
	  { MOV64_IMM(0, 0) },
	  1,
	  -EINVAL,
	  "insn 0: falls off the end of the program" },
	{ "falls off after ld_imm64",
	  { LD_IMM64(0, 1) },
	  2,
	  -EINVAL,
	  "insn 1: falls off the end of the program" },
	{ "falls into a subprogram",
	  { CALL_LOCAL(1), MOV64_IMM(0, 0), EXIT },
	  3,
	  -EINVAL,
	  "insn 1: falls through into the next subprogram" },
	{ "jump out of a subprogram",
	  { CALL_LOCAL(1), JA(1), EXIT, MOV64_IMM(0, 1), EXIT },
	  5,
	  -EINVAL,
	  "insn 1: jump out of its subprogram" },
	{ "call target out of range",
	  { CALL_LOCAL(10), EXIT },
	  2,
	  -EINVAL,
	  "insn 0: call target out of range" },
	{ "unknown helper",
	  { CALL_HELPER(150), EXIT },
	  2,
	  -EINVAL,
	  "insn 0: call to unknown helper 150" },
	{ "negative helper id",
	  { CALL_HELPER(-1), EXIT },
	  2,
	  -EINVAL,
	  "insn 0: call to unknown helper -1" },
	{ "invalid register",
	  { INSN(BPF_ALU64 | BPF_MOV | BPF_K, 11, 0, 0, 0), EXIT },
	  2,
	  -EINVAL,
	  "insn 0: invalid register" },
	{ "unresolved map fd",
	  { INSN(LDDW_CODE, 1, BPF_PSEUDO_MAP_FD, 0, 3), INSN(0, 0, 0, 0, 0), EXIT },
	  3,
	  -EINVAL,
	  "insn 0: ld_imm64 with unresolved pseudo source 1" },
	{ "kfunc call",
	  { INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 1), EXIT },
	  2,
	  -ENOTSUP,
	  "insn 0: kfunc calls are not supported" },
	{ "byte-sized atomic",
	  { ATOMIC(BPF_B, 10, 1, -8, BPF_ADD), EXIT },
	  2,
	  -EINVAL,
	  "insn 0: atomic operation of invalid size" },
	{ "unknown atomic op",
	  { ATOMIC(BPF_DW, 10, 1, -8, 0x33), EXIT },
	  2,
	  -EINVAL,
	  "insn 0: unknown atomic operation 0x33" },
	{ "jmp32 exit",
	  { MOV64_IMM(0, 0), INSN(BPF_JMP32 | BPF_EXIT, 0, 0, 0, 0), EXIT },
	  3,
	  -EINVAL,
	  "insn 1: unknown opcode 0x96" },
	{ "byte swap of 24 bits",
	  { INSN(BPF_ALU | BPF_END | BPF_TO_BE, 0, 0, 0, 24), EXIT },
	  2,
	  -EINVAL,
	  "insn 0: invalid byte swap width 24" },
	{ "movsx32 in alu32",
	  { INSN(BPF_ALU | BPF_MOV | BPF_X, 0, 1, 32, 0), EXIT },
	  2,
	  -EINVAL,
	  "insn 0: invalid alu instruction" },
	{ "legacy packet access",
	  { INSN(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 0), EXIT },
	  2,
	  -ENOTSUP,
	  "insn 0: legacy packet access" },
	{ "empty program", { EXIT }, 0, -EINVAL, "jit: empty program" },
};

START_TEST(test_reject)
{
	const struct reject_case *c = &reject_cases[_i];
	struct bpfi_jit_opts opts = default_opts();
	struct bpfi_jit_image *image = NULL;
	char buf[512] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	int err, lines = 0;

	err = bpfi_jit_compile(c->insns, c->cnt, &opts, &image, &log);
	ck_assert_msg(err == c->expect_err, "%s: err %d, expected %d (%s)", c->descr, err,
		      c->expect_err, buf);
	ck_assert_ptr_null(image);
	ck_assert_msg(strstr(buf, c->expect_msg), "%s: log was: %s", c->descr, buf);
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	ck_assert_msg(lines == 1, "%s: %d log lines: %s", c->descr, lines, buf);
}
END_TEST

Suite *jit_suite(void)
{
	const char *dir = getenv("BPFI_CONFORMANCE_DIR");
	Suite *s = suite_create("jit");
	TCase *tc;

	setup_env();
	nr_cases = conformance_load(dir ? dir : "../shared/conformance", &cases);
	if (nr_cases < 0)
		nr_cases = 0; /* test_conformance_all then fails with the count */

	tc = tcase_create("conformance");
	tcase_add_loop_test(tc, test_conformance_case, 0, nr_cases);
	tcase_add_test(tc, test_conformance_all);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_add_loop_test(tc, test_differential_case, 0, nr_cases);
	tcase_add_loop_test(tc, test_exec_case, 0, ARRAY_SIZE(exec_cases));
	tcase_add_loop_test(tc, test_jump_distances, 0, 50);
	tcase_add_loop_test(tc, test_fuzz_differential, 0, FUZZ_PROGS);
	suite_add_tcase(s, tc);

	tc = tcase_create("encoding");
	tcase_add_loop_test(tc, test_golden_encoding, 0, ARRAY_SIZE(golden_cases));
	tcase_add_loop_test(tc, test_golden_objdump, 0, ARRAY_SIZE(golden_cases));
	tcase_add_test(tc, test_objdump_all_images);
	suite_add_tcase(s, tc);

	tc = tcase_create("image");
	tcase_add_test(tc, test_position_independent);
	tcase_add_test(tc, test_wx_mapping);
	tcase_add_test(tc, test_tail_call);
	tcase_add_test(tc, test_tail_call_limit);
	tcase_add_test(tc, test_tail_call_from_subprogram);
	tcase_add_test(tc, test_tail_call_worst_case_stack);
	tcase_add_test(tc, test_sysv_callee_saved);
	tcase_add_test(tc, test_call_alignment);
	suite_add_tcase(s, tc);

	tc = tcase_create("reject");
	tcase_add_loop_test(tc, test_reject, 0, ARRAY_SIZE(reject_cases));
	suite_add_tcase(s, tc);
	return s;
}
