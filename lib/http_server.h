/*
 * http_server.h - a small HTTP/1.1 server over libmicrohttpd that hands
 * each complete request (method, path, body) to one handler function and
 * sends back its status and JSON body. The only module that sees
 * libmicrohttpd.
 *
 * Requests run on a pool of threads (keep-alive connections, epoll); the
 * handler is called concurrently from all of them and must be thread-safe.
 * Bodies over max_body bytes are answered 413 here, before the handler is
 * called; malformed HTTP is answered 400 by libmicrohttpd itself, and so
 * are framing headers two parsers could read two ways (Content-Length twice
 * with different values, Content-Length with Transfer-Encoding). A path
 * holding "%00" is not decoded. A request must arrive whole within
 * request_timeout seconds of the connect or the previous answer, however
 * slowly its bytes trickle in; the connection is cut otherwise.
 *
 * libmicrohttpd is loaded when the first server starts (dynlib.h): a command
 * that serves nothing never maps it.
 */
#ifndef BOTIFY_HTTP_SERVER_H
#define BOTIFY_HTTP_SERVER_H

#include <stddef.h>

#include "err.h"

typedef struct botify_http_request {
	const char *method;   /* "GET", "POST", ... */
	const char *path;     /* "/next/17", without the query string */
	const char *body;     /* NUL-terminated; "" when there is none */
	size_t body_len;
} botify_http_request;

#define BOTIFY_HTTP_REPLY_BUF 1024

/* The handler's answer: set status and either write into buf and point
 * body at it, or point body at memory of its own that stays valid until
 * the server calls the cleanup callback (may be NULL). */
typedef struct botify_http_reply {
	int status;
	const char *body;
	size_t len;
	char buf[BOTIFY_HTTP_REPLY_BUF];
	void *heap;           /* freed with free() after sending, if set */
} botify_http_reply;

typedef void (*botify_http_handler)(void *ctx, const botify_http_request *req,
				    botify_http_reply *reply);

typedef struct botify_http_server_opts {
	const char *host;     /* IPv4 address to bind; NULL: 127.0.0.1 */
	int port;             /* 0: any free port (see botify_http_server_port) */
	int threads;          /* request threads */
	size_t max_body;      /* bytes */
	unsigned max_connections; /* open connections at once; 0: libmicrohttpd's default */
	unsigned idle_timeout;    /* seconds an idle connection is kept; 0: 15 */
	double request_timeout;   /* seconds a request may take to arrive whole,
				   * from the connect or the previous answer; 0: 30 */
	botify_http_handler handler;
	void *ctx;
} botify_http_server_opts;

typedef struct botify_http_server {
	void *daemon;         /* struct MHD_Daemon * */
	botify_http_handler handler;
	void *ctx;
	size_t max_body;
	int port;             /* the bound port */
	struct watch *watch;  /* open connections, for request_timeout */
} botify_http_server;

/* Loads libmicrohttpd, the first time; botify_http_server_start does it
 * itself. Exposed so a command can fail at its start, and for tests. */
int botify_http_server_load(botify_err *err);

/* Binds and starts serving in background threads. */
int botify_http_server_start(botify_http_server *s, const botify_http_server_opts *o,
			     botify_err *err);

/* Stops accepting, finishes the handlers that are running, closes every
 * connection and joins the threads. Safe on a zeroed or stopped server. */
void botify_http_server_stop(botify_http_server *s);

/* Fills reply with a JSON error object {"error": msg} (msg escaped). */
void botify_http_reply_error(botify_http_reply *reply, int status, const char *msg);

#endif
