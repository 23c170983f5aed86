/*
 * flags.h - a declarative flag table that drives both parsing and --help,
 * so the help text cannot drift from what is accepted.
 *
 * Accepts "--name value" and "--name=value"; booleans take no value.
 * Numbers are parsed whole with strtoll/strtod and range-checked: "--episodes
 * 12x" is an error naming the flag and the value. Errors are one line on
 * stderr plus a hint; --help prints to stdout.
 */
#ifndef BOTIFY_FLAGS_H
#define BOTIFY_FLAGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum flag_type { FLAG_T_END, FLAG_T_STR, FLAG_T_LONG, FLAG_T_DOUBLE, FLAG_T_BOOL, FLAG_T_LIST };

/* A repeatable string flag collects its values here (argv is borrowed). */
struct flag_list {
	int n;
	const char *v[64];
};

struct flag {
	enum flag_type type;
	const char *name;   /* without the leading "--" */
	void *ptr;
	const char *meta;   /* value name in help: "N", "FILE" */
	const char *help;
	double min, max;    /* numeric range, inclusive */
	int *seen;          /* optional: set to 1 when given */
};

#define FLAG_STR(n, p, m, h)            { FLAG_T_STR, n, p, m, h, 0, 0, NULL }
#define FLAG_LONG(n, p, m, h, lo, hi)   { FLAG_T_LONG, n, p, m, h, lo, hi, NULL }
#define FLAG_DOUBLE(n, p, m, h, lo, hi) { FLAG_T_DOUBLE, n, p, m, h, lo, hi, NULL }
/* The same, setting *s to 1 when the flag is given: for a default that
 * depends on whether the option was given at all. The pointer lives in the
 * table entry, so reordering a table cannot attach it to another flag. */
#define FLAG_STR_SEEN(n, p, m, h, s)            { FLAG_T_STR, n, p, m, h, 0, 0, s }
#define FLAG_LONG_SEEN(n, p, m, h, lo, hi, s)   { FLAG_T_LONG, n, p, m, h, lo, hi, s }
#define FLAG_DOUBLE_SEEN(n, p, m, h, lo, hi, s) { FLAG_T_DOUBLE, n, p, m, h, lo, hi, s }
#define FLAG_BOOL(n, p, h)              { FLAG_T_BOOL, n, p, NULL, h, 0, 0, NULL }
#define FLAG_LIST(n, p, m, h)           { FLAG_T_LIST, n, p, m, h, 0, 0, NULL }
#define FLAG_END                        { FLAG_T_END, NULL, NULL, NULL, NULL, 0, 0, NULL }

enum { FLAGS_OK = 0, FLAGS_HELP = 1, FLAGS_ERROR = 2 };

/* What a subcommand says about itself in --help. */
struct flag_doc {
	const char *usage;        /* "botify simulate [--world DIR] --episodes N ..." */
	const char *summary;      /* one paragraph under the usage line */
	const char *extra;        /* examples and notes after the options, or NULL */
	/* a block printed between the options and extra, made at run time
	 * from a table (the recommender registry), or NULL */
	void (*more)(FILE *out);
	/* the man page's word on SIGINT/SIGTERM when it is not the rule (exit
	 * 130, or 143 for SIGTERM, no partial output), or NULL */
	const char *interrupted;
};

/* Parses argv[1..] (argv[0] is the subcommand name) against flags. Long flags
 * (int64_t *) and doubles keep their initial values as defaults, shown in
 * help. Positional arguments are an error unless max_positional allows them;
 * they are returned in *positional (argv order) and counted in *n_positional. */
int flags_parse(const struct flag *flags, const struct flag_doc *doc, int argc, char **argv,
		char **positional, int max_positional, int *n_positional);

/* Prints "botify: <cmd>: <message>" and "see 'botify <cmd> --help'" to stderr;
 * returns the usage exit code (2). */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An output the command would write at its end refused before any work: the
 * usage error of usage_error when path exists and force is not set (a
 * device or FIFO is written through, never refused), else 0. */
int refuse_existing(const char *cmd, const char *path, int force);

/* Prints the help of a flag table to stdout. */
void flags_help(const struct flag *flags, const struct flag_doc *doc);

/* The name among names closest to word (a typo at most two edits away, or a
 * prefix of three letters or more), or NULL: the "did you mean" of unknown
 * options and commands. */
const char *flags_closest(const char *word, const char *const *names, size_t n);

/* Packaging reads the tables through a hook: while one is set, flags_parse
 * hands it the command's table and doc and returns FLAGS_HELP without
 * parsing, so the man pages and completions come from the very tables that
 * parse the options and print --help. */
typedef void (*flags_hook)(const struct flag *flags, const struct flag_doc *doc, void *ctx);
void flags_set_hook(flags_hook fn, void *ctx);

/* Writes a command's man page (troff) to out: name is "botify-simulate",
 * desc its one-line description. */
void flags_man(FILE *out, const struct flag *flags, const struct flag_doc *doc, const char *name,
	       const char *desc, const char *version);
/* Writes s as troff text (backslashes, hyphens and leading dots escaped). */
void flags_man_text(FILE *out, const char *s);

#endif
