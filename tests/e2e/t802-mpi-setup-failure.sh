#!/bin/bash
# Open MPI: a failure in the set-up of simulate on a rank other than 0, after
# rank 0 has opened its log, is reported by rank 0 ("rank 1: ..."), which
# removes its temporary log and ends the job; rank 0 is not killed first.
. "$(dirname "$0")/lib.sh"

mpi_setup

W="$T/world"
tiny_world "$W"
SIM=(simulate --world "$W" --episodes 3000 --threads 1 --no-cache --log "$T/n.jsonl")

# Rank 1 (its own arguments: MPMD) reads toppop's log from a FIFO, so its
# set-up fails exactly when the test writes a bad line: once rank 0 has
# opened its temporary log and gone on to wait for the others.
check "rank 1's set-up fails after rank 0 opened its log: rank 0 reports it, no temporary log"
mkfifo "$T/fifo"
timeout 120 mpirun --oversubscribe -np 1 "$MPIBOT" "${SIM[@]}" --recommender toppop \
	: -np 1 "$MPIBOT" "${SIM[@]}" --recommender "toppop:log=$T/fifo" >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 300); do
	ls "$T" | grep -q '^n\.jsonl\.tmp\.' && break
	sleep 0.1
done
ls "$T" | grep -q '^n\.jsonl\.tmp\.' || fail "rank 0 never opened its log: $(cat "$T/err")"
sleep 0.5 # rank 0 is past its own set-up, waiting for rank 1
timeout 10 sh -c "echo 'not a log line' >'$T/fifo'" || fail "rank 1 did not read its FIFO"
wait "$pid"
rc=$?
[ "$rc" = 2 ] || fail "exit $rc, not 2: $(cat "$T/err")"
grep -q "^botify: rank 1: .*fifo:1" "$T/err" || fail "rank 0 did not report rank 1's failure: $(cat "$T/err")"
grep -q "interrupted" "$T/err" && fail "rank 0 was ended before it reported: $(cat "$T/err")"
ls "$T" | grep -q '^n\.jsonl' && fail "a log or temporary log was left: $(ls "$T" | grep '^n\.jsonl')"

finish
