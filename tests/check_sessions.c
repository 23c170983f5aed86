/*
 * check_sessions.c - the in-memory session store (Redis is exercised by
 * tests/e2e/t610-serve-redis.sh against a real server): records round trip,
 * end deletes and counts, sizes are checked, records and counts expire,
 * threads hammering one store; the redis:// URL parser; and the Redis
 * client against fake servers on loopback that give wrong replies (an echo
 * is what a socket connected to itself reads back).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

static int64_t fake_clock(void *arg)
{
	return *(int64_t *)arg;
}

/* The memory store on a clock the test moves: a record lives exactly ttl ms
 * after its last write, an ended-session count ttl ms after it last grew,
 * and a write restarts the record's ttl. */
START_TEST(records_and_counts_expire)
{
	botify_sessions s;
	botify_sessions_conn c;
	open_store(&s, &c, 4, 0.05);
	int64_t now = 1000;
	botify_sessions_set_clock(&s, fake_clock, &now);
	botify_err err = {0};
	unsigned char rec[8] = { 5 };
	uint64_t ended = 0;
	ck_assert_int_eq(botify_sessions_end(&c, 1, &err), 0);
	ck_assert_int_eq(botify_sessions_put(&c, 1, rec, sizeof(rec), &err), 0);
	now += 50; /* exactly ttl: still alive */
	ck_assert_int_eq(botify_sessions_get(&c, 1, rec, sizeof(rec), &ended, &err), 1);
	ck_assert_int_eq(botify_sessions_put(&c, 1, rec, sizeof(rec), &err), 0);
	now += 50; /* the write above restarted the record's ttl */
	ck_assert_int_eq(botify_sessions_get(&c, 1, rec, sizeof(rec), &ended, &err), 1);
	now += 1;  /* past it */
	ck_assert_int_eq(botify_sessions_get(&c, 1, rec, sizeof(rec), &ended, &err), 0);
	ck_assert_uint_eq(ended, 0); /* the count, 101 ms old, went too */

	/* a count lives ttl after its last increment */
	ck_assert_int_eq(botify_sessions_end(&c, 2, &err), 0);
	now += 40;
	ck_assert_int_eq(botify_sessions_end(&c, 2, &err), 0);
	now += 50;
	ck_assert_int_eq(botify_sessions_get(&c, 2, rec, sizeof(rec), &ended, &err), 0);
	ck_assert_uint_eq(ended, 2);
	now += 1;
	ck_assert_int_eq(botify_sessions_get(&c, 2, rec, sizeof(rec), &ended, &err), 0);
	ck_assert_uint_eq(ended, 0);

	/* the real clock again: a fresh record is alive */
	botify_sessions_set_clock(&s, NULL, NULL);
	ck_assert_int_eq(botify_sessions_put(&c, 3, rec, sizeof(rec), &err), 0);
	ck_assert_int_eq(botify_sessions_get(&c, 3, rec, sizeof(rec), &ended, &err), 1);
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
		if (!strchr(bad[i], '@'))
			tu_assert_has(err.msg, bad[i]);
	}
	/* what may be a password is never shown */
	ck_assert_int_eq(botify_sessions_parse_url("redis://s3cret@h", host, sizeof(host), &port, &db, pw, sizeof(pw), &err), -1);
	tu_assert_has(err.msg, "'redis://***@h'");
	ck_assert_int_eq(botify_sessions_parse_url("redis://:s3cret@h:x", host, sizeof(host), &port, &db, pw, sizeof(pw), &err), -1);
	tu_assert_has(err.msg, "'redis://***@h:x'");
	ck_assert_ptr_null(strstr(err.msg, "s3cret"));
}
END_TEST

/* ---- fake Redis servers ---- */

/* Answers each command with answer(command name), or echoes it (answer
 * NULL). Serves connections one at a time until stopped. */
struct fake {
	int lfd, port;
	const char *(*answer)(const char *cmd);
	volatile int stop;
	pthread_t th;
};

/* Length of the first complete RESP command in buf (0: incomplete); its
 * name (first argument) into name. */
static size_t resp_command(const char *buf, size_t n, char *name, size_t name_n)
{
	const char *p = buf, *end = buf + n;
	if (p >= end || *p != '*')
		return 0;
	char *q;
	long argc = strtol(p + 1, &q, 10);
	if (q + 2 > end)
		return 0;
	p = q + 2;
	for (long i = 0; i < argc; i++) {
		if (p >= end || *p != '$')
			return 0;
		long len = strtol(p + 1, &q, 10);
		if (q + 2 > end || q + 2 + len + 2 > end)
			return 0;
		if (i == 0) {
			size_t m = (size_t)len < name_n - 1 ? (size_t)len : name_n - 1;
			memcpy(name, q + 2, m);
			name[m] = 0;
		}
		p = q + 2 + len + 2;
	}
	return (size_t)(p - buf);
}

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	while (!f->stop) {
		struct pollfd pl = { f->lfd, POLLIN, 0 };
		if (poll(&pl, 1, 50) <= 0)
			continue;
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		char buf[8192];
		size_t have = 0;
		for (;;) {
			struct pollfd pc = { fd, POLLIN, 0 };
			if (f->stop)
				break;
			if (poll(&pc, 1, 50) <= 0)
				continue;
			ssize_t r = read(fd, buf + have, sizeof(buf) - have);
			if (r <= 0)
				break;
			if (!f->answer) {
				if (write(fd, buf + have, (size_t)r) != r)
					break;
				continue;
			}
			have += (size_t)r;
			char name[32];
			size_t used;
			while ((used = resp_command(buf, have, name, sizeof(name))) > 0) {
				const char *a = f->answer(name);
				if (write(fd, a, strlen(a)) < 0)
					break;
				memmove(buf, buf + used, have - used);
				have -= used;
			}
		}
		close(fd);
	}
	return NULL;
}

