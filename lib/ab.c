/*
 * ab.c - streaming A/B accumulation and the per-arm summary and effects.
 *
 * A unit (user, arm) lives in an open-addressing table. It holds the totals
 * of its finished sessions and the rows of its open session (cleared at
 * every "last"), so memory follows users, not rows. See ab.h for how rows
 * arriving out of timestamp order are placed.
 */
#include "ab.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#ifdef BOTIFY_LIBDEFLATE
#include <libdeflate.h>
#endif

#include "dist.h"
#include "eventlog.h"
#include "fs.h"
#include "jsonl.h"
#include "logscan.h"
#include "stats.h"

static const char *const metric_names[BOTIFY_AB_N_METRICS] = {
	"time", "sessions", "mean_request_latency", "mean_tracks_per_session",
	"mean_time_per_session",
};

const char *botify_ab_metric_name(int metric)
{
	return metric >= 0 && metric < BOTIFY_AB_N_METRICS ? metric_names[metric] : NULL;
}

int botify_ab_metric_index(const char *name)
{
	for (int i = 0; i < BOTIFY_AB_N_METRICS; i++)
		if (!strcmp(name, metric_names[i]))
			return i;
	return -1;
}

/* A row of an open session. */
struct pending {
	int64_t ts;
	double time, latency_ms;
};

struct botify_ab_unit {
	int64_t user;
	int8_t arm;
	uint8_t used;
	uint8_t existed;           /* a reading thread's copy of a unit the caller had */
	int64_t first;             /* seq of its first row: the order units were made in */
	uint32_t n_pend;
	size_t cap_pend;
	struct pending *pend;      /* the open session's rows, arrival order */
	int64_t last_ts;           /* newest "last" row; INT64_MIN before one */
	int64_t max_ts;            /* newest row of any kind */
	int64_t sessions, tracks;  /* finished sessions */
	double time, latency_ms;
};

enum { INITIAL_CAP = 1024, BLOCK_PER_THREAD = 4 << 20 };

