#!/bin/bash
# The baseline recommenders through the binary: lists, fallbacks, popularity.
. "$(dirname "$0")/lib.sh"

W="$DATA_DIR/e2e/world"
recs() { grep -o '"recommendation": [0-9]*' "$1" | cut -d' ' -f2 | sort -n | uniq; }

check "indexed serves only the user's list; users without a list get any track"
: >"$T/urecs.json"
for u in $(seq 0 19); do echo "{\"user\": $u, \"tracks\": [7, 8, 9]}" >>"$T/urecs.json"; done
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 400 --recommender indexed:file="$T/urecs.json" --log "$T/i.jsonl"
bad=$(grep -E '"user": ([0-9]|1[0-9]),' "$T/i.jsonl" | grep '"message": "next"' | grep -vE '"recommendation": [789],' | head -n 1)
expect_eq "" "$bad" "a listed user got a track outside the list"
others=$(grep -E '"user": (2[0-9]|3[0-9]),' "$T/i.jsonl" | grep -o '"recommendation": [0-9]*' | sort -u | wc -l)
[ "$others" -gt 3 ] || fail "users without a list got only $others distinct tracks"

check "contextual serves the previous track's list"
: >"$T/trecs.json"
for t in $(seq 0 299); do echo "{\"track\": $t, \"artist\": \"x\", \"title\": \"y\", \"recommendations\": [$(((t + 1) % 300))]}" >>"$T/trecs.json"; done
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 100 --recommender contextual:file="$T/trecs.json" --log "$T/c.jsonl"
bad=$(grep '"message": "next"' "$T/c.jsonl" | awk '{match($0, /"track": [0-9]+/); t=substr($0, RSTART+9, RLENGTH-9); match($0, /"recommendation": [0-9]+/); r=substr($0, RSTART+18, RLENGTH-18);
	if (r != (t + 1) % 300) { print; exit } }')
expect_eq "" "$bad" "a recommendation not from the previous track's list"

check "contextual falls back to a uniform track for tracks without a list"
echo '{"track": 0, "recommendations": [1]}' >"$T/one.json"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 200 --recommender contextual:file="$T/one.json" --log "$T/f.jsonl"
[ "$(recs "$T/f.jsonl" | wc -l)" -gt 20 ] || fail "fallback recommendations are not spread over the catalog"

check "toppop:file= with k limits recommendations to the first k"
echo '[5, 6, 7, 8, 9, 10]' >"$T/top.json"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 100 --recommender toppop:file="$T/top.json",k=2 --log "$T/t.jsonl"
expect_eq "5 6" "$(recs "$T/t.jsonl" | tr '\n' ' ' | sed 's/ $//')" "toppop recommendations"

check "toppop:log= ranks tracks by listen time in a log"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 100 --recommender toppop:log="$T/c.jsonl",k=1 --log "$T/tl.jsonl"
expect_eq 1 "$(recs "$T/tl.jsonl" | wc -l)" "distinct recommendations with k=1"

check "toppop without a popularity list in the world asks for one"
mkdir -p "$T/notop" && cp "$W/tracks.json" "$W/tracks.npy" "$W/users.json" "$T/notop/"
expect_exit 2 "$BOTIFY" simulate --world "$T/notop" --episodes 10 --recommender toppop
expect_stderr "has no top_tracks.json; give file= or log="

check "sticky_artist's recommendations share the previous track's artist"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 100 --recommender sticky_artist --log "$T/s.jsonl"
run awk 'NR == FNR { match($0, /"track":[0-9]+/); t = substr($0, RSTART + 8, RLENGTH - 8); match($0, /"artist":"[^"]*"/); a[t] = substr($0, RSTART, RLENGTH); next }
	/"message": "next"/ { match($0, /"track": [0-9]+/); t = substr($0, RSTART + 9, RLENGTH - 9); match($0, /"recommendation": [0-9]+/); r = substr($0, RSTART + 18, RLENGTH - 18);
	if (a[t] != a[r]) { print "track " t " -> " r; bad = 1 } } END { exit bad }' "$W/tracks.json" "$T/s.jsonl"
expect_eq 0 "$_last_rc" "artist mismatches"

finish
