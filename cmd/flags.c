/*
 * flags.c - the flag-table parser and help printer.
 */
#include "flags.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *cmd_name(const struct flag_doc *doc)
{
	/* "botify simulate [..." -> "simulate" */
	static char buf[32];
	const char *p = strchr(doc->usage, ' ');
	p = p ? p + 1 : doc->usage;
	size_t n = strcspn(p, " ");
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, p, n);
	buf[n] = 0;
	return buf;
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "botify: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'botify %s --help'\n", cmd);
	return 2;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return 99;
	size_t d[41][41];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
			d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
	return d[la][lb];
}

static const struct flag *find_flag(const struct flag *flags, const char *name, size_t len)
{
	for (const struct flag *f = flags; f->type != FLAG_T_END; f++)
		if (strlen(f->name) == len && !strncmp(f->name, name, len))
			return f;
	return NULL;
}

static const char *suggest(const struct flag *flags, const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (const struct flag *f = flags; f->type != FLAG_T_END; f++) {
		size_t d = edit_distance(name, f->name);
		if (!strncmp(f->name, name, strlen(name)) && strlen(name) >= 3)
			d = 1;
		if (d < best_d) {
			best_d = d;
			best = f->name;
		}
	}
	return best;
}

static int set_value(const struct flag *f, const char *cmd, const char *val)
{
	char *end;
	switch (f->type) {
	case FLAG_T_STR:
		*(const char **)f->ptr = val;
		return 0;
	case FLAG_T_LIST: {
		struct flag_list *l = f->ptr;
		if (l->n >= (int)(sizeof(l->v) / sizeof(l->v[0])))
			return usage_error(cmd, "too many --%s options", f->name);
		l->v[l->n++] = val;
		return 0;
	}
	case FLAG_T_LONG: {
		errno = 0;
		long long v = strtoll(val, &end, 10);
		if (end == val || *end || errno == ERANGE)
			return usage_error(cmd, "--%s expects an integer, got '%s'", f->name, val);
		if ((double)v < f->min || (double)v > f->max)
			return usage_error(cmd, "--%s %s is out of range (%.15g to %.15g)", f->name,
					   val, f->min, f->max);
		*(int64_t *)f->ptr = v;
		return 0;
	}
	case FLAG_T_DOUBLE: {
		errno = 0;
		double v = strtod(val, &end);
		if (end == val || *end || errno == ERANGE || !isfinite(v))
			return usage_error(cmd, "--%s expects a number, got '%s'", f->name, val);
		if (v < f->min || v > f->max)
			return usage_error(cmd, "--%s %s is out of range (%g to %g)", f->name, val,
					   f->min, f->max);
		*(double *)f->ptr = v;
		return 0;
	}
	default:
		return 2;
	}
}

int flags_parse(const struct flag *flags, const struct flag_doc *doc, int argc, char **argv,
		char **positional, int max_positional, int *n_positional)
{
	const char *cmd = cmd_name(doc);
	int npos = 0;
	int only_positional = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_positional || a[0] != '-' || !strcmp(a, "-")) {
			if (npos >= max_positional) {
				usage_error(cmd, "unexpected argument '%s'", a);
				return FLAGS_ERROR;
			}
			positional[npos++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			only_positional = 1;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			flags_help(flags, doc);
			return FLAGS_HELP;
		}
		if (a[1] != '-') {
			usage_error(cmd, "unknown option '%s' (options are spelled --name)", a);
			return FLAGS_ERROR;
		}
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct flag *f = find_flag(flags, name, len);
		if (!f) {
			char want[64];
			snprintf(want, sizeof(want), "%.*s", (int)(len < 60 ? len : 60), name);
			const char *s = suggest(flags, want);
			if (s)
				usage_error(cmd, "unknown option '--%s' (did you mean --%s?)", want, s);
			else
				usage_error(cmd, "unknown option '--%s'", want);
			return FLAGS_ERROR;
		}
		if (f->seen)
			*f->seen = 1;
		if (f->type == FLAG_T_BOOL) {
			if (eq) {
				usage_error(cmd, "--%s takes no value", f->name);
				return FLAGS_ERROR;
			}
			*(int *)f->ptr = 1;
			continue;
		}
		const char *val;
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			usage_error(cmd, "--%s needs a value (%s)", f->name, f->meta ? f->meta : "VALUE");
			return FLAGS_ERROR;
		}
		if (set_value(f, cmd, val))
			return FLAGS_ERROR;
	}
	if (n_positional)
		*n_positional = npos;
	return FLAGS_OK;
}

void flags_help(const struct flag *flags, const struct flag_doc *doc)
{
	printf("usage: %s\n\n", doc->usage);
	if (doc->summary)
		printf("%s\n\n", doc->summary);
	printf("options:\n");
	for (const struct flag *f = flags; f->type != FLAG_T_END; f++) {
		char left[64];
		if (f->type == FLAG_T_BOOL)
			snprintf(left, sizeof(left), "--%s", f->name);
		else
			snprintf(left, sizeof(left), "--%s %s", f->name, f->meta ? f->meta : "VALUE");
		printf("  %-24s %s", left, f->help);
		if (strstr(f->help, "default")) /* the help text already says it */
			;
		else if (f->type == FLAG_T_LONG && *(int64_t *)f->ptr > 0) /* < 0: required, no default */
			printf(" (default: %lld)", (long long)*(int64_t *)f->ptr);
		else if (f->type == FLAG_T_DOUBLE && *(double *)f->ptr != 0.0)
			printf(" (default: %g)", *(double *)f->ptr);
		else if (f->type == FLAG_T_STR && *(const char **)f->ptr)
			printf(" (default: %s)", *(const char **)f->ptr);
		else if (f->type == FLAG_T_LIST)
			printf(" (repeatable)");
		putchar('\n');
	}
	printf("  %-24s %s\n", "-h, --help", "show this help and exit");
	if (doc->extra)
		printf("\n%s", doc->extra);
}
