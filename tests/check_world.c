/* check_world.c - loading world directories written by the tests (plain and
 * gzipped), every validation error with its code and file:line, and the
 * original course files (from $BOTIFY_COURSE_DATA, when set). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npy.h"
#include "testutil.h"
#include "world.h"

/* A five-track world, ids out of order, a track without a title, a blank line
 * and an extra field. Artists by first track id: A (0), C (1), B (2). */
static const char *TRACKS =
	"{\"track\": 3, \"artist\": \"B\", \"title\": \"t3\"}\n"
	"{\"track\": 0, \"artist\": \"A\", \"title\": \"t0\", \"genre\": \"rock\"}\n"
	"\n"
	"{\"artist\": \"A\", \"track\": 4}\n"
	"{\"track\": 1, \"artist\": \"C\", \"title\": \"t1\"}\n"
	"{\"track\": 2, \"artist\": \"B\", \"title\": \"t2\"}\n";

static const char *USERS =
	"{\"user\": 1, \"interests\": [4], \"consume_bias\": 2.5, \"consume_sharpness\": 0.5, "
	"\"interest_neighbours\": 3, \"session_budget\": 7, \"artist_discount_gamma\": 0.9}\n"
	"{\"user\": 0, \"interests\": [0, 2, 1], \"consume_bias\": 9.642594065845353, "
	"\"consume_sharpness\": 1.9311133653067558, \"extra\": [1, 2]}\n"
	"{\"interests\": [3], \"user\": 2}\n";

static const float E5[5 * 3] = {
	0, 0.5f, 1, -1, 2, 3, 0.25f, -0.125f, 7, 1e-3f, 4, -5, 100, 0, -0.5f,
};

static void write_npy(const char *dir, const float *E, size_t ndim, size_t rows, size_t cols)
{
	char p[4096];
	botify_err err = {0};
	ck_assert_msg(botify_npy_write(tu_path(p, dir, "tracks.npy"), E, ndim, rows, cols, 1, &err) == 0,
		      "%s", err.msg);
}

static void write_world(const char *dir, const char *tracks, const char *users, const char *top,
			int gz)
{
	tu_write_in(dir, "tracks.json", tracks, gz);
	if (users)
		tu_write_in(dir, "users.json", users, gz);
	if (top)
		tu_write_in(dir, "top_tracks.json", top, gz);
	write_npy(dir, E5, 2, 5, 3);
}

