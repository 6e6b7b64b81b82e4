// SPDX-License-Identifier: MIT
/*
 * The bpfinject command against live processes, as a user runs it: -p PID with entry and
 * return probes and a libc probe, -- CMD from main's first instruction, --persist then list
 * and detach -p, and the errors. The targets count their own calls; the maps bpfinject prints
 * (--json) must agree exactly, and every patched byte must come back.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/injector.h>

#include "test_bpf_paths.h"
#include "test_util.h"

static char bpfinject[512], obj[512], fixtures[512];

static void paths(void)
{
	const char *b = getenv("BPFI_BUILD_DIR");

	ck_assert_ptr_nonnull(b);
	snprintf(bpfinject, sizeof(bpfinject), "%s/cli/bpfinject", b);
	snprintf(obj, sizeof(obj), "%s/e2e_count.bpf.o", BPFI_TEST_BPF_DIR);
	snprintf(fixtures, sizeof(fixtures), "%s/tests/fixtures", b);
}

struct counts {
	long calls, sum, retsum;
};

static struct counts pause_target(struct test_proc *t)
{
	struct counts c = { -1, -1, -1 };
	char line[128];

	ck_assert_int_eq(write(t->to, "s", 1), 1);
	ck_assert_int_eq(test_read_line(t->out, line, sizeof(line), 5000), 0);
	ck_assert_int_eq(
		sscanf(line, "stopped calls %ld sum %ld retsum %ld", &c.calls, &c.sum, &c.retsum),
		3);
	return c;
}

static uint64_t function_addr(pid_t pid, const char *func)
{
	char exe[512], path[64];
	uint64_t off, addr;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	ck_assert_int_eq(bpfi_elf_find_function(exe, func, &off, NULL, NULL), 0);
	ck_assert_int_eq(bpfi_proc_offset_to_addr(pid, exe, off, &addr, NULL), 0);
	return addr;
}

static void start_target_named(struct test_proc *t, const char *name)
{
	char path[600], line[64];
	char *argv[] = { path, "8", NULL };

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	ck_assert_msg(access(path, X_OK) == 0, "%s is not built (musl-tools missing?)", path);
	test_spawn(t, argv);
	ck_assert_int_eq(test_read_line(t->out, line, sizeof(line), 5000), 0);
}

static void start_target(struct test_proc *t)
{
	start_target_named(t, "target_calls");
}

static void quit_target(struct test_proc *t)
{
	char *out, *err;

	ck_assert_int_eq(write(t->to, "q", 1), 1);
	ck_assert_int_eq(test_finish(t, &out, &err), 0);
	free(out);
	free(err);
}

/* glibc, dynamically linked; and the same program static with musl (no libc.so mapped). */
static const char *const targets[] = { "target_calls", "target_calls_musl" };

START_TEST(attach_by_pid_counts_exactly)
{
	char pid[16], *out, *err, line[256];
	bool attached = false;
	char *argv[] = { bpfinject,    "-p",
			 pid,	       obj,
			 "-a",	       "count_entry=fixture_work",
			 "-a",	       "count_return=fixture_work",
			 "--duration", "4",
			 "--json",     NULL };
	uint8_t before[32], after[32];
	struct test_proc t, b;
	struct counts c0, c1;
	uint64_t addr;

	paths();
	start_target_named(&t, targets[_i]);
	c0 = pause_target(&t);
	addr = function_addr(t.pid, "fixture_work");
	test_read_mem(t.pid, addr, before, sizeof(before));
	snprintf(pid, sizeof(pid), "%d", t.pid);
	test_spawn(&b, argv);
	/* 3 probes with glibc; without libc.so (musl, static) its getpid probe is skipped, said
	 * in a warning first. */
	for (int i = 0; i < 3 && !attached; i++) {
		ck_assert_int_eq(test_read_line(b.err, line, sizeof(line), 10000), 0);
		attached = strncmp(line, "bpfinject: attached", 19) == 0;
		ck_assert_msg(attached || strstr(line, "not attached there"), "bpfinject said: %s",
			      line);
	}
	ck_assert_msg(strstr(line, _i ? "attached 2 probes" : "attached 3 probes"),
		      "bpfinject said: %s", line);
	ck_assert_int_eq(write(t.to, "g", 1), 1);
	usleep(500000);
	c1 = pause_target(&t);
	ck_assert_int_eq(test_finish(&b, &out, &err), 0);
	ck_assert_int_gt(c1.calls - c0.calls, 100);
	ck_assert_int_eq(test_json_counter(out, 0), c1.calls - c0.calls);
	ck_assert_int_eq(test_json_counter(out, 1), c1.sum - c0.sum);
	ck_assert_int_eq(test_json_counter(out, 2), c1.calls - c0.calls);
	ck_assert_int_eq(test_json_counter(out, 3), c1.retsum - c0.retsum);
	/* The first call went out through the ring buffer and trace_printk. */
	ck_assert_msg(strstr(out, "{\"event\":"), "no ring buffer record in: %s", out);
	ck_assert_msg(strstr(out, "first call, arg"), "no trace_printk line in: %s", out);
	test_read_mem(t.pid, addr, after, sizeof(after));
	ck_assert_mem_eq(before, after, sizeof(before));
	free(out);
	free(err);
	quit_target(&t);
}
END_TEST

/*
 * FUNC+OFF at an instruction boundary inside the function attaches, and counts every call
 * with the right argument (fixture_work starts with a 5-byte lea that keeps %rdi).
 */
