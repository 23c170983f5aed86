/*
 * rec_nn.c - the trained model as a recommender (the role the Flask service
 * and Redis played in the original): at a session's first call it scores
 * every track for (user, start track) with one sgemv, keeps the ranked
 * top-k in the session state, and serves that list in order, skipping
 * tracks already played in the session; when the list runs out it falls
 * back to a uniform track. Users the model did not train on use the mean
 * user embedding.
 *
 * Shared data (the model and the item vectors of every track: a
 * botify_ranker) is read-only after init; each simulator thread has its own
 * scoring scratch (worker); the session's list lives in the caller's
 * per-session state.
 */
#include <stdlib.h>
#include <string.h>

#include "ranker.h"
#include "rec.h"

/* Session state: header, then the ranked list (see ranker.h). */
struct nn_state {
	int32_t started;
	int32_t pad;
	botify_ranklist list;  /* followed by ids[k] and played[k] */
};

static void nn_free(botify_rec *r)
{
	botify_ranker *d = r->data;
	if (!d)
		return;
	botify_ranker_free(d);
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
	int64_t k = w->N > 101 ? 100 : w->N - 1; /* 100, or the whole catalog but the start */
	if (botify_rec_arg_long(args, "nn", "k", 1, w->N > 1 ? w->N - 1 : 1, &k, err) < 0)
		return -1;
	if (w->N < 2)
		return botify_fail(err, BOTIFY_EINVAL, "nn: the catalog needs at least 2 tracks");
	botify_ranker *d = calloc(1, sizeof(*d));
	if (!d)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	if (botify_ranker_load(d, dir, w, (int32_t)k, err) != 0) {
		free(d);
		return botify_err_prefix(err, "nn");
	}
	r->data = d;
	r->state_size = sizeof(struct nn_state) + botify_ranklist_size((int32_t)k) - sizeof(botify_ranklist);
	return 0;
}

static void nn_worker_free(const botify_rec *r, void *worker)
{
	(void)r;
	botify_ranker_scratch_free(worker);
	free(worker);
}

static int nn_worker_init(const botify_rec *r, void **worker, botify_err *err)
{
	botify_ranker_scratch *s = botify_calloc(1, sizeof(*s), "nn worker", err);
	if (!s)
		return -1;
	if (botify_ranker_scratch_init(s, r->data, err) != 0) {
		free(s);
		return -1;
	}
	*worker = s;
	return 0;
}

static int nn_recommend(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			int32_t *out, botify_err *err)
{
	(void)err;
	const botify_ranker *d = r->data;
	struct nn_state *s = ctx->state;
	int known = c->track >= 0 && c->track < d->model.cfg.N;
	if (!s->started) {
		if (!known) { /* no start to rank for: random until a known track comes */
			*out = (int32_t)botify_rng_below(ctx->rng, (uint64_t)r->world->N);
			return 0;
		}
		botify_ranker_rank(d, ctx->worker, c->user, c->track, &s->list);
		s->started = 1;
	}
	/* the call's track was played: never serve it again */
	botify_ranklist_mark(&s->list, d->k, c->track);
	int32_t t = botify_ranklist_next(&s->list, d->k);
	*out = t >= 0 ? t : (int32_t)botify_rng_below(ctx->rng, (uint64_t)r->world->N);
	return 0;
}

static int nn_end_session(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			  botify_err *err)
{
	(void)c, (void)err;
	memset(ctx->state, 0, r->state_size);
	return 0;
}

static int nn_check_state(const botify_rec *r, const void *state, botify_err *err)
{
	const botify_ranker *d = r->data;
	const struct nn_state *s = state;
	if (s->started != 0 && s->started != 1)
		return botify_fail(err, BOTIFY_EFORMAT, "session flag 'started' is %d", s->started);
	return botify_ranklist_check(&s->list, d->k, r->world->N, err);
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
	.check_state = nn_check_state,
	.free = nn_free,
};
