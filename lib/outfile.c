/*
 * outfile.c - output files that are complete or absent.
 *
 * Bytes go to "<path>.tmp.<pid>.<random>" and only a commit that flushed, fsynced,
 * closed and renamed without error makes them visible under path (the
 * rdbSave pattern). Any failure removes the temporary file, so a reader never
 * sees half a file and a full disk never passes for a success. A .gz path is
 * one gzip member deflated here, or whole members made by the caller.
 */
#define _GNU_SOURCE /* O_TMPFILE, AT_EMPTY_PATH */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "fs.h"
#include "tempreg.h"

enum { ZBUF_SIZE = 1 << 16, GZ_LEVEL = 6, GZ_WINDOW = 15 + 16 /* gzip wrapper */ };

int botify_path_is_gzip(const char *path)
{
	size_t n = strlen(path);
	return n >= 3 && strcmp(path + n - 3, ".gz") == 0;
}

static volatile sig_atomic_t *stop_flag;

void botify_outfile_set_stop(volatile sig_atomic_t *stop)
{
	stop_flag = stop;
}

/* Closes and removes the temporary file and drops the compressor, but keeps
 * path so that a later write or commit can still name the file. */
static void discard(botify_outfile *f)
{
	if (f->fp && f->fp != stdout)
		fclose(f->fp);
	else if (f->fp)
		fflush(f->fp);
	f->fp = NULL;
	f->open = 0;
	f->finished = 0;
	if (f->tmp)
		unlink(f->tmp);
	botify_tempreg_drop(f->reg - 1); /* after the unlink: a handler in between removes it too */
	f->reg = 0;
	if (f->keep)
		close(f->keep - 1); /* an unnamed file goes with its last descriptor */
	f->keep = 0;
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

/* Opens an existing device or FIFO for writing in place. */
static int open_direct(botify_outfile *f, const char *path, botify_err *err)
{
	if (strcmp(path, "-") == 0) {
		f->fp = stdout;
	} else {
		int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return botify_fail_errno(err, errno, "cannot open '%s' for writing", path);
		struct stat st;
		if (fstat(fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
			close(fd); /* it changed under us: never write into what it became */
			return botify_fail(err, BOTIFY_EIO, "'%s' changed while it was opened", path);
		}
		f->fp = fdopen(fd, "wb");
		if (!f->fp) {
			int e = errno;
			close(fd);
			return botify_fail_errno(err, e, "cannot open '%s' for writing", path);
		}
	}
	f->direct = 1;
	return 0;
}

int botify_outfile_open(botify_outfile *f, const char *path, int force, botify_err *err)
{
	memset(f, 0, sizeof(*f));
	struct stat st;
	int exists = strcmp(path, "-") == 0 || stat(path, &st) == 0;
	int direct = exists && (strcmp(path, "-") == 0 || S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode));
	if (exists && !direct && !S_ISREG(st.st_mode))
		return botify_fail(err, BOTIFY_EIO, "'%s' is %s: botify writes only regular files, devices and FIFOs",
				   path, botify_file_kind(st.st_mode));
	/* a device or a FIFO is written through, never replaced: nothing to force */
	if (exists && !direct && !force)
		return botify_fail(err, BOTIFY_EEXIST, "'%s' exists (use --force to replace it)", path);

	f->path = strdup(path);
	if (!f->path)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory opening '%s'", path);
	f->gzip = botify_path_is_gzip(path);
	f->force = force;
	if (direct) {
		if (open_direct(f, path, err) != 0) {
			botify_outfile_abort(f);
			return -1;
		}
		f->open = 1;
		return 0;
	}
	if (botify_mkdir_parents(path, err) != 0) {
		botify_outfile_abort(f);
		return botify_err_prefix(err, "cannot create '%s'", path);
	}
	size_t n = strlen(path) + 64; /* ".tmp." + a pid + "." + 6 random */
	char *tmp = malloc(n);
	if (!tmp) {
		botify_outfile_abort(f);
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory opening '%s'", path);
	}
	int fd = -1, e = 0;
	for (int tries = 0; fd < 0 && tries < 100; tries++) {
		if (botify_temp_name(tmp, n, path, err) != 0) {
			free(tmp);
			botify_outfile_abort(f);
			return -1;
		}
		/* O_EXCL|O_NOFOLLOW: a name planted in advance is never followed */
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		e = errno;
		if (fd < 0 && e != EEXIST)
			break;
	}
	if (fd >= 0 && !(f->fp = fdopen(fd, "wb"))) {
		e = errno;
		close(fd);
		unlink(tmp);
		fd = -1;
	}
	if (fd < 0) {
		free(tmp);
		botify_outfile_abort(f);
		return botify_fail_errno(err, e, "cannot create '%s'", path);
	}
	f->tmp = tmp;
	/* registered once it exists: a name registered before could be a file
	 * someone else made (O_EXCL failed), which a handler must not remove */
	f->reg = botify_tempreg_add(tmp, BOTIFY_TEMPREG_FILE) + 1;
	f->open = 1;
	return 0;
}

static int not_open(botify_outfile *f, botify_err *err);

int botify_outfile_open_unnamed(botify_outfile *f, const char *dir, const char *path,
				botify_err *err)
{
	memset(f, 0, sizeof(*f));
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	if (fd < 0) {
		/* EISDIR: a kernel older than O_TMPFILE takes it for O_DIRECTORY */
		if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL || errno == ENOSYS)
			return 1;
		return botify_fail_errno(err, errno, "cannot create '%s'", path);
	}
	int keep = fcntl(fd, F_DUPFD_CLOEXEC, 0); /* fclose at finish closes fd */
	f->path = strdup(path);
	f->fp = keep >= 0 && f->path ? fdopen(fd, "wb") : NULL;
	if (!f->fp) {
		int e = keep < 0 ? errno : ENOMEM;
		close(fd);
		if (keep >= 0)
			close(keep);
		botify_outfile_abort(f);
		return botify_fail_errno(err, e, "cannot create '%s'", path);
	}
	f->keep = keep + 1;
	f->gzip = botify_path_is_gzip(path);
	f->open = 1;
	return 0;
}

