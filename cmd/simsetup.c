/*
 * simsetup.c - one simulation run from command-line options (see
 * simsetup.h). The order of the steps is part of the behaviour: cheap
 * checks (config, arms) before the world is built, the log opened (and an
 * existing one refused) before the slow interest-neighbour search.
 */
#include "simsetup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "dist.h"
#include "nbcache.h"
#include "topk.h"
#include "worldcache.h"

struct progress_ctx {
	progress bar;
};

static void on_progress(void *ctx, int64_t done, int64_t total)
{
	progress_update(&((struct progress_ctx *)ctx)->bar, (uint64_t)done, (uint64_t)total);
}

/* The caches' directory: $XDG_CACHE_HOME/botify, else ~/.cache/botify
 * (created); 0 when there is none to use (said when warn). */
int cache_dir(char *out, size_t n, int warn)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char base[4096];
	int len;
	if (x && x[0] == '/') /* the XDG base directory rules ignore a relative one */
		len = snprintf(base, sizeof(base), "%s", x);
	else if (home && home[0])
		len = snprintf(base, sizeof(base), "%s/.cache", home);
	else
		return 0;
	if (len < 0 || (size_t)len >= sizeof(base))
		return 0;
	len = snprintf(out, n, "%s/botify", base);
	if (len < 0 || (size_t)len >= n)
		return 0;
	struct stat st;
	if ((mkdir(base, 0700) != 0 && errno != EEXIST) || (mkdir(out, 0700) != 0 && errno != EEXIST) ||
	    stat(out, &st) != 0 || (!S_ISDIR(st.st_mode) && (errno = ENOTDIR))) {
		if (warn)
			fprintf(stderr, "warning: no neighbour cache: cannot create %s: %s\n", out, strerror(errno));
		return 0;
	}
	return 1;
}

/* Takes what the cache has of s's neighbour table; path is set when the
 * cache is in use (to write back to). */
static void cache_load(struct sim_setup *s, const char *label, char *path, size_t n, char *hex,
		       int64_t *loaded)
{
	char dir[4096], why[128];
	botify_err e = {0};
	int status;
	path[0] = '\0';
	*loaded = 0;
	if (!cache_dir(dir, sizeof(dir), 1))
		return;
	botify_nbcache_key(&s->sim, hex);
	if (botify_nbcache_path(dir, hex, path, n, &e) != 0) {
		path[0] = '\0';
		return;
	}
	if (botify_nbcache_load(&s->sim, path, hex, &status, loaded, why, sizeof(why), &e) != 0)
		fprintf(stderr, "warning: %s: %s; computing the neighbours\n", label, e.msg);
	else if (status == BOTIFY_NBCACHE_INVALID)
		fprintf(stderr, "warning: %s: ignoring the neighbour cache %s (%s); rebuilding it\n", label,
			path, why);
}

/* The world; the built-in one through the world cache unless --no-cache
 * (path is set when it came from there; the neighbour cache warns about a
 * directory that cannot be used). *generated: made here, so no cache can
 * have its neighbours (but by accident). */
static int world_load(struct sim_setup *s, const struct sim_setup_opts *o, char *path, size_t n,
		      int *generated, botify_err *err)
{
	char dir[4096], why[4400];
	int status;
	path[0] = '\0';
	*generated = 0;
	if (o->world_dir)
		return botify_world_open(&s->w, o->world_dir, BOTIFY_WORLD_ALL, err);
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	if (o->no_cache || !cache_dir(dir, sizeof(dir), 0)) {
		*generated = 1;
		return botify_worldgen_generate_threads(&s->w, &p, (int)o->threads, err);
	}
	/* the file is written while the neighbours are searched: a cold run
	 * does not wait for it (world_written waits, after the episodes) */
	if (botify_worldcache_path(&p, dir, path, n, err) != 0 ||
	    botify_worldcache_generate_bg(&s->w, &p, path, (int)o->threads, &status, why, sizeof(why),
					  &s->world_writer, err) != 0)
		return -1;
	if (why[0])
		fprintf(stderr, "warning: %s: %s\n", o->progress_label, why);
	if (status != BOTIFY_WORLDCACHE_LOADED)
		path[0] = '\0';
	*generated = status != BOTIFY_WORLDCACHE_LOADED;
	return 0;
}

/* Waits for the world cache file being written, if one is, and says why it
 * could not be. */
static void world_written(struct sim_setup *s, const char *label)
{
	char why[4400];
	botify_worldcache_writer_finish(&s->world_writer, why, sizeof(why));
	if (why[0])
		fprintf(stderr, "warning: %s: %s\n", label, why);
}

/* A failed set-up, agreed on by every rank (botify_dist_agree): rank 0
 * learns the failure of another rank and reports it, instead of being ended
 * by that rank with its log half written. */
static int setup_failed(botify_err *err)
{
	botify_dist_agree(1, &botify_interrupted, err);
	return -1;
}

