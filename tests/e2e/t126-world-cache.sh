#!/bin/bash
# The built-in world's cache: a first run generates and writes it silently,
# a second takes it, says so and logs the same; damaged, truncated, foreign
# and empty files are detected and rebuilt; concurrent first runs leave one
# valid file and no temporary; --no-cache and --world neither read nor
# write it.
. "$(dirname "$0")/lib.sh"

C="$XDG_CACHE_HOME/botify"
sim() { "$BOTIFY" simulate --recommender random --seed 5 --episodes 200 --threads 2 "$@"; }
strip() { sed -E 's/"latency": [0-9.e+-]+//' "$1"; }
world_files() { ls "$C" 2>/dev/null | grep -c '^world-.*\.bin$'; }

check "a first run generates the world and writes the cache, silently"
expect_exit 0 sim --log "$T/a.jsonl"
expect_no_stderr 'cache'
expect_eq 1 "$(world_files)" "world cache files"
f=$(ls "$C"/world-*.bin)
ls "$C" | grep -q '\.tmp' && fail "a temporary file was left in the cache"

check "a second run takes the world from the cache, says so, and logs the same"
expect_exit 0 sim --log "$T/b.jsonl"
expect_stderr "^simulate: built-in world from the cache $f$"
expect_eq "$(strip "$T/a.jsonl")" "$(strip "$T/b.jsonl")" "log with and without the world cache"

check "--no-cache neither reads nor writes it"
rm -rf "$C"
expect_exit 0 sim --log "$T/c.jsonl" --no-cache
expect_no_stderr 'cache'
expect_eq 0 "$(world_files)" "world cache files after --no-cache"
expect_eq "$(strip "$T/a.jsonl")" "$(strip "$T/c.jsonl")" "log with --no-cache"

check "a world directory does not go through it"
"$BOTIFY" datagen --out "$T/w" --preset "$REPO_DIR/datasets/tiny.json" >/dev/null 2>&1
expect_exit 0 sim --world "$T/w"
expect_exit 0 sim --world "$T/w"
expect_no_stderr 'world from the cache'
expect_eq 0 "$(world_files)" "world cache files after --world runs"

# corrupt HOW WHY: damages the file; a run must say why, rebuild it and log
# the same; the run after it must use the rebuilt file
corrupt() {
	local how=$1 why=$2
	rm -rf "$C"
	sim >/dev/null 2>&1
	f=$(ls "$C"/world-*.bin)
	damage "$f" "$how" 5000
	expect_exit 0 sim --log "$T/x.jsonl" --force
	expect_stderr "^warning: simulate: ignoring the world cache $f \\($why\\); rebuilding it$"
	expect_eq "$(strip "$T/a.jsonl")" "$(strip "$T/x.jsonl")" "log after a $how world cache"
	expect_exit 0 sim
	expect_stderr 'built-in world from the cache'
}
check "a flipped byte is caught by the checksum and the file rebuilt"
corrupt flip 'bad checksum'
check "a truncated file is rebuilt"
corrupt truncate 'truncated or padded'
check "a file without the magic is rebuilt"
corrupt magic 'not a botify world cache'
check "a file of another key is rebuilt"
corrupt foreign 'made for another world'
check "an empty file is rebuilt"
corrupt empty 'wrong size'

check "concurrent first runs: every run succeeds with the same log, one valid file"
rm -rf "$C"
pids=()
for i in 1 2 3; do
	sim --threads 1 --log "$T/p$i.jsonl" >/dev/null 2>"$T/p$i.err" &
	pids+=($!)
done
for i in 1 2 3; do
	wait "${pids[$((i - 1))]}" || fail "concurrent run $i failed: $(cat "$T/p$i.err")"
	expect_eq "$(strip "$T/a.jsonl")" "$(strip "$T/p$i.jsonl")" "log of concurrent run $i"
done
expect_eq 1 "$(world_files)" "world cache files"
ls "$C" | grep -q '\.tmp' && fail "a temporary file was left in the cache"
expect_exit 0 sim
expect_stderr 'built-in world from the cache'

finish
