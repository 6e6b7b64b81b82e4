// SPDX-License-Identifier: MIT
/*
 * Real tools. The eBPF objects Debian's libbpf-tools binaries carry (their libbpf skeletons
 * embed them), cut out and run by bpfinject unchanged — opensnoop's syscall tracepoints with
 * perf buffer events, syscount's raw_syscalls counting into hash maps, gethostlatency's entry
 * and return programs attached with -a — and the tools themselves, unmodified, through the
 * shim (`bpfinject run -p PID -- /usr/sbin/opensnoop`). What they report must match what the
 * traced process did.
 */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#define EM_BPF_ 247

static char bpfinject[512];

/* The first eBPF ELF object inside @binary, written to @out. false if none (or no binary). */
static bool extract_object(const char *binary, const char *out)
{
	FILE *f = fopen(binary, "rb");
	unsigned char *data;
	long size;
	bool found = false;

	if (!f)
		return false;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	data = malloc((size_t)size);
	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(fread(data, 1, (size_t)size, f), size);
	fclose(f);
	for (long i = 1; i + (long)sizeof(Elf64_Ehdr) < size && !found; i++) {
		Elf64_Ehdr eh;
		uint64_t end;
		FILE *o;

		if (memcmp(data + i, ELFMAG, SELFMAG))
			continue;
		memcpy(&eh, data + i, sizeof(eh));
		if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_BPF_)
			continue;
		end = eh.e_shoff + (uint64_t)eh.e_shentsize * eh.e_shnum;
		ck_assert_uint_le(end, (uint64_t)(size - i));
		o = fopen(out, "wb");
		ck_assert_ptr_nonnull(o);
		ck_assert_uint_eq(fwrite(data + i, 1, end, o), end);
		fclose(o);
		found = true;
	}
	free(data);
	return found;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)size, f), size);
	buf[size] = '\0';
	fclose(f);
	return buf;
}

