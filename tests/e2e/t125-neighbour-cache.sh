#!/bin/bash
# The interest-neighbour cache: a miss writes it, a hit says so on stderr and
# gives the same log, a run that needs more interests adds them; corrupt,
# truncated and foreign files are detected and rebuilt; concurrent runs
# leave one valid file; --no-cache neither reads nor writes it. Ctrl-C
# during a long neighbour search exits 130 within a second.
. "$(dirname "$0")/lib.sh"

W="$T/world"
"$BOTIFY" datagen --out "$W" --preset "$REPO_DIR/datasets/small.json" >/dev/null ||
	{ echo "datagen failed" >&2; exit 1; }
C="$XDG_CACHE_HOME/botify"
sim() { "$BOTIFY" simulate --world "$W" --recommender random --seed 3 --threads 2 "$@"; }
strip() { sed -E 's/"latency": [0-9.e+-]+//' "$1"; }
cache_files() { ls "$C" 2>/dev/null | grep -c '^nb-.*\.bin$'; }

check "a first run computes the neighbours and writes the cache, silently"
expect_exit 0 sim --episodes 300 --log "$T/a.jsonl"
expect_no_stderr 'cache'
expect_eq 1 "$(cache_files)" "cache files"
f=$(ls "$C"/nb-*.bin)
ls "$C" | grep -q '\.tmp' && fail "a temporary file was left in the cache"

check "a second run takes them from the cache, says so, and logs the same"
expect_exit 0 sim --episodes 300 --log "$T/b.jsonl"
expect_stderr "^simulate: interest neighbours from the cache $f \\([0-9]+ interests\\)$"
expect_eq "$(strip "$T/a.jsonl")" "$(strip "$T/b.jsonl")" "log with and without the cache"

check "more episodes: the cached interests plus the new ones, added to the file"
size0=$(stat -c %s "$f")
expect_exit 0 sim --episodes 3000 --log "$T/c.jsonl"
expect_stderr 'the new ones added'
[ "$(stat -c %s "$f")" -gt "$size0" ] || fail "the cache did not grow"
expect_exit 0 sim --episodes 3000 --log "$T/d.jsonl" --no-cache
expect_no_stderr 'cache'
expect_eq "$(strip "$T/c.jsonl")" "$(strip "$T/d.jsonl")" "log from a grown cache vs --no-cache"

check "--no-cache neither reads nor writes the cache"
rm -rf "$C"
expect_exit 0 sim --episodes 300 --no-cache
expect_no_stderr 'cache'
expect_eq 0 "$(cache_files)" "cache files after --no-cache"

check "another user model is another key"
expect_exit 0 sim --episodes 300
printf '{"interest_neighbours": 7}\n' >"$T/cfg.json"
expect_exit 0 sim --episodes 300 --config "$T/cfg.json"
expect_no_stderr 'cache'
expect_eq 2 "$(cache_files)" "cache files for two configs"

# corrupt FILE HOW: damages the cache file, then a run must detect it, say
# why, rebuild it, and a further run must use the rebuilt one
corrupt() {
	local how=$1 why=$2
	rm -rf "$C"
	sim --episodes 300 >/dev/null 2>&1
	f=$(ls "$C"/nb-*.bin)
	damage "$f" "$how" 100
	expect_exit 0 sim --episodes 300 --log "$T/x.jsonl" --force
	expect_stderr "^warning: simulate: ignoring the neighbour cache .*\\($why\\); rebuilding it$"
	expect_eq "$(strip "$T/a.jsonl")" "$(strip "$T/x.jsonl")" "log after a $how cache"
	expect_exit 0 sim --episodes 300
	expect_stderr 'from the cache'
}
check "a flipped byte is caught by the checksum and the file rebuilt"
corrupt flip 'bad checksum'
check "a truncated file is rebuilt"
corrupt truncate 'truncated or padded'
check "a file without the magic is rebuilt"
corrupt magic 'not a botify neighbour cache'
check "a file of another key is rebuilt"
corrupt foreign 'made for another world or user model'
check "an empty file is rebuilt"
corrupt empty 'wrong size'

check "concurrent runs: every run succeeds with the same log, one valid file"
rm -rf "$C"
pids=()
for i in 1 2 3 4; do
	sim --episodes $((1000 * i)) --threads 1 --log "$T/p$i.jsonl" >/dev/null 2>"$T/p$i.err" &
	pids+=($!)
done
for i in 1 2 3 4; do
	wait "${pids[$((i - 1))]}" || fail "concurrent run $i failed: $(cat "$T/p$i.err")"
done
expect_eq 1 "$(cache_files)" "cache files"
ls "$C" | grep -q '\.tmp' && fail "a temporary file was left in the cache"
expect_exit 0 sim --episodes 4000 --log "$T/p5.jsonl" --threads 1
expect_stderr 'from the cache'
expect_eq "$(strip "$T/p4.jsonl")" "$(strip "$T/p5.jsonl")" "log after concurrent writers"

check "an unwritable cache directory: a warning, the run still succeeds"
rm -rf "$C"
mkdir -p "$XDG_CACHE_HOME"
: >"$C" # a file where the directory should be
expect_exit 0 sim --episodes 300
expect_stderr 'warning: no neighbour cache'
rm -f "$C"

check "SIGINT during a long neighbour search: exit 130 within a second, nothing left behind"
# the built-in world (nothing to load) with 100 neighbours per interest: a
# search of several seconds over its 11 743 interests
printf '{"interest_neighbours": 100}\n' >"$T/k100.json"
"$BOTIFY" simulate --episodes 2000000 --config "$T/k100.json" --recommender random --threads 1 --progress \
	--log "$T/int.jsonl" >"$OUT" 2>"$ERR" &
pid=$!
for _ in $(seq 200); do
	grep -q 'finding the interest neighbours' "$ERR" && break
	sleep 0.05
done
sleep 0.3
t0=$(date +%s.%N)
kill -INT "$pid"
wait "$pid"
_last_rc=$?
t1=$(date +%s.%N)
_last_cmd="botify simulate ... (SIGINT in the neighbour search)"
expect_eq 130 "$_last_rc" "exit code"
expect_stderr 'botify: interrupted$' # after the progress line's \r
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 1.0) }' || fail "took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s to stop"
expect_no_file "$T/int.jsonl"
ls "$T" | grep -q 'int\.jsonl\.tmp' && fail "a temporary log was left behind"
ls "$C" 2>/dev/null | grep -q "^nb-" && fail "an interrupted search wrote the neighbour cache"

finish
