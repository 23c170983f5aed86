/* libFuzzer entry point: an HTTP request body and an exec/remote answer
 * (botify_recproto_parse_body, botify_recproto_parse_answer); what parses
 * as a body must format and parse back to the same call. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	botify_err err = {0};
	botify_rec_call c = { 17, 0, 0 };
	if (botify_recproto_parse_body(s, size, &c.track, &c.time, &err) == 0) {
		char buf[BOTIFY_RECPROTO_MAX_LINE];
		size_t n = botify_recproto_body(buf, &c);
		botify_rec_call back = { 17, -1, -1 };
		if (botify_recproto_parse_body(buf, n, &back.track, &back.time, &err) != 0 ||
		    back.track != c.track || back.time != c.time)
			abort();
	}
	int64_t user = 17;
	int32_t track;
	botify_recproto_parse_answer(s, size, &user, &track, &err);
	return 0;
}
