/* check_rng.c - keyed xoshiro256** streams: reproducible, independent per
 * key, and the derived draws (below, uniform, normal) in range and roughly
 * distributed as promised. All seeds are fixed, so every bound is checked
 * deterministically. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* xoshiro256** from the state {1, 2, 3, 4}: the reference generator's first
 * outputs (computed from Blackman & Vigna's published algorithm). */
START_TEST(rng_core_matches_reference_xoshiro256starstar)
{
	botify_rng r = { { 1, 2, 3, 4 } };
	const uint64_t want[6] = { 11520ULL, 0ULL, 1509978240ULL, 1215971899390074240ULL,
				   1216172134540287360ULL, 607988272756665600ULL };
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(botify_rng_u64(&r), want[i]);
}
END_TEST

START_TEST(rng_same_key_same_stream)
{
	botify_rng a, b;
	botify_rng_init(&a, BOTIFY_RNG_TEST, 42, 3, 1234567, BOTIFY_STREAM_USER);
	botify_rng_init(&b, BOTIFY_RNG_TEST, 42, 3, 1234567, BOTIFY_STREAM_USER);
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(botify_rng_u64(&a), botify_rng_u64(&b));
	/* re-initialising restarts the stream */
	botify_rng_init(&a, BOTIFY_RNG_TEST, 42, 3, 1234567, BOTIFY_STREAM_USER);
	botify_rng_init(&b, BOTIFY_RNG_TEST, 42, 3, 1234567, BOTIFY_STREAM_USER);
	uint64_t first = botify_rng_u64(&a);
	ck_assert_uint_eq(first, botify_rng_u64(&b));
	botify_rng_init(&a, BOTIFY_RNG_TEST, 42, 3, 1234567, BOTIFY_STREAM_USER);
	ck_assert_uint_eq(botify_rng_u64(&a), first);
	/* the state is never all zero */
	botify_rng_init(&a, BOTIFY_RNG_TEST, 0, 0, 0, 0);
	ck_assert(a.s[0] | a.s[1] | a.s[2] | a.s[3]);
}
END_TEST

/* A key fed word by word seeds the stream botify_rng_init does, and both
 * the streams every earlier release drew (these values are theirs): logs
 * stay reproducible across releases. */
START_TEST(rng_key_words_seed_the_same_streams)
{
	const uint64_t want[2][2] = { { 3009130948876807702ULL, 14165950791793676364ULL },
				      { 17270783926552856093ULL, 8494709142922477506ULL } };
	const uint64_t key[2][4] = { { 31337, 2, 123456789, BOTIFY_STREAM_REC | (1u << 8) },
				     { 1, 0, 0, BOTIFY_STREAM_USER } };
	for (int k = 0; k < 2; k++) {
		botify_rng a, b;
		botify_rng_init(&a, BOTIFY_RNG_EPISODE, key[k][0], key[k][1], key[k][2], key[k][3]);
		botify_rng_key day = botify_rng_key_then(botify_rng_key_of(BOTIFY_RNG_EPISODE, key[k][0]),
							 key[k][1]);
		botify_rng_seed_key(&b, botify_rng_key_then(botify_rng_key_then(day, key[k][2]), key[k][3]));
		ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
		for (int i = 0; i < 2; i++)
			ck_assert_uint_eq(botify_rng_u64(&a), want[k][i]);
	}
}
END_TEST

/* Each key word matters, in its own position. */
START_TEST(rng_different_keys_differ)
{
	const uint64_t keys[][4] = {
		{ 1, 0, 0, 0 }, { 2, 0, 0, 0 }, { 1, 1, 0, 0 }, { 1, 0, 1, 0 }, { 1, 0, 0, 1 },
		{ 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 }, { 1, 2, 3, 4 }, { 1, 3, 2, 4 },
		{ 1, 2, 4, 3 }, { 2, 1, 3, 4 }, { UINT64_MAX, 0, 0, 0 }, { 0, 0, 0, 0 },
	};
	enum { K = sizeof(keys) / sizeof(keys[0]), L = 4 };
	uint64_t out[K][L];
	for (int k = 0; k < K; k++) {
		botify_rng r;
		botify_rng_init(&r, BOTIFY_RNG_TEST, keys[k][0], keys[k][1], keys[k][2], keys[k][3]);
		for (int i = 0; i < L; i++)
			out[k][i] = botify_rng_u64(&r);
	}
	for (int i = 0; i < K; i++)
		for (int j = i + 1; j < K; j++)
			for (int x = 0; x < L; x++)
				for (int y = 0; y < L; y++)
					ck_assert_msg(out[i][x] != out[j][y], "keys %d and %d share output", i,
						      j);
}
END_TEST