static void check_small_world(const botify_world *w, int with_top)
{
	ck_assert_int_eq(w->N, 5);
	ck_assert_int_eq(w->D, 3);
	ck_assert_int_eq(w->A, 3);
	ck_assert_int_eq(w->U, 3);
	ck_assert_int_eq(memcmp(w->E, E5, sizeof(E5)), 0);
	ck_assert_float_eq(botify_world_embedding(w, 3)[1], 4.0f);
	const int32_t artist[5] = { 0, 1, 2, 2, 0 };
	for (int t = 0; t < 5; t++)
		ck_assert_int_eq(w->artist[t], artist[t]);
	ck_assert_str_eq(botify_world_artist_name(w, 0), "A");
	ck_assert_str_eq(botify_world_artist_name(w, 1), "C");
	ck_assert_str_eq(botify_world_artist_name(w, 2), "B");
	const int32_t off[4] = { 0, 2, 3, 5 }, at[5] = { 0, 4, 1, 2, 3 };
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(w->artist_off[i], off[i]);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(w->artist_tracks[i], at[i]);
	ck_assert_str_eq(botify_world_title(w, 0), "t0");
	ck_assert_str_eq(botify_world_title(w, 3), "t3");
	ck_assert_str_eq(botify_world_title(w, 4), "");

	const botify_user *u0 = &w->users[0], *u1 = &w->users[1], *u2 = &w->users[2];
	ck_assert_int_eq(u0->n_interests, 3);
	ck_assert_int_eq(w->interests[u0->first_interest + 0], 0);
	ck_assert_int_eq(w->interests[u0->first_interest + 1], 2);
	ck_assert_int_eq(w->interests[u0->first_interest + 2], 1);
	ck_assert(u0->consume_bias == 9.642594065845353);
	ck_assert(u0->consume_sharpness == 1.9311133653067558);
	ck_assert(isnan(u0->artist_discount_gamma));
	ck_assert_int_eq(u0->interest_neighbours, 0);
	ck_assert_int_eq(u0->session_budget, 0);
	ck_assert_int_eq(u1->n_interests, 1);
	ck_assert_int_eq(w->interests[u1->first_interest], 4);
	ck_assert(u1->consume_bias == 2.5);
	ck_assert(u1->consume_sharpness == 0.5);
	ck_assert(u1->artist_discount_gamma == 0.9);
	ck_assert_int_eq(u1->interest_neighbours, 3);
	ck_assert_int_eq(u1->session_budget, 7);
	ck_assert_int_eq(u2->n_interests, 1);
	ck_assert_int_eq(w->interests[u2->first_interest], 3);
	ck_assert(isnan(u2->consume_bias) && isnan(u2->consume_sharpness));
	ck_assert_int_eq(w->n_interests, 5);
	if (with_top) {
		ck_assert_int_eq(w->n_top, 3);
		ck_assert_int_eq(w->top_tracks[0], 4);
		ck_assert_int_eq(w->top_tracks[1], 0);
		ck_assert_int_eq(w->top_tracks[2], 1);
	} else {
		ck_assert_int_eq(w->n_top, 0);
		ck_assert_ptr_null(w->top_tracks);
	}
}

START_TEST(world_loads_plain_files)
{
	write_world(tu_tmp, TRACKS, USERS, "[4, 0, 1]\n", 0);
	botify_world w = {0};
	botify_err err = {0};
	ck_assert_msg(botify_world_load(&w, tu_tmp, &err) == 0, "%s", err.msg);
	check_small_world(&w, 1);
	ck_assert_str_eq(w.source, tu_tmp);
	botify_world_free(&w);
	ck_assert_ptr_null(w.E);
	ck_assert_int_eq(w.N, 0);
	botify_world_free(&w); /* twice is fine */
}
END_TEST

START_TEST(world_loads_gzipped_files)
{
	/* top_tracks.json spread over lines, as json.dump(indent=...) writes it */
	write_world(tu_tmp, TRACKS, USERS, "[\n  4,\n  0,\n  1\n]\n", 1);
	botify_world w = {0};
	botify_err err = {0};
	ck_assert_msg(botify_world_load(&w, tu_tmp, &err) == 0, "%s", err.msg);
	check_small_world(&w, 1);
	botify_world_free(&w);
}
END_TEST

START_TEST(world_top_tracks_optional)
{
	write_world(tu_tmp, TRACKS, USERS, NULL, 0);
	botify_world w = {0};
	botify_err err = {0};
	ck_assert_msg(botify_world_load(&w, tu_tmp, &err) == 0, "%s", err.msg);
	check_small_world(&w, 0);
	botify_world_free(&w);
}
END_TEST

