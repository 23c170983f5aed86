/*
 * ab.c - botify ab: A/B metrics with confidence intervals from logs, or a
 * whole experiment in one command, with requirements a CI can gate on and
 * a forest plot.
 *
 * Two modes, told apart by --episodes:
 *   analysis    --log FILE... --experiment NAME [--control C] [--treatment T1,T2]
 *   experiment  --control SPEC --treatment SPEC --episodes N: simulates
 *               experiment "AB" (arms C, T1, ... split by murmur3 as the
 *               service splits them) and analyses its rows in-process.
 * stdout gets the table only; notes and warnings go to stderr.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab.h"
#include "abgate.h"
#include "cmd.h"
#include "flags.h"
#include "forestplot.h"
#include "simsetup.h"

static const struct flag_doc doc = {
	.usage = "botify ab --log FILE... --experiment NAME [--control C] [--treatment T1,T2] [options]\n"
		 "   or: botify ab --control SPEC --treatment SPEC --episodes N [--world DIR] [--seed S] [options]",
	.summary =
		"A/B metrics with confidence intervals, as the original analysis computes them.\n"
		"Rows are sessionized per (user, arm) by timestamp; a session ends at its 'last' row.\n"
		"Per user: time, sessions, mean_request_latency (ms), mean_tracks_per_session,\n"
		"mean_time_per_session. Each treatment is compared with the control: effect and\n"
		"(1 - alpha) Welch t interval in % of the control mean; significant when the\n"
		"interval excludes 0.\n\n"
		"With --episodes, runs the experiment first: users are split between arms C (the\n"
		"--control recommender) and T1, T2, ... (one per --treatment) by murmur3 as the\n"
		"service splits them, simulated in-process; --log FILE keeps the log.\n\n"
		"Exit status: 0 ok, 1 a --require failed, 2 bad usage or bad input.",
	.extra =
		"requirements (--require, repeatable; checked for every treatment):\n"
		"  METRIC>0    significantly better      METRIC<0    significantly worse\n"
		"  METRIC!=0   any significant change    METRIC>=0   not significantly worse\n"
		"  METRIC<=0   not significantly better\n"
		"\nexamples:\n"
		"  botify ab --log logs/day1.jsonl.gz --experiment AB\n"
		"  botify ab --log a.jsonl --log b.jsonl.gz --experiment RECS --control C --treatment T1,T3 --format json\n"
		"  botify ab --control random --treatment sticky_artist --episodes 2000 --seed 7 --plot ab.svg\n"
		"  botify ab --control contextual:file=recs.json --treatment nn:model=models/nn --episodes 20000 \\\n"
		"      --require 'mean_time_per_session>0' --require 'time>=0' && echo ship it\n",
};

struct ab_opts {
	struct flag_list logs, treatments, requires;
	const char *experiment, *control, *format, *plot, *world_dir, *config, *out_log;
	double alpha, rec_timeout;
	int64_t episodes, seed, threads, day, max_steps;
	int seen_max_steps, force, show_progress;
};

/* ---- reading ---- */

struct read_progress {
	progress bar;
};

static void on_read_progress(void *ctx, uint64_t done, uint64_t total)
{
	progress_update(&((struct read_progress *)ctx)->bar, done, total);
}

static int on_rows(void *ctx, const botify_event *ev, size_t n, botify_err *err)
{
	botify_ab *ab = ctx;
	for (size_t i = 0; i < n; i++)
		if (botify_ab_add(ab, &ev[i], err) != 0)
			return -1;
	return 0;
}

/* ---- output ---- */

static void print_md_num(double v)
{
	if (isnan(v))
		printf(" nan |");
	else
		printf(" %.3f |", v);
}

/* Means keep 3 significant digits when small (latencies in ms). */
static void print_md_mean(double v)
{
	if (isnan(v))
		printf(" nan |");
	else if (v == 0 || fabs(v) >= 0.01)
		printf(" %.3f |", v);
	else
		printf(" %.3g |", v);
}

static void print_json_num(double v)
{
	if (isfinite(v))
		printf("%.17g", v);
	else
		printf("null");
}

