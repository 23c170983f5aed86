/*
 * topk.h - the k largest inner products: brute force through botify's own
 * fused kernel (topk_inner.c), or an exact search pruned by clusters; and
 * the partial selection of one row of scores (a k-heap, not a sort of all N).
 *
 * Order is score descending, then track id ascending, so results are fully
 * determined by the scores. Used by the simulator's interest neighbours and
 * by export and the nn recommender.
 */
#ifndef BOTIFY_TOPK_H
#define BOTIFY_TOPK_H

#include <signal.h>
#include <stdint.h>

#include "err.h"

/* The score of botify_topk_inner: s = fmaf(a[d], b[d], s) for d = 0 .. D-1
 * from s = 0, one rounding per dimension in dimension order. The kernel
 * computes every score with exactly these operations, whatever the CPU. */
float botify_topk_dot(const float *a, const float *b, int32_t D);

/* A catalog E (N, D) packed once for botify_topk_inner_packed: panels of
 * tracks, dimension-major. Read-only once built. */
typedef struct botify_topk_panels {
	int32_t N, D, P;      /* tracks, width, panels */
	float *data;          /* (P, D, panel width) */
	int32_t *id;          /* (P * panel width) the track of each column, -1 past the end */
	/* the quantised catalog of the integer filter (topk_inner.c); qdata
	 * NULL: no filter (a catalog with a NaN or an infinity) */
	int32_t P8;           /* its panels, of 32 tracks */
	int8_t *qdata;        /* (P8, (D + 1) / 2, 32, 2) */
	int16_t *qoff;        /* (P8 * 32) 64 times the sum of a track's integers, modulo 2^16 */
	int32_t *qid;         /* (P8 * 32) the track of each column, -1 past the end */
	float *rows;          /* (N, D) E in the panels' order, for the exact scores of the filter's survivors */
	int64_t cn2;          /* the largest |e~|^2 of a track */
	double csc;           /* the catalog's scale */
	double rmax, hmax, xmax; /* the largest |e - csc e~|, |csc e~| and |e| of a track */
	float *rowb;          /* (N, 4) the same order: each track's own |e - csc e~|, |csc e~|, |e| (rounded up), 0 */
} botify_topk_panels;

/* Packs E (N, D), E copied, tracks in descending order of their inner
 * product with dir (D floats, a typical query such as the queries' mean;
 * NULL: id order). The order changes the speed of a search, never its
 * result. Fails only on ENOMEM. */
int botify_topk_panels_build(botify_topk_panels *pk, const float *E, int32_t N, int32_t D,
			     const float *dir, botify_err *err);
void botify_topk_panels_free(botify_topk_panels *pk);

/* For each of the Q rows of queries (Q, D): the k rows of the packed
 * catalog with the largest botify_topk_dot, score descending then id
 * ascending: the exact top k of those scores. ids (Q, k) receives track
 * ids, scores (Q, k) the scores when non-NULL. k must be <= N. Blocks of
 * queries are shared out over `threads` threads; the result is the same
 * bytes for any count. Fails only on ENOMEM. */
int botify_topk_inner_packed(const botify_topk_panels *pk, const float *queries, int64_t Q,
			     int32_t k, int threads, int32_t *ids, float *scores, botify_err *err);

/* For tests: 1 runs the scalar kernel (fmaf) also where AVX2 and FMA are
 * there, 0 the fastest one. Process-wide. */
void botify_topk_force_scalar(int on);

/* For tests: 0 scores every track with the float kernel, 1 (the default)
 * puts the integer filter in front of it (topk_inner.c). The lists are the
 * same bytes either way. Process-wide. */
void botify_topk_inner_set_filter(int on);

/* For tests: drops one error term of the filter's bound (1: the catalog's
 * quantisation, 2: the query's, 3: the float kernel's rounding), 0 none. A
 * bound without one of them gives wrong lists on inputs made for it. */
void botify_topk_inner_drop_term(int term);

/* Process-wide counts since the start: queries that went through the
 * filter, and rows scored exactly for them (the filter's survivors). */
void botify_topk_inner_filter_stats(int64_t *queries, int64_t *rescored);

/* The same for a catalog E (N, D) packed for this call alone (in the order
 * of the queries' mean). */
int botify_topk_inner(const float *queries, int64_t Q, const float *E, int32_t N, int32_t D,
		      int32_t k, int threads, int32_t *ids, float *scores, botify_err *err);

/* Selection alone: the k best of scores[0..N) into ids and their scores into
 * out_scores (required: it is the heap's storage), best first. exclude (or -1) is never selected, for "the track
 * itself excluded". k must be <= N (or N - 1 with an exclusion). */
void botify_topk_select(const float *scores, int32_t N, int32_t k, int32_t exclude, int32_t *ids,
			float *out_scores);

