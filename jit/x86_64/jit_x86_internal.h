/* SPDX-License-Identifier: MIT */
/*
 * Internals of the x86-64 JIT: the emitter state, the encoders (emit.c) and the per-class
 * translators (translate_*.c) that jit.c drives one eBPF instruction at a time.
 */
#ifndef BPFINJECT_JIT_X86_INTERNAL_H
#define BPFINJECT_JIT_X86_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <bpfinject/common.h>
#include <bpfinject/insn.h>
#include <bpfinject/jit.h>

/* x86-64 register numbers as the encodings use them (bit 3 goes into REX). */
enum x86_reg {
	RAX = 0,
	RCX = 1,
	RDX = 2,
	RBX = 3,
	RSP = 4,
	RBP = 5,
	RSI = 6,
	RDI = 7,
	R8 = 8,
	R9 = 9,
	R10 = 10,
	R11 = 11,
	R12 = 12,
	R13 = 13,
	R14 = 14,
	R15 = 15,
};

/*
 * Scratch registers. None of them holds an eBPF register, all are caller-saved except R12:
 *   R9   the environment, loaded right before every helper call (the sixth SysV argument);
 *        otherwise a scratch register (saved r0 in div/mod, address copy in atomics)
 *   R10  scratch (saved r3 in div/mod, the helper address for callx)
 *   R11  scratch (divisor, shifted r4, helper address); after a bpf-to-bpf call it is the
 *        "unwind" flag when the program uses the conformance unwind helper
 *   R12  tail-call count of the run (callee-saved, so helper calls keep it; subprograms
 *        inherit it)
 */
#define JIT_ENV	   R9
#define JIT_TMP2   R10
#define JIT_TMP	   R11
#define JIT_TCOUNT R12

/* Condition codes: the low nibble of Jcc (0x70+cc rel8, 0x0f 0x80+cc rel32). */
enum x86_cc {
	CC_B = 0x2,
	CC_AE = 0x3,
	CC_E = 0x4,
	CC_NE = 0x5,
	CC_BE = 0x6,
	CC_A = 0x7,
	CC_L = 0xc,
	CC_GE = 0xd,
	CC_LE = 0xe,
	CC_G = 0xf,
	CC_ALWAYS = 0x10, /* not an x86 code: an unconditional jmp */
};

/* Encoding flags for jit__emit_op_rr() / jit__emit_op_mem(). */
#define JIT_W	 0x1 /* REX.W: 64-bit operand */
#define JIT_66	 0x2 /* 0x66 prefix: 16-bit operand */
#define JIT_BYTE 0x4 /* byte operand: force a REX so that 4..7 mean spl/bpl/sil/dil */
#define JIT_LOCK 0x8 /* 0xf0 lock prefix */

/* What a 32-bit PC-relative field is resolved against once everything is emitted. */
enum jit_patch_kind {
	JIT_PATCH_INSN, /* native offset of eBPF instruction @target */
	JIT_PATCH_INSN8, /* the same, into a rel8 field (a short forward jump) */
	JIT_PATCH_FUNC_TAIL, /* internal (tail-call) entry of the function starting at @target */
	JIT_PATCH_FUNC_EXT, /* external (SysV) entry of the function starting at @target */
	JIT_PATCH_TABLE, /* the callx helper table after the code */
};

struct jit_patch {
	uint32_t at; /* offset of the rel32 field; the displacement counts from at + 4 */
	uint32_t target;
	enum jit_patch_kind kind;
};

/*
 * One eBPF function (the main program or a subprogram) and its native frame. The stack
 * layout, from the return address down:
 *
 *   [ret][pushed callee-saved regs (saved_mask)][pad 0/8][eBPF stack 512 or 0] <- rsp
 *                                                         ^ rbp = eBPF r10 = rsp + 512
 *
 * so that rsp is 16-byte aligned in the body, as SysV requires at every helper call.
 */
struct jit_func {
	uint32_t start, end; /* eBPF instructions [start, end) */
	uint32_t ext_off; /* SysV entry: xor eax,eax (tail-call count 0), falls into... */
	uint32_t tail_off; /* ...the tail-call entry: eax = tail-call count */
	uint16_t saved_mask; /* x86 callee-saved registers this function pushes */
	uint32_t frame; /* bytes below the pushes: eBPF stack + alignment */
	bool uses_count; /* keeps the tail-call count in R12 (tail calls, local calls) */
	uint16_t zero_mask; /* eBPF registers zeroed at entry (main program only) */
};

struct jit_state {
	uint8_t *buf;
	uint32_t off, cap;
	int err; /* first error wins; every encoder is a no-op once it is set */

	const struct bpf_insn *insns;
	uint32_t insn_cnt;
	uint32_t idx; /* instruction being translated, for messages */
	struct bpfi_jit_opts opts;
	struct bpfi_log *log;

