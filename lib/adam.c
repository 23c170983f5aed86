/*
 * adam.c - dense and row-sparse Adam steps.
 */
#include "adam.h"

#include <math.h>
#include <string.h>

#ifdef __SSE__
#include <xmmintrin.h>
#endif

void botify_adam_init(botify_adam *a, float lr, float weight_decay)
{
	a->lr = lr;
	a->beta1 = 0.9;
	a->beta2 = 0.999;
	a->eps = 1e-8f;
	a->weight_decay = weight_decay;
	a->t = 0;
}

void botify_adam_begin_step(botify_adam *a)
{
	a->t++;
}

/* The update of one value; the vector path below computes exactly this in
 * each lane (IEEE sqrt and division are correctly rounded either way), so
 * the result does not depend on which path ran. */
static inline void update1(float *p, const float *g, float *m, float *v, float b1, float b2,
			   float wd, float eps, float step, float isb)
{
	float gi = *g + wd * *p;
	*m = b1 * *m + (1.0f - b1) * gi;
	*v = b2 * *v + (1.0f - b2) * gi * gi;
	*p -= step * *m / (sqrtf(*v) * isb + eps);
}

typedef float v4f __attribute__((vector_size(16)));

static inline v4f sqrt4(v4f x)
{
#ifdef __SSE__
	return (v4f)_mm_sqrt_ps((__m128)x);
#else
	return (v4f){ sqrtf(x[0]), sqrtf(x[1]), sqrtf(x[2]), sqrtf(x[3]) };
#endif
}

/* Four lanes of one step, the gradient (with weight decay) gi given: the
 * moments and parameters advanced and stored back to p, m and v. */
static inline void step4(float *p, float *m, float *v, v4f P, v4f M, v4f V, v4f gi, float b1,
			 float b2, float eps, float step, float isb)
{
	M = b1 * M + (1.0f - b1) * gi;
	V = b2 * V + (1.0f - b2) * gi * gi;
	P -= step * M / (sqrt4(V) * isb + eps);
	memcpy(p, &P, sizeof(P));
	memcpy(m, &M, sizeof(M));
	memcpy(v, &V, sizeof(V));
}

/* The update of n contiguous values. Scalar sqrtf is a libm call guarded for
 * errno and runs one value at a time: it made the embedding rows' update a
 * sixth of a training step, hence four lanes at a time. */
static void update(const botify_adam *a, float *p, const float *g, float *m, float *v, size_t n,
		   float step, float isb)
{
	const float b1 = (float)a->beta1, b2 = (float)a->beta2, wd = a->weight_decay, eps = a->eps;
	size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		v4f P, G, M, V;
		memcpy(&P, p + i, sizeof(P));
		memcpy(&G, g + i, sizeof(G));
		memcpy(&M, m + i, sizeof(M));
		memcpy(&V, v + i, sizeof(V));
		step4(p + i, m + i, v + i, P, M, V, G + wd * P, b1, b2, eps, step, isb);
	}
	for (; i < n; i++)
		update1(p + i, g + i, m + i, v + i, b1, b2, wd, eps, step, isb);
}

/* update() with a gradient of zero, without reading one */
static void update_nograd(const botify_adam *a, float *p, float *m, float *v, size_t n, float step,
			  float isb)
{
	const float b1 = (float)a->beta1, b2 = (float)a->beta2, wd = a->weight_decay, eps = a->eps;
	const float zero = 0.0f;
	size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		v4f P, M, V;
		memcpy(&P, p + i, sizeof(P));
		memcpy(&M, m + i, sizeof(M));
		memcpy(&V, v + i, sizeof(V));
		/* as update(): g + wd * p with g = 0 */
		step4(p + i, m + i, v + i, P, M, V, zero + wd * P, b1, b2, eps, step, isb);
	}
	for (; i < n; i++)
		update1(p + i, &zero, m + i, v + i, b1, b2, wd, eps, step, isb);
}

/* lr / (1 - b1^t) and 1 / sqrt(1 - b2^t), computed in double once per step */
static void corrections(const botify_adam *a, float *step, float *inv_sqrt_bc2)
{
	double t = (double)(a->t > 0 ? a->t : 1);
	double bc1 = 1.0 - pow(a->beta1, t), bc2 = 1.0 - pow(a->beta2, t);
	*step = (float)(a->lr / bc1);
	*inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
}

void botify_adam_step(const botify_adam *a, float *p, const float *g, float *m, float *v,
		      size_t n)
{
	float step, isb;
	corrections(a, &step, &isb);
	update(a, p, g, m, v, n, step, isb);
}

void botify_adam_step_rows(const botify_adam *a, float *p, const float *g, float *m, float *v,
			   const int32_t *rows, int64_t n_rows, int E)
{
	float step, isb;
	corrections(a, &step, &isb);
	for (int64_t i = 0; i < n_rows; i++) {
		size_t off = (size_t)rows[i] * (size_t)E;
		update(a, p + off, g + off, m + off, v + off, (size_t)E, step, isb);
	}
}

void botify_adam_step_table(const botify_adam *a, float *p, float *g, float *m, float *v, int E,
			    int64_t lo, int64_t hi, const int64_t *stamp, int64_t t)
{
	float step, isb;
	corrections(a, &step, &isb);
	for (int64_t r = lo; r < hi;) {
		int has = stamp[r] == t;
		int64_t end = r + 1;
		while (end < hi && (stamp[end] == t) == has)
			end++;
		size_t off = (size_t)r * (size_t)E, n = (size_t)(end - r) * (size_t)E;
		if (has) {
			update(a, p + off, g + off, m + off, v + off, n, step, isb);
			memset(g + off, 0, n * sizeof(float));
		} else {
			update_nograd(a, p + off, m + off, v + off, n, step, isb);
		}
		r = end;
	}
}
