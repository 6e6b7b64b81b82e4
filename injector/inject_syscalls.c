// SPDX-License-Identifier: MIT
/*
 * Syscall tracepoints inside a target (DESIGN.md D5, D8, D9): programs recorded per event in
 * the target block, the `syscall` sites of every module mapped executable given a trampoline
 * near them, their jumps written by bpfi_target_commit() in the same stop as uprobes and put
 * back by bpfi_target_restore(), and a report of what was and was not rewritten, and why.
 *
 * The sites and their original bytes are kept in the block (block->sc.sites), not here, so
 * that a fresh bpfinject (`detach -p PID`, bpfi_target_find()) restores them too.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "injector_internal.h"

/* The stub's view of the records and the trampolines' must agree field for field. */
_Static_assert(sizeof(struct bpfi_sc_enter_ctx) == sizeof(struct bpfi_syscall_enter_rec),
	       "enter record size");
_Static_assert(offsetof(struct bpfi_sc_enter_ctx, override_ret) ==
		       offsetof(struct bpfi_syscall_enter_rec, override_ret),
	       "override_ret offset");
_Static_assert(offsetof(struct bpfi_sc_exit_ctx, ret) ==
		       offsetof(struct bpfi_syscall_exit_rec, ret),
	       "ret offset");

static const char reason_reach[] = "no room for a trampoline within reach of it";
static const char reason_full[] = "more syscall sites than the block holds";
static const char reason_uprobe[] = "a uprobe is patched over it";
static const char reason_changed[] = "its bytes in memory differ from the file";
static const char reason_inside[] = "a thread was inside its window when patching";
static const char reason_blocked[] =
	"a thread was blocked in it, and the jump would cover its restart";
static const char reason_gadgets[] = "no catch-all gadget left for it";
static const char reason_moved[] = "its bytes changed between planning and patching";

/* Counts @reason for @m, keeping the first address it was seen at. */
static void note_why(struct bpfi_syscall_module *m, const char *reason, uint64_t addr)
{
	unsigned int i;

	for (i = 0; i < m->nr_why; i++) {
		if (m->why[i].reason == reason || !strcmp(m->why[i].reason, reason)) {
			m->why[i].count++;
			return;
		}
	}
	if (i == BPFI_SC_REPORT_REASONS)
		i--; /* the last slot collects what does not fit */
	else
		m->nr_why++;
	m->why[i].reason = reason;
	m->why[i].count = 1;
	m->why[i].first_addr = addr;
}

static int set_event(struct bpfi_sc_event *ev, uint32_t id, uint64_t prog_fn, const char *what,
		     struct bpfi_log *log)
{
	uint32_t n = atomic_load(&ev->nr_progs);

	if (n == BPFI_SC_MAX_PROGS)
		return bpfi_log_err(log, -E2BIG, "more than %d programs on %s", BPFI_SC_MAX_PROGS,
				    what);
	ev->id = id;
	ev->progs[n] = prog_fn;
	atomic_store_explicit(&ev->nr_progs, n + 1, memory_order_release);
	return 0;
}

int bpfi_target_add_syscall_prog(struct bpfi_target *t, long nr, bool exit, uint64_t prog_fn,
				 struct bpfi_log *log)
{
	struct bpfi_sc_table *sc = &t->block->sc;
	const struct bpfi_syscall *s = NULL;
	struct bpfi_syscall_ids ids;
	char what[96];
	int err;

	if (nr != -1) {
		err = bpfi_syscall_by_nr(nr, &s, log);
		if (err)
			return err;
		if (nr >= BPFI_SC_NR_MAX)
			return bpfi_log_err(log, -ENOENT, "syscall %ld is beyond the table (%d)",
					    nr, BPFI_SC_NR_MAX);
	}
	err = bpfi_syscall_live_ids(s, NULL, &ids, log);
	if (err)
		return err;
	if (s)
		snprintf(what, sizeof(what), "syscalls/sys_%s_%s", exit ? "exit" : "enter",
			 s->event);
	else
		snprintf(what, sizeof(what), "raw_syscalls/sys_%s", exit ? "exit" : "enter");
	if (!s)
		return set_event(exit ? &sc->raw_exit : &sc->raw_enter, exit ? ids.exit : ids.enter,
				 prog_fn, what, log);
	return set_event(exit ? &sc->exit[nr] : &sc->enter[nr], exit ? ids.exit : ids.enter,
			 prog_fn, what, log);
}