/*
 * Exact pruned search over a clustered catalog.
 *
 * Here the score of a track for a query is botify_topk_score, the inner
 * product in double precision: the products of two floats are exact in a
 * double, only the sums round (about 1e-16 relative), so the order is the
 * order of the exact inner products except between tracks closer than
 * that, and equal vectors score equal. A result depends on the query and
 * the catalog only, never on the batch, the thread count or the CPU. The
 * answer is the k best by score descending, then id ascending: exactly what
 * scoring every track with botify_topk_score and sorting gives.
 *
 * Tracks are grouped (the world's artists); each group keeps a centroid c
 * and a radius r. No track of a group scores above q.c + |q| r (plus the
 * rounding of both sides), so a group whose bound is below the k-th best
 * score so far is skipped whole. A query first opens the groups of the
 * highest q.c near it (its two nearest super-clusters) for a k-th best
 * score; the centroids and the rows, also stored as small integers, then
 * give every group and every row of an opened group an upper bound within
 * a proven error term (topk.c), and only those that may reach the k-th
 * best get their float bound or their exact score. Without AVX2 and FMA
 * (or with a large k) the bounds of every group come from one sgemm per
 * block of queries. A track that is scored is scored exactly.
 */
typedef struct botify_topk_index {
	int32_t N, D, C;      /* tracks, width, groups */
	float *E;             /* (N, D) rows grouped, group by group */
	int32_t *id;          /* (N) the track id of each row */
	int32_t *off;         /* (C + 1) rows of group g: off[g] .. off[g + 1] - 1 */
	float *cent;          /* (C, D) centroids */
	float *slack;         /* (C) radius plus the rounding margin per unit of |q| */
	int32_t M;            /* super-clusters of the centroids (locality only) */
	float *centers;       /* (M, D) */
	double xmax;          /* the largest |row| */
	int32_t *sfirst;      /* (M + 1) groups of super-cluster m: sfirst[m] .. sfirst[m + 1] - 1 */
	/* the centroids quantised to small integers, a cheap filter in front
	 * of the bounds (topk.c: quantised filter); qc NULL when unused */
	int8_t *qc;           /* panels of 8 centroids, 4 dimensions a step */
	int32_t *qsum;        /* (C rounded up to 8) the offset's share of each integer product */
	float *qslack;        /* (C rounded up to 8) slack, -inf past C */
	int32_t P, S4;        /* panels, steps of 4 dimensions */
	float *qcsc;          /* (C rounded up to 8) a centroid is qcsc times its integer vector, */
	float *qcn, *qecn;    /* within qecn; qcn its norm (both rounded up) */
	double cmax, ecmax, slmax; /* the largest qcn, qecn and slack */
	int8_t *qx;           /* (N, DQ) the rows quantised the same way, row by row */
	int32_t *qxsum;       /* (N) */
	int32_t DQ;           /* D rounded up to 32 */
	double xsc, xmaxq, exmax; /* the rows' scale, largest |x| and |x - xsc x~| */
} botify_topk_index;

/* The score: sum of (double)a[d] * b[d], dimension d into partial sum d % 4,
 * then (s0 + s1) + (s2 + s3). */
double botify_topk_score(const float *a, const float *b, int32_t D);
/* out[i] = botify_topk_score(q, X + i * D, D) for i < n (vectorised). */
void botify_topk_score_rows(const float *q, const float *X, int32_t n, int32_t D, double *out);

/* Builds the index of E (N, D) grouped by group[t] (0..G-1; the world's
 * artist array). E is copied. Fails on ENOMEM, and with BOTIFY_EINVAL when
 * a row is not finite (a NaN score has no rank). */
int botify_topk_index_build(botify_topk_index *ix, const float *E, int32_t N, int32_t D,
			    const int32_t *group, int32_t G, botify_err *err);
/* The same index built on `threads` threads (the same index for any count). */
int botify_topk_index_build_threads(botify_topk_index *ix, const float *E, int32_t N, int32_t D,
				    const int32_t *group, int32_t G, int threads, botify_err *err);
void botify_topk_index_free(botify_topk_index *ix);

/* Work counters of a search (summed over queries). */
typedef struct botify_topk_stats {
	int64_t scored;       /* tracks scored exactly */
	int64_t groups;       /* groups opened */
} botify_topk_stats;

/* For each of the Q rows of queries (Q, D): the k best tracks of ix (score
 * descending, id ascending) into ids (Q, k), their scores into scores when
 * non-NULL. k <= N. Runs on `threads` threads (single-threaded sgemm in
 * each, as botify_topk_inner). stop (may be NULL) is polled between queries,
 * a few milliseconds apart at most: when it is set the search fails with
 * BOTIFY_EINTR. A query that is not finite fails it with BOTIFY_EINVAL,
 * before any work. stats may be NULL. */
int botify_topk_search(const botify_topk_index *ix, const float *queries, int64_t Q, int32_t k,
		       int threads, volatile sig_atomic_t *stop, int32_t *ids, double *scores,
		       botify_topk_stats *stats, botify_err *err);

/* Progress of botify_topk_search: fn(ctx, queries done, Q), called from the
 * calling thread between its blocks; NULL for none. Process-wide (a command
 * runs one search at a time). */
void botify_topk_set_progress(void (*fn)(void *ctx, int64_t done, int64_t total), void *ctx);

/* For tests: the indices (ascending, returned count) of x[0..n) among
 * which the t highest are chosen before the filter (value descending, then
 * index; a NaN never): a superset of those t, all n when t > 32. */
int32_t botify_topk_seed_candidates(const float *x, int32_t n, int32_t t, int32_t *out);

/* The quantised filter in front of the bounds (on by default where the CPU
 * has AVX2 and FMA): 0 turns it off, for tests that compare both ways.
 * Process-wide; results never depend on it. */
void botify_topk_set_filter(int on);

#endif