static uint64_t mix(int64_t user, int arm)
{
	/* splitmix64's finalizer: user ids are often dense small integers */
	uint64_t z = (uint64_t)user * 32 + (uint64_t)arm + 0x9e3779b97f4a7c15u;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

int botify_ab_init(botify_ab *ab, botify_err *err)
{
	memset(ab, 0, sizeof(*ab));
	ab->units = botify_calloc(INITIAL_CAP, sizeof(*ab->units), "A/B users", err);
	if (!ab->units)
		return -1;
	ab->cap = INITIAL_CAP;
	return 0;
}

void botify_ab_free(botify_ab *ab)
{
	for (size_t i = 0; i < ab->cap; i++)
		free(ab->units[i].pend);
	free(ab->units);
	memset(ab, 0, sizeof(*ab));
}

/*
 * A table of cap units, not zeroed when fill is 0 (the caller writes every
 * slot). A table is new memory, and a page of new memory costs a fault
 * when first touched -- two when it is read first, as probing a calloc'd
 * table reads it -- which made most of the time spent growing tables and
 * merging the threads' units. So: written before it is read, and in huge
 * pages (one fault per 2 MiB, botify_malloc_large) where the system gives
 * them on request.
 */
static struct botify_ab_unit *new_units(size_t cap, int fill, botify_err *err)
{
	size_t bytes;
	if (botify_size_mul(cap, sizeof(struct botify_ab_unit), &bytes) != 0) {
		botify_fail(err, BOTIFY_ENOMEM, "too many A/B users");
		return NULL;
	}
	struct botify_ab_unit *u = botify_malloc_large(cap, sizeof(*u), "A/B users", err);
	if (!u)
		return NULL;
	if (fill)
		memset(u, 0, bytes);
	return u;
}

static int grow(botify_ab *ab, botify_err *err)
{
	size_t cap;
	if (botify_size_mul(ab->cap, 2, &cap) != 0)
		return botify_fail(err, BOTIFY_ENOMEM, "too many A/B users");
	struct botify_ab_unit *u = new_units(cap, 1, err);
	if (!u)
		return -1;
	for (size_t i = 0; i < ab->cap; i++) {
		const struct botify_ab_unit *o = &ab->units[i];
		if (!o->used)
			continue;
		size_t j = mix(o->user, o->arm) & (cap - 1);
		while (u[j].used)
			j = (j + 1) & (cap - 1);
		u[j] = *o;
	}
	free(ab->units);
	ab->units = u;
	ab->cap = cap;
	return 0;
}

/* The unit of (user, arm), or NULL. */
static struct botify_ab_unit *lookup_unit(const botify_ab *ab, int64_t user, int arm)
{
	size_t j = mix(user, arm) & (ab->cap - 1);
	for (;; j = (j + 1) & (ab->cap - 1)) {
		struct botify_ab_unit *u = &ab->units[j];
		if (!u->used)
			return NULL;
		if (u->user == user && u->arm == arm)
			return u;
	}
}

/* The unit of (user, arm), made when new: as a copy of prior's when prior
 * (the caller's table, read by a reading thread) has it. */
static struct botify_ab_unit *find_unit(botify_ab *ab, const botify_ab *prior, int64_t user,
					int arm, botify_err *err)
{
	size_t j = mix(user, arm) & (ab->cap - 1);
	for (;;) {
		struct botify_ab_unit *u = &ab->units[j];
		if (!u->used)
			break;
		if (u->user == user && u->arm == arm)
			return u;
		j = (j + 1) & (ab->cap - 1);
	}
	if (2 * (ab->n_units + 1) > ab->cap) { /* keep the load at most 1/2 */
		if (grow(ab, err) != 0)
			return NULL;
		return find_unit(ab, prior, user, arm, err);
	}
	const struct botify_ab_unit *had = prior ? lookup_unit(prior, user, arm) : NULL;
	struct botify_ab_unit *u = &ab->units[j];
	if (had) {
		struct pending *pend = NULL;
		if (had->n_pend) {
			pend = botify_calloc(had->n_pend, sizeof(*pend), "an open session", err);
			if (!pend)
				return NULL;
			memcpy(pend, had->pend, had->n_pend * sizeof(*pend));
		}
		*u = *had;
		u->pend = pend;
		u->cap_pend = had->n_pend;
		u->existed = 1;
	} else {
		u->used = 1;
		u->user = user;
		u->arm = (int8_t)arm;
		u->last_ts = INT64_MIN;
		u->max_ts = INT64_MIN;
	}
	u->first = ab->seq;
	ab->n_units++;
	return u;
}

/* Closes the open session at a "last" row at ts: its rows up to ts (all of
 * them when rows came in order) and the last row itself. The open rows are
 * pend[0..*n): the unit's, or a stage's (below). */
static void close_rows(struct botify_ab_unit *u, struct pending *pend, uint32_t *n, int64_t ts,
		       double time, double latency_ms)
{
	double s_time = 0.0, s_lat = 0.0;
	int64_t tracks = 0;
	uint32_t keep = 0;
	for (uint32_t i = 0; i < *n; i++) {
		const struct pending *p = &pend[i];
		if (p->ts <= ts) {
			tracks++;
			s_time += p->time;
			s_lat += p->latency_ms;
		} else {
			pend[keep++] = *p; /* after this "last": stays open */
		}
	}
	*n = keep;
	u->tracks += tracks + 1;
	u->time += s_time + time;
	u->latency_ms += s_lat + latency_ms;
	u->sessions++;
}

/*
 * The open rows of the unit a reading thread adds to, while they are its
 * only open rows: a unit's own array of open rows is touched once per
 * session, long after the last time, so it was a cache miss or more per
 * session; a session that opens and closes among consecutive rows now
 * never touches it. Rows staged while the unit has none of its own are
 * exactly its open rows, in the same order, so closing them gives the same
 * sums. The stage goes into the unit when another unit comes (stage_flush).
 */
struct stage {
	struct pending *rows;
	size_t cap;
	uint32_t n;
};

static int stage_flush(struct stage *st, struct botify_ab_unit *u, botify_err *err)
{
	if (!st->n)
		return 0;
	if (BOTIFY_ALLOC_GROW(u->pend, st->n, u->cap_pend, "an open session", err))
		return -1;
	memcpy(u->pend, st->rows, st->n * sizeof(*st->rows));
	u->n_pend = st->n;
	st->n = 0;
	return 0;
}

/* A row of an arm (lat in ms) into its unit u of ab; st, when not NULL,
 * is the stage of u. */
static int add_to_unit(botify_ab *ab, struct botify_ab_unit *u, struct stage *st, int64_t ts,
		       double time, double lat, int last, botify_err *err)
{
	ab->rows_used++;
	ab->seq++;
	if (ts < u->max_ts)
		ab->rows_out_of_order++;
	else
		u->max_ts = ts;
	if (last)
		ab->last_rows++;
	if (ts < u->last_ts) {
		/* before the newest "last": inside a finished session */
		u->tracks++;
		u->time += time;
		u->latency_ms += lat;
		u->sessions += last;
		return 0;
	}
	if (last) {
		u->last_ts = ts;
		if (st && st->n) /* then u has no open rows of its own */
			close_rows(u, st->rows, &st->n, ts, time, lat);
		else
			close_rows(u, u->pend, &u->n_pend, ts, time, lat);
		return 0;
	}
	if (st && !u->n_pend) {
		if (st->n == UINT32_MAX)
			return botify_fail(err, BOTIFY_ENOMEM, "session of user %lld too long",
					   (long long)u->user);
		if (BOTIFY_ALLOC_GROW(st->rows, st->n + 1, st->cap, "an open session", err))
			return -1;
		st->rows[st->n++] = (struct pending){ ts, time, lat };
		return 0;
	}
	if (u->n_pend == UINT32_MAX)
		return botify_fail(err, BOTIFY_ENOMEM, "session of user %lld too long",
				   (long long)u->user);
	if (BOTIFY_ALLOC_GROW(u->pend, u->n_pend + 1, u->cap_pend, "an open session", err))
		return -1;
	u->pend[u->n_pend++] = (struct pending){ ts, time, lat };
	return 0;
}

/* A row of an arm (lat in ms) into its unit. */
static int add_used(botify_ab *ab, const botify_ab *prior, int64_t user, int arm, int64_t ts,
		    double time, double lat, int last, botify_err *err)
{
	struct botify_ab_unit *u = find_unit(ab, prior, user, arm, err);
	return u ? add_to_unit(ab, u, NULL, ts, time, lat, last, err) : -1;
}

int botify_ab_add(botify_ab *ab, const botify_event *e, botify_err *err)
{
	ab->rows++;
	if (e->arm < 0 || e->arm >= BOTIFY_MAX_ARMS)
		return 0;
	/* ms, row by row, as the notebook */
	return add_used(ab, NULL, e->user, e->arm, e->timestamp, e->time, e->latency * 1000,
			e->message == BOTIFY_MSG_LAST, err);
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

/*
 * Reading a regular file on threads. The file goes by blocks (mapped, or
 * inflated); each block is cut at newlines into one part per thread.
 * Phase 1: each thread parses its part and routes every used row to the
 * thread that owns its unit (a hash of user and arm), with its place among
 * the part's used rows. Phase 2: each thread adds the rows of its units,
 * part after part, to a table of its own with botify_ab's own rule, so a
 * unit sees its rows in file order whichever part they fell in. At the end
 * of the file the units go into the caller's table: those it had are
 * replaced, the new ones are inserted in the order of their first row --
 * the order a single pass inserts them in, so the table (and the order of
 * every later sum over it) is the same for any thread count.
 */

/* A used row on its way to its unit's thread. */
struct routed {
	int64_t user, ts;
	double time, latency_ms;
	uint32_t idx;       /* among the used rows of its part */
	int8_t arm;
	uint8_t message;
};

struct part {
	const char *buf;
	size_t len;
	struct routed **out;        /* per owner thread */
	size_t *n_out, *cap_out;
	int64_t rows, used, without_arm, other_experiment, other_arm;
	size_t lines;               /* physical lines, blank ones too */
	int failed;                 /* FAIL_* */
	size_t fail_line;           /* in the part */
	const char *fail_text;
	size_t fail_len;
	botify_err err;             /* FAIL_MEMORY */
};

enum { FAIL_NONE, FAIL_ROW, FAIL_LONG, FAIL_MEMORY };

struct par_read {
	const botify_ab *main;      /* read only while the threads run */
	const char *experiment;
	int arm;                    /* >= 0: every row is a row of this arm */
	int n;
	botify_ab *local;           /* n tables */
	struct part *parts;         /* n, of the current block */
	int64_t *used_before;       /* n: used rows of the block before each part */
	int64_t seq;                /* the caller's seq plus used rows before the block */
	botify_err *errs;           /* n, phase 2 */
	struct stage *stages;       /* n, phase 2 */
	int *phase2_failed;
	int n_dest;                 /* where rows go: n threads, or the ranks of dr */
	struct dist_read *dr;       /* reading on the ranks of a job: phase 2 is theirs */
};

/* The thread that owns a unit: which one does not change the results (the
 * units meet again in merge_local, in the order of their first row). A
 * multiply and a shift, once per session: a division per row cost a tenth
 * of the parsing. */
static unsigned owner_of(int64_t user, int arm, int n)
{
	return (unsigned)(((mix(user, arm) >> 32) * (uint64_t)n) >> 32);
}

/* The rank owning a unit: the hash's other half, so that the threads of a
 * rank share its units evenly whatever the numbers of ranks and threads. */
static unsigned rank_of(int64_t user, int arm, int n)
{
	return (unsigned)((mix(user, arm) & 0xffffffffu) % (uint64_t)n);
}

static void *parse_part(void *arg_)
{
	struct { struct par_read *pr; int k; } *arg = arg_;
	struct par_read *pr = arg->pr;
	/* counted in a copy of its own: the threads' parts share cache lines */
	struct part copy = pr->parts[arg->k], *pt = &copy;
	botify_logscan_lines lines;
	botify_logscan_lines_init(&lines, pt->buf, pt->len);
	const char *line;
	size_t len;
	int rc = 0;
	uint32_t idx = 0;
	unsigned o = 0;
	int64_t last_user = -1; /* no user: ids are >= 0 */
	int last_arm = -1;
	botify_err scratch; /* the message is made again at the row's line number */
	botify_logscan_exp x;
	botify_logscan_exp_init(&x, pr->arm >= 0 ? NULL : pr->experiment);
	for (;;) {
		botify_event e;
		int st;
		if (!botify_logscan_lines_canon(&lines, &x, &e, &st)) {
			if ((rc = botify_logscan_lines_next(&lines, &line, &len)) != 1)
				break;
			if (botify_logscan_row_exp(line, len, &x, &e, &st, "", 0, &scratch) != 0) {
				pt->failed = FAIL_ROW;
				pt->fail_line = lines.lineno;
				pt->fail_text = line;
				pt->fail_len = len;
				break;
			}
		}
		pt->rows++;
		pt->without_arm += st == BOTIFY_LOGSCAN_NO_EXPERIMENT || st == BOTIFY_LOGSCAN_OTHER_EXPERIMENTS;
		pt->other_experiment += st == BOTIFY_LOGSCAN_OTHER_EXPERIMENTS;
		pt->other_arm += st == BOTIFY_LOGSCAN_OTHER_ARM;
		if (pr->arm >= 0)
			e.arm = (int8_t)pr->arm;
		if (e.arm < 0 || e.arm >= BOTIFY_MAX_ARMS)
			continue;
		if (e.user != last_user || e.arm != last_arm) { /* rows of a session come together */
			o = pr->dr ? rank_of(e.user, e.arm, pr->n_dest) : owner_of(e.user, e.arm, pr->n);
			last_user = e.user;
			last_arm = e.arm;
		}
		if (BOTIFY_ALLOC_GROW(pt->out[o], pt->n_out[o] + 1, pt->cap_out[o], "rows of a log part",
				      &pt->err) != 0) {
			pt->failed = FAIL_MEMORY;
			break;
		}
		/* ms row by row, as botify_ab_add computes it */
		pt->out[o][pt->n_out[o]++] = (struct routed){ e.user, e.timestamp, e.time,
							      e.latency * 1000, idx++, e.arm, e.message };
		pt->used++;
	}
	if (rc < 0) {
		pt->failed = FAIL_LONG;
		pt->fail_line = lines.lineno;
	}
	pt->lines = lines.lineno;
	pr->parts[arg->k] = copy;
	return NULL;
}

static void *add_parts(void *arg_)
{
	struct { struct par_read *pr; int k; } *arg = arg_;
	struct par_read *pr = arg->pr;
	int k = arg->k;
	/* the table's counters and the stage change row by row: in copies of
	 * this thread's own, not next to the other threads' */
	botify_ab table = pr->local[k], *t = &table;
	struct stage stage = pr->stages[k], *st = &stage;
	/* a session's rows come one after another: its unit is looked up once.
	 * Only looking up another unit may move the table. */
	struct botify_ab_unit *u = NULL;
	for (int c = 0; c < pr->n; c++) {
		const struct part *pt = &pr->parts[c];
		for (size_t i = 0; i < pt->n_out[k]; i++) {
			const struct routed *r = &pt->out[k][i];
			t->seq = pr->seq + pr->used_before[c] + r->idx;
			if (!u || u->user != r->user || u->arm != r->arm) {
				if ((u && stage_flush(st, u, &pr->errs[k]) != 0) ||
				    !(u = find_unit(t, pr->main, r->user, r->arm, &pr->errs[k])))
					goto fail;
			}
			if (add_to_unit(t, u, st, r->ts, r->time, r->latency_ms,
					r->message == BOTIFY_MSG_LAST, &pr->errs[k]) != 0)
				goto fail;
		}
	}
	if (!u || stage_flush(st, u, &pr->errs[k]) == 0)
		goto out;
fail:
	st->n = 0;
	pr->phase2_failed[k] = 1;
out:
	pr->local[k] = table;
	pr->stages[k] = stage;
	return NULL;
}

/* Runs fn for k = 0..n-1, on n - 1 new threads and this one. */
static void run_threads(struct par_read *pr, void *(*fn)(void *))
{
	struct { struct par_read *pr; int k; } args[BOTIFY_AB_MAX_THREADS];
	pthread_t tid[BOTIFY_AB_MAX_THREADS];
	int started[BOTIFY_AB_MAX_THREADS] = { 0 };
	for (int k = 0; k < pr->n; k++) {
		args[k].pr = pr;
		args[k].k = k;
	}
	for (int k = 1; k < pr->n; k++)
		started[k] = pthread_create(&tid[k], NULL, fn, &args[k]) == 0;
	fn(&args[0]);
	for (int k = 1; k < pr->n; k++) {
		if (started[k])
			pthread_join(tid[k], NULL);
		else
			fn(&args[k]); /* no thread to be had: the work is the same here */
	}
}

/* Totals of the file so far. */
struct par_totals {
	int64_t rows, used, without_arm, other_experiment, other_arm;
	size_t lines;
};

/* The error of part k, which failed; its first line is line + 1 of path. */
static int part_error(const struct par_read *pr, int k, size_t line, const char *path, botify_err *err)
{
	const struct part *pt = &pr->parts[k];
	if (pt->failed == FAIL_ROW) {
		/* the message the row gets when read alone, at its line */
		botify_event e;
		int st;
		if (botify_logscan_row(pt->fail_text, pt->fail_len, pr->arm >= 0 ? NULL : pr->experiment,
				       &e, &st, path, line + pt->fail_line, err) == 0)
			return botify_fail(err, BOTIFY_EFORMAT, "%s:%zu: a row read differently twice",
					   path, line + pt->fail_line);
		return -1;
	}
	if (pt->failed == FAIL_LONG)
		return botify_fail(err, BOTIFY_EFORMAT,
				   "%s:%zu: line longer than %d MiB (is this a JSON-lines file?)", path,
				   line + pt->fail_line, BOTIFY_JSONL_MAX_LINE >> 20);
	*err = pt->err;
	return -1;
}

static int dist_collect(struct par_read *pr, botify_err *err);

/* One block of whole lines: both phases. Errors name path and the line. */
static int run_block(struct par_read *pr, struct par_totals *tot, const char *buf, size_t len,
		     const char *path, botify_err *err)
{
	int n = pr->n;
	size_t from = 0;
	for (int k = 0; k < n; k++) {
		struct part *pt = &pr->parts[k];
		size_t to = k == n - 1 ? len : botify_logscan_cut(buf, len, from, len / (size_t)n * (size_t)(k + 1));
		pt->buf = buf + from;
		pt->len = to - from;
		for (int o = 0; o < pr->n_dest; o++)
			pt->n_out[o] = 0;
		pt->rows = pt->used = pt->without_arm = pt->other_experiment = pt->other_arm = 0;
		pt->lines = 0;
		pt->failed = FAIL_NONE;
		from = to;
	}
	run_threads(pr, parse_part);
	size_t line = tot->lines;
	int64_t used = 0;
	for (int k = 0; k < n; k++) {
		struct part *pt = &pr->parts[k];
		if (pt->failed != FAIL_NONE)
			return part_error(pr, k, line, path, err);
		line += pt->lines;
		pr->used_before[k] = used;
		used += pt->used;
	}
	if (pr->dr) {
		if (dist_collect(pr, err) != 0)
			return -1;
	} else {
		run_threads(pr, add_parts);
		for (int k = 0; k < n; k++)
			if (pr->phase2_failed[k]) {
				*err = pr->errs[k];
				return -1;
			}
	}
	for (int k = 0; k < n; k++) {
		const struct part *pt = &pr->parts[k];
		tot->rows += pt->rows;
		tot->without_arm += pt->without_arm;
		tot->other_experiment += pt->other_experiment;
		tot->other_arm += pt->other_arm;
	}
	tot->used += used;
	tot->lines = line;
	pr->seq += used;
	return 0;
}

/* A new unit on its way into the caller's table, by its first row. */
struct by_first {
	int64_t first;
	struct botify_ab_unit *u;
};

static int cmp_first(const void *pa, const void *pb)
{
	const struct by_first *a = pa, *b = pb;
	return (a->first > b->first) - (a->first < b->first);
}

/*
 * Moves the units v[0..n) (none of them in ab) into ab, in this order:
 * ab ends as find_unit would leave it inserting them one by one -- the
 * same slots, grown at the same counts, each growth moving the units in
 * slot order -- but the growths are played on a table of references, and
 * the units are written once, into the final table. Inserting them one by
 * one wrote every unit into each table it grew through, in new pages
 * (see new_units). Nothing in ab changes when it fails.
 */
static int insert_units(botify_ab *ab, const struct by_first *v, size_t n, botify_err *err)
{
	size_t cap0 = ab->cap, cap = cap0, count = ab->n_units;
	/* ref r + 1 in a slot: r < cap0 the unit in slot r of ab, else v[r - cap0] */
	size_t *slot = botify_calloc(cap, sizeof(*slot), "A/B users", err);
	uint64_t *hash = botify_malloc(cap0 + n, sizeof(*hash), "A/B users", err);
	if (!slot || !hash)
		goto fail;
	for (size_t s = 0; s < cap0; s++)
		if (ab->units[s].used) {
			slot[s] = s + 1;
			hash[s] = mix(ab->units[s].user, ab->units[s].arm);
		}
	for (size_t i = 0; i < n; i++)
		hash[cap0 + i] = mix(v[i].u->user, v[i].u->arm);
	for (size_t i = 0; i < n; i++) {
		if (2 * (count + 1) > cap) { /* as find_unit, then grow */
			size_t ncap;
			if (botify_size_mul(cap, 2, &ncap) != 0) {
				botify_fail(err, BOTIFY_ENOMEM, "too many A/B users");
				goto fail;
			}
			size_t *ns = botify_calloc(ncap, sizeof(*ns), "A/B users", err);
			if (!ns)
				goto fail;
			for (size_t s = 0; s < cap; s++) {
				if (!slot[s])
					continue;
				size_t j = hash[slot[s] - 1] & (ncap - 1);
				while (ns[j])
					j = (j + 1) & (ncap - 1);
				ns[j] = slot[s];
			}
			free(slot);
			slot = ns;
			cap = ncap;
		}
		size_t j = hash[cap0 + i] & (cap - 1);
		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = cap0 + i + 1;
		count++;
	}
	struct botify_ab_unit *units = ab->units;
	if (cap != cap0 && !(units = new_units(cap, 0, err)))
		goto fail;
	/* written in slot order, empty slots too (new_units) */
	for (size_t s = 0; s < cap; s++) {
		size_t r = slot[s];
		if (r > cap0)
			units[s] = *v[r - 1 - cap0].u;
		else if (r && cap != cap0)
			units[s] = ab->units[r - 1];
		else if (!r)
			memset(&units[s], 0, sizeof(units[s]));
	}
	for (size_t i = 0; i < n; i++) {
		v[i].u->pend = NULL;
		v[i].u->used = 0;
	}
	if (units != ab->units)
		free(ab->units);
	ab->units = units;
	ab->cap = cap;
	ab->n_units = count;
	free(slot);
	free(hash);
	return 0;
fail:
	free(slot);
	free(hash);
	return -1;
}

/* The threads' units into ab (see above), and the file's counts. */
static int merge_local(botify_ab *ab, struct par_read *pr, const struct par_totals *tot,
		       botify_err *err)
{
	if (pr->n == 1 && !ab->n_units && ab->cap == INITIAL_CAP) {
		/* one thread made its units in the order of their first row
		 * from an empty table of the same size: that table is the one
		 * inserting them would make */
		struct botify_ab_unit *u = ab->units;
		size_t cap = ab->cap;
		ab->units = pr->local[0].units;
		ab->cap = pr->local[0].cap;
		ab->n_units = pr->local[0].n_units;
		pr->local[0].units = u;
		pr->local[0].cap = cap;
		pr->local[0].n_units = 0;
		goto counts;
	}
	size_t n_new = 0;
	for (int k = 0; k < pr->n; k++)
		for (size_t i = 0; i < pr->local[k].cap; i++)
			n_new += pr->local[k].units[i].used && !pr->local[k].units[i].existed;
	struct by_first *v = botify_malloc(n_new ? n_new : 1, sizeof(*v), "A/B users", err);
	if (!v)
		return -1;
	size_t j = 0;
	for (int k = 0; k < pr->n; k++) {
		botify_ab *t = &pr->local[k];
		for (size_t i = 0; i < t->cap; i++)
			if (t->units[i].used && !t->units[i].existed)
				v[j++] = (struct by_first){ t->units[i].first, &t->units[i] };
	}
	qsort(v, n_new, sizeof(*v), cmp_first);
	int rc = insert_units(ab, v, n_new, err);
	free(v);
	if (rc != 0)
		return -1;
	/* the units ab had, read on: their new state in place of the old */
	for (int k = 0; k < pr->n; k++) {
		botify_ab *t = &pr->local[k];
		for (size_t i = 0; i < t->cap; i++) {
			struct botify_ab_unit *u = &t->units[i];
			if (!u->used)
				continue;
			struct botify_ab_unit *m = lookup_unit(ab, u->user, u->arm);
			free(m->pend);
			*m = *u;
			m->existed = 0;
			u->pend = NULL;
			u->used = 0;
		}
	}
counts:
	ab->rows += tot->rows;
	ab->rows_used += tot->used;
	ab->seq += tot->used;
	ab->rows_without_arm += tot->without_arm;
	ab->rows_other_experiment += tot->other_experiment;
	ab->rows_other_arm += tot->other_arm;
	for (int k = 0; k < pr->n; k++) {
		ab->rows_out_of_order += pr->local[k].rows_out_of_order;
		ab->last_rows += pr->local[k].last_rows;
	}
	return rc;
}

static void par_free(struct par_read *pr)
{
	for (int k = 0; k < pr->n; k++) {
		if (pr->local)
			botify_ab_free(&pr->local[k]);
		if (pr->parts && pr->parts[k].out) {
			for (int o = 0; o < pr->n_dest; o++)
				free(pr->parts[k].out[o]);
			free(pr->parts[k].out); /* with n_out and cap_out */
		}
	}
	for (int k = 0; pr->stages && k < pr->n; k++)
		free(pr->stages[k].rows);
	free(pr->stages);
	free(pr->local);
	free(pr->parts);
	free(pr->used_before);
	free(pr->errs);
	free(pr->phase2_failed);
	memset(pr, 0, sizeof(*pr));
}

/* n threads, their rows going to n_dest places (n threads, or ranks). */
static int par_init(struct par_read *pr, const botify_ab *ab, int n, int n_dest,
		    const char *experiment, int arm, botify_err *err)
{
	memset(pr, 0, sizeof(*pr));
	pr->main = ab;
	pr->experiment = experiment;
	pr->arm = arm;
	pr->seq = ab->seq;
	pr->local = botify_calloc((size_t)n, sizeof(*pr->local), "A/B reading", err);
	pr->parts = botify_calloc((size_t)n, sizeof(*pr->parts), "A/B reading", err);
	pr->used_before = botify_calloc((size_t)n, sizeof(*pr->used_before), "A/B reading", err);
	pr->errs = botify_calloc((size_t)n, sizeof(*pr->errs), "A/B reading", err);
	pr->phase2_failed = botify_calloc((size_t)n, sizeof(*pr->phase2_failed), "A/B reading", err);
	pr->stages = botify_calloc((size_t)n, sizeof(*pr->stages), "A/B reading", err);
	if (!pr->local || !pr->parts || !pr->used_before || !pr->errs || !pr->phase2_failed ||
	    !pr->stages) {
		par_free(pr);
		return -1;
	}
	pr->n = n;
	pr->n_dest = n_dest;
	for (int k = 0; k < n; k++) {
		struct part *pt = &pr->parts[k];
		/* out, n_out and cap_out in one block, on cache lines (and pairs
		 * of them, which some cores fetch together) of their own: a row
		 * counted in n_out must not take the line from another thread */
		size_t words = 3 * (size_t)n_dest, bytes = (words * sizeof(size_t) + 127) / 128 * 128;
		void *block = aligned_alloc(128, bytes);
		if (block) {
			memset(block, 0, bytes);
			pt->out = block;
			pt->n_out = (size_t *)block + n_dest;
			pt->cap_out = (size_t *)block + 2 * (size_t)n_dest;
		} else {
			botify_fail(err, BOTIFY_ENOMEM, "out of memory allocating %zu bytes for A/B reading", bytes);
		}
		if (!block || botify_ab_init(&pr->local[k], err) != 0) {
			par_free(pr);
			return -1;
		}
	}
	return 0;
}

typedef void (*progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* A plain file, mapped: blocks cut at newlines. 1 when it cannot be mapped. */
static int read_mapped(struct par_read *pr, struct par_totals *tot, int fd, uint64_t size,
		       size_t ab_block, const char *path, progress_fn progress, void *ctx,
		       botify_err *err)
{
	if (size > SIZE_MAX)
		return 1;
	/* a window per block, unmapped after it, so that memory follows the
	 * users and not the size of the file */
	size_t block = (ab_block ? ab_block : (size_t)BLOCK_PER_THREAD) * (size_t)pr->n;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), from = 0, win = block + (1 << 16);
	int rc = 0;
	while (from < size && rc == 0) {
		size_t off = from - from % page, end = size - from > win ? from + win : (size_t)size;
		/* NEEDSWORK: a file truncated while mapped ends the process with
		 * SIGBUS; the row-at-a-time reader sees a short file instead. */
		char *map = mmap(NULL, end - off, PROT_READ, MAP_PRIVATE, fd, (off_t)off);
		if (map == MAP_FAILED) {
			if (from == 0)
				return 1; /* the row-at-a-time reader, then */
			return botify_fail(err, BOTIFY_ENOMEM, "%s: cannot map %zu bytes", path, end - off);
		}
		posix_madvise(map, end - off, POSIX_MADV_SEQUENTIAL);
		const char *base = map + (from - off);
		size_t len = end - from, to = botify_logscan_cut(base, len, 0, len < block ? len : block);
		if (to == len && end < size) {
			win *= 2; /* no newline in the window: a longer line */
		} else {
			rc = run_block(pr, tot, base, to, path, err);
			from += to;
			win = block + (1 << 16);
		}
		munmap(map, end - off);
		if (progress && rc == 0)
			progress(ctx, from, size);
	}
	return rc;
}

/* The exact message of the row-at-a-time reader for a file this reader
 * found damaged: whatever it meets first, a bad row or the damage. */
static int first_error(const char *path, const char *experiment, botify_err *err)
{
	botify_eventlog_reader r;
	if (botify_eventlog_open(&r, path, experiment, err) != 0)
		return -1;
	botify_event e;
	int rc;
	while ((rc = botify_eventlog_next(&r, &e, err)) == 1)
		;
	botify_eventlog_close(&r);
	if (rc < 0)
		return -1;
	return botify_fail(err, BOTIFY_EFORMAT, "%s: corrupt or truncated gzip data", path);
}

/*
 * A gzip file (any number of members), mapped and inflated a block at a
 * time. With libdeflate (built in when its headers are found), whole
 * members are inflated in one call, about three times zlib's speed on the
 * logs simulate writes (members of a few hundred KB); a member larger than
 * GZ_MAX_BUF (so that memory stays bounded), and every member without
 * libdeflate, streams through zlib. Either way the same bytes come out.
 */
enum { GZ_MAX_BUF = 256 << 20 };

struct inflater {
	const unsigned char *in;
	size_t n, pos;          /* compressed bytes, consumed */
	size_t ld_max;          /* the buffer libdeflate may grow to */
	z_stream zs;
	int zinit, in_member;   /* zlib: a member begun and not finished */
#ifdef BOTIFY_LIBDEFLATE
	struct libdeflate_decompressor *ld;
	int zlib_member;        /* this member is too large: zlib has it */
#endif
};

/* Inflates more into buf[*len..cap): 1 progress, 0 the buffer is too small
 * for the next member (libdeflate), -1 damage. At the end pos == n. */
static int inflate_more(struct inflater *g, char *buf, size_t *len, size_t cap)
{
#ifdef BOTIFY_LIBDEFLATE
	if (!g->zlib_member) {
		size_t in_used, out_used;
		enum libdeflate_result r = libdeflate_gzip_decompress_ex(
			g->ld, g->in + g->pos, g->n - g->pos, buf + *len, cap - *len, &in_used, &out_used);
		if (r == LIBDEFLATE_SUCCESS) {
			g->pos += in_used;
			*len += out_used;
			return 1;
		}
		if (r != LIBDEFLATE_INSUFFICIENT_SPACE)
			return -1;
		if (cap < g->ld_max)
			return 0;
		g->zlib_member = 1; /* larger than the buffer may grow: stream it */
	}
#endif
	if (!g->zinit) {
		if (inflateInit2(&g->zs, 15 + 16) != Z_OK)
			return -1;
		g->zinit = 1;
	}
	size_t in_left = g->n - g->pos, out_left = cap - *len;
	g->zs.next_in = (unsigned char *)g->in + g->pos;
	g->zs.avail_in = (uInt)(in_left > (1u << 30) ? (1u << 30) : in_left);
	g->zs.next_out = (unsigned char *)buf + *len;
	g->zs.avail_out = (uInt)(out_left > (1u << 30) ? (1u << 30) : out_left);
	uInt before_in = g->zs.avail_in, before_out = g->zs.avail_out;
	int zrc = inflate(&g->zs, Z_NO_FLUSH);
	g->pos += before_in - g->zs.avail_in;
	*len += before_out - g->zs.avail_out;
	if (before_in != g->zs.avail_in)
		g->in_member = 1;
	if (zrc == Z_STREAM_END) {
		g->in_member = 0;
		inflateReset(&g->zs);
#ifdef BOTIFY_LIBDEFLATE
		g->zlib_member = 0;
#endif
		return 1;
	}
	if (zrc != Z_OK && zrc != Z_BUF_ERROR)
		return -1;
	if (before_in == g->zs.avail_in && before_out == g->zs.avail_out)
		return g->pos == g->n ? -1 : 0; /* truncated, or no room */
	return 1;
}

/* With several threads, the blocks of a gzip file are parsed and added
 * on a thread of their own (run_block's threads) while this one inflates
 * the next block into a second buffer: inflating took as long as parsing
 * on both cores. One block at a time, in file order. */
struct gz_runner {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct par_read *pr;
	struct par_totals *tot;
	const char *path;
	const char *buf;
	size_t len;
	int busy, stop, rc;
	botify_err err;
};

static void *gz_run(void *arg)
{
	struct gz_runner *g = arg;
	pthread_mutex_lock(&g->mu);
	for (;;) {
		while (!g->busy && !g->stop)
			pthread_cond_wait(&g->cv, &g->mu);
		if (!g->busy)
			break;
		pthread_mutex_unlock(&g->mu);
		int rc = g->rc ? g->rc : run_block(g->pr, g->tot, g->buf, g->len, g->path, &g->err);
		pthread_mutex_lock(&g->mu);
		g->rc = rc;
		g->busy = 0;
		pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* Waits until the block given to g is done: 0, or -1 with g->err. */
static int gz_wait(struct gz_runner *g)
{
	pthread_mutex_lock(&g->mu);
	while (g->busy)
		pthread_cond_wait(&g->cv, &g->mu);
	int rc = g->rc;
	pthread_mutex_unlock(&g->mu);
	return rc;
}

static void gz_give(struct gz_runner *g, const char *buf, size_t len)
{
	pthread_mutex_lock(&g->mu);
	g->buf = buf;
	g->len = len;
	g->busy = 1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static int read_gzip(struct par_read *pr, struct par_totals *tot, int fd, uint64_t size,
		     size_t ab_block, const char *path, progress_fn progress, void *ctx,
		     botify_err *err)
{
	if (size > SIZE_MAX)
		return 1;
	struct inflater g;
	memset(&g, 0, sizeof(g));
	g.n = (size_t)size;
	void *map = mmap(NULL, g.n, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return 1;
	posix_madvise(map, g.n, POSIX_MADV_SEQUENTIAL);
	g.in = map;
	size_t block = (ab_block ? ab_block : (size_t)BLOCK_PER_THREAD) * (size_t)pr->n;
	g.ld_max = block < GZ_MAX_BUF / 64 ? 64 * block : GZ_MAX_BUF;
	size_t cap = 2 * block, len = 0, want = block, other_cap = 0;
	char *buf = botify_malloc(cap, 1, "inflating a log", err), *other = NULL;
	int rc = buf ? 0 : -1;
#ifdef BOTIFY_LIBDEFLATE
	if (rc == 0 && !(g.ld = libdeflate_alloc_decompressor()))
		rc = botify_fail(err, BOTIFY_ENOMEM, "%s: out of memory decompressing", path);
#endif
	struct gz_runner run = { .pr = pr, .tot = tot, .path = path };
	pthread_t runner;
	int threaded = 0;
	if (rc == 0 && pr->n > 1 && !pr->dr && pthread_mutex_init(&run.mu, NULL) == 0) {
		if (pthread_cond_init(&run.cv, NULL) != 0)
			pthread_mutex_destroy(&run.mu);
		else if (!(threaded = pthread_create(&runner, NULL, gz_run, &run) == 0)) {
			pthread_cond_destroy(&run.cv);
			pthread_mutex_destroy(&run.mu);
		}
	}
	while (rc == 0) {
		int full = 0, damaged = 0;
		/* inflate until a block's worth is there, the end, or damage */
		while (len < want && (g.pos < g.n || g.in_member)) {
			int r = inflate_more(&g, buf, &len, cap);
			damaged = r < 0;
			full = r == 0;
			if (r <= 0)
				break;
		}
		if (damaged) {
			rc = first_error(path, pr->arm >= 0 ? NULL : pr->experiment, err);
			break;
		}
		int eof = g.pos == g.n && !g.in_member;
		/* whole lines to the threads; the rest waits for more */
		size_t cut = len;
		if (!eof) {
			while (cut > 0 && buf[cut - 1] != '\n')
				cut--;
			if (cut == 0 && len > (size_t)BOTIFY_JSONL_MAX_LINE) {
				cut = len; /* a line beyond the limit: the threads report it */
			} else if (cut == 0 || (full && len < cap / 2)) {
				/* a line or a member larger than the room left; the
				 * last member's size ends the file: for a file of one
				 * member (gzip's), room for all of it at once */
				const unsigned char *t = g.in + g.n - 4; /* a gzip file has >= 18 bytes */
				size_t ncap = 2 * cap, isize = g.n < 18 ? 0 : (size_t)t[0] | (size_t)t[1] << 8 |
									(size_t)t[2] << 16 | (size_t)t[3] << 24;
				if (full && len + isize + 1 > ncap && len + isize < g.ld_max)
					ncap = len + isize + 1;
				char *p = botify_realloc(buf, ncap, 1, "inflating a log", err);
				if (!p) {
					rc = -1;
					break;
				}
				buf = p;
				cap = ncap;
				if (cut == 0) {
					want = cap;
					continue;
				}
			}
		}
		if (cut && threaded) {
			/* the buffer given before is free once its block is done */
			if (gz_wait(&run) != 0) {
				*err = run.err;
				rc = -1;
				break;
			}
			/* room for the rest of the text and a block: a buffer
			 * grown for a large member stays the only one that large */
			size_t need = len - cut + block;
			if (other_cap < need) {
				size_t ncap = need > 2 * block ? need : 2 * block;
				char *p = botify_realloc(other, ncap, 1, "inflating a log", err);
				if (!p) {
					rc = -1;
					break;
				}
				other = p;
				other_cap = ncap;
			}
			gz_give(&run, buf, cut);
			memcpy(other, buf + cut, len - cut);
			char *t = buf;
			buf = other;
			other = t;
			size_t c = cap;
			cap = other_cap;
			other_cap = c;
		} else if (cut) {
			rc = run_block(pr, tot, buf, cut, path, err);
			memmove(buf, buf + cut, len - cut);
		}
		len -= cut;
		want = len < block ? block : cap;
		if (progress && rc == 0)
			progress(ctx, g.pos, size);
		if (eof && len == 0)
			break;
	}
	if (threaded) {
		/* the last block's failure, when nothing failed before it */
		if (gz_wait(&run) != 0 && rc == 0) {
			*err = run.err;
			rc = -1;
		}
		pthread_mutex_lock(&run.mu);
		run.stop = 1;
		pthread_cond_broadcast(&run.cv);
		pthread_mutex_unlock(&run.mu);
		pthread_join(runner, NULL);
		pthread_cond_destroy(&run.cv);
		pthread_mutex_destroy(&run.mu);
	}
	if (g.zinit)
		inflateEnd(&g.zs);
#ifdef BOTIFY_LIBDEFLATE
	if (g.ld)
		libdeflate_free_decompressor(g.ld);
#endif
	free(buf);
	free(other);
	munmap(map, g.n);
	return rc;
}

const char *botify_ab_inflater(void)
{
#ifdef BOTIFY_LIBDEFLATE
	return "libdeflate " LIBDEFLATE_VERSION_STRING;
#else
	return "zlib " ZLIB_VERSION;
#endif
}

/* The row-at-a-time reader: streams (stdin, FIFOs), and files it cannot map. */
static int read_serial(botify_ab *ab, const char *path, const char *experiment, int arm,
		       progress_fn progress, void *ctx, botify_err *err)
{
	botify_eventlog_reader r;
	if (botify_eventlog_open(&r, path, arm >= 0 ? NULL : experiment, err) != 0)
		return -1;
	uint64_t size = progress ? file_size(path) : 0;
	botify_event e;
	int rc;
	while ((rc = botify_eventlog_next(&r, &e, err)) == 1) {
		if (arm >= 0)
			e.arm = (int8_t)arm;
		if (botify_ab_add(ab, &e, err) != 0) {
			rc = -1;
			break;
		}
		if (progress && (r.rows & 0xffff) == 0)
			progress(ctx, botify_eventlog_offset(&r), size);
	}
	if (progress && rc == 0)
		progress(ctx, size, size);
	ab->rows_without_arm += r.rows_without_arm;
	ab->rows_other_experiment += r.rows_other_experiment;
	ab->rows_other_arm += r.rows_other_arm;
	botify_eventlog_close(&r);
	return rc < 0 ? -1 : 0;
}

int botify_ab_read_log(botify_ab *ab, const char *path, const char *experiment, int arm,
		       progress_fn progress, void *ctx, botify_err *err)
{
	if (!strcmp(path, "-"))
		return read_serial(ab, path, experiment, arm, progress, ctx, err);
	int fd = botify_open_input(path, BOTIFY_IN_STREAM, err);
	if (fd < 0)
		return -1;
	struct stat st;
	unsigned char magic[2];
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0) {
		close(fd);
		return read_serial(ab, path, experiment, arm, progress, ctx, err);
	}
	uint64_t size = (uint64_t)st.st_size;
	int gzip = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
	int n = ab->threads < 1 ? 1 : ab->threads > BOTIFY_AB_MAX_THREADS ? BOTIFY_AB_MAX_THREADS : ab->threads;
	struct par_read pr;
	struct par_totals tot = { 0 };
	if (par_init(&pr, ab, n, n, experiment, arm, err) != 0) {
		close(fd);
		return -1;
	}
	int rc = gzip ? read_gzip(&pr, &tot, fd, size, ab->read_block, path, progress, ctx, err)
		      : read_mapped(&pr, &tot, fd, size, ab->read_block, path, progress, ctx, err);
	close(fd);
	if (rc == 0)
		rc = merge_local(ab, &pr, &tot, err);
	par_free(&pr);
	if (rc == 1) /* not mapped: nothing was read */
		return read_serial(ab, path, experiment, arm, progress, ctx, err);
	if (rc == 0 && progress)
		progress(ctx, size, size);
	return rc;
}

/*
 * Reading logs on the ranks of a job (botify_ab_read_logs_dist).
 *
 * Rank 0 plans pieces in log order and sends the plan to every rank: a
 * plain file is cut into byte ranges (at most a block per thread, and at
 * least one per rank), whose ends each reader moves to the next line start
 * by botify_logscan_cut's rule, so that neighbouring readers agree without
 * talking; a gzip file, or a stream, is one piece. Pieces go to the ranks
 * in turn (streams, and a file rank 0 could not open, to rank 0), and a
 * round is a run of consecutive pieces on distinct ranks. In a round each
 * rank parses its piece on its threads (the reader's phase 1) into rows
 * for the rank owning each unit; the ranks tell each other what they read
 * (rows, lines, a failure: an allgather), swap the rows (an alltoallv) and
 * add the rows of their units to their threads' tables, piece after piece
 * in log order, numbered as one process numbers them: each unit sees its
 * rows in log order, wherever its sessions were cut. At the end rank 0
 * gathers the units and inserts them in the order of their first row, as
 * merge_local does, which makes its table the single process's.
 *
 * NEEDSWORK: a gzip file or a stream is one piece, read by one rank while
 * the others wait, and its rows (40 bytes each) are held until its round's
 * exchange: a gzip log of 40 M rows needs 1.6 GB on its reader. Finding
 * member boundaries (botify's logs are series of members) would let gzip
 * logs be cut into ranges as plain ones are.
 */

enum { PIECE_PLAIN, PIECE_WHOLE, PIECE_STREAM, PIECE_FAILED };

struct piece {
	int32_t log, kind, rank, pad;
	int64_t from, to;          /* bytes; PIECE_PLAIN's are moved to line starts when read */
	int64_t size;              /* of the file, when planned */
};

/* A used row on its way to its unit's rank: 40 bytes. */
struct wire_row {
	int64_t user, ts;
	double time, latency_ms;
	uint64_t tag;              /* its index among the piece's used rows << 16 | arm << 8 | message */
};

/* What a rank says of its piece in a round. */
struct piece_stat {
	int64_t rows, used, without_arm, other_experiment, other_arm, lines;
	int32_t failed;            /* DFAIL_* */
	int32_t pad;
};

/* A failure adding the previous round's rows comes first in log order. */
enum { DFAIL_NONE, DFAIL_ADD, DFAIL_READ };

struct dist_read {
	int ranks, rank;
	struct wire_row **out;     /* per rank: this round's rows for it */
	size_t *n_out, *cap_out;
	/* the round's rows being added: from each source rank, its piece in
	 * log order (order), numbered from base */
	const struct wire_row *in;
	size_t *in_off, *in_n;
	int *order;
	int64_t *base;
	int n_src;
};

/* Phase 1's rows of a block into the rows for each rank. */
static int dist_collect(struct par_read *pr, botify_err *err)
{
	struct dist_read *dr = pr->dr;
	for (int k = 0; k < pr->n; k++) {
		const struct part *pt = &pr->parts[k];
		uint64_t before = (uint64_t)(pr->seq + pr->used_before[k]);
		for (int d = 0; d < pr->n_dest; d++) {
			size_t n = pt->n_out[d];
			if (!n)
				continue;
			if (BOTIFY_ALLOC_GROW(dr->out[d], dr->n_out[d] + n, dr->cap_out[d], "rows for other ranks",
					      err) != 0)
				return -1;
			struct wire_row *w = dr->out[d] + dr->n_out[d];
			for (size_t i = 0; i < n; i++) {
				const struct routed *r = &pt->out[d][i];
				w[i] = (struct wire_row){ r->user, r->ts, r->time, r->latency_ms,
							  (before + r->idx) << 16 | (uint64_t)(uint8_t)r->arm << 8 |
								  r->message };
			}
			dr->n_out[d] += n;
		}
	}
	return 0;
}

/* Thread k adds the round's rows of its units, in log order. */
static void *dist_add(void *arg_)
{
	struct { struct par_read *pr; int k; } *arg = arg_;
	struct par_read *pr = arg->pr;
	struct dist_read *dr = pr->dr;
	int k = arg->k;
	botify_ab table = pr->local[k], *t = &table; /* as add_parts */
	for (int i = 0; i < dr->n_src; i++) {
		int src = dr->order[i];
		const struct wire_row *w = dr->in + dr->in_off[src];
		for (size_t j = 0; j < dr->in_n[src]; j++) {
			int arm = (int)((w[j].tag >> 8) & 0xff);
			if (pr->n > 1 && owner_of(w[j].user, arm, pr->n) != (unsigned)k)
				continue;
			t->seq = dr->base[i] + (int64_t)(w[j].tag >> 16);
			if (add_used(t, NULL, w[j].user, arm, w[j].ts, w[j].time, w[j].latency_ms,
				     (w[j].tag & 0xff) == BOTIFY_MSG_LAST, &pr->errs[k]) != 0) {
				pr->phase2_failed[k] = 1;
				pr->local[k] = table;
				return NULL;
			}
		}
	}
	pr->local[k] = table;
	return NULL;
}

/* Where a piece starting at pos really starts: just after the newline that
 * ends the line holding byte pos - 1 (size when there is none). */
static int line_start(int fd, uint64_t size, uint64_t pos, const char *path, uint64_t *out,
		      botify_err *err)
{
	char buf[1 << 16];
	*out = pos >= size ? size : pos;
	if (pos == 0 || pos >= size)
		return 0;
	for (uint64_t at = pos - 1; at < size;) {
		ssize_t got = pread(fd, buf, sizeof(buf), (off_t)at);
		if (got < 0)
			return botify_fail(err, BOTIFY_EIO, "%s: cannot read", path);
		if (got == 0)
			break;
		const char *nl = memchr(buf, '\n', (size_t)got);
		if (nl) {
			*out = at + (uint64_t)(nl - buf) + 1;
			return 0;
		}
		at += (uint64_t)got;
	}
	*out = size;
	return 0;
}

/* A file rank 0 opened to plan the reading that this rank cannot open: a
 * file system that is not shared, or not alike on every node. One process
 * never meets this, so the message names the rank. */
static int open_failed(const struct par_read *pr, botify_err *err)
{
	if (pr->dr->rank != 0)
		botify_err_prefix(err, "rank %d", pr->dr->rank);
	return -1;
}

/* A piece of a plain file, mapped at *map (kept, for its error's line, until
 * the round's failures are known). */
static int dist_read_plain(struct par_read *pr, struct par_totals *tot, const char *path,
			   const struct piece *p, void **map, size_t *map_len, botify_err *err)
{
	int fd = botify_open_input(path, BOTIFY_IN_STREAM, err);
	if (fd < 0)
		return open_failed(pr, err);
	struct stat st;
	uint64_t size = fstat(fd, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0, a, b;
	if (size > (uint64_t)p->size)
		size = (uint64_t)p->size; /* rank 0's size: rows appended since are not read */
	int rc = line_start(fd, size, (uint64_t)p->from, path, &a, err);
	if (rc == 0)
		rc = line_start(fd, size, (uint64_t)p->to, path, &b, err);
	if (rc == 0 && b > a) {
		if (b - a > SIZE_MAX / 2) {
			rc = botify_fail(err, BOTIFY_ENOMEM, "%s: a piece of %llu bytes", path,
					 (unsigned long long)(b - a));
		} else {
			size_t page = (size_t)sysconf(_SC_PAGESIZE), off = (size_t)(a - a % page);
			*map_len = (size_t)b - off;
			*map = mmap(NULL, *map_len, PROT_READ, MAP_PRIVATE, fd, (off_t)off);
			if (*map == MAP_FAILED) {
				*map = NULL;
				rc = botify_fail(err, BOTIFY_ENOMEM, "%s: cannot map %zu bytes", path, *map_len);
			} else {
				posix_madvise(*map, *map_len, POSIX_MADV_SEQUENTIAL);
				rc = run_block(pr, tot, (const char *)*map + (a - off), (size_t)(b - a), path, err);
			}
		}
	}
	close(fd);
	return rc;
}

/* A stream (or a file that cannot be mapped), a row at a time. */
static int dist_read_stream(struct par_read *pr, const botify_ab_log *lg, struct piece_stat *ps,
			    botify_err *err)
{
	struct dist_read *dr = pr->dr;
	botify_eventlog_reader r;
	if (botify_eventlog_open(&r, lg->path, lg->arm >= 0 ? NULL : lg->experiment, err) != 0)
		return -1;
	botify_event e;
	uint64_t idx = 0;
	int rc;
	while ((rc = botify_eventlog_next(&r, &e, err)) == 1) {
		ps->rows++;
		if (lg->arm >= 0)
			e.arm = (int8_t)lg->arm;
		if (e.arm < 0 || e.arm >= BOTIFY_MAX_ARMS)
			continue;
		unsigned d = rank_of(e.user, e.arm, dr->ranks);
		if (BOTIFY_ALLOC_GROW(dr->out[d], dr->n_out[d] + 1, dr->cap_out[d], "rows for other ranks",
				      err) != 0) {
			rc = -1;
			break;
		}
		dr->out[d][dr->n_out[d]++] = (struct wire_row){
			e.user, e.timestamp, e.time, e.latency * 1000, /* ms row by row, as botify_ab_add */
			idx++ << 16 | (uint64_t)(uint8_t)e.arm << 8 | (uint64_t)e.message
		};
	}
	ps->used = (int64_t)idx;
	ps->without_arm = r.rows_without_arm;
	ps->other_experiment = r.rows_other_experiment;
	ps->other_arm = r.rows_other_arm;
	botify_eventlog_close(&r);
	return rc < 0 ? -1 : 0;
}

/* Rank 0's plan (see above). A file that cannot be opened ends it, with
 * its error in *perr: one process stops there. */
static int plan_pieces(const botify_ab_log *logs, int n, int ranks, size_t block, struct piece **out,
		       size_t *n_out, botify_err *perr, botify_err *err)
{
	struct piece *v = NULL;
	size_t nv = 0, cap = 0;
	uint64_t next = 0;
	for (int i = 0; i < n; i++) {
		struct piece p = { .log = i, .kind = PIECE_STREAM };
		uint64_t k = 1, size = 0;
		struct stat st;
		unsigned char magic[2];
		int fd = strcmp(logs[i].path, "-") ? botify_open_input(logs[i].path, BOTIFY_IN_STREAM, perr) : -2;
		if (fd == -1) {
			p.kind = PIECE_FAILED;
		} else if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0) {
			size = (uint64_t)st.st_size;
			if (pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
				p.kind = PIECE_WHOLE;
			} else {
				p.kind = PIECE_PLAIN;
				k = size / block + (size % block != 0);
				if (k < (uint64_t)ranks)
					k = (uint64_t)ranks;
				if (k > size)
					k = size;
			}
		}
		if (fd >= 0)
			close(fd);
		if (BOTIFY_ALLOC_GROW(v, nv + k, cap, "the plan of the reading", err) != 0) {
			free(v);
			return -1;
		}
		for (uint64_t j = 0; j < k; j++) {
			/* the (j + 1)-th of k near-equal ranges */
			uint64_t q = size / (k ? k : 1), r = size % (k ? k : 1);
			p.from = (int64_t)(q * j + (j < r ? j : r));
			p.to = (int64_t)(q * (j + 1) + (j + 1 < r ? j + 1 : r));
			p.size = (int64_t)size;
			p.rank = p.kind == PIECE_STREAM || p.kind == PIECE_FAILED ? 0 : (int32_t)(next++ % (uint64_t)ranks);
			v[nv++] = p;
		}
		if (p.kind == PIECE_FAILED)
			break;
	}
	*out = v;
	*n_out = nv;
	return 0;
}

/* A unit, packed in 64-bit words for rank 0: user, first, last_ts, max_ts,
 * sessions, tracks, time, latency_ms, n_pend | arm << 32, then ts, time,
 * latency_ms of each open row. */
enum { UNIT_WORDS = 9, PEND_WORDS = 3 };

static uint64_t bits_of(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof(b));
	return b;
}

static double double_of(uint64_t b)
{
	double d;
	memcpy(&d, &b, sizeof(d));
	return d;
}

/* This rank's units (header: units, rows out of order, last rows). */
static int pack_units(const struct par_read *pr, uint64_t **out, size_t *n_out, botify_err *err)
{
	size_t words = 3;
	for (int k = 0; k < pr->n; k++)
		for (size_t i = 0; i < pr->local[k].cap; i++)
			if (pr->local[k].units[i].used)
				words += UNIT_WORDS + PEND_WORDS * (size_t)pr->local[k].units[i].n_pend;
	uint64_t *w = botify_malloc(words, sizeof(*w), "A/B users for rank 0", err);
	if (!w)
		return -1;
	size_t j = 3;
	w[0] = w[1] = w[2] = 0;
	for (int k = 0; k < pr->n; k++) {
		const botify_ab *t = &pr->local[k];
		w[1] += (uint64_t)t->rows_out_of_order;
		w[2] += (uint64_t)t->last_rows;
		for (size_t i = 0; i < t->cap; i++) {
			const struct botify_ab_unit *u = &t->units[i];
			if (!u->used)
				continue;
			w[0]++;
			w[j++] = (uint64_t)u->user;
			w[j++] = (uint64_t)u->first;
			w[j++] = (uint64_t)u->last_ts;
			w[j++] = (uint64_t)u->max_ts;
			w[j++] = (uint64_t)u->sessions;
			w[j++] = (uint64_t)u->tracks;
			w[j++] = bits_of(u->time);
			w[j++] = bits_of(u->latency_ms);
			w[j++] = (uint64_t)u->n_pend | (uint64_t)(uint8_t)u->arm << 32;
			for (uint32_t q = 0; q < u->n_pend; q++) {
				w[j++] = (uint64_t)u->pend[q].ts;
				w[j++] = bits_of(u->pend[q].time);
				w[j++] = bits_of(u->pend[q].latency_ms);
			}
		}
	}
	*out = w;
	*n_out = words;
	return 0;
}

static int cmp_packed_first(const void *pa, const void *pb)
{
	int64_t a = (int64_t)(*(const uint64_t *const *)pa)[1], b = (int64_t)(*(const uint64_t *const *)pb)[1];
	return (a > b) - (a < b);
}

/* Rank 0: every rank's units into ab, in the order of their first row. */
static int unpack_units(botify_ab *ab, const uint64_t *in, const size_t *in_n, int ranks,
			botify_err *err)
{
	size_t n_units = 0, at = 0;
	for (int r = 0; r < ranks; r++) {
		n_units += (size_t)in[at];
		ab->rows_out_of_order += (int64_t)in[at + 1];
		ab->last_rows += (int64_t)in[at + 2];
		at += in_n[r];
	}
	const uint64_t **v = botify_calloc(n_units ? n_units : 1, sizeof(*v), "A/B users", err);
	if (!v)
		return -1;
	size_t j = 0;
	at = 0;
	for (int r = 0; r < ranks; r++) {
		const uint64_t *w = in + at + 3;
		for (uint64_t i = 0; i < in[at]; i++) {
			v[j++] = w;
			w += UNIT_WORDS + PEND_WORDS * (w[8] & 0xffffffffu);
		}
		at += in_n[r];
	}
	qsort(v, n_units, sizeof(*v), cmp_packed_first);
	int rc = 0;
	for (size_t i = 0; i < n_units && rc == 0; i++) {
		const uint64_t *w = v[i];
		uint32_t n_pend = (uint32_t)(w[8] & 0xffffffffu);
		struct botify_ab_unit *u = find_unit(ab, NULL, (int64_t)w[0], (int)(w[8] >> 32), err);
		if (!u) {
			rc = -1;
			break;
		}
		u->first = (int64_t)w[1];
		u->last_ts = (int64_t)w[2];
		u->max_ts = (int64_t)w[3];
		u->sessions = (int64_t)w[4];
		u->tracks = (int64_t)w[5];
		u->time = double_of(w[6]);
		u->latency_ms = double_of(w[7]);
		if (n_pend) {
			u->pend = botify_calloc(n_pend, sizeof(*u->pend), "an open session", err);
			if (!u->pend) {
				rc = -1;
				break;
			}
			u->n_pend = u->cap_pend = n_pend;
			for (uint32_t q = 0; q < n_pend; q++)
				u->pend[q] = (struct pending){ (int64_t)w[UNIT_WORDS + 3 * q],
							       double_of(w[UNIT_WORDS + 3 * q + 1]),
							       double_of(w[UNIT_WORDS + 3 * q + 2]) };
		}
	}
	free(v);
	return rc;
}

static void dist_free(struct dist_read *dr)
{
	for (int d = 0; d < dr->ranks && dr->out; d++)
		free(dr->out[d]);
	free(dr->out);
	free(dr->n_out);
	free(dr->cap_out);
	free(dr->in_off);
	free(dr->in_n);
	free(dr->order);
	free(dr->base);
	memset(dr, 0, sizeof(*dr));
}

/* The plan, rank 0's, on every rank. */
static int share_plan(const botify_ab_comm *c, struct piece **plan, size_t *n_plan, botify_err *err)
{
	uint64_t n = *n_plan;
	if (c->bcast(c->ctx, &n, sizeof(n), 0, err) != 0)
		return -1;
	if (c->rank != 0) {
		*n_plan = (size_t)n;
		if (!(*plan = botify_calloc(n ? n : 1, sizeof(**plan), "the plan of the reading", err)))
			return -1;
	}
	return n ? c->bcast(c->ctx, *plan, n * sizeof(**plan), 0, err) : 0;
}

/* This rank's piece of a round: rows for the ranks, and what it read. On
 * a failure at a row of a plain piece, *fail_part and *fail_line (the
 * piece's lines before that part) say where, for part_error once the
 * lines before the piece are known. */
static int dist_read_piece(struct par_read *pr, const botify_ab *ab, const botify_ab_log *lg,
			   const struct piece *p, const botify_err *plan_err, struct piece_stat *ps,
			   void **map, size_t *map_len, int *fail_part, size_t *fail_line, botify_err *err)
{
	struct par_totals tot = { 0 };
	int rc = 0;
	pr->experiment = lg->experiment;
	pr->arm = lg->arm;
	pr->seq = 0;
	if (p->kind == PIECE_FAILED) {
		*err = *plan_err;
		return -1;
	}
	if (p->kind == PIECE_STREAM)
		return dist_read_stream(pr, lg, ps, err);
	if (p->kind == PIECE_PLAIN) {
		rc = dist_read_plain(pr, &tot, lg->path, p, map, map_len, err);
		if (rc != 0) {
			*fail_line = 0;
			for (int k = 0; k < pr->n && *fail_part < 0; k++) {
				if (pr->parts[k].failed == FAIL_ROW || pr->parts[k].failed == FAIL_LONG)
					*fail_part = k;
				else
					*fail_line += pr->parts[k].lines;
			}
		}
	} else {
		int fd = botify_open_input(lg->path, BOTIFY_IN_STREAM, err);
		if (fd < 0)
			return open_failed(pr, err);
		struct stat st;
		uint64_t size = fstat(fd, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
		rc = read_gzip(pr, &tot, fd, size, ab->read_block, lg->path, NULL, NULL, err);
		close(fd);
		if (rc == 1) /* not mapped, nothing read: a row at a time */
			return dist_read_stream(pr, lg, ps, err);
	}
	ps->rows = tot.rows;
	ps->used = tot.used;
	ps->without_arm = tot.without_arm;
	ps->other_experiment = tot.other_experiment;
	ps->other_arm = tot.other_arm;
	ps->lines = (int64_t)tot.lines;
	return rc;
}

int botify_ab_read_logs_dist(botify_ab *ab, const botify_ab_log *logs, int n,
			     const botify_ab_comm *comm, progress_fn progress, void *ctx, int *agreed,
			     botify_err *err)
{
	botify_ab_comm job;
	if (!comm) {
		botify_ab_comm_job(&job);
		comm = &job;
	}
	*agreed = 0;
	if (ab->n_units || ab->rows)
		return botify_fail(err, BOTIFY_EINVAL, "reading logs on several ranks needs an empty A/B table");
	int ranks = comm->size, me = comm->rank;
	int threads = ab->threads < 1 ? 1 : ab->threads > BOTIFY_AB_MAX_THREADS ? BOTIFY_AB_MAX_THREADS : ab->threads;
	size_t block = (ab->read_block ? ab->read_block : (size_t)BLOCK_PER_THREAD) * (size_t)threads;
	struct piece *plan = NULL;
	size_t n_plan = 0;
	botify_err plan_err = { 0 };
	struct par_read pr;
	struct dist_read dr = { .ranks = ranks, .rank = me };
	struct piece_stat *stats = NULL, all = { 0 };
	int64_t *file_lines = NULL;
	uint64_t *packed = NULL, total_bytes = 0, done_bytes = 0;
	void *recv = NULL;
	int rc = -1;
	memset(&pr, 0, sizeof(pr));
	if (me == 0 && plan_pieces(logs, n, ranks, block, &plan, &n_plan, &plan_err, err) != 0)
		return -1;
	if (share_plan(comm, &plan, &n_plan, err) != 0)
		goto out;
	for (size_t i = 0; i < n_plan; i++)
		total_bytes += (uint64_t)(plan[i].to - plan[i].from);
	if (par_init(&pr, ab, threads, ranks, NULL, -1, err) != 0)
		goto out;
	pr.dr = &dr;
	dr.out = botify_calloc((size_t)ranks, sizeof(*dr.out), "A/B reading", err);
	dr.n_out = botify_calloc((size_t)ranks, sizeof(*dr.n_out), "A/B reading", err);
	dr.cap_out = botify_calloc((size_t)ranks, sizeof(*dr.cap_out), "A/B reading", err);
	dr.in_off = botify_calloc((size_t)ranks, sizeof(*dr.in_off), "A/B reading", err);
	dr.in_n = botify_calloc((size_t)ranks, sizeof(*dr.in_n), "A/B reading", err);
	dr.order = botify_calloc((size_t)ranks, sizeof(*dr.order), "A/B reading", err);
	dr.base = botify_calloc((size_t)ranks, sizeof(*dr.base), "A/B reading", err);
	stats = botify_calloc((size_t)ranks, sizeof(*stats), "A/B reading", err);
	file_lines = botify_calloc(n > 0 ? (size_t)n : 1, sizeof(*file_lines), "A/B reading", err);
	if (!dr.out || !dr.n_out || !dr.cap_out || !dr.in_off || !dr.in_n || !dr.order || !dr.base ||
	    !stats || !file_lines)
		goto out;
	int add_failed = 0;
	botify_err add_err = { 0 };
	for (size_t i = 0;;) {
		/* the round: pieces [i, j) on distinct ranks; and one more, empty,
		 * at the end, so that a failure adding the last rows is agreed on */
		size_t j = i;
		const struct piece *mine = NULL;
		for (int r = 0; r < ranks; r++)
			dr.order[r] = -1;
		while (j < n_plan && dr.order[plan[j].rank] < 0) {
			dr.order[plan[j].rank] = (int)(j - i);
			if (plan[j].rank == me)
				mine = &plan[j];
			j++;
		}
		for (int d = 0; d < ranks; d++)
			dr.n_out[d] = 0;
		struct piece_stat ps = { 0 };
		void *map = NULL;
		size_t map_len = 0, fail_line = 0;
		int fail_part = -1;
		if (add_failed)
			ps.failed = DFAIL_ADD;
		else if (mine && dist_read_piece(&pr, ab, &logs[mine->log], mine, &plan_err, &ps, &map, &map_len,
						 &fail_part, &fail_line, err) != 0)
			ps.failed = DFAIL_READ;
		stats[me] = ps;
		if (comm->allgather(comm->ctx, stats, sizeof(*stats), err) != 0) {
			if (map)
				munmap(map, map_len);
			goto out;
		}
		/* the first failure in log order, on every rank */
		int first = -1;
		size_t fq = j;
		for (int r = 0; r < ranks && first < 0; r++)
			if (stats[r].failed == DFAIL_ADD)
				first = r;
		for (size_t q = i; q < j && first < 0; q++)
			if (stats[plan[q].rank].failed == DFAIL_READ)
				first = plan[q].rank, fq = q;
		if (first >= 0) {
			if (first == me && add_failed) {
				*err = add_err;
			} else if (first == me && fail_part >= 0) {
				/* the line as one process counts it: lines of the
				 * file's earlier pieces first */
				int64_t line = file_lines[plan[fq].log];
				for (size_t q = i; q < fq; q++)
					if (plan[q].log == plan[fq].log)
						line += stats[plan[q].rank].lines;
				part_error(&pr, fail_part, (size_t)line + fail_line, logs[plan[fq].log].path, err);
			}
			if (map)
				munmap(map, map_len);
			if (comm->bcast(comm->ctx, err, sizeof(*err), first, err) != 0)
				goto out;
			err->msg[sizeof(err->msg) - 1] = '\0';
			*agreed = 1;
			goto out;
		}
		if (map)
			munmap(map, map_len);
		if (i == n_plan)
			break;
		/* the rows to their units' ranks; sequence numbers as one process's */
		int64_t before = all.used;
		for (size_t q = i; q < j; q++) {
			dr.base[q - i] = before;
			before += stats[plan[q].rank].used;
		}
		size_t total = 0;
		for (int d = 0; d < ranks; d++)
			total += dr.n_out[d];
		struct wire_row *send = botify_malloc(total ? total : 1, sizeof(*send), "rows for other ranks", err);
		if (!send)
			goto out;
		for (int d = 0, at = 0; d < ranks; d++) {
			if (dr.n_out[d])
				memcpy(send + at, dr.out[d], dr.n_out[d] * sizeof(*send));
			at += (int)dr.n_out[d];
		}
		int x = comm->alltoallv(comm->ctx, send, dr.n_out, sizeof(*send), &recv, dr.in_n, err);
		free(send);
		if (x != 0)
			goto out;
		dr.in = recv;
		for (int s = 0, at = 0; s < ranks; s++) {
			dr.in_off[s] = (size_t)at;
			at += (int)dr.in_n[s];
		}
		/* sources in log order */
		dr.n_src = 0;
		for (size_t q = i; q < j; q++)
			dr.order[dr.n_src++] = plan[q].rank;
		for (int k = 0; k < threads; k++)
			pr.phase2_failed[k] = 0;
		run_threads(&pr, dist_add);
		for (int k = 0; k < threads && !add_failed; k++)
			if (pr.phase2_failed[k]) {
				add_failed = 1;
				add_err = pr.errs[k];
				botify_err_prefix(&add_err, "rank %d", me);
			}
		free(recv);
		recv = NULL;
		dr.in = NULL;
		for (size_t q = i; q < j; q++) {
			const struct piece_stat *st = &stats[plan[q].rank];
			all.rows += st->rows;
			all.used += st->used;
			all.without_arm += st->without_arm;
			all.other_experiment += st->other_experiment;
			all.other_arm += st->other_arm;
			file_lines[plan[q].log] += st->lines;
			done_bytes += (uint64_t)(plan[q].to - plan[q].from);
		}
		if (progress && me == 0)
			progress(ctx, done_bytes, total_bytes);
		i = j;
	}
	/* every unit to rank 0 */
	size_t n_packed, *send_n = dr.n_out;
	if (pack_units(&pr, &packed, &n_packed, err) != 0)
		goto out;
	for (int d = 0; d < ranks; d++)
		send_n[d] = d == 0 ? n_packed : 0;
	if (comm->alltoallv(comm->ctx, packed, send_n, sizeof(*packed), &recv, dr.in_n, err) != 0)
		goto out;
	rc = 0;
	if (me == 0) {
		rc = unpack_units(ab, recv, dr.in_n, ranks, err);
		ab->rows = all.rows;
		ab->rows_used = all.used;
		ab->seq = all.used;
		ab->rows_without_arm = all.without_arm;
		ab->rows_other_experiment = all.other_experiment;
		ab->rows_other_arm = all.other_arm;
	}
out:
	free(recv);
	free(packed);
	free(plan);
	free(stats);
	free(file_lines);
	dist_free(&dr);
	if (pr.n)
		par_free(&pr);
	return rc;
}

static int job_allgather(void *ctx, void *buf, size_t bytes, botify_err *err)
{
	(void)ctx;
	return botify_dist_allgather_bytes(buf, bytes, err);
}

static int job_alltoallv(void *ctx, const void *send, const size_t *send_n, size_t unit, void **recv,
			 size_t *recv_n, botify_err *err)
{
	(void)ctx;
	return botify_dist_alltoallv(send, send_n, unit, recv, recv_n, err);
}

static int job_bcast(void *ctx, void *buf, size_t bytes, int root, botify_err *err)
{
	(void)ctx;
	return botify_dist_bcast_bytes(buf, bytes, root, err);
}

void botify_ab_comm_job(botify_ab_comm *c)
{
	*c = (botify_ab_comm){ botify_dist_rank(), botify_dist_size(), NULL, job_allgather, job_alltoallv,
			       job_bcast };
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3u;
	return h;
}

uint64_t botify_ab_digest(const botify_ab *ab)
{
	uint64_t h = 0xcbf29ce484222325u;
	const int64_t counts[] = { ab->rows, ab->rows_used, ab->seq, ab->rows_without_arm,
				   ab->rows_other_experiment, ab->rows_other_arm,
				   ab->rows_out_of_order, ab->last_rows, (int64_t)ab->n_units,
				   (int64_t)ab->cap };
	h = fnv(h, counts, sizeof(counts));
	for (size_t i = 0; i < ab->cap; i++) {
		const struct botify_ab_unit *u = &ab->units[i];
		if (!u->used)
			continue;
		const int64_t f[] = { (int64_t)i, u->user, u->arm, u->last_ts, u->max_ts, u->sessions,
				      u->tracks, u->n_pend };
		h = fnv(h, f, sizeof(f));
		h = fnv(h, &u->time, sizeof(u->time));
		h = fnv(h, &u->latency_ms, sizeof(u->latency_ms));
		for (uint32_t j = 0; j < u->n_pend; j++) {
			h = fnv(h, &u->pend[j].ts, sizeof(u->pend[j].ts));
			h = fnv(h, &u->pend[j].time, sizeof(u->pend[j].time));
			h = fnv(h, &u->pend[j].latency_ms, sizeof(u->pend[j].latency_ms));
		}
	}
	return h;
}

/* The value of a metric for a unit with at least one finished session. */
static double unit_metric(const struct botify_ab_unit *u, int metric)
{
	switch (metric) {
	case BOTIFY_AB_TIME:
		return u->time;
	case BOTIFY_AB_SESSIONS:
		return (double)u->sessions;
	case BOTIFY_AB_MEAN_REQUEST_LATENCY:
		return u->latency_ms / (double)u->tracks;
	case BOTIFY_AB_MEAN_TRACKS_PER_SESSION:
		return (double)u->tracks / (double)u->sessions;
	default:
		return u->time / (double)u->sessions;
	}
}

void botify_ab_arms(const botify_ab *ab, botify_ab_result *res)
{
	memset(res->arm, 0, sizeof(res->arm));
	/* pass 1: counts and compensated sums for the means */
	double sum[BOTIFY_MAX_ARMS][BOTIFY_AB_N_METRICS] = { { 0 } };
	double comp[BOTIFY_MAX_ARMS][BOTIFY_AB_N_METRICS] = { { 0 } };
	for (size_t i = 0; i < ab->cap; i++) {
		const struct botify_ab_unit *u = &ab->units[i];
		if (!u->used)
			continue;
		botify_ab_arm *a = &res->arm[u->arm];
		if (u->n_pend) {
			a->unfinished_sessions++;
			a->unfinished_rows += u->n_pend;
		}
		if (!u->sessions) {
			a->units_unfinished_only++;
			continue;
		}
		a->present = 1;
		a->units++;
		a->sessions += u->sessions;
		a->rows += u->tracks;
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
			double y = unit_metric(u, m) - comp[u->arm][m];
			double t = sum[u->arm][m] + y;
			comp[u->arm][m] = (t - sum[u->arm][m]) - y;
			sum[u->arm][m] = t;
		}
	}
	for (int a = 0; a < BOTIFY_MAX_ARMS; a++)
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
			botify_ab_moments *mo = &res->arm[a].m[m];
			mo->n = res->arm[a].units;
			mo->mean = mo->n ? sum[a][m] / (double)mo->n : NAN;
			sum[a][m] = comp[a][m] = 0; /* reused below */
		}
	/* pass 2: the corrected two-pass variance,
	 * (sum d^2 - (sum d)^2 / n) / (n - 1) with d = x - mean */
	for (size_t i = 0; i < ab->cap; i++) {
		const struct botify_ab_unit *u = &ab->units[i];
		if (!u->used || !u->sessions)
			continue;
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
			double d = unit_metric(u, m) - res->arm[u->arm].m[m].mean;
			sum[u->arm][m] += d * d;
			comp[u->arm][m] += d;
		}
	}
	for (int a = 0; a < BOTIFY_MAX_ARMS; a++)
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
			botify_ab_moments *mo = &res->arm[a].m[m];
			double n = (double)mo->n;
			mo->var = mo->n >= 2 ? (sum[a][m] - comp[a][m] * comp[a][m] / n) / (n - 1) : NAN;
			if (mo->var < 0)
				mo->var = 0;
		}
}

static int cmp_user_arm(const void *pa, const void *pb)
{
	const int64_t *a = pa, *b = pb;
	return (*a > *b) - (*a < *b);
}

/* Users that have units in more than one arm. */
static int64_t users_in_several_arms(const botify_ab *ab)
{
	if (!ab->n_units)
		return 0;
	int64_t *k = malloc(ab->n_units * sizeof(*k));
	if (!k)
		return -1; /* a diagnostic only */
	size_t n = 0;
	for (size_t i = 0; i < ab->cap; i++)
		if (ab->units[i].used)
			k[n++] = ab->units[i].user;
	qsort(k, n, sizeof(*k), cmp_user_arm);
	int64_t several = 0;
	for (size_t i = 1; i < n; i++)
		if (k[i] == k[i - 1] && (i < 2 || k[i - 1] != k[i - 2]))
			several++;
	free(k);
	return several;
}

/* "C, T1, T2" of the arms present, into buf. */
static const char *present_arms(const botify_ab_result *res, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int a = 0; a < BOTIFY_MAX_ARMS && len < cap; a++)
		if (res->arm[a].present)
			len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "",
						botify_arm_name(a));
	return buf;
}

