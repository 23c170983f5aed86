/*
 * logscan.c - parsing event-log rows: a hand-written scanner for the flat
 * shape every log has, and cJSON for everything else.
 */
#include "logscan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "experiment.h"
#include "jsonl.h"

/*
 * Parsing. Rows are parsed by a hand-written scanner for the flat shape
 * every log has (string keys, numbers, strings, null/true/false, and the
 * "experiments" object of strings). Anything else -- an escape sequence, a
 * nested extra field, a number JSON does not allow, a duplicate key, a
 * missing or mistyped field, malformed JSON -- sends the line to cJSON,
 * which decides and words every error, so both paths accept the same rows
 * with the same values and reject the same rows with the same messages.
 * Numbers are exact: integers up to 15 digits and decimals whose digits fit
 * in 53 bits with a power of ten up to 1e22 are converted with one correctly
 * rounded operation (Clinger's fast path); the rest go through strtod, as
 * cJSON's do.
 */

enum { F_MESSAGE = 1, F_TIMESTAMP = 2, F_USER = 4, F_TRACK = 8, F_TIME = 16, F_LATENCY = 32,
       F_RECOMMENDATION = 64, F_EXPERIMENTS = 128,
       F_REQUIRED = F_MESSAGE | F_TIMESTAMP | F_USER | F_TRACK | F_TIME | F_LATENCY };

static const double pow10_exact[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* A string without escapes or control bytes at p (the opening quote):
 * sets its contents and returns the byte after the closing quote, or NULL. */
static const char *scan_string(const char *p, const char *end, const char **s, size_t *n)
{
	const char *q = ++p;
	while (q < end && *q != '"') {
		if (*q == '\\' || (unsigned char)*q < 0x20)
			return NULL;
		q++;
	}
	if (q >= end)
		return NULL;
	*s = p;
	*n = (size_t)(q - p);
	return q + 1;
}

/* A number in strict JSON grammar at p: sets *v (as strtod would) and
 * *is_int when it is a plain integer of at most 15 digits (then *iv holds
 * it exactly). Returns the byte after it, or NULL. */
static const char *scan_number(const char *p, const char *end, double *v, int64_t *iv,
			       int *is_int)
{
	const char *start = p;
	int neg = 0, digits = 0, frac_digits = 0, exp_val = 0, exp_neg = 0;
	uint64_t m = 0;
	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p >= end || *p < '0' || *p > '9')
		return NULL;
	if (*p == '0') {
		p++;
	} else {
		while (p < end && *p >= '0' && *p <= '9') {
			if (digits < 19)
				m = m * 10 + (uint64_t)(*p - '0');
			digits++;
			p++;
		}
	}
	int sig = digits; /* significant digits kept in m (leading zeros aside) */
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return NULL;
		while (p < end && *p >= '0' && *p <= '9') {
			if (m == 0 && *p == '0') {
				frac_digits++;   /* leading zeros: shift only */
			} else {
				if (sig < 19) {
					m = m * 10 + (uint64_t)(*p - '0');
					frac_digits++;
				} else if (*p != '0') {
					sig = 99; /* digits beyond what m holds: not exact */
				}
				if (sig < 99)
					sig++;
			}
			p++;
		}
	}
	int has_exp = 0;
	if (p < end && (*p == 'e' || *p == 'E')) {
		has_exp = 1;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			exp_neg = *p++ == '-';
		if (p >= end || *p < '0' || *p > '9')
			return NULL;
		while (p < end && *p >= '0' && *p <= '9') {
			if (exp_val < 100000)
				exp_val = exp_val * 10 + (*p - '0');
			p++;
		}
	}
	*is_int = !has_exp && frac_digits == 0 && p - start - neg <= 15 && digits <= 15;
	if (*is_int) {
		*iv = neg ? -(int64_t)m : (int64_t)m;
		*v = neg ? -(double)m : (double)m;
		return p;
	}
	int e10 = (exp_neg ? -exp_val : exp_val) - frac_digits;
	if (sig <= 19 && m <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
		double d = (double)m; /* exact */
		d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
		*v = neg ? -d : d;
		return p;
	}
	char buf[64];
	size_t n = (size_t)(p - start);
	if (n >= sizeof(buf))
		return NULL;
	memcpy(buf, start, n);
	buf[n] = '\0';
	*v = strtod(buf, NULL);
	return p;
}