	uint32_t *pc_locs; /* native offset of each instruction */
	/*
	 * The previous pass's pc_locs and end offsets (NULL in the first pass). Code only shrinks
	 * from one pass to the next, so a forward jump that fit rel8 then fits now.
	 */
	uint32_t *prev_locs, *prev_ends, *ends;
	uint8_t *flags; /* JIT_INSN_* per instruction */
	uint32_t *func_of; /* function index of each instruction */
	struct jit_func *funcs;
	uint32_t nr_funcs;
	const struct jit_func *cur;

	struct jit_patch *patches;
	uint32_t nr_patches, cap_patches;

	bool unwind_flag; /* propagate the unwind helper through bpf-to-bpf calls (R11) */
	bool has_callx;
	uint32_t table_off; /* callx table: opts.nr_helpers absolute addresses */
};

#define JIT_INSN_LDIMM_HI 0x1 /* second slot of an ld_imm64 */
#define JIT_INSN_FUNC	  0x2 /* first instruction of a function */

/*
 * The eBPF -> x86-64 register map. r1..r5 are the SysV argument registers in order, so a
 * helper call needs no shuffling and a helper's r0 arrives in rax. r6..r9 and r10 (the frame
 * pointer) live in callee-saved registers, so helpers and subprograms keep them for free and
 * no eBPF register is ever spilled. rsp, r9..r12 stay out of the map (see JIT_* above).
 */
static inline uint8_t jit__reg(unsigned bpf_reg)
{
	static const uint8_t map[MAX_BPF_REG] = {
		RAX, /* r0: return value */
		RDI, /* r1: SysV argument 1 */
		RSI, /* r2: argument 2 */
		RDX, /* r3: argument 3 */
		RCX, /* r4: argument 4 (also the shift count register cl) */
		R8, /* r5: argument 5 */
		RBX, /* r6: callee-saved */
		R13, /* r7: callee-saved */
		R14, /* r8: callee-saved */
		R15, /* r9: callee-saved */
		RBP, /* r10: frame pointer, callee-saved */
	};

	return map[bpf_reg];
}

/* emit.c */
void jit__fail(struct jit_state *st, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void jit__emit_bytes(struct jit_state *st, const void *data, uint32_t len);
void jit__emit1(struct jit_state *st, uint8_t b);
void jit__emit4(struct jit_state *st, uint32_t v);
void jit__emit8(struct jit_state *st, uint64_t v);
void jit__emit_rex(struct jit_state *st, int w, int r, int x, int b);
void jit__emit_modrm(struct jit_state *st, int mod, int reg, int rm);
void jit__emit_modrm_mem(struct jit_state *st, int reg, int base, int32_t disp);
void jit__emit_op_rr(struct jit_state *st, unsigned flags, uint32_t op, int reg, int rm);
void jit__emit_op_mem(struct jit_state *st, unsigned flags, uint32_t op, int reg, int base,
		      int32_t disp);
void jit__emit_mov_rr(struct jit_state *st, bool w, int src, int dst);
void jit__emit_mov_ri(struct jit_state *st, bool w, int dst, int64_t imm);
void jit__emit_movabs(struct jit_state *st, int dst, uint64_t imm);
void jit__emit_alu_rr(struct jit_state *st, bool w, uint8_t op, int src, int dst);
void jit__emit_alu_ri(struct jit_state *st, bool w, int ext, int dst, int32_t imm);
void jit__emit_unary(struct jit_state *st, bool w, int ext, int rm);
void jit__emit_shift_ri(struct jit_state *st, bool w, int ext, int dst, uint8_t imm);
void jit__emit_push(struct jit_state *st, int reg);
void jit__emit_pop(struct jit_state *st, int reg);
void jit__emit_bswap(struct jit_state *st, bool w, int reg);
void jit__emit_load(struct jit_state *st, int size, bool sx, int dst, int base, int32_t off);
void jit__emit_store_reg(struct jit_state *st, int size, int src, int base, int32_t off);
void jit__emit_store_imm(struct jit_state *st, int size, int base, int32_t off, int32_t imm);
void jit__emit_call_abs(struct jit_state *st, uint64_t addr);
void jit__emit_rel32(struct jit_state *st, enum jit_patch_kind kind, uint32_t target);
void jit__emit_jump(struct jit_state *st, int cc, uint32_t target_insn);
uint32_t jit__emit_jump8(struct jit_state *st, int cc);
void jit__patch_jump8(struct jit_state *st, uint32_t at);
void jit__emit_lea_rip(struct jit_state *st, int dst, enum jit_patch_kind kind, uint32_t target);

/* translate_alu.c */
void jit__translate_alu(struct jit_state *st, const struct bpf_insn *insn);

/* translate_jmp.c */
void jit__translate_jmp(struct jit_state *st, const struct bpf_insn *insn);

/* translate_mem.c */
void jit__translate_ld(struct jit_state *st, const struct bpf_insn *insn);
void jit__translate_ldx(struct jit_state *st, const struct bpf_insn *insn);
void jit__translate_st(struct jit_state *st, const struct bpf_insn *insn);

/* translate_call.c */
void jit__emit_prologue(struct jit_state *st, struct jit_func *fn);
void jit__translate_exit(struct jit_state *st, const struct bpf_insn *insn);
void jit__translate_call(struct jit_state *st, const struct bpf_insn *insn);

#endif
