/* check_murmur3.c - MurmurHash3 x86_32 against published vectors, and A/B
 * arm assignment (lib/experiment.h) against the original service's rule as
 * computed by an independent Python implementation: the fixture
 * tests/data/murmur3/arms.txt is made by tests/data/murmur3/gen_expected.py,
 * which checks itself against the same published vectors first. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "murmur3.h"
#include "testutil.h"

#define ARMS_FIXTURE DATA_DIR "/murmur3/arms.txt"

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

/* Every line of the fixture: "NAME N_ARMS SEED USER ARM". */
START_TEST(experiment_assign_matches_python_service)
{
	FILE *fp = fopen(ARMS_FIXTURE, "r");
	ck_assert_msg(fp != NULL, "missing %s", ARMS_FIXTURE);
	char name[80];
	int n_arms, arm, lines = 0;
	long seed;
	long long user;
	int per_case[4] = {0};
	while (fscanf(fp, "%79s %d %ld %lld %d", name, &n_arms, &seed, &user, &arm) == 5) {
		botify_experiment e;
		botify_err err = {0};
		ck_assert_int_eq(botify_experiment_init(&e, name, n_arms, &err), 0);
		ck_assert_str_eq(e.name, name);
		ck_assert_int_eq(e.n_arms, n_arms);
		ck_assert_int_eq(e.seed, seed);
		int got = botify_experiment_assign(&e, user);
		ck_assert_msg(got == arm, "%s/%d user %lld: arm %d, the service gives %d", name, n_arms,
			      user, got, arm);
		if (!strcmp(name, "AA") && n_arms == 2)
			per_case[0]++;
		if (!strcmp(name, "RECOMMENDERS") && n_arms == 2)
			per_case[1]++;
		if (!strcmp(name, "RECOMMENDERS") && n_arms == 4)
			per_case[2]++;
		lines++;
	}
	ck_assert(feof(fp));
	fclose(fp);
	ck_assert_int_eq(lines, 416);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(per_case[i], 104);
}
END_TEST

/* The first ten users spelled out, so a broken fixture cannot hide a bug. */
START_TEST(experiment_assign_first_users)
{
	static const int aa2[10] = { 1, 1, 0, 1, 1, 1, 1, 1, 1, 1 };
	static const int rec2[10] = { 1, 1, 1, 0, 0, 1, 1, 0, 1, 1 };
	static const int rec4[10] = { 1, 3, 1, 0, 2, 1, 1, 2, 1, 3 };
	botify_experiment aa, r2, r4;
	botify_err err = {0};
	ck_assert_int_eq(botify_experiment_init(&aa, "AA", 2, &err), 0);
	ck_assert_int_eq(botify_experiment_init(&r2, "RECOMMENDERS", 2, &err), 0);
	ck_assert_int_eq(botify_experiment_init(&r4, "RECOMMENDERS", 4, &err), 0);
	ck_assert_int_eq(aa.seed, 1072275553);
	ck_assert_int_eq(r2.seed, -964732039); /* negative: the signed reading matters */
	for (int u = 0; u < 10; u++) {
		ck_assert_int_eq(botify_experiment_assign(&aa, u), aa2[u]);
		ck_assert_int_eq(botify_experiment_assign(&r2, u), rec2[u]);
		ck_assert_int_eq(botify_experiment_assign(&r4, u), rec4[u]);
	}
	/* one arm: everyone is in control */
	botify_experiment one;
	ck_assert_int_eq(botify_experiment_init(&one, "AA", 1, &err), 0);
	for (int u = 0; u < 100; u++)
		ck_assert_int_eq(botify_experiment_assign(&one, u), 0);
}
END_TEST

