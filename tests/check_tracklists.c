/* check_tracklists.c - per-key track lists: recommendations.json and
 * tracks_with_recs.json, absent keys, null and missing lists, and errors with
 * file:line. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tracklists.h"

static void expect_list(const botify_tracklists *l, int64_t key, const int32_t *want, int64_t n)
{
	int64_t got_n = -1;
	const int32_t *got = botify_tracklists_get(l, key, &got_n);
	ck_assert_msg(got_n == n, "key %lld: %lld tracks, want %lld", (long long)key,
		      (long long)got_n, (long long)n);
	for (int64_t i = 0; i < n; i++)
		ck_assert_int_eq(got[i], want[i]);
}

START_TEST(tracklists_user_lists)
{
	char p[4096];
	tu_write(tu_path(p, tu_tmp, "recommendations.json"),
		 "{\"user\": 2, \"tracks\": [3, 1, 3]}\n"
		 "{\"tracks\": [], \"user\": 0}\n"
		 "\n"
		 "{\"user\": 5, \"tracks\": [0], \"model\": \"lightfm\"}\n",
		 0);
	botify_tracklists l;
	botify_err err = {0};
	ck_assert_msg(botify_tracklists_load(&l, p, "user", "tracks", 1000, 4, &err) == 0, "%s",
		      err.msg);
	ck_assert_int_eq(l.n_keys, 6);
	ck_assert_int_eq(l.n_lists, 3);
	expect_list(&l, 2, (const int32_t[]){ 3, 1, 3 }, 3);
	expect_list(&l, 5, (const int32_t[]){ 0 }, 1);
	expect_list(&l, 0, NULL, 0); /* an empty list */
	expect_list(&l, 1, NULL, 0); /* absent keys: empty */
	expect_list(&l, 3, NULL, 0);
	expect_list(&l, 6, NULL, 0);
	expect_list(&l, 1000000, NULL, 0);
	expect_list(&l, -1, NULL, 0);
	int64_t n;
	ck_assert_ptr_null(botify_tracklists_get(&l, 6, &n));
	botify_tracklists_free(&l);
	ck_assert_ptr_null(l.off);
	ck_assert_int_eq(l.n_keys, 0);
	botify_tracklists_free(&l);
}
END_TEST

/* tracks.json lines plus "recommendations"; a line without it or with null
 * gives an empty list; gzip is read by content. */