int botify_outfile_link(botify_outfile *f, int dirfd, const char *name, botify_err *err)
{
	int rc = -1;
	if (!f->finished || !f->keep) {
		rc = not_open(f, err);
		goto out;
	}
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->keep - 1);
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc needs only /proc */
	if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0 ||
	    (errno == ENOENT && linkat(f->keep - 1, "", dirfd, name, AT_EMPTY_PATH) == 0))
		rc = 0;
	else
		botify_fail_errno(err, errno, "cannot create '%s'", f->path);
out:
	botify_outfile_abort(f);
	return rc;
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
	if (stop_flag && *stop_flag) {
		discard(f);
		return botify_fail(err, BOTIFY_EINTR, "interrupted");
	}
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
	f->mode = BOTIFY_OUTFILE_STREAM;
	return 0;
}

int botify_outfile_write(botify_outfile *f, const void *buf, size_t n, botify_err *err)
{
	if (!f->open || f->finished)
		return not_open(f, err);
	if (!f->gzip)
		return put(f, buf, n, err);
	if (f->mode == BOTIFY_OUTFILE_RAW)
		return botify_fail(err, BOTIFY_EINVAL, "'%s': streamed write after raw gzip members", f->path);
	if (f->mode == BOTIFY_OUTFILE_UNUSED && start_stream(f, err) != 0)
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
	if (!f->open || f->finished)
		return not_open(f, err);
	if (f->mode == BOTIFY_OUTFILE_STREAM)
		return botify_fail(err, BOTIFY_EINVAL, "'%s': raw write after streamed gzip data", f->path);
	f->mode = BOTIFY_OUTFILE_RAW;
	return put(f, buf, n, err);
}

int botify_outfile_finish(botify_outfile *f, botify_err *err)
{
	if (!f->open || f->finished) {
		not_open(f, err);
		botify_outfile_abort(f);
		return -1;
	}
	/* an empty .gz output is still one valid (empty) gzip member */
	if (f->gzip && f->mode != BOTIFY_OUTFILE_RAW) {
		if (f->mode == BOTIFY_OUTFILE_UNUSED && start_stream(f, err) != 0)
			goto fail;
		if (pump(f, Z_FINISH, err) != 0)
			goto fail;
	}
	/* stdio buffers: a full disk may only show at fflush or fclose */
	if (fflush(f->fp) != 0 || (!f->direct && fsync(fileno(f->fp)) != 0)) {
		botify_fail_errno(err, errno, "cannot write '%s'", f->path);
		goto fail;
	}
	FILE *fp = f->fp;
	f->fp = NULL; /* fclose releases it even when it fails */
	if (fp != stdout && fclose(fp) != 0) {
		botify_fail_errno(err, errno, "cannot write '%s'", f->path);
		goto fail;
	}
	f->finished = 1;
	return 0;
fail:
	botify_outfile_abort(f);
	return -1;
}

int botify_outfile_publish(botify_outfile *f, botify_err *err)
{
	int rc = -1;
	if (!f->finished || f->keep) { /* an unnamed file is named by botify_outfile_link */
		rc = not_open(f, err);
		goto out;
	}
	if (f->direct) {
		rc = 0;
		goto out;
	}
	/* the path may have become something else since open: replace only a
	 * regular file (or a symlink, which rename replaces, not follows) */
	struct stat st;
	if (lstat(f->path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
		botify_fail(err, BOTIFY_EIO, "'%s' is %s now: not replacing it", f->path,
			    botify_file_kind(st.st_mode));
		goto out;
	}
	/* a signal handler removed the temporaries (the process is ending): a
	 * rename now would fail on the missing file, or publish it half */
	if (botify_tempreg_removed(f->reg - 1)) {
		botify_fail(err, BOTIFY_EINTR, "interrupted");
		goto out;
	}
	if (!f->force) {
		/* link fails on an existing name: no check-then-rename race */
		if (link(f->tmp, f->path) == 0) {
			unlink(f->tmp);
			free(f->tmp);
			f->tmp = NULL;
			rc = 0;
			goto out;
		}
		if (errno == EEXIST) {
			botify_fail(err, BOTIFY_EEXIST, "'%s' exists (use --force to replace it)", f->path);
			goto out;
		}
		/* file systems without hard links: the check at open must do */
	}
	if (rename(f->tmp, f->path) != 0) {
		if (errno == ENOENT && botify_tempreg_removed(f->reg - 1))
			botify_fail(err, BOTIFY_EINTR, "interrupted");
		else
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

int botify_outfile_commit(botify_outfile *f, botify_err *err)
{
	if (botify_outfile_finish(f, err) != 0)
		return -1;
	return botify_outfile_publish(f, err);
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
