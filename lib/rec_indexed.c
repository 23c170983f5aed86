/*
 * rec_indexed.c - a uniform track from the user's precomputed list
 * (recommendations.json lines {"user": u, "tracks": [...]}); a user without
 * a list gets a uniform catalog track.
 */
#include <stdlib.h>

#include "rec.h"
#include "tracklists.h"

/* user ids beyond this would make the per-user index needlessly large */
#define MAX_USER_ID 100000000

static int indexed_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
			botify_err *err)
{
	const char *file = botify_rec_arg(args, "file");
	if (!file)
		return botify_fail(err, BOTIFY_EINVAL,
				   "indexed: needs file=recommendations.json (lines {\"user\": u, \"tracks\": [...]})");
	botify_tracklists *l = calloc(1, sizeof(*l));
	if (!l)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	if (botify_tracklists_load(l, file, "user", "tracks", MAX_USER_ID, env->world->N, err) != 0) {
		free(l);
		return botify_err_prefix(err, "indexed");
	}
	r->data = l;
	r->state_size = 0;
	return 0;
}

static int indexed_recommend(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			     int32_t *out, botify_err *err)
{
	(void)err;
	int64_t n;
	const int32_t *list = botify_tracklists_get(r->data, c->user, &n);
	*out = botify_rec_pick(list, n, ctx->rng, r->world->N);
	return 0;
}

static void indexed_free(botify_rec *r)
{
	if (r->data)
		botify_tracklists_free(r->data);
	free(r->data);
	r->data = NULL;
}

const botify_rec_ops botify_rec_indexed = {
	.name = "indexed",
	.summary = "a uniform track from the user's list in recommendations.json; else random",
	.keys = "file",
	.usage = "indexed:file=recommendations.json",
	.init = indexed_init,
	.recommend = indexed_recommend,
	.free = indexed_free,
};
