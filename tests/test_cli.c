// SPDX-License-Identifier: MIT
/*
 * The bpfinject command, run as a real process on the bundled examples and on broken
 * objects made from them: output, the one-line errors of DESIGN.md §6 and exit codes; and
 * the disassembler on every instruction form and on the whole conformance suite.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <grp.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpfinject/helpers.h>

#include "cli/cli_internal.h"
#include "conformance.h"

#define OUT_MAX (1 << 20)

/* Files the cases refer to by placeholder; made once per test (fixture, in the forked child). */
static char tmpdir[64];
static char path_bin[512], path_hist[512], path_ringbuf[512], path_ctx[600], path_trunc[600],
	path_trunc30[600], path_bad[600], path_text[600], path_empty[600];

struct run_result {
	int status; /* exit code, or 128 + signal */
	char *out, *err;
};

static char *read_all(int fd)
{
	char *buf = calloc(1, OUT_MAX + 1);
	ssize_t n;
	size_t len = 0;

	ck_assert_ptr_nonnull(buf);
	lseek(fd, 0, SEEK_SET);
	while (len < OUT_MAX && (n = read(fd, buf + len, OUT_MAX - len)) > 0)
		len += (size_t)n;
	return buf;
}

/* Runs bpfinject with @argv (NULL-terminated, without argv[0]). */
/* @uid >= 0: the command runs as that user (and its group), without supplementary groups. */
static void run_cli_as(const char *const *argv, struct run_result *r, int uid)
{
	const char *args[32] = { path_bin };
	int out = memfd_create("out", MFD_CLOEXEC), err = memfd_create("err", MFD_CLOEXEC);
	int i, st;
	pid_t pid;

	for (i = 0; argv[i] && i < 30; i++)
		args[i + 1] = argv[i];
	ck_assert_int_ge(out, 0);
	ck_assert_int_ge(err, 0);
	pid = fork();
	if (pid < 0)
		ck_abort_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		if (uid >= 0 && (setgroups(0, NULL) || setgid((gid_t)uid) || setuid((uid_t)uid)))
			_exit(126);
		execv(path_bin, (char *const *)args);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = read_all(out);
	r->err = read_all(err);
	close(out);
	close(err);
}

static void run_cli(const char *const *argv, struct run_result *r)
{
	run_cli_as(argv, r, -1);
}

static void write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, size, f), size);
	fclose(f);
}

static void *read_file(const char *path, size_t *ret_size)
{
	struct stat st;
	void *buf;
	FILE *f = fopen(path, "rb");

	ck_assert_msg(f, "%s: %s (is the build complete?)", path, strerror(errno));
	ck_assert_int_eq(fstat(fileno(f), &st), 0);
	buf = malloc((size_t)st.st_size);
	ck_assert_uint_eq(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	*ret_size = (size_t)st.st_size;
	return buf;
}

/*
 * A copy of hist.bpf.o whose first bpf_map_lookup_elem call (call 1) calls helper 999
 * instead: libbpf loads it unchanged, the load-time check must reject it.
 */
static void make_bad_object(const char *src, const char *dst)
{
	size_t size;
	uint8_t *data = read_file(src, &size);
	Elf *elf;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Ehdr eh;
	bool patched = false;

	elf_version(EV_CURRENT);
	elf = elf_memory((char *)data, size);
	ck_assert_ptr_nonnull(elf);
	ck_assert_ptr_nonnull(gelf_getehdr(elf, &eh));
	while (!patched && (scn = elf_nextscn(elf, scn))) {
		const char *name;
		size_t off;

		gelf_getshdr(scn, &sh);
		name = elf_strptr(elf, eh.e_shstrndx, sh.sh_name);
		if (!name || strcmp(name, "uprobe"))
			continue;
		for (off = 0; off + 8 <= sh.sh_size; off += 8) {
			struct bpf_insn insn;

			memcpy(&insn, data + sh.sh_offset + off, sizeof(insn));
			if (insn.code == (BPF_JMP | BPF_CALL) && insn.src_reg == 0 &&
			    insn.imm == 1) {
				insn.imm = 999;
				memcpy(data + sh.sh_offset + off, &insn, sizeof(insn));
				patched = true;
				break;
			}
		}
	}
	elf_end(elf);
	ck_assert_msg(patched, "no call to helper 1 in %s", src);
	write_file(dst, data, size);
	free(data);
}

static void setup(void)
{
	const char *build = getenv("BPFI_BUILD_DIR");
	/* struct pt_regs (168 bytes) with di, the first argument, at offset 112 = 1000. */
	uint64_t regs[21] = { 0 };
	size_t size;
	void *hist;

	ck_assert_msg(build, "BPFI_BUILD_DIR is not set (run through meson test)");
	snprintf(path_bin, sizeof(path_bin), "%s/cli/bpfinject", build);
	snprintf(path_hist, sizeof(path_hist), "%s/examples/hist.bpf.o", build);
	snprintf(path_ringbuf, sizeof(path_ringbuf), "%s/examples/ringbuf.bpf.o", build);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bpfi-cli-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path_ctx, sizeof(path_ctx), "%s/regs.bin", tmpdir);
	snprintf(path_trunc, sizeof(path_trunc), "%s/trunc.bpf.o", tmpdir);
	snprintf(path_trunc30, sizeof(path_trunc30), "%s/trunc30.bpf.o", tmpdir);
	snprintf(path_bad, sizeof(path_bad), "%s/bad.bpf.o", tmpdir);
	snprintf(path_text, sizeof(path_text), "%s/text.bpf.o", tmpdir);
	snprintf(path_empty, sizeof(path_empty), "%s/empty.bpf.o", tmpdir);

	regs[112 / 8] = 1000;
	write_file(path_ctx, regs, sizeof(regs));
	hist = read_file(path_hist, &size);
	write_file(path_trunc, hist, size / 2);
	write_file(path_trunc30, hist, 30);
	free(hist);
	make_bad_object(path_hist, path_bad);
	write_file(path_text, "hello\n", 6);
	write_file(path_empty, "", 0);
}

