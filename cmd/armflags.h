/*
 * armflags.h - the options simulate, ab and serve share, as one group of
 * flag-table entries with one set of checks: the arms of the run
 * (--recommender, or --experiment with --arms; ab names its arms with
 * --control and --treatment instead) and the run itself (--world, --seed,
 * --threads, --max-steps, --rec-timeout).
 */
#ifndef BOTIFY_ARMFLAGS_H
#define BOTIFY_ARMFLAGS_H

#include <stdint.h>

#include "armset.h"
#include "flags.h"

struct arm_flags {
	const char *recommender, *experiment, *arms;
	const char *world;           /* NULL: the built-in world */
	int64_t seed, threads, max_steps;
	double rec_timeout;
	int seen_seed, seen_max_steps; /* max_steps is 0 unless given */
};

/* seed 1, every core, the default recommender timeout. */
void arm_flags_init(struct arm_flags *f);

/* The arms: for simulate and serve. */
#define ARM_FLAGS(f)                                                                               \
	FLAG_STR("recommender", &(f)->recommender, "SPEC", "the recommender (see the list below)"),      \
	FLAG_STR("experiment", &(f)->experiment, "NAME", "split users into arms by experiment NAME"), \
	FLAG_STR("arms", &(f)->arms, "C=SPEC,T1=SPEC,...", "the recommender of each arm")

/* The run: for simulate, serve and ab (whose options say "in-process: ",
 * the prefix pre, a string literal). */
#define RUN_FLAGS(f, pre)                                                                          \
	FLAG_STR("world", &(f)->world, "DIR", pre "world directory (default: the built-in world)"),     \
	FLAG_LONG_SEEN("seed", &(f)->seed, "S", pre "random seed", 0, 9007199254740992.0,              \
		       &(f)->seen_seed),                                                                 \
	/* not "in-process" only: ab reads logs on threads too */                               \
	FLAG_LONG("threads", &(f)->threads, "T", "worker threads (default: all cores)", 1, 256),       \
	FLAG_LONG_SEEN("max-steps", &(f)->max_steps, "M",                                              \
		       pre "cap on recommendations per session (default 1000)", 1, 1e9,                   \
		       &(f)->seen_max_steps),                                                            \
	FLAG_DOUBLE("rec-timeout", &(f)->rec_timeout, "S",                                             \
		    pre "seconds an exec:/remote: recommender may take per call", 0.001, 86400)

/* The checks of the arm options for command cmd: 0, or the usage exit code
 * after the one-line error. required: one of --recommender and
 * --experiment must be given. */
int arm_flags_check(const char *cmd, const struct arm_flags *f, int required);

/* The arm set the options describe. */
botify_armset_opts arm_flags_armset(const struct arm_flags *f);

#endif
