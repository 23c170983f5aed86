#!/bin/bash
# Ctrl-C: botify train stops after the current batch and saves the best
# model so far (exit 0); simulate stops, leaves no partial log, exits 130.
. "$(dirname "$0")/lib.sh"

W="$T/world"
tiny_world "$W"
"$BOTIFY" simulate --world "$W" --episodes 500 --recommender sticky_artist --log "$T/s.jsonl" >/dev/null ||
	{ echo "simulate failed" >&2; exit 1; }

check "SIGINT saves the best model so far and exits 0"
"$BOTIFY" train --world "$W" --log "$T/s.jsonl" --model "$T/m" --emb 4 --hidden 8 --out 4 --batch 64 \
	--epochs 100000 --patience 100000 >"$OUT" 2>"$ERR" &
pid=$!
for _ in $(seq 50); do # wait for the first epochs
	grep -q '^epoch' "$ERR" && break
	sleep 0.1
done
kill -INT "$pid"
wait "$pid"
_last_rc=$?
_last_cmd="botify train ... (SIGINT)"
expect_eq 0 "$_last_rc" "exit code"
expect_stderr 'interrupted: saving the best model so far'
expect_stdout '\| interrupted \|$'
expect_file "$T/m/config.json"
grep -q '"stopped":[[:space:]]*"interrupted"' "$T/m/metrics.json" || fail "metrics.json does not say interrupted"
best=$(sed -nE 's/.*"best_epoch":[[:space:]]*([0-9]+).*/\1/p' "$T/m/metrics.json" | head -n 1)
epochs=$(sed -nE 's/.*"epochs":[[:space:]]*([0-9]+).*/\1/p' "$T/m/metrics.json" | head -n 1)
[ -n "$best" ] && [ -n "$epochs" ] && [ "$best" -ge 1 ] && [ "$best" -le "$epochs" ] ||
	fail "best_epoch $best outside [1, epochs $epochs]"
grep -q '"partial":[[:space:]]*true' "$T/m/metrics.json" || fail "the interrupted epoch is not marked partial"
ls "$T" | grep -q '\.tmp\.' && fail "a temporary directory was left behind"

check "the saved model exports"
expect_exit 0 "$BOTIFY" export --world "$W" --model "$T/m" --embeddings "$T/v.npy"


check "SIGINT during simulate: exit 130, no log, no temporary file"
"$BOTIFY" simulate --world "$W" --episodes 100000000 --recommender random --threads 1 \
	--log "$T/int.jsonl" >"$OUT" 2>"$ERR" &
pid=$!
for _ in $(seq 100); do # until the log's temporary exists: the loop is running
	ls "$T" | grep -q 'int\.jsonl\.tmp' && break
	sleep 0.05
done
kill -INT "$pid"
wait "$pid"
_last_rc=$?
_last_cmd="botify simulate ... (SIGINT)"
expect_eq 130 "$_last_rc" "exit code"
expect_stderr '^botify: interrupted$'
expect_no_file "$T/int.jsonl"
ls "$T" | grep -q 'int\.jsonl\.tmp' && fail "a temporary log was left behind"

finish
