/*
 * rec.c - recommender registry, spec strings and checked calls.
 */
#include "rec.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "suggest.h"

extern const botify_rec_ops botify_rec_random, botify_rec_toppop, botify_rec_sticky_artist,
	botify_rec_indexed, botify_rec_contextual;
extern const botify_rec_ops botify_rec_nn;
extern const botify_rec_ops botify_rec_ranked_sticky, botify_rec_sticky_plus;
extern const botify_rec_ops botify_rec_exec, botify_rec_remote;

const botify_rec_ops *const botify_recommenders[] = {
	&botify_rec_random,
	&botify_rec_toppop,
	&botify_rec_sticky_artist,
	&botify_rec_indexed,
	&botify_rec_contextual,
	&botify_rec_nn,
	&botify_rec_ranked_sticky,
	&botify_rec_sticky_plus,
	&botify_rec_exec,
	&botify_rec_remote,
	NULL,
};

void botify_rec_args_free(botify_rec_args *a)
{
	for (int i = 0; i < a->n; i++) {
		free(a->key[i]);
		free(a->value[i]);
	}
	memset(a, 0, sizeof(*a));
}

static int parse_spec(const char *spec, char *name, size_t n, botify_rec_args *args,
		      botify_err *err)
{
	size_t len = strcspn(spec, ":");
	if (len == 0)
		return botify_fail(err, BOTIFY_EINVAL, "recommender spec '%s' has no name", spec);
	if (len >= n)
		return botify_fail(err, BOTIFY_EINVAL, "recommender name in '%s' is too long", spec);
	memcpy(name, spec, len);
	name[len] = 0;
	const char *p = spec[len] == ':' ? spec + len + 1 : spec + len;
	while (*p) {
		size_t klen = strcspn(p, "=,");
		if (p[klen] != '=' || klen == 0)
			return botify_fail(err, BOTIFY_EINVAL,
					   "%s: expected key=value in '%s', got '%.*s'", name, spec,
					   (int)strcspn(p, ","), p);
		const char *v = p + klen + 1, *vend;
		char quote = (*v == '\'' || *v == '"') ? *v : 0;
		if (quote) {
			/* a quoted value may hold commas: cmd='a b,c' */
			vend = strchr(v + 1, quote);
			if (!vend)
				return botify_fail(err, BOTIFY_EINVAL, "%s: unterminated quote in '%s'",
						   name, spec);
			if (vend[1] && vend[1] != ',')
				return botify_fail(err, BOTIFY_EINVAL,
						   "%s: expected ',' after the quoted value in '%s'", name,
						   spec);
		} else {
			vend = v + strcspn(v, ",");
		}
		if (args->n == BOTIFY_REC_MAX_ARGS)
			return botify_fail(err, BOTIFY_EINVAL, "%s: too many arguments", name);
		char *key = strndup(p, klen);
		char *val = quote ? strndup(v + 1, (size_t)(vend - v - 1)) : strndup(v, (size_t)(vend - v));
		if (!key || !val) {
			free(key);
			free(val);
			botify_rec_args_free(args);
			return botify_fail(err, BOTIFY_ENOMEM, "out of memory parsing '%s'", spec);
		}
		for (int i = 0; i < args->n; i++)
			if (!strcmp(args->key[i], key)) {
				botify_fail(err, BOTIFY_EINVAL, "%s: key '%s' given twice", name, key);
				free(key);
				free(val);
				botify_rec_args_free(args);
				return -1;
			}
		args->key[args->n] = key;
		args->value[args->n++] = val;
		p = quote ? vend + 1 : vend;
		if (*p == ',')
			p++;
	}
	return 0;
}

int botify_rec_parse_spec(const char *spec, char *name, size_t n, botify_rec_args *args,
			  botify_err *err)
{
	memset(args, 0, sizeof(*args));
	int rc = parse_spec(spec, name, n, args, err);
	if (rc != 0)
		botify_rec_args_free(args); /* whatever was parsed before the error */
	return rc;
}

const char *botify_rec_arg(const botify_rec_args *a, const char *key)
{
	for (int i = 0; i < a->n; i++)
		if (!strcmp(a->key[i], key))
			return a->value[i];
	return NULL;
}

int botify_rec_arg_long(const botify_rec_args *a, const char *rec, const char *key, int64_t min,
			int64_t max, int64_t *out, botify_err *err)
{
	const char *v = botify_rec_arg(a, key);
	if (!v)
		return 1;
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (end == v || *end || errno)
		return botify_fail(err, BOTIFY_EINVAL, "%s: %s=%s: expected an integer", rec, key, v);
	if (x < min || x > max)
		return botify_fail(err, BOTIFY_EINVAL, "%s: %s=%s: out of range (%lld to %lld)", rec,
				   key, v, (long long)min, (long long)max);
	*out = x;
	return 0;
}

int botify_rec_arg_double(const botify_rec_args *a, const char *rec, const char *key, double min,
			  double max, double *out, botify_err *err)
{
	const char *v = botify_rec_arg(a, key);
	if (!v)
		return 1;
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (end == v || *end || errno || !isfinite(x))
		return botify_fail(err, BOTIFY_EINVAL, "%s: %s=%s: expected a number", rec, key, v);
	if (x < min || x > max)
		return botify_fail(err, BOTIFY_EINVAL, "%s: %s=%s: out of range (%g to %g)", rec, key,
				   v, min, max);
	*out = x;
	return 0;
}

