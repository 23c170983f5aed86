/* libFuzzer entry point: recommender spec strings and --arms lists. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	char name[64];
	botify_rec_args args;
	botify_err err = {0};
	if (botify_rec_parse_spec(s, name, sizeof(name), &args, &err) == 0)
		botify_rec_args_free(&args);
	botify_arms arms;
	if (botify_arms_parse(&arms, s, &err) == 0)
		botify_arms_free(&arms);
	free(s);
	return 0;
}
