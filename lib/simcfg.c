/*
 * simcfg.c - configs/sim.json.
 */
#include "simcfg.h"

#include <math.h>
#include <string.h>

#include "jsonl.h"

void botify_simcfg_defaults(botify_simcfg *c)
{
	c->interest_neighbours = 10;
	c->session_budget = 5;
	c->artist_discount_gamma = 0.8;
	c->consume_bias = 5.0;
	c->consume_sharpness = 1.0;
	c->max_steps = 1000;
}

static int get_num(const cJSON *it, const char *path, double lo, double hi, int integral,
		   double *out, botify_err *err)
{
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
		return botify_fail(err, BOTIFY_EFORMAT, "%s: '%s' must be a number", path, it->string);
	double v = it->valuedouble;
	if (integral && v != floor(v))
		return botify_fail(err, BOTIFY_EFORMAT, "%s: '%s' must be an integer, got %g", path,
				   it->string, v);
	if (v < lo || v > hi)
		return botify_fail(err, BOTIFY_ERANGE, "%s: '%s' is %g, expected %g to %g", path,
				   it->string, v, lo, hi);
	*out = v;
	return 0;
}

int botify_simcfg_load(botify_simcfg *c, const char *path, botify_err *err)
{
	botify_simcfg_defaults(c);
	cJSON *o = botify_json_read_file(path, err);
	if (!o)
		return -1;
	int rc = -1;
	if (!cJSON_IsObject(o)) {
		botify_fail(err, BOTIFY_EFORMAT, "%s: expected a JSON object", path);
		goto out;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, o)
	{
		double v;
		const char *k = it->string;
		if (!strcmp(k, "interest_neighbours")) {
			if (get_num(it, path, 1, 1e6, 1, &v, err))
				goto out;
			c->interest_neighbours = (int32_t)v;
		} else if (!strcmp(k, "session_budget")) {
			if (get_num(it, path, 1, 1e6, 1, &v, err))
				goto out;
			c->session_budget = (int32_t)v;
		} else if (!strcmp(k, "artist_discount_gamma")) {
			if (get_num(it, path, 0, 1e6, 0, &c->artist_discount_gamma, err))
				goto out;
		} else if (!strcmp(k, "consume_bias")) {
			if (get_num(it, path, -1e9, 1e9, 0, &c->consume_bias, err))
				goto out;
		} else if (!strcmp(k, "consume_sharpness")) {
			if (get_num(it, path, -1e9, 1e9, 0, &c->consume_sharpness, err))
				goto out;
		} else if (!strcmp(k, "max_steps")) {
			if (get_num(it, path, 1, 1e9, 1, &v, err))
				goto out;
			c->max_steps = (int64_t)v;
		} else if (k[0] != '_') { /* "_comment" keys are documentation */
			botify_fail(err, BOTIFY_EFORMAT,
				    "%s: unknown key '%s' (known: interest_neighbours, session_budget, "
				    "artist_discount_gamma, consume_bias, consume_sharpness, max_steps)",
				    path, k);
			goto out;
		}
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}
