/*
 * train.h - fitting a botify_tt model to training pairs: mini-batch Adam on
 * MSE, reduce-LR-on-plateau, early stopping on validation MSE, the best
 * epoch's weights kept, test MSE next to the 'avg' and 'rdm' baselines.
 *
 * Split: the pairs are shuffled with the seed; the first 80% train, the next
 * 10% validate, the last 10% test. Each epoch visits the training pairs in a
 * fresh order drawn from (seed, epoch).
 *
 * Optimizer: Adam on the dense layers (coupled L2 weight decay, as
 * torch.optim.Adam(weight_decay=...)); on the embedding tables either lazy
 * Adam (BOTIFY_ADAM_LAZY): only the rows in the batch are updated, decayed
 * and have their moments advanced (torch.optim.SparseAdam semantics, plus
 * the same L2 term on the touched rows), or dense Adam (BOTIFY_ADAM_DENSE):
 * every row every step, as torch.optim.Adam over all parameters does.
 *
 * Schedules, as torch/Lightning define them: the LR is multiplied by
 * lr_factor when the validation MSE has not improved by a relative 1e-4 for
 * more than lr_patience epochs (torch ReduceLROnPlateau, mode min); training
 * stops when it has not improved at all for `patience` epochs in a row
 * (Lightning EarlyStopping, min_delta 0) or after `epochs` epochs.
 *
 * Negatives: with negatives = K > 0, every training pair (user, start, track,
 * time) is joined in its batch by K pairs (user, start, t, 0.0) with t a
 * uniform catalog track drawn from (seed, epoch). Logs only hold the tracks
 * a policy chose: sticky_artist's logs never pair a start with another
 * artist, so without negatives the model has never seen what a bad
 * candidate looks like and ranks the rest of the catalog by extrapolation.
 * A uniform track is almost always a poor listen, so 0 is a fair target.
 * The reported train, validation and test MSE are over logged pairs only;
 * early stopping and the LR schedule watch the validation objective, which
 * adds the same number of negatives (fixed for the run) to the validation
 * pairs: the training objective, measured on held-out pairs.
 *
 * Split: --split-out writes the pair indices of each part (botify_split_*),
 * and a split read back replaces the shuffled 80/10/10 one, so another
 * trainer (PyTorch) can fit exactly the same pairs.
 *
 * Threads: a step's batch (logged pairs and negatives) is cut into chunks
 * whose number and size depend only on the batch's rows; the threads claim
 * chunks as they come free, each runs forward and the dense part of
 * backward with single-threaded GEMMs into the chunk's own gradient buffer.
 * Then they claim the parameters' slices (a fixed number): for its slice a
 * thread sums the chunks' dense gradients (in chunk order), scatters the
 * embedding gradients of the slice's table rows (in batch order) and runs
 * Adam on both. No sum depends on which thread did what, so the model bytes
 * are the same for any thread count.
 *
 * Determinism: fixed summation orders everywhere; the same seed and pairs
 * give the same model bytes for any number of threads, provided OpenBLAS
 * runs one thread per call (botify_blas_init, which main calls for every
 * command).
 */
#ifndef BOTIFY_TRAIN_H
#define BOTIFY_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "err.h"
#include "pairs.h"
#include "twotower.h"

typedef struct botify_epoch_stats {
	int64_t epoch;          /* 1-based */
	double train_mse;       /* mean over the epoch's batches, weighted by size */
	double val_mse;         /* on logged pairs */
	double val_objective;   /* with negatives: what early stopping watches */
	double lr;              /* the LR used during this epoch */
	double seconds;         /* the whole epoch, validation included */
	double samples_per_s;   /* training pairs / seconds of the training pass */
	int improved;           /* a new best validation MSE */
	int partial;            /* interrupted: the epoch did not see every training pair */
} botify_epoch_stats;

enum { BOTIFY_STOP_EARLY = 0, BOTIFY_STOP_MAX_EPOCHS = 1, BOTIFY_STOP_INTERRUPTED = 2 };

enum { BOTIFY_ADAM_LAZY = 0, BOTIFY_ADAM_DENSE = 1 };

