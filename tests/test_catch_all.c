// SPDX-License-Identifier: MIT
/*
 * `--catch-all` as a user runs it: system calls from generated code (which no scan finds) in
 * the main thread, a new thread, fork and vfork children, a child on its own stack, a signal
 * handler blocking every signal and with every signal blocked are all seen by a syscall
 * tracepoint, exactly; none is seen without the option; after detach the process goes on
 * making them unharmed; a process that handles SIGSYS itself is refused and left as it was.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_bpf_paths.h"
#include "test_util.h"

#define CALLS 50 /* getppid calls per situation; a round has 7 situations */

static char bpfinject[512], obj[512], fixture[512];

static void paths(void)
{
	const char *b = getenv("BPFI_BUILD_DIR");

	ck_assert_ptr_nonnull(b);
	snprintf(bpfinject, sizeof(bpfinject), "%s/cli/bpfinject", b);
	snprintf(obj, sizeof(obj), "%s/e2e_syscount.bpf.o", BPFI_TEST_BPF_DIR);
	snprintf(fixture, sizeof(fixture), "%s/tests/fixtures/target_jitsys", b);
}

/* One round of the fixture's calls: a line in, "done" out. */
static void round_of_calls(int to, int from)
{
	char line[64];

	ck_assert_int_eq(write(to, "g\n", 2), 2);
	ck_assert_int_eq(test_read_line(from, line, sizeof(line), 10000), 0);
	ck_assert_msg(!strcmp(line, "done\n"), "got '%s'", line);
}

/*
 * `bpfinject [--catch-all] OBJ -- target_jitsys`: 7 * CALLS getppid seen with it, 0 without;
 * glibc, and a static musl binary (no ld.so, no libc.so: the same stub).
 */
START_TEST(command_sees_every_call)
{
	static const struct {
		bool catch_all;
		const char *suffix;
		long want;
	} cases[] = {
		{ true, "", 7 * CALLS },
		{ false, "", 0 },
		{ true, "_musl", 7 * CALLS },
	};
	char n[16], path[600], *out, *err;
	struct test_proc b;
	int rc;

	paths();
	snprintf(n, sizeof(n), "%d", CALLS);
	snprintf(path, sizeof(path), "%s%s", fixture, cases[_i].suffix);
	if (access(path, X_OK)) {
		printf("catch_all: %s not built (no musl-gcc): not tested\n", path);
		return;
	}
	{
		char *argv[] = { bpfinject, "--json", obj, "--", path, n, NULL };
		char *argv_all[] = { bpfinject, "--catch-all", "--json", obj, "--", path, n, NULL };

		test_spawn(&b, cases[_i].catch_all ? argv_all : argv);
	}
	ck_assert_int_eq(write(b.to, "g\n", 2), 2);
	rc = test_finish(&b, &out, &err);
	ck_assert_msg(rc == 0, "exit %d; stderr: %s", rc, err);
	ck_assert_msg(strstr(out, "ready\ndone\n"), "stdout: %s", out);
	ck_assert_msg(test_json_global(out, "getppids") == cases[_i].want, "want %ld; stdout: %s",
		      cases[_i].want, out);
	ck_assert_msg(test_json_global(out, "syscalls") > cases[_i].want, "stdout: %s", out);
	ck_assert_msg(!cases[_i].catch_all || strstr(err, "came through the catch-all"),
		      "stderr: %s", err);
	free(out);
	free(err);
}
END_TEST

/*
 * -p PID with --catch-all, then Ctrl-C: the calls of the attached round are all counted; after
 * the detach, rounds go on as before (no thread left armed without a handler to serve it).
 */
START_TEST(attach_then_detach_leaves_it_working)
{
	char n[16], pid[16], line[256], *out, *err;
	char *targv[] = { fixture, n, NULL };
	char *argv[] = { bpfinject, "--catch-all", "--json", "-p", pid, obj, NULL };
	struct test_proc t, b;
	int rc;

	paths();
	snprintf(n, sizeof(n), "%d", CALLS);
	test_spawn(&t, targv);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	ck_assert_msg(!strcmp(line, "ready\n"), "got '%s'", line);
	round_of_calls(t.to, t.out); /* before: nothing to see */
	snprintf(pid, sizeof(pid), "%d", t.pid);
	test_spawn(&b, argv);
	do
		ck_assert_int_eq(test_read_line(b.err, line, sizeof(line), 10000), 0);
	while (!strstr(line, "attached"));
	round_of_calls(t.to, t.out);
	round_of_calls(t.to, t.out);
	kill(b.pid, SIGINT);
	rc = test_finish(&b, &out, &err);
	ck_assert_msg(rc == 0, "exit %d; stderr: %s", rc, err);
	ck_assert_msg(test_json_global(out, "getppids") == 2 * 7 * CALLS, "stdout: %s", out);
	free(out);
	free(err);
	for (int i = 0; i < 3; i++) /* after: every situation again, unharmed */
		round_of_calls(t.to, t.out);
	rc = test_finish(&t, &out, &err);
	ck_assert_msg(rc == 0, "target exit %d; stderr: %s", rc, err);
	free(out);
	free(err);
}
END_TEST

