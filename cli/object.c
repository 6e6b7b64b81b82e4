// SPDX-License-Identifier: MIT
/*
 * Opening an eBPF object and loading it through the runtime with libbpf, so that every
 * program passes the load-time check; a program the check rejects is recorded with its reason
 * and the object is loaded again without it, so that the others can still be shown and run.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpfinject/btfcheck.h>

#include "cli_internal.h"

/* Log buffer each program gets from libbpf on its (retried) failed load. */
#define PROG_LOG_SIZE (64 * 1024)

#ifndef EM_BPF
#define EM_BPF 247
#endif

static bool has_elf_magic(int fd)
{
	char magic[SELFMAG];

	return pread(fd, magic, SELFMAG, 0) == SELFMAG && !memcmp(magic, ELFMAG, SELFMAG);
}

/* The bytes of section @scn, or NULL if it has none. */
static const void *scn_bytes(Elf_Scn *scn, size_t *ret_size)
{
	Elf_Data *d = elf_rawdata(scn, NULL);

	*ret_size = d ? d->d_size : 0;
	return d && d->d_buf && d->d_size ? d->d_buf : NULL;
}

/*
 * .BTF and .BTF.ext pass the strict check before libbpf sees them: libbpf 1.1 follows type
 * ids, string offsets and records it never checked, and crashes on bad ones.
 */
static int check_btf(const char *path, Elf_Scn *btf, Elf_Scn *ext)
{
	char why[CLI_REASON_MAX] = "";
	struct bpfi_log log = { .buf = why, .size = sizeof(why) };
	const void *data, *ext_data = NULL;
	size_t size, ext_size = 0;
	int err;

	data = scn_bytes(btf, &size);
	if (!data)
		return cli__err(path, "malformed BTF: empty .BTF section");
	if (ext && !(ext_data = scn_bytes(ext, &ext_size)))
		return cli__err(path, "malformed BTF: empty .BTF.ext section");
	err = bpfi_btf_check(data, size, ext_data, ext_size, &log);
	if (err == -ENOMEM)
		return cli__err(path, "%s", strerror(ENOMEM));
	if (err) {
		why[strcspn(why, "\n")] = '\0';
		return cli__err(path, "malformed BTF: %s", why);
	}
	return 0;
}

/* Checks libbpf would report only as a generic "format error" (-LIBBPF_ERRNO__FORMAT), or
 * not at all before it crashes. */
static int check_elf(const char *path, int fd, off_t file_size)
{
	Elf_Scn *scn = NULL, *btf = NULL, *btf_ext = NULL;
	const char *name;
	size_t shstrndx;
	GElf_Ehdr ehdr;
	GElf_Shdr shdr;
	Elf *elf;
	int ret = 0;

	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		/* libelf does not recognise an ELF cut inside its header: the magic tells. */
		ret = cli__err(path, has_elf_magic(fd) ? "truncated: shorter than an ELF header"
						       : "not an ELF file");
		goto out;
	}
	if (!gelf_getehdr(elf, &ehdr)) {
		ret = cli__err(path, "truncated or corrupt ELF header");
		goto out;
	}
	if (elf_getshdrstrndx(elf, &shstrndx)) {
		ret = cli__err(path, "corrupt ELF: no section name table");
		goto out;
	}
	if (ehdr.e_machine != EM_BPF) {
		ret = cli__err(path, "not an eBPF object (ELF machine %u, expected %u for BPF)",
			       ehdr.e_machine, EM_BPF);
		goto out;
	}
	if (ehdr.e_shoff + (uint64_t)ehdr.e_shnum * ehdr.e_shentsize > (uint64_t)file_size) {
		ret = cli__err(path, "truncated: section headers end at byte %llu, file has %lld",
			       (unsigned long long)(ehdr.e_shoff +
						    (uint64_t)ehdr.e_shnum * ehdr.e_shentsize),
			       (long long)file_size);
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr)) {
			ret = cli__err(path, "corrupt section header");
			goto out;
		}
		if (shdr.sh_type == SHT_NOBITS)
			continue;
		if (shdr.sh_offset + shdr.sh_size > (uint64_t)file_size) {
			ret = cli__err(path,
				       "truncated: section %zu ends at byte %llu, file has %lld",
				       elf_ndxscn(scn),
				       (unsigned long long)(shdr.sh_offset + shdr.sh_size),
				       (long long)file_size);
			goto out;
		}
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (name && !strcmp(name, ".BTF"))
			btf = scn;
		else if (name && !strcmp(name, ".BTF.ext"))
			btf_ext = scn;
	}
	/* libbpf ignores .BTF.ext without .BTF. */
	if (btf)
		ret = check_btf(path, btf, btf_ext);