/*
 * The syscall whose event has @id on this kernel: the built-in table's guess when tracefs
 * agrees (or is not readable), else a search of the live ids (another kernel numbers them
 * differently).
 */
static bool syscall_by_live_id(uint32_t id, const struct bpfi_syscall **ret, bool *ret_exit)
{
	const struct bpfi_syscall *table;
	struct bpfi_syscall_ids ids;
	size_t n;

	if (!bpfi_syscall_by_event_id(id, ret, ret_exit, NULL) &&
	    !bpfi_syscall_live_ids(*ret, NULL, &ids, NULL) &&
	    (*ret_exit ? ids.exit : ids.enter) == id)
		return true;
	n = bpfi_syscall_table(&table);
	for (size_t i = 0; i < n; i++) {
		if (!table[i].event || bpfi_syscall_live_ids(&table[i], NULL, &ids, NULL) ||
		    !ids.live || (ids.enter != id && ids.exit != id))
			continue;
		*ret = &table[i];
		*ret_exit = ids.exit == id;
		return true;
	}
	return false;
}

int bpfi_target_add_syscall_event(struct bpfi_target *t, const char *name, uint32_t id,
				  uint64_t prog_fn, struct bpfi_log *log)
{
	const struct bpfi_syscall *s;
	struct bpfi_syscall_ids raw;
	const char *ev;
	bool exit;

	if (!name) {
		bpfi_syscall_live_ids(NULL, NULL, &raw, NULL);
		if (id == raw.enter || id == raw.exit)
			return bpfi_target_add_syscall_prog(t, -1, id == raw.exit, prog_fn, log);
		if (!syscall_by_live_id(id, &s, &exit))
			return bpfi_log_err(log, -ENOENT, "no syscall tracepoint has id %u", id);
		return bpfi_target_add_syscall_prog(t, s->nr, exit, prog_fn, log);
	}
	/* "syscalls:sys_enter_X", "syscalls/sys_enter_X", "raw_syscalls:sys_exit" */
	ev = strpbrk(name, ":/");
	ev = ev ? ev + 1 : name;
	if (!strncmp(name, "raw_syscalls", 12) &&
	    (!strcmp(ev, "sys_enter") || !strcmp(ev, "sys_exit")))
		return bpfi_target_add_syscall_prog(t, -1, !strcmp(ev, "sys_exit"), prog_fn, log);
	if (strncmp(ev, "sys_enter_", 10) && strncmp(ev, "sys_exit_", 9))
		return bpfi_log_err(log, -ENOENT, "no syscall tracepoint named '%s'", name);
	exit = !strncmp(ev, "sys_exit_", 9);
	if (bpfi_syscall_by_name(ev, &s, NULL))
		return bpfi_log_err(log, -ENOENT, "no syscall tracepoint named '%s'", name);
	return bpfi_target_add_syscall_prog(t, s->nr, exit, prog_fn, log);
}

/* One executable mapping of a regular file, from /proc/PID/maps. */
struct xmap {
	uint64_t start, end, off;
	unsigned long inode;
	char path[256];
};

static int read_xmaps(pid_t pid, struct xmap **ret, size_t *ret_n, struct bpfi_log *log)
{
	char path[64], line[1024];
	struct xmap *maps = NULL, *grown;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return bpfi_log_err(log, -errno, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		struct xmap m = { 0 };
		char perms[8], file[512] = "";
		unsigned long long s, e, o;
		size_t len;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %lu %511[^\n]", &s, &e, perms, &o,
			   &m.inode, file) < 5 ||
		    perms[2] != 'x' || file[0] != '/' || !m.inode)
			continue;
		len = strlen(file);
		if (len >= sizeof(m.path) || (len > 10 && !strcmp(file + len - 10, " (deleted)")))
			continue;
		memcpy(m.path, file, len + 1);
		m.start = s;
		m.end = e;
		m.off = o;
		grown = realloc(maps, (n + 1) * sizeof(*maps));
		if (!grown) {
			free(maps);
			fclose(f);
			return -ENOMEM;
		}
		maps = grown;
		maps[n++] = m;
	}
	fclose(f);
	*ret = maps;
	*ret_n = n;
	return 0;
}

