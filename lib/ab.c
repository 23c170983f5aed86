/*
 * ab.c - streaming A/B accumulation and the per-arm summary and effects.
 *
 * A unit (user, arm) lives in an open-addressing table. It holds the totals
 * of its finished sessions and the rows of its open session (cleared at
 * every "last"), so memory follows users, not rows. See ab.h for how rows
 * arriving out of timestamp order are placed.
 */
#include "ab.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eventlog.h"
#include "stats.h"

static const char *const metric_names[BOTIFY_AB_N_METRICS] = {
	"time", "sessions", "mean_request_latency", "mean_tracks_per_session",
	"mean_time_per_session",
};

const char *botify_ab_metric_name(int metric)
{
	return metric >= 0 && metric < BOTIFY_AB_N_METRICS ? metric_names[metric] : NULL;
}

int botify_ab_metric_index(const char *name)
{
	for (int i = 0; i < BOTIFY_AB_N_METRICS; i++)
		if (!strcmp(name, metric_names[i]))
			return i;
	return -1;
}

/* A row of an open session. */
struct pending {
	int64_t ts;
	double time, latency_ms;
};

struct botify_ab_unit {
	int64_t user;
	int8_t arm;
	uint8_t used;
	uint32_t n_pend, cap_pend;
	struct pending *pend;      /* the open session's rows, arrival order */
	int64_t last_ts;           /* newest "last" row; INT64_MIN before one */
	int64_t max_ts;            /* newest row of any kind */
	int64_t sessions, tracks;  /* finished sessions */
	double time, latency_ms;
};

enum { INITIAL_CAP = 1024 };

