#!/bin/bash
# botify train: --split-out / --split reproduce a run on the same pairs,
# --threads does not change the model, --plot draws the curves, a loss that
# becomes non-finite is an error (exit 2) with no model written.
. "$(dirname "$0")/lib.sh"

W="$T/world"
tiny_world "$W"
"$BOTIFY" simulate --world "$W" --episodes 400 --recommender sticky_artist --log "$T/s.jsonl" >/dev/null ||
	{ echo "simulate failed" >&2; exit 1; }
SMALL=(--world "$W" --log "$T/s.jsonl" --emb 4 --hidden 8 --out 4 --epochs 4 --batch 128 --negatives 1)

same_model() { # dir1 dir2: every tensor file byte-identical
	local f
	for f in "$1"/*.npy; do
		cmp -s "$f" "$2/$(basename "$f")" || return 1
	done
}

check "--split-out writes the split; --split on it trains the same model"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --model "$T/a" --split-out "$T/split.json" --threads 1
expect_file "$T/split.json"
grep -q '"train": \[' "$T/split.json" || fail "no train indices in split.json"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --model "$T/b" --split "$T/split.json" --threads 1
assert same_model "$T/a" "$T/b"

check "the model is the same for 1, 2 and 3 threads"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --model "$T/t2" --threads 2
assert same_model "$T/a" "$T/t2"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --model "$T/t3" --threads 3 --optimizer lazy-adam
assert same_model "$T/a" "$T/t3"

check "--optimizer adam trains another model"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --model "$T/dense" --optimizer adam
same_model "$T/a" "$T/dense" && fail "dense Adam gave the lazy model"
grep -q '"optimizer":[[:space:]]*"adam"' "$T/dense/config.json" || fail "config.json does not name the optimizer"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --model "$T/x" --optimizer sgd
expect_stderr 'lazy-adam or adam'

check "a split of other logs is refused with the file named"
"$BOTIFY" simulate --world "$W" --episodes 100 --recommender random --log "$T/r.jsonl" >/dev/null
expect_exit 2 "$BOTIFY" train --world "$W" --log "$T/r.jsonl" --model "$T/x" --epochs 1 --split "$T/split.json"
expect_stderr '^botify: .*split\.json: .*other logs'
expect_no_file "$T/x"
echo '{"pairs": 3, "train": [0], "val": [1], "test": [7]}' >"$T/bad.json"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --model "$T/x" --split "$T/bad.json"
expect_stderr 'bad\.json: "test" item 0'
expect_no_file "$T/x"

check "--split-out refuses an existing file unless --force"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --model "$T/x" --split-out "$T/split.json"
expect_stderr 'split\.json.* exists'
expect_no_file "$T/x"

check "--plot draws the curves with the baselines and the best epoch"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --model "$T/p" --plot "$T/curves.svg"
expect_file "$T/curves.svg"
grep -q '^<svg ' "$T/curves.svg" || fail "not an SVG"
for want in 'best epoch [1-4]<' '>avg 0\.[0-9]+<' 'rdm 0\.[0-9]+<' 'validation MSE' 'train MSE'; do
	grep -Eq "$want" "$T/curves.svg" || fail "curves.svg lacks /$want/"
done
[ "$(grep -c '<polyline' "$T/curves.svg")" = 3 ] || fail "expected train, val and val+negatives lines"
if command -v rsvg-convert >/dev/null; then
	rsvg-convert -o "$T/curves.png" "$T/curves.svg" || fail "rsvg-convert cannot render it"
fi
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --model "$T/q" --plot "$T/curves.png"
expect_stderr 'must end in \.svg'
expect_no_file "$T/q"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --model "$T/q" --plot "$T/curves.svg"
expect_stderr 'curves\.svg.* exists'

check "logs of one policy switch negatives on; mixed logs and --negatives 0 do not"
expect_exit 0 "$BOTIFY" train --world "$W" --log "$T/s.jsonl" --model "$T/auto" --epochs 1
expect_stderr "of the pairs stay with the start's artist .*--negatives 1 --emb 64 --hidden 128 --out 64"
grep -Eq '"negatives":[[:space:]]*1' "$T/auto/config.json" || fail "config.json: negatives is not 1"
grep -Eq '"emb":[[:space:]]*64' "$T/auto/config.json" || fail "config.json: emb is not 64"
expect_exit 0 "$BOTIFY" train --world "$W" --log "$T/s.jsonl" --model "$T/auto8" --epochs 1 --emb 8
expect_stderr "stay with the start's artist .*--negatives 1 \(give"
grep -Eq '"emb":[[:space:]]*8' "$T/auto8/config.json" || fail "config.json: --emb 8 was not kept"
expect_exit 0 "$BOTIFY" train --world "$W" --log "$T/s.jsonl" --model "$T/none" --epochs 1 --negatives 0
expect_no_stderr "stay with the start's artist"
grep -Eq '"negatives":[[:space:]]*0' "$T/none/config.json" || fail "config.json: negatives is not 0"
expect_exit 0 "$BOTIFY" train --world "$W" --log "$T/s.jsonl" "$T/r.jsonl" --model "$T/mixed" --epochs 1
expect_no_stderr "stay with the start's artist"

check "a model that does not beat the avg baseline is saved with a warning that says what to try"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --model "$T/weak" --lr 1e-12 --epochs 1
expect_stderr "^botify: train: warning: the model's test MSE [0-9.]+ does not beat the 'avg' baseline"
expect_stderr "try: more --epochs or a higher --lr \(this run's 1e-12\)"
expect_file "$T/weak/config.json"

check "the weak-model hint fits the model trained: no --negatives 1 to a run with negatives, no two-tower to a two-tower"
# SMALL trains a two-tower with --negatives 1
expect_no_stderr "try:.*--negatives 1"
expect_no_stderr "try:.*--arch two-tower"
expect_stderr "logs with random traffic besides this policy's"
expect_exit 0 "$BOTIFY" train --world "$W" --log "$T/s.jsonl" --emb 4 --epochs 1 --batch 128 --negatives 0 \
	--arch dot --lr 1e-12 --model "$T/weak-dot"
expect_stderr "try: --negatives 1 if the logs come from one policy; .*--arch two-tower \(this model is dot\)"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --model "$T/weak-high" --lr 5 --epochs 6 --lr-patience 0 --patience 1
expect_stderr "does not beat the 'avg' baseline"
expect_stderr "try: a lower --lr \(this run's 5\)"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --model "$T/fine" --lr 0.01 --epochs 30
expect_no_stderr "does not beat"

check "a listen time that overflows is an error, and no model is written"
{ head -n 40 "$T/s.jsonl"; sed -n 41p "$T/s.jsonl" | sed -E 's/"time": [0-9.e-]+/"time": 1e300/'; sed -n '42,$p' "$T/s.jsonl"; } >"$T/huge.jsonl"
grep -q '1e300' "$T/huge.jsonl" || fail "test set-up: no row was changed"
expect_exit 2 "$BOTIFY" train --world "$W" --log "$T/huge.jsonl" --model "$T/h" --epochs 2
expect_stderr '^botify: .*(huge\.jsonl|non-finite)'
[ "$(grep -c '^botify: ' "$ERR")" = 1 ] || fail "expected one error line"
expect_no_file "$T/h"

finish
