/*
 * topk.c - blocked sgemm + k-heap selection.
 */
#include "topk.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include <cblas.h>

/* a ranks above b: higher score, then lower id; and a min-heap on that
 * order whose root is the worst kept item. One definition for the float
 * scores of the brute-force path and the double scores of the pruned one. */
#define DEFINE_RANKED_HEAP(better, sift_down, score_t)                                  \
	static inline int better(score_t sa, int32_t ia, score_t sb, int32_t ib)       \
	{                                                                               \
		return sa > sb || (sa == sb && ia < ib);                                \
	}                                                                               \
	static void sift_down(score_t *s, int32_t *id, int32_t n, int32_t i)           \
	{                                                                               \
		for (;;) {                                                              \
			int32_t l = 2 * i + 1, r = l + 1, w = i;                        \
			if (l < n && better(s[w], id[w], s[l], id[l]))                  \
				w = l;                                                  \
			if (r < n && better(s[w], id[w], s[r], id[r]))                  \
				w = r;                                                  \
			if (w == i)                                                     \
				return;                                                 \
			score_t ts = s[i];                                              \
			s[i] = s[w];                                                    \
			s[w] = ts;                                                      \
			int32_t ti = id[i];                                             \
			id[i] = id[w];                                                  \
			id[w] = ti;                                                     \
			i = w;                                                          \
		}                                                                       \
	}

DEFINE_RANKED_HEAP(better, sift_down, float)
DEFINE_RANKED_HEAP(dbetter, dsift_down, double)

/* The k-heap over every score: for large k. */
static void heap_select(const float *scores, int32_t N, int32_t k, int32_t exclude, int32_t *ids,
			float *out_scores)
{
	float *s = out_scores; /* the heap lives in the caller's output */
	int32_t n = 0, t = 0;
	if (k <= 0)
		return; /* the scan below compares against s[0] */
	for (; t < N && n < k; t++)
		if (t != exclude) {
			s[n] = scores[t];
			ids[n] = t;
			n++;
		}
	for (int32_t i = n / 2 - 1; i >= 0; i--)
		sift_down(s, ids, n, i);
	/* ids only grow during the scan, so a tie with the root never wins and
	 * the hot test is one float compare */
	for (; t < N; t++)
		if (scores[t] > s[0] && t != exclude) {
			s[0] = scores[t];
			ids[0] = t;
			sift_down(s, ids, n, 0);
		}
	/* heap-sort in place: repeatedly move the worst to the end */
	for (int32_t m = n - 1; m > 0; m--) {
		float ts = s[0];
		s[0] = s[m];
		s[m] = ts;
		int32_t ti = ids[0];
		ids[0] = ids[m];
		ids[m] = ti;
		sift_down(s, ids, m, 0);
	}
}

/* Heap-sorts s/id[0..n) in place, best first. */
static void heap_sort_best_first(float *s, int32_t *id, int32_t n)
{
	for (int32_t i = n / 2 - 1; i >= 0; i--)
		sift_down(s, id, n, i);
	for (int32_t m = n - 1; m > 0; m--) {
		float ts = s[0];
		s[0] = s[m];
		s[m] = ts;
		int32_t ti = id[0];
		id[0] = id[m];
		id[m] = ti;
		sift_down(s, id, m, 0);
	}
}

static inline void swap_at(float *s, int32_t *id, int32_t a, int32_t b)
{
	float ts = s[a];
	s[a] = s[b];
	s[b] = ts;
	int32_t ti = id[a];
	id[a] = id[b];
	id[b] = ti;
}

/* Rearranges s/id[0..n) so that [0..k) holds the k best (ids are distinct,
 * so the order is total). Quickselect, median-of-three pivots. */
static void select_best(float *s, int32_t *id, int32_t n, int32_t k)
{
	int32_t lo = 0, hi = n - 1;
	while (hi > lo) {
		int32_t mid = lo + (hi - lo) / 2;
		if (better(s[mid], id[mid], s[lo], id[lo]))
			swap_at(s, id, mid, lo);
		if (better(s[hi], id[hi], s[lo], id[lo]))
			swap_at(s, id, hi, lo);
		if (better(s[hi], id[hi], s[mid], id[mid]))
			swap_at(s, id, hi, mid);
		float ps = s[mid];
		int32_t pi = id[mid];
		int32_t i = lo, j = hi;
		while (i <= j) {
			while (better(s[i], id[i], ps, pi))
				i++;
			while (better(ps, pi, s[j], id[j]))
				j--;
			if (i <= j) {
				swap_at(s, id, i, j);
				i++;
				j--;
			}
		}
		if (k - 1 <= j)
			hi = j;
		else if (k - 1 >= i)
			lo = i;
		else
			return;
	}
}

/* The first index >= t with scores[t] > tau, or N. */
static int32_t next_above_scalar(const float *scores, int32_t t, int32_t N, float tau)
{
	while (t < N && !(scores[t] > tau))
		t++;
	return t;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx"))) static int32_t next_above_avx(const float *scores, int32_t t,
							      int32_t N, float tau)
{
	__m256 v = _mm256_set1_ps(tau);
	for (; t + 8 <= N; t += 8) {
		int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(scores + t), v, _CMP_GT_OQ));
		if (m)
			return t + __builtin_ctz((unsigned)m);
	}
	return next_above_scalar(scores, t, N, tau);
}
#define NEXT_ABOVE(s, t, N, tau) \
	(__builtin_cpu_supports("avx") ? next_above_avx(s, t, N, tau) : next_above_scalar(s, t, N, tau))
#else
#define NEXT_ABOVE(s, t, N, tau) next_above_scalar(s, t, N, tau)
#endif

enum { SEL_CAP = 2048 };

void botify_topk_select(const float *scores, int32_t N, int32_t k, int32_t exclude, int32_t *ids,
			float *out_scores)
{
	if (k <= 0)
		return;
	if (k > SEL_CAP / 2) {
		heap_select(scores, N, k, exclude, ids, out_scores);
		return;
	}
	/* A buffer of candidates above the threshold tau, the k-th best so
	 * far; when it fills up, a quickselect keeps the k best and raises
	 * tau. Ids only grow during the scan, so a score equal to tau never
	 * beats the k-th best: the test is one float compare, eight at a
	 * time. The result is the heap's, the same k in the same order. */
	float bs[SEL_CAP];
	int32_t bi[SEL_CAP];
	/* a few times k: a small buffer raises tau early and often, and each
	 * quickselect is cheap */
	int32_t cap = 4 * k < 64 ? 64 : 4 * k > SEL_CAP ? SEL_CAP : 4 * k;
	int32_t n = 0, t = 0;
	for (; t < N && n < k; t++)
		if (t != exclude) {
			bs[n] = scores[t];
			bi[n] = t;
			n++;
		}
	float tau = INFINITY; /* n < k: every score is in already */
	if (n == k) {
		select_best(bs, bi, n, n); /* the worst to the end */
		tau = bs[n - 1];
	}
	while (n >= k) {
		t = NEXT_ABOVE(scores, t, N, tau);
		if (t >= N)
			break;
		if (t != exclude) {
			bs[n] = scores[t];
			bi[n] = t;
			if (++n == cap) {
				select_best(bs, bi, n, k);
				n = k;
				tau = bs[k - 1]; /* the k-th best: quickselect put it there */
			}
		}
		t++;
	}
	if (n > k)
		select_best(bs, bi, n, k);
	if (n > k)
		n = k;
	heap_sort_best_first(bs, bi, n);
	memcpy(ids, bi, (size_t)n * sizeof(int32_t));
	memcpy(out_scores, bs, (size_t)n * sizeof(float));
}

enum { BLOCK_ROWS = 64, MAX_THREADS = 64, MAX_SUPER = 64, TAIL_ROWS = 32 };

/*
 * The exact score and the pruned search.
 */
double botify_topk_score(const float *a, const float *b, int32_t D)
{
	/* a product of two floats is exact in a double, so only the sums
	 * round: four partial sums (dimension d into sum d % 4), then a fixed
	 * tree */
	double acc[4] = {0};
	int32_t d = 0;
	for (; d + 4 <= D; d += 4)
		for (int j = 0; j < 4; j++)
			acc[j] += (double)a[d + j] * b[d + j];
	for (; d < D; d++)
		acc[d & 3] += (double)a[d] * b[d];
	return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX_KERNEL 1

/* The same sums, four lanes at a time, four rows in flight. A fused
 * multiply-add would give the same result (the products are exact); a lane
 * past the tail adds +0.0, which can only turn -0.0 into +0.0, and scores
 * are only ever compared. */
__attribute__((target("avx"))) static inline double hsum4(__m256d a)
{
	__m128d lo = _mm256_castpd256_pd128(a), hi = _mm256_extractf128_pd(a, 1);
	double l[2], h[2];
	_mm_storeu_pd(l, lo);
	_mm_storeu_pd(h, hi);
	return (l[0] + l[1]) + (h[0] + h[1]);
}

__attribute__((target("avx"))) static void score_rows_avx(const float *q, const float *X, int32_t n,
							   int32_t D, double *out)
{
	int32_t D4 = D & ~3, rem = D & 3;
	__m128i mi = _mm_setr_epi32(rem > 0 ? -1 : 0, rem > 1 ? -1 : 0, rem > 2 ? -1 : 0, 0);
	__m256d qt = _mm256_cvtps_pd(_mm_maskload_ps(q + D4, mi));
	int32_t i = 0;
	for (; i + 4 <= n; i += 4) {
		const float *x0 = X + (size_t)i * (size_t)D, *x1 = x0 + D, *x2 = x1 + D, *x3 = x2 + D;
		__m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
		for (int32_t d = 0; d < D4; d += 4) {
			__m256d qv = _mm256_cvtps_pd(_mm_loadu_ps(q + d));
			a0 = _mm256_add_pd(a0, _mm256_mul_pd(qv, _mm256_cvtps_pd(_mm_loadu_ps(x0 + d))));
			a1 = _mm256_add_pd(a1, _mm256_mul_pd(qv, _mm256_cvtps_pd(_mm_loadu_ps(x1 + d))));
			a2 = _mm256_add_pd(a2, _mm256_mul_pd(qv, _mm256_cvtps_pd(_mm_loadu_ps(x2 + d))));
			a3 = _mm256_add_pd(a3, _mm256_mul_pd(qv, _mm256_cvtps_pd(_mm_loadu_ps(x3 + d))));
		}
		if (rem) {
			a0 = _mm256_add_pd(a0, _mm256_mul_pd(qt, _mm256_cvtps_pd(_mm_maskload_ps(x0 + D4, mi))));
			a1 = _mm256_add_pd(a1, _mm256_mul_pd(qt, _mm256_cvtps_pd(_mm_maskload_ps(x1 + D4, mi))));
			a2 = _mm256_add_pd(a2, _mm256_mul_pd(qt, _mm256_cvtps_pd(_mm_maskload_ps(x2 + D4, mi))));
			a3 = _mm256_add_pd(a3, _mm256_mul_pd(qt, _mm256_cvtps_pd(_mm_maskload_ps(x3 + D4, mi))));
		}
		out[i] = hsum4(a0);
		out[i + 1] = hsum4(a1);
		out[i + 2] = hsum4(a2);
		out[i + 3] = hsum4(a3);
	}
	for (; i < n; i++) {
		const float *x0 = X + (size_t)i * (size_t)D;
		__m256d a0 = _mm256_setzero_pd();
		for (int32_t d = 0; d < D4; d += 4)
			a0 = _mm256_add_pd(a0, _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(q + d)),
							     _mm256_cvtps_pd(_mm_loadu_ps(x0 + d))));
		if (rem)
			a0 = _mm256_add_pd(a0, _mm256_mul_pd(qt, _mm256_cvtps_pd(_mm_maskload_ps(x0 + D4, mi))));
		out[i] = hsum4(a0);
	}
}
#endif

void botify_topk_score_rows(const float *q, const float *X, int32_t n, int32_t D, double *out)
{
#ifdef HAVE_AVX_KERNEL
	if (__builtin_cpu_supports("avx")) {
		score_rows_avx(q, X, n, D, out);
		return;
	}
#endif
	for (int32_t i = 0; i < n; i++)
		out[i] = botify_topk_score(q, X + (size_t)i * (size_t)D, D);
}

void botify_topk_index_free(botify_topk_index *ix)
{
	free(ix->E);
	free(ix->id);
	free(ix->off);
	free(ix->cent);
	free(ix->slack);
	free(ix->centers);
	free(ix->sfirst);
	free(ix->qc);
	free(ix->qsum);
	free(ix->qslack);
	free(ix->qcsc);
	free(ix->qcn);
	free(ix->qecn);
	free(ix->qx);
	free(ix->qxsum);
	memset(ix, 0, sizeof(*ix));
}

/* The rounding margin per unit of |q| and |x|: sgemm's q.c (any order of
 * summing D float products) is within gamma_D |q| |c| of the exact value, a
 * double score within far less of its own; doubled for safety. */
static double rounding_gamma(int32_t D)
{
	return 2.0 * ((double)D + 8.0) * 0x1p-24;
}

/* The first m of the largest s[m] - half[m] (0 if none is a number). */
static int32_t nearest_center_scalar(const float *s, const float *half, int32_t M)
{
	int32_t bm = 0;
	for (int32_t m = 1; m < M; m++)
		if (s[m] - half[m] > s[bm] - half[bm])
			bm = m;
	return bm;
}

#ifdef HAVE_AVX_KERNEL
/* The same: the largest value, then the first m that has it (the same
 * float differences, so the same m); the scalar loop when a NaN is about. */
