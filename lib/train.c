/*
 * train.c - the training loop.
 */
#include "train.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "adam.h"
#include "dist.h"
#include "nn.h"
#include "outfile.h"
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
	o->threads = 1;
	o->seed = 1;
}

void botify_train_result_free(botify_train_result *res)
{
	free(res->history);
	botify_split_free(&res->split);
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

/*
 * A pool of worker threads that run one function together: pool_run calls
 * fn(ctx, w) for w in [0, T), w = 0 on the calling thread, and returns when
 * all have returned.
 */
struct worker_arg;

struct pool {
	int T;
	pthread_t *th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	uint64_t gen;
	int pending, quit, inited;
	void (*fn)(void *ctx, int w);
	void *ctx;
	struct worker_arg *args;
};

struct worker_arg {
	struct pool *pool;
	int w;
};

static void *pool_main(void *arg)
{
	struct worker_arg *wa = arg;
	struct pool *P = wa->pool;
	uint64_t seen = 0;
	for (;;) {
		pthread_mutex_lock(&P->mu);
		while (P->gen == seen && !P->quit)
			pthread_cond_wait(&P->go, &P->mu);
		if (P->quit) {
			pthread_mutex_unlock(&P->mu);
			return NULL;
		}
		seen = P->gen;
		void (*fn)(void *, int) = P->fn;
		void *ctx = P->ctx;
		pthread_mutex_unlock(&P->mu);
		fn(ctx, wa->w);
		pthread_mutex_lock(&P->mu);
		if (--P->pending == 0)
			pthread_cond_signal(&P->done);
		pthread_mutex_unlock(&P->mu);
	}
}

static void pool_run(struct pool *P, void (*fn)(void *, int), void *ctx)
{
	if (P->T > 1) {
		pthread_mutex_lock(&P->mu);
		P->fn = fn;
		P->ctx = ctx;
		P->pending = P->T - 1;
		P->gen++;
		pthread_cond_broadcast(&P->go);
		pthread_mutex_unlock(&P->mu);
	}
	fn(ctx, 0);
	if (P->T > 1) {
		pthread_mutex_lock(&P->mu);
		while (P->pending)
			pthread_cond_wait(&P->done, &P->mu);
		pthread_mutex_unlock(&P->mu);
	}
}

static void pool_stop(struct pool *P)
{
	if (P->started) {
		pthread_mutex_lock(&P->mu);
		P->quit = 1;
		pthread_cond_broadcast(&P->go);
		pthread_mutex_unlock(&P->mu);
		for (int i = 0; i < P->started; i++)
			pthread_join(P->th[i], NULL);
	}
	if (P->inited) {
		pthread_mutex_destroy(&P->mu);
		pthread_cond_destroy(&P->go);
		pthread_cond_destroy(&P->done);
	}
	free(P->th);
	free(P->args);
	memset(P, 0, sizeof(*P));
}

static int pool_start(struct pool *P, int T, botify_err *err)
{
	memset(P, 0, sizeof(*P));
	P->T = T;
	if (T <= 1)
		return 0;
	P->th = botify_calloc((size_t)T, sizeof(pthread_t), "training threads", err);
	P->args = botify_calloc((size_t)T, sizeof(struct worker_arg), "training threads", err);
	if (!P->th || !P->args)
		return -1;
	pthread_mutex_init(&P->mu, NULL);
	pthread_cond_init(&P->go, NULL);
	pthread_cond_init(&P->done, NULL);
	P->inited = 1;
	for (int w = 1; w < T; w++) {
		P->args[w] = (struct worker_arg){ P, w };
		int rc = pthread_create(&P->th[P->started], NULL, pool_main, &P->args[w]);
		if (rc != 0)
			return botify_fail_errno(err, rc, "cannot start training thread %d", w);
		P->started++;
	}
	return 0;
}

/* Rows per chunk: a function of the batch's rows only, so that the sums over
 * chunks do not depend on the thread count. Chunks of at least CHUNK_ROWS
 * keep each GEMM efficient; at most MAX_CHUNKS bound the gradient buffers. */
enum { CHUNK_ROWS = 256, MAX_CHUNKS = 64 };

static int chunk_count(int rows)
{
	int c = (rows + CHUNK_ROWS - 1) / CHUNK_ROWS;
	return c < 1 ? 1 : c > MAX_CHUNKS ? MAX_CHUNKS : c;
}

/* what one step needs besides the model */
struct loop {
	botify_tt *m;
	const botify_pairs *p;
	const int32_t *artist;     /* (N) */
	botify_tt_acts acts, dacts;
	int B;                     /* logged pairs per batch */
	int neg;                   /* negatives per logged pair */
	int dense_emb;             /* dense Adam on the embedding tables */
	int32_t N;                 /* catalog size, for negatives */
	int32_t *user, *start, *track, *art; /* (B) the batch */
	int32_t *start_art;        /* (B) artists of the starts, for sparse updates */
	float *y;                  /* (B) */
	/* sparse updates: for each embedding table, the distinct rows of the
	 * batch (in first-seen order) and a stamp per row marking the step
	 * that last listed it; each thread filters its own slice into mine */
	int32_t *rows[BOTIFY_TT_NEMB];
	int64_t n_rows[BOTIFY_TT_NEMB];
	int64_t *stamp[BOTIFY_TT_NEMB];
	int32_t **mine;            /* (T)(B rows) */
	botify_adam adam;
	/* threads and chunks */
	struct pool pool;
	int T;
	size_t n_dense;            /* floats of the dense tensors */
	float *chunk_grad;         /* (MAX_CHUNKS, n_dense) */
	double chunk_sse[MAX_CHUNKS], chunk_sse_neg[MAX_CHUNKS];
	/* MPI ranks: rank `rank` of `ranks` computes chunks [c_lo, c_hi) of
	 * each batch, then every rank gathers every chunk's results */
	int rank, ranks;
	int64_t *bounds;           /* (3, ranks + 1): chunks, rows and ranks of each rank */
	int *stops;                /* (ranks) each rank's interrupt flag at the exchange */
	int stop_any;              /* any of them: every rank stops after the same batch */
	volatile sig_atomic_t *stop_src; /* this rank's flag (opts) */
	/* the current phase */
	int rows_now, logged_now, chunks_now, chunk_size, backward, c_lo, c_hi;
	int64_t t_now;             /* the step: stamps equal to it mark the batch's rows */
	/* the next chunk or part to claim: work goes to whichever thread is free,
	 * so a thread the machine descheduled holds up less of a step; what a
	 * chunk or part computes does not depend on who claims it */
	atomic_int next;
};

/* Parameter slices of the update: a fixed number, so that none of its sums
 * depends on the thread count. */
enum { UPDATE_PARTS = 8 };

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

/* The first chunk of rank r: contiguous ranges, a function of the batch's
 * rows and the rank count only. */
static int chunk_lo(const struct loop *L, int r)
{
	return (int)((int64_t)L->chunks_now * r / L->ranks);
}

/* Sets up a phase over the current batch of `rows` rows, the first
 * `logged` of them logged pairs. */
static void phase(struct loop *L, int rows, int logged, int backward)
{
	L->rows_now = rows;
	L->logged_now = logged;
	L->chunks_now = chunk_count(rows);
	L->chunk_size = (rows + L->chunks_now - 1) / L->chunks_now;
	L->backward = backward;
	L->c_lo = chunk_lo(L, L->rank);
	L->c_hi = chunk_lo(L, L->rank + 1);
}

/* Forward (and the dense backward) of the chunks a worker claims. */
static void run_chunks(void *ctx, int w)
{
	struct loop *L = ctx;
	botify_tt *m = L->m;
	(void)w;
	for (int c; (c = L->c_lo + atomic_fetch_add(&L->next, 1)) < L->c_hi;) {
		int r0 = c * L->chunk_size;
		int n = L->rows_now - r0 < L->chunk_size ? L->rows_now - r0 : L->chunk_size;
		L->chunk_sse[c] = L->chunk_sse_neg[c] = 0.0;
		if (n <= 0)
			continue;
		botify_tt_acts a, d;
		botify_tt_acts_rows(m, &L->acts, r0, n, &a);
		botify_tt_batch b = { n, L->user + r0, L->start + r0, L->track + r0, L->art + r0,
				      L->y + r0 };
		botify_tt_forward(m, &a, &b);
		int k = L->logged_now - r0;
		k = k < 0 ? 0 : k > n ? n : k;
		L->chunk_sse[c] = nn_sse(a.pred, b.y, k);
		L->chunk_sse_neg[c] = nn_sse(a.pred + k, b.y + k, n - k);
		if (!L->backward)
			continue;
		botify_tt_acts_rows(m, &L->dacts, r0, n, &d);
		float *block = L->chunk_grad + (size_t)c * L->n_dense;
		memset(block, 0, L->n_dense * sizeof(float));
		botify_tt_params g;
		botify_tt_point_dense(m, block, &g);
		botify_tt_backward_dense(m, &g, &d, &a, &b, (double)L->rows_now);
	}
}

/* Data parallelism over MPI ranks: after each rank ran its chunks, every
 * rank gathers every chunk's SSE and, in a training step, every chunk's
 * dense gradient block and the per-row gradients of the embedding lookups
 * (the rows of the batch are the same on every rank, so these rows say
 * which table rows they touch). Each rank then sums the chunks in chunk
 * order and scatters the rows in batch order exactly as one process does:
 * the model is the same bytes for any number of ranks. Nothing is reduced
 * by MPI, whose summation order is its own. Bytes per step and rank:
 * chunks x dense floats + rows x lookup widths, times 4. */
static int exchange(struct loop *L, botify_err *err)
{
	if (L->ranks == 1)
		return 0;
	int R = L->ranks;
	int64_t *chunks = L->bounds, *rows = chunks + R + 1, *ranks = rows + R + 1;
	for (int r = 0; r <= R; r++) {
		chunks[r] = chunk_lo(L, r);
		int64_t row = chunks[r] * L->chunk_size;
		rows[r] = row < L->rows_now ? row : L->rows_now;
		ranks[r] = r;
	}
	/* the interrupt rides along: sampled here, it reaches every rank in
	 * the same exchange, so all stop after the same batch */
	L->stops[L->rank] = L->stop_src && *L->stop_src;
	botify_dist_part parts[BOTIFY_DIST_MAX_PARTS] = {
		{ L->chunk_sse, sizeof(double), chunks },
		{ L->chunk_sse_neg, sizeof(double), chunks },
		{ L->stops, sizeof(int), ranks },
	};
	int n = 3;
	if (L->backward) {
		parts[n++] = (botify_dist_part){ L->chunk_grad, L->n_dense * sizeof(float), chunks };
		float *buf[BOTIFY_TT_SCATTER_INPUTS];
		size_t width[BOTIFY_TT_SCATTER_INPUTS];
		int k = botify_tt_scatter_inputs(L->m, &L->dacts, buf, width);
		for (int i = 0; i < k; i++)
			parts[n++] = (botify_dist_part){ buf[i], width[i] * sizeof(float), rows };
	}
	if (botify_dist_allgather_parts(parts, n, err) != 0)
		return -1;
	L->stop_any = 0;
	for (int r = 0; r < R; r++)
		L->stop_any |= L->stops[r];
	/* the starts' artists that forward looked up on the other ranks */
	if (L->backward)
		memcpy(L->acts.start_art, L->start_art, (size_t)L->rows_now * sizeof(int32_t));
	return 0;
}

/* The update of part `part` of T parts of the parameters, on worker w. */
static void update_part(struct loop *L, int w, int part, int T)
{
	botify_tt *m = L->m;
	/* dense layers: elements [lo, hi), the chunks summed in chunk order */
	size_t base = m->off[BOTIFY_TT_NEMB];
	size_t lo = L->n_dense * (size_t)part / (size_t)T;
	size_t hi = L->n_dense * (size_t)(part + 1) / (size_t)T;
	if (hi > lo) {
		float *g = m->grad_mem + base;
		memcpy(g + lo, L->chunk_grad + lo, (hi - lo) * sizeof(float));
		for (int c = 1; c < L->chunks_now; c++) {
			const float *cg = L->chunk_grad + (size_t)c * L->n_dense;
			for (size_t j = lo; j < hi; j++)
				g[j] += cg[j];
		}
		botify_adam_step(&L->adam, m->mem + base + lo, g + lo, m->m_mem + base + lo,
				 m->v_mem + base + lo, hi - lo);
	}
	/* embedding tables: rows of slice `part` */
	botify_tt_batch b = batch_of(L, L->rows_now);
	botify_tt_scatter(m, &L->dacts, &L->acts, &b, part, T);
	for (int k = 0; k < BOTIFY_TT_NEMB; k++) {
		if (!m->rows[k])
			continue;
		size_t o = m->off[k], E = m->cols[k];
		int32_t rlo = (int32_t)((int64_t)m->rows[k] * part / T);
		int32_t rhi = (int32_t)((int64_t)m->rows[k] * (part + 1) / T);
		if (L->dense_emb) {
			botify_adam_step_table(&L->adam, m->mem + o, m->grad_mem + o, m->m_mem + o,
					       m->v_mem + o, (int)E, rlo, rhi, L->stamp[k], L->t_now);
			continue;
		}
		int32_t *mine = L->mine[w];
		int64_t n = 0;
		for (int64_t i = 0; i < L->n_rows[k]; i++)
			if (L->rows[k][i] >= rlo && L->rows[k][i] < rhi)
				mine[n++] = L->rows[k][i];
		botify_adam_step_rows(&L->adam, m->mem + o, m->grad_mem + o, m->m_mem + o,
				      m->v_mem + o, mine, n, (int)E);
		for (int64_t i = 0; i < n; i++)
			memset(m->grad_mem + o + (size_t)mine[i] * E, 0, E * sizeof(float));
	}
}

static void run_update(void *ctx, int w)
{
	struct loop *L = ctx;
	for (int part; (part = atomic_fetch_add(&L->next, 1)) < UPDATE_PARTS;)
		update_part(L, w, part, UPDATE_PARTS);
}

static void sum_chunks(const struct loop *L, double *sse, double *sse_neg)
{
	*sse = *sse_neg = 0.0;
	for (int c = 0; c < L->chunks_now; c++) {
		*sse += L->chunk_sse[c];
		*sse_neg += L->chunk_sse_neg[c];
	}
}

/* Sum of squared errors over idx[0..n) with the current weights: of the
 * logged pairs into *sse and, when negatives are on, of negatives drawn
 * from `purpose` (the same ones at every call) into *sse_neg. */
static int eval_sse(struct loop *L, const int64_t *idx, int64_t n, uint64_t seed,
		    uint64_t purpose, double *sse, double *sse_neg, botify_err *err)
{
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TRAIN, seed, purpose, 0, 0);
	*sse = *sse_neg = 0.0;
	for (int64_t i = 0; i < n; i += L->B) {
		int B = (int)(n - i < L->B ? n - i : L->B);
		fill_batch(L, idx + i, B);
		int rows = add_negatives(L, B, &r);
		phase(L, rows, B, 0);
		atomic_store(&L->next, 0);
		pool_run(&L->pool, run_chunks, L);
		if (exchange(L, err) != 0)
			return -1;
		double s, sn;
		sum_chunks(L, &s, &sn);
		*sse += s;
		*sse_neg += sn;
	}
	return 0;
}

