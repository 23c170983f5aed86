/*
 * rec_contextual.c - a uniform track from the previous track's list in
 * tracks_with_recs.json (tracks.json lines plus "recommendations"); a track
 * without a list gets a uniform catalog track.
 */
#include <stdlib.h>

#include "rec.h"
#include "tracklists.h"

static int contextual_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
			   botify_err *err)
{
	const char *file = botify_rec_arg(args, "file");
	if (!file)
		return botify_fail(err, BOTIFY_EINVAL,
				   "contextual: needs file=tracks_with_recs.json (tracks.json lines with \"recommendations\")");
	botify_tracklists *l = calloc(1, sizeof(*l));
	if (!l)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	if (botify_tracklists_load(l, file, "track", "recommendations", env->world->N - 1,
				   env->world->N, err) != 0) {
		free(l);
		return botify_err_prefix(err, "contextual");
	}
	r->data = l;
	r->state_size = 0;
	return 0;
}

static int contextual_recommend(const botify_rec *r, botify_rec_ctx *ctx,
				const botify_rec_call *c, int32_t *out, botify_err *err)
{
	(void)err;
	int64_t n;
	const int32_t *list = botify_tracklists_get(r->data, c->track, &n);
	*out = botify_rec_pick(list, n, ctx->rng, r->world->N);
	return 0;
}

static void contextual_free(botify_rec *r)
{
	if (r->data)
		botify_tracklists_free(r->data);
	free(r->data);
	r->data = NULL;
}

const botify_rec_ops botify_rec_contextual = {
	.name = "contextual",
	.summary = "a uniform track from the previous track's list in tracks_with_recs.json; else random",
	.keys = "file",
	.usage = "contextual:file=tracks_with_recs.json",
	.init = contextual_init,
	.recommend = contextual_recommend,
	.free = contextual_free,
};
