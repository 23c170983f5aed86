/* check_topksearch.c - the exact pruned search (botify_topk_search) against
 * brute force: every track scored with botify_topk_score and sorted (score
 * descending, id ascending). Generated worlds (tiny, small, the default
 * one), the course catalog when $BOTIFY_COURSE_DATA names it, and
 * adversarial ties: duplicate vectors inside and across groups, zero
 * vectors and a zero query, one group of everything, groups of one. Also:
 * the vectorised score against the scalar one and against long double, any
 * thread count, and the stop flag. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npy.h"
#include "gentest.h"
#include "rng.h"
#include "testutil.h"
#include "topk.h"
#include "world.h"
#include "worldgen.h"

/* The brute-force answer for one query: every score, then a sort (an
 * insertion into a sorted list of k for small k, which is the same order). */
static void brute(const float *q, const float *E, int32_t N, int32_t D, int32_t k, int32_t *ids,
		  double *scores, gt_cand *c)
{
	for (int32_t t = 0; t < N; t++)
		c[t] = (gt_cand){ botify_topk_score(q, E + (size_t)t * D, D), t };
	if (k > 64) {
		qsort(c, (size_t)N, sizeof(*c), gt_by_rank);
	} else {
		int32_t n = 0;
		for (int32_t t = 0; t < N; t++) {
			gt_cand x = c[t];
			if (n == k && gt_by_rank(&x, &c[n - 1]) >= 0)
				continue;
			int32_t p = n < k ? n++ : n - 1;
			for (; p > 0 && gt_by_rank(&x, &c[p - 1]) < 0; p--)
				c[p] = c[p - 1];
			c[p] = x; /* t >= every index written so far: c[t] is already read */
		}
	}
	for (int32_t i = 0; i < k; i++) {
		ids[i] = c[i].id;
		scores[i] = c[i].s;
	}
}

/* Searches Q queries and compares each with brute force; returns the
 * fraction of tracks the search scored. */
static double check_against_brute(const float *E, int32_t N, int32_t D, const int32_t *group,
				  int32_t G, const float *queries, int64_t Q, int32_t k, int threads)
{
	botify_err err = {0};
	botify_topk_index ix;
	ck_assert_msg(botify_topk_index_build(&ix, E, N, D, group, G, &err) == 0, "%s", err.msg);
	int32_t *ids = malloc(sizeof(int32_t) * (size_t)Q * (size_t)k);
	double *sc = malloc(sizeof(double) * (size_t)Q * (size_t)k);
	int32_t *want = malloc(sizeof(int32_t) * (size_t)k);
	double *wsc = malloc(sizeof(double) * (size_t)k);
	gt_cand *c = malloc(sizeof(*c) * (size_t)N);
	botify_topk_stats st;
	ck_assert_msg(botify_topk_search(&ix, queries, Q, k, threads, NULL, ids, sc, &st, &err) == 0,
		      "%s", err.msg);
	for (int64_t q = 0; q < Q; q++) {
		brute(queries + q * D, E, N, D, k, want, wsc, c);
		for (int32_t i = 0; i < k; i++)
			ck_assert_msg(ids[q * k + i] == want[i] && sc[q * k + i] == wsc[i],
				      "query %lld rank %d: track %d (%.17g), brute force %d (%.17g)",
				      (long long)q, i, ids[q * k + i], sc[q * k + i], want[i], wsc[i]);
	}
	free(ids);
	free(sc);
	free(want);
	free(wsc);
	free(c);
	botify_topk_index_free(&ix);
	return (double)st.scored / ((double)Q * N);
}

/* The distinct interests of w (every step-th), as query vectors. */
static float *interest_queries(const botify_world *w, int step, int64_t *Q)
{
	char *seen = calloc((size_t)w->N, 1);
	float *q = malloc(sizeof(float) * (size_t)w->N * (size_t)w->D);
	int64_t n = 0, distinct = 0;
	for (int32_t i = 0; i < w->n_interests; i++) {
		int32_t t = w->interests[i];
		if (seen[t])
			continue;
		seen[t] = 1;
		if (distinct++ % step == 0)
			memcpy(q + (size_t)n++ * (size_t)w->D, botify_world_embedding(w, t),
			       sizeof(float) * (size_t)w->D);
	}
	free(seen);
	*Q = n;
	return q;
}

