/*
 * jsonl.c - JSON lines, plain or gzip, with file:line in every message.
 *
 * zlib's gzread family reads plain files transparently, so one code path
 * serves both. Lines are read a byte at a time through the gzgetc macro (a
 * pointer bump on zlib's buffer) into a buffer that grows without limit, so
 * line numbers stay exact for lines of any length or with NUL bytes in them.
 * zlib reports a truncated gzip stream as an ordinary end of file, so every
 * end of file is checked with gzerror.
 */
#include "jsonl.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

enum { GZ_BUFFER = 1 << 17 };

/* Turns zlib's error state into a message; line 0 leaves the line out. */
static int gz_fail(gzFile gz, const char *path, size_t line, botify_err *err)
{
	int code;
	const char *msg = gzerror(gz, &code);
	size_t n = strlen(path);
	if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
		msg += n + 2; /* zlib prefixes the path it was opened with */
	char where[32] = "";
	if (line)
		snprintf(where, sizeof(where), ":%zu", line);
	if (code == Z_ERRNO)
		return botify_fail(err, BOTIFY_EIO, "cannot read '%s': %s", path, msg);
	if (code == Z_MEM_ERROR)
		return botify_fail(err, BOTIFY_ENOMEM, "%s%s: out of memory decompressing", path, where);
	return botify_fail(err, BOTIFY_EFORMAT, "%s%s: corrupt or truncated gzip data: %s", path, where,
			   msg);
}

static gzFile open_gz(const char *path, botify_err *err)
{
	errno = 0;
	gzFile gz = gzopen(path, "rb");
	if (!gz) {
		botify_fail_errno(err, errno ? errno : ENOMEM, "cannot open '%s'", path);
		return NULL;
	}
	gzbuffer(gz, GZ_BUFFER); /* can only fail after the first read */
	return gz;
}

int botify_jsonl_open(botify_jsonl *r, const char *path, botify_err *err)
{
	memset(r, 0, sizeof(*r));
	r->path = strdup(path);
	if (!r->path)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory opening '%s'", path);
	r->gz = open_gz(path, err);
	if (!r->gz) {
		botify_jsonl_close(r);
		return -1;
	}
	return 0;
}

void botify_jsonl_close(botify_jsonl *r)
{
	if (r->gz)
		gzclose(r->gz);
	free(r->path);
	free(r->line);
	memset(r, 0, sizeof(*r));
}

/* Reads one physical line. Returns 1, 0 at end of file, or -1. */
static int read_line(botify_jsonl *r, botify_err *err)
{
	gzFile gz = r->gz;
	int c, any = 0;
	r->len = 0;
	while ((c = gzgetc(gz)) != -1) {
		any = 1;
		if (c == '\n')
			break;
		if (r->len + 2 > r->cap) { /* room for c and the NUL */
			size_t cap;
			if (botify_size_add(r->cap, r->cap + 256, &cap) != 0)
				return botify_fail(err, BOTIFY_ENOMEM, "%s:%zu: line too long", r->path,
						   r->lineno + 1);
			char *p = botify_realloc(r->line, cap, 1, "a JSON line", err);
			if (!p)
				return botify_err_prefix(err, "%s:%zu", r->path, r->lineno + 1);
			r->line = p;
			r->cap = cap;
		}
		r->line[r->len++] = (char)c;
	}
	if (c == -1) {
		int code;
		gzerror(gz, &code);
		if (code != Z_OK)
			return gz_fail(gz, r->path, r->lineno + 1, err);
		r->eof = 1;
		if (!any)
			return 0;
	}
	if (r->len && r->line[r->len - 1] == '\r')
		r->len--;
	if (r->line)
		r->line[r->len] = '\0';
	r->lineno++;
	return 1;
}

int botify_jsonl_next(botify_jsonl *r, botify_err *err)
{
	while (r->gz && !r->eof) {
		int rc = read_line(r, err);
		if (rc <= 0)
			return rc;
		if (strspn(r->line ? r->line : "", " \t") < r->len)
			return 1;
	}
	return 0;
}

cJSON *botify_jsonl_parse(botify_jsonl *r, botify_err *err)
{
	const char *line = r->line ? r->line : "";
	const char *nul = memchr(line, '\0', r->len);
	if (nul) {
		botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: malformed JSON near byte %zu (a NUL byte)",
			    r->path, r->lineno, (size_t)(nul - line) + 1);
		return NULL;
	}
	/* the length counts the NUL: with require_null_terminated cJSON checks
	 * that the byte after the value is that NUL, so "{} x" fails. The end
	 * pointer, unlike cJSON_GetErrorPtr, is not a global shared by threads. */
	const char *end = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(line, r->len + 1, &end, 1);
	if (!v)
		botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: malformed JSON near byte %zu", r->path,
			    r->lineno, end ? (size_t)(end - line) + 1 : 1);
	return v;
}

