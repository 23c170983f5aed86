/*
 * flags.c - the flag-table parser, and the help and man page printers.
 */
#include "flags.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "suggest.h"

static flags_hook hook;
static void *hook_ctx;

void flags_set_hook(flags_hook fn, void *ctx)
{
	hook = fn;
	hook_ctx = ctx;
}

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

int refuse_existing(const char *cmd, const char *path, int force)
{
	struct stat st;
	/* a device or a FIFO is written through, never replaced */
	if (!path || force || strcmp(path, "-") == 0 || stat(path, &st) != 0 || S_ISCHR(st.st_mode) ||
	    S_ISFIFO(st.st_mode))
		return 0;
	return usage_error(cmd, "'%s' exists (use --force to replace it)", path);
}

static const struct flag *find_flag(const struct flag *flags, const char *name, size_t len)
{
	for (const struct flag *f = flags; f->type != FLAG_T_END; f++)
		if (strlen(f->name) == len && !strncmp(f->name, name, len))
			return f;
	return NULL;
}

const char *flags_closest(const char *word, const char *const *names, size_t n)
{
	return botify_closest(word, names, n);
}

static const char *suggest(const struct flag *flags, const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (const struct flag *f = flags; f->type != FLAG_T_END; f++) {
		size_t d = botify_name_distance(name, f->name);
		if (d < best_d) {
			best_d = d;
			best = f->name;
		}
	}
	return best;
}

/* An integer flag's bound, held as a double in the table. */
static long long int_bound(double b)
{
	if (b >= 9223372036854775807.0)
		return LLONG_MAX;
	if (b <= -9223372036854775807.0)
		return LLONG_MIN;
	return (long long)b;
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
		/* compared and written as integers: a double has no 2^53 + 1, and
		 * 1e+15 is not how anyone types a bound */
		long long lo = int_bound(f->min), hi = int_bound(f->max);
		if (v < lo || v > hi)
			return usage_error(cmd, "--%s %s is out of range (%lld to %lld)", f->name,
					   val, lo, hi);
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
	if (hook) {
		hook(flags, doc, hook_ctx);
		return FLAGS_HELP;
	}
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

/* " (default: 300)" or " (repeatable)" after a flag's help, or "". */
static const char *flag_note(const struct flag *f, char *buf, size_t n)
{
	buf[0] = 0;
	if (strstr(f->help, "default")) /* the help text already says it */
		;
	else if (f->type == FLAG_T_LONG && *(int64_t *)f->ptr > 0) /* < 0: required, no default */
		snprintf(buf, n, " (default: %lld)", (long long)*(int64_t *)f->ptr);
	else if (f->type == FLAG_T_DOUBLE && *(double *)f->ptr != 0.0)
		snprintf(buf, n, " (default: %g)", *(double *)f->ptr);
	else if (f->type == FLAG_T_STR && *(const char **)f->ptr)
		snprintf(buf, n, " (default: %s)", *(const char **)f->ptr);
	else if (f->type == FLAG_T_LIST)
		snprintf(buf, n, " (repeatable)");
	return buf;
}

void flags_help(const struct flag *flags, const struct flag_doc *doc)
{
	printf("usage: %s\n\n", doc->usage);
	if (doc->summary)
		printf("%s\n\n", doc->summary);
	printf("options:\n");
	for (const struct flag *f = flags; f->type != FLAG_T_END; f++) {
		char left[64], note[256];
		if (f->type == FLAG_T_BOOL)
			snprintf(left, sizeof(left), "--%s", f->name);
		else
			snprintf(left, sizeof(left), "--%s %s", f->name, f->meta ? f->meta : "VALUE");
		printf("  %-24s %s%s\n", left, f->help, flag_note(f, note, sizeof(note)));
	}
	printf("  %-24s %s\n", "-h, --help", "show this help and exit");
	if (doc->more) {
		putchar('\n');
		doc->more(stdout);
	}
	if (doc->extra)
		printf("\n%s", doc->extra);
}

/* ---- man pages ---- */

/* Writes n bytes of s as troff text: backslashes and hyphens escaped, and a
 * line that would start with a control character ('.' or '\'') guarded. */
static void man_write(FILE *out, const char *s, size_t n)
{
	int bol = 1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (bol && (c == '.' || c == '\''))
			fputs("\\&", out);
		if (c == '\\')
			fputs("\\e", out);
		else if (c == '-')
			fputs("\\-", out);
		else
			fputc(c, out);
		bol = c == '\n';
	}
}

void flags_man_text(FILE *out, const char *s)
{
	man_write(out, s, strlen(s));
}

/* A paragraph of hard-wrapped text, refilled by troff; "\n\n" starts a new one. */
static void man_paragraphs(FILE *out, const char *s)
{
	while (*s) {
		const char *end = strstr(s, "\n\n");
		size_t n = end ? (size_t)(end - s) : strlen(s);
		while (n && s[n - 1] == '\n')
			n--;
		fputs(".PP\n", out);
		man_write(out, s, n);
		fputc('\n', out);
		s += end ? (size_t)(end - s) + 2 : strlen(s);
	}
}

