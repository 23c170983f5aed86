/* check_twotower.c - the whole model: finite-difference gradients of every
 * parameter for each arch, a loss that falls on a tiny problem, save/load
 * round trips and their errors, determinism of training. */
#define _GNU_SOURCE /* O_TMPFILE */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <sys/wait.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gentest.h"
#include "npy.h"
#include "rng.h"
#include "pairs.h"
#include "train.h"
#include "twotower.h"
#include "twotower_io.h"
#include "testutil.h"

static botify_tt_config tiny_config(int arch)
{
	botify_tt_config c = { arch, 5, 7, 3, 3, 4, 3, 0 };
	if (arch == BOTIFY_ARCH_TWO_TOWER)
		c.OUT = 2;
	return c;
}

/* a fixed batch with repeated ids */
enum { NB = 6 };
static const int32_t b_user[NB] = { 0, 1, 1, 4, 2, 0 };
static const int32_t b_start[NB] = { 3, 3, 0, 6, 2, 5 };
static const int32_t b_track[NB] = { 1, 2, 2, 0, 6, 1 };
static const int32_t b_artist[NB] = { 0, 1, 1, 2, 0, 0 };
static const float b_y[NB] = { 0.1f, 0.9f, 0.5f, 0.0f, 1.0f, 0.3f };

static double batch_loss(const botify_tt *m, botify_tt_acts *a, const botify_tt_batch *b)
{
	botify_tt_forward(m, a, b);
	double s = 0;
	for (int i = 0; i < b->B; i++)
		s += ((double)a->pred[i] - b->y[i]) * ((double)a->pred[i] - b->y[i]);
	return s / b->B;
}

/* artists of tracks 0..6, consistent with b_track/b_artist */
static const int32_t b_track_artist[7] = { 2, 0, 1, 1, 2, 0, 0 };

static void gradcheck(int arch, int context_artist)
{
	botify_tt m = {0};
	botify_tt_acts a = {0}, d = {0};
	botify_err err = {0};
	botify_tt_config c = tiny_config(arch);
	c.context_artist = context_artist;
	ck_assert_int_eq(botify_tt_init(&m, &c, 3, &err), 0);
	m.track_artist = b_track_artist;
	ck_assert_int_eq(botify_tt_alloc_training(&m, &err), 0);
	ck_assert_int_eq(botify_tt_acts_init(&a, &m, NB, &err), 0);
	ck_assert_int_eq(botify_tt_acts_init(&d, &m, NB, &err), 0);
	if (arch != BOTIFY_ARCH_TWO_TOWER) /* bigger values: a gradient that is not ~0 */
		for (size_t i = 0; i < m.n_params; i++)
			m.mem[i] *= 5;
	botify_tt_batch b = { NB, b_user, b_start, b_track, b_artist, b_y };
	botify_tt_forward(&m, &a, &b);
	botify_tt_acts_zero(&d, NB);
	botify_tt_backward(&m, &d, &a, &b);
	const double eps = 1e-3;
	int checked = 0;
	for (int t = 0; t < BOTIFY_TT_NTENSORS; t++) {
		size_t n = m.rows[t] * m.cols[t];
		for (size_t i = 0; i < n; i++) {
			float *p = m.mem + m.off[t] + i, keep = *p;
			*p = keep + (float)eps;
			double lp = batch_loss(&m, &a, &b);
			*p = keep - (float)eps;
			double lm = batch_loss(&m, &a, &b);
			*p = keep;
			double num = (lp - lm) / (2 * eps), ana = m.grad_mem[m.off[t] + i];
			ck_assert_msg(fabs(num - ana) <= 1e-3 + 2e-2 * fabs(num),
				      "%s %s[%zu]: analytic %g, numeric %g", botify_tt_arch_name(arch),
				      botify_tt_tensor_name(t), i, ana, num);
			checked++;
		}
	}
	ck_assert_int_gt(checked, 30);
	/* embedding rows outside the batch got no gradient */
	if (m.params.artist_emb || arch == BOTIFY_ARCH_DOT)
		for (int e = 0; e < c.E; e++)
			ck_assert_float_eq(m.grads.track_emb[3 * c.E + e], 0.0f);
	botify_tt_acts_free(&a);
	botify_tt_acts_free(&d);
	botify_tt_free(&m);
}

START_TEST(two_tower_gradients_match_finite_differences)
{
	gradcheck(BOTIFY_ARCH_TWO_TOWER, 0);
}
END_TEST

START_TEST(two_tower_context_artist_gradients_match_finite_differences)
{
	gradcheck(BOTIFY_ARCH_TWO_TOWER, 1);
}
END_TEST

START_TEST(dot_gradients_match_finite_differences)
{
	gradcheck(BOTIFY_ARCH_DOT, 0);
}
END_TEST

