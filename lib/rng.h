/*
 * rng.h - reproducible random streams.
 *
 * xoshiro256** seeded through splitmix64 from a (seed, a, b, c) key, so every
 * episode gets its own independent stream derived from (seed, day, episode,
 * purpose) and results do not depend on which thread ran the episode.
 */
#ifndef BOTIFY_RNG_H
#define BOTIFY_RNG_H

#include <stdint.h>

typedef struct botify_rng {
	uint64_t s[4];
} botify_rng;

/* Streams drawn for one episode: the user's choices and the recommender's. */
enum { BOTIFY_STREAM_USER = 0, BOTIFY_STREAM_REC = 1, BOTIFY_STREAM_GEN = 2 };

/* Seeds r from the key (seed, a, b, c); distinct keys give independent streams. */
void botify_rng_init(botify_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c);

uint64_t botify_rng_u64(botify_rng *r);

/* Uniform double in [0, 1) with 53 random bits. */
double botify_rng_uniform(botify_rng *r);

/* Uniform integer in [0, n) without modulo bias; n must be > 0. */
uint64_t botify_rng_below(botify_rng *r, uint64_t n);

/* Standard normal deviate (Marsaglia polar method). */
double botify_rng_normal(botify_rng *r);

#endif
