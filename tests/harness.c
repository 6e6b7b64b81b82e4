// SPDX-License-Identifier: MIT
/* main() for every Check test binary: runs the suite named by -DSUITE_FN at build time. */
#include <check.h>
#include <stdlib.h>

Suite *SUITE_FN(void);

int main(void)
{
	SRunner *sr = srunner_create(SUITE_FN());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
