/*
 * rec_indexed.c - a uniform track from the user's precomputed list
 * (recommendations.json lines {"user": u, "tracks": [...]}); a user without
 * a list goes to the fallback (fallback=SPEC, default a uniform catalog
 * track).
 */
#include <stdlib.h>

#include "fallback.h"
#include "rec.h"
#include "tracklists.h"

/* user ids beyond this would make the per-user index needlessly large */
#define MAX_USER_ID 100000000

struct indexed {
	botify_tracklists lists;
	botify_fallback fallback;
};

static void indexed_free(botify_rec *r)
{
	struct indexed *d = r->data;
	if (d) {
		botify_tracklists_free(&d->lists);
		botify_fallback_free(&d->fallback);
	}
	free(d);
	r->data = NULL;
}

static int indexed_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
			botify_err *err)
{
	const char *file = botify_rec_arg(args, "file");
	if (!file)
		return botify_fail(err, BOTIFY_EINVAL,
				   "indexed: needs file=recommendations.json (lines {\"user\": u, \"tracks\": [...]})");
	struct indexed *d = calloc(1, sizeof(*d));
	if (!d)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	r->data = d;
	if (botify_tracklists_load(&d->lists, file, "user", "tracks", MAX_USER_ID, env->world->N,
				   err) != 0)
		return botify_err_prefix(err, "indexed");
	if (botify_fallback_init(&d->fallback, "indexed", args, env, 0, err) != 0)
		return -1;
	r->state_size = botify_fallback_state_size(&d->fallback);
	return 0;
}

static int indexed_worker_init(const botify_rec *r, void **worker, botify_err *err)
{
	const struct indexed *d = r->data;
	return botify_fallback_worker_init(&d->fallback, worker, err);
}

static void indexed_worker_free(const botify_rec *r, void *worker)
{
	const struct indexed *d = r->data;
	botify_fallback_worker_free(&d->fallback, worker);
}

static int indexed_recommend(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			     int32_t *out, botify_err *err)
{
	const struct indexed *d = r->data;
	int64_t n;
	const int32_t *list = botify_tracklists_get(&d->lists, c->user, &n);
	if (n == 0)
		return botify_fallback_next(&d->fallback, r, ctx, c, out, err);
	*out = list[botify_rng_below(ctx->rng, (uint64_t)n)];
	return 0;
}

static int indexed_end_session(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			       botify_err *err)
{
	const struct indexed *d = r->data;
	return botify_fallback_last(&d->fallback, ctx, c, err);
}

static int indexed_check_state(const botify_rec *r, const void *state, botify_err *err)
{
	const struct indexed *d = r->data;
	return botify_fallback_check_state(&d->fallback, state, err);
}

static int indexed_worker_check(const botify_rec *r, void *worker, double deadline, botify_err *err)
{
	const struct indexed *d = r->data;
	return botify_fallback_worker_check(&d->fallback, worker, deadline, err);
}

const botify_rec_ops botify_rec_indexed = {
	.name = "indexed",
	.summary = "a uniform track from the user's list in recommendations.json; else the fallback (random)",
	.keys = "file,fallback",
	.usage = "indexed:file=recommendations.json[,fallback=SPEC]",
	.init = indexed_init,
	.worker_init = indexed_worker_init,
	.worker_free = indexed_worker_free,
	.recommend = indexed_recommend,
	.end_session = indexed_end_session,
	.check_state = indexed_check_state,
	.worker_check = indexed_worker_check,
	.free = indexed_free,
};
