/*
 * outfile.h - output files that are complete or absent.
 *
 * Data goes to a temporary file next to path ("<path>.tmp.<pid>.<random>",
 * see fs.h) and is renamed over path by commit; abort (or a failed write)
 * removes the temporary file. An existing path is refused with BOTIFY_EEXIST
 * unless force; missing parent directories are created. Only a regular file
 * is ever replaced: "-" (stdout), a character device (/dev/null) or a FIFO
 * is written straight through, without a temporary and without --force,
 * and anything else that exists (a directory, a socket) is refused.
 * Paths ending in ".gz" are gzip: either
 * stream bytes through botify_outfile_write (one gzip member, compressed
 * here), or hand over complete gzip members made elsewhere (e.g. by worker
 * threads with botify_gzip_member) with botify_outfile_write_raw. A file uses
 * one of the two, never both.
 */
#ifndef BOTIFY_OUTFILE_H
#define BOTIFY_OUTFILE_H

#include <stddef.h>

#include "err.h"

#include <signal.h>

/* How a file's bytes arrive: the first write decides, and a file keeps it. */
enum botify_outfile_mode {
	BOTIFY_OUTFILE_UNUSED,   /* nothing written yet */
	BOTIFY_OUTFILE_STREAM,   /* botify_outfile_write (compressed here for .gz) */
	BOTIFY_OUTFILE_RAW,      /* botify_outfile_write_raw (whole gzip members) */
};

typedef struct botify_outfile {
	char *path;       /* final name */
	char *tmp;        /* temporary name; NULL when direct, committed or aborted */
	void *fp;         /* FILE * */
	int open;         /* writes are accepted */
	int direct;       /* stdout, a device or a FIFO: no temporary */
	int finished;     /* botify_outfile_finish done: only publish is left */
	int force;
	void *zs;         /* z_stream * while streaming gzip */
	unsigned char *zbuf;
	int gzip;         /* path ends in .gz */
	enum botify_outfile_mode mode;
	size_t bytes;     /* bytes written to disk so far */
	int reg;          /* the temporary's tempreg.h handle + 1; 0 for none */
	int keep;         /* an unnamed file's descriptor + 1, kept past finish; 0 for none */
} botify_outfile;

/* 1 when path ends in ".gz". */
int botify_path_is_gzip(const char *path);

/* Creates the temporary file next to path. Fails with BOTIFY_EEXIST when path
 * exists and !force, BOTIFY_EIO when the directory cannot be created or
 * written or path is neither a regular file, a device nor a FIFO. */
int botify_outfile_open(botify_outfile *f, const char *path, int force, botify_err *err);

/* Appends n bytes (compressed on the fly when f->gzip). */
int botify_outfile_write(botify_outfile *f, const void *buf, size_t n, botify_err *err);

/* Appends bytes as they are: for a .gz path they must be whole gzip members. */
int botify_outfile_write_raw(botify_outfile *f, const void *buf, size_t n, botify_err *err);

/* Finishes compression, flushes, closes and renames over path. On failure the
 * temporary file is removed. Without force the rename never replaces a file
 * that appeared meanwhile. */
int botify_outfile_commit(botify_outfile *f, botify_err *err);

/* commit in two steps, for outputs that must appear together: finish does
 * all that can fail slowly (compression, flush, fsync, close) and keeps the
 * temporary; publish renames it (a direct output has nothing left to do).
 * Both remove the temporary on failure. */
int botify_outfile_finish(botify_outfile *f, botify_err *err);
int botify_outfile_publish(botify_outfile *f, botify_err *err);

/* After this, every write fails with BOTIFY_EINTR "interrupted" once *stop
 * is non-zero, so that a command interrupted while writing takes its usual
 * error path, which removes its temporaries. NULL turns it off. */
void botify_outfile_set_stop(volatile sig_atomic_t *stop);

/* An unnamed file (Linux O_TMPFILE) in the directory dir, for outputs that
 * must leave nothing behind even when the process is killed (SIGKILL): until
 * botify_outfile_link gives it a name, the kernel drops it with the process.
 * path names it in messages only (no check, no --force). Write as usual, then
 * botify_outfile_finish (which fsyncs), then botify_outfile_link. Returns 1,
 * with nothing opened and no error set, when the file system or kernel has
 * no unnamed files: the caller uses named temporaries instead. */
int botify_outfile_open_unnamed(botify_outfile *f, const char *dir, const char *path,
				botify_err *err);

/* Names a finished unnamed file name in the directory dirfd (which must be on
 * its file system) and frees f; an existing name is an error (EEXIST). */
int botify_outfile_link(botify_outfile *f, int dirfd, const char *name, botify_err *err);

/* Closes and removes the temporary file; frees f. Safe after commit and twice. */
void botify_outfile_abort(botify_outfile *f);

/* Compresses n bytes into one complete gzip member appended to *out (grown
 * with realloc; *out_len and *out_cap track it). level is zlib's 1..9. */
int botify_gzip_member(const void *in, size_t n, int level, unsigned char **out,
		       size_t *out_len, size_t *out_cap, botify_err *err);

#endif
