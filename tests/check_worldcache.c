/* check_worldcache.c - generated worlds on disk: a miss generates and
 * writes, a hit gives the same world bit for bit; damaged, truncated,
 * foreign and unwritable files are detected and the world generated; the
 * cache key follows the generator's output. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "worldcache.h"

static void small_params(botify_worldgen_params *p)
{
	botify_worldgen_defaults(p);
	p->tracks = 700;
	p->users = 90;
	p->dim = 12;
	p->seed = 5;
}

static void assert_same_world(const botify_world *a, const botify_world *b)
{
	ck_assert_int_eq(a->N, b->N);
	ck_assert_int_eq(a->D, b->D);
	ck_assert_int_eq(a->U, b->U);
	ck_assert_int_eq(a->A, b->A);
	ck_assert_int_eq(a->n_interests, b->n_interests);
	ck_assert_int_eq(a->n_top, b->n_top);
	ck_assert(!memcmp(a->E, b->E, (size_t)a->N * (size_t)a->D * sizeof(float)));
	ck_assert(!memcmp(a->artist, b->artist, (size_t)a->N * sizeof(int32_t)));
	ck_assert(!memcmp(a->artist_off, b->artist_off, (size_t)(a->A + 1) * sizeof(int32_t)));
	ck_assert(!memcmp(a->artist_tracks, b->artist_tracks, (size_t)a->N * sizeof(int32_t)));
	ck_assert(!memcmp(a->users, b->users, (size_t)a->U * sizeof(botify_user)));
	ck_assert(!memcmp(a->interests, b->interests, (size_t)a->n_interests * sizeof(int32_t)));
	ck_assert(!memcmp(a->top_tracks, b->top_tracks, (size_t)a->n_top * sizeof(int32_t)));
	for (int32_t t = 0; t < a->N; t++)
		ck_assert_str_eq(botify_world_title(a, t), botify_world_title(b, t));
	for (int32_t x = 0; x < a->A; x++)
		ck_assert_str_eq(botify_world_artist_name(a, x), botify_world_artist_name(b, x));
	ck_assert_str_eq(a->source, b->source);
}

/* One call; returns its status, why in why. */
static int run(botify_world *w, const botify_worldgen_params *p, const char *path, char *why, size_t n)
{
	botify_err err = {0};
	int status = -1;
	ck_assert_msg(botify_worldcache_generate(w, p, path, 1, &status, why, n, &err) == 0, "%s", err.msg);
	return status;
}

START_TEST(worldcache_generator_digest_is_the_keys)
{
	char hex[33];
	botify_err err = {0};
	ck_assert_int_eq(botify_worldcache_generator_digest(hex, &err), 0);
	ck_assert_msg(!strcmp(hex, BOTIFY_WORLDCACHE_GENERATOR),
		      "the generator makes other worlds now: set BOTIFY_WORLDCACHE_GENERATOR in "
		      "lib/worldcache.h to \"%s\" (so no cached world of the old one is used)", hex);
}
END_TEST

START_TEST(worldcache_miss_writes_hit_reads_the_same)
{
	botify_worldgen_params p;
	small_params(&p);
	char path[256], why[256];
	botify_err err = {0};
	ck_assert_int_eq(botify_worldcache_path(&p, tu_tmp, path, sizeof(path), &err), 0);
	botify_world gen, first, second;
	ck_assert_int_eq(botify_worldgen_generate(&gen, &p, &err), 0);
	ck_assert_int_eq(run(&first, &p, path, why, sizeof(why)), BOTIFY_WORLDCACHE_GENERATED);
	ck_assert_str_eq(why, "");
	ck_assert_int_eq(access(path, R_OK), 0);
	ck_assert_int_eq(run(&second, &p, path, why, sizeof(why)), BOTIFY_WORLDCACHE_LOADED);
	ck_assert_str_eq(why, "");
	assert_same_world(&gen, &first);
	assert_same_world(&gen, &second);
	botify_world_free(&gen);
	botify_world_free(&first);
	botify_world_free(&second);

	/* any other parameter is another file */
	char other[256];
	p.track_scale = 0.11;
	ck_assert_int_eq(botify_worldcache_path(&p, tu_tmp, other, sizeof(other), &err), 0);
	ck_assert_str_ne(path, other);
}
END_TEST

