// SPDX-License-Identifier: MIT
/*
 * The per-site trampoline of a function-entry hook (DESIGN.md D5). The site's first bytes
 * become `jmp trampoline`; the trampoline
 *
 *   1. steps below the red zone and reserves a kernel-layout x86-64 struct pt_regs,
 *   2. stores every general register, the flags, and ip/sp/cs/ss/orig_ax as a uprobe sees
 *      them (ip = the probed address, sp = the stack pointer at the site),
 *   3. calls dispatch(regs, cookie) on a 16-byte aligned stack,
 *   4. if dispatch returned non-zero (bpf_override_return at a function entry), reloads the
 *      registers (ax holds the forced return value) and returns to the caller without running
 *      the function;
 *   5. otherwise reloads every register and flag as the program may have left them in regs
 *      (so a program cannot break the function: only what it deliberately wrote changes),
 *      runs the displaced instructions and jumps back behind the patch.
 *
 * No register changes on the way (issue 11): with GCC's -fipa-ra (on at -O2) a caller keeps
 * values in whichever registers its callee in the same unit is known not to touch, r11 and
 * the argument registers included, so a hook may change nothing the function itself would
 * not. The flags are kept only at a probe inside a function: at an entry and at a return the
 * psABI keeps nothing in them (DF is clear) and GCC treats them as always clobbered.
 * An override returns with every register as the caller passed it but rax: the registers
 * the function would have changed are ones no caller relies on, those it leaves alone stay
 * as they were. What an override cannot give is a second result register (rdx of a 128-bit
 * result) or a rax left alone (a void function whose -fipa-ra callers keep a value there).
 *
 * Only general registers are saved: dispatch, the helpers and JIT'd programs are built with
 * -mgeneral-regs-only and never touch vector or x87 state.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "injector_internal.h"
#include "tramp_emit.h"

/* struct pt_regs (arch/x86/include/asm/ptrace.h), offsets of the fields we write. */
enum {
	PT_R15 = 0,
	PT_R14 = 8,
	PT_R13 = 16,
	PT_R12 = 24,
	PT_BP = 32,
	PT_BX = 40,
	PT_R11 = 48,
	PT_R10 = 56,
	PT_R9 = 64,
	PT_R8 = 72,
	PT_AX = 80,
	PT_CX = 88,
	PT_DX = 96,
	PT_SI = 104,
	PT_DI = 112,
	PT_ORIG_AX = 120,
	PT_IP = 128,
	PT_CS = 136,
	PT_FLAGS = 144,
	PT_SP = 152,
	PT_SS = 160,
	PT_SIZE = 168,
};

/* Red zone (128) + pt_regs, rounded so that the frame keeps 8-byte alignment. */
#define FRAME (128 + PT_SIZE)

/* x86 register numbers, and where each lands in pt_regs. */
static const struct {
	uint8_t reg;
	uint8_t off;
} gprs[] = {
	{ 0, PT_AX },	{ 1, PT_CX },	{ 2, PT_DX },	{ 3, PT_BX },	{ 5, PT_BP },
	{ 6, PT_SI },	{ 7, PT_DI },	{ 8, PT_R8 },	{ 9, PT_R9 },	{ 10, PT_R10 },
	{ 11, PT_R11 }, { 12, PT_R12 }, { 13, PT_R13 }, { 14, PT_R14 }, { 15, PT_R15 },
};

/*
 * The flags are live only inside a function: at its entry and at its return the ABI says
 * nothing survives in them (and DF is clear), so those trampolines skip pushfq/popfq, the
 * slowest instructions here, and report flags as 0x202 (IF).
 */
static void save_frame(struct tbuf *b, uint64_t site_addr, bool flags)
{
	put(b, "\x48\x8d\xa4\x24", 4); /* lea rsp, [rsp - FRAME] */
	put4(b, (uint32_t)-FRAME);
	for (size_t i = 0; i < sizeof(gprs) / sizeof(gprs[0]); i++)
		mov_rsp(b, gprs[i].reg, gprs[i].off, false);
	if (flags) {
		put1(b, 0x9c); /* pushfq */
		put1(b, 0x58); /* pop rax */
		mov_rsp(b, 0, PT_FLAGS, false); /* regs->flags = rax */
	} else {
		mov_rsp_imm(b, PT_FLAGS, 0x202);
	}
	put(b, "\x48\x8d\x84\x24", 4); /* lea rax, [rsp + FRAME]: sp at the site */
	put4(b, FRAME);
	mov_rsp(b, 0, PT_SP, false);
	movabs(b, 0, site_addr);
	mov_rsp(b, 0, PT_IP, false);
	mov_rsp_imm(b, PT_ORIG_AX, -1);
	mov_rsp_imm(b, PT_CS, 0x33); /* __USER_CS */
	mov_rsp_imm(b, PT_SS, 0x2b); /* __USER_DS */
}

