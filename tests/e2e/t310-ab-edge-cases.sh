#!/bin/bash
# botify ab: edge cases with clear messages, usage errors, the CI gate's
# exit codes in a shell pipeline.
. "$(dirname "$0")/lib.sh"

D="$DATA_DIR/ab"

check "an arm with fewer than 2 users is an error naming the arm"
expect_exit 2 "$BOTIFY" ab --log "$D/single_user_arm.jsonl" --experiment AB
expect_stderr "arm 'T1' has 1 user with a finished session; a variance needs at least 2"
expect_one_line_error

check "a log without 'last' rows is an error that says so"
expect_exit 2 "$BOTIFY" ab --log "$D/no_last.jsonl" --experiment AB
expect_stderr "no finished sessions: none of the [0-9]+ rows is a 'last' row"
expect_one_line_error

check "a zero control mean leaves the effect undefined, with a warning"
expect_exit 0 "$BOTIFY" ab --log "$D/zero_control.jsonl" --experiment AB
expect_stderr "warning: the control mean of 'time' is 0: its effect in % is undefined"
expect_stdout '^\| T1 \| time \| n/a \| n/a \| n/a \| 0.000 \|'
expect_exit 0 "$BOTIFY" ab --log "$D/zero_control.jsonl" --experiment AB --format json
expect_stdout '"metric": "time", "effect": null, "lower": null, "upper": null, "effect_se": null, "diff": [0-9.]+, .*"control_mean": 0,'

check "a zero control mean still gates on the direction of the difference"
expect_exit 0 "$BOTIFY" ab --log "$D/zero_control.jsonl" --experiment AB --require 'time>0'
expect_exit 1 "$BOTIFY" ab --log "$D/zero_control.jsonl" --experiment AB --require 'time<0'
expect_stderr "requirement 'time<0' failed for T1: effect n/a \(control mean 0\)"

check "an experiment missing from the log is an error"
expect_exit 2 "$BOTIFY" ab --log "$D/other_only.jsonl" --experiment AB
expect_stderr "no rows of experiment 'AB' in .*other_only.jsonl \(2 rows read; experiments and arms there: AA:C\)"
expect_one_line_error

check "unknown arm names in --control and --treatment"
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --treatment T7
expect_stderr "treatment arm 'T7' is not in the data \(arms: C, T1, T2\)"
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --control T5
expect_stderr "control arm 'T5' is not in the data \(arms: C, T1, T2\)"
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --treatment X1
expect_stderr "unknown arm 'X1'"
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --control T1 --treatment T1
expect_stderr "arm 'T1' is both the control and a treatment"

check "bad usage exits 2 with a hint"
expect_exit 2 "$BOTIFY" ab --experiment AB
expect_stderr "give --control SPEC --treatment SPEC to run an experiment, --log FILE... --experiment NAME"
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl"
expect_stderr "--experiment NAME is required"
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --format xml
expect_stderr "--format must be md, json or csv"
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --alpha 2
expect_stderr "--alpha 2 is out of range"
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --require 'speed>0'
expect_stderr "unknown metric 'speed'"
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --require 'time>1'
expect_stderr "the bound must be 0"
expect_exit 2 "$BOTIFY" ab --control random --episodes 10
expect_stderr "--control SPEC needs --treatment SPEC"

check "bad analysis options: one line each, exit 2"
for args in "--power" "--mde 2" "--correction bonferroni" "--ci wald" "--design crossover" \
	"--metrics time,latency" "--plot x.png" "--power --mde 2 --format csv"; do
	# shellcheck disable=SC2086
	expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB $args
	expect_one_line_error
done
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --power
expect_stderr "--power needs --mde PCT"
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --correction bonferroni
expect_stderr "--correction must be none, holm or bh, not 'bonferroni'"
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --metrics time,latency
expect_stderr "--metrics: unknown metric 'latency'"
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --metrics time --require 'sessions>=0'
expect_stderr "its metric is not in --metrics"