static uint64_t mix(int64_t user, int arm)
{
	/* splitmix64's finalizer: user ids are often dense small integers */
	uint64_t z = (uint64_t)user * 32 + (uint64_t)arm + 0x9e3779b97f4a7c15u;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

int botify_ab_init(botify_ab *ab, botify_err *err)
{
	memset(ab, 0, sizeof(*ab));
	ab->units = botify_calloc(INITIAL_CAP, sizeof(*ab->units), "A/B users", err);
	if (!ab->units)
		return -1;
	ab->cap = INITIAL_CAP;
	return 0;
}

void botify_ab_free(botify_ab *ab)
{
	for (size_t i = 0; i < ab->cap; i++)
		free(ab->units[i].pend);
	free(ab->units);
	memset(ab, 0, sizeof(*ab));
}

static int grow(botify_ab *ab, botify_err *err)
{
	size_t cap;
	if (botify_size_mul(ab->cap, 2, &cap) != 0)
		return botify_fail(err, BOTIFY_ENOMEM, "too many A/B users");
	struct botify_ab_unit *u = botify_calloc(cap, sizeof(*u), "A/B users", err);
	if (!u)
		return -1;
	for (size_t i = 0; i < ab->cap; i++) {
		const struct botify_ab_unit *o = &ab->units[i];
		if (!o->used)
			continue;
		size_t j = mix(o->user, o->arm) & (cap - 1);
		while (u[j].used)
			j = (j + 1) & (cap - 1);
		u[j] = *o;
	}
	free(ab->units);
	ab->units = u;
	ab->cap = cap;
	return 0;
}

static struct botify_ab_unit *find_unit(botify_ab *ab, int64_t user, int arm, botify_err *err)
{
	size_t j = mix(user, arm) & (ab->cap - 1);
	for (;;) {
		struct botify_ab_unit *u = &ab->units[j];
		if (!u->used)
			break;
		if (u->user == user && u->arm == arm)
			return u;
		j = (j + 1) & (ab->cap - 1);
	}
	if (2 * (ab->n_units + 1) > ab->cap) { /* keep the load at most 1/2 */
		if (grow(ab, err) != 0)
			return NULL;
		return find_unit(ab, user, arm, err);
	}
	struct botify_ab_unit *u = &ab->units[j];
	u->used = 1;
	u->user = user;
	u->arm = (int8_t)arm;
	u->last_ts = INT64_MIN;
	u->max_ts = INT64_MIN;
	ab->n_units++;
	return u;
}

/* Closes the open session at a "last" row at ts: its rows up to ts (all of
 * them when rows came in order) and the last row itself. */
static void close_session(struct botify_ab_unit *u, int64_t ts, double time, double latency_ms)
{
	double s_time = 0.0, s_lat = 0.0;
	int64_t tracks = 0;
	uint32_t keep = 0;
	for (uint32_t i = 0; i < u->n_pend; i++) {
		const struct pending *p = &u->pend[i];
		if (p->ts <= ts) {
			tracks++;
			s_time += p->time;
			s_lat += p->latency_ms;
		} else {
			u->pend[keep++] = *p; /* after this "last": stays open */
		}
	}
	u->n_pend = keep;
	u->tracks += tracks + 1;
	u->time += s_time + time;
	u->latency_ms += s_lat + latency_ms;
	u->sessions++;
}

int botify_ab_add(botify_ab *ab, const botify_event *e, botify_err *err)
{
	ab->rows++;
	if (e->arm < 0 || e->arm >= BOTIFY_MAX_ARMS)
		return 0;
	struct botify_ab_unit *u = find_unit(ab, e->user, e->arm, err);
	if (!u)
		return -1;
	ab->rows_used++;
	ab->seq++;
	double lat = e->latency * 1000;   /* ms, row by row, as the notebook */
	if (e->timestamp < u->max_ts)
		ab->rows_out_of_order++;
	else
		u->max_ts = e->timestamp;
	if (e->message == BOTIFY_MSG_LAST)
		ab->last_rows++;
	if (e->timestamp < u->last_ts) {
		/* before the newest "last": inside a finished session */
		u->tracks++;
		u->time += e->time;
		u->latency_ms += lat;
		u->sessions += e->message == BOTIFY_MSG_LAST;
		return 0;
	}
	if (e->message == BOTIFY_MSG_LAST) {
		u->last_ts = e->timestamp;
		close_session(u, e->timestamp, e->time, lat);
		return 0;
	}
	if (u->n_pend == u->cap_pend) {
		uint32_t cap = u->cap_pend ? 2 * u->cap_pend : 8;
		if (cap < u->cap_pend)
			return botify_fail(err, BOTIFY_ENOMEM, "session of user %lld too long",
					   (long long)e->user);
		struct pending *p = botify_realloc(u->pend, cap, sizeof(*p), "an open session", err);
		if (!p)
			return -1;
		u->pend = p;
		u->cap_pend = cap;
	}
	u->pend[u->n_pend++] = (struct pending){ e->timestamp, e->time, lat };
	return 0;
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

int botify_ab_read_log(botify_ab *ab, const char *path, const char *experiment, int arm,
		       void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
		       botify_err *err)
{
	botify_eventlog_reader r;
	if (botify_eventlog_open(&r, path, arm >= 0 ? NULL : experiment, err) != 0)
		return -1;
	uint64_t size = progress ? file_size(path) : 0;
	botify_event e;
	int rc;
	while ((rc = botify_eventlog_next(&r, &e, err)) == 1) {
		if (arm >= 0)
			e.arm = (int8_t)arm;
		if (botify_ab_add(ab, &e, err) != 0) {
			rc = -1;
			break;
		}
		if (progress && (r.rows & 0xffff) == 0)
			progress(ctx, botify_eventlog_offset(&r), size);
	}
	if (progress && rc == 0)
		progress(ctx, size, size);
	ab->rows_without_arm += r.rows_without_arm;
	ab->rows_other_experiment += r.rows_other_experiment;
	ab->rows_other_arm += r.rows_other_arm;
	botify_eventlog_close(&r);
	return rc < 0 ? -1 : 0;
}

/* The value of a metric for a unit with at least one finished session. */
static double unit_metric(const struct botify_ab_unit *u, int metric)
{
	switch (metric) {
	case BOTIFY_AB_TIME:
		return u->time;
	case BOTIFY_AB_SESSIONS:
		return (double)u->sessions;
	case BOTIFY_AB_MEAN_REQUEST_LATENCY:
		return u->latency_ms / (double)u->tracks;
	case BOTIFY_AB_MEAN_TRACKS_PER_SESSION:
		return (double)u->tracks / (double)u->sessions;
	default:
		return u->time / (double)u->sessions;
	}
}

void botify_ab_arms(const botify_ab *ab, botify_ab_result *res)
{
	memset(res->arm, 0, sizeof(res->arm));
	/* pass 1: counts and compensated sums for the means */
	double sum[BOTIFY_MAX_ARMS][BOTIFY_AB_N_METRICS] = { { 0 } };
	double comp[BOTIFY_MAX_ARMS][BOTIFY_AB_N_METRICS] = { { 0 } };
	for (size_t i = 0; i < ab->cap; i++) {
		const struct botify_ab_unit *u = &ab->units[i];
		if (!u->used)
			continue;
		botify_ab_arm *a = &res->arm[u->arm];
		if (u->n_pend) {
			a->unfinished_sessions++;
			a->unfinished_rows += u->n_pend;
		}
		if (!u->sessions) {
			a->units_unfinished_only++;
			continue;
		}
		a->present = 1;
		a->units++;
		a->sessions += u->sessions;
		a->rows += u->tracks;
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
			double y = unit_metric(u, m) - comp[u->arm][m];
			double t = sum[u->arm][m] + y;
			comp[u->arm][m] = (t - sum[u->arm][m]) - y;
			sum[u->arm][m] = t;
		}
	}
	for (int a = 0; a < BOTIFY_MAX_ARMS; a++)
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
			botify_ab_moments *mo = &res->arm[a].m[m];
			mo->n = res->arm[a].units;
			mo->mean = mo->n ? sum[a][m] / (double)mo->n : NAN;
			sum[a][m] = comp[a][m] = 0; /* reused below */
		}
	/* pass 2: the corrected two-pass variance,
	 * (sum d^2 - (sum d)^2 / n) / (n - 1) with d = x - mean */
	for (size_t i = 0; i < ab->cap; i++) {
		const struct botify_ab_unit *u = &ab->units[i];
		if (!u->used || !u->sessions)
			continue;
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
			double d = unit_metric(u, m) - res->arm[u->arm].m[m].mean;
			sum[u->arm][m] += d * d;
			comp[u->arm][m] += d;
		}
	}
	for (int a = 0; a < BOTIFY_MAX_ARMS; a++)
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
			botify_ab_moments *mo = &res->arm[a].m[m];
			double n = (double)mo->n;
			mo->var = mo->n >= 2 ? (sum[a][m] - comp[a][m] * comp[a][m] / n) / (n - 1) : NAN;
			if (mo->var < 0)
				mo->var = 0;
		}
}

