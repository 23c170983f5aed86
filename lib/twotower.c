/*
 * twotower.c - the model: parameter layout, forward/backward as a straight
 * list of layer calls (backward in exact reverse order) and the context and
 * item vectors inference ranks by. Its directory is twotower_io.c.
 */
#include "twotower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "rng.h"

static const char *const tensor_names[BOTIFY_TT_NTENSORS] = {
	[BOTIFY_TT_USER_EMB] = "user_emb",
	[BOTIFY_TT_START_EMB] = "start_emb",
	[BOTIFY_TT_TRACK_EMB] = "track_emb",
	[BOTIFY_TT_ARTIST_EMB] = "artist_emb",
	[BOTIFY_TT_CTX_W1] = "ctx_w1",
	[BOTIFY_TT_CTX_B1] = "ctx_b1",
	[BOTIFY_TT_CTX_W2] = "ctx_w2",
	[BOTIFY_TT_CTX_B2] = "ctx_b2",
	[BOTIFY_TT_CTX_W3] = "ctx_w3",
	[BOTIFY_TT_CTX_B3] = "ctx_b3",
	[BOTIFY_TT_ITEM_W1] = "item_w1",
	[BOTIFY_TT_ITEM_B1] = "item_b1",
	[BOTIFY_TT_ITEM_W2] = "item_w2",
	[BOTIFY_TT_ITEM_B2] = "item_b2",
	[BOTIFY_TT_ITEM_W3] = "item_w3",
	[BOTIFY_TT_ITEM_B3] = "item_b3",
	[BOTIFY_TT_USER_LIN_W] = "user_lin_w",
	[BOTIFY_TT_USER_LIN_B] = "user_lin_b",
};

const char *botify_tt_tensor_name(int i)
{
	return i >= 0 && i < BOTIFY_TT_NTENSORS ? tensor_names[i] : NULL;
}

const char *botify_tt_arch_name(int arch)
{
	switch (arch) {
	case BOTIFY_ARCH_TWO_TOWER:
		return "two-tower";
	case BOTIFY_ARCH_DOT:
		return "dot";
	case BOTIFY_ARCH_SUM:
		return "sum";
	case BOTIFY_ARCH_HYBRID:
		return "hybrid";
	default:
		return NULL;
	}
}

int botify_tt_arch_parse(const char *name)
{
	for (int a = 0; a < BOTIFY_TT_NARCH; a++)
		if (!strcmp(name, botify_tt_arch_name(a)))
			return a;
	return -1;
}

/* The named pointers of a params struct, in tensor order (llm.c's ptrs[]). */
static float **tensor_ptrs(botify_tt_params *p, float **out[BOTIFY_TT_NTENSORS])
{
	float **ptrs[BOTIFY_TT_NTENSORS] = {
		[BOTIFY_TT_USER_EMB] = &p->user_emb,
		[BOTIFY_TT_START_EMB] = &p->start_emb,
		[BOTIFY_TT_TRACK_EMB] = &p->track_emb,
		[BOTIFY_TT_ARTIST_EMB] = &p->artist_emb,
		[BOTIFY_TT_CTX_W1] = &p->ctx_w1,
		[BOTIFY_TT_CTX_B1] = &p->ctx_b1,
		[BOTIFY_TT_CTX_W2] = &p->ctx_w2,
		[BOTIFY_TT_CTX_B2] = &p->ctx_b2,
		[BOTIFY_TT_CTX_W3] = &p->ctx_w3,
		[BOTIFY_TT_CTX_B3] = &p->ctx_b3,
		[BOTIFY_TT_ITEM_W1] = &p->item_w1,
		[BOTIFY_TT_ITEM_B1] = &p->item_b1,
		[BOTIFY_TT_ITEM_W2] = &p->item_w2,
		[BOTIFY_TT_ITEM_B2] = &p->item_b2,
		[BOTIFY_TT_ITEM_W3] = &p->item_w3,
		[BOTIFY_TT_ITEM_B3] = &p->item_b3,
		[BOTIFY_TT_USER_LIN_W] = &p->user_lin_w,
		[BOTIFY_TT_USER_LIN_B] = &p->user_lin_b,
	};
	memcpy(out, ptrs, sizeof(ptrs));
	return out[0];
}

