/* check_simrun.c - the parallel runner: the same events and statistics for
 * any thread count, the virtual clock, logs (plain and gzip) that read back
 * as the events, and stopping early. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "gentest.h"
#include "simrun.h"
#include "testutil.h"
#include "worldgen.h"

static botify_world W;
static botify_rec R_random, R_sticky;

enum { EPISODES = 2000, DAY = 2 };

static void setup(void)
{
	tu_scratch_setup();
	gt_small_world(&W, 5, 2, 17);
	botify_err err = {0};
	botify_rec_env env = { .world = &W, .max_steps = 1000 };
	ck_assert_int_eq(botify_rec_create(&R_random, "random", &env, &err), 0);
	ck_assert_int_eq(botify_rec_create(&R_sticky, "sticky_artist", &env, &err), 0);
}

static void teardown(void)
{
	botify_rec_free(&R_random);
	botify_rec_free(&R_sticky);
	botify_world_free(&W);
	tu_scratch_teardown();
}

/* on_rows: appends every row; fails on call fail_at (1-based) if set. */
typedef struct collected {
	botify_event *ev;
	size_t n, cap;
	int calls, fail_at;
} collected;

static int collect_rows(void *ctx, const botify_event *ev, size_t n, botify_err *err)
{
	collected *c = ctx;
	if (++c->calls == c->fail_at)
		return botify_fail(err, BOTIFY_EIO, "sink full");
	if (c->n + n > c->cap) {
		c->cap = (c->n + n) * 2;
		c->ev = realloc(c->ev, c->cap * sizeof(botify_event));
	}
	memcpy(c->ev + c->n, ev, n * sizeof(botify_event));
	c->n += n;
	return 0;
}

typedef struct progress {
	int64_t last, calls;
	int bad;
} progress;

static void on_progress(void *ctx, int64_t done, int64_t total)
{
	progress *p = ctx;
	p->bad |= done <= p->last || done > total || total != EPISODES;
	p->last = done;
	p->calls++;
}

typedef struct run {
	botify_simrun_result res;
	collected rows;
	progress prog;
} run;

/* Simulates EPISODES episodes of an A/B experiment random vs sticky_artist
 * on `threads` threads; log may be NULL. Returns simrun's result code. */
static int simulate(run *out, int threads, botify_outfile *log, volatile sig_atomic_t *stop,
		    int fail_at, botify_err *err)
{
	botify_simcfg cfg;
	botify_simcfg_defaults(&cfg);
	botify_experiment exp;
	ck_assert_int_eq(botify_experiment_init(&exp, "AB", 2, err), 0);
	botify_sim s;
	ck_assert_int_eq(botify_sim_init(&s, &W, &cfg, 12345, DAY, &exp, err), 0);
	ck_assert_int_eq(botify_sim_prepare(&s, EPISODES, threads, err), 0);
	botify_rec *recs[2] = { &R_random, &R_sticky };
	memset(out, 0, sizeof(*out));
	out->rows.fail_at = fail_at;
	out->prog.last = -1;
	botify_simrun_opts o = {
		.episodes = EPISODES, .threads = threads, .recs = recs, .log = log,
		.on_rows = collect_rows, .rows_ctx = &out->rows,
		.progress = on_progress, .progress_ctx = &out->prog, .stop = stop,
	};
	int rc = botify_simrun(&s, &o, &out->res, err);
	botify_sim_free(&s);
	return rc;
}

static void run_free(run *r)
{
	free(r->rows.ev);
	memset(r, 0, sizeof(*r));
}

static void assert_same_event(const botify_event *a, const botify_event *b, size_t i)
{
	ck_assert_msg(a->timestamp == b->timestamp && a->user == b->user && a->track == b->track &&
			      a->recommendation == b->recommendation && a->time == b->time &&
			      a->latency == b->latency && a->message == b->message && a->arm == b->arm,
		      "row %zu differs", i);
}

