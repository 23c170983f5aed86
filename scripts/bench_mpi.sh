#!/bin/bash
# Strong scaling of simulate over MPI ranks on this machine: the same run
# (EPISODES, one thread per rank, a log) on 1 and NP (2) ranks, RUNS (3)
# paired runs alternating the two, medians; efficiency = t1 / (NP * tNP).
# On a shared machine N processes also get N shares of the cores, which
# flatters the wall-clock speed-up: the CPU seconds of all ranks (user +
# system, mpirun included) show the work the split costs.
# The recommender (REC, default sticky_artist) decides how much compute each
# row carries against the fixed cost per row of shipping it to rank 0 and
# writing it there; REC=random shows that floor.
#   BOTIFY=build/mpi/botify [NP=2] [EPISODES=200000] [REC=sticky_artist] scripts/bench_mpi.sh
set -eu
: "${BOTIFY:?BOTIFY must point at an MPI build of botify (make MPI=1 B=build/mpi)}"
"$BOTIFY" --version | grep -q '^MPI: .*MPI' || { echo "$BOTIFY is not built with MPI" >&2; exit 2; }
NP=${NP:-2}
RUNS=${RUNS:-3}
EPISODES=${EPISODES:-200000}
REC=${REC:-sticky_artist}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=$(mktemp -d "${TMPDIR:-/tmp}/botify-bench-mpi.XXXXXX")
trap 'rm -rf "$T"' EXIT
export XDG_CACHE_HOME="$T/cache"
# warm the neighbour cache so that both sides time the episode loop alike
"$BOTIFY" simulate --episodes "$EPISODES" --recommender "$REC" --threads 1 >/dev/null 2>&1
loop() { # the simulate's own timing of the episode loop
	sed -nE 's/.* steps in ([0-9.]+) s .*/\1/p' "$1"
}
for i in $(seq "$RUNS"); do
	for np in 1 "$NP"; do
		rm -f "$T/log.jsonl"
		/usr/bin/time -f '%e %U %S' -o "$T/time" mpirun -np "$np" --oversubscribe "$BOTIFY" simulate \
			--episodes "$EPISODES" --recommender "$REC" --seed "$i" --threads 1 --log "$T/log.jsonl" \
			>"$T/out" 2>/dev/null
		read -r wall user sys <"$T/time"
		echo "$np $wall $(loop "$T/out") $(echo "$user + $sys" | bc)"
	done
done | sort -k1n -k3n | awk -v np="$NP" -v ep="$EPISODES" -v rec="$REC" '
	{ wall[$1] = wall[$1] " " $2; lp[$1] = lp[$1] " " $3; cpu[$1] = cpu[$1] " " $4; n[$1]++ }
	END {
		for (r in n) {
			split(substr(lp[r], 2), a, " "); m = int((n[r] + 1) / 2); L[r] = a[m]
			split(substr(wall[r], 2), w, " "); W[r] = w[m] # the wall and CPU time of the median loop
			split(substr(cpu[r], 2), c, " "); C[r] = c[m]
		}
		printf "simulate %d episodes, %s, 1 thread per rank, log written (medians of %d runs)\n", ep, rec, n[1]
		printf "ranks 1: loop %.2f s, wall %.2f s, CPU %.2f s\n", L[1], W[1], C[1]
		printf "ranks %d: loop %.2f s, wall %.2f s, CPU %.2f s\n", np, L[np], W[np], C[np]
		printf "speed-up %.2f, efficiency %.0f%% (episode loop); CPU cost of the split %+.0f%%\n", \
			L[1] / L[np], 100 * L[1] / (np * L[np]), 100 * (C[np] / C[1] - 1)
	}'
