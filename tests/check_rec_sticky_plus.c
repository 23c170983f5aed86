/* check_rec_sticky_plus.c - sticky_plus on the hand-made
 * twelve-track world (rectest.h): likes and dislikes from logs (best
 * listen per user and track, thresholds inclusive, several logs), no
 * replays, the contextual mix, the switch after k misses, errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rectest.h"

static char day1_log[4096], day2_log[4096], recs[4096];
static botify_world W;

/* rows: {user, track, time x 100} */
static void write_log(const char *path, const int (*rows)[3], int n)
{
	char text[8192] = "", line[256];
	for (int i = 0; i < n; i++) {
		tu_fmt(line, sizeof(line),
		       "{\"message\": \"%s\", \"timestamp\": %d, \"user\": %d, \"track\": %d, \"time\": %.2f, "
		       "\"latency\": 0.0, \"recommendation\": %s, \"experiments\": {}}\n",
		       i % 3 == 2 ? "last" : "next", i, rows[i][0], rows[i][1], rows[i][2] / 100.0,
		       i % 3 == 2 ? "null" : "0");
		strcat(text, line);
	}
	tu_write(path, text, 0);
}

static void setup(void)
{
	rt_world_setup(&W);
	/* user 0: 4 and 8 disliked, 5 neutral (best 0.5), 6 and 1 liked;
	 * user 2: 11 disliked at exactly 0.2, 10 liked at exactly 0.8 */
	static const int rows1[][3] = {
		{ 0, 4, 10 }, { 0, 5, 10 }, { 0, 6, 90 }, { 0, 5, 50 }, { 0, 8, 0 },
		{ 0, 1, 85 }, { 2, 11, 20 }, { 2, 10, 80 }, { 1, 3, 50 },
	};
	write_log(tu_path(day1_log, tu_tmp, "day1.jsonl"), rows1, 9);
	static const int rows2[][3] = { { 0, 4, 30 }, { 1, 0, 0 }, { 1, 0, 0 } };
	write_log(tu_path(day2_log, tu_tmp, "day2.jsonl"), rows2, 3);
	tu_write(tu_path(recs, tu_tmp, "tracks_with_recs.json"),
		 "{\"track\": 11, \"recommendations\": [1, 2, 9]}\n"
		 "{\"track\": 5, \"recommendations\": [3]}\n", 0);
}

static void teardown(void)
{
	rt_world_teardown(&W);
}

START_TEST(likes_first_no_dislikes_no_replays)
{
	char spec[8192];
	tu_fmt(spec, sizeof(spec), "sticky_plus:dislikes=%s,mix=0", day1_log);
	botify_rec r;
	rt_create(&r, &W, spec);
	rt_session s;
	rt_begin(&s, &r, 1, 1);
	unsigned seen = 0;
	for (int i = 0; i < 100; i++) {
		/* artist C = {4,5,6,8,10,11}: 10 played, 4 and 8 disliked, 6 liked */
		ck_assert_int_eq(rt_next(&s, 0, 10, 1.0), 6);
		int32_t t = rt_next(&s, 0, 6, 0.9);
		ck_assert_msg(RT_MASK(5, 11) >> t & 1, "picked %d", t);
		seen |= 1u << t;
		int32_t other = t == 5 ? 11 : 5;
		ck_assert_int_eq(rt_next(&s, 0, t, 0.9), other);
		/* C is used up: no recs=, so the user's liked tracks (1) */
		ck_assert_int_eq(rt_next(&s, 0, other, 0.9), 1);
		rt_last(&s, 0, 1, 0.9);
	}
	ck_assert_uint_eq(seen, RT_MASK(5, 11));
	/* a user the log does not know: C but the start */
	seen = 0;
	for (int i = 0; i < 200; i++) {
		seen |= 1u << rt_next(&s, 1, 10, 1.0);
		rt_last(&s, 1, 10, 1.0);
	}
	ck_assert_uint_eq(seen, RT_MASK(4, 5, 6, 8, 11));
	/* thresholds are inclusive: user 2 disliked 11 at 0.2; 10 (liked at
	 * 0.8) is the start, so it is not replayed */
	seen = 0;
	for (int i = 0; i < 200; i++) {
		seen |= 1u << rt_next(&s, 2, 10, 1.0);
		rt_last(&s, 2, 10, 1.0);
	}
	ck_assert_uint_eq(seen, RT_MASK(4, 5, 6, 8));
	rt_end(&s);
	botify_rec_free(&r);
}
END_TEST

START_TEST(several_logs_keep_the_best_listen)
{
	char spec[8192];
	tu_fmt(spec, sizeof(spec), "sticky_plus:dislikes='%s,%s',mix=0", day1_log, day2_log);
	botify_rec r;
	rt_create(&r, &W, spec);
	rt_session s;
	rt_begin(&s, &r, 2, 0);
	unsigned seen = 0;
	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(rt_next(&s, 0, 10, 1.0), 6);
		/* day2 lifts track 4 to 0.3: no longer disliked */
		seen |= 1u << rt_next(&s, 0, 6, 0.9);
		rt_last(&s, 0, 6, 0.9);
	}
	ck_assert_uint_eq(seen, RT_MASK(4, 5, 11));
	rt_end(&s);
	botify_rec_free(&r);
}
END_TEST

/* The uniform fallback after a few random draws must still skip dislikes:
 * a user who disliked all but one track gets that track every time. */
