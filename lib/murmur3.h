/*
 * murmur3.h - MurmurHash3 x86_32 (Austin Appleby's reference algorithm),
 * bit-compatible with Python's mmh3.hash(key, seed, signed=False).
 */
#ifndef BOTIFY_MURMUR3_H
#define BOTIFY_MURMUR3_H

#include <stddef.h>
#include <stdint.h>

uint32_t botify_murmur3_32(const void *key, size_t len, uint32_t seed);

#endif