/* The notes after the options: each block (blank-line separated) whose first
 * line is a heading ("examples:") keeps its lines as they are (tables and
 * commands); other blocks are paragraphs. */
static void man_extra(FILE *out, const char *s)
{
	int notes = 0;
	while (*s) {
		while (*s == '\n')
			s++;
		if (!*s)
			break;
		const char *end = strstr(s, "\n\n");
		size_t n = end ? (size_t)(end - s) : strlen(s);
		while (n && s[n - 1] == '\n')
			n--;
		const char *nl = memchr(s, '\n', n);
		size_t head = nl ? (size_t)(nl - s) : n;
		if (head && s[head - 1] == ':' && !isspace((unsigned char)s[0])) {
			if (!strncmp(s, "examples:", head)) {
				fputs(".SH EXAMPLES\n", out);
			} else {
				if (!notes++)
					fputs(".SH NOTES\n", out);
				fputs(".SS \"", out);
				fputc(toupper((unsigned char)s[0]), out);
				man_write(out, s + 1, head - 2);
				fputs("\"\n", out);
			}
			if (nl) {
				fputs(".PP\n.nf\n", out);
				man_write(out, nl + 1, n - head - 1);
				fputs("\n.fi\n", out);
			}
		} else {
			if (!notes++)
				fputs(".SH NOTES\n", out);
			fputs(".PP\n", out);
			man_write(out, s, n);
			fputc('\n', out);
		}
		s += end ? (size_t)(end - s) + 2 : strlen(s);
	}
}

void flags_man(FILE *out, const struct flag *flags, const struct flag_doc *doc, const char *name,
	       const char *desc, const char *version)
{
	char upper[64];
	size_t i;
	for (i = 0; name[i] && i + 1 < sizeof(upper); i++)
		upper[i] = (char)toupper((unsigned char)name[i]);
	upper[i] = 0;
	fprintf(out, ".\\\" generated by 'botify %s --help-man' from the table that parses its options\n",
		name + (strncmp(name, "botify-", 7) ? 0 : 7));
	fprintf(out, ".TH %s 1 \"\" \"botify %s\" \"botify manual\"\n", upper, version);
	/* ragged right, no hyphens: flags and file names must read as typed */
	fputs(".ad l\n.nh\n", out);
	fputs(".SH NAME\n", out);
	man_write(out, name, strlen(name));
	fputs(" \\- ", out);
	man_write(out, desc, strlen(desc));
	fputs("\n.SH SYNOPSIS\n.nf\n", out);
	man_write(out, doc->usage, strlen(doc->usage));
	fputs("\n.fi\n.SH DESCRIPTION\n", out);
	if (doc->summary)
		man_paragraphs(out, doc->summary);
	fputs(".SH OPTIONS\n", out);
	for (const struct flag *f = flags; f->type != FLAG_T_END; f++) {
		char note[256];
		fputs(".TP\n\\fB", out);
		man_write(out, "--", 2);
		man_write(out, f->name, strlen(f->name));
		fputs("\\fR", out);
		if (f->type != FLAG_T_BOOL) {
			const char *meta = f->meta ? f->meta : "VALUE";
			fputs(" \\fI", out);
			man_write(out, meta, strlen(meta));
			fputs("\\fR", out);
		}
		fputc('\n', out);
		man_write(out, f->help, strlen(f->help));
		flag_note(f, note, sizeof(note));
		man_write(out, note, strlen(note));
		if (f->type == FLAG_T_LONG)
			fprintf(out, "; from %lld to %lld", int_bound(f->min), int_bound(f->max));
		else if (f->type == FLAG_T_DOUBLE)
			fprintf(out, "; from %g to %g", f->min, f->max);
		fputs(".\n", out);
	}
	fputs(".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nshow the help and exit.\n", out);
	/* one run of notes: the block of `more` is a heading and lines as extra's are */
	char *more = NULL;
	size_t more_len = 0;
	FILE *m = doc->more ? open_memstream(&more, &more_len) : NULL;
	if (m) {
		doc->more(m);
		if (doc->extra)
			fprintf(m, "\n%s", doc->extra);
		fclose(m);
	}
	if (more)
		man_extra(out, more);
	else if (doc->extra)
		man_extra(out, doc->extra);
	free(more);
	fputs(".SH EXIT STATUS\n0 success, 1 a requested check failed, 2 bad usage or bad input,\n", out);
	if (doc->interrupted)
		flags_man_text(out, doc->interrupted);
	else
		fputs("130 interrupted by SIGINT (Ctrl\\-C; 143 by SIGTERM), leaving no partial output", out);
	fputs(".\n.SH SEE ALSO\n.BR botify (1)\n", out);
}
