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

#include "experiment.h"

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

static char *put_u64(char *p, uint64_t v)
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

static char *put_i64(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		return put_u64(p, (uint64_t)0 - (uint64_t)v);
	}
	return put_u64(p, (uint64_t)v);
}

/* Shortest repr that reads back as x, spelled as Python spells floats. */
static char *put_double_repr(char *p, double x)
{
	char buf[40];
	if (!isfinite(x))
		return put_str(p, isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	p = put_str(p, buf);
	if (!strpbrk(buf, ".e"))
		p = put_str(p, ".0");
	return p;
}

/* Listen times are hundredths (the simulator rounds them); print those as
 * Python prints them and anything else through the general path. */
static char *put_time(char *p, double t)
{
	double h = nearbyint(t * 100.0);
	if (h >= 0 && h < 1e9 && h / 100.0 == t) {
		uint64_t hi = (uint64_t)h;
		p = put_u64(p, hi / 100);
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
	return put_double_repr(p, t);
}

/* Latency in seconds with nanosecond resolution, trailing zeros trimmed. */
static char *put_latency(char *p, double s)
{
	if (!(s >= 0 && s < 1e9))
		return put_double_repr(p, s);
	uint64_t ns = (uint64_t)llround(s * 1e9);
	p = put_u64(p, ns / 1000000000u);
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
	p = put_str(p, e->message == BOTIFY_MSG_LAST ? "{\"message\": \"last\", \"timestamp\": "
						     : "{\"message\": \"next\", \"timestamp\": ");
	p = put_i64(p, e->timestamp);
	p = put_str(p, ", \"user\": ");
	p = put_i64(p, e->user);
	p = put_str(p, ", \"track\": ");
	p = put_i64(p, e->track);
	p = put_str(p, ", \"time\": ");
	p = put_time(p, e->time);
	p = put_str(p, ", \"latency\": ");
	p = put_latency(p, e->latency);
	if (e->message != BOTIFY_MSG_LAST) {
		p = put_str(p, ", \"recommendation\": ");
		p = put_i64(p, e->recommendation);
	}
	p = put_str(p, ", \"experiments\": {");
	const char *arm = botify_arm_name(e->arm);
	if (experiment && arm) {
		/* experiment names are [A-Za-z0-9_.-]: nothing to escape */
		*p++ = '"';
		p = put_str(p, experiment);
		p = put_str(p, "\": \"");
		p = put_str(p, arm);
		*p++ = '"';
	}
	p = put_str(p, "}}\n");
	return (size_t)(p - buf);
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
		return botify_fail(err, BOTIFY_ERANGE, "%s:%zu: '%s' %.0f is out of range", what,
				   lineno, key, it->valuedouble);
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

int botify_event_parse(const char *line, size_t len, const char *experiment, botify_event *e,
		       int *arm_missing, const char *what, size_t lineno, botify_err *err)
{
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (!o) {
		const char *at = cJSON_GetErrorPtr();
		size_t col = at && at >= line && at <= line + len ? (size_t)(at - line) + 1 : 1;
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
	if (get_int(o, "timestamp", INT64_MIN / 2, INT64_MAX / 2, &e->timestamp, what, lineno, err) ||
	    get_int(o, "user", 0, INT64_MAX / 2, &e->user, what, lineno, err) ||
	    get_int(o, "track", 0, INT32_MAX, &v, what, lineno, err))
		goto out;
	e->track = (int32_t)v;
	if (get_num(o, "time", &e->time, what, lineno, err) ||
	    get_num(o, "latency", &e->latency, what, lineno, err))
		goto out;
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
			*arm_missing = 1;
		else if ((e->arm = (int8_t)botify_arm_index(a->valuestring)) < 0)
			*arm_missing = 2;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int botify_eventlog_open(botify_eventlog_reader *r, const char *path, const char *experiment,
			 botify_err *err)
{
	memset(r, 0, sizeof(*r));
	r->experiment = experiment;
	return botify_jsonl_open(&r->in, path, err);
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
	r->rows_without_arm += missing == 1;
	r->rows_other_arm += missing == 2;
	return 1;
}

void botify_eventlog_close(botify_eventlog_reader *r)
{
	botify_jsonl_close(&r->in);
}
