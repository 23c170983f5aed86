/* libFuzzer entry point: a config file read through a table of every field
 * type (botify_jsoncfg_apply), with unknown keys refused and then allowed,
 * and one key required. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jsoncfg.h"

struct cfg {
	int i, b;
	int32_t i32;
	int64_t i64;
	double d;
	const char *s;
};

#define F(member, kind, lo, hi, req) BOTIFY_JSONCFG_FIELD(struct cfg, member, kind, lo, hi, req)
static const botify_jsoncfg_field fields[] = {
	F(i, INT, -100, 100, 0),
	F(i32, INT32, -2147483648.0, 2147483647.0, 0),
	F(i64, INT64, -9007199254740992.0, 9007199254740992.0, 0),
	F(d, DOUBLE, -1e300, 1e300, 0),
	F(b, BOOL, 0, 0, 0),
	F(s, STRING, 0, 0, 1),
};
#undef F

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *o = cJSON_ParseWithLength((const char *)data, size);
	if (!o)
		return 0;
	for (int allow = 0; allow < 2; allow++) {
		const botify_jsoncfg t = { allow ? NULL : "parameter", fields,
					   sizeof(fields) / sizeof(fields[0]), allow };
		struct cfg c = {0};
		botify_err err = {0};
		if (botify_jsoncfg_apply(&t, o, "fuzz.json", &c, &err) == 0 && c.s)
			(void)strlen(c.s);
		else if (err.msg[0] == '\0')
			__builtin_trap(); /* a refusal always says why */
	}
	cJSON_Delete(o);
	return 0;
}