/* One optimizer step on the B rows in L; *sse = the SSE of the first
 * n_logged rows (the logged pairs). */
static int step(struct loop *L, int B, int n_logged, int64_t t, double *sse, botify_err *err)
{
	botify_tt *m = L->m;
	const int32_t *ids[BOTIFY_TT_NEMB] = { L->user, L->start, L->track, L->art };
	for (int k = 0; k < BOTIFY_TT_NEMB; k++) {
		L->n_rows[k] = 0;
		if (!m->rows[k])
			continue;
		/* the artist table is read by both towers when the start's artist
		 * joins the context */
		int passes = k == BOTIFY_TT_ARTIST_EMB && m->cfg.context_artist ? 2 : 1;
		for (int pass = 0; pass < passes; pass++) {
			const int32_t *id = pass ? L->start_art : ids[k];
			for (int i = 0; i < B; i++)
				if (L->stamp[k][id[i]] != t) {
					L->stamp[k][id[i]] = t;
					L->rows[k][L->n_rows[k]++] = id[i];
				}
		}
	}
	L->t_now = t;
	phase(L, B, n_logged, 1);
	atomic_store(&L->next, 0);
	pool_run(&L->pool, run_chunks, L);
	if (exchange(L, err) != 0)
		return -1;
	double sse_neg;
	sum_chunks(L, sse, &sse_neg);
	botify_adam_begin_step(&L->adam);
	atomic_store(&L->next, 0);
	pool_run(&L->pool, run_update, L);
	return 0;
}

