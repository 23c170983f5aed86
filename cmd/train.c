/*
 * train.c - botify train: fit the two-tower (or dot/sum/hybrid) model to logged
 * sessions and write a model directory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cmd.h"
#include "curveplot.h"
#include "dist.h"
#include "flags.h"
#include "pairs.h"
#include "train.h"
#include "twotower.h"
#include "twotower_io.h"
#include "world.h"

static const struct flag_doc doc = {
	.usage = "botify train --log FILE... --model DIR [--world DIR] [--arch two-tower|dot|sum|hybrid] [options]",
	.summary =
		"Trains a model of listen time on logged sessions: per user in timestamp order,\n"
		"a session's first row gives its start track and each later row a pair\n"
		"(user, start, track, time). The pairs are split 80/10/10 by --seed; Adam\n"
		"minimizes MSE with reduce-LR-on-plateau (x0.1 after 3 epochs without\n"
		"improvement) and early stopping on validation MSE; the best epoch is kept.\n"
		"Logs of one policy only show what it chose (sticky_artist never pairs a start\n"
		"with another artist): --negatives K adds K sampled tracks per pair with target\n"
		"0, and the validation objective that early stopping watches includes them.\n"
		"When over 90% of the pairs stay with the start's artist and --negatives is not\n"
		"given, training uses --negatives 1 and (two-tower, no size given) --emb 64\n"
		"--hidden 128 --out 64, and says so.\n"
		"Each epoch prints train/val MSE, LR, seconds and samples/s on stderr; the\n"
		"test MSE is printed next to the 'avg' (training mean) and 'rdm' (uniform\n"
		"random) baselines, with a warning when the model does not beat 'avg'. The\n"
		"same seed and logs give the same model bytes for any --threads. A loss that\n"
		"becomes non-finite stops training with an error (exit 2). Ctrl-C stops after\n"
		"the current batch and saves the best model so far.",
	.extra =
		"architectures:\n"
		"  two-tower  context tower on concat(user, start, start's artist), item tower on\n"
		"             concat(track, artist), each 3 x (Linear + LeakyReLU(0.01)); prediction =\n"
		"             dot of the outputs (--no-context-artist: concat(user, start) only)\n"
		"  dot        start . track          sum   (start + user) . track\n"
		"  hybrid     sigmoid(start . track + Linear(user * track)), * elementwise\n"
		"\nexamples:\n"
		"  botify simulate --episodes 100000 --recommender random --seed 2 --log logs/train-random.jsonl.gz\n"
		"  botify simulate --episodes 100000 --recommender sticky_artist --seed 1 --log logs/train-sticky.jsonl.gz\n"
		"  botify train --log logs/train-sticky.jsonl.gz --model models/sticky     # one policy: negatives on by itself\n"
		"  botify train --log logs/train-random.jsonl.gz logs/train-sticky.jsonl.gz --model models/two-tower\n"
		"  botify train --log logs/train-random.jsonl.gz logs/train-sticky.jsonl.gz --model models/dot --arch dot\n"
		"  botify train --log logs/train-random.jsonl.gz logs/train-sticky.jsonl.gz --model models/adam --optimizer adam \\\n"
		"               --plot models/curves.svg --split-out models/split.json\n"
		"  botify datagen --out worlds/mini --tracks 500 --users 100 --dim 16 --seed 7\n"
		"  botify simulate --world worlds/mini --episodes 2000 --log mini.jsonl\n"
		"  botify train --world worlds/mini --log mini.jsonl --model m --epochs 5 --emb 8 --hidden 16 --out 8\n"
		"\nThe model directory holds config.json, metrics.json and one .npy per tensor;\n"
		"docs/train.md describes them.\n",
	.interrupted = "and on SIGINT (Ctrl-C) or SIGTERM while it trains, 0: the best model so far "
		       "is saved (a second one exits 130 at once, without saving); while it reads "
		       "the logs, 130 (143 by SIGTERM) and no model",
};

/* above this share of pairs by the start's artist, the logs come from a
 * policy that never leaves it (sticky_artist: 100%; random: 0.01%; the two
 * mixed half and half: about 55%) */
