/*
 * ranker.c - ranking the catalog with a trained model, and ranked lists in
 * session state.
 */
#include "ranker.h"

#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "topk.h"
#include "twotower_infer.h"
#include "twotower_io.h"

int botify_ranker_load(botify_ranker *r, const char *dir, const botify_world *w, int32_t k,
		       botify_err *err)
{
	memset(r, 0, sizeof(*r));
	if (w->N < 2)
		return botify_fail(err, BOTIFY_EINVAL, "the catalog needs at least 2 tracks");
	if (k < 1 || k > w->N - 1)
		return botify_fail(err, BOTIFY_EINVAL, "k %d out of range (1 to %d)", k, w->N - 1);
	r->k = k;
	if (botify_tt_load(&r->model, dir, err) != 0 ||
	    botify_tt_bind_catalog(&r->model, w->artist, w->N, w->A, dir, err) != 0)
		goto fail;
	r->items = botify_malloc((size_t)w->N * (size_t)r->model.cfg.OUT, sizeof(float),
				 "track vectors", err);
	if (!r->items || botify_tt_item_vectors(&r->model, w->artist, r->items, err) != 0)
		goto fail;
	return 0;
fail:
	botify_ranker_free(r);
	return -1;
}

void botify_ranker_free(botify_ranker *r)
{
	botify_tt_free(&r->model);
	free(r->items);
	memset(r, 0, sizeof(*r));
}

int botify_ranker_scratch_init(botify_ranker_scratch *s, const botify_ranker *r, botify_err *err)
{
	memset(s, 0, sizeof(*s));
	s->scores = botify_malloc((size_t)r->model.cfg.N, sizeof(float), "scores", err);
	s->heap = s->scores ? botify_malloc((size_t)r->k, sizeof(float), "scores", err) : NULL;
	s->ctx = s->heap ? botify_malloc((size_t)r->model.cfg.OUT, sizeof(float), "context", err) : NULL;
	if (!s->ctx || botify_tt_acts_init(&s->acts, &r->model, 1, err) != 0) {
		botify_ranker_scratch_free(s);
		return -1;
	}
	return 0;
}

void botify_ranker_scratch_free(botify_ranker_scratch *s)
{
	botify_tt_acts_free(&s->acts);
	free(s->scores);
	free(s->heap);
	free(s->ctx);
	memset(s, 0, sizeof(*s));
}

void botify_ranker_rank(const botify_ranker *r, botify_ranker_scratch *s, int64_t user,
			int32_t start, botify_ranklist *l)
{
	const botify_tt *m = &r->model;
	int32_t N = m->cfg.N, O = m->cfg.OUT;
	botify_tt_context(m, &s->acts, 1, &user, &start, s->ctx);
	/* scores (N) = items (N,OUT) . ctx (OUT):  M = N, N = OUT */
	cblas_sgemv(CblasRowMajor, CblasNoTrans, N, O, 1.0f, r->items, O, s->ctx, 1, 0.0f,
		    s->scores, 1);
	botify_topk_select(s->scores, N, r->k, start, botify_ranklist_ids(l), s->heap);
	memset(botify_ranklist_played(l, r->k), 0, (size_t)r->k);
	l->n = r->k;
	l->pos = 0;
}

void botify_ranklist_set(botify_ranklist *l, int32_t k, const int32_t *list, int64_t n)
{
	l->n = (int32_t)(n < k ? n : k);
	l->pos = 0;
	if (l->n > 0)
		memcpy(botify_ranklist_ids(l), list, (size_t)l->n * sizeof(int32_t));
	memset(botify_ranklist_played(l, k), 0, (size_t)k);
}

void botify_ranklist_mark(botify_ranklist *l, int32_t k, int32_t track)
{
	const int32_t *ids = botify_ranklist_ids(l);
	unsigned char *played = botify_ranklist_played(l, k);
	for (int32_t j = 0; j < l->n; j++)
		if (ids[j] == track)
			played[j] = 1;
}

int botify_ranklist_check(const botify_ranklist *l, int32_t k, int32_t N, botify_err *err)
{
	if (l->n < 0 || l->n > k)
		return botify_fail(err, BOTIFY_EFORMAT, "ranked list of %d entries (capacity %d)", l->n, k);
	if (l->pos < 0 || l->pos > l->n)
		return botify_fail(err, BOTIFY_EFORMAT, "ranked list position %d of %d entries", l->pos, l->n);
	const int32_t *ids = botify_ranklist_ids((botify_ranklist *)l);
	for (int32_t j = 0; j < l->n; j++)
		if (ids[j] < 0 || ids[j] >= N)
			return botify_fail(err, BOTIFY_EFORMAT, "ranked list entry %d is track %d (catalog has %d)",
					   j, ids[j], N);
	const unsigned char *played = botify_ranklist_played((botify_ranklist *)l, k);
	for (int32_t j = 0; j < k; j++)
		if (played[j] > 1)
			return botify_fail(err, BOTIFY_EFORMAT, "ranked list played flag %d is %d", j, played[j]);
	return 0;
}

int32_t botify_ranklist_next(botify_ranklist *l, int32_t k)
{
	const int32_t *ids = botify_ranklist_ids(l);
	unsigned char *played = botify_ranklist_played(l, k);
	while (l->pos < l->n && played[l->pos])
		l->pos++;
	if (l->pos >= l->n)
		return -1;
	played[l->pos] = 1;
	return ids[l->pos++];
}
