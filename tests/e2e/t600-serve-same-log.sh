#!/bin/bash
# botify serve + remote: give the same log as the in-process run.
#
# The proof covers recommenders that are deterministic given the session's
# calls: contextual with one-element lists, toppop with k=1 and nn (its list
# never runs out within --max-steps 60 < k). Randomised recommenders cannot
# match: in-process they draw from the episode's stream (seed, day, episode
# index), which the HTTP API does not carry; serve draws from a per-session
# stream (seed, user, sessions the user ended). For those the test shows
# that serve itself is reproducible (same seed, same calls -> same log).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

W="$T/world"
tiny_world "$W"
# one recommendation per track: contextual becomes deterministic
awk '{ match($0, /"track": ?[0-9]+/); t = substr($0, RSTART, RLENGTH); sub(/.*: ?/, "", t);
	sub(/}[[:space:]]*$/, ", \"recommendations\": [" (t * 7 + 3) % 500 "]}"); print }' \
	"$W/tracks.json" >"$T/recs.json"
tiny_model "$W" 1500 2
SIM=(simulate --world "$W" --episodes 300 --seed 5 --max-steps 60)

# same_log NAME SPEC: in-process run, serve, the remote run; compares all three
same_log() {
	local name=$1 spec=$2
	expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "$spec" --threads 2 --log "$T/$name.in.jsonl"
	start_serve "$name" --world "$W" --recommender "$spec" --seed 11 --threads 2 \
		--log "$T/$name.serve.jsonl" || { fail "serve did not start"; return; }
	local pid=$SERVE_PID
	expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "remote:url=http://127.0.0.1:$SERVE_PORT" \
		--threads 1 --log "$T/$name.remote.jsonl"
	stop_serve "$pid" || fail "serve exited with $?"
	expect_file "$T/$name.serve.jsonl"
	strip_log "$T/$name.in.jsonl" >"$T/$name.in"
	strip_log "$T/$name.remote.jsonl" >"$T/$name.remote"
	strip_log "$T/$name.serve.jsonl" >"$T/$name.serve"
	[ "$(wc -l <"$T/$name.in")" -gt 300 ] || fail "too few rows in $name.in.jsonl"
	cmp -s "$T/$name.in" "$T/$name.remote" || fail "$name: remote log differs from the in-process log: $(diff "$T/$name.in" "$T/$name.remote" | head -n 4)"
	cmp -s "$T/$name.in" "$T/$name.serve" || fail "$name: the server's log differs from the in-process log: $(diff "$T/$name.in" "$T/$name.serve" | head -n 4)"
}

check "contextual with one-element lists: in-process, remote and served logs are the same"
same_log ctx "contextual:file=$T/recs.json"

check "toppop with k=1: the same logs"
same_log top "toppop:file=$W/top_tracks.json,k=1"

check "nn: the same logs (the session's ranked list lives in the server's session store)"
same_log nn "nn:model=$T/m,k=100"

check "the served log has wall-clock timestamps and measured latencies"
now_ms=$(($(date +%s) * 1000))
ts=$(head -n 1 "$T/nn.serve.jsonl" | sed -E 's/.*"timestamp": ([0-9]+).*/\1/')
[ $((now_ms - ts)) -lt 600000 ] && [ $((ts - now_ms)) -lt 600000 ] || fail "timestamp $ts is not about now ($now_ms)"
grep -q '"latency": 0\.0000' "$T/nn.serve.jsonl" || fail "no sub-millisecond latency in the served log"

check "an experiment: serve assigns arms as the in-process run does"
ARMS="C=contextual:file=$T/recs.json,T1=nn:model=$T/m,k=100"
expect_exit 0 "$BOTIFY" "${SIM[@]}" --experiment AB --arms "$ARMS" --log "$T/ab.in.jsonl"
start_serve ab --world "$W" --experiment AB --arms "$ARMS" --threads 2 --log "$T/ab.serve.jsonl"
pid=$SERVE_PID
expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "remote:url=http://127.0.0.1:$SERVE_PORT" --threads 1 --log "$T/ab.remote.jsonl"
stop_serve "$pid" || fail "serve exited with $?"
grep -q '"experiments": {"AB": "T1"}' "$T/ab.serve.jsonl" || fail "no T1 rows in the served log"
grep -q '"experiments": {"AB": "C"}' "$T/ab.serve.jsonl" || fail "no C rows in the served log"
cmp -s <(strip_log "$T/ab.in.jsonl") <(strip_log "$T/ab.serve.jsonl") || fail "the served experiment log differs"
cmp -s <(strip_log "$T/ab.in.jsonl" | sed 's/"experiments": {.*}}$/}/') \
	<(strip_log "$T/ab.remote.jsonl" | sed 's/"experiments": {.*}}$/}/') || fail "the remote experiment log differs"
expect_exit 0 "$BOTIFY" ab --log "$T/ab.serve.jsonl" --experiment AB --format csv
expect_stdout '^T1,mean_time_per_session,'

check "stateless recommenders give the in-process log with several client threads too"
start_serve ctx3 --world "$W" --recommender "contextual:file=$T/recs.json" --threads 3
pid=$SERVE_PID
expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "remote:url=http://127.0.0.1:$SERVE_PORT" --threads 3 --log "$T/ctx3.jsonl"
stop_serve "$pid" || fail "serve exited with $?"
cmp -s "$T/ctx.in" <(strip_log "$T/ctx3.jsonl") || fail "3 client threads changed the log"

check "random: the same seed and calls give the same served log; another seed another"
for run in 1 2 3; do
	seed=21
	[ $run = 3 ] && seed=22
	start_serve rnd$run --world "$W" --recommender random --seed $seed --threads 2
	pid=$SERVE_PID
	expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "remote:url=http://127.0.0.1:$SERVE_PORT" --threads 1 --log "$T/rnd$run.jsonl"
	stop_serve "$pid" || fail "serve exited with $?"
	strip_log "$T/rnd$run.jsonl" >"$T/rnd$run"
done
cmp -s "$T/rnd1" "$T/rnd2" || fail "two servers with seed 21 differ"
cmp -s "$T/rnd1" "$T/rnd3" && fail "seeds 21 and 22 gave the same log"

finish