static void assert_same_arm_stats(const botify_simrun_result *a, const botify_simrun_result *b)
{
	ck_assert_int_eq(a->steps, b->steps);
	for (int k = 0; k < BOTIFY_MAX_ARMS; k++) {
		const botify_arm_stats *x = &a->arm[k], *y = &b->arm[k];
		ck_assert_int_eq(x->episodes, y->episodes);
		ck_assert_int_eq(x->steps, y->steps);
		ck_assert_int_eq(x->capped, y->capped);
		/* bit for bit: sums merged in chunk order */
		ck_assert(!memcmp(&x->tracks, &y->tracks, sizeof(x->tracks)));
		ck_assert(!memcmp(&x->time, &y->time, sizeof(x->time)));
	}
}

static void assert_same_stats(const botify_simrun_result *a, const botify_simrun_result *b)
{
	ck_assert_int_eq(a->rows, b->rows);
	assert_same_arm_stats(a, b);
}

START_TEST(simrun_same_for_any_thread_count)
{
	botify_err err = {0};
	run ref;
	ck_assert_msg(simulate(&ref, 1, NULL, NULL, 0, &err) == 0, "%s", err.msg);
	const int threads[] = { 2, 3, 8 };
	for (int k = 0; k < 3; k++) {
		run r;
		ck_assert_msg(simulate(&r, threads[k], NULL, NULL, 0, &err) == 0, "%s", err.msg);
		ck_assert_uint_eq(r.rows.n, ref.rows.n);
		for (size_t i = 0; i < r.rows.n; i++)
			assert_same_event(&r.rows.ev[i], &ref.rows.ev[i], i);
		assert_same_stats(&r.res, &ref.res);
		ck_assert_int_eq(r.prog.bad, 0);
		ck_assert_int_eq(r.prog.last, EPISODES);
		run_free(&r);
	}
	run_free(&ref);
}
END_TEST

/* The events themselves: a virtual clock, sessions in episode order, the
 * statistics agree with the rows. */
START_TEST(simrun_events_and_stats)
{
	botify_err err = {0};
	run r;
	ck_assert_msg(simulate(&r, 3, NULL, NULL, 0, &err) == 0, "%s", err.msg);
	const botify_event *ev = r.rows.ev;
	ck_assert_int_eq(r.res.rows, (int64_t)r.rows.n);
	const int64_t t0 = BOTIFY_TIMESTAMP_BASE + DAY * BOTIFY_MS_PER_DAY;
	ck_assert_int_eq(t0, 1700172800000LL);
	long sessions[2] = {0}, steps[2] = {0}, bad = 0;
	double time_sum[2] = {0}, session_time = 0;
	botify_experiment exp;
	ck_assert_int_eq(botify_experiment_init(&exp, "AB", 2, &err), 0);
	for (size_t i = 0; i < r.rows.n; i++) {
		bad += ev[i].timestamp != t0 + (int64_t)i;
		bad += ev[i].latency != 0;
		bad += ev[i].arm != botify_experiment_assign(&exp, ev[i].user);
		bad += i > 0 && ev[i - 1].message == BOTIFY_MSG_NEXT &&
		       (ev[i].user != ev[i - 1].user || ev[i].track != ev[i - 1].recommendation);
		session_time += ev[i].time;
		if (ev[i].message == BOTIFY_MSG_LAST) {
			sessions[ev[i].arm]++;
			time_sum[ev[i].arm] += session_time;
			session_time = 0;
		} else {
			steps[ev[i].arm]++;
		}
	}
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(ev[r.rows.n - 1].message, BOTIFY_MSG_LAST);
	ck_assert_int_eq(sessions[0] + sessions[1], EPISODES);
	for (int a = 0; a < 2; a++) {
		const botify_arm_stats *st = &r.res.arm[a];
		ck_assert_int_gt(sessions[a], 500);
		ck_assert_int_eq(st->episodes, sessions[a]);
		ck_assert_int_eq(st->steps, steps[a]);
		ck_assert_int_eq(st->capped, 0);
		ck_assert_int_eq(st->tracks.n, sessions[a]);
		ck_assert(st->tracks.sum == (double)(steps[a] + sessions[a]));
		ck_assert_double_lt(fabs(st->time.sum - time_sum[a]), 1e-9 * time_sum[a]);
		ck_assert(st->tracks.m2 >= 0);
	}
	for (int a = 2; a < BOTIFY_MAX_ARMS; a++)
		ck_assert_int_eq(r.res.arm[a].episodes, 0);
	ck_assert_int_eq(r.res.steps, steps[0] + steps[1]);
	run_free(&r);
}
END_TEST