static void loop_free(struct loop *L)
{
	pool_stop(&L->pool);
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
	if (L->mine)
		for (int w = 0; w < L->T; w++)
			free(L->mine[w]);
	free(L->mine);
	free(L->chunk_grad);
	free(L->bounds);
	free(L->stops);
}

static int loop_init(struct loop *L, botify_tt *m, const botify_pairs *p, const int32_t *artist,
		     int B, const botify_train_opts *o, botify_err *err)
{
	memset(L, 0, sizeof(*L));
	L->m = m;
	L->p = p;
	L->artist = artist;
	L->B = B;
	L->neg = (int)o->negatives;
	L->dense_emb = o->embedding_adam == BOTIFY_ADAM_DENSE;
	L->T = o->threads < 1 ? 1 : o->threads > 256 ? 256 : o->threads;
	L->N = (int32_t)m->cfg.N;
	L->rank = botify_dist_rank();
	L->ranks = botify_dist_size();
	L->n_dense = m->n_params - m->off[BOTIFY_TT_NEMB];
	B *= 1 + L->neg; /* buffers hold the negatives too */
	if (botify_tt_acts_init(&L->acts, m, B, err) != 0 ||
	    botify_tt_acts_init(&L->dacts, m, B, err) != 0)
		return -1;
	L->user = botify_malloc((size_t)B, sizeof(int32_t), "batch", err);
	L->start = botify_malloc((size_t)B, sizeof(int32_t), "batch", err);
	L->track = botify_malloc((size_t)B, sizeof(int32_t), "batch", err);
	L->art = botify_malloc((size_t)B, sizeof(int32_t), "batch", err);
	L->y = botify_malloc((size_t)B, sizeof(float), "batch", err);
	L->start_art = botify_malloc((size_t)B, sizeof(int32_t), "batch", err);
	L->chunk_grad = botify_calloc((size_t)chunk_count(B), L->n_dense ? L->n_dense * sizeof(float) : 1,
				      "gradients per chunk", err);
	L->mine = botify_calloc((size_t)L->T, sizeof(int32_t *), "batch rows", err);
	L->bounds = botify_calloc(3 * ((size_t)L->ranks + 1), sizeof(int64_t), "ranks", err);
	L->stops = botify_calloc((size_t)L->ranks, sizeof(int), "ranks", err);
	L->stop_src = o->stop;
	if (!L->bounds || !L->stops || !L->user || !L->start || !L->track || !L->art || !L->y || !L->start_art ||
	    !L->chunk_grad || !L->mine)
		return -1;
	for (int w = 0; w < L->T; w++)
		if (!(L->mine[w] = botify_malloc((size_t)B, 2 * sizeof(int32_t), "batch rows", err)))
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
	return pool_start(&L->pool, L->T, err);
}

