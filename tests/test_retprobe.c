// SPDX-License-Identifier: MIT
/*
 * Return probes where something else reads return addresses (issue 11, A8): Go's runtime
 * (stack copying, tracebacks) and C++ exceptions (the unwinder). A return probe replaces the
 * return address; the kernel's uretprobe does the same and kills these programs. bpfinject
 * refuses such a probe in one line and the target keeps running with correct results;
 * entry probes, and return probes on functions nothing can unwind through, work and count
 * exactly. A forced unwind (pthread_exit) beneath a return probe in C ends the thread as
 * usual, its cleanup handler run.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Starts fixture @name (which says "ready PID"); @path gets its path. */
static void start_fixture(struct test_proc *t, const char *name, char *path, size_t size)
{
	char line[64];
	char *argv[] = { path, NULL };

	snprintf(path, size, "%s/%s", fixtures, name);
	ck_assert_msg(access(path, X_OK) == 0, "%s is not built (g++ or golang-go missing?)", path);
	test_spawn(t, argv);
	ck_assert_int_eq(test_read_line(t->out, line, sizeof(line), 10000), 0);
	ck_assert_msg(!strncmp(line, "ready", 5), "%s said: %s", name, line);
}

/* "go N" to the fixture; its answer in @line. */
static void run_fixture(struct test_proc *t, long n, char *line, size_t size)
{
	char cmd[32];
	int len = snprintf(cmd, sizeof(cmd), "go %ld\n", n);

	ck_assert_int_eq(write(t->to, cmd, (size_t)len), len);
	ck_assert_int_eq(test_read_line(t->out, line, size, 30000), 0);
}

/* The fixture answered its last command; it exits at the end of its input. */
static void finish_fixture(struct test_proc *t)
{
	char *out, *err;

	ck_assert_int_eq(test_finish(t, &out, &err), 0);
	free(out);
	free(err);
}

/* bpfinject with @spec on @t: it must fail with one line holding @expect. */
static void expect_refused(struct test_proc *t, const char *spec, const char *expect)
{
	char pid[16], *out, *err;
	char *argv[] = { bpfinject, "-p", pid, obj, "-a", (char *)spec, "--duration", "2", NULL };
	struct test_proc b;

	snprintf(pid, sizeof(pid), "%d", t->pid);
	test_spawn(&b, argv);
	ck_assert_int_ne(test_finish(&b, &out, &err), 0);
	ck_assert_msg(strstr(err, expect), "%s: stderr was: %s", spec, err);
	ck_assert_msg(!strncmp(err, "bpfinject: ", 11) &&
			      strchr(err, '\n') == err + strlen(err) - 1,
		      "%s: not one line: %s", spec, err);
	free(out);
	free(err);
}

/* bpfinject attached with @argv (until SIGINT); waits for its "attached" line. */
static void start_attached(struct test_proc *b, char **argv)
{
	char line[256];

	test_spawn(b, argv);
	ck_assert_int_eq(test_read_line(b->err, line, sizeof(line), 20000), 0);
	ck_assert_msg(!strncmp(line, "bpfinject: attached", 19), "bpfinject said: %s", line);
}

static char *stop_attached(struct test_proc *b)
{
	char *out, *err;

	kill(b->pid, SIGINT);
	ck_assert_int_eq(test_finish(b, &out, &err), 0);
	free(err);
	return out;
}

/* 8 goroutines, grow(64) N times each: 65 calls of grow every time. */
#define GO_N	 300
#define GO_CALLS (8L * GO_N * 65)

static const char *const go_targets[] = { "target_go", "target_go_cgo" };

/* A return probe anywhere in a Go module is refused; the program runs on, right. */
START_TEST(go_return_probe_refused)
{
	char path[600], spec[700], line[128];
	long calls = -1, bad = -1;
	struct test_proc t;

	paths();
	start_fixture(&t, go_targets[_i], path, sizeof(path));
	snprintf(spec, sizeof(spec), "count_return=%s:main.grow", path);
	expect_refused(&t, spec, "a Go module (.go.buildinfo): a return probe replaces");
	run_fixture(&t, GO_N, line, sizeof(line));
	ck_assert_int_eq(sscanf(line, "done calls %ld bad %ld", &calls, &bad), 2);
	ck_assert_int_eq(calls, GO_CALLS);
	ck_assert_int_eq(bad, 0);
	finish_fixture(&t);
}
END_TEST

/* An entry probe on the same function counts every call (cgo build: see its cgo.go). */
START_TEST(go_entry_probe_counts_exactly)
{
	char path[600], spec[700], pid[16], line[128], *out;
	char *argv[] = { bpfinject, "-p", pid, obj, "-a", spec, "--json", NULL };
	long calls = -1, bad = -1;
	struct test_proc t, b;

	paths();
	start_fixture(&t, "target_go_cgo", path, sizeof(path));
	snprintf(spec, sizeof(spec), "count_entry=%s:main.grow", path);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	start_attached(&b, argv);
	run_fixture(&t, GO_N, line, sizeof(line));
	ck_assert_int_eq(sscanf(line, "done calls %ld bad %ld", &calls, &bad), 2);
	out = stop_attached(&b);
	ck_assert_int_eq(calls, GO_CALLS);
	ck_assert_int_eq(bad, 0);
	/*
	 * Every call, and once more each time a goroutine's stack grew: Go's morestack runs
	 * the function again from its entry (4 times for each new goroutine here, as the
	 * kernel's uprobe would count them too).
	 */
	ck_assert_int_ge(test_json_counter(out, 0), GO_CALLS);
	ck_assert_int_le(test_json_counter(out, 0), GO_CALLS + 8 * 8);
	free(out);
	run_fixture(&t, GO_N, line, sizeof(line)); /* and after detach */
	ck_assert_msg(!strcmp(line, "done calls 156000 bad 0\n"), "target_go_cgo said: %s", line);
	finish_fixture(&t);
}
END_TEST

