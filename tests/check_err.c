/* check_err.c - the error type and checked allocation helpers. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

START_TEST(fail_sets_code_and_message)
{
	botify_err err = {0};
	ck_assert_int_eq(botify_fail(&err, BOTIFY_EFORMAT, "%s:%d: bad", "users.json", 17), -1);
	ck_assert_int_eq(err.code, BOTIFY_EFORMAT);
	ck_assert_str_eq(err.msg, "users.json:17: bad");
	ck_assert_int_eq(botify_err_prefix(&err, "loading %s", "world"), -1);
	ck_assert_str_eq(err.msg, "loading world: users.json:17: bad");
}
END_TEST

START_TEST(fail_errno_appends_strerror)
{
	botify_err err = {0};
	botify_fail_errno(&err, ENOENT, "cannot open '%s'", "x.json");
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot open 'x.json': "));
	ck_assert_ptr_nonnull(strstr(err.msg, strerror(ENOENT)));
}
END_TEST

START_TEST(size_arithmetic_detects_overflow)
{
	size_t out = 0;
	ck_assert_int_eq(botify_size_mul(SIZE_MAX / 2, 3, &out), -1);
	ck_assert_int_eq(botify_size_mul(1000, 1000, &out), 0);
	ck_assert_uint_eq(out, 1000000);
	ck_assert_int_eq(botify_size_add(SIZE_MAX, 1, &out), -1);
	botify_err err = {0};
	ck_assert_ptr_null(botify_malloc(SIZE_MAX / 4, 8, "huge", &err));
	ck_assert_int_eq(err.code, BOTIFY_ENOMEM);
	ck_assert_ptr_nonnull(strstr(err.msg, "huge"));
}
END_TEST

START_TEST(alloc_grow_amortises_and_keeps_the_array_on_failure)
{
	botify_err err = {0};
	int32_t *a = NULL;
	size_t cap = 0, grows = 0, bad = 0;
	/* plain checks in the loops: every ck_assert is a message to Check's
	 * parent process, and 300 000 of them take seconds on a busy machine */
	for (size_t n = 0; n < 100000; n++) {
		size_t before = cap;
		bad += BOTIFY_ALLOC_GROW(a, n + 1, cap, "numbers", &err) != 0 || cap < n + 1;
		if (!a)
			break;
		grows += cap != before;
		a[n] = (int32_t)n;
	}
	ck_assert_uint_eq(bad, 0);
	/* half again each time: about log1.5(100000 / 16) + 1 reallocations */
	ck_assert_uint_le(grows, 30);
	for (size_t n = 0; n < 100000; n++)
		bad += a[n] != (int32_t)n;
	ck_assert_uint_eq(bad, 0);
	/* a jump straight to a large need takes exactly that need */
	size_t big = cap * 4;
	ck_assert_int_eq(BOTIFY_ALLOC_GROW(a, big, cap, "numbers", &err), 0);
	ck_assert_uint_eq(cap, big);
	/* an impossible size fails and leaves the array and its capacity as they were */
	int32_t *keep = a;
	size_t keep_cap = cap;
	ck_assert_int_eq(BOTIFY_ALLOC_GROW(a, SIZE_MAX / 2, cap, "numbers", &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ENOMEM);
	ck_assert_ptr_nonnull(strstr(err.msg, "numbers"));
	ck_assert_ptr_eq(a, keep);
	ck_assert_uint_eq(cap, keep_cap);
	ck_assert_int_eq(a[99999], 99999);
	free(a);
}
END_TEST

START_TEST(malloc_large_aligns_large_tables_and_frees_with_free)
{
	botify_err err = {0};
	/* 5 MB + 4 bytes: 2 MB-aligned, every byte usable up to the last */
	size_t n = (5u << 20) / sizeof(float) + 1;
	float *a = botify_malloc_large(n, sizeof(float), "table", &err);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq((uintptr_t)a % (2u << 20), 0);
	for (size_t i = 0; i < n; i++)
		a[i] = (float)i;
	ck_assert(a[n - 1] == (float)(n - 1));
	free(a);
	/* a small table is an ordinary block */
	char *b = botify_malloc_large(100, 1, "small", &err);
	ck_assert_ptr_nonnull(b);
	memset(b, 1, 100);
	free(b);
	ck_assert_ptr_null(botify_malloc_large(SIZE_MAX / 2, 4, "impossible", &err));
	ck_assert_int_eq(err.code, BOTIFY_ENOMEM);
	ck_assert_ptr_nonnull(strstr(err.msg, "impossible"));
}
END_TEST

Suite *err_suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, fail_sets_code_and_message);
	tcase_add_test(tc, fail_errno_appends_strerror);
	tcase_add_test(tc, size_arithmetic_detects_overflow);
	tcase_add_test(tc, alloc_grow_amortises_and_keeps_the_array_on_failure);
	tcase_add_test(tc, malloc_large_aligns_large_tables_and_frees_with_free);
	suite_add_tcase(s, tc);
	return s;
}
