/*
 * simsetup.h - one simulation run from command-line options: the part that
 * `botify simulate` and the one-command experiment of `botify ab` share
 * (user-model config, world, recommenders, simulator, interest neighbours
 * with their cache, an optional log written atomically, the run with its
 * progress bar).
 */
#ifndef BOTIFY_SIMSETUP_H
#define BOTIFY_SIMSETUP_H

#include <stdint.h>

#include "armset.h"
#include "err.h"
#include "outfile.h"
#include "rec.h"
#include "simcfg.h"
#include "simrun.h"
#include "world.h"
#include "worldcache.h"

struct sim_setup_opts {
	const char *world_dir;      /* NULL: the built-in world */
	const char *config;         /* NULL: the built-in user-model defaults */
	int64_t max_steps;          /* used when max_steps_given */
	int max_steps_given;
	int64_t episodes, seed, day, threads;
	double rec_timeout;         /* seconds per external recommender call; 0: default */
	botify_armset_opts arms;    /* one recommender, or an experiment's arms (its seed: seed's) */
	const char *log_path;       /* NULL: no log */
	int force;                  /* replace an existing log */
	int measure_latency;
	int show_progress;          /* force the progress bar off a terminal */
	const char *progress_label;
	int no_cache;               /* neither read nor write the neighbour cache */
	/* rows in episode order, as botify_simrun_opts.on_rows */
	int (*on_rows)(void *ctx, const botify_event *ev, size_t n, botify_err *err);
	void *rows_ctx;
};

struct sim_setup {
	botify_simcfg cfg;
	botify_world w;
	botify_worldcache_writer world_writer; /* the world's cache file, being written */
	botify_armset arms;
	botify_sim sim;
	botify_outfile log;
	int log_open;
	botify_simrun_result res;
	double load_seconds, prepare_seconds, loop_seconds;
};

/* Does the whole run; s must be zeroed. On success the log (if any) is
 * committed and s->res holds the per-arm statistics; on failure the log is
 * removed. Either way call sim_setup_free. */
int sim_setup_run(struct sim_setup *s, const struct sim_setup_opts *o, botify_err *err);
void sim_setup_free(struct sim_setup *s);

#endif
