#!/bin/bash
# botify ab on hand-written logs: tables against pandas+scipy to 1e-9
# relative (tests/data/ab/gen_ab_fixtures.py made the notebook's tables,
# gen_ab_design_fixtures.py the delta-method and paired ones), the original
# service's log format, several files, shuffled rows.
. "$(dirname "$0")/lib.sh"

D="$DATA_DIR/ab"

# cmp_csv EXPECTED GOT [TOL]: same rows and columns; numbers equal to TOL
# (1e-9) relative, words and "nan" equal exactly. Prints the largest error.
cmp_csv() {
	awk -F, -v tol="${3:-1e-9}" 'NR == FNR { want[FNR] = $0; n = FNR; next }
	{
		if (!(FNR in want)) { print "extra row " FNR; bad = 1; next }
		ne = split(want[FNR], e, ",")
		if (NF != ne) { print "row " FNR ": " NF " fields, expected " ne; bad = 1; next }
		for (i = 1; i <= NF; i++) {
			if (e[i] == $i) continue
			num = "^-?[0-9.]+([eE][-+]?[0-9]+)?$"
			if (e[i] ~ num && $i ~ num) {
				d = e[i] - $i; if (d < 0) d = -d
				m = e[i] < 0 ? -e[i] : e[i]
				if (d <= tol * m) { if (m > 0 && d / m > worst) worst = d / m; continue }
			}
			print "row " FNR " field " i ": expected " e[i] ", got " $i; bad = 1
		}
	}
	END {
		if (FNR != n) { print "got " FNR " rows, expected " n; bad = 1 }
		printf "max relative error %.3g\n", worst
		exit bad
	}' "$1" "$2"
}

# check_table EXPECTED ARGS...: runs botify ab --format csv and compares
# the expected table's columns (botify's csv has more after them). The
# notebook's fixtures need --ci notebook; delta is botify's default.
check_table() {
	local want=$1 nf
	shift
	case $want in *.delta.*) ;; *) set -- "$@" --ci notebook ;; esac
	expect_exit 0 "$BOTIFY" ab "$@" --format csv
	nf=$(head -n 1 "$want" | awk -F, '{ print NF }')
	cut -d, -f"1-$nf" "$OUT" >"$T/got.csv"
	cmp_csv "$want" "$T/got.csv" >"$T/cmp.txt" || fail "table differs: $(cat "$T/cmp.txt")"
}

check "a log in the service's format matches pandas+scipy (three arms, other experiments, extra fields, null recommendations)"
check_table "$D/service.expected.csv" --log "$D/service.jsonl" --experiment AB
expect_stderr "3 rows without experiment 'AB' left out \(2 of them belong to other experiments\)"
expect_stderr "17 unfinished sessions \(88 rows without a 'last' row\) left out; 2 users had no finished session"

check "the same numbers with all-scipy quantiles to 1e-8 (scipy's t.ppf is off by ~1e-9 itself)"
expect_exit 0 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --format csv --ci notebook
cut -d, -f1-10 "$OUT" >"$T/got.csv"
cmp_csv "$D/service.scipy.csv" "$T/got.csv" 1e-8 >"$T/cmp.txt" || fail "differs from scipy: $(cat "$T/cmp.txt")"

check "shuffled rows give the same table (sessions rebuilt in timestamp order)"
check_table "$D/service.expected.csv" --log "$D/shuffled.jsonl" --experiment AB
expect_stderr "rows came earlier than their user's previous row; sessions were rebuilt in timestamp order"

check "two logs, one gzip, give the table of their union"
check_table "$D/service.expected.csv" --log "$D/part1.jsonl" --log "$D/part2.jsonl.gz" --experiment AB

check "--treatment T2 --alpha 0.1"
check_table "$D/service.T2.alpha01.expected.csv" --log "$D/service.jsonl" --experiment AB --treatment T2 --alpha 0.1