static void call_dispatch(struct tbuf *b, uint64_t dispatch, uint64_t cookie, bool flags)
{
	if (flags)
		put1(b, 0xfc); /* cld: inside a function DF may be set; the flags come back after */
	put(b, "\x48\x89\xe7", 3); /* mov rdi, rsp: the pt_regs */
	movabs(b, 6, cookie); /* mov rsi, cookie */
	put(b, "\x48\x89\xe3", 3); /* mov rbx, rsp (rbx is saved, callee-saved) */
	put(b, "\x48\x83\xe4\xf0", 4); /* and rsp, -16 */
	movabs(b, 0, dispatch); /* mov rax, dispatch */
	put(b, "\xff\xd0", 2); /* call rax */
	put(b, "\x48\x89\xdc", 3); /* mov rsp, rbx */
}

static void restore_frame(struct tbuf *b, bool flags)
{
	if (flags) {
		mov_rsp(b, 0, PT_FLAGS, true); /* mov rax, regs->flags */
		put1(b, 0x50); /* push rax: below the frame, free stack */
		put1(b, 0x9d); /* popfq */
	}
	for (size_t i = 0; i < sizeof(gprs) / sizeof(gprs[0]); i++)
		mov_rsp(b, gprs[i].reg, gprs[i].off, true);
	put(b, "\x48\x8d\xa4\x24", 4); /* lea rsp, [rsp + FRAME] (lea keeps the flags) */
	put4(b, FRAME);
}

/*
 * A function's first instruction with return programs only (a uretprobe): no program needs a
 * pt_regs at entry, so while the site has no entry program the trampoline just claims the
 * return (push_return(sp, site)) with the caller-saved registers saved, and goes on to the
 * displaced code: a few of a return probe's ~20 ns. The site's address needs a register
 * before anything is saved: r11, pushed first. No register is free at a function's entry
 * (issue 11): GCC's -fipa-ra lets a caller keep values in any register the function is known
 * not to touch, r11 included; only the flags are free there (the psABI keeps nothing in them
 * across a call, and GCC treats them as fixed, always clobbered).
 *
 *   push r11; mov r11, site; cmp dword [r11 + nr_entry], 0; je light    (LIGHT_PREFIX)
 *   pop r11; ...the full path...
 *   light: push rax rcx rdx rsi rdi r8 r9 r10   (with r11: 9 slots, rsp 16-byte aligned)
 *          lea rdi, [rsp + 72]; mov rsi, r11; mov rax, push_return; call rax
 *          pop r10 .. rax; pop r11; jmp <the displaced code>
 *
 * At a function's entry the stack below rsp is free (the call just wrote there), so the
 * push needs no red zone step.
 */
#define LIGHT_PREFIX (2 + 10 + 5 + 6 + 2)
static const uint8_t light_regs[] = { 0, 1, 2, 6, 7, 8, 9, 10 };

static bool light_path(const struct bpfi_tramp_opts *opts)
{
	return opts->push_return_addr && !opts->mid_function;
}

static void emit_light(struct tbuf *b, const struct bpfi_tramp_opts *opts, size_t reloc_at)
{
	int32_t rel;

	for (size_t i = 0; i < sizeof(light_regs); i++) {
		if (light_regs[i] >= 8)
			put1(b, 0x41);
		put1(b, (uint8_t)(0x50 | (light_regs[i] & 7))); /* push */
	}
	put(b, "\x48\x8d\x7c\x24\x48", 5); /* lea rdi, [rsp + 72]: the return address slot */
	put(b, "\x4c\x89\xde", 3); /* mov rsi, r11 */
	movabs(b, 0, opts->push_return_addr);
	put(b, "\xff\xd0", 2); /* call rax */
	for (size_t i = sizeof(light_regs); i-- > 0;) {
		if (light_regs[i] >= 8)
			put1(b, 0x41);
		put1(b, (uint8_t)(0x58 | (light_regs[i] & 7))); /* pop */
	}
	put(b, "\x41\x5b", 2); /* pop r11 */
	rel = (int32_t)((int64_t)reloc_at - (int64_t)(b->len + 5));
	put1(b, 0xe9); /* jmp the displaced code */
	put4(b, (uint32_t)rel);
}

int bpfi_tramp_build(const struct bpfi_tramp_opts *opts, uint8_t *out, size_t size, size_t *ret_len,
		     struct bpfi_log *log)
{
	struct tbuf b = { .p = out, .size = size };
	size_t jnz_at, reloc_at, je_at = 0;
	int64_t rel;

