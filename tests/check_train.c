/* check_train.c - the training loop's threads, optimizer variants, split
 * files and divergence; the model's pieces of backward that threads run. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gentest.h"
#include "rng.h"
#include "testutil.h"
#include "train.h"
#include "twotower.h"

enum { NU = 8, NT = 40, NA = 4 };
static int32_t artist[NT];

/* pairs whose time depends on start and track sharing an artist (id mod 4);
 * users 0..NU-2 only, so user NU-1 never occurs in a batch */
static void make_pairs(botify_pairs *p, int64_t n)
{
	for (int t = 0; t < NT; t++)
		artist[t] = t % NA;
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 5, 6, 7, 8);
	gt_pairs(p, n, NU - 1, NT, &r);
}

static void opts(botify_train_opts *o, int threads, int negatives, int dense)
{
	botify_train_defaults(o);
	o->epochs = 3;
	o->batch = 600; /* with negatives: 1200 rows, several chunks */
	o->lr = 1e-2;
	o->threads = threads;
	o->negatives = negatives;
	o->embedding_adam = dense ? BOTIFY_ADAM_DENSE : BOTIFY_ADAM_LAZY;
}

static void train(botify_tt *m, const botify_pairs *p, const botify_train_opts *o,
		  botify_train_result *res)
{
	botify_err err = {0};
	botify_tt_config c = { BOTIFY_ARCH_TWO_TOWER, NU, NT, NA, 8, 16, 8, 1 };
	ck_assert_int_eq(botify_tt_init(m, &c, 3, &err), 0);
	ck_assert_msg(botify_train(m, p, artist, o, res, &err) == 0, "%s", err.msg);
}

START_TEST(the_model_is_the_same_for_any_thread_count)
{
	botify_pairs p;
	make_pairs(&p, 3000);
	for (int dense = 0; dense <= 1; dense++) {
		botify_tt m1 = {0}, m[3];
		botify_train_result r1, r;
		botify_train_opts o;
		opts(&o, 1, 1, dense);
		train(&m1, &p, &o, &r1);
		for (int T = 2; T <= 3; T++) {
			memset(&m[T - 1], 0, sizeof(m[0]));
			opts(&o, T, 1, dense);
			train(&m[T - 1], &p, &o, &r);
			ck_assert_msg(!memcmp(m1.mem, m[T - 1].mem, m1.n_params * sizeof(float)),
				      "%d threads, dense %d: other weights", T, dense);
			ck_assert(r.test_mse == r1.test_mse);
			ck_assert(r.history[2].train_mse == r1.history[2].train_mse);
			botify_train_result_free(&r);
			botify_tt_free(&m[T - 1]);
		}
		ck_assert(isfinite(r1.test_mse) && r1.history[2].train_mse < r1.history[0].train_mse);
		botify_train_result_free(&r1);
		botify_tt_free(&m1);
	}
	botify_pairs_free(&p);
}
END_TEST

/* Dense Adam decays every row every step (as torch.optim.Adam); lazy Adam
 * leaves the rows no batch holds as they were initialized. */
START_TEST(dense_adam_moves_rows_no_batch_holds)
{
	botify_pairs p;
	make_pairs(&p, 2000);
	float before[8];
	for (int dense = 0; dense <= 1; dense++) {
		botify_tt m = {0};
		botify_train_result r;
		botify_train_opts o;
		opts(&o, 2, 0, dense);
		botify_err err = {0};
		botify_tt_config c = { BOTIFY_ARCH_TWO_TOWER, NU, NT, NA, 8, 16, 8, 1 };
		ck_assert_int_eq(botify_tt_init(&m, &c, 3, &err), 0);
		memcpy(before, m.params.user_emb + (NU - 1) * 8, sizeof(before));
		ck_assert_msg(botify_train(&m, &p, artist, &o, &r, &err) == 0, "%s", err.msg);
		int same = !memcmp(before, m.params.user_emb + (NU - 1) * 8, sizeof(before));
		ck_assert_msg(same == !dense, "dense %d: the unseen user's row %s", dense,
			      same ? "did not move" : "moved");
		botify_train_result_free(&r);
		botify_tt_free(&m);
	}
	botify_pairs_free(&p);
}
END_TEST

