// SPDX-License-Identifier: MIT
/*
 * Function frames and everything that crosses them: prologue/epilogue, exit, helper calls,
 * bpf-to-bpf calls, callx, tail calls and the conformance suite's "unwind" helper.
 *
 * Every eBPF function becomes a SysV x86-64 function with two entries:
 *   ext_off:  xor eax, eax      <- SysV callers (the program entry, bpf_loop callbacks)
 *   tail_off: push callee-saved registers it uses; mov r12d, eax (tail-call count);
 *             sub rsp, frame; lea rbp, [rsp + 512]
 * The tail-call entry ABI (bpfi_jit_image_tail_offset() of the main program): jump there
 * with the stack exactly as at a function entry (return address on top), rdi = ctx and
 * eax = the run's tail-call count so far. bpf-to-bpf calls use it too, passing their own count.
 */
#include <errno.h>
#include <stddef.h>

#include <bpfinject/helpers.h>

#include "jit_x86_internal.h"

/* Kernel helper id of bpf_tail_call(). */
#define BPFI_HELPER_TAIL_CALL 12

/* Push order of the callee-saved registers; the epilogue pops in reverse. */
static const uint8_t saved_regs[] = { RBP, RBX, R12, R13, R14, R15 };

void jit__emit_prologue(struct jit_state *st, struct jit_func *fn)
{
	fn->ext_off = st->off;
	jit__emit_mov_ri(st, false, RAX, 0);
	fn->tail_off = st->off;
	for (unsigned i = 0; i < sizeof(saved_regs); i++)
		if (fn->saved_mask & (1u << saved_regs[i]))
			jit__emit_push(st, saved_regs[i]);
	if (fn->uses_count)
		jit__emit_mov_rr(st, false, RAX, JIT_TCOUNT);
	if (fn->frame)
		jit__emit_alu_ri(st, true, 5, RSP, (int32_t)fn->frame);
	if (fn->saved_mask & (1u << RBP))
		jit__emit_op_mem(st, JIT_W, 0x8d, RBP, RSP, BPFI_STACK_SIZE);
	/* The main program starts with every register it reads other than r1/r2 at 0. */
	for (unsigned r = 0; r < MAX_BPF_REG; r++)
		if (fn->zero_mask & (1u << r))
			jit__emit_mov_ri(st, false, jit__reg(r), 0);
}

/* Tears the current frame down to the return address (no ret: exits and tail calls differ). */
static void emit_unwind_frame(struct jit_state *st)
{
	const struct jit_func *fn = st->cur;

	if (fn->frame)
		jit__emit_alu_ri(st, true, 0, RSP, (int32_t)fn->frame);
	for (unsigned i = sizeof(saved_regs); i-- > 0;)
		if (fn->saved_mask & (1u << saved_regs[i]))
			jit__emit_pop(st, saved_regs[i]);
}

void jit__translate_exit(struct jit_state *st, const struct bpf_insn *insn)
{
	emit_unwind_frame(st);
	if (st->unwind_flag) /* a normal return: the caller must not unwind */
		jit__emit_mov_ri(st, false, JIT_TMP, 0);
	jit__emit1(st, 0xc3);
}

/*
 * Return 0 from this frame with the unwind flag (R11 = 1) raised, so that every bpf-to-bpf
 * caller returns too (see emit_local_call()). Entered with rax = 0.
 */
static void emit_unwind_return(struct jit_state *st)
{
	emit_unwind_frame(st);
	if (st->unwind_flag)
		jit__emit_mov_ri(st, false, JIT_TMP, 1);
	jit__emit1(st, 0xc3);
}

/* After the unwind helper: returned 0 -> leave the whole program with r0 = 0. */
static void emit_unwind_check(struct jit_state *st)
{
	uint32_t cont;

	jit__emit_alu_rr(st, true, 0x85, RAX, RAX);
	cont = jit__emit_jump8(st, CC_NE);
	emit_unwind_return(st);
	jit__patch_jump8(st, cont);
}

