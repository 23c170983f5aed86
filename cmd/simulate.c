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
#include "histplot.h"
#include "simsetup.h"

static const struct flag_doc doc = {
	.usage = "botify simulate [--world DIR] --episodes N [--recommender SPEC] [options]",
	.summary =
		"Simulates listening sessions against a recommender (or the arms of an A/B\n"
		"experiment) and prints, per arm, mean tracks and listen time per session with\n"
		"their standard errors. Tracks and time count the session's first track, as the\n"
		"A/B analysis of the log does (the original simulator's 'reward' is time - 1 and\n"
		"its 'steps' are tracks - 1). The same seed gives the same log for any --threads.\n"
		"The interests' nearest tracks are cached in $XDG_CACHE_HOME/botify (default\n"
		"~/.cache/botify); stderr says when a run took them from there.\n"
		"Without --recommender (or --experiment) the recommender is random.\n"
		"The summary goes to stdout, notes and progress to stderr; with --log - the log\n"
		"goes to stdout and the summary to stderr, so the log can be piped.",
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
		"  botify simulate --episodes 20000 --experiment AB --arms C=random,T1=sticky_artist --threads 2\n"
		"  botify simulate --episodes 2000 --experiment AB --arms C=random,T1=sticky_artist --plot sessions.svg\n"
		"  botify simulate --episodes 2000 --experiment AB --arms C=random,T1=sticky_artist --log - |\n"
		"      botify ab --log - --experiment AB\n",
};

/* ---- --plot: per-arm distributions of session length and listen time ---- */

/* Fine histograms, rebinned for the picture: tracks per session exactly up
 * to TRACKS_MAX, listen time per session in steps of TIME_RES up to
 * TRACKS_MAX (a session's time is at most its track count); beyond, the last bin. */
enum { TRACKS_MAX = 1000, TIME_PER_UNIT = 20, PLOT_BINS = 50 };
#define TIME_RES (1.0 / TIME_PER_UNIT)

struct session_hists {
	int64_t *tracks[BOTIFY_MAX_ARMS];   /* TRACKS_MAX + 1 bins */
	int64_t *time[BOTIFY_MAX_ARMS];     /* TRACKS_MAX * TIME_PER_UNIT + 1 bins */
	int64_t open_tracks[BOTIFY_MAX_ARMS];
	double open_time[BOTIFY_MAX_ARMS];
	double sum_tracks[BOTIFY_MAX_ARMS], sum_time[BOTIFY_MAX_ARMS];
	int64_t sessions[BOTIFY_MAX_ARMS];
};

static int on_rows(void *ctx, const botify_event *ev, size_t n, botify_err *err)
{
	struct session_hists *h = ctx;
	for (size_t i = 0; i < n; i++) {
		int a = ev[i].arm < 0 ? 0 : ev[i].arm;
		if (a >= BOTIFY_MAX_ARMS)
			continue;
		/* rows of one arm's session are consecutive and end in "last";
		 * each row carries one played track and its listen time */
		h->open_tracks[a]++;
		h->open_time[a] += ev[i].time;
		if (ev[i].message != BOTIFY_MSG_LAST)
			continue;
		if (!h->tracks[a]) {
			h->tracks[a] = calloc(TRACKS_MAX + 1, sizeof(int64_t));
			h->time[a] = calloc(TRACKS_MAX * TIME_PER_UNIT + 1, sizeof(int64_t));
			if (!h->tracks[a] || !h->time[a])
				return botify_fail(err, BOTIFY_ENOMEM, "out of memory for --plot");
		}
		int64_t t = h->open_tracks[a];
		double tm = h->open_time[a];
		h->tracks[a][t < TRACKS_MAX ? t : TRACKS_MAX]++;
		double fb = floor(tm / TIME_RES + 1e-9);
		h->time[a][fb < TRACKS_MAX * TIME_PER_UNIT ? (int64_t)fb : TRACKS_MAX * TIME_PER_UNIT]++;
		h->sum_tracks[a] += (double)t;
		h->sum_time[a] += tm;
		h->sessions[a]++;
		h->open_tracks[a] = 0;
		h->open_time[a] = 0;
	}
	return 0;
}

