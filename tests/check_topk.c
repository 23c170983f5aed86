/* check_topk.c - top-k inner products against a naive double loop and a
 * full sort: exact ties ordered by id, k = 1 and k = N, any thread count,
 * the same bits from the vector and the scalar kernel, differences from
 * double-precision scores only between near-ties, and the selection alone
 * with an excluded id. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gentest.h"
#include "rng.h"
#include "topk.h"


/* Small integers: every inner product is exact in float and many tie. */
static float *int_matrix(int64_t rows, int32_t D, int range, uint64_t seed)
{
	float *m = malloc(sizeof(float) * (size_t)rows * (size_t)D);
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, seed, 0, 0, 0);
	for (int64_t i = 0; i < rows * D; i++)
		m[i] = (float)((int)botify_rng_below(&r, (uint64_t)(2 * range + 1)) - range);
	return m;
}

static float *normal_matrix(int64_t rows, int32_t D, uint64_t seed)
{
	float *m = malloc(sizeof(float) * (size_t)rows * (size_t)D);
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, seed, 0, 0, 0);
	for (int64_t i = 0; i < rows * D; i++)
		m[i] = (float)botify_rng_normal(&r);
	return m;
}

/* The naive answer: every score in double, sorted. */
static void naive_topk(const float *Q, int64_t nq, const float *E, int32_t N, int32_t D, int32_t k,
		       int32_t *ids, double *scores)
{
	gt_cand *c = malloc(sizeof(*c) * (size_t)N);
	for (int64_t q = 0; q < nq; q++) {
		for (int32_t t = 0; t < N; t++) {
			double s = 0;
			for (int32_t d = 0; d < D; d++)
				s += (double)Q[q * D + d] * E[(size_t)t * D + d];
			c[t] = (gt_cand){ s, t };
		}
		qsort(c, (size_t)N, sizeof(*c), gt_by_rank);
		for (int32_t i = 0; i < k; i++) {
			ids[q * k + i] = c[i].id;
			if (scores)
				scores[q * k + i] = c[i].s;
		}
	}
	free(c);
}

static void run_topk(const float *Q, int64_t nq, const float *E, int32_t N, int32_t D, int32_t k,
		     int threads, int32_t *ids, float *scores)
{
	botify_err err = {0};
	ck_assert_msg(botify_topk_inner(Q, nq, E, N, D, k, threads, ids, scores, &err) == 0, "%s",
		      err.msg);
}

/* Integer data: results must equal the naive ones exactly, ties included. */
START_TEST(topk_matches_naive_with_exact_ties)
{
	enum { NQ = 300, N = 500, D = 5 }; /* more queries than one sgemm block */
	float *Q = int_matrix(NQ, D, 2, 1), *E = int_matrix(N, D, 2, 2);
	const int32_t ks[] = { 1, 7, 64, N };
	int32_t *ids = malloc(sizeof(int32_t) * NQ * N), *want = malloc(sizeof(int32_t) * NQ * N);
	float *sc = malloc(sizeof(float) * NQ * N);
	double *wsc = malloc(sizeof(double) * NQ * N);
	long ties = 0;
	for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
		int32_t k = ks[ki];
		run_topk(Q, NQ, E, N, D, k, 1, ids, sc);
		naive_topk(Q, NQ, E, N, D, k, want, wsc);
		long bad = 0;
		for (int64_t i = 0; i < (int64_t)NQ * k; i++) {
			bad += ids[i] != want[i] || (double)sc[i] != wsc[i];
			ties += i % k && wsc[i] == wsc[i - 1];
		}
		ck_assert_msg(bad == 0, "k=%d: %ld differences from the naive top-k", k, bad);
	}
	ck_assert_int_gt(ties, 1000); /* the data really has ties to order */
	free(Q);
	free(E);
	free(ids);
	free(want);
	free(sc);
	free(wsc);
}
END_TEST

