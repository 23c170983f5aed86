/* check_outfile.c - atomic outputs: commit, abort, --force, gzip streams and
 * members, and errors that must not pass for success (missing directory,
 * a write that hits the file size limit). Scratch files live in the test's
 * fresh scratch directory (tu_scratch). */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "outfile.h"
#include "testutil.h"

/* Number of entries in tu_tmp. */
static int scan_tmpdir(void)
{
	DIR *d = opendir(tu_tmp);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			n++;
		}
	if (d)
		closedir(d);
	return n;
}

static size_t read_plain(const char *path, char *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	ck_assert_ptr_nonnull(fp);
	size_t n = fread(buf, 1, cap, fp);
	fclose(fp);
	return n;
}

/* Decompresses a whole .gz file with gzread (all members, one stream). */
static size_t read_gz(const char *path, char *buf, size_t cap)
{
	gzFile gz = gzopen(path, "rb");
	ck_assert_ptr_nonnull(gz);
	int n = gzread(gz, buf, (unsigned)cap);
	ck_assert_int_ge(n, 0);
	ck_assert_int_eq(gzclose(gz), Z_OK);
	return (size_t)n;
}

START_TEST(outfile_commit_renames)
{
	botify_outfile f = {0};
	botify_err err = {0};
	const char *path = tu_in_tmp("a.txt");
	ck_assert_int_eq(botify_outfile_open(&f, path, 0, &err), 0);
	ck_assert_int_eq(f.gzip, 0);
	ck_assert_int_eq(access(path, F_OK), -1); /* not visible before commit */
	ck_assert_int_eq(botify_outfile_write(&f, "hello ", 6, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, "world\n", 6, &err), 0);
	ck_assert_int_eq(botify_outfile_commit(&f, &err), 0);
	ck_assert_ptr_null(f.tmp);
	botify_outfile_abort(&f); /* safe after commit */
	botify_outfile_abort(&f);

	char buf[64];
	ck_assert_uint_eq(read_plain(path, buf, sizeof(buf)), 12);
	ck_assert_int_eq(memcmp(buf, "hello world\n", 12), 0);
	ck_assert_int_eq(scan_tmpdir(), 1);
}
END_TEST

