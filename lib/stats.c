/*
 * stats.c - Student's t, normal and chi-square functions for the A/B
 * analysis.
 *
 * The t CDF is the incomplete beta function split where each half is
 * accurate to a few ulps:
 *   tail    Q(t) = P(T > t)     = 1/2 I_x(nu/2, 1/2),  x = nu / (nu + t^2)
 *   central C(t) = P(0 < T < t) = 1/2 I_y(1/2, nu/2),  y = t^2 / (nu + t^2)
 * Each I is front * continued fraction (modified Lentz). The front holds
 * Gamma(a + 1/2) / Gamma(a), which lgamma would give with an absolute error
 * near 1e-16 * lgamma(a) (1e-10 relative at nu = 1e6); it is computed
 * instead from Stirling's series of the ratio, so it stays at a few ulps for
 * any nu. The continued fraction of the tail converges slowly when nu is
 * large (x near 1), so the central form is used there for all but far tails.
 *
 * The quantile solves Q(t) = q (or C(t) = 1/2 - q near 0) by Newton's
 * method in t. Q is convex for t > 0, so from a start left of the root
 * (the normal quantile is one: t tails are heavier) the iterates increase
 * monotonically to it; no bracketing is needed.
 */
#include "stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SQRT_PI 1.7724538509055160273
#define SQRT_2PI 2.5066282746310005024
#define PI 3.14159265358979323846
#define SQRT2 1.41421356237309504880

enum { CF_MAX_ITER = 100000 };

/* Stirling's series of lgamma(z) minus its leading terms, for z >= 10. */
static double stirling_tail(double z)
{
	double r = 1.0 / z, r2 = r * r;
	return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 -
		r2 * (1.0 / 1188 - r2 * (691.0 / 360360 - r2 * (1.0 / 156)))))));
}

/* Gamma(a + 1/2) / Gamma(a) for a > 0, to a few ulps. For large a it is
 * sqrt(a) * exp(a log1p(1/(2a)) - 1/2 + S(a + 1/2) - S(a)) (the leading
 * terms of the two lgammas cancel analytically); small a is shifted up with
 * h(a) = h(a + 1) * a / (a + 1/2). */
static double gamma_ratio_half(double a)
{
	double scale = 1.0;
	while (a < 20.0) {
		scale *= a / (a + 0.5);
		a += 1.0;
	}
	double e = a * log1p(0.5 / a) - 0.5 + stirling_tail(a + 0.5) - stirling_tail(a);
	return scale * sqrt(a) * exp(e);
}

/* The continued fraction of I_x(a, b) without its front, by the modified
 * Lentz method; converges fast when x < (a + 1) / (a + b + 2). */
static double beta_cf(double a, double b, double x)
{
	const double tiny = 1e-300;
	double qab = a + b, qap = a + 1.0, qam = a - 1.0;
	double c = 1.0, d = 1.0 - qab * x / qap;
	if (fabs(d) < tiny)
		d = tiny;
	d = 1.0 / d;
	double h = d;
	for (int m = 1; m <= CF_MAX_ITER; m++) {
		double m2 = 2.0 * m;
		double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
		d = 1.0 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1.0 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1.0 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1.0 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1.0) < 0.5 * DBL_EPSILON)
			break;
	}
	return h;
}

/* 20-point Gauss-Legendre rule on [-1, 1]: positive nodes and weights. */
static const double gl20[10][2] = {
	{ 0.076526521133497333755, 0.1527533871307258507 },
	{ 0.22778585114164507808, 0.14917298647260374679 },
	{ 0.37370608871541956067, 0.14209610931838205133 },
	{ 0.510867001950827098, 0.1316886384491766269 },
	{ 0.63605368072651502545, 0.11819453196151841731 },
	{ 0.74633190646015079261, 0.10193011981724043504 },
	{ 0.83911697182221882339, 0.083276741576704748725 },
	{ 0.91223442825132590587, 0.06267204833410906357 },
	{ 0.96397192727791379127, 0.040601429800386941331 },
	{ 0.99312859918509492479, 0.017614007139152118312 },
};