/* Runs @argv, collects stdout and stderr: the exit code. */
static int run(char *const argv[], char **ret_out, char **ret_err)
{
	char out_path[] = "/tmp/bpfi-tools-out-XXXXXX", err_path[] = "/tmp/bpfi-tools-err-XXXXXX";
	int out = mkstemp(out_path), err = mkstemp(err_path), status;
	pid_t pid;

	ck_assert_int_ge(out, 0);
	ck_assert_int_ge(err, 0);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	*ret_out = read_file(out_path);
	*ret_err = read_file(err_path);
	close(out);
	close(err);
	unlink(out_path);
	unlink(err_path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The tool's object in a temporary file, or false (and a message) when it is not installed. */
static bool tool_object(const char *tool, char *path, size_t size)
{
	char binary[256];
	const char *b = getenv("BPFI_BUILD_DIR");

	ck_assert_ptr_nonnull(b);
	snprintf(bpfinject, sizeof(bpfinject), "%s/cli/bpfinject", b);
	snprintf(binary, sizeof(binary), "/usr/sbin/%s", tool);
	snprintf(path, size, "/tmp/bpfi-tool-%s-%d.bpf.o", tool, (int)getpid());
	if (!extract_object(binary, path)) {
		printf("tools: %s has no eBPF object (libbpf-tools not installed?): not tested\n",
		       binary);
		return false;
	}
	return true;
}

/*
 * Each program line of `bpfinject dump`: its name and whether the check accepted it. Lines
 * of program types we do not run (fentry, tp_btf: "failed to load") are left out.
 */
static unsigned int verdicts(const char *out, char names[][64], bool *ok, unsigned int max)
{
	const char *p = strstr(out, "programs:\n");
	unsigned int n = 0;

	ck_assert_ptr_nonnull(p);
	p = strchr(p, '\n') + 1;
	p = strchr(p, '\n') + 1; /* the column titles */
	while (!strncmp(p, "  ", 2) && n < max) {
		const char *end = strchr(p, '\n');
		char line[512];

		snprintf(line, sizeof(line), "%.*s", (int)(end - p), p);
		if (!strstr(line, "failed to load")) {
			ck_assert_int_eq(sscanf(line, " %63s", names[n]), 1);
			ok[n] = !strstr(line, "rejected");
			n++;
		}
		p = end + 1;
	}
	return n;
}

/*
 * Our check against the running kernel's (`--verify kernel`) on the programs Debian's
 * libbpf-tools carry, each program of a type we run: the verdicts must be the same. (By
 * hand, all 61 tools: 197 programs accepted by both, 4 refused by both, none differ.)
 */
START_TEST(libbpf_tools_verdicts_match_the_kernel)
{
	static const char *const tools[] = { "opensnoop",   "execsnoop",    "syscount",
					     "funclatency", "bashreadline", "gethostlatency",
					     "statsnoop",   "sigsnoop",	    "killsnoop",
					     "exitsnoop",   "runqlat",	    "bindsnoop",
					     "tcptop",	    "cpufreq" };
	unsigned int compared = 0, accepted = 0;

	if (geteuid() != 0) {
		printf("tools: not root: the kernel's verdicts not compared\n");
		return;
	}
	for (size_t t = 0; t < sizeof(tools) / sizeof(tools[0]); t++) {
		char obj[256], ours_names[64][64], kern_names[64][64];
		bool ours_ok[64], kern_ok[64];
		char *ours_out, *kern_out, *err;
		unsigned int n, k;

		if (!tool_object(tools[t], obj, sizeof(obj)))
			continue;
		run((char *const[]){ bpfinject, "dump", obj, NULL }, &ours_out, &err);
		free(err);
		run((char *const[]){ bpfinject, "dump", "--verify", "kernel", obj, NULL },
		    &kern_out, &err);
		free(err);
		n = verdicts(ours_out, ours_names, ours_ok, 64);
		k = verdicts(kern_out, kern_names, kern_ok, 64);
		ck_assert_uint_eq(n, k);
		for (unsigned int i = 0; i < n; i++) {
			ck_assert_str_eq(ours_names[i], kern_names[i]);
			ck_assert_msg(
				ours_ok[i] == kern_ok[i],
				"%s: prog '%s': ours %s, the kernel %s\nours:\n%s\nkernel:\n%s",
				tools[t], ours_names[i], ours_ok[i] ? "accepts" : "refuses",
				kern_ok[i] ? "accepts" : "refuses", ours_out, kern_out);
			compared++;
			accepted += ours_ok[i];
		}
		free(ours_out);
		free(kern_out);
		unlink(obj);
	}
	ck_assert_msg(compared > 0, "no libbpf-tools object compared");
	printf("tools: %u programs, the same verdict as the kernel's (%u accepted)\n", compared,
	       accepted);
}
END_TEST

/* opensnoop's struct event (libbpf-tools 0.26 opensnoop.h). */
struct opensnoop_event {
	uint64_t ts;
	int32_t pid;
	uint32_t uid;
	int32_t ret;
	int32_t flags;
	uint64_t callers[2];
	char comm[16];
	char fname[255];
};

/* The next {"event":[...]} line of --json output, decoded; NULL at the end. */
static const char *next_event(const char *at, unsigned char *buf, size_t size, size_t *ret_len)
{
	const char *p = strstr(at, "{\"event\":[");
	size_t n = 0;

	if (!p)
		return NULL;
	p += 10;
	while (*p == '"' && n < size) {
		buf[n++] = (unsigned char)strtoul(p + 1, (char **)&p, 16);
		p += (*p == '"') + (p[1] == ',');
	}
	*ret_len = n;
	return p;
}

/*
 * opensnoop: `cat FILE MISSING` under bpfinject; its sys_enter/sys_exit_openat programs report
 * the file opened (a descriptor) and the missing one (-ENOENT), with cat's name and pid.
 */
START_TEST(opensnoop_reports_the_opens)
{
	char obj[256], file[] = "/tmp/bpfi-tools-file-XXXXXX", missing[64], *out, *err;
	char *argv[] = { bpfinject, "--json", obj, "--", "/bin/cat", file, missing, NULL };
	const char *at, *pidp;
	bool saw_file = false, saw_missing = false;
	unsigned char buf[512];
	long pid;
	size_t len;
	int fd, rc;

	if (!tool_object("opensnoop", obj, sizeof(obj)))
		return;
	fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(missing, sizeof(missing), "%s.missing", file);
	rc = run(argv, &out, &err);
	unlink(file);
	unlink(obj);
	ck_assert_msg(rc == 1, "cat should fail on the missing file: exit %d; stderr: %s", rc, err);
	pidp = strstr(err, "probes to process ");
	ck_assert_msg(pidp, "stderr: %s", err);
	pid = strtol(pidp + 18, NULL, 10);
	for (at = out; (at = next_event(at, buf, sizeof(buf), &len));) {
		struct opensnoop_event ev = { 0 };

		memcpy(&ev, buf, len < sizeof(ev) ? len : sizeof(ev));
		ev.fname[sizeof(ev.fname) - 1] = '\0';
		ck_assert_int_eq(ev.pid, pid);
		ck_assert_str_eq(ev.comm, "cat");
		if (!strcmp(ev.fname, file)) {
			ck_assert_int_ge(ev.ret, 3);
			saw_file = true;
		}
		if (!strcmp(ev.fname, missing)) {
			ck_assert_int_eq(ev.ret, -ENOENT);
			saw_missing = true;
		}
	}
	ck_assert_msg(saw_file && saw_missing, "stdout: %.2000s", out);
	free(out);
	free(err);
}
END_TEST

/* syscall @nr's count in syscount's `data` map, from --json; -1 if absent. */
static long syscount_of(const char *json, int nr)
{
	const char *data = strstr(json, "{\"name\":\"data\"");
	char pat[64];
	const char *at;

	ck_assert_msg(data, "no data map: %s", json);
	snprintf(pat, sizeof(pat), "{\"key\":%d,\"value\":{\"count\":", nr);
	at = strstr(data, pat);
	return at ? strtol(at + strlen(pat), NULL, 10) : -1;
}

/*
 * syscount: `cat FILE` copies it, opens it and others, and closes them. With --catch-all, its
 * reads include glibc's __read_nocancel, so never fewer.
 */
START_TEST(syscount_counts_a_command)
{
	char obj[256], file[] = "/tmp/bpfi-tools-file-XXXXXX", *out, *err, *out_all, *err_all;
	char *argv[] = { bpfinject, "--json", obj, "--", "/bin/cat", file, NULL };
	char *argv_all[] = {
		bpfinject, "--json", "--catch-all", obj, "--", "/bin/cat", file, NULL
	};
	int fd, rc;

	if (!tool_object("syscount", obj, sizeof(obj)))
		return;
	fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "hi\n", 3), 3);
	close(fd);
	rc = run(argv, &out, &err);
	ck_assert_msg(rc == 0, "exit %d; stderr: %s", rc, err);
	rc = run(argv_all, &out_all, &err_all);
	unlink(file);
	unlink(obj);
	ck_assert_msg(rc == 0, "exit %d; stderr: %s", rc, err_all);
	ck_assert_msg(strstr(out, "hi\n") == out, "stdout: %s", out);
	/* into a file (our capture), cat copies with copy_file_range rather than write */
	ck_assert_int_ge(syscount_of(out, 326 /* copy_file_range */), 1);
	ck_assert_int_ge(syscount_of(out, 257 /* openat */), 1);
	ck_assert_int_ge(syscount_of(out, 3 /* close */), 1);
	ck_assert_int_eq(syscount_of(out_all, 326), syscount_of(out, 326));
	ck_assert_int_ge(syscount_of(out_all, 0 /* read */), syscount_of(out, 0));
	free(out);
	free(err);
	free(out_all);
	free(err_all);
}
END_TEST

