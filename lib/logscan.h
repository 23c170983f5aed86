/*
 * logscan.h - parsing event-log rows (event.h) from JSON lines.
 *
 * The reader accepts extra fields, any key order, "recommendation": null
 * and logs written by the Python service. A row whose "time" is outside
 * [0, 1] (or not a finite number) is refused with file:line. Rows are
 * scanned by hand when they have the flat shape every log has; anything
 * else goes to cJSON, which decides and words every error, so both paths
 * accept the same rows with the same values.
 */
#ifndef BOTIFY_LOGSCAN_H
#define BOTIFY_LOGSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"

/* What a row says about the experiment asked for. */
enum botify_logscan_arm {
	BOTIFY_LOGSCAN_ARM = 0,               /* an arm of it: e->arm is set */
	BOTIFY_LOGSCAN_NO_EXPERIMENT = 1,     /* no experiment of that name (nor any) */
	BOTIFY_LOGSCAN_OTHER_ARM = 2,         /* its value is not C/T<n> */
	BOTIFY_LOGSCAN_OTHER_EXPERIMENTS = 3, /* other experiments, not this one */
};

/* Parses one log line of len bytes; what/lineno are for messages. Fuzz
 * entry point. Returns 0 or -1. *arm is an enum botify_logscan_arm
 * (always BOTIFY_LOGSCAN_ARM when experiment is NULL). Only whitespace may
 * follow the row's object. */
int botify_logscan_row(const char *line, size_t len, const char *experiment, botify_event *e,
		       int *arm, const char *what, size_t lineno, botify_err *err);

/* An experiment's name prepared once for the rows of a log (what
 * botify_logscan_row works out from it at every row). */
typedef struct botify_logscan_exp {
	const char *name;       /* NULL: no experiment asked for */
	size_t len;
	size_t pat_len;         /* 0: the rows' bytes cannot stand for the key */
	char pat[40];           /* {"<name>": " */
} botify_logscan_exp;

void botify_logscan_exp_init(botify_logscan_exp *x, const char *experiment);

/* botify_logscan_row with the experiment prepared by botify_logscan_exp_init. */
int botify_logscan_row_exp(const char *line, size_t len, const botify_logscan_exp *x,
			   botify_event *e, int *arm, const char *what, size_t lineno, botify_err *err);

/* The cJSON path alone. botify_logscan_row must give exactly what this
 * gives, row for row (the fast path only ever accepts rows this accepts,
 * with the same values); the differential fuzz target checks it. */
int botify_logscan_row_cjson(const char *line, size_t len, const char *experiment,
			     botify_event *e, int *arm, const char *what, size_t lineno,
			     botify_err *err);

/* Whole lines of an in-memory piece of a log, numbered from 1, by the rules
 * of the line reader of jsonl.h (blank lines skipped but counted, a '\r'
 * before the newline dropped, a last line without a newline kept), so a log
 * cut into pieces at newlines reads as the whole file does. */
typedef struct botify_logscan_lines {
	const char *p, *end;
	size_t lineno;          /* of the line returned last (or refused) */
} botify_logscan_lines;

void botify_logscan_lines_init(botify_logscan_lines *c, const char *buf, size_t len);
/* 1 with the next non-blank line (not NUL-terminated), 0 at the end, -1
 * when line c->lineno is longer than the reader's limit. */
int botify_logscan_lines_next(botify_logscan_lines *c, const char **line, size_t *len);

/* The next line when it is a row as botify writes them (keys in their
 * order, one space after each colon and comma, plain numbers, the
 * experiment asked for alone in its object) and the line's end is right
 * after it: 1 with the row read, exactly as botify_logscan_lines_next and
 * botify_logscan_row_exp read it, and the line passed; else 0 and nothing
 * passed. Saves finding the line's end before reading it. */
int botify_logscan_lines_canon(botify_logscan_lines *c, const botify_logscan_exp *x,
			       botify_event *e, int *arm);

/* Where to end a piece of buf[0..len) that starts at from and should end
 * near target: just after the newline that ends the line holding byte
 * target - 1 (len when there is none), never before from. Cutting at these
 * places splits a log between lines only. */
size_t botify_logscan_cut(const char *buf, size_t len, size_t from, size_t target);

#endif
