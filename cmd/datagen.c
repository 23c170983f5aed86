/*
 * datagen.c - botify datagen: write a synthetic world to files.
 */
#include <stdio.h>

#include "cmd.h"
#include "flags.h"
#include "outfile.h"
#include "worldgen.h"

static const struct flag_doc doc = {
	.usage = "botify datagen --out DIR [--tracks N] [--users N] [--dim D] [--seed S] [--preset FILE]\n"
		 "                      [--threads T]",
	.summary =
		"Writes a synthetic world: tracks.json, tracks.npy, users.json and top_tracks.json,\n"
		"which appear together or not at all (also on Ctrl-C or SIGTERM).\n"
		"Without options it writes the built-in default world that every command uses\n"
		"when --world is not given (50 000 tracks x 100 dims, 10 000 users, seed 1).",
	.extra = "examples:\n"
		 "  botify datagen --out worlds/builtin\n"
		 "  botify datagen --out worlds/t500 --tracks 500 --users 100 --dim 16 --seed 7\n"
		 "  botify datagen --out worlds/small --preset datasets/small.json\n"
		 "\nThe generator and its calibration are described in datasets/README.md.\n",
};

int cmd_datagen(int argc, char **argv)
{
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	const char *out = NULL, *preset = NULL;
	int force = 0, seen_tracks = 0, seen_users = 0, seen_dim = 0, seen_seed = 0;
	int64_t tracks = p.tracks, users = p.users, dim = p.dim, seed = p.seed, threads = cpu_count();
	struct flag flags[] = {
		FLAG_STR("out", &out, "DIR", "directory to write (created if missing)"),
		FLAG_LONG_SEEN("tracks", &tracks, "N", "tracks in the catalog", 1, 50000000, &seen_tracks),
		FLAG_LONG_SEEN("users", &users, "N", "users", 1, 50000000, &seen_users),
		FLAG_LONG_SEEN("dim", &dim, "D", "embedding width", 1, 4096, &seen_dim),
		FLAG_LONG_SEEN("seed", &seed, "S", "generator seed", 0, 9007199254740992.0, &seen_seed),
		FLAG_STR("preset", &preset, "FILE", "JSON file of generator parameters (datasets/*.json)"),
		FLAG_LONG("threads", &threads, "T", "threads generating (default: all cores; the same world for any)",
			  1, BOTIFY_WORLDGEN_MAX_THREADS),
		FLAG_BOOL("force", &force, "replace existing files"),
		FLAG_BOOL("quiet", &botify_quiet, "no note of what was written on stderr"),
		FLAG_END,
	};
	int rc = flags_parse(flags, &doc, argc, argv, NULL, 0, NULL);
	if (rc != FLAGS_OK)
		return rc == FLAGS_HELP ? BOTIFY_EXIT_OK : BOTIFY_EXIT_USAGE;
	if (!out)
		return usage_error("datagen", "--out DIR is required");

	botify_err err = {0};
	botify_world w = {0};
	if (preset && botify_worldgen_load_preset(&p, preset, &err) != 0)
		return report_error(&err);
	/* explicit flags win over the preset */
	if (seen_tracks)
		p.tracks = tracks;
	if (seen_users)
		p.users = users;
	if (seen_dim)
		p.dim = dim;
	if (seen_seed)
		p.seed = seed;
	/* Ctrl-C or SIGTERM fails the next write, which removes every
	 * temporary: the world appears whole or not at all */
	install_interrupt_handler();
	botify_outfile_set_stop(&botify_interrupted);
	double t0 = now_seconds();
	if (botify_worldgen_generate_threads(&w, &p, (int)threads, &err) != 0)
		return report_error(&err);
	double t1 = now_seconds();
	if (botify_world_save(&w, out, force, &err) != 0) {
		botify_world_free(&w);
		return report_error(&err);
	}
	botify_outfile_set_stop(NULL);
	note("wrote %s: %d tracks x %d dims, %d artists, %d users (generated in %.3f s, written in %.3f s)\n",
	     out, w.N, w.D, w.A, w.U, t1 - t0, now_seconds() - t1);
	botify_world_free(&w);
	return BOTIFY_EXIT_OK;
}
