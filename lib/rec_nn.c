/*
 * rec_nn.c - the trained model as a recommender (the role the Flask service
 * and Redis played in the original): at a session's first call it scores
 * every track for (user, start track) with one sgemv, keeps the ranked
 * top-k in the session state, and serves that list in order, skipping
 * tracks already played in the session; when the list runs out it falls
 * back to a uniform track. Users the model did not train on use the mean
 * user embedding.
 *
 * Shared data (the model and the item vectors of every track) is read-only
 * after init; each simulator thread has its own scoring scratch (worker);
 * the session's list lives in the caller's per-session state.
 */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "export.h"
#include "rec.h"
#include "topk.h"
#include "twotower.h"

struct nn_data {
	botify_tt model;
	float *items;       /* (N, OUT) item vectors */
	int32_t k;
};

struct nn_worker {
	botify_tt_acts acts; /* one row */
	float *scores;       /* (N) */
	float *heap;         /* (k) selection storage */
	float *ctx;          /* (OUT) */
};

/* Session state: header, then ids[k] (int32) and played[k] (bytes). */
struct nn_state {
	int32_t started;
	int32_t n;          /* list length */
	int32_t pos;        /* next list position to consider */
	int32_t pad;
};

static int32_t *state_ids(struct nn_state *s)
{
	return (int32_t *)(s + 1);
}

static unsigned char *state_played(struct nn_state *s, int32_t k)
{
	return (unsigned char *)(state_ids(s) + k);
}

static void nn_free(botify_rec *r)
{
	struct nn_data *d = r->data;
	if (!d)
		return;
	botify_tt_free(&d->model);
	free(d->items);
	free(d);
	r->data = NULL;
}

static int nn_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
		   botify_err *err)
{
	const botify_world *w = env->world;
	const char *dir = botify_rec_arg(args, "model");
	if (!dir)
		return botify_fail(err, BOTIFY_EINVAL, "nn: needs model=DIR (a directory written by botify train)");
	int64_t k = 100;
	if (botify_rec_arg_long(args, "nn", "k", 1, w->N > 1 ? w->N - 1 : 1, &k, err) < 0)
		return -1;
	if (w->N < 2)
		return botify_fail(err, BOTIFY_EINVAL, "nn: the catalog needs at least 2 tracks");
	struct nn_data *d = calloc(1, sizeof(*d));
	if (!d)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	r->data = d;
	d->k = (int32_t)k;
	if (botify_tt_load(&d->model, dir, err) != 0 ||
	    botify_tt_bind_catalog(&d->model, w->artist, w->N, w->A, dir, err) != 0)
		goto fail;
	d->items = botify_malloc((size_t)w->N * (size_t)d->model.cfg.OUT, sizeof(float), "track vectors", err);
	if (!d->items || botify_export_items(&d->model, w->artist, d->items, err) != 0)
		goto fail;
	r->state_size = sizeof(struct nn_state) + (size_t)k * (sizeof(int32_t) + 1);
	return 0;
fail:
	nn_free(r);
	return botify_err_prefix(err, "nn");
}

static void nn_worker_free(const botify_rec *r, void *worker)
{
	(void)r;
	struct nn_worker *wk = worker;
	botify_tt_acts_free(&wk->acts);
	free(wk->scores);
	free(wk->heap);
	free(wk->ctx);
	free(wk);
}

static int nn_worker_init(const botify_rec *r, void **worker, botify_err *err)
{
	const struct nn_data *d = r->data;
	struct nn_worker *wk = botify_calloc(1, sizeof(*wk), "nn worker", err);
	if (!wk)
		return -1;
	wk->scores = botify_malloc((size_t)d->model.cfg.N, sizeof(float), "nn scores", err);
	wk->heap = botify_malloc((size_t)d->k, sizeof(float), "nn scores", err);
	wk->ctx = botify_malloc((size_t)d->model.cfg.OUT, sizeof(float), "nn context", err);
	if (!wk->scores || !wk->heap || !wk->ctx || botify_tt_acts_init(&wk->acts, &d->model, 1, err) != 0) {
		nn_worker_free(r, wk);
		return -1;
	}
	*worker = wk;
	return 0;
}

/* The session's ranked list for (user, start). */
static void rank(const struct nn_data *d, struct nn_worker *wk, struct nn_state *s,
		 int64_t user, int32_t start)
{
	const botify_tt *m = &d->model;
	int32_t N = m->cfg.N, O = m->cfg.OUT;
	botify_tt_context(m, &wk->acts, 1, &user, &start, wk->ctx);
	/* scores (N) = items (N,OUT) . ctx (OUT):  M = N, N = OUT */
	cblas_sgemv(CblasRowMajor, CblasNoTrans, N, O, 1.0f, d->items, O, wk->ctx, 1, 0.0f,
		    wk->scores, 1);
	botify_topk_select(wk->scores, N, d->k, start, state_ids(s), wk->heap);
	s->n = d->k;
	s->pos = 0;
	s->started = 1;
}

static int nn_recommend(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			int32_t *out, botify_err *err)
{
	(void)err;
	const struct nn_data *d = r->data;
	struct nn_state *s = ctx->state;
	int32_t *ids = state_ids(s);
	unsigned char *played = state_played(s, d->k);
	int known = c->track >= 0 && c->track < d->model.cfg.N;
	if (!s->started) {
		if (!known) { /* no start to rank for: random until the session ends */
			*out = (int32_t)botify_rng_below(ctx->rng, (uint64_t)r->world->N);
			return 0;
		}
		rank(d, ctx->worker, s, c->user, c->track);
	}
	/* the call's track was played: never serve it again */
	for (int32_t j = 0; j < s->n; j++)
		if (ids[j] == c->track)
			played[j] = 1;
	while (s->pos < s->n && played[s->pos])
		s->pos++;
	if (s->pos < s->n) {
		played[s->pos] = 1;
		*out = ids[s->pos++];
	} else {
		*out = (int32_t)botify_rng_below(ctx->rng, (uint64_t)r->world->N);
	}
	return 0;
}

static int nn_end_session(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			  botify_err *err)
{
	(void)c, (void)err;
	memset(ctx->state, 0, r->state_size);
	return 0;
}

const botify_rec_ops botify_rec_nn = {
	.name = "nn",
	.summary = "the trained model: ranked top-k for (user, start track), served in order; else random",
	.keys = "model,k",
	.usage = "nn:model=DIR[,k=100]",
	.init = nn_init,
	.worker_init = nn_worker_init,
	.worker_free = nn_worker_free,
	.recommend = nn_recommend,
	.end_session = nn_end_session,
	.free = nn_free,
};
