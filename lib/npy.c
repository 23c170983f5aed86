/*
 * npy.c - NumPy .npy files: float32 arrays in, float32 arrays out.
 *
 * The format is a magic string, a version, a header length and a python dict
 * literal ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }")
 * followed by the raw data. The reader checks every size against the bytes
 * actually present before allocating, so a hostile header cannot make it
 * allocate more than the file holds. The writer emits exactly what np.save
 * writes for a float32 array, so files compare byte for byte.
 */
#include "npy.h"

#include <errno.h>
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "outfile.h"

static const char magic[6] = "\x93NUMPY";

/* A cursor over the header dict; pos is a byte offset in the file. */
struct hdr {
	const char *s;
	size_t pos, end;
	const char *name;
	botify_err *err;
};

static int hdr_fail(struct hdr *h, const char *what)
{
	return botify_fail(h->err, BOTIFY_EFORMAT, "%s: byte %zu: %s", h->name, h->pos, what);
}

static void skip_ws(struct hdr *h)
{
	while (h->pos < h->end && strchr(" \t\r\n", h->s[h->pos]))
		h->pos++;
}

/* Consumes c (after blanks) and returns 1, or returns 0 and consumes nothing. */
static int eat(struct hdr *h, char c)
{
	skip_ws(h);
	if (h->pos < h->end && h->s[h->pos] == c) {
		h->pos++;
		return 1;
	}
	return 0;
}

/* A quoted python string without escapes (numpy never writes any here). */
static int parse_str(struct hdr *h, char *out, size_t cap)
{
	skip_ws(h);
	char q = h->pos < h->end ? h->s[h->pos] : 0;
	if (q != '\'' && q != '"')
		return hdr_fail(h, "expected a quoted string");
	size_t start = h->pos + 1, i = start;
	while (i < h->end && h->s[i] != q)
		i++;
	if (i == h->end || i - start >= cap)
		return hdr_fail(h, i == h->end ? "unterminated string" : "string too long");
	memcpy(out, h->s + start, i - start);
	out[i - start] = '\0';
	h->pos = i + 1;
	return 0;
}

static int parse_descr(struct hdr *h, size_t *elsize)
{
	char d[32];
	size_t at = h->pos;
	if (parse_str(h, d, sizeof(d)) != 0)
		return -1;
	if (strcmp(d, "<f4") == 0 || strcmp(d, "<f8") == 0) {
		*elsize = d[2] == '4' ? 4 : 8;
		return 0;
	}
	const char *why = d[0] == '>' ? " (big-endian)" : "";
	h->pos = at;
	skip_ws(h);
	return botify_fail(h->err, BOTIFY_EFORMAT,
			   "%s: byte %zu: dtype '%s'%s not supported (expected '<f4' or '<f8')",
			   h->name, h->pos, d, why);
}

static int parse_fortran(struct hdr *h)
{
	skip_ws(h);
	const char *p = h->s + h->pos;
	size_t left = h->end - h->pos;
	if (left >= 5 && memcmp(p, "False", 5) == 0) {
		h->pos += 5;
		return 0;
	}
	if (left >= 4 && memcmp(p, "True", 4) == 0)
		return hdr_fail(h, "fortran_order True not supported (expected C order)");
	return hdr_fail(h, "fortran_order must be True or False");
}

static int shape_fail(struct hdr *h, size_t at, const char *what)
{
	size_t n = 0;
	while (at + n < h->end && !strchr(")}", h->s[at + n]) && n < 64)
		n++;
	n += at + n < h->end && h->s[at + n] == ')';
	return botify_fail(h->err, BOTIFY_EFORMAT, "%s: byte %zu: shape %.*s %s", h->name, at,
			   (int)n, h->s + at, what);
}

static int parse_shape(struct hdr *h, size_t dims[2], size_t *ndim)
{
	size_t at = (skip_ws(h), h->pos);
	if (!eat(h, '('))
		return shape_fail(h, at, "is not a tuple");
	*ndim = 0;
	while (!eat(h, ')')) {
		skip_ws(h);
		size_t v = 0, digits = h->pos;
		while (h->pos < h->end && h->s[h->pos] >= '0' && h->s[h->pos] <= '9') {
			if (botify_size_mul(v, 10, &v) != 0 ||
			    botify_size_add(v, (size_t)(h->s[h->pos] - '0'), &v) != 0)
				return shape_fail(h, at, "has a dimension too large");
			h->pos++;
		}
		if (h->pos == digits)
			return shape_fail(h, at, h->pos < h->end && h->s[h->pos] == '-'
							 ? "has a negative dimension"
							 : "is not a tuple of integers");
		if (*ndim == 2)
			return shape_fail(h, at, "has more than 2 dimensions");
		dims[(*ndim)++] = v;
		if (!eat(h, ',') && !eat(h, ')'))
			return shape_fail(h, at, "is not a tuple of integers");
		if (h->s[h->pos - 1] == ')')
			break;
	}
	return 0;
}

