/* check_eventlog.c - event-log rows: the formatter byte for byte, format ->
 * parse round trips, rows as the original Python service wrote them, parse
 * errors with file:line, and the reader's arm bookkeeping. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "logscan.h"
#include "experiment.h"
#include "testutil.h"

static botify_event ev(int msg, int64_t ts, int64_t user, int32_t track, double time, double lat,
		       int32_t rec, int arm)
{
	return (botify_event){ .timestamp = ts, .user = user, .track = track, .recommendation = rec,
			       .time = time, .latency = lat, .message = (uint8_t)msg,
			       .arm = (int8_t)arm };
}

static void expect_format(const botify_event *e, const char *experiment, const char *want)
{
	char buf[BOTIFY_EVENT_MAX_LINE];
	memset(buf, 'x', sizeof(buf));
	size_t n = botify_event_format(buf, e, experiment);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_msg(!memcmp(buf, want, n), "got '%.*s'\nwant '%s'", (int)n, buf, want);
}

/* The two rows of the SPEC, byte for byte. */
START_TEST(event_format_spec_rows)
{
	botify_event next = ev(BOTIFY_MSG_NEXT, 1700000000000LL, 17, 4211, 1.0, 0.000012, 981, 1);
	expect_format(&next, "AB",
		      "{\"message\": \"next\", \"timestamp\": 1700000000000, \"user\": 17, \"track\": 4211, "
		      "\"time\": 1.0, \"latency\": 0.000012, \"recommendation\": 981, "
		      "\"experiments\": {\"AB\": \"T1\"}}\n");
	botify_event last = ev(BOTIFY_MSG_LAST, 1700000000007LL, 17, 310, 0.12, 0.000003, -1, 1);
	expect_format(&last, "AB",
		      "{\"message\": \"last\", \"timestamp\": 1700000000007, \"user\": 17, \"track\": 310, "
		      "\"time\": 0.12, \"latency\": 0.000003, \"experiments\": {\"AB\": \"T1\"}}\n");
	/* no experiment, or no arm: an empty object */
	expect_format(&last, NULL,
		      "{\"message\": \"last\", \"timestamp\": 1700000000007, \"user\": 17, \"track\": 310, "
		      "\"time\": 0.12, \"latency\": 0.000003, \"experiments\": {}}\n");
	last.arm = -1;
	expect_format(&last, "AB",
		      "{\"message\": \"last\", \"timestamp\": 1700000000007, \"user\": 17, \"track\": 310, "
		      "\"time\": 0.12, \"latency\": 0.000003, \"experiments\": {}}\n");
	next.arm = 0;
	next.latency = 0;
	next.time = 0;
	expect_format(&next, "RECOMMENDERS",
		      "{\"message\": \"next\", \"timestamp\": 1700000000000, \"user\": 17, \"track\": 4211, "
		      "\"time\": 0.0, \"latency\": 0.0, \"recommendation\": 981, "
		      "\"experiments\": {\"RECOMMENDERS\": \"C\"}}\n");
	next.arm = 15;
	expect_format(&next, "x",
		      "{\"message\": \"next\", \"timestamp\": 1700000000000, \"user\": 17, \"track\": 4211, "
		      "\"time\": 0.0, \"latency\": 0.0, \"recommendation\": 981, "
		      "\"experiments\": {\"x\": \"T15\"}}\n");
}
END_TEST

/* Numbers as Python's repr spells them. */
static const char *fmt_time(double t)
{
	static char buf[BOTIFY_EVENT_MAX_LINE];
	botify_event e = ev(BOTIFY_MSG_LAST, 0, 0, 0, t, 0, -1, -1);
	size_t n = botify_event_format(buf, &e, NULL);
	buf[n] = 0;
	char *p = strstr(buf, "\"time\": ") + 8;
	*strchr(p, ',') = 0;
	return p;
}

static const char *fmt_latency(double s)
{
	static char buf[BOTIFY_EVENT_MAX_LINE];
	botify_event e = ev(BOTIFY_MSG_LAST, 0, 0, 0, 0, s, -1, -1);
	size_t n = botify_event_format(buf, &e, NULL);
	buf[n] = 0;
	char *p = strstr(buf, "\"latency\": ") + 11;
	*strchr(p, ',') = 0;
	return p;
}

START_TEST(event_format_numbers)
{
	ck_assert_str_eq(fmt_time(1.0), "1.0");
	ck_assert_str_eq(fmt_time(0.12), "0.12");
	ck_assert_str_eq(fmt_time(0.1), "0.1");
	ck_assert_str_eq(fmt_time(0.0), "0.0");
	ck_assert_str_eq(fmt_time(0.05), "0.05");
	ck_assert_str_eq(fmt_time(0.5), "0.5");
	ck_assert_str_eq(fmt_time(0.99), "0.99");
	ck_assert_str_eq(fmt_time(0.07), "0.07");
	ck_assert_str_eq(fmt_time(2.5), "2.5");
	ck_assert_str_eq(fmt_time(12.34), "12.34");
	ck_assert_str_eq(fmt_time(100.0), "100.0");
	/* every hundredth the simulator can produce, as Python prints k / 100 */
	for (int k = 0; k <= 100; k++) {
		char want[16];
		if (k % 100 == 0)
			snprintf(want, sizeof(want), "%d.0", k / 100);
		else if (k % 10 == 0)
			snprintf(want, sizeof(want), "0.%d", k / 10);
		else
			snprintf(want, sizeof(want), "0.%02d", k);
		ck_assert_str_eq(fmt_time(k / 100.0), want);
	}
	/* not hundredths: the shortest repr */
	ck_assert_str_eq(fmt_time(0.123), "0.123");
	ck_assert_str_eq(fmt_time(0.30000000000000004), "0.30000000000000004");
	ck_assert_str_eq(fmt_time(1e-7), "1e-07");
	ck_assert_str_eq(fmt_time(-0.5), "-0.5");

	ck_assert_str_eq(fmt_latency(0), "0.0");
	ck_assert_str_eq(fmt_latency(12e-6), "0.000012");
	ck_assert_str_eq(fmt_latency(3e-6), "0.000003");
	ck_assert_str_eq(fmt_latency(1.5), "1.5");
	ck_assert_str_eq(fmt_latency(2.0), "2.0");
	ck_assert_str_eq(fmt_latency(0.000000001), "0.000000001");
	ck_assert_str_eq(fmt_latency(0.0000012344), "0.000001234"); /* to the nanosecond */
	ck_assert_str_eq(fmt_latency(6.747245788574219e-05), "0.000067472");
}
END_TEST

