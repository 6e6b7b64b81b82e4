/* SPDX-License-Identifier: MIT */
/* eBPF instruction builders for the backend tests, and the random program generator. */
#ifndef BPFI_TESTS_JIT_FUZZ_H
#define BPFI_TESTS_JIT_FUZZ_H

#include <stdint.h>

#include <bpfinject/insn.h>

/* Instruction builders, in the spirit of the kernel's filter.h. */
#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV64_IMM(d, i)	     INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV64_REG(d, s)	     INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ALU64_IMM(op, d, i)  INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define ALU64_REG(op, d, s)  INSN(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define ALU32_IMM(op, d, i)  INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define ALU32_REG(op, d, s)  INSN(BPF_ALU | (op) | BPF_X, d, s, 0, 0)
#define SDIV64_REG(op, d, s) INSN(BPF_ALU64 | (op) | BPF_X, d, s, 1, 0)
#define SDIV32_REG(op, d, s) INSN(BPF_ALU | (op) | BPF_X, d, s, 1, 0)
#define LD_IMM64(d, v)                                                    \
	INSN(BPF_LD | BPF_DW | BPF_IMM, d, 0, 0, (int32_t)(uint32_t)(v)), \
		INSN(0, 0, 0, 0, (int32_t)((uint64_t)(v) >> 32))
#define LD_FUNC(d, off) \
	INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_FUNC, 0, off), INSN(0, 0, 0, 0, 0)
#define LDX(sz, d, s, o)	INSN(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define STX(sz, d, s, o)	INSN(BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define ST_IMM(sz, d, o, i)	INSN(BPF_ST | BPF_MEM | (sz), d, 0, o, i)
#define ATOMIC(sz, d, s, o, op) INSN(BPF_STX | BPF_ATOMIC | (sz), d, s, o, op)
#define JMP_IMM(op, d, i, o)	INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define JA(o)			INSN(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define CALL_HELPER(id)		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, id)
#define CALL_LOCAL(o)		INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, o)
#define CALLX(d)		INSN(BPF_JMP | BPF_CALL | BPF_X, d, 0, 0, 0)
#define EXIT			INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Longest program jit_fuzz_program() builds. */
#define JIT_FUZZ_MAX_INSNS 200

/*
 * Builds random program @seed into @insns (JIT_FUZZ_MAX_INSNS slots): r0..r9 and eight stack
 * words start random, 96 random instructions follow (jumps only forward, so it terminates),
 * then r0 becomes a checksum of r0..r9 and the stack. Returns the instruction count.
 */
uint32_t jit_fuzz_program(uint64_t seed, struct bpf_insn *insns);

#endif
