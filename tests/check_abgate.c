/* check_abgate.c - CI gate requirements: parsing (every operator, spaces,
 * the bounds accepted, each error), and the decision of every operator on
 * rows that went up, down or nowhere, including a zero control mean (no
 * effect in %, a direction still) and a decision a multiple-testing
 * correction overturned (the gate follows it, not the raw p). */
#include <check.h>
#include <math.h>
#include <string.h>

#include "ab.h"
#include "abgate.h"
#include "testutil.h"

START_TEST(requirements_parse_and_hold)
{
	botify_ab_req r;
	botify_err err = {0};
	botify_ab_effect up = { .metric = 4, .control_mean = 1, .treatment_mean = 2, .significant = 1 };
	botify_ab_effect down = { .metric = 4, .control_mean = 2, .treatment_mean = 1, .significant = 1 };
	botify_ab_effect flat = { .metric = 4, .control_mean = 2, .treatment_mean = 1, .significant = 0 };
	const struct { const char *s; int up, down, flat; } cases[] = {
		{ "mean_time_per_session>0", 1, 0, 0 }, { "mean_time_per_session<0", 0, 1, 0 },
		{ "mean_time_per_session!=0", 1, 1, 0 }, { "mean_time_per_session>=0", 1, 0, 1 },
		{ " mean_time_per_session <= 0 ", 0, 1, 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(botify_ab_req_parse(&r, cases[i].s, &err), 0);
		ck_assert_int_eq(r.metric, 4);
		ck_assert_int_eq(botify_ab_req_holds(&r, &up), cases[i].up);
		ck_assert_int_eq(botify_ab_req_holds(&r, &down), cases[i].down);
		ck_assert_int_eq(botify_ab_req_holds(&r, &flat), cases[i].flat);
	}
	ck_assert_str_eq(r.text, "mean_time_per_session<=0");
	ck_assert_int_eq(botify_ab_req_parse(&r, "speed>0", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown metric 'speed'"));
	ck_assert_int_eq(botify_ab_req_parse(&r, "time>5", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "the bound must be 0"));
	ck_assert_int_eq(botify_ab_req_parse(&r, "time", &err), -1);
	ck_assert_int_eq(botify_ab_req_parse(&r, "time=>0", &err), -1);
	ck_assert_int_eq(botify_ab_metric_index("sessions"), BOTIFY_AB_SESSIONS);
	ck_assert_ptr_null(botify_ab_metric_name(5));
}
END_TEST

START_TEST(requirements_accept_the_bound_forms_and_name_errors)
{
	botify_ab_req r;
	botify_err err = {0};
	const char *ok[] = { "time>0", "time > 0%", "time>0.0", "\ttime\t>=\t0", "sessions!=0",
			     "mean_request_latency<0", "mean_tracks_per_session<=0" };
	const int metric[] = { BOTIFY_AB_TIME, BOTIFY_AB_TIME, BOTIFY_AB_TIME, BOTIFY_AB_TIME,
			       BOTIFY_AB_SESSIONS, BOTIFY_AB_MEAN_REQUEST_LATENCY,
			       BOTIFY_AB_MEAN_TRACKS_PER_SESSION };
	const enum botify_ab_op op[] = { BOTIFY_AB_GT, BOTIFY_AB_GT, BOTIFY_AB_GT, BOTIFY_AB_GE,
					 BOTIFY_AB_NE, BOTIFY_AB_LT, BOTIFY_AB_LE };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(botify_ab_req_parse(&r, ok[i], &err) == 0, "%s: %s", ok[i], err.msg);
		ck_assert_int_eq(r.metric, metric[i]);
		ck_assert_int_eq(r.op, op[i]);
	}
	ck_assert_str_eq(r.text, "mean_tracks_per_session<=0");
	ck_assert_int_eq(botify_ab_req_parse(&r, "time==0", &err), -1);
	tu_assert_has(err.msg, "unknown operator");
	ck_assert_int_eq(botify_ab_req_parse(&r, "time>-0.5", &err), -1);
	tu_assert_has(err.msg, "the bound must be 0");
	ck_assert_int_eq(botify_ab_req_parse(&r, "time", &err), -1);
	tu_assert_has(err.msg, "expected METRIC>0");
	ck_assert_int_eq(botify_ab_req_parse(&r, ">0", &err), -1);
	tu_assert_has(err.msg, "unknown metric ''");
	char longreq[200];
	memset(longreq, 'x', sizeof(longreq));
	strcpy(longreq + 150, ">0");
	ck_assert_int_eq(botify_ab_req_parse(&r, longreq, &err), -1);
	tu_assert_has(err.msg, "too long");
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
}
END_TEST

/* The direction is the sign of treatment_mean - control_mean, so a zero
 * control (effect, interval NaN) still passes or fails a directional gate. */
START_TEST(requirements_on_a_zero_control_mean)
{
	botify_ab_req gt, lt, ge, le, ne;
	botify_err err = {0};
	ck_assert_int_eq(botify_ab_req_parse(&gt, "time>0", &err), 0);
	ck_assert_int_eq(botify_ab_req_parse(&lt, "time<0", &err), 0);
	ck_assert_int_eq(botify_ab_req_parse(&ge, "time>=0", &err), 0);
	ck_assert_int_eq(botify_ab_req_parse(&le, "time<=0", &err), 0);
	ck_assert_int_eq(botify_ab_req_parse(&ne, "time!=0", &err), 0);
	botify_ab_effect up = { .metric = BOTIFY_AB_TIME, .control_mean = 0, .treatment_mean = 0.4,
				.effect = NAN, .lower = NAN, .upper = NAN, .zero_control = 1,
				.significant = 1 };
	ck_assert_int_eq(botify_ab_req_holds(&gt, &up), 1);
	ck_assert_int_eq(botify_ab_req_holds(&lt, &up), 0);
	ck_assert_int_eq(botify_ab_req_holds(&ge, &up), 1);
	ck_assert_int_eq(botify_ab_req_holds(&le, &up), 0);
	ck_assert_int_eq(botify_ab_req_holds(&ne, &up), 1);
	/* both means 0: no direction, and not significant */
	botify_ab_effect none = up;
	none.treatment_mean = 0;
	none.significant = 0;
	ck_assert_int_eq(botify_ab_req_holds(&gt, &none), 0);
	ck_assert_int_eq(botify_ab_req_holds(&lt, &none), 0);
	ck_assert_int_eq(botify_ab_req_holds(&ge, &none), 1);
	ck_assert_int_eq(botify_ab_req_holds(&le, &none), 1);
	ck_assert_int_eq(botify_ab_req_holds(&ne, &none), 0);
}
END_TEST

/* A raw p of 0.01 and an interval without 0, but a correction (p_adjusted
 * 0.08) made the decision "not significant": the gate follows the
 * decision. And the other way round: a significant decision counts even
 * where the row's own interval would not say so. */
START_TEST(requirements_follow_the_corrected_decision)
{
	botify_ab_req gt, ge, ne, lt, le;
	botify_err err = {0};
	ck_assert_int_eq(botify_ab_req_parse(&gt, "mean_time_per_session>0", &err), 0);
	ck_assert_int_eq(botify_ab_req_parse(&ge, "mean_time_per_session>=0", &err), 0);
	ck_assert_int_eq(botify_ab_req_parse(&ne, "mean_time_per_session!=0", &err), 0);
	ck_assert_int_eq(botify_ab_req_parse(&lt, "mean_time_per_session<0", &err), 0);
	ck_assert_int_eq(botify_ab_req_parse(&le, "mean_time_per_session<=0", &err), 0);
	botify_ab_effect corrected = { .metric = BOTIFY_AB_MEAN_TIME_PER_SESSION, .control_mean = 1,
				       .treatment_mean = 1.2, .effect = 20, .lower = 5, .upper = 35,
				       .diff = 0.2, .p = 0.01, .p_adjusted = 0.08,
				       .interval_excludes_0 = 1, .significant = 0 };
	ck_assert_int_eq(botify_ab_req_holds(&gt, &corrected), 0);
	ck_assert_int_eq(botify_ab_req_holds(&ne, &corrected), 0);
	ck_assert_int_eq(botify_ab_req_holds(&ge, &corrected), 1);
	ck_assert_int_eq(botify_ab_req_holds(&le, &corrected), 1);
	botify_ab_effect worse = corrected;
	worse.treatment_mean = 0.8;
	worse.p_adjusted = 0.01;
	worse.interval_excludes_0 = 0;
	worse.significant = 1;
	ck_assert_int_eq(botify_ab_req_holds(&lt, &worse), 1);
	ck_assert_int_eq(botify_ab_req_holds(&ge, &worse), 0);
	ck_assert_int_eq(botify_ab_req_holds(&gt, &worse), 0);
}
END_TEST

Suite *abgate_suite(void)
{
	Suite *s = suite_create("abgate");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, requirements_parse_and_hold);
	tcase_add_test(tc, requirements_accept_the_bound_forms_and_name_errors);
	tcase_add_test(tc, requirements_on_a_zero_control_mean);
	tcase_add_test(tc, requirements_follow_the_corrected_decision);
	suite_add_tcase(s, tc);
	return s;
}
