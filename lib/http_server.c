/*
 * http_server.c - request plumbing over libmicrohttpd: collect the body
 * (bounded), call the handler once per request, send its JSON answer.
 * libmicrohttpd is loaded when a server starts (dynlib.h says why).
 */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "dynlib.h"
#include "jsonfmt.h"

/* libmicrohttpd's functions, typed by its own header */
static struct {
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_get_connection_info) *get_connection_info;
	__typeof__(MHD_get_connection_values) *get_connection_values;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_http_unescape) *http_unescape;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
} mhd;

static const botify_dynsym mhd_syms[] = {
	BOTIFY_DYNSYM(MHD_add_response_header, mhd.add_response_header),
	BOTIFY_DYNSYM(MHD_create_response_from_buffer, mhd.create_response_from_buffer),
	BOTIFY_DYNSYM(MHD_destroy_response, mhd.destroy_response),
	BOTIFY_DYNSYM(MHD_get_connection_info, mhd.get_connection_info),
	BOTIFY_DYNSYM(MHD_get_connection_values, mhd.get_connection_values),
	BOTIFY_DYNSYM(MHD_get_daemon_info, mhd.get_daemon_info),
	BOTIFY_DYNSYM(MHD_http_unescape, mhd.http_unescape),
	BOTIFY_DYNSYM(MHD_queue_response, mhd.queue_response),
	BOTIFY_DYNSYM(MHD_start_daemon, mhd.start_daemon),
	BOTIFY_DYNSYM(MHD_stop_daemon, mhd.stop_daemon),
};

static botify_dynlib libmicrohttpd = {
	.soname = BOTIFY_SONAME_MICROHTTPD, .needed_by = "botify serve", .syms = mhd_syms,
	.n_syms = sizeof(mhd_syms) / sizeof(mhd_syms[0]),
};

int botify_http_server_load(botify_err *err)
{
	return botify_dynlib_load(&libmicrohttpd, err);
}

/* One TCP connection, on the server's list while open: when its current
 * request began (the connection opened, or the previous answer went out),
 * and whether that request has fully arrived. */
struct conn {
	struct conn *prev, *next;
	int fd;
	double since;
	int arrived;
	int cut;
};

/* The list of open connections and the thread that cuts those whose
 * request takes too long to arrive. */
struct watch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct conn head;       /* sentinel of a circular list */
	double limit;           /* seconds */
	int stop;
	pthread_t th;
	int running;
};

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One request's upload, kept in MHD's per-request pointer. */
struct upload {
	char *body;
	size_t len, cap;
	int too_big;
};

void botify_http_reply_error(botify_http_reply *reply, int status, const char *msg)
{
	char *p = reply->buf, *end = reply->buf + sizeof(reply->buf) - 8; /* room for "\"}" */
	p += snprintf(p, (size_t)(end - p), "{\"error\": \"");
	const unsigned char *s = (const unsigned char *)msg;
	for (; *s && p < end - BOTIFY_JSON_CHAR_MAX; s++)
		p = botify_json_put_char(p, *s); /* UTF-8 passes through */
	memcpy(p, "\"}", 3);
	p += 2;
	reply->status = status;
	reply->body = reply->buf;
	reply->len = (size_t)(p - reply->buf);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, botify_http_reply *reply)
{
	struct MHD_Response *resp = mhd.create_response_from_buffer(reply->len, (void *)reply->body,
								    MHD_RESPMEM_MUST_COPY);
	free(reply->heap);
	reply->heap = NULL;
	if (!resp)
		return MHD_NO;
	mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	enum MHD_Result rc = mhd.queue_response(conn, (unsigned int)reply->status, resp);
	mhd.destroy_response(resp);
	return rc;
}

static enum MHD_Result too_big(struct MHD_Connection *conn, size_t max)
{
	botify_http_reply reply;
	char msg[96];
	snprintf(msg, sizeof(msg), "request body over %zu bytes", max);
	reply.heap = NULL;
	botify_http_reply_error(&reply, MHD_HTTP_CONTENT_TOO_LARGE, msg);
	return send_reply(conn, &reply);
}

