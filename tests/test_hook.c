// SPDX-License-Identifier: MIT
/*
 * Relocation of function entries for 5-byte jumps (injector/relocate.c): a table of prologues
 * that must move (and where their operands must point afterwards) or be refused with the
 * reason, and real functions of this binary run through their relocated entry.
 */
#include <Zydis/Zydis.h>
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpfinject/injector.h>

#include "test_util.h"

#define FUNC_ADDR 0x400000ull
#define NEW_ADDR  0x500000ull

struct reloc_case {
	const char *descr;
	uint8_t code[32];
	size_t len;
	int expect_err;
	const char *expect_msg;
	uint32_t expect_patch_len;
	/* For the first relocated instruction that refers to an address: where it must point. */
	int64_t expect_target_off; /* relative to FUNC_ADDR; 0 = nothing to check */
};

static const struct reloc_case cases[] = {
	{ "push rbp; mov rbp,rsp; sub rsp,16: moved verbatim",
	  { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10, 0xc3 },
	  9,
	  0,
	  NULL,
	  8,
	  0 },
	{ "lea rax,[rip+0x100] keeps pointing at the same byte",
	  { 0x48, 0x8d, 0x05, 0x00, 0x01, 0x00, 0x00, 0xc3 },
	  8,
	  0,
	  NULL,
	  7,
	  7 + 0x100 },
	{ "mov eax,[rip-0x20] keeps pointing at the same byte",
	  { 0x8b, 0x05, 0xe0, 0xff, 0xff, 0xff, 0xc3 },
	  7,
	  0,
	  NULL,
	  6,
	  6 - 0x20 },
	{ "test edi,edi; je +0x10: the rel8 branch is widened and keeps its target",
	  { 0x85, 0xff, 0x74, 0x10, 0x90, 0x90, 0xc3 },
	  7,
	  0,
	  NULL,
	  5,
	  4 + 0x10 },
	{ "xor eax,eax; ret: too short", { 0x31, 0xc0, 0xc3 }, 3, -EINVAL, "too short", 0, 0 },
	{ "syscall inside the window",
	  { 0x0f, 0x05, 0x90, 0x90, 0x90, 0xc3 },
	  6,
	  -EINVAL,
	  "returns inside",
	  0,
	  0 },
	{ "a later branch back into byte 1 of the window",
	  { 0x55, 0x48, 0x89, 0xe5, 0x90, 0x90, 0xeb, 0xf9, 0xc3 },
	  9,
	  -EINVAL,
	  "jumps to +1",
	  0,
	  0 },
	{ "loop in the window cannot be widened",
	  { 0x90, 0xe2, 0xfd, 0x90, 0x90, 0xc3 },
	  6,
	  -EINVAL,
	  "short-only branch",
	  0,
	  0 },
	{ "undecodable bytes", { 0x0f, 0xff }, 2, -EINVAL, "cannot decode", 0, 0 },
};

/* Where the first address-bearing operand of the relocated code points. */
static uint64_t first_target(const struct bpfi_relocation *r)
{
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecodedInstruction insn;
	ZydisDecoder dec;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	for (uint32_t off = 0; off < r->code_len; off += insn.length) {
		ck_assert(ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, r->code + off,
							      r->code_len - off, &insn, ops)));
		for (unsigned int i = 0; i < insn.operand_count_visible; i++) {
			ZyanU64 abs;
			bool rip = ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
				   ops[i].mem.base == ZYDIS_REGISTER_RIP;
			bool rel = ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
				   ops[i].imm.is_relative;

			if (!rip && !rel)
				continue;
			ck_assert(ZYAN_SUCCESS(
				ZydisCalcAbsoluteAddress(&insn, &ops[i], NEW_ADDR + off, &abs)));
			return abs;
		}
	}
	return 0;
}

