/*
 * forestplot.c - the forest plot as SVG text (see forestplot.h).
 *
 * Layout, left to right: group and label columns, the plot area, the
 * numbers. Top to bottom: title, subtitle, rows, axis with ticks and its
 * label, legend. Everything is absolute coordinates in pixels.
 */
#include "forestplot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"

enum {
	WIDTH = 980, LEFT_GROUP = 16, LEFT_LABEL = 80, PLOT_X0 = 320, PLOT_X1 = 700,
	NUM_X = 716, TOP = 78, ROW_H = 30, AXIS_GAP = 12,
};

#define GREEN "#1a9850"
#define RED "#d73027"
#define BLUE "#2c6fbb"
#define GREY "#7a7a7a"

/* Characters per title and subtitle line at their font sizes. */
enum { TITLE_CHARS = 92, SUBTITLE_CHARS = 135, TITLE_LINE = 22, SUBTITLE_LINE = 18 };

/* The length of the line of s starting at `at`: at most width characters,
 * broken at a space (a word longer than a line is broken inside). */
static size_t line_len(const char *s, size_t at, size_t n, int width)
{
	size_t len = n - at;
	if (len <= (size_t)width)
		return len;
	len = (size_t)width;
	while (len > 0 && s[at + len] != ' ')
		len--;
	return len ? len : (size_t)width;
}

static size_t skip_spaces(const char *s, size_t at, size_t n)
{
	while (at < n && s[at] == ' ')
		at++;
	return at;
}

/* Writes s as <text> lines of at most width characters from baseline y on;
 * returns the baseline after the last line. */
static int put_wrapped(botify_svg *b, const char *s, int x, int y, int width, int line_h,
		       const char *attrs)
{
	size_t n = s ? strlen(s) : 0;
	for (size_t at = 0, len; at < n; at = skip_spaces(s, at + len, n)) {
		len = line_len(s, at, n, width);
		botify_svg_put(b, "<text x=\"%d\" y=\"%d\" %s>", x, y, attrs);
		char line[256];
		snprintf(line, sizeof(line), "%.*s", (int)len, s + at);
		botify_svg_text(b, line);
		botify_svg_put(b, "</text>\n");
		y += line_h;
	}
	return y;
}

/* How many lines put_wrapped makes of s. */
static int wrapped_lines(const char *s, int width)
{
	size_t n = s ? strlen(s) : 0;
	int lines = 0;
	for (size_t at = 0; at < n; at = skip_spaces(s, at + line_len(s, at, n, width), n))
		lines++;
	return lines;
}

/* A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) for a range. */
static double nice_step(double range, int ticks)
{
	double raw = range / ticks, p = pow(10, floor(log10(raw))), f = raw / p;
	return p * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10);
}

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return (a > b) - (a < b);
}

/* The axis range: every finite bound and 0, cut at 1.5 times the 75th
 * percentile of the bounds' magnitudes when a few rows are far wider. */
static void axis_range(const botify_forest *f, double *lo, double *hi)
{
	double *mag = malloc((size_t)(2 * f->n_rows + 1) * sizeof(double));
	int n = 0;
	*lo = 0;
	*hi = 0;
	for (int i = 0; i < f->n_rows; i++) {
		const botify_forest_row *r = &f->rows[i];
		double v[3] = { r->effect, r->lower, r->upper };
		for (int k = 0; k < 3; k++) {
			if (!isfinite(v[k]))
				continue;
			if (v[k] < *lo)
				*lo = v[k];
			if (v[k] > *hi)
				*hi = v[k];
			if (mag && k > 0)
				mag[n++] = fabs(v[k]);
		}
	}
	if (mag && n >= 4) {
		qsort(mag, (size_t)n, sizeof(double), cmp_double);
		double cut = 1.5 * mag[(3 * n) / 4 - 1 < 0 ? 0 : (3 * n) / 4 - 1];
		if (cut > 0) {
			if (*hi > cut)
				*hi = cut;
			if (*lo < -cut)
				*lo = -cut;
		}
	}
	free(mag);
	if (*hi - *lo <= 0) {
		*lo -= 1;
		*hi += 1;
	}
	double pad = 0.05 * (*hi - *lo);
	*lo -= pad;
	*hi += pad;
}

static double xpos(double v, double lo, double hi)
{
	if (v < lo)
		v = lo;
	if (v > hi)
		v = hi;
	return PLOT_X0 + (v - lo) / (hi - lo) * (PLOT_X1 - PLOT_X0);
}

