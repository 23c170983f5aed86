/*
 * check_recproto.c - the messages of exec:, remote: and botify serve:
 * request lines and bodies (times as Python writes them, exact round
 * trips), answers and bodies (what is accepted, what is refused and how
 * the message reads), URL ids and quoting for messages.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "http_server.h"
#include "recproto.h"
#include "testutil.h"

START_TEST(request_lines_are_compact_json_with_python_floats)
{
	char buf[BOTIFY_RECPROTO_MAX_LINE];
	botify_rec_call c = { 17, 4211, 1.0 };
	size_t n = botify_recproto_request(buf, BOTIFY_MSG_NEXT, &c);
	ck_assert_str_eq(buf, "{\"message\":\"next\",\"user\":17,\"track\":4211,\"time\":1.0}\n");
	ck_assert_uint_eq(n, strlen(buf));
	c = (botify_rec_call){ 9007199254740991LL, 2147483647, 0.12 };
	botify_recproto_request(buf, BOTIFY_MSG_LAST, &c);
	ck_assert_str_eq(buf, "{\"message\":\"last\",\"user\":9007199254740991,\"track\":2147483647,\"time\":0.12}\n");
	c = (botify_rec_call){ 3, 0, 0.0 };
	n = botify_recproto_body(buf, &c);
	ck_assert_str_eq(buf, "{\"track\":0,\"time\":0.0}");
	ck_assert_uint_eq(n, strlen(buf));
}
END_TEST

START_TEST(doubles_round_trip_exactly)
{
	char buf[32];
	/* the digits are pyfmt's (tests/check_pyfmt.c); JSON has no NaN */
	ck_assert_uint_eq(botify_recproto_double(buf, 0.29), 4);
	ck_assert_str_eq(buf, "0.29");
	botify_recproto_double(buf, NAN);
	ck_assert_str_eq(buf, "null");
	/* every listen time the simulator makes survives the trip */
	for (int h = 0; h <= 100; h++) {
		double t = h / 100.0;
		botify_rec_call c = { 1, 2, t }, back = { 1, 0, -1 };
		char body[BOTIFY_RECPROTO_MAX_LINE];
		size_t n = botify_recproto_body(body, &c);
		botify_err err = {0};
		ck_assert_int_eq(botify_recproto_parse_body(body, n, &back.track, &back.time, &err), 0);
		ck_assert(back.time == t && back.track == 2);
	}
}
END_TEST

static void answer_ok(const char *s, const int64_t *user, int32_t want)
{
	botify_err err = {0};
	int32_t t = -7;
	ck_assert_msg(botify_recproto_parse_answer(s, strlen(s), user, &t, &err) == 0, "%s: %s", s, err.msg);
	ck_assert_int_eq(t, want);
}

static void answer_bad(const char *s, const int64_t *user, int want_track, const char *needle)
{
	botify_err err = {0};
	int32_t t = -7;
	ck_assert_msg(botify_recproto_parse_answer(s, strlen(s), user, want_track ? &t : NULL, &err) == -1,
		      "'%s' was accepted", s);
	tu_assert_has(err.msg, needle);
	ck_assert_int_eq(t, -7);
}

START_TEST(answers_accept_extra_keys_and_check_the_user)
{
	int64_t u = 17;
	answer_ok("{\"track\":981}", NULL, 981);
	answer_ok("  {\"user\": 17, \"track\": 981, \"score\": [1, 2]}  \r", &u, 981);
	answer_ok("{\"track\": 5.0}", &u, 5);
	answer_ok("{\"track\": -1}", NULL, -1); /* the caller checks the catalog */
	botify_err err = {0};
	ck_assert_int_eq(botify_recproto_parse_answer("{}", 2, &u, NULL, &err), 0);
	ck_assert_int_eq(botify_recproto_parse_answer("{\"user\": 17}", 12, &u, NULL, &err), 0);
}
END_TEST

START_TEST(bad_answers_are_refused_with_the_answer_quoted)
{
	int64_t u = 17;
	answer_bad("hello", NULL, 1, "the answer is not JSON: 'hello'");
	answer_bad("", NULL, 1, "the answer is empty");
	answer_bad("[981]", NULL, 1, "not a JSON object: '[981]'");
	answer_bad("{\"track\": \"981\"}", NULL, 1, "no integer 'track'");
	answer_bad("{\"track\": 1.5}", NULL, 1, "no integer 'track'");
	answer_bad("{\"track\": 1e99}", NULL, 1, "no integer 'track'");
	answer_bad("{\"tracks\": 1}", NULL, 1, "no integer 'track'");
	answer_bad("{\"track\": 1} {\"track\": 2}", NULL, 1, "not JSON");
	answer_bad("{\"user\": 18, \"track\": 1}", &u, 1, "another user (want 17)");
	answer_bad("{\"error\": \"no model\"}", &u, 0, "reported an error: 'no model'");
	botify_err err = {0};
	ck_assert_int_eq(botify_recproto_parse_answer("{\"a\":\0}", 7, NULL, NULL, &err), -1);
	tu_assert_has(err.msg, "NUL byte");
}
END_TEST