/* The domain tag keeps key families apart: every pair of domains with the
 * same other words (zeros, small counters, the words an episode and a world
 * phase used to share) gives unrelated streams. */
START_TEST(rng_domains_give_distinct_streams)
{
	const botify_rng_domain dom[] = { BOTIFY_RNG_EPISODE, BOTIFY_RNG_WORLDGEN,
					  BOTIFY_RNG_MODEL_INIT, BOTIFY_RNG_TRAIN,
					  BOTIFY_RNG_SESSION, BOTIFY_RNG_SALT, BOTIFY_RNG_TEST };
	const uint64_t words[][4] = {
		{ 0, 0, 0, 0 }, { 1, 0, 0, 0 }, { 1, 2, 3, 0 }, { 7, 2, 0x7777, 4 }, { 42, 3, 1, 0 },
	};
	enum { D = sizeof(dom) / sizeof(dom[0]), W = sizeof(words) / sizeof(words[0]), L = 4 };
	for (int w = 0; w < W; w++) {
		uint64_t out[D][L];
		for (int d = 0; d < D; d++) {
			botify_rng r;
			botify_rng_init(&r, dom[d], words[w][0], words[w][1], words[w][2], words[w][3]);
			for (int i = 0; i < L; i++)
				out[d][i] = botify_rng_u64(&r);
		}
		for (int i = 0; i < D; i++)
			for (int j = i + 1; j < D; j++)
				for (int x = 0; x < L; x++)
					for (int y = 0; y < L; y++)
						ck_assert_msg(out[i][x] != out[j][y],
							      "domains %d and %d share output for words %d",
							      (int)dom[i], (int)dom[j], w);
	}
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Neighbouring episodes (the common case) get unrelated streams: no two of
 * 5000 consecutive episode keys share a first output, and the first outputs'
 * low bits are balanced. */
START_TEST(rng_episode_streams_unrelated)
{
	enum { E = 5000 };
	static uint64_t first[E];
	int ones = 0;
	for (int i = 0; i < E; i++) {
		botify_rng r;
		botify_rng_init(&r, BOTIFY_RNG_TEST, 1, 0, (uint64_t)i, BOTIFY_STREAM_REC);
		first[i] = botify_rng_u64(&r);
		ones += (int)(first[i] & 1);
	}
	qsort(first, E, sizeof(first[0]), cmp_u64);
	int dups = 0;
	for (int i = 1; i < E; i++)
		dups += first[i] == first[i - 1];
	ck_assert_int_eq(dups, 0);
	ck_assert_int_gt(ones, E / 2 - 200);
	ck_assert_int_lt(ones, E / 2 + 200);
}
END_TEST

START_TEST(rng_below_in_range)
{
	const uint64_t ns[] = { 1, 2, 3, 7, 10, 1000, 65537, (1ULL << 32) + 15, (1ULL << 63) + 1,
				UINT64_MAX };
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 7, 1, 2, 3);
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		uint64_t max = 0;
		for (int i = 0; i < 20000; i++) {
			uint64_t v = botify_rng_below(&r, ns[k]);
			if (v > max)
				max = v;
		}
		ck_assert_msg(max < ns[k], "below(%llu) gave %llu", (unsigned long long)ns[k],
			      (unsigned long long)max);
		if (ns[k] == 1)
			ck_assert_uint_eq(max, 0);
		else if (ns[k] <= 1000)
			ck_assert_uint_eq(max, ns[k] - 1); /* the top value is reachable */
		else
			ck_assert_uint_gt(max, ns[k] / 2);
	}
}
END_TEST

