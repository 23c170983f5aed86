/* libFuzzer entry point, differential: the fast event-log parser against
 * the cJSON path (botify_logscan_row_cjson). Whatever one accepts the other
 * accepts with bit-identical values; whatever one refuses the other refuses
 * with the same message. Both with and without an experiment to look up. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "logscan.h"

static void same(const char *line, size_t size, const char *experiment)
{
	botify_event a, b;
	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	int ma = -7, mb = -7;
	botify_err ea = {0}, eb = {0};
	int ra = botify_logscan_row(line, size, experiment, &a, &ma, "f", 3, &ea);
	int rb = botify_logscan_row_cjson(line, size, experiment, &b, &mb, "f", 3, &eb);
	if (ra != rb) {
		fprintf(stderr, "fast path %s, cJSON path %s: %s%s\n", ra ? "refuses" : "accepts",
			rb ? "refuses" : "accepts", ea.msg, eb.msg);
		abort();
	}
	if (ra != 0) {
		if (ea.code != eb.code || strcmp(ea.msg, eb.msg)) {
			fprintf(stderr, "messages differ: '%s' vs '%s'\n", ea.msg, eb.msg);
			abort();
		}
		return;
	}
	if (a.timestamp != b.timestamp || a.user != b.user || a.track != b.track ||
	    a.recommendation != b.recommendation || a.message != b.message || a.arm != b.arm ||
	    ma != mb || memcmp(&a.time, &b.time, sizeof(double)) ||
	    memcmp(&a.latency, &b.latency, sizeof(double))) {
		fprintf(stderr, "values differ: ts %lld/%lld user %lld/%lld track %d/%d rec %d/%d msg %d/%d arm %d/%d missing %d/%d time %a/%a latency %a/%a\n",
			(long long)a.timestamp, (long long)b.timestamp, (long long)a.user,
			(long long)b.user, a.track, b.track, a.recommendation, b.recommendation,
			a.message, b.message, a.arm, b.arm, ma, mb, a.time, b.time, a.latency, b.latency);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: ASan sees any read past the line's end */
	char *line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	same(line, size, "AB");
	same(line, size, NULL);
	free(line);
	return 0;
}
