/*
 * jsonfmt.c - JSON strings and shortest round-trip doubles.
 */
#include "jsonfmt.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *botify_json_put_char(char *p, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	if (c == '"' || c == '\\') {
		*p++ = '\\';
		*p++ = (char)c;
	} else if (c < 0x20 || c == 0x7f) {
		memcpy(p, "\\u00", 4);
		p[4] = hex[c >> 4];
		p[5] = hex[c & 15];
		p += 6;
	} else {
		*p++ = (char)c;
	}
	return p;
}

/* The digits and exponent of a "%.*e" rendering of x. */
static int split_e(const char *e, char digits[18], int *exp10)
{
	int n = 0;
	const char *q = e;
	if (*q == '-')
		q++;
	for (; *q != 'e'; q++)
		if (*q != '.')
			digits[n++] = *q;
	digits[n] = '\0';
	*exp10 = atoi(q + 1);
	return n;
}

int botify_shortest_digits(double x, char digits[18], int *exp10)
{
	char e[40];
	/* A normal double is within half an ulp, 2^-53 of itself, of any
	 * decimal that reads back as it: far less than half the spacing of
	 * 15-digit decimals (5e-16 of it at least). So when 15 digits read back,
	 * the shortest digits are those 15 without their trailing zeros, and
	 * one snprintf does what trying 1, 2, ... digits would. Subnormals have
	 * fewer bits and take the long way. */
	int prec = fabs(x) >= DBL_MIN ? 15 : 1;
	for (; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, x);
		if (strtod(e, NULL) == x)
			break;
	}
	if (prec == 17)
		snprintf(e, sizeof(e), "%.16e", x);
	int n = split_e(e, digits, exp10);
	while (n > 1 && digits[n - 1] == '0')
		digits[--n] = '\0';
	return n;
}

static char *put_exp(char *p, int exp10)
{
	*p++ = 'e';
	*p++ = exp10 < 0 ? '-' : '+';
	int a = exp10 < 0 ? -exp10 : exp10;
	if (a >= 100)
		*p++ = (char)('0' + a / 100);
	*p++ = (char)('0' + a / 10 % 10);
	*p++ = (char)('0' + a % 10);
	return p;
}

char *botify_json_put_double(char *p, double x)
{
	char d[18];
	int exp10, n = botify_shortest_digits(x, d, &exp10);
	int prec = n > 15 ? n : 15; /* the %.Pg that read back */
	if (signbit(x))
		*p++ = '-';
	if (exp10 < -4 || exp10 >= prec) {
		*p++ = d[0];
		if (n > 1) {
			*p++ = '.';
			memcpy(p, d + 1, (size_t)(n - 1));
			p += n - 1;
		}
		return put_exp(p, exp10);
	}
	if (exp10 < 0) {
		*p++ = '0';
		*p++ = '.';
		for (int i = -1; i > exp10; i--)
			*p++ = '0';
		memcpy(p, d, (size_t)n);
		return p + n;
	}
	for (int i = 0; i <= exp10; i++)
		*p++ = i < n ? d[i] : '0';
	if (n > exp10 + 1) {
		*p++ = '.';
		memcpy(p, d + exp10 + 1, (size_t)(n - exp10 - 1));
		p += n - exp10 - 1;
	}
	return p;
}