static void fake_start(struct fake *f, const char *(*answer)(const char *))
{
	/* as in `botify serve`, which ignores SIGPIPE: a peer that closes first
	 * (the fake after a wrong reply, the client after an error) must give
	 * a write error, not end the test's process */
	signal(SIGPIPE, SIG_IGN);
	memset(f, 0, sizeof(*f));
	f->answer = answer;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(f->lfd, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(f->lfd, 8), 0);
	socklen_t n = sizeof(sa);
	ck_assert_int_eq(getsockname(f->lfd, (struct sockaddr *)&sa, &n), 0);
	f->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pthread_create(&f->th, NULL, fake_run, f), 0);
}

static void fake_stop(struct fake *f)
{
	f->stop = 1;
	pthread_join(f->th, NULL);
	close(f->lfd);
}

static int open_redis(botify_sessions *s, int port, botify_err *err)
{
	char url[64];
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
	botify_sessions_opts o = { .redis_url = url, .ttl = 60, .timeout = 2 };
	return botify_sessions_init(s, &o, err);
}

START_TEST(redis_echo_is_refused)
{
	/* what a connection to itself reads: its own commands */
	struct fake f;
	fake_start(&f, NULL);
	botify_sessions s;
	botify_err err = {0};
	ck_assert_int_eq(open_redis(&s, f.port, &err), -1);
	tu_assert_has(err.msg, "PING: unexpected reply");
	botify_sessions_free(&s);
	fake_stop(&f);
}
END_TEST

static const char *pong_to_all(const char *cmd)
{
	(void)cmd;
	return "+PONG\r\n";
}

static const char *int_to_get(const char *cmd)
{
	if (!strcasecmp(cmd, "PING"))
		return "+PONG\r\n";
	if (!strcasecmp(cmd, "GET"))
		return ":7\r\n";
	if (!strcasecmp(cmd, "SET"))
		return "$2\r\nOK\r\n"; /* a bulk string, not the status OK */
	if (!strcasecmp(cmd, "EXEC"))
		return "*2\r\n:1\r\n:1\r\n"; /* two results for three commands */
	if (!strcasecmp(cmd, "MULTI"))
		return "+OK\r\n";
	return "+QUEUED\r\n";
}

START_TEST(redis_replies_are_checked)
{
	struct fake f;
	fake_start(&f, pong_to_all);
	botify_sessions s;
	botify_sessions_conn c;
	botify_err err = {0};
	unsigned char rec[8] = { 0 };
	uint64_t ended;
	/* PING answers PONG: the store opens; then every other reply is wrong */
	ck_assert_msg(open_redis(&s, f.port, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(botify_sessions_conn_open(&c, &s, &err), 0);
	ck_assert_int_eq(botify_sessions_get(&c, 1, rec, sizeof(rec), &ended, &err), -1);
	tu_assert_has(err.msg, "GET: unexpected reply, a status 'PONG'");
	ck_assert_int_eq(botify_sessions_put(&c, 1, rec, sizeof(rec), &err), -1);
	tu_assert_has(err.msg, "SET: unexpected reply");
	ck_assert_int_eq(botify_sessions_end(&c, 1, &err), -1);
	tu_assert_has(err.msg, "DEL/INCR: unexpected reply");
	botify_sessions_conn_close(&c);
	botify_sessions_free(&s);
	fake_stop(&f);

	fake_start(&f, int_to_get);
	ck_assert_msg(open_redis(&s, f.port, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(botify_sessions_conn_open(&c, &s, &err), 0);
	ck_assert_int_eq(botify_sessions_get(&c, 1, rec, sizeof(rec), &ended, &err), -1);
	tu_assert_has(err.msg, "GET: unexpected reply, an integer");
	ck_assert_int_eq(botify_sessions_put(&c, 1, rec, sizeof(rec), &err), -1);
	tu_assert_has(err.msg, "SET: unexpected reply, a string 'OK'");
	ck_assert_int_eq(botify_sessions_end(&c, 1, &err), -1);
	tu_assert_has(err.msg, "DEL/INCR: unexpected reply, an array");
	botify_sessions_conn_close(&c);
	botify_sessions_free(&s);
	fake_stop(&f);
}
END_TEST

START_TEST(self_connections_are_recognised)
{
	/* a socket bound to a port and connected to that same port: TCP's
	 * simultaneous open connects it to itself */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t n = sizeof(sa);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &n), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(botify_sessions_self_connected(fd), 1);
	close(fd);

	struct fake f;
	fake_start(&f, NULL);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = htons((uint16_t)f.port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(botify_sessions_self_connected(fd), 0);
	close(fd);
	fake_stop(&f);
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
	tcase_add_test(tc, redis_echo_is_refused);
	tcase_add_test(tc, redis_replies_are_checked);
	tcase_add_test(tc, self_connections_are_recognised);
	suite_add_tcase(s, tc);
	return s;
}