START_TEST(relocate_case)
{
	const struct reloc_case *c = &cases[_i];
	struct bpfi_relocation r;
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	int err = bpfi_hook_relocate(c->code, c->len, FUNC_ADDR, NEW_ADDR, &r, &log);

	ck_assert_msg(err == c->expect_err, "%s: err %d, log: %s", c->descr, err, buf);
	ck_assert_msg(!c->expect_msg || strstr(buf, c->expect_msg), "%s: log was: %s", c->descr,
		      buf);
	if (err)
		return;
	ck_assert_uint_eq(r.patch_len, c->expect_patch_len);
	if (c->expect_target_off)
		ck_assert_uint_eq(first_target(&r), FUNC_ADDR + (uint64_t)c->expect_target_off);
	/* Unless the window ended the block, the code ends by jumping back behind the patch. */
	if (r.code[r.code_len - 5] == 0xe9) {
		int32_t rel;

		memcpy(&rel, &r.code[r.code_len - 4], 4);
		ck_assert_uint_eq(NEW_ADDR + r.code_len + (int64_t)rel, FUNC_ADDR + r.patch_len);
	}
}
END_TEST

/*
 * A call that ends the window is moved as a push of its return address (FUNC_ADDR +
 * patch_len: the original code) at @push_at, then a jump to its target (@jump: the bytes
 * expected, or a rel32/indirect jump to @target_off): the callee returns into the function
 * itself, and unwinders see the return address the code had.
 */
struct call_case {
	const char *descr;
	uint8_t code[16];
	size_t len;
	uint32_t patch_len;
	int64_t target_off;
	uint32_t push_at;
	uint8_t jump[8];
	uint32_t jump_len;
};

static const struct call_case call_cases[] = {
	{ "call rel32: push the return address, jump to the target",
	  { 0x53, 0xe8, 0x00, 0x10, 0x00, 0x00, 0x5b, 0xc3 },
	  8,
	  .patch_len = 6,
	  .target_off = 6 + 0x1000,
	  .push_at = 1 },
	{ "call *%rax: jmp *%rax after the push",
	  { 0x55, 0x53, 0x41, 0x54, 0xff, 0xd0, 0x5b, 0xc3 },
	  8,
	  .patch_len = 6,
	  .push_at = 4,
	  .jump = { 0xff, 0xe0 },
	  .jump_len = 2 },
	{ "call *0x10(%rsp): jmp *0x18(%rsp), the pushed address counted",
	  { 0x55, 0xff, 0x54, 0x24, 0x10, 0x5b, 0xc3 },
	  7,
	  .patch_len = 5,
	  .push_at = 1,
	  .jump = { 0xff, 0x64, 0x24, 0x18 },
	  .jump_len = 4 },
	{ "call *0x100(%rip): jmp through the same slot",
	  { 0x55, 0xff, 0x15, 0x00, 0x01, 0x00, 0x00, 0xc3 },
	  8,
	  .patch_len = 7,
	  .target_off = 7 + 0x100,
	  .push_at = 1 },
};

START_TEST(relocate_call_case)
{
	const struct call_case *c = &call_cases[_i];
	struct bpfi_relocation r;
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	const uint8_t *p;
	uint64_t ret;
	uint32_t lo, hi;

	ck_assert_msg(bpfi_hook_relocate(c->code, c->len, FUNC_ADDR, NEW_ADDR, &r, &log) == 0,
		      "%s: %s", c->descr, buf);
	ck_assert_uint_eq(r.patch_len, c->patch_len);
	p = r.code + c->push_at;
	ret = FUNC_ADDR + r.patch_len;
	lo = (uint32_t)ret;
	hi = (uint32_t)(ret >> 32);
	ck_assert_mem_eq(r.code, c->code, c->push_at); /* what came before, verbatim */
	ck_assert_mem_eq(p, "\xe8\0\0\0\0\xc7\x04\x24", 8); /* call +0; movl $lo,(%rsp) */
	ck_assert_mem_eq(p + 8, &lo, 4);
	ck_assert_mem_eq(p + 12, "\xc7\x44\x24\x04", 4);
	ck_assert_mem_eq(p + 16, &hi, 4);
	if (c->jump_len) {
		ck_assert_uint_eq(r.code_len, c->push_at + 20 + c->jump_len);
		ck_assert_mem_eq(p + 20, c->jump, c->jump_len);
	}
	if (c->target_off) {
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
		ZydisDecodedInstruction insn;
		ZydisDecoder dec;
		ZyanU64 abs;
		uint32_t at = c->push_at + 20;

		/* The jump after the push goes where the call went (rel32, or via its slot). */
		ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
		ck_assert(ZYAN_SUCCESS(
			ZydisDecoderDecodeFull(&dec, r.code + at, r.code_len - at, &insn, ops)));
		ck_assert_int_eq(insn.mnemonic, ZYDIS_MNEMONIC_JMP);
		ck_assert(ZYAN_SUCCESS(
			ZydisCalcAbsoluteAddress(&insn, &ops[0], NEW_ADDR + at, &abs)));
		ck_assert_uint_eq(abs, FUNC_ADDR + (uint64_t)c->target_off);
	}
}
END_TEST