/* Where the file's virtual addresses are in the process: from the PT_LOAD the mapping shows. */
static int module_bias(const struct xmap *m, uint64_t *ret_bias, struct bpfi_log *log)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(m->path, O_RDONLY | O_CLOEXEC), err = -ENOEXEC;

	if (fd < 0)
		return bpfi_log_err(log, -errno, "cannot open '%s': %s", m->path, strerror(errno));
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(ph))
		goto out;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		uint64_t page_off;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != sizeof(ph))
			break;
		page_off = ph.p_offset & ~4095ull;
		if (ph.p_type != PT_LOAD || m->off < page_off ||
		    m->off >= ph.p_offset + ph.p_filesz)
			continue;
		*ret_bias = m->start - ((ph.p_vaddr & ~4095ull) + (m->off - page_off));
		err = 0;
		break;
	}
out:
	close(fd);
	if (err)
		return bpfi_log_err(log, err, "'%s': no loadable segment maps offset 0x%llx",
				    m->path, (unsigned long long)m->off);
	return 0;
}

static bool overlaps_uprobe(const struct bpfi_target *t, uint64_t lo, uint64_t hi)
{
	for (unsigned int i = 0; i < t->nr_sites; i++) {
		if (t->sites[i].addr < hi && t->sites[i].addr + BPFI_PATCH_LEN > lo)
			return true;
	}
	return false;
}

/* The code area holding @addr, to write a trampoline that was built for its address. */
static uint8_t *host_of(struct bpfi_target *t, uint64_t addr)
{
	for (unsigned int i = 0; i < t->nr_areas; i++) {
		if (addr >= t->areas[i].addr && addr < t->areas[i].addr + CODE_AREA_SIZE)
			return t->areas[i].host + (addr - t->areas[i].addr);
	}
	return NULL;
}

static uint64_t gadget_for(void *ctx, uint64_t back)
{
	return inject__gadget(ctx, back);
}

/*
 * A trampoline for @site near it. Its code depends on its address, so it is built once to
 * learn its size, the room is taken, and it is built again where it lands.
 */
static int build_tramp(struct bpfi_target *t, const struct bpfi_syscall_site *site,
		       const uint8_t *window, uint64_t *ret_at, struct bpfi_log *log)
{
	uint8_t code[BPFI_SCTRAMP_MAX];
	struct bpfi_sctramp_opts o = {
		.site = site,
		.window = window,
		/* Provisional, far enough that no branch takes its short form, near enough
		 * that every one reaches: the size it gives is the size at any place in reach. */
		.tramp_addr = site->win_addr > (1ull << 31) ? site->win_addr - (1ull << 30)
							    : site->win_addr + (1ull << 30),
		.enter_dispatch = t->stub + t->stub_hdr.syscall_enter,
		.exit_dispatch = t->stub + t->stub_hdr.syscall_exit,
		.cookie = t->block_addr,
		.via_gadgets = t->catch_all,
	};
	size_t len, len2;
	uint8_t *host;
	int err;

	err = bpfi_sctramp_build(&o, code, sizeof(code), &len, log);
	if (!err)
		err = bpfi_target_add_code(t, code, len, site->win_addr, &o.tramp_addr, NULL);
	if (err == -ENOMEM || err == -E2BIG)
		return -ERANGE;
	if (err)
		return err;
	if (t->catch_all) { /* the gadgets are taken on the final build only */
		o.gadget = gadget_for;
		o.gadget_ctx = t;
	}
	err = bpfi_sctramp_build(&o, code, sizeof(code), &len2, log);
	host = host_of(t, o.tramp_addr);
	if (!err && (len2 > len || !host))
		err = bpfi_log_err(log, -EINVAL, "bug: syscall trampoline for 0x%llx changed size",
				   (unsigned long long)site->addr);
	if (err)
		return err;
	memcpy(host, code, len2);
	*ret_at = o.tramp_addr;
	return 0;
}

