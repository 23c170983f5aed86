/*
 * twotower_infer.c - the item tower over the whole catalog, in blocks of
 * tracks so the activations stay small.
 */
#include "twotower_infer.h"

#include <math.h>

/* tracks per block: big enough for sgemm */
enum { CHUNK = 1024 };

int botify_tt_item_vectors(const botify_tt *m, const int32_t *artist, float *items,
			   botify_err *err)
{
	botify_tt_acts a;
	int32_t N = m->cfg.N;
	int32_t tracks[CHUNK];
	if (botify_tt_acts_init(&a, m, CHUNK, err) != 0)
		return -1;
	for (int32_t t0 = 0; t0 < N; t0 += CHUNK) {
		int B = N - t0 < CHUNK ? N - t0 : CHUNK;
		for (int i = 0; i < B; i++)
			tracks[i] = t0 + i;
		botify_tt_items(m, &a, B, tracks, artist + t0, items + (size_t)t0 * m->cfg.OUT);
	}
	botify_tt_acts_free(&a);
	size_t n = (size_t)N * (size_t)m->cfg.OUT;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(items[i]))
			return botify_fail(err, BOTIFY_ERANGE,
					   "the model gives non-finite track vectors: its weights are too large to rank by (retrain it)");
	return 0;
}
