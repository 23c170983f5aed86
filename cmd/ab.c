/*
 * ab.c - botify ab: A/B metrics with confidence intervals from logs, or a
 * whole experiment in one command, with requirements a CI can gate on and
 * a forest plot.
 *
 * Three modes:
 *   analysis    --log FILE... --experiment NAME [--control C] [--treatment T1,T2]
 *   two logs    --control-log FILE --treatment-log FILE: two runs without an
 *               experiment, each log one arm
 *   experiment  --control SPEC --treatment SPEC --episodes N: simulates the
 *               experiment (paired twin runs by default, or a fresh split)
 *               and analyses its rows in-process.
 * stdout gets the table only; notes and warnings go to stderr.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab.h"
#include "abgate.h"
#include "armflags.h"
#include "cmd.h"
#include "dist.h"
#include "eventlog.h"
#include "flags.h"
#include "forestplot.h"
#include "simsetup.h"
#include "stats.h"

static const struct flag_doc doc = {
	.usage = "botify ab --log FILE [--log FILE...] --experiment NAME [--control C] [--treatment T1,T2] [options]\n"
		 "   or: botify ab --control-log FILE --treatment-log FILE [options]\n"
		 "   or: botify ab --control SPEC --treatment SPEC [--episodes N] [--world DIR] [--seed S] [options]",
	.summary =
		"A/B metrics with confidence intervals. Rows are sessionized per (user, arm) by\n"
		"timestamp; a session ends at its 'last' row. Per user: time, sessions,\n"
		"mean_request_latency (ms), mean_tracks_per_session, mean_time_per_session\n"
		"(in-process, mean_request_latency is this machine's time per call, not an\n"
		"effect on the users: analysed only when --metrics names it). Each\n"
		"treatment is compared with the control: the difference of means with its t\n"
		"interval, and the effect in % of the control mean with a (1 - alpha) interval\n"
		"(--ci delta: the delta method, which accounts for the control mean's own\n"
		"uncertainty; --ci notebook: the course notebook's Welch interval divided by the\n"
		"control mean). Significant when the interval excludes 0, or, with --correction,\n"
		"when the adjusted p-value is below alpha.\n\n"
		"Without --log, runs the experiment first (2000 episodes unless --episodes):\n"
		"--design paired (the default) plays every episode under each arm with common\n"
		"random numbers (same user, interest, first track and user draws) and compares\n"
		"per-user pairs; --design split assigns each user to one arm by murmur3 with a\n"
		"salt drawn from --seed, so every seed is a fresh randomization (--experiment NAME\n"
		"uses the service's split for NAME instead). --log FILE keeps the log.\n"
		"Logs are analysed as paired when every user is in every arm, else as split.\n\n"
		"Exit status: 0 ok, 1 a --require failed, 2 bad usage or bad input.",
	.more = print_recommenders,
	.extra =
		"requirements (--require, repeatable; checked for every treatment):\n"
		"  METRIC>0    significantly better      METRIC<0    significantly worse\n"
		"  METRIC!=0   any significant change    METRIC>=0   not significantly worse\n"
		"  METRIC<=0   not significantly better\n"
		"\nexamples:\n"
		"  botify ab --control random --treatment sticky_artist\n"
		"  botify ab --control random --treatment sticky_artist --episodes 20000 --seed 7 --plot forest.svg --log ab.jsonl.gz\n"
		"  botify ab --log ab.jsonl.gz --experiment AB --format json\n"
		"  botify ab --control random --treatment random --design split --seed 3   # A/A: a row is significant in 1 run in 20\n"
		"  botify ab --control sticky_artist --treatment random --power --mde 2 --metrics mean_time_per_session\n"
		"  botify simulate --episodes 2000 --seed 1 --log random.jsonl\n"
		"  botify simulate --episodes 2000 --recommender sticky_artist --seed 2 --log sticky.jsonl\n"
		"  botify ab --control-log random.jsonl --treatment-log sticky.jsonl\n"
		"  botify ab --control random --treatment sticky_artist --correction holm \\\n"
		"      --require 'mean_time_per_session>0' --require 'time>=0' && echo ship it\n",
};

enum { DEFAULT_EPISODES = 2000 };

struct ab_opts {
	struct flag_list logs, treatments, requires;
	const char *experiment, *control, *format, *plot, *config, *out_log;
	const char *design, *ci, *correction, *metrics, *control_log, *treatment_log;
	double alpha, mde, power_target;
	int64_t episodes, day;
	struct arm_flags run;         /* world, seed, threads, max-steps, rec-timeout */
	int seen_episodes, force, show_progress, power, no_cache;
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

/* p-values: small ones in scientific notation. */
static void print_md_p(double p)
{
	if (isnan(p))
		printf(" n/a |");
	else if (p < 1e-300)
		printf(" <1e-300 |"); /* below what a double holds */
	else if (p >= 0.001)
		printf(" %.3f |", p);
	else
		printf(" %.1e |", p);
}

static void print_json_num(double v)
{
	if (isfinite(v))
		printf("%.17g", v);
	else
		printf("null");
}

/* What the run was, for the header line and JSON. */
struct ab_desc {
	const char *experiment;
	const char *const *specs;     /* in-process: each arm's recommender; else NULL */
	const char *const *arm_logs;  /* two-log mode: each arm's log; else NULL */
	int64_t episodes;             /* in-process */
	int salted;                   /* in-process split: a salt drawn from seed */
	int64_t seed;
	int32_t salt;
};