/* A hand-made case: all-equal scores come back in id order. */
START_TEST(topk_all_ties_in_id_order)
{
	enum { N = 40, D = 3 };
	float E[N * D], q[D] = { 1, 0, 0 };
	for (int t = 0; t < N; t++) {
		E[t * D] = t == 17 || t == 33 ? 2.0f : 1.0f;
		E[t * D + 1] = (float)t; /* orthogonal to q */
		E[t * D + 2] = -1;
	}
	int32_t ids[N];
	float sc[N];
	run_topk(q, 1, E, N, D, 10, 1, ids, sc);
	const int32_t want[10] = { 17, 33, 0, 1, 2, 3, 4, 5, 6, 7 };
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(ids[i], want[i]);
	ck_assert_float_eq(sc[0], 2.0f);
	ck_assert_float_eq(sc[9], 1.0f);
	run_topk(q, 1, E, N, D, N, 1, ids, sc);
	ck_assert_int_eq(ids[N - 1], 39);
	ck_assert_int_eq(ids[2], 0);
}
END_TEST

/* Real-valued data: the same set as the naive top-k, best first, scores
 * within float rounding of the exact ones. */
START_TEST(topk_matches_naive_on_floats)
{
	enum { NQ = 50, N = 1000, D = 13 };
	float *Q = normal_matrix(NQ, D, 3), *E = normal_matrix(N, D, 4);
	enum { K = 20 };
	int32_t ids[NQ * K], want[NQ * K];
	float sc[NQ * K];
	double wsc[NQ * K];
	run_topk(Q, NQ, E, N, D, K, 2, ids, sc);
	naive_topk(Q, NQ, E, N, D, K, want, wsc);
	long bad = 0, same = 0;
	for (int i = 0; i < NQ * K; i++) {
		bad += fabs(sc[i] - wsc[i]) > 1e-4;
		bad += i % K && sc[i] > sc[i - 1];
		same += ids[i] == want[i];
	}
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(same, NQ * K); /* no near-ties in this data */
	free(Q);
	free(E);
}
END_TEST

START_TEST(topk_same_for_any_thread_count)
{
	enum { NQ = 333, N = 700, D = 9, K = 25 };
	float *Q = normal_matrix(NQ, D, 5), *E = normal_matrix(N, D, 6);
	int32_t *ref = malloc(sizeof(int32_t) * NQ * K), *ids = malloc(sizeof(int32_t) * NQ * K);
	float *rsc = malloc(sizeof(float) * NQ * K), *sc = malloc(sizeof(float) * NQ * K);
	run_topk(Q, NQ, E, N, D, K, 1, ref, rsc);
	const int threads[] = { 2, 3, 4, 7, 64, 1000, 0, -3 };
	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		memset(ids, 0xff, sizeof(int32_t) * NQ * K);
		run_topk(Q, NQ, E, N, D, K, threads[i], ids, sc);
		ck_assert_msg(!memcmp(ids, ref, sizeof(int32_t) * NQ * K), "threads=%d", threads[i]);
		ck_assert_msg(!memcmp(sc, rsc, sizeof(float) * NQ * K), "threads=%d", threads[i]);
	}
	/* without a scores buffer the ids are the same */
	run_topk(Q, NQ, E, N, D, K, 3, ids, NULL);
	ck_assert(!memcmp(ids, ref, sizeof(int32_t) * NQ * K));
	/* no queries: nothing to do */
	run_topk(Q, 0, E, N, D, K, 3, ids, NULL);
	free(Q);
	free(E);
	free(ref);
	free(ids);
	free(rsc);
	free(sc);
}
END_TEST

/* Catalogs of many panels (not a whole number of them), scores with seven
 * distinct values: the naive top-k exactly, ties in id order, for k = 1, a
 * k that fills most of a query's candidates, the largest k of 64-query
 * blocks and the first of 4-query ones, and k = N, on 1 to 3 threads and on
 * the scalar kernel. */