static void point_params(botify_tt_params *p, float *mem, const botify_tt *m)
{
	float **ptrs[BOTIFY_TT_NTENSORS];
	tensor_ptrs(p, ptrs);
	for (int i = 0; i < BOTIFY_TT_NTENSORS; i++)
		*ptrs[i] = m->rows[i] && m->cols[i] ? mem + m->off[i] : NULL;
}

/* width of the context tower's input: concat(user, start[, start's artist]) */
static size_t ctx_in(const botify_tt_config *c)
{
	return (size_t)c->E * (c->context_artist ? 3 : 2);
}

/* rows x cols of tensor i under cfg (0 x 0 when the arch does not use it);
 * biases are (n x 1) and saved 1-dimensional. */
static void tensor_shape(const botify_tt_config *c, int i, size_t *rows, size_t *cols)
{
	int tt = c->arch == BOTIFY_ARCH_TWO_TOWER;
	size_t E = (size_t)c->E, H = (size_t)c->H, O = (size_t)c->OUT;
	size_t r = 0, k = 1;
	switch ((enum botify_tt_tensor)i) {
	case BOTIFY_TT_USER_EMB: r = c->arch == BOTIFY_ARCH_DOT ? 0 : (size_t)c->U; k = E; break;
	case BOTIFY_TT_START_EMB: r = (size_t)c->N; k = E; break;
	case BOTIFY_TT_TRACK_EMB: r = (size_t)c->N; k = E; break;
	case BOTIFY_TT_ARTIST_EMB: r = tt ? (size_t)c->A : 0; k = E; break;
	case BOTIFY_TT_CTX_W1: r = tt ? H : 0; k = ctx_in(c); break;
	case BOTIFY_TT_ITEM_W1: r = tt ? H : 0; k = 2 * E; break;
	case BOTIFY_TT_CTX_B1: case BOTIFY_TT_ITEM_B1: r = tt ? H : 0; break;
	case BOTIFY_TT_CTX_W2: case BOTIFY_TT_ITEM_W2: r = tt ? H : 0; k = H; break;
	case BOTIFY_TT_CTX_B2: case BOTIFY_TT_ITEM_B2: r = tt ? H : 0; break;
	case BOTIFY_TT_CTX_W3: case BOTIFY_TT_ITEM_W3: r = tt ? O : 0; k = H; break;
	case BOTIFY_TT_CTX_B3: case BOTIFY_TT_ITEM_B3: r = tt ? O : 0; break;
	case BOTIFY_TT_USER_LIN_W: r = c->arch == BOTIFY_ARCH_HYBRID ? 1 : 0; k = E; break;
	case BOTIFY_TT_USER_LIN_B: r = c->arch == BOTIFY_ARCH_HYBRID ? 1 : 0; break;
	case BOTIFY_TT_NTENSORS: break;
	}
	*rows = r;
	*cols = r ? k : 0;
}

int botify_tt_tensor_is_bias(int i)
{
	return i >= BOTIFY_TT_NEMB && (i - BOTIFY_TT_NEMB) % 2 == 1;
}

int botify_tt_config_check(const botify_tt_config *c, botify_err *err)
{
	if (!botify_tt_arch_name(c->arch))
		return botify_fail(err, BOTIFY_EINVAL, "unknown arch %d", c->arch);
	if (c->U < 1 || c->N < 1 || c->A < 1)
		return botify_fail(err, BOTIFY_EINVAL, "model vocabularies must be >= 1 (users %d, tracks %d, artists %d)",
				   c->U, c->N, c->A);
	if (c->E < 1 || c->E > 4096 || c->H < 1 || c->H > 16384 || c->OUT < 1 || c->OUT > 4096)
		return botify_fail(err, BOTIFY_EINVAL, "model sizes out of range (emb %d, hidden %d, out %d)",
				   c->E, c->H, c->OUT);
	if (c->context_artist && c->arch != BOTIFY_ARCH_TWO_TOWER)
		return botify_fail(err, BOTIFY_EINVAL, "context_artist needs arch two-tower");
	if (c->arch != BOTIFY_ARCH_TWO_TOWER && c->OUT != c->E)
		return botify_fail(err, BOTIFY_EINVAL, "arch %s needs out == emb (%d != %d)",
				   botify_tt_arch_name(c->arch), c->OUT, c->E);
	return 0;
}