__attribute__((target("avx"))) static int32_t nearest_center_avx(const float *s, const float *half,
								   int32_t M)
{
	if (M < 8 || M % 8)
		return nearest_center_scalar(s, half, M);
	__m256 mx = _mm256_set1_ps(-INFINITY), nan = _mm256_setzero_ps();
	for (int32_t m = 0; m < M; m += 8) {
		__m256 v = _mm256_sub_ps(_mm256_loadu_ps(s + m), _mm256_loadu_ps(half + m));
		nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
		mx = _mm256_max_ps(mx, v);
	}
	if (_mm256_movemask_ps(nan))
		return nearest_center_scalar(s, half, M);
	float l[8];
	_mm256_storeu_ps(l, mx);
	float best = l[0];
	for (int i = 1; i < 8; i++)
		best = l[i] > best ? l[i] : best;
	__m256 vb = _mm256_set1_ps(best);
	for (int32_t m = 0; m < M; m += 8) {
		__m256 v = _mm256_sub_ps(_mm256_loadu_ps(s + m), _mm256_loadu_ps(half + m));
		int bits = _mm256_movemask_ps(_mm256_cmp_ps(v, vb, _CMP_EQ_OQ));
		if (bits)
			return m + __builtin_ctz((unsigned)bits);
	}
	return 0;
}
#endif

static int32_t nearest_center(const float *s, const float *half, int32_t M)
{
#ifdef HAVE_AVX_KERNEL
	if (__builtin_cpu_supports("avx"))
		return nearest_center_avx(s, half, M);
#endif
	return nearest_center_scalar(s, half, M);
}

/* Pulls a row towards the cache: the rows of a group lie anywhere in the
 * catalog, and missing its lines one after another costs more than adding
 * them up. */
static inline void prefetch_row(const float *x, int32_t D)
{
	const char *p = (const char *)x;
	for (size_t b = 0; b < (size_t)D * sizeof(float); b += 64)
		__builtin_prefetch(p + b);
}

/* c[d] += x[d] in double: the same sums, element by element, as a plain loop */
static void add_row_scalar(double *c, const float *x, int32_t D)
{
	for (int32_t d = 0; d < D; d++)
		c[d] += x[d];
}

#ifdef HAVE_AVX_KERNEL
__attribute__((target("avx"))) static void add_row_avx(double *c, const float *x, int32_t D)
{
	int32_t d = 0;
	for (; d + 4 <= D; d += 4)
		_mm256_storeu_pd(c + d, _mm256_add_pd(_mm256_loadu_pd(c + d), _mm256_cvtps_pd(_mm_loadu_ps(x + d))));
	add_row_scalar(c + d, x + d, D - d);
}
#endif

static void add_row(double *c, const float *x, int32_t D)
{
#ifdef HAVE_AVX_KERNEL
	if (__builtin_cpu_supports("avx")) {
		add_row_avx(c, x, D);
		return;
	}
#endif
	add_row_scalar(c, x, D);
}

#ifdef HAVE_AVX_KERNEL
/* s[m] = x . centers[m] for the 64 centers of ct (transposed: ct[d * 64 +
 * m]): a chain of float fused multiply-adds over d in order, without the
 * packing of both operands that sgemm does for each call of a product this
 * thin. sgemm sums some entries in another order, so a group nearly
 * halfway between two centers may be assigned otherwise: the layout, not a
 * result (the default world's index comes out the same bit for bit). */
__attribute__((target("avx2,fma"))) static void center_scores64(const float *x, const float *ct,
								  int32_t D, float *s)
{
	__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
	for (int32_t d = 0; d < D; d++, ct += 64) {
		__m256 v = _mm256_broadcast_ss(x + d);
		a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(ct), a0);
		a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(ct + 8), a1);
		a2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(ct + 16), a2);
		a3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(ct + 24), a3);
		a4 = _mm256_fmadd_ps(v, _mm256_loadu_ps(ct + 32), a4);
		a5 = _mm256_fmadd_ps(v, _mm256_loadu_ps(ct + 40), a5);
		a6 = _mm256_fmadd_ps(v, _mm256_loadu_ps(ct + 48), a6);
		a7 = _mm256_fmadd_ps(v, _mm256_loadu_ps(ct + 56), a7);
	}
	_mm256_storeu_ps(s, a0);
	_mm256_storeu_ps(s + 8, a1);
	_mm256_storeu_ps(s + 16, a2);
	_mm256_storeu_ps(s + 24, a3);
	_mm256_storeu_ps(s + 32, a4);
	_mm256_storeu_ps(s + 40, a5);
	_mm256_storeu_ps(s + 48, a6);
	_mm256_storeu_ps(s + 56, a7);
}
#endif

/* Super-clusters of the group centroids (a few rounds of k-means): groups
 * stored cluster by cluster, and queries taken cluster by cluster, keep the
 * groups a run of queries opens close together in memory. Only the speed
 * depends on it, never a result. */
static int super_clusters(const float *cent, int32_t C, int32_t D, int32_t M, float *centers,
			  int32_t *sup, botify_err *err)
{
	/* the scores a block of groups at a time, from a buffer that stays in
	 * the cache (each score is its own sum over D: the default world's
	 * clusters come out the same as from one product of all of them) */
	enum { SC_BLOCK = 512 };
	float *S = botify_malloc(SC_BLOCK, (size_t)M * sizeof(float), "cluster scores", err);
	double *acc = botify_calloc((size_t)M, (size_t)D * sizeof(double), "cluster sums", err);
	int32_t *cnt = botify_calloc((size_t)M, sizeof(int32_t), "cluster sizes", err);
	float *half = botify_malloc((size_t)M, sizeof(float), "cluster norms", err);
	int fma64 = 0;
#ifdef HAVE_AVX_KERNEL
	fma64 = M == 64 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
	float *ct = fma64 ? botify_malloc((size_t)D, 64 * sizeof(float), "cluster centers", err) : NULL;
	if (!S || !acc || !cnt || !half || (fma64 && !ct)) {
		free(ct);
		free(S);
		free(acc);
		free(cnt);
		free(half);
		return -1;
	}
	for (int32_t m = 0; m < M; m++)
		memcpy(centers + (size_t)m * D, cent + (size_t)((int64_t)m * C / M) * D, (size_t)D * sizeof(float));
	/* three updates of the centers, then the groups assigned to the
	 * final ones: a query keyed by its nearest center then finds its own
	 * group's super-cluster more often (92 % against 87 % of the default
	 * world's interests) */
	for (int round = 0; round < 4; round++) {
		for (int32_t m = 0; m < M; m++) {
			double n2 = 0;
			for (int32_t d = 0; d < D; d++)
				n2 += (double)centers[(size_t)m * D + d] * centers[(size_t)m * D + d];
			half[m] = (float)(0.5 * n2);
		}
		memset(acc, 0, (size_t)M * (size_t)D * sizeof(double));
		memset(cnt, 0, (size_t)M * sizeof(int32_t));
		if (fma64)
			for (int32_t m = 0; m < 64; m++)
				for (int32_t d = 0; d < D; d++)
					ct[(size_t)d * 64 + m] = centers[(size_t)m * D + d];
		for (int32_t g = 0; g < C; g++) {
			const float *sg = S + (size_t)(g % SC_BLOCK) * M;
#ifdef HAVE_AVX_KERNEL
			if (fma64) {
				center_scores64(cent + (size_t)g * D, ct, D, S);
				sg = S;
			} else
#endif
			if (g % SC_BLOCK == 0)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, C - g < SC_BLOCK ? C - g : SC_BLOCK,
					    M, D, 1.0f, cent + (size_t)g * D, D, centers, D, 0.0f, S, M);
			int32_t bm = nearest_center(sg, half, M);
			sup[g] = bm;
			cnt[bm]++;
			add_row(acc + (size_t)bm * D, cent + (size_t)g * D, D);
		}
		if (round == 3)
			break;
		for (int32_t m = 0; m < M; m++)
			if (cnt[m])
				for (int32_t d = 0; d < D; d++)
					centers[(size_t)m * D + d] = (float)(acc[(size_t)m * D + d] / cnt[m]);
	}
	free(ct);
	free(S);
	free(acc);
	free(cnt);
	free(half);
	return 0;
}

/* The build's two passes over the catalog, shared out in runs of groups:
 * the centroids with each group's radius and norms (group by group, in id
 * order), then the rows copied to their place and quantised (in the stored
 * order). */
enum { BUILD_RUN = 128 };

struct build_job {
	botify_topk_index *ix;
	const float *E;
	int32_t D, C;
	const int32_t *start, *mem, *gl, *order;
	float *cent0;
	float *slack0; /* (C) the slack of each group (in id order) */
	double *x2; /* (C) the largest |row|^2 of each group (in id order) */
	double *xa; /* (C) its largest |component| */
	double *ex2; /* (C) the largest |x - xsc x~|^2 of each stored group */
	double xsc; /* the rows' scale, 0 when they are not quantised */
	int qcent;  /* the centroids are quantised */
	int pass;
	int32_t next; /* the next run (atomic) */
	int failed;
};

/* *dr = |x - c|^2, *dx = |x|^2 and *xa = max(*xa, the largest |x[d]|), in
 * double; the sums in any order (the radius and the norms carry margins far
 * wider than their rounding). fabs > xa is false for a NaN: the caller's
 * test of dx catches it. */
static void row_norms_scalar(const float *x, const float *c, int32_t D, double *dr, double *dx,
			     double *xa)
{
	double r = 0, n = 0, a = *xa;
	for (int32_t d = 0; d < D; d++) {
		double e = (double)x[d] - c[d];
		r += e * e;
		n += (double)x[d] * x[d];
		a = fabs((double)x[d]) > a ? fabs((double)x[d]) : a;
	}
	*dr = r;
	*dx = n;
	*xa = a;
}

#ifdef HAVE_AVX_KERNEL
__attribute__((target("avx"))) static void row_norms_avx(const float *x, const float *c, int32_t D,
							  double *dr, double *dx, double *xa)
{
	const __m256d absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
	__m256d r = _mm256_setzero_pd(), n = r, a = r;
	int32_t d = 0;
	for (; d + 4 <= D; d += 4) {
		__m256d xv = _mm256_cvtps_pd(_mm_loadu_ps(x + d));
		__m256d e = _mm256_sub_pd(xv, _mm256_cvtps_pd(_mm_loadu_ps(c + d)));
		r = _mm256_add_pd(r, _mm256_mul_pd(e, e));
		n = _mm256_add_pd(n, _mm256_mul_pd(xv, xv));
		a = _mm256_max_pd(a, _mm256_and_pd(xv, absmask));
	}
	double lr[4], ln[4], la[4];
	_mm256_storeu_pd(lr, r);
	_mm256_storeu_pd(ln, n);
	_mm256_storeu_pd(la, a);
	double tr, tn, ta = *xa;
	for (int i = 0; i < 4; i++)
		ta = la[i] > ta ? la[i] : ta;
	row_norms_scalar(x + d, c + d, D - d, &tr, &tn, &ta);
	*dr = (lr[0] + lr[1]) + (lr[2] + lr[3]) + tr;
	*dx = (ln[0] + ln[1]) + (ln[2] + ln[3]) + tn;
	*xa = ta;
}
#endif

static void row_norms(const float *x, const float *c, int32_t D, double *dr, double *dx, double *xa)
{
#ifdef HAVE_AVX_KERNEL
	if (__builtin_cpu_supports("avx")) {
		row_norms_avx(x, c, D, dr, dx, xa);
		return;
	}
#endif
	row_norms_scalar(x, c, D, dr, dx, xa);
}

/* Pass 0, groups i0 .. i1 - 1 (in id order): the centroid, then its
 * group's radius and norms against the stored (float) centroid, the one
 * the bound's q.c is computed with; the second walk over the rows finds
 * them in the cache. */
static void build_centroids(struct build_job *b, int32_t i0, int32_t i1, double *c)
{
	const int32_t D = b->D;
	size_t Dn = (size_t)(D ? D : 1);
	double gamma = rounding_gamma(D);
	for (int32_t i = i0; i < i1; i++) {
		int32_t g = b->gl[i], m0 = b->start[g], m1 = b->start[g + 1];
		float *cf = b->cent0 + (size_t)i * Dn;
		memset(c, 0, (size_t)D * sizeof(double));
		for (int32_t m = m0; m < m1; m++) {
			if (m + 2 < m1)
				prefetch_row(b->E + (size_t)b->mem[m + 2] * (size_t)D, D);
			add_row(c, b->E + (size_t)b->mem[m] * (size_t)D, D);
		}
		for (int32_t d = 0; d < D; d++)
			cf[d] = (float)(c[d] / (m1 - m0));
		double cn = 0;
		for (int32_t d = 0; d < D; d++)
			cn += (double)cf[d] * cf[d];
		double r2 = 0, x2 = 0, xa = 0;
		for (int32_t m = m0; m < m1; m++) {
			double dr, dx;
			row_norms(b->E + (size_t)b->mem[m] * (size_t)D, cf, D, &dr, &dx, &xa);
			if (dr > r2)
				r2 = dr;
			/* a row that is not finite (dx inf or NaN) makes x2 inf:
			 * the build then refuses the catalog */
			if (!(dx <= DBL_MAX))
				x2 = INFINITY;
			else if (dx > x2)
				x2 = dx;
		}
		b->slack0[i] = (float)((sqrt(r2) + gamma * (sqrt(cn) + sqrt(x2))) * (1 + 1e-6));
		b->x2[i] = x2;
		b->xa[i] = isfinite(x2) ? xa : INFINITY;
	}
}

static void build_rows(struct build_job *b, int32_t o0, int32_t o1);

