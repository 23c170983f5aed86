/*
 * world.c - loading and validating a world directory.
 */
#include "world.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonl.h"
#include "npy.h"
#include "worldgen.h"

int botify_world_find_file(const char *dir, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", dir, name);
	if (access(out, F_OK) == 0)
		return 1;
	snprintf(out, n, "%s/%s.gz", dir, name);
	if (access(out, F_OK) == 0)
		return 1;
	snprintf(out, n, "%s/%s", dir, name); /* for the "not found" message */
	return 0;
}

const char *botify_world_title(const botify_world *w, int32_t track)
{
	return w->title ? w->strings + w->title[track] : "";
}

const char *botify_world_artist_name(const botify_world *w, int32_t artist)
{
	return w->strings + w->artist_name[artist];
}

int botify_world_intern_string(botify_world *w, const char *s, uint32_t *off, botify_err *err)
{
	size_t len = strlen(s) + 1;
	if (w->strings_len + len > UINT32_MAX)
		return botify_fail(err, BOTIFY_ENOMEM, "catalog names exceed 4 GiB");
	if (BOTIFY_ALLOC_GROW(w->strings, w->strings_len + len, w->strings_cap, "catalog names", err))
		return -1;
	memcpy(w->strings + w->strings_len, s, len);
	*off = (uint32_t)w->strings_len;
	w->strings_len += len;
	return 0;
}

int botify_world_index_artists(botify_world *w, botify_err *err)
{
	free(w->artist_off);
	free(w->artist_tracks);
	w->artist_off = botify_calloc((size_t)w->A + 1, sizeof(int32_t), "artist index", err);
	w->artist_tracks = botify_malloc((size_t)w->N, sizeof(int32_t), "artist index", err);
	if (!w->artist_off || !w->artist_tracks)
		return -1;
	for (int32_t t = 0; t < w->N; t++)
		w->artist_off[w->artist[t] + 1]++;
	for (int32_t a = 0; a < w->A; a++)
		w->artist_off[a + 1] += w->artist_off[a];
	int32_t *fill = botify_malloc((size_t)w->A, sizeof(int32_t), "artist index", err);
	if (!fill)
		return -1;
	memcpy(fill, w->artist_off, (size_t)w->A * sizeof(int32_t));
	for (int32_t t = 0; t < w->N; t++)
		w->artist_tracks[fill[w->artist[t]]++] = t;
	free(fill);
	return 0;
}

/* FNV-1a; artist names are short */
static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* Numbers artists by first appearance in track-id order. name_off[t] holds
 * the pool offset of track t's artist name. */
static int intern_artists(botify_world *w, const uint32_t *name_off, botify_err *err)
{
	size_t cap = 16;
	while (cap < (size_t)w->N * 2)
		cap *= 2;
	int32_t *slots = botify_malloc(cap, sizeof(int32_t), "artist table", err);
	w->artist = botify_malloc((size_t)w->N, sizeof(int32_t), "artists", err);
	w->artist_name = botify_malloc((size_t)w->N, sizeof(uint32_t), "artists", err);
	if (!slots || !w->artist || !w->artist_name) {
		free(slots);
		return -1;
	}
	memset(slots, 0xff, cap * sizeof(int32_t));
	w->A = 0;
	for (int32_t t = 0; t < w->N; t++) {
		const char *name = w->strings + name_off[t];
		size_t i = hash_str(name) & (cap - 1);
		while (slots[i] >= 0 && strcmp(w->strings + w->artist_name[slots[i]], name))
			i = (i + 1) & (cap - 1);
		if (slots[i] < 0) {
			slots[i] = w->A;
			w->artist_name[w->A++] = name_off[t];
		}
		w->artist[t] = slots[i];
	}
	free(slots);
	return botify_world_index_artists(w, err);
}

/* A line of tracks.json, kept until the ids are checked: the pool offsets
 * of its title and artist name, and its line for messages. */
struct track_line {
	int32_t id;
	uint32_t title, name;
	size_t lineno;
};