/* The error for an analysed arm without finished sessions. */
static int absent_arm(const botify_ab_result *res, const char *role, int arm, const char *arms,
		      botify_err *err)
{
	const char *name = botify_arm_name(arm);
	if (name && res->arm[arm].units_unfinished_only)
		return botify_fail(err, BOTIFY_EINVAL,
				   "%s arm '%s' has no finished session (its %lld users have "
				   "unfinished sessions only)", role, name,
				   (long long)res->arm[arm].units_unfinished_only);
	return botify_fail(err, BOTIFY_EINVAL, "%s arm '%s' is not in the data (arms: %s)", role,
			   name ? name : "?", arms);
}

static const char *const ci_names[] = { "delta", "notebook" };

int botify_ab_ci_parse(const char *name)
{
	for (int i = 0; i < 2; i++)
		if (!strcmp(name, ci_names[i]))
			return i;
	return -1;
}

const char *botify_ab_ci_name(int ci)
{
	return ci >= 0 && ci < 2 ? ci_names[ci] : NULL;
}

/* The moments one comparison needs: per arm, and for paired data the
 * covariance of the pairs (NaN for independent arms). */
struct cmp_moments {
	double nc, nt, mc, mt, vc, vt, cov;
};

/* Fills the relative interval, its p-value and the decision from the
 * absolute interval (diff, half_width, df_abs, se_abs) already set. */
