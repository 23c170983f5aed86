/* check_jsoncfg.c - table-driven config files: every type, ranges checked
 * before storing, unknown keys listed with the known ones, "_" keys skipped,
 * required keys, and a table shaped like a model's config.json (ints, a
 * bool, a string, other keys left to the caller). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "jsoncfg.h"
#include "testutil.h"

struct cfg {
	int i;
	int32_t i32;
	int64_t i64;
	double d;
	int b;
	const char *s;
};

#define F(member, kind, lo, hi, req) BOTIFY_JSONCFG_FIELD(struct cfg, member, kind, lo, hi, req)
static const botify_jsoncfg_field all_fields[] = {
	F(i, INT, -5, 5, 0),
	F(i32, INT32, 0, 2147483647.0, 0),
	F(i64, INT64, -9007199254740992.0, 9007199254740992.0, 0),
	F(d, DOUBLE, -1, 1, 0),
	F(b, BOOL, 0, 0, 0),
	F(s, STRING, 0, 0, 0),
};
/* as a model's config.json: required sizes, a flag, other keys allowed */
static const botify_jsoncfg_field model_fields[] = {
	F(i, INT, 1, 4096, 1),
	F(b, BOOL, 0, 0, 0),
	F(s, STRING, 0, 0, 1),
};
#undef F
static const botify_jsoncfg all = { NULL, all_fields, 6, 0 };
static const botify_jsoncfg model = { NULL, model_fields, 3, 1 };
static const botify_jsoncfg named = { "world parameter", all_fields, 6, 0 };

/* The tree of the last apply: strings point into it until the next call. */
static cJSON *tree;

static void free_tree(void)
{
	cJSON_Delete(tree);
	tree = NULL;
}

static int apply(const botify_jsoncfg *t, const char *text, struct cfg *c, botify_err *err)
{
	cJSON_Delete(tree);
	tree = cJSON_Parse(text);
	ck_assert_msg(tree != NULL, "fixture '%s' is not JSON", text);
	return botify_jsoncfg_apply(t, tree, "c.json", c, err);
}

static void expect_fail(const botify_jsoncfg *t, const char *text, enum botify_errcode code,
			const char *msg)
{
	struct cfg c = {0};
	botify_err err = {0};
	ck_assert_msg(apply(t, text, &c, &err) == -1, "'%s' was accepted", text);
	ck_assert_msg(err.code == code, "'%s': code %d, want %d (%s)", text, err.code, code, err.msg);
	ck_assert_str_eq(err.msg, msg);
}