#define SINGLE_POLICY_SHARE 0.9
static void on_read(void *ctx, uint64_t done, uint64_t total)
{
	progress_update(ctx, done, total);
}

/* a bar within each epoch, replaced by the epoch's line when it ends */
struct train_progress {
	progress bar;
	int64_t epoch, max_epochs;
	int force;
	double epoch_start;    /* when the next epoch's first batch began */
	char label[64];
};

static void on_batch(void *ctx, int64_t epoch, int64_t done, int64_t n)
{
	struct train_progress *tp = ctx;
	if (epoch != tp->epoch) {
		tp->epoch = epoch;
		snprintf(tp->label, sizeof(tp->label), "epoch %lld (of at most %lld)", (long long)epoch,
			 (long long)tp->max_epochs);
		progress_init(&tp->bar, tp->label, tp->force);
		tp->bar.start = tp->epoch_start; /* the first batch is already done */
	}
	progress_update(&tp->bar, (uint64_t)done, (uint64_t)n);
}

static void on_epoch(void *ctx, const botify_epoch_stats *e)
{
	struct train_progress *tp = ctx;
	progress_clear(&tp->bar);
	tp->epoch_start = now_seconds();
	if (botify_quiet)
		return;
	char obj[48] = "";
	if (e->val_objective != e->val_mse) /* negatives are on */
		snprintf(obj, sizeof(obj), "  val+neg %.6f", e->val_objective);
	fprintf(stderr, "epoch %3lld  train %.6f  val %.6f%s%s  lr %.0e  %.2f s  %.0f samples/s\n",
		(long long)e->epoch, e->train_mse, e->val_mse, obj, e->improved ? "*" : " ", e->lr,
		e->seconds, e->samples_per_s);
}

static const char *stop_name(int reason)
{
	return reason == BOTIFY_STOP_EARLY ? "early_stopping"
	       : reason == BOTIFY_STOP_INTERRUPTED ? "interrupted" : "max_epochs";
}

/* Appends "; TEXT" (or TEXT, first) to buf, cut at cap. */
static void add_hint(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(buf);
	if (len && len + 2 < cap)
		memcpy(buf + len, "; ", 3), len += 2;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

/* The model does not beat 'avg': what to try, for the model this run
 * trained (no --negatives 1 to a run that had negatives, no two-tower to a
 * two-tower, a learning rate in the direction the curve points). */
static void warn_weak_model(const botify_train_result *res, int arch, int64_t negatives, double lr)
{
	char hint[512] = "";
	if (!negatives)
		add_hint(hint, sizeof(hint), "--negatives 1 if the logs come from one policy");
	if (res->stop_reason == BOTIFY_STOP_INTERRUPTED)
		add_hint(hint, sizeof(hint), "a run that is not interrupted (this one stopped at "
			 "epoch %lld)", (long long)res->epochs);
	else if (res->stop_reason == BOTIFY_STOP_MAX_EPOCHS && res->best_epoch == res->epochs)
		add_hint(hint, sizeof(hint), "more --epochs or a higher --lr (this run's %g): "
			 "validation was still improving at the last epoch", lr);
	else
		add_hint(hint, sizeof(hint), "a lower --lr (this run's %g)", lr);
	add_hint(hint, sizeof(hint), "more sessions, or logs with random traffic%s",
		 negatives ? " besides this policy's" : "");
	if (arch != BOTIFY_ARCH_TWO_TOWER)
		add_hint(hint, sizeof(hint), "--arch two-tower (this model is %s)",
			 botify_tt_arch_name(arch));
	fprintf(stderr, "botify: train: warning: the model's test MSE %.6f does not beat the 'avg' "
		"baseline %.6f (always predicting the training mean); try: %s\n", res->test_mse,
		res->avg_mse, hint);
}

static cJSON *metrics_json(const botify_train_result *res, int with_history)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "test_mse", res->test_mse);
	cJSON_AddNumberToObject(o, "avg_mse", res->avg_mse);
	cJSON_AddNumberToObject(o, "rdm_mse", res->rdm_mse);
	cJSON_AddNumberToObject(o, "val_mse", res->best_val_mse);
	cJSON_AddNumberToObject(o, "val_objective", res->best_val_objective);
	cJSON_AddNumberToObject(o, "test_negatives_mse", res->test_neg_mse);
	cJSON_AddNumberToObject(o, "train_mean", res->train_mean);
	cJSON_AddNumberToObject(o, "best_epoch", (double)res->best_epoch);
	cJSON_AddNumberToObject(o, "epochs", (double)res->epochs);
	cJSON_AddStringToObject(o, "stopped", stop_name(res->stop_reason));
	cJSON_AddNumberToObject(o, "n_train", (double)res->n_train);
	cJSON_AddNumberToObject(o, "n_val", (double)res->n_val);
	cJSON_AddNumberToObject(o, "n_test", (double)res->n_test);
	if (with_history) {
		cJSON *h = cJSON_AddArrayToObject(o, "history");
		for (int64_t i = 0; i < res->epochs; i++) {
			const botify_epoch_stats *e = &res->history[i];
			cJSON *r = cJSON_CreateObject();
			cJSON_AddNumberToObject(r, "epoch", (double)e->epoch);
			cJSON_AddNumberToObject(r, "train_mse", e->train_mse);
			cJSON_AddNumberToObject(r, "val_mse", e->val_mse);
			cJSON_AddNumberToObject(r, "lr", e->lr);
			cJSON_AddNumberToObject(r, "seconds", e->seconds);
			cJSON_AddNumberToObject(r, "samples_per_second", e->samples_per_s);
			if (e->partial)
				cJSON_AddBoolToObject(r, "partial", 1);
			cJSON_AddItemToArray(h, r);
		}
	}
	return o;
}