/* Describes a value for "got ..." in messages. */
static const char *describe(const cJSON *v, char *buf, size_t cap)
{
	if (cJSON_IsNumber(v)) {
		snprintf(buf, cap, "%.15g", v->valuedouble);
		return buf;
	}
	return cJSON_IsString(v) ? "a string" : cJSON_IsTrue(v) ? "true" : cJSON_IsFalse(v) ? "false"
	       : cJSON_IsNull(v) ? "null" : cJSON_IsArray(v) ? "an array" : cJSON_IsObject(v)
	       ? "an object" : "an invalid value";
}

/* Finds key: 0 with *item set, 1 when absent and optional, or -1. */
static int field(const botify_jsonl *r, const cJSON *obj, const char *key, int required,
		 const char *expected, const cJSON **item, botify_err *err)
{
	char got[32];
	if (!cJSON_IsObject(obj))
		return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: expected a JSON object, got %s",
				   r->path, r->lineno, describe(obj, got, sizeof(got)));
	*item = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (*item)
		return 0;
	if (!required)
		return 1;
	return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: '%s' is missing (expected %s)", r->path,
			   r->lineno, key, expected);
}

int botify_jsonl_int(const botify_jsonl *r, const cJSON *obj, const char *key, int required,
		     int64_t min, int64_t max, int64_t *out, botify_err *err)
{
	const cJSON *v;
	char got[32];
	int rc = field(r, obj, key, required, "an integer", &v, err);
	if (rc != 0)
		return rc;
	double d = v->valuedouble;
	if (!cJSON_IsNumber(v) || !isfinite(d) || d != floor(d))
		return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: '%s' must be an integer, got %s",
				   r->path, r->lineno, key, describe(v, got, sizeof(got)));
	/* cJSON keeps numbers as doubles: beyond 2^53 the file's digits are
	 * already lost, so refuse rather than use a neighbouring integer */
	if (fabs(d) > 9007199254740992.0)
		return botify_fail(err, BOTIFY_ERANGE,
				   "%s:%zu: '%s' is %s, too large to be read exactly (limit 2^53)",
				   r->path, r->lineno, key, describe(v, got, sizeof(got)));
	int64_t i = (int64_t)d;
	if (i < min || i > max)
		return botify_fail(err, BOTIFY_ERANGE,
				   "%s:%zu: '%s' must be between %" PRId64 " and %" PRId64 ", got %" PRId64,
				   r->path, r->lineno, key, min, max, i);
	*out = i;
	return 0;
}

int botify_jsonl_double(const botify_jsonl *r, const cJSON *obj, const char *key, int required,
			double *out, botify_err *err)
{
	const cJSON *v;
	char got[32];
	int rc = field(r, obj, key, required, "a number", &v, err);
	if (rc != 0)
		return rc;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: '%s' must be a finite number, got %s",
				   r->path, r->lineno, key, describe(v, got, sizeof(got)));
	*out = v->valuedouble;
	return 0;
}

int botify_jsonl_string(const botify_jsonl *r, const cJSON *obj, const char *key, int required,
			const char **out, botify_err *err)
{
	const cJSON *v;
	char got[32];
	int rc = field(r, obj, key, required, "a string", &v, err);
	if (rc != 0)
		return rc;
	if (!cJSON_IsString(v))
		return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: '%s' must be a string, got %s",
				   r->path, r->lineno, key, describe(v, got, sizeof(got)));
	*out = v->valuestring;
	return 0;
}

/* Line and column (both 1-based) of byte off in buf. */
static void position(const char *buf, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			++*line;
			*col = 1;
		} else {
			++*col;
		}
	}
}

cJSON *botify_json_read_file(const char *path, botify_err *err)
{
	gzFile gz = open_gz(path, err);
	if (!gz)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0, line, col;
	cJSON *v = NULL;
	for (;;) {
		if (cap - len < 2) {
			size_t ncap;
			if (botify_size_add(cap, cap + 65536, &ncap) != 0) {
				botify_fail(err, BOTIFY_ENOMEM, "%s: file too large", path);
				goto out;
			}
			char *p = botify_realloc(buf, ncap, 1, path, err);
			if (!p)
				goto out;
			buf = p;
			cap = ncap;
		}
		size_t want = cap - len - 1;
		int got = gzread(gz, buf + len, want > INT_MAX ? INT_MAX : (unsigned)want);
		if (got <= 0) {
			int code;
			gzerror(gz, &code);
			if (got < 0 || code != Z_OK) {
				gz_fail(gz, path, 0, err);
				goto out;
			}
			break;
		}
		len += (size_t)got;
	}
	buf[len] = '\0';

	const char *nul = memchr(buf, '\0', len), *end = NULL;
	if (strspn(buf, " \t\r\n") == len && !nul) {
		botify_fail(err, BOTIFY_EFORMAT, "%s: empty file (expected a JSON value)", path);
		goto out;
	}
	v = nul ? NULL : cJSON_ParseWithLengthOpts(buf, len + 1, &end, 1);
	if (!v) {
		size_t off = nul ? (size_t)(nul - buf) : end ? (size_t)(end - buf) : 0;
		position(buf, off, &line, &col);
		botify_fail(err, BOTIFY_EFORMAT, "%s: malformed JSON at line %zu, column %zu%s", path,
			    line, col, nul ? " (a NUL byte)" : "");
	}
out:
	gzclose(gz);
	free(buf);
	return v;
}
