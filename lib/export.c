/*
 * export.c - item vectors and top-K lists from a model.
 */
#include "export.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "jsonfmt.h"
#include "outfile.h"
#include "topk.h"

/* rows per top-k batch: many blocks of queries for the threads to share,
 * small enough for a progress bar to move every second or so on 50 000
 * tracks */
enum { CHUNK = 1024 };

static void (*progress_fn)(void *ctx, int64_t done, int64_t total);
static void *progress_ctx;

void botify_export_set_progress(void (*fn)(void *ctx, int64_t done, int64_t total), void *ctx)
{
	progress_fn = fn;
	progress_ctx = ctx;
}

static void progress(int64_t done, int64_t total)
{
	if (progress_fn)
		progress_fn(progress_ctx, done, total);
}

/* The largest magnitude in x, or -1 when x holds a NaN or an infinity. */
static double max_abs(const float *x, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			return -1;
		double a = fabs((double)x[i]);
		if (a > m)
			m = a;
	}
	return m;
}

/* Inner products of vectors up to qmax and imax in dims dims stay finite in
 * float32 (a bound, not the exact maximum): otherwise the top-K lists would
 * be ties of infinities, exported as if they meant something. */
static int check_scores(double qmax, double imax, int dims, const char *what, botify_err *err)
{
	if (qmax < 0 || imax < 0)
		return botify_fail(err, BOTIFY_ERANGE,
				   "the model gives non-finite %s vectors: its weights are too large to rank by (retrain it)",
				   qmax < 0 ? what : "track");
	if (qmax * imax * dims > FLT_MAX / 2)
		return botify_fail(err, BOTIFY_ERANGE,
				   "the model's scores overflow float32 (%s vectors up to %.3g, track vectors up to %.3g, %d dims): its weights are too large to rank by (retrain it)",
				   what, qmax, imax, dims);
	return 0;
}

/* Appends "a, b, c" (room for 13 bytes per id must be there). By hand:
 * sprintf per id was a tenth of an export's time. */
