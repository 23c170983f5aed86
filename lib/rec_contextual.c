/*
 * rec_contextual.c - a uniform track from the previous track's list in
 * tracks_with_recs.json (tracks.json lines plus "recommendations"); a track
 * without a list goes to the fallback (fallback=SPEC, default a uniform
 * catalog track).
 */
#include <stdlib.h>

#include "fallback.h"
#include "rec.h"
#include "tracklists.h"

struct contextual {
	botify_tracklists lists;
	botify_fallback fallback;
};

static void contextual_free(botify_rec *r)
{
	struct contextual *d = r->data;
	if (d) {
		botify_tracklists_free(&d->lists);
		botify_fallback_free(&d->fallback);
	}
	free(d);
	r->data = NULL;
}

static int contextual_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
			   botify_err *err)
{
	const char *file = botify_rec_arg(args, "file");
	if (!file)
		return botify_fail(err, BOTIFY_EINVAL,
				   "contextual: needs file=tracks_with_recs.json (tracks.json lines with \"recommendations\")");
	struct contextual *d = calloc(1, sizeof(*d));
	if (!d)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	r->data = d;
	if (botify_tracklists_load(&d->lists, file, "track", "recommendations", env->world->N - 1,
				   env->world->N, err) != 0)
		return botify_err_prefix(err, "contextual");
	if (botify_fallback_init(&d->fallback, "contextual", args, env, 0, err) != 0)
		return -1;
	r->state_size = botify_fallback_state_size(&d->fallback);
	return 0;
}

static int contextual_worker_init(const botify_rec *r, void **worker, botify_err *err)
{
	const struct contextual *d = r->data;
	return botify_fallback_worker_init(&d->fallback, worker, err);
}

static void contextual_worker_free(const botify_rec *r, void *worker)
{
	const struct contextual *d = r->data;
	botify_fallback_worker_free(&d->fallback, worker);
}

static int contextual_recommend(const botify_rec *r, botify_rec_ctx *ctx,
				const botify_rec_call *c, int32_t *out, botify_err *err)
{
	const struct contextual *d = r->data;
	int64_t n;
	const int32_t *list = botify_tracklists_get(&d->lists, c->track, &n);
	if (n == 0)
		return botify_fallback_next(&d->fallback, r, ctx, c, out, err);
	*out = list[botify_rng_below(ctx->rng, (uint64_t)n)];
	return 0;
}

static int contextual_end_session(const botify_rec *r, botify_rec_ctx *ctx,
				  const botify_rec_call *c, botify_err *err)
{
	const struct contextual *d = r->data;
	return botify_fallback_last(&d->fallback, ctx, c, err);
}

static int contextual_check_state(const botify_rec *r, const void *state, botify_err *err)
{
	const struct contextual *d = r->data;
	return botify_fallback_check_state(&d->fallback, state, err);
}

static int contextual_worker_check(const botify_rec *r, void *worker, double deadline, botify_err *err)
{
	const struct contextual *d = r->data;
	return botify_fallback_worker_check(&d->fallback, worker, deadline, err);
}

const botify_rec_ops botify_rec_contextual = {
	.name = "contextual",
	.summary = "a uniform track from the previous track's list in tracks_with_recs.json; else the fallback (random)",
	.keys = "file,fallback",
	.usage = "contextual:file=tracks_with_recs.json[,fallback=SPEC]",
	.init = contextual_init,
	.worker_init = contextual_worker_init,
	.worker_free = contextual_worker_free,
	.recommend = contextual_recommend,
	.end_session = contextual_end_session,
	.check_state = contextual_check_state,
	.worker_check = contextual_worker_check,
	.free = contextual_free,
};
