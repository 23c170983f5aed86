/*
 * twotower.h - the recommendation model trained by `botify train`: its
 * parameters, forward/backward over a batch and the context and item
 * vectors inference ranks by. The model directory is twotower_io.h, the
 * vectors of the whole catalog twotower_infer.h.
 *
 * Architectures (prediction = listen time of `track` in a session that
 * started with `start`, for `user`; trained with MSE):
 *   two-tower  context c = T_ctx(concat(user_emb[u], start_emb[s]))
 *              item    i = T_item(concat(track_emb[t], artist_emb[artist(t)]))
 *              each T = 3 x (Linear + LeakyReLU(0.01)): 2E -> H -> H -> OUT
 *              pred = c . i
 *   dot        pred = start_emb[s] . track_emb[t]
 *   sum        pred = (start_emb[s] + user_emb[u]) . track_emb[t]
 *   hybrid     pred = sigmoid(start_emb[s] . track_emb[t]
 *                             + Linear(user_emb[u] * track_emb[t]))   (* elementwise)
 *              Linear: E -> 1 (user_lin_w, user_lin_b). Since
 *              w . (u * t) = (w * u) . t, the logit is (s + w * u) . t + b:
 *              the context vector s + w * u ranks tracks by the prediction
 *              (sigmoid and b are monotone), so export and nn serve it as
 *              they serve the other archs.
 *
 * A track has two embeddings: start_emb for its role as the session's start
 * (context side) and track_emb for its role as the candidate (item side),
 * as in the course's contextual model. One shared table would make the
 * score symmetric and push every track towards itself and its look-alikes,
 * while replaying a track earns nothing in the simulator; separate tables
 * also let the context side learn "what follows s" rather than "what is
 * like s". The cost is N x E more floats.
 *
 * Memory: every parameter tensor lives in one block (mem) with named
 * pointers into it (params); training adds parallel blocks for the
 * gradients and Adam's m and v, so the optimizer runs over flat arrays.
 * Tensors an arch does not use have size 0 and are not saved.
 */
#ifndef BOTIFY_TWOTOWER_H
#define BOTIFY_TWOTOWER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define BOTIFY_TT_SLOPE 0.01f   /* LeakyReLU negative slope */

enum botify_tt_arch {
	BOTIFY_ARCH_TWO_TOWER = 0, BOTIFY_ARCH_DOT = 1, BOTIFY_ARCH_SUM = 2, BOTIFY_ARCH_HYBRID = 3
};
#define BOTIFY_TT_NARCH 4

/* "two-tower", "dot", "sum", "hybrid"; NULL for a bad value. */
const char *botify_tt_arch_name(int arch);
/* The arch of a name, or -1. */
int botify_tt_arch_parse(const char *name);

typedef struct botify_tt_config {
	int arch;
	int32_t U, N, A;  /* users, tracks, artists: the vocabularies */
	int E;            /* embedding width */
	int H;            /* hidden width of the towers (two-tower) */
	int OUT;          /* tower output width; E for dot, sum and hybrid */
	int context_artist; /* two-tower: the start's artist joins the context (3E input) */
} botify_tt_config;

/* The parameter tensors, in file order. Names of the fields = .npy names. */
typedef struct botify_tt_params {
	float *user_emb;    /* (U, E) */
	float *start_emb;   /* (N, E)   a track as the session's start */
	float *track_emb;   /* (N, E)   a track as the candidate */
	float *artist_emb;  /* (A, E) */
	float *ctx_w1;      /* (H, 2E) */
	float *ctx_b1;      /* (H) */
	float *ctx_w2;      /* (H, H) */
	float *ctx_b2;      /* (H) */
	float *ctx_w3;      /* (OUT, H) */
	float *ctx_b3;      /* (OUT) */
	float *item_w1;     /* (H, 2E) */
	float *item_b1;     /* (H) */
	float *item_w2;     /* (H, H) */
	float *item_b2;     /* (H) */
	float *item_w3;     /* (OUT, H) */
	float *item_b3;     /* (OUT) */
	float *user_lin_w;  /* (1, E)   hybrid: Linear(user * track) */
	float *user_lin_b;  /* (1) */
} botify_tt_params;

