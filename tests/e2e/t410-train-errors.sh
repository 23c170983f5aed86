#!/bin/bash
# botify train / export / nn on bad input: one-line errors naming the file
# (and line), exit 2, nothing half-written.
. "$(dirname "$0")/lib.sh"

W="$T/world"
tiny_world "$W"
"$BOTIFY" simulate --world "$W" --episodes 300 --recommender sticky_artist --log "$T/s.jsonl" >/dev/null ||
	{ echo "simulate failed" >&2; exit 1; }
SMALL=(--world "$W" --emb 4 --hidden 8 --out 4 --epochs 1)

check "a missing log is named"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --log "$T/missing.jsonl" --model "$T/m"
expect_stderr 'missing\.jsonl'
expect_one_line_error
expect_no_file "$T/m"

check "a malformed log line is named with file:line"
{ head -n 5 "$T/s.jsonl"; echo '{"message": "next", "timestamp": 12,'; } >"$T/bad.jsonl"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --log "$T/bad.jsonl" --model "$T/m"
expect_stderr "bad\.jsonl:6: "
expect_one_line_error

check "a track outside the catalog is named with file:line"
{ head -n 3 "$T/s.jsonl"; sed -n 4p "$T/s.jsonl" | sed -E 's/"track": [0-9]+/"track": 500/'; } >"$T/range.jsonl"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --log "$T/range.jsonl" --model "$T/m"
expect_stderr 'range\.jsonl:4: track 500 out of range'

check "an existing model directory needs --force"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --log "$T/s.jsonl" --model "$T/m"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --log "$T/s.jsonl" --model "$T/m"
expect_stderr "exists \(use --force"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --log "$T/s.jsonl" --model "$T/m" --force

check "usage errors"
expect_exit 2 "$BOTIFY" train --log "$T/s.jsonl"
expect_stderr 'model DIR is required'
expect_exit 2 "$BOTIFY" train --model "$T/x"
expect_stderr 'log FILE is required'
expect_exit 2 "$BOTIFY" train --log "$T/s.jsonl" --model "$T/x" --arch three-tower
expect_stderr "two-tower, dot, sum or hybrid"
expect_exit 2 "$BOTIFY" train --log "$T/s.jsonl" --model "$T/x" --epochs 0
expect_stderr 'epochs 0 is out of range'
expect_exit 2 "$BOTIFY" export --model "$T/m"
expect_stderr 'nothing to write'
expect_no_file "$T/x"

check "a log with too few pairs is an error"
head -n 4 "$T/s.jsonl" >"$T/few.jsonl"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --log "$T/few.jsonl" --model "$T/few"
expect_stderr 'need at least 10'
expect_no_file "$T/few"

cp -r "$T/m" "$T/good"
check "a truncated .npy in the model directory is named"
truncate -s 90 "$T/m/item_w2.npy"
expect_exit 2 "$BOTIFY" export --world "$W" --model "$T/m" --embeddings "$T/v.npy"
expect_stderr 'item_w2\.npy'
expect_one_line_error
expect_no_file "$T/v.npy"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender "nn:model=$T/m"
expect_stderr 'item_w2\.npy'

check "a corrupt .npy header is named"
rm -rf "$T/m" && cp -r "$T/good" "$T/m"
printf 'not a numpy file at all, just text' >"$T/m/start_emb.npy"
expect_exit 2 "$BOTIFY" export --world "$W" --model "$T/m" --embeddings "$T/v.npy"
expect_stderr 'start_emb\.npy'

check "a wrong format_version is refused"
rm -rf "$T/m" && cp -r "$T/good" "$T/m"
sed -i -E 's/"format_version":[[:space:]]*1/"format_version": 99/' "$T/m/config.json"
expect_exit 2 "$BOTIFY" export --world "$W" --model "$T/m" --embeddings "$T/v.npy"
expect_stderr 'config\.json: format_version 99 is not supported'

check "a model from another catalog is refused"
expect_exit 2 "$BOTIFY" export --model "$T/good" --embeddings "$T/v.npy"
expect_stderr 'was trained on a catalog of 500 tracks'
expect_exit 2 "$BOTIFY" simulate --episodes 10 --recommender "nn:model=$T/good"
expect_stderr 'trained on a catalog'

check "nn without model= or with a bad k"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender nn
expect_stderr 'model=DIR'
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender "nn:model=$T/good,k=0"
expect_stderr 'k=0'

finish
