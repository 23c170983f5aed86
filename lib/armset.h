/*
 * armset.h - the arms of a run: one recommender, or an experiment with one
 * recommender per arm, and which arm a user meets. simulate, ab and serve
 * build theirs here from their options, in two steps: the cheap one
 * (botify_armset_init: the arm list and the experiment are checked before
 * any world is built) and the one that needs the world
 * (botify_armset_create: the recommenders).
 *
 * Assignment is the experiment's (experiment.h): under the split design a
 * user meets the arm of botify_experiment_assign, always the same one;
 * without an experiment every user meets arm 0; a paired design assigns no
 * arm (the simulator runs every session under each).
 */
#ifndef BOTIFY_ARMSET_H
#define BOTIFY_ARMSET_H

#include <stdint.h>

#include "err.h"
#include "experiment.h"
#include "rec.h"

typedef struct botify_armset_opts {
	const char *recommender;      /* without experiment: the one recommender */
	const char *experiment;       /* NAME, or NULL for one recommender */
	/* with experiment: the arms as "C=SPEC,T1=SPEC,...", or when NULL
	 * n_specs specs, arm i = specs[i] */
	const char *arms;
	const char *const *specs;
	int n_specs;
	int design;                   /* botify_design */
	int fresh_split;              /* split by a salt drawn from seed, not the name's hash */
	uint64_t seed;
} botify_armset_opts;

typedef struct botify_armset {
	int n;                        /* arms; 1 without an experiment */
	int has_experiment;
	botify_experiment exp;        /* valid when has_experiment */
	const char *spec[BOTIFY_MAX_ARMS]; /* arm a's recommender spec */
	botify_arms list;             /* owns the specs of an "--arms" list */
	botify_rec rec[BOTIFY_MAX_ARMS];
	botify_rec *recs[BOTIFY_MAX_ARMS]; /* &rec[a]: what the simulator and the service take */
	int n_recs;                   /* recommenders created so far */
} botify_armset;

/* Checks the arms and the experiment; s is zeroed first. Errors: the arm
 * list's (botify_arms_parse), the experiment name's, no recommender. Call
 * botify_armset_free either way. */
int botify_armset_init(botify_armset *s, const botify_armset_opts *o, botify_err *err);

/* Creates every arm's recommender over env's world; an error names the arm
 * ("arm T1: ...") under an experiment. */
int botify_armset_create(botify_armset *s, const botify_rec_env *env, botify_err *err);

/* The experiment, or NULL for one recommender. */
const botify_experiment *botify_armset_experiment(const botify_armset *s);

/* The arm user meets: the split's, or 0 without an experiment. Not for a
 * paired design, which assigns none. */
int botify_armset_assign(const botify_armset *s, int64_t user);

/* The arm a log row names: -1 without an experiment (the row carries no
 * experiment), else arm. */
static inline int botify_armset_log_arm(const botify_armset *s, int arm)
{
	return s->has_experiment ? arm : -1;
}

/* Frees the recommenders and the arm list; safe on a zeroed set. */
void botify_armset_free(botify_armset *s);

#endif
