/* check_armset.c - the arms of a run (lib/armset.h): one recommender or an
 * experiment from an "--arms" list or from specs, the split (the service's
 * or a salted one) as the users' assignment, the arm a log row names, and
 * the errors of each step with the arm they concern. */
#include <check.h>
#include <string.h>

#include "armset.h"
#include "experiment.h"
#include "rectest.h"
#include "testutil.h"
#include "world.h"

static botify_world W;

static void setup(void)
{
	rt_world_setup(&W);
}

static void teardown(void)
{
	rt_world_teardown(&W);
}

START_TEST(armset_one_recommender)
{
	botify_armset s;
	botify_err err = {0};
	const botify_armset_opts o = { .recommender = "sticky_artist" };
	ck_assert_msg(botify_armset_init(&s, &o, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(s.n, 1);
	ck_assert_ptr_null(botify_armset_experiment(&s));
	ck_assert_int_eq(s.n_recs, 0); /* nothing built before the world */
	botify_rec_env env = { .world = &W, .max_steps = 100 };
	ck_assert_msg(botify_armset_create(&s, &env, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(s.n_recs, 1);
	ck_assert_ptr_eq(s.recs[0], &s.rec[0]);
	ck_assert_str_eq(s.recs[0]->spec, "sticky_artist");
	for (int64_t u = 0; u < 50; u++)
		ck_assert_int_eq(botify_armset_assign(&s, u), 0);
	ck_assert_int_eq(botify_armset_log_arm(&s, 0), -1);
	botify_armset_free(&s);
	botify_armset_free(&s); /* twice is harmless */
}
END_TEST

START_TEST(armset_arms_list_in_any_order)
{
	botify_armset s;
	botify_err err = {0};
	const botify_armset_opts o = { .experiment = "AB", .arms = "T1=toppop:k=3,C=random" };
	ck_assert_msg(botify_armset_init(&s, &o, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(s.n, 2);
	ck_assert_str_eq(s.spec[0], "random");
	ck_assert_str_eq(s.spec[1], "toppop:k=3");
	const botify_experiment *e = botify_armset_experiment(&s);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->name, "AB");
	ck_assert_int_eq(e->n_arms, 2);
	ck_assert_int_eq(e->salted, 0);
	botify_experiment want;
	ck_assert_int_eq(botify_experiment_init(&want, "AB", 2, &err), 0);
	ck_assert_int_eq(e->seed, want.seed);
	int seen[2] = { 0, 0 };
	for (int64_t u = 0; u < 200; u++) {
		int a = botify_armset_assign(&s, u);
		ck_assert_int_eq(a, botify_experiment_assign(&want, u));
		ck_assert_int_eq(botify_armset_log_arm(&s, a), a);
		seen[a]++;
	}
	ck_assert(seen[0] > 0 && seen[1] > 0);
	botify_rec_env env = { .world = &W, .max_steps = 100 };
	ck_assert_msg(botify_armset_create(&s, &env, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(s.recs[0]->spec, "random");
	ck_assert_str_eq(s.recs[1]->spec, "toppop:k=3");
	botify_armset_free(&s);
}
END_TEST

START_TEST(armset_specs_with_a_fresh_split)
{
	const char *specs[3] = { "random", "random", "sticky_artist" };
	botify_armset s, t;
	botify_err err = {0};
	botify_armset_opts o = { .experiment = "AB", .specs = specs, .n_specs = 3,
				 .design = BOTIFY_DESIGN_SPLIT, .fresh_split = 1, .seed = 7 };
	ck_assert_msg(botify_armset_init(&s, &o, &err) == 0, "%s", err.msg);
	botify_experiment want;
	ck_assert_int_eq(botify_experiment_init(&want, "AB", 3, &err), 0);
	botify_experiment_salt(&want, 7);
	ck_assert_int_eq(s.exp.salted, 1);
	ck_assert_int_eq(s.exp.seed, want.seed);
	for (int64_t u = 0; u < 100; u++)
		ck_assert_int_eq(botify_armset_assign(&s, u), botify_experiment_assign(&want, u));
	/* another seed, another split */
	o.seed = 8;
	ck_assert_msg(botify_armset_init(&t, &o, &err) == 0, "%s", err.msg);
	ck_assert_int_ne(t.exp.seed, s.exp.seed);
	/* a paired design keeps the name's hash: it splits no one */
	o.design = BOTIFY_DESIGN_PAIRED;
	o.fresh_split = 0;
	botify_armset_free(&t);
	ck_assert_msg(botify_armset_init(&t, &o, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(t.exp.design, BOTIFY_DESIGN_PAIRED);
	ck_assert_int_eq(t.exp.salted, 0);
	botify_armset_free(&t);
	botify_armset_free(&s);
}
END_TEST

static void init_fails(const botify_armset_opts *o, const char *needle)
{
	botify_armset s;
	botify_err err = {0};
	ck_assert_int_ne(botify_armset_init(&s, o, &err), 0);
	ck_assert_msg(strstr(err.msg, needle) != NULL, "'%s' does not say '%s'", err.msg, needle);
	botify_armset_free(&s);
}

START_TEST(armset_errors_name_what_is_wrong)
{
	const char *specs[17] = { "random" };
	for (int i = 1; i < 17; i++)
		specs[i] = "random";
	init_fails(&(botify_armset_opts){ 0 }, "no recommender");
	init_fails(&(botify_armset_opts){ .experiment = "AB", .arms = "C=random,T1=random,C=random" },
		   "given twice");
	init_fails(&(botify_armset_opts){ .experiment = "AB", .arms = "C=random,T3=random" }, "T3");
	init_fails(&(botify_armset_opts){ .experiment = "a b", .arms = "C=random" }, "a b");
	init_fails(&(botify_armset_opts){ .experiment = "AB", .specs = specs, .n_specs = 17 }, "17");
	init_fails(&(botify_armset_opts){ .experiment = "AB", .specs = specs, .n_specs = 0 }, "0");

	/* a recommender that cannot start names its arm; those made are freed */
	botify_armset s;
	botify_err err = {0};
	const botify_armset_opts o = { .experiment = "AB", .arms = "C=random,T1=nosuch" };
	ck_assert_msg(botify_armset_init(&s, &o, &err) == 0, "%s", err.msg);
	botify_rec_env env = { .world = &W, .max_steps = 100 };
	ck_assert_int_ne(botify_armset_create(&s, &env, &err), 0);
	ck_assert_msg(strstr(err.msg, "arm T1") && strstr(err.msg, "nosuch"), "%s", err.msg);
	ck_assert_int_eq(s.n_recs, 1);
	botify_armset_free(&s);
	ck_assert_int_eq(s.n_recs, 0);
	/* without an experiment the error is the recommender's own */
	const botify_armset_opts one = { .recommender = "nosuch" };
	ck_assert_int_eq(botify_armset_init(&s, &one, &err), 0);
	ck_assert_int_ne(botify_armset_create(&s, &env, &err), 0);
	ck_assert_msg(!strstr(err.msg, "arm ") && strstr(err.msg, "nosuch"), "%s", err.msg);
	botify_armset_free(&s);
}
END_TEST

Suite *armset_suite(void)
{
	Suite *s = suite_create("armset");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, armset_one_recommender);
	tcase_add_test(tc, armset_arms_list_in_any_order);
	tcase_add_test(tc, armset_specs_with_a_fresh_split);
	tcase_add_test(tc, armset_errors_name_what_is_wrong);
	suite_add_tcase(s, tc);
	return s;
}
