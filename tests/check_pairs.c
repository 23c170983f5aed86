/* check_pairs.c - training pairs from hand-written logs: sessions of one
 * user, interleaved users, rows out of order, several files, and errors
 * naming file:line. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	tu_scratch_setup();
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
	tu_scratch_teardown();
}
END_TEST

START_TEST(interleaved_users_and_rows_out_of_order)
{
	tu_scratch_setup();
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
	tu_scratch_teardown();
}
END_TEST

START_TEST(several_files_do_not_mix_sessions)
{
	tu_scratch_setup();
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
	tu_scratch_teardown();
}
END_TEST

START_TEST(a_session_of_one_row_gives_no_pair)
{
	tu_scratch_setup();
	const char *log = write_log("d.jsonl", LAST(1, 0, 3, 1.0) NEXT(2, 0, 4, 1.0) LAST(3, 0, 5, 0.5));
	botify_pairs p;
	botify_err err = {0};
	ck_assert_int_eq(botify_pairs_read(&p, &log, 1, 10, 50, NULL, &err), 0);
	ck_assert_int_eq(p.n, 1);
	expect_pair(&p, 0, 0, 4, 5, 0.5f);
	ck_assert_int_eq(p.n_sessions, 1);
	botify_pairs_free(&p);
	tu_scratch_teardown();
}
END_TEST

static void expect_error(const char *text, int32_t U, int32_t N, enum botify_errcode code,
			 const char *needle)
{
	tu_scratch_setup();
	const char *log = write_log("e.jsonl", text);
	botify_pairs p;
	botify_err err = {0};
	ck_assert_int_eq(botify_pairs_read(&p, &log, 1, U, N, NULL, &err), -1);
	ck_assert_int_eq(err.code, code);
	ck_assert_msg(strstr(err.msg, needle), "'%s' lacks '%s'", err.msg, needle);
	ck_assert_ptr_null(p.user);
	ck_assert_int_eq(p.n, 0);
	tu_scratch_teardown();
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
	tu_scratch_setup();
	const char *logs[2] = { write_log("empty.jsonl", ""), write_log("blank.jsonl", "\n\n") };
	botify_pairs p;
	botify_err err = {0};
	ck_assert_int_eq(botify_pairs_read(&p, logs, 2, 10, 50, NULL, &err), 0);
	ck_assert_int_eq(p.n, 0);
	ck_assert_int_eq(p.rows, 0);
	ck_assert_int_eq(p.n_sessions, 0);
	botify_pairs_free(&p);
	tu_scratch_teardown();
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
	tu_scratch_setup();
	const char *log = write_log("f.jsonl", NEXT(1, 0, 3, 1.0) LAST(2, 0, 4, 0.5));
	botify_pairs p;
	botify_err err = {0};
	volatile sig_atomic_t stop = 1;
	ck_assert_int_eq(botify_pairs_read(&p, &log, 1, 10, 50, &stop, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINTR);
	tu_scratch_teardown();
}
END_TEST

Suite *pairs_suite(void)
{
	Suite *s = suite_create("pairs");
	TCase *tc = tcase_create("pairs");
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
	suite_add_tcase(s, tc);
	return s;
}
