#!/bin/bash
# Runs every tests/e2e/t*.sh against $BOTIFY and prints a total: scripts
# failed, and checks passed, failed and skipped (with each skip's reason, so
# a check that did not run is never mistaken for one that passed).
# Usage: BOTIFY=/abs/path/to/botify tests/e2e/run.sh [PATTERN]
set -u
: "${BOTIFY:?BOTIFY must point at the botify binary}"
dir=$(cd "$(dirname "$0")" && pwd)
cd "$dir/../.." || exit 2
pattern=${1:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/botify-e2e-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export E2E_COUNTS="$tmp/counts" E2E_SKIPS="$tmp/skips"
: >"$E2E_COUNTS"
: >"$E2E_SKIPS"
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
read -r passed failed skipped < <(awk '{ p += $1; f += $2; s += $3 } END { print p + 0, f + 0, s + 0 }' "$E2E_COUNTS")
if [ -s "$E2E_SKIPS" ]; then
	echo "skipped:"
	sed 's/^/  /' "$E2E_SKIPS"
fi
echo "e2e: $scripts scripts, $total_failed failed; checks: $passed passed, $failed failed, $skipped skipped"
[ "$total_failed" = 0 ]
