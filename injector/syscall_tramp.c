// SPDX-License-Identifier: MIT
/*
 * Per-site trampolines of syscall tracepoints (DESIGN.md D5). A site's window (whole
 * instructions ending with its `syscall`) becomes `jmp trampoline`; the trampoline
 *
 *   1. runs the displaced instructions before the `syscall` (they set %eax and the
 *      arguments, so the number comes from %rax at run time whether it is constant or not),
 *   2. steps below the red zone, saves every general register and the flags, builds a
 *      tracefs-layout sys_enter record (nr, rdi, rsi, rdx, r10, r8, r9) and calls
 *      enter(rec, cookie) on a 16-byte aligned stack,
 *   3. non-zero (bpf_override_return): the syscall does not run and %rax = rec->override_ret
 *      (the exit record still reports it, as the kernel's sys_exit does after an injected
 *      error); else every register is reloaded and the real `syscall` runs,
 *   4. saves the registers again, builds a sys_exit record (nr, ret = %rax), calls
 *      exit(rec, cookie), reloads them and jumps back behind the window.
 *
 * What the site's code sees afterwards is what the kernel's `syscall` leaves (issue 11):
 * %rax the result, %rcx the address after the site's `syscall`, %r11 the flags it was made
 * with, every other register and the flags as they were.
 *
 * The records' common header is left zero: the dispatcher fills common_type (the event id)
 * and common_pid. It must not change rec->nr, which the exit record reuses. Dispatchers run
 * with DF clear (cld) and the site's flags come back afterwards.
 *
 * Where the `syscall` runs: with a constant number, at the original stack pointer and with
 * nothing of ours kept across it; the exit record takes the number as an immediate. That is
 * what rt_sigreturn (reads its frame at %rsp), clone/clone3 (the child returns here on a new
 * stack) and vfork (the child overwrites the parent's stack below %rsp) need. With a number
 * known only at run time, those four are dispatched to such a block each; any other runs
 * with %rsp still below our frame, so that the frame, and the number in it, survive signal
 * handlers that run during the call. Only general registers are saved: the stub, helpers and
 * JIT'd programs are built with -mgeneral-regs-only.
 */
#include <Zydis/Zydis.h>
#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "injector_internal.h"
#include "tramp_emit.h"

/* Our frame, from the lowered %rsp: the registers and flags (disp8 reach), the record. */
enum {
	F_SAVE = 0, /* 15 registers */
	F_FLAGS = 120,
	F_REC = 128,
	F_OVERRIDE = F_REC + 64,
	FRAME = F_REC + 80,
	LOWER = 128 + FRAME, /* the red zone stays untouched */
};