/*
 * Attach and detach with --catch-all ten times while the process runs its rounds back to back
 * (threads, forks, vforks, clones and signal handlers coming and going all the while): every
 * cycle ends cleanly, and the process is never killed by a SIGSYS nobody serves.
 */
START_TEST(attach_detach_cycles_while_it_runs)
{
	char n[16], pid[16], line[256], *out, *err;
	char *targv[] = { fixture, n, "spin", NULL };
	char *argv[] = { bpfinject, "--catch-all", "--json", "--duration", "0.3",
			 "-p",	    pid,	   obj,	     NULL };
	struct test_proc t, b;
	int rc, status;

	paths();
	snprintf(n, sizeof(n), "%d", 5);
	test_spawn(&t, targv);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	for (int cycle = 0; cycle < 10; cycle++) {
		test_spawn(&b, argv);
		rc = test_finish(&b, &out, &err);
		ck_assert_msg(rc == 0, "cycle %d: exit %d; stderr: %s", cycle, rc, err);
		ck_assert_msg(test_json_global(out, "getppids") > 0, "cycle %d: %s", cycle, out);
		free(out);
		free(err);
	}
	ck_assert_int_eq(write(t.to, "x\n", 2), 2);
	close(t.to);
	t.to = -1;
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 10000), 0);
	ck_assert_msg(!strncmp(line, "rounds ", 7), "target: %s", line);
	ck_assert_int_eq(waitpid(t.pid, &status, 0), t.pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "target status %#x", status);
	close(t.out);
	close(t.err);
}
END_TEST

/* A process with a SIGSYS handler of its own: refused in one line, and it goes on unharmed. */
START_TEST(sigsys_handler_refused)
{
	char n[16], pid[16], line[256], *out, *err;
	char *targv[] = { fixture, n, "sigsys", NULL };
	char *argv[] = { bpfinject, "--catch-all", "-p", pid, obj, NULL };
	struct test_proc t, b;
	int rc;

	paths();
	snprintf(n, sizeof(n), "%d", CALLS);
	test_spawn(&t, targv);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	test_spawn(&b, argv);
	rc = test_finish(&b, &out, &err);
	ck_assert_int_ne(rc, 0);
	ck_assert_msg(strstr(err, "handles SIGSYS itself") && !strchr(strchr(err, '\n') + 1, '\n'),
		      "stderr: %s", err);
	free(out);
	free(err);
	round_of_calls(t.to, t.out);
	rc = test_finish(&t, &out, &err);
	ck_assert_int_eq(rc, 0);
	free(out);
	free(err);
}
END_TEST

/*
 * posix_spawn's child (clone with CLONE_VM | CLONE_VFORK: it runs on the parent's thread
 * pointer, so in its per-thread slot) reports its own pid at its execve, not the parent's:
 * in bpf_get_current_pid_tgid and in the record's common_pid; with and without the catch-all.
 */
START_TEST(spawned_child_reports_its_own_pid)
{
	char sc[600], file[] = "/tmp/bpfi-ca-XXXXXX", *out, *err, *at;
	char *argv[] = { bpfinject, "--json", obj, "--", sc, file, NULL };
	char *argv_all[] = { bpfinject, "--catch-all", "--json", obj, "--", sc, file, NULL };
	struct test_proc b;
	long child;
	int fd, rc;

	paths();
	snprintf(sc, sizeof(sc), "%s/tests/fixtures/target_syscalls", getenv("BPFI_BUILD_DIR"));
	fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	close(fd);
	test_spawn(&b, _i ? argv_all : argv);
	ck_assert_int_eq(write(b.to, "vq", 2), 2);
	rc = test_finish(&b, &out, &err);
	unlink(file);
	ck_assert_msg(rc == 0, "exit %d; stderr: %s", rc, err);
	at = strstr(out, "spawned ");
	ck_assert_msg(at != NULL, "stdout: %s", out);
	child = strtol(at + 8, NULL, 10);
	ck_assert_msg(test_json_global(out, "execve_tgid") == child, "child %ld; stdout: %s", child,
		      out);
	ck_assert_msg(test_json_global(out, "execve_common_pid") == child, "child %ld; stdout: %s",
		      child, out);
	free(out);
	free(err);
}
END_TEST

Suite *catch_all_suite(void);
Suite *catch_all_suite(void)
{
	Suite *s = suite_create("catch_all");
	TCase *tc = tcase_create("live");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, command_sees_every_call, 0, 3);
	tcase_add_test(tc, attach_then_detach_leaves_it_working);
	tcase_add_test(tc, attach_detach_cycles_while_it_runs);
	tcase_add_test(tc, sigsys_handler_refused);
	tcase_add_loop_test(tc, spawned_child_reports_its_own_pid, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
