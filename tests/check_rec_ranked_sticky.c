/* check_rec_ranked_sticky.c - ranked_sticky on the hand-made
 * twelve-track world (rectest.h): the ranked list in order, abandonment,
 * the artist statistics and their tie rule, the contextual fallback,
 * users= lists, plain-bytes state, errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "npy.h"
#include "rectest.h"
#include "twotower.h"
#include "twotower_io.h"

static char model[4096], recs[4096], users[4096];
static botify_world W;

/* A sum model with E = 1: score(u, s, t) = (start[s] + user[u]) * track[t]
 * with start 0, track[t] = t + 1, user 0 -> +1 (ids descending), user 1 ->
 * -1 (ids ascending); user 2 has no pairs (the mean user: 0, ties by id). */
static void write_model(const char *dir)
{
	botify_tt m = {0};
	botify_err err = {0};
	botify_tt_config c = { BOTIFY_ARCH_SUM, W.U, W.N, W.A, 1, 1, 1, 0 };
	ck_assert_int_eq(botify_tt_init(&m, &c, 1, &err), 0);
	for (int t = 0; t < W.N; t++) {
		m.params.start_emb[t] = 0.0f;
		m.params.track_emb[t] = (float)(t + 1);
	}
	m.params.user_emb[0] = 1.0f;
	m.params.user_emb[1] = -1.0f;
	m.user_pairs[0] = m.user_pairs[1] = 1;
	m.params.user_emb[2] = 5.0f; /* not trained: must not be used */
	botify_tt_update_user_mean(&m);
	m.catalog_hash = botify_tt_catalog_hash(W.artist, W.N, W.A);
	ck_assert_msg(botify_tt_save(&m, dir, 0, NULL, NULL, &err) == 0, "%s", err.msg);
	botify_tt_free(&m);
}

static void setup(void)
{
	rt_world_setup(&W);
	tu_path(model, tu_tmp, "model");
	write_model(model);
	tu_write(tu_path(recs, tu_tmp, "tracks_with_recs.json"),
		 "{\"track\": 9, \"recommendations\": [1, 2]}\n"
		 "{\"track\": 4, \"recommendations\": [3]}\n", 0);
	tu_write(tu_path(users, tu_tmp, "recommendations.json"),
		 "{\"user\": 0, \"tracks\": [5, 3, 9, 3]}\n{\"user\": 1, \"tracks\": []}\n", 0);
}

static void teardown(void)
{
	rt_world_teardown(&W);
}

static void spec_of(char *spec, const char *extra)
{
	tu_fmt(spec, 8192, "ranked_sticky:model=%s,recs=%s%s", model, recs, extra);
}

START_TEST(serves_the_model_list_in_rank_order)
{
	char spec[8192];
	spec_of(spec, ",k=5");
	botify_rec r;
	rt_create(&r, &W, spec);
	for (int roundtrip = 0; roundtrip <= 1; roundtrip++) {
		rt_session s;
		rt_begin(&s, &r, 1, roundtrip);
		/* user 0: ids descending, the start (10) excluded */
		ck_assert_int_eq(rt_next(&s, 0, 10, 1.0), 11);
		ck_assert_int_eq(rt_next(&s, 0, 11, 0.5), 9);
		/* a call may report a track the list holds further down: skipped later */
		ck_assert_int_eq(rt_next(&s, 0, 7, 0.1), 8);
		ck_assert_int_eq(rt_next(&s, 0, 8, 0.9), 6);
		rt_last(&s, 0, 6, 0.9);
		/* user 1: ids ascending; user 2 (untrained) gets the mean user,
		 * whose scores all tie at 0: ids ascending */
		ck_assert_int_eq(rt_next(&s, 1, 0, 1.0), 1);
		ck_assert_int_eq(rt_next(&s, 1, 1, 1.0), 2);
		rt_last(&s, 1, 2, 1.0);
		ck_assert_int_eq(rt_next(&s, 2, 0, 1.0), 1);
		rt_last(&s, 2, 1, 1.0);
		rt_end(&s);
	}
	botify_rec_free(&r);
}
END_TEST

