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
 *
 * Past the first 2 400 tracks of the walk (or 2 k), the catalog is walked
 * as bytes instead: an integer filter (below) with a proven bound on its
 * distance from the float score shows that almost every track is below the
 * k-th best float score so far, and the few others get their float score
 * through the same operations. The lists do not change; the float kernel's
 * work does, by 95 %.
 */
#include "topk.h"

#include <float.h>
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

/* Partitions a[lo..hi] (distinct keys, hi > lo) around the median of
 * a[lo], a[mid], a[hi] and returns the pivot's place i: [lo, i) > a[i] >
 * (i, hi]. No branch on the data: the keys above a pivot are random, and a
 * branch on each cost more than the rest of a selection or a sort. */
static int32_t partition_desc(uint64_t *a, int32_t lo, int32_t hi)
{
	int32_t mid = lo + (hi - lo) / 2;
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
	return i;
}

/* Rearranges a[0..n) (distinct keys) so that [0..k) holds the k largest and
 * a[k - 1] is the k-th largest: quickselect. */
static void select_top(uint64_t *a, int32_t n, int32_t k)
{
	int32_t lo = 0, hi = n - 1;
	while (hi > lo) {
		int32_t i = partition_desc(a, lo, hi);
		if (k - 1 < i)
			hi = i - 1;
		else if (k - 1 > i)
			lo = i + 1;
		else
			return;
	}
}

/* a[0..n) (distinct keys) largest first: quicksort, recursing on the
 * smaller side, insertion sort below 17 keys. */