static int key_known(const char *keys, const char *key)
{
	size_t len = strlen(key);
	for (const char *p = keys; p && *p;) {
		size_t n = strcspn(p, ",");
		if (n == len && !strncmp(p, key, n))
			return 1;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

/* The key of the comma-separated keys closest to key, or NULL; it points
 * into buf, which holds a copy of keys. */
static const char *closest_key(const char *keys, const char *key, char *buf, size_t cap)
{
	const char *names[32];
	size_t n = 0;
	if (!keys || strlen(keys) >= cap)
		return NULL;
	strcpy(buf, keys);
	for (char *p = buf; *p && n < sizeof(names) / sizeof(names[0]);) {
		names[n++] = p;
		p += strcspn(p, ",");
		if (*p)
			*p++ = '\0';
	}
	return botify_closest(key, names, n);
}

int botify_rec_create(botify_rec *r, const char *spec, const botify_rec_env *env,
		      botify_err *err)
{
	char name[64];
	botify_rec_args args;
	memset(r, 0, sizeof(*r));
	if (botify_rec_parse_spec(spec, name, sizeof(name), &args, err) != 0)
		return -1;
	const botify_rec_ops *ops = NULL;
	for (int i = 0; botify_recommenders[i]; i++)
		if (!strcmp(botify_recommenders[i]->name, name))
			ops = botify_recommenders[i];
	if (!ops) {
		char known[512] = "";
		const char *names[64];
		size_t n = 0;
		for (int i = 0; botify_recommenders[i]; i++) {
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
				 i ? ", " : "", botify_recommenders[i]->name);
			if (n < sizeof(names) / sizeof(names[0]))
				names[n++] = botify_recommenders[i]->name;
		}
		const char *near = botify_closest(name, names, n);
		botify_fail(err, BOTIFY_EINVAL, "unknown recommender '%s' (%s%s%sknown: %s)", name,
			    near ? "did you mean '" : "", near ? near : "", near ? "'? " : "", known);
		botify_rec_args_free(&args);
		return -1;
	}
	for (int i = 0; i < args.n; i++)
		if (!key_known(ops->keys, args.key[i])) {
			char buf[256];
			const char *near = closest_key(ops->keys, args.key[i], buf, sizeof(buf));
			botify_fail(err, BOTIFY_EINVAL, "%s: unknown key '%s' (%s%s%s%s%s)", name,
				    args.key[i], near ? "did you mean '" : "", near ? near : "",
				    near ? "'? " : "", ops->keys && *ops->keys ? "known: " : "it takes no keys",
				    ops->keys ? ops->keys : "");
			botify_rec_args_free(&args);
			return -1;
		}
	r->ops = ops;
	r->world = env->world;
	r->spec = strdup(spec);
	int rc = r->spec ? ops->init(r, &args, env, err)
			 : botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	botify_rec_args_free(&args);
	if (rc != 0) {
		botify_rec_free(r);
		return -1;
	}
	return 0;
}

void botify_rec_free(botify_rec *r)
{
	if (r->ops && r->ops->free)
		r->ops->free(r);
	free(r->spec);
	memset(r, 0, sizeof(*r));
}

int botify_rec_worker_init(const botify_rec *r, void **worker, botify_err *err)
{
	*worker = NULL;
	return r->ops->worker_init ? r->ops->worker_init(r, worker, err) : 0;
}

void botify_rec_worker_free(const botify_rec *r, void *worker)
{
	if (r->ops && r->ops->worker_free && worker)
		r->ops->worker_free(r, worker);
}

int botify_rec_next(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
		    int32_t *out, botify_err *err)
{
	int32_t t = -1;
	if (r->ops->recommend(r, ctx, c, &t, err) != 0)
		return botify_err_prefix(err, "recommender '%s'", r->spec);
	if (t < 0 || t >= r->world->N)
		return botify_fail(err, BOTIFY_ERUNTIME,
				   "recommender '%s' returned track %d for user %lld (catalog has %d tracks)",
				   r->spec, t, (long long)c->user, r->world->N);
	*out = t;
	return 0;
}

double botify_rec_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int botify_rec_worker_check(const botify_rec *r, void *worker, double deadline, botify_err *err)
{
	if (r->ops->worker_check && r->ops->worker_check(r, worker, deadline, err) != 0)
		return botify_err_prefix(err, "recommender '%s'", r->spec);
	return 0;
}

int botify_rec_check_state(const botify_rec *r, const void *state, botify_err *err)
{
	if (r->ops->check_state && r->ops->check_state(r, state, err) != 0)
		return botify_err_prefix(err, "recommender '%s'", r->spec);
	return 0;
}

int botify_rec_last(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
		    botify_err *err)
{
	if (r->ops->end_session && r->ops->end_session(r, ctx, c, err) != 0)
		return botify_err_prefix(err, "recommender '%s'", r->spec);
	return 0;
}
