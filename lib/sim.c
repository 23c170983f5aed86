/*
 * sim.c - the user simulator.
 */
#include "sim.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "topk.h"

int botify_sim_init(botify_sim *s, const botify_world *w, const botify_simcfg *cfg,
		    uint64_t seed, int64_t day, const botify_experiment *experiment,
		    botify_err *err)
{
	memset(s, 0, sizeof(*s));
	s->world = w;
	s->cfg = *cfg;
	s->seed = seed;
	s->day = day;
	s->n_arms = 1;
	if (w->U < 1)
		return botify_fail(err, BOTIFY_EINVAL, "world '%s' has no users to simulate", w->source);
	s->users = botify_malloc((size_t)w->U, sizeof(botify_sim_user), "users", err);
	s->nb_row = botify_malloc((size_t)w->N, sizeof(int32_t), "neighbour index", err);
	if (!s->users || !s->nb_row)
		goto fail;
	for (int32_t t = 0; t < w->N; t++)
		s->nb_row[t] = -1;
	for (int32_t u = 0; u < w->U; u++) {
		const botify_user *in = &w->users[u];
		botify_sim_user *o = &s->users[u];
		o->bias = isnan(in->consume_bias) ? cfg->consume_bias : in->consume_bias;
		o->sharpness = isnan(in->consume_sharpness) ? cfg->consume_sharpness : in->consume_sharpness;
		o->gamma = isnan(in->artist_discount_gamma) ? cfg->artist_discount_gamma
							    : in->artist_discount_gamma;
		o->neighbours = in->interest_neighbours ? in->interest_neighbours : cfg->interest_neighbours;
		if (o->neighbours > w->N)
			o->neighbours = w->N;
		o->budget = in->session_budget ? in->session_budget : cfg->session_budget;
		if (o->neighbours > s->K)
			s->K = o->neighbours;
	}
	if (experiment) {
		s->experiment = *experiment;
		s->n_arms = experiment->n_arms;
		if (experiment->design == BOTIFY_DESIGN_PAIRED) {
			s->paired = 1;
			return 0;
		}
		s->arm_of_user = botify_malloc((size_t)w->U, 1, "arm assignment", err);
		if (!s->arm_of_user)
			goto fail;
		for (int32_t u = 0; u < w->U; u++)
			s->arm_of_user[u] = (int8_t)botify_experiment_assign(experiment, u);
	}
	return 0;
fail:
	botify_sim_free(s);
	return -1;
}

void botify_sim_free(botify_sim *s)
{
	free(s->users);
	free(s->nb_row);
	free(s->nb);
	free(s->arm_of_user);
	memset(s, 0, sizeof(*s));
}

/* The session's user and interest: the first two draws of the user stream,
 * shared by the episode and by prepare's look-ahead. */
static void pick_session(const botify_sim *s, botify_rng *ru, int64_t index, int32_t *user,
			 int32_t *interest)
{
	const botify_world *w = s->world;
	botify_rng_init(ru, BOTIFY_RNG_EPISODE, s->seed, (uint64_t)s->day, (uint64_t)index, BOTIFY_STREAM_USER);
	*user = (int32_t)botify_rng_below(ru, (uint64_t)w->U);
	const botify_user *u = &w->users[*user];
	*interest = w->interests[u->first_interest + (int32_t)botify_rng_below(ru, (uint64_t)u->n_interests)];
}

int botify_sim_prepare(botify_sim *s, int64_t episodes, int threads, botify_err *err)
{
	return botify_sim_prepare_until(s, episodes, threads, NULL, err);
}

int botify_sim_prepare_until(botify_sim *s, int64_t episodes, int threads,
			     volatile sig_atomic_t *stop, botify_err *err)
{
	return botify_sim_prepare_part(s, episodes, episodes > 0 ? episodes : 1, 0, 1, threads, stop,
				       err);
}

/* The interests that episodes [lo, hi) of part `part` need and s has not
 * prepared, in the order they are first needed (each once): a thread's
 * share of prepare's look-ahead. */
