/*
 * gentest.h - inputs that more than one suite generates the same way:
 * synthetic training pairs with a known signal, a small generated world to
 * simulate on, and the brute-force rank order of scored tracks.
 * All static inline so a suite that uses only some of them compiles cleanly.
 */
#ifndef BOTIFY_GENTEST_H
#define BOTIFY_GENTEST_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pairs.h"
#include "rng.h"
#include "world.h"
#include "worldgen.h"

/* n pairs of users [0, users) and tracks [0, tracks) drawn from r; the time
 * is high when start and track share a "genre" (id mod 4), higher still
 * for even users, so a model has something to learn. The first n / 4
 * pairs also stand as sessions. Free with botify_pairs_free. */
static inline void gt_pairs(botify_pairs *p, int64_t n, int32_t users, int32_t tracks,
			    botify_rng *r)
{
	memset(p, 0, sizeof(*p));
	p->n = n;
	p->user = malloc((size_t)n * sizeof(int32_t));
	p->start = malloc((size_t)n * sizeof(int32_t));
	p->track = malloc((size_t)n * sizeof(int32_t));
	p->time = malloc((size_t)n * sizeof(float));
	p->n_sessions = n / 4;
	p->sess_user = malloc((size_t)p->n_sessions * sizeof(int32_t));
	p->sess_start = malloc((size_t)p->n_sessions * sizeof(int32_t));
	ck_assert(p->user && p->start && p->track && p->time && p->sess_user && p->sess_start);
	for (int64_t i = 0; i < n; i++) {
		int32_t u = (int32_t)botify_rng_below(r, (uint64_t)users);
		int32_t s = (int32_t)botify_rng_below(r, (uint64_t)tracks);
		int32_t t = (int32_t)botify_rng_below(r, (uint64_t)tracks);
		p->user[i] = u;
		p->start[i] = s;
		p->track[i] = t;
		p->time[i] = (s % 4 == t % 4 ? 0.7f : 0.1f) + (u % 2 ? 0.0f : 0.2f);
		if (i < p->n_sessions) {
			p->sess_user[i] = u;
			p->sess_start[i] = s;
		}
	}
}

/* A generated world of parameters p (the test fails when it cannot be). */
static inline void gt_generate(botify_world *w, const botify_worldgen_params *p)
{
	botify_err err = {0};
	memset(w, 0, sizeof(*w));
	ck_assert_msg(botify_worldgen_generate(w, p, &err) == 0, "%s", err.msg);
}

/* The worldgen defaults at another size. */
static inline void gt_sized_world(botify_world *w, int64_t tracks, int64_t users, int64_t dim)
{
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	p.tracks = tracks;
	p.users = users;
	p.dim = dim;
	gt_generate(w, &p);
}

/* The worldgen defaults cut down to a world a simulation test runs in
 * moments: 300 tracks, 50 users, 8 dimensions. genres and seed 0 keep the
 * defaults; a small consume_bias_max makes sessions longer. */
static inline void gt_small_world(botify_world *w, int64_t genres, double consume_bias_max,
				  uint64_t seed)
{
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	p.tracks = 300;
	p.users = 50;
	p.dim = 8;
	if (genres)
		p.genres = genres;
	p.consume_bias_max = consume_bias_max;
	if (seed)
		p.seed = seed;
	gt_generate(w, &p);
}

/* A scored track, ordered as every top-k answer is: score descending, then
 * id ascending (qsort comparator). */
typedef struct gt_cand {
	double s;
	int32_t id;
} gt_cand;

static inline int gt_by_rank(const void *pa, const void *pb)
{
	const gt_cand *a = pa, *b = pb;
	if (a->s != b->s)
		return a->s > b->s ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

#endif