/* Skips a value of an extra field: a flat string, number or literal. */
static const char *skip_value(const char *p, const char *end)
{
	const char *s;
	size_t n;
	double v;
	int64_t iv;
	int is_int;
	if (p >= end)
		return NULL;
	switch (*p) {
	case '"':
		return scan_string(p, end, &s, &n);
	case 't':
		return end - p >= 4 && !memcmp(p, "true", 4) ? p + 4 : NULL;
	case 'f':
		return end - p >= 5 && !memcmp(p, "false", 5) ? p + 5 : NULL;
	case 'n':
		return end - p >= 4 && !memcmp(p, "null", 4) ? p + 4 : NULL;
	default:
		return scan_number(p, end, &v, &iv, &is_int);
	}
}

/* Ids and timestamps beyond 2^53 are refused: the cJSON path reads numbers
 * as doubles, which would merge neighbouring ids, and both paths must
 * accept the same rows with the same values. */
#define EXACT_INT 9007199254740991LL /* 2^53 - 1: 2^53 may have been 2^53 + 1 */

/* An integer field as get_int below accepts it; 0 or -1 (to the slow path). */
static int fast_int(double v, int64_t iv, int is_int, int64_t min, int64_t max, int64_t *out)
{
	if (is_int) {
		if (iv < min || iv > max)
			return -1;
		*out = iv;
		return 0;
	}
	if (v != floor(v) || v < (double)min || v > (double)max)
		return -1;
	*out = (int64_t)v;
	return 0;
}


/* A member's key and colon: the key in k, kn; returns the first byte of
 * the value (after whitespace), or NULL. */
static inline const char *scan_key(const char *p, const char *end, const char **k, size_t *kn)
{
	if (p >= end || *p != '"' || !(p = scan_string(p, end, k, kn)))
		return NULL;
	p = skip_ws(p, end);
	if (p >= end || *p != ':')
		return NULL;
	return skip_ws(p + 1, end);
}

/* After a member's value: 1 with *pp at the next key (a comma passed), 0
 * with *pp on the object's closing brace, -1 on anything else. */
static inline int next_member(const char **pp, const char *end)
{
	const char *p = skip_ws(*pp, end);
	if (p < end && *p == ',') {
		*pp = skip_ws(p + 1, end);
		return 1;
	}
	*pp = p;
	return p < end && *p == '}' ? 0 : -1;
}

/* The arm an experiment's value of vn bytes names, or -1. */
static int arm_of(const char *v, size_t vn)
{
	char name[8];
	if (vn == 1 && v[0] == 'C') /* the common names without a search */
		return 0;
	if (vn == 2 && v[0] == 'T' && v[1] >= '1' && v[1] <= '9')
		return v[1] - '0';
	if (vn >= sizeof(name))
		return -1;
	memcpy(name, v, vn);
	name[vn] = '\0';
	return botify_arm_index(name);
}

/* The "experiments" object at p: sets *arm as botify_logscan_row
 * documents and e->arm. Returns the byte after it, or NULL. */
