/*
 * servelog.h - the log of `botify serve`: every answered call is one row,
 * on disk before the call is answered.
 *
 * Rows are written with group commit: a call appends its row to a shared
 * buffer and waits until a write(2) that holds it has returned; whichever
 * waiting call finds no write in progress writes everything buffered so far.
 * So under load one write carries many calls' rows, and a call is answered
 * only once its row reached the file (the kernel's page cache: a machine
 * crash can still lose it; a full disk cannot lose it silently).
 *
 * A .gz log is one gzip member whose deflate stream is flushed (Z_SYNC_FLUSH)
 * at each write, and each write ends with an empty final block and the gzip
 * trailer, which the next write overwrites: the file is a whole gzip file
 * after every write.
 *
 * When a write fails (a full disk, a file-size limit), the file is put back
 * as it was before that write (cut back, or for gzip the previous trailer
 * rewritten), the rows of that write are reported as not logged, and every
 * later row is refused. What was written stays: at close the file is
 * committed under its name when no write failed, and otherwise renamed to
 * "<path>.partial", which holds exactly the rows whose writes succeeded.
 *
 * The file itself is created by botify_outfile_open (a temporary name next
 * to path); this module writes to its descriptor directly.
 */
#ifndef BOTIFY_SERVELOG_H
#define BOTIFY_SERVELOG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "outfile.h"

typedef struct botify_servelog {
	botify_outfile *f;     /* open, not written to yet */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *buf, *spare;     /* rows waiting; the rows being written */
	size_t len, cap;
	int64_t buf_rows;
	uint64_t batch;        /* number of the batch filling buf */
	uint64_t done;         /* the last batch on disk */
	int writing;
	int failed;
	botify_err err;        /* the failure */
	int64_t rows;          /* rows on disk */
	int64_t lost;          /* rows refused after or by the failure */
	long long good;        /* bytes on disk that hold whole rows */
	/* gzip */
	int gzip;
	void *zs;              /* z_stream * (raw deflate) */
	unsigned char *zbuf;
	size_t zcap;
	unsigned long crc, isize;
} botify_servelog;

/* Takes over f (already open). cap: the largest batch, bytes. */
int botify_servelog_init(botify_servelog *l, botify_outfile *f, size_t cap, botify_err *err);

/* Appends one row (n bytes, ending in '\n') and returns once it is on disk:
 * 0; -1 when it could not be written (this or an earlier write failed). */
int botify_servelog_row(botify_servelog *l, const char *row, size_t n);

/* Call when no row is being added any more. Commits the file (0), or, after
 * a failure, keeps the rows that were written in "<path>.partial" and
 * returns -1 with a message saying so. Either way the outfile is done. */
int botify_servelog_close(botify_servelog *l, botify_err *err);

/* Frees; removes the file if neither committed nor kept. Safe after close
 * and on a zeroed log. */
void botify_servelog_free(botify_servelog *l);

#endif