START_TEST(experiment_init_checks_name_and_arms)
{
	botify_experiment e;
	botify_err err = {0};
	char longname[80];
	memset(longname, 'x', 65);
	longname[65] = 0;
	ck_assert_int_eq(botify_experiment_init(&e, longname, 2, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	longname[64] = 0; /* exactly 64 is fine */
	ck_assert_int_eq(botify_experiment_init(&e, longname, 2, &err), 0);
	ck_assert_str_eq(e.name, longname);
	ck_assert_int_eq(botify_experiment_init(&e, "", 2, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	ck_assert_int_eq(botify_experiment_init(&e, "A B", 2, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	tu_assert_has(err.msg, "'A B'");
	ck_assert_int_eq(botify_experiment_init(&e, "a\"b", 2, &err), -1);
	ck_assert_int_eq(botify_experiment_init(&e, "Ok_name-1.2", 2, &err), 0);
	ck_assert_int_eq(botify_experiment_init(&e, "AB", 0, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	ck_assert_int_eq(botify_experiment_init(&e, "AB", BOTIFY_MAX_ARMS + 1, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	ck_assert_int_eq(botify_experiment_init(&e, "AB", BOTIFY_MAX_ARMS, &err), 0);
}
END_TEST

START_TEST(arm_names_and_indices)
{
	ck_assert_str_eq(botify_arm_name(0), "C");
	ck_assert_str_eq(botify_arm_name(1), "T1");
	ck_assert_str_eq(botify_arm_name(9), "T9");
	ck_assert_str_eq(botify_arm_name(10), "T10");
	ck_assert_str_eq(botify_arm_name(15), "T15");
	ck_assert_ptr_null(botify_arm_name(-1));
	ck_assert_ptr_null(botify_arm_name(16));
	for (int i = 0; i < BOTIFY_MAX_ARMS; i++)
		ck_assert_int_eq(botify_arm_index(botify_arm_name(i)), i);
	ck_assert_int_eq(botify_arm_index("C"), 0);
	ck_assert_int_eq(botify_arm_index("T3"), 3);
	const char *bad[] = { "", "c", "T", "T0", "T01", "T16", "t1", "C ", "CT", "T1x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(botify_arm_index(bad[i]) == -1, "'%s' is not an arm", bad[i]);
}
END_TEST

START_TEST(arms_parse_simple_and_any_order)
{
	botify_arms a;
	botify_err err = {0};
	ck_assert_int_eq(botify_arms_parse(&a, "C=random,T1=sticky_artist", &err), 0);
	ck_assert_int_eq(a.n, 2);
	ck_assert_str_eq(a.spec[0], "random");
	ck_assert_str_eq(a.spec[1], "sticky_artist");
	ck_assert_ptr_null(a.spec[2]);
	botify_arms_free(&a);
	ck_assert_int_eq(a.n, 0);
	ck_assert_ptr_null(a.spec[0]);
	botify_arms_free(&a); /* twice is fine */

	ck_assert_int_eq(botify_arms_parse(&a, "T2=toppop:k=10,C=random,T1=indexed:file=r.json", &err), 0);
	ck_assert_int_eq(a.n, 3);
	ck_assert_str_eq(a.spec[0], "random");
	ck_assert_str_eq(a.spec[1], "indexed:file=r.json");
	ck_assert_str_eq(a.spec[2], "toppop:k=10");
	botify_arms_free(&a);

	ck_assert_int_eq(botify_arms_parse(&a, "C=random", &err), 0);
	ck_assert_int_eq(a.n, 1);
	ck_assert_str_eq(a.spec[0], "random");
	botify_arms_free(&a);

	/* sixteen arms, the most there are */
	char list[512] = "C=random";
	for (int i = 1; i < BOTIFY_MAX_ARMS; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), ",T%d=toppop:k=%d", i, i);
	ck_assert_int_eq(botify_arms_parse(&a, list, &err), 0);
	ck_assert_int_eq(a.n, BOTIFY_MAX_ARMS);
	ck_assert_str_eq(a.spec[15], "toppop:k=15");
	botify_arms_free(&a);
}
END_TEST

/* A comma starts a new arm only before C= or T<n>=. */
START_TEST(arms_parse_specs_with_commas)
{
	botify_arms a;
	botify_err err = {0};
	ck_assert_int_eq(botify_arms_parse(&a, "C=ranked_sticky:model=m,t=0.1,p=0.3,T1=random", &err), 0);
	ck_assert_int_eq(a.n, 2);
	ck_assert_str_eq(a.spec[0], "ranked_sticky:model=m,t=0.1,p=0.3");
	ck_assert_str_eq(a.spec[1], "random");
	botify_arms_free(&a);

	ck_assert_int_eq(botify_arms_parse(&a, "C=toppop:file=top.json,k=5,T1=nn:model=dir,k=7,Tx=1", &err), 0);
	ck_assert_int_eq(a.n, 2);
	ck_assert_str_eq(a.spec[0], "toppop:file=top.json,k=5");
	ck_assert_str_eq(a.spec[1], "nn:model=dir,k=7,Tx=1");
	botify_arms_free(&a);
}
END_TEST

static void expect_arms_fail(const char *list, const char *needle)
{
	botify_arms a;
	botify_err err = {0};
	ck_assert_msg(botify_arms_parse(&a, list, &err) == -1, "'%s' parsed", list);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	tu_assert_has(err.msg, needle);
	ck_assert_int_eq(a.n, 0);
	for (int i = 0; i < BOTIFY_MAX_ARMS; i++)
		ck_assert_ptr_null(a.spec[i]);
	botify_arms_free(&a);
}

START_TEST(arms_parse_errors)
{
	expect_arms_fail("", "no arms");
	expect_arms_fail("T1=random", "'C' missing");
	expect_arms_fail("T1=random,T2=toppop", "'C' missing");
	expect_arms_fail("C=random,T2=sticky_artist", "'T2' given but 'T1' missing");
	expect_arms_fail("C=random,T1=a,T3=b", "'T3' given but 'T2' missing");
	expect_arms_fail("C=random,C=sticky_artist", "arm 'C' given twice");
	expect_arms_fail("C=random,T1=a,T1=b", "arm 'T1' given twice");
	expect_arms_fail("C=random,T16=x", "unknown arm 'T16'");
	expect_arms_fail("C=random,T0=x", "unknown arm 'T0'");
	expect_arms_fail("X=random", "expected C=SPEC or T<n>=SPEC");
	expect_arms_fail("random", "expected C=SPEC");
	expect_arms_fail("C=", "arm 'C' has no recommender");
	expect_arms_fail("C=random,T1=", "arm 'T1' has no recommender");
	expect_arms_fail("C=random,T123456789=x", "too long");
}
END_TEST

Suite *murmur3_suite(void)
{
	Suite *s = suite_create("murmur3");
	TCase *tc = tcase_create("hash");
	tcase_add_test(tc, murmur3_published_vectors);
	tcase_add_test(tc, murmur3_alignment_independent);
	suite_add_tcase(s, tc);
	tc = tcase_create("experiment");
	tcase_add_test(tc, experiment_assign_matches_python_service);
	tcase_add_test(tc, experiment_assign_first_users);
	tcase_add_test(tc, experiment_init_checks_name_and_arms);
	tcase_add_test(tc, arm_names_and_indices);
	tcase_add_test(tc, arms_parse_simple_and_any_order);
	tcase_add_test(tc, arms_parse_specs_with_commas);
	tcase_add_test(tc, arms_parse_errors);
	suite_add_tcase(s, tc);
	return s;
}
