#!/bin/bash
# The calibration table of datasets/README.md: mean listen time and tracks per
# session of the baseline recommenders on the built-in default world.
#
#   BOTIFY=./botify scripts/calibrate.sh [EPISODES] [SEED]
# EXTRA="contextual:file=... nn:model=..." adds recommenders to the table.
set -eu
BOTIFY=${BOTIFY:-$(dirname "$0")/../botify}
EPISODES=${1:-20000}
SEED=${2:-1}
field() { sed -E "s/.*\"$1\": ([0-9.e+-]+).*/\1/"; }
echo "| recommender | episodes | time/session | ± sem | tracks/session | ± sem |"
echo "|---|---:|---:|---:|---:|---:|"
for rec in random toppop sticky_artist ${EXTRA:-}; do
	out=$("$BOTIFY" simulate --episodes "$EPISODES" --recommender "$rec" --seed "$SEED" --format json)
	printf '| %s | %s | %.3f | %.3f | %.3f | %.3f |\n' "$rec" "$EPISODES" \
		"$(echo "$out" | field mean_time_per_session)" "$(echo "$out" | field sem_time_per_session)" \
		"$(echo "$out" | field mean_tracks_per_session)" "$(echo "$out" | field sem_tracks_per_session)"
done
