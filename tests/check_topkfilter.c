/* check_topkfilter.c - the integer filter in front of the float kernel
 * (topk_inner.c): the same lists and score bits with the filter and
 * without it, on 1 to 3 threads and on the scalar path, for ordinary data
 * and for data at the filter's edge (one huge component, norms from 1e-30
 * to 1e18, subnormal scores, exact ties at the k-th score, zero vectors,
 * near-identical tracks);
 * few tracks get a float score on ordinary data; and each error term of
 * the filter's bound is needed: without it, an input made for it comes back
 * with a wrong list. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "topk.h"

static float *normal_matrix(int64_t rows, int32_t D, uint64_t seed)
{
	float *m = malloc(sizeof(float) * (size_t)rows * (size_t)D);
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, seed, 0, 0, 0);
	for (int64_t i = 0; i < rows * D; i++)
		m[i] = (float)botify_rng_normal(&r);
	return m;
}

/* The lists of the float kernel alone (ref) against the filter's, on 1 to
 * 3 threads and on the scalar path: ids and score bits. */
static void same_with_and_without(const float *Q, int64_t nq, const float *E, int32_t N, int32_t D,
				  int32_t k, const char *what)
{
	botify_err err = {0};
	size_t n = (size_t)nq * (size_t)k;
	int32_t *want = malloc(n * sizeof(int32_t)), *ids = malloc(n * sizeof(int32_t));
	float *wsc = malloc(n * sizeof(float)), *sc = malloc(n * sizeof(float));
	botify_topk_inner_set_filter(0);
	ck_assert_msg(botify_topk_inner(Q, nq, E, N, D, k, 1, want, wsc, &err) == 0, "%s", err.msg);
	botify_topk_inner_set_filter(1);
	for (int run = 0; run < 4; run++) {
		botify_topk_force_scalar(run == 3);
		memset(ids, 0xff, n * sizeof(int32_t));
		ck_assert_msg(botify_topk_inner(Q, nq, E, N, D, k, run == 3 ? 2 : run + 1, ids, sc, &err) == 0,
			      "%s", err.msg);
		botify_topk_force_scalar(0);
		ck_assert_msg(!memcmp(ids, want, n * sizeof(int32_t)), "%s k=%d run %d: ids differ", what, k, run);
		ck_assert_msg(!memcmp(sc, wsc, n * sizeof(float)), "%s k=%d run %d: score bits differ", what, k,
			      run);
	}
	free(want);
	free(ids);
	free(wsc);
	free(sc);
}

START_TEST(filter_same_lists_as_float_kernel)
{
	/* more tracks than the float kernel's part of the walk (2 400) */
	enum { NQ = 70, N = 7000 };
	const int32_t widths[] = { 32, 13 };
	const int32_t ks[] = { 1, 100, 1024, 1025, N };
	for (size_t wi = 0; wi < 2; wi++) {
		int32_t D = widths[wi];
		float *Q = normal_matrix(NQ, D, 21), *E = normal_matrix(N, D, 22);
		for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++)
			same_with_and_without(Q, NQ, E, N, D, ks[ki], D == 32 ? "normal, 32 dims" : "normal, 13 dims");
		free(Q);
		free(E);
	}
}
END_TEST

/* Few tracks get a float score: on data where the queries resemble each
 * other (their mean orders the walk), well under a tenth of those after
 * the float kernel's part. */
START_TEST(filter_scores_few_tracks)
{
	enum { NQ = 64, N = 20000, D = 32, K = 100 };
	float *Q = normal_matrix(NQ, D, 31), *E = normal_matrix(N, D, 32);
	for (int64_t i = 0; i < (int64_t)NQ * D; i++)
		Q[i] = Q[i] * 0.5f + (i % D < 4 ? 2.0f : 0.0f); /* a shared direction */
	int32_t *ids = malloc(sizeof(int32_t) * NQ * K);
	botify_err err = {0};
	int64_t q0, r0, q1, r1;
	botify_topk_inner_filter_stats(&q0, &r0);
	ck_assert_msg(botify_topk_inner(Q, NQ, E, N, D, K, 2, ids, NULL, &err) == 0, "%s", err.msg);
	botify_topk_inner_filter_stats(&q1, &r1);
	ck_assert_int_eq(q1 - q0, NQ);
	ck_assert_msg((double)(r1 - r0) / NQ < (N - 2400) / 10.0, "%.1f tracks scored per query",
		      (double)(r1 - r0) / NQ);
	free(Q);
	free(E);
	free(ids);
}
END_TEST