/*
 * bpf_tail_call(ctx, map, index): if the run has tail calls left and the runtime resolves
 * (map, index) to a JIT'd program, drop this frame and jump to that program's tail-call entry
 * with ctx in rdi. Otherwise fall through, as the kernel does, with r0 = -ENOENT (what the
 * interpreter leaves there too).
 */
static void emit_tail_call(struct jit_state *st)
{
	uint32_t no_budget, no_entry, no_tail;

	if (!st->opts.tail_call_addr) {
		jit__emit_mov_ri(st, true, RAX, -ENOENT);
		return;
	}
	jit__emit_alu_ri(st, false, 7, JIT_TCOUNT, BPFI_MAX_TAIL_CALLS);
	no_budget = jit__emit_jump8(st, CC_AE);
	jit__emit_push(st, RDI); /* ctx, twice: rsp stays 16-byte aligned for the call */
	jit__emit_push(st, RDI);
	jit__emit_movabs(st, RDI, st->opts.env_addr); /* map and index are r2, r3: rsi, rdx */
	jit__emit_call_abs(st, st->opts.tail_call_addr);
	jit__emit_pop(st, RDI);
	jit__emit_pop(st, RDI);
	jit__emit_alu_rr(st, true, 0x85, RAX, RAX);
	no_entry = jit__emit_jump8(st, CC_E);
	jit__emit_op_mem(st, JIT_W, 0x8b, JIT_TMP, RAX,
			 offsetof(struct bpfi_prog_entry, tail_entry));
	jit__emit_alu_rr(st, true, 0x85, JIT_TMP, JIT_TMP);
	no_tail = jit__emit_jump8(st, CC_E);
	jit__emit_op_mem(st, 0, 0x8d, RAX, JIT_TCOUNT, 1); /* lea eax, [r12 + 1] */
	emit_unwind_frame(st);
	jit__emit_op_rr(st, 0, 0xff, 4, JIT_TMP); /* jmp r11 */
	jit__patch_jump8(st, no_budget);
	jit__patch_jump8(st, no_entry);
	jit__patch_jump8(st, no_tail);
	jit__emit_mov_ri(st, true, RAX, -ENOENT);
}

static void emit_helper_call(struct jit_state *st, int32_t id)
{
	if (id == BPFI_HELPER_TAIL_CALL) {
		emit_tail_call(st);
		return;
	}
	if (id < 0 || (uint32_t)id >= st->opts.nr_helpers || !st->opts.helper_addrs[id]) {
		jit__fail(st, -EINVAL, "call to unknown helper %d", id);
		return;
	}
	jit__emit_movabs(st, JIT_ENV, st->opts.env_addr);
	jit__emit_call_abs(st, st->opts.helper_addrs[id]);
	if (id == st->opts.unwind_helper_id)
		emit_unwind_check(st);
}

/* call subprogram: the callee inherits the tail-call count through eax (its tail entry). */
static void emit_local_call(struct jit_state *st, uint32_t target)
{
	uint32_t cont;

	if (st->cur->uses_count)
		jit__emit_mov_rr(st, false, JIT_TCOUNT, RAX);
	jit__emit1(st, 0xe8);
	jit__emit_rel32(st, JIT_PATCH_FUNC_TAIL, target);
	if (!st->unwind_flag)
		return;
	/* The callee unwound (R11 = 1, rax = 0): unwind this frame as well. */
	jit__emit_alu_rr(st, false, 0x85, JIT_TMP, JIT_TMP);
	cont = jit__emit_jump8(st, CC_E);
	emit_unwind_return(st);
	jit__patch_jump8(st, cont);
}

/*
 * callx into a subprogram: the register holds a BPF_PSEUDO_FUNC value, the native SysV entry
 * of one of our functions. Anything outside [image start, end of code) is rejected at run
 * time like an unknown helper id (jumps to @bad).
 */
