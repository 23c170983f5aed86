/*
 * curveplot.c - training curves as SVG text (see curveplot.h), in the style
 * of forestplot.c: absolute pixel coordinates, one pass over the data.
 */
#include "curveplot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"

enum { WIDTH = 860, HEIGHT = 520, X0 = 84, X1 = 660, Y0 = 78, Y1 = 420, LABEL_X = 672 };

#define TRAIN_C "#2166ac"
#define VAL_C "#d6604d"
#define BASE_C "#7a7a7a"
#define BEST_C "#1a9850"

struct axes {
	double lx0, lx1;   /* epochs */
	double ly0, ly1;   /* log10 of MSE */
};

static int usable(double v)
{
	return isfinite(v) && v > 0;
}

static double X(const struct axes *a, double epoch)
{
	return X0 + (epoch - a->lx0) / (a->lx1 - a->lx0) * (X1 - X0);
}

static double Y(const struct axes *a, double v)
{
	double l = log10(v);
	if (l < a->ly0)
		l = a->ly0;
	if (l > a->ly1)
		l = a->ly1;
	return Y1 - (l - a->ly0) / (a->ly1 - a->ly0) * (Y1 - Y0);
}

static void range(const botify_curves *c, struct axes *a)
{
	double lo = INFINITY, hi = -INFINITY;
	const double *series[3] = { c->train, c->val, c->objective };
	for (int s = 0; s < 3; s++)
		for (int i = 0; series[s] && i < c->n; i++)
			if (usable(series[s][i])) {
				lo = fmin(lo, series[s][i]);
				hi = fmax(hi, series[s][i]);
			}
	double base[2] = { c->avg, c->rdm };
	for (int k = 0; k < 2; k++)
		if (usable(base[k])) {
			lo = fmin(lo, base[k]);
			/* a baseline far above every curve would squash them: it is
			 * named above the plot instead (see baseline) */
			if (!(base[k] > 1.5 * hi) || !isfinite(hi))
				hi = fmax(hi, base[k]);
		}
	if (!(lo <= hi)) {
		lo = 0.01;
		hi = 1;
	}
	a->ly0 = log10(lo) - 0.04;
	a->ly1 = log10(hi) + 0.04;
	if (a->ly1 - a->ly0 < 0.2) {
		double mid = (a->ly0 + a->ly1) / 2;
		a->ly0 = mid - 0.1;
		a->ly1 = mid + 0.1;
	}
	a->lx0 = 1;
	a->lx1 = c->n > 1 ? c->n : 2;
}

