// SPDX-License-Identifier: MIT
/*
 * Moving the first instructions of a function out of the way of a 5-byte jump (DESIGN.md D5):
 * decode with Zydis until five bytes are covered, refuse what cannot move safely, and
 * re-encode what refers to its own address (RIP-relative operands, relative branches) for the
 * place it will run from.
 *
 * Why each refusal (frida-gum's relocator and reference/injection.md §2.3 met each of them):
 *  - a return or jump before five bytes: the function is shorter than the patch;
 *  - a call or syscall that is not the last instruction replaced: a thread inside it returns
 *    to an address inside the jump we wrote;
 *  - a branch anywhere in the function into bytes 1..4 of the window: it would land inside
 *    our jump;
 *  - loop/jrcxz/xbegin: relative branches with no wide form to relocate into.
 */
#include <Zydis/Zydis.h>
#include <errno.h>
#include <string.h>

#include "injector_internal.h"

struct window {
	ZydisDecoder dec;
	const uint8_t *func;
	size_t func_len;
	uint64_t func_addr;
};

static bool decode_at(const struct window *w, size_t off, ZydisDecodedInstruction *insn,
		      ZydisDecodedOperand *ops)
{
	return ZYAN_SUCCESS(
		ZydisDecoderDecodeFull(&w->dec, w->func + off, w->func_len - off, insn, ops));
}

static bool is_block_end(const ZydisDecodedInstruction *insn)
{
	return insn->meta.category == ZYDIS_CATEGORY_RET ||
	       insn->meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
	       insn->mnemonic == ZYDIS_MNEMONIC_INT3 || insn->mnemonic == ZYDIS_MNEMONIC_UD2 ||
	       insn->mnemonic == ZYDIS_MNEMONIC_HLT;
}

static bool has_narrow_only_branch(const ZydisDecodedInstruction *insn)
{
	switch (insn->mnemonic) {
	case ZYDIS_MNEMONIC_LOOP:
	case ZYDIS_MNEMONIC_LOOPE:
	case ZYDIS_MNEMONIC_LOOPNE:
	case ZYDIS_MNEMONIC_JRCXZ:
	case ZYDIS_MNEMONIC_JECXZ:
	case ZYDIS_MNEMONIC_XBEGIN:
		return true;
	default:
		return false;
	}
}

/* Chooses the instructions to displace: whole ones covering at least BPFI_PATCH_LEN bytes. */
static int choose_window(const struct window *w, uint32_t *ret_len, bool *ret_ends_block,
			 struct bpfi_log *log)
{
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecodedInstruction insn;
	size_t off = 0;

	while (off < BPFI_PATCH_LEN) {
		bool last;

		if (off >= w->func_len || !decode_at(w, off, &insn, ops))
			return bpfi_log_err(log, -EINVAL,
					    "site 0x%llx: cannot decode the instruction at +%zu",
					    (unsigned long long)w->func_addr, off);
		last = off + insn.length >= BPFI_PATCH_LEN;
		if (is_block_end(&insn) && !last)
			return bpfi_log_err(
				log, -EINVAL,
				"site 0x%llx: the function ends after %zu bytes, too short for a %d-byte jump",
				(unsigned long long)w->func_addr, off + insn.length,
				BPFI_PATCH_LEN);
		if ((insn.meta.category == ZYDIS_CATEGORY_CALL ||
		     insn.meta.category == ZYDIS_CATEGORY_SYSCALL) &&
		    !last)
			return bpfi_log_err(
				log, -EINVAL,
				"site 0x%llx: a call at +%zu returns inside the bytes the jump replaces",
				(unsigned long long)w->func_addr, off);
		if (has_narrow_only_branch(&insn))
			return bpfi_log_err(
				log, -EINVAL,
				"site 0x%llx: the instruction at +%zu (a short-only branch) cannot be relocated",
				(unsigned long long)w->func_addr, off);
		*ret_ends_block = is_block_end(&insn);
		off += insn.length;
	}
	*ret_len = (uint32_t)off;
	return 0;
}

/*
 * Linear sweep of the function: no relative branch may target bytes 1..len-1 of the window
 * at @win (an address inside the function).
 */
static int check_branch_targets(const struct window *w, uint64_t win, uint32_t len,
				struct bpfi_log *log)
{
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecodedInstruction insn;

	for (size_t off = 0; off < w->func_len; off += insn.length) {
		if (!decode_at(w, off, &insn, ops)) {
			insn.length = 1; /* data or padding in the text: step over it */
			continue;
		}
		if (!(insn.attributes & ZYDIS_ATTRIB_IS_RELATIVE))
			continue;
		for (unsigned int i = 0; i < insn.operand_count_visible; i++) {
			ZyanU64 target;

			if (ops[i].type != ZYDIS_OPERAND_TYPE_IMMEDIATE || !ops[i].imm.is_relative)
				continue;
			if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&insn, &ops[i],
								   w->func_addr + off, &target)))
				continue;
			if (target > win && target < win + len)
				return bpfi_log_err(
					log, -EINVAL,
					"site 0x%llx: the branch at +%zu jumps to +%llu, inside the bytes the jump replaces",
					(unsigned long long)win, off,
					(unsigned long long)(target - w->func_addr));
		}
	}
	return 0;
}

