/* check_murmur3.c - MurmurHash3 x86_32 against published vectors, at any
 * alignment. Arm assignment, which is built on it, is in check_experiment.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "murmur3.h"
#include "testutil.h"

static const struct vec {
	const char *key;
	size_t len;
	uint32_t seed, want;
} vectors[] = {
	/* SMHasher-derived lists (Bitcoin Core's hash_tests.cpp, Ian Boyd's
	 * Stack Overflow answer 31929528), mmh3's and Wikipedia's examples */
	{ "", 0, 0, 0x00000000 },
	{ "", 0, 1, 0x514E28B7 },
	{ "", 0, 0xffffffff, 0x81F16F39 },
	{ "\0\0\0\0", 4, 0, 0x2362F9DE },
	{ "\x21\x43\x65\x87", 4, 0, 0xF55B516B },
	{ "\x21\x43\x65\x87", 4, 0x5082EDEE, 0x2362F9DE },
	{ "\x21\x43\x65", 3, 0, 0x7E4A8634 },
	{ "\x21\x43", 2, 0, 0xA0F7B07A },
	{ "\x21", 1, 0, 0x72661CF4 },
	{ "\xff\xff\xff\xff", 4, 0, 0x76293B50 },
	{ "\0", 1, 0, 0x514E28B7 },
	{ "\xff", 1, 0, 0xFD6CF10D },
	{ "aaaa", 4, 0x9747b28c, 0x5A97808A },
	{ "aaa", 3, 0x9747b28c, 0x283E0130 },
	{ "aa", 2, 0x9747b28c, 0x5D211726 },
	{ "a", 1, 0x9747b28c, 0x7FA09EA6 },
	{ "abcd", 4, 0x9747b28c, 0xF0478627 },
	{ "abc", 3, 0, 0xB3DD93FA },
	{ "test", 4, 0, 0xBA6BD213 },
	{ "test", 4, 0x9747b28c, 0x704B81DC },
	{ "Hello, world!", 13, 0, 0xC0363E43 },
	{ "Hello, world!", 13, 0x9747b28c, 0x24884CBA },
	{ "\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80", 16, 0x9747b28c,
	  0xD58063C1 }, /* "ππππππππ" in UTF-8 */
	{ "The quick brown fox jumps over the lazy dog", 43, 0, 0x2E4FF723 },
	{ "The quick brown fox jumps over the lazy dog", 43, 0x9747b28c, 0x2FA826CD },
	{ "foo", 3, 0, 4138058784u }, /* mmh3.hash("foo", signed=False) */
};

START_TEST(murmur3_published_vectors)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vec *v = &vectors[i];
		uint32_t got = botify_murmur3_32(v->key, v->len, v->seed);
		ck_assert_msg(got == v->want, "vector %zu (len %zu, seed 0x%08x): 0x%08x, want 0x%08x",
			      i, v->len, v->seed, got, v->want);
	}
	/* 256 'a's: several blocks */
	char a256[256];
	memset(a256, 'a', sizeof(a256));
	ck_assert_uint_eq(botify_murmur3_32(a256, 256, 0x9747b28c), 0x37405BDC);
}
END_TEST

/* The result depends on the bytes, not on where they sit in memory. */
START_TEST(murmur3_alignment_independent)
{
	const char *s = "The quick brown fox jumps over the lazy dog";
	char buf[64];
	for (int off = 0; off < 8; off++) {
		memcpy(buf + off, s, 43);
		ck_assert_uint_eq(botify_murmur3_32(buf + off, 43, 0x9747b28c), 0x2FA826CD);
	}
}
END_TEST

Suite *murmur3_suite(void)
{
	Suite *s = suite_create("murmur3");
	TCase *tc = tcase_create("hash");
	tcase_add_test(tc, murmur3_published_vectors);
	tcase_add_test(tc, murmur3_alignment_independent);
	suite_add_tcase(s, tc);
	return s;
}