double botify_train_same_artist_share(const botify_pairs *p, const int32_t *artist)
{
	int64_t same = 0;
	for (int64_t i = 0; i < p->n; i++)
		same += artist[p->track[i]] == artist[p->start[i]];
	return p->n ? (double)same / (double)p->n : 0.0;
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

/* Takes o->split (checked against p) or draws the 80/10/10 split. */
static int make_split(botify_split *sp, const botify_pairs *p, const botify_train_opts *o,
		      botify_err *err)
{
	int64_t n = p->n;
	memset(sp, 0, sizeof(*sp));
	if (o->split) {
		const botify_split *in = o->split;
		int64_t total = in->n[0] + in->n[1] + in->n[2];
		if (in->n_pairs != n)
			return botify_fail(err, BOTIFY_EINVAL,
					   "the split is of %lld pairs but the logs hold %lld: it was written for other logs",
					   (long long)in->n_pairs, (long long)n);
		if (in->n[0] < 1 || in->n[1] < 1 || in->n[2] < 1)
			return botify_fail(err, BOTIFY_EINVAL, "the split needs train, val and test pairs (%lld/%lld/%lld)",
					   (long long)in->n[0], (long long)in->n[1], (long long)in->n[2]);
		unsigned char *seen = botify_calloc((size_t)n, 1, "split", err);
		if (!seen)
			return -1;
		for (int64_t i = 0; i < total; i++) {
			int64_t k = in->idx[i];
			if (k < 0 || k >= n || seen[k]) {
				free(seen);
				return botify_fail(err, BOTIFY_EINVAL, "split: pair %lld %s", (long long)k,
						   k < 0 || k >= n ? "out of range" : "listed twice");
			}
			seen[k] = 1;
		}
		free(seen);
		sp->idx = botify_malloc((size_t)total, sizeof(int64_t), "split", err);
		if (!sp->idx)
			return -1;
		memcpy(sp->idx, in->idx, (size_t)total * sizeof(int64_t));
		sp->n_pairs = n;
		memcpy(sp->n, in->n, sizeof(sp->n));
		return 0;
	}
	int64_t n_val = n / 10, n_test = n / 10, n_train = n - n_val - n_test;
	if (n_val < 1 || n_train < 1)
		return botify_fail(err, BOTIFY_EINVAL,
				   "only %lld training pairs in the logs: need at least 10 for an 80/10/10 split",
				   (long long)n);
	sp->idx = botify_malloc((size_t)n, sizeof(int64_t), "pair order", err);
	if (!sp->idx)
		return -1;
	for (int64_t i = 0; i < n; i++)
		sp->idx[i] = i;
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TRAIN, o->seed, PURPOSE_SPLIT, 0, 0);
	shuffle(sp->idx, n, &r);
	sp->n_pairs = n;
	sp->n[0] = n_train;
	sp->n[1] = n_val;
	sp->n[2] = n_test;
	return 0;
}

