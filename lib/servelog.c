/*
 * servelog.c - the log of botify serve, written before calls are answered
 * (see servelog.h).
 */
#include "servelog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

enum { ZBUF = 1 << 16 };

/* A gzip member header: deflate, no name, no time, Unix. */
static const unsigned char GZ_HEADER[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };

static int fd_of(const botify_servelog *l)
{
	return fileno((FILE *)l->f->fp);
}

/* pwrite(2) until all is written; -1 with errno. */
static int pwrite_all(int fd, const void *p, size_t n, long long off)
{
	const char *c = p;
	while (n) {
		ssize_t w = pwrite(fd, c, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		c += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* The end of a gzip member after a sync flush: an empty final stored
 * block, then CRC-32 and length (mod 2^32) of the data, little-endian. */
static void trailer(unsigned char t[13], unsigned long crc, unsigned long isize)
{
	static const unsigned char final_block[5] = { 0x01, 0x00, 0x00, 0xff, 0xff };
	memcpy(t, final_block, 5);
	for (int i = 0; i < 4; i++) {
		t[5 + i] = (unsigned char)(crc >> (8 * i));
		t[9 + i] = (unsigned char)(isize >> (8 * i));
	}
}

void botify_servelog_free(botify_servelog *l)
{
	if (!l->cap)
		return;
	free(l->buf);
	free(l->spare);
	if (l->zs) {
		deflateEnd(l->zs);
		free(l->zs);
	}
	free(l->zbuf);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	memset(l, 0, sizeof(*l));
}

int botify_servelog_init(botify_servelog *l, botify_outfile *f, size_t cap, botify_err *err)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->f = f;
	l->cap = cap;
	l->batch = 1;
	l->gzip = f->gzip;
	l->buf = malloc(cap);
	l->spare = malloc(cap);
	if (!l->buf || !l->spare)
		goto nomem;
	if (l->gzip) {
		l->zs = calloc(1, sizeof(z_stream));
		if (!l->zs)
			goto nomem;
		/* raw deflate: the header and trailer are written here */
		if (deflateInit2(l->zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			free(l->zs);
			l->zs = NULL;
			goto nomem;
		}
		l->zcap = deflateBound(l->zs, (uLong)cap) + ZBUF;
		if (!(l->zbuf = malloc(l->zcap)))
			goto nomem;
		/* an empty gzip file already: each write keeps it a whole one */
		l->crc = crc32(0L, Z_NULL, 0);
		unsigned char head[sizeof(GZ_HEADER) + 13];
		memcpy(head, GZ_HEADER, sizeof(GZ_HEADER));
		trailer(head + sizeof(GZ_HEADER), l->crc, 0);
		if (pwrite_all(fd_of(l), head, sizeof(head), 0) != 0) {
			int e = errno;
			botify_servelog_free(l);
			return botify_fail_errno(err, e, "cannot write '%s'", f->path);
		}
		l->good = sizeof(GZ_HEADER);
	}
	return 0;
nomem:
	botify_servelog_free(l);
	return botify_fail(err, BOTIFY_ENOMEM, "out of memory for the log");
}

/* Writes n bytes of rows; by the single writer, without the lock. Plain:
 * the rows at the end of the good part; on failure the file is cut back to
 * it. Gzip: the rows deflated with a sync flush, then a trailer, over the
 * previous trailer; on failure the previous trailer is put back (it fitted
 * before), so the file stays a whole gzip file of the rows written. */
static int write_batch(botify_servelog *l, const char *p, size_t n, botify_err *err)
{
	int fd = fd_of(l);
	if (!l->gzip) {
		if (pwrite_all(fd, p, n, l->good) != 0) {
			int e = errno;
			(void)!ftruncate(fd, (off_t)l->good); /* no cut row at the end */
			return botify_fail_errno(err, e, "cannot write '%s'", l->f->path);
		}
		l->good += (long long)n;
		return 0;
	}
	z_stream *zs = l->zs;
	zs->next_in = (Bytef *)p;
	zs->avail_in = (uInt)n;
	size_t out = 0;
	do {
		if (BOTIFY_ALLOC_GROW(l->zbuf, out + ZBUF + 13, l->zcap, "compressed rows", err))
			return botify_err_prefix(err, "compressing '%s'", l->f->path);
		zs->next_out = l->zbuf + out;
		zs->avail_out = ZBUF;
		deflate(zs, Z_SYNC_FLUSH); /* cannot fail: the stream is valid */
		out += ZBUF - zs->avail_out;
	} while (zs->avail_out == 0);
	unsigned long crc = crc32(l->crc, (const Bytef *)p, (uInt)n);
	unsigned long isize = (l->isize + (unsigned long)n) & 0xffffffffUL;
	trailer(l->zbuf + out, crc, isize);
	if (pwrite_all(fd, l->zbuf, out + 13, l->good) != 0) {
		int e = errno;
		unsigned char t[13];
		trailer(t, l->crc, l->isize);
		(void)!pwrite_all(fd, t, sizeof(t), l->good);
		(void)!ftruncate(fd, (off_t)(l->good + 13));
		return botify_fail_errno(err, e, "cannot write '%s'", l->f->path);
	}
	l->good += (long long)out;
	l->crc = crc;
	l->isize = isize;
	return 0;
}

/* With the lock held and no write running: writes what is buffered. */
static void flush_locked(botify_servelog *l)
{
	if (!l->len || l->failed)
		return;
	l->writing = 1;
	char *b = l->buf;
	l->buf = l->spare;
	l->spare = b;
	size_t n = l->len;
	int64_t rows = l->buf_rows;
	uint64_t batch = l->batch++;
	l->len = 0;
	l->buf_rows = 0;
	pthread_mutex_unlock(&l->mu);
	botify_err e = {0};
	int rc = write_batch(l, l->spare, n, &e);
	pthread_mutex_lock(&l->mu);
	l->writing = 0;
	if (rc == 0) {
		l->done = batch;
		l->rows += rows;
	} else if (!l->failed) {
		l->failed = 1;
		l->err = e;
	}
	pthread_cond_broadcast(&l->cv);
}

int botify_servelog_row(botify_servelog *l, const char *row, size_t n)
{
	pthread_mutex_lock(&l->mu);
	for (;;) {
		if (l->failed) {
			l->lost++;
			pthread_mutex_unlock(&l->mu);
			return -1;
		}
		if (l->len + n <= l->cap)
			break;
		if (!l->writing)
			flush_locked(l);
		else
			pthread_cond_wait(&l->cv, &l->mu);
	}
	memcpy(l->buf + l->len, row, n);
	l->len += n;
	l->buf_rows++;
	uint64_t mine = l->batch;
	while (l->done < mine && !l->failed) {
		if (!l->writing)
			flush_locked(l);
		else
			pthread_cond_wait(&l->cv, &l->mu);
	}
	int rc = l->done >= mine ? 0 : -1;
	if (rc)
		l->lost++;
	pthread_mutex_unlock(&l->mu);
	return rc;
}

int botify_servelog_close(botify_servelog *l, botify_err *err)
{
	botify_outfile *f = l->f;
	pthread_mutex_lock(&l->mu);
	flush_locked(l); /* nothing, normally: every answered row is written */
	pthread_mutex_unlock(&l->mu);
	if (!l->failed) {
		/* the bytes are ours: outfile only syncs, closes and renames (a
		 * raw write of nothing keeps it from adding a gzip member) */
		if (l->gzip && botify_outfile_write_raw(f, "", 0, err) != 0)
			return -1;
		return botify_outfile_commit(f, err);
	}
	/* keep what was written, under a name that says it is not all */
	(void)!fsync(fd_of(l));
	size_t pn = strlen(f->path) + 16;
	char *partial = malloc(pn);
	const char *kept = NULL;
	if (partial && f->tmp) {
		snprintf(partial, pn, "%s.partial", f->path);
		/* link, not rename: an existing .partial is not replaced */
		if (link(f->tmp, partial) == 0) {
			unlink(f->tmp);
			kept = partial;
		} else {
			kept = f->tmp;
		}
	}
	if (kept)
		botify_fail(err, l->err.code, "%s; the %lld calls answered before it are in '%s', "
			    "%lld were refused (503)", l->err.msg, (long long)l->rows, kept,
			    (long long)l->lost);
	else
		*err = l->err;
	if (kept && kept == f->tmp) {
		/* keep the temporary file: outfile would remove it */
		free(f->tmp);
		f->tmp = NULL;
	}
	botify_outfile_abort(f);
	free(partial);
	return -1;
}
