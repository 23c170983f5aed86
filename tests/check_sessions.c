/*
 * check_sessions.c - the in-memory session store (Redis is exercised by
 * tests/e2e/t610-serve-redis.sh against a real server): records round trip,
 * end deletes and counts, sizes are checked, records and counts expire,
 * threads hammering one store; and the redis:// URL parser.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "sessions.h"
#include "testutil.h"

static void open_store(botify_sessions *s, botify_sessions_conn *c, int64_t users, double ttl)
{
	botify_sessions_opts o = { .n_users = users, .ttl = ttl };
	botify_err err = {0};
	ck_assert_msg(botify_sessions_init(s, &o, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(botify_sessions_conn_open(c, s, &err), 0);
}

START_TEST(records_round_trip_and_end_counts_sessions)
{
	botify_sessions s;
	botify_sessions_conn c;
	open_store(&s, &c, 10, 3600);
	botify_err err = {0};
	unsigned char rec[40], back[40];
	uint64_t ended = 99;
	ck_assert_int_eq(botify_sessions_get(&c, 3, back, sizeof(back), &ended, &err), 0);
	ck_assert_uint_eq(ended, 0);
	for (int i = 0; i < 40; i++)
		rec[i] = (unsigned char)(i * 7);
	ck_assert_int_eq(botify_sessions_put(&c, 3, rec, sizeof(rec), &err), 0);
	memset(back, 0, sizeof(back));
	ck_assert_int_eq(botify_sessions_get(&c, 3, back, sizeof(back), &ended, &err), 1);
	ck_assert_mem_eq(back, rec, sizeof(rec));
	/* other users are untouched */
	ck_assert_int_eq(botify_sessions_get(&c, 4, back, sizeof(back), &ended, &err), 0);
	ck_assert_int_eq(botify_sessions_end(&c, 3, &err), 0);
	ck_assert_int_eq(botify_sessions_get(&c, 3, back, sizeof(back), &ended, &err), 0);
	ck_assert_uint_eq(ended, 1);
	ck_assert_int_eq(botify_sessions_end(&c, 3, &err), 0); /* a lone "last" is a session too */
	ck_assert_int_eq(botify_sessions_get(&c, 3, back, sizeof(back), &ended, &err), 0);
	ck_assert_uint_eq(ended, 2);
	botify_sessions_conn_close(&c);
	botify_sessions_free(&s);
	botify_sessions_free(&s); /* twice is safe */
}
END_TEST