START_TEST(a_written_split_trains_the_same_model)
{
	char dir[128], path[192];
	tu_mkdtemp(dir, sizeof(dir), "split");
	tu_fmt(path, sizeof(path), "%s/split.json", dir);
	botify_pairs p;
	make_pairs(&p, 1000);
	botify_tt m1 = {0}, m2 = {0};
	botify_train_result r1, r2;
	botify_train_opts o;
	opts(&o, 1, 0, 0);
	train(&m1, &p, &o, &r1);
	ck_assert_int_eq(r1.split.n[0] + r1.split.n[1] + r1.split.n[2], 1000);
	botify_err err = {0};
	ck_assert_msg(botify_split_write(&r1.split, path, 0, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(botify_split_write(&r1.split, path, 0, &err), -1); /* exists */
	ck_assert_int_eq(err.code, BOTIFY_EEXIST);
	botify_split s;
	ck_assert_msg(botify_split_read(&s, path, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(s.n_pairs, 1000);
	ck_assert_int_eq(s.n[1], r1.split.n[1]);
	ck_assert(!memcmp(s.idx, r1.split.idx, 1000 * sizeof(int64_t)));
	o.split = &s;
	o.seed = 99; /* the split comes from the file, the rest from the seed */
	botify_tt_config c = { BOTIFY_ARCH_TWO_TOWER, NU, NT, NA, 8, 16, 8, 1 };
	ck_assert_int_eq(botify_tt_init(&m2, &c, 3, &err), 0);
	o.seed = 1;
	ck_assert_msg(botify_train(&m2, &p, artist, &o, &r2, &err) == 0, "%s", err.msg);
	ck_assert(!memcmp(m1.mem, m2.mem, m1.n_params * sizeof(float)));
	botify_train_result_free(&r2);

	/* a split of other logs, or one that lists a pair twice, is refused */
	s.n_pairs = 999;
	botify_tt_free(&m2);
	ck_assert_int_eq(botify_tt_init(&m2, &c, 3, &err), 0);
	ck_assert_int_eq(botify_train(&m2, &p, artist, &o, &r2, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "other logs"));
	s.n_pairs = 1000;
	s.idx[1] = s.idx[0];
	ck_assert_int_eq(botify_train(&m2, &p, artist, &o, &r2, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "listed twice"));
	botify_split_free(&s);

	/* malformed files name the file */
	tu_write(path, "{\"pairs\": 10, \"train\": [1, 2], \"val\": [3], \"test\": [12]}", 0);
	ck_assert_int_eq(botify_split_read(&s, path, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "split.json"));
	ck_assert_ptr_nonnull(strstr(err.msg, "\"test\" item 0"));
	tu_write(path, "[]", 0);
	ck_assert_int_eq(botify_split_read(&s, path, &err), -1);
	botify_train_result_free(&r1);
	botify_tt_free(&m1);
	botify_tt_free(&m2);
	botify_pairs_free(&p);
	tu_rm_rf(dir);
}
END_TEST

START_TEST(a_non_finite_loss_is_an_error)
{
	botify_pairs p;
	make_pairs(&p, 1000);
	for (int64_t i = 0; i < p.n; i += 50)
		p.time[i] = INFINITY;
	botify_tt m = {0};
	botify_train_result r;
	botify_train_opts o;
	opts(&o, 2, 0, 0);
	botify_err err = {0};
	botify_tt_config c = { BOTIFY_ARCH_TWO_TOWER, NU, NT, NA, 8, 16, 8, 1 };
	ck_assert_int_eq(botify_tt_init(&m, &c, 3, &err), 0);
	ck_assert_int_eq(botify_train(&m, &p, artist, &o, &r, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERUNTIME);
	ck_assert_ptr_nonnull(strstr(err.msg, "non-finite"));
	ck_assert_ptr_null(r.history);
	botify_tt_free(&m);
	botify_pairs_free(&p);
}
END_TEST

/* The pieces threads run (backward_dense on row views, scatter by parts)
 * add up to the whole-batch backward. */
START_TEST(backward_in_pieces_is_the_whole_backward)
{
	enum { B = 37 };
	for (int arch = 0; arch < BOTIFY_TT_NARCH; arch++) {
		botify_err err = {0};
		botify_tt m = {0};
		botify_tt_config c = { arch, NU, NT, NA, 6, 10, arch ? 6 : 5, arch == 0 };
		for (int t = 0; t < NT; t++)
			artist[t] = t % NA;
		ck_assert_int_eq(botify_tt_init(&m, &c, 4, &err), 0);
		m.track_artist = artist;
		ck_assert_int_eq(botify_tt_alloc_training(&m, &err), 0);
		botify_tt_acts a, d;
		ck_assert_int_eq(botify_tt_acts_init(&a, &m, B, &err), 0);
		ck_assert_int_eq(botify_tt_acts_init(&d, &m, B, &err), 0);
		int32_t u[B], s[B], t[B], art[B];
		float y[B];
		botify_rng r;
		botify_rng_init(&r, BOTIFY_RNG_TEST, 1, 2, 3, 4);
		for (int i = 0; i < B; i++) {
			u[i] = (int32_t)botify_rng_below(&r, 3); /* repeats */
			s[i] = (int32_t)botify_rng_below(&r, NT);
			t[i] = (int32_t)botify_rng_below(&r, NT);
			art[i] = artist[t[i]];
			y[i] = (float)botify_rng_uniform(&r);
		}
		botify_tt_batch b = { B, u, s, t, art, y };
		botify_tt_forward(&m, &a, &b);
		botify_tt_acts_zero(&d, B);
		botify_tt_backward(&m, &d, &a, &b);
		float *whole = malloc(m.n_params * sizeof(float));
		memcpy(whole, m.grad_mem, m.n_params * sizeof(float));
		memset(m.grad_mem, 0, m.n_params * sizeof(float));

		size_t nd = m.n_params - m.off[BOTIFY_TT_NEMB];
		float *g2 = calloc(2 * nd + 1, sizeof(float));
		int cut[3] = { 0, 20, B };
		for (int k = 0; k < 2; k++) {
			botify_tt_acts av, dv;
			botify_tt_acts_rows(&m, &a, cut[k], cut[k + 1] - cut[k], &av);
			botify_tt_acts_rows(&m, &d, cut[k], cut[k + 1] - cut[k], &dv);
			botify_tt_batch bv = { cut[k + 1] - cut[k], u + cut[k], s + cut[k], t + cut[k],
					       art + cut[k], y + cut[k] };
			botify_tt_forward(&m, &av, &bv);
			botify_tt_params g;
			botify_tt_point_dense(&m, g2 + (size_t)k * nd, &g);
			botify_tt_backward_dense(&m, &g, &dv, &av, &bv, B);
		}
		for (int part = 0; part < 3; part++)
			botify_tt_scatter(&m, &d, &a, &b, part, 3);
		size_t base = m.off[BOTIFY_TT_NEMB];
		for (size_t j = 0; j < nd; j++)
			m.grad_mem[base + j] = g2[j] + g2[nd + j];
		for (size_t j = 0; j < m.n_params; j++)
			ck_assert_msg(fabsf(m.grad_mem[j] - whole[j]) <= 1e-5f * (1 + fabsf(whole[j])),
				      "%s: gradient %zu: %g vs %g", botify_tt_arch_name(arch), j,
				      m.grad_mem[j], whole[j]);
		free(whole);
		free(g2);
		botify_tt_acts_free(&a);
		botify_tt_acts_free(&d);
		botify_tt_free(&m);
	}
}
END_TEST

Suite *train_suite(void)
{
	Suite *s = suite_create("train");
	TCase *tc = tcase_create("train");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, the_model_is_the_same_for_any_thread_count);
	tcase_add_test(tc, dense_adam_moves_rows_no_batch_holds);
	tcase_add_test(tc, a_written_split_trains_the_same_model);
	tcase_add_test(tc, a_non_finite_loss_is_an_error);
	tcase_add_test(tc, backward_in_pieces_is_the_whole_backward);
	suite_add_tcase(s, tc);
	return s;
}