static void y_tick(botify_svg *b, const struct axes *a, double v)
{
	double y = Y(a, v);
	botify_svg_put(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>", X0, y, X1, y);
	botify_svg_put(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">%g</text>\n", X0 - 6,
	    y + 4, v);
}

/* y ticks: 1, 2, 5 x 10^k on an axis of a decade or more; on a narrower
 * one, evenly spaced values (1, 2 or 5 x 10^k apart) so it still gets a
 * handful of labels */
static void y_ticks(botify_svg *b, const struct axes *a)
{
	if (a->ly1 - a->ly0 >= 1) {
		for (int k = (int)floor(a->ly0); k <= (int)ceil(a->ly1); k++)
			for (int m = 1; m <= 5; m++) {
				double l = log10(m * pow(10, k));
				if ((m == 1 || m == 2 || m == 5) && l >= a->ly0 && l <= a->ly1)
					y_tick(b, a, m * pow(10, k));
			}
		return;
	}
	double lo = pow(10, a->ly0), hi = pow(10, a->ly1), raw = (hi - lo) / 6;
	double p = pow(10, floor(log10(raw))), f = raw / p;
	double step = p * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
	for (double v = ceil(lo / step) * step; v <= hi; v += step)
		y_tick(b, a, v);
}

static void x_ticks(botify_svg *b, const struct axes *a, int n)
{
	double raw = (a->lx1 - a->lx0) / 8, p = pow(10, floor(log10(raw > 1 ? raw : 1))), f = raw / p;
	double step = p * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
	if (step < 1)
		step = 1;
	for (double e = 1; e <= n + 1e-9; e = e == 1 && step > 1 ? step : e + step) {
		double x = X(a, e);
		botify_svg_put(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e3e3e3\"/>", x, Y0, x,
		    Y1);
		botify_svg_put(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#222\"/>", x, Y1, x,
		    Y1 + 5);
		botify_svg_put(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#333\">%g</text>\n", x,
		    Y1 + 19, e);
	}
}

static void polyline(botify_svg *b, const struct axes *a, const double *v, int n,
		     const char *color, const char *dash)
{
	botify_svg_put(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s%s%s points=\"", color,
	    dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
	for (int i = 0; i < n; i++)
		if (usable(v[i]))
			botify_svg_put(b, "%.1f,%.1f ", X(a, i + 1), Y(a, v[i]));
	botify_svg_put(b, "\"/>\n");
	for (int i = 0; i < n; i++)
		if (usable(v[i]))
			botify_svg_put(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>", X(a, i + 1),
			    Y(a, v[i]), color);
	botify_svg_put(b, "\n");
}

/* a horizontal baseline with its name and value at the right */
static void baseline(botify_svg *b, const struct axes *a, double v, const char *name, double *last_y)
{
	if (!usable(v))
		return;
	if (log10(v) > a->ly1) {
		botify_svg_put(b, "<text x=\"%d\" y=\"%d\" fill=\"" BASE_C "\">&#8593; %s %.4f</text>\n", LABEL_X,
		    Y0 + 4, name, v);
		*last_y = Y0 + 4;
		return;
	}
	double y = Y(a, v), ty = y + 4;
	if (fabs(ty - *last_y) < 15) /* keep the two labels apart */
		ty = *last_y + (ty < *last_y ? -15 : 15);
	*last_y = ty;
	botify_svg_put(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"" BASE_C "\" "
	       "stroke-width=\"1.5\" stroke-dasharray=\"7 4\"/>\n", X0, y, X1, y);
	botify_svg_put(b, "<text x=\"%d\" y=\"%.1f\" fill=\"" BASE_C "\">%s %.4f</text>\n", LABEL_X, ty, name, v);
}

int botify_curves_svg(const botify_curves *c, char **svg, size_t *len, botify_err *err)
{
	if (c->n < 1)
		return botify_fail(err, BOTIFY_EINVAL, "no epochs to plot");
	botify_svg b = {0};
	struct axes a;
	range(c, &a);
	botify_svg_put(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\" "
		"font-size=\"13\">\n", WIDTH, HEIGHT, WIDTH, HEIGHT);
	botify_svg_put(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	botify_svg_put(&b, "<text x=\"16\" y=\"28\" font-size=\"17\" font-weight=\"bold\">");
	botify_svg_text(&b, c->title);
	botify_svg_put(&b, "</text>\n");
	if (c->subtitle) {
		botify_svg_put(&b, "<text x=\"16\" y=\"50\" fill=\"#444\">");
		botify_svg_text(&b, c->subtitle);
		botify_svg_put(&b, "</text>\n");
	}
	y_ticks(&b, &a);
	x_ticks(&b, &a, c->n);
	botify_svg_put(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#222\"/>\n",
	    X0, Y0, X1 - X0, Y1 - Y0);

	double last_y = -100;
	if (c->avg <= c->rdm) { /* labels from the top down */
		baseline(&b, &a, c->rdm, "rdm", &last_y);
		baseline(&b, &a, c->avg, "avg", &last_y);
	} else {
		baseline(&b, &a, c->avg, "avg", &last_y);
		baseline(&b, &a, c->rdm, "rdm", &last_y);
	}

	/* the best epoch: a vertical line and a ring on the validation curve */
	if (c->best_epoch >= 1 && c->best_epoch <= c->n) {
		double x = X(&a, c->best_epoch);
		botify_svg_put(&b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"" BEST_C "\" "
			"stroke-width=\"1.5\" stroke-dasharray=\"2 3\"/>\n", x, Y0, x, Y1);
		botify_svg_put(&b, "<text x=\"%.1f\" y=\"%d\" fill=\"" BEST_C "\" text-anchor=\"%s\">best epoch %d</text>\n",
		    x + (x > (X0 + X1) / 2 ? -4 : 4), Y0 + 16, x > (X0 + X1) / 2 ? "end" : "start",
		    c->best_epoch);
	}
	if (c->objective)
		polyline(&b, &a, c->objective, c->n, VAL_C, "4 3");
	polyline(&b, &a, c->train, c->n, TRAIN_C, NULL);
	polyline(&b, &a, c->val, c->n, VAL_C, NULL);
	if (c->best_epoch >= 1 && c->best_epoch <= c->n) {
		const double *watched = c->objective ? c->objective : c->val;
		if (usable(watched[c->best_epoch - 1]))
			botify_svg_put(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"none\" stroke=\"" BEST_C "\" "
				"stroke-width=\"2.5\"/>\n", X(&a, c->best_epoch),
			    Y(&a, watched[c->best_epoch - 1]));
	}
	if (c->last_partial)
		botify_svg_put(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\" fill=\"#444\" font-size=\"11\">"
			"last epoch interrupted</text>\n", X(&a, c->n), Y1 - 6);

	botify_svg_put(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\">epoch</text>\n",
	    (X0 + X1) / 2, Y1 + 40);
	botify_svg_put(&b, "<text transform=\"translate(22 %d) rotate(-90)\" text-anchor=\"middle\" "
		"font-weight=\"bold\">MSE (log scale)</text>\n", (Y0 + Y1) / 2);

	/* legend */
	int ly = HEIGHT - 24, lx = X0;
	botify_svg_put(&b, "<g font-size=\"12\">");
	botify_svg_put(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"" TRAIN_C "\" stroke-width=\"2\"/>"
		"<text x=\"%d\" y=\"%d\">train MSE</text>", lx, ly - 4, lx + 24, ly - 4, lx + 30, ly);
	lx += 110;
	botify_svg_put(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"" VAL_C "\" stroke-width=\"2\"/>"
		"<text x=\"%d\" y=\"%d\">validation MSE</text>", lx, ly - 4, lx + 24, ly - 4, lx + 30, ly);
	lx += 140;
	if (c->objective) {
		botify_svg_put(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"" VAL_C "\" stroke-width=\"2\" "
			"stroke-dasharray=\"4 3\"/><text x=\"%d\" y=\"%d\">validation with negatives</text>",
		    lx, ly - 4, lx + 24, ly - 4, lx + 30, ly);
		lx += 200;
	}
	botify_svg_put(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"" BASE_C "\" stroke-width=\"1.5\" "
		"stroke-dasharray=\"7 4\"/><text x=\"%d\" y=\"%d\">baselines (test)</text>",
	    lx, ly - 4, lx + 24, ly - 4, lx + 30, ly);
	botify_svg_put(&b, "</g>\n</svg>\n");
	return botify_svg_finish(&b, svg, len, err);
}

int botify_curves_write(const botify_curves *c, const char *path, int force, botify_err *err)
{
	char *svg = NULL;
	size_t len = 0;
	if (botify_curves_svg(c, &svg, &len, err) != 0)
		return -1;
	int rc = botify_svg_write_file(svg, len, path, force, err);
	free(svg);
	return rc;
}
