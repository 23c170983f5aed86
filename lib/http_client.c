/*
 * http_client.c - POST a JSON body with libcurl, keeping the connection.
 * libcurl is loaded on first use (dynlib.h says why).
 */
#include "http_client.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "dynlib.h"

/* libcurl's functions, typed by its own header */
static struct {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_global_cleanup) *global_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
} curl;

static const botify_dynsym curl_syms[] = {
	BOTIFY_DYNSYM(curl_global_init, curl.global_init),
	BOTIFY_DYNSYM(curl_global_cleanup, curl.global_cleanup),
	BOTIFY_DYNSYM(curl_easy_strerror, curl.easy_strerror),
	BOTIFY_DYNSYM(curl_easy_init, curl.easy_init),
	BOTIFY_DYNSYM(curl_easy_cleanup, curl.easy_cleanup),
	BOTIFY_DYNSYM(curl_easy_setopt, curl.easy_setopt),
	BOTIFY_DYNSYM(curl_easy_perform, curl.easy_perform),
	BOTIFY_DYNSYM(curl_easy_getinfo, curl.easy_getinfo),
	BOTIFY_DYNSYM(curl_slist_append, curl.slist_append),
	BOTIFY_DYNSYM(curl_slist_free_all, curl.slist_free_all),
};

static botify_dynlib libcurl = {
	.soname = BOTIFY_SONAME_CURL, .needed_by = "the remote recommender", .syms = curl_syms,
	.n_syms = sizeof(curl_syms) / sizeof(curl_syms[0]),
};

int botify_http_load(botify_err *err)
{
	return botify_dynlib_load(&libcurl, err);
}

int botify_http_global_init(botify_err *err)
{
	if (botify_http_load(err) != 0)
		return -1;
	CURLcode rc = curl.global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		return botify_fail(err, BOTIFY_ERUNTIME, "cannot initialise libcurl: %s",
				   curl.easy_strerror(rc));
	return 0;
}

void botify_http_global_free(void)
{
	curl.global_cleanup(); /* set: a successful global_init loaded it */
}

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	botify_http_client *c = ctx;
	size_t len = size * n;
	if (c->overflow || c->len + len > BOTIFY_HTTP_MAX_ANSWER) {
		c->overflow = 1;
		return len; /* keep reading (the connection stays usable), drop the bytes */
	}
	if (BOTIFY_ALLOC_GROW(c->body, c->len + len + 1, c->cap, "an answer", NULL))
		return 0; /* libcurl fails the transfer with CURLE_WRITE_ERROR */
	memcpy(c->body + c->len, p, len);
	c->len += len;
	c->body[c->len] = 0;
	return len;
}

void botify_http_client_free(botify_http_client *c)
{
	/* a client holding either was made after libcurl was loaded */
	if (c->curl)
		curl.easy_cleanup(c->curl);
	if (c->headers)
		curl.slist_free_all(c->headers);
	free(c->body);
	memset(c, 0, sizeof(*c));
}

int botify_http_client_init(botify_http_client *c, double timeout, botify_err *err)
{
	memset(c, 0, sizeof(*c));
	if (botify_http_load(err) != 0)
		return -1;
	c->curl = curl.easy_init();
	/* "Expect: 100-continue" would cost a round trip on every POST */
	struct curl_slist *h1 = curl.slist_append(NULL, "Content-Type: application/json");
	struct curl_slist *h2 = h1 ? curl.slist_append(h1, "Expect:") : NULL;
	c->headers = h2 ? h2 : h1;
	c->body = malloc(4096);
	if (!c->curl || !h2 || !c->body) {
		botify_http_client_free(c);
		return botify_fail(err, BOTIFY_ENOMEM, "cannot create an HTTP client");
	}
	c->cap = 4096;
	c->body[0] = 0;
	long ms = (long)ceil(timeout * 1000);
	CURL *h = c->curl;
	curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
	curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 ? ms : 1L);
	curl.easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl.easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl.easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl.easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	/* plain requests to a recommender: no redirects, no proxies from the
	 * environment that would send loopback traffic elsewhere */
	curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl.easy_setopt(h, CURLOPT_PROXY, "");
	return 0;
}

int botify_http_post_json(botify_http_client *c, const char *url, const char *body, size_t len,
			  long *status, botify_err *err)
{
	CURL *h = c->curl;
	c->len = 0;
	c->body[0] = 0;
	c->overflow = 0;
	c->errbuf[0] = 0;
	curl.easy_setopt(h, CURLOPT_URL, url);
	curl.easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	CURLcode rc = curl.easy_perform(h);
	if (rc != CURLE_OK)
		return botify_fail(err, BOTIFY_ERUNTIME, "POST %s: %s", url,
				   c->errbuf[0] ? c->errbuf : curl.easy_strerror(rc));
	if (c->overflow)
		return botify_fail(err, BOTIFY_ERUNTIME, "POST %s: answer over %d bytes", url,
				   BOTIFY_HTTP_MAX_ANSWER);
	curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	return 0;
}
