/* libFuzzer entry point: a users.json file (JSON lines through the object
 * iterator and botify_world_parse_user), checked against a 1000-track catalog. */
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
		/* as load_users reads: objects owned by the reader; a bad line
		 * ends the file there */
		int64_t id;
		botify_user u;
		while (botify_jsonl_next_object(&r, &err) == 1)
			botify_world_parse_user(&w, &r, r.obj, &id, &u, &err);
		botify_jsonl_close(&r);
	}
	free(w.interests);
	unlink(path);
	return 0;
}
