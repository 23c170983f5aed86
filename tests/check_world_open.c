/* check_world_open.c - botify_world_open: NULL is the built-in world
 * (worldgen's defaults, bit for bit), a directory is loaded whole or, with
 * BOTIFY_WORLD_CATALOG_ONLY, without its users; a missing directory is an
 * error naming it and leaves the world empty. */
#include <check.h>
#include <string.h>

#include "testutil.h"
#include "world.h"
#include "worldgen.h"

START_TEST(world_open_null_is_the_builtin_world)
{
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	botify_world want = {0}, got = {0};
	botify_err err = {0};
	ck_assert_msg(botify_worldgen_generate(&want, &p, &err) == 0, "%s", err.msg);
	ck_assert_msg(botify_world_open(&got, NULL, BOTIFY_WORLD_ALL, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(got.N, want.N);
	ck_assert_int_eq(got.U, want.U);
	ck_assert_int_eq(got.D, want.D);
	ck_assert_int_gt(got.U, 0);
	ck_assert_str_eq(got.source, want.source);
	ck_assert_mem_eq(got.E, want.E, sizeof(float) * (size_t)got.N * (size_t)got.D);
	ck_assert_mem_eq(got.interests, want.interests, sizeof(int32_t) * (size_t)got.n_interests);
	botify_world_free(&got);
	/* the built-in world has no files to skip: it comes whole either way */
	ck_assert_msg(botify_world_open(&got, NULL, BOTIFY_WORLD_CATALOG_ONLY, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(got.U, want.U);
	botify_world_free(&got);
	botify_world_free(&want);
}
END_TEST

START_TEST(world_open_directory_whole_or_catalog)
{
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	p.tracks = 120;
	p.users = 15;
	p.dim = 4;
	p.genres = 3;
	botify_world gen = {0}, all = {0}, cat = {0};
	botify_err err = {0};
	ck_assert_msg(botify_worldgen_generate(&gen, &p, &err) == 0, "%s", err.msg);
	char dir[256];
	tu_fmt(dir, sizeof(dir), "%s/w", tu_tmp);
	ck_assert_msg(botify_world_save(&gen, dir, 0, &err) == 0, "%s", err.msg);

	ck_assert_msg(botify_world_open(&all, dir, BOTIFY_WORLD_ALL, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(all.N, 120);
	ck_assert_int_eq(all.U, 15);
	ck_assert_str_eq(all.source, dir);
	ck_assert_mem_eq(all.E, gen.E, sizeof(float) * (size_t)all.N * (size_t)all.D);

	ck_assert_msg(botify_world_open(&cat, dir, BOTIFY_WORLD_CATALOG_ONLY, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(cat.N, 120);
	ck_assert_int_eq(cat.U, 0);
	ck_assert_ptr_null(cat.users);
	botify_world_free(&all);
	botify_world_free(&cat);
	botify_world_free(&gen);
}
END_TEST

START_TEST(world_open_missing_directory_names_it)
{
	char dir[256];
	tu_fmt(dir, sizeof(dir), "%s/nowhere", tu_tmp);
	botify_world w = {0};
	botify_err err = {0};
	ck_assert_int_ne(botify_world_open(&w, dir, BOTIFY_WORLD_ALL, &err), 0);
	ck_assert_msg(strstr(err.msg, "nowhere") != NULL, "%s", err.msg);
	ck_assert_int_eq(w.N, 0);
	ck_assert_ptr_null(w.E);
	botify_world_free(&w);
}
END_TEST

Suite *world_open_suite(void)
{
	Suite *s = suite_create("world_open");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60); /* the built-in world, generated twice, on a loaded machine */
	tu_scratch(tc);
	tcase_add_test(tc, world_open_null_is_the_builtin_world);
	tcase_add_test(tc, world_open_directory_whole_or_catalog);
	tcase_add_test(tc, world_open_missing_directory_names_it);
	suite_add_tcase(s, tc);
	return s;
}