/* x86 register numbers (rsp excluded), each with its save slot. */
static const uint8_t gprs[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

static uint32_t save_slot(uint8_t reg)
{
	return F_SAVE + 8u * (reg < 4 ? reg : reg - 1u);
}

/* The numbers a site with a run-time number must run at the original %rsp. */
static const int32_t orig_sp_nrs[] = { 15 /* rt_sigreturn */, 56 /* clone */, 58 /* vfork */,
				       435 /* clone3 */ };

/* lea rsp, [rsp + delta] (keeps the flags) */
static void move_sp(struct tbuf *b, int32_t delta)
{
	put(b, "\x48\x8d\xa4\x24", 4);
	put4(b, (uint32_t)delta);
}

/* jcc/jmp rel32 with its displacement filled in later by fix(). @return where it goes */
static size_t jump_fwd(struct tbuf *b, const char *op, size_t oplen)
{
	put(b, op, oplen);
	put4(b, 0);
	return b->len - 4;
}

static void fix(struct tbuf *b, size_t at)
{
	int32_t rel = (int32_t)((int64_t)b->len - (int64_t)(at + 4));

	if (!b->err)
		memcpy(b->p + at, &rel, 4);
}

/* Lowers %rsp below the red zone and saves every register and the flags. */
static void save_all(struct tbuf *b)
{
	move_sp(b, -LOWER);
	for (size_t i = 0; i < sizeof(gprs); i++)
		mov_rsp(b, gprs[i], save_slot(gprs[i]), false);
	put(b, "\x9c\x58", 2); /* pushfq; pop rax */
	mov_rsp(b, 0, F_FLAGS, false);
	mov_rsp_imm(b, F_REC, 0); /* common header: the dispatcher fills type and pid */
}

/* Reloads the flags and every register; %rsp stays lowered. */
static void restore_all(struct tbuf *b)
{
	mov_rsp(b, 0, F_FLAGS, true);
	put(b, "\x50\x9d", 2); /* push rax; popfq (below the frame: free stack) */
	for (size_t i = 0; i < sizeof(gprs); i++)
		mov_rsp(b, gprs[i], save_slot(gprs[i]), true);
}

/* dispatch(rsp + F_REC, cookie) on an aligned stack; rbx (saved) keeps %rsp. */
static void call_dispatch(struct tbuf *b, uint64_t fn, uint64_t cookie)
{
	put(b, "\x48\x8d\xbc\x24", 4); /* lea rdi, [rsp + F_REC] */
	put4(b, F_REC);
	movabs(b, 6, cookie);
	put(b, "\x48\x89\xe3", 3); /* mov rbx, rsp */
	put(b, "\x48\x83\xe4\xf0", 4); /* and rsp, -16 */
	put1(b, 0xfc); /* cld: the C ABI wants DF clear; the site's flags come back after */
	movabs(b, 0, fn);
	put(b, "\xff\xd0", 2); /* call rax */
	put(b, "\x48\x89\xdc", 3); /* mov rsp, rbx */
}

/* jmp @target from the end of the code so far (rel32, else through an 8-byte address). */
static void jump_to(struct tbuf *b, uint64_t here, uint64_t target)
{
	int64_t rel = (int64_t)(target - (here + 5));

	if (rel == (int32_t)rel) {
		put1(b, 0xe9);
		put4(b, (uint32_t)(int32_t)rel);
		return;
	}
	put(b, "\xff\x25\0\0\0\0", 6);
	put(b, &target, 8);
}

/*
 * The `syscall` itself: in place, or with the catch-all on, by a gadget in the range Syscall
 * User Dispatch lets through (catch_all.c), reached and left with indirect jumps that touch
 * neither the stack nor a register.
 */
static void emit_syscall(struct tbuf *b, const struct bpfi_sctramp_opts *o)
{
	uint64_t gadget = 0;

	if (!o->via_gadgets) {
		put(b, "\x0f\x05", 2);
		return;
	}
	if (o->gadget) {
		gadget = o->gadget(o->gadget_ctx, o->tramp_addr + b->len + 14);
		if (!gadget && !b->err)
			b->err = -ENOSPC;
	}
	put(b, "\xff\x25\0\0\0\0", 6); /* jmp [rip + 0] */
	put(b, &gadget, 8);
}

/*
 * After the `syscall` (or an override): %rsp is lowered by LOWER, the record's number is in
 * place, %rax is the result, %r11 the flags the call was made with (the kernel's). The
 * sys_exit record, exit(), then back to the site with %rcx as the kernel leaves it there:
 * the address after the site's `syscall` (ours ran elsewhere, here or in a gadget).
 */
static void emit_exit(struct tbuf *b, const struct bpfi_sctramp_opts *o)
{
	for (size_t i = 0; i < sizeof(gprs); i++)
		mov_rsp(b, gprs[i], save_slot(gprs[i]), false);
	mov_rsp(b, 0, F_REC + BPFI_SYSCALL_RET_OFF, false); /* ret = rax */
	put(b, "\x9c\x58", 2); /* pushfq; pop rax */
	mov_rsp(b, 0, F_FLAGS, false);
	mov_rsp_imm(b, F_REC, 0);
	call_dispatch(b, o->exit_dispatch, o->cookie);
	restore_all(b);
	movabs(b, 1, o->site->win_addr + o->site->win_len); /* mov rcx, return address */
	move_sp(b, LOWER);
	jump_to(b, o->tramp_addr + b->len, o->site->win_addr + o->site->win_len);
}

/*
 * The `syscall` at the original %rsp (nothing of ours is kept across it), then back below the
 * red zone with the number @nr put in the record. Falls through, or jumps to @exit_at (>= 0).
 */
static void emit_orig_sp_syscall(struct tbuf *b, const struct bpfi_sctramp_opts *o, int32_t nr,
				 ssize_t exit_at)
{
	restore_all(b);
	move_sp(b, LOWER);
	emit_syscall(b, o);
	move_sp(b, -LOWER);
	mov_rsp_imm(b, F_REC + 8, nr);
	if (exit_at >= 0) {
		put1(b, 0xe9);
		put4(b, (uint32_t)(int32_t)(exit_at - (ssize_t)(b->len + 4)));
	}
}

/* Copies the instructions before the `syscall` to @at, re-encoding RIP-relative operands
 * and conditional branches (as relocate.c does for function entries). */
static int relocate_pre(struct tbuf *b, const struct bpfi_sctramp_opts *o, uint64_t at,
			struct bpfi_log *log)
{
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	const struct bpfi_syscall_site *site = o->site;
	ZydisDecodedInstruction insn;
	ZydisDecoder dec;
	size_t off;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	for (off = 0; off + 2 < site->win_len; off += insn.length) {
		ZydisEncoderRequest req;
		uint8_t enc[ZYDIS_MAX_INSTRUCTION_LENGTH];
		ZyanUSize len = sizeof(enc);
		bool rip = false;

		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, o->window + off, site->win_len - off,
							 &insn, ops)))
			break;
		for (unsigned int i = 0; i < insn.operand_count_visible; i++)
			rip |= ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
			       ops[i].mem.base == ZYDIS_REGISTER_RIP;
		if (!rip && !(insn.attributes & ZYDIS_ATTRIB_IS_RELATIVE)) {
			put(b, o->window + off, insn.length);
			continue;
		}
		if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(
			    &insn, ops, insn.operand_count_visible, &req)))
			break;
		for (unsigned int i = 0; i < insn.operand_count_visible; i++) {
			ZyanU64 abs;
			bool mem = ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
				   ops[i].mem.base == ZYDIS_REGISTER_RIP;
			bool rel = ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
				   ops[i].imm.is_relative;

			if ((!mem && !rel) || !ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(
						      &insn, &ops[i], site->win_addr + off, &abs)))
				continue;
			if (mem)
				req.operands[i].mem.displacement = (ZyanI64)abs;
			else
				req.operands[i].imm.u = abs; /* a jcc: to the same target, rel32 */
		}
		req.branch_type = ZYDIS_BRANCH_TYPE_NONE;
		req.branch_width = ZYDIS_BRANCH_WIDTH_NONE;
		if (!ZYAN_SUCCESS(
			    ZydisEncoderEncodeInstructionAbsolute(&req, enc, &len, at + b->len)))
			return bpfi_log_err(
				log, -ERANGE,
				"syscall site 0x%llx: the instruction at +%zu cannot reach its operand from 0x%llx",
				(unsigned long long)site->addr, off,
				(unsigned long long)(at + b->len));
		put(b, enc, len);
	}
	if (off + 2 != site->win_len || memcmp(o->window + off, "\x0f\x05", 2))
		return bpfi_log_err(
			log, -EINVAL,
			"syscall site 0x%llx: the window at 0x%llx does not end with it",
			(unsigned long long)site->addr, (unsigned long long)site->win_addr);
	return 0;
}

