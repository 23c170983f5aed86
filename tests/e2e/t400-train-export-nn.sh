#!/bin/bash
# botify train -> export -> simulate with nn and with contextual on the export,
# on a tiny world; determinism of the model bytes; --help of both commands.
. "$(dirname "$0")/lib.sh"

W="$T/world"
tiny_world "$W"
TRAIN=(--world "$W" --emb 8 --hidden 16 --out 8 --batch 256 --epochs 4 --threads 1)

check "simulate writes a log to train on"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 1500 --recommender sticky_artist --seed 3 --log "$T/s.jsonl.gz"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 500 --recommender random --seed 4 --log "$T/r.jsonl"

check "train reports epochs on stderr and test MSE with baselines on stdout"
expect_exit 0 "$BOTIFY" train "${TRAIN[@]}" --log "$T/s.jsonl.gz" "$T/r.jsonl" --model "$T/m"
expect_stderr '^epoch +1 +train [0-9.]+ +val [0-9.]+\*? +lr 1e-03 +[0-9.]+ s +[0-9]+ samples/s$'
expect_stderr 'pairs from [0-9]+ sessions in [0-9]+ rows of 2 logs'
expect_stdout '^\| two-tower \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9]+ \| 4 \| max_epochs \|$'

check "the model directory holds config.json, metrics.json and one .npy per tensor"
for f in config.json metrics.json user_emb.npy start_emb.npy track_emb.npy artist_emb.npy \
	ctx_w1.npy ctx_b1.npy ctx_w2.npy ctx_b2.npy ctx_w3.npy ctx_b3.npy \
	item_w1.npy item_b1.npy item_w2.npy item_b2.npy item_w3.npy item_b3.npy user_pairs.npy user_context.npy; do
	expect_file "$T/m/$f"
done
grep -q '"format_version":[[:space:]]*1' "$T/m/config.json" || fail "config.json lacks format_version 1"
grep -q '"test_mse"' "$T/m/metrics.json" || fail "metrics.json lacks test_mse"
grep -q '"rdm_mse"' "$T/m/metrics.json" || fail "metrics.json lacks rdm_mse"
ls "$T" | grep -q '\.tmp\.' && fail "a temporary directory was left behind"

check "the same seed, logs and threads give the same model bytes"
expect_exit 0 "$BOTIFY" train "${TRAIN[@]}" --log "$T/s.jsonl.gz" "$T/r.jsonl" --model "$T/m2"
for f in "$T"/m/*.npy "$T/m/config.json"; do
	cmp -s "$f" "$T/m2/$(basename "$f")" || fail "$(basename "$f") differs"
done

check "another seed gives another model"
expect_exit 0 "$BOTIFY" train "${TRAIN[@]}" --log "$T/s.jsonl.gz" --model "$T/m3" --seed 2
cmp -s "$T/m/track_emb.npy" "$T/m3/track_emb.npy" && fail "seeds 1 and 2 gave the same track_emb"

check "dot and sum train too, with only their tensors"
expect_exit 0 "$BOTIFY" train --world "$W" --log "$T/s.jsonl.gz" --model "$T/dot" --arch dot --emb 8 --epochs 2
expect_stdout '^\| dot \|'
expect_no_file "$T/dot/ctx_w1.npy"
expect_no_file "$T/dot/user_emb.npy"
expect_exit 0 "$BOTIFY" train --world "$W" --log "$T/s.jsonl.gz" --model "$T/sum" --arch sum --emb 8 --epochs 2
expect_stdout '^\| sum \|'
expect_file "$T/sum/user_emb.npy"

check "export writes vectors, per-track and per-user lists"
expect_exit 0 "$BOTIFY" export --world "$W" --model "$T/m" --embeddings "$T/m/track_vectors.npy" \
	--recs "$T/m/tracks_with_recs.json" --user-recs "$T/m/recommendations.json" --k 20
expect_stderr "wrote $T/m/track_vectors.npy: 500 x 8 track vectors"
expect_eq 500 "$(wc -l <"$T/m/tracks_with_recs.json")" "tracks_with_recs lines"
expect_eq 100 "$(wc -l <"$T/m/recommendations.json")" "recommendations lines"
head -n 1 "$T/m/tracks_with_recs.json" | grep -Eq '^\{"track": 0, "artist": ".*", "title": ".*", "recommendations": \[[0-9]+(, [0-9]+){19}\]\}$' ||
	fail "unexpected line: $(head -n 1 "$T/m/tracks_with_recs.json")"
head -n 1 "$T/m/recommendations.json" | grep -Eq '^\{"user": 0, "tracks": \[[0-9]+(, [0-9]+){19}\]\}$' ||
	fail "unexpected line: $(head -n 1 "$T/m/recommendations.json")"
run awk '{ match($0, /"track": [0-9]+/); t = substr($0, RSTART + 9, RLENGTH - 9);
	match($0, /"recommendations": \[[^]]*\]/); l = substr($0, RSTART + 20, RLENGTH - 21);
	n = split(l, a, ", "); for (i = 1; i <= n; i++) if (a[i] == t) { print "track " t " recommends itself"; exit 1 } }' "$T/m/tracks_with_recs.json"
expect_eq 0 "$_last_rc" "no track recommends itself"
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	/usr/bin/python3 -c "import numpy as np, sys; a = np.load(sys.argv[1]); assert a.shape == (500, 8) and a.dtype == np.float32; \
b = np.load(sys.argv[2]); assert b.shape == (16, 3 * 8), b.shape" "$T/m/track_vectors.npy" "$T/m/ctx_w1.npy" || fail "numpy cannot read the model"
fi

check "export refuses to overwrite without --force"
expect_exit 2 "$BOTIFY" export --world "$W" --model "$T/m" --recs "$T/m/tracks_with_recs.json"
expect_stderr 'exists'
expect_exit 0 "$BOTIFY" export --world "$W" --model "$T/m" --recs "$T/m/tracks_with_recs.json" --force --k 20

check "simulate runs the nn recommender on several threads, reproducibly"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --recommender "nn:model=$T/m,k=30" --threads 3 --seed 5 --format json
sed -E 's/"(threads|load_seconds|prepare_seconds|loop_seconds|episodes_per_second|steps_per_second)": [0-9.]+,//g' "$OUT" >"$T/nn3"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --recommender "nn:model=$T/m,k=30" --threads 1 --seed 5 --format json
sed -E 's/"(threads|load_seconds|prepare_seconds|loop_seconds|episodes_per_second|steps_per_second)": [0-9.]+,//g' "$OUT" >"$T/nn1"
cmp -s "$T/nn1" "$T/nn3" || fail "1 and 3 threads differ"

check "contextual and indexed read the export"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --recommender "contextual:file=$T/m/tracks_with_recs.json"
expect_stdout '\| contextual:file='
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --recommender "indexed:file=$T/m/recommendations.json"

check "nn and contextual side by side in an experiment"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 400 --experiment AB \
	--arms "C=contextual:file=$T/m/tracks_with_recs.json,T1=nn:model=$T/m"
expect_stdout '^\| T1 \| nn:model='

check "train and export --help show usage and examples"
for cmd in train export; do
	expect_exit 0 "$BOTIFY" $cmd --help
	expect_stdout "^usage: botify $cmd"
	expect_stdout 'examples:'
done

finish
