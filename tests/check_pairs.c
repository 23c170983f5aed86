/* check_pairs.c - training pairs from hand-written logs: sessions of one
 * user, interleaved users, rows out of order, several files, and errors
 * naming file:line. And the session rule pairs shares with the A/B
 * analysis (lib/ab.c), which implements it another way (streaming, per
 * unit): both against one plain reference on the A/B fixture logs. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ab.h"
#include "eventlog.h"
#include "pairs.h"
#include "testutil.h"

/* row(message, timestamp, user, track, time) as the service writes it */
#define NEXT(ts, u, t, tm) \
	"{\"message\": \"next\", \"timestamp\": " #ts ", \"user\": " #u ", \"track\": " #t \
	", \"time\": " #tm ", \"latency\": 0.001, \"recommendation\": 1, \"experiments\": {}}\n"
#define LAST(ts, u, t, tm) \
	"{\"message\": \"last\", \"timestamp\": " #ts ", \"user\": " #u ", \"track\": " #t \
	", \"time\": " #tm ", \"latency\": 0.001, \"experiments\": {}}\n"

static const char *write_log(const char *name, const char *text)
{
	static char path[8][160];
	static int k;
	char *p = path[k++ % 8];
	tu_fmt(p, 160, "%s/%s", tu_tmp, name);
	FILE *fp = fopen(p, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	return p;
}

static void expect_pair(const botify_pairs *p, int64_t i, int32_t u, int32_t s, int32_t t, float tm)
{
	ck_assert_msg(i < p->n, "pair %lld of %lld", (long long)i, (long long)p->n);
	ck_assert_msg(p->user[i] == u && p->start[i] == s && p->track[i] == t && p->time[i] == tm,
		      "pair %lld: (%d, %d, %d, %g), expected (%d, %d, %d, %g)", (long long)i,
		      p->user[i], p->start[i], p->track[i], p->time[i], u, s, t, tm);
}

START_TEST(two_sessions_of_one_user)
{
	const char *log = write_log("a.jsonl",
		NEXT(100, 3, 10, 1.0) NEXT(101, 3, 11, 0.5) LAST(102, 3, 12, 0.25)
		NEXT(200, 3, 20, 1.0) LAST(201, 3, 21, 0.75));
	botify_pairs p;
	botify_err err = {0};
	ck_assert_int_eq(botify_pairs_read(&p, &log, 1, 10, 50, NULL, &err), 0);
	ck_assert_int_eq(p.n, 3);
	expect_pair(&p, 0, 3, 10, 11, 0.5f);
	expect_pair(&p, 1, 3, 10, 12, 0.25f);
	expect_pair(&p, 2, 3, 20, 21, 0.75f);
	ck_assert_int_eq(p.n_sessions, 2);
	ck_assert_int_eq(p.sess_user[0], 3);
	ck_assert_int_eq(p.sess_start[0], 10);
	ck_assert_int_eq(p.sess_start[1], 20);
	ck_assert_int_eq(p.rows, 5);
	botify_pairs_free(&p);
}
END_TEST

START_TEST(interleaved_users_and_rows_out_of_order)
{
	/* users 1 and 2 listen at the same time (the service logs them
	 * interleaved); user 2's rows are also out of timestamp order */
	const char *log = write_log("b.jsonl",
		NEXT(10, 1, 5, 1.0) NEXT(11, 2, 7, 1.0) NEXT(12, 1, 6, 0.5)
		LAST(15, 2, 9, 0.25) NEXT(13, 2, 8, 0.75) LAST(14, 1, 4, 0.0));
	botify_pairs p;
	botify_err err = {0};
	ck_assert_int_eq(botify_pairs_read(&p, &log, 1, 10, 50, NULL, &err), 0);
	ck_assert_int_eq(p.n, 4);
	expect_pair(&p, 0, 1, 5, 6, 0.5f);
	expect_pair(&p, 1, 1, 5, 4, 0.0f);
	expect_pair(&p, 2, 2, 7, 8, 0.75f);
	expect_pair(&p, 3, 2, 7, 9, 0.25f);
	ck_assert_int_eq(p.n_sessions, 2);
	botify_pairs_free(&p);
}
END_TEST

START_TEST(several_files_do_not_mix_sessions)
{
	/* two runs that reuse the virtual clock: user 1 in both at the same
	 * timestamps; a session without a last row ends with its file */
	const char *logs[2];
	logs[0] = write_log("c1.jsonl", NEXT(1, 1, 30, 1.0) NEXT(2, 1, 31, 0.5) NEXT(3, 1, 32, 0.5));
	logs[1] = write_log("c2.jsonl.gz", "");
	/* a gzip second file */
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "printf '%%s' '%s%s' | gzip > '%s'",
		 "{\"message\": \"next\", \"timestamp\": 2, \"user\": 1, \"track\": 40, \"time\": 1.0, \"latency\": 0.0, \"recommendation\": 3, \"experiments\": {}}\n",
		 "{\"message\": \"last\", \"timestamp\": 3, \"user\": 1, \"track\": 41, \"time\": 0.5, \"latency\": 0.0, \"experiments\": {}}\n",
		 logs[1]);
	ck_assert_int_eq(system(cmd), 0);
	botify_pairs p;
	botify_err err = {0};
	ck_assert_int_eq(botify_pairs_read(&p, logs, 2, 10, 50, NULL, &err), 0);
	ck_assert_int_eq(p.n, 3);
	expect_pair(&p, 0, 1, 30, 31, 0.5f);
	expect_pair(&p, 1, 1, 30, 32, 0.5f);
	expect_pair(&p, 2, 1, 40, 41, 0.5f);
	ck_assert_int_eq(p.n_sessions, 2);
	ck_assert_int_eq(p.files, 2);
	ck_assert_int_eq(p.rows, 5);
	botify_pairs_free(&p);
}
END_TEST