/* Chi-square over n buckets; the bounds are far in the tail (p < 1e-6) for
 * these degrees of freedom, so only a broken generator fails them. */
static double chi_square(const long *count, int n, long draws)
{
	double expect = (double)draws / n, chi = 0;
	for (int i = 0; i < n; i++)
		chi += (count[i] - expect) * (count[i] - expect) / expect;
	return chi;
}

START_TEST(rng_below_uniform)
{
	const struct { uint64_t n; double bound; } c[] = {
		{ 2, 25 }, { 3, 28 }, { 10, 45 }, { 37, 90 }, { 100, 180 },
	};
	for (uint64_t seed = 1; seed <= 3; seed++)
		for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
			long count[100] = {0};
			botify_rng r;
			botify_rng_init(&r, BOTIFY_RNG_TEST, seed, 11, 0, 0);
			const long draws = 100000;
			for (long i = 0; i < draws; i++)
				count[botify_rng_below(&r, c[k].n)]++;
			double chi = chi_square(count, (int)c[k].n, draws);
			ck_assert_msg(chi < c[k].bound, "below(%llu) seed %llu: chi2 %g",
				      (unsigned long long)c[k].n, (unsigned long long)seed, chi);
		}
	/* a range just above 2^63 is where a modulo would be most biased: the
	 * halves must still be even */
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 5, 0, 0, 0);
	long low = 0;
	for (int i = 0; i < 100000; i++)
		low += botify_rng_below(&r, (1ULL << 63) + 12345) < (1ULL << 62) + 6172;
	ck_assert_int_gt(low, 50000 - 1000);
	ck_assert_int_lt(low, 50000 + 1000);
}
END_TEST

START_TEST(rng_uniform_in_unit_interval)
{
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 99, 0, 0, 0);
	long count[20] = {0};
	double sum = 0, mn = 1, mx = 0;
	const long draws = 200000;
	long bad = 0;
	for (long i = 0; i < draws; i++) {
		double u = botify_rng_uniform(&r);
		bad += !(u >= 0.0 && u < 1.0);
		bad += u * 0x1p53 != floor(u * 0x1p53); /* 53 bits: u * 2^53 is an integer */
		if (bad)
			break;
		sum += u;
		mn = u < mn ? u : mn;
		mx = u > mx ? u : mx;
		count[(int)(u * 20)]++;
	}
	ck_assert_int_eq(bad, 0);
	ck_assert_double_lt(fabs(sum / draws - 0.5), 0.005);
	ck_assert_double_lt(mn, 1e-4);
	ck_assert_double_gt(mx, 1 - 1e-4);
	ck_assert_double_lt(chi_square(count, 20, draws), 60);
}
END_TEST

START_TEST(rng_normal_moments)
{
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 2024, 1, 2, 3);
	const long draws = 200000;
	double sum = 0, sq = 0, cube = 0;
	long within1 = 0, within2 = 0;
	for (long i = 0; i < draws; i++) {
		double x = botify_rng_normal(&r);
		sum += x;
		sq += x * x;
		cube += x * x * x;
		within1 += fabs(x) < 1;
		within2 += fabs(x) < 2;
	}
	double mean = sum / draws, var = sq / draws - mean * mean;
	ck_assert(isfinite(sum) && isfinite(sq));
	ck_assert_double_lt(fabs(mean), 0.01);
	ck_assert_double_lt(fabs(var - 1), 0.02);
	ck_assert_double_lt(fabs(cube / draws), 0.05); /* symmetric */
	ck_assert_double_lt(fabs((double)within1 / draws - 0.682689), 0.005);
	ck_assert_double_lt(fabs((double)within2 / draws - 0.954500), 0.003);
	/* and reproducible */
	botify_rng a, b;
	botify_rng_init(&a, BOTIFY_RNG_TEST, 3, 0, 0, 0);
	botify_rng_init(&b, BOTIFY_RNG_TEST, 3, 0, 0, 0);
	for (int i = 0; i < 100; i++)
		ck_assert(botify_rng_normal(&a) == botify_rng_normal(&b));
}
END_TEST

/* the batch: the deviates of one call at a time, bit for bit, across batch
 * boundaries, and the stream left where they leave it */
