/* check_simcfg.c - the user model's defaults, configs/sim.json (which must
 * hold exactly the compiled defaults) and config errors naming the file. */
#include <check.h>
#include <string.h>

#include "simcfg.h"
#include "testutil.h"

static void assert_same_cfg(const botify_simcfg *a, const botify_simcfg *b)
{
	ck_assert_int_eq(a->interest_neighbours, b->interest_neighbours);
	ck_assert_int_eq(a->session_budget, b->session_budget);
	ck_assert(a->artist_discount_gamma == b->artist_discount_gamma);
	ck_assert(a->consume_bias == b->consume_bias);
	ck_assert(a->consume_sharpness == b->consume_sharpness);
	ck_assert_int_eq(a->max_steps, b->max_steps);
}

/* The original simulator's UserCatalogConfig defaults. */
START_TEST(simcfg_defaults)
{
	botify_simcfg c;
	memset(&c, 0x5a, sizeof(c));
	botify_simcfg_defaults(&c);
	ck_assert_int_eq(c.interest_neighbours, 10);
	ck_assert_int_eq(c.session_budget, 5);
	ck_assert(c.artist_discount_gamma == 0.8);
	ck_assert(c.consume_bias == 5.0);
	ck_assert(c.consume_sharpness == 1.0);
	ck_assert_int_eq(c.max_steps, 1000);
}
END_TEST

/* Keeps configs/sim.json and the compiled defaults in sync. */
START_TEST(simcfg_config_file_equals_defaults)
{
	botify_simcfg d, c;
	botify_err err = {0};
	botify_simcfg_defaults(&d);
	ck_assert_msg(botify_simcfg_load(&c, "configs/sim.json", &err) == 0, "%s", err.msg);
	assert_same_cfg(&c, &d);
	/* and every key is spelled out there, so the file documents them all */
	char *text = tu_slurp("configs/sim.json", NULL);
	const char *keys[] = { "\"interest_neighbours\"", "\"session_budget\"",
			       "\"artist_discount_gamma\"", "\"consume_bias\"",
			       "\"consume_sharpness\"", "\"max_steps\"" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		tu_assert_has(text, keys[i]);
	free(text);
}
END_TEST

START_TEST(simcfg_load_overrides)
{
	botify_simcfg c, d;
	botify_err err = {0};
	char p[4096];
	tu_write(tu_path(p, tu_tmp, "sim.json"),
		 "{\"_comment\": \"x\", \"session_budget\": 3, \"artist_discount_gamma\": 0,"
		 " \"consume_bias\": -2.5, \"max_steps\": 7}",
		 0);
	ck_assert_msg(botify_simcfg_load(&c, p, &err) == 0, "%s", err.msg);
	botify_simcfg_defaults(&d);
	ck_assert_int_eq(c.session_budget, 3);
	ck_assert(c.artist_discount_gamma == 0);
	ck_assert(c.consume_bias == -2.5);
	ck_assert_int_eq(c.max_steps, 7);
	ck_assert_int_eq(c.interest_neighbours, d.interest_neighbours);
	ck_assert(c.consume_sharpness == d.consume_sharpness);
	/* an empty object is the defaults; gzip works too */
	tu_write(tu_path(p, tu_tmp, "empty.json.gz"), "{}", 1);
	ck_assert_msg(botify_simcfg_load(&c, p, &err) == 0, "%s", err.msg);
	assert_same_cfg(&c, &d);
}
END_TEST

static void expect_fail(const char *text, enum botify_errcode code, const char *needle)
{
	botify_simcfg c;
	botify_err err = {0};
	char p[4096], want[4200];
	tu_write(tu_path(p, tu_tmp, "bad.json"), text, 0);
	ck_assert_msg(botify_simcfg_load(&c, p, &err) == -1, "'%s' loaded", text);
	ck_assert_msg(err.code == code, "code %d, want %d: %s", err.code, code, err.msg);
	tu_fmt(want, sizeof(want), "%s: %s", p, needle);
	tu_assert_has(err.msg, want);
}

START_TEST(simcfg_errors_name_the_file)
{
	expect_fail("{\"session_budjet\": 5}", BOTIFY_EFORMAT, "unknown key 'session_budjet'");
	expect_fail("{\"session_budget\": 0}", BOTIFY_ERANGE, "'session_budget' is 0");
	expect_fail("{\"interest_neighbours\": -1}", BOTIFY_ERANGE, "'interest_neighbours'");
	expect_fail("{\"interest_neighbours\": 2.5}", BOTIFY_EFORMAT,
		    "'interest_neighbours' must be an integer");
	expect_fail("{\"max_steps\": 0}", BOTIFY_ERANGE, "'max_steps'");
	expect_fail("{\"max_steps\": 1e12}", BOTIFY_ERANGE, "'max_steps'");
	expect_fail("{\"max_steps\": \"10\"}", BOTIFY_EFORMAT, "'max_steps' must be an integer, got a string");
	expect_fail("{\"artist_discount_gamma\": -0.1}", BOTIFY_ERANGE, "'artist_discount_gamma'");
	expect_fail("{\"consume_bias\": null}", BOTIFY_EFORMAT, "'consume_bias' must be a number");
	expect_fail("{\"consume_sharpness\": 1e10}", BOTIFY_ERANGE, "'consume_sharpness'");
	expect_fail("[5]", BOTIFY_EFORMAT, "expected a JSON object");
	expect_fail("{\"session_budget\": 5,", BOTIFY_EFORMAT, "malformed JSON");

	botify_simcfg c;
	botify_err err = {0};
	char p[4096];
	ck_assert_int_eq(botify_simcfg_load(&c, tu_path(p, tu_tmp, "missing.json"), &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	tu_assert_has(err.msg, p);
}
END_TEST

Suite *simcfg_suite(void)
{
	Suite *s = suite_create("simcfg");
	TCase *tc = tcase_create("core");
	tu_scratch(tc);
	tcase_add_test(tc, simcfg_defaults);
	tcase_add_test(tc, simcfg_config_file_equals_defaults);
	tcase_add_test(tc, simcfg_load_overrides);
	tcase_add_test(tc, simcfg_errors_name_the_file);
	suite_add_tcase(s, tc);
	return s;
}