/* The tensors, in file and memory order (the fields above). */
enum botify_tt_tensor {
	BOTIFY_TT_USER_EMB, BOTIFY_TT_START_EMB, BOTIFY_TT_TRACK_EMB, BOTIFY_TT_ARTIST_EMB,
	BOTIFY_TT_CTX_W1, BOTIFY_TT_CTX_B1, BOTIFY_TT_CTX_W2, BOTIFY_TT_CTX_B2,
	BOTIFY_TT_CTX_W3, BOTIFY_TT_CTX_B3,
	BOTIFY_TT_ITEM_W1, BOTIFY_TT_ITEM_B1, BOTIFY_TT_ITEM_W2, BOTIFY_TT_ITEM_B2,
	BOTIFY_TT_ITEM_W3, BOTIFY_TT_ITEM_B3,
	BOTIFY_TT_USER_LIN_W, BOTIFY_TT_USER_LIN_B,
	BOTIFY_TT_NTENSORS
};
/* The embedding tables (sparse gradients) come first, then the dense
 * layers, each weight followed by its bias. */
#define BOTIFY_TT_NEMB BOTIFY_TT_CTX_W1

typedef struct botify_tt {
	botify_tt_config cfg;
	botify_tt_params params;
	float *mem;                         /* the parameter block */
	size_t n_params;                    /* floats in each block */
	size_t off[BOTIFY_TT_NTENSORS];     /* offset of each tensor in a block */
	size_t rows[BOTIFY_TT_NTENSORS];    /* shape; rows * cols floats */
	size_t cols[BOTIFY_TT_NTENSORS];
	/* training state (botify_tt_alloc_training) */
	botify_tt_params grads;
	float *grad_mem, *m_mem, *v_mem;
	/* what training learned about users; saved with the model */
	float *user_pairs;    /* (U) training pairs per user; 0 = unknown user */
	float *user_context;  /* (U, OUT) context averaged over the user's logged starts */
	float *user_mean;     /* (E) mean user_emb over users with pairs (derived) */
	uint64_t catalog_hash; /* of the catalog it was trained on (tracks' artists) */
	const int32_t *track_artist; /* (N) borrowed from the bound catalog: the
				      * start's artist when context_artist */
} botify_tt;

/* Name of tensor i ("user_emb"), for files and messages. */
const char *botify_tt_tensor_name(int i);
/* 1 for a bias: (n x 1) in memory, saved 1-dimensional. */
int botify_tt_tensor_is_bias(int i);

/* Checks cfg's sizes (>= 1, products that fit in memory). */
int botify_tt_config_check(const botify_tt_config *cfg, botify_err *err);

/* Allocates the parameters of cfg into m (all-zero or freed), zeroed, with
 * user_pairs, user_context and user_mean (what a load fills). */
int botify_tt_alloc(botify_tt *m, const botify_tt_config *cfg, botify_err *err);

/* Allocates the parameters of cfg into m (all-zero or freed) and
 * initializes them from seed: two-tower embeddings N(0,1) and Linear layers
 * U(-1/sqrt(in), 1/sqrt(in)) as torch does; dot/sum embeddings N(0, 0.1^2)
 * (N(0,1) would start a dot model at MSE ~ E). user_pairs = 0,
 * user_context = 0, user_mean = 0. */
int botify_tt_init(botify_tt *m, const botify_tt_config *cfg, uint64_t seed, botify_err *err);

/* Allocates zeroed gradient and Adam m/v blocks parallel to the parameters. */
int botify_tt_alloc_training(botify_tt *m, botify_err *err);

/* Frees everything and zeroes m; safe twice. */
void botify_tt_free(botify_tt *m);

/* Per-batch activations (and, in a second instance, their gradients). */
typedef struct botify_tt_acts {
	int cap;                     /* rows allocated */
	float *xc, *h1c, *a1c, *h2c, *a2c, *h3c; /* context tower: (B,XC) (B,H)x4 (B,OUT) */
	float *xi, *h1i, *a1i, *h2i, *a2i, *h3i; /* item tower, same shapes */
	float *ub, *sb;              /* sum, hybrid: (B,E) user and start embeddings */
	float *ut;                   /* hybrid: (B,E) user * track */
	float *lin, *sdot, *z;       /* hybrid: (B) user term, start . track, logit */
	float *oc, *oi;              /* (B,OUT) context and item vectors */
	float *pred;                 /* (B) */
	int32_t *start_art;          /* (B) artists of the starts (context_artist) */
	float *mem;
	size_t n;                    /* floats in mem */
} botify_tt_acts;