/* Plans one rewritable site: its window as it is in memory, its trampoline, its jump. */
static int plan_site(struct bpfi_target *t, int mem_fd, const struct bpfi_syscall_site *site,
		     unsigned int mod, struct bpfi_log *log)
{
	struct bpfi_syscall_module *m = &t->sc_mods[mod];
	struct bpfi_sc_table *sc = &t->block->sc;
	uint8_t window[32], patch[32];
	struct bpfi_sc_site *s;
	uint64_t at;
	int err;

	if (sc->nr_sites == BPFI_SC_MAX_SITES) {
		note_why(m, reason_full, site->addr);
		return 0;
	}
	if (overlaps_uprobe(t, site->win_addr, site->win_addr + site->win_len)) {
		note_why(m, reason_uprobe, site->addr);
		return 0;
	}
	if (site->win_len > sizeof(window) ||
	    pread(mem_fd, window, site->win_len, (off_t)site->win_addr) != site->win_len ||
	    memcmp(window + site->win_len - 2, "\x0f\x05", 2)) {
		note_why(m, reason_changed, site->addr);
		return 0;
	}
	err = build_tramp(t, site, window, &at, log);
	if (err == -ERANGE || err == -ENOSPC) {
		note_why(m, err == -ERANGE ? reason_reach : reason_gadgets, site->addr);
		return 0;
	}
	if (!err)
		err = bpfi_sctramp_patch(site, window, at, patch, log);
	if (err)
		return err;
	s = &sc->sites[sc->nr_sites];
	memset(s, 0, sizeof(*s));
	s->addr = site->win_addr;
	s->syscall_addr = site->addr;
	memcpy(s->orig, window, BPFI_PATCH_LEN);
	memcpy(s->jump, patch, BPFI_PATCH_LEN);
	s->win_len = site->win_len;
	s->restart_safe = site->restart_safe;
	s->module = (uint16_t)mod;
	s->state = BPFI_SC_SITE_PLANNED;
	sc->nr_sites++;
	m->planned++;
	return 0;
}

/* Sites of one module inside its executable mappings @maps[0..n) (same file). */
static int plan_module(struct bpfi_target *t, int mem_fd, const struct xmap *maps, size_t n,
		       struct bpfi_log *log)
{
	struct bpfi_syscall_module *m;
	struct bpfi_syscall_scan scan;
	uint64_t bias = 0;
	int err;

	if (t->nr_sc_mods == SC_MAX_MODULES)
		return bpfi_log_err(log, -E2BIG, "process %d: more than %d modules with code",
				    t->pid, SC_MAX_MODULES);
	err = module_bias(&maps[0], &bias, log);
	if (!err)
		err = bpfi_syscall_scan_file(maps[0].path, bias, &scan, log);
	if (err)
		return err;
	m = &t->sc_mods[t->nr_sc_mods++];
	memset(m, 0, sizeof(*m));
	snprintf(m->path, sizeof(m->path), "%s", maps[0].path);
	m->bias = bias;
	for (size_t i = 0; i < scan.nr_sites && !err; i++) {
		const struct bpfi_syscall_site *site = &scan.sites[i];
		bool mapped = false;

		for (size_t j = 0; j < n; j++)
			mapped |= site->addr >= maps[j].start && site->addr + 2 <= maps[j].end;
		if (!mapped)
			continue;
		m->found++;
		if (site->rewritable && site->win_addr < maps[0].start)
			note_why(m, "its window starts before the module's code", site->addr);
		else if (!site->rewritable)
			note_why(m, site->reason ? site->reason : "not rewritable", site->addr);
		else
			err = plan_site(t, mem_fd, site, t->nr_sc_mods - 1, log);
	}
	bpfi_syscall_scan_free(&scan);
	return err;
}

static bool module_known(const struct bpfi_target *t, const char *path)
{
	for (unsigned int i = 0; i < t->nr_sc_mods; i++) {
		if (!strcmp(t->sc_mods[i].path, path))
			return true;
	}
	return false;
}

int bpfi_target_plan_syscalls(struct bpfi_target *t, struct bpfi_log *log)
{
	struct xmap *maps = NULL;
	size_t nr_maps = 0;
	char path[64];
	int err, fd;

	if (!t->stub_hdr.syscall_enter || !t->stub_hdr.syscall_exit)
		return bpfi_log_err(log, -ENOTSUP, "the stub in process %d has no syscall dispatch",
				    t->pid);
	err = read_xmaps(t->pid, &maps, &nr_maps, log);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/mem", t->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(maps);
		return bpfi_log_err(log, -errno, "%s: %s", path, strerror(errno));
	}
	/* Mappings of one file are adjacent lines; a module is planned once, by path. */
	for (size_t i = 0; i < nr_maps && !err;) {
		size_t n = 1;

		while (i + n < nr_maps && maps[i + n].inode == maps[i].inode &&
		       !strcmp(maps[i + n].path, maps[i].path))
			n++;
		if (!module_known(t, maps[i].path))
			err = plan_module(t, fd, maps + i, n, log);
		i += n;
	}
	close(fd);
	free(maps);
	return err;
}

