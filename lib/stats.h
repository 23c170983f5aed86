/*
 * stats.h - the distributions the A/B analysis needs, computed here so
 * botify depends on no statistics library: Student's t (CDF and quantile,
 * any real nu >= 1, including the non-integer nu of Welch's test), the
 * Welch-Satterthwaite degrees of freedom and the chi-square survival
 * function for the sample-ratio-mismatch check.
 *
 * Accuracy: botify_t_quantile agrees with an exact (multi-precision)
 * quantile to about 1e-14 relative for nu >= 1 and p in [1e-10, 1 - 1e-10]
 * (tests/check_stats.c checks 1e-12 against tabulated scipy values). Every
 * function is pure: no state, no errors; bad arguments give NaN.
 */
#ifndef BOTIFY_STATS_H
#define BOTIFY_STATS_H

#include <stdint.h>

/* P(T <= t) for Student's t with nu > 0 degrees of freedom. */
double botify_t_cdf(double t, double nu);

/* The p-quantile of Student's t with nu > 0 degrees of freedom: the t with
 * P(T <= t) = p. NaN when p is outside (0, 1) or nu <= 0 or either is NaN;
 * nu = +inf gives the normal quantile. */
double botify_t_quantile(double p, double nu);

/* The standard normal p-quantile (the nu = inf limit of the above). */
double botify_normal_quantile(double p);

/* Welch-Satterthwaite degrees of freedom of the difference of two means,
 * from the sample sizes and the (n - 1) variances, computed in the order
 * the original notebook computes it:
 *   (s2_0/n_0 + s2_1/n_1)^2 / (s2_0^2/n_0^2/(n_0-1) + s2_1^2/n_1^2/(n_1-1))
 * NaN when both variances are 0 (as numpy gives). */
double botify_welch_df(double n0, double n1, double s2_0, double s2_1);

/* P(X > x) for a chi-square variable with k > 0 degrees of freedom. */
double botify_chi2_sf(double x, double k);

/* The two-sided p-value of a t statistic: P(|T| >= |t|), from the lower
 * tail so tiny p-values keep their precision. NaN for NaN input. */
double botify_t_p_two_sided(double t, double nu);

/* Adjustment of n p-values for multiple comparisons. NaN p-values (rows
 * that are no test, e.g. zero variance) stay NaN and do not count in n. */
enum botify_p_adjust {
	BOTIFY_P_ADJUST_NONE,
	BOTIFY_P_ADJUST_HOLM,   /* family-wise error rate, any dependence */
	BOTIFY_P_ADJUST_BH,     /* false discovery rate (Benjamini-Hochberg) */
};

/* "none", "holm", "bh" to the enum; -1 when unknown. */
int botify_p_adjust_parse(const char *name);
const char *botify_p_adjust_name(int method);

/* out[i] = the adjusted p[i] (R's p.adjust); out may be p. Returns -1 only
 * when the scratch space cannot be allocated. */
int botify_p_adjust(const double *p, int n, int method, double *out);

/* Sample size of a two-sided z test: the n at which a relative effect of
 * size mde (same unit as se) is detected with probability power at level
 * alpha, given that a pilot of n_pilot units measured the effect with
 * standard error se and the standard error shrinks as 1/sqrt(n):
 *   n = n_pilot * ((z_{1-alpha/2} + z_{power}) * se / mde)^2
 * NaN when se is not positive or mde is 0. */
double botify_power_n(double n_pilot, double se, double mde, double alpha, double power);

/* The power of that test at the pilot's own size: the probability that
 * |estimate / se| > z_{1-alpha/2} when the true effect is mde. */
double botify_power_at(double se, double mde, double alpha);

/* A sample's count, sum and sum of squared deviations from its mean,
 * updated one value at a time (Welford) and merged (Chan et al.): its
 * variance does not lose the digits that sum-of-squares formulas lose to
 * cancellation when the mean is large against the spread. The mean is the
 * plain sum / n. All-zero is the empty sample. */
typedef struct botify_moments {
	int64_t n;
	double sum, m2;
} botify_moments;

void botify_moments_add(botify_moments *m, double x);
/* into = the union of the two samples; from is unchanged. */
void botify_moments_merge(botify_moments *into, const botify_moments *from);
/* The mean (NaN for n = 0) and the standard error of the mean, sqrt of the
 * (n - 1) variance over n (NaN for n < 2). */
void botify_mean_sem(const botify_moments *m, double *mean, double *sem);

#endif
