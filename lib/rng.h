/*
 * rng.h - reproducible random streams.
 *
 * xoshiro256** seeded through splitmix64 from a key (domain, seed, a, b, c),
 * so every episode gets its own independent stream derived from (seed, day,
 * episode, purpose) and results do not depend on which thread ran the
 * episode. The first word names the key's family: keys of two families are
 * never equal, whatever their other words (without it an episode's (seed,
 * day 2, episode, purpose) could be a world generator's (seed, 2, phase, 0)).
 */
#ifndef BOTIFY_RNG_H
#define BOTIFY_RNG_H

#include <stdint.h>

typedef struct botify_rng {
	uint64_t s[4];
} botify_rng;

/* Key families, one per user of random streams; the words after the seed
 * are the family's own. */
typedef enum botify_rng_domain {
	BOTIFY_RNG_EPISODE = 1,  /* sim: (seed, day, episode, stream) */
	BOTIFY_RNG_WORLDGEN,     /* worldgen: (seed, phase) */
	BOTIFY_RNG_MODEL_INIT,   /* twotower's initial weights: (seed, tensor) */
	BOTIFY_RNG_TRAIN,        /* train: (seed, purpose, epoch) */
	BOTIFY_RNG_SESSION,      /* serve's sessions: (seed, user, sessions ended) */
	BOTIFY_RNG_SALT,         /* an experiment's salt: (run seed) */
	BOTIFY_RNG_TEST,         /* data the tests and tools make up */
} botify_rng_domain;

/* Streams drawn for one episode: the user's choices and the recommender's. */
enum { BOTIFY_STREAM_USER = 0, BOTIFY_STREAM_REC = 1 };

/* Seeds r from the key (domain, seed, a, b, c); distinct keys give
 * independent streams. */
void botify_rng_init(botify_rng *r, botify_rng_domain domain, uint64_t seed, uint64_t a,
		     uint64_t b, uint64_t c);

/* The same key word by word, for streams whose keys share their first
 * words (a run's episodes share (domain, seed, day)): those words are
 * mixed once. botify_rng_seed_key(r, botify_rng_key_then(... (
 * botify_rng_key_of(domain, seed), a), b), c)) is botify_rng_init(r,
 * domain, seed, a, b, c). */
typedef struct botify_rng_key {
	uint64_t h;
} botify_rng_key;

botify_rng_key botify_rng_key_of(botify_rng_domain domain, uint64_t seed);
botify_rng_key botify_rng_key_then(botify_rng_key k, uint64_t word);
void botify_rng_seed_key(botify_rng *r, botify_rng_key k);

/* The draws are defined here, inline (C99: rng.c holds their one external
 * definition), so that the simulator's steps and the recommenders make
 * them without a call each. */
inline uint64_t botify_rng_u64(botify_rng *r)
{
	uint64_t *s = r->s;
	uint64_t m = s[1] * 5;
	uint64_t result = ((m << 7) | (m >> 57)) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return result;
}

/* Uniform double in [0, 1) with 53 random bits. */
inline double botify_rng_uniform(botify_rng *r)
{
	return (double)(botify_rng_u64(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n) without modulo bias; n must be > 0. */
inline uint64_t botify_rng_below(botify_rng *r, uint64_t n)
{
	/* Lemire's multiply-shift with rejection of the biased low range */
	unsigned __int128 m = (unsigned __int128)botify_rng_u64(r) * n;
	uint64_t lo = (uint64_t)m;
	if (lo < n) {
		uint64_t threshold = -n % n;
		while (lo < threshold) {
			m = (unsigned __int128)botify_rng_u64(r) * n;
			lo = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

/* Standard normal deviate (Marsaglia polar method). */
double botify_rng_normal(botify_rng *r);

/* out[0..n) = n calls of botify_rng_normal, the same values and the same
 * words taken from r, in about two thirds of the time. */
void botify_rng_normals(botify_rng *r, double *out, int64_t n);

/* botify_rng_normals in two halves, so that one thread can walk the
 * (serial) stream while others take the logarithms: the pairs draws the
 * words of n deviates, keeping each accepted pair's u and s = u^2 + v^2
 * (u_out, s_out: n each); the finish turns them into the deviates (out may
 * be u). Together: the values and the words of botify_rng_normals. */
void botify_rng_polar_pairs(botify_rng *r, double *u_out, double *s_out, int64_t n);
void botify_rng_polar_finish(const double *u, const double *s, int64_t n, double *out);

#endif
