#!/bin/bash
# botify simulate: summaries, logs, reproducibility, experiments.
. "$(dirname "$0")/lib.sh"

W="$DATA_DIR/e2e/world"
strip_latency() { sed -E 's/"latency": [^,]*,//'; }

check "simulate prints a per-arm summary"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 200 --recommender random --seed 5
expect_stdout '^\| arm \| recommender \| episodes \| tracks/session'
expect_stdout '^\| - \| random \| 200 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| 0 \|$'
expect_stderr 'episodes/s'

check "the built-in world is used without --world"
expect_exit 0 "$BOTIFY" simulate --episodes 100 --recommender sticky_artist --seed 31337
expect_stderr 'built-in world \(seed 1\)'

check "a plain log has one JSON line per call, next rows then one last row per session"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 100 --recommender sticky_artist --seed 1 --log "$T/a.jsonl"
expect_stderr "log: $T/a.jsonl \([0-9]+ rows\)"
expect_eq 100 "$(grep -c '"message": "last"' "$T/a.jsonl")" "last rows"
head -n 1 "$T/a.jsonl" | grep -Eq '^\{"message": "next", "timestamp": 1700000000000, "user": [0-9]+, "track": [0-9]+, "time": 1.0, "latency": [0-9.e-]+, "recommendation": [0-9]+, "experiments": \{\}\}$' ||
	fail "first row has an unexpected shape: $(head -n 1 "$T/a.jsonl")"

check "a .gz log is gzip and holds the same rows"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 100 --recommender sticky_artist --seed 1 --log "$T/a.jsonl.gz"
gzip -t "$T/a.jsonl.gz" || fail "not a valid gzip file"
diff <(strip_latency <"$T/a.jsonl") <(zcat "$T/a.jsonl.gz" | strip_latency) >/dev/null || fail "gz rows differ from plain rows"

check "the same seed gives the same log for 1, 2 and 3 threads"
for th in 1 2 3; do
	expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 1500 --experiment AB --arms C=random,T1=sticky_artist \
		--seed 9 --threads $th --log "$T/t$th.jsonl"
	strip_latency <"$T/t$th.jsonl" >"$T/t$th.txt"
done
cmp -s "$T/t1.txt" "$T/t2.txt" || fail "threads 1 and 2 differ"
cmp -s "$T/t1.txt" "$T/t3.txt" || fail "threads 1 and 3 differ"

check "the summary is identical for any thread count"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 3000 --recommender random --seed 4 --threads 1 --format json
sed -E 's/"(threads|load_seconds|prepare_seconds|loop_seconds|episodes_per_second|steps_per_second)": [0-9.]+,//g' "$OUT" >"$T/s1"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 3000 --recommender random --seed 4 --threads 2 --format json
sed -E 's/"(threads|load_seconds|prepare_seconds|loop_seconds|episodes_per_second|steps_per_second)": [0-9.]+,//g' "$OUT" >"$T/s2"
cmp -s "$T/s1" "$T/s2" || fail "json summaries differ: $(diff "$T/s1" "$T/s2")"

check "another seed gives another log"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 1500 --experiment AB --arms C=random,T1=sticky_artist --seed 10 --log "$T/s10.jsonl"
! cmp -s "$T/t1.txt" <(strip_latency <"$T/s10.jsonl") || fail "seeds 9 and 10 gave the same log"

check "timestamps increase by one ms per row, shifted by --day"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 50 --recommender random --day 2 --log "$T/d2.jsonl"
first=$(head -n 1 "$T/d2.jsonl" | sed -E 's/.*"timestamp": ([0-9]+).*/\1/')
last=$(tail -n 1 "$T/d2.jsonl" | sed -E 's/.*"timestamp": ([0-9]+).*/\1/')
rows=$(wc -l <"$T/d2.jsonl")
expect_eq $((1700000000000 + 2 * 86400000)) "$first" "first timestamp of day 2"
expect_eq $((first + rows - 1)) "$last" "last timestamp"

check "every row carries its arm, and each user stays in one arm"
run awk '{match($0, /"user": [0-9]+/); u=substr($0, RSTART+8, RLENGTH-8); match($0, /"AB": "[A-Z0-9]+"/); a=substr($0, RSTART, RLENGTH);
	if (a == "") { print "row without arm"; exit 1 } if (u in arm && arm[u] != a) { print "user " u " in two arms"; exit 1 } arm[u] = a }' "$T/t1.jsonl"
expect_eq 0 "$_last_rc" "arm consistency"

check "arms follow the service's murmur3 split (experiment AA, 2 arms)"
# tests/data/murmur3/arms.txt was computed independently, by a pure-Python
# MurmurHash3 checked against published vectors: "EXP N_ARMS SEED USER ARM"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 400 --experiment AA --arms C=random,T1=random --log "$T/aa.jsonl"
seen=0
while read -r exp narms seed user arm; do
	[ "$exp" = AA ] && [ "$narms" = 2 ] || continue
	want=C
	[ "$arm" = 0 ] || want="T$arm"
	got=$(grep -m1 "\"user\": $user," "$T/aa.jsonl" | sed -E 's/.*"AA": "([A-Z0-9]+)".*/\1/')
	[ -n "$got" ] || continue
	seen=$((seen + 1))
	expect_eq "$want" "$got" "arm of user $user"
done <"$DATA_DIR/murmur3/arms.txt"
[ "$seen" -ge 20 ] || fail "only $seen users of the fixture appeared in the log"

check "an existing log is not overwritten without --force"
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender random --log "$T/a.jsonl"
expect_stderr "exists \(use --force to replace it\)"
expect_one_line_error
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 10 --recommender random --log "$T/a.jsonl" --force
expect_eq 10 "$(grep -c '"message": "last"' "$T/a.jsonl")" "last rows after --force"

check "--max-steps caps sessions and reports how many"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 200 --recommender sticky_artist --max-steps 2 --format json
expect_stdout '"capped": [1-9][0-9]*'
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 200 --recommender sticky_artist --max-steps 2
expect_stderr 'sessions reached --max-steps 2 and were cut'

check "--config swaps the user-model defaults"
echo '{"session_budget": 1, "interest_neighbours": 1}' >"$T/cfg.json"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --recommender random --config "$T/cfg.json" --format json
expect_stdout '"arms": \['
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --recommender random --format json
# with a budget of one, a session lasts until the first skip: fewer steps
steps_default=$(sed -E 's/.*"steps": ([0-9]+), "rows".*/\1/' "$OUT")
"$BOTIFY" simulate --world "$W" --episodes 300 --recommender random --config "$T/cfg.json" --format json >"$T/cfg.out"
steps_cfg=$(sed -E 's/.*"steps": ([0-9]+), "rows".*/\1/' "$T/cfg.out")
[ "$steps_cfg" -lt "$steps_default" ] || fail "budget 1 did not shorten sessions ($steps_cfg vs $steps_default)"

check "an experiment needs its arms; --recommender excludes --experiment"
expect_exit 2 "$BOTIFY" simulate --episodes 10 --experiment AB
expect_stderr 'needs --arms'
expect_exit 2 "$BOTIFY" simulate --episodes 10 --recommender random --experiment AB --arms C=random
expect_stderr 'exclusive'
expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 10 --experiment AB --arms C=random,T2=random
expect_stderr "arm 'T2' given but 'T1' missing"

check "--format json is valid JSON"
if command -v python3 >/dev/null; then
	expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 100 --experiment AB --arms C=random,T1=toppop --format json
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [a["arm"] for a in d["arms"]] == ["C","T1"]' "$OUT" ||
		fail "json summary does not parse"
else
	skip "python3 not installed"
fi

finish
