// SPDX-License-Identifier: MIT
/*
 * Every hook leaves the registers a caller may rely on as they were (issue 11, A1): the
 * fixture target_regs (gcc -O2 -fipa-ra) keeps values live in every register across calls
 * to a probed C function, an assembly function that touches nothing, a `syscall` in the
 * executable and one in generated code, and clone children of both, and counts what came
 * back different from the un-hooked run. Attached with -p for each kind of hook (entry,
 * return, both, a probe inside a function, an override with and without a return probe, a
 * syscall tracepoint, a syscall fault, each of the last two through the catch-all too), two
 * rounds with the hook in place and two after detach, every one with no mismatch.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_bpf_paths.h"
#include "test_util.h"

static char bpfinject[512], fixture[512], probe_obj[512], sys_obj[512];

static void paths(void)
{
	const char *b = getenv("BPFI_BUILD_DIR");

	ck_assert_ptr_nonnull(b);
	snprintf(bpfinject, sizeof(bpfinject), "%s/cli/bpfinject", b);
	snprintf(fixture, sizeof(fixture), "%s/tests/fixtures/target_regs", b);
	snprintf(probe_obj, sizeof(probe_obj), "%s/regs.bpf.o", BPFI_TEST_BPF_DIR);
	snprintf(sys_obj, sizeof(sys_obj), "%s/regs_sys.bpf.o", BPFI_TEST_BPF_DIR);
}

/* One round of the fixture's checks in @mode: no mismatch, else the fixture's "bad" lines. */
static void round_ok(struct test_proc *t, char mode, const char *when)
{
	char cmd[2] = { mode, '\n' }, line[256], bad[2048] = "";

	ck_assert_int_eq(write(t->to, cmd, 2), 2);
	for (;;) {
		ck_assert_int_eq(test_read_line(t->out, line, sizeof(line), 30000), 0);
		if (!strncmp(line, "done ", 5))
			break;
		if (strlen(bad) + strlen(line) < sizeof(bad))
			strcat(bad, line);
	}
	ck_assert_msg(!strcmp(line, "done 0\n"), "%s: %s%s", when, bad, line);
}

#define P(prog, fn) "-a", prog "=" fn

static const struct {
	const char *name;
	const char *argv[12];
	char mode; /* what the rounds with the hook in place expect */
	const char *counter; /* a global of the object that must have counted, or NULL */
} cases[] = {
	{ "entry",
	  { "OBJ", P("on_entry", "probed_c"), P("on_entry", "bare_callee") },
	  'g',
	  "entries" },
	{ "return",
	  { "OBJ", P("on_return", "probed_c"), P("on_return", "bare_callee") },
	  'g',
	  "returns" },
	{ "entry+return",
	  { "OBJ", P("on_entry", "probed_c"), P("on_entry", "bare_callee"),
	    P("on_return", "probed_c"), P("on_return", "bare_callee") },
	  'g',
	  "returns" },
	{ "inside a function", { "OBJ", P("on_entry", "probed_c+5") }, 'g', "entries" },
	{ "override",
	  { "OBJ", P("override7", "probed_c"), P("override7", "bare_callee") },
	  'o',
	  NULL },
	{ "override+return",
	  { "OBJ", P("override7", "probed_c"), P("override7", "bare_callee"),
	    P("on_return", "probed_c"), P("on_return", "bare_callee") },
	  'o',
	  "returns" },
	{ "syscall site", { "SYS" }, 'g', "exits" },
	{ "syscall fault", { "fault", "--syscall", "getppid", "--errno", "EACCES" }, 'e', NULL },
	{ "catch-all", { "--catch-all", "SYS" }, 'g', "exits" },
	{ "catch-all fault",
	  { "fault", "--catch-all", "--syscall", "getppid", "--errno", "EACCES" },
	  'E',
	  NULL },
};

/*
 * The fixture under one kind of hook: clean before, while attached (and the programs ran),
 * and after the detach.
 */
START_TEST(registers_survive_every_hook)
{
	char pid[16], line[256], when[96], *out, *err;
	char *targv[] = { fixture, NULL };
	char *argv[24];
	struct test_proc t, b;
	size_t n = 0;
	int rc;

	paths();
	test_spawn(&t, targv);
	ck_assert_int_eq(test_read_line(t.out, line, sizeof(line), 5000), 0);
	ck_assert_msg(!strcmp(line, "ready\n"), "got '%s'", line);
	round_ok(&t, 'g', "before attach");

	snprintf(pid, sizeof(pid), "%d", t.pid);
	argv[n++] = bpfinject;
	for (size_t i = 0; i < 12 && cases[_i].argv[i]; i++) {
		const char *a = cases[_i].argv[i];

		a = !strcmp(a, "OBJ") ? probe_obj : !strcmp(a, "SYS") ? sys_obj : a;
		argv[n++] = (char *)a;
	}
	if (strcmp(argv[1], "fault")) /* fault has no map dump */
		argv[n++] = "--json";
	argv[n++] = "-p";
	argv[n++] = pid;
	argv[n] = NULL;
	test_spawn(&b, argv);
	do /* fault says nothing more once in place than which syscall sites it rewrote */
		ck_assert_int_eq(test_read_line(b.err, line, sizeof(line), 30000), 0);
	while (!strstr(line, "attached") && !strstr(line, "rewritten"));
	for (int r = 0; r < 2; r++) {
		snprintf(when, sizeof(when), "%s, attached, round %d", cases[_i].name, r);
		round_ok(&t, cases[_i].mode, when);
	}
	kill(b.pid, SIGINT);
	rc = test_finish(&b, &out, &err);
	ck_assert_msg(rc == 0, "%s: exit %d; stderr: %s", cases[_i].name, rc, err);
	ck_assert_msg(!cases[_i].counter || test_json_global(out, cases[_i].counter) > 0,
		      "%s: %s not counted; stdout: %s", cases[_i].name, cases[_i].counter, out);
	free(out);
	free(err);
	for (int r = 0; r < 2; r++) {
		snprintf(when, sizeof(when), "%s, detached, round %d", cases[_i].name, r);
		round_ok(&t, 'g', when);
	}
	rc = test_finish(&t, &out, &err);
	ck_assert_msg(rc == 0, "target exit %d; stderr: %s", rc, err);
	free(out);
	free(err);
}
END_TEST

Suite *regs_suite(void);
Suite *regs_suite(void)
{
	Suite *s = suite_create("regs");
	TCase *tc = tcase_create("hooks");

	tcase_add_loop_test(tc, registers_survive_every_hook, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	return s;
}