START_TEST(outfile_abort_leaves_nothing)
{
	botify_outfile f = {0};
	botify_err err = {0};
	ck_assert_int_eq(botify_outfile_open(&f, tu_in_tmp("a.txt"), 0, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, "partial", 7, &err), 0);
	ck_assert_int_eq(scan_tmpdir(), 1); /* the temporary file */
	botify_outfile_abort(&f);
	botify_outfile_abort(&f);
	ck_assert_int_eq(scan_tmpdir(), 0);

	ck_assert_int_eq(botify_outfile_open(&f, tu_in_tmp("b.gz"), 0, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, "partial", 7, &err), 0);
	botify_outfile_abort(&f);
	ck_assert_int_eq(scan_tmpdir(), 0);

	/* commit after abort fails instead of pretending */
	ck_assert_int_eq(botify_outfile_commit(&f, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	ck_assert_int_eq(botify_outfile_write(&f, "x", 1, &err), -1);
}
END_TEST

START_TEST(outfile_existing_needs_force)
{
	botify_outfile f = {0};
	botify_err err = {0};
	const char *path = tu_in_tmp("a.txt");
	ck_assert_int_eq(botify_outfile_open(&f, path, 0, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, "old", 3, &err), 0);
	ck_assert_int_eq(botify_outfile_commit(&f, &err), 0);

	ck_assert_int_eq(botify_outfile_open(&f, path, 0, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EEXIST);
	char want[300];
	snprintf(want, sizeof(want), "'%s' exists (use --force to replace it)", path);
	ck_assert_str_eq(err.msg, want);
	botify_outfile_abort(&f);
	ck_assert_int_eq(scan_tmpdir(), 1);

	ck_assert_int_eq(botify_outfile_open(&f, path, 1, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, "new!", 4, &err), 0);
	char buf[16];
	ck_assert_uint_eq(read_plain(path, buf, sizeof(buf)), 3); /* old until commit */
	ck_assert_int_eq(botify_outfile_commit(&f, &err), 0);
	ck_assert_uint_eq(read_plain(path, buf, sizeof(buf)), 4);
	ck_assert_int_eq(memcmp(buf, "new!", 4), 0);
	ck_assert_int_eq(scan_tmpdir(), 1);
}
END_TEST

START_TEST(outfile_creates_missing_parent_directories)
{
	botify_outfile f = {0};
	botify_err err = {0};
	const char *path = tu_in_tmp("logs/day1/out.jsonl.gz");
	ck_assert_int_eq(botify_outfile_open(&f, path, 0, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, "{}\n", 3, &err), 0);
	ck_assert_int_eq(botify_outfile_commit(&f, &err), 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	struct stat st;
	ck_assert_int_eq(stat(tu_in_tmp("logs"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	unlink(path);
	rmdir(tu_in_tmp("logs/day1"));
	rmdir(tu_in_tmp("logs"));
}
END_TEST

START_TEST(outfile_parent_that_is_a_file_is_eio)
{
	botify_outfile f = {0};
	botify_err err = {0};
	FILE *fp = fopen(tu_in_tmp("file"), "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	const char *path = tu_in_tmp("file/out.jsonl");
	ck_assert_int_eq(botify_outfile_open(&f, path, 1, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	ck_assert_ptr_null(f.path);
	botify_outfile_abort(&f);
}
END_TEST

/* A device or a FIFO is written through and stays what it is, with or
 * without force; a directory is refused. */
START_TEST(outfile_writes_through_devices_and_fifos)
{
	botify_outfile f = {0};
	botify_err err = {0};
	for (int force = 0; force <= 1; force++) {
		ck_assert_int_eq(botify_outfile_open(&f, "/dev/null", force, &err), 0);
		ck_assert_ptr_null(f.tmp);
		ck_assert_int_eq(botify_outfile_write(&f, "x", 1, &err), 0);
		ck_assert_int_eq(botify_outfile_commit(&f, &err), 0);
	}
	struct stat st;
	ck_assert_int_eq(stat("/dev/null", &st), 0);
	ck_assert(S_ISCHR(st.st_mode));

	const char *fifo = tu_in_tmp("fifo");
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	int rd = open(fifo, O_RDONLY | O_NONBLOCK); /* a reader, so opening to write does not wait */
	ck_assert_int_ge(rd, 0);
	ck_assert_int_eq(botify_outfile_open(&f, fifo, 1, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, "through\n", 8, &err), 0);
	ck_assert_int_eq(botify_outfile_commit(&f, &err), 0);
	char buf[16] = {0};
	ck_assert_int_eq(read(rd, buf, sizeof(buf)), 8);
	ck_assert_str_eq(buf, "through\n");
	close(rd);
	ck_assert_int_eq(lstat(fifo, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_int_eq(scan_tmpdir(), 1); /* no temporary next to it */
	unlink(fifo);

	ck_assert_int_eq(mkdir(tu_in_tmp("d"), 0700), 0);
	ck_assert_int_eq(botify_outfile_open(&f, tu_in_tmp("d"), 1, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, "a directory"));
	rmdir(tu_in_tmp("d"));
}
END_TEST

/* The temporary is "<path>.tmp.<pid>.<random>", made with O_EXCL|O_NOFOLLOW:
 * a symlink planted under the old predictable name is never followed. */
START_TEST(outfile_temporary_is_unpredictable_and_exclusive)
{
	botify_outfile f = {0}, g = {0};
	botify_err err = {0};
	const char *path = tu_in_tmp("log.jsonl"), *victim = tu_in_tmp("victim");
	FILE *fp = fopen(victim, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("precious\n", fp);
	fclose(fp);
	char planted[300];
	snprintf(planted, sizeof(planted), "%s.tmp.%ld", path, (long)getpid());
	ck_assert_int_eq(symlink(victim, planted), 0);

	ck_assert_int_eq(botify_outfile_open(&f, path, 0, &err), 0);
	ck_assert_int_eq(botify_outfile_open(&g, tu_in_tmp("log2.jsonl"), 0, &err), 0);
	char prefix[300];
	snprintf(prefix, sizeof(prefix), "%s.tmp.%ld.", path, (long)getpid());
	ck_assert_int_eq(strncmp(f.tmp, prefix, strlen(prefix)), 0);
	ck_assert_uint_eq(strlen(f.tmp), strlen(prefix) + 6);
	ck_assert_str_ne(f.tmp + strlen(prefix), g.tmp + strlen(prefix) + 1);
	struct stat st;
	ck_assert_int_eq(lstat(f.tmp, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(botify_outfile_write(&f, "new\n", 4, &err), 0);
	ck_assert_int_eq(botify_outfile_commit(&f, &err), 0);
	botify_outfile_abort(&g);

	char buf[32];
	ck_assert_uint_eq(read_plain(victim, buf, sizeof(buf)), 9);
	ck_assert_int_eq(memcmp(buf, "precious\n", 9), 0);
	ck_assert_int_eq(lstat(planted, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	unlink(planted);
}
END_TEST

/* Without force, a file that appears while the output is written is not
 * replaced at commit. */
START_TEST(outfile_commit_without_force_never_clobbers)
{
	botify_outfile f = {0};
	botify_err err = {0};
	const char *path = tu_in_tmp("a.txt");
	ck_assert_int_eq(botify_outfile_open(&f, path, 0, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, "mine", 4, &err), 0);
	FILE *fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("theirs", fp);
	fclose(fp);
	ck_assert_int_eq(botify_outfile_commit(&f, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EEXIST);
	char buf[16];
	ck_assert_uint_eq(read_plain(path, buf, sizeof(buf)), 6);
	ck_assert_int_eq(scan_tmpdir(), 1);
}
END_TEST

/* finish + publish: nothing is visible until publish; a stop request makes
 * the next write fail with EINTR and removes the temporary. */
START_TEST(outfile_finish_publish_and_stop)
{
	botify_outfile f = {0};
	botify_err err = {0};
	const char *path = tu_in_tmp("a.gz");
	ck_assert_int_eq(botify_outfile_open(&f, path, 0, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, "abc\n", 4, &err), 0);
	ck_assert_int_eq(botify_outfile_finish(&f, &err), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(botify_outfile_write(&f, "x", 1, &err), -1);
	ck_assert_int_eq(botify_outfile_publish(&f, &err), 0);
	char buf[16];
	ck_assert_uint_eq(read_gz(path, buf, sizeof(buf)), 4);

	static volatile sig_atomic_t stop;
	botify_outfile_set_stop(&stop);
	ck_assert_int_eq(botify_outfile_open(&f, tu_in_tmp("b.txt"), 0, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, "abc\n", 4, &err), 0);
	stop = 1;
	int rc = botify_outfile_write(&f, "def\n", 4, &err);
	botify_outfile_set_stop(NULL);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(err.code, BOTIFY_EINTR);
	botify_outfile_abort(&f);
	ck_assert_int_eq(scan_tmpdir(), 1);
}
END_TEST

START_TEST(outfile_gzip_stream_reads_back)
{
	enum { N = 300000 };
	char *in = malloc(N), *back = malloc(N + 1);
	for (int i = 0; i < N; i++)
		in[i] = "abcdefghij\n"[i % 11] ^ (char)(i % 7 == 0);
	botify_outfile f = {0};
	botify_err err = {0};
	const char *path = tu_in_tmp("s.jsonl.gz");
	ck_assert_int_eq(botify_path_is_gzip(path), 1);
	ck_assert_int_eq(botify_path_is_gzip("x.gzip"), 0);
	ck_assert_int_eq(botify_path_is_gzip("gz"), 0);
	ck_assert_int_eq(botify_outfile_open(&f, path, 0, &err), 0);
	ck_assert_int_eq(f.gzip, 1);
	for (int off = 0; off < N; off += 10000)
		ck_assert_int_eq(botify_outfile_write(&f, in + off, 10000, &err), 0);
	/* one file is streamed or raw, never both */
	ck_assert_int_eq(botify_outfile_write_raw(&f, "x", 1, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	ck_assert_int_eq(botify_outfile_commit(&f, &err), 0);

	unsigned char magic[2];
	ck_assert_uint_eq(read_plain(path, (char *)magic, 2), 2);
	ck_assert_uint_eq(magic[0], 0x1f);
	ck_assert_uint_eq(magic[1], 0x8b);
	ck_assert_uint_eq(read_gz(path, back, N + 1), N);
	ck_assert_int_eq(memcmp(in, back, N), 0);
	free(in);
	free(back);
}
END_TEST

START_TEST(outfile_empty_gzip_is_valid)
{
	botify_outfile f = {0};
	botify_err err = {0};
	const char *path = tu_in_tmp("empty.gz");
	ck_assert_int_eq(botify_outfile_open(&f, path, 0, &err), 0);
	ck_assert_int_eq(botify_outfile_commit(&f, &err), 0);
	char buf[8];
	ck_assert_uint_gt(read_plain(path, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(read_gz(path, buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(outfile_gzip_members_concatenate)
{
	unsigned char *gz = NULL;
	size_t len = 0, cap = 0;
	botify_err err = {0};
	const char *a = "{\"id\": 1}\n{\"id\": 2}\n", *b = "{\"id\": 3}\n";
	ck_assert_int_eq(botify_gzip_member(a, strlen(a), 6, &gz, &len, &cap, &err), 0);
	size_t first = len;
	ck_assert_int_eq(botify_gzip_member(b, strlen(b), 1, &gz, &len, &cap, &err), 0);
	ck_assert_int_eq(botify_gzip_member("", 0, 9, &gz, &len, &cap, &err), 0);
	ck_assert_uint_gt(len, first);
	ck_assert_uint_le(len, cap);
	ck_assert_int_eq(botify_gzip_member(a, 1, 0, &gz, &len, &cap, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);

	botify_outfile f = {0};
	const char *path = tu_in_tmp("m.jsonl.gz");
	ck_assert_int_eq(botify_outfile_open(&f, path, 0, &err), 0);
	ck_assert_int_eq(botify_outfile_write_raw(&f, gz, first, &err), 0);
	ck_assert_int_eq(botify_outfile_write_raw(&f, gz + first, len - first, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, "x", 1, &err), -1); /* raw, then streamed */
	ck_assert_int_eq(botify_outfile_commit(&f, &err), 0);
	free(gz);

	char buf[128];
	size_t n = read_gz(path, buf, sizeof(buf));
	ck_assert_uint_eq(n, strlen(a) + strlen(b));
	ck_assert_int_eq(memcmp(buf, a, strlen(a)), 0);
	ck_assert_int_eq(memcmp(buf + strlen(a), b, strlen(b)), 0);
}
END_TEST

/* A full disk, simulated with RLIMIT_FSIZE: the error must surface from
 * write or commit, name the file, and leave nothing behind. */
START_TEST(outfile_write_error_is_reported)
{
	struct rlimit old, lim;
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 64 * 1024;
	void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN); /* EFBIG instead of a signal */
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);

	static char block[100000];
	botify_outfile f = {0};
	botify_err err = {0};
	const char *path = tu_in_tmp("full.bin");
	ck_assert_int_eq(botify_outfile_open(&f, path, 0, &err), 0);
	int rc = 0;
	for (int i = 0; i < 4 && rc == 0; i++)
		rc = botify_outfile_write(&f, block, sizeof(block), &err);
	if (rc == 0) /* stdio may hold the last bytes until fflush */
		rc = botify_outfile_commit(&f, &err);
	botify_err first = err;
	int later_write = botify_outfile_write(&f, block, 10, &err);
	int later_commit = botify_outfile_commit(&f, &err);
	botify_outfile_abort(&f);

	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, old_sig);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(first.code, BOTIFY_EIO);
	ck_assert_ptr_nonnull(strstr(first.msg, "cannot write"));
	ck_assert_ptr_nonnull(strstr(first.msg, path));
	ck_assert_int_eq(later_write, -1);
	ck_assert_int_eq(later_commit, -1);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(scan_tmpdir(), 0);
}
END_TEST

Suite *outfile_suite(void)
{
	Suite *s = suite_create("outfile");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30); /* fsyncs on a busy disk */
	tu_scratch(tc);
	tcase_add_test(tc, outfile_commit_renames);
	tcase_add_test(tc, outfile_abort_leaves_nothing);
	tcase_add_test(tc, outfile_existing_needs_force);
	tcase_add_test(tc, outfile_creates_missing_parent_directories);
	tcase_add_test(tc, outfile_parent_that_is_a_file_is_eio);
	tcase_add_test(tc, outfile_writes_through_devices_and_fifos);
	tcase_add_test(tc, outfile_temporary_is_unpredictable_and_exclusive);
	tcase_add_test(tc, outfile_commit_without_force_never_clobbers);
	tcase_add_test(tc, outfile_finish_publish_and_stop);
	tcase_add_test(tc, outfile_gzip_stream_reads_back);
	tcase_add_test(tc, outfile_empty_gzip_is_valid);
	tcase_add_test(tc, outfile_gzip_members_concatenate);
	tcase_add_test(tc, outfile_write_error_is_reported);
	suite_add_tcase(s, tc);
	return s;
}
