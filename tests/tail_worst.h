/* SPDX-License-Identifier: MIT */
/*
 * The deepest stack tail calls can build in a program the check accepts (issue 11 A2), for
 * the verifier, interpreter and JIT tests: the main program calls a subprogram that tail-calls
 * the program itself, so each of the BPFI_MAX_TAIL_CALLS tail calls leaves one main frame
 * behind; when the budget is spent the subprogram goes on down a chain to the eighth frame.
 * Every function uses its stack and r6-r9, so the JIT gives each its largest frame.
 *
 * The results go to a u64[3] (an ld_imm64 of @data): [0] counts the subprogram's runs
 * (1 + BPFI_MAX_TAIL_CALLS), [1] gets r10 of the deepest frame, [2] r10 of the first main
 * frame (with the JIT, frame pointers: their distance is the stack the whole chain took).
 */
#ifndef BPFINJECT_TESTS_TAIL_WORST_H
#define BPFINJECT_TESTS_TAIL_WORST_H

#include <stdint.h>

#include <bpfinject/insn.h>

/* Functions after the main program and its tail-calling subprogram. */
#define TAIL_WORST_CHAIN (BPFI_MAX_CALL_FRAMES - 2)
#define TAIL_WORST_INSNS (30 + 9 * TAIL_WORST_CHAIN)

#define TW_INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/* Uses the stack and r6-r9 (r6 = ctx, r7 = the results): 6 insns. */
static inline uint32_t tail_worst_frame(struct bpf_insn *p, uint8_t src, uint64_t v)
{
	p[0] = TW_INSN(BPF_ST | BPF_MEM | BPF_DW, BPFI_REG_10, 0, -8, 0);
	p[1] = TW_INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_6, BPFI_REG_1, 0, 0);
	p[2] = TW_INSN(BPF_LD | BPF_DW | BPF_IMM, BPFI_REG_7, src, 0, (int32_t)(uint32_t)v);
	p[3] = TW_INSN(0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
	p[4] = TW_INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPFI_REG_8, 0, 0, 0);
	p[5] = TW_INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPFI_REG_9, 0, 0, 0);
	return 6;
}

/*
 * Writes the program to @p (TAIL_WORST_INSNS): the PROG_ARRAY and the results come from
 * ld_imm64s of @map and @data with sources @map_src and @data_src (0 for addresses); slot 0
 * of the PROG_ARRAY must hold the program itself.
 */
static inline uint32_t tail_worst_build(struct bpf_insn *p, uint8_t map_src, uint64_t map,
					uint8_t data_src, uint64_t data)
{
	uint32_t n = 0, k;

	/* main: records its r10 once, calls the subprogram */
	n += tail_worst_frame(p + n, data_src, data);
	p[n++] = TW_INSN(BPF_LDX | BPF_MEM | BPF_DW, BPFI_REG_0, BPFI_REG_7, 16, 0);
	p[n++] = TW_INSN(BPF_JMP | BPF_JNE | BPF_K, BPFI_REG_0, 0, 1, 0);
	p[n++] = TW_INSN(BPF_STX | BPF_MEM | BPF_DW, BPFI_REG_7, BPFI_REG_10, 16, 0);
	p[n++] = TW_INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_1, BPFI_REG_6, 0, 0);
	p[n++] = TW_INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 1);
	p[n++] = TW_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	/* subprogram: counts its run, tail-calls slot 0, then goes down the chain */
	n += tail_worst_frame(p + n, data_src, data);
	p[n++] = TW_INSN(BPF_LDX | BPF_MEM | BPF_DW, BPFI_REG_0, BPFI_REG_7, 0, 0);
	p[n++] = TW_INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPFI_REG_0, 0, 0, 1);
	p[n++] = TW_INSN(BPF_STX | BPF_MEM | BPF_DW, BPFI_REG_7, BPFI_REG_0, 0, 0);
	p[n++] = TW_INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_1, BPFI_REG_6, 0, 0);
	p[n++] = TW_INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPFI_REG_3, 0, 0, 0);
	p[n++] = TW_INSN(BPF_LD | BPF_DW | BPF_IMM, BPFI_REG_2, map_src, 0, (int32_t)(uint32_t)map);
	p[n++] = TW_INSN(0, 0, 0, 0, (int32_t)(uint32_t)(map >> 32));
	p[n++] = TW_INSN(BPF_JMP | BPF_CALL, 0, 0, 0, 12 /* tail_call */);
	p[n++] = TW_INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_1, BPFI_REG_6, 0, 0);
	p[n++] = TW_INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 1);
	p[n++] = TW_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	/* the chain: each calls the next; the last records its r10 */
	for (k = 0; k < TAIL_WORST_CHAIN; k++) {
		n += tail_worst_frame(p + n, data_src, data);
		p[n++] = TW_INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_1, BPFI_REG_6, 0, 0);
		if (k + 1 < TAIL_WORST_CHAIN)
			p[n++] = TW_INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 1);
		else
			p[n++] = TW_INSN(BPF_STX | BPF_MEM | BPF_DW, BPFI_REG_7, BPFI_REG_10, 8, 0);
		if (k + 1 == TAIL_WORST_CHAIN)
			p[n++] = TW_INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPFI_REG_0, 0, 0, 0);
		p[n++] = TW_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	return n;
}

#endif
