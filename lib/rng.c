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

static void polar_pairs_scalar(botify_rng *r, double *u_out, double *s_out, int64_t n)
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

#if defined(__x86_64__) && defined(__GNUC__)
/*
 * The same pairs with the test four at a time. A round draws exactly as
 * many pairs as deviates are still wanted (each gives at most one, so none
 * is drawn past the last one kept), the words first, in a tight scalar
 * loop, then four pairs a step: the words as doubles, u, s and the test
 * with the scalar loop's operations (2 uniform - 1 is k 2^-52 - 1 for the
 * word's top 53 bits k, both exact up to the one rounding of the
 * subtraction; no fused multiply-add), and the kept pairs packed to the
 * front of the four (a table of permutations). The four are stored at
 * once: the lanes past the kept ones land below n (a step's four pairs are
 * within the round's count) and are overwritten later.
 */
enum { POLAR_BLOCK = 256 };

/* u = k 2^-52 - 1 for the top 53 bits k of the output word of each state
 * word w (xoshiro's s[1]), k = hi 2^32 + lo converted exactly through the
 * exponent-bias trick */
__attribute__((target("avx2"))) static inline __m256d polar_unit(__m256i w)
{
	const __m256i lo_bias = _mm256_set1_epi64x(0x4330000000000000LL); /* 2^52 */
	const __m256i hi_bias = _mm256_set1_epi64x(0x4530000000000000LL); /* 2^84 */
	const __m256d both = _mm256_set1_pd(0x1p84 + 0x1p52);
	/* the scrambler rotl(s1 * 5, 7) * 9 of the state word */
	__m256i x = _mm256_add_epi64(w, _mm256_slli_epi64(w, 2));
	x = _mm256_or_si256(_mm256_slli_epi64(x, 7), _mm256_srli_epi64(x, 57));
	x = _mm256_add_epi64(x, _mm256_slli_epi64(x, 3));
	__m256i k = _mm256_srli_epi64(x, 11);
	__m256i lo = _mm256_blend_epi32(k, lo_bias, 0xaa);
	__m256i hi = _mm256_or_si256(_mm256_srli_epi64(k, 32), hi_bias);
	__m256d d = _mm256_add_pd(_mm256_sub_pd(_mm256_castsi256_pd(hi), both), _mm256_castsi256_pd(lo));
	return _mm256_sub_pd(_mm256_mul_pd(d, _mm256_set1_pd(0x1p-52)), _mm256_set1_pd(1.0));
}

/* polar_perm[mask]: the 32-bit halves of the lanes set in mask, in order */
static const int32_t polar_perm[16][8] = {
	{ 0, 0, 0, 0, 0, 0, 0, 0 },
	{ 0, 1, 0, 0, 0, 0, 0, 0 },
	{ 2, 3, 0, 0, 0, 0, 0, 0 },
	{ 0, 1, 2, 3, 0, 0, 0, 0 },
	{ 4, 5, 0, 0, 0, 0, 0, 0 },
	{ 0, 1, 4, 5, 0, 0, 0, 0 },
	{ 2, 3, 4, 5, 0, 0, 0, 0 },
	{ 0, 1, 2, 3, 4, 5, 0, 0 },
	{ 6, 7, 0, 0, 0, 0, 0, 0 },
	{ 0, 1, 6, 7, 0, 0, 0, 0 },
	{ 2, 3, 6, 7, 0, 0, 0, 0 },
	{ 0, 1, 2, 3, 6, 7, 0, 0 },
	{ 4, 5, 6, 7, 0, 0, 0, 0 },
	{ 0, 1, 4, 5, 6, 7, 0, 0 },
	{ 2, 3, 4, 5, 6, 7, 0, 0 },
	{ 0, 1, 2, 3, 4, 5, 6, 7 },
};

__attribute__((target("avx2"))) static void polar_pairs_avx2(botify_rng *r, double *u_out,
							     double *s_out, int64_t n)
{
	uint64_t wu[POLAR_BLOCK], wv[POLAR_BLOCK]; /* s[1] before each step: its output's input */
	const __m256d one = _mm256_set1_pd(1.0), zero = _mm256_setzero_pd();
	int64_t got = 0;
	while (n - got >= 8) {
		int64_t want = n - got;
		while (want > 0) {
			int64_t b = want < POLAR_BLOCK ? want : POLAR_BLOCK;
			uint64_t s0 = r->s[0], s1 = r->s[1], s2 = r->s[2], s3 = r->s[3];
#define XOSHIRO_STEP(out)                                 \
	do {                                              \
		uint64_t t_ = s1 << 17;                   \
		(out) = s1;                               \
		s2 ^= s0;                                 \
		s3 ^= s1;                                 \
		s1 ^= s2;                                 \
		s0 ^= s3;                                 \
		s2 ^= t_;                                 \
		s3 = rotl(s3, 45);                        \
	} while (0)
			for (int64_t i = 0; i < b; i++) {
				XOSHIRO_STEP(wu[i]);
				XOSHIRO_STEP(wv[i]);
			}
#undef XOSHIRO_STEP
			r->s[0] = s0;
			r->s[1] = s1;
			r->s[2] = s2;
			r->s[3] = s3;
			int64_t i = 0;
			for (; i + 4 <= b; i += 4) {
				__m256d u = polar_unit(_mm256_loadu_si256((const __m256i *)(wu + i)));
				__m256d v = polar_unit(_mm256_loadu_si256((const __m256i *)(wv + i)));
				__m256d s = _mm256_add_pd(_mm256_mul_pd(u, u), _mm256_mul_pd(v, v));
				__m256d keep = _mm256_and_pd(_mm256_cmp_pd(s, one, _CMP_LT_OQ),
							     _mm256_cmp_pd(s, zero, _CMP_NEQ_UQ));
				int m = _mm256_movemask_pd(keep);
				__m256i p = _mm256_loadu_si256((const __m256i *)polar_perm[m]);
				_mm256_storeu_pd(u_out + got, _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(u), p)));
				_mm256_storeu_pd(s_out + got, _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(s), p)));
				got += __builtin_popcount((unsigned)m);
			}
			for (; i < b; i++) {
				double u = (double)(rotl(wu[i] * 5, 7) * 9 >> 11) * 0x1.0p-53 * 2.0 - 1.0;
				double v = (double)(rotl(wv[i] * 5, 7) * 9 >> 11) * 0x1.0p-53 * 2.0 - 1.0;
				double s = u * u + v * v;
				u_out[got] = u;
				s_out[got] = s;
				got += (s < 1.0) & (s != 0.0);
			}
			want -= b;
		}
	}
	polar_pairs_scalar(r, u_out + got, s_out + got, n - got);
}
#endif

void botify_rng_polar_pairs(botify_rng *r, double *u_out, double *s_out, int64_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (n >= 8 && __builtin_cpu_supports("avx2")) {
		polar_pairs_avx2(r, u_out, s_out, n);
		return;
	}
#endif
	polar_pairs_scalar(r, u_out, s_out, n);
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
