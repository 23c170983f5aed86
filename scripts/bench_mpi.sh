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
# Then train, data-parallel: the two-tower defaults on TRAIN_EPISODES (50000)
# random + as many sticky_artist sessions, TRAIN_EPOCHS (2) epochs, one
# thread per rank, on 1 and NP ranks, RUNS paired runs: the median epoch
# samples/s, the speed-up, and whether the models are byte-identical (they
# should be). TRAIN_EPISODES=0 skips it, EPISODES=0 the simulate part.
#   BOTIFY=build/mpi/botify [NP=2] [EPISODES=200000] [REC=sticky_artist] [TRAIN_EPISODES=50000] scripts/bench_mpi.sh
set -eu
: "${BOTIFY:?BOTIFY must point at an MPI build of botify (make MPI=1 B=build/mpi)}"
"$BOTIFY" --version | grep -q '^MPI: .*MPI' || { echo "$BOTIFY is not built with MPI" >&2; exit 2; }
NP=${NP:-2}
RUNS=${RUNS:-3}
EPISODES=${EPISODES:-200000}
REC=${REC:-sticky_artist}
TRAIN_EPISODES=${TRAIN_EPISODES:-50000}
TRAIN_EPOCHS=${TRAIN_EPOCHS:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=$(mktemp -d "${TMPDIR:-/tmp}/botify-bench-mpi.XXXXXX")
trap 'rm -rf "$T"' EXIT
export XDG_CACHE_HOME="$T/cache"
sim_bench() {
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
}
[ "$EPISODES" -gt 0 ] && sim_bench

train_bench() {
	"$BOTIFY" simulate --episodes "$TRAIN_EPISODES" --recommender random --seed 2 --threads 2 \
		--log "$T/random.jsonl" >/dev/null 2>&1
	"$BOTIFY" simulate --episodes "$TRAIN_EPISODES" --recommender sticky_artist --seed 1 --threads 2 \
		--log "$T/sticky.jsonl" >/dev/null 2>&1
	# median of the samples/s of the epoch lines
	sps() { sed -nE 's/.* ([0-9]+) samples\/s$/\1/p' "$1" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
	for i in $(seq "$RUNS"); do
		for np in 1 "$NP"; do
			/usr/bin/time -f '%e' -o "$T/time" mpirun -np "$np" --oversubscribe "$BOTIFY" train \
				--log "$T/random.jsonl" "$T/sticky.jsonl" --model "$T/m$np" --force --threads 1 \
				--epochs "$TRAIN_EPOCHS" >/dev/null 2>"$T/err"
			echo "$np $(sps "$T/err") $(cat "$T/time")"
		done
	done | sort -k1n -k2n | awk -v np="$NP" -v ep="$TRAIN_EPISODES" -v e="$TRAIN_EPOCHS" '
		{ s[$1] = s[$1] " " $2; w[$1] = w[$1] " " $3; n[$1]++ }
		END {
			for (r in n) { split(substr(s[r], 2), a, " "); m = int((n[r] + 1) / 2); S[r] = a[m]
				split(substr(w[r], 2), b, " "); W[r] = b[m] }
			printf "train two-tower defaults, %d random + %d sticky_artist sessions, %d epochs, 1 thread per rank (medians of %d runs)\n", ep, ep, e, n[1]
			printf "ranks 1: %d samples/s per epoch, wall %.2f s\n", S[1], W[1]
			printf "ranks %d: %d samples/s per epoch, wall %.2f s\n", np, S[np], W[np]
			printf "speed-up %.2f, efficiency %.0f%% (epoch samples/s)\n", S[np] / S[1], 100 * S[np] / (np * S[1])
		}'
	same=identical
	for f in "$T"/m1/*.npy; do
		cmp -s "$f" "$T/m$NP/$(basename "$f")" || same="DIFFERENT ($(basename "$f"))"
	done
	echo "models on 1 and $NP ranks: $same"
}
[ "$TRAIN_EPISODES" -gt 0 ] && train_bench
exit 0
