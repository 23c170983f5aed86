/*
 * nn.c - layers: forward/backward pairs over flat arrays.
 */
#include "nn.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

void nn_linear_forward(float *out, const float *inp, const float *w, const float *b, int B,
		       int IN, int OUT)
{
	for (int i = 0; i < B; i++)
		memcpy(out + (size_t)i * OUT, b, (size_t)OUT * sizeof(float));
	/* out (B,OUT) += inp (B,IN) . w^T (IN,OUT):  M = B, N = OUT, K = IN */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
		    B, OUT, IN,         /* M, N, K */
		    1.0f, inp, IN,      /* A (B,IN), lda */
		    w, IN,              /* B = w (OUT,IN) read transposed, ldb */
		    1.0f, out, OUT);    /* C (B,OUT), ldc; beta 1 keeps the bias */
}

void nn_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
			const float *w, int B, int IN, int OUT)
{
	if (dinp)
		/* dinp (B,IN) += dout (B,OUT) . w (OUT,IN):  M = B, N = IN, K = OUT */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
			    B, IN, OUT,         /* M, N, K */
			    1.0f, dout, OUT,    /* A (B,OUT), lda */
			    w, IN,              /* B (OUT,IN), ldb */
			    1.0f, dinp, IN);    /* C (B,IN), ldc */
	/* dw (OUT,IN) += dout^T (OUT,B) . inp (B,IN):  M = OUT, N = IN, K = B */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
		    OUT, IN, B,         /* M, N, K */
		    1.0f, dout, OUT,    /* A = dout (B,OUT) read transposed, lda */
		    inp, IN,            /* B (B,IN), ldb */
		    1.0f, dw, IN);      /* C (OUT,IN), ldc */
	/* db: column sums in row order, a fixed summation order */
	for (int i = 0; i < B; i++) {
		const float *d = dout + (size_t)i * OUT;
		for (int o = 0; o < OUT; o++)
			db[o] += d[o];
	}
}

void nn_linear_forward_naive(float *out, const float *inp, const float *w, const float *b, int B,
			     int IN, int OUT)
{
	for (int i = 0; i < B; i++)
		for (int o = 0; o < OUT; o++) {
			float s = b[o];
			for (int k = 0; k < IN; k++)
				s += inp[(size_t)i * IN + k] * w[(size_t)o * IN + k];
			out[(size_t)i * OUT + o] = s;
		}
}

void nn_linear_backward_naive(float *dinp, float *dw, float *db, const float *dout,
			      const float *inp, const float *w, int B, int IN, int OUT)
{
	for (int i = 0; i < B; i++)
		for (int o = 0; o < OUT; o++) {
			float d = dout[(size_t)i * OUT + o];
			for (int k = 0; k < IN; k++) {
				if (dinp)
					dinp[(size_t)i * IN + k] += d * w[(size_t)o * IN + k];
				dw[(size_t)o * IN + k] += d * inp[(size_t)i * IN + k];
			}
			db[o] += d;
		}
}

/* The sign of a pre-activation is a coin flip, so `x > 0 ? x : slope * x`
 * compiled to a branch mispredicts half the time (it took a third of the
 * training time), and gcc -O2 turns every scalar rewrite back into a
 * branch. So the factor (exactly 1 or exactly slope, hence the same bits as
 * the obvious code) is picked by a compare mask, four lanes at a time with
 * GCC/Clang vector extensions, which lower to plain SSE/NEON. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f leaky_factor4(v4f x, float slope)
{
	const v4f one = { 1.0f, 1.0f, 1.0f, 1.0f };
	const v4f s = { slope, slope, slope, slope };
	v4i pos = x > (v4f){ 0.0f, 0.0f, 0.0f, 0.0f }; /* all ones where x > 0 */
	return (v4f)(((v4i)one & pos) | ((v4i)s & ~pos));
}