static void teardown(void)
{
	const char *files[] = {
		path_ctx, path_trunc, path_trunc30, path_bad, path_text, path_empty
	};
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(tmpdir);
}

/* Placeholders in a case's argv. */
static const char *subst(const char *arg)
{
	static const struct {
		const char *key;
		const char *path;
	} map[] = {
		{ "@HIST@", path_hist },   { "@RINGBUF@", path_ringbuf }, { "@CTX@", path_ctx },
		{ "@TRUNC@", path_trunc }, { "@TRUNC30@", path_trunc30 }, { "@BAD@", path_bad },
		{ "@TEXT@", path_text },   { "@EMPTY@", path_empty },	  { "@SELF@", path_bin },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(arg, map[i].key))
			return map[i].path;
	return arg;
}

struct cli_case {
	const char *descr;
	const char *argv[12];
	int expect_exit;
	const char *out_has[6]; /* substrings of stdout */
	const char *err_has[3]; /* substrings of stderr */
	bool err_one_line; /* stderr is exactly one line (DESIGN §6) */
	bool err_empty;
};

#define ERR1(...) .err_has = { __VA_ARGS__ }, .err_one_line = true

static const struct cli_case cli_cases[] = {
	{ "version",
	  { "--version" },
	  0,
	  .out_has = { "bpfinject 0.1.0", "libbpf" },
	  .err_empty = true },
	{ "help", { "--help" }, 0, .out_has = { "usage: bpfinject", "dump OBJ", "test-run OBJ" } },
	{ "no command", { NULL }, 2, ERR1("missing command") },
	{ "unknown command", { "frob" }, 2, ERR1("bpfinject: frob: unknown command") },
	{ "dump: missing file",
	  { "dump", "/nonexistent/x.bpf.o" },
	  1,
	  ERR1("bpfinject: /nonexistent/x.bpf.o: No such file or directory") },
	{ "dump: not ELF", { "dump", "@TEXT@" }, 1, ERR1("text.bpf.o: not an ELF file") },
	{ "dump: empty", { "dump", "@EMPTY@" }, 1, ERR1("empty.bpf.o: empty file") },
	{ "dump: x86 ELF",
	  { "dump", "@SELF@" },
	  1,
	  ERR1("bpfinject: ", "not an eBPF object (ELF machine 62") },
	{ "dump: truncated", { "dump", "@TRUNC@" }, 1, ERR1("trunc.bpf.o: truncated") },
	{ "dump: truncated in the ELF header",
	  { "dump", "@TRUNC30@" },
	  1,
	  ERR1("trunc30.bpf.o: truncated: shorter than an ELF header") },
	{ "dump: directory", { "dump", "/tmp" }, 1, ERR1("/tmp: not a regular file") },
	{ "dump: no OBJ", { "dump" }, 2, .err_has = { "missing OBJ", "usage: bpfinject dump" } },
	{ "dump: bad option", { "dump", "--frob", "@HIST@" }, 2, .err_has = { "usage:" } },
	{ "dump",
	  { "dump", "@HIST@" },
	  0,
	  .out_has = { "1 program (0 rejected), 4 maps", "hist_arg", "uprobe", "kprobe", "ok",
		       "struct arg_stat" },
	  .err_empty = true },
	{ "dump: maps",
	  { "dump", "@HIST@" },
	  0,
	  .out_has = { "hist ", "array", "__u32 -> __u64", "hash", "hist.rodata",
		       "datasec .bss" } },
	{ "dump -d",
	  { "dump", "-d", "@HIST@" },
	  0,
	  .out_has = { "r1 = *(u64 *)(r1 + 112)", "r1 = map[hist] ll",
		       "lock *(u64 *)(r2 + 0) += r1", "= map[hist.rodata] + 8 ll", "#1", "exit" } },
	{ "dump: rejected program",
	  { "dump", "@BAD@" },
	  1,
	  .out_has = { "1 program (1 rejected)", "rejected: " },
	  ERR1("bpfinject: ", "prog 'hist_arg' rejected: ", "999") },
	{ "dump -d: a rejected program as the check saw it",
	  { "dump", "-d", "@BAD@" },
	  1,
	  .out_has = { "rejected: ", "r1 = map[hist] ll", "call unknown#999", "exit" },
	  ERR1("prog 'hist_arg' rejected: ") },
	{ "test-run: unknown program",
	  { "test-run", "@HIST@", "nope" },
	  1,
	  ERR1("hist.bpf.o: no program named 'nope'") },
	{ "test-run: rejected",
	  { "test-run", "@BAD@", "hist_arg" },
	  1,
	  ERR1("prog 'hist_arg' rejected: ", "999") },
	{ "test-run: missing file",
	  { "test-run", "/nonexistent.o", "p" },
	  1,
	  ERR1("bpfinject: /nonexistent.o: No such file or directory") },
	{ "test-run: bad repeat",
	  { "test-run", "@HIST@", "hist_arg", "--repeat", "ten" },
	  1,
	  ERR1("bpfinject: --repeat: 'ten'") },
	{ "test-run: zero repeat",
	  { "test-run", "@HIST@", "hist_arg", "--repeat", "0" },
	  1,
	  ERR1("--repeat: '0'") },
	{ "test-run: bad backend",
	  { "test-run", "@HIST@", "hist_arg", "--backend", "gpu" },
	  1,
	  ERR1("bpfinject: --backend: 'gpu'") },
	{ "test-run: missing ctx",
	  { "test-run", "@HIST@", "hist_arg", "--ctx-in", "/nope.bin" },
	  1,
	  ERR1("bpfinject: /nope.bin: No such file or directory") },
	{ "test-run: missing PROG",
	  { "test-run", "@HIST@" },
	  2,
	  .err_has = { "missing OBJ or PROG" } },
	{ "test-run",
	  { "test-run", "@HIST@", "hist_arg", "--ctx-in", "@CTX@", "--repeat", "10" },
	  0,
	  .out_has = { "retval: 9 (0x9)", "ns per run (10 runs, jit)",
		       "key: (__u32)9  value: (__u64)10", "calls = (__u64)10", "map 'args' (hash",
		       "bpf_trace_printk: call 1: arg=1000 slot=9" },
	  .err_empty = true },
	{ "test-run: interp",
	  { "test-run", "@HIST@", "hist_arg", "--ctx-in", "@CTX@", "--backend", "interp" },
	  0,
	  .out_has = { "retval: 9 (0x9)", "(1 run, interp)", "key: (__u32)9  value: (__u64)1",
		       "(and 63 all-zero elements not shown)", ".count = (__u64)1" } },
	{ "test-run --json",
	  { "test-run", "@HIST@", "hist_arg", "--ctx-in", "@CTX@", "--repeat", "3", "--json" },
	  0,
	  .out_has = { "{\"prog\":\"hist_arg\",\"retval\":9,",
		       "\"name\":\"hist\",\"type\":\"array\"", "{\"key\":9,\"value\":3}",
		       "{\".bss\":[{\"calls\":3},{\"skipped\":0}]}",
		       "{\"key\":1000,\"value\":{\"count\":3,",
		       "\"msg\":\"call 1: arg=1000 slot=9\"" } },
	{ "test-run: no ctx, arg 0",
	  { "test-run", "@HIST@", "hist_arg", "--json" },
	  0,
	  .out_has = { "\"retval\":0,", "{\"key\":0,\"value\":1}", "{\"min_arg\":0}" } },
	{ "test-run: no-verify warns",
	  { "test-run", "--no-verify", "@HIST@", "hist_arg", "--ctx-in", "@CTX@" },
	  0,
	  .out_has = { "retval: 9" },
	  .err_has = { "bpfinject: warning: --no-verify" } },
	{ "test-run: ringbuf",
	  { "test-run", "@RINGBUF@", "trace_open", "--ctx-in", "@CTX@" },
	  0,
	  .out_has = { "retval: 0", "map 'events' (ringbuf", "1 record pending (160 bytes)",
		       "not dumped", "sent = (__u64)1" } },
	{ "test-run: ringbuf --json",
	  { "test-run", "@RINGBUF@", "trace_open", "--repeat", "4", "--json" },
	  0,
	  .out_has = { "{\"name\":\"events\",\"type\":\"ringbuf\",\"pending_records\":4,",
		       "{\"sent\":4}" } },
	{ "-v shows libbpf's messages",
	  { "-v", "dump", "@BAD@" },
	  1,
	  .err_has = { "libbpf: prog 'hist_arg'", "bpfinject: ", "rejected: " } },
	{ "dump --no-verify: the interpreter loads a bad program",
	  { "dump", "--no-verify", "--backend", "interp", "@BAD@" },
	  0,
	  .out_has = { "1 program (0 rejected)", "not checked (--no-verify)" },
	  ERR1("bpfinject: warning: --no-verify") },
	{ "test-run --no-verify: the interpreter stops at the bad call",
	  { "test-run", "--no-verify", "--backend", "interp", "@BAD@", "hist_arg", "--ctx-in",
	    "@CTX@" },
	  1,
	  .err_has = { "bpfinject: warning: --no-verify", "prog 'hist_arg': test run failed: " } },
/*
	 * Every number option taken whole, finite and in range, the range in the one line. The
	 * attach and fault cases name -p 4194304, above any pid the kernel hands out: a number
	 * that slipped through would fail later, with another message, and touch no process.
	 */
#define NOPID "-p", "4194304"
	{ "--duration nan",
	  { "--duration", "nan", NOPID, "@HIST@" },
	  1,
	  ERR1("bpfinject: --duration: 'nan': expected a number of seconds greater than 0 and at most 31536000") },
	{ "--duration inf", { "-d", "inf", NOPID, "@HIST@" }, 1, ERR1("--duration: 'inf'") },
	{ "--duration 1e400",
	  { "--duration", "1e400", NOPID, "@HIST@" },
	  1,
	  ERR1("--duration: '1e400'") },
	{ "--duration 1e-400",
	  { "--duration", "1e-400", NOPID, "@HIST@" },
	  1,
	  ERR1("--duration: '1e-400'") },
	{ "--duration 0", { "--duration", "0", NOPID, "@HIST@" }, 1, ERR1("--duration: '0'") },
	{ "--duration 2s", { "--duration", "2s", NOPID, "@HIST@" }, 1, ERR1("--duration: '2s'") },
	{ "--duration ' 2'", { "--duration", " 2", NOPID, "@HIST@" }, 1, ERR1("--duration: ' 2'") },
	{ "-p 12x",
	  { "-p", "12x", "@HIST@" },
	  1,
	  ERR1("bpfinject: -p: '12x': not a process id (a number from 1 to 4194304)") },
	{ "-p -1", { "-p", "-1", "@HIST@" }, 1, ERR1("-p: '-1': not a process id") },
	{ "-p 4194305", { "-p", "4194305", "@HIST@" }, 1, ERR1("-p: '4194305': not a process id") },
	{ "-p 2^32+1", { "-p", "4294967297", "@HIST@" }, 1, ERR1("-p: '4294967297'") },
	{ "-a FUNC+xyz",
	  { "-a", "hist_arg=malloc+xyz", NOPID, "@HIST@" },
	  1,
	  ERR1("bpfinject: hist_arg=malloc+xyz: 'xyz': expected an offset from 0 to 2147483647") },
	{ "-a FUNC+",
	  { "-a", "hist_arg=libc.so.6:malloc+", NOPID, "@HIST@" },
	  1,
	  ERR1("hist_arg=libc.so.6:malloc+: '': expected an offset") },
	{ "-a FUNC+-1",
	  { "-a", "hist_arg=malloc+-1", NOPID, "@HIST@" },
	  1,
	  ERR1("'-1': expected an offset") },
	{ "-a FUNC+1x",
	  { "-a", "hist_arg=malloc+1x", NOPID, "@HIST@" },
	  1,
	  ERR1("'1x': expected an offset") },
	{ "-a PATH:ADDR junk",
	  { "-a", "hist_arg=/bin/true:0x12zz", NOPID, "@HIST@" },
	  1,
	  ERR1("'0x12zz': expected a file offset") },
	{ "-a no PROG", { "-a", "=malloc", NOPID, "@HIST@" }, 1, ERR1("=malloc: expected PROG=") },
#define FAULT_W "fault", "--syscall", "write", "--errno", "EIO"
	{ "fault --nth -1",
	  { FAULT_W, "--nth", "-1", NOPID },
	  1,
	  ERR1("bpfinject: --nth: '-1': expected a whole number from 1 to 18446744073709551615") },
	{ "fault --nth 0", { FAULT_W, "--nth", "0", NOPID }, 1, ERR1("--nth: '0'") },
	{ "fault --nth 2^64",
	  { FAULT_W, "--nth", "18446744073709551616", NOPID },
	  1,
	  ERR1("--nth: '18446744073709551616'") },
	{ "fault --after -3",
	  { FAULT_W, "--after", "-3", NOPID },
	  1,
	  ERR1("--after: '-3': expected a whole number from 0 to") },
	{ "fault --after 1.5", { FAULT_W, "--after", "1.5", NOPID }, 1, ERR1("--after: '1.5'") },
	{ "fault --probability nan",
	  { FAULT_W, "--probability", "nan", NOPID },
	  1,
	  ERR1("bpfinject: --probability: 'nan': expected a probability of at least 2.328306437e-10 and at most 1") },
	{ "fault --probability inf",
	  { FAULT_W, "--probability", "inf", NOPID },
	  1,
	  ERR1("--probability: 'inf'") },
	{ "fault --probability 1.01",
	  { FAULT_W, "--probability", "1.01", NOPID },
	  1,
	  ERR1("--probability: '1.01'") },
	{ "fault --probability 1e-12",
	  { FAULT_W, "--probability", "1e-12", NOPID },
	  1,
	  ERR1("--probability: '1e-12'") },
	{ "fault --seed -1",
	  { FAULT_W, "--seed", "-1", NOPID },
	  1,
	  ERR1("--seed: '-1': expected a whole number from 0 to 18446744073709551615") },
	{ "fault --tid 0",
	  { FAULT_W, "--tid", "0", NOPID },
	  1,
	  ERR1("--tid: '0': expected a whole number from 1 to 4194304") },
	{ "fault --tid 2^32+5",
	  { FAULT_W, "--tid", "4294967301", NOPID },
	  1,
	  ERR1("--tid: '4294967301'") },
	{ "fault --duration nan",
	  { FAULT_W, "--duration", "nan", NOPID },
	  1,
	  ERR1("--duration: 'nan': expected a number of seconds") },
	{ "fault --errno 4096",
	  { "fault", "--syscall", "write", "--errno", "4096", NOPID },
	  1,
	  ERR1("4096: not an errno name (EIO, ENOSPC, ...) or a number from 1 to 4095") },
	{ "fault --return 1e3",
	  { "fault", "--func", "malloc", "--return", "1e3", NOPID },
	  1,
	  ERR1("--return: '1e3': expected a whole number from -9223372036854775808 to 9223372036854775807") },
	{ "fault --return 2^63",
	  { "fault", "--func", "malloc", "--return", "9223372036854775808", NOPID },
	  1,
	  ERR1("--return: '9223372036854775808'") },
	{ "run -p 0", { "run", "-p", "0", "--", "true" }, 1, ERR1("-p: '0': not a process id") },
	{ "detach -p 1x", { "detach", "-p", "1x" }, 1, ERR1("-p: '1x': not a process id") },
	{ "test-run --repeat -1",
	  { "test-run", "@HIST@", "hist_arg", "--repeat", "-1" },
	  1,
	  ERR1("--repeat: '-1': expected a whole number from 1 to 4294967295") },
	{ "test-run --repeat 2^32",
	  { "test-run", "@HIST@", "hist_arg", "--repeat", "4294967296" },
	  1,
	  ERR1("--repeat: '4294967296'") },
#undef NOPID
#undef FAULT_W
	{ "dump -h",
	  { "dump", "-h" },
	  0,
	  .out_has = { "usage: bpfinject dump" },
	  .err_empty = true },
};

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(cli_case)
{
	const struct cli_case *c = &cli_cases[_i];
	const char *argv[16];
	struct run_result r;
	size_t i;

	for (i = 0; c->argv[i]; i++)
		argv[i] = subst(c->argv[i]);
	argv[i] = NULL;
	run_cli(argv, &r);
	ck_assert_msg(r.status == c->expect_exit,
		      "%s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", c->descr, r.status,
		      c->expect_exit, r.out, r.err);
	for (i = 0; i < 6 && c->out_has[i]; i++)
		ck_assert_msg(strstr(r.out, c->out_has[i]),
			      "%s: stdout lacks '%s':\n%s\nstderr:\n%s", c->descr, c->out_has[i],
			      r.out, r.err);
	for (i = 0; i < 3 && c->err_has[i]; i++)
		ck_assert_msg(strstr(r.err, c->err_has[i]), "%s: stderr lacks '%s':\n%s", c->descr,
			      c->err_has[i], r.err);
	if (c->err_one_line)
		ck_assert_msg(count_lines(r.err) == 1 && !strncmp(r.err, "bpfinject: ", 11),
			      "%s: stderr is not one 'bpfinject: ' line:\n%s", c->descr, r.err);
	if (c->err_empty)
		ck_assert_msg(!r.err[0], "%s: stderr not empty:\n%s", c->descr, r.err);
	free(r.out);
	free(r.err);
}
END_TEST