static void relative_of(botify_ab_effect *ef, const struct cmp_moments *c, int paired, int ci,
			double alpha, double df_abs, double se_abs)
{
	double diff = ef->diff;
	ef->p = se_abs > 0 ? botify_t_p_two_sided(diff / se_abs, df_abs)
			   : isnan(df_abs) || diff == 0 ? NAN : 0.0;
	if (c->mc == 0) {
		ef->zero_control = 1;
		ef->effect = ef->lower = ef->upper = ef->se_rel = NAN;
		ef->df = df_abs;
		ef->interval_excludes_0 = (diff + ef->half_width) * (diff - ef->half_width) > 0;
		return;
	}
	ef->effect = diff / c->mc * 100;
	if (ci == BOTIFY_AB_CI_NOTEBOOK) {
		/* the notebook's order of operations, so results agree to the ulp */
		ef->df = df_abs;
		ef->lower = (diff - ef->half_width) / c->mc * 100;
		ef->upper = (diff + ef->half_width) / c->mc * 100;
		ef->se_rel = se_abs / fabs(c->mc) * 100;
		ef->interval_excludes_0 = (diff + ef->half_width) * (diff - ef->half_width) > 0;
		return;
	}
	/* delta method for R = mean_T / mean_C: the variance of mean_T - R mean_C
	 * over mean_C^2 */
	double R = c->mt / c->mc, var, df;
	if (paired) {
		var = (c->vt - 2 * R * c->cov + R * R * c->vc) / c->nt;
		df = c->nt - 1;
	} else {
		double a = c->vt / c->nt, b = R * R * c->vc / c->nc;
		var = a + b;
		df = var * var / (a * a / (c->nt - 1) + b * b / (c->nc - 1));
	}
	if (var < 0)
		var = 0;
	double se = sqrt(var) / fabs(c->mc);
	double rel = R - 1, hw = botify_t_quantile(1 - alpha / 2, df) * se;
	ef->df = df;
	ef->se_rel = se * 100;
	ef->lower = (rel - hw) * 100;
	ef->upper = (rel + hw) * 100;
	ef->interval_excludes_0 = ef->lower > 0 || ef->upper < 0;
	ef->p = se > 0 ? botify_t_p_two_sided(rel / se, df) : isnan(df) || rel == 0 ? NAN : 0.0;
}