	if (light_path(opts)) {
		put(&b, "\x41\x53", 2); /* push r11 */
		movabs(&b, 11, opts->cookie);
		put(&b, "\x41\x83\x7b", 3); /* cmp dword [r11 + nr_entry], 0 */
		put1(&b, (uint8_t)offsetof(struct bpfi_site, nr_entry));
		put1(&b, 0);
		put(&b, "\x0f\x84", 2); /* je light (rel32, patched below) */
		je_at = b.len;
		put4(&b, 0);
		put(&b, "\x41\x5b", 2); /* pop r11 */
	}
	save_frame(&b, opts->site_addr, opts->mid_function);
	call_dispatch(&b, opts->dispatch_addr, opts->cookie, opts->mid_function);
	put(&b, "\x48\x85\xc0", 3); /* test rax, rax */
	put(&b, "\x0f\x85", 2); /* jnz override (rel32, patched below) */
	jnz_at = b.len;
	put4(&b, 0);
	restore_frame(&b, opts->mid_function);
	/* The displaced instructions were relocated for the address they land at: here. */
	reloc_at = b.len;
	if (!b.err && opts->tramp_addr + reloc_at != opts->reloc_addr)
		return bpfi_log_err(log, -EINVAL,
				    "bug: displaced code relocated for 0x%llx, lands at 0x%llx",
				    (unsigned long long)opts->reloc_addr,
				    (unsigned long long)(opts->tramp_addr + reloc_at));
	put(&b, opts->reloc->code, opts->reloc->code_len);
	/* override: the function does not run; return to its caller with regs->ax. */
	rel = (int64_t)b.len - (int64_t)(jnz_at + 4);
	if (!b.err)
		memcpy(out + jnz_at, &(int32_t){ (int32_t)rel }, 4);
	restore_frame(&b, opts->mid_function);
	put1(&b, 0xc3); /* ret */
	if (light_path(opts)) {
		rel = (int64_t)b.len - (int64_t)(je_at + 4);
		if (!b.err)
			memcpy(out + je_at, &(int32_t){ (int32_t)rel }, 4);
		emit_light(&b, opts, reloc_at);
	}
	if (b.err)
		return bpfi_log_err(log, b.err, "trampoline for 0x%llx does not fit in %zu bytes",
				    (unsigned long long)opts->site_addr, size);
	*ret_len = b.len;
	return 0;
}

/*
 * The return trampoline, one per target: a hooked function whose return was claimed returns
 * here. Its stack pointer is then just above the slot that held our address; we take one
 * more slot for the real return address, build the pt_regs (ax = the return value), ask
 * dispatch_return for the real address (it runs the return programs), and return there.
 */
int bpfi_tramp_build_return(uint64_t dispatch_return, uint64_t block, uint8_t *out, size_t size,
			    size_t *ret_len, struct bpfi_log *log)
{
	struct tbuf b = { .p = out, .size = size };

	put1(&b, 0x50); /* push rax: the slot for the real return address */
	save_frame(&b, 0, false); /* ip is filled in by dispatch_return; flags are dead */
	put(&b, "\x48\x83\x84\x24", 4); /* add qword [rsp+PT_SP], 8: sp as after the ret */
	put4(&b, PT_SP);
	put1(&b, 8);
	put(&b, "\x48\x89\xe7", 3); /* mov rdi, rsp */
	movabs(&b, 6, block); /* mov rsi, block */
	put(&b, "\x48\x89\xe3", 3); /* mov rbx, rsp */
	put(&b, "\x48\x83\xe4\xf0", 4); /* and rsp, -16 */
	movabs(&b, 0, dispatch_return);
	put(&b, "\xff\xd0", 2); /* call rax */
	put(&b, "\x48\x89\xdc", 3); /* mov rsp, rbx */
	put(&b, "\x48\x89\x84\x24", 4); /* mov [rsp+FRAME], rax: the slot */
	put4(&b, FRAME);
	restore_frame(&b, false);
	/*
	 * Not `ret`: the return-stack predictor has nothing right for it here (the function's own
	 * ret already missed), while an indirect jump is predicted per site. The address stays
	 * readable below rsp: the red zone, which signal delivery leaves alone.
	 */
	put(&b, "\x48\x8d\x64\x24\x08", 5); /* lea rsp, [rsp + 8] */
	put(&b, "\xff\x64\x24\xf8", 4); /* jmp qword [rsp - 8] */
	if (b.err)
		return bpfi_log_err(log, b.err, "return trampoline does not fit in %zu bytes",
				    size);
	*ret_len = b.len;
	return 0;
}

size_t bpfi_tramp_reloc_offset(bool mid_function, bool push_return)
{
	uint8_t scratch[BPFI_TRAMP_MAX];
	struct tbuf b = { .p = scratch, .size = sizeof(scratch) };

	if (push_return && !mid_function)
		b.len = LIGHT_PREFIX;
	/* The same emitters as bpfi_tramp_build() up to the displaced code: the sizes agree. */
	save_frame(&b, 0, mid_function);
	call_dispatch(&b, 0, 0, mid_function);
	b.len += 3 + 2 + 4; /* test rax, rax; jnz rel32 */
	restore_frame(&b, mid_function);
	return b.len;
}