static void print_table(const botify_ab_result *res, const char *format, const char *experiment,
			const char *const *specs)
{
	const char *ctl = botify_arm_name(res->control);
	if (!strcmp(format, "json")) {
		printf("[\n");
		for (int i = 0; i < res->n_effects; i++) {
			const botify_ab_effect *e = &res->effects[i];
			printf("  {\"experiment\": ");
			print_json_str(experiment); /* any key a service log carries */
			printf(", \"control\": \"%s\", \"treatment\": \"%s\", \"metric\": \"%s\", \"effect\": ",
			       ctl, botify_arm_name(e->treatment), botify_ab_metric_name(e->metric));
			print_json_num(e->effect);
			printf(", \"lower\": ");
			print_json_num(e->lower);
			printf(", \"upper\": ");
			print_json_num(e->upper);
			printf(", \"control_mean\": ");
			print_json_num(e->control_mean);
			printf(", \"treatment_mean\": ");
			print_json_num(e->treatment_mean);
			printf(", \"significant\": %s, \"n_control\": %lld, \"n_treatment\": %lld, "
			       "\"alpha\": %g, \"df\": ", e->significant ? "true" : "false",
			       (long long)e->n_control, (long long)e->n_treatment, res->alpha);
			print_json_num(e->df);
			printf(", \"srm_chi2\": ");
			print_json_num(res->srm_chi2);
			printf(", \"srm_p\": ");
			print_json_num(res->srm_p);
			printf(", \"srm\": %s}%s\n", res->srm ? "true" : "false",
			       i + 1 < res->n_effects ? "," : "");
		}
		printf("]\n");
		return;
	}
	if (!strcmp(format, "csv")) {
		printf("treatment,metric,effect,upper,lower,control_mean,treatment_mean,significant,"
		       "n_control,n_treatment\n");
		for (int i = 0; i < res->n_effects; i++) {
			const botify_ab_effect *e = &res->effects[i];
			printf("%s,%s,%.17g,%.17g,%.17g,%.17g,%.17g,%s,%lld,%lld\n",
			       botify_arm_name(e->treatment), botify_ab_metric_name(e->metric), e->effect,
			       e->upper, e->lower, e->control_mean, e->treatment_mean,
			       e->significant ? "True" : "False", (long long)e->n_control,
			       (long long)e->n_treatment);
		}
		return;
	}
	printf("experiment %s: control %s", experiment, ctl);
	if (specs)
		printf(" (%s)", specs[res->control]);
	printf(", %g%% confidence intervals (Welch t), effects in %% of the control mean\n\n",
	       100 * (1 - res->alpha));
	printf("| treatment | metric | effect | upper | lower | control_mean | treatment_mean | "
	       "significant | n_control | n_treatment |\n");
	printf("|---|---|---:|---:|---:|---:|---:|---|---:|---:|\n");
	for (int i = 0; i < res->n_effects; i++) {
		const botify_ab_effect *e = &res->effects[i];
		printf("| %s | %s |", botify_arm_name(e->treatment), botify_ab_metric_name(e->metric));
		if (e->zero_control) {
			printf(" n/a | n/a | n/a |");
		} else {
			print_md_num(e->effect);
			print_md_num(e->upper);
			print_md_num(e->lower);
		}
		print_md_mean(e->control_mean);
		print_md_mean(e->treatment_mean);
		printf(" %s | %lld | %lld |\n", e->significant ? "True" : "False",
		       (long long)e->n_control, (long long)e->n_treatment);
	}
	printf("\n| arm |%s users | sessions | rows |\n|---|%s---:|---:|---:|\n",
	       specs ? " recommender |" : "", specs ? "---|" : "");
	int arms[BOTIFY_MAX_ARMS], k = 0;
	arms[k++] = res->control;
	for (int i = 0; i < res->n_treatments; i++)
		arms[k++] = res->treatments[i];
	for (int i = 0; i < k; i++) {
		const botify_ab_arm *a = &res->arm[arms[i]];
		printf("| %s |", botify_arm_name(arms[i]));
		if (specs)
			printf(" %s |", specs[arms[i]]);
		printf(" %lld | %lld | %lld |\n", (long long)a->units, (long long)a->sessions,
		       (long long)a->rows);
	}
}

