/* check_nn.c - every layer of lib/nn.c: finite-difference gradient checks,
 * the sgemm kernels against their naive loops, accumulation. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "rng.h"

#define EPS 1e-3

static void fill(float *x, size_t n, uint64_t seed, double lo, double hi)
{
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, seed, 9, 9, 9);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(lo + (hi - lo) * botify_rng_uniform(&r));
}

/* values away from 0, either sign: leaky relu's kink stays out of reach */
static void fill_off_zero(float *x, size_t n, uint64_t seed)
{
	fill(x, n, seed, 0.1, 1.0);
	for (size_t i = 0; i < n; i += 2)
		x[i] = -x[i];
}

static double dotd(const float *a, const float *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

static void expect_close(double analytic, double numeric, const char *what, size_t i)
{
	ck_assert_msg(fabs(analytic - numeric) <= 2e-3 + 2e-2 * fabs(numeric),
		      "%s[%zu]: analytic %g vs numeric %g", what, i, analytic, numeric);
}

/* L = sum(out * R) for the linear layer */
static double linear_loss(const float *inp, const float *w, const float *b, const float *R, int B,
			  int IN, int OUT)
{
	float out[64];
	nn_linear_forward_naive(out, inp, w, b, B, IN, OUT);
	return dotd(out, R, (size_t)B * OUT);
}

/* finite differences of f over every element of x against the analytic grad */
#define FD_CHECK(x, n, grad, what, loss_expr)                                   \
	for (size_t i_ = 0; i_ < (size_t)(n); i_++) {                           \
		float keep_ = (x)[i_];                                          \
		(x)[i_] = keep_ + (float)EPS;                                   \
		double lp_ = (loss_expr);                                       \
		(x)[i_] = keep_ - (float)EPS;                                   \
		double lm_ = (loss_expr);                                       \
		(x)[i_] = keep_;                                                \
		expect_close((grad)[i_], (lp_ - lm_) / (2 * EPS), what, i_);    \
	}

START_TEST(linear_sgemm_matches_naive)
{
	enum { B = 37, IN = 19, OUT = 11 };
	static float inp[B * IN], w[OUT * IN], b[OUT], o1[B * OUT], o2[B * OUT], dout[B * OUT];
	static float di1[B * IN], di2[B * IN], dw1[OUT * IN], dw2[OUT * IN], db1[OUT], db2[OUT];
	fill(inp, B * IN, 1, -1, 1);
	fill(w, OUT * IN, 2, -1, 1);
	fill(b, OUT, 3, -1, 1);
	fill(dout, B * OUT, 4, -1, 1);
	nn_linear_forward(o1, inp, w, b, B, IN, OUT);
	nn_linear_forward_naive(o2, inp, w, b, B, IN, OUT);
	for (int i = 0; i < B * OUT; i++)
		ck_assert_float_eq_tol(o1[i], o2[i], 1e-5);
	/* both accumulate onto the same non-zero start */
	fill(di1, B * IN, 5, -1, 1);
	memcpy(di2, di1, sizeof(di1));
	fill(dw1, OUT * IN, 6, -1, 1);
	memcpy(dw2, dw1, sizeof(dw1));
	fill(db1, OUT, 7, -1, 1);
	memcpy(db2, db1, sizeof(db1));
	nn_linear_backward(di1, dw1, db1, dout, inp, w, B, IN, OUT);
	nn_linear_backward_naive(di2, dw2, db2, dout, inp, w, B, IN, OUT);
	for (int i = 0; i < B * IN; i++)
		ck_assert_float_eq_tol(di1[i], di2[i], 1e-4);
	for (int i = 0; i < OUT * IN; i++)
		ck_assert_float_eq_tol(dw1[i], dw2[i], 1e-4);
	for (int i = 0; i < OUT; i++)
		ck_assert_float_eq_tol(db1[i], db2[i], 1e-4);
}
END_TEST

START_TEST(linear_gradients_match_finite_differences)
{
	enum { B = 4, IN = 5, OUT = 3 };
	float inp[B * IN], w[OUT * IN], b[OUT], R[B * OUT];
	float dinp[B * IN] = {0}, dw[OUT * IN] = {0}, db[OUT] = {0};
	fill(inp, B * IN, 11, -1, 1);
	fill(w, OUT * IN, 12, -1, 1);
	fill(b, OUT, 13, -1, 1);
	fill(R, B * OUT, 14, -1, 1);
	nn_linear_backward(dinp, dw, db, R, inp, w, B, IN, OUT);
	FD_CHECK(inp, B * IN, dinp, "dinp", linear_loss(inp, w, b, R, B, IN, OUT));
	FD_CHECK(w, OUT * IN, dw, "dw", linear_loss(inp, w, b, R, B, IN, OUT));
	FD_CHECK(b, OUT, db, "db", linear_loss(inp, w, b, R, B, IN, OUT));
}
END_TEST

START_TEST(linear_backward_accumulates_and_skips_null_dinp)
{
	enum { B = 3, IN = 2, OUT = 2 };
	float inp[B * IN], w[OUT * IN], dout[B * OUT];
	float dw1[OUT * IN] = {0}, db1[OUT] = {0}, dw2[OUT * IN] = {0}, db2[OUT] = {0};
	fill(inp, B * IN, 21, -1, 1);
	fill(w, OUT * IN, 22, -1, 1);
	fill(dout, B * OUT, 23, -1, 1);
	nn_linear_backward(NULL, dw1, db1, dout, inp, w, B, IN, OUT);
	nn_linear_backward(NULL, dw2, db2, dout, inp, w, B, IN, OUT);
	nn_linear_backward(NULL, dw2, db2, dout, inp, w, B, IN, OUT);
	for (int i = 0; i < OUT * IN; i++)
		ck_assert_float_eq_tol(dw2[i], 2 * dw1[i], 1e-6);
	for (int i = 0; i < OUT; i++)
		ck_assert_float_eq_tol(db2[i], 2 * db1[i], 1e-6);
}
END_TEST

static double leaky_loss(const float *x, const float *R, int n)
{
	float out[32];
	nn_leaky_relu_forward(out, x, n, 0.01f);
	return dotd(out, R, (size_t)n);
}

START_TEST(leaky_relu_gradient_and_values)
{
	enum { n = 22 }; /* five 4-lane blocks and a scalar tail */
	float x[n], R[n], dx[n] = {0}, y[n];
	fill_off_zero(x, n, 31);
	fill(R, n, 32, -1, 1);
	nn_leaky_relu_forward(y, x, n, 0.01f);
	for (int i = 0; i < n; i++)
		ck_assert_float_eq(y[i], x[i] > 0 ? x[i] : 0.01f * x[i]);
	nn_leaky_relu_backward(dx, R, x, n, 0.01f);
	FD_CHECK(x, n, dx, "dx", leaky_loss(x, R, n));
	/* in place */
	memcpy(y, x, sizeof(x));
	nn_leaky_relu_forward(y, y, n, 0.01f);
	for (int i = 0; i < n; i++)
		ck_assert_float_eq(y[i], x[i] > 0 ? x[i] : 0.01f * x[i]);
}
END_TEST

/* concat(t1[ids1], t2[ids2]) (B, 2E), loss sum(out * R) */
static double concat_loss(const float *t1, const float *t2, const int32_t *ids1,
			  const int32_t *ids2, const float *R, int B, int E)
{
	float out[64];
	nn_embedding_forward(out, 2 * E, ids1, t1, B, E);
	nn_embedding_forward(out + E, 2 * E, ids2, t2, B, E);
	return dotd(out, R, (size_t)B * 2 * E);
}

START_TEST(embedding_gather_scatter_and_concat)
{
	enum { B = 5, E = 3, R1 = 6, R2 = 4 };
	float t1[R1 * E], t2[R2 * E], R[B * 2 * E], d1[R1 * E] = {0}, d2[R2 * E] = {0};
	const int32_t ids1[B] = { 2, 0, 2, 5, 2 }; /* row 2 three times */
	const int32_t ids2[B] = { 1, 1, 3, 0, 3 };
	fill(t1, R1 * E, 41, -1, 1);
	fill(t2, R2 * E, 42, -1, 1);
	fill(R, B * 2 * E, 43, -1, 1);
	float out[B * 2 * E];
	nn_embedding_forward(out, 2 * E, ids1, t1, B, E);
	nn_embedding_forward(out + E, 2 * E, ids2, t2, B, E);
	for (int b = 0; b < B; b++)
		for (int e = 0; e < E; e++) {
			ck_assert_float_eq(out[b * 2 * E + e], t1[ids1[b] * E + e]);
			ck_assert_float_eq(out[b * 2 * E + E + e], t2[ids2[b] * E + e]);
		}
	nn_embedding_backward(d1, R, 2 * E, ids1, B, E);
	nn_embedding_backward(d2, R + E, 2 * E, ids2, B, E);
	FD_CHECK(t1, R1 * E, d1, "dtable1", concat_loss(t1, t2, ids1, ids2, R, B, E));
	FD_CHECK(t2, R2 * E, d2, "dtable2", concat_loss(t1, t2, ids1, ids2, R, B, E));
	/* rows not in the batch are untouched */
	for (int e = 0; e < E; e++) {
		ck_assert_float_eq(d1[1 * E + e], 0.0f);
		ck_assert_float_eq(d1[3 * E + e], 0.0f);
		ck_assert_float_eq(d1[4 * E + e], 0.0f);
		ck_assert_float_eq(d2[2 * E + e], 0.0f);
	}
}
END_TEST

static double rowdot_loss(const float *a, const float *b, const float *R, int B, int C)
{
	float out[16];
	nn_rowdot_forward(out, a, b, B, C);
	return dotd(out, R, (size_t)B);
}

START_TEST(rowdot_and_add_gradients)
{
	enum { B = 4, C = 5 };
	float a[B * C], b[B * C], R[B], da[B * C] = {0}, db[B * C] = {0};
	fill(a, B * C, 51, -1, 1);
	fill(b, B * C, 52, -1, 1);
	fill(R, B, 53, -1, 1);
	nn_rowdot_backward(da, db, R, a, b, B, C);
	FD_CHECK(a, B * C, da, "da", rowdot_loss(a, b, R, B, C));
	FD_CHECK(b, B * C, db, "db", rowdot_loss(a, b, R, B, C));

	float s[B * C], ds1[B * C] = {0}, ds2[B * C] = {0}, Rs[B * C];
	fill(Rs, B * C, 54, -1, 1);
	nn_add_forward(s, a, b, B * C);
	for (int i = 0; i < B * C; i++)
		ck_assert_float_eq(s[i], a[i] + b[i]);
	nn_add_backward(ds1, ds2, Rs, B * C);
	for (int i = 0; i < B * C; i++) {
		ck_assert_float_eq(ds1[i], Rs[i]);
		ck_assert_float_eq(ds2[i], Rs[i]);
	}
}
END_TEST

static double mul_loss(const float *a, const float *b, const float *R, int n)
{
	float out[32];
	nn_mul_forward(out, a, b, n);
	return dotd(out, R, (size_t)n);
}

START_TEST(mul_gradients_and_accumulation)
{
	enum { n = 13 };
	float a[n], b[n], R[n], out[n], da[n] = {0}, db[n] = {0};
	fill(a, n, 71, -1, 1);
	fill(b, n, 72, -1, 1);
	fill(R, n, 73, -1, 1);
	nn_mul_forward(out, a, b, n);
	for (int i = 0; i < n; i++)
		ck_assert_float_eq(out[i], a[i] * b[i]);
	nn_mul_backward(da, db, R, a, b, n);
	FD_CHECK(a, n, da, "da", mul_loss(a, b, R, n));
	FD_CHECK(b, n, db, "db", mul_loss(a, b, R, n));
	/* a second backward adds the same again */
	float da2[n], db2[n];
	memcpy(da2, da, sizeof(da));
	memcpy(db2, db, sizeof(db));
	nn_mul_backward(da2, db2, R, a, b, n);
	for (int i = 0; i < n; i++) {
		ck_assert_float_eq_tol(da2[i], 2 * da[i], 1e-6);
		ck_assert_float_eq_tol(db2[i], 2 * db[i], 1e-6);
	}
}
END_TEST

static double sigmoid_loss(const float *x, const float *R, int n)
{
	float out[32];
	nn_sigmoid_forward(out, x, n);
	return dotd(out, R, (size_t)n);
}

START_TEST(sigmoid_gradient_and_values)
{
	enum { n = 11 };
	float x[n], R[n], y[n], dx[n] = {0};
	fill(x, n, 81, -4, 4);
	fill(R, n, 82, -1, 1);
	nn_sigmoid_forward(y, x, n);
	for (int i = 0; i < n; i++)
		ck_assert_double_eq_tol(y[i], 1.0 / (1.0 + exp(-(double)x[i])), 1e-6);
	/* the gradient reads the output: the forward may run in place */
	memcpy(y, x, sizeof(x));
	nn_sigmoid_forward(y, y, n);
	nn_sigmoid_backward(dx, R, y, n);
	FD_CHECK(x, n, dx, "dx", sigmoid_loss(x, R, n));
	/* far out on either side: 0 and 1 without overflow, never NaN */
	float big[4] = { -1000.0f, -88.0f, 88.0f, 1000.0f }, o[4];
	nn_sigmoid_forward(o, big, 4);
	ck_assert_float_eq(o[0], 0.0f);
	ck_assert(o[1] >= 0.0f && o[1] < 1e-30f);
	ck_assert_float_eq(o[2], 1.0f);
	ck_assert_float_eq(o[3], 1.0f);
	ck_assert_float_eq(o[0] + o[3], 1.0f);
}
END_TEST

/* Linear to one output (the hybrid arch's user term) is nn_linear with
 * OUT = 1: the sgemm path against the naive loops and finite differences */
START_TEST(linear_to_one_output)
{
	enum { B = 7, IN = 6, OUT = 1 };
	float inp[B * IN], w[IN], b[1], R[B], o1[B], o2[B];
	float dinp[B * IN] = {0}, dw[IN] = {0}, db[1] = {0};
	float dinp2[B * IN] = {0}, dw2[IN] = {0}, db2[1] = {0};
	fill(inp, B * IN, 91, -1, 1);
	fill(w, IN, 92, -1, 1);
	fill(b, 1, 93, -1, 1);
	fill(R, B, 94, -1, 1);
	nn_linear_forward(o1, inp, w, b, B, IN, OUT);
	nn_linear_forward_naive(o2, inp, w, b, B, IN, OUT);
	for (int i = 0; i < B; i++)
		ck_assert_float_eq_tol(o1[i], o2[i], 1e-5);
	nn_linear_backward(dinp, dw, db, R, inp, w, B, IN, OUT);
	nn_linear_backward_naive(dinp2, dw2, db2, R, inp, w, B, IN, OUT);
	for (int i = 0; i < B * IN; i++)
		ck_assert_float_eq_tol(dinp[i], dinp2[i], 1e-5);
	for (int i = 0; i < IN; i++)
		ck_assert_float_eq_tol(dw[i], dw2[i], 1e-5);
	ck_assert_float_eq_tol(db[0], db2[0], 1e-5);
	FD_CHECK(inp, B * IN, dinp, "dinp", linear_loss(inp, w, b, R, B, IN, OUT));
	FD_CHECK(w, IN, dw, "dw", linear_loss(inp, w, b, R, B, IN, OUT));
	FD_CHECK(b, 1, db, "db", linear_loss(inp, w, b, R, B, IN, OUT));
}
END_TEST

static double mse_loss(const float *pred, const float *y, int B)
{
	return nn_sse(pred, y, B) / B;
}

START_TEST(mse_gradient)
{
	enum { B = 6 };
	float pred[B], y[B], d[B] = {0};
	fill(pred, B, 61, 0, 1);
	fill(y, B, 62, 0, 1);
	double want = 0;
	for (int i = 0; i < B; i++)
		want += ((double)pred[i] - y[i]) * ((double)pred[i] - y[i]);
	ck_assert_double_eq_tol(nn_sse(pred, y, B), want, 1e-12);
	nn_mse_backward(d, pred, y, B, B);
	FD_CHECK(pred, B, d, "dpred", mse_loss(pred, y, B));
}
END_TEST

Suite *nn_suite(void)
{
	Suite *s = suite_create("nn");
	TCase *tc = tcase_create("layers");
	tcase_add_test(tc, linear_sgemm_matches_naive);
	tcase_add_test(tc, linear_gradients_match_finite_differences);
	tcase_add_test(tc, linear_backward_accumulates_and_skips_null_dinp);
	tcase_add_test(tc, leaky_relu_gradient_and_values);
	tcase_add_test(tc, embedding_gather_scatter_and_concat);
	tcase_add_test(tc, rowdot_and_add_gradients);
	tcase_add_test(tc, mse_gradient);
	tcase_add_test(tc, mul_gradients_and_accumulation);
	tcase_add_test(tc, sigmoid_gradient_and_values);
	tcase_add_test(tc, linear_to_one_output);
	suite_add_tcase(s, tc);
	return s;
}