static void check_world_preset(const char *preset, int step, double max_scored)
{
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	botify_err err = {0};
	if (preset)
		ck_assert_msg(botify_worldgen_load_preset(&p, preset, &err) == 0, "%s", err.msg);
	botify_world w = {0};
	ck_assert_msg(botify_worldgen_generate(&w, &p, &err) == 0, "%s", err.msg);
	int64_t Q;
	float *q = interest_queries(&w, step, &Q);
	ck_assert_int_gt(Q, 10);
	double f = check_against_brute(w.E, w.N, w.D, w.artist, w.A, q, Q, 10, 2);
	/* the point of it: far fewer tracks scored than brute force */
	ck_assert_msg(f < max_scored, "%s: %.1f %% of the tracks scored", preset ? preset : "default",
		      100 * f);
	free(q);
	botify_world_free(&w);
}

START_TEST(search_exact_on_tiny_world)
{
	check_world_preset("datasets/tiny.json", 1, 0.9);
}
END_TEST

START_TEST(search_exact_on_small_world)
{
	check_world_preset("datasets/small.json", 1, 0.25);
}
END_TEST

START_TEST(search_exact_on_default_world)
{
	check_world_preset(NULL, 25, 0.05); /* every 25th interest: brute force is slow */
}
END_TEST

/* A large k: the bounds prune little, and the search filters with sgemm's
 * float scores before the exact ones; the lists must not change. */
START_TEST(search_exact_with_large_k)
{
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	botify_err err = {0};
	ck_assert_msg(botify_worldgen_load_preset(&p, "datasets/small.json", &err) == 0, "%s", err.msg);
	botify_world w = {0};
	ck_assert_msg(botify_worldgen_generate(&w, &p, &err) == 0, "%s", err.msg);
	int64_t Q;
	float *q = interest_queries(&w, 7, &Q);
	ck_assert_int_gt(Q, 40);
	double f = check_against_brute(w.E, w.N, w.D, w.artist, w.A, q, Q, 500, 2);
	/* the filter scored far fewer tracks exactly than every one */
	ck_assert_msg(f < 0.5, "%.1f %% of the tracks scored exactly", 100 * f);
	free(q);
	botify_world_free(&w);
}
END_TEST

/* The course catalog (its artists and interests) with embeddings clustered
 * by the course's artists, and with embeddings that ignore them (the pruning
 * then gains little but must stay exact). */
