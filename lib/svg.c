/*
 * svg.c - building and writing SVG text (see svg.h).
 */
#include "svg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "outfile.h"

void botify_svg_put(botify_svg *b, const char *fmt, ...)
{
	if (b->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		if (BOTIFY_ALLOC_GROW(b->p, b->len + (size_t)n + 1, b->cap, "SVG text", NULL)) {
			b->failed = 1;
			return;
		}
	}
}

void botify_svg_text(botify_svg *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': botify_svg_put(b, "&amp;"); break;
		case '<': botify_svg_put(b, "&lt;"); break;
		case '>': botify_svg_put(b, "&gt;"); break;
		case '"': botify_svg_put(b, "&quot;"); break;
		default: botify_svg_put(b, "%c", *s);
		}
	}
}

int botify_svg_finish(botify_svg *b, char **svg, size_t *len, botify_err *err)
{
	if (b->failed || !b->p) {
		free(b->p);
		b->p = NULL;
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory drawing the plot");
	}
	*svg = b->p;
	*len = b->len;
	b->p = NULL;
	return 0;
}

int botify_svg_write_file(const char *svg, size_t len, const char *path, int force, botify_err *err)
{
	botify_outfile out = {0};
	int rc = -1;
	if (botify_outfile_open(&out, path, force, err) == 0 &&
	    botify_outfile_write(&out, svg, len, err) == 0 && botify_outfile_commit(&out, err) == 0)
		rc = 0;
	botify_outfile_abort(&out);
	return rc;
}