START_TEST(attach_inside_a_function_counts_exactly)
{
	char pid[16], line[256], *out, *err;
	char *argv[] = { bpfinject,    "-p", pid,      obj, "-a", "count_entry=fixture_work+5",
			 "--duration", "2",  "--json", NULL };
	static const uint8_t lea[5] = { 0x48, 0x8d, 0x54, 0x7f, 0x01 };
	uint8_t code[5];
	struct test_proc t, b;
	struct counts c0, c1;

	paths();
	start_target(&t);
	c0 = pause_target(&t);
	test_read_mem(t.pid, function_addr(t.pid, "fixture_work"), code, sizeof(code));
	ck_assert_msg(!memcmp(code, lea, sizeof(lea)), "fixture_work no longer starts with lea");
	snprintf(pid, sizeof(pid), "%d", t.pid);
	test_spawn(&b, argv);
	ck_assert_int_eq(test_read_line(b.err, line, sizeof(line), 10000), 0);
	ck_assert_msg(strstr(line, "bpfinject: attached"), "bpfinject said: %s", line);
	ck_assert_int_eq(write(t.to, "g", 1), 1);
	usleep(500000);
	c1 = pause_target(&t);
	ck_assert_int_eq(test_finish(&b, &out, &err), 0);
	ck_assert_int_gt(c1.calls - c0.calls, 100);
	ck_assert_int_eq(test_json_counter(out, 0), c1.calls - c0.calls);
	ck_assert_int_eq(test_json_counter(out, 1), c1.sum - c0.sum);
	free(out);
	free(err);
	quit_target(&t);
}
END_TEST

/*
 * Loop 1: with SIGURG blocked (inherited by the command), bpfinject reaches main with its
 * other marker, a getpid under PTRACE_SYSCALL (injector/spawn.c).
 */
START_TEST(command_probed_from_main)
{
	char target[600], outfile[] = "/tmp/bpfi-e2e-XXXXXX", line[128], *out, *err;
	char *argv[] = { bpfinject, obj,
			 "-a",	    "count_entry=fixture_work",
			 "-a",	    "count_return=fixture_work",
			 "--json",  "--",
			 target,    "20000",
			 outfile,   NULL };
	long calls, sum, retsum;
	struct test_proc b;
	FILE *f;
	int fd;

	paths();
	snprintf(target, sizeof(target), "%s/target_early", fixtures);
	fd = mkstemp(outfile);
	ck_assert_int_ge(fd, 0);
	close(fd);
	if (_i) {
		sigset_t urg;

		sigemptyset(&urg);
		sigaddset(&urg, SIGURG);
		sigprocmask(SIG_BLOCK, &urg, NULL);
	}
	test_spawn(&b, argv);
	ck_assert_int_eq(test_finish(&b, &out, &err), 0);
	f = fopen(outfile, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	unlink(outfile);
	ck_assert_int_eq(sscanf(line, "calls %ld sum %ld retsum %ld", &calls, &sum, &retsum), 3);
	ck_assert_int_eq(test_json_counter(out, 0), calls);
	ck_assert_int_eq(test_json_counter(out, 1), sum);
	ck_assert_int_eq(test_json_counter(out, 2), calls);
	ck_assert_int_eq(test_json_counter(out, 3), retsum);
	free(out);
	free(err);
}
END_TEST

/* A real Debian program: getent asks libc's getaddrinfo for a host; the probe reads the name
 * with bpf_probe_read_user_str and sends it through a ring buffer, and malloc is counted. */
START_TEST(libc_functions_of_a_debian_program)
{
	char libc_obj[600], *out, *err, *mallocs;
	char *argv[] = { bpfinject, libc_obj, "--event-type", "lookup",	   "--json",
			 "--",	    "getent", "ahosts",	      "localhost", NULL };
	struct test_proc b;

	paths();
	snprintf(libc_obj, sizeof(libc_obj), "%s/e2e_libc.bpf.o", BPFI_TEST_BPF_DIR);
	test_spawn(&b, argv);
	ck_assert_int_eq(test_finish(&b, &out, &err), 0);
	ck_assert_msg(strstr(out, "{\"host\":\"localhost\",\"len\":10}"), "stdout: %s", out);
	ck_assert_msg(strstr(out, "127.0.0.1"), "getent printed nothing: %s", out);
	mallocs = strstr(out, "{\"mallocs\":");
	ck_assert_msg(mallocs && strtol(mallocs + 11, NULL, 10) > 0, "stdout: %s", out);
	free(out);
	free(err);
}
END_TEST

/*
 * Fault injection from a syscall tracepoint: cat's write(2) to standard output fails with
 * EIO at the injected call (bpf_override_return in sys_enter_write), as a real EIO would make
 * it fail, and its openat calls are counted by a second program.
 */
START_TEST(syscall_fault_injection)
{
	char fault_obj[600], *out, *err, *failed, *opens;
	char *argv[] = { bpfinject, fault_obj, "--json", "--", "cat", "/etc/hostname", NULL };
	struct test_proc b;
	int rc;

	paths();
	snprintf(fault_obj, sizeof(fault_obj), "%s/e2e_fault.bpf.o", BPFI_TEST_BPF_DIR);
	test_spawn(&b, argv);
	rc = test_finish(&b, &out, &err);
	ck_assert_msg(rc == 1, "cat exited %d; stderr: %s", rc, err);
	ck_assert_msg(strstr(err, "cat: write error: Input/output error"), "stderr: %s", err);
	ck_assert_msg(strstr(err, "syscall sites in libc.so.6 rewritten"), "stderr: %s", err);
	failed = strstr(out, "{\"failed_writes\":");
	opens = strstr(out, "{\"openats\":");
	ck_assert_msg(failed && strtol(failed + 17, NULL, 10) == 1, "stdout: %s", out);
	ck_assert_msg(opens && strtol(opens + 12, NULL, 10) > 0, "stdout: %s", out);
	{
		const char *tgid = strstr(out, "{\"openat_tgid\":");
		const char *att = strstr(err, "probes to process ");

		ck_assert_msg(tgid && att &&
				      strtol(tgid + 15, NULL, 10) == strtol(att + 18, NULL, 10),
			      "pid_tgid in a syscall program: %s / %s", out, err);
	}
	free(out);
	free(err);
}
END_TEST

/*
 * `bpfinject fault` for CI: dd's writes succeed three times, then fail with EIO at the
 * injected call and not before; the count of injected faults is printed at the end.
 */
START_TEST(fault_command_fails_the_fourth_write)
{
	char outfile[] = "/tmp/bpfi-fault-XXXXXX", of[64], *out, *err;
	char *argv[] = { bpfinject,	 "fault",   "--syscall", "write",    "--errno",
			 "EIO",		 "--after", "3",	 "--",	     "dd",
			 "if=/dev/zero", of,	    "bs=1k",	 "count=10", NULL };
	struct stat st;
	struct test_proc b;
	int fd, rc;

	paths();
	fd = mkstemp(outfile);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(of, sizeof(of), "of=%s", outfile);
	test_spawn(&b, argv);
	rc = test_finish(&b, &out, &err);
	ck_assert_int_eq(stat(outfile, &st), 0);
	unlink(outfile);
	/* dd's own complaint is a write too (to stderr), so it fails as well: the exit status and
	 * the file tell what happened. */
	ck_assert_msg(rc != 0, "dd did not fail; stderr: %s", err);
	ck_assert_int_eq(st.st_size, 3 * 1024); /* three writes went through */
	ck_assert_msg(strstr(err, "bpfinject: injected ") && strstr(err, "calls of write"),
		      "stderr: %s", err);
	free(out);
	free(err);
}
END_TEST

/*
 * `bpfinject fault -- ./test.sh`, as CI runs it: the faults reach the programs the script
 * starts. Three dd runs of two 1 KiB writes each, faults after the third write: the first
 * file is whole, the second has one block, the third none; the count is across all of them.
 */
START_TEST(fault_command_reaches_the_scripts_children)
{
	char dir[] = "/tmp/bpfi-faultsh-XXXXXX", script[512], path[600], *out, *err;
	char *argv[] = { bpfinject, "fault", "--syscall", "write", "--errno", "EIO", "--after",
			 "3",	    "--",    "/bin/sh",	  "-c",	   script,    NULL };
	static const long want[] = { 2048, 1024, 0 };
	long injected = 0, calls = 0;
	const char *at;
	struct stat st;
	struct test_proc b;
	int rc;

	paths();
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(script, sizeof(script),
		 "for i in 0 1 2; do dd if=/dev/zero of=%s/$i bs=1k count=2 status=none; done; "
		 "exit 0",
		 dir);
	test_spawn(&b, argv);
	rc = test_finish(&b, &out, &err);
	ck_assert_msg(rc == 0, "exit %d; stderr: %s", rc, err);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%d", dir, i);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_msg(st.st_size == want[i], "%s: %lld bytes", path, (long long)st.st_size);
		unlink(path);
	}
	rmdir(dir);
	/* dd's complaints are writes too, and fail: exactly three calls went through */
	at = strstr(err, "bpfinject: injected ");
	ck_assert_msg(at &&
			      sscanf(at, "bpfinject: injected %ld fault%*s into %ld", &injected,
				     &calls) == 2 &&
			      calls - injected == 3,
		      "stderr: %s", err);
	free(out);
	free(err);
}
END_TEST