struct mark_job {
	const botify_sim *s;
	int64_t lo, hi, chunk;
	int part, parts;
	volatile sig_atomic_t *stop;
	uint8_t *seen;   /* (N) */
	int32_t *fresh;  /* (N) */
	int32_t n_fresh;
	int stopped;
};

static void *mark_range(void *arg)
{
	struct mark_job *j = arg;
	const botify_sim *s = j->s;
	for (int64_t i = j->lo; i < j->hi; i++) {
		if ((i / j->chunk) % j->parts != j->part) {
			i += j->chunk - 1 - i % j->chunk; /* to the end of this chunk */
			continue;
		}
		botify_rng ru;
		int32_t user, interest;
		if ((i & 0xffff) == 0 && j->stop && *j->stop) {
			j->stopped = 1;
			return NULL;
		}
		pick_session(s, &ru, i, &user, &interest);
		if (s->nb_row[interest] < 0 && !j->seen[interest]) {
			j->seen[interest] = 1;
			j->fresh[j->n_fresh++] = interest;
		}
	}
	return NULL;
}

enum { MARK_THREAD_MIN = 1 << 14, MARK_MAX_THREADS = 64 };

/* Numbers the interests episodes [0, episodes) need and s has not prepared
 * from *rows on, in the order of the episodes that first need them: the
 * same rows for any thread count (each thread takes a run of episodes,
 * and the runs are merged in order). -1: out of memory or stopped. */
static int mark_interests(botify_sim *s, int64_t episodes, int64_t chunk, int part, int parts,
			  int threads, volatile sig_atomic_t *stop, int64_t *rows, botify_err *err)
{
	const int32_t N = s->world->N;
	if (threads > MARK_MAX_THREADS)
		threads = MARK_MAX_THREADS;
	if (threads > episodes / MARK_THREAD_MIN)
		threads = (int)(episodes / MARK_THREAD_MIN);
	if (threads < 1)
		threads = 1;
	struct mark_job jobs[MARK_MAX_THREADS];
	pthread_t tid[MARK_MAX_THREADS];
	char started[MARK_MAX_THREADS] = {0};
	int rc = 0;
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct mark_job){ .s = s, .lo = episodes * t / threads,
					     .hi = episodes * (t + 1) / threads, .chunk = chunk, .part = part,
					     .parts = parts, .stop = stop };
		jobs[t].seen = botify_calloc((size_t)N, 1, "interest marks", err);
		jobs[t].fresh = botify_malloc((size_t)N, sizeof(int32_t), "interest marks", err);
		if (!jobs[t].seen || !jobs[t].fresh) {
			threads = t + 1;
			rc = -1;
			goto out;
		}
	}
	for (int t = 1; t < threads; t++)
		started[t] = pthread_create(&tid[t], NULL, mark_range, &jobs[t]) == 0;
	mark_range(&jobs[0]);
	for (int t = 1; t < threads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			mark_range(&jobs[t]);
	}
	for (int t = 0; t < threads; t++)
		if (jobs[t].stopped) {
			rc = botify_fail(err, BOTIFY_EINTR, "interrupted");
			goto out;
		}
	for (int t = 0; t < threads; t++)
		for (int32_t k = 0; k < jobs[t].n_fresh; k++)
			if (s->nb_row[jobs[t].fresh[k]] < 0)
				s->nb_row[jobs[t].fresh[k]] = (int32_t)(*rows)++;
out:
	for (int t = 0; t < threads; t++) {
		free(jobs[t].seen);
		free(jobs[t].fresh);
	}
	return rc;
}

