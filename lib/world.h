/*
 * world.h - a world: the track catalog, its embeddings and the users.
 *
 * Loaded from a directory (tracks.json, tracks.npy, users.json, optional
 * top_tracks.json; each JSON file may also be gzipped as NAME.gz) or
 * generated in memory by worldgen. Loading validates everything the
 * simulator relies on: dense track ids 0..N-1 in any order, one embedding row
 * per track, finite numbers, dense user ids, interests in range. Artists are
 * identified by name, as in the original service, and numbered in order of
 * their first track.
 */
#ifndef BOTIFY_WORLD_H
#define BOTIFY_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Per-user model parameters. Optional ones read as absent hold NaN (doubles)
 * or 0 (ints); botify_simcfg fills them from configs/sim.json defaults. */
typedef struct botify_user {
	int32_t first_interest;      /* index into botify_world.interests */
	int32_t n_interests;
	double consume_bias;
	double consume_sharpness;
	double artist_discount_gamma;
	int32_t interest_neighbours;
	int32_t session_budget;
} botify_user;

typedef struct botify_world {
	int32_t N;            /* tracks */
	int32_t D;            /* embedding width */
	int32_t U;            /* users */
	int32_t A;            /* artists */
	float *E;             /* (N, D) track embeddings, row-major */
	int32_t *artist;      /* (N) artist of each track */
	int32_t *artist_off;  /* (A + 1) CSR offsets into artist_tracks */
	int32_t *artist_tracks; /* (N) tracks grouped by artist, ascending ids */
	char *strings;        /* pool of NUL-terminated names and titles */
	size_t strings_len, strings_cap;
	uint32_t *artist_name; /* (A) offsets into strings */
	uint32_t *title;      /* (N) offsets into strings */
	botify_user *users;   /* (U) */
	int32_t *interests;   /* pool of every user's interests */
	int32_t n_interests;
	size_t interests_cap; /* its allocated length (0 when allocated exactly) */
	int32_t *top_tracks;  /* popularity order, most popular first; may be NULL */
	int32_t n_top;
	char source[256];     /* "built-in world (seed 1)" or the directory */
} botify_world;

/* Loads dir/tracks.json[.gz], dir/tracks.npy, dir/users.json[.gz] and, when
 * present, dir/top_tracks.json[.gz]. w must be all-zero or freed. */
int botify_world_load(botify_world *w, const char *dir, botify_err *err);

/* Reads path (plain or gzipped), a JSON array of track ids in [0, N), most
 * popular first, as top_tracks.json holds it (the world's and toppop's
 * file=): *top is malloc'd with *n ids. Messages: "path: element 2 is not a
 * track id". */
int botify_world_read_top_tracks(const char *path, int32_t N, int32_t **top, int32_t *n,
				 botify_err *err);

/* Loads only the catalog (tracks.json and tracks.npy): for commands that need
 * no users. */
int botify_world_load_catalog(botify_world *w, const char *dir, botify_err *err);

/* What botify_world_open reads of a directory. */
enum { BOTIFY_WORLD_ALL = 0, BOTIFY_WORLD_CATALOG_ONLY = 1 };

/* The one way a command opens its --world: the directory dir, or the
 * built-in world (worldgen's defaults, generated in memory) when dir is
 * NULL. BOTIFY_WORLD_CATALOG_ONLY skips a directory's users.json (for
 * commands that need only tracks); the built-in world is always whole. */
int botify_world_open(botify_world *w, const char *dir, int parts, botify_err *err);

/* Frees everything and zeroes w; safe on a zeroed or freed world. */
void botify_world_free(botify_world *w);

static inline const float *botify_world_embedding(const botify_world *w, int32_t track)
{
	return w->E + (size_t)track * (size_t)w->D;
}

const char *botify_world_title(const botify_world *w, int32_t track);
const char *botify_world_artist_name(const botify_world *w, int32_t artist);

/* Finds "name" or "name.gz" in dir; writes the path found into out (size n)
 * and returns 1, or returns 0 when neither exists. */
int botify_world_find_file(const char *dir, const char *name, char *out, size_t n);

/*
 * Building blocks shared by the loader and the generator.
 */
/* Appends s to the string pool and returns its offset in *off. */
int botify_world_intern_string(botify_world *w, const char *s, uint32_t *off, botify_err *err);
/* Builds artist_off/artist_tracks from artist[]. */
int botify_world_index_artists(botify_world *w, botify_err *err);
/* Checks the users' interests and numeric fields against the catalog; what
 * names the source for messages. */
int botify_world_check_users(const botify_world *w, const char *what, botify_err *err);

/* Writes w as a world directory (tracks.json, tracks.npy, users.json,
 * top_tracks.json), each file atomically; creates dir if needed. Existing
 * files are refused unless force. (lib/world_save.c) */
int botify_world_save(const botify_world *w, const char *dir, int force, botify_err *err);

/* Parses one users.json line (already parsed JSON) into u, appending its
 * interests to the world's pool. Exposed for the fuzz target. */
struct botify_jsonl;
int botify_world_parse_user(botify_world *w, const struct botify_jsonl *r, const void *json,
			    int64_t *user_id, botify_user *u, botify_err *err);

#endif
