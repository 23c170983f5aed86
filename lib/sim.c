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
	s->day_key = botify_rng_key_then(botify_rng_key_of(BOTIFY_RNG_EPISODE, seed), (uint64_t)day);
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

struct botify_sim_index_job {
	pthread_t tid;
	const botify_world *w;
	int threads, rc;
	botify_topk_index ix;
	botify_err err;
};

static void *index_build(void *arg)
{
	struct botify_sim_index_job *j = arg;
	const botify_world *w = j->w;
	j->rc = botify_topk_index_build_threads(&j->ix, w->E, w->N, w->D, w->artist, w->A, j->threads,
						&j->err);
	return NULL;
}

int botify_sim_index_start(botify_sim *s, int threads)
{
	if (s->index_job)
		return 0;
	struct botify_sim_index_job *j = calloc(1, sizeof(*j));
	if (!j)
		return -1;
	j->w = s->world;
	j->threads = threads;
	if (pthread_create(&j->tid, NULL, index_build, j) != 0) {
		free(j);
		return -1;
	}
	s->index_job = j;
	return 0;
}

/* Waits for the index being built: the job (its rc and err said), which
 * the caller frees with index_job_free; NULL when none was started. */
static struct botify_sim_index_job *index_job_take(botify_sim *s)
{
	struct botify_sim_index_job *j = s->index_job;
	if (j)
		pthread_join(j->tid, NULL);
	s->index_job = NULL;
	return j;
}

static void index_job_free(struct botify_sim_index_job *j)
{
	if (!j)
		return;
	botify_topk_index_free(&j->ix); /* a failed build left it empty */
	free(j);
}

void botify_sim_free(botify_sim *s)
{
	index_job_free(index_job_take(s));
	free(s->users);
	free(s->nb_row);
	free(s->nb);
	free(s->arm_of_user);
	memset(s, 0, sizeof(*s));
}

/* The session's user and interest: the first two draws of the user stream,
 * shared by the episode and by prepare's look-ahead. */
static int32_t pick_user(const botify_sim *s, botify_rng *ru, int64_t index)
{
	/* botify_rng_init(ru, BOTIFY_RNG_EPISODE, seed, day, index, BOTIFY_STREAM_USER) */
	botify_rng_seed_key(ru, botify_rng_key_then(botify_rng_key_then(s->day_key, (uint64_t)index),
						    BOTIFY_STREAM_USER));
	return (int32_t)botify_rng_below(ru, (uint64_t)s->world->U);
}

static int32_t pick_interest(const botify_sim *s, botify_rng *ru, int32_t user)
{
	const botify_world *w = s->world;
	const botify_user *u = &w->users[user];
	return w->interests[u->first_interest + (int32_t)botify_rng_below(ru, (uint64_t)u->n_interests)];
}

static void pick_session(const botify_sim *s, botify_rng *ru, int64_t index, int32_t *user,
			 int32_t *interest)
{
	*user = pick_user(s, ru, index);
	*interest = pick_interest(s, ru, *user);
}

/* Where in nb the session's first track is: the third draw of the user
 * stream, one of the interest's neighbours (its row must be prepared). */
