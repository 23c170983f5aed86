/*
 * hash128.h - a fast 128-bit content hash, for the keys and checksums of
 * the on-disk caches (nbcache, worldcache).
 *
 * It tells contents apart; it is no defence against someone forging a file.
 * Four independent multiply-rotate lanes over 32-byte blocks (the round of
 * xxHash64), so hashing runs at several bytes per cycle: the caches hash
 * tens of megabytes on every run they serve. Feeding the same bytes in
 * different pieces gives the same hash.
 */
#ifndef BOTIFY_HASH128_H
#define BOTIFY_HASH128_H

#include <stddef.h>
#include <stdint.h>

typedef struct botify_hash128 {
	uint64_t lane[4];
	uint64_t n;                /* bytes fed so far */
	unsigned char tail[32];    /* bytes waiting for a whole block */
	size_t tail_n;
} botify_hash128;

void botify_hash128_init(botify_hash128 *h);
void botify_hash128_bytes(botify_hash128 *h, const void *p, size_t n);
void botify_hash128_i64(botify_hash128 *h, int64_t v);
void botify_hash128_final(const botify_hash128 *h, uint64_t out[2]);

/* out[0..32]: the 128-bit hash as 32 hex digits and a NUL. */
void botify_hash128_hex(const uint64_t k[2], char out[33]);

#endif
