// SPDX-License-Identifier: MIT
/*
 * The interpreter: the 313 programs of the shared conformance suite, then a table of edge
 * semantics (RFC 9669 division, shifts, sign extension, atomics, v4 opcodes) and control-flow
 * robustness (bad jumps, unknown opcodes, call depth, helpers, bpf_loop, tail calls).
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpfinject/arena.h>
#include <bpfinject/helpers.h>
#include <bpfinject/insn.h>
#include <bpfinject/jit.h>
#include <bpfinject/maps.h>

#include "conformance.h"
#include "tail_worst.h"

#define CONFORMANCE_TOTAL 313

/* ---- instruction builders (the kernel's filter.h names, which UAPI does not export) ---- */

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define ALU64_IMM(op, d, i)  INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define ALU64_REG(op, d, s)  INSN(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define ALU32_IMM(op, d, i)  INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define ALU32_REG(op, d, s)  INSN(BPF_ALU | (op) | BPF_X, d, s, 0, 0)
#define SDIV64_IMM(op, d, i) INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 1, i)
#define SDIV32_IMM(op, d, i) INSN(BPF_ALU | (op) | BPF_K, d, 0, 1, i)
#define MOV64(d, i)	     ALU64_IMM(BPF_MOV, d, i)
#define MOVSX64(d, s, o)     INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, o, 0)
#define MOVSX32(d, s, o)     INSN(BPF_ALU | BPF_MOV | BPF_X, d, s, o, 0)
#define LD64(d, v)                                                        \
	INSN(BPF_LD | BPF_IMM | BPF_DW, d, 0, 0, (int32_t)(uint32_t)(v)), \
		INSN(0, 0, 0, 0, (int32_t)(uint32_t)((uint64_t)(v) >> 32))
#define LD_FUNC(d, rel) \
	INSN(BPF_LD | BPF_IMM | BPF_DW, d, BPF_PSEUDO_FUNC, 0, rel), INSN(0, 0, 0, 0, 0)
#define LDX(sz, d, s, o)	INSN(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define LDXSX(sz, d, s, o)	INSN(BPF_LDX | BPF_MEMSX | (sz), d, s, o, 0)
#define STX(sz, d, s, o)	INSN(BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define ST(sz, d, o, i)		INSN(BPF_ST | BPF_MEM | (sz), d, 0, o, i)
#define ATOMIC(sz, d, s, o, op) INSN(BPF_STX | BPF_ATOMIC | (sz), d, s, o, op)
#define JA(o)			INSN(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define GOTOL(i)		INSN(BPF_JMP32 | BPF_JA, 0, 0, 0, i)
#define JMP_IMM(op, d, i, o)	INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define JMP32_IMM(op, d, i, o)	INSN(BPF_JMP32 | (op) | BPF_K, d, 0, o, i)
#define CALL_HELPER(id)		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, id)
#define CALL_LOCAL(rel)		INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, rel)
#define CALLX(r)		INSN(BPF_JMP | BPF_CALL | BPF_X, r, 0, 0, 0)
#define EXIT			INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define END64(bits)		INSN(BPF_ALU64 | BPF_END, 0, 0, 0, bits)
#define END32(src, bits)	INSN(BPF_ALU | BPF_END | (src), 0, 0, 0, bits)

#define HELPER_ADD     1 /* test helper: r1 + r2 (an id the kernel gives to map_lookup_elem) */
#define HELPER_TAIL    12
#define HELPER_LOOP    181
#define HELPER_NULL    3 /* an id left NULL in the test table */
#define MAX_TEST_INSNS 48

/* ---- the environment the tests run against ---- */

static uint64_t helper_add(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			   const struct bpfi_env *env)
{
	return r1 + r2;
}

/* The conformance suite's "unwind": returns its argument; 0 stops the program. */
static uint64_t helper_unwind(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			      const struct bpfi_env *env)
{
	return r1;
}

static void test_env_init(struct bpfi_env *env, bpfi_helper_fn *table)
{
	memset(table, 0, BPFI_HELPER_MAX * sizeof(*table));
	table[HELPER_ADD] = helper_add;
	table[CONFORMANCE_UNWIND_HELPER] = helper_unwind;
	memset(env, 0, sizeof(*env));
	env->helpers = table;
	env->unwind_helper_id = CONFORMANCE_UNWIND_HELPER;
}

/* ---- (1) the conformance suite ---- */

static struct conformance_case *conf_cases;
static int conf_n;

/* Loaded once in the parent (an unchecked fixture), so every forked test shares it. */
static void conformance_setup(void)
{
	const char *dir = getenv("BPFI_CONFORMANCE_DIR");

	conf_n = dir ? conformance_load(dir, &conf_cases) : -ENOENT;
}

static void conformance_teardown(void)
{
	if (conf_n > 0)
		conformance_free(conf_cases, conf_n);
	conf_n = 0;
}

/*
 * Runs one case as the README says: r1 = a private copy of the memory (0 without one), r2 its
 * length. A case with an expected_error passes when the interpreter refuses to run it.
 * Returns true on pass; @why says what went wrong.
 */
static bool conformance_run(const struct conformance_case *c, char *why, size_t why_sz)
{
	bpfi_helper_fn table[BPFI_HELPER_MAX];
	struct bpfi_env env;
	uint8_t *mem = NULL;
	uint64_t r0 = 0;
	int err;

	test_env_init(&env, table);
	if (c->mem_len) {
		mem = malloc(c->mem_len);
		ck_assert_ptr_nonnull(mem);
		memcpy(mem, c->mem, c->mem_len);
	}
	err = bpfi_interp_run(c->insns, c->insn_cnt, (uint64_t)(uintptr_t)mem, c->mem_len, &env,
			      &r0);
	free(mem);
	if (c->expected_error[0]) {
		snprintf(why, why_sz, "%s: ran (r0=0x%llx) but expects error '%s'", c->name,
			 (unsigned long long)r0, c->expected_error);
		return err < 0;
	}
	if (err) {
		snprintf(why, why_sz, "%s: run failed: %d", c->name, err);
		return false;
	}
	snprintf(why, why_sz, "%s: r0 0x%llx, expected 0x%llx", c->name, (unsigned long long)r0,
		 (unsigned long long)c->expected_r0);
	return r0 == c->expected_r0;
}

START_TEST(conformance_case)
{
	char why[512];

	ck_assert_msg(conf_n == CONFORMANCE_TOTAL, "conformance suite: loaded %d cases", conf_n);
	ck_assert_msg(conformance_run(&conf_cases[_i], why, sizeof(why)), "%s", why);
}
END_TEST

START_TEST(conformance_total)
{
	char why[512], first[512] = "";
	int passed = 0;

	ck_assert_msg(conf_n == CONFORMANCE_TOTAL, "conformance suite: loaded %d cases", conf_n);
	for (int i = 0; i < conf_n; i++) {
		if (conformance_run(&conf_cases[i], why, sizeof(why)))
			passed++;
		else if (!first[0])
			snprintf(first, sizeof(first), "%s", why);
	}
	ck_assert_msg(passed == CONFORMANCE_TOTAL, "%d/%d passed; first failure: %s", passed,
		      CONFORMANCE_TOTAL, first);
}
END_TEST

/* ---- (2) edge semantics, table-driven ---- */

struct interp_case {
	const char *name;
	struct bpf_insn insns[MAX_TEST_INSNS];
	int err; /* expected return of bpfi_interp_run */
	uint64_t r0; /* expected r0 when err is 0 */
};

#define M64 0x8000000000000000ull /* INT64_MIN */

static const struct interp_case edge_cases[] = {
	/* Division and modulo by zero (RFC 9669 §4.1): div gives 0, mod leaves dst. */
	{ "div64 by zero reg", { MOV64(0, 7), MOV64(1, 0), ALU64_REG(BPF_DIV, 0, 1), EXIT }, 0, 0 },
	{ "div32 by zero imm", { LD64(0, 0x100000007ull), ALU32_IMM(BPF_DIV, 0, 0), EXIT }, 0, 0 },
	{ "div32 by reg with zero low half",
	  { MOV64(0, 9), LD64(1, 0x100000000ull), ALU32_REG(BPF_DIV, 0, 1), EXIT },
	  0,
	  0 },
	{ "mod64 by zero keeps dst",
	  { LD64(0, 0x100000007ull), MOV64(1, 0), ALU64_REG(BPF_MOD, 0, 1), EXIT },
	  0,
	  0x100000007ull },
	{ "mod32 by zero truncates dst",
	  { LD64(0, 0x100000007ull), ALU32_IMM(BPF_MOD, 0, 0), EXIT },
	  0,
	  7 },
	{ "udiv64 imm is sign-extended", { MOV64(0, -1), ALU64_IMM(BPF_DIV, 0, -1), EXIT }, 0, 1 },
	{ "sdiv64 INT64_MIN / -1", { LD64(0, M64), SDIV64_IMM(BPF_DIV, 0, -1), EXIT }, 0, M64 },
	{ "smod64 INT64_MIN % -1", { LD64(0, M64), SDIV64_IMM(BPF_MOD, 0, -1), EXIT }, 0, 0 },
	{ "sdiv32 INT32_MIN / -1",
	  { MOV64(0, INT32_MIN), SDIV32_IMM(BPF_DIV, 0, -1), EXIT },
	  0,
	  0x80000000u },
	{ "smod32 INT32_MIN % -1",
	  { MOV64(0, INT32_MIN), SDIV32_IMM(BPF_MOD, 0, -1), EXIT },
	  0,
	  0 },
	{ "sdiv64 truncates toward zero",
	  { MOV64(0, -7), SDIV64_IMM(BPF_DIV, 0, 2), EXIT },
	  0,
	  (uint64_t)-3 },
	{ "smod64 takes the dividend sign",
	  { MOV64(0, -7), SDIV64_IMM(BPF_MOD, 0, 2), EXIT },
	  0,
	  (uint64_t)-1 },
	{ "smod64 negative divisor", { MOV64(0, 7), SDIV64_IMM(BPF_MOD, 0, -2), EXIT }, 0, 1 },
	{ "sdiv32 negative result zero-extended",
	  { MOV64(0, -7), SDIV32_IMM(BPF_DIV, 0, 2), EXIT },
	  0,
	  0xfffffffdu },
	{ "sdiv64 by zero", { MOV64(0, -7), SDIV64_IMM(BPF_DIV, 0, 0), EXIT }, 0, 0 },
	{ "smod64 by zero keeps dst",
	  { MOV64(0, -7), SDIV64_IMM(BPF_MOD, 0, 0), EXIT },
	  0,
	  (uint64_t)-7 },
	{ "div with off 2 is invalid",
	  { MOV64(0, 7), INSN(BPF_ALU64 | BPF_DIV | BPF_K, 0, 0, 2, 1), EXIT },
	  -22,
	  0 },

	/* Shifts mask the amount to the operand width. */
	{ "lsh64 by 65 is by 1",
	  { MOV64(0, 3), MOV64(1, 65), ALU64_REG(BPF_LSH, 0, 1), EXIT },
	  0,
	  6 },
	{ "lsh64 imm 64 is by 0", { MOV64(0, 3), ALU64_IMM(BPF_LSH, 0, 64), EXIT }, 0, 3 },
	{ "rsh32 by 33 is by 1",
	  { MOV64(0, -1), ALU32_IMM(BPF_RSH, 0, 33), EXIT },
	  0,
	  0x7fffffffu },
	{ "lsh32 by 32 is by 0",
	  { MOV64(0, 5), MOV64(1, 32), ALU32_REG(BPF_LSH, 0, 1), EXIT },
	  0,
	  5 },
	{ "arsh64 by 68 is by 4",
	  { LD64(0, M64), ALU64_IMM(BPF_ARSH, 0, 68), EXIT },
	  0,
	  0xf800000000000000ull },
	{ "arsh32 sign fills 32 bits",
	  { MOV64(0, INT32_MIN), ALU32_IMM(BPF_ARSH, 0, 31), EXIT },
	  0,
	  0xffffffffu },
	{ "arsh64 by 0", { MOV64(0, -2), ALU64_IMM(BPF_ARSH, 0, 0), EXIT }, 0, (uint64_t)-2 },

	/* Sign-extending loads (v4) and movsx (v4). */
	{ "ldxsb", { ST(BPF_B, 10, -8, 0x80), LDXSX(BPF_B, 0, 10, -8), EXIT }, 0, (uint64_t)-128 },
	{ "ldxsh",
	  { ST(BPF_H, 10, -8, 0x8001), LDXSX(BPF_H, 0, 10, -8), EXIT },
	  0,
	  0xffffffffffff8001ull },
	{ "ldxsw",
	  { ST(BPF_W, 10, -8, INT32_MIN), LDXSX(BPF_W, 0, 10, -8), EXIT },
	  0,
	  0xffffffff80000000ull },
	{ "ldxsb positive", { ST(BPF_B, 10, -8, 0x7f), LDXSX(BPF_B, 0, 10, -8), EXIT }, 0, 0x7f },
	{ "ldxb zero-extends", { ST(BPF_B, 10, -8, 0x80), LDX(BPF_B, 0, 10, -8), EXIT }, 0, 0x80 },
	{ "unaligned ldxw",
	  { ST(BPF_W, 10, -8, 0x44332211), ST(BPF_W, 10, -4, 0x88776655), LDX(BPF_W, 0, 10, -7),
	    EXIT },
	  0,
	  0x55443322 },
	{ "movsx64 8", { MOV64(1, 0x180), MOVSX64(0, 1, 8), EXIT }, 0, (uint64_t)-128 },
	{ "movsx64 16", { MOV64(1, 0x18000), MOVSX64(0, 1, 16), EXIT }, 0, 0xffffffffffff8000ull },
	{ "movsx64 32",
	  { LD64(1, 0x180000000ull), MOVSX64(0, 1, 32), EXIT },
	  0,
	  0xffffffff80000000ull },
	{ "movsx32 8 zero-extends", { MOV64(1, 0x80), MOVSX32(0, 1, 8), EXIT }, 0, 0xffffff80u },
	{ "movsx32 16 zero-extends",
	  { MOV64(1, 0x8000), MOVSX32(0, 1, 16), EXIT },
	  0,
	  0xffff8000u },
	{ "movsx32 32 is invalid", { MOV64(1, 1), MOVSX32(0, 1, 32), EXIT }, -22, 0 },
	{ "mov32 zero-extends", { MOV64(1, -1), ALU32_REG(BPF_MOV, 0, 1), EXIT }, 0, 0xffffffffu },

	/* Byte swaps: ALU64 END is an unconditional bswap (v4); ALU END to LE truncates. */
	{ "bswap16", { LD64(0, 0x1122334455667788ull), END64(16), EXIT }, 0, 0x8877 },
	{ "bswap32", { LD64(0, 0x1122334455667788ull), END64(32), EXIT }, 0, 0x88776655 },
	{ "bswap64",
	  { LD64(0, 0x1122334455667788ull), END64(64), EXIT },
	  0,
	  0x8877665544332211ull },
	{ "be16", { LD64(0, 0x1122334455667788ull), END32(BPF_TO_BE, 16), EXIT }, 0, 0x8877 },
	{ "le32 truncates",
	  { LD64(0, 0x1122334455667788ull), END32(BPF_TO_LE, 32), EXIT },
	  0,
	  0x55667788 },
	{ "le64 keeps",
	  { LD64(0, 0x1122334455667788ull), END32(BPF_TO_LE, 64), EXIT },
	  0,
	  0x1122334455667788ull },
	{ "end width 8 is invalid", { MOV64(0, 1), END64(8), EXIT }, -22, 0 },
	{ "ALU64 END with BE bit is invalid",
	  { MOV64(0, 1), INSN(BPF_ALU64 | BPF_END | BPF_TO_BE, 0, 0, 0, 16), EXIT },
	  -22,
	  0 },

	/* Atomics: cmpxchg both ways, fetch forms, widths. r0 packs old value and memory. */
	{ "cmpxchg64 success",
	  { ST(BPF_DW, 10, -8, 5), MOV64(0, 5), MOV64(1, 9), ATOMIC(BPF_DW, 10, 1, -8, BPF_CMPXCHG),
	    LDX(BPF_DW, 2, 10, -8), ALU64_IMM(BPF_MUL, 0, 100), ALU64_REG(BPF_ADD, 0, 2), EXIT },
	  0,
	  509 },
	{ "cmpxchg64 failure",
	  { ST(BPF_DW, 10, -8, 5), MOV64(0, 4), MOV64(1, 9), ATOMIC(BPF_DW, 10, 1, -8, BPF_CMPXCHG),
	    LDX(BPF_DW, 2, 10, -8), ALU64_IMM(BPF_MUL, 0, 100), ALU64_REG(BPF_ADD, 0, 2), EXIT },
	  0,
	  505 },
	/* cmpxchg32 compares the low half of r0 only and zero-extends the old value into r0. */
	{ "cmpxchg32 old value",
	  { ST(BPF_DW, 10, -8, -1), LD64(0, 0xabcdef00ffffffffull), MOV64(1, 3),
	    ATOMIC(BPF_W, 10, 1, -8, BPF_CMPXCHG), EXIT },
	  0,
	  0xffffffffu },
	{ "cmpxchg32 stores 32 bits",
	  { ST(BPF_DW, 10, -8, -1), LD64(0, 0xabcdef00ffffffffull), MOV64(1, 3),
	    ATOMIC(BPF_W, 10, 1, -8, BPF_CMPXCHG), LDX(BPF_DW, 0, 10, -8), EXIT },
	  0,
	  0xffffffff00000003ull },
	{ "cmpxchg32 failure",
	  { ST(BPF_DW, 10, -8, 6), MOV64(0, 5), MOV64(1, 3), ATOMIC(BPF_W, 10, 1, -8, BPF_CMPXCHG),
	    LDX(BPF_DW, 2, 10, -8), ALU64_IMM(BPF_LSH, 0, 8), ALU64_REG(BPF_OR, 0, 2), EXIT },
	  0,
	  0x606 },
	{ "fetch add64",
	  { ST(BPF_DW, 10, -8, 10), MOV64(1, 3), ATOMIC(BPF_DW, 10, 1, -8, BPF_ADD | BPF_FETCH),
	    LDX(BPF_DW, 0, 10, -8), ALU64_IMM(BPF_MUL, 1, 100), ALU64_REG(BPF_ADD, 0, 1), EXIT },
	  0,
	  1013 },
	{ "add64 without fetch leaves src",
	  { ST(BPF_DW, 10, -8, 10), MOV64(1, 3), ATOMIC(BPF_DW, 10, 1, -8, BPF_ADD),
	    LDX(BPF_DW, 0, 10, -8), ALU64_IMM(BPF_MUL, 1, 100), ALU64_REG(BPF_ADD, 0, 1), EXIT },
	  0,
	  313 },
	{ "fetch or32 zero-extends",
	  { ST(BPF_W, 10, -8, -16), MOV64(1, 3), ATOMIC(BPF_W, 10, 1, -8, BPF_OR | BPF_FETCH),
	    LDX(BPF_W, 0, 10, -8), ALU64_REG(BPF_XOR, 0, 1), EXIT },
	  0,
	  0xfffffff3u ^ 0xfffffff0u },
	{ "fetch and32",
	  { ST(BPF_W, 10, -8, 0xff), MOV64(1, 0x0f), ATOMIC(BPF_W, 10, 1, -8, BPF_AND | BPF_FETCH),
	    LDX(BPF_W, 0, 10, -8), ALU64_IMM(BPF_LSH, 1, 16), ALU64_REG(BPF_OR, 0, 1), EXIT },
	  0,
	  0xff000f },
	{ "xor64 without fetch",
	  { ST(BPF_DW, 10, -8, 0xff), MOV64(1, 0x0f), ATOMIC(BPF_DW, 10, 1, -8, BPF_XOR),
	    LDX(BPF_DW, 0, 10, -8), ALU64_IMM(BPF_LSH, 1, 16), ALU64_REG(BPF_OR, 0, 1), EXIT },
	  0,
	  0x0f00f0 },
	{ "xchg64",
	  { ST(BPF_DW, 10, -8, 7), MOV64(1, 8), ATOMIC(BPF_DW, 10, 1, -8, BPF_XCHG),
	    LDX(BPF_DW, 0, 10, -8), ALU64_IMM(BPF_LSH, 1, 8), ALU64_REG(BPF_OR, 0, 1), EXIT },
	  0,
	  0x708 },
	{ "unknown atomic op is invalid",
	  { ST(BPF_DW, 10, -8, 7), MOV64(1, 8), ATOMIC(BPF_DW, 10, 1, -8, 0x10), EXIT },
	  -22,
	  0 },

	/* Jumps: gotol (v4), 32-bit compares, out-of-range targets. */
	{ "gotol", { MOV64(0, 1), GOTOL(1), MOV64(0, 2), EXIT }, 0, 1 },
	{ "gotol backwards",
	  { MOV64(0, 0), JA(2), MOV64(0, 5), EXIT, ALU64_IMM(BPF_ADD, 0, 1), GOTOL(-4) },
	  0,
	  5 },
	{ "jset", { MOV64(0, 6), JMP_IMM(BPF_JSET, 0, 8, 1), MOV64(0, 9), EXIT }, 0, 9 },
	{ "jslt 64 vs jlt",
	  { MOV64(1, -1), MOV64(0, 1), JMP_IMM(BPF_JSLT, 1, 0, 1), MOV64(0, 2),
	    JMP_IMM(BPF_JLT, 1, 0, 1), ALU64_IMM(BPF_ADD, 0, 10), EXIT },
	  0,
	  11 },
	{ "jsgt32 ignores high half",
	  { LD64(1, 0x7fffffff80000000ull), JMP32_IMM(BPF_JSGT, 1, 0, 2), MOV64(0, 1), EXIT,
	    MOV64(0, 2), EXIT },
	  0,
	  1 },
	{ "jump past the end", { MOV64(0, 1), JA(5), EXIT }, -22, 0 },
	{ "jump before the start", { MOV64(0, 1), JA(-3), EXIT }, -22, 0 },
	{ "gotol past the end", { MOV64(0, 1), GOTOL(1000000), EXIT }, -22, 0 },
	{ "jump into ld_imm64", { MOV64(0, 1), JA(1), LD64(1, 0), EXIT }, -22, 0 },
	{ "falling off the end", { MOV64(0, 1), ALU64_IMM(BPF_ADD, 0, 1) }, -22, 0 },
	{ "truncated ld_imm64",
	  { MOV64(0, 1), INSN(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 1) },
	  -22,
	  0 },
	{ "ld_imm64 map fd form is invalid at run time",
	  { INSN(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, 3), INSN(0, 0, 0, 0, 0),
	    MOV64(0, 0), EXIT },
	  -22,
	  0 },
	{ "unknown opcode", { MOV64(0, 1), INSN(0xff, 0, 0, 0, 0), EXIT }, -22, 0 },
	{ "neg with X is invalid",
	  { MOV64(0, 1), INSN(BPF_ALU64 | BPF_NEG | BPF_X, 0, 0, 0, 0), EXIT },
	  -22,
	  0 },
	{ "legacy BPF_ABS is invalid",
	  { INSN(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 0), EXIT },
	  -22,
	  0 },
	{ "exit in JMP32 is invalid",
	  { MOV64(0, 1), INSN(BPF_JMP32 | BPF_EXIT, 0, 0, 0, 0) },
	  -22,
	  0 },

	/* bpf-to-bpf calls: own stack, r6-r9 restored, depth limit. */
	{ "local call keeps r6-r9 and the stack",
	  { MOV64(6, 6), MOV64(9, 9), ST(BPF_DW, 10, -8, 40), MOV64(1, 2), CALL_LOCAL(5),
	    LDX(BPF_DW, 1, 10, -8), ALU64_REG(BPF_ADD, 0, 1), ALU64_REG(BPF_ADD, 0, 6),
	    ALU64_REG(BPF_ADD, 0, 9), EXIT,
	    /* callee: */ MOV64(6, 1000), MOV64(9, 1000), ST(BPF_DW, 10, -8, 1000), MOV64(0, 0),
	    ALU64_REG(BPF_ADD, 0, 1), EXIT },
	  0,
	  2 + 40 + 6 + 9 },
	{ "seven nested calls fit",
	  { MOV64(0, 0), CALL_LOCAL(1), EXIT, ALU64_IMM(BPF_ADD, 0, 1), JMP_IMM(BPF_JGE, 0, 7, 1),
	    CALL_LOCAL(-3), EXIT },
	  0,
	  7 },
	{ "eight nested calls are too deep",
	  { MOV64(0, 0), CALL_LOCAL(1), EXIT, ALU64_IMM(BPF_ADD, 0, 1), JMP_IMM(BPF_JGE, 0, 8, 1),
	    CALL_LOCAL(-3), EXIT },
	  -7,
	  0 },
	{ "unbounded recursion", { CALL_LOCAL(-1), EXIT }, -7, 0 },
	{ "call past the end", { CALL_LOCAL(5), EXIT }, -22, 0 },
	{ "call before the start", { MOV64(0, 0), CALL_LOCAL(-3), EXIT }, -22, 0 },
	{ "kfunc call is invalid", { INSN(BPF_JMP | BPF_CALL, 0, 2, 0, 7), EXIT }, -22, 0 },

	/* Helpers: by id, through callx, unknown, unwind. */
	{ "helper call", { MOV64(1, 40), MOV64(2, 2), CALL_HELPER(HELPER_ADD), EXIT }, 0, 42 },
	{ "unknown helper (NULL slot)", { CALL_HELPER(HELPER_NULL), EXIT }, -22, 0 },
	{ "helper id out of range", { CALL_HELPER(5000), EXIT }, -22, 0 },
	{ "negative helper id", { CALL_HELPER(-1), EXIT }, -22, 0 },
	{ "callx helper id in dst",
	  { MOV64(1, 40), MOV64(2, 2), MOV64(7, HELPER_ADD), CALLX(7), EXIT },
	  0,
	  42 },
	{ "callx unknown id", { MOV64(7, 4000), CALLX(7), EXIT }, -22, 0 },
	{ "callx to a subprogram",
	  { LD_FUNC(7, 4), MOV64(1, 5), CALLX(7), EXIT,
	    /* sub: */ MOV64(0, 0), ALU64_REG(BPF_SUB, 0, 1), EXIT },
	  0,
	  (uint64_t)-5 },
	{ "unwind stops with r0 = 0",
	  { MOV64(1, 0), CALL_HELPER(CONFORMANCE_UNWIND_HELPER), MOV64(0, 9), EXIT },
	  0,
	  0 },
	{ "unwind with non-zero continues",
	  { MOV64(1, 3), CALL_HELPER(CONFORMANCE_UNWIND_HELPER), ALU64_IMM(BPF_ADD, 0, 9), EXIT },
	  0,
	  12 },
	{ "unwind inside a subprogram stops everything",
	  { CALL_LOCAL(2), MOV64(0, 9), EXIT, MOV64(1, 0), CALL_HELPER(CONFORMANCE_UNWIND_HELPER),
	    MOV64(0, 5), EXIT },
	  0,
	  0 },

	/*
	 * bpf_loop: the callback adds i to a counter on the caller's stack and stops (returns 1)
	 * at i == 4, so 5 iterations run and the counter is 0+1+2+3+4 = 10; r0 = 100 * 5 + 10.
	 */
	{ "bpf_loop with an early stop",
	  { ST(BPF_DW, 10, -8, 0), MOV64(6, 77), MOV64(1, 100), LD_FUNC(2, 12),
	    ALU64_REG(BPF_MOV, 3, 10), ALU64_IMM(BPF_ADD, 3, -8), MOV64(4, 0),
	    CALL_HELPER(HELPER_LOOP), ALU64_IMM(BPF_MUL, 0, 100), LDX(BPF_DW, 1, 10, -8),
	    ALU64_REG(BPF_ADD, 0, 1), JMP_IMM(BPF_JEQ, 6, 77, 1), MOV64(0, -1), EXIT,
	    /* callback(i = r1, ctx = r2): */
	    MOV64(6, 0), LDX(BPF_DW, 3, 2, 0), ALU64_REG(BPF_ADD, 3, 1), STX(BPF_DW, 2, 3, 0),
	    MOV64(0, 0), JMP_IMM(BPF_JNE, 1, 4, 1), MOV64(0, 1), EXIT },
	  0,
	  510 },
	{ "bpf_loop runs all iterations",
	  { ST(BPF_DW, 10, -8, 0), MOV64(1, 3), LD_FUNC(2, 9), ALU64_REG(BPF_MOV, 3, 10),
	    ALU64_IMM(BPF_ADD, 3, -8), MOV64(4, 0), CALL_HELPER(HELPER_LOOP),
	    LDX(BPF_DW, 1, 10, -8), ALU64_IMM(BPF_MUL, 1, 100), ALU64_REG(BPF_ADD, 0, 1), EXIT,
	    /* callback: */ LDX(BPF_DW, 3, 2, 0), ALU64_IMM(BPF_ADD, 3, 1), STX(BPF_DW, 2, 3, 0),
	    MOV64(0, 0), EXIT },
	  0,
	  303 },
	{ "bpf_loop flags must be 0",
	  { MOV64(1, 3), LD_FUNC(2, 5), MOV64(3, 0), MOV64(4, 1), CALL_HELPER(HELPER_LOOP), EXIT,
	    MOV64(0, 0), EXIT },
	  0,
	  (uint64_t)-22 },
	{ "bpf_loop nr above 1 << 23",
	  { LD64(1, (1u << 23) + 1), LD_FUNC(2, 5), MOV64(3, 0), MOV64(4, 0),
	    CALL_HELPER(HELPER_LOOP), EXIT, MOV64(0, 0), EXIT },
	  0,
	  (uint64_t)-7 },
	{ "bpf_loop callback outside the program",
	  { MOV64(1, 3), MOV64(2, 4096), MOV64(3, 0), MOV64(4, 0), CALL_HELPER(HELPER_LOOP), EXIT },
	  -22,
	  0 },
	{ "bpf_loop unwind in the callback",
	  { MOV64(1, 3), LD_FUNC(2, 6), MOV64(3, 0), MOV64(4, 0), CALL_HELPER(HELPER_LOOP),
	    MOV64(0, 9), EXIT, /* callback: */ MOV64(1, 0), CALL_HELPER(CONFORMANCE_UNWIND_HELPER),
	    MOV64(0, 0), EXIT },
	  0,
	  0 },
	{ "tail call with no target falls through",
	  { MOV64(2, 0), MOV64(3, 0), CALL_HELPER(HELPER_TAIL), ALU64_IMM(BPF_ADD, 0, 100), EXIT },
	  0,
	  100 - 2 },
};

static uint32_t case_insn_cnt(const struct interp_case *c)
{
	uint32_t n = MAX_TEST_INSNS;

	/* The table pads with all-zero slots; no program ends with one. */
	while (n && !memcmp(&c->insns[n - 1], &(struct bpf_insn){ 0 }, sizeof(struct bpf_insn)))
		n--;
	return n;
}

START_TEST(edge_case)
{
	const struct interp_case *c = &edge_cases[_i];
	bpfi_helper_fn table[BPFI_HELPER_MAX];
	struct bpfi_env env;
	uint64_t r0 = 0xdead;
	int err;

	test_env_init(&env, table);
	err = bpfi_interp_run(c->insns, case_insn_cnt(c), 0, 0, &env, &r0);
	ck_assert_msg(err == c->err, "%s: returned %d, expected %d", c->name, err, c->err);
	if (!err)
		ck_assert_msg(r0 == c->r0, "%s: r0 0x%llx, expected 0x%llx", c->name,
			      (unsigned long long)r0, (unsigned long long)c->r0);
}
END_TEST

/* The arguments and the entry state: r1, r2 as given, r10 a writable 512-byte frame. */
START_TEST(entry_state)
{
	static const struct bpf_insn prog[] = {
		ST(BPF_DW, 10, -512, 1),
		LDX(BPF_DW, 0, 10, -512),
		ALU64_REG(BPF_ADD, 0, 1),
		ALU64_REG(BPF_ADD, 0, 2),
		ALU64_REG(BPF_ADD, 0, 3),
		ALU64_REG(BPF_ADD, 0, 9),
		EXIT,
	};
	uint64_t r0 = 0;

	ck_assert_int_eq(bpfi_interp_run(prog, 7, 1000, 20, NULL, &r0), 0);
	ck_assert_uint_eq(r0, 1021);
	ck_assert_int_eq(bpfi_interp_run(NULL, 7, 0, 0, NULL, &r0), -EINVAL);
	ck_assert_int_eq(bpfi_interp_run(prog, 0, 0, 0, NULL, &r0), -EINVAL);
	ck_assert_int_eq(bpfi_interp_run(prog, 7, 0, 0, NULL, NULL), -EINVAL);
	/* Without an environment every helper is unknown. */
	ck_assert_int_eq(bpfi_interp_run((struct bpf_insn[]){ CALL_HELPER(HELPER_ADD), EXIT }, 2, 0,
					 0, NULL, &r0),
			 -EINVAL);
}
END_TEST

/*
 * Atomics really are atomic across processes (maps are shared that way): two processes run
 * 100000 fetch-adds each on one counter in MAP_SHARED memory; no increment may be lost.
 */
START_TEST(atomics_across_processes)
{
	/* for (r6 = 0; r6 < 100000; r6++) lock *(u64 *)(r1 + 0) += 1; (a fetch add) */
	static const struct bpf_insn prog[] = {
		MOV64(6, 0),
		MOV64(2, 1),
		ATOMIC(BPF_DW, 1, 2, 0, BPF_ADD | BPF_FETCH),
		ALU64_IMM(BPF_ADD, 6, 1),
		JMP_IMM(BPF_JLT, 6, 100000, -4),
		MOV64(0, 0),
		EXIT,
	};
	uint64_t *counter, r0 = 1;
	int status, err;
	pid_t pid;

	counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(counter, MAP_FAILED);
	*counter = 0;
	pid = fork();
	if (pid < 0)
		ck_abort_msg("fork: %s", strerror(errno));
	err = bpfi_interp_run(prog, 7, (uint64_t)(uintptr_t)counter, 0, NULL, &r0);
	if (pid == 0)
		_exit(err || r0 ? 1 : 0);
	ck_assert_int_eq(err, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_uint_eq(*counter, 200000);
	munmap(counter, 4096);
}
END_TEST

/* ---- (3) tail calls through a real PROG_ARRAY in an arena ---- */

#define TAIL_SLOTS 4

/*
 * The programs of the tail-call tests, by program id (slot values of the PROG_ARRAY):
 *  1 "self":  *(u64 *)ctx += 1, then tail-calls slot 0 (which holds itself); once the chain
 *             limit is reached the call falls through and it returns the counter.
 *  2 "ctx":   returns ctx + 1000 after using its (fresh) stack: r1 must arrive unchanged.
 *  3 "five":  returns 5.
 * Ids 1-3 sit in slots 0-2; slot 3 stays empty.
 */
struct tail_fixture {
	struct bpfi_arena *arena;
	struct bpfi_map_hdr *map;
	struct bpf_insn self[12], ctx[5], five[2];
	struct bpfi_prog_entry progs[TAIL_SLOTS];
	bpfi_helper_fn table[BPFI_HELPER_MAX];
	struct bpfi_env env;
};

static struct tail_fixture tf;

static void tail_setup(void)
{
	const struct bpfi_map_create_opts opts = {
		.sz = sizeof(opts),
		.type = BPF_MAP_TYPE_PROG_ARRAY,
		.key_size = 4,
		.value_size = 4,
		.max_entries = TAIL_SLOTS,
		.name = "jmp_table",
	};
	const struct bpf_insn self[] = {
		LDX(BPF_DW, 3, 1, 0), ALU64_IMM(BPF_ADD, 3, 1),
		STX(BPF_DW, 1, 3, 0), LD64(2, (uintptr_t)0), /* patched below: the map */
		MOV64(3, 0),	      CALL_HELPER(HELPER_TAIL),
		LDX(BPF_DW, 0, 1, 0), EXIT,
	};
	const struct bpf_insn ctx[] = {
		STX(BPF_DW, 10, 1, -512),
		LDX(BPF_DW, 0, 10, -512),
		ALU64_IMM(BPF_ADD, 0, 1000),
		EXIT,
	};
	const struct bpf_insn five[] = { MOV64(0, 5), EXIT };

	memset(&tf, 0, sizeof(tf));
	ck_assert_int_eq(bpfi_arena_new(1 << 20, &tf.arena, NULL), 0);
	ck_assert_int_eq(bpfi_map_new(tf.arena, &opts, &tf.map, NULL), 0);
	memcpy(tf.self, self, sizeof(self));
	tf.self[3].imm = (int32_t)(uint32_t)(uintptr_t)tf.map;
	tf.self[4].imm = (int32_t)(uint32_t)((uint64_t)(uintptr_t)tf.map >> 32);
	memcpy(tf.ctx, ctx, sizeof(ctx));
	memcpy(tf.five, five, sizeof(five));
	tf.progs[1] = (struct bpfi_prog_entry){ .insns = tf.self, .insn_cnt = 9 };
	tf.progs[2] = (struct bpfi_prog_entry){ .insns = tf.ctx, .insn_cnt = 4 };
	tf.progs[3] = (struct bpfi_prog_entry){ .insns = tf.five, .insn_cnt = 2 };
	for (uint32_t slot = 0; slot < 3; slot++) {
		uint32_t id = slot + 1;

		ck_assert_int_eq(bpfi_map_update_user(tf.map, &slot, &id, 0), 0);
	}
	test_env_init(&tf.env, tf.table);
	tf.env.arena = bpfi_arena_base(tf.arena);
	tf.env.progs = tf.progs;
	tf.env.max_progs = TAIL_SLOTS;
}

static void tail_teardown(void)
{
	bpfi_arena_free(tf.arena);
}

/* r2 = the PROG_ARRAY, r3 = @slot, tail call; on fall-through returns r0 + 100. */
static int run_tail_caller(uint32_t slot, uint64_t ctx, uint64_t *r0)
{
	const uint64_t map = (uintptr_t)tf.map;
	const struct bpf_insn prog[] = {
		MOV64(6, 1),
		LD64(2, map),
		MOV64(3, (int32_t)slot),
		CALL_HELPER(HELPER_TAIL),
		ALU64_IMM(BPF_ADD, 0, 100),
		EXIT,
	};

	return bpfi_interp_run(prog, 7, ctx, 0, &tf.env, r0);
}

START_TEST(tail_call_replaces_program)
{
	uint64_t r0 = 0;

	ck_assert_int_eq(run_tail_caller(1, 7, &r0), 0);
	ck_assert_uint_eq(r0, 1007); /* "ctx" ran with r1 = 7 and never came back */
	ck_assert_int_eq(run_tail_caller(2, 0, &r0), 0);
	ck_assert_uint_eq(r0, 5);
}
END_TEST

START_TEST(tail_call_empty_or_out_of_range_falls_through)
{
	uint64_t r0 = 0;

	ck_assert_int_eq(run_tail_caller(3, 0, &r0), 0); /* empty slot */
	ck_assert_uint_eq(r0, (uint64_t)-ENOENT + 100);
	ck_assert_int_eq(run_tail_caller(TAIL_SLOTS, 0, &r0), 0); /* past max_entries */
	ck_assert_uint_eq(r0, (uint64_t)-ENOENT + 100);
}
END_TEST

/* A program that tail-calls itself runs 1 + BPFI_MAX_TAIL_CALLS times, as in the kernel. */
START_TEST(tail_call_chain_limit)
{
	uint64_t counter = 0, r0 = 0;

	ck_assert_int_eq(bpfi_interp_run(tf.self, 9, (uintptr_t)&counter, 0, &tf.env, &r0), 0);
	ck_assert_uint_eq(counter, 1 + BPFI_MAX_TAIL_CALLS);
	ck_assert_uint_eq(r0, 1 + BPFI_MAX_TAIL_CALLS);
}
END_TEST

/* From a subprogram, the tail-called program replaces that frame and returns to its caller. */
START_TEST(tail_call_from_subprogram)
{
	const uint64_t map = (uintptr_t)tf.map;
	const struct bpf_insn prog[] = {
		MOV64(6, 30),
		CALL_LOCAL(3),
		ALU64_REG(BPF_ADD, 0, 6),
		ALU64_IMM(BPF_ADD, 0, 10),
		EXIT,
		/* sub: */ MOV64(6, 0),
		LD64(2, map),
		MOV64(3, 2),
		CALL_HELPER(HELPER_TAIL),
		MOV64(0, 1000),
		EXIT,
	};
	uint64_t r0 = 0;

	ck_assert_int_eq(bpfi_interp_run(prog, 12, 0, 0, &tf.env, &r0), 0);
	ck_assert_uint_eq(r0, 5 + 30 + 10);
}
END_TEST

/*
 * Issue 11 A2: 33 tail calls from a subprogram of main (each leaving main's frame), then a
 * chain to the eighth frame: a program the check accepts runs every tail call here too.
 */
START_TEST(tail_call_worst_case_depth)
{
	static struct bpf_insn insns[TAIL_WORST_INSNS];
	uint64_t res[3] = { 0 }, r0 = 1;
	uint32_t slot = 0, id = 1;

	tail_worst_build(insns, 0, (uintptr_t)tf.map, 0, (uintptr_t)res);
	tf.progs[1] = (struct bpfi_prog_entry){ .insns = insns, .insn_cnt = TAIL_WORST_INSNS };
	ck_assert_int_eq(bpfi_map_update_user(tf.map, &slot, &id, 0), 0);
	ck_assert_int_eq(bpfi_interp_run(insns, TAIL_WORST_INSNS, 0, 0, &tf.env, &r0), 0);
	ck_assert_uint_eq(res[0], 1 + BPFI_MAX_TAIL_CALLS);
	ck_assert_uint_eq(r0, 0);
	ck_assert_uint_ne(res[1], 0);
}
END_TEST

/* ---- (4) differential: random programs, this interpreter against the running kernel ---- */

#define DIFF_PROGS	 2000
#define DIFF_BODY	 64
#define DIFF_MAX_INSNS	 160
#define DIFF_STACK_SLOTS 8

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64*: deterministic per seed, so a failure names a reproducible program. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Operands the kernel's verifier accepts: shift immediates in range, no constant divisor 0. */
static struct bpf_insn gen_alu(uint64_t *s)
{
	static const uint8_t ops[] = { BPF_ADD, BPF_SUB, BPF_MUL,  BPF_DIV, BPF_OR,
				       BPF_AND, BPF_LSH, BPF_RSH,  BPF_NEG, BPF_MOD,
				       BPF_XOR, BPF_MOV, BPF_ARSH, BPF_END };
	const bool is64 = rnd(s) & 1, use_reg = rnd(s) & 1;
	const uint8_t op = ops[rnd(s) % sizeof(ops)], cls = is64 ? BPF_ALU64 : BPF_ALU;
	const uint8_t dst = rnd(s) % 10, src = rnd(s) % 10;
	int32_t imm = (int32_t)rnd(s);
	int16_t off = 0;

	if (op == BPF_NEG)
		return INSN(cls | BPF_NEG, dst, 0, 0, 0);
	if (op == BPF_END)
		return INSN(cls | BPF_END | (is64 ? 0 : (use_reg ? BPF_TO_BE : BPF_TO_LE)), dst, 0,
			    0, 16 << (rnd(s) % 3));
	if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH)
		imm = (int32_t)(rnd(s) % (is64 ? 64 : 32));
	if (op == BPF_DIV || op == BPF_MOD) {
		off = rnd(s) & 1; /* sdiv/smod */
		if (!imm || rnd(s) % 4 == 0)
			imm = rnd(s) % 2 ? -1 : 1 + (int32_t)(rnd(s) % 7);
	}
	if (op == BPF_MOV && use_reg && rnd(s) % 2)
		off = (int16_t)(8 << (rnd(s) % (is64 ? 3 : 2))); /* movsx */
	if (use_reg)
		return INSN(cls | op | BPF_X, dst, src, off, 0);
	return INSN(cls | op | BPF_K, dst, 0, op == BPF_MOV ? 0 : off, imm);
}

/* A forward conditional jump that stays inside the body (@left insns remain after it). */
static struct bpf_insn gen_jmp(uint64_t *s, uint32_t left)
{
	static const uint8_t ops[] = { BPF_JEQ,	 BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
				       BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE };
	const uint8_t cls = rnd(s) & 1 ? BPF_JMP : BPF_JMP32, op = ops[rnd(s) % sizeof(ops)];
	const int16_t off = (int16_t)(rnd(s) % (left < 4 ? left + 1 : 5));
	/* Small immediates make both outcomes likely. */
	const int32_t imm = (int32_t)(rnd(s) % 8) - 4;

	if (rnd(s) & 1)
		return INSN(cls | op | BPF_X, rnd(s) % 10, rnd(s) % 10, off, 0);
	return INSN(cls | op | BPF_K, rnd(s) % 10, 0, off, imm);
}

/* Aligned stack loads (plain and sign-extending), stores and atomics on the 8 slots. */
static struct bpf_insn gen_mem(uint64_t *s)
{
	static const uint8_t sizes[] = { BPF_B, BPF_H, BPF_W, BPF_DW };
	static const int32_t atomic_ops[] = { BPF_ADD,	BPF_ADD | BPF_FETCH,
					      BPF_OR,	BPF_OR | BPF_FETCH,
					      BPF_AND,	BPF_AND | BPF_FETCH,
					      BPF_XOR,	BPF_XOR | BPF_FETCH,
					      BPF_XCHG, BPF_CMPXCHG };
	const unsigned sz_idx = rnd(s) % 4, bytes = 1u << sz_idx;
	const uint8_t sz = sizes[sz_idx], reg = rnd(s) % 10, other = rnd(s) % 10;
	const int16_t off = (int16_t)(-8 * (int)(1 + rnd(s) % DIFF_STACK_SLOTS) +
				      (int)(bytes * (rnd(s) % (8 / bytes))));

	switch (rnd(s) % 5) {
	case 0:
		return LDX(sz, reg, 10, off);
	case 1:
		return sz == BPF_DW ? LDX(sz, reg, 10, off) : LDXSX(sz, reg, 10, off);
	case 2:
		return STX(sz, 10, reg, off);
	case 3:
		return ST(sz, 10, off, (int32_t)rnd(s));
	default:
		return ATOMIC(rnd(s) & 1 ? BPF_DW : BPF_W, 10, other,
			      (int16_t)(-8 * (int)(1 + rnd(s) % DIFF_STACK_SLOTS)),
			      atomic_ops[rnd(s) % (sizeof(atomic_ops) / sizeof(atomic_ops[0]))]);
	}
}

/*
 * Random constants in r0-r9 and the stack, a random body, then everything folded into r0 and
 * r0 folded to 32 bits (test runs only report the low half of r0). Returns the insn count.
 */
static uint32_t gen_program(uint64_t seed, struct bpf_insn *p)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	uint32_t n = 0;

	for (int r = 0; r < 10; r++) {
		const uint64_t v = rnd(&s) >> (rnd(&s) % 64);

		p[n++] = INSN(BPF_LD | BPF_IMM | BPF_DW, r, 0, 0, (int32_t)(uint32_t)v);
		p[n++] = INSN(0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
	}
	for (int k = 0; k < DIFF_STACK_SLOTS; k++)
		p[n++] = STX(BPF_DW, 10, k, -8 * (k + 1));
	for (uint32_t i = 0; i < DIFF_BODY; i++) {
		const unsigned kind = rnd(&s) % 10;

		if (kind < 6)
			p[n++] = gen_alu(&s);
		else if (kind < 8)
			p[n++] = gen_mem(&s);
		else
			p[n++] = gen_jmp(&s, DIFF_BODY - 1 - i);
	}
	for (int r = 1; r < 10; r++) {
		p[n++] = ALU64_IMM(BPF_MUL, 0, 31);
		p[n++] = ALU64_REG(BPF_ADD, 0, r);
	}
	for (int k = 0; k < DIFF_STACK_SLOTS; k++) {
		p[n++] = LDX(BPF_DW, 1, 10, -8 * (k + 1));
		p[n++] = ALU64_IMM(BPF_MUL, 0, 31);
		p[n++] = ALU64_REG(BPF_ADD, 0, 1);
	}
	p[n++] = ALU64_REG(BPF_MOV, 1, 0);
	p[n++] = ALU64_IMM(BPF_RSH, 1, 32);
	p[n++] = ALU64_REG(BPF_XOR, 0, 1);
	p[n++] = EXIT;
	return n;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* Loads @p as a socket filter and test-runs it once; the kernel's (u32) r0 in @ret. */
static int kernel_run(const struct bpf_insn *p, uint32_t n, uint32_t *ret, char *log, size_t sz)
{
	uint8_t pkt[64] = { 0 };
	union bpf_attr attr;
	int fd, err;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uintptr_t)p;
	attr.insn_cnt = n;
	attr.license = (uintptr_t) "GPL";
	attr.log_buf = (uintptr_t)log;
	attr.log_size = (uint32_t)sz;
	attr.log_level = log ? 1 : 0;
	fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0)
		return -errno;
	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = (uint32_t)fd;
	attr.test.data_in = (uintptr_t)pkt;
	attr.test.data_size_in = sizeof(pkt);
	attr.test.repeat = 1;
	err = sys_bpf(BPF_PROG_TEST_RUN, &attr) ? -errno : 0;
	close(fd);
	*ret = attr.test.retval;
	return err;
}