static void *build_runs(void *arg)
{
	struct build_job *b = arg;
	double *c = NULL;
	if (b->pass == 0 && !(c = malloc((size_t)(b->D ? b->D : 1) * sizeof(double)))) {
		__atomic_store_n(&b->failed, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	for (;;) {
		int32_t i0 = __atomic_fetch_add(&b->next, BUILD_RUN, __ATOMIC_RELAXED);
		if (i0 >= b->C)
			break;
		int32_t i1 = b->C - i0 < BUILD_RUN ? b->C : i0 + BUILD_RUN;
		if (b->pass == 0)
			build_centroids(b, i0, i1, c);
		else
			build_rows(b, i0, i1);
	}
	free(c);
	return NULL;
}

/* Runs pass `pass` of b on `threads` threads (fewer when they cannot
 * start); -1 when out of memory. */
static int build_pass(struct build_job *b, int pass, int threads)
{
	pthread_t tid[MAX_THREADS];
	int started = 0;
	b->pass = pass;
	b->next = 0;
	b->failed = 0;
	int runs = (int)((b->C + BUILD_RUN - 1) / BUILD_RUN);
	if (threads > runs)
		threads = runs;
	for (int t = 1; t < threads && t < MAX_THREADS; t++)
		if (pthread_create(&tid[started], NULL, build_runs, b) == 0)
			started++;
	build_runs(b);
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	return b->failed ? -1 : 0;
}

/*
 * The quantised filter. A query q and the centroid c of group g are stored
 * as small integers: c = csc c~ + ec and q = sq q~ + eq, c~ in [-CL, CL],
 * q~ in [-QL, QL], each with a scale of its own (csc the group's, from its
 * largest component: a centroid of small components is not quantised on
 * the scale of the largest one in the index). In real numbers
 *   q.c = sq csc (q~.c~) + eq.c + (sq q~).ec
 *      <= sq csc (q~.c~) + |eq| |c| + |sq q~| |ec|,
 * and q~.c~ is an exact integer, so the bound of a group, q.c + |q| slack,
 * is at most its filter value
 *   sq csc (q~.c~) + |q| slack + |eq| |c| + |sq q~| |ec|
 * (the group's own |c| and |ec|, stored rounded up). A group whose value is
 * below the k-th best score by more than the float rounding of that sum
 * cannot hold a track of the top k and is skipped without its float bound;
 * the others get it (the float product q.c) and are opened as before. Only
 * which groups get a float bound depends on the quantisation, never a
 * result.
 *
 * The integer products run on AVX2 (vpmaddubsw: unsigned bytes times
 * signed bytes, pairs summed into 16 bits), so the query is stored offset,
 * u = q~ + QL in [0, 2 QL], and QL times the sum of c~ is taken off
 * afterwards (qsum). A pair sum is at most 2 * 2QL * CL = 7812 in
 * magnitude, so RUN16 = 4 of them add up in 16 bits without overflow
 * (31 248 < 32 767) before they are widened to 32 bits. Six bits for the
 * query and five for the centroids: on the default world the filter lets
 * through about 80 groups of 11 468 for the 45 that the float bounds keep.
 */
enum { QL = 63, CL = 31, RUN16 = 4 };

static int filter_on = 1;

void botify_topk_set_filter(int on)
{
	filter_on = on;
}

/* x rounded up to a float (x >= 0, finite) */
static inline float float_up(double x)
{
	float f = (float)x;
	return (double)f < x ? nextafterf(f, INFINITY) : f;
}

/* The nearest integer of a small y (any rounding would do: the error
 * terms are measured from the integer chosen); lrint is a call. */
static inline long round_near(double y)
{
	return (long)(y + (y >= 0 ? 0.5 : -0.5));
}

/* x[0 .. n) as integers v = round_near(x / xsc) in [-CL, CL] into qx, their
 * sum into *sum; returns the sum of the squared errors (x - xsc v)^2. */
static double quantize_row_scalar(const float *x, int32_t n, double xsc, double inv, int8_t *qx,
				  int32_t *sum)
{
	double e2 = 0;
	for (int32_t d = 0; d < n; d++) {
		long v = round_near(x[d] * inv);
		v = v > CL ? CL : v < -CL ? -CL : v;
		double e = x[d] - xsc * (double)v;
		e2 += e * e;
		qx[d] = (int8_t)v;
		*sum += (int32_t)v;
	}
	return e2;
}

#ifdef HAVE_AVX_KERNEL
/* The same integers four at a time (y + 0.5 or y - 0.5 by the sign test of
 * round_near, then truncated; -0.0 >= 0 as there); the squared errors are
 * summed in four lanes, which rounds otherwise: the error terms built on
 * them carry margins far wider than that. */
__attribute__((target("avx2"))) static double quantize_row_avx2(const float *x, int32_t n,
								 double xsc, double inv, int8_t *qx,
								 int32_t *sum)
{
	const __m256d vinv = _mm256_set1_pd(inv), vsc = _mm256_set1_pd(xsc), zero = _mm256_setzero_pd();
	const __m256d half = _mm256_set1_pd(0.5), mhalf = _mm256_set1_pd(-0.5);
	const __m256d hi = _mm256_set1_pd(CL), lo = _mm256_set1_pd(-CL);
	__m256d acc = _mm256_setzero_pd();
	__m128i isum = _mm_setzero_si128();
	int32_t d = 0;
	for (; d + 4 <= n; d += 4) {
		__m256d xv = _mm256_cvtps_pd(_mm_loadu_ps(x + d));
		__m256d y = _mm256_mul_pd(xv, vinv);
		__m256d z = _mm256_add_pd(y, _mm256_blendv_pd(mhalf, half, _mm256_cmp_pd(y, zero, _CMP_GE_OQ)));
		__m256d v = _mm256_round_pd(z, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
		v = _mm256_min_pd(_mm256_max_pd(v, lo), hi);
		__m256d e = _mm256_sub_pd(xv, _mm256_mul_pd(vsc, v));
		acc = _mm256_add_pd(acc, _mm256_mul_pd(e, e));
		__m128i vi = _mm256_cvttpd_epi32(v);
		isum = _mm_add_epi32(isum, vi);
		int32_t b = _mm_cvtsi128_si32(_mm_packs_epi16(_mm_packs_epi32(vi, vi), _mm_setzero_si128()));
		memcpy(qx + d, &b, 4);
	}
	double l[4];
	_mm256_storeu_pd(l, acc);
	int32_t s4[4];
	_mm_storeu_si128((__m128i *)s4, isum);
	*sum += s4[0] + s4[1] + s4[2] + s4[3];
	return (l[0] + l[1]) + (l[2] + l[3]) + quantize_row_scalar(x + d, n - d, xsc, inv, qx + d, sum);
}
#endif

static double quantize_row(const float *x, int32_t n, double xsc, double inv, int8_t *qx, int32_t *sum)
{
#ifdef HAVE_AVX_KERNEL
	if (__builtin_cpu_supports("avx2"))
		return quantize_row_avx2(x, n, xsc, inv, qx, sum);
#endif
	return quantize_row_scalar(x, n, xsc, inv, qx, sum);
}

/* Pass 1, stored groups o0 .. o1 - 1: the rows copied to their place, and
 * quantised on the way when b->xsc is set (quantize_rows's integers, read
 * from the same floats). */
static void build_rows(struct build_job *b, int32_t o0, int32_t o1)
{
	botify_topk_index *ix = b->ix;
	const int32_t D = b->D, DQ = ix->DQ;
	const double xsc = b->xsc, inv = xsc > 0 ? 1 / xsc : 0;
	for (int32_t o = o0; o < o1; o++) {
		int32_t i = b->order[o], g = b->gl[i], r = ix->off[o];
		ix->slack[o] = b->slack0[i];
		double em = 0;
		for (int32_t m = b->start[g]; m < b->start[g + 1]; m++, r++) {
			const float *x = b->E + (size_t)b->mem[m] * (size_t)D;
			if (m + 2 < b->start[g + 1])
				prefetch_row(b->E + (size_t)b->mem[m + 2] * (size_t)D, D);
			ix->id[r] = b->mem[m];
			memcpy(ix->E + (size_t)r * (size_t)D, x, (size_t)D * sizeof(float));
			if (xsc > 0) {
				int8_t *qx = ix->qx + (size_t)r * (size_t)DQ;
				int32_t sum = 0;
				double e2 = quantize_row(x, D, xsc, inv, qx, &sum);
				memset(qx + D, 0, (size_t)(DQ - D));
				ix->qxsum[r] = QL * sum;
				em = e2 > em ? e2 : em;
			}
		}
		b->ex2[o] = em;
	}
}

/* Before pass 1: whether the centroids (b->qcent) and the rows (b->xsc
 * set, qx allocated) are to be quantised. Centroids that are huge or not
 * finite: no filter, the plain bounds; then rows of that kind: no
 * quantised rows either. -1 when out of memory. */
static int quantize_prepare(botify_topk_index *ix, struct build_job *b, botify_err *err)
{
	int32_t C = ix->C, D = ix->D, N = ix->N;
	b->qcent = 0;
	b->xsc = 0;
	for (size_t i = 0; i < (size_t)C * (size_t)D; i++)
		if (!(fabs((double)ix->cent[i]) <= 1e15))
			return 0;
	if (C == 0 || D == 0)
		return 0;
	b->qcent = 1;
	double xa = 0;
	for (int32_t i = 0; i < C; i++) {
		if (!(b->xa[i] <= 1e15))
			return 0;
		xa = b->xa[i] > xa ? b->xa[i] : xa;
	}
	/* row-major, D rounded up to 32 bytes (one vpmaddubsw a chunk, four
	 * chunks summed in 16 bits as above); build_rows zeroes the padding */
	int32_t DQ = (D + 31) / 32 * 32;
	ix->qx = botify_malloc_large((size_t)N, (size_t)DQ, "quantised rows", err);
	ix->qxsum = botify_malloc((size_t)N, sizeof(int32_t), "quantised rows", err);
	if (!ix->qx || !ix->qxsum)
		return -1;
	ix->DQ = DQ;
	b->xsc = xa > 0 ? xa / CL : 1.0;
	return 0;
}

/* After pass 1: the centroids quantised, and the rows' error terms (the
 * rows themselves were quantised as they were copied, for the same test
 * track by track inside an opened group). */
static int quantize_index(botify_topk_index *ix, struct build_job *b, botify_err *err)
{
	int32_t C = ix->C, D = ix->D;
	if (!b->qcent)
		return 0;
	int32_t S4 = (D + 3) / 4, P = (C + 7) / 8, C8 = P * 8;
	ix->qc = botify_malloc((size_t)P * (size_t)S4, 32, "quantised centroids", err);
	ix->qsum = botify_malloc((size_t)C8, sizeof(int32_t), "quantised centroids", err);
	ix->qslack = botify_malloc((size_t)C8, sizeof(float), "quantised centroids", err);
	ix->qcsc = botify_malloc((size_t)C8, sizeof(float), "quantised centroids", err);
	ix->qcn = botify_malloc((size_t)C8, sizeof(float), "quantised centroids", err);
	ix->qecn = botify_malloc((size_t)C8, sizeof(float), "quantised centroids", err);
	if (!ix->qc || !ix->qsum || !ix->qslack || !ix->qcsc || !ix->qcn || !ix->qecn)
		return -1;
	double cmax = 0, ecmax = 0, slmax = 0;
	for (int32_t g = 0; g < C8; g++) {
		int32_t sum = 0;
		double e2 = 0, c2 = 0, am = 0;
		int8_t *panel = ix->qc + (size_t)(g / 8) * (size_t)S4 * 32 + (size_t)(g % 8) * 4;
		for (int32_t d = 0; g < C && d < D; d++) {
			double a = fabs((double)ix->cent[(size_t)g * (size_t)D + d]);
			am = a > am ? a : am;
		}
		/* a float scale, so that the filter's float product sq csc is of
		 * the very numbers the integers were measured against; at least
		 * FLT_MIN (a smaller one would be a subnormal), 1 for a zero
		 * centroid */
		float cs = am > 0 ? (float)(am / CL) : 1.0f;
		if (!(cs >= FLT_MIN))
			cs = FLT_MIN;
		double csc = cs, inv = 1 / csc;
		for (int32_t d = 0; d < S4 * 4; d++) {
			long v = 0;
			if (g < C && d < D) {
				double c = ix->cent[(size_t)g * (size_t)D + d];
				v = round_near(c * inv);
				v = v > CL ? CL : v < -CL ? -CL : v;
				double e = c - csc * (double)v;
				e2 += e * e;
				c2 += c * c;
			}
			panel[(size_t)(d / 4) * 32 + d % 4] = (int8_t)v;
			sum += (int32_t)v;
		}
		ix->qsum[g] = QL * sum;
		/* padding never passes: a value of -inf (or NaN) */
		ix->qslack[g] = g < C ? ix->slack[g] : -INFINITY;
		ix->qcsc[g] = g < C ? cs : 0;
		/* the norms as doubles compute them are within D 2^-52 of the
		 * real ones, and each e is off by at most 2^-53 |csc v| <= 2^-52
		 * |c|: far inside these margins */
		double cn = sqrt(c2) * (1 + 1e-9), ecn = sqrt(e2) * (1 + 1e-9) + 1e-9 * sqrt(c2);
		ix->qcn[g] = float_up(cn);
		ix->qecn[g] = float_up(ecn);
		if (g < C) {
			cmax = cn > cmax ? cn : cmax;
			ecmax = ecn > ecmax ? ecn : ecmax;
			slmax = ix->slack[g] > slmax ? ix->slack[g] : slmax;
		}
	}
	ix->cmax = cmax;
	ix->ecmax = ecmax;
	ix->slmax = slmax;
	ix->S4 = S4;
	ix->P = P;
	if (b->xsc == 0)
		return 0;
	double exmax = 0, xmax = ix->xmax;
	for (int32_t o = 0; o < C; o++)
		exmax = sqrt(b->ex2[o]) > exmax ? sqrt(b->ex2[o]) : exmax;
	ix->xsc = b->xsc;
	ix->xmaxq = xmax * (1 + 1e-9);
	ix->exmax = exmax * (1 + 1e-9) + 1e-9 * xmax;
	return 0;
}

/* Rows x[o] = x[order[o]] (order a permutation of 0 .. n - 1, rows of w
 * floats), in place, cycle by cycle: the cycle's first row waits in tmp
 * (w floats) while the others move up. done: n entries of scratch. */
static void permute_rows(float *x, size_t w, const int32_t *order, int32_t n, int32_t *done, float *tmp)
{
	size_t bytes = w * sizeof(float);
	memset(done, 0, (size_t)n * sizeof(int32_t));
	for (int32_t o = 0; o < n; o++) {
		if (done[o])
			continue;
		done[o] = 1;
		if (order[o] == o)
			continue;
		memcpy(tmp, x + (size_t)o * w, bytes);
		int32_t cur = o;
		for (int32_t src = order[cur]; src != o; cur = src, src = order[cur]) {
			memcpy(x + (size_t)cur * w, x + (size_t)src * w, bytes);
			done[src] = 1;
		}
		memcpy(x + (size_t)cur * w, tmp, bytes);
	}
}

int botify_topk_index_build(botify_topk_index *ix, const float *E, int32_t N, int32_t D,
			    const int32_t *group, int32_t G, botify_err *err)
{
	return botify_topk_index_build_threads(ix, E, N, D, group, G, 1, err);
}

int botify_topk_index_build_threads(botify_topk_index *ix, const float *E, int32_t N, int32_t D,
				    const int32_t *group, int32_t G, int threads, botify_err *err)
{
	memset(ix, 0, sizeof(*ix));
	ix->N = N;
	ix->D = D;
	size_t Gn = (size_t)G + 1, Dn = (size_t)(D ? D : 1);
	int32_t *start = botify_calloc(Gn + 1, sizeof(int32_t), "group sizes", err);
	int32_t *mem = botify_malloc((size_t)N + 1, sizeof(int32_t), "group members", err);
	int32_t *gl = botify_malloc(Gn, sizeof(int32_t), "groups", err);
	int32_t *sup = botify_malloc(Gn, sizeof(int32_t), "super-clusters", err);
	int32_t *order = botify_malloc(Gn, sizeof(int32_t), "group order", err);
	float *cent0 = botify_malloc_large(Gn, Dn * sizeof(float), "centroids", err);
	float *slack0 = botify_malloc(Gn, sizeof(float), "group radii", err);
	float *rowtmp = botify_malloc(Dn, sizeof(float), "centroids", err);
	double *x2 = botify_malloc(Gn, sizeof(double), "group norms", err);
	double *xa = botify_malloc(Gn, sizeof(double), "group norms", err);
	double *ex2 = botify_malloc(Gn, sizeof(double), "group norms", err);
	ix->E = botify_malloc_large((size_t)N + 1, Dn * sizeof(float), "grouped embeddings", err);
	ix->id = botify_malloc((size_t)N + 1, sizeof(int32_t), "grouped ids", err);
	ix->off = botify_calloc(Gn, sizeof(int32_t), "group offsets", err);
	ix->slack = botify_malloc(Gn, sizeof(float), "group radii", err);
	ix->centers = botify_malloc(MAX_SUPER, Dn * sizeof(float), "super-clusters", err);
	ix->sfirst = botify_calloc(MAX_SUPER + 1, sizeof(int32_t), "super-clusters", err);
	int rc = -1;
	if (!start || !mem || !gl || !sup || !order || !cent0 || !slack0 || !rowtmp || !x2 || !xa || !ex2 || !ix->E || !ix->id || !ix->off ||
	    !ix->slack || !ix->centers || !ix->sfirst)
		goto out;
	/* members of each group, ids ascending */
	for (int32_t t = 0; t < N; t++)
		start[group[t] + 1]++;
	for (int32_t g = 0; g < G; g++)
		start[g + 1] += start[g];
	for (int32_t t = 0; t < N; t++)
		mem[start[group[t]]++] = t;
	for (int32_t g = G; g > 0; g--)
		start[g] = start[g - 1];
	start[0] = 0;
	/* the non-empty groups and their centroids */
	int32_t C = 0;
	for (int32_t g = 0; g < G; g++)
		if (start[g + 1] > start[g])
			gl[C++] = g;
	ix->C = C;
	struct build_job b = { .ix = ix, .E = E, .D = D, .C = C, .start = start, .mem = mem, .gl = gl,
			       .order = order, .cent0 = cent0, .slack0 = slack0, .x2 = x2, .xa = xa,
			       .ex2 = ex2 };
	if (build_pass(&b, 0, threads) != 0) {
		botify_fail(err, BOTIFY_ENOMEM, "out of memory for a centroid");
		goto out;
	}
	ix->M = C / 64 < 1 ? 1 : C / 64 > MAX_SUPER ? MAX_SUPER : C / 64;
	if (ix->M > 1) {
		if (super_clusters(cent0, C, D, ix->M, ix->centers, sup, err) != 0)
			goto out;
	} else {
		memset(sup, 0, (size_t)C * sizeof(int32_t));
		memset(ix->centers, 0, Dn * sizeof(float));
	}
	/* groups super-cluster by super-cluster (a counting sort, stable) */
	int32_t first[MAX_SUPER + 1] = {0};
	for (int32_t i = 0; i < C; i++)
		first[sup[i] + 1]++;
	for (int32_t m = 0; m < ix->M; m++)
		first[m + 1] += first[m];
	for (int32_t m = 0; m <= ix->M; m++)
		ix->sfirst[m] = first[m];
	for (int32_t i = 0; i < C; i++)
		order[first[sup[i]]++] = i;
	int32_t r = 0;
	for (int32_t o = 0; o < C; o++) {
		int32_t g = gl[order[o]];
		ix->off[o] = r;
		r += start[g + 1] - start[g];
	}
	ix->off[C] = r;
	for (int32_t i = 0; i < C; i++) {
		/* a NaN row would make its group's centroid and bound NaN, and
		 * a NaN bound never opens a group: its other tracks would be
		 * lost (x2 is a sum of squares, finite for finite floats) */
		if (!isfinite(x2[i])) {
			size_t e = 0;
			while (e < (size_t)N * (size_t)D && isfinite(E[e]))
				e++;
			botify_fail(err, BOTIFY_EINVAL, "track %d: its vector is not finite",
				    (int32_t)(e / (size_t)Dn));
			goto out;
		}
		if (sqrt(x2[i]) > ix->xmax)
			ix->xmax = sqrt(x2[i]);
	}
	/* the centroids in the stored order, in place: a fresh copy costs
	 * more in page faults than the moves (sup, used up, marks the rows
	 * done) */
	permute_rows(cent0, Dn, order, C, sup, rowtmp);
	ix->cent = cent0;
	b.cent0 = NULL;
	cent0 = NULL;
	if (quantize_prepare(ix, &b, err) != 0)
		goto out;
	build_pass(&b, 1, threads);
	if (quantize_index(ix, &b, err) != 0)
		goto out;
	rc = 0;
out:
	free(start);
	free(mem);
	free(gl);
	free(sup);
	free(order);
	free(cent0);
	free(slack0);
	free(rowtmp);
	free(x2);
	free(xa);
	free(ex2);
	if (rc != 0)
		botify_topk_index_free(ix);
	return rc;
}

/* the k best so far, as botify_topk_select's heap but on double scores
 * (dbetter, dsift_down: DEFINE_RANKED_HEAP above) */

struct best {
	double *s;
	int32_t *id;
	int32_t n, k;
};

static inline void best_offer(struct best *b, double s, int32_t id)
{
	if (b->n < b->k) {
		int32_t i = b->n++;
		while (i > 0) {
			int32_t p = (i - 1) / 2;
			if (!dbetter(b->s[p], b->id[p], s, id))
				break;
			b->s[i] = b->s[p];
			b->id[i] = b->id[p];
			i = p;
		}
		b->s[i] = s;
		b->id[i] = id;
	} else if (dbetter(s, id, b->s[0], b->id[0])) {
		b->s[0] = s;
		b->id[0] = id;
		dsift_down(b->s, b->id, b->n, 0);
	}
}

/* heap-sort in place, best first */
static void best_sort(struct best *b)
{
	for (int32_t m = b->n - 1; m > 0; m--) {
		double ts = b->s[0];
		b->s[0] = b->s[m];
		b->s[m] = ts;
		int32_t ti = b->id[0];
		b->id[0] = b->id[m];
		b->id[m] = ti;
		dsift_down(b->s, b->id, m, 0);
	}
}

static void (*search_progress)(void *ctx, int64_t done, int64_t total);
static void *search_progress_ctx;

void botify_topk_set_progress(void (*fn)(void *ctx, int64_t done, int64_t total), void *ctx)
{
	search_progress = fn;
	search_progress_ctx = ctx;
}

struct search_job {
	int64_t *done;   /* queries finished by every thread (atomic) */
	int64_t *next;   /* the first query of the next block to take (atomic) */
	const botify_topk_index *ix;
	const float *queries;
	const int64_t *perm; /* row i of queries is query perm[i]; NULL: itself */
	const int32_t *key;  /* row i's two nearest super-clusters, m1 * M + m2; NULL: 0 */
	int64_t Q, QB;
	int32_t k;
	volatile sig_atomic_t *stop;
	int32_t *ids;
	double *scores;
	int t, T;
	int failed;      /* 1: out of memory, 2: stopped */
	botify_topk_stats st;
};

/* Bd[g] = an upper bound of every score in group g from S = q.c and the
 * slack: each of the two float roundings is within 2^-24 of the magnitudes,
 * 2^-22 of them covers both. A float q.c of huge vectors can overflow, and
 * infinities of both signs make a NaN: no bound, so +inf (the group is
 * opened and its tracks scored in double, which does not overflow).
 * NEEDSWORK: a sum that overflows to -inf alone (products near FLT_MAX of
 * one sign, then others that would bring it back) still skips its group. */
static void bounds_scalar(const float *S, const float *slack, float qn, int32_t C, float *Bd)
{
	for (int32_t g = 0; g < C; g++) {
		float a = S[g], s = qn * slack[g];
		float B = a + s + 0x1p-22f * (fabsf(a) + s) + 1e-30f;
		Bd[g] = isnan(B) ? INFINITY : B;
	}
}

/* Appends to out the indices g with x[g] >= thr, ascending; returns the new
 * count. */
static int32_t scan_ge_scalar(const float *x, int32_t n, float thr, int32_t *out, int32_t m)
{
	for (int32_t g = 0; g < n; g++)
		if (x[g] >= thr)
			out[m++] = g;
	return m;
}

#ifdef HAVE_AVX_KERNEL
__attribute__((target("avx"))) static void bounds_avx(const float *S, const float *slack, float qn,
						       int32_t C, float *Bd)
{
	__m256 vq = _mm256_set1_ps(qn), eps = _mm256_set1_ps(0x1p-22f), tiny = _mm256_set1_ps(1e-30f);
	__m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	int32_t g = 0;
	for (; g + 8 <= C; g += 8) {
		__m256 a = _mm256_loadu_ps(S + g), s = _mm256_mul_ps(vq, _mm256_loadu_ps(slack + g));
		__m256 m = _mm256_mul_ps(eps, _mm256_add_ps(_mm256_and_ps(a, absmask), s));
		__m256 B = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a, s), m), tiny);
		B = _mm256_blendv_ps(B, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(B, B, _CMP_UNORD_Q));
		_mm256_storeu_ps(Bd + g, B);
	}
	bounds_scalar(S + g, slack + g, qn, C - g, Bd + g);
}