int botify_tt_alloc(botify_tt *m, const botify_tt_config *cfg, botify_err *err)
{
	memset(m, 0, sizeof(*m));
	if (botify_tt_config_check(cfg, err) != 0)
		return -1;
	m->cfg = *cfg;
	size_t total = 0;
	for (int i = 0; i < BOTIFY_TT_NTENSORS; i++) {
		size_t n;
		tensor_shape(cfg, i, &m->rows[i], &m->cols[i]);
		if (botify_size_mul(m->rows[i], m->cols[i], &n) != 0 ||
		    botify_size_add(total, n, &total) != 0)
			return botify_fail(err, BOTIFY_ENOMEM, "model too large");
		m->off[i] = total - n;
	}
	m->n_params = total;
	m->mem = botify_calloc(total, sizeof(float), "model parameters", err);
	m->user_pairs = botify_calloc((size_t)cfg->U, sizeof(float), "model users", err);
	m->user_context = m->user_pairs ? botify_calloc((size_t)cfg->U * (size_t)cfg->OUT, sizeof(float),
							"model user contexts", err) : NULL;
	m->user_mean = m->user_context ? botify_calloc((size_t)cfg->E, sizeof(float), "model", err) : NULL;
	if (!m->mem || !m->user_mean) {
		botify_tt_free(m);
		return -1;
	}
	point_params(&m->params, m->mem, m);
	return 0;
}

int botify_tt_init(botify_tt *m, const botify_tt_config *cfg, uint64_t seed, botify_err *err)
{
	if (botify_tt_alloc(m, cfg, err) != 0)
		return -1;
	float **ptrs[BOTIFY_TT_NTENSORS];
	tensor_ptrs(&m->params, ptrs);
	for (int i = 0; i < BOTIFY_TT_NTENSORS; i++) {
		size_t n = m->rows[i] * m->cols[i];
		float *p = *ptrs[i];
		botify_rng r;
		/* one stream per tensor: a tensor's values do not depend on the others' sizes */
		botify_rng_init(&r, BOTIFY_RNG_MODEL_INIT, seed, (uint64_t)i, 0, 0);
		if (i < BOTIFY_TT_NEMB) {
			double sd = m->cfg.arch == BOTIFY_ARCH_TWO_TOWER ? 1.0 : 0.1;
			for (size_t k = 0; k < n; k++)
				p[k] = (float)(sd * botify_rng_normal(&r));
		} else {
			/* fan-in of the layer this weight or bias belongs to */
			int w = botify_tt_tensor_is_bias(i) ? i - 1 : i;
			double bound = 1.0 / sqrt((double)m->cols[w]);
			for (size_t k = 0; k < n; k++)
				p[k] = (float)((2.0 * botify_rng_uniform(&r) - 1.0) * bound);
		}
	}
	return 0;
}

int botify_tt_alloc_training(botify_tt *m, botify_err *err)
{
	m->grad_mem = botify_calloc(m->n_params, sizeof(float), "gradients", err);
	m->m_mem = m->grad_mem ? botify_calloc(m->n_params, sizeof(float), "Adam moments", err) : NULL;
	m->v_mem = m->m_mem ? botify_calloc(m->n_params, sizeof(float), "Adam moments", err) : NULL;
	if (!m->v_mem)
		return -1;
	point_params(&m->grads, m->grad_mem, m);
	return 0;
}

void botify_tt_free(botify_tt *m)
{
	free(m->mem);
	free(m->grad_mem);
	free(m->m_mem);
	free(m->v_mem);
	free(m->user_pairs);
	free(m->user_context);
	free(m->user_mean);
	memset(m, 0, sizeof(*m));
}

/* the activation buffers in their order in mem, with their widths (floats per row) */
enum { N_ACTS = 21 };
static void acts_fields(botify_tt_acts *a, float **seq[N_ACTS])
{
	float **s[N_ACTS] = { &a->xc, &a->h1c, &a->a1c, &a->h2c, &a->a2c, &a->h3c,
			      &a->xi, &a->h1i, &a->a1i, &a->h2i, &a->a2i, &a->h3i,
			      &a->ub, &a->sb, &a->oc, &a->oi, &a->pred,
			      &a->ut, &a->lin, &a->sdot, &a->z };
	memcpy(seq, s, sizeof(s));
}