static int write_plot(const botify_train_result *res, const botify_train_opts *o,
		      const char *model_dir, const char *path, int force, botify_err *err)
{
	int64_t n = res->epochs;
	double *v = malloc((size_t)(3 * (n ? n : 1)) * sizeof(double));
	if (!v)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory drawing the plot");
	for (int64_t i = 0; i < n; i++) {
		v[i] = res->history[i].train_mse;
		v[n + i] = res->history[i].val_mse;
		v[2 * n + i] = res->history[i].val_objective;
	}
	char title[512], sub[256];
	snprintf(title, sizeof(title), "botify train: %s", model_dir);
	snprintf(sub, sizeof(sub), "test MSE %.4f at best epoch %lld of %lld (avg %.4f, rdm %.4f)%s",
		 res->test_mse, (long long)res->best_epoch, (long long)n, res->avg_mse, res->rdm_mse,
		 o->negatives ? "; dashed: with negatives, what early stopping watched" : "");
	botify_curves c = { title, sub, (int)n, v, v + n, o->negatives ? v + 2 * n : NULL,
			    n && res->history[n - 1].partial, (int)res->best_epoch, res->avg_mse,
			    res->rdm_mse };
	int rc = botify_curves_write(&c, path, force, err);
	free(v);
	return rc;
}

