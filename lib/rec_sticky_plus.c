/*
 * rec_sticky_plus.c - sticky_artist that knows what the user
 * disliked and liked in the logs, mixes in contextual picks, and gives up
 * on the artist after k misses in a row.
 *
 *   sticky_plus:dislikes=LOG[,k=3,recs=FILE,mix=0.3,miss=0.2]
 *
 * At init the logs (dislikes=; several files as a quoted comma list,
 * dislikes='a.jsonl.gz,b.jsonl') give, for every (user, track) they show,
 * the track's best listen time for that user: a row's previous track and
 * its time, "last" rows and session starts (logged as 1.0) included. The
 * best time, not the mean, because the simulator logs 0.0 for any replay
 * within a session and discounts an artist's later tracks, whatever the
 * user's taste: a track is disliked when no listen reached DISLIKE (every
 * one <= 0.2), liked when one reached LIKE (>= 0.8). Kept per user as two
 * sorted arrays (CSR over the world's users; binary search): memory in
 * proportion to the distinct (user, track) pairs, which also bounds the
 * buffer used while reading.
 *
 * Each call picks from one source:
 *   sticky       the previous track's artist's tracks;
 *   contextual   the previous track's list in recs= (tracks_with_recs.json);
 *                without recs=, or without a list, the user's liked tracks;
 *                else a uniform catalog track;
 * Within a source a disliked track is never picked, nor a track the session
 * already played (a replay is always 0.0); liked tracks are preferred (a
 * uniform pick among the liked candidates if any, else among the rest).
 * A source with no candidate left hands over to the next one
 * (sticky -> contextual -> liked -> uniform, up to 16 draws avoiding
 * dislikes and replays).
 * Policy: with probability mix a contextual pick, otherwise a sticky one.
 * A miss is a listen time below miss (the first call's start does not
 * count); after k misses in a row the session switches to contextual picks
 * for good.
 *
 * Session state (plain bytes): counters and a ring of the last RING tracks
 * played.
 *
 * NEEDSWORK: a session longer than RING (64) tracks forgets its oldest
 * tracks and may replay one, which the simulator scores 0.0. A set sized to
 * the session (or a per-session bitmap over the catalog) would remove the
 * limit at the cost of variable-size session state, which the service's
 * fixed-size session records cannot hold today.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "rec.h"
#include "tracklists.h"

#define RING 64
#define LIKE 0.8f
#define DISLIKE 0.2f
#define RANDOM_DRAWS 16

struct sp_data {
	int32_t U;
	int64_t *dis_off, *like_off;  /* (U + 1) */
	int32_t *dis, *like;          /* each user's tracks, ascending */
	botify_tracklists recs;
	int has_recs;
	int64_t k;
	double mix, miss;
	int64_t n_pairs;              /* distinct (user, track) pairs read */
};

struct sp_state {
	int32_t started;
	int32_t misses;     /* in a row */
	int32_t switched;   /* contextual for good */
	int32_t n_played;
	int32_t played[RING];
};

/* (user, track) -> best time, while reading */
struct ut {
	uint64_t key;       /* user << 32 | track */
	float time;
};

static int by_key(const void *pa, const void *pb)
{
	const struct ut *a = pa, *b = pb;
	return (a->key > b->key) - (a->key < b->key);
}

/* Sorts v[0..n) and keeps one entry per key with the best time; returns
 * the new n. */
static size_t collapse(struct ut *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), by_key);
	size_t j = 0;
	for (size_t i = 1; i < n; i++) {
		if (v[i].key == v[j].key) {
			if (v[i].time > v[j].time)
				v[j].time = v[i].time;
		} else {
			v[++j] = v[i];
		}
	}
	return j + 1;
}

static int read_log(struct ut **v, size_t *n, size_t *cap, const char *path, int32_t U, int32_t N,
		    botify_err *err)
{
	botify_eventlog_reader r;
	if (botify_eventlog_open(&r, path, NULL, err) != 0)
		return -1;
	botify_event e;
	int rc;
	while ((rc = botify_eventlog_next(&r, &e, err)) == 1) {
		if (e.user < 0 || e.user >= U) {
			rc = botify_fail(err, BOTIFY_ERANGE, "%s:%zu: user %lld out of range (the world has %d users)",
					 path, r.in.lineno, (long long)e.user, U);
			break;
		}
		if (e.track < 0 || e.track >= N) {
			rc = botify_fail(err, BOTIFY_ERANGE, "%s:%zu: track %d out of range (catalog has %d)",
					 path, r.in.lineno, e.track, N);
			break;
		}
		if (*n == *cap) {
			/* collapse first: the buffer only grows with distinct pairs */
			*n = collapse(*v, *n);
			if (*n > *cap / 2 && BOTIFY_ALLOC_GROW(*v, 2 * *n, *cap, "dislikes", err)) {
				rc = -1;
				break;
			}
		}
		(*v)[(*n)++] = (struct ut){ (uint64_t)e.user << 32 | (uint32_t)e.track, (float)e.time };
	}
	botify_eventlog_close(&r);
	return rc < 0 ? -1 : 0;
}

