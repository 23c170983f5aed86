/*
 * histplot.c - distributions as SVG text (see histplot.h).
 *
 * Layout: title and subtitle, then the panels stacked, each with its title,
 * the plot area with y ticks in % of sessions, the x axis with its label, and
 * the legend at the right. Absolute coordinates in pixels.
 */
#include "histplot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"

enum {
	WIDTH = 940, PLOT_X0 = 70, PLOT_X1 = 640, LEGEND_X = 664, TOP = 70,
	PANEL_H = 300, PLOT_TOP = 34, PLOT_H = 200,
};

/* colour-blind-safe, the arms in order */
static const char *const colours[] = { "#2c6fbb", "#d95f02", "#1b9e77", "#7570b3", "#e7298a",
				       "#66a61e", "#a6761d", "#666666" };

/* A tick step of 1, 2 or 5 times a power of ten giving about n ticks over span. */
static double nice_step(double span, int n)
{
	if (!(span > 0))
		return 1;
	double raw = span / n, p = pow(10, floor(log10(raw))), f = raw / p;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

int botify_hist_quantile_bin(const int64_t *count, int n, double q)
{
	double total = 0, run = 0;
	for (int i = 0; i < n; i++)
		total += (double)count[i];
	if (!(total > 0))
		return n - 1;
	for (int i = 0; i < n; i++) {
		run += (double)count[i];
		if (run >= q * total)
			return i;
	}
	return n - 1;
}

static void panel(botify_svg *b, const botify_histpanel *pn, int y0)
{
	double ymax = 0;
	for (int s = 0; s < pn->n_hist; s++) {
		double tot = 0;
		for (int i = 0; i < pn->n_bins; i++)
			tot += pn->hist[s].count[i];
		for (int i = 0; tot > 0 && i < pn->n_bins; i++)
			ymax = fmax(ymax, 100 * pn->hist[s].count[i] / tot);
	}
	double ystep = nice_step(ymax > 0 ? ymax : 1, 5);
	ymax = ystep * ceil((ymax > 0 ? ymax : 1) / ystep);
	double xlo = pn->x0, xhi = pn->x0 + pn->width * pn->n_bins;
	int py0 = y0 + PLOT_TOP, py1 = py0 + PLOT_H;
#define X(v) (PLOT_X0 + ((v) - xlo) / (xhi - xlo) * (PLOT_X1 - PLOT_X0))
#define Y(v) (py1 - (v) / ymax * PLOT_H)
	botify_svg_put(b, "<text x=\"%d\" y=\"%d\" class=\"pt\">", PLOT_X0, y0 + 20);
	botify_svg_text(b, pn->title);
	botify_svg_put(b, "</text>\n");
	/* y grid and ticks */
	for (double v = 0; v <= ymax + ystep / 2; v += ystep) {
		botify_svg_put(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", PLOT_X0, Y(v),
		    PLOT_X1, Y(v));
		botify_svg_put(b, "<text x=\"%d\" y=\"%.1f\" class=\"tk\" text-anchor=\"end\">%g%%</text>\n", PLOT_X0 - 6,
		    Y(v) + 4, v);
	}
	/* x ticks */
	double xstep = nice_step(xhi - xlo, 8);
	for (double v = ceil(xlo / xstep) * xstep; v <= xhi + 1e-9; v += xstep) {
		botify_svg_put(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>\n", X(v), py1, X(v),
		    py1 + 5);
		double last = pn->integer ? ceil(xhi - pn->width) : xhi - pn->width;
		int over = pn->overflow && v >= last - 1e-9 && v > xlo;
		botify_svg_put(b, "<text x=\"%.1f\" y=\"%d\" class=\"tk\" text-anchor=\"middle\">%s%g</text>\n", X(v),
		    py1 + 18, over && v < xhi - 1e-9 ? "\u2265" : "", v);
	}
	if (pn->overflow)
		botify_svg_put(b, "<text x=\"%d\" y=\"%d\" class=\"tk\" text-anchor=\"end\">last bin: %g and more</text>\n",
		    PLOT_X1, py0 - 4, pn->integer ? ceil(xhi - pn->width) : xhi - pn->width);
	botify_svg_put(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", PLOT_X0, py1, PLOT_X1, py1);
	botify_svg_put(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", PLOT_X0, py0, PLOT_X0, py1);
	botify_svg_put(b, "<text x=\"%d\" y=\"%d\" class=\"tk\" text-anchor=\"middle\">", (PLOT_X0 + PLOT_X1) / 2, py1 + 38);
	botify_svg_text(b, pn->axis_label);
	botify_svg_put(b, "</text>\n");
	botify_svg_put(b, "<text transform=\"translate(%d,%d) rotate(-90)\" class=\"tk\" text-anchor=\"middle\">"
	    "share of sessions</text>\n", PLOT_X0 - 48, (py0 + py1) / 2);
	/* one outlined step histogram per series, lightly filled */
	for (int s = 0; s < pn->n_hist; s++) {
		const char *c = colours[s % (int)(sizeof(colours) / sizeof(colours[0]))];
		double tot = 0;
		for (int i = 0; i < pn->n_bins; i++)
			tot += pn->hist[s].count[i];
		if (!(tot > 0))
			continue;
		botify_svg_put(b, "<path d=\"M%.1f %d", X(xlo), py1);
		for (int i = 0; i < pn->n_bins; i++) {
			double h = 100 * pn->hist[s].count[i] / tot;
			botify_svg_put(b, " L%.1f %.1f L%.1f %.1f", X(xlo + i * pn->width), Y(h), X(xlo + (i + 1) * pn->width), Y(h));
		}
		botify_svg_put(b, " L%.1f %d Z\" fill=\"%s\" fill-opacity=\"0.12\" stroke=\"%s\" stroke-width=\"1.8\"/>\n",
		    X(xhi), py1, c, c);
		double m = pn->hist[s].mean;
		if (isfinite(m) && m >= xlo && m <= xhi)
			botify_svg_put(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1.5\" "
			    "stroke-dasharray=\"5,4\"/>\n", X(m), py0, X(m), py1, c);
		/* legend */
		int ly = py0 + 10 + s * 36;
		botify_svg_put(b, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\" fill-opacity=\"0.25\" "
		    "stroke=\"%s\" stroke-width=\"1.8\"/>\n", LEGEND_X, ly - 11, c, c);
		botify_svg_put(b, "<text x=\"%d\" y=\"%d\" class=\"lg\">", LEGEND_X + 22, ly);
		botify_svg_text(b, pn->hist[s].name);
		botify_svg_put(b, "</text>\n");
		if (isfinite(m))
			botify_svg_put(b, "<text x=\"%d\" y=\"%d\" class=\"tk\">mean %.3f (dashed), %.0f sessions</text>\n",
			    LEGEND_X + 22, ly + 16, m, tot);
	}
#undef X
#undef Y
}

int botify_histplot_svg(const botify_histplot *p, char **svg, size_t *len, botify_err *err)
{
	for (int k = 0; k < p->n_panels; k++)
		if (p->panels[k].n_bins < 1 || !(p->panels[k].width > 0))
			return botify_fail(err, BOTIFY_EINVAL, "histogram panel %d has no bins", k);
	botify_svg b = {0};
	int height = TOP + p->n_panels * PANEL_H + 10;
	botify_svg_put(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	    "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n", WIDTH, height, WIDTH, height);
	botify_svg_put(&b, "<style>.t{font-size:17px;font-weight:bold}.st{font-size:13px;fill:#555}"
	    ".pt{font-size:15px;font-weight:bold}.tk{font-size:12px;fill:#333}.lg{font-size:13px}</style>\n");
	botify_svg_put(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	botify_svg_put(&b, "<text x=\"16\" y=\"28\" class=\"t\">");
	botify_svg_text(&b, p->title);
	botify_svg_put(&b, "</text>\n");
	if (p->subtitle) {
		botify_svg_put(&b, "<text x=\"16\" y=\"50\" class=\"st\">");
		botify_svg_text(&b, p->subtitle);
		botify_svg_put(&b, "</text>\n");
	}
	for (int k = 0; k < p->n_panels; k++)
		panel(&b, &p->panels[k], TOP + k * PANEL_H);
	botify_svg_put(&b, "</svg>\n");
	return botify_svg_finish(&b, svg, len, err);
}

int botify_histplot_write(const botify_histplot *p, const char *path, int force, botify_err *err)
{
	char *svg = NULL;
	size_t len = 0;
	if (botify_histplot_svg(p, &svg, &len, err) != 0)
		return -1;
	int rc = botify_svg_write_file(svg, len, path, force, err);
	free(svg);
	return rc;
}