static void put_number(botify_svg *b, double v, const char *unit)
{
	if (!isfinite(v))
		botify_svg_put(b, "n/a");
	else
		botify_svg_put(b, "%+.*f%s", fabs(v) >= 100 ? 0 : 1, v, unit ? unit : "");
}

int botify_forest_svg(const botify_forest *f, char **svg, size_t *len, botify_err *err)
{
	botify_svg b = {0};
	double lo, hi;
	axis_range(f, &lo, &hi);
	int t_lines = wrapped_lines(f->title, TITLE_CHARS), s_lines = wrapped_lines(f->subtitle, SUBTITLE_CHARS);
	if (t_lines < 1)
		t_lines = 1;
	/* the layout below was made for one title and one subtitle line */
	int top = TOP + (t_lines - 1) * TITLE_LINE + (s_lines > 1 ? s_lines - 1 : 0) * SUBTITLE_LINE;
	int plot_h = f->n_rows * ROW_H;
	int axis_y = top + plot_h + AXIS_GAP;
	int height = axis_y + 96;

	botify_svg_put(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\" "
		"font-size=\"13\">\n", WIDTH, height, WIDTH, height);
	botify_svg_put(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	int y = put_wrapped(&b, f->title, LEFT_GROUP, 28, TITLE_CHARS, TITLE_LINE,
			    "font-size=\"17\" font-weight=\"bold\"");
	if (f->subtitle)
		put_wrapped(&b, f->subtitle, LEFT_GROUP, y, SUBTITLE_CHARS, SUBTITLE_LINE, "fill=\"#444\"");
	/* column heads */
	botify_svg_put(&b, "<g font-weight=\"bold\" fill=\"#333\"><text x=\"%d\" y=\"%d\">arm</text>"
		"<text x=\"%d\" y=\"%d\">metric</text><text x=\"%d\" y=\"%d\">effect [CI]</text></g>\n",
	    LEFT_GROUP, top - 8, LEFT_LABEL, top - 8, NUM_X, top - 8);

	/* ticks and grid */
	double step = nice_step(hi - lo, 6);
	botify_svg_put(&b, "<g stroke=\"#e3e3e3\">\n");
	for (double v = ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step)
		botify_svg_put(&b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", xpos(v, lo, hi), top,
		    xpos(v, lo, hi), axis_y);
	botify_svg_put(&b, "</g>\n");

	/* rows */
	for (int i = 0; i < f->n_rows; i++) {
		const botify_forest_row *r = &f->rows[i];
		int y0 = top + i * ROW_H, yc = y0 + ROW_H / 2;
		int new_group = i == 0 || !r->group || !f->rows[i - 1].group ||
				strcmp(r->group, f->rows[i - 1].group);
		if (i % 2 == 0)
			botify_svg_put(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f6f6f6\"/>\n",
			    LEFT_GROUP - 8, y0, WIDTH - 2 * (LEFT_GROUP - 8), ROW_H);
		if (new_group && i > 0)
			botify_svg_put(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n",
			    LEFT_GROUP - 8, y0, WIDTH - LEFT_GROUP + 8, y0);
		if (new_group && r->group) {
			botify_svg_put(&b, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">", LEFT_GROUP, yc + 5);
			botify_svg_text(&b, r->group);
			botify_svg_put(&b, "</text>\n");
		}
		botify_svg_put(&b, "<text x=\"%d\" y=\"%d\">", LEFT_LABEL, yc + 5);
		botify_svg_text(&b, r->label);
		botify_svg_put(&b, "</text>\n");
		/* better or worse for the user, not up or down */
		const char *color = !r->significant || !isfinite(r->effect) ? GREY
				    : !r->better ? BLUE : (r->effect > 0) == (r->better > 0) ? GREEN : RED;
		if (isfinite(r->lower) && isfinite(r->upper)) {
			double x1 = xpos(r->lower, lo, hi), x2 = xpos(r->upper, lo, hi);
			botify_svg_put(&b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
				"stroke-width=\"3\"/>\n", x1, yc, x2, yc, color);
			/* caps, or arrows where the axis cuts the bar */
			double xs[2] = { x1, x2 }, bound[2] = { r->lower, r->upper };
			for (int k = 0; k < 2; k++) {
				int cut = k ? bound[k] > hi : bound[k] < lo;
				double dir = k ? 1 : -1;
				if (cut)
					botify_svg_put(&b, "<path d=\"M%.1f %d l%.1f %d l0 %d z\" fill=\"%s\"/>\n",
					    xs[k] + dir * 2, yc, -dir * 9, -6, 12, color);
				else
					botify_svg_put(&b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
						"stroke-width=\"2\"/>\n", xs[k], yc - 6, xs[k], yc + 6, color);
			}
		}
		if (isfinite(r->effect) && r->effect >= lo && r->effect <= hi) {
			botify_svg_put(&b, "<circle cx=\"%.1f\" cy=\"%d\" r=\"5.5\" fill=\"%s\" stroke=\"white\" "
				"stroke-width=\"1.5\"/>\n", xpos(r->effect, lo, hi), yc, color);
		} else if (isfinite(r->effect)) {
			/* off the axis: an arrow at the edge, with the value inside the plot */
			int right = r->effect > hi;
			double x = right ? PLOT_X1 : PLOT_X0;
			botify_svg_put(&b, "<path d=\"M%.1f %d l%d -8 l0 16 z\" fill=\"%s\"/>\n", x + (right ? 4 : -4),
			    yc, right ? -13 : 13, color);
			botify_svg_put(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\" font-size=\"11\" "
				"font-weight=\"bold\" fill=\"%s\">", x + (right ? -14 : 14), yc - 7,
			    right ? "end" : "start", color);
			put_number(&b, r->effect, f->unit);
			botify_svg_put(&b, "</text>\n");
		}
		botify_svg_put(&b, "<text x=\"%d\" y=\"%d\" fill=\"%s\">", NUM_X, yc + 5,
		    r->significant && isfinite(r->effect) ? color : "#333");
		if (!isfinite(r->effect)) {
			botify_svg_text(&b, r->note ? r->note : "n/a");
		} else {
			put_number(&b, r->effect, f->unit);
			botify_svg_put(&b, " [");
			put_number(&b, r->lower, f->unit);
			botify_svg_put(&b, ", ");
			put_number(&b, r->upper, f->unit);
			botify_svg_put(&b, "]%s", r->significant ? " *" : "");
		}
		botify_svg_put(&b, "</text>\n");
	}

	/* the 0 line, the axis, tick labels, axis label */
	botify_svg_put(&b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#222\" "
		"stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\n", xpos(0, lo, hi), top - 2,
	    xpos(0, lo, hi), axis_y);
	botify_svg_put(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#222\"/>\n", PLOT_X0, axis_y,
	    PLOT_X1, axis_y);
	botify_svg_put(&b, "<g text-anchor=\"middle\" fill=\"#333\">\n");
	for (double v = ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) {
		double x = xpos(v, lo, hi), shown = fabs(v) < 1e-9 * step ? 0 : v;
		botify_svg_put(&b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#222\"/>", x, axis_y,
		    x, axis_y + 5);
		botify_svg_put(&b, "<text x=\"%.1f\" y=\"%d\">%g%s</text>\n", x, axis_y + 19, shown,
		    f->unit ? f->unit : "");
	}
	botify_svg_put(&b, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">", (PLOT_X0 + PLOT_X1) / 2, axis_y + 40);
	botify_svg_text(&b, f->axis_label);
	botify_svg_put(&b, "</text>\n</g>\n");

	/* legend */
	int ly = axis_y + 72;
	botify_svg_put(&b, "<g font-size=\"12\">"
		"<circle cx=\"%d\" cy=\"%d\" r=\"5.5\" fill=\"" GREEN "\"/>"
		"<text x=\"%d\" y=\"%d\">significantly better for the user</text>"
		"<circle cx=\"%d\" cy=\"%d\" r=\"5.5\" fill=\"" RED "\"/>"
		"<text x=\"%d\" y=\"%d\">significantly worse</text>"
		"<circle cx=\"%d\" cy=\"%d\" r=\"5.5\" fill=\"" GREY "\"/>"
		"<text x=\"%d\" y=\"%d\">not significant (interval contains 0)</text></g>\n",
	    LEFT_GROUP + 6, ly - 4, LEFT_GROUP + 16, ly, LEFT_GROUP + 266, ly - 4, LEFT_GROUP + 276, ly,
	    LEFT_GROUP + 426, ly - 4, LEFT_GROUP + 436, ly);
	botify_svg_put(&b, "</svg>\n");
	return botify_svg_finish(&b, svg, len, err);
}

int botify_forest_write(const botify_forest *f, const char *path, int force, botify_err *err)
{
	char *svg = NULL;
	size_t len = 0;
	if (botify_forest_svg(f, &svg, &len, err) != 0)
		return -1;
	int rc = botify_svg_write_file(svg, len, path, force, err);
	free(svg);
	return rc;
}