/* CSR of the tracks whose best time passes keep(), per user. */
static int build_sets(struct sp_data *d, const struct ut *v, size_t n, int like, botify_err *err)
{
	int64_t *off = botify_calloc((size_t)d->U + 1, sizeof(int64_t), "dislikes", err);
	if (!off)
		return -1;
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (like ? v[i].time >= LIKE : v[i].time <= DISLIKE) {
			off[(v[i].key >> 32) + 1]++;
			m++;
		}
	for (int32_t u = 0; u < d->U; u++)
		off[u + 1] += off[u];
	int32_t *t = botify_malloc(m ? m : 1, sizeof(int32_t), "dislikes", err);
	if (!t) {
		free(off);
		return -1;
	}
	/* v is sorted by (user, track): each user's tracks come out ascending */
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (like ? v[i].time >= LIKE : v[i].time <= DISLIKE)
			t[j++] = (int32_t)(uint32_t)v[i].key;
	if (like) {
		d->like_off = off;
		d->like = t;
	} else {
		d->dis_off = off;
		d->dis = t;
	}
	return 0;
}

static int load_taste(struct sp_data *d, const char *logs, const botify_world *w, botify_err *err)
{
	size_t n = 0, cap = 1 << 16;
	struct ut *v = botify_malloc(cap, sizeof(*v), "dislikes", err);
	char *list = strdup(logs);
	int rc = -1;
	if (!v || !list) {
		if (!list)
			botify_fail(err, BOTIFY_ENOMEM, "out of memory");
		goto out;
	}
	for (char *p = list, *next; p; p = next) {
		next = strchr(p, ',');
		if (next)
			*next++ = 0;
		if (!*p) {
			botify_fail(err, BOTIFY_EINVAL, "empty file name in dislikes=%s", logs);
			goto out;
		}
		if (read_log(&v, &n, &cap, p, w->U, w->N, err) != 0)
			goto out;
	}
	n = collapse(v, n);
	d->n_pairs = (int64_t)n;
	rc = build_sets(d, v, n, 0, err) == 0 && build_sets(d, v, n, 1, err) == 0 ? 0 : -1;
out:
	free(v);
	free(list);
	return rc;
}

static void sp_free(botify_rec *r)
{
	struct sp_data *d = r->data;
	if (!d)
		return;
	free(d->dis_off);
	free(d->dis);
	free(d->like_off);
	free(d->like);
	botify_tracklists_free(&d->recs);
	free(d);
	r->data = NULL;
}

static int sp_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
		   botify_err *err)
{
	const botify_world *w = env->world;
	const char *logs = botify_rec_arg(args, "dislikes"), *recs = botify_rec_arg(args, "recs");
	if (!logs)
		return botify_fail(err, BOTIFY_EINVAL,
				   "sticky_plus: needs dislikes=LOG (an event log; several as dislikes='a.jsonl,b.jsonl')");
	struct sp_data *d = calloc(1, sizeof(*d));
	if (!d)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	r->data = d;
	d->U = w->U;
	d->k = 3;
	d->mix = 0.3;
	d->miss = 0.2;
	if (botify_rec_arg_long(args, "sticky_plus", "k", 1, 1000000, &d->k, err) < 0 ||
	    botify_rec_arg_double(args, "sticky_plus", "mix", 0, 1, &d->mix, err) < 0 ||
	    botify_rec_arg_double(args, "sticky_plus", "miss", 0, 1, &d->miss, err) < 0)
		return -1;
	if (load_taste(d, logs, w, err) != 0)
		return botify_err_prefix(err, "sticky_plus");
	if (recs) {
		if (botify_tracklists_load(&d->recs, recs, "track", "recommendations", w->N - 1, w->N,
					   err) != 0)
			return botify_err_prefix(err, "sticky_plus");
		d->has_recs = 1;
	}
	r->state_size = sizeof(struct sp_state);
	return 0;
}

