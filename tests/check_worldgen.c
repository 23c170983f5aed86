/* check_worldgen.c - the synthetic world generator: determinism, sizes and
 * invariants on small worlds, save/load round trips, preset files; and the
 * default (built-in) world generated once for its shape. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "world.h"
#include "worldgen.h"

static void small_params(botify_worldgen_params *p, int64_t seed)
{
	botify_worldgen_defaults(p);
	p->tracks = 300;
	p->users = 50;
	p->dim = 8;
	p->genres = 5;
	p->seed = seed;
}

static void generate(botify_world *w, const botify_worldgen_params *p)
{
	botify_err err = {0};
	ck_assert_msg(botify_worldgen_generate(w, p, &err) == 0, "%s", err.msg);
}

/* Equal as worlds: sizes, embeddings bit for bit, artists (ids and names),
 * titles, users and popularity. */
static void assert_same_world(const botify_world *a, const botify_world *b)
{
	ck_assert_int_eq(a->N, b->N);
	ck_assert_int_eq(a->D, b->D);
	ck_assert_int_eq(a->U, b->U);
	ck_assert_int_eq(a->A, b->A);
	ck_assert_int_eq(memcmp(a->E, b->E, sizeof(float) * (size_t)a->N * (size_t)a->D), 0);
	ck_assert_int_eq(memcmp(a->artist, b->artist, sizeof(int32_t) * (size_t)a->N), 0);
	ck_assert_int_eq(memcmp(a->artist_off, b->artist_off, sizeof(int32_t) * ((size_t)a->A + 1)), 0);
	ck_assert_int_eq(memcmp(a->artist_tracks, b->artist_tracks, sizeof(int32_t) * (size_t)a->N), 0);
	for (int32_t i = 0; i < a->A; i++)
		ck_assert_str_eq(botify_world_artist_name(a, i), botify_world_artist_name(b, i));
	for (int32_t t = 0; t < a->N; t++)
		ck_assert_str_eq(botify_world_title(a, t), botify_world_title(b, t));
	for (int32_t u = 0; u < a->U; u++) {
		const botify_user *x = &a->users[u], *y = &b->users[u];
		ck_assert_int_eq(x->n_interests, y->n_interests);
		ck_assert_int_eq(memcmp(a->interests + x->first_interest, b->interests + y->first_interest,
					sizeof(int32_t) * (size_t)x->n_interests), 0);
		ck_assert(x->consume_bias == y->consume_bias);
		ck_assert(x->consume_sharpness == y->consume_sharpness);
		ck_assert(x->artist_discount_gamma == y->artist_discount_gamma ||
			  (isnan(x->artist_discount_gamma) && isnan(y->artist_discount_gamma)));
		ck_assert_int_eq(x->interest_neighbours, y->interest_neighbours);
		ck_assert_int_eq(x->session_budget, y->session_budget);
	}
	ck_assert_int_eq(a->n_top, b->n_top);
	ck_assert_int_eq(memcmp(a->top_tracks, b->top_tracks, sizeof(int32_t) * (size_t)a->n_top), 0);
}

START_TEST(worldgen_deterministic)
{
	botify_worldgen_params p;
	small_params(&p, 7);
	botify_world a = {0}, b = {0}, c = {0};
	generate(&a, &p);
	generate(&b, &p);
	assert_same_world(&a, &b);
	ck_assert_str_eq(a.source, "built-in world (seed 7)");

	p.seed = 8;
	generate(&c, &p);
	ck_assert_int_eq(c.N, a.N);
	ck_assert_int_ne(memcmp(a.E, c.E, sizeof(float) * (size_t)a.N * (size_t)a.D), 0);
	ck_assert_int_ne(memcmp(a.artist, c.artist, sizeof(int32_t) * (size_t)a.N), 0);
	ck_assert_int_ne(memcmp(a.interests, c.interests, sizeof(int32_t) * (size_t)a.n_interests), 0);
	ck_assert(a.users[0].consume_bias != c.users[0].consume_bias);
	botify_world_free(&a);
	botify_world_free(&b);
	botify_world_free(&c);
}
END_TEST

/* Any thread count makes the world one thread makes, bit for bit: worlds of
 * many chunks of vector rows (and of fewer rows than one chunk). */
