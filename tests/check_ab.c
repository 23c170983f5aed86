/* check_ab.c - the A/B accumulation (sessions, unfinished sessions, rows
 * out of order, units per arm), the analysis errors and decisions, and the
 * log reader's two parsing paths giving identical rows, and reading on threads
 * giving what reading row by row gives, bit for bit. The CI gate is in
 * check_abgate.c, the forest plot in check_forestplot.c. Table-level agreement with pandas is checked end
 * to end in tests/e2e/t300-ab-fixtures.sh. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ab.h"
#include "abgate.h"
#include "eventlog.h"
#include "logscan.h"
#include "testutil.h"

#define AB_DIR DATA_DIR "/ab"

#include "stats.h"

static const botify_ab_opts NOTEBOOK = { .alpha = 0.05, .design = BOTIFY_DESIGN_SPLIT,
					 .ci = BOTIFY_AB_CI_NOTEBOOK };

static botify_event ev(int last, int64_t ts, int64_t user, int arm, double time, double latency)
{
	botify_event e = { .timestamp = ts, .user = user, .track = 1, .recommendation = last ? -1 : 2,
			   .time = time, .latency = latency,
			   .message = last ? BOTIFY_MSG_LAST : BOTIFY_MSG_NEXT, .arm = (int8_t)arm };
	return e;
}

static void add(botify_ab *ab, botify_event e)
{
	botify_err err = {0};
	ck_assert_int_eq(botify_ab_add(ab, &e, &err), 0);
}

START_TEST(sessions_and_user_metrics)
{
	botify_ab ab = {0};
	botify_err err = {0};
	botify_ab_result res;
	ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
	/* user 1 in C: sessions of 3 and 1 rows; user 2 in C: one of 2 rows */
	add(&ab, ev(0, 10, 1, 0, 1.0, 0.001));
	add(&ab, ev(0, 11, 2, 0, 1.0, 0.002));
	add(&ab, ev(0, 12, 1, 0, 0.5, 0.001));
	add(&ab, ev(1, 13, 1, 0, 0.25, 0.001));
	add(&ab, ev(1, 14, 2, 0, 0.5, 0.002));
	add(&ab, ev(1, 15, 1, 0, 0.0, 0.004));
	add(&ab, ev(0, 16, 1, 0, 1.0, 0.004)); /* unfinished: left out */
	botify_ab_arms(&ab, &res);
	const botify_ab_arm *c = &res.arm[0];
	ck_assert_int_eq(c->units, 2);
	ck_assert_int_eq(c->sessions, 3);
	ck_assert_int_eq(c->rows, 6);
	ck_assert_int_eq(c->unfinished_sessions, 1);
	ck_assert_int_eq(c->unfinished_rows, 1);
	/* user 1: time 1.75, 2 sessions, latency (1+1+1+4) ms / 4 tracks, 2 tracks/session;
	 * user 2: time 1.5, 1 session, 2 ms, 2 tracks */
	ck_assert_double_eq_tol(c->m[BOTIFY_AB_TIME].mean, (1.75 + 1.5) / 2, 1e-15);
	ck_assert_double_eq_tol(c->m[BOTIFY_AB_SESSIONS].mean, 1.5, 1e-15);
	ck_assert_double_eq_tol(c->m[BOTIFY_AB_SESSIONS].var, 0.5, 1e-15);
	ck_assert_double_eq_tol(c->m[BOTIFY_AB_MEAN_REQUEST_LATENCY].mean, (7.0 / 4 + 2.0) / 2, 1e-12);
	ck_assert_double_eq_tol(c->m[BOTIFY_AB_MEAN_TRACKS_PER_SESSION].mean, 2.0, 1e-15);
	ck_assert_double_eq_tol(c->m[BOTIFY_AB_MEAN_TRACKS_PER_SESSION].var, 0.0, 1e-15);
	ck_assert_double_eq_tol(c->m[BOTIFY_AB_MEAN_TIME_PER_SESSION].mean, (0.875 + 1.5) / 2, 1e-15);
	ck_assert_int_eq(ab.last_rows, 3);
	botify_ab_free(&ab);
	botify_ab_free(&ab); /* twice is safe */
}
END_TEST

/* Feeds the same rows in order and in a scrambled order; the summaries must
 * agree (the unit's rows are sessionized by timestamp). */
START_TEST(out_of_order_rows_are_placed_by_timestamp)
{
	botify_event rows[] = {
		ev(0, 1, 7, 1, 0.5, 0), ev(0, 2, 7, 1, 0.5, 0), ev(1, 3, 7, 1, 0.1, 0),
		ev(0, 4, 7, 1, 0.2, 0), ev(1, 5, 7, 1, 0.3, 0),
		ev(0, 6, 7, 1, 0.9, 0), ev(0, 7, 7, 1, 0.9, 0), /* unfinished */
	};
	int orders[3][7] = { { 0, 1, 2, 3, 4, 5, 6 }, { 6, 4, 0, 5, 2, 1, 3 }, { 2, 4, 6, 5, 3, 1, 0 } };
	for (int k = 0; k < 3; k++) {
		botify_ab ab = {0};
		botify_err err = {0};
		botify_ab_result res;
		ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
		for (int i = 0; i < 7; i++)
			add(&ab, rows[orders[k][i]]);
		botify_ab_arms(&ab, &res);
		const botify_ab_arm *a = &res.arm[1];
		ck_assert_int_eq(a->sessions, 2);
		ck_assert_int_eq(a->rows, 5);
		ck_assert_int_eq(a->unfinished_rows, 2);
		ck_assert_double_eq_tol(a->m[BOTIFY_AB_TIME].mean, 1.6, 1e-15);
		if (k == 0)
			ck_assert_int_eq(ab.rows_out_of_order, 0);
		else
			ck_assert_int_gt(ab.rows_out_of_order, 0);
		botify_ab_free(&ab);
	}
}
END_TEST

START_TEST(users_are_counted_per_arm_and_many_users_grow_the_table)
{
	botify_ab ab = {0};
	botify_err err = {0};
	botify_ab_result res;
	ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
	for (int64_t u = 0; u < 5000; u++) {
		add(&ab, ev(0, 2 * u, u, (int)(u % 3), 0.5, 0.001));
		add(&ab, ev(1, 2 * u + 1, u, (int)(u % 3), 0.25, 0.001));
	}
	add(&ab, ev(1, 99999, 3, 1, 0.25, 0.001)); /* user 3 (C) also in T1 */
	add(&ab, ev(1, 99999, 4, -1, 0.25, 0.001)); /* no arm: skipped */
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, NULL, 0, &NOTEBOOK, &res, &err), 0);
	ck_assert_int_eq(res.arm[0].units, 1667);
	ck_assert_int_eq(res.arm[1].units, 1668);
	ck_assert_int_eq(res.arm[2].units, 1666);
	ck_assert_int_eq(res.n_treatments, 2);
	ck_assert_int_eq(res.n_effects, 10);
	ck_assert_int_eq(res.users_in_several_arms, 1);
	ck_assert_int_eq(ab.rows_used, 10001);
	ck_assert_int_eq(ab.rows, 10002);
	ck_assert(!res.srm);
	botify_ab_free(&ab);
}
END_TEST

