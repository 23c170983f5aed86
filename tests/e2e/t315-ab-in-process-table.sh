#!/bin/bash
# botify ab in-process: the default table is the users' metrics only, every
# number reproducible from the seed (the recommender's compute time, which
# is what mean_request_latency measures here, only when named); the paired
# sessions row is explained; the interval columns run lower, upper.
. "$(dirname "$0")/lib.sh"

W="$DATA_DIR/e2e/world"
AB=(ab --world "$W" --control random --treatment sticky_artist --episodes 400 --seed 5)

check "in-process, the default table has no mean_request_latency row and repeats byte for byte"
expect_exit 0 "$BOTIFY" "${AB[@]}" --quiet
expect_no_stdout 'mean_request_latency'
order=$(grep -E '^\| T1 \| (time|sessions|mean_)' "$OUT" | cut -d'|' -f3 | tr -d ' ' | paste -sd,)
expect_eq "time,sessions,mean_tracks_per_session,mean_time_per_session" "$order" "metric order"
cp "$OUT" "$T/first.md"
expect_exit 0 "$BOTIFY" "${AB[@]}" --quiet --threads 2
cmp -s "$T/first.md" "$OUT" || fail "a second run differs: $(diff "$T/first.md" "$OUT")"
expect_exit 0 "$BOTIFY" "${AB[@]}" --quiet --format json
[ "$(grep -c '"metric": ' "$OUT")" = 4 ] || fail "expected 4 json rows"

check "--metrics all (or a list naming it) analyses mean_request_latency in-process"
expect_exit 0 "$BOTIFY" "${AB[@]}" --quiet --metrics all
expect_stdout '^\| T1 \| mean_request_latency \|'
[ "$(grep -cE '^\| T1 \| (time|sessions|mean_)' "$OUT")" = 5 ] || fail "expected 5 rows"
expect_exit 0 "$BOTIFY" "${AB[@]}" --quiet --metrics time,mean_request_latency
[ "$(grep -cE '^\| T1 \| (time|sessions|mean_)' "$OUT")" = 2 ] || fail "expected 2 rows"

check "a --require on latency in-process without --metrics is refused with the hint"
expect_exit 2 "$BOTIFY" "${AB[@]}" --require 'mean_request_latency<=0'
expect_one_line_error
expect_stderr "in-process, mean_request_latency is this machine's time per call.*--metrics all"
run "$BOTIFY" "${AB[@]}" --quiet --metrics all --require 'mean_request_latency<=0'
assert test "$_last_rc" -le 1

check "a kept log re-analysed gives the in-process table plus the latency rows"
expect_exit 0 "$BOTIFY" "${AB[@]}" --quiet --log "$T/ab.jsonl"
grep -E '^\| T1 \| (time|sessions|mean_)' "$OUT" >"$T/inproc.rows"
expect_exit 0 "$BOTIFY" ab --log "$T/ab.jsonl" --experiment AB --quiet
expect_stdout '^\| T1 \| mean_request_latency \|'
grep -E '^\| T1 \| (time|sessions|mean_)' "$OUT" | grep -v '| mean_request_latency |' >"$T/log.rows"
cmp -s "$T/inproc.rows" "$T/log.rows" || fail "rows differ: $(diff "$T/inproc.rows" "$T/log.rows")"

check "the paired sessions row has no interval, and a note says why"
expect_exit 0 "$BOTIFY" "${AB[@]}"
expect_stdout '^\| T1 \| sessions \| 0\.000 \| n/a \| n/a \| [0-9.]+ \| [0-9.]+ \| False \| [0-9]+ \| [0-9]+ \| n/a \|$'
expect_stderr "note: sessions: every user's value is the same in each arm \(a paired run plays each episode under every arm\)"
expect_exit 0 "$BOTIFY" "${AB[@]}" --quiet
expect_no_stderr "every user's value"
expect_exit 0 "$BOTIFY" "${AB[@]}" --design split
expect_no_stderr "every user's value"

check "the markdown table's interval columns run lower, upper (and lower <= effect <= upper)"
expect_exit 0 "$BOTIFY" "${AB[@]}" --quiet --treatment random
expect_stdout '^\| treatment \| metric \| effect \| lower \| upper \| control_mean \|'
bad=$(awk -F' *[|] *' '/^\| T[0-9]+ \| (time|sessions|mean_)/ && $5 != "n/a" && !($5 + 0 <= $4 + 0 && $4 + 0 <= $6 + 0)' "$OUT")
[ -z "$bad" ] || fail "rows out of order: $bad"
[ "$(grep -cE '^\| T[12] \| (time|sessions|mean_)' "$OUT")" = 8 ] || fail "expected 8 rows"

finish