START_TEST(filter_edges_same_lists)
{
	enum { NQ = 20, N = 6000, D = 32 };
	float *Q = normal_matrix(NQ, D, 41), *E = normal_matrix(N, D, 42);
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 43, 0, 0, 0);
	/* one huge component: every other track quantises to almost nothing */
	float *E1 = malloc(sizeof(float) * N * D);
	memcpy(E1, E, sizeof(float) * N * D);
	E1[(size_t)4321 * D + 5] = 1e6f;
	for (int32_t k = 1; k <= 100; k += 99)
		same_with_and_without(Q, NQ, E1, N, D, k, "one huge component");
	/* norms from 1e-30 to 1e18, queries from 1e-3 to 1e3 */
	float *E2 = malloc(sizeof(float) * N * D), *Q2 = malloc(sizeof(float) * NQ * D);
	for (int32_t t = 0; t < N; t++) {
		double s = pow(10.0, -30 + 48 * botify_rng_uniform(&r));
		for (int32_t d = 0; d < D; d++)
			E2[(size_t)t * D + d] = (float)(E[(size_t)t * D + d] * s);
	}
	for (int32_t q = 0; q < NQ; q++) {
		double s = pow(10.0, -3 + 6 * botify_rng_uniform(&r));
		for (int32_t d = 0; d < D; d++)
			Q2[(size_t)q * D + d] = (float)(Q[(size_t)q * D + d] * s);
	}
	same_with_and_without(Q2, NQ, E2, N, D, 100, "norms 1e-30 to 1e18");
	/* subnormal tracks: products and partial sums below the normal range */
	for (size_t i = 0; i < (size_t)N * D; i++)
		E2[i] = E[i] * 1e-39f;
	same_with_and_without(Q, NQ, E2, N, D, 100, "subnormal tracks");
	for (size_t i = 0; i < (size_t)NQ * D; i++)
		Q2[i] = Q[i] * 1e-20f;
	for (size_t i = 0; i < (size_t)N * D; i++)
		E2[i] = E[i] * 1e-20f;
	same_with_and_without(Q2, NQ, E2, N, D, 100, "products below the normal range");
	/* exact ties at the k-th score: components in {-1, 0, 1} over 3
	 * dimensions, and zero vectors (a zero query ties every track) */
	float *E3 = malloc(sizeof(float) * N * 3), *Q3 = malloc(sizeof(float) * NQ * 3);
	for (size_t i = 0; i < (size_t)N * 3; i++)
		E3[i] = (float)((int)botify_rng_below(&r, 3) - 1);
	for (size_t i = 0; i < (size_t)NQ * 3; i++)
		Q3[i] = (float)((int)botify_rng_below(&r, 3) - 1);
	memset(Q3, 0, 3 * sizeof(float));
	const int32_t ks[] = { 1, 100, 1024, 1025, N };
	for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++)
		same_with_and_without(Q3, NQ, E3, N, 3, ks[ki], "ties");
	/* near-identical tracks (an untrained model): the bound passes most
	 * of them and the float kernel takes over the walk */
	for (int32_t t = 0; t < N; t++)
		for (int32_t d = 0; d < D; d++)
			E2[(size_t)t * D + d] = E[d] + 1e-5f * E[(size_t)t * D + d];
	same_with_and_without(Q, NQ, E2, N, D, 100, "near-identical tracks");
	/* a catalog smaller than the float kernel's part, k = N */
	same_with_and_without(Q, NQ, E, 500, D, 500, "500 tracks");
	free(Q);
	free(E);
	free(E1);
	free(E2);
	free(Q2);
	free(E3);
	free(Q3);
}
END_TEST

/*
 * Inputs made for each term of the bound. 2 500 fillers (dimension 2 of
 * the walk's order puts them first, in the float kernel's part) set the
 * k-th best score tau for k = 1; the track X (id 0), walked after them,
 * is the true best (or ties the best and wins on its id), but its integer
 * product lies below tau by more than the other terms allow. A row C sets
 * the catalog's scale to 1 (unit) with a component of 127, and the query's
 * component 64 (in a dimension where every track has 0) sets its scale.
 */
enum { FILLERS = 2500 };

