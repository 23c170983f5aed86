/*
 * pyfmt.c - Python's float repr: the shortest digits (jsonfmt.c) laid out
 * as repr lays them out.
 */
#include "pyfmt.h"

#include <math.h>

#include "jsonfmt.h"

char *botify_put_pyfloat(char *p, double x)
{
	if (!isfinite(x))
		return botify_put_str(p, isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
	char digits[18];
	int exp, n = botify_shortest_digits(x, digits, &exp);
	if (signbit(x))
		*p++ = '-';
	if (exp < -4 || exp >= 16) {
		*p++ = digits[0];
		if (n > 1) {
			*p++ = '.';
			memcpy(p, digits + 1, (size_t)(n - 1));
			p += n - 1;
		}
		*p++ = 'e';
		*p++ = exp < 0 ? '-' : '+';
		int a = exp < 0 ? -exp : exp;
		if (a < 10)
			*p++ = '0';
		return botify_put_u64(p, (uint64_t)a);
	}
	if (exp < 0) {
		p = botify_put_str(p, "0.");
		for (int i = -1; i > exp; i--)
			*p++ = '0';
		memcpy(p, digits, (size_t)n);
		return p + n;
	}
	for (int i = 0; i <= exp; i++)
		*p++ = i < n ? digits[i] : '0';
	*p++ = '.';
	if (n <= exp + 1) {
		*p++ = '0';
		return p;
	}
	memcpy(p, digits + exp + 1, (size_t)(n - exp - 1));
	return p + n - exp - 1;
}