static void effect_of(const botify_ab_result *res, int t, int m, botify_ab_effect *ef)
{
	const botify_ab_moments *c = &res->arm[res->control].m[m], *x = &res->arm[t].m[m];
	memset(ef, 0, sizeof(*ef));
	ef->treatment = t;
	ef->metric = m;
	ef->n_control = c->n;
	ef->n_treatment = x->n;
	ef->control_mean = c->mean;
	ef->treatment_mean = x->mean;
	/* the notebook's order of operations, so results agree to the ulp */
	double diff = x->mean - c->mean;
	double nc = (double)c->n, nt = (double)x->n;
	double df = botify_welch_df(nc, nt, c->var, x->var), se = sqrt(c->var / nc + x->var / nt);
	ef->diff = diff;
	ef->half_width = botify_t_quantile(1 - res->alpha / 2, df) * se;
	ef->diff_lower = diff - ef->half_width;
	ef->diff_upper = diff + ef->half_width;
	struct cmp_moments cm = { nc, nt, c->mean, x->mean, c->var, x->var, NAN };
	relative_of(ef, &cm, 0, res->ci, res->alpha, df, se);
}

/* A unit with a finished session, or NULL. */
static const struct botify_ab_unit *finished_unit(const botify_ab *ab, int64_t user, int arm)
{
	size_t j = mix(user, arm) & (ab->cap - 1);
	for (;; j = (j + 1) & (ab->cap - 1)) {
		const struct botify_ab_unit *u = &ab->units[j];
		if (!u->used)
			return NULL;
		if (u->user == user && u->arm == arm)
			return u->sessions ? u : NULL;
	}
}

