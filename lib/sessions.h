/*
 * sessions.h - where `botify serve` keeps the per-session state of its
 * recommenders between requests: in this process's memory, or in Redis so
 * that several servers behind a balancer share sessions. The only module
 * that sees hiredis, which it loads at the first Redis connection
 * (dynlib.h): the memory store never maps it.
 *
 * A session record is opaque bytes of a size the caller knows (the service
 * puts a header and the recommender's state_size bytes in it; recommenders
 * keep no pointers in their state, which is what makes this possible).
 * Besides the record, the store counts the sessions each user has ended, so
 * the service can give every session its own random stream.
 *
 * Messages never show the Redis password (a URL's is shown as ***).
 *
 * Both backends behave alike: a record expires ttl seconds after it was
 * last written, a user's count of ended sessions ttl seconds after it last
 * grew (both then read as absent / 0). In Redis the keys are
 * "<prefix>:s:<user>" (the record, SET with PX ttl) and "<prefix>:n:<user>"
 * (the count, INCR and PEXPIRE), so expiry is Redis's own.
 *
 * The store is shared by threads; each thread uses it through a connection
 * of its own (botify_sessions_conn: a Redis socket, nothing in memory mode).
 * Concurrent calls for the same user do not corrupt the store; the last
 * write wins.
 */
#ifndef BOTIFY_SESSIONS_H
#define BOTIFY_SESSIONS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct botify_sessions_opts {
	const char *redis_url;  /* redis://[:PASSWORD@]HOST[:PORT][/DB]; NULL: memory */
	const char *prefix;     /* Redis key prefix; NULL: "botify" */
	const char *password;   /* Redis AUTH password; NULL: the URL's, if any */
	int64_t n_users;        /* memory: user ids are 0..n_users-1 */
	double ttl;             /* seconds; > 0 */
	double timeout;         /* Redis connect and command timeout, seconds */
} botify_sessions_opts;

#define BOTIFY_SESSIONS_LOCKS 64

typedef struct botify_sessions {
	int redis;                    /* 1: Redis backend */
	int64_t ttl_ms;
	/* memory */
	int64_t (*clock_ms)(void *arg); /* NULL: CLOCK_MONOTONIC; see set_clock */
	void *clock_arg;
	int64_t n_users;
	struct botify_session_slot *slots; /* (n_users) */
	pthread_mutex_t locks[BOTIFY_SESSIONS_LOCKS];
	int locks_ready;
	/* Redis */
	char host[256];
	int port, db;
	char password[256];
	char prefix[64];
	double timeout;
} botify_sessions;

typedef struct botify_sessions_conn {
	botify_sessions *s;
	void *ctx;                    /* redisContext *, or NULL */
	int io_errno;                 /* errno of the last failed exchange */
} botify_sessions_conn;

/* Sets up the store; with Redis, parses the URL and checks that the server
 * answers (so a wrong URL fails at start, not at the first request). */
int botify_sessions_init(botify_sessions *s, const botify_sessions_opts *o, botify_err *err);
/* Safe on a zeroed or freed store. */
void botify_sessions_free(botify_sessions *s);

int botify_sessions_conn_open(botify_sessions_conn *c, botify_sessions *s, botify_err *err);
void botify_sessions_conn_close(botify_sessions_conn *c);

/* Loads user's record into buf (size bytes). Returns 1 when found; 0 when
 * the user has no live session, with *ended = the sessions the user ended so
 * far; -1 on an error (Redis unreachable, a stored record of another size,
 * a user id out of range). */
int botify_sessions_get(botify_sessions_conn *c, int64_t user, void *buf, size_t size,
			uint64_t *ended, botify_err *err);

/* Stores user's record (size bytes), replacing any, and restarts its ttl. */
int botify_sessions_put(botify_sessions_conn *c, int64_t user, const void *buf, size_t size,
			botify_err *err);

/* Deletes user's record without counting a session: for a record found
 * unusable. */
int botify_sessions_drop(botify_sessions_conn *c, int64_t user, botify_err *err);

/* Deletes user's record and counts one more ended session. */
int botify_sessions_end(botify_sessions_conn *c, int64_t user, botify_err *err);

/* Replaces the memory store's clock (milliseconds, never going back) with
 * clock_ms(arg); NULL restores CLOCK_MONOTONIC. Lets a test age records by
 * moving a counter instead of sleeping past the ttl. Call before the store
 * is shared by threads. Redis expires keys on the server's clock, which this
 * does not change. */
void botify_sessions_set_clock(botify_sessions *s, int64_t (*clock_ms)(void *arg), void *arg);

/* 1 when the connected socket fd is connected to itself (its local and
 * peer addresses are equal); exposed for tests. */
int botify_sessions_self_connected(int fd);

/* Loads hiredis, the first time; a Redis connection does it itself.
 * Exposed for tests. */
int botify_sessions_load_redis(botify_err *err);

/* Parses a redis:// URL; exposed for tests. */
int botify_sessions_parse_url(const char *url, char *host, size_t host_n, int *port, int *db,
			      char *password, size_t password_n, botify_err *err);

#endif
