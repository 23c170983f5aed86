/* libFuzzer entry point: .npy parsing (botify_npy_parse). */
#include <stddef.h>
#include <stdint.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	botify_npy a = {0};
	botify_err err = {0};
	if (botify_npy_parse(&a, data, size, "fuzz.npy", &err) == 0 && a.rows * a.cols > 0)
		(void)a.data[a.rows * a.cols - 1]; /* the whole buffer must be readable */
	botify_npy_free(&a);
	return 0;
}