static size_t pick_first_slot(const botify_sim *s, botify_rng *ru, int64_t index, int32_t user,
			      int32_t interest)
{
	int32_t row = s->nb_row[interest];
	if (row < 0)
		BOTIFY_BUG("episode %lld: interest %d was not prepared", (long long)index, interest);
	return (size_t)row * (size_t)s->K + botify_rng_below(ru, (uint64_t)s->users[user].neighbours);
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

/* Episodes in a batch of mark_range: each read of the world is fetched for
 * all of them before any is made, so the misses overlap (the user's record,
 * then the user's interests, then the interest's marks). */
enum { MARK_BATCH = 32 };

static void *mark_range(void *arg)
{
	struct mark_job *j = arg;
	const botify_sim *s = j->s;
	const botify_world *w = s->world;
	int64_t idx[MARK_BATCH];
	botify_rng ru[MARK_BATCH];
	int32_t user[MARK_BATCH], interest[MARK_BATCH];
	uint64_t batches = 0;
	for (int64_t i = j->lo; i < j->hi;) {
		int n = 0;
		for (; n < MARK_BATCH && i < j->hi; i++) {
			if ((i / j->chunk) % j->parts != j->part) {
				i += j->chunk - 1 - i % j->chunk; /* to the end of this chunk */
				continue;
			}
			idx[n++] = i;
		}
		if ((batches++ & 2047) == 0 && j->stop && *j->stop) {
			j->stopped = 1;
			return NULL;
		}
		for (int k = 0; k < n; k++) {
			user[k] = pick_user(s, &ru[k], idx[k]);
			__builtin_prefetch(&w->users[user[k]]);
		}
		for (int k = 0; k < n; k++)
			__builtin_prefetch(&w->interests[w->users[user[k]].first_interest]);
		for (int k = 0; k < n; k++) {
			interest[k] = pick_interest(s, &ru[k], user[k]);
			__builtin_prefetch(&s->nb_row[interest[k]]);
			__builtin_prefetch(&j->seen[interest[k]]);
		}
		for (int k = 0; k < n; k++)
			if (s->nb_row[interest[k]] < 0 && !j->seen[interest[k]]) {
				j->seen[interest[k]] = 1;
				j->fresh[j->n_fresh++] = interest[k];
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
	float *Q = NULL;
	/* mark the interests these episodes need that are not prepared yet
	 * (beside the index, if it is being built) */
	int marked = mark_interests(s, episodes, chunk, part, parts, threads, stop, &rows, err);
	struct botify_sim_index_job *job = index_job_take(s);
	if (marked != 0)
		goto unmark;
	if (rows == first_new) {
		index_job_free(job);
		return 0;
	}
	int64_t fresh = rows - first_new;
	Q = botify_malloc((size_t)fresh, (size_t)w->D * sizeof(float), "interest vectors", err);
	/* the episodes read the table at random: on huge pages where the
	 * system gives them, one TLB entry per 2 MiB of it (a later prepare
	 * grows it as it is) */
	int32_t *nb = s->nb ? botify_realloc(s->nb, (size_t)rows, (size_t)s->K * sizeof(int32_t),
					     "interest neighbours", err)
			    : botify_malloc_large((size_t)rows, (size_t)s->K * sizeof(int32_t),
						  "interest neighbours", err);
	if (nb)
		s->nb = nb;
	if (!Q || !nb)
		goto unmark;
	for (int32_t t = 0; t < w->N; t++)
		if (s->nb_row[t] >= first_new)
			memcpy(Q + (size_t)(s->nb_row[t] - first_new) * (size_t)w->D,
			       botify_world_embedding(w, t), (size_t)w->D * sizeof(float));
	/* the exact pruned search over the catalog grouped by artist: the
	 * same lists as scoring every track, a few percent of the work */
	botify_topk_index own;
	const botify_topk_index *ix = &own;
	int rc;
	if (job) {
		ix = &job->ix;
		if ((rc = job->rc) != 0)
			*err = job->err;
	} else {
		rc = botify_topk_index_build_threads(&own, w->E, w->N, w->D, w->artist, w->A, threads, err);
	}
	if (rc == 0)
		rc = botify_topk_search(ix, Q, fresh, s->K, threads, stop,
					s->nb + (size_t)first_new * (size_t)s->K, NULL, NULL, err);
	if (!job)
		botify_topk_index_free(&own);
	if (rc == 0) {
		index_job_free(job);
		free(Q);
		s->nb_rows = rows;
		return 0;
	}
unmark:
	free(Q);
	index_job_free(job);
	/* a failed search leaves no half-prepared interests behind */
	for (int32_t t = 0; t < w->N; t++)
		if (s->nb_row[t] >= first_new)
			s->nb_row[t] = -1;
	return -1;
}

struct botify_sim_lanes;
static int lanes_init(botify_sim_worker *wk, const botify_sim *s, botify_err *err);
static void lanes_free(struct botify_sim_lanes *L);

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
	if (lanes_init(wk, s, err) != 0)
		goto fail;
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
	lanes_free(wk->lanes);
	memset(wk, 0, sizeof(*wk));
}

float botify_sim_dot_portable(const float *a, const float *b, int32_t D)
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

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* The same sums, products and order as the portable dot, the eight partial
 * sums in one register: the portable one (SSE) spills its tail and its
 * final sums through memory, about twice the time. No FMA: a fused
 * multiply-add rounds once, not twice, and would change the result. */
__attribute__((target("avx"))) static float dot_avx(const float *a, const float *b, int32_t D)
{
	static const int32_t mask[16] = { -1, -1, -1, -1, -1, -1, -1, -1 };
	__m256 acc = _mm256_setzero_ps();
	int32_t d = 0;
	for (; d + 8 <= D; d += 8)
		acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(a + d), _mm256_loadu_ps(b + d)));
	if (d < D) {
		/* the tail's D - d products in the first lanes; -0.0 in the others
		 * (0 * 0 with the sign bit set): x + -0.0 is x for every x */
		__m256i m = _mm256_loadu_si256((const __m256i *)(mask + 8 - (D - d)));
		__m256 p = _mm256_mul_ps(_mm256_maskload_ps(a + d, m), _mm256_maskload_ps(b + d, m));
		p = _mm256_or_ps(p, _mm256_andnot_ps(_mm256_castsi256_ps(m), _mm256_set1_ps(-0.0f)));
		acc = _mm256_add_ps(acc, p);
	}
	/* s = (acc0 + acc4, acc1 + acc5, acc2 + acc6, acc3 + acc7); then
	 * (s0 + s1) + (s2 + s3) (a sum is the same either way round) */
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
	__m128 t = _mm_add_ps(s, _mm_shuffle_ps(s, s, _MM_SHUFFLE(2, 3, 0, 1)));
	return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehl_ps(t, t)));
}
#endif

