/* check_rec_sticky_artist.c - sticky_artist's no_replay option on the
 * hand-made twelve-track world (rectest.h): no track played in the session
 * while the artist has an unplayed one, uniform among those, the plain
 * policy once the artist is used up or the track is unknown, state cleared
 * at the last call, and no_replay=0 draw for draw the plain policy. */
#include <check.h>
#include <stdio.h>

#include "rectest.h"

static char root[64], tmp[128];
static botify_world W;

static const int32_t C_TRACKS[] = { 4, 5, 6, 8, 10, 11 };

static void root_setup(void)
{
	tu_mkdtemp(root, sizeof(root), "sa");
}

static void root_teardown(void)
{
	tu_rm_rf(root);
}

static void setup(void)
{
	tu_mkdtemp_in(tmp, sizeof(tmp), root);
	rt_write_world(tmp);
	botify_err err = {0};
	ck_assert_msg(botify_world_load(&W, tmp, &err) == 0, "%s", err.msg);
}

static void teardown(void)
{
	botify_world_free(&W);
	tu_rm_rf(tmp);
}

/* A caller allowing 16 calls a session: a small state, as rt_last checks
 * every byte of it (an assertion each) after every session. */
static void create16(botify_rec *r, const char *spec)
{
	botify_rec_env env = { .world = &W, .max_steps = 16 };
	botify_err err = {0};
	ck_assert_msg(botify_rec_create(r, spec, &env, &err) == 0, "%s: %s", spec, err.msg);
}

/* Artist C has six tracks: a session that starts on one of them gets the
 * other five, each once, in a uniform order; only then a replay (any of
 * the six), as the plain policy would pick. With and without moving the
 * state between calls (what a service storing it in Redis does). */
START_TEST(no_replay_while_the_artist_has_unplayed_tracks)
{
	botify_rec r;
	create16(&r, "sticky_artist:no_replay=1");
	ck_assert_uint_gt(r.state_size, 0);
	rt_session s;
	rt_begin(&s, &r, 3, _i);
	int first[12] = {0}, after[12] = {0};
	for (int i = 0; i < 600; i++) {
		int32_t start = C_TRACKS[i % 6], t = start;
		unsigned played = 1u << start;
		for (int step = 0; step < 5; step++) {
			int32_t next = rt_next(&s, i % 3, t, step ? 0.5 : 1.0);
			ck_assert_msg(RT_MASK(4, 5, 6, 8, 10, 11) >> next & 1, "off the artist: %d", next);
			ck_assert_msg(!(played >> next & 1), "session %d step %d replayed %d", i, step, next);
			if (step == 0 && start == 10)
				first[next]++;
			played |= 1u << next;
			t = next;
		}
		ck_assert_uint_eq(played, RT_MASK(4, 5, 6, 8, 10, 11));
		after[rt_next(&s, i % 3, t, 0.5)]++; /* used up: any of the six */
		rt_last(&s, i % 3, t, 0.5);
	}
	/* uniform among the unplayed: 100 sessions from 10, 20 expected each */
	for (int k = 0; k < 6; k++) {
		int32_t x = C_TRACKS[k];
		if (x == 10)
			ck_assert_int_eq(first[x], 0);
		else
			ck_assert_msg(first[x] >= 6 && first[x] <= 40, "first pick %d: %d of 100", x, first[x]);
		ck_assert_msg(after[x] >= 60 && after[x] <= 145, "replay of %d: %d of 600", x, after[x]);
	}
	rt_end(&s);
	botify_rec_free(&r);
}
END_TEST

/* Played tracks belong to the session: the last call forgets them (rt_last
 * checks the state is zeroed), and a track played under another artist
 * still counts when the session comes back to it. */
