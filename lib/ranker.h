/*
 * ranker.h - a trained model ranking the catalog for (user, start track),
 * and the ranked list a session serves from: what the nn recommender does,
 * shared with ranked_sticky (its primary source).
 *
 * botify_ranker (shared, read-only after load): the model and the item
 * vector of every track. botify_ranker_scratch (one per thread): the score
 * buffer of one ranking. botify_ranklist: a ranked list kept in a session's
 * state as plain bytes (no pointers, so a service can store it anywhere):
 *
 *   botify_ranklist header | ids[k] (int32) | played[k] (bytes)
 *
 * served in rank order, skipping tracks the session already played.
 */
#ifndef BOTIFY_RANKER_H
#define BOTIFY_RANKER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "twotower.h"
#include "world.h"

typedef struct botify_ranker {
	botify_tt model;
	float *items;      /* (N, OUT) item vectors */
	int32_t k;         /* list length */
} botify_ranker;

typedef struct botify_ranker_scratch {
	botify_tt_acts acts; /* one row */
	float *scores;       /* (N) */
	float *heap;         /* (k) selection storage */
	float *ctx;          /* (OUT) */
} botify_ranker_scratch;

typedef struct botify_ranklist {
	int32_t n;         /* entries in ids (<= k) */
	int32_t pos;       /* next position to consider */
} botify_ranklist;

/* Loads the model directory dir (written by botify train) for world w's
 * catalog (refused when the model was trained on another) and computes the
 * item vectors; k in [1, N - 1]. r must be all-zero; on failure it is freed.
 * Errors name dir. */
int botify_ranker_load(botify_ranker *r, const char *dir, const botify_world *w, int32_t k,
		       botify_err *err);
void botify_ranker_free(botify_ranker *r);

int botify_ranker_scratch_init(botify_ranker_scratch *s, const botify_ranker *r, botify_err *err);
void botify_ranker_scratch_free(botify_ranker_scratch *s);

/* l (botify_ranklist_size(r->k) bytes) = the r->k tracks of the highest
 * score for (user, start), best first, start excluded (score descending,
 * then track id ascending). Unknown users (not trained, or outside the
 * model) use the mean user embedding. start must be a catalog track. */
void botify_ranker_rank(const botify_ranker *r, botify_ranker_scratch *s, int64_t user,
			int32_t start, botify_ranklist *l);

/* Bytes of a list of capacity k in session state. */
static inline size_t botify_ranklist_size(int32_t k)
{
	return sizeof(botify_ranklist) + (size_t)k * (sizeof(int32_t) + 1);
}

static inline int32_t *botify_ranklist_ids(botify_ranklist *l)
{
	return (int32_t *)(l + 1);
}

static inline unsigned char *botify_ranklist_played(botify_ranklist *l, int32_t k)
{
	return (unsigned char *)(botify_ranklist_ids(l) + k);
}

/* Copies the first min(n, k) ids of list into l and restarts it. */
void botify_ranklist_set(botify_ranklist *l, int32_t k, const int32_t *list, int64_t n);

/* Marks every entry equal to track as played: it is never served. */
void botify_ranklist_mark(botify_ranklist *l, int32_t k, int32_t track);

/* The next entry not yet played, marked played; -1 when the list is done. */
int32_t botify_ranklist_next(botify_ranklist *l, int32_t k);

/* Checks a list of capacity k read back from outside: 0 <= pos <= n <= k,
 * ids[0..n) catalog tracks (< N), played flags 0 or 1; -1 with what is
 * wrong. */
int botify_ranklist_check(const botify_ranklist *l, int32_t k, int32_t N, botify_err *err);

#endif
