/* check_curveplot.c - the training-curves SVG: what it must show and the
 * degenerate histories it must survive. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "curveplot.h"

static char *render(const botify_curves *c)
{
	char *svg = NULL;
	size_t len = 0;
	botify_err err = {0};
	ck_assert_msg(botify_curves_svg(c, &svg, &len, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(strlen(svg), len);
	ck_assert_ptr_nonnull(strstr(svg, "</svg>"));
	return svg;
}

START_TEST(curves_show_baselines_and_the_best_epoch)
{
	double train[4] = { 0.09, 0.07, 0.06, 0.055 }, val[4] = { 0.08, 0.065, 0.062, 0.063 };
	botify_curves c = { "t <&>", NULL, 4, train, val, NULL, 0, 3, 0.0615, 0.07 };
	char *svg = render(&c);
	ck_assert_ptr_nonnull(strstr(svg, "t &lt;&amp;&gt;"));
	ck_assert_ptr_nonnull(strstr(svg, "best epoch 3<"));
	ck_assert_ptr_nonnull(strstr(svg, ">avg 0.0615<"));
	ck_assert_ptr_nonnull(strstr(svg, ">rdm 0.0700<")); /* within the axis: a line */
	ck_assert_ptr_null(strstr(svg, "&#8593;"));
	int lines = 0;
	for (const char *p = svg; (p = strstr(p, "<polyline")); p++)
		lines++;
	ck_assert_int_eq(lines, 2);
	free(svg);
}
END_TEST

START_TEST(a_baseline_far_above_is_named_not_drawn)
{
	double train[1] = { 0.06 }, val[1] = { 0.058 }, obj[1] = { 0.03 };
	botify_curves c = { "one epoch", "sub", 1, train, val, obj, 1, 1, 0.0615, 0.1787 };
	char *svg = render(&c);
	ck_assert_ptr_nonnull(strstr(svg, "&#8593; rdm 0.1787"));
	ck_assert_ptr_nonnull(strstr(svg, "last epoch interrupted"));
	ck_assert_ptr_nonnull(strstr(svg, "validation with negatives"));
	free(svg);
}
END_TEST

START_TEST(non_finite_points_are_left_out)
{
	double train[3] = { NAN, 0.05, INFINITY }, val[3] = { 0.06, -1, 0.04 };
	botify_curves c = { "gaps", NULL, 3, train, val, NULL, 0, 3, NAN, 0.2 };
	char *svg = render(&c);
	ck_assert_ptr_null(strstr(svg, "nan"));
	ck_assert_ptr_null(strstr(svg, "inf"));
	ck_assert_ptr_null(strstr(svg, ">avg"));
	free(svg);
	botify_curves none = { "none", NULL, 0, train, val, NULL, 0, 0, 0.1, 0.2 };
	char *out = NULL;
	size_t len;
	botify_err err = {0};
	ck_assert_int_eq(botify_curves_svg(&none, &out, &len, &err), -1);
	ck_assert_ptr_null(out);
}
END_TEST

Suite *curveplot_suite(void)
{
	Suite *s = suite_create("curveplot");
	TCase *tc = tcase_create("curveplot");
	tcase_add_test(tc, curves_show_baselines_and_the_best_epoch);
	tcase_add_test(tc, a_baseline_far_above_is_named_not_drawn);
	tcase_add_test(tc, non_finite_points_are_left_out);
	suite_add_tcase(s, tc);
	return s;
}