static int diverged(botify_err *err, int64_t epoch, const char *what, double v, double lr)
{
	return botify_fail(err, BOTIFY_ERUNTIME,
			   "training diverged: the %s became non-finite (%g) in epoch %lld, so there is no model worth saving; "
			   "check the logs' listen times (they should lie in [0, 1]) or lower --lr (it was %g)",
			   what, v, (long long)epoch, lr);
}

/* One pass over the training pairs in a fresh order: its SSE on logged
 * pairs into *sse over *done pairs; 1 when *o->stop cut it short. Step t
 * counts on across epochs (the sparse rows' stamps). */
static int run_epoch(struct loop *L, int64_t *train, int64_t n_train, int64_t epoch, double lr,
		     const botify_train_opts *o, int64_t *t, double *sse, int64_t *done,
		     botify_err *err)
{
	botify_rng r, rneg;
	botify_rng_init(&r, BOTIFY_RNG_TRAIN, o->seed, PURPOSE_EPOCH, (uint64_t)epoch, 0);
	shuffle(train, n_train, &r);
	botify_rng_init(&rneg, BOTIFY_RNG_TRAIN, o->seed, PURPOSE_NEG, (uint64_t)epoch, 0);
	L->adam.lr = (float)lr;
	*sse = 0.0;
	*done = 0;
	for (int64_t i = 0; i < n_train; i += L->B) {
		int b = (int)(n_train - i < L->B ? n_train - i : L->B);
		fill_batch(L, train + i, b);
		int rows = add_negatives(L, b, &rneg);
		double s;
		if (step(L, rows, b, (*t)++, &s, err) != 0)
			return -1;
		if (!isfinite(s))
			return diverged(err, epoch, "training loss", s / b, lr);
		*sse += s;
		*done += b;
		if (o->on_batch)
			o->on_batch(o->ctx, epoch, *done, n_train);
		/* ranks: every rank stops after the same batch (the flags of
		 * the step's exchange), or the others would wait for it */
		if (L->ranks > 1 ? L->stop_any : o->stop && *o->stop)
			return 1;
	}
	return 0;
}