/* gethostlatency: its kprobe-typed programs attached with -a to libc's getaddrinfo. */
START_TEST(gethostlatency_with_attach_specs)
{
	char obj[256], *out, *err;
	char *argv[] = { bpfinject,
			 "--json",
			 "-a",
			 "handle_entry=libc.so.6:getaddrinfo",
			 "-a",
			 "handle_return=libc.so.6:getaddrinfo",
			 obj,
			 "--",
			 "/usr/bin/getent",
			 "ahosts",
			 "localhost",
			 NULL };
	unsigned char buf[256];
	uint64_t ns;
	size_t len;
	int rc;

	if (!tool_object("gethostlatency", obj, sizeof(obj)))
		return;
	rc = run(argv, &out, &err);
	unlink(obj);
	ck_assert_msg(rc == 0, "exit %d; stderr: %s", rc, err);
	ck_assert_msg(!strstr(err, "warning"), "stderr: %s", err);
	/* struct event: u64 time, pid, char comm[16], char host[80] */
	ck_assert_msg(next_event(out, buf, sizeof(buf), &len) && len >= 108, "stdout: %s", out);
	ck_assert_str_eq((const char *)buf + 12, "getent");
	ck_assert_str_eq((const char *)buf + 28, "localhost");
	memcpy(&ns, buf, sizeof(ns));
	ck_assert_uint_gt(ns, 0); /* the latency */
	free(out);
	free(err);
}
END_TEST

