// SPDX-License-Identifier: MIT
/*
 * The load-time check: a kernel-selftests-style table of programs with the expected result
 * and log line, soundness properties of the scalar ranges, the trace, and every program of
 * the conformance suite (counts reported, never failed on).
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/common.h>
#include <bpfinject/helpers.h>
#include <bpfinject/insn.h>
#include <bpfinject/verifier.h>

#include "checked_interp.h"
#include "conformance.h"
#include "jit_fuzz.h"
#include "tail_worst.h"
#include "verifier/verifier_internal.h"

/* ---- instruction builders (the kernel's filter.h names, which UAPI does not export) ---- */
#define BPF_RAW_INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define BPF_MOV64_IMM(d, i)	BPF_RAW_INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define BPF_MOV32_IMM(d, i)	BPF_RAW_INSN(BPF_ALU | BPF_MOV | BPF_K, d, 0, 0, i)
#define BPF_MOV64_REG(d, s)	BPF_RAW_INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define BPF_ALU64_IMM(op, d, i) BPF_RAW_INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define BPF_ALU64_REG(op, d, s) BPF_RAW_INSN(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define BPF_ALU32_IMM(op, d, i) BPF_RAW_INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define BPF_ALU32_REG(op, d, s) BPF_RAW_INSN(BPF_ALU | (op) | BPF_X, d, s, 0, 0)
#define BPF_LD_IMM64_RAW(d, s, v)                                                 \
	BPF_RAW_INSN(BPF_LD | BPF_DW | BPF_IMM, d, s, 0, (int32_t)(uint32_t)(v)), \
		BPF_RAW_INSN(0, 0, 0, 0, (int32_t)((uint64_t)(v) >> 32))
#define BPF_LD_IMM64(d, v)   BPF_LD_IMM64_RAW(d, 0, v)
#define BPF_LD_MAP_FD(d, fd) BPF_LD_IMM64_RAW(d, BPF_PSEUDO_MAP_FD, fd)
#define BPF_LD_MAP_VALUE(d, fd, off)                                             \
	BPF_RAW_INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_VALUE, 0, fd), \
		BPF_RAW_INSN(0, 0, 0, 0, off)
#define BPF_LD_FUNC(d, rel)	       BPF_LD_IMM64_RAW(d, BPF_PSEUDO_FUNC, rel)
#define BPF_LDX_MEM(sz, d, s, o)       BPF_RAW_INSN(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define BPF_LDX_MEMSX(sz, d, s, o)     BPF_RAW_INSN(BPF_LDX | BPF_MEMSX | (sz), d, s, o, 0)
#define BPF_STX_MEM(sz, d, s, o)       BPF_RAW_INSN(BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define BPF_ST_MEM(sz, d, o, i)	       BPF_RAW_INSN(BPF_ST | BPF_MEM | (sz), d, 0, o, i)
#define BPF_ATOMIC_OP(sz, op, d, s, o) BPF_RAW_INSN(BPF_STX | BPF_ATOMIC | (sz), d, s, o, op)
#define BPF_JMP_IMM(op, d, i, o)       BPF_RAW_INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define BPF_JMP_REG(op, d, s, o)       BPF_RAW_INSN(BPF_JMP | (op) | BPF_X, d, s, o, 0)
#define BPF_JMP32_IMM(op, d, i, o)     BPF_RAW_INSN(BPF_JMP32 | (op) | BPF_K, d, 0, o, i)
#define BPF_JMP_A(o)		       BPF_RAW_INSN(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define BPF_GOTOL(i)		       BPF_RAW_INSN(BPF_JMP32 | BPF_JA, 0, 0, 0, i)
#define BPF_EMIT_CALL(id)	       BPF_RAW_INSN(BPF_JMP | BPF_CALL, 0, 0, 0, id)
#define BPF_CALL_REL(rel)	       BPF_RAW_INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, rel)
#define BPF_CALLX(r)		       BPF_RAW_INSN(BPF_JMP | BPF_CALL | BPF_X, r, 0, 0, 0)
#define BPF_EXIT_INSN()		       BPF_RAW_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Helper ids used below (the kernel's). */
#define FN_map_lookup_elem	     1
#define FN_probe_read		     4
#define FN_ktime_get_ns		     5
#define FN_current_task_under_cgroup 37
#define FN_probe_read_kernel	     113
#define FN_ringbuf_reserve	     131
#define FN_ringbuf_submit	     132
#define FN_ktime_get_coarse_ns	     160
#define FN_loop			     181
#define FN_tail_call		     12
#define FN_perf_event_output	     25
/* libbpf's marker for an ld_imm64 of a map it did not create (MAP_LDIMM64_POISON_BASE). */
#define POISON_CALL 2001000000

/* ---- the maps the test programs refer to, by fd ---- */
enum { FD_HASH = 3, FD_RODATA, FD_RINGBUF, FD_DATA, FD_RDONLY, FD_PROGS, FD_PERF };

/* .rodata: u32 flag_off @0 = 0, u32 flag_on @4 = 1, u64 magic @8. */
static const uint8_t rodata[16] = { 0,	  0,	0,    0,    1,	  0,	0,    0,
				    0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 };

static const struct bpfi_verifier_map test_maps[] = {
	[FD_HASH] = { .type = BPF_MAP_TYPE_HASH,
		      .key_size = 4,
		      .value_size = 8,
		      .max_entries = 16 },
	[FD_RODATA] = { .type = BPF_MAP_TYPE_ARRAY,
			.key_size = 4,
			.value_size = 16,
			.max_entries = 1,
			.map_flags = BPF_F_RDONLY_PROG,
			.frozen = true,
			.frozen_value = rodata },
	[FD_RINGBUF] = { .type = BPF_MAP_TYPE_RINGBUF, .max_entries = 4096 },
	[FD_DATA] = { .type = BPF_MAP_TYPE_ARRAY,
		      .key_size = 4,
		      .value_size = 32,
		      .max_entries = 1 },
	[FD_PROGS] = { .type = BPF_MAP_TYPE_PROG_ARRAY,
		       .key_size = 4,
		       .value_size = 4,
		       .max_entries = 4 },
	[FD_PERF] = { .type = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
		      .key_size = 4,
		      .value_size = 4,
		      .max_entries = 64 },
	[FD_RDONLY] = { .type = BPF_MAP_TYPE_ARRAY,
			.key_size = 4,
			.value_size = 8,
			.max_entries = 1,
			.map_flags = BPF_F_RDONLY_PROG },
};

static const struct bpfi_verifier_map *map_by_fd(int fd, void *cookie)
{
	(void)cookie;
	if (fd < FD_HASH || fd > FD_PERF)
		return NULL;
	return &test_maps[fd];
}

/* Our own list, so these tests do not depend on the helpers part. */
static bool helper_known(int32_t id, void *cookie)
{
	static const int32_t known[] = { 1,   2,   3,	4,   5,	  6,   7,   8,	 12,  14,  15,
					 58,  16,  25,	35,  37,  45,  67,  80,	 109, 112, 113,
					 114, 115, 125, 130, 131, 132, 133, 134, 160, 164, 181 };
	size_t k;

	(void)cookie;
	for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		if (known[k] == id)
			return true;
	return false;
}

#define MAX_CASE_INSNS 40

struct verifier_case {
	const char *descr;
	struct bpf_insn insns[MAX_CASE_INSNS];
	int expect_err; /* 0 or -EACCES, -EINVAL, -E2BIG */
	const char *expect_msg; /* substring that must be in the log, or NULL */
	uint32_t prog_type; /* 0: BPF_PROG_TYPE_KPROBE; | CASE_STRICT_STACK */
};

/* In prog_type: check with opts.strict_stack (an unprivileged loader's rules). */
#define CASE_STRICT_STACK 0x80000000u

/* Look up key 0 in the hash map: leaves r0 = map_value_or_null (7 insns). */
#define LOOKUP_HASH_KEY0                                                                    \
	BPF_ST_MEM(BPF_W, BPFI_REG_10, -4, 0), BPF_MOV64_REG(BPFI_REG_2, BPFI_REG_10),      \
		BPF_ALU64_IMM(BPF_ADD, BPFI_REG_2, -4), BPF_LD_MAP_FD(BPFI_REG_1, FD_HASH), \
		BPF_EMIT_CALL(FN_map_lookup_elem)