/* "paired: every episode under every arm ..." for the header and JSON. */
static void describe_design(const botify_ab_result *res, const struct ab_desc *d, char *buf,
			    size_t cap)
{
	if (d->specs && res->design == BOTIFY_DESIGN_PAIRED)
		snprintf(buf, cap, "paired: each of %lld episodes played under every arm with common "
			 "random numbers, per-user pairs", (long long)d->episodes);
	else if (d->specs && d->salted)
		snprintf(buf, cap, "split: users assigned by murmur3 with salt %d drawn from --seed %lld "
			 "(a fresh randomization per seed)", (int)d->salt, (long long)d->seed);
	else if (d->specs)
		snprintf(buf, cap, "split: users assigned as the service assigns experiment '%s'",
			 d->experiment);
	else if (res->design == BOTIFY_DESIGN_PAIRED)
		snprintf(buf, cap, "paired%s, per-user pairs", res->design_detected
			 ? " (detected: every user is in every arm)" : "");
	else
		snprintf(buf, cap, "split%s", res->design_detected
			 ? " (detected: users are not in every arm)" : "");
}

static void print_json_effect(const botify_ab_result *res, const botify_ab_effect *e)
{
	printf("    {\"control\": \"%s\", \"treatment\": \"%s\", \"metric\": \"%s\", \"effect\": ",
	       botify_arm_name(res->control), botify_arm_name(e->treatment),
	       botify_ab_metric_name(e->metric));
	print_json_num(e->effect);
	printf(", \"lower\": ");
	print_json_num(e->lower);
	printf(", \"upper\": ");
	print_json_num(e->upper);
	printf(", \"effect_se\": ");
	print_json_num(e->se_rel);
	printf(", \"diff\": ");
	print_json_num(e->diff);
	printf(", \"diff_lower\": ");
	print_json_num(e->diff_lower);
	printf(", \"diff_upper\": ");
	print_json_num(e->diff_upper);
	printf(", \"control_mean\": ");
	print_json_num(e->control_mean);
	printf(", \"treatment_mean\": ");
	print_json_num(e->treatment_mean);
	printf(", \"df\": ");
	print_json_num(e->df);
	printf(", \"p\": ");
	print_json_num(e->p);
	printf(", \"p_adjusted\": ");
	print_json_num(e->p_adjusted);
	printf(", \"significant\": %s, \"n_control\": %lld, \"n_treatment\": %lld}",
	       e->significant ? "true" : "false", (long long)e->n_control, (long long)e->n_treatment);
}

/* The arms of the table: control first, then the treatments. */
static int table_arms(const botify_ab_result *res, int *arms)
{
	int k = 0;
	arms[k++] = res->control;
	for (int i = 0; i < res->n_treatments; i++)
		arms[k++] = res->treatments[i];
	return k;
}

/* --power: the sessions per arm a pilot says an effect of --mde needs. */
struct power_req {
	double mde, target;
	double pilot_per_arm;    /* sessions per arm in the pilot */
	int episodes_per_arm;    /* --episodes counts sessions per arm (paired), else all arms' */
	int n_arms;
	int64_t world_users;     /* in-process: the world's users; 0 for logs */
};

static void print_power(const botify_ab_result *res, const struct power_req *pw, int json)
{
	if (json)
		printf("[\n");
	for (int i = 0; i < res->n_effects; i++) {
		const botify_ab_effect *e = &res->effects[i];
		double n = botify_power_n(pw->pilot_per_arm, e->se_rel, pw->mde, res->alpha, pw->target);
		double now = botify_power_at(e->se_rel, pw->mde, res->alpha);
		double per_arm = isnan(n) ? NAN : ceil(n);
		double episodes = pw->episodes_per_arm ? per_arm : per_arm * pw->n_arms;
		const char *t = botify_arm_name(e->treatment), *m = botify_ab_metric_name(e->metric);
		if (json) {
			printf("    {\"treatment\": \"%s\", \"metric\": \"%s\", \"mde\": %g, \"power\": %g, "
			       "\"sessions_per_arm\": ", t, m, pw->mde, pw->target);
			print_json_num(per_arm);
			printf(", \"episodes\": ");
			print_json_num(episodes);
			printf(", \"pilot_sessions_per_arm\": %.0f, \"pilot_power\": ", pw->pilot_per_arm);
			print_json_num(now);
			printf(", \"effect_se\": ");
			print_json_num(e->se_rel);
			printf("}%s\n", i + 1 < res->n_effects ? "," : "");
			continue;
		}
		if (isnan(n)) {
			printf("power: %s %s: n/a (the effect has no standard error: %s)\n", t, m,
			       e->zero_control ? "the control mean is 0" : "no variance between users");
			continue;
		}
		printf("power: %s %s: a %g%% effect needs about %.0f sessions per arm for %g%% power at "
		       "alpha %g (--episodes %.0f --design %s); this pilot's %.0f per arm give %.0f%% "
		       "(standard error of the effect %.3g%%)\n", t, m, fabs(pw->mde), per_arm,
		       100 * pw->target, res->alpha, episodes, botify_design_name(res->design),
		       pw->pilot_per_arm, 100 * now, e->se_rel);
		if (pw->world_users && per_arm > (double)pw->world_users)
			fprintf(stderr, "botify: ab: note: %s %s: %.0f sessions per arm is more than the "
				"world's %lld users: users repeat, per-user metrics average several "
				"sessions and the estimate assumes a standard error shrinking as "
				"1/sqrt(sessions); check with a run of that size\n", t, m, per_arm,
				(long long)pw->world_users);
	}
	if (json)
		printf("  ]");
}