START_TEST(sum_gradients_match_finite_differences)
{
	gradcheck(BOTIFY_ARCH_SUM, 0);
}
END_TEST

START_TEST(hybrid_gradients_match_finite_differences)
{
	gradcheck(BOTIFY_ARCH_HYBRID, 0);
}
END_TEST

/* hybrid: the context vector start + w * user ranks tracks exactly as the
 * prediction does: its inner product with track_emb is the logit minus b */
START_TEST(hybrid_context_is_the_logit_without_bias)
{
	botify_tt m = {0};
	botify_tt_acts a = {0};
	botify_err err = {0};
	botify_tt_config c = tiny_config(BOTIFY_ARCH_HYBRID);
	ck_assert_int_eq(botify_tt_init(&m, &c, 3, &err), 0);
	ck_assert_ptr_nonnull(m.params.user_lin_w);
	ck_assert_ptr_nonnull(m.params.user_lin_b);
	ck_assert_ptr_null(m.params.ctx_w1);
	ck_assert_uint_eq(m.n_params, (size_t)(5 * 3 + 2 * 7 * 3 + 3 + 1));
	for (size_t i = 0; i < m.n_params; i++)
		m.mem[i] *= 5;
	for (int u = 0; u < c.U; u++)
		m.user_pairs[u] = 1;
	botify_tt_update_user_mean(&m);
	ck_assert_int_eq(botify_tt_acts_init(&a, &m, NB, &err), 0);
	botify_tt_batch b = { NB, b_user, b_start, b_track, b_artist, b_y };
	botify_tt_forward(&m, &a, &b);
	float pred[NB], ctx[NB * 3], items[NB * 3];
	memcpy(pred, a.pred, sizeof(pred));
	int64_t users[NB];
	for (int i = 0; i < NB; i++)
		users[i] = b_user[i];
	botify_tt_context(&m, &a, NB, users, b_start, ctx);
	botify_tt_items(&m, &a, NB, b_track, b_artist, items);
	for (int i = 0; i < NB; i++) {
		double z = m.params.user_lin_b[0];
		for (int e = 0; e < 3; e++)
			z += (double)ctx[i * 3 + e] * items[i * 3 + e];
		ck_assert_double_eq_tol(pred[i], 1.0 / (1.0 + exp(-z)), 1e-5);
		ck_assert(pred[i] > 0 && pred[i] < 1);
	}
	botify_tt_acts_free(&a);
	botify_tt_free(&m);
}
END_TEST

START_TEST(arch_uses_only_its_tensors)
{
	botify_tt m = {0};
	botify_err err = {0};
	botify_tt_config c = tiny_config(BOTIFY_ARCH_DOT);
	ck_assert_int_eq(botify_tt_init(&m, &c, 1, &err), 0);
	ck_assert_ptr_null(m.params.user_emb);
	ck_assert_ptr_null(m.params.artist_emb);
	ck_assert_ptr_null(m.params.ctx_w1);
	ck_assert_ptr_nonnull(m.params.start_emb);
	ck_assert_uint_eq(m.n_params, 2 * 7 * 3);
	botify_tt_free(&m);
	c.OUT = 5;
	ck_assert_int_eq(botify_tt_init(&m, &c, 1, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "out == emb"));
}
END_TEST

/* Synthetic pairs: time is high when track and start share a "genre"
 * (id mod 4), higher still for even users. */
static void synthetic_pairs(botify_pairs *p, int64_t n, int32_t U, int32_t N)
{
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 77, 1, 2, 3);
	gt_pairs(p, n, U, N, &r);
}

static void train_tiny(botify_tt *m, int arch, uint64_t seed, int64_t epochs,
		       botify_train_result *res, const botify_pairs *p, const int32_t *artist)
{
	botify_err err = {0};
	botify_tt_config c = { arch, 8, 40, 4, 8, 16, 8, 0 };
	botify_train_opts o;
	botify_train_defaults(&o);
	o.seed = seed;
	o.epochs = epochs;
	o.batch = 64;
	o.lr = 1e-2;
	o.patience = 1000;
	ck_assert_int_eq(botify_tt_init(m, &c, seed, &err), 0);
	ck_assert_msg(botify_train(m, p, artist, &o, res, &err) == 0, "%s", err.msg);
}

static int32_t tiny_artist[40];

static void setup_artist(void)
{
	for (int t = 0; t < 40; t++)
		tiny_artist[t] = t % 4;
}