/* What early stopping and the LR schedule know between epochs. */
struct plateau {
	double lr;
	double best_val, best_val_mse; /* the best epoch's objective and MSE */
	double sched_best;             /* ReduceLROnPlateau's best */
	int64_t bad_lr, bad_stop;      /* epochs without improvement, per rule */
};

static void plateau_init(struct plateau *pl, double lr)
{
	*pl = (struct plateau){ lr, INFINITY, INFINITY, INFINITY, 0, 0 };
}

/* Takes an epoch's validation objective (and MSE): 1 when it is the best
 * so far (the caller keeps the weights). */
static int plateau_best(struct plateau *pl, double val_obj, double val_mse)
{
	if (val_obj < pl->best_val) {
		pl->best_val = val_obj;
		pl->best_val_mse = val_mse;
		pl->bad_stop = 0;
		return 1;
	}
	pl->bad_stop++;
	return 0;
}

/* The LR for the next epoch (ReduceLROnPlateau: relative threshold 1e-4,
 * cooldown 0); 1 when early stopping ends training. */
static int plateau_next(struct plateau *pl, double val_obj, const botify_train_opts *o)
{
	if (val_obj < pl->sched_best * (1.0 - 1e-4)) {
		pl->sched_best = val_obj;
		pl->bad_lr = 0;
	} else if (++pl->bad_lr > o->lr_patience) {
		pl->lr *= o->lr_factor;
		pl->bad_lr = 0;
	}
	return pl->bad_stop >= o->patience;
}

/* The test MSE of the baselines: the training mean, and uniform random
 * predictions. */
static void baselines(botify_train_result *res, const botify_pairs *p, const int64_t *train,
		      int64_t n_train, const int64_t *test, int64_t n_test, uint64_t seed)
{
	double mean = 0.0, avg = 0.0, rdm = 0.0;
	for (int64_t i = 0; i < n_train; i++)
		mean += p->time[train[i]];
	mean /= (double)n_train;
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TRAIN, seed, PURPOSE_RDM, 0, 0);
	for (int64_t i = 0; i < n_test; i++) {
		double y = p->time[test[i]], u = botify_rng_uniform(&r);
		avg += (mean - y) * (mean - y);
		rdm += (u - y) * (u - y);
	}
	res->train_mean = mean;
	res->avg_mse = n_test ? avg / (double)n_test : 0.0;
	res->rdm_mse = n_test ? rdm / (double)n_test : 0.0;
}

/* What inference needs to know about users: pairs per user, the mean user
 * and each user's context. */
static int user_stats(botify_tt *m, const botify_pairs *p, const int64_t *train, int64_t n_train,
		      botify_err *err)
{
	memset(m->user_pairs, 0, (size_t)m->cfg.U * sizeof(float));
	for (int64_t i = 0; i < n_train; i++)
		m->user_pairs[p->user[train[i]]] += 1.0f;
	botify_tt_update_user_mean(m);
	return botify_train_user_contexts(m, p, err);
}