__attribute__((target("avx"))) static int32_t scan_ge_avx(const float *x, int32_t n, float thr,
							   int32_t *out, int32_t m)
{
	__m256 t = _mm256_set1_ps(thr);
	int32_t g = 0;
	for (; g + 8 <= n; g += 8) {
		unsigned bits = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + g), t, _CMP_GE_OQ));
		while (bits) {
			out[m++] = g + __builtin_ctz(bits);
			bits &= bits - 1;
		}
	}
	for (; g < n; g++)
		if (x[g] >= thr)
			out[m++] = g;
	return m;
}
#endif

static void bounds(const float *S, const float *slack, float qn, int32_t C, float *Bd)
{
#ifdef HAVE_AVX_KERNEL
	if (__builtin_cpu_supports("avx")) {
		bounds_avx(S, slack, qn, C, Bd);
		return;
	}
#endif
	bounds_scalar(S, slack, qn, C, Bd);
}

static int32_t scan_ge(const float *x, int32_t n, float thr, int32_t *out)
{
#ifdef HAVE_AVX_KERNEL
	if (__builtin_cpu_supports("avx"))
		return scan_ge_avx(x, n, thr, out, 0);
#endif
	return scan_ge_scalar(x, n, thr, out, 0);
}

enum { SEED_GROUPS = 8 };

/* Offers (x, i) to the n best values kept in v/id[0..n), highest first, at
 * most cap of them; returns the new n. A value equal to one kept goes after
 * it (the first offered stays ahead), one not above the cap-th is dropped
 * when the list is full, and a NaN is never kept. It only chooses which
 * groups are opened first, never a result: the plain seeds come from
 * scan_ge (numbers, NaN bounds being +inf), the filter's values are finite,
 * and a NaN q.c (an overflow: a query beyond the filter's range) leaves
 * the query to the plain bounds. */
