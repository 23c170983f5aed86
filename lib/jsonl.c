/*
 * jsonl.c - JSON lines, plain or gzip, with file:line in every message.
 *
 * The file is read with read() and inflated here when it starts with the
 * gzip magic (any number of members, as simulate writes them), so a
 * truncated stream is an error rather than an early end of file, and data
 * after the last member is refused rather than ignored as gzread does.
 * Lines may hold NUL bytes and are bounded (BOTIFY_JSONL_MAX_LINE), so a
 * stream with no newline, /dev/zero say, ends in an error, not in memory
 * exhaustion.
 */
#include "jsonl.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "fs.h"

enum { RAW_SIZE = 1 << 17, OUT_SIZE = 1 << 18 };

/* The bytes of a file, plain or gzip (any number of members), decoded a
 * buffer at a time. */
struct src {
	int fd;
	int kind;              /* 0 not known yet, 1 plain, 2 gzip */
	int raw_eof;           /* read() returned 0 */
	int member_end;        /* inflate finished a member */
	int zinit;
	z_stream zs;
	const char *path;
	uint64_t raw_read;     /* bytes read from fd */
	uint64_t total;        /* bytes decoded */
	uint64_t limit;        /* at most this many decoded bytes; 0: no bound */
	const unsigned char *cur; /* decoded bytes not consumed yet */
	size_t cur_len;
	size_t raw_pos, raw_len;
	unsigned char raw[RAW_SIZE];
	unsigned char out[OUT_SIZE];
};

/* Reads more raw bytes after what is left (moved to the front). 0 or -1. */
static int fill_raw(struct src *s, botify_err *err)
{
	if (s->raw_pos > 0) {
		memmove(s->raw, s->raw + s->raw_pos, s->raw_len - s->raw_pos);
		s->raw_len -= s->raw_pos;
		s->raw_pos = 0;
	}
	if (s->raw_len == RAW_SIZE || s->raw_eof)
		return 0;
	ssize_t n = read(s->fd, s->raw + s->raw_len, RAW_SIZE - s->raw_len);
	if (n < 0 && errno == EINTR)
		return botify_fail(err, BOTIFY_EINTR, "interrupted");
	if (n < 0)
		return botify_fail_errno(err, errno, "cannot read '%s'", s->path);
	if (n == 0)
		s->raw_eof = 1;
	s->raw_len += (size_t)n;
	s->raw_read += (uint64_t)n;
	return 0;
}

/* At least n raw bytes buffered, unless the file ends first. */
static int want_raw(struct src *s, size_t n, botify_err *err)
{
	while (s->raw_len - s->raw_pos < n && !s->raw_eof)
		if (fill_raw(s, err) != 0)
			return -1;
	return 0;
}

static int gz_fail(struct src *s, size_t line, const char *msg, botify_err *err)
{
	char where[32] = "";
	if (line)
		snprintf(where, sizeof(where), ":%zu", line);
	return botify_fail(err, BOTIFY_EFORMAT, "%s%s: corrupt or truncated gzip data: %s", s->path,
			   where, msg);
}

/* Decodes the next buffer into s->cur. 1, 0 at the end, or -1; line is the
 * line being read, for messages (0: none). */