START_TEST(a_session_of_one_row_gives_no_pair)
{
	const char *log = write_log("d.jsonl", LAST(1, 0, 3, 1.0) NEXT(2, 0, 4, 1.0) LAST(3, 0, 5, 0.5));
	botify_pairs p;
	botify_err err = {0};
	ck_assert_int_eq(botify_pairs_read(&p, &log, 1, 10, 50, NULL, &err), 0);
	ck_assert_int_eq(p.n, 1);
	expect_pair(&p, 0, 0, 4, 5, 0.5f);
	ck_assert_int_eq(p.n_sessions, 1);
	botify_pairs_free(&p);
}
END_TEST

static void expect_error(const char *text, int32_t U, int32_t N, enum botify_errcode code,
			 const char *needle)
{
	const char *log = write_log("e.jsonl", text);
	botify_pairs p;
	botify_err err = {0};
	ck_assert_int_eq(botify_pairs_read(&p, &log, 1, U, N, NULL, &err), -1);
	ck_assert_int_eq(err.code, code);
	ck_assert_msg(strstr(err.msg, needle), "'%s' lacks '%s'", err.msg, needle);
	ck_assert_ptr_null(p.user);
	ck_assert_int_eq(p.n, 0);
}

START_TEST(errors_name_file_and_line)
{
	expect_error(NEXT(1, 0, 3, 1.0) NEXT(2, 0, 50, 0.5), 10, 50, BOTIFY_ERANGE,
		     "e.jsonl:2: track 50 out of range (catalog has 50 tracks)");
	expect_error(NEXT(1, 0, 3, 1.0) "\n" NEXT(2, 12, 4, 0.5), 10, 50, BOTIFY_ERANGE,
		     "e.jsonl:3: user 12 out of range (world has 10 users)");
	expect_error(NEXT(1, 0, 3, 1.0) "{\"message\": \"next\", \"timestamp\": 2,\n", 10, 50,
		     BOTIFY_EFORMAT, "e.jsonl:2: malformed JSON");
	expect_error(NEXT(1, 0, 3, 1.0) "{\"message\": \"next\", \"timestamp\": 2}\n", 10, 50,
		     BOTIFY_EFORMAT, "e.jsonl:2: missing 'user'");
}
END_TEST

