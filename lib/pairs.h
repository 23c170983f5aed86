/*
 * pairs.h - training pairs from event logs (docs/train.md, "Training data").
 *
 * Per user in timestamp order, the first row of a session gives the start
 * track; every later row of that session gives (user, start, track, time):
 * the track played and its listen time. A session ends at a "last" row.
 *
 * A session never spans two files: each log is sessionized on its own (per
 * user, by timestamp, ties in line order) and the files' pairs are
 * concatenated in argument order. Logs of separate simulator runs reuse the
 * same virtual clock, so merging them by timestamp would interleave two
 * sessions of one user into garbage.
 */
#ifndef BOTIFY_PAIRS_H
#define BOTIFY_PAIRS_H

#include <signal.h>
#include <stdint.h>

#include "err.h"

typedef struct botify_pairs {
	int64_t n;             /* pairs */
	int32_t *user;         /* (n) */
	int32_t *start;        /* (n) the session's first track */
	int32_t *track;        /* (n) */
	float *time;           /* (n) listen time of track */
	int64_t n_sessions;    /* sessions with at least one pair */
	int32_t *sess_user;    /* (n_sessions) */
	int32_t *sess_start;   /* (n_sessions) */
	int64_t rows;          /* log rows read */
	int64_t files;
} botify_pairs;

/* Reads the logs into p (its previous content is dropped, not freed).
 * NEEDSWORK: reading into a filled botify_pairs leaks its arrays, since an
 * uninitialized struct cannot be told from a filled one here: callers free
 * it first. Only user, track, time and the session boundaries survive; the
 * rows' other fields (recommendation, latency, arm) are dropped.
 * Users must be in [0, U) and tracks in [0, N) (the world's), else an error
 * "path:line: track 50013 out of range (catalog has 50000 tracks)". stop
 * (may be NULL) is polled to abandon reading (BOTIFY_EINTR). */
int botify_pairs_read(botify_pairs *p, const char *const *paths, int n_paths, int32_t U,
		      int32_t N, volatile sig_atomic_t *stop, botify_err *err);

/* The same, calling progress(ctx, bytes read, bytes in all the files) now
 * and then (compressed bytes for .gz; total 0 when a log is a stream). */
typedef void (*botify_pairs_progress)(void *ctx, uint64_t done, uint64_t total);
int botify_pairs_read_progress(botify_pairs *p, const char *const *paths, int n_paths, int32_t U,
			       int32_t N, volatile sig_atomic_t *stop, botify_pairs_progress progress,
			       void *ctx, botify_err *err);

void botify_pairs_free(botify_pairs *p);

#endif