START_TEST(played_tracks_are_per_session)
{
	botify_rec r;
	create16(&r, "sticky_artist:no_replay=1");
	rt_session s;
	rt_begin(&s, &r, 4, 0);
	for (int i = 0; i < 50; i++) {
		/* artist B = {1, 2} */
		ck_assert_int_eq(rt_next(&s, 0, 1, 1.0), 2);
		int32_t t = rt_next(&s, 0, 2, 0.5);
		ck_assert_msg(t == 1 || t == 2, "picked %d", t);
		rt_last(&s, 0, t, 0.5);
		ck_assert_int_eq(rt_next(&s, 0, 2, 1.0), 1);
		rt_last(&s, 0, 1, 0.5);
		/* from artist C's 4 to artist A and back to C's 5: 4 still counts */
		int32_t x = rt_next(&s, 1, 4, 1.0);
		ck_assert_msg(RT_MASK(5, 6, 8, 10, 11) >> x & 1, "picked %d", x);
		x = rt_next(&s, 1, 3, 0.5);
		ck_assert_msg(x == 0 || x == 7, "picked %d", x);
		x = rt_next(&s, 1, 5, 0.5);
		ck_assert_msg(RT_MASK(6, 8, 10, 11) >> x & 1, "picked %d", x);
		rt_last(&s, 1, x, 0.5);
	}
	/* artist D has one track: a replay is the only answer */
	ck_assert_int_eq(rt_next(&s, 2, 9, 1.0), 9);
	ck_assert_int_eq(rt_next(&s, 2, 9, 0.0), 9);
	rt_last(&s, 2, 9, 0.0);
	rt_end(&s);
	botify_rec_free(&r);
}
END_TEST

/* Otherwise the plain policy: an unknown track gets a uniform catalog
 * track; no_replay=0 is stateless and picks what sticky_artist picks from
 * the same stream, replays included. */
START_TEST(otherwise_the_plain_policy)
{
	botify_rec plain, off, on;
	rt_create(&plain, &W, "sticky_artist");
	rt_create(&off, &W, "sticky_artist:no_replay=0");
	create16(&on, "sticky_artist:no_replay=1");
	ck_assert_uint_eq(plain.state_size, 0);
	ck_assert_uint_eq(off.state_size, 0);
	rt_session a, b, c;
	rt_begin(&a, &plain, 5, 0);
	rt_begin(&b, &off, 5, 0);
	rt_begin(&c, &on, 6, 0);
	int replays = 0;
	for (int i = 0; i < 300; i++) {
		int32_t t = C_TRACKS[i % 6];
		for (int step = 0; step < 4; step++) {
			int32_t x = rt_next(&a, 1, t, 0.5);
			ck_assert_int_eq(rt_next(&b, 1, t, 0.5), x);
			replays += x == t;
			t = x;
		}
		rt_last(&a, 1, t, 0.5);
		rt_last(&b, 1, t, 0.5);
	}
	ck_assert_int_gt(replays, 0); /* the plain policy does replay */
	unsigned seen = 0;
	for (int i = 0; i < 600; i++) {
		int32_t x = rt_next(&c, 1, i % 2 ? -1 : 12, 1.0);
		ck_assert_msg(x >= 0 && x < 12, "picked %d", x);
		seen |= 1u << x;
	}
	rt_last(&c, 1, -1, 0.0);
	ck_assert_uint_eq(seen, (1u << 12) - 1);
	rt_end(&a);
	rt_end(&b);
	rt_end(&c);
	botify_rec_free(&plain);
	botify_rec_free(&off);
	botify_rec_free(&on);
}
END_TEST

/* The ring holds the start and one track per call the caller allows. */
START_TEST(state_follows_max_steps)
{
	botify_rec_env env = { .world = &W, .max_steps = 7 };
	botify_err err = {0};
	botify_rec r;
	ck_assert_msg(botify_rec_create(&r, "sticky_artist:no_replay=1", &env, &err) == 0, "%s", err.msg);
	size_t small = r.state_size;
	botify_rec_free(&r);
	env.max_steps = 1000000000;
	ck_assert_msg(botify_rec_create(&r, "sticky_artist:no_replay=1", &env, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(r.state_size - small, (4096 - 8) * sizeof(int32_t));
	botify_rec_free(&r);
}
END_TEST

START_TEST(spec_errors)
{
	rt_create_fails(&W, "sticky_artist:no_replay=2", "sticky_artist: no_replay=2: out of range");
	rt_create_fails(&W, "sticky_artist:no_replay=yes", "sticky_artist: no_replay=yes");
	rt_create_fails(&W, "sticky_artist:replay=0", "sticky_artist: unknown key 'replay' (known: no_replay)");
}
END_TEST

Suite *rec_sticky_artist_suite(void)
{
	Suite *s = suite_create("rec_sticky_artist");
	TCase *tc = tcase_create("core");
	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, no_replay_while_the_artist_has_unplayed_tracks, 0, 2);
	tcase_add_test(tc, played_tracks_are_per_session);
	tcase_add_test(tc, otherwise_the_plain_policy);
	tcase_add_test(tc, state_follows_max_steps);
	tcase_add_test(tc, spec_errors);
	suite_add_tcase(s, tc);
	return s;
}
