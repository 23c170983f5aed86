/*
 * twotower_infer.h - a model's vectors for the whole catalog: what the
 * exporter writes and the ranker scores contexts against.
 */
#ifndef BOTIFY_TWOTOWER_INFER_H
#define BOTIFY_TWOTOWER_INFER_H

#include <stdint.h>

#include "err.h"
#include "twotower.h"

/* items (N, OUT) = the item vector of every track 0..N-1 of the model's
 * catalog, whose artists are artist (N). Fails (BOTIFY_ERANGE) when a vector
 * is not finite: weights that large rank nothing. */
int botify_tt_item_vectors(const botify_tt *m, const int32_t *artist, float *items,
			   botify_err *err);

#endif
