/*
 * simrun.h - running many episodes on several threads with output that is
 * the same for any thread count.
 *
 * Episodes are cut into fixed chunks (independent of the thread count).
 * Threads simulate chunks into event buffers; once every earlier chunk's row
 * count is known, a chunk's rows get their timestamps (one ms per row from
 * the day's base) and are formatted, and compressed for .gz logs, by
 * whichever thread is free; a single writer then emits chunks strictly in
 * order. Statistics are merged in chunk order too, so sums are bit-identical.
 *
 * In a job of several ranks (dist.h), chunk c is simulated by rank c % size;
 * the others send their chunks' rows and statistics to rank 0, which
 * timestamps, formats, writes and merges every chunk in order as above: the
 * log, the statistics and on_rows are those of one process. Only rank 0's
 * result and callbacks mean anything.
 */
#ifndef BOTIFY_SIMRUN_H
#define BOTIFY_SIMRUN_H

#include <signal.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "outfile.h"
#include "sim.h"
#include "stats.h"

typedef struct botify_arm_stats {
	int64_t episodes;
	int64_t steps;       /* recommendations */
	int64_t capped;      /* sessions ended by max_steps */
	botify_moments tracks;  /* tracks per session = steps + 1 */
	botify_moments time;    /* listen time per session, first track included */
} botify_arm_stats;

typedef struct botify_simrun_opts {
	int64_t episodes;
	int threads;
	botify_rec *const *recs;       /* one per arm of the sim */
	botify_outfile *log;           /* an open log, or NULL */
	int gzip_level;                /* for .gz logs; 0 means 1: logs are big and
					 * level 1 compresses 2x faster than 6 for ~30% more bytes */
	int measure_latency;           /* time recommender calls (for the log) */
	/* called in episode order with timestamped rows, from one thread at a time */
	int (*on_rows)(void *ctx, const botify_event *ev, size_t n, botify_err *err);
	void *rows_ctx;
	/* called after each chunk is written, from one thread at a time */
	void (*progress)(void *ctx, int64_t done, int64_t total);
	void *progress_ctx;
	volatile sig_atomic_t *stop;   /* set asynchronously to stop early (EINTR) */
} botify_simrun_opts;

typedef struct botify_simrun_result {
	botify_arm_stats arm[BOTIFY_MAX_ARMS];
	int64_t rows;
	int64_t steps;
} botify_simrun_result;

/* Runs episodes [0, o->episodes) of s (prepared with botify_sim_prepare). */
int botify_simrun(const botify_sim *s, const botify_simrun_opts *o, botify_simrun_result *res,
		  botify_err *err);

/* Prepares the interest neighbours of the episodes of [0, episodes) this
 * rank simulates (all of them in a job of one), as botify_sim_prepare_until. */
int botify_simrun_prepare(botify_sim *s, int64_t episodes, int threads,
			  volatile sig_atomic_t *stop, botify_err *err);

#endif