static inline int32_t keep_best(float *v, int32_t *id, int32_t n, int32_t cap, float x, int32_t i)
{
	if (isnan(x) || (n == cap && !(x > v[cap - 1])))
		return n;
	int32_t p = n < cap ? n++ : cap - 1;
	for (; p > 0 && v[p - 1] < x; p--) {
		v[p] = v[p - 1];
		id[p] = id[p - 1];
	}
	v[p] = x;
	id[p] = i;
	return n;
}

/* Writes to out, ascending, the indices of x[0..n) that may be among the
 * t best (keep_best's order: value, then index; NaN never), and returns
 * their count: every index when t > 32, n <= 64 or without AVX2, else those at or
 * above theta, the smallest of the fourth-highest values of eight lanes
 * (x[i] in lane i % 8, -inf past n and for a NaN). Each lane holds four
 * values at or above its fourth-highest, so 32 >= t are at or above
 * theta, and a value below it is below the t-th best: keep_best over the
 * indices returned, ascending, keeps what it keeps over all of x. A lane
 * of fewer than four numbers gives theta = -inf: every number. */
#ifdef HAVE_AVX_KERNEL
__attribute__((target("avx2"))) static int32_t top_candidates_avx2(const float *x, int32_t n, int32_t *out)
{
	const __m256 ninf = _mm256_set1_ps(-INFINITY);
	__m256 r0 = ninf, r1 = ninf, r2 = ninf, r3 = ninf;
	int32_t i = 0;
	for (; i < n; i += 8) {
		__m256 v;
		if (i + 8 <= n) {
			v = _mm256_loadu_ps(x + i);
		} else {
			float t[8];
			for (int l = 0; l < 8; l++)
				t[l] = i + l < n ? x[i + l] : -INFINITY;
			v = _mm256_loadu_ps(t);
		}
		v = _mm256_blendv_ps(v, ninf, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
		/* insertion into the lane's four highest, r0 >= r1 >= r2 >= r3 */
		__m256 hi = _mm256_max_ps(r0, v);
		v = _mm256_min_ps(r0, v);
		r0 = hi;
		hi = _mm256_max_ps(r1, v);
		v = _mm256_min_ps(r1, v);
		r1 = hi;
		hi = _mm256_max_ps(r2, v);
		v = _mm256_min_ps(r2, v);
		r2 = hi;
		r3 = _mm256_max_ps(r3, v);
	}
	__m128 m = _mm_min_ps(_mm256_castps256_ps128(r3), _mm256_extractf128_ps(r3, 1));
	m = _mm_min_ps(m, _mm_movehl_ps(m, m));
	m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
	float theta = _mm_cvtss_f32(m);
	/* x >= -inf holds for every number: theta = -inf needs no case */
	return scan_ge_avx(x, n, theta, out, 0);
}
#endif

static int32_t top_candidates(const float *x, int32_t n, int32_t t, int32_t *out)
{
#ifdef HAVE_AVX_KERNEL
	if (t <= 32 && n > 64 && __builtin_cpu_supports("avx2"))
		return top_candidates_avx2(x, n, out);
#endif
	(void)t;
	for (int32_t i = 0; i < n; i++)
		out[i] = i;
	return n;
}

int32_t botify_topk_seed_candidates(const float *x, int32_t n, int32_t t, int32_t *out)
{
	return top_candidates(x, n, t, out);
}

/* Pulls the first lines of a group's rows towards the cache: groups are
 * opened in no predictable order, and waiting for memory row by row would
 * cost more than scoring them. */
static inline void prefetch_group(const botify_topk_index *ix, int32_t g)
{
	const char *p = (const char *)(ix->E + (size_t)ix->off[g] * (size_t)ix->D);
	size_t bytes = (size_t)(ix->off[g + 1] - ix->off[g]) * (size_t)ix->D * sizeof(float);
	if (bytes > 2048)
		bytes = 2048;
	for (size_t b = 0; b < bytes; b += 64)
		__builtin_prefetch(p + b);
}

static void open_group(const botify_topk_index *ix, int32_t g, const float *q, double *tmp,
		       struct best *b, int64_t *scored)
{
	int32_t r0 = ix->off[g], n = ix->off[g + 1] - r0;
	botify_topk_score_rows(q, ix->E + (size_t)r0 * (size_t)ix->D, n, ix->D, tmp);
	for (int32_t m = 0; m < n; m++)
		best_offer(b, tmp[m], ix->id[r0 + m]);
	*scored += n;
}

/* Rows [r0, r1) of the block at q0 when the bounds prune little (a large
 * k, a catalog without clusters): sgemm's float scores of every track as a
 * filter, and the exact double score only for the tracks whose float score
 * is within two rounding margins m (gamma_D |q| max|x|) of the k-th best
 * float score f. The k tracks at or above f score at least f - m exactly,
 * so the exact k-th best t is at least f - m, and a track of the exact top
 * k (exact score >= t) has a float score >= t - m >= f - 2m: every one of
 * them, ties included, is among the candidates, and the lists are those of
 * scoring every track exactly. */
enum { FILTER_ROWS = 32 };

static int filter_rows(struct search_job *j, int64_t q0, int64_t r0, int64_t r1)
{
	const botify_topk_index *ix = j->ix;
	int32_t D = ix->D, k = j->k, N = ix->N;
	float *S = malloc((size_t)FILTER_ROWS * (size_t)N * sizeof(float));
	float *fs = malloc((size_t)k * sizeof(float));
	int32_t *fid = malloc((size_t)k * sizeof(int32_t));
	int32_t *cand = malloc((size_t)N * sizeof(int32_t));
	double *hs = malloc((size_t)k * sizeof(double));
	int32_t *hid = malloc((size_t)k * sizeof(int32_t));
	int rc = 0;
	if (!S || !fs || !fid || !cand || !hs || !hid) {
		rc = 1;
		goto out;
	}
	double gamma = rounding_gamma(D);
	for (int64_t c0 = r0; c0 < r1; c0 += FILTER_ROWS) {
		if (j->stop && *j->stop) {
			rc = 2;
			goto out;
		}
		int64_t rows = r1 - c0 < FILTER_ROWS ? r1 - c0 : FILTER_ROWS;
		const float *qb = j->queries + (q0 + c0) * D;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, N, D, 1.0f, qb, D, ix->E, D,
			    0.0f, S, N);
		for (int64_t r = 0; r < rows; r++) {
			const float *q = qb + r * D, *Sr = S + r * N;
			double qd = 0;
			for (int32_t d = 0; d < D; d++)
				qd += (double)q[d] * q[d];
			botify_topk_select(Sr, N, k, -1, fid, fs);
			double thr = (double)fs[k - 1] - 2 * gamma * sqrt(qd) * ix->xmax * (1 + 1e-6);
			float tf = (float)thr;
			if ((double)tf > thr)
				tf = nextafterf(tf, -INFINITY);
			int32_t nc = scan_ge(Sr, N, tf, cand);
			struct best b = { hs, hid, 0, k };
			for (int32_t i = 0; i < nc; i++)
				best_offer(&b, botify_topk_score(q, ix->E + (size_t)cand[i] * (size_t)D, D),
					   ix->id[cand[i]]);
			best_sort(&b);
			int64_t out_row = j->perm ? j->perm[q0 + c0 + r] : q0 + c0 + r;
			memcpy(j->ids + out_row * k, hid, (size_t)k * sizeof(int32_t));
			if (j->scores)
				memcpy(j->scores + out_row * k, hs, (size_t)k * sizeof(double));
			j->st.scored += nc;
		}
	}
out:
	free(S);
	free(fs);
	free(fid);
	free(cand);
	free(hs);
	free(hid);
	return rc;
}

/* One query by the plain bounds: Sr holds sgemm's (or sgemv's) float q.c
 * of every group. */
static void search_one_plain(const botify_topk_index *ix, const float *q, const float *Sr, float qn,
			     float *Bd, int32_t *cand, double *tmp, struct best *b, int64_t *scored,
			     int64_t *groups)
{
	int32_t C = ix->C, k = b->k;
	bounds(Sr, ix->slack, qn, C, Bd);
	/* seed with the groups of the highest bounds, best first, so the
	 * threshold is close to final before the sweep: of the groups at or
	 * above the largest bound of a sample, the SEED_GROUPS highest */
	int32_t seed[SEED_GROUPS];
	float sb[SEED_GROUPS];
	int32_t ns = 0;
	float top = -INFINITY;
	for (int32_t g = 0; g < C; g += 97)
		top = Bd[g] > top ? Bd[g] : top;
	int32_t nc = scan_ge(Bd, C, top, cand);
	for (int32_t i = 0; i < nc; i++)
		ns = keep_best(sb, seed, ns, SEED_GROUPS, Bd[cand[i]], cand[i]);
	for (int i = 0; i < ns; i++)
		prefetch_group(ix, seed[i]);
	for (int i = 0; i < ns; i++) {
		if (b->n == k && Bd[seed[i]] < b->s[0])
			continue;
		open_group(ix, seed[i], q, tmp, b, scored);
		(*groups)++;
		Bd[seed[i]] = -INFINITY; /* opened */
	}
	/* >=: a track scoring exactly the k-th best with a lower id still
	 * gets in. Below the threshold now, below it at the end. */
	/* a float threshold at or below the k-th score */
	float tau = b->n == k ? (float)b->s[0] : -INFINITY;
	if ((double)tau > b->s[0])
		tau = nextafterf(tau, -INFINITY);
	nc = scan_ge(Bd, C, tau, cand);
	for (int32_t i = 0; i < nc; i++) {
		if (i + 2 < nc)
			prefetch_group(ix, cand[i + 2]);
		if (Bd[cand[i]] == -INFINITY || (b->n == k && Bd[cand[i]] < b->s[0]))
			continue;
		open_group(ix, cand[i], q, tmp, b, scored);
		(*groups)++;
	}
}

/* The float bound of one group from its float q.c, as bounds() */
static inline float group_bound(float a, float slack, float qn)
{
	float s = qn * slack;
	return a + s + 0x1p-22f * (fabsf(a) + s) + 1e-30f;
}

/* q.c in float: any order of the D products and sums is within the
 * rounding margin the slack holds (rounding_gamma), as sgemm's. */
static float dot_scalar(const float *a, const float *b, int32_t D)
{
	float s = 0;
	for (int32_t d = 0; d < D; d++)
		s += a[d] * b[d];
	return s;
}

#ifdef HAVE_AVX_KERNEL
#define HAVE_FILTER_KERNEL 1
__attribute__((target("avx2,fma"))) static float dot_avx2(const float *a, const float *b, int32_t D)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = s0;
	int32_t d = 0;
	for (; d + 16 <= D; d += 16) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d), _mm256_loadu_ps(b + d), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d + 8), _mm256_loadu_ps(b + d + 8), s1);
	}
	for (; d + 8 <= D; d += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d), _mm256_loadu_ps(b + d), s0);
	s0 = _mm256_add_ps(s0, s1);
	__m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
	float s = _mm_cvtss_f32(h);
	for (; d < D; d++)
		s += a[d] * b[d];
	return s;
}

