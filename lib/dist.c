/*
 * dist.c - the job's ranks: Open MPI when built with BOTIFY_MPI, otherwise
 * a job of one process.
 */
#include "dist.h"

#include <stdlib.h>
#include <string.h>

static int g_handed_over;

void botify_dist_set_handed_over(void)
{
	g_handed_over = 1;
}

int botify_dist_handed_over(void)
{
	return g_handed_over;
}

#ifdef BOTIFY_MPI

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

enum { TAG_DATA = 1 };

static int g_rank, g_size = 1, g_up;
static char g_library[MPI_MAX_LIBRARY_VERSION_STRING + 1];

static int g_parent_signal;

/* A second Ctrl-C of mpirun (or a wrapper such as timeout that passes the
 * first on again) makes it exit at once, without signalling the ranks: each
 * is in its own process group, so the terminal's SIGINT never reaches it,
 * and about a second later Open MPI's progress thread, finding mpirun gone,
 * calls _exit with no botify code run. The kernel's signal at the death of
 * the launcher is the only warning a rank gets. Only under Open MPI's own
 * launcher (mpirun, orted): a singleton's parent is a shell, whose end must
 * not end a run started with nohup. */
static void watch_launcher(void)
{
#ifdef __linux__
	if (!getenv("OMPI_COMM_WORLD_SIZE"))
		return;
	/* the kernel signals at the death of the thread that forked us, not
	 * of the process: Open MPI 4.1's mpirun forks the ranks from its main
	 * thread, which lives as long as it does */
	static const char *const launchers[] = { "mpirun", "mpiexec", "orterun", "orted", NULL };
	char path[64], comm[32] = "";
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)getppid());
	FILE *fp = fopen(path, "r");
	if (!fp)
		return;
	if (!fgets(comm, sizeof(comm), fp))
		comm[0] = '\0';
	fclose(fp);
	comm[strcspn(comm, "\n")] = '\0';
	for (const char *const *l = launchers; *l; l++)
		if (strcmp(comm, *l) == 0 && prctl(PR_SET_PDEATHSIG, BOTIFY_DIST_PARENT_SIGNAL) == 0)
			g_parent_signal = BOTIFY_DIST_PARENT_SIGNAL;
#endif
}

int botify_dist_parent_signal(void)
{
	return g_parent_signal;
}

int botify_dist_init(int *argc, char ***argv, botify_err *err)
{
	int provided = 0;
	if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
		return botify_fail(err, BOTIFY_ERUNTIME, "MPI_Init_thread failed");
	g_up = 1;
	if (provided < MPI_THREAD_FUNNELED)
		return botify_fail(err, BOTIFY_ERUNTIME, "the MPI library does not allow threads");
	MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
	MPI_Comm_size(MPI_COMM_WORLD, &g_size);
	watch_launcher();
	return 0;
}

void botify_dist_finalize(void)
{
	if (g_up)
		MPI_Finalize();
	g_up = 0;
}

void botify_dist_abort(int code)
{
	if (g_up && g_size > 1)
		MPI_Abort(MPI_COMM_WORLD, code);
}

void botify_dist_await_abort(int code, int timeout)
{
	if (!g_up || g_size < 2)
		return;
	const struct timespec nap = { 0, 100000000 };
	for (int i = 0; i < timeout * 10; i++)
		nanosleep(&nap, NULL);
	MPI_Abort(MPI_COMM_WORLD, code);
}

int botify_dist_rank(void)
{
	return g_rank;
}

int botify_dist_size(void)
{
	return g_size;
}

const char *botify_dist_library(void)
{
	if (!g_library[0]) {
		int len = 0;
		char v[MPI_MAX_LIBRARY_VERSION_STRING];
		MPI_Get_library_version(v, &len);
		/* the first line, without the build details that follow a comma */
		int n = 0;
		while (n < len && v[n] && v[n] != '\n' && v[n] != ',')
			n++;
		snprintf(g_library, sizeof(g_library), "%.*s", n, v);
	}
	return g_library;
}

