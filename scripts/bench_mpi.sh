#!/bin/bash
# Scaling over MPI ranks on this machine, medians of RUNS (3) paired runs
# (the configurations alternate within each run):
#   strong  simulate EPISODES on 1 and NP ranks (one thread per rank, a
#           plain log written): speed-up and efficiency t1 / (NP * tNP)
#   weak    EPISODES per rank: EPISODES on 1 rank, NP * EPISODES on NP
#   nolog   NP ranks without a log: only the per-chunk headers travel, so
#           the difference to "strong" is shipping every row to rank 0 and
#           formatting and writing it there
#   export  export --recs --user-recs --k K of the model on 1 and NP ranks
#   ab      ab on a large log (AB_EPISODES, 100000, of a split experiment:
#           ~140 MB plain) on 1 and NP ranks, plain and gzip: wall, CPU, MB/s,
#           and whether the tables are byte-identical (they should be)
#   train   data-parallel train: the two-tower defaults on TRAIN_EPISODES
#           (50000) random + as many sticky_artist sessions, TRAIN_EPOCHS (2)
#           epochs on 1 and NP ranks: median epoch samples/s, the speed-up,
#           and whether the models are byte-identical (they should be)
# On a shared machine N processes also get N shares of the cores, which
# flatters the wall clock: the CPU seconds of all ranks (user + system,
# mpirun included) show the work a split costs.
# The recommender (REC) decides how much compute each row carries against
# the fixed cost per row of shipping it to rank 0 and writing it there. The
# default, nn, is an expensive one (a two-tower model scoring the catalog at
# every step): MODEL names its directory, or one is trained first (a minute:
# 20 000 sticky_artist sessions, one epoch). REC=sticky_artist EPISODES=200000
# or REC=random show the floor of a cheap recommender (export is then
# skipped unless MODEL is given).
#   BOTIFY=build/mpi/botify [NP=2] [RUNS=3] [EPISODES=2000] [REC=nn] [MODEL=DIR]
#       [K=100] [TRAIN_EPISODES=50000] [AB_EPISODES=100000]
#       [WHAT="strong weak nolog export ab train"] scripts/bench_mpi.sh
set -eu
: "${BOTIFY:?BOTIFY must point at an MPI build of botify (make MPI=1 B=build/mpi)}"
"$BOTIFY" --version | grep -q '^MPI: .*MPI' || { echo "$BOTIFY is not built with MPI" >&2; exit 2; }
NP=${NP:-2}
RUNS=${RUNS:-3}
REC=${REC:-nn}
EPISODES=${EPISODES:-$([ "$REC" = nn ] && echo 2000 || echo 200000)}
K=${K:-100}
WHAT=${WHAT:-strong weak nolog export ab train}
AB_EPISODES=${AB_EPISODES:-100000}
TRAIN_EPISODES=${TRAIN_EPISODES:-50000}
TRAIN_EPOCHS=${TRAIN_EPOCHS:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=$(mktemp -d "${TMPDIR:-/tmp}/botify-bench-mpi.XXXXXX")
trap 'rm -rf "$T"' EXIT
export XDG_CACHE_HOME="$T/cache"
MODEL=${MODEL:-}
if [ "$REC" = nn ] && [ -z "$MODEL" ]; then
	echo "training a model for nn (20 000 sessions, 1 epoch)..." >&2
	"$BOTIFY" simulate --episodes 20000 --recommender sticky_artist --seed 99 --log "$T/train.jsonl" \
		>/dev/null 2>&1
	"$BOTIFY" train --log "$T/train.jsonl" --model "$T/model" --epochs 1 --quiet >/dev/null 2>&1
	MODEL=$T/model
fi
SPEC=$REC
[ "$REC" = nn ] && SPEC="nn:model=$MODEL"
# warm the neighbour cache so that every configuration times the same work
"$BOTIFY" simulate --episodes $((EPISODES * NP)) --recommender random --threads 1 >/dev/null 2>&1

# one timed run: prints "wall cpu loop rows" (loop and rows for simulate)
timed() {
	local out=$1
	shift
	/usr/bin/time -f '%e %U %S' -o "$T/time" mpirun --oversubscribe "$@" >"$T/$out" 2>"$T/$out.err"
	read -r wall user sys <"$T/time"
	local loop rows
	# simulate says on stderr "N episodes, S steps in L s (+ ...)", every rank
	# of its own share: rank 0's line is the one with the most steps (it
	# counts every chunk's); a log has a row per step and one per episode
	read -r loop rows < <(awk '/^[0-9]+ episodes, [0-9]+ steps in / && $3 + 0 >= best {
			best = $3 + 0; l = $6; r = $1 + $3 } END { print (l == "" ? "-" : l), (r == "" ? "-" : r) }' \
		"$T/$out.err")
	echo "$wall $(echo "$user + $sys" | bc) $loop $rows"
}
sim() { # name ranks episodes [--log]
	local name=$1 np=$2 ep=$3
	shift 3
	rm -f "$T/log.jsonl"
	echo "$name $(timed "$name.out" -np "$np" "$BOTIFY" simulate --episodes "$ep" --recommender "$SPEC" \
		--seed 5 --threads 1 "$@")"
}
export_run() { # name ranks
	rm -f "$T/recs.json" "$T/users.json"
	echo "$1 $(timed "$1.out" -np "$2" "$BOTIFY" export --model "$MODEL" --recs "$T/recs.json" \
		--user-recs "$T/users.json" --k "$K" --threads 1)"
	if [ -f "$T/recs1.json" ]; then
		cmp -s "$T/recs.json" "$T/recs1.json" && cmp -s "$T/users.json" "$T/users1.json" ||
			{ echo "export on $2 ranks differs from 1 rank" >&2; exit 1; }
	else
		cp "$T/recs.json" "$T/recs1.json"
		cp "$T/users.json" "$T/users1.json"
	fi
}
has() { case " $WHAT " in *" $1 "*) return 0 ;; esac; return 1; }
for i in $(seq "$RUNS"); do
	if has strong || has weak; then sim s1 1 "$EPISODES" --log "$T/log.jsonl"; fi
	if has strong; then sim sN "$NP" "$EPISODES" --log "$T/log.jsonl"; fi
	if has weak; then sim wN "$NP" $((EPISODES * NP)) --log "$T/log.jsonl"; fi
	if has nolog; then sim n1 1 "$EPISODES"; sim nN "$NP" "$EPISODES"; fi
	if has export && [ -n "$MODEL" ]; then export_run e1 1; export_run eN "$NP"; fi
