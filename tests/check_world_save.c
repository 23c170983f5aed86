/* check_world_save.c - botify_world_save round trips through
 * botify_world_load bit for bit (embeddings, artists, names, every user
 * field, set or absent, top tracks); the files are refused without force
 * and nothing is written then; with force a world without users or top
 * tracks removes the stale files of the one it replaces. */
#include <check.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "world.h"
#include "worldgen.h"

static void generate(botify_world *w, int64_t seed)
{
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	p.tracks = 200;
	p.users = 40;
	p.dim = 6;
	p.genres = 4;
	p.seed = seed;
	botify_err err = {0};
	memset(w, 0, sizeof(*w));
	ck_assert_msg(botify_worldgen_generate(w, &p, &err) == 0, "%s", err.msg);
}

static int same_double(double a, double b)
{
	return (isnan(a) && isnan(b)) || !memcmp(&a, &b, sizeof(a));
}

static void assert_same_world(const botify_world *a, const botify_world *b)
{
	ck_assert_int_eq(a->N, b->N);
	ck_assert_int_eq(a->D, b->D);
	ck_assert_int_eq(a->U, b->U);
	ck_assert_int_eq(a->A, b->A);
	ck_assert_mem_eq(a->E, b->E, sizeof(float) * (size_t)a->N * (size_t)a->D);
	for (int32_t t = 0; t < a->N; t++) {
		ck_assert_str_eq(botify_world_title(a, t), botify_world_title(b, t));
		ck_assert_str_eq(botify_world_artist_name(a, a->artist[t]),
				 botify_world_artist_name(b, b->artist[t]));
	}
	ck_assert_mem_eq(a->artist, b->artist, sizeof(int32_t) * (size_t)a->N);
	for (int32_t u = 0; u < a->U; u++) {
		const botify_user *x = &a->users[u], *y = &b->users[u];
		ck_assert_int_eq(x->n_interests, y->n_interests);
		ck_assert_mem_eq(a->interests + x->first_interest, b->interests + y->first_interest,
				 sizeof(int32_t) * (size_t)x->n_interests);
		ck_assert_msg(same_double(x->consume_bias, y->consume_bias), "user %d bias %.17g %.17g",
			      u, x->consume_bias, y->consume_bias);
		ck_assert(same_double(x->consume_sharpness, y->consume_sharpness));
		ck_assert(same_double(x->artist_discount_gamma, y->artist_discount_gamma));
		ck_assert_int_eq(x->interest_neighbours, y->interest_neighbours);
		ck_assert_int_eq(x->session_budget, y->session_budget);
	}
	ck_assert_int_eq(a->n_top, b->n_top);
	if (a->n_top)
		ck_assert_mem_eq(a->top_tracks, b->top_tracks, sizeof(int32_t) * (size_t)a->n_top);
}

START_TEST(saved_world_loads_bit_for_bit)
{
	botify_world w, back = {0};
	generate(&w, 5);
	/* the optional per-user fields, set on some users: they must survive,
	 * and stay absent (NaN, 0) where not set */
	w.users[3].artist_discount_gamma = 0.1 + 0.2; /* not a short decimal */
	w.users[3].interest_neighbours = 7;
	w.users[4].session_budget = 12;
	w.users[5].consume_bias = nextafter(2.5, 3.0);
	botify_err err = {0};
	char dir[4096];
	tu_path(dir, tu_tmp, "a/b"); /* parents are made */
	ck_assert_msg(botify_world_save(&w, dir, 0, &err) == 0, "%s", err.msg);
	ck_assert_msg(botify_world_load(&back, dir, &err) == 0, "%s", err.msg);
	assert_same_world(&w, &back);
	ck_assert(isnan(back.users[2].artist_discount_gamma));
	botify_world_free(&back);
	botify_world_free(&w);
}
END_TEST

START_TEST(save_refuses_existing_files_and_force_replaces_them)
{
	botify_world w, v, back = {0};
	generate(&w, 5);
	generate(&v, 6);
	botify_err err = {0};
	char dir[4096], p[4096];
	tu_path(dir, tu_tmp, "w");
	ck_assert_int_eq(botify_world_save(&w, dir, 0, &err), 0);
	char *before = tu_slurp(tu_path(p, dir, "tracks.json"), NULL);
	ck_assert_int_eq(botify_world_save(&v, dir, 0, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EEXIST);
	tu_assert_has(err.msg, "exists");
	char *after = tu_slurp(p, NULL);
	ck_assert_str_eq(before, after); /* refused: nothing written */
	free(before);
	free(after);
	ck_assert_msg(botify_world_save(&v, dir, 1, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(botify_world_load(&back, dir, &err), 0);
	assert_same_world(&v, &back);
	botify_world_free(&back);
	/* a catalog without users or top tracks: --force must not leave the
	 * replaced world's users.json and top_tracks.json behind */
	v.U = 0;
	v.n_top = 0;
	ck_assert_msg(botify_world_save(&v, dir, 1, &err) == 0, "%s", err.msg);
	ck_assert_int_ne(access(tu_path(p, dir, "users.json"), F_OK), 0);
	ck_assert_int_ne(access(tu_path(p, dir, "top_tracks.json"), F_OK), 0);
	ck_assert_int_eq(access(tu_path(p, dir, "tracks.npy"), F_OK), 0);
	botify_world_free(&v);
	botify_world_free(&w);
}
END_TEST

Suite *world_save_suite(void)
{
	Suite *s = suite_create("world_save");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tu_scratch(tc);
	tcase_add_test(tc, saved_world_loads_bit_for_bit);
	tcase_add_test(tc, save_refuses_existing_files_and_force_replaces_them);
	suite_add_tcase(s, tc);
	return s;
}