static void print_json(const botify_ab_result *res, const struct ab_desc *d,
		       const struct power_req *pw)
{
	char design[256];
	describe_design(res, d, design, sizeof(design));
	printf("{\n  \"experiment\": ");
	print_json_str(d->experiment);
	printf(", \"control\": \"%s\", \"design\": \"%s\", \"design_note\": ",
	       botify_arm_name(res->control), botify_design_name(res->design));
	print_json_str(design);
	printf(", \"ci\": \"%s\", \"correction\": \"%s\", \"alpha\": %g,\n  \"srm_chi2\": ",
	       botify_ab_ci_name(res->ci), botify_p_adjust_name(res->correction), res->alpha);
	print_json_num(res->srm_chi2);
	printf(", \"srm_p\": ");
	print_json_num(res->srm_p);
	printf(", \"srm\": %s,\n  \"arms\": [\n", res->srm ? "true" : "false");
	int arms[BOTIFY_MAX_ARMS], k = table_arms(res, arms);
	for (int i = 0; i < k; i++) {
		const botify_ab_arm *a = &res->arm[arms[i]];
		printf("    {\"arm\": \"%s\", ", botify_arm_name(arms[i]));
		if (d->specs) {
			printf("\"recommender\": ");
			print_json_str(d->specs[arms[i]]);
			printf(", ");
		}
		if (d->arm_logs) {
			printf("\"log\": ");
			print_json_str(d->arm_logs[arms[i]]);
			printf(", ");
		}
		printf("\"users\": %lld, \"sessions\": %lld, \"rows\": %lld, \"mean\": {", (long long)a->units,
		       (long long)a->sessions, (long long)a->rows);
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
			printf("%s\"%s\": ", m ? ", " : "", botify_ab_metric_name(m));
			print_json_num(a->m[m].mean);
		}
		printf("}}%s\n", i + 1 < k ? "," : "");
	}
	printf("  ],\n  \"effects\": [\n");
	for (int i = 0; i < res->n_effects; i++) {
		print_json_effect(res, &res->effects[i]);
		printf("%s\n", i + 1 < res->n_effects ? "," : "");
	}
	printf("  ]");
	if (pw) {
		printf(",\n  \"power\": ");
		print_power(res, pw, 1);
	}
	printf("\n}\n");
}

/* A paired row whose every pair is equal (sessions, when each episode is
 * played under every arm): no variance, so no interval and no test. */
static int identical_pairs(const botify_ab_result *res, const botify_ab_effect *e)
{
	return res->design == BOTIFY_DESIGN_PAIRED && !e->zero_control && isnan(e->p) &&
	       e->diff == 0;
}

static void print_table(const botify_ab_result *res, const char *format, const struct ab_desc *d)
{
	const char *ctl = botify_arm_name(res->control);
	int corrected = res->correction != BOTIFY_P_ADJUST_NONE;
	if (!strcmp(format, "csv")) {
		printf("treatment,metric,effect,upper,lower,control_mean,treatment_mean,significant,"
		       "n_control,n_treatment,diff,diff_lower,diff_upper,p,p_adjusted,ci,design\n");
		for (int i = 0; i < res->n_effects; i++) {
			const botify_ab_effect *e = &res->effects[i];
			printf("%s,%s,%.17g,%.17g,%.17g,%.17g,%.17g,%s,%lld,%lld,%.17g,%.17g,%.17g,"
			       "%.17g,%.17g,%s,%s\n",
			       botify_arm_name(e->treatment), botify_ab_metric_name(e->metric), e->effect,
			       e->upper, e->lower, e->control_mean, e->treatment_mean,
			       e->significant ? "True" : "False", (long long)e->n_control,
			       (long long)e->n_treatment, e->diff, e->diff_lower, e->diff_upper, e->p,
			       e->p_adjusted, botify_ab_ci_name(res->ci), botify_design_name(res->design));
		}
		return;
	}
	char design[256];
	describe_design(res, d, design, sizeof(design));
	if (d->arm_logs)
		printf("two logs without an experiment: control %s (%s)", ctl, d->arm_logs[res->control]);
	else
		printf("experiment %s: control %s", d->experiment, ctl);
	if (d->specs)
		printf(" (%s)", d->specs[res->control]);
	printf("\ndesign %s\n", design);
	printf("%g%% confidence intervals: %s, effects in %% of the control mean",
	       100 * (1 - res->alpha), res->ci == BOTIFY_AB_CI_DELTA
	       ? "delta method" : res->design == BOTIFY_DESIGN_PAIRED
	       ? "paired t difference / control mean (notebook)" : "Welch t difference / control mean (notebook)");
	if (corrected)
		printf("; significance after %s's correction over the %d rows",
		       res->correction == BOTIFY_P_ADJUST_HOLM ? "Holm" : "Benjamini-Hochberg",
		       res->n_effects);
	printf("\n\n| treatment | metric | effect | lower | upper | control_mean | treatment_mean | "
	       "significant | n_control | n_treatment | p |%s\n", corrected ? " p_adjusted |" : "");
	printf("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|%s\n", corrected ? "---:|" : "");
	for (int i = 0; i < res->n_effects; i++) {
		const botify_ab_effect *e = &res->effects[i];
		printf("| %s | %s |", botify_arm_name(e->treatment), botify_ab_metric_name(e->metric));
		if (e->zero_control) {
			printf(" n/a | n/a | n/a |");
		} else if (identical_pairs(res, e)) {
			print_md_num(e->effect);
			printf(" n/a | n/a |");
		} else {
			print_md_num(e->effect);
			print_md_num(e->lower);
			print_md_num(e->upper);
		}
		print_md_mean(e->control_mean);
		print_md_mean(e->treatment_mean);
		printf(" %s | %lld | %lld |", e->significant ? "True" : "False",
		       (long long)e->n_control, (long long)e->n_treatment);
		print_md_p(e->p);
		if (corrected)
			print_md_p(e->p_adjusted);
		putchar('\n');
	}
	printf("\n| arm |%s users | sessions | rows |\n|---|%s---:|---:|---:|\n",
	       d->specs ? " recommender |" : d->arm_logs ? " log |" : "",
	       d->specs || d->arm_logs ? "---|" : "");
	int arms[BOTIFY_MAX_ARMS], k = table_arms(res, arms);
	for (int i = 0; i < k; i++) {
		const botify_ab_arm *a = &res->arm[arms[i]];
		printf("| %s |", botify_arm_name(arms[i]));
		if (d->specs)
			printf(" %s |", d->specs[arms[i]]);
		else if (d->arm_logs)
			printf(" %s |", d->arm_logs[arms[i]]);
		printf(" %lld | %lld | %lld |\n", (long long)a->units, (long long)a->sessions,
		       (long long)a->rows);
	}
}

