/*
 * experiment.h - A/B arm assignment compatible with the original service.
 *
 * seed   = murmur3_x86_32(NAME, 0), taken as a signed 32-bit value (the
 *          service's mmh3.hash(name)); its bits are the seed of the next hash
 * bucket = murmur3_x86_32(decimal user id, seed) mod number_of_arms (unsigned)
 * Arm i is named "C" for 0 and "T<i>" otherwise.
 *
 * A simulated experiment may use a salt drawn from its run seed instead of
 * the name's hash (botify_experiment_salt): one fixed split reused by every
 * run compares the same two groups of users each time, so whatever
 * separates those groups by chance shows up in every comparison as an
 * effect. A fresh split per seed makes runs independent randomizations. A
 * paired design assigns no arm at all: every session runs under each arm.
 */
#ifndef BOTIFY_EXPERIMENT_H
#define BOTIFY_EXPERIMENT_H

#include <stdint.h>

#include "err.h"

#define BOTIFY_MAX_ARMS 16
#define BOTIFY_MAX_EXPERIMENT_NAME 64

/* How users meet arms. */
typedef enum botify_design {
	BOTIFY_DESIGN_SPLIT,    /* each user in one arm, by the hash below */
	BOTIFY_DESIGN_PAIRED,   /* every session under every arm (simulation only) */
} botify_design;

/* "split", "paired" to the enum, -1 when unknown; and back. */
int botify_design_parse(const char *name);
const char *botify_design_name(int design);

typedef struct botify_experiment {
	char name[BOTIFY_MAX_EXPERIMENT_NAME + 1];
	int32_t seed;     /* signed, as the service computed it */
	int n_arms;
	botify_design design;
	int salted;       /* seed drawn by botify_experiment_salt, not the name's hash */
} botify_experiment;

/* Checks the name ([A-Za-z0-9_.-], 1..64 chars) and n_arms (1..16). */
int botify_experiment_init(botify_experiment *e, const char *name, int n_arms,
			   botify_err *err);

/* Replaces the name's hash with a salt drawn from run_seed, so that every
 * run seed splits the users afresh (the name still labels the log). */
void botify_experiment_salt(botify_experiment *e, uint64_t run_seed);

/* The arm index of user id (0 = control) under the split design. */
int botify_experiment_assign(const botify_experiment *e, int64_t user);

/* "C", "T1", "T2", ... for an arm index; NULL when out of range. */
const char *botify_arm_name(int arm);

/* The arm index of a name ("C" -> 0, "T3" -> 3), or -1. */
int botify_arm_index(const char *name);

/* An "--arms C=SPEC,T1=SPEC,..." list split into per-arm spec strings. A new
 * arm starts at a comma followed by C= or T<digits>=, so specs may contain
 * commas of their own (ranked_sticky:model=m,t=0.1,p=0.3). */
typedef struct botify_arms {
	int n;
	char *spec[BOTIFY_MAX_ARMS];   /* owned; spec[i] is arm i's recommender */
} botify_arms;

/* Every arm from C to T<n-1> must be given exactly once, in any order. */
int botify_arms_parse(botify_arms *a, const char *list, botify_err *err);
void botify_arms_free(botify_arms *a);

#endif