/*
 * --verify kernel|both: the running kernel's verdict. e2e_fault's sys_enter program uses
 * bpf_override_return, which we allow there (the syscall is skipped) and the kernel does not:
 * with both it is refused with the kernel's reason, the other program passes both checks.
 */
START_TEST(verify_with_the_kernel)
{
	const char *build = getenv("BPFI_BUILD_DIR");
	char fault[512];
	struct run_result r;

	if (geteuid() != 0) {
		fprintf(stderr, "verify_with_the_kernel: not root, the kernel's check not tried\n");
		return;
	}
	snprintf(fault, sizeof(fault), "%s/tests/bpf/e2e_fault.bpf.o", build);
	run_cli((const char *const[]){ "dump", "--verify", "both", fault, NULL }, &r);
	ck_assert_msg(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	ck_assert_msg(strstr(r.out, "rejected: kernel verifier: ") &&
			      strstr(r.out, "bpf_override_return") &&
			      strstr(r.out, "ok (ours and the kernel's)"),
		      "%s", r.out);
	ck_assert_msg(strstr(r.err, "prog 'fail_stdout_writes' rejected: kernel verifier: "), "%s",
		      r.err);
	free(r.out);
	free(r.err);

	/* ours alone accepts both programs */
	run_cli((const char *const[]){ "dump", fault, NULL }, &r);
	ck_assert_msg(r.status == 0 && strstr(r.out, "2 programs (0 rejected)"), "%s%s", r.out,
		      r.err);
	free(r.out);
	free(r.err);

	/* the kernel's check alone; the program then runs as usual */
	run_cli((const char *const[]){ "test-run", "--verify", "kernel", path_hist, "hist_arg",
				       "--ctx-in", path_ctx, NULL },
		&r);
	ck_assert_msg(r.status == 0 && strstr(r.out, "retval: 9"), "%s%s", r.out, r.err);
	free(r.out);
	free(r.err);

	/* no kernel eBPF for this user: one line, before anything is loaded */
	run_cli_as((const char *const[]){ "dump", "--verify", "kernel", path_hist, NULL }, &r,
		   65534);
	ck_assert_msg(r.status == 1 && count_lines(r.err) == 1 &&
			      strstr(r.err, "bpfinject: --verify: the kernel's verifier cannot be "
					    "asked here: bpf(2): "),
		      "exit %d: %s", r.status, r.err);
	free(r.out);
	free(r.err);
}
END_TEST

START_TEST(verify_bad_arguments)
{
	struct run_result r;

	run_cli((const char *const[]){ "dump", "--verify", "bogus", path_hist, NULL }, &r);
	ck_assert_msg(r.status == 1 && count_lines(r.err) == 1 &&
			      strstr(r.err, "bpfinject: --verify: 'bogus': expected ours, kernel "
					    "or both"),
		      "%s", r.err);
	free(r.out);
	free(r.err);
	run_cli((const char *const[]){ "dump", "--no-verify", "--verify", "both", path_hist, NULL },
		&r);
	ck_assert_msg(r.status == 1 && strstr(r.err, "--no-verify: cannot be combined with "
						     "--verify both"),
		      "%s", r.err);
	free(r.out);
	free(r.err);
	run_cli((const char *const[]){ "run", "--verify", "nope", "-p", "1", "--", "true", NULL },
		&r);
	ck_assert_msg(r.status == 1 && strstr(r.err, "bpfinject: --verify: 'nope'"), "%s", r.err);
	free(r.out);
	free(r.err);
}
END_TEST

/* The disassembler, one instruction form per row (llvm-objdump / bpftool syntax). */
struct disasm_case {
	struct bpf_insn insns[2];
	const char *expect;
};

#define INSN(c, d, s, o, i)                                                         \
	{                                                                           \
		.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) \
	}