/* A target killed while attached: noticed, reported in one line, and bpfinject ends cleanly
 * with the maps printed. */
START_TEST(target_killed_while_attached)
{
	char pid[16], *out, *err, line[256];
	char *argv[] = {
		bpfinject, "-p", pid, obj, "-a", "count_entry=fixture_work", "--json", NULL
	};
	struct test_proc t, b;
	bool attached = false;

	paths();
	start_target(&t);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	test_spawn(&b, argv);
	for (int i = 0; i < 3 && !attached; i++) {
		ck_assert_int_eq(test_read_line(b.err, line, sizeof(line), 10000), 0);
		attached = strncmp(line, "bpfinject: attached", 19) == 0;
	}
	ck_assert(attached);
	kill(t.pid, SIGKILL);
	waitpid(t.pid, NULL, 0);
	ck_assert_int_eq(test_finish(&b, &out, &err), 0);
	ck_assert_msg(strstr(err, "exited"), "stderr: %s", err);
	ck_assert_msg(strstr(out, "\"name\":\"counters\""), "stdout: %s", out);
	free(out);
	free(err);
	close(t.to);
	close(t.out);
	close(t.err);
}
END_TEST

/*
 * Targets under seccomp filters (tests/fixtures/target_seccomp): where a call bpfinject needs
 * is forbidden it takes another way (socket refused: the target opens /proc/OURPID/fd/N) and
 * the probes count exactly, or, with no other way (PROT_EXEC forbidden, strict mode, filters
 * it may not read), it says so in one line. Either way the target is alive and answering
 * afterwards.
 */
