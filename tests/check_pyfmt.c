/* check_pyfmt.c - numbers as Python's repr() and json.dumps() write them. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyfmt.h"

static const char *fmt(char *buf, double x)
{
	*botify_put_pyfloat(buf, x) = 0;
	return buf;
}

START_TEST(floats_as_repr)
{
	char buf[BOTIFY_PYFLOAT_MAX + 1];
	/* want: Python's repr(x) */
	const double xs[] = { 0.1, 0.29, 1e-05, 123456.789, 1.0 / 3.0, 5e-324, 1e300, -2.5, 100.0,
			      0.0001, 1e16, 1.5e16, 9999999999999998.0, 0.0, -0.0, 12.0,
			      1e15, 0.00012345, -1.7976931348623157e308, -2.2250738585072014e-308 };
	const char *want[] = { "0.1", "0.29", "1e-05", "123456.789", "0.3333333333333333", "5e-324",
			       "1e+300", "-2.5", "100.0", "0.0001", "1e+16", "1.5e+16",
			       "9999999999999998.0", "0.0", "-0.0", "12.0",
			       "1000000000000000.0", "0.00012345", "-1.7976931348623157e+308",
			       "-2.2250738585072014e-308" };
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		fmt(buf, xs[i]);
		ck_assert_msg(strtod(buf, NULL) == xs[i], "%s does not read back as %.17g", buf, xs[i]);
		ck_assert_str_eq(buf, want[i]);
	}
	ck_assert_str_eq(fmt(buf, NAN), "NaN");
	ck_assert_str_eq(fmt(buf, INFINITY), "Infinity");
	ck_assert_str_eq(fmt(buf, -INFINITY), "-Infinity");
}
END_TEST

START_TEST(integers)
{
	char buf[32];
	*botify_put_i64(buf, INT64_MIN) = 0;
	ck_assert_str_eq(buf, "-9223372036854775808");
	*botify_put_u64(buf, UINT64_MAX) = 0;
	ck_assert_str_eq(buf, "18446744073709551615");
	*botify_put_i64(botify_put_str(buf, "x="), 0) = 0;
	ck_assert_str_eq(buf, "x=0");
}
END_TEST

Suite *pyfmt_suite(void)
{
	Suite *s = suite_create("pyfmt");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, floats_as_repr);
	tcase_add_test(tc, integers);
	suite_add_tcase(s, tc);
	return s;
}
