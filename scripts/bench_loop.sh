#!/bin/bash
# The episode loop of this tree against a git revision's, paired in one
# process: both simulators (the revision's lib/sim.c and headers compiled
# with their botify_sim_* renamed old_*) run the same episodes of the
# built-in world with the random recommender on one thread, in blocks of
# 10 000 that alternate (old, new; new, old), each block's thread CPU time
# counted. A loaded machine slows both alike, which whole-process runs,
# seconds apart, do not: their CPU times vary by 15 % on two shared cores.
# Prints each round, then the steps (which must be equal), the median of
# the per-round differences and the means.
#
#   scripts/bench_loop.sh [REV] [EPISODES] [ROUNDS]     (default: HEAD~ 100000 9)
#
# Needs the tree built (make). REV's sim.c is linked against the tree's
# library, so the headers it shares with it (world.h, rec.h, topk.h...) must
# lay out their types alike: the headers that differ are listed first.
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
REV=${1:-HEAD~} EPISODES=${2:-100000} ROUNDS=${3:-9}
B=${B:-build}
[ -f "$REPO/$B/libbotify.a" ] || { echo "bench_loop.sh: build the tree first (make)" >&2; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/botify-bench-loop.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/old"
for f in $(git -C "$REPO" ls-tree --name-only "$REV" lib/ | grep '\.h$'); do
	git -C "$REPO" show "$REV:$f" >"$TMP/old/$(basename "$f")"
done
git -C "$REPO" show "$REV:lib/sim.c" >"$TMP/old/sim.c"
for f in "$TMP"/old/*.h; do
	h=$(basename "$f")
	[ "$h" = sim.h ] || cmp -s "$f" "$REPO/lib/$h" || echo "bench_loop.sh: lib/$h differs from $REV's (its types must match)" >&2
done
for f in dot dot_portable episode episodes experiment_name free index_start init listen_time prepare \
	prepare_part prepare_until worker_free worker_init; do
	echo "#define botify_sim_$f old_botify_sim_$f"
done >"$TMP/old/rename.h"
cat >"$TMP/driver.c" <<'EOF'
/* compiled twice: against REV's simulator (-DOLD, its headers first) and the tree's */
#include <stdlib.h>
#include <time.h>
#include "sim.h"
#ifdef OLD
#define PFX(x) old_##x
#else
#define PFX(x) new_##x
#endif
struct drv {
	botify_sim s;
	botify_sim_worker wk;
	botify_rec *recs[1];
	botify_sim_job jobs[256];
	botify_episode eps[256];
};
void *PFX(setup)(const botify_world *w, const botify_simcfg *cfg, botify_rec *rec, int64_t episodes);
double PFX(run)(void *p, int64_t lo, int64_t hi, int64_t *steps, double *time_sum);
void *PFX(setup)(const botify_world *w, const botify_simcfg *cfg, botify_rec *rec, int64_t episodes)
{
	struct drv *d = calloc(1, sizeof(*d));
	botify_err err = {0};
	d->recs[0] = rec;
	if (!d || botify_sim_init(&d->s, w, cfg, 1, 0, NULL, &err) != 0 ||
	    botify_sim_prepare(&d->s, episodes, 1, &err) != 0 ||
	    botify_sim_worker_init(&d->wk, &d->s, d->recs, &err) != 0)
		abort();
	return d;
}
/* episodes [lo, hi) in chunks of 256, as the runs make them: thread CPU seconds */
double PFX(run)(void *p, int64_t lo, int64_t hi, int64_t *steps, double *time_sum)
{
	struct drv *d = p;
	botify_err err = {0};
	struct timespec a, b;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	for (int64_t c = lo; c < hi; c += 256) {
		int64_t n = hi - c < 256 ? hi - c : 256;
		for (int64_t j = 0; j < n; j++)
			d->jobs[j] = (botify_sim_job){ c + j, -1 };
		if (botify_sim_episodes(&d->s, &d->wk, d->jobs, n, NULL, 0, d->eps, &err) != 0)
			abort();
		for (int64_t j = 0; j < n; j++) {
			*steps += d->eps[j].steps;
			*time_sum += d->eps[j].time;
		}
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
}
EOF
cat >"$TMP/main.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include "rec.h"
#include "simcfg.h"
#include "world.h"
#include "worldgen.h"
void *old_setup(const botify_world *, const botify_simcfg *, botify_rec *, int64_t);
void *new_setup(const botify_world *, const botify_simcfg *, botify_rec *, int64_t);
double old_run(void *, int64_t, int64_t, int64_t *, double *);
double new_run(void *, int64_t, int64_t, int64_t *, double *);
static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}
int main(int argc, char **argv)
{
	int64_t E = atoll(argv[1]), B = 10000;
	int R = atoi(argv[2]);
	botify_err err = {0};
	botify_world w;
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	botify_simcfg cfg;
	botify_simcfg_defaults(&cfg);
	botify_rec rec;
	botify_rec_env env = { .world = &w, .max_steps = cfg.max_steps };
	if (botify_worldgen_generate_threads(&w, &p, 1, &err) != 0 ||
	    botify_rec_create(&rec, "random", &env, &err) != 0) {
		fprintf(stderr, "bench_loop: %s\n", err.msg);
		return 2;
	}
	void *o = old_setup(&w, &cfg, &rec, E), *n = new_setup(&w, &cfg, &rec, E);
	double *d = malloc(sizeof(double) * (size_t)R), to = 0, tn = 0, xo = 0, xn = 0;
	int64_t so = 0, sn = 0;
	for (int r = 0; r < R; r++) {
		double a = 0, b = 0;
		for (int64_t lo = 0; lo < E; lo += B) {
			int64_t hi = lo + B < E ? lo + B : E;
			if ((lo / B + r) % 2) {
				a += old_run(o, lo, hi, &so, &xo);
				b += new_run(n, lo, hi, &sn, &xn);
			} else {
				b += new_run(n, lo, hi, &sn, &xn);
				a += old_run(o, lo, hi, &so, &xo);
			}
		}
		d[r] = b - a, to += a, tn += b;
		printf("round %d: old %.4f s, new %.4f s (%.1f / %.1f ns a step)\n", r + 1, a, b,
		       a * 1e9 / ((double)so / (r + 1)), b * 1e9 / ((double)sn / (r + 1)));
	}
	qsort(d, (size_t)R, sizeof(double), cmpd);
	printf("%lld episodes x %d rounds: steps old %lld, new %lld (%s), listen time %s; "
	       "median paired difference new - old %+.4f s a round; means old %.4f s, new %.4f s\n",
	       (long long)E, R, (long long)so, (long long)sn, so == sn ? "equal" : "DIFFERENT",
	       xo == xn ? "equal" : "DIFFERENT", d[R / 2], to / R, tn / R);
	return so == sn && xo == xn ? 0 : 1;
}
EOF
CC=${CC:-cc}
CF="-O2 -g -std=c11 -D_POSIX_C_SOURCE=200809L $(pkg-config --cflags openblas 2>/dev/null || true)"
LIBS="$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -lcjson -lz -lm -lpthread -ldl"
pkg-config --exists libdeflate 2>/dev/null && LIBS="$LIBS -ldeflate"
$CC $CF -I"$TMP/old" -include "$TMP/old/rename.h" -c "$TMP/old/sim.c" -o "$TMP/sim_old.o"
$CC $CF -DOLD -I"$TMP/old" -include "$TMP/old/rename.h" -c "$TMP/driver.c" -o "$TMP/drv_old.o"
$CC $CF -I"$REPO/lib" -c "$TMP/driver.c" -o "$TMP/drv_new.o"
$CC $CF -I"$REPO/lib" -c "$TMP/main.c" -o "$TMP/main.o"
$CC -o "$TMP/bench" "$TMP/main.o" "$TMP/drv_old.o" "$TMP/drv_new.o" "$TMP/sim_old.o" "$REPO/$B/libbotify.a" $LIBS
echo "## Episode loop, $REV against this tree: random recommender, 1 thread, in one process"
"$TMP/bench" "$EPISODES" "$ROUNDS"
