#!/bin/bash
# export of a model of the built-in world: a first run generates the world
# and writes the world cache, silently; a second takes the world from the
# cache and says so; --no-cache neither reads nor writes it; the files are
# the same bytes every way.
. "$(dirname "$0")/lib.sh"

C="$XDG_CACHE_HOME/botify"
world_files() { ls "$C" 2>/dev/null | grep -c '^world-.*\.bin$'; }
EXP=(export --model "$T/m" --k 5 --threads 2)

check "a small model of the built-in world"
expect_exit 0 "$BOTIFY" simulate --episodes 300 --recommender random --seed 4 --log "$T/s.jsonl" --no-cache
expect_exit 0 "$BOTIFY" train --log "$T/s.jsonl" --model "$T/m" --emb 8 --hidden 16 --out 8 --epochs 1 --threads 1
rm -rf "$C"

check "--no-cache neither reads nor writes the world cache"
expect_exit 0 "$BOTIFY" "${EXP[@]}" --recs "$T/a.json" --user-recs "$T/ua.json" --no-cache
expect_no_stderr 'cache'
expect_eq 0 "$(world_files)" "world cache files after --no-cache"

check "a first run writes the world cache, silently"
expect_exit 0 "$BOTIFY" "${EXP[@]}" --recs "$T/b.json" --user-recs "$T/ub.json"
expect_no_stderr 'cache'
expect_eq 1 "$(world_files)" "world cache files"
ls "$C" | grep -q '\.tmp' && fail "a temporary file was left in the cache"
f=$(ls "$C"/world-*.bin)

check "a second run takes the world from the cache and says so"
expect_exit 0 "$BOTIFY" "${EXP[@]}" --recs "$T/c.json" --user-recs "$T/uc.json"
expect_stderr "^export: built-in world from the cache $f$"

check "the same lists every way"
for x in b c; do
	cmp -s "$T/a.json" "$T/$x.json" || fail "track lists $x differ from --no-cache's"
	cmp -s "$T/ua.json" "$T/u$x.json" || fail "user lists $x differ from --no-cache's"
done
finish
