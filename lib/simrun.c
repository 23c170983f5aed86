/*
 * simrun.c - the ordered parallel pipeline: simulate -> timestamp+format
 * (+gzip) -> write, chunk by chunk.
 *
 * A chunk's slot moves through states; each move is a step (struct step)
 * that run_step runs without the lock and records with it: simulate, format
 * and write in the workers, and between ranks send (another rank) or receive
 * (rank 0), taken in chunk order by the one hand_over loop.
 */
#include "simrun.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"

enum { CHUNK_EPISODES = 256, SLOTS_PER_THREAD = 4, MAX_THREADS = 256 };
/* SLOT_REMOTE: on rank 0 of several, a chunk another rank simulates, whose
 * rows the receiving thread is waiting for */
enum { SLOT_FREE, SLOT_SIMULATING, SLOT_REMOTE, SLOT_SIMULATED, SLOT_FORMATTING, SLOT_FORMATTED };

/* What a rank sends rank 0 for each chunk it simulated, then the rows; or,
 * with chunk -1, its failure: rank 0 then ends the run with that error,
 * removing its temporary files before it ends the job. */
struct chunk_head {
	int64_t chunk;
	int64_t n_rows;
	botify_arm_stats stats[BOTIFY_MAX_ARMS];
	botify_err err;
};

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
	botify_sim_job *jobs;          /* the chunk's episodes */
	size_t jobs_cap;
	botify_episode *eps;           /* and what each did */
	size_t eps_cap;
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
	/* Several ranks: chunk c belongs to rank c % size. Rank 0 runs the
	 * whole pipeline over every chunk, taking other ranks' chunks from the
	 * network; another rank's slots hold only its own chunks, numbered
	 * locally (local j is chunk j * size + rank), and go to rank 0 unformatted. */
	int rank, size;
	volatile sig_atomic_t cancel; /* r->failed, for the thread waiting on another rank */
	const struct step *failed_step; /* the step whose error is r->err, if one */
};

/* A stage of a chunk's way through the pipeline: `run` without the lock (wk
 * is the calling worker's, NULL outside the workers), then `done` with it,
 * which moves the slot on. */
struct step {
	int (*run)(struct run *r, struct slot *sl, botify_sim_worker *wk, botify_err *err);
	void (*done)(struct run *r, struct slot *sl);
};

static int64_t global_chunk(const struct run *r, int64_t local)
{
	return r->rank == 0 ? local : local * r->size + r->rank;
}

static void fail_run(struct run *r, const botify_err *err)
{
	if (!r->failed) {
		r->failed = 1;
		r->err = *err;
		r->cancel = 1;
	}
	pthread_cond_broadcast(&r->cv);
}

static void add_stats(botify_arm_stats *d, const botify_arm_stats *s)
{
	d->episodes += s->episodes;
	d->steps += s->steps;
	d->capped += s->capped;
	botify_moments_merge(&d->tracks, &s->tracks);
	botify_moments_merge(&d->time, &s->time);
}

static int simulate_chunk(struct run *r, struct slot *sl, botify_sim_worker *wk, botify_err *err)
{
	const botify_simrun_opts *o = r->o;
	int64_t lo = global_chunk(r, sl->chunk) * CHUNK_EPISODES, hi = lo + CHUNK_EPISODES;
	if (hi > o->episodes)
		hi = o->episodes;
	sl->rows.n = 0;
	memset(sl->stats, 0, sizeof(sl->stats));
	/* a paired run plays each episode under every arm, starting at a
	 * different arm each episode so that whatever the first call warms up
	 * (caches, a child process) favours no arm's latency */
	int runs = r->sim->paired ? r->sim->n_arms : 1;
	size_t n = (size_t)(hi - lo) * (size_t)runs;
	if (BOTIFY_ALLOC_GROW(sl->jobs, n, sl->jobs_cap, "chunk episodes", err) ||
	    BOTIFY_ALLOC_GROW(sl->eps, n, sl->eps_cap, "chunk episodes", err))
		return -1;
	for (int64_t k = lo * runs; k < hi * runs; k++) {
		int64_t i = k / runs;
		sl->jobs[k - lo * runs] = (botify_sim_job){
			i, r->sim->paired ? (int)((i + k % runs) % runs) : -1 };
	}
	if (botify_sim_episodes(r->sim, wk, sl->jobs, (int64_t)n, r->need_rows ? &sl->rows : NULL,
				o->measure_latency, sl->eps, err) != 0)
		return -1;
	for (size_t j = 0; j < n; j++) {
		const botify_episode *ep = &sl->eps[j];
		double tracks = (double)(ep->steps + 1);
		botify_arm_stats *st = &sl->stats[ep->arm];
		st->episodes++;
		st->steps += ep->steps;
		st->capped += ep->capped;
		botify_moments_add(&st->tracks, tracks);
		botify_moments_add(&st->time, ep->time);
	}
	return 0;
}

