/* check_histplot.c - the distribution plot: shares per bin drawn as steps,
 * the means, the legend, escaping, the overflow bin's label, bad panels,
 * and the quantile used to choose the range. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histplot.h"

static char *render(const botify_histplot *p)
{
	char *svg = NULL;
	size_t len = 0;
	botify_err err = {0};
	ck_assert_int_eq(botify_histplot_svg(p, &svg, &len, &err), 0);
	ck_assert_uint_eq(strlen(svg), len);
	return svg;
}

START_TEST(histplot_draws_each_series_with_its_mean)
{
	const double a[4] = { 1, 2, 1, 0 }, b[4] = { 0, 0, 3, 1 };
	const botify_hist h[2] = { { .name = "C: random", .count = a, .mean = 2.0 },
				   { .name = "T1: <sticky> & co", .count = b, .mean = NAN } };
	const botify_histpanel pn = { .title = "Session length", .axis_label = "tracks",
				      .x0 = 0.5, .width = 1, .n_bins = 4, .overflow = 1, .integer = 1,
				      .hist = h, .n_hist = 2 };
	const botify_histplot p = { .title = "Sessions per arm", .panels = &pn, .n_panels = 1 };
	char *svg = render(&p);
	ck_assert(strncmp(svg, "<svg ", 5) == 0);
	ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
	ck_assert_ptr_nonnull(strstr(svg, "C: random"));
	ck_assert_ptr_nonnull(strstr(svg, "T1: &lt;sticky&gt; &amp; co")); /* escaped */
	ck_assert_ptr_null(strstr(svg, "<sticky>"));
	ck_assert_ptr_nonnull(strstr(svg, "mean 2.000 (dashed), 4 sessions"));
	ck_assert_ptr_null(strstr(svg, "mean nan"));
	/* one dashed mean line: the NaN mean draws none */
	int dashed = 0;
	for (const char *q = svg; (q = strstr(q, "stroke-dasharray")); q++)
		dashed++;
	ck_assert_int_eq(dashed, 1);
	/* the last bin of whole numbers is labelled from its first value */
	ck_assert_ptr_nonnull(strstr(svg, "last bin: 4 and more"));
	/* two step paths, one per series */
	int paths = 0;
	for (const char *q = svg; (q = strstr(q, "<path d=\"M")); q++)
		paths++;
	ck_assert_int_eq(paths, 2);
	free(svg);
}
END_TEST

START_TEST(histplot_refuses_a_panel_without_bins)
{
	const double a[1] = { 1 };
	const botify_hist h = { .name = "x", .count = a, .mean = 1 };
	const botify_histpanel pn = { .title = "t", .axis_label = "x", .x0 = 0, .width = 0, .n_bins = 1,
				      .hist = &h, .n_hist = 1 };
	const botify_histplot p = { .title = "t", .panels = &pn, .n_panels = 1 };
	char *svg = NULL;
	size_t len = 0;
	botify_err err = {0};
	ck_assert_int_eq(botify_histplot_svg(&p, &svg, &len, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "no bins"));
	ck_assert_ptr_null(svg);
}
END_TEST

START_TEST(hist_quantile_bin)
{
	const int64_t c[5] = { 10, 80, 9, 0, 1 };
	ck_assert_int_eq(botify_hist_quantile_bin(c, 5, 0.5), 1);
	ck_assert_int_eq(botify_hist_quantile_bin(c, 5, 0.99), 2);
	ck_assert_int_eq(botify_hist_quantile_bin(c, 5, 1.0), 4);
	ck_assert_int_eq(botify_hist_quantile_bin(c, 5, 0.1), 0);
	const int64_t z[3] = { 0, 0, 0 };
	ck_assert_int_eq(botify_hist_quantile_bin(z, 3, 0.99), 2);
}
END_TEST

Suite *histplot_suite(void)
{
	Suite *s = suite_create("histplot");
	TCase *tc = tcase_create("svg");
	tcase_add_test(tc, histplot_draws_each_series_with_its_mean);
	tcase_add_test(tc, histplot_refuses_a_panel_without_bins);
	tcase_add_test(tc, hist_quantile_bin);
	suite_add_tcase(s, tc);
	return s;
}
