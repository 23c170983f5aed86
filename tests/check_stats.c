/* check_stats.c - Student's t quantile and CDF, Welch's degrees of freedom
 * and the chi-square survival function against tabulated values made by
 * tests/data/ab/gen_ab_fixtures.py (scipy, and 40-digit mpmath for the
 * quantiles, since scipy's own t.ppf is off by up to ~1e-9 near p = 0.5 and
 * at p = 0.95 for some nu). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"

#define AB_DIR DATA_DIR "/ab"

static double rel(double got, double want)
{
	if (got == want)
		return 0;
	return fabs(got - want) / (want != 0 ? fabs(want) : 1);
}

static FILE *open_fixture(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", AB_DIR, name);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	return f;
}

/* Reads the next data line (skipping # comments) into buf. */
static int next_line(FILE *f, char *buf, size_t n)
{
	while (fgets(buf, (int)n, f))
		if (buf[0] != '#')
			return 1;
	return 0;
}

START_TEST(t_quantile_matches_exact_values)
{
	FILE *f = open_fixture("t_quantiles.txt");
	char line[256];
	int n = 0, scipy_close = 0;
	double worst = 0, worst_scipy = 0;
	while (next_line(f, line, sizeof(line))) {
		double p, nu, scipy, exact;
		ck_assert_int_eq(sscanf(line, "%lf %lf %lf %lf", &p, &nu, &scipy, &exact), 4);
		double t = botify_t_quantile(p, nu);
		double r = rel(t, exact);
		ck_assert_msg(r <= 1e-12, "t_quantile(%.17g, %.17g) = %.17g, exact %.17g (rel %.3g)", p,
			      nu, t, exact, r);
		if (r > worst)
			worst = r;
		/* against scipy wherever scipy is itself within 1e-13 of exact */
		if (rel(scipy, exact) <= 1e-13) {
			scipy_close++;
			ck_assert_msg(rel(t, scipy) <= 1e-12, "t_quantile(%g, %g) = %.17g, scipy %.17g", p,
				      nu, t, scipy);
			if (rel(t, scipy) > worst_scipy)
				worst_scipy = rel(t, scipy);
		}
		n++;
	}
	fclose(f);
	ck_assert_int_ge(n, 500);
	ck_assert_int_ge(scipy_close, 250);
}
END_TEST

START_TEST(t_quantile_special_cases)
{
	ck_assert(isnan(botify_t_quantile(0, 5)));
	ck_assert(isnan(botify_t_quantile(1, 5)));
	ck_assert(isnan(botify_t_quantile(0.5, 0)));
	ck_assert(isnan(botify_t_quantile(0.975, NAN)));  /* Welch nu of zero variances */
	ck_assert(isnan(botify_t_quantile(NAN, 3)));
	ck_assert(botify_t_quantile(0.5, 7.5) == 0);
	/* nu = 1 is Cauchy, nu = 2 has a closed form */
	ck_assert(rel(botify_t_quantile(0.75, 1), 1.0) < 1e-15);
	double p = 0.9;
	ck_assert(rel(botify_t_quantile(p, 2), (2 * p - 1) / sqrt(2 * p * (1 - p))) < 1e-14);
	/* symmetry and the normal limit */
	ck_assert(botify_t_quantile(0.25, 12.3) == -botify_t_quantile(0.75, 12.3));
	ck_assert(rel(botify_t_quantile(0.025, 12.3), -botify_t_quantile(0.975, 12.3)) < 1e-14);
	ck_assert(rel(botify_t_quantile(0.975, INFINITY), 1.959963984540054) < 1e-15);
	ck_assert(rel(botify_normal_quantile(0.975), 1.959963984540054) < 1e-15);
}
END_TEST

START_TEST(t_cdf_inverts_the_quantile)
{
	const double nus[] = { 1, 1.5, 3.7, 30, 1000, 1e6 };
	const double ps[] = { 1e-6, 0.01, 0.3, 0.5, 0.7, 0.975, 0.9995 };
	for (size_t i = 0; i < sizeof(nus) / sizeof(nus[0]); i++)
		for (size_t j = 0; j < sizeof(ps) / sizeof(ps[0]); j++) {
			double t = botify_t_quantile(ps[j], nus[i]);
			double p = botify_t_cdf(t, nus[i]);
			ck_assert_msg(rel(p, ps[j]) < 1e-12, "cdf(q(%g, %g)) = %.17g", ps[j], nus[i], p);
		}
	ck_assert(botify_t_cdf(INFINITY, 3) == 1.0);
	ck_assert(botify_t_cdf(0, 3) == 0.5);
}
END_TEST

