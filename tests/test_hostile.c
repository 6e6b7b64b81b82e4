// SPDX-License-Identifier: MIT
/*
 * A target of a session corrupts every byte of the shared arena it can write while another
 * target of the same session runs probes on those maps (issue 11 A3, maps/maps_internal.h):
 * the victim must neither crash, hang nor have memory outside the arena written (a canary
 * page), and bpfinject, which then prints every map and drains the ring and perf buffers,
 * must exit normally (and, in the ASan build, without a report).
 */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_bpf_paths.h"
#include "test_util.h"

static char bpfinject[512], obj[512], fixture[512];

static void paths(void)
{
	const char *b = getenv("BPFI_BUILD_DIR");

	ck_assert_ptr_nonnull(b);
	snprintf(bpfinject, sizeof(bpfinject), "%s/cli/bpfinject", b);
	snprintf(obj, sizeof(obj), "%s/hostile.bpf.o", BPFI_TEST_BPF_DIR);
	snprintf(fixture, sizeof(fixture), "%s/tests/fixtures/target_hostile", b);
}

/* Where @pid maps the arena (its lowest address). */
static uint64_t arena_base_of(pid_t pid)
{
	char path[64], line[512];
	uint64_t lo = UINT64_MAX;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long a;

		if (strstr(line, "bpfinject-arena") && sscanf(line, "%lx-", &a) == 1 && a < lo)
			lo = a;
	}
	fclose(f);
	ck_assert_msg(lo != UINT64_MAX, "process %d has no arena mapped", pid);
	return lo;
}

START_TEST(a_target_corrupting_the_arena_harms_no_one_else)
{
	char vpid[16], apid[16], line[256], *out, *err, *aout, *aerr;
	char *victim_argv[] = { fixture, "victim", NULL };
	/* Only the aimed header writes, then those and the rounds over every page. */
	char *attacker_argv[] = { fixture, "attacker", _i ? "1500" : "-1", NULL };
	char *argv[] = { bpfinject,    "-p", vpid,     "-p",
			 apid,	       obj,  "-a",     "hostile_probe=fixture_work",
			 "--duration", "4",  "--json", NULL };
	struct test_proc v, a, b;
	unsigned long canary;
	long written = -1, refused = -1, calls = -1;
	char verdict[8] = "";
	int rc;

	paths();
	test_spawn(&v, victim_argv);
	ck_assert_int_eq(test_read_line(v.out, line, sizeof(line), 5000), 0);
	ck_assert_int_eq(sscanf(line, "canary %lx", &canary), 1);
	test_spawn(&a, attacker_argv);
	snprintf(vpid, sizeof(vpid), "%d", v.pid);
	snprintf(apid, sizeof(apid), "%d", a.pid);
	test_spawn(&b, argv);
	do {
		ck_assert_int_eq(test_read_line(b.err, line, sizeof(line), 20000), 0);
	} while (!strstr(line, "bpfinject: attached"));
	ck_assert_int_eq(write(v.to, "g", 1), 1);
	snprintf(line, sizeof(line), "a %lx %lx\n", (unsigned long)arena_base_of(v.pid), canary);
	ck_assert_int_eq(write(a.to, line, strlen(line)), (ssize_t)strlen(line));
	ck_assert_int_eq(test_read_line(a.out, line, sizeof(line), 20000), 0);
	ck_assert_int_eq(sscanf(line, "done %ld %ld", &written, &refused), 2);
	/* The rounds wrote every page of the data region (the meta region refused them). */
	ck_assert_int_gt(written + refused, 0);
	ck_assert(!_i || written > 0);

	rc = test_finish(&b, &out, &err);
	ck_assert_msg(rc == 0, "bpfinject exited %d; stderr: %.2000s", rc, err);
	ck_assert_msg(!strstr(err, "AddressSanitizer") && !strstr(err, "runtime error"),
		      "bpfinject: %.4000s", err);
	/* It printed every map of the object. */
	ck_assert_msg(strstr(out, "\"name\":\"h_hash\"") &&
			      strstr(out, "\"name\":\"h_lru_pcpu\"") &&
			      strstr(out, "\"name\":\"h_pcpu_array\""),
		      "maps not printed: %.2000s", out);

	/* The victim is alive, answers, and its canary is intact. */
	ck_assert_int_eq(kill(v.pid, 0), 0);
	ck_assert_int_eq(write(v.to, "s", 1), 1);
	ck_assert_msg(test_read_line(v.out, line, sizeof(line), 20000) == 0,
		      "the victim does not answer");
	ck_assert_int_eq(sscanf(line, "stopped calls %ld canary %7s", &calls, verdict), 2);
	ck_assert_int_gt(calls, 100);
	ck_assert_msg(!strcmp(verdict, "ok"), "the victim's canary page was written: %s", line);
	ck_assert_int_eq(write(v.to, "q", 1), 1);
	ck_assert_int_eq(test_finish(&v, &aout, &aerr), 0);
	free(aout);
	free(aerr);
	ck_assert_int_eq(test_finish(&a, &aout, &aerr), 0);
	free(aout);
	free(aerr);
	free(out);
	free(err);
}
END_TEST

Suite *hostile_suite(void);
Suite *hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("arena");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, a_target_corrupting_the_arena_harms_no_one_else, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