START_TEST(a_missing_file_is_named)
{
	const char *log = "/nonexistent/missing.jsonl";
	botify_pairs p;
	botify_err err = {0};
	ck_assert_int_eq(botify_pairs_read(&p, &log, 1, 10, 50, NULL, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, "missing.jsonl"));
}
END_TEST

/* An empty log (and one of blank lines) gives no pairs; under UBSan it used
 * to abort in qsort(NULL, 0, ...). */
START_TEST(an_empty_log_gives_no_pairs)
{
	const char *logs[2] = { write_log("empty.jsonl", ""), write_log("blank.jsonl", "\n\n") };
	botify_pairs p;
	botify_err err = {0};
	ck_assert_int_eq(botify_pairs_read(&p, logs, 2, 10, 50, NULL, &err), 0);
	ck_assert_int_eq(p.n, 0);
	ck_assert_int_eq(p.rows, 0);
	ck_assert_int_eq(p.n_sessions, 0);
	botify_pairs_free(&p);
}
END_TEST

/* Listen times outside [0, 1] are refused with file:line. */
START_TEST(a_time_outside_unit_interval_is_named)
{
	expect_error(NEXT(1, 0, 3, 1.0) NEXT(2, 0, 4, 1e308), 10, 50, BOTIFY_ERANGE,
		     "e.jsonl:2: 'time' 1e+308 is outside [0, 1]");
	expect_error(NEXT(1, 0, 3, -0.25), 10, 50, BOTIFY_ERANGE, "e.jsonl:1: 'time' -0.25 is outside [0, 1]");
}
END_TEST