out:
	elf_end(elf);
	return ret;
}

int cli__obj_check_file(const char *path)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli__err(path, "%s", strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = cli__err(path, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = cli__err(path, "not a regular file");
		goto out;
	}
	if (st.st_size == 0) {
		ret = cli__err(path, "empty file");
		goto out;
	}
	elf_version(EV_CURRENT);
	ret = check_elf(path, fd, st.st_size);
out:
	close(fd);
	return ret;
}

const char *cli__prog_type_str(enum bpf_prog_type type)
{
	const char *s = libbpf_bpf_prog_type_str(type);

	return s ? s : "unknown";
}

const char *cli__map_type_str(enum bpf_map_type type)
{
	const char *s = libbpf_bpf_map_type_str(type);

	return s ? s : "unknown";
}

/*
 * The reason in a verifier log: ours is one line; the kernel's ends with the reason followed
 * by statistics lines ("processed N insns ...", "verification time ..."), which are skipped.
 */
static void last_line(const char *log, char *out, size_t size)
{
	const char *end = log + strlen(log), *start = end;

	for (;;) {
		while (end > log && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		start = end;
		while (start > log && start[-1] != '\n')
			start--;
		if (start == log ||
		    (strncmp(start, "processed ", 10) && strncmp(start, "verification time", 17)))
			break;
		end = start;
	}
	snprintf(out, size, "%.*s", (int)(end - start), start);
}

static struct bpf_object *open_obj(const char *path)
{
	struct bpf_object *obj;
	const char *why;

	cli__libbpf_clear();
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		why = cli__libbpf_last_warning();
		cli__err(path, "not a loadable eBPF object: %s", why[0] ? why : strerror(errno));
	}
	return obj;
}

static int init_results(struct cli_obj *o, const char *keep_prog)
{
	struct bpf_program *prog;
	size_t n = 0;

	for (prog = bpf_object__next_program(o->obj, NULL); prog;
	     prog = bpf_object__next_program(o->obj, prog))
		n++;
	o->progs = calloc(n ? n : 1, sizeof(*o->progs));
	if (!o->progs)
		return cli__err(o->path, "%s", strerror(ENOMEM));
	o->nr_progs = n;
	n = 0;
	for (prog = bpf_object__next_program(o->obj, NULL); prog;
	     prog = bpf_object__next_program(o->obj, prog))
		snprintf(o->progs[n++].name, sizeof(o->progs[0].name), "%s",
			 bpf_program__name(prog));
	if (keep_prog && !bpf_object__find_program_by_name(o->obj, keep_prog))
		return cli__err(o->path, "no program named '%s'", keep_prog);
	return 0;
}

/*
 * Which program made bpf_object__load() fail: libbpf hands a program our log buffer only when
 * it retries a failed load, so a non-empty buffer names it; failing that, libbpf's message.
 */
static ssize_t find_failed(struct cli_obj *o, char *const *logs)
{
	const char *warn = cli__libbpf_prog_warning();
	size_t i;

	for (i = 0; i < o->nr_progs; i++) {
		if (!o->progs[i].rejected && logs[i][0]) {
			last_line(logs[i], o->progs[i].reason, sizeof(o->progs[i].reason));
			return i;
		}
	}
	for (i = 0; i < o->nr_progs; i++) {
		char needle[80];

		snprintf(needle, sizeof(needle), "prog '%s': ", o->progs[i].name);
		if (!o->progs[i].rejected && !strncmp(warn, needle, strlen(needle))) {
			snprintf(o->progs[i].reason, sizeof(o->progs[i].reason), "%s",
				 warn + strlen(needle));
			return i;
		}
	}
	return -1;
}

/* Keeps the instructions the check rejected, before the object that relocated them goes. */
static void save_rejected(struct cli_obj *o, size_t idx)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(o->obj, o->progs[idx].name);
	struct cli_prog_result *r = &o->progs[idx];
	const struct cli_map_name *maps;
	size_t n;

	if (!prog || !bpf_program__insns(prog))
		return;
	maps = cli__libbpf_created_maps(&n);
	r->insn_cnt = bpf_program__insn_cnt(prog);
	r->insns = malloc(r->insn_cnt * sizeof(*r->insns));
	r->maps = calloc(n ? n : 1, sizeof(*r->maps));
	if (!r->insns || !r->maps) {
		free(r->insns);
		free(r->maps);
		r->insns = NULL;
		r->maps = NULL;
		return;
	}
	memcpy(r->insns, bpf_program__insns(prog), r->insn_cnt * sizeof(*r->insns));
	memcpy(r->maps, maps, n * sizeof(*maps));
	r->nr_maps = n;
}

