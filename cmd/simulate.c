/*
 * simulate.c - botify simulate: users against one recommender, or against
 * the arms of an experiment split as the original service split them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "experiment.h"
#include "flags.h"
#include "simsetup.h"

static const struct flag_doc doc = {
	.usage = "botify simulate [--world DIR] --episodes N --recommender SPEC [options]",
	.summary =
		"Simulates listening sessions against a recommender (or the arms of an A/B\n"
		"experiment) and prints, per arm, mean tracks and listen time per session with\n"
		"their standard errors. Tracks and time count the session's first track, as the\n"
		"A/B analysis of the log does (the original simulator's 'reward' is time - 1 and\n"
		"its 'steps' are tracks - 1). The same seed gives the same log for any --threads.\n"
		"The interests' nearest tracks are cached in $XDG_CACHE_HOME/botify (default\n"
		"~/.cache/botify); stderr says when a run took them from there.",
	.extra =
		"recommenders (SPEC is NAME[:key=value,...]):\n"
		"  random                                  a uniform track\n"
		"  toppop[:file=F|log=LOG][,k=100]         a uniform track among the k most popular\n"
		"  sticky_artist                           a uniform track by the previous track's artist\n"
		"  indexed:file=recommendations.json       a uniform track from the user's list\n"
		"  contextual:file=tracks_with_recs.json   a uniform track from the previous track's list\n"
		"    (both take fallback=SPEC: who answers when there is no list; default random)\n"
		"  nn:model=DIR[,k=100]                    the trained model's ranked list for the session\n"
		"  ranked_sticky:model=DIR|users=F,recs=F[,t=0.1,p=0.3]\n"
		"                                          ranked list, then artist or contextual\n"
		"  sticky_plus:dislikes=LOG[,k=3,recs=F]   sticky_artist without dislikes, mixed\n"
		"  exec:cmd='python3 my_rec.py'            another program, JSON lines (docs/PROTOCOL.md)\n"
		"  remote:url=http://127.0.0.1:5000        a service with botify's HTTP API (botify serve)\n"
		"details: docs/recommenders.md\n"
		"\nexamples:\n"
		"  botify simulate --episodes 2000 --recommender sticky_artist --seed 31337 --log logs/day1.jsonl.gz\n"
		"  botify simulate --episodes 20000 --experiment AB --arms C=random,T1=sticky_artist --threads 2\n",
};

int cmd_simulate(int argc, char **argv)
{
	const char *world_dir = NULL, *rec_spec = NULL, *log_path = NULL, *experiment = NULL;
	const char *arms_list = NULL, *config = NULL, *format = "table", *design = "split";
	int64_t episodes = -1, seed = 1, threads = cpu_count(), day = 0, max_steps = 0;
	int force = 0, show_progress = 0, seen_max_steps = 0, no_cache = 0;
	double rec_timeout = BOTIFY_REC_TIMEOUT;
	struct flag flags[] = {
		FLAG_STR("world", &world_dir, "DIR", "world directory (default: the built-in world)"),
		FLAG_LONG("episodes", &episodes, "N", "sessions to simulate", 1, 1e15),
		FLAG_STR("recommender", &rec_spec, "SPEC", "the recommender, e.g. contextual:file=recs.json"),
		FLAG_LONG("seed", &seed, "S", "random seed", 0, 9007199254740992.0),
		FLAG_LONG("threads", &threads, "T", "worker threads (default: all cores)", 1, 256),
		FLAG_STR("log", &log_path, "FILE", "write the event log (gzip when FILE ends in .gz)"),
		FLAG_BOOL("force", &force, "replace an existing --log"),
		FLAG_STR("experiment", &experiment, "NAME", "split users into arms by experiment NAME"),
		FLAG_STR("arms", &arms_list, "C=SPEC,T1=SPEC,...", "the recommender of each arm"),
		FLAG_LONG("day", &day, "D", "day of the run: shifts the log's clock by D days", 0, 100000),
		FLAG_LONG("max-steps", &max_steps, "M", "cap on recommendations per session (default 1000)", 1, 1e9),
		FLAG_STR("config", &config, "FILE", "user-model defaults (default: built-in configs/sim.json)"),
		FLAG_STR("format", &format, "table|json", "summary format"),
		FLAG_BOOL("progress", &show_progress, "show progress even when stderr is not a terminal"),
		FLAG_DOUBLE("rec-timeout", &rec_timeout, "S", "seconds an exec:/remote: recommender may take per call", 0.001, 86400),
		FLAG_STR("design", &design, "split|paired", "with --experiment: split users as the service does, or play every episode under every arm"),
		FLAG_BOOL("no-cache", &no_cache, "compute the interest neighbours without the cache"),
		FLAG_END,
	};
	flags[10].seen = &seen_max_steps;
	int rc = flags_parse(flags, &doc, argc, argv, NULL, 0, NULL);
	if (rc != FLAGS_OK)
		return rc == FLAGS_HELP ? BOTIFY_EXIT_OK : BOTIFY_EXIT_USAGE;
	if (episodes < 0)
		return usage_error("simulate", "--episodes N is required");
	if (!rec_spec && !experiment)
		return usage_error("simulate", "give --recommender SPEC, or --experiment NAME with --arms");
	if (rec_spec && (experiment || arms_list))
		return usage_error("simulate", "--recommender and --experiment/--arms are exclusive");
	if (experiment && !arms_list)
		return usage_error("simulate", "--experiment needs --arms C=SPEC,T1=SPEC,...");
	if (arms_list && !experiment)
		return usage_error("simulate", "--arms needs --experiment NAME");
	int design_id = botify_design_parse(design);
	if (design_id < 0)
		return usage_error("simulate", "--design must be split or paired, not '%s'", design);
	if (design_id == BOTIFY_DESIGN_PAIRED && !experiment)
		return usage_error("simulate", "--design paired needs --experiment NAME with --arms");
	if (strcmp(format, "table") && strcmp(format, "json"))
		return usage_error("simulate", "--format must be table or json, not '%s'", format);

	botify_err err = {0};
	struct sim_setup run = {0};
	int exit_code = BOTIFY_EXIT_USAGE;
	const struct sim_setup_opts so = {
		.world_dir = world_dir,
		.config = config,
		.max_steps = max_steps,
		.max_steps_given = seen_max_steps,
		.episodes = episodes,
		.seed = seed,
		.day = day,
		.threads = threads,
		.rec_timeout = rec_timeout,
		.rec_spec = rec_spec,
		.experiment = experiment,
		.arms_list = arms_list,
		.design = design_id,
		.log_path = log_path,
		.force = force,
		.measure_latency = log_path != NULL,
		.show_progress = show_progress,
		.progress_label = "simulate",
		.no_cache = no_cache,
	};
	if (sim_setup_run(&run, &so, &err) != 0)
		goto fail;
	const botify_simrun_result *res = &run.res;
	const botify_rec *recs = run.recs;
	int n_arms = run.n_arms;

	double loop = run.loop_seconds, prep = run.prepare_seconds, load = run.load_seconds;
	double eps = loop > 0 ? (double)episodes / loop : 0, sps = loop > 0 ? (double)res->steps / loop : 0;
	int64_t capped = 0;
	for (int a = 0; a < n_arms; a++)
		capped += res->arm[a].capped;
	if (!strcmp(format, "json")) {
		printf("{\"world\": ");
		print_json_str(run.w.source);
		printf(", \"seed\": %lld, \"day\": %lld, \"threads\": %lld, \"episodes\": %lld, \"steps\": %lld, "
		       "\"rows\": %lld, \"capped\": %lld, \"load_seconds\": %.6f, \"prepare_seconds\": %.6f, "
		       "\"loop_seconds\": %.6f, \"episodes_per_second\": %.1f, \"steps_per_second\": %.1f, \"arms\": [",
		       (long long)seed, (long long)day, (long long)threads, (long long)episodes,
		       (long long)res->steps, (long long)res->rows, (long long)capped, load, prep, loop, eps, sps);
		for (int a = 0; a < n_arms; a++) {
			const botify_arm_stats *st = &res->arm[a];
			double mt, st_t, mtime, st_time;
			botify_mean_sem(st->tracks_sum, st->tracks_sq, st->episodes, &mt, &st_t);
			botify_mean_sem(st->time_sum, st->time_sq, st->episodes, &mtime, &st_time);
			printf("%s{\"arm\": \"%s\", \"recommender\": ", a ? ", " : "",
			       experiment ? botify_arm_name(a) : "-");
			print_json_str(recs[a].spec);
			printf(", \"episodes\": %lld, \"steps\": %lld, \"capped\": %lld, "
			       "\"mean_tracks_per_session\": %.17g, \"sem_tracks_per_session\": %.17g, "
			       "\"mean_time_per_session\": %.17g, \"sem_time_per_session\": %.17g}",
			       (long long)st->episodes, (long long)st->steps, (long long)st->capped, mt,
			       isnan(st_t) ? 0 : st_t, mtime, isnan(st_time) ? 0 : st_time);
		}
		printf("]}\n");
	} else {
		printf("world: %s; seed %lld, day %lld, %lld threads\n\n", run.w.source, (long long)seed,
		       (long long)day, (long long)threads);
		printf("| arm | recommender | episodes | tracks/session | ± sem | time/session | ± sem | capped |\n");
		printf("|-----|-------------|---------:|---------------:|------:|-------------:|------:|-------:|\n");
		for (int a = 0; a < n_arms; a++) {
			const botify_arm_stats *st = &res->arm[a];
			double mt, st_t, mtime, st_time;
			botify_mean_sem(st->tracks_sum, st->tracks_sq, st->episodes, &mt, &st_t);
			botify_mean_sem(st->time_sum, st->time_sq, st->episodes, &mtime, &st_time);
			printf("| %s | %s | %lld | %.3f | %.3f | %.3f | %.3f | %lld |\n",
			       experiment ? botify_arm_name(a) : "-", recs[a].spec, (long long)st->episodes,
			       mt, st_t, mtime, st_time, (long long)st->capped);
		}
		printf("\n%lld episodes, %lld steps in %.2f s (+ %.2f s world, %.2f s interest neighbours): "
		       "%.0f episodes/s, %.0f steps/s\n",
		       (long long)episodes, (long long)res->steps, loop, load, prep, eps, sps);
		if (capped)
			printf("%lld sessions reached --max-steps %lld and were cut\n", (long long)capped,
			       (long long)run.cfg.max_steps);
		if (log_path)
			printf("log: %s (%lld rows)\n", log_path, (long long)res->rows);
	}
	exit_code = BOTIFY_EXIT_OK;
	goto out;
fail:
	exit_code = report_error(&err);
out:
	sim_setup_free(&run);
	return exit_code;
}