/* Whether user has rows in arm at all. */
static int has_unit(const botify_ab *ab, int64_t user, int arm)
{
	size_t j = mix(user, arm) & (ab->cap - 1);
	for (;; j = (j + 1) & (ab->cap - 1)) {
		const struct botify_ab_unit *u = &ab->units[j];
		if (!u->used)
			return 0;
		if (u->user == user && u->arm == arm)
			return 1;
	}
}

/* Users of one analysed arm that have no rows in another: 0 for paired data. */
static int64_t users_missing_an_arm(const botify_ab *ab, const int *arms, int k)
{
	int64_t missing = 0;
	for (size_t i = 0; i < ab->cap; i++) {
		const struct botify_ab_unit *u = &ab->units[i];
		int analysed = 0;
		for (int a = 0; a < k; a++)
			analysed |= u->used && u->arm == arms[a];
		if (!analysed)
			continue;
		for (int a = 0; a < k; a++)
			if (arms[a] != u->arm && !has_unit(ab, u->user, arms[a])) {
				missing++;
				break;
			}
	}
	return missing;
}

/* The pairs of control and treatment t: users with a finished session in
 * both. Two passes per metric: means, then centred sums. Adds the effects
 * when there are at least 2 pairs; returns the number of pairs. */
static int64_t paired_effects(const botify_ab *ab, botify_ab_result *res, int t, unsigned metrics)
{
	int ctl = res->control;
	double sc[BOTIFY_AB_N_METRICS] = { 0 }, st[BOTIFY_AB_N_METRICS] = { 0 };
	int64_t n = 0;
	for (size_t i = 0; i < ab->cap; i++) {
		const struct botify_ab_unit *c = &ab->units[i], *x;
		if (!c->used || c->arm != ctl || !c->sessions || !(x = finished_unit(ab, c->user, t)))
			continue;
		n++;
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
			sc[m] += unit_metric(c, m);
			st[m] += unit_metric(x, m);
		}
	}
	if (n < 2)
		return n;
	double mc[BOTIFY_AB_N_METRICS], mt[BOTIFY_AB_N_METRICS];
	double vc[BOTIFY_AB_N_METRICS] = { 0 }, vt[BOTIFY_AB_N_METRICS] = { 0 };
	double cv[BOTIFY_AB_N_METRICS] = { 0 }, vd[BOTIFY_AB_N_METRICS] = { 0 };
	double dc[BOTIFY_AB_N_METRICS] = { 0 }, dt[BOTIFY_AB_N_METRICS] = { 0 };
	for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
		mc[m] = sc[m] / (double)n;
		mt[m] = st[m] / (double)n;
	}
	for (size_t i = 0; i < ab->cap; i++) {
		const struct botify_ab_unit *c = &ab->units[i], *x;
		if (!c->used || c->arm != ctl || !c->sessions || !(x = finished_unit(ab, c->user, t)))
			continue;
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
			double a = unit_metric(c, m) - mc[m], b = unit_metric(x, m) - mt[m];
			vc[m] += a * a;
			vt[m] += b * b;
			cv[m] += a * b;
			vd[m] += (b - a) * (b - a);
			dc[m] += a;
			dt[m] += b;
		}
	}
	double nn = (double)n;
	for (int m = 0; m < BOTIFY_AB_N_METRICS; m++) {
		if (metrics && !(metrics & (1u << m)))
			continue;
		/* corrected two-pass sums, as for the arms */
		double var_c = (vc[m] - dc[m] * dc[m] / nn) / (nn - 1);
		double var_t = (vt[m] - dt[m] * dt[m] / nn) / (nn - 1);
		double cov = (cv[m] - dc[m] * dt[m] / nn) / (nn - 1);
		double var_d = (vd[m] - (dt[m] - dc[m]) * (dt[m] - dc[m]) / nn) / (nn - 1);
		if (var_d < 0)
			var_d = 0;
		botify_ab_effect *ef = &res->effects[res->n_effects++];
		memset(ef, 0, sizeof(*ef));
		ef->treatment = t;
		ef->metric = m;
		ef->n_control = ef->n_treatment = n;
		ef->control_mean = mc[m];
		ef->treatment_mean = mt[m];
		ef->diff = mt[m] - mc[m];
		double df = nn - 1, se = sqrt(var_d / nn);
		/* identical pairs (sessions under a paired design) test nothing */
		if (var_d == 0 && ef->diff == 0)
			df = NAN;
		ef->half_width = botify_t_quantile(1 - res->alpha / 2, df) * se;
		ef->diff_lower = ef->diff - ef->half_width;
		ef->diff_upper = ef->diff + ef->half_width;
		struct cmp_moments cm = { nn, nn, mc[m], mt[m], var_c, var_t, cov };
		relative_of(ef, &cm, 1, res->ci, res->alpha, df, se);
		if (isnan(df))
			ef->lower = ef->upper = ef->se_rel = ef->p = NAN;
	}
	return n;
}

