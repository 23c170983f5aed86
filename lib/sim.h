/*
 * sim.h - the user simulator: one episode = one listening session, with the
 * exact semantics of the original gym simulator (docs/USERMODEL.md):
 *
 *  1. a uniform user, one of their interests uniformly; the session
 *     embedding s is that interest track's embedding;
 *  2. the first track is uniform among the user's interest_neighbours tracks
 *     with the largest inner product with s; it counts as played, time 1.0;
 *  3. each recommendation is listened for 0.0 if already played in the
 *     session, else round(sigmoid((E[t].s - bias) * sharpness) * gamma^k, 2)
 *     with k = tracks of that artist already played; then the budget drops
 *     by one when a U(0,1) draw exceeds the time; the session ends at 0;
 *  4. a final "last" call lets the recommender drop session state.
 *
 * Every episode draws from its own streams derived from (seed, day, episode
 * index): the user's choices from one, the recommender's from another, so a
 * run is the same whatever the number of threads.
 *
 * Under a paired experiment every episode runs once per arm with common
 * random numbers: the same user stream (user, interest, first track and the
 * per-step draws, so two arms that recommend alike play alike), while each
 * arm's recommender draws from a stream of its own (arm 0 from the one an
 * unpaired run uses), so two identical random recommenders still differ.
 */
#ifndef BOTIFY_SIM_H
#define BOTIFY_SIM_H

#include <signal.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "experiment.h"
#include "rec.h"
#include "simcfg.h"
#include "world.h"

/* A user's parameters after configs/sim.json defaults are applied. */
typedef struct botify_sim_user {
	double bias;
	double sharpness;
	double gamma;
	int32_t neighbours;   /* clamped to the catalog size */
	int32_t budget;
} botify_sim_user;

typedef struct botify_sim {
	const botify_world *world;   /* borrowed */
	botify_simcfg cfg;
	uint64_t seed;
	int64_t day;
	botify_rng_key day_key;      /* the episodes' streams' key up to (seed, day) */
	botify_sim_user *users;      /* (U) */
	int32_t K;                   /* neighbours kept per interest: max over users */
	int32_t *nb_row;             /* (N) row of a track in nb when it is a prepared interest, else -1 */
	int32_t *nb;                 /* (rows, K) neighbours, best first */
	int64_t nb_rows;
	botify_experiment experiment;
	int n_arms;                  /* 1 without an experiment */
	int8_t *arm_of_user;         /* (U) arm index; NULL without a split experiment */
	int paired;                  /* every episode under every arm */
	struct botify_sim_index_job *index_job; /* the catalog's index being built, or NULL */
} botify_sim;

/* Resolves every user's parameters (cfg defaults for absent fields).
 * experiment may be NULL (a single arm). */
int botify_sim_init(botify_sim *s, const botify_world *w, const botify_simcfg *cfg,
		    uint64_t seed, int64_t day, const botify_experiment *experiment,
		    botify_err *err);
void botify_sim_free(botify_sim *s);

/* Finds the distinct interests that episodes [0, episodes) will use and
 * computes their neighbours in one batch on `threads` threads. Must run
 * before those episodes. A track's neighbours are the K tracks of the
 * highest botify_sim_dot with it, ties to the lower id (botify_topk_search:
 * exact, whatever the batch or the thread count). */
int botify_sim_prepare(botify_sim *s, int64_t episodes, int threads, botify_err *err);
/* The same, stopping with BOTIFY_EINTR within milliseconds once *stop is set
 * (stop may be NULL); a stopped or failed call prepares nothing. */
int botify_sim_prepare_until(botify_sim *s, int64_t episodes, int threads,
			     volatile sig_atomic_t *stop, botify_err *err);
/* The same for the episodes of chunks part, part + parts, part + 2 parts...
 * of chunk episodes each: what one of parts ranks simulates. */