check "--control T1 --treatment C,T2"
check_table "$D/service.T1ctl.expected.csv" --log "$D/service.jsonl" --experiment AB --control T1 --treatment C,T2

check "zero variance in both arms gives nan bounds and not significant, as pandas does"
check_table "$D/one_session.expected.csv" --log "$D/one_session.jsonl" --experiment AB
grep -q '^T1,sessions,0,nan,nan,1,1,False' "$T/got.csv" || fail "sessions row: $(grep sessions "$T/got.csv")"

check "a sample-ratio mismatch is a warning on stderr and a field in JSON"
check_table "$D/srm.expected.csv" --log "$D/srm.jsonl" --experiment AB
expect_exit 0 "$BOTIFY" ab --log "$D/srm.jsonl" --experiment AB --format json
expect_stderr "warning: sample ratio mismatch: users per arm C 150, T1 50"
expect_stdout '"srm": true'
read -r _chi p <"$D/srm.expected.txt"
got_p=$(sed -nE '1,3s/.*"srm_p": ([0-9.e+-]+).*/\1/p' "$OUT" | head -n 1)
awk -v a="$p" -v b="$got_p" 'BEGIN { d = (a - b) / a; exit !(d < 1e-9 && d > -1e-9) }' ||
	fail "srm p-value $got_p, scipy says $p"

check "delta-method intervals (the default) match numpy+scipy on a split log"
check_table "$D/service.delta.expected.csv" --log "$D/service.jsonl" --experiment AB
expect_stdout ',delta,split$'

check "a paired log is detected, and its paired t and delta intervals match numpy+scipy"
check_table "$D/paired.delta.expected.csv" --log "$D/paired.jsonl" --experiment AB
expect_stdout ',delta,paired$'
expect_stderr "2 users without a finished session in every analysed arm left out of the pairs"
check_table "$D/paired.notebook.expected.csv" --log "$D/paired.jsonl" --experiment AB --design paired
expect_exit 0 "$BOTIFY" ab --log "$D/paired.jsonl" --experiment AB
expect_stdout '^design paired \(detected: every user is in every arm\), per-user pairs$'
expect_no_stderr "appear in more than one arm"

check "--design split on a paired log analyses the arms as independent samples"
expect_exit 0 "$BOTIFY" ab --log "$D/paired.jsonl" --experiment AB --design split --format csv
expect_stdout ',delta,split$'
expect_stderr "users appear in more than one arm"

check "--design paired on a log that is not paired: one line, exit 2"
expect_exit 2 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --design paired
expect_one_line_error
expect_stderr "the data is not paired: [0-9]+ users of the analysed arms \(C, T1, T2\) have no rows in another"

check "no mismatch warning on a balanced split"
expect_exit 0 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB --format json
expect_no_stderr "sample ratio mismatch"
expect_stdout '"srm": false'

check "json rows carry the original analysis's keys, the absolute difference, p-values and per-arm summaries"
for k in treatment metric effect lower upper control_mean treatment_mean significant n_control n_treatment srm_p \
	diff diff_lower diff_upper p p_adjusted effect_se design ci correction arms users sessions mean; do
	grep -q "\"$k\": " "$OUT" || fail "missing key $k"
done
[ "$(grep -c '"metric": ' "$OUT")" = 10 ] || fail "expected 10 rows"

check "the markdown table has the original's columns (the interval lower, upper) and metric order"
expect_exit 0 "$BOTIFY" ab --log "$D/service.jsonl" --experiment AB
expect_stdout '^\| treatment \| metric \| effect \| lower \| upper \| control_mean \| treatment_mean \| significant \| n_control \| n_treatment \| p \|$'
order=$(grep -E '^\| T1 \| [a-z_]+ \|' "$OUT" | cut -d'|' -f3 | tr -d ' ' | paste -sd,)
expect_eq "time,sessions,mean_request_latency,mean_tracks_per_session,mean_time_per_session" "$order" "metric order"

finish