int botify_train(botify_tt *m, const botify_pairs *p, const int32_t *artist,
		 const botify_train_opts *o, botify_train_result *res, botify_err *err)
{
	memset(res, 0, sizeof(*res));
	m->track_artist = artist; /* the start's artist, for context_artist models */
	if (o->batch < 1 || o->batch > (1 << 24))
		return botify_fail(err, BOTIFY_EINVAL, "batch size %lld out of range", (long long)o->batch);
	if (o->negatives < 0 || o->negatives > 100)
		return botify_fail(err, BOTIFY_EINVAL, "%lld negatives per pair out of range (0 to 100)",
				   (long long)o->negatives);
	if (make_split(&res->split, p, o, err) != 0)
		return -1;
	int64_t n_train = res->split.n[0], n_val = res->split.n[1], n_test = res->split.n[2];
	res->n_train = n_train;
	res->n_val = n_val;
	res->n_test = n_test;

	struct loop L;
	memset(&L, 0, sizeof(L));
	int64_t *idx = NULL;
	float *best = NULL;
	int rc = -1;
	int B = (int)(o->batch < n_train ? o->batch : n_train);
	if ((int64_t)B * (1 + o->negatives) > (1 << 26)) {
		botify_fail(err, BOTIFY_EINVAL, "batch %d with %lld negatives per pair is too large", B,
			    (long long)o->negatives);
		goto out;
	}
	if (loop_init(&L, m, p, artist, B, o, err) != 0 || botify_tt_alloc_training(m, err) != 0)
		goto out;
	idx = botify_malloc((size_t)(n_train + n_val + n_test), sizeof(int64_t), "pair order", err);
	best = botify_malloc(m->n_params, sizeof(float), "best weights", err);
	res->history = botify_calloc((size_t)(o->epochs > 0 ? o->epochs : 1), sizeof(botify_epoch_stats),
				     "training history", err);
	if (!idx || !best || !res->history)
		goto out;
	memcpy(idx, res->split.idx, (size_t)(n_train + n_val + n_test) * sizeof(int64_t));
	int64_t *train = idx, *val = idx + n_train, *test = idx + n_train + n_val;

	botify_adam_init(&L.adam, (float)o->lr, (float)o->weight_decay);
	struct plateau pl;
	plateau_init(&pl, o->lr);
	int64_t t = 0;
	memcpy(best, m->mem, m->n_params * sizeof(float));
	res->stop_reason = BOTIFY_STOP_MAX_EPOCHS;
	for (int64_t epoch = 1; epoch <= o->epochs; epoch++) {
		double t0 = seconds_now(), sse;
		int64_t done;
		int interrupted = run_epoch(&L, train, n_train, epoch, pl.lr, o, &t, &sse, &done, err);
		if (interrupted < 0)
			goto out;
		double t1 = seconds_now();
		double vs, vs_neg;
		if (eval_sse(&L, val, n_val, o->seed, PURPOSE_NEG_VAL, &vs, &vs_neg, err) != 0)
			goto out;
		double val_mse = vs / (double)n_val;
		/* what early stopping and the LR schedule watch: the training
		 * objective, negatives included, so that they keep the epoch that
		 * ranks best rather than the one that fits logged pairs best */
		double val_obj = (vs + vs_neg) / (double)(n_val * (1 + o->negatives));
		if (!isfinite(val_obj)) {
			diverged(err, epoch, "validation loss", val_obj, pl.lr);
			goto out;
		}
		/* an interrupted epoch is recorded too, marked partial: its weights
		 * count if they validate better, and best_epoch must name a row of
		 * the history */
		botify_epoch_stats *e = &res->history[res->epochs++];
		e->epoch = epoch;
		e->train_mse = done ? sse / (double)done : 0.0;
		e->val_mse = val_mse;
		e->val_objective = val_obj;
		e->lr = pl.lr;
		e->samples_per_s = t1 > t0 ? (double)done / (t1 - t0) : 0.0;
		e->partial = interrupted;
		if (plateau_best(&pl, val_obj, val_mse)) {
			res->best_epoch = epoch;
			memcpy(best, m->mem, m->n_params * sizeof(float));
			e->improved = 1;
		}
		e->seconds = seconds_now() - t0;
		if (interrupted) {
			res->stop_reason = BOTIFY_STOP_INTERRUPTED;
			break;
		}
		int stop = plateau_next(&pl, val_obj, o);
		if (o->on_epoch)
			o->on_epoch(o->ctx, e);
		if (stop) {
			res->stop_reason = BOTIFY_STOP_EARLY;
			break;
		}
	}
	memcpy(m->mem, best, m->n_params * sizeof(float));
	res->best_val_mse = pl.best_val_mse;
	res->best_val_objective = pl.best_val;
	double ts, ts_neg;
	if (eval_sse(&L, test, n_test, o->seed, PURPOSE_NEG_TEST, &ts, &ts_neg, err) != 0)
		goto out;
	res->test_mse = ts / (double)(n_test ? n_test : 1);
	res->test_neg_mse = o->negatives ? ts_neg / (double)(n_test * o->negatives) : 0.0;
	baselines(res, p, train, n_train, test, n_test, o->seed);
	if (user_stats(m, p, train, n_train, err) != 0)
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

void botify_split_free(botify_split *s)
{
	free(s->idx);
	memset(s, 0, sizeof(*s));
}

static const char *const split_names[3] = { "train", "val", "test" };

int botify_split_write(const botify_split *s, const char *path, int force, botify_err *err)
{
	botify_outfile f;
	if (botify_outfile_open(&f, path, force, err) != 0)
		return -1;
	char buf[1 << 16];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "{\"pairs\": %lld", (long long)s->n_pairs);
	const int64_t *idx = s->idx;
	for (int part = 0; part < 3; part++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, ",\n\"%s\": [", split_names[part]);
		for (int64_t i = 0; i < s->n[part]; i++) {
			if (len > sizeof(buf) - 32) {
				if (botify_outfile_write(&f, buf, len, err) != 0)
					goto fail;
				len = 0;
			}
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%lld", i ? "," : "",
						(long long)*idx++);
		}
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "]");
	}
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "}\n");
	if (botify_outfile_write(&f, buf, len, err) != 0 || botify_outfile_commit(&f, err) != 0)
		goto fail;
	return 0;