/* target_throw's "go 700": middle(i) throws for i % 7 == 3, else returns 2i + 1. */
#define CXX_N 700

static void cxx_expected(long *caught, long *sum, long *leafsum)
{
	*caught = *sum = *leafsum = 0;
	for (long i = 0; i < CXX_N; i++) {
		if (i % 7 == 3)
			++*caught;
		else
			*sum += 2 * i + 1;
		*leafsum += 3 * i + 1;
	}
}

static void check_cxx_answer(const char *line)
{
	long caught, sum, leafsum, c = -1, s = -1, l = -1;

	cxx_expected(&caught, &sum, &leafsum);
	ck_assert_msg(sscanf(line, "done caught %ld sum %ld leafsum %ld", &c, &s, &l) == 3,
		      "target_throw said: %s", line);
	ck_assert_int_eq(c, caught);
	ck_assert_int_eq(s, sum);
	ck_assert_int_eq(l, leafsum);
}

/*
 * middle() has exceptions unwind through it: a return probe there is refused (on the code
 * before this check the program ended in std::terminate at its first throw).
 */
START_TEST(cxx_return_probe_refused_where_exceptions_unwind)
{
	char path[600], spec[700], line[128];
	struct test_proc t;

	paths();
	start_fixture(&t, "target_throw", path, sizeof(path));
	snprintf(spec, sizeof(spec), "count_return=%s:middle", path);
	expect_refused(&t, spec, "an exception can unwind through it (the module uses __cxa_");
	run_fixture(&t, CXX_N, line, sizeof(line));
	check_cxx_answer(line);
	finish_fixture(&t);
}
END_TEST

/* leaf() calls nothing: its return probe works, and middle()'s entry probe too. */
START_TEST(cxx_probes_that_unwinding_cannot_meet_count_exactly)
{
	char path[600], ret_spec[700], entry_spec[700], pid[16], line[128], *out;
	char *argv[] = {
		bpfinject, "-p", pid, obj, "-a", ret_spec, "-a", entry_spec, "--json", NULL
	};
	long caught, sum, leafsum;
	struct test_proc t, b;

	paths();
	start_fixture(&t, "target_throw", path, sizeof(path));
	snprintf(ret_spec, sizeof(ret_spec), "count_return=%s:leaf", path);
	snprintf(entry_spec, sizeof(entry_spec), "count_entry=%s:middle", path);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	start_attached(&b, argv);
	run_fixture(&t, CXX_N, line, sizeof(line));
	out = stop_attached(&b);
	check_cxx_answer(line);
	cxx_expected(&caught, &sum, &leafsum);
	ck_assert_int_eq(test_json_counter(out, 0), CXX_N); /* middle's entries */
	ck_assert_int_eq(test_json_counter(out, 1), (long)CXX_N * (CXX_N - 1) / 2);
	ck_assert_int_eq(test_json_counter(out, 2), CXX_N); /* leaf's returns */
	ck_assert_int_eq(test_json_counter(out, 3), leafsum);
	free(out);
	finish_fixture(&t);
}
END_TEST

/*
 * pthread_exit() beneath a return probe in C: the forced unwind stops at the replaced return
 * address as at the end of the stack, and glibc runs the cleanup handlers left and ends the
 * thread (unwind_stop, _UA_END_OF_STACK). Every thread ends right, every handler runs, and
 * the threads that return are counted.
 */
START_TEST(c_pthread_exit_beneath_a_return_probe)
{
	char path[600], spec[700], pid[16], line[128], *out;
	char *argv[] = { bpfinject, "-p", pid, obj, "-a", spec, "--json", NULL };
	struct test_proc t, b;

	paths();
	start_fixture(&t, "target_pexit", path, sizeof(path));
	snprintf(spec, sizeof(spec), "count_return=%s:probed", path);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	start_attached(&b, argv);
	ck_assert_int_eq(write(t.to, "g", 1), 1);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 30000), 0);
	out = stop_attached(&b);
	ck_assert_msg(!strcmp(line, "ok 200 cleanups 100 exits 100\n"), "target_pexit said: %s",
		      line);
	ck_assert_int_eq(test_json_counter(out, 2), 100); /* the even threads returned through it */
	ck_assert_int_eq(test_json_counter(out, 3), 100 * 100); /* i + 1 for i = 0, 2, ... 198 */
	free(out);
	finish_fixture(&t);
}
END_TEST

Suite *retprobe_suite(void);
Suite *retprobe_suite(void)
{
	Suite *s = suite_create("retprobe");
	TCase *tc = tcase_create("unwinders");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, go_return_probe_refused, 0,
			    sizeof(go_targets) / sizeof(go_targets[0]));
	tcase_add_test(tc, go_entry_probe_counts_exactly);
	tcase_add_test(tc, cxx_return_probe_refused_where_exceptions_unwind);
	tcase_add_test(tc, cxx_probes_that_unwinding_cannot_meet_count_exactly);
	tcase_add_test(tc, c_pthread_exit_beneath_a_return_probe);
	suite_add_tcase(s, tc);
	return s;
}