/* Logs through botify_outfile read back as the events handed to on_rows. */
START_TEST(simrun_log_reads_back)
{
	const char *names[] = { "log.json", "log.json.gz" };
	for (int k = 0; k < 2; k++) {
		char p[4096];
		botify_err err = {0};
		botify_outfile f = {0};
		ck_assert_int_eq(botify_outfile_open(&f, tu_path(p, tu_tmp, names[k]), 0, &err), 0);
		run r;
		ck_assert_msg(simulate(&r, 3, &f, NULL, 0, &err) == 0, "%s", err.msg);
		ck_assert_msg(botify_outfile_commit(&f, &err) == 0, "%s", err.msg);
		botify_outfile_abort(&f);

		/* a .gz log really is gzip */
		FILE *fp = fopen(p, "rb");
		unsigned char magic[2] = {0};
		ck_assert_uint_eq(fread(magic, 1, 2, fp), 2);
		fclose(fp);
		ck_assert_int_eq(magic[0] == 0x1f && magic[1] == 0x8b, k == 1);

		botify_eventlog_reader rd;
		botify_event e;
		ck_assert_int_eq(botify_eventlog_open(&rd, p, "AB", &err), 0);
		size_t i = 0;
		int rc;
		while ((rc = botify_eventlog_next(&rd, &e, &err)) == 1) {
			ck_assert_uint_lt(i, r.rows.n);
			assert_same_event(&e, &r.rows.ev[i], i);
			i++;
		}
		ck_assert_msg(rc == 0, "%s", err.msg);
		ck_assert_uint_eq(i, r.rows.n);
		ck_assert_int_eq(rd.rows_without_arm + rd.rows_other_arm, 0);
		botify_eventlog_close(&rd);

		/* and the text is exactly the formatted events */
		size_t len;
		char *text = tu_slurp(p, &len), *q = text;
		char line[BOTIFY_EVENT_MAX_LINE];
		long bad = 0;
		for (i = 0; i < r.rows.n; i++) {
			size_t n = botify_event_format(line, &r.rows.ev[i], "AB");
			bad += (size_t)(text + len - q) < n || memcmp(q, line, n);
			if (bad)
				break;
			q += n;
		}
		ck_assert_int_eq(bad, 0);
		ck_assert_ptr_eq(q, text + len);
		free(text);
		run_free(&r);
	}
}
END_TEST

/* A log alone (no on_rows) gets the same bytes. */
START_TEST(simrun_log_without_callback)
{
	botify_err err = {0};
	char p[4096], q[4096];
	botify_outfile f = {0};
	ck_assert_int_eq(botify_outfile_open(&f, tu_path(p, tu_tmp, "a.json"), 0, &err), 0);
	run r;
	ck_assert_int_eq(simulate(&r, 2, &f, NULL, 0, &err), 0);
	ck_assert_int_eq(botify_outfile_commit(&f, &err), 0);
	run_free(&r);

	botify_simcfg cfg;
	botify_simcfg_defaults(&cfg);
	botify_experiment exp;
	ck_assert_int_eq(botify_experiment_init(&exp, "AB", 2, &err), 0);
	botify_sim s;
	ck_assert_int_eq(botify_sim_init(&s, &W, &cfg, 12345, DAY, &exp, &err), 0);
	ck_assert_int_eq(botify_sim_prepare(&s, EPISODES, 1, &err), 0);
	botify_rec *recs[2] = { &R_random, &R_sticky };
	botify_outfile g = {0};
	ck_assert_int_eq(botify_outfile_open(&g, tu_path(q, tu_tmp, "b.json"), 0, &err), 0);
	botify_simrun_opts o = { .episodes = EPISODES, .threads = 4, .recs = recs, .log = &g };
	botify_simrun_result res;
	ck_assert_int_eq(botify_simrun(&s, &o, &res, &err), 0);
	ck_assert_int_eq(botify_outfile_commit(&g, &err), 0);
	size_t na, nb;
	char *a = tu_slurp(p, &na), *b = tu_slurp(q, &nb);
	ck_assert_uint_eq(na, nb);
	ck_assert(!memcmp(a, b, na));
	free(a);
	free(b);

	/* no log and no callback: statistics only (no rows are made) */
	o.log = NULL;
	botify_simrun_result res2;
	ck_assert_int_eq(botify_simrun(&s, &o, &res2, &err), 0);
	assert_same_arm_stats(&res, &res2);
	/* zero episodes: nothing at all */
	o.episodes = 0;
	ck_assert_int_eq(botify_simrun(&s, &o, &res2, &err), 0);
	ck_assert_int_eq(res2.rows, 0);
	ck_assert_int_eq(res2.arm[0].episodes, 0);
	botify_sim_free(&s);
}
END_TEST