START_TEST(analysis_errors_name_the_problem)
{
	botify_ab ab = {0};
	botify_err err = {0};
	botify_ab_result res;
	ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
	add(&ab, ev(0, 1, 1, 0, 0.5, 0));
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, NULL, 0, &NOTEBOOK, &res, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "none of the 1 rows is a 'last' row"));
	add(&ab, ev(1, 2, 1, 0, 0.5, 0));
	add(&ab, ev(1, 3, 2, 0, 0.5, 0));
	add(&ab, ev(1, 4, 3, 1, 0.5, 0));
	add(&ab, ev(0, 5, 4, 2, 0.5, 0));
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, NULL, 0, &NOTEBOOK, &res, &err), -1);
	ck_assert_str_eq(err.msg, "arm 'T1' has 1 user with a finished session; a variance needs at least 2");
	int t2 = 2, t5 = 5;
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, &t2, 1, &NOTEBOOK, &res, &err), -1);
	ck_assert_str_eq(err.msg, "treatment arm 'T2' has no finished session (its 1 users have unfinished sessions only)");
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, &t5, 1, &NOTEBOOK, &res, &err), -1);
	ck_assert_str_eq(err.msg, "treatment arm 'T5' is not in the data (arms: C, T1)");
	ck_assert_int_eq(botify_ab_analyze(&ab, 4, NULL, 0, &NOTEBOOK, &res, &err), -1);
	ck_assert_str_eq(err.msg, "control arm 'T4' is not in the data (arms: C, T1)");
	botify_ab_free(&ab);
}
END_TEST

START_TEST(effects_follow_the_notebook_formulas)
{
	botify_ab ab = {0};
	botify_err err = {0};
	botify_ab_result res;
	ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
	/* one session per user: time per user C = {1, 2, 3}, T1 = {2, 4, 6, 8} */
	double tc[] = { 1, 2, 3 }, tt[] = { 2, 4, 6, 8 };
	for (int i = 0; i < 3; i++)
		add(&ab, ev(1, i, i, 0, tc[i], 0.001));
	for (int i = 0; i < 4; i++)
		add(&ab, ev(1, 10 + i, 10 + i, 1, tt[i], 0.001));
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, NULL, 0, &NOTEBOOK, &res, &err), 0);
	const botify_ab_effect *e = &res.effects[BOTIFY_AB_TIME];
	ck_assert_int_eq(e->metric, BOTIFY_AB_TIME);
	ck_assert_double_eq_tol(e->control_mean, 2, 1e-15);
	ck_assert_double_eq_tol(e->treatment_mean, 5, 1e-15);
	ck_assert_double_eq_tol(e->effect, 150, 1e-12);
	/* s2_C = 1, s2_T = 20/3; nu = (1/3 + 5/3)^2 / (1/9/2 + 25/9/3) */
	double nu = 4.0 / (1.0 / 18 + 25.0 / 27);
	ck_assert_double_eq_tol(e->df, nu, 1e-12);
	double hw = e->half_width;
	ck_assert_double_eq_tol(e->lower, (3 - hw) / 2 * 100, 1e-12);
	ck_assert_double_eq_tol(e->upper, (3 + hw) / 2 * 100, 1e-12);
	ck_assert_int_eq(e->significant, (3 - hw) > 0);
	/* latency is 1 ms everywhere: zero variance in both arms gives NaN bounds */
	const botify_ab_effect *l = &res.effects[BOTIFY_AB_MEAN_REQUEST_LATENCY];
	ck_assert(isnan(l->df) && isnan(l->lower) && !l->significant);
	botify_ab_free(&ab);
}
END_TEST

START_TEST(zero_control_mean_leaves_the_effect_undefined)
{
	botify_ab ab = {0};
	botify_err err = {0};
	botify_ab_result res;
	ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
	for (int i = 0; i < 4; i++) {
		add(&ab, ev(1, i, i, 0, 0.0, 0.001));
		add(&ab, ev(1, 10 + i, 10 + i, 1, 0.5 + 0.1 * i, 0.001));
	}
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, NULL, 0, &NOTEBOOK, &res, &err), 0);
	const botify_ab_effect *e = &res.effects[BOTIFY_AB_TIME];
	ck_assert(e->zero_control && isnan(e->effect) && e->significant);
	botify_ab_req r;
	ck_assert_int_eq(botify_ab_req_parse(&r, "time > 0", &err), 0);
	ck_assert_int_eq(botify_ab_req_holds(&r, e), 1);
	botify_ab_free(&ab);
}
END_TEST

/* Every row parses to the same event through the hand-written scanner and
 * through cJSON (forced by a leading field with an escape), and is rejected
 * by both with the same message. */
START_TEST(fast_and_cjson_parsers_agree)
{
	FILE *f = fopen(AB_DIR "/parser_rows.jsonl", "r");
	ck_assert_ptr_nonnull(f);
	char line[1024], forced[1100];
	size_t lineno = 0;
	int accepted = 0, rejected = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		const char *brace = strchr(line, '{');
		if (!brace)
			continue;
		snprintf(forced, sizeof(forced), "%.*s{\"zz\": \"\\u0041\", %s", (int)(brace - line), line,
			 brace + 1);
		botify_event a, b;
		memset(&a, 0x5a, sizeof(a));
		memset(&b, 0x5a, sizeof(b));
		int ma = -7, mb = -7;
		botify_err ea = {0}, eb = {0};
		int ra = botify_logscan_row(line, strlen(line), "AB", &a, &ma, "f", lineno, &ea);
		int rb = botify_logscan_row(forced, strlen(forced), "AB", &b, &mb, "f", lineno, &eb);
		ck_assert_msg(ra == rb, "line %zu: %d vs %d (%s | %s)", lineno, ra, rb, ea.msg, eb.msg);
		if (ra != 0) {
			rejected++;
			continue;
		}
		accepted++;
		ck_assert_msg(a.timestamp == b.timestamp && a.user == b.user && a.track == b.track &&
			      a.recommendation == b.recommendation && a.message == b.message &&
			      a.arm == b.arm && ma == mb && !memcmp(&a.time, &b.time, sizeof(double)) &&
			      !memcmp(&a.latency, &b.latency, sizeof(double)),
			      "line %zu parses differently", lineno);
	}
	fclose(f);
	ck_assert_int_ge(accepted, 15);
	ck_assert_int_ge(rejected, 10);
}
END_TEST

START_TEST(parser_details)
{
	botify_event e;
	botify_err err = {0};
	int miss;
	const char *row = "{\"message\": \"last\", \"timestamp\": 1714594690071, \"user\": 3255, "
			  "\"track\": 414, \"time\": 0.75, \"latency\": 6.747245788574219e-05, "
			  "\"recommendation\": null, \"experiments\": {\"AA\": \"C\", \"AB\": \"T1\"}}";
	ck_assert_int_eq(botify_logscan_row(row, strlen(row), "AB", &e, &miss, "f", 1, &err), 0);
	ck_assert(e.latency == 6.747245788574219e-05 && e.time == 0.75);
	ck_assert_int_eq(e.arm, 1);
	ck_assert_int_eq(miss, BOTIFY_LOGSCAN_ARM);
	ck_assert_int_eq(e.recommendation, -1);
	ck_assert_int_eq(botify_logscan_row(row, strlen(row), "AC", &e, &miss, "f", 1, &err), 0);
	ck_assert_int_eq(miss, BOTIFY_LOGSCAN_OTHER_EXPERIMENTS); /* other experiments, not this one */
	const char *bad = "{\"message\": \"next\", \"timestamp\": 1, \"user\": 1, \"track\": 1, "
			  "\"time\": 1e400, \"latency\": 0}";
	ck_assert_int_eq(botify_logscan_row(bad, strlen(bad), NULL, &e, &miss, "log.jsonl", 9, &err), -1);
	ck_assert_str_eq(err.msg, "log.jsonl:9: 'time' must be a finite number");
	const char *trail = "{\"message\": \"next\", \"timestamp\": 1, \"user\": 1, \"track\": 1, "
			    "\"time\": 1, \"latency\": 0} x";
	ck_assert_int_eq(botify_logscan_row(trail, strlen(trail), NULL, &e, &miss, "log.jsonl", 2, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "log.jsonl:2: malformed JSON near byte"));
}
END_TEST