static const char *scan_experiments(const char *p, const char *end, const char *experiment,
				    size_t exp_len, botify_event *e, int *arm_status)
{
	int found = 0, entries = 0;
	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		goto done_empty;
	for (;;) {
		const char *k, *v;
		size_t kn, vn;
		if (!(p = scan_key(p, end, &k, &kn)))
			return NULL;
		if (p >= end || *p != '"' || !(p = scan_string(p, end, &v, &vn)))
			return NULL; /* a non-string arm: let cJSON judge the row */
		entries++;
		if (experiment && !found && kn == exp_len && !memcmp(k, experiment, kn)) {
			found = 1;
			int arm = arm_of(v, vn);
			e->arm = (int8_t)arm;
			*arm_status = arm < 0 ? BOTIFY_LOGSCAN_OTHER_ARM : BOTIFY_LOGSCAN_ARM;
		}
		int more = next_member(&p, end);
		if (more < 0)
			return NULL;
		if (!more)
			break;
	}
done_empty:
	if (experiment && !found)
		*arm_status = entries ? BOTIFY_LOGSCAN_OTHER_EXPERIMENTS : BOTIFY_LOGSCAN_NO_EXPERIMENT;
	return p + 1;
}

/*
 * Runs of digits eight bytes at a time (rows hold a digit every four bytes
 * or so, and a loop of one digit per step was a third of the scanner's
 * time). The byte order of a load is the host's: little-endian hosts only.
 */
static const uint64_t pow10_u64[16] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000,
	100000000000, 1000000000000, 10000000000000, 100000000000000, 1000000000000000,
};

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_DIGITS 1

/* How many of the 8 bytes of w, first byte first, are digits before the
 * first one that is not. Bytes after that one may borrow or carry: only the
 * lowest flag counts. */
static inline int digit_run8(uint64_t w)
{
	uint64_t f = ((w + UINT64_C(0x4646464646464646)) | (w - UINT64_C(0x3030303030303030))) &
		     UINT64_C(0x8080808080808080);
	return f ? __builtin_ctzll(f) >> 3 : 8;
}

/* The value of 8 digits (zero bytes count as leading zeros). */
static inline uint64_t eight_digits(uint64_t w)
{
	w = ((w & UINT64_C(0x0f0f0f0f0f0f0f0f)) * 2561) >> 8;
	w = ((w & UINT64_C(0x00ff00ff00ff00ff)) * 6553601) >> 16;
	return ((w & UINT64_C(0x0000ffff0000ffff)) * UINT64_C(42949672960001)) >> 32;
}


/* The run of digits at p, 16 readable bytes there: its length, at most 16
 * (then more digits may follow), and in *m its value (exact below 17). */
static inline size_t digits16(const char *p, uint64_t *m)
{
	uint64_t w;
	memcpy(&w, p, 8);
	int k = digit_run8(w);
	if (k < 8) {
		*m = k ? eight_digits(w << (64 - 8 * k)) : 0;
		return (size_t)k;
	}
	uint64_t hi = eight_digits(w);
	memcpy(&w, p + 8, 8);
	k = digit_run8(w);
	*m = hi * pow10_u64[k] + (k ? eight_digits(w << (64 - 8 * k)) : 0);
	return 8 + (size_t)k;
}
#endif

/* The run of digits at p: its length, and in *m its value (exact up to 19
 * digits, wrapped past them: callers refuse runs that long). Inlined by
 * force: a call per number cost more than the number. */
__attribute__((always_inline)) static inline size_t digits(const char *p, const char *end, uint64_t *m)
{
#ifdef SWAR_DIGITS
	if (end - p >= 16) {
		size_t n = digits16(p, m);
		if (n < 16)
			return n;
	}
#endif
	const char *s = p;
	uint64_t v = 0;
	while (p < end && (unsigned)(*p - '0') < 10)
		v = v * 10 + (uint64_t)(*p++ - '0');
	*m = v;
	return (size_t)(p - s);
}

/* A plain non-negative integer of at most 15 digits (as scan_number reads
 * it exactly), or NULL. */
static inline const char *canon_uint(const char *p, const char *end, int64_t *out)
{
	uint64_t v;
	size_t n = digits(p, end, &v);
	if (n == 0 || n > 15 || (*p == '0' && n > 1))
		return NULL;
	*out = (int64_t)v;
	return p + n;
}