/*
 * The tool itself, unmodified: /usr/sbin/opensnoop under `bpfinject run -p PID` (the shim),
 * its syscall tracepoints running inside a fixture that opens its file N + 1 times per round:
 * opensnoop prints exactly those opens, with the fixture's pid and name; on Ctrl-C it exits
 * normally, the fixture carries nothing any more and goes on.
 */
START_TEST(opensnoop_unmodified_through_the_shim)
{
	char file[] = "/tmp/bpfi-tools-file-XXXXXX", pid[16], line[512], path[600];
	char *targv[] = { path, file, "3", NULL };
	char *argv[] = { bpfinject, "run", "-p", pid, "--", "/usr/sbin/opensnoop", NULL };
	char *largv[] = { bpfinject, "list", NULL };
	struct test_proc t, b;
	int fd, status, seen = 0;
	char *out, *err;

	if (access("/usr/sbin/opensnoop", X_OK)) {
		printf("tools: no /usr/sbin/opensnoop (libbpf-tools not installed?): not tested\n");
		return;
	}
	snprintf(bpfinject, sizeof(bpfinject), "%s/cli/bpfinject", getenv("BPFI_BUILD_DIR"));
	snprintf(path, sizeof(path), "%s/tests/fixtures/target_syscalls", getenv("BPFI_BUILD_DIR"));
	snprintf(line, sizeof(line), "%s/shim/libbpfinject-shim.so", getenv("BPFI_BUILD_DIR"));
	if (access(line, R_OK)) {
		printf("tools: no shim in this build (sanitizers): not tested\n");
		return;
	}
	fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	close(fd);
	test_spawn(&t, targv);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	test_spawn(&b, argv);
	do /* the shim injects when the tool first waits for events */
		ck_assert_msg(test_read_line(b.err, line, sizeof(line), 20000) == 0,
			      "no attach line from the shim");
	while (!strstr(line, "bpfinject-shim: attached"));
	ck_assert_int_eq(write(t.to, "r", 1), 1);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	ck_assert_msg(!strncmp(line, "done 3 ok 3", 11), "fixture: %s", line);
	usleep(500000); /* opensnoop polls its perf buffers every 100 ms */
	kill(b.pid, SIGINT);
	ck_assert_int_eq(waitpid(b.pid, &status, 0), b.pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		out = test_read_all(b.err);
		ck_abort_msg("opensnoop: status %#x; stderr: %s", status, out);
	}
	/* its stdout is a pipe, so buffered until it exits */
	while (test_read_line(b.out, line, sizeof(line), 1000) == 0) {
		if (!strstr(line, file))
			continue;
		ck_assert_msg(atoi(line) == t.pid && strstr(line, "target_syscall"), "line: %s",
			      line);
		seen++;
	}
	ck_assert_int_eq(seen, 4); /* the round's N opens, and the one it writes through */
	/* put back: `list` does not name it, and it goes on */
	ck_assert_int_eq(run(largv, &out, &err), 0);
	ck_assert_msg(!strstr(out, pid), "list: %s", out);
	free(out);
	free(err);
	ck_assert_int_eq(write(t.to, "rq", 2), 2);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	ck_assert_msg(!strncmp(line, "done 3 ok 3", 11), "fixture: %s", line);
	ck_assert_int_eq(waitpid(t.pid, &status, 0), t.pid);
	ck_assert_int_eq(status, 0);
	unlink(file);
	close(t.to);
	close(t.out);
	close(t.err);
	close(b.to);
	close(b.out);
	close(b.err);
}
END_TEST

/* The count syscount's table prints for @name, -1 if the row is absent. */
static long table_count(const char *out, const char *name)
{
	for (const char *at = out; (at = strstr(at, name)); at++) {
		if ((at == out || at[-1] == '\n') && at[strlen(name)] == ' ')
			return strtol(at + strlen(name), NULL, 10);
	}
	return -1;
}

