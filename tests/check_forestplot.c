/* check_forestplot.c - the forest plot's SVG: complete and escaped,
 * coloured by what is better for the user, an effect beyond the cut axis
 * drawn as an arrow with its value, long titles wrapped, and writing it
 * (refusing to replace a file without force). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forestplot.h"
#include "testutil.h"

static int count(const char *s, const char *what)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
		n++;
	return n;
}

START_TEST(forest_plot_is_complete_svg)
{
	/* group, label, effect, lower, upper, significant, better, note */
	botify_forest_row rows[] = {
		{ "T1", "time", 12.5, 3.0, 22.0, 1, 1, NULL },
		{ "T1", "sessions", -1.0, -4.0, 2.0, 0, 1, NULL },
		{ "T1", "mean_request_latency", 900.0, 850.0, 950.0, 1, -1, NULL },
		{ "T2", "time", NAN, NAN, NAN, 0, 1, "n/a: the control mean is 0" },
		{ "T2", "a<b & c", -20.0, -30.0, -10.0, 1, 1, NULL },
	};
	botify_forest f = { "title & more", "sub", "effect, %", "%", rows, 5 };
	char *svg = NULL;
	size_t len = 0;
	botify_err err = {0};
	ck_assert_int_eq(botify_forest_svg(&f, &svg, &len, &err), 0);
	ck_assert_uint_eq(strlen(svg), len);
	ck_assert_ptr_nonnull(strstr(svg, "<svg xmlns="));
	ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
	ck_assert_ptr_nonnull(strstr(svg, "title &amp; more"));
	ck_assert_ptr_nonnull(strstr(svg, "a&lt;b &amp; c"));
	ck_assert_ptr_nonnull(strstr(svg, "n/a: the control mean is 0"));
	/* colour by the user: more time is better (green); 900 % more latency
	 * and 20 % less of a higher-is-better metric are worse (red), so the
	 * legend's red dot and those two rows: bar, two arrow heads or caps,
	 * the marker and the numbers */
	ck_assert_ptr_nonnull(strstr(svg, "fill=\"#1a9850\""));
	ck_assert_int_ge(count(svg, "#d73027"), 8);
	/* the 900 % effect lies beyond the cut axis: no dot, an arrow and its value */
	ck_assert_ptr_nonnull(strstr(svg, "<path d="));
	ck_assert_ptr_nonnull(strstr(svg, "font-weight=\"bold\" fill=\"#d73027\">+900%</text>"));
	ck_assert_int_eq(count(svg, "<circle"), 3 /* time, sessions, a<b */ + 3 /* legend */);
	ck_assert_ptr_null(strstr(svg, "nan"));
	free(svg);
	/* a long title wraps instead of running off the picture */
	char title[400];
	memset(title, 0, sizeof(title));
	for (int i = 0; i < 30; i++)
		strcat(title, "word12345 ");
	f.title = title;
	ck_assert_int_eq(botify_forest_svg(&f, &svg, &len, &err), 0);
	ck_assert_int_eq(count(svg, "font-size=\"17\""), 4); /* 300 characters, 92 a line */
	ck_assert_ptr_null(strstr(svg, "word12345 word12345 word12345 word12345 word12345 word12345 word12345 "
				       "word12345 word12345 word12345"));
	free(svg);
	ck_assert_int_eq(botify_forest_write(&f, "/dev/null/x.svg", 0, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
}
END_TEST

START_TEST(forest_plot_written_atomically_and_not_over_a_file)
{
	botify_forest_row rows[] = { { "T1", "time", 2.0, 1.0, 3.0, 1, 1, NULL },
				     { "T1", "sessions", 0.5, NAN, NAN, 0, 1, NULL } };
	botify_forest f = { "t", NULL, "effect, %", "%", rows, 2 };
	botify_err err = {0};
	char path[4096];
	tu_path(path, tu_tmp, "plot.svg");
	ck_assert_msg(botify_forest_write(&f, path, 0, &err) == 0, "%s", err.msg);
	size_t len = 0;
	char *got = tu_slurp(path, &len), *want = NULL;
	size_t want_len = 0;
	ck_assert_int_eq(botify_forest_svg(&f, &want, &want_len, &err), 0);
	ck_assert_uint_eq(len, want_len);
	ck_assert_str_eq(got, want);
	/* NaN bounds: the dot without a bar, and no "nan" anywhere */
	ck_assert_int_eq(count(want, "<circle"), 2 + 3 /* legend */);
	ck_assert_ptr_null(strstr(want, "nan"));
	free(got);
	free(want);
	ck_assert_int_eq(botify_forest_write(&f, path, 0, &err), -1);
	tu_assert_has(err.msg, path);
	rows[0].effect = 7.0;
	ck_assert_msg(botify_forest_write(&f, path, 1, &err) == 0, "%s", err.msg);
	got = tu_slurp(path, NULL);
	ck_assert_ptr_nonnull(strstr(got, "+7"));
	free(got);
}
END_TEST

Suite *forestplot_suite(void)
{
	Suite *s = suite_create("forestplot");
	TCase *tc = tcase_create("core");
	tu_scratch(tc);
	tcase_add_test(tc, forest_plot_is_complete_svg);
	tcase_add_test(tc, forest_plot_written_atomically_and_not_over_a_file);
	suite_add_tcase(s, tc);
	return s;
}
