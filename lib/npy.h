/*
 * npy.h - NumPy .npy files: read <f4/<f8 arrays as float32, write float32.
 *
 * Reads format versions 1.0, 2.0 and 3.0, C order only, little-endian
 * float32 or float64 (converted to float32), 0-, 1- or 2-dimensional.
 * Every failure names the file and, for content errors, the byte offset and
 * what was expected: "tracks.npy: byte 10: header is not a python dict".
 * Writes version 1.0 (2.0 when the header needs it) through botify_outfile,
 * so a file is complete or absent.
 */
#ifndef BOTIFY_NPY_H
#define BOTIFY_NPY_H

#include <stddef.h>

#include "err.h"

typedef struct botify_npy {
	float *data;      /* rows * cols floats, owned */
	size_t ndim;      /* 0, 1 or 2 */
	size_t rows;      /* shape[0] (1 for ndim 0) */
	size_t cols;      /* shape[1] (1 for ndim < 2) */
} botify_npy;

/* Reads path into a (all-zero on entry or freed). On failure a is left empty
 * and err says why (BOTIFY_EIO for a missing file, BOTIFY_EFORMAT for bad
 * content, BOTIFY_ENOMEM). */
int botify_npy_read(botify_npy *a, const char *path, botify_err *err);

/* Parses an in-memory .npy image; name is used in messages. Fuzz entry point. */
int botify_npy_parse(botify_npy *a, const void *buf, size_t len, const char *name,
		     botify_err *err);

/* Writes data (rows x cols float32, C order) as a .npy file. ndim is 1 or 2
 * (for ndim 1, cols must be 1). Refuses to replace an existing file unless
 * force; writes to a temporary name and renames it when complete. */
int botify_npy_write(const char *path, const float *data, size_t ndim, size_t rows,
		     size_t cols, int force, botify_err *err);

/* The same bytes into an output the caller opened and commits (for outputs
 * that must appear together). On failure the caller aborts f. */
struct botify_outfile;
int botify_npy_write_to(struct botify_outfile *f, const float *data, size_t ndim, size_t rows,
			size_t cols, botify_err *err);

/* Frees the array's data and zeroes it; safe on an empty or freed array. */
void botify_npy_free(botify_npy *a);

#endif