/* Adjusts the p-values across the table and takes the decisions. */
static int decide(botify_ab_result *res, botify_err *err)
{
	double p[(BOTIFY_MAX_ARMS - 1) * BOTIFY_AB_N_METRICS];
	for (int i = 0; i < res->n_effects; i++)
		p[i] = res->effects[i].p;
	if (botify_p_adjust(p, res->n_effects, res->correction, p) != 0)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	for (int i = 0; i < res->n_effects; i++) {
		botify_ab_effect *ef = &res->effects[i];
		ef->p_adjusted = p[i];
		ef->significant = res->correction == BOTIFY_P_ADJUST_NONE ? ef->interval_excludes_0
									   : p[i] < res->alpha;
	}
	return 0;
}

static int analyze_paired(const botify_ab *ab, botify_ab_result *res, unsigned metrics,
			  botify_err *err)
{
	res->srm_chi2 = res->srm_p = NAN;
	for (int i = 0; i < res->n_treatments; i++) {
		int t = res->treatments[i];
		int64_t pairs = paired_effects(ab, res, t, metrics);
		if (pairs < 2)
			return botify_fail(err, BOTIFY_EINVAL,
					   "arms '%s' and '%s' have %lld user%s with a finished session in "
					   "both; a paired variance needs at least 2",
					   botify_arm_name(res->control), botify_arm_name(t), (long long)pairs,
					   pairs == 1 ? "" : "s");
		int64_t unpaired = res->arm[res->control].units - pairs + res->arm[t].units - pairs;
		if (unpaired > res->unpaired_users)
			res->unpaired_users = unpaired;
	}
	return decide(res, err);
}