START_TEST(topk_ties_match_naive_for_every_k)
{
	enum { NQ = 70, N = 3 * 2560 + 300, D = 3 }; /* a 6-row tail block of queries */
	float *Q = int_matrix(NQ, D, 1, 11), *E = int_matrix(N, D, 1, 12);
	const int32_t ks[] = { 1, 100, 1024, 1025, N };
	int32_t *ids = malloc(sizeof(int32_t) * NQ * N), *want = malloc(sizeof(int32_t) * NQ * N);
	float *sc = malloc(sizeof(float) * NQ * N);
	double *wsc = malloc(sizeof(double) * NQ * N);
	for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
		int32_t k = ks[ki];
		naive_topk(Q, NQ, E, N, D, k, want, wsc);
		for (int threads = 1; threads <= 4; threads++) {
			botify_topk_force_scalar(threads == 4);
			memset(ids, 0xff, sizeof(int32_t) * NQ * (size_t)k);
			run_topk(Q, NQ, E, N, D, k, threads == 4 ? 2 : threads, ids, sc);
			botify_topk_force_scalar(0);
			long bad = 0;
			for (int64_t i = 0; i < (int64_t)NQ * k; i++)
				bad += ids[i] != want[i] || (double)sc[i] != wsc[i];
			ck_assert_msg(bad == 0, "k=%d %s: %ld differences from the naive top-k", k,
				      threads == 4 ? "scalar" : threads == 1 ? "1 thread" : "threads",
				      bad);
		}
	}
	free(Q);
	free(E);
	free(ids);
	free(want);
	free(sc);
	free(wsc);
}
END_TEST

/* Real-valued scores: the lists and the score bits are those of scoring
 * every track with botify_topk_dot and sorting, for the vector kernel on 1
 * to 3 threads and for the scalar one; widths that fill the registers (32)
 * and that do not (13). */
START_TEST(topk_same_bits_as_dot_and_sort)
{
	enum { NQ = 130, N = 4 * 2560 + 1234, K = 101 };
	const int32_t widths[] = { 32, 13 };
	for (size_t wi = 0; wi < 2; wi++) {
		int32_t D = widths[wi];
		float *Q = normal_matrix(NQ, D, 13), *E = normal_matrix(N, D, 14);
		float *sc = malloc(sizeof(float) * NQ * K), *ref = malloc(sizeof(float) * NQ * K);
		int32_t *ids = malloc(sizeof(int32_t) * NQ * K), *want = malloc(sizeof(int32_t) * NQ * K);
		gt_cand *c = malloc(sizeof(*c) * N);
		for (int64_t q = 0; q < NQ; q++) {
			for (int32_t t = 0; t < N; t++)
				c[t] = (gt_cand){ botify_topk_dot(Q + q * D, E + (size_t)t * D, D), t };
			qsort(c, N, sizeof(*c), gt_by_rank);
			for (int i = 0; i < K; i++) {
				want[q * K + i] = c[i].id;
				ref[q * K + i] = (float)c[i].s + 0.0f; /* -0 comes back as +0 */
			}
		}
		for (int run = 0; run < 4; run++) {
			botify_topk_force_scalar(run == 3);
			run_topk(Q, NQ, E, N, D, K, run == 3 ? 2 : run + 1, ids, sc);
			botify_topk_force_scalar(0);
			ck_assert_msg(!memcmp(ids, want, sizeof(int32_t) * NQ * K), "D=%d run %d: ids differ",
				      D, run);
			ck_assert_msg(!memcmp(sc, ref, sizeof(float) * NQ * K), "D=%d run %d: score bits differ",
				      D, run);
		}
		free(Q);
		free(E);
		free(sc);
		free(ref);
		free(ids);
		free(want);
		free(c);
	}
}
END_TEST

/* Against scores in double precision, which order the exact inner products
 * but for 1e-16: the lists may differ only between near-ties. A float score
 * is within eb = gamma_D * sum |q_d e_d| of the exact one (D roundings of
 * at most 2^-24 each), so the i-th best of the float scores is within eb of
 * the i-th best exact score, and the track the kernel ranks i-th has an
 * exact score within 2 eb of it. The catalog holds pairs of tracks a few
 * ulp apart, so that some lists do differ. */