START_TEST(jsoncfg_stores_every_type)
{
	struct cfg c = { .i = 4, .d = 0.5 };
	botify_err err = {0};
	ck_assert_msg(apply(&all, "{\"i32\": 2147483647, \"i64\": -9007199254740992, \"b\": true,"
				  " \"_comment\": [1, {}], \"s\": \"x\", \"d\": -1}", &c, &err) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(c.i, 4); /* absent: untouched, so defaults survive */
	ck_assert_int_eq(c.i32, INT32_MAX);
	ck_assert(c.i64 == -9007199254740992LL);
	ck_assert(c.d == -1);
	ck_assert_int_eq(c.b, 1);
	ck_assert_str_eq(c.s, "x");
	ck_assert_int_eq(botify_jsoncfg_check(&all, &c, &err), 0);
	c.d = 1.5; /* as a flag would set it */
	ck_assert_int_eq(botify_jsoncfg_check(&named, &c, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERANGE);
	ck_assert_str_eq(err.msg, "world parameter 'd' is 1.5, out of range (-1 to 1)");
	c.d = NAN;
	ck_assert_int_eq(botify_jsoncfg_check(&all, &c, &err), -1);
	c.d = 0;
	ck_assert(apply(&all, "{\"b\": false, \"i\": -5, \"i\": 5}", &c, &err) == 0);
	ck_assert_int_eq(c.b, 0);
	ck_assert_int_eq(c.i, 5); /* the last of a repeated key */
}
END_TEST

START_TEST(jsoncfg_refuses_with_one_message)
{
	expect_fail(&all, "{\"i\": 2.5}", BOTIFY_EFORMAT, "c.json: 'i' must be an integer, got 2.5");
	expect_fail(&all, "{\"i\": \"1\"}", BOTIFY_EFORMAT,
		    "c.json: 'i' must be an integer, got a string");
	expect_fail(&all, "{\"d\": null}", BOTIFY_EFORMAT, "c.json: 'd' must be a number, got null");
	expect_fail(&all, "{\"d\": [1]}", BOTIFY_EFORMAT, "c.json: 'd' must be a number, got an array");
	expect_fail(&all, "{\"b\": 1}", BOTIFY_EFORMAT, "c.json: 'b' must be true or false, got 1");
	expect_fail(&all, "{\"s\": {}}", BOTIFY_EFORMAT, "c.json: 's' must be a string, got an object");
	expect_fail(&all, "{\"i\": 6}", BOTIFY_ERANGE, "c.json: 'i' is 6, out of range (-5 to 5)");
	/* out of range of the type too: refused before the conversion */
	expect_fail(&all, "{\"i32\": 1e30}", BOTIFY_ERANGE,
		    "c.json: 'i32' is 1e+30, out of range (0 to 2.14748e+09)");
	expect_fail(&all, "{\"i64\": -1e300}", BOTIFY_ERANGE,
		    "c.json: 'i64' is -1e+300, out of range (-9.0072e+15 to 9.0072e+15)");
	expect_fail(&all, "{\"d\": 1.5}", BOTIFY_ERANGE, "c.json: 'd' is 1.5, out of range (-1 to 1)");
	expect_fail(&all, "{\"x\": 1}", BOTIFY_EFORMAT,
		    "c.json: unknown key 'x' (known: i, i32, i64, d, b, s)");
	expect_fail(&named, "{\"d\": -2}", BOTIFY_ERANGE,
		    "c.json: world parameter 'd' is -2, out of range (-1 to 1)");
	expect_fail(&named, "{\"trakcs\": 1}", BOTIFY_EFORMAT,
		    "c.json: unknown world parameter 'trakcs' (known: i, i32, i64, d, b, s)");
	expect_fail(&all, "[1]", BOTIFY_EFORMAT, "c.json: expected a JSON object");
	expect_fail(&model, "{\"s\": \"a\"}", BOTIFY_EFORMAT, "c.json: 'i' is missing");
}
END_TEST

START_TEST(jsoncfg_model_config_shape)
{
	struct cfg c = {0};
	botify_err err = {0};
	ck_assert_msg(apply(&model, "{\"format_version\": 3, \"i\": 64, \"s\": \"dot\","
				    " \"tensors\": {\"a\": [1, 2]}}", &c, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(c.i, 64);
	ck_assert_int_eq(c.b, 0);
	ck_assert_str_eq(c.s, "dot");
	expect_fail(&model, "{\"i\": 0, \"s\": \"a\"}", BOTIFY_ERANGE,
		    "c.json: 'i' is 0, out of range (1 to 4096)");
}
END_TEST

/* The file reader: plain or gzip, the path in every message. */
START_TEST(jsoncfg_load_reads_files)
{
	static const botify_jsoncfg nums = { NULL, all_fields, 4, 0 };
	char p[4096];
	struct cfg c = {0};
	botify_err err = {0};
	tu_write(tu_path(p, tu_tmp, "c.json.gz"), "{\"i\": 3,\n \"d\": 0.25}\n", 1);
	ck_assert_msg(botify_jsoncfg_load(&nums, p, &c, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(c.i, 3);
	ck_assert(c.d == 0.25);
	tu_write(tu_path(p, tu_tmp, "bad.json"), "{\"i\": 3,", 0);
	ck_assert_int_eq(botify_jsoncfg_load(&nums, p, &c, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EFORMAT);
	tu_assert_has(err.msg, p);
	tu_write(tu_path(p, tu_tmp, "range.json"), "{\"i\": 30}", 0);
	ck_assert_int_eq(botify_jsoncfg_load(&nums, p, &c, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERANGE);
	tu_assert_has(err.msg, p);
	ck_assert_int_eq(botify_jsoncfg_load(&nums, tu_path(p, tu_tmp, "none.json"), &c, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
}
END_TEST

Suite *jsoncfg_suite(void)
{
	Suite *s = suite_create("jsoncfg");
	TCase *tc = tcase_create("core");
	tu_scratch(tc);
	tcase_add_checked_fixture(tc, NULL, free_tree);
	tcase_add_test(tc, jsoncfg_stores_every_type);
	tcase_add_test(tc, jsoncfg_refuses_with_one_message);
	tcase_add_test(tc, jsoncfg_model_config_shape);
	tcase_add_test(tc, jsoncfg_load_reads_files);
	suite_add_tcase(s, tc);
	return s;
}