static int cmp_user_arm(const void *pa, const void *pb)
{
	const int64_t *a = pa, *b = pb;
	return (*a > *b) - (*a < *b);
}

/* Users that have units in more than one arm. */
static int64_t users_in_several_arms(const botify_ab *ab)
{
	if (!ab->n_units)
		return 0;
	int64_t *k = malloc(ab->n_units * sizeof(*k));
	if (!k)
		return -1; /* a diagnostic only */
	size_t n = 0;
	for (size_t i = 0; i < ab->cap; i++)
		if (ab->units[i].used)
			k[n++] = ab->units[i].user;
	qsort(k, n, sizeof(*k), cmp_user_arm);
	int64_t several = 0;
	for (size_t i = 1; i < n; i++)
		if (k[i] == k[i - 1] && (i < 2 || k[i - 1] != k[i - 2]))
			several++;
	free(k);
	return several;
}

/* "C, T1, T2" of the arms present, into buf. */
static const char *present_arms(const botify_ab_result *res, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int a = 0; a < BOTIFY_MAX_ARMS && len < cap; a++)
		if (res->arm[a].present)
			len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "",
						botify_arm_name(a));
	return buf;
}

/* The error for an analysed arm without finished sessions. */
static int absent_arm(const botify_ab_result *res, const char *role, int arm, const char *arms,
		      botify_err *err)
{
	const char *name = botify_arm_name(arm);
	if (name && res->arm[arm].units_unfinished_only)
		return botify_fail(err, BOTIFY_EINVAL,
				   "%s arm '%s' has no finished session (its %lld users have "
				   "unfinished sessions only)", role, name,
				   (long long)res->arm[arm].units_unfinished_only);
	return botify_fail(err, BOTIFY_EINVAL, "%s arm '%s' is not in the data (arms: %s)", role,
			   name ? name : "?", arms);
}

