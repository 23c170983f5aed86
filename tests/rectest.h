/*
 * rectest.h - a hand-made twelve-track world, the suite fixture that loads
 * it, and a session driver, for the suites of recommenders and of what runs
 * them (check_rec*.c, check_fallback.c, check_armset.c, check_service.c).
 *
 * Tracks and artists (by first track): A=0 {0,3,7}, B=1 {1,2},
 * C=2 {4,5,6,8,10,11}, D=3 {9}. Three users. top_tracks.json [5, 3, 9, 0, 11].
 *
 * The driver runs sessions as the simulator does: state zeroed before the
 * first call, one recommend per call, end_session at the end; with
 * `roundtrip` set it moves the state to a fresh buffer between calls (what
 * a service storing it in Redis does), so a recommender that kept a pointer
 * in its state would fail under ASan.
 */
#ifndef BOTIFY_RECTEST_H
#define BOTIFY_RECTEST_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "rec.h"
#include "testutil.h"
#include "world.h"

static const char *const rt_artist_of[12] = { "A", "B", "B", "A", "C", "C",
					      "C", "A", "C", "D", "C", "C" };

static inline void rt_write_world(const char *dir)
{
	char line[128], text[4096] = "";
	for (int t = 0; t < 12; t++) {
		tu_fmt(line, sizeof(line), "{\"track\": %d, \"artist\": \"%s\", \"title\": \"t%d\"}\n", t,
		       rt_artist_of[t], t);
		strcat(text, line);
	}
	tu_write_in(dir, "tracks.json", text, 0);
	tu_write_in(dir, "users.json",
		    "{\"user\": 0, \"interests\": [0]}\n{\"user\": 1, \"interests\": [4]}\n"
		    "{\"user\": 2, \"interests\": [9]}\n",
		    0);
	tu_write_in(dir, "top_tracks.json", "[5, 3, 9, 0, 11]", 0);
	float E[12 * 2];
	for (int i = 0; i < 24; i++)
		E[i] = (float)(i % 5) - 2;
	char p[4096];
	botify_err err = {0};
	ck_assert_int_eq(botify_npy_write(tu_path(p, dir, "tracks.npy"), E, 2, 12, 2, 1, &err), 0);
}

/* A suite's setup: a fresh scratch directory (tu_tmp) holding the world
 * above, loaded into *w. rt_world_teardown undoes it. */
static inline void rt_world_setup(botify_world *w)
{
	tu_scratch_setup();
	rt_write_world(tu_tmp);
	botify_err err = {0};
	ck_assert_msg(botify_world_load(w, tu_tmp, &err) == 0, "%s", err.msg);
}

static inline void rt_world_teardown(botify_world *w)
{
	botify_world_free(w);
	tu_scratch_teardown();
}

static inline void rt_create(botify_rec *r, const botify_world *w, const char *spec)
{
	botify_rec_env env = { .world = w, .max_steps = 1000 };
	botify_err err = {0};
	ck_assert_msg(botify_rec_create(r, spec, &env, &err) == 0, "%s: %s", spec, err.msg);
}

/* Expects spec to fail with a message containing needle. */
static inline void rt_create_fails(const botify_world *w, const char *spec, const char *needle)
{
	botify_rec_env env = { .world = w, .max_steps = 1000 };
	botify_err err = {0};
	botify_rec r;
	ck_assert_msg(botify_rec_create(&r, spec, &env, &err) == -1, "'%s' was created", spec);
	tu_assert_has(err.msg, needle);
	botify_rec_free(&r);
}

typedef struct rt_session {
	const botify_rec *r;
	void *worker;
	char *state;
	botify_rng rng;
	botify_rec_ctx ctx;
	int roundtrip;
} rt_session;

static inline void rt_begin(rt_session *s, const botify_rec *r, uint64_t seed, int roundtrip)
{
	botify_err err = {0};
	memset(s, 0, sizeof(*s));
	s->r = r;
	s->roundtrip = roundtrip;
	ck_assert_msg(botify_rec_worker_init(r, &s->worker, &err) == 0, "%s", err.msg);
	s->state = calloc(1, r->state_size ? r->state_size : 1);
	botify_rng_init(&s->rng, BOTIFY_RNG_TEST, seed, 1, 2, BOTIFY_STREAM_REC);
	s->ctx = (botify_rec_ctx){ s->worker, s->state, &s->rng };
}

/* A new session on the same worker: state zeroed, as the simulator does. */
static inline void rt_restart(rt_session *s)
{
	memset(s->state, 0, s->r->state_size ? s->r->state_size : 1);
}

static inline void rt_move_state(rt_session *s)
{
	size_t n = s->r->state_size ? s->r->state_size : 1;
	char *fresh = malloc(n);
	memcpy(fresh, s->state, n);
	memset(s->state, 0xa5, n);
	free(s->state);
	s->state = fresh;
	s->ctx.state = fresh;
}

static inline int32_t rt_next(rt_session *s, int64_t user, int32_t track, double time)
{
	botify_err err = {0};
	botify_rec_call c = { user, track, time };
	int32_t out = -1;
	ck_assert_msg(botify_rec_next(s->r, &s->ctx, &c, &out, &err) == 0, "%s", err.msg);
	if (s->roundtrip)
		rt_move_state(s);
	return out;
}

static inline void rt_last(rt_session *s, int64_t user, int32_t track, double time)
{
	botify_err err = {0};
	botify_rec_call c = { user, track, time };
	ck_assert_msg(botify_rec_last(s->r, &s->ctx, &c, &err) == 0, "%s", err.msg);
	for (size_t i = 0; i < s->r->state_size; i++)
		ck_assert_msg(s->state[i] == 0, "state byte %zu not cleared by the last call", i);
}

static inline void rt_end(rt_session *s)
{
	botify_rec_worker_free(s->r, s->worker);
	free(s->state);
	memset(s, 0, sizeof(*s));
}

/* Tracks of set[0..n) as a 12-flag mask. */
static inline unsigned rt_mask(const int32_t *set, int n)
{
	unsigned m = 0;
	for (int i = 0; i < n; i++)
		m |= 1u << set[i];
	return m;
}
#define RT_MASK(...) rt_mask((const int32_t[]){ __VA_ARGS__ }, \
			     (int)(sizeof((const int32_t[]){ __VA_ARGS__ }) / sizeof(int32_t)))

#endif