START_TEST(read_log_counts_what_it_leaves_out)
{
	botify_ab ab = {0};
	botify_err err = {0};
	ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
	ck_assert_int_eq(botify_ab_read_log(&ab, AB_DIR "/service.jsonl", "AB", -1, NULL, NULL, &err), 0);
	ck_assert_int_eq(ab.rows_without_arm, 3);
	ck_assert_int_eq(ab.rows_other_experiment, 2);
	ck_assert_int_eq(ab.rows_used + 3, ab.rows);
	ck_assert_int_eq(botify_ab_read_log(&ab, AB_DIR "/missing.jsonl", "AB", -1, NULL, NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "missing.jsonl"));
	botify_ab_free(&ab);
}
END_TEST

/* Four users with one one-row session in each arm: time per user C 1 2 3 4,
 * T 2 2.5 4.5 5. Expected values from numpy/scipy (see the comments). */
static void add_pairs(botify_ab *ab, int paired)
{
	static const double c[4] = { 1, 2, 3, 4 }, t[4] = { 2, 2.5, 4.5, 5 };
	for (int u = 0; u < 4; u++) {
		add(ab, ev(1, 10 + u, 100 + u, 0, c[u], 0.001));
		add(ab, ev(1, 20 + u, paired ? 100 + u : 200 + u, 1, t[u], 0.001));
	}
}

START_TEST(paired_and_delta_intervals)
{
	botify_ab ab;
	botify_ab_result res;
	botify_err err = {0};
	ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
	add_pairs(&ab, 1);
	botify_ab_opts o = { .alpha = 0.05, .design = BOTIFY_AB_DESIGN_DETECT, .ci = BOTIFY_AB_CI_DELTA,
			     .metrics = 1u << BOTIFY_AB_TIME };
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, NULL, 0, &o, &res, &err), 0);
	ck_assert_int_eq(res.design, BOTIFY_DESIGN_PAIRED);
	ck_assert(res.design_detected);
	ck_assert_int_eq(res.n_effects, 1);
	const botify_ab_effect *e = &res.effects[0];
	ck_assert_int_eq(e->n_control, 4);
	/* d = T - C: mean 1, t(3) interval, p = 2 t.sf(1 / (sd(d) / 2), 3) */
	ck_assert(fabs(e->diff - 1.0) < 1e-15);
	ck_assert_msg(fabs(e->diff_lower - 0.3503858681873313) < 1e-12, "%.17g %.17g", e->diff_lower, e->half_width);
	ck_assert(fabs(e->diff_upper - 1.6496141318126687) < 1e-12);
	/* delta: R = 1.4, se = sd(T - R C) / 2 / 2.5 */
	ck_assert_msg(fabs(e->lower - 5.13804741093673) < 1e-11, "lower %.17g", e->lower);
	ck_assert_msg(fabs(e->upper - 74.86195258906325) < 1e-11, "upper %.17g", e->upper);
	ck_assert_msg(fabs(e->p - 0.03545550142302558) < 1e-13, "p %.17g", e->p);
	ck_assert(e->significant && e->interval_excludes_0);
	ck_assert(isnan(res.srm_p) && !res.srm);
	/* notebook on the same pairs: the difference's interval / 2.5, the paired t test's p */
	o.ci = BOTIFY_AB_CI_NOTEBOOK;
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, NULL, 0, &o, &res, &err), 0);
	ck_assert(fabs(res.effects[0].lower - 0.3503858681873313 / 2.5 * 100) < 1e-11);
	ck_assert(fabs(res.effects[0].p - 0.01627660345942856) < 1e-13);
	/* the same numbers as independent arms: the split delta interval (the
	 * bounds with the exact t quantile of mpmath: scipy 1.10 is 2e-9 off) */
	o.ci = BOTIFY_AB_CI_DELTA;
	o.design = BOTIFY_DESIGN_SPLIT;
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, NULL, 0, &o, &res, &err), 0);
	ck_assert_msg(fabs(res.effects[0].lower - -75.21565374377022) < 1e-10, "%.17g", res.effects[0].lower);
	ck_assert(fabs(res.effects[0].upper - 155.2156537437702) < 1e-10);
	ck_assert(fabs(res.effects[0].df - 5.763757321570612) < 1e-12);
	ck_assert(fabs(res.effects[0].p - 0.4251173480317128) < 1e-12);
	ck_assert(!res.effects[0].significant);
	botify_ab_free(&ab);

	/* users in one arm each: detected as split; --design paired refused */
	ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
	add_pairs(&ab, 0);
	o.design = BOTIFY_AB_DESIGN_DETECT;
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, NULL, 0, &o, &res, &err), 0);
	ck_assert_int_eq(res.design, BOTIFY_DESIGN_SPLIT);
	ck_assert(fabs(res.effects[0].lower - -75.21565374377022) < 1e-10);
	o.design = BOTIFY_DESIGN_PAIRED;
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, NULL, 0, &o, &res, &err), -1);
	ck_assert_msg(strstr(err.msg, "not paired: 8 users"), "%s", err.msg);
	botify_ab_free(&ab);
}
END_TEST

START_TEST(corrections_decide_significance)
{
	botify_ab ab;
	botify_ab_result res;
	botify_err err = {0};
	ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
	add_pairs(&ab, 1);
	/* time: p = 0.035 (significant alone); the other metrics have no test
	 * (sessions equal by design) or p = 1 (equal latencies and tracks) */
	botify_ab_opts o = { .alpha = 0.05, .design = BOTIFY_DESIGN_PAIRED, .ci = BOTIFY_AB_CI_DELTA };
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, NULL, 0, &o, &res, &err), 0);
	ck_assert_int_eq(res.n_effects, BOTIFY_AB_N_METRICS);
	ck_assert(res.effects[BOTIFY_AB_TIME].significant);
	ck_assert(isnan(res.effects[BOTIFY_AB_SESSIONS].p));
	int tests = 0;
	for (int m = 0; m < BOTIFY_AB_N_METRICS; m++)
		tests += !isnan(res.effects[m].p);
	/* Holm over the rows that are tests: time's p times their number */
	o.correction = BOTIFY_P_ADJUST_HOLM;
	ck_assert_int_eq(botify_ab_analyze(&ab, 0, NULL, 0, &o, &res, &err), 0);
	const botify_ab_effect *e = &res.effects[BOTIFY_AB_TIME];
	ck_assert_msg(fabs(e->p_adjusted - fmin(1, tests * e->p)) < 1e-15, "%d tests, p %g adj %g", tests,
		      e->p, e->p_adjusted);
	ck_assert_int_eq(e->significant, e->p_adjusted < 0.05);
	ck_assert(e->interval_excludes_0);
	ck_assert(isnan(res.effects[BOTIFY_AB_SESSIONS].p_adjusted));
	botify_ab_free(&ab);
}
END_TEST

START_TEST(a_whole_log_can_be_one_arm)
{
	botify_ab ab;
	botify_err err = {0};
	ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
	/* every row, whatever experiments it carries, as arm T1 */
	ck_assert_int_eq(botify_ab_read_log(&ab, AB_DIR "/service.jsonl", NULL, 1, NULL, NULL, &err), 0);
	ck_assert_int_eq(ab.rows, ab.rows_used);
	ck_assert_int_eq(ab.rows_without_arm, 0);
	botify_ab_result res;
	botify_ab_arms(&ab, &res);
	ck_assert(!res.arm[0].present && res.arm[1].present);
	char seen[256];
	ck_assert_int_eq(botify_eventlog_experiments(AB_DIR "/service.jsonl", 1000, seen, sizeof(seen), &err), 0);
	ck_assert_msg(!strcmp(seen, "AA:C,T1; AB:C,T1,T2"), "%s", seen);
	botify_ab_free(&ab);
}
END_TEST

