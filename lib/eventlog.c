/*
 * eventlog.c - formatting and parsing event-log rows.
 *
 * The formatter is on the simulator's hot path (a row per step), so it
 * builds lines by hand instead of going through printf or cJSON.
 */
#include "eventlog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "experiment.h"
#include "pyfmt.h"

/* Listen times are hundredths (the simulator rounds them); print those as
 * Python prints them and anything else through the general path. */
static char *put_time(char *p, double t)
{
	double h = nearbyint(t * 100.0);
	if (h >= 0 && h < 1e9 && h / 100.0 == t) {
		uint64_t hi = (uint64_t)h;
		p = botify_put_u64(p, hi / 100);
		*p++ = '.';
		uint64_t f = hi % 100;
		if (f % 10 == 0) {
			*p++ = (char)('0' + f / 10);
		} else {
			*p++ = (char)('0' + f / 10);
			*p++ = (char)('0' + f % 10);
		}
		return p;
	}
	return botify_put_pyfloat(p, t);
}

double botify_event_latency(double seconds)
{
	/* below 2^53 ns the quotient is the double strtod gives for the digits */
	if (!(seconds >= 0 && seconds < 9e6))
		return seconds;
	return (double)llround(seconds * 1e9) / 1e9;
}

/* Latency in seconds with nanosecond resolution, trailing zeros trimmed. */
static char *put_latency(char *p, double s)
{
	if (!(s >= 0 && s < 1e9))
		return botify_put_pyfloat(p, s);
	uint64_t ns = (uint64_t)llround(s * 1e9);
	p = botify_put_u64(p, ns / 1000000000u);
	*p++ = '.';
	uint64_t frac = ns % 1000000000u;
	char digits[9];
	for (int i = 8; i >= 0; i--) {
		digits[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	int n = 9;
	while (n > 1 && digits[n - 1] == '0')
		n--;
	memcpy(p, digits, (size_t)n);
	return p + n;
}

size_t botify_event_format(char *buf, const botify_event *e, const char *experiment)
{
	char *p = buf;
	p = botify_put_str(p, e->message == BOTIFY_MSG_LAST ? "{\"message\": \"last\", \"timestamp\": "
						     : "{\"message\": \"next\", \"timestamp\": ");
	p = botify_put_i64(p, e->timestamp);
	p = botify_put_str(p, ", \"user\": ");
	p = botify_put_i64(p, e->user);
	p = botify_put_str(p, ", \"track\": ");
	p = botify_put_i64(p, e->track);
	p = botify_put_str(p, ", \"time\": ");
	p = put_time(p, e->time);
	p = botify_put_str(p, ", \"latency\": ");
	p = put_latency(p, e->latency);
	if (e->message != BOTIFY_MSG_LAST) {
		p = botify_put_str(p, ", \"recommendation\": ");
		p = botify_put_i64(p, e->recommendation);
	}
	p = botify_put_str(p, ", \"experiments\": {");
	const char *arm = botify_arm_name(e->arm);
	if (experiment && arm) {
		/* experiment names are [A-Za-z0-9_.-]: nothing to escape */
		*p++ = '"';
		p = botify_put_str(p, experiment);
		p = botify_put_str(p, "\": \"");
		p = botify_put_str(p, arm);
		*p++ = '"';
	}
	p = botify_put_str(p, "}}\n");
	return (size_t)(p - buf);
}

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

/* The "experiments" object at p: sets *arm_missing as botify_event_parse
 * documents and e->arm. Returns the byte after it, or NULL. */
static const char *scan_experiments(const char *p, const char *end, const char *experiment,
				    size_t exp_len, botify_event *e, int *arm_missing)
{
	int found = 0, entries = 0;
	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		goto done_empty;
	for (;;) {
		const char *k, *v;
		size_t kn, vn;
		if (p >= end || *p != '"' || !(p = scan_string(p, end, &k, &kn)))
			return NULL;
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return NULL;
		p = skip_ws(p + 1, end);
		if (p >= end || *p != '"' || !(p = scan_string(p, end, &v, &vn)))
			return NULL; /* a non-string arm: let cJSON judge the row */
		entries++;
		if (experiment && !found && kn == exp_len && !memcmp(k, experiment, kn)) {
			found = 1;
			char name[8];
			int arm = -1;
			if (vn < sizeof(name)) {
				memcpy(name, v, vn);
				name[vn] = '\0';
				arm = botify_arm_index(name);
			}
			e->arm = (int8_t)arm;
			*arm_missing = arm < 0 ? 2 : 0;
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == '}')
			break;
		return NULL;
	}
done_empty:
	if (experiment && !found)
		*arm_missing = entries ? 3 : 1;
	return p + 1;
}

/* The fast path: 0 with *e filled, or -1 to let the cJSON path decide. */
static int fast_parse(const char *line, size_t len, const char *experiment, botify_event *e,
		      int *arm_missing)
{
	const char *p = line, *end = line + len;
	size_t exp_len = experiment ? strlen(experiment) : 0;
	unsigned seen = 0;
	e->recommendation = -1;
	e->arm = -1;
	*arm_missing = experiment ? 1 : 0;
	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return -1;
	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return -1;
	for (;;) {
		const char *k;
		size_t kn;
		if (p >= end || *p != '"' || !(p = scan_string(p, end, &k, &kn)))
			return -1;
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return -1;
		p = skip_ws(p + 1, end);
		if (p >= end)
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
				p = scan_experiments(p, end, experiment, exp_len, e, arm_missing);
			else if (end - p >= 4 && !memcmp(p, "null", 4))
				p += 4; /* no experiments: *arm_missing stays 1 */
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
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == '}')
			break;
		return -1;
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
		      int *arm_missing, const char *what, size_t lineno, botify_err *err)
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
	*arm_missing = 0;
	if (experiment) {
		const cJSON *ex = cJSON_GetObjectItemCaseSensitive(o, "experiments");
		const cJSON *a = cJSON_IsObject(ex) ? cJSON_GetObjectItemCaseSensitive(ex, experiment) : NULL;
		if (!cJSON_IsString(a))
			*arm_missing = cJSON_IsObject(ex) && ex->child && !a ? 3 : 1;
		else if ((e->arm = (int8_t)botify_arm_index(a->valuestring)) < 0)
			*arm_missing = 2;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int botify_event_parse(const char *line, size_t len, const char *experiment, botify_event *e,
		       int *arm_missing, const char *what, size_t lineno, botify_err *err)
{
	if (fast_parse(line, len, experiment, e, arm_missing) == 0)
		return 0;
	return slow_parse(line, len, experiment, e, arm_missing, what, lineno, err);
}

int botify_event_parse_cjson(const char *line, size_t len, const char *experiment, botify_event *e,
			     int *arm_missing, const char *what, size_t lineno, botify_err *err)
{
	return slow_parse(line, len, experiment, e, arm_missing, what, lineno, err);
}

int botify_eventlog_open(botify_eventlog_reader *r, const char *path, const char *experiment,
			 botify_err *err)
{
	memset(r, 0, sizeof(*r));
	r->experiment = experiment;
	return botify_jsonl_open_stream(&r->in, path, err);
}

int botify_eventlog_next(botify_eventlog_reader *r, botify_event *e, botify_err *err)
{
	int rc = botify_jsonl_next(&r->in, err);
	if (rc <= 0)
		return rc;
	int missing;
	if (botify_event_parse(r->in.line, r->in.len, r->experiment, e, &missing, r->in.path,
			       r->in.lineno, err) != 0)
		return -1;
	r->rows++;
	r->rows_without_arm += missing == 1 || missing == 3;
	r->rows_other_experiment += missing == 3;
	r->rows_other_arm += missing == 2;
	return 1;
}

uint64_t botify_eventlog_offset(const botify_eventlog_reader *r)
{
	return botify_jsonl_offset(&r->in);
}

void botify_eventlog_close(botify_eventlog_reader *r)
{
	botify_jsonl_close(&r->in);
}

struct seen_experiment {
	char name[BOTIFY_MAX_EXPERIMENT_NAME + 1];
	unsigned arms;      /* bit per arm index */
	int other_arms;     /* values that are no arm name */
};

int botify_eventlog_experiments(const char *path, int64_t max_rows, char *buf, size_t cap,
				botify_err *err)
{
	struct seen_experiment seen[16];
	int n_seen = 0, more = 0;
	botify_jsonl in;
	buf[0] = '\0';
	if (botify_jsonl_open(&in, path, err) != 0)
		return -1;
	for (int64_t n = 0; n < max_rows && botify_jsonl_next(&in, err) == 1; n++) {
		cJSON *row = cJSON_ParseWithLength(in.line, in.len);
		const cJSON *ex = row ? cJSON_GetObjectItemCaseSensitive(row, "experiments") : NULL;
		/* bad rows are the real reader's to report; this only lists */
		for (const cJSON *it = cJSON_IsObject(ex) ? ex->child : NULL; it; it = it->next) {
			if (!it->string || strlen(it->string) > BOTIFY_MAX_EXPERIMENT_NAME)
				continue;
			int k = 0;
			while (k < n_seen && strcmp(seen[k].name, it->string))
				k++;
			if (k == n_seen) {
				if (n_seen == (int)(sizeof(seen) / sizeof(*seen))) {
					more = 1;
					continue;
				}
				memset(&seen[k], 0, sizeof(seen[k]));
				strcpy(seen[k].name, it->string);
				n_seen++;
			}
			int arm = cJSON_IsString(it) ? botify_arm_index(it->valuestring) : -1;
			if (arm >= 0)
				seen[k].arms |= 1u << arm;
			else
				seen[k].other_arms = 1;
		}
		cJSON_Delete(row);
	}
	botify_jsonl_close(&in);
	size_t len = 0;
	for (int k = 0; k < n_seen && len < cap; k++) {
		len += (size_t)snprintf(buf + len, cap - len, "%s%s:", k ? "; " : "", seen[k].name);
		const char *sep = "";
		for (int a = 0; a < BOTIFY_MAX_ARMS && len < cap; a++)
			if (seen[k].arms & (1u << a)) {
				len += (size_t)snprintf(buf + len, cap - len, "%s%s", sep, botify_arm_name(a));
				sep = ",";
			}
		if (seen[k].other_arms && len < cap)
			len += (size_t)snprintf(buf + len, cap - len, "%s(other)", sep);
	}
	if (more && len < cap)
		snprintf(buf + len, cap - len, "; ...");
	return 0;
}
