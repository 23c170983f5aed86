/*
 * adam.h - the Adam optimizer over flat parameter blocks, dense and by rows.
 *
 * Dense step (torch.optim.Adam with coupled L2 weight decay):
 *   g += wd * p;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * Row step ("lazy" Adam, as torch.optim.SparseAdam): the same update applied
 * only to the listed rows of an embedding table - the rows that occur in the
 * batch. Rows that are absent keep their p, m and v untouched (no decay of
 * the moments, no weight decay); t is the global step count, so the bias
 * correction is that of the step, not of the row. This makes an embedding
 * update cost O(rows in the batch) instead of O(table).
 */
#ifndef BOTIFY_ADAM_H
#define BOTIFY_ADAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct botify_adam {
	float lr;
	double beta1, beta2;  /* double: torch computes 1 - beta^t from the Python float */
	float eps;
	float weight_decay;
	int64_t t;          /* steps taken; botify_adam_begin_step increments it */
} botify_adam;

/* lr and weight decay as given, betas (0.9, 0.999), eps 1e-8, t = 0. */
void botify_adam_init(botify_adam *a, float lr, float weight_decay);

/* Starts a step: t += 1. Call once per batch before the step functions. */
void botify_adam_begin_step(botify_adam *a);

/* p, g, m, v (n): one dense step. g is read (and left as is). */
void botify_adam_step(const botify_adam *a, float *p, const float *g, float *m, float *v,
		      size_t n);

/* Tables p, g, m, v (rows, E): one step on rows[0..n_rows) only; rows must be
 * distinct. */
void botify_adam_step_rows(const botify_adam *a, float *p, const float *g, float *m, float *v,
			   const int32_t *rows, int64_t n_rows, int E);

/* Table p, g, m, v (rows, E): one dense step on rows [lo, hi), every row
 * updated as botify_adam_step would. Rows with stamp[row] == t hold this
 * step's gradient, which is read and then zeroed; the others have a zero
 * gradient, which is not read: for them the step is weight decay and the
 * moments' decay, and skipping the reads and the zeroing of their g saves a
 * quarter of a memory-bound update that runs over whole tables. */
void botify_adam_step_table(const botify_adam *a, float *p, float *g, float *m, float *v, int E,
			    int64_t lo, int64_t hi, const int64_t *stamp, int64_t t);

#endif
