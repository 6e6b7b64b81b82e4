// SPDX-License-Identifier: MIT
/*
 * Syscall tracepoint groundwork (injector/syscall_{table,sites,tramp}.c): the built-in event
 * table against tracefs, syscall sites of real modules against objdump, and site trampolines
 * patched into this process's own code.
 */
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/injector.h>

#include "test_util.h"

#define TRACEFS "/sys/kernel/tracing"

/* ---- the event table ---- */

START_TEST(table_round_trips)
{
	const struct bpfi_syscall *table, *sc;
	size_t n = bpfi_syscall_table(&table);
	char name[128];
	bool is_exit;

	ck_assert_uint_gt(n, 350);
	for (size_t i = 0; i < n; i++) {
		const struct bpfi_syscall *t = &table[i];

		if (i)
			ck_assert_int_gt(t->nr, table[i - 1].nr);
		ck_assert_int_eq(bpfi_syscall_by_nr(t->nr, &sc, NULL), 0);
		ck_assert_ptr_eq(sc, t);
		ck_assert_int_eq(bpfi_syscall_by_name(t->name, &sc, NULL), 0);
		ck_assert_msg(sc == t, "%s resolves to %s", t->name, sc->name);
		if (!t->event) {
			ck_assert_uint_eq(t->enter_id, 0);
			continue;
		}
		snprintf(name, sizeof(name), "sys_enter_%s", t->event);
		ck_assert_int_eq(bpfi_syscall_by_name(name, &sc, NULL), 0);
		ck_assert_ptr_eq(sc, t);
		snprintf(name, sizeof(name), "syscalls/sys_exit_%s", t->event);
		ck_assert_int_eq(bpfi_syscall_by_name(name, &sc, NULL), 0);
		ck_assert_ptr_eq(sc, t);
		ck_assert_int_eq(bpfi_syscall_by_event_id(t->enter_id, &sc, &is_exit, NULL), 0);
		ck_assert(sc == t && !is_exit);
		ck_assert_int_eq(bpfi_syscall_by_event_id(t->exit_id, &sc, &is_exit, NULL), 0);
		ck_assert(sc == t && is_exit);
		ck_assert_uint_le(t->nr_args, 6);
		for (unsigned int a = 0; a < t->nr_args; a++) {
			ck_assert_uint_eq(t->args[a].offset, BPFI_SYSCALL_ARGS_OFF + 8 * a);
			ck_assert_uint_eq(t->args[a].size, 8);
		}
	}
}
END_TEST

/* The field list of a tracefs format file, as "name@offset/size/signed" lines. */
static bool read_format(const char *event, char *out, size_t size)
{
	char path[256], line[512];
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), TRACEFS "/events/syscalls/%s/format", event);
	f = fopen(path, "r");
	if (!f)
		return false;
	out[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		unsigned int off, sz, sg;
		char *field = strstr(line, "field:"), *semi;

		if (!field || strstr(line, "common_") || strstr(line, "__syscall_nr"))
			continue;
		semi = strchr(field, ';');
		if (!semi || sscanf(semi, "; offset:%u; size:%u; signed:%u", &off, &sz, &sg) != 3)
			continue;
		*semi = '\0';
		len += (size_t)snprintf(out + len, size - len, "%s@%u/%u/%u\n",
					strrchr(field, ' ') ? strrchr(field, ' ') + 1 : field, off,
					sz, sg);
	}
	fclose(f);
	return true;
}

START_TEST(table_matches_tracefs)
{
	static const char *const sample[] = { "openat", "read",	 "write", "execve",
					      "getpid", "close", "mount" };
	char want[1024], got[1024];

	if (access(TRACEFS "/events/syscalls/sys_enter_openat/id", R_OK)) {
		printf("syscalls: tracefs not readable, sample check skipped\n");
		return;
	}
	for (size_t i = 0; i < sizeof(sample) / sizeof(sample[0]); i++) {
		const struct bpfi_syscall *sc;
		struct bpfi_syscall_ids ids;
		char event[64];
		size_t len = 0;

		ck_assert_int_eq(bpfi_syscall_by_name(sample[i], &sc, NULL), 0);
		ck_assert_int_eq(bpfi_syscall_live_ids(sc, NULL, &ids, NULL), 0);
		ck_assert(ids.live);
		ck_assert_msg(ids.enter == sc->enter_id && ids.exit == sc->exit_id,
			      "%s: tracefs %u/%u, table %u/%u", sample[i], ids.enter, ids.exit,
			      sc->enter_id, sc->exit_id);
		snprintf(event, sizeof(event), "sys_enter_%s", sc->event);
		ck_assert(read_format(event, want, sizeof(want)));
		got[0] = '\0';
		for (unsigned int a = 0; a < sc->nr_args; a++)
			len += (size_t)snprintf(got + len, sizeof(got) - len, "%s@%u/%u/%u\n",
						sc->args[a].name, sc->args[a].offset,
						sc->args[a].size, sc->args[a].is_signed);
		ck_assert_str_eq(got, want);
		snprintf(event, sizeof(event), "sys_exit_%s", sc->event);
		ck_assert(read_format(event, want, sizeof(want)));
		ck_assert_str_eq(want, "ret@16/8/1\n");
	}
}
END_TEST

/* Every event of the table has the same ids in tracefs, and tracefs has no syscall the table
 * lacks. */
