/*
 * rec_list.c - the list recommenders: a uniform track from a precomputed
 * list, looked up by a key of the call; a key without a list goes to the
 * fallback (fallback=SPEC, default a uniform catalog track).
 *
 *   indexed     the user's list in recommendations.json
 *               (lines {"user": u, "tracks": [...]})
 *   contextual  the previous track's list in tracks_with_recs.json
 *               (tracks.json lines plus "recommendations")
 *
 * The two differ only in the file's fields and in which id of the call is
 * the key, so they share one implementation and differ by a list_kind.
 */
#include <stdlib.h>

#include "fallback.h"
#include "rec.h"
#include "tracklists.h"

/* user ids beyond this would make the per-user index needlessly large */
#define MAX_USER_ID 100000000

enum list_key { KEY_USER, KEY_TRACK };

struct list_kind {
	const char *name;
	const char *needs;        /* what file= must be, for the missing-file error */
	const char *key_field, *list_field;
	enum list_key key;
};

static const struct list_kind indexed_kind = {
	"indexed", "recommendations.json (lines {\"user\": u, \"tracks\": [...]})", "user", "tracks",
	KEY_USER,
};
static const struct list_kind contextual_kind = {
	"contextual", "tracks_with_recs.json (tracks.json lines with \"recommendations\")", "track",
	"recommendations", KEY_TRACK,
};

struct list_rec {
	const struct list_kind *kind;
	botify_tracklists lists;
	botify_fallback fallback;
};

static void list_free(botify_rec *r)
{
	struct list_rec *d = r->data;
	if (d) {
		botify_tracklists_free(&d->lists);
		botify_fallback_free(&d->fallback);
	}
	free(d);
	r->data = NULL;
}

static int list_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
		     const struct list_kind *kind, botify_err *err)
{
	const char *file = botify_rec_arg(args, "file");
	if (!file)
		return botify_fail(err, BOTIFY_EINVAL, "%s: needs file=%s", kind->name, kind->needs);
	struct list_rec *d = calloc(1, sizeof(*d));
	if (!d)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	r->data = d;
	d->kind = kind;
	int64_t max_key = kind->key == KEY_USER ? MAX_USER_ID : env->world->N - 1;
	if (botify_tracklists_load(&d->lists, file, kind->key_field, kind->list_field, max_key,
				   env->world->N, err) != 0)
		return botify_err_prefix(err, "%s", kind->name);
	if (botify_fallback_init(&d->fallback, kind->name, args, env, 0, err) != 0)
		return -1;
	r->state_size = botify_fallback_state_size(&d->fallback);
	return 0;
}

static int indexed_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
			botify_err *err)
{
	return list_init(r, args, env, &indexed_kind, err);
}

static int contextual_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
			   botify_err *err)
{
	return list_init(r, args, env, &contextual_kind, err);
}

static int list_worker_init(const botify_rec *r, void **worker, botify_err *err)
{
	const struct list_rec *d = r->data;
	return botify_fallback_worker_init(&d->fallback, worker, err);
}

static void list_worker_free(const botify_rec *r, void *worker)
{
	const struct list_rec *d = r->data;
	botify_fallback_worker_free(&d->fallback, worker);
}

static int list_recommend(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			  int32_t *out, botify_err *err)
{
	const struct list_rec *d = r->data;
	int64_t n;
	const int32_t *list = botify_tracklists_get(&d->lists,
						    d->kind->key == KEY_USER ? c->user : c->track, &n);
	if (n == 0)
		return botify_fallback_next(&d->fallback, r, ctx, c, out, err);
	*out = list[botify_rng_below(ctx->rng, (uint64_t)n)];
	return 0;
}

static int list_end_session(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			    botify_err *err)
{
	const struct list_rec *d = r->data;
	return botify_fallback_last(&d->fallback, ctx, c, err);
}

static int list_check_state(const botify_rec *r, const void *state, botify_err *err)
{
	const struct list_rec *d = r->data;
	return botify_fallback_check_state(&d->fallback, state, err);
}

static int list_worker_check(const botify_rec *r, void *worker, double deadline, botify_err *err)
{
	const struct list_rec *d = r->data;
	return botify_fallback_worker_check(&d->fallback, worker, deadline, err);
}

const botify_rec_ops botify_rec_indexed = {
	.name = "indexed",
	.summary = "a uniform track from the user's list in recommendations.json; else the fallback (random)",
	.keys = "file,fallback",
	.usage = "indexed:file=recommendations.json[,fallback=SPEC]",
	.init = indexed_init,
	.worker_init = list_worker_init,
	.worker_free = list_worker_free,
	.recommend = list_recommend,
	.end_session = list_end_session,
	.check_state = list_check_state,
	.worker_check = list_worker_check,
	.free = list_free,
};

const botify_rec_ops botify_rec_contextual = {
	.name = "contextual",
	.summary = "a uniform track from the previous track's list in tracks_with_recs.json; else the fallback (random)",
	.keys = "file,fallback",
	.usage = "contextual:file=tracks_with_recs.json[,fallback=SPEC]",
	.init = contextual_init,
	.worker_init = list_worker_init,
	.worker_free = list_worker_free,
	.recommend = list_recommend,
	.end_session = list_end_session,
	.check_state = list_check_state,
	.worker_check = list_worker_check,
	.free = list_free,
};