static size_t put_ids(char *p, const int32_t *ids, int32_t n)
{
	char *start = p;
	for (int32_t i = 0; i < n; i++) {
		if (i) {
			*p++ = ',';
			*p++ = ' ';
		}
		int64_t v = ids[i];
		if (v < 0) {
			*p++ = '-';
			v = -v;
		}
		char digits[12];
		int d = 0;
		do {
			digits[d++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		while (d)
			*p++ = digits[--d];
	}
	return (size_t)(p - start);
}

/* s as a JSON string literal, quotes included, at p (room for
 * 2 + BOTIFY_JSON_CHAR_MAX * strlen(s) bytes); returns the end. */
static char *put_json_string(char *p, const char *s)
{
	*p++ = '"';
	for (; *s; s++)
		p = botify_json_put_char(p, (unsigned char)*s);
	*p++ = '"';
	return p;
}

/* ids (rows, k+1) best first -> the first k that are not self[r] */
static void drop_self(int32_t *ids, int64_t rows, int32_t k, int32_t first_self)
{
	for (int64_t r = 0; r < rows; r++) {
		int32_t *row = ids + r * (k + 1), self = first_self + (int32_t)r, j = 0;
		for (int32_t i = 0; i <= k && j < k; i++)
			if (row[i] != self)
				row[j++] = row[i];
	}
}

/*
 * Chunks over ranks. Chunk c (rows c * CHUNK onwards, the same chunks as a
 * single process; a list depends on its query and the catalog alone) is
 * computed by rank c mod N; rank 0 takes the others' ids in chunk order,
 * formats and writes every line. A rank whose chunk fails sends its error
 * in place of the chunk, and rank 0 reports it.
 */
struct chunk_head {
	int64_t chunk;   /* -1: err instead of the chunk */
	botify_err err;
};

struct chunked {
	int64_t rows;    /* tracks or users */
	size_t width;    /* ids per row in the buffer */
	int (*prepare)(void *ctx, int32_t **ids, botify_err *err);
	int (*compute)(void *ctx, int64_t r0, int B, int32_t *ids, botify_err *err);
	int (*write)(void *ctx, int64_t r0, int B, const int32_t *ids, botify_err *err);
	void *ctx;
};

/* Another rank: its chunk c (or its failure, rc != 0) to rank 0. */
static int send_chunk(int64_t c, int rc, const int32_t *ids, size_t bytes, botify_err *err)
{
	struct chunk_head h;
	memset(&h, 0, sizeof(h));
	h.chunk = rc ? -1 : c;
	if (rc)
		h.err = *err;
	botify_err e = {0};
	if (botify_dist_send(0, &h, sizeof(h), NULL, NULL, &e) != 0) {
		if (!rc)
			*err = e;
		return -1;
	}
	if (rc) {
		botify_dist_set_handed_over();
		return -1;
	}
	return botify_dist_send(0, ids, bytes, NULL, NULL, err);
}

/* Rank 0: chunk c from rank src, or src's failure. */
static int recv_chunk(int64_t c, int src, int32_t *ids, size_t bytes, botify_err *err)
{
	struct chunk_head h;
	if (botify_dist_recv(src, &h, sizeof(h), NULL, NULL, err) != 0)
		return -1;
	if (h.chunk == -1) {
		h.err.msg[sizeof(h.err.msg) - 1] = 0;
		*err = h.err;
		botify_err_prefix(err, "rank %d", src);
		return -1;
	}
	if (h.chunk != c)
		return botify_fail(err, BOTIFY_ERUNTIME, "rank %d sent chunk %lld where chunk %lld was due",
				   src, (long long)h.chunk, (long long)c);
	return botify_dist_recv(src, ids, bytes, NULL, NULL, err);
}

/* Rank 0 formats and writes a chunk on a thread of its own while the next
 * chunk is computed: the writing was a tenth of an export, with one core
 * idle while it ran. */
struct writer {
	const struct chunked *j;
	int64_t r0;
	int B;
	const int32_t *ids;
	pthread_t tid;
	int running, rc;
	botify_err err;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	w->rc = w->j->write(w->j->ctx, w->r0, w->B, w->ids, &w->err);
	return NULL;
}

/* Waits for the chunk being written, if one is; its progress then. */
static int writer_wait(struct writer *w, botify_err *err)
{
	if (!w->running)
		return 0;
	pthread_join(w->tid, NULL);
	w->running = 0;
	if (w->rc != 0) {
		*err = w->err;
		return -1;
	}
	progress(w->r0 + w->B, w->j->rows);
	return 0;
}

/* The lists, in chunks over the ranks. prepare (buffers, checks of the
 * model) runs only on a rank with a share; when it fails on another rank
 * than 0, that rank's first chunk carries the failure to rank 0. */
static int run_chunks(const struct chunked *j, botify_err *err)
{
	int rank = botify_dist_rank(), size = botify_dist_size();
	int64_t n = (j->rows + CHUNK - 1) / CHUNK;
	if (rank >= n && rank != 0)
		return 0; /* more ranks than chunks: nothing to do */
	int32_t *ids = NULL, *buf[2] = { NULL, NULL };
	if (j->prepare(j->ctx, &ids, err) != 0) {
		free(ids); /* prepare may fail after allocating it */
		if (rank != 0)
			send_chunk(rank, -1, NULL, 0, err);
		return -1;
	}
	struct writer w = { .j = j };
	int rc = -1;
	buf[0] = ids;
	if (rank == 0 && n > 1 &&
	    !(buf[1] = botify_malloc((size_t)CHUNK * j->width, sizeof(int32_t), "top-k", err)))
		goto out;
	for (int64_t c = 0; c < n; c++) {
		int owner = (int)(c % size);
		int64_t r0 = c * CHUNK;
		int B = j->rows - r0 < CHUNK ? (int)(j->rows - r0) : CHUNK;
		size_t bytes = (size_t)B * j->width * sizeof(int32_t);
		/* rank 0 alternates buffers: one written, one filled */
		ids = buf[rank == 0 ? c % 2 : 0];
		if (owner == rank) {
			int failed = j->compute(j->ctx, r0, B, ids, err);
			if (rank != 0) {
				if (send_chunk(c, failed, ids, bytes, err) != 0)
					goto out;
				continue;
			}
			if (failed)
				goto out;
		} else if (rank != 0) {
			continue;
		} else if (recv_chunk(c, owner, ids, bytes, err) != 0) {
			goto out;
		}
		if (writer_wait(&w, err) != 0)
			goto out;
		w.r0 = r0;
		w.B = B;
		w.ids = ids;
		w.running = pthread_create(&w.tid, NULL, writer_main, &w) == 0;
		if (!w.running) { /* no thread: write it here */
			if (j->write(j->ctx, r0, B, ids, err) != 0)
				goto out;
			progress(r0 + B, j->rows);
		}
	}
	if (writer_wait(&w, err) != 0)
		goto out;
	rc = 0;
out:
	if (w.running) /* a failure while a chunk was being written: err has it */
		pthread_join(w.tid, NULL);
	free(buf[0]);
	free(buf[1]);
	return rc;
}

struct track_job {
	const botify_tt *m;
	const botify_world *w;
	const float *items;
	double imax;
	int32_t k;
	int threads;
	botify_tt_acts a;
	float *q;
	botify_topk_panels pk;
	char *line;
	size_t cap;
	botify_outfile *f;
};

/* The catalog packed once for every chunk's top-k, in the order of a
 * typical query: the mean of the n rows of x (n, O). */
static int pack_catalog(botify_topk_panels *pk, const float *items, int32_t N, int32_t O,
			const float *x, int64_t n, botify_err *err)
{
	float *dir = botify_malloc((size_t)O, sizeof(float), "track order", err);
	if (!dir)
		return -1;
	for (int32_t d = 0; d < O; d++) {
		double s = 0;
		for (int64_t i = 0; i < n; i++)
			s += x[i * O + d];
		dir[d] = n ? (float)(s / (double)n) : 0.0f;
	}
	int rc = botify_topk_panels_build(pk, items, N, O, dir, err);
	free(dir);
	return rc;
}

static int track_compute(void *ctx, int64_t r0, int B, int32_t *ids, botify_err *err)
{
	struct track_job *j = ctx;
	int32_t t0 = (int32_t)r0, O = j->m->cfg.OUT;
	int64_t users[CHUNK];
	int32_t starts[CHUNK];
	for (int i = 0; i < B; i++) {
		users[i] = -1; /* the mean user */
		starts[i] = t0 + i;
	}
	botify_tt_context(j->m, &j->a, B, users, starts, j->q);
	if (check_scores(max_abs(j->q, (size_t)B * (size_t)O), j->imax, O, "context", err) != 0)
		return -1;
	/* top k+1 then drop the track itself: the same list as a top-k that
	 * excludes it, whether or not it made the k+1 */
	if (botify_topk_inner_packed(&j->pk, j->q, B, j->k + 1, j->threads, ids, NULL, err) != 0)
		return -1;
	drop_self(ids, B, j->k, t0);
	return 0;
}

static int track_write(void *ctx, int64_t r0, int B, const int32_t *ids, botify_err *err)
{
	struct track_job *j = ctx;
	const botify_world *w = j->w;
	int32_t k = j->k;
	for (int i = 0; i < B; i++) {
		int32_t t = (int32_t)r0 + i;
		const char *artist = botify_world_artist_name(w, w->artist[t]), *title = botify_world_title(w, t);
		size_t names = strlen(artist) + strlen(title);
		if (names > (SIZE_MAX - 96 - (size_t)k * 13) / BOTIFY_JSON_CHAR_MAX ||
		    BOTIFY_ALLOC_GROW(j->line, 96 + names * BOTIFY_JSON_CHAR_MAX + (size_t)k * 13, j->cap,
				      "output line", err) != 0)
			return botify_fail(err, BOTIFY_ENOMEM, "out of memory formatting %s", j->f->path);
		char *p = j->line + sprintf(j->line, "{\"track\": %d, \"artist\": ", t);
		p = put_json_string(p, artist);
		memcpy(p, ", \"title\": ", 11);
		p = put_json_string(p + 11, title);
		memcpy(p, ", \"recommendations\": [", 22);
		size_t len = (size_t)(p + 22 - j->line);
		len += put_ids(j->line + len, ids + (size_t)i * (k + 1), k);
		memcpy(j->line + len, "]}\n", 3);
		if (botify_outfile_write(j->f, j->line, len + 3, err) != 0)
			return -1;
	}
	return 0;
}

static int track_prepare(void *ctx, int32_t **ids, botify_err *err)
{
	struct track_job *j = ctx;
	int32_t N = j->m->cfg.N, O = j->m->cfg.OUT;
	j->imax = max_abs(j->items, (size_t)N * (size_t)O);
	j->q = botify_malloc((size_t)CHUNK * O, sizeof(float), "queries", err);
	*ids = botify_malloc((size_t)CHUNK * (size_t)(j->k + 1), sizeof(int32_t), "top-k", err);
	if (!j->q || !*ids || botify_tt_acts_init(&j->a, j->m, CHUNK, err) != 0)
		return -1;
	/* a typical context: those of CHUNK starts spread over the catalog */
	int B = N < CHUNK ? N : CHUNK;
	int64_t users[CHUNK];
	int32_t starts[CHUNK];
	for (int i = 0; i < B; i++) {
		users[i] = -1;
		starts[i] = (int32_t)((int64_t)i * N / B);
	}
	botify_tt_context(j->m, &j->a, B, users, starts, j->q);
	return pack_catalog(&j->pk, j->items, N, O, j->q, B, err);
}

int botify_export_track_recs_to(const botify_tt *m, const botify_world *w, const float *items,
				int32_t k, int threads, botify_outfile *f, botify_err *err)
{
	int32_t N = m->cfg.N;
	if (k < 1 || k > N - 1)
		return botify_fail(err, BOTIFY_EINVAL, "k %d out of range (1 to %d tracks - 1)", k, N - 1);
	struct track_job j = { .m = m, .w = w, .items = items, .k = k, .threads = threads, .f = f };
	struct chunked c = { N, (size_t)k + 1, track_prepare, track_compute, track_write, &j };
	int rc = run_chunks(&c, err);
	botify_tt_acts_free(&j.a);
	botify_topk_panels_free(&j.pk);
	free(j.q);
	free(j.line);
	return rc;
}

struct user_job {
	const botify_tt *m;
	const float *items;
	int32_t k;
	int threads;
	botify_topk_panels pk;
	char *line;
	size_t cap;
	botify_outfile *f;
};

static int user_compute(void *ctx, int64_t r0, int B, int32_t *ids, botify_err *err)
{
	struct user_job *j = ctx;
	int32_t O = j->m->cfg.OUT;
	return botify_topk_inner_packed(&j->pk, j->m->user_context + (size_t)r0 * O, B, j->k, j->threads,
					ids, NULL, err);
}

static int user_write(void *ctx, int64_t r0, int B, const int32_t *ids, botify_err *err)
{
	struct user_job *j = ctx;
	int32_t k = j->k;
	for (int i = 0; i < B; i++) {
		if (BOTIFY_ALLOC_GROW(j->line, 64 + (size_t)k * 13, j->cap, "output line", err) != 0)
			return -1;
		size_t len = (size_t)sprintf(j->line, "{\"user\": %d, \"tracks\": [", (int)(r0 + i));
		len += put_ids(j->line + len, ids + (size_t)i * k, k);
		memcpy(j->line + len, "]}\n", 3);
		if (botify_outfile_write(j->f, j->line, len + 3, err) != 0)
			return -1;
	}
	return 0;
}

static int user_prepare(void *ctx, int32_t **ids, botify_err *err)
{
	struct user_job *j = ctx;
	int32_t N = j->m->cfg.N, U = j->m->cfg.U, O = j->m->cfg.OUT;
	*ids = botify_malloc((size_t)CHUNK * (size_t)j->k, sizeof(int32_t), "top-k", err);
	if (!*ids)
		return -1;
	if (check_scores(max_abs(j->m->user_context, (size_t)U * (size_t)O),
			 max_abs(j->items, (size_t)N * (size_t)O), O, "user", err) != 0)
		return -1;
	return pack_catalog(&j->pk, j->items, N, O, j->m->user_context, U, err);
}

int botify_export_user_recs_to(const botify_tt *m, const float *items, int32_t k, int threads,
			       botify_outfile *f, botify_err *err)
{
	int32_t N = m->cfg.N;
	if (k < 1 || k > N)
		return botify_fail(err, BOTIFY_EINVAL, "k %d out of range (1 to %d tracks)", k, N);
	struct user_job j = { .m = m, .items = items, .k = k, .threads = threads, .f = f };
	struct chunked c = { m->cfg.U, (size_t)k, user_prepare, user_compute, user_write, &j };
	int rc = run_chunks(&c, err);
	botify_topk_panels_free(&j.pk);
	free(j.line);
	return rc;
}

int botify_export_track_recs(const botify_tt *m, const botify_world *w, const float *items,
			     int32_t k, int threads, const char *path, int force, botify_err *err)
{
	botify_outfile f;
	if (botify_outfile_open(&f, path, force, err) != 0)
		return -1;
	if (botify_export_track_recs_to(m, w, items, k, threads, &f, err) != 0) {
		botify_outfile_abort(&f);
		return -1;
	}
	return botify_outfile_commit(&f, err);
}

int botify_export_user_recs(const botify_tt *m, const float *items, int32_t k, int threads,
			    const char *path, int force, botify_err *err)
{
	botify_outfile f;
	if (botify_outfile_open(&f, path, force, err) != 0)
		return -1;
	if (botify_export_user_recs_to(m, items, k, threads, &f, err) != 0) {
		botify_outfile_abort(&f);
		return -1;
	}
	return botify_outfile_commit(&f, err);
}