/* A number as the writers spell it -- digits, then maybe a point and more
 * digits, 15 digits at most, no sign or exponent -- kept as the integer m
 * of its digits and their count nf after the point, for canon_value to
 * convert with the very operations scan_number uses (an exact integer
 * divided once by an exact power of ten), so the value is the same bit for
 * bit. Any other spelling is read by scan_number into *v, and *nf is -1.
 * Returns the byte after the number, or NULL. */
struct canon_number {
	uint64_t m;
	int nf;
	double v;
};

__attribute__((always_inline)) static inline const char *canon_num(const char *p, const char *end,
								  struct canon_number *c)
{
	const char *s = p;
	uint64_t m, f = 0;
	size_t ni = digits(p, end, &m), nf = 0;
	p += ni;
	int point = p < end && *p == '.';
	if (point) {
		nf = digits(++p, end, &f);
		p += nf;
	}
	if (ni == 0 || (ni > 1 && *s == '0') || (point && nf == 0) || ni + nf > 15 ||
	    (p < end && (*p == 'e' || *p == 'E'))) {
		int64_t iv;
		int is_int;
		c->nf = -1;
		return scan_number(s, end, &c->v, &iv, &is_int);
	}
	c->m = m * pow10_u64[nf] + f; /* ni + nf <= 15 digits: exact */
	c->nf = (int)nf;
	return p;
}

/* The value of c. Apart from the test of a listen time, so that the
 * division's latency is not on the scanner's path. */
static inline double canon_value(const struct canon_number *c)
{
	if (c->nf < 0)
		return c->v;
	return c->nf ? (double)c->m / pow10_exact[c->nf] : (double)c->m;
}

/* Whether c is a listen time, in [0, 1]: m / 10^nf <= 1 exactly when
 * m <= 10^nf, for the quotient of 15 digits is at least 1 + 1e-15 when it
 * is above 1, too far from 1 to round to it. */
static inline int canon_unit(const struct canon_number *c)
{
	if (c->nf < 0)
		return c->v >= 0 && c->v <= 1;
	return c->m <= pow10_u64[c->nf];
}

/* The experiments object of one member at p, {"<experiment>": "<arm>"}, as
 * raw bytes (x->pat, when the name allows it: see botify_logscan_exp_init).
 * Sets what scan_experiments sets and returns the byte after the object's
 * brace, or NULL for scan_experiments to read it. */
static inline const char *canon_experiments(const char *p, const char *end,
					    const botify_logscan_exp *x, botify_event *e,
					    int *arm_status)
{
	size_t n = x->pat_len;
	if (!n || (size_t)(end - p) < n + 2)
		return NULL;
	if (n >= 8 && n <= 16) { /* two loads, not a call: names of 2 to 10 bytes */
		uint64_t a, b, pa, pb;
		memcpy(&a, p, 8);
		memcpy(&b, p + n - 8, 8);
		memcpy(&pa, x->pat, 8);
		memcpy(&pb, x->pat + n - 8, 8);
		if (a != pa || b != pb)
			return NULL;
	} else if (memcmp(p, x->pat, n)) {
		return NULL;
	}
	const char *v = p += n;
	while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
		p++;
	if (end - p < 2 || p[0] != '"' || p[1] != '}')
		return NULL;
	int arm = arm_of(v, (size_t)(p - v));
	e->arm = (int8_t)arm;
	*arm_status = arm < 0 ? BOTIFY_LOGSCAN_OTHER_ARM : BOTIFY_LOGSCAN_ARM;
	return p + 2;
}

void botify_logscan_exp_init(botify_logscan_exp *x, const char *experiment)
{
	x->name = experiment;
	x->len = experiment ? strlen(experiment) : 0;
	x->pat_len = 0;
	if (!experiment || x->len + 6 > sizeof(x->pat))
		return;
	/* the bytes between the quotes are the key scan_string would read only
	 * when the name holds no quote, backslash or control byte */
	for (size_t i = 0; i < x->len; i++)
		if (experiment[i] == '"' || experiment[i] == '\\' || (unsigned char)experiment[i] < 0x20)
			return;
	memcpy(x->pat, "{\"", 2);
	memcpy(x->pat + 2, experiment, x->len);
	memcpy(x->pat + 2 + x->len, "\": \"", 4);
	x->pat_len = x->len + 6;
}

