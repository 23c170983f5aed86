/*
 * event.c - formatting event-log rows.
 *
 * The formatter is on the simulator's hot path (a row per step), so it
 * builds lines by hand instead of going through printf or a JSON library.
 */
#include "event.h"

#include <math.h>
#include <string.h>

#include "experiment.h"
#include "pyfmt.h"

/* Listen times are hundredths (the simulator rounds them); print those as
 * Python prints them and anything else through the general path. */
static char *put_time(char *p, double t)
{
	double h = nearbyint(t * 100.0);
	if (h >= 0 && h < 1e9 && h / 100.0 == t) {
		uint64_t hi = (uint64_t)h;
		p = botify_put_u64(p, hi / 100);
		*p++ = '.';
		uint64_t f = hi % 100;
		if (f % 10 == 0) {
			*p++ = (char)('0' + f / 10);
		} else {
			*p++ = (char)('0' + f / 10);
			*p++ = (char)('0' + f % 10);
		}
		return p;
	}
	return botify_put_pyfloat(p, t);
}

double botify_event_latency(double seconds)
{
	/* below 2^53 ns the quotient is the double strtod gives for the digits */
	if (!(seconds >= 0 && seconds < 9e6))
		return seconds;
	return (double)llround(seconds * 1e9) / 1e9;
}

/* Latency in seconds with nanosecond resolution, trailing zeros trimmed. */
static char *put_latency(char *p, double s)
{
	if (!(s >= 0 && s < 1e9))
		return botify_put_pyfloat(p, s);
	uint64_t ns = (uint64_t)llround(s * 1e9);
	p = botify_put_u64(p, ns / 1000000000u);
	*p++ = '.';
	uint64_t frac = ns % 1000000000u;
	char digits[9];
	for (int i = 8; i >= 0; i--) {
		digits[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	int n = 9;
	while (n > 1 && digits[n - 1] == '0')
		n--;
	memcpy(p, digits, (size_t)n);
	return p + n;
}

size_t botify_event_format(char *buf, const botify_event *e, const char *experiment)
{
	char *p = buf;
	p = botify_put_str(p, e->message == BOTIFY_MSG_LAST ? "{\"message\": \"last\", \"timestamp\": "
						     : "{\"message\": \"next\", \"timestamp\": ");
	p = botify_put_i64(p, e->timestamp);
	p = botify_put_str(p, ", \"user\": ");
	p = botify_put_i64(p, e->user);
	p = botify_put_str(p, ", \"track\": ");
	p = botify_put_i64(p, e->track);
	p = botify_put_str(p, ", \"time\": ");
	p = put_time(p, e->time);
	p = botify_put_str(p, ", \"latency\": ");
	p = put_latency(p, e->latency);
	if (e->message != BOTIFY_MSG_LAST) {
		p = botify_put_str(p, ", \"recommendation\": ");
		p = botify_put_i64(p, e->recommendation);
	}
	p = botify_put_str(p, ", \"experiments\": {");
	const char *arm = botify_arm_name(e->arm);
	if (experiment && arm) {
		/* experiment names are [A-Za-z0-9_.-]: nothing to escape */
		*p++ = '"';
		p = botify_put_str(p, experiment);
		p = botify_put_str(p, "\": \"");
		p = botify_put_str(p, arm);
		*p++ = '"';
	}
	p = botify_put_str(p, "}}\n");
	return (size_t)(p - buf);
}

