/*
 * service.c - routing, sessions and logging of the botify service API (see
 * service.h for the contract).
 */
#include "service.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "event.h"
#include "murmur3.h"
#include "recproto.h"
#include "rng.h"

#define SESSION_MAGIC 0x32535442u    /* "BTS2" read as little-endian bytes */
#define LOG_BUF (256 * 1024)
#define START_CHECK_WAIT 0.3     /* seconds a started exec: child must live */

/* The record's header; the recommender's state follows it. Plain bytes, so
 * it can live in Redis (read back by the same build of botify). */
struct session_header {
	uint32_t magic;
	uint32_t arm;
	uint32_t spec_hash;   /* murmur3 of the arm's spec: another server's
			       * recommender may have the same state size */
	uint32_t reserved;
	uint64_t state_size;
	uint64_t serial;      /* sessions the user ended before this one */
	uint64_t calls;       /* calls of this session so far */
	botify_rng rng;       /* the session's stream */
};

struct botify_service_worker {
	void *rec_worker[BOTIFY_MAX_ARMS];
	botify_sessions_conn conn;
	int conn_open;
	unsigned char *record;
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void free_worker(const botify_service *s, struct botify_service_worker *wk)
{
	for (int a = 0; a < s->o.arms->n; a++)
		if (wk->rec_worker[a])
			botify_rec_worker_free(s->o.arms->recs[a], wk->rec_worker[a]);
	if (wk->conn_open)
		botify_sessions_conn_close(&wk->conn);
	free(wk->record);
	memset(wk, 0, sizeof(*wk));
}

void botify_service_free(botify_service *s)
{
	if (s->workers)
		for (int i = 0; i < s->n_workers; i++)
			free_worker(s, &s->workers[i]);
	free(s->workers);
	free(s->free_list);
	botify_servelog_free(&s->log);
	if (s->ready) {
		pthread_mutex_destroy(&s->pool_mu);
		pthread_cond_destroy(&s->pool_cv);
		pthread_mutex_destroy(&s->log_mu);
	}
	memset(s, 0, sizeof(*s));
}

int botify_service_init(botify_service *s, const botify_service_opts *o, botify_err *err)
{
	memset(s, 0, sizeof(*s));
	s->o = *o;
	const botify_armset *arms = o->arms;
	if (arms->n < 1 || arms->n_recs != arms->n)
		return botify_fail(err, BOTIFY_EINVAL, "%d of %d arms have a recommender", arms->n_recs,
				   arms->n);
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_cond_init(&s->pool_cv, NULL);
	pthread_mutex_init(&s->log_mu, NULL);
	s->ready = 1;
	for (int a = 0; a < arms->n; a++) {
		size_t n = sizeof(struct session_header) + arms->recs[a]->state_size;
		if (n > s->record_max)
			s->record_max = n;
	}
	int n = o->workers > 0 ? o->workers : 1;
	s->workers = botify_calloc((size_t)n, sizeof(*s->workers), "service workers", err);
	s->free_list = botify_calloc((size_t)n, sizeof(int), "service workers", err);
	if (!s->workers || !s->free_list)
		goto fail;
	if (o->log && botify_servelog_init(&s->log, o->log, LOG_BUF, err) != 0)
		goto fail;
	s->n_workers = n;
	for (int i = 0; i < n; i++) {
		struct botify_service_worker *wk = &s->workers[i];
		if (!(wk->record = botify_malloc(1, s->record_max, "session record", err)))
			goto fail;
		for (int a = 0; a < arms->n; a++)
			if (botify_rec_worker_init(arms->recs[a], &wk->rec_worker[a], err) != 0)
				goto fail;
		if (botify_sessions_conn_open(&wk->conn, o->sessions, err) != 0)
			goto fail;
		wk->conn_open = 1;
		s->free_list[s->n_free++] = i;
	}
	/* children that cannot run have exited by now; one wait for all */
	double deadline = botify_rec_now() + START_CHECK_WAIT;
	for (int i = 0; i < n; i++)
		for (int a = 0; a < arms->n; a++)
			if (botify_rec_worker_check(arms->recs[a], s->workers[i].rec_worker[a], deadline, err) != 0) {
				if (arms->has_experiment)
					botify_err_prefix(err, "arm %s", botify_arm_name(a));
				goto fail;
			}
	return 0;
fail:
	botify_service_free(s);
	return -1;
}

static struct botify_service_worker *borrow(botify_service *s)
{
	pthread_mutex_lock(&s->pool_mu);
	while (s->n_free == 0) /* more server threads than slots: wait for one */
		pthread_cond_wait(&s->pool_cv, &s->pool_mu);
	struct botify_service_worker *wk = &s->workers[s->free_list[--s->n_free]];
	pthread_mutex_unlock(&s->pool_mu);
	return wk;
}

static void give_back(botify_service *s, struct botify_service_worker *wk)
{
	pthread_mutex_lock(&s->pool_mu);
	s->free_list[s->n_free++] = (int)(wk - s->workers);
	pthread_cond_signal(&s->pool_cv);
	pthread_mutex_unlock(&s->pool_mu);
}

/* Writes the call's row; 0 once it is on disk (or without a log). */
static int log_row(botify_service *s, const botify_event *e)
{
	if (!s->o.log)
		return 0;
	char line[BOTIFY_EVENT_MAX_LINE];
	const botify_experiment *exp = botify_armset_experiment(s->o.arms);
	size_t n = botify_event_format(line, e, exp ? exp->name : NULL);
	return botify_servelog_row(&s->log, line, n);
}

/* A call whose row was written but whose session could not be stored. */
static void logged_unanswered(botify_service *s, int rc)
{
	if (!s->o.log || rc == 0)
		return;
	pthread_mutex_lock(&s->log_mu);
	s->stats.logged_failed++;
	pthread_mutex_unlock(&s->log_mu);
}

static void count_answer(botify_service *s, int message)
{
	pthread_mutex_lock(&s->log_mu);
	if (message == BOTIFY_MSG_LAST)
		s->stats.last++;
	else
		s->stats.next++;
	pthread_mutex_unlock(&s->log_mu);
}

int botify_service_close_log(botify_service *s, botify_err *err)
{
	return s->o.log ? botify_servelog_close(&s->log, err) : 0;
}

botify_service_stats botify_service_get_stats(botify_service *s)
{
	pthread_mutex_lock(&s->log_mu);
	botify_service_stats st = s->stats;
	pthread_mutex_unlock(&s->log_mu);
	return st;
}

static void count_reject(botify_service *s, int status)
{
	pthread_mutex_lock(&s->log_mu);
	if (status >= 500)
		s->stats.failed++;
	else
		s->stats.rejected++;
	pthread_mutex_unlock(&s->log_mu);
}

static void reply_error(botify_service *s, botify_http_reply *reply, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void reply_error(botify_service *s, botify_http_reply *reply, int status, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	botify_http_reply_error(reply, status, msg);
	count_reject(s, status);
}

static void reply_text(botify_http_reply *reply, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_text(botify_http_reply *reply, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(reply->buf, sizeof(reply->buf), fmt, ap);
	va_end(ap);
	reply->status = status;
	reply->body = reply->buf;
	reply->len = n < 0 ? 0 : (size_t)n < sizeof(reply->buf) ? (size_t)n : sizeof(reply->buf) - 1;
}

/* A session record read back from the store is bytes anyone with access to
 * the store may have written: every field is checked before use. */
static int check_record(const botify_service *s, const botify_rec *rec, int arm, uint32_t spec_hash,
			int64_t user, const unsigned char *record, botify_err *err)
{
	const struct session_header *h = (const struct session_header *)record;
	if (h->magic != SESSION_MAGIC || h->arm != (uint32_t)arm || h->spec_hash != spec_hash ||
	    h->state_size != rec->state_size)
		return botify_fail(err, BOTIFY_EFORMAT, "the stored session of user %lld belongs to another "
				   "recommender (arm %u, spec hash %08x, %llu bytes of state; want arm %d, %08x, %zu bytes)",
				   (long long)user, h->arm, h->spec_hash, (unsigned long long)h->state_size, arm,
				   spec_hash, rec->state_size);
	if (h->reserved != 0 || h->calls < 1 || h->calls > (uint64_t)s->o.max_steps ||
	    (h->rng.s[0] | h->rng.s[1] | h->rng.s[2] | h->rng.s[3]) == 0)
		return botify_fail(err, BOTIFY_EFORMAT, "the stored session of user %lld is corrupt "
				   "(%llu calls, a random state%s valid)", (long long)user,
				   (unsigned long long)h->calls,
				   (h->rng.s[0] | h->rng.s[1] | h->rng.s[2] | h->rng.s[3]) ? "" : " not");
	if (botify_rec_check_state(rec, record + sizeof(*h), err) != 0)
		return botify_err_prefix(err, "the stored session of user %lld is corrupt", (long long)user);
	return 0;
}

/* Drops an unusable record (the next call starts a new session) and says
 * so in err; a failure to drop it is added to the message. */
static void drop_record(struct botify_service_worker *wk, int64_t user, botify_err *err)
{
	botify_err derr = {0};
	size_t n = strnlen(err->msg, sizeof(err->msg) - 1);
	if (botify_sessions_drop(&wk->conn, user, &derr) == 0)
		snprintf(err->msg + n, sizeof(err->msg) - n, "; the session was dropped");
	else
		snprintf(err->msg + n, sizeof(err->msg) - n, "; dropping it failed: %s", derr.msg);
}

/* The call's user (from the path) and body, checked against the world: 0,
 * or -1 once the error is answered. */
static int read_call(botify_service *s, const char *id, size_t id_len, const botify_http_request *req,
		     botify_http_reply *reply, botify_rec_call *call)
{
	const botify_world *w = s->o.world;
	char q[64];
	int64_t user;
	if (botify_recproto_parse_id(id, id_len, &user) != 0) {
		reply_error(s, reply, 400, "user '%s' is not a non-negative integer",
			    botify_recproto_quote(q, sizeof(q), id, id_len));
		return -1;
	}
	if (user >= w->U) { /* the id as given: a huge one was clamped */
		reply_error(s, reply, 404, "unknown user %s (the world has %d users)",
			    botify_recproto_quote(q, sizeof(q), id, id_len), w->U);
		return -1;
	}
	*call = (botify_rec_call){ user, 0, 0 };
	botify_err err = {0};
	if (botify_recproto_parse_body(req->body, req->body_len, &call->track, &call->time, &err) != 0) {
		reply_error(s, reply, 400, "%s", err.msg);
		return -1;
	}
	if (!(call->time >= 0 && call->time <= 1)) { /* a share of the track */
		reply_error(s, reply, 400, "'time' must be from 0 to 1, not %g", call->time);
		return -1;
	}
	if (call->track >= w->N) {
		reply_error(s, reply, 404, "unknown track %d (the catalog has %d tracks)", call->track, w->N);
		return -1;
	}
	return 0;
}

/* The user's session record in wk->record (size bytes): the stored one,
 * checked, or a new one. 0, or the HTTP status of the failure with err
 * set; an unusable stored record is dropped. */
static int open_session(botify_service *s, struct botify_service_worker *wk, int arm,
			const botify_rec *rec, int64_t user, size_t size, botify_err *err)
{
	struct session_header *h = (struct session_header *)wk->record;
	uint64_t ended = 0;
	int found = botify_sessions_get(&wk->conn, user, wk->record, size, &ended, err);
	if (found < 0 && err->code == BOTIFY_EFORMAT) { /* a record of the wrong size */
		drop_record(wk, user, err);
		return 500;
	}
	if (found < 0)
		return err->code == BOTIFY_ERUNTIME ? 503 : 500;
	uint32_t spec_hash = botify_murmur3_32(rec->spec, strlen(rec->spec), 0);
	if (found && check_record(s, rec, arm, spec_hash, user, wk->record, err) != 0) {
		drop_record(wk, user, err);
		return 500;
	}
	if (!found) {
		memset(wk->record, 0, size);
		h->magic = SESSION_MAGIC;
		h->arm = (uint32_t)arm;
		h->spec_hash = spec_hash;
		h->state_size = rec->state_size;
		h->serial = ended;
		botify_rng_init(&h->rng, BOTIFY_RNG_SESSION, s->o.seed, (uint64_t)user, ended, 0);
	}
	return 0;
}

/* The call's row, then its session stored ("next") or ended ("last"): 0,
 * or the HTTP status of the failure with err set. A call whose row cannot
 * be written is answered 503 and leaves its session as it was. */
static int record_call(botify_service *s, struct botify_service_worker *wk, int message,
		       const botify_event *e, size_t size, botify_err *err)
{
	if (log_row(s, e) != 0) {
		botify_fail(err, BOTIFY_EIO, "the log cannot be written: %s", s->log.err.msg);
		return 503;
	}
	int rc = message == BOTIFY_MSG_NEXT ? botify_sessions_put(&wk->conn, e->user, wk->record, size, err)
					    : botify_sessions_end(&wk->conn, e->user, err);
	if (rc == 0)
		return 0;
	logged_unanswered(s, rc);
	return err->code == BOTIFY_ERUNTIME ? 503 : 500;
}

/* POST /next/<user> and /last/<user>, after the path was matched. */
static void handle_call(botify_service *s, int message, const char *id, size_t id_len,
			const botify_http_request *req, botify_http_reply *reply)
{
	double t0 = mono();
	botify_rec_call call;
	if (read_call(s, id, id_len, req, reply, &call) != 0)
		return;
	int64_t user = call.user;
	int arm = botify_armset_assign(s->o.arms, user);
	const botify_rec *rec = s->o.arms->recs[arm];
	size_t size = sizeof(struct session_header) + rec->state_size;

	struct botify_service_worker *wk = borrow(s);
	struct session_header *h = (struct session_header *)wk->record;
	botify_err err = {0};
	int32_t out = -1;
	int status = open_session(s, wk, arm, rec, user, size, &err);
	if (status)
		goto done;
	if (message == BOTIFY_MSG_NEXT && h->calls >= (uint64_t)s->o.max_steps) {
		botify_fail(&err, BOTIFY_ERANGE, "the session of user %lld reached %lld calls (--max-steps); "
			    "end it with POST /last/%lld", (long long)user, (long long)s->o.max_steps,
			    (long long)user);
		status = 409;
		goto done;
	}
	botify_rec_ctx ctx = { wk->rec_worker[arm], wk->record + sizeof(*h), &h->rng };
	int rc = message == BOTIFY_MSG_NEXT ? botify_rec_next(rec, &ctx, &call, &out, &err)
					    : botify_rec_last(rec, &ctx, &call, &err);
	if (rc != 0) {
		status = 500;
		goto done;
	}
	h->calls++;
	botify_event e = {
		.timestamp = wall_ms(),
		.user = user,
		.track = call.track,
		.recommendation = message == BOTIFY_MSG_NEXT ? out : -1,
		.time = call.time,
		.message = (uint8_t)message,
		.arm = (int8_t)botify_armset_log_arm(s->o.arms, arm),
	};
	e.latency = mono() - t0;
	status = record_call(s, wk, message, &e, size, &err);
done:
	give_back(s, wk);
	if (status) {
		reply_error(s, reply, status, "%s", err.msg);
		return;
	}
	count_answer(s, message);
	if (message == BOTIFY_MSG_NEXT)
		reply_text(reply, 200, "{\"user\": %lld, \"track\": %d}", (long long)user, out);
	else
		reply_text(reply, 200, "{\"user\": %lld}", (long long)user);
}

static void handle_track(botify_service *s, const char *id, size_t id_len, botify_http_reply *reply)
{
	const botify_world *w = s->o.world;
	char q[64];
	int64_t t;
	if (botify_recproto_parse_id(id, id_len, &t) != 0) {
		reply_error(s, reply, 400, "track '%s' is not a non-negative integer",
			    botify_recproto_quote(q, sizeof(q), id, id_len));
		return;
	}
	if (t >= w->N) {
		reply_error(s, reply, 404, "unknown track %s (the catalog has %d tracks)",
			    botify_recproto_quote(q, sizeof(q), id, id_len), w->N);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	if (o && cJSON_AddNumberToObject(o, "track", (double)t) &&
	    cJSON_AddStringToObject(o, "artist", botify_world_artist_name(w, w->artist[t])) &&
	    cJSON_AddStringToObject(o, "title", botify_world_title(w, (int32_t)t)))
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text) {
		reply_error(s, reply, 500, "out of memory");
		return;
	}
	reply->status = 200;
	reply->body = text;
	reply->len = strlen(text);
	reply->heap = text;
}

/* path starts with prefix: the rest is a non-empty segment. */
static const char *segment(const char *path, const char *prefix, size_t *len)
{
	size_t n = strlen(prefix);
	if (strncmp(path, prefix, n) != 0)
		return NULL;
	*len = strlen(path + n);
	return path + n;
}

void botify_service_handle(void *service, const botify_http_request *req, botify_http_reply *reply)
{
	botify_service *s = service;
	const char *m = req->method, *p = req->path, *id;
	size_t len;
	int get = !strcmp(m, "GET") || !strcmp(m, "HEAD"), post = !strcmp(m, "POST");
	char q[64];
	if (!strcmp(p, "/")) {
		if (!get)
			reply_error(s, reply, 405, "%s / is not allowed (use GET)", m);
		else
			reply_text(reply, 200, "{\"status\": \"alive\", \"message\": \"botify %s: "
				   "recommendations at POST /next/<user>\"}",
				   s->o.arms->has_experiment ? "serving an experiment" : "serving");
	} else if ((id = segment(p, "/next/", &len)) || (id = segment(p, "/last/", &len))) {
		if (!post)
			reply_error(s, reply, 405, "%s %s is not allowed (use POST)", m,
				    botify_recproto_quote(q, sizeof(q), p, strlen(p)));
		else
			handle_call(s, p[1] == 'n' ? BOTIFY_MSG_NEXT : BOTIFY_MSG_LAST, id, len, req, reply);
	} else if ((id = segment(p, "/track/", &len))) {
		if (!get)
			reply_error(s, reply, 405, "%s %s is not allowed (use GET)", m,
				    botify_recproto_quote(q, sizeof(q), p, strlen(p)));
		else
			handle_track(s, id, len, reply);
	} else {
		reply_error(s, reply, 404, "no such endpoint: %s %s", m,
			    botify_recproto_quote(q, sizeof(q), p, strlen(p)));
	}
}