static void damage(const char *path, const char *how, const char *other)
{
	FILE *f;
	if (!strcmp(how, "flip")) { /* a byte in the embeddings */
		f = fopen(path, "r+b");
		ck_assert_ptr_nonnull(f);
		fseek(f, 1000, SEEK_SET);
		int c = fgetc(f);
		fseek(f, 1000, SEEK_SET);
		fputc(c ^ 0x40, f);
		fclose(f);
	} else if (!strcmp(how, "truncate")) {
		struct stat st;
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(truncate(path, st.st_size - 5), 0);
	} else if (!strcmp(how, "magic")) {
		f = fopen(path, "r+b");
		ck_assert_ptr_nonnull(f);
		fputs("NOTBOTIF", f);
		fclose(f);
	} else if (!strcmp(how, "foreign")) { /* a valid file of other parameters */
		ck_assert_int_eq(rename(other, path), 0);
	} else if (!strcmp(how, "empty")) {
		f = fopen(path, "wb");
		ck_assert_ptr_nonnull(f);
		fclose(f);
	}
}

START_TEST(worldcache_bad_files_are_rebuilt)
{
	static const struct {
		const char *how, *why;
	} cases[] = {
		{ "flip", "(bad checksum)" },
		{ "truncate", "(truncated or padded)" },
		{ "magic", "(not a botify world cache)" },
		{ "foreign", "(made for another world)" },
		{ "empty", "(wrong size)" },
	};
	botify_worldgen_params p, q;
	small_params(&p);
	small_params(&q);
	q.users = 91;
	char path[256], other[256], why[512];
	botify_err err = {0};
	ck_assert_int_eq(botify_worldcache_path(&p, tu_tmp, path, sizeof(path), &err), 0);
	ck_assert_int_eq(botify_worldcache_path(&q, tu_tmp, other, sizeof(other), &err), 0);
	botify_world gen, w;
	ck_assert_int_eq(botify_worldgen_generate(&gen, &p, &err), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unlink(path);
		unlink(other);
		ck_assert_int_eq(run(&w, &p, path, why, sizeof(why)), BOTIFY_WORLDCACHE_GENERATED);
		botify_world_free(&w);
		ck_assert_int_eq(run(&w, &q, other, why, sizeof(why)), BOTIFY_WORLDCACHE_GENERATED);
		botify_world_free(&w);
		damage(path, cases[i].how, other);
		ck_assert_int_eq(run(&w, &p, path, why, sizeof(why)), BOTIFY_WORLDCACHE_GENERATED);
		ck_assert_msg(strstr(why, "ignoring the world cache") && strstr(why, cases[i].why),
			      "%s: %s", cases[i].how, why);
		assert_same_world(&gen, &w);
		botify_world_free(&w);
		/* rebuilt: the next call reads it */
		ck_assert_int_eq(run(&w, &p, path, why, sizeof(why)), BOTIFY_WORLDCACHE_LOADED);
		ck_assert_str_eq(why, "");
		assert_same_world(&gen, &w);
		botify_world_free(&w);
	}
	botify_world_free(&gen);
}
END_TEST

START_TEST(worldcache_unwritable_still_generates)
{
	botify_worldgen_params p;
	small_params(&p);
	char path[256], why[512];
	tu_fmt(path, sizeof(path), "%s/missing-dir/world.bin", tu_tmp);
	botify_world w;
	ck_assert_int_eq(run(&w, &p, path, why, sizeof(why)), BOTIFY_WORLDCACHE_GENERATED);
	ck_assert_msg(strstr(why, "world cache not written"), "%s", why);
	ck_assert_int_eq(w.N, 700);
	botify_world_free(&w);
	/* a directory where the file should be: ignored, not removed */
	tu_fmt(path, sizeof(path), "%s/dir.bin", tu_tmp);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(run(&w, &p, path, why, sizeof(why)), BOTIFY_WORLDCACHE_GENERATED);
	ck_assert_msg(strstr(why, "not a regular file"), "%s", why);
	botify_world_free(&w);
	struct stat st;
	ck_assert(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
}
END_TEST

START_TEST(worldcache_bad_parameters_fail_as_the_generator)
{
	botify_worldgen_params p;
	small_params(&p);
	p.tracks = 0;
	char why[64];
	botify_world w;
	botify_err err = {0};
	int status;
	ck_assert_int_eq(botify_worldcache_generate(&w, &p, "/nonexistent/x.bin", 1, &status, why, sizeof(why), &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERANGE);
}
END_TEST

Suite *worldcache_suite(void)
{
	Suite *s = suite_create("worldcache");
	TCase *tc = tcase_create("cache");
	tu_scratch(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, worldcache_generator_digest_is_the_keys);
	tcase_add_test(tc, worldcache_miss_writes_hit_reads_the_same);
	tcase_add_test(tc, worldcache_bad_files_are_rebuilt);
	tcase_add_test(tc, worldcache_unwritable_still_generates);
	tcase_add_test(tc, worldcache_bad_parameters_fail_as_the_generator);
	suite_add_tcase(s, tc);
	return s;
}
