/*
 * topk.h - the k largest inner products: batched through sgemm, then a
 * partial selection per row (a k-heap, not a sort of all N scores).
 *
 * Order is score descending, then track id ascending, so results are fully
 * determined by the scores. Used by the simulator's interest neighbours and
 * by export and the nn recommender.
 */
#ifndef BOTIFY_TOPK_H
#define BOTIFY_TOPK_H

#include <stdint.h>

#include "err.h"

/* For each of the Q rows of queries (Q, D): the k rows of E (N, D) with the
 * largest inner product. ids (Q, k) receives track ids, scores (Q, k) the
 * inner products when non-NULL. k must be <= N. Work is split over `threads`
 * threads, each running single-threaded sgemm on blocks of queries; this
 * sets OpenBLAS to one thread (callers that want its threads back for big
 * products set them again). Fails only on ENOMEM. */
int botify_topk_inner(const float *queries, int64_t Q, const float *E, int32_t N, int32_t D,
		      int32_t k, int threads, int32_t *ids, float *scores, botify_err *err);

/* Selection alone: the k best of scores[0..N) into ids and their scores into
 * out_scores (required: it is the heap's storage), best first. exclude (or -1) is never selected, for "the track
 * itself excluded". k must be <= N (or N - 1 with an exclusion). */
void botify_topk_select(const float *scores, int32_t N, int32_t k, int32_t exclude, int32_t *ids,
			float *out_scores);

#endif