static int read_track_lines(botify_world *w, botify_jsonl *r, struct track_line **lines,
			    size_t *n, botify_err *err)
{
	size_t cap = 0;
	int more;
	while ((more = botify_jsonl_next_object(r, err)) == 1) {
		int64_t id;
		const char *artist, *title = "";
		if (botify_jsonl_int(r, r->obj, "track", 1, 0, INT32_MAX - 1, &id, err) < 0 ||
		    botify_jsonl_string(r, r->obj, "artist", 1, &artist, err) < 0 ||
		    botify_jsonl_string(r, r->obj, "title", 0, &title, err) < 0 ||
		    BOTIFY_ALLOC_GROW(*lines, *n + 1, cap, "track ids", err))
			return -1;
		struct track_line *t = &(*lines)[*n];
		t->id = (int32_t)id;
		t->lineno = r->lineno;
		if (botify_world_intern_string(w, title, &t->title, err) != 0 ||
		    botify_world_intern_string(w, artist, &t->name, err) != 0)
			return -1;
		++*n;
	}
	return more;
}

static int load_tracks(botify_world *w, const char *path, botify_err *err)
{
	botify_jsonl r;
	uint32_t *name_off = NULL;
	uint8_t *seen = NULL;
	struct track_line *lines = NULL;
	size_t n = 0;
	int rc = -1;

	if (botify_jsonl_open(&r, path, err) != 0)
		return -1;
	if (read_track_lines(w, &r, &lines, &n, err) < 0)
		goto out;
	if (n == 0) {
		botify_fail(err, BOTIFY_EFORMAT, "%s: no tracks", path);
		goto out;
	}
	w->N = (int32_t)n;
	/* ids must be exactly 0..N-1: in range and no duplicates */
	seen = botify_calloc(n, 1, "track ids", err);
	name_off = botify_malloc(n, sizeof(uint32_t), "artists", err);
	w->title = botify_malloc(n, sizeof(uint32_t), "titles", err);
	if (!seen || !name_off || !w->title)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int32_t id = lines[i].id;
		if ((size_t)id >= n) {
			botify_fail(err, BOTIFY_ERANGE,
				    "%s:%zu: track id %d out of range: %zu tracks must have ids 0..%zu",
				    path, lines[i].lineno, id, n, n - 1);
			goto out;
		}
		if (seen[id]) {
			botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: track id %d appears twice", path,
				    lines[i].lineno, id);
			goto out;
		}
		seen[id] = 1;
		name_off[id] = lines[i].name;
		w->title[id] = lines[i].title;
	}
	rc = intern_artists(w, name_off, err);
out:
	botify_jsonl_close(&r);
	free(name_off);
	free(seen);
	free(lines);
	return rc;
}

static int load_embeddings(botify_world *w, const char *path, botify_err *err)
{
	botify_npy a = {0};
	if (botify_npy_read(&a, path, err) != 0)
		return -1;
	if (a.ndim != 2 || a.rows != (size_t)w->N || a.cols < 1 || a.cols > 1 << 16) {
		botify_fail(err, BOTIFY_EFORMAT,
			    "%s: expected shape (%d, D) to match tracks.json, found %s(%zu, %zu)", path,
			    w->N, a.ndim == 2 ? "" : "a non-matrix ", a.rows, a.cols);
		botify_npy_free(&a);
		return -1;
	}
	for (size_t i = 0; i < a.rows * a.cols; i++)
		if (!isfinite(a.data[i])) {
			botify_fail(err, BOTIFY_EFORMAT, "%s: row %zu column %zu is not finite (%g)", path,
				    i / a.cols, i % a.cols, (double)a.data[i]);
			botify_npy_free(&a);
			return -1;
		}
	w->D = (int32_t)a.cols;
	w->E = a.data; /* takes the buffer */
	return 0;
}

