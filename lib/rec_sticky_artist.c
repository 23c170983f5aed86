/*
 * rec_sticky_artist.c - a uniform track by the previous track's artist (the
 * previous track itself included, as in the original service).
 *
 *   sticky_artist[:no_replay=1]
 *
 * no_replay=1 draws uniformly among the artist's tracks the session has not
 * played yet (every call's track counts as played, the start included), and
 * only when the session played all of them a uniform track of the artist as
 * without the option. It exists to measure how much of a richer policy's
 * gain is merely not replaying: the simulator scores a replay 0.0. When none
 * of the artist's tracks was played the draw is the one the plain policy
 * makes, so the two differ only where a replay was possible.
 *
 * Session state (no_replay=1 only; plain bytes): the number of tracks played
 * and a ring of the distinct tracks played, one slot per call the session
 * may make up to RING_MAX (longer sessions may replay a track played more
 * than RING_MAX tracks earlier).
 */
#include <string.h>

#include "rec.h"

#define RING_MAX 4096

struct sa_state {
	int32_t n;          /* distinct tracks played; slot n % cap is next */
	int32_t played[];   /* cap slots */
};

/* Slots of the ring: state_size is the only thing init keeps (no shared
 * data), so the capacity is derived from it. */
static int32_t sa_cap(const botify_rec *r)
{
	return (int32_t)((r->state_size - sizeof(struct sa_state)) / sizeof(int32_t));
}

static int sa_played(const struct sa_state *s, int32_t cap, int32_t t)
{
	int32_t n = s->n < cap ? s->n : cap;
	for (int32_t i = 0; i < n; i++)
		if (s->played[i] == t)
			return 1;
	return 0;
}

static int sticky_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
		       botify_err *err)
{
	int64_t no_replay = 0;
	if (botify_rec_arg_long(args, "sticky_artist", "no_replay", 0, 1, &no_replay, err) < 0)
		return -1;
	r->state_size = 0;
	if (no_replay) {
		/* the start plus one track per call the caller allows */
		int64_t cap = env->max_steps > 0 ? env->max_steps + 1 : RING_MAX;
		if (cap > RING_MAX)
			cap = RING_MAX;
		r->state_size = sizeof(struct sa_state) + (size_t)cap * sizeof(int32_t);
	}
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
	const int32_t *list = w->artist_tracks + w->artist_off[a];
	int64_t n = w->artist_off[a + 1] - w->artist_off[a];
	if (r->state_size) {
		struct sa_state *s = ctx->state;
		int32_t cap = sa_cap(r);
		if (!sa_played(s, cap, c->track))
			s->played[s->n++ % cap] = c->track;
		int64_t fresh = 0;
		for (int64_t i = 0; i < n; i++)
			fresh += !sa_played(s, cap, list[i]);
		if (fresh > 0) {
			/* the j-th unplayed track: with nothing played, list[j] */
			uint64_t j = botify_rng_below(ctx->rng, (uint64_t)fresh);
			for (int64_t i = 0; i < n; i++)
				if (!sa_played(s, cap, list[i]) && j-- == 0) {
					*out = list[i];
					return 0;
				}
		}
	}
	*out = botify_rec_pick(list, n, ctx->rng, w->N);
	return 0;
}

static int sticky_end_session(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			      botify_err *err)
{
	(void)c, (void)err;
	if (r->state_size)
		memset(ctx->state, 0, r->state_size);
	return 0;
}

const botify_rec_ops botify_rec_sticky_artist = {
	.name = "sticky_artist",
	.summary = "a uniform track by the previous track's artist",
	.keys = "no_replay",
	.usage = "sticky_artist[:no_replay=1]",
	.init = sticky_init,
	.recommend = sticky_recommend,
	.end_session = sticky_end_session,
};