static void emit_callx_local(struct jit_state *st, uint32_t *bad3, uint32_t *bad4)
{
	uint32_t cont;

	jit__emit_lea_rip(st, JIT_TMP2, JIT_PATCH_FUNC_EXT, 0);
	jit__emit_alu_rr(st, true, 0x39, JIT_TMP2, JIT_TMP); /* cmp r11, r10 */
	*bad3 = jit__emit_jump8(st, CC_B);
	jit__emit_lea_rip(st, JIT_TMP2, JIT_PATCH_TABLE, 0);
	jit__emit_alu_rr(st, true, 0x39, JIT_TMP2, JIT_TMP);
	*bad4 = jit__emit_jump8(st, CC_AE);
	jit__emit_op_rr(st, 0, 0xff, 2, JIT_TMP); /* call r11 */
	if (!st->unwind_flag)
		return;
	jit__emit_alu_rr(st, false, 0x85, JIT_TMP, JIT_TMP);
	cont = jit__emit_jump8(st, CC_E);
	emit_unwind_return(st);
	jit__patch_jump8(st, cont);
}

/*
 * callx (cpu v4, 0x8d): the register named by dst_reg holds a helper id, which indexes the
 * table of helper addresses placed after the code, or a subprogram address (as LLVM emits
 * for calls through function pointers). An id without a helper or an address outside the
 * code yields r0 = -EINVAL instead of a call (the load-time check cannot know the value).
 */
static void emit_callx(struct jit_state *st, const struct bpf_insn *insn)
{
	bool unwind = st->opts.unwind_helper_id >= 0;
	uint32_t local, bad2, bad3, bad4, ok1, ok2 = 0, ok3;

	jit__emit_mov_rr(st, true, jit__reg(insn->dst_reg), JIT_TMP);
	jit__emit_alu_ri(st, true, 7, JIT_TMP, (int32_t)st->opts.nr_helpers);
	local = jit__emit_jump8(st, CC_AE);
	jit__emit_lea_rip(st, JIT_TMP2, JIT_PATCH_TABLE, 0);
	jit__emit_bytes(st, "\x4f\x8b\x14\xda", 4); /* mov r10, [r10 + r11 * 8] */
	jit__emit_alu_rr(st, true, 0x85, JIT_TMP2, JIT_TMP2);
	bad2 = jit__emit_jump8(st, CC_E);
	if (unwind) { /* keep the id (twice: alignment) to test it against the unwind id */
		jit__emit_push(st, JIT_TMP);
		jit__emit_push(st, JIT_TMP);
	}
	jit__emit_movabs(st, JIT_ENV, st->opts.env_addr);
	jit__emit_op_rr(st, 0, 0xff, 2, JIT_TMP2); /* call r10 */
	if (unwind) {
		jit__emit_pop(st, JIT_TMP);
		jit__emit_pop(st, JIT_TMP);
		jit__emit_alu_ri(st, true, 7, JIT_TMP, st->opts.unwind_helper_id);
		ok2 = jit__emit_jump8(st, CC_NE);
		emit_unwind_check(st);
	}
	ok1 = jit__emit_jump8(st, CC_ALWAYS);
	jit__patch_jump8(st, local);
	emit_callx_local(st, &bad3, &bad4);
	ok3 = jit__emit_jump8(st, CC_ALWAYS);
	jit__patch_jump8(st, bad2);
	jit__patch_jump8(st, bad3);
	jit__patch_jump8(st, bad4);
	jit__emit_mov_ri(st, true, RAX, -EINVAL);
	jit__patch_jump8(st, ok1);
	jit__patch_jump8(st, ok3);
	if (unwind)
		jit__patch_jump8(st, ok2);
}

/* BPF_JMP | BPF_CALL: helper (src 0), bpf-to-bpf (src 1), callx (BPF_X). */
void jit__translate_call(struct jit_state *st, const struct bpf_insn *insn)
{
	if (BPF_SRC(insn->code) == BPF_X) {
		emit_callx(st, insn);
		return;
	}
	switch (insn->src_reg) {
	case 0:
		emit_helper_call(st, insn->imm);
		break;
	case BPF_PSEUDO_CALL:
		emit_local_call(st, st->idx + 1 + insn->imm);
		break;
	case BPF_PSEUDO_KFUNC_CALL:
		jit__fail(st, -ENOTSUP, "kfunc calls are not supported");
		break;
	default:
		jit__fail(st, -EINVAL, "invalid call source %d", insn->src_reg);
	}
}
