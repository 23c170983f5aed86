/*
 * outfile.c - output files that are complete or absent.
 *
 * Bytes go to "<path>.tmp.<pid>" and only a commit that flushed, fsynced,
 * closed and renamed without error makes them visible under path (the
 * rdbSave pattern). Any failure removes the temporary file, so a reader never
 * sees half a file and a full disk never passes for a success. A .gz path is
 * one gzip member deflated here, or whole members made by the caller.
 */
#include "outfile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

enum { MODE_UNUSED, MODE_STREAM, MODE_RAW };
enum { ZBUF_SIZE = 1 << 16, GZ_LEVEL = 6, GZ_WINDOW = 15 + 16 /* gzip wrapper */ };

int botify_path_is_gzip(const char *path)
{
	size_t n = strlen(path);
	return n >= 3 && strcmp(path + n - 3, ".gz") == 0;
}

/* Closes and removes the temporary file and drops the compressor, but keeps
 * path so that a later write or commit can still name the file. */
static void discard(botify_outfile *f)
{
	if (f->fp)
		fclose(f->fp);
	f->fp = NULL;
	if (f->tmp)
		unlink(f->tmp);
	free(f->tmp);
	f->tmp = NULL;
	if (f->zs) {
		deflateEnd(f->zs);
		free(f->zs);
		f->zs = NULL;
	}
	free(f->zbuf);
	f->zbuf = NULL;
}