static void acts_widths(const botify_tt *m, size_t width[N_ACTS])
{
	size_t E = (size_t)m->cfg.E, H = (size_t)m->cfg.H, O = (size_t)m->cfg.OUT;
	size_t w[N_ACTS] = { ctx_in(&m->cfg), H, H, H, H, O, 2 * E, H, H, H, H, O, E, E, O, O, 1,
			     E, 1, 1, 1 };
	memcpy(width, w, sizeof(w));
}

int botify_tt_acts_init(botify_tt_acts *a, const botify_tt *m, int cap, botify_err *err)
{
	memset(a, 0, sizeof(*a));
	size_t B = (size_t)cap, width[N_ACTS], per_row = 0;
	acts_widths(m, width);
	for (int i = 0; i < N_ACTS; i++)
		per_row += width[i];
	a->mem = botify_calloc(B, per_row * sizeof(float), "activations", err);
	a->start_art = a->mem ? botify_calloc(B, sizeof(int32_t), "activations", err) : NULL;
	if (!a->start_art) {
		botify_tt_acts_free(a);
		return -1;
	}
	a->cap = cap;
	a->n = B * per_row;
	float *p = a->mem;
	float **seq[N_ACTS];
	acts_fields(a, seq);
	for (int i = 0; i < N_ACTS; i++) {
		*seq[i] = p;
		p += B * width[i];
	}
	return 0;
}

void botify_tt_acts_rows(const botify_tt *m, const botify_tt_acts *a, int r0, int n,
			 botify_tt_acts *view)
{
	if (r0 < 0 || n < 0 || r0 + n > a->cap)
		BOTIFY_BUG("rows [%d, %d) of activations of %d", r0, r0 + n, a->cap);
	*view = *a;
	view->cap = n;
	view->mem = NULL; /* a view owns nothing */
	view->n = 0;
	view->start_art = a->start_art + r0;
	size_t width[N_ACTS];
	acts_widths(m, width);
	float **seq[N_ACTS];
	acts_fields(view, seq);
	for (int i = 0; i < N_ACTS; i++)
		*seq[i] += (size_t)r0 * width[i];
}

/* zeroes rows [0, B) of every buffer of a (a view or a whole block) */
static void acts_zero_rows(const botify_tt *m, botify_tt_acts *a, int B)
{
	size_t width[N_ACTS];
	acts_widths(m, width);
	float **seq[N_ACTS];
	acts_fields(a, seq);
	for (int i = 0; i < N_ACTS; i++)
		memset(*seq[i], 0, (size_t)B * width[i] * sizeof(float));
}

void botify_tt_acts_zero(botify_tt_acts *a, int B)
{
	/* zeroing only each buffer's first B rows would need the widths again;
	 * only the last batch of an epoch is short, so zero it all */
	(void)B;
	memset(a->mem, 0, a->n * sizeof(float));
}

void botify_tt_acts_free(botify_tt_acts *a)
{
	free(a->mem);
	free(a->start_art);
	memset(a, 0, sizeof(*a));
}

/* one tower from its input x (B, IN) to its output o (B, OUT) */
static void tower_forward(const float *x, float *h1, float *a1, float *h2, float *a2, float *h3,
			  float *o, const float *w1, const float *b1, const float *w2,
			  const float *b2, const float *w3, const float *b3, int B, int IN, int H,
			  int OUT)
{
	nn_linear_forward(h1, x, w1, b1, B, IN, H);
	nn_leaky_relu_forward(a1, h1, (int64_t)B * H, BOTIFY_TT_SLOPE);
	nn_linear_forward(h2, a1, w2, b2, B, H, H);
	nn_leaky_relu_forward(a2, h2, (int64_t)B * H, BOTIFY_TT_SLOPE);
	nn_linear_forward(h3, a2, w3, b3, B, H, OUT);
	nn_leaky_relu_forward(o, h3, (int64_t)B * OUT, BOTIFY_TT_SLOPE);
}