START_TEST(search_exact_on_course_catalog)
{
	const char *src = tu_course_data();
	ck_assert_ptr_nonnull(src); /* registered only when set */
	char p[4096], q[4096];
	char abs[4096], cwd[2048];
	const char *dir = tu_tmp;
	if (src[0] == '/')
		tu_fmt(abs, sizeof(abs), "%s", src);
	else
		tu_fmt(abs, sizeof(abs), "%s/%s", getcwd(cwd, sizeof(cwd)), src);
	const char *files[] = { "tracks.json.gz", "users.json.gz" };
	for (int i = 0; i < 2; i++) {
		tu_fmt(p, sizeof(p), "%s/%s", abs, files[i]);
		ck_assert_int_eq(symlink(p, tu_fmt(q, sizeof(q), "%s/%s", dir, files[i])), 0);
	}
	enum { N = 50000, D = 16 };
	float *E = calloc((size_t)N * D, sizeof(float));
	botify_err err = {0};
	ck_assert_int_eq(botify_npy_write(tu_fmt(q, sizeof(q), "%s/tracks.npy", dir), E, 2, N, D, 0, &err), 0);
	botify_world w = {0};
	ck_assert_msg(botify_world_load(&w, dir, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(w.N, N);
	botify_rng r;
	for (int clustered = 1; clustered >= 0; clustered--) {
		/* clustered: artist centre + small noise; else: independent */
		for (int32_t t = 0; t < N; t++) {
			botify_rng ra;
			botify_rng_init(&ra, BOTIFY_RNG_TEST, 7, (uint64_t)w.artist[t], 0, 0);
			botify_rng_init(&r, BOTIFY_RNG_TEST, 8, (uint64_t)t, 0, 0);
			for (int d = 0; d < D; d++)
				w.E[(size_t)t * D + d] = clustered ? (float)(botify_rng_normal(&ra) + 0.2 * botify_rng_normal(&r))
								   : (float)botify_rng_normal(&r);
		}
		int64_t Qn;
		float *qs = interest_queries(&w, 16, &Qn);
		double f = check_against_brute(w.E, N, D, w.artist, w.A, qs, Qn, 10, 2);
		if (clustered)
			ck_assert_msg(f < 0.2, "%.1f %% scored", 100 * f);
		free(qs);
	}
	free(E);
	botify_world_free(&w);
}
END_TEST

/* Ties everywhere: integer vectors, duplicates of the same vector inside a
 * group and across groups, zero vectors, a zero query (every score 0: the
 * first k ids), k = N. */
START_TEST(search_exact_with_adversarial_ties)
{
	enum { N = 600, D = 7, G = 40, Q = 60 };
	float *E = malloc(sizeof(float) * N * D), *qs = malloc(sizeof(float) * Q * D);
	int32_t group[N];
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 11, 0, 0, 0);
	for (int32_t t = 0; t < N; t++) {
		group[t] = (int32_t)botify_rng_below(&r, G);
		for (int d = 0; d < D; d++)
			E[t * D + d] = (float)((int)botify_rng_below(&r, 5) - 2);
	}
	/* copies of track 5 in its own group and in others; zero vectors */
	for (int32_t t = 100; t < 160; t++) {
		memcpy(E + t * D, E + 5 * D, sizeof(float) * D);
		if (t % 2)
			group[t] = group[5];
	}
	for (int32_t t = 200; t < 230; t++)
		memset(E + t * D, 0, sizeof(float) * D);
	for (int q = 0; q < Q; q++)
		memcpy(qs + q * D, E + (size_t)(q * 7 % N) * D, sizeof(float) * D);
	memset(qs, 0, sizeof(float) * D);           /* a zero query */
	memcpy(qs + D, E + 5 * D, sizeof(float) * D); /* the duplicated vector */
	const int32_t ks[] = { 1, 10, 61, N };
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
		check_against_brute(E, N, D, group, G, qs, Q, ks[i], 2);
	/* one group of everything; every track its own group */
	int32_t one[N], own[N];
	for (int32_t t = 0; t < N; t++) {
		one[t] = 0;
		own[t] = t;
	}
	check_against_brute(E, N, D, one, 1, qs, Q, 10, 1);
	check_against_brute(E, N, D, own, N, qs, Q, 10, 3);
	free(E);
	free(qs);
}
END_TEST

/* The quantised filter at its edges: its error terms must keep every group
 * that can reach the k-th best. One group's huge component sets the
 * centroids' integer scale, so the others quantise to nearly nothing and
 * their bounds rest on the error terms alone (without them the filter
 * drops groups of the top k: checked by breaking it); queries of one huge
 * component and tiny rest; norms from 1e-30 to 1e18 (the filter off past
 * 1e15); subnormal components; ties at the k-th best across groups. Each
 * with the filter on and off. */
START_TEST(search_exact_at_filter_edges)
{
	enum { N = 900, D = 24, G = 150, Q = 40 };
	float *E = malloc(sizeof(float) * N * D), *qs = malloc(sizeof(float) * Q * D);
	int32_t group[N];
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 17, 0, 0, 0);
	const double scales[] = { 1.0, 1e-30, 1e-12, 1e12, 1e18 };
	for (size_t si = 0; si < sizeof(scales) / sizeof(scales[0]); si++) {
		for (int32_t t = 0; t < N; t++) {
			group[t] = t % G;
			for (int d = 0; d < D; d++)
				E[t * D + d] = (float)(scales[si] * (0.3 * botify_rng_normal(&r) + (group[t] % 7 == d % 7)));
		}
		/* group 0's huge first component: the integer scale */
		for (int32_t t = 0; t < N; t += G)
			E[t * D] = (float)(scales[si] * 400.0);
		/* copies of track 11 in five groups: ties at the top */
		for (int32_t t = 300; t < 305; t++)
			memcpy(E + t * D, E + 11 * D, sizeof(float) * D);
		/* subnormal components in a few tracks */
		for (int32_t t = 400; t < 420; t++)
			for (int d = 1; d < D; d += 2)
				E[t * D + d] = (float)(d * 1e-42);
		for (int q = 0; q < Q; q++)
			for (int d = 0; d < D; d++)
				qs[q * D + d] = E[(size_t)((q * 37 + 5) % N) * D + d];
		/* one huge component and a tiny rest; only tiny components */
		for (int d = 0; d < D; d++) {
			qs[0 * D + d] = (float)(scales[si] * (d == 3 ? 50.0 : 1e-3 * botify_rng_normal(&r)));
			qs[1 * D + d] = (float)(scales[si] * 1e-6 * botify_rng_normal(&r));
			qs[2 * D + d] = d == 0 ? 0.0f : qs[2 * D + d];
		}
		for (int on = 1; on >= 0; on--) {
			botify_topk_set_filter(on);
			check_against_brute(E, N, D, group, G, qs, Q, 10, 2);
			check_against_brute(E, N, D, group, G, qs, Q, 1, 1);
			check_against_brute(E, N, D, group, G, qs, Q, 40, 3);
		}
		botify_topk_set_filter(1);
	}
	free(E);
	free(qs);
}
END_TEST