static const struct {
	const char *mode;
	const char *refusal; /* NULL: attaches */
	bool no_admin; /* bpfinject without CAP_SYS_ADMIN: the filters cannot be read */
} seccomp_cases[] = {
	{ "errno", NULL, false },
	{ "trap", NULL, false },
	{ "kill", NULL, false },
	{ "memfd", NULL, false },
	{ "wx", "its seccomp filter would kill the process (SECCOMP_RET_KILL_PROCESS) on mmap()",
	  false },
	{ "strict", "runs in seccomp strict mode: mmap() would kill it", false },
	/* calls the stub makes at every probe hit, not the injector: refused before anything */
	{ "gettid",
	  "its seccomp filter would kill the process (SECCOMP_RET_KILL_PROCESS) on gettid(), "
	  "which the probes make in the target",
	  false },
	{ "arch_prctl",
	  "its seccomp filter would kill the process (SECCOMP_RET_KILL_PROCESS) on "
	  "arch_prctl(ARCH_GET_FS)",
	  false },
	{ "kill",
	  "has seccomp filters bpfinject cannot read (PTRACE_SECCOMP_GET_FILTER: Permission "
	  "denied): mmap() could kill it",
	  true },
};

static void ping(struct test_proc *t, long n)
{
	char line[64], want[64];

	snprintf(want, sizeof(want), "alive %ld\n", n);
	ck_assert_int_eq(write(t->to, "p", 1), 1);
	ck_assert_msg(test_read_line(t->out, line, sizeof(line), 5000) == 0,
		      "target %d does not answer", t->pid);
	ck_assert_str_eq(line, want);
}

START_TEST(seccomp_filters_never_kill_the_target)
{
	char pid[16], path[600], line[256], *out, *err;
	char *argv[] = { bpfinject, "-p",
			 pid,	    obj,
			 "-a",	    "count_entry=fixture_work",
			 "-a",	    "count_return=fixture_work",
			 "--json",  NULL };
	char *targv[] = { path, (char *)seccomp_cases[_i].mode, NULL };
	struct test_proc t, b;
	bool attached = false;
	int status;

	paths();
	snprintf(path, sizeof(path), "%s/target_seccomp", fixtures);
	test_spawn(&t, targv);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	ping(&t, 1);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	/* Dropped from the bounding set, it does not come back at bpfinject's exec (as root). */
	if (seccomp_cases[_i].no_admin)
		ck_assert_int_eq(prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0), 0);
	test_spawn(&b, argv);
	while (!attached && test_read_line(b.err, line, sizeof(line), 10000) == 0) {
		attached = strncmp(line, "bpfinject: attached", 19) == 0;
		if (seccomp_cases[_i].refusal)
			break;
	}
	if (seccomp_cases[_i].refusal) {
		ck_assert_msg(!attached && strstr(line, seccomp_cases[_i].refusal),
			      "%s: bpfinject said: %s", seccomp_cases[_i].mode, line);
		ck_assert_int_ne(test_finish(&b, &out, &err), 0);
		ck_assert_msg(err[0] == '\0', "%s: more than one line: %s", seccomp_cases[_i].mode,
			      err);
		for (long n = 2; n <= 6; n++)
			ping(&t, n);
	} else {
		ck_assert_msg(attached, "%s: bpfinject said: %s", seccomp_cases[_i].mode, line);
		for (long n = 2; n <= 6; n++)
			ping(&t, n);
		kill(b.pid, SIGINT);
		ck_assert_int_eq(test_finish(&b, &out, &err), 0);
		ck_assert_int_eq(test_json_counter(out, 0), 5);
		ck_assert_int_eq(test_json_counter(out, 1), 2 + 3 + 4 + 5 + 6);
		ck_assert_int_eq(test_json_counter(out, 2), 5);
		ck_assert_int_eq(test_json_counter(out, 3), 2 * (2 + 3 + 4 + 5 + 6));
		ping(&t, 7);
	}
	free(out);
	free(err);
	ck_assert_int_eq(write(t.to, "q", 1), 1);
	status = test_finish(&t, &out, &err);
	ck_assert_msg(status == 0, "%s: target exit %d: %s", seccomp_cases[_i].mode, status, err);
	free(out);
	free(err);
}
END_TEST

/*
 * bpfinject killed while it launches `-- CMD`: the command must live on and complete as
 * without it, whatever the instant (issue 11 A4: a one-shot int3 left at main killed it with
 * SIGTRAP; a child stopped by SIGSTOP before its exec stayed stopped). Trials 0 and 1 kill it
 * while the command runs its constructors, on its way to main; the others at a random instant
 * after the fork, up to its end. Odd trials with SIGURG blocked (the getpid marker). We are the subreaper of the orphaned command, so its status is ours
 * to see.
 */
static bool has_child(pid_t pid)
{
	char path[64], buf[32] = "";
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	close(fd);
	return buf[0] != '\0';
}

/* Every child of ours (an orphaned command we now reap) killed and reaped. */
static void kill_children(void)
{
	char path[64], buf[256] = "", *p = buf, *end;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = '\0';
		close(fd);
	}
	for (long pid; (pid = strtol(p, &end, 10)) > 0; p = end)
		kill((pid_t)pid, SIGKILL);
	while (waitpid(-1, NULL, __WALL) > 0)
		;
}

