// SPDX-License-Identifier: MIT
/*
 * Numbers on the command line, taken only whole: the entire string, no sign where none is
 * allowed, finite, in range. strtod alone accepts "nan", "inf" and "1e400" (as HUGE_VAL) and
 * strtoull turns "-1" into 2^64-1, so each of those would have been a setting no one meant
 * (a --duration that never ends, an --nth never reached). A refusal names the option, the
 * text and the accepted range, in one line.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

/* Decimal, or hexadecimal after 0x; octal is never meant on a command line. */
static int base_of(const char *digits)
{
	return digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X') ? 16 : 10;
}

bool cli__uint_ok(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	errno = 0;
	/* strtoull skips blanks and takes a sign: only a digit may start the number. */
	if (s[0] < '0' || s[0] > '9')
		return false;
	v = strtoull(s, &end, base_of(s));
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

int cli__parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	if (cli__uint_ok(s, min, max, ret))
		return 0;
	cli__err(opt, "'%s': expected a whole number from %" PRIu64 " to %" PRIu64, s, min, max);
	return EXIT_FAILURE;
}

int cli__parse_int(const char *opt, const char *s, int64_t min, int64_t max, int64_t *ret)
{
	const char *digits = s[0] == '-' ? s + 1 : s;
	long long v;
	char *end;

	errno = 0;
	if (digits[0] >= '0' && digits[0] <= '9') {
		v = strtoll(s, &end, base_of(digits));
		if (!errno && end != s && !*end && v >= min && v <= max) {
			*ret = v;
			return 0;
		}
	}
	cli__err(opt, "'%s': expected a whole number from %" PRId64 " to %" PRId64, s, min, max);
	return EXIT_FAILURE;
}

int cli__parse_real(const char *opt, const char *s, double min, bool min_open, double max,
		    const char *what, double *ret)
{
	double v;
	char *end;

	errno = 0;
	/* A digit or a point first: no blanks, no sign, no "nan"/"inf" spelled out. */
	if ((s[0] >= '0' && s[0] <= '9') || s[0] == '.') {
		v = strtod(s, &end);
		/* ERANGE: past the largest double, or below the smallest. */
		if (!errno && end != s && !*end && isfinite(v) && (min_open ? v > min : v >= min) &&
		    v <= max) {
			*ret = v;
			return 0;
		}
	}
	cli__err(opt, "'%s': expected %s %s %.10g and at most %.10g", s, what,
		 min_open ? "greater than" : "of at least", min, max);
	return EXIT_FAILURE;
}