static int src_more(struct src *s, size_t line, botify_err *err)
{
	if (s->kind == 0) {
		if (want_raw(s, 2, err) != 0)
			return -1;
		s->kind = s->raw_len - s->raw_pos >= 2 && s->raw[s->raw_pos] == 0x1f &&
			  s->raw[s->raw_pos + 1] == 0x8b ? 2 : 1;
		if (s->kind == 2) {
			if (inflateInit2(&s->zs, 15 + 16) != Z_OK)
				return botify_fail(err, BOTIFY_ENOMEM, "%s: out of memory decompressing", s->path);
			s->zinit = 1;
		}
	}
	if (s->kind == 1) {
		if (s->raw_pos == s->raw_len) {
			s->raw_pos = s->raw_len = 0;
			if (fill_raw(s, err) != 0)
				return -1;
		}
		s->cur = s->raw + s->raw_pos;
		s->cur_len = s->raw_len - s->raw_pos;
		s->raw_pos = s->raw_len;
	} else {
		s->cur_len = 0;
		while (s->cur_len == 0) {
			if (s->member_end) {
				/* another member, or the end: anything else was
				 * appended or is damage, and is not silently dropped */
				if (want_raw(s, 2, err) != 0)
					return -1;
				size_t left = s->raw_len - s->raw_pos;
				if (left == 0)
					return 0;
				if (left < 2 || s->raw[s->raw_pos] != 0x1f || s->raw[s->raw_pos + 1] != 0x8b)
					return botify_fail(err, BOTIFY_EFORMAT,
							   "%s: data that is not gzip follows the gzip stream at byte %llu (a damaged or appended file)",
							   s->path, (unsigned long long)(s->raw_read - left));
				inflateReset(&s->zs);
				s->member_end = 0;
			}
			if (s->raw_pos == s->raw_len) {
				if (fill_raw(s, err) != 0)
					return -1;
				if (s->raw_pos == s->raw_len)
					return gz_fail(s, line, "unexpected end of file", err);
			}
			s->zs.next_in = s->raw + s->raw_pos;
			s->zs.avail_in = (uInt)(s->raw_len - s->raw_pos);
			s->zs.next_out = s->out;
			s->zs.avail_out = OUT_SIZE;
			int rc = inflate(&s->zs, Z_NO_FLUSH);
			s->raw_pos = s->raw_len - s->zs.avail_in;
			s->cur = s->out;
			s->cur_len = OUT_SIZE - s->zs.avail_out;
			if (rc == Z_STREAM_END)
				s->member_end = 1;
			else if (rc == Z_MEM_ERROR)
				return botify_fail(err, BOTIFY_ENOMEM, "%s: out of memory decompressing", s->path);
			else if (rc != Z_OK && rc != Z_BUF_ERROR)
				return gz_fail(s, line, s->zs.msg ? s->zs.msg : "invalid data", err);
		}
	}
	if (s->cur_len == 0)
		return 0;
	s->total += s->cur_len;
	if (s->limit && s->total > s->limit)
		return botify_fail(err, BOTIFY_ERANGE, "%s: larger than %llu MiB%s (the limit for this file)",
				   s->path, (unsigned long long)(s->limit >> 20),
				   s->kind == 2 ? " decompressed" : "");
	return 1;
}

static struct src *src_open(const char *path, int mode, uint64_t limit, botify_err *err)
{
	struct src *s = calloc(1, sizeof(*s));
	if (!s) {
		botify_fail(err, BOTIFY_ENOMEM, "out of memory opening '%s'", path);
		return NULL;
	}
	s->fd = botify_open_input(path, mode, err);
	if (s->fd < 0) {
		free(s);
		return NULL;
	}
	s->path = path;
	s->limit = limit;
	return s;
}

static void src_close(struct src *s)
{
	if (!s)
		return;
	if (s->zinit)
		inflateEnd(&s->zs);
	close(s->fd);
	free(s);
}

static int open_mode(botify_jsonl *r, const char *path, int mode, botify_err *err)
{
	memset(r, 0, sizeof(*r));
	r->path = strdup(path);
	if (!r->path)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory opening '%s'", path);
	r->src = src_open(r->path, mode, 0, err);
	if (!r->src) {
		botify_jsonl_close(r);
		return -1;
	}
	return 0;
}

int botify_jsonl_open(botify_jsonl *r, const char *path, botify_err *err)
{
	return open_mode(r, path, BOTIFY_IN_REGULAR, err);
}

int botify_jsonl_open_stream(botify_jsonl *r, const char *path, botify_err *err)
{
	return open_mode(r, path, BOTIFY_IN_STREAM, err);
}