START_TEST(a_user_who_dislikes_nearly_everything)
{
	int rows[11][3];
	for (int t = 0, i = 0; t < 12; t++)
		if (t != 7) {
			rows[i][0] = 1;
			rows[i][1] = t;
			rows[i++][2] = 0;
		}
	char log[4096], spec[8192];
	write_log(tu_path(log, tu_tmp, "hater.jsonl"), (const int (*)[3])rows, 11);
	tu_fmt(spec, sizeof(spec), "sticky_plus:dislikes=%s,mix=1", log);
	botify_rec r;
	rt_create(&r, &W, spec);
	rt_session s;
	rt_begin(&s, &r, 9, 0);
	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(rt_next(&s, 1, i % 7, 1.0), 7);
		rt_last(&s, 1, 7, 1.0);
	}
	rt_end(&s);
	botify_rec_free(&r);
}
END_TEST

START_TEST(k_misses_in_a_row_switch_to_contextual)
{
	char spec[8192];
	tu_fmt(spec, sizeof(spec), "sticky_plus:dislikes=%s,recs=%s,mix=0,k=2,miss=0.2", day1_log, recs);
	botify_rec r;
	rt_create(&r, &W, spec);
	rt_session s;
	rt_begin(&s, &r, 3, 1);
	unsigned C = RT_MASK(4, 5, 6, 8, 10, 11), seen = 0;
	for (int i = 0; i < 100; i++) {
		int32_t t = rt_next(&s, 1, 10, 1.0);
		ck_assert(C >> t & 1);
		/* one miss, then a hit, then one miss: never two in a row */
		ck_assert(C >> rt_next(&s, 1, 11, 0.1) & 1);
		ck_assert(C >> rt_next(&s, 1, 8, 0.2) & 1);
		ck_assert(C >> rt_next(&s, 1, 4, 0.0) & 1);
		/* the second miss in a row: contextual (11's list) for good */
		t = rt_next(&s, 1, 11, 0.19);
		ck_assert_msg(RT_MASK(1, 2, 9) >> t & 1, "picked %d", t);
		seen |= 1u << t;
		ck_assert_int_eq(rt_next(&s, 1, 5, 1.0), 3);
		rt_last(&s, 1, 3, 1.0);
	}
	ck_assert_uint_eq(seen, RT_MASK(1, 2, 9));
	rt_end(&s);
	botify_rec_free(&r);
}
END_TEST

START_TEST(mix_one_is_contextual_without_replays)
{
	char spec[8192];
	tu_fmt(spec, sizeof(spec), "sticky_plus:dislikes=%s,recs=%s,mix=1", day1_log, recs);
	botify_rec r;
	rt_create(&r, &W, spec);
	rt_session s;
	rt_begin(&s, &r, 4, 0);
	for (int i = 0; i < 100; i++) {
		/* user 0 liked 1: preferred in 11's list */
		ck_assert_int_eq(rt_next(&s, 0, 11, 1.0), 1);
		int32_t t = rt_next(&s, 0, 1, 0.9); /* 1 has no list: liked (6) */
		ck_assert_int_eq(t, 6);
		/* 11's list again: 1 is played, so 2 or 9 */
		t = rt_next(&s, 0, 11, 0.9);
		ck_assert_msg(RT_MASK(2, 9) >> t & 1, "picked %d", t);
		rt_last(&s, 0, t, 0.9);
	}
	rt_end(&s);
	botify_rec_free(&r);
}
END_TEST

START_TEST(spec_and_log_errors)
{
	char spec[8192], bad[4096];
	rt_create_fails(&W, "sticky_plus", "needs dislikes=LOG");
	tu_fmt(spec, sizeof(spec), "sticky_plus:dislikes=%s/missing.jsonl", tu_tmp);
	rt_create_fails(&W, spec, "missing.jsonl");
	static const int users[][3] = { { 0, 1, 50 }, { 7, 1, 50 } };
	write_log(tu_path(bad, tu_tmp, "bad_user.jsonl"), users, 2);
	tu_fmt(spec, sizeof(spec), "sticky_plus:dislikes=%s", bad);
	rt_create_fails(&W, spec, "bad_user.jsonl:2: user 7 out of range (the world has 3 users)");
	static const int tracks[][3] = { { 0, 12, 50 } };
	write_log(tu_path(bad, tu_tmp, "bad_track.jsonl"), tracks, 1);
	tu_fmt(spec, sizeof(spec), "sticky_plus:dislikes=%s", bad);
	rt_create_fails(&W, spec, "bad_track.jsonl:1: track 12 out of range");
	tu_fmt(spec, sizeof(spec), "sticky_plus:dislikes='%s,'", day1_log);
	rt_create_fails(&W, spec, "empty file name");
	tu_fmt(spec, sizeof(spec), "sticky_plus:dislikes=%s,k=0", day1_log);
	rt_create_fails(&W, spec, "sticky_plus: k=0: out of range");
	tu_fmt(spec, sizeof(spec), "sticky_plus:dislikes=%s,mix=2", day1_log);
	rt_create_fails(&W, spec, "mix=2: out of range");
	tu_fmt(spec, sizeof(spec), "sticky_plus:dislikes=%s,recs=%s/none.json", day1_log, tu_tmp);
	rt_create_fails(&W, spec, "none.json");
}
END_TEST

Suite *rec_sticky_plus_suite(void)
{
	Suite *s = suite_create("rec_sticky_plus");
	TCase *tc = tcase_create("policy");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, likes_first_no_dislikes_no_replays);
	tcase_add_test(tc, several_logs_keep_the_best_listen);
	tcase_add_test(tc, k_misses_in_a_row_switch_to_contextual);
	tcase_add_test(tc, a_user_who_dislikes_nearly_everything);
	tcase_add_test(tc, mix_one_is_contextual_without_replays);
	tcase_add_test(tc, spec_and_log_errors);
	suite_add_tcase(s, tc);
	return s;
}
