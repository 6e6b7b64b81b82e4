// SPDX-License-Identifier: MIT
/*
 * Finding the `syscall` instructions of a module and deciding which can take a 5-byte jump
 * (DESIGN.md D5): a linear sweep with Zydis (resynchronised at function starts), a window of
 * whole instructions ending with the `syscall` (any but calls, returns, jumps, traps and
 * short-only branches: a jcc moves, retargeted), and no known direct branch into it.
 * Indirect branches (jump tables) are not followed: a window is refused only for the
 * branches a linear sweep sees, and for function starts from the symbol tables.
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

/*
 * Preferred: 5 bytes before the `syscall`, so that the jump leaves the `syscall` itself intact
 * (a thread blocked in it when we patch is restarted by the kernel at its address after a
 * signal, and must find it there). Accepted: 3 bytes (the jump covers the `syscall`).
 */
#define PRE_SAFE 5
#define PRE_MIN	 (BPFI_PATCH_LEN - 2)
#define RING	 8 /* instructions remembered before a `syscall` */

struct prev_insn {
	uint64_t off;
	uint8_t len;
	bool movable; /* may run displaced: not a branch, call, return or trap */
	bool writes_ax;
	int64_t ax_imm; /* writes_ax with a constant (mov $imm, %eax/%rax), else -1 */
};

/* A site as the sweep found it, before branch targets are all known. */
struct candidate {
	uint64_t addr;
	uint64_t win_safe; /* window start with >= PRE_SAFE bytes before, 0 if none */
	uint64_t win_min; /* window start with >= PRE_MIN bytes before, 0 if none */
	uint64_t mov_addr; /* the mov that sets the number, 0 if none */
	int nr;
};

struct sweep {
	ZydisDecoder dec;
	uint64_t *targets;
	size_t nr_targets, cap_targets;
	struct candidate *cands;
	size_t nr_cands, cap_cands;
	struct prev_insn ring[RING];
	unsigned int ring_len; /* valid entries, newest last */
};

