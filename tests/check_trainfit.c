/* check_trainfit.c - botify_train end to end on hand-made pairs over a tiny
 * catalog: the loss falls and the model beats the mean baseline; early
 * stopping stops patience epochs after the best one and keeps the best
 * weights; the epoch limit; an interrupt; too few pairs. (check_train.c
 * holds the threads, the optimisers, the split and the non-finite loss.) */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pairs.h"
#include "testutil.h"
#include "train.h"
#include "twotower.h"

enum { U = 12, N = 24, A = 6, SESSION = 6 };

static int32_t artist[N];

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* n pairs in sessions of SESSION. With structure, a listen is long for
 * the start's artist and for tracks the user likes ((track + user) % 3 ==
 * 0), short otherwise; without, it is uniform noise. */
static void make_pairs(botify_pairs *p, int64_t n, int structured, uint64_t seed)
{
	memset(p, 0, sizeof(*p));
	p->user = malloc(sizeof(int32_t) * (size_t)n);
	p->start = malloc(sizeof(int32_t) * (size_t)n);
	p->track = malloc(sizeof(int32_t) * (size_t)n);
	p->time = malloc(sizeof(float) * (size_t)n);
	p->sess_user = malloc(sizeof(int32_t) * (size_t)n);
	p->sess_start = malloc(sizeof(int32_t) * (size_t)n);
	for (int32_t t = 0; t < N; t++)
		artist[t] = t % A;
	uint64_t s = seed;
	int32_t user = 0, start = 0;
	for (int64_t i = 0; i < n; i++) {
		if (i % SESSION == 0) {
			user = (int32_t)(lcg(&s) % U);
			start = (int32_t)(lcg(&s) % N);
			p->sess_user[p->n_sessions] = user;
			p->sess_start[p->n_sessions] = start;
			p->n_sessions++;
		}
		int32_t track = (int32_t)(lcg(&s) % N);
		float time;
		if (structured)
			time = artist[track] == artist[start] ? 0.9f : (track + user) % 3 == 0 ? 0.6f : 0.1f;
		else
			time = (float)(lcg(&s) % 1000) / 1000.0f;
		p->user[i] = user;
		p->start[i] = start;
		p->track[i] = track;
		p->time[i] = time;
	}
	p->n = n;
	p->rows = n + p->n_sessions;
	p->files = 1;
}

static void new_model_sized(botify_tt *m, int E, int H)
{
	botify_tt_config c = { BOTIFY_ARCH_TWO_TOWER, U, N, A, E, H, E, 0 };
	botify_err err = {0};
	memset(m, 0, sizeof(*m));
	ck_assert_msg(botify_tt_init(m, &c, 3, &err) == 0, "%s", err.msg);
	m->track_artist = artist;
}

static void new_model(botify_tt *m)
{
	new_model_sized(m, 8, 16);
}

static void opts(botify_train_opts *o)
{
	botify_train_defaults(o);
	o->batch = 64;
	o->lr = 0.01;
	o->epochs = 60;
	o->patience = 4;
	o->seed = 9;
}

