/*
 * eventlog.h - reading event logs: files of event rows (event.h), one JSON
 * line each, plain or gzip, parsed by logscan.h.
 */
#ifndef BOTIFY_EVENTLOG_H
#define BOTIFY_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "jsonl.h"

/* Reads events from a log. experiment selects which entry of "experiments"
 * gives e->arm (NULL: arm is always -1); rows where it is missing or not an
 * arm name get arm -1 and are counted. */
typedef struct botify_eventlog_reader {
	botify_jsonl in;
	const char *experiment;
	int64_t rows;
	int64_t rows_without_arm;  /* experiment missing from the row */
	int64_t rows_other_experiment; /* of those, rows that name other experiments */
	int64_t rows_other_arm;    /* arm value not C/T<n> */
} botify_eventlog_reader;

int botify_eventlog_open(botify_eventlog_reader *r, const char *path, const char *experiment,
			 botify_err *err);
/* 1 = an event read, 0 = end of file, -1 = error "path:line: ..." */
int botify_eventlog_next(botify_eventlog_reader *r, botify_event *e, botify_err *err);
void botify_eventlog_close(botify_eventlog_reader *r);
/* Bytes of the file consumed so far (compressed bytes for gzip), for
 * progress displays. */
uint64_t botify_eventlog_offset(const botify_eventlog_reader *r);

/* Lists the experiments and arms the first max_rows rows of a log carry, as
 * "AB:C,T1; RECS:C,T1,T2" (empty when none), for error messages. */
int botify_eventlog_experiments(const char *path, int64_t max_rows, char *buf, size_t cap,
				botify_err *err);

#endif