static void hists_free(struct session_hists *h)
{
	for (int a = 0; a < BOTIFY_MAX_ARMS; a++) {
		free(h->tracks[a]);
		free(h->time[a]);
	}
}

/* Rebins fine[0..n) (bin width fine_w from 0) into out[0..PLOT_BINS) of width w
 * starting at x0; everything past the last bin lands in it. */
static void rebin(const int64_t *fine, int n, double fine_w, double x0, double w, double *out, int nb)
{
	for (int i = 0; i < nb; i++)
		out[i] = 0;
	for (int i = 0; i < n; i++) {
		if (!fine[i])
			continue;
		double k = floor((i * fine_w - x0) / w + 1e-9);
		int b = k < 0 ? 0 : k >= nb - 1 ? nb - 1 : (int)k;
		out[b] += (double)fine[i];
	}
}

static int write_plot(struct session_hists *h, const struct sim_setup *run, const char *experiment,
		      const char *path, int force, botify_err *err)
{
	int arms[BOTIFY_MAX_ARMS], k = 0;
	int64_t episodes = 0;
	for (int a = 0; a < run->n_arms; a++)
		if (h->sessions[a])
			arms[k++] = a, episodes += h->sessions[a];
	if (!k)
		return botify_fail(err, BOTIFY_EINVAL, "--plot: no sessions to draw");
	/* the range holds 99% of every arm's sessions; the rest is the last bin */
	int tq = 1, mq = 1;
	for (int i = 0; i < k; i++) {
		int b = botify_hist_quantile_bin(h->tracks[arms[i]], TRACKS_MAX + 1, 0.99);
		int c = botify_hist_quantile_bin(h->time[arms[i]], TRACKS_MAX * TIME_PER_UNIT + 1, 0.99);
		tq = b > tq ? b : tq;
		mq = c > mq ? c : mq;
	}
	/* integer track counts: one bin per count while they fit */
	double tw = ceil((tq + 1.0) / (PLOT_BINS - 1));
	double mw = ceil((mq + 1.0) / (PLOT_BINS - 1)) * TIME_RES;
	/* bins up to the 99% point and one for the rest */
	int tn = (int)floor((tq - 0.5) / tw) + 2, mn = (int)floor(mq * TIME_RES / mw + 1e-9) + 2;
	tn = tn < PLOT_BINS ? tn : PLOT_BINS;
	mn = mn < PLOT_BINS ? mn : PLOT_BINS;
	double tcount[BOTIFY_MAX_ARMS][PLOT_BINS], mcount[BOTIFY_MAX_ARMS][PLOT_BINS];
	char names[BOTIFY_MAX_ARMS][320];
	botify_hist th[BOTIFY_MAX_ARMS], mh[BOTIFY_MAX_ARMS];
	for (int i = 0; i < k; i++) {
		int a = arms[i];
		rebin(h->tracks[a], TRACKS_MAX + 1, 1, 0.5, tw, tcount[i], tn);
		rebin(h->time[a], TRACKS_MAX * TIME_PER_UNIT + 1, TIME_RES, 0, mw, mcount[i], mn);
		snprintf(names[i], sizeof(names[i]), "%s%s%s", experiment ? botify_arm_name(a) : "",
			 experiment ? ": " : "", run->recs[a].spec);
		th[i] = (botify_hist){ .name = names[i], .count = tcount[i],
				       .mean = h->sum_tracks[a] / (double)h->sessions[a] };
		mh[i] = (botify_hist){ .name = names[i], .count = mcount[i],
				       .mean = h->sum_time[a] / (double)h->sessions[a] };
	}

	const botify_histpanel panels[2] = {
		{ .title = "Session length", .axis_label = "tracks per session (the first track included)",
		  .x0 = 0.5, .width = tw, .n_bins = tn, .overflow = 1, .integer = 1, .hist = th, .n_hist = k },
		{ .title = "Listen time", .axis_label = "listen time per session (sum of the tracks' fractions listened)",
		  .x0 = 0, .width = mw, .n_bins = mn, .overflow = 1, .hist = mh, .n_hist = k },
	};
	char title[400], subtitle[400];
	snprintf(title, sizeof(title), "Sessions per %s", experiment ? "arm" : "recommender");
	snprintf(subtitle, sizeof(subtitle), "world: %s; %lld episodes, seed %lld; dashed lines: the means",
		 run->w.source, (long long)episodes, (long long)run->sim.seed);
	const botify_histplot p = { .title = title, .subtitle = subtitle, .panels = panels, .n_panels = 2 };
	return botify_histplot_write(&p, path, force, err);
}

