/*
 * rec_remote.c - a recommender behind the original service's REST API
 * (botify serve, or the course's Flask service):
 *
 *   POST URL/next/<user>  {"track": 4211, "time": 1.0}  ->  {"user": 17, "track": 981}
 *   POST URL/last/<user>  {"track": 310, "time": 0.12}  ->  {"user": 17}
 *
 * Each simulator thread has its own libcurl handle, so its requests reuse
 * one keep-alive connection. url may list several servers separated by '|':
 * calls then go round robin, call by call, so consecutive calls of one
 * session land on different servers (what a load balancer without sticky
 * sessions does; the servers must share sessions, e.g. through Redis).
 *
 * The server keeps the session state: the recommender sends nothing random
 * and keeps nothing per session here (state_size 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "http_client.h"
#include "rec.h"
#include "recproto.h"

#define MAX_URLS 16

struct remote_data {
	int n;
	char *url[MAX_URLS];  /* without a trailing '/' */
	size_t url_max;       /* longest url */
	double timeout;
	int curl_ready;
};

struct remote_worker {
	botify_http_client http;
	uint64_t calls;
	char *url;            /* scratch: base + "/next/" + user */
	size_t url_cap;
};

static void remote_free(botify_rec *r)
{
	struct remote_data *d = r->data;
	if (!d)
		return;
	for (int i = 0; i < d->n; i++)
		free(d->url[i]);
	if (d->curl_ready)
		botify_http_global_free();
	free(d);
	r->data = NULL;
}

static int remote_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
		       botify_err *err)
{
	const char *list = botify_rec_arg(args, "url");
	if (!list || !*list)
		return botify_fail(err, BOTIFY_EINVAL,
				   "remote: needs url=http://HOST:PORT (several: url=http://A|http://B)");
	struct remote_data *d = botify_calloc(1, sizeof(*d), "remote recommender", err);
	if (!d)
		return -1;
	r->data = d;
	d->timeout = env->rec_timeout > 0 ? env->rec_timeout : BOTIFY_REC_TIMEOUT;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, "|");
		if (d->n == MAX_URLS) {
			botify_fail(err, BOTIFY_EINVAL, "remote: at most %d urls in url=", MAX_URLS);
			goto fail;
		}
		if (!((len > 7 && !strncmp(p, "http://", 7)) || (len > 8 && !strncmp(p, "https://", 8)))) {
			botify_fail(err, BOTIFY_EINVAL, "remote: url '%.*s' must start with http:// or https://",
				    (int)len, p);
			goto fail;
		}
		while (len > 0 && p[len - 1] == '/')
			len--;
		if (!(d->url[d->n] = strndup(p, len))) {
			botify_fail(err, BOTIFY_ENOMEM, "out of memory");
			goto fail;
		}
		d->n++;
		if (len > d->url_max)
			d->url_max = len;
		p += strcspn(p, "|");
		if (*p == '|')
			p++;
	}
	if (botify_http_global_init(err) != 0)
		goto fail;
	d->curl_ready = 1;
	r->state_size = 0;
	return 0;
fail:
	remote_free(r);
	return -1;
}

static void remote_worker_free(const botify_rec *r, void *worker)
{
	(void)r;
	struct remote_worker *wk = worker;
	botify_http_client_free(&wk->http);
	free(wk->url);
	free(wk);
}

static int remote_worker_init(const botify_rec *r, void **worker, botify_err *err)
{
	const struct remote_data *d = r->data;
	struct remote_worker *wk = botify_calloc(1, sizeof(*wk), "remote worker", err);
	if (!wk)
		return -1;
	wk->url_cap = d->url_max + 32; /* "/next/" + a 20-digit user + NUL */
	wk->url = botify_malloc(wk->url_cap, 1, "remote url", err);
	if (!wk->url || botify_http_client_init(&wk->http, d->timeout, err) != 0) {
		remote_worker_free(r, wk);
		return -1;
	}
	*worker = wk;
	return 0;
}

/* Every server answers HTTP (any status: POST / is 405 on botify serve): a
 * server that is down or a wrong url fails the start, not every call. */
static int remote_worker_check(const botify_rec *r, void *worker, double deadline, botify_err *err)
{
	(void)deadline;
	const struct remote_data *d = r->data;
	struct remote_worker *wk = worker;
	for (int i = 0; i < d->n; i++) {
		long status;
		snprintf(wk->url, wk->url_cap, "%s/", d->url[i]);
		if (botify_http_post_json(&wk->http, wk->url, "{}", 2, &status, err) != 0)
			return botify_err_prefix(err, "remote: the server does not answer");
	}
	return 0;
}

/* One call: POST, a 200 answer, a well-formed body. */
static int call(const botify_rec *r, botify_rec_ctx *ctx, int message, const botify_rec_call *c,
		int32_t *out, botify_err *err)
{
	const struct remote_data *d = r->data;
	struct remote_worker *wk = ctx->worker;
	const char *name = message == BOTIFY_MSG_LAST ? "last" : "next";
	snprintf(wk->url, wk->url_cap, "%s/%s/%lld", d->url[wk->calls++ % (uint64_t)d->n], name,
		 (long long)c->user);
	char body[BOTIFY_RECPROTO_MAX_LINE], tq[32];
	size_t n = botify_recproto_body(body, c);
	long status = 0;
	int rc = botify_http_post_json(&wk->http, wk->url, body, n, &status, err);
	if (rc == 0 && status != 200) {
		char q[160];
		rc = botify_fail(err, BOTIFY_ERUNTIME, "POST %s: HTTP %ld: '%s'", wk->url, status,
				 botify_recproto_quote(q, sizeof(q), wk->http.body, wk->http.len));
	} else if (rc == 0 && botify_recproto_parse_answer(wk->http.body, wk->http.len, &c->user,
							     out, err) != 0) {
		rc = botify_err_prefix(err, "POST %s", wk->url);
	} else if (rc != 0 && strstr(err->msg, "imed out")) {
		size_t len = strlen(err->msg);
		snprintf(err->msg + len, sizeof(err->msg) - len, " (rec timeout %g s)", d->timeout);
	}
	if (rc != 0) {
		botify_recproto_double(tq, c->time);
		return botify_err_prefix(err, "%s call (user %lld, track %d, time %s)", name,
					 (long long)c->user, c->track, tq);
	}
	return 0;
}

static int remote_recommend(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			    int32_t *out, botify_err *err)
{
	return call(r, ctx, BOTIFY_MSG_NEXT, c, out, err);
}

static int remote_end_session(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			      botify_err *err)
{
	return call(r, ctx, BOTIFY_MSG_LAST, c, NULL, err);
}

const botify_rec_ops botify_rec_remote = {
	.name = "remote",
	.summary = "the original service's REST API at url (botify serve, Flask): POST /next|last/<user>",
	.keys = "url",
	.usage = "remote:url=http://127.0.0.1:5000[|http://127.0.0.1:5001...]",
	.init = remote_init,
	.worker_init = remote_worker_init,
	.worker_free = remote_worker_free,
	.worker_check = remote_worker_check,
	.recommend = remote_recommend,
	.end_session = remote_end_session,
	.free = remote_free,
};