START_TEST(loss_falls_on_a_tiny_problem)
{
	botify_pairs p;
	synthetic_pairs(&p, 4000, 8, 40);
	setup_artist();
	for (int arch = 0; arch < BOTIFY_TT_NARCH; arch++) {
		botify_tt m = {0};
		botify_train_result res;
		train_tiny(&m, arch, 5, 30, &res, &p, tiny_artist);
		ck_assert_int_eq(res.epochs, 30);
		ck_assert_msg(res.history[29].train_mse < 0.5 * res.history[0].train_mse,
			      "%s: train MSE %g -> %g", botify_tt_arch_name(arch),
			      res.history[0].train_mse, res.history[29].train_mse);
		ck_assert_msg(res.test_mse < 0.5 * res.avg_mse, "%s: test %g vs avg %g",
			      botify_tt_arch_name(arch), res.test_mse, res.avg_mse);
		ck_assert(res.rdm_mse > res.avg_mse);
		ck_assert_int_eq(res.n_train + res.n_val + res.n_test, 4000);
		ck_assert_int_eq(res.n_val, 400);
		/* user bookkeeping */
		double pairs = 0;
		for (int u = 0; u < 8; u++)
			pairs += m.user_pairs[u];
		ck_assert_double_eq(pairs, (double)res.n_train);
		botify_train_result_free(&res);
		botify_tt_free(&m);
	}
	botify_pairs_free(&p);
}
END_TEST

START_TEST(early_stopping_keeps_the_best_epoch)
{
	botify_pairs p;
	synthetic_pairs(&p, 400, 8, 40);
	setup_artist();
	botify_err err = {0};
	botify_tt m = {0};
	botify_tt_config c = { BOTIFY_ARCH_TWO_TOWER, 8, 40, 4, 8, 16, 8, 0 };
	botify_train_opts o;
	botify_train_defaults(&o);
	o.batch = 16;
	o.lr = 0.05; /* noisy: the validation MSE will stall */
	o.patience = 2;
	o.epochs = 200;
	botify_train_result res;
	ck_assert_int_eq(botify_tt_init(&m, &c, 1, &err), 0);
	ck_assert_int_eq(botify_train(&m, &p, tiny_artist, &o, &res, &err), 0);
	ck_assert_int_eq(res.stop_reason, BOTIFY_STOP_EARLY);
	ck_assert_int_eq(res.epochs, res.best_epoch + 2);
	ck_assert_double_eq(res.best_val_mse, res.history[res.best_epoch - 1].val_mse);
	for (int64_t e = 0; e < res.epochs; e++)
		ck_assert(res.history[e].val_mse >= res.best_val_mse);
	botify_train_result_free(&res);
	botify_tt_free(&m);
	botify_pairs_free(&p);
}
END_TEST

START_TEST(interrupt_keeps_the_best_so_far)
{
	botify_pairs p;
	synthetic_pairs(&p, 400, 8, 40);
	setup_artist();
	botify_err err = {0};
	botify_tt m = {0};
	botify_tt_config c = { BOTIFY_ARCH_DOT, 8, 40, 4, 8, 8, 8, 0 };
	botify_train_opts o;
	botify_train_defaults(&o);
	volatile sig_atomic_t stop = 1;
	o.stop = &stop;
	botify_train_result res;
	ck_assert_int_eq(botify_tt_init(&m, &c, 1, &err), 0);
	ck_assert_int_eq(botify_train(&m, &p, tiny_artist, &o, &res, &err), 0);
	ck_assert_int_eq(res.stop_reason, BOTIFY_STOP_INTERRUPTED);
	/* the partial epoch is in the history, so best_epoch names one of its rows */
	ck_assert_int_eq(res.epochs, 1);
	ck_assert_int_eq(res.best_epoch, 1);
	ck_assert(res.best_epoch <= res.epochs);
	ck_assert(res.history[0].partial);
	ck_assert(isfinite(res.test_mse));
	botify_train_result_free(&res);
	botify_tt_free(&m);
	botify_pairs_free(&p);
}
END_TEST

START_TEST(training_is_deterministic)
{
	botify_pairs p;
	synthetic_pairs(&p, 2000, 8, 40);
	setup_artist();
	botify_tt m1 = {0}, m2 = {0}, m3 = {0};
	botify_train_result r1, r2, r3;
	train_tiny(&m1, BOTIFY_ARCH_TWO_TOWER, 9, 3, &r1, &p, tiny_artist);
	train_tiny(&m2, BOTIFY_ARCH_TWO_TOWER, 9, 3, &r2, &p, tiny_artist);
	train_tiny(&m3, BOTIFY_ARCH_TWO_TOWER, 10, 3, &r3, &p, tiny_artist);
	ck_assert_uint_eq(m1.n_params, m2.n_params);
	ck_assert(!memcmp(m1.mem, m2.mem, m1.n_params * sizeof(float)));
	ck_assert(!memcmp(m1.user_context, m2.user_context, 8 * 8 * sizeof(float)));
	ck_assert(r1.test_mse == r2.test_mse);
	ck_assert(memcmp(m1.mem, m3.mem, m1.n_params * sizeof(float)) != 0);
	botify_train_result_free(&r1);
	botify_train_result_free(&r2);
	botify_train_result_free(&r3);
	botify_tt_free(&m1);
	botify_tt_free(&m2);
	botify_tt_free(&m3);
	botify_pairs_free(&p);
}
END_TEST

