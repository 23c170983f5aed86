/*
 * worldcache.h - generated worlds on disk, so a short run does not spend
 * most of its time generating the built-in world again.
 *
 * A generated world is a function of its parameters and of the generator's
 * code. The key hashes both: every parameter field, and the generator's
 * digest (the hash of the worlds it makes of a few fixed parameter sets,
 * BOTIFY_WORLDCACHE_GENERATOR; check_worldcache fails until it is updated
 * after a change to what the generator makes), so no run takes a world that
 * the current generator would not make.
 *
 * File dir/world-KEY.bin: "BOTIFYWC", u32 version, u32 byte-order mark,
 * 16-byte key, i32 N, D, U, A, n_interests, n_top, u32 size of a user
 * record, u32 0, u64 bytes of names; then the embeddings, the tracks'
 * artists, the artists' names and the tracks' titles (offsets), the users,
 * the interests, top_tracks, the names, the source line (256 bytes); then a
 * 64-bit checksum of all that. A file that is short, long, of another
 * version or key, fails its checksum or its id ranges is ignored and
 * replaced. Files are written to a temporary name and renamed (not synced:
 * a file torn by a crash fails its checksum), so concurrent runs never read
 * a half-written file.
 */
#ifndef BOTIFY_WORLDCACHE_H
#define BOTIFY_WORLDCACHE_H

#include <pthread.h>
#include <stddef.h>

#include "err.h"
#include "world.h"
#include "worldgen.h"

enum botify_worldcache_status {
	BOTIFY_WORLDCACHE_GENERATED, /* generated here (and written to the cache unless why says not) */
	BOTIFY_WORLDCACHE_LOADED,    /* taken from the cache file */
};

/* The cache file of p's world in dir: dir/world-KEY.bin. */
int botify_worldcache_path(const botify_worldgen_params *p, const char *dir, char *out, size_t n,
			   botify_err *err);

/* The world of p into w (all-zero or freed): read from path when it holds
 * a valid copy, else generated and written there. *status says which. why
 * (why_n bytes) receives a warning, or "": an invalid file that was
 * ignored, or a cache file that could not be written; neither fails the
 * call. Fails (-1) only as botify_worldgen_generate does (or ENOMEM). */
int botify_worldcache_generate(botify_world *w, const botify_worldgen_params *p, const char *path,
			       int threads, int *status, char *why, size_t why_n, botify_err *err);

/* A cache file being written on a thread of its own. */
typedef struct botify_worldcache_writer {
	const botify_world *w;
	botify_worldgen_params p;
	char path[4200];
	pthread_t tid;
	int running, done, failed, why_taken;
	botify_err err;
} botify_worldcache_writer;

/* As botify_worldcache_generate (threads: the generator's), but a world it
 * generates is written by a thread of wr while the caller goes on (the
 * file appears whole or not at all, as always). w must stay as it is until
 * botify_worldcache_writer_finish(wr), which waits for the file and puts
 * in why what botify_worldcache_generate would have said of writing it
 * ("" if nothing); call it on every path after a success (once is enough;
 * again is harmless). */
int botify_worldcache_generate_bg(botify_world *w, const botify_worldgen_params *p, const char *path,
				  int threads, int *status, char *why, size_t why_n,
				  botify_worldcache_writer *wr, botify_err *err);
void botify_worldcache_writer_finish(botify_worldcache_writer *wr, char *why, size_t why_n);

/* The generator's digest as 32 hex digits: what BOTIFY_WORLDCACHE_GENERATOR
 * must be (generates the default world and two small ones). */
int botify_worldcache_generator_digest(char hex[33], botify_err *err);

/* The value the cache keys use; check_worldcache compares it with the
 * digest above. */
#define BOTIFY_WORLDCACHE_GENERATOR "89c2aa290194f0e31f6d7d8d789ab363"

#endif
