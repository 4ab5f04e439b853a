/* SPDX-License-Identifier: ISC */
/*
 * teardown.c - a test whose tear-down (.fini) fails an assertion is a
 * failed test.  Criterion reports [PASS] before .fini runs and counts a
 * later failure nowhere, so this hook says it on a line of its own that
 * tests/run-all.sh counts: "[FAIL] suite::test: in tear-down (.fini) ...".
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>

ReportHook(POST_FINI)(struct criterion_test_stats *st)
{
	if (st->test_status != CR_STATUS_PASSED || st->failed_asserts == 0)
		return;
	fprintf(stderr, "[FAIL] %s::%s: in tear-down (.fini): %d assertion(s) failed\n",
	        st->test->category, st->test->name, st->failed_asserts);
	fflush(stderr);
}