/*
 * The kernel (its JIT or interpreter) is the reference: DIFF_PROGS random programs over ALU,
 * ALU64, JMP, JMP32, stack loads/stores (sign-extending too) and atomics must leave the same
 * r0 here. Without permission to load programs (not root) there is nothing to compare with.
 */
START_TEST(kernel_differential)
{
	static const struct bpf_insn probe[] = { MOV64(0, 0), EXIT };
	static char log[1 << 16];
	struct bpf_insn p[DIFF_MAX_INSNS];
	uint32_t kret, n, compared = 0;
	uint64_t r0;
	int err;

	err = kernel_run(probe, 2, &kret, NULL, 0);
	if (err == -EPERM || err == -ENOSYS || err == -EACCES) {
		fprintf(stderr, "interp: kernel_differential: no kernel bpf here (%d), skipped\n",
			err);
		return;
	}
	ck_assert_int_eq(err, 0);
	for (uint64_t seed = 0; seed < DIFF_PROGS; seed++) {
		n = gen_program(seed, p);
		ck_assert_uint_le(n, DIFF_MAX_INSNS);
		err = kernel_run(p, n, &kret, NULL, 0);
		if (err) {
			kernel_run(p, n, &kret, log, sizeof(log));
			ck_abort_msg("seed %llu: the kernel rejected the program (%d): %.300s",
				     (unsigned long long)seed, err,
				     strlen(log) > 300 ? log + strlen(log) - 300 : log);
		}
		ck_assert_int_eq(bpfi_interp_run(p, n, 0, 0, NULL, &r0), 0);
		ck_assert_msg((uint32_t)r0 == kret, "seed %llu: r0 0x%llx, kernel 0x%x",
			      (unsigned long long)seed, (unsigned long long)r0, kret);
		compared++;
	}
	ck_assert_uint_eq(compared, DIFF_PROGS);
}
END_TEST