static const char *const ci_names[] = { "delta", "notebook" };

int botify_ab_ci_parse(const char *name)
{
	for (int i = 0; i < 2; i++)
		if (!strcmp(name, ci_names[i]))
			return i;
	return -1;
}

const char *botify_ab_ci_name(int ci)
{
	return ci >= 0 && ci < 2 ? ci_names[ci] : NULL;
}

/* The moments one comparison needs: per arm, and for paired data the
 * covariance of the pairs (NaN for independent arms). */
struct cmp_moments {
	double nc, nt, mc, mt, vc, vt, cov;
};

/* Fills the relative interval, its p-value and the decision from the
 * absolute interval (diff, half_width, df_abs, se_abs) already set. */
static void relative_of(botify_ab_effect *ef, const struct cmp_moments *c, int paired, int ci,
			double alpha, double df_abs, double se_abs)
{
	double diff = ef->diff;
	ef->p = se_abs > 0 ? botify_t_p_two_sided(diff / se_abs, df_abs)
			   : isnan(df_abs) || diff == 0 ? NAN : 0.0;
	if (c->mc == 0) {
		ef->zero_control = 1;
		ef->effect = ef->lower = ef->upper = ef->se_rel = NAN;
		ef->df = df_abs;
		ef->interval_excludes_0 = (diff + ef->half_width) * (diff - ef->half_width) > 0;
		return;
	}
	ef->effect = diff / c->mc * 100;
	if (ci == BOTIFY_AB_CI_NOTEBOOK) {
		/* the notebook's order of operations, so results agree to the ulp */
		ef->df = df_abs;
		ef->lower = (diff - ef->half_width) / c->mc * 100;
		ef->upper = (diff + ef->half_width) / c->mc * 100;
		ef->se_rel = se_abs / fabs(c->mc) * 100;
		ef->interval_excludes_0 = (diff + ef->half_width) * (diff - ef->half_width) > 0;
		return;
	}
	/* delta method for R = mean_T / mean_C: the variance of mean_T - R mean_C
	 * over mean_C^2 */
	double R = c->mt / c->mc, var, df;
	if (paired) {
		var = (c->vt - 2 * R * c->cov + R * R * c->vc) / c->nt;
		df = c->nt - 1;
	} else {
		double a = c->vt / c->nt, b = R * R * c->vc / c->nc;
		var = a + b;
		df = var * var / (a * a / (c->nt - 1) + b * b / (c->nc - 1));
	}
	if (var < 0)
		var = 0;
	double se = sqrt(var) / fabs(c->mc);
	double rel = R - 1, hw = botify_t_quantile(1 - alpha / 2, df) * se;
	ef->df = df;
	ef->se_rel = se * 100;
	ef->lower = (rel - hw) * 100;
	ef->upper = (rel + hw) * 100;
	ef->interval_excludes_0 = ef->lower > 0 || ef->upper < 0;
	ef->p = se > 0 ? botify_t_p_two_sided(rel / se, df) : isnan(df) || rel == 0 ? NAN : 0.0;
}

static void effect_of(const botify_ab_result *res, int t, int m, botify_ab_effect *ef)
{
	const botify_ab_moments *c = &res->arm[res->control].m[m], *x = &res->arm[t].m[m];
	memset(ef, 0, sizeof(*ef));
	ef->treatment = t;
	ef->metric = m;
	ef->n_control = c->n;
	ef->n_treatment = x->n;
	ef->control_mean = c->mean;
	ef->treatment_mean = x->mean;
	/* the notebook's order of operations, so results agree to the ulp */
	double diff = x->mean - c->mean;
	double nc = (double)c->n, nt = (double)x->n;
	double df = botify_welch_df(nc, nt, c->var, x->var), se = sqrt(c->var / nc + x->var / nt);
	ef->diff = diff;
	ef->half_width = botify_t_quantile(1 - res->alpha / 2, df) * se;
	ef->diff_lower = diff - ef->half_width;
	ef->diff_upper = diff + ef->half_width;
	struct cmp_moments cm = { nc, nt, c->mean, x->mean, c->var, x->var, NAN };
	relative_of(ef, &cm, 0, res->ci, res->alpha, df, se);
}