START_TEST(topk_differences_from_double_are_near_ties)
{
	enum { NQ = 300, N = 6000, D = 32, K = 100 };
	float *Q = normal_matrix(NQ, D, 21), *E = normal_matrix(N, D, 22);
	for (int32_t t = 1; t < N; t += 2)
		for (int32_t d = 0; d < D; d++)
			E[(size_t)t * D + d] = nextafterf(E[(size_t)(t - 1) * D + d], d % 3 ? 10.0f : -10.0f);
	int32_t *ids = malloc(sizeof(int32_t) * NQ * K), *want = malloc(sizeof(int32_t) * NQ * K);
	double *wsc = malloc(sizeof(double) * NQ * K);
	run_topk(Q, NQ, E, N, D, K, 2, ids, NULL);
	naive_topk(Q, NQ, E, N, D, K, want, wsc);
	double gamma = D * 0x1p-24 / (1 - D * 0x1p-24);
	long differ = 0, far = 0;
	double worst = 0;
	for (int64_t q = 0; q < NQ; q++) {
		double eb = 0;
		for (int32_t t = 0; t < N; t++) {
			double a = 0;
			for (int32_t d = 0; d < D; d++)
				a += fabs((double)Q[q * D + d] * E[(size_t)t * D + d]);
			eb = a > eb ? a : eb;
		}
		eb *= gamma;
		for (int i = 0; i < K; i++) {
			int64_t at = q * K + i;
			if (ids[at] == want[at])
				continue;
			differ++;
			double s = 0;
			for (int32_t d = 0; d < D; d++)
				s += (double)Q[q * D + d] * E[(size_t)ids[at] * D + d];
			double gap = fabs(s - wsc[at]);
			far += gap > 2 * eb;
			worst = gap / eb > worst ? gap / eb : worst;
		}
	}
	ck_assert_msg(far == 0, "%ld of %ld differences are not near-ties (worst gap %.3g bounds)", far,
		      differ, worst);
	ck_assert_int_gt(differ, 0); /* the near-ties really are there */
	free(Q);
	free(E);
	free(ids);
	free(want);
	free(wsc);
}
END_TEST

/* The selection alone, against a sort, with and without an exclusion. */
START_TEST(topk_select_with_exclude)
{
	enum { N = 200 };
	float s[N];
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 9, 0, 0, 0);
	for (int t = 0; t < N; t++)
		s[t] = (float)botify_rng_below(&r, 30); /* many ties */
	const int32_t excl[] = { -1, 0, 5, 57, N - 1 };
	for (size_t e = 0; e < sizeof(excl) / sizeof(excl[0]); e++)
		for (int32_t k = 1; k <= N - 1; k += k < 10 ? 1 : 37) {
			gt_cand c[N];
			int n = 0;
			for (int t = 0; t < N; t++)
				if (t != excl[e])
					c[n++] = (gt_cand){ s[t], t };
			qsort(c, (size_t)n, sizeof(c[0]), gt_by_rank);
			int32_t ids[N];
			float out[N];
			botify_topk_select(s, N, k, excl[e], ids, out);
			int bad = 0;
			for (int i = 0; i < k; i++)
				bad += ids[i] != c[i].id || out[i] != (float)c[i].s;
			ck_assert_msg(!bad, "exclude %d, k %d", excl[e], k);
		}
	/* k = N without an exclusion: a full sort */
	int32_t ids[N];
	float out[N];
	botify_topk_select(s, N, N, -1, ids, out);
	for (int i = 1; i < N; i++)
		ck_assert(out[i] < out[i - 1] || (out[i] == out[i - 1] && ids[i] > ids[i - 1]));
	/* the best track excluded: the second best comes first */
	float v[5] = { 1, 9, 3, 9, 2 };
	botify_topk_select(v, 5, 2, 1, ids, out);
	ck_assert_int_eq(ids[0], 3);
	ck_assert_int_eq(ids[1], 2);
	botify_topk_select(v, 5, 4, 3, ids, out);
	const int32_t want[4] = { 1, 2, 4, 0 };
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(ids[i], want[i]);
}
END_TEST