static void term_case(int term, int32_t D, const float *q, const float *x, const float *c,
		      const float *filler)
{
	int32_t N = FILLERS + 2;
	float *E = calloc((size_t)N * D, sizeof(float)), dir[8] = {0};
	memcpy(E, x, sizeof(float) * D);
	memcpy(E + D, c, sizeof(float) * D);
	for (int32_t t = 2; t < N; t++)
		memcpy(E + (size_t)t * D, filler, sizeof(float) * D);
	dir[2] = 1;
	botify_topk_panels pk;
	botify_err err = {0};
	ck_assert_msg(botify_topk_panels_build(&pk, E, N, D, dir, &err) == 0, "%s", err.msg);
	int32_t id;
	float s, s0;
	botify_topk_inner_set_filter(0);
	ck_assert(botify_topk_inner_packed(&pk, q, 1, 1, 1, &id, &s0, &err) == 0);
	ck_assert_msg(id == 0, "term %d: the float kernel's best is %d", term, id);
	botify_topk_inner_set_filter(1);
	for (int scalar = 0; scalar < 2; scalar++) {
		botify_topk_force_scalar(scalar);
		ck_assert(botify_topk_inner_packed(&pk, q, 1, 1, 1, &id, &s, &err) == 0);
		ck_assert_msg(id == 0 && s == s0, "term %d: the filter's best is %d", term, id);
		botify_topk_inner_drop_term(term);
		ck_assert(botify_topk_inner_packed(&pk, q, 1, 1, 1, &id, &s, &err) == 0);
		botify_topk_inner_drop_term(0);
		ck_assert_msg(id != 0, "term %d: the best without the term is still X", term);
	}
	botify_topk_force_scalar(0);
	int64_t nq, nr;
	botify_topk_inner_filter_stats(&nq, &nr);
	ck_assert_int_gt(nq, 0); /* the filter ran */
	botify_topk_panels_free(&pk);
	free(E);
}

START_TEST(filter_needs_the_catalogs_term)
{
	/* X = (1.4375, 1.4375) quantises to (1, 1): I = 128 for a true 184;
	 * fillers score 180 exactly */
	const float q[4] = { 64, 64, 0, 0 }, x[4] = { 1.4375f, 1.4375f, 0, 0 }, c[4] = { 0, 0, 0, 127 };
	const float filler[4] = { 2, 0.8125f, 100, 0 };
	term_case(1, 4, q, x, c, filler);
}
END_TEST

START_TEST(filter_needs_the_querys_term)
{
	/* q quantises to (3, 1): X = (0, 64) has I = 64 for a true 92;
	 * fillers score 89.125 */
	const float q[5] = { 2.5625f, 1.4375f, 0, 0, 64 }, x[5] = { 0, 64, 0, 0, 0 };
	const float c[5] = { 0, 0, 0, 127, 0 }, filler[5] = { 0, 62, 100, 0, 0 };
	term_case(2, 5, q, x, c, filler);
}
END_TEST

START_TEST(filter_needs_the_float_rounding_term)
{
	/* everything on the integers' grid (u = 2^-80, products in units of
	 * 2^-160), scores rounded to 2^-149 = 2048 units: X's 41 * 25 = 1025
	 * units round up to 2048, as the fillers' 41 * 50 = 2050 do, and X
	 * wins the tie on its id with I = 1025 */
	const float u = 0x1p-80f;
	const float q[5] = { 41 * u, 0, 0, 0, 64 * u }, x[5] = { 25 * u, 0, 0, 0, 0 };
	const float c[5] = { 0, 0, 0, 127 * u, 0 }, filler[5] = { 50 * u, 0, 100 * u, 0, 0 };
	term_case(3, 5, q, x, c, filler);
}
END_TEST

Suite *topkfilter_suite(void)
{
	Suite *s = suite_create("topkfilter");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60); /* many lists against the float kernel; slow under ASan */
	tcase_add_test(tc, filter_same_lists_as_float_kernel);
	tcase_add_test(tc, filter_scores_few_tracks);
	tcase_add_test(tc, filter_edges_same_lists);
	tcase_add_test(tc, filter_needs_the_catalogs_term);
	tcase_add_test(tc, filter_needs_the_querys_term);
	tcase_add_test(tc, filter_needs_the_float_rounding_term);
	suite_add_tcase(s, tc);
	return s;
}