/* Victims with RIP-relative data access in their first instructions. */
int hook_victim_table[16] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3 };
__attribute__((noinline)) unsigned int hook_victim(int n);
__attribute__((noinline)) unsigned int hook_victim(int n)
{
	unsigned int sum = (unsigned int)hook_victim_table[0];

	for (int i = 1; i < n && i < 16; i++)
		sum = sum * 7 + (unsigned int)hook_victim_table[i];
	return sum;
}

/*
 * Runs hook_victim through its relocated entry placed in a fresh page near it: the displaced
 * instructions there, then a jump back into the original body. Same results as a direct call.
 */
START_TEST(relocated_entry_runs)
{
	uintptr_t func = (uintptr_t)hook_victim;
	long page = sysconf(_SC_PAGESIZE);
	struct bpfi_relocation r;
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	uint8_t *tramp = MAP_FAILED;
	unsigned int (*entry)(int);

	/* A page within rel32 reach of the function: try below it, a few MiB down. */
	for (uintptr_t hint = (func & ~(uintptr_t)(page - 1)) - (4u << 20); tramp == MAP_FAILED;
	     hint -= (1u << 20))
		tramp = mmap((void *)hint, (size_t)page, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ck_assert_int_eq(
		bpfi_hook_relocate((const uint8_t *)func, 64, func, (uintptr_t)tramp, &r, &log), 0);
	memcpy(tramp, r.code, r.code_len);
	ck_assert_int_eq(mprotect(tramp, (size_t)page, PROT_READ | PROT_EXEC), 0);
	entry = (unsigned int (*)(int))(uintptr_t)tramp;
	for (int n = 0; n < 17; n++)
		ck_assert_uint_eq(entry(n), hook_victim(n));
	munmap(tramp, (size_t)page);
}
END_TEST

/* The file offset /proc/self/maps gives for an address of ours, and the file it is in. */
static uint64_t maps_offset_of(uintptr_t addr, char *path, size_t size)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	uint64_t off = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end, pgoff;
		char file[512] = "";

		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %511s", &start, &end, &pgoff, file) < 3)
			continue;
		if (addr >= start && addr < end) {
			off = addr - start + pgoff;
			snprintf(path, size, "%s", file);
			break;
		}
	}
	fclose(f);
	return off;
}

START_TEST(symbols_match_the_loader)
{
	const char *names[] = { "malloc", "getaddrinfo", "qsort" };
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	char path[512], buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

	ck_assert_ptr_nonnull(libc);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uintptr_t addr = (uintptr_t)dlsym(libc, names[i]);
		uint64_t expect = maps_offset_of(addr, path, sizeof(path)), off = 0, size = 0;

		ck_assert_int_eq(bpfi_elf_find_function(path, names[i], &off, &size, &log), 0);
		ck_assert_msg(off == expect, "%s: %#llx, loader says %#llx", names[i],
			      (unsigned long long)off, (unsigned long long)expect);
		ck_assert_uint_gt(size, 0);
	}
	dlclose(libc);
}
END_TEST

START_TEST(symbols_errors)
{
	char buf[256] = "", self[512];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	uint64_t off;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	ck_assert_int_eq(bpfi_elf_find_function(self, "hook_victim", &off, NULL, &log), 0);
	ck_assert_uint_eq(off, maps_offset_of((uintptr_t)hook_victim, buf, sizeof(buf)));
	bpfi_log_reset(&log);
	ck_assert_int_eq(bpfi_elf_find_function(self, "no_such_function_here", &off, NULL, &log),
			 -ENOENT);
	ck_assert_msg(strstr(buf, "no function named 'no_such_function_here'"), "log: %s", buf);
	bpfi_log_reset(&log);
	ck_assert_int_eq(bpfi_elf_find_function("/etc/hostname", "x", &off, NULL, &log), -ENOEXEC);
	ck_assert_msg(strstr(buf, "not an ELF file"), "log: %s", buf);
	bpfi_log_reset(&log);
	ck_assert_int_eq(bpfi_elf_find_function("/no/such/file", "x", &off, NULL, &log), -ENOENT);
	ck_assert_msg(strstr(buf, "/no/such/file"), "log: %s", buf);
}
END_TEST