int botify_world_parse_user(botify_world *w, const botify_jsonl *r, const void *json,
			    int64_t *user_id, botify_user *u, botify_err *err)
{
	const cJSON *o = json;
	if (!cJSON_IsObject(o))
		return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: expected a JSON object", r->path,
				   r->lineno);
	if (botify_jsonl_int(r, o, "user", 1, 0, INT32_MAX - 1, user_id, err) < 0)
		return -1;
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(o, "interests");
	if (!cJSON_IsArray(in) || cJSON_GetArraySize(in) == 0)
		return botify_fail(err, BOTIFY_EFORMAT,
				   "%s:%zu: 'interests' must be a non-empty array of track ids", r->path,
				   r->lineno);
	int n = cJSON_GetArraySize(in);
	if (BOTIFY_ALLOC_GROW(w->interests, (size_t)w->n_interests + (size_t)n, w->interests_cap,
			      "interests", err))
		return -1;
	u->first_interest = w->n_interests;
	u->n_interests = n;
	const cJSON *it;
	cJSON_ArrayForEach(it, in)
	{
		double v = cJSON_IsNumber(it) ? it->valuedouble : -1;
		if (!cJSON_IsNumber(it) || v != floor(v))
			return botify_fail(err, BOTIFY_EFORMAT,
					   "%s:%zu: 'interests' must be an array of track ids", r->path,
					   r->lineno);
		if (v < 0 || v >= w->N)
			return botify_fail(err, BOTIFY_ERANGE,
					   "%s:%zu: track %.0f out of range (catalog has %d)", r->path,
					   r->lineno, v, w->N);
		w->interests[w->n_interests++] = (int32_t)v;
	}
	int64_t k;
	u->consume_bias = u->consume_sharpness = u->artist_discount_gamma = NAN;
	u->interest_neighbours = u->session_budget = 0;
	if (botify_jsonl_double(r, o, "consume_bias", 0, &u->consume_bias, err) < 0 ||
	    botify_jsonl_double(r, o, "consume_sharpness", 0, &u->consume_sharpness, err) < 0 ||
	    botify_jsonl_double(r, o, "artist_discount_gamma", 0, &u->artist_discount_gamma, err) < 0)
		return -1;
	if (!isnan(u->artist_discount_gamma) && u->artist_discount_gamma < 0)
		return botify_fail(err, BOTIFY_ERANGE,
				   "%s:%zu: 'artist_discount_gamma' must be >= 0, got %g", r->path,
				   r->lineno, u->artist_discount_gamma);
	int rc = botify_jsonl_int(r, o, "interest_neighbours", 0, 1, 1000000, &k, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		u->interest_neighbours = (int32_t)k;
	rc = botify_jsonl_int(r, o, "session_budget", 0, 1, 1000000, &k, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		u->session_budget = (int32_t)k;
	return 0;
}

/* A line of users.json, kept until the ids are checked. */
struct user_line {
	botify_user u;
	int32_t id;
	size_t lineno;
};

static int load_users(botify_world *w, const char *path, botify_err *err)
{
	botify_jsonl r;
	struct user_line *lines = NULL;
	size_t n = 0, cap = 0;
	int rc = -1, more;

	if (botify_jsonl_open(&r, path, err) != 0)
		return -1;
	while ((more = botify_jsonl_next_object(&r, err)) == 1) {
		int64_t id;
		if (BOTIFY_ALLOC_GROW(lines, n + 1, cap, "users", err) ||
		    botify_world_parse_user(w, &r, r.obj, &id, &lines[n].u, err) != 0)
			goto out;
		lines[n].lineno = r.lineno;
		lines[n++].id = (int32_t)id;
	}
	if (more < 0)
		goto out;
	if (n == 0) {
		botify_fail(err, BOTIFY_EFORMAT, "%s: no users", path);
		goto out;
	}
	w->users = botify_malloc(n, sizeof(botify_user), "users", err);
	if (!w->users)
		goto out;
	for (size_t i = 0; i < n; i++)
		w->users[i].n_interests = -1;
	for (size_t i = 0; i < n; i++) {
		int32_t id = lines[i].id;
		if ((size_t)id >= n) {
			botify_fail(err, BOTIFY_ERANGE,
				    "%s:%zu: user id %d out of range: %zu users must have ids 0..%zu", path,
				    lines[i].lineno, id, n, n - 1);
			goto out;
		}
		if (w->users[id].n_interests >= 0) {
			botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: user id %d appears twice", path,
				    lines[i].lineno, id);
			goto out;
		}
		w->users[id] = lines[i].u;
	}
	w->U = (int32_t)n;
	rc = 0;
out:
	botify_jsonl_close(&r);
	free(lines);
	return rc;
}

