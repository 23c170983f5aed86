#!/bin/bash
# Start-up cost of botify: `botify --version` started N times in a row
# (N=200), CPU (user + system) and wall milliseconds per start, medians of
# RUNS rounds, less the same loop around /bin/true (the shell's fork and
# exec). It is what every command pays before it does anything: the dynamic
# loader mapping and relocating the linked libraries, their constructors.
#
#   BOTIFY=path/to/botify [BASELINE=path/to/old/botify] [RUNS=5] [N=200] scripts/bench_startup.sh
#
# With BASELINE the rounds alternate between the two binaries (paired).
set -eu
BOTIFY=${BOTIFY:-$(dirname "$0")/../botify}
RUNS=${RUNS:-5}
N=${N:-200}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/botify-bench-startup.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# loop CMD...: "wall cpu" seconds of N runs of CMD
loop() {
	/usr/bin/time -f '%e %U %S' sh -c 'n=$1; shift; i=0; while [ $i -lt $n ]; do "$@" >/dev/null; i=$((i + 1)); done' \
		sh "$N" "$@" 2>&1 >/dev/null | tail -n 1 | awk '{ print $1, $2 + $3 }'
}
bins=("$BOTIFY")
[ -n "${BASELINE:-}" ] && bins=("$BASELINE" "$BOTIFY")
: >"$TMP/true"
for j in "${!bins[@]}"; do : >"$TMP/b.$j"; done
for _ in $(seq "$RUNS"); do
	loop /bin/true >>"$TMP/true"
	for j in "${!bins[@]}"; do
		loop "${bins[$j]}" --version >>"$TMP/b.$j"
	done
done
t_wall=$(cut -d' ' -f1 <"$TMP/true" | median)
t_cpu=$(cut -d' ' -f2 <"$TMP/true" | median)
echo "## Start-up: botify --version, ms per start (less /bin/true's $(awk -v w="$t_cpu" -v n="$N" \
	'BEGIN { printf "%.2f", w * 1000 / n }') ms of CPU), medians of $RUNS rounds of $N"
echo
echo "| binary | linked libraries | CPU ms | wall ms |"
echo "|---|---:|---:|---:|"
for j in "${!bins[@]}"; do
	libs=$(ldd "${bins[$j]}" 2>/dev/null | grep -c '=>' || true)
	wall=$(cut -d' ' -f1 <"$TMP/b.$j" | median)
	cpu=$(cut -d' ' -f2 <"$TMP/b.$j" | median)
	awk -v b="${bins[$j]}" -v l="$libs" -v c="$cpu" -v w="$wall" -v tc="$t_cpu" -v tw="$t_wall" -v n="$N" \
		'BEGIN { printf "| %s | %d | %.2f | %.2f |\n", b, l, (c - tc) * 1000 / n, (w - tw) * 1000 / n }'
done