/* The longest row still fits the documented buffer. */
START_TEST(event_format_longest_row_fits)
{
	char name[BOTIFY_MAX_EXPERIMENT_NAME + 1];
	memset(name, 'N', BOTIFY_MAX_EXPERIMENT_NAME);
	name[BOTIFY_MAX_EXPERIMENT_NAME] = 0;
	botify_event e = ev(BOTIFY_MSG_NEXT, INT64_MIN, INT64_MIN, INT32_MIN, -1.2345678901234567e-300,
			    -1.2345678901234567e-300, INT32_MIN, 15);
	char buf[2 * BOTIFY_EVENT_MAX_LINE];
	size_t n = botify_event_format(buf, &e, name);
	ck_assert_uint_le(n, BOTIFY_EVENT_MAX_LINE);
	ck_assert_int_eq(buf[n - 1], '\n');
}
END_TEST

static void parse_ok(const char *line, const char *experiment, botify_event *e, int *missing)
{
	botify_err err = {0};
	ck_assert_msg(botify_logscan_row(line, strlen(line), experiment, e, missing, "mem", 1, &err) == 0,
		      "%s", err.msg);
}

START_TEST(event_format_parse_round_trip)
{
	const double times[] = { 0, 0.01, 0.12, 0.1, 0.5, 0.99, 1.0, 0.3, 0.07 };
	const double lats[] = { 0, 0.000012, 0.000003, 1.5, 0.000067472, 0.25 };
	for (int i = 0; i < 200; i++) {
		botify_event e = ev(i % 3 ? BOTIFY_MSG_NEXT : BOTIFY_MSG_LAST, 1700000000000LL + i * 977,
				    i * 31 + 7, i * 1009 % 50000, times[i % 9], lats[i % 6],
				    i % 3 ? i * 13 : -1, i % 4), back;
		const char *exp = i % 5 ? "RECOMMENDERS" : NULL;
		char buf[BOTIFY_EVENT_MAX_LINE];
		size_t n = botify_event_format(buf, &e, exp);
		buf[n - 1] = 0; /* the reader strips the newline */
		int missing = -1;
		parse_ok(buf, exp, &back, &missing);
		ck_assert_int_eq(back.message, e.message);
		ck_assert_int_eq(back.timestamp, e.timestamp);
		ck_assert_int_eq(back.user, e.user);
		ck_assert_int_eq(back.track, e.track);
		ck_assert_int_eq(back.recommendation, e.recommendation);
		ck_assert(back.time == e.time);
		ck_assert(back.latency == e.latency);
		ck_assert_int_eq(back.arm, exp ? e.arm : -1);
		ck_assert_int_eq(missing, BOTIFY_LOGSCAN_ARM);
	}
}
END_TEST

/* Rows from the original Flask service's data.json: other key order, extra
 * fields, more experiments, "recommendation": null, float latency. */
static const char *PY_LOG =
	"{\"message\": \"next\", \"timestamp\": 1635343224447, \"user\": 5741, \"track\": 18403, "
	"\"time\": 0.0, \"latency\": 6.747245788574219e-05, \"recommendation\": 44366, "
	"\"experiments\": {\"AA\": \"T1\", \"RECOMMENDERS\": \"T3\"}}\n"
	"{\"experiments\": {\"RECOMMENDERS\": \"C\"}, \"latency\": 0.0011, \"time\": 0.86, "
	"\"track\": 44366, \"user\": 5741, \"timestamp\": 1635343224449, \"message\": \"next\", "
	"\"recommendation\": 7, \"host\": \"recommender-1\"}\n"
	"{\"message\": \"last\", \"timestamp\": 1635343224452, \"user\": 5741, \"track\": 7, "
	"\"time\": 0.12, \"latency\": 1.1920928955078125e-06, \"recommendation\": null, "
	"\"experiments\": {\"RECOMMENDERS\": \"T1\"}}\n"
	"\n"
	"{\"message\": \"next\", \"timestamp\": 1635343224460, \"user\": 3, \"track\": 1, "
	"\"time\": 1.0, \"latency\": 2e-05, \"recommendation\": 2}\n"
	"{\"message\": \"next\", \"timestamp\": 1635343224461, \"user\": 3, \"track\": 2, "
	"\"time\": 1, \"latency\": 0, \"recommendation\": 3, \"experiments\": {}}\n"
	"{\"message\": \"next\", \"timestamp\": 1635343224462, \"user\": 3, \"track\": 3, "
	"\"time\": 0.5, \"latency\": 0, \"recommendation\": 4, \"experiments\": {\"AA\": \"C\"}}\n"
	"{\"message\": \"next\", \"timestamp\": 1635343224463, \"user\": 3, \"track\": 4, "
	"\"time\": 0.5, \"latency\": 0, \"recommendation\": 5, \"experiments\": {\"RECOMMENDERS\": \"D\"}}\n"
	"{\"message\": \"last\", \"timestamp\": 1635343224464, \"user\": 3, \"track\": 5, "
	"\"time\": 0.5, \"latency\": 0, \"experiments\": {\"RECOMMENDERS\": \"T16\"}}\n";

