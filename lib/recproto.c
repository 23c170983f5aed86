/*
 * recproto.c - formatting and parsing the messages of external
 * recommenders and of the HTTP API. Formatting is by hand (it is on every
 * call's path); parsing goes through cJSON, which judges malformed input.
 */
#include "recproto.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "event.h"
#include "pyfmt.h"

size_t botify_recproto_double(char *buf, double x)
{
	char *p = isfinite(x) ? botify_put_pyfloat(buf, x) : botify_put_str(buf, "null");
	*p = 0;
	return (size_t)(p - buf);
}

static char *put_call(char *p, const botify_rec_call *c)
{
	p = botify_put_str(p, "\"track\":");
	p = botify_put_i64(p, c->track);
	p = botify_put_str(p, ",\"time\":");
	return p + botify_recproto_double(p, c->time);
}

size_t botify_recproto_request(char *buf, int message, const botify_rec_call *c)
{
	char *p = botify_put_str(buf, message == BOTIFY_MSG_LAST ? "{\"message\":\"last\",\"user\":"
							  : "{\"message\":\"next\",\"user\":");
	p = botify_put_i64(p, c->user);
	*p++ = ',';
	p = put_call(p, c);
	p = botify_put_str(p, "}\n");
	*p = 0;
	return (size_t)(p - buf);
}

size_t botify_recproto_body(char *buf, const botify_rec_call *c)
{
	char *p = buf;
	*p++ = '{';
	p = put_call(p, c);
	*p++ = '}';
	*p = 0;
	return (size_t)(p - buf);
}

char *botify_recproto_quote(char *out, size_t n, const char *s, size_t len)
{
	if (!n)
		return out;
	size_t keep = len < n ? len : n - 1;
	if (len >= n && n > 4)
		keep = n - 4;
	for (size_t i = 0; i < keep; i++)
		out[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
	if (keep < len && n > 4) {
		memcpy(out + keep, "...", 3);
		keep += 3;
	}
	out[keep] = 0;
	return out;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses len bytes as one JSON object; NULL with a message otherwise. */
static cJSON *parse_object(const char *s, size_t len, const char *what, botify_err *err)
{
	char q[96];
	if (len == 0) {
		botify_fail(err, BOTIFY_EFORMAT, "%s is empty, expected a JSON object", what);
		return NULL;
	}
	if (memchr(s, 0, len)) {
		botify_fail(err, BOTIFY_EFORMAT, "%s holds a NUL byte: '%s'", what,
			    botify_recproto_quote(q, sizeof(q), s, len));
		return NULL;
	}
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (o && end) {
		const char *p = end, *stop = s + len;
		while (p < stop && is_ws(*p))
			p++;
		if (p != stop) {
			cJSON_Delete(o);
			o = NULL;
		}
	}
	if (!o) {
		botify_fail(err, BOTIFY_EFORMAT, "%s is not JSON: '%s'", what,
			    botify_recproto_quote(q, sizeof(q), s, len));
		return NULL;
	}
	if (!cJSON_IsObject(o)) {
		botify_fail(err, BOTIFY_EFORMAT, "%s is not a JSON object: '%s'", what,
			    botify_recproto_quote(q, sizeof(q), s, len));
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The value of key; with the key twice, the first, as every botify reader
 * takes it (logs, worlds and lists read through cJSON's lookup). */
static const cJSON *item(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* An integer-valued JSON number in [min, max]: 0, 1 absent, -1 otherwise. */
static int get_int(const cJSON *o, const char *key, double min, double max, int64_t *out)
{
	const cJSON *it = item(o, key);
	if (!it)
		return 1;
	if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) ||
	    it->valuedouble < min || it->valuedouble > max)
		return -1;
	*out = (int64_t)it->valuedouble;
	return 0;
}

int botify_recproto_parse_answer(const char *s, size_t len, const int64_t *user, int32_t *track,
				 botify_err *err)
{
	char q[96];
	cJSON *o = parse_object(s, len, "the answer", err);
	if (!o)
		return -1;
	int rc = -1;
	const cJSON *e = item(o, "error");
	if (cJSON_IsString(e)) {
		botify_fail(err, BOTIFY_ERUNTIME, "the recommender reported an error: '%s'",
			    botify_recproto_quote(q, sizeof(q), e->valuestring, strlen(e->valuestring)));
		goto out;
	}
	int64_t v;
	if (user) {
		int r = get_int(o, "user", -9007199254740992.0, 9007199254740992.0, &v);
		if (r < 0 || (r == 0 && v != *user)) {
			botify_fail(err, BOTIFY_EFORMAT, "the answer is for another user (want %lld): '%s'",
				    (long long)*user, botify_recproto_quote(q, sizeof(q), s, len));
			goto out;
		}
	}
	if (track) {
		if (get_int(o, "track", INT32_MIN, INT32_MAX, &v) != 0) {
			botify_fail(err, BOTIFY_EFORMAT, "the answer has no integer 'track': '%s'",
				    botify_recproto_quote(q, sizeof(q), s, len));
			goto out;
		}
		*track = (int32_t)v;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int botify_recproto_parse_body(const char *s, size_t len, int32_t *track, double *time,
			       botify_err *err)
{
	cJSON *o = parse_object(s, len, "the request body", err);
	if (!o)
		return -1;
	int rc = -1;
	int64_t v;
	int r = get_int(o, "track", 0, INT32_MAX, &v);
	if (r != 0) {
		botify_fail(err, BOTIFY_EFORMAT, r > 0 ? "the request body has no 'track'"
						       : "'track' must be an integer from 0 to 2147483647");
		goto out;
	}
	const cJSON *t = item(o, "time");
	if (!t) {
		botify_fail(err, BOTIFY_EFORMAT, "the request body has no 'time'");
		goto out;
	}
	if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble)) {
		botify_fail(err, BOTIFY_EFORMAT, "'time' must be a number");
		goto out;
	}
	*track = (int32_t)v;
	*time = t->valuedouble;
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int botify_recproto_parse_id(const char *s, size_t len, int64_t *out)
{
	if (len < 1)
		return -1;
	int64_t v = 0;
	int digits = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (digits || s[i] != '0')
			digits++;
		if (digits <= 18)
			v = v * 10 + (s[i] - '0');
	}
	*out = digits > 18 ? INT64_MAX : v; /* a number, just not in any world */
	return 0;
}
