/*
 * export.c - item vectors and top-K lists from a model.
 */
#include "export.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "outfile.h"
#include "topk.h"

/* rows per top-k batch: big enough for sgemm, small enough for a progress
 * bar to move every second or so on 50 000 tracks */
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

/* Grows *buf to at least need bytes. */
static int ensure(char **buf, size_t *cap, size_t need, botify_err *err)
{
	if (need <= *cap)
		return 0;
	char *b = botify_realloc(*buf, need * 2, 1, "output line", err);
	if (!b)
		return -1;
	*buf = b;
	*cap = need * 2;
	return 0;
}

/* Appends "a, b, c" (room for 13 bytes per id must be there). */
static size_t put_ids(char *p, const int32_t *ids, int32_t n)
{
	size_t len = 0;
	for (int32_t i = 0; i < n; i++)
		len += (size_t)sprintf(p + len, i ? ", %d" : "%d", ids[i]);
	return len;
}

/* A JSON string literal (quotes included) through cJSON's escaping. */
static char *json_string(const char *s)
{
	cJSON *o = cJSON_CreateString(s);
	char *out = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return out;
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

int botify_export_track_recs_to(const botify_tt *m, const botify_world *w, const float *items,
				int32_t k, int threads, botify_outfile *f, botify_err *err)
{
	const char *path = f->path;
	int32_t N = m->cfg.N, O = m->cfg.OUT;
	if (k < 1 || k > N - 1)
		return botify_fail(err, BOTIFY_EINVAL, "k %d out of range (1 to %d tracks - 1)", k, N - 1);
	botify_tt_acts a = {0};
	float *q = botify_malloc((size_t)CHUNK * O, sizeof(float), "queries", err);
	int32_t *ids = botify_malloc((size_t)CHUNK * (size_t)(k + 1), sizeof(int32_t), "top-k", err);
	int64_t users[CHUNK];
	int32_t starts[CHUNK];
	char *line = NULL;
	size_t cap = 0;
	int rc = -1;
	double imax = max_abs(items, (size_t)N * (size_t)O);
	if (!q || !ids || botify_tt_acts_init(&a, m, CHUNK, err) != 0)
		goto out;
	for (int32_t t0 = 0; t0 < N; t0 += CHUNK) {
		int B = N - t0 < CHUNK ? N - t0 : CHUNK;
		for (int i = 0; i < B; i++) {
			users[i] = -1; /* the mean user */
			starts[i] = t0 + i;
		}
		botify_tt_context(m, &a, B, users, starts, q);
		if (check_scores(max_abs(q, (size_t)B * (size_t)O), imax, O, "context", err) != 0)
			goto out;
		/* top k+1 then drop the track itself: the same list as a top-k
		 * that excludes it, whether or not it made the k+1 */
		if (botify_topk_inner(q, B, items, N, O, k + 1, threads, ids, NULL, err) != 0)
			goto out;
		drop_self(ids, B, k, t0);
		for (int i = 0; i < B; i++) {
			int32_t t = t0 + i;
			char *artist = json_string(botify_world_artist_name(w, w->artist[t]));
			char *title = json_string(botify_world_title(w, t));
			if (!artist || !title) {
				free(artist);
				free(title);
				botify_fail(err, BOTIFY_ENOMEM, "out of memory formatting %s", path);
				goto out;
			}
			int ok = ensure(&line, &cap, 96 + strlen(artist) + strlen(title) + (size_t)k * 13,
					err) == 0;
			size_t len = ok ? (size_t)sprintf(line, "{\"track\": %d, \"artist\": %s, \"title\": %s, \"recommendations\": [",
							  t, artist, title) : 0;
			free(artist);
			free(title);
			if (!ok)
				goto out;
			len += put_ids(line + len, ids + (size_t)i * (k + 1), k);
			memcpy(line + len, "]}\n", 3);
			if (botify_outfile_write(f, line, len + 3, err) != 0)
				goto out;
		}
		progress(t0 + B, N);
	}
	rc = 0;
out:
	botify_tt_acts_free(&a);
	free(q);
	free(ids);
	free(line);
	return rc;
}

int botify_export_user_recs_to(const botify_tt *m, const float *items, int32_t k, int threads,
			       botify_outfile *f, botify_err *err)
{
	int32_t N = m->cfg.N, U = m->cfg.U, O = m->cfg.OUT;
	if (k < 1 || k > N)
		return botify_fail(err, BOTIFY_EINVAL, "k %d out of range (1 to %d tracks)", k, N);
	int32_t *ids = botify_malloc((size_t)CHUNK * (size_t)k, sizeof(int32_t), "top-k", err);
	char *line = NULL;
	size_t cap = 0;
	int rc = -1;
	if (!ids || check_scores(max_abs(m->user_context, (size_t)U * (size_t)O),
				 max_abs(items, (size_t)N * (size_t)O), O, "user", err) != 0)
		goto out;
	for (int32_t u0 = 0; u0 < U; u0 += CHUNK) {
		int B = U - u0 < CHUNK ? U - u0 : CHUNK;
		if (botify_topk_inner(m->user_context + (size_t)u0 * O, B, items, N, O, k, threads, ids,
				      NULL, err) != 0)
			goto out;
		for (int i = 0; i < B; i++) {
			if (ensure(&line, &cap, 64 + (size_t)k * 13, err) != 0)
				goto out;
			size_t len = (size_t)sprintf(line, "{\"user\": %d, \"tracks\": [", u0 + i);
			len += put_ids(line + len, ids + (size_t)i * k, k);
			memcpy(line + len, "]}\n", 3);
			if (botify_outfile_write(f, line, len + 3, err) != 0)
				goto out;
		}
		progress(u0 + B, U);
	}
	rc = 0;
out:
	free(ids);
	free(line);
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