static const struct verifier_case cases[] = {
	/* ---------------- accepted ---------------- */
	{ "trivial (libbpf's probe_loading)",
	  { BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "bpf_override_return(ctx, -EIO) in a uprobe program",
	  { BPF_MOV64_IMM(BPFI_REG_2, -5), BPF_EMIT_CALL(58), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN() },
	  0,
	  NULL,
	  BPF_PROG_TYPE_KPROBE },
	{ "bpf_override_return where nothing can be overridden",
	  { BPF_MOV64_IMM(BPFI_REG_2, -5), BPF_EMIT_CALL(58), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN() },
	  -EINVAL,
	  "bpf_override_return is only for uprobe and syscall-entry programs",
	  BPF_PROG_TYPE_SOCKET_FILTER },
	{ "libbpf FEAT_MEMCG_ACCOUNT probe: call ktime_get_coarse_ns",
	  { BPF_EMIT_CALL(FN_ktime_get_coarse_ns), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  BPF_PROG_TYPE_SOCKET_FILTER },
	{ "libbpf FEAT_PROBE_READ_KERN probe",
	  { BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_10), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_1, -8),
	    BPF_MOV64_IMM(BPFI_REG_2, 8), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_probe_read_kernel), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  BPF_PROG_TYPE_TRACEPOINT },
	{ "libbpf FEAT_GLOBAL_DATA probe: store into a map value",
	  { BPF_LD_MAP_VALUE(BPFI_REG_1, FD_DATA, 0), BPF_ST_MEM(BPF_DW, BPFI_REG_1, 0, 42),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  BPF_PROG_TYPE_SOCKET_FILTER },
	{ "conditional on a context field, both arms",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 112),
	    BPF_JMP_IMM(BPF_JGT, BPFI_REG_2, 10, 2), BPF_MOV64_IMM(BPFI_REG_0, 1), BPF_EXIT_INSN(),
	    BPF_MOV64_IMM(BPFI_REG_0, 2), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "bpf-to-bpf call",
	  { BPF_MOV64_IMM(BPFI_REG_1, 5), BPF_CALL_REL(1), BPF_EXIT_INSN(),
	    BPF_MOV64_REG(BPFI_REG_0, BPFI_REG_1), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_0, 1),
	    BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "callee writes the caller's stack through a pointer argument",
	  { BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_10), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_1, -8),
	    BPF_CALL_REL(2), BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_10, -8), BPF_EXIT_INSN(),
	    BPF_ST_MEM(BPF_DW, BPFI_REG_1, 0, 7), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "map lookup with a NULL check",
	  { LOOKUP_HASH_KEY0, BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 2),
	    BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_0, 0), BPF_EXIT_INSN(),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "NULL check on a copy refines the original",
	  { LOOKUP_HASH_KEY0, BPF_MOV64_REG(BPFI_REG_6, BPFI_REG_0),
	    BPF_JMP_IMM(BPF_JNE, BPFI_REG_6, 0, 2), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN(),
	    BPF_MOV64_IMM(BPFI_REG_1, 1), BPF_ATOMIC_OP(BPF_DW, BPF_ADD, BPFI_REG_0, BPFI_REG_1, 0),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "spill and fill a pointer",
	  { BPF_STX_MEM(BPF_DW, BPFI_REG_10, BPFI_REG_1, -8), BPF_MOV64_IMM(BPFI_REG_1, 0),
	    BPF_LDX_MEM(BPF_DW, BPFI_REG_1, BPFI_REG_10, -8),
	    BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_1, 80), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "atomics on the stack: add, fetch add, xchg, cmpxchg (32 and 64 bit)",
	  { BPF_ST_MEM(BPF_DW, BPFI_REG_10, -8, 0), BPF_ST_MEM(BPF_W, BPFI_REG_10, -12, 0),
	    BPF_MOV64_IMM(BPFI_REG_1, 1),
	    BPF_ATOMIC_OP(BPF_DW, BPF_ADD, BPFI_REG_10, BPFI_REG_1, -8),
	    BPF_ATOMIC_OP(BPF_DW, BPF_OR | BPF_FETCH, BPFI_REG_10, BPFI_REG_1, -8),
	    BPF_ATOMIC_OP(BPF_W, BPF_XCHG, BPFI_REG_10, BPFI_REG_1, -12),
	    BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_ATOMIC_OP(BPF_DW, BPF_CMPXCHG, BPFI_REG_10, BPFI_REG_1, -8), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "poisoned call in a branch dead after folding",
	  { BPF_MOV64_IMM(BPFI_REG_1, 0), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_1, 0, 1),
	    BPF_EMIT_CALL(POISON_CALL), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "poisoned ld_imm64 (two calls) in a dead branch",
	  { BPF_MOV64_IMM(BPFI_REG_1, 0), BPF_JMP_IMM(BPF_JNE, BPFI_REG_1, 0, 2),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN(), BPF_EMIT_CALL(POISON_CALL + 3),
	    BPF_EMIT_CALL(POISON_CALL + 3), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ ".rodata flag folds: dead call behind a false flag",
	  { BPF_LD_MAP_VALUE(BPFI_REG_1, FD_RODATA, 0),
	    BPF_LDX_MEM(BPF_W, BPFI_REG_2, BPFI_REG_1, 0), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_2, 0, 1),
	    BPF_EMIT_CALL(9999), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ ".rodata u64 through a map value offset folds",
	  { BPF_LD_MAP_VALUE(BPFI_REG_1, FD_RODATA, 8),
	    BPF_LDX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 0),
	    BPF_LD_IMM64(BPFI_REG_3, 0x1122334455667788ULL),
	    BPF_JMP_REG(BPF_JEQ, BPFI_REG_2, BPFI_REG_3, 1), BPF_EMIT_CALL(9999),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "bounded loop with a constant counter (unrolled)",
	  { BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_MOV64_IMM(BPFI_REG_1, 0),
	    BPF_ALU64_REG(BPF_ADD, BPFI_REG_0, BPFI_REG_1), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_1, 1),
	    BPF_JMP_IMM(BPF_JLT, BPFI_REG_1, 10, -3), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "loop bounded by a masked context value",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_1, BPFI_REG_1, 0), BPF_ALU64_IMM(BPF_AND, BPFI_REG_1, 15),
	    BPF_JMP_IMM(BPF_JEQ, BPFI_REG_1, 0, 2), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_1, -1),
	    BPF_JMP_A(-3), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "variable stack index bounded by a check",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 0), BPF_JMP_IMM(BPF_JGT, BPFI_REG_2, 7, 4),
	    BPF_MOV64_REG(BPFI_REG_3, BPFI_REG_10), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_3, -16),
	    BPF_ALU64_REG(BPF_ADD, BPFI_REG_3, BPFI_REG_2), BPF_ST_MEM(BPF_B, BPFI_REG_3, 0, 1),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "ringbuf reserve, NULL check, write, submit",
	  { BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF), BPF_MOV64_IMM(BPFI_REG_2, 16),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_EMIT_CALL(FN_ringbuf_reserve),
	    BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 5), BPF_ST_MEM(BPF_DW, BPFI_REG_0, 8, 1),
	    BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_0), BPF_MOV64_IMM(BPFI_REG_2, 0),
	    BPF_EMIT_CALL(FN_ringbuf_submit), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "bpf_loop with a callback subprogram",
	  { BPF_MOV64_IMM(BPFI_REG_1, 10), BPF_LD_FUNC(BPFI_REG_2, 6), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_MOV64_IMM(BPFI_REG_4, 0), BPF_EMIT_CALL(FN_loop), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN(), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "cpu v4: sdiv, smod, movsx, ldsx, gotol, bswap, callx",
	  { BPF_MOV64_IMM(BPFI_REG_1, -7),
	    BPF_RAW_INSN(BPF_ALU64 | BPF_DIV | BPF_K, BPFI_REG_1, 0, 1, 2),
	    BPF_RAW_INSN(BPF_ALU64 | BPF_MOD | BPF_K, BPFI_REG_1, 0, 1, 3),
	    BPF_RAW_INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_2, BPFI_REG_1, 8, 0),
	    BPF_STX_MEM(BPF_DW, BPFI_REG_10, BPFI_REG_1, -8),
	    BPF_LDX_MEMSX(BPF_B, BPFI_REG_3, BPFI_REG_10, -8), BPF_GOTOL(0),
	    BPF_MOV64_IMM(BPFI_REG_3, 1), BPF_RAW_INSN(BPF_ALU64 | BPF_END, BPFI_REG_3, 0, 0, 64),
	    BPF_MOV64_IMM(BPFI_REG_5, FN_ktime_get_ns), BPF_CALLX(BPFI_REG_5), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "jmp32 refines a 32-bit value",
	  { BPF_LDX_MEM(BPF_W, BPFI_REG_2, BPFI_REG_1, 0), BPF_JMP32_IMM(BPF_JGE, BPFI_REG_2, 8, 5),
	    BPF_ALU64_IMM(BPF_LSH, BPFI_REG_2, 3), BPF_MOV64_REG(BPFI_REG_3, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_3, -64), BPF_ALU64_REG(BPF_ADD, BPFI_REG_3, BPFI_REG_2),
	    BPF_ST_MEM(BPF_DW, BPFI_REG_3, 0, 0), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "signed index checks (int sign-extended, then s< 0 and s> 7)",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 0), BPF_ALU64_IMM(BPF_LSH, BPFI_REG_2, 32),
	    BPF_ALU64_IMM(BPF_ARSH, BPFI_REG_2, 32), BPF_JMP_IMM(BPF_JSLT, BPFI_REG_2, 0, 5),
	    BPF_JMP_IMM(BPF_JSGT, BPFI_REG_2, 7, 4), BPF_MOV64_REG(BPFI_REG_3, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_3, -16), BPF_ALU64_REG(BPF_ADD, BPFI_REG_3, BPFI_REG_2),
	    BPF_ST_MEM(BPF_B, BPFI_REG_3, 0, 1), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "map key with holes (privileged: allowed, as the kernel allows root)",
	  { BPF_ST_MEM(BPF_W, BPFI_REG_10, -8, 0), BPF_MOV64_REG(BPFI_REG_2, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_2, -4), BPF_LD_MAP_FD(BPFI_REG_1, FD_HASH),
	    BPF_EMIT_CALL(FN_map_lookup_elem), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "uninitialised stack load (privileged: an unknown scalar)",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_10, -8), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "32-bit spill and fill keeps a bounded scalar",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 0), BPF_ALU64_IMM(BPF_AND, BPFI_REG_2, 7),
	    BPF_STX_MEM(BPF_W, BPFI_REG_10, BPFI_REG_2, -4), BPF_MOV64_IMM(BPFI_REG_2, 0),
	    BPF_LDX_MEM(BPF_W, BPFI_REG_3, BPFI_REG_10, -4), BPF_MOV64_REG(BPFI_REG_4, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_4, -16), BPF_ALU64_REG(BPF_ADD, BPFI_REG_4, BPFI_REG_3),
	    BPF_ST_MEM(BPF_B, BPFI_REG_4, 0, 1), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "bpf_loop callback updating the caller's stack reaches a fixed point",
	  { BPF_ST_MEM(BPF_DW, BPFI_REG_10, -8, 0), BPF_MOV64_IMM(BPFI_REG_1, 10),
	    BPF_LD_FUNC(BPFI_REG_2, 7), BPF_MOV64_REG(BPFI_REG_3, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_3, -8), BPF_MOV64_IMM(BPFI_REG_4, 0),
	    BPF_EMIT_CALL(FN_loop), BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_10, -8),
	    BPF_EXIT_INSN(),
	    /* callback: ctx->n += 1 */
	    BPF_LDX_MEM(BPF_DW, BPFI_REG_1, BPFI_REG_2, 0), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_1, 1),
	    BPF_STX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 0), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "tail call, then fall through",
	  { BPF_LD_MAP_FD(BPFI_REG_2, FD_PROGS), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_tail_call), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "perf_event_output of a stack buffer",
	  { BPF_ST_MEM(BPF_DW, BPFI_REG_10, -8, 1), BPF_LD_MAP_FD(BPFI_REG_2, FD_PERF),
	    BPF_LD_IMM64(BPFI_REG_3, 0xffffffffULL), BPF_MOV64_REG(BPFI_REG_4, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_4, -8), BPF_MOV64_IMM(BPFI_REG_5, 8),
	    BPF_EMIT_CALL(FN_perf_event_output), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "bpftrace helper probe of a known helper: no 'unknown func'",
	  { BPF_EMIT_CALL(FN_probe_read_kernel), BPF_EXIT_INSN() },
	  -EACCES,
	  "R1 type=ctx expected=",
	  0 },

	/* ---------------- rejected: structure (cfg.c) ---------------- */
	{ "unknown opcode",
	  { BPF_RAW_INSN(0xf7, 0, 0, 0, 0), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 0: invalid BPF_ALU opcode 0xf7",
	  0 },
	{ "unknown jump opcode",
	  { BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_RAW_INSN(0xe5, 0, 0, 0, 0), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 1: invalid BPF_JMP/JMP32 opcode 0xe5",
	  0 },
	{ "BPF_LD_ABS is not supported",
	  { BPF_RAW_INSN(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 0), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 0: BPF_LD_[ABS|IND] is not supported",
	  0 },
	{ "bad destination register",
	  { BPF_MOV64_IMM(11, 0), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 0: R11 is invalid",
	  0 },
	{ "bad source register",
	  { BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_MOV64_REG(BPFI_REG_0, 12), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 1: R12 is invalid",
	  0 },
	{ "reserved field set",
	  { BPF_RAW_INSN(BPF_ALU64 | BPF_ADD | BPF_K, 0, 1, 0, 1), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 0: BPF_ALU uses reserved fields",
	  0 },
	{ "write to r10",
	  { BPF_MOV64_IMM(BPFI_REG_10, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 0: frame pointer is read only",
	  0 },
	{ "load into r10",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_10, BPFI_REG_1, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 0: frame pointer is read only",
	  0 },
	{ "jump into the middle of ld_imm64",
	  { BPF_JMP_A(1), BPF_LD_IMM64(BPFI_REG_0, 1), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 0: jump into the middle of ldimm64 insn 1",
	  0 },
	{ "jump out of range",
	  { BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 5), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 1: jump out of range from insn 1 to 7",
	  0 },
	{ "jump backwards before the start",
	  { BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_JMP_A(-3), BPF_EXIT_INSN() },
	  -EINVAL,
	  "jump out of range from insn 1 to -1",
	  0 },
	{ "jump into another subprogram",
	  { BPF_CALL_REL(2), BPF_JMP_A(2), BPF_EXIT_INSN(), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 1: jump out of range from insn 1 to 4",
	  0 },
	/* Issue 11 B1: a negative target was taken for "not a call" and read aux[-1]. */
	{ "bpf-to-bpf call to insn -1",
	  { BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_CALL_REL(-4), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 2: call to invalid destination -1",
	  0 },
	{ "bpf-to-bpf call far before the start",
	  { BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_CALL_REL(INT32_MIN), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 1: call to invalid destination -2147483646",
	  0 },
	{ "callback address of insn -1",
	  { BPF_MOV64_IMM(BPFI_REG_1, 1),
	    BPF_RAW_INSN(BPF_LD | BPF_DW | BPF_IMM, BPFI_REG_2, BPF_PSEUDO_FUNC, 0, -3),
	    BPF_RAW_INSN(0, 0, 0, 0, 0), BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_MOV64_IMM(BPFI_REG_4, 0),
	    BPF_EMIT_CALL(FN_loop), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 1: call to invalid destination -1",
	  0 },
	{ "bpf-to-bpf call past the end",
	  { BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_CALL_REL(INT32_MAX), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 1: call to invalid destination 2147483649",
	  0 },
	{ "ld_imm64 missing its second slot",
	  { BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN(),
	    BPF_RAW_INSN(BPF_LD | BPF_DW | BPF_IMM, 0, 0, 0, 0) },
	  -EINVAL,
	  "insn 2: invalid bpf_ld_imm64 insn",
	  0 },
	{ "ld_imm64 second slot with an opcode",
	  { BPF_RAW_INSN(BPF_LD | BPF_DW | BPF_IMM, 0, 0, 0, 0), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 0: invalid bpf_ld_imm64 insn",
	  0 },
	{ "ld_imm64 of an unknown map fd",
	  { BPF_LD_MAP_FD(BPFI_REG_1, 42), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 0: fd 42 is not pointing to valid bpf_map",
	  0 },
	{ "ld_imm64 map value offset past the value",
	  { BPF_LD_MAP_VALUE(BPFI_REG_1, FD_HASH, 8), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 0: invalid access to map value pointer, value_size=8 off=8",
	  0 },
	{ "ld_imm64 with an unknown pseudo source",
	  { BPF_LD_IMM64_RAW(BPFI_REG_1, 9, 0), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 0: unrecognized bpf_ld_imm64 insn",
	  0 },
	{ "falls off the end",
	  { BPF_MOV64_IMM(BPFI_REG_0, 0) },
	  -EINVAL,
	  "insn 0: last insn is not an exit or jmp",
	  0 },
	{ "subprogram falls off its end",
	  { BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, -2) },
	  -EINVAL,
	  "insn 3: last insn is not an exit or jmp",
	  0 },
	{ "unreachable instruction",
	  { BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN(), BPF_MOV64_IMM(BPFI_REG_0, 1),
	    BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 2: unreachable insn 2",
	  0 },
	{ "division by constant zero",
	  { BPF_MOV64_IMM(BPFI_REG_0, 1), BPF_ALU64_IMM(BPF_DIV, BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 1: division by zero",
	  0 },
	{ "shift by an out-of-range immediate",
	  { BPF_MOV64_IMM(BPFI_REG_0, 1), BPF_ALU64_IMM(BPF_LSH, BPFI_REG_0, 64), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 1: invalid shift 64",
	  0 },
	{ "unknown atomic operation",
	  { BPF_MOV64_IMM(BPFI_REG_1, 1), BPF_ATOMIC_OP(BPF_DW, 0x10, BPFI_REG_10, BPFI_REG_1, -8),
	    BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 1: BPF_ATOMIC uses invalid atomic opcode 0x10",
	  0 },
	{ "kfunc call",
	  { BPF_RAW_INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 1), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 0: kernel function calls are not supported",
	  0 },

	/* ---------------- rejected: data flow (check.c) ---------------- */
	{ "uninitialised register read",
	  { BPF_MOV64_REG(BPFI_REG_0, BPFI_REG_3), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 0: R3 !read_ok",
	  0 },
	{ "exit without r0", { BPF_EXIT_INSN() }, -EACCES, "insn 0: R0 !read_ok", 0 },
	{ "r1-r5 are clobbered by a helper call",
	  { BPF_MOV64_IMM(BPFI_REG_2, 1), BPF_EMIT_CALL(FN_ktime_get_ns),
	    BPF_MOV64_REG(BPFI_REG_0, BPFI_REG_2), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 2: R2 !read_ok",
	  0 },
	{ "uninitialised read only on one arm",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 0), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_2, 0, 2),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN(), BPF_MOV64_REG(BPFI_REG_0, BPFI_REG_7),
	    BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 4: R7 !read_ok",
	  0 },
	{ "stack store below the frame",
	  { BPF_ST_MEM(BPF_DW, BPFI_REG_10, -520, 0), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 0: invalid stack off=-520 size=8",
	  0 },
	{ "stack load above the frame",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_10, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 0: invalid stack off=0 size=8",
	  0 },
	{ "stack access out of bounds through a derived pointer",
	  { BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_10), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_1, -516),
	    BPF_ST_MEM(BPF_W, BPFI_REG_1, 0, 0), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 2: invalid stack off=-516 size=4",
	  0 },
	{ "variable stack index without a bound",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 0), BPF_ALU64_IMM(BPF_AND, BPFI_REG_2, 31),
	    BPF_MOV64_REG(BPFI_REG_3, BPFI_REG_10), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_3, -16),
	    BPF_ALU64_REG(BPF_ADD, BPFI_REG_3, BPFI_REG_2), BPF_ST_MEM(BPF_B, BPFI_REG_3, 0, 1),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 5: invalid variable-offset stack access R3 var_off=[-16,15] size=1",
	  0 },
	{ "misaligned stack access",
	  { BPF_ST_MEM(BPF_W, BPFI_REG_10, -6, 0), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 0: misaligned stack access off=-6 size=4",
	  0 },
	{ "partial fill of a spilled pointer",
	  { BPF_STX_MEM(BPF_DW, BPFI_REG_10, BPFI_REG_1, -8),
	    BPF_LDX_MEM(BPF_W, BPFI_REG_0, BPFI_REG_10, -8), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 1: invalid size of register fill",
	  0 },
	/* Issue 11 B2 (the width matrix is spill_fill_widths): other halves, other pointers. */
	{ "32-bit atomic on the upper half of a spilled stack pointer",
	  { BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_10),
	    BPF_STX_MEM(BPF_DW, BPFI_REG_10, BPFI_REG_1, -8), BPF_MOV64_IMM(BPFI_REG_2, 1),
	    BPF_ATOMIC_OP(BPF_W, BPF_ADD | BPF_FETCH, BPFI_REG_10, BPFI_REG_2, -4),
	    BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_10, -8), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 3: invalid size of register fill",
	  0 },
	{ "32-bit xchg on a spilled context pointer",
	  { BPF_STX_MEM(BPF_DW, BPFI_REG_10, BPFI_REG_1, -16), BPF_MOV64_IMM(BPFI_REG_2, 1),
	    BPF_ATOMIC_OP(BPF_W, BPF_XCHG, BPFI_REG_10, BPFI_REG_2, -16),
	    BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_10, -16), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 2: invalid size of register fill",
	  0 },
	/* The differential's seed 3398: a byte at a variable offset that may be one of a spilled
	 * pointer's, as a number, could leave the program through a map. */
	{ "byte read through a variable stack offset that may reach a spilled pointer",
	  { BPF_STX_MEM(BPF_DW, BPFI_REG_10, BPFI_REG_1, -8),
	    BPF_ST_MEM(BPF_DW, BPFI_REG_10, -16, 0), BPF_LDX_MEM(BPF_DW, BPFI_REG_3, BPFI_REG_1, 0),
	    BPF_ALU64_IMM(BPF_AND, BPFI_REG_3, 15), BPF_MOV64_REG(BPFI_REG_4, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_4, -16), BPF_ALU64_REG(BPF_ADD, BPFI_REG_4, BPFI_REG_3),
	    BPF_LDX_MEM(BPF_B, BPFI_REG_0, BPFI_REG_4, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 7: invalid size of register fill",
	  0 },
	{ "32-bit atomic through a variable stack offset that may reach a spilled pointer",
	  { BPF_STX_MEM(BPF_DW, BPFI_REG_10, BPFI_REG_1, -8),
	    BPF_ST_MEM(BPF_DW, BPFI_REG_10, -16, 0), BPF_LDX_MEM(BPF_DW, BPFI_REG_3, BPFI_REG_1, 0),
	    BPF_ALU64_IMM(BPF_AND, BPFI_REG_3, 8), BPF_MOV64_REG(BPFI_REG_4, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_4, -16), BPF_ALU64_REG(BPF_ADD, BPFI_REG_4, BPFI_REG_3),
	    BPF_MOV64_IMM(BPFI_REG_2, 1), BPF_ATOMIC_OP(BPF_W, BPF_ADD, BPFI_REG_4, BPFI_REG_2, 0),
	    BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_10, -8), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 8: variable offset stack pointer cannot be passed into helper function",
	  0 },
	{ "32-bit atomic on a 32-bit spilled scalar",
	  { BPF_MOV64_IMM(BPFI_REG_1, 7), BPF_STX_MEM(BPF_W, BPFI_REG_10, BPFI_REG_1, -8),
	    BPF_MOV64_IMM(BPFI_REG_2, 1),
	    BPF_ATOMIC_OP(BPF_W, BPF_ADD | BPF_FETCH, BPFI_REG_10, BPFI_REG_2, -8),
	    BPF_LDX_MEM(BPF_W, BPFI_REG_0, BPFI_REG_10, -8), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "32-bit store of a map value pointer into a map value",
	  { BPF_LD_MAP_VALUE(BPFI_REG_1, FD_DATA, 0), BPF_STX_MEM(BPF_W, BPFI_REG_1, BPFI_REG_1, 0),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "unknown helper",
	  { BPF_EMIT_CALL(9999), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 0: unknown func unknown#9999",
	  0 },
	{ "poisoned call on a live path",
	  { BPF_MOV64_IMM(BPFI_REG_1, 1), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_1, 0, 1),
	    BPF_EMIT_CALL(POISON_CALL), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 2: unknown func unknown#2001000000",
	  0 },
	{ "poisoned call behind an unknown condition",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 0), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_2, 0, 1),
	    BPF_EMIT_CALL(POISON_CALL), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 2: unknown func",
	  0 },
	{ ".rodata flag folds: live call behind a true flag",
	  { BPF_LD_MAP_VALUE(BPFI_REG_1, FD_RODATA, 0),
	    BPF_LDX_MEM(BPF_W, BPFI_REG_2, BPFI_REG_1, 4), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_2, 0, 1),
	    BPF_EMIT_CALL(9999), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 4: unknown func unknown#9999",
	  0 },
	{ "callx of a register that is not a known helper id",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_5, BPFI_REG_1, 0), BPF_CALLX(BPFI_REG_5),
	    BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 1: R5 callx target is not a known helper id",
	  0 },
	{ "map value dereferenced without a NULL check",
	  { LOOKUP_HASH_KEY0, BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 6: R0 invalid mem access 'map_value_or_null'",
	  0 },
	{ "arithmetic on a maybe-NULL pointer",
	  { LOOKUP_HASH_KEY0, BPF_ALU64_IMM(BPF_ADD, BPFI_REG_0, 8), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 6: R0 pointer arithmetic on map_value_or_null prohibited, null-check it first",
	  0 },
	{ "map value access past value_size",
	  { LOOKUP_HASH_KEY0, BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 1),
	    BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_0, 4), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 7: invalid access to map value, value_size=8 off=4 size=8",
	  0 },
	{ "map key not initialised (strict stack, as for unprivileged loaders)",
	  { BPF_MOV64_REG(BPFI_REG_2, BPFI_REG_10), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_2, -4),
	    BPF_LD_MAP_FD(BPFI_REG_1, FD_HASH), BPF_EMIT_CALL(FN_map_lookup_elem),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 4: invalid indirect read from stack R2 off -4+0 size 4",
	  CASE_STRICT_STACK },
	{ "map key partly initialised (strict stack)",
	  { BPF_ST_MEM(BPF_H, BPFI_REG_10, -4, 0), BPF_MOV64_REG(BPFI_REG_2, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_2, -4), BPF_LD_MAP_FD(BPFI_REG_1, FD_HASH),
	    BPF_EMIT_CALL(FN_map_lookup_elem), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 5: invalid indirect read from stack R2 off -4+2 size 4",
	  CASE_STRICT_STACK },
	{ "uninitialised stack load (strict stack)",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_10, -8), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 0: invalid read from stack off -8 size 8",
	  CASE_STRICT_STACK },
	{ "map lookup with a scalar as the map",
	  { BPF_ST_MEM(BPF_W, BPFI_REG_10, -4, 0), BPF_MOV64_REG(BPFI_REG_2, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_2, -4), BPF_MOV64_IMM(BPFI_REG_1, 0),
	    BPF_EMIT_CALL(FN_map_lookup_elem), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 4: R1 type=scalar expected=map_ptr",
	  0 },
	{ "map lookup with an uninitialised key register",
	  { BPF_LD_MAP_FD(BPFI_REG_1, FD_HASH), BPF_EMIT_CALL(FN_map_lookup_elem),
	    BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 2: R2 !read_ok",
	  0 },
	{ "write into a read-only map",
	  { BPF_LD_MAP_VALUE(BPFI_REG_1, FD_RDONLY, 0), BPF_ST_MEM(BPF_DW, BPFI_REG_1, 0, 1),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 2: write into map forbidden, value_size=8 off=0 size=8",
	  0 },
	{ "scalar dereferenced",
	  { BPF_MOV64_IMM(BPFI_REG_1, 0), BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_1, 0),
	    BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 1: R1 invalid mem access 'scalar'",
	  0 },
	{ "context read past its end",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_1, 168), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 0: invalid bpf_context access off=168 size=8",
	  0 },
	{ "uprobe context: the last word of pt_regs",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_1, 160), BPF_EXIT_INSN() },
	  0,
	  "",
	  0 },
	{ "tracepoint context: the last word a program may read (PERF_MAX_TRACE_SIZE)",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_1, 2040), BPF_EXIT_INSN() },
	  0,
	  "",
	  BPF_PROG_TYPE_TRACEPOINT },
	{ "tracepoint context read past PERF_MAX_TRACE_SIZE",
	  { BPF_LDX_MEM(BPF_W, BPFI_REG_0, BPFI_REG_1, 2045), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 0: invalid bpf_context access off=2045 size=4",
	  BPF_PROG_TYPE_TRACEPOINT },
	{ "context write",
	  { BPF_ST_MEM(BPF_DW, BPFI_REG_1, 0, 0), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 0: invalid bpf_context access off=0 size=8",
	  0 },
	{ "32-bit pointer arithmetic",
	  { BPF_MOV64_REG(BPFI_REG_2, BPFI_REG_10), BPF_ALU32_IMM(BPF_ADD, BPFI_REG_2, -8),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 1: R2 32-bit pointer arithmetic prohibited",
	  0 },
	{ "pointer multiplied",
	  { BPF_MOV64_REG(BPFI_REG_2, BPFI_REG_10), BPF_ALU64_IMM(BPF_MUL, BPFI_REG_2, 2),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 1: R2 pointer arithmetic with *= operator prohibited",
	  0 },
	{ "ringbuf record not submitted",
	  { BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF), BPF_MOV64_IMM(BPFI_REG_2, 16),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_EMIT_CALL(FN_ringbuf_reserve),
	    BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 1), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 7: Unreleased reference id=1 alloc_insn=4",
	  0 },
	{ "ringbuf record used after submit",
	  { BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF), BPF_MOV64_IMM(BPFI_REG_2, 16),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_EMIT_CALL(FN_ringbuf_reserve),
	    BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 5), BPF_MOV64_REG(BPFI_REG_6, BPFI_REG_0),
	    BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_0), BPF_MOV64_IMM(BPFI_REG_2, 0),
	    BPF_EMIT_CALL(FN_ringbuf_submit), BPF_ST_MEM(BPF_DW, BPFI_REG_6, 0, 1),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 10: R6 invalid mem access 'scalar'",
	  0 },
	{ "ringbuf record written past its size",
	  { BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF), BPF_MOV64_IMM(BPFI_REG_2, 16),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_EMIT_CALL(FN_ringbuf_reserve),
	    BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 5), BPF_ST_MEM(BPF_DW, BPFI_REG_0, 16, 1),
	    BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_0), BPF_MOV64_IMM(BPFI_REG_2, 0),
	    BPF_EMIT_CALL(FN_ringbuf_submit), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 6: invalid access to memory, mem_size=16 off=16 size=8",
	  0 },
	{ "ringbuf_reserve on a hash map",
	  { BPF_LD_MAP_FD(BPFI_REG_1, FD_HASH), BPF_MOV64_IMM(BPFI_REG_2, 16),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_EMIT_CALL(FN_ringbuf_reserve), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 4: cannot pass map_type 1 into func bpf_ringbuf_reserve#131",
	  0 },
	{ "ringbuf_reserve with a size that is not a constant",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 0), BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_EMIT_CALL(FN_ringbuf_reserve), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 4: R2 is not a known constant",
	  0 },
	{ "ringbuf_submit of a map value",
	  { BPF_LD_MAP_VALUE(BPFI_REG_1, FD_DATA, 0), BPF_MOV64_IMM(BPFI_REG_2, 0),
	    BPF_EMIT_CALL(FN_ringbuf_submit), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 3: R1 type=map_value expected=alloc_mem",
	  0 },
	/* Issue 11 B3: the record would never be submitted once the tail call succeeds. */
	{ "ringbuf record held across a tail call",
	  { BPF_MOV64_REG(BPFI_REG_7, BPFI_REG_1), BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF),
	    BPF_MOV64_IMM(BPFI_REG_2, 16), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_ringbuf_reserve), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 9),
	    BPF_MOV64_REG(BPFI_REG_6, BPFI_REG_0), BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_7),
	    BPF_LD_MAP_FD(BPFI_REG_2, FD_PROGS), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_tail_call), BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_6),
	    BPF_MOV64_IMM(BPFI_REG_2, 0), BPF_EMIT_CALL(FN_ringbuf_submit),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 12: tail_call would lead to reference leak",
	  0 },
	/* The caller gets control back after the target exits, and submits it. */
	{ "ringbuf record held by the caller of a subprogram that tail-calls",
	  { BPF_MOV64_REG(BPFI_REG_7, BPFI_REG_1), BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF),
	    BPF_MOV64_IMM(BPFI_REG_2, 16), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_ringbuf_reserve), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 6),
	    BPF_MOV64_REG(BPFI_REG_6, BPFI_REG_0), BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_7),
	    BPF_CALL_REL(5), BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_6), BPF_MOV64_IMM(BPFI_REG_2, 0),
	    BPF_EMIT_CALL(FN_ringbuf_submit), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN(),
	    /* subprogram: tail_call(ctx, progs, 0) */
	    BPF_LD_MAP_FD(BPFI_REG_2, FD_PROGS), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_tail_call), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	/* ...but not if the subprogram submits it after the call, which only a failure reaches. */
	{ "caller's ringbuf record submitted by a subprogram after its tail call",
	  { BPF_MOV64_REG(BPFI_REG_7, BPFI_REG_1), BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF),
	    BPF_MOV64_IMM(BPFI_REG_2, 16), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_ringbuf_reserve), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 3),
	    BPF_MOV64_REG(BPFI_REG_2, BPFI_REG_0), BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_7),
	    BPF_CALL_REL(2), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN(),
	    /* subprogram (insn 12): r6 = record; tail_call(ctx, progs, 0); submit(r6) */
	    BPF_MOV64_REG(BPFI_REG_6, BPFI_REG_2), BPF_LD_MAP_FD(BPFI_REG_2, FD_PROGS),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_EMIT_CALL(FN_tail_call),
	    BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_6), BPF_MOV64_IMM(BPFI_REG_2, 0),
	    BPF_EMIT_CALL(FN_ringbuf_submit), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 11: Unreleased reference id=1 alloc_insn=5",
	  0 },
	{ "ringbuf record reserved in a subprogram and held across its tail call",
	  { BPF_CALL_REL(2), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN(),
	    BPF_MOV64_REG(BPFI_REG_7, BPFI_REG_1), BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF),
	    BPF_MOV64_IMM(BPFI_REG_2, 16), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_ringbuf_reserve), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 9),
	    BPF_MOV64_REG(BPFI_REG_6, BPFI_REG_0), BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_7),
	    BPF_LD_MAP_FD(BPFI_REG_2, FD_PROGS), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_tail_call), BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_6),
	    BPF_MOV64_IMM(BPFI_REG_2, 0), BPF_EMIT_CALL(FN_ringbuf_submit),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 2: Unreleased reference id=1 alloc_insn=8",
	  0 },
	{ "ringbuf record held across a tail call made through callx",
	  { BPF_MOV64_REG(BPFI_REG_7, BPFI_REG_1), BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF),
	    BPF_MOV64_IMM(BPFI_REG_2, 16), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_ringbuf_reserve), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 10),
	    BPF_MOV64_REG(BPFI_REG_6, BPFI_REG_0), BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_7),
	    BPF_LD_MAP_FD(BPFI_REG_2, FD_PROGS), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_MOV64_IMM(BPFI_REG_5, FN_tail_call), BPF_CALLX(BPFI_REG_5),
	    BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_6), BPF_MOV64_IMM(BPFI_REG_2, 0),
	    BPF_EMIT_CALL(FN_ringbuf_submit), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EINVAL,
	  "insn 13: tail_call would lead to reference leak",
	  0 },
	{ "tail call after the record is submitted",
	  { BPF_MOV64_REG(BPFI_REG_7, BPFI_REG_1), BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF),
	    BPF_MOV64_IMM(BPFI_REG_2, 16), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_ringbuf_reserve), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 3),
	    BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_0), BPF_MOV64_IMM(BPFI_REG_2, 0),
	    BPF_EMIT_CALL(FN_ringbuf_submit), BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_7),
	    BPF_LD_MAP_FD(BPFI_REG_2, FD_PROGS), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_tail_call), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	/* Every control transfer a record can cross: a subprogram's exit, a callback's. */
	{ "ringbuf record reserved in a subprogram that returns without it",
	  { BPF_CALL_REL(2), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN(),
	    BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF), BPF_MOV64_IMM(BPFI_REG_2, 16),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_EMIT_CALL(FN_ringbuf_reserve),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 2: Unreleased reference id=1 alloc_insn=7",
	  0 },
	{ "ringbuf record reserved in a subprogram and submitted by its caller",
	  { BPF_CALL_REL(6), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 3),
	    BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_0), BPF_MOV64_IMM(BPFI_REG_2, 0),
	    BPF_EMIT_CALL(FN_ringbuf_submit), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN(),
	    BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF), BPF_MOV64_IMM(BPFI_REG_2, 16),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_EMIT_CALL(FN_ringbuf_reserve), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "ringbuf record reserved in a bpf_loop callback and kept",
	  { BPF_MOV64_IMM(BPFI_REG_1, 1), BPF_LD_FUNC(BPFI_REG_2, 6), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_MOV64_IMM(BPFI_REG_4, 0), BPF_EMIT_CALL(FN_loop), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN(),
	    /* callback (insn 8) */
	    BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF), BPF_MOV64_IMM(BPFI_REG_2, 16),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_EMIT_CALL(FN_ringbuf_reserve),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  NULL,
	  0 },
	/* A callback that submits its caller's record and keeps a new one in its place. */
	{ "bpf_loop callback swapping the caller's record for its own",
	  { BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF), BPF_MOV64_IMM(BPFI_REG_2, 16),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_EMIT_CALL(FN_ringbuf_reserve),
	    BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 12),
	    BPF_STX_MEM(BPF_DW, BPFI_REG_10, BPFI_REG_0, -8), BPF_MOV64_IMM(BPFI_REG_1, 1),
	    BPF_LD_FUNC(BPFI_REG_2, 10), BPF_MOV64_REG(BPFI_REG_3, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_3, -8), BPF_MOV64_IMM(BPFI_REG_4, 0),
	    BPF_EMIT_CALL(FN_loop), BPF_LDX_MEM(BPF_DW, BPFI_REG_1, BPFI_REG_10, -8),
	    BPF_MOV64_IMM(BPFI_REG_2, 0), BPF_EMIT_CALL(FN_ringbuf_submit),
	    BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN(),
	    /* callback (insn 20) */
	    BPF_MOV64_REG(BPFI_REG_6, BPFI_REG_2), BPF_LD_MAP_FD(BPFI_REG_1, FD_RINGBUF),
	    BPF_MOV64_IMM(BPFI_REG_2, 16), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_ringbuf_reserve), BPF_JMP_IMM(BPF_JEQ, BPFI_REG_0, 0, 5),
	    BPF_MOV64_REG(BPFI_REG_7, BPFI_REG_0), BPF_LDX_MEM(BPF_DW, BPFI_REG_1, BPFI_REG_6, 0),
	    BPF_MOV64_IMM(BPFI_REG_2, 0), BPF_EMIT_CALL(FN_ringbuf_submit),
	    BPF_STX_MEM(BPF_DW, BPFI_REG_6, BPFI_REG_7, 0), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN() },
	  -EACCES,
	  "callback changes the references held",
	  0 },
	/* Issue 11 A2: tail calls from subprograms leave their callers' frames on the stack. */
	{ "tail call from a subprogram of the main program",
	  { BPF_ST_MEM(BPF_DW, BPFI_REG_10, -8, 0), BPF_CALL_REL(2), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN(), BPF_LD_MAP_FD(BPFI_REG_2, FD_PROGS), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_tail_call), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "tail call from a subprogram of a subprogram",
	  { BPF_CALL_REL(2), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN(), BPF_CALL_REL(1),
	    BPF_EXIT_INSN(), BPF_LD_MAP_FD(BPFI_REG_2, FD_PROGS), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_tail_call), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 8: tail_calls are not allowed at call depth 2",
	  0 },
	{ "tail call from a subprogram whose caller uses 256 bytes of stack",
	  { BPF_ST_MEM(BPF_DW, BPFI_REG_10, -256, 0), BPF_CALL_REL(2), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN(), BPF_LD_MAP_FD(BPFI_REG_2, FD_PROGS), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_tail_call), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 7: tail_calls are not allowed when call stack of previous frames is 256 bytes. Too large",
	  0 },
	{ "tail call from a subprogram whose caller uses 240 bytes of stack",
	  { BPF_ST_MEM(BPF_DW, BPFI_REG_10, -240, 0), BPF_CALL_REL(2), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN(), BPF_LD_MAP_FD(BPFI_REG_2, FD_PROGS), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_tail_call), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  0,
	  NULL,
	  0 },
	{ "tail call from a bpf_loop callback",
	  { BPF_STX_MEM(BPF_DW, BPFI_REG_10, BPFI_REG_1, -8), BPF_MOV64_IMM(BPFI_REG_1, 2),
	    BPF_LD_FUNC(BPFI_REG_2, 7), BPF_MOV64_REG(BPFI_REG_3, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_3, -8), BPF_MOV64_IMM(BPFI_REG_4, 0),
	    BPF_EMIT_CALL(FN_loop), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN(),
	    /* callback: tail_call(ctx, progs, 0), ctx spilled by the main program */
	    BPF_LDX_MEM(BPF_DW, BPFI_REG_1, BPFI_REG_2, 0), BPF_LD_MAP_FD(BPFI_REG_2, FD_PROGS),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_EMIT_CALL(FN_tail_call), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 14: tail_call is not allowed in callbacks",
	  0 },
	{ "tail call with a modified context pointer",
	  { BPF_ALU64_IMM(BPF_ADD, BPFI_REG_1, 8), BPF_LD_MAP_FD(BPFI_REG_2, FD_PROGS),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_EMIT_CALL(FN_tail_call), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 4: dereference of modified ctx ptr R1 off=8 disallowed",
	  0 },
	{ "helper size that may be zero where zero is not allowed",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 0), BPF_ALU64_IMM(BPF_AND, BPFI_REG_2, 15),
	    BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_10), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_1, -16),
	    BPF_EMIT_CALL(16 /* get_current_comm */), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 4: R2 invalid zero-sized read",
	  0 },
	{ "helper size without an upper bound",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 0), BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_1, -16), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_probe_read), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 4: R2 unbounded memory access",
	  0 },
	{ "sign-extending fill of a narrow spill that may be negative",
	  { BPF_LDX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 0), BPF_ALU64_IMM(BPF_AND, BPFI_REG_2, 255),
	    BPF_STX_MEM(BPF_B, BPFI_REG_10, BPFI_REG_2, -1),
	    BPF_LDX_MEMSX(BPF_B, BPFI_REG_3, BPFI_REG_10, -1),
	    BPF_MOV64_REG(BPFI_REG_4, BPFI_REG_10), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_4, -300),
	    BPF_ALU64_REG(BPF_ADD, BPFI_REG_4, BPFI_REG_3), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 6: R4 math between fp pointer and register with unbounded value is not allowed",
	  0 },
	{ "bpf_loop callback safe on its first run only",
	  { BPF_ST_MEM(BPF_DW, BPFI_REG_10, -8, 0), BPF_MOV64_IMM(BPFI_REG_1, 10),
	    BPF_LD_FUNC(BPFI_REG_2, 7), BPF_MOV64_REG(BPFI_REG_3, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_3, -8), BPF_MOV64_IMM(BPFI_REG_4, 0),
	    BPF_EMIT_CALL(FN_loop), BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_10, -8),
	    BPF_EXIT_INSN(),
	    /* callback: n = ++ctx->n; its own stack[-16 + n] = 0 */
	    BPF_LDX_MEM(BPF_DW, BPFI_REG_1, BPFI_REG_2, 0), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_1, 1),
	    BPF_STX_MEM(BPF_DW, BPFI_REG_2, BPFI_REG_1, 0), BPF_MOV64_REG(BPFI_REG_3, BPFI_REG_10),
	    BPF_ALU64_IMM(BPF_ADD, BPFI_REG_3, -16), BPF_ALU64_REG(BPF_ADD, BPFI_REG_3, BPFI_REG_1),
	    BPF_ST_MEM(BPF_B, BPFI_REG_3, 0, 0), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 15: R3 math between fp pointer and register with unbounded value is not allowed",
	  0 },
	{ "callback passed to a helper the check cannot follow (for_each_map_elem)",
	  { BPF_LD_MAP_FD(BPFI_REG_1, FD_HASH), BPF_LD_FUNC(BPFI_REG_2, 5),
	    BPF_MOV64_IMM(BPFI_REG_3, 0), BPF_MOV64_IMM(BPFI_REG_4, 0), BPF_EMIT_CALL(164),
	    BPF_EXIT_INSN(), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 6: R2 callback passed to func #164, which is not supported",
	  0 },
	{ "helper writes past the stack",
	  { BPF_MOV64_REG(BPFI_REG_1, BPFI_REG_10), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_1, -8),
	    BPF_MOV64_IMM(BPFI_REG_2, 16), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_EMIT_CALL(FN_probe_read), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 4: invalid indirect access to stack R1 off=-8 size=16",
	  0 },
	{ "infinite loop",
	  { BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_JMP_A(-1) },
	  -EINVAL,
	  "insn 1: infinite loop detected at insn 1",
	  0 },
	{ "loop that never ends within the budget",
	  { BPF_MOV64_IMM(BPFI_REG_0, 1), BPF_ALU64_IMM(BPF_ADD, BPFI_REG_0, 1),
	    BPF_JMP_IMM(BPF_JNE, BPFI_REG_0, 0, -2), BPF_EXIT_INSN() },
	  -E2BIG,
	  "BPF program is too large. Processed 1000000 insn",
	  0 },
	{ "recursion deeper than 8 frames",
	  { BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_CALL_REL(-1), BPF_EXIT_INSN() },
	  -E2BIG,
	  "insn 2: the call stack of 9 frames is too deep",
	  0 },
	{ "combined stack of a call chain too large",
	  { BPF_ST_MEM(BPF_DW, BPFI_REG_10, -512, 0), BPF_CALL_REL(1), BPF_EXIT_INSN(),
	    BPF_ST_MEM(BPF_DW, BPFI_REG_10, -8, 0), BPF_MOV64_IMM(BPFI_REG_0, 0), BPF_EXIT_INSN() },
	  -EACCES,
	  "combined stack size of the call chain is 544. Too large",
	  0 },
	{ "stack pointer returned to the caller",
	  { BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_MOV64_REG(BPFI_REG_0, BPFI_REG_10),
	    BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 3: cannot return stack pointer to the caller",
	  0 },
	{ "bpf_loop callback returning a pointer",
	  { BPF_MOV64_IMM(BPFI_REG_1, 10), BPF_LD_FUNC(BPFI_REG_2, 6), BPF_MOV64_IMM(BPFI_REG_3, 0),
	    BPF_MOV64_IMM(BPFI_REG_4, 0), BPF_EMIT_CALL(FN_loop), BPF_MOV64_IMM(BPFI_REG_0, 0),
	    BPF_EXIT_INSN(), BPF_MOV64_REG(BPFI_REG_0, BPFI_REG_10), BPF_EXIT_INSN() },
	  -EACCES,
	  "insn 9: At callback return the register R0 is not a known value (fp)",
	  0 },
};

static int insn_count(const struct verifier_case *c)
{
	int n = MAX_CASE_INSNS;

	/* Trailing all-zero slots are padding; a real zero insn is never last in a case. */
	while (n > 0 && !c->insns[n - 1].code && !c->insns[n - 1].imm && !c->insns[n - 1].off &&
	       !c->insns[n - 1].dst_reg && !c->insns[n - 1].src_reg)
		n--;
	return n;
}

static int check_prog(const struct bpf_insn *insns, uint32_t cnt, uint32_t prog_type,
		      uint32_t ctx_size, char *buf, size_t size, unsigned level)
{
	struct bpfi_verifier_opts opts = {
		.sz = sizeof(opts),
		.prog_type = prog_type & ~CASE_STRICT_STACK,
		.strict_stack = (prog_type & CASE_STRICT_STACK) != 0,
		.ctx_size = ctx_size,
		.map_by_fd = map_by_fd,
		.helper_known = helper_known,
	};
	struct bpfi_log log = { .buf = buf, .size = size, .level = level };

	buf[0] = '\0';
	return bpfi_verifier_check(insns, cnt, &opts, &log);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * Spill/fill widths (issue 11 B2): a map pointer spilled to fp-8, then one access of 1/2/4/8
 * bytes at fp-8 (a plain load or store, the pointer stored narrow itself, or an atomic with
 * and without fetch), then an 8-byte fill whose value goes into a map value. The expected
 * results are the running kernel's for a privileged loader: an atomic reads before it
 * writes, so a narrow one on a spilled pointer is a narrow fill and refused, like a narrow
 * load ("invalid size of register fill"); a pointer is spilled whole or not at all
 * ("invalid size of register spill"); a narrow plain store over it is allowed (the kernel
 * refuses it only to unprivileged loaders).
 */
enum spill_op {
	SPILL_LOAD,
	SPILL_STORE,
	SPILL_STORE_PTR,
	SPILL_ADD,
	SPILL_FETCH_ADD,
	SPILL_XCHG,
	SPILL_CMPXCHG,
	SPILL_NR_OPS
};
static const char *const spill_op_names[] = { "load",	    "store",	 "store of the pointer",
					      "atomic add", "fetch add", "xchg",
					      "cmpxchg" };
static const uint8_t spill_widths[] = { BPF_B, BPF_H, BPF_W, BPF_DW };
#define SPILL_CASES (SPILL_NR_OPS * 4)

static uint32_t spill_case(int k, struct bpf_insn *p, int *ret_err, const char **ret_msg)
{
	int op = k / 4, sz = spill_widths[k % 4];
	bool narrow = sz != BPF_DW, atomic = op >= SPILL_ADD;
	static const int32_t atomic_imm[] = { BPF_ADD, BPF_ADD | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG };
	uint32_t n = 0;

	p[n++] = (struct bpf_insn)BPF_RAW_INSN(BPF_LD | BPF_DW | BPF_IMM, BPFI_REG_1,
					       BPF_PSEUDO_MAP_FD, 0, FD_DATA);
	p[n++] = (struct bpf_insn)BPF_RAW_INSN(0, 0, 0, 0, 0);
	p[n++] = (struct bpf_insn)BPF_STX_MEM(BPF_DW, BPFI_REG_10, BPFI_REG_1, -8);
	p[n++] = (struct bpf_insn)BPF_MOV64_IMM(BPFI_REG_2, 1);
	p[n++] = (struct bpf_insn)BPF_MOV64_IMM(BPFI_REG_0, 0);
	if (op == SPILL_LOAD)
		p[n++] = (struct bpf_insn)BPF_LDX_MEM(sz, BPFI_REG_2, BPFI_REG_10, -8);
	else if (op == SPILL_STORE)
		p[n++] = (struct bpf_insn)BPF_STX_MEM(sz, BPFI_REG_10, BPFI_REG_2, -8);
	else if (op == SPILL_STORE_PTR)
		p[n++] = (struct bpf_insn)BPF_STX_MEM(sz, BPFI_REG_10, BPFI_REG_1, -8);
	else
		p[n++] = (struct bpf_insn)BPF_ATOMIC_OP(sz, atomic_imm[op - SPILL_ADD], BPFI_REG_10,
							BPFI_REG_2, -8);
	p[n++] = (struct bpf_insn)BPF_LDX_MEM(BPF_DW, BPFI_REG_3, BPFI_REG_10, -8);
	p[n++] = (struct bpf_insn)BPF_RAW_INSN(BPF_LD | BPF_DW | BPF_IMM, BPFI_REG_4,
					       BPF_PSEUDO_MAP_VALUE, 0, FD_DATA);
	p[n++] = (struct bpf_insn)BPF_RAW_INSN(0, 0, 0, 0, 0);
	p[n++] = (struct bpf_insn)BPF_STX_MEM(BPF_DW, BPFI_REG_4, BPFI_REG_3, 0);
	p[n++] = (struct bpf_insn)BPF_MOV64_IMM(BPFI_REG_0, 0);
	p[n++] = (struct bpf_insn)BPF_EXIT_INSN();
	*ret_err = 0;
	*ret_msg = NULL;
	if (atomic && (sz == BPF_B || sz == BPF_H)) {
		*ret_err = -EINVAL;
		*ret_msg = "insn 5: BPF_STX uses reserved fields";
	} else if (narrow && (op == SPILL_LOAD || atomic)) {
		*ret_err = -EACCES;
		*ret_msg = "insn 5: invalid size of register fill";
	} else if (narrow && op == SPILL_STORE_PTR) {
		*ret_err = -EACCES;
		*ret_msg = "insn 5: invalid size of register spill";
	}
	return n;
}

START_TEST(spill_fill_widths)
{
	struct bpf_insn insns[16];
	const char *msg;
	char buf[4096];
	int expect, err;
	uint32_t n = spill_case(_i, insns, &expect, &msg);

	err = check_prog(insns, n, BPF_PROG_TYPE_KPROBE, 0, buf, sizeof(buf), 0);
	ck_assert_msg(err == expect && (!msg || strstr(buf, msg)),
		      "%s of %d bytes on a spilled pointer: err %d, expected %d (%s); log: %s",
		      spill_op_names[_i / 4], 1 << (_i % 4), err, expect, msg ? msg : "", buf);
	ck_assert(!err || count_lines(buf) == 1);
}
END_TEST

/* The deepest stack tail calls can build (tests/tail_worst.h) is a program the check accepts. */
START_TEST(tail_call_worst_case_accepted)
{
	struct bpf_insn insns[TAIL_WORST_INSNS];
	uint32_t n =
		tail_worst_build(insns, BPF_PSEUDO_MAP_FD, FD_PROGS, BPF_PSEUDO_MAP_VALUE, FD_DATA);
	char buf[4096];

	ck_assert_uint_eq(n, TAIL_WORST_INSNS);
	ck_assert_msg(!check_prog(insns, n, BPF_PROG_TYPE_KPROBE, 0, buf, sizeof(buf), 0), "%s",
		      buf);
}
END_TEST

/*
 * ---- the checked execution mode: accepted programs run with the check's claims tested ----
 *
 * Every program these tests get accepted (the table, the random programs, the conformance
 * suite, the JIT's random programs) runs once through tests/checked_interp.c: each access
 * must fall in a live region of the kind the check concluded, every register read must
 * follow a write. A verifier false accept is a failure here even where the plain runs of
 * these tests would read or write out of bounds silently.
 */
#define CHECKED_VALUE_SIZE 64

static uint8_t checked_values[FD_PERF + 1][CHECKED_VALUE_SIZE];

static bool checked_unwind_known(int32_t id, void *cookie)
{
	(void)cookie;
	return id == CONFORMANCE_UNWIND_HELPER;
}

static uint64_t checked_unwind(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			       const struct bpfi_env *env)
{
	(void)r2, (void)r3, (void)r4, (void)r5, (void)env;
	return r1;
}

/*
 * Checks @insns with facts and, when accepted, runs them checked on @ctx (@ctx_size bytes
 * really there). Map values are buffers of ours (.rodata with its frozen bytes); programs
 * that name a map itself (helpers on maps need real ones) are checked but not run.
 * @return NULL, or the violation (in @why).
 */
static const char *checked_run(const struct bpf_insn *insns, uint32_t n, uint32_t prog_type,
			       uint32_t check_ctx_size, uint8_t *ctx, uint32_t ctx_size,
			       bool unwind, char *why, size_t why_size)
{
	struct bpfi_verifier_fact *facts = calloc(n, sizeof(*facts));
	struct bpf_insn *run = malloc((size_t)n * sizeof(*run));
	bpfi_helper_fn table[BPFI_HELPER_MAX];
	struct bpfi_verifier_opts vo = {
		.sz = sizeof(vo),
		.prog_type = prog_type & ~CASE_STRICT_STACK,
		.strict_stack = (prog_type & CASE_STRICT_STACK) != 0,
		.ctx_size = check_ctx_size,
		.map_by_fd = map_by_fd,
		.helper_known = helper_known,
		.facts = facts,
	};
	struct bpfi_env env = { .helpers = table, .unwind_helper_id = -1 };
	struct checked_opts co = { .facts = facts,
				   .ctx = (uint64_t)(uintptr_t)ctx,
				   .ctx_size = ctx_size,
				   .strict_stack = vo.strict_stack,
				   .env = &env,
				   .why = why,
				   .why_size = why_size };
	bool runnable = true;
	uint64_t r0;
	int err;

	ck_assert_ptr_nonnull(facts);
	ck_assert_ptr_nonnull(run);
	memcpy(run, insns, (size_t)n * sizeof(*run));
	bpfi_helpers_fill(table);
	if (unwind) {
		table[CONFORMANCE_UNWIND_HELPER] = checked_unwind;
		env.unwind_helper_id = CONFORMANCE_UNWIND_HELPER;
		vo.helper_known = checked_unwind_known;
	}
	memcpy(checked_values[FD_RODATA], rodata, sizeof(rodata));
	for (uint32_t k = 0; k + 1 < n; k++) {
		if (!bpfi_insn_is_ldimm64(&run[k]) || !run[k].src_reg)
			continue;
		if (run[k].src_reg == BPF_PSEUDO_MAP_VALUE && run[k].imm >= FD_HASH &&
		    run[k].imm <= FD_PERF) {
			uint64_t v = (uint64_t)(uintptr_t)checked_values[run[k].imm] +
				     (uint32_t)run[k + 1].imm;

			run[k] = BPF_RAW_INSN(BPF_LD | BPF_DW | BPF_IMM, run[k].dst_reg, 0, 0,
					      (int32_t)(uint32_t)v);
			run[k + 1].imm = (int32_t)(v >> 32);
		} else if (run[k].src_reg != BPF_PSEUDO_FUNC) {
			runnable = false;
		}
	}
	why[0] = '\0';
	err = bpfi_verifier_check(insns, n, &vo, NULL);
	if (!err && runnable)
		err = checked_interp_run(run, n, &co, &r0);
	free(run);
	free(facts);
	return err == CHECKED_VIOLATION ? why : NULL;
}

START_TEST(run_case)
{
	const struct verifier_case *c = &cases[_i];
	char buf[4096];
	int err;

	uint32_t type = c->prog_type & ~CASE_STRICT_STACK;

	err = check_prog(c->insns, (uint32_t)insn_count(c),
			 (type ? type : BPF_PROG_TYPE_KPROBE) | (c->prog_type & CASE_STRICT_STACK),
			 0, buf, sizeof(buf), 0);
	ck_assert_msg(err == c->expect_err, "%s: err %d, expected %d; log: %s", c->descr, err,
		      c->expect_err, buf);
	ck_assert_msg(!c->expect_msg || strstr(buf, c->expect_msg), "%s: log was: %s", c->descr,
		      buf);
	if (err) {
		/* Exactly one line, naming the instruction. */
		ck_assert_msg(count_lines(buf) == 1 && !strncmp(buf, "insn ", 5),
			      "%s: not one 'insn N:' line: %s", c->descr, buf);
		/* bpftrace treats only these words as "helper missing". */
		if (c->expect_msg && !strstr(c->expect_msg, "unknown func"))
			ck_assert_msg(!strstr(buf, "unknown func") && !strstr(buf, "invalid func"),
				      "%s: %s", c->descr, buf);
	} else {
		uint8_t ctx[2048] = { 0 }; /* the largest context of any type */
		const char *bad;

		ck_assert_msg(buf[0] == '\0', "%s: log on success: %s", c->descr, buf);
		bad = checked_run(
			c->insns, (uint32_t)insn_count(c),
			(type ? type : BPF_PROG_TYPE_KPROBE) | (c->prog_type & CASE_STRICT_STACK),
			0, ctx, bpfi_verifier_ctx_size(type ? type : BPF_PROG_TYPE_KPROBE), false,
			buf, sizeof(buf));
		ck_assert_msg(!bad, "%s: accepted, but the checked run says %s", c->descr, bad);
	}
}
END_TEST

/* The per-instruction trace appears only when asked for, and ends with the summary. */
START_TEST(trace_level)
{
	const struct verifier_case *c = &cases[0];
	char buf[4096];

	ck_assert_int_eq(
		check_prog(c->insns, 2, BPF_PROG_TYPE_KPROBE, 0, buf, sizeof(buf), BPFI_LOG_TRACE),
		0);
	ck_assert_msg(strstr(buf, "0: (b7)") && strstr(buf, "1: (95)") &&
			      strstr(buf, "processed 2 insns"),
		      "trace: %s", buf);
}
END_TEST

/* insn_live marks what checked paths execute: the poisoned call and its branch are dead. */
START_TEST(reports_live_insns)
{
	const struct bpf_insn insns[] = {
		BPF_LD_MAP_VALUE(BPFI_REG_1, FD_RODATA, 0),
		BPF_LDX_MEM(BPF_W, BPFI_REG_2, BPFI_REG_1, 0),
		BPF_JMP_IMM(BPF_JNE, BPFI_REG_2, 0, 2),
		BPF_MOV64_IMM(BPFI_REG_0, 0),
		BPF_EXIT_INSN(),
		BPF_EMIT_CALL(POISON_CALL),
		BPF_EXIT_INSN(),
	};
	const uint8_t want[] = { 1, 1, 1, 1, 1, 1, 0, 0 };
	uint8_t live[8];
	struct bpfi_verifier_opts opts = {
		.sz = sizeof(opts),
		.map_by_fd = map_by_fd,
		.helper_known = helper_known,
		.insn_live = live,
	};

	memset(live, 0xaa, sizeof(live));
	ck_assert_int_eq(bpfi_verifier_check(insns, 8, &opts, NULL), 0);
	ck_assert_mem_eq(live, want, sizeof(want));
}
END_TEST

/* Null arguments, a bad opts size and an oversized program fail cleanly. */
START_TEST(bad_arguments)
{
	struct bpf_insn insn = BPF_EXIT_INSN();
	struct bpfi_verifier_opts opts = { .sz = 1 };
	char buf[256];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

	ck_assert_int_eq(bpfi_verifier_check(NULL, 1, NULL, &log), -EINVAL);
	ck_assert_int_eq(bpfi_verifier_check(&insn, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(bpfi_verifier_check(&insn, BPFI_MAX_INSNS + 1, NULL, NULL), -E2BIG);
	ck_assert_int_eq(bpfi_verifier_check(&insn, 1, &opts, NULL), -EINVAL);
}
END_TEST

/*
 * Many independent branches: without pruning 2^20 paths; pruning (with liveness: the branch
 * results die at once) keeps this small.
 */
START_TEST(pruning_keeps_branches_linear)
{
	struct bpf_insn insns[4 * 20 + 3];
	char buf[512];
	uint32_t n = 0, k;

	insns[n++] = BPF_LDX_MEM(BPF_DW, BPFI_REG_6, BPFI_REG_1, 0);
	for (k = 0; k < 20; k++) {
		insns[n++] = BPF_JMP_IMM(BPF_JSET, BPFI_REG_6, 1 << k, 2);
		insns[n++] = BPF_MOV64_IMM(BPFI_REG_2, 1);
		insns[n++] = BPF_JMP_A(1);
		insns[n++] = BPF_MOV64_IMM(BPFI_REG_2, 2);
	}
	insns[n++] = BPF_MOV64_IMM(BPFI_REG_0, 0);
	insns[n++] = BPF_EXIT_INSN();
	ck_assert_int_eq(check_prog(insns, n, BPF_PROG_TYPE_KPROBE, 0, buf, sizeof(buf), 0), 0);
}
END_TEST

/* A path with more undecided branches than may wait: -E2BIG, not unbounded memory. */
START_TEST(too_many_pending_branches)
{
	uint32_t n = 0, k, cnt = VERIFIER_MAX_PENDING + 16;
	struct bpf_insn *insns = calloc(cnt + 3, sizeof(*insns));
	char buf[512];

	ck_assert_ptr_nonnull(insns);
	insns[n++] = BPF_LDX_MEM(BPF_DW, BPFI_REG_6, BPFI_REG_1, 0);
	for (k = 0; k < cnt; k++) /* both arms lead to the next insn */
		insns[n++] = BPF_JMP_IMM(BPF_JEQ, BPFI_REG_6, (int32_t)k, 0);
	insns[n++] = BPF_MOV64_IMM(BPFI_REG_0, 0);
	insns[n++] = BPF_EXIT_INSN();
	ck_assert_int_eq(check_prog(insns, n, BPF_PROG_TYPE_KPROBE, 0, buf, sizeof(buf), 0),
			 -E2BIG);
	ck_assert_msg(strstr(buf, "jumps is too complex"), "log: %s", buf);
	free(insns);
}
END_TEST

/* ---- scalar ranges: soundness by brute force over small domains ---- */

static const uint64_t samples[] = { 0,		1,	    2,
				    3,		7,	    8,
				    15,		31,	    63,
				    64,		100,	    0x7fffffff,
				    0x80000000, 0xffffffff, 0x100000000ULL,
				    INT64_MAX,	1ULL << 63, UINT64_MAX - 1,
				    UINT64_MAX };
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

static const uint8_t alu_ops[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,	 BPF_AND,
				   BPF_LSH, BPF_RSH, BPF_MOD, BPF_XOR, BPF_ARSH, BPF_MOV };
static const uint8_t jmp_ops[] = { BPF_JEQ,  BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
				   BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE };

static bool concrete_cmp(uint8_t op, bool is64, uint64_t a, uint64_t b)
{
	int64_t sa = is64 ? (int64_t)a : (int32_t)(uint32_t)a;
	int64_t sb = is64 ? (int64_t)b : (int32_t)(uint32_t)b;

	if (!is64) {
		a = (uint32_t)a;
		b = (uint32_t)b;
	}
	switch (op) {
	case BPF_JEQ:
		return a == b;
	case BPF_JNE:
		return a != b;
	case BPF_JGT:
		return a > b;
	case BPF_JGE:
		return a >= b;
	case BPF_JLT:
		return a < b;
	case BPF_JLE:
		return a <= b;
	case BPF_JSET:
		return (a & b) != 0;
	case BPF_JSGT:
		return sa > sb;
	case BPF_JSGE:
		return sa >= sb;
	case BPF_JSLT:
		return sa < sb;
	default:
		return sa <= sb;
	}
}

static bool in_range(const struct vreg *r, uint64_t v)
{
	return v >= r->umin && v <= r->umax;
}

/* Every pair of ranges built from the samples, and every concrete pair inside them. */
#define FOR_RANGES(lo, hi)                       \
	for (size_t lo = 0; lo < NSAMPLES; lo++) \
		for (size_t hi = lo; hi < NSAMPLES && hi <= lo + 3; hi++)

START_TEST(bounds_alu_sound)
{
	uint8_t op = alu_ops[_i % sizeof(alu_ops)];
	bool is64 = _i < (int)sizeof(alu_ops);

	FOR_RANGES(a0, a1)
	FOR_RANGES(b0, b1)
	for (size_t x = a0; x <= a1; x++)
		for (size_t y = b0; y <= b1; y++) {
			struct vreg d = { .type = VREG_SCALAR,
					  .umin = samples[a0],
					  .umax = samples[a1] };
			struct vreg s = { .type = VREG_SCALAR,
					  .umin = samples[b0],
					  .umax = samples[b1] };
			int16_t off = 0;
			uint64_t want;

			if ((op == BPF_DIV || op == BPF_MOD) && (x + y) % 2)
				off = 1;
			if (op == BPF_MOV && (x + y) % 3 == 1)
				off = 8;
			want = bounds__alu_const(op, is64, samples[x], samples[y], off);
			bounds__alu(op, is64, &d, &s, off);
			if (!in_range(&d, want))
				ck_abort_msg(
					"op %#x is64 %d off %d: [%#llx,%#llx] op [%#llx,%#llx]: %#llx "
					"not in [%#llx,%#llx]",
					op, is64, off, (unsigned long long)samples[a0],
					(unsigned long long)samples[a1],
					(unsigned long long)samples[b0],
					(unsigned long long)samples[b1], (unsigned long long)want,
					(unsigned long long)d.umin, (unsigned long long)d.umax);
		}
}
END_TEST

START_TEST(bounds_branch_sound)
{
	uint8_t op = jmp_ops[_i % sizeof(jmp_ops)];
	bool is64 = _i < (int)sizeof(jmp_ops);

	FOR_RANGES(a0, a1)
	FOR_RANGES(b0, b1)
	{
		struct vreg a = { .type = VREG_SCALAR, .umin = samples[a0], .umax = samples[a1] };
		struct vreg b = { .type = VREG_SCALAR, .umin = samples[b0], .umax = samples[b1] };
		int taken = bounds__branch_taken(op, is64, &a, &b);

		for (size_t x = a0; x <= a1; x++)
			for (size_t y = b0; y <= b1; y++) {
				bool t = concrete_cmp(op, is64, samples[x], samples[y]);
				struct vreg ra = a, rb = b;

				if (taken >= 0 && taken != t)
					ck_abort_msg("op %#x is64 %d: %#llx %#llx", op, is64,
						     (unsigned long long)samples[x],
						     (unsigned long long)samples[y]);
				bounds__refine(op, is64, t, &ra, &rb);
				if (!in_range(&ra, samples[x]) || !in_range(&rb, samples[y]))
					ck_abort_msg(
						"refine op %#x is64 %d taken %d lost %#llx/%#llx",
						op, is64, t, (unsigned long long)samples[x],
						(unsigned long long)samples[y]);
			}
	}
}
END_TEST

/*
 * ---- soundness: random programs, and a checking interpreter for the accepted ones ----
 *
 * Whatever the check accepts must, run on any input, touch only the stack, the context and
 * map values, and end. The interpreter below is independent of the verifier's own
 * arithmetic (it only shares RFC 9669), so a wrong range or a missed path shows up as an
 * access outside those regions or a program that does not stop.
 */
#define FUZZ_PROGS 6000
#ifndef FUZZ_SEEDS
#define FUZZ_SEEDS 4
#endif
#define FUZZ_LEN       24
#define FUZZ_RUNS      8
#define FUZZ_CTX_SIZE  64
#define FUZZ_MAX_STEPS 200000

struct fuzz_vm {
	uint64_t reg[MAX_BPF_REG];
	uint8_t stack[BPFI_STACK_SIZE];
	uint8_t ctx[FUZZ_CTX_SIZE];
	uint8_t value[32]; /* FD_DATA's value */
};

static uint64_t fuzz_rand(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* Where [addr, addr + size) lies in one region of @vm, or NULL. */
static uint8_t *fuzz_mem(struct fuzz_vm *vm, uint64_t addr, uint32_t size)
{
	uint8_t *regions[] = { vm->stack, vm->ctx, vm->value };
	size_t lens[] = { sizeof(vm->stack), sizeof(vm->ctx), sizeof(vm->value) };
	size_t k;

	for (k = 0; k < 3; k++) {
		uint64_t base = (uint64_t)(uintptr_t)regions[k];

		if (addr >= base && addr - base <= lens[k] - size)
			return regions[k] + (addr - base);
	}
	return NULL;
}

static uint64_t fuzz_alu(uint8_t op, bool is64, uint64_t a, uint64_t b)
{
	uint64_t m = is64 ? UINT64_MAX : 0xffffffffULL, r;

	a &= m;
	b &= m;
	switch (op) {
	case BPF_ADD:
		r = a + b;
		break;
	case BPF_SUB:
		r = a - b;
		break;
	case BPF_MUL:
		r = a * b;
		break;
	case BPF_DIV:
		r = b ? a / b : 0;
		break;
	case BPF_MOD:
		r = b ? a % b : a;
		break;
	case BPF_OR:
		r = a | b;
		break;
	case BPF_AND:
		r = a & b;
		break;
	case BPF_XOR:
		r = a ^ b;
		break;
	case BPF_LSH:
		r = a << (b & (is64 ? 63 : 31));
		break;
	case BPF_RSH:
		r = a >> (b & (is64 ? 63 : 31));
		break;
	case BPF_ARSH:
		r = is64 ? (uint64_t)((int64_t)a >> (b & 63))
			 : (uint64_t)(uint32_t)((int32_t)(uint32_t)a >> (b & 31));
		break;
	case BPF_NEG:
		r = 0 - a;
		break;
	default:
		r = b;
		break; /* MOV */
	}
	return r & m;
}

static uint32_t fuzz_size(uint8_t code)
{
	switch (BPF_SIZE(code)) {
	case BPF_B:
		return 1;
	case BPF_H:
		return 2;
	case BPF_W:
		return 4;
	default:
		return 8;
	}
}

/* Runs @insns; returns 0, or a description of what the check should have refused. */
static const char *fuzz_run(const struct bpf_insn *insns, uint32_t cnt, struct fuzz_vm *vm)
{
	uint32_t pc = 0, steps = 0;

	memset(vm->reg, 0, sizeof(vm->reg));
	vm->reg[1] = (uint64_t)(uintptr_t)vm->ctx;
	vm->reg[10] = (uint64_t)(uintptr_t)(vm->stack + sizeof(vm->stack));
	while (steps++ < FUZZ_MAX_STEPS) {
		const struct bpf_insn *in = &insns[pc];
		uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
		bool is64 = cls == BPF_ALU64 || cls == BPF_JMP;
		uint64_t *d = &vm->reg[in->dst_reg];
		uint64_t src = BPF_SRC(in->code) == BPF_X ? vm->reg[in->src_reg]
			       : is64			  ? (uint64_t)(int64_t)in->imm
							  : (uint32_t)in->imm;
		uint32_t size = fuzz_size(in->code);
		uint8_t *mem;

		switch (cls) {
		case BPF_ALU:
		case BPF_ALU64:
			*d = fuzz_alu(op, cls == BPF_ALU64, *d, src);
			pc++;
			break;
		case BPF_LD: /* ld_imm64 of FD_DATA's value, or a constant */
			*d = in->src_reg == BPF_PSEUDO_MAP_VALUE
				     ? (uint64_t)(uintptr_t)vm->value + (uint32_t)in[1].imm
				     : (uint32_t)in->imm | ((uint64_t)(uint32_t)in[1].imm << 32);
			pc += 2;
			break;
		case BPF_LDX:
			mem = fuzz_mem(vm, vm->reg[in->src_reg] + (uint64_t)(int64_t)in->off, size);
			if (!mem)
				return "load outside every region";
			*d = 0;
			memcpy(d, mem, size);
			pc++;
			break;
		case BPF_ST:
		case BPF_STX:
			mem = fuzz_mem(vm, *d + (uint64_t)(int64_t)in->off, size);
			if (!mem)
				return "store outside every region";
			src = cls == BPF_ST ? (uint64_t)(int64_t)in->imm : vm->reg[in->src_reg];
			memcpy(mem, &src, size);
			pc++;
			break;
		default:
			if (op == BPF_EXIT)
				return NULL;
			if (op == BPF_JA) {
				pc += 1 + in->off;
				break;
			}
			{
				struct vreg a, b;

				/* Plain comparisons, checked in the bounds tests against C. */
				a.umin = *d;
				b.umin = src;
				pc += 1 + (concrete_cmp(op, is64, a.umin, b.umin) ? in->off : 0);
			}
			break;
		}
	}
	return "did not stop";
}

/*
 * A random program: scalars in r0 and r2-r5, pointers in r6 (stack), r7 (map value), r8
 * (context) and r9 (stack), moved by bounded and unbounded scalars, then dereferenced near
 * the edges of their regions, with branches and short counted loops in between.
 */
static uint32_t fuzz_gen(struct bpf_insn *p, uint64_t *rs)
{
	static const uint8_t ops[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,   BPF_AND,
				       BPF_LSH, BPF_RSH, BPF_MOD, BPF_XOR, BPF_ARSH, BPF_MOV };
	static const uint8_t sizes[] = { BPF_B, BPF_H, BPF_W, BPF_DW };
	static const uint8_t scalars[] = { 0, 2, 3, 4, 5 };
	static const int32_t imms[] = {
		0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 63, -1, -8, -16, 100, 255
	};
	/* per pointer register: the offsets worth trying (just inside and just outside) */
	static const int16_t lo[] = { -520, -40, -8, -40 }, span[] = { 528, 80, 80, 80 };
	uint32_t n = 0, k;

	for (k = 0; k < sizeof(scalars); k++)
		p[n++] = BPF_MOV64_IMM(scalars[k], imms[fuzz_rand(rs) % 16]);
	p[n++] = BPF_MOV64_REG(BPFI_REG_6, BPFI_REG_10);
	p[n++] = BPF_RAW_INSN(BPF_LD | BPF_DW | BPF_IMM, BPFI_REG_7, BPF_PSEUDO_MAP_VALUE, 0,
			      FD_DATA);
	p[n++] = BPF_RAW_INSN(0, 0, 0, 0, 0);
	p[n++] = BPF_MOV64_REG(BPFI_REG_8, BPFI_REG_1);
	p[n++] = BPF_MOV64_REG(BPFI_REG_9, BPFI_REG_10);
	p[n++] = BPF_ALU64_IMM(BPF_ADD, BPFI_REG_9, -32);
	for (k = 0; k < FUZZ_LEN; k++) {
		uint64_t r = fuzz_rand(rs);
		uint8_t dst = scalars[r % 5], src = scalars[(r >> 4) % 5], pi = (r >> 8) % 4;
		uint8_t ptr = (uint8_t)(BPFI_REG_6 + pi), sz = sizes[(r >> 12) % 4];
		int32_t imm = imms[(r >> 16) % 16];
		int16_t off = (int16_t)((lo[pi] + (int)((r >> 20) % (uint64_t)span[pi])) &
					~(int)(fuzz_size(sz) - 1));
		uint8_t op = ops[(r >> 32) % 12];
		bool is64 = (r >> 36) % 2;

		switch ((r >> 40) % 15) {
		case 0:
		case 1:
			if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH)
				imm &= is64 ? 63 : 31;
			if ((op == BPF_DIV || op == BPF_MOD) && !imm)
				imm = 2;
			p[n++] = is64 ? BPF_ALU64_IMM(op, dst, imm) : BPF_ALU32_IMM(op, dst, imm);
			break;
		case 2:
			p[n++] = is64 ? BPF_ALU64_REG(op, dst, src) : BPF_ALU32_REG(op, dst, src);
			break;
		case 3:
		case 4:
			p[n++] = BPF_LDX_MEM(sz, dst, ptr, off);
			break;
		case 5:
			p[n++] = (r >> 44) % 2 ? BPF_ST_MEM(sz, ptr, off, imm)
					       : BPF_STX_MEM(sz, ptr, src, off);
			break;
		case 6:
			p[n++] = BPF_ALU64_REG((r >> 44) % 4 ? BPF_ADD : BPF_SUB, ptr, src);
			break;
		case 7:
			p[n++] = BPF_ALU64_IMM(BPF_AND, dst, imms[(r >> 44) % 11]);
			break;
		case 8:
		case 9:
			p[n++] = BPF_RAW_INSN(((r >> 44) % 2 ? BPF_JMP : BPF_JMP32) |
						      jmp_ops[(r >> 46) % sizeof(jmp_ops)] | BPF_K,
					      dst, 0, (int16_t)((r >> 52) % 5), imm);
			break;
		case 12: /* a pointer through the stack: spill, maybe clobber a byte, fill */
			p[n++] = BPF_STX_MEM(BPF_DW, BPFI_REG_10, ptr, -48);
			if ((r >> 44) % 4 == 0)
				p[n++] = BPF_ST_MEM(BPF_B, BPFI_REG_10, -48 + (int)((r >> 46) % 8),
						    1);
			p[n++] = BPF_LDX_MEM(BPF_DW, (uint8_t)(BPFI_REG_6 + (r >> 50) % 4),
					     BPFI_REG_10, -48);
			break;
		case 13: /* compare two scalars: both narrow */
			p[n++] = BPF_RAW_INSN(((r >> 44) % 2 ? BPF_JMP : BPF_JMP32) |
						      jmp_ops[(r >> 46) % sizeof(jmp_ops)] | BPF_X,
					      dst, src, (int16_t)((r >> 52) % 5), 0);
			break;
		case 14: /* a bounded scalar from the context */
			p[n++] = BPF_LDX_MEM(BPF_W, dst, BPFI_REG_8, 0);
			p[n++] = BPF_ALU64_IMM(BPF_AND, dst, imms[(r >> 44) % 11]);
			break;
		case 10: /* a counted loop: dst = 0; dst += 1; if dst < imm goto -2 */
			p[n++] = BPF_MOV64_IMM(dst, 0);
			p[n++] = BPF_ALU64_IMM(BPF_ADD, dst, 1);
			p[n++] = BPF_JMP_IMM(BPF_JLT, dst, imm & 15, -2);
			break;
		default: /* back to the start of its region */
			if (pi == 1) {
				p[n++] = BPF_RAW_INSN(BPF_LD | BPF_DW | BPF_IMM, ptr,
						      BPF_PSEUDO_MAP_VALUE, 0, FD_DATA);
				p[n++] = BPF_RAW_INSN(0, 0, 0, 0, imm & 31);
			} else {
				p[n++] = BPF_MOV64_REG(ptr, pi == 2 ? BPFI_REG_1 : BPFI_REG_10);
			}
			break;
		}
	}
	p[n++] = BPF_MOV64_IMM(BPFI_REG_0, 0);
	p[n++] = BPF_EXIT_INSN();
	/* Keep jumps inside the program and off second slots: the CFG pass is not the target. */
	for (k = 0; k < n; k++) {
		int64_t t;

		if (BPF_CLASS(p[k].code) != BPF_JMP && BPF_CLASS(p[k].code) != BPF_JMP32)
			continue;
		if (BPF_OP(p[k].code) == BPF_EXIT)
			continue;
		t = (int64_t)k + 1 + p[k].off;
		t = t < 0 ? 0 : t > (int64_t)n - 2 ? (int64_t)n - 2 : t;
		if (t && bpfi_insn_is_ldimm64(&p[t - 1]) && p[t].code == 0)
			t--;
		p[k].off = (int16_t)(t - (int64_t)k - 1);
	}
	return n;
}

/* The failing program, for a table entry (and its trace, to see what the check believed). */
static void fuzz_dump(const struct bpf_insn *p, uint32_t n)
{
	static char trace[1 << 20];
	uint32_t k;

	for (k = 0; k < n; k++)
		fprintf(stderr, "  BPF_RAW_INSN(0x%02x, %u, %u, %d, %d),\n", p[k].code,
			p[k].dst_reg, p[k].src_reg, p[k].off, p[k].imm);
	check_prog(p, n, 0, FUZZ_CTX_SIZE, trace, sizeof(trace), BPFI_LOG_TRACE);
	fputs(trace, stderr);
}

START_TEST(soundness_fuzz)
{
	struct bpf_insn prog[3 * FUZZ_LEN + 32];
	struct fuzz_vm *vm = malloc(sizeof(*vm));
	uint64_t rs = 0x9e3779b97f4a7c15ULL + (uint64_t)_i;
	int k, accepted = 0;
	char buf[512];

	ck_assert_ptr_nonnull(vm);
	for (k = 0; k < FUZZ_PROGS; k++) {
		uint32_t n = fuzz_gen(prog, &rs), run;
		int err = check_prog(prog, n, 0, FUZZ_CTX_SIZE, buf, sizeof(buf), 0);

		if (err == -EFAULT)
			ck_abort_msg("program %d: internal error: %s", k, buf);
		if (err) {
			if (getenv("FUZZ_VERBOSE"))
				fputs(buf, stderr);
			continue;
		}
		accepted++;
		for (run = 0; run < FUZZ_RUNS; run++) {
			const char *bad;
			size_t b;

			for (b = 0; b < sizeof(vm->ctx); b++)
				vm->ctx[b] = (uint8_t)fuzz_rand(&rs);
			for (b = 0; b < sizeof(vm->stack); b++)
				vm->stack[b] = (uint8_t)fuzz_rand(&rs);
			memset(vm->value, (int)(fuzz_rand(&rs) & 0xff), sizeof(vm->value));
			bad = fuzz_run(prog, n, vm);
			if (bad)
				fuzz_dump(prog, n);
			if (bad)
				ck_abort_msg("program %d (seed %d) accepted but: %s", k, _i, bad);
		}
		if (checked_run(prog, n, 0, FUZZ_CTX_SIZE, vm->ctx, FUZZ_CTX_SIZE, false, buf,
				sizeof(buf))) {
			fuzz_dump(prog, n);
			ck_abort_msg("program %d (seed %d) accepted, but the checked run says %s",
				     k, _i, buf);
		}
	}
	fprintf(stderr,
		"verifier: fuzz seed %d: %d of %d random programs accepted and ran safely\n", _i,
		accepted, FUZZ_PROGS);
	free(vm);
}
END_TEST

/*
 * The checked mode catches what the check wrongly accepts: with the check weakened (a map
 * value's upper bound skipped, a never written register let through) the programs load, and
 * the checked run names the instruction; so does a runtime that gives a context shorter than
 * the check allowed (a tracepoint record of 64 bytes where 2048 may be read: issue 11 B4).
 */
START_TEST(checked_mode_catches_false_accepts)
{
	const struct bpf_insn past_value[] = {
		BPF_LD_MAP_VALUE(BPFI_REG_1, FD_DATA, 0),
		BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_1, 32),
		BPF_EXIT_INSN(),
	};
	const struct bpf_insn uninit[] = {
		BPF_MOV64_REG(BPFI_REG_0, BPFI_REG_7),
		BPF_EXIT_INSN(),
	};
	const struct bpf_insn ctx_far[] = {
		BPF_LDX_MEM(BPF_DW, BPFI_REG_0, BPFI_REG_1, 1024),
		BPF_EXIT_INSN(),
	};
	uint8_t ctx[2048] = { 0 };
	char why[256];
	const char *bad;

	ck_assert_int_eq(check_prog(past_value, 4, BPF_PROG_TYPE_KPROBE, 0, why, sizeof(why), 0),
			 -EACCES);
	verifier__test_weaken = VERIFIER_WEAKEN_MAP_BOUND;
	ck_assert_int_eq(check_prog(past_value, 4, BPF_PROG_TYPE_KPROBE, 0, why, sizeof(why), 0),
			 0);
	bad = checked_run(past_value, 4, BPF_PROG_TYPE_KPROBE, 0, ctx, 168, false, why,
			  sizeof(why));
	ck_assert_msg(bad && strstr(bad, "insn 2: load of 8 bytes") &&
			      strstr(bad, "outside every live map_value region"),
		      "checked run: %s", bad ? bad : "(no violation)");

	verifier__test_weaken = VERIFIER_WEAKEN_REG_INIT;
	ck_assert_int_eq(check_prog(uninit, 2, BPF_PROG_TYPE_KPROBE, 0, why, sizeof(why), 0), 0);
	bad = checked_run(uninit, 2, BPF_PROG_TYPE_KPROBE, 0, ctx, 168, false, why, sizeof(why));
	ck_assert_msg(bad && !strcmp(bad, "insn 0: R7 read before it was written"),
		      "checked run: %s", bad ? bad : "(no violation)");
	verifier__test_weaken = 0;

	ck_assert_ptr_null(checked_run(ctx_far, 2, BPF_PROG_TYPE_TRACEPOINT, 0, ctx, 2048, false,
				       why, sizeof(why)));
	bad = checked_run(ctx_far, 2, BPF_PROG_TYPE_TRACEPOINT, 0, ctx, 64, false, why,
			  sizeof(why));
	ck_assert_msg(bad && strstr(bad, "insn 0: load of 8 bytes") &&
			      strstr(bad, "outside every live ctx region"),
		      "checked run: %s", bad ? bad : "(no violation)");
}
END_TEST

/*
 * The JIT's random programs leave random bits in fields RFC 9669 reserves and shift by
 * immediates out of range (the backends ignore the former and mask the latter, the check
 * refuses both): cleared and masked here, which changes no instruction's meaning.
 */
static void jit_fuzz_reserved_zero(struct bpf_insn *p, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		uint8_t cls = BPF_CLASS(p[k].code), op = BPF_OP(p[k].code);

		if (cls != BPF_ALU && cls != BPF_ALU64 && cls != BPF_JMP && cls != BPF_JMP32)
			continue;
		if ((cls == BPF_JMP || cls == BPF_JMP32) &&
		    (op == BPF_CALL || op == BPF_EXIT || op == BPF_JA))
			continue;
		if (op == BPF_END || op == BPF_NEG) {
			p[k].src_reg = 0;
			if (op == BPF_NEG)
				p[k].imm = 0;
			continue;
		}
		if (BPF_SRC(p[k].code) == BPF_X)
			p[k].imm = 0;
		else
			p[k].src_reg = 0;
		/* The backends mask shift amounts as the ISA says; the check wants them in range. */
		if ((cls == BPF_ALU || cls == BPF_ALU64) && BPF_SRC(p[k].code) == BPF_K &&
		    (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH))
			p[k].imm &= cls == BPF_ALU64 ? 63 : 31;
	}
}

/* The JIT's random programs (tests/jit_fuzz.c) that the check accepts, run checked. */
START_TEST(checked_jit_fuzz)
{
	struct bpf_insn prog[JIT_FUZZ_MAX_INSNS];
	uint8_t ctx[168] = { 0 };
	int accepted = 0;
	char why[256];

	for (uint64_t seed = 1; seed <= 1000; seed++) {
		uint32_t n = jit_fuzz_program(seed, prog);
		const char *bad;

		jit_fuzz_reserved_zero(prog, n);
		if (check_prog(prog, n, BPF_PROG_TYPE_KPROBE, 0, why, sizeof(why), 0))
			continue;
		accepted++;
		bad = checked_run(prog, n, BPF_PROG_TYPE_KPROBE, 0, ctx, sizeof(ctx), false, why,
				  sizeof(why));
		ck_assert_msg(!bad, "jit_fuzz program %llu: accepted, but the checked run says %s",
			      (unsigned long long)seed, bad);
	}
	fprintf(stderr, "verifier: %d of 1000 jit_fuzz programs accepted and ran checked\n",
		accepted);
}
END_TEST

/* ---- the conformance suite: every program through the check, counts as info ---- */

static bool conformance_helper(int32_t id, void *cookie)
{
	(void)cookie;
	return id == CONFORMANCE_UNWIND_HELPER;
}

START_TEST(conformance_programs)
{
	const char *dir = getenv("BPFI_CONFORMANCE_DIR");
	struct conformance_case *cases_c = NULL;
	int n = dir ? conformance_load(dir, &cases_c) : -ENOENT, k, accepted = 0;
	int by_err[4] = { 0 };
	char buf[1024];

	if (n < 0) {
		fprintf(stderr, "verifier: conformance suite not found (%d), skipped\n", n);
		return;
	}
	for (k = 0; k < n; k++) {
		struct conformance_case *c = &cases_c[k];
		struct bpfi_verifier_opts opts = {
			.sz = sizeof(opts),
			.prog_type = 0,
			/* r1 is the memory; with none the suite sets r1 = 0, which reads as a
			 * context of size 0 here. */
			.ctx_size = c->mem_len,
			.helper_known = conformance_helper,
		};
		struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
		int err;

		buf[0] = '\0';
		err = bpfi_verifier_check(c->insns, c->insn_cnt, &opts, &log);
		ck_assert_msg(err == 0 || err == -EACCES || err == -EINVAL || err == -E2BIG,
			      "%s: err %d: %s", c->name, err, buf);
		if (err) {
			ck_assert_msg(count_lines(buf) == 1 && !strncmp(buf, "insn ", 5),
				      "%s: not one 'insn N:' line: %s", c->name, buf);
			by_err[err == -EACCES ? 1 : err == -EINVAL ? 2 : 3]++;
		} else {
			uint8_t *mem = c->mem_len ? malloc(c->mem_len) : NULL;

			accepted++;
			if (mem)
				memcpy(mem, c->mem, c->mem_len);
			ck_assert_msg(!checked_run(c->insns, c->insn_cnt, 0, c->mem_len, mem,
						   c->mem_len, true, buf, sizeof(buf)),
				      "%s: accepted, but the checked run says %s", c->name, buf);
			free(mem);
		}
	}
	fprintf(stderr,
		"verifier: conformance programs: %d accepted, %d rejected (%d EACCES, %d EINVAL, "
		"%d E2BIG) of %d\n",
		accepted, n - accepted, by_err[1], by_err[2], by_err[3], n);
	conformance_free(cases_c, n);
}
END_TEST

Suite *verifier_suite(void);
Suite *verifier_suite(void)
{
	Suite *s = suite_create("verifier");
	TCase *tc = tcase_create("table");
	TCase *tb = tcase_create("bounds");
	TCase *tconf = tcase_create("conformance");

	tcase_add_loop_test(tc, run_case, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_loop_test(tc, spill_fill_widths, 0, SPILL_CASES);
	tcase_add_test(tc, tail_call_worst_case_accepted);
	tcase_add_test(tc, trace_level);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, reports_live_insns);
	tcase_add_test(tc, pruning_keeps_branches_linear);
	tcase_add_test(tc, too_many_pending_branches);
	tcase_add_test(tc, checked_mode_catches_false_accepts);
	tcase_add_test(tc, checked_jit_fuzz);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(tb, bounds_alu_sound, 0, 2 * (int)sizeof(alu_ops));
	tcase_add_loop_test(tb, bounds_branch_sound, 0, 2 * (int)sizeof(jmp_ops));
	tcase_add_loop_test(tb, soundness_fuzz, 0, FUZZ_SEEDS);
	tcase_set_timeout(tb, 60); /* the fuzz under the sanitizers */
	suite_add_tcase(s, tb);
	tcase_add_test(tconf, conformance_programs);
	suite_add_tcase(s, tconf);
	return s;
}
