/*
 * rec_sticky_artist.c - a uniform track by the previous track's artist (the
 * previous track itself included, as in the original service).
 */
#include "rec.h"

static int sticky_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
		       botify_err *err)
{
	(void)args, (void)env, (void)err;
	r->state_size = 0;
	return 0;
}

static int sticky_recommend(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			    int32_t *out, botify_err *err)
{
	(void)err;
	const botify_world *w = r->world;
	if (c->track < 0 || c->track >= w->N) { /* an unknown track: nothing to stick to */
		*out = (int32_t)botify_rng_below(ctx->rng, (uint64_t)w->N);
		return 0;
	}
	int32_t a = w->artist[c->track];
	int64_t n = w->artist_off[a + 1] - w->artist_off[a];
	*out = botify_rec_pick(w->artist_tracks + w->artist_off[a], n, ctx->rng, w->N);
	return 0;
}

const botify_rec_ops botify_rec_sticky_artist = {
	.name = "sticky_artist",
	.summary = "a uniform track by the previous track's artist",
	.keys = "",
	.usage = "sticky_artist",
	.init = sticky_init,
	.recommend = sticky_recommend,
};
