/* libFuzzer entry point: a users.json file (JSON lines through the reader
 * and botify_world_parse_user), checked against a 1000-track catalog. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "jsonl.h"
#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/botify-fuzz-users.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	botify_world w = {0};
	w.N = 1000;
	botify_jsonl r = {0};
	botify_err err = {0};
	if (botify_jsonl_open(&r, path, &err) == 0) {
		while (botify_jsonl_next(&r, &err) == 1) {
			cJSON *o = botify_jsonl_parse(&r, &err);
			if (!o)
				continue;
			int64_t id;
			botify_user u;
			botify_world_parse_user(&w, &r, o, &id, &u, &err);
			cJSON_Delete(o);
		}
		botify_jsonl_close(&r);
	}
	free(w.interests);
	unlink(path);
	return 0;
}
