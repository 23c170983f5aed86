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

#endif
