#!/bin/bash
# The original course files load unchanged (gzipped JSON lines), with
# embeddings from botify datagen for the same number of tracks. The files are
# not part of the repository: BOTIFY_COURSE_DATA names their directory
# (tracks.json.gz, users.json.gz, top_tracks.json.gz); without it every
# check here is skipped, and counted so.
. "$(dirname "$0")/lib.sh"

COURSE=""
if [ -n "${BOTIFY_COURSE_DATA:-}" ] && [ -f "$BOTIFY_COURSE_DATA/tracks.json.gz" ]; then
	COURSE=$(cd "$BOTIFY_COURSE_DATA" && pwd)
else
	skip_all "BOTIFY_COURSE_DATA does not name the course files"
fi

check "a course world without tracks.npy: the error says how to make embeddings"
mkdir -p "$T/bare"
ln -s "$COURSE/tracks.json.gz" "$COURSE/users.json.gz" "$T/bare/"
expect_exit 2 "$BOTIFY" simulate --world "$T/bare" --episodes 10 --recommender random
expect_stderr "has no tracks.npy"
expect_stderr "botify datagen --out TMP --tracks 50000"
expect_one_line_error

mkdir -p "$T/course"
ln -s "$COURSE/tracks.json.gz" "$COURSE/users.json.gz" "$COURSE/top_tracks.json.gz" "$T/course/"
"$BOTIFY" datagen --out "$T/emb" --tracks 50000 --users 10 --dim 16 --seed 1 >/dev/null
cp "$T/emb/tracks.npy" "$T/course/tracks.npy"

check "the course world loads and simulates with sticky_artist"
expect_exit 0 "$BOTIFY" simulate --world "$T/course" --episodes 500 --recommender sticky_artist --seed 31337 --format json
expect_stdout '"episodes": 500'

check "toppop uses the course's top_tracks.json.gz"
expect_exit 0 "$BOTIFY" simulate --world "$T/course" --episodes 200 --recommender toppop:k=10 --log "$T/top.jsonl"
# every recommendation is one of the first ten course top tracks
top10=$(zcat "$COURSE/top_tracks.json.gz" | tr -d '[] ' | cut -d, -f1-10)
bad=$(grep -o '"recommendation": [0-9]*' "$T/top.jsonl" | awk -v top="$top10" 'BEGIN { n = split(top, a, ","); for (i = 1; i <= n; i++) ok[a[i]] = 1 }
	{ if (!($2 in ok)) print $2 }' | head -n 3)
expect_eq "" "$bad" "recommendations outside the course top 10"

check "sticky_artist stays with the course's artists"
expect_exit 0 "$BOTIFY" simulate --world "$T/course" --episodes 100 --recommender sticky_artist --log "$T/st.jsonl"
run /usr/bin/env python3 - "$COURSE/tracks.json.gz" "$T/st.jsonl" <<'PY'
import gzip, json, sys
artist = {}
for line in gzip.open(sys.argv[1], "rt"):
    t = json.loads(line)
    artist[t["track"]] = t["artist"]
bad = 0
for line in open(sys.argv[2]):
    r = json.loads(line)
    if r["message"] == "next" and artist[r["recommendation"]] != artist[r["track"]]:
        bad += 1
print("mismatches", bad)
sys.exit(1 if bad else 0)
PY
expect_eq 0 "$_last_rc" "sticky_artist artist mismatches"

check "sessions start among a course user's interest neighbours"
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	expect_exit 0 "$BOTIFY" simulate --world "$T/course" --episodes 3000 --recommender random --log "$T/r.jsonl"
	run /usr/bin/python3 - "$COURSE/users.json.gz" "$T/course/tracks.npy" "$T/r.jsonl" <<'PY'
import gzip, json, sys
import numpy as np
users = {u["user"]: u["interests"] for u in map(json.loads, gzip.open(sys.argv[1], "rt"))}
E = np.load(sys.argv[2])
starts, prev = [], None
for line in open(sys.argv[3]):
    r = json.loads(line)
    if prev is None or prev["message"] == "last":
        starts.append((r["user"], r["track"]))
    prev = r
bad = 0
for user, first in starts[:300]:
    ok = False
    for i in users[user]:
        top = np.argsort(-(E @ E[i]), kind="stable")[:10]
        ok |= first in set(top.tolist())
    bad += not ok
print("sessions", len(starts), "bad", bad)
sys.exit(1 if bad or len(starts) != 3000 else 0)
PY
	expect_eq 0 "$_last_rc" "first tracks outside the interest neighbours"
else
	skip "numpy not available"
fi

finish
