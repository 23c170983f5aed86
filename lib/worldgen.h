/*
 * worldgen.h - the synthetic world generator behind the built-in default
 * world and `botify datagen`.
 *
 * Generative model (datasets/README.md has the details and calibration):
 * genre centroids -> artist centroids -> track vectors, all Gaussian; artist
 * sizes and genre sizes have heavy-tailed weights; track popularity is
 * Zipf-like; each user gets distinct interests drawn by popularity,
 * consume_bias ~ U(0, bias_max) and consume_sharpness = U(1,2)^(+-1).
 * The same parameters and seed give the same world, bit for bit.
 */
#ifndef BOTIFY_WORLDGEN_H
#define BOTIFY_WORLDGEN_H

#include <stdint.h>

#include "err.h"
#include "world.h"

typedef struct botify_worldgen_params {
	int64_t tracks;            /* N */
	int64_t users;             /* U */
	int64_t dim;               /* D */
	int64_t seed;
	int64_t genres;
	int64_t interests_per_user;
	double tracks_per_artist;  /* mean artist size: A = round(N / this) */
	double artist_size_decay;  /* artist size weight ~ exp(-rank / (decay * A)) */
	double genre_zipf;         /* genre weight ~ (rank + 1)^-genre_zipf */
	double popularity_zipf;    /* track popularity ~ (rank + 1)^-popularity_zipf */
	double popularity_genre;   /* how much a popular genre lifts its tracks' rank */
	double popularity_artist;  /* how much a prolific artist lifts its tracks' rank */
	double genre_scale;        /* per-coordinate std of genre centroids */
	double artist_scale;       /* ... of an artist around its genre */
	double track_scale;        /* ... of a track around its artist */
	double consume_bias_max;   /* consume_bias ~ U(0, this) */
} botify_worldgen_params;

/* The default world's parameters: 50 000 tracks x 100 dims, 10 000 users. */
void botify_worldgen_defaults(botify_worldgen_params *p);

/* Applies a preset file (a JSON object with any of the fields above) on top
 * of *p. Unknown keys are errors. */
int botify_worldgen_load_preset(botify_worldgen_params *p, const char *path, botify_err *err);

/* Checks ranges (sizes >= 1, scales >= 0, ...). */
int botify_worldgen_check(const botify_worldgen_params *p, botify_err *err);

/* Generates the world into w (all-zero or freed). */
int botify_worldgen_generate(botify_world *w, const botify_worldgen_params *p, botify_err *err);

/* The same on `threads` threads (at most BOTIFY_WORLDGEN_MAX_THREADS):
 * the same world, bit for bit, for any count. */
#define BOTIFY_WORLDGEN_MAX_THREADS 64
int botify_worldgen_generate_threads(botify_world *w, const botify_worldgen_params *p, int threads,
				     botify_err *err);

#endif