static const struct disasm_case disasm_cases[] = {
	{ { INSN(BPF_LDX | BPF_MEM | BPF_W, 0, 1, 8, 0) }, "r0 = *(u32 *)(r1 + 8)" },
	{ { INSN(BPF_LDX | BPF_MEM | BPF_DW, 3, 10, -16, 0) }, "r3 = *(u64 *)(r10 - 16)" },
	{ { INSN(BPF_LDX | BPF_MEMSX | BPF_H, 2, 1, -2, 0) }, "r2 = *(s16 *)(r1 - 2)" },
	{ { INSN(BPF_LDX | BPF_MEMSX | BPF_B, 2, 1, 0, 0) }, "r2 = *(s8 *)(r1 + 0)" },
	{ { INSN(BPF_STX | BPF_MEM | BPF_DW, 10, 1, -8, 0) }, "*(u64 *)(r10 - 8) = r1" },
	{ { INSN(BPF_ST | BPF_MEM | BPF_B, 10, 0, -1, 7) }, "*(u8 *)(r10 - 1) = 7" },
	{ { INSN(BPF_ST | BPF_MEM | BPF_H, 1, 0, 2, -1) }, "*(u16 *)(r1 + 2) = -1" },
	{ { INSN(BPF_ALU | BPF_ADD | BPF_X, 1, 2, 0, 0) }, "w1 += w2" },
	{ { INSN(BPF_ALU64 | BPF_SUB | BPF_K, 1, 0, 0, 5) }, "r1 -= 5" },
	{ { INSN(BPF_ALU64 | BPF_MUL | BPF_K, 1, 0, 0, -3) }, "r1 *= -3" },
	{ { INSN(BPF_ALU64 | BPF_DIV | BPF_X, 1, 2, 0, 0) }, "r1 /= r2" },
	{ { INSN(BPF_ALU64 | BPF_DIV | BPF_X, 1, 2, 1, 0) }, "r1 s/= r2" },
	{ { INSN(BPF_ALU | BPF_MOD | BPF_K, 1, 0, 1, 3) }, "w1 s%= 3" },
	{ { INSN(BPF_ALU | BPF_MOD | BPF_K, 1, 0, 0, 3) }, "w1 %= 3" },
	{ { INSN(BPF_ALU64 | BPF_OR | BPF_K, 4, 0, 0, 16) }, "r4 |= 16" },
	{ { INSN(BPF_ALU64 | BPF_AND | BPF_X, 4, 5, 0, 0) }, "r4 &= r5" },
	{ { INSN(BPF_ALU64 | BPF_LSH | BPF_K, 4, 0, 0, 3) }, "r4 <<= 3" },
	{ { INSN(BPF_ALU | BPF_RSH | BPF_X, 4, 6, 0, 0) }, "w4 >>= w6" },
	{ { INSN(BPF_ALU64 | BPF_ARSH | BPF_K, 4, 0, 0, 63) }, "r4 s>>= 63" },
	{ { INSN(BPF_ALU64 | BPF_XOR | BPF_X, 9, 8, 0, 0) }, "r9 ^= r8" },
	{ { INSN(BPF_ALU64 | BPF_NEG, 1, 0, 0, 0) }, "r1 = -r1" },
	{ { INSN(BPF_ALU | BPF_NEG, 1, 0, 0, 0) }, "w1 = -w1" },
	{ { INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0) }, "r6 = r1" },
	{ { INSN(BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, -1) }, "w0 = -1" },
	{ { INSN(BPF_ALU | BPF_MOV | BPF_X, 1, 2, 8, 0) }, "w1 = (s8)w2" },
	{ { INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 2, 32, 0) }, "r1 = (s32)r2" },
	{ { INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 2, 16, 0) }, "r1 = (s16)r2" },
	{ { INSN(BPF_ALU | BPF_END | BPF_TO_BE, 1, 0, 0, 16) }, "r1 = be16 r1" },
	{ { INSN(BPF_ALU | BPF_END | BPF_TO_LE, 1, 0, 0, 64) }, "r1 = le64 r1" },
	{ { INSN(BPF_ALU64 | BPF_END, 1, 0, 0, 32) }, "r1 = bswap32 r1" },
	{ { INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 2, 0, BPF_ADD) },
	  "lock *(u64 *)(r1 + 0) += r2" },
	{ { INSN(BPF_STX | BPF_ATOMIC | BPF_W, 1, 3, 4, BPF_OR) }, "lock *(u32 *)(r1 + 4) |= w3" },
	{ { INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 3, 0, BPF_AND) },
	  "lock *(u64 *)(r1 + 0) &= r3" },
	{ { INSN(BPF_STX | BPF_ATOMIC | BPF_W, 1, 2, 4, BPF_XOR | BPF_FETCH) },
	  "w2 = atomic_fetch_xor((u32 *)(r1 + 4), w2)" },
	{ { INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 2, -8, BPF_ADD | BPF_FETCH) },
	  "r2 = atomic_fetch_add((u64 *)(r1 - 8), r2)" },
	{ { INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 2, 0, BPF_XCHG) }, "r2 = xchg_64(r1 + 0, r2)" },
	{ { INSN(BPF_STX | BPF_ATOMIC | BPF_W, 1, 2, 0, BPF_XCHG) }, "w2 = xchg32_32(r1 + 0, w2)" },
	{ { INSN(BPF_STX | BPF_ATOMIC | BPF_W, 1, 2, -8, BPF_CMPXCHG) },
	  "w0 = cmpxchg32_32(r1 - 8, w0, w2)" },
	{ { INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 2, 0, BPF_CMPXCHG) },
	  "r0 = cmpxchg_64(r1 + 0, r0, r2)" },
	{ { INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 2, 0, 0x77) }, "invalid atomic op 0x77" },
	{ { INSN(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 2, 5) }, "if r1 == 5 goto +2 <3>" },
	{ { INSN(BPF_JMP32 | BPF_JSLT | BPF_X, 1, 2, -1, 0) }, "if w1 s< w2 goto -1 <0>" },
	{ { INSN(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1, 8) }, "if r1 & 8 goto +1 <2>" },
	{ { INSN(BPF_JMP | BPF_JNE | BPF_X, 1, 2, 0, 0) }, "if r1 != r2 goto +0 <1>" },
	{ { INSN(BPF_JMP | BPF_JGE | BPF_K, 1, 0, 0, 1) }, "if r1 >= 1 goto +0 <1>" },
	{ { INSN(BPF_JMP | BPF_JLE | BPF_K, 1, 0, 0, 1) }, "if r1 <= 1 goto +0 <1>" },
	{ { INSN(BPF_JMP | BPF_JSGE | BPF_K, 1, 0, 0, -1) }, "if r1 s>= -1 goto +0 <1>" },
	{ { INSN(BPF_JMP32 | BPF_JSLE | BPF_K, 1, 0, 0, -1) }, "if w1 s<= -1 goto +0 <1>" },
	{ { INSN(BPF_JMP | BPF_JA, 0, 0, 4, 0) }, "goto +4 <5>" },
	{ { INSN(BPF_JMP32 | BPF_JA, 0, 0, 0, 100000) }, "gotol +100000 <100001>" },
	{ { INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 3) }, "call +3 <4>" },
	{ { INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 7) }, "call kfunc#7" },
	{ { INSN(BPF_JMP | BPF_CALL | BPF_X, 2, 0, 0, 0) }, "callx r2" },
	{ { INSN(BPF_JMP | BPF_CALL, 0, 0, 0, 100000) }, "call unknown#100000" },
	{ { INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0) }, "exit" },
	{ { INSN(BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, (int32_t)0x9abcdef0),
	    INSN(0, 0, 0, 0, 0x12345678) },
	  "r1 = 0x123456789abcdef0 ll" },
	{ { INSN(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, 5), INSN(0, 0, 0, 0, 0) },
	  "r1 = map[fd:5] ll" },
	{ { INSN(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_VALUE, 0, 5), INSN(0, 0, 0, 0, 16) },
	  "r2 = map[fd:5] + 16 ll" },
	{ { INSN(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_IDX, 0, 1), INSN(0, 0, 0, 0, 0) },
	  "r2 = map[idx:1] ll" },
	{ { INSN(BPF_LD | BPF_IMM | BPF_DW, 3, BPF_PSEUDO_FUNC, 0, 3), INSN(0, 0, 0, 0, 0) },
	  "r3 = func +3 <4>" },
	{ { INSN(BPF_LD | BPF_IMM | BPF_DW, 3, BPF_PSEUDO_BTF_ID, 0, 42), INSN(0, 0, 0, 0, 0) },
	  "r3 = btf_id[42] ll" },
	{ { INSN(BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, 1) }, "invalid ld_imm64: last instruction" },
	{ { INSN(BPF_LD | BPF_ABS | BPF_H, 0, 0, 0, 12) }, "r0 = *(u16 *)skb[12]" },
	{ { INSN(BPF_LD | BPF_IND | BPF_W, 0, 2, 0, 4) }, "r0 = *(u32 *)skb[r2 + 4]" },
	{ { INSN(BPF_ALU64 | BPF_END | BPF_X, 1, 0, 0, 16) }, "r1 = bswap16 r1" },
	{ { INSN(0xe7, 0, 0, 0, 0) }, "invalid alu op 0xe7" },
	{ { INSN(BPF_LDX | BPF_ATOMIC | BPF_W, 0, 0, 0, 0) }, "invalid mem op 0xc1" },
	{ { INSN(BPF_JMP32 | BPF_EXIT, 0, 0, 0, 0) }, "invalid jmp op 0x96" },
};