/* the exact reverse of tower_forward; d* are the gradient buffers */
static void tower_backward(float *dx, float *dh1, float *da1, float *dh2, float *da2, float *dh3,
			   const float *dout, const float *x, const float *h1, const float *a1,
			   const float *h2, const float *a2, const float *h3, float *dw1, float *db1,
			   float *dw2, float *db2, float *dw3, float *db3, const float *w1,
			   const float *w2, const float *w3, int B, int IN, int H, int OUT)
{
	nn_leaky_relu_backward(dh3, dout, h3, (int64_t)B * OUT, BOTIFY_TT_SLOPE);
	nn_linear_backward(da2, dw3, db3, dh3, a2, w3, B, H, OUT);
	nn_leaky_relu_backward(dh2, da2, h2, (int64_t)B * H, BOTIFY_TT_SLOPE);
	nn_linear_backward(da1, dw2, db2, dh2, a1, w2, B, H, H);
	nn_leaky_relu_backward(dh1, da1, h1, (int64_t)B * H, BOTIFY_TT_SLOPE);
	nn_linear_backward(dx, dw1, db1, dh1, x, w1, B, IN, H);
}

static void context_tower(const botify_tt *m, botify_tt_acts *a, int B)
{
	const botify_tt_params *p = &m->params;
	const botify_tt_config *c = &m->cfg;
	if (c->arch == BOTIFY_ARCH_TWO_TOWER)
		tower_forward(a->xc, a->h1c, a->a1c, a->h2c, a->a2c, a->h3c, a->oc, p->ctx_w1, p->ctx_b1,
			      p->ctx_w2, p->ctx_b2, p->ctx_w3, p->ctx_b3, B, (int)ctx_in(c), c->H, c->OUT);
	else if (c->arch == BOTIFY_ARCH_SUM)
		nn_add_forward(a->oc, a->ub, a->sb, (int64_t)B * c->E);
	else if (c->arch == BOTIFY_ARCH_HYBRID)
		/* inference only: oc = start + w * user, so oc . track is the logit
		 * minus the bias (training runs hybrid_head instead) */
		for (int i = 0; i < B; i++) {
			size_t r = (size_t)i * c->E;
			for (int e = 0; e < c->E; e++)
				a->oc[r + e] = a->sb[r + e] + p->user_lin_w[e] * a->ub[r + e];
		}
	/* dot: oc already holds the start embeddings */
}

/* hybrid: pred (B) = sigmoid(start . track + Linear(user * track)) */
static void hybrid_head(const botify_tt *m, botify_tt_acts *a, int B)
{
	const botify_tt_params *p = &m->params;
	int E = m->cfg.E;
	nn_rowdot_forward(a->sdot, a->sb, a->oi, B, E);                       /* (B) */
	nn_mul_forward(a->ut, a->ub, a->oi, (int64_t)B * E);                  /* (B,E) */
	nn_linear_forward(a->lin, a->ut, p->user_lin_w, p->user_lin_b, B, E, 1); /* (B,1) */
	nn_add_forward(a->z, a->sdot, a->lin, B);                             /* (B) */
	nn_sigmoid_forward(a->pred, a->z, B);                                 /* (B) */
}

static void item_tower(const botify_tt *m, botify_tt_acts *a, int B)
{
	const botify_tt_params *p = &m->params;
	const botify_tt_config *c = &m->cfg;
	if (c->arch == BOTIFY_ARCH_TWO_TOWER)
		tower_forward(a->xi, a->h1i, a->a1i, a->h2i, a->a2i, a->h3i, a->oi, p->item_w1,
			      p->item_b1, p->item_w2, p->item_b2, p->item_w3, p->item_b3, B, 2 * c->E,
			      c->H, c->OUT);
}

/* two-tower: the start's part of the context input, columns E.. of xc */
static void gather_start(const botify_tt *m, botify_tt_acts *a, const int32_t *start, int B)
{
	const botify_tt_params *p = &m->params;
	int E = m->cfg.E, XC = (int)ctx_in(&m->cfg);
	nn_embedding_forward(a->xc + E, XC, start, p->start_emb, B, E);
	if (m->cfg.context_artist) {
		if (!m->track_artist)
			BOTIFY_BUG("context_artist model used without a bound catalog");
		for (int i = 0; i < B; i++)
			a->start_art[i] = m->track_artist[start[i]];
		nn_embedding_forward(a->xc + 2 * E, XC, a->start_art, p->artist_emb, B, E);
	}
}

