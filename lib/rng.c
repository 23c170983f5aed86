/*
 * rng.c - xoshiro256** (Blackman & Vigna) keyed by splitmix64.
 */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	/* each key word goes through a full splitmix round so that nearby keys
	 * (episode 7 and 8) land on unrelated states */
	uint64_t x = h ^ (v * 0xd6e8feb86659fd93ULL);
	return splitmix64(&x);
}

botify_rng_key botify_rng_key_of(botify_rng_domain domain, uint64_t seed)
{
	return (botify_rng_key){ mix(mix(0x6a09e667f3bcc908ULL, (uint64_t)domain), seed) };
}

botify_rng_key botify_rng_key_then(botify_rng_key k, uint64_t word)
{
	return (botify_rng_key){ mix(k.h, word) };
}

void botify_rng_seed_key(botify_rng *r, botify_rng_key k)
{
	uint64_t x = k.h;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		r->s[0] = 1; /* the all-zero state is the one fixed point */
}

void botify_rng_init(botify_rng *r, botify_rng_domain domain, uint64_t seed, uint64_t a,
		     uint64_t b, uint64_t c)
{
	botify_rng_key k = botify_rng_key_of(domain, seed);
	botify_rng_seed_key(r, botify_rng_key_then(botify_rng_key_then(botify_rng_key_then(k, a), b), c));
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* the external definitions of rng.h's inline draws */
extern uint64_t botify_rng_u64(botify_rng *r);
extern double botify_rng_uniform(botify_rng *r);
extern uint64_t botify_rng_below(botify_rng *r, uint64_t n);

double botify_rng_normal(botify_rng *r)
{
	double u, v, s;
	do {
		u = 2.0 * botify_rng_uniform(r) - 1.0;
		v = 2.0 * botify_rng_uniform(r) - 1.0;
		s = u * u + v * v;
	} while (s >= 1.0 || s == 0.0);
	/* the second deviate is dropped so the stream has no hidden state */
	return u * sqrt(-2.0 * log(s) / s);
}

/*
 * The batch (and its halves) take the words botify_rng_normal takes and compute
 * what it computes (the same operations: IEEE results do not depend on
 * where they are evaluated), without its branch: a pair is drawn and
 * accepted or not by adding a 0 or a 1, so the loop never mispredicts, and
 * the logarithms run apart from the stream's dependency chain.
 */
enum { NORMAL_BATCH = 64 };

/* out[i] = u[i] * sqrt(-2 log s[i] / s[i]): the logarithms one by one
 * (libm's), the rest four at a time where AVX is there; division and
 * square root are correctly rounded either way, so the values are the
 * same. */
static void finish_scalar(const double *u, const double *s, int64_t n, double *out)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = u[i] * sqrt(-2.0 * log(s[i]) / s[i]);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx"))) static void finish_avx(const double *u, const double *s, int64_t n,
						       double *out)
{
	int64_t i = 0;
	for (; i + 4 <= n; i += 4) {
		__m256d l = _mm256_setr_pd(log(s[i]), log(s[i + 1]), log(s[i + 2]), log(s[i + 3]));
		__m256d t = _mm256_div_pd(_mm256_mul_pd(_mm256_set1_pd(-2.0), l), _mm256_loadu_pd(s + i));
		_mm256_storeu_pd(out + i, _mm256_mul_pd(_mm256_loadu_pd(u + i), _mm256_sqrt_pd(t)));
	}
	finish_scalar(u + i, s + i, n - i, out + i);
}
#endif

static void finish_polar(const double *u, const double *s, int64_t n, double *out)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("avx")) {
		finish_avx(u, s, n, out);
		return;
	}
#endif
	finish_scalar(u, s, n, out);
}

void botify_rng_polar_pairs(botify_rng *r, double *u_out, double *s_out, int64_t n)
{
	int64_t got = 0;
	while (got < n) {
		double u = 2.0 * botify_rng_uniform(r) - 1.0;
		double v = 2.0 * botify_rng_uniform(r) - 1.0;
		double s = u * u + v * v;
		u_out[got] = u; /* kept only when accepted: the next pair overwrites it */
		s_out[got] = s;
		got += (s < 1.0) & (s != 0.0);
	}
}

void botify_rng_polar_finish(const double *u, const double *s, int64_t n, double *out)
{
	finish_polar(u, s, n, out);
}

void botify_rng_normals(botify_rng *r, double *out, int64_t n)
{
	double us[NORMAL_BATCH], ss[NORMAL_BATCH];
	while (n > 0) {
		int64_t want = n < NORMAL_BATCH ? n : NORMAL_BATCH;
		botify_rng_polar_pairs(r, us, ss, want);
		finish_polar(us, ss, want, out);
		out += want;
		n -= want;
	}
}
