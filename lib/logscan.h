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

/* The cJSON path alone. botify_logscan_row must give exactly what this
 * gives, row for row (the fast path only ever accepts rows this accepts,
 * with the same values); the differential fuzz target checks it. */
int botify_logscan_row_cjson(const char *line, size_t len, const char *experiment,
			     botify_event *e, int *arm, const char *what, size_t lineno,
			     botify_err *err);

#endif
