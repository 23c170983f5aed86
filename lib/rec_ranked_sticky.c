/*
 * rec_ranked_sticky.c - a ranked list served in order, with an
 * artist-statistics fallback.
 *
 *   ranked_sticky:model=DIR|users=FILE,recs=FILE[,t=0.1,p=0.3,k=100]
 *
 * Primary source: a ranked list served in rank order (not shuffled),
 * skipping tracks the session played:
 *   model=DIR   the list nn serves: the model's top k for (user, start
 *               track), computed at the session's first call (ranker.h);
 *   users=FILE  the user's list in recommendations.json (what export
 *               --user-recs writes, the course's "DSSM" lists), first k.
 * The session counts the tracks played per artist (the start included).
 * Once a call reports a listen time below t for a track of the primary
 * source (or the list runs out), the primary source is abandoned for the
 * rest of the session; from then on every call plays, with probability p,
 * a uniform track by the session's most-played artist (ties: the artist
 * played first in the session, so the start's artist wins a tie), and
 * otherwise a uniform track from the previous track's list in recs=FILE
 * (tracks_with_recs.json, as contextual; a track without a list gets a
 * uniform catalog track).
 *
 * Session state (plain bytes): the counters, the artist table and the
 * ranked list. The artist table has ARTISTS slots; a session that meets
 * more artists replaces the least-played one (the latest of equals), which
 * can only forget artists played once more than the newest.
 */
#include <stdlib.h>
#include <string.h>

#include "ranker.h"
#include "rec.h"
#include "tracklists.h"

#define ARTISTS 32
#define MAX_USER_ID 100000000

struct rs_data {
	botify_ranker ranker;       /* model= (ranker.model.mem == NULL otherwise) */
	botify_tracklists users;    /* users= */
	botify_tracklists recs;     /* the contextual fallback */
	int use_model;
	int32_t k;
	double t, p;
};

struct rs_artist {
	int32_t artist, count;
};

struct rs_state {
	int32_t started;
	int32_t abandoned;
	int32_t n_artists;
	int32_t pad;
	struct rs_artist art[ARTISTS];  /* in the order first played */
	botify_ranklist list;           /* followed by ids[k] and played[k] */
};

static void rs_free(botify_rec *r)
{
	struct rs_data *d = r->data;
	if (!d)
		return;
	botify_ranker_free(&d->ranker);
	botify_tracklists_free(&d->users);
	botify_tracklists_free(&d->recs);
	free(d);
	r->data = NULL;
}

static int rs_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
		   botify_err *err)
{
	const botify_world *w = env->world;
	const char *model = botify_rec_arg(args, "model"), *users = botify_rec_arg(args, "users");
	const char *recs = botify_rec_arg(args, "recs");
	if (!model == !users)
		return botify_fail(err, BOTIFY_EINVAL,
				   "ranked_sticky: give model=DIR (a model's list for user and start) or users=FILE (recommendations.json), one of them");
	if (!recs)
		return botify_fail(err, BOTIFY_EINVAL,
				   "ranked_sticky: needs recs=tracks_with_recs.json (the contextual fallback)");
	if (w->N < 2)
		return botify_fail(err, BOTIFY_EINVAL, "ranked_sticky: the catalog needs at least 2 tracks");
	int64_t k = w->N > 101 ? 100 : w->N - 1;
	double t = 0.1, p = 0.3;
	if (botify_rec_arg_long(args, "ranked_sticky", "k", 1, w->N - 1, &k, err) < 0 ||
	    botify_rec_arg_double(args, "ranked_sticky", "t", 0, 1, &t, err) < 0 ||
	    botify_rec_arg_double(args, "ranked_sticky", "p", 0, 1, &p, err) < 0)
		return -1;
	struct rs_data *d = calloc(1, sizeof(*d));
	if (!d)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	r->data = d;
	d->k = (int32_t)k;
	d->t = t;
	d->p = p;
	d->use_model = model != NULL;
	if (model && botify_ranker_load(&d->ranker, model, w, d->k, err) != 0)
		return botify_err_prefix(err, "ranked_sticky");
	if (users && botify_tracklists_load(&d->users, users, "user", "tracks", MAX_USER_ID, w->N,
					    err) != 0)
		return botify_err_prefix(err, "ranked_sticky");
	if (botify_tracklists_load(&d->recs, recs, "track", "recommendations", w->N - 1, w->N, err) != 0)
		return botify_err_prefix(err, "ranked_sticky");
	r->state_size = sizeof(struct rs_state) - sizeof(botify_ranklist) + botify_ranklist_size(d->k);
	return 0;
}

static int rs_worker_init(const botify_rec *r, void **worker, botify_err *err)
{
	const struct rs_data *d = r->data;
	*worker = NULL;
	if (!d->use_model)
		return 0;
	botify_ranker_scratch *s = botify_calloc(1, sizeof(*s), "ranked_sticky worker", err);
	if (!s)
		return -1;
	if (botify_ranker_scratch_init(s, &d->ranker, err) != 0) {
		free(s);
		return -1;
	}
	*worker = s;
	return 0;
}