/* On a problem where a pair's time depends on whether the start and the
 * track share an artist, and the logs only show same-artist pairs (as
 * sticky_artist's do), negatives are what teach the model that the other
 * artists score low; the objective they add is reported apart. */
START_TEST(negatives_teach_what_the_logs_never_show)
{
	enum { NP = 3000, NU = 8, NT = 40 };
	botify_pairs p;
	synthetic_pairs(&p, NP, NU, NT);
	setup_artist();
	for (int64_t i = 0; i < p.n; i++) { /* same-artist candidates only */
		p.track[i] = (int32_t)((p.start[i] + 4 * (i % 7 + 1)) % NT);
		p.time[i] = 0.8f;
	}
	double score[2];
	for (int neg = 0; neg <= 1; neg++) {
		botify_err err = {0};
		botify_tt m = {0};
		botify_tt_config c = { BOTIFY_ARCH_TWO_TOWER, NU, NT, 4, 8, 16, 8, 1 };
		botify_train_opts o;
		botify_train_defaults(&o);
		o.epochs = 20;
		o.batch = 64;
		o.lr = 1e-2;
		o.negatives = neg;
		botify_train_result res;
		ck_assert_int_eq(botify_tt_init(&m, &c, 7, &err), 0);
		ck_assert_msg(botify_train(&m, &p, tiny_artist, &o, &res, &err) == 0, "%s", err.msg);
		if (neg) {
			ck_assert(res.test_neg_mse > 0);
			ck_assert(res.history[0].val_objective != res.history[0].val_mse);
		} else {
			ck_assert(res.test_neg_mse == 0);
			ck_assert(res.history[0].val_objective == res.history[0].val_mse);
		}
		/* mean predicted score of other-artist pairs, for start 0 */
		botify_tt_acts a = {0};
		ck_assert_int_eq(botify_tt_acts_init(&a, &m, NT, &err), 0);
		int64_t users[NT];
		int32_t starts[NT], tracks[NT], artists[NT];
		for (int t = 0; t < NT; t++) {
			users[t] = 0;
			starts[t] = 0;
			tracks[t] = t;
			artists[t] = tiny_artist[t];
		}
		float ctx[8], items[NT * 8];
		botify_tt_context(&m, &a, 1, users, starts, ctx);
		botify_tt_items(&m, &a, NT, tracks, artists, items);
		double other = 0;
		for (int t = 0; t < NT; t++) {
			double d = 0;
			for (int k = 0; k < 8; k++)
				d += ctx[k] * items[t * 8 + k];
			if (tiny_artist[t] != tiny_artist[0])
				other += d / (NT * 3 / 4);
		}
		score[neg] = other;
		botify_tt_acts_free(&a);
		botify_train_result_free(&res);
		botify_tt_free(&m);
	}
	ck_assert_msg(score[1] < 0.3 && score[1] < score[0] - 0.2,
		      "other-artist score %g with negatives, %g without", score[1], score[0]);
	botify_pairs_free(&p);
}
END_TEST

