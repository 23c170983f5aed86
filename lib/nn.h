/*
 * nn.h - neural-network layers as forward/backward pairs over flat float
 * arrays, in the manner of karpathy/llm.c's train_gpt2.c.
 *
 * Conventions: arguments are outputs, then inputs and parameters, then
 * dimensions. Arrays are row-major; a batch has B rows. Every backward
 * ACCUMULATES (+=) into its gradient outputs, so one buffer can collect the
 * gradients of several uses and the caller zeroes gradients once per step.
 * Nothing here allocates, prints or keeps state. Summation orders are fixed
 * (no threads of our own; OpenBLAS computes each output element in one
 * thread), so the same inputs give the same bits for a fixed thread count.
 *
 * The dense layers go through cblas_sgemm; nn_linear_*_naive are the plain
 * loops they are tested against (tests/check_nn.c).
 */
#ifndef BOTIFY_NN_H
#define BOTIFY_NN_H

#include <stdint.h>

/* out (B,OUT) = inp (B,IN) . w^T + b;   w (OUT,IN), b (OUT) */
void nn_linear_forward(float *out, const float *inp, const float *w, const float *b, int B,
		       int IN, int OUT);
/* dinp (B,IN) += dout (B,OUT) . w;  dw (OUT,IN) += dout^T . inp;  db (OUT) += sum_b dout.
 * dinp may be NULL when the input needs no gradient. */
void nn_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
			const float *w, int B, int IN, int OUT);
void nn_linear_forward_naive(float *out, const float *inp, const float *w, const float *b, int B,
			     int IN, int OUT);
void nn_linear_backward_naive(float *dinp, float *dw, float *db, const float *dout,
			      const float *inp, const float *w, int B, int IN, int OUT);

/* out (n) = inp > 0 ? inp : slope * inp;  works in place (out == inp) */
void nn_leaky_relu_forward(float *out, const float *inp, int64_t n, float slope);
/* dinp (n) += dout * (inp > 0 ? 1 : slope);  inp is the forward's input */
void nn_leaky_relu_backward(float *dinp, const float *dout, const float *inp, int64_t n,
			    float slope);

/* Gather: out (B, ldo) columns [0,E) = table (rows, E) [ids[b]]. Writing two
 * tables into the column ranges [0,E) and [E,2E) of one (B, 2E) buffer is the
 * concat of their embeddings, so there is no separate concat layer. */
void nn_embedding_forward(float *out, int ldo, const int32_t *ids, const float *table, int B,
			  int E);
/* Scatter-add: dtable[ids[b]] += dout (B, ldo) columns [0,E), in batch
 * order (a row that occurs twice gets both rows' gradients, summed in order).
 * Only the rows in ids are touched. */
void nn_embedding_backward(float *dtable, const float *dout, int ldo, const int32_t *ids, int B,
			   int E);

/* out (n) = a + b */
void nn_add_forward(float *out, const float *a, const float *b, int64_t n);
/* da += dout; db += dout */
void nn_add_backward(float *da, float *db, const float *dout, int64_t n);

/* out (B) = row-wise dot of a (B,C) and b (B,C) */
void nn_rowdot_forward(float *out, const float *a, const float *b, int B, int C);
/* da (B,C) += dout[b] * b;  db (B,C) += dout[b] * a */
void nn_rowdot_backward(float *da, float *db, const float *dout, const float *a, const float *b,
			int B, int C);

/* out (n) = a * b, elementwise (the Hadamard product) */
void nn_mul_forward(float *out, const float *a, const float *b, int64_t n);
/* da += dout * b;  db += dout * a */
void nn_mul_backward(float *da, float *db, const float *dout, const float *a, const float *b,
		     int64_t n);

/* out (n) = 1 / (1 + exp(-inp));  works in place (out == inp) */
void nn_sigmoid_forward(float *out, const float *inp, int64_t n);
/* dinp (n) += dout * out * (1 - out);  out is the forward's OUTPUT, so the
 * forward may have overwritten its input */
void nn_sigmoid_backward(float *dinp, const float *dout, const float *out, int64_t n);

/* Returns the sum of squared errors of pred (B) against y (B), in double and
 * in batch order (the mean is that / B). */
double nn_sse(const float *pred, const float *y, int B);
/* MSE loss = sum (pred - y)^2 / n_total: dpred (B) += 2 (pred - y) / n_total.
 * n_total is the batch size for a per-batch mean. */
void nn_mse_backward(float *dpred, const float *pred, const float *y, int B, double n_total);

#endif