/*
 * /usr/sbin/syscount -p PID, unmodified, through the shim: its raw_syscalls/sys_exit program
 * counts the fixture's round exactly (N getpid; N + 1 openat and close, the write's open
 * included) and prints the table when interrupted.
 */
/* Loop 1: the same with `--verify both`, every program also checked by the kernel (root). */
START_TEST(syscount_unmodified_through_the_shim)
{
	char file[] = "/tmp/bpfi-tools-file-XXXXXX", pid[16], line[512], path[600];
	char *targv[] = { path, file, "50", NULL };
	char *argv[] = { bpfinject, "run", "-p", pid, "--", "/usr/sbin/syscount", "-p", pid, NULL };
	char *argv_verify[] = { bpfinject, "run", "--verify", "both",
				"-p",	   pid,	  "--",	      "/usr/sbin/syscount",
				"-p",	   pid,	  NULL };
	struct test_proc t, b;
	char *out;
	int fd, status;

	if (_i == 1 && geteuid() != 0) {
		printf("tools: not root: --verify both not tested\n");
		return;
	}

	snprintf(bpfinject, sizeof(bpfinject), "%s/cli/bpfinject", getenv("BPFI_BUILD_DIR"));
	snprintf(path, sizeof(path), "%s/shim/libbpfinject-shim.so", getenv("BPFI_BUILD_DIR"));
	if (access("/usr/sbin/syscount", X_OK) || access(path, R_OK)) {
		printf("tools: no /usr/sbin/syscount or no shim in this build: not tested\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/tests/fixtures/target_syscalls", getenv("BPFI_BUILD_DIR"));
	fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	close(fd);
	test_spawn(&t, targv);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	test_spawn(&b, _i ? argv_verify : argv);
	do
		ck_assert_msg(test_read_line(b.err, line, sizeof(line), 20000) == 0,
			      "no attach line from the shim");
	while (!strstr(line, "bpfinject-shim: attached"));
	ck_assert_int_eq(write(t.to, "r", 1), 1);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	kill(b.pid, SIGINT);
	ck_assert_int_eq(waitpid(b.pid, &status, 0), b.pid);
	out = test_read_all(b.out);
	ck_assert_msg(table_count(out, "getpid") == 50, "syscount: %s", out);
	ck_assert_msg(table_count(out, "openat") == 51, "syscount: %s", out);
	ck_assert_msg(table_count(out, "close") == 51, "syscount: %s", out);
	free(out);
	ck_assert_int_eq(write(t.to, "q", 1), 1);
	ck_assert_int_eq(waitpid(t.pid, &status, 0), t.pid);
	unlink(file);
	close(t.to);
	close(t.out);
	close(t.err);
	close(b.to);
	close(b.out);
	close(b.err);
}
END_TEST

/*
 * `bpfinject run --catch-all`: syscount sees the system calls a process makes from generated
 * code, in its threads, children and signal handlers (target_jitsys: 7 situations of N getppid
 * each, all of them caught through SIGSYS), exactly; without the option, none of them.
 */
START_TEST(syscount_with_the_catch_all)
{
	char pid[16], line[512], path[600];
	char *targv[] = { path, "20", NULL };
	char *argv[] = { bpfinject, "run", "-p", pid, "--catch-all", "--", "/usr/sbin/syscount",
			 NULL };
	struct test_proc t, b;
	char *out;
	int status;

	snprintf(bpfinject, sizeof(bpfinject), "%s/cli/bpfinject", getenv("BPFI_BUILD_DIR"));
	snprintf(path, sizeof(path), "%s/shim/libbpfinject-shim.so", getenv("BPFI_BUILD_DIR"));
	if (access("/usr/sbin/syscount", X_OK) || access(path, R_OK)) {
		printf("tools: no /usr/sbin/syscount or no shim in this build: not tested\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/tests/fixtures/target_jitsys", getenv("BPFI_BUILD_DIR"));
	test_spawn(&t, targv);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	/* loop 1: the same without the catch-all (argv without its "--catch-all") */
	if (_i)
		memmove(&argv[4], &argv[5], 3 * sizeof(argv[0]));
	test_spawn(&b, argv);
	do
		ck_assert_msg(test_read_line(b.err, line, sizeof(line), 20000) == 0,
			      "no attach line from the shim");
	while (!strstr(line, "bpfinject-shim: attached"));
	ck_assert_int_eq(write(t.to, "g\n", 2), 2);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 10000), 0);
	ck_assert_msg(!strcmp(line, "done\n"), "target: %s", line);
	kill(b.pid, SIGINT);
	ck_assert_int_eq(waitpid(b.pid, &status, 0), b.pid);
	out = test_read_all(b.out);
	ck_assert_msg(table_count(out, "getppid") == (_i ? -1 : 7 * 20), "syscount: %s", out);
	free(out);
	close(t.to);
	ck_assert_int_eq(waitpid(t.pid, &status, 0), t.pid);
	ck_assert_int_eq(status, 0);
	close(t.out);
	close(t.err);
	close(b.to);
	close(b.out);
	close(b.err);
}
END_TEST