START_TEST(eventlog_reads_python_service_rows)
{
	char p[4096];
	for (int gz = 0; gz < 2; gz++) {
		tu_fmt(p, sizeof(p), "%s/data%d.json%s", tu_tmp, gz, gz ? ".gz" : "");
		tu_write(p, PY_LOG, gz);
		botify_eventlog_reader r;
		botify_err err = {0};
		botify_event e;
		ck_assert_int_eq(botify_eventlog_open(&r, p, "RECOMMENDERS", &err), 0);

		ck_assert_int_eq(botify_eventlog_next(&r, &e, &err), 1);
		ck_assert_int_eq(e.message, BOTIFY_MSG_NEXT);
		ck_assert_int_eq(e.timestamp, 1635343224447LL);
		ck_assert_int_eq(e.user, 5741);
		ck_assert_int_eq(e.track, 18403);
		ck_assert(e.time == 0.0);
		ck_assert(e.latency == 6.747245788574219e-05);
		ck_assert_int_eq(e.recommendation, 44366);
		ck_assert_int_eq(e.arm, 3);

		ck_assert_int_eq(botify_eventlog_next(&r, &e, &err), 1);
		ck_assert_int_eq(e.timestamp, 1635343224449LL);
		ck_assert_int_eq(e.track, 44366);
		ck_assert(e.time == 0.86);
		ck_assert(e.latency == 0.0011);
		ck_assert_int_eq(e.recommendation, 7);
		ck_assert_int_eq(e.arm, 0);

		ck_assert_int_eq(botify_eventlog_next(&r, &e, &err), 1);
		ck_assert_int_eq(e.message, BOTIFY_MSG_LAST);
		ck_assert_int_eq(e.recommendation, -1);
		ck_assert(e.time == 0.12);
		ck_assert_int_eq(e.arm, 1);
		ck_assert_uint_eq(r.in.lineno, 3);

		/* no "experiments" at all, an empty one, another experiment only */
		for (int i = 0; i < 3; i++) {
			ck_assert_int_eq(botify_eventlog_next(&r, &e, &err), 1);
			ck_assert_int_eq(e.arm, -1);
		}
		ck_assert(e.time == 0.5);
		ck_assert_uint_eq(r.in.lineno, 7); /* the blank line counts */
		ck_assert_int_eq(r.rows_without_arm, 3);
		ck_assert_int_eq(r.rows_other_experiment, 1);
		ck_assert_int_eq(r.rows_other_arm, 0);
		/* values that are not arm names */
		ck_assert_int_eq(botify_eventlog_next(&r, &e, &err), 1);
		ck_assert_int_eq(e.arm, -1);
		ck_assert_int_eq(botify_eventlog_next(&r, &e, &err), 1);
		ck_assert_int_eq(e.arm, -1);
		ck_assert_int_eq(botify_eventlog_next(&r, &e, &err), 0);
		ck_assert_int_eq(r.rows, 8);
		ck_assert_int_eq(r.rows_without_arm, 3);
		ck_assert_int_eq(r.rows_other_experiment, 1);
		ck_assert_int_eq(r.rows_other_arm, 2);
		botify_eventlog_close(&r);
		botify_eventlog_close(&r); /* twice is fine */

		/* another experiment, and none */
		ck_assert_int_eq(botify_eventlog_open(&r, p, "AA", &err), 0);
		while (botify_eventlog_next(&r, &e, &err) == 1)
			;
		ck_assert_int_eq(r.rows, 8);
		ck_assert_int_eq(r.rows_without_arm, 6);
		ck_assert_int_eq(r.rows_other_experiment, 4);
		ck_assert_int_eq(r.rows_other_arm, 0);
		botify_eventlog_close(&r);
		ck_assert_int_eq(botify_eventlog_open(&r, p, NULL, &err), 0);
		int n = 0;
		while (botify_eventlog_next(&r, &e, &err) == 1)
			n += e.arm == -1;
		ck_assert_int_eq(n, 8);
		ck_assert_int_eq(r.rows_without_arm + r.rows_other_arm, 0);
		botify_eventlog_close(&r);
	}
}
END_TEST

