/*
 * svg.h - the text of a standalone SVG picture, built piece by piece, and
 * written atomically: what the plots (forest, learning curves, session
 * histograms) share.
 */
#ifndef BOTIFY_SVG_H
#define BOTIFY_SVG_H

#include <stddef.h>

#include "err.h"

/* All-zero is an empty picture. A failed allocation is remembered and
 * reported by botify_svg_finish, so drawing code needs no checks. */
typedef struct botify_svg {
	char *p;
	size_t len, cap;
	int failed;
} botify_svg;

/* Appends printf-formatted text. */
void botify_svg_put(botify_svg *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s with XML's special characters escaped. */
void botify_svg_text(botify_svg *b, const char *s);

/* Hands the text over as a malloc'd NUL-terminated *svg of *len bytes (the
 * caller frees it), or fails with BOTIFY_ENOMEM when an append did. */
int botify_svg_finish(botify_svg *b, char **svg, size_t *len, botify_err *err);

/* Writes len bytes of svg to path atomically (refusing an existing file
 * unless force). */
int botify_svg_write_file(const char *svg, size_t len, const char *path, int force, botify_err *err);

#endif
