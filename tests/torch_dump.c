/*
 * torch_dump.c - helper of `make check-torch`: loads a model
 * directory, runs one forward/backward on a fixed batch and writes the
 * batch, the predictions, the loss and every parameter gradient as .npy
 * files for scripts/check_torch.py to compare with PyTorch. The world is
 * the one the model was trained on: the context tower looks up the start's
 * artist in it.
 *
 *   check_torch_dump MODEL_DIR WORLD_DIR OUT_DIR
 *
 * It also hands scripts/torch_parity.py the training pairs botify reads from
 * logs, so that PyTorch fits exactly the pairs a --split-out file indexes:
 *
 *   check_torch_dump --pairs WORLD_DIR|- OUT_DIR LOG...
 *
 * writes pairs.npy (n, 4) = user, start, track, time (ids < 2^24 are exact
 * in float32), artist.npy (N,) and sizes.npy [U, N, A]; "-" is the built-in
 * world.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "pairs.h"
#include "rng.h"
#include "twotower.h"
#include "twotower_io.h"
#include "world.h"
#include "worldgen.h"

enum { B = 64 };

static int put(const char *dir, const char *name, const float *x, size_t ndim, size_t rows,
	       size_t cols)
{
	char path[4096];
	botify_err err = {0};
	snprintf(path, sizeof(path), "%s/%s.npy", dir, name);
	if (botify_npy_write(path, x, ndim, rows, cols, 1, &err) != 0) {
		fprintf(stderr, "check_torch_dump: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int dump_pairs(const char *world_dir, const char *out, const char *const *logs, int n_logs)
{
	botify_world w = {0};
	botify_pairs p = {0};
	botify_err err = {0};
	botify_worldgen_params wp;
	botify_worldgen_defaults(&wp);
	int rc = strcmp(world_dir, "-") ? botify_world_load(&w, world_dir, &err)
					: botify_worldgen_generate(&w, &wp, &err);
	if (rc != 0 || botify_pairs_read(&p, logs, n_logs, w.U, w.N, NULL, &err) != 0) {
		fprintf(stderr, "check_torch_dump: %s\n", err.msg);
		return 2;
	}
	float *rows = malloc((size_t)p.n * 4 * sizeof(float) + 1);
	float *art = malloc((size_t)w.N * sizeof(float));
	float sizes[3] = { (float)w.U, (float)w.N, (float)w.A };
	if (!rows || !art) {
		fprintf(stderr, "check_torch_dump: out of memory\n");
		return 2;
	}
	for (int64_t i = 0; i < p.n; i++) {
		rows[4 * i] = (float)p.user[i];
		rows[4 * i + 1] = (float)p.start[i];
		rows[4 * i + 2] = (float)p.track[i];
		rows[4 * i + 3] = p.time[i];
	}
	for (int32_t t = 0; t < w.N; t++)
		art[t] = (float)w.artist[t];
	rc = put(out, "pairs", rows, 2, (size_t)p.n, 4) || put(out, "artist", art, 1, (size_t)w.N, 1) ||
	     put(out, "sizes", sizes, 1, 3, 1);
	free(rows);
	free(art);
	botify_pairs_free(&p);
	botify_world_free(&w);
	return rc ? 2 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "--pairs"))
		return dump_pairs(argv[2], argv[3], (const char *const *)argv + 4, argc - 4);
	if (argc != 4) {
		fprintf(stderr, "usage: check_torch_dump MODEL_DIR WORLD_DIR OUT_DIR\n");
		return 2;
	}
	const char *out = argv[3];
	botify_tt m = {0};
	botify_tt_acts a = {0}, d = {0};
	botify_world w = {0};
	botify_err err = {0};
	if (botify_tt_load(&m, argv[1], &err) != 0 || botify_world_load(&w, argv[2], &err) != 0 ||
	    botify_tt_bind_catalog(&m, w.artist, w.N, w.A, argv[1], &err) != 0 ||
	    botify_tt_alloc_training(&m, &err) != 0 ||
	    botify_tt_acts_init(&a, &m, B, &err) != 0 || botify_tt_acts_init(&d, &m, B, &err) != 0) {
		fprintf(stderr, "check_torch_dump: %s\n", err.msg);
		return 2;
	}
	int32_t user[B], start[B], track[B], artist[B];
	float y[B], ids[5 * B];
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 42, 1, 2, 3);
	for (int i = 0; i < B; i++) {
		/* repeats on purpose: scatter-adds must sum */
		user[i] = (int32_t)botify_rng_below(&r, (uint64_t)(m.cfg.U < 8 ? m.cfg.U : 8));
		start[i] = (int32_t)botify_rng_below(&r, (uint64_t)m.cfg.N);
		track[i] = (int32_t)botify_rng_below(&r, (uint64_t)m.cfg.N);
		artist[i] = (int32_t)botify_rng_below(&r, (uint64_t)m.cfg.A);
		y[i] = (float)botify_rng_uniform(&r);
		ids[i] = (float)user[i];
		ids[B + i] = (float)start[i];
		ids[2 * B + i] = (float)track[i];
		ids[3 * B + i] = (float)artist[i];
		ids[4 * B + i] = (float)w.artist[start[i]];
	}
	botify_tt_batch b = { B, user, start, track, artist, y };
	botify_tt_forward(&m, &a, &b);
	botify_tt_acts_zero(&d, B);
	botify_tt_backward(&m, &d, &a, &b);
	double sse = 0;
	for (int i = 0; i < B; i++)
		sse += ((double)a.pred[i] - y[i]) * ((double)a.pred[i] - y[i]);
	float loss = (float)(sse / B);
	int rc = put(out, "batch_ids", ids, 2, 5, B) || put(out, "batch_y", y, 1, B, 1) ||
		 put(out, "pred", a.pred, 1, B, 1) || put(out, "loss", &loss, 1, 1, 1);
	for (int t = 0; t < BOTIFY_TT_NTENSORS && !rc; t++) {
		if (!m.rows[t])
			continue;
		char name[80];
		snprintf(name, sizeof(name), "grad_%s", botify_tt_tensor_name(t));
		int bias = m.cols[t] == 1 && t >= BOTIFY_TT_NEMB;
		rc = put(out, name, m.grad_mem + m.off[t], bias ? 1 : 2, m.rows[t], m.cols[t]);
	}
	botify_tt_acts_free(&a);
	botify_tt_acts_free(&d);
	botify_tt_free(&m);
	botify_world_free(&w);
	return rc ? 2 : 0;
}
