/*
 * check_servelog.c - the log of botify serve: rows from many threads all
 * reach the file whole (plain and gzip); under a file-size limit every row
 * reported written is in FILE.partial and no other, and a .gz one is a valid
 * gzip file.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include "servelog.h"
#include "testutil.h"

struct writer {
	botify_servelog *log;
	int id, rows, ok;
};

static void *write_rows(void *arg)
{
	struct writer *w = arg;
	for (int i = 0; i < w->rows; i++) {
		char row[128];
		int n = snprintf(row, sizeof(row), "{\"writer\": %d, \"row\": %d, \"pad\": \"%040d\"}\n", w->id, i, i);
		if (botify_servelog_row(w->log, row, (size_t)n) == 0)
			w->ok++;
	}
	return NULL;
}

/* Lines of text that look like whole rows; -1 on a cut or foreign one. */
static int count_rows(const char *text)
{
	int n = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		if (!nl || strncmp(p, "{\"writer\": ", 11) != 0 || nl[-1] != '}')
			return -1;
		n++;
		p = nl + 1;
	}
	return n;
}

static void threads_all_written(int gz)
{
	char path[256];
	tu_fmt(path, sizeof(path), "%s/log.jsonl%s", tu_tmp, gz ? ".gz" : "");
	botify_outfile f;
	botify_servelog log;
	botify_err err = {0};
	ck_assert_msg(botify_outfile_open(&f, path, 0, &err) == 0, "%s", err.msg);
	/* a small buffer: batches fill up and writers wait for room */
	ck_assert_msg(botify_servelog_init(&log, &f, 1024, &err) == 0, "%s", err.msg);
	pthread_t t[4];
	struct writer w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer){ &log, i, 2000, 0 };
		pthread_create(&t[i], NULL, write_rows, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].ok, 2000);
	}
	ck_assert_msg(botify_servelog_close(&log, &err) == 0, "%s", err.msg);
	botify_servelog_free(&log);
	char *text = tu_slurp(path, NULL);
	ck_assert_int_eq(count_rows(text), 8000);
	free(text);
}

START_TEST(rows_from_threads_are_all_written)
{
	threads_all_written(0);
}
END_TEST

START_TEST(gzip_rows_from_threads_are_all_written)
{
	threads_all_written(1);
}
END_TEST

static void file_size_limit(int gz)
{
	signal(SIGXFSZ, SIG_IGN); /* writes past the limit fail with EFBIG */
	char path[256], partial[300];
	tu_fmt(path, sizeof(path), "%s/big.jsonl%s", tu_tmp, gz ? ".gz" : "");
	tu_fmt(partial, sizeof(partial), "%s.partial", path);
	botify_outfile f;
	botify_servelog log;
	botify_err err = {0};
	ck_assert_msg(botify_outfile_open(&f, path, 0, &err) == 0, "%s", err.msg);
	ck_assert_msg(botify_servelog_init(&log, &f, 4096, &err) == 0, "%s", err.msg);
	struct rlimit rl = { 6000, RLIM_INFINITY };
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	pthread_t t[3];
	struct writer w[3];
	for (int i = 0; i < 3; i++) {
		w[i] = (struct writer){ &log, i, gz ? 3000 : 300, 0 };
		pthread_create(&t[i], NULL, write_rows, &w[i]);
	}
	int ok = 0;
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].ok;
	}
	ck_assert_int_gt(ok, 0);
	ck_assert_int_lt(ok, gz ? 9000 : 900);
	ck_assert_int_eq(botify_servelog_close(&log, &err), -1);
	botify_servelog_free(&log);
	tu_assert_has(err.msg, "File too large");
	tu_assert_has(err.msg, partial);
	char *text = tu_slurp(partial, NULL); /* fails on a gzip file cut short */
	ck_assert_int_eq(count_rows(text), ok);
	free(text);
	ck_assert_int_eq(access(path, F_OK), -1);
}

START_TEST(a_file_size_limit_keeps_exactly_the_written_rows)
{
	file_size_limit(0);
}
END_TEST

START_TEST(a_gzip_log_cut_by_a_file_size_limit_stays_valid)
{
	file_size_limit(1);
}
END_TEST

Suite *servelog_suite(void)
{
	Suite *s = suite_create("servelog");
	TCase *tc = tcase_create("core");
	tu_scratch(tc);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, rows_from_threads_are_all_written);
	tcase_add_test(tc, gzip_rows_from_threads_are_all_written);
	tcase_add_test(tc, a_file_size_limit_keeps_exactly_the_written_rows);
	tcase_add_test(tc, a_gzip_log_cut_by_a_file_size_limit_stays_valid);
	suite_add_tcase(s, tc);
	return s;
}