START_TEST(context_artist_is_saved_and_loaded)
{
	char dir[128];
	tu_fmt(dir, sizeof(dir), "%s/ca", tu_tmp);
	botify_tt m = {0}, l = {0};
	botify_err err = {0};
	botify_tt_config c = tiny_config(BOTIFY_ARCH_TWO_TOWER);
	c.context_artist = 1;
	ck_assert_int_eq(botify_tt_init(&m, &c, 4, &err), 0);
	ck_assert_uint_eq(m.cols[4], (size_t)(3 * c.E)); /* ctx_w1 reads user, start, artist */
	ck_assert_msg(botify_tt_save(&m, dir, 0, NULL, NULL, &err) == 0, "%s", err.msg);
	ck_assert_msg(botify_tt_load(&l, dir, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(l.cfg.context_artist, 1);
	ck_assert(!memcmp(l.mem, m.mem, m.n_params * sizeof(float)));
	/* dot and sum have no towers to take it */
	c = tiny_config(BOTIFY_ARCH_SUM);
	c.context_artist = 1;
	ck_assert_int_eq(botify_tt_config_check(&c, &err), -1);
	botify_tt_free(&m);
	botify_tt_free(&l);
}
END_TEST

static void saved_model(botify_tt *m, int arch, const char *dir)
{
	botify_err err = {0};
	botify_tt_config c = tiny_config(arch);
	ck_assert_int_eq(botify_tt_init(m, &c, 4, &err), 0);
	for (int u = 0; u < c.U; u++)
		m->user_pairs[u] = (float)(u % 2);
	for (int i = 0; i < c.U * c.OUT; i++)
		m->user_context[i] = (float)i / 7.0f;
	m->catalog_hash = 0x0123456789abcdefULL;
	botify_tt_update_user_mean(m);
	ck_assert_msg(botify_tt_save(m, dir, 0, NULL, NULL, &err) == 0, "%s", err.msg);
}

START_TEST(save_load_round_trip)
{
	for (int arch = 0; arch < BOTIFY_TT_NARCH; arch++) {
		char dir[128];
		tu_fmt(dir, sizeof(dir), "%s/m%d", tu_tmp, arch);
		botify_tt m = {0}, l = {0};
		botify_err err = {0};
		saved_model(&m, arch, dir);
		ck_assert_msg(botify_tt_load(&l, dir, &err) == 0, "%s", err.msg);
		ck_assert_int_eq(l.cfg.arch, arch);
		ck_assert_int_eq(l.cfg.U, m.cfg.U);
		ck_assert_int_eq(l.cfg.OUT, m.cfg.OUT);
		ck_assert_uint_eq(l.n_params, m.n_params);
		ck_assert(!memcmp(l.mem, m.mem, m.n_params * sizeof(float)));
		ck_assert(!memcmp(l.user_pairs, m.user_pairs, (size_t)m.cfg.U * sizeof(float)));
		ck_assert(!memcmp(l.user_context, m.user_context, (size_t)m.cfg.U * m.cfg.OUT * sizeof(float)));
		ck_assert(!memcmp(l.user_mean, m.user_mean, (size_t)m.cfg.E * sizeof(float)));
		ck_assert(l.catalog_hash == m.catalog_hash);
		/* tensors an arch does not use are not written */
		char p[256];
		snprintf(p, sizeof(p), "%s/artist_emb.npy", dir);
		ck_assert_int_eq(access(p, F_OK) == 0, arch == BOTIFY_ARCH_TWO_TOWER);
		/* numpy-readable shapes: a bias is 1-d */
		if (arch == BOTIFY_ARCH_TWO_TOWER) {
			botify_npy a = {0};
			snprintf(p, sizeof(p), "%s/ctx_b1.npy", dir);
			ck_assert_int_eq(botify_npy_read(&a, p, &err), 0);
			ck_assert_uint_eq(a.ndim, 1);
			ck_assert_uint_eq(a.rows, (size_t)m.cfg.H);
			botify_npy_free(&a);
		}
		botify_tt_free(&m);
		botify_tt_free(&l);
	}
}
END_TEST

START_TEST(save_refuses_an_existing_dir_unless_forced)
{
	char dir[128];
	tu_fmt(dir, sizeof(dir), "%s/m", tu_tmp);
	botify_tt m = {0}, l = {0};
	botify_err err = {0};
	saved_model(&m, BOTIFY_ARCH_SUM, dir);
	ck_assert_int_eq(botify_tt_save(&m, dir, 0, NULL, NULL, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EEXIST);
	ck_assert_ptr_nonnull(strstr(err.msg, dir));
	/* forced: a file botify did not write there makes it refuse */
	char stray[160];
	snprintf(stray, sizeof(stray), "%s/stray.txt", dir);
	FILE *fp = fopen(stray, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	m.params.start_emb[0] = 42.0f;
	ck_assert_int_eq(botify_tt_save(&m, dir, 1, NULL, NULL, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EEXIST);
	ck_assert_ptr_nonnull(strstr(err.msg, "stray.txt"));
	ck_assert_int_eq(access(stray, F_OK), 0);
	/* an export output is botify's: replaced with the model as a whole */
	unlink(stray);
	snprintf(stray, sizeof(stray), "%s/tracks_with_recs.json", dir);
	fp = fopen(stray, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	ck_assert_int_eq(botify_tt_save(&m, dir, 1, NULL, NULL, &err), 0);
	ck_assert_int_eq(access(stray, F_OK), -1);
	ck_assert_int_eq(botify_tt_load(&l, dir, &err), 0);
	ck_assert_float_eq(l.params.start_emb[0], 42.0f);
	/* nothing temporary is left behind: the model is all there is */
	DIR *d = opendir(tu_tmp);
	struct dirent *e;
	int entries = 0;
	while ((e = readdir(d)))
		entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	ck_assert_int_eq(entries, 1);
	botify_tt_free(&m);
	botify_tt_free(&l);
}
END_TEST

/*
 * A save killed with SIGKILL (what Open MPI does to a rank 1 s after Ctrl-C)
 * at points spread over its duration: with unnamed files it leaves no
 * temporary behind, and the model directory is always a whole model, the
 * old one or the new one. With named temporaries, the same kills leave the
 * temporary directory: that shows the kills land mid-save.
 */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Entries of dir whose name holds ".tmp.". */
static int temporaries_in(const char *dir)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		n += strstr(e->d_name, ".tmp.") != NULL;
	closedir(d);
	return n;
}

/* Saves m at dir in a child killed delay seconds after it starts; returns
 * 1 when the kill landed before the save ended. */
static int killed_save(const botify_tt *m, const char *dir, int force, double delay)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		botify_err err = {0};
		close(p[0]);
		(void)!write(p[1], "x", 1);
		_exit(botify_tt_save(m, dir, force, NULL, NULL, &err) == 0 ? 0 : 3);
	}
	close(p[1]);
	char c;
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	struct timespec ts = { (time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9) };
	nanosleep(&ts, NULL);
	kill(pid, SIGKILL);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st))
		ck_assert_int_eq(WEXITSTATUS(st), 0);
	return WIFSIGNALED(st);
}

/* A model large enough that saving it takes a while: (dot, 60k tracks, E 32) */
static void big_model(botify_tt *m, uint64_t seed)
{
	botify_err err = {0};
	botify_tt_config c = { BOTIFY_ARCH_DOT, 20000, 60000, 50, 32, 8, 32, 0 };
	ck_assert_msg(botify_tt_init(m, &c, seed, &err) == 0, "%s", err.msg);
}

/* Is dir a whole model equal to a or b? */
static int whole_model(const char *dir, const botify_tt *a, const botify_tt *b)
{
	botify_tt l = {0};
	botify_err err = {0};
	ck_assert_msg(botify_tt_load(&l, dir, &err) == 0, "%s", err.msg);
	int same = (l.n_params == a->n_params && !memcmp(l.mem, a->mem, a->n_params * sizeof(float))) ||
		   (b && l.n_params == b->n_params && !memcmp(l.mem, b->mem, b->n_params * sizeof(float)));
	botify_tt_free(&l);
	return same;
}

/* Kills saves at fractions of a save's duration, fresh and over an old
 * model; returns how many left a temporary behind. */
static int kill_saves(const botify_tt *m, const botify_tt *old)
{
	char dir[256], model[300];
	botify_err err = {0};
	/* how long a save takes here, now */
	tu_fmt(dir, sizeof(dir), "%s/timed", tu_tmp);
	double t0 = now_s();
	ck_assert_msg(botify_tt_save(m, dir, 0, NULL, NULL, &err) == 0, "%s", err.msg);
	double dt = now_s() - t0;
	static const double frac[] = { 0, 0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.97 };
	int left = 0, cut = 0;
	for (int over = 0; over < 2; over++)
		for (size_t i = 0; i < sizeof(frac) / sizeof(frac[0]); i++) {
			tu_fmt(dir, sizeof(dir), "%s/k%d-%zu", tu_tmp, over, i);
			tu_fmt(model, sizeof(model), "%s/m", dir);
			ck_assert_int_eq(mkdir(dir, 0777), 0);
			if (over)
				ck_assert_msg(botify_tt_save(old, model, 0, NULL, NULL, &err) == 0, "%s", err.msg);
			cut += killed_save(m, model, over, frac[i] * dt);
			int t = temporaries_in(dir);
			left += t > 0;
			/* never half a model: none, the old one or the new one */
			struct stat st;
			if (stat(model, &st) == 0)
				ck_assert_msg(whole_model(model, m, over ? old : NULL),
					      "%s is not a whole model after a kill at %.0f %% of the save", model, frac[i] * 100);
			else
				ck_assert_msg(!over, "the old model at %s is gone after a kill at %.0f %%", model, frac[i] * 100);
		}
	/* the kills must land mid-save, or nothing was tested */
	ck_assert_msg(cut >= 4, "only %d of 16 kills landed during a save of %.3f s", cut, dt);
	return left;
}

START_TEST(save_killed_midway_leaves_no_temporary)
{
	/* unnamed files are what this is about: the scratch file system must have them */
	int fd = open(tu_tmp, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "%s has no O_TMPFILE (errno %d): run the tests on another file system", tu_tmp, errno);
	close(fd);
	botify_tt m = {0}, old = {0};
	big_model(&m, 1);
	big_model(&old, 2);
	int left = kill_saves(&m, &old);
	ck_assert_msg(left == 0, "%d killed saves left a temporary behind", left);
	botify_tt_free(&m);
	botify_tt_free(&old);
}
END_TEST

/* Every file of dir equals the one of the same name in other, and both
 * have as many. */
static void same_files(const char *dir, const char *other)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char a[512], b[512], cmd[1200];
		tu_fmt(a, sizeof(a), "%s/%s", dir, e->d_name);
		tu_fmt(b, sizeof(b), "%s/%s", other, e->d_name);
		tu_fmt(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
		ck_assert_msg(system(cmd) == 0, "%s and %s differ", a, b);
		n++;
	}
	closedir(d);
	ck_assert_int_gt(n, 3);
	d = opendir(other);
	while ((e = readdir(d)))
		n -= e->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(n, 0);
}

