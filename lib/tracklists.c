/*
 * tracklists.c - loading per-key track lists.
 *
 * Two passes: the lines are read in file order into a flat pool (one entry
 * per line), then laid out by key into the CSR block, which also finds keys
 * given twice.
 */
#include "tracklists.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

struct entry {
	int64_t key;
	int64_t first, n;   /* into the flat pool */
	size_t lineno;      /* for messages */
};

/* The lines in file order. */
struct lines {
	struct entry *ent;
	size_t n_ent, cap_ent;
	int32_t *pool;
	size_t n_pool, cap_pool;
	int64_t max_key;    /* largest key seen, -1 before the first */
};

struct spec {
	const char *key_field, *list_field;
	int64_t max_key;
	int32_t n_tracks;
};

/* Appends the current line's key and list to in. */
static int read_entry(const botify_jsonl *r, const struct spec *sp, struct lines *in,
		      botify_err *err)
{
	int64_t key;
	if (botify_jsonl_int(r, r->obj, sp->key_field, 1, 0, sp->max_key, &key, err) < 0)
		return -1;
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(r->obj, sp->list_field);
	if (a && !cJSON_IsArray(a) && !cJSON_IsNull(a))
		return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: '%s' must be an array of track ids",
				   r->path, r->lineno, sp->list_field);
	size_t n = cJSON_IsArray(a) ? (size_t)cJSON_GetArraySize(a) : 0;
	if (BOTIFY_ALLOC_GROW(in->ent, in->n_ent + 1, in->cap_ent, "track lists", err) ||
	    BOTIFY_ALLOC_GROW(in->pool, in->n_pool + n, in->cap_pool, "track lists", err))
		return -1;
	in->ent[in->n_ent] = (struct entry){ key, (int64_t)in->n_pool, (int64_t)n, r->lineno };
	const cJSON *it;
	size_t i = 0;
	cJSON_ArrayForEach(it, a)
	{
		double v = cJSON_IsNumber(it) ? it->valuedouble : -0.5;
		if (v != floor(v))
			return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: '%s'[%zu] is not a track id",
					   r->path, r->lineno, sp->list_field, i);
		if (v < 0 || v >= sp->n_tracks)
			return botify_fail(err, BOTIFY_ERANGE,
					   "%s:%zu: track %.0f out of range (catalog has %d)", r->path,
					   r->lineno, v, sp->n_tracks);
		in->pool[in->n_pool++] = (int32_t)v;
		i++;
	}
	if (key > in->max_key)
		in->max_key = key;
	in->n_ent++;
	return 0;
}

static int read_lines(const char *path, const struct spec *sp, struct lines *in, botify_err *err)
{
	botify_jsonl r;
	int more;
	if (botify_jsonl_open(&r, path, err) != 0)
		return -1;
	while ((more = botify_jsonl_next_object(&r, err)) == 1)
		if (read_entry(&r, sp, in, err) != 0) {
			more = -1;
			break;
		}
	botify_jsonl_close(&r);
	return more;
}

/* Lays the lines out by key: counts per key (finding a key given twice),
 * offsets, then the lists copied into place. */
static int layout_by_key(botify_tracklists *l, const char *path, const struct spec *sp,
			 const struct lines *in, botify_err *err)
{
	l->n_keys = in->max_key + 1;
	l->off = botify_calloc((size_t)l->n_keys + 1, sizeof(int64_t), "track lists", err);
	l->tracks = botify_malloc(in->n_pool, sizeof(int32_t), "track lists", err);
	if (!l->off || !l->tracks)
		return -1;
	const struct entry *ent = in->ent;
	for (size_t i = 0; i < in->n_ent; i++) {
		if (l->off[ent[i].key + 1])
			return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: %s %lld has two lists", path,
					   ent[i].lineno, sp->key_field, (long long)ent[i].key);
		l->off[ent[i].key + 1] = ent[i].n ? ent[i].n : -1; /* -1 marks "seen, empty" */
	}
	for (int64_t k = 0; k < l->n_keys; k++)
		l->off[k + 1] = l->off[k] + (l->off[k + 1] > 0 ? l->off[k + 1] : 0);
	for (size_t i = 0; i < in->n_ent; i++)
		if (ent[i].n) /* a file of empty lists has no pool at all */
			memcpy(l->tracks + l->off[ent[i].key], in->pool + ent[i].first,
			       (size_t)ent[i].n * sizeof(int32_t));
	l->n_lists = (int64_t)in->n_ent;
	return 0;
}

int botify_tracklists_load(botify_tracklists *l, const char *path, const char *key_field,
			   const char *list_field, int64_t max_key, int32_t n_tracks,
			   botify_err *err)
{
	const struct spec sp = { key_field, list_field, max_key, n_tracks };
	struct lines in = { .max_key = -1 };
	memset(l, 0, sizeof(*l));
	int rc = read_lines(path, &sp, &in, err) == 0 ? layout_by_key(l, path, &sp, &in, err) : -1;
	free(in.ent);
	free(in.pool);
	if (rc)
		botify_tracklists_free(l);
	return rc;
}

void botify_tracklists_free(botify_tracklists *l)
{
	free(l->off);
	free(l->tracks);
	memset(l, 0, sizeof(*l));
}
