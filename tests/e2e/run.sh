#!/bin/bash
# Runs every tests/e2e/t*.sh against $BOTIFY and prints a total.
# Usage: BOTIFY=/abs/path/to/botify tests/e2e/run.sh [PATTERN]
set -u
: "${BOTIFY:?BOTIFY must point at the botify binary}"
dir=$(cd "$(dirname "$0")" && pwd)
cd "$dir/../.." || exit 2
pattern=${1:-}
total_failed=0
scripts=0
for t in "$dir"/t*.sh; do
	[ -n "$pattern" ] && [[ "$(basename "$t")" != *$pattern* ]] && continue
	scripts=$((scripts + 1))
	echo "== $(basename "$t")"
	if ! bash "$t"; then
		total_failed=$((total_failed + 1))
		echo "== $(basename "$t") FAILED"
	fi
done
echo "e2e: $scripts scripts, $total_failed failed"
[ "$total_failed" = 0 ]