#define LIT(p, end, s) ((size_t)((end) - (p)) >= sizeof(s) - 1 && !memcmp((p), (s), sizeof(s) - 1) \
			? (p) + sizeof(s) - 1 : NULL)

/* The rows botify and the service write, keys in their order: read without
 * looking at the keys. 0 with *e filled exactly as fast_parse fills it, or
 * -1 for fast_parse to read the row. */
/* The fields of such a row up to its experiments object: returns its
 * brace, or NULL. Reads literals, digits and numbers only, so it never
 * passes a newline. */
static inline const char *canon_head(const char *p, const char *end, const char *experiment,
				     botify_event *e, int *arm_status)
{
	int64_t v;
	struct canon_number d, dv;
	e->recommendation = -1;
	e->arm = -1;
	*arm_status = experiment ? BOTIFY_LOGSCAN_NO_EXPERIMENT : BOTIFY_LOGSCAN_ARM;
	if (!(p = LIT(p, end, "{\"message\": \"")) || end - p < 4)
		return NULL;
	if (!memcmp(p, "next", 4))
		e->message = BOTIFY_MSG_NEXT;
	else if (!memcmp(p, "last", 4))
		e->message = BOTIFY_MSG_LAST;
	else
		return NULL;
	p += 4;
	if (!(p = LIT(p, end, "\", \"timestamp\": ")) || !(p = canon_uint(p, end, &e->timestamp)) ||
	    !(p = LIT(p, end, ", \"user\": ")) || !(p = canon_uint(p, end, &e->user)) ||
	    !(p = LIT(p, end, ", \"track\": ")) || !(p = canon_uint(p, end, &v)) || v > INT32_MAX ||
	    !(p = LIT(p, end, ", \"time\": ")) || !(p = canon_num(p, end, &d)) || !canon_unit(&d) ||
	    !(p = LIT(p, end, ", \"latency\": ")) || !(p = canon_num(p, end, &dv)) ||
	    (dv.nf < 0 && !isfinite(dv.v)))
		return NULL;
	e->track = (int32_t)v;
	e->time = canon_value(&d);
	e->latency = canon_value(&dv);
	if (e->message == BOTIFY_MSG_NEXT) {
		if (!(p = LIT(p, end, ", \"recommendation\": ")) || !(p = canon_uint(p, end, &v)) ||
		    v > INT32_MAX)
			return NULL;
		e->recommendation = (int32_t)v;
	}
	if (!(p = LIT(p, end, ", \"experiments\": ")) || p == end || *p != '{')
		return NULL;
	return p;
}

static int canon_parse(const char *line, size_t len, const botify_logscan_exp *x, botify_event *e,
		       int *arm_status)
{
	const char *experiment = x->name;
	const char *p, *end = line + len;
	if (!(p = canon_head(line, end, experiment, e, arm_status)))
		return -1;
	const char *q = canon_experiments(p, end, x, e, arm_status);
	if (!(p = q ? q : scan_experiments(p, end, experiment, x->len, e, arm_status)) ||
	    p == end || *p != '}' || skip_ws(p + 1, end) != end)
		return -1;
	return 0;
}

