#!/bin/bash
# make demo: the offline loop on the built-in default world, in a few seconds.
# Writes everything under ${DEMO_DIR:-demo/} (replaced on each run).
set -eu
BOTIFY=${BOTIFY:-$(dirname "$0")/../botify}
DIR=${DEMO_DIR:-demo}
rm -rf "$DIR"
mkdir -p "$DIR"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

run "$BOTIFY" simulate --episodes 20000 --experiment AB --arms C=random,T1=toppop,T2=sticky_artist --seed 31337 \
	--log "$DIR/day1.jsonl.gz"
echo
echo "demo outputs are in $DIR/"