START_TEST(disasm_case)
{
	const struct disasm_case *c = &disasm_cases[_i];
	/* An ld_imm64 row has its second slot, except the row that tests its absence. */
	size_t cnt = bpfi_insn_is_ldimm64(&c->insns[0]) && !strstr(c->expect, "invalid") ? 2 : 1;
	char buf[256];
	int n;

	n = cli__disasm_insn(buf, sizeof(buf), c->insns, cnt, 0, NULL);
	ck_assert_msg(!strcmp(buf, c->expect), "row %d: got '%s', expected '%s'", _i, buf,
		      c->expect);
	ck_assert_int_eq(n, (int)cnt);
}
END_TEST

START_TEST(disasm_helper_names)
{
	struct bpf_insn call = INSN(BPF_JMP | BPF_CALL, 0, 0, 0, 1);
	char buf[128], expect[128];
	const char *name = bpfi_helper_name(1);

	ck_assert_ptr_nonnull(name);
	snprintf(expect, sizeof(expect), "call %s#1", name);
	cli__disasm_insn(buf, sizeof(buf), &call, 1, 0, NULL);
	ck_assert_str_eq(buf, expect);
}
END_TEST

/* Every program of the conformance suite (all of cpu v1-v4) disassembles without "invalid". */
START_TEST(disasm_conformance)
{
	const char *dir = getenv("BPFI_CONFORMANCE_DIR");
	struct conformance_case *cases;
	char buf[256];
	int n, i;
	uint32_t j;

	ck_assert_msg(dir, "BPFI_CONFORMANCE_DIR is not set");
	n = conformance_load(dir, &cases);
	ck_assert_int_ge(n, 313);
	for (i = 0; i < n; i++) {
		for (j = 0; j < cases[i].insn_cnt;) {
			int slots = cli__disasm_insn(buf, sizeof(buf), cases[i].insns,
						     cases[i].insn_cnt, j, NULL);

			ck_assert_msg(buf[0] && !strstr(buf, "invalid"), "%s insn %u: '%s'",
				      cases[i].name, j, buf);
			j += (uint32_t)slots;
		}
	}
	conformance_free(cases, n);
}
END_TEST

