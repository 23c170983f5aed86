/*
 * tracklists.c - loading per-key track lists.
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

int botify_tracklists_load(botify_tracklists *l, const char *path, const char *key_field,
			   const char *list_field, int64_t max_key, int32_t n_tracks,
			   botify_err *err)
{
	botify_jsonl r = {0};
	struct entry *ent = NULL;
	int32_t *pool = NULL;
	size_t n_ent = 0, cap_ent = 0, n_pool = 0, cap_pool = 0;
	int64_t max_seen = -1;
	int rc = -1, more;

	memset(l, 0, sizeof(*l));
	if (botify_jsonl_open(&r, path, err) != 0)
		return -1;
	while ((more = botify_jsonl_next(&r, err)) == 1) {
		cJSON *o = botify_jsonl_parse(&r, err);
		if (!o)
			goto out;
		int64_t key;
		if (!cJSON_IsObject(o)) {
			cJSON_Delete(o);
			botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: expected a JSON object", path, r.lineno);
			goto out;
		}
		if (botify_jsonl_int(&r, o, key_field, 1, 0, max_key, &key, err) < 0) {
			cJSON_Delete(o);
			goto out;
		}
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, list_field);
		if (a && !cJSON_IsArray(a) && !cJSON_IsNull(a)) {
			cJSON_Delete(o);
			botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: '%s' must be an array of track ids",
				    path, r.lineno, list_field);
			goto out;
		}
		size_t n = cJSON_IsArray(a) ? (size_t)cJSON_GetArraySize(a) : 0;
		if (n_ent == cap_ent) {
			cap_ent = cap_ent ? 2 * cap_ent : 1024;
			struct entry *e2 = botify_realloc(ent, cap_ent, sizeof(*ent), "track lists", err);
			if (!e2) {
				cJSON_Delete(o);
				goto out;
			}
			ent = e2;
		}
		if (n_pool + n > cap_pool) {
			while (n_pool + n > cap_pool)
				cap_pool = cap_pool ? 2 * cap_pool : 65536;
			int32_t *p2 = botify_realloc(pool, cap_pool, sizeof(int32_t), "track lists", err);
			if (!p2) {
				cJSON_Delete(o);
				goto out;
			}
			pool = p2;
		}
		ent[n_ent] = (struct entry){ key, (int64_t)n_pool, (int64_t)n, r.lineno };
		const cJSON *it;
		size_t i = 0;
		cJSON_ArrayForEach(it, a)
		{
			double v = cJSON_IsNumber(it) ? it->valuedouble : -0.5;
			if (v != floor(v)) {
				botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: '%s'[%zu] is not a track id", path,
					    r.lineno, list_field, i);
				cJSON_Delete(o);
				goto out;
			}
			if (v < 0 || v >= n_tracks) {
				botify_fail(err, BOTIFY_ERANGE,
					    "%s:%zu: track %.0f out of range (catalog has %d)", path,
					    r.lineno, v, n_tracks);
				cJSON_Delete(o);
				goto out;
			}
			pool[n_pool++] = (int32_t)v;
			i++;
		}
		cJSON_Delete(o);
		if (key > max_seen)
			max_seen = key;
		n_ent++;
	}
	if (more < 0)
		goto out;
	l->n_keys = max_seen + 1;
	l->off = botify_calloc((size_t)l->n_keys + 1, sizeof(int64_t), "track lists", err);
	l->tracks = botify_malloc(n_pool, sizeof(int32_t), "track lists", err);
	if (!l->off || !l->tracks)
		goto out;
	/* count per key, detecting duplicates, then lay lists out by key */
	for (size_t i = 0; i < n_ent; i++) {
		if (l->off[ent[i].key + 1]) {
			botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: %s %lld has two lists", path,
				    ent[i].lineno, key_field, (long long)ent[i].key);
			goto out;
		}
		l->off[ent[i].key + 1] = ent[i].n ? ent[i].n : -1; /* -1 marks "seen, empty" */
	}
	for (int64_t k = 0; k < l->n_keys; k++)
		l->off[k + 1] = l->off[k] + (l->off[k + 1] > 0 ? l->off[k + 1] : 0);
	for (size_t i = 0; i < n_ent; i++)
		if (ent[i].n) /* a file of empty lists has no pool at all */
			memcpy(l->tracks + l->off[ent[i].key], pool + ent[i].first,
			       (size_t)ent[i].n * sizeof(int32_t));
	l->n_lists = (int64_t)n_ent;
	rc = 0;
out:
	botify_jsonl_close(&r);
	free(ent);
	free(pool);
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
