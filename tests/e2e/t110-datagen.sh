#!/bin/bash
# botify datagen: files, determinism, overwrite protection, numpy compatibility.
. "$(dirname "$0")/lib.sh"

check "datagen writes the four world files"
expect_exit 0 "$BOTIFY" datagen --out "$T/w" --tracks 500 --users 100 --dim 16 --seed 7
for f in tracks.json tracks.npy users.json top_tracks.json; do expect_file "$T/w/$f"; done
expect_stderr '500 tracks x 16 dims'
expect_eq 500 "$(wc -l <"$T/w/tracks.json")" "tracks.json lines"
expect_eq 100 "$(wc -l <"$T/w/users.json")" "users.json lines"

check "the same seed writes the same bytes"
expect_exit 0 "$BOTIFY" datagen --out "$T/w2" --tracks 500 --users 100 --dim 16 --seed 7
for f in tracks.json tracks.npy users.json top_tracks.json; do
	cmp -s "$T/w/$f" "$T/w2/$f" || fail "$f differs between two runs"
done

check "any --threads writes the same bytes"
for th in 1 3; do
	expect_exit 0 "$BOTIFY" datagen --out "$T/th$th" --tracks 5000 --users 100 --dim 16 --seed 7 --threads "$th"
done
for f in tracks.json tracks.npy users.json top_tracks.json; do
	cmp -s "$T/th1/$f" "$T/th3/$f" || fail "$f differs between --threads 1 and 3"
done
expect_exit 2 "$BOTIFY" datagen --out "$T/th0" --threads 0
expect_one_line_error

check "another seed writes another world"
expect_exit 0 "$BOTIFY" datagen --out "$T/w3" --tracks 500 --users 100 --dim 16 --seed 8
! cmp -s "$T/w/tracks.npy" "$T/w3/tracks.npy" || fail "tracks.npy is the same for seeds 7 and 8"

check "existing files are not overwritten without --force"
expect_exit 2 "$BOTIFY" datagen --out "$T/w" --tracks 500 --users 100 --dim 16 --seed 9
expect_stderr "exists \(use --force to replace it\)"
expect_one_line_error
cmp -s "$T/w/tracks.npy" "$T/w2/tracks.npy" || fail "a refused datagen changed tracks.npy"

check "--force replaces them"
expect_exit 0 "$BOTIFY" datagen --out "$T/w" --tracks 500 --users 100 --dim 16 --seed 9 --force
! cmp -s "$T/w/tracks.npy" "$T/w2/tracks.npy" || fail "--force did not replace tracks.npy"

check "no temporary files are left behind"
expect_eq "" "$(ls "$T/w" | grep tmp)" "temporary files"

check "the written world loads in simulate"
expect_exit 0 "$BOTIFY" simulate --world "$T/w" --episodes 50 --recommender sticky_artist
expect_stdout '\| sticky_artist \| 50 \|'

check "a preset file sets generator parameters; flags win over it"
echo '{"tracks": 200, "users": 30, "dim": 4, "genres": 5}' >"$T/preset.json"
expect_exit 0 "$BOTIFY" datagen --out "$T/p" --preset "$T/preset.json" --users 20
expect_stderr '200 tracks x 4 dims, [0-9]+ artists, 20 users'

check "a preset with an unknown key is refused"
echo '{"trakcs": 200}' >"$T/bad.json"
expect_exit 2 "$BOTIFY" datagen --out "$T/q" --preset "$T/bad.json"
expect_stderr "unknown world parameter 'trakcs'"

check "--out is required"
expect_exit 2 "$BOTIFY" datagen
expect_stderr '--out DIR is required'

check "numpy reads tracks.npy and tracks.json matches it"
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	run /usr/bin/python3 - "$T/w2" <<'PY'
import json, sys, numpy as np
d = sys.argv[1]
E = np.load(d + "/tracks.npy")
assert E.dtype == np.float32 and E.shape == (500, 16), (E.dtype, E.shape)
ids = sorted(json.loads(l)["track"] for l in open(d + "/tracks.json"))
assert ids == list(range(500))
top = json.load(open(d + "/top_tracks.json"))
assert sorted(top) == list(range(500))
print("ok")
PY
	expect_eq 0 "$_last_rc" "python check exit"
	expect_stdout '^ok$'
else
	skip "numpy not available"
fi

finish
