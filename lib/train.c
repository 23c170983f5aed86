/*
 * train.c - the training loop.
 */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adam.h"
#include "nn.h"
#include "rng.h"

enum {
	PURPOSE_SPLIT = 0x5311, PURPOSE_EPOCH = 0x5312, PURPOSE_RDM = 0x5313, PURPOSE_NEG = 0x5314,
	PURPOSE_NEG_VAL = 0x5315, PURPOSE_NEG_TEST = 0x5316,
};

void botify_train_defaults(botify_train_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->batch = 2048;
	o->epochs = 300;
	o->patience = 5;
	o->lr_patience = 3;
	o->lr_factor = 0.1;
	o->lr = 1e-3;
	o->weight_decay = 1e-5;
	o->seed = 1;
}

void botify_train_result_free(botify_train_result *res)
{
	free(res->history);
	memset(res, 0, sizeof(*res));
}

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void shuffle(int64_t *idx, int64_t n, botify_rng *r)
{
	for (int64_t i = n - 1; i > 0; i--) {
		int64_t j = (int64_t)botify_rng_below(r, (uint64_t)i + 1);
		int64_t t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
}

/* what one step needs besides the model */
struct loop {
	botify_tt *m;
	const botify_pairs *p;
	const int32_t *artist;     /* (N) */
	botify_tt_acts acts, dacts;
	int B;                     /* logged pairs per batch */
	int neg;                   /* negatives per logged pair */
	int32_t N;                 /* catalog size, for negatives */
	int32_t *user, *start, *track, *art; /* (B) the batch */
	int32_t *start_art;        /* (B) artists of the starts, for sparse updates */
	float *y;                  /* (B) */
	/* sparse updates: for each embedding table, the distinct rows of the
	 * batch (in first-seen order) and a stamp per row marking the step
	 * that last listed it */
	int32_t *rows[BOTIFY_TT_NEMB];
	int64_t n_rows[BOTIFY_TT_NEMB];
	int64_t *stamp[BOTIFY_TT_NEMB];
	botify_adam adam;
};

static void fill_batch(struct loop *L, const int64_t *idx, int B)
{
	const botify_pairs *p = L->p;
	for (int i = 0; i < B; i++) {
		int64_t k = idx[i];
		L->user[i] = p->user[k];
		L->start[i] = p->start[k];
		L->track[i] = p->track[k];
		L->art[i] = L->artist[p->track[k]];
		L->start_art[i] = L->artist[p->start[k]];
		L->y[i] = p->time[k];
	}
}

/* Appends neg sampled negatives per logged pair of the batch (B pairs
 * already filled): same user and start, a uniform track, target 0. */
static int add_negatives(struct loop *L, int B, botify_rng *r)
{
	int n = B;
	for (int j = 0; j < L->neg; j++)
		for (int i = 0; i < B; i++, n++) {
			/* Half the negatives are another logged pair's track: they
			 * follow the logs' popularity, so a popular track cannot
			 * score high for every context. The other half are uniform
			 * over the catalog: tracks the logs never show would
			 * otherwise keep their random initial scores, and some of
			 * those end up on top of every ranking. */
			int32_t t = (n & 1) && B > 1
					    ? L->track[(i + 1 + (int)botify_rng_below(r, (uint64_t)B - 1)) % B]
					    : (int32_t)botify_rng_below(r, (uint64_t)L->N);
			L->user[n] = L->user[i];
			L->start[n] = L->start[i];
			L->start_art[n] = L->start_art[i];
			L->track[n] = t;
			L->art[n] = L->artist[t];
			L->y[n] = 0.0f;
		}
	return n;
}

static botify_tt_batch batch_of(const struct loop *L, int B)
{
	return (botify_tt_batch){ B, L->user, L->start, L->track, L->art, L->y };
}

/* Sum of squared errors over idx[0..n) with the current weights: of the
 * logged pairs into *sse and, when negatives are on, of negatives drawn
 * from `purpose` (the same ones at every call) into *sse_neg. */
static void eval_sse(struct loop *L, const int64_t *idx, int64_t n, uint64_t seed,
		     uint64_t purpose, double *sse, double *sse_neg)
{
	botify_rng r;
	botify_rng_init(&r, seed, purpose, 0, 0);
	*sse = *sse_neg = 0.0;
	for (int64_t i = 0; i < n; i += L->B) {
		int B = (int)(n - i < L->B ? n - i : L->B);
		fill_batch(L, idx + i, B);
		int rows = add_negatives(L, B, &r);
		botify_tt_batch b = batch_of(L, rows);
		botify_tt_forward(L->m, &L->acts, &b);
		*sse += nn_sse(L->acts.pred, L->y, B);
		*sse_neg += nn_sse(L->acts.pred + B, L->y + B, rows - B);
	}
}

/* One optimizer step on the B rows in L; returns the SSE of the first
 * n_logged rows (the logged pairs). */
static double step(struct loop *L, int B, int n_logged, int64_t t)
{
	botify_tt *m = L->m;
	botify_tt_batch b = batch_of(L, B);
	const int32_t *ids[BOTIFY_TT_NEMB] = { L->user, L->start, L->track, L->art };
	for (int k = 0; k < BOTIFY_TT_NEMB; k++) {
		L->n_rows[k] = 0;
		if (!m->rows[k])
			continue;
		/* the artist table is read by both towers when the start's artist
		 * joins the context */
		int passes = k == 3 && m->cfg.context_artist ? 2 : 1;
		for (int pass = 0; pass < passes; pass++) {
			const int32_t *id = pass ? L->start_art : ids[k];
			for (int i = 0; i < B; i++)
				if (L->stamp[k][id[i]] != t) {
					L->stamp[k][id[i]] = t;
					L->rows[k][L->n_rows[k]++] = id[i];
				}
		}
	}
	botify_tt_forward(m, &L->acts, &b);
	double sse = nn_sse(L->acts.pred, L->y, n_logged);
	botify_tt_acts_zero(&L->dacts, B);
	botify_tt_backward(m, &L->dacts, &L->acts, &b);

	botify_adam_begin_step(&L->adam);
	size_t dense = m->off[BOTIFY_TT_NEMB];
	botify_adam_step(&L->adam, m->mem + dense, m->grad_mem + dense, m->m_mem + dense,
			 m->v_mem + dense, m->n_params - dense);
	memset(m->grad_mem + dense, 0, (m->n_params - dense) * sizeof(float));
	for (int k = 0; k < BOTIFY_TT_NEMB; k++) {
		if (!L->n_rows[k])
			continue;
		size_t o = m->off[k];
		int E = (int)m->cols[k];
		botify_adam_step_rows(&L->adam, m->mem + o, m->grad_mem + o, m->m_mem + o, m->v_mem + o,
				      L->rows[k], L->n_rows[k], E);
		for (int64_t i = 0; i < L->n_rows[k]; i++)
			memset(m->grad_mem + o + (size_t)L->rows[k][i] * E, 0, (size_t)E * sizeof(float));
	}
	return sse;
}

static void loop_free(struct loop *L)
{
	botify_tt_acts_free(&L->acts);
	botify_tt_acts_free(&L->dacts);
	free(L->user);
	free(L->start);
	free(L->track);
	free(L->art);
	free(L->start_art);
	free(L->y);
	for (int k = 0; k < BOTIFY_TT_NEMB; k++) {
		free(L->rows[k]);
		free(L->stamp[k]);
	}
}

static int loop_init(struct loop *L, botify_tt *m, const botify_pairs *p, const int32_t *artist,
		     int B, int neg, botify_err *err)
{
	memset(L, 0, sizeof(*L));
	L->m = m;
	L->p = p;
	L->artist = artist;
	L->B = B;
	L->neg = neg;
	L->N = (int32_t)m->cfg.N;
	B *= 1 + neg; /* buffers hold the negatives too */
	if (botify_tt_acts_init(&L->acts, m, B, err) != 0 ||
	    botify_tt_acts_init(&L->dacts, m, B, err) != 0)
		return -1;
	L->user = botify_malloc((size_t)B, sizeof(int32_t), "batch", err);
	L->start = botify_malloc((size_t)B, sizeof(int32_t), "batch", err);
	L->track = botify_malloc((size_t)B, sizeof(int32_t), "batch", err);
	L->art = botify_malloc((size_t)B, sizeof(int32_t), "batch", err);
	L->y = botify_malloc((size_t)B, sizeof(float), "batch", err);
	L->start_art = botify_malloc((size_t)B, sizeof(int32_t), "batch", err);
	if (!L->user || !L->start || !L->track || !L->art || !L->y || !L->start_art)
		return -1;
	for (int k = 0; k < BOTIFY_TT_NEMB; k++) {
		if (!m->rows[k])
			continue;
		L->rows[k] = botify_malloc((size_t)B, 2 * sizeof(int32_t), "batch rows", err);
		L->stamp[k] = botify_malloc(m->rows[k], sizeof(int64_t), "batch rows", err);
		if (!L->rows[k] || !L->stamp[k])
			return -1;
		for (size_t r = 0; r < m->rows[k]; r++)
			L->stamp[k][r] = -1;
	}
	return 0;
}

int botify_train_user_contexts(botify_tt *m, const botify_pairs *p, botify_err *err)
{
	enum { CHUNK = 1024 };
	int32_t U = m->cfg.U, O = m->cfg.OUT;
	botify_tt_acts a = {0};
	double *acc = botify_calloc((size_t)U * (size_t)O, sizeof(double), "user contexts", err);
	double *all = botify_calloc((size_t)O, sizeof(double), "user contexts", err);
	int64_t *count = botify_calloc((size_t)U, sizeof(int64_t), "user contexts", err);
	int64_t users[CHUNK];
	float *out = botify_malloc((size_t)CHUNK * (size_t)O, sizeof(float), "user contexts", err);
	int rc = -1;
	if (!acc || !all || !count || !out || botify_tt_acts_init(&a, m, CHUNK, err) != 0)
		goto out;
	for (int pass = 0; pass < 2; pass++) /* 0: each user's own; 1: the mean user */
		for (int64_t s = 0; s < p->n_sessions; s += CHUNK) {
			int B = (int)(p->n_sessions - s < CHUNK ? p->n_sessions - s : CHUNK);
			for (int i = 0; i < B; i++)
				users[i] = pass == 0 ? p->sess_user[s + i] : -1;
			botify_tt_context(m, &a, B, users, p->sess_start + s, out);
			for (int i = 0; i < B; i++) {
				const float *c = out + (size_t)i * O;
				double *dst = pass == 0 ? acc + (size_t)users[i] * O : all;
				for (int o = 0; o < O; o++)
					dst[o] += c[o];
				if (pass == 0)
					count[users[i]]++;
			}
		}
	for (int32_t u = 0; u < U; u++)
		for (int o = 0; o < O; o++)
			m->user_context[(size_t)u * O + o] =
				count[u] ? (float)(acc[(size_t)u * O + o] / (double)count[u])
				: p->n_sessions ? (float)(all[o] / (double)p->n_sessions) : 0.0f;
	rc = 0;
out:
	botify_tt_acts_free(&a);
	free(acc);
	free(all);
	free(count);
	free(out);
	return rc;
}

int botify_train(botify_tt *m, const botify_pairs *p, const int32_t *artist,
		 const botify_train_opts *o, botify_train_result *res, botify_err *err)
{
	memset(res, 0, sizeof(*res));
	m->track_artist = artist; /* the start's artist, for context_artist models */
	int64_t n = p->n, n_val = n / 10, n_test = n / 10, n_train = n - n_val - n_test;
	if (n_val < 1 || n_train < 1)
		return botify_fail(err, BOTIFY_EINVAL,
				   "only %lld training pairs in the logs: need at least 10 for an 80/10/10 split",
				   (long long)n);
	if (o->batch < 1 || o->batch > (1 << 24))
		return botify_fail(err, BOTIFY_EINVAL, "batch size %lld out of range", (long long)o->batch);
	res->n_train = n_train;
	res->n_val = n_val;
	res->n_test = n_test;

	struct loop L;
	int64_t *idx = NULL;
	float *best = NULL;
	int rc = -1;
	int B = (int)(o->batch < n_train ? o->batch : n_train);
	if (o->negatives < 0 || o->negatives > 100 || (int64_t)B * (1 + o->negatives) > (1 << 26))
		return botify_fail(err, BOTIFY_EINVAL, "%lld negatives per pair out of range (0 to 100)",
				   (long long)o->negatives);
	if (loop_init(&L, m, p, artist, B, (int)o->negatives, err) != 0 ||
	    botify_tt_alloc_training(m, err) != 0)
		goto out;
	idx = botify_malloc((size_t)n, sizeof(int64_t), "pair order", err);
	best = botify_malloc(m->n_params, sizeof(float), "best weights", err);
	res->history = botify_calloc((size_t)(o->epochs > 0 ? o->epochs : 1), sizeof(botify_epoch_stats),
				     "training history", err);
	if (!idx || !best || !res->history)
		goto out;
	for (int64_t i = 0; i < n; i++)
		idx[i] = i;
	botify_rng r;
	botify_rng_init(&r, o->seed, PURPOSE_SPLIT, 0, 0);
	shuffle(idx, n, &r);
	int64_t *train = idx, *val = idx + n_train, *test = idx + n_train + n_val;

	botify_adam_init(&L.adam, (float)o->lr, (float)o->weight_decay);
	double lr = o->lr, best_val = INFINITY, best_val_mse = INFINITY, sched_best = INFINITY;
	int64_t bad_lr = 0, bad_stop = 0, t = 0;
	memcpy(best, m->mem, m->n_params * sizeof(float));
	res->stop_reason = BOTIFY_STOP_MAX_EPOCHS;
	for (int64_t epoch = 1; epoch <= o->epochs; epoch++) {
		double t0 = seconds_now(), sse = 0.0;
		int64_t done = 0;
		botify_rng_init(&r, o->seed, PURPOSE_EPOCH, (uint64_t)epoch, 0);
		shuffle(train, n_train, &r);
		botify_rng rneg;
		botify_rng_init(&rneg, o->seed, PURPOSE_NEG, (uint64_t)epoch, 0);
		L.adam.lr = (float)lr;
		int interrupted = 0;
		for (int64_t i = 0; i < n_train; i += B) {
			int b = (int)(n_train - i < B ? n_train - i : B);
			fill_batch(&L, train + i, b);
			int rows = add_negatives(&L, b, &rneg);
			sse += step(&L, rows, b, t++);
			done += b;
			if (o->on_batch)
				o->on_batch(o->ctx, epoch, done, n_train);
			if (o->stop && *o->stop) {
				interrupted = 1;
				break;
			}
		}
		double t1 = seconds_now();
		double vs, vs_neg;
		eval_sse(&L, val, n_val, o->seed, PURPOSE_NEG_VAL, &vs, &vs_neg);
		double val_mse = vs / (double)n_val;
		/* what early stopping and the LR schedule watch: the training
		 * objective, negatives included, so that they keep the epoch that
		 * ranks best rather than the one that fits logged pairs best */
		double val_obj = (vs + vs_neg) / (double)(n_val * (1 + o->negatives));
		if (interrupted) {
			/* the partial epoch's weights count if they validate better */
			if (val_obj < best_val) {
				best_val = val_obj;
				best_val_mse = val_mse;
				res->best_epoch = epoch;
				memcpy(best, m->mem, m->n_params * sizeof(float));
			}
			res->stop_reason = BOTIFY_STOP_INTERRUPTED;
			break;
		}
		botify_epoch_stats *e = &res->history[res->epochs++];
		e->epoch = epoch;
		e->train_mse = done ? sse / (double)done : 0.0;
		e->val_mse = val_mse;
		e->val_objective = val_obj;
		e->lr = lr;
		e->samples_per_s = t1 > t0 ? (double)done / (t1 - t0) : 0.0;
		if (val_obj < best_val) {
			best_val = val_obj;
			best_val_mse = val_mse;
			res->best_epoch = epoch;
			memcpy(best, m->mem, m->n_params * sizeof(float));
			e->improved = 1;
			bad_stop = 0;
		} else {
			bad_stop++;
		}
		/* ReduceLROnPlateau: relative threshold 1e-4, cooldown 0 */
		if (val_obj < sched_best * (1.0 - 1e-4)) {
			sched_best = val_obj;
			bad_lr = 0;
		} else if (++bad_lr > o->lr_patience) {
			lr *= o->lr_factor;
			bad_lr = 0;
		}
		e->seconds = seconds_now() - t0;
		if (o->on_epoch)
			o->on_epoch(o->ctx, e);
		if (bad_stop >= o->patience) {
			res->stop_reason = BOTIFY_STOP_EARLY;
			break;
		}
	}
	memcpy(m->mem, best, m->n_params * sizeof(float));
	res->best_val_mse = best_val_mse;
	res->best_val_objective = best_val;
	double ts, ts_neg;
	eval_sse(&L, test, n_test, o->seed, PURPOSE_NEG_TEST, &ts, &ts_neg);
	res->test_mse = ts / (double)(n_test ? n_test : 1);
	res->test_neg_mse = o->negatives ? ts_neg / (double)(n_test * o->negatives) : 0.0;

	/* baselines: the training mean, and uniform random predictions */
	double mean = 0.0, avg = 0.0, rdm = 0.0;
	for (int64_t i = 0; i < n_train; i++)
		mean += p->time[train[i]];
	mean /= (double)n_train;
	botify_rng_init(&r, o->seed, PURPOSE_RDM, 0, 0);
	for (int64_t i = 0; i < n_test; i++) {
		double y = p->time[test[i]], u = botify_rng_uniform(&r);
		avg += (mean - y) * (mean - y);
		rdm += (u - y) * (u - y);
	}
	res->train_mean = mean;
	res->avg_mse = n_test ? avg / (double)n_test : 0.0;
	res->rdm_mse = n_test ? rdm / (double)n_test : 0.0;

	/* what inference needs to know about users */
	memset(m->user_pairs, 0, (size_t)m->cfg.U * sizeof(float));
	for (int64_t i = 0; i < n_train; i++)
		m->user_pairs[p->user[train[i]]] += 1.0f;
	botify_tt_update_user_mean(m);
	if (botify_train_user_contexts(m, p, err) != 0)
		goto out;
	rc = 0;
out:
	loop_free(&L);
	free(idx);
	free(best);
	if (rc != 0)
		botify_train_result_free(res);
	return rc;
}