/* One bad line among good ones: the reader stops there with path:line. */
static void expect_read_fail(const char *bad, enum botify_errcode code, const char *needle)
{
	char p[4096], want[4300];
	static int n;
	tu_fmt(p, sizeof(p), "%s/bad%d.json", tu_tmp, n++);
	char text[2048];
	tu_fmt(text, sizeof(text),
	       "{\"message\": \"next\", \"timestamp\": 1, \"user\": 1, \"track\": 1, \"time\": 1.0, "
	       "\"latency\": 0, \"recommendation\": 2}\n\n%s\n",
	       bad);
	tu_write(p, text, 0);
	botify_eventlog_reader r;
	botify_err err = {0};
	botify_event e;
	ck_assert_int_eq(botify_eventlog_open(&r, p, "AB", &err), 0);
	ck_assert_int_eq(botify_eventlog_next(&r, &e, &err), 1);
	ck_assert_int_eq(botify_eventlog_next(&r, &e, &err), -1);
	ck_assert_msg(err.code == code, "code %d, want %d: %s", err.code, code, err.msg);
	tu_fmt(want, sizeof(want), "%s:3: %s", p, needle);
	tu_assert_has(err.msg, want);
	botify_eventlog_close(&r);
}

#define ROW(fields) "{\"message\": \"next\", \"timestamp\": 5, " fields "}"

START_TEST(eventlog_parse_errors)
{
	expect_read_fail("{\"message\": \"next\", \"timestamp\": 5,", BOTIFY_EFORMAT, "malformed JSON");
	expect_read_fail("[1, 2]", BOTIFY_EFORMAT, "expected a JSON object");
	expect_read_fail(ROW("\"track\": 1, \"time\": 1.0, \"latency\": 0"), BOTIFY_EFORMAT,
			 "missing 'user'");
	expect_read_fail(ROW("\"user\": \"17\", \"track\": 1, \"time\": 1.0, \"latency\": 0"),
			 BOTIFY_EFORMAT, "'user' must be an integer");
	expect_read_fail(ROW("\"user\": 1.5, \"track\": 1, \"time\": 1.0, \"latency\": 0"),
			 BOTIFY_EFORMAT, "'user' must be an integer");
	expect_read_fail(ROW("\"user\": -1, \"track\": 1, \"time\": 1.0, \"latency\": 0"),
			 BOTIFY_ERANGE, "'user' -1 is out of range");
	expect_read_fail(ROW("\"user\": 1, \"time\": 1.0, \"latency\": 0"), BOTIFY_EFORMAT,
			 "missing 'track'");
	expect_read_fail(ROW("\"user\": 1, \"track\": 3000000000, \"time\": 1.0, \"latency\": 0"),
			 BOTIFY_ERANGE, "'track'");
	expect_read_fail(ROW("\"user\": 1, \"track\": 1, \"time\": \"1.0\", \"latency\": 0"),
			 BOTIFY_EFORMAT, "'time' must be a finite number");
	expect_read_fail(ROW("\"user\": 1, \"track\": 1, \"time\": 1.0"), BOTIFY_EFORMAT,
			 "missing 'latency'");
	expect_read_fail(ROW("\"user\": 1, \"track\": 1, \"time\": 1.0, \"latency\": 0, "
			     "\"recommendation\": \"x\""),
			 BOTIFY_EFORMAT, "'recommendation' must be an integer");
	expect_read_fail(ROW("\"user\": 1, \"track\": 1, \"time\": 1.0, \"latency\": 0, "
			     "\"recommendation\": -4"),
			 BOTIFY_ERANGE, "'recommendation'");
	expect_read_fail("{\"message\": \"skip\", \"timestamp\": 5, \"user\": 1, \"track\": 1, "
			 "\"time\": 1.0, \"latency\": 0}",
			 BOTIFY_EFORMAT, "'message' must be \"next\" or \"last\"");
	expect_read_fail("{\"timestamp\": 5, \"user\": 1, \"track\": 1, \"time\": 1.0, \"latency\": 0}",
			 BOTIFY_EFORMAT, "'message'");
	expect_read_fail("{\"message\": \"last\", \"user\": 1, \"track\": 1, \"time\": 1.0, "
			 "\"latency\": 0}",
			 BOTIFY_EFORMAT, "missing 'timestamp'");
}
END_TEST

