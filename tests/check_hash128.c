/* check_hash128.c - the caches' content hash: the same bytes give the same
 * hash however they are fed, and any change of a byte, of the length or of
 * the order of the pieces gives another. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "hash128.h"
#include "testutil.h"

static void hash_of(const void *p, size_t n, uint64_t out[2])
{
	botify_hash128 h;
	botify_hash128_init(&h);
	botify_hash128_bytes(&h, p, n);
	botify_hash128_final(&h, out);
}

static unsigned char data[1000];

static void fill(void)
{
	uint64_t x = 12345;
	for (size_t i = 0; i < sizeof(data); i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		data[i] = (unsigned char)(x >> 56);
	}
}

START_TEST(hash128_pieces_equal_whole)
{
	fill();
	uint64_t whole[2];
	hash_of(data, sizeof(data), whole);
	/* every split into two pieces, and a feed of one byte at a time */
	for (size_t cut = 0; cut <= sizeof(data); cut += 7) {
		botify_hash128 h;
		botify_hash128_init(&h);
		botify_hash128_bytes(&h, data, cut);
		botify_hash128_bytes(&h, data + cut, sizeof(data) - cut);
		uint64_t got[2];
		botify_hash128_final(&h, got);
		ck_assert_msg(got[0] == whole[0] && got[1] == whole[1], "split at %zu", cut);
	}
	botify_hash128 h;
	botify_hash128_init(&h);
	for (size_t i = 0; i < sizeof(data); i++)
		botify_hash128_bytes(&h, data + i, 1);
	uint64_t got[2];
	botify_hash128_final(&h, got);
	ck_assert(got[0] == whole[0] && got[1] == whole[1]);
}
END_TEST

/* The hash names the cache files: these are the values every release so
 * far gave (empty, a tail only, one block, blocks and a tail), so a rewrite
 * that changed them would orphan every cache on disk. */
START_TEST(hash128_known_values)
{
	unsigned char b[1000];
	for (int i = 0; i < 1000; i++)
		b[i] = (unsigned char)(i * 7 + 3);
	const size_t len[5] = { 0, 31, 32, 100, 1000 };
	const char *want[5] = { "7ebda816f57c67d12ce27ae88057217c", "d457d6564b26dd72282cda6029499cdf",
				"3dd05cabae341ae3d1c6aa8d477c6216", "6c3aafa945a8114905cb42b3e43b31a5",
				"8ef8b6783198976660228aa6142c1499" };
	for (int j = 0; j < 5; j++) {
		uint64_t k[2];
		char hex[33];
		hash_of(b, len[j], k);
		botify_hash128_hex(k, hex);
		ck_assert_str_eq(hex, want[j]);
	}
}
END_TEST

START_TEST(hash128_tells_contents_apart)
{
	fill();
	uint64_t base[2], other[2];
	hash_of(data, sizeof(data), base);
	/* one flipped bit anywhere, in each lane of a block and in the tail */
	for (size_t i = 0; i < sizeof(data); i += 3) {
		data[i] ^= 0x10;
		hash_of(data, sizeof(data), other);
		data[i] ^= 0x10;
		ck_assert_msg(other[0] != base[0] && other[1] != base[1], "byte %zu", i);
	}
	/* trailing zeros are not padding: every length of zeros differs */
	unsigned char zeros[70] = {0};
	uint64_t prev[2] = {0, 0};
	for (size_t n = 0; n <= sizeof(zeros); n++) {
		hash_of(zeros, n, other);
		ck_assert_msg(other[0] != prev[0], "%zu zeros", n);
		memcpy(prev, other, sizeof(prev));
	}
	/* swapped 32-byte blocks */
	unsigned char swapped[64];
	memcpy(swapped, data + 32, 32);
	memcpy(swapped + 32, data, 32);
	hash_of(data, 64, base);
	hash_of(swapped, 64, other);
	ck_assert(other[0] != base[0]);
	char hex[33];
	botify_hash128_hex(base, hex);
	ck_assert_uint_eq(strlen(hex), 32);
}
END_TEST

Suite *hash128_suite(void)
{
	Suite *s = suite_create("hash128");
	TCase *tc = tcase_create("hash");
	tcase_add_test(tc, hash128_pieces_equal_whole);
	tcase_add_test(tc, hash128_known_values);
	tcase_add_test(tc, hash128_tells_contents_apart);
	suite_add_tcase(s, tc);
	return s;
}
