/*
 * topk_inner.c - botify_topk_inner: brute force with botify's own fused
 * kernel. Scores are computed in registers, compared there with each
 * query's running threshold, and only the few that reach it are stored.
 *
 * The score of query q and track t is botify_topk_dot: one fused
 * multiply-add per dimension, in dimension order, from 0. The kernel keeps
 * that order for every score (a register-tiled block of 4 queries by 24
 * tracks runs over the dimensions in order, one accumulator per score), so a
 * score's bits depend on the two vectors alone: not on the blocking, the
 * thread count, the batch or the CPU (a scalar fmaf loop gives the same bits
 * where AVX2 is missing). The lists are the exact top k of these scores.
 *
 * sgemm rounded otherwise (its own summation order, blocked by its own
 * sizes) and packed the catalog again for every block of queries; its
 * scores made a trip through memory to be selected from. Here the catalog is
 * packed once into panels of 24 tracks (botify_topk_panels_build), and a
 * block of 64 queries walks every panel while the panel sits in L1.
 */
#include "topk.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* PANEL tracks by MR queries per register tile: 12 accumulators, 3 panel
 * vectors and a broadcast fill the 16 AVX2 registers. */
enum { PANEL = 24, MR = 4, BLOCK_ROWS = 64, MAX_THREADS = 64 };

/* Above BIG_K, blocks of MR queries only: every query holds about 2 k
 * candidates at a time (16 bytes per unit of k). */
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

float botify_topk_dot(const float *a, const float *b, int32_t D)
{
	float s = 0;
	for (int32_t d = 0; d < D; d++)
		s = fmaf(a[d], b[d], s);
	return s;
}

/*
 * The order of the walk. A query's threshold rises as the walk meets good
 * tracks, and every track met above it costs a store (and its share of a
 * selection). Met in id order, a query's best tracks (an artist, a genre:
 * neighbours in the catalog) arrive late, and thousands of tracks are stored
 * on the way. The panels hold the tracks sorted by their score against dir,
 * a typical query (the mean of the queries), best first: most queries meet
 * most of their best tracks early, and after a few hundred tracks almost
 * nothing reaches their threshold. The order of the walk never changes the
 * result: candidates are compared as (score, id).
 */
struct order_key {
	double s;
	int32_t id;
};

