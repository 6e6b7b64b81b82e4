// SPDX-License-Identifier: MIT
/*
 * Where a return probe would kill the program, and is refused (DESIGN.md D5). A return probe
 * replaces the function's return address with our return trampoline for as long as the
 * function runs; only the function's own `ret` may read it. Two kinds of code read return
 * addresses of frames that are still live, and find ours there:
 *
 *  - Go's runtime: it copies goroutine stacks when they grow and walks them for tracebacks,
 *    preemption and the garbage collector, checking each return address against its tables
 *    ("unexpected return pc ... called from 0x0", `fatal error`, exit 2). Any function of a
 *    Go module can be on such a stack, so the whole module is refused (its `.go.buildinfo`
 *    section, its Go build id note, or `runtime.main`).
 *  - An unwinder (C++ exceptions): an exception that leaves a function through its caller
 *    needs the frame information of the return address, and ours has none: std::terminate.
 *    An exception can only come up through a function that calls something, so in a module
 *    that throws or catches (it names __cxa_throw, __gxx_personality_v0, _Unwind_Resume...),
 *    a function is refused unless it is a leaf: no call, no jump out of its bytes.
 *
 * The kernel's uretprobe does the same replacement and kills the same programs (SIGILL for
 * Go, std::terminate for C++); here the attach fails with the reason instead.
 *
 * Not covered: a C function (libc's qsort) that calls back into C++ code that throws, in a
 * C++ process. A forced unwind (pthread_exit, pthread_cancel) through a C function stops at
 * the replaced address as at the end of the stack, and glibc then runs the thread's cleanup
 * handlers and ends the thread as usual (tested).
 */
#include <Zydis/Zydis.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "injector_internal.h"

/* How much of a function is decoded to see that it calls nothing. */
#define LEAF_SCAN_MAX (256 * 1024)

/* Names that make a module part of exception unwinding: it throws, catches or cleans up. */
static const char *const unwind_names[] = {
	"__cxa_throw",		"__cxa_rethrow",	  "__cxa_begin_catch",
	"__gxx_personality_v0", "_Unwind_RaiseException", "_Unwind_Resume",
};

static bool is_unwind_name(const char *name, bool defined)
{
	size_t n;

	for (size_t i = 0; i < sizeof(unwind_names) / sizeof(unwind_names[0]); i++) {
		n = strlen(unwind_names[i]);
		if (strncmp(name, unwind_names[i], n) || (name[n] && name[n] != '@'))
			continue;
		/* The unwinder itself (libgcc_s) defines _Unwind_*: it is below every throw. */
		return !(defined && name[0] == '_' && name[1] == 'U');
	}
	return false;
}

/* @ret_go: what shows a Go module; @ret_unwind: the first name of unwind_names[] it has. */
static void scan_module(Elf *elf, const char **ret_go, const char **ret_unwind)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".go.buildinfo"))
			*ret_go = ".go.buildinfo";
		else if (name && !strcmp(name, ".note.go.buildid") && !*ret_go)
			*ret_go = ".note.go.buildid";
		if ((sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *s;

			if (!gelf_getsym(data, (int)i, &sym))
				continue;
			s = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!s || !s[0])
				continue;
			if (!*ret_go && !strcmp(s, "runtime.main"))
				*ret_go = "runtime.main";
			else if (!*ret_unwind && is_unwind_name(s, sym.st_shndx != SHN_UNDEF))
				*ret_unwind = s;
		}
	}
}

/* Does the function (@code, @len bytes) call nothing and jump nowhere outside itself? */
static bool is_leaf(const uint8_t *code, size_t len)
{
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecodedInstruction insn;
	ZydisDecoder dec;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	for (size_t off = 0; off < len; off += insn.length) {
		ZyanU64 target;

		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code + off, len - off, &insn, ops)))
			return false;
		if (insn.meta.category == ZYDIS_CATEGORY_CALL)
			return false;
		if (insn.meta.category != ZYDIS_CATEGORY_UNCOND_BR &&
		    insn.meta.category != ZYDIS_CATEGORY_COND_BR)
			continue;
		/* An indirect jump may be a tail call; a direct one out of the body is one. */
		if (ops[0].type != ZYDIS_OPERAND_TYPE_IMMEDIATE ||
		    !ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&insn, &ops[0], off, &target)) ||
		    target >= len)
			return false;
	}
	return true;
}

static bool function_is_leaf(int fd, uint64_t func_off, uint64_t func_size)
{
	uint8_t *code;
	bool leaf;

	if (!func_size || func_size > LEAF_SCAN_MAX)
		return false;
	code = malloc(func_size);
	if (!code)
		return false;
	leaf = pread(fd, code, func_size, (off_t)func_off) == (ssize_t)func_size &&
	       is_leaf(code, func_size);
	free(code);
	return leaf;
}

bool injector__module_unwinds(const char *path)
{
	const char *go = NULL, *unwind = NULL;
	Elf *elf;
	int fd;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true; /* unknown: take the form that is safe for unwinders */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF)
		scan_module(elf, &go, &unwind);
	if (elf)
		elf_end(elf);
	close(fd);
	return go || unwind;
}

int bpfi_retprobe_check(const char *path, uint64_t func_off, uint64_t func_size,
			struct bpfi_log *log)
{
	const char *go = NULL, *unwind = NULL;
	Elf *elf;
	int fd, err = 0;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* not ours to judge: the attach says what is wrong with the file */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF)
		scan_module(elf, &go, &unwind);
	if (go)
		err = bpfi_log_err(
			log, -EOPNOTSUPP,
			"%s: a Go module (%s): a return probe replaces return addresses that Go's runtime reads when it copies and walks goroutine stacks (the program would die); entry probes work",
			path, go);
	else if (unwind && !function_is_leaf(fd, func_off, func_size))
		err = bpfi_log_err(
			log, -EOPNOTSUPP,
			"%s: the function at offset 0x%llx: an exception can unwind through it (the module uses %s), and an unwinder finds no frame for the return address a return probe replaces (std::terminate); entry probes work",
			path, (unsigned long long)func_off, unwind);
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}
