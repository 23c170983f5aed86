/*
 * simcfg.h - the user model's defaults (configs/sim.json), which per-user
 * fields of users.json override, and the session cap.
 */
#ifndef BOTIFY_SIMCFG_H
#define BOTIFY_SIMCFG_H

#include <stdint.h>

#include "err.h"

typedef struct botify_simcfg {
	int32_t interest_neighbours;   /* 10 */
	int32_t session_budget;        /* 5 */
	double artist_discount_gamma;  /* 0.8 */
	double consume_bias;           /* 5.0, for users.json lines without one */
	double consume_sharpness;      /* 1.0 */
	int64_t max_steps;             /* 1000 recommender calls per session */
} botify_simcfg;

/* The built-in defaults; configs/sim.json holds the same values (a unit test
 * keeps them equal). */
void botify_simcfg_defaults(botify_simcfg *c);

/* Starts from the defaults and applies the keys of a JSON object file.
 * Unknown keys and out-of-range values are errors naming the file. */
int botify_simcfg_load(botify_simcfg *c, const char *path, botify_err *err);

#endif
