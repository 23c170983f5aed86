/*
 * twotower_io.h - the model directory (config.json + one .npy per tensor)
 * and the catalog a model was trained on.
 */
#ifndef BOTIFY_TWOTOWER_IO_H
#define BOTIFY_TWOTOWER_IO_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "twotower.h"

#define BOTIFY_TT_FORMAT_VERSION 1

/* FNV-1a over N, A and each track's artist: identifies a catalog. */
uint64_t botify_tt_catalog_hash(const int32_t *artist, int32_t N, int32_t A);

/* Checks that a world's catalog is the one the model was trained on and
 * binds it: m keeps artist (borrowed; it must outlive m's use) to look up
 * the start's artist. what names the model for messages. */
int botify_tt_bind_catalog(botify_tt *m, const int32_t *artist, int32_t N, int32_t A,
			   const char *what, botify_err *err);

/*
 * The model directory: config.json, one .npy per non-empty tensor named
 * like its field, user_pairs.npy, user_context.npy and metrics.json.
 */
/* Writes m into dir atomically: everything goes into a temporary directory
 * next to it ("dir.tmp.<pid>.<random>"), which is renamed to dir when
 * complete (an existing model is swapped with it in one rename, then
 * removed). An existing dir is refused (EEXIST) unless force, and even then
 * unless botify_tt_check_replaceable allows it. Missing parents are made. training and
 * metrics (borrowed, may be NULL) become config.json's "training" object
 * and metrics.json. Where the file system has unnamed files (Linux
 * O_TMPFILE), the files are written unnamed in dir's parent and the
 * temporary directory is made and filled only once they all are: a process
 * killed (SIGKILL) before that leaves nothing behind. */
int botify_tt_save(const botify_tt *m, const char *dir, int force, const cJSON *training,
		   const cJSON *metrics, botify_err *err);

/* 0: botify_tt_save writes named files in the temporary directory even where
 * unnamed files exist, as it does where they do not (for testing that path);
 * 1 (the default): unnamed files where possible. */
void botify_tt_set_unnamed(int on);

/* Loads a model directory into m (all-zero or freed): checks format_version,
 * the arch, every tensor's shape and that values are finite. Errors name
 * the file. Training blocks are not allocated. */
int botify_tt_load(botify_tt *m, const char *dir, botify_err *err);

/* 0 when dir is missing or may be replaced by --force: a directory with a
 * model's config.json that holds only regular files botify writes there
 * (the model's files, export's track_vectors.npy, tracks_with_recs.json and
 * recommendations.json). Anything else is BOTIFY_EEXIST, naming what is in
 * the way. */
int botify_tt_check_replaceable(const char *dir, botify_err *err);

#endif