static void launch_and_kill(int trial, long delay_us, bool block_urg)
{
	char target[600], outfile[] = "/tmp/bpfi-kill-XXXXXX", ctor[64], line[128] = "";
	char *argv[] = { bpfinject, obj,     "-a", "count_entry=fixture_work", "--", target,
			 "2000",    outfile, NULL };
	long calls = -1, sum = -1, retsum = -1;
	int fd, status;
	pid_t b, pid;
	FILE *f;

	snprintf(target, sizeof(target), "%s/target_early", fixtures);
	snprintf(ctor, sizeof(ctor), "/tmp/bpfi-ctor-%d-%d", (int)getpid(), trial);
	unlink(ctor);
	fd = mkstemp(outfile);
	ck_assert_int_ge(fd, 0);
	close(fd);
	b = fork();
	if (b < 0)
		ck_abort_msg("fork: %s", strerror(errno));
	if (b == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (delay_us < 0)
			setenv("TARGET_EARLY_CTOR", ctor, 1);
		if (block_urg) { /* inherited: bpfinject's other marker (injector/spawn.c) */
			sigset_t urg;

			sigemptyset(&urg);
			sigaddset(&urg, SIGURG);
			sigprocmask(SIG_BLOCK, &urg, NULL);
		}
		execv(bpfinject, argv);
		_exit(127);
	}
	if (delay_us < 0) {
		for (int i = 0; i < 5000 && access(ctor, F_OK); i++)
			usleep(1000);
		ck_assert_msg(access(ctor, F_OK) == 0, "the command's constructor never ran");
		unlink(ctor);
	} else {
		for (int i = 0; i < 50000 && !has_child(b); i++)
			usleep(100);
		ck_assert_msg(has_child(b), "bpfinject started no command");
		usleep((useconds_t)delay_us);
	}
	kill(b, SIGKILL);
	/* bpfinject, then the command it left (ours now) until no child is left: within 10 s,
	 * else the command hangs (stopped), and is killed. */
	for (int i = 0; (pid = waitpid(-1, &status, __WALL | WNOHANG)) >= 0; i++) {
		if (!pid && i == 10000) {
			kill_children();
			ck_abort_msg("trial %d (%ld us): the command never ended", trial, delay_us);
		}
		if (!pid) {
			usleep(1000);
			continue;
		}
		if (pid == b)
			continue;
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "trial %d (%ld us): the command ended with status %#x", trial,
			      delay_us, status);
	}
	f = fopen(outfile, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_msg(fgets(line, sizeof(line), f) != NULL,
		      "trial %d (%ld us): the command did not complete", trial, delay_us);
	fclose(f);
	unlink(outfile);
	ck_assert_int_eq(sscanf(line, "calls %ld sum %ld retsum %ld", &calls, &sum, &retsum), 3);
	ck_assert_int_eq(calls, 2000);
	ck_assert_int_eq(sum, 1999 * 1000);
	ck_assert_int_eq(retsum, 3 * 1999 * 1000 + 2000);
}

START_TEST(killed_while_launching_the_command)
{
	struct timespec ts;

	paths();
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	launch_and_kill(0, -1, false);
	launch_and_kill(1, -1, true);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	srandom((unsigned int)ts.tv_nsec);
	/* The launch takes some 10 ms from the fork here (exec, loader, injection at main). */
	for (int i = 2; i < 32; i++)
		launch_and_kill(i, random() % 15000, i % 2);
}
END_TEST

/*
 * -- CMD follows the command through exec: `sh -c "sleep; exec target_calls"` loses the
 * probes with sh's image, and gets them again in target_calls's.
 */
START_TEST(command_followed_through_exec)
{
	char target[600], script[700], spec[700], *out, *err, *at;
	char *argv[] = { bpfinject, obj,  "-a",	     spec, "--duration", "2",
			 "--json",  "--", "/bin/sh", "-c", script,	 NULL };
	struct test_proc b;
	int pid = 0;

	paths();
	snprintf(target, sizeof(target), "%s/target_calls", fixtures);
	snprintf(spec, sizeof(spec), "count_entry=%s:fixture_work", target);
	/* /dev/zero for stdin: the fixture reads commands from it and finds none; its output
	 * goes nowhere, so that our pipes close when bpfinject exits. */
	snprintf(script, sizeof(script), "sleep 0.3; exec %s 2 < /dev/zero > /dev/null 2>&1",
		 target);
	test_spawn(&b, argv);
	ck_assert_int_eq(test_finish(&b, &out, &err), 0);
	at = strstr(err, "probes to process ");
	if (at)
		pid = atoi(at + 18);
	ck_assert_msg(strstr(err, "(after exec)") && pid > 0, "stderr: %s", err);
	kill(pid, SIGKILL); /* left running when --duration ended, as a -p target would be */
	ck_assert_int_gt(test_json_counter(out, 0), 0);
	free(out);
	free(err);
}
END_TEST

/*
 * -- CMD follows every exec'd descendant exactly, from its main: 20 children that each call
 * the probed function 50 times and exit within a few milliseconds are all counted, with no
 * call missed (looking for new processes from time to time finds none of them).
 */
START_TEST(short_lived_exec_children_counted_exactly)
{
	char target[600], script[800], spec[700], *out, *err;
	char *argv[] = {
		bpfinject, obj, "-a", spec, "--json", "--", "/bin/sh", "-c", script, NULL
	};
	struct test_proc b;
	int rc;

	paths();
	snprintf(target, sizeof(target), "%s/target_early", fixtures);
	snprintf(spec, sizeof(spec), "count_entry=%s:fixture_work", target);
	snprintf(script, sizeof(script),
		 "i=0; while [ $i -lt 20 ]; do %s 50 || exit 1; i=$((i + 1)); done; exit 5",
		 target);
	test_spawn(&b, argv);
	rc = test_finish(&b, &out, &err);
	ck_assert_msg(rc == 5, "exit %d; stderr: %s", rc, err);
	ck_assert_int_eq(test_json_counter(out, 0), 20 * 50);
	ck_assert_int_eq(test_json_counter(out, 1), 20 * (49 * 50 / 2));
	free(out);
	free(err);
}
END_TEST

/*
 * Signals in a followed command's children behave as without bpfinject: a handled SIGUSR1
 * runs its handler, a child killed by SIGTERM is seen so by its shell, one stopped with
 * SIGSTOP stays stopped until SIGCONT; and the command's exit status comes back. Every
 * call of the probed function, in the handler too, is counted.
 */