/* The filter changes which groups get a float bound, never a list: the
 * small world and the default world's interests (every 9th) give the same
 * ids and scores with it on and off. */
/* Low-dimensional clusters of every size, the shape of the course
 * catalog's (without its files): a centroid's quantisation error is a
 * large share of the distance between a group's bound and the k-th best. */
START_TEST(search_exact_on_low_dim_clusters)
{
	enum { N = 30000, D = 16, G = 7000, Q = 300 };
	float *E = malloc(sizeof(float) * N * D), *qs = malloc(sizeof(float) * Q * D);
	float *cent = malloc(sizeof(float) * G * D);
	int32_t *group = malloc(sizeof(int32_t) * N);
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 23, 0, 0, 0);
	for (int32_t i = 0; i < G * D; i++)
		cent[i] = (float)botify_rng_normal(&r);
	for (int32_t t = 0; t < N; t++) {
		/* skewed sizes: many groups of one, a few of hundreds */
		double u = botify_rng_uniform(&r);
		group[t] = (int32_t)(G * u * u * u);
		for (int d = 0; d < D; d++)
			E[t * D + d] = cent[group[t] * D + d] + (float)(0.2 * botify_rng_normal(&r));
	}
	for (int q = 0; q < Q; q++)
		memcpy(qs + q * D, E + (size_t)(q * 97 % N) * D, sizeof(float) * D);
	check_against_brute(E, N, D, group, G, qs, Q, 10, 2);
	check_against_brute(E, N, D, group, G, qs, Q, 1, 1);
	free(E);
	free(qs);
	free(cent);
	free(group);
}
END_TEST

/* A centroid whose quantisation error lines up with the query: every
 * component but the one that sets the group's scale sits 0.45 of a step
 * above an integer, where the query is positive, so the integer product
 * underestimates q.c by 0.17 while the k-th best after the seeds is only
 * 0.05 below it. Eight groups of higher centroid scores are opened first
 * (each one track above the single track of this group, one below), so the
 * filter alone decides on it: without its |sq q~| |ec| term the track
 * (rank 9 of 10) is lost. */
