/*
 * rec.h - the recommender interface: a small vtable with per-session state,
 * built from spec strings "NAME[:key=value,...]".
 *
 * A recommender has three lifetimes:
 *   shared   (init/free): read-only data (lists, a model), built once and
 *            used by every thread at the same time;
 *   worker   (worker_init/worker_free, optional): per-thread resources such
 *            as scoring scratch, a child process or an HTTP handle;
 *   session  state_size bytes owned by the caller, zeroed before a session's
 *            first call; recommend() keeps whatever it needs there, and
 *            end_session() is the session's final "last" call.
 * So stateful policies need no globals and run safely on several threads.
 * A recommender is one lib/rec_<name>.c exporting its ops plus one line in
 * the registry in rec.c; policies that differ only by a table share a file
 * (rec_list.c: indexed and contextual).
 */
#ifndef BOTIFY_REC_H
#define BOTIFY_REC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rng.h"
#include "world.h"

/* One call: user and the previous track with its listen time. */
typedef struct botify_rec_call {
	int64_t user;
	int32_t track;
	double time;
} botify_rec_call;

/* What a call gets besides its arguments. */
typedef struct botify_rec_ctx {
	void *worker;       /* from worker_init, or NULL */
	void *state;        /* state_size bytes, zeroed at session start */
	botify_rng *rng;    /* the episode's recommender stream */
} botify_rec_ctx;

/* key=value arguments of a spec string. */
#define BOTIFY_REC_MAX_ARGS 16
typedef struct botify_rec_args {
	int n;
	char *key[BOTIFY_REC_MAX_ARGS];
	char *value[BOTIFY_REC_MAX_ARGS];
} botify_rec_args;

/* Context every recommender may use at init. */
typedef struct botify_rec_env {
	const botify_world *world;
	int64_t max_steps;   /* longest session the caller will run */
	double rec_timeout;  /* seconds an external recommender (exec:, remote:)
			      * may take per call; 0 means BOTIFY_REC_TIMEOUT */
} botify_rec_env;

#define BOTIFY_REC_TIMEOUT 10.0

typedef struct botify_rec botify_rec;

typedef struct botify_rec_ops {
	const char *name;
	const char *summary;  /* one line for help and the README table */
	const char *keys;     /* accepted keys, comma-separated, e.g. "file,k" */
	const char *usage;    /* e.g. "toppop[:file=top_tracks.json|log=LOG,k=100]" */
	/* Builds the shared part from args; sets r->data and r->state_size. */
	int (*init)(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
		    botify_err *err);
	int (*worker_init)(const botify_rec *r, void **worker, botify_err *err);
	void (*worker_free)(const botify_rec *r, void *worker);
	/* Writes the next track to *out; -1 with err on a failure (not for a
	 * track the recommender does not know: it falls back instead). */
	int (*recommend)(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			 int32_t *out, botify_err *err);
	/* The "last" call; may be NULL for stateless recommenders. */
	int (*end_session)(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			   botify_err *err);
	/* Checks session state that was kept outside this process (a session
	 * store anyone may write to): -1 with what is wrong unless every
	 * count, position and id in it is one this recommender can have
	 * written, so recommend() never indexes out of bounds. NULL: every
	 * state_size bytes are a valid state (none, or nothing indexed). */
	int (*check_state)(const botify_rec *r, const void *state, botify_err *err);
	/* Checks, before a server opens its port, that a started worker can
	 * serve (an exec: child still runs, a remote: server answers); may wait
	 * until deadline (botify_rec_now() seconds) for a child to fail. NULL:
	 * nothing to check. */
	int (*worker_check)(const botify_rec *r, void *worker, double deadline, botify_err *err);
	void (*free)(botify_rec *r);
} botify_rec_ops;

struct botify_rec {
	const botify_rec_ops *ops;
	const botify_world *world;  /* borrowed */
	void *data;                 /* the recommender's shared data */
	size_t state_size;          /* bytes of per-session state */
	char *spec;                 /* the spec string as given */
};

/* Parses spec, finds the recommender, checks its keys and runs its init.
 * Errors: "unknown recommender 'x' (known: random, ...)", "toppop: unknown
 * key 'fiel' (known: file,log,k)", and whatever init reports. */
int botify_rec_create(botify_rec *r, const char *spec, const botify_rec_env *env,
		      botify_err *err);

/* Frees the shared part; safe on a zeroed or freed recommender. */
void botify_rec_free(botify_rec *r);

/* Per-thread resources: call once per thread before its first session. */
int botify_rec_worker_init(const botify_rec *r, void **worker, botify_err *err);
void botify_rec_worker_free(const botify_rec *r, void *worker);

/* Calls recommend and checks the answer is a catalog track: a bad id is an
 * error naming the recommender, never a crash. */
int botify_rec_next(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
		    int32_t *out, botify_err *err);
int botify_rec_last(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
		    botify_err *err);

/* The worker_check of r, if any; errors name the recommender. */
int botify_rec_worker_check(const botify_rec *r, void *worker, double deadline, botify_err *err);
/* CLOCK_MONOTONIC in seconds: the clock of worker_check deadlines. */
double botify_rec_now(void);

/* Checks state_size bytes of session state read back from a store (see
 * check_state); errors name the recommender. */
int botify_rec_check_state(const botify_rec *r, const void *state, botify_err *err);

/* Uniform pick from a list, or a uniform catalog track when the list is
 * empty: the fallback rule of indexed, contextual and toppop. */
static inline int32_t botify_rec_pick(const int32_t *list, int64_t n, botify_rng *rng, int32_t N)
{
	return n > 0 ? list[botify_rng_below(rng, (uint64_t)n)]
		     : (int32_t)botify_rng_below(rng, (uint64_t)N);
}

/* The registry, for help texts: NULL-terminated. */
extern const botify_rec_ops *const botify_recommenders[];

/* Argument helpers for init functions. They return 0 and set *out, 1 when
 * the key is absent (out untouched), -1 with "NAME: key=VALUE: ..." on a bad
 * value. */
const char *botify_rec_arg(const botify_rec_args *a, const char *key);
int botify_rec_arg_long(const botify_rec_args *a, const char *rec, const char *key, int64_t min,
			int64_t max, int64_t *out, botify_err *err);
int botify_rec_arg_double(const botify_rec_args *a, const char *rec, const char *key, double min,
			  double max, double *out, botify_err *err);

/* Splits "NAME:k=v,k=v" into name (a buffer of n bytes) and args (owned:
 * free with botify_rec_args_free). */
int botify_rec_parse_spec(const char *spec, char *name, size_t n, botify_rec_args *args,
			  botify_err *err);
void botify_rec_args_free(botify_rec_args *a);

#endif