START_TEST(signals_in_followed_children_as_without)
{
	char target[600], flag[] = "/tmp/bpfi-spin-XXXXXX", script[1600], spec[700];
	char *out, *err, *plain_out, *plain_err;
	char *argv[] = {
		bpfinject, obj, "-a", spec, "--json", "--", "/bin/sh", "-c", script, NULL
	};
	char *plain[] = { "/bin/sh", "-c", script, NULL };
	struct test_proc b;
	int fd, rc, plain_rc;

	paths();
	snprintf(target, sizeof(target), "%s/target_signals", fixtures);
	snprintf(spec, sizeof(spec), "count_entry=%s:fixture_work", target);
	fd = mkstemp(flag);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(script, sizeof(script),
		 "T=%s; F=%s; rm -f $F; $T usr1 10; echo usr1=$?; $T term 10; echo term=$?; "
		 "$T spin 10 $F & p=$!; while [ ! -e $F ]; do sleep 0.02; done; "
		 "kill -STOP $p; sleep 0.5; kill -CONT $p; wait $p; echo spin=$?; rm -f $F; exit 7",
		 target, flag);
	test_spawn(&b, plain);
	plain_rc = test_finish(&b, &plain_out, &plain_err);
	ck_assert_msg(plain_rc == 7 && strstr(plain_out, "usr1=0\nterm=143\nspin=0\n"),
		      "without bpfinject: exit %d: %s", plain_rc, plain_out);
	test_spawn(&b, argv);
	rc = test_finish(&b, &out, &err);
	ck_assert_msg(rc == plain_rc, "exit %d; stderr: %s", rc, err);
	/* bpfinject's own output shares the pipe: each line on its own. */
	ck_assert_msg(strstr(out, "usr1=0\n") && strstr(out, "term=143\n") &&
			      strstr(out, "spin=0\n"),
		      "stdout: %s\nstderr: %s", out, err);
	/* 10 calls in each child, and 10 more in the SIGUSR1 handler. */
	ck_assert_int_eq(test_json_counter(out, 0), 4 * 10);
	free(out);
	free(err);
	free(plain_out);
	free(plain_err);
}
END_TEST

/* TracerPid of @pid, or -1 when it is gone (or a zombie: no longer running). */
static int tracer_of(pid_t pid)
{
	char path[64], line[256];
	int tracer = -1;
	bool zombie = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		zombie |= !strncmp(line, "State:\tZ", 9);
		sscanf(line, "TracerPid: %d", &tracer);
	}
	if (f)
		fclose(f);
	return zombie ? -1 : tracer;
}

/*
 * When --duration ends, every process of the followed command is let go: still running, no
 * longer traced, its probes taken out (a failure to restore would make bpfinject fail).
 */
START_TEST(followed_tree_left_running_at_the_end)
{
	char script[] = "exec > /dev/null 2>&1; sleep 30 & sleep 30 & wait";
	char *argv[] = { bpfinject, obj, "--duration", "1", "--", "/bin/sh", "-c", script, NULL };
	pid_t pids[3] = { 0 };
	char *out, *err, *at;
	struct test_proc b;
	int n = 0, rc;

	paths();
	test_spawn(&b, argv);
	rc = test_finish(&b, &out, &err);
	for (at = err; n < 3 && (at = strstr(at, "probes to process ")); at++)
		pids[n++] = atoi(at + 18);
	for (at = err; n < 3 && (at = strstr(at, "probe to process ")); at++)
		pids[n++] = atoi(at + 17);
	ck_assert_msg(rc == 0 && n == 3, "exit %d, %d processes; stderr: %s", rc, n, err);
	for (int i = 0; i < n; i++)
		ck_assert_msg(tracer_of(pids[i]) == 0, "process %d: tracer %d; stderr: %s", pids[i],
			      tracer_of(pids[i]), err);
	for (int i = n - 1; i >= 0; i--)
		kill(pids[i], SIGKILL);
	free(out);
	free(err);
}
END_TEST

/*
 * `bpfinject fault --func`: malloc returns NULL on chosen calls of a real program (ls gives up
 * with "memory exhausted"), and --seed makes the run repeatable: the same faults twice.
 */
START_TEST(fault_command_on_a_function_repeats_with_a_seed)
{
	char *argv[] = {
		bpfinject,	 "fault", "--func", "malloc", "--return", "0",	"--after", "10",
		"--probability", "0.5",	  "--seed", "3",      "--",	  "ls", "/",	   NULL
	};
	char *out[2], *err[2], *line[2];

	paths();
	for (int run = 0; run < 2; run++) {
		struct test_proc b;
		int rc;

		test_spawn(&b, argv);
		rc = test_finish(&b, &out[run], &err[run]);
		ck_assert_msg(rc == 2 && strstr(err[run], "ls: memory exhausted"), "rc %d: %s", rc,
			      err[run]);
		line[run] = strstr(err[run], "bpfinject: injected ");
		ck_assert_ptr_nonnull(line[run]);
		line[run][strcspn(line[run], "\n")] = '\0';
	}
	ck_assert_str_eq(line[0], line[1]);
	for (int run = 0; run < 2; run++) {
		free(out[run]);
		free(err[run]);
	}
}
END_TEST

