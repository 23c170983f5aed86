/*
 * simrun.c - the ordered parallel pipeline: simulate -> timestamp+format
 * (+gzip) -> write, chunk by chunk.
 */
#include "simrun.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK_EPISODES = 256, SLOTS_PER_THREAD = 4, MAX_THREADS = 256 };
enum { SLOT_FREE, SLOT_SIMULATING, SLOT_SIMULATED, SLOT_FORMATTING, SLOT_FORMATTED };

struct slot {
	int64_t chunk;
	int state;
	int64_t ts0;                   /* timestamp of the chunk's first row */
	botify_event_buf rows;
	botify_arm_stats stats[BOTIFY_MAX_ARMS];
	char *text;                    /* formatted rows */
	size_t text_len, text_cap;
	unsigned char *gz;             /* the rows as one gzip member */
	size_t gz_len, gz_cap;
};

struct run {
	const botify_sim *sim;
	const botify_simrun_opts *o;
	botify_simrun_result *res;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct slot *slots;
	int n_slots;
	int64_t n_chunks;
	int64_t next_sim;     /* next chunk to simulate */
	int64_t next_offset;  /* chunks below this have their timestamps */
	int64_t next_write;   /* next chunk to hand to the writer */
	int64_t ts_next;
	int writing;
	int failed;
	botify_err err;
	int need_rows;
};

static void fail_run(struct run *r, const botify_err *err)
{
	if (!r->failed) {
		r->failed = 1;
		r->err = *err;
	}
	pthread_cond_broadcast(&r->cv);
}

static int simulate_chunk(struct run *r, botify_sim_worker *wk, struct slot *sl, botify_err *err)
{
	const botify_simrun_opts *o = r->o;
	int64_t lo = sl->chunk * CHUNK_EPISODES, hi = lo + CHUNK_EPISODES;
	if (hi > o->episodes)
		hi = o->episodes;
	sl->rows.n = 0;
	memset(sl->stats, 0, sizeof(sl->stats));
	/* a paired run plays each episode under every arm, starting at a
	 * different arm each episode so that whatever the first call warms up
	 * (caches, a child process) favours no arm's latency */
	int runs = r->sim->paired ? r->sim->n_arms : 1;
	for (int64_t k = lo * runs; k < hi * runs; k++) {
		int64_t i = k / runs;
		int arm = r->sim->paired ? (int)((i + k % runs) % runs) : -1;
		botify_episode ep;
		if (botify_sim_episode(r->sim, wk, i, arm, r->need_rows ? &sl->rows : NULL,
				       o->measure_latency, &ep, err) != 0)
			return -1;
		botify_arm_stats *st = &sl->stats[ep.arm];
		double tracks = (double)(ep.steps + 1);
		st->episodes++;
		st->steps += ep.steps;
		st->capped += ep.capped;
		st->tracks_sum += tracks;
		st->tracks_sq += tracks * tracks;
		st->time_sum += ep.time;
		st->time_sq += ep.time * ep.time;
	}
	return 0;
}

static int format_chunk(struct run *r, struct slot *sl, botify_err *err)
{
	const botify_simrun_opts *o = r->o;
	for (size_t i = 0; i < sl->rows.n; i++)
		sl->rows.ev[i].timestamp = sl->ts0 + (int64_t)i;
	if (!o->log)
		return 0;
	size_t need = sl->rows.n * BOTIFY_EVENT_MAX_LINE;
	if (need > sl->text_cap) {
		char *p = botify_realloc(sl->text, need, 1, "log buffer", err);
		if (!p)
			return -1;
		sl->text = p;
		sl->text_cap = need;
	}
	const char *exp = botify_sim_experiment_name(r->sim);
	size_t len = 0;
	for (size_t i = 0; i < sl->rows.n; i++)
		len += botify_event_format(sl->text + len, &sl->rows.ev[i], exp);
	sl->text_len = len;
	if (o->log->gzip) {
		sl->gz_len = 0;
		if (len && botify_gzip_member(sl->text, len, o->gzip_level ? o->gzip_level : 1, &sl->gz,
					      &sl->gz_len, &sl->gz_cap, err) != 0)
			return -1;
	}
	return 0;
}

