/*
 * nbcache.h - the simulator's interest-neighbour table on disk.
 *
 * The table depends only on the world and the user model, so a run can take
 * it from an earlier one. The key is a content hash of what the table is
 * made from, as loaded (so a generated world and the same world written by
 * datagen, gzipped or not, share it): the embeddings, every user's
 * interests and interest_neighbours, the user-model config's
 * interest_neighbours, and the version of the search. A file holds rows of
 * (track, its K neighbours) for the interests computed so far; a run that
 * needs more computes the rest and writes the union back.
 *
 * File: "BOTIFYNB", u32 version, u32 byte-order mark, 16-byte key, i32 N, D,
 * K, i64 rows, rows x (1 + K) i32, then a 64-bit checksum of all that. A file
 * that is short, long, of another version or key, or fails its checksum or
 * its id ranges is ignored (and replaced by the run's own table). Files are
 * written to a temporary name and renamed (not synced: a file torn by a
 * crash fails its checksum), so concurrent runs never read a half-written
 * file; the last writer wins with a complete table.
 */
#ifndef BOTIFY_NBCACHE_H
#define BOTIFY_NBCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "sim.h"

/* The key of s's neighbour table (s initialised, not necessarily prepared)
 * as 32 hex digits plus NUL. */
void botify_nbcache_key(const botify_sim *s, char hex[33]);

/* The file of a key in dir: dir/nb-KEY.bin. */
int botify_nbcache_path(const char *dir, const char *hex, char *out, size_t n, botify_err *err);

enum botify_nbcache_status {
	BOTIFY_NBCACHE_ABSENT,   /* no file */
	BOTIFY_NBCACHE_LOADED,   /* rows taken into s */
	BOTIFY_NBCACHE_INVALID,  /* a file that is not a valid table of this key: why says why */
};

/* Reads path into s before botify_sim_prepare: every cached row becomes a
 * prepared interest. s must have no rows yet. *rows receives the rows
 * taken. Fails (-1) only on ENOMEM or an unreadable existing file (EIO);
 * a bad file is BOTIFY_NBCACHE_INVALID with the reason in why. */
int botify_nbcache_load(botify_sim *s, const char *path, const char *hex, int *status,
			int64_t *rows, char *why, size_t why_n, botify_err *err);

/* Writes all of s's rows to path (temporary file, then rename). */
int botify_nbcache_save(const botify_sim *s, const char *path, const char *hex, botify_err *err);

#endif
