/*
 * histplot.h - distributions as a standalone SVG file: one panel per
 * quantity (e.g. tracks per session, listen time per session), one outlined
 * step histogram per series (an arm) in the share of its sessions, a dashed
 * line at each series' mean, and a legend with the means, so the picture
 * reads without a table.
 */
#ifndef BOTIFY_HISTPLOT_H
#define BOTIFY_HISTPLOT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct botify_hist {
	const char *name;        /* legend, e.g. "C: random" */
	const double *count;     /* n_bins counts (any scale: drawn as shares of their sum) */
	double mean;             /* drawn as a dashed line; NaN: none */
} botify_hist;

typedef struct botify_histpanel {
	const char *title;       /* e.g. "tracks per session" */
	const char *axis_label;
	double x0, width;        /* bin i covers [x0 + i width, x0 + (i + 1) width) */
	int n_bins;
	int overflow;            /* the last bin also holds everything beyond it (labelled "≥") */
	int integer;             /* the values are whole numbers (bins centred on them, x0 = 0.5) */
	const botify_hist *hist;
	int n_hist;
} botify_histpanel;

typedef struct botify_histplot {
	const char *title;
	const char *subtitle;    /* or NULL */
	const botify_histpanel *panels;
	int n_panels;
} botify_histplot;

/* Renders into a malloc'd NUL-terminated string *svg (the caller frees it). */
int botify_histplot_svg(const botify_histplot *p, char **svg, size_t *len, botify_err *err);

/* Renders and writes it atomically to path (refusing an existing file unless force). */
int botify_histplot_write(const botify_histplot *p, const char *path, int force, botify_err *err);

/* The smallest bin index i such that bins 0..i hold at least q of the total
 * (n - 1 when the counts are all zero), for choosing a plot's range. */
int botify_hist_quantile_bin(const int64_t *count, int n, double q);

#endif