int botify_sim_prepare_part(botify_sim *s, int64_t episodes, int64_t chunk, int part, int parts,
			    int threads, volatile sig_atomic_t *stop, botify_err *err)
{
	const botify_world *w = s->world;
	int64_t rows = s->nb_rows, first_new = rows;
	/* mark the interests these episodes need that are not prepared yet */
	if (mark_interests(s, episodes, chunk, part, parts, threads, stop, &rows, err) != 0)
		goto unmark;
	if (rows == first_new)
		return 0;
	int64_t fresh = rows - first_new;
	float *Q = botify_malloc((size_t)fresh, (size_t)w->D * sizeof(float), "interest vectors", err);
	int32_t *nb = botify_realloc(s->nb, (size_t)rows, (size_t)s->K * sizeof(int32_t),
				     "interest neighbours", err);
	if (nb)
		s->nb = nb;
	if (!Q || !nb) {
		free(Q);
		goto unmark;
	}
	for (int32_t t = 0; t < w->N; t++)
		if (s->nb_row[t] >= first_new)
			memcpy(Q + (size_t)(s->nb_row[t] - first_new) * (size_t)w->D,
			       botify_world_embedding(w, t), (size_t)w->D * sizeof(float));
	/* the exact pruned search over the catalog grouped by artist: the
	 * same lists as scoring every track, a few percent of the work */
	botify_topk_index ix;
	int rc = botify_topk_index_build_threads(&ix, w->E, w->N, w->D, w->artist, w->A, threads, err);
	if (rc == 0)
		rc = botify_topk_search(&ix, Q, fresh, s->K, threads, stop,
					s->nb + (size_t)first_new * (size_t)s->K, NULL, NULL, err);
	botify_topk_index_free(&ix);
	free(Q);
	if (rc == 0) {
		s->nb_rows = rows;
		return 0;
	}
unmark:
	/* a failed search leaves no half-prepared interests behind */
	for (int32_t t = 0; t < w->N; t++)
		if (s->nb_row[t] >= first_new)
			s->nb_row[t] = -1;
	return -1;
}

int botify_sim_worker_init(botify_sim_worker *wk, const botify_sim *s, botify_rec *const *recs,
			   botify_err *err)
{
	memset(wk, 0, sizeof(*wk));
	size_t cap = (size_t)s->cfg.max_steps + 1;
	wk->hist_track = botify_malloc(cap, sizeof(int32_t), "session history", err);
	wk->hist_artist = botify_malloc(cap, sizeof(int32_t), "session history", err);
	if (!wk->hist_track || !wk->hist_artist)
		goto fail;
	wk->recs = recs;
	wk->n_arms = s->n_arms;
	for (int a = 0; a < s->n_arms; a++) {
		if (botify_rec_worker_init(recs[a], &wk->rec_worker[a], err) != 0)
			goto fail;
		wk->rec_state[a] = botify_calloc(1, recs[a]->state_size ? recs[a]->state_size : 1,
						 "recommender state", err);
		if (!wk->rec_state[a])
			goto fail;
	}
	return 0;
fail:
	botify_sim_worker_free(wk);
	return -1;
}

void botify_sim_worker_free(botify_sim_worker *wk)
{
	free(wk->hist_track);
	free(wk->hist_artist);
	for (int a = 0; a < wk->n_arms; a++) {
		if (wk->recs && wk->rec_worker[a])
			botify_rec_worker_free(wk->recs[a], wk->rec_worker[a]);
		free(wk->rec_state[a]);
	}
	memset(wk, 0, sizeof(*wk));
}

