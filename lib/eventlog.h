/*
 * eventlog.h - the event log: one JSON line per recommender call, in the
 * format of the original service's data.json.
 *
 *   {"message": "next", "timestamp": 1700000000000, "user": 17, "track": 4211,
 *    "time": 1.0, "latency": 0.000012, "recommendation": 981,
 *    "experiments": {"AB": "T1"}}
 *
 * "last" rows carry no recommendation. The reader accepts extra fields, any
 * key order, "recommendation": null and logs written by the Python service.
 * "time" is a listen time, the fraction of the track played: a row whose
 * time is outside [0, 1] (or not a finite number) is refused with file:line.
 */
#ifndef BOTIFY_EVENTLOG_H
#define BOTIFY_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "jsonl.h"

enum { BOTIFY_MSG_NEXT = 0, BOTIFY_MSG_LAST = 1 };

/* Virtual clock of simulated runs: day D starts at this + D days, one ms per row. */
#define BOTIFY_TIMESTAMP_BASE 1700000000000LL
#define BOTIFY_MS_PER_DAY 86400000LL

typedef struct botify_event {
	int64_t timestamp;      /* ms */
	int64_t user;
	int32_t track;          /* the previous track */
	int32_t recommendation; /* -1 on "last" rows */
	double time;            /* the previous track's listen time */
	double latency;         /* seconds in the recommender */
	uint8_t message;        /* BOTIFY_MSG_NEXT or BOTIFY_MSG_LAST */
	int8_t arm;             /* arm index in the chosen experiment, -1 if none */
} botify_event;

/* Longest line botify_event_format writes, experiment name included. */
#define BOTIFY_EVENT_MAX_LINE 384

/* Formats e as one JSON line ending in '\n' into buf (at least
 * BOTIFY_EVENT_MAX_LINE bytes). experiment may be NULL ("experiments": {});
 * otherwise e->arm names the arm. Returns the bytes written. Times are
 * printed as Python's repr would (0.12, 1.0), so round trips are exact. */
size_t botify_event_format(char *buf, const botify_event *e, const char *experiment);

/* A latency in seconds as the log keeps it (whole nanoseconds), so that
 * statistics computed while simulating equal those read back from the log. */
double botify_event_latency(double seconds);

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

/* Parses one log line of len bytes; what/lineno are for messages. Fuzz
 * entry point. Returns 0 or -1. *arm_missing (when experiment is given):
 * 0 the row has an arm of it, 1 the row carries no experiment of that name,
 * 2 its arm is not C/T<n>, 3 it carries other experiments but not this one.
 * Only whitespace may follow the row's object. */
int botify_event_parse(const char *line, size_t len, const char *experiment, botify_event *e,
		       int *arm_missing, const char *what, size_t lineno, botify_err *err);

/* The cJSON path alone. botify_event_parse must give exactly what this
 * gives, row for row (the fast path only ever accepts rows this accepts,
 * with the same values); the differential fuzz target checks it. */
int botify_event_parse_cjson(const char *line, size_t len, const char *experiment, botify_event *e,
			     int *arm_missing, const char *what, size_t lineno, botify_err *err);

#endif