START_TEST(search_exact_with_aligned_quantisation_error)
{
	enum { D = 16, NF = 300, N = 1 + 16 + NF };
	float E[N * D], q[D];
	int32_t group[N];
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 29, 0, 0, 0);
	for (int d = 0; d < D; d++)
		q[d] = 0.25f; /* |q| = 1, quantised exactly: eq is 0 */
	float cs = (float)((double)3.1f / 31);
	float *a = E;
	a[0] = 3.1f;
	for (int d = 1; d < D; d++)
		a[d] = (float)((5 + 0.45) * cs);
	group[0] = 0;
	double qa = botify_topk_score(q, a, D);
	for (int i = 0; i < 8; i++) {
		/* c = a + 0.45 q / |q|^2 (+ a part orthogonal to q), w = 0.5 q */
		float *x1 = E + (size_t)(1 + 2 * i) * D, *x2 = x1 + D;
		for (int d = 0; d < D; d++) {
			float c = a[d] + 0.45f * q[d] + (d == 1 + i ? 0.3f : d == 9 + i % 7 ? -0.3f : 0.0f);
			x1[d] = c + 0.5f * q[d];
			x2[d] = c - 0.5f * q[d];
		}
		group[1 + 2 * i] = group[2 + 2 * i] = 1 + i;
		ck_assert(botify_topk_score(q, x1, D) > qa + 0.9);
		ck_assert(botify_topk_score(q, x2, D) < qa - 0.04 && botify_topk_score(q, x2, D) > qa - 0.06);
	}
	/* far from the query: groups of one to five */
	for (int32_t t = 17; t < N; t++) {
		group[t] = 9 + (t - 17) / 3;
		for (int d = 0; d < D; d++)
			E[t * D + d] = (float)(botify_rng_normal(&r) - 1.0);
	}
	int32_t want[10];
	double ws[10];
	gt_cand c[N];
	brute(q, E, N, D, 10, want, ws, c);
	ck_assert_int_eq(want[8], 0); /* the group's track is in, rank 9 */
	check_against_brute(E, N, D, group, 9 + NF / 3, q, 1, 10, 1);
}
END_TEST

/* What has no rank is refused: a query or a row that is not finite fails
 * with BOTIFY_EINVAL (a NaN row would make its group's bound NaN, and its
 * other tracks would be lost). Huge finite vectors whose float q.c
 * overflows to infinities of both signs (a NaN bound) still get the exact
 * lists: the double scores do not overflow. Filter on and off. */
START_TEST(search_refuses_non_finite_and_survives_overflow)
{
	enum { N = 200, D = 4, G = 20 };
	float E[N * D], q[2 * D];
	int32_t group[N], ids[2 * 10];
	double sc[2 * 10];
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 31, 0, 0, 0);
	for (int32_t t = 0; t < N; t++) {
		group[t] = t % G;
		E[t * D] = (float)(1e10 * (1 + 0.1 * botify_rng_uniform(&r)));
		E[t * D + 1] = (float)(1e10 * (1 + 0.1 * botify_rng_uniform(&r)));
		E[t * D + 2] = (float)botify_rng_normal(&r);
		E[t * D + 3] = (float)botify_rng_normal(&r);
	}
	/* 1e30 * 1e10 overflows a float: +inf and -inf in every q.c */
	const float huge[2 * D] = { 1e30f, -1e30f, 1, 0, -3e29f, 2e30f, 0, 1 };
	memcpy(q, huge, sizeof(q));
	for (int on = 1; on >= 0; on--) {
		botify_topk_set_filter(on);
		check_against_brute(E, N, D, group, G, q, 2, 10, 1);
		check_against_brute(E, N, D, group, G, q, 2, 10, 2);
	}
	botify_topk_set_filter(1);
	botify_err err = {0};
	botify_topk_index ix;
	ck_assert_int_eq(botify_topk_index_build(&ix, E, N, D, group, G, &err), 0);
	const float bad[] = { NAN, INFINITY, -INFINITY };
	for (int i = 0; i < 3; i++) {
		memcpy(q, huge, sizeof(q));
		q[D + 2] = bad[i]; /* the second query */
		err = (botify_err){0};
		ck_assert_int_eq(botify_topk_search(&ix, q, 2, 10, 1, NULL, ids, sc, NULL, &err), -1);
		ck_assert_int_eq(err.code, BOTIFY_EINVAL);
		ck_assert_msg(strstr(err.msg, "query 1") != NULL, "%s", err.msg);
	}
	botify_topk_index_free(&ix);
	for (int i = 0; i < 3; i++) {
		float keep = E[57 * D + 1];
		E[57 * D + 1] = bad[i];
		err = (botify_err){0};
		ck_assert_int_eq(botify_topk_index_build(&ix, E, N, D, group, G, &err), -1);
		ck_assert_int_eq(err.code, BOTIFY_EINVAL);
		ck_assert_msg(strstr(err.msg, "track 57") != NULL, "%s", err.msg);
		E[57 * D + 1] = keep;
	}
}
END_TEST

