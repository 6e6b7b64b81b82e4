// SPDX-License-Identifier: MIT
/*
 * Finding a function in an ELF file: .symtab, then .dynsym, then the separate debug file
 * named by the build id (/usr/lib/debug/.build-id/xx/yyyy.debug), accepting versioned names
 * (`malloc` matches `malloc@@GLIBC_2.2.5`). The answer is a file offset, which is what a
 * uprobe names (libbpf's config2) and what /proc/PID/maps translates into an address.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "injector_internal.h"

struct elf_file {
	int fd;
	Elf *elf;
};

static int elf_file_open(const char *path, struct elf_file *f)
{
	f->elf = NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		if (f->elf)
			elf_end(f->elf);
		close(f->fd);
		return -ENOEXEC;
	}
	return 0;
}

static void elf_file_close(struct elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
}

/* `name` equals the symbol, or the symbol is `name@VERSION` / `name@@VERSION`. */
static bool name_matches(const char *sym, const char *name)
{
	size_t n = strlen(name);

	return strncmp(sym, name, n) == 0 && (sym[n] == '\0' || sym[n] == '@');
}

static bool is_function(const GElf_Sym *sym)
{
	return GELF_ST_TYPE(sym->st_info) == STT_FUNC ||
	       GELF_ST_TYPE(sym->st_info) == STT_GNU_IFUNC;
}

/* Looks @name up in the symbol table of @type; a defined function or object wins. */
static int find_in_table(Elf *elf, Elf64_Word type, const char *name, GElf_Sym *ret_sym)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *sname;

			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    !is_function(&sym))
				continue;
			sname = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (sname && name_matches(sname, name)) {
				*ret_sym = sym;
				return 0;
			}
		}
	}
	return -ENOENT;
}

/* The path of the separate debug file of @elf, from its GNU build id note. */
static int debug_file_path(Elf *elf, char *path, size_t size)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const uint8_t *id = (const uint8_t *)data->d_buf + desc_off;
			int n;

			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_descsz < 2)
				continue;
			n = snprintf(path, size, "/usr/lib/debug/.build-id/%02x/", id[0]);
			for (size_t i = 1; i < nh.n_descsz && (size_t)n + 3 < size; i++)
				n += snprintf(path + n, size - (size_t)n, "%02x", id[i]);
			snprintf(path + n, size - (size_t)n, ".debug");
			return 0;
		}
	}
	return -ENOENT;
}

/* Virtual address -> file offset, through the PT_LOAD segment that holds it. */
static int vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *ret_off)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return -ENOEXEC;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*ret_off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

int bpfi_elf_find_function(const char *path, const char *name, uint64_t *ret_off,
			   uint64_t *ret_size, struct bpfi_log *log)
{
	struct elf_file f, dbg = { .fd = -1 };
	char dbg_path[512];
	GElf_Sym sym;
	int err;

	elf_version(EV_CURRENT);
	err = elf_file_open(path, &f);
	if (err == -ENOEXEC)
		return bpfi_log_err(log, err, "%s: not an ELF file", path);
	if (err)
		return bpfi_log_err(log, err, "%s: %s", path, strerror(-err));
	err = find_in_table(f.elf, SHT_SYMTAB, name, &sym);
	if (err)
		err = find_in_table(f.elf, SHT_DYNSYM, name, &sym);
	if (err && !debug_file_path(f.elf, dbg_path, sizeof(dbg_path)) &&
	    !elf_file_open(dbg_path, &dbg))
		err = find_in_table(dbg.elf, SHT_SYMTAB, name, &sym);
	if (!err)
		err = vaddr_to_offset(f.elf, sym.st_value, ret_off);
	if (!err && ret_size)
		*ret_size = sym.st_size;
	elf_file_close(&dbg);
	elf_file_close(&f);
	if (err)
		return bpfi_log_err(log, -ENOENT, "%s: no function named '%s'", path, name);
	return 0;
}

/*
 * The function whose [offset, offset + size) holds file offset @off, from one symbol table;
 * failing that, a function without a size that starts exactly at @off (size 0).
 */
static int function_at(Elf *elf, Elf *layout, Elf64_Word type, uint64_t off, uint64_t *ret_off,
		       uint64_t *ret_size, char *name, size_t name_size)
{
	Elf_Scn *scn = NULL;
	const char *start_name = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			uint64_t start;
			const char *s;

			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    !is_function(&sym))
				continue;
			if (vaddr_to_offset(layout, sym.st_value, &start))
				continue;
			s = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!sym.st_size) {
				if (start == off && !start_name)
					start_name = s ? s : "?";
				continue;
			}
			if (off >= start && off < start + sym.st_size) {
				*ret_off = start;
				*ret_size = sym.st_size;
				if (name)
					snprintf(name, name_size, "%s", s ? s : "?");
				return 0;
			}
		}
	}
	if (!start_name)
		return -ENOENT;
	*ret_off = off;
	*ret_size = 0;
	if (name)
		snprintf(name, name_size, "%s", start_name);
	return 0;
}

int bpfi_elf_function_at(const char *path, uint64_t off, uint64_t *ret_func_off, uint64_t *ret_size,
			 struct bpfi_log *log)
{
	return bpfi_elf_function_name_at(path, off, ret_func_off, ret_size, NULL, 0, log);
}

int bpfi_elf_function_name_at(const char *path, uint64_t off, uint64_t *ret_func_off,
			      uint64_t *ret_size, char *name, size_t name_size,
			      struct bpfi_log *log)
{
	struct elf_file f, dbg = { .fd = -1 };
	char dbg_path[512];
	int err;

	elf_version(EV_CURRENT);
	err = elf_file_open(path, &f);
	if (err)
		return bpfi_log_err(log, err, "%s: %s", path,
				    err == -ENOEXEC ? "not an ELF file" : strerror(-err));
	err = function_at(f.elf, f.elf, SHT_SYMTAB, off, ret_func_off, ret_size, name, name_size);
	if (err)
		err = function_at(f.elf, f.elf, SHT_DYNSYM, off, ret_func_off, ret_size, name,
				  name_size);
	/* The debug file's symbols, placed by the file's own segments (as in find_function). */
	if (err && !debug_file_path(f.elf, dbg_path, sizeof(dbg_path)) &&
	    !elf_file_open(dbg_path, &dbg))
		err = function_at(dbg.elf, f.elf, SHT_SYMTAB, off, ret_func_off, ret_size, name,
				  name_size);
	elf_file_close(&dbg);
	elf_file_close(&f);
	return err;
}

int bpfi_elf_image_symbol(const void *image, size_t size, const char *name, uint64_t *ret_value)
{
	GElf_Sym sym;
	Elf *elf;
	int err;

	elf_version(EV_CURRENT);
	elf = elf_memory((char *)(uintptr_t)image, size);
	if (!elf)
		return -ENOEXEC;
	err = find_in_table(elf, SHT_DYNSYM, name, &sym);
	if (!err)
		*ret_value = sym.st_value;
	elf_end(elf);
	return err;
}