static int write_chunk(struct run *r, struct slot *sl, botify_err *err)
{
	const botify_simrun_opts *o = r->o;
	if (o->log) {
		int rc = o->log->gzip ? botify_outfile_write_raw(o->log, sl->gz, sl->gz_len, err)
				      : botify_outfile_write_raw(o->log, sl->text, sl->text_len, err);
		if (rc != 0)
			return -1;
	}
	if (o->on_rows && sl->rows.n && o->on_rows(o->rows_ctx, sl->rows.ev, sl->rows.n, err) != 0)
		return -1;
	botify_simrun_result *res = r->res;
	for (int a = 0; a < BOTIFY_MAX_ARMS; a++) {
		botify_arm_stats *d = &res->arm[a];
		const botify_arm_stats *s = &sl->stats[a];
		d->episodes += s->episodes;
		d->steps += s->steps;
		d->capped += s->capped;
		d->tracks_sum += s->tracks_sum;
		d->tracks_sq += s->tracks_sq;
		d->time_sum += s->time_sum;
		d->time_sq += s->time_sq;
		res->steps += s->steps;
	}
	/* a row per recommendation plus a "last" row per session, whether or
	 * not the rows were materialised */
	for (int a = 0; a < BOTIFY_MAX_ARMS; a++)
		res->rows += sl->stats[a].steps + sl->stats[a].episodes;
	if (o->progress) {
		int64_t done = (sl->chunk + 1) * CHUNK_EPISODES;
		o->progress(o->progress_ctx, done < o->episodes ? done : o->episodes, o->episodes);
	}
	return 0;
}

/* With the lock held: hands finished chunks to the writer in order. The
 * writer drops the lock while writing; `writing` keeps it single. */
static void drain_writes(struct run *r)
{
	if (r->writing)
		return;
	r->writing = 1;
	while (!r->failed && r->next_write < r->n_chunks) {
		struct slot *sl = &r->slots[r->next_write % r->n_slots];
		if (sl->chunk != r->next_write || sl->state != SLOT_FORMATTED)
			break;
		pthread_mutex_unlock(&r->mu);
		botify_err err = {0};
		int rc = write_chunk(r, sl, &err);
		pthread_mutex_lock(&r->mu);
		if (rc != 0) {
			fail_run(r, &err);
			break;
		}
		sl->state = SLOT_FREE;
		r->next_write++;
		pthread_cond_broadcast(&r->cv);
	}
	r->writing = 0;
}

/* With the lock held: gives timestamps to every chunk whose predecessors
 * are all simulated. */
static void assign_offsets(struct run *r)
{
	while (r->next_offset < r->n_chunks) {
		struct slot *sl = &r->slots[r->next_offset % r->n_slots];
		if (sl->chunk != r->next_offset || sl->state < SLOT_SIMULATED)
			return;
		sl->ts0 = r->ts_next;
		r->ts_next += (int64_t)sl->rows.n;
		r->next_offset++;
	}
}

struct worker_arg {
	struct run *run;
};