/* The enter record: rax (the number) and the six argument registers, then enter(). */
static void emit_enter(struct tbuf *b, const struct bpfi_sctramp_opts *o)
{
	static const uint8_t args[] = { 7, 6, 2, 10, 8, 9 }; /* rdi rsi rdx r10 r8 r9 */

	save_all(b);
	mov_rsp(b, 0, save_slot(0), true);
	mov_rsp(b, 0, F_REC + 8, false);
	for (size_t i = 0; i < sizeof(args); i++)
		mov_rsp(b, args[i], F_REC + BPFI_SYSCALL_ARGS_OFF + 8 * (uint32_t)i, false);
	call_dispatch(b, o->enter_dispatch, o->cookie);
}

int bpfi_sctramp_build(const struct bpfi_sctramp_opts *o, uint8_t *out, size_t size,
		       size_t *ret_len, struct bpfi_log *log)
{
	size_t nr_special = sizeof(orig_sp_nrs) / sizeof(orig_sp_nrs[0]);
	size_t to_override, to_exit, to_special[sizeof(orig_sp_nrs) / sizeof(orig_sp_nrs[0])];
	struct tbuf b = { .p = out, .size = size };
	size_t exit_at;
	int err;

	if (!o->site->rewritable || o->site->win_len < BPFI_PATCH_LEN)
		return bpfi_log_err(log, -EINVAL, "syscall site 0x%llx cannot be rewritten: %s",
				    (unsigned long long)o->site->addr,
				    o->site->reason ? o->site->reason : "no window");
	err = relocate_pre(&b, o, o->tramp_addr, log);
	if (err)
		return err;
	emit_enter(&b, o);
	put(&b, "\x48\x85\xc0", 3); /* test rax, rax */
	to_override = jump_fwd(&b, "\x0f\x85", 2); /* jnz */
	if (o->site->nr >= 0) {
		emit_orig_sp_syscall(&b, o, o->site->nr, -1);
		exit_at = b.len;
		emit_exit(&b, o);
	} else {
		for (size_t i = 0; i < nr_special; i++) {
			put(&b, "\x48\x81\x7c\x24", 4); /* cmp qword [rsp+slot(rax)], imm32 */
			put1(&b, (uint8_t)save_slot(0));
			put4(&b, (uint32_t)orig_sp_nrs[i]);
			to_special[i] = jump_fwd(&b, "\x0f\x84", 2); /* je */
		}
		/* %rsp stays below our frame: the record (and its number) survive the call. */
		restore_all(&b);
		emit_syscall(&b, o);
		exit_at = b.len;
		emit_exit(&b, o);
		for (size_t i = 0; i < nr_special; i++) {
			fix(&b, to_special[i]);
			emit_orig_sp_syscall(&b, o, orig_sp_nrs[i], (ssize_t)exit_at);
		}
	}
	/*
	 * override: no syscall; the result is what the dispatcher wrote, the number is in place,
	 * and %r11 the flags, as the kernel's `syscall` would have left it.
	 */
	fix(&b, to_override);
	restore_all(&b);
	mov_rsp(&b, 0, F_OVERRIDE, true);
	mov_rsp(&b, 11, F_FLAGS, true);
	to_exit = jump_fwd(&b, "\xe9", 1);
	if (!b.err)
		memcpy(out + to_exit,
		       &(int32_t){ (int32_t)((int64_t)exit_at - (int64_t)(to_exit + 4)) }, 4);
	if (b.err == -ENOSPC)
		return bpfi_log_err(log, b.err, "syscall site 0x%llx: no catch-all gadget left",
				    (unsigned long long)o->site->addr);
	if (b.err)
		return bpfi_log_err(log, b.err,
				    "syscall trampoline for 0x%llx does not fit in %zu bytes",
				    (unsigned long long)o->site->addr, size);
	*ret_len = b.len;
	return 0;
}

int bpfi_sctramp_patch(const struct bpfi_syscall_site *site, const uint8_t *window,
		       uint64_t tramp_addr, uint8_t *patch, struct bpfi_log *log)
{
	int64_t rel = (int64_t)(tramp_addr - (site->win_addr + BPFI_PATCH_LEN));
	int32_t rel32 = (int32_t)rel;

	if (!site->rewritable || site->win_len < BPFI_PATCH_LEN)
		return bpfi_log_err(log, -EINVAL, "syscall site 0x%llx cannot be rewritten: %s",
				    (unsigned long long)site->addr,
				    site->reason ? site->reason : "no window");
	if (rel != rel32)
		return bpfi_log_err(log, -ERANGE,
				    "syscall site 0x%llx: trampoline 0x%llx is out of jump range",
				    (unsigned long long)site->addr, (unsigned long long)tramp_addr);
	memcpy(patch, window, site->win_len);
	patch[0] = 0xe9;
	memcpy(patch + 1, &rel32, 4);
	return 0;
}
