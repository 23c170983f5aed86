/*
 * rec_toppop.c - a uniform track among the k most popular.
 *
 * Popularity comes from file= (a JSON array, most popular first, like
 * top_tracks.json), from log= (tracks ranked by total listen time in an event
 * log, then by plays, then by id), or from the world's own top_tracks.
 */
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "rec.h"

typedef struct toppop {
	int32_t *top;
	int64_t n;
} toppop;

struct score {
	double time;
	int64_t plays;
	int32_t track;
};

static int by_popularity(const void *pa, const void *pb)
{
	const struct score *a = pa, *b = pb;
	if (a->time != b->time)
		return a->time > b->time ? -1 : 1;
	if (a->plays != b->plays)
		return a->plays > b->plays ? -1 : 1;
	return (a->track > b->track) - (a->track < b->track);
}

static int from_log(toppop *t, const char *path, int32_t N, botify_err *err)
{
	botify_eventlog_reader r;
	struct score *s = botify_calloc((size_t)N, sizeof(*s), "popularity", err);
	if (!s)
		return -1;
	for (int32_t i = 0; i < N; i++)
		s[i].track = i;
	if (botify_eventlog_open(&r, path, NULL, err) != 0) {
		free(s);
		return -1;
	}
	botify_event e;
	int rc;
	while ((rc = botify_eventlog_next(&r, &e, err)) == 1) {
		if (e.track >= N) {
			rc = botify_fail(err, BOTIFY_ERANGE, "%s:%zu: track %d out of range (catalog has %d)",
					 path, r.in.lineno, e.track, N);
			break;
		}
		s[e.track].time += e.time;
		s[e.track].plays++;
	}
	botify_eventlog_close(&r);
	if (rc < 0) {
		free(s);
		return -1;
	}
	qsort(s, (size_t)N, sizeof(*s), by_popularity);
	t->top = botify_malloc((size_t)N, sizeof(int32_t), "top tracks", err);
	if (!t->top) {
		free(s);
		return -1;
	}
	for (int32_t i = 0; i < N && s[i].plays > 0; i++)
		t->top[t->n++] = s[i].track;
	free(s);
	if (t->n == 0)
		return botify_fail(err, BOTIFY_EFORMAT, "%s: the log has no plays to rank", path);
	return 0;
}

static int toppop_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
		       botify_err *err)
{
	const botify_world *w = env->world;
	const char *file = botify_rec_arg(args, "file"), *log = botify_rec_arg(args, "log");
	int64_t k = 100;
	if (botify_rec_arg_long(args, "toppop", "k", 1, INT32_MAX, &k, err) < 0)
		return -1;
	if (file && log)
		return botify_fail(err, BOTIFY_EINVAL, "toppop: give file= or log=, not both");
	toppop *t = calloc(1, sizeof(*t));
	if (!t)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	r->data = t;
	if (file) {
		int32_t n = 0;
		if (botify_world_read_top_tracks(file, w->N, &t->top, &n, err) != 0)
			return botify_err_prefix(err, "toppop");
		t->n = n;
	} else if (log) {
		if (from_log(t, log, w->N, err) != 0)
			return botify_err_prefix(err, "toppop");
	} else if (w->n_top > 0) {
		t->top = botify_malloc((size_t)w->n_top, sizeof(int32_t), "top tracks", err);
		if (!t->top)
			return -1;
		memcpy(t->top, w->top_tracks, (size_t)w->n_top * sizeof(int32_t));
		t->n = w->n_top;
	} else {
		return botify_fail(err, BOTIFY_EINVAL,
				   "toppop: the world '%s' has no top_tracks.json; give file= or log=",
				   w->source);
	}
	if (t->n == 0)
		return botify_fail(err, BOTIFY_EINVAL, "toppop: the popularity list is empty");
	if (t->n > k)
		t->n = k;
	r->state_size = 0;
	return 0;
}

static int toppop_recommend(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			    int32_t *out, botify_err *err)
{
	(void)c, (void)err;
	const toppop *t = r->data;
	*out = botify_rec_pick(t->top, t->n, ctx->rng, r->world->N);
	return 0;
}

static void toppop_free(botify_rec *r)
{
	toppop *t = r->data;
	if (t)
		free(t->top);
	free(t);
	r->data = NULL;
}

const botify_rec_ops botify_rec_toppop = {
	.name = "toppop",
	.summary = "a uniform track among the k most popular (top_tracks.json, a log, or the world's)",
	.keys = "file,log,k",
	.usage = "toppop[:file=top_tracks.json|log=LOG][,k=100]",
	.init = toppop_init,
	.recommend = toppop_recommend,
	.free = toppop_free,
};
