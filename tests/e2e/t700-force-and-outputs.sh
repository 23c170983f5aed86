#!/bin/bash
# What --force may replace, and where outputs go: a model directory only
# when botify wrote it; devices and FIFOs written through, never replaced;
# missing parent directories made; temporaries never follow a planted name.
. "$(dirname "$0")/lib.sh"

W="$T/world"
tiny_world "$W"
"$BOTIFY" simulate --world "$W" --episodes 300 --recommender sticky_artist --log "$T/s.jsonl" >/dev/null ||
	{ echo "simulate failed" >&2; exit 1; }
SMALL=(--world "$W" --log "$T/s.jsonl" --emb 4 --hidden 8 --out 4 --epochs 1)

check "train --force refuses a directory that is not a model, and keeps its files"
mkdir "$T/d"
echo x >"$T/d/keep"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --model "$T/d" --force
expect_stderr "not a botify model directory"
expect_one_line_error
expect_file "$T/d/keep"

check "train --force refuses a model directory holding a file botify did not write"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --model "$T/m"
echo notes >"$T/m/notes.txt"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --model "$T/m" --force
expect_stderr "'notes.txt', which botify did not write there"
expect_file "$T/m/notes.txt"
expect_file "$T/m/config.json"

check "train --force replaces a model (and its export outputs) in one step"
rm "$T/m/notes.txt"
expect_exit 0 "$BOTIFY" export --world "$W" --model "$T/m" --embeddings "$T/m/track_vectors.npy"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --model "$T/m" --force --seed 2
expect_file "$T/m/config.json"
expect_no_file "$T/m/track_vectors.npy"
ls "$T" | grep -q '\.tmp\.' && fail "a temporary was left behind"

check "a model directory given with a trailing slash is replaced in place"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --model "$T/m/" --force --seed 3
expect_file "$T/m/config.json"
ls "$T/m" | grep -q '\.tmp\.' && fail "a temporary was made inside the model"
ls "$T" | grep -q '\.tmp\.' && fail "a temporary was left behind"

check "train --force refuses a regular file and a symlink"
: >"$T/file"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --model "$T/file" --force
expect_stderr "not a model directory"
ln -s "$T/m" "$T/link"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --model "$T/link" --force
expect_stderr "symbolic link"
assert test -L "$T/link"

check "a model in a missing directory: parents are made"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --model "$T/models/new/nn"
expect_file "$T/models/new/nn/config.json"

check "simulate --log logs/day1.jsonl.gz makes logs/"
(cd "$T" && "$BOTIFY" simulate --world "$W" --episodes 10 --recommender random --log logs/day1.jsonl.gz) >"$OUT" 2>"$ERR"
_last_rc=$?
expect_eq 0 "$_last_rc" "exit code"
expect_file "$T/logs/day1.jsonl.gz"

check "--force never replaces a FIFO: it is written through"
mkfifo "$T/fifo"
timeout -k 5 60 cat "$T/fifo" >"$T/from-fifo" &
reader=$!
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender random --log "$T/fifo" --force
wait "$reader"
assert test -p "$T/fifo"
[ "$(wc -l <"$T/from-fifo")" -gt 10 ] || fail "the rows did not come through the FIFO"
ls "$T" | grep -q 'fifo\.tmp' && fail "a temporary was made for a FIFO"

check "a character device is written through, with or without --force"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender random --log /dev/null
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender random --log /dev/null --force
assert test -c /dev/null

check "an output that is a directory is refused, even with --force"
mkdir "$T/dir.npy"
expect_exit 2 "$BOTIFY" export --world "$W" --model "$T/m" --embeddings "$T/dir.npy" --force
expect_stderr "is a directory"
assert test -d "$T/dir.npy"

check "a symlink planted under the old temporary name is not followed"
echo precious >"$T/victim"
# the old scheme was <log>.tmp.<pid>; plant it for the next few pids
next=$(sh -c 'echo $$')
for i in $(seq 1 40); do ln -s "$T/victim" "$T/planted.jsonl.tmp.$((next + i))"; done
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender random --log "$T/planted.jsonl"
expect_eq precious "$(cat "$T/victim")" "victim content"
expect_file "$T/planted.jsonl"

check "an existing --plot is refused before any work (simulate, ab): no table, no log"
echo old >"$T/p.svg"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 50 --log "$T/p.jsonl" --plot "$T/p.svg"
expect_stderr "p.svg' exists \\(use --force to replace it\\)"
expect_eq 0 "$(wc -c <"$OUT")" "bytes on stdout"
expect_one_line_error
expect_no_file "$T/p.jsonl"
expect_exit 2 "$BOTIFY" ab --world "$W" --control random --treatment sticky_artist --episodes 50 \
	--log "$T/p.jsonl" --plot "$T/p.svg"
expect_stderr "p.svg' exists \\(use --force to replace it\\)"
expect_eq 0 "$(wc -c <"$OUT")" "bytes on stdout"
expect_one_line_error
expect_no_file "$T/p.jsonl"
expect_eq old "$(cat "$T/p.svg")" "the old plot"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 50 --plot "$T/p.svg" --force
assert grep -q "<svg" "$T/p.svg"

finish