START_TEST(train_lowers_the_loss_and_beats_the_baselines)
{
	botify_pairs p;
	make_pairs(&p, 3000, 1, 1);
	botify_tt m;
	new_model(&m);
	botify_train_opts o;
	opts(&o);
	botify_train_result res = {0};
	botify_err err = {0};
	ck_assert_msg(botify_train(&m, &p, artist, &o, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(res.n_train + res.n_val + res.n_test, 3000);
	ck_assert_int_eq(res.n_test, 300);
	ck_assert_int_ge(res.epochs, 2);
	const botify_epoch_stats *h = res.history;
	double first = h[0].train_mse, last = h[res.epochs - 1].train_mse;
	ck_assert_msg(last < 0.5 * first, "train MSE %g -> %g", first, last);
	/* the structure is learnable: far better than predicting the mean */
	ck_assert_msg(res.test_mse < 0.5 * res.avg_mse, "test %g, avg %g", res.test_mse, res.avg_mse);
	ck_assert(res.avg_mse < res.rdm_mse);
	/* every user trained on has pairs counted */
	for (int u = 0; u < U; u++)
		ck_assert_msg(m.user_pairs[u] > 0, "user %d", u);
	for (int64_t e = 0; e < res.epochs; e++)
		ck_assert_int_eq(h[e].epoch, e + 1);
	botify_train_result_free(&res);
	botify_tt_free(&m);
	botify_pairs_free(&p);
}
END_TEST

/* On noise, validation stops improving: training ends exactly patience
 * epochs after the best one, and the model holds the best epoch's weights
 * (its validation MSE, recomputed by a second run stopped there). */
START_TEST(train_stops_early_and_keeps_the_best_epoch)
{
	botify_pairs p;
	make_pairs(&p, 2000, 0, 2);
	botify_tt m;
	new_model(&m);
	botify_train_opts o;
	opts(&o);
	o.lr = 0.05;
	o.epochs = 200;
	o.patience = 3;
	botify_train_result res = {0};
	botify_err err = {0};
	ck_assert_msg(botify_train(&m, &p, artist, &o, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(res.stop_reason, BOTIFY_STOP_EARLY);
	ck_assert_int_eq(res.epochs, res.best_epoch + o.patience);
	ck_assert_int_lt(res.epochs, 200);
	double best = INFINITY;
	for (int64_t e = 0; e < res.epochs; e++) {
		ck_assert_int_eq(res.history[e].improved, res.history[e].val_objective < best);
		best = fmin(best, res.history[e].val_objective);
	}
	ck_assert(res.best_val_objective == best);
	ck_assert(res.history[res.best_epoch - 1].val_mse == res.best_val_mse);
	/* the same run limited to the best epoch ends with the same weights */
	botify_tt m2;
	new_model(&m2);
	o.epochs = res.best_epoch;
	botify_train_result res2 = {0};
	ck_assert_msg(botify_train(&m2, &p, artist, &o, &res2, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(res2.stop_reason, BOTIFY_STOP_MAX_EPOCHS);
	ck_assert_int_eq(res2.epochs, res.best_epoch);
	ck_assert(!memcmp(m.mem, m2.mem, m.n_params * sizeof(float)));
	ck_assert(res2.test_mse == res.test_mse);
	botify_train_result_free(&res2);
	botify_tt_free(&m2);
	botify_train_result_free(&res);
	botify_tt_free(&m);
	botify_pairs_free(&p);
}
END_TEST

static void stop_after_first(void *ctx, const botify_epoch_stats *e)
{
	(void)e;
	*(volatile sig_atomic_t *)ctx = 1;
}

START_TEST(train_interrupt_and_too_few_pairs)
{
	botify_pairs p;
	make_pairs(&p, 1000, 1, 3);
	botify_tt m;
	new_model(&m);
	botify_train_opts o;
	opts(&o);
	volatile sig_atomic_t stop = 0;
	o.stop = &stop;
	o.on_epoch = stop_after_first;
	o.ctx = (void *)&stop;
	botify_train_result res = {0};
	botify_err err = {0};
	ck_assert_msg(botify_train(&m, &p, artist, &o, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(res.stop_reason, BOTIFY_STOP_INTERRUPTED);
	/* one full epoch; the second stops after its first batch, is counted
	 * and marked partial, and its weights are kept only if they validate
	 * better */
	ck_assert_int_eq(res.epochs, 2);
	ck_assert(!res.history[0].partial && res.history[1].partial);
	ck_assert(res.best_epoch == 1 || res.best_epoch == 2);
	if (res.best_epoch == 1)
		ck_assert(res.best_val_mse == res.history[0].val_mse);
	else
		ck_assert(res.best_val_objective < res.history[0].val_objective);
	botify_train_result_free(&res);
	botify_tt_free(&m);
	botify_pairs_free(&p);

	make_pairs(&p, 9, 1, 3);
	new_model(&m);
	opts(&o);
	ck_assert_int_eq(botify_train(&m, &p, artist, &o, &res, &err), -1);
	tu_assert_has(err.msg, "pairs");
	botify_tt_free(&m);
	botify_pairs_free(&p);
}
END_TEST

Suite *trainfit_suite(void)
{
	Suite *s = suite_create("trainfit");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, train_lowers_the_loss_and_beats_the_baselines);
	tcase_add_test(tc, train_stops_early_and_keeps_the_best_epoch);
	tcase_add_test(tc, train_interrupt_and_too_few_pairs);
	suite_add_tcase(s, tc);
	return s;
}