START_TEST(sizes_and_users_are_checked)
{
	botify_sessions s;
	botify_sessions_conn c;
	open_store(&s, &c, 10, 3600);
	botify_err err = {0};
	unsigned char rec[16] = { 1 }, small[8];
	uint64_t ended;
	ck_assert_int_eq(botify_sessions_put(&c, 2, rec, sizeof(rec), &err), 0);
	ck_assert_int_eq(botify_sessions_get(&c, 2, small, sizeof(small), &ended, &err), -1);
	tu_assert_has(err.msg, "the session of user 2 has 16 bytes, expected 8");
	ck_assert_int_eq(botify_sessions_get(&c, 10, rec, sizeof(rec), &ended, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERANGE);
	ck_assert_int_eq(botify_sessions_put(&c, -1, rec, sizeof(rec), &err), -1);
	ck_assert_int_eq(botify_sessions_end(&c, 10, &err), -1);
	/* a record of another size replaces the old one */
	ck_assert_int_eq(botify_sessions_put(&c, 2, small, sizeof(small), &err), 0);
	ck_assert_int_eq(botify_sessions_get(&c, 2, small, sizeof(small), &ended, &err), 1);
	botify_sessions_conn_close(&c);
	botify_sessions_free(&s);

	botify_sessions_opts o = { .n_users = 1, .ttl = 0 };
	ck_assert_int_eq(botify_sessions_init(&s, &o, &err), -1);
	tu_assert_has(err.msg, "ttl");
	botify_sessions_free(&s);
}
END_TEST

START_TEST(records_and_counts_expire)
{
	botify_sessions s;
	botify_sessions_conn c;
	open_store(&s, &c, 4, 0.05);
	botify_err err = {0};
	unsigned char rec[8] = { 5 };
	uint64_t ended = 0;
	ck_assert_int_eq(botify_sessions_end(&c, 1, &err), 0);
	ck_assert_int_eq(botify_sessions_put(&c, 1, rec, sizeof(rec), &err), 0);
	ck_assert_int_eq(botify_sessions_get(&c, 1, rec, sizeof(rec), &ended, &err), 1);
	struct timespec nap = { 0, 120 * 1000000L };
	nanosleep(&nap, NULL);
	ck_assert_int_eq(botify_sessions_get(&c, 1, rec, sizeof(rec), &ended, &err), 0);
	ck_assert_uint_eq(ended, 0);
	botify_sessions_conn_close(&c);
	botify_sessions_free(&s);
}
END_TEST

struct hammer {
	botify_sessions *s;
	int id;
	int failures;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	botify_sessions_conn c;
	botify_err err = {0};
	botify_sessions_conn_open(&c, h->s, &err);
	uint64_t rec[4], back[4], ended;
	for (int i = 0; i < 20000; i++) {
		int64_t user = (i * 7 + h->id) % 64;
		/* users of thread id are id, id+4, ...: no two threads share one */
		user = user - user % 4 + h->id;
		for (int k = 0; k < 4; k++)
			rec[k] = (uint64_t)user * 1000 + (uint64_t)i;
		if (botify_sessions_put(&c, user, rec, sizeof(rec), &err) != 0 ||
		    botify_sessions_get(&c, user, back, sizeof(back), &ended, &err) != 1 ||
		    memcmp(rec, back, sizeof(rec)) != 0)
			h->failures++;
		if (i % 5 == 0 && botify_sessions_end(&c, user, &err) != 0)
			h->failures++;
	}
	botify_sessions_conn_close(&c);
	return NULL;
}

START_TEST(threads_share_a_store)
{
	botify_sessions s;
	botify_sessions_conn c;
	open_store(&s, &c, 64, 3600);
	pthread_t t[4];
	struct hammer h[4];
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){ &s, i, 0 };
		pthread_create(&t[i], NULL, hammer_run, &h[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(h[i].failures, 0);
	}
	botify_sessions_conn_close(&c);
	botify_sessions_free(&s);
}
END_TEST

START_TEST(redis_urls_parse)
{
	char host[64], pw[32];
	int port, db;
	botify_err err = {0};
	ck_assert_int_eq(botify_sessions_parse_url("redis://127.0.0.1:6380/2", host, sizeof(host), &port, &db, pw, sizeof(pw), &err), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_int_eq(port, 6380);
	ck_assert_int_eq(db, 2);
	ck_assert_str_eq(pw, "");
	ck_assert_int_eq(botify_sessions_parse_url("redis://:s3cret@cache", host, sizeof(host), &port, &db, pw, sizeof(pw), &err), 0);
	ck_assert_str_eq(host, "cache");
	ck_assert_int_eq(port, 6379);
	ck_assert_int_eq(db, 0);
	ck_assert_str_eq(pw, "s3cret");
	ck_assert_int_eq(botify_sessions_parse_url("redis://h/", host, sizeof(host), &port, &db, pw, sizeof(pw), &err), 0);
	const char *bad[] = { "http://h", "redis://", "redis://h:0", "redis://h:70000", "redis://h:12x",
			      "redis://h/x", "redis://h/1/2", "redis://pw@h" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(botify_sessions_parse_url(bad[i], host, sizeof(host), &port, &db, pw, sizeof(pw), &err) == -1,
			      "'%s' was accepted", bad[i]);
		tu_assert_has(err.msg, bad[i]);
	}
}
END_TEST

Suite *sessions_suite(void)
{
	Suite *s = suite_create("sessions");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, records_round_trip_and_end_counts_sessions);
	tcase_add_test(tc, sizes_and_users_are_checked);
	tcase_add_test(tc, records_and_counts_expire);
	tcase_add_test(tc, threads_share_a_store);
	tcase_add_test(tc, redis_urls_parse);
	suite_add_tcase(s, tc);
	return s;
}