/*
 * Reading on threads. A log made to be awkward: 2000 users whose rows
 * interleave (so every cut between parts and blocks falls inside some
 * user's session), rows out of timestamp order, CRLF endings, blank and
 * whitespace-only lines, rows the fast scanner leaves to cJSON, rows of
 * other experiments and arms, unfinished sessions, no final newline.
 */
static char *awkward_log(uint64_t seed, int rows)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	uint64_t x = seed;
	for (int i = 0; i < rows; i++) {
		x = x * 6364136223846793005u + 1442695040888963407u;
		unsigned r = (unsigned)(x >> 33);
		int user = (int)(r % 2000), kind = (int)((r >> 8) % 23);
		const char *arm = user % 3 == 0 ? "C" : user % 3 == 1 ? "T1" : "T2";
		if (user % 17 == 0)
			arm = (r >> 16) & 1 ? "C" : "T1"; /* in two arms */
		int64_t t = BOTIFY_TIMESTAMP_BASE + 10 * i - ((r >> 12) % 5 == 0 ? 25 : 0);
		int last = (r >> 20) % 6 == 0;
		double time = (double)((r >> 4) % 101) / 100, lat = (double)((r >> 3) % 977) / 1e6;
		const char *msg = last ? "last" : "next";
		const char *end = (r >> 24) % 7 == 0 ? "\r\n" : "\n";
		if (kind == 0)
			fprintf(f, "%s", (r >> 26) & 1 ? "\n" : " \t \r\n");
		if (kind == 1) /* to cJSON: a nested extra field, keys out of order */
			fprintf(f, "{\"extra\": {\"a\": [1, 2]}, \"user\": %d, \"message\": \"%s\", \"timestamp\": %lld, "
				"\"track\": 3, \"time\": %g, \"latency\": %g, \"recommendation\": null, "
				"\"experiments\": {\"AB\": \"%s\"}}%s", user, msg, (long long)t, time, lat, arm, end);
		else if (kind == 2)
			fprintf(f, "{\"message\": \"%s\", \"timestamp\": %lld, \"user\": %d, \"track\": 3, \"time\": %g, "
				"\"latency\": %g, \"recommendation\": 4, \"experiments\": {\"XY\": \"C\"}}%s", msg,
				(long long)t, user, time, lat, end);
		else if (kind == 3)
			fprintf(f, "{\"message\": \"%s\", \"timestamp\": %lld, \"user\": %d, \"track\": 3, \"time\": %g, "
				"\"latency\": %g, \"experiments\": {\"AB\": \"Z9\"}}%s", msg, (long long)t, user, time,
				lat, end);
		else if (kind == 4)
			fprintf(f, "{\"message\": \"%s\", \"timestamp\": %lld, \"user\": %d, \"track\": 3, \"time\": %g, "
				"\"latency\": %g, \"experiments\": {}}%s", msg, (long long)t, user, time, lat, end);
		else
			fprintf(f, "{\"message\": \"%s\", \"timestamp\": %lld, \"user\": %d, \"track\": 3, \"time\": %g, "
				"\"latency\": %g, \"recommendation\": 4, \"experiments\": {\"AB\": \"%s\"}}%s", msg,
				(long long)t, user, time, lat, arm, end);
	}
	fprintf(f, "{\"message\": \"next\", \"timestamp\": 1, \"user\": 1, \"track\": 3, \"time\": 1.0, "
		"\"latency\": 0.001, \"experiments\": {\"AB\": \"T1\"}}");
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

/* A file's bytes as they are on disk; caller frees. */
static char *slurp_raw(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	char *buf = malloc(1 << 20);
	ck_assert_ptr_nonnull(buf);
	*n = fread(buf, 1, 1 << 20, f);
	ck_assert(feof(f));
	fclose(f);
	return buf;
}

/* text as gzip members of 1/7, 2/7 and the rest of it, as simulate's
 * threads write them (but cut anywhere). */
static void write_members(const char *path, const char *text)
{
	size_t n = strlen(text), cuts[4] = { 0, n / 7, n / 7 * 3, n };
	remove(path);
	for (int i = 0; i < 3; i++) {
		gzFile g = gzopen(path, "ab");
		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(gzwrite(g, text + cuts[i], (unsigned)(cuts[i + 1] - cuts[i])),
				 (int)(cuts[i + 1] - cuts[i]));
		ck_assert_int_eq(gzclose(g), Z_OK);
	}
}

/* The reference: the log row by row through botify_ab_add. */
static int read_row_by_row(botify_ab *ab, const char *path, const char *experiment, botify_err *err)
{
	botify_eventlog_reader r;
	if (botify_eventlog_open(&r, path, experiment, err) != 0)
		return -1;
	botify_event e;
	int rc;
	while ((rc = botify_eventlog_next(&r, &e, err)) == 1)
		ck_assert_int_eq(botify_ab_add(ab, &e, err), 0);
	ab->rows_without_arm += r.rows_without_arm;
	ab->rows_other_experiment += r.rows_other_experiment;
	ab->rows_other_arm += r.rows_other_arm;
	botify_eventlog_close(&r);
	return rc;
}

/* The error a row-by-row reader meets in PATH, then the same message from
 * botify_ab_read_log on 1..MAX_THREADS threads reading BLOCK bytes at a
 * time; FAIL_SAME_CODE and FAIL_NO_ROWS ask for the code too and for no row
 * kept. Returns the row-by-row error. */
enum { FAIL_SAME_CODE = 1, FAIL_NO_ROWS = 2 };

static botify_err threads_fail_as_row_by_row(const char *path, int max_threads, size_t block, int checks)
{
	botify_ab ref = {0};
	botify_err want = {0}, err = {0};
	ck_assert_int_eq(botify_ab_init(&ref, &err), 0);
	ck_assert_int_eq(read_row_by_row(&ref, path, "AB", &want), -1);
	botify_ab_free(&ref);
	for (int t = 1; t <= max_threads; t++) {
		botify_ab ab = {0};
		ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
		ab.threads = t;
		ab.read_block = block;
		ck_assert_int_eq(botify_ab_read_log(&ab, path, "AB", -1, NULL, NULL, &err), -1);
		ck_assert_msg(!strcmp(err.msg, want.msg), "'%s' vs '%s'", err.msg, want.msg);
		if (checks & FAIL_SAME_CODE)
			ck_assert_int_eq(err.code, want.code);
		if (checks & FAIL_NO_ROWS)
			ck_assert_int_eq(ab.rows, 0); /* nothing of the file kept */
		botify_ab_free(&ab);
	}
	return want;
}

/* Same state (the digest: counts, every unit in its place, bit for bit),
 * and so bit-identical per-arm moments and effects. */
