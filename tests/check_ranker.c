/* check_ranker.c - ranked lists in session state (set, mark, next) and
 * the ranker's argument checks; nn's rankings themselves are checked
 * against brute force in check_export.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ranker.h"
#include "worldgen.h"

START_TEST(ranklist_serves_in_order_skipping_played)
{
	enum { K = 4 };
	unsigned char mem[64];
	ck_assert_uint_le(botify_ranklist_size(K), sizeof(mem));
	memset(mem, 0, sizeof(mem));
	botify_ranklist *l = (botify_ranklist *)mem;
	/* zeroed state is an empty list */
	ck_assert_int_eq(botify_ranklist_next(l, K), -1);
	const int32_t list[6] = { 9, 4, 7, 4, 2, 8 };
	botify_ranklist_set(l, K, list, 6); /* capped at K: 9 4 7 4 */
	ck_assert_int_eq(l->n, K);
	botify_ranklist_mark(l, K, 4);      /* both 4s */
	botify_ranklist_mark(l, K, 100);    /* not in the list: nothing */
	ck_assert_int_eq(botify_ranklist_next(l, K), 9);
	ck_assert_int_eq(botify_ranklist_next(l, K), 7);
	ck_assert_int_eq(botify_ranklist_next(l, K), -1);
	ck_assert_int_eq(botify_ranklist_next(l, K), -1);
	/* set restarts the list and forgets what was played */
	botify_ranklist_set(l, K, list + 3, 2);
	ck_assert_int_eq(l->n, 2);
	ck_assert_int_eq(botify_ranklist_next(l, K), 4);
	ck_assert_int_eq(botify_ranklist_next(l, K), 2);
	ck_assert_int_eq(botify_ranklist_next(l, K), -1);
	botify_ranklist_set(l, K, NULL, 0);
	ck_assert_int_eq(botify_ranklist_next(l, K), -1);
}
END_TEST

START_TEST(ranker_checks_k_and_the_model_dir)
{
	botify_world w = {0};
	botify_err err = {0};
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	p.tracks = 20;
	p.users = 3;
	p.dim = 2;
	ck_assert_int_eq(botify_worldgen_generate(&w, &p, &err), 0);
	botify_ranker r = {0};
	ck_assert_int_eq(botify_ranker_load(&r, "/nonexistent/model", &w, 20, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "k 20 out of range (1 to 19)"));
	ck_assert_int_eq(botify_ranker_load(&r, "/nonexistent/model", &w, 5, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/model"));
	ck_assert_ptr_null(r.items);
	botify_ranker_free(&r);
	botify_world_free(&w);
}
END_TEST

Suite *ranker_suite(void)
{
	Suite *s = suite_create("ranker");
	TCase *tc = tcase_create("lists");
	tcase_add_test(tc, ranklist_serves_in_order_skipping_played);
	tcase_add_test(tc, ranker_checks_k_and_the_model_dir);
	suite_add_tcase(s, tc);
	return s;
}