/* The fast path: 0 with *e filled, or -1 to let the cJSON path decide. */
static int fast_parse(const char *line, size_t len, const botify_logscan_exp *x, botify_event *e,
		      int *arm_status)
{
	const char *p = line, *end = line + len;
	const char *experiment = x->name;
	size_t exp_len = x->len;
	unsigned seen = 0;
	e->recommendation = -1;
	e->arm = -1;
	*arm_status = experiment ? BOTIFY_LOGSCAN_NO_EXPERIMENT : BOTIFY_LOGSCAN_ARM;
	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return -1;
	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return -1;
	for (;;) {
		const char *k;
		size_t kn;
		if (!(p = scan_key(p, end, &k, &kn)) || p >= end)
			return -1;
		unsigned f = 0;
		switch (kn) {
		case 4:
			f = !memcmp(k, "user", 4) ? F_USER : !memcmp(k, "time", 4) ? F_TIME : 0;
			break;
		case 5:
			f = !memcmp(k, "track", 5) ? F_TRACK : 0;
			break;
		case 7:
			f = !memcmp(k, "message", 7) ? F_MESSAGE : !memcmp(k, "latency", 7) ? F_LATENCY : 0;
			break;
		case 9:
			f = !memcmp(k, "timestamp", 9) ? F_TIMESTAMP : 0;
			break;
		case 11:
			f = !memcmp(k, "experiments", 11) ? F_EXPERIMENTS : 0;
			break;
		case 14:
			f = !memcmp(k, "recommendation", 14) ? F_RECOMMENDATION : 0;
			break;
		default:
			break;
		}
		if (f & seen)
			return -1; /* a duplicate: cJSON's first-wins rule, in one place */
		seen |= f;
		double v = 0;
		int64_t iv = 0;
		int is_int = 0;
		switch (f) {
		case 0:
			p = skip_value(p, end);
			break;
		case F_MESSAGE: {
			const char *s;
			size_t n;
			if (*p != '"' || !(p = scan_string(p, end, &s, &n)) || n != 4)
				return -1;
			if (!memcmp(s, "next", 4))
				e->message = BOTIFY_MSG_NEXT;
			else if (!memcmp(s, "last", 4))
				e->message = BOTIFY_MSG_LAST;
			else
				return -1;
			break;
		}
		case F_EXPERIMENTS:
			if (*p == '{')
				p = scan_experiments(p, end, experiment, exp_len, e, arm_status);
			else if (end - p >= 4 && !memcmp(p, "null", 4))
				p += 4; /* no experiments: stays BOTIFY_LOGSCAN_NO_EXPERIMENT */
			else
				return -1;
			break;
		case F_RECOMMENDATION:
			if (end - p >= 4 && !memcmp(p, "null", 4)) {
				p += 4; /* stays seen: a second one is a duplicate, as for cJSON */
				break;
			}
			/* fall through */
		default:
			if (!(p = scan_number(p, end, &v, &iv, &is_int)))
				return -1;
			switch (f) {
			case F_TIMESTAMP:
				if (fast_int(v, iv, is_int, -EXACT_INT, EXACT_INT, &e->timestamp))
					return -1;
				break;
			case F_USER:
				if (fast_int(v, iv, is_int, 0, EXACT_INT, &e->user))
					return -1;
				break;
			case F_TRACK:
			case F_RECOMMENDATION: {
				int64_t t;
				if (fast_int(v, iv, is_int, 0, INT32_MAX, &t))
					return -1;
				if (f == F_TRACK)
					e->track = (int32_t)t;
				else
					e->recommendation = (int32_t)t;
				break;
			}
			case F_TIME:
				if (!(v >= 0 && v <= 1)) /* NaN too: the slow path words it */
					return -1;
				e->time = v;
				break;
			case F_LATENCY:
				if (!isfinite(v))
					return -1;
				e->latency = v;
				break;
			default:
				break;
			}
		}
		if (!p)
			return -1;
		int more = next_member(&p, end);
		if (more < 0)
			return -1;
		if (!more)
			break;
	}
	if (skip_ws(p + 1, end) != end || (seen & F_REQUIRED) != F_REQUIRED)
		return -1;
	if (e->message == BOTIFY_MSG_LAST)
		e->recommendation = -1; /* the slow path ignores it on "last" rows */
	return 0;
}