static void same_ab(const botify_ab *a, const botify_ab *b, const char *what)
{
	ck_assert_msg(botify_ab_digest(a) == botify_ab_digest(b), "%s: states differ", what);
	ck_assert_msg(a->rows == b->rows && a->rows_used == b->rows_used && a->seq == b->seq &&
		      a->rows_without_arm == b->rows_without_arm &&
		      a->rows_other_experiment == b->rows_other_experiment &&
		      a->rows_other_arm == b->rows_other_arm &&
		      a->rows_out_of_order == b->rows_out_of_order && a->last_rows == b->last_rows &&
		      a->n_units == b->n_units && a->cap == b->cap,
		      "%s: counts differ (rows %lld/%lld, units %zu/%zu, out of order %lld/%lld)", what,
		      (long long)a->rows, (long long)b->rows, a->n_units, b->n_units,
		      (long long)a->rows_out_of_order, (long long)b->rows_out_of_order);
	static botify_ab_result ra, rb;
	botify_ab_arms(a, &ra);
	botify_ab_arms(b, &rb);
	ck_assert_msg(!memcmp(ra.arm, rb.arm, sizeof(ra.arm)), "%s: per-arm figures differ", what);
	botify_ab_opts o = { .alpha = 0.05, .design = BOTIFY_DESIGN_SPLIT, .ci = BOTIFY_AB_CI_DELTA };
	botify_err ea = {0}, eb = {0};
	ck_assert_int_eq(botify_ab_analyze(a, 0, NULL, 0, &o, &ra, &ea), 0);
	ck_assert_int_eq(botify_ab_analyze(b, 0, NULL, 0, &o, &rb, &eb), 0);
	ck_assert_int_eq(ra.n_effects, rb.n_effects);
	for (int i = 0; i < ra.n_effects; i++)
		ck_assert_msg(!memcmp(&ra.effects[i].effect, &rb.effects[i].effect, sizeof(double)) &&
			      !memcmp(&ra.effects[i].lower, &rb.effects[i].lower, sizeof(double)) &&
			      !memcmp(&ra.effects[i].p, &rb.effects[i].p, sizeof(double)),
			      "%s: effect %d differs", what, i);
}

START_TEST(threads_read_exactly_as_row_by_row)
{
	char a[4096], b[4096];
	char *la = awkward_log(1, 12000), *lb = awkward_log(2, 8000);
	/* plain, gzip of one member, gzip of several (cut inside lines) */
	for (int gz = 0; gz < 3; gz++) {
		tu_fmt(a, sizeof(a), "%s/a.jsonl%s", tu_tmp, gz ? ".gz" : "");
		tu_fmt(b, sizeof(b), "%s/b.jsonl%s", tu_tmp, gz ? ".gz" : "");
		if (gz == 2) {
			write_members(a, la);
			write_members(b, lb);
		} else {
			tu_write(a, la, gz);
			tu_write(b, lb, gz);
		}
		/* two files: the second continues the first one's open sessions */
		botify_ab ref = {0};
		botify_err err = {0};
		ck_assert_int_eq(botify_ab_init(&ref, &err), 0);
		ck_assert_int_eq(read_row_by_row(&ref, a, "AB", &err), 0);
		ck_assert_int_eq(read_row_by_row(&ref, b, "AB", &err), 0);
		ck_assert_int_gt(ref.rows_out_of_order, 0);
		ck_assert_int_gt(ref.rows_other_experiment, 0);
		ck_assert_int_gt(ref.rows_other_arm, 0);
		static const size_t blocks[] = { 0, 97, 4096 };
		for (int t = 1; t <= 4; t++)
			for (size_t k = 0; k < sizeof(blocks) / sizeof(*blocks); k++) {
				botify_ab ab = {0};
				char what[64];
				tu_fmt(what, sizeof(what), "%s, %d threads, blocks of %zu",
				       gz == 2 ? "gzip members" : gz ? "gzip" : "plain", t, blocks[k]);
				ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
				ab.threads = t;
				ab.read_block = blocks[k];
				ck_assert_msg(botify_ab_read_log(&ab, a, "AB", -1, NULL, NULL, &err) == 0, "%s", err.msg);
				ck_assert_msg(botify_ab_read_log(&ab, b, "AB", -1, NULL, NULL, &err) == 0, "%s", err.msg);
				same_ab(&ref, &ab, what);
				botify_ab_free(&ab);
			}
		botify_ab_free(&ref);
	}
	free(la);
	free(lb);
}
END_TEST

/*
 * A log of sessions whose rows come together, as simulate writes them (a
 * reading thread keeps such a session's open rows aside until another
 * unit comes): runs of 1 to 40 rows of one user, some closed by their
 * "last" and some left open and taken up by a later run, rows earlier than
 * the row before them, and "last" rows earlier than some open rows (which
 * stay open), so that runs start with open rows of their own and closes
 * leave rows behind.
 */
static char *session_runs_log(uint64_t seed, int rows)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	uint64_t x = seed;
	int64_t clock = BOTIFY_TIMESTAMP_BASE;
	for (int i = 0; i < rows;) {
		x = x * 6364136223846793005u + 1442695040888963407u;
		unsigned r = (unsigned)(x >> 33);
		int user = (int)(r % 300), run = 1 + (int)((r >> 9) % 40), closes = (r >> 15) % 4 != 0;
		const char *arm = user % 2 ? "T1" : "C";
		for (int j = 0; j < run && i < rows; j++, i++) {
			x = x * 6364136223846793005u + 1442695040888963407u;
			unsigned q = (unsigned)(x >> 33);
			clock += 10;
			int64_t t = clock - ((q >> 3) % 7 == 0 ? 35 : 0); /* now and then out of order */
			int last = closes && j == run - 1;
			double time = (double)(q % 101) / 100, lat = (double)((q >> 7) % 977) / 1e6;
			if (last)
				fprintf(f, "{\"message\": \"last\", \"timestamp\": %lld, \"user\": %d, \"track\": 3, "
					"\"time\": %g, \"latency\": %g, \"experiments\": {\"AB\": \"%s\"}}\n",
					(long long)(t - ((q >> 11) % 3 == 0 ? 25 : 0)), user, time, lat, arm);
			else
				fprintf(f, "{\"message\": \"next\", \"timestamp\": %lld, \"user\": %d, \"track\": 3, "
					"\"time\": %g, \"latency\": %g, \"recommendation\": 4, "
					"\"experiments\": {\"AB\": \"%s\"}}\n", (long long)t, user, time, lat, arm);
		}
	}
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

START_TEST(threads_read_session_runs_exactly_as_row_by_row)
{
	char path[4096];
	char *text = session_runs_log(7, 20000);
	tu_fmt(path, sizeof(path), "%s/runs.jsonl", tu_tmp);
	tu_write(path, text, 0);
	botify_ab ref = {0};
	botify_err err = {0};
	ck_assert_int_eq(botify_ab_init(&ref, &err), 0);
	ck_assert_int_eq(read_row_by_row(&ref, path, "AB", &err), 0);
	ck_assert_int_gt(ref.rows_out_of_order, 0);
	size_t open_rows = 0;
	for (int i = 0; i < 2; i++) {
		botify_ab_result res;
		botify_ab_arms(&ref, &res);
		open_rows += (size_t)res.arm[i].unfinished_rows;
	}
	ck_assert_uint_gt(open_rows, 0);
	static const size_t blocks[] = { 0, 500, 65536 };
	for (int t = 1; t <= 3; t++)
		for (size_t k = 0; k < sizeof(blocks) / sizeof(*blocks); k++) {
			botify_ab ab = {0};
			char what[64];
			tu_fmt(what, sizeof(what), "session runs, %d threads, blocks of %zu", t, blocks[k]);
			ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
			ab.threads = t;
			ab.read_block = blocks[k];
			ck_assert_msg(botify_ab_read_log(&ab, path, "AB", -1, NULL, NULL, &err) == 0, "%s", err.msg);
			same_ab(&ref, &ab, what);
			botify_ab_free(&ab);
		}
	botify_ab_free(&ref);
	free(text);
}
END_TEST