/* Q(t) for large nu as the integral of the density over [t, inf). Each
 * panel spans about 8 e-foldings of the density, where the 20-point rule is
 * exact to far below an ulp; panels are added until the rest is below
 * 1e-18 of the sum. */
static double t_tail_integral(double t, double nu)
{
	double k = gamma_ratio_half(0.5 * nu) / (SQRT_PI * sqrt(nu));
	double e = -0.5 * (nu + 1.0);
	double sum = 0.0, comp = 0.0, s = t;
	for (int panel = 0; panel < 10000; panel++) {
		double rate = (nu + 1.0) * s / (nu + s * s);   /* -d log f / ds */
		double h = 8.0 / (rate > 0.125 ? rate : 0.125);
		double mid = s + 0.5 * h, half = 0.5 * h, part = 0.0;
		for (int i = 0; i < 10; i++) {
			double d = half * gl20[i][0], lo = mid - d, hi = mid + d;
			part += gl20[i][1] * (exp(e * log1p(lo * lo / nu)) +
					      exp(e * log1p(hi * hi / nu)));
		}
		part *= half * k;
		double yk = part - comp, tk = sum + yk; /* Kahan */
		comp = (tk - sum) - yk;
		sum = tk;
		s += h;
		double le = e * log1p(s * s / nu);
		double rest = k * exp(le) * (nu + s * s) / ((nu + 1.0) * s);
		if (rest < 1e-18 * sum)
			break;
		/* Beyond t of about 40 at large nu every density value underflows:
		 * sum stays 0, the test above never holds, and all 10000 panels
		 * (30 ms) would add zeros. exp underflows to 0 below -745.2 and
		 * le falls with s, so with this margin every later part is 0 and
		 * the result is the same 0. */
		if (sum == 0 && comp == 0 && le < -800)
			break;
	}
	return sum;
}

/* For t >= 0: sets *tail to 1 and returns Q(t), or sets it to 0 and
 * returns C(t). */
static double t_part(double t, double nu, int *tail)
{
	double t2 = t * t;
	double r = t2 / nu;
	/* x^(nu/2) = (1 + t^2/nu)^(-nu/2) and sqrt(y) = t / sqrt(nu + t^2) */
	double xa = exp(-0.5 * nu * log1p(r));
	double sy = t / sqrt(nu + t2);
	double k = gamma_ratio_half(0.5 * nu) / SQRT_PI;
	double x = 1.0 / (1.0 + r), y = r / (1.0 + r);
	if (t > 0 && !(r < INFINITY))   /* t^2 overflowed: far tail */
		y = 1.0, x = nu / t2;
	/* the fraction's own criterion: x < (a + 1) / (a + b + 2) */
	*tail = t2 * (nu + 2.0) > 3.0 * nu;
	if (*tail && nu > 50.0)
		return t_tail_integral(t, nu);
	if (*tail) /* 1/2 * x^a (1-x)^b / (a B(a,b)) * cf with a = nu/2, b = 1/2 */
		return xa * sy * k / nu * beta_cf(0.5 * nu, 0.5, x);
	return xa * sy * k * beta_cf(0.5, 0.5 * nu, y); /* a = 1/2, b = nu/2 */
}

double botify_t_cdf(double t, double nu)
{
	if (isnan(t) || isnan(nu) || nu <= 0)
		return NAN;
	if (isinf(t))
		return t > 0 ? 1.0 : 0.0;
	if (isinf(nu))
		return 0.5 * erfc(-t / SQRT2);
	int tail;
	double v = t_part(fabs(t), nu, &tail);
	double upper = tail ? v : 0.5 - v;   /* P(T > |t|) */
	return t >= 0 ? 1.0 - upper : upper;
}

/* The density of Student's t at t. */
static double t_pdf(double t, double nu)
{
	double k = gamma_ratio_half(0.5 * nu) / (SQRT_PI * sqrt(nu));
	return k * exp(-0.5 * (nu + 1.0) * log1p(t * t / nu));
}