static enum MHD_Result bad_request(struct MHD_Connection *conn, const char *msg)
{
	botify_http_reply reply;
	reply.heap = NULL;
	botify_http_reply_error(&reply, MHD_HTTP_BAD_REQUEST, msg);
	return send_reply(conn, &reply);
}

/* Framing headers that two parsers could read two ways (a proxy in front
 * taking one, this server the other: request smuggling) are refused. */
struct framing {
	int n_length, conflict, chunked;
	const char *length;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	(void)kind;
	struct framing *f = cls;
	if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
		if (f->n_length++ && strcmp(f->length, value ? value : "") != 0)
			f->conflict = 1;
		f->length = value ? value : "";
	} else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
		f->chunked = 1;
	}
	return MHD_YES;
}

static void mark_arrived(botify_http_server *s, struct MHD_Connection *conn, int arrived)
{
	const union MHD_ConnectionInfo *ci =
		mhd.get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *c = ci ? ci->socket_context : NULL;
	struct watch *w = s->watch;
	if (!c || !w)
		return;
	pthread_mutex_lock(&w->mu);
	c->arrived = arrived;
	if (!arrived)
		c->since = mono_now();
	pthread_mutex_unlock(&w->mu);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	botify_http_server *s = cls;
	struct watch *w = s->watch;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		struct conn *c = calloc(1, sizeof(*c));
		*socket_context = c;
		if (!c)
			return; /* not watched: only the idle timeout applies */
		const union MHD_ConnectionInfo *ci =
			mhd.get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		c->fd = ci ? ci->connect_fd : -1;
		c->since = mono_now();
		pthread_mutex_lock(&w->mu);
		c->next = w->head.next;
		c->prev = &w->head;
		w->head.next->prev = c;
		w->head.next = c;
		pthread_mutex_unlock(&w->mu);
	} else {
		/* called before libmicrohttpd closes the socket: a cut never
		 * reaches a reused descriptor */
		struct conn *c = *socket_context;
		if (!c)
			return;
		pthread_mutex_lock(&w->mu);
		c->prev->next = c->next;
		c->next->prev = c->prev;
		pthread_mutex_unlock(&w->mu);
		free(c);
		*socket_context = NULL;
	}
}

/* Each byte resets libmicrohttpd's idle timeout, so a client sending one
 * every few seconds would hold its connection forever: a request must
 * arrive whole within w->limit seconds of the previous answer (or of the
 * connect). The socket is shut down; libmicrohttpd then closes it. */
