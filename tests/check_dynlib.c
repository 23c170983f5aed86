/* check_dynlib.c - libraries loaded on first use: the three botify loads
 * resolve every function they list, and a library that is missing (or
 * lacks a function) fails with one line naming it and what needs it, every
 * time it is asked for. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dynlib.h"
#include "http_client.h"
#include "http_server.h"
#include "sessions.h"

START_TEST(botify_libraries_resolve_every_function)
{
	botify_err err = {0};
	ck_assert_msg(botify_http_load(&err) == 0, "%s", err.msg);
	ck_assert_msg(botify_http_server_load(&err) == 0, "%s", err.msg);
	ck_assert_msg(botify_sessions_load_redis(&err) == 0, "%s", err.msg);
	/* a client is the proof that the pointers are libcurl's own */
	ck_assert_msg(botify_http_global_init(&err) == 0, "%s", err.msg);
	botify_http_client c;
	ck_assert_msg(botify_http_client_init(&c, 1.0, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(c.curl);
	botify_http_client_free(&c);
	botify_http_global_free();
}
END_TEST

static double (*test_cos)(double);

START_TEST(a_library_resolves_into_typed_pointers)
{
	static const botify_dynsym syms[] = { BOTIFY_DYNSYM(cos, test_cos) };
	static botify_dynlib libm = { .soname = "libm.so.6", .needed_by = "this test", .syms = syms,
				      .n_syms = 1 };
	botify_err err = {0};
	ck_assert_msg(botify_dynlib_load(&libm, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(test_cos);
	ck_assert(test_cos(0.0) == 1.0);
	ck_assert_int_eq(botify_dynlib_load(&libm, &err), 0); /* once, then the same */
}
END_TEST

START_TEST(a_missing_library_names_itself_and_its_user)
{
	static void (*f)(void);
	static const botify_dynsym syms[] = { BOTIFY_DYNSYM(nothing, f) };
	static botify_dynlib lib = { .soname = "libbotify-no-such-library.so.7",
				     .needed_by = "the frobnicator", .syms = syms, .n_syms = 1 };
	botify_err err = {0};
	ck_assert_int_eq(botify_dynlib_load(&lib, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERUNTIME);
	ck_assert_msg(strstr(err.msg, "cannot load libbotify-no-such-library.so.7 (needed by the "
				     "frobnicator): ") == err.msg, "%s", err.msg);
	ck_assert_ptr_null(strchr(err.msg, '\n'));
	ck_assert_ptr_null(f);
	botify_err again = {0};
	ck_assert_int_eq(botify_dynlib_load(&lib, &again), -1);
	ck_assert_str_eq(again.msg, err.msg);
	ck_assert_int_eq(botify_dynlib_load(&lib, NULL), -1);
}
END_TEST

START_TEST(a_library_without_a_function_is_refused)
{
	static double (*f_cos)(double), (*f_none)(double);
	static const botify_dynsym syms[] = {
		BOTIFY_DYNSYM(cos, f_cos),
		{ "botify_no_such_function", (void *)&f_none },
	};
	static botify_dynlib lib = { .soname = "libm.so.6", .needed_by = "this test", .syms = syms,
				     .n_syms = 2 };
	botify_err err = {0};
	ck_assert_int_eq(botify_dynlib_load(&lib, &err), -1);
	ck_assert_msg(strstr(err.msg, "cannot load libm.so.6 (needed by this test): it has no "
				     "botify_no_such_function") == err.msg, "%s", err.msg);
}
END_TEST

/* The variable the e2e tests use to take a library away: whole sonames of a
 * list, so that the failure is dlopen's own. */
START_TEST(the_test_variable_makes_a_library_missing)
{
	static double (*f)(double);
	static const botify_dynsym syms[] = { BOTIFY_DYNSYM(sin, f) };
	static botify_dynlib kept = { .soname = "libm.so.6", .needed_by = "this test", .syms = syms,
				      .n_syms = 1 };
	static botify_dynlib taken = { .soname = "libm.so.6", .needed_by = "this test", .syms = syms,
				       .n_syms = 1 };
	botify_err err = {0};
	setenv(BOTIFY_DYNLIB_TEST_ENV, "libm.so,libm.so.60:libc.so.6", 1);
	ck_assert_msg(botify_dynlib_load(&kept, &err) == 0, "%s", err.msg);
	setenv(BOTIFY_DYNLIB_TEST_ENV, "libz.so.1:libm.so.6", 1);
	ck_assert_int_eq(botify_dynlib_load(&taken, &err), -1);
	unsetenv(BOTIFY_DYNLIB_TEST_ENV);
	ck_assert_msg(strstr(err.msg, "cannot load libm.so.6 (needed by this test): ") == err.msg &&
		      strstr(err.msg, "No such file"), "%s", err.msg);
}
END_TEST

static double (*race_cos)(double);
static const botify_dynsym race_syms[] = { BOTIFY_DYNSYM(cos, race_cos) };
static botify_dynlib race_lib = { .soname = "libm.so.6", .needed_by = "this test",
				  .syms = race_syms, .n_syms = 1 };

static void *race(void *arg)
{
	botify_err err;
	*(int *)arg = botify_dynlib_load(&race_lib, &err) == 0 && race_cos && race_cos(0.0) == 1.0;
	return NULL;
}

START_TEST(threads_load_a_library_once)
{
	enum { N = 8 };
	pthread_t th[N];
	int ok[N];
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, race, &ok[i]), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(ok[i], 1);
	}
	ck_assert_int_eq(race_lib.state, 1);
}
END_TEST

Suite *dynlib_suite(void)
{
	Suite *s = suite_create("dynlib");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, botify_libraries_resolve_every_function);
	tcase_add_test(tc, a_library_resolves_into_typed_pointers);
	tcase_add_test(tc, a_missing_library_names_itself_and_its_user);
	tcase_add_test(tc, a_library_without_a_function_is_refused);
	tcase_add_test(tc, the_test_variable_makes_a_library_missing);
	tcase_add_test(tc, threads_load_a_library_once);
	suite_add_tcase(s, tc);
	return s;
}