START_TEST(modules_and_addresses)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	uintptr_t addr = (uintptr_t)dlsym(libc, "getaddrinfo");
	char path[512], buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	uint64_t off, found;

	ck_assert_int_eq(bpfi_proc_find_module(getpid(), "libc.so.6", path, sizeof(path), &log), 0);
	ck_assert_msg(strstr(path, "/libc.so.6"), "path %s", path);
	ck_assert_int_eq(bpfi_elf_find_function(path, "getaddrinfo", &off, NULL, &log), 0);
	ck_assert_int_eq(bpfi_proc_offset_to_addr(getpid(), path, off, &found, &log), 0);
	ck_assert_uint_eq(found, addr);
	/* The same file under its other name (Debian's /lib -> usr/lib) is the same file. */
	found = 0;
	ck_assert_int_eq(bpfi_proc_offset_to_addr(getpid(),
						  strncmp(path, "/usr", 4) ? path : path + 4, off,
						  &found, &log),
			 0);
	ck_assert_uint_eq(found, addr);
	ck_assert_int_eq(
		bpfi_proc_find_module(getpid(), "libnotmapped.so", path, sizeof(path), &log),
		-ENOENT);
	ck_assert_msg(strstr(buf, "has not mapped 'libnotmapped.so'"), "log: %s", buf);
	dlclose(libc);
}
END_TEST

/*
 * A whole entry hook inside this process: relocate, build the trampoline next to the victim,
 * patch its entry, call it. The dispatcher sees the arguments in a kernel-layout pt_regs and
 * can override the result; unpatching restores every byte.
 */
struct seen_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip,
		cs, flags, sp, ss;
};
_Static_assert(sizeof(struct seen_regs) == 168, "kernel pt_regs layout");

static struct seen_regs last_regs;
static int dispatch_calls;
static volatile int victim_runs;

__attribute__((noinline)) long entry_victim(long a, long b, long c);
__attribute__((noinline)) long entry_victim(long a, long b, long c)
{
	victim_runs++;
	return a * 100 + b * 10 + c + hook_victim_table[3];
}

static uint64_t test_dispatch(struct seen_regs *regs, uint64_t cookie)
{
	last_regs = *regs;
	dispatch_calls++;
	if (cookie == 2) {
		regs->ax = 4242;
		return 1;
	}
	if (cookie == 3)
		regs->si = 9; /* a program rewriting an argument register */
	return 0;
}