START_TEST(simrun_stop_flag)
{
	for (int threads = 1; threads <= 3; threads += 2) {
		volatile sig_atomic_t stop = 1;
		botify_err err = {0};
		run r;
		ck_assert_int_eq(simulate(&r, threads, NULL, &stop, 0, &err), -1);
		ck_assert_int_eq(err.code, BOTIFY_EINTR);
		tu_assert_has(err.msg, "interrupted");
		ck_assert_uint_lt(r.rows.n, 1000);
		run_free(&r);
	}
}
END_TEST

/* A failing sink or recommender stops the run with its message, whatever the
 * thread count. */
START_TEST(simrun_errors_propagate)
{
	for (int threads = 1; threads <= 4; threads++) {
		botify_err err = {0};
		run r;
		ck_assert_int_eq(simulate(&r, threads, NULL, NULL, 3, &err), -1);
		ck_assert_int_eq(err.code, BOTIFY_EIO);
		ck_assert_str_eq(err.msg, "sink full");
		ck_assert_int_eq(r.rows.calls, 3); /* no calls after the failure */
		run_free(&r);
	}
	/* a recommender returning a bad id */
	botify_rec_env env = { .world = &W, .max_steps = 1000 };
	botify_err err = {0};
	char p[4096], spec[4200];
	tu_write(tu_path(p, tu_tmp, "recs.json"), "{\"user\": 0, \"tracks\": [1]}\n", 0);
	tu_fmt(spec, sizeof(spec), "indexed:file=%s", p);
	botify_rec ix;
	ck_assert_int_eq(botify_rec_create(&ix, spec, &env, &err), 0);
	botify_world small = {0};
	botify_worldgen_params wp;
	botify_worldgen_defaults(&wp);
	wp.tracks = 1; /* fewer tracks than the lists know */
	wp.users = 5;
	wp.dim = 2;
	wp.interests_per_user = 1;
	ck_assert_int_eq(botify_worldgen_generate(&small, &wp, &err), 0);
	ix.world = &small; /* the shared data still holds track 1 */
	botify_simcfg cfg;
	botify_simcfg_defaults(&cfg);
	botify_sim s;
	ck_assert_int_eq(botify_sim_init(&s, &small, &cfg, 1, 0, NULL, &err), 0);
	ck_assert_int_eq(botify_sim_prepare(&s, 600, 1, &err), 0);
	botify_rec *recs[1] = { &ix };
	botify_simrun_opts o = { .episodes = 600, .threads = 3, .recs = recs };
	botify_simrun_result res;
	ck_assert_int_eq(botify_simrun(&s, &o, &res, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERUNTIME);
	tu_assert_has(err.msg, "returned track 1 for user 0 (catalog has 1 tracks)");
	tu_assert_has(err.msg, spec);
	botify_sim_free(&s);
	ix.world = &W;
	botify_rec_free(&ix);
	botify_world_free(&small);
}
END_TEST

Suite *simrun_suite(void)
{
	Suite *s = suite_create("simrun");
	TCase *tc = tcase_create("run");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, simrun_same_for_any_thread_count);
	tcase_add_test(tc, simrun_events_and_stats);
	tcase_add_test(tc, simrun_log_reads_back);
	tcase_add_test(tc, simrun_log_without_callback);
	tcase_add_test(tc, simrun_stop_flag);
	tcase_add_test(tc, simrun_errors_propagate);
	suite_add_tcase(s, tc);
	return s;
}