/* A unit with a finished session, or NULL. */
static const struct botify_ab_unit *finished_unit(const botify_ab *ab, int64_t user, int arm)
{
	size_t j = mix(user, arm) & (ab->cap - 1);
	for (;; j = (j + 1) & (ab->cap - 1)) {
		const struct botify_ab_unit *u = &ab->units[j];
		if (!u->used)
			return NULL;
		if (u->user == user && u->arm == arm)
			return u->sessions ? u : NULL;
	}
}

/* Whether user has rows in arm at all. */
static int has_unit(const botify_ab *ab, int64_t user, int arm)
{
	size_t j = mix(user, arm) & (ab->cap - 1);
	for (;; j = (j + 1) & (ab->cap - 1)) {
		const struct botify_ab_unit *u = &ab->units[j];
		if (!u->used)
			return 0;
		if (u->user == user && u->arm == arm)
			return 1;
	}
}

/* Users of one analysed arm that have no rows in another: 0 for paired data. */
static int64_t users_missing_an_arm(const botify_ab *ab, const int *arms, int k)
{
	int64_t missing = 0;
	for (size_t i = 0; i < ab->cap; i++) {
		const struct botify_ab_unit *u = &ab->units[i];
		int analysed = 0;
		for (int a = 0; a < k; a++)
			analysed |= u->used && u->arm == arms[a];
		if (!analysed)
			continue;
		for (int a = 0; a < k; a++)
			if (arms[a] != u->arm && !has_unit(ab, u->user, arms[a])) {
				missing++;
				break;
			}
	}
	return missing;
}

/* The pairs of control and treatment t: users with a finished session in
 * both. Two passes per metric: means, then centred sums. Adds the effects
 * when there are at least 2 pairs; returns the number of pairs. */
static int64_t paired_effects(const botify_ab *ab, botify_ab_result *res, int t, unsigned metrics)
{
	int ctl = res->control;
	double sc[BOTIFY_AB_N_METRICS] = { 0 }, st[BOTIFY_AB_N_METRICS] = { 0 };
	int64_t n = 0;
	for (size_t i = 0; i < ab->cap; i++) {
		const struct botify_ab_unit *c = &ab->units[i], *x;
		if (!c->used || c->arm != ctl || !c->sessions || !(x = finished_unit(ab, c->user, t)))
			continue;
		n++;
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
			sc[m] += unit_metric(c, m);
			st[m] += unit_metric(x, m);
		}
	}
	if (n < 2)
		return n;
	double mc[BOTIFY_AB_N_METRICS], mt[BOTIFY_AB_N_METRICS];
	double vc[BOTIFY_AB_N_METRICS] = { 0 }, vt[BOTIFY_AB_N_METRICS] = { 0 };
	double cv[BOTIFY_AB_N_METRICS] = { 0 }, vd[BOTIFY_AB_N_METRICS] = { 0 };
	double dc[BOTIFY_AB_N_METRICS] = { 0 }, dt[BOTIFY_AB_N_METRICS] = { 0 };
	for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
		mc[m] = sc[m] / (double)n;
		mt[m] = st[m] / (double)n;
	}
	for (size_t i = 0; i < ab->cap; i++) {
		const struct botify_ab_unit *c = &ab->units[i], *x;
		if (!c->used || c->arm != ctl || !c->sessions || !(x = finished_unit(ab, c->user, t)))
			continue;
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
			double a = unit_metric(c, m) - mc[m], b = unit_metric(x, m) - mt[m];
			vc[m] += a * a;
			vt[m] += b * b;
			cv[m] += a * b;
			vd[m] += (b - a) * (b - a);
			dc[m] += a;
			dt[m] += b;
		}
	}
	double nn = (double)n;
	for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
		if (metrics && !(metrics & (1u << m)))
			continue;
		/* corrected two-pass sums, as for the arms */
		double var_c = (vc[m] - dc[m] * dc[m] / nn) / (nn - 1);
		double var_t = (vt[m] - dt[m] * dt[m] / nn) / (nn - 1);
		double cov = (cv[m] - dc[m] * dt[m] / nn) / (nn - 1);
		double var_d = (vd[m] - (dt[m] - dc[m]) * (dt[m] - dc[m]) / nn) / (nn - 1);
		if (var_d < 0)
			var_d = 0;
		botify_ab_effect *ef = &res->effects[res->n_effects++];
		memset(ef, 0, sizeof(*ef));
		ef->treatment = t;
		ef->metric = m;
		ef->n_control = ef->n_treatment = n;
		ef->control_mean = mc[m];
		ef->treatment_mean = mt[m];
		ef->diff = mt[m] - mc[m];
		double df = nn - 1, se = sqrt(var_d / nn);
		/* identical pairs (sessions under a paired design) test nothing */
		if (var_d == 0 && ef->diff == 0)
			df = NAN;
		ef->half_width = botify_t_quantile(1 - res->alpha / 2, df) * se;
		ef->diff_lower = ef->diff - ef->half_width;
		ef->diff_upper = ef->diff + ef->half_width;
		struct cmp_moments cm = { nn, nn, mc[m], mt[m], var_c, var_t, cov };
		relative_of(ef, &cm, 1, res->ci, res->alpha, df, se);
		if (isnan(df))
			ef->lower = ef->upper = ef->se_rel = ef->p = NAN;
	}
	return n;
}