float botify_sim_dot(const float *a, const float *b, int32_t D)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("avx"))
		return dot_avx(a, b, D);
#endif
	return botify_sim_dot_portable(a, b, D);
}

double botify_sim_listen_time(const botify_sim_user *u, float score, int artist_plays)
{
	/* as the original: float32 score, the rest in double, numpy.around(x, 2)
	 * which is rint(x * 100) / 100 (half to even on the scaled value) */
	double raw = 1.0 / (1.0 + exp(-(((double)score - u->bias) * u->sharpness)));
	/* pow(g, 0) is 1 for every g: most tracks skip the call */
	double t = artist_plays ? raw * pow(u->gamma, artist_plays) : raw;
	double x = t * 100.0, r;
	/* between 0 and 2^52 adding 2^52 rounds x to an integer as nearbyint
	 * does (in the same rounding mode), without the call; zeros (-0.0
	 * would come out +0.0), negatives and the rest take the call */
	if (x > 0.0 && x < 0x1p52)
		r = (x + 0x1p52) - 0x1p52;
	else
		r = nearbyint(x);
	return r / 100.0;
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

/* An episode in flight: botify_sim_episode runs one from start to end;
 * botify_sim_episodes keeps several in flight and moves each on in turn. */
struct ep {
	int64_t index;
	int arm;
	botify_rng ru, rr;
	const botify_sim_user *u;
	const float *se;           /* the interest's embedding */
	const botify_rec *rec;
	botify_rec_ctx ctx;
	int32_t *hist_track, *hist_artist;
	int64_t n_hist, steps;
	int32_t budget, prev;
	double prev_time, total;
	botify_event e;
	int capped;
	int32_t next;              /* the recommendation the user has not heard yet */
	botify_event_buf *rows;    /* NULL: no rows */
};

static inline double clock_if(int on)
{
	return on ? clock_s() : 0;
}

/* The session from its first track on, after the draws of pick_session
 * and pick_first_slot (ru is the user stream after them). states: each
 * arm's recommender state (the arm's is zeroed here); hist: room for
 * max_steps + 1 tracks each. */
static void ep_start(const botify_sim *s, const botify_sim_worker *wk, struct ep *p, int64_t index,
		     int arm, const botify_rng *ru, int32_t user, int32_t interest, int32_t first,
		     void *const *states, int32_t *hist_track, int32_t *hist_artist,
		     botify_event_buf *rows)
{
	const botify_world *w = s->world;
	p->index = index;
	p->ru = *ru;
	if (arm < 0) {
		if (s->paired)
			BOTIFY_BUG("episode %lld: a paired run needs an arm", (long long)index);
		arm = s->arm_of_user ? s->arm_of_user[user] : 0;
	}
	p->arm = arm;
	/* arm 0 keeps the unpaired stream; other arms of a paired run get their own */
	uint64_t rec_key = BOTIFY_STREAM_REC | (s->paired ? (uint64_t)arm << 8 : 0);
	botify_rng_seed_key(&p->rr, botify_rng_key_then(botify_rng_key_then(s->day_key, (uint64_t)index), rec_key));
	p->u = &s->users[user];
	p->se = botify_world_embedding(w, interest);
	p->rec = wk->recs[arm];
	p->ctx = (botify_rec_ctx){ wk->rec_worker[arm], states[arm], &p->rr };
	if (p->rec->state_size)
		memset(p->ctx.state, 0, p->rec->state_size);
	p->hist_track = hist_track;
	p->hist_artist = hist_artist;
	p->n_hist = 1;
	p->steps = 0;
	hist_track[0] = first;
	hist_artist[0] = w->artist[first];
	p->budget = p->u->budget;
	p->prev = first;
	p->prev_time = 1.0;
	p->total = 1.0;
	p->e = (botify_event){ .user = user, .arm = (int8_t)(s->experiment.n_arms ? arm : -1) };
	p->capped = 0;
	p->rows = rows;
}

/* The next recommendation, into p->next; 1 when the session is capped
 * instead (no call made). */
static int ep_call(const botify_sim *s, struct ep *p, int measure_latency, botify_err *err)
{
	if (p->steps == s->cfg.max_steps) {
		p->capped = 1;
		return 1;
	}
	botify_rec_call call = { p->e.user, p->prev, p->prev_time };
	double t0 = clock_if(measure_latency);
	if (botify_rec_next(p->rec, &p->ctx, &call, &p->next, err) != 0)
		return botify_err_prefix(err, "episode %lld", (long long)p->index);
	if (p->rows) {
		p->e.message = BOTIFY_MSG_NEXT;
		p->e.track = p->prev;
		p->e.time = p->prev_time;
		p->e.latency = measure_latency ? botify_event_latency(clock_s() - t0) : 0;
		p->e.recommendation = p->next;
		if (push_row(p->rows, &p->e, err) != 0)
			return -1;
	}
	p->steps++;
	return 0;
}

/* The user hears p->next; 1 when that ends the session (budget spent). */
static int ep_listen(const botify_sim *s, struct ep *p)
{
	const botify_world *w = s->world;
	int32_t t = p->next, a = w->artist[t];
	int repeat = 0, same_artist = 0;
	for (int64_t i = 0; i < p->n_hist; i++) {
		repeat |= p->hist_track[i] == t;
		same_artist += p->hist_artist[i] == a;
	}
	double tm = repeat ? 0.0
			   : botify_sim_listen_time(p->u, botify_sim_dot(botify_world_embedding(w, t), p->se, w->D),
						    same_artist);
	p->hist_track[p->n_hist] = t;
	p->hist_artist[p->n_hist] = a;
	p->n_hist++;
	if (botify_rng_uniform(&p->ru) > tm)
		p->budget--;
	p->prev = t;
	p->prev_time = tm;
	p->total += tm;
	return p->budget <= 0;
}

/* The "last" call and row; the episode's summary into ep. */
static int ep_end(struct ep *p, int measure_latency, botify_episode *ep, botify_err *err)
{
	botify_rec_call call = { p->e.user, p->prev, p->prev_time };
	double t0 = clock_if(measure_latency);
	if (botify_rec_last(p->rec, &p->ctx, &call, err) != 0)
		return botify_err_prefix(err, "episode %lld", (long long)p->index);
	if (p->rows) {
		p->e.message = BOTIFY_MSG_LAST;
		p->e.track = p->prev;
		p->e.time = p->prev_time;
		p->e.latency = measure_latency ? botify_event_latency(clock_s() - t0) : 0;
		p->e.recommendation = -1;
		if (push_row(p->rows, &p->e, err) != 0)
			return -1;
	}
	ep->user = p->e.user;
	ep->arm = p->arm;
	ep->steps = p->steps;
	ep->time = p->total;
	ep->capped = p->capped;
	return 0;
}
int botify_sim_episode(const botify_sim *s, botify_sim_worker *wk, int64_t index, int arm,
		       botify_event_buf *rows, int measure_latency, botify_episode *ep,
		       botify_err *err)
{
	struct ep p;
	botify_rng ru;
	int32_t user, interest;
	pick_session(s, &ru, index, &user, &interest);
	int32_t first = s->nb[pick_first_slot(s, &ru, index, user, interest)];
	ep_start(s, wk, &p, index, arm, &ru, user, interest, first, wk->rec_state, wk->hist_track,
		 wk->hist_artist, rows);
	for (;;) {
		int rc = ep_call(s, &p, measure_latency, err);
		if (rc < 0)
			return -1;
		if (rc > 0 || ep_listen(s, &p))
			break;
	}
	return ep_end(&p, measure_latency, ep, err);
}

/*
 * Several episodes at a time. An episode is a chain of dependent steps, and
 * each step reads the embedding of the track just recommended: a row picked
 * at random from the 20 MB catalog, a miss in every cache that stalls the
 * step for a memory latency. With LANES episodes in flight the row of one
 * lane's recommendation is fetched (prefetched) while the other lanes work,
 * so the latencies overlap instead of adding up. Each episode still runs the
 * same steps with its own random streams, so the results are those of
 * running the episodes one after the other; only recommenders with no
 * per-thread resources take part (an exec: child or a remote: server sees
 * its calls in session order).
 */
enum { LANES = 8, LANE_HIST_MAX = 1 << 16 };

/*
 * A session's first draws, made ahead of its start in stages, each read of
 * the world fetched a stage before it is made: its user (then the user's
 * records are fetched), where the user's interests are (fetched), the
 * interest (its neighbour row number and its vector fetched), where in the
 * neighbour table the first track is (fetched), the first track (its
 * artist fetched). Without the stages a start waits on four dependent
 * reads from memory, one after the other. Stage k of job j is made before
 * job j - PRE_STAGE[k] starts, so a fetch has a job or two of time.
 */
enum { PRE_STAGES = 5, PRE = 16 };
static const int PRE_STAGE[PRE_STAGES] = { 10, 8, 6, 4, 2 }; /* < PRE */

struct pre {
	botify_rng ru;
	int32_t user, interest, first;
	size_t slot;                     /* the first track's place in nb */
};

struct botify_sim_lanes {
	struct ep ep[LANES];
	int64_t job[LANES];              /* the lane's job, -1 when free */
	void *state[LANES][BOTIFY_MAX_ARMS];
	int32_t *hist;                   /* (LANES, 2, hist_cap) */
	size_t hist_cap;
	botify_event_buf rows[LANES];    /* the lane's episode's rows so far */
	botify_event_buf done;           /* finished episodes' rows, in finishing order */
	size_t *seg;                     /* (jobs, 2): where job j's rows are in done, how many */
	size_t seg_cap;
	struct pre pre[PRE];             /* job j's in pre[j % PRE] */
};

static void lanes_free(struct botify_sim_lanes *L)
{
	if (!L)
		return;
	for (int l = 0; l < LANES; l++) {
		for (int a = 0; a < BOTIFY_MAX_ARMS; a++)
			free(L->state[l][a]);
		free(L->rows[l].ev);
	}
	free(L->hist);
	free(L->done.ev);
	free(L->seg);
	free(L);
}

/* The lanes of wk, or NULL (with no error) when its recommenders do not
 * allow them. */
static int lanes_init(botify_sim_worker *wk, const botify_sim *s, botify_err *err)
{
	size_t cap = (size_t)s->cfg.max_steps + 1;
	wk->lanes = NULL;
	if (cap > LANE_HIST_MAX)
		return 0; /* long sessions: the history, not the catalog, is what a step reads */
	for (int a = 0; a < s->n_arms; a++)
		if (wk->recs[a]->ops->worker_init)
			return 0;
	struct botify_sim_lanes *L = botify_calloc(1, sizeof(*L), "episode lanes", err);
	if (!L)
		return -1;
	L->hist_cap = cap;
	L->hist = botify_malloc(LANES * 2 * cap, sizeof(int32_t), "episode lanes", err);
	if (!L->hist)
		goto fail;
	for (int l = 0; l < LANES; l++)
		for (int a = 0; a < s->n_arms; a++) {
			size_t n = wk->recs[a]->state_size;
			if (!(L->state[l][a] = botify_calloc(1, n ? n : 1, "recommender state", err)))
				goto fail;
		}
	wk->lanes = L;
	return 0;
fail:
	lanes_free(L);
	return -1;
}

/* The row of track t on its way to the cache. Always inlined: GCC takes a
 * function that only prefetches for one without effects and deletes its
 * calls. */
static inline __attribute__((always_inline)) void prefetch_row(const botify_world *w, int32_t t)
{
	const char *r = (const char *)botify_world_embedding(w, t);
	size_t n = (size_t)w->D * sizeof(float);
	if (n > 1024)
		n = 1024; /* a wide row: its start; the rest streams in behind */
	for (size_t o = 0; o < n; o += 64)
		__builtin_prefetch(r + o);
	__builtin_prefetch(r + n - 1);
}

/* The row of track t, and its artist. */
static inline __attribute__((always_inline)) void prefetch_track(const botify_world *w, int32_t t)
{
	prefetch_row(w, t);
	__builtin_prefetch(&w->artist[t]);
}

/* Lane l's finished episode's rows, kept in done until every job is. */
static int lane_keep_rows(struct botify_sim_lanes *L, int l, int64_t j, botify_err *err)
{
	botify_event_buf *r = &L->rows[l];
	if (BOTIFY_ALLOC_GROW(L->done.ev, L->done.n + r->n, L->done.cap, "event buffer", err))
		return -1;
	memcpy(L->done.ev + L->done.n, r->ev, r->n * sizeof(*r->ev));
	L->seg[2 * j] = L->done.n;
	L->seg[2 * j + 1] = r->n;
	L->done.n += r->n;
	r->n = 0;
	return 0;
}

/* Before job j starts: every stage of the jobs it is due for (see struct
 * pre); staged[k]: the jobs below it have had stage k. */
static void pre_pick(const botify_sim *s, struct botify_sim_lanes *L, const botify_sim_job *jobs,
		     int64_t n, int64_t j, int64_t staged[PRE_STAGES])
{
	const botify_world *w = s->world;
	for (int k = 0; k < PRE_STAGES; k++) {
		int64_t to = j + PRE_STAGE[k] + 1 < n ? j + PRE_STAGE[k] + 1 : n;
		for (; staged[k] < to; staged[k]++) {
			int64_t i = staged[k];
			struct pre *q = &L->pre[i % PRE];
			switch (k) {
			case 0:
				q->user = pick_user(s, &q->ru, jobs[i].index);
				__builtin_prefetch(&w->users[q->user]);
				__builtin_prefetch(&s->users[q->user]);
				break;
			case 1:
				__builtin_prefetch(&w->interests[w->users[q->user].first_interest]);
				break;
			case 2:
				q->interest = pick_interest(s, &q->ru, q->user);
				__builtin_prefetch(&s->nb_row[q->interest]);
				prefetch_row(w, q->interest);
				break;
			case 3:
				q->slot = pick_first_slot(s, &q->ru, jobs[i].index, q->user, q->interest);
				__builtin_prefetch(&s->nb[q->slot]);
				break;
			default:
				q->first = s->nb[q->slot];
				__builtin_prefetch(&w->artist[q->first]);
				break;
			}
		}
	}
}

int botify_sim_episodes(const botify_sim *s, botify_sim_worker *wk, const botify_sim_job *jobs,
			int64_t n, botify_event_buf *rows, int measure_latency, botify_episode *eps,
			botify_err *err)
{
	struct botify_sim_lanes *L = wk->lanes;
	if (!L || n < 2) {
		for (int64_t j = 0; j < n; j++)
			if (botify_sim_episode(s, wk, jobs[j].index, jobs[j].arm, rows, measure_latency, &eps[j],
					       err) != 0)
				return -1;
		return 0;
	}
	if (rows && BOTIFY_ALLOC_GROW(L->seg, 2 * (size_t)n, L->seg_cap, "event buffer", err))
		return -1;
	L->done.n = 0;
	/* the first job that failed, whose error is the call's: jobs after it
	 * are dropped, jobs before it still run (one of them may fail first) */
	int64_t next = 0, fail = n, staged[PRE_STAGES] = {0};
	botify_err ferr = {0}, e; /* e: set by what fails, not cleared per step (it is large) */
	for (int l = 0; l < LANES; l++) {
		L->job[l] = -1;
		L->rows[l].n = 0;
	}
	for (int busy = 1; busy;) {
		busy = 0;
		for (int l = 0; l < LANES; l++) {
			struct ep *p = &L->ep[l];
			int64_t j = L->job[l];
			int rc;
			if (j >= 0 && j < fail) {
				/* the user hears the pending recommendation, whose row was
				 * prefetched a turn ago, and the next one is asked for */
				rc = ep_listen(s, p) ? 1 : ep_call(s, p, measure_latency, &e);
				if (rc == 0) {
					prefetch_track(s->world, p->next);
					busy = 1;
					continue;
				}
				if (rc > 0)
					rc = ep_end(p, measure_latency, &eps[j], &e);
				if (rc == 0 && rows)
					rc = lane_keep_rows(L, l, j, &e);
				if (rc != 0 && j < fail) {
					fail = j;
					ferr = e;
				}
			}
			L->job[l] = -1;
			L->rows[l].n = 0;
			/* the lane is free: the next job, until one asks for a track */
			while (next < n && next < fail) {
				j = next++;
				pre_pick(s, L, jobs, n, j, staged);
				const struct pre *q = &L->pre[j % PRE];
				int32_t *h = L->hist + (size_t)l * 2 * L->hist_cap;
				ep_start(s, wk, p, jobs[j].index, jobs[j].arm, &q->ru, q->user, q->interest,
					 q->first, L->state[l], h, h + L->hist_cap, rows ? &L->rows[l] : NULL);
				rc = ep_call(s, p, measure_latency, &e);
				if (rc == 0) {
					L->job[l] = j;
					prefetch_track(s->world, p->next);
					busy = 1;
					break;
				}
				if (rc > 0) /* capped before its first call */
					rc = ep_end(p, measure_latency, &eps[j], &e);
				if (rc == 0 && rows)
					rc = lane_keep_rows(L, l, j, &e);
				L->rows[l].n = 0;
				if (rc != 0 && j < fail) {
					fail = j;
					ferr = e;
				}
			}
		}
	}
	if (fail < n) {
		*err = ferr;
		return -1;
	}
	if (!rows)
		return 0;
	if (BOTIFY_ALLOC_GROW(rows->ev, rows->n + L->done.n, rows->cap, "event buffer", err))
		return -1;
	for (int64_t j = 0; j < n; j++) {
		memcpy(rows->ev + rows->n, L->done.ev + L->seg[2 * j], L->seg[2 * j + 1] * sizeof(*rows->ev));
		rows->n += L->seg[2 * j + 1];
	}
	return 0;
}
