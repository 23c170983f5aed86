/*
 * sessions.c - the session store: a striped-lock array in memory, or Redis
 * through hiredis (see sessions.h for the contract both keep). hiredis is
 * loaded at the first connection (dynlib.h says why).
 */
#include "sessions.h"

#include <stdarg.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis.h>

#include "dynlib.h"

/* hiredis's functions, typed by its own header */
static struct {
	__typeof__(redisConnectWithTimeout) *connect_with_timeout;
	__typeof__(redisFree) *free_ctx;
	__typeof__(redisSetTimeout) *set_timeout;
	__typeof__(redisvCommand) *vcommand;
	__typeof__(redisCommand) *command;
	__typeof__(redisAppendCommand) *append_command;
	__typeof__(redisGetReply) *get_reply;
	__typeof__(freeReplyObject) *free_reply_object;
} hiredis;

static const botify_dynsym hiredis_syms[] = {
	BOTIFY_DYNSYM(redisConnectWithTimeout, hiredis.connect_with_timeout),
	BOTIFY_DYNSYM(redisFree, hiredis.free_ctx),
	BOTIFY_DYNSYM(redisSetTimeout, hiredis.set_timeout),
	BOTIFY_DYNSYM(redisvCommand, hiredis.vcommand),
	BOTIFY_DYNSYM(redisCommand, hiredis.command),
	BOTIFY_DYNSYM(redisAppendCommand, hiredis.append_command),
	BOTIFY_DYNSYM(redisGetReply, hiredis.get_reply),
	BOTIFY_DYNSYM(freeReplyObject, hiredis.free_reply_object),
};

static botify_dynlib libhiredis = {
	.soname = BOTIFY_SONAME_HIREDIS, .needed_by = "botify serve --redis", .syms = hiredis_syms,
	.n_syms = sizeof(hiredis_syms) / sizeof(hiredis_syms[0]),
};

int botify_sessions_load_redis(botify_err *err)
{
	return botify_dynlib_load(&libhiredis, err);
}

struct botify_session_slot {
	void *rec;         /* NULL: no live session */
	size_t size;
	int64_t rec_ms;    /* when rec was last written */
	uint64_t ended;
	int64_t ended_ms;  /* when ended last grew */
};