float botify_sim_dot(const float *a, const float *b, int32_t D)
{
	/* eight independent partial sums, combined in a fixed order */
	float acc[8] = {0};
	int32_t d = 0;
	for (; d + 8 <= D; d += 8)
		for (int j = 0; j < 8; j++)
			acc[j] += a[d + j] * b[d + j];
	for (; d < D; d++)
		acc[d & 7] += a[d] * b[d];
	return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

double botify_sim_listen_time(const botify_sim_user *u, float score, int artist_plays)
{
	/* as the original: float32 score, the rest in double, numpy.around(x, 2)
	 * which is rint(x * 100) / 100 (half to even on the scaled value) */
	double raw = 1.0 / (1.0 + exp(-(((double)score - u->bias) * u->sharpness)));
	double t = raw * pow(u->gamma, artist_plays);
	return nearbyint(t * 100.0) / 100.0;
}

static int push_row(botify_event_buf *b, const botify_event *e, botify_err *err)
{
	if (BOTIFY_ALLOC_GROW(b->ev, b->n + 1, b->cap, "event buffer", err))
		return -1;
	b->ev[b->n++] = *e;
	return 0;
}

static inline double clock_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *botify_sim_experiment_name(const botify_sim *s)
{
	return s->experiment.n_arms ? s->experiment.name : NULL;
}

int botify_sim_episode(const botify_sim *s, botify_sim_worker *wk, int64_t index, int arm,
		       botify_event_buf *rows, int measure_latency, botify_episode *ep,
		       botify_err *err)
{
	const botify_world *w = s->world;
	botify_rng ru, rr;
	int32_t user, interest;
	pick_session(s, &ru, index, &user, &interest);
	if (arm < 0) {
		if (s->paired)
			BOTIFY_BUG("episode %lld: a paired run needs an arm", (long long)index);
		arm = s->arm_of_user ? s->arm_of_user[user] : 0;
	}
	/* arm 0 keeps the unpaired stream; other arms of a paired run get their own */
	uint64_t rec_key = BOTIFY_STREAM_REC | (s->paired ? (uint64_t)arm << 8 : 0);
	botify_rng_init(&rr, BOTIFY_RNG_EPISODE, s->seed, (uint64_t)s->day, (uint64_t)index, rec_key);
	const botify_sim_user *u = &s->users[user];
	int32_t row = s->nb_row[interest];
	if (row < 0)
		BOTIFY_BUG("episode %lld: interest %d was not prepared", (long long)index, interest);
	int32_t first = s->nb[(size_t)row * (size_t)s->K + botify_rng_below(&ru, (uint64_t)u->neighbours)];
	const float *se = botify_world_embedding(w, interest);

	const botify_rec *rec = wk->recs[arm];
	botify_rec_ctx ctx = { wk->rec_worker[arm], wk->rec_state[arm], &rr };
	if (rec->state_size)
		memset(ctx.state, 0, rec->state_size);

	int64_t n_hist = 1, steps = 0;
	wk->hist_track[0] = first;
	wk->hist_artist[0] = w->artist[first];
	int32_t budget = u->budget, prev = first;
	double prev_time = 1.0, total = 1.0;
	botify_event e = { .user = user, .arm = (int8_t)(s->experiment.n_arms ? arm : -1) };
	int capped = 0;

	for (;;) {
		if (steps == s->cfg.max_steps) {
			capped = 1;
			break;
		}
		botify_rec_call call = { user, prev, prev_time };
		int32_t t;
		double t0 = measure_latency ? clock_s() : 0;
		if (botify_rec_next(rec, &ctx, &call, &t, err) != 0)
			return botify_err_prefix(err, "episode %lld", (long long)index);
		if (rows) {
			e.message = BOTIFY_MSG_NEXT;
			e.track = prev;
			e.time = prev_time;
			e.latency = measure_latency ? botify_event_latency(clock_s() - t0) : 0;
			e.recommendation = t;
			if (push_row(rows, &e, err) != 0)
				return -1;
		}
		steps++;

		int32_t a = w->artist[t];
		int repeat = 0, same_artist = 0;
		for (int64_t i = 0; i < n_hist; i++) {
			repeat |= wk->hist_track[i] == t;
			same_artist += wk->hist_artist[i] == a;
		}
		double tm = repeat ? 0.0
				   : botify_sim_listen_time(u, botify_sim_dot(botify_world_embedding(w, t), se, w->D),
							    same_artist);
		wk->hist_track[n_hist] = t;
		wk->hist_artist[n_hist] = a;
		n_hist++;
		if (botify_rng_uniform(&ru) > tm)
			budget--;
		prev = t;
		prev_time = tm;
		total += tm;
		if (budget <= 0)
			break;
	}

	botify_rec_call call = { user, prev, prev_time };
	double t0 = measure_latency ? clock_s() : 0;
	if (botify_rec_last(rec, &ctx, &call, err) != 0)
		return botify_err_prefix(err, "episode %lld", (long long)index);
	if (rows) {
		e.message = BOTIFY_MSG_LAST;
		e.track = prev;
		e.time = prev_time;
		e.latency = measure_latency ? botify_event_latency(clock_s() - t0) : 0;
		e.recommendation = -1;
		if (push_row(rows, &e, err) != 0)
			return -1;
	}
	ep->user = user;
	ep->arm = arm;
	ep->steps = steps;
	ep->time = total;
	ep->capped = capped;
	return 0;
}