/* Notes about what was left out, and warnings, on stderr. */
static void print_notes(const botify_ab *ab, const botify_ab_result *res, const struct ab_desc *d)
{
	if (ab->rows_without_arm && !botify_quiet) {
		fprintf(stderr, "botify: ab: note: %lld row%s without experiment '%s' left out",
			(long long)ab->rows_without_arm, plural(ab->rows_without_arm), d->experiment);
		if (ab->rows_other_experiment)
			fprintf(stderr, " (%lld of them belong%s to other experiments)",
				(long long)ab->rows_other_experiment, ab->rows_other_experiment == 1 ? "s" : "");
		fputc('\n', stderr);
	}
	if (ab->rows_other_arm && !botify_quiet)
		fprintf(stderr, "botify: ab: note: %lld row%s with an arm name other than C, T1, T2, ... "
			"left out\n", (long long)ab->rows_other_arm, plural(ab->rows_other_arm));
	int64_t open = 0, open_rows = 0, only = 0;
	for (int a = 0; a < BOTIFY_MAX_ARMS; a++) {
		open += res->arm[a].unfinished_sessions;
		open_rows += res->arm[a].unfinished_rows;
		only += res->arm[a].units_unfinished_only;
	}
	if (open && !botify_quiet) {
		fprintf(stderr, "botify: ab: note: %lld unfinished session%s (%lld row%s without a 'last' "
			"row) left out", (long long)open, plural(open), (long long)open_rows, plural(open_rows));
		if (only)
			fprintf(stderr, "; %lld user%s had no finished session and %s not counted",
				(long long)only, plural(only), only == 1 ? "is" : "are");
		fputc('\n', stderr);
	}
	if (ab->rows_out_of_order && !botify_quiet)
		fprintf(stderr, "botify: ab: note: %lld row%s came earlier than %s user's previous "
			"row; sessions were rebuilt in timestamp order\n", (long long)ab->rows_out_of_order,
			plural(ab->rows_out_of_order), ab->rows_out_of_order == 1 ? "its" : "their");
	if (res->unpaired_users > 0 && !botify_quiet)
		fprintf(stderr, "botify: ab: note: %lld user%s without a finished session in every "
			"analysed arm left out of the pairs\n", (long long)res->unpaired_users,
			plural(res->unpaired_users));
	/* two runs over one world's users share them by design, not by a broken split */
	if (res->users_in_several_arms > 0 && d->arm_logs && !botify_quiet)
		fprintf(stderr, "botify: ab: note: %lld user%s %s in both logs (two runs over the same "
			"users); each log's users are analysed as an independent sample\n",
			(long long)res->users_in_several_arms, plural(res->users_in_several_arms),
			res->users_in_several_arms == 1 ? "is" : "are");
	else if (res->users_in_several_arms > 0 && !d->arm_logs)
		fprintf(stderr, "botify: ab: warning: %lld user%s appear%s in more than one arm (each "
			"(user, arm) is counted as its own user)\n", (long long)res->users_in_several_arms,
			plural(res->users_in_several_arms), res->users_in_several_arms == 1 ? "s" : "");
	for (int i = 0; i < res->n_effects; i++)
		if (res->effects[i].zero_control && (i == 0 || res->effects[i - 1].metric != res->effects[i].metric ||
						     !res->effects[i - 1].zero_control))
			fprintf(stderr, "botify: ab: warning: the control mean of '%s' is 0: its effect "
				"in %% is undefined\n", botify_ab_metric_name(res->effects[i].metric));
	for (int i = 0; i < res->n_effects && !botify_quiet; i++) {
		const botify_ab_effect *e = &res->effects[i];
		int first = 1;
		for (int j = 0; j < i; j++)
			first &= res->effects[j].metric != e->metric || !identical_pairs(res, &res->effects[j]);
		if (identical_pairs(res, e) && first)
			fprintf(stderr, "botify: ab: note: %s: every user's value is the same in each "
				"arm (a paired run plays each episode under every arm): no interval, nothing "
				"to test\n", botify_ab_metric_name(e->metric));
	}
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
		      const struct ab_desc *d, botify_err *err)
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
			/* more listening is better for the user, more waiting worse */
			.better = e->metric == BOTIFY_AB_MEAN_REQUEST_LATENCY ? -1 : 1,
			.note = e->zero_control ? "n/a: the control mean is 0" : NULL,
		};
	}
	if (d->specs) {
		int n = snprintf(title, sizeof(title), "A/B experiment %s: %s vs control %s", d->experiment,
				 d->specs[res->treatments[0]], d->specs[res->control]);
		if (res->n_treatments > 1 && n > 0 && (size_t)n < sizeof(title))
			snprintf(title + n, sizeof(title) - (size_t)n, " (+%d more)", res->n_treatments - 1);
	} else if (d->arm_logs) {
		snprintf(title, sizeof(title), "A/B test of two logs: %s vs control %s",
			 d->arm_logs[res->treatments[0]], d->arm_logs[res->control]);
	} else {
		snprintf(title, sizeof(title), "A/B experiment %s: treatments vs control %s", d->experiment,
			 botify_arm_name(res->control));
	}
	snprintf(subtitle, sizeof(subtitle),
		 "%g%% %s intervals, %s design; %lld users in control, per-user metrics; "
		 "* = significant%s", 100 * (1 - res->alpha),
		 res->ci == BOTIFY_AB_CI_DELTA ? "delta-method" : "notebook (Welch t / control mean)",
		 botify_design_name(res->design), (long long)res->arm[res->control].units,
		 res->correction != BOTIFY_P_ADJUST_NONE
		 ? (res->correction == BOTIFY_P_ADJUST_HOLM ? " (Holm-corrected)" : " (BH-corrected)") : "");
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