/* The parser itself, as the fuzz target calls it. */
START_TEST(event_parse_direct)
{
	botify_event e;
	botify_err err = {0};
	int missing = -1;
	const char *line = "{\"message\": \"last\", \"timestamp\": 9, \"user\": 2, \"track\": 3, "
			   "\"time\": 0.25, \"latency\": 0.5, \"recommendation\": 11, "
			   "\"experiments\": {\"AB\": \"T2\"}}";
	/* a "last" row's recommendation is ignored */
	parse_ok(line, "AB", &e, &missing);
	ck_assert_int_eq(e.message, BOTIFY_MSG_LAST);
	ck_assert_int_eq(e.recommendation, -1);
	ck_assert_int_eq(e.arm, 2);
	ck_assert_int_eq(missing, BOTIFY_LOGSCAN_ARM);
	/* other experiments but not this one */
	parse_ok(line, "CD", &e, &missing);
	ck_assert_int_eq(e.arm, -1);
	ck_assert_int_eq(missing, BOTIFY_LOGSCAN_OTHER_EXPERIMENTS);
	/* an arm value that is no arm */
	parse_ok("{\"message\": \"last\", \"timestamp\": 9, \"user\": 2, \"track\": 3, "
		 "\"time\": 0.25, \"latency\": 0.5, \"experiments\": {\"AB\": \"T\"}}",
		 "AB", &e, &missing);
	ck_assert_int_eq(e.arm, -1);
	ck_assert_int_eq(missing, BOTIFY_LOGSCAN_OTHER_ARM);
	/* no experiments at all */
	parse_ok("{\"message\": \"last\", \"timestamp\": 9, \"user\": 2, \"track\": 3, "
		 "\"time\": 0.25, \"latency\": 0.5}",
		 "AB", &e, &missing);
	ck_assert_int_eq(missing, BOTIFY_LOGSCAN_NO_EXPERIMENT);
	parse_ok(line, NULL, &e, &missing);
	ck_assert_int_eq(e.arm, -1);
	ck_assert_int_eq(missing, BOTIFY_LOGSCAN_ARM);
	/* a length shorter than the string: only that much is parsed */
	ck_assert_int_eq(botify_logscan_row(line, 20, NULL, &e, &missing, "in.json", 42, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EFORMAT);
	tu_assert_has(err.msg, "in.json:42: malformed JSON");
	ck_assert_int_eq(botify_logscan_row("", 0, NULL, &e, &missing, "in.json", 7, &err), -1);
	tu_assert_has(err.msg, "in.json:7: malformed JSON");
}
END_TEST

/* Valid JSON in unusual spellings parses to the same event. */
START_TEST(event_parse_unusual_spellings)
{
	const char *lines[] = {
		"{\"message\": \"next\", \"timestamp\": 1700000000005, \"user\": 17, \"track\": 42, "
		"\"time\": 0.25, \"latency\": 0.5, \"recommendation\": 9, \"experiments\": {\"AB\": \"T1\"}}",
		"{\"message\":\"next\",\"timestamp\":1700000000005,\"user\":17,\"track\":42,"
		"\"time\":0.25,\"latency\":0.5,\"recommendation\":9,\"experiments\":{\"AB\":\"T1\"}}",
		"  {  \"experiments\" : { \"X\" : [1, {\"a\": \"}\"}], \"AB\" : \"T1\" } , \"recommendation\" : 9 ,"
		" \"latency\" : 5e-1 , \"time\" : 2.5E-1 , \"track\" : 42.0 , \"user\" : 1.7e1 ,"
		" \"timestamp\" : 1700000000005 , \"message\" : \"next\" , \"z\": null }  ",
		"{\"message\": \"n\\u0065xt\", \"timestamp\": 1700000000005, \"user\": 17, \"track\": 42, "
		"\"time\": 0.25, \"latency\": 0.5, \"recommendation\": 9, \"experiments\": {\"\\u0041B\": \"T\\u0031\"}}",
		"{\"message\": \"next\", \"timestamp\": 1700000000005, \"user\": 17, \"track\": 42, "
		"\"time\": 0.25, \"latency\": 0.5, \"recommendation\": 9, \"experiments\": {\"AB\": \"T1\"}}\t\r",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		botify_event e;
		int missing = -1;
		parse_ok(lines[i], "AB", &e, &missing);
		ck_assert_msg(e.message == BOTIFY_MSG_NEXT && e.timestamp == 1700000000005LL &&
				      e.user == 17 && e.track == 42 && e.time == 0.25 && e.latency == 0.5 &&
				      e.recommendation == 9 && e.arm == 1 && missing == 0,
			      "line %zu parsed differently", i);
	}
	/* not valid: trailing garbage, a second object */
	botify_event e;
	botify_err err = {0};
	int missing;
	/* a null recommendation and then a number: a duplicate, the first
	 * counts whichever path reads it (the escape forces cJSON's) */
	const char *dup[] = {
		"{\"message\": \"next\", \"timestamp\": 1, \"user\": 1, \"track\": 1, \"time\": 1.0, "
		"\"latency\": 0, \"recommendation\": null, \"recommendation\": 5}",
		"{\"message\": \"next\", \"timestamp\": 1, \"user\": 1, \"track\": 1, \"time\": 1.0, "
		"\"latency\": 0, \"recommendation\": null, \"recommendation\": 5, \"x\": \"\\u0041\"}",
	};
	for (size_t i = 0; i < 2; i++) {
		parse_ok(dup[i], NULL, &e, &missing);
		ck_assert_int_eq(e.recommendation, -1);
	}
	/* ids past 2^53 cannot be read exactly by cJSON: refused on both paths */
	const char *big[] = {
		"{\"message\": \"last\", \"timestamp\": 1, \"user\": 9007199254740993, \"track\": 1, "
		"\"time\": 1.0, \"latency\": 0}",
		"{\"message\": \"last\", \"timestamp\": 1, \"user\": 9007199254740993, \"track\": 1, "
		"\"time\": 1.0, \"latency\": 0, \"x\": \"\\u0041\"}",
	};
	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(botify_logscan_row(big[i], strlen(big[i]), NULL, &e, &missing, "b", 1, &err), -1);
		ck_assert_int_eq(err.code, BOTIFY_ERANGE);
		tu_assert_has(err.msg, "'user' 9007199254740992 is out of range");
	}
	parse_ok("{\"message\": \"last\", \"timestamp\": 1, \"user\": 9007199254740991, \"track\": 1, "
		 "\"time\": 1.0, \"latency\": 0}", NULL, &e, &missing);
	ck_assert(e.user == 9007199254740991LL);
	const char *bad[] = {
		"{\"message\": \"last\", \"timestamp\": 1, \"user\": 1, \"track\": 1, \"time\": 1.0, \"latency\": 0} x",
		"{\"message\": \"last\", \"timestamp\": 1, \"user\": 1, \"track\": 1, \"time\": 1.0, \"latency\": 0}{}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(botify_logscan_row(bad[i], strlen(bad[i]), NULL, &e, &missing, "b", 1, &err), -1);
		ck_assert_int_eq(err.code, BOTIFY_EFORMAT);
		tu_assert_has(err.msg, "b:1: malformed JSON");
	}
}
END_TEST