Suite *interp_suite(void);
Suite *interp_suite(void)
{
	Suite *s = suite_create("interp");
	TCase *conf = tcase_create("conformance");
	TCase *edge = tcase_create("edge");
	TCase *tail = tcase_create("tail_call");
	TCase *diff = tcase_create("kernel");

	tcase_add_unchecked_fixture(conf, conformance_setup, conformance_teardown);
	tcase_add_loop_test(conf, conformance_case, 0, CONFORMANCE_TOTAL);
	tcase_add_test(conf, conformance_total);
	suite_add_tcase(s, conf);

	tcase_add_loop_test(edge, edge_case, 0, (int)(sizeof(edge_cases) / sizeof(edge_cases[0])));
	tcase_add_test(edge, entry_state);
	tcase_add_test(edge, atomics_across_processes);
	suite_add_tcase(s, edge);

	tcase_add_checked_fixture(tail, tail_setup, tail_teardown);
	tcase_add_test(tail, tail_call_replaces_program);
	tcase_add_test(tail, tail_call_empty_or_out_of_range_falls_through);
	tcase_add_test(tail, tail_call_chain_limit);
	tcase_add_test(tail, tail_call_from_subprogram);
	tcase_add_test(tail, tail_call_worst_case_depth);
	suite_add_tcase(s, tail);

	tcase_add_test(diff, kernel_differential);
	suite_add_tcase(s, diff);
	return s;
}