START_TEST(rng_normals_match_one_at_a_time)
{
	static const int64_t ns[] = { 1, 63, 64, 65, 200, 1000 };
	double want[1000], got[1000];
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		botify_rng a, b;
		botify_rng_init(&a, BOTIFY_RNG_TEST, 12, (uint64_t)i, 0, 0);
		b = a;
		for (int64_t k = 0; k < ns[i]; k++)
			want[k] = botify_rng_normal(&a);
		botify_rng_normals(&b, got, ns[i]);
		ck_assert_mem_eq(want, got, (size_t)ns[i] * sizeof(double));
		ck_assert_mem_eq(a.s, b.s, sizeof(a.s));
	}
}
END_TEST

/* the two halves, the finish in place: the deviates of one call at a time
 * and the stream left where they leave it */
START_TEST(rng_polar_halves_match_one_at_a_time)
{
	static const int64_t ns[] = { 1, 3, 4, 5, 257, 1000 };
	double want[1000], u[1000], s[1000];
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		botify_rng a, b;
		botify_rng_init(&a, BOTIFY_RNG_TEST, 13, (uint64_t)i, 0, 0);
		b = a;
		for (int64_t k = 0; k < ns[i]; k++)
			want[k] = botify_rng_normal(&a);
		botify_rng_polar_pairs(&b, u, s, ns[i]);
		ck_assert_mem_eq(a.s, b.s, sizeof(a.s));
		for (int64_t k = 0; k < ns[i]; k++)
			ck_assert(s[k] > 0 && s[k] < 1);
		botify_rng_polar_finish(u, s, ns[i], u);
		ck_assert_mem_eq(want, u, (size_t)ns[i] * sizeof(double));
	}
}
END_TEST

/* the pairs four at a time, in rounds and blocks of words: every size
 * around their edges gives the deviates of one call at a time, leaves the
 * stream where they leave it and writes nothing past n */
START_TEST(rng_polar_pairs_block_edges)
{
	static const int64_t ns[] = { 7, 8, 9, 11, 12, 13, 255, 256, 257, 511, 1023, 1024, 5000, 20000 };
	enum { MAXN = 20000, GUARD = 8 };
	static double want[MAXN], u[MAXN + GUARD], s[MAXN + GUARD];
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		botify_rng a, b;
		botify_rng_init(&a, BOTIFY_RNG_TEST, 14, (uint64_t)i, 0, 0);
		b = a;
		for (int64_t k = 0; k < ns[i]; k++)
			want[k] = botify_rng_normal(&a);
		for (int64_t k = 0; k < ns[i] + GUARD; k++)
			u[k] = s[k] = -7.0;
		botify_rng_polar_pairs(&b, u, s, ns[i]);
		ck_assert_mem_eq(a.s, b.s, sizeof(a.s));
		for (int64_t k = ns[i]; k < ns[i] + GUARD; k++)
			ck_assert(u[k] == -7.0 && s[k] == -7.0);
		botify_rng_polar_finish(u, s, ns[i], u);
		ck_assert_mem_eq(want, u, (size_t)ns[i] * sizeof(double));
	}
}
END_TEST

Suite *rng_suite(void)
{
	Suite *s = suite_create("rng");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, rng_core_matches_reference_xoshiro256starstar);
	tcase_add_test(tc, rng_same_key_same_stream);
	tcase_add_test(tc, rng_key_words_seed_the_same_streams);
	tcase_add_test(tc, rng_different_keys_differ);
	tcase_add_test(tc, rng_domains_give_distinct_streams);
	tcase_add_test(tc, rng_episode_streams_unrelated);
	tcase_add_test(tc, rng_below_in_range);
	tcase_add_test(tc, rng_below_uniform);
	tcase_add_test(tc, rng_uniform_in_unit_interval);
	tcase_add_test(tc, rng_normal_moments);
	tcase_add_test(tc, rng_normals_match_one_at_a_time);
	tcase_add_test(tc, rng_polar_pairs_block_edges);
	tcase_add_test(tc, rng_polar_halves_match_one_at_a_time);
	suite_add_tcase(s, tc);
	return s;
}