/* Sessions of users [from, to), a few rows each, some left open. */
static char *users_log(int from, int to, uint64_t seed)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	uint64_t x = seed;
	int64_t clock = BOTIFY_TIMESTAMP_BASE + (int64_t)seed * 1000000;
	for (int user = from; user < to; user++) {
		x = x * 6364136223846793005u + 1442695040888963407u;
		unsigned r = (unsigned)(x >> 33);
		int rows = 1 + (int)(r % 4), closes = (r >> 5) % 5 != 0;
		for (int j = 0; j < rows; j++) {
			clock += 7;
			fprintf(f, "{\"message\": \"%s\", \"timestamp\": %lld, \"user\": %d, \"track\": 3, "
				"\"time\": %g, \"latency\": %g, \"experiments\": {\"AB\": \"%s\"}}\n",
				closes && j == rows - 1 ? "last" : "next", (long long)clock, user,
				(double)((r >> (j + 8)) % 97) / 96, (double)((r >> j) % 89) / 1e5,
				(user + j) % 3 ? "T1" : "C");
		}
	}
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

/* The units of each file go into a table that already holds units, and
 * make it grow: the slots of the old and the new units, the counts at
 * which it grows, must be a row-by-row reader's. */
START_TEST(threads_add_new_users_to_a_table_as_row_by_row)
{
	static const int range[][2] = { { 0, 700 }, { 500, 3000 }, { 0, 3100 }, { 9000, 9001 } };
	enum { FILES = sizeof(range) / sizeof(range[0]) };
	char path[FILES][4096];
	botify_ab ref = {0};
	botify_err err = {0};
	ck_assert_int_eq(botify_ab_init(&ref, &err), 0);
	for (int i = 0; i < FILES; i++) {
		char *text = users_log(range[i][0], range[i][1], (uint64_t)i + 1);
		tu_fmt(path[i], sizeof(path[i]), "%s/users%d.jsonl", tu_tmp, i);
		tu_write(path[i], text, 0);
		free(text);
		ck_assert_int_eq(read_row_by_row(&ref, path[i], "AB", &err), 0);
	}
	ck_assert_uint_gt(ref.cap, 4096);
	static const size_t blocks[] = { 0, 300 };
	for (int t = 1; t <= 4; t++)
		for (size_t k = 0; k < sizeof(blocks) / sizeof(*blocks); k++) {
			botify_ab ab = {0};
			char what[64];
			tu_fmt(what, sizeof(what), "new users, %d threads, blocks of %zu", t, blocks[k]);
			ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
			ab.threads = t;
			ab.read_block = blocks[k];
			for (int i = 0; i < FILES; i++)
				ck_assert_msg(botify_ab_read_log(&ab, path[i], "AB", -1, NULL, NULL, &err) == 0, "%s",
					      err.msg);
			same_ab(&ref, &ab, what);
			botify_ab_free(&ab);
		}
	botify_ab_free(&ref);
}
END_TEST

START_TEST(threads_report_the_first_bad_row_as_row_by_row)
{
	char *text = awkward_log(3, 2000), path[4096];
	/* a bad row two thirds in: an unquoted word where a number goes */
	char *at = text + strlen(text) * 2 / 3;
	at = strchr(at, '\n') + 1;
	char *bad = strstr(at, "\"track\": 3");
	ck_assert_ptr_nonnull(bad);
	memcpy(bad, "\"track\": x", 10);
	for (int gz = 0; gz < 2; gz++) {
		tu_fmt(path, sizeof(path), "%s/bad.jsonl%s", tu_tmp, gz ? ".gz" : "");
		tu_write(path, text, gz);
		botify_err want = threads_fail_as_row_by_row(path, 4, 211, FAIL_SAME_CODE | FAIL_NO_ROWS);
		ck_assert_ptr_nonnull(strstr(want.msg, "malformed JSON"));
	}
	free(text);
}
END_TEST

/* A bad row, and damage after it: the row is met first, although a
 * thread inflating ahead of the parsing threads meets the damage first. */