/* Parses the dict at s[pos, end): keys descr, fortran_order and shape. */
static int parse_header(struct hdr *h, size_t *elsize, size_t dims[2], size_t *ndim)
{
	const char *keys[3] = { "descr", "fortran_order", "shape" };
	int seen[3] = { 0 };
	size_t dict_at = (skip_ws(h), h->pos);
	if (!eat(h, '{'))
		return hdr_fail(h, "header is not a python dict");
	while (!eat(h, '}')) {
		char key[32];
		size_t at = (skip_ws(h), h->pos);
		if (parse_str(h, key, sizeof(key)) != 0)
			return -1;
		int k = 0;
		while (k < 3 && strcmp(key, keys[k]) != 0)
			k++;
		if (k == 3 || seen[k]) {
			h->pos = at;
			return botify_fail(h->err, BOTIFY_EFORMAT, "%s: byte %zu: %s key '%s' in header",
					   h->name, at, k == 3 ? "unexpected" : "duplicate", key);
		}
		seen[k] = 1;
		if (!eat(h, ':'))
			return hdr_fail(h, "expected ':' after a key");
		int rc = k == 0 ? parse_descr(h, elsize) : k == 1 ? parse_fortran(h)
								  : parse_shape(h, dims, ndim);
		if (rc != 0)
			return -1;
		if (!eat(h, ',') && !eat(h, '}'))
			return hdr_fail(h, "expected ',' or '}' in header");
		if (h->s[h->pos - 1] == '}')
			break;
	}
	for (int k = 0; k < 3; k++)
		if (!seen[k])
			return botify_fail(h->err, BOTIFY_EFORMAT, "%s: byte %zu: header has no '%s' key",
					   h->name, dict_at, keys[k]);
	skip_ws(h);
	if (h->pos != h->end)
		return hdr_fail(h, "unexpected text after the header dict");
	return 0;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int botify_npy_parse(botify_npy *a, const void *buf, size_t len, const char *name,
		     botify_err *err)
{
	const unsigned char *b = buf;
	memset(a, 0, sizeof(*a));
	if (len < sizeof(magic) || memcmp(b, magic, sizeof(magic)) != 0)
		return botify_fail(err, BOTIFY_EFORMAT, "%s: byte 0: not a .npy file (no \\x93NUMPY magic)",
				   name);
	if (len < 10)
		return botify_fail(err, BOTIFY_EFORMAT, "%s: truncated: header ends at byte %zu", name, len);
	unsigned major = b[6], minor = b[7];
	if (major < 1 || major > 3 || minor != 0)
		return botify_fail(err, BOTIFY_EFORMAT,
				   "%s: byte 6: unsupported .npy version %u.%u (expected 1.0, 2.0 or 3.0)",
				   name, major, minor);
	size_t start = major == 1 ? 10 : 12, hlen;
	if (len < start)
		return botify_fail(err, BOTIFY_EFORMAT, "%s: truncated: header ends at byte %zu", name, len);
	hlen = major == 1 ? (size_t)b[8] | (size_t)b[9] << 8 : (size_t)le32(b + 8);
	if (hlen > len - start)
		return botify_fail(err, BOTIFY_EFORMAT,
				   "%s: truncated: expected a %zu-byte header at byte %zu, found %zu",
				   name, hlen, start, len - start);

	struct hdr h = { (const char *)b, start, start + hlen, name, err };
	size_t elsize = 0, dims[2] = { 1, 1 }, ndim = 0;
	if (parse_header(&h, &elsize, dims, &ndim) != 0)
		return -1;

	size_t off = start + hlen, n, bytes;
	if (botify_size_mul(dims[0], ndim == 2 ? dims[1] : 1, &n) != 0 ||
	    botify_size_mul(n, elsize, &bytes) != 0)
		return botify_fail(err, BOTIFY_EFORMAT, "%s: byte %zu: shape (%zu, %zu) is too large",
				   name, start, dims[0], dims[1]);
	if (len - off < bytes)
		return botify_fail(err, BOTIFY_EFORMAT,
				   "%s: truncated: expected %zu data bytes at byte %zu, found %zu", name,
				   bytes, off, len - off);
	if (len - off > bytes)
		return botify_fail(err, BOTIFY_EFORMAT, "%s: %zu extra bytes after the data at byte %zu",
				   name, len - off - bytes, off + bytes);

	float *data = botify_malloc(n, sizeof(float), name, err);
	if (!data)
		return -1;
	const unsigned char *p = b + off;
	for (size_t i = 0; i < n; i++, p += elsize) {
		if (elsize == 4) {
			uint32_t u = le32(p);
			memcpy(&data[i], &u, 4);
			continue;
		}
		uint64_t u = (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
		double d;
		memcpy(&d, &u, 8);
		/* out-of-range double to float is undefined behaviour in C, and a
		 * silent inf would hide the problem anyway */
		if (d > FLT_MAX || d < -FLT_MAX) {
			free(data);
			return botify_fail(err, BOTIFY_ERANGE,
					   "%s: byte %zu: value %g does not fit in float32", name,
					   (size_t)(p - b), d);
		}
		data[i] = (float)d;
	}
	a->data = data;
	a->ndim = ndim;
	a->rows = dims[0];
	a->cols = ndim == 2 ? dims[1] : 1;
	return 0;
}

/* Reads the whole file; *buf is malloc'ed (never NULL on success). */
static int read_all(const char *path, unsigned char **buf, size_t *len, botify_err *err)
{
	/* regular files only: a FIFO would block, /dev/zero never end */
	int fd = botify_open_input(path, BOTIFY_IN_REGULAR, err);
	if (fd < 0)
		return -1;
	FILE *fp = fdopen(fd, "rb");
	if (!fp) {
		int e = errno;
		close(fd);
		return botify_fail_errno(err, e, "cannot open '%s'", path);
	}
	unsigned char *b = NULL;
	size_t n = 0, cap = 0;
	struct stat st;
	/* a regular file is read in one allocation; one byte more sees EOF */
	if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size < SIZE_MAX) {
		if (!(b = botify_malloc((size_t)st.st_size + 1, 1, path, err)))
			goto fail;
		cap = (size_t)st.st_size + 1;
	}
	for (;;) {
		if (n == cap && BOTIFY_ALLOC_GROW(b, n + 65536, cap, path, err))
			goto fail;
		size_t got = fread(b + n, 1, cap - n, fp);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		botify_fail_errno(err, errno, "cannot read '%s'", path);
		goto fail;
	}
	fclose(fp);
	*buf = b;
	*len = n;
	return 0;
fail:
	fclose(fp);
	free(b);
	return -1;
}

int botify_npy_read(botify_npy *a, const char *path, botify_err *err)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	memset(a, 0, sizeof(*a));
	if (read_all(path, &buf, &len, err) != 0)
		return -1;
	int rc = botify_npy_parse(a, buf, len, path, err);
	free(buf);
	return rc;
}

