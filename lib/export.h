/*
 * export.h - what a trained model exports for the list-based recommenders:
 *
 *   item vectors     (N, OUT) .npy: the item tower's output for every track
 *                    (botify_tt_item_vectors)
 *   tracks_with_recs tracks.json lines plus "recommendations": the top-K
 *                    tracks for the context (mean user, that track as the
 *                    start), the track itself excluded (contextual reads it)
 *   recommendations  {"user": u, "tracks": [...]} lines: the top-K tracks for
 *                    the user's context averaged over their logged starts
 *                    (model user_context; indexed reads it)
 *
 * Scores are inner products as botify_topk_dot computes them (one fused
 * multiply-add per dimension, in order: the same bits on any CPU and for any
 * thread count), top-K through botify_topk_inner_packed over the catalog
 * packed once per list kind, best first, ties to the lower track id. Files are
 * written through botify_outfile: complete or absent, --force to replace.
 */
#ifndef BOTIFY_EXPORT_H
#define BOTIFY_EXPORT_H

#include <stdint.h>

#include "err.h"
#include "outfile.h"
#include "twotower.h"
#include "world.h"

/* Progress of the top-K exports: fn(ctx, rows done, rows in total) after each
 * chunk of rows (tracks or users); NULL for none. Process-wide, as
 * botify_outfile_set_stop: a command's export runs one at a time. */
void botify_export_set_progress(void (*fn)(void *ctx, int64_t done, int64_t total), void *ctx);

/* Writes tracks_with_recs.json for the world's catalog (the model's). */
int botify_export_track_recs(const botify_tt *m, const botify_world *w, const float *items,
			     int32_t k, int threads, const char *path, int force, botify_err *err);

/* Writes recommendations.json: one line per model user 0..U-1. */
int botify_export_user_recs(const botify_tt *m, const float *items, int32_t k, int threads,
			    const char *path, int force, botify_err *err);

/* The same lines into an output the caller opened and commits, so that
 * several outputs appear together or not at all. On failure the caller
 * aborts f. */
int botify_export_track_recs_to(const botify_tt *m, const botify_world *w, const float *items,
				int32_t k, int threads, botify_outfile *f, botify_err *err);
int botify_export_user_recs_to(const botify_tt *m, const float *items, int32_t k, int threads,
			       botify_outfile *f, botify_err *err);

#endif