/* The scanner and the cJSON path on one row (copied to a buffer of its
 * exact size, so that a read past it shows under ASan): the same answer,
 * the same values bit for bit, the same message. Returns 1 when accepted. */
static int same_as_cjson(const char *row, size_t len, const char *experiment)
{
	char *line = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(line);
	memcpy(line, row, len);
	botify_event a, b;
	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	int ma = -7, mb = -7;
	botify_err ea = {0}, eb = {0};
	int ra = botify_logscan_row(line, len, experiment, &a, &ma, "f", 3, &ea);
	int rb = botify_logscan_row_cjson(line, len, experiment, &b, &mb, "f", 3, &eb);
	free(line);
	ck_assert_msg(ra == rb, "'%.*s' (experiment %s): scanner %d, cJSON %d (%s)", (int)len, row,
		      experiment ? experiment : "none", ra, rb, ra ? ea.msg : eb.msg);
	if (ra) {
		ck_assert_int_eq(ea.code, eb.code);
		ck_assert_str_eq(ea.msg, eb.msg);
		return 0;
	}
	ck_assert_msg(a.timestamp == b.timestamp && a.user == b.user && a.track == b.track &&
			      a.recommendation == b.recommendation && a.message == b.message &&
			      a.arm == b.arm && ma == mb && !memcmp(&a.time, &b.time, sizeof(double)) &&
			      !memcmp(&a.latency, &b.latency, sizeof(double)),
		      "'%.*s' (experiment %s): values differ (time %a/%a latency %a/%a arm %d/%d)",
		      (int)len, row, experiment ? experiment : "none", a.time, b.time, a.latency,
		      b.latency, a.arm, b.arm);
	return 1;
}

/* The scanner reads the rows botify writes by their fixed layout, numbers
 * by 8 digits at a time and the experiment by its bytes; every row that
 * departs from that layout must go on to the general paths and come out
 * as cJSON reads it: each canonical row cut at every byte, each byte
 * replaced by characters that matter to numbers and strings, and the
 * spellings of numbers and experiments that the fast path hands over. */