START_TEST(welch_df_matches_numpy)
{
	FILE *f = open_fixture("welch_df.txt");
	char line[256];
	int n = 0;
	while (next_line(f, line, sizeof(line))) {
		double n0, n1, s0, s1, want;
		ck_assert_int_eq(sscanf(line, "%lf %lf %lf %lf %lf", &n0, &n1, &s0, &s1, &want), 5);
		double got = botify_welch_df(n0, n1, s0, s1);
		ck_assert_msg(rel(got, want) <= 1e-15, "welch(%g, %g, %g, %g) = %.17g, numpy %.17g", n0,
			      n1, s0, s1, got, want);
		n++;
	}
	fclose(f);
	ck_assert_int_ge(n, 40);
	ck_assert(isnan(botify_welch_df(10, 12, 0, 0)));
	/* one zero variance: nu is the other arm's n - 1 */
	ck_assert(rel(botify_welch_df(10, 12, 0, 3.5), 11) < 1e-15);
}
END_TEST

START_TEST(chi2_sf_matches_scipy)
{
	FILE *f = open_fixture("chi2_sf.txt");
	char line[256];
	int n = 0;
	while (next_line(f, line, sizeof(line))) {
		double x, k, want;
		ck_assert_int_eq(sscanf(line, "%lf %lf %lf", &x, &k, &want), 3);
		double got = botify_chi2_sf(x, k);
		ck_assert_msg(rel(got, want) <= 1e-12, "chi2_sf(%g, %g) = %.17g, scipy %.17g", x, k, got,
			      want);
		n++;
	}
	fclose(f);
	ck_assert_int_ge(n, 40);
	ck_assert(botify_chi2_sf(0, 1) == 1.0);
	ck_assert(isnan(botify_chi2_sf(1, 0)));
}
END_TEST