static int format_chunk(struct run *r, struct slot *sl, botify_sim_worker *wk, botify_err *err)
{
	(void)wk;
	const botify_simrun_opts *o = r->o;
	for (size_t i = 0; i < sl->rows.n; i++)
		sl->rows.ev[i].timestamp = sl->ts0 + (int64_t)i;
	if (!o->log)
		return 0;
	size_t need = sl->rows.n * BOTIFY_EVENT_MAX_LINE;
	if (BOTIFY_ALLOC_GROW(sl->text, need, sl->text_cap, "log buffer", err))
		return -1;
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

static int write_chunk(struct run *r, struct slot *sl, botify_sim_worker *wk, botify_err *err)
{
	(void)wk;
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
		add_stats(&res->arm[a], &sl->stats[a]);
		res->steps += sl->stats[a].steps;
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

/* With the lock held: runs st on sl without the lock and, with it again,
 * moves sl on; a failure fails the run instead (-1). */
static int run_step(struct run *r, struct slot *sl, const struct step *st, botify_sim_worker *wk)
{
	botify_err err = {0};
	pthread_mutex_unlock(&r->mu);
	int rc = st->run(r, sl, wk, &err);
	pthread_mutex_lock(&r->mu);
	if (rc != 0) {
		if (!r->failed)
			r->failed_step = st;
		fail_run(r, &err);
		return -1;
	}
	st->done(r, sl);
	pthread_cond_broadcast(&r->cv);
	return 0;
}

/* With the lock held: gives timestamps to every chunk whose predecessors
 * are all simulated. */
static void assign_offsets(struct run *r)
{
	if (r->rank != 0)
		return; /* rank 0 gives every row its timestamp */
	while (r->next_offset < r->n_chunks) {
		struct slot *sl = &r->slots[r->next_offset % r->n_slots];
		if (sl->chunk != r->next_offset || sl->state < SLOT_SIMULATED)
			return;
		sl->ts0 = r->ts_next;
		r->ts_next += (int64_t)sl->rows.n;
		r->next_offset++;
	}
}

static void simulated(struct run *r, struct slot *sl)
{
	sl->state = SLOT_SIMULATED;
	assign_offsets(r);
}

/* written to the log, or sent to rank 0: the slot is free again */
static void written(struct run *r, struct slot *sl)
{
	sl->state = SLOT_FREE;
	r->next_write++;
}

static const struct step write_step = { write_chunk, written };

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
		if (run_step(r, sl, &write_step, NULL) != 0)
			break;
	}
	r->writing = 0;
}

static void formatted(struct run *r, struct slot *sl)
{
	sl->state = SLOT_FORMATTED;
	drain_writes(r);
}