/* the embedding lookups: where each table's rows go for this arch */
static void gather_context(const botify_tt *m, botify_tt_acts *a, const int32_t *user,
			   const int32_t *start, int B)
{
	const botify_tt_params *p = &m->params;
	int E = m->cfg.E;
	switch (m->cfg.arch) {
	case BOTIFY_ARCH_TWO_TOWER: /* concat(user, start[, start's artist]) (B, XC) */
		nn_embedding_forward(a->xc, (int)ctx_in(&m->cfg), user, p->user_emb, B, E);
		gather_start(m, a, start, B);
		break;
	case BOTIFY_ARCH_SUM:
	case BOTIFY_ARCH_HYBRID:
		nn_embedding_forward(a->ub, E, user, p->user_emb, B, E);
		nn_embedding_forward(a->sb, E, start, p->start_emb, B, E);
		break;
	default:
		nn_embedding_forward(a->oc, E, start, p->start_emb, B, E);
	}
}

static void gather_item(const botify_tt *m, botify_tt_acts *a, const int32_t *track,
			const int32_t *artist, int B)
{
	const botify_tt_params *p = &m->params;
	int E = m->cfg.E;
	if (m->cfg.arch == BOTIFY_ARCH_TWO_TOWER) { /* concat(track, artist) (B, 2E) */
		nn_embedding_forward(a->xi, 2 * E, track, p->track_emb, B, E);
		nn_embedding_forward(a->xi + E, 2 * E, artist, p->artist_emb, B, E);
	} else {
		nn_embedding_forward(a->oi, E, track, p->track_emb, B, E);
	}
}

void botify_tt_forward(const botify_tt *m, botify_tt_acts *a, const botify_tt_batch *b)
{
	if (b->B > a->cap)
		BOTIFY_BUG("batch of %d rows in activations of %d", b->B, a->cap);
	gather_context(m, a, b->user, b->start, b->B);
	gather_item(m, a, b->track, b->artist, b->B);
	item_tower(m, a, b->B);
	if (m->cfg.arch == BOTIFY_ARCH_HYBRID) {
		hybrid_head(m, a, b->B);
		return;
	}
	context_tower(m, a, b->B);
	nn_rowdot_forward(a->pred, a->oc, a->oi, b->B, m->cfg.OUT);
}

void botify_tt_backward_dense(const botify_tt *m, const botify_tt_params *g, botify_tt_acts *d,
			      const botify_tt_acts *a, const botify_tt_batch *b, double n_total)
{
	const botify_tt_config *c = &m->cfg;
	const botify_tt_params *p = &m->params;
	int B = b->B, E = c->E, H = c->H, O = c->OUT, XC = (int)ctx_in(c);

	acts_zero_rows(m, d, B);
	nn_mse_backward(d->pred, a->pred, b->y, B, n_total);
	if (c->arch == BOTIFY_ARCH_HYBRID) { /* hybrid_head in reverse */
		nn_sigmoid_backward(d->z, d->pred, a->pred, B);
		nn_add_backward(d->sdot, d->lin, d->z, B);
		nn_linear_backward(d->ut, g->user_lin_w, g->user_lin_b, d->lin, a->ut, p->user_lin_w, B,
				   E, 1);
		nn_mul_backward(d->ub, d->oi, d->ut, a->ub, a->oi, (int64_t)B * E);
		nn_rowdot_backward(d->sb, d->oi, d->sdot, a->sb, a->oi, B, E);
		return;
	}
	nn_rowdot_backward(d->oc, d->oi, d->pred, a->oc, a->oi, B, O);
	if (c->arch == BOTIFY_ARCH_TWO_TOWER) {
		tower_backward(d->xi, d->h1i, d->a1i, d->h2i, d->a2i, d->h3i, d->oi, a->xi, a->h1i,
			       a->a1i, a->h2i, a->a2i, a->h3i, g->item_w1, g->item_b1, g->item_w2,
			       g->item_b2, g->item_w3, g->item_b3, p->item_w1, p->item_w2, p->item_w3,
			       B, 2 * E, H, O);
		tower_backward(d->xc, d->h1c, d->a1c, d->h2c, d->a2c, d->h3c, d->oc, a->xc, a->h1c,
			       a->a1c, a->h2c, a->a2c, a->h3c, g->ctx_w1, g->ctx_b1, g->ctx_w2,
			       g->ctx_b2, g->ctx_w3, g->ctx_b3, p->ctx_w1, p->ctx_w2, p->ctx_w3, B, XC,
			       H, O);
	} else if (c->arch == BOTIFY_ARCH_SUM) {
		nn_add_backward(d->ub, d->sb, d->oc, (int64_t)B * E);
	}
}