static inline int32_t load4(const uint8_t *p)
{
	int32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

enum { FILTER_PANELS = 256 }; /* a run of panels that stays in L2 (208 KB at 100 dims) */

/* The centroids the filter passes: query row r, group g, filter value v,
 * in the order filter_tile finds them (for one row, g ascending). */
struct pent {
	int32_t r, g;
	float v;
};

struct passed {
	struct pent *e;
	size_t n, cap;
	/* filter_tile's scratch, FILTER_PANELS of each: the panels with a
	 * value at or above thr, their 32 values and which of them pass */
	float *hv;
	int32_t *hp;
	uint32_t *hm;
};

/* An empty asm that needs a, b, c, d in registers here: it keeps the
 * compiler from re-associating a run of additions into a tree, whose
 * partial sums do not fit in the 16 vector registers and spill. */
#define KEEP4(a, b, c, d) __asm__("" : "+x"(a), "+x"(b), "+x"(c), "+x"(d))

/* The offset integer vectors u of four queries, each group of 4 bytes
 * repeated over 32, once per tile: filter_tile's inner loop is then plain
 * loads and vpmaddubsw, not a broadcast per product. */
__attribute__((target("avx2,fma"))) static void broadcast_tile(const uint8_t *const u[4], int32_t S4,
							       __m256i *ub)
{
	for (int r = 0; r < 4; r++)
		for (int32_t st = 0; st < S4; st++)
			_mm256_store_si256(ub + (size_t)r * (size_t)S4 + st, _mm256_set1_epi32(load4(u[r] + 4 * st)));
}

/* Four queries (ub: broadcast_tile of their offset integer vectors;
 * sig = sq, qn, eq, qh, thr each: quantize_query; rows r0 .. r0 + 3)
 * against panels [p0, p1): every centroid g with value
 *   v = fl(sq csc) (q~.c~) + (eq |c| + (qh |ec| + qn slack)) >= thr
 * in float is appended to pass, which has room for 32 (p1 - p0) more. */
__attribute__((target("avx2,fma"))) static void filter_tile(const botify_topk_index *ix, const __m256i *ub,
							    const float *sig, const float *qn, const float *eq,
							    const float *qh, const float *thr, int32_t r0,
							    struct passed *pass, int32_t p0, int32_t p1)
{
	const int32_t S4 = ix->S4;
	float *hv = pass->hv;
	int32_t *hp = pass->hp, nh = 0;
	uint32_t *hm = pass->hm;
	/* the rows' constants side by side: one base address for all */
	float rk[4][5];
	for (int r = 0; r < 4; r++) {
		rk[r][0] = eq[r];
		rk[r][1] = qh[r];
		rk[r][2] = qn[r];
		rk[r][3] = sig[r];
		rk[r][4] = thr[r];
	}
	const __m256i ones = _mm256_set1_epi16(1);
	const __m256i *u0 = ub, *u1 = u0 + S4, *u2 = u1 + S4, *u3 = u2 + S4;
	for (int32_t p = p0; p < p1; p++) {
		const int8_t *pc = ix->qc + (size_t)p * (size_t)S4 * 32;
		__m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
#define FILTER_STEP(st)                                                                          \
	do {                                                                                     \
		__m256i c = _mm256_loadu_si256((const __m256i *)(pc + (size_t)(st) * 32));       \
		h0 = _mm256_add_epi16(h0, _mm256_maddubs_epi16(_mm256_load_si256(u0 + (st)), c)); \
		h1 = _mm256_add_epi16(h1, _mm256_maddubs_epi16(_mm256_load_si256(u1 + (st)), c)); \
		h2 = _mm256_add_epi16(h2, _mm256_maddubs_epi16(_mm256_load_si256(u2 + (st)), c)); \
		h3 = _mm256_add_epi16(h3, _mm256_maddubs_epi16(_mm256_load_si256(u3 + (st)), c)); \
		KEEP4(h0, h1, h2, h3);                                                          \
	} while (0)
		int32_t s0 = 0;
		for (; s0 + RUN16 <= S4; s0 += RUN16) { /* RUN16 steps, unrolled */
			__m256i h0 = _mm256_setzero_si256(), h1 = h0, h2 = h0, h3 = h0;
			FILTER_STEP(s0);
			FILTER_STEP(s0 + 1);
			FILTER_STEP(s0 + 2);
			FILTER_STEP(s0 + 3);
			a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(h0, ones));
			a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(h1, ones));
			a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(h2, ones));
			a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(h3, ones));
		}
		if (s0 < S4) { /* the last 1 to RUN16 - 1 steps, as many each panel */
			__m256i h0 = _mm256_setzero_si256(), h1 = h0, h2 = h0, h3 = h0;
			FILTER_STEP(s0);
			if (s0 + 1 < S4)
				FILTER_STEP(s0 + 1);
			if (s0 + 2 < S4)
				FILTER_STEP(s0 + 2);
			a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(h0, ones));
			a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(h1, ones));
			a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(h2, ones));
			a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(h3, ones));
		}
#undef FILTER_STEP
		__m256i qs = _mm256_loadu_si256((const __m256i *)(ix->qsum + (size_t)p * 8));
		__m256 sl = _mm256_loadu_ps(ix->qslack + (size_t)p * 8);
		__m256 cs = _mm256_loadu_ps(ix->qcsc + (size_t)p * 8);
		__m256 cn = _mm256_loadu_ps(ix->qcn + (size_t)p * 8);
		__m256 ecn = _mm256_loadu_ps(ix->qecn + (size_t)p * 8);
		__m256i acc[4] = { a0, a1, a2, a3 };
		/* the values are stored and the panel kept (nh advanced) only if
		 * one passes: about one panel in five, at random, so a branch
		 * here would be mispredicted that often */
		float *vb = hv + (size_t)nh * 32;
		uint32_t mk = 0;
#pragma GCC unroll 4
		for (int r = 0; r < 4; r++) {
			__m256 w = _mm256_fmadd_ps(_mm256_set1_ps(rk[r][0]), cn,
						   _mm256_fmadd_ps(_mm256_set1_ps(rk[r][1]), ecn,
								   _mm256_mul_ps(_mm256_set1_ps(rk[r][2]), sl)));
			__m256 v = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r], qs));
			v = _mm256_fmadd_ps(v, _mm256_mul_ps(_mm256_set1_ps(rk[r][3]), cs), w);
			mk |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(rk[r][4]), _CMP_GE_OQ)) << (8 * r);
			_mm256_storeu_ps(vb + 8 * r, v);
		}
		hp[nh] = p;
		hm[nh] = mk;
		nh += mk != 0;
	}
	/* row by row within a panel, g ascending within a row */
	for (int32_t i = 0; i < nh; i++)
		for (uint32_t mk = hm[i]; mk; mk &= mk - 1) {
			int b = __builtin_ctz(mk);
			pass->e[pass->n++] = (struct pent){ r0 + b / 8, hp[i] * 8 + b % 8, hv[(size_t)i * 32 + b] };
		}
}

/* The integer products q~.x~ less the offset's share of rows r .. r + NR - 1
 * (NR <= 4, a constant once inlined), four rows per 32 bytes of the query:
 * the accumulators stay in registers, and a group's last rows cost what
 * they hold, not a block of four. */
__attribute__((target("avx2,fma"), always_inline)) static inline __m128i
row_ints(const botify_topk_index *ix, const uint8_t *u, int32_t r, const int NR)
{
	const int32_t DQ = ix->DQ, NC = DQ / 32;
	const __m256i ones = _mm256_set1_epi16(1);
	const int8_t *x0 = ix->qx + (size_t)r * (size_t)DQ;
	const int8_t *x1 = x0 + DQ, *x2 = x1 + DQ, *x3 = x2 + DQ;
	__m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
	for (int32_t c0 = 0; c0 < NC; c0 += RUN16) {
		int32_t c1 = NC - c0 < RUN16 ? NC : c0 + RUN16;
		__m256i h0 = _mm256_setzero_si256(), h1 = h0, h2 = h0, h3 = h0;
		for (int32_t c = c0; c < c1; c++) {
			__m256i qv = _mm256_loadu_si256((const __m256i *)(u + (size_t)c * 32));
			size_t o = (size_t)c * 32;
			h0 = _mm256_add_epi16(h0, _mm256_maddubs_epi16(qv, _mm256_loadu_si256((const __m256i *)(x0 + o))));
			if (NR > 1)
				h1 = _mm256_add_epi16(h1, _mm256_maddubs_epi16(qv, _mm256_loadu_si256((const __m256i *)(x1 + o))));
			if (NR > 2)
				h2 = _mm256_add_epi16(h2, _mm256_maddubs_epi16(qv, _mm256_loadu_si256((const __m256i *)(x2 + o))));
			if (NR > 3)
				h3 = _mm256_add_epi16(h3, _mm256_maddubs_epi16(qv, _mm256_loadu_si256((const __m256i *)(x3 + o))));
		}
		a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(h0, ones));
		if (NR > 1)
			a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(h1, ones));
		if (NR > 2)
			a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(h2, ones));
		if (NR > 3)
			a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(h3, ones));
	}
	__m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
	__m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
	const int32_t *qs = ix->qxsum + r;
	return _mm_sub_epi32(s4, _mm_setr_epi32(qs[0], NR > 1 ? qs[1] : 0, NR > 2 ? qs[2] : 0,
						NR > 3 ? qs[3] : 0));
}

/* The filter's value of rows [r0, r0 + n) for one query (u, DQ bytes):
 * sigx (q~.x~). */
__attribute__((target("avx2,fma"))) static void row_values(const botify_topk_index *ix,
							   const uint8_t *u, float sigx, int32_t r0,
							   int32_t n, float *out)
{
	const __m128 sv = _mm_set1_ps(sigx);
	int32_t i = 0;
	for (; i + 4 <= n; i += 4)
		_mm_storeu_ps(out + i, _mm_mul_ps(_mm_cvtepi32_ps(row_ints(ix, u, r0 + i, 4)), sv));
	float v[4];
	switch (n - i) {
	case 3:
		_mm_storeu_ps(v, _mm_mul_ps(_mm_cvtepi32_ps(row_ints(ix, u, r0 + i, 3)), sv));
		break;
	case 2:
		_mm_storeu_ps(v, _mm_mul_ps(_mm_cvtepi32_ps(row_ints(ix, u, r0 + i, 2)), sv));
		break;
	case 1:
		_mm_storeu_ps(v, _mm_mul_ps(_mm_cvtepi32_ps(row_ints(ix, u, r0 + i, 1)), sv));
		break;
	default:
		return;
	}
	for (int t = 0; i + t < n; t++)
		out[i + t] = v[t];
}
#endif

static float dotf(const float *a, const float *b, int32_t D)
{
#ifdef HAVE_FILTER_KERNEL
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return dot_avx2(a, b, D);
#endif
	return dot_scalar(a, b, D);
}

static int filter_usable(const botify_topk_index *ix, int32_t k)
{
#ifdef HAVE_FILTER_KERNEL
	/* a large k prunes little, and keeps a heap per query of the block */
	return filter_on && ix->qc && ix->qx && k <= 256 && __builtin_cpu_supports("avx2") &&
	       __builtin_cpu_supports("fma");
#else
	(void)ix;
	(void)k;
	return 0;
#endif
}

/* The offset integer vector u of q and its float constants for
 * filter_tile: sq, eq = |eq| and qh = |sq q~| (both rounded up), and thr,
 * at or below tau less eup, the rounding of the filter's float sum. A value
 * is computed as fl(sq csc) I + (eq |c| + (qh |ec| + qn slack)): one
 * rounding of the product sq csc, of qn slack and of each of the three
 * fused multiply-adds, each within 2^-24 of magnitudes at most
 * qh (cmax + ecmax) + qn slmax + eq cmax + qh ecmax = mag, so 2^-18 mag
 * covers them (1e-25 more for products that underflow). 0 when the
 * magnitudes are out of float's comfortable range: the query then takes
 * the plain bounds. */
static int quantize_query(const botify_topk_index *ix, const float *q, double qnorm, float qn,
			  double tau, uint8_t *u, float *sig, float *eqf, float *qhf, float *thr,
			  double *eup, float *sigx, double *eupx)
{
	int32_t D = ix->D, DP = ix->DQ;
	double amax = 0;
	for (int32_t d = 0; d < D; d++)
		amax = fabs((double)q[d]) > amax ? fabs((double)q[d]) : amax;
	if (!(amax <= 1e15))
		return 0;
	/* a float, as csc: the filter multiplies the two in float */
	float sqf = (float)(amax / QL);
	double sq = sqf, inv = sq > 0 ? 1 / sq : 0, e2 = 0, h2 = 0;
	for (int32_t d = 0; d < DP; d++) {
		long v = 0;
		if (d < D && sq > 0) {
			v = round_near(q[d] * inv);
			v = v > QL ? QL : v < -QL ? -QL : v;
			double e = q[d] - sq * (double)v;
			e2 += e * e;
			h2 += (double)v * (double)v;
		}
		u[d] = (uint8_t)(v + QL);
	}
	double eq = sqrt(e2) * (1 + 1e-9) + 1e-9 * qnorm, qh = sq * sqrt(h2) * (1 + 1e-9);
	double mag = qh * (ix->cmax + ix->ecmax) + (double)qn * ix->slmax + eq * ix->cmax + qh * ix->ecmax;
	if (!(mag <= 1e25))
		return 0;
	*sig = sqf;
	*eqf = float_up(eq);
	*qhf = float_up(qh);
	*eup = 0x1p-18 * mag + 1e-25;
	/* the same for the rows, where v = fl(sigx I) is one product: and a
	 * double score is within D 2^-53 |q| |x| < 2^-40 qn xmax of q.x */
	double magx = qh * (ix->xmaxq + ix->exmax);
	if (!(magx <= 1e25))
		return 0;
	*sigx = (float)(sq * ix->xsc);
	*eupx = (eq * ix->xmaxq + qh * ix->exmax) * (1 + 1e-9) + 0x1p-18 * magx + 1e-25 +
		0x1p-40 * (double)qn * ix->xmaxq;
	double t = tau - *eup;
	float tf = (float)t;
	if ((double)tf > t)
		tf = nextafterf(tf, -INFINITY);
	*thr = tf;
	return 1;
}

/* A search thread's buffers for the filtered blocks. */
struct fscratch {
	uint8_t *u;          /* (QB + 3, S4 * 4) offset integer queries */
	void *ub;            /* (4, S4, 32 bytes) four of them for filter_tile */
	struct passed pass;  /* the filter's verdicts, as it finds them */
	int32_t *pfirst;     /* (QB + 1) row r's: sg/sB[pfirst[r] .. pfirst[r + 1]) */
	float *sig, *qn, *thr, *eqf, *qhf; /* (QB + 3) */
	double *eup;         /* (QB) how far the filter's value may be below a group's bound */
	float *sigx;         /* (QB) for the rows: struct qrows */
	double *eupx;
	float *rowv;         /* (largest group) */
	int32_t *top;        /* (k + 2 SEED_GROUPS) the seeds' candidates */
	float *topv;
	char *plain;         /* (QB) 1: the query takes the plain bounds */
	double *hs;          /* (QB, k) a heap per query */
	int32_t *hid, *hn;
	int32_t *seeds, *nseeds; /* (QB, k + SEED_GROUPS) groups opened first */
	char *opened;        /* (C) */
	float *sbd;          /* (QB, maxr) q.c, then bounds, of the query's own super-cluster */
	int32_t maxr;        /* the largest super-cluster */
	int32_t *sg;         /* groups the filter passed, row by row */
	float *sB;           /* their filter values */
	size_t sgcap, sBcap;
};

static void fscratch_free(struct fscratch *f)
{
	free(f->u);
	free(f->ub);
	free(f->pass.e);
	free(f->pass.hv);
	free(f->pass.hp);
	free(f->pass.hm);
	free(f->pfirst);
	free(f->sig);
	free(f->qn);
	free(f->thr);
	free(f->eqf);
	free(f->qhf);
	free(f->eup);
	free(f->sigx);
	free(f->eupx);
	free(f->rowv);
	free(f->top);
	free(f->topv);
	free(f->plain);
	free(f->hs);
	free(f->hid);
	free(f->hn);
	free(f->seeds);
	free(f->nseeds);
	free(f->opened);
	free(f->sbd);
	free(f->sg);
	free(f->sB);
}