static const struct step simulate_step = { simulate_chunk, simulated };
static const struct step format_step = { format_chunk, formatted };

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
			if (run_step(r, job, &format_step, &wk) != 0)
				break;
			continue;
		}
		if (r->next_sim < r->n_chunks && r->next_sim < r->next_write + r->n_slots) {
			struct slot *sl = &r->slots[r->next_sim % r->n_slots];
			sl->chunk = r->next_sim++;
			if (r->rank == 0 && sl->chunk % r->size != 0) {
				sl->state = SLOT_REMOTE;
				pthread_cond_broadcast(&r->cv);
				continue;
			}
			sl->state = SLOT_SIMULATING;
			if (run_step(r, sl, &simulate_step, &wk) != 0)
				break;
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

/* Another rank: a simulated chunk's statistics and rows to rank 0. */
static int send_chunk(struct run *r, struct slot *sl, botify_sim_worker *wk, botify_err *err)
{
	(void)wk;
	struct chunk_head h = { .chunk = global_chunk(r, sl->chunk), .n_rows = (int64_t)sl->rows.n };
	memset(&h.err, 0, sizeof(h.err));
	memcpy(h.stats, sl->stats, sizeof(h.stats));
	/* not cancelled by a worker's failure: a send left half done would
	 * read the rows after they are freed; rank 0 takes it, then the error */
	int rc = botify_dist_send(0, &h, sizeof(h), r->o->stop, NULL, err);
	if (rc == 0 && sl->rows.n)
		rc = botify_dist_send(0, sl->rows.ev, sl->rows.n * sizeof(botify_event), r->o->stop,
				      NULL, err);
	return rc;
}

/* Rank 0 of several: the chunk sl waits for from the rank that simulated it. */
static int recv_chunk(struct run *r, struct slot *sl, botify_sim_worker *wk, botify_err *err)
{
	(void)wk;
	int src = (int)(sl->chunk % r->size);
	struct chunk_head h;
	if (botify_dist_recv(src, &h, sizeof(h), r->o->stop, &r->cancel, err) != 0)
		return -1;
	if (h.chunk == -1) {
		h.err.msg[sizeof(h.err.msg) - 1] = 0;
		*err = h.err;
		botify_err_prefix(err, "rank %d", src);
		return -1;
	}
	if (h.chunk != sl->chunk || h.n_rows < 0 || (h.n_rows && !r->need_rows))
		return botify_fail(err, BOTIFY_ERUNTIME, "rank %d sent chunk %lld (%lld rows) where "
				   "chunk %lld was due", src, (long long)h.chunk, (long long)h.n_rows,
				   (long long)sl->chunk);
	if (BOTIFY_ALLOC_GROW(sl->rows.ev, (size_t)h.n_rows, sl->rows.cap, "chunk rows", err))
		return -1;
	sl->rows.n = (size_t)h.n_rows;
	memcpy(sl->stats, h.stats, sizeof(sl->stats));
	if (h.n_rows && botify_dist_recv(src, sl->rows.ev, sl->rows.n * sizeof(botify_event),
					 r->o->stop, &r->cancel, err) != 0)
		return -1;
	return 0;
}

static const struct step send_step = { send_chunk, written };
static const struct step recv_step = { recv_chunk, simulated };

/* The thread that talks to the other ranks (MPI is called from one thread
 * only): every chunk that crosses between ranks, in chunk order (each rank
 * sends its own in order, so every receive is the one due next), once its
 * slot is in state `from`. Rank 0 receives the chunks of the others; another
 * rank sends all of its own. */
static void hand_over(struct run *r, int from, const struct step *st)
{
	pthread_mutex_lock(&r->mu);
	for (int64_t c = 0; c < r->n_chunks && !r->failed; c++) {
		if (r->rank == 0 && c % r->size == 0)
			continue; /* simulated here */
		struct slot *sl = &r->slots[c % r->n_slots];
		while (!r->failed && !(sl->chunk == c && sl->state == from))
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->failed || run_step(r, sl, st, NULL) != 0)
			break;
	}
	pthread_mutex_unlock(&r->mu);
}

/* Another rank: sends its chunks to rank 0 in order as they are simulated. */
static void send_chunks(struct run *r)
{
	hand_over(r, SLOT_SIMULATED, &send_step);
	/* a worker's failure goes to rank 0, which is waiting for this rank's
	 * next chunk; a failed send (the job is ending) has nobody to tell */
	pthread_mutex_lock(&r->mu);
	int tell = r->failed && r->failed_step != &send_step;
	struct chunk_head h = { .chunk = -1, .err = r->err };
	pthread_mutex_unlock(&r->mu);
	if (tell) {
		memset(h.stats, 0, sizeof(h.stats));
		botify_err e = {0};
		if (botify_dist_send(0, &h, sizeof(h), r->o->stop, NULL, &e) == 0)
			botify_dist_set_handed_over();
	}
}

int botify_simrun_prepare(botify_sim *s, int64_t episodes, int threads,
			  volatile sig_atomic_t *stop, botify_err *err)
{
	return botify_sim_prepare_part(s, episodes, CHUNK_EPISODES, botify_dist_rank(),
				       botify_dist_size(), threads, stop, err);
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
		.rank = botify_dist_rank(),
		.size = botify_dist_size(),
	};
	/* only rank 0 writes the log or reads the rows: the others learn
	 * whether to keep rows from it */
	if (botify_dist_bcast_int(&r.need_rows, err) != 0)
		return -1;
	if (r.rank > 0)
		r.n_chunks = r.n_chunks > r.rank ? (r.n_chunks - r.rank + r.size - 1) / r.size : 0;
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
	/* with several ranks this thread talks to the others (MPI is called
	 * from one thread only) and `threads` workers simulate */
	for (int t = r.size > 1 ? 0 : 1; t < threads; t++) {
		if (pthread_create(&tid[started], NULL, worker, &arg) != 0)
			break; /* fewer threads is slower, not wrong */
		started++;
	}
	if (r.size == 1)
		worker(&arg);
	else if (started == 0)
		fail_run(&r, &(botify_err){ .code = BOTIFY_ERUNTIME, .msg = "cannot start a thread" });
	else if (r.rank == 0)
		hand_over(&r, SLOT_REMOTE, &recv_step);
	else
		send_chunks(&r);
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);

	for (int i = 0; i < r.n_slots; i++) {
		free(r.slots[i].rows.ev);
		free(r.slots[i].text);
		free(r.slots[i].gz);
		free(r.slots[i].jobs);
		free(r.slots[i].eps);
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
