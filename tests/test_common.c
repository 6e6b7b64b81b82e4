// SPDX-License-Identifier: MIT
/* struct bpfi_log: bounded, NUL-terminated, tracks the true length. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <bpfinject/common.h>

START_TEST(log_appends_lines)
{
	char buf[64];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

	ck_assert_int_eq(bpfi_log_err(&log, -EINVAL, "insn %d: bad", 3), -EINVAL);
	ck_assert_int_eq(bpfi_log_err(&log, -EACCES, "second"), -EACCES);
	ck_assert_str_eq(buf, "insn 3: bad\nsecond\n");
	ck_assert_uint_eq(log.len, strlen(buf));
}
END_TEST

START_TEST(log_truncates_and_counts)
{
	char buf[8];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

	bpfi_log_err(&log, -EINVAL, "0123456789");
	ck_assert_str_eq(buf, "0123456");
	ck_assert_uint_eq(log.len, 11);
	bpfi_log_printf(&log, "more");
	ck_assert_str_eq(buf, "0123456");
	ck_assert_uint_eq(log.len, 15);
}
END_TEST

START_TEST(log_null_is_fine)
{
	struct bpfi_log counting = { 0 };

	ck_assert_int_eq(bpfi_log_err(NULL, -E2BIG, "x"), -E2BIG);
	bpfi_log_err(&counting, 0, "abc");
	ck_assert_uint_eq(counting.len, 4);
}
END_TEST

Suite *common_suite(void);
Suite *common_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, log_appends_lines);
	tcase_add_test(tc, log_truncates_and_counts);
	tcase_add_test(tc, log_null_is_fine);
	suite_add_tcase(s, tc);
	return s;
}