void nn_leaky_relu_forward(float *out, const float *inp, int64_t n, float slope)
{
	int64_t i = 0;
	for (; i + 4 <= n; i += 4) {
		v4f x;
		memcpy(&x, inp + i, sizeof(x));
		x *= leaky_factor4(x, slope);
		memcpy(out + i, &x, sizeof(x));
	}
	for (; i < n; i++)
		out[i] = inp[i] > 0.0f ? inp[i] : slope * inp[i];
}

void nn_leaky_relu_backward(float *dinp, const float *dout, const float *inp, int64_t n,
			    float slope)
{
	int64_t i = 0;
	for (; i + 4 <= n; i += 4) {
		v4f x, d, g;
		memcpy(&x, inp + i, sizeof(x));
		memcpy(&d, dout + i, sizeof(d));
		memcpy(&g, dinp + i, sizeof(g));
		g += d * leaky_factor4(x, slope);
		memcpy(dinp + i, &g, sizeof(g));
	}
	for (; i < n; i++)
		dinp[i] += inp[i] > 0.0f ? dout[i] : slope * dout[i];
}

void nn_embedding_forward(float *out, int ldo, const int32_t *ids, const float *table, int B,
			  int E)
{
	for (int i = 0; i < B; i++)
		memcpy(out + (size_t)i * ldo, table + (size_t)ids[i] * E, (size_t)E * sizeof(float));
}

void nn_embedding_backward(float *dtable, const float *dout, int ldo, const int32_t *ids, int B,
			   int E)
{
	for (int i = 0; i < B; i++) {
		float *g = dtable + (size_t)ids[i] * E;
		const float *d = dout + (size_t)i * ldo;
		for (int e = 0; e < E; e++)
			g[e] += d[e];
	}
}

void nn_add_forward(float *out, const float *a, const float *b, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

void nn_add_backward(float *da, float *db, const float *dout, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		da[i] += dout[i];
		db[i] += dout[i];
	}
}

void nn_rowdot_forward(float *out, const float *a, const float *b, int B, int C)
{
	for (int i = 0; i < B; i++) {
		const float *x = a + (size_t)i * C, *y = b + (size_t)i * C;
		float s = 0.0f;
		for (int c = 0; c < C; c++)
			s += x[c] * y[c];
		out[i] = s;
	}
}

void nn_rowdot_backward(float *da, float *db, const float *dout, const float *a, const float *b,
			int B, int C)
{
	for (int i = 0; i < B; i++) {
		size_t r = (size_t)i * C;
		float d = dout[i];
		for (int c = 0; c < C; c++) {
			da[r + c] += d * b[r + c];
			db[r + c] += d * a[r + c];
		}
	}
}

void nn_mul_forward(float *out, const float *a, const float *b, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = a[i] * b[i];
}

void nn_mul_backward(float *da, float *db, const float *dout, const float *a, const float *b,
		     int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		da[i] += dout[i] * b[i];
		db[i] += dout[i] * a[i];
	}
}

void nn_sigmoid_forward(float *out, const float *inp, int64_t n)
{
	/* two branches so that exp() never overflows: exp(-x) for x >= 0,
	 * exp(x) otherwise; both are exactly 1 / (1 + exp(-x)) */
	for (int64_t i = 0; i < n; i++) {
		float x = inp[i];
		if (x >= 0.0f) {
			out[i] = 1.0f / (1.0f + expf(-x));
		} else {
			float e = expf(x);
			out[i] = e / (1.0f + e);
		}
	}
}

void nn_sigmoid_backward(float *dinp, const float *dout, const float *out, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		dinp[i] += dout[i] * out[i] * (1.0f - out[i]);
}

double nn_sse(const float *pred, const float *y, int B)
{
	double s = 0.0;
	for (int i = 0; i < B; i++) {
		double d = (double)pred[i] - (double)y[i];
		s += d * d;
	}
	return s;
}

void nn_mse_backward(float *dpred, const float *pred, const float *y, int B, double n_total)
{
	float scale = (float)(2.0 / n_total);
	for (int i = 0; i < B; i++)
		dpred[i] += scale * (pred[i] - y[i]);
}