/* The z > 0 with P(Z > z) = q, for 0 < q <= 1/2. */
static double normal_upper(double q)
{
	/* Abramowitz & Stegun 26.2.23 (error < 4.5e-4), then Halley steps on
	 * erfc, which libm computes to about an ulp */
	double s = sqrt(-2.0 * log(q));
	double z = s - (2.515517 + s * (0.802853 + s * 0.010328)) /
		       (1.0 + s * (1.432788 + s * (0.189269 + s * 0.001308)));
	for (int i = 0; i < 4; i++) {
		double e = 0.5 * erfc(z / SQRT2) - q;
		double u = e * SQRT_2PI * exp(0.5 * z * z);
		z += u / (1.0 - 0.5 * z * u);
	}
	return z;
}

double botify_normal_quantile(double p)
{
	if (!(p > 0 && p < 1))
		return NAN;
	if (p == 0.5)
		return 0.0;
	/* 1 - p is exact for p >= 1/2 (Sterbenz), so the smaller tail is exact */
	return p > 0.5 ? normal_upper(1.0 - p) : -normal_upper(p);
}

/* The t > 0 with P(T > t) = q, for 0 < q < 1/2. */
static double t_upper(double q, double nu)
{
	double c = 0.5 - q;   /* target of the central form */
	double t = normal_upper(q);
	for (int i = 0; i < 400; i++) {
		int tail;
		double v = t_part(t, nu, &tail);
		double resid = tail ? v - q : c - v;   /* Q(t) - q either way */
		double step = resid / t_pdf(t, nu);
		if (!isfinite(step))
			break;
		double next = t + step;
		if (next <= 0)   /* started right of the root: restart from the left */
			next = 0.5 * t;
		double moved = fabs(next - t);
		t = next;
		if (moved <= 2.0 * DBL_EPSILON * t)
			break;
	}
	return t;
}

double botify_t_quantile(double p, double nu)
{
	if (!(p > 0 && p < 1) || !(nu > 0))
		return NAN;
	if (isinf(nu))
		return botify_normal_quantile(p);
	if (p == 0.5)
		return 0.0;
	if (nu == 1.0) { /* Cauchy: closed form, also the slowest case to iterate */
		/* tan is ill-conditioned near pi/2: use the smaller of the two
		 * exact arguments (p - 1/2 is exact for p in [1/4, 3/4]) */
		if (p >= 0.25 && p <= 0.75)
			return tan(PI * (p - 0.5));
		return p > 0.5 ? 1.0 / tan(PI * (1.0 - p)) : -1.0 / tan(PI * p);
	}
	return p > 0.5 ? t_upper(1.0 - p, nu) : -t_upper(p, nu);
}

double botify_welch_df(double n0, double n1, double s2_0, double s2_1)
{
	double num = (s2_0 / n0 + s2_1 / n1) * (s2_0 / n0 + s2_1 / n1);
	double den = s2_0 * s2_0 / n0 / n0 / (n0 - 1) + s2_1 * s2_1 / n1 / n1 / (n1 - 1);
	return num / den;
}

/* Regularized lower incomplete gamma P(a, x) by its series (x < a + 1). */
static double gamma_p_series(double a, double x)
{
	double sum = 1.0 / a, term = sum;
	for (int n = 1; n < CF_MAX_ITER; n++) {
		term *= x / (a + n);
		sum += term;
		if (fabs(term) < fabs(sum) * DBL_EPSILON)
			break;
	}
	return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Regularized upper incomplete gamma Q(a, x) by its continued fraction. */
static double gamma_q_cf(double a, double x)
{
	const double tiny = 1e-300;
	double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
	for (int i = 1; i < CF_MAX_ITER; i++) {
		double an = -i * (i - a);
		b += 2.0;
		d = an * d + b;
		if (fabs(d) < tiny)
			d = tiny;
		c = b + an / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1.0) < DBL_EPSILON)
			break;
	}
	return exp(-x + a * log(x) - lgamma(a)) * h;
}

double botify_chi2_sf(double x, double k)
{
	if (isnan(x) || !(k > 0))
		return NAN;
	if (x <= 0)
		return 1.0;
	if (isinf(x))
		return 0.0;
	double a = 0.5 * k, h = 0.5 * x;
	return h < a + 1.0 ? 1.0 - gamma_p_series(a, h) : gamma_q_cf(a, h);
}

double botify_t_p_two_sided(double t, double nu)
{
	double p = 2.0 * botify_t_cdf(-fabs(t), nu);
	return p > 1.0 ? 1.0 : p;
}