int botify_world_read_top_tracks(const char *path, int32_t N, int32_t **top, int32_t *n,
				 botify_err *err)
{
	cJSON *a = botify_json_read_file(path, err);
	if (!a)
		return -1;
	int rc = -1;
	int32_t *list = NULL;
	if (!cJSON_IsArray(a)) {
		botify_fail(err, BOTIFY_EFORMAT, "%s: expected a JSON array of track ids", path);
		goto out;
	}
	int len = cJSON_GetArraySize(a);
	list = botify_malloc((size_t)len, sizeof(int32_t), "top tracks", err);
	if (!list)
		goto out;
	const cJSON *it;
	int i = 0;
	cJSON_ArrayForEach(it, a)
	{
		double v = cJSON_IsNumber(it) ? it->valuedouble : -1.5;
		if (v != floor(v)) {
			botify_fail(err, BOTIFY_EFORMAT, "%s: element %d is not a track id", path, i);
			goto out;
		}
		if (v < 0 || v >= N) {
			botify_fail(err, BOTIFY_ERANGE, "%s: element %d: track %.0f out of range (catalog has %d)",
				    path, i, v, N);
			goto out;
		}
		list[i++] = (int32_t)v;
	}
	*top = list;
	*n = len;
	list = NULL;
	rc = 0;
out:
	free(list);
	cJSON_Delete(a);
	return rc;
}

int botify_world_check_users(const botify_world *w, const char *what, botify_err *err)
{
	for (int32_t u = 0; u < w->U; u++) {
		const botify_user *p = &w->users[u];
		for (int32_t i = 0; i < p->n_interests; i++) {
			int32_t t = w->interests[p->first_interest + i];
			if (t < 0 || t >= w->N)
				return botify_fail(err, BOTIFY_ERANGE,
						   "%s: user %d: track %d out of range (catalog has %d)", what,
						   u, t, w->N);
		}
	}
	return 0;
}

int botify_world_load_catalog(botify_world *w, const char *dir, botify_err *err)
{
	char path[4096];
	memset(w, 0, sizeof(*w));
	if (!botify_world_find_file(dir, "tracks.json", path, sizeof(path))) {
		botify_fail(err, BOTIFY_EIO, "world '%s': no tracks.json or tracks.json.gz", dir);
		goto fail;
	}
	if (load_tracks(w, path, err) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/tracks.npy", dir);
	/* catalogs often come without embeddings: say how to make them */
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		botify_fail(err, BOTIFY_EIO,
			    "world '%s' has no tracks.npy, the track embeddings the user model needs "
			    "(%d x D float32, row = track id): copy synthetic ones from 'botify datagen "
			    "--out TMP --tracks %d', then, given logs of this catalog, learned ones: "
			    "'botify train' on them and 'botify export --model MODEL --embeddings %s "
			    "--force' (docs/FORMATS.md)",
			    dir, w->N, w->N, path);
		goto fail;
	}
	if (load_embeddings(w, path, err) != 0)
		goto fail;
	snprintf(w->source, sizeof(w->source), "%s", dir);
	return 0;
fail:
	botify_world_free(w);
	return -1;
}

int botify_world_load(botify_world *w, const char *dir, botify_err *err)
{
	char path[4096];
	if (botify_world_load_catalog(w, dir, err) != 0)
		return -1;
	if (!botify_world_find_file(dir, "users.json", path, sizeof(path))) {
		botify_fail(err, BOTIFY_EIO, "world '%s': no users.json or users.json.gz", dir);
		goto fail;
	}
	if (load_users(w, path, err) != 0)
		goto fail;
	if (botify_world_find_file(dir, "top_tracks.json", path, sizeof(path)) &&
	    botify_world_read_top_tracks(path, w->N, &w->top_tracks, &w->n_top, err) != 0)
		goto fail;
	return 0;
fail:
	botify_world_free(w);
	return -1;
}

void botify_world_free(botify_world *w)
{
	free(w->E);
	free(w->artist);
	free(w->artist_off);
	free(w->artist_tracks);
	free(w->strings);
	free(w->artist_name);
	free(w->title);
	free(w->users);
	free(w->interests);
	free(w->top_tracks);
	memset(w, 0, sizeof(*w));
}

int botify_world_open(botify_world *w, const char *dir, int parts, botify_err *err)
{
	if (dir)
		return parts == BOTIFY_WORLD_CATALOG_ONLY ? botify_world_load_catalog(w, dir, err)
							  : botify_world_load(w, dir, err);
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	return botify_worldgen_generate(w, &p, err);
}
