#!/bin/bash
# The reports' recommenders and the hybrid arch through the binary on a tiny
# world: train -> export -> simulate/ab, determinism across threads, errors.
. "$(dirname "$0")/lib.sh"

W="$T/world"
tiny_world "$W"
SMALL=(--world "$W" --emb 8 --batch 256 --epochs 3 --threads 1)
norm() { sed -E 's/"(threads|load_seconds|prepare_seconds|loop_seconds|episodes_per_second|steps_per_second)": [0-9.]+,//g' "$OUT"; }

check "day-1 logs of random and sticky_artist"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 600 --recommender sticky_artist --seed 1 --log "$T/s.jsonl.gz"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 600 --recommender random --seed 2 --log "$T/r.jsonl"

check "train --arch hybrid writes its user term and exports 50 neighbours"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --log "$T/r.jsonl" "$T/s.jsonl.gz" --model "$T/hyb" --arch hybrid
expect_stdout '^\| hybrid \| [0-9.]+ \|'
expect_file "$T/hyb/user_lin_w.npy"
expect_file "$T/hyb/user_lin_b.npy"
expect_no_file "$T/hyb/ctx_w1.npy"
grep -q '"arch":[[:space:]]*"hybrid"' "$T/hyb/config.json" || fail "config.json lacks arch hybrid"
expect_exit 0 "$BOTIFY" export --world "$W" --model "$T/hyb" --recs "$T/hyb/twr.json" --user-recs "$T/hyb/users.json" --k 50
head -n 1 "$T/hyb/twr.json" | grep -Eq '"recommendations": \[[0-9]+(, [0-9]+){49}\]' || fail "not 50 neighbours"
expect_exit 2 "$BOTIFY" train "${SMALL[@]}" --log "$T/r.jsonl" --model "$T/hyb2" --arch hybrid --out 4
expect_stderr 'has no towers'

check "the hybrid recommender: contextual over the export, then indexed, then toppop"
echo '{"track": 0, "recommendations": [1]}' >"$T/one.json"
echo '{"user": 0, "tracks": [42]}' >"$T/u0.json"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --log "$T/h.jsonl" \
	--recommender "contextual:file=$T/one.json,fallback=\"indexed:file=$T/u0.json,fallback='toppop:log=$T/r.jsonl,k=1'\""
# user 0 with a track other than 0 gets 42; other users the single most popular track
u0=$(grep '"user": 0,' "$T/h.jsonl" | grep '"message": "next"' | grep -v '"track": 0,' | grep -o '"recommendation": [0-9]*' | sort -u | tr '\n' ' ')
[ -z "$u0" ] || expect_eq '"recommendation": 42 ' "$u0" "user 0's fallback"
others=$(grep -v '"user": 0,' "$T/h.jsonl" | grep '"message": "next"' | grep -v '"track": 0,' | grep -o '"recommendation": [0-9]*' | sort -u | wc -l)
expect_eq 1 "$others" "distinct toppop picks of the other users"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 \
	--recommender "contextual:file=$T/hyb/twr.json,fallback=\"indexed:file=$T/hyb/users.json,fallback=toppop:log=$T/r.jsonl\""
expect_stdout '\| contextual:file='

check "ranked_sticky from a model and from user lists; the same log on 1 and 3 threads"
expect_exit 0 "$BOTIFY" train "${SMALL[@]}" --log "$T/r.jsonl" "$T/s.jsonl.gz" --model "$T/tt" --hidden 16 --out 8
expect_exit 0 "$BOTIFY" export --world "$W" --model "$T/tt" --recs "$T/tt/twr.json" --user-recs "$T/tt/users.json" --k 30
for src in "model=$T/tt" "users=$T/tt/users.json"; do
	spec="ranked_sticky:$src,recs=$T/tt/twr.json,t=0.1,p=0.3,k=30"
	expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --recommender "$spec" --threads 3 --seed 5 --format json
	norm >"$T/rs3"
	expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --recommender "$spec" --threads 1 --seed 5 --format json
	norm >"$T/rs1"
	cmp -s "$T/rs1" "$T/rs3" || fail "$src: 1 and 3 threads differ"
done

check "sticky_plus reads likes and dislikes from several logs; the same log on 1 and 3 threads"
spec="sticky_plus:dislikes='$T/r.jsonl,$T/s.jsonl.gz',k=3,recs=$T/tt/twr.json"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --recommender "$spec" --threads 3 --seed 5 --log "$T/sp3.jsonl"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --recommender "$spec" --threads 1 --seed 5 --log "$T/sp1.jsonl"
cmp -s <(sed -E 's/"latency": [^,]*,//' "$T/sp1.jsonl") <(sed -E 's/"latency": [^,]*,//' "$T/sp3.jsonl") || fail "1 and 3 threads differ"
# no track is replayed within a session (sessions here are far shorter than the 64-track memory)
replays=$(awk '{ match($0, /"user": [0-9]+/); u = substr($0, RSTART, RLENGTH); match($0, /"track": [0-9]+/); t = substr($0, RSTART + 9, RLENGTH - 9);
	if (seen[u, t]) n++; seen[u, t] = 1; if ($0 ~ /"last"/) { for (k in seen) { split(k, p, SUBSEP); if (p[1] == u) delete seen[k] } } } END { print n + 0 }' "$T/sp1.jsonl")
expect_eq 0 "$replays" "replays within a session"

check "the reports' recommenders in one experiment"
expect_exit 0 "$BOTIFY" ab --world "$W" --control sticky_artist --treatment "$spec" \
	--treatment "ranked_sticky:model=$T/tt,recs=$T/tt/twr.json" --episodes 600 --seed 7 --plot "$T/ab.svg"
expect_stdout '^\| T2 \| mean_time_per_session \|'
expect_file "$T/ab.svg"

check "bad specs are one-line errors naming the recommender"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender "ranked_sticky:recs=$T/tt/twr.json"
expect_one_line_error
expect_stderr 'ranked_sticky: give model=DIR'
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender "sticky_plus:dislikes=$T/missing.jsonl"
expect_one_line_error
expect_stderr 'missing.jsonl'
echo '{"message": "next", "timestamp": 1, "user": 5, "track": 900, "time": 0.5, "latency": 0}' >"$T/bad.jsonl"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender "sticky_plus:dislikes=$T/bad.jsonl"
expect_stderr 'bad.jsonl:1: track 900 out of range'
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender "contextual:file=$T/one.json,fallback=nope"
expect_stderr "contextual: fallback: unknown recommender 'nope'"

finish
