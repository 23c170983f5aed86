/*
 * tracklists.h - per-key track lists read from JSON lines, kept as one CSR
 * block: recommendations.json ({"user": u, "tracks": [...]}) and
 * tracks_with_recs.json ({"track": t, ..., "recommendations": [...]}).
 */
#ifndef BOTIFY_TRACKLISTS_H
#define BOTIFY_TRACKLISTS_H

#include <stdint.h>

#include "err.h"

typedef struct botify_tracklists {
	int64_t n_keys;     /* keys are 0..n_keys-1; absent ones have empty lists */
	int64_t *off;       /* (n_keys + 1) offsets into tracks */
	int32_t *tracks;
	int64_t n_lists;    /* lines read */
} botify_tracklists;

/* Reads path (plain or gzip). key_field must be an integer in [0, max_key];
 * list_field an array of track ids in [0, n_tracks) (a line without it gives
 * an empty list). A key given twice is an error. Messages: "path:line: ...". */
int botify_tracklists_load(botify_tracklists *l, const char *path, const char *key_field,
			   const char *list_field, int64_t max_key, int32_t n_tracks,
			   botify_err *err);

/* The list of key (NULL with *n = 0 when there is none). */
static inline const int32_t *botify_tracklists_get(const botify_tracklists *l, int64_t key,
						   int64_t *n)
{
	if (key < 0 || key >= l->n_keys) {
		*n = 0;
		return 0;
	}
	*n = l->off[key + 1] - l->off[key];
	return l->tracks + l->off[key];
}

void botify_tracklists_free(botify_tracklists *l);

#endif
