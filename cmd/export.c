/*
 * export.c - botify export: track vectors and top-K lists from a model, in
 * the formats the contextual and indexed recommenders read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "dist.h"
#include "export.h"
#include "flags.h"
#include "npy.h"
#include "outfile.h"
#include "twotower.h"
#include "twotower_infer.h"
#include "twotower_io.h"
#include "world.h"
#include "worldcache.h"
#include "worldgen.h"

static const struct flag_doc doc = {
	.usage = "botify export --model DIR [--world DIR] [--embeddings FILE.npy] [--recs FILE.json]\n"
		 "                     [--user-recs FILE.json] [--k K]",
	.summary =
		"Writes what a trained model knows in the list formats botify's recommenders read:\n"
		"  --embeddings  the item-tower vector of every track (.npy, N x out);\n"
		"  --recs        tracks_with_recs.json: each track's tracks.json fields plus\n"
		"                \"recommendations\", the top K for a session that starts with it\n"
		"                (mean user), the track itself excluded (for contextual:file=);\n"
		"  --user-recs   recommendations.json: {\"user\", \"tracks\"} lines, the top K for the\n"
		"                user's context averaged over their logged session starts (for\n"
		"                indexed:file=). Users absent from the logs get the average context.\n"
		"The world must be the catalog the model was trained on. The files appear\n"
		"together or not at all (also on Ctrl-C) and are not replaced without --force.",
	.extra =
		"examples:\n"
		"  botify export --model models/two-tower --embeddings models/two-tower/track_vectors.npy \\\n"
		"                --recs models/two-tower/tracks_with_recs.json --user-recs models/two-tower/recommendations.json --k 100\n"
		"  botify simulate --episodes 2000 --recommender contextual:file=models/two-tower/tracks_with_recs.json\n",
};

/* The catalog of dir, or the built-in world: from the world cache unless
 * no_cache (path is set when it came from there; a world generated here is
 * written to the cache by wr's thread while the lists are computed), else
 * generated on every thread (the same world for any count). */
static int open_world(botify_world *w, const char *dir, int no_cache, int threads, char *path,
		      size_t n, botify_worldcache_writer *wr, botify_err *err)
{
	char cdir[4096], why[4400];
	int status;
	path[0] = '\0';
	if (dir)
		return botify_world_open(w, dir, BOTIFY_WORLD_CATALOG_ONLY, err);
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	if (no_cache || !cache_dir(cdir, sizeof(cdir), 0))
		return botify_worldgen_generate_threads(w, &p, threads, err);
	if (botify_worldcache_path(&p, cdir, path, n, err) != 0 ||
	    botify_worldcache_generate_bg(w, &p, path, threads, &status, why, sizeof(why), wr, err) != 0)
		return -1;
	if (why[0])
		fprintf(stderr, "warning: export: %s\n", why);
	if (status != BOTIFY_WORLDCACHE_LOADED)
		path[0] = '\0';
	return 0;
}

static void on_progress(void *ctx, int64_t done, int64_t total)
{
	progress_update(ctx, (uint64_t)done, (uint64_t)total);
}