static void *worker(void *arg)
{
	struct run *r = ((struct worker_arg *)arg)->run;
	botify_sim_worker wk;
	botify_err err = {0};
	if (botify_sim_worker_init(&wk, r->sim, r->o->recs, &err) != 0) {
		pthread_mutex_lock(&r->mu);
		fail_run(r, &err);
		pthread_mutex_unlock(&r->mu);
		return NULL;
	}
	pthread_mutex_lock(&r->mu);
	for (;;) {
		if (r->failed)
			break;
		if (r->o->stop && *r->o->stop) {
			botify_fail(&err, BOTIFY_EINTR, "interrupted");
			fail_run(r, &err);
			break;
		}
		/* formatting first: it unblocks the writer and frees slots */
		struct slot *job = NULL;
		for (int64_t c = r->next_write; c < r->next_offset; c++) {
			struct slot *sl = &r->slots[c % r->n_slots];
			if (sl->chunk == c && sl->state == SLOT_SIMULATED) {
				job = sl;
				break;
			}
		}
		if (job) {
			job->state = SLOT_FORMATTING;
			pthread_mutex_unlock(&r->mu);
			int rc = format_chunk(r, job, &err);
			pthread_mutex_lock(&r->mu);
			if (rc != 0) {
				fail_run(r, &err);
				break;
			}
			job->state = SLOT_FORMATTED;
			drain_writes(r);
			continue;
		}
		if (r->next_sim < r->n_chunks && r->next_sim < r->next_write + r->n_slots) {
			struct slot *sl = &r->slots[r->next_sim % r->n_slots];
			sl->chunk = r->next_sim++;
			sl->state = SLOT_SIMULATING;
			pthread_mutex_unlock(&r->mu);
			int rc = simulate_chunk(r, &wk, sl, &err);
			pthread_mutex_lock(&r->mu);
			if (rc != 0) {
				fail_run(r, &err);
				break;
			}
			sl->state = SLOT_SIMULATED;
			assign_offsets(r);
			pthread_cond_broadcast(&r->cv);
			continue;
		}
		if (r->next_write >= r->n_chunks)
			break;
		pthread_cond_wait(&r->cv, &r->mu);
	}
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	botify_sim_worker_free(&wk);
	return NULL;
}

int botify_simrun(const botify_sim *s, const botify_simrun_opts *o, botify_simrun_result *res,
		  botify_err *err)
{
	memset(res, 0, sizeof(*res));
	int threads = o->threads < 1 ? 1 : o->threads > MAX_THREADS ? MAX_THREADS : o->threads;
	struct run r = {
		.sim = s, .o = o, .res = res,
		.n_chunks = (o->episodes + CHUNK_EPISODES - 1) / CHUNK_EPISODES,
		.ts_next = BOTIFY_TIMESTAMP_BASE + s->day * BOTIFY_MS_PER_DAY,
		.need_rows = o->log || o->on_rows,
	};
	if (r.n_chunks == 0)
		return 0;
	if (threads > r.n_chunks)
		threads = (int)r.n_chunks;
	r.n_slots = threads * SLOTS_PER_THREAD;
	r.slots = botify_calloc((size_t)r.n_slots, sizeof(struct slot), "chunk buffers", err);
	if (!r.slots)
		return -1;
	for (int i = 0; i < r.n_slots; i++)
		r.slots[i].chunk = -1;
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);

	pthread_t tid[MAX_THREADS];
	struct worker_arg arg = { &r };
	int started = 0;
	for (int t = 1; t < threads; t++) {
		if (pthread_create(&tid[started], NULL, worker, &arg) != 0)
			break; /* fewer threads is slower, not wrong */
		started++;
	}
	worker(&arg);
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);

	for (int i = 0; i < r.n_slots; i++) {
		free(r.slots[i].rows.ev);
		free(r.slots[i].text);
		free(r.slots[i].gz);
	}
	free(r.slots);
	pthread_mutex_destroy(&r.mu);
	pthread_cond_destroy(&r.cv);
	if (r.failed) {
		*err = r.err;
		return -1;
	}
	return 0;
}

void botify_mean_sem(double sum, double sq, int64_t n, double *mean, double *sem)
{
	*mean = n > 0 ? sum / (double)n : NAN;
	if (n < 2) {
		*sem = NAN;
		return;
	}
	double var = (sq - sum * sum / (double)n) / (double)(n - 1);
	*sem = sqrt(var > 0 ? var / (double)n : 0);
}