/* BTF built with libbpf's writer: every kind the JSON formatter handles, in one struct. */
START_TEST(btf_json_kinds)
{
	struct btf *btf = btf__new_empty();
	int u32_id, int_id, uint_id, char_id, u16_id, s16_id, bool_id, arr_id, enum_id, union_id;
	int ptr_id, s_id, td_id, dbl_id;
	struct {
		uint32_t a;
		int32_t bits; /* b:3 at bit 32, c:5 at bit 35 */
		char name[8];
		uint32_t e;
		uint16_t u;
		uint8_t flag;
		uint8_t pad;
		uint64_t p;
		double d;
	} v = { .a = 7, .name = "hi\"x", .e = 2, .u = 0xfffb, .flag = 1, .p = 0x1000, .d = 1.5 };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(btf);
	u32_id = btf__add_int(btf, "u32", 4, 0);
	int_id = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	uint_id = btf__add_int(btf, "unsigned int", 4, 0);
	char_id = btf__add_int(btf, "char", 1, BTF_INT_SIGNED);
	u16_id = btf__add_int(btf, "u16", 2, 0);
	s16_id = btf__add_int(btf, "s16", 2, BTF_INT_SIGNED);
	bool_id = btf__add_int(btf, "_Bool", 1, BTF_INT_BOOL);
	dbl_id = btf__add_float(btf, "double", 8);
	arr_id = btf__add_array(btf, u32_id, char_id, 8);
	enum_id = btf__add_enum(btf, "color", 4);
	btf__add_enum_value(btf, "RED", 1);
	btf__add_enum_value(btf, "GREEN", 2);
	union_id = btf__add_union(btf, NULL, 2);
	btf__add_field(btf, "u", u16_id, 0, 0);
	btf__add_field(btf, "v", s16_id, 0, 0);
	ptr_id = btf__add_ptr(btf, char_id);
	td_id = btf__add_typedef(btf, "color_t", enum_id);
	s_id = btf__add_struct(btf, "s", sizeof(v));
	btf__add_field(btf, "a", u32_id, 0, 0);
	btf__add_field(btf, "b", int_id, 32, 3);
	btf__add_field(btf, "c", uint_id, 35, 5);
	btf__add_field(btf, "name", arr_id, 64, 0);
	btf__add_field(btf, "e", td_id, 128, 0);
	btf__add_field(btf, NULL, union_id, 160, 0);
	btf__add_field(btf, "flag", bool_id, 176, 0);
	btf__add_field(btf, "p", ptr_id, 192, 0);
	btf__add_field(btf, "d", dbl_id, 256, 0);
	ck_assert_int_gt(s_id, 0);
	/* b = -2 in 3 bits (0b110), c = 17 in 5 bits, packed from bit 32. */
	v.bits = 6 | 17 << 3;

	cli__btf_json(f, btf, (uint32_t)s_id, &v, sizeof(v));
	cli__btf_json(f, NULL, 0, "\x01\xff", 2);
	fclose(f);
	ck_assert_str_eq(out, "{\"a\":7,\"b\":-2,\"c\":17,\"name\":\"hi\\\"x\",\"e\":\"GREEN\","
			      "\"u\":65531,\"v\":-5,\"flag\":true,\"p\":\"0x1000\",\"d\":1.5}"
			      "[\"0x01\",\"0xff\"]");
	free(out);
	btf__free(btf);
}
END_TEST