int bpfi_hook_check_branches(const uint8_t *func, size_t func_len, uint64_t func_addr, uint64_t win,
			     uint32_t len, struct bpfi_log *log)
{
	struct window w = { .func = func, .func_len = func_len, .func_addr = func_addr };

	ZydisDecoderInit(&w.dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	return check_branch_targets(&w, win, len, log);
}

/*
 * A site inside a function must start an instruction: the linear stream decoded from the
 * function's start has to reach it exactly. A jump written into the middle of an instruction
 * turns its tail into other instructions (malloc+1 was attached, and clobbered the caller's
 * r12). Compilers put no data in x86-64 function bodies, so the linear stream is the code.
 */
int bpfi_hook_check_boundary(const uint8_t *func, size_t func_len, uint64_t func_addr,
			     uint64_t addr, struct bpfi_log *log)
{
	struct window w = { .func = func, .func_len = func_len, .func_addr = func_addr };
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecodedInstruction insn;
	uint64_t want = addr - func_addr;
	size_t off = 0;

	ZydisDecoderInit(&w.dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	while (off < want) {
		if (off >= func_len || !decode_at(&w, off, &insn, ops))
			return bpfi_log_err(
				log, -EINVAL,
				"site 0x%llx: cannot decode the function at 0x%llx as far as +%llu (stopped at +%zu): not known to start an instruction",
				(unsigned long long)addr, (unsigned long long)func_addr,
				(unsigned long long)want, off);
		if (off + insn.length > want)
			return bpfi_log_err(
				log, -EINVAL,
				"site 0x%llx: +%llu is inside the %u-byte instruction at +%zu of the function at 0x%llx, not at an instruction boundary",
				(unsigned long long)addr, (unsigned long long)want, insn.length,
				off, (unsigned long long)func_addr);
		off += insn.length;
	}
	return 0;
}

/* Re-encodes one instruction that refers to its own address, for @new_addr. */
static int relocate_one(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
			uint64_t old_addr, uint64_t new_addr, uint8_t *out, size_t *len)
{
	ZydisEncoderRequest req;

	if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(
		    insn, ops, insn->operand_count_visible, &req)))
		return -EINVAL;
	for (unsigned int i = 0; i < insn->operand_count_visible; i++) {
		ZyanU64 abs;

		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].mem.base == ZYDIS_REGISTER_RIP) {
			if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(insn, &ops[i], old_addr, &abs)))
				return -EINVAL;
			req.operands[i].mem.displacement = (ZyanI64)abs;
		} else if (ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && ops[i].imm.is_relative) {
			if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(insn, &ops[i], old_addr, &abs)))
				return -EINVAL;
			req.operands[i].imm.u = abs;
		}
	}
	/* Let the encoder pick the branch width: a rel8 that no longer reaches becomes rel32. */
	req.branch_type = ZYDIS_BRANCH_TYPE_NONE;
	req.branch_width = ZYDIS_BRANCH_WIDTH_NONE;
	if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstructionAbsolute(&req, out, len, new_addr)))
		return -ERANGE;
	return 0;
}

static bool refers_to_rip(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	if (insn->attributes & ZYDIS_ATTRIB_IS_RELATIVE)
		return true;
	for (unsigned int i = 0; i < insn->operand_count_visible; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].mem.base == ZYDIS_REGISTER_RIP)
			return true;
	}
	return false;
}

/* Appends `jmp target`: rel32 when it reaches, else `jmp *0(%rip)` and the 8-byte address. */
static int emit_jump(struct bpfi_relocation *r, uint64_t at, uint64_t target)
{
	int64_t rel = (int64_t)(target - (at + 5));

	if (rel == (int32_t)rel) {
		int32_t rel32 = (int32_t)rel;

		if (r->code_len + 5 > BPFI_RELOC_MAX)
			return -E2BIG;
		r->code[r->code_len++] = 0xe9;
		memcpy(&r->code[r->code_len], &rel32, 4);
		r->code_len += 4;
		return 0;
	}
	if (r->code_len + 14 > BPFI_RELOC_MAX)
		return -E2BIG;
	memcpy(&r->code[r->code_len], "\xff\x25\0\0\0\0", 6);
	memcpy(&r->code[r->code_len + 6], &target, 8);
	r->code_len += 14;
	return 0;
}

/*
 * A call displaced with the window (always its last instruction) is moved as "push the
 * address after it in the original code; jump to its target": the callee returns straight
 * into the function, and the return address on the stack is the one the code had. A copied
 * `call` would leave an address in the trampoline there, which no unwinder (a C++ exception
 * thrown by the callee: std::terminate), no Go traceback and no debugger has frame
 * information for, and which a thread still inside the callee would return into after
 * detach. The push is a `call` to the next instruction whose stacked address is then
 * overwritten: the flags are kept (call, mov) and the CPU's return stack stays balanced, so
 * only the callee's own return is mispredicted, not every return above it.
 */
