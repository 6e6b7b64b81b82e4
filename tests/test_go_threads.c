// SPDX-License-Identifier: MIT
/*
 * Probes in a static Go program (tests/fixtures/go_threads): its threads keep Go's own TLS at
 * %fs, not a libc's thread control block, so the stub's per-thread state cannot be found from
 * %fs:0 there. An entry probe and sys_enter_getpid must still count every call of its
 * goroutines exactly, the thread ids programs see must be the calling thread's, the program
 * must finish right and run on after the detach; --catch-all is refused in one line (Go
 * handles SIGSYS). Also a program without libc, whose %fs is 0: reading %fs:0 would kill it.
 */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpfinject/injector.h>

#include "test_bpf_paths.h"
#include "test_util.h"

#define GOROUTINES "4"
#define CALLS	   "20000"

static char bpfinject[512], obj[512], fixture[512], nolibc[512];

/* False (and said) when golang-go is not installed: the fixture was not built. */
static bool paths(void)
{
	const char *b = getenv("BPFI_BUILD_DIR");

	ck_assert_ptr_nonnull(b);
	snprintf(bpfinject, sizeof(bpfinject), "%s/cli/bpfinject", b);
	snprintf(obj, sizeof(obj), "%s/go_count.bpf.o", BPFI_TEST_BPF_DIR);
	snprintf(fixture, sizeof(fixture), "%s/tests/fixtures/go_threads", b);
	snprintf(nolibc, sizeof(nolibc), "%s/tests/fixtures/target_nolibc", b);
	if (access(fixture, X_OK)) {
		printf("go_threads: %s not built (no golang-go): not tested\n", fixture);
		return false;
	}
	return true;
}

/* A global of the object's .bss from `--json` output: {"NAME":V}. */
static long global(const char *json, const char *name)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), "{\"%s\":", name);
	at = strstr(json, pat);
	ck_assert_msg(at != NULL, "no %s in: %s", name, json);
	return strtol(at + strlen(pat), NULL, 10);
}

struct round {
	long calls, sum, getpids, tidchecks;
};

/* One round of the goroutines, as the target counted it. */
static struct round run_round(struct test_proc *t)
{
	struct round r = { -1, -1, -1, -1 };
	char line[256];

	ck_assert_int_eq(write(t->to, "g", 1), 1);
	ck_assert_int_eq(test_read_line(t->out, line, sizeof(line), 30000), 0);
	ck_assert_msg(sscanf(line, "done calls %ld sum %ld getpids %ld tidchecks %ld", &r.calls,
			     &r.sum, &r.getpids, &r.tidchecks) == 4,
		      "target said: %s", line);
	ck_assert_int_gt(r.tidchecks, 0);
	return r;
}

/* The fixture, without asynchronous preemption: its signals make the runtime call getpid. */
static void start_target(struct test_proc *t)
{
	char *argv[] = { fixture, GOROUTINES, CALLS, NULL };
	char line[64];

	setenv("GODEBUG", "asyncpreemptoff=1", 1);
	test_spawn(t, argv);
	unsetenv("GODEBUG");
	ck_assert_int_eq(test_read_line(t->out, line, sizeof(line), 10000), 0);
	ck_assert_msg(strncmp(line, "ready ", 6) == 0, "target said: %s", line);
}

static uint64_t function_addr(pid_t pid, const char *func)
{
	uint64_t off, addr;

	ck_assert_int_eq(bpfi_elf_find_function(fixture, func, &off, NULL, NULL), 0);
	ck_assert_int_eq(bpfi_proc_offset_to_addr(pid, fixture, off, &addr, NULL), 0);
	return addr;
}