START_TEST(save_without_unnamed_files_writes_the_same_model)
{
	char a[256], b[256];
	botify_err err = {0};
	botify_tt m = {0};
	saved_model(&m, BOTIFY_ARCH_TWO_TOWER, (tu_fmt(a, sizeof(a), "%s/unnamed", tu_tmp), a));
	cJSON *metrics = cJSON_CreateObject();
	cJSON_AddNumberToObject(metrics, "test_mse", 0.25);
	tu_fmt(a, sizeof(a), "%s/unnamed-metrics/sub/", tu_tmp);
	ck_assert_msg(botify_tt_save(&m, a, 0, metrics, metrics, &err) == 0, "%s", err.msg);
	botify_tt_set_unnamed(0);
	tu_fmt(b, sizeof(b), "%s/named", tu_tmp);
	ck_assert_msg(botify_tt_save(&m, b, 0, NULL, NULL, &err) == 0, "%s", err.msg);
	tu_fmt(a, sizeof(a), "%s/unnamed", tu_tmp);
	same_files(a, b);
	tu_fmt(b, sizeof(b), "%s/named-metrics", tu_tmp);
	ck_assert_msg(botify_tt_save(&m, b, 0, metrics, metrics, &err) == 0, "%s", err.msg);
	tu_fmt(a, sizeof(a), "%s/unnamed-metrics/sub", tu_tmp);
	same_files(a, b);
	/* --force over a model, and the refusals, as with unnamed files */
	ck_assert_int_eq(botify_tt_save(&m, b, 0, NULL, NULL, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EEXIST);
	ck_assert_msg(botify_tt_save(&m, b, 1, NULL, NULL, &err) == 0, "%s", err.msg);
	tu_fmt(a, sizeof(a), "%s/named", tu_tmp);
	same_files(a, b);
	/* named temporaries are what a SIGKILL leaves: the kills land mid-save */
	botify_tt big = {0}, old = {0};
	big_model(&big, 1);
	big_model(&old, 2);
	ck_assert_int_gt(kill_saves(&big, &old), 0);
	botify_tt_set_unnamed(1);
	cJSON_Delete(metrics);
	botify_tt_free(&m);
	botify_tt_free(&big);
	botify_tt_free(&old);
}
END_TEST

static void rewrite_config(const char *dir, const char *from, const char *to)
{
	char p[256], buf[8192];
	snprintf(p, sizeof(p), "%s/config.json", dir);
	FILE *fp = fopen(p, "r");
	ck_assert_ptr_nonnull(fp);
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = 0;
	char *at = strstr(buf, from);
	ck_assert_ptr_nonnull(at);
	fp = fopen(p, "w");
	fprintf(fp, "%.*s%s%s", (int)(at - buf), buf, to, at + strlen(from));
	fclose(fp);
}

START_TEST(load_errors_name_the_file)
{
	char dir[128], p[256];
	botify_tt m = {0}, l = {0};
	botify_err err = {0};
	tu_fmt(dir, sizeof(dir), "%s/m", tu_tmp);
	saved_model(&m, BOTIFY_ARCH_TWO_TOWER, dir);

	/* a wrong format_version */
	rewrite_config(dir, "\"format_version\":\t1", "\"format_version\":\t2");
	ck_assert_int_eq(botify_tt_load(&l, dir, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "config.json"));
	ck_assert_ptr_nonnull(strstr(err.msg, "format_version 2"));
	rewrite_config(dir, "\"format_version\":\t2", "\"format_version\":\t1");

	/* sizes, the arch and the hash: each field checked, named with the file */
	rewrite_config(dir, "\"emb\":\t", "\"emb\":\t-");
	ck_assert_int_eq(botify_tt_load(&l, dir, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERANGE);
	tu_assert_has(err.msg, "config.json: 'emb' is -");
	rewrite_config(dir, "\"emb\":\t-", "\"emb\":\t");
	rewrite_config(dir, "\"arch\":\t\"two-tower\"", "\"arch\":\t\"three-tower\"");
	ck_assert_int_eq(botify_tt_load(&l, dir, &err), -1);
	tu_assert_has(err.msg, "config.json: 'arch' must be");
	rewrite_config(dir, "\"arch\":\t\"three-tower\"", "\"arch\":\t\"two-tower\"");
	rewrite_config(dir, "\"catalog_hash\":\t\"", "\"catalog_hash\":\t\"xyz");
	ck_assert_int_eq(botify_tt_load(&l, dir, &err), -1);
	tu_assert_has(err.msg, "config.json: 'catalog_hash' must be a hex string");
	rewrite_config(dir, "\"catalog_hash\":\t\"xyz", "\"catalog_hash\":\t\"");
	ck_assert_msg(botify_tt_load(&l, dir, &err) == 0, "%s", err.msg);
	botify_tt_free(&l);

	/* a truncated tensor */
	snprintf(p, sizeof(p), "%s/item_w2.npy", dir);
	ck_assert_int_eq(truncate(p, 100), 0);
	ck_assert_int_eq(botify_tt_load(&l, dir, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EFORMAT);
	ck_assert_ptr_nonnull(strstr(err.msg, "item_w2.npy"));

	/* a tensor of the wrong shape */
	float x[6] = {0};
	ck_assert_int_eq(botify_npy_write(p, x, 2, 2, 3, 1, &err), 0);
	ck_assert_int_eq(botify_tt_load(&l, dir, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "item_w2.npy: shape (2, 3)"));

	/* a non-finite value */
	float bad[16] = {0};
	bad[5] = NAN;
	ck_assert_int_eq(botify_npy_write(p, bad, 2, 4, 4, 1, &err), 0);
	ck_assert_int_eq(botify_tt_load(&l, dir, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "element 5 is not a finite number"));

	/* a missing tensor, a missing config */
	unlink(p);
	ck_assert_int_eq(botify_tt_load(&l, dir, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "item_w2.npy"));
	snprintf(p, sizeof(p), "%s/config.json", dir);
	unlink(p);
	ck_assert_int_eq(botify_tt_load(&l, dir, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "no config.json"));
	ck_assert_ptr_null(l.mem);
	botify_tt_free(&m);
}
END_TEST

START_TEST(catalog_check_and_user_vectors)
{
	botify_tt m = {0};
	botify_err err = {0};
	botify_tt_config c = tiny_config(BOTIFY_ARCH_TWO_TOWER);
	ck_assert_int_eq(botify_tt_init(&m, &c, 4, &err), 0);
	int32_t artist[7] = { 0, 1, 2, 0, 1, 2, 0 };
	m.catalog_hash = botify_tt_catalog_hash(artist, 7, 3);
	ck_assert_int_eq(botify_tt_bind_catalog(&m, artist, 7, 3, "m", &err), 0);
	artist[6] = 1;
	ck_assert_int_eq(botify_tt_bind_catalog(&m, artist, 7, 3, "m", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "another catalog"));
	ck_assert_int_eq(botify_tt_bind_catalog(&m, artist, 6, 3, "m", &err), -1);
	/* users 1 and 3 trained: the mean is theirs; others (and ids out of range) use it */
	m.user_pairs[1] = 2;
	m.user_pairs[3] = 5;
	botify_tt_update_user_mean(&m);
	for (int e = 0; e < c.E; e++)
		ck_assert_float_eq_tol(m.user_mean[e],
				       (m.params.user_emb[1 * c.E + e] + m.params.user_emb[3 * c.E + e]) / 2, 1e-6);
	ck_assert_ptr_eq(botify_tt_user_vector(&m, 1), m.params.user_emb + c.E);
	ck_assert_ptr_eq(botify_tt_user_vector(&m, 0), m.user_mean);
	ck_assert_ptr_eq(botify_tt_user_vector(&m, 99), m.user_mean);
	ck_assert_ptr_eq(botify_tt_user_vector(&m, -1), m.user_mean);
	botify_tt_free(&m);
}
END_TEST

Suite *twotower_suite(void)
{
	Suite *s = suite_create("twotower");
	TCase *tc = tcase_create("model");
	tu_scratch(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, two_tower_gradients_match_finite_differences);
	tcase_add_test(tc, two_tower_context_artist_gradients_match_finite_differences);
	tcase_add_test(tc, negatives_teach_what_the_logs_never_show);
	tcase_add_test(tc, context_artist_is_saved_and_loaded);
	tcase_add_test(tc, dot_gradients_match_finite_differences);
	tcase_add_test(tc, sum_gradients_match_finite_differences);
	tcase_add_test(tc, hybrid_gradients_match_finite_differences);
	tcase_add_test(tc, hybrid_context_is_the_logit_without_bias);
	tcase_add_test(tc, arch_uses_only_its_tensors);
	tcase_add_test(tc, loss_falls_on_a_tiny_problem);
	tcase_add_test(tc, early_stopping_keeps_the_best_epoch);
	tcase_add_test(tc, interrupt_keeps_the_best_so_far);
	tcase_add_test(tc, training_is_deterministic);
	tcase_add_test(tc, save_load_round_trip);
	tcase_add_test(tc, save_refuses_an_existing_dir_unless_forced);
	tcase_add_test(tc, save_killed_midway_leaves_no_temporary);
	tcase_add_test(tc, save_without_unnamed_files_writes_the_same_model);
	tcase_add_test(tc, load_errors_name_the_file);
	tcase_add_test(tc, catalog_check_and_user_vectors);
	suite_add_tcase(s, tc);
	return s;
}