/* k = 0 selects nothing and writes nothing. */
/* The buffered selection on long rows: ties, rising scores (every score a
 * candidate: many compactions), falling ones, infinities, every k size
 * class (the heap takes k > 1024), exclusions; always the order of a sort. */
START_TEST(topk_select_long_rows_match_sort)
{
	enum { N = 8000 };
	float *s = malloc(sizeof(float) * N);
	gt_cand *c = malloc(sizeof(*c) * N);
	int32_t *ids = malloc(sizeof(int32_t) * N);
	float *out = malloc(sizeof(float) * N);
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 12, 0, 0, 0);
	for (int pattern = 0; pattern < 5; pattern++) {
		for (int t = 0; t < N; t++)
			s[t] = pattern == 0   ? (float)botify_rng_below(&r, 50)
			       : pattern == 1 ? (float)t * 0.5f
			       : pattern == 2 ? (float)(N - t)
			       : pattern == 3 ? (t % 3 ? -INFINITY : (float)botify_rng_normal(&r))
					      : (float)botify_rng_normal(&r);
		const int32_t ks[] = { 1, 2, 10, 15, 16, 17, 101, 512, 513, 1024, 1025, 2000, N - 1 };
		const int32_t excl[] = { -1, 0, 4, N - 1, N / 2 };
		for (size_t e = 0; e < sizeof(excl) / sizeof(excl[0]); e++) {
			int n = 0;
			for (int t = 0; t < N; t++)
				if (t != excl[e])
					c[n++] = (gt_cand){ s[t], t };
			qsort(c, (size_t)n, sizeof(c[0]), gt_by_rank);
			for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
				int32_t k = ks[ki];
				botify_topk_select(s, N, k, excl[e], ids, out);
				for (int i = 0; i < k; i++)
					ck_assert_msg(ids[i] == c[i].id && out[i] == (float)c[i].s,
						      "pattern %d exclude %d k %d rank %d: %d, sort %d", pattern,
						      excl[e], k, i, ids[i], c[i].id);
			}
		}
	}
	free(s);
	free(c);
	free(ids);
	free(out);
}
END_TEST

START_TEST(topk_k_zero)
{
	float v[4] = { 1, 2, 3, 4 };
	int32_t *ids = malloc(1);
	float *out = malloc(1);
	botify_topk_select(v, 4, 0, -1, ids, out);
	botify_topk_select(v, 4, 0, 2, ids, out);
	botify_err err = {0};
	float q[1] = { 1 };
	ck_assert_int_eq(botify_topk_inner(q, 1, v, 4, 1, 0, 2, ids, NULL, &err), 0);
	ck_assert_int_eq(botify_topk_inner(q, 1, v, 4, 1, 0, 1, ids, out, &err), 0);
	free(ids);
	free(out);
}
END_TEST

Suite *topk_suite(void)
{
	Suite *s = suite_create("topk");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60); /* long rows against full sorts; slow under ASan and load */
	tcase_add_test(tc, topk_matches_naive_with_exact_ties);
	tcase_add_test(tc, topk_all_ties_in_id_order);
	tcase_add_test(tc, topk_matches_naive_on_floats);
	tcase_add_test(tc, topk_same_for_any_thread_count);
	tcase_add_test(tc, topk_ties_match_naive_for_every_k);
	tcase_add_test(tc, topk_same_bits_as_dot_and_sort);
	tcase_add_test(tc, topk_differences_from_double_are_near_ties);
	tcase_add_test(tc, topk_select_with_exclude);
	tcase_add_test(tc, topk_k_zero);
	tcase_add_test(tc, topk_select_long_rows_match_sort);
	suite_add_tcase(s, tc);
	return s;
}
