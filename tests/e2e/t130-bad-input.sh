#!/bin/bash
# Bad input: each gets a one-line error naming the file (and line) and exit 2.
. "$(dirname "$0")/lib.sh"

W="$DATA_DIR/e2e/world"
# bad_world NAME: a copy of the fixture world in $T/NAME to break
bad_world() { rm -rf "$T/$1"; cp -r "$W" "$T/$1"; }
sim() { expect_exit 2 "$BOTIFY" simulate --world "$1" --episodes 10 --recommender random; }

check "a missing world directory"
sim "$T/nowhere"
expect_stderr "world '$T/nowhere': no tracks.json or tracks.json.gz"
expect_one_line_error

check "a malformed JSON line in users.json names file and line"
bad_world m
sed -i '5s/.*/{"user": 4, "interests": [1, 2/' "$T/m/users.json"
sim "$T/m"
expect_stderr "$T/m/users.json:5: malformed JSON"
expect_one_line_error

check "a wrong type names the field"
bad_world ty
sed -i '3s/"consume_bias":[^,]*/"consume_bias":"high"/' "$T/ty/users.json"
sim "$T/ty"
expect_stderr "$T/ty/users.json:3: 'consume_bias'"
expect_one_line_error

check "interests must be an array"
bad_world ia
sed -i '2s/"interests":\[[^]]*\]/"interests":"12"/' "$T/ia/users.json"
sim "$T/ia"
expect_stderr "$T/ia/users.json:2: 'interests' must be a non-empty array of track ids"

check "an interest out of range says the catalog size"
bad_world r
sed -i '7s/"interests":\[[0-9]*/"interests":[50013/' "$T/r/users.json"
sim "$T/r"
expect_stderr "$T/r/users.json:7: track 50013 out of range \(catalog has 300\)"
expect_one_line_error

check "a track id out of range in tracks.json"
bad_world tr
sed -i '10s/"track":[0-9]*/"track":300/' "$T/tr/tracks.json"
sim "$T/tr"
expect_stderr "tracks.json:10: track id 300 out of range"
expect_one_line_error

check "a duplicate track id"
bad_world dup
sed -i '10s/"track":[0-9]*/"track":0/' "$T/dup/tracks.json"
sim "$T/dup"
expect_stderr "tracks.json:10: track id 0 appears twice"

check "a truncated tracks.npy names the file"
bad_world tn
head -c 5000 "$W/tracks.npy" >"$T/tn/tracks.npy"
sim "$T/tn"
expect_stderr "$T/tn/tracks.npy: .*truncated"
expect_one_line_error

check "a tracks.npy that is not a .npy file"
bad_world fo
cp "$W/users.json" "$T/fo/tracks.npy"
sim "$T/fo"
expect_stderr "$T/fo/tracks.npy"
expect_one_line_error

check "embeddings with the wrong number of rows"
bad_world rows
head -n 299 "$W/tracks.json" >"$T/rows/tracks.json"
sim "$T/rows"
expect_stderr "tracks.npy: expected shape \(299, D\)"

check "a missing users.json"
bad_world nu
rm "$T/nu/users.json"
sim "$T/nu"
expect_stderr "no users.json or users.json.gz"

check "an unknown recommender lists the known ones (and the closest)"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender sticky
expect_stderr "unknown recommender 'sticky' \(did you mean 'sticky_artist'\? known: random, toppop, sticky_artist, indexed, contextual"
expect_one_line_error
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender bandit
expect_stderr "unknown recommender 'bandit' \(known: random, toppop, sticky_artist, indexed, contextual"

check "an unknown recommender key lists the known keys (and the closest)"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender toppop:kk=5
expect_stderr "toppop: unknown key 'kk' \(did you mean 'k'\? known: file,log,k\)"

check "a bad recommender value"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender toppop:k=zero
expect_stderr "toppop: k=zero: expected an integer"

check "a missing list file names the file"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender contextual:file="$T/missing.json"
expect_stderr "contextual: .*$T/missing.json"
expect_one_line_error

check "a list with an unknown track names file and line"
printf '{"track": 0, "recommendations": [1, 2]}\n{"track": 1, "recommendations": [999]}\n' >"$T/recs.json"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender contextual:file="$T/recs.json"
expect_stderr "$T/recs.json:2: track 999 out of range \(catalog has 300\)"

check "a malformed line in a recommendations file"
printf '{"user": 0, "tracks": [1, 2]}\nnot json\n' >"$T/urecs.json"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender indexed:file="$T/urecs.json"
expect_stderr "$T/urecs.json:2: malformed JSON"

check "a bad --config names the file and key"
echo '{"session_budget": 0}' >"$T/c.json"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender random --config "$T/c.json"
expect_stderr "$T/c.json: 'session_budget' is 0"
echo '{"budget": 3}' >"$T/c2.json"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender random --config "$T/c2.json"
expect_stderr "unknown key 'budget'"

check "a log in a missing directory: the directories are made"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender random --log "$T/no/such/dir/log.jsonl.gz"
expect_file "$T/no/such/dir/log.jsonl.gz"

check "a log under a directory that cannot be made is refused and nothing is left behind"
: >"$T/plain"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender random --log "$T/plain/log.jsonl"
expect_stderr "$T/plain/log.jsonl"
expect_one_line_error

check "a failed run leaves no log and no temporary file"
printf '{"track": 0, "recommendations": [1]}\n' >"$T/ok.json"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender contextual:file="$T/nothere.json" --log "$T/f.jsonl"
expect_no_file "$T/f.jsonl"
expect_eq "" "$(ls "$T" | grep 'f.jsonl.tmp')" "temporary files"

finish
