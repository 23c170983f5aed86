#!/bin/bash
# Log reading speed: `botify ab --log` over one simulated log, plain and gzip,
# medians of RUNS (5) paired runs. With OLD=/path/to/another/botify the two
# binaries alternate run by run, so machine load hits both alike.
#   BOTIFY=build/botify [OLD=/tmp/old/botify] [EPISODES=100000] scripts/bench_read.sh
set -eu
: "${BOTIFY:?BOTIFY must point at the botify binary}"
RUNS=${RUNS:-5}
T=$(mktemp -d "${TMPDIR:-/tmp}/botify-bench-read.XXXXXX")
trap 'rm -rf "$T"' EXIT
"$BOTIFY" simulate --episodes "${EPISODES:-100000}" --experiment AB --arms C=random,T1=sticky_artist \
	--log "$T/log.jsonl.gz" >/dev/null 2>&1
gzip -dc "$T/log.jsonl.gz" >"$T/log.jsonl"
echo "log: $(wc -l <"$T/log.jsonl") rows, $(du -m "$T/log.jsonl" | cut -f1) MB plain"
bins=("$BOTIFY")
[ -n "${OLD:-}" ] && bins+=("$OLD")
for i in $(seq "$RUNS"); do
	for b in "${bins[@]}"; do
		for f in log.jsonl log.jsonl.gz; do
			s=$(date +%s.%N)
			"$b" ab --log "$T/$f" --experiment AB >/dev/null 2>&1
			echo "$b $f $(echo "$(date +%s.%N) - $s" | bc)"
		done
	done
done | sort -k1,2 -k3n | awk '{k=$1" "$2; v[k]=v[k]" "$3; n[k]++}
	END {for (k in v) {split(substr(v[k],2), a, " "); printf "%-60s median %.2f s\n", k, a[int((n[k]+1)/2)]}}' | sort
