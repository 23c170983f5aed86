/*
 * ab.h - A/B metrics from event rows, as the original analysis (the course's
 * ab_test notebook) computes them, in one streaming pass.
 *
 * Rows are grouped by (user, arm), a "unit". In timestamp order a unit's
 * rows form sessions, each ending at a "last" row. Per session: tracks =
 * rows, time = sum of time, latency = sum of latency * 1000 (ms). Per unit:
 *   time                    sum of session times
 *   sessions                number of sessions
 *   mean_request_latency    latency / tracks
 *   mean_tracks_per_session tracks / sessions
 *   mean_time_per_session   time / sessions
 * Per arm: n units, mean and (n - 1) variance of each metric. Effect of a
 * treatment arm T against the control C, absolute (diff = mean_T - mean_C)
 * and in % of the control mean, with a (1 - alpha) interval for each:
 *
 *   split design (each user in one arm): the absolute interval is Welch's
 *     t interval; the relative one is, with R = mean_T / mean_C,
 *       delta:    (R - 1) +- t_nu * sqrt(s2_T/n_T + R^2 s2_C/n_C) / |mean_C|,
 *                 nu by Welch-Satterthwaite on those two terms
 *       notebook: the absolute interval divided by mean_C (the course
 *                 notebook's formula; it ignores the control mean's own
 *                 uncertainty and under-covers large effects)
 *   paired design (every user in every arm, as a paired simulation logs
 *     them): per-user pairs (T_u, C_u) of users with a finished session in
 *     both arms; the absolute interval is the paired t interval on
 *     d_u = T_u - C_u (n - 1 df); the relative one is
 *       delta:    (R - 1) +- t_{n-1} * sd(T_u - R C_u) / sqrt(n) / |mean_C|
 *       notebook: the absolute interval divided by mean_C
 *
 * Each row has the two-sided p-value of the test its relative interval
 * inverts (the interval excludes 0 exactly when p < alpha), optionally
 * adjusted across every row of the table (Holm or Benjamini-Hochberg);
 * `significant` is the corrected decision when a correction is asked for,
 * else whether the interval excludes 0.
 *
 * Memory is per unit, not per row: a unit keeps its totals and the rows of
 * its open session only. Order: a unit's rows are sessionized in timestamp
 * order (ties in arrival order), whatever order they arrive in, exactly as
 * sorting the unit's rows first would: rows from several files, or a file
 * whose rows of one user are out of order, give the same numbers. A row
 * arriving earlier than its unit's newest "last" row belongs to a finished
 * session; rows after a unit's newest "last" form its open session. Rows
 * still open at the end belong to unfinished sessions (the log stopped in
 * the middle of one): they are counted and left out, and a unit with no
 * finished session is left out altogether (the notebook would count it in
 * 'time' and 'sessions' as zeros; see docs/ab.md).
 */
#ifndef BOTIFY_AB_H
#define BOTIFY_AB_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "experiment.h"

enum botify_ab_metric {
	BOTIFY_AB_TIME,
	BOTIFY_AB_SESSIONS,
	BOTIFY_AB_MEAN_REQUEST_LATENCY,
	BOTIFY_AB_MEAN_TRACKS_PER_SESSION,
	BOTIFY_AB_MEAN_TIME_PER_SESSION,
	BOTIFY_AB_N_METRICS
};

/* "time", "sessions", ... in the table order above; NULL out of range. */
const char *botify_ab_metric_name(int metric);
/* The index of a metric name, or -1. */
int botify_ab_metric_index(const char *name);

struct botify_ab_unit;

/* The accumulator: feed rows, then summarize. All-zero is a valid empty
 * value (botify_ab_init only sets it up). */
typedef struct botify_ab {
	struct botify_ab_unit *units;   /* open-addressing table */
	size_t cap, n_units;
	int64_t seq;                    /* rows added: the arrival order */
	/* what the logs held besides usable rows */
	int64_t rows;                   /* rows read */
	int64_t rows_used;              /* rows with an arm of the experiment */
	int64_t rows_without_arm;       /* the experiment missing from the row */
	int64_t rows_other_experiment;  /* of those, rows of other experiments */
	int64_t rows_other_arm;         /* an arm name that is not C/T<n> */
	int64_t rows_out_of_order;      /* earlier than the unit's previous row */
	int64_t last_rows;              /* "last" rows used */
	int threads;                    /* reading threads (botify_ab_read_log); < 2: one */
	size_t read_block;              /* bytes per thread and block read; 0: 4 MiB */
} botify_ab;

