/*
 * testutil.h - small helpers shared by the Check suites: scratch
 * directories under /tmp, writing plain and gzip files, reading a file back.
 * All static inline so a suite that uses none of them compiles cleanly.
 */
#ifndef BOTIFY_TESTUTIL_H
#define BOTIFY_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

/* snprintf that fails the test instead of truncating. */
static inline __attribute__((format(printf, 3, 4))) char *tu_fmt(char *buf, size_t n,
								  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	ck_assert_msg(len >= 0 && (size_t)len < n, "path too long: %s", buf);
	return buf;
}

/* The scratch directory of the test that runs, for suites that add the
 * fixture with tu_scratch(tc): a fresh directory made before each test (in
 * the test's fork) and removed after it. Every one lives under a root the
 * runner (check_main.c) makes before the first suite and removes at the
 * end, so a test that fails, and so skips its teardown, leaves nothing
 * behind. A suite with a setup of its own calls tu_scratch_setup() first
 * in it and tu_scratch_teardown() last in its teardown instead. */
extern char tu_tmp[128];
void tu_scratch_setup(void);
void tu_scratch_teardown(void);
static inline void tu_scratch(TCase *tc)
{
	tcase_add_checked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
}

/* Creates /tmp/botify-<tag>-XXXXXX into buf (at least 64 bytes). */
static inline void tu_mkdtemp(char *buf, size_t n, const char *tag)
{
	tu_fmt(buf, n, "/tmp/botify-%s-XXXXXX", tag);
	ck_assert_ptr_nonnull(mkdtemp(buf));
}

/* A fresh directory root/t-XXXXXX (dir: at least 128 bytes). */
static inline void tu_mkdtemp_in(char *dir, size_t n, const char *root)
{
	tu_fmt(dir, n, "%s/t-XXXXXX", root);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Removes path and everything below it (symlinks are removed, not followed).
 * Safe outside a test (the runner removes the scratch root with it). */
static inline void tu_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			size_t len = strlen(path) + strlen(e->d_name) + 2;
			char *p = malloc(len);
			/* no ck_assert here: the runner calls this outside any test */
			if (!p)
				break;
			snprintf(p, len, "%s/%s", path, e->d_name);
			tu_rm_rf(p);
			free(p);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* dir/name into out (4096 bytes). */
static inline const char *tu_path(char *out, const char *dir, const char *name)
{
	return tu_fmt(out, 4096, "%s/%s", dir, name);
}

/* name in the test's scratch directory, in one of four rotating buffers
 * (so a call can take two or three such paths at once). */
static inline char *tu_in_tmp(const char *name)
{
	static char p[4][256];
	static int i;
	i = (i + 1) % 4;
	tu_fmt(p[i], sizeof(p[i]), "%s/%s", tu_tmp, name);
	return p[i];
}

/* Writes text to path, gzip-compressed when gz. */
static inline void tu_write(const char *path, const char *text, int gz)
{
	if (gz) {
		gzFile g = gzopen(path, "wb");
		ck_assert_ptr_nonnull(g);
		if (*text)
			ck_assert_int_eq(gzwrite(g, text, (unsigned)strlen(text)), (int)strlen(text));
		ck_assert_int_eq(gzclose(g), Z_OK);
	} else {
		FILE *fp = fopen(path, "wb");
		ck_assert_ptr_nonnull(fp);
		ck_assert_uint_eq(fwrite(text, 1, strlen(text), fp), strlen(text));
		ck_assert_int_eq(fclose(fp), 0);
	}
}

/* Writes dir/name (plain) or dir/name.gz. */
static inline void tu_write_in(const char *dir, const char *name, const char *text, int gz)
{
	char p[4096];
	tu_fmt(p, sizeof(p), "%s/%s%s", dir, name, gz ? ".gz" : "");
	tu_write(p, text, gz);
}

/* Reads a whole file (gunzipping a gzip one); caller frees. */
static inline char *tu_slurp(const char *path, size_t *len)
{
	gzFile g = gzopen(path, "rb");
	ck_assert_msg(g != NULL, "cannot open %s", path);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	int r;
	while ((r = gzread(g, buf + n, (unsigned)(cap - n))) > 0) {
		n += (size_t)r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	ck_assert_int_ge(r, 0);
	gzclose(g);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* A test that cannot run here (data that is not present): call at suite
 * creation instead of tcase_add_test. The runner (check_main.c) counts it
 * apart from passes and lists it with the reason. */
void tu_skip(const char *test, const char *why);

/* The directory holding the original course files (tracks.json.gz,
 * users.json.gz, top_tracks.json.gz), from $BOTIFY_COURSE_DATA, or NULL
 * when it is not set or holds no tracks.json.gz. */
static inline const char *tu_course_data(void)
{
	const char *d = getenv("BOTIFY_COURSE_DATA");
	char p[4096];
	if (!d || !*d || snprintf(p, sizeof(p), "%s/tracks.json.gz", d) >= (int)sizeof(p))
		return NULL;
	return access(p, R_OK) == 0 ? d : NULL;
}

/* Asserts msg contains needle, with both in the failure message. */
#define tu_assert_has(msg, needle)                                                        \
	ck_assert_msg(strstr((msg), (needle)) != NULL, "'%s' lacks '%s'", (msg), (needle))

#endif