START_TEST(table_complete_against_tracefs)
{
	const struct bpfi_syscall *table, *sc;
	size_t n = bpfi_syscall_table(&table), events = 0, dirs = 0;
	struct dirent *d;
	DIR *dir = opendir(TRACEFS "/events/syscalls");

	if (!dir) {
		printf("syscalls: tracefs not readable, completeness check skipped\n");
		return;
	}
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, "sys_enter_", 10))
			continue;
		dirs++;
		ck_assert_msg(bpfi_syscall_by_name(d->d_name, &sc, NULL) == 0,
			      "%s is not in the table", d->d_name);
	}
	closedir(dir);
	for (size_t i = 0; i < n; i++) {
		struct bpfi_syscall_ids ids;

		if (!table[i].event)
			continue;
		events++;
		ck_assert_int_eq(bpfi_syscall_live_ids(&table[i], TRACEFS, &ids, NULL), 0);
		ck_assert_msg(ids.live && ids.enter == table[i].enter_id &&
				      ids.exit == table[i].exit_id,
			      "%s: tracefs %u/%u, table %u/%u", table[i].name, ids.enter, ids.exit,
			      table[i].enter_id, table[i].exit_id);
	}
	ck_assert_uint_eq(events, dirs);
}
END_TEST

START_TEST(raw_syscalls_ids)
{
	struct bpfi_syscall_ids ids;
	uint32_t enter, exit;

	bpfi_syscall_raw_ids(&enter, &exit);
	ck_assert_uint_ne(enter, 0);
	ck_assert_uint_ne(exit, 0);
	ck_assert_int_eq(bpfi_syscall_live_ids(NULL, "/nonexistent", &ids, NULL), 0);
	ck_assert(!ids.live && ids.enter == enter && ids.exit == exit);
	ck_assert_int_eq(bpfi_syscall_live_ids(NULL, NULL, &ids, NULL), 0);
	if (ids.live) {
		ck_assert_uint_eq(ids.enter, enter);
		ck_assert_uint_eq(ids.exit, exit);
	}
}
END_TEST

START_TEST(table_errors)
{
	const struct bpfi_syscall *sc;
	struct bpfi_syscall_ids ids;
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	bool is_exit;

	ck_assert_int_eq(bpfi_syscall_by_name("foo", &sc, &log), -ENOENT);
	ck_assert_msg(strstr(buf, "no syscall named 'foo'"), "log: %s", buf);
	bpfi_log_reset(&log);
	ck_assert_int_eq(bpfi_syscall_by_name("sys_enter_foo", &sc, &log), -ENOENT);
	ck_assert_msg(strstr(buf, "no syscall named 'sys_enter_foo'"), "log: %s", buf);
	bpfi_log_reset(&log);
	ck_assert_int_eq(bpfi_syscall_by_nr(100000, &sc, &log), -ENOENT);
	ck_assert_msg(strstr(buf, "no syscall number 100000"), "log: %s", buf);
	bpfi_log_reset(&log);
	ck_assert_int_eq(bpfi_syscall_by_event_id(0, &sc, &is_exit, &log), -ENOENT);
	ck_assert_msg(strstr(buf, "no syscall event with id 0"), "log: %s", buf);
	bpfi_log_reset(&log);
	/* Names that differ from the event's, and calls the kernel has no event for. */
	ck_assert_int_eq(bpfi_syscall_by_name("stat", &sc, &log), 0);
	ck_assert_str_eq(sc->event, "newstat");
	ck_assert_int_eq(bpfi_syscall_by_name("sys_enter_umount", &sc, &log), 0);
	ck_assert_int_eq(sc->nr, SYS_umount2);
	ck_assert_int_eq(bpfi_syscall_by_name("uselib", &sc, &log), 0);
	ck_assert_int_eq(bpfi_syscall_live_ids(sc, NULL, &ids, &log), -ENOENT);
	ck_assert_msg(strstr(buf, "'uselib' has no tracepoint"), "log: %s", buf);
}
END_TEST

/* ---- syscall sites ---- */

struct site_case {
	const char *descr;
	uint8_t code[24];
	size_t len;
	bool rewritable;
	int nr;
	uint8_t win_len;
	bool restart_safe;
	const char *reason;
};

static const struct site_case site_cases[] = {
	{ "mov $39,%eax; syscall",
	  { 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3 },
	  8,
	  true,
	  39,
	  7,
	  true,
	  NULL },
	{ "mov $1,%eax; xor %edi,%edi; syscall: the number two instructions up",
	  { 0xb8, 1, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05, 0xc3 },
	  10,
	  true,
	  1,
	  9,
	  true,
	  NULL },
	{ "mov %rdi,%rax; syscall: number at run time, 3 bytes before",
	  { 0x48, 0x89, 0xf8, 0x0f, 0x05, 0xc3 },
	  6,
	  true,
	  -1,
	  5,
	  false,
	  NULL },
	{ "mov $1,%eax; mov %rdi,%rax; syscall: the later write wins",
	  { 0xb8, 1, 0, 0, 0, 0x48, 0x89, 0xf8, 0x0f, 0x05, 0xc3 },
	  11,
	  true,
	  -1,
	  10,
	  true,
	  NULL },
	{ "syscall at the start",
	  { 0x0f, 0x05, 0xc3 },
	  3,
	  false,
	  -1,
	  0,
	  false,
	  "fewer than 3 bytes" },
	{ "a return just before: nothing to move",
	  { 0xc3, 0x90, 0x0f, 0x05, 0xc3 },
	  5,
	  false,
	  -1,
	  0,
	  false,
	  "fewer than 3 bytes" },
	{ "je out; xor %eax,%eax; syscall (glibc read): the jcc moves, number 0",
	  { 0x74, 0x03, 0x31, 0xc0, 0x0f, 0x05, 0xc3 },
	  7,
	  true,
	  0,
	  6,
	  false,
	  NULL },
	{ "a later jump to the syscall",
	  { 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3, 0xeb, 0xfb },
	  10,
	  false,
	  -1,
	  0,
	  false,
	  "a branch jumps inside" },
};

