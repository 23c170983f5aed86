/*
 * simcfg.c - configs/sim.json.
 */
#include "simcfg.h"

#include <stddef.h>

#include "jsoncfg.h"

void botify_simcfg_defaults(botify_simcfg *c)
{
	c->interest_neighbours = 10;
	c->session_budget = 5;
	c->artist_discount_gamma = 0.8;
	c->consume_bias = 5.0;
	c->consume_sharpness = 1.0;
	c->max_steps = 1000;
}

#define F(member, kind, lo, hi) BOTIFY_JSONCFG_FIELD(botify_simcfg, member, kind, lo, hi, 0)
static const botify_jsoncfg_field fields[] = {
	F(interest_neighbours, INT32, 1, 1e6),
	F(session_budget, INT32, 1, 1e6),
	F(artist_discount_gamma, DOUBLE, 0, 1e6),
	F(consume_bias, DOUBLE, -1e9, 1e9),
	F(consume_sharpness, DOUBLE, -1e9, 1e9),
	F(max_steps, INT64, 1, 1e9),
};
#undef F

int botify_simcfg_load(botify_simcfg *c, const char *path, botify_err *err)
{
	static const botify_jsoncfg table = { NULL, fields, sizeof(fields) / sizeof(fields[0]), 0 };
	botify_simcfg_defaults(c);
	return botify_jsoncfg_load(&table, path, c, err);
}
