/*
 * fallback.h - what a list-based recommender (indexed, contextual) answers
 * when it has no list for a call: a child recommender built from the spec
 * in its fallback= key, or a uniform catalog track without one (the course's
 * rule). Chains nest through quoting:
 *
 *   contextual:file=recs.json,fallback="indexed:file=users.json,fallback=toppop"
 *
 * The child's per-session state lives inside the parent's, after the
 * parent's own bytes (state_off), so the whole session stays plain bytes.
 * The child sees only the calls it answers, and the session's last call.
 */
#ifndef BOTIFY_FALLBACK_H
#define BOTIFY_FALLBACK_H

#include <stddef.h>

#include "rec.h"

typedef struct botify_fallback {
	botify_rec rec;      /* ops == NULL: a uniform catalog track */
	size_t state_off;    /* offset of the child's state in the parent's */
} botify_fallback;

/* Builds the child from args' "fallback" value (absent: uniform). owner
 * names the parent in messages; state_off is where the child's state will
 * start in the parent's state. The parent's state_size must add
 * botify_fallback_state_size(). */
int botify_fallback_init(botify_fallback *f, const char *owner, const botify_rec_args *args,
			 const botify_rec_env *env, size_t state_off, botify_err *err);
void botify_fallback_free(botify_fallback *f);

static inline size_t botify_fallback_state_size(const botify_fallback *f)
{
	return f->rec.ops ? f->rec.state_size : 0;
}

/* The child's per-thread resources (NULL for none); the parent passes the
 * pointer back in ctx->worker when it has no worker of its own. */
int botify_fallback_worker_init(const botify_fallback *f, void **worker, botify_err *err);
void botify_fallback_worker_free(const botify_fallback *f, void *worker);

/* The child's answer to c (ctx is the parent's: its state and worker), or
 * a uniform track of the parent's catalog. */
int botify_fallback_next(const botify_fallback *f, const botify_rec *parent, botify_rec_ctx *ctx,
			 const botify_rec_call *c, int32_t *out, botify_err *err);
/* The child's worker_check (worker as from botify_fallback_worker_init). */
int botify_fallback_worker_check(const botify_fallback *f, void *worker, double deadline,
				 botify_err *err);

/* Checks the child's part of the parent's state (botify_rec_check_state). */
int botify_fallback_check_state(const botify_fallback *f, const void *state, botify_err *err);

/* The session's last call, passed on to the child. */
int botify_fallback_last(const botify_fallback *f, botify_rec_ctx *ctx, const botify_rec_call *c,
			 botify_err *err);

#endif
