/* check_adam.c - Adam against a plain loop of torch's formula, the row
 * (lazy) step touching only its rows, bias correction by the global step. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "adam.h"

/* torch.optim.Adam, one value, in the same float operation order */
static void reference(float *p, float g, float *m, float *v, float lr, float wd, int64_t t)
{
	float gi = g + wd * *p;
	*m = 0.9f * *m + (1.0f - 0.9f) * gi;
	*v = 0.999f * *v + (1.0f - 0.999f) * gi * gi;
	float step = (float)(lr / (1.0 - pow(0.9, (double)t)));
	float isb = (float)(1.0 / sqrt(1.0 - pow(0.999, (double)t)));
	*p -= step * *m / (sqrtf(*v) * isb + 1e-8f);
}

START_TEST(dense_step_matches_the_formula_bit_for_bit)
{
	enum { n = 11 }; /* two vector blocks and a scalar tail */
	float p[n], g[n], m[n] = {0}, v[n] = {0}, rp[n], rm[n] = {0}, rv[n] = {0};
	for (int i = 0; i < n; i++) {
		p[i] = rp[i] = 0.1f * (float)(i - 5);
		g[i] = 0.03f * (float)((i * 7) % 5 - 2);
	}
	botify_adam a;
	botify_adam_init(&a, 1e-2f, 1e-3f);
	for (int s = 0; s < 5; s++) {
		botify_adam_begin_step(&a);
		botify_adam_step(&a, p, g, m, v, n);
		for (int i = 0; i < n; i++)
			reference(&rp[i], g[i], &rm[i], &rv[i], 1e-2f, 1e-3f, a.t);
	}
	ck_assert_int_eq(a.t, 5);
	for (int i = 0; i < n; i++) {
		ck_assert_msg(p[i] == rp[i], "p[%d] %.9g vs %.9g", i, p[i], rp[i]);
		ck_assert(m[i] == rm[i] && v[i] == rv[i]);
	}
}
END_TEST

START_TEST(row_step_touches_only_its_rows)
{
	enum { R = 4, E = 6 };
	float p[R * E], g[R * E], m[R * E] = {0}, v[R * E] = {0}, p0[R * E];
	for (int i = 0; i < R * E; i++) {
		p[i] = p0[i] = (float)i / 10.0f;
		g[i] = 0.5f;
	}
	botify_adam a;
	botify_adam_init(&a, 1e-3f, 0.0f);
	botify_adam_begin_step(&a);
	botify_adam_begin_step(&a); /* step 2: rows get step-2 bias correction */
	const int32_t rows[2] = { 3, 1 };
	botify_adam_step_rows(&a, p, g, m, v, rows, 2, E);
	for (int r = 0; r < R; r++)
		for (int e = 0; e < E; e++) {
			int i = r * E + e;
			if (r == 1 || r == 3) {
				float rp = p0[i], rm = 0, rv = 0;
				reference(&rp, 0.5f, &rm, &rv, 1e-3f, 0.0f, 2);
				ck_assert(p[i] == rp);
				ck_assert(p[i] < p0[i]);
			} else {
				ck_assert(p[i] == p0[i]);
				ck_assert(m[i] == 0.0f && v[i] == 0.0f);
			}
		}
}
END_TEST

/* The table step is the dense step over the rows, bit for bit, reading and
 * zeroing only the gradients of the stamped rows. */
START_TEST(table_step_is_the_dense_step_over_its_rows)
{
	enum { R = 7, E = 5 };
	float p[R * E], g[R * E], m[R * E], v[R * E], p2[R * E], g2[R * E], m2[R * E], v2[R * E];
	int64_t stamp[R] = { 4, 9, 9, 2, 9, 0, 9 };
	for (int i = 0; i < R * E; i++) {
		p[i] = p2[i] = 0.1f * (float)(i % 11) - 0.4f;
		m[i] = m2[i] = 0.01f * (float)(i % 3);
		v[i] = v2[i] = 0.001f * (float)(i % 4);
		g[i] = g2[i] = stamp[i / E] == 9 ? 0.05f * (float)(i % 7) - 0.1f : 0.0f;
	}
	/* unstamped rows' g must not be read: poison them in the table copy */
	for (int i = 0; i < R * E; i++)
		if (stamp[i / E] != 9)
			g2[i] = NAN;
	botify_adam a;
	botify_adam_init(&a, 1e-2f, 1e-2f);
	botify_adam_begin_step(&a);
	botify_adam_begin_step(&a);
	botify_adam_step(&a, p, g, m, v, R * E);
	botify_adam_step_table(&a, p2, g2, m2, v2, E, 0, 4, stamp, 9);
	botify_adam_step_table(&a, p2, g2, m2, v2, E, 4, R, stamp, 9);
	ck_assert(!memcmp(p, p2, sizeof(p)));
	ck_assert(!memcmp(m, m2, sizeof(m)));
	ck_assert(!memcmp(v, v2, sizeof(v)));
	for (int i = 0; i < R * E; i++)
		if (stamp[i / E] == 9)
			ck_assert(g2[i] == 0.0f);
}
END_TEST

Suite *adam_suite(void)
{
	Suite *s = suite_create("adam");
	TCase *tc = tcase_create("adam");
	tcase_add_test(tc, dense_step_matches_the_formula_bit_for_bit);
	tcase_add_test(tc, row_step_touches_only_its_rows);
	tcase_add_test(tc, table_step_is_the_dense_step_over_its_rows);
	suite_add_tcase(s, tc);
	return s;
}
