/* check_experiment.c - A/B arm assignment (lib/experiment.h) against the
 * original service's rule as computed by an independent Python
 * implementation (tests/data/murmur3/arms.txt, made by
 * tests/data/murmur3/gen_expected.py), experiment names, salted splits,
 * design names, arm names and --arms lists. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "testutil.h"

#define ARMS_FIXTURE DATA_DIR "/murmur3/arms.txt"

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

/* A salt replaces the name's hash: same run seed, same split; another run
 * seed, another split (of the same balance); the name is kept. */
START_TEST(experiment_salt_splits_afresh_per_run_seed)
{
	botify_experiment a, b, c;
	botify_err err = {0};
	ck_assert_int_eq(botify_experiment_init(&a, "exp", 2, &err), 0);
	b = a;
	c = a;
	int32_t name_seed = a.seed;
	ck_assert_int_eq(a.salted, 0);
	botify_experiment_salt(&a, 7);
	botify_experiment_salt(&b, 7);
	botify_experiment_salt(&c, 8);
	ck_assert_int_eq(a.salted, 1);
	ck_assert_str_eq(a.name, "exp");
	ck_assert_int_eq(a.seed, b.seed);
	ck_assert_int_ne(a.seed, c.seed);
	ck_assert_int_ne(a.seed, name_seed);
	enum { U = 20000 };
	int same_ac = 0, same_an = 0, in_t1 = 0;
	botify_experiment named;
	ck_assert_int_eq(botify_experiment_init(&named, "exp", 2, &err), 0);
	for (int64_t u = 0; u < U; u++) {
		int x = botify_experiment_assign(&a, u);
		ck_assert_int_eq(x, botify_experiment_assign(&b, u));
		same_ac += x == botify_experiment_assign(&c, u);
		same_an += x == botify_experiment_assign(&named, u);
		in_t1 += x;
	}
	/* independent splits agree on about half the users; the arms stay even
	 * (binomial sd: 71 users; 5 sd bounds) */
	ck_assert_int_gt(same_ac, U / 2 - 360);
	ck_assert_int_lt(same_ac, U / 2 + 360);
	ck_assert_int_gt(same_an, U / 2 - 360);
	ck_assert_int_lt(same_an, U / 2 + 360);
	ck_assert_int_gt(in_t1, U / 2 - 360);
	ck_assert_int_lt(in_t1, U / 2 + 360);
}
END_TEST

/* Every arm count splits users evenly (within 5 sd) and uses every arm. */
START_TEST(experiment_assign_even_for_every_arm_count)
{
	botify_err err = {0};
	for (int n = 1; n <= BOTIFY_MAX_ARMS; n++) {
		botify_experiment e;
		ck_assert_int_eq(botify_experiment_init(&e, "balance", n, &err), 0);
		int count[BOTIFY_MAX_ARMS] = {0};
		enum { U = 4000 };
		for (int64_t u = 0; u < U; u++) {
			int arm = botify_experiment_assign(&e, u);
			ck_assert_int_ge(arm, 0);
			ck_assert_int_lt(arm, n);
			count[arm]++;
		}
		for (int i = 0; i < n; i++) {
			double want = (double)U / n, sd = sqrt(want * (1 - 1.0 / n));
			ck_assert_msg(fabs(count[i] - want) <= 5 * sd,
				      "%d arms: arm %d has %d users, want about %.0f", n, i, count[i], want);
		}
	}
}
END_TEST

START_TEST(design_names_round_trip)
{
	ck_assert_int_eq(botify_design_parse("split"), BOTIFY_DESIGN_SPLIT);
	ck_assert_int_eq(botify_design_parse("paired"), BOTIFY_DESIGN_PAIRED);
	ck_assert_int_eq(botify_design_parse("Split"), -1);
	ck_assert_int_eq(botify_design_parse(""), -1);
	ck_assert_int_eq(botify_design_parse("pairs"), -1);
	ck_assert_str_eq(botify_design_name(BOTIFY_DESIGN_SPLIT), "split");
	ck_assert_str_eq(botify_design_name(BOTIFY_DESIGN_PAIRED), "paired");
	ck_assert_ptr_null(botify_design_name(2));
	ck_assert_ptr_null(botify_design_name(-1));
	botify_experiment e;
	botify_err err = {0};
	ck_assert_int_eq(botify_experiment_init(&e, "d", 3, &err), 0);
	ck_assert_int_eq(e.design, BOTIFY_DESIGN_SPLIT);
}
END_TEST

Suite *experiment_suite(void)
{
	Suite *s = suite_create("experiment");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30); /* hundreds of thousands of hashes; slow under ASan */
	tcase_add_test(tc, experiment_assign_matches_python_service);
	tcase_add_test(tc, experiment_assign_first_users);
	tcase_add_test(tc, experiment_init_checks_name_and_arms);
	tcase_add_test(tc, experiment_salt_splits_afresh_per_run_seed);
	tcase_add_test(tc, experiment_assign_even_for_every_arm_count);
	tcase_add_test(tc, design_names_round_trip);
	tcase_add_test(tc, arm_names_and_indices);
	tcase_add_test(tc, arms_parse_simple_and_any_order);
	tcase_add_test(tc, arms_parse_specs_with_commas);
	tcase_add_test(tc, arms_parse_errors);
	suite_add_tcase(s, tc);
	return s;
}