int cmd_train(int argc, char **argv)
{
	struct flag_list logs = {0};
	const char *model_dir = NULL, *world_dir = NULL, *arch_name = "two-tower";
	const char *split_in = NULL, *split_out = NULL, *optimizer = "lazy-adam", *plot = NULL;
	botify_train_opts o;
	botify_train_defaults(&o);
	int64_t seed = 1, emb = 32, hidden = 64, out = 32, threads = cpu_count();
	int no_context_artist = 0, force = 0, seen_out = 0, show_progress = 0;
	int seen_neg = 0, seen_emb = 0, seen_hidden = 0;
	char *more[64];
	int n_more = 0;
	struct flag flags[] = {
		FLAG_LIST("log", &logs, "FILE...", "event log (plain or .gz); more files may follow"),
		FLAG_STR("model", &model_dir, "DIR", "model directory to write"),
		FLAG_STR("world", &world_dir, "DIR", "world directory (default: the built-in world)"),
		FLAG_STR("arch", &arch_name, "ARCH", "two-tower, dot, sum or hybrid"),
		FLAG_LONG("epochs", &o.epochs, "N", "at most N epochs", 1, 100000),
		FLAG_LONG("patience", &o.patience, "P", "stop after P epochs without a better val MSE", 1, 100000),
		FLAG_LONG("seed", &seed, "S", "seed of the split, initialization and batch order", 0, 9007199254740992.0),
		FLAG_LONG_SEEN("emb", &emb, "E", "embedding width", 1, 4096, &seen_emb),
		FLAG_LONG_SEEN("hidden", &hidden, "H", "hidden width of the towers", 1, 16384, &seen_hidden),
		FLAG_LONG_SEEN("out", &out, "O", "tower output width (two-tower; the others use --emb)", 1, 4096, &seen_out),
		FLAG_LONG("batch", &o.batch, "B", "mini-batch size", 1, 1 << 24),
		FLAG_DOUBLE("lr", &o.lr, "LR", "Adam learning rate", 1e-12, 10),
		FLAG_DOUBLE("weight-decay", &o.weight_decay, "WD", "L2 weight decay", 0, 10),
		FLAG_LONG_SEEN("negatives", &o.negatives, "K", "sampled tracks per pair trained towards 0 (default: 1 when over 90% of the pairs stay with the start's artist, else 0)", 0, 100, &seen_neg),
		FLAG_LONG("lr-patience", &o.lr_patience, "P", "epochs without improvement before the LR drops", 0, 100000),
		FLAG_DOUBLE("lr-factor", &o.lr_factor, "F", "LR multiplier on a plateau", 1e-6, 1),
		FLAG_LONG("threads", &threads, "T", "training threads (default: all cores; the model is the same for any T)", 1, 256),
		FLAG_BOOL("no-context-artist", &no_context_artist, "leave the start's artist out of the context tower"),
		FLAG_BOOL("force", &force, "replace an existing model directory (one botify wrote)"),
		FLAG_STR("optimizer", &optimizer, "OPT", "lazy-adam (embedding rows of the batch only) or adam (every row, every step)"),
		FLAG_STR("split", &split_in, "FILE", "train/val/test pair indices from FILE (as --split-out writes) instead of 80/10/10"),
		FLAG_STR("split-out", &split_out, "FILE", "write the split's pair indices to FILE (JSON)"),
		FLAG_STR("plot", &plot, "FILE.svg", "draw train/validation MSE per epoch with the baselines and the best epoch"),
		FLAG_BOOL("progress", &show_progress, "show each epoch's progress even when stderr is not a terminal"),
		FLAG_BOOL("quiet", &botify_quiet, "no epoch lines, notes or progress on stderr"),
		FLAG_END,
	};
	int rc = flags_parse(flags, &doc, argc, argv, more, 64, &n_more);
	if (rc != FLAGS_OK)
		return rc == FLAGS_HELP ? BOTIFY_EXIT_OK : BOTIFY_EXIT_USAGE;
	/* under MPI every rank trains the same model on its share of each
	 * batch; rank 0 speaks and writes */
	int rank = botify_dist_rank();
	if (rank != 0) {
		botify_quiet = 1;
		show_progress = 0;
	}
	const char *paths[128];
	int n_paths = 0;
	for (int i = 0; i < logs.n; i++)
		paths[n_paths++] = logs.v[i];
	for (int i = 0; i < n_more; i++)
		paths[n_paths++] = more[i];
	if (!logs.n)
		return usage_error("train", n_more ? "log files must follow --log" :
				   "--log FILE is required, the logs to learn from: e.g. botify simulate --episodes "
				   "100000 --experiment DAY1 --arms C=random,T1=sticky_artist --log logs/day1.jsonl.gz "
				   "&& botify train --log logs/day1.jsonl.gz --model models/nn");
	if (!model_dir)
		return usage_error("train", "--model DIR is required, where the model goes: e.g. botify train "
				   "--log %s%s --model models/nn", paths[0], n_paths > 1 ? " ..." : "");
	int arch = botify_tt_arch_parse(arch_name);
	if (arch < 0)
		return usage_error("train", "--arch must be two-tower, dot, sum or hybrid, not '%s'", arch_name);
	if (arch != BOTIFY_ARCH_TWO_TOWER && seen_out && out != emb)
		return usage_error("train", "--arch %s has no towers: its vectors are --emb wide (drop --out)",
				   arch_name);
	if (strcmp(optimizer, "lazy-adam") && strcmp(optimizer, "adam"))
		return usage_error("train", "--optimizer must be lazy-adam or adam, not '%s'", optimizer);
	o.embedding_adam = strcmp(optimizer, "adam") ? BOTIFY_ADAM_LAZY : BOTIFY_ADAM_DENSE;
	o.threads = (int)threads;
	struct stat st;
	if (!force && stat(model_dir, &st) == 0) /* fail before a long training, not after */
		return usage_error("train", "'%s' exists (use --force to replace it)", model_dir);
	botify_err check = {0};
	if (force && botify_tt_check_replaceable(model_dir, &check) != 0)
		return report_error(&check);
	if (refuse_existing("train", split_out, force))
		return BOTIFY_EXIT_USAGE;
	size_t plot_len = plot ? strlen(plot) : 0;
	if (plot && (plot_len < 4 || strcmp(plot + plot_len - 4, ".svg")))
		return usage_error("train", "--plot writes SVG: its file name must end in .svg, not '%s'", plot);
	if (refuse_existing("train", plot, force))
		return BOTIFY_EXIT_USAGE;
	o.seed = (uint64_t)seed;

	botify_err err = {0};
	botify_world w = {0};
	botify_pairs p = {0};
	botify_tt m = {0};
	botify_train_result res = {0};
	botify_split split = {0};
	cJSON *training = NULL, *metrics = NULL;
	int exit_code = BOTIFY_EXIT_USAGE;
	install_interrupt_handler();
	double t0 = now_seconds();
	if (botify_world_open(&w, world_dir, BOTIFY_WORLD_ALL, &err) != 0)
		goto fail;
	progress read_bar;
	progress_init(&read_bar, "train: reading the logs", show_progress);
	rc = botify_pairs_read_progress(&p, paths, n_paths, w.U, w.N, &botify_interrupted, on_read,
					&read_bar, &err);
	progress_finish(&read_bar);
	if (rc != 0)
		goto fail;
	note("%lld pairs from %lld sessions in %lld rows of %d log%s (%.1f s); world: %s\n",
		(long long)p.n, (long long)p.n_sessions, (long long)p.rows, n_paths, n_paths > 1 ? "s" : "",
		now_seconds() - t0, w.source);
	double same = botify_train_same_artist_share(&p, w.artist);
	if (!seen_neg && same > SINGLE_POLICY_SHARE) {
		/* Logs of a policy that never leaves the start's artist show no
		 * bad candidate: without negatives (and the width to use them) the
		 * model ranks the rest of the catalog by extrapolation and loses to
		 * the policy that wrote the logs. */
		o.negatives = 1;
		if (arch == BOTIFY_ARCH_TWO_TOWER && !seen_emb && !seen_hidden && !seen_out) {
			emb = out = 64;
			hidden = 128;
		}
		if (rank == 0)
			fprintf(stderr,
			"%.1f%% of the pairs stay with the start's artist (logs of one policy): training with "
			"--negatives 1%s (give --negatives 0 to train on logged pairs only)\n",
			100.0 * same, arch == BOTIFY_ARCH_TWO_TOWER && emb == 64 && hidden == 128 && out == 64
				? " --emb 64 --hidden 128 --out 64" : "");
	}
	botify_tt_config cfg = { arch, w.U, w.N, w.A, (int)emb, (int)hidden,
				 arch == BOTIFY_ARCH_TWO_TOWER ? (int)out : (int)emb,
				 arch == BOTIFY_ARCH_TWO_TOWER && !no_context_artist };
	if (botify_tt_init(&m, &cfg, o.seed, &err) != 0)
		goto fail;
	if (split_in) {
		if (botify_split_read(&split, split_in, &err) != 0)
			goto fail;
		o.split = &split;
	}
	m.catalog_hash = botify_tt_catalog_hash(w.artist, w.N, w.A);
	struct train_progress tp = { .max_epochs = o.epochs, .force = show_progress };
	tp.epoch_start = now_seconds();
	o.on_epoch = on_epoch;
	o.on_batch = on_batch;
	o.ctx = &tp;
	o.stop = &botify_interrupted;
	if (botify_train(&m, &p, w.artist, &o, &res, &err) != 0) {
		if (split_in)
			botify_err_prefix(&err, "%s", split_in);
		goto fail;
	}
	if (rank != 0) { /* the same model as rank 0's, which writes it */
		exit_code = BOTIFY_EXIT_OK;
		goto out;
	}
	if (split_out && botify_split_write(&res.split, split_out, force, &err) != 0)
		goto fail;
	if (res.stop_reason == BOTIFY_STOP_INTERRUPTED)
		fprintf(stderr, "interrupted: saving the best model so far (epoch %lld)\n",
			(long long)res.best_epoch);

	training = cJSON_CreateObject();
	cJSON *jl = cJSON_AddArrayToObject(training, "logs");
	for (int i = 0; i < n_paths; i++)
		cJSON_AddItemToArray(jl, cJSON_CreateString(paths[i]));
	cJSON_AddStringToObject(training, "world", w.source);
	cJSON_AddNumberToObject(training, "pairs", (double)p.n);
	cJSON_AddNumberToObject(training, "sessions", (double)p.n_sessions);
	cJSON_AddNumberToObject(training, "seed", (double)seed);
	cJSON_AddNumberToObject(training, "batch", (double)o.batch);
	cJSON_AddNumberToObject(training, "lr", o.lr);
	cJSON_AddNumberToObject(training, "weight_decay", o.weight_decay);
	cJSON_AddNumberToObject(training, "negatives", (double)o.negatives);
	cJSON_AddNumberToObject(training, "max_epochs", (double)o.epochs);
	cJSON_AddNumberToObject(training, "patience", (double)o.patience);
	cJSON_AddNumberToObject(training, "lr_patience", (double)o.lr_patience);
	cJSON_AddNumberToObject(training, "lr_factor", o.lr_factor);
	cJSON_AddNumberToObject(training, "threads", (double)threads);
	if (botify_dist_size() > 1)
		cJSON_AddNumberToObject(training, "ranks", botify_dist_size());
	cJSON_AddStringToObject(training, "optimizer", optimizer);
	if (split_in)
		cJSON_AddStringToObject(training, "split", split_in);
	cJSON_AddItemToObject(training, "metrics", metrics_json(&res, 0));
	metrics = metrics_json(&res, 1);
	if (botify_tt_save(&m, model_dir, force, training, metrics, &err) != 0)
		goto fail;

	if (plot && write_plot(&res, &o, model_dir, plot, force, &err) != 0)
		goto fail;

	printf("| model | test MSE | avg | rdm | best epoch | epochs | stopped |\n");
	printf("|-------|---------:|----:|----:|-----------:|-------:|---------|\n");
	printf("| %s | %.6f | %.6f | %.6f | %lld | %lld | %s |\n", botify_tt_arch_name(arch),
	       res.test_mse, res.avg_mse, res.rdm_mse, (long long)res.best_epoch,
	       (long long)res.epochs, stop_name(res.stop_reason));
	printf("\n%lld train / %lld val / %lld test pairs; model: %s\n", (long long)res.n_train,
	       (long long)res.n_val, (long long)res.n_test, model_dir);
	if (!(res.test_mse < res.avg_mse))
		warn_weak_model(&res, arch, o.negatives, o.lr);
	exit_code = BOTIFY_EXIT_OK;
	goto out;
fail:
	exit_code = report_error(&err);
out:
	cJSON_Delete(training);
	cJSON_Delete(metrics);
	botify_train_result_free(&res);
	botify_split_free(&split);
	botify_tt_free(&m);
	botify_pairs_free(&p);
	botify_world_free(&w);
	return exit_code;
}
