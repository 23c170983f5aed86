/* check_tempreg.c - the registry of temporaries a signal handler removes:
 * what is registered goes (files, and directories with their files), what
 * is not or no longer registered stays, and an output whose temporary was
 * removed fails its commit as interrupted instead of appearing. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"
#include "tempreg.h"
#include "testutil.h"

static void touch(const char *path)
{
	FILE *fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("x\n", fp);
	fclose(fp);
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

START_TEST(tempreg_removes_files_and_directories_registered)
{
	char file[256], dir[256], inner[256], other[256], dropped[256];
	snprintf(file, sizeof(file), "%s", tu_in_tmp("log.tmp.1.aaaaaa"));
	snprintf(dir, sizeof(dir), "%s", tu_in_tmp("model.tmp.1.bbbbbb"));
	snprintf(other, sizeof(other), "%s", tu_in_tmp("mine.txt"));
	snprintf(dropped, sizeof(dropped), "%s", tu_in_tmp("out.tmp.1.cccccc"));
	touch(file);
	touch(other);
	touch(dropped);
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	/* more files than one getdents buffer holds, as a model has tensors */
	for (int i = 0; i < 200; i++) {
		tu_fmt(inner, sizeof(inner), "%s/tensor_with_a_long_name_%03d.npy", dir, i);
		touch(inner);
	}
	int hf = botify_tempreg_add(file, BOTIFY_TEMPREG_FILE);
	int hd = botify_tempreg_add(dir, BOTIFY_TEMPREG_DIR);
	int hx = botify_tempreg_add(dropped, BOTIFY_TEMPREG_FILE);
	ck_assert_int_ge(hf, 0);
	ck_assert_int_ge(hd, 0);
	ck_assert_int_ge(hx, 0);
	botify_tempreg_drop(hx);
	ck_assert_int_eq(botify_tempreg_removed(hf), 0);

	botify_tempreg_remove_all();
	ck_assert(!exists(file));
	ck_assert(!exists(dir));
	ck_assert(exists(other));   /* never registered */
	ck_assert(exists(dropped)); /* renamed into place, say: no longer ours */
	ck_assert_int_eq(botify_tempreg_removed(hf), 1);
	ck_assert_int_eq(botify_tempreg_removed(hd), 1);
	ck_assert_int_eq(botify_tempreg_removed(-1), 0);
	botify_tempreg_drop(hf);
	botify_tempreg_drop(hd);

	/* a slot used again starts afresh */
	int again = botify_tempreg_add(file, BOTIFY_TEMPREG_FILE);
	ck_assert_int_ge(again, 0);
	ck_assert_int_eq(botify_tempreg_removed(again), 0);
	botify_tempreg_drop(again);
}
END_TEST

START_TEST(tempreg_keeps_a_directory_with_a_subdirectory)
{
	/* only files are removed: what someone made inside is not botify's */
	char dir[256], sub[256];
	snprintf(dir, sizeof(dir), "%s", tu_in_tmp("m.tmp.1.dddddd"));
	tu_fmt(sub, sizeof(sub), "%s/theirs", dir);
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	ck_assert_int_eq(mkdir(sub, 0777), 0);
	touch(tu_in_tmp("m.tmp.1.dddddd/a.npy"));
	int h = botify_tempreg_add(dir, BOTIFY_TEMPREG_DIR);
	botify_tempreg_remove_all();
	ck_assert(exists(sub));
	ck_assert(!exists(tu_in_tmp("m.tmp.1.dddddd/a.npy")));
	botify_tempreg_drop(h);
	rmdir(sub);
	rmdir(dir);
}
END_TEST

START_TEST(tempreg_full_or_too_long_is_refused)
{
	int h[64], n = 0;
	for (; n < 64; n++) {
		h[n] = botify_tempreg_add(tu_in_tmp("x.tmp.1.eeeeee"), BOTIFY_TEMPREG_FILE);
		if (h[n] < 0)
			break;
	}
	ck_assert_int_gt(n, 4);
	ck_assert_int_lt(n, 64);
	for (int i = 0; i < n; i++)
		botify_tempreg_drop(h[i]);
	static char longname[5000];
	memset(longname, 'a', sizeof(longname) - 1);
	ck_assert_int_eq(botify_tempreg_add(longname, BOTIFY_TEMPREG_FILE), -1);
	botify_tempreg_drop(-1); /* ignored */
	int y = botify_tempreg_add(tu_in_tmp("y"), BOTIFY_TEMPREG_FILE);
	ck_assert_int_ge(y, 0);
	botify_tempreg_drop(y);
}
END_TEST

static void remove_on_signal(int sig)
{
	(void)sig;
	botify_tempreg_remove_all();
}

START_TEST(tempreg_outfile_removed_by_a_handler_commits_as_interrupted)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = remove_on_signal;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);

	botify_err err = {0};
	botify_outfile f;
	const char *path = tu_in_tmp("log.jsonl");
	ck_assert_int_eq(botify_outfile_open(&f, path, 0, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, "row\n", 4, &err), 0);
	ck_assert_ptr_nonnull(f.tmp);
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s", f.tmp);
	raise(SIGUSR1);
	ck_assert(!exists(tmp));
	ck_assert_int_eq(botify_outfile_commit(&f, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINTR);
	ck_assert_str_eq(err.msg, "interrupted");
	ck_assert(!exists(path));

	/* an output begun after the handler ran (train saving its model) is
	 * not affected */
	ck_assert_int_eq(botify_outfile_open(&f, path, 0, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, "row\n", 4, &err), 0);
	ck_assert_int_eq(botify_outfile_commit(&f, &err), 0);
	ck_assert(exists(path));

	/* a committed output is no longer registered: a later removal keeps it */
	raise(SIGUSR1);
	ck_assert(exists(path));
	sigaction(SIGUSR1, &old, NULL);
}
END_TEST

Suite *tempreg_suite(void)
{
	Suite *s = suite_create("tempreg");
	TCase *tc = tcase_create("core");
	tu_scratch(tc);
	tcase_add_test(tc, tempreg_removes_files_and_directories_registered);
	tcase_add_test(tc, tempreg_keeps_a_directory_with_a_subdirectory);
	tcase_add_test(tc, tempreg_full_or_too_long_is_refused);
	tcase_add_test(tc, tempreg_outfile_removed_by_a_handler_commits_as_interrupted);
	suite_add_tcase(s, tc);
	return s;
}