static int by_order(const void *pa, const void *pb)
{
	const struct order_key *a = pa, *b = pb;
	if (a->s != b->s)
		return a->s > b->s ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

int botify_topk_panels_build(botify_topk_panels *pk, const float *E, int32_t N, int32_t D,
			     const float *dir, botify_err *err)
{
	memset(pk, 0, sizeof(*pk));
	int32_t P = (N + PANEL - 1) / PANEL;
	size_t floats = (size_t)P * (size_t)D * PANEL;
	/* aligned for the kernel's loads (PANEL floats are 3 vectors) */
	pk->data = aligned_alloc(32, (floats * sizeof(float) + 31) / 32 * 32 + 32);
	pk->id = malloc(((size_t)P * PANEL + 1) * sizeof(int32_t)); /* + 1: never malloc(0) */
	struct order_key *o = malloc(((size_t)N + 1) * sizeof(*o));
	if (!pk->data || !pk->id || !o) {
		free(o);
		botify_topk_panels_free(pk);
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory packing %d tracks", N);
	}
	pk->N = N;
	pk->D = D;
	pk->P = P;
	for (int32_t t = 0; t < N; t++) {
		double s = 0;
		for (int32_t d = 0; dir && d < D; d++)
			s += (double)dir[d] * E[(size_t)t * D + d];
		o[t] = (struct order_key){ isnan(s) ? 0 : s, t };
	}
	qsort(o, (size_t)N, sizeof(*o), by_order);
	for (int32_t i = 0; i < P * PANEL; i++) {
		float *out = pk->data + (size_t)(i / PANEL) * (size_t)D * PANEL + i % PANEL;
		const float *row = i < N ? E + (size_t)o[i].id * (size_t)D : NULL;
		pk->id[i] = i < N ? o[i].id : -1;
		for (int32_t d = 0; d < D; d++)
			out[(size_t)d * PANEL] = row ? row[d] : 0.0f;
	}
	free(o);
	return 0;
}

void botify_topk_panels_free(botify_topk_panels *pk)
{
	free(pk->data);
	free(pk->id);
	memset(pk, 0, sizeof(*pk));
}

/* The candidates of one query: keys of the tracks whose score reached the
 * threshold when they were met. Once k are in, the threshold is the k-th
 * best so far, and a quickselect keeps the k best whenever the buffer
 * fills up. A score equal to the threshold is taken (the walk is not in id
 * order, so it may rank above the k-th); so is a NaN, which compares with
 * nothing, so that a row is never short of k. */
struct sel {
	uint64_t *key;
	int32_t n;
};

struct ctx {
	int32_t k, cap; /* cap: the buffer's size, room for a tile over it */
};

/* One row of a tile: x[0..PANEL) the scores of tracks id[0..PANEL), bit j
 * of m set where x[j] reached the threshold of the query of sel (tau8: 8
 * copies of it, for the vector compare). The padding after the catalog's
 * last track (id -1) is skipped. */
static void push_row(const struct ctx *c, struct sel *s, float *tau8, const float *x, uint32_t m,
		     const int32_t *id)
{
	uint64_t *key = s->key;
	int32_t n = s->n;
	while (m) {
		int j = __builtin_ctz(m);
		m &= m - 1;
		if (id[j] >= 0)
			key[n++] = rank_key(x[j], id[j]);
	}
	if (n > c->cap - PANEL) {
		select_top(key, n, c->k);
		n = c->k;
		float tau = key_score(key[n - 1]);
		for (int i = 0; i < 8; i++)
			tau8[i] = tau;
	}
	s->n = n;
}

/* The k best of s into ids (and scores), best first. */
static void finish_row(const struct ctx *c, struct sel *s, int32_t *ids, float *scores)
{
	int32_t n = s->n, k = c->k;
	if (n > k) {
		select_top(s->key, n, k);
		n = k;
	}
	sort_desc(s->key, n);
	for (int32_t i = 0; i < n; i++)
		ids[i] = key_id(s->key[i]);
	for (int32_t i = 0; scores && i < n; i++)
		scores[i] = key_score(s->key[i]);
}

/* Every panel against rows [0, rows) of q (rows a multiple of MR), one
 * score at a time through fmaf: the same bits as the vector kernel. */
static void kernel_scalar(const botify_topk_panels *pk, const struct ctx *c, const float *q,
			  int rows, struct sel *sel, float *tau8)
{
	int32_t D = pk->D;
	float x[PANEL];
	for (int32_t p = 0; p < pk->P; p++) {
		const float *e = pk->data + (size_t)p * (size_t)D * PANEL;
		for (int r = 0; r < rows; r++) {
			uint32_t m = 0;
			for (int j = 0; j < PANEL; j++) {
				float s = 0;
				for (int32_t d = 0; d < D; d++)
					s = fmaf(q[(size_t)r * D + d], e[(size_t)d * PANEL + j], s);
				x[j] = s;
				m |= (uint32_t)!(s < tau8[8 * r]) << j;
			}
			push_row(c, &sel[r], tau8 + 8 * r, x, m, pk->id + (size_t)p * PANEL);
		}
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_KERNEL 1
/* The tile: 4 queries by 24 tracks in 12 registers, one fused
 * multiply-add per dimension in dimension order (botify_topk_dot's), then
 * one compare with the thresholds; scores reach memory only when one of
 * them reaches its query's threshold. */
__attribute__((target("avx2,fma"))) static void kernel_avx2(const botify_topk_panels *pk,
							     const struct ctx *c, const float *q,
							     int rows, struct sel *sel, float *tau8)
{
	int32_t D = pk->D;
	size_t panel_bytes = (size_t)D * PANEL * sizeof(float);
	for (int32_t p = 0; p < pk->P; p++) {
		const float *e = pk->data + (size_t)p * (size_t)D * PANEL;
		const char *next = p + 1 < pk->P ? (const char *)(e + (size_t)D * PANEL) : NULL;
		for (int r = 0; r < rows; r += MR) {
			/* the next panel into L1, a few lines per tile (the hardware
			 * prefetcher left the first tiles of each panel waiting) */
			size_t off = (size_t)r / MR * 192;
			if (next && off < panel_bytes) {
				_mm_prefetch(next + off, _MM_HINT_T0);
				_mm_prefetch(next + off + 64, _MM_HINT_T0);
				_mm_prefetch(next + off + 128, _MM_HINT_T0);
			}
			const float *q0 = q + (size_t)r * D, *q1 = q0 + D, *q2 = q1 + D, *q3 = q2 + D;
			__m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
			__m256 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
			const float *ed = e;
			for (int32_t d = 0; d < D; d++, ed += PANEL) {
				__m256 e0 = _mm256_load_ps(ed), e1 = _mm256_load_ps(ed + 8), e2 = _mm256_load_ps(ed + 16);
				__m256 b = _mm256_broadcast_ss(q0 + d);
				a00 = _mm256_fmadd_ps(b, e0, a00);
				a01 = _mm256_fmadd_ps(b, e1, a01);
				a02 = _mm256_fmadd_ps(b, e2, a02);
				b = _mm256_broadcast_ss(q1 + d);
				a10 = _mm256_fmadd_ps(b, e0, a10);
				a11 = _mm256_fmadd_ps(b, e1, a11);
				a12 = _mm256_fmadd_ps(b, e2, a12);
				b = _mm256_broadcast_ss(q2 + d);
				a20 = _mm256_fmadd_ps(b, e0, a20);
				a21 = _mm256_fmadd_ps(b, e1, a21);
				a22 = _mm256_fmadd_ps(b, e2, a22);
				b = _mm256_broadcast_ss(q3 + d);
				a30 = _mm256_fmadd_ps(b, e0, a30);
				a31 = _mm256_fmadd_ps(b, e1, a31);
				a32 = _mm256_fmadd_ps(b, e2, a32);
			}
			float *t = tau8 + 8 * r;
			__m256 t0 = _mm256_load_ps(t), t1 = _mm256_load_ps(t + 8);
			__m256 t2 = _mm256_load_ps(t + 16), t3 = _mm256_load_ps(t + 24);
			/* not less than the threshold: equal scores and NaN too */
			__m256 m00 = _mm256_cmp_ps(a00, t0, _CMP_NLT_UQ), m01 = _mm256_cmp_ps(a01, t0, _CMP_NLT_UQ);
			__m256 m02 = _mm256_cmp_ps(a02, t0, _CMP_NLT_UQ), m10 = _mm256_cmp_ps(a10, t1, _CMP_NLT_UQ);
			__m256 m11 = _mm256_cmp_ps(a11, t1, _CMP_NLT_UQ), m12 = _mm256_cmp_ps(a12, t1, _CMP_NLT_UQ);
			__m256 m20 = _mm256_cmp_ps(a20, t2, _CMP_NLT_UQ), m21 = _mm256_cmp_ps(a21, t2, _CMP_NLT_UQ);
			__m256 m22 = _mm256_cmp_ps(a22, t2, _CMP_NLT_UQ), m30 = _mm256_cmp_ps(a30, t3, _CMP_NLT_UQ);
			__m256 m31 = _mm256_cmp_ps(a31, t3, _CMP_NLT_UQ), m32 = _mm256_cmp_ps(a32, t3, _CMP_NLT_UQ);
			__m256 any = _mm256_or_ps(_mm256_or_ps(_mm256_or_ps(m00, m01), _mm256_or_ps(m02, m10)),
						  _mm256_or_ps(_mm256_or_ps(m11, m12), _mm256_or_ps(m20, m21)));
			any = _mm256_or_ps(any, _mm256_or_ps(_mm256_or_ps(m22, m30), _mm256_or_ps(m31, m32)));
			if (_mm256_testz_ps(any, any))
				continue;
			uint32_t m[MR] = {
				(uint32_t)_mm256_movemask_ps(m00) | (uint32_t)_mm256_movemask_ps(m01) << 8 |
					(uint32_t)_mm256_movemask_ps(m02) << 16,
				(uint32_t)_mm256_movemask_ps(m10) | (uint32_t)_mm256_movemask_ps(m11) << 8 |
					(uint32_t)_mm256_movemask_ps(m12) << 16,
				(uint32_t)_mm256_movemask_ps(m20) | (uint32_t)_mm256_movemask_ps(m21) << 8 |
					(uint32_t)_mm256_movemask_ps(m22) << 16,
				(uint32_t)_mm256_movemask_ps(m30) | (uint32_t)_mm256_movemask_ps(m31) << 8 |
					(uint32_t)_mm256_movemask_ps(m32) << 16,
			};
			float x[MR][PANEL];
			_mm256_storeu_ps(x[0], a00);
			_mm256_storeu_ps(x[0] + 8, a01);
			_mm256_storeu_ps(x[0] + 16, a02);
			_mm256_storeu_ps(x[1], a10);
			_mm256_storeu_ps(x[1] + 8, a11);
			_mm256_storeu_ps(x[1] + 16, a12);
			_mm256_storeu_ps(x[2], a20);
			_mm256_storeu_ps(x[2] + 8, a21);
			_mm256_storeu_ps(x[2] + 16, a22);
			_mm256_storeu_ps(x[3], a30);
			_mm256_storeu_ps(x[3] + 8, a31);
			_mm256_storeu_ps(x[3] + 16, a32);
			for (int i = 0; i < MR; i++)
				if (m[i])
					push_row(c, &sel[r + i], t + 8 * i, x[i], m[i], pk->id + (size_t)p * PANEL);
		}
	}
}
#endif

static int force_scalar;

void botify_topk_force_scalar(int on)
{
	force_scalar = on;
}

struct topk_job {
	const botify_topk_panels *pk;
	const float *queries; /* (Q, D) */
	int64_t Q;
	int32_t k, block;     /* block: queries per block, a multiple of MR */
	int32_t *ids;         /* (Q, k) */
	float *scores;        /* (Q, k) or NULL */
	int64_t *next;        /* the next block to take, shared */
	int failed;
};

static void *topk_blocks(void *arg)
{
	struct topk_job *j = arg;
	const botify_topk_panels *pk = j->pk;
	int32_t D = pk->D, B = j->block;
	struct ctx c = { j->k, 2 * j->k + 2 * PANEL };
	float *q = aligned_alloc(32, ((size_t)B * (size_t)D * sizeof(float) + 31) / 32 * 32 + 32);
	float *tau8 = aligned_alloc(32, (size_t)B * 8 * sizeof(float));
	uint64_t *keys = malloc((size_t)B * (size_t)c.cap * sizeof(uint64_t));
	struct sel *sel = malloc((size_t)B * sizeof(*sel));
	if (!q || !tau8 || !keys || !sel) {
		j->failed = 1;
		goto out;
	}
#ifdef HAVE_AVX2_KERNEL
	int avx2 = !force_scalar && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
	int64_t blocks = (j->Q + B - 1) / B;
	/* blocks taken in turn: any thread may score any query, the result
	 * is the same */
	for (int64_t b; (b = __atomic_fetch_add(j->next, 1, __ATOMIC_RELAXED)) < blocks;) {
		int64_t q0 = b * B;
		int rows = j->Q - q0 < B ? (int)(j->Q - q0) : B;
		int padded = (rows + MR - 1) / MR * MR;
		memcpy(q, j->queries + q0 * D, (size_t)rows * (size_t)D * sizeof(float));
		memset(q + (size_t)rows * D, 0, (size_t)(padded - rows) * (size_t)D * sizeof(float));
		for (int r = 0; r < padded; r++) {
			sel[r].key = keys + (size_t)r * (size_t)c.cap;
			sel[r].n = 0;
			/* the padding rows take nothing */
			for (int i = 0; i < 8; i++)
				tau8[8 * r + i] = r < rows ? -INFINITY : INFINITY;
		}
#ifdef HAVE_AVX2_KERNEL
		if (avx2)
			kernel_avx2(pk, &c, q, padded, sel, tau8);
		else
#endif
			kernel_scalar(pk, &c, q, padded, sel, tau8);
		for (int r = 0; r < rows; r++)
			finish_row(&c, &sel[r], j->ids + (q0 + r) * j->k,
				   j->scores ? j->scores + (q0 + r) * j->k : NULL);
	}
out:
	free(q);
	free(tau8);
	free(keys);
	free(sel);
	return NULL;
}

int botify_topk_inner_packed(const botify_topk_panels *pk, const float *queries, int64_t Q,
			     int32_t k, int threads, int32_t *ids, float *scores, botify_err *err)
{
	if (k > pk->N)
		BOTIFY_BUG("top %d of %d tracks", k, pk->N);
	if (k <= 0 || Q <= 0)
		return 0;
	int32_t block = k > BIG_K ? MR : BLOCK_ROWS;
	int64_t blocks = (Q + block - 1) / block;
	if (threads < 1)
		threads = 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	if (threads > blocks)
		threads = (int)blocks;
	int64_t next = 0;
	struct topk_job jobs[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	char started[MAX_THREADS] = {0};
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct topk_job){ pk, queries, Q, k, block, ids, scores, &next, 0 };
		if (t > 0)
			started[t] = pthread_create(&tid[t], NULL, topk_blocks, &jobs[t]) == 0;
	}
	/* a thread that did not start leaves its blocks to the others */
	topk_blocks(&jobs[0]);
	int failed = jobs[0].failed;
	for (int t = 1; t < threads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		failed |= jobs[t].failed;
	}
	if (failed)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory scoring %d tracks", pk->N);
	return 0;
}

int botify_topk_inner(const float *queries, int64_t Q, const float *E, int32_t N, int32_t D,
		      int32_t k, int threads, int32_t *ids, float *scores, botify_err *err)
{
	if (k > N)
		BOTIFY_BUG("top %d of %d tracks", k, N);
	if (k <= 0 || Q <= 0)
		return 0;
	/* the walk's order from the mean of the queries */
	double *sum = calloc((size_t)D + 1, sizeof(double));
	float *dir = malloc(((size_t)D + 1) * sizeof(float));
	botify_topk_panels pk;
	if (!sum || !dir) {
		free(sum);
		free(dir);
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory scoring %d tracks", N);
	}
	for (int64_t q = 0; q < Q; q++)
		for (int32_t d = 0; d < D; d++)
			sum[d] += queries[q * D + d];
	for (int32_t d = 0; d < D; d++)
		dir[d] = (float)(sum[d] / (double)Q);
	int built = botify_topk_panels_build(&pk, E, N, D, dir, err);
	free(sum);
	free(dir);
	if (built != 0)
		return -1;
	int rc = botify_topk_inner_packed(&pk, queries, Q, k, threads, ids, scores, err);
	botify_topk_panels_free(&pk);
	return rc;
}
