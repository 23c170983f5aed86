/*
 * simulate.c - botify simulate: users against one recommender, or against
 * the arms of an experiment split as the original service split them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "armflags.h"
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
	.more = print_recommenders,
	.extra =
		"examples:\n"
		"  botify simulate --episodes 2000 --recommender sticky_artist --seed 31337 --log logs/sticky-31337.jsonl.gz\n"
		"  botify simulate --episodes 20000 --experiment AB --arms C=random,T1=sticky_artist --threads 2\n"
		"  botify simulate --episodes 2000 --experiment AB --arms C=random,T1=sticky_artist --plot arms.svg\n"
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
	for (int a = 0; a < run->arms.n; a++)
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
			 experiment ? ": " : "", run->arms.rec[a].spec);
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

/* ---- the command ---- */

struct sim_cli {
	const char *log_path, *config, *format, *design, *plot_path;
	int64_t episodes, day;
	int force, show_progress, no_cache, design_id;
	struct arm_flags af;
};

/* Parses and checks the options: -1 to go on, else the exit code. */
static int parse_options(struct sim_cli *c, int argc, char **argv)
{
	*c = (struct sim_cli){ .format = "table", .design = "split", .episodes = -1 };
	arm_flags_init(&c->af);
	struct flag flags[] = {
		FLAG_LONG("episodes", &c->episodes, "N", "sessions to simulate", 1, 1e15),
		ARM_FLAGS(&c->af),
		FLAG_STR("design", &c->design, "split|paired", "with --experiment: split users as the service does, or play every episode under every arm"),
		RUN_FLAGS(&c->af, ""),
		FLAG_STR("log", &c->log_path, "FILE", "write the event log (gzip when FILE ends in .gz; - for stdout)"),
		FLAG_BOOL("force", &c->force, "replace an existing --log or --plot"),
		FLAG_STR("plot", &c->plot_path, "FILE.svg", "draw the distributions of session length and listen time per arm"),
		FLAG_BOOL("quiet", &botify_quiet, "no notes or progress on stderr (the summary and warnings stay)"),
		FLAG_LONG("day", &c->day, "D", "day of the run: shifts the log's clock by D days", 0, 100000),
		FLAG_STR("config", &c->config, "FILE", "user-model defaults (default: built-in configs/sim.json)"),
		FLAG_STR("format", &c->format, "table|json", "summary format"),
		FLAG_BOOL("progress", &c->show_progress, "show progress even when stderr is not a terminal"),
		FLAG_BOOL("no-cache", &c->no_cache, "neither read nor write the caches (built-in world, interest neighbours)"),
		FLAG_END,
	};
	int rc = flags_parse(flags, &doc, argc, argv, NULL, 0, NULL);
	if (rc != FLAGS_OK)
		return rc == FLAGS_HELP ? BOTIFY_EXIT_OK : BOTIFY_EXIT_USAGE;
	if (c->episodes < 0)
		return usage_error("simulate", "--episodes N is required");
	if (arm_flags_check("simulate", &c->af, 0) != 0)
		return BOTIFY_EXIT_USAGE;
	c->design_id = botify_design_parse(c->design);
	if (c->design_id < 0)
		return usage_error("simulate", "--design must be split or paired, not '%s'", c->design);
	if (c->design_id == BOTIFY_DESIGN_PAIRED && !c->af.experiment)
		return usage_error("simulate", "--design paired needs --experiment NAME with --arms");
	if (strcmp(c->format, "table") && strcmp(c->format, "json"))
		return usage_error("simulate", "--format must be table or json, not '%s'", c->format);
	const char *plot = c->plot_path;
	if (plot && (strlen(plot) < 4 || strcmp(plot + strlen(plot) - 4, ".svg")))
		return usage_error("simulate", "--plot writes SVG: name the file *.svg, not '%s' (a PNG: "
				   "rsvg-convert plot.svg -o plot.png)", plot);
	if (plot && c->log_path && !strcmp(plot, c->log_path))
		return usage_error("simulate", "'%s' is given for both --log and --plot", plot);
	if (refuse_existing("simulate", plot, c->force)) /* before the run, not after */
		return BOTIFY_EXIT_USAGE;
	if (!c->af.recommender && !c->af.experiment) {
		c->af.recommender = "random";
		note("simulate: recommender random (a uniform track; --recommender SPEC picks another)\n");
	}
	return -1;
}

static const char *arm_label(const struct sim_cli *c, int a)
{
	return c->af.experiment ? botify_arm_name(a) : "-";
}