done >"$T/runs"

# the medians, by the loop time for simulate (its wall and CPU from the same
# run) and by the wall time for export
[ -s "$T/runs" ] && awk -v np="$NP" -v ep="$EPISODES" -v rec="$REC" -v k="$K" '
	{ key = ($1 ~ /^e/) ? $2 : $4; v[$1, ++n[$1]] = key " " $2 " " $3 " " $4 " " $5 }
	function med(name,   i, j, m, t, a) {
		m = n[name]
		for (i = 1; i <= m; i++) a[i] = v[name, i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
			if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		split(a[int((m + 1) / 2)], f, " ")
		W[name] = f[2]; C[name] = f[3]; L[name] = f[4]; R[name] = f[5]
	}
	function line(label, name) {
		if (!(name in n)) return
		med(name)
		if (L[name] == "-")
			printf "  %-34s wall %7.2f s  CPU %7.2f s\n", label, W[name], C[name]
		else
			printf "  %-34s loop %7.2f s  wall %7.2f s  CPU %7.2f s  %d rows\n", label, L[name], W[name], C[name], R[name]
	}
	END {
		printf "%s, 1 thread per rank, medians of %d runs\n", rec, n["s1"] ? n["s1"] : n["e1"]
		line("simulate " ep " episodes, 1 rank", "s1")
		line("simulate " ep " episodes, " np " ranks", "sN")
		line("simulate " ep * np " episodes, " np " ranks", "wN")
		line("no log: " ep " episodes, 1 rank", "n1")
		line("no log: " ep " episodes, " np " ranks", "nN")
		line("export k=" k ", 1 rank", "e1")
		line("export k=" k ", " np " ranks", "eN")
		if ("sN" in n)
			printf "strong: speed-up %.2f, efficiency %.0f%% (loop); CPU cost of the split %+.0f%%\n", \
				L["s1"] / L["sN"], 100 * L["s1"] / (np * L["sN"]), 100 * (C["sN"] / C["s1"] - 1)
		if ("wN" in n)
			printf "weak: efficiency %.0f%% (loop t1 / tN at %d episodes per rank)\n", 100 * L["s1"] / L["wN"], ep
		if ("nN" in n && "sN" in n) {
			b = (np - 1) / np * (R["sN"] * 48 + (ep / 256) * 1432)
			printf "log on %d ranks: +%.2f s of loop for %d rows; %.1f MB shipped to rank 0\n", \
				np, L["sN"] - L["nN"], R["sN"], b / 1e6
		}
		if ("eN" in n)
			printf "export: speed-up %.2f (wall), CPU cost of the split %+.0f%%\n", W["e1"] / W["eN"], \
				100 * (C["eN"] / C["e1"] - 1)
	}' "$T/runs"

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
ab_bench() {
	"$BOTIFY" simulate --episodes "$AB_EPISODES" --experiment AB --arms C=random,T1=sticky_artist \
		--seed 3 --threads 2 --log "$T/ab.jsonl" >/dev/null 2>&1
	gzip -1 -c "$T/ab.jsonl" >"$T/ab.jsonl.gz"
	local rows
	rows=$(wc -l <"$T/ab.jsonl")
	for i in $(seq "$RUNS"); do
		for np in 1 "$NP"; do # mpirun's start-up and end alone
			/usr/bin/time -f '%e %U %S' -o "$T/time" mpirun -np "$np" --oversubscribe "$BOTIFY" --version \
				>/dev/null 2>&1
			read -r wall user sys <"$T/time"
			echo "start $np $wall $(echo "$user + $sys" | bc)"
		done
		for f in ab.jsonl ab.jsonl.gz; do
			for np in 1 "$NP"; do
				/usr/bin/time -f '%e %U %S' -o "$T/time" mpirun -np "$np" --oversubscribe "$BOTIFY" ab \
					--log "$T/$f" --experiment AB --threads 1 >"$T/ab$np.out" 2>/dev/null
				read -r wall user sys <"$T/time"
				echo "$f $np $wall $(echo "$user + $sys" | bc)"
				cmp -s "$T/ab1.out" "$T/ab$np.out" || echo "DIFFERENT $f $np"
			done
		done
	done >"$T/abruns"
	if grep -q DIFFERENT "$T/abruns"; then
		echo "ab: the table on $NP ranks differs from 1 rank" >&2
		exit 1
	fi
	awk -v np="$NP" -v ep="$AB_EPISODES" -v rows="$rows" -v plain="$(stat -c %s "$T/ab.jsonl")" \
		-v gz="$(stat -c %s "$T/ab.jsonl.gz")" '
		{ k = $1 " " $2; w[k] = w[k] " " $3; c[k] = c[k] " " $4; n[k]++ }
		function med(s, m,   a, i, j, t) {
			split(substr(s, 2), a, " ")
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
				if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
			return a[int((m + 1) / 2)]
		}
		# the start-up (mpirun, every rank starting and ending) left out of MB/s
		function line(f, r, label, bytes,   k, W, C, W0, C0) {
			k = f " " r; W = med(w[k], n[k]); C = med(c[k], n[k])
			W0 = med(w["start " r], n["start " r]); C0 = med(c["start " r], n["start " r])
			printf "  %-40s wall %6.2f s  CPU %6.2f s  start-up %5.2f s, %5.2f CPU s  %6.1f MB/s  %6.1f MB per CPU s\n", \
				label, W, C, W0, C0, bytes / 1e6 / (W - W0), bytes / 1e6 / (C - C0)
			return W - W0
		}
		END {
			printf "ab on a log of %d episodes, %d rows (%.0f MB plain, %.0f MB gzip), 1 thread per rank, medians of %d runs\n", \
				ep, rows, plain / 1e6, gz / 1e6, n["ab.jsonl 1"]
			p1 = line("ab.jsonl", 1, "plain, 1 rank", plain)
			pN = line("ab.jsonl", np, "plain, " np " ranks", plain)
			g1 = line("ab.jsonl.gz", 1, "gzip, 1 rank", plain)
			gN = line("ab.jsonl.gz", np, "gzip, " np " ranks (one file: one reader)", plain)
			printf "plain: speed-up %.2f (wall less start-up); rows exchanged ~%.1f MB (40 bytes per row to another rank)\n", \
				p1 / pN, (np - 1) / np * rows * 40 / 1e6
			printf "gzip: speed-up %.2f (wall less start-up); MB/s are of the inflated text\n", g1 / gN
		}' "$T/abruns"
}
has ab && [ "$AB_EPISODES" -gt 0 ] && ab_bench
has train && [ "$TRAIN_EPISODES" -gt 0 ] && train_bench
exit 0