START_TEST(search_same_with_filter_on_and_off)
{
	const char *presets[] = { "datasets/small.json", NULL };
	for (int i = 0; i < 2; i++) {
		botify_worldgen_params p;
		botify_worldgen_defaults(&p);
		botify_err err = {0};
		if (presets[i])
			ck_assert_int_eq(botify_worldgen_load_preset(&p, presets[i], &err), 0);
		botify_world w = {0};
		ck_assert_int_eq(botify_worldgen_generate(&w, &p, &err), 0);
		int64_t Q;
		float *q = interest_queries(&w, presets[i] ? 1 : 9, &Q);
		botify_topk_index ix;
		ck_assert_int_eq(botify_topk_index_build(&ix, w.E, w.N, w.D, w.artist, w.A, &err), 0);
		int32_t *a = malloc(sizeof(int32_t) * (size_t)Q * 10), *b = malloc(sizeof(int32_t) * (size_t)Q * 10);
		double *sa = malloc(sizeof(double) * (size_t)Q * 10), *sb = malloc(sizeof(double) * (size_t)Q * 10);
		botify_topk_stats st_on, st_off;
		botify_topk_set_filter(0);
		ck_assert_int_eq(botify_topk_search(&ix, q, Q, 10, 2, NULL, a, sa, &st_off, &err), 0);
		botify_topk_set_filter(1);
		ck_assert_int_eq(botify_topk_search(&ix, q, Q, 10, 2, NULL, b, sb, &st_on, &err), 0);
		ck_assert(!memcmp(a, b, sizeof(int32_t) * (size_t)Q * 10));
		ck_assert(!memcmp(sa, sb, sizeof(double) * (size_t)Q * 10));
		free(a);
		free(b);
		free(sa);
		free(sb);
		free(q);
		botify_topk_index_free(&ix);
		botify_world_free(&w);
	}
}
END_TEST

/* The vectorised score is the scalar one bit for bit, for every width, and
 * within double rounding of the exact value. */
START_TEST(score_rows_equals_scalar)
{
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 3, 0, 0, 0);
	for (int32_t D = 1; D <= 37; D++) {
		enum { N = 9 };
		float q[40], X[N * 40];
		for (int d = 0; d < D; d++)
			q[d] = (float)botify_rng_normal(&r) * (d % 5 ? 1.0f : -0.0f);
		for (int i = 0; i < N * D; i++)
			X[i] = (float)botify_rng_normal(&r);
		double out[N];
		botify_topk_score_rows(q, X, N, D, out);
		for (int i = 0; i < N; i++) {
			double s = botify_topk_score(q, X + i * D, D);
			ck_assert_msg(out[i] == s, "D=%d row %d: %.17g vs %.17g", D, i, out[i], s);
			long double e = 0;
			for (int d = 0; d < D; d++)
				e += (long double)q[d] * X[i * D + d];
			ck_assert(fabsl((long double)s - e) <= 1e-14L * (1 + fabsl(e)));
		}
	}
}
END_TEST