/*
 * Objects that crashed libbpf 1.1 inside its BTF code (found by tests/fuzz/fuzz_object, issue
 * 11 A6): dump and test-run give one line naming the malformed BTF, never a crash.
 */
START_TEST(malformed_btf_objects)
{
	const char *src = getenv("BPFI_SOURCE_DIR");
	char dir[512], path[1024];
	struct run_result r;
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	ck_assert_msg(src, "BPFI_SOURCE_DIR is not set (run through meson test)");
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/crashes", src);
	d = opendir(dir);
	ck_assert_msg(d, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		const char *dump[] = { "dump", "-d", path, NULL };
		const char *run[] = { "test-run", path, "count", NULL };
		const char *const *cmds[] = { dump, run };

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		for (size_t c = 0; c < 2; c++) {
			run_cli(cmds[c], &r);
			ck_assert_msg(r.status == 1, "%s %s: exit %d: %s", cmds[c][0], path,
				      r.status, r.err);
			ck_assert_msg(count_lines(r.err) == 1 && strstr(r.err, "malformed BTF: ") &&
					      !strncmp(r.err, "bpfinject: ", 11),
				      "%s %s: %s", cmds[c][0], path, r.err);
			free(r.out);
			free(r.err);
		}
		n++;
	}
	closedir(d);
	ck_assert_uint_ge(n, 8);
}
END_TEST

Suite *cli_suite(void);
Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("commands");
	TCase *td = tcase_create("disasm");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, cli_case, 0, sizeof(cli_cases) / sizeof(cli_cases[0]));
	tcase_add_test(tc, verify_with_the_kernel);
	tcase_add_test(tc, verify_bad_arguments);
	tcase_add_test(tc, malformed_btf_objects);
	suite_add_tcase(s, tc);

	tcase_add_loop_test(td, disasm_case, 0, sizeof(disasm_cases) / sizeof(disasm_cases[0]));
	tcase_add_test(td, disasm_helper_names);
	tcase_add_test(td, disasm_conformance);
	tcase_add_test(td, btf_json_kinds);
	suite_add_tcase(s, td);
	return s;
}
