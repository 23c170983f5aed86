#!/bin/sh
# Rewrites the README's table of recommenders from the registry (each
# recommender's usage and summary, lib/rec_*.c), as
# `botify --help-recommenders-md` prints it: the lines between the
# "recommenders: begin" and "recommenders: end" markers. The e2e tests check
# that the README and every --help agree with the registry.
#
#   scripts/readme_recommenders.sh [BOTIFY]     (default: build/botify)
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
BOTIFY=${1:-$REPO/build/botify}
README=$REPO/README.md
table=$(mktemp "${TMPDIR:-/tmp}/botify-readme.XXXXXX")
out="$README.tmp.$$"
trap 'rm -f "$table" "$out"' EXIT
"$BOTIFY" --help-recommenders-md >"$table"
grep -q '^<!-- recommenders: begin' "$README" && grep -q '^<!-- recommenders: end' "$README" || {
	echo "readme_recommenders.sh: $README has no recommenders: begin/end markers" >&2
	exit 2
}
awk -v table="$table" '
	/^<!-- recommenders: begin/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
	/^<!-- recommenders: end/ { skip = 0 }
	!skip
' "$README" >"$out"
mv "$out" "$README"