void botify_outfile_abort(botify_outfile *f)
{
	discard(f);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

int botify_outfile_open(botify_outfile *f, const char *path, int force, botify_err *err)
{
	memset(f, 0, sizeof(*f));
	struct stat st;
	if (!force && stat(path, &st) == 0)
		return botify_fail(err, BOTIFY_EEXIST, "'%s' exists (use --force to replace it)", path);

	size_t n = strlen(path) + 32; /* ".tmp." + a pid */
	f->path = strdup(path);
	f->tmp = malloc(n);
	if (!f->path || !f->tmp) {
		botify_outfile_abort(f);
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory opening '%s'", path);
	}
	snprintf(f->tmp, n, "%s.tmp.%ld", path, (long)getpid());
	f->fp = fopen(f->tmp, "wb");
	if (!f->fp) {
		int e = errno;
		free(f->tmp);
		f->tmp = NULL; /* never created: nothing to unlink */
		botify_outfile_abort(f);
		return botify_fail_errno(err, e, "cannot create '%s'", path);
	}
	f->gzip = botify_path_is_gzip(path);
	return 0;
}

static int not_open(botify_outfile *f, botify_err *err)
{
	return botify_fail(err, BOTIFY_EINVAL,
			   "'%s': output is not open (already committed, aborted or failed)",
			   f->path ? f->path : "(null)");
}

/* Writes bytes to the temporary file; on failure discards it. */
static int put(botify_outfile *f, const void *buf, size_t n, botify_err *err)
{
	if (n && fwrite(buf, 1, n, f->fp) != n) {
		int e = errno;
		discard(f);
		return botify_fail_errno(err, e, "cannot write '%s'", f->path);
	}
	f->bytes += n;
	return 0;
}

/* Runs deflate over the pending input with flush, writing whatever it makes. */
static int pump(botify_outfile *f, int flush, botify_err *err)
{
	z_stream *zs = f->zs;
	for (;;) {
		zs->next_out = f->zbuf;
		zs->avail_out = ZBUF_SIZE;
		int rc = deflate(zs, flush);
		if (rc == Z_STREAM_ERROR)
			BOTIFY_BUG("deflate: inconsistent stream state");
		if (put(f, f->zbuf, ZBUF_SIZE - zs->avail_out, err) != 0)
			return -1;
		if (flush == Z_FINISH ? rc == Z_STREAM_END : zs->avail_out != 0)
			return 0;
	}
}

static int start_stream(botify_outfile *f, botify_err *err)
{
	f->zs = calloc(1, sizeof(z_stream));
	f->zbuf = malloc(ZBUF_SIZE);
	if (!f->zs || !f->zbuf ||
	    deflateInit2(f->zs, GZ_LEVEL, Z_DEFLATED, GZ_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(f->zs);
		f->zs = NULL; /* a failed init leaves nothing for deflateEnd */
		discard(f);
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory compressing '%s'", f->path);
	}
	f->mode = MODE_STREAM;
	return 0;
}

int botify_outfile_write(botify_outfile *f, const void *buf, size_t n, botify_err *err)
{
	if (!f->tmp)
		return not_open(f, err);
	if (!f->gzip)
		return put(f, buf, n, err);
	if (f->mode == MODE_RAW)
		return botify_fail(err, BOTIFY_EINVAL, "'%s': streamed write after raw gzip members", f->path);
	if (f->mode == MODE_UNUSED && start_stream(f, err) != 0)
		return -1;

	z_stream *zs = f->zs;
	const unsigned char *p = buf;
	while (n) {
		uInt chunk = n > UINT_MAX ? UINT_MAX : (uInt)n; /* avail_in is 32-bit */
		zs->next_in = (unsigned char *)p;
		zs->avail_in = chunk;
		if (pump(f, Z_NO_FLUSH, err) != 0)
			return -1;
		p += chunk;
		n -= chunk;
	}
	return 0;
}

int botify_outfile_write_raw(botify_outfile *f, const void *buf, size_t n, botify_err *err)
{
	if (!f->tmp)
		return not_open(f, err);
	if (f->mode == MODE_STREAM)
		return botify_fail(err, BOTIFY_EINVAL, "'%s': raw write after streamed gzip data", f->path);
	f->mode = MODE_RAW;
	return put(f, buf, n, err);
}

int botify_outfile_commit(botify_outfile *f, botify_err *err)
{
	int rc = -1;
	if (!f->tmp) {
		rc = not_open(f, err);
		goto out;
	}
	/* an empty .gz output is still one valid (empty) gzip member */
	if (f->gzip && f->mode != MODE_RAW) {
		if (f->mode == MODE_UNUSED && start_stream(f, err) != 0)
			goto out;
		if (pump(f, Z_FINISH, err) != 0)
			goto out;
	}
	/* stdio buffers: a full disk may only show at fflush or fclose */
	if (fflush(f->fp) != 0 || fsync(fileno(f->fp)) != 0) {
		botify_fail_errno(err, errno, "cannot write '%s'", f->path);
		goto out;
	}
	FILE *fp = f->fp;
	f->fp = NULL; /* fclose releases it even when it fails */
	if (fclose(fp) != 0) {
		botify_fail_errno(err, errno, "cannot write '%s'", f->path);
		goto out;
	}
	if (rename(f->tmp, f->path) != 0) {
		botify_fail_errno(err, errno, "cannot rename '%s' to '%s'", f->tmp, f->path);
		goto out;
	}
	free(f->tmp);
	f->tmp = NULL; /* renamed: nothing left to unlink */
	rc = 0;
out:
	botify_outfile_abort(f);
	return rc;
}

int botify_gzip_member(const void *in, size_t n, int level, unsigned char **out,
		       size_t *out_len, size_t *out_cap, botify_err *err)
{
	if (level < 1 || level > 9)
		return botify_fail(err, BOTIFY_EINVAL, "gzip level %d must be 1 to 9", level);
	z_stream zs = {0};
	if (deflateInit2(&zs, level, Z_DEFLATED, GZ_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory starting gzip compression");

	const size_t start = *out_len;
	const unsigned char *p = in;
	size_t left = n, need;
	/* the bound makes one pass enough; the loop below still grows if not */
	if (botify_size_add(*out_len, deflateBound(&zs, n), &need) != 0)
		goto nomem;
	for (;;) {
		if (need > *out_cap) {
			unsigned char *q = realloc(*out, need);
			if (!q)
				goto nomem;
			*out = q;
			*out_cap = need;
		}
		size_t room = *out_cap - *out_len;
		uInt in_chunk = left > UINT_MAX ? UINT_MAX : (uInt)left;
		uInt out_chunk = room > UINT_MAX ? UINT_MAX : (uInt)room;
		zs.next_in = (unsigned char *)p;
		zs.avail_in = in_chunk;
		zs.next_out = *out + *out_len;
		zs.avail_out = out_chunk;
		int rc = deflate(&zs, left == in_chunk ? Z_FINISH : Z_NO_FLUSH);
		p += in_chunk - zs.avail_in;
		left -= in_chunk - zs.avail_in;
		*out_len += out_chunk - zs.avail_out;
		if (rc == Z_STREAM_END)
			break;
		if (rc == Z_STREAM_ERROR)
			BOTIFY_BUG("deflate: inconsistent stream state");
		if (zs.avail_out == 0 && botify_size_add(*out_cap, *out_cap / 2 + 4096, &need) != 0)
			goto nomem;
	}
	deflateEnd(&zs);
	return 0;
nomem:
	deflateEnd(&zs);
	*out_len = start;
	return botify_fail(err, BOTIFY_ENOMEM, "out of memory compressing %zu bytes", n);
}
