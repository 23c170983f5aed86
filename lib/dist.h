/*
 * dist.h - running one botify job as several processes (MPI ranks).
 *
 * Built with BOTIFY_MPI (make MPI=1) these wrap Open MPI; without it the
 * same API describes a world of one process (rank 0 of 1), so callers have
 * no #ifdef. Only the thread that called botify_dist_init may call the
 * others (MPI_THREAD_FUNNELED). Messages are raw bytes: every rank must run
 * the same build on the same architecture (byte order, struct layout).
 */
#ifndef BOTIFY_DIST_H
#define BOTIFY_DIST_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Joins the job (MPI_Init_thread) when started by mpirun or srun; a plain
 * start is a job of one. Call once, first thing in main. */
int botify_dist_init(int *argc, char ***argv, botify_err *err);

/* Leaves the job after a normal end (MPI_Finalize); a no-op without MPI. */
void botify_dist_finalize(void);

/* Ends every rank of the job with exit status code (MPI_Abort), for a
 * failure on this rank that the others cannot know of. Returns only when
 * the job is one process (or MPI is not running), so the caller can exit. */
void botify_dist_abort(int code);

int botify_dist_rank(void);
int botify_dist_size(void);

/* Under Open MPI's launcher on Linux, the kernel sends this rank
 * BOTIFY_DIST_PARENT_SIGNAL (SIGHUP: nobody is left to hear the result) when
 * the launcher dies, e.g. mpirun ending at once on a second Ctrl-C; Open
 * MPI itself ends the rank a second later without warning. The command's
 * handler should remove its temporaries and exit. Returns that signal, or
 * 0 when nothing asked for it (no MPI, a singleton, another launcher). */
#define BOTIFY_DIST_PARENT_SIGNAL SIGHUP
int botify_dist_parent_signal(void);

/* "Open MPI v4.1.4" (the library linked in), or NULL in a build without MPI. */
const char *botify_dist_library(void);

/* Rank 0's *v on every rank. */
int botify_dist_bcast_int(int *v, botify_err *err);

/* A collective: every rank calls it, in the same order, from the thread
 * that called botify_dist_init. Part i: rank r holds units
 * [bounds[r], bounds[r + 1]) of buf (unit bytes each; bounds has size + 1
 * entries, the same on every rank); on return every rank holds all of
 * them (MPI_Iallgatherv, all parts at once). Nothing is summed, so what
 * the caller adds up from the parts does not depend on MPI's reduction
 * order. The wait sleeps between tests rather than spinning a core. */
#define BOTIFY_DIST_MAX_PARTS 8
typedef struct botify_dist_part {
	void *buf;
	size_t unit;          /* bytes per unit; 0: nothing to exchange */
	const int64_t *bounds;
} botify_dist_part;
int botify_dist_allgather_parts(const botify_dist_part *parts, int n, botify_err *err);

/* Collectives on bytes; every rank calls them in the same order, and their
 * waits sleep between tests, longer as a wait goes on.
 * botify_dist_allgather_bytes: buf holds a slot of bytes per rank, this
 * rank's filled; on return every slot is.
 * botify_dist_alltoallv: send holds, in rank order, send_n[d] units of
 * unit bytes for each rank d; *recv (malloc'd, the caller frees it) gets
 * recv_n[s] units from each rank s, in rank order. A pair's count and every
 * rank's total must stay below 2^31 units. botify_dist_bcast_bytes: root's
 * bytes into every rank's buf. */
int botify_dist_allgather_bytes(void *buf, size_t bytes, botify_err *err);
int botify_dist_alltoallv(const void *send, const size_t *send_n, size_t unit, void **recv,
			  size_t *recv_n, botify_err *err);
int botify_dist_bcast_bytes(void *buf, size_t bytes, int root, botify_err *err);

/* This rank's failure was handed to rank 0, which reports it and ends the
 * job: the failing rank should wait for that (botify_dist_await_abort)
 * rather than end the job itself before rank 0 has cleaned up. The episode
 * loop and export hand over a failure in place of their next chunk, and
 * botify_dist_agree one of a set-up. */
void botify_dist_set_handed_over(void);
int botify_dist_handed_over(void);
/* The end of a set-up, as a collective: every rank says whether its set-up
 * failed (failed != 0, err holding why) and learns whether any did. Returns
 * 0 when none did. Otherwise -1 with err set to the failure of the lowest
 * failing rank (prefixed "rank R: " unless R is this rank), and every rank
 * but 0 marked handed over: rank 0 reports the failure, removes what it has
 * begun to write and ends the job, and the others wait for that
 * (botify_dist_await_abort) rather than end the job first. Every rank must
 * call it, failed or not, except that rank 0's own failure returns -1 at
 * once (rank 0 ends the job, and with it the ranks waiting here: a refused
 * output is said without waiting for the others' set-up). Rank 0 also
 * stops waiting once *stop is set (may be NULL; BOTIFY_EINTR), to clean up
 * and end the job itself. A job of one returns at once. */
int botify_dist_agree(int failed, volatile sig_atomic_t *stop, botify_err *err);

/* Waits for rank 0 to end the job, and ends it with code if it has not
 * within timeout seconds. Returns at once in a job of one. */
void botify_dist_await_abort(int code, int timeout);

/* Point to point, in order between a pair of ranks. Both poll (sleeping
 * between tests rather than spinning a core, as a blocking MPI call would)
 * and give up once *stop (a signal: BOTIFY_EINTR) or *cancel (another
 * thread failed: BOTIFY_ERUNTIME) is set; either may be NULL. The job must
 * then end (botify_dist_abort): the transfer is left half done.
 * botify_dist_recv receives exactly len bytes. */
int botify_dist_send(int dest, const void *buf, size_t len, volatile sig_atomic_t *stop,
		     volatile sig_atomic_t *cancel, botify_err *err);
int botify_dist_recv(int src, void *buf, size_t len, volatile sig_atomic_t *stop,
		     volatile sig_atomic_t *cancel, botify_err *err);

#endif
