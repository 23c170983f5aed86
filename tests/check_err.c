/* check_err.c - the error type and checked allocation helpers. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
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

Suite *err_suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, fail_sets_code_and_message);
	tcase_add_test(tc, fail_errno_appends_strerror);
	tcase_add_test(tc, size_arithmetic_detects_overflow);
	suite_add_tcase(s, tc);
	return s;
}
