/*
 * topk_inner.c - botify_topk_inner: brute force, sgemm over column blocks of
 * the catalog and a running selection per query.
 *
 * A block of 64 queries walks the catalog in column blocks, so that the
 * scores of a block stay in L2 between sgemm writing them and the selection
 * reading them (one call over the whole catalog made them a 12.8 MB round
 * trip through memory per 64 queries at 50 000 tracks, and sgemm's zeroing
 * of that matrix another). Each query keeps a buffer of candidates and a
 * threshold tau across the column blocks: a score is one vector compare
 * against tau, and only the few above it are kept. Candidates are 64-bit
 * keys ordered as the ranking (score, then lower id), so selecting among
 * them is integer compares on one array.
 */
#include "topk.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

/*
 * COL_BLOCK: OpenBLAS rounds a score differently near the edges of its own
 * row blocks of the catalog (GEMM_P rows, 320 for its Zen sgemm), so column
 * blocks start at multiples of COL_BLOCK, a multiple of that size, and the
 * last one takes the whole rest (COL_BLOCK .. 2 COL_BLOCK - 1 tracks): then
 * the catalog is cut where one call over all of it cuts it, and every score
 * has the bits that one call gives it. The query blocks are the 64 rows they
 * always were, for the same reason.
 * NEEDSWORK: a BLAS whose row block does not divide COL_BLOCK may round a
 * few scores near the column edges in their last bit otherwise than one
 * call over the catalog; the lists are the exact top-k of those scores.
 */
enum { BLOCK_ROWS = 64, MAX_THREADS = 64, COL_BLOCK = 2560 };

/* Candidate buffers hold keys; k above BIG_K takes the heap over whole rows
 * (botify_topk_select) instead. */
enum { BIG_K = 1024 };

/* A key per (score, id): larger key = better rank, higher score first, then
 * the lower id. -0.0 becomes +0.0 so that equal scores tie on the id. */
static inline uint64_t rank_key(float s, int32_t id)
{
	uint32_t u;
	s += 0.0f;
	memcpy(&u, &s, sizeof(u));
	u = (u & 0x80000000u) ? ~u : u | 0x80000000u;
	return (uint64_t)u << 32 | (uint32_t)~(uint32_t)id;
}

static inline float key_score(uint64_t key)
{
	uint32_t u = (uint32_t)(key >> 32);
	u = (u & 0x80000000u) ? u & 0x7fffffffu : ~u;
	float s;
	memcpy(&s, &u, sizeof(s));
	return s;
}

static inline int32_t key_id(uint64_t key)
{
	return (int32_t)~(uint32_t)key;
}

static inline void swap_keys(uint64_t *a, int32_t i, int32_t j)
{
	uint64_t t = a[i];
	a[i] = a[j];
	a[j] = t;
}

/* Rearranges a[0..n) (distinct keys) so that [0..k) holds the k largest and
 * a[k - 1] is the k-th largest. Quickselect, median-of-three pivots, and a
 * partition without branches on the data: the keys above a pivot are
 * random, and a branch on each cost more than the rest of the selection. */
static void select_top(uint64_t *a, int32_t n, int32_t k)
{
	int32_t lo = 0, hi = n - 1;
	while (hi > lo) {
		int32_t mid = lo + (hi - lo) / 2;
		/* the median of a[lo], a[mid], a[hi] to a[hi] */
		if (a[mid] > a[lo])
			swap_keys(a, mid, lo);
		if (a[hi] > a[lo])
			swap_keys(a, hi, lo);
		if (a[mid] > a[hi])
			swap_keys(a, mid, hi);
		uint64_t p = a[hi];
		int32_t i = lo;
		for (int32_t j = lo; j < hi; j++) {
			uint64_t x = a[j];
			a[j] = a[i];
			a[i] = x;
			i += x > p;
		}
		a[hi] = a[i];
		a[i] = p;
		/* [lo, i) > p = a[i] > (i, hi] */
		if (k - 1 < i)
			hi = i - 1;
		else if (k - 1 > i)
			lo = i + 1;
		else
			return;
	}
}

