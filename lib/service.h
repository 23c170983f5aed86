/*
 * service.h - the original botify service's API over botify's recommenders
 * (what `botify serve` runs behind its HTTP server; docs/PROTOCOL.md):
 *
 *   GET  /               {"status": "alive", "message": ...}
 *   GET  /track/<id>     {"track": 7, "artist": ..., "title": ...}, 404 unknown
 *   POST /next/<user>    {"track": 4211, "time": 1.0} -> {"user": 17, "track": 981}
 *   POST /last/<user>    {"track": 310, "time": 0.12} -> {"user": 17}
 *
 * Errors are {"error": "..."}: 400 malformed (body, ids), 404 unknown user,
 * track or path, 405 wrong method, 409 a session past max_steps calls, 500
 * a recommender failure, 503 the session store unreachable.
 *
 * Sessions. A user's session runs from the first call after their previous
 * "last" to the next "last". Its record -- a header and the recommender's
 * state_size bytes -- lives in the session store (memory or Redis) between
 * calls, and is deleted at "last". Each session draws from its own random
 * stream, keyed by (seed, user, the number of sessions the user ended
 * before); the stream's state is part of the record. So the recommendations
 * of a session depend on the seed, the user, how many sessions the user had
 * (as the store remembers them) and the calls of the session -- not on which
 * thread or which server (sharing a Redis) handled each call, nor on other
 * users' traffic.
 *
 * Logging. Every next/last call answered 200 is one data.json row
 * (wall-clock timestamp in ms, latency = seconds spent in the handler from
 * parsing to the row), on disk before the answer is sent and before the
 * session is stored: a call whose row cannot be written is answered 503 and
 * leaves its session as it was. A call whose session cannot be stored after
 * its row was written is answered 503 but stays in the log (counted in
 * stats.logged_failed). Rejected requests are not logged.
 *
 * Threads. The handler is called from the HTTP server's threads; each
 * borrows one of `workers` worker slots (per-arm recommender workers, a
 * session-store connection, a record buffer) for the duration of a call.
 */
#ifndef BOTIFY_SERVICE_H
#define BOTIFY_SERVICE_H

#include <pthread.h>
#include <stdint.h>

#include "armset.h"
#include "err.h"
#include "http_server.h"
#include "outfile.h"
#include "rec.h"
#include "servelog.h"
#include "sessions.h"
#include "world.h"

typedef struct botify_service_opts {
	const botify_world *world;
	const botify_armset *arms;        /* created; without an experiment one
					   * arm and "experiments": {} */
	botify_sessions *sessions;
	botify_outfile *log;              /* an open log, or NULL */
	uint64_t seed;
	int64_t max_steps;                /* "next" calls a session may make */
	int workers;                      /* concurrent calls (server threads) */
} botify_service_opts;

typedef struct botify_service_stats {
	int64_t next, last;               /* answered calls */
	int64_t rejected;                 /* 4xx answers */
	int64_t failed;                   /* 5xx answers */
	int64_t logged_failed;            /* of those, calls logged before their
					   * session could not be stored */
} botify_service_stats;

struct botify_service_worker;

typedef struct botify_service {
	botify_service_opts o;
	size_t record_max;
	struct botify_service_worker *workers;
	int n_workers;
	int *free_list, n_free;
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	pthread_mutex_t log_mu;           /* guards stats */
	botify_servelog log;              /* with o.log */
	botify_service_stats stats;       /* under log_mu */
	int ready;
} botify_service;

/* Builds the worker slots (recommender workers, store connections): a
 * recommender or store that cannot start fails here, before any request. */
int botify_service_init(botify_service *s, const botify_service_opts *o, botify_err *err);

/* The request handler (a botify_http_handler with ctx = the service). */
void botify_service_handle(void *service, const botify_http_request *req,
			   botify_http_reply *reply);

/* Call once no request runs any more: commits the log, or keeps what was
 * written in "<log>.partial" and fails saying so (servelog.h). The log
 * outfile is done either way. */
int botify_service_close_log(botify_service *s, botify_err *err);

/* A copy of the counters. */
botify_service_stats botify_service_get_stats(botify_service *s);

void botify_service_free(botify_service *s);

#endif