size_t bpfi_target_syscall_report(const struct bpfi_target *t,
				  const struct bpfi_syscall_module **ret_modules)
{
	*ret_modules = t->sc_mods;
	return t->nr_sc_mods;
}

/* Why site @s cannot be patched in this stop, or NULL. */
static const char *busy(const struct bpfi_target *t, const struct bpfi_sc_site *s)
{
	for (unsigned int i = 0; i < t->inj->nr_threads; i++) {
		const struct inj_thread *th = &t->inj->threads[i];

		if (th->gone)
			continue;
		if (th->saved.rip > s->addr && th->saved.rip < s->addr + BPFI_PATCH_LEN)
			return reason_inside;
		/* The kernel restarts an interrupted call at the `syscall`: it must stay intact. */
		if (!s->restart_safe && th->saved.rip == s->syscall_addr + 2)
			return reason_blocked;
	}
	return NULL;
}

/*
 * Writes the planned jumps. A site that cannot take its jump now is skipped and reported,
 * not fatal: the others still serve, and the uprobes planned with them stay all or nothing.
 */
int inject__syscalls_commit(struct bpfi_target *t, struct bpfi_log *log)
{
	struct bpfi_sc_table *sc = &t->block->sc;
	uint8_t now[BPFI_PATCH_LEN];
	int err = 0;

	for (uint32_t i = 0; i < sc->nr_sites && !err; i++) {
		struct bpfi_sc_site *s = &sc->sites[i];
		struct bpfi_syscall_module *m =
			s->module < t->nr_sc_mods ? &t->sc_mods[s->module] : NULL;
		const char *why;

		if (s->state != BPFI_SC_SITE_PLANNED)
			continue;
		why = busy(t, s);
		if (!why) {
			err = bpfi_injector_read(t->inj, s->addr, now, sizeof(now), log);
			if (!err && memcmp(now, s->orig, sizeof(now)))
				why = reason_moved;
		}
		if (!err && why) {
			s->state = BPFI_SC_SITE_SKIPPED;
			if (m)
				note_why(m, why, s->syscall_addr);
			continue;
		}
		if (!err)
			err = bpfi_injector_write(t->inj, s->addr, s->jump, BPFI_PATCH_LEN, log);
		if (!err) {
			s->state = BPFI_SC_SITE_PATCHED;
			if (m)
				m->rewritten++;
		}
	}
	if (!err)
		err = inject__catch_all_arm(t, log);
	return err;
}

static void stop_programs(struct bpfi_sc_table *sc)
{
	atomic_store(&sc->raw_enter.nr_progs, 0);
	atomic_store(&sc->raw_exit.nr_progs, 0);
	for (unsigned int nr = 0; nr < BPFI_SC_NR_MAX; nr++) {
		atomic_store(&sc->enter[nr].nr_progs, 0);
		atomic_store(&sc->exit[nr].nr_progs, 0);
	}
}

/* Programs stop first, then every jump goes; the trampolines stay mapped (D8). */
int inject__syscalls_restore(struct bpfi_target *t, struct bpfi_log *log)
{
	struct bpfi_sc_table *sc = &t->block->sc;
	int first = inject__catch_all_disarm(t, log);

	stop_programs(sc);
	for (uint32_t i = 0; i < sc->nr_sites && i < BPFI_SC_MAX_SITES; i++) {
		struct bpfi_sc_site *s = &sc->sites[i];
		int err;

		if (s->state != BPFI_SC_SITE_PATCHED)
			continue;
		err = bpfi_injector_write(t->inj, s->addr, s->orig, BPFI_PATCH_LEN, log);
		if (!err) {
			s->state = BPFI_SC_SITE_RESTORED;
			if (s->module < t->nr_sc_mods && t->sc_mods[s->module].rewritten)
				t->sc_mods[s->module].rewritten--;
		} else if (!first) {
			first = err;
		}
	}
	return first;
}
