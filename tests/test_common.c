// SPDX-License-Identifier: MIT
/* struct bpfi_log: bounded, NUL-terminated, tracks the true length. */
#include <check.h>
#include <errno.h>
#include <linux/btf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/btfcheck.h>
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

/* ---- bpfi_btf_check(): blobs built by hand ---- */

#define T(name, kind, vlen, kflag, size_or_type) \
	(name), ((kind) << 24 | (kflag) << 31 | (vlen)), (size_or_type)
/* Strings: "\0int\0s\0f\0" -> 1 "int", 5 "s", 7 "f". */
static const char strs[] = "\0int\0s\0f";

/* Header, @n words of types, the strings; at byte offset @shift (alignment). */
static size_t make_btf(uint8_t *out, const uint32_t *types, size_t n, size_t shift)
{
	struct btf_header h = { .magic = BTF_MAGIC,
				.version = BTF_VERSION,
				.hdr_len = sizeof(h),
				.type_off = 0,
				.type_len = (uint32_t)(n * 4),
				.str_off = (uint32_t)(n * 4),
				.str_len = sizeof(strs) };

	memcpy(out + shift, &h, sizeof(h));
	memcpy(out + shift + sizeof(h), types, n * 4);
	memcpy(out + shift + sizeof(h) + n * 4, strs, sizeof(strs));
	return sizeof(h) + n * 4 + sizeof(strs);
}

static int check_types(const uint32_t *types, size_t n, char *why, size_t why_size)
{
	uint8_t blob[512];
	struct bpfi_log log = { .buf = why, .size = why_size };
	size_t size = make_btf(blob, types, n, 1); /* misaligned on purpose */

	why[0] = '\0';
	return bpfi_btf_check(blob + 1, size, NULL, 0, &log);
}

#define INT32 T(1, BTF_KIND_INT, 0, 0, 4), 32

START_TEST(btf_check_accepts_good)
{
	/* [1] int, [2] struct s { int f; struct s *next (via [3]); }, [3] ptr -> [2] */
	const uint32_t types[] = { INT32, T(5, BTF_KIND_STRUCT, 2, 0, 16), 7, 1, 0, 0, 3,
				   64,	  T(0, BTF_KIND_PTR, 0, 0, 2) };
	char why[128];

	ck_assert_int_eq(check_types(types, sizeof(types) / 4, why, sizeof(why)), 0);
}
END_TEST

/* Each is a blob libbpf 1.1 crashes or loops on. */
static const struct {
	uint32_t types[16];
	size_t n;
	const char *why;
} bad_btf[] = {
	/* a typedef to type 9 of 2 */
	{ { INT32, T(5, BTF_KIND_TYPEDEF, 0, 0, 9) }, 7, "[2] invalid type_id 9 (last is 2)" },
	/* a name past the strings */
	{ { INT32, T(999, BTF_KIND_TYPEDEF, 0, 0, 1) }, 7, "[2] invalid name_offset:999" },
	/* typedef [2] -> const [3] -> typedef [2] */
	{ { INT32, T(5, BTF_KIND_TYPEDEF, 0, 0, 3), T(0, BTF_KIND_CONST, 0, 0, 2) },
	  10,
	  "type loop through [2]" },
	/* a struct that holds itself */
	{ { INT32, T(5, BTF_KIND_STRUCT, 1, 0, 4), 7, 2, 0 }, 10, "type loop through [2]" },
	/* a func whose type is an int */
	{ { INT32, T(7, BTF_KIND_FUNC, 0, 0, 1) }, 7, "[2] func type 1 is not a prototype" },
	/* an unknown kind */
	{ { INT32, T(0, 31, 0, 0, 0) }, 7, "[2] invalid kind:31" },
	/* a struct member record cut off */
	{ { INT32, T(5, BTF_KIND_STRUCT, 2, 0, 8), 7, 1, 0 }, 8, "[2] type truncated" },
};

START_TEST(btf_check_refuses_bad)
{
	char why[128];

	ck_assert_int_eq(check_types(bad_btf[_i].types, bad_btf[_i].n, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, bad_btf[_i].why), "case %d: '%s'", _i, why);
}
END_TEST

/* .BTF.ext: a func_info naming a type that is not a function. */
START_TEST(btf_check_ext)
{
	const uint32_t types[] = { INT32, T(0, BTF_KIND_FUNC_PROTO, 0, 0, 1),
				   T(7, BTF_KIND_FUNC, 0, 0, 2) };
	/* header (magic, version 1, flags 0, hdr_len 32), func_info at 0: rec 8, sec "s",
	 * one record: insn 0, type @func. */
	uint32_t ext[] = { 0x0001eB9F, 32, 0, 20, 20, 0, 20, 0, 8, 5, 1, 0, 3 };
	uint8_t blob[256];
	char why[128] = "";
	struct bpfi_log log = { .buf = why, .size = sizeof(why) };
	size_t size = make_btf(blob, types, sizeof(types) / 4, 0);

	ck_assert_int_eq(bpfi_btf_check(blob, size, ext, sizeof(ext), &log), 0);
	ext[12] = 1; /* the int */
	ck_assert_int_eq(bpfi_btf_check(blob, size, ext, sizeof(ext), &log), -EINVAL);
	ck_assert_msg(strstr(why, "func_info 0: type 1 is not a function"), "%s", why);
	ext[12] = 3;
	ext[8] = 6; /* record size */
	ck_assert_int_eq(bpfi_btf_check(blob, size, ext, sizeof(ext), &log), -EINVAL);
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
	tcase_add_test(tc, btf_check_accepts_good);
	tcase_add_loop_test(tc, btf_check_refuses_bad, 0, sizeof(bad_btf) / sizeof(bad_btf[0]));
	tcase_add_test(tc, btf_check_ext);
	suite_add_tcase(s, tc);
	return s;
}