static void print_json_summary(FILE *out, const struct sim_cli *c, const struct sim_setup *run,
			       int64_t capped, double eps, double sps)
{
	const botify_simrun_result *res = &run->res;
	fprintf(out, "{\"world\": ");
	fprint_json_str(out, run->w.source);
	fprintf(out, ", \"seed\": %lld, \"day\": %lld, \"threads\": %lld, \"episodes\": %lld, \"steps\": %lld, "
	       "\"rows\": %lld, \"capped\": %lld, \"load_seconds\": %.6f, \"prepare_seconds\": %.6f, "
	       "\"loop_seconds\": %.6f, \"episodes_per_second\": %.1f, \"steps_per_second\": %.1f, \"arms\": [",
	       (long long)c->af.seed, (long long)c->day, (long long)c->af.threads, (long long)c->episodes,
	       (long long)res->steps, (long long)res->rows, (long long)capped, run->load_seconds,
	       run->prepare_seconds, run->loop_seconds, eps, sps);
	for (int a = 0; a < run->arms.n; a++) {
		const botify_arm_stats *st = &res->arm[a];
		double mt, st_t, mtime, st_time;
		botify_mean_sem(&st->tracks, &mt, &st_t);
		botify_mean_sem(&st->time, &mtime, &st_time);
		fprintf(out, "%s{\"arm\": \"%s\", \"recommender\": ", a ? ", " : "", arm_label(c, a));
		fprint_json_str(out, run->arms.rec[a].spec);
		fprintf(out, ", \"episodes\": %lld, \"steps\": %lld, \"capped\": %lld, "
		       "\"mean_tracks_per_session\": %.17g, \"sem_tracks_per_session\": %.17g, "
		       "\"mean_time_per_session\": %.17g, \"sem_time_per_session\": %.17g}",
		       (long long)st->episodes, (long long)st->steps, (long long)st->capped, mt,
		       isnan(st_t) ? 0 : st_t, mtime, isnan(st_time) ? 0 : st_time);
	}
	fprintf(out, "]}\n");
}

/* The table on out; notes, the timing line and warnings on stderr. */
static void print_table_summary(FILE *out, const struct sim_cli *c, const struct sim_setup *run,
				int64_t capped, double eps, double sps)
{
	const botify_simrun_result *res = &run->res;
	note("world: %s; seed %lld, day %lld, %lld thread%s\n", run->w.source, (long long)c->af.seed,
	     (long long)c->day, (long long)c->af.threads, plural(c->af.threads));
	fprintf(out, "| arm | recommender | episodes | tracks/session | ± sem | time/session | ± sem | capped |\n");
	fprintf(out, "|-----|-------------|---------:|---------------:|------:|-------------:|------:|-------:|\n");
	for (int a = 0; a < run->arms.n; a++) {
		const botify_arm_stats *st = &res->arm[a];
		double mt, st_t, mtime, st_time;
		botify_mean_sem(&st->tracks, &mt, &st_t);
		botify_mean_sem(&st->time, &mtime, &st_time);
		fprintf(out, "| %s | %s | %lld | %.3f | %.3f | %.3f | %.3f | %lld |\n", arm_label(c, a),
		       run->arms.rec[a].spec, (long long)st->episodes, mt, st_t, mtime, st_time,
		       (long long)st->capped);
	}
	note("%lld episodes, %lld steps in %.2f s (+ %.2f s world, %.2f s interest neighbours): "
	       "%.0f episodes/s, %.0f steps/s\n",
	       (long long)c->episodes, (long long)res->steps, run->loop_seconds, run->load_seconds,
	       run->prepare_seconds, eps, sps);
	if (capped)
		fprintf(stderr, "simulate: %lld session%s reached --max-steps %lld and %s cut\n",
			(long long)capped, plural(capped), (long long)run->cfg.max_steps,
			capped == 1 ? "was" : "were");
	if (c->log_path)
		note("log: %s (%lld rows)\n", strcmp(c->log_path, "-") ? c->log_path : "stdout",
		     (long long)res->rows);
}

int cmd_simulate(int argc, char **argv)
{
	struct sim_cli c;
	int rc = parse_options(&c, argc, argv);
	if (rc >= 0)
		return rc;
	/* with the log on stdout, the summary goes to stderr: stdout is only the log */
	FILE *out = c.log_path && !strcmp(c.log_path, "-") ? stderr : stdout;
	struct session_hists hists = {0};

	botify_err err = {0};
	struct sim_setup run = {0};
	int exit_code = BOTIFY_EXIT_USAGE;
	struct sim_setup_opts so = {
		.world_dir = c.af.world,
		.config = c.config,
		.max_steps = c.af.max_steps,
		.max_steps_given = c.af.seen_max_steps,
		.episodes = c.episodes,
		.seed = c.af.seed,
		.day = c.day,
		.threads = c.af.threads,
		.rec_timeout = c.af.rec_timeout,
		.arms = arm_flags_armset(&c.af),
		.log_path = c.log_path,
		.force = c.force,
		.measure_latency = c.log_path != NULL,
		.show_progress = c.show_progress,
		.progress_label = "simulate",
		.no_cache = c.no_cache,
		.on_rows = c.plot_path ? on_rows : NULL,
		.rows_ctx = &hists,
	};
	so.arms.design = c.design_id;
	if (sim_setup_run(&run, &so, &err) != 0)
		goto fail;
	double loop = run.loop_seconds;
	double eps = loop > 0 ? (double)c.episodes / loop : 0, sps = loop > 0 ? (double)run.res.steps / loop : 0;
	int64_t capped = 0;
	for (int a = 0; a < run.arms.n; a++)
		capped += run.res.arm[a].capped;
	if (!strcmp(c.format, "json"))
		print_json_summary(out, &c, &run, capped, eps, sps);
	else
		print_table_summary(out, &c, &run, capped, eps, sps);
	fflush(out);
	if (c.plot_path && write_plot(&hists, &run, c.af.experiment, c.plot_path, c.force, &err) != 0)
		goto fail;
	if (c.plot_path)
		note("plot: %s\n", c.plot_path);
	exit_code = BOTIFY_EXIT_OK;
	goto out;
fail:
	exit_code = report_error(&err);
out:
	sim_setup_free(&run);
	hists_free(&hists);
	return exit_code;
}