START_TEST(threads_report_a_bad_row_before_gzip_damage_as_row_by_row)
{
	char *text = awkward_log(5, 6000), path[4096];
	char *bad = strstr(strchr(text + strlen(text) / 4, '\n') + 1, "\"track\": 3");
	ck_assert_ptr_nonnull(bad);
	memcpy(bad, "\"track\": x", 10);
	tu_fmt(path, sizeof(path), "%s/bad-cut.jsonl.gz", tu_tmp);
	for (int members = 0; members < 2; members++) {
		if (members)
			write_members(path, text);
		else
			tu_write(path, text, 1);
		size_t n;
		char *gz = slurp_raw(path, &n);
		FILE *f = fopen(path, "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(gz, 1, n * 9 / 10, f), n * 9 / 10);
		ck_assert_int_eq(fclose(f), 0);
		free(gz);
		botify_err want = threads_fail_as_row_by_row(path, 3, 300, FAIL_NO_ROWS);
		ck_assert_ptr_nonnull(strstr(want.msg, "malformed JSON"));
	}
	free(text);
}
END_TEST

START_TEST(threads_report_damaged_gzip_as_row_by_row)
{
	char *text = awkward_log(4, 4000), path[4096];
	tu_fmt(path, sizeof(path), "%s/cut.jsonl.gz", tu_tmp);
	tu_write(path, text, 1);
	size_t n;
	char *gz = slurp_raw(path, &n);
	for (int cut = 0; cut < 3; cut++) {
		FILE *f = fopen(path, "wb");
		ck_assert_ptr_nonnull(f);
		if (cut == 0) { /* truncated */
			ck_assert_uint_eq(fwrite(gz, 1, n / 2, f), n / 2);
		} else if (cut == 1) { /* bytes flipped in the middle */
			gz[n / 2] ^= 0x55;
			gz[n / 2 + 1] ^= 0x55;
			ck_assert_uint_eq(fwrite(gz, 1, n, f), n);
		} else { /* data appended */
			gz[n / 2] ^= 0x55;
			gz[n / 2 + 1] ^= 0x55;
			ck_assert_uint_eq(fwrite(gz, 1, n, f), n);
			fputs("trailing", f);
		}
		ck_assert_int_eq(fclose(f), 0);
		threads_fail_as_row_by_row(path, 3, 1000, 0);
	}
	free(gz);
	free(text);
}
END_TEST

/* The ranks of a job as threads of this process: botify_ab_comm over
 * shared memory, each collective between two barriers. */
enum { V_MAX_RANKS = 4 };

struct vnet {
	int size;
	pthread_barrier_t bar;
	void *slot[V_MAX_RANKS];
	const size_t *counts[V_MAX_RANKS];
};

struct vrank {
	struct vnet *net;
	botify_ab_comm comm;
	botify_ab ab;
	const botify_ab_log *logs;
	int n_logs, rc, agreed;
	botify_err err;
};

static int v_allgather(void *ctx, void *buf, size_t bytes, botify_err *err)
{
	struct vrank *v = ctx;
	struct vnet *n = v->net;
	(void)err;
	n->slot[v->comm.rank] = buf;
	pthread_barrier_wait(&n->bar);
	for (int r = 0; r < n->size; r++)
		if (r != v->comm.rank)
			memcpy((char *)buf + r * bytes, (char *)n->slot[r] + r * bytes, bytes);
	pthread_barrier_wait(&n->bar);
	return 0;
}

static int v_alltoallv(void *ctx, const void *send, const size_t *send_n, size_t unit, void **recv,
		       size_t *recv_n, botify_err *err)
{
	struct vrank *v = ctx;
	struct vnet *n = v->net;
	int me = v->comm.rank;
	(void)err;
	n->slot[me] = (void *)send;
	n->counts[me] = send_n;
	pthread_barrier_wait(&n->bar);
	size_t total = 0;
	for (int s = 0; s < n->size; s++)
		total += n->counts[s][me];
	*recv = malloc(total ? total * unit : 1);
	ck_assert_ptr_nonnull(*recv);
	size_t at = 0;
	for (int s = 0; s < n->size; s++) {
		size_t off = 0;
		for (int d = 0; d < me; d++)
			off += n->counts[s][d];
		memcpy((char *)*recv + at * unit, (const char *)n->slot[s] + off * unit, n->counts[s][me] * unit);
		recv_n[s] = n->counts[s][me];
		at += recv_n[s];
	}
	pthread_barrier_wait(&n->bar);
	return 0;
}

static int v_bcast(void *ctx, void *buf, size_t bytes, int root, botify_err *err)
{
	struct vrank *v = ctx;
	struct vnet *n = v->net;
	(void)err;
	if (v->comm.rank == root)
		n->slot[root] = buf;
	pthread_barrier_wait(&n->bar);
	if (v->comm.rank != root)
		memcpy(buf, n->slot[root], bytes);
	pthread_barrier_wait(&n->bar);
	return 0;
}

static void *v_read(void *arg)
{
	struct vrank *v = arg;
	v->rc = botify_ab_read_logs_dist(&v->ab, v->logs, v->n_logs, &v->comm, NULL, NULL, &v->agreed,
					 &v->err);
	return NULL;
}

/* logs read on `ranks` virtual ranks of `threads` threads each, blocks of
 * `block` bytes per thread; v[0..ranks) hold each rank's outcome (free
 * their ab). */
static void read_on_ranks(struct vrank *v, int ranks, int threads, size_t block,
			  const botify_ab_log *logs, int n_logs)
{
	static struct vnet net;
	pthread_t tid[V_MAX_RANKS];
	net.size = ranks;
	ck_assert_int_eq(pthread_barrier_init(&net.bar, NULL, (unsigned)ranks), 0);
	for (int r = 0; r < ranks; r++) {
		botify_err err = {0};
		memset(&v[r], 0, sizeof(v[r]));
		ck_assert_int_eq(botify_ab_init(&v[r].ab, &err), 0);
		v[r].ab.threads = threads;
		v[r].ab.read_block = block;
		v[r].net = &net;
		v[r].logs = logs;
		v[r].n_logs = n_logs;
		v[r].comm = (botify_ab_comm){ r, ranks, &v[r], v_allgather, v_alltoallv, v_bcast };
	}
	for (int r = 0; r < ranks; r++)
		ck_assert_int_eq(pthread_create(&tid[r], NULL, v_read, &v[r]), 0);
	for (int r = 0; r < ranks; r++)
		pthread_join(tid[r], NULL);
	pthread_barrier_destroy(&net.bar);
}

START_TEST(ranks_read_exactly_as_one_process)
{
	char a[4096], b[4096];
	char *la = awkward_log(5, 6000), *lb = awkward_log(6, 4000);
	/* plain, gzip of one member, gzip of several; and a plain file after a gzip one */
	for (int gz = 0; gz < 4; gz++) {
		tu_fmt(a, sizeof(a), "%s/a.jsonl%s", tu_tmp, gz && gz < 3 ? ".gz" : "");
		tu_fmt(b, sizeof(b), "%s/b.jsonl%s", tu_tmp, gz == 3 ? ".gz" : gz ? ".gz" : "");
		if (gz == 2) {
			write_members(a, la);
			write_members(b, lb);
		} else {
			tu_write(a, la, gz == 1);
			tu_write(b, lb, gz == 1 || gz == 3);
		}
		botify_ab ref = {0};
		botify_err err = {0};
		ck_assert_int_eq(botify_ab_init(&ref, &err), 0);
		ck_assert_int_eq(read_row_by_row(&ref, a, "AB", &err), 0);
		ck_assert_int_eq(read_row_by_row(&ref, b, "AB", &err), 0);
		botify_ab_log logs[] = { { a, "AB", -1 }, { b, "AB", -1 } };
		/* ranks x threads x bytes per thread and block: 0 (4 MiB) makes a
		 * piece per rank, small blocks many rounds */
		static const struct { int ranks, threads; size_t block; } runs[] = {
			{ 1, 1, 0 }, { 1, 2, 0 }, { 2, 1, 0 }, { 2, 2, 0 }, { 3, 1, 0 }, { 3, 2, 0 },
			{ 4, 1, 0 }, { 4, 2, 0 }, { 2, 1, 4096 }, { 3, 2, 97 }, { 4, 2, 1000 },
		};
		for (size_t k = 0; k < sizeof(runs) / sizeof(*runs); k++) {
			struct vrank v[V_MAX_RANKS];
			int ranks = runs[k].ranks;
			char what[96];
			tu_fmt(what, sizeof(what), "case %d, %d ranks x %d threads, blocks of %zu", gz, ranks,
			       runs[k].threads, runs[k].block);
			read_on_ranks(v, ranks, runs[k].threads, runs[k].block, logs, 2);
			for (int r = 0; r < ranks; r++)
				ck_assert_msg(v[r].rc == 0, "%s: rank %d: %s", what, r, v[r].err.msg);
			same_ab(&ref, &v[0].ab, what);
			for (int r = 1; r < ranks; r++)
				ck_assert_msg(v[r].ab.rows == 0 && v[r].ab.n_units == 0, "%s: rank %d kept rows", what, r);
			for (int r = 0; r < ranks; r++)
				botify_ab_free(&v[r].ab);
		}
		botify_ab_free(&ref);
	}
	/* a whole log as one arm each (--control-log, --treatment-log) */
	tu_fmt(a, sizeof(a), "%s/a.jsonl", tu_tmp);
	tu_write(a, la, 0);
	botify_ab ref = {0};
	botify_err err = {0};
	ck_assert_int_eq(botify_ab_init(&ref, &err), 0);
	ref.threads = 2;
	ck_assert_int_eq(botify_ab_read_log(&ref, a, NULL, 0, NULL, NULL, &err), 0);
	ck_assert_int_eq(botify_ab_read_log(&ref, b, NULL, 1, NULL, NULL, &err), 0);
	botify_ab_log arms[] = { { a, NULL, 0 }, { b, NULL, 1 } };
	struct vrank v[V_MAX_RANKS];
	read_on_ranks(v, 3, 2, 211, arms, 2);
	ck_assert_msg(v[0].rc == 0, "%s", v[0].err.msg);
	same_ab(&ref, &v[0].ab, "one arm per log");
	for (int r = 0; r < 3; r++)
		botify_ab_free(&v[r].ab);
	botify_ab_free(&ref);
	free(la);
	free(lb);
}
END_TEST

struct feeder {
	const char *text;
	int fd;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	size_t n = strlen(f->text), done = 0;
	while (done < n) {
		ssize_t w = write(f->fd, f->text + done, n - done);
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	close(f->fd);
	return NULL;
}

/* Standard input becomes a pipe that a thread fills with text. */
static pthread_t feed_stdin(struct feeder *f, const char *text)
{
	int p[2];
	pthread_t tid;
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[0], 0), 0);
	close(p[0]);
	f->text = text;
	f->fd = p[1];
	ck_assert_int_eq(pthread_create(&tid, NULL, feed, f), 0);
	return tid;
}