/* The most threads botify_ab_read_log uses. */
#define BOTIFY_AB_MAX_THREADS 256

int botify_ab_init(botify_ab *ab, botify_err *err);
void botify_ab_free(botify_ab *ab);

/* Adds one row whose e->arm (0..BOTIFY_MAX_ARMS-1) is its arm; rows with
 * arm -1 are counted as without an arm. Fails only on out of memory. */
int botify_ab_add(botify_ab *ab, const botify_event *e, botify_err *err);

/* Reads a log (plain or gzip) and adds its rows of experiment, or, when
 * arm >= 0, every row as a row of that arm (a log of one run without an
 * experiment). progress, when set, is called now and then with the
 * compressed bytes read and the file size. Errors name the file and line.
 * A regular file is read on ab->threads threads, in blocks cut at newlines;
 * the result is the same, bit for bit, as adding its rows one by one in
 * file order with botify_ab_add, for any number of threads. Streams (stdin,
 * FIFOs) are read a row at a time. On an error ab keeps what it had before
 * the file, or (streams) the rows before the bad one. */
int botify_ab_read_log(botify_ab *ab, const char *path, const char *experiment, int arm,
		       void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
		       botify_err *err);

/* How the ranks of a job talk, for botify_ab_read_logs_dist. Each function
 * is a collective: every rank calls it, in the same order. allgather: buf
 * holds size slots of bytes each, this rank's (slot rank) filled; on return
 * all are. alltoallv and bcast as botify_dist_alltoallv and
 * botify_dist_bcast_bytes (dist.h), which botify_ab_comm_job uses. */
typedef struct botify_ab_comm {
	int rank, size;
	void *ctx;
	int (*allgather)(void *ctx, void *buf, size_t bytes, botify_err *err);
	int (*alltoallv)(void *ctx, const void *send, const size_t *send_n, size_t unit, void **recv,
			 size_t *recv_n, botify_err *err);
	int (*bcast)(void *ctx, void *buf, size_t bytes, int root, botify_err *err);
} botify_ab_comm;

/* The ranks of this job (botify_dist: MPI, or a job of one). */
void botify_ab_comm_job(botify_ab_comm *c);

/* One log for botify_ab_read_logs_dist: as botify_ab_read_log's arguments. */
typedef struct botify_ab_log {
	const char *path;
	const char *experiment;
	int arm;
} botify_ab_log;

/* Reads logs on every rank of a job, a collective: plain files in byte
 * ranges cut at newlines, gzip files and streams whole, spread over the
 * ranks (streams, such as "-", on rank 0); each rank parses its ranges on
 * ab->threads threads and sends every used row to the rank owning its unit
 * (a hash of user and arm), which adds the rows of its units in log order.
 * Rank 0 then gathers every unit and ends with ab exactly as one process
 * reading the logs in order with botify_ab_read_log (botify_ab_digest
 * agrees), for any ranks x threads; the other ranks' ab stays as it was.
 * ab must be empty (fresh from botify_ab_init) on every rank.
 *
 * An error in the logs (a bad row, a damaged file, one that cannot be
 * opened) is the single process's: the first in log order, the same
 * message, on every rank; *agreed is then set, and every rank returns -1
 * with it. Other failures (memory, MPI) are this rank's alone (*agreed 0):
 * the job must then end (botify_dist_abort), as the others may wait for
 * this one. progress, on rank 0, sees the bytes of the logs read so far. */
int botify_ab_read_logs_dist(botify_ab *ab, const botify_ab_log *logs, int n,
			     const botify_ab_comm *comm,
			     void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
			     int *agreed, botify_err *err);

/* "libdeflate 1.14" or "zlib 1.2.13": what inflates gzip logs in this build. */
const char *botify_ab_inflater(void);

/* A digest of the accumulator's whole state: every unit with its place in
 * the table (which sets the order of every later sum), its totals bit for
 * bit and its open session, and the counts. Two reads of the same rows give
 * the same digest exactly when they would give the same numbers. */
uint64_t botify_ab_digest(const botify_ab *ab);