uint64_t botify_jsonl_offset(const botify_jsonl *r)
{
	const struct src *s = r->src;
	return s ? s->raw_read - (s->raw_len - s->raw_pos) : 0;
}

void botify_jsonl_close(botify_jsonl *r)
{
	cJSON_Delete(r->obj);
	src_close(r->src);
	free(r->path);
	free(r->line);
	memset(r, 0, sizeof(*r));
}

/* Reads one physical line. Returns 1, 0 at end of file, or -1. */
static int read_line(botify_jsonl *r, botify_err *err)
{
	struct src *s = r->src;
	int any = 0, nl = 0;
	r->len = 0;
	while (!nl) {
		if (s->cur_len == 0) {
			int rc = src_more(s, r->lineno + 1, err);
			if (rc < 0)
				return -1;
			if (rc == 0)
				break;
		}
		any = 1;
		const unsigned char *e = memchr(s->cur, '\n', s->cur_len);
		size_t n = e ? (size_t)(e - s->cur) : s->cur_len;
		if (r->len + n > BOTIFY_JSONL_MAX_LINE)
			return botify_fail(err, BOTIFY_EFORMAT,
					   "%s:%zu: line longer than %d MiB (is this a JSON-lines file?)", r->path,
					   r->lineno + 1, BOTIFY_JSONL_MAX_LINE >> 20);
		/* room for the NUL */
		if (BOTIFY_ALLOC_GROW(r->line, r->len + n + 1, r->cap, "a JSON line", err))
			return botify_err_prefix(err, "%s:%zu", r->path, r->lineno + 1);
		memcpy(r->line + r->len, s->cur, n);
		r->len += n;
		s->cur += n + (e ? 1 : 0);
		s->cur_len -= n + (e ? 1 : 0);
		nl = e != NULL;
	}
	if (!nl) { /* the end of the file */
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
	while (r->src && !r->eof) {
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

int botify_jsonl_next_object(botify_jsonl *r, botify_err *err)
{
	cJSON_Delete(r->obj);
	r->obj = NULL;
	int rc = botify_jsonl_next(r, err);
	if (rc <= 0)
		return rc;
	r->obj = botify_jsonl_parse(r, err);
	if (!r->obj)
		return -1;
	if (!cJSON_IsObject(r->obj))
		return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: expected a JSON object", r->path,
				   r->lineno);
	return 1;
}

const char *botify_json_describe(const cJSON *v, char *buf, size_t cap)
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
				   r->path, r->lineno, botify_json_describe(obj, got, sizeof(got)));
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
				   r->path, r->lineno, key, botify_json_describe(v, got, sizeof(got)));
	/* cJSON keeps numbers as doubles: beyond 2^53 the file's digits are
	 * already lost, so refuse rather than use a neighbouring integer */
	if (fabs(d) > 9007199254740992.0)
		return botify_fail(err, BOTIFY_ERANGE,
				   "%s:%zu: '%s' is %s, too large to be read exactly (limit 2^53)",
				   r->path, r->lineno, key, botify_json_describe(v, got, sizeof(got)));
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
				   r->path, r->lineno, key, botify_json_describe(v, got, sizeof(got)));
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
				   r->path, r->lineno, key, botify_json_describe(v, got, sizeof(got)));
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
	struct src *in = src_open(path, BOTIFY_IN_REGULAR, BOTIFY_JSON_MAX_FILE, err);
	if (!in)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0, line, col;
	cJSON *v = NULL;
	int rc;
	while ((rc = src_more(in, 0, err)) == 1) {
		if (BOTIFY_ALLOC_GROW(buf, len + in->cur_len + 1, cap, path, err))
			goto out;
		memcpy(buf + len, in->cur, in->cur_len);
		len += in->cur_len;
		in->cur_len = 0;
	}
	if (rc < 0)
		goto out;
	if (!buf && !(buf = malloc(1))) {
		botify_fail(err, BOTIFY_ENOMEM, "out of memory reading '%s'", path);
		goto out;
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
	src_close(in);
	free(buf);
	return v;
}