START_TEST(world_catalog_needs_no_users)
{
	write_world(tu_tmp, TRACKS, NULL, NULL, 0);
	botify_world w = {0};
	botify_err err = {0};
	ck_assert_msg(botify_world_load_catalog(&w, tu_tmp, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(w.N, 5);
	ck_assert_int_eq(w.A, 3);
	ck_assert_int_eq(w.U, 0);
	ck_assert_int_eq(w.artist[4], 0);
	botify_world_free(&w);
	/* the full loader does need them */
	ck_assert_int_eq(botify_world_load(&w, tu_tmp, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	tu_assert_has(err.msg, "no users.json or users.json.gz");
	tu_assert_has(err.msg, tu_tmp);
	ck_assert_ptr_null(w.E);
}
END_TEST

START_TEST(world_find_file_prefers_plain)
{
	char out[4096], want[4096];
	ck_assert_int_eq(botify_world_find_file(tu_tmp, "x.json", out, sizeof(out)), 0);
	ck_assert_str_eq(out, tu_path(want, tu_tmp, "x.json"));
	tu_write_in(tu_tmp, "x.json", "{}", 1);
	ck_assert_int_eq(botify_world_find_file(tu_tmp, "x.json", out, sizeof(out)), 1);
	ck_assert_str_eq(out, tu_path(want, tu_tmp, "x.json.gz"));
	tu_write_in(tu_tmp, "x.json", "{}", 0);
	ck_assert_int_eq(botify_world_find_file(tu_tmp, "x.json", out, sizeof(out)), 1);
	ck_assert_str_eq(out, tu_path(want, tu_tmp, "x.json"));
}
END_TEST

/* A world with one flaw: the load fails with code, and the message holds the
 * file name (full path) followed by needle, e.g. "tracks.json:3: ...". */
static void expect_load_fail(const char *tracks, const char *users, const char *top,
			     enum botify_errcode code, const char *file, const char *needle)
{
	char dir[4096];
	static int n;
	tu_fmt(dir, sizeof(dir), "%s/w%d", tu_tmp, n++);
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	tu_write_in(dir, "tracks.json", tracks, 0);
	if (users)
		tu_write_in(dir, "users.json", users, 0);
	if (top)
		tu_write_in(dir, "top_tracks.json", top, 0);
	write_npy(dir, E5, 2, 5, 3);
	botify_world w = {0};
	botify_err err = {0};
	ck_assert_msg(botify_world_load(&w, dir, &err) == -1, "loaded despite '%s'", needle);
	ck_assert_msg(err.code == code, "code %d, want %d: %s", err.code, code, err.msg);
	char want[4096 + 200];
	tu_fmt(want, sizeof(want), "%s/%s%s", dir, file, needle);
	tu_assert_has(err.msg, want);
	ck_assert_ptr_null(w.E);
	ck_assert_ptr_null(w.users);
	ck_assert_int_eq(w.N, 0);
	botify_world_free(&w);
}

#define T(id, artist) "{\"track\": " #id ", \"artist\": \"" artist "\"}\n"
#define TRACKS5 T(0, "a") T(1, "a") T(2, "b") T(3, "c") T(4, "c")
#define USER0 "{\"user\": 0, \"interests\": [1]}\n"

START_TEST(world_track_errors)
{
	/* ids must be exactly 0..N-1 */
	expect_load_fail(T(0, "a") T(1, "a") T(7, "b") T(3, "c") T(4, "c"), USER0, NULL,
			 BOTIFY_ERANGE, "tracks.json", ":3: track id 7 out of range");
	expect_load_fail(T(0, "a") T(1, "a") T(1, "b") T(3, "c") T(4, "c"), USER0, NULL,
			 BOTIFY_EFORMAT, "tracks.json", ":3: track id 1 appears twice");
	expect_load_fail(T(0, "a") "\n" T(1, "a") T(2, "b") T(3, "c") T(4, "c") T(4, "d"), USER0,
			 NULL, BOTIFY_EFORMAT, "tracks.json", ":7: track id 4 appears twice");
	expect_load_fail(T(0, "a") T(-1, "a"), USER0, NULL, BOTIFY_ERANGE, "tracks.json", ":2: 'track'");
	expect_load_fail(T(0, "a") T(1.5, "a"), USER0, NULL, BOTIFY_EFORMAT, "tracks.json", ":2: 'track'");
	expect_load_fail(T(0, "a") "{\"track\": \"1\", \"artist\": \"a\"}\n", USER0, NULL,
			 BOTIFY_EFORMAT, "tracks.json", ":2: 'track'");
	expect_load_fail(T(0, "a") "{\"artist\": \"a\"}\n", USER0, NULL, BOTIFY_EFORMAT,
			 "tracks.json", ":2: 'track'");
	expect_load_fail(T(0, "a") "{\"track\": 1, \"title\": \"x\"}\n", USER0, NULL,
			 BOTIFY_EFORMAT, "tracks.json", ":2: 'artist'");
	expect_load_fail(T(0, "a") "{\"track\": 1, \"artist\": 5}\n", USER0, NULL, BOTIFY_EFORMAT,
			 "tracks.json", ":2: 'artist'");
	expect_load_fail(T(0, "a") "{\"track\": 1, \"artist\": \"a\", \"title\": 3}\n", USER0, NULL,
			 BOTIFY_EFORMAT, "tracks.json", ":2: 'title'");
	expect_load_fail(T(0, "a") T(1, "a") "{\"track\": 2, \"artist\": \"b\"\n", USER0, NULL,
			 BOTIFY_EFORMAT, "tracks.json", ":3: malformed JSON");
	expect_load_fail(T(0, "a") "[1, 2]\n", USER0, NULL, BOTIFY_EFORMAT, "tracks.json",
			 ":2: expected a JSON object");
	expect_load_fail("\n\n", USER0, NULL, BOTIFY_EFORMAT, "tracks.json", ": no tracks");
}
END_TEST

START_TEST(world_embedding_errors)
{
	botify_world w = {0};
	botify_err err = {0};
	char p[4096];
	tu_write_in(tu_tmp, "tracks.json", TRACKS5, 0);
	tu_write_in(tu_tmp, "users.json", USER0, 0);

	/* missing: the error says how to make embeddings */
	ck_assert_int_eq(botify_world_load(&w, tu_tmp, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	tu_assert_has(err.msg, tu_path(p, tu_tmp, "tracks.npy"));
	tu_assert_has(err.msg, "has no tracks.npy");
	tu_assert_has(err.msg, "botify export --model MODEL --embeddings");
	tu_assert_has(err.msg, "botify datagen --out TMP --tracks 5");

	/* a row too few, a row too many, a vector */
	write_npy(tu_tmp, E5, 2, 4, 3);
	ck_assert_int_eq(botify_world_load(&w, tu_tmp, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EFORMAT);
	tu_assert_has(err.msg, tu_path(p, tu_tmp, "tracks.npy: expected shape (5, D)"));
	tu_assert_has(err.msg, "found (4, 3)");
	float six[6 * 3] = {0};
	write_npy(tu_tmp, six, 2, 6, 3);
	ck_assert_int_eq(botify_world_load(&w, tu_tmp, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EFORMAT);
	tu_assert_has(err.msg, "found (6, 3)");
	write_npy(tu_tmp, E5, 1, 5, 1);
	ck_assert_int_eq(botify_world_load(&w, tu_tmp, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EFORMAT);
	tu_assert_has(err.msg, "tracks.npy: expected shape (5, D)");

	/* NaN and infinity, located by row and column */
	float bad[5 * 3];
	memcpy(bad, E5, sizeof(bad));
	bad[1 * 3 + 2] = NAN;
	write_npy(tu_tmp, bad, 2, 5, 3);
	ck_assert_int_eq(botify_world_load(&w, tu_tmp, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EFORMAT);
	tu_assert_has(err.msg, "tracks.npy: row 1 column 2 is not finite");
	memcpy(bad, E5, sizeof(bad));
	bad[4 * 3 + 0] = -INFINITY;
	write_npy(tu_tmp, bad, 2, 5, 3);
	ck_assert_int_eq(botify_world_load(&w, tu_tmp, &err), -1);
	tu_assert_has(err.msg, "tracks.npy: row 4 column 0 is not finite");
	ck_assert_ptr_null(w.E);

	/* and a good one loads */
	write_npy(tu_tmp, E5, 2, 5, 3);
	ck_assert_msg(botify_world_load(&w, tu_tmp, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(w.A, 3);
	botify_world_free(&w);
}
END_TEST

START_TEST(world_user_errors)
{
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1, \"interests\": [2, 7]}\n", NULL,
			 BOTIFY_ERANGE, "users.json", ":2: track 7 out of range (catalog has 5)");
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1, \"interests\": [4, 5]}\n", NULL,
			 BOTIFY_ERANGE, "users.json", ":2: track 5 out of range (catalog has 5)");
	expect_load_fail(TRACKS5, USER0 "\n{\"user\": 1, \"interests\": [-1]}\n", NULL,
			 BOTIFY_ERANGE, "users.json", ":3: track -1 out of range (catalog has 5)");
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1, \"interests\": [1.5]}\n", NULL,
			 BOTIFY_EFORMAT, "users.json", ":2: 'interests' must be an array of track ids");
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1, \"interests\": [1, \"2\"]}\n", NULL,
			 BOTIFY_EFORMAT, "users.json", ":2: 'interests'");
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1, \"interests\": \"1, 2\"}\n", NULL,
			 BOTIFY_EFORMAT, "users.json", ":2: 'interests' must be a non-empty array");
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1, \"interests\": []}\n", NULL, BOTIFY_EFORMAT,
			 "users.json", ":2: 'interests' must be a non-empty array");
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1}\n", NULL, BOTIFY_EFORMAT, "users.json",
			 ":2: 'interests'");
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1, \"interests\": [1], \"consume_bias\": \"9.6\"}\n",
			 NULL, BOTIFY_EFORMAT, "users.json", ":2: 'consume_bias'");
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1, \"interests\": [1], \"consume_sharpness\": null}\n",
			 NULL, BOTIFY_EFORMAT, "users.json", ":2: 'consume_sharpness'");
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1, \"interests\": [1], \"artist_discount_gamma\": -0.5}\n",
			 NULL, BOTIFY_ERANGE, "users.json", ":2: 'artist_discount_gamma'");
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1, \"interests\": [1], \"interest_neighbours\": 0}\n",
			 NULL, BOTIFY_ERANGE, "users.json", ":2: 'interest_neighbours'");
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1, \"interests\": [1], \"session_budget\": 2.5}\n",
			 NULL, BOTIFY_EFORMAT, "users.json", ":2: 'session_budget'");
	expect_load_fail(TRACKS5, USER0 "{\"user\": \"1\", \"interests\": [1]}\n", NULL,
			 BOTIFY_EFORMAT, "users.json", ":2: 'user'");
	expect_load_fail(TRACKS5, USER0 "{\"interests\": [1]}\n", NULL, BOTIFY_EFORMAT,
			 "users.json", ":2: 'user'");
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1, \"interests\": [1]\n", NULL, BOTIFY_EFORMAT,
			 "users.json", ":2: malformed JSON");
	expect_load_fail(TRACKS5, USER0 "17\n", NULL, BOTIFY_EFORMAT, "users.json",
			 ":2: expected a JSON object");
	/* ids dense 0..U-1 */
	expect_load_fail(TRACKS5, USER0 "{\"user\": 1, \"interests\": [1]}\n" USER0, NULL,
			 BOTIFY_EFORMAT, "users.json", ":3: user id 0 appears twice");
	expect_load_fail(TRACKS5, USER0 "{\"user\": 2, \"interests\": [1]}\n", NULL, BOTIFY_ERANGE,
			 "users.json", ":2: user id 2 out of range");
	expect_load_fail(TRACKS5, "\n", NULL, BOTIFY_EFORMAT, "users.json", ": no users");
}
END_TEST