START_TEST(event_parse_fast_paths_hand_over)
{
	const char *experiments[] = { "AB", NULL, "A", "ABC", "", "A\"B", "A\\B", "ABCDEFGHIJ",
				      "ABCDEFGHIJK", "an_experiment_name_longer_than_the_scanner_matches" };
	const size_t n_exp = sizeof(experiments) / sizeof(experiments[0]);
	const char *rows[] = {
		"{\"message\": \"next\", \"timestamp\": 1700000000000, \"user\": 9362, \"track\": 35313, "
		"\"time\": 1.0, \"latency\": 0.000001442, \"recommendation\": 761, \"experiments\": {\"AB\": \"T1\"}}",
		"{\"message\": \"last\", \"timestamp\": 1700000000014, \"user\": 1193, \"track\": 33508, "
		"\"time\": 0.0, \"latency\": 0.00000003, \"experiments\": {\"AB\": \"C\"}}",
	};
	long accepted = 0, total = 0;
	const char repl[] = "0159.eE-+\" \\}{,x";
	for (size_t r = 0; r < 2; r++) {
		size_t len = strlen(rows[r]);
		char buf[512];
		for (size_t x = 0; x < n_exp; x++) {
			ck_assert_int_eq(same_as_cjson(rows[r], len, experiments[x]), 1);
			for (size_t cut = 0; cut < len; cut++, total++)
				accepted += same_as_cjson(rows[r], cut, experiments[x]);
		}
		for (size_t i = 0; i < len; i++)
			for (size_t c = 0; c < sizeof(repl) - 1; c++) {
				memcpy(buf, rows[r], len);
				buf[i] = repl[c];
				for (size_t x = 0; x < 3; x++, total++)
					accepted += same_as_cjson(buf, len, experiments[x]);
			}
	}
	/* mutants that stay valid: some must be read (a digit for a digit) */
	ck_assert_int_gt(accepted, 100);
	ck_assert_int_lt(accepted, total);
	const char *times[] = {
		"1", "0", "1.0", "0.5", "0.53", "1.5", "2", "1.000000000000001", "1.0000000000000001",
		"0.99999999999999999", "0.999999999999999", "1e0", "1E-1", "5e-1", "01.5", "00", "1.",
		".5", "-0.0", "-0", "-0.5", "0.000000000000001", "0.0000000000000001",
		"0.100000000000000000000000000001", "1.00", "0.25 ", "NaN",
	};
	const char *latencies[] = {
		"0", "0.000000003", "123456789012345", "1234567890123456", "999999999999999.9",
		"0.1234567890123456789", "1e400", "-1e400", "1.7976931348623157e308", "12.5",
		"0.30000000000000004", "9007199254740993", "-2", "4.9e-324", "1e-400", "01.5", "00",
		"0.", "1.e5", "2.5e", "3.25E+2",
	};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		for (size_t j = 0; j < sizeof(latencies) / sizeof(latencies[0]); j++) {
			char row[512];
			int n = snprintf(row, sizeof(row),
					 "{\"message\": \"next\", \"timestamp\": 1700000000000, \"user\": 9362, "
					 "\"track\": 35313, \"time\": %s, \"latency\": %s, \"recommendation\": 761, "
					 "\"experiments\": {\"AB\": \"T1\"}}", times[i], latencies[j]);
			same_as_cjson(row, (size_t)n, "AB");
		}
	const char *ints[] = {
		"0", "7", "01", "123456789012345", "1234567890123456", "9007199254740991",
		"9007199254740992", "12345678", "123456789", "1234567812345678", "2147483647",
		"2147483648", "-1", "1.0", "1e3", "", "18446744073709551617",
	};
	const char *layouts[] = {
		"{\"message\": \"next\", \"timestamp\": %s, \"user\": 1, \"track\": 2, \"time\": 0.5, "
		"\"latency\": 0.1, \"recommendation\": 3, \"experiments\": {\"AB\": \"C\"}}",
		"{\"message\": \"next\", \"timestamp\": 1, \"user\": %s, \"track\": 2, \"time\": 0.5, "
		"\"latency\": 0.1, \"recommendation\": 3, \"experiments\": {\"AB\": \"C\"}}",
		"{\"message\": \"next\", \"timestamp\": 1, \"user\": 1, \"track\": %s, \"time\": 0.5, "
		"\"latency\": 0.1, \"recommendation\": 3, \"experiments\": {\"AB\": \"C\"}}",
		"{\"message\": \"next\", \"timestamp\": 1, \"user\": 1, \"track\": 2, \"time\": 0.5, "
		"\"latency\": 0.1, \"recommendation\": %s, \"experiments\": {\"AB\": \"C\"}}",
	};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		for (size_t l = 0; l < 4; l++) {
			char row[512];
			int n = snprintf(row, sizeof(row), layouts[l], ints[i]);
			same_as_cjson(row, (size_t)n, "AB");
		}
	const char *objects[] = {
		"{\"AB\": \"T1\"}", "{\"AB\": \"C\"}", "{\"AB\": \"T9\"}", "{\"AB\": \"T10\"}",
		"{\"AB\": \"T0\"}", "{\"AB\": \"X\"}", "{\"AB\": \"\"}", "{\"AB\": \"control\"}",
		"{\"AB\": \"T1\", \"CD\": \"C\"}", "{\"CD\": \"C\", \"AB\": \"T2\"}", "{\"A\": \"T1\"}",
		"{\"ABC\": \"T1\"}", "{\"AB\": \"T\\u0031\"}", "{\"A\\u0042\": \"T1\"}",
		"{\"AB\": \"T1\" }", "{ \"AB\": \"T1\"}", "{\"AB\":\"T1\"}", "{\"AB\": 1}", "{}",
		"{\"AB\": null}", "{\"AB\": \"T1\", \"AB\": \"C\"}", "{\"A\\\"B\": \"T1\"}",
		"{\"AB\": \"T\t1\"}", "{\"AB\": \"T1\"", "{\"AB\": \"T1}",
		"{\"ABCDEFGHIJ\": \"T3\"}", "{\"ABCDEFGHIJK\": \"T3\"}", "{\"ABCDEFGHIJX\": \"T3\"}",
		"{\"XBCDEFGHIJK\": \"T3\"}", "{\"ABCDEFGXIJ\": \"T3\"}", "{\"ABCDEFGHIX\": \"T3\"}",
		"{\"an_experiment_name_longer_than_the_scanner_matches\": \"T2\"}",
	};
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		for (size_t x = 0; x < n_exp; x++) {
			char row[512];
			int n = snprintf(row, sizeof(row),
					 "{\"message\": \"last\", \"timestamp\": 5, \"user\": 1, \"track\": 2, "
					 "\"time\": 0.5, \"latency\": 0.1, \"experiments\": %s}", objects[i]);
			same_as_cjson(row, (size_t)n, experiments[x]);
		}
}
END_TEST

/* What a reader of buf sees: per line, its number, whether it was read and
 * the values. With canon, each line is first offered to
 * botify_logscan_lines_canon, as botify ab's threads do. */
struct seen_row {
	size_t lineno;
	int rc, arm;
	botify_event e;
};

static size_t read_rows(const char *buf, size_t len, const char *experiment, int canon,
			struct seen_row *out, size_t cap)
{
	botify_logscan_lines c;
	botify_logscan_lines_init(&c, buf, len);
	botify_logscan_exp x;
	botify_logscan_exp_init(&x, experiment);
	size_t n = 0;
	while (n < cap) {
		struct seen_row *r = &out[n];
		memset(r, 0, sizeof(*r));
		const char *line;
		size_t ll;
		botify_err err;
		if (canon && botify_logscan_lines_canon(&c, &x, &r->e, &r->arm)) {
			r->lineno = c.lineno;
			n++;
			continue;
		}
		int rc = botify_logscan_lines_next(&c, &line, &ll);
		if (rc != 1) {
			r->lineno = c.lineno;
			r->rc = rc - 10; /* the end (-10) or a line too long (-11) */
			return n + 1;
		}
		r->lineno = c.lineno;
		r->rc = botify_logscan_row_exp(line, ll, &x, &r->e, &r->arm, "b", c.lineno, &err);
		n++;
		if (r->rc)
			return n;
	}
	return n;
}

/* Rows read straight from the buffer, without finding the line's end first,
 * are the rows the line reader and the row scanner read, with the same line
 * numbers, whatever ends the line (LF, CRLF, CR CR LF, spaces, the end of
 * the buffer with or without CR), and wherever the buffer is cut. */
