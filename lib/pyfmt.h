/*
 * pyfmt.h - numbers written as Python writes them, into caller-sized buffers.
 *
 * The event log and the recommender protocols must print what the original
 * Python service printed (1.0, 0.29, 1e-05), and they do it on every call,
 * so they append to a buffer by hand instead of going through printf.
 * Each function writes at p and returns the end; nothing is NUL-terminated.
 */
#ifndef BOTIFY_PYFMT_H
#define BOTIFY_PYFMT_H

#include <stdint.h>
#include <string.h>

/* Longest botify_put_pyfloat output: sign, 17 digits, point, "e-308". */
#define BOTIFY_PYFLOAT_MAX 26

static inline char *botify_put_str(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

static inline char *botify_put_u64(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static inline char *botify_put_i64(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		return botify_put_u64(p, (uint64_t)0 - (uint64_t)v);
	}
	return botify_put_u64(p, (uint64_t)v);
}

/* repr(x) for a finite x: the shortest digits that read back as x, laid out
 * positionally for decimal exponents -4..15 and as 1.5e+16 outside them.
 * Non-finite values are written as Python's json module writes them (NaN,
 * Infinity, -Infinity); callers that need JSON proper check first. */
char *botify_put_pyfloat(char *p, double x);

#endif