START_TEST(world_top_tracks_errors)
{
	expect_load_fail(TRACKS5, USER0, "{\"top\": [1]}", BOTIFY_EFORMAT, "top_tracks.json",
			 ": expected a JSON array of track ids");
	expect_load_fail(TRACKS5, USER0, "[1, 5]", BOTIFY_ERANGE, "top_tracks.json",
			 ": element 1: track 5 out of range (catalog has 5)");
	expect_load_fail(TRACKS5, USER0, "[1, 2, \"3\"]", BOTIFY_EFORMAT, "top_tracks.json",
			 ": element 2 is not a track id");
	expect_load_fail(TRACKS5, USER0, "[1, 2", BOTIFY_EFORMAT, "top_tracks.json",
			 ": malformed JSON at line 1");
}
END_TEST

/* The one reader of top-track lists, as toppop's file= uses it too: gzip
 * files read, nothing returned on an error. */
START_TEST(world_read_top_tracks)
{
	char p[4096];
	botify_err err = {0};
	int32_t *top = NULL, n = -1;
	tu_write(tu_path(p, tu_tmp, "top.json.gz"), "[4, 0,\n 3]", 1);
	ck_assert_msg(botify_world_read_top_tracks(p, 5, &top, &n, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(top[0], 4);
	ck_assert_int_eq(top[1], 0);
	ck_assert_int_eq(top[2], 3);
	free(top);
	top = NULL;
	n = -1;
	ck_assert_int_eq(botify_world_read_top_tracks(p, 4, &top, &n, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERANGE);
	tu_assert_has(err.msg, ": element 0: track 4 out of range (catalog has 4)");
	tu_assert_has(err.msg, p);
	ck_assert_ptr_null(top);
	ck_assert_int_eq(n, -1);
	tu_write(tu_path(p, tu_tmp, "top.json"), "[1, 2.5]", 0);
	ck_assert_int_eq(botify_world_read_top_tracks(p, 5, &top, &n, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EFORMAT);
	tu_assert_has(err.msg, ": element 1 is not a track id");
	ck_assert_ptr_null(top);
}
END_TEST

START_TEST(world_missing_files)
{
	botify_world w = {0};
	botify_err err = {0};
	char p[4096];
	ck_assert_int_eq(botify_world_load(&w, tu_path(p, tu_tmp, "nope"), &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	tu_assert_has(err.msg, "no tracks.json or tracks.json.gz");
	tu_assert_has(err.msg, p);
	/* a corrupt gzip file is an error, not a short catalog */
	tu_write_in(tu_tmp, "tracks.json", TRACKS5 TRACKS5 TRACKS5, 1);
	write_npy(tu_tmp, E5, 2, 5, 3);
	FILE *fp = fopen(tu_path(p, tu_tmp, "tracks.json.gz"), "rb");
	unsigned char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	fp = fopen(p, "wb");
	fwrite(buf, 1, n - 12, fp); /* drop the tail and the trailer */
	fclose(fp);
	ck_assert_int_eq(botify_world_load(&w, tu_tmp, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EFORMAT);
	tu_assert_has(err.msg, p);
	tu_assert_has(err.msg, "corrupt or truncated gzip");
	ck_assert_ptr_null(w.E);
}
END_TEST

/* check_users on a world built in memory */
START_TEST(world_check_users_in_memory)
{
	write_world(tu_tmp, TRACKS, USERS, NULL, 0);
	botify_world w = {0};
	botify_err err = {0};
	ck_assert_int_eq(botify_world_load(&w, tu_tmp, &err), 0);
	ck_assert_int_eq(botify_world_check_users(&w, "mem", &err), 0);
	w.interests[w.users[2].first_interest] = 5;
	ck_assert_int_eq(botify_world_check_users(&w, "mem", &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERANGE);
	ck_assert_str_eq(err.msg, "mem: user 2: track 5 out of range (catalog has 5)");
	botify_world_free(&w);
}
END_TEST

/* The original course catalog (in $BOTIFY_COURSE_DATA; registered only
 * when present), loaded unchanged with embeddings of our own. */
START_TEST(world_loads_course_files)
{
	const char *src = tu_course_data();
	char p[4096], q[4096];
	ck_assert_ptr_nonnull(src);
	char abs[4096], cwd[2048];
	if (src[0] == '/')
		tu_fmt(abs, sizeof(abs), "%s", src);
	else
		tu_fmt(abs, sizeof(abs), "%s/%s", getcwd(cwd, sizeof(cwd)), src);
	const char *files[] = { "tracks.json.gz", "users.json.gz", "top_tracks.json.gz" };
	for (int i = 0; i < 3; i++) {
		tu_fmt(p, sizeof(p), "%s/%s", abs, files[i]);
		ck_assert_int_eq(symlink(p, tu_path(q, tu_tmp, files[i])), 0);
	}
	enum { N = 50000, D = 4 };
	float *E = malloc(sizeof(float) * N * D);
	for (int i = 0; i < N * D; i++)
		E[i] = (float)(i % 97) / 97;
	write_npy(tu_tmp, E, 2, N, D);
	free(E);

	botify_world w = {0};
	botify_err err = {0};
	ck_assert_msg(botify_world_load(&w, tu_tmp, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(w.N, 50000);
	ck_assert_int_eq(w.A, 11464);
	ck_assert_int_eq(w.U, 10000);
	ck_assert_int_eq(w.D, 4);
	const botify_user *u = &w.users[0];
	ck_assert_int_eq(u->n_interests, 3);
	ck_assert_int_eq(w.interests[u->first_interest + 0], 44973);
	ck_assert_int_eq(w.interests[u->first_interest + 1], 6615);
	ck_assert_int_eq(w.interests[u->first_interest + 2], 4773);
	ck_assert(u->consume_bias == 9.642594065845353);
	ck_assert(u->consume_sharpness == 1.9311133653067558);
	ck_assert(w.users[9999].consume_sharpness == 0.5377774121010215);
	ck_assert_int_eq(w.n_top, 37175);
	ck_assert_int_eq(w.top_tracks[0], 246);
	/* artists by first track: Jack Johnson (track 0) is artist 0 with 53 tracks */
	ck_assert_int_eq(w.artist[0], 0);
	ck_assert_str_eq(botify_world_artist_name(&w, 0), "Jack Johnson");
	ck_assert_str_eq(botify_world_title(&w, 0), "The Cove");
	ck_assert_str_eq(botify_world_artist_name(&w, 1), "Billy Preston");
	ck_assert_int_eq(w.artist_off[1] - w.artist_off[0], 53);
	ck_assert_int_eq(w.artist_tracks[1], 8);
	ck_assert_str_eq(botify_world_artist_name(&w, w.artist[49999]), "Reckless Kelly");
	ck_assert_int_eq(w.artist_off[w.A], 50000);
	botify_world_free(&w);
}
END_TEST

Suite *world_suite(void)
{
	Suite *s = suite_create("world");
	TCase *tc = tcase_create("load");
	/* the course files take seconds under sanitizers on a loaded machine:
	 * Check's 4 s default is not enough */
	tcase_set_timeout(tc, 60);
	tu_scratch(tc);
	tcase_add_test(tc, world_loads_plain_files);
	tcase_add_test(tc, world_loads_gzipped_files);
	tcase_add_test(tc, world_top_tracks_optional);
	tcase_add_test(tc, world_catalog_needs_no_users);
	tcase_add_test(tc, world_find_file_prefers_plain);
	tcase_add_test(tc, world_check_users_in_memory);
	if (tu_course_data()) {
		/* 60 000 gzip lines: seconds under ASan on a busy machine, past
		 * Check's default 4 s */
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, world_loads_course_files);
	} else
		tu_skip("world_loads_course_files", "BOTIFY_COURSE_DATA does not name the course files");
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_set_timeout(tc, 60);
	tu_scratch(tc);
	tcase_add_test(tc, world_track_errors);
	tcase_add_test(tc, world_embedding_errors);
	tcase_add_test(tc, world_user_errors);
	tcase_add_test(tc, world_top_tracks_errors);
	tcase_add_test(tc, world_read_top_tracks);
	tcase_add_test(tc, world_missing_files);
	suite_add_tcase(s, tc);
	return s;
}