static void body_bad(const char *s, const char *needle)
{
	botify_err err = {0};
	int32_t t = -7;
	double tm = -7;
	ck_assert_msg(botify_recproto_parse_body(s, strlen(s), &t, &tm, &err) == -1, "'%s' was accepted", s);
	tu_assert_has(err.msg, needle);
}

START_TEST(request_bodies_need_an_integer_track_and_a_number_time)
{
	botify_err err = {0};
	int32_t t;
	double tm;
	const char *ok = "{\"time\": 0.25, \"track\": 12, \"extra\": null}";
	ck_assert_int_eq(botify_recproto_parse_body(ok, strlen(ok), &t, &tm, &err), 0);
	ck_assert_int_eq(t, 12);
	ck_assert(tm == 0.25);
	/* a key twice: the first counts, as in every botify reader */
	const char *twice = "{\"track\": 5, \"time\": 0.5, \"track\": 7}";
	ck_assert_int_eq(botify_recproto_parse_body(twice, strlen(twice), &t, &tm, &err), 0);
	ck_assert_int_eq(t, 5);
	body_bad("{\"track\": -1, \"time\": 0.5, \"track\": 5}", "'track' must be an integer");
	body_bad("", "the request body is empty");
	body_bad("{\"track\": 1", "the request body is not JSON");
	body_bad("{\"time\": 1}", "has no 'track'");
	body_bad("{\"track\": 1}", "has no 'time'");
	body_bad("{\"track\": -1, \"time\": 1}", "'track' must be an integer");
	body_bad("{\"track\": 2147483648, \"time\": 1}", "'track' must be an integer");
	body_bad("{\"track\": \"1\", \"time\": 1}", "'track' must be an integer");
	body_bad("{\"track\": 1, \"time\": \"x\"}", "'time' must be a number");
	body_bad("{\"track\": 1, \"time\": 1e999}", "'time' must be a number");
	body_bad("null", "not a JSON object");
}
END_TEST

START_TEST(ids_are_plain_decimal_digits)
{
	int64_t v = -1;
	ck_assert_int_eq(botify_recproto_parse_id("0", 1, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(botify_recproto_parse_id("999999999999999999", 18, &v), 0);
	ck_assert_int_eq(v, 999999999999999999LL);
	ck_assert_int_eq(botify_recproto_parse_id("17/", 3, &v), -1);
	ck_assert_int_eq(botify_recproto_parse_id("", 0, &v), -1);
	ck_assert_int_eq(botify_recproto_parse_id("-1", 2, &v), -1);
	ck_assert_int_eq(botify_recproto_parse_id("+1", 2, &v), -1);
	ck_assert_int_eq(botify_recproto_parse_id("1234567890123456789", 19, &v), 0);
	ck_assert(v == INT64_MAX); /* too big for any world: a 404, not a 400 */
	ck_assert_int_eq(botify_recproto_parse_id("0000000000000000000005", 22, &v), 0);
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(botify_recproto_parse_id("1e3", 3, &v), -1);
	ck_assert_int_eq(botify_recproto_parse_id(" 5", 2, &v), -1);
	ck_assert_int_eq(botify_recproto_parse_id("12", 1, &v), 0); /* only len bytes count */
	ck_assert_int_eq(v, 1);
}
END_TEST

START_TEST(quotes_are_ascii_and_cut)
{
	char q[12];
	ck_assert_str_eq(botify_recproto_quote(q, sizeof(q), "ab\ncd", 5), "ab?cd");
	ck_assert_str_eq(botify_recproto_quote(q, sizeof(q), "\xc3\xa9t\xff", 4), "??t?");
	ck_assert_str_eq(botify_recproto_quote(q, sizeof(q), "0123456789abcdef", 16), "01234567...");
	ck_assert_str_eq(botify_recproto_quote(q, sizeof(q), "01234567890", 11), "01234567890");
}
END_TEST

START_TEST(http_error_replies_are_escaped_json)
{
	botify_http_reply r;
	r.heap = NULL;
	botify_http_reply_error(&r, 400, "bad \"x\"\\ \x01 end");
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(r.body, "{\"error\": \"bad \\\"x\\\"\\\\ \\u0001 end\"}");
	ck_assert_uint_eq(r.len, strlen(r.body));
	char long_msg[4000];
	memset(long_msg, '"', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = 0;
	botify_http_reply_error(&r, 500, long_msg);
	ck_assert_uint_lt(r.len, sizeof(r.buf));
	ck_assert_str_eq(r.body + r.len - 2, "\"}");
	ck_assert(r.body[r.len - 3] == '"' && r.body[r.len - 4] == '\\'); /* no escape cut in half */
}
END_TEST

Suite *recproto_suite(void)
{
	Suite *s = suite_create("recproto");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, request_lines_are_compact_json_with_python_floats);
	tcase_add_test(tc, doubles_round_trip_exactly);
	tcase_add_test(tc, answers_accept_extra_keys_and_check_the_user);
	tcase_add_test(tc, bad_answers_are_refused_with_the_answer_quoted);
	tcase_add_test(tc, request_bodies_need_an_integer_track_and_a_number_time);
	tcase_add_test(tc, ids_are_plain_decimal_digits);
	tcase_add_test(tc, quotes_are_ascii_and_cut);
	tcase_add_test(tc, http_error_replies_are_escaped_json);
	suite_add_tcase(s, tc);
	return s;
}
