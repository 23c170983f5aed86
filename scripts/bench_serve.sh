#!/bin/bash
# botify serve throughput with wrk on loopback (part of make bench).
#
#   BOTIFY=path/to/botify scripts/bench_serve.sh
#   RUNS=5 DURATION=4 CONNECTIONS=16 SERVE_THREADS=2 NN_MODEL=models/nn scripts/bench_serve.sh
#
# For each recommender (random, then nn) one server with --log on is started
# on a free loopback port; wrk (one thread, CONNECTIONS keep-alive
# connections) sends POST /next/<user> and POST /last/<user> (one call in 8
# is a "last", so nn ranks the catalog at about one call in 8) for random
# users and tracks of the built-in world, DURATION seconds per run. Reported:
# the median over RUNS of requests/s and of the p50 and p99 latency that wrk
# measures (client side: queueing in wrk included). wrk and the server share
# the machine's cores.
#
# nn needs a model of the built-in world: NN_MODEL=DIR, or one is trained
# here (2 epochs on 20 000 sticky_artist sessions, a few seconds).
set -eu
BOTIFY=${BOTIFY:-$(dirname "$0")/../botify}
RUNS=${RUNS:-5}
DURATION=${DURATION:-4}
CONNECTIONS=${CONNECTIONS:-16}
SERVE_THREADS=${SERVE_THREADS:-2}
if ! command -v wrk >/dev/null; then
	echo "## botify serve: skipped (wrk is not installed; scripts/deps.sh installs it)"
	exit 0
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/botify-bench-serve.XXXXXX")
SERVER=""
cleanup() {
	if [ -n "$SERVER" ]; then
		kill -TERM "$SERVER" 2>/dev/null || true
		wait "$SERVER" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# wrk prints latencies as 209.00us, 1.23ms or 1.01s: to microseconds
to_us() { awk '{ v = $1; u = 1; if (v ~ /us$/) u = 1; else if (v ~ /ms$/) u = 1000; else if (v ~ /s$/) u = 1000000;
	sub(/[a-z]+$/, "", v); printf "%.0f\n", v * u }'; }

cat >"$TMP/calls.lua" <<'EOF'
-- random users and tracks of the built-in world; every 8th call is a "last"
local n = 0
request = function()
  n = n + 1
  local path = (n % 8 == 0) and "/last/" or "/next/"
  local body = '{"track": ' .. math.random(0, 49999) .. ', "time": 0.5}'
  return wrk.format("POST", path .. math.random(0, 9999),
                    {["Content-Type"] = "application/json"}, body)
end
EOF

# serve_bench LABEL SPEC: RUNS wrk runs against one server
serve_bench() {
	local label=$1 spec=$2
	"$BOTIFY" serve --port 0 --recommender "$spec" --threads "$SERVE_THREADS" \
		--log "$TMP/served.jsonl" --force 2>"$TMP/serve.err" &
	SERVER=$!
	for _ in $(seq 200); do
		grep -q 'listening on' "$TMP/serve.err" && break
		sleep 0.05
	done
	local port
	port=$(sed -nE 's|.*listening on http://127\.0\.0\.1:([0-9]+).*|\1|p' "$TMP/serve.err")
	[ -n "$port" ] || { cat "$TMP/serve.err" >&2; exit 1; }
	wrk -t1 -c"$CONNECTIONS" -d1s -s "$TMP/calls.lua" "http://127.0.0.1:$port" >/dev/null # warm-up
	: >"$TMP/rps"
	: >"$TMP/p50"
	: >"$TMP/p99"
	for _ in $(seq "$RUNS"); do
		wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$TMP/calls.lua" "http://127.0.0.1:$port" >"$TMP/wrk.out"
		awk '/^Requests\/sec:/ { print $2 }' "$TMP/wrk.out" >>"$TMP/rps"
		awk '$1 == "50%" { print $2 }' "$TMP/wrk.out" | to_us >>"$TMP/p50"
		awk '$1 == "99%" { print $2 }' "$TMP/wrk.out" | to_us >>"$TMP/p99"
		if grep -q 'Non-2xx' "$TMP/wrk.out"; then
			echo "error answers during the run:" >&2
			cat "$TMP/wrk.out" >&2
			exit 1
		fi
	done
	kill -TERM "$SERVER"
	wait "$SERVER"
	SERVER=""
	local rows
	rows=$(wc -l <"$TMP/served.jsonl")
	printf '| %s | %s | %.0f | %.0f | %.0f | %d |\n' "$label" "$SERVE_THREADS" "$(median <"$TMP/rps")" \
		"$(median <"$TMP/p50")" "$(median <"$TMP/p99")" "$rows"
}

echo "## botify serve (wrk, $CONNECTIONS connections, $RUNS runs of ${DURATION} s, medians, log on)"
echo
echo "| recommender | server threads | requests/s | p50 µs | p99 µs | log rows (all runs) |"
echo "|---|---:|---:|---:|---:|---:|"
serve_bench random random

model=${NN_MODEL:-}
if [ -z "$model" ]; then
	if "$BOTIFY" simulate --episodes 20000 --recommender sticky_artist --seed 3 --log "$TMP/train.jsonl" >/dev/null &&
		"$BOTIFY" train --log "$TMP/train.jsonl" --model "$TMP/nn" --emb 16 --hidden 32 --out 16 \
			--epochs 2 >/dev/null 2>&1; then
		model="$TMP/nn"
	fi
fi
if [ -n "$model" ]; then
	serve_bench "nn (k=100)" "nn:model=$model"
else
	echo "| nn | - | skipped: no model (set NN_MODEL=DIR) | | | |"
fi
echo
echo "target: >= 30000 requests/s and p99 < 2000 µs for random with logging on (2 cores)"