START_TEST(two_sided_p_matches_scipy)
{
	/* 2 * scipy.stats.t.sf(|t|, nu) */
	static const double cases[][3] = {
		{ 2.0, 10, 0.07338803477074039 },
		{ -3.5, 4.5, 0.02054168996938556 },
		{ 0.0, 7, 1.0 },
		{ 10.0, 100, 9.901688984594094e-17 },
		{ 40.0, 3, 3.438068078915854e-05 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double p = botify_t_p_two_sided(cases[i][0], cases[i][1]);
		ck_assert_msg(fabs(p - cases[i][2]) <= 1e-12 * cases[i][2], "t %g nu %g: p %.17g, scipy %.17g",
			      cases[i][0], cases[i][1], p, cases[i][2]);
	}
	ck_assert(isnan(botify_t_p_two_sided(NAN, 5)));
	/* where the density underflows at large nu (t about 38.5 to 40) the
	 * tail is 0 exactly, and just inside it still positive: the integral
	 * stops early there without changing either side */
	ck_assert(botify_t_p_two_sided(60.0, 9997.9) == 0.0);
	ck_assert(botify_t_p_two_sided(1e6, 1e6) == 0.0);
	ck_assert(botify_t_p_two_sided(39.0, 9997.9) > 0.0);
	ck_assert(botify_t_cdf(-39.0, 9997.9) > 0.0 && botify_t_cdf(-41.0, 9997.9) == 0.0);
}
END_TEST

START_TEST(p_adjust_matches_known_examples)
{
	/* R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm") and "BH" */
	const double p[5] = { 0.01, 0.02, 0.03, 0.04, 0.05 };
	const double holm[5] = { 0.05, 0.08, 0.09, 0.09, 0.09 };
	double out[5];
	ck_assert_int_eq(botify_p_adjust(p, 5, BOTIFY_P_ADJUST_HOLM, out), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_msg(fabs(out[i] - holm[i]) < 1e-15, "holm %d: %g", i, out[i]);
	ck_assert_int_eq(botify_p_adjust(p, 5, BOTIFY_P_ADJUST_BH, out), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_msg(fabs(out[i] - 0.05) < 1e-15, "bh %d: %g", i, out[i]);
	/* unsorted, with a NaN that is no test and a tie; R's p.adjust gives
	 * holm: 0.075 0.8 0.02 0.075 NA; BH: 1/30 0.8 0.02 1/30 NA */
	const double q[5] = { 0.025, 0.8, 0.005, 0.025, NAN };
	const double qh[4] = { 0.075, 0.8, 0.02, 0.075 }, qb[4] = { 0.0333333333333333333, 0.8, 0.02,
								    0.0333333333333333333 };
	ck_assert_int_eq(botify_p_adjust(q, 5, BOTIFY_P_ADJUST_HOLM, out), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(fabs(out[i] - qh[i]) < 1e-15, "holm q %d: %.17g", i, out[i]);
	ck_assert(isnan(out[4]));
	ck_assert_int_eq(botify_p_adjust(q, 5, BOTIFY_P_ADJUST_BH, out), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(fabs(out[i] - qb[i]) < 1e-15, "bh q %d: %.17g", i, out[i]);
	/* none leaves them, in place too */
	double r[3] = { 0.5, 0.01, 1.0 };
	ck_assert_int_eq(botify_p_adjust(r, 3, BOTIFY_P_ADJUST_NONE, r), 0);
	ck_assert(r[0] == 0.5 && r[1] == 0.01 && r[2] == 1.0);
	ck_assert_int_eq(botify_p_adjust_parse("holm"), BOTIFY_P_ADJUST_HOLM);
	ck_assert_int_eq(botify_p_adjust_parse("bh"), BOTIFY_P_ADJUST_BH);
	ck_assert_int_eq(botify_p_adjust_parse("bonferroni"), -1);
}
END_TEST

START_TEST(power_matches_the_closed_form)
{
	/* n = n0 ((z_{0.975} + z_{0.8}) se / mde)^2, z's from scipy.stats.norm.ppf */
	double z = 2.8015852181129683;
	double n = botify_power_n(1000, 2.0, 1.5, 0.05, 0.8);
	ck_assert_msg(fabs(n - 1000 * (z * 2.0 / 1.5) * (z * 2.0 / 1.5)) < 1e-9 * n, "n %.17g", n);
	ck_assert_msg(fabs(n - 13953.56397217616) < 1e-8, "n %.17g", n);
	/* the sign of the effect does not matter */
	ck_assert(fabs(botify_power_n(1000, 2.0, -1.5, 0.05, 0.8) - n) < 1e-9);
	/* at the computed n the power is the target */
	double se_at_n = 2.0 * sqrt(1000 / n);
	/* (the closed form ignores the opposite tail, worth 1e-6 here) */
	ck_assert_msg(fabs(botify_power_at(se_at_n, 1.5, 0.05) - 0.8) < 2e-6, "power %.17g",
		      botify_power_at(se_at_n, 1.5, 0.05));
	/* scipy: norm.sf(1.959964 - 1.5/0.7) + norm.cdf(-1.959964 - 1.5/0.7) */
	ck_assert(fabs(botify_power_at(0.7, 1.5, 0.05) - 0.5725794815262669) < 1e-12);
	ck_assert(isnan(botify_power_n(1000, 0.0, 1.5, 0.05, 0.8)));
	ck_assert(isnan(botify_power_n(1000, 2.0, 0.0, 0.05, 0.8)));
}
END_TEST

static botify_moments sample(const double *x, int n)
{
	botify_moments m = {0};
	for (int i = 0; i < n; i++)
		botify_moments_add(&m, x[i]);
	return m;
}

START_TEST(mean_sem_small_cases)
{
	double mean, sem;
	const double a[] = { 1, 2, 3, 4 }, b[] = { 7 }, c[] = { 2, 2, 2 };
	botify_moments m = sample(a, 4); /* mean 2.5, sample variance 5/3 */
	botify_mean_sem(&m, &mean, &sem);
	ck_assert_double_eq_tol(mean, 2.5, 1e-15);
	ck_assert_double_eq_tol(sem, sqrt(5.0 / 12), 1e-15);
	m = sample(b, 1);
	botify_mean_sem(&m, &mean, &sem);
	ck_assert(mean == 7 && isnan(sem));
	m = sample(NULL, 0);
	botify_mean_sem(&m, &mean, &sem);
	ck_assert(isnan(mean) && isnan(sem));
	m = sample(c, 3);
	botify_mean_sem(&m, &mean, &sem);
	ck_assert(mean == 2 && sem == 0);
}
END_TEST

/* A mean large against the spread: sum-of-squares loses every digit of the
 * variance (the squares near 1e18 are 128 apart in a double), Welford keeps
 * them; a merge of two halves gives the same as one pass. */
START_TEST(mean_sem_stable_where_sum_of_squares_fails)
{
	const double x[] = { 1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16 };
	double sum = 0, sq = 0;
	for (int i = 0; i < 4; i++) {
		sum += x[i];
		sq += x[i] * x[i];
	}
	double naive_var = (sq - sum * sum / 4) / 3, var = 30; /* deviations 6, 3, 3, 6 */
	ck_assert_msg(fabs(naive_var - var) > 1, "the naive formula should fail here: %g", naive_var);
	double mean, sem;
	botify_moments m = sample(x, 4);
	botify_mean_sem(&m, &mean, &sem);
	ck_assert_double_eq(mean, 1e9 + 10);
	ck_assert_double_eq_tol(sem, sqrt(var / 4), 1e-12);
	botify_moments lo = sample(x, 2), hi = sample(x + 2, 2), empty = {0};
	botify_moments_merge(&lo, &hi);
	botify_moments_merge(&lo, &empty);
	botify_moments_merge(&empty, &lo);
	botify_mean_sem(&empty, &mean, &sem);
	ck_assert_int_eq(empty.n, 4);
	ck_assert_double_eq(mean, 1e9 + 10);
	ck_assert_double_eq_tol(sem, sqrt(var / 4), 1e-12);
}
END_TEST

Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("stats");
	tcase_add_test(tc, t_quantile_matches_exact_values);
	tcase_add_test(tc, t_quantile_special_cases);
	tcase_add_test(tc, t_cdf_inverts_the_quantile);
	tcase_add_test(tc, welch_df_matches_numpy);
	tcase_add_test(tc, mean_sem_small_cases);
	tcase_add_test(tc, mean_sem_stable_where_sum_of_squares_fails);
	tcase_add_test(tc, chi2_sf_matches_scipy);
	tcase_add_test(tc, two_sided_p_matches_scipy);
	tcase_add_test(tc, p_adjust_matches_known_examples);
	tcase_add_test(tc, power_matches_the_closed_form);
	suite_add_tcase(s, tc);
	return s;
}