static const char *const p_adjust_names[] = { "none", "holm", "bh" };

int botify_p_adjust_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(p_adjust_names) / sizeof(*p_adjust_names)); i++)
		if (!strcmp(name, p_adjust_names[i]))
			return i;
	return -1;
}

const char *botify_p_adjust_name(int method)
{
	return method >= 0 && method <= BOTIFY_P_ADJUST_BH ? p_adjust_names[method] : NULL;
}

struct p_index {
	double p;
	int i;
};

/* By p, ties by position, so the order does not depend on qsort. */
static int cmp_p_index(const void *a, const void *b)
{
	const struct p_index *x = a, *y = b;
	if (x->p != y->p)
		return x->p < y->p ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

int botify_p_adjust(const double *p, int n, int method, double *out)
{
	if (n <= 0)
		return 0;
	struct p_index *s = malloc((size_t)n * sizeof(*s));
	if (!s)
		return -1;
	int m = 0;
	for (int i = 0; i < n; i++)
		if (!isnan(p[i]))
			s[m++] = (struct p_index){ p[i], i };
	qsort(s, (size_t)m, sizeof(*s), cmp_p_index);
	for (int i = 0; i < n; i++)
		if (isnan(p[i]))
			out[i] = NAN;
	for (int k = 0; k < m; k++) {
		double v = s[k].p;
		if (method == BOTIFY_P_ADJUST_HOLM)
			v *= (double)(m - k);          /* (m - k + 1) p_(k) with k 1-based */
		else if (method == BOTIFY_P_ADJUST_BH)
			v *= (double)m / (double)(k + 1);
		s[k].p = v > 1.0 ? 1.0 : v;
	}
	if (method == BOTIFY_P_ADJUST_HOLM) /* step-down: a running maximum */
		for (int k = 1; k < m; k++)
			if (s[k].p < s[k - 1].p)
				s[k].p = s[k - 1].p;
	if (method == BOTIFY_P_ADJUST_BH)   /* step-up: a running minimum from the top */
		for (int k = m - 2; k >= 0; k--)
			if (s[k].p > s[k + 1].p)
				s[k].p = s[k + 1].p;
	for (int k = 0; k < m; k++)
		out[s[k].i] = s[k].p;
	free(s);
	return 0;
}

double botify_power_n(double n_pilot, double se, double mde, double alpha, double power)
{
	if (!(se > 0) || !(mde != 0) || !(n_pilot > 0))
		return NAN;
	double z = botify_normal_quantile(1 - alpha / 2) + botify_normal_quantile(power);
	double r = z * se / mde;
	return n_pilot * r * r;
}

double botify_power_at(double se, double mde, double alpha)
{
	if (!(se > 0))
		return NAN;
	double z = botify_normal_quantile(1 - alpha / 2), d = fabs(mde) / se;
	/* both tails: the wrong-sign one is tiny but real */
	return 0.5 * erfc((z - d) / sqrt(2.0)) + 0.5 * erfc((z + d) / sqrt(2.0));
}

void botify_moments_add(botify_moments *m, double x)
{
	if (m->n == 0) {
		*m = (botify_moments){ 1, x, 0.0 };
		return;
	}
	double before = m->sum / (double)m->n;
	m->n++;
	m->sum += x;
	m->m2 += (x - before) * (x - m->sum / (double)m->n);
}

void botify_moments_merge(botify_moments *into, const botify_moments *from)
{
	if (from->n == 0)
		return;
	if (into->n == 0) {
		*into = *from;
		return;
	}
	double na = (double)into->n, nb = (double)from->n;
	double delta = from->sum / nb - into->sum / na;
	into->m2 += from->m2 + delta * delta * (na * nb / (na + nb));
	into->n += from->n;
	into->sum += from->sum;
}

void botify_mean_sem(const botify_moments *m, double *mean, double *sem)
{
	*mean = m->n > 0 ? m->sum / (double)m->n : NAN;
	if (m->n < 2) {
		*sem = NAN;
		return;
	}
	double var = m->m2 / (double)(m->n - 1);
	*sem = sqrt(var > 0 ? var / (double)m->n : 0);
}
