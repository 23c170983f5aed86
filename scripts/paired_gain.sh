#!/bin/bash
# How much paired twin runs save: the mean width of the 95 % interval of
# each metric's effect under --design split and --design paired at the
# same --episodes, over several seeds, and what that means in episodes:
# the split design needs (width_split / width_paired)^2 times the episodes
# of the paired one for the same width (widths shrink as 1/sqrt(episodes)).
# A paired run simulates every episode once per arm, so its cost in
# simulated sessions is twice its --episodes for two arms: the table gives
# both ratios.
#
#   BOTIFY=./botify scripts/paired_gain.sh [options]        (or: make paired-gain)
#     --episodes N    episodes of each experiment (default 20000)
#     --seeds K       experiments per design and pair (default 5)
#     --model DIR     a trained model with its export (tracks_with_recs.json):
#                     adds sticky_artist and nn against contextual; without
#                     it the model is trained here (a few minutes)
#     --work DIR      where logs and the model go (default build/paired-gain)
set -eu
BOTIFY=${BOTIFY:-$(cd "$(dirname "$0")/.." && pwd)/botify}
N=20000 K=5 MODEL="" WORK=build/paired-gain
while [ $# -gt 0 ]; do
	case $1 in
	--episodes) N=$2; shift 2 ;;
	--seeds) K=$2; shift 2 ;;
	--model) MODEL=$2; shift 2 ;;
	--work) WORK=$2; shift 2 ;;
	*) echo "paired_gain.sh: unknown option '$1' (see the comment at the top)" >&2; exit 2 ;;
	esac
done
mkdir -p "$WORK"
if [ -z "$MODEL" ]; then
	MODEL=$WORK/model
	if [ ! -s "$MODEL/tracks_with_recs.json" ]; then
		echo "paired_gain: training a model on 2 x 100000 sessions (random + sticky_artist)" >&2
		"$BOTIFY" simulate --episodes 100000 --recommender random --seed 2 --log "$WORK/random.jsonl.gz" --force >/dev/null
		"$BOTIFY" simulate --episodes 100000 --recommender sticky_artist --seed 1 --log "$WORK/sticky.jsonl.gz" --force >/dev/null
		"$BOTIFY" train --log "$WORK/random.jsonl.gz" "$WORK/sticky.jsonl.gz" --model "$MODEL" --force >/dev/null 2>"$WORK/train.err"
		"$BOTIFY" export --model "$MODEL" --recs "$MODEL/tracks_with_recs.json" --k 100 --force >/dev/null 2>&1
	fi
fi
CONTEXTUAL="contextual:file=$MODEL/tracks_with_recs.json"
PAIRS=("random|sticky_artist" "$CONTEXTUAL|sticky_artist" "$CONTEXTUAL|nn:model=$MODEL")
METRICS=time,mean_tracks_per_session,mean_time_per_session

echo "| control | treatment | metric | width split | width paired | episodes split / paired | sessions split / paired |"
echo "|---|---|---|---:|---:|---:|---:|"
for pair in "${PAIRS[@]}"; do
	c=${pair%%|*} t=${pair#*|}
	for d in split paired; do
		for s in $(seq 1 "$K"); do
			"$BOTIFY" ab --control "$c" --treatment "$t" --design "$d" --episodes "$N" --seed "$s" \
				--metrics "$METRICS" --format csv 2>/dev/null | awk -F, -v d="$d" 'NR > 1 { print d, $2, $4 - $5 }'
		done
	done | awk -v c="$c" -v t="$t" '
		{ w[$1, $2] += $3; n[$1, $2]++; if (!($2 in seen)) { seen[$2] = 1; order[++k] = $2 } }
		END {
			for (i = 1; i <= k; i++) {
				m = order[i]; ws = w["split", m] / n["split", m]; wp = w["paired", m] / n["paired", m]
				r = (ws / wp) ^ 2
				printf "| %s | %s | %s | %.3f | %.3f | %.1fx | %.1fx |\n", c, t, m, ws, wp, r, r / 2
			}
		}'
done