/* Notes about what was left out, and warnings, on stderr. */
static void print_notes(const botify_ab *ab, const botify_ab_result *res, const char *experiment)
{
	if (ab->rows_without_arm) {
		fprintf(stderr, "botify: ab: note: %lld rows without experiment '%s' left out",
			(long long)ab->rows_without_arm, experiment);
		if (ab->rows_other_experiment)
			fprintf(stderr, " (%lld of them belong to other experiments)",
				(long long)ab->rows_other_experiment);
		fputc('\n', stderr);
	}
	if (ab->rows_other_arm)
		fprintf(stderr, "botify: ab: note: %lld rows with an arm name other than C, T1, T2, ... "
			"left out\n", (long long)ab->rows_other_arm);
	int64_t open = 0, open_rows = 0, only = 0;
	for (int a = 0; a < BOTIFY_MAX_ARMS; a++) {
		open += res->arm[a].unfinished_sessions;
		open_rows += res->arm[a].unfinished_rows;
		only += res->arm[a].units_unfinished_only;
	}
	if (open) {
		fprintf(stderr, "botify: ab: note: %lld unfinished sessions (%lld rows without a 'last' "
			"row) left out", (long long)open, (long long)open_rows);
		if (only)
			fprintf(stderr, "; %lld users had no finished session and are not counted",
				(long long)only);
		fputc('\n', stderr);
	}
	if (ab->rows_out_of_order)
		fprintf(stderr, "botify: ab: note: %lld rows came earlier than their user's previous "
			"row; sessions were rebuilt in timestamp order\n", (long long)ab->rows_out_of_order);
	if (res->users_in_several_arms > 0)
		fprintf(stderr, "botify: ab: warning: %lld users appear in more than one arm (each "
			"(user, arm) is counted as its own user)\n", (long long)res->users_in_several_arms);
	for (int i = 0; i < res->n_effects; i++)
		if (res->effects[i].zero_control && (i == 0 || res->effects[i - 1].metric != res->effects[i].metric ||
						     !res->effects[i - 1].zero_control))
			fprintf(stderr, "botify: ab: warning: the control mean of '%s' is 0: its effect "
				"in %% is undefined\n", botify_ab_metric_name(res->effects[i].metric));
	if (res->srm) {
		fprintf(stderr, "botify: ab: warning: sample ratio mismatch: users per arm");
		fprintf(stderr, " %s %lld", botify_arm_name(res->control),
			(long long)res->arm[res->control].units);
		for (int i = 0; i < res->n_treatments; i++)
			fprintf(stderr, ", %s %lld", botify_arm_name(res->treatments[i]),
				(long long)res->arm[res->treatments[i]].units);
		fprintf(stderr, " are unlikely under an even split (chi-square %.2f, p = %.3g); "
			"check the assignment before trusting the effects\n", res->srm_chi2, res->srm_p);
	}
}

static int write_plot(const botify_ab_result *res, const char *path, int force,
		      const char *experiment, const char *const *specs, botify_err *err)
{
	botify_forest_row rows[(BOTIFY_MAX_ARMS - 1) * BOTIFY_AB_N_METRICS];
	char title[256], subtitle[512];
	for (int i = 0; i < res->n_effects; i++) {
		const botify_ab_effect *e = &res->effects[i];
		rows[i] = (botify_forest_row){
			.group = botify_arm_name(e->treatment),
			.label = botify_ab_metric_name(e->metric),
			.effect = e->effect, .lower = e->lower, .upper = e->upper,
			.significant = e->significant,
			.note = e->zero_control ? "n/a: the control mean is 0" : NULL,
		};
	}
	if (specs) {
		int n = snprintf(title, sizeof(title), "A/B experiment %s: %s vs control %s", experiment,
				 specs[res->treatments[0]], specs[res->control]);
		if (res->n_treatments > 1 && n > 0 && (size_t)n < sizeof(title))
			snprintf(title + n, sizeof(title) - (size_t)n, " (+%d more)", res->n_treatments - 1);
	} else {
		snprintf(title, sizeof(title), "A/B experiment %s: treatments vs control %s", experiment,
			 botify_arm_name(res->control));
	}
	snprintf(subtitle, sizeof(subtitle),
		 "%g%% Welch t intervals; %lld users in control, per-user metrics; * = significant",
		 100 * (1 - res->alpha), (long long)res->arm[res->control].units);
	botify_forest f = {
		.title = title,
		.subtitle = subtitle,
		.axis_label = "effect, % of the control mean",
		.unit = "%",
		.rows = rows,
		.n_rows = res->n_effects,
	};
	return botify_forest_write(&f, path, force, err);
}

/* ---- the command ---- */

/* Splits "T1,T2" into arm indices. */
static int parse_arm_list(const struct flag_list *l, int *arms, int *n)
{
	*n = 0;
	for (int i = 0; i < l->n; i++) {
		const char *p = l->v[i];
		while (*p) {
			size_t len = strcspn(p, ",");
			char name[16];
			if (len == 0 || len >= sizeof(name))
				return usage_error("ab", "--treatment: bad arm list '%s' (expected e.g. T1,T2)",
						   l->v[i]);
			memcpy(name, p, len);
			name[len] = '\0';
			int a = botify_arm_index(name);
			if (a < 0)
				return usage_error("ab", "--treatment: unknown arm '%s' (arms are C, T1, ... T%d)",
						   name, BOTIFY_MAX_ARMS - 1);
			if (*n >= BOTIFY_MAX_ARMS - 1)
				return usage_error("ab", "--treatment: too many arms");
			arms[(*n)++] = a;
			p += len;
			if (*p == ',')
				p++;
		}
	}
	return 0;
}