static int relocate_call(struct bpfi_relocation *r, const ZydisDecodedInstruction *insn,
			 const ZydisDecodedOperand *ops, uint64_t old_addr, uint64_t new_addr,
			 uint64_t ret_addr)
{
	uint32_t lo = (uint32_t)ret_addr, hi = (uint32_t)(ret_addr >> 32);
	ZydisEncoderRequest req;
	ZyanU64 abs;
	size_t len;

	if (r->code_len + 20 > BPFI_RELOC_MAX)
		return -E2BIG;
	memcpy(&r->code[r->code_len], "\xe8\0\0\0\0", 5); /* call 1f; 1: (a slot, an RSB entry) */
	memcpy(&r->code[r->code_len + 5], "\xc7\x04\x24", 3); /* movl $lo,(%rsp) */
	memcpy(&r->code[r->code_len + 8], &lo, 4);
	memcpy(&r->code[r->code_len + 12], "\xc7\x44\x24\x04", 4); /* movl $hi,4(%rsp) */
	memcpy(&r->code[r->code_len + 16], &hi, 4);
	r->code_len += 20;
	if (ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(insn, &ops[0], old_addr, &abs)))
			return -EINVAL;
		return emit_jump(r, new_addr + r->code_len, abs);
	}
	/* call *OPERAND -> jmp *OPERAND, seen from the same place and the same stack. */
	if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(
		    insn, ops, insn->operand_count_visible, &req)))
		return -EINVAL;
	req.mnemonic = ZYDIS_MNEMONIC_JMP;
	if (ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY) {
		if (ops[0].mem.base == ZYDIS_REGISTER_RIP) {
			if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(insn, &ops[0], old_addr, &abs)))
				return -EINVAL;
			req.operands[0].mem.displacement = (ZyanI64)abs;
		} else if (ops[0].mem.base == ZYDIS_REGISTER_RSP) {
			req.operands[0].mem.displacement += 8; /* past what we pushed */
		}
	}
	len = BPFI_RELOC_MAX - r->code_len;
	if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstructionAbsolute(&req, &r->code[r->code_len], &len,
								new_addr + r->code_len)))
		return -ERANGE;
	r->code_len += (uint32_t)len;
	return 0;
}

int bpfi_hook_relocate(const uint8_t *func, size_t func_len, uint64_t func_addr, uint64_t new_addr,
		       struct bpfi_relocation *ret_reloc, struct bpfi_log *log)
{
	return bpfi_hook_relocate_call(func, func_len, func_addr, new_addr, true, ret_reloc, log);
}

int bpfi_hook_relocate_call(const uint8_t *func, size_t func_len, uint64_t func_addr,
			    uint64_t new_addr, bool unwindable_call,
			    struct bpfi_relocation *ret_reloc, struct bpfi_log *log)
{
	struct window w = { .func = func, .func_len = func_len, .func_addr = func_addr };
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	struct bpfi_relocation *r = ret_reloc;
	ZydisDecodedInstruction insn;
	bool ends_block = false;
	int err;

	memset(r, 0, sizeof(*r));
	ZydisDecoderInit(&w.dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	err = choose_window(&w, &r->patch_len, &ends_block, log);
	if (!err)
		err = check_branch_targets(&w, func_addr, r->patch_len, log);
	if (err)
		return err;
	for (size_t off = 0; off < r->patch_len; off += insn.length) {
		size_t len = BPFI_RELOC_MAX - r->code_len;

		decode_at(&w, off, &insn, ops);
		if (insn.meta.category == ZYDIS_CATEGORY_CALL && unwindable_call) {
			/* choose_window() let a call be the last instruction only. */
			err = relocate_call(r, &insn, ops, func_addr + off, new_addr,
					    func_addr + r->patch_len);
			if (err)
				return bpfi_log_err(
					log, -EINVAL,
					"site 0x%llx: the call at +%zu cannot be relocated to 0x%llx",
					(unsigned long long)func_addr, off,
					(unsigned long long)(new_addr + r->code_len));
			return 0;
		}
		if (!refers_to_rip(&insn, ops)) {
			memcpy(&r->code[r->code_len], func + off, insn.length);
			r->code_len += insn.length;
			continue;
		}
		err = relocate_one(&insn, ops, func_addr + off, new_addr + r->code_len,
				   &r->code[r->code_len], &len);
		if (err)
			return bpfi_log_err(
				log, -EINVAL,
				"site 0x%llx: the instruction at +%zu cannot reach its operand from 0x%llx",
				(unsigned long long)func_addr, off,
				(unsigned long long)(new_addr + r->code_len));
		r->code_len += (uint32_t)len;
	}
	if (!ends_block && emit_jump(r, new_addr + r->code_len, func_addr + r->patch_len))
		return bpfi_log_err(log, -EINVAL, "bug: relocated code for 0x%llx does not fit",
				    (unsigned long long)func_addr);
	return 0;
}
