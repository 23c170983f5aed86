/*
 * curveplot.h - training curves as a standalone SVG file: train and
 * validation MSE per epoch, the 'avg' and 'rdm' baselines as horizontal
 * lines, the best epoch marked, the test MSE in the subtitle.
 *
 * The y axis is logarithmic: the first epoch's train MSE, the 'rdm'
 * baseline and a well-fitted validation MSE can differ by 10x, and the
 * differences that matter late in training are relative ones.
 */
#ifndef BOTIFY_CURVEPLOT_H
#define BOTIFY_CURVEPLOT_H

#include <stddef.h>

#include "err.h"

typedef struct botify_curves {
	const char *title;
	const char *subtitle;        /* or NULL */
	int n;                       /* epochs, >= 1 */
	const double *train;         /* (n) train MSE per epoch */
	const double *val;           /* (n) validation MSE per epoch */
	const double *objective;     /* (n) validation objective with negatives, or NULL */
	int last_partial;            /* the last epoch was interrupted */
	int best_epoch;              /* 1-based */
	double avg, rdm;             /* test MSE of the baselines */
} botify_curves;

/* Renders the plot into a malloc'd NUL-terminated string *svg (the caller
 * frees it). Non-finite or non-positive values are left out of the lines. */
int botify_curves_svg(const botify_curves *c, char **svg, size_t *len, botify_err *err);

/* Renders and writes it atomically to path (refusing an existing file
 * unless force). */
int botify_curves_write(const botify_curves *c, const char *path, int force, botify_err *err);

#endif
