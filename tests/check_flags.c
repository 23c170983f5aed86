/* check_flags.c - the flag table of cmd/flags.c: a flag's `seen` pointer
 * travels with its table entry (set by the FLAG_*_SEEN macros), so a table
 * in another order marks the same options as given; values, defaults left
 * alone, and the usage errors of bad values. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cmd/flags.h"

static const struct flag_doc doc = { .usage = "botify test [options]", .summary = NULL, .extra = NULL };

struct vals {
	int64_t steps, seed;
	double timeout;
	const char *world;
	int seen_steps, seen_seed, seen_timeout, seen_world, quiet;
};

/* Parses argv against the table in one order or in reverse. */
static int parse(struct vals *v, int reversed, int argc, char **argv)
{
	struct flag fwd[] = {
		FLAG_LONG_SEEN("max-steps", &v->steps, "M", "cap", 1, 1e9, &v->seen_steps),
		FLAG_LONG_SEEN("seed", &v->seed, "S", "seed", 0, 1e15, &v->seen_seed),
		FLAG_DOUBLE_SEEN("rec-timeout", &v->timeout, "S", "seconds", 0.001, 60, &v->seen_timeout),
		FLAG_STR_SEEN("world", &v->world, "DIR", "world", &v->seen_world),
		FLAG_BOOL("quiet", &v->quiet, "quiet"),
		FLAG_END,
	};
	struct flag rev[sizeof(fwd) / sizeof(fwd[0])];
	int n = (int)(sizeof(fwd) / sizeof(fwd[0])) - 1;
	for (int i = 0; i < n; i++)
		rev[i] = fwd[n - 1 - i];
	rev[n] = fwd[n];
	return flags_parse(reversed ? rev : fwd, &doc, argc, argv, NULL, 0, NULL);
}

START_TEST(flags_seen_follows_the_flag_in_any_order)
{
	for (int reversed = 0; reversed < 2; reversed++) {
		struct vals v = { .steps = 1000, .seed = 1, .timeout = 10 };
		char *argv[] = { "test", "--seed", "7", "--world=w", "--quiet", NULL };
		ck_assert_int_eq(parse(&v, reversed, 4, argv), FLAGS_OK);
		ck_assert_int_eq(v.seed, 7);
		ck_assert_str_eq(v.world, "w");
		ck_assert_int_eq(v.quiet, 0); /* argc 4: not parsed */
		ck_assert_int_eq(v.seen_seed, 1);
		ck_assert_int_eq(v.seen_world, 1);
		ck_assert_int_eq(v.seen_steps, 0);
		ck_assert_int_eq(v.seen_timeout, 0);
		ck_assert_int_eq(v.steps, 1000);
		ck_assert(v.timeout == 10);
	}
	for (int reversed = 0; reversed < 2; reversed++) {
		struct vals v = { .steps = 1000, .seed = 1, .timeout = 10 };
		char *argv[] = { "test", "--max-steps", "3", "--rec-timeout", "0.5", NULL };
		ck_assert_int_eq(parse(&v, reversed, 5, argv), FLAGS_OK);
		ck_assert_int_eq(v.steps, 3);
		ck_assert(v.timeout == 0.5);
		ck_assert_int_eq(v.seen_steps, 1);
		ck_assert_int_eq(v.seen_timeout, 1);
		ck_assert_int_eq(v.seen_seed, 0);
		ck_assert_int_eq(v.seen_world, 0);
	}
}
END_TEST

START_TEST(flags_bad_values_are_usage_errors)
{
	/* the errors go to stderr: kept in a file (this test runs in a fork of its own) */
	char path[] = "/tmp/botify-flags-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(freopen(path, "w+", stderr));
	close(fd);
	unlink(path);
	const char *bad[][3] = { { "--max-steps", "0", "--max-steps 0 is out of range" },
				 { "--max-steps", "12x", "--max-steps expects an integer, got '12x'" },
				 { "--rec-timeout", "nan", "--rec-timeout expects a number" },
				 { "--seed", "-1", "--seed -1 is out of range" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vals v = { .steps = 1000, .seed = 1, .timeout = 10 };
		char *argv[] = { "test", (char *)bad[i][0], (char *)bad[i][1], NULL };
		ck_assert_int_eq(parse(&v, 0, 3, argv), FLAGS_ERROR);
	}
	struct vals v = { .steps = 1000 };
	char *argv[] = { "test", "--max-step", "3", NULL };
	ck_assert_int_eq(parse(&v, 1, 3, argv), FLAGS_ERROR);
	ck_assert_int_eq(v.seen_steps, 0);
	char said[2048] = "";
	fflush(stderr);
	rewind(stderr);
	size_t n = fread(said, 1, sizeof(said) - 1, stderr);
	said[n] = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(strstr(said, bad[i][2]) != NULL, "no '%s' in: %s", bad[i][2], said);
	ck_assert_msg(strstr(said, "did you mean --max-steps?") != NULL, "%s", said);
}
END_TEST

Suite *flags_suite(void)
{
	Suite *s = suite_create("flags");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, flags_seen_follows_the_flag_in_any_order);
	tcase_add_test(tc, flags_bad_values_are_usage_errors);
	suite_add_tcase(s, tc);
	return s;
}