/* Which pairs train, validate and test. */
typedef struct botify_split {
	int64_t n_pairs;        /* pairs of the logs it splits */
	int64_t n[3];           /* train, val, test */
	int64_t *idx;           /* (n[0] + n[1] + n[2]) pair indices: train, val, test */
} botify_split;

/* Writes s as JSON {"pairs": N, "train": [...], "val": [...], "test": [...]}
 * (atomically; an existing path is refused unless force). */
int botify_split_write(const botify_split *s, const char *path, int force, botify_err *err);
/* Reads a file written by botify_split_write: every index in [0, pairs),
 * none twice, each part non-empty. Errors name the file. */
int botify_split_read(botify_split *s, const char *path, botify_err *err);
void botify_split_free(botify_split *s);

typedef struct botify_train_opts {
	int64_t batch;          /* 2048 */
	int64_t epochs;         /* 300: at most */
	int64_t patience;       /* 5: early stopping */
	int64_t lr_patience;    /* 3 */
	double lr_factor;       /* 0.1 */
	double lr;              /* 1e-3 */
	double weight_decay;    /* 1e-5 */
	int64_t negatives;      /* sampled tracks per training pair, target 0 (see above) */
	int embedding_adam;     /* BOTIFY_ADAM_LAZY (default) or BOTIFY_ADAM_DENSE */
	int threads;            /* 1 */
	const botify_split *split; /* NULL: shuffle with the seed, 80/10/10 */
	uint64_t seed;
	/* called after each full epoch (from the training thread) */
	void (*on_epoch)(void *ctx, const botify_epoch_stats *e);
	/* called after every batch with the epoch and its training pairs done
	 * of n (for progress bars), or NULL */
	void (*on_batch)(void *ctx, int64_t epoch, int64_t done, int64_t n);
	void *ctx;
	/* polled after every batch: stop, keep the best weights so far */
	volatile sig_atomic_t *stop;
} botify_train_opts;

/* The defaults above; seed 1. */
void botify_train_defaults(botify_train_opts *o);

typedef struct botify_train_result {
	int64_t n_train, n_val, n_test;
	int64_t epochs;         /* epochs run (an interrupted one included, marked partial) */
	int64_t best_epoch;     /* in [1, epochs] */
	double best_val_mse;    /* validation MSE (logged pairs) of the best epoch */
	double best_val_objective; /* the objective early stopping chose it by */
	double test_mse;        /* on logged pairs */
	double test_neg_mse;    /* on sampled negatives (target 0), when negatives > 0 */
	double avg_mse;         /* test MSE of predicting the training mean */
	double rdm_mse;         /* test MSE of predictions drawn from U(0,1) */
	double train_mean;
	int stop_reason;        /* BOTIFY_STOP_* */
	botify_epoch_stats *history; /* (epochs), owned: free with botify_train_result_free */
	botify_split split;     /* the split used, owned */
} botify_train_result;

/* Trains m (from botify_tt_init; training blocks are allocated here) on p.
 * artist (N) maps tracks to artists. On return m holds the best epoch's
 * weights, user_pairs (training pairs per user), user_mean and user_context
 * (each user's context vector averaged over their logged session starts;
 * users without sessions get the average over all sessions of the mean
 * user's context). Fails on too few pairs (< 10), a split that does not fit
 * p, a loss that becomes non-finite (BOTIFY_ERUNTIME: nothing worth saving)
 * or ENOMEM; an interrupt is not a failure (stop_reason says it). */
int botify_train(botify_tt *m, const botify_pairs *p, const int32_t *artist,
		 const botify_train_opts *o, botify_train_result *res, botify_err *err);

void botify_train_result_free(botify_train_result *res);

/* The share of p's pairs whose track is by the start's artist: near 1 for
 * the logs of a policy that never leaves the start's artist (sticky_artist),
 * about 1 / artists for random traffic. 0 for no pairs. */
double botify_train_same_artist_share(const botify_pairs *p, const int32_t *artist);

/* Fills m->user_context from the sessions in p (see botify_train). */
int botify_train_user_contexts(botify_tt *m, const botify_pairs *p, botify_err *err);

#endif
