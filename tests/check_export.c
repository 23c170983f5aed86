/* check_export.c - export formats read back by botify's own readers (the
 * contextual and indexed recommenders' track lists, the .npy reader), lists
 * checked against brute-force scoring; and the nn recommender on a tiny
 * model: ranking, skipping played tracks, fallback, unknown users. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export.h"
#include "npy.h"
#include "rec.h"
#include "tracklists.h"
#include "twotower.h"
#include "twotower_infer.h"
#include "twotower_io.h"
#include "worldgen.h"
#include "testutil.h"

static botify_world world;
static botify_tt model;
static char model_dir[160];

/* A small generated world and a random two-tower model of its catalog,
 * saved to model_dir; users 0..4 trained, 5..9 unknown. */
static void setup(int arch)
{
	botify_err err = {0};
	botify_worldgen_params p;
	tu_scratch_setup();
	botify_worldgen_defaults(&p);
	p.tracks = 60;
	p.users = 10;
	p.dim = 4;
	p.genres = 3;
	memset(&world, 0, sizeof(world));
	ck_assert_int_eq(botify_worldgen_generate(&world, &p, &err), 0);
	botify_tt_config c = { arch, world.U, world.N, world.A, 4, 6, arch ? 4 : 3, 0 };
	ck_assert_int_eq(botify_tt_init(&model, &c, 12, &err), 0);
	model.catalog_hash = botify_tt_catalog_hash(world.artist, world.N, world.A);
	for (int u = 0; u < 5; u++)
		model.user_pairs[u] = 3;
	botify_tt_update_user_mean(&model);
	for (int i = 0; i < world.U * c.OUT; i++)
		model.user_context[i] = (float)((i * 37) % 11) / 5.0f - 1.0f;
	tu_fmt(model_dir, sizeof(model_dir), "%s/model", tu_tmp);
	ck_assert_int_eq(botify_tt_save(&model, model_dir, 0, NULL, NULL, &err), 0);
}

static void teardown(void)
{
	botify_tt_free(&model);
	botify_world_free(&world);
	tu_scratch_teardown();
}

/* the k best of scores by brute force (score desc, id asc), excluding ex */
static void brute_topk(const float *scores, int32_t N, int32_t k, int32_t ex, int32_t *ids)
{
	char *used = calloc((size_t)N, 1);
	for (int32_t j = 0; j < k; j++) {
		int32_t best = -1;
		for (int32_t t = 0; t < N; t++)
			if (t != ex && !used[t] && (best < 0 || scores[t] > scores[best]))
				best = t;
		used[best] = 1;
		ids[j] = best;
	}
	free(used);
}

/* scores (N) of context c against items (N, O), in the simulator's order */
static void score_all(const float *items, const float *c, int32_t N, int O, float *scores)
{
	for (int32_t t = 0; t < N; t++) {
		float s = 0;
		for (int o = 0; o < O; o++)
			s += items[(size_t)t * O + o] * c[o];
		scores[t] = s;
	}
}

