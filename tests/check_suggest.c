/* check_suggest.c - "did you mean": the closest name by edit distance, a
 * prefix cut short, and nothing for a word far from every name. */
#include <check.h>
#include <stddef.h>

#include "suggest.h"

static const char *const recs[] = { "random", "toppop", "sticky_artist", "indexed", "contextual",
				     "nn", "ranked_sticky", "sticky_plus", "exec", "remote" };
#define N_RECS (sizeof(recs) / sizeof(recs[0]))

START_TEST(suggest_distance)
{
	ck_assert_uint_eq(botify_name_distance("random", "random"), 0);
	ck_assert_uint_eq(botify_name_distance("randm", "random"), 1);      /* a deletion */
	ck_assert_uint_eq(botify_name_distance("rnadom", "random"), 2);     /* a swap is two edits */
	ck_assert_uint_eq(botify_name_distance("stick", "sticky_artist"), 1); /* a prefix */
	ck_assert_uint_eq(botify_name_distance("st", "sticky_artist"), 11);  /* too short a prefix */
	ck_assert_uint_eq(botify_name_distance("", "nn"), 2);
}
END_TEST

START_TEST(suggest_closest)
{
	ck_assert_str_eq(botify_closest("stiky_artist", recs, N_RECS), "sticky_artist");
	ck_assert_str_eq(botify_closest("randm", recs, N_RECS), "random");
	ck_assert_str_eq(botify_closest("contextul", recs, N_RECS), "contextual");
	ck_assert_str_eq(botify_closest("ranked", recs, N_RECS), "ranked_sticky");
	/* ties go to the first name: "sticky" is a prefix of sticky_artist and sticky_plus */
	ck_assert_str_eq(botify_closest("sticky", recs, N_RECS), "sticky_artist");
	ck_assert_ptr_null(botify_closest("word2vec", recs, N_RECS));
	ck_assert_ptr_null(botify_closest("x", recs, 0));
	/* longer than the table: simply far */
	ck_assert_ptr_null(botify_closest("an_extremely_long_name_that_matches_nothing_at_all", recs,
					  N_RECS));
}
END_TEST

Suite *suggest_suite(void)
{
	Suite *s = suite_create("suggest");
	TCase *tc = tcase_create("names");
	tcase_add_test(tc, suggest_distance);
	tcase_add_test(tc, suggest_closest);
	suite_add_tcase(s, tc);
	return s;
}