int botify_sim_prepare_part(botify_sim *s, int64_t episodes, int64_t chunk, int part, int parts,
			    int threads, volatile sig_atomic_t *stop, botify_err *err);

/* Starts building the catalog's index for the neighbour search on threads
 * of its own (`threads` of them), so that the caller's work until the
 * search (the neighbour cache's key, prepare's look-ahead) runs beside it:
 * worth it when the neighbours are not in a cache, as after generating the
 * world. The next prepare takes the index (waiting for it) and frees it,
 * searching or not; botify_sim_free waits for it too. Nothing changes but
 * the timing: -1 when no thread could start (prepare builds its own). */
int botify_sim_index_start(botify_sim *s, int threads);

/* Per-thread scratch: the session history and each arm's recommender state. */
typedef struct botify_sim_worker {
	int32_t *hist_track;
	int32_t *hist_artist;
	void *rec_worker[BOTIFY_MAX_ARMS];
	void *rec_state[BOTIFY_MAX_ARMS];
	int n_arms;
	botify_rec *const *recs;
	struct botify_sim_lanes *lanes; /* botify_sim_episodes' episodes in flight, or NULL */
} botify_sim_worker;

/* recs[arm] for every arm of s; borrowed for the worker's lifetime. */
int botify_sim_worker_init(botify_sim_worker *wk, const botify_sim *s, botify_rec *const *recs,
			   botify_err *err);
void botify_sim_worker_free(botify_sim_worker *wk);

/* A growable array of events (the rows of one chunk of episodes). */
typedef struct botify_event_buf {
	botify_event *ev;
	size_t n, cap;
} botify_event_buf;

/* What an episode did. */
typedef struct botify_episode {
	int64_t user;
	int arm;
	int64_t steps;      /* recommendations made */
	double time;        /* listen time of the session, first track included */
	int capped;         /* ended by max_steps */
} botify_episode;

/* Runs episode `index` under `arm`, or under the user's assigned arm when
 * arm is -1 (a paired sim needs an arm). Appends its rows (timestamps left
 * 0) to rows when non-NULL; measures recommender latency when
 * measure_latency. */
int botify_sim_episode(const botify_sim *s, botify_sim_worker *wk, int64_t index, int arm,
		       botify_event_buf *rows, int measure_latency, botify_episode *ep,
		       botify_err *err);

/* An episode to run: its index and arm (-1: the user's), as botify_sim_episode takes them. */
typedef struct botify_sim_job {
	int64_t index;
	int arm;
} botify_sim_job;

/* Runs jobs[0..n) with the results of botify_sim_episode on each in turn:
 * eps[j] for job j, its rows appended in job order; a failure is the one
 * of the first failing job. Several episodes are in flight at a time when
 * the recommenders allow it (none with per-thread resources), so that
 * their reads of the catalog overlap. */
int botify_sim_episodes(const botify_sim *s, botify_sim_worker *wk, const botify_sim_job *jobs,
			int64_t n, botify_event_buf *rows, int measure_latency, botify_episode *eps,
			botify_err *err);

/* The experiment name rows carry, or NULL for a run without one. */
const char *botify_sim_experiment_name(const botify_sim *s);

/* The listen time of a track not yet played in the session, with
 * artist_plays tracks of its artist played: round(sigmoid((score - bias) *
 * sharpness) * gamma^artist_plays, 2) as numpy.around rounds. */
double botify_sim_listen_time(const botify_sim_user *u, float score, int artist_plays);

/* The inner product the simulator uses (fixed summation order): eight
 * partial sums, sum j of the products d with d % 8 == j in order of d,
 * then ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7)). Vectorised
 * where the CPU allows, always the same bits. */
float botify_sim_dot(const float *a, const float *b, int32_t D);
/* The same without vector instructions: what the tests hold
 * botify_sim_dot to. */
float botify_sim_dot_portable(const float *a, const float *b, int32_t D);

#endif