START_TEST(event_lines_canon_reads_as_lines_next)
{
	const char *row = "{\"message\": \"next\", \"timestamp\": 1700000000000, \"user\": 9362, "
			  "\"track\": 35313, \"time\": 1.0, \"latency\": 0.000001442, "
			  "\"recommendation\": 761, \"experiments\": {\"AB\": \"T1\"}}";
	const char *other = "{\"message\": \"last\", \"timestamp\": 5, \"user\": 1, \"track\": 2, "
			    "\"time\": 0.5, \"latency\": 0.1, \"experiments\": {\"AB\": \"C\", \"X\": \"T1\"}}";
	const char *ends[] = { "\n", "\r\n", "\r\r\n", " \n", "\t\r\n", "\r", "", "\n\n", "\n \n" };
	const char *experiments[] = { "AB", NULL, "X" };
	static struct seen_row a[64], b[64];
	char buf[2048];
	size_t canon_rows = 0;
	for (size_t i = 0; i < sizeof(ends) / sizeof(*ends); i++)
		for (size_t j = 0; j < sizeof(ends) / sizeof(*ends); j++)
			for (int o = 0; o < 2; o++) {
				int n = snprintf(buf, sizeof(buf), "%s%s%s%s%s%s", row, ends[i],
						 o ? other : row, ends[j], row, ends[(i + j) % 9]);
				ck_assert(n > 0 && (size_t)n < sizeof(buf));
				for (size_t cut = (size_t)n > 40 ? (size_t)n - 40 : 0; cut <= (size_t)n; cut++)
					for (size_t x = 0; x < 3; x++) {
						size_t na = read_rows(buf, cut, experiments[x], 0, a, 64);
						size_t nb = read_rows(buf, cut, experiments[x], 1, b, 64);
						ck_assert_msg(na == nb, "ends %zu %zu cut %zu: %zu rows, %zu with canon",
							      i, j, cut, na, nb);
						for (size_t k = 0; k < na; k++)
							ck_assert_msg(a[k].lineno == b[k].lineno && a[k].rc == b[k].rc &&
									      (a[k].rc || (a[k].arm == b[k].arm &&
									      !memcmp(&a[k].e, &b[k].e, sizeof(a[k].e)))),
								      "ends %zu %zu cut %zu experiment %zu: row %zu differs",
								      i, j, cut, x, k);
						canon_rows += nb;
					}
			}
	ck_assert_uint_gt(canon_rows, 0);
}
END_TEST

/* A listen time is a fraction of a track: outside [0, 1] it is refused with
 * file:line on the fast path and the cJSON path alike (1e308 used to train
 * to NaN; negative times went into sums). */
START_TEST(eventlog_time_outside_unit_interval_is_refused)
{
	botify_event e;
	botify_err err = {0};
	int missing;
	const char *times[] = { "1e308", "-0.5", "1.01", "2", "-1e-300", "1e400", "-1e400" };
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		for (int slow = 0; slow <= 1; slow++) {
			char row[256];
			snprintf(row, sizeof(row),
				 "{\"message\": \"next\", \"timestamp\": 1, \"user\": 1, \"track\": 1, "
				 "\"time\": %s, \"latency\": 0, \"recommendation\": 2%s}",
				 times[i], slow ? ", \"x\": \"\\u0041\"" : "");
			memset(&err, 0, sizeof(err));
			ck_assert_msg(botify_logscan_row(row, strlen(row), NULL, &e, &missing, "log.jsonl", 7,
							 &err) == -1, "accepted %s", row);
			ck_assert_msg(strstr(err.msg, "log.jsonl:7: 'time'"), "%s: %s", row, err.msg);
		}
	/* the ends are fine */
	parse_ok("{\"message\": \"last\", \"timestamp\": 1, \"user\": 1, \"track\": 1, "
		 "\"time\": 0, \"latency\": 0}", NULL, &e, &missing);
	parse_ok("{\"message\": \"last\", \"timestamp\": 1, \"user\": 1, \"track\": 1, "
		 "\"time\": 1, \"latency\": 0, \"x\": \"\\u0041\"}", NULL, &e, &missing);
	ck_assert(e.time == 1.0);
}
END_TEST

START_TEST(eventlog_missing_file)
{
	botify_eventlog_reader r;
	botify_err err = {0};
	char p[4096];
	ck_assert_int_eq(botify_eventlog_open(&r, tu_path(p, tu_tmp, "none.json"), NULL, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	tu_assert_has(err.msg, p);
	botify_eventlog_close(&r);
}
END_TEST

Suite *eventlog_suite(void)
{
	Suite *s = suite_create("eventlog");
	TCase *tc = tcase_create("format");
	tcase_add_test(tc, event_format_spec_rows);
	tcase_add_test(tc, event_format_numbers);
	tcase_add_test(tc, event_format_longest_row_fits);
	tcase_add_test(tc, event_format_parse_round_trip);
	tcase_add_test(tc, event_parse_direct);
	tcase_add_test(tc, event_parse_unusual_spellings);
	tcase_add_test(tc, event_parse_fast_paths_hand_over);
	tcase_add_test(tc, event_lines_canon_reads_as_lines_next);
	suite_add_tcase(s, tc);
	tc = tcase_create("read");
	tcase_set_timeout(tc, 30);
	tu_scratch(tc);
	tcase_add_test(tc, eventlog_reads_python_service_rows);
	tcase_add_test(tc, eventlog_parse_errors);
	tcase_add_test(tc, eventlog_missing_file);
	tcase_add_test(tc, eventlog_time_outside_unit_interval_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
