/*
 * forestplot.h - a forest plot as a standalone SVG file: one row per
 * estimate, a dot at the effect, a bar for its confidence interval, a line
 * at 0, significant rows coloured by whether the change is better or worse
 * for the user (more listening is better, more latency is worse), the
 * numbers printed at the right so the picture reads without a table.
 *
 * The x axis spans every interval and 0; when one interval is far wider
 * than the rest (latency effects of hundreds of % next to a few % for
 * listening time), the axis is cut at a multiple of the typical extent and
 * the cut bars end in an arrow; an effect beyond the cut is an arrow at the
 * edge labelled with its value, never a dot pinned to the edge. Long titles
 * wrap.
 */
#ifndef BOTIFY_FORESTPLOT_H
#define BOTIFY_FORESTPLOT_H

#include <stddef.h>

#include "err.h"

typedef struct botify_forest_row {
	const char *group;     /* first label column, e.g. "T1"; repeated groups are drawn once */
	const char *label;     /* second label column, e.g. "mean_time_per_session" */
	double effect, lower, upper;   /* NaN effect: drawn as "n/a"; NaN bounds: dot only */
	int significant;
	int better;            /* +1 when higher is better for the user, -1 when lower is, 0 unknown */
	const char *note;      /* shown instead of numbers when effect is NaN, or NULL */
} botify_forest_row;

typedef struct botify_forest {
	const char *title;
	const char *subtitle;      /* or NULL */
	const char *axis_label;    /* e.g. "effect, % of the control mean" */
	const char *unit;          /* appended to numbers, e.g. "%" */
	const botify_forest_row *rows;
	int n_rows;
} botify_forest;

/* Renders the plot into a malloc'd NUL-terminated string *svg (the caller
 * frees it). */
int botify_forest_svg(const botify_forest *f, char **svg, size_t *len, botify_err *err);

/* Renders and writes it atomically to path (refusing an existing file
 * unless force). */
int botify_forest_write(const botify_forest *f, const char *path, int force, botify_err *err);

#endif