START_TEST(persist_list_detach)
{
	char pid[16], *out, *err;
	char *attach[] = { bpfinject,	"-p", pid, obj, "-a", "count_entry=fixture_work",
			   "--persist", NULL };
	char *list[] = { bpfinject, "list", NULL };
	char *detach[] = { bpfinject, "detach", "-p", pid, NULL };
	uint8_t before[32], after[32];
	struct test_proc t, b;
	uint64_t addr;

	paths();
	start_target(&t);
	addr = function_addr(t.pid, "fixture_work");
	test_read_mem(t.pid, addr, before, sizeof(before));
	snprintf(pid, sizeof(pid), "%d", t.pid);
	test_spawn(&b, attach);
	ck_assert_int_eq(test_finish(&b, &out, &err), 0);
	ck_assert_msg(strstr(err, "--persist"), "stderr: %s", err);
	free(out);
	free(err);
	test_read_mem(t.pid, addr, after, sizeof(after));
	ck_assert_int_eq(after[0], 0xe9); /* the jump stays */
	test_spawn(&b, list);
	ck_assert_int_eq(test_finish(&b, &out, &err), 0);
	ck_assert_msg(strstr(out, pid) && strstr(out, "persisted"), "list: %s", out);
	ck_assert_msg(strstr(out, "map counters") && strstr(out, "fixture_work+0x0 (target_calls)"),
		      "list: %s", out);
	free(out);
	free(err);
	test_spawn(&b, detach);
	ck_assert_int_eq(test_finish(&b, &out, &err), 0);
	ck_assert_msg(strstr(out, "every patched byte restored"), "detach: %s%s", out, err);
	free(out);
	free(err);
	test_read_mem(t.pid, addr, after, sizeof(after));
	ck_assert_mem_eq(before, after, sizeof(before));
	quit_target(&t);
}
END_TEST

/*
 * A bpfinject killed while attached (SIGKILL: no detach) leaves the probes in place: `list`
 * names the holder as gone and says how to remove them, and `detach -p` puts every byte back.
 */
START_TEST(killed_holder_listed_then_detached)
{
	char pid[16], line[256], *out, *err;
	char *attach[] = { bpfinject, "-p", pid, obj, "-a", "count_entry=fixture_work", NULL };
	char *list[] = { bpfinject, "list", NULL };
	char *detach[] = { bpfinject, "detach", "-p", pid, NULL };
	uint8_t before[32], after[32];
	struct test_proc t, b;
	uint64_t addr;
	int status;

	paths();
	start_target(&t);
	addr = function_addr(t.pid, "fixture_work");
	test_read_mem(t.pid, addr, before, sizeof(before));
	snprintf(pid, sizeof(pid), "%d", t.pid);
	test_spawn(&b, attach);
	do
		ck_assert_int_eq(test_read_line(b.err, line, sizeof(line), 10000), 0);
	while (!strstr(line, "attached"));
	kill(b.pid, SIGKILL);
	ck_assert_int_eq(waitpid(b.pid, &status, 0), b.pid);
	close(b.to);
	close(b.out);
	close(b.err);
	test_spawn(&b, list);
	ck_assert_int_eq(test_finish(&b, &out, &err), 0);
	ck_assert_msg(strstr(out, pid) && strstr(out, "gone") && strstr(out, "detach -p"),
		      "list: %s", out);
	free(out);
	free(err);
	test_spawn(&b, detach);
	ck_assert_int_eq(test_finish(&b, &out, &err), 0);
	free(out);
	free(err);
	test_read_mem(t.pid, addr, after, sizeof(after));
	ck_assert_mem_eq(before, after, sizeof(before));
	quit_target(&t);
}
END_TEST

/* Each error: one line on stderr naming the thing and the reason, a non-zero exit. */
struct error_case {
	const char *descr;
	const char *args[10]; /* after bpfinject; "OBJ" and "PID" are replaced */
	const char *expect;
};

static const struct error_case errors[] = {
	{ "not a pid", { "-p", "0", "OBJ" }, "not a process id" },
	{ "no such process", { "-p", "4194304", "OBJ" }, "no such process" },
	{ "a pid that names nothing", { "-p", "DEADPID", "OBJ" }, "no such process" },
	{ "missing object", { "-p", "PID", "/no/such.bpf.o" }, "/no/such.bpf.o" },
	{ "unknown function",
	  { "-p", "PID", "OBJ", "-a", "count_entry=no_such_function" },
	  "no_such_function" },
	{ "unknown program", { "-p", "PID", "OBJ", "-a", "nope=fixture_work" }, "no such program" },
	{ "no target", { "OBJ" }, "no target" },
	/* A site must start an instruction, found by decoding from the function's start. */
	{ "an offset inside an instruction",
	  { "-p", "PID", "OBJ", "-a", "count_entry=fixture_work+1" },
	  "+1 is inside the 5-byte instruction at +0 of the function at" },
	{ "malloc+1 (inside its first instruction)",
	  { "-p", "PID", "OBJ", "-a", "count_entry=libc.so.6:malloc+1" },
	  "not at an instruction boundary" },
	{ "a return probe inside a function",
	  { "-p", "PID", "OBJ", "-a", "count_return=fixture_work+5" },
	  "is +5 into its function: a return probe goes on a function's first instruction" },
	{ "an offset past the function's end",
	  { "-p", "PID", "OBJ", "-a", "count_entry=fixture_work+4096" },
	  "+4096 is past the end of fixture_work (26 bytes)" },
	{ "detach from a process without programs",
	  { "detach", "-p", "PID" },
	  "carries no bpfinject programs" },
	{ "fault: a syscall that does not exist",
	  { "fault", "--syscall", "nosuchcall", "--errno", "EIO", "-p", "PID" },
	  "no such system call" },
	{ "fault: an errno that does not exist",
	  { "fault", "--syscall", "write", "--errno", "EFOO", "-p", "PID" },
	  "not an errno name" },
	{ "fault: a path prefix on a syscall without a path",
	  { "fault", "--syscall", "write", "--errno", "EIO", "--path-prefix", "/tmp", "-p", "PID" },
	  "only with a syscall that takes a path" },
};