int sim_setup_run(struct sim_setup *s, const struct sim_setup_opts *o, botify_err *err)
{
	if (o->config ? botify_simcfg_load(&s->cfg, o->config, err) != 0
		      : (botify_simcfg_defaults(&s->cfg), 0))
		return setup_failed(err);
	if (o->max_steps_given)
		s->cfg.max_steps = o->max_steps;
	botify_armset_opts ao = o->arms;
	ao.seed = (uint64_t)o->seed; /* a fresh split's salt is drawn from the run's seed */
	if (botify_armset_init(&s->arms, &ao, err) != 0)
		return setup_failed(err);
	install_interrupt_handler();
	double t_load = now_seconds();
	char world_cache[4200];
	int generated;
	if (world_load(s, o, world_cache, sizeof(world_cache), &generated, err) != 0)
		return setup_failed(err);
	botify_rec_env env = { .world = &s->w, .max_steps = s->cfg.max_steps,
			       .rec_timeout = o->rec_timeout };
	if (botify_armset_create(&s->arms, &env, err) != 0)
		return setup_failed(err);
	if (botify_sim_init(&s->sim, &s->w, &s->cfg, (uint64_t)o->seed, o->day,
			    botify_armset_experiment(&s->arms), err) != 0)
		return setup_failed(err);
	/* open the log first: refusing an existing one should not wait for the
	 * neighbour search */
	if (o->log_path && botify_dist_rank() == 0) { /* rank 0 writes the whole log */
		if (botify_outfile_open(&s->log, o->log_path, o->force, err) != 0)
			return setup_failed(err);
		s->log_open = 1;
	}
	/* a world made here has its neighbours searched: with a core to
	 * spare, the catalog's index is built while the neighbour cache's key
	 * is hashed and the episodes' interests are found (no thread: prepare
	 * builds it). Not on one thread: it would take a second core, and
	 * Ctrl-C in the look-ahead would wait for the index. */
	if (generated && o->episodes > 0 && o->threads > 1)
		botify_sim_index_start(&s->sim, (int)o->threads);
	struct progress_ctx pc, nbc;
	progress_init(&pc.bar, o->progress_label, o->show_progress);
	char nb_label[96];
	snprintf(nb_label, sizeof(nb_label), "%s: interest neighbours", o->progress_label);
	progress_init(&nbc.bar, nb_label, o->show_progress);
	if (nbc.bar.enabled)
		fprintf(stderr, "%s: finding the interest neighbours...\r", o->progress_label);
	botify_topk_set_progress(on_progress, &nbc);
	double t_prep = now_seconds();
	char cache_path[4200] = "", hex[33];
	int64_t cached = 0;
	if (!o->no_cache)
		cache_load(s, o->progress_label, cache_path, sizeof(cache_path), hex, &cached);
	int prep_rc = botify_simrun_prepare(&s->sim, o->episodes, (int)o->threads, &botify_interrupted, err);
	botify_topk_set_progress(NULL, NULL);
	if (prep_rc == 0)
		progress_complete(&nbc.bar);
	progress_finish(&nbc.bar);
	if (prep_rc != 0)
		return setup_failed(err);
	int64_t cache_added = s->sim.nb_rows - cached;
	if (cache_path[0] && s->sim.nb_rows > cached && botify_dist_rank() == 0) {
		botify_err e = {0};
		if (botify_nbcache_save(&s->sim, cache_path, hex, &e) != 0)
			fprintf(stderr, "warning: %s: neighbour cache not written: %s\n", o->progress_label, e.msg);
	}
	/* the end of the set-up on every rank before the episode loop */
	if (botify_dist_agree(0, &botify_interrupted, err) != 0)
		return -1;
	pc.bar.start = now_seconds(); /* rates count the episode loop only */
	botify_simrun_opts ro = {
		.episodes = o->episodes,
		.threads = (int)o->threads,
		.recs = s->arms.recs,
		.log = s->log_open ? &s->log : NULL,
		.measure_latency = o->measure_latency,
		.on_rows = o->on_rows,
		.rows_ctx = o->rows_ctx,
		.progress = on_progress,
		.progress_ctx = &pc,
		.stop = &botify_interrupted,
	};
	double t_run = now_seconds();
	int rc = botify_simrun(&s->sim, &ro, &s->res, err);
	double t_end = now_seconds();
	progress_finish(&pc.bar);
	s->loop_seconds = t_end - t_run;
	s->prepare_seconds = t_run - t_prep;
	s->load_seconds = t_prep - t_load;
	world_written(s, o->progress_label);
	if (rc != 0)
		return -1;
	/* said once the run succeeded: an error stays the one line it is; by
	 * rank 0 only, one line per job */
	if (cached && botify_dist_rank() == 0 && !botify_quiet)
		fprintf(stderr, "%s: interest neighbours from the cache %s (%lld interests%s)\n",
			o->progress_label, cache_path, (long long)cached, cache_added ? ", the new ones added" : "");
	if (world_cache[0] && botify_dist_rank() == 0 && !botify_quiet)
		fprintf(stderr, "%s: built-in world from the cache %s\n", o->progress_label, world_cache);
	if (s->log_open) {
		s->log_open = 0;
		if (botify_outfile_commit(&s->log, err) != 0)
			return -1;
		/* one row per virtual millisecond: past a day's worth the clock
		 * runs into the next day's (the log format wants it increasing across days) */
		if (s->res.rows > BOTIFY_MS_PER_DAY)
			fprintf(stderr, "warning: %lld rows at 1 ms each run past day %lld into day %lld's "
				"timestamps; split the traffic over days with --day\n",
				(long long)s->res.rows, (long long)o->day, (long long)o->day + 1);
	}
	return 0;
}

void sim_setup_free(struct sim_setup *s)
{
	char why[4400];
	/* the world is freed below: its file must be written first */
	botify_worldcache_writer_finish(&s->world_writer, why, sizeof(why));
	if (s->log_open)
		botify_outfile_abort(&s->log);
	s->log_open = 0;
	botify_sim_free(&s->sim);
	botify_armset_free(&s->arms);
	botify_world_free(&s->w);
}
