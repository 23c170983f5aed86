/* check_jsonfmt.c - the JSON string escaper, and shortest round-trip doubles
 * checked against the slow definitions they replace (try 1, 2, ... 17
 * digits; printf's %.15g, %.16g, %.17g except for subnormals) on many
 * random doubles. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jsonfmt.h"
#include "pyfmt.h"
#include "rng.h"

START_TEST(json_char_escapes)
{
	char buf[BOTIFY_JSON_CHAR_MAX + 1];
	for (int c = 1; c < 256; c++) {
		*botify_json_put_char(buf, (unsigned char)c) = '\0';
		char want[8];
		if (c == '"' || c == '\\')
			snprintf(want, sizeof(want), "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			snprintf(want, sizeof(want), "\\u%04x", c);
		else
			snprintf(want, sizeof(want), "%c", c);
		ck_assert_msg(!strcmp(buf, want), "byte %d: '%s', want '%s'", c, buf, want);
	}
	/* a string of every byte but NUL reads back as itself */
	char s[256], text[256 * BOTIFY_JSON_CHAR_MAX + 3], *p = text;
	for (int c = 1; c < 256; c++)
		s[c - 1] = (char)c;
	s[255] = '\0';
	*p++ = '"';
	for (const char *q = s; *q; q++)
		p = botify_json_put_char(p, (unsigned char)*q);
	*p++ = '"';
	*p = '\0';
	cJSON *v = cJSON_Parse(text);
	ck_assert(cJSON_IsString(v));
	ck_assert_str_eq(v->valuestring, s);
	cJSON_Delete(v);
}
END_TEST

/* What pyfmt.c did before: the first of 1..17 digits that reads back. */
static int slow_digits(double x, char *digits, int *exp10)
{
	char e[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, x);
		if (strtod(e, NULL) == x)
			break;
	}
	int n = 0;
	const char *q = e + (e[0] == '-');
	for (; *q != 'e'; q++)
		if (*q != '.')
			digits[n++] = *q;
	digits[n] = '\0';
	*exp10 = atoi(q + 1);
	return n;
}

/* What world_save.c did before: %.15g, %.16g or %.17g, whichever reads back first. */
static void slow_g(double x, char *buf, size_t cap)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			break;
	}
}

static void check_one(double x)
{
	char d[18], want_d[40], g[BOTIFY_JSON_DOUBLE_MAX + 1], want_g[40];
	int e, want_e;
	int n = botify_shortest_digits(x, d, &e);
	int want_n = slow_digits(x, want_d, &want_e);
	ck_assert_msg(n == want_n && e == want_e && !strcmp(d, want_d),
		      "%.17g: digits %s e%d, want %s e%d", x, d, e, want_d, want_e);
	*botify_json_put_double(g, x) = '\0';
	ck_assert_msg(strtod(g, NULL) == x && signbit(strtod(g, NULL)) == signbit(x),
		      "%s does not read back as %.17g", g, x);
	/* %.15g gives subnormals 15 digits, more than they need: 5e-324, not
	 * 4.94065645841247e-324, is what the shortest digits write */
	if (fabs(x) < DBL_MIN && x != 0)
		return;
	slow_g(x, want_g, sizeof(want_g));
	ck_assert_msg(!strcmp(g, want_g), "%.17g: '%s', want '%s'", x, g, want_g);
}

START_TEST(shortest_digits_match_the_slow_search)
{
	const double fixed[] = { 0.0, -0.0, 1.0, 5.0, 0.8, -2.5, 0.1, 0.29, 1e-05, 1e-4, 123456.789,
				 1.0 / 3.0, 1e15, 1e16, 1.5e16, 1e17, 9999999999999998.0, 1e300, 1e-300,
				 DBL_MAX, -DBL_MAX, DBL_MIN, 5e-324, 4.9406564584124654e-324,
				 2.2250738585072009e-308, 123456789012345678.0, 0.000123456789 };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_one(fixed[i]);
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 42, 0, 0, 0);
	for (int i = 0; i < 3000; i++) {
		uint64_t bits = botify_rng_u64(&r);
		double x;
		memcpy(&x, &bits, sizeof(x));
		if (isfinite(x))
			check_one(x);                             /* any bit pattern, subnormals too */
		check_one((double)(bits % 100000) / 100.0);      /* a time, a score: few digits */
		check_one(ldexp((double)(bits >> 11), -53) * 20 - 10); /* a generated bias */
	}
}
END_TEST

START_TEST(json_doubles_read_back)
{
	char buf[BOTIFY_JSON_DOUBLE_MAX + 1];
	*botify_json_put_double(buf, 5.0) = '\0';
	ck_assert_str_eq(buf, "5");
	*botify_json_put_double(buf, -0.0) = '\0';
	ck_assert_str_eq(buf, "-0");
	*botify_json_put_double(buf, 1e-05) = '\0';
	ck_assert_str_eq(buf, "1e-05");
	*botify_json_put_double(buf, -1.7976931348623157e308) = '\0';
	ck_assert_str_eq(buf, "-1.7976931348623157e+308");
	ck_assert_uint_eq(strlen(buf), BOTIFY_JSON_DOUBLE_MAX - 2);
	*botify_json_put_double(buf, 0.1 + 0.2) = '\0';
	ck_assert_str_eq(buf, "0.30000000000000004");
	/* the repr layout shares the digits */
	char py[BOTIFY_PYFLOAT_MAX + 1];
	*botify_put_pyfloat(py, 0.1 + 0.2) = '\0';
	ck_assert_str_eq(py, "0.30000000000000004");
}
END_TEST

Suite *jsonfmt_suite(void)
{
	Suite *s = suite_create("jsonfmt");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, json_char_escapes);
	tcase_add_test(tc, shortest_digits_match_the_slow_search);
	tcase_add_test(tc, json_doubles_read_back);
	suite_add_tcase(s, tc);
	return s;
}