static void *watch_run(void *arg)
{
	struct watch *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		double now = mono_now();
		for (struct conn *c = w->head.next; c != &w->head; c = c->next)
			if (!c->arrived && !c->cut && c->fd >= 0 && now - c->since > w->limit) {
				shutdown(c->fd, SHUT_RDWR);
				c->cut = 1;
			}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		double step = w->limit / 4 < 0.25 ? w->limit / 4 : 0.25;
		ts.tv_nsec += (long)(step * 1e9);
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void watch_free(struct watch *w)
{
	if (!w)
		return;
	if (w->running) {
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

/* "%00" would end the path early ("/next/1%00" read as "/next/1"): a path
 * holding it is left undecoded, so it matches no endpoint and no id. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls, (void)conn;
	if (strstr(s, "%00"))
		return strlen(s);
	return mhd.http_unescape(s);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	botify_http_server *s = cls;
	struct upload *up = *con_cls;
	if (!up) { /* the headers are in: refuse a declared oversized body now */
		struct framing fr = { 0, 0, 0, NULL };
		mhd.get_connection_values(conn, MHD_HEADER_KIND, count_framing, &fr);
		if (fr.conflict)
			return bad_request(conn, "Content-Length given twice with different values");
		if (fr.n_length && fr.chunked)
			return bad_request(conn, "both Content-Length and Transfer-Encoding");
		const char *cl = fr.length;
		if (cl) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno || end == cl || n > s->max_body)
				return too_big(conn, s->max_body);
		}
		up = calloc(1, sizeof(*up));
		if (!up)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (up->too_big || up->len + n > s->max_body) {
			/* chunked, so not refused above: drop the rest and answer at
			 * its end (an answer now would reach a client that is still
			 * sending as a connection reset) */
			up->too_big = 1;
			return MHD_YES;
		}
		if (BOTIFY_ALLOC_GROW(up->body, up->len + n + 1, up->cap, "a request body", NULL))
			return MHD_NO;
		memcpy(up->body + up->len, upload_data, n);
		up->len += n;
		up->body[up->len] = 0;
		return MHD_YES;
	}
	mark_arrived(s, conn, 1);
	if (up->too_big)
		return too_big(conn, s->max_body);
	botify_http_request req = { method, url, up->body ? up->body : "", up->len };
	botify_http_reply reply;
	reply.status = 500;
	reply.body = NULL;
	reply.len = 0;
	reply.heap = NULL;
	s->handler(s->ctx, &req, &reply);
	if (!reply.body)
		botify_http_reply_error(&reply, 500, "the handler gave no answer");
	return send_reply(conn, &reply);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)toe;
	mark_arrived(cls, conn, 0); /* the next request's time starts now */
	struct upload *up = *con_cls;
	if (up) {
		free(up->body);
		free(up);
	}
	*con_cls = NULL;
}

int botify_http_server_start(botify_http_server *s, const botify_http_server_opts *o,
			     botify_err *err)
{
	memset(s, 0, sizeof(*s));
	if (botify_http_server_load(err) != 0)
		return -1;
	s->handler = o->handler;
	s->ctx = o->ctx;
	s->max_body = o->max_body;
	const char *host = o->host ? o->host : "127.0.0.1";
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return botify_fail(err, BOTIFY_EINVAL, "'%s' is not an IPv4 address", host);
	if (o->port < 0 || o->port > 65535)
		return botify_fail(err, BOTIFY_EINVAL, "port %d out of range", o->port);
	unsigned int threads = o->threads > 0 ? (unsigned int)o->threads : 1;
	/* idle keep-alive connections count against the limit: a short timeout
	 * keeps clients that open and forget from locking others out */
	unsigned int idle = o->idle_timeout ? o->idle_timeout : 15;
	struct watch *w = calloc(1, sizeof(*w));
	if (!w)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory starting the server");
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->head.next = w->head.prev = &w->head;
	w->limit = o->request_timeout > 0 ? o->request_timeout : 30;
	s->watch = w;
	struct MHD_OptionItem limit[] = {
		{ o->max_connections ? MHD_OPTION_CONNECTION_LIMIT : MHD_OPTION_END,
		  (intptr_t)o->max_connections, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct MHD_Daemon *d = mhd.start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO, (uint16_t)o->port,
		NULL, NULL, on_request, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, idle,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
		MHD_OPTION_ARRAY, limit,
		MHD_OPTION_END);
	if (!d) {
		watch_free(w);
		s->watch = NULL;
		return botify_fail(err, BOTIFY_EIO, "cannot listen on %s:%d (in use, or not an address of this machine?)",
				   host, o->port);
	}
	s->daemon = d;
	if (pthread_create(&w->th, NULL, watch_run, w) == 0)
		w->running = 1;
	const union MHD_DaemonInfo *info = mhd.get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : o->port;
	return 0;
}

void botify_http_server_stop(botify_http_server *s)
{
	if (s->daemon) /* started, so loaded */
		mhd.stop_daemon(s->daemon);
	watch_free(s->watch); /* after the daemon: its connections are closed */
	memset(s, 0, sizeof(*s));
}
