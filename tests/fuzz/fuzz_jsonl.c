/* libFuzzer entry point: the JSON-lines reader on a file of arbitrary bytes
 * (plain, or gzip when it starts with the magic: members, truncation, data
 * after the stream), then the whole-file JSON reader on the same file. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "jsonl.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/botify-fuzz-jsonl.%ld", (long)getpid());
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return 0;
	fwrite(data, 1, size, fp);
	fclose(fp);

	botify_jsonl r;
	botify_err err = {0};
	if (botify_jsonl_open(&r, path, &err) == 0) {
		int rc;
		size_t last = 0;
		while ((rc = botify_jsonl_next(&r, &err)) == 1) {
			if (r.lineno <= last || (r.line && r.line[r.len] != '\0'))
				abort(); /* line numbers only grow; lines are terminated */
			last = r.lineno;
			cJSON_Delete(botify_jsonl_parse(&r, &err));
		}
		botify_jsonl_close(&r);
	}
	cJSON_Delete(botify_json_read_file(path, &err));
	unlink(path);
	return 0;
}