/* a[0..n) largest first. */
static void sort_desc(uint64_t *a, int32_t n)
{
	while (n > 16) {
		int32_t mid = n / 2;
		if (a[mid] > a[0])
			swap_keys(a, mid, 0);
		if (a[n - 1] > a[0])
			swap_keys(a, n - 1, 0);
		if (a[n - 1] > a[mid])
			swap_keys(a, n - 1, mid);
		uint64_t p = a[mid];
		int32_t i = 0, j = n - 1;
		while (i <= j) {
			while (a[i] > p)
				i++;
			while (p > a[j])
				j--;
			if (i <= j) {
				swap_keys(a, i, j);
				i++;
				j--;
			}
		}
		/* [0..j] > [j+1..i) > [i..n): recurse on the smaller side */
		if (j + 1 < n - i) {
			sort_desc(a, j + 1);
			a += i;
			n -= i;
		} else {
			sort_desc(a + i, n - i);
			n = j + 1;
		}
	}
	for (int32_t i = 1; i < n; i++) {
		uint64_t x = a[i];
		int32_t j = i;
		for (; j > 0 && a[j - 1] < x; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

/* The running selection of one query over the column blocks. Until k
 * scores are in, every score is; then the buffer takes scores above tau,
 * the k-th best so far, and when it fills up a quickselect keeps the k best
 * and raises tau. Tracks arrive in id order, so a score equal to tau ranks
 * below the k-th best: the test is one float compare. */
struct col_sel {
	uint64_t *key;
	int32_t n;
	float tau;
};

struct col_ctx {
	int32_t k, cap; /* cap: the buffer's size, room for a vector over it */
};

static int32_t scan_scalar(const struct col_ctx *c, struct col_sel *sel, float *s, int32_t t,
			   int32_t len, int32_t base)
{
	uint64_t *key = sel->key;
	int32_t n = sel->n, k = c->k;
	float tau = sel->tau;
	for (; t < len; t++) {
		float x = s[t];
		s[t] = 0;
		if (!(x > tau))
			continue;
		key[n++] = rank_key(x, base + t);
		if (n == c->cap) {
			select_top(key, n, k);
			n = k;
			tau = key_score(key[k - 1]);
		}
	}
	sel->tau = tau;
	return n;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX_SCAN 1
/* 32 scores per step: one branch when none is above tau, the usual case
 * once tau has risen */
__attribute__((target("avx"))) static int32_t scan_avx(const struct col_ctx *c,
							struct col_sel *sel, float *s, int32_t t,
							int32_t len, int32_t base)
{
	uint64_t *key = sel->key;
	int32_t n = sel->n, k = c->k, room = c->cap - 32;
	__m256 v = _mm256_set1_ps(sel->tau), zero = _mm256_setzero_ps();
	for (; t + 32 <= len; t += 32) {
		__m256 x0 = _mm256_loadu_ps(s + t), x1 = _mm256_loadu_ps(s + t + 8);
		__m256 x2 = _mm256_loadu_ps(s + t + 16), x3 = _mm256_loadu_ps(s + t + 24);
		_mm256_storeu_ps(s + t, zero);
		_mm256_storeu_ps(s + t + 8, zero);
		_mm256_storeu_ps(s + t + 16, zero);
		_mm256_storeu_ps(s + t + 24, zero);
		__m256 m0 = _mm256_cmp_ps(x0, v, _CMP_GT_OQ), m1 = _mm256_cmp_ps(x1, v, _CMP_GT_OQ);
		__m256 m2 = _mm256_cmp_ps(x2, v, _CMP_GT_OQ), m3 = _mm256_cmp_ps(x3, v, _CMP_GT_OQ);
		__m256 any = _mm256_or_ps(_mm256_or_ps(m0, m1), _mm256_or_ps(m2, m3));
		if (_mm256_testz_ps(any, any))
			continue;
		uint32_t m = (uint32_t)_mm256_movemask_ps(m0) | (uint32_t)_mm256_movemask_ps(m1) << 8 |
			     (uint32_t)_mm256_movemask_ps(m2) << 16 | (uint32_t)_mm256_movemask_ps(m3) << 24;
		float x[32];
		_mm256_storeu_ps(x, x0);
		_mm256_storeu_ps(x + 8, x1);
		_mm256_storeu_ps(x + 16, x2);
		_mm256_storeu_ps(x + 24, x3);
		while (m) {
			int i = __builtin_ctz(m);
			m &= m - 1;
			key[n++] = rank_key(x[i], base + t + i);
		}
		if (n > room) {
			select_top(key, n, k);
			n = k;
			sel->tau = key_score(key[k - 1]);
			v = _mm256_set1_ps(sel->tau);
		}
	}
	sel->n = n;
	return scan_scalar(c, sel, s, t, len, base);
}
#endif

/* Feeds the scores s[0..len) of tracks base.. into sel and clears them
 * (while they are in L1, for the next sgemm to add to). */
static void col_scan(const struct col_ctx *c, struct col_sel *sel, float *s, int32_t len,
		     int32_t base, int avx)
{
	int32_t t = 0, k = c->k;
	for (; t < len && sel->n < k; t++) {
		sel->key[sel->n++] = rank_key(s[t], base + t);
		s[t] = 0;
		if (sel->n == k) {
			select_top(sel->key, k, k); /* the worst to the end */
			sel->tau = key_score(sel->key[k - 1]);
		}
	}
	if (t == len)
		return;
#ifdef HAVE_AVX_SCAN
	if (avx) {
		sel->n = scan_avx(c, sel, s, t, len, base);
		return;
	}
#else
	(void)avx;
#endif
	sel->n = scan_scalar(c, sel, s, t, len, base);
}

/* The k best of sel into ids (and scores), best first. */
static void col_finish(const struct col_ctx *c, struct col_sel *sel, int32_t *ids, float *scores)
{
	int32_t n = sel->n, k = c->k;
	if (n > k) {
		select_top(sel->key, n, k);
		n = k;
	}
	sort_desc(sel->key, n);
	for (int32_t i = 0; i < n; i++)
		ids[i] = key_id(sel->key[i]);
	for (int32_t i = 0; scores && i < n; i++)
		scores[i] = key_score(sel->key[i]);
}

struct topk_job {
	const float *queries; /* (Q, D) */
	int64_t Q;
	const float *E;       /* (N, D) */
	int32_t N, D, k;
	int32_t *ids;         /* (Q, k) */
	float *scores;        /* (Q, k) or NULL */
	int t, T;             /* this thread takes blocks t, t + T, ... */
	int failed;
};

/* Rows q0 .. q0 + rows through the column blocks. S is zero on entry and
 * on return: sgemm adds to it (beta 1, which skips its own zeroing pass)
 * and the scan clears each score as it reads it. */
static void col_blocks(const struct topk_job *j, const struct col_ctx *c, int64_t q0, int64_t rows,
		       float *S, struct col_sel *sel, int avx)
{
	for (int64_t r = 0; r < rows; r++) {
		sel[r].n = 0;
		sel[r].tau = INFINITY;
	}
	for (int32_t c0 = 0; c0 < j->N;) {
		int32_t nb = j->N - c0;
		if (nb >= 2 * COL_BLOCK)
			nb = COL_BLOCK;
		/* S (rows, nb) += queries (rows, D) . E[c0 .. c0 + nb)^T */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, nb, j->D, 1.0f,
			    j->queries + q0 * j->D, j->D, j->E + (size_t)c0 * j->D, j->D, 1.0f, S, nb);
		for (int64_t r = 0; r < rows; r++)
			col_scan(c, &sel[r], S + r * nb, nb, c0, avx);
		c0 += nb;
	}
	for (int64_t r = 0; r < rows; r++)
		col_finish(c, &sel[r], j->ids + (q0 + r) * j->k, j->scores ? j->scores + (q0 + r) * j->k : NULL);
}

/* k above BIG_K: the whole row of scores, then the heap. */
static void row_blocks(const struct topk_job *j, int64_t q0, int64_t rows, float *S, float *heap)
{
	/* S (rows, N) = queries (rows, D) . E^T;  M = rows, N = N, K = D */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, j->N, j->D, 1.0f,
		    j->queries + q0 * j->D, j->D, j->E, j->D, 0.0f, S, j->N);
	for (int64_t r = 0; r < rows; r++)
		botify_topk_select(S + r * j->N, j->N, j->k, -1, j->ids + (q0 + r) * j->k,
				   j->scores ? j->scores + (q0 + r) * j->k : heap);
}

static void *topk_blocks(void *arg)
{
	struct topk_job *j = arg;
	if (j->k <= 0)
		return NULL;
	int cols = j->k <= BIG_K;
	int32_t width = cols && j->N >= 2 * COL_BLOCK ? 2 * COL_BLOCK - 1 : j->N;
	/* twice k: tau rises often, and each quickselect is cheap (2k to 16k
	 * measured the same within noise at k = 100) */
	struct col_ctx c = { j->k, 2 * j->k + 64 };
	float *S = calloc((size_t)BLOCK_ROWS * (size_t)width, sizeof(float));
	float *heap = cols ? NULL : malloc((size_t)j->k * sizeof(float));
	uint64_t *keys = cols ? malloc((size_t)BLOCK_ROWS * (size_t)c.cap * sizeof(uint64_t)) : NULL;
	struct col_sel sel[BLOCK_ROWS];
	if (!S || (cols ? !keys : !heap)) {
		j->failed = 1;
		goto out;
	}
	for (int r = 0; r < BLOCK_ROWS; r++)
		sel[r].key = keys ? keys + (size_t)r * c.cap : NULL;
#ifdef HAVE_AVX_SCAN
	int avx = __builtin_cpu_supports("avx");
#else
	int avx = 0;
#endif
	for (int64_t q0 = (int64_t)j->t * BLOCK_ROWS; q0 < j->Q; q0 += (int64_t)j->T * BLOCK_ROWS) {
		int64_t rows = j->Q - q0 < BLOCK_ROWS ? j->Q - q0 : BLOCK_ROWS;
		if (cols)
			col_blocks(j, &c, q0, rows, S, sel, avx);
		else
			row_blocks(j, q0, rows, S, heap);
	}
out:
	free(S);
	free(heap);
	free(keys);
	return NULL;
}

int botify_topk_inner(const float *queries, int64_t Q, const float *E, int32_t N, int32_t D,
		      int32_t k, int threads, int32_t *ids, float *scores, botify_err *err)
{
	if (k > N)
		BOTIFY_BUG("top %d of %d tracks", k, N);
	if (threads < 1)
		threads = 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	int64_t blocks = (Q + BLOCK_ROWS - 1) / BLOCK_ROWS;
	if (threads > blocks)
		threads = blocks ? (int)blocks : 1;
	/* our threads each run a single-threaded sgemm on their own blocks
	 * (botify_blas_init) */
	struct topk_job jobs[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	char started[MAX_THREADS] = {0};
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct topk_job){ queries, Q, E, N, D, k, ids, scores, t, threads, 0 };
		if (t > 0)
			started[t] = pthread_create(&tid[t], NULL, topk_blocks, &jobs[t]) == 0;
	}
	topk_blocks(&jobs[0]);
	int failed = jobs[0].failed;
	for (int t = 1; t < threads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			topk_blocks(&jobs[t]); /* a thread we could not start: do its share here */
		failed |= jobs[t].failed;
	}
	if (failed)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory scoring %d tracks", N);
	return 0;
}