static int in_sorted(const int32_t *a, int64_t n, int32_t x)
{
	int64_t lo = 0, hi = n;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (a[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && a[lo] == x;
}

static int has(const int64_t *off, const int32_t *t, int32_t U, int64_t user, int32_t track)
{
	if (user < 0 || user >= U)
		return 0;
	return in_sorted(t + off[user], off[user + 1] - off[user], track);
}

static int played(const struct sp_state *s, int32_t t)
{
	int32_t n = s->n_played < RING ? s->n_played : RING;
	for (int32_t i = 0; i < n; i++)
		if (s->played[i] == t)
			return 1;
	return 0;
}

/* A uniform pick among the best tier seen: 2 liked, 1 neither liked nor
 * disliked; disliked and played tracks are skipped. */
struct pick {
	int tier;
	uint64_t n;
	int32_t track;
};

static void consider(const struct sp_data *d, const struct sp_state *s, int64_t user, int32_t t,
		     botify_rng *rng, struct pick *pk)
{
	if (played(s, t) || has(d->dis_off, d->dis, d->U, user, t))
		return;
	int tier = has(d->like_off, d->like, d->U, user, t) ? 2 : 1;
	if (tier > pk->tier) {
		*pk = (struct pick){ tier, 1, t };
	} else if (tier == pk->tier && botify_rng_below(rng, ++pk->n) == 0) {
		pk->track = t;
	}
}

static void consider_list(const struct sp_data *d, const struct sp_state *s, int64_t user,
			  const int32_t *list, int64_t n, botify_rng *rng, struct pick *pk)
{
	for (int64_t i = 0; i < n; i++)
		consider(d, s, user, list[i], rng, pk);
}

/* contextual -> the user's liked tracks -> uniform */
static int32_t pick_contextual(const botify_rec *r, const struct sp_state *s,
			       const botify_rec_call *c, botify_rng *rng)
{
	const struct sp_data *d = r->data;
	const botify_world *w = r->world;
	struct pick pk = { 0, 0, -1 };
	if (d->has_recs) {
		int64_t n;
		const int32_t *list = botify_tracklists_get(&d->recs, c->track, &n);
		consider_list(d, s, c->user, list, n, rng, &pk);
	}
	if (pk.tier == 0 && c->user >= 0 && c->user < d->U)
		consider_list(d, s, c->user, d->like + d->like_off[c->user],
			      d->like_off[c->user + 1] - d->like_off[c->user], rng, &pk);
	if (pk.tier > 0)
		return pk.track;
	int32_t t = 0;
	for (int i = 0; i < RANDOM_DRAWS; i++) {
		t = (int32_t)botify_rng_below(rng, (uint64_t)w->N);
		if (!played(s, t) && !has(d->dis_off, d->dis, d->U, c->user, t))
			return t;
	}
	/* a user who dislikes most of the catalog: walk on from the last draw
	 * so a dislike is still never served while anything else is left */
	for (int32_t i = 1; i < w->N; i++) {
		int32_t u = (int32_t)((t + i) % w->N);
		if (!played(s, u) && !has(d->dis_off, d->dis, d->U, c->user, u))
			return u;
	}
	return t;
}

static int sp_recommend(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			int32_t *out, botify_err *err)
{
	(void)err;
	const struct sp_data *d = r->data;
	const botify_world *w = r->world;
	struct sp_state *s = ctx->state;
	int known = c->track >= 0 && c->track < w->N;
	if (s->started) {
		s->misses = c->time < d->miss ? s->misses + 1 : 0;
		if (s->misses >= d->k)
			s->switched = 1;
	}
	s->started = 1;
	if (known)
		s->played[s->n_played++ % RING] = c->track;
	if (!s->switched && known && !(botify_rng_uniform(ctx->rng) < d->mix)) {
		int32_t a = w->artist[c->track];
		struct pick pk = { 0, 0, -1 };
		consider_list(d, s, c->user, w->artist_tracks + w->artist_off[a],
			      w->artist_off[a + 1] - w->artist_off[a], ctx->rng, &pk);
		if (pk.tier > 0) {
			*out = pk.track;
			return 0;
		}
	}
	*out = pick_contextual(r, s, c, ctx->rng);
	return 0;
}

static int sp_end_session(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			  botify_err *err)
{
	(void)c, (void)err;
	memset(ctx->state, 0, r->state_size);
	return 0;
}

static int sp_check_state(const botify_rec *r, const void *state, botify_err *err)
{
	const struct sp_state *s = state;
	if ((s->started != 0 && s->started != 1) || (s->switched != 0 && s->switched != 1))
		return botify_fail(err, BOTIFY_EFORMAT, "session flags %d, %d (not 0 or 1)", s->started,
				   s->switched);
	if (s->misses < 0 || s->n_played < 0 || s->n_played == INT32_MAX)
		return botify_fail(err, BOTIFY_EFORMAT, "session counts %d misses, %d played", s->misses,
				   s->n_played);
	int32_t n = s->n_played < RING ? s->n_played : RING;
	for (int32_t i = 0; i < n; i++)
		if (s->played[i] < 0 || s->played[i] >= r->world->N)
			return botify_fail(err, BOTIFY_EFORMAT, "session played track %d (catalog has %d)",
					   s->played[i], r->world->N);
	return 0;
}

const botify_rec_ops botify_rec_sticky_plus = {
	.name = "sticky_plus",
	.summary = "sticky_artist without the user's logged dislikes or replays, liked tracks first, mix contextual picks; contextual after k misses",
	.keys = "dislikes,k,recs,mix,miss",
	.usage = "sticky_plus:dislikes=LOG[,k=3,recs=tracks_with_recs.json,mix=0.3,miss=0.2]",
	.init = sp_init,
	.recommend = sp_recommend,
	.end_session = sp_end_session,
	.check_state = sp_check_state,
	.free = sp_free,
};