/* Adjusts the p-values across the table and takes the decisions. */
static int decide(botify_ab_result *res, botify_err *err)
{
	double p[(BOTIFY_MAX_ARMS - 1) * BOTIFY_AB_N_METRICS];
	for (int i = 0; i < res->n_effects; i++)
		p[i] = res->effects[i].p;
	if (botify_p_adjust(p, res->n_effects, res->correction, p) != 0)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	for (int i = 0; i < res->n_effects; i++) {
		botify_ab_effect *ef = &res->effects[i];
		ef->p_adjusted = p[i];
		ef->significant = res->correction == BOTIFY_P_ADJUST_NONE ? ef->interval_excludes_0
									   : p[i] < res->alpha;
	}
	return 0;
}

static int analyze_paired(const botify_ab *ab, botify_ab_result *res, unsigned metrics,
			  botify_err *err)
{
	res->srm_chi2 = res->srm_p = NAN;
	for (int i = 0; i < res->n_treatments; i++) {
		int t = res->treatments[i];
		int64_t pairs = paired_effects(ab, res, t, metrics);
		if (pairs < 2)
			return botify_fail(err, BOTIFY_EINVAL,
					   "arms '%s' and '%s' have %lld user with a finished session in "
					   "both; a paired variance needs at least 2",
					   botify_arm_name(res->control), botify_arm_name(t), (long long)pairs);
		int64_t unpaired = res->arm[res->control].units - pairs + res->arm[t].units - pairs;
		if (unpaired > res->unpaired_users)
			res->unpaired_users = unpaired;
	}
	return decide(res, err);
}