static int grow(void **arr, size_t *cap, size_t want, size_t elem)
{
	void *p;
	size_t n;

	if (want <= *cap)
		return 0;
	n = *cap ? *cap * 2 : 256;
	while (n < want)
		n *= 2;
	p = realloc(*arr, n * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

static int add_target(struct sweep *s, uint64_t target)
{
	if (grow((void **)&s->targets, &s->cap_targets, s->nr_targets + 1, sizeof(uint64_t)))
		return -ENOMEM;
	s->targets[s->nr_targets++] = target;
	return 0;
}

static bool is_movable(const ZydisDecodedInstruction *insn)
{
	switch (insn->meta.category) {
	case ZYDIS_CATEGORY_COND_BR:
		/* jcc moves (retargeted, widened to rel32); loop and jrcxz have no wide form. */
		return insn->mnemonic != ZYDIS_MNEMONIC_LOOP &&
		       insn->mnemonic != ZYDIS_MNEMONIC_LOOPE &&
		       insn->mnemonic != ZYDIS_MNEMONIC_LOOPNE &&
		       insn->mnemonic != ZYDIS_MNEMONIC_JRCXZ &&
		       insn->mnemonic != ZYDIS_MNEMONIC_JECXZ;
	case ZYDIS_CATEGORY_UNCOND_BR:
	case ZYDIS_CATEGORY_CALL:
	case ZYDIS_CATEGORY_RET:
	case ZYDIS_CATEGORY_SYSCALL:
	case ZYDIS_CATEGORY_SYSRET:
	case ZYDIS_CATEGORY_INTERRUPT:
	case ZYDIS_CATEGORY_SYSTEM:
		return false;
	default:
		/* ud2 and hlt end a block and never run moved. */
		return insn->mnemonic != ZYDIS_MNEMONIC_UD2 && insn->mnemonic != ZYDIS_MNEMONIC_HLT;
	}
}

static bool is_ax(ZydisRegister r)
{
	return r == ZYDIS_REGISTER_RAX || r == ZYDIS_REGISTER_EAX || r == ZYDIS_REGISTER_AX ||
	       r == ZYDIS_REGISTER_AL || r == ZYDIS_REGISTER_AH;
}

/* Whether the instruction writes %rax (in any width), and with which constant if one. */
static void ax_write(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
		     struct prev_insn *p)
{
	p->writes_ax = false;
	p->ax_imm = -1;
	for (unsigned int i = 0; i < insn->operand_count; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER && is_ax(ops[i].reg.value) &&
		    (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			p->writes_ax = true;
	}
	if (p->writes_ax && insn->mnemonic == ZYDIS_MNEMONIC_XOR &&
	    ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[0].reg.value == ops[1].reg.value &&
	    (ops[0].reg.value == ZYDIS_REGISTER_EAX || ops[0].reg.value == ZYDIS_REGISTER_RAX)) {
		p->ax_imm = 0; /* xor %eax, %eax: read (0) */
		return;
	}
	if (!p->writes_ax || insn->mnemonic != ZYDIS_MNEMONIC_MOV ||
	    insn->operand_count_visible != 2 || ops[1].type != ZYDIS_OPERAND_TYPE_IMMEDIATE)
		return;
	if ((ops[0].reg.value == ZYDIS_REGISTER_EAX || ops[0].reg.value == ZYDIS_REGISTER_RAX) &&
	    ops[1].imm.value.s >= 0 && ops[1].imm.value.s < 4096)
		p->ax_imm = ops[1].imm.value.s;
}

/* Walks back over the remembered instructions before the `syscall` at @off. */
static void plan_site(struct sweep *s, uint64_t base, uint64_t off, struct candidate *c)
{
	uint64_t pre = 0;
	bool nr_done = false;

	*c = (struct candidate){ .addr = base + off, .nr = -1 };
	for (unsigned int i = s->ring_len; i-- > 0;) {
		const struct prev_insn *p = &s->ring[i];

		if (!p->movable)
			break;
		pre += p->len;
		if (!c->win_min && pre >= PRE_MIN)
			c->win_min = base + p->off;
		if (!c->win_safe && pre >= PRE_SAFE)
			c->win_safe = base + p->off;
		if (!nr_done && p->writes_ax) {
			nr_done = true;
			if (p->ax_imm >= 0) {
				c->nr = (int)p->ax_imm;
				c->mov_addr = base + p->off;
			}
		}
		if (c->win_safe && nr_done)
			break;
	}
}

static void remember(struct sweep *s, const struct prev_insn *p)
{
	if (s->ring_len == RING) {
		memmove(s->ring, s->ring + 1, sizeof(s->ring[0]) * (RING - 1));
		s->ring_len--;
	}
	s->ring[s->ring_len++] = *p;
}

/* Relative branch and call targets, to refuse windows that something jumps into. */
static int note_targets(struct sweep *s, const ZydisDecodedInstruction *insn,
			const ZydisDecodedOperand *ops, uint64_t at)
{
	if (!(insn->attributes & ZYDIS_ATTRIB_IS_RELATIVE))
		return 0;
	for (unsigned int i = 0; i < insn->operand_count_visible; i++) {
		ZyanU64 target;

		if (ops[i].type != ZYDIS_OPERAND_TYPE_IMMEDIATE || !ops[i].imm.is_relative)
			continue;
		if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(insn, &ops[i], at, &target)) &&
		    add_target(s, target))
			return -ENOMEM;
	}
	return 0;
}

static int sweep_code(struct sweep *s, const uint8_t *code, size_t len, uint64_t addr,
		      const uint64_t *starts, size_t nr_starts)
{
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecodedInstruction insn;
	size_t si = 0;

	s->ring_len = 0;
	for (uint64_t off = 0; off < len;) {
		struct prev_insn p = { .off = off };

		while (si < nr_starts && starts[si] <= addr + off)
			si++;
		if (!ZYAN_SUCCESS(
			    ZydisDecoderDecodeFull(&s->dec, code + off, len - off, &insn, ops))) {
			s->ring_len = 0; /* data or padding: what follows starts afresh */
			off++;
			continue;
		}
		/* An instruction running over a function start was a misdecode: restart there. */
		if (si < nr_starts && starts[si] < addr + off + insn.length) {
			s->ring_len = 0;
			off = starts[si] - addr;
			continue;
		}
		if (note_targets(s, &insn, ops, addr + off))
			return -ENOMEM;
		if (insn.mnemonic == ZYDIS_MNEMONIC_SYSCALL) {
			if (grow((void **)&s->cands, &s->cap_cands, s->nr_cands + 1,
				 sizeof(s->cands[0])))
				return -ENOMEM;
			plan_site(s, addr, off, &s->cands[s->nr_cands++]);
		}
		p.len = insn.length;
		p.movable = is_movable(&insn);
		ax_write(&insn, ops, &p);
		remember(s, &p);
		off += insn.length;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether any known target lies in (lo, hi]. */
static bool targeted(const struct sweep *s, uint64_t lo, uint64_t hi)
{
	size_t a = 0, b = s->nr_targets;

	while (a < b) { /* first target > lo */
		size_t m = a + (b - a) / 2;

		if (s->targets[m] <= lo)
			a = m + 1;
		else
			b = m;
	}
	return a < s->nr_targets && s->targets[a] <= hi;
}

static void classify(const struct sweep *s, const struct candidate *c,
		     struct bpfi_syscall_site *site)
{
	*site = (struct bpfi_syscall_site){ .addr = c->addr, .nr = c->nr };
	if (c->mov_addr && targeted(s, c->mov_addr, c->addr))
		site->nr = -1; /* another path reaches the `syscall` with its own %eax */
	if (!c->win_min) {
		site->reason = "fewer than 3 bytes of movable instructions before it";
		return;
	}
	if (c->win_safe && !targeted(s, c->win_safe, c->addr)) {
		site->win_addr = c->win_safe;
		site->restart_safe = true;
	} else if (!targeted(s, c->win_min, c->addr)) {
		site->win_addr = c->win_min;
	} else {
		site->reason = "a branch jumps inside the bytes the jump would replace";
		return;
	}
	site->win_len = (uint8_t)(c->addr + 2 - site->win_addr);
	site->rewritable = true;
}

static int finish(struct sweep *s, struct bpfi_syscall_scan *scan)
{
	size_t n = scan->nr_sites + s->nr_cands;
	struct bpfi_syscall_site *sites = realloc(scan->sites, (n ? n : 1) * sizeof(*sites));

	if (!sites)
		return -ENOMEM;
	scan->sites = sites;
	if (s->nr_targets)
		qsort(s->targets, s->nr_targets, sizeof(uint64_t), cmp_u64);
	for (size_t i = 0; i < s->nr_cands; i++) {
		struct bpfi_syscall_site *site = &scan->sites[scan->nr_sites++];

		classify(s, &s->cands[i], site);
		scan->nr_rewritable += site->rewritable;
		scan->nr_const += site->nr >= 0;
	}
	return 0;
}

static void sweep_free(struct sweep *s)
{
	free(s->targets);
	free(s->cands);
}

int bpfi_syscall_scan_code(const uint8_t *code, size_t len, uint64_t addr, const uint64_t *starts,
			   size_t nr_starts, struct bpfi_syscall_scan *scan, struct bpfi_log *log)
{
	struct sweep s = { 0 };
	int err;

	ZydisDecoderInit(&s.dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	err = sweep_code(&s, code, len, addr, starts, nr_starts);
	for (size_t i = 0; !err && i < nr_starts; i++)
		err = add_target(&s, starts[i]); /* a function entry inside a window, too */
	if (!err)
		err = finish(&s, scan);
	sweep_free(&s);
	if (err)
		return bpfi_log_err(log, err, "out of memory scanning for syscall sites");
	return 0;
}

void bpfi_syscall_scan_free(struct bpfi_syscall_scan *scan)
{
	if (!scan)
		return;
	free(scan->sites);
	memset(scan, 0, sizeof(*scan));
}

/* Function starts from .symtab (else .dynsym), sorted, at @bias + their value. */
static int function_starts(Elf *elf, uint64_t bias, uint64_t **ret, size_t *ret_n)
{
	Elf_Scn *scn = NULL, *use = NULL;
	uint64_t *starts = NULL;
	size_t n = 0, cap = 0;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB || (sh.sh_type == SHT_DYNSYM && !use))
			use = scn;
	}
	if (use && gelf_getshdr(use, &sh) && sh.sh_entsize) {
		Elf_Data *data = elf_getdata(use, NULL);

		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			int type;

			if (!gelf_getsym(data, (int)i, &sym) || !sym.st_value ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			type = GELF_ST_TYPE(sym.st_info);
			if (type != STT_FUNC && type != STT_GNU_IFUNC)
				continue;
			if (grow((void **)&starts, &cap, n + 1, sizeof(*starts))) {
				free(starts);
				return -ENOMEM;
			}
			starts[n++] = bias + sym.st_value;
		}
	}
	if (n)
		qsort(starts, n, sizeof(*starts), cmp_u64);
	*ret = starts;
	*ret_n = n;
	return 0;
}

/* Sweeps every executable section; with no section headers, every executable segment. */
static int sweep_elf(struct sweep *s, Elf *elf, uint64_t bias, const uint64_t *starts,
		     size_t nr_starts)
{
	Elf_Scn *scn = NULL;
	size_t nr_phdr, raw_len;
	bool any = false;
	const char *raw;
	int err = 0;

	while (!err && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		any = true;
		err = sweep_code(s, data->d_buf, data->d_size, bias + sh.sh_addr, starts,
				 nr_starts);
	}
	if (any || err)
		return err;
	raw = elf_rawfile(elf, &raw_len);
	if (!raw || elf_getphdrnum(elf, &nr_phdr))
		return 0;
	for (size_t i = 0; !err && i < nr_phdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    !(ph.p_flags & PF_X) || ph.p_offset + ph.p_filesz > raw_len)
			continue;
		err = sweep_code(s, (const uint8_t *)raw + ph.p_offset, ph.p_filesz,
				 bias + ph.p_vaddr, starts, nr_starts);
	}
	return err;
}

int bpfi_syscall_scan_file(const char *path, uint64_t bias, struct bpfi_syscall_scan *ret,
			   struct bpfi_log *log)
{
	struct sweep s = { 0 };
	uint64_t *starts = NULL;
	size_t nr_starts = 0;
	Elf *elf = NULL;
	int fd, err;

	memset(ret, 0, sizeof(*ret));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bpfi_log_err(log, -errno, "cannot open '%s': %s", path, strerror(errno));
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = bpfi_log_err(log, -ENOEXEC, "'%s' is not an ELF file", path);
		goto out;
	}
	ZydisDecoderInit(&s.dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	err = function_starts(elf, bias, &starts, &nr_starts);
	if (!err)
		err = sweep_elf(&s, elf, bias, starts, nr_starts);
	for (size_t i = 0; !err && i < nr_starts; i++)
		err = add_target(&s, starts[i]);
	if (!err)
		err = finish(&s, ret);
	if (err)
		err = bpfi_log_err(log, err, "out of memory scanning '%s' for syscall sites", path);
out:
	sweep_free(&s);
	free(starts);
	if (elf)
		elf_end(elf);
	close(fd);
	if (err)
		bpfi_syscall_scan_free(ret);
	return err;
}