START_TEST(search_same_for_any_thread_count_and_stops)
{
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	botify_err err = {0};
	ck_assert_int_eq(botify_worldgen_load_preset(&p, "datasets/small.json", &err), 0);
	botify_world w = {0};
	ck_assert_int_eq(botify_worldgen_generate(&w, &p, &err), 0);
	botify_topk_index ix;
	ck_assert_int_eq(botify_topk_index_build(&ix, w.E, w.N, w.D, w.artist, w.A, &err), 0);
	int64_t Q = 700;
	int32_t *ref = malloc(sizeof(int32_t) * Q * 10), *ids = malloc(sizeof(int32_t) * Q * 10);
	ck_assert_int_eq(botify_topk_search(&ix, w.E, Q, 10, 1, NULL, ref, NULL, NULL, &err), 0);
	const int threads[] = { 2, 3, 64, 1000, 0 };
	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		memset(ids, 0xff, sizeof(int32_t) * Q * 10);
		ck_assert_int_eq(botify_topk_search(&ix, w.E, Q, 10, threads[i], NULL, ids, NULL, NULL, &err), 0);
		ck_assert_msg(!memcmp(ids, ref, sizeof(int32_t) * Q * 10), "threads=%d", threads[i]);
	}
	/* one query at a time gives the same lists as the batch */
	for (int64_t q = 0; q < Q; q += 97) {
		ck_assert_int_eq(botify_topk_search(&ix, w.E + q * w.D, 1, 10, 1, NULL, ids, NULL, NULL, &err), 0);
		ck_assert(!memcmp(ids, ref + q * 10, sizeof(int32_t) * 10));
	}
	volatile sig_atomic_t stop = 1;
	ck_assert_int_eq(botify_topk_search(&ix, w.E, Q, 10, 2, &stop, ids, NULL, NULL, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINTR);
	free(ref);
	free(ids);
	botify_topk_index_free(&ix);
	botify_world_free(&w);
}
END_TEST

/* An index built on several threads is the index of one, field for field
 * (small world: 1147 groups, several runs of groups per thread). */
START_TEST(index_same_for_any_thread_count)
{
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	botify_err err = {0};
	ck_assert_int_eq(botify_worldgen_load_preset(&p, "datasets/small.json", &err), 0);
	botify_world w = {0};
	ck_assert_int_eq(botify_worldgen_generate(&w, &p, &err), 0);
	botify_topk_index one;
	ck_assert_int_eq(botify_topk_index_build(&one, w.E, w.N, w.D, w.artist, w.A, &err), 0);
	const int threads[] = { 2, 3, 64, 1000 };
	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		botify_topk_index ix;
		ck_assert_int_eq(botify_topk_index_build_threads(&ix, w.E, w.N, w.D, w.artist, w.A, threads[i], &err), 0);
		ck_assert_int_eq(ix.C, one.C);
		ck_assert_int_eq(ix.M, one.M);
		ck_assert(ix.xmax == one.xmax);
		ck_assert(!memcmp(ix.E, one.E, sizeof(float) * (size_t)w.N * (size_t)w.D));
		ck_assert(!memcmp(ix.id, one.id, sizeof(int32_t) * (size_t)w.N));
		ck_assert(!memcmp(ix.off, one.off, sizeof(int32_t) * ((size_t)one.C + 1)));
		ck_assert(!memcmp(ix.cent, one.cent, sizeof(float) * (size_t)one.C * (size_t)w.D));
		ck_assert(!memcmp(ix.slack, one.slack, sizeof(float) * (size_t)one.C));
		ck_assert(!memcmp(ix.centers, one.centers, sizeof(float) * (size_t)one.M * (size_t)w.D));
		/* the quantised centroids and rows (the filter's) */
		ck_assert(ix.qc && ix.qx && ix.P == one.P && ix.S4 == one.S4 && ix.DQ == one.DQ);
		ck_assert(!memcmp(ix.qc, one.qc, (size_t)one.P * (size_t)one.S4 * 32));
		ck_assert(!memcmp(ix.qsum, one.qsum, sizeof(int32_t) * (size_t)one.P * 8));
		ck_assert(!memcmp(ix.qx, one.qx, (size_t)w.N * (size_t)one.DQ));
		ck_assert(!memcmp(ix.qxsum, one.qxsum, sizeof(int32_t) * (size_t)w.N));
		ck_assert(!memcmp(ix.qcsc, one.qcsc, sizeof(float) * (size_t)one.P * 8));
		ck_assert(!memcmp(ix.qecn, one.qecn, sizeof(float) * (size_t)one.P * 8));
		ck_assert(ix.xsc == one.xsc && ix.ecmax == one.ecmax && ix.exmax == one.exmax);
		botify_topk_index_free(&ix);
	}
	botify_topk_index_free(&one);
	botify_world_free(&w);
}
END_TEST