/* dtable[ids[i]] += dout row i, in batch order, for the ids in [lo, hi) */
static void scatter_range(float *dtable, const float *dout, int ldo, const int32_t *ids, int B,
			  int E, int32_t lo, int32_t hi)
{
	for (int i = 0; i < B; i++) {
		if (ids[i] < lo || ids[i] >= hi)
			continue;
		float *gr = dtable + (size_t)ids[i] * E;
		const float *dr = dout + (size_t)i * ldo;
		for (int e = 0; e < E; e++)
			gr[e] += dr[e];
	}
}

void botify_tt_scatter(botify_tt *m, const botify_tt_acts *d, const botify_tt_acts *a,
		       const botify_tt_batch *b, int part, int parts)
{
	const botify_tt_config *c = &m->cfg;
	botify_tt_params *g = &m->grads;
	int B = b->B, E = c->E, XC = (int)ctx_in(c);
	int32_t lo[BOTIFY_TT_NEMB], hi[BOTIFY_TT_NEMB];
	for (int k = 0; k < BOTIFY_TT_NEMB; k++) { /* contiguous row ranges, one per part */
		lo[k] = (int32_t)((int64_t)m->rows[k] * part / parts);
		hi[k] = (int32_t)((int64_t)m->rows[k] * (part + 1) / parts);
	}
	/* per table, the sources in the order of the whole-batch backward, each
	 * in batch order: a row's sum does not depend on the parts */
	if (c->arch == BOTIFY_ARCH_TWO_TOWER) {
		scatter_range(g->artist_emb, d->xi + E, 2 * E, b->artist, B, E, lo[BOTIFY_TT_ARTIST_EMB], hi[BOTIFY_TT_ARTIST_EMB]);
		scatter_range(g->track_emb, d->xi, 2 * E, b->track, B, E, lo[BOTIFY_TT_TRACK_EMB], hi[BOTIFY_TT_TRACK_EMB]);
		if (c->context_artist)
			scatter_range(g->artist_emb, d->xc + 2 * E, XC, a->start_art, B, E, lo[BOTIFY_TT_ARTIST_EMB], hi[BOTIFY_TT_ARTIST_EMB]);
		scatter_range(g->start_emb, d->xc + E, XC, b->start, B, E, lo[BOTIFY_TT_START_EMB], hi[BOTIFY_TT_START_EMB]);
		scatter_range(g->user_emb, d->xc, XC, b->user, B, E, lo[BOTIFY_TT_USER_EMB], hi[BOTIFY_TT_USER_EMB]);
		return;
	}
	scatter_range(g->track_emb, d->oi, E, b->track, B, E, lo[BOTIFY_TT_TRACK_EMB], hi[BOTIFY_TT_TRACK_EMB]);
	if (c->arch == BOTIFY_ARCH_DOT) {
		scatter_range(g->start_emb, d->oc, E, b->start, B, E, lo[BOTIFY_TT_START_EMB], hi[BOTIFY_TT_START_EMB]);
		return;
	}
	scatter_range(g->start_emb, d->sb, E, b->start, B, E, lo[BOTIFY_TT_START_EMB], hi[BOTIFY_TT_START_EMB]);
	scatter_range(g->user_emb, d->ub, E, b->user, B, E, lo[BOTIFY_TT_USER_EMB], hi[BOTIFY_TT_USER_EMB]);
}

