/*
 * rec_random.c - a uniform catalog track: the baseline every policy must beat.
 */
#include "rec.h"

static int random_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
		       botify_err *err)
{
	(void)args, (void)env, (void)err;
	r->state_size = 0;
	return 0;
}

static int random_recommend(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			    int32_t *out, botify_err *err)
{
	(void)c, (void)err;
	*out = (int32_t)botify_rng_below(ctx->rng, (uint64_t)r->world->N);
	return 0;
}

const botify_rec_ops botify_rec_random = {
	.name = "random",
	.summary = "a uniform track from the catalog",
	.keys = "",
	.usage = "random",
	.init = random_init,
	.recommend = random_recommend,
};