/* Every metric, and the in-process default: without mean_request_latency,
 * which there is this machine's time per call (warm-up, other processes),
 * not an effect of the treatment on the users. Its significance flips from
 * run to run, and it would sit in a CI gate's table and in --correction's
 * family; named, it is analysed. */
#define AB_ALL_METRICS ((1u << BOTIFY_AB_N_METRICS) - 1)
#define AB_IN_PROCESS_METRICS (AB_ALL_METRICS & ~(1u << BOTIFY_AB_MEAN_REQUEST_LATENCY))

/* "time,mean_time_per_session" (or "all") to a bit mask. */
static int parse_metrics(const char *list, unsigned *mask)
{
	*mask = 0;
	if (!strcmp(list, "all")) {
		*mask = AB_ALL_METRICS;
		return 0;
	}
	const char *p = list;
	while (*p) {
		size_t len = strcspn(p, ",");
		char name[64];
		if (len == 0 || len >= sizeof(name))
			return usage_error("ab", "--metrics: bad list '%s' (e.g. time,mean_time_per_session)",
					   list);
		memcpy(name, p, len);
		name[len] = '\0';
		int m = botify_ab_metric_index(name);
		if (m < 0)
			return usage_error("ab", "--metrics: unknown metric '%s' (metrics: time, sessions, "
					   "mean_request_latency, mean_tracks_per_session, "
					   "mean_time_per_session, or all)", name);
		*mask |= 1u << m;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Reads the logs; under mpirun every rank takes part and rank 0 ends with
 * every row. *agreed: the failure is known on every rank, and rank 0 says
 * it. *shared: every rank read its share, and waits for rank 0's outcome. */
static int read_logs(botify_ab *ab, const struct ab_opts *o, int *agreed, int *shared,
		     botify_err *err)
{
	const char *paths[64];
	int arm[64], n = 0;
	if (o->control_log) {
		paths[n] = o->control_log, arm[n++] = 0;
		paths[n] = o->treatment_log, arm[n++] = 1;
	} else {
		for (int i = 0; i < o->logs.n; i++)
			paths[n] = o->logs.v[i], arm[n++] = -1;
	}
	*agreed = 0;
	if (botify_dist_size() > 1) {
		botify_ab_log logs[64];
		for (int i = 0; i < n; i++)
			logs[i] = (botify_ab_log){ paths[i], arm[i] < 0 ? o->experiment : NULL, arm[i] };
		struct read_progress rp;
		progress_init(&rp.bar, "ab: reading", o->show_progress && botify_dist_rank() == 0);
		int rc = botify_ab_read_logs_dist(ab, logs, n, NULL, on_read_progress, &rp, agreed, err);
		progress_finish(&rp.bar);
		if (rc != 0)
			return -1;
		*shared = 1;
		if (botify_dist_rank() != 0)
			return 0;
	}
	for (int i = 0; i < n && botify_dist_size() == 1; i++) {
		struct read_progress rp;
		progress_init(&rp.bar, "ab: reading", o->show_progress);
		int rc = botify_ab_read_log(ab, paths[i], arm[i] < 0 ? o->experiment : NULL, arm[i],
					    on_read_progress, &rp, err);
		progress_finish(&rp.bar);
		if (rc != 0)
			return -1;
	}
	if (o->control_log) {
		if (!ab->rows_used)
			return botify_fail(err, BOTIFY_EINVAL, "no rows in %s or %s", o->control_log,
					   o->treatment_log);
		return 0;
	}
	if (!ab->rows_used) {
		char seen[512] = "";
		for (int i = 0; i < o->logs.n && !seen[0]; i++)
			if (botify_eventlog_experiments(o->logs.v[i], 100000, seen, sizeof(seen), err) != 0)
				return -1;
		return botify_fail(err, BOTIFY_EINVAL, "no rows of experiment '%s' in %s (%lld rows read; "
				   "%s%s)", o->experiment, o->logs.n > 1 ? "the logs" : o->logs.v[0],
				   (long long)ab->rows, seen[0] ? "experiments and arms there: " :
				   "its rows carry no experiment: compare two such logs with "
				   "--control-log and --treatment-log", seen);
	}
	return 0;
}

/* What cmd_ab decided from the options: which mode, the analysis, the
 * gates, and for an in-process run each arm's recommender. */
struct ab_plan {
	int simulate;                 /* run the experiment here, else read logs */
	botify_ab_opts ao;
	botify_ab_req reqs[64];
	int control, treatments[BOTIFY_MAX_ARMS], n_treatments;
	const char *specs[BOTIFY_MAX_ARMS];
	const char *arm_logs[2];
	struct ab_desc desc;
};

/* The options of the analysis, whatever the mode: -1 to go on, else the
 * exit code. */
static int check_analysis(struct ab_opts *o, struct ab_plan *p)
{
	botify_ab_opts *ao = &p->ao;
	*ao = (botify_ab_opts){ .alpha = o->alpha, .design = BOTIFY_AB_DESIGN_DETECT };
	if (strcmp(o->format, "md") && strcmp(o->format, "json") && strcmp(o->format, "csv"))
		return usage_error("ab", "--format must be md, json or csv, not '%s'", o->format);
	if ((ao->ci = botify_ab_ci_parse(o->ci)) < 0)
		return usage_error("ab", "--ci must be delta or notebook, not '%s'", o->ci);
	if ((ao->correction = botify_p_adjust_parse(o->correction)) < 0)
		return usage_error("ab", "--correction must be none, holm or bh, not '%s'", o->correction);
	if (o->design && strcmp(o->design, "auto") && (ao->design = botify_design_parse(o->design)) < 0)
		return usage_error("ab", "--design must be paired, split or auto, not '%s'", o->design);
	if (o->metrics && parse_metrics(o->metrics, &ao->metrics) != 0)
		return BOTIFY_EXIT_USAGE;
	if (!o->metrics && p->simulate)
		ao->metrics = AB_IN_PROCESS_METRICS;
	if (o->power && !(o->mde > 0))
		return usage_error("ab", "--power needs --mde PCT, the smallest effect worth detecting "
				   "(e.g. --mde 2 for 2%%)");
	if (!o->power && o->mde > 0)
		return usage_error("ab", "--mde is for --power");
	if (o->plot && (strlen(o->plot) < 4 || strcmp(o->plot + strlen(o->plot) - 4, ".svg")))
		return usage_error("ab", "--plot writes SVG: name the file *.svg, not '%s' (a PNG: "
				   "rsvg-convert plot.svg -o plot.png)", o->plot);
	if (refuse_existing("ab", o->plot, o->force)) /* before the runs, not after */
		return BOTIFY_EXIT_USAGE;
	if (o->power && !strcmp(o->format, "csv"))
		return usage_error("ab", "--power prints with --format md or json");
	botify_err err = {0};
	for (int i = 0; i < o->requires.n; i++)
		if (botify_ab_req_parse(&p->reqs[i], o->requires.v[i], &err) != 0)
			return usage_error("ab", "%s", err.msg);
	for (int i = 0; i < o->requires.n; i++) {
		if (!ao->metrics || (ao->metrics & (1u << p->reqs[i].metric)))
			continue;
		if (!o->metrics)
			return usage_error("ab", "--require '%s': in-process, mean_request_latency is this "
					   "machine's time per call, analysed only when named: add --metrics "
					   "all (or a list with it)", o->requires.v[i]);
		return usage_error("ab", "--require '%s': its metric is not in --metrics", o->requires.v[i]);
	}
	return -1;
}

/* In-process: the arms' recommenders and the design. */
static int plan_experiment(struct ab_opts *o, struct ab_plan *p)
{
	if (o->control && !o->treatments.n)
		return usage_error("ab", "in-process, --control SPEC needs --treatment SPEC (one per "
				   "treatment arm)");
	if (!o->control || !o->treatments.n)
		return usage_error("ab", "give --control SPEC --treatment SPEC to run an experiment, "
				   "--log FILE... --experiment NAME, or --control-log FILE "
				   "--treatment-log FILE");
	if (o->logs.n > 1)
		return usage_error("ab", "in-process, --log names the one log to keep");
	if (o->treatments.n > BOTIFY_MAX_ARMS - 1)
		return usage_error("ab", "at most %d treatments", BOTIFY_MAX_ARMS - 1);
	botify_ab_opts *ao = &p->ao;
	if (ao->design == BOTIFY_AB_DESIGN_DETECT)
		ao->design = o->design ? -2 : BOTIFY_DESIGN_PAIRED;
	if (ao->design == -2)
		return usage_error("ab", "--design auto is for logs; in-process use paired or split");
	if (ao->design == BOTIFY_DESIGN_PAIRED && o->experiment)
		return usage_error("ab", "--experiment NAME reproduces the service's split: use it "
				   "with --design split (a paired run splits no users)");
	p->desc.experiment = o->experiment ? o->experiment : "AB";
	p->desc.salted = ao->design == BOTIFY_DESIGN_SPLIT && !o->experiment;
	p->desc.episodes = o->episodes;
	p->desc.specs = p->specs;
	p->specs[0] = o->control;
	for (int i = 0; i < o->treatments.n; i++)
		p->specs[i + 1] = o->treatments.v[i];
	o->out_log = o->logs.n ? o->logs.v[0] : NULL;
	return -1;
}

/* From logs: one experiment's arms, or two whole logs. */
static int plan_logs(struct ab_opts *o, struct ab_plan *p, int two_logs)
{
	if (o->run.world || o->config || o->run.seen_max_steps || o->run.seen_seed || o->no_cache)
		return usage_error("ab", "--world, --config, --max-steps, --seed and --no-cache "
				   "are for running an experiment (--control SPEC --treatment SPEC)");
	if (two_logs) {
		if (!o->control_log || !o->treatment_log)
			return usage_error("ab", "--control-log and --treatment-log go together");
		if (o->logs.n || o->experiment || o->control || o->treatments.n)
			return usage_error("ab", "--control-log/--treatment-log compare two whole logs: "
					   "no --log, --experiment, --control or --treatment");
		p->desc.experiment = "two logs";
		p->desc.arm_logs = p->arm_logs;
		return -1;
	}
	if (!o->experiment)
		return usage_error("ab", "--experiment NAME is required with --log (or compare two "
				   "runs with --control-log FILE --treatment-log FILE; to keep the "
				   "log of an experiment run here, give --episodes N)");
	if (o->control && (p->control = botify_arm_index(o->control)) < 0)
		return usage_error("ab", "--control: unknown arm '%s' (arms are C, T1, ... T%d)",
				   o->control, BOTIFY_MAX_ARMS - 1);
	if (parse_arm_list(&o->treatments, p->treatments, &p->n_treatments) != 0)
		return BOTIFY_EXIT_USAGE;
	return -1;
}

/* Parses and checks the options into o and p: -1 to go on, else the exit code. */
static int parse_options(struct ab_opts *o, struct ab_plan *p, int argc, char **argv)
{
	*o = (struct ab_opts){ .alpha = 0.05, .format = "md", .ci = "delta", .correction = "none",
			       .power_target = 0.8, .episodes = DEFAULT_EPISODES };
	arm_flags_init(&o->run);
	struct flag flags[] = {
		FLAG_LIST("log", &o->logs, "FILE", "a log to analyse (plain or .gz); with --episodes: keep the log here"),
		FLAG_STR("experiment", &o->experiment, "NAME", "the experiment whose arms to compare; in-process: split as the service splits NAME"),
		FLAG_STR("control", &o->control, "C|SPEC", "the control arm (default C); in-process its recommender"),
		FLAG_LIST("treatment", &o->treatments, "T1,T2|SPEC", "treatment arms (default: all others); in-process a recommender per flag"),
		FLAG_STR("control-log", &o->control_log, "FILE", "a log of one run (no experiment needed): the control arm"),
		FLAG_STR("treatment-log", &o->treatment_log, "FILE", "a log of another run: the treatment arm"),
		FLAG_STR("design", &o->design, "paired|split|auto", "in-process: paired twin runs (default) or a split; logs: auto (default) detects it"),
		FLAG_STR("ci", &o->ci, "delta|notebook", "relative interval: delta method, or the notebook's difference / control mean"),
		FLAG_STR("correction", &o->correction, "none|holm|bh", "multiple-comparison correction across metrics x treatments"),
		FLAG_STR("metrics", &o->metrics, "M1,M2|all", "metrics to analyse (default: all five from logs; in-process all but mean_request_latency)"),
		FLAG_DOUBLE("alpha", &o->alpha, "A", "1 - confidence level of the intervals", 1e-12, 0.5),
		FLAG_STR("format", &o->format, "md|json|csv", "output format"),
		FLAG_LIST("require", &o->requires, "METRIC>0", "a requirement for exit status 0 (see below)"),
		FLAG_BOOL("power", &o->power, "estimate the sessions needed to detect --mde (from this run as a pilot)"),
		FLAG_DOUBLE("mde", &o->mde, "PCT", "with --power: the smallest effect worth detecting, in %", 1e-9, 1e9),
		FLAG_DOUBLE("power-target", &o->power_target, "P", "with --power: the power to reach", 0.01, 0.9999),
		FLAG_STR("plot", &o->plot, "FILE.svg", "write a forest plot of the effects"),
		FLAG_BOOL("force", &o->force, "replace an existing --plot (and, in-process, --log)"),
		FLAG_LONG_SEEN("episodes", &o->episodes, "N", "in-process: simulated sessions", 1, 1e15, &o->seen_episodes),
		RUN_FLAGS(&o->run, "in-process: "),
		FLAG_LONG("day", &o->day, "D", "in-process: day of the run (shifts the clock)", 0, 100000),
		FLAG_STR("config", &o->config, "FILE", "in-process: user-model defaults"),
		FLAG_BOOL("progress", &o->show_progress, "show progress even when stderr is not a terminal"),
		FLAG_BOOL("no-cache", &o->no_cache, "in-process: neither read nor write the caches (world, neighbours)"),
		FLAG_BOOL("quiet", &botify_quiet, "no progress bars or notes on stderr (warnings stay)"),
		FLAG_END,
	};
	int rc = flags_parse(flags, &doc, argc, argv, NULL, 0, NULL);
	if (rc != FLAGS_OK)
		return rc == FLAGS_HELP ? BOTIFY_EXIT_OK : BOTIFY_EXIT_USAGE;
	int two_logs = o->control_log || o->treatment_log;
	/* with --episodes, --log is the log to keep; without, the logs to read */
	p->simulate = !two_logs && (!o->logs.n || o->seen_episodes);
	if ((rc = check_analysis(o, p)) >= 0)
		return rc;
	p->arm_logs[0] = o->control_log;
	p->arm_logs[1] = o->treatment_log;
	p->desc = (struct ab_desc){ .experiment = o->experiment, .seed = o->run.seed };
	return p->simulate ? plan_experiment(o, p) : plan_logs(o, p, two_logs);
}

/* Simulates the experiment, its rows going straight into ab. */
static int run_experiment(botify_ab *ab, const struct ab_opts *o, struct ab_plan *p,
			  struct power_req *pw, botify_err *err)
{
	struct sim_setup run = {0};
	const struct sim_setup_opts so = {
		.world_dir = o->run.world,
		.config = o->config,
		.max_steps = o->run.max_steps,
		.max_steps_given = o->run.seen_max_steps,
		.episodes = p->desc.episodes,
		.seed = o->run.seed,
		.day = o->day,
		.threads = o->run.threads,
		.rec_timeout = o->run.rec_timeout,
		.arms = { .experiment = p->desc.experiment, .specs = p->specs, .n_specs = 1 + o->treatments.n,
			  .design = p->ao.design, .fresh_split = p->desc.salted },
		.no_cache = o->no_cache,
		.log_path = o->out_log,
		.force = o->force,
		.measure_latency = 1,
		.show_progress = o->show_progress,
		.progress_label = "ab: simulate",
		.on_rows = on_rows,
		.rows_ctx = ab,
	};
	int rc = sim_setup_run(&run, &so, err);
	int64_t capped = 0;
	for (int a = 0; a < run.arms.n; a++)
		capped += run.res.arm[a].capped;
	p->desc.salt = run.arms.exp.seed;
	pw->world_users = run.w.U;
	sim_setup_free(&run);
	if (rc != 0)
		return -1;
	if (capped && !botify_quiet)
		fprintf(stderr, "botify: ab: note: %lld session%s reached the step cap and %s cut\n",
			(long long)capped, plural(capped), capped == 1 ? "was" : "were");
	return 0;
}

/* The table (or JSON or CSV) on stdout, with --power's estimate. */
static void print_results(const botify_ab_result *res, const struct ab_opts *o, const struct ab_plan *p,
			  struct power_req *pw)
{
	if (o->power) {
		int arms[BOTIFY_MAX_ARMS], k = table_arms(res, arms);
		double sessions = 0;
		for (int i = 0; i < k; i++)
			sessions += (double)res->arm[arms[i]].sessions;
		pw->pilot_per_arm = sessions / k;
		pw->episodes_per_arm = res->design == BOTIFY_DESIGN_PAIRED;
		pw->n_arms = p->simulate ? 1 + o->treatments.n : k;
	}
	if (!strcmp(o->format, "json")) {
		print_json(res, &p->desc, o->power ? pw : NULL);
	} else {
		print_table(res, o->format, &p->desc);
		if (o->power) {
			putchar('\n');
			print_power(res, pw, 0);
		}
	}
	fflush(stdout);
}

/* --require: BOTIFY_EXIT_CHECK, each failure said on stderr, when any fails. */
static int check_requirements(const botify_ab_result *res, const struct ab_opts *o, const struct ab_plan *p)
{
	int exit_code = BOTIFY_EXIT_OK;
	for (int r = 0; r < o->requires.n; r++)
		for (int i = 0; i < res->n_effects; i++) {
			const botify_ab_effect *e = &res->effects[i];
			const botify_ab_req *req = &p->reqs[r];
			if (e->metric != req->metric || botify_ab_req_holds(req, e))
				continue;
			fprintf(stderr, "botify: ab: requirement '%s' failed for %s: effect ", req->text,
				botify_arm_name(e->treatment));
			if (e->zero_control)
				fprintf(stderr, "n/a (control mean 0), difference %.6g",
					e->treatment_mean - e->control_mean);
			else
				fprintf(stderr, "%+.3f%% [%.3f%%, %.3f%%]", e->effect, e->lower, e->upper);
			fprintf(stderr, ", %s", e->significant ? "significant" : "not significant");
			if (res->correction != BOTIFY_P_ADJUST_NONE)
				fprintf(stderr, " after %s (p %.3g, adjusted %.3g)",
					botify_p_adjust_name(res->correction), e->p, e->p_adjusted);
			fprintf(stderr, " (control %.6g, treatment %.6g)\n", e->control_mean,
				e->treatment_mean);
			exit_code = BOTIFY_EXIT_CHECK;
		}
	return exit_code;
}

/* Rank 0's exit status on every rank, once it has printed everything. The
 * other ranks wait for it after reading their share of the logs, rather
 * than end first: Open MPI's mpirun hung, past its timeout's SIGTERM, when
 * rank 0 called MPI_Abort (no rows of the experiment) after the others had
 * finalized (once in t803's runs). With a failure they wait for rank 0 to
 * end the job; a failed --require (1) ends every rank with 1. */
static int rank0_outcome(int code)
{
	botify_err err = {0};
	int32_t c = code;
	if (botify_dist_bcast_bytes(&c, sizeof(c), 0, &err) != 0) {
		fprintf(stderr, "botify: rank %d: %s\n", botify_dist_rank(), err.msg);
		return BOTIFY_EXIT_USAGE;
	}
	if (botify_dist_rank() != 0 && c != BOTIFY_EXIT_OK && c != BOTIFY_EXIT_CHECK)
		botify_dist_set_handed_over();
	return c;
}

int cmd_ab(int argc, char **argv)
{
	struct ab_opts o;
	struct ab_plan p;
	memset(&p, 0, sizeof(p));
	int rc = parse_options(&o, &p, argc, argv);
	if (rc >= 0)
		return rc;

	botify_err err = {0};
	botify_ab ab = {0};
	botify_ab_result *res = calloc(1, sizeof(*res));
	int exit_code = BOTIFY_EXIT_USAGE, agreed = 0, shared = 0;
	struct power_req pw = { .mde = o.mde, .target = o.power_target };
	if (!res) {
		botify_fail(&err, BOTIFY_ENOMEM, "out of memory");
		goto fail;
	}
	if (botify_ab_init(&ab, &err) != 0)
		goto fail;
	ab.threads = (int)o.run.threads;
	if (p.simulate ? run_experiment(&ab, &o, &p, &pw, &err) != 0
		       : read_logs(&ab, &o, &agreed, &shared, &err) != 0) {
		if (agreed && botify_dist_rank() != 0) {
			/* rank 0 says it and ends the job */
			botify_dist_set_handed_over();
			exit_code = BOTIFY_EXIT_USAGE;
			goto out;
		}
		if (botify_dist_rank() != 0) /* this rank's alone: it ends the job */
			botify_err_prefix(&err, "rank %d", botify_dist_rank());
		goto fail;
	}
	if (botify_dist_rank() != 0) { /* rank 0 has every row, and reports */
		exit_code = BOTIFY_EXIT_OK;
		if (shared)
			exit_code = rank0_outcome(BOTIFY_EXIT_OK);
		goto out;
	}
	if (botify_ab_analyze(&ab, p.control, p.treatments, p.n_treatments, &p.ao, res, &err) != 0)
		goto fail;
	print_notes(&ab, res, &p.desc);
	print_results(res, &o, &p, &pw);
	if (o.plot && write_plot(res, o.plot, o.force, &p.desc, &err) != 0)
		goto fail;
	exit_code = check_requirements(res, &o, &p);
	goto out;
fail:
	exit_code = report_error(&err);
out:
	if (shared && botify_dist_rank() == 0)
		rank0_outcome(exit_code);
	botify_ab_free(&ab);
	free(res);
	return exit_code;
}