START_TEST(go_threads_counted_exactly)
{
	char pid[16], line[256], *out, *err;
	char *argv[] = { bpfinject, "-p",
			 pid,	    obj,
			 "-a",	    "count_work=main.work",
			 "-a",	    "check_tid=main.tidcheck",
			 "--json",  NULL };
	uint8_t before[16], after[16];
	struct test_proc t, b;
	struct round r;
	uint64_t addr;

	if (!paths())
		return;
	start_target(&t);
	addr = function_addr(t.pid, "main.work");
	test_read_mem(t.pid, addr, before, sizeof(before));
	snprintf(pid, sizeof(pid), "%d", t.pid);
	test_spawn(&b, argv);
	do
		ck_assert_int_eq(test_read_line(b.err, line, sizeof(line), 20000), 0);
	while (strncmp(line, "bpfinject: attached", 19) != 0);
	ck_assert_msg(strstr(line, "attached 3 probes"), "bpfinject said: %s", line);
	r = run_round(&t);
	ck_assert_int_eq(kill(b.pid, SIGINT), 0);
	ck_assert_int_eq(test_finish(&b, &out, &err), 0);
	ck_assert_int_eq(r.calls, atol(GOROUTINES) * atol(CALLS));
	ck_assert_int_eq(global(out, "calls"), r.calls);
	ck_assert_int_eq(global(out, "arg_sum"), r.sum);
	ck_assert_int_eq(global(out, "getpids"), r.getpids);
	ck_assert_int_eq(global(out, "tid_checks"), r.tidchecks);
	ck_assert_int_eq(global(out, "tid_wrong"), 0);
	free(out);
	free(err);
	/* Detached: every byte back, and the program goes on as before. */
	test_read_mem(t.pid, addr, after, sizeof(after));
	ck_assert_mem_eq(before, after, sizeof(before));
	r = run_round(&t);
	ck_assert_int_eq(r.calls, atol(GOROUTINES) * atol(CALLS));
	ck_assert_int_eq(write(t.to, "q", 1), 1);
	ck_assert_int_eq(test_finish(&t, &out, &err), 0);
	free(out);
	free(err);
}
END_TEST

START_TEST(go_catch_all_refused_in_one_line)
{
	char pid[16], *out, *err;
	char *argv[] = { bpfinject,	"-p",	      pid, obj, "-a", "count_work=main.work",
			 "--catch-all", "--duration", "1", NULL };
	struct test_proc t, b;
	struct round r;
	int rc;

	if (!paths())
		return;
	start_target(&t);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	test_spawn(&b, argv);
	rc = test_finish(&b, &out, &err);
	ck_assert_msg(rc != 0, "exit 0; stderr: %s", err);
	ck_assert_msg(strncmp(err, "bpfinject: ", 11) == 0 && strstr(err, "SIGSYS") &&
			      strchr(err, '\n') == err + strlen(err) - 1,
		      "not one line about SIGSYS: %s", err);
	free(out);
	free(err);
	r = run_round(&t);
	ck_assert_int_eq(r.calls, atol(GOROUTINES) * atol(CALLS));
	ck_assert_int_eq(write(t.to, "q", 1), 1);
	ck_assert_int_eq(test_finish(&t, &out, &err), 0);
	free(out);
	free(err);
}
END_TEST

/* %fs is 0 in this target: the probes count, and it lives on. */
START_TEST(no_libc_target_counted_exactly)
{
	char pid[16], line[256], *out, *err;
	char *argv[] = { bpfinject, "-p", pid, obj, "-a", "count_work=work", "--json", NULL };
	char *targv[] = { nolibc, NULL };
	long calls, sum;
	struct test_proc t, b;

	paths();
	test_spawn(&t, targv);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 10000), 0);
	snprintf(pid, sizeof(pid), "%d", t.pid);
	test_spawn(&b, argv);
	do
		ck_assert_int_eq(test_read_line(b.err, line, sizeof(line), 20000), 0);
	while (strncmp(line, "bpfinject: attached", 19) != 0);
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(write(t.to, "g", 1), 1);
		ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 30000), 0);
		ck_assert_msg(sscanf(line, "done calls %ld sum %ld", &calls, &sum) == 2,
			      "target said: %s", line);
		if (round)
			break;
		/* The second round runs detached. */
		ck_assert_int_eq(kill(b.pid, SIGINT), 0);
		ck_assert_int_eq(test_finish(&b, &out, &err), 0);
		ck_assert_int_eq(global(out, "calls"), calls);
		ck_assert_int_eq(global(out, "getpids"), calls);
		free(out);
		free(err);
	}
	ck_assert_int_eq(write(t.to, "q", 1), 1);
	ck_assert_int_eq(test_finish(&t, &out, &err), 0);
	free(out);
	free(err);
}
END_TEST

Suite *go_threads_suite(void);
Suite *go_threads_suite(void)
{
	Suite *s = suite_create("go_threads");
	TCase *tc = tcase_create("go");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, go_threads_counted_exactly);
	tcase_add_test(tc, go_catch_all_refused_in_one_line);
	tcase_add_test(tc, no_libc_target_counted_exactly);
	suite_add_tcase(s, tc);
	return s;
}