static void check_track_recs(int arch)
{
	setup(arch);
	botify_err err = {0};
	int32_t N = world.N, O = model.cfg.OUT, k = 7;
	float *items = malloc((size_t)N * O * sizeof(float)), *scores = malloc((size_t)N * sizeof(float));
	ck_assert_int_eq(botify_tt_item_vectors(&model, world.artist, items, &err), 0);
	char path[160], npy[160];
	tu_fmt(path, sizeof(path), "%s/tracks_with_recs.json", tu_tmp);
	tu_fmt(npy, sizeof(npy), "%s/vectors.npy", tu_tmp);
	ck_assert_int_eq(botify_export_track_recs(&model, &world, items, k, 2, path, 0, &err), 0);
	ck_assert_int_eq(botify_npy_write(npy, items, 2, (size_t)N, (size_t)O, 0, &err), 0);

	/* read back as contextual reads it */
	botify_tracklists l;
	ck_assert_msg(botify_tracklists_load(&l, path, "track", "recommendations", N - 1, N, &err) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(l.n_lists, N);
	botify_tt_acts a;
	ck_assert_int_eq(botify_tt_acts_init(&a, &model, 1, &err), 0);
	for (int32_t t = 0; t < N; t++) {
		int64_t n;
		const int32_t *list = botify_tracklists_get(&l, t, &n);
		ck_assert_int_eq(n, k);
		float c[8];
		int64_t mean_user = -1;
		botify_tt_context(&model, &a, 1, &mean_user, &t, c);
		score_all(items, c, N, O, scores);
		int32_t want[16];
		brute_topk(scores, N, k, t, want);
		for (int j = 0; j < k; j++) {
			ck_assert_int_ne(list[j], t);
			/* ties may order differently only between equal scores */
			ck_assert_msg(list[j] == want[j] || scores[list[j]] == scores[want[j]],
				      "track %d rank %d: %d vs %d", t, j, list[j], want[j]);
		}
	}
	/* the tracks.json fields are kept */
	FILE *fp = fopen(path, "r");
	char line[4096];
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(line, "\"artist\": \""));
	ck_assert_ptr_nonnull(strstr(line, "\"title\": \""));

	/* the contextual recommender accepts the file */
	botify_rec r;
	botify_rec_env env = { .world = &world, .max_steps = 1000 };
	char spec[256];
	snprintf(spec, sizeof(spec), "contextual:file=%s", path);
	ck_assert_msg(botify_rec_create(&r, spec, &env, &err) == 0, "%s", err.msg);
	botify_rec_free(&r);

	/* the vectors read back */
	botify_npy v = {0};
	ck_assert_int_eq(botify_npy_read(&v, npy, &err), 0);
	ck_assert_uint_eq(v.rows, (size_t)N);
	ck_assert_uint_eq(v.cols, (size_t)O);
	ck_assert(!memcmp(v.data, items, (size_t)N * O * sizeof(float)));
	botify_npy_free(&v);

	/* not replaced without force */
	ck_assert_int_eq(botify_export_track_recs(&model, &world, items, k, 2, path, 0, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EEXIST);
	botify_tt_acts_free(&a);
	botify_tracklists_free(&l);
	free(items);
	free(scores);
	teardown();
}

/* Names are written through the one JSON string escaper: quotes and
 * backslashes escaped, control bytes and DEL as \u00XX, UTF-8 as it is. */
START_TEST(track_recs_escape_the_names)
{
	setup(BOTIFY_ARCH_TWO_TOWER);
	botify_err err = {0};
	int32_t N = world.N, O = model.cfg.OUT;
	/* a name of the pool rewritten in place: the generated ones are longer */
	char *title = world.strings + world.title[0];
	const char odd[] = "a\"b\\c\n\x7f\xc3\xa9";
	ck_assert_uint_ge(strlen(title), strlen(odd));
	memcpy(title, odd, sizeof(odd));
	float *items = malloc((size_t)N * O * sizeof(float));
	ck_assert_int_eq(botify_tt_item_vectors(&model, world.artist, items, &err), 0);
	char path[160], line[4096];
	tu_fmt(path, sizeof(path), "%s/tracks_with_recs.json", tu_tmp);
	ck_assert_msg(botify_export_track_recs(&model, &world, items, 3, 1, path, 0, &err) == 0, "%s",
		      err.msg);
	FILE *fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	fclose(fp);
	tu_assert_has(line, "\"title\": \"a\\\"b\\\\c\\u000a\\u007f\xc3\xa9\", \"recommendations\": [");
	free(items);
	teardown();
}
END_TEST

START_TEST(track_recs_two_tower)
{
	check_track_recs(BOTIFY_ARCH_TWO_TOWER);
}
END_TEST

START_TEST(track_recs_dot_sum_and_hybrid)
{
	check_track_recs(BOTIFY_ARCH_DOT);
	check_track_recs(BOTIFY_ARCH_SUM);
	check_track_recs(BOTIFY_ARCH_HYBRID);
}
END_TEST

/* Weights so large that scores overflow float32 (finite, so the model
 * loads): the lists would be ties of infinities, so export refuses. */
START_TEST(overflowing_scores_are_refused)
{
	setup(BOTIFY_ARCH_DOT);
	botify_err err = {0};
	int32_t N = world.N, O = model.cfg.OUT;
	for (size_t i = 0; i < model.n_params; i++)
		model.mem[i] = 3e38f;
	float *items = malloc((size_t)N * O * sizeof(float));
	ck_assert_int_eq(botify_tt_item_vectors(&model, world.artist, items, &err), 0);
	char path[160];
	tu_fmt(path, sizeof(path), "%s/tracks_with_recs.json", tu_tmp);
	ck_assert_int_eq(botify_export_track_recs(&model, &world, items, 5, 1, path, 0, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERANGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "overflow"));
	ck_assert_int_eq(access(path, F_OK), -1);
	for (int i = 0; i < world.U * O; i++)
		model.user_context[i] = 3e38f;
	ck_assert_int_eq(botify_export_user_recs(&model, items, 5, 1, path, 0, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERANGE);
	/* a two-tower model whose towers overflow gives non-finite vectors */
	free(items);
	teardown();
	setup(BOTIFY_ARCH_TWO_TOWER);
	for (size_t i = 0; i < model.n_params; i++)
		model.mem[i] = 3e38f;
	items = malloc((size_t)world.N * model.cfg.OUT * sizeof(float));
	ck_assert_int_eq(botify_tt_item_vectors(&model, world.artist, items, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "non-finite"));
	free(items);
	teardown();
}
END_TEST

START_TEST(user_recs_read_back_by_indexed)
{
	setup(BOTIFY_ARCH_TWO_TOWER);
	botify_err err = {0};
	int32_t N = world.N, O = model.cfg.OUT, k = 5;
	float *items = malloc((size_t)N * O * sizeof(float)), scores[64];
	ck_assert_int_eq(botify_tt_item_vectors(&model, world.artist, items, &err), 0);
	char path[160];
	tu_fmt(path, sizeof(path), "%s/recommendations.json", tu_tmp);
	ck_assert_int_eq(botify_export_user_recs(&model, items, k, 1, path, 0, &err), 0);
	botify_tracklists l;
	ck_assert_int_eq(botify_tracklists_load(&l, path, "user", "tracks", world.U - 1, N, &err), 0);
	ck_assert_int_eq(l.n_lists, world.U);
	for (int32_t u = 0; u < world.U; u++) {
		int64_t n;
		const int32_t *list = botify_tracklists_get(&l, u, &n);
		ck_assert_int_eq(n, k);
		score_all(items, model.user_context + (size_t)u * O, N, O, scores);
		int32_t want[8];
		brute_topk(scores, N, k, -1, want);
		for (int j = 0; j < k; j++)
			ck_assert(list[j] == want[j] || scores[list[j]] == scores[want[j]]);
	}
	botify_rec r;
	botify_rec_env env = { .world = &world, .max_steps = 1000 };
	char spec[256];
	snprintf(spec, sizeof(spec), "indexed:file=%s", path);
	ck_assert_msg(botify_rec_create(&r, spec, &env, &err) == 0, "%s", err.msg);
	botify_rec_free(&r);
	botify_tracklists_free(&l);
	free(items);
	teardown();
}
END_TEST

/* the nn recommender's expected list for (user, start) */
static void nn_expected(int64_t user, int32_t start, int32_t k, int32_t *ids)
{
	botify_err err = {0};
	int32_t N = world.N, O = model.cfg.OUT;
	float *items = malloc((size_t)N * O * sizeof(float)), scores[64], c[8];
	botify_tt_acts a;
	ck_assert_int_eq(botify_tt_item_vectors(&model, world.artist, items, &err), 0);
	ck_assert_int_eq(botify_tt_acts_init(&a, &model, 1, &err), 0);
	botify_tt_context(&model, &a, 1, &user, &start, c);
	score_all(items, c, N, O, scores);
	brute_topk(scores, N, k, start, ids);
	botify_tt_acts_free(&a);
	free(items);
}

struct session {
	void *worker;
	void *state;
	botify_rng rng;
	botify_rec_ctx ctx;
};

static void session_begin(const botify_rec *r, struct session *s)
{
	botify_err err = {0};
	ck_assert_int_eq(botify_rec_worker_init(r, &s->worker, &err), 0);
	s->state = calloc(1, r->state_size);
	botify_rng_init(&s->rng, BOTIFY_RNG_TEST, 1, 2, 3, 4);
	s->ctx = (botify_rec_ctx){ s->worker, s->state, &s->rng };
}

static void session_free(const botify_rec *r, struct session *s)
{
	botify_rec_worker_free(r, s->worker);
	free(s->state);
}

static int32_t next(const botify_rec *r, struct session *s, int64_t user, int32_t track)
{
	botify_err err = {0};
	botify_rec_call c = { user, track, 0.5 };
	int32_t out = -1;
	ck_assert_msg(botify_rec_next(r, &s->ctx, &c, &out, &err) == 0, "%s", err.msg);
	return out;
}

START_TEST(nn_serves_the_ranked_list_skipping_played_tracks)
{
	setup(BOTIFY_ARCH_TWO_TOWER);
	botify_err err = {0};
	botify_rec r;
	botify_rec_env env = { .world = &world, .max_steps = 1000 };
	char spec[256];
	snprintf(spec, sizeof(spec), "nn:model=%s,k=4", model_dir);
	ck_assert_msg(botify_rec_create(&r, spec, &env, &err) == 0, "%s", err.msg);
	int32_t want[4];
	nn_expected(2, 17, 4, want);
	struct session s;
	session_begin(&r, &s);
	ck_assert_int_eq(next(&r, &s, 2, 17), want[0]);
	/* the user played list[2] instead (an external choice): it is skipped */
	ck_assert_int_eq(next(&r, &s, 2, want[2]), want[1]);
	ck_assert_int_eq(next(&r, &s, 2, want[1]), want[3]);
	/* the list ran out: a random track, as botify_rng_below draws it */
	botify_rng copy = s.rng;
	int32_t fallback = (int32_t)botify_rng_below(&copy, (uint64_t)world.N);
	ck_assert_int_eq(next(&r, &s, 2, want[3]), fallback);
	/* the last call clears the session; the next session ranks anew */
	botify_rec_call last = { 2, fallback, 0.0 };
	ck_assert_int_eq(botify_rec_last(&r, &s.ctx, &last, &err), 0);
	for (size_t i = 0; i < r.state_size; i++)
		ck_assert_int_eq(((unsigned char *)s.state)[i], 0);
	int32_t want2[4];
	nn_expected(3, 40, 4, want2);
	ck_assert_int_eq(next(&r, &s, 3, 40), want2[0]);
	session_free(&r, &s);
	botify_rec_free(&r);
	teardown();
}
END_TEST

START_TEST(nn_unknown_users_use_the_mean_user)
{
	setup(BOTIFY_ARCH_TWO_TOWER);
	botify_err err = {0};
	botify_rec r;
	botify_rec_env env = { .world = &world, .max_steps = 1000 };
	char spec[256];
	snprintf(spec, sizeof(spec), "nn:model=%s,k=10", model_dir);
	ck_assert_int_eq(botify_rec_create(&r, spec, &env, &err), 0);
	/* user 7 has no training pairs, 1000 is not in the model at all: both
	 * rank like the mean user; user 1 (trained) has a list of its own */
	struct session s7, s1000, s1;
	session_begin(&r, &s7);
	session_begin(&r, &s1000);
	session_begin(&r, &s1);
	int32_t mean_list[10], own[10];
	nn_expected(-1, 5, 10, mean_list);
	nn_expected(1, 5, 10, own);
	ck_assert_ptr_eq(botify_tt_user_vector(&model, 7), model.user_mean);
	for (int j = 0; j < 10; j++) {
		int32_t played = j ? mean_list[j - 1] : 5;
		ck_assert_int_eq(next(&r, &s7, 7, played), mean_list[j]);
		ck_assert_int_eq(next(&r, &s1000, 1000, played), mean_list[j]);
		ck_assert_int_eq(next(&r, &s1, 1, j ? own[j - 1] : 5), own[j]);
	}
	session_free(&r, &s7);
	session_free(&r, &s1000);
	session_free(&r, &s1);
	botify_rec_free(&r);
	teardown();
}
END_TEST

START_TEST(nn_errors)
{
	setup(BOTIFY_ARCH_SUM);
	botify_err err = {0};
	botify_rec r;
	botify_rec_env env = { .world = &world, .max_steps = 1000 };
	ck_assert_int_eq(botify_rec_create(&r, "nn", &env, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "model=DIR"));
	ck_assert_int_eq(botify_rec_create(&r, "nn:model=/nonexistent/m", &env, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/m"));
	char spec[256];
	snprintf(spec, sizeof(spec), "nn:model=%s,k=60", model_dir);
	ck_assert_int_eq(botify_rec_create(&r, spec, &env, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "k=60"));
	/* another catalog */
	world.artist[0] = (world.artist[0] + 1) % world.A;
	snprintf(spec, sizeof(spec), "nn:model=%s", model_dir);
	ck_assert_int_eq(botify_rec_create(&r, spec, &env, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "another catalog"));
	teardown();
}
END_TEST

Suite *export_suite(void)
{
	Suite *s = suite_create("export");
	TCase *tc = tcase_create("export");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, track_recs_two_tower);
	tcase_add_test(tc, track_recs_escape_the_names);
	tcase_add_test(tc, track_recs_dot_sum_and_hybrid);
	tcase_add_test(tc, user_recs_read_back_by_indexed);
	tcase_add_test(tc, overflowing_scores_are_refused);
	tcase_add_test(tc, nn_serves_the_ranked_list_skipping_played_tracks);
	tcase_add_test(tc, nn_unknown_users_use_the_mean_user);
	tcase_add_test(tc, nn_errors);
	suite_add_tcase(s, tc);
	return s;
}