int cmd_simulate(int argc, char **argv)
{
	const char *world_dir = NULL, *rec_spec = NULL, *log_path = NULL, *experiment = NULL;
	const char *arms_list = NULL, *config = NULL, *format = "table", *design = "split";
	const char *plot_path = NULL;
	int64_t episodes = -1, seed = 1, threads = cpu_count(), day = 0, max_steps = 0;
	int force = 0, show_progress = 0, seen_max_steps = 0, no_cache = 0;
	double rec_timeout = BOTIFY_REC_TIMEOUT;
	struct flag flags[] = {
		FLAG_STR("world", &world_dir, "DIR", "world directory (default: the built-in world)"),
		FLAG_LONG("episodes", &episodes, "N", "sessions to simulate", 1, 1e15),
		FLAG_STR("recommender", &rec_spec, "SPEC", "the recommender (default random), e.g. sticky_artist"),
		FLAG_LONG("seed", &seed, "S", "random seed", 0, 9007199254740992.0),
		FLAG_LONG("threads", &threads, "T", "worker threads (default: all cores)", 1, 256),
		FLAG_STR("log", &log_path, "FILE", "write the event log (gzip when FILE ends in .gz; - for stdout)"),
		FLAG_BOOL("force", &force, "replace an existing --log or --plot"),
		FLAG_STR("plot", &plot_path, "FILE.svg", "draw the distributions of session length and listen time per arm"),
		FLAG_BOOL("quiet", &botify_quiet, "no notes or progress on stderr (the summary and warnings stay)"),
		FLAG_STR("experiment", &experiment, "NAME", "split users into arms by experiment NAME"),
		FLAG_STR("arms", &arms_list, "C=SPEC,T1=SPEC,...", "the recommender of each arm"),
		FLAG_LONG("day", &day, "D", "day of the run: shifts the log's clock by D days", 0, 100000),
		FLAG_LONG("max-steps", &max_steps, "M", "cap on recommendations per session (default 1000)", 1, 1e9),
		FLAG_STR("config", &config, "FILE", "user-model defaults (default: built-in configs/sim.json)"),
		FLAG_STR("format", &format, "table|json", "summary format"),
		FLAG_BOOL("progress", &show_progress, "show progress even when stderr is not a terminal"),
		FLAG_DOUBLE("rec-timeout", &rec_timeout, "S", "seconds an exec:/remote: recommender may take per call", 0.001, 86400),
		FLAG_STR("design", &design, "split|paired", "with --experiment: split users as the service does, or play every episode under every arm"),
		FLAG_BOOL("no-cache", &no_cache, "neither read nor write the caches (built-in world, interest neighbours)"),
		FLAG_END,
	};
	for (struct flag *f = flags; f->name; f++)
		if (!strcmp(f->name, "max-steps"))
			f->seen = &seen_max_steps;
	int rc = flags_parse(flags, &doc, argc, argv, NULL, 0, NULL);
	if (rc != FLAGS_OK)
		return rc == FLAGS_HELP ? BOTIFY_EXIT_OK : BOTIFY_EXIT_USAGE;
	if (episodes < 0)
		return usage_error("simulate", "--episodes N is required");
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
	if (plot_path && (strlen(plot_path) < 4 || strcmp(plot_path + strlen(plot_path) - 4, ".svg")))
		return usage_error("simulate", "--plot writes SVG: name the file *.svg, not '%s' (a PNG: "
				   "rsvg-convert plot.svg -o plot.png)", plot_path);
	if (plot_path && log_path && !strcmp(plot_path, log_path))
		return usage_error("simulate", "'%s' is given for both --log and --plot", plot_path);
	if (!rec_spec && !experiment) {
		rec_spec = "random";
		note("simulate: recommender random (a uniform track; --recommender SPEC picks another)\n");
	}
	/* with the log on stdout, the summary goes to stderr: stdout is only the log */
	FILE *out = log_path && !strcmp(log_path, "-") ? stderr : stdout;
	struct session_hists hists = {0};

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
		.on_rows = plot_path ? on_rows : NULL,
		.rows_ctx = &hists,
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
		fprintf(out, "{\"world\": ");
		fprint_json_str(out, run.w.source);
		fprintf(out, ", \"seed\": %lld, \"day\": %lld, \"threads\": %lld, \"episodes\": %lld, \"steps\": %lld, "
		       "\"rows\": %lld, \"capped\": %lld, \"load_seconds\": %.6f, \"prepare_seconds\": %.6f, "
		       "\"loop_seconds\": %.6f, \"episodes_per_second\": %.1f, \"steps_per_second\": %.1f, \"arms\": [",
		       (long long)seed, (long long)day, (long long)threads, (long long)episodes,
		       (long long)res->steps, (long long)res->rows, (long long)capped, load, prep, loop, eps, sps);
		for (int a = 0; a < n_arms; a++) {
			const botify_arm_stats *st = &res->arm[a];
			double mt, st_t, mtime, st_time;
			botify_mean_sem(st->tracks_sum, st->tracks_sq, st->episodes, &mt, &st_t);
			botify_mean_sem(st->time_sum, st->time_sq, st->episodes, &mtime, &st_time);
			fprintf(out, "%s{\"arm\": \"%s\", \"recommender\": ", a ? ", " : "",
			       experiment ? botify_arm_name(a) : "-");
			fprint_json_str(out, recs[a].spec);
			fprintf(out, ", \"episodes\": %lld, \"steps\": %lld, \"capped\": %lld, "
			       "\"mean_tracks_per_session\": %.17g, \"sem_tracks_per_session\": %.17g, "
			       "\"mean_time_per_session\": %.17g, \"sem_time_per_session\": %.17g}",
			       (long long)st->episodes, (long long)st->steps, (long long)st->capped, mt,
			       isnan(st_t) ? 0 : st_t, mtime, isnan(st_time) ? 0 : st_time);
		}
		fprintf(out, "]}\n");
	} else {
		note("world: %s; seed %lld, day %lld, %lld threads\n", run.w.source, (long long)seed,
		     (long long)day, (long long)threads);
		fprintf(out, "| arm | recommender | episodes | tracks/session | ± sem | time/session | ± sem | capped |\n");
		fprintf(out, "|-----|-------------|---------:|---------------:|------:|-------------:|------:|-------:|\n");
		for (int a = 0; a < n_arms; a++) {
			const botify_arm_stats *st = &res->arm[a];
			double mt, st_t, mtime, st_time;
			botify_mean_sem(st->tracks_sum, st->tracks_sq, st->episodes, &mt, &st_t);
			botify_mean_sem(st->time_sum, st->time_sq, st->episodes, &mtime, &st_time);
			fprintf(out, "| %s | %s | %lld | %.3f | %.3f | %.3f | %.3f | %lld |\n",
			       experiment ? botify_arm_name(a) : "-", recs[a].spec, (long long)st->episodes,
			       mt, st_t, mtime, st_time, (long long)st->capped);
		}
		note("%lld episodes, %lld steps in %.2f s (+ %.2f s world, %.2f s interest neighbours): "
		       "%.0f episodes/s, %.0f steps/s\n",
		       (long long)episodes, (long long)res->steps, loop, load, prep, eps, sps);
		if (capped)
			fprintf(stderr, "simulate: %lld sessions reached --max-steps %lld and were cut\n", (long long)capped,
			       (long long)run.cfg.max_steps);
		if (log_path)
			note("log: %s (%lld rows)\n", strcmp(log_path, "-") ? log_path : "stdout",
			     (long long)res->rows);
	}
	fflush(out);
	if (plot_path && write_plot(&hists, &run, experiment, plot_path, force, &err) != 0)
		goto fail;
	if (plot_path)
		note("plot: %s\n", plot_path);
	exit_code = BOTIFY_EXIT_OK;
	goto out;
fail:
	exit_code = report_error(&err);
out:
	sim_setup_free(&run);
	hists_free(&hists);
	return exit_code;
}