static int fscratch_init(struct fscratch *f, const botify_topk_index *ix, int64_t QB, int32_t k)
{
	size_t R = (size_t)QB + 3, Cn = (size_t)(ix->C ? ix->C : 1), SK = (size_t)k + 2 * SEED_GROUPS;
	memset(f, 0, sizeof(*f));
	f->u = malloc(R * (size_t)ix->DQ);
	f->ub = aligned_alloc(32, (size_t)4 * (size_t)(ix->S4 ? ix->S4 : 1) * 32);
	f->pfirst = malloc((R + 1) * sizeof(int32_t));
	f->pass.hv = malloc((size_t)FILTER_PANELS * 32 * sizeof(float));
	f->pass.hp = malloc((size_t)FILTER_PANELS * sizeof(int32_t));
	f->pass.hm = malloc((size_t)FILTER_PANELS * sizeof(uint32_t));
	f->sig = malloc(R * sizeof(float));
	f->qn = malloc(R * sizeof(float));
	f->thr = malloc(R * sizeof(float));
	f->eqf = malloc(R * sizeof(float));
	f->qhf = malloc(R * sizeof(float));
	f->eup = malloc(R * sizeof(double));
	f->sigx = malloc(R * sizeof(float));
	f->eupx = malloc(R * sizeof(double));
	int32_t maxg = 1;
	for (int32_t g = 0; g < ix->C; g++)
		maxg = ix->off[g + 1] - ix->off[g] > maxg ? ix->off[g + 1] - ix->off[g] : maxg;
	f->rowv = malloc((size_t)maxg * sizeof(float));
	f->top = malloc(SK * sizeof(int32_t));
	f->topv = malloc(SK * sizeof(float));
	f->plain = malloc(R);
	f->hs = malloc(R * (size_t)k * sizeof(double));
	f->hid = malloc(R * (size_t)k * sizeof(int32_t));
	f->hn = malloc(R * sizeof(int32_t));
	f->seeds = malloc(R * SK * sizeof(int32_t));
	f->nseeds = malloc(R * sizeof(int32_t));
	f->opened = calloc(Cn, 1);
	f->maxr = 1;
	for (int32_t m = 0; m < (ix->M > 1 ? ix->M : 1); m++)
		if (ix->sfirst[m + 1] - ix->sfirst[m] > f->maxr)
			f->maxr = ix->sfirst[m + 1] - ix->sfirst[m];
	f->sbd = malloc(R * 2 * (size_t)f->maxr * sizeof(float));
	if (!f->u || !f->ub || !f->pass.hv || !f->pass.hp || !f->pass.hm || !f->pfirst || !f->sig || !f->qn || !f->thr || !f->eqf || !f->qhf || !f->eup || !f->sigx || !f->eupx || !f->rowv || !f->top || !f->topv || !f->plain || !f->hs || !f->hid ||
	    !f->hn || !f->seeds || !f->nseeds || !f->opened || !f->sbd) {
		fscratch_free(f);
		return -1;
	}
	return 0;
}

/* A query's integer vector and constants for the quantised rows. */
struct qrows {
	const uint8_t *u; /* DQ bytes */
	float sigx;       /* sq xsc */
	double eupx;      /* how far a row's value may be below its score */
	float *v;         /* scratch, the largest group's size */
};

/* open_group, but a row whose filter value shows it below the k-th best
 * is not scored: its score is at most v + eupx (quantize_query). */
static void open_group_q(const botify_topk_index *ix, int32_t g, const float *q,
			 const struct qrows *qr, double *tmp, struct best *b, int64_t *scored)
{
	int32_t r0 = ix->off[g], n = ix->off[g + 1] - r0;
#ifdef HAVE_FILTER_KERNEL
	if (n >= 2 && b->n == b->k) {
		row_values(ix, qr->u, qr->sigx, r0, n, qr->v);
		for (int32_t m = 0; m < n; m++)
			if ((double)qr->v[m] + qr->eupx >= b->s[0]) {
				best_offer(b, botify_topk_score(q, ix->E + (size_t)(r0 + m) * (size_t)ix->D, ix->D),
					   ix->id[r0 + m]);
				(*scored)++;
			}
		return;
	}
#else
	(void)qr;
#endif
	open_group(ix, g, q, tmp, b, scored);
}

static inline void prefetch_next(const botify_topk_index *ix, int32_t g)
{
	prefetch_row(ix->cent + (size_t)g * (size_t)ix->D, ix->D);
	const char *p = (const char *)(ix->qx + (size_t)ix->off[g] * (size_t)ix->DQ);
	size_t bytes = (size_t)(ix->off[g + 1] - ix->off[g]) * (size_t)ix->DQ;
	for (size_t b = 0; b < (bytes < 1024 ? bytes : 1024); b += 64)
		__builtin_prefetch(p + b);
	__builtin_prefetch(ix->qxsum + ix->off[g]);
}

/* Opens group g if its float bound reaches the k-th best: a group of up to
 * three is opened without it (its float bound, a centroid of D floats,
 * costs about as much as its rows' filter values). */
static inline void open_if_bound(const botify_topk_index *ix, int32_t g, const float *q, float qn,
				 const struct qrows *qr, double *tmp, struct best *b, int64_t *scored,
				 int64_t *groups)
{
	if (ix->off[g + 1] - ix->off[g] <= 3 ||
	    (double)group_bound(dotf(q, ix->cent + (size_t)g * ix->D, ix->D), ix->slack[g], qn) >= b->s[0]) {
		open_group_q(ix, g, q, qr, tmp, b, scored);
		(*groups)++;
	}
}

/* Opens the groups g[0..n) (ascending) that the filter passed with values
 * v: a group's bound is at most v + eup, so one whose v + eup is below the
 * k-th best is skipped; the others get their float bound first, and are
 * opened when it is at or above the k-th best. The FIRST highest values go
 * first, for a k-th best close to the final one; the rest follow in the
 * order they are stored, so that their centroids and rows come from memory
 * in one direction, a few groups ahead. The order changes the work, never
 * the result: the k-th best only rises, and a group is skipped only below
 * it. */
enum { FIRST = 8, AHEAD = 4 };

static void open_by_filter(const botify_topk_index *ix, const float *q, float qn, double eup,
			   const struct qrows *qr, int32_t *g, const float *v, int32_t n, double *tmp,
			   struct best *b, int64_t *scored, int64_t *groups)
{
	int32_t top[FIRST];
	float tv[FIRST];
	int32_t nt = 0;
	for (int32_t i = 0; i < n; i++)
		nt = keep_best(tv, top, nt, FIRST, v[i], i);
	for (int t = 0; t < nt; t++)
		prefetch_next(ix, g[top[t]]);
	for (int t = 0; t < nt; t++) {
		int32_t gg = g[top[t]];
		g[top[t]] = -1; /* done */
		if ((double)tv[t] + eup >= b->s[0])
			open_if_bound(ix, gg, q, qn, qr, tmp, b, scored, groups);
	}
	for (int32_t i = 0; i < n; i++) {
		if (i + AHEAD < n && g[i + AHEAD] >= 0 && (double)v[i + AHEAD] + eup >= b->s[0])
			prefetch_next(ix, g[i + AHEAD]);
		if (g[i] >= 0 && (double)v[i] + eup >= b->s[0])
			open_if_bound(ix, g[i], q, qn, qr, tmp, b, scored, groups);
	}
}

/* Rows [0, rows) of the block at q0 with the quantised filter: each query
 * first opens the best groups of its own super-cluster (by their float
 * bounds) for a k-th best score tau; the filter then passes the groups
 * that may reach tau, with their values (open_by_filter takes them from
 * there). Returns 2 when stopped, 1 when out of memory. */
static int search_block_filtered(struct search_job *j, struct fscratch *f, int64_t q0, int64_t rows,
				 float *Srow, float *Bd, int32_t *cand, double *tmp)
{
#ifdef HAVE_FILTER_KERNEL
	const botify_topk_index *ix = j->ix;
	int32_t D = ix->D, k = j->k, C = ix->C, P = ix->P;
	size_t DP = (size_t)ix->DQ, SK = (size_t)k + 2 * SEED_GROUPS;
	int64_t scored = 0, groups = 0;
	/* q.c of the groups of the query's two nearest super-clusters, one
	 * sgemm per run of queries that share them (they come in that order) */
	int32_t M = ix->M > 1 ? ix->M : 1;
	size_t SR = 2 * (size_t)f->maxr;
	for (int64_t r0 = 0, r1; r0 < rows; r0 = r1) {
		int32_t key = j->key ? j->key[q0 + r0] : 0, m1 = key / M, m2 = key % M;
		for (r1 = r0 + 1; r1 < rows && (j->key ? j->key[q0 + r1] : 0) == key; r1++)
			;
		int32_t lo1 = ix->sfirst[m1], n1 = ix->sfirst[m1 + 1] - lo1;
		int32_t lo2 = ix->sfirst[m2], n2 = m2 == m1 ? 0 : ix->sfirst[m2 + 1] - lo2;
		if (n1 > 0)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), n1, D, 1.0f,
				    j->queries + (q0 + r0) * D, D, ix->cent + (size_t)lo1 * D, D, 0.0f,
				    f->sbd + (size_t)r0 * SR, (int)SR);
		if (n2 > 0)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), n2, D, 1.0f,
				    j->queries + (q0 + r0) * D, D, ix->cent + (size_t)lo2 * D, D, 0.0f,
				    f->sbd + (size_t)r0 * SR + n1, (int)SR);
	}
	for (int64_t r = 0; r < rows; r++) {
		const float *q = j->queries + (q0 + r) * D;
		double qd = 0;
		for (int32_t d = 0; d < D; d++)
			qd += (double)q[d] * q[d];
		float qn = (float)(sqrt(qd) * (1 + 1e-6));
		struct best b = { f->hs + r * k, f->hid + r * k, 0, k };
		int32_t key = j->key ? j->key[q0 + r] : 0, m1 = key / M, m2 = key % M;
		int32_t lo1 = ix->sfirst[m1], n1 = ix->sfirst[m1 + 1] - lo1;
		int32_t lo2 = ix->sfirst[m2], n2 = m2 == m1 ? 0 : ix->sfirst[m2 + 1] - lo2;
		float *sbd = f->sbd + (size_t)r * SR;
		/* the groups of the highest q.c first (not the highest bounds:
		 * those favour wide groups, whose tracks score near q.c too), at
		 * least until k tracks are in: a k-th best close to the final one
		 * before the filter */
		int32_t *seeds = f->seeds + (size_t)r * SK, ns = 0;
		/* the T highest, best first, in one pass */
		int32_t T = 2 * SEED_GROUPS + k, nt = 0, *ti = f->top;
		float *tv = f->topv;
		int32_t nc = top_candidates(sbd, n1 + n2, T, cand);
		for (int32_t c = 0; c < nc; c++)
			nt = keep_best(tv, ti, nt, T, sbd[cand[c]], cand[c]);
		for (int32_t t = 0; t < nt && !(b.n == k && ns >= SEED_GROUPS); t++) {
			int32_t g = ti[t] < n1 ? lo1 + ti[t] : lo2 + ti[t] - n1;
			if (b.n == k && (double)group_bound(tv[t], ix->slack[g], qn) < b.s[0])
				continue; /* cannot reach the k-th best */
			open_group(ix, g, q, tmp, &b, &scored);
			groups++;
			seeds[ns++] = g;
		}
		f->nseeds[r] = ns;
		f->hn[r] = b.n;
		f->qn[r] = qn;
		f->plain[r] = b.n < k || !quantize_query(ix, q, sqrt(qd), qn, b.s[0], f->u + r * DP,
							 &f->sig[r], &f->eqf[r], &f->qhf[r], &f->thr[r],
							 &f->eup[r], &f->sigx[r], &f->eupx[r]);
		if (f->plain[r]) {
			f->thr[r] = INFINITY; /* passes nothing */
			f->sig[r] = 0;
			f->eqf[r] = 0;
			f->qhf[r] = 0;
			memset(f->u + r * DP, QL, DP);
		}
	}
	for (int64_t r = rows; r < rows + 3; r++) { /* the last tile's spare rows */
		memcpy(f->u + r * DP, f->u, DP);
		f->sig[r] = 0;
		f->qn[r] = 0;
		f->eqf[r] = 0;
		f->qhf[r] = 0;
		f->thr[r] = INFINITY;
	}
	f->pass.n = 0;
	for (int32_t p0 = 0; p0 < P; p0 += FILTER_PANELS) {
		int32_t p1 = P - p0 < FILTER_PANELS ? P : p0 + FILTER_PANELS;
		for (int64_t r = 0; r < rows; r += 4) {
			const uint8_t *u[4] = { f->u + r * DP, f->u + (r + 1) * DP, f->u + (r + 2) * DP,
						f->u + (r + 3) * DP };
			if (BOTIFY_ALLOC_GROW(f->pass.e, f->pass.n + 32 * (size_t)(p1 - p0), f->pass.cap,
					      "filtered groups", NULL) != 0)
				return 1;
			broadcast_tile(u, ix->S4, f->ub);
			filter_tile(ix, f->ub, f->sig + r, f->qn + r, f->eqf + r, f->qhf + r, f->thr + r,
				    (int32_t)r, &f->pass, p0, p1);
		}
	}
	/* the passed groups row by row (a counting sort: each row's stay in
	 * ascending order) */
	if (BOTIFY_ALLOC_GROW(f->sg, f->pass.n, f->sgcap, "filtered groups", NULL) != 0 ||
	    BOTIFY_ALLOC_GROW(f->sB, f->pass.n, f->sBcap, "filtered groups", NULL) != 0)
		return 1;
	memset(f->pfirst, 0, (size_t)(rows + 1) * sizeof(int32_t));
	for (size_t i = 0; i < f->pass.n; i++)
		f->pfirst[f->pass.e[i].r + 1]++;
	for (int64_t r = 0; r < rows; r++)
		f->pfirst[r + 1] += f->pfirst[r];
	for (size_t i = 0; i < f->pass.n; i++) {
		int32_t at = f->pfirst[f->pass.e[i].r]++;
		f->sg[at] = f->pass.e[i].g;
		f->sB[at] = f->pass.e[i].v;
	}
	for (int64_t r = rows; r > 0; r--)
		f->pfirst[r] = f->pfirst[r - 1];
	f->pfirst[0] = 0;
	for (int64_t r = 0; r < rows; r++) {
		if (j->stop && *j->stop)
			return 2;
		const float *q = j->queries + (q0 + r) * D;
		struct best b = { f->hs + r * k, f->hid + r * k, f->hn[r], k };
		if (f->plain[r]) {
			b.n = 0;
			cblas_sgemv(CblasRowMajor, CblasNoTrans, C, D, 1.0f, ix->cent, D, q, 1, 0.0f, Srow, 1);
			search_one_plain(ix, q, Srow, f->qn[r], Bd, cand, tmp, &b, &scored, &groups);
		} else {
			/* the seeds are open already */
			const int32_t *seeds = f->seeds + (size_t)r * SK;
			for (int32_t i = 0; i < f->nseeds[r]; i++)
				f->opened[seeds[i]] = 1;
			int32_t *sg = f->sg + f->pfirst[r], ns = 0;
			float *sB = f->sB + f->pfirst[r];
			for (int32_t i = 0; i < f->pfirst[r + 1] - f->pfirst[r]; i++)
				if (!f->opened[sg[i]]) {
					sg[ns] = sg[i];
					sB[ns++] = sB[i];
				}
			for (int32_t i = 0; i < f->nseeds[r]; i++)
				f->opened[seeds[i]] = 0;
			struct qrows qr = { f->u + r * DP, f->sigx[r], f->eupx[r], f->rowv };
			open_by_filter(ix, q, f->qn[r], f->eup[r], &qr, sg, sB, ns, tmp, &b, &scored, &groups);
		}
		best_sort(&b);
		int64_t out_row = j->perm ? j->perm[q0 + r] : q0 + r;
		memcpy(j->ids + out_row * k, b.id, (size_t)k * sizeof(int32_t));
		if (j->scores)
			memcpy(j->scores + out_row * k, b.s, (size_t)k * sizeof(double));
	}
	j->st.scored += scored;
	j->st.groups += groups;
	return 0;