START_TEST(errors_are_one_line)
{
	const struct error_case *c = &errors[_i];
	char *argv[14] = { bpfinject }, pid[16], dead[16], *out, *err;
	struct test_proc t, b;
	pid_t d;
	int n = 1, rc;

	paths();
	start_target(&t);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	d = fork();
	if (d == 0)
		_exit(0);
	waitpid(d, NULL, 0);
	snprintf(dead, sizeof(dead), "%d", d);
	for (int i = 0; i < 10 && c->args[i]; i++) {
		const char *a = c->args[i];

		argv[n++] = !strcmp(a, "OBJ")	    ? obj
			    : !strcmp(a, "PID")	    ? pid
			    : !strcmp(a, "DEADPID") ? dead
						    : (char *)a;
	}
	test_spawn(&b, argv);
	rc = test_finish(&b, &out, &err);
	ck_assert_msg(rc != 0, "%s: exit 0", c->descr);
	ck_assert_msg(strstr(err, c->expect), "%s: stderr was: %s", c->descr, err);
	ck_assert_msg(strncmp(err, "bpfinject: ", 11) == 0 &&
			      strchr(err, '\n') == err + strlen(err) - 1,
		      "%s: not one line: %s", c->descr, err);
	free(out);
	free(err);
	/* The target was left as it was. */
	pause_target(&t);
	quit_target(&t);
}
END_TEST

/*
 * Issue 11 A2: the deepest stack tail calls can build in a program the check accepts (33 tail
 * calls from a subprogram of the probe, each leaving the probe's frame, then a chain to the
 * eighth frame: e2e_tail.bpf.c) runs in a live process on its private stack, with every tail
 * call made; the target runs to its end.
 */
START_TEST(tail_calls_at_their_deepest)
{
	char objpath[600], target[600], outfile[] = "/tmp/bpfi-e2e-XXXXXX", line[128], *out, *err;
	char *argv[] = { bpfinject, objpath, "-a", "tail_deep=fixture_work", "--json", "--", target,
			 "300",	    outfile, NULL };
	struct test_proc b;
	long calls = 0, sum, retsum;
	FILE *f;
	int fd;

	paths();
	snprintf(objpath, sizeof(objpath), "%s/e2e_tail.bpf.o", BPFI_TEST_BPF_DIR);
	snprintf(target, sizeof(target), "%s/target_early", fixtures);
	fd = mkstemp(outfile);
	ck_assert_int_ge(fd, 0);
	close(fd);
	test_spawn(&b, argv);
	ck_assert_msg(test_finish(&b, &out, &err) == 0, "%s", err);
	f = fopen(outfile, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	unlink(outfile);
	ck_assert_int_eq(sscanf(line, "calls %ld sum %ld retsum %ld", &calls, &sum, &retsum), 3);
	ck_assert_int_eq(calls, 300);
	ck_assert_int_eq(test_json_counter(out, 0), (1 + 33) * calls);
	ck_assert_int_eq(test_json_counter(out, 1), calls);
	free(out);
	free(err);
}
END_TEST

/*
 * The same with the tail call seven frames down, as in the issue: each of them would leave
 * seven frames (4 KiB) on the private stack, and the target died of the ninth. The check
 * refuses it, in one line, and the command never starts.
 */
START_TEST(tail_calls_from_deep_subprograms_refused)
{
	char objpath[600], target[600], *out, *err;
	char *argv[] = { bpfinject, objpath,	 "-a", "tail_deep=fixture_work", "--", target,
			 "300",	    "/dev/null", NULL };
	struct test_proc b;

	paths();
	snprintf(objpath, sizeof(objpath), "%s/e2e_tail_deep.bpf.o", BPFI_TEST_BPF_DIR);
	snprintf(target, sizeof(target), "%s/target_early", fixtures);
	test_spawn(&b, argv);
	ck_assert_int_eq(test_finish(&b, &out, &err), 1);
	ck_assert_msg(strstr(err, "prog 'tail_deep' rejected: insn ") &&
			      strstr(err, ": tail_calls are not allowed at call depth 7") &&
			      strchr(err, '\n') == err + strlen(err) - 1,
		      "stderr: %s", err);
	free(out);
	free(err);
}
END_TEST

Suite *e2e_suite(void);
Suite *e2e_suite(void)
{
	Suite *s = suite_create("e2e");
	TCase *tc = tcase_create("cli");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, attach_by_pid_counts_exactly, 0, 2);
	tcase_add_test(tc, attach_inside_a_function_counts_exactly);
	tcase_add_loop_test(tc, command_probed_from_main, 0, 2);
	tcase_add_test(tc, tail_calls_at_their_deepest);
	tcase_add_test(tc, tail_calls_from_deep_subprograms_refused);
	tcase_add_test(tc, libc_functions_of_a_debian_program);
	tcase_add_test(tc, syscall_fault_injection);
	tcase_add_test(tc, fault_command_fails_the_fourth_write);
	tcase_add_test(tc, fault_command_reaches_the_scripts_children);
	tcase_add_test(tc, fault_command_on_a_function_repeats_with_a_seed);
	tcase_add_test(tc, target_killed_while_attached);
	tcase_add_test(tc, command_followed_through_exec);
	tcase_add_test(tc, short_lived_exec_children_counted_exactly);
	tcase_add_test(tc, signals_in_followed_children_as_without);
	tcase_add_test(tc, followed_tree_left_running_at_the_end);
	tcase_add_test(tc, persist_list_detach);
	tcase_add_test(tc, killed_holder_listed_then_detached);
	tcase_add_loop_test(tc, errors_are_one_line, 0, sizeof(errors) / sizeof(errors[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("kill");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, killed_while_launching_the_command);
	suite_add_tcase(s, tc);
	tc = tcase_create("seccomp");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, seccomp_filters_never_kill_the_target, 0,
			    sizeof(seccomp_cases) / sizeof(seccomp_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
