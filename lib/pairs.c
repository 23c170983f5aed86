/*
 * pairs.c - sessionizing logs into training pairs.
 */
#include "pairs.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eventlog.h"

/* one log row, as much as sessionizing needs */
struct row {
	int64_t timestamp;
	int64_t seq;      /* line order within the file: breaks timestamp ties */
	int32_t user;
	int32_t track;
	float time;
	uint8_t last;
};

static int by_user_time(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	if (a->user != b->user)
		return a->user < b->user ? -1 : 1;
	if (a->timestamp != b->timestamp)
		return a->timestamp < b->timestamp ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

static int grow(void **ptr, int64_t *cap, int64_t need, size_t size, const char *what,
		botify_err *err)
{
	if (need <= *cap)
		return 0;
	int64_t c = *cap ? *cap : 4096;
	while (c < need)
		c *= 2;
	void *q = botify_realloc(*ptr, (size_t)c, size, what, err);
	if (!q)
		return -1;
	*ptr = q;
	*cap = c;
	return 0;
}

/* capacities of p's arrays (not part of the public struct) */
struct caps {
	int64_t pairs, sessions;
};

static int reserve_pairs(botify_pairs *p, struct caps *c, int64_t need, botify_err *err)
{
	if (need <= c->pairs)
		return 0;
	int64_t cap = c->pairs;
	if (grow((void **)&p->user, &cap, need, sizeof(int32_t), "pairs", err))
		return -1;
	cap = c->pairs;
	if (grow((void **)&p->start, &cap, need, sizeof(int32_t), "pairs", err))
		return -1;
	cap = c->pairs;
	if (grow((void **)&p->track, &cap, need, sizeof(int32_t), "pairs", err))
		return -1;
	cap = c->pairs;
	if (grow((void **)&p->time, &cap, need, sizeof(float), "pairs", err))
		return -1;
	c->pairs = cap;
	return 0;
}

static int reserve_sessions(botify_pairs *p, struct caps *c, int64_t need, botify_err *err)
{
	if (need <= c->sessions)
		return 0;
	int64_t cap = c->sessions;
	if (grow((void **)&p->sess_user, &cap, need, sizeof(int32_t), "sessions", err))
		return -1;
	cap = c->sessions;
	if (grow((void **)&p->sess_start, &cap, need, sizeof(int32_t), "sessions", err))
		return -1;
	c->sessions = cap;
	return 0;
}

/* Progress over all the files: bytes of the files done plus the current
 * one's offset, of their sizes (0 when a size is unknown: a stream). */
struct read_progress {
	botify_pairs_progress fn;
	void *ctx;
	uint64_t done, total;
};

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
}

/* Reads one file's rows into *rows (grown as needed). */
static int read_rows(const char *path, int32_t U, int32_t N, struct row **rows, int64_t *n,
		     int64_t *cap, volatile sig_atomic_t *stop, struct read_progress *pr, botify_err *err)
{
	botify_eventlog_reader r;
	botify_event e;
	int more;
	*n = 0;
	if (botify_eventlog_open(&r, path, NULL, err) != 0)
		return -1;
	while ((more = botify_eventlog_next(&r, &e, err)) == 1) {
		if (pr->fn && (r.rows & 0xffff) == 0)
			pr->fn(pr->ctx, pr->done + botify_eventlog_offset(&r), pr->total);
		if (stop && *stop) {
			botify_eventlog_close(&r);
			return botify_fail(err, BOTIFY_EINTR, "interrupted while reading %s", path);
		}
		if (e.track >= N) {
			botify_fail(err, BOTIFY_ERANGE, "%s:%zu: track %d out of range (catalog has %d tracks)",
				    path, r.in.lineno, e.track, N);
			more = -1;
			break;
		}
		if (e.user >= U) {
			botify_fail(err, BOTIFY_ERANGE, "%s:%zu: user %lld out of range (world has %d users)",
				    path, r.in.lineno, (long long)e.user, U);
			more = -1;
			break;
		}
		if (grow((void **)rows, cap, *n + 1, sizeof(struct row), "log rows", err)) {
			more = -1;
			break;
		}
		(*rows)[*n] = (struct row){ e.timestamp, *n, (int32_t)e.user, e.track, (float)e.time,
					    e.message == BOTIFY_MSG_LAST };
		(*n)++;
	}
	botify_eventlog_close(&r);
	return more < 0 ? -1 : 0;
}

int botify_pairs_read(botify_pairs *p, const char *const *paths, int n_paths, int32_t U,
		      int32_t N, volatile sig_atomic_t *stop, botify_err *err)
{
	return botify_pairs_read_progress(p, paths, n_paths, U, N, stop, NULL, NULL, err);
}

int botify_pairs_read_progress(botify_pairs *p, const char *const *paths, int n_paths, int32_t U,
			       int32_t N, volatile sig_atomic_t *stop, botify_pairs_progress progress,
			       void *ctx, botify_err *err)
{
	struct row *rows = NULL;
	int64_t n_rows = 0, cap_rows = 0;
	struct caps c = { 0, 0 };
	int rc = -1;
	struct read_progress pr = { progress, ctx, 0, 0 };
	memset(p, 0, sizeof(*p));
	for (int f = 0; progress && f < n_paths; f++)
		pr.total += file_size(paths[f]);
	for (int f = 0; f < n_paths; f++) {
		if (read_rows(paths[f], U, N, &rows, &n_rows, &cap_rows, stop, &pr, err) != 0)
			goto out;
		pr.done += file_size(paths[f]);
		if (progress)
			progress(ctx, pr.done, pr.total);
		p->rows += n_rows;
		p->files++;
		if (n_rows > 1) /* an empty log has no rows array: qsort(NULL, 0) is undefined */
			qsort(rows, (size_t)n_rows, sizeof(*rows), by_user_time);
		int32_t start = -1, user = -1;
		int64_t in_session = 0; /* pairs of the current session so far */
		for (int64_t i = 0; i < n_rows; i++) {
			const struct row *r = &rows[i];
			if (r->user != user) { /* a user's unfinished session ends with the file */
				user = r->user;
				start = -1;
			}
			if (start < 0) {
				start = r->track;
				in_session = 0;
			} else {
				if (reserve_pairs(p, &c, p->n + 1, err) != 0)
					goto out;
				p->user[p->n] = r->user;
				p->start[p->n] = start;
				p->track[p->n] = r->track;
				p->time[p->n] = r->time;
				p->n++;
				if (in_session++ == 0) {
					if (reserve_sessions(p, &c, p->n_sessions + 1, err) != 0)
						goto out;
					p->sess_user[p->n_sessions] = r->user;
					p->sess_start[p->n_sessions] = start;
					p->n_sessions++;
				}
			}
			if (r->last)
				start = -1;
		}
	}
	rc = 0;
out:
	free(rows);
	if (rc != 0)
		botify_pairs_free(p);
	return rc;
}

void botify_pairs_free(botify_pairs *p)
{
	free(p->user);
	free(p->start);
	free(p->track);
	free(p->time);
	free(p->sess_user);
	free(p->sess_start);
	memset(p, 0, sizeof(*p));
}
