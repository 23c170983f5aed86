/*
 * hash128.c - the caches' content hash (see hash128.h).
 */
#include "hash128.h"

#include <stdio.h>
#include <string.h>

enum { BLOCK = 32 };

static const uint64_t P1 = 0x9e3779b185ebca87ull, P2 = 0xc2b2ae3d27d4eb4full,
		      P3 = 0x165667b19e3779f9ull, P4 = 0x85ebca77c2b2ae63ull;

static inline uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t round64(uint64_t acc, uint64_t w)
{
	return rotl(acc + w * P2, 31) * P1;
}

static inline void block(uint64_t lane[4], const unsigned char *c)
{
	uint64_t w[4];
	memcpy(w, c, BLOCK);
	for (int i = 0; i < 4; i++)
		lane[i] = round64(lane[i], w[i]);
}

void botify_hash128_init(botify_hash128 *h)
{
	h->lane[0] = P1 + P2;
	h->lane[1] = P2;
	h->lane[2] = 0;
	h->lane[3] = 0 - P1;
	h->n = 0;
	h->tail_n = 0;
}

void botify_hash128_bytes(botify_hash128 *h, const void *p, size_t n)
{
	const unsigned char *c = p;
	h->n += n;
	if (h->tail_n) {
		size_t take = BLOCK - h->tail_n < n ? BLOCK - h->tail_n : n;
		memcpy(h->tail + h->tail_n, c, take);
		h->tail_n += take;
		c += take;
		n -= take;
		if (h->tail_n < BLOCK)
			return;
		block(h->lane, h->tail);
		h->tail_n = 0;
	}
	/* the lanes in locals: through h, every block would store and reload
	 * them (c may alias h), a store-to-load wait in each round */
	uint64_t lane[4] = { h->lane[0], h->lane[1], h->lane[2], h->lane[3] };
	for (; n >= BLOCK; c += BLOCK, n -= BLOCK)
		block(lane, c);
	memcpy(h->lane, lane, sizeof(lane));
	memcpy(h->tail, c, n);
	h->tail_n = n;
}

void botify_hash128_i64(botify_hash128 *h, int64_t v)
{
	botify_hash128_bytes(h, &v, sizeof(v));
}

static uint64_t fmix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	return k ^ (k >> 33);
}

void botify_hash128_final(const botify_hash128 *h, uint64_t out[2])
{
	uint64_t lane[4];
	memcpy(lane, h->lane, sizeof(lane));
	/* the tail, zero-padded, as one more block; the length tells a
	 * padded tail from real zeros */
	unsigned char last[BLOCK] = {0};
	memcpy(last, h->tail, h->tail_n);
	block(lane, last);
	uint64_t a = rotl(lane[0], 1) + rotl(lane[1], 7) + rotl(lane[2], 12) + rotl(lane[3], 18);
	uint64_t b = (lane[0] ^ P3) * P4 + rotl(lane[1] ^ lane[3], 27) + lane[2] * P3;
	a ^= h->n;
	b ^= rotl(h->n, 17);
	a += b;
	b += a;
	out[0] = fmix(a) + fmix(b);
	out[1] = fmix(b ^ out[0]);
}

void botify_hash128_hex(const uint64_t k[2], char out[33])
{
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)k[0], (unsigned long long)k[1]);
}