START_TEST(worldgen_threads_same_world)
{
	static const int64_t tracks[] = { 300, 5000 };
	static const int threads[] = { 2, 3, 8 };
	for (int i = 0; i < 2; i++) {
		botify_worldgen_params p;
		small_params(&p, 5 + i);
		p.tracks = tracks[i];
		p.users = 400;
		botify_world one = {0};
		generate(&one, &p);
		for (int j = 0; j < 3; j++) {
			botify_world w = {0};
			botify_err err = {0};
			ck_assert_msg(botify_worldgen_generate_threads(&w, &p, threads[j], &err) == 0, "%s", err.msg);
			assert_same_world(&one, &w);
			botify_world_free(&w);
		}
		botify_world_free(&one);
	}
}
END_TEST

/* Phases draw from their own streams: more users leave the catalog alone. */
START_TEST(worldgen_users_leave_catalog_alone)
{
	botify_worldgen_params p;
	small_params(&p, 3);
	botify_world a = {0}, b = {0};
	generate(&a, &p);
	p.users = 7;
	generate(&b, &p);
	ck_assert_int_eq(b.U, 7);
	ck_assert_int_eq(memcmp(a.E, b.E, sizeof(float) * (size_t)a.N * (size_t)a.D), 0);
	ck_assert_int_eq(memcmp(a.artist, b.artist, sizeof(int32_t) * (size_t)a.N), 0);
	ck_assert_int_eq(memcmp(a.top_tracks, b.top_tracks, sizeof(int32_t) * (size_t)a.N), 0);
	/* and the first users are the same users */
	ck_assert_int_eq(memcmp(a.interests, b.interests, sizeof(int32_t) * (size_t)b.n_interests), 0);
	ck_assert(a.users[6].consume_bias == b.users[6].consume_bias);
	botify_world_free(&a);
	botify_world_free(&b);
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every invariant the loader would check, and the generator's own promises. */
static void check_invariants(const botify_world *w, const botify_worldgen_params *p)
{
	ck_assert_int_eq(w->N, p->tracks);
	ck_assert_int_eq(w->D, p->dim);
	ck_assert_int_eq(w->U, p->users);
	ck_assert_int_eq(w->A, llround((double)p->tracks / p->tracks_per_artist));
	long bad = 0;
	for (int64_t i = 0; i < (int64_t)w->N * w->D; i++)
		bad += !isfinite(w->E[i]);
	ck_assert_int_eq(bad, 0);

	/* artists: every one has a track; the CSR index agrees with artist[];
	 * artists are numbered by their first track, as the loader numbers them */
	ck_assert_int_eq(w->artist_off[0], 0);
	ck_assert_int_eq(w->artist_off[w->A], w->N);
	for (int32_t a = 0; a < w->A; a++) {
		ck_assert_int_gt(w->artist_off[a + 1], w->artist_off[a]);
		for (int32_t i = w->artist_off[a]; i < w->artist_off[a + 1]; i++) {
			bad += w->artist[w->artist_tracks[i]] != a;
			bad += i > w->artist_off[a] && w->artist_tracks[i] <= w->artist_tracks[i - 1];
		}
	}
	ck_assert_int_eq(bad, 0);
	int32_t next = 0;
	for (int32_t t = 0; t < w->N; t++) {
		bad += w->artist[t] < 0 || w->artist[t] > next;
		if (w->artist[t] == next)
			next++;
	}
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(next, w->A);

	/* names: non-empty, distinct artists */
	const char **names = malloc(sizeof(char *) * (size_t)w->A);
	for (int32_t a = 0; a < w->A; a++) {
		names[a] = botify_world_artist_name(w, a);
		bad += strlen(names[a]) < 3;
	}
	qsort(names, (size_t)w->A, sizeof(char *), cmp_str);
	for (int32_t a = 1; a < w->A; a++)
		bad += !strcmp(names[a - 1], names[a]);
	free(names);
	for (int32_t t = 0; t < w->N; t++)
		bad += strlen(botify_world_title(w, t)) < 3;
	ck_assert_msg(bad == 0, "%ld empty or repeated names", bad);

	/* users */
	ck_assert_int_eq(w->n_interests, p->users * p->interests_per_user);
	for (int32_t u = 0; u < w->U; u++) {
		const botify_user *us = &w->users[u];
		bad += us->n_interests != p->interests_per_user;
		const int32_t *in = w->interests + us->first_interest;
		for (int i = 0; i < us->n_interests; i++) {
			bad += in[i] < 0 || in[i] >= w->N;
			for (int j = 0; j < i; j++)
				bad += in[i] == in[j];
		}
		bad += !(us->consume_bias >= 0 && us->consume_bias < p->consume_bias_max);
		bad += !(us->consume_sharpness >= 0.5 && us->consume_sharpness <= 2.0);
		bad += !isnan(us->artist_discount_gamma);
		bad += us->interest_neighbours != 0 || us->session_budget != 0;
		ck_assert_msg(bad == 0, "user %d breaks an invariant", u);
	}
	botify_err err = {0};
	ck_assert_int_eq(botify_world_check_users(w, "gen", &err), 0);

	/* popularity: a permutation */
	ck_assert_int_eq(w->n_top, w->N);
	char *seen = calloc((size_t)w->N, 1);
	for (int32_t i = 0; i < w->n_top; i++) {
		int32_t t = w->top_tracks[i];
		if (t < 0 || t >= w->N || seen[t]) {
			bad++;
			break;
		}
		seen[t] = 1;
	}
	free(seen);
	ck_assert_msg(bad == 0, "top_tracks is not a permutation");
}

START_TEST(worldgen_sizes_and_invariants)
{
	botify_worldgen_params p;
	small_params(&p, 11);
	botify_world w = {0};
	generate(&w, &p);
	ck_assert_int_eq(w.A, 69); /* round(300 / 4.36) */
	check_invariants(&w, &p);
	/* sharpness is U(1,2) or its inverse: both sides occur */
	int above = 0;
	for (int32_t u = 0; u < w.U; u++)
		above += w.users[u].consume_sharpness > 1;
	ck_assert(above > 5 && above < w.U - 5);
	botify_world_free(&w);

	/* other shapes: one artist per track, one artist for all, more interests */
	small_params(&p, 12);
	p.tracks_per_artist = 1;
	p.interests_per_user = 5;
	p.consume_bias_max = 2;
	generate(&w, &p);
	ck_assert_int_eq(w.A, 300);
	check_invariants(&w, &p);
	botify_world_free(&w);

	small_params(&p, 13);
	p.tracks_per_artist = 300;
	p.dim = 1;
	generate(&w, &p);
	ck_assert_int_eq(w.A, 1);
	check_invariants(&w, &p);
	botify_world_free(&w);

	small_params(&p, 14);
	p.tracks = 10;
	p.tracks_per_artist = 3;
	p.interests_per_user = 10; /* every track */
	generate(&w, &p);
	ck_assert_int_eq(w.A, 3);
	check_invariants(&w, &p);
	botify_world_free(&w);

	/* every track as an interest under a popularity curve so steep that
	 * the rarest can never be drawn: finishes, interests still distinct */
	small_params(&p, 15);
	p.tracks = 100;
	p.users = 3;
	p.interests_per_user = 100;
	p.popularity_zipf = 10;
	generate(&w, &p);
	check_invariants(&w, &p);
	botify_world_free(&w);
}
END_TEST

START_TEST(worldgen_save_load_round_trip)
{
	botify_worldgen_params p;
	small_params(&p, 21);
	botify_world a = {0}, b = {0};
	botify_err err = {0};
	char dir[4096], path[4096];
	generate(&a, &p);
	tu_fmt(dir, sizeof(dir), "%s/deep/er/world", tu_tmp);
	ck_assert_msg(botify_world_save(&a, dir, 0, &err) == 0, "%s", err.msg);
	ck_assert_msg(botify_world_load(&b, dir, &err) == 0, "%s", err.msg);
	assert_same_world(&a, &b);
	ck_assert_str_eq(b.source, dir);
	botify_world_free(&b);

	/* refuses to overwrite, names the file, and changes nothing */
	ck_assert_int_eq(botify_world_save(&a, dir, 0, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EEXIST);
	tu_assert_has(err.msg, tu_path(path, dir, "tracks.json"));
	/* unless forced; a different world then replaces it whole */
	botify_world c = {0};
	p.seed = 22;
	generate(&c, &p);
	ck_assert_msg(botify_world_save(&c, dir, 1, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(botify_world_load(&b, dir, &err), 0);
	assert_same_world(&c, &b);
	botify_world_free(&b);
	botify_world_free(&c);

	/* per-user overrides survive the trip */
	a.users[3].artist_discount_gamma = 0.5;
	a.users[3].interest_neighbours = 4;
	a.users[3].session_budget = 9;
	tu_fmt(dir, sizeof(dir), "%s/over", tu_tmp);
	ck_assert_msg(botify_world_save(&a, dir, 0, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(botify_world_load(&b, dir, &err), 0);
	assert_same_world(&a, &b);
	botify_world_free(&b);

	/* an unwritable place is an I/O error */
	ck_assert_int_eq(botify_world_save(&a, "/proc/botify-no/such", 0, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	botify_world_free(&a);
}
END_TEST

static void write_preset(const char *name, const char *text, char *path)
{
	tu_path(path, tu_tmp, name);
	tu_write(path, text, 0);
}

START_TEST(worldgen_preset_applies)
{
	botify_worldgen_params p, d;
	botify_err err = {0};
	char path[4096];
	botify_worldgen_defaults(&d);
	botify_worldgen_defaults(&p);
	write_preset("ok.json",
		     "{\"_comment\": \"tiny\", \"tracks\": 500, \"users\": 20, \"dim\": 4,"
		     " \"seed\": 99, \"track_scale\": 0.5, \"consume_bias_max\": 3}",
		     path);
	ck_assert_msg(botify_worldgen_load_preset(&p, path, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(p.tracks, 500);
	ck_assert_int_eq(p.users, 20);
	ck_assert_int_eq(p.dim, 4);
	ck_assert_int_eq(p.seed, 99);
	ck_assert(p.track_scale == 0.5);
	ck_assert(p.consume_bias_max == 3);
	/* untouched fields keep their values */
	ck_assert_int_eq(p.genres, d.genres);
	ck_assert(p.tracks_per_artist == d.tracks_per_artist);
	ck_assert(p.popularity_zipf == d.popularity_zipf);
	ck_assert_int_eq(botify_worldgen_check(&p, &err), 0);
	ck_assert_int_eq(botify_worldgen_check(&d, &err), 0);
}
END_TEST

static void expect_preset_fail(const char *text, enum botify_errcode code, const char *needle)
{
	botify_worldgen_params p;
	botify_err err = {0};
	char path[4096];
	botify_worldgen_defaults(&p);
	write_preset("bad.json", text, path);
	ck_assert_msg(botify_worldgen_load_preset(&p, path, &err) == -1, "'%s' loaded", text);
	ck_assert_msg(err.code == code, "code %d, want %d: %s", err.code, code, err.msg);
	tu_assert_has(err.msg, path);
	tu_assert_has(err.msg, needle);
}

START_TEST(worldgen_preset_errors)
{
	expect_preset_fail("{\"trakcs\": 5}", BOTIFY_EFORMAT, "unknown world parameter 'trakcs'");
	expect_preset_fail("{\"tracks\": 1.5}", BOTIFY_EFORMAT, "'tracks' must be an integer");
	expect_preset_fail("{\"tracks\": \"500\"}", BOTIFY_EFORMAT, "'tracks' must be an integer");
	expect_preset_fail("{\"genre_zipf\": true}", BOTIFY_EFORMAT, "'genre_zipf' must be a number");
	expect_preset_fail("{\"tracks\": 0}", BOTIFY_ERANGE, "tracks");
	expect_preset_fail("{\"tracks\": -3}", BOTIFY_ERANGE, "tracks");
	expect_preset_fail("{\"tracks\": 1e30}", BOTIFY_ERANGE, "tracks");
	expect_preset_fail("{\"seed\": -1}", BOTIFY_ERANGE, "seed");
	expect_preset_fail("{\"dim\": 5000}", BOTIFY_ERANGE, "dim");
	expect_preset_fail("{\"genre_zipf\": 11}", BOTIFY_ERANGE, "genre_zipf");
	expect_preset_fail("{\"track_scale\": -0.1}", BOTIFY_ERANGE, "track_scale");
	expect_preset_fail("{\"tracks\": 2, \"interests_per_user\": 3}", BOTIFY_ERANGE,
			   "interests per user");
	expect_preset_fail("[1, 2]", BOTIFY_EFORMAT, "expected a JSON object");
	expect_preset_fail("{\"tracks\": ", BOTIFY_EFORMAT, "malformed JSON");

	botify_worldgen_params p;
	botify_err err = {0};
	char path[4096];
	botify_worldgen_defaults(&p);
	ck_assert_int_eq(botify_worldgen_load_preset(&p, tu_path(path, tu_tmp, "none.json"), &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	tu_assert_has(err.msg, path);
}
END_TEST

START_TEST(worldgen_check_and_generate_refuse_bad_params)
{
	botify_worldgen_params p;
	botify_err err = {0};
	botify_world w = {0};
	small_params(&p, 1);
	p.users = 0;
	ck_assert_int_eq(botify_worldgen_check(&p, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERANGE);
	tu_assert_has(err.msg, "users");
	ck_assert_int_eq(botify_worldgen_generate(&w, &p, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERANGE);
	ck_assert_ptr_null(w.E);
	small_params(&p, 1);
	p.artist_size_decay = 0;
	ck_assert_int_eq(botify_worldgen_check(&p, &err), -1);
	tu_assert_has(err.msg, "artist_size_decay");
	small_params(&p, 1);
	p.tracks = 100000;
	p.users = 10000000;
	p.interests_per_user = 1000;
	ck_assert_int_eq(botify_worldgen_check(&p, &err), -1);
	tu_assert_has(err.msg, "interests in all");
	botify_world_free(&w);
}
END_TEST

/* datasets/default.json is the built-in world: applied over a parameter
 * set where every field is wrong, it must give exactly the compiled
 * defaults (so it names every field, with the default's value). */
START_TEST(worldgen_default_preset_equals_compiled_defaults)
{
	botify_worldgen_params want, got;
	memset(&want, 0, sizeof(want));
	botify_worldgen_defaults(&want);
	memset(&got, 0x5a, sizeof(got));
	botify_err err = {0};
	ck_assert_msg(botify_worldgen_load_preset(&got, "datasets/default.json", &err) == 0, "%s",
		      err.msg);
	ck_assert_int_eq(got.tracks, want.tracks);
	ck_assert_int_eq(got.users, want.users);
	ck_assert_int_eq(got.dim, want.dim);
	ck_assert_int_eq(got.seed, want.seed);
	ck_assert_int_eq(got.genres, want.genres);
	ck_assert_int_eq(got.interests_per_user, want.interests_per_user);
	/* every field, doubles bit for bit (the struct has no padding: all
	 * fields are 8 bytes) */
	ck_assert_msg(!memcmp(&got, &want, sizeof(got)), "datasets/default.json differs from botify_worldgen_defaults");
}
END_TEST

/* The presets in datasets/ (NAME.json), when there are any, parse and pass the checks. */
START_TEST(worldgen_dataset_presets_parse)
{
	/* the runner runs from the repository root, which has datasets/ */
	DIR *d = opendir("datasets");
	ck_assert_msg(d != NULL, "no datasets/ here: run the unit tests from the repository root");
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		char path[4096];
		botify_worldgen_params p;
		botify_err err = {0};
		botify_worldgen_defaults(&p);
		tu_fmt(path, sizeof(path), "datasets/%s", e->d_name);
		ck_assert_msg(botify_worldgen_load_preset(&p, path, &err) == 0, "%s", err.msg);
		n++;
	}
	closedir(d);
	if (!n)
		fprintf(stderr, "worldgen_dataset_presets_parse: no presets in datasets/\n");
}
END_TEST

/* The default world, once: the course's shapes. */
START_TEST(worldgen_default_world_shape)
{
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	ck_assert_int_eq(p.tracks, 50000);
	ck_assert_int_eq(p.dim, 100);
	ck_assert_int_eq(p.users, 10000);
	ck_assert_int_eq(p.seed, 1);
	botify_world w = {0}, two = {0};
	generate(&w, &p);
	ck_assert_int_eq(w.A, 11468); /* round(50000 / 4.36): ~11 000 as in the course */
	check_invariants(&w, &p);
	botify_err err = {0};
	ck_assert_msg(botify_worldgen_generate_threads(&two, &p, 2, &err) == 0, "%s", err.msg);
	assert_same_world(&w, &two);
	botify_world_free(&two);
	ck_assert_str_eq(w.source, "built-in world (seed 1)");
	botify_world_free(&w);
}
END_TEST

Suite *worldgen_suite(void)
{
	Suite *s = suite_create("worldgen");
	TCase *tc = tcase_create("generate");
	tu_scratch(tc);
	tcase_add_test(tc, worldgen_deterministic);
	tcase_add_test(tc, worldgen_threads_same_world);
	tcase_add_test(tc, worldgen_users_leave_catalog_alone);
	tcase_add_test(tc, worldgen_sizes_and_invariants);
	tcase_add_test(tc, worldgen_save_load_round_trip);
	tcase_add_test(tc, worldgen_preset_applies);
	tcase_add_test(tc, worldgen_preset_errors);
	tcase_add_test(tc, worldgen_check_and_generate_refuse_bad_params);
	tcase_add_test(tc, worldgen_dataset_presets_parse);
	tcase_add_test(tc, worldgen_default_preset_equals_compiled_defaults);
	tcase_add_test(tc, worldgen_default_world_shape);
	suite_add_tcase(s, tc);
	return s;
}