static int64_t now_ms(const botify_sessions *s)
{
	if (s->clock_ms)
		return s->clock_ms(s->clock_arg);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int botify_sessions_parse_url(const char *url, char *host, size_t host_n, int *port, int *db,
			      char *password, size_t password_n, botify_err *err)
{
	/* messages show the url without its password */
	char shown[300];
	const char *at0 = strchr(url, '@');
	if (at0 && !strncmp(url, "redis://", 8))
		snprintf(shown, sizeof(shown), "redis://***%s", at0);
	else
		snprintf(shown, sizeof(shown), "%s", url);
	const char *p = url;
	*port = 6379;
	*db = 0;
	password[0] = 0;
	if (strncmp(p, "redis://", 8) != 0)
		return botify_fail(err, BOTIFY_EINVAL, "redis url '%s' must start with redis://", shown);
	p += 8;
	const char *at = strchr(p, '@');
	if (at) {
		/* [user]:password@ -- Redis 6 users are not supported, only the password */
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (!colon || (size_t)(at - colon - 1) >= password_n)
			return botify_fail(err, BOTIFY_EINVAL, "redis url '%s': expected :PASSWORD@ before the host", shown);
		memcpy(password, colon + 1, (size_t)(at - colon - 1));
		password[at - colon - 1] = 0;
		p = at + 1;
	}
	size_t hl = strcspn(p, ":/");
	if (hl == 0 || hl >= host_n)
		return botify_fail(err, BOTIFY_EINVAL, "redis url '%s' has no host", shown);
	memcpy(host, p, hl);
	host[hl] = 0;
	p += hl;
	char *end;
	if (*p == ':') {
		errno = 0;
		long v = strtol(p + 1, &end, 10);
		if (end == p + 1 || errno || v < 1 || v > 65535 || (*end && *end != '/'))
			return botify_fail(err, BOTIFY_EINVAL, "redis url '%s': bad port", shown);
		*port = (int)v;
		p = end;
	}
	if (*p == '/' && p[1]) {
		errno = 0;
		long v = strtol(p + 1, &end, 10);
		if (end == p + 1 || errno || v < 0 || v > 1000000 || *end)
			return botify_fail(err, BOTIFY_EINVAL, "redis url '%s': bad database number", shown);
		*db = (int)v;
	} else if (*p && strcmp(p, "/") != 0) {
		return botify_fail(err, BOTIFY_EINVAL, "redis url '%s': unexpected '%s'", shown, p);
	}
	return 0;
}

void botify_sessions_free(botify_sessions *s)
{
	if (s->slots) {
		for (int64_t u = 0; u < s->n_users; u++)
			free(s->slots[u].rec);
		free(s->slots);
	}
	if (s->locks_ready)
		for (int i = 0; i < BOTIFY_SESSIONS_LOCKS; i++)
			pthread_mutex_destroy(&s->locks[i]);
	memset(s, 0, sizeof(*s));
}

void botify_sessions_set_clock(botify_sessions *s, int64_t (*clock_ms)(void *arg), void *arg)
{
	s->clock_ms = clock_ms;
	s->clock_arg = arg;
}

int botify_sessions_init(botify_sessions *s, const botify_sessions_opts *o, botify_err *err)
{
	memset(s, 0, sizeof(*s));
	if (!(o->ttl > 0))
		return botify_fail(err, BOTIFY_EINVAL, "session ttl must be positive");
	s->ttl_ms = (int64_t)(o->ttl * 1000) > 0 ? (int64_t)(o->ttl * 1000) : 1;
	s->timeout = o->timeout > 0 ? o->timeout : 5.0;
	if (!o->redis_url) {
		if (o->n_users < 0)
			return botify_fail(err, BOTIFY_EINVAL, "negative user count");
		s->n_users = o->n_users;
		s->slots = botify_calloc(o->n_users ? (size_t)o->n_users : 1, sizeof(*s->slots),
					 "session table", err);
		if (!s->slots)
			return -1;
		for (int i = 0; i < BOTIFY_SESSIONS_LOCKS; i++)
			pthread_mutex_init(&s->locks[i], NULL);
		s->locks_ready = 1;
		return 0;
	}
	s->redis = 1;
	const char *prefix = o->prefix ? o->prefix : "botify";
	if (!*prefix || strlen(prefix) >= sizeof(s->prefix) || strpbrk(prefix, " \t\r\n"))
		return botify_fail(err, BOTIFY_EINVAL, "redis key prefix '%s' must be 1 to %zu characters without spaces",
				   prefix, sizeof(s->prefix) - 1);
	strcpy(s->prefix, prefix);
	if (botify_sessions_parse_url(o->redis_url, s->host, sizeof(s->host), &s->port, &s->db,
				      s->password, sizeof(s->password), err) != 0)
		return -1;
	if (o->password) {
		if (strlen(o->password) >= sizeof(s->password) || strpbrk(o->password, "\r\n"))
			return botify_fail(err, BOTIFY_EINVAL, "the redis password must be 1 to %zu "
					   "characters on one line", sizeof(s->password) - 1);
		strcpy(s->password, o->password);
	}
	/* fail at start, not at the first request */
	botify_sessions_conn c;
	if (botify_sessions_conn_open(&c, s, err) != 0)
		return -1;
	botify_sessions_conn_close(&c);
	return 0;
}

/* ---- Redis ---- */

static struct timeval to_timeval(double s)
{
	struct timeval tv = { (time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6) };
	return tv;
}

static int redis_fail(botify_sessions_conn *c, const char *what, botify_err *err)
{
	c->io_errno = errno;
	redisContext *ctx = c->ctx;
	return botify_fail(err, BOTIFY_ERUNTIME, "redis %s:%d: %s: %s", c->s->host, c->s->port, what,
			   ctx && ctx->err ? ctx->errstr : "no connection");
}

static const char *reply_type(int type)
{
	switch (type) {
	case REDIS_REPLY_STRING: return "a string";
	case REDIS_REPLY_ARRAY: return "an array";
	case REDIS_REPLY_INTEGER: return "an integer";
	case REDIS_REPLY_NIL: return "nil";
	case REDIS_REPLY_STATUS: return "a status";
	case REDIS_REPLY_ERROR: return "an error";
	default: return "a reply of another type";
	}
}

/* A reply that is not what the command gives (or an error): the connection
 * is closed, since whatever answers it is not in step with us -- another
 * protocol, or a socket connected to itself reading back its own commands. */
static int bad_reply(botify_sessions_conn *c, const char *what, const redisReply *r, botify_err *err)
{
	const botify_sessions *s = c->s;
	if (r && r->type == REDIS_REPLY_ERROR)
		botify_fail(err, BOTIFY_ERUNTIME, "redis %s:%d: %s: %s", s->host, s->port, what, r->str);
	else if (r && (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING))
		botify_fail(err, BOTIFY_ERUNTIME, "redis %s:%d: %s: unexpected reply, %s '%.40s' "
			    "(not a Redis server?)", s->host, s->port, what, reply_type(r->type), r->str);
	else
		botify_fail(err, BOTIFY_ERUNTIME, "redis %s:%d: %s: unexpected reply, %s (not a Redis server?)",
			    s->host, s->port, what, r ? reply_type(r->type) : "none");
	if (c->ctx)
		hiredis.free_ctx(c->ctx);
	c->ctx = NULL;
	return -1;
}

static int is_status(const redisReply *r, const char *text)
{
	return r && r->type == REDIS_REPLY_STATUS && r->str && strcmp(r->str, text) == 0;
}

/* Runs one command whose reply must be the status `want`. */
static int command_status(botify_sessions_conn *c, const char *what, const char *want,
			  botify_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = hiredis.vcommand(c->ctx, fmt, ap);
	va_end(ap);
	if (!r)
		return redis_fail(c, what, err);
	int rc = is_status(r, want) ? 0 : bad_reply(c, what, r, err);
	hiredis.free_reply_object(r);
	return rc;
}

int botify_sessions_self_connected(int fd)
{
	struct sockaddr_storage a, b;
	socklen_t na = sizeof(a), nb = sizeof(b);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (getsockname(fd, (struct sockaddr *)&a, &na) != 0 ||
	    getpeername(fd, (struct sockaddr *)&b, &nb) != 0)
		return 0;
	return na == nb && memcmp(&a, &b, na) == 0;
}

static int redis_connect(botify_sessions_conn *c, botify_err *err)
{
	botify_sessions *s = c->s;
	if (botify_sessions_load_redis(err) != 0)
		return -1;
	redisContext *ctx = hiredis.connect_with_timeout(s->host, s->port, to_timeval(s->timeout));
	if (!ctx)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory connecting to redis");
	c->ctx = ctx;
	if (ctx->err) {
		int rc = botify_fail(err, BOTIFY_ERUNTIME, "cannot connect to redis %s:%d: %s", s->host,
				     s->port, ctx->errstr);
		hiredis.free_ctx(ctx);
		c->ctx = NULL;
		return rc;
	}
	/* With nothing listening on a port of the local ephemeral range, a
	 * connect can be given that very port as its own: TCP's simultaneous
	 * open then connects the socket to itself, every command reads back as
	 * its reply, and the port stays taken so Redis cannot restart. */
	if (botify_sessions_self_connected(ctx->fd)) {
		/* reset, not closed: a closed one would hold the port in
		 * TIME_WAIT for a minute, and Redis could not bind it */
		struct linger lg = { 1, 0 };
		setsockopt(ctx->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		hiredis.free_ctx(ctx);
		c->ctx = NULL;
		return botify_fail(err, BOTIFY_ERUNTIME, "cannot connect to redis %s:%d: nothing listens "
				   "there (the connection reached itself)", s->host, s->port);
	}
	hiredis.set_timeout(ctx, to_timeval(s->timeout));
	if (s->password[0] && command_status(c, "AUTH", "OK", err, "AUTH %s", s->password) != 0)
		goto fail;
	if (s->db && command_status(c, "SELECT", "OK", err, "SELECT %d", s->db) != 0)
		goto fail;
	if (command_status(c, "PING", "PONG", err, "PING") != 0)
		goto fail;
	return 0;
fail:
	if (c->ctx)
		hiredis.free_ctx(c->ctx);
	c->ctx = NULL;
	return -1;
}

int botify_sessions_conn_open(botify_sessions_conn *c, botify_sessions *s, botify_err *err)
{
	c->s = s;
	c->ctx = NULL;
	return s->redis ? redis_connect(c, err) : 0;
}

void botify_sessions_conn_close(botify_sessions_conn *c)
{
	if (c->ctx)
		hiredis.free_ctx(c->ctx);
	c->ctx = NULL;
}

/* A broken connection (the server restarted, a timeout) is replaced before
 * the next command. */
static int redis_ready(botify_sessions_conn *c, botify_err *err)
{
	redisContext *ctx = c->ctx;
	if (ctx && !ctx->err)
		return 0;
	if (ctx)
		hiredis.free_ctx(ctx);
	c->ctx = NULL;
	return redis_connect(c, err);
}

static int check_user(const botify_sessions *s, int64_t user, botify_err *err)
{
	if (user < 0 || (!s->redis && user >= s->n_users))
		return botify_fail(err, BOTIFY_ERANGE, "user %lld out of range", (long long)user);
	return 0;
}

static int redis_get_once(botify_sessions_conn *c, int64_t user, void *buf, size_t size,
			  uint64_t *ended, botify_err *err);

/* Whether the connection was found closed by the other side (a Redis that
 * restarted since this thread's last call), not slow or refused. */
static int dropped(const botify_sessions_conn *c)
{
	const redisContext *ctx = c->ctx;
	return ctx && (ctx->err == REDIS_ERR_EOF ||
		       (ctx->err == REDIS_ERR_IO && (c->io_errno == ECONNRESET || c->io_errno == EPIPE)));
}

/* A call's first command: on a connection dropped since the last call it
 * reconnects and reads again (two GETs, nothing written), so a Redis restart
 * costs no failed call. */
static int redis_get(botify_sessions_conn *c, int64_t user, void *buf, size_t size,
		     uint64_t *ended, botify_err *err)
{
	c->io_errno = 0;
	int rc = redis_get_once(c, user, buf, size, ended, err);
	if (rc < 0 && dropped(c))
		rc = redis_get_once(c, user, buf, size, ended, err);
	return rc;
}

static int redis_get_once(botify_sessions_conn *c, int64_t user, void *buf, size_t size,
			  uint64_t *ended, botify_err *err)
{
	const botify_sessions *s = c->s;
	if (redis_ready(c, err) != 0)
		return -1;
	/* both keys in one round trip */
	hiredis.append_command(c->ctx, "GET %s:s:%lld", s->prefix, (long long)user);
	hiredis.append_command(c->ctx, "GET %s:n:%lld", s->prefix, (long long)user);
	redisReply *rs = NULL, *rn = NULL;
	int rc = -1;
	if (hiredis.get_reply(c->ctx, (void **)&rs) != REDIS_OK || hiredis.get_reply(c->ctx, (void **)&rn) != REDIS_OK) {
		redis_fail(c, "GET", err);
		goto out;
	}
	/* GET gives a string or nil, nothing else */
	if (rs->type != REDIS_REPLY_STRING && rs->type != REDIS_REPLY_NIL) {
		bad_reply(c, "GET", rs, err);
		goto out;
	}
	if (rn->type != REDIS_REPLY_STRING && rn->type != REDIS_REPLY_NIL) {
		bad_reply(c, "GET", rn, err);
		goto out;
	}
	if (rs->type == REDIS_REPLY_STRING) {
		if (rs->len != size) {
			botify_fail(err, BOTIFY_EFORMAT,
				    "redis key %s:s:%lld holds %zu bytes, expected a session of %zu "
				    "(a server with another recommender uses the same key prefix?)",
				    s->prefix, (long long)user, (size_t)rs->len, size);
			goto out;
		}
		memcpy(buf, rs->str, size);
		rc = 1;
		goto out;
	}
	*ended = 0;
	if (rn->type == REDIS_REPLY_STRING) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(rn->str, &end, 10);
		if (end == rn->str || *end || errno) {
			botify_fail(err, BOTIFY_EFORMAT, "redis key %s:n:%lld is not a count: '%.40s'",
				    s->prefix, (long long)user, rn->str);
			goto out;
		}
		*ended = v;
	}
	rc = 0;
out:
	if (rs)
		hiredis.free_reply_object(rs);
	if (rn)
		hiredis.free_reply_object(rn);
	return rc;
}

static int redis_put(botify_sessions_conn *c, int64_t user, const void *buf, size_t size,
		     botify_err *err)
{
	const botify_sessions *s = c->s;
	if (redis_ready(c, err) != 0)
		return -1;
	char key[96];
	snprintf(key, sizeof(key), "%s:s:%lld", s->prefix, (long long)user);
	return command_status(c, "SET", "OK", err, "SET %s %b PX %lld", key, buf, size,
			      (long long)s->ttl_ms);
}

static int redis_drop(botify_sessions_conn *c, int64_t user, botify_err *err)
{
	const botify_sessions *s = c->s;
	if (redis_ready(c, err) != 0)
		return -1;
	redisReply *r = hiredis.command(c->ctx, "DEL %s:s:%lld", s->prefix, (long long)user);
	if (!r)
		return redis_fail(c, "DEL", err);
	int rc = r->type == REDIS_REPLY_INTEGER ? 0 : bad_reply(c, "DEL", r, err);
	hiredis.free_reply_object(r);
	return rc;
}

static int redis_end(botify_sessions_conn *c, int64_t user, botify_err *err)
{
	const botify_sessions *s = c->s;
	if (redis_ready(c, err) != 0)
		return -1;
	/* one transaction: a connection lost midway must not leave the count
	 * incremented without its expiry, or the session without its count */
	hiredis.append_command(c->ctx, "MULTI");
	hiredis.append_command(c->ctx, "DEL %s:s:%lld", s->prefix, (long long)user);
	hiredis.append_command(c->ctx, "INCR %s:n:%lld", s->prefix, (long long)user);
	hiredis.append_command(c->ctx, "PEXPIRE %s:n:%lld %lld", s->prefix, (long long)user,
			   (long long)s->ttl_ms);
	hiredis.append_command(c->ctx, "EXEC");
	/* MULTI: OK; each command: QUEUED; EXEC: the three results (an
	 * integer each), or nil when the transaction was aborted */
	int rc = 0;
	for (int i = 0; i < 5; i++) {
		redisReply *r = NULL;
		if (hiredis.get_reply(c->ctx, (void **)&r) != REDIS_OK)
			return redis_fail(c, "DEL/INCR", err);
		int ok;
		if (i == 0)
			ok = is_status(r, "OK");
		else if (i < 4)
			ok = is_status(r, "QUEUED");
		else
			ok = r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
			     r->element[0]->type == REDIS_REPLY_INTEGER &&
			     r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer >= 1 &&
			     r->element[2]->type == REDIS_REPLY_INTEGER;
		if (!ok && rc == 0) {
			if (i == 4 && r->type == REDIS_REPLY_NIL)
				rc = botify_fail(err, BOTIFY_ERUNTIME, "redis %s:%d: DEL/INCR: the transaction "
						 "was aborted", s->host, s->port);
			else if (r->type == REDIS_REPLY_ERROR)
				rc = botify_fail(err, BOTIFY_ERUNTIME, "redis %s:%d: DEL/INCR: %s", s->host,
						 s->port, r->str);
			else if (i == 4 && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
				 r->element[1]->type == REDIS_REPLY_ERROR)
				rc = botify_fail(err, BOTIFY_ERUNTIME, "redis %s:%d: DEL/INCR: %s", s->host,
						 s->port, r->element[1]->str);
			else {
				/* out of step: read no further on this connection */
				rc = bad_reply(c, "DEL/INCR", r, err);
				hiredis.free_reply_object(r);
				return rc;
			}
		}
		hiredis.free_reply_object(r);
	}
	return rc;
}

/* ---- memory ---- */

static pthread_mutex_t *lock_of(botify_sessions *s, int64_t user)
{
	return &s->locks[(uint64_t)user % BOTIFY_SESSIONS_LOCKS];
}

/* With the lock held: drops what has expired. */
static void expire(botify_sessions *s, struct botify_session_slot *sl, int64_t now)
{
	if (sl->rec && now - sl->rec_ms > s->ttl_ms) {
		free(sl->rec);
		sl->rec = NULL;
	}
	if (sl->ended && now - sl->ended_ms > s->ttl_ms)
		sl->ended = 0;
}

int botify_sessions_get(botify_sessions_conn *c, int64_t user, void *buf, size_t size,
			uint64_t *ended, botify_err *err)
{
	botify_sessions *s = c->s;
	if (check_user(s, user, err) != 0)
		return -1;
	if (s->redis)
		return redis_get(c, user, buf, size, ended, err);
	struct botify_session_slot *sl = &s->slots[user];
	int rc = 0;
	pthread_mutex_lock(lock_of(s, user));
	expire(s, sl, now_ms(s));
	if (sl->rec && sl->size != size) {
		rc = botify_fail(err, BOTIFY_EFORMAT, "the session of user %lld has %zu bytes, expected %zu",
				 (long long)user, sl->size, size);
	} else if (sl->rec) {
		memcpy(buf, sl->rec, size);
		rc = 1;
	} else {
		*ended = sl->ended;
	}
	pthread_mutex_unlock(lock_of(s, user));
	return rc;
}

int botify_sessions_put(botify_sessions_conn *c, int64_t user, const void *buf, size_t size,
			botify_err *err)
{
	botify_sessions *s = c->s;
	if (check_user(s, user, err) != 0)
		return -1;
	if (s->redis)
		return redis_put(c, user, buf, size, err);
	struct botify_session_slot *sl = &s->slots[user];
	int rc = 0;
	pthread_mutex_lock(lock_of(s, user));
	if (sl->rec && sl->size != size) {
		free(sl->rec);
		sl->rec = NULL;
	}
	if (!sl->rec)
		sl->rec = botify_malloc(1, size ? size : 1, "a session", err);
	if (sl->rec) {
		memcpy(sl->rec, buf, size);
		sl->size = size;
		sl->rec_ms = now_ms(s);
	} else {
		rc = -1;
	}
	pthread_mutex_unlock(lock_of(s, user));
	return rc;
}

int botify_sessions_drop(botify_sessions_conn *c, int64_t user, botify_err *err)
{
	botify_sessions *s = c->s;
	if (check_user(s, user, err) != 0)
		return -1;
	if (s->redis)
		return redis_drop(c, user, err);
	struct botify_session_slot *sl = &s->slots[user];
	pthread_mutex_lock(lock_of(s, user));
	free(sl->rec);
	sl->rec = NULL;
	pthread_mutex_unlock(lock_of(s, user));
	return 0;
}

int botify_sessions_end(botify_sessions_conn *c, int64_t user, botify_err *err)
{
	botify_sessions *s = c->s;
	if (check_user(s, user, err) != 0)
		return -1;
	if (s->redis)
		return redis_end(c, user, err);
	struct botify_session_slot *sl = &s->slots[user];
	pthread_mutex_lock(lock_of(s, user));
	int64_t now = now_ms(s);
	expire(s, sl, now);
	free(sl->rec);
	sl->rec = NULL;
	sl->ended++;
	sl->ended_ms = now;
	pthread_mutex_unlock(lock_of(s, user));
	return 0;
}