static void rs_worker_free(const botify_rec *r, void *worker)
{
	(void)r;
	if (worker)
		botify_ranker_scratch_free(worker);
	free(worker);
}

/* One more play of artist a. */
static void count_artist(struct rs_state *s, int32_t a)
{
	for (int32_t i = 0; i < s->n_artists; i++)
		if (s->art[i].artist == a) {
			s->art[i].count++;
			return;
		}
	if (s->n_artists == ARTISTS) {
		/* full: the least played goes, the latest of equals; the rest
		 * close ranks so slots stay in first-played order for ties */
		int32_t gone = 0;
		for (int32_t i = 1; i < ARTISTS; i++)
			if (s->art[i].count <= s->art[gone].count)
				gone = i;
		memmove(&s->art[gone], &s->art[gone + 1],
			(size_t)(ARTISTS - 1 - gone) * sizeof(s->art[0]));
		s->n_artists--;
	}
	s->art[s->n_artists++] = (struct rs_artist){ a, 1 };
}

/* The most-played artist, the first played of equals; -1 when none. */
static int32_t top_artist(const struct rs_state *s)
{
	int32_t best = -1;
	for (int32_t i = 0; i < s->n_artists; i++)
		if (best < 0 || s->art[i].count > s->art[best].count)
			best = i;
	return best < 0 ? -1 : s->art[best].artist;
}

static int rs_recommend(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			int32_t *out, botify_err *err)
{
	(void)err;
	const struct rs_data *d = r->data;
	const botify_world *w = r->world;
	struct rs_state *s = ctx->state;
	int known = c->track >= 0 && c->track < w->N;
	if (!s->started) {
		s->started = 1;
		if (d->use_model && known) {
			botify_ranker_rank(&d->ranker, ctx->worker, c->user, c->track, &s->list);
		} else if (!d->use_model) {
			int64_t n;
			const int32_t *list = botify_tracklists_get(&d->users, c->user, &n);
			botify_ranklist_set(&s->list, d->k, list, n);
		} /* else: no start to rank for; the empty list abandons at once */
	} else if (!s->abandoned && c->time < d->t) {
		s->abandoned = 1; /* the primary source's track failed */
	}
	if (known) {
		count_artist(s, w->artist[c->track]);
		botify_ranklist_mark(&s->list, d->k, c->track);
	}
	if (!s->abandoned) {
		int32_t t = botify_ranklist_next(&s->list, d->k);
		if (t >= 0) {
			*out = t;
			return 0;
		}
		s->abandoned = 1; /* the list ran out */
	}
	int32_t a = top_artist(s);
	if (a >= 0 && botify_rng_uniform(ctx->rng) < d->p) {
		int64_t n = w->artist_off[a + 1] - w->artist_off[a];
		*out = botify_rec_pick(w->artist_tracks + w->artist_off[a], n, ctx->rng, w->N);
		return 0;
	}
	int64_t n;
	const int32_t *list = botify_tracklists_get(&d->recs, c->track, &n);
	*out = botify_rec_pick(list, n, ctx->rng, w->N);
	return 0;
}

static int rs_end_session(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			  botify_err *err)
{
	(void)c, (void)err;
	memset(ctx->state, 0, r->state_size);
	return 0;
}

static int rs_check_state(const botify_rec *r, const void *state, botify_err *err)
{
	const struct rs_data *d = r->data;
	const struct rs_state *s = state;
	if ((s->started != 0 && s->started != 1) || (s->abandoned != 0 && s->abandoned != 1))
		return botify_fail(err, BOTIFY_EFORMAT, "session flags %d, %d (not 0 or 1)", s->started,
				   s->abandoned);
	if (s->n_artists < 0 || s->n_artists > ARTISTS)
		return botify_fail(err, BOTIFY_EFORMAT, "%d artists in the session (at most %d)",
				   s->n_artists, ARTISTS);
	for (int32_t i = 0; i < s->n_artists; i++)
		if (s->art[i].artist < 0 || s->art[i].artist >= r->world->A || s->art[i].count < 1)
			return botify_fail(err, BOTIFY_EFORMAT, "session artist %d is artist %d played %d times "
					   "(%d artists)", i, s->art[i].artist, s->art[i].count, r->world->A);
	return botify_ranklist_check(&s->list, d->k, r->world->N, err);
}

const botify_rec_ops botify_rec_ranked_sticky = {
	.name = "ranked_sticky",
	.summary = "a ranked list in order (model's for user+start, or the user's) until a listen < t; then p: the session's top artist, else contextual",
	.keys = "model,users,recs,t,p,k",
	.usage = "ranked_sticky:model=DIR|users=recommendations.json,recs=tracks_with_recs.json[,t=0.1,p=0.3,k=100]",
	.init = rs_init,
	.worker_init = rs_worker_init,
	.worker_free = rs_worker_free,
	.recommend = rs_recommend,
	.end_session = rs_end_session,
	.check_state = rs_check_state,
	.free = rs_free,
};
