/*
 * event.h - one row of the event log: one recommender call, in the format
 * of the original service's data.json.
 *
 *   {"message": "next", "timestamp": 1700000000000, "user": 17, "track": 4211,
 *    "time": 1.0, "latency": 0.000012, "recommendation": 981,
 *    "experiments": {"AB": "T1"}}
 *
 * "last" rows carry no recommendation. "time" is a listen time, the
 * fraction of the track played, in [0, 1]. This header is light on purpose
 * (no JSON library): the simulator writes rows, logscan.h parses them and
 * eventlog.h reads files of them.
 */
#ifndef BOTIFY_EVENT_H
#define BOTIFY_EVENT_H

#include <stddef.h>
#include <stdint.h>

enum botify_event_message { BOTIFY_MSG_NEXT = 0, BOTIFY_MSG_LAST = 1 };

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
	uint8_t message;        /* enum botify_event_message */
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

#endif