START_TEST(a_stop_request_interrupts_reading)
{
	const char *log = write_log("f.jsonl", NEXT(1, 0, 3, 1.0) LAST(2, 0, 4, 0.5));
	botify_pairs p;
	botify_err err = {0};
	volatile sig_atomic_t stop = 1;
	ck_assert_int_eq(botify_pairs_read(&p, &log, 1, 10, 50, &stop, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINTR);
}
END_TEST

/* The session rule, written plainly: a user's rows in timestamp order (ties
 * in line order), cut after every "last" row; rows after the user's final
 * "last" are an unfinished session. */
struct ref_row {
	botify_event e;
	int64_t line;
};

static int ref_cmp(const void *pa, const void *pb)
{
	const struct ref_row *a = pa, *b = pb;
	if (a->e.user != b->e.user)
		return a->e.user < b->e.user ? -1 : 1;
	if (a->e.timestamp != b->e.timestamp)
		return a->e.timestamp < b->e.timestamp ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

static struct ref_row *ref_read(const char *path, int64_t *n, int32_t *U, int32_t *N)
{
	botify_eventlog_reader r;
	botify_err err = {0};
	ck_assert_msg(botify_eventlog_open(&r, path, NULL, &err) == 0, "%s", err.msg);
	size_t cap = 1024;
	struct ref_row *rows = malloc(cap * sizeof(*rows));
	botify_event e;
	int more;
	*n = 0;
	*U = *N = 0;
	while ((more = botify_eventlog_next(&r, &e, &err)) == 1) {
		if ((size_t)*n == cap)
			rows = realloc(rows, (cap *= 2) * sizeof(*rows));
		rows[*n] = (struct ref_row){ e, *n };
		(*n)++;
		if (e.user + 1 > *U)
			*U = (int32_t)e.user + 1;
		if (e.track + 1 > *N)
			*N = e.track + 1;
	}
	ck_assert_msg(more == 0, "%s", err.msg);
	botify_eventlog_close(&r);
	qsort(rows, (size_t)*n, sizeof(*rows), ref_cmp);
	return rows;
}

/* Per user with a finished session, the A/B metrics of the reference. */
struct ref_unit {
	double v[BOTIFY_AB_N_METRICS];
};

static void check_log(const char *path, int *saw_unfinished, int *saw_one_row)
{
	int64_t n;
	int32_t U, N;
	struct ref_row *rows = ref_read(path, &n, &U, &N);

	/* pairs: every session's rows after its first, finished or not */
	botify_pairs p = {0};
	botify_err err = {0};
	const char *paths[] = { path };
	ck_assert_msg(botify_pairs_read(&p, paths, 1, U, N, NULL, &err) == 0, "%s", err.msg);
	/* ab: every row as arm 0 (one unit per user) */
	botify_ab ab;
	ck_assert_int_eq(botify_ab_init(&ab, &err), 0);
	ck_assert_msg(botify_ab_read_log(&ab, path, NULL, 0, NULL, NULL, &err) == 0, "%s", err.msg);
	botify_ab_result res;
	botify_ab_arms(&ab, &res);

	int64_t k = 0, ks = 0;                  /* next pair, next pairs session */
	int64_t sessions = 0, srows = 0, units = 0, unfinished = 0, unfinished_rows = 0,
		unfinished_only = 0;
	struct ref_unit *unit = calloc((size_t)U, sizeof(*unit));
	for (int64_t i = 0; i < n;) {
		int64_t user = rows[i].e.user, u_sessions = 0, u_rows = 0;
		double u_time = 0, u_latency = 0;
		while (i < n && rows[i].e.user == user) {
			int64_t j = i; /* the session is rows[i..j] */
			while (j < n - 1 && rows[j + 1].e.user == user && rows[j].e.message != BOTIFY_MSG_LAST)
				j++;
			int finished = rows[j].e.message == BOTIFY_MSG_LAST;
			/* pairs: start = the first row's track; a pair per later row */
			if (j > i) {
				ck_assert_int_lt(ks, p.n_sessions);
				ck_assert_int_eq(p.sess_user[ks], user);
				ck_assert_int_eq(p.sess_start[ks], rows[i].e.track);
				ks++;
			} else {
				*saw_one_row = 1;
			}
			for (int64_t r = i + 1; r <= j; r++, k++) {
				ck_assert_int_lt(k, p.n);
				ck_assert_int_eq(p.user[k], user);
				ck_assert_int_eq(p.start[k], rows[i].e.track);
				ck_assert_int_eq(p.track[k], rows[r].e.track);
				ck_assert(p.time[k] == (float)rows[r].e.time);
			}
			/* ab: a finished session counts all its rows, the first's
			 * time included; an unfinished one is left out */
			if (finished) {
				u_sessions++;
				for (int64_t r = i; r <= j; r++) {
					u_rows++;
					u_time += rows[r].e.time;
					u_latency += rows[r].e.latency * 1000;
				}
			} else {
				unfinished++;
				unfinished_rows += j - i + 1;
				*saw_unfinished = 1;
			}
			i = j + 1;
		}
		if (u_sessions) {
			struct ref_unit *x = &unit[units++];
			x->v[BOTIFY_AB_TIME] = u_time;
			x->v[BOTIFY_AB_SESSIONS] = (double)u_sessions;
			x->v[BOTIFY_AB_MEAN_REQUEST_LATENCY] = u_latency / (double)u_rows;
			x->v[BOTIFY_AB_MEAN_TRACKS_PER_SESSION] = (double)u_rows / (double)u_sessions;
			x->v[BOTIFY_AB_MEAN_TIME_PER_SESSION] = u_time / (double)u_sessions;
			sessions += u_sessions;
			srows += u_rows;
		} else {
			unfinished_only++;
		}
	}
	ck_assert_int_eq(k, p.n);
	ck_assert_int_eq(ks, p.n_sessions);
	ck_assert_int_eq(p.rows, n);

	const botify_ab_arm *a = &res.arm[0];
	ck_assert_msg(a->units == units, "%s: %lld units, reference %lld", path, (long long)a->units,
		      (long long)units);
	ck_assert_int_eq(a->sessions, sessions);
	ck_assert_int_eq(a->rows, srows);
	ck_assert_int_eq(a->unfinished_sessions, unfinished);
	ck_assert_int_eq(a->unfinished_rows, unfinished_rows);
	ck_assert_int_eq(a->units_unfinished_only, unfinished_only);
	ck_assert_int_eq(a->present, units > 0);
	for (int m = 0; units > 0 && m < BOTIFY_AB_N_METRICS; m++) {
		double mean = 0, var = 0;
		for (int64_t x = 0; x < units; x++)
			mean += unit[x].v[m];
		mean /= (double)units;
		for (int64_t x = 0; x < units; x++)
			var += (unit[x].v[m] - mean) * (unit[x].v[m] - mean);
		var /= (double)(units - 1);
		ck_assert_int_eq(a->m[m].n, units);
		ck_assert_msg(fabs(a->m[m].mean - mean) <= 1e-9 * fmax(1, fabs(mean)),
			      "%s: metric %d mean %.17g, reference %.17g", path, m, a->m[m].mean, mean);
		if (units > 1)
			ck_assert_msg(fabs(a->m[m].var - var) <= 1e-8 * fmax(1, fabs(var)),
				      "%s: metric %d var %.17g, reference %.17g", path, m, a->m[m].var, var);
	}
	free(unit);
	botify_ab_free(&ab);
	botify_pairs_free(&p);
	free(rows);
}

/* One rule, two algorithms: on the A/B fixture logs (rows shuffled, logs
 * ending inside sessions, sessions of one row) pairs and ab find the same
 * sessions as the reference. Where they must differ, by purpose: pairs
 * keeps an unfinished session's pairs (a listen is a training example
 * whether or not the session ended) while ab leaves the session out (its
 * totals are unknown); a session's first row is pairs' start (no pair of
 * its own) but one of ab's tracks, its time counted; a one-row session
 * gives pairs nothing and ab a session of one track. */
START_TEST(pairs_and_ab_share_the_session_rule)
{
	const char *logs[] = { DATA_DIR "/ab/shuffled.jsonl", DATA_DIR "/ab/service.jsonl",
			       DATA_DIR "/ab/no_last.jsonl", DATA_DIR "/ab/one_session.jsonl",
			       DATA_DIR "/ab/zero_control.jsonl", DATA_DIR "/ab/paired.jsonl" };
	int saw_unfinished = 0, saw_one_row = 0;
	for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++)
		check_log(logs[i], &saw_unfinished, &saw_one_row);
	/* timestamp ties (line order decides), a row arriving after the "last"
	 * it precedes, a one-row session, a tie with a "last" row, and
	 * unfinished sessions; users interleaved */
	check_log(write_log("ties.jsonl",
		NEXT(5, 1, 10, 1.0) NEXT(3, 2, 20, 1.0) NEXT(5, 1, 11, 0.5) LAST(7, 1, 12, 0.25)
		LAST(3, 2, 21, 0.75) NEXT(6, 1, 13, 0.125) LAST(9, 1, 14, 1.0) NEXT(3, 2, 22, 1.0)
		NEXT(10, 1, 15, 1.0) NEXT(4, 2, 23, 0.5) LAST(5, 2, 24, 0.0) NEXT(10, 1, 16, 0.375)
		LAST(8, 3, 30, 1.0) NEXT(9, 3, 31, 1.0)
		NEXT(3, 4, 40, 1.0) LAST(3, 4, 41, 0.5) NEXT(3, 4, 42, 1.0)),
		  &saw_unfinished, &saw_one_row);
	/* the logs hold the cases the rules differ on */
	ck_assert(saw_unfinished);
	ck_assert(saw_one_row);
}
END_TEST

Suite *pairs_suite(void)
{
	Suite *s = suite_create("pairs");
	TCase *tc = tcase_create("pairs");
	tu_scratch(tc);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, two_sessions_of_one_user);
	tcase_add_test(tc, interleaved_users_and_rows_out_of_order);
	tcase_add_test(tc, several_files_do_not_mix_sessions);
	tcase_add_test(tc, a_session_of_one_row_gives_no_pair);
	tcase_add_test(tc, errors_name_file_and_line);
	tcase_add_test(tc, a_missing_file_is_named);
	tcase_add_test(tc, an_empty_log_gives_no_pairs);
	tcase_add_test(tc, a_time_outside_unit_interval_is_named);
	tcase_add_test(tc, a_stop_request_interrupts_reading);
	tcase_add_test(tc, pairs_and_ab_share_the_session_rule);
	suite_add_tcase(s, tc);
	return s;
}