int botify_tt_scatter_inputs(const botify_tt *m, const botify_tt_acts *d,
			     float *buf[BOTIFY_TT_SCATTER_INPUTS],
			     size_t width[BOTIFY_TT_SCATTER_INPUTS])
{
	size_t E = (size_t)m->cfg.E;
	switch (m->cfg.arch) {
	case BOTIFY_ARCH_TWO_TOWER:
		buf[0] = d->xi, width[0] = 2 * E;
		buf[1] = d->xc, width[1] = ctx_in(&m->cfg);
		return 2;
	case BOTIFY_ARCH_DOT:
		buf[0] = d->oi, width[0] = E;
		buf[1] = d->oc, width[1] = E;
		return 2;
	default:
		buf[0] = d->oi, width[0] = E;
		buf[1] = d->sb, width[1] = E;
		buf[2] = d->ub, width[2] = E;
		return 3;
	}
}

void botify_tt_backward(botify_tt *m, botify_tt_acts *d, const botify_tt_acts *a,
			const botify_tt_batch *b)
{
	botify_tt_backward_dense(m, &m->grads, d, a, b, (double)b->B);
	botify_tt_scatter(m, d, a, b, 0, 1);
}

void botify_tt_point_dense(const botify_tt *m, float *block, botify_tt_params *g)
{
	float **ptrs[BOTIFY_TT_NTENSORS];
	tensor_ptrs(g, ptrs);
	size_t base = m->off[BOTIFY_TT_NEMB];
	for (int i = 0; i < BOTIFY_TT_NTENSORS; i++)
		*ptrs[i] = i >= BOTIFY_TT_NEMB && m->rows[i] && m->cols[i] ? block + m->off[i] - base
									  : NULL;
}

const float *botify_tt_user_vector(const botify_tt *m, int64_t user)
{
	if (m->cfg.arch == BOTIFY_ARCH_DOT || user < 0 || user >= m->cfg.U ||
	    !(m->user_pairs[user] > 0))
		return m->user_mean;
	return m->params.user_emb + (size_t)user * (size_t)m->cfg.E;
}

void botify_tt_context(const botify_tt *m, botify_tt_acts *a, int B, const int64_t *users,
		       const int32_t *starts, float *out)
{
	if (B > a->cap)
		BOTIFY_BUG("batch of %d rows in activations of %d", B, a->cap);
	int E = m->cfg.E;
	switch (m->cfg.arch) {
	case BOTIFY_ARCH_TWO_TOWER:
		for (int i = 0; i < B; i++)
			memcpy(a->xc + (size_t)i * ctx_in(&m->cfg), botify_tt_user_vector(m, users[i]),
			       (size_t)E * sizeof(float));
		gather_start(m, a, starts, B);
		break;
	case BOTIFY_ARCH_SUM:
	case BOTIFY_ARCH_HYBRID:
		for (int i = 0; i < B; i++)
			memcpy(a->ub + (size_t)i * E, botify_tt_user_vector(m, users[i]),
			       (size_t)E * sizeof(float));
		nn_embedding_forward(a->sb, E, starts, m->params.start_emb, B, E);
		break;
	default:
		nn_embedding_forward(a->oc, E, starts, m->params.start_emb, B, E);
	}
	context_tower(m, a, B);
	memcpy(out, a->oc, (size_t)B * (size_t)m->cfg.OUT * sizeof(float));
}

void botify_tt_items(const botify_tt *m, botify_tt_acts *a, int B, const int32_t *tracks,
		     const int32_t *artists, float *out)
{
	if (B > a->cap)
		BOTIFY_BUG("batch of %d rows in activations of %d", B, a->cap);
	gather_item(m, a, tracks, artists, B);
	item_tower(m, a, B);
	memcpy(out, a->oi, (size_t)B * (size_t)m->cfg.OUT * sizeof(float));
}

void botify_tt_update_user_mean(botify_tt *m)
{
	int E = m->cfg.E;
	double acc[4096] = {0}; /* E <= 4096 (botify_tt_config_check) */
	memset(m->user_mean, 0, (size_t)E * sizeof(float));
	if (m->cfg.arch == BOTIFY_ARCH_DOT)
		return;
	int64_t known = 0;
	for (int32_t u = 0; u < m->cfg.U; u++) {
		if (!(m->user_pairs[u] > 0))
			continue;
		const float *r = m->params.user_emb + (size_t)u * E;
		for (int e = 0; e < E; e++)
			acc[e] += r[e];
		known++;
	}
	for (int e = 0; e < E; e++)
		m->user_mean[e] = known ? (float)(acc[e] / (double)known) : 0.0f;
}