int botify_dist_bcast_int(int *v, botify_err *err)
{
	if (g_size > 1 && MPI_Bcast(v, 1, MPI_INT, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
		return botify_fail(err, BOTIFY_ERUNTIME, "MPI_Bcast failed");
	return 0;
}

int botify_dist_allgather_parts(const botify_dist_part *parts, int n, botify_err *err)
{
	if (g_size == 1)
		return 0;
	if (n < 0 || n > BOTIFY_DIST_MAX_PARTS)
		BOTIFY_BUG("%d parts in one exchange", n);
	int *counts = botify_malloc((size_t)g_size * (size_t)(n ? n : 1), 2 * sizeof(int), "MPI exchange",
				    err);
	if (!counts)
		return -1;
	MPI_Datatype types[BOTIFY_DIST_MAX_PARTS];
	MPI_Request reqs[BOTIFY_DIST_MAX_PARTS];
	int started = 0, rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		const botify_dist_part *pt = &parts[i];
		if (pt->unit == 0)
			continue;
		if (pt->bounds[g_size] > INT_MAX || pt->unit > INT_MAX) {
			rc = botify_fail(err, BOTIFY_EINVAL, "MPI exchange of %lld parts of %zu bytes is too large",
					 (long long)pt->bounds[g_size], pt->unit);
			break;
		}
		int *c = counts + (size_t)2 * g_size * started, *d = c + g_size;
		for (int r = 0; r < g_size; r++) {
			c[r] = (int)(pt->bounds[r + 1] - pt->bounds[r]);
			d[r] = (int)pt->bounds[r];
		}
		if (MPI_Type_contiguous((int)pt->unit, MPI_BYTE, &types[started]) != MPI_SUCCESS ||
		    MPI_Type_commit(&types[started]) != MPI_SUCCESS ||
		    MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, pt->buf, c, d, types[started],
				    MPI_COMM_WORLD, &reqs[started]) != MPI_SUCCESS)
			rc = botify_fail(err, BOTIFY_ERUNTIME, "MPI_Iallgatherv failed");
		started++;
	}
	/* the exchanges run together and are waited for at once, sleeping
	 * between tests: a blocking collective spins, taking the core that a
	 * rank still computing (on a shared or oversubscribed node) needs */
	struct timespec nap = { 0, 20000 };
	for (int done = 0; rc == 0 && !done;) {
		if (MPI_Testall(started, reqs, &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
			rc = botify_fail(err, BOTIFY_ERUNTIME, "MPI_Iallgatherv failed");
		else if (!done)
			nanosleep(&nap, NULL);
	}
	for (int i = 0; i < started; i++)
		MPI_Type_free(&types[i]);
	free(counts);
	return rc;
}

/* Waits for req without spinning a core that the rank's threads need: naps
 * from 20 us growing to max_nap_us. A collective that may wait for another
 * rank's whole share of work (a gzip log parsed by one rank) naps up to
 * 2 ms, as waking 10 000 times a second for it costs the others CPU;
 * simulate's chunk messages nap at most 100 us, as each wait's latency adds
 * up over the chunks. */
static int wait_req(MPI_Request *req, volatile sig_atomic_t *stop, volatile sig_atomic_t *cancel,
		    long max_nap_us, const char *what, botify_err *err)
{
	struct timespec nap = { 0, 20000 };
	for (;;) {
		int done = 0;
		if (MPI_Test(req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
			return botify_fail(err, BOTIFY_ERUNTIME, "MPI %s failed", what);
		if (done)
			return 0;
		if (stop && *stop) {
			/* the job ends right after; the request is left to MPI_Abort */
			return botify_fail(err, BOTIFY_EINTR, "interrupted");
		}
		if (cancel && *cancel)
			return botify_fail(err, BOTIFY_ERUNTIME, "MPI %s cancelled", what);
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < max_nap_us * 1000)
			nap.tv_nsec += nap.tv_nsec / 2;
	}
}

int botify_dist_allgather_bytes(void *buf, size_t bytes, botify_err *err)
{
	if (g_size == 1)
		return 0;
	if (bytes > INT_MAX)
		return botify_fail(err, BOTIFY_EINVAL, "MPI exchange of %zu bytes per rank is too large", bytes);
	MPI_Request req;
	if (MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, (int)bytes, MPI_BYTE, MPI_COMM_WORLD,
			   &req) != MPI_SUCCESS ||
	    wait_req(&req, NULL, NULL, 2000, "allgather", err) != 0)
		return botify_fail(err, BOTIFY_ERUNTIME, "MPI_Iallgather failed");
	return 0;
}

int botify_dist_alltoallv(const void *send, const size_t *send_n, size_t unit, void **recv,
			  size_t *recv_n, botify_err *err)
{
	int n = g_size;
	uint64_t *counts = botify_calloc((size_t)n, 2 * sizeof(*counts), "MPI exchange", err);
	int *ci = botify_calloc((size_t)n, 4 * sizeof(*ci), "MPI exchange", err);
	MPI_Datatype type;
	MPI_Request req;
	int rc = 0, typed = 0;
	*recv = NULL;
	if (!counts || !ci) {
		rc = -1;
		goto out;
	}
	for (int r = 0; r < n; r++)
		counts[r] = send_n[r];
	if (MPI_Ialltoall(counts, 1, MPI_UINT64_T, counts + n, 1, MPI_UINT64_T, MPI_COMM_WORLD, &req) !=
		    MPI_SUCCESS ||
	    wait_req(&req, NULL, NULL, 2000, "exchange of counts", err) != 0) {
		rc = botify_fail(err, BOTIFY_ERUNTIME, "MPI_Ialltoall failed");
		goto out;
	}
	uint64_t out = 0, in = 0;
	int *sc = ci, *sd = ci + n, *rcn = ci + 2 * n, *rd = ci + 3 * n;
	for (int r = 0; r < n; r++) {
		sc[r] = (int)counts[r];
		sd[r] = (int)out;
		rcn[r] = (int)counts[n + r];
		rd[r] = (int)in;
		out += counts[r];
		in += counts[n + r];
		recv_n[r] = (size_t)counts[n + r];
	}
	/* every rank checks the same sums of what it sends and receives; a
	 * rank over the limit fails alone, and the job ends with it */
	if (out > INT_MAX || in > INT_MAX || unit > INT_MAX) {
		rc = botify_fail(err, BOTIFY_EINVAL, "MPI exchange of %llu units of %zu bytes is too large",
				 (unsigned long long)(out > in ? out : in), unit);
		goto out;
	}
	if (!(*recv = botify_malloc(in ? (size_t)in : 1, unit, "MPI exchange", err))) {
		rc = -1;
		goto out;
	}
	if (MPI_Type_contiguous((int)unit, MPI_BYTE, &type) != MPI_SUCCESS ||
	    MPI_Type_commit(&type) != MPI_SUCCESS) {
		rc = botify_fail(err, BOTIFY_ERUNTIME, "MPI_Type_commit failed");
		goto out;
	}
	typed = 1;
	if (MPI_Ialltoallv(send, sc, sd, type, *recv, rcn, rd, type, MPI_COMM_WORLD, &req) != MPI_SUCCESS ||
	    wait_req(&req, NULL, NULL, 2000, "exchange", err) != 0)
		rc = botify_fail(err, BOTIFY_ERUNTIME, "MPI_Ialltoallv failed");
out:
	if (typed)
		MPI_Type_free(&type);
	if (rc != 0) {
		free(*recv);
		*recv = NULL;
	}
	free(counts);
	free(ci);
	return rc;
}

int botify_dist_bcast_bytes(void *buf, size_t bytes, int root, botify_err *err)
{
	char *p = buf;
	while (g_size > 1 && bytes > 0) { /* MPI counts are ints */
		int n = bytes > INT_MAX ? INT_MAX : (int)bytes;
		MPI_Request req;
		if (MPI_Ibcast(p, n, MPI_BYTE, root, MPI_COMM_WORLD, &req) != MPI_SUCCESS ||
		    wait_req(&req, NULL, NULL, 2000, "broadcast", err) != 0)
			return botify_fail(err, BOTIFY_ERUNTIME, "MPI_Ibcast failed");
		p += n;
		bytes -= (size_t)n;
	}
	return 0;
}

int botify_dist_agree(int failed, volatile sig_atomic_t *stop, botify_err *err)
{
	/* rank 0's own failure needs no agreement: it reports it, cleans up
	 * and ends the job, which ends the ranks waiting here */
	if (g_size < 2 || (failed && g_rank == 0))
		return failed ? -1 : 0;
	/* the lowest failing rank, or g_size for none. Every rank comes here
	 * whatever happened (an interrupted set-up fails), so the collective
	 * ends; but rank 0 stops waiting on *stop (Ctrl-C of mpirun), to
	 * remove its temporaries and end the job before Open MPI kills it,
	 * while the others wait for that */
	int mine = failed ? g_rank : g_size, first = g_size;
	MPI_Request req;
	if (MPI_Iallreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD, &req) != MPI_SUCCESS ||
	    wait_req(&req, g_rank == 0 ? stop : NULL, NULL, 100, "reduction", err) != 0)
		return -1;
	if (first == g_size)
		return 0;
	botify_err why = { .code = BOTIFY_ERUNTIME };
	if (first == g_rank)
		why = *err;
	if (MPI_Ibcast(&why, (int)sizeof(why), MPI_BYTE, first, MPI_COMM_WORLD, &req) != MPI_SUCCESS ||
	    wait_req(&req, NULL, NULL, 100, "broadcast", err) != 0)
		return -1;
	if (first != g_rank) {
		why.msg[sizeof(why.msg) - 1] = 0;
		*err = why;
		botify_err_prefix(err, "rank %d", first);
	}
	if (g_rank != 0)
		botify_dist_set_handed_over();
	return -1;
}

int botify_dist_send(int dest, const void *buf, size_t len, volatile sig_atomic_t *stop,
		     volatile sig_atomic_t *cancel, botify_err *err)
{
	const char *p = buf;
	do { /* MPI counts are ints: big buffers go in pieces */
		int n = len > INT_MAX ? INT_MAX : (int)len;
		MPI_Request req;
		if (MPI_Isend(p, n, MPI_BYTE, dest, TAG_DATA, MPI_COMM_WORLD, &req) != MPI_SUCCESS)
			return botify_fail(err, BOTIFY_ERUNTIME, "MPI send to rank %d failed", dest);
		if (wait_req(&req, stop, cancel, 100, "send", err) != 0)
			return -1;
		p += n;
		len -= (size_t)n;
	} while (len > 0);
	return 0;
}

int botify_dist_recv(int src, void *buf, size_t len, volatile sig_atomic_t *stop,
		     volatile sig_atomic_t *cancel, botify_err *err)
{
	char *p = buf;
	do {
		int n = len > INT_MAX ? INT_MAX : (int)len;
		MPI_Request req;
		if (MPI_Irecv(p, n, MPI_BYTE, src, TAG_DATA, MPI_COMM_WORLD, &req) != MPI_SUCCESS)
			return botify_fail(err, BOTIFY_ERUNTIME, "MPI receive from rank %d failed", src);
		if (wait_req(&req, stop, cancel, 100, "receive", err) != 0)
			return -1;
		p += n;
		len -= (size_t)n;
	} while (len > 0);
	return 0;
}

#else /* a job of one process */

int botify_dist_init(int *argc, char ***argv, botify_err *err)
{
	(void)argc;
	(void)argv;
	(void)err;
	return 0;
}

void botify_dist_finalize(void)
{
}

void botify_dist_abort(int code)
{
	(void)code;
}

int botify_dist_parent_signal(void)
{
	return 0;
}

void botify_dist_await_abort(int code, int timeout)
{
	(void)code;
	(void)timeout;
}

int botify_dist_rank(void)
{
	return 0;
}

int botify_dist_size(void)
{
	return 1;
}

const char *botify_dist_library(void)
{
	return NULL;
}

int botify_dist_bcast_int(int *v, botify_err *err)
{
	(void)v;
	(void)err;
	return 0;
}

int botify_dist_allgather_parts(const botify_dist_part *parts, int n, botify_err *err)
{
	(void)parts;
	(void)n;
	(void)err;
	return 0;
}

int botify_dist_alltoallv(const void *send, const size_t *send_n, size_t unit, void **recv,
			  size_t *recv_n, botify_err *err)
{
	/* a job of one sends to itself */
	size_t bytes;
	if (botify_size_mul(send_n[0], unit, &bytes) != 0)
		return botify_fail(err, BOTIFY_ENOMEM, "exchange of %zu units is too large", send_n[0]);
	if (!(*recv = botify_malloc(bytes ? bytes : 1, 1, "exchange", err)))
		return -1;
	if (bytes)
		memcpy(*recv, send, bytes);
	recv_n[0] = send_n[0];
	return 0;
}

int botify_dist_allgather_bytes(void *buf, size_t bytes, botify_err *err)
{
	(void)buf;
	(void)bytes;
	(void)err;
	return 0;
}

int botify_dist_bcast_bytes(void *buf, size_t bytes, int root, botify_err *err)
{
	(void)buf;
	(void)bytes;
	(void)root;
	(void)err;
	return 0;
}

int botify_dist_agree(int failed, volatile sig_atomic_t *stop, botify_err *err)
{
	(void)stop;
	(void)err;
	return failed ? -1 : 0;
}

/* A job of one has no other rank to talk to: a caller that asks is wrong. */
int botify_dist_send(int dest, const void *buf, size_t len, volatile sig_atomic_t *stop,
		     volatile sig_atomic_t *cancel, botify_err *err)
{
	(void)buf;
	(void)len;
	(void)stop;
	(void)cancel;
	return botify_fail(err, BOTIFY_EINVAL, "no rank %d: botify was built without MPI", dest);
}

int botify_dist_recv(int src, void *buf, size_t len, volatile sig_atomic_t *stop,
		     volatile sig_atomic_t *cancel, botify_err *err)
{
	(void)buf;
	(void)len;
	(void)stop;
	(void)cancel;
	return botify_fail(err, BOTIFY_EINVAL, "no rank %d: botify was built without MPI", src);
}

#endif