int cmd_ab(int argc, char **argv)
{
	struct ab_opts o = { .alpha = 0.05, .format = "md", .seed = 1, .threads = cpu_count(),
			     .rec_timeout = BOTIFY_REC_TIMEOUT };
	struct flag flags[] = {
		FLAG_LIST("log", &o.logs, "FILE", "a log to analyse (plain or .gz); with --episodes: keep the log here"),
		FLAG_STR("experiment", &o.experiment, "NAME", "the experiment whose arms to compare"),
		FLAG_STR("control", &o.control, "C|SPEC", "the control arm (default C); with --episodes its recommender"),
		FLAG_LIST("treatment", &o.treatments, "T1,T2|SPEC", "treatment arms (default: all others); with --episodes a recommender per flag"),
		FLAG_DOUBLE("alpha", &o.alpha, "A", "1 - confidence level of the intervals", 1e-12, 0.5),
		FLAG_STR("format", &o.format, "md|json|csv", "output format"),
		FLAG_LIST("require", &o.requires, "METRIC>0", "a requirement for exit status 0 (see below)"),
		FLAG_STR("plot", &o.plot, "FILE.svg", "write a forest plot of the effects"),
		FLAG_BOOL("force", &o.force, "replace an existing --plot (and, with --episodes, --log)"),
		FLAG_LONG("episodes", &o.episodes, "N", "run the experiment: N simulated sessions", 1, 1e15),
		FLAG_STR("world", &o.world_dir, "DIR", "with --episodes: world directory (default: built-in)"),
		FLAG_LONG("seed", &o.seed, "S", "with --episodes: random seed", 0, 9007199254740992.0),
		FLAG_LONG("threads", &o.threads, "T", "with --episodes: worker threads (default: all cores)", 1, 256),
		FLAG_LONG("day", &o.day, "D", "with --episodes: day of the run (shifts the clock)", 0, 100000),
		FLAG_LONG("max-steps", &o.max_steps, "M", "with --episodes: cap on recommendations per session", 1, 1e9),
		FLAG_STR("config", &o.config, "FILE", "with --episodes: user-model defaults"),
		FLAG_BOOL("progress", &o.show_progress, "show progress even when stderr is not a terminal"),
		FLAG_DOUBLE("rec-timeout", &o.rec_timeout, "S", "with --episodes: seconds an exec:/remote: recommender may take per call", 0.001, 86400),
		FLAG_END,
	};
	flags[14].seen = &o.seen_max_steps;
	int rc = flags_parse(flags, &doc, argc, argv, NULL, 0, NULL);
	if (rc != FLAGS_OK)
		return rc == FLAGS_HELP ? BOTIFY_EXIT_OK : BOTIFY_EXIT_USAGE;
	o.episodes = o.episodes ? o.episodes : -1;
	int simulate = o.episodes > 0;
	if (strcmp(o.format, "md") && strcmp(o.format, "json") && strcmp(o.format, "csv"))
		return usage_error("ab", "--format must be md, json or csv, not '%s'", o.format);

	botify_ab_req reqs[64];
	botify_err err = {0};
	for (int i = 0; i < o.requires.n; i++)
		if (botify_ab_req_parse(&reqs[i], o.requires.v[i], &err) != 0)
			return usage_error("ab", "%s", err.msg);

	int control = 0, treatments[BOTIFY_MAX_ARMS], n_treatments = 0;
	const char *specs[BOTIFY_MAX_ARMS] = { 0 };
	const char *experiment = o.experiment;
	if (simulate) {
		if (o.experiment)
			return usage_error("ab", "--experiment is for analysing logs; with --episodes the "
					   "experiment is 'AB'");
		if (!o.control || !o.treatments.n)
			return usage_error("ab", "--episodes needs --control SPEC and --treatment SPEC");
		if (o.logs.n > 1)
			return usage_error("ab", "with --episodes, --log names the one log to keep");
		if (o.treatments.n > BOTIFY_MAX_ARMS - 1)
			return usage_error("ab", "at most %d treatments", BOTIFY_MAX_ARMS - 1);
		experiment = "AB";
		specs[0] = o.control;
		for (int i = 0; i < o.treatments.n; i++)
			specs[i + 1] = o.treatments.v[i];
		o.out_log = o.logs.n ? o.logs.v[0] : NULL;
	} else {
		if (!o.logs.n)
			return usage_error("ab", "give --log FILE... --experiment NAME, or run an experiment "
					   "with --control SPEC --treatment SPEC --episodes N");
		if (!o.experiment)
			return usage_error("ab", "--experiment NAME is required with --log");
		if (o.world_dir || o.config || o.seen_max_steps)
			return usage_error("ab", "--world, --config and --max-steps need --episodes");
		if (o.control && (control = botify_arm_index(o.control)) < 0)
			return usage_error("ab", "--control: unknown arm '%s' (arms are C, T1, ... T%d)",
					   o.control, BOTIFY_MAX_ARMS - 1);
		if (parse_arm_list(&o.treatments, treatments, &n_treatments) != 0)
			return BOTIFY_EXIT_USAGE;
	}

	botify_ab ab = {0};
	botify_ab_result *res = calloc(1, sizeof(*res));
	int exit_code = BOTIFY_EXIT_USAGE;
	if (!res) {
		botify_fail(&err, BOTIFY_ENOMEM, "out of memory");
		goto fail;
	}
	if (botify_ab_init(&ab, &err) != 0)
		goto fail;
	if (simulate) {
		struct sim_setup run = {0};
		const struct sim_setup_opts so = {
			.world_dir = o.world_dir,
			.config = o.config,
			.max_steps = o.max_steps,
			.max_steps_given = o.seen_max_steps,
			.episodes = o.episodes,
			.seed = o.seed,
			.day = o.day,
			.threads = o.threads,
			.rec_timeout = o.rec_timeout,
			.experiment = experiment,
			.specs = specs,
			.n_specs = 1 + o.treatments.n,
			.log_path = o.out_log,
			.force = o.force,
			.measure_latency = 1,
			.show_progress = o.show_progress,
			.progress_label = "ab: simulate",
			.on_rows = on_rows,
			.rows_ctx = &ab,
		};
		rc = sim_setup_run(&run, &so, &err);
		int64_t capped = 0;
		for (int a = 0; a < run.n_arms; a++)
			capped += run.res.arm[a].capped;
		sim_setup_free(&run);
		if (rc != 0)
			goto fail;
		if (capped)
			fprintf(stderr, "botify: ab: note: %lld sessions reached the step cap and were cut\n",
				(long long)capped);
	} else {
		for (int i = 0; i < o.logs.n; i++) {
			struct read_progress rp;
			progress_init(&rp.bar, "ab: reading", o.show_progress);
			rc = botify_ab_read_log(&ab, o.logs.v[i], experiment, on_read_progress, &rp, &err);
			progress_finish(&rp.bar);
			if (rc != 0)
				goto fail;
		}
		if (!ab.rows_used) {
			botify_fail(&err, BOTIFY_EINVAL, "no rows of experiment '%s' in %s (%lld rows read%s)",
				    experiment, o.logs.n > 1 ? "the logs" : o.logs.v[0], (long long)ab.rows,
				    ab.rows_other_experiment ? ", some of other experiments" : "");
			goto fail;
		}
	}
	if (botify_ab_analyze(&ab, control, treatments, n_treatments, o.alpha, res, &err) != 0)
		goto fail;
	print_notes(&ab, res, experiment);
	print_table(res, o.format, experiment, simulate ? specs : NULL);
	if (o.plot && write_plot(res, o.plot, o.force, experiment, simulate ? specs : NULL, &err) != 0)
		goto fail;

	exit_code = BOTIFY_EXIT_OK;
	for (int r = 0; r < o.requires.n; r++)
		for (int i = 0; i < res->n_effects; i++) {
			const botify_ab_effect *e = &res->effects[i];
			if (e->metric != reqs[r].metric || botify_ab_req_holds(&reqs[r], e))
				continue;
			fprintf(stderr, "botify: ab: requirement '%s' failed for %s: effect ", reqs[r].text,
				botify_arm_name(e->treatment));
			if (e->zero_control)
				fprintf(stderr, "n/a (control mean 0), difference %.6g",
					e->treatment_mean - e->control_mean);
			else
				fprintf(stderr, "%+.3f%% [%.3f%%, %.3f%%]", e->effect, e->lower, e->upper);
			fprintf(stderr, ", %s (control %.6g, treatment %.6g)\n",
				e->significant ? "significant" : "not significant", e->control_mean,
				e->treatment_mean);
			exit_code = BOTIFY_EXIT_CHECK;
		}
	goto out;
fail:
	exit_code = report_error(&err);
out:
	botify_ab_free(&ab);
	free(res);
	return exit_code;
}