static int load_once(struct cli_obj *o, char *const *logs, ssize_t *ret_failed)
{
	struct bpf_program *prog;
	size_t i = 0;
	int err;

	for (prog = bpf_object__next_program(o->obj, NULL); prog;
	     prog = bpf_object__next_program(o->obj, prog)) {
		logs[i][0] = '\0';
		bpf_program__set_log_buf(prog, logs[i], PROG_LOG_SIZE);
		if (o->progs[i].rejected)
			bpf_program__set_autoload(prog, false);
		i++;
	}
	cli__libbpf_clear();
	err = bpf_object__load(o->obj);
	*ret_failed = err ? find_failed(o, logs) : -1;
	return err;
}

static void free_logs(char **logs, size_t n)
{
	size_t i;

	for (i = 0; logs && i < n; i++)
		free(logs[i]);
	free(logs);
}

int cli__obj_load(const char *path, const char *keep_prog, struct cli_obj *ret_obj)
{
	struct cli_obj o = { .path = path };
	char **logs = NULL;
	ssize_t failed;
	size_t i, attempt;
	int err = EXIT_FAILURE;

	if (cli__obj_check_file(path))
		return EXIT_FAILURE;
	o.obj = open_obj(path);
	if (!o.obj || init_results(&o, keep_prog))
		goto fail;
	logs = calloc(o.nr_progs + 1, sizeof(*logs));
	for (i = 0; logs && i < o.nr_progs; i++)
		if (!(logs[i] = malloc(PROG_LOG_SIZE)))
			break;
	if (!logs || i < o.nr_progs) {
		cli__err(path, "%s", strerror(ENOMEM));
		goto fail;
	}
	/* Each failed attempt rejects one more program, so this ends. */
	for (attempt = 0; attempt <= o.nr_progs; attempt++) {
		if (!o.obj && !(o.obj = open_obj(path)))
			goto fail;
		err = load_once(&o, logs, &failed);
		if (!err)
			break;
		if (failed < 0) {
			const char *why = cli__libbpf_last_warning();

			/* Left out, a rejected program can fail the rest (a PROG_ARRAY slot
			 * naming it): its reason is the one to give. */
			for (i = 0; i < o.nr_progs && !o.progs[i].rejected; i++)
				;
			if (i < o.nr_progs)
				cli__err(path, "prog '%s' rejected: %s", o.progs[i].name,
					 o.progs[i].reason);
			else
				cli__err(path, "cannot load: %s", why[0] ? why : strerror(-err));
			goto fail;
		}
		o.progs[failed].rejected = true;
		save_rejected(&o, (size_t)failed);
		if (keep_prog && !strcmp(keep_prog, o.progs[failed].name)) {
			cli__err(path, "prog '%s' rejected: %s", keep_prog, o.progs[failed].reason);
			goto fail;
		}
		bpf_object__close(o.obj);
		o.obj = NULL;
	}
	if (err) {
		cli__err(path, "cannot load: %s", strerror(-err));
		goto fail;
	}
	free_logs(logs, o.nr_progs);
	*ret_obj = o;
	return 0;
fail:
	free_logs(logs, o.nr_progs);
	cli__obj_close(&o);
	return EXIT_FAILURE;
}

void cli__obj_close(struct cli_obj *o)
{
	size_t i;

	bpf_object__close(o->obj);
	for (i = 0; o->progs && i < o->nr_progs; i++) {
		free(o->progs[i].insns);
		free(o->progs[i].maps);
	}
	free(o->progs);
	o->obj = NULL;
	o->progs = NULL;
	o->nr_progs = 0;
}

const struct cli_prog_result *cli__obj_result(const struct cli_obj *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->nr_progs; i++)
		if (!strcmp(o->progs[i].name, name))
			return &o->progs[i];
	return NULL;
}

const char *cli__map_name_by_fd(const struct cli_obj *o, int fd)
{
	struct bpf_map *map;

	for (map = bpf_object__next_map(o->obj, NULL); map; map = bpf_object__next_map(o->obj, map))
		if (bpf_map__fd(map) == fd)
			return bpf_map__name(map);
	return NULL;
}

const char *cli__rejected_map_name(const struct cli_prog_result *r, int fd)
{
	size_t i;

	for (i = 0; i < r->nr_maps; i++)
		if (r->maps[i].fd == fd)
			return r->maps[i].name;
	return NULL;
}