#else
	(void)j, (void)f, (void)q0, (void)rows, (void)Srow, (void)Bd, (void)cand, (void)tmp;
	return 1;
#endif
}

static void *search_blocks(void *arg)
{
	struct search_job *j = arg;
	const botify_topk_index *ix = j->ix;
	int32_t C = ix->C, D = ix->D, k = j->k, maxg = 1;
	for (int32_t g = 0; g < C; g++)
		if (ix->off[g + 1] - ix->off[g] > maxg)
			maxg = ix->off[g + 1] - ix->off[g];
	size_t Cn = (size_t)(C ? C : 1);
	int filtered = filter_usable(ix, k);
	struct fscratch f = {0};
	float *S = malloc((filtered ? 1 : (size_t)j->QB) * Cn * sizeof(float));
	float *Bd = malloc(Cn * sizeof(float));
	int32_t *cand = malloc(Cn * sizeof(int32_t));
	double *tmp = malloc((size_t)maxg * sizeof(double));
	double *hs = malloc((size_t)k * sizeof(double) + 1);
	int32_t *hid = malloc((size_t)k * sizeof(int32_t) + 1);
	int dense = 0;
	int64_t seen = 0, seen_scored = 0;
	if (!S || !Bd || !cand || !tmp || !hs || !hid || (filtered && fscratch_init(&f, ix, j->QB, k) != 0)) {
		j->failed = 1;
		goto out;
	}
	/* blocks taken as threads come free: their costs differ (the
	 * queries come cluster by cluster), and so do the cores' loads. They
	 * shrink towards the end (a share of what is left, down to
	 * TAIL_ROWS), so that the threads finish close together. */
	for (;;) {
		int64_t q0 = __atomic_load_n(j->next, __ATOMIC_RELAXED), rows;
		do {
			if (q0 >= j->Q)
				goto out;
			rows = (j->Q - q0) / (2 * j->T);
			rows = rows < TAIL_ROWS ? TAIL_ROWS : rows > j->QB ? j->QB : rows;
			rows = rows > j->Q - q0 ? j->Q - q0 : rows;
		} while (!__atomic_compare_exchange_n(j->next, &q0, q0 + rows, 0, __ATOMIC_RELAXED,
						      __ATOMIC_RELAXED));
		if (j->stop && *j->stop) {
			j->failed = 2;
			goto out;
		}
		/* the bounds pay only while they skip most tracks: an exact
		 * double score costs several float sgemm ones, so past a tenth
		 * of them scored, filter with sgemm's scores of every track
		 * instead (the same lists) */
		if (!dense && seen >= 16 && seen_scored > seen * ix->N / 10)
			dense = 1;
		if (dense) {
			if ((j->failed = filter_rows(j, q0, 0, rows)) != 0)
				goto out;
			continue;
		}
		if (filtered) {
			int64_t before = j->st.scored;
			if ((j->failed = search_block_filtered(j, &f, q0, rows, S, Bd, cand, tmp)) != 0)
				goto out;
			seen += rows;
			seen_scored += j->st.scored - before;
			goto block_done;
		}
		if (C)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, C, D, 1.0f,
				    j->queries + q0 * D, D, ix->cent, D, 0.0f, S, C);
		for (int64_t r = 0; r < rows; r++) {
			if (j->stop && *j->stop) {
				j->failed = 2;
				goto out;
			}
			if (seen >= 16 && seen_scored > seen * ix->N / 10) {
				dense = 1;
				if ((j->failed = filter_rows(j, q0, r, rows)) != 0)
					goto out;
				break;
			}
			const float *q = j->queries + (q0 + r) * D;
			double qd = 0;
			for (int32_t d = 0; d < D; d++)
				qd += (double)q[d] * q[d];
			float qn = (float)(sqrt(qd) * (1 + 1e-6));
			struct best b = { hs, hid, 0, k };
			int64_t scored = 0, groups = 0;
			search_one_plain(ix, q, S + r * C, qn, Bd, cand, tmp, &b, &scored, &groups);
			best_sort(&b);
			int64_t out_row = j->perm ? j->perm[q0 + r] : q0 + r;
			memcpy(j->ids + out_row * k, hid, (size_t)k * sizeof(int32_t));
			if (j->scores)
				memcpy(j->scores + out_row * k, hs, (size_t)k * sizeof(double));
			j->st.scored += scored;
			j->st.groups += groups;
			seen++;
			seen_scored += scored;
		}
	block_done:;
		int64_t done = __atomic_add_fetch(j->done, rows, __ATOMIC_RELAXED);
		/* the calling thread reports for all: callbacks need not be thread-safe */
		if (j->t == 0 && search_progress)
			search_progress(search_progress_ctx, done, j->Q);
	}
out:
	if (filtered)
		fscratch_free(&f);
	free(S);
	free(Bd);
	free(cand);
	free(tmp);
	free(hs);
	free(hid);
	return NULL;
}

/* perm: the queries ordered by their two nearest super-clusters (stable);
 * qp the queries in that order, key the pair (nearest * M + next). */
static int order_queries(const botify_topk_index *ix, const float *queries, int64_t Q,
			 int64_t **perm_out, float **qp_out, int32_t **key_out, botify_err *err)
{
	enum { CH = 1024 };
	int32_t M = ix->M, D = ix->D;
	int64_t *perm = botify_malloc((size_t)Q, sizeof(int64_t), "query order", err);
	int32_t *key = botify_malloc((size_t)Q, sizeof(int32_t), "query clusters", err);
	int32_t *okey = botify_malloc((size_t)Q, sizeof(int32_t), "query clusters", err);
	float *S = botify_malloc(CH, (size_t)M * sizeof(float), "query scores", err);
	float *qp = botify_malloc((size_t)Q, (size_t)D * sizeof(float), "ordered queries", err);
	float half[MAX_SUPER];
	int64_t *first = botify_calloc((size_t)M * (size_t)M + 1, sizeof(int64_t), "query order", err);
	if (!perm || !key || !okey || !S || !qp || !first) {
		free(first);
		free(perm);
		free(key);
		free(okey);
		free(S);
		free(qp);
		return -1;
	}
	for (int32_t m = 0; m < M; m++) {
		double n2 = 0;
		for (int32_t d = 0; d < D; d++)
			n2 += (double)ix->centers[(size_t)m * D + d] * ix->centers[(size_t)m * D + d];
		half[m] = (float)(0.5 * n2);
	}
	for (int64_t q0 = 0; q0 < Q; q0 += CH) {
		int rows = Q - q0 < CH ? (int)(Q - q0) : CH;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, M, D, 1.0f, queries + q0 * D, D,
			    ix->centers, D, 0.0f, S, M);
		for (int r = 0; r < rows; r++) {
			/* the nearest center and the next (the same when M is 1) */
			int32_t b1 = 0, b2 = -1;
			const float *Sr = S + (size_t)r * M;
			for (int32_t m = 1; m < M; m++)
				if (Sr[m] - half[m] > Sr[b1] - half[b1]) {
					b2 = b1;
					b1 = m;
				} else if (b2 < 0 || Sr[m] - half[m] > Sr[b2] - half[b2]) {
					b2 = m;
				}
			if (b2 < 0)
				b2 = b1;
			key[q0 + r] = b1 * M + b2;
			first[key[q0 + r] + 1]++;
		}
	}
	for (int32_t m = 0; m < M * M; m++)
		first[m + 1] += first[m];
	for (int64_t q = 0; q < Q; q++) {
		int64_t p = first[key[q]]++;
		perm[p] = q;
		okey[p] = key[q];
		memcpy(qp + p * D, queries + q * D, (size_t)D * sizeof(float));
	}
	free(first);
	free(key);
	free(S);
	*perm_out = perm;
	*qp_out = qp;
	*key_out = okey;
	return 0;
}

int botify_topk_search(const botify_topk_index *ix, const float *queries, int64_t Q, int32_t k,
		       int threads, volatile sig_atomic_t *stop, int32_t *ids, double *scores,
		       botify_topk_stats *stats, botify_err *err)
{
	if (k > ix->N)
		BOTIFY_BUG("top %d of %d tracks", k, ix->N);
	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (k <= 0 || Q <= 0)
		return stop && *stop ? botify_fail(err, BOTIFY_EINTR, "interrupted") : 0;
	/* a NaN score has no rank: refused, as the index refuses such rows */
	for (int64_t q = 0; q < Q; q++)
		for (int32_t d = 0; d < ix->D; d++)
			if (!isfinite(queries[q * ix->D + d]))
				return botify_fail(err, BOTIFY_EINVAL, "query %lld: its vector is not finite",
						   (long long)q);
	if (threads < 1)
		threads = 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	/* blocks big enough that packing the centroids once per block is
	 * small next to the block's product (sgemm packs 4.6 MB of them for
	 * the default world: at 16 queries a block that was a fifth of the
	 * search of 1 254 interests, at 128 it is 0.11 against 0.14 CPU s),
	 * small enough to share out */
	int64_t QB = (Q + 8 * threads - 1) / (8 * threads);
	if (QB < 128)
		QB = 128;
	if (QB > 256)
		QB = 256;
	int64_t blocks = (Q + QB - 1) / QB;
	if (threads > blocks)
		threads = (int)blocks;
	/* queries super-cluster by super-cluster, for locality */
	int64_t *perm = NULL;
	float *qp = NULL;
	int32_t *key = NULL;
	if (ix->M > 1 && order_queries(ix, queries, Q, &perm, &qp, &key, err) != 0)
		return -1;
	struct search_job jobs[MAX_THREADS];
	int64_t done = 0, next = 0;
	pthread_t tid[MAX_THREADS];
	char started[MAX_THREADS] = {0};
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct search_job){ &done, &next, ix, qp ? qp : queries, perm, key, Q, QB, k, stop,
					       ids, scores, t, threads, 0, {0, 0} };
		if (t > 0)
			started[t] = pthread_create(&tid[t], NULL, search_blocks, &jobs[t]) == 0;
	}
	search_blocks(&jobs[0]);
	int failed = jobs[0].failed;
	for (int t = 1; t < threads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			search_blocks(&jobs[t]);
		failed |= jobs[t].failed;
	}
	/* the end, said by the calling thread: with blocks taken as threads
	 * come free, it may have run none and so reported nothing */
	if (!failed && search_progress)
		search_progress(search_progress_ctx, Q, Q);
	free(perm);
	free(qp);
	free(key);
	for (int t = 0; t < threads && stats; t++) {
		stats->scored += jobs[t].st.scored;
		stats->groups += jobs[t].st.groups;
	}
	if (failed & 1)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory searching %d tracks", ix->N);
	if (failed & 2)
		return botify_fail(err, BOTIFY_EINTR, "interrupted");
	return 0;
}