int botify_ab_analyze(const botify_ab *ab, int control, const int *treatments, int n_treatments,
		      const botify_ab_opts *opts, botify_ab_result *res, botify_err *err)
{
	char arms[128];
	double alpha = opts->alpha;
	memset(res, 0, sizeof(*res));
	res->alpha = alpha;
	res->control = control;
	res->ci = opts->ci;
	res->correction = opts->correction;
	if (!(alpha > 0 && alpha < 1))
		return botify_fail(err, BOTIFY_EINVAL, "alpha must be between 0 and 1, got %g", alpha);
	if (!botify_ab_ci_name(opts->ci) || !botify_p_adjust_name(opts->correction) ||
	    (opts->design != BOTIFY_AB_DESIGN_DETECT && !botify_design_name(opts->design)))
		return botify_fail(err, BOTIFY_EINVAL, "bad A/B analysis options");
	botify_ab_arms(ab, res);
	int any = 0;
	for (int a = 0; a < BOTIFY_MAX_ARMS; a++)
		any |= res->arm[a].present;
	if (!any) {
		if (!ab->rows_used)
			return botify_fail(err, BOTIFY_EINVAL, "no rows to analyse");
		if (!ab->last_rows)
			return botify_fail(err, BOTIFY_EINVAL,
					   "no finished sessions: none of the %lld rows is a 'last' row "
					   "(a session ends at its 'last' row; was the log cut short?)",
					   (long long)ab->rows_used);
		return botify_fail(err, BOTIFY_EINVAL, "no finished sessions");
	}
	present_arms(res, arms, sizeof(arms));
	if (control < 0 || control >= BOTIFY_MAX_ARMS || !res->arm[control].present)
		return absent_arm(res, "control", control, arms, err);
	if (n_treatments == 0) {
		for (int a = 0; a < BOTIFY_MAX_ARMS; a++)
			if (a != control && res->arm[a].present)
				res->treatments[res->n_treatments++] = a;
		if (!res->n_treatments)
			return botify_fail(err, BOTIFY_EINVAL,
					   "no treatment arm besides the control '%s' in the data (arms: %s)",
					   botify_arm_name(control), arms);
	} else {
		for (int i = 0; i < n_treatments; i++) {
			int t = treatments[i];
			const char *name = botify_arm_name(t);
			if (!name || !res->arm[t].present)
				return absent_arm(res, "treatment", t, arms, err);
			if (t == control)
				return botify_fail(err, BOTIFY_EINVAL,
						   "arm '%s' is both the control and a treatment", name);
			for (int j = 0; j < i; j++)
				if (treatments[j] == t)
					return botify_fail(err, BOTIFY_EINVAL,
							   "treatment arm '%s' given twice", name);
			res->treatments[res->n_treatments++] = t;
		}
	}
	int analysed[BOTIFY_MAX_ARMS], k = 0;
	analysed[k++] = control;
	for (int i = 0; i < res->n_treatments; i++)
		analysed[k++] = res->treatments[i];
	int64_t missing = users_missing_an_arm(ab, analysed, k);
	if (opts->design == BOTIFY_AB_DESIGN_DETECT) {
		res->design_detected = 1;
		res->design = missing == 0 ? BOTIFY_DESIGN_PAIRED : BOTIFY_DESIGN_SPLIT;
	} else {
		res->design = opts->design;
	}
	if (res->design == BOTIFY_DESIGN_PAIRED && missing)
		return botify_fail(err, BOTIFY_EINVAL,
				   "the data is not paired: %lld users of the analysed arms (%s) have no "
				   "rows in another of them (a paired log has every user in every arm; "
				   "analyse it with --design split)", (long long)missing, arms);
	if (res->design == BOTIFY_DESIGN_PAIRED)
		return analyze_paired(ab, res, opts->metrics, err);
	for (int i = 0; i < k; i++) {
		const botify_ab_arm *a = &res->arm[analysed[i]];
		if (a->units < 2)
			return botify_fail(err, BOTIFY_EINVAL,
					   "arm '%s' has %lld user with a finished session; a variance "
					   "needs at least 2", botify_arm_name(analysed[i]),
					   (long long)a->units);
	}
	/* sample-ratio mismatch: the service splits users evenly */
	double total = 0, chi2 = 0;
	for (int i = 0; i < k; i++)
		total += (double)res->arm[analysed[i]].units;
	for (int i = 0; i < k; i++) {
		double d = (double)res->arm[analysed[i]].units - total / k;
		chi2 += d * d / (total / k);
	}
	res->srm_chi2 = chi2;
	res->srm_p = botify_chi2_sf(chi2, k - 1);
	res->srm = res->srm_p < BOTIFY_AB_SRM_P;
	for (int i = 0; i < res->n_treatments; i++)
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++)
			if (!opts->metrics || (opts->metrics & (1u << m)))
				effect_of(res, res->treatments[i], m, &res->effects[res->n_effects++]);
	if (decide(res, err) != 0)
		return -1;
	res->users_in_several_arms = users_in_several_arms(ab);
	return 0;
}