int botify_npy_write_to(botify_outfile *f, const float *data, size_t ndim, size_t rows,
			size_t cols, botify_err *err)
{
	const char *path = f->path ? f->path : "(closed)";
	size_t n, bytes;
	if (ndim < 1 || ndim > 2 || (ndim == 1 && cols != 1))
		return botify_fail(err, BOTIFY_EINVAL, "%s: bad shape: ndim %zu, %zu x %zu", path, ndim,
				   rows, cols);
	if (botify_size_mul(rows, cols, &n) != 0 || botify_size_mul(n, sizeof(float), &bytes) != 0)
		return botify_fail(err, BOTIFY_EINVAL, "%s: shape %zu x %zu is too large", path, rows, cols);
	if (n && !data)
		return botify_fail(err, BOTIFY_EINVAL, "%s: no data for a %zu x %zu array", path, rows, cols);

	/* np.save's layout: the dict, spare room for shape[0] to grow to 21
	 * digits, spaces up to a multiple of 64 bytes with the preamble, '\n'.
	 * With at most two dimensions it always fits version 1.0. */
	char hdr[256];
	int m = ndim == 1 ? snprintf(hdr, sizeof(hdr), "{'descr': '<f4', 'fortran_order': False, "
						      "'shape': (%zu,), }", rows)
			  : snprintf(hdr, sizeof(hdr), "{'descr': '<f4', 'fortran_order': False, "
						      "'shape': (%zu, %zu), }", rows, cols);
	int digits = snprintf(NULL, 0, "%zu", rows);
	size_t hl = (size_t)m + (size_t)(21 - digits);
	hl += (64 - (10 + hl + 1) % 64) % 64;
	memset(hdr + m, ' ', hl - (size_t)m);
	hdr[hl++] = '\n';
	unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
				  (unsigned char)(hl & 0xff), (unsigned char)(hl >> 8) };

	if (botify_outfile_write(f, pre, sizeof(pre), err) != 0 ||
	    botify_outfile_write(f, hdr, hl, err) != 0)
		return -1;
	/* little-endian on every host: go through bytes, a block at a time */
	unsigned char block[16384];
	size_t per = sizeof(block) / 4;
	for (size_t i = 0; i < n; i += per) {
		size_t k = n - i < per ? n - i : per;
		for (size_t j = 0; j < k; j++) {
			uint32_t u;
			memcpy(&u, &data[i + j], 4);
			for (int byte = 0; byte < 4; byte++)
				block[4 * j + byte] = (unsigned char)(u >> (8 * byte));
		}
		if (botify_outfile_write(f, block, 4 * k, err) != 0)
			return -1;
	}
	return 0;
}

int botify_npy_write(const char *path, const float *data, size_t ndim, size_t rows,
		     size_t cols, int force, botify_err *err)
{
	botify_outfile f;
	if (botify_outfile_open(&f, path, force, err) != 0)
		return -1;
	if (botify_npy_write_to(&f, data, ndim, rows, cols, err) != 0) {
		botify_outfile_abort(&f);
		return -1;
	}
	return botify_outfile_commit(&f, err);
}

void botify_npy_free(botify_npy *a)
{
	free(a->data);
	memset(a, 0, sizeof(*a));
}