check "--correction holm adjusts over the table's rows and decides with the adjusted p"
expect_exit 0 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --correction holm --format csv
awk -F, 'NR > 1 && $14 != "nan" { if ($15 + 0 < $14 + 0) bad = 1; if (($8 == "True") != ($15 + 0 < 0.05)) bad = 1 }
	END { exit bad }' "$OUT" || fail "adjusted p below raw p, or a decision not from the adjusted p: $(cat "$OUT")"
expect_exit 0 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --correction holm
expect_stdout "significance after Holm's correction over the 10 rows"
expect_stdout '\| p \| p_adjusted \|$'

check "--power from a log: one line per row with the sessions needed"
expect_exit 0 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --power --mde 5 --metrics mean_time_per_session
expect_stdout '^power: T1 mean_time_per_session: a 5% effect needs about [0-9]+ sessions per arm for 80% power at alpha 0.05 \(--episodes [0-9]+ --design split\)'
expect_stdout '^power: T2 mean_time_per_session: '

check "a missing log and a malformed row name the file and line"
expect_exit 2 "$BOTIFY" ab --log "$T/missing.jsonl" --experiment AB
expect_stderr "cannot open '.*missing.jsonl'"
head -n 3 "$D/service.jsonl" >"$T/bad.jsonl"
echo '{"message": "next", "timestamp": 5, "user": 1, "track": 2, "time": "x", "latency": 0.1}' >>"$T/bad.jsonl"
expect_exit 2 "$BOTIFY" ab --log "$T/bad.jsonl" --experiment AB
expect_stderr "bad.jsonl:4: 'time' must be a finite number"
expect_one_line_error
printf '{"message": "next", "timestamp": 5, "user": 1,\n' >"$T/cut.jsonl"
expect_exit 2 "$BOTIFY" ab --log "$T/cut.jsonl" --experiment AB
expect_stderr "cut.jsonl:1: malformed JSON near byte"

check "the gate: exit 0 when every requirement holds"
expect_exit 0 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --require 'mean_request_latency>0' --require 'mean_time_per_session>=0'
expect_no_stderr "requirement"

check "the gate: exit 1 naming the failing rows"
expect_exit 1 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --require 'time>=0' --require 'mean_request_latency!=0'
expect_stderr "requirement 'time>=0' failed for T1: effect -46.325% \[-71.391%, -21.260%\], significant"
expect_no_stderr "failed for T2"
expect_stdout '^\| T1 \| time \|'
expect_exit 1 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --require 'mean_time_per_session > 0'
expect_stderr "requirement 'mean_time_per_session>0' failed for T1"
expect_stderr "requirement 'mean_time_per_session>0' failed for T2"
expect_exit 0 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --require 'mean_time_per_session<=0' --require 'sessions<0' --treatment T1

check "the gate in a shell pipeline: && and || see the exit status"
if "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --require 'time>0' --format json >"$T/g.json" 2>"$T/g.err"; then
	fail "a failing gate passed"
else
	expect_eq 1 $? "exit status"
fi
"$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --require 'time!=0' --treatment T1 --format csv 2>/dev/null |
	grep -q '^T1,time,' || fail "pipeline output"
[ "${PIPESTATUS[0]}" = 0 ] || fail "exit ${PIPESTATUS[0]} for a gate that holds"
"$BOTIFY" ab --log "$D/no_last.jsonl" --experiment AB --require 'time>0' >/dev/null 2>&1
expect_eq 2 $? "bad input beats the gate"

check "an experiment name with quotes and backslashes stays valid JSON"
"$BOTIFY" simulate --episodes 300 --experiment AB --arms C=random,T1=sticky_artist --log "$T/q0.jsonl" >/dev/null 2>&1
sed 's/"AB"/"A\\"B\\\\"/' "$T/q0.jsonl" >"$T/q.jsonl"
expect_exit 0 "$BOTIFY" ab --log "$T/q.jsonl" --experiment 'A"B\' --format json
expect_stdout '"experiment": "A\\"B\\\\"'
if /usr/bin/python3 -c 'import json' 2>/dev/null; then
	/usr/bin/python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["experiment"] == "A\"B\\"' "$OUT" ||
		fail "not the JSON for the name: $(head -c 200 "$OUT")"
fi

finish