START_TEST(a_short_listen_abandons_the_list_for_good)
{
	char spec[8192];
	spec_of(spec, ",p=1");
	botify_rec r;
	rt_create(&r, &W, spec);
	rt_session s;
	rt_begin(&s, &r, 2, 1);
	unsigned C = RT_MASK(4, 5, 6, 8, 10, 11);
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(rt_next(&s, 0, 10, 1.0), 11);
		ck_assert_int_eq(rt_next(&s, 0, 11, 0.5), 9);
		/* 9 (artist D) listened 0.05 < t: C has 2 plays, D 1; p = 1 */
		int32_t t = rt_next(&s, 0, 9, 0.05);
		ck_assert_msg(C >> t & 1, "picked %d, not by artist C", t);
		/* a long listen later does not bring the list back */
		t = rt_next(&s, 0, 4, 1.0);
		ck_assert_msg(C >> t & 1, "picked %d after the list was abandoned", t);
		rt_last(&s, 0, t, 1.0);
	}
	rt_end(&s);
	botify_rec_free(&r);
}
END_TEST

START_TEST(artist_ties_go_to_the_first_played)
{
	char spec[8192];
	spec_of(spec, ",p=1");
	botify_rec r;
	rt_create(&r, &W, spec);
	rt_session s;
	rt_begin(&s, &r, 3, 0);
	unsigned A = RT_MASK(0, 3, 7), seen = 0;
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(rt_next(&s, 1, 0, 1.0), 1); /* start 0: artist A */
		/* 1 (artist B) failed: A 1, B 1: the tie goes to A, played first */
		int32_t t = rt_next(&s, 1, 1, 0.0);
		ck_assert_msg(A >> t & 1, "picked %d", t);
		seen |= 1u << t;
		rt_last(&s, 1, t, 0.0);
	}
	ck_assert_uint_eq(seen, A); /* uniform over the artist's tracks */
	rt_end(&s);
	botify_rec_free(&r);
}
END_TEST

/* More artists than the 32-slot table: the evicted artist's slot must not
 * hand a newcomer an earlier place in the tie order. */
START_TEST(a_full_artist_table_keeps_first_played_order)
{
	/* 40 tracks, one artist each, so track t is artist t */
	char dir[4096], line[128], text[8192] = "", path[4096];
	tu_fmt(dir, sizeof(dir), "%s/wide", tu_tmp);
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	for (int t = 0; t < 40; t++) {
		tu_fmt(line, sizeof(line), "{\"track\": %d, \"artist\": \"a%d\", \"title\": \"t\"}\n",
		       t, t);
		strcat(text, line);
	}
	tu_write_in(dir, "tracks.json", text, 0);
	tu_write_in(dir, "users.json", "{\"user\": 0, \"interests\": [0]}\n", 0);
	tu_write_in(dir, "recommendations.json", "{\"user\": 0, \"tracks\": []}\n", 0);
	tu_write_in(dir, "tracks_with_recs.json", "{\"track\": 0, \"recommendations\": [1]}\n", 0);
	float E[40 * 2] = {0};
	botify_err err = {0};
	ck_assert_int_eq(botify_npy_write(tu_path(path, dir, "tracks.npy"), E, 2, 40, 2, 1, &err), 0);
	botify_world w = {0};
	ck_assert_msg(botify_world_load(&w, dir, &err) == 0, "%s", err.msg);
	char spec[8192];
	tu_fmt(spec, sizeof(spec), "ranked_sticky:users=%s/recommendations.json,recs=%s/tracks_with_recs.json,p=1",
	       dir, dir);
	botify_rec r;
	rt_create(&r, &w, spec);
	rt_session s;
	rt_begin(&s, &r, 5, 1);
	rt_next(&s, 0, 0, 1.0); /* the empty list is abandoned at once */
	for (int a = 1; a < 32; a++) /* artists 0..31 once: the table is full */
		rt_next(&s, 0, a, 1.0);
	for (int a = 0; a < 32; a++) /* all but artist 1 twice */
		if (a != 1)
			rt_next(&s, 0, a, 1.0);
	rt_next(&s, 0, 32, 1.0); /* artist 32 evicts artist 1, the least played */
	for (int i = 0; i < 3; i++)
		rt_next(&s, 0, 5, 1.0); /* artist 5: 5 plays */
	int32_t got = -1;
	for (int i = 0; i < 4; i++)
		got = rt_next(&s, 0, 32, 1.0); /* artist 32: 5 plays, first played later */
	ck_assert_int_eq(got, 5);
	rt_end(&s);
	botify_rec_free(&r);
	botify_world_free(&w);
}
END_TEST