/* The seeds' candidates hold the t best of any array (value descending,
 * index ascending, NaN never), ties at the threshold included: random
 * values, many equal ones, the best all in one of the eight lanes of the
 * vector code, NaN and -inf, lengths not a multiple of 8. */
START_TEST(seed_candidates_hold_the_best)
{
	enum { NMAX = 700 };
	float x[NMAX];
	int32_t out[NMAX], best[32];
	char in[NMAX];
	uint64_t st = 12345;
	for (int trial = 0; trial < 400; trial++) {
		int32_t n = 65 + trial % 600, t = 1 + trial % 32;
		for (int32_t i = 0; i < n; i++) {
			st = st * 6364136223846793005ULL + 1442695040888963407ULL;
			uint32_t r = (uint32_t)(st >> 33);
			switch (trial % 5) {
			case 0: x[i] = (float)(r % 1000003) / 1000.0f; break;
			case 1: x[i] = (float)(r % 4); break;                      /* ties everywhere */
			case 2: x[i] = i % 8 == 3 ? 100.0f + (float)(r % 50) : (float)(r % 90); break; /* one lane */
			case 3: x[i] = r % 7 == 0 ? NAN : r % 7 == 1 ? -INFINITY : (float)(r % 30); break;
			default: x[i] = i % 8 == 5 ? (float)(r % 3) : -INFINITY; break; /* lanes of -inf */
			}
		}
		/* the reference: t picks of the largest, lowest index first */
		memset(in, 0, (size_t)n);
		int32_t nb = 0;
		for (; nb < t; nb++) {
			int32_t w = -1;
			for (int32_t i = 0; i < n; i++)
				if (!in[i] && !isnan(x[i]) && (w < 0 || x[i] > x[w]))
					w = i;
			if (w < 0)
				break;
			in[w] = 1;
			best[nb] = w;
		}
		int32_t m = botify_topk_seed_candidates(x, n, t, out);
		ck_assert_int_le(m, n);
		for (int32_t i = 1; i < m; i++)
			ck_assert_int_lt(out[i - 1], out[i]);
		for (int32_t b = 0; b < nb; b++) {
			int found = 0;
			for (int32_t i = 0; i < m && !found; i++)
				found = out[i] == best[b];
			ck_assert_msg(found, "trial %d (n %d, t %d): index %d of the best missing", trial, n, t,
				      best[b]);
		}
	}
}
END_TEST

Suite *topksearch_suite(void)
{
	Suite *s = suite_create("topksearch");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120); /* brute force on the default world; slow under ASan */
	tu_scratch(tc);
	tcase_add_test(tc, score_rows_equals_scalar);
	tcase_add_test(tc, seed_candidates_hold_the_best);
	tcase_add_test(tc, index_same_for_any_thread_count);
	tcase_add_test(tc, search_exact_with_adversarial_ties);
	tcase_add_test(tc, search_exact_at_filter_edges);
	tcase_add_test(tc, search_exact_on_low_dim_clusters);
	tcase_add_test(tc, search_exact_with_aligned_quantisation_error);
	tcase_add_test(tc, search_refuses_non_finite_and_survives_overflow);
	tcase_add_test(tc, search_same_with_filter_on_and_off);
	tcase_add_test(tc, search_exact_with_large_k);
	tcase_add_test(tc, search_exact_on_tiny_world);
	tcase_add_test(tc, search_exact_on_small_world);
	tcase_add_test(tc, search_exact_on_default_world);
	if (tu_course_data())
		tcase_add_test(tc, search_exact_on_course_catalog);
	else
		tu_skip("search_exact_on_course_catalog", "BOTIFY_COURSE_DATA does not name the course files");
	tcase_add_test(tc, search_same_for_any_thread_count_and_stops);
	suite_add_tcase(s, tc);
	return s;
}