START_TEST(site_case_classified)
{
	const struct site_case *c = &site_cases[_i];
	struct bpfi_syscall_scan scan = { 0 };
	const struct bpfi_syscall_site *s;

	ck_assert_int_eq(bpfi_syscall_scan_code(c->code, c->len, 0x1000, NULL, 0, &scan, NULL), 0);
	ck_assert_uint_eq(scan.nr_sites, 1);
	s = &scan.sites[0];
	ck_assert_msg(s->rewritable == c->rewritable, "%s: %s", c->descr,
		      s->reason ? s->reason : "rewritable");
	ck_assert_msg(s->nr == c->nr, "%s: nr %d", c->descr, s->nr);
	ck_assert_uint_eq(s->win_len, c->win_len);
	ck_assert_uint_eq(s->restart_safe, c->restart_safe);
	if (s->rewritable)
		ck_assert_uint_eq(s->win_addr + s->win_len, s->addr + 2);
	else
		ck_assert_msg(strstr(s->reason, c->reason), "%s: %s", c->descr, s->reason);
	bpfi_syscall_scan_free(&scan);
}
END_TEST

/* objdump's count of `syscall` instructions: an independent linear-sweep disassembler. */
static long objdump_count(const char *path)
{
	char cmd[600];
	long n = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "objdump -d '%s' 2>/dev/null | grep -cP '\\tsyscall *$'", path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (fscanf(p, "%ld", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

struct module_base {
	const char *name;
	uintptr_t base;
};

static int find_base(struct dl_phdr_info *info, size_t size, void *data)
{
	struct module_base *m = data;

	(void)size;
	if (info->dlpi_name && strstr(info->dlpi_name, m->name)) {
		m->base = info->dlpi_addr;
		return 1;
	}
	return 0;
}

/* Scans @path, checks the count against objdump and that each site really is 0f 05. */
static void scan_module(const char *label, const char *path, uintptr_t bias,
			struct bpfi_syscall_scan *scan)
{
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	long expect = objdump_count(path);
	size_t safe = 0;

	ck_assert_msg(bpfi_syscall_scan_file(path, bias, scan, &log) == 0, "%s", buf);
	for (size_t i = 0; i < scan->nr_sites; i++)
		safe += scan->sites[i].restart_safe;
	printf("syscalls: %s: %zu sites, %zu rewritable (%.1f%%, %zu keep the syscall intact), "
	       "%zu with a constant number; objdump counts %ld\n",
	       label, scan->nr_sites, scan->nr_rewritable,
	       scan->nr_sites ? 100.0 * (double)scan->nr_rewritable / (double)scan->nr_sites : 0.0,
	       safe, scan->nr_const, expect);
	if (expect >= 0)
		ck_assert_int_eq((long)scan->nr_sites, expect);
	ck_assert_uint_gt(scan->nr_sites, 0);
}

static const struct bpfi_syscall_site *site_in(const struct bpfi_syscall_scan *scan,
					       uintptr_t start, size_t len, size_t nth)
{
	for (size_t i = 0; i < scan->nr_sites; i++) {
		if (scan->sites[i].addr >= start && scan->sites[i].addr < start + len && !nth--)
			return &scan->sites[i];
	}
	return NULL;
}

START_TEST(sites_in_libc)
{
	static const struct {
		const char *func;
		int nr;
	} known[] = { { "getpid", SYS_getpid }, { "write", SYS_write }, { "read", SYS_read } };
	struct module_base m = { .name = "libc.so.6" };
	struct bpfi_syscall_scan scan;
	Dl_info info;

	dl_iterate_phdr(find_base, &m);
	ck_assert_uint_ne(m.base, 0);
	ck_assert(dladdr((void *)(uintptr_t)gnu_get_libc_version, &info));
	scan_module("libc", info.dli_fname, m.base, &scan);
	for (size_t i = 0; i < scan.nr_sites; i++)
		ck_assert_mem_eq((void *)scan.sites[i].addr, "\x0f\x05", 2);
	/* From libc itself: under ASan, the default lookup finds the interceptors. */
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

	ck_assert_ptr_nonnull(libc);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		void *fn = dlsym(libc, known[i].func);
		const struct bpfi_syscall_site *s = site_in(&scan, (uintptr_t)fn, 256, 0);

		ck_assert_msg(s, "no syscall site in %s", known[i].func);
		ck_assert_msg(s->rewritable && s->nr == known[i].nr, "%s: nr %d, %s", known[i].func,
			      s->nr, s->reason ? s->reason : "rewritable");
	}
	dlclose(libc);
	bpfi_syscall_scan_free(&scan);
}
END_TEST

START_TEST(sites_in_ld_so)
{
	struct module_base m = { .name = "ld-linux-x86-64.so.2" };
	struct bpfi_syscall_scan scan;

	dl_iterate_phdr(find_base, &m);
	scan_module("ld.so", "/lib64/ld-linux-x86-64.so.2", m.base, &scan);
	for (size_t i = 0; m.base && i < scan.nr_sites; i++)
		ck_assert_mem_eq((void *)scan.sites[i].addr, "\x0f\x05", 2);
	bpfi_syscall_scan_free(&scan);
}
END_TEST

/* With no section headers (and so no symbols), the executable segments are swept instead. */
START_TEST(sites_without_section_headers)
{
	char path[] = "/tmp/bpfi-nosh-XXXXXX";
	struct bpfi_syscall_scan full, bare;
	int in = open("/lib64/ld-linux-x86-64.so.2", O_RDONLY), out = mkstemp(path);
	static uint8_t data[4 << 20];
	ssize_t n = read(in, data, sizeof(data));

	ck_assert_int_gt(n, 64);
	ck_assert_int_lt(n, (ssize_t)sizeof(data));
	memset(data + 0x28, 0, 8); /* e_shoff */
	memset(data + 0x3a, 0, 6); /* e_shentsize, e_shnum, e_shstrndx */
	ck_assert_int_eq(write(out, data, (size_t)n), n);
	close(in);
	close(out);
	ck_assert_int_eq(bpfi_syscall_scan_file("/lib64/ld-linux-x86-64.so.2", 0, &full, NULL), 0);
	ck_assert_int_eq(bpfi_syscall_scan_file(path, 0, &bare, NULL), 0);
	unlink(path);
	ck_assert_uint_eq(bare.nr_sites, full.nr_sites);
	for (size_t i = 0; i < full.nr_sites; i++)
		ck_assert_uint_eq(bare.sites[i].addr, full.sites[i].addr);
	bpfi_syscall_scan_free(&full);
	bpfi_syscall_scan_free(&bare);
}
END_TEST

START_TEST(sites_errors)
{
	struct bpfi_syscall_scan scan;
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

	ck_assert_int_eq(bpfi_syscall_scan_file("/no/such/file", 0, &scan, &log), -ENOENT);
	ck_assert_msg(strstr(buf, "cannot open '/no/such/file'"), "log: %s", buf);
	bpfi_log_reset(&log);
	ck_assert_int_eq(bpfi_syscall_scan_file("/etc/hostname", 0, &scan, &log), -ENOEXEC);
	ck_assert_msg(strstr(buf, "'/etc/hostname' is not an ELF file"), "log: %s", buf);
	ck_assert_ptr_null(scan.sites);
}
END_TEST

START_TEST(sites_in_musl_static)
{
	char dir[] = "/tmp/bpfi-musl-XXXXXX", cmd[1024], src[300], exe[300];
	struct bpfi_syscall_scan scan;
	FILE *f;

	if (system("command -v musl-gcc >/dev/null 2>&1")) {
		printf("syscalls: musl-gcc not found, static musl case skipped\n");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/hello.c", dir);
	snprintf(exe, sizeof(exe), "%s/hello", dir);
	f = fopen(src, "w");
	ck_assert_ptr_nonnull(f);
	fputs("#include <stdio.h>\n#include <unistd.h>\n"
	      "int main(void) { printf(\"%d\\n\", (int)getpid()); return 0; }\n",
	      f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "musl-gcc -static -O2 -o %s %s", exe, src);
	ck_assert_int_eq(system(cmd), 0);
	scan_module("musl static", exe, 0, &scan);
	bpfi_syscall_scan_free(&scan);
	unlink(src);
	unlink(exe);
	rmdir(dir);
}
END_TEST

/* ---- site trampolines, in this process ---- */

/*
 * Victims: a constant-number site (getpid), write with its number constant, a syscall()-like
 * wrapper whose number comes from %rdi, and a register check around a hooked getpid.
 */
long sc_getpid(void);
long sc_write(long fd, const void *buf, long len);
long sc_dyn(long nr, long a, long b, long c);
unsigned long sc_regs(void);
long sc_cond(long skip);
__asm__(".text\n"
	".globl sc_getpid\n.type sc_getpid,@function\n"
	"sc_getpid:\n\tmov $39, %eax\n\tsyscall\n\tret\n.size sc_getpid, .-sc_getpid\n"
	".globl sc_write\n.type sc_write,@function\n"
	"sc_write:\n\tmov $1, %eax\n\tsyscall\n\tret\n.size sc_write, .-sc_write\n"
	".globl sc_dyn\n.type sc_dyn,@function\n"
	"sc_dyn:\n\tmov %rdi, %rax\n\tmov %rsi, %rdi\n\tmov %rdx, %rsi\n\tmov %rcx, %rdx\n"
	"\tsyscall\n\tret\n.size sc_dyn, .-sc_dyn\n"
	/* getppid unless @skip: a jcc inside the window, moved with its target kept. */
	".globl sc_cond\n.type sc_cond,@function\n"
	"sc_cond:\n\tmov $110, %eax\n\ttest %rdi, %rdi\n\tjne 1f\n\tsyscall\n\tret\n"
	"1:\n\tmov $-7, %rax\n\tret\n.size sc_cond, .-sc_cond\n");

/*
 * Sets a distinctive value in every register the syscall ABI preserves, CF and DF in the
 * flags, and two red-zone slots (-16 and -128: the pushfq after the call takes -8); runs a
 * `mov $39,%eax; syscall`; returns a bit per thing that changed (0: all preserved).
 */
__asm__(".text\n"
	".globl sc_regs\n.type sc_regs,@function\n"
	"sc_regs:\n"
	"\tpush %rbx\n\tpush %rbp\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n"
	"\tmovabs $0x1111111111111101, %rbx\n\tmovabs $0x1111111111111102, %rbp\n"
	"\tmovabs $0x1111111111111103, %rdi\n\tmovabs $0x1111111111111104, %rsi\n"
	"\tmovabs $0x1111111111111105, %rdx\n\tmovabs $0x1111111111111106, %r8\n"
	"\tmovabs $0x1111111111111107, %r9\n\tmovabs $0x1111111111111108, %r10\n"
	"\tmovabs $0x1111111111111109, %r12\n\tmovabs $0x111111111111110a, %r13\n"
	"\tmovabs $0x111111111111110b, %r14\n\tmovabs $0x111111111111110c, %r15\n"
	"\tmov %rbx, -16(%rsp)\n\tmov %rbp, -128(%rsp)\n"
	"\tmov %rsp, sc_regs_sp(%rip)\n"
	"\tstd\n\tstc\n"
	"\tmov $39, %eax\n\tsyscall\n"
	"\tpushfq\n\tpop %r11\n\tcld\n"
	"\txor %eax, %eax\n"
	"\tmovabs $0x1111111111111101, %rcx\n\tcmp %rcx, %rbx\n\tje 1f\n\tor $0x1, %eax\n1:\n"
	"\tmovabs $0x1111111111111102, %rcx\n\tcmp %rcx, %rbp\n\tje 1f\n\tor $0x2, %eax\n1:\n"
	"\tmovabs $0x1111111111111103, %rcx\n\tcmp %rcx, %rdi\n\tje 1f\n\tor $0x4, %eax\n1:\n"
	"\tmovabs $0x1111111111111104, %rcx\n\tcmp %rcx, %rsi\n\tje 1f\n\tor $0x8, %eax\n1:\n"
	"\tmovabs $0x1111111111111105, %rcx\n\tcmp %rcx, %rdx\n\tje 1f\n\tor $0x10, %eax\n1:\n"
	"\tmovabs $0x1111111111111106, %rcx\n\tcmp %rcx, %r8\n\tje 1f\n\tor $0x20, %eax\n1:\n"
	"\tmovabs $0x1111111111111107, %rcx\n\tcmp %rcx, %r9\n\tje 1f\n\tor $0x40, %eax\n1:\n"
	"\tmovabs $0x1111111111111108, %rcx\n\tcmp %rcx, %r10\n\tje 1f\n\tor $0x80, %eax\n1:\n"
	"\tmovabs $0x1111111111111109, %rcx\n\tcmp %rcx, %r12\n\tje 1f\n\tor $0x100, %eax\n1:\n"
	"\tmovabs $0x111111111111110a, %rcx\n\tcmp %rcx, %r13\n\tje 1f\n\tor $0x200, %eax\n1:\n"
	"\tmovabs $0x111111111111110b, %rcx\n\tcmp %rcx, %r14\n\tje 1f\n\tor $0x400, %eax\n1:\n"
	"\tmovabs $0x111111111111110c, %rcx\n\tcmp %rcx, %r15\n\tje 1f\n\tor $0x800, %eax\n1:\n"
	"\tcmp -16(%rsp), %rbx\n\tje 1f\n\tor $0x1000, %eax\n1:\n"
	"\tcmp -128(%rsp), %rbp\n\tje 1f\n\tor $0x2000, %eax\n1:\n"
	"\tcmp sc_regs_sp(%rip), %rsp\n\tje 1f\n\tor $0x4000, %eax\n1:\n"
	"\ttest $0x1, %r11\n\tjnz 1f\n\tor $0x8000, %eax\n1:\n"
	"\ttest $0x400, %r11\n\tjnz 1f\n\tor $0x10000, %eax\n1:\n"
	"\tpop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbp\n\tpop %rbx\n\tret\n"
	".size sc_regs, .-sc_regs\n"
	".local sc_regs_sp\n.comm sc_regs_sp, 8, 8\n");

#define MAX_SEEN 8

static struct bpfi_syscall_enter_rec seen_enter[MAX_SEEN];
static struct bpfi_syscall_exit_rec seen_exit[MAX_SEEN];
static _Atomic unsigned int nr_enter, nr_exit; /* a CLONE_VM child counts too */
static int64_t override_with; /* non-zero: enter overrides with this */
static uint64_t seen_cookie;

static uint64_t test_enter(struct bpfi_syscall_enter_rec *rec, uint64_t cookie)
{
	unsigned int i = atomic_fetch_add(&nr_enter, 1);

	if (i < MAX_SEEN)
		seen_enter[i] = *rec;
	seen_cookie = cookie;
	if (!override_with)
		return 0;
	rec->override_ret = override_with;
	return 1;
}

static void test_exit(struct bpfi_syscall_exit_rec *rec, uint64_t cookie)
{
	unsigned int i = atomic_fetch_add(&nr_exit, 1);

	(void)cookie;
	if (i < MAX_SEEN)
		seen_exit[i] = *rec;
}

static uint64_t count_enter(struct bpfi_syscall_enter_rec *rec, uint64_t cookie)
{
	(void)rec;
	(void)cookie;
	nr_enter++;
	return 0;
}

static void count_exit(struct bpfi_syscall_exit_rec *rec, uint64_t cookie)
{
	(void)rec;
	(void)cookie;
	nr_exit++;
}

static void reset_seen(void)
{
	memset(seen_enter, 0, sizeof(seen_enter));
	memset(seen_exit, 0, sizeof(seen_exit));
	nr_enter = nr_exit = 0;
	override_with = 0;
}

/* A hooked site of this binary: found by scanning our own file, patched in memory. */
struct hooked {
	struct bpfi_syscall_site site;
	uint8_t orig[32];
	uint8_t *tramp;
};

static void hook(struct hooked *h, void *func, size_t nth, uint64_t enter, uint64_t exit)
{
	struct module_base m = { .name = "" };
	struct bpfi_syscall_scan scan;
	const struct bpfi_syscall_site *s;
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	uint8_t patch[32];
	size_t len;

	dl_iterate_phdr(find_base, &m); /* the first entry, "", is the executable */
	ck_assert_msg(bpfi_syscall_scan_file("/proc/self/exe", m.base, &scan, &log) == 0, "%s",
		      buf);
	s = site_in(&scan, (uintptr_t)func, 256, nth);
	ck_assert_ptr_nonnull(s);
	ck_assert_msg(s->rewritable, "%s", s->reason);
	h->site = *s;
	bpfi_syscall_scan_free(&scan);
	memcpy(h->orig, (void *)h->site.win_addr, h->site.win_len);
	h->tramp = test_map_near(h->site.win_addr, 4096);
	struct bpfi_sctramp_opts o = {
		.site = &h->site,
		.window = h->orig,
		.tramp_addr = (uintptr_t)h->tramp,
		.enter_dispatch = enter,
		.exit_dispatch = exit,
		.cookie = 0xc00c1e,
	};
	ck_assert_msg(bpfi_sctramp_build(&o, h->tramp, BPFI_SCTRAMP_MAX, &len, &log) == 0, "%s",
		      buf);
	ck_assert_int_eq(mprotect(h->tramp, 4096, PROT_READ | PROT_EXEC), 0);
	ck_assert_int_eq(bpfi_sctramp_patch(&h->site, h->orig, (uintptr_t)h->tramp, patch, &log),
			 0);
	test_patch_text(h->site.win_addr, patch, h->site.win_len);
}

static void unhook(struct hooked *h)
{
	test_patch_text(h->site.win_addr, h->orig, h->site.win_len);
	ck_assert_mem_eq((void *)h->site.win_addr, h->orig, h->site.win_len);
	munmap(h->tramp, 4096);
}

START_TEST(tramp_getpid)
{
	struct hooked h;
	long (*volatile fn)(void) = sc_getpid;

	reset_seen();
	hook(&h, (void *)sc_getpid, 0, (uintptr_t)test_enter, (uintptr_t)test_exit);
	ck_assert_int_eq(h.site.nr, SYS_getpid);
	ck_assert_int_eq(fn(), getpid());
	ck_assert_uint_eq(nr_enter, 1);
	ck_assert_uint_eq(nr_exit, 1);
	ck_assert_int_eq(seen_enter[0].nr, SYS_getpid);
	ck_assert_uint_eq(seen_cookie, 0xc00c1e);
	ck_assert_int_eq(seen_exit[0].nr, SYS_getpid);
	ck_assert_int_eq(seen_exit[0].ret, getpid());
	/* An override: the syscall does not run, the exit record sees the forced value. */
	override_with = 4242;
	ck_assert_int_eq(fn(), 4242);
	ck_assert_int_eq(seen_exit[1].ret, 4242);
	unhook(&h);
	override_with = 0;
	ck_assert_int_eq(fn(), getpid());
	ck_assert_uint_eq(nr_enter, 2);
}
END_TEST

START_TEST(tramp_write_and_override)
{
	long (*volatile fn)(long, const void *, long) = sc_write;
	struct hooked h;
	char got[16];
	int p[2];

	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	reset_seen();
	hook(&h, (void *)sc_write, 0, (uintptr_t)test_enter, (uintptr_t)test_exit);
	ck_assert_int_eq(fn(p[1], "hello", 5), 5);
	ck_assert_int_eq(read(p[0], got, sizeof(got)), 5);
	ck_assert_int_eq(seen_enter[0].nr, SYS_write);
	ck_assert_uint_eq(seen_enter[0].args[0], (uint64_t)p[1]);
	ck_assert_str_eq((const char *)seen_enter[0].args[1], "hello");
	ck_assert_uint_eq(seen_enter[0].args[2], 5);
	ck_assert_int_eq(seen_exit[0].ret, 5);
	override_with = -EIO;
	ck_assert_int_eq(fn(p[1], "lost", 4), -EIO);
	ck_assert_int_eq(read(p[0], got, sizeof(got)), -1); /* nothing was written */
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(seen_exit[1].nr, SYS_write);
	ck_assert_int_eq(seen_exit[1].ret, -EIO);
	unhook(&h);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* A number known only at run time: the record takes it from %rax, any syscall goes through. */
START_TEST(tramp_runtime_number)
{
	long (*volatile fn)(long, long, long, long) = sc_dyn;
	struct hooked h;
	char got[8];
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	reset_seen();
	hook(&h, (void *)sc_dyn, 0, (uintptr_t)test_enter, (uintptr_t)test_exit);
	ck_assert_int_eq(h.site.nr, -1);
	ck_assert_int_eq(fn(SYS_getppid, 0, 0, 0), getppid());
	ck_assert_int_eq(fn(SYS_write, p[1], (long)"xyz", 3), 3);
	ck_assert_int_eq(read(p[0], got, sizeof(got)), 3);
	ck_assert_int_eq(fn(SYS_close, 1000, 0, 0), -EBADF);
	ck_assert_uint_eq(nr_enter, 3);
	ck_assert_uint_eq(nr_exit, 3);
	ck_assert_int_eq(seen_enter[0].nr, SYS_getppid);
	ck_assert_int_eq(seen_exit[0].nr, SYS_getppid);
	ck_assert_int_eq(seen_enter[1].nr, SYS_write);
	ck_assert_uint_eq(seen_enter[1].args[2], 3);
	ck_assert_int_eq(seen_exit[1].ret, 3);
	ck_assert_int_eq(seen_exit[2].nr, SYS_close);
	ck_assert_int_eq(seen_exit[2].ret, -EBADF);
	override_with = -EPERM;
	ck_assert_int_eq(fn(SYS_getppid, 0, 0, 0), -EPERM);
	ck_assert_int_eq(seen_exit[3].nr, SYS_getppid);
	unhook(&h);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * clone and clone3 through a run-time-number site take the block that runs them at the
 * original %rsp; parent and child each see their own exit record (child: ret 0).
 */
START_TEST(tramp_clone_runtime_number)
{
	long (*volatile fn)(long, long, long, long) = sc_dyn;
	uint64_t clone_args[11] = { 0, 0, 0, 0,
				    SIGCHLD }; /* flags, pidfd, child_tid, .. exit_signal */
	static const long nrs[] = { SYS_clone, SYS_clone3 };
	struct hooked h;

	hook(&h, (void *)sc_dyn, 0, (uintptr_t)test_enter, (uintptr_t)test_exit);
	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		long pid;
		int status;

		reset_seen();
		if (nrs[i] == SYS_clone)
			pid = fn(SYS_clone, SIGCHLD, 0, 0);
		else
			pid = fn(SYS_clone3, (long)clone_args, sizeof(clone_args), 0);
		if (pid == 0)
			_exit(nr_exit == 1 && seen_exit[0].nr == nrs[i] && seen_exit[0].ret == 0
				      ? 0
				      : 3);
		ck_assert_int_gt(pid, 0);
		ck_assert_int_eq(waitpid((pid_t)pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child of %ld: %#x",
			      nrs[i], status);
		ck_assert_uint_eq(nr_exit, 1);
		ck_assert_int_eq(seen_enter[0].nr, nrs[i]);
		ck_assert_int_eq(seen_exit[0].nr, nrs[i]);
		ck_assert_int_eq(seen_exit[0].ret, pid);
	}
	unhook(&h);
}
END_TEST

/* Where a CLONE_VM child started on its own stack returns to from sc_dyn: exit(0). */
void sc_child_exit(void);
__asm__(".text\n.globl sc_child_exit\n.type sc_child_exit,@function\n"
	"sc_child_exit:\n\txor %edi, %edi\n\tmov $60, %eax\n\tsyscall\n\tud2\n"
	".size sc_child_exit, .-sc_child_exit\n");

/* The case that needs the original %rsp: the child returns through the trampoline on a new
 * stack, whose top holds the address sc_dyn's `ret` takes. */
START_TEST(tramp_clone_new_stack)
{
	long (*volatile fn)(long, long, long, long) = sc_dyn;
	size_t stack_size = 1 << 16;
	uint8_t *stack =
		mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t *top = (uintptr_t *)(void *)(stack + stack_size - 64);
	struct hooked h;
	int status;
	long pid;

	ck_assert_ptr_ne(stack, MAP_FAILED);
	*top = (uintptr_t)sc_child_exit;
	reset_seen();
	hook(&h, (void *)sc_dyn, 0, (uintptr_t)test_enter, (uintptr_t)test_exit);
	pid = fn(SYS_clone, CLONE_VM | SIGCHLD, (long)top, 0);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid((pid_t)pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %#x", status);
	ck_assert_uint_eq(nr_enter, 1);
	ck_assert_uint_eq(nr_exit, 2); /* parent and child */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(seen_exit[i].nr, SYS_clone);
		ck_assert(seen_exit[i].ret == 0 || seen_exit[i].ret == pid);
	}
	ck_assert_int_ne(seen_exit[0].ret, seen_exit[1].ret);
	unhook(&h);
	munmap(stack, stack_size);
}
END_TEST

/* A signal restorer of our own (as glibc's __restore_rt): rt_sigreturn reads its frame at
 * %rsp, so its site must run the `syscall` at the original stack pointer. */
void sc_restorer(void);
__asm__(".text\n.globl sc_restorer\n.type sc_restorer,@function\n"
	"sc_restorer:\n\tmov $15, %eax\n\tsyscall\n\tud2\n.size sc_restorer, .-sc_restorer\n");

static volatile int handled;

static void on_usr1(int sig)
{
	handled = sig;
}

struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

START_TEST(tramp_rt_sigreturn)
{
	struct kernel_sigaction ksa = { on_usr1, 0x04000000 /* SA_RESTORER */, sc_restorer, 0 },
				old;
	long (*volatile fn)(void) = sc_getpid;
	struct hooked h;

	reset_seen();
	hook(&h, (void *)sc_restorer, 0, (uintptr_t)test_enter, (uintptr_t)test_exit);
	ck_assert_int_eq(h.site.nr, SYS_rt_sigreturn);
	ck_assert_int_eq(syscall(SYS_rt_sigaction, SIGUSR1, &ksa, &old, 8), 0);
	ck_assert_int_eq(syscall(SYS_kill, getpid(), SIGUSR1), 0);
	ck_assert_int_eq(handled, SIGUSR1);
	ck_assert_int_eq(fn(), getpid()); /* and this thread carries on as before */
	ck_assert_uint_eq(nr_enter, 1);
	ck_assert_int_eq(seen_enter[0].nr, SYS_rt_sigreturn);
	ck_assert_uint_eq(nr_exit, 0); /* rt_sigreturn does not return */
	ck_assert_int_eq(syscall(SYS_rt_sigaction, SIGUSR1, &old, NULL, 8), 0);
	unhook(&h);
}
END_TEST

START_TEST(tramp_moved_branch)
{
	long (*volatile fn)(long) = sc_cond;
	struct hooked h;

	reset_seen();
	hook(&h, (void *)sc_cond, 0, (uintptr_t)test_enter, (uintptr_t)test_exit);
	ck_assert_int_eq(h.site.nr, SYS_getppid);
	ck_assert_uint_eq(h.site.win_len, 7); /* test; jne; syscall */
	ck_assert(h.site.restart_safe);
	ck_assert_int_eq(fn(0), getppid());
	ck_assert_int_eq(fn(1), -7); /* the moved jne still leaves for its target */
	ck_assert_uint_eq(nr_enter, 1);
	ck_assert_uint_eq(nr_exit, 1);
	ck_assert_int_eq(seen_exit[0].nr, SYS_getppid);
	unhook(&h);
}
END_TEST

START_TEST(tramp_preserves_registers)
{
	unsigned long (*volatile fn)(void) = sc_regs;
	struct hooked h;

	ck_assert_uint_eq(fn(), 0); /* the check itself holds without a hook */
	reset_seen();
	hook(&h, (void *)sc_regs, 0, (uintptr_t)test_enter, (uintptr_t)test_exit);
	ck_assert_int_eq(h.site.nr, SYS_getpid);
	ck_assert_msg(fn() == 0, "changed: %#lx", fn());
	ck_assert_uint_eq(seen_enter[0].args[0], 0x1111111111111103);
	ck_assert_uint_eq(seen_enter[0].args[3], 0x1111111111111108); /* r10 */
	ck_assert_uint_eq(seen_enter[0].args[5], 0x1111111111111107); /* r9 */
	override_with = 1;
	ck_assert_msg(fn() == 0, "changed (override): %#lx", fn());
	unhook(&h);
	ck_assert_uint_eq(fn(), 0);
}
END_TEST

static double median(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/* CPU ns per call of @fn over @loops calls. */
static double time_calls(long (*volatile fn)(void), long loops)
{
	struct timespec a, b;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (long i = 0; i < loops; i++)
		fn();
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) /
	       (double)loops;
}

/* Bare and hooked runs alternate, so that drift of the machine hits both alike. */
START_TEST(tramp_overhead)
{
	long loops = getenv("BPFI_SYSCALL_LOOPS") ? atol(getenv("BPFI_SYSCALL_LOOPS")) : 1000000;
	double bare[5], hooked[5], b, h;
	struct hooked hk;

	reset_seen();
	for (int r = 0; r < 5; r++) {
		bare[r] = time_calls(sc_getpid, loops);
		hook(&hk, (void *)sc_getpid, 0, (uintptr_t)count_enter, (uintptr_t)count_exit);
		hooked[r] = time_calls(sc_getpid, loops);
		unhook(&hk);
	}
	ck_assert_uint_eq(nr_enter, 5 * (unsigned long)loops);
	ck_assert_uint_eq(nr_exit, 5 * (unsigned long)loops);
	b = median(bare, 5);
	h = median(hooked, 5);
	printf("syscalls: getpid site, %ld calls x 5, CPU-time medians: bare %.1f ns, hooked "
	       "(enter+exit dispatch, counting) %.1f ns, overhead %.1f ns\n",
	       loops, b, h, h - b);
}
END_TEST

Suite *syscalls_suite(void);
Suite *syscalls_suite(void)
{
	Suite *s = suite_create("syscalls");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, table_round_trips);
	tcase_add_test(tc, table_matches_tracefs);
	tcase_add_test(tc, table_complete_against_tracefs);
	tcase_add_test(tc, raw_syscalls_ids);
	tcase_add_test(tc, table_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("sites");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, site_case_classified, 0,
			    sizeof(site_cases) / sizeof(site_cases[0]));
	tcase_add_test(tc, sites_in_libc);
	tcase_add_test(tc, sites_in_ld_so);
	tcase_add_test(tc, sites_in_musl_static);
	tcase_add_test(tc, sites_without_section_headers);
	tcase_add_test(tc, sites_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("trampolines");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tramp_getpid);
	tcase_add_test(tc, tramp_write_and_override);
	tcase_add_test(tc, tramp_runtime_number);
	tcase_add_test(tc, tramp_clone_runtime_number);
	tcase_add_test(tc, tramp_clone_new_stack);
	tcase_add_test(tc, tramp_rt_sigreturn);
	tcase_add_test(tc, tramp_moved_branch);
	tcase_add_test(tc, tramp_preserves_registers);
	tcase_add_test(tc, tramp_overhead);
	suite_add_tcase(s, tc);
	return s;
}