START_TEST(ranks_read_stdin_in_log_order)
{
	/* gzip on rank 0, standard input on rank 0 too, so the plain file's
	 * pieces start on rank 1: its round's log order is not rank order */
	char a[4096], b[4096];
	char *la = awkward_log(10, 3000), *lm = awkward_log(11, 3000), *lb = awkward_log(12, 3000);
	tu_fmt(a, sizeof(a), "%s/a.jsonl.gz", tu_tmp);
	tu_fmt(b, sizeof(b), "%s/b.jsonl", tu_tmp);
	tu_write(a, la, 1);
	tu_write(b, lb, 0);
	botify_ab ref = {0};
	botify_err err = {0};
	struct feeder f;
	ck_assert_int_eq(botify_ab_init(&ref, &err), 0);
	ck_assert_int_eq(read_row_by_row(&ref, a, "AB", &err), 0);
	pthread_t tid = feed_stdin(&f, lm);
	ck_assert_int_eq(read_row_by_row(&ref, "-", "AB", &err), 0);
	pthread_join(tid, NULL);
	ck_assert_int_eq(read_row_by_row(&ref, b, "AB", &err), 0);
	botify_ab_log logs[] = { { a, "AB", -1 }, { "-", "AB", -1 }, { b, "AB", -1 } };
	for (int ranks = 2; ranks <= V_MAX_RANKS; ranks++) {
		struct vrank v[V_MAX_RANKS];
		char what[64];
		tu_fmt(what, sizeof(what), "gzip, stdin, plain on %d ranks", ranks);
		tid = feed_stdin(&f, lm);
		read_on_ranks(v, ranks, 2, 0, logs, 3);
		pthread_join(tid, NULL);
		ck_assert_msg(v[0].rc == 0, "%s: %s", what, v[0].err.msg);
		same_ab(&ref, &v[0].ab, what);
		for (int r = 0; r < ranks; r++)
			botify_ab_free(&v[r].ab);
	}
	botify_ab_free(&ref);
	free(la);
	free(lm);
	free(lb);
}
END_TEST

START_TEST(ranks_report_the_first_error_as_one_process)
{
	char *text = awkward_log(7, 3000), path[4096], good[4096], missing[4096];
	char *at = strchr(text + strlen(text) * 3 / 5, '\n') + 1;
	char *bad = strstr(at, "\"track\": 3");
	ck_assert_ptr_nonnull(bad);
	memcpy(bad, "\"track\": x", 10);
	tu_fmt(good, sizeof(good), "%s/good.jsonl", tu_tmp);
	char *ok = awkward_log(8, 500);
	tu_write(good, ok, 0);
	tu_fmt(missing, sizeof(missing), "%s/missing.jsonl", tu_tmp);
	for (int gz = 0; gz < 2; gz++) {
		tu_fmt(path, sizeof(path), "%s/bad.jsonl%s", tu_tmp, gz ? ".gz" : "");
		tu_write(path, text, gz);
		/* the bad file after a good one (its lines count from 1 again),
		 * then a missing one that is never reached; and a missing one
		 * before the bad file */
		for (int order = 0; order < 2; order++) {
			botify_ab_log logs[3] = { { good, "AB", -1 }, { path, "AB", -1 }, { missing, "AB", -1 } };
			if (order == 1)
				logs[1].path = missing, logs[2].path = path;
			botify_ab ref = {0};
			botify_err want = {0}, err = {0};
			ck_assert_int_eq(botify_ab_init(&ref, &err), 0);
			ref.threads = 2;
			int rc = 0;
			for (int i = 0; i < 3 && rc == 0; i++)
				rc = botify_ab_read_log(&ref, logs[i].path, "AB", -1, NULL, NULL, &want);
			ck_assert_int_eq(rc, -1);
			ck_assert_ptr_nonnull(strstr(want.msg, order ? "missing.jsonl" : "malformed JSON"));
			botify_ab_free(&ref);
			for (int ranks = 2; ranks <= V_MAX_RANKS; ranks++)
				for (int t = 1; t <= 2; t++) {
					struct vrank v[V_MAX_RANKS];
					read_on_ranks(v, ranks, t, 211, logs, 3);
					for (int r = 0; r < ranks; r++) {
						ck_assert_msg(v[r].rc == -1 && v[r].agreed, "%d ranks: rank %d", ranks, r);
						ck_assert_msg(!strcmp(v[r].err.msg, want.msg) && v[r].err.code == want.code,
							      "%d ranks x %d threads, rank %d: '%s' vs '%s'", ranks, t, r,
							      v[r].err.msg, want.msg);
						botify_ab_free(&v[r].ab);
					}
				}
		}
	}
	free(ok);
	free(text);
}
END_TEST

START_TEST(ranks_report_damaged_gzip_as_one_process)
{
	char *text = awkward_log(9, 3000), path[4096];
	tu_fmt(path, sizeof(path), "%s/cut.jsonl.gz", tu_tmp);
	tu_write(path, text, 1);
	size_t n;
	char *gz = slurp_raw(path, &n);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(gz, 1, n / 2, f), n / 2); /* truncated */
	ck_assert_int_eq(fclose(f), 0);
	botify_ab ref = {0};
	botify_err want = {0}, err = {0};
	ck_assert_int_eq(botify_ab_init(&ref, &err), 0);
	ck_assert_int_eq(read_row_by_row(&ref, path, "AB", &want), -1);
	botify_ab_free(&ref);
	botify_ab_log logs[] = { { path, "AB", -1 } };
	struct vrank v[V_MAX_RANKS];
	read_on_ranks(v, 3, 2, 1000, logs, 1);
	for (int r = 0; r < 3; r++) {
		ck_assert_msg(v[r].rc == -1 && v[r].agreed && !strcmp(v[r].err.msg, want.msg),
			      "rank %d: '%s' vs '%s'", r, v[r].err.msg, want.msg);
		botify_ab_free(&v[r].ab);
	}
	free(gz);
	free(text);
}
END_TEST

Suite *ab_suite(void)
{
	Suite *s = suite_create("ab");
	TCase *tc = tcase_create("ab");
	tcase_add_test(tc, sessions_and_user_metrics);
	tcase_add_test(tc, out_of_order_rows_are_placed_by_timestamp);
	tcase_add_test(tc, users_are_counted_per_arm_and_many_users_grow_the_table);
	tcase_add_test(tc, analysis_errors_name_the_problem);
	tcase_add_test(tc, effects_follow_the_notebook_formulas);
	tcase_add_test(tc, zero_control_mean_leaves_the_effect_undefined);
	tcase_add_test(tc, fast_and_cjson_parsers_agree);
	tcase_add_test(tc, parser_details);
	tcase_add_test(tc, read_log_counts_what_it_leaves_out);
	tcase_add_test(tc, paired_and_delta_intervals);
	tcase_add_test(tc, corrections_decide_significance);
	tcase_add_test(tc, a_whole_log_can_be_one_arm);
	suite_add_tcase(s, tc);
	TCase *rd = tcase_create("read on threads");
	tu_scratch(rd);
	tcase_set_timeout(rd, 60);
	tcase_add_test(rd, threads_read_exactly_as_row_by_row);
	tcase_add_test(rd, threads_read_session_runs_exactly_as_row_by_row);
	tcase_add_test(rd, threads_add_new_users_to_a_table_as_row_by_row);
	tcase_add_test(rd, threads_report_the_first_bad_row_as_row_by_row);
	tcase_add_test(rd, threads_report_a_bad_row_before_gzip_damage_as_row_by_row);
	tcase_add_test(rd, threads_report_damaged_gzip_as_row_by_row);
	tcase_add_test(rd, ranks_read_exactly_as_one_process);
	tcase_add_test(rd, ranks_read_stdin_in_log_order);
	tcase_add_test(rd, ranks_report_the_first_error_as_one_process);
	tcase_add_test(rd, ranks_report_damaged_gzip_as_one_process);
	suite_add_tcase(s, rd);
	return s;
}
