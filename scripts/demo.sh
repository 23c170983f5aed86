#!/bin/bash
# make demo: the whole offline loop on the built-in default world, in a few
# minutes: day-1 traffic, a two-tower model, its exports, and an A/B test of
# the model against the recommender built from its own export, gated as a CI
# pipeline would gate it. Everything lands in ${DEMO_DIR:-demo/} (replaced).
set -eu
BOTIFY=${BOTIFY:-$(dirname "$0")/../botify}
DIR=${DEMO_DIR:-demo}
rm -rf "$DIR"
mkdir -p "$DIR"
# the commands in bold on a terminal; plain text in a pipe or a file, or with NO_COLOR set
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
	say() { printf '\n$ %s\n' "$*"; }
fi
run() { say "$*"; "$@"; }

# day 1: users meet a random and a sticky_artist recommender (an A/B split)
run "$BOTIFY" simulate --episodes 200000 --experiment DAY1 --arms C=random,T1=sticky_artist --seed 1 \
	--log "$DIR/day1.jsonl.gz"

# a two-tower model of listen time on those sessions
run "$BOTIFY" train --log "$DIR/day1.jsonl.gz" --model "$DIR/nn"

# its track vectors and the per-track lists the contextual recommender serves
run "$BOTIFY" export --model "$DIR/nn" --embeddings "$DIR/nn/track_vectors.npy" \
	--recs "$DIR/nn/tracks_with_recs.json" --user-recs "$DIR/nn/recommendations.json" --k 100

# day 2: the model against its own export, and the gate a CI job would use
run "$BOTIFY" ab --control contextual:file="$DIR/nn/tracks_with_recs.json" --treatment nn:model="$DIR/nn" \
	--episodes 4000 --seed 2 --day 1 --log "$DIR/day2.jsonl.gz" --plot "$DIR/ab.svg" \
	--require 'mean_time_per_session>0'
echo
echo "the nn recommender is significantly better than contextual: gate passed (exit 0)"
echo "demo outputs are in $DIR/ (logs, the model, its exports, ab.svg)"