static int get_int(const cJSON *o, const char *key, int64_t min, int64_t max, int64_t *out,
		   const char *what, size_t lineno, botify_err *err)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!it)
		return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: missing '%s'", what, lineno, key);
	if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble))
		return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: '%s' must be an integer", what,
				   lineno, key);
	if (it->valuedouble < (double)min || it->valuedouble > (double)max)
		return botify_fail(err, BOTIFY_ERANGE, "%s:%zu: '%s' %.0f is out of range [%lld, %lld]",
				   what, lineno, key, it->valuedouble, (long long)min, (long long)max);
	*out = (int64_t)it->valuedouble;
	return 0;
}

static int get_num(const cJSON *o, const char *key, double *out, const char *what, size_t lineno,
		   botify_err *err)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!it)
		return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: missing '%s'", what, lineno, key);
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
		return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: '%s' must be a finite number", what,
				   lineno, key);
	*out = it->valuedouble;
	return 0;
}

/* The general path: cJSON, for everything the fast path leaves. */
static int slow_parse(const char *line, size_t len, const char *experiment, botify_event *e,
		      int *arm_status, const char *what, size_t lineno, botify_err *err)
{
	const char *nul = memchr(line, '\0', len);
	if (nul)
		return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: malformed JSON near byte %zu (a NUL byte)",
				   what, lineno, (size_t)(nul - line) + 1);
	/* the end pointer, unlike cJSON_GetErrorPtr, is not shared by threads */
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (o && end) { /* only whitespace may follow the object */
		const char *rest = skip_ws(end, line + len);
		if (rest != line + len) {
			cJSON_Delete(o);
			o = NULL;
			end = rest;
		}
	}
	if (!o) {
		size_t col = end && end >= line && end <= line + len ? (size_t)(end - line) + 1 : 1;
		return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: malformed JSON near byte %zu", what,
				   lineno, col);
	}
	int rc = -1;
	int64_t v;
	if (!cJSON_IsObject(o)) {
		botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: expected a JSON object", what, lineno);
		goto out;
	}
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
	if (!cJSON_IsString(m) || (strcmp(m->valuestring, "next") && strcmp(m->valuestring, "last"))) {
		botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: 'message' must be \"next\" or \"last\"", what,
			    lineno);
		goto out;
	}
	e->message = strcmp(m->valuestring, "next") ? BOTIFY_MSG_LAST : BOTIFY_MSG_NEXT;
	if (get_int(o, "timestamp", -EXACT_INT, EXACT_INT, &e->timestamp, what, lineno, err) ||
	    get_int(o, "user", 0, EXACT_INT, &e->user, what, lineno, err) ||
	    get_int(o, "track", 0, INT32_MAX, &v, what, lineno, err))
		goto out;
	e->track = (int32_t)v;
	if (get_num(o, "time", &e->time, what, lineno, err) ||
	    get_num(o, "latency", &e->latency, what, lineno, err))
		goto out;
	if (!(e->time >= 0 && e->time <= 1)) {
		botify_fail(err, BOTIFY_ERANGE,
			    "%s:%zu: 'time' %g is outside [0, 1] (a listen time is the fraction of the track played)",
			    what, lineno, e->time);
		goto out;
	}
	e->recommendation = -1;
	const cJSON *rec = cJSON_GetObjectItemCaseSensitive(o, "recommendation");
	if (e->message == BOTIFY_MSG_NEXT && rec && !cJSON_IsNull(rec)) {
		if (get_int(o, "recommendation", 0, INT32_MAX, &v, what, lineno, err))
			goto out;
		e->recommendation = (int32_t)v;
	}
	e->arm = -1;
	*arm_status = BOTIFY_LOGSCAN_ARM;
	if (experiment) {
		const cJSON *ex = cJSON_GetObjectItemCaseSensitive(o, "experiments");
		const cJSON *a = cJSON_IsObject(ex) ? cJSON_GetObjectItemCaseSensitive(ex, experiment) : NULL;
		if (!cJSON_IsString(a))
			*arm_status = cJSON_IsObject(ex) && ex->child && !a ? BOTIFY_LOGSCAN_OTHER_EXPERIMENTS
										 : BOTIFY_LOGSCAN_NO_EXPERIMENT;
		else if ((e->arm = (int8_t)botify_arm_index(a->valuestring)) < 0)
			*arm_status = BOTIFY_LOGSCAN_OTHER_ARM;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int botify_logscan_row_exp(const char *line, size_t len, const botify_logscan_exp *x,
			   botify_event *e, int *arm, const char *what, size_t lineno, botify_err *err)
{
	if (canon_parse(line, len, x, e, arm) == 0 || fast_parse(line, len, x, e, arm) == 0)
		return 0;
	return slow_parse(line, len, x->name, e, arm, what, lineno, err);
}

int botify_logscan_row(const char *line, size_t len, const char *experiment, botify_event *e,
		       int *arm, const char *what, size_t lineno, botify_err *err)
{
	botify_logscan_exp x;
	botify_logscan_exp_init(&x, experiment);
	return botify_logscan_row_exp(line, len, &x, e, arm, what, lineno, err);
}

int botify_logscan_row_cjson(const char *line, size_t len, const char *experiment,
			     botify_event *e, int *arm, const char *what, size_t lineno,
			     botify_err *err)
{
	return slow_parse(line, len, experiment, e, arm, what, lineno, err);
}

/*
 * Lines of a buffer, by the rules of jsonl.c: a line ends at '\n' (a last
 * line may lack it), one '\r' before the end is dropped, lines of spaces
 * and tabs only are skipped but counted, and a line longer than
 * BOTIFY_JSONL_MAX_LINE (its '\r' included) is an error.
 */
void botify_logscan_lines_init(botify_logscan_lines *c, const char *buf, size_t len)
{
	c->p = buf;
	c->end = buf + len;
	c->lineno = 0;
}

int botify_logscan_lines_next(botify_logscan_lines *c, const char **line, size_t *len)
{
	while (c->p < c->end) {
		const char *s = c->p;
		const char *nl = memchr(s, '\n', (size_t)(c->end - s));
		const char *e = nl ? nl : c->end;
		c->lineno++;
		if ((size_t)(e - s) > (size_t)BOTIFY_JSONL_MAX_LINE)
			return -1;
		c->p = nl ? nl + 1 : c->end;
		if (e > s && e[-1] == '\r')
			e--;
		const char *q = s;
		while (q < e && (*q == ' ' || *q == '\t'))
			q++;
		if (q == e)
			continue; /* blank */
		*line = s;
		*len = (size_t)(e - s);
		return 1;
	}
	return 0;
}

int botify_logscan_lines_canon(botify_logscan_lines *c, const botify_logscan_exp *x,
			       botify_event *e, int *arm)
{
	const char *s = c->p, *end = c->end, *p;
	/* canon_head and canon_experiments stop at a newline; scan_experiments
	 * would not (it skips whitespace) */
	if (!x->pat_len || s >= end || *s != '{' || !(p = canon_head(s, end, x->name, e, arm)) ||
	    !(p = canon_experiments(p, end, x, e, arm)) || p == end || *p != '}')
		return 0;
	const char *nl = p + 1; /* the newline, the end, or "\r" before either */
	if (nl < end && *nl == '\r')
		nl++;
	if ((nl < end && *nl != '\n') || (size_t)(nl - s) > (size_t)BOTIFY_JSONL_MAX_LINE)
		return 0;
	c->lineno++;
	c->p = nl < end ? nl + 1 : end;
	return 1;
}

size_t botify_logscan_cut(const char *buf, size_t len, size_t from, size_t target)
{
	if (target <= from)
		return from;
	if (target >= len)
		return len;
	/* the line that holds byte target - 1 ends the part */
	size_t s = target - 1;
	const char *nl = memchr(buf + s, '\n', len - s);
	return nl ? (size_t)(nl - buf) + 1 : len;
}
