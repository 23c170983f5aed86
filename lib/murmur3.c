/*
 * murmur3.c - MurmurHash3 x86_32. Blocks are read little-endian byte by byte
 * so the result does not depend on alignment or host byte order.
 */
#include "murmur3.h"

static inline uint32_t rotl32(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

uint32_t botify_murmur3_32(const void *key, size_t len, uint32_t seed)
{
	const unsigned char *p = key;
	const uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
	uint32_t h = seed;
	size_t nblocks = len / 4;

	for (size_t i = 0; i < nblocks; i++, p += 4) {
		uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			     (uint32_t)p[3] << 24;
		k *= c1;
		k = rotl32(k, 15);
		k *= c2;
		h ^= k;
		h = rotl32(h, 13);
		h = h * 5 + 0xe6546b64;
	}

	uint32_t k = 0;
	switch (len & 3) {
	case 3: k ^= (uint32_t)p[2] << 16; /* fall through */
	case 2: k ^= (uint32_t)p[1] << 8;  /* fall through */
	case 1:
		k ^= p[0];
		k *= c1;
		k = rotl32(k, 15);
		k *= c2;
		h ^= k;
	}

	h ^= (uint32_t)len;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}