int botify_tt_acts_init(botify_tt_acts *a, const botify_tt *m, int cap, botify_err *err);
void botify_tt_acts_zero(botify_tt_acts *a, int B);
void botify_tt_acts_free(botify_tt_acts *a);

/* A batch of B training rows. */
typedef struct botify_tt_batch {
	int B;
	const int32_t *user, *start, *track, *artist; /* (B) ids */
	const float *y;                               /* (B) listen times */
} botify_tt_batch;

/* a->pred (B) for the batch; keeps the activations for backward. */
void botify_tt_forward(const botify_tt *m, botify_tt_acts *a, const botify_tt_batch *b);

/* Backward of loss = mean over the batch of (pred - y)^2, after forward:
 * accumulates into m->grads (embedding tables: only the batch's rows).
 * d must be zeroed first (botify_tt_acts_zero). It is backward_dense then
 * scatter over the whole batch. */
void botify_tt_backward(botify_tt *m, botify_tt_acts *d, const botify_tt_acts *a,
			const botify_tt_batch *b);

/*
 * The same backward in pieces, for training threads that each take some
 * rows of a batch (lib/train.c): every piece reads the parameters and
 * writes only its own rows and buffers, so pieces run concurrently.
 */
/* A view of rows [r0, r0 + n) of a: every buffer offset by r0 rows. It owns
 * nothing (do not free it). */
void botify_tt_acts_rows(const botify_tt *m, const botify_tt_acts *a, int r0, int n,
			 botify_tt_acts *view);
/* The backward of the B rows of b (a view's rows) for a loss whose mean is
 * over n_total rows: zeroes d's rows, accumulates the dense layers'
 * gradients into g (tensors BOTIFY_TT_NEMB.., e.g. from botify_tt_point_dense) and leaves
 * the embedding inputs' gradients in d for botify_tt_scatter. */
void botify_tt_backward_dense(const botify_tt *m, const botify_tt_params *g, botify_tt_acts *d,
			      const botify_tt_acts *a, const botify_tt_batch *b, double n_total);
/* Adds d's embedding gradients (the whole batch b, after backward_dense of
 * every row) into m->grads, for the table rows of part `part` of `parts`
 * (contiguous ranges of each table). Each row sums its contributions in a
 * fixed order (per source, batch order), whatever the parts. */
void botify_tt_scatter(botify_tt *m, const botify_tt_acts *d, const botify_tt_acts *a,
		       const botify_tt_batch *b, int part, int parts);
/* The buffers of d that botify_tt_scatter reads (per-row gradients of the
 * embedding lookups) into buf, their widths in floats per row into width;
 * returns how many (at most BOTIFY_TT_SCATTER_INPUTS). */
#define BOTIFY_TT_SCATTER_INPUTS 3
int botify_tt_scatter_inputs(const botify_tt *m, const botify_tt_acts *d,
			     float *buf[BOTIFY_TT_SCATTER_INPUTS],
			     size_t width[BOTIFY_TT_SCATTER_INPUTS]);
/* Points g's dense tensors into block, laid out as the parameter block from
 * tensor BOTIFY_TT_NEMB on (n_params - off[BOTIFY_TT_NEMB] floats); its
 * embedding tables are NULL. */
void botify_tt_point_dense(const botify_tt *m, float *block, botify_tt_params *g);

/*
 * Inference.
 */
/* The user vector the model uses: user_emb[u] for a user with training
 * pairs, else user_mean (unknown users, ids outside [0, U)). */
const float *botify_tt_user_vector(const botify_tt *m, int64_t user);

/* Context vectors out (B, OUT) of (users[b], starts[b]); users through
 * botify_tt_user_vector. Its inner product with an item vector ranks tracks
 * as the prediction does (for hybrid it is the logit without the bias). a
 * needs cap >= B. */
void botify_tt_context(const botify_tt *m, botify_tt_acts *a, int B, const int64_t *users,
		       const int32_t *starts, float *out);

/* Item vectors out (B, OUT) of tracks with their artists. */
void botify_tt_items(const botify_tt *m, botify_tt_acts *a, int B, const int32_t *tracks,
		     const int32_t *artists, float *out);

/* Recomputes user_mean from user_emb and user_pairs (fixed order). */
void botify_tt_update_user_mean(botify_tt *m);

#endif
