/*
 * fallback.c - the child recommender of indexed and contextual.
 */
#include "fallback.h"

#include <string.h>

int botify_fallback_init(botify_fallback *f, const char *owner, const botify_rec_args *args,
			 const botify_rec_env *env, size_t state_off, botify_err *err)
{
	memset(f, 0, sizeof(*f));
	f->state_off = state_off;
	const char *spec = botify_rec_arg(args, "fallback");
	if (!spec)
		return 0;
	if (botify_rec_create(&f->rec, spec, env, err) != 0)
		return botify_err_prefix(err, "%s: fallback", owner);
	return 0;
}

void botify_fallback_free(botify_fallback *f)
{
	if (f->rec.ops)
		botify_rec_free(&f->rec);
	memset(f, 0, sizeof(*f));
}

int botify_fallback_worker_init(const botify_fallback *f, void **worker, botify_err *err)
{
	*worker = NULL;
	return f->rec.ops ? botify_rec_worker_init(&f->rec, worker, err) : 0;
}

void botify_fallback_worker_free(const botify_fallback *f, void *worker)
{
	if (f->rec.ops)
		botify_rec_worker_free(&f->rec, worker);
}

static botify_rec_ctx child_ctx(const botify_fallback *f, const botify_rec_ctx *ctx)
{
	return (botify_rec_ctx){ ctx->worker, (char *)ctx->state + f->state_off, ctx->rng };
}

int botify_fallback_next(const botify_fallback *f, const botify_rec *parent, botify_rec_ctx *ctx,
			 const botify_rec_call *c, int32_t *out, botify_err *err)
{
	if (!f->rec.ops) {
		*out = (int32_t)botify_rng_below(ctx->rng, (uint64_t)parent->world->N);
		return 0;
	}
	botify_rec_ctx cc = child_ctx(f, ctx);
	return botify_rec_next(&f->rec, &cc, c, out, err);
}

int botify_fallback_worker_check(const botify_fallback *f, void *worker, double deadline,
				 botify_err *err)
{
	return f->rec.ops ? botify_rec_worker_check(&f->rec, worker, deadline, err) : 0;
}

int botify_fallback_check_state(const botify_fallback *f, const void *state, botify_err *err)
{
	if (!f->rec.ops)
		return 0;
	return botify_rec_check_state(&f->rec, (const char *)state + f->state_off, err);
}

int botify_fallback_last(const botify_fallback *f, botify_rec_ctx *ctx, const botify_rec_call *c,
			 botify_err *err)
{
	if (!f->rec.ops)
		return 0;
	botify_rec_ctx cc = child_ctx(f, ctx);
	return botify_rec_last(&f->rec, &cc, c, err);
}