fail:
	botify_outfile_abort(&f);
	return -1;
}

/* a split of 2^31 pairs is 20 GB of JSON: far past any log botify reads */
#define SPLIT_MAX_BYTES ((long long)1 << 34)

int botify_split_read(botify_split *s, const char *path, botify_err *err)
{
	memset(s, 0, sizeof(*s));
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return botify_fail_errno(err, errno, "cannot open split '%s'", path);
	struct stat st;
	char *text = NULL;
	cJSON *root = NULL;
	int rc = -1;
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		botify_fail(err, BOTIFY_EIO, "%s: not a regular file", path);
		goto out;
	}
	if ((long long)st.st_size > SPLIT_MAX_BYTES) {
		botify_fail(err, BOTIFY_EFORMAT, "%s: %lld bytes is too large for a split", path,
			    (long long)st.st_size);
		goto out;
	}
	text = botify_malloc((size_t)st.st_size + 1, 1, "split", err);
	if (!text)
		goto out;
	size_t got = fread(text, 1, (size_t)st.st_size, fp);
	if (got != (size_t)st.st_size) {
		botify_fail(err, BOTIFY_EIO, "%s: short read", path);
		goto out;
	}
	text[got] = 0;
	root = cJSON_ParseWithLength(text, got);
	if (!root || !cJSON_IsObject(root)) {
		botify_fail(err, BOTIFY_EFORMAT, "%s: not a JSON object", path);
		goto out;
	}
	const cJSON *np = cJSON_GetObjectItemCaseSensitive(root, "pairs");
	if (!cJSON_IsNumber(np) || np->valuedouble < 0 || np->valuedouble > 9007199254740992.0 ||
	    np->valuedouble != (double)(int64_t)np->valuedouble) {
		botify_fail(err, BOTIFY_EFORMAT, "%s: \"pairs\" must be a count", path);
		goto out;
	}
	s->n_pairs = (int64_t)np->valuedouble;
	const cJSON *parts[3];
	int64_t total = 0;
	for (int k = 0; k < 3; k++) {
		parts[k] = cJSON_GetObjectItemCaseSensitive(root, split_names[k]);
		if (!cJSON_IsArray(parts[k])) {
			botify_fail(err, BOTIFY_EFORMAT, "%s: \"%s\" must be an array of pair indices", path,
				    split_names[k]);
			goto out;
		}
		s->n[k] = cJSON_GetArraySize(parts[k]);
		total += s->n[k];
	}
	s->idx = botify_malloc((size_t)(total ? total : 1), sizeof(int64_t), "split", err);
	if (!s->idx)
		goto out;
	int64_t i = 0;
	for (int k = 0; k < 3; k++) {
		const cJSON *v;
		cJSON_ArrayForEach(v, parts[k]) {
			if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= (double)s->n_pairs ||
			    v->valuedouble != (double)(int64_t)v->valuedouble) {
				botify_fail(err, BOTIFY_EFORMAT, "%s: \"%s\" item %lld is not a pair index in [0, %lld)",
					    path, split_names[k], (long long)(i - (k ? s->n[0] : 0) - (k > 1 ? s->n[1] : 0)),
					    (long long)s->n_pairs);
				goto out;
			}
			s->idx[i++] = (int64_t)v->valuedouble;
		}
	}
	rc = 0;
out:
	cJSON_Delete(root);
	free(text);
	fclose(fp);
	if (rc != 0)
		botify_split_free(s);
	return rc;
}