START_TEST(tracklists_track_lists_gz)
{
	char p[4096];
	tu_write(tu_path(p, tu_tmp, "tracks_with_recs.json.gz"),
		 "{\"track\": 1, \"artist\": \"A\", \"title\": \"x\", \"recommendations\": [4, 0]}\n"
		 "{\"track\": 0, \"artist\": \"A\", \"title\": \"y\"}\n"
		 "{\"track\": 3, \"artist\": \"B\", \"title\": \"z\", \"recommendations\": null}\n"
		 "{\"track\": 4, \"artist\": \"B\", \"recommendations\": [1, 2, 3, 4]}\n",
		 1);
	botify_tracklists l;
	botify_err err = {0};
	ck_assert_msg(botify_tracklists_load(&l, p, "track", "recommendations", 4, 5, &err) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(l.n_keys, 5);
	ck_assert_int_eq(l.n_lists, 4);
	expect_list(&l, 1, (const int32_t[]){ 4, 0 }, 2);
	expect_list(&l, 0, NULL, 0);
	expect_list(&l, 2, NULL, 0);
	expect_list(&l, 3, NULL, 0);
	expect_list(&l, 4, (const int32_t[]){ 1, 2, 3, 4 }, 4);
	botify_tracklists_free(&l);
}
END_TEST

START_TEST(tracklists_empty_and_large)
{
	char p[4096];
	botify_tracklists l;
	botify_err err = {0};
	tu_write(tu_path(p, tu_tmp, "empty.json"), "", 0);
	ck_assert_msg(botify_tracklists_load(&l, p, "user", "tracks", 10, 5, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(l.n_keys, 0);
	ck_assert_int_eq(l.n_lists, 0);
	expect_list(&l, 0, NULL, 0);
	botify_tracklists_free(&l);

	/* lines, but only empty lists: no track pool at all */
	tu_write(tu_path(p, tu_tmp, "empties.json"), "{\"user\": 1, \"tracks\": []}\n", 0);
	ck_assert_msg(botify_tracklists_load(&l, p, "user", "tracks", 10, 5, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(l.n_lists, 1);
	expect_list(&l, 1, NULL, 0);
	botify_tracklists_free(&l);

	/* lists larger than the first pool block, keys in reverse order */
	enum { K = 3, L = 40000 };
	size_t cap = (size_t)K * L * 8 + 100;
	char *text = malloc(cap), *q = text;
	for (int k = K - 1; k >= 0; k--) {
		q += sprintf(q, "{\"user\": %d, \"tracks\": [", k);
		for (int i = 0; i < L; i++)
			q += sprintf(q, "%s%d", i ? "," : "", (i * 7 + k) % 50000);
		q += sprintf(q, "]}\n");
	}
	tu_write(tu_path(p, tu_tmp, "big.json"), text, 0);
	free(text);
	ck_assert_msg(botify_tracklists_load(&l, p, "user", "tracks", 10, 50000, &err) == 0, "%s",
		      err.msg);
	ck_assert_int_eq(l.n_keys, K);
	long bad = 0;
	for (int k = 0; k < K; k++) {
		int64_t n;
		const int32_t *t = botify_tracklists_get(&l, k, &n);
		ck_assert_int_eq(n, L);
		for (int i = 0; i < L; i++)
			bad += t[i] != (i * 7 + k) % 50000;
	}
	ck_assert_int_eq(bad, 0);
	botify_tracklists_free(&l);
}
END_TEST

/* One bad line (the third): load fails with code and "path:3: needle". */
static void expect_fail(const char *bad, int32_t n_tracks, enum botify_errcode code,
			const char *needle)
{
	char p[4096], want[4300], text[1024];
	static int n;
	tu_fmt(p, sizeof(p), "%s/bad%d.json", tu_tmp, n++);
	tu_fmt(text, sizeof(text), "{\"user\": 0, \"tracks\": [1]}\n\n%s\n{\"user\": 9, \"tracks\": []}\n",
	       bad);
	tu_write(p, text, 0);
	botify_tracklists l;
	botify_err err = {0};
	ck_assert_msg(botify_tracklists_load(&l, p, "user", "tracks", 100, n_tracks, &err) == -1,
		      "'%s' loaded", bad);
	ck_assert_msg(err.code == code, "code %d, want %d: %s", err.code, code, err.msg);
	tu_fmt(want, sizeof(want), "%s:3: %s", p, needle);
	tu_assert_has(err.msg, want);
	ck_assert_ptr_null(l.off);
	ck_assert_ptr_null(l.tracks);
	ck_assert_int_eq(l.n_keys, 0);
	botify_tracklists_free(&l);
}

START_TEST(tracklists_errors)
{
	expect_fail("{\"user\": 1, \"tracks\": [2, 5]}", 5, BOTIFY_ERANGE,
		    "track 5 out of range (catalog has 5)");
	expect_fail("{\"user\": 1, \"tracks\": [-1]}", 5, BOTIFY_ERANGE, "track -1 out of range");
	expect_fail("{\"user\": 1, \"tracks\": [1, 2.5]}", 5, BOTIFY_EFORMAT,
		    "'tracks'[1] is not a track id");
	expect_fail("{\"user\": 1, \"tracks\": [\"1\"]}", 5, BOTIFY_EFORMAT, "'tracks'[0]");
	expect_fail("{\"user\": 1, \"tracks\": \"1,2\"}", 5, BOTIFY_EFORMAT,
		    "'tracks' must be an array of track ids");
	expect_fail("{\"user\": 1, \"tracks\": {\"a\": 1}}", 5, BOTIFY_EFORMAT, "'tracks' must be an array");
	expect_fail("{\"user\": 101, \"tracks\": [1]}", 5, BOTIFY_ERANGE, "'user'");
	expect_fail("{\"user\": -1, \"tracks\": [1]}", 5, BOTIFY_ERANGE, "'user'");
	expect_fail("{\"user\": \"1\", \"tracks\": [1]}", 5, BOTIFY_EFORMAT, "'user'");
	expect_fail("{\"tracks\": [1]}", 5, BOTIFY_EFORMAT, "'user'");
	expect_fail("{\"user\": 1, \"tracks\": [1]", 5, BOTIFY_EFORMAT, "malformed JSON");
	expect_fail("[1]", 5, BOTIFY_EFORMAT, "expected a JSON object");
	/* a key given twice, even with an empty list */
	expect_fail("{\"user\": 0, \"tracks\": [2]}", 5, BOTIFY_EFORMAT, "user 0 has two lists");
	expect_fail("{\"user\": 0, \"tracks\": []}", 5, BOTIFY_EFORMAT, "user 0 has two lists");

	botify_tracklists l;
	botify_err err = {0};
	char p[4096];
	ck_assert_int_eq(botify_tracklists_load(&l, tu_path(p, tu_tmp, "none.json"), "user", "tracks", 9,
						5, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	tu_assert_has(err.msg, p);
}
END_TEST

Suite *tracklists_suite(void)
{
	Suite *s = suite_create("tracklists");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tu_scratch(tc);
	tcase_add_test(tc, tracklists_user_lists);
	tcase_add_test(tc, tracklists_track_lists_gz);
	tcase_add_test(tc, tracklists_empty_and_large);
	tcase_add_test(tc, tracklists_errors);
	suite_add_tcase(s, tc);
	return s;
}
