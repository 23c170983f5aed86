/*
 * http_server.c - request plumbing over libmicrohttpd: collect the body
 * (bounded), call the handler once per request, send its JSON answer.
 */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

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
	for (const unsigned char *s = (const unsigned char *)msg; *s && p < end - 6; s++) {
		if (*s == '"' || *s == '\\') {
			*p++ = '\\';
			*p++ = (char)*s;
		} else if (*s < 0x20 || *s == 0x7f) {
			p += snprintf(p, 7, "\\u%04x", *s);
		} else {
			*p++ = (char)*s; /* UTF-8 passes through */
		}
	}
	memcpy(p, "\"}", 3);
	p += 2;
	reply->status = status;
	reply->body = reply->buf;
	reply->len = (size_t)(p - reply->buf);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, botify_http_reply *reply)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(reply->len, (void *)reply->body,
								    MHD_RESPMEM_MUST_COPY);
	free(reply->heap);
	reply->heap = NULL;
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	enum MHD_Result rc = MHD_queue_response(conn, (unsigned int)reply->status, resp);
	MHD_destroy_response(resp);
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	botify_http_server *s = cls;
	struct upload *up = *con_cls;
	if (!up) { /* the headers are in: refuse a declared oversized body now */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
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
		if (up->len + n + 1 > up->cap) {
			size_t cap = up->cap ? up->cap : 256;
			while (cap < up->len + n + 1)
				cap *= 2;
			char *b = realloc(up->body, cap);
			if (!b)
				return MHD_NO;
			up->body = b;
			up->cap = cap;
		}
		memcpy(up->body + up->len, upload_data, n);
		up->len += n;
		up->body[up->len] = 0;
		return MHD_YES;
	}
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
	(void)cls, (void)conn, (void)toe;
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
	struct MHD_OptionItem limit[] = {
		{ o->max_connections ? MHD_OPTION_CONNECTION_LIMIT : MHD_OPTION_END,
		  (intptr_t)o->max_connections, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO, (uint16_t)o->port,
		NULL, NULL, on_request, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_CONNECTION_TIMEOUT, idle,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
		MHD_OPTION_ARRAY, limit,
		MHD_OPTION_END);
	if (!d)
		return botify_fail(err, BOTIFY_EIO, "cannot listen on %s:%d (in use, or not an address of this machine?)",
				   host, o->port);
	s->daemon = d;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : o->port;
	return 0;
}

void botify_http_server_stop(botify_http_server *s)
{
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	memset(s, 0, sizeof(*s));
}