START_TEST(without_p_the_fallback_is_contextual)
{
	char spec[8192];
	spec_of(spec, ",p=0");
	botify_rec r;
	rt_create(&r, &W, spec);
	rt_session s;
	rt_begin(&s, &r, 4, 0);
	unsigned seen9 = 0, seen_other = 0;
	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(rt_next(&s, 0, 10, 1.0), 11);
		ck_assert_int_eq(rt_next(&s, 0, 11, 1.0), 9);
		seen9 |= 1u << rt_next(&s, 0, 9, 0.0);   /* 9's list: [1, 2] */
		ck_assert_int_eq(rt_next(&s, 0, 4, 0.3), 3); /* 4's list: [3] */
		seen_other |= 1u << rt_next(&s, 0, 3, 0.3); /* no list: uniform */
		rt_last(&s, 0, 3, 0.3);
	}
	ck_assert_uint_eq(seen9, RT_MASK(1, 2));
	ck_assert_uint_eq(seen_other, 0xfffu);
	rt_end(&s);
	botify_rec_free(&r);
}
END_TEST

START_TEST(user_lists_in_order_then_the_fallback)
{
	char spec[8192];
	tu_fmt(spec, sizeof(spec), "ranked_sticky:users=%s,recs=%s,p=1,k=3", users, recs);
	botify_rec r;
	rt_create(&r, &W, spec);
	rt_session s;
	rt_begin(&s, &r, 5, 1);
	/* user 0's list [5, 3, 9, ...] capped at k = 3; the start 3 is skipped */
	ck_assert_int_eq(rt_next(&s, 0, 3, 1.0), 5);
	ck_assert_int_eq(rt_next(&s, 0, 5, 0.7), 9);
	/* the list ran out: the most-played artist (A: 3, played first; C: 5;
	 * D: 9 one each) */
	unsigned A = RT_MASK(0, 3, 7);
	int32_t t = rt_next(&s, 0, 9, 0.7);
	ck_assert_msg(A >> t & 1, "picked %d", t);
	rt_last(&s, 0, t, 0.7);
	/* users 1 (empty list) and 2 (no list): the fallback from the start;
	 * their start's artist is the only one played */
	unsigned C = RT_MASK(4, 5, 6, 8, 10, 11);
	for (int64_t u = 1; u <= 2; u++) {
		t = rt_next(&s, u, 6, 1.0);
		ck_assert_msg(C >> t & 1, "user %lld picked %d", (long long)u, t);
		rt_last(&s, u, t, 1.0);
	}
	rt_end(&s);
	botify_rec_free(&r);
}
END_TEST

START_TEST(spec_errors)
{
	char spec[8192];
	rt_create_fails(&W, "ranked_sticky", "give model=DIR");
	tu_fmt(spec, sizeof(spec), "ranked_sticky:model=%s,users=%s,recs=%s", model, users, recs);
	rt_create_fails(&W, spec, "one of them");
	tu_fmt(spec, sizeof(spec), "ranked_sticky:model=%s", model);
	rt_create_fails(&W, spec, "needs recs=");
	spec_of(spec, ",t=1.5");
	rt_create_fails(&W, spec, "ranked_sticky: t=1.5: out of range");
	spec_of(spec, ",p=x");
	rt_create_fails(&W, spec, "p=x: expected a number");
	spec_of(spec, ",k=12");
	rt_create_fails(&W, spec, "k=12: out of range");
	tu_fmt(spec, sizeof(spec), "ranked_sticky:model=%s/nowhere,recs=%s", tu_tmp, recs);
	rt_create_fails(&W, spec, "nowhere");
	tu_fmt(spec, sizeof(spec), "ranked_sticky:users=%s,recs=%s/none.json", users, tu_tmp);
	rt_create_fails(&W, spec, "none.json");
}
END_TEST

Suite *rec_ranked_sticky_suite(void)
{
	Suite *s = suite_create("rec_ranked_sticky");
	TCase *tc = tcase_create("policy");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, serves_the_model_list_in_rank_order);
	tcase_add_test(tc, a_short_listen_abandons_the_list_for_good);
	tcase_add_test(tc, artist_ties_go_to_the_first_played);
	tcase_add_test(tc, a_full_artist_table_keeps_first_played_order);
	tcase_add_test(tc, without_p_the_fallback_is_contextual);
	tcase_add_test(tc, user_lists_in_order_then_the_fallback);
	tcase_add_test(tc, spec_errors);
	suite_add_tcase(s, tc);
	return s;
}