/* Which relative interval (see the top of this file). */
typedef enum botify_ab_ci { BOTIFY_AB_CI_DELTA, BOTIFY_AB_CI_NOTEBOOK } botify_ab_ci;

/* "delta", "notebook" to the enum, -1 when unknown; and back. */
int botify_ab_ci_parse(const char *name);
const char *botify_ab_ci_name(int ci);

/* How to analyse. BOTIFY_AB_DESIGN_DETECT finds the design in the data:
 * paired when every user of every analysed arm is in all of them. */
#define BOTIFY_AB_DESIGN_DETECT (-1)

typedef struct botify_ab_opts {
	double alpha;        /* (0, 1) */
	int design;          /* botify_design, or BOTIFY_AB_DESIGN_DETECT */
	int ci;              /* botify_ab_ci */
	int correction;      /* enum botify_p_adjust (stats.h) */
	unsigned metrics;    /* bit (1 << metric) per analysed metric; 0 = all */
} botify_ab_opts;

/* Per-arm figures of one metric. */
typedef struct botify_ab_moments {
	int64_t n;
	double mean, var;    /* var has n - 1 in the denominator; NaN for n < 2 */
} botify_ab_moments;

typedef struct botify_ab_arm {
	int present;                    /* the arm has units with a finished session */
	int64_t units;                  /* units with a finished session */
	int64_t units_unfinished_only;  /* units left out: no finished session */
	int64_t unfinished_sessions;    /* open sessions at the end, left out */
	int64_t unfinished_rows;
	int64_t sessions, rows;         /* in finished sessions */
	botify_ab_moments m[BOTIFY_AB_N_METRICS];
} botify_ab_arm;

/* One treatment x metric row of the result. */
typedef struct botify_ab_effect {
	int treatment;          /* arm index */
	int metric;
	double effect, lower, upper;   /* % of the control mean; NaN when undefined */
	double se_rel;          /* standard error of effect, in % (the interval's) */
	double diff, diff_lower, diff_upper;   /* mean_T - mean_C, metric units */
	double control_mean, treatment_mean;
	double df;              /* of the relative interval's t quantile */
	double half_width;      /* of the absolute interval, metric units */
	double p, p_adjusted;   /* two-sided; p_adjusted = p without a correction */
	int significant;        /* the decision: corrected when a correction is asked */
	int interval_excludes_0;
	int64_t n_control, n_treatment;   /* users; in a paired analysis both are the pairs */
	int zero_control;       /* the control mean is 0: effect undefined */
} botify_ab_effect;

typedef struct botify_ab_result {
	botify_ab_arm arm[BOTIFY_MAX_ARMS];
	int control;
	int n_treatments;
	int treatments[BOTIFY_MAX_ARMS - 1];
	double alpha;
	int design;                     /* botify_design used (detected or given) */
	int design_detected;            /* it was found in the data */
	int ci, correction;
	int64_t unpaired_users;         /* paired: users left out, not finished in every arm */
	/* sample-ratio mismatch: chi-square of units per analysed arm against
	 * an even split (split design only; NaN and 0 for a paired one) */
	double srm_chi2, srm_p;
	int srm;                        /* srm_p < BOTIFY_AB_SRM_P */
	int n_effects;
	botify_ab_effect effects[(BOTIFY_MAX_ARMS - 1) * BOTIFY_AB_N_METRICS];
	int64_t users_in_several_arms;  /* users seen in more than one arm */
} botify_ab_result;

#define BOTIFY_AB_SRM_P 0.001

/* Per-arm figures only (no effects): fills res->arm. */
void botify_ab_arms(const botify_ab *ab, botify_ab_result *res);

/* The analysis: control arm index, treatments (n_treatments of them; 0 means
 * every other arm present, in order), options. Errors (BOTIFY_EINVAL
 * unless noted): no finished session at all ("no 'last' rows"), an arm
 * not in the data (names the arms there are), a treatment equal to the
 * control, an analysed arm with fewer than 2 units (pairs when paired), a
 * paired design asked of data that is not paired (names how many users
 * miss an arm). A zero control mean is not an error: that row has
 * zero_control set, NaN effect and bounds, and decides on the difference. */
int botify_ab_analyze(const botify_ab *ab, int control, const int *treatments, int n_treatments,
		      const botify_ab_opts *opts, botify_ab_result *res, botify_err *err);

#endif
