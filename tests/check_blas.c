/* check_blas.c - OpenBLAS's thread count has one owner: botify_blas_init
 * sets one thread per call, and the code that relies on it (the top-K
 * searches) leaves the setting as it found it. */
#include <cblas.h>
#include <check.h>
#include <dirent.h>
#include <stdlib.h>

#include "blas.h"
#include "testutil.h"
#include "topk.h"

START_TEST(blas_init_sets_one_thread)
{
	openblas_set_num_threads(2);
	ck_assert_int_eq(botify_blas_threads(), 2);
	botify_blas_init();
	ck_assert_int_eq(botify_blas_threads(), 1);
	ck_assert_int_eq(openblas_get_num_threads(), 1);
}
END_TEST

enum { N = 300, D = 8, Q = 40, K = 5, G = 30 };

static void fill(float *x, size_t n, unsigned seed)
{
	srand(seed);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(rand() % 19 - 9) / 4.0f;
}

static int process_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* OpenBLAS's pool busy-waits a tenth of a second after its start and its
 * last call: left running, it took a core from every command. */
START_TEST(blas_init_stops_the_pool)
{
	enum { M = 256 };
	static float a[M * M], c[M * M];
	fill(a, M * M, 3);
	openblas_set_num_threads(2);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, M, M, 1, a, M, a, M, 0, c, M);
	ck_assert_msg(process_threads() >= 2, "no pool to stop: %d thread(s)", process_threads());
	botify_blas_init();
	ck_assert_int_eq(process_threads(), 1);
	/* and calls run on the caller, not on a pool started again */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, M, M, 1, a, M, a, M, 0, c, M);
	ck_assert_int_eq(process_threads(), 1);
}
END_TEST

/* Another owner would reset a count someone set: the searches must not. */
START_TEST(blas_topk_leaves_the_setting)
{
	static float E[N * D], queries[Q * D], scores[Q * K];
	static int32_t ids[Q * K], group[N];
	static double dscores[Q * K];
	fill(E, N * D, 1);
	fill(queries, Q * D, 2);
	for (int i = 0; i < N; i++)
		group[i] = i % G;
	botify_err err = {0};
	openblas_set_num_threads(2);
	ck_assert_int_eq(botify_topk_inner(queries, Q, E, N, D, K, 2, ids, scores, &err), 0);
	ck_assert_int_eq(botify_blas_threads(), 2);
	botify_topk_index ix = {0};
	ck_assert_msg(botify_topk_index_build(&ix, E, N, D, group, G, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(botify_topk_search(&ix, queries, Q, K, 2, NULL, ids, dscores, NULL, &err), 0);
	ck_assert_int_eq(botify_blas_threads(), 2);
	botify_topk_index_free(&ix);
	botify_blas_init();
}
END_TEST

Suite *blas_suite(void)
{
	Suite *s = suite_create("blas");
	TCase *tc = tcase_create("threads");
	/* the tests set 2 threads; a library built for one cannot take them */
	openblas_set_num_threads(2);
	int two = openblas_get_num_threads() == 2;
	openblas_set_num_threads(1);
	if (two) {
		tcase_add_test(tc, blas_init_sets_one_thread);
		tcase_add_test(tc, blas_init_stops_the_pool);
		tcase_add_test(tc, blas_topk_leaves_the_setting);
	} else {
		tu_skip("blas_init_sets_one_thread", "this OpenBLAS runs one thread at most");
		tu_skip("blas_init_stops_the_pool", "this OpenBLAS runs one thread at most");
		tu_skip("blas_topk_leaves_the_setting", "this OpenBLAS runs one thread at most");
	}
	suite_add_tcase(s, tc);
	return s;
}