int botify_ab_analyze(const botify_ab *ab, int control, const int *treatments, int n_treatments,
		      const botify_ab_opts *opts, botify_ab_result *res, botify_err *err)
{
	char arms[128];
	double alpha = opts->alpha;
	memset(res, 0, sizeof(*res));
	res->alpha = alpha;
	res->control = control;
	res->ci = opts->ci;
	res->correction = opts->correction;
	if (!(alpha > 0 && alpha < 1))
		return botify_fail(err, BOTIFY_EINVAL, "alpha must be between 0 and 1, got %g", alpha);
	if (!botify_ab_ci_name(opts->ci) || !botify_p_adjust_name(opts->correction) ||
	    (opts->design != BOTIFY_AB_DESIGN_DETECT && !botify_design_name(opts->design)))
		return botify_fail(err, BOTIFY_EINVAL, "bad A/B analysis options");
	botify_ab_arms(ab, res);
	int any = 0;
	for (int a = 0; a < BOTIFY_MAX_ARMS; a++)
		any |= res->arm[a].present;
	if (!any) {
		if (!ab->rows_used)
			return botify_fail(err, BOTIFY_EINVAL, "no rows to analyse");
		if (!ab->last_rows)
			return botify_fail(err, BOTIFY_EINVAL,
					   "no finished sessions: none of the %lld rows is a 'last' row "
					   "(a session ends at its 'last' row; was the log cut short?)",
					   (long long)ab->rows_used);
		return botify_fail(err, BOTIFY_EINVAL, "no finished sessions");
	}
	present_arms(res, arms, sizeof(arms));
	if (control < 0 || control >= BOTIFY_MAX_ARMS || !res->arm[control].present)
		return absent_arm(res, "control", control, arms, err);
	if (n_treatments == 0) {
		for (int a = 0; a < BOTIFY_MAX_ARMS; a++)
			if (a != control && res->arm[a].present)
				res->treatments[res->n_treatments++] = a;
		if (!res->n_treatments)
			return botify_fail(err, BOTIFY_EINVAL,
					   "no treatment arm besides the control '%s' in the data (arms: %s)",
					   botify_arm_name(control), arms);
	} else {
		for (int i = 0; i < n_treatments; i++) {
			int t = treatments[i];
			const char *name = botify_arm_name(t);
			if (!name || !res->arm[t].present)
				return absent_arm(res, "treatment", t, arms, err);
			if (t == control)
				return botify_fail(err, BOTIFY_EINVAL,
						   "arm '%s' is both the control and a treatment", name);
			for (int j = 0; j < i; j++)
				if (treatments[j] == t)
					return botify_fail(err, BOTIFY_EINVAL,
							   "treatment arm '%s' given twice", name);
			res->treatments[res->n_treatments++] = t;
		}
	}
	int analysed[BOTIFY_MAX_ARMS], k = 0;
	analysed[k++] = control;
	for (int i = 0; i < res->n_treatments; i++)
		analysed[k++] = res->treatments[i];
	int64_t missing = users_missing_an_arm(ab, analysed, k);
	if (opts->design == BOTIFY_AB_DESIGN_DETECT) {
		res->design_detected = 1;
		res->design = missing == 0 ? BOTIFY_DESIGN_PAIRED : BOTIFY_DESIGN_SPLIT;
	} else {
		res->design = opts->design;
	}
	if (res->design == BOTIFY_DESIGN_PAIRED && missing)
		return botify_fail(err, BOTIFY_EINVAL,
				   "the data is not paired: %lld users of the analysed arms (%s) have no "
				   "rows in another of them (a paired log has every user in every arm; "
				   "analyse it with --design split)", (long long)missing, arms);
	if (res->design == BOTIFY_DESIGN_PAIRED)
		return analyze_paired(ab, res, opts->metrics, err);
	for (int i = 0; i < k; i++) {
		const botify_ab_arm *a = &res->arm[analysed[i]];
		if (a->units < 2)
			return botify_fail(err, BOTIFY_EINVAL,
					   "arm '%s' has %lld user%s with a finished session; a variance "
					   "needs at least 2", botify_arm_name(analysed[i]),
					   (long long)a->units, a->units == 1 ? "" : "s");
	}
	/* sample-ratio mismatch: the service splits users evenly */
	double total = 0, chi2 = 0;
	for (int i = 0; i < k; i++)
		total += (double)res->arm[analysed[i]].units;
	for (int i = 0; i < k; i++) {
		double d = (double)res->arm[analysed[i]].units - total / k;
		chi2 += d * d / (total / k);
	}
	res->srm_chi2 = chi2;
	res->srm_p = botify_chi2_sf(chi2, k - 1);
	res->srm = res->srm_p < BOTIFY_AB_SRM_P;
	for (int i = 0; i < res->n_treatments; i++)
		for (int m = 0; m < BOTIFY_AB_N_METRICS; m++)
			if (!opts->metrics || (opts->metrics & (1u << m)))
				effect_of(res, res->treatments[i], m, &res->effects[res->n_effects++]);
	if (decide(res, err) != 0)
		return -1;
	res->users_in_several_arms = users_in_several_arms(ab);
	return 0;
}