int cmd_export(int argc, char **argv)
{
	const char *model_dir = NULL, *world_dir = NULL, *emb_path = NULL, *recs_path = NULL;
	const char *user_path = NULL;
	int64_t k = 100, threads = cpu_count();
	int force = 0, show_progress = 0, setup_ok = 0, no_cache = 0;
	struct flag flags[] = {
		FLAG_STR("model", &model_dir, "DIR", "model directory written by botify train"),
		FLAG_STR("world", &world_dir, "DIR", "world directory (default: the built-in world)"),
		FLAG_STR("embeddings", &emb_path, "FILE.npy", "write the track vectors (N x out)"),
		FLAG_STR("recs", &recs_path, "FILE", "write tracks_with_recs.json lines"),
		FLAG_STR("user-recs", &user_path, "FILE", "write recommendations.json lines"),
		FLAG_LONG("k", &k, "K", "tracks per list", 1, 1000000),
		FLAG_LONG("threads", &threads, "T", "threads (default: all cores)", 1, 256),
		FLAG_BOOL("force", &force, "replace existing output files"),
		FLAG_BOOL("no-cache", &no_cache, "neither read nor write the built-in world's cache"),
		FLAG_BOOL("quiet", &botify_quiet, "no notes or progress on stderr"),
		FLAG_BOOL("progress", &show_progress, "show progress even when stderr is not a terminal"),
		FLAG_END,
	};
	int rc = flags_parse(flags, &doc, argc, argv, NULL, 0, NULL);
	if (rc != FLAGS_OK)
		return rc == FLAGS_HELP ? BOTIFY_EXIT_OK : BOTIFY_EXIT_USAGE;
	if (!model_dir)
		return usage_error("export", "--model DIR is required");
	if (!emb_path && !recs_path && !user_path)
		return usage_error("export", "nothing to write: give --embeddings, --recs and/or --user-recs");

	botify_err err = {0};
	botify_world w = {0};
	botify_tt m = {0};
	float *items = NULL;
	/* the outputs appear together or not at all: each is written to its
	 * temporary, all are finished, and only then renamed in a row */
	enum { EMB, RECS, USERS, NOUT };
	const char *paths[NOUT] = { emb_path, recs_path, user_path };
	botify_outfile outs[NOUT] = {{0}};
	botify_worldcache_writer wr = {0};
	char world_cache[4200] = "";
	int exit_code = BOTIFY_EXIT_USAGE, reported = 0, rank = botify_dist_rank();
	install_interrupt_handler();
	botify_outfile_set_stop(&botify_interrupted);
	double t0 = now_seconds();
	/* the set-up, on every rank: a failure on one (its own model file, its
	 * memory) is agreed on before the lists, so that rank 0 can report it
	 * and remove its temporaries before the job ends */
	if (botify_tt_load(&m, model_dir, &err) != 0 ||
	    open_world(&w, world_dir, no_cache, (int)threads, world_cache, sizeof(world_cache), &wr, &err) != 0 ||
	    botify_tt_bind_catalog(&m, w.artist, w.N, w.A, model_dir, &err) != 0)
		goto agree;
	if (k > (recs_path ? w.N - 1 : w.N)) {
		exit_code = usage_error("export", "--k %lld is more than the %d tracks %s", (long long)k,
					recs_path ? w.N - 1 : w.N,
					recs_path ? "a track can be recommended after another" : "in the catalog");
		reported = 1;
		goto agree;
	}
	for (int i = 0; i < NOUT; i++)
		for (int j = 0; j < i; j++)
			if (paths[i] && paths[j] && !strcmp(paths[i], paths[j])) {
				exit_code = usage_error("export", "'%s' is given for two outputs", paths[i]);
				reported = 1;
				goto agree;
			}
	for (int i = 0; rank == 0 && i < NOUT; i++) /* rank 0 writes every file */
		if (paths[i] && botify_outfile_open(&outs[i], paths[i], force, &err) != 0)
			goto agree;
	items = botify_malloc((size_t)m.cfg.N * (size_t)m.cfg.OUT, sizeof(float), "track vectors", &err);
	if (!items || botify_tt_item_vectors(&m, w.artist, items, &err) != 0) {
		if (err.code == BOTIFY_ERANGE)
			botify_err_prefix(&err, "model '%s'", model_dir);
		goto agree;
	}
	if (rank == 0 && emb_path &&
	    botify_npy_write_to(&outs[EMB], items, 2, (size_t)m.cfg.N, (size_t)m.cfg.OUT, &err) != 0)
		goto agree;
	setup_ok = 1;
agree:
	if (botify_dist_agree(!setup_ok, &botify_interrupted, &err) != 0) {
		if (reported)
			goto out; /* this rank's own usage error, already said */
		goto fail;
	}
	if (rank != 0) { /* the lists: rank 0 takes this rank's share of them */
		if ((recs_path && botify_export_track_recs_to(&m, &w, items, (int32_t)k, (int)threads,
							       &outs[RECS], &err) != 0) ||
		    (user_path && botify_export_user_recs_to(&m, items, (int32_t)k, (int)threads,
							      &outs[USERS], &err) != 0))
			goto model_fail;
		exit_code = BOTIFY_EXIT_OK;
		goto out;
	}
	progress bar;
	if (recs_path) {
		progress_init(&bar, "export: track lists", show_progress);
		botify_export_set_progress(on_progress, &bar);
		rc = botify_export_track_recs_to(&m, &w, items, (int32_t)k, (int)threads, &outs[RECS], &err);
		progress_finish(&bar);
		if (rc != 0)
			goto model_fail;
	}
	if (user_path) {
		progress_init(&bar, "export: user lists", show_progress);
		botify_export_set_progress(on_progress, &bar);
		rc = botify_export_user_recs_to(&m, items, (int32_t)k, (int)threads, &outs[USERS], &err);
		progress_finish(&bar);
		if (rc != 0)
			goto model_fail;
	}
	botify_export_set_progress(NULL, NULL);
	for (int i = 0; i < NOUT; i++)
		if (paths[i] && botify_outfile_finish(&outs[i], &err) != 0)
			goto fail;
	for (int i = 0; i < NOUT; i++)
		if (paths[i] && botify_outfile_publish(&outs[i], &err) != 0) {
			/* a rename failed after others succeeded: take those back */
			for (int j = 0; j < i; j++)
				if (paths[j] && !outs[j].direct)
					unlink(paths[j]);
			goto fail;
		}
	if (emb_path)
		note("wrote %s: %d x %d track vectors\n", emb_path, m.cfg.N, m.cfg.OUT);
	if (recs_path)
		note("wrote %s: top %lld for each of %d tracks\n", recs_path, (long long)k, m.cfg.N);
	if (user_path)
		note("wrote %s: top %lld for each of %d users\n", user_path, (long long)k, m.cfg.U);
	if (world_cache[0])
		note("export: built-in world from the cache %s\n", world_cache);
	note("export took %.2f s\n", now_seconds() - t0);
	exit_code = BOTIFY_EXIT_OK;
	goto out;
model_fail:
	/* another rank's failure names that rank, and its model, not ours */
	if (err.code == BOTIFY_ERANGE && strncmp(err.msg, "rank ", 5))
		botify_err_prefix(&err, "model '%s'", model_dir);
fail:
	exit_code = report_error(&err);
out:
	{
		/* the world's cache file, if one is being written: whole or absent */
		char why[4400];
		botify_worldcache_writer_finish(&wr, why, sizeof(why));
		if (why[0])
			fprintf(stderr, "warning: export: %s\n", why);
	}
	for (int i = 0; i < NOUT; i++)
		botify_outfile_abort(&outs[i]);
	botify_outfile_set_stop(NULL);
	free(items);
	botify_tt_free(&m);
	botify_world_free(&w);
	return exit_code;
}
