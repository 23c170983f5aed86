/*
 * jsoncfg.c - table-driven JSON config files.
 */
#include "jsoncfg.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jsonl.h"

static const char *what(const botify_jsoncfg *t)
{
	return t->what ? t->what : "key";
}

static const botify_jsoncfg_field *find(const botify_jsoncfg *t, const char *key)
{
	for (size_t i = 0; i < t->n_fields; i++)
		if (!strcmp(t->fields[i].key, key))
			return &t->fields[i];
	return NULL;
}

static int unknown(const botify_jsoncfg *t, const char *path, const char *key, botify_err *err)
{
	char known[400];
	size_t len = 0;
	known[0] = '\0';
	for (size_t i = 0; i < t->n_fields && len < sizeof(known); i++)
		len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", i ? ", " : "",
					t->fields[i].key);
	return botify_fail(err, BOTIFY_EFORMAT, "%s: unknown %s '%s' (known: %s)", path, what(t), key,
			   known);
}

/* "path: world parameter 'tracks' is 0, out of range (1 to 5e+07)"; path may be NULL. */
static int out_of_range(const botify_jsoncfg *t, const char *path, const botify_jsoncfg_field *f,
			double x, botify_err *err)
{
	return botify_fail(err, BOTIFY_ERANGE, "%s%s%s%s'%s' is %g, out of range (%g to %g)",
			   path ? path : "", path ? ": " : "", t->what ? t->what : "",
			   t->what ? " " : "", f->key, x, f->lo, f->hi);
}

static int store(const botify_jsoncfg *t, const botify_jsoncfg_field *f, const cJSON *v,
		 const char *path, void *out, botify_err *err)
{
	char got[32];
	char *dst = (char *)out + f->offset;
	switch (f->type) {
	case BOTIFY_JSONCFG_BOOL:
		if (!cJSON_IsBool(v))
			return botify_fail(err, BOTIFY_EFORMAT, "%s: '%s' must be true or false, got %s",
					   path, f->key, botify_json_describe(v, got, sizeof(got)));
		*(int *)dst = cJSON_IsTrue(v);
		return 0;
	case BOTIFY_JSONCFG_STRING:
		if (!cJSON_IsString(v))
			return botify_fail(err, BOTIFY_EFORMAT, "%s: '%s' must be a string, got %s", path,
					   f->key, botify_json_describe(v, got, sizeof(got)));
		*(const char **)dst = v->valuestring;
		return 0;
	default:
		break;
	}
	int integral = f->type != BOTIFY_JSONCFG_DOUBLE;
	double x = v->valuedouble;
	if (!cJSON_IsNumber(v) || !isfinite(x) || (integral && x != floor(x)))
		return botify_fail(err, BOTIFY_EFORMAT, "%s: '%s' must be %s, got %s", path, f->key,
				   integral ? "an integer" : "a number",
				   botify_json_describe(v, got, sizeof(got)));
	/* before storing: converting 1e30 to an integer is undefined */
	if (x < f->lo || x > f->hi)
		return out_of_range(t, path, f, x, err);
	switch (f->type) {
	case BOTIFY_JSONCFG_INT: *(int *)dst = (int)x; break;
	case BOTIFY_JSONCFG_INT32: *(int32_t *)dst = (int32_t)x; break;
	case BOTIFY_JSONCFG_INT64: *(int64_t *)dst = (int64_t)x; break;
	default: *(double *)dst = x; break;
	}
	return 0;
}

int botify_jsoncfg_apply(const botify_jsoncfg *t, const cJSON *obj, const char *path, void *out,
			 botify_err *err)
{
	if (!cJSON_IsObject(obj))
		return botify_fail(err, BOTIFY_EFORMAT, "%s: expected a JSON object", path);
	const cJSON *it;
	cJSON_ArrayForEach(it, obj)
	{
		if (it->string[0] == '_')
			continue; /* "_comment" */
		const botify_jsoncfg_field *f = find(t, it->string);
		if (!f) {
			if (t->allow_unknown)
				continue;
			return unknown(t, path, it->string, err);
		}
		if (store(t, f, it, path, out, err) != 0)
			return -1;
	}
	for (size_t i = 0; i < t->n_fields; i++)
		if (t->fields[i].required && !cJSON_GetObjectItemCaseSensitive(obj, t->fields[i].key))
			return botify_fail(err, BOTIFY_EFORMAT, "%s: '%s' is missing", path,
					   t->fields[i].key);
	return 0;
}

int botify_jsoncfg_load(const botify_jsoncfg *t, const char *path, void *out, botify_err *err)
{
	for (size_t i = 0; i < t->n_fields; i++)
		if (t->fields[i].type == BOTIFY_JSONCFG_STRING)
			BOTIFY_BUG("jsoncfg: string key '%s' in a table read by botify_jsoncfg_load",
				   t->fields[i].key);
	cJSON *o = botify_json_read_file(path, err);
	if (!o)
		return -1;
	int rc = botify_jsoncfg_apply(t, o, path, out, err);
	cJSON_Delete(o);
	return rc;
}

static double get(const botify_jsoncfg_field *f, const void *in)
{
	const char *src = (const char *)in + f->offset;
	switch (f->type) {
	case BOTIFY_JSONCFG_INT: return *(const int *)src;
	case BOTIFY_JSONCFG_INT32: return *(const int32_t *)src;
	case BOTIFY_JSONCFG_INT64: return (double)*(const int64_t *)src;
	default: return *(const double *)src;
	}
}

int botify_jsoncfg_check(const botify_jsoncfg *t, const void *in, botify_err *err)
{
	for (size_t i = 0; i < t->n_fields; i++) {
		const botify_jsoncfg_field *f = &t->fields[i];
		if (f->type == BOTIFY_JSONCFG_BOOL || f->type == BOTIFY_JSONCFG_STRING)
			continue;
		double x = get(f, in);
		if (!(x >= f->lo && x <= f->hi)) /* NaN too */
			return out_of_range(t, NULL, f, x, err);
	}
	return 0;
}