static void sort_desc(uint64_t *a, int32_t n)
{
	while (n > 16) {
		int32_t i = partition_desc(a, 0, n - 1);
		if (i < n - 1 - i) {
			sort_desc(a, i);
			a += i + 1;
			n -= i + 1;
		} else {
			sort_desc(a + i + 1, n - 1 - i);
			n = i;
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

static int quantise_catalog(botify_topk_panels *pk, const float *E, botify_err *err);

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
	return quantise_catalog(pk, E, err);
}

void botify_topk_panels_free(botify_topk_panels *pk)
{
	free(pk->data);
	free(pk->id);
	free(pk->qdata);
	free(pk->qoff);
	free(pk->qid);
	free(pk->rows);
	free(pk->rowb);
	memset(pk, 0, sizeof(*pk));
}

/*
 * The integer filter. Every score of the float kernel costs one fused
 * multiply-add per dimension; vpmaddubsw multiplies 32 pairs of bytes and
 * adds them two by two in one instruction, four times the products of a
 * vector fused multiply-add (on this machine's core about 2.2 times the
 * multiply-adds per second, with the adds that keep the sums). With a
 * proven bound on the distance between that integer product and the float
 * score it shows, for almost every track, that the track cannot be in a
 * query's top k. Only the few it cannot rule out get their float score,
 * through botify_topk_dot's operations: the lists are the same bytes as the
 * float kernel's alone.
 *
 * The catalog is stored as bytes, e = csc e~ + R with e~ integer in
 * [-127, 127] and |e~| <= 181 (the scale csc from the largest component and
 * the largest norm), a query as q = sq q~ + rho, q~ in [-64, 64]. In real
 * numbers, with I = q~.e~ an exact integer,
 *   q.e = sq csc I + q.R + rho.(csc e~),
 * so |q.e - sq csc I| <= |q| rmax + |rho| hmax, with rmax and hmax the
 * largest |R| and |csc e~| of a track (Cauchy-Schwarz). The float score s
 * (D fused multiply-adds) is within gamma_D sum |q_d e_d| + D 2^-149 of q.e
 * (one rounding of at most 2^-24 per step, or 2^-150 below the normal
 * range), and sum |q_d e_d| <= |q| xmax. Those three terms are E(q):
 *   s <= sq csc I + E.
 * The float kernel walks the first part of the catalog (filter_split), so
 * the query's k-th best float score so far, tau, is known when the integer
 * kernel starts; k tracks score tau or more, so a track with
 * sq csc I + E < tau, i.e. I < (tau - E) / (sq csc), scores below k others
 * and is in no top k, ties or not. The others get their float score and
 * join the candidates as the float kernel's do; tau, and with it the
 * integer threshold, rises as they come (int_threshold).
 *
 * The bytes: vpmaddubsw takes unsigned bytes, so the query is stored as u =
 * q~ + 64 in [0, 128] and 64 times the sum of e~ (qoff) is taken off after;
 * a pair of products is at most 2 * 128 * 127 = 32 512, so it never
 * saturates, and the sums run in 16 bits modulo 2^16: the result is exact
 * because |I| <= |q~| |e~| < 2^15, which the query's scale ensures.
 *
 * The bounds are computed in double: R and rho in double are within 2^-52
 * (|csc e~| + |R|) of the real residuals, and each norm within (D + 2)
 * 2^-53 of its sum; the 2^-40 and 2^-30 margins cover these. A query with a
 * NaN or an infinity, whose magnitudes could overflow a float partial sum,
 * or whose 2 E / (sq csc) passes 2^16 (the filter would pass most tracks)
 * takes the float kernel alone, with its block.
 */
enum { QOFF = 64, CMAX = 127, CNORM = 181, FILTER_MAX_W = 65536, IPANEL = 32 };

static int filter_on = 1, drop_term;
static int64_t stat_queries, stat_rescored;

void botify_topk_inner_set_filter(int on)
{
	filter_on = on;
}

void botify_topk_inner_drop_term(int term)
{
	drop_term = term;
}

void botify_topk_inner_filter_stats(int64_t *queries, int64_t *rescored)
{
	*queries = __atomic_load_n(&stat_queries, __ATOMIC_RELAXED);
	*rescored = __atomic_load_n(&stat_rescored, __ATOMIC_RELAXED);
}

/* The nearest integer of y, |y| a little above the limit at most; any
 * rounding would do, the residuals are measured from the integer chosen. */
static inline int32_t round_int(double y)
{
	return (int32_t)(y >= 0 ? y + 0.5 : y - 0.5);
}

/* x rounded up to a float (x is finite: |x| <= sqrt(D) FLT_MAX at most,
 * which may round to infinity: a bound still) */
static float up_float(double x)
{
	float f = (float)x;
	return (double)f < x ? nextafterf(f, INFINITY) : f;
}

/* The catalog's bytes, 32 tracks a panel in the walk's order, pairs of
 * dimensions side by side (vpmaddubsw's operands), and its constants. No
 * filter (qdata NULL) for a catalog with a NaN or an infinity. */
static int quantise_catalog(botify_topk_panels *pk, const float *E, botify_err *err)
{
	int32_t N = pk->N, D = pk->D, H = (D + 1) / 2;
	double amax = 0, n2max = 0;
	for (int32_t t = 0; t < N; t++) {
		double n2 = 0;
		for (int32_t d = 0; d < D; d++) {
			double x = E[(size_t)t * D + d], a = fabs(x);
			if (!(a <= FLT_MAX))
				return 0;
			amax = a > amax ? a : amax;
			n2 += x * x;
		}
		n2max = n2 > n2max ? n2 : n2max;
	}
	double sc = fmax(amax / CMAX, sqrt(n2max) / CNORM);
	if (!(sc > 0))
		sc = 1;
	double inv = 1 / sc;
	int32_t P8 = (N + IPANEL - 1) / IPANEL;
	pk->qdata = aligned_alloc(32, ((size_t)P8 * (size_t)H * IPANEL * 2 + 31) / 32 * 32 + 32);
	pk->qoff = aligned_alloc(32, ((size_t)P8 * IPANEL * sizeof(int16_t) + 31) / 32 * 32 + 32);
	pk->qid = malloc(((size_t)P8 * IPANEL + 1) * sizeof(int32_t));
	pk->rows = malloc(((size_t)N * (size_t)D + 1) * sizeof(float));
	pk->rowb = malloc(((size_t)N * 4 + 1) * sizeof(float));
	if (!pk->qdata || !pk->qoff || !pk->qid || !pk->rows || !pk->rowb) {
		botify_topk_panels_free(pk);
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory packing %d tracks", N);
	}
	for (int32_t i = 0; i < N; i++) /* the walk's order: a query's survivors lie close */
		memcpy(pk->rows + (size_t)i * D, E + (size_t)pk->id[i] * D, (size_t)D * sizeof(float));
	double r2max = 0, h2max = 0, x2max = 0;
	int64_t cn2 = 0;
	for (int32_t i = 0; i < P8 * IPANEL; i++) {
		int8_t *out = pk->qdata + (size_t)(i / IPANEL) * (size_t)H * IPANEL * 2 + (size_t)(i % IPANEL) * 2;
		int32_t id = i < N ? pk->id[i] : -1; /* the float panels' order */
		const float *row = id >= 0 ? E + (size_t)id * (size_t)D : NULL;
		double r2 = 0, h2 = 0, x2 = 0;
		int64_t c2 = 0, sum = 0;
		for (int32_t d = 0; d < 2 * H; d++) {
			int32_t v = 0;
			if (row && d < D) {
				double x = row[d];
				v = round_int(x * inv);
				v = v > CMAX ? CMAX : v < -CMAX ? -CMAX : v;
				double r = x - sc * v;
				r2 += r * r;
				h2 += (sc * v) * (sc * v);
				x2 += x * x;
			}
			out[(size_t)(d / 2) * IPANEL * 2 + d % 2] = (int8_t)v;
			c2 += (int64_t)v * v;
			sum += v;
		}
		pk->qid[i] = id;
		pk->qoff[i] = (int16_t)(uint16_t)(uint32_t)(QOFF * sum);
		if (id >= 0) {
			float *b = pk->rowb + (size_t)i * 4;
			b[0] = up_float((sqrt(r2) + 0x1p-40 * sqrt(h2)) * (1 + 0x1p-30));
			b[1] = up_float(sqrt(h2) * (1 + 0x1p-30));
			b[2] = up_float(sqrt(x2) * (1 + 0x1p-30));
			b[3] = 0;
		}
		r2max = r2 > r2max ? r2 : r2max;
		h2max = h2 > h2max ? h2 : h2max;
		x2max = x2 > x2max ? x2 : x2max;
		cn2 = c2 > cn2 ? c2 : cn2;
	}
	pk->P8 = P8;
	pk->csc = sc;
	pk->cn2 = cn2;
	pk->hmax = sqrt(h2max) * (1 + 0x1p-30);
	pk->rmax = (sqrt(r2max) + 0x1p-40 * pk->hmax) * (1 + 0x1p-30);
	pk->xmax = sqrt(x2max) * (1 + 0x1p-30);
	return 0;
}

/* The bytes u = q~ + 64 of query q (2H of them) and its constants; 0 when
 * the query must take the float kernel. */
/* A query's constants in the filter. */
struct fq {
	double E;    /* |s - sq csc I| <= E for every track */
	double unit; /* sq csc */
};

static int quantise_query(const botify_topk_panels *pk, const float *q, uint8_t *u, struct fq *f)
{
	int32_t D = pk->D, H = (D + 1) / 2;
	double amax = 0, n2 = 0;
	for (int32_t d = 0; d < D; d++) {
		double x = q[d], a = fabs(x);
		if (!(a <= FLT_MAX))
			return 0;
		amax = a > amax ? a : amax;
		n2 += x * x;
	}
	/* |q~| |e~| < 2^15: |q~| below 2^15 / |e~|max, less the rounding's
	 * sqrt(D) / 2, checked in integers after */
	double room = 32768 / sqrt((double)(pk->cn2 > 0 ? pk->cn2 : 1)) - sqrt((double)D) / 2 - 1;
	if (!(room > 1))
		return 0;
	double sq = fmax(amax / QOFF, sqrt(n2) / room);
	if (!(sq > 0))
		sq = 1;
	double r2, h2;
	for (int tries = 0;; tries++) {
		double inv = 1 / sq;
		int64_t i2 = 0;
		r2 = h2 = 0;
		for (int32_t d = 0; d < 2 * H; d++) {
			int32_t v = 0;
			if (d < D) {
				double x = q[d];
				v = round_int(x * inv);
				v = v > QOFF ? QOFF : v < -QOFF ? -QOFF : v;
				double r = x - sq * v;
				r2 += r * r;
				h2 += (sq * v) * (sq * v);
			}
			u[d] = (uint8_t)(v + QOFF);
			i2 += (int64_t)v * v;
		}
		if (i2 * pk->cn2 < (int64_t)1 << 30)
			break;
		if (tries == 3)
			return 0;
		sq *= 1.25;
	}
	double qn = sqrt(n2) * (1 + 0x1p-30), hq = sqrt(h2) * (1 + 0x1p-30);
	double rq = (sqrt(r2) + 0x1p-40 * hq) * (1 + 0x1p-30);
	/* every partial sum of a float score is below FLT_MAX: none is
	 * infinite, and the rounding bound holds */
	if (!(qn * pk->xmax <= FLT_MAX / 4))
		return 0;
	double g = D * 0x1p-24;
	g /= 1 - g;
	double e = (drop_term == 1 ? 0 : qn * pk->rmax) + (drop_term == 2 ? 0 : rq * pk->hmax) +
		   (drop_term == 3 ? 0 : g * qn * pk->xmax + D * 0x1p-149);
	double w = 2 * e * (1 + 0x1p-30) / (sq * pk->csc);
	if (!(w < FILTER_MAX_W))
		return 0; /* the filter would let most tracks through */
	f->E = e * (1 + 0x1p-30);
	f->unit = sq * pk->csc;
	return 1;
}

/* The kernels' threshold for a query whose k-th best score so far is tau:
 * a track scores at most unit I + E, so one with I < (tau - E) / unit
 * scores below tau, under k others. Returned less 1 (the kernels test I >
 * it) and clamped to 16 bits; a margin of 1 and 2^-40 covers the rounding
 * of the division. */
static int16_t int_threshold(const struct fq *f, float tau)
{
	if (!(tau > -INFINITY))
		return INT16_MIN; /* fewer than k so far: every track */
	double x = ((double)tau - f->E) / f->unit;
	x = floor(x - fabs(x) * 0x1p-40 - 1) - 1;
	return (int16_t)(x < INT16_MIN ? INT16_MIN : x > INT16_MAX ? INT16_MAX : x);
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

/* fmaf as one instruction where the CPU has it (a call to the library's
 * otherwise): the same correctly rounded result, botify_topk_dot's. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("fma"))) static float dot_fma(const float *a, const float *b, int32_t D)
{
	float s = 0;
	for (int32_t d = 0; d < D; d++)
		s = fmaf(a[d], b[d], s);
	return s;
}
#endif

/* The second part of a block's walk: the integer kernel's survivors get
 * their float scores and join the float kernel's candidates (struct sel,
 * tau8) of the first part; thr16 follows tau. */
struct fctx {
	const botify_topk_panels *pk;
	const struct ctx *c;
	const float *q;      /* the block's queries */
	struct sel *sel;
	float *tau8;
	int16_t *thr16;      /* (rows, 16) */
	const struct fq *fq;
	int fma;
	int64_t rescored;
};

/* Tracks pos0 + j of row r where bits 2j and 2j + 1 of m are set. */
static void fpush_row(struct fctx *f, int r, uint64_t m, int32_t pos0)
{
	const botify_topk_panels *pk = f->pk;
	int32_t D = pk->D;
	const float *q = f->q + (size_t)r * D;
	struct sel *s = &f->sel[r];
	float tau = f->tau8[8 * r];
	uint64_t *key = s->key;
	int32_t n = s->n;
	while (m) {
		int j = __builtin_ctzll(m) >> 1;
		m &= ~((uint64_t)3 << (2 * j));
		int32_t id = pk->qid[pos0 + j];
		if (id < 0)
			continue;
		const float *e = pk->rows + (size_t)(pos0 + j) * D;
		float x;
#if defined(__x86_64__) && defined(__GNUC__)
		if (f->fma)
			x = dot_fma(q, e, D);
		else
#endif
			x = botify_topk_dot(q, e, D);
		f->rescored++;
		if (!(x < tau))
			key[n++] = rank_key(x, id);
	}
	if (n > f->c->cap - IPANEL) {
		select_top(key, n, f->c->k);
		n = f->c->k;
		tau = key_score(key[n - 1]);
		for (int i = 0; i < 8; i++)
			f->tau8[8 * r + i] = tau;
		int16_t t = int_threshold(&f->fq[r], tau);
		for (int i = 0; i < 16; i++)
			f->thr16[16 * r + i] = t;
	}
	s->n = n;
}

/* The filter's integers of every panel against rows [0, rows) of u (2H
 * bytes each), one at a time. */
static void ikernel_scalar(struct fctx *f, const uint8_t *u, int rows, int32_t p0, int32_t p1)
{
	const botify_topk_panels *pk = f->pk;
	int16_t *thr16 = f->thr16;
	int32_t H = (pk->D + 1) / 2;
	int16_t x[IPANEL];
	for (int32_t p = p0; p < p1; p++) {
		const int8_t *e = pk->qdata + (size_t)p * (size_t)H * IPANEL * 2;
		for (int r = 0; r < rows; r++) {
			uint64_t m = 0;
			for (int j = 0; j < IPANEL; j++) {
				int32_t I = 0;
				for (int32_t d = 0; d < 2 * H; d++)
					I += ((int32_t)u[(size_t)r * 2 * H + d] - QOFF) *
					     e[(size_t)(d / 2) * IPANEL * 2 + 2 * j + d % 2];
				x[j] = (int16_t)I;
				m |= (uint64_t)(x[j] > thr16[16 * r]) * 3 << (2 * j);
			}
			if (m)
				fpush_row(f, r, m, p * IPANEL);
		}
	}
}

#ifdef HAVE_AVX2_KERNEL
/* The tile: MR queries by 32 tracks, 16 bits per sum, in 8 registers; one
 * vpmaddubsw (two dimensions of 16 tracks) and one add per step and
 * register. */
__attribute__((target("avx2"))) static void ikernel_avx2(struct fctx *f, const uint8_t *u, int rows,
							  int32_t p0, int32_t p1)
{
	const botify_topk_panels *pk = f->pk;
	int16_t *thr16 = f->thr16;
	int32_t H = (pk->D + 1) / 2;
	size_t panel_bytes = (size_t)H * IPANEL * 2;
	for (int32_t p = p0; p < p1; p++) {
		const int8_t *e = pk->qdata + (size_t)p * panel_bytes;
		const char *next = p + 1 < p1 ? (const char *)(e + panel_bytes) : NULL;
		__m256i off0 = _mm256_load_si256((const __m256i *)(pk->qoff + (size_t)p * IPANEL));
		__m256i off1 = _mm256_load_si256((const __m256i *)(pk->qoff + (size_t)p * IPANEL + 16));
		for (int r = 0; r < rows; r += MR) {
			size_t off = (size_t)r / MR * 128;
			if (next && off < panel_bytes) {
				_mm_prefetch(next + off, _MM_HINT_T0);
				_mm_prefetch(next + off + 64, _MM_HINT_T0);
			}
			const uint8_t *q0 = u + (size_t)r * 2 * H, *q1 = q0 + 2 * H, *q2 = q1 + 2 * H, *q3 = q2 + 2 * H;
			__m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00;
			__m256i a20 = a00, a21 = a00, a30 = a00, a31 = a00;
			const int8_t *ed = e;
			for (int32_t h = 0; h < H; h++, ed += IPANEL * 2) {
				/* by hand: gcc kept each product in a register of
				 * its own and moved the sums between registers
				 * and the stack */
				__m256i e0, e1, b, t;
				__asm__("vmovdqa (%[ed]), %[e0]\n\t"
					"vmovdqa 32(%[ed]), %[e1]\n\t"
					"vpbroadcastw (%[q0]), %[b]\n\t"
					"vpmaddubsw %[e0], %[b], %[t]\n\t"
					"vpaddw %[t], %[a00], %[a00]\n\t"
					"vpmaddubsw %[e1], %[b], %[t]\n\t"
					"vpaddw %[t], %[a01], %[a01]\n\t"
					"vpbroadcastw (%[q1]), %[b]\n\t"
					"vpmaddubsw %[e0], %[b], %[t]\n\t"
					"vpaddw %[t], %[a10], %[a10]\n\t"
					"vpmaddubsw %[e1], %[b], %[t]\n\t"
					"vpaddw %[t], %[a11], %[a11]\n\t"
					"vpbroadcastw (%[q2]), %[b]\n\t"
					"vpmaddubsw %[e0], %[b], %[t]\n\t"
					"vpaddw %[t], %[a20], %[a20]\n\t"
					"vpmaddubsw %[e1], %[b], %[t]\n\t"
					"vpaddw %[t], %[a21], %[a21]\n\t"
					"vpbroadcastw (%[q3]), %[b]\n\t"
					"vpmaddubsw %[e0], %[b], %[t]\n\t"
					"vpaddw %[t], %[a30], %[a30]\n\t"
					"vpmaddubsw %[e1], %[b], %[t]\n\t"
					"vpaddw %[t], %[a31], %[a31]"
					: [a00] "+x"(a00), [a01] "+x"(a01), [a10] "+x"(a10), [a11] "+x"(a11),
					  [a20] "+x"(a20), [a21] "+x"(a21), [a30] "+x"(a30), [a31] "+x"(a31),
					  [e0] "=&x"(e0), [e1] "=&x"(e1), [b] "=&x"(b), [t] "=&x"(t)
					: [ed] "r"(ed), [q0] "r"(q0 + 2 * h), [q1] "r"(q1 + 2 * h),
					  [q2] "r"(q2 + 2 * h), [q3] "r"(q3 + 2 * h)
					: "memory");
			}
			/* the offsets off: exact in 16 bits (modulo 2^16) */
			a00 = _mm256_sub_epi16(a00, off0);
			a01 = _mm256_sub_epi16(a01, off1);
			a10 = _mm256_sub_epi16(a10, off0);
			a11 = _mm256_sub_epi16(a11, off1);
			a20 = _mm256_sub_epi16(a20, off0);
			a21 = _mm256_sub_epi16(a21, off1);
			a30 = _mm256_sub_epi16(a30, off0);
			a31 = _mm256_sub_epi16(a31, off1);
			int16_t *t = thr16 + 16 * r;
			__m256i t0 = _mm256_load_si256((const __m256i *)t), t1 = _mm256_load_si256((const __m256i *)(t + 16));
			__m256i t2 = _mm256_load_si256((const __m256i *)(t + 32)), t3 = _mm256_load_si256((const __m256i *)(t + 48));
			__m256i m00 = _mm256_cmpgt_epi16(a00, t0), m01 = _mm256_cmpgt_epi16(a01, t0);
			__m256i m10 = _mm256_cmpgt_epi16(a10, t1), m11 = _mm256_cmpgt_epi16(a11, t1);
			__m256i m20 = _mm256_cmpgt_epi16(a20, t2), m21 = _mm256_cmpgt_epi16(a21, t2);
			__m256i m30 = _mm256_cmpgt_epi16(a30, t3), m31 = _mm256_cmpgt_epi16(a31, t3);
			__m256i any = _mm256_or_si256(_mm256_or_si256(_mm256_or_si256(m00, m01), _mm256_or_si256(m10, m11)),
						      _mm256_or_si256(_mm256_or_si256(m20, m21), _mm256_or_si256(m30, m31)));
			if (_mm256_testz_si256(any, any))
				continue;
#define MASK2(x, y) ((uint64_t)(uint32_t)_mm256_movemask_epi8(x) | (uint64_t)(uint32_t)_mm256_movemask_epi8(y) << 32)
			uint64_t m[MR] = { MASK2(m00, m01), MASK2(m10, m11), MASK2(m20, m21), MASK2(m30, m31) };
#undef MASK2
			for (int i = 0; i < MR; i++)
				if (m[i])
					fpush_row(f, r + i, m[i], p * IPANEL);
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

/* Where the float kernel's part of the walk ends with the filter: a
 * multiple of both panel widths, with room for 2 k tracks (so that tau is
 * the k-th best of many) and most queries' best tracks (about 2 400 on
 * the export's 50 000); the whole catalog when that is all of it. */
static int32_t filter_split(const botify_topk_panels *pk, int32_t k)
{
	enum { STEP = PANEL * IPANEL / 8, FIRST = 25 * STEP };
	int64_t split = 2 * (int64_t)k > FIRST ? 2 * (int64_t)k : FIRST;
	split = (split + STEP - 1) / STEP * STEP;
	return split >= (int64_t)pk->P * PANEL ? pk->P * PANEL : (int32_t)split;
}

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
	/* the filter's: queries' bytes, constants and thresholds */
	int32_t H = (D + 1) / 2;
	uint8_t *qu = malloc((size_t)B * 2 * (size_t)H + 1);
	int16_t *thr16 = aligned_alloc(32, (size_t)B * 16 * sizeof(int16_t));
	struct fq *fq = malloc((size_t)B * sizeof(*fq));
	int64_t nfiltered = 0, nrescored = 0;
	if (!q || !tau8 || !keys || !sel || !qu || !thr16 || !fq) {
		j->failed = 1;
		goto out;
	}
#ifdef HAVE_AVX2_KERNEL
	int avx2 = !force_scalar && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
	int avx2 = 0;
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
		int filtered = filter_on && pk->qdata;
		for (int r = 0; filtered && r < rows; r++)
			filtered = quantise_query(pk, q + (size_t)r * D, qu + (size_t)r * 2 * H, &fq[r]);
		for (int r = 0; r < padded; r++) {
			sel[r].key = keys + (size_t)r * (size_t)c.cap;
			sel[r].n = 0;
			/* the padding rows take nothing */
			for (int i = 0; i < 8; i++)
				tau8[8 * r + i] = r < rows ? -INFINITY : INFINITY;
		}
		/* with the filter, the float kernel walks the first part of the
		 * catalog alone (where most of a query's best tracks are: the
		 * walk's order), and the integer kernel the rest, with the
		 * threshold of the k-th best float score so far */
		botify_topk_panels part = *pk;
		int32_t split = filtered ? filter_split(pk, c.k) : pk->P * PANEL;
		part.P = split / PANEL;
#ifdef HAVE_AVX2_KERNEL
		if (avx2)
			kernel_avx2(&part, &c, q, padded, sel, tau8);
		else
#endif
			kernel_scalar(&part, &c, q, padded, sel, tau8);
		if (filtered && split < pk->P * PANEL) {
			for (int r = 0; r < padded; r++) {
				float tau = INFINITY; /* the padding rows take nothing */
				if (r < rows && sel[r].n >= c.k) {
					select_top(sel[r].key, sel[r].n, c.k);
					sel[r].n = c.k;
					tau = key_score(sel[r].key[c.k - 1]);
				} else if (r < rows) {
					tau = -INFINITY;
				}
				for (int i = 0; i < 8; i++)
					tau8[8 * r + i] = tau;
				int16_t t = r < rows ? int_threshold(&fq[r], tau) : INT16_MAX;
				for (int i = 0; i < 16; i++)
					thr16[16 * r + i] = t;
				if (r >= rows)
					memset(qu + (size_t)r * 2 * H, QOFF, (size_t)2 * H);
			}
			struct fctx f = { pk, &c, q, sel, tau8, thr16, fq, avx2, 0 };
			/* in steps of FSTEP panels (a multiple of 96 tracks, where
			 * both kinds of panels start); where more than one pair in
			 * 32 needs its float score (scores so close that the bound
			 * passes them: an untrained model), the float kernel is
			 * cheaper and takes the rest of the walk */
			enum { FSTEP = 15 };
			int32_t p8 = split / IPANEL;
			int64_t walked = 0;
			while (p8 < pk->P8) {
				int32_t p1 = pk->P8 - p8 < FSTEP ? pk->P8 : p8 + FSTEP;
#ifdef HAVE_AVX2_KERNEL
				if (avx2)
					ikernel_avx2(&f, qu, padded, p8, p1);
				else
#endif
					ikernel_scalar(&f, qu, padded, p8, p1);
				walked += (int64_t)(p1 - p8) * IPANEL * rows;
				p8 = p1;
				if (p8 < pk->P8 && f.rescored * 32 > walked) {
					int32_t p0 = p8 * IPANEL / PANEL;
					part.data = pk->data + (size_t)p0 * (size_t)D * PANEL;
					part.id = pk->id + (size_t)p0 * PANEL;
					part.P = pk->P - p0;
#ifdef HAVE_AVX2_KERNEL
					if (avx2)
						kernel_avx2(&part, &c, q, padded, sel, tau8);
					else
#endif
						kernel_scalar(&part, &c, q, padded, sel, tau8);
					break;
				}
			}
			nfiltered += rows;
			nrescored += f.rescored;
		}
		for (int r = 0; r < rows; r++)
			finish_row(&c, &sel[r], j->ids + (q0 + r) * j->k,
				   j->scores ? j->scores + (q0 + r) * j->k : NULL);
	}
out:
	__atomic_fetch_add(&stat_queries, nfiltered, __ATOMIC_RELAXED);
	__atomic_fetch_add(&stat_rescored, nrescored, __ATOMIC_RELAXED);
	free(fq);
	free(qu);
	free(thr16);
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
