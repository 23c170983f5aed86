#!/bin/bash
# SIGINT and SIGTERM while a command writes: exit 130 / 143, no temporary
# file left, and a multi-file output (a world; export's vectors and lists)
# complete or absent.
. "$(dirname "$0")/lib.sh"

# wait_for_temp DIR PID: until a temporary shows up in DIR (the command is
# writing) or the command is gone.
wait_for_temp() {
	for _ in $(seq 600); do
		ls "$1" 2>/dev/null | grep -q '\.tmp\.' && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# interrupt SIG CODE WHAT DIR CMD...: starts CMD, sends SIG once it writes
# into DIR, expects exit CODE.
interrupt() {
	local sig=$1 code=$2 dir=$4
	shift 4
	"$@" >"$OUT" 2>"$ERR" &
	local pid=$!
	wait_for_temp "$dir" "$pid" || fail "no temporary appeared in $dir"
	kill "-$sig" "$pid"
	wait "$pid"
	_last_rc=$?
	_last_cmd="$* (SIG$sig)"
	expect_eq "$code" "$_last_rc" "exit code"
	expect_stderr '^botify: interrupted$'
	ls "$dir" 2>/dev/null | grep -q '\.tmp\.' && fail "a temporary was left in $dir"
}

for s in INT:130 TERM:143; do
	sig=${s%:*} code=${s#*:}
	check "datagen: SIG$sig while writing leaves no world and no temporary (exit $code)"
	interrupt "$sig" "$code" datagen "$T/w-$sig" "$BOTIFY" datagen --out "$T/w-$sig" --tracks 400000 --users 10 --dim 16
	for f in tracks.json tracks.npy users.json top_tracks.json; do expect_no_file "$T/w-$sig/$f"; done
	expect_no_file "$T/w-$sig"
done

check "datagen into an existing directory: interrupted, the files there are untouched"
mkdir "$T/keep"
echo mine >"$T/keep/notes.txt"
interrupt TERM 143 datagen "$T/keep" "$BOTIFY" datagen --out "$T/keep" --tracks 400000 --users 10 --dim 16
expect_eq mine "$(cat "$T/keep/notes.txt")" "notes.txt"
expect_no_file "$T/keep/tracks.json"

check "simulate: SIGTERM leaves no log and no temporary (exit 143)"
tiny_world "$T/tw"
mkdir "$T/sim"
interrupt TERM 143 simulate "$T/sim" "$BOTIFY" simulate --world "$T/tw" --episodes 100000000 \
	--recommender random --threads 1 --log "$T/sim/log.jsonl.gz"
expect_no_file "$T/sim/log.jsonl.gz"

check "simulate: a second signal before the first is handled ends it at once, leaving no temporary"
# two kills in a row: the second finds the first still pending and means
# "now", before the command's own clean-up ran
mkdir "$T/sim2"
"$BOTIFY" simulate --world "$T/tw" --episodes 100000000 --recommender random --threads 1 \
	--log "$T/sim2/log.jsonl.gz" >"$OUT" 2>"$ERR" &
pid=$!
wait_for_temp "$T/sim2" "$pid" || fail "no temporary appeared in $T/sim2"
kill -INT "$pid"
kill -TERM "$pid"
wait "$pid"
_last_rc=$?
_last_cmd="simulate (SIGINT + SIGTERM)"
[ "$_last_rc" = 130 ] || [ "$_last_rc" = 143 ] || fail "exit $_last_rc, not 130 or 143"
expect_eq "" "$(ls "$T/sim2")" "files left"

check "datagen on a full disk: no world at all, not tracks.json alone"
# RLIMIT_FSIZE stands in for a full disk: tracks.json fits, tracks.npy does not
(trap '' XFSZ; ulimit -f 3000; exec "$BOTIFY" datagen --out "$T/full" --tracks 20000 --users 10 --dim 64) \
	>"$OUT" 2>"$ERR"
_last_rc=$?
_last_cmd="datagen under ulimit -f 3000"
expect_eq 2 "$_last_rc" "exit code"
expect_stderr "cannot write '$T/full/tracks.npy'"
expect_no_file "$T/full"

# a model of the built-in world (50 000 tracks): its lists take seconds
"$BOTIFY" simulate --episodes 200 --recommender random --log "$T/s.jsonl" >/dev/null 2>&1 &&
	"$BOTIFY" train --log "$T/s.jsonl" --model "$T/m" --emb 4 --hidden 8 --out 4 --epochs 1 >/dev/null 2>&1 ||
	{ echo "could not train a model" >&2; exit 1; }

for s in INT:130 TERM:143; do
	sig=${s%:*} code=${s#*:}
	check "export: SIG$sig leaves neither the vectors nor the lists (exit $code)"
	mkdir "$T/e-$sig"
	interrupt "$sig" "$code" export "$T/e-$sig" "$BOTIFY" export --model "$T/m" --embeddings "$T/e-$sig/v.npy" \
		--recs "$T/e-$sig/recs.json" --user-recs "$T/e-$sig/users.json" --k 50 --threads 1
	expect_eq "" "$(ls "$T/e-$sig")" "files left"
done

finish
