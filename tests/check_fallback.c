/* check_fallback.c - fallback= chains of indexed and contextual on the
 * hand-made twelve-track world (rectest.h): who answers when, the child's
 * state inside the parent's, errors that name the chain. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rectest.h"

static char recs[4096], users[4096], day1_log[4096];
static botify_world W;

static void setup(void)
{
	rt_world_setup(&W);
	tu_write(tu_path(recs, tu_tmp, "tracks_with_recs.json"),
		 "{\"track\": 0, \"recommendations\": [1, 2]}\n"
		 "{\"track\": 5, \"recommendations\": []}\n", 0);
	tu_write(tu_path(users, tu_tmp, "recommendations.json"),
		 "{\"user\": 0, \"tracks\": [7, 8]}\n", 0);
	tu_write(tu_path(day1_log, tu_tmp, "log.jsonl"),
		 "{\"message\": \"next\", \"timestamp\": 1, \"user\": 1, \"track\": 4, \"time\": 0.1, \"latency\": 0}\n",
		 0);
}

static void teardown(void)
{
	rt_world_teardown(&W);
}

/* the tracks r picks for (user, track) over n sessions of one call */
static unsigned support(const botify_rec *r, int64_t user, int32_t track, int n)
{
	rt_session s;
	rt_begin(&s, r, 7, 1);
	unsigned seen = 0;
	for (int i = 0; i < n; i++) {
		seen |= 1u << rt_next(&s, user, track, 1.0);
		rt_last(&s, user, track, 1.0);
	}
	rt_end(&s);
	return seen;
}

START_TEST(contextual_then_indexed_then_toppop)
{
	char spec[8192];
	tu_fmt(spec, sizeof(spec), "contextual:file=%s,fallback=\"indexed:file=%s,fallback='toppop:k=2'\"",
	       recs, users);
	botify_rec r;
	rt_create(&r, &W, spec);
	ck_assert_uint_eq(r.state_size, 0);
	ck_assert_uint_eq(support(&r, 0, 0, 100), RT_MASK(1, 2));  /* the track's list */
	ck_assert_uint_eq(support(&r, 0, 5, 100), RT_MASK(7, 8));  /* empty list: the user's */
	ck_assert_uint_eq(support(&r, 0, 9, 100), RT_MASK(7, 8));  /* no line: the user's */
	ck_assert_uint_eq(support(&r, 1, 9, 100), RT_MASK(5, 3));  /* no user list: top 2 */
	botify_rec_free(&r);
	/* without fallback=: a uniform track, as before */
	tu_fmt(spec, sizeof(spec), "indexed:file=%s", users);
	rt_create(&r, &W, spec);
	ck_assert_uint_eq(support(&r, 2, 9, 400), 0xfffu);
	botify_rec_free(&r);
}
END_TEST

/* A stateful child keeps its state inside the parent's and gets the last
 * call (rt_last checks every byte was cleared). */
START_TEST(a_stateful_child_lives_in_the_parents_state)
{
	char spec[8192], child[4200];
	tu_fmt(child, sizeof(child), "sticky_plus:dislikes=%s,mix=0", day1_log);
	tu_fmt(spec, sizeof(spec), "indexed:file=%s,fallback='%s'", users, child);
	botify_rec r, c;
	rt_create(&r, &W, spec);
	rt_create(&c, &W, child);
	ck_assert_uint_gt(c.state_size, 0);
	ck_assert_uint_eq(r.state_size, c.state_size);
	rt_session s;
	rt_begin(&s, &r, 9, 1);
	for (int i = 0; i < 100; i++) {
		/* user 1: sticky_plus on artist C without 10 (played) and 4 (disliked) */
		int32_t t = rt_next(&s, 1, 10, 1.0);
		ck_assert_msg(RT_MASK(5, 6, 8, 11) >> t & 1, "picked %d", t);
		int32_t u = rt_next(&s, 1, t, 1.0);
		ck_assert_msg(RT_MASK(5, 6, 8, 11) >> u & 1, "picked %d", u);
		ck_assert_int_ne(u, t); /* the child remembers the session */
		rt_last(&s, 1, u, 1.0);
		/* user 0 has a list: the child is not asked */
		ck_assert(RT_MASK(7, 8) >> rt_next(&s, 0, 10, 1.0) & 1);
		rt_last(&s, 0, 7, 1.0);
	}
	rt_end(&s);
	botify_rec_free(&r);
	botify_rec_free(&c);
}
END_TEST

START_TEST(errors_name_the_chain)
{
	char spec[8192];
	tu_fmt(spec, sizeof(spec), "contextual:file=%s,fallback=nosuch", recs);
	rt_create_fails(&W, spec, "contextual: fallback: unknown recommender 'nosuch'");
	tu_fmt(spec, sizeof(spec), "contextual:file=%s,fallback='indexed:file=%s/none.json'", recs, tu_tmp);
	rt_create_fails(&W, spec, "contextual: fallback: indexed: ");
	rt_create_fails(&W, spec, "none.json");
	tu_fmt(spec, sizeof(spec), "indexed:file=%s,fallback='toppop:k=0'", users);
	rt_create_fails(&W, spec, "indexed: fallback: toppop: k=0");
}
END_TEST

Suite *fallback_suite(void)
{
	Suite *s = suite_create("fallback");
	TCase *tc = tcase_create("chains");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, contextual_then_indexed_then_toppop);
	tcase_add_test(tc, a_stateful_child_lives_in_the_parents_state);
	tcase_add_test(tc, errors_name_the_chain);
	suite_add_tcase(s, tc);
	return s;
}
