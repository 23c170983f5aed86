/*
 * http_client.h - a minimal HTTP client over libcurl: POST a JSON body, get
 * the status and the body back. The only module that sees libcurl, which it
 * loads the first time it is used (dynlib.h): a command that makes no request
 * never maps it.
 *
 * One client is one connection cache (libcurl's easy handle), used by one
 * thread at a time: consecutive requests to the same host reuse the
 * keep-alive connection. Calls never raise signals (CURLOPT_NOSIGNAL), so a
 * client is safe on any thread.
 */
#ifndef BOTIFY_HTTP_CLIENT_H
#define BOTIFY_HTTP_CLIENT_H

#include <stddef.h>

#include "err.h"

/* The biggest answer body kept; a longer one is an error. */
#define BOTIFY_HTTP_MAX_ANSWER (1 << 20)

typedef struct botify_http_client {
	void *curl;          /* CURL * */
	void *headers;       /* struct curl_slist * */
	char *body;          /* the last answer, NUL-terminated */
	size_t len, cap;
	int overflow;        /* the last answer was over BOTIFY_HTTP_MAX_ANSWER */
	char errbuf[256];    /* libcurl's message of the last failure */
} botify_http_client;

/* Loads libcurl (dynlib.h), the first time; the calls below do it
 * themselves. Exposed so a command can fail at its start, and for tests. */
int botify_http_load(botify_err *err);

/* libcurl's process-wide setup: call from one thread before any client is
 * made (counted: every successful call needs one botify_http_global_free). */
int botify_http_global_init(botify_err *err);
void botify_http_global_free(void);

/* timeout: seconds for the whole request, connecting included. */
int botify_http_client_init(botify_http_client *c, double timeout, botify_err *err);
/* Safe on a zeroed or freed client. */
void botify_http_client_free(botify_http_client *c);

/* POSTs body (len bytes, Content-Type application/json) to url. On success
 * *status is the HTTP status (any: the caller judges it) and c->body/c->len
 * hold the answer until the next call. Transport failures (refused,
 * timed out, reset) return -1 with "POST URL: <libcurl's reason>". */
int botify_http_post_json(botify_http_client *c, const char *url, const char *body, size_t len,
			  long *status, botify_err *err);

#endif
