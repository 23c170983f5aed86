/* libFuzzer entry point: one event-log line (botify_logscan_row). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "logscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = 0;
	botify_event e;
	botify_err err = {0};
	int missing;
	if (botify_logscan_row(line, size, "AB", &e, &missing, "fuzz.jsonl", 1, &err) == 0) {
		char buf[BOTIFY_EVENT_MAX_LINE];
		botify_event_format(buf, &e, "AB"); /* whatever parses must format */
	}
	free(line);
	return 0;
}