START_TEST(entry_hook_in_process)
{
	uintptr_t func = (uintptr_t)entry_victim;
	struct bpfi_relocation r;
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	uint8_t orig[BPFI_PATCH_LEN], jmp[BPFI_PATCH_LEN] = { 0xe9 };
	uint8_t *tramp = test_map_near(func, 4096);
	long (*volatile victim)(long, long, long) = entry_victim;
	size_t len;
	int32_t rel;

	memcpy(orig, (void *)func, sizeof(orig));
	ck_assert_int_eq(
		bpfi_hook_relocate((const uint8_t *)func, 64, func,
				   (uintptr_t)tramp + bpfi_tramp_reloc_offset(false, false), &r,
				   &log),
		0);
	for (uint64_t cookie = 1; cookie <= 3; cookie++) {
		struct bpfi_tramp_opts o = {
			.site_addr = func,
			.tramp_addr = (uintptr_t)tramp,
			.reloc_addr = (uintptr_t)tramp + bpfi_tramp_reloc_offset(false, false),
			.reloc = &r,
			.dispatch_addr = (uintptr_t)test_dispatch,
			.cookie = cookie,
		};
		int runs = victim_runs;
		long expect = cookie == 2 ? 4242 : cookie == 3 ? 194 : 124;

		ck_assert_int_eq(mprotect(tramp, 4096, PROT_READ | PROT_WRITE), 0);
		ck_assert_msg(bpfi_tramp_build(&o, tramp, 4096, &len, &log) == 0, "%s", buf);
		ck_assert_int_eq(mprotect(tramp, 4096, PROT_READ | PROT_EXEC), 0);
		rel = (int32_t)((intptr_t)tramp - (intptr_t)(func + BPFI_PATCH_LEN));
		memcpy(jmp + 1, &rel, 4);
		test_patch_text(func, jmp, sizeof(jmp));
		ck_assert_int_eq(victim(1, 2, 3), expect);
		ck_assert_int_eq(victim_runs, runs + (cookie == 2 ? 0 : 1));
		ck_assert_uint_eq(last_regs.di, 1);
		ck_assert_uint_eq(last_regs.dx, 3);
		ck_assert_uint_eq(last_regs.ip, func);
		ck_assert_uint_eq(last_regs.sp % 16, 8); /* at entry: just after the call */
		ck_assert_uint_eq(*(uintptr_t *)last_regs.sp != 0, 1);
		ck_assert_uint_eq(last_regs.orig_ax, (unsigned long)-1);
		test_patch_text(func, orig, sizeof(orig));
	}
	ck_assert_int_eq(dispatch_calls, 3);
	ck_assert_mem_eq((void *)func, orig, sizeof(orig));
	ck_assert_int_eq(victim(1, 2, 3), 124);
	ck_assert_int_eq(dispatch_calls, 3);
	munmap(tramp, 4096);
}
END_TEST

/* Sites inside a function: only instruction starts of the stream decoded from its start. */
struct boundary_case {
	uint64_t off;
	const char *expect_msg; /* NULL: a boundary */
};

/* push %r12; push %rbp; mov %rdi,%rbx; cmpb $0,0x10(%rip); (two bytes that do not decode) */
static const uint8_t boundary_code[] = { 0x41, 0x54, 0x55, 0x48, 0x89, 0xfb, 0x80, 0x3d, 0x10,
					 0x00, 0x00, 0x00, 0x00, 0x0f, 0x0b, 0xff, 0xff };

static const struct boundary_case boundary_cases[] = {
	{ 2, NULL },
	{ 3, NULL },
	{ 6, NULL },
	{ 13, NULL },
	{ 1, "+1 is inside the 2-byte instruction at +0 of the function at 0x400000" },
	{ 4, "+4 is inside the 3-byte instruction at +3" },
	{ 12, "+12 is inside the 7-byte instruction at +6" },
	{ 16, "cannot decode the function at 0x400000 as far as +16 (stopped at +15)" },
	{ 40, "cannot decode the function at 0x400000 as far as +40 (stopped at +15)" },
};

START_TEST(boundary_case)
{
	const struct boundary_case *c = &boundary_cases[_i];
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	int err = bpfi_hook_check_boundary(boundary_code, sizeof(boundary_code), FUNC_ADDR,
					   FUNC_ADDR + c->off, &log);

	ck_assert_msg(err == (c->expect_msg ? -EINVAL : 0), "+%llu: %d (%s)",
		      (unsigned long long)c->off, err, buf);
	ck_assert_msg(!c->expect_msg || strstr(buf, c->expect_msg), "+%llu: log was: %s",
		      (unsigned long long)c->off, buf);
}
END_TEST

Suite *hook_suite(void);
Suite *hook_suite(void)
{
	Suite *s = suite_create("hook");
	TCase *tc = tcase_create("relocate");

	tcase_add_loop_test(tc, relocate_case, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_loop_test(tc, relocate_call_case, 0, sizeof(call_cases) / sizeof(call_cases[0]));
	tcase_add_test(tc, relocated_entry_runs);
	tcase_add_test(tc, entry_hook_in_process);
	tcase_add_loop_test(tc, boundary_case, 0,
			    sizeof(boundary_cases) / sizeof(boundary_cases[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("symbols");
	tcase_add_test(tc, symbols_match_the_loader);
	tcase_add_test(tc, symbols_errors);
	tcase_add_test(tc, modules_and_addresses);
	suite_add_tcase(s, tc);
	return s;
}