/*
 * bpftrace, unmodified, through the shim: a uprobe on the fixture's bench() and a syscall
 * tracepoint filtered on its pid, counted exactly (a round's N getpid and bench's N, one
 * bench call). bpftrace reads tracepoint formats from tracefs: mounted where distributions
 * mount it when it is not (as root).
 */
START_TEST(bpftrace_unmodified_through_the_shim)
{
	char file[] = "/tmp/bpfi-tools-file-XXXXXX", pid[16], line[512], path[600], prog[1024];
	char *targv[] = { path, file, "50", NULL };
	char *argv[] = { bpfinject, "run", "-p", pid, "--", "/usr/bin/bpftrace", "-e", prog, NULL };
	struct test_proc t, b;
	char *out;
	int fd, status;

	snprintf(bpfinject, sizeof(bpfinject), "%s/cli/bpfinject", getenv("BPFI_BUILD_DIR"));
	snprintf(path, sizeof(path), "%s/shim/libbpfinject-shim.so", getenv("BPFI_BUILD_DIR"));
	if (access("/usr/bin/bpftrace", X_OK) || access(path, R_OK)) {
		printf("tools: no bpftrace or no shim in this build: not tested\n");
		return;
	}
	if (access("/sys/kernel/tracing/events", F_OK) && !geteuid())
		mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL);
	if (access("/sys/kernel/tracing/events", F_OK)) {
		printf("tools: no tracefs for bpftrace's tracepoint formats: not tested\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/tests/fixtures/target_syscalls", getenv("BPFI_BUILD_DIR"));
	fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	close(fd);
	test_spawn(&t, targv);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	snprintf(prog, sizeof(prog),
		 "uprobe:%s:bench { @bench = count(); } "
		 "tracepoint:syscalls:sys_enter_getpid /pid == %d/ { @getpid = count(); }",
		 path, t.pid);
	test_spawn(&b, argv);
	do
		ck_assert_msg(test_read_line(b.err, line, sizeof(line), 30000) == 0,
			      "no attach line from the shim");
	while (!strstr(line, "bpfinject-shim: attached"));
	ck_assert_int_eq(write(t.to, "rb", 2), 2);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	kill(b.pid, SIGINT);
	ck_assert_int_eq(waitpid(b.pid, &status, 0), b.pid);
	out = test_read_all(b.out);
	ck_assert_msg(strstr(out, "@bench: 1\n") && strstr(out, "@getpid: 100\n"), "bpftrace: %s",
		      out);
	free(out);
	ck_assert_int_eq(write(t.to, "q", 1), 1);
	ck_assert_int_eq(waitpid(t.pid, &status, 0), t.pid);
	unlink(file);
	close(t.to);
	close(t.out);
	close(t.err);
	close(b.to);
	close(b.out);
	close(b.err);
}
END_TEST

Suite *tools_suite(void);
Suite *tools_suite(void)
{
	Suite *s = suite_create("tools");
	TCase *tc = tcase_create("libbpf_tools");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, opensnoop_reports_the_opens);
	tcase_add_test(tc, libbpf_tools_verdicts_match_the_kernel);
	tcase_add_test(tc, syscount_counts_a_command);
	tcase_add_test(tc, gethostlatency_with_attach_specs);
	tcase_add_test(tc, opensnoop_unmodified_through_the_shim);
	tcase_add_loop_test(tc, syscount_unmodified_through_the_shim, 0, 2);
	tcase_add_test(tc, bpftrace_unmodified_through_the_shim);
	tcase_add_loop_test(tc, syscount_with_the_catch_all, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
