#!/bin/bash
# replicate.sh - the replication report of the five course reports: the whole
# course loop on the built-in world from nothing, then `botify ab` per report
# against the control that report used (paired twin runs, delta-method
# intervals: ab's defaults), arms that take each improvement apart, and the
# other controls as secondary comparisons, at 2000 and at 20 000 episodes
# with a fixed seed.
#
#   scripts/replicate.sh [WORKDIR]
#
# Writes docs/REPLICATION.md and its forest plots docs/replication/*.svg;
# logs, models, exports and raw outputs stay in WORKDIR (default
# build/replicate, replaced piece by piece with --force on every run).
# Env: BOTIFY (default: `make` then build/botify), THREADS (2), DAY1 (100000
# sessions of each day-1 policy), SEED (7, of every experiment), SIZES
# ("2000 20000"), DOCS (docs). About 9 minutes on an idle 2-core machine.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
THREADS=${THREADS:-2}
DAY1=${DAY1:-100000}
SEED=${SEED:-7}
SIZES=${SIZES:-2000 20000}
DOCS=${DOCS:-$REPO/docs}
case $DOCS in /*) ;; *) DOCS=$PWD/$DOCS ;; esac
W=${1:-$REPO/build/replicate}
T_START=$(date +%s)

if [ -z "${BOTIFY:-}" ]; then
	make -C "$REPO" -s all >&2
	BOTIFY=$REPO/build/botify
fi
case $BOTIFY in /*) ;; *) BOTIFY=$PWD/$BOTIFY ;; esac
mkdir -p "$W"/logs "$W"/models "$W"/out "$DOCS"/replication
cd "$W" # specs in the tables use paths relative to WORKDIR

# ---- timing ----
declare -a STEP_NAMES=() STEP_SECS=()
T_STEP=$(date +%s.%N)
T_START=$T_STEP
# day-1 traffic, 6 trainings, 6 exports, 13 experiments per size, Holm, the recommenders alone
STEPS_TOTAL=$((15 + 13 * $(echo $SIZES | wc -w)))
step_done() { # name: prints the step's time, the progress and a rough ETA at the pace so far
	local now
	now=$(date +%s.%N)
	STEP_NAMES+=("$1")
	STEP_SECS+=("$(awk -v a="$T_STEP" -v b="$now" 'BEGIN { printf "%.0f", b - a }')")
	echo "== [${#STEP_NAMES[@]}/$STEPS_TOTAL] $1: ${STEP_SECS[-1]} s ($(awk -v a="$T_START" -v b="$now" \
		-v k="${#STEP_NAMES[@]}" -v n="$STEPS_TOTAL" 'BEGIN { e = b - a; printf "%.0f s so far, eta %.0f s", e, e / k * (n - k) }'))" >&2
	T_STEP=$now
}
B() { "$BOTIFY" "$@"; }

# ---- 1. day-1 traffic ----
echo "== day-1 traffic: $DAY1 random + $DAY1 sticky_artist sessions" >&2
B simulate --episodes "$DAY1" --recommender random --seed 2 --threads "$THREADS" \
	--log logs/random.jsonl.gz --force >/dev/null
B simulate --episodes "$DAY1" --recommender sticky_artist --seed 1 --threads "$THREADS" \
	--log logs/sticky.jsonl.gz --force >/dev/null
LOGS=(logs/random.jsonl.gz logs/sticky.jsonl.gz)
step_done "day-1 traffic (2 x $DAY1 sessions)"

# ---- 2. models ----
# name arch flags...: trains models/NAME on both logs, keeps stdout/stderr
train() {
	local name=$1
	shift
	echo "== train $name: $*" >&2
	B train --log "${LOGS[@]}" --model "models/$name" --threads "$THREADS" --force "$@" \
		>"out/train-$name.out" 2>"out/train-$name.err"
	echo "$*" >"out/train-$name.flags"
	step_done "train $name"
}
train two-tower --arch two-tower
train sum --arch sum --emb 64 --lr 0.01 --batch 2048 --epochs 30
train sum-report --arch sum --emb 64 --lr 0.05 --batch 2048 --epochs 8
train hybrid --arch hybrid --emb 64 --lr 0.001
train sum-emb32 --arch sum --emb 32 --lr 0.01 --batch 2048 --epochs 30
train dot --arch dot

# ---- 3. exports ----
export_model() { # name k user-recs(0/1) [file name of the track lists]
	local m=models/$1 extra=()
	[ "$3" = 1 ] && extra=(--user-recs "$m/recommendations.json")
	B export --model "$m" --recs "$m/${4:-tracks_with_recs.json}" "${extra[@]}" --k "$2" \
		--threads "$THREADS" --force >/dev/null 2>&1
	step_done "export $1 (k $2)"
}
export_model two-tower 100 1
export_model sum 100 0
export_model hybrid 50 1
export_model dot 100 0
# the neighbour count of report 003 apart from its model
export_model hybrid 100 0 tracks_with_recs_k100.json
export_model dot 50 0 tracks_with_recs_k50.json

TT=models/two-tower
CONTEXTUAL="contextual:file=$TT/tracks_with_recs.json"
DSSM="indexed:file=$TT/recommendations.json"
HYBRID_REC="contextual:file=models/hybrid/tracks_with_recs.json,fallback=\"indexed:file=models/hybrid/recommendations.json,fallback=toppop\""
DISLIKES="dislikes='logs/random.jsonl.gz,logs/sticky.jsonl.gz'"
SEMINAR="contextual:file=models/dot/tracks_with_recs.json"

HYBRID_K100="contextual:file=models/hybrid/tracks_with_recs_k100.json"
SEMINAR_K50="contextual:file=models/dot/tracks_with_recs_k50.json"
RS_USERS="ranked_sticky:users=$TT/recommendations.json,recs=$TT/tracks_with_recs.json,t=0.1,p=0.3"
RS_ORDER="ranked_sticky:users=$TT/recommendations.json,recs=$TT/tracks_with_recs.json,t=0,p=0.3"
RS_MODEL="ranked_sticky:model=$TT,recs=$TT/tracks_with_recs.json,t=0.1,p=0.3"
NN_TT="nn:model=$TT"
NN_DOT="nn:model=models/dot"
SUM_CTX="contextual:file=models/sum/tracks_with_recs.json"
NN_SUM="nn:model=models/sum"
STICKY_PLUS="sticky_plus:$DISLIKES,k=3,recs=$TT/tracks_with_recs.json"
STICKY_PLUS0="$STICKY_PLUS,mix=0"
NO_REPLAY="sticky_artist:no_replay=1"

# ---- 4. experiments ----
# id keep-log(0/1) control treatment...: one botify ab per size, with ab's
# default design and interval (paired twin runs, delta method) and every
# metric (the reports claim latencies too); a kept log is analysed again
# below under Holm's correction
run_ab() {
	local id=$1 keep=$2 control=$3 n
	shift 3
	local args=() logargs=()
	for t in "$@"; do args+=(--treatment "$t"); done
	for n in $SIZES; do
		logargs=()
		[ "$keep" = 1 ] && logargs=(--log "logs/ab-$id-$n.jsonl.gz")
		echo "== A/B $id, $n episodes" >&2
		B ab --control "$control" "${args[@]}" --episodes "$n" --seed "$SEED" --threads "$THREADS" --metrics all \
			"${logargs[@]}" --plot "$DOCS/replication/$id-$n.svg" --force >"out/ab-$id-$n.md" 2>"out/ab-$id-$n.err"
		step_done "A/B $id, $n episodes"
	done
}
# each report against its own control: its treatment (T1), then the arms that
# take the improvement apart
run_ab 000 1 "$SEMINAR" "$NN_TT" "$NN_DOT"
run_ab 001 0 "$DSSM" "$RS_USERS" "$RS_ORDER" "$RS_MODEL"
run_ab 002 0 "$SEMINAR" "$SUM_CTX" "$NN_SUM"
run_ab 003 1 "$SEMINAR" "$HYBRID_REC" "$HYBRID_K100" "$SEMINAR_K50"
run_ab 004 0 sticky_artist "$STICKY_PLUS" "$STICKY_PLUS0" "$NO_REPLAY"
# the last part of an improvement: the full arm against the arm that has
# everything else
run_ab 000-parts 0 "$NN_DOT" "$NN_TT"
run_ab 001-parts 0 "$RS_ORDER" "$RS_USERS"
run_ab 001-model-parts 0 "$NN_TT" "$RS_MODEL"
run_ab 003-parts 0 "$SEMINAR_K50" "$HYBRID_REC"
run_ab 004-parts 0 "$NO_REPLAY" "$STICKY_PLUS" "$STICKY_PLUS0"
# the secondary control: this project's contextual recommender (the two-tower's export)
run_ab 000-contextual 0 "$CONTEXTUAL" "$NN_TT"
run_ab 002-contextual 0 "$CONTEXTUAL" "$SUM_CTX" "$NN_SUM"
run_ab 003-contextual 0 "$CONTEXTUAL" "$HYBRID_REC"

# ---- 5. several claims: Holm's correction over the report's table ----
# (its treatment's five metrics against its control, from the kept log)
for id in 000 003; do
	for n in $SIZES; do
		B ab --log "logs/ab-$id-$n.jsonl.gz" --experiment AB --treatment T1 --correction holm \
			>"out/holm-$id-$n.md" 2>"out/holm-$id-$n.err"
	done
done
step_done "Holm's correction (000, 003)"

# ---- 6. every recommender alone ----
ALONE_N=20000
ALONE=(random toppop sticky_artist "$NO_REPLAY" "$SEMINAR" "$SEMINAR_K50" "$CONTEXTUAL"
	"$DSSM" "$NN_TT" "$NN_DOT" "$RS_USERS" "$RS_ORDER" "$RS_MODEL"
	"$NN_SUM" "$SUM_CTX" "nn:model=models/sum-report" "nn:model=models/sum-emb32"
	"nn:model=models/hybrid" "$HYBRID_REC" "$HYBRID_K100" "$STICKY_PLUS" "$STICKY_PLUS0")
: >out/alone.tsv
for spec in "${ALONE[@]}"; do
	B simulate --episodes "$ALONE_N" --recommender "$spec" --seed "$SEED" --threads "$THREADS" --format json |
		sed -E 's/.*"mean_tracks_per_session": ([0-9.e+-]+), "sem_tracks_per_session": ([0-9.e+-]+), "mean_time_per_session": ([0-9.e+-]+), "sem_time_per_session": ([0-9.e+-]+).*/\3\t\4\t\1\t\2/' |
		awk -v s="$spec" '{ print s "\t" $0 }' >>out/alone.tsv
done
step_done "every recommender alone ($ALONE_N episodes each)"

# ==== the report ====
# "effect lower upper control_mean treatment_mean significant" of an arm's metric
row() { # id size arm metric
	awk -F' *[|] *' -v arm="$3" -v m="$4" '$2 == arm && $3 == m { print $4, $5, $6, $7, $8, $9 }' \
		"out/ab-$1-$2.md"
}
fmt_effect() { # effect lower upper
	awk -v e="$1" -v l="$2" -v u="$3" 'BEGIN { printf "%+.1f %% [%+.1f, %+.1f]", e, l, u }'
}
# verdict CLAIM_SIG(1/0) EFFECT SIGNIFICANT: does our result replicate a claimed increase?
verdict() {
	local up
	up=$(awk -v e="$2" 'BEGIN { print (e > 0) ? 1 : 0 }')
	if [ "$up" = 1 ] && [ "$3" = True ]; then
		echo "**yes**"
	elif [ "$up" = 1 ]; then
		[ "$1" = 1 ] && echo "direction only (n.s.)" || echo "**yes** (direction; n.s.)"
	elif [ "$3" = True ]; then
		echo "**no** (significantly lower)"
	else
		echo "**no** (lower, n.s.)"
	fi
}
# "3.596 → 4.657, +29.5 % [+22.6, +36.5], significant"
cell() { # id size arm metric
	local r
	r=$(row "$@")
	set -- $r
	printf '%.4g → %.4g, %s%s' "$4" "$5" "$(fmt_effect "$1" "$2" "$3")" "$([ "$6" = True ] && echo ", significant" || echo ", n.s.")"
}
verdict_of() { # claim_sig id size arm metric
	local r
	r=$(row "$2" "$3" "$4" "$5")
	set -- "$1" $r
	verdict "$1" "$2" "$7"
}
in_ci() { # id size arm metric claimed-effect
	local r
	r=$(row "$1" "$2" "$3" "$4")
	set -- $r "$5"
	awk -v l="$2" -v u="$3" -v c="$7" 'BEGIN { print (c >= l && c <= u) ? "inside" : "outside" }'
}
wins_loses() { # id: T1 against the control at the larger size, in words
	local r
	r=$(row "$1" "$S2" T1 mean_time_per_session)
	set -- $r
	if [ "$6" = True ]; then
		awk -v e="$1" 'BEGIN { print (e > 0) ? "wins" : "loses" }'
	else
		echo "ties"
	fi
}
both() { # claim_sig id arm metric: "v1 / v2" over the two sizes
	echo "$(verdict_of "$1" "$2" "$S1" "$3" "$4") / $(verdict_of "$1" "$2" "$S2" "$3" "$4")"
}
alone() { # spec -> its mean time per session alone
	awk -F'\t' -v s="$1" '$1 == s { printf "%.3f", $2 }' out/alone.tsv
}
train_row() { # name
	local m s
	m=$(grep -E '^\| (two-tower|dot|sum|hybrid) \|' "out/train-$1.out")
	s=$(for i in "${!STEP_NAMES[@]}"; do [ "${STEP_NAMES[$i]}" = "train $1" ] && echo "${STEP_SECS[$i]}"; done)
	echo "$m" | awk -F' *[|] *' -v n="$1" -v f="$(cat "out/train-$1.flags")" -v s="$s" \
		'{ printf "| %s | `%s` | %s | %s | %s | %s | %s | %s s |\n", n, f, $3, $4, $6, $7, $8, s }'
}
test_mse() { # name
	awk -F' *[|] *' '/^\| (two-tower|dot|sum|hybrid) \|/{ print $3 }' "out/train-$1.out"
}
# the arms of an experiment: "| T1 | spec |" lines as "- T1: `spec`"
arms() { # id
	awk -F' *[|] *' '/^\| arm \|/ { f = 1; next } f && /^\|/ && $2 ~ /^(C|T[0-9]+)$/ { printf "- %s: `%s`\n", $2, $3 }' \
		"out/ab-$1-$S1.md"
}
# full tables of an experiment, one per size
tables() { # id
	local n
	for n in $SIZES; do
		echo "**$n episodes** ([forest plot](replication/$1-$n.svg)):"
		echo
		sed -n '/^| treatment |/,/^$/p' "out/ab-$1-$n.md"
		sed -n '/^| arm |/,/^$/p' "out/ab-$1-$n.md"
		echo
	done
}
# the session metrics only, every size in one table
compact() { # id
	local n
	echo "| episodes | treatment | metric | effect | lower | upper | control_mean | treatment_mean | significant | n_control | n_treatment | p |"
	echo "|---:|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|"
	for n in $SIZES; do
		grep -E '^\| T[0-9]+ \| mean_(time|tracks)_per_session \|' "out/ab-$1-$n.md" | sed "s/^|/| $n |/"
	done
	echo
	echo "Forest plots: $(for n in $SIZES; do printf '[%s episodes](replication/%s-%s.svg) ' "$n" "$1" "$n"; done)"
}
claims() { # id claim_sig arm metric label
	local n out=""
	for n in $SIZES; do
		out="$out${out:+; }$n: $(cell "$1" "$n" "$3" "$4") → $(verdict_of "$2" "$1" "$n" "$3" "$4")"
	done
	echo "- $5: $out"
}
S1=${SIZES%% *}
S2=${SIZES##* }
sumrow() { # id label claim control treatment claim_sig claimed-effect(or -) [arm]
	local ci="n/a (no number claimed)" arm=${8:-T1}
	[ "$7" != - ] && ci="+$7 % is $(in_ci "$1" "$S2" "$arm" mean_time_per_session "$7")"
	echo "| $2 | $3 | $4 | $5 | $(cell "$1" "$S1" "$arm" mean_time_per_session) | $(cell "$1" "$S2" "$arm" mean_time_per_session) | $(both "$6" "$1" "$arm" mean_time_per_session) | $ci |"
}
partrow() { # report part arm against id arm-in-id
	echo "| $1 | $2 | $3 | $4 | $(cell "$5" "$S1" "$6" mean_time_per_session) | $(cell "$5" "$S2" "$6" mean_time_per_session) |"
}
# Holm over the report's table: every metric of T1, uncorrected and corrected
holm_table() { # id
	local n
	echo "| episodes | metric | effect [95 % CI] | p | Holm p | significant | after Holm |"
	echo "|---:|---|---|---:|---:|---|---|"
	for n in $SIZES; do
		awk -F' *[|] *' -v n="$n" '
			FNR == 1 { f++ }
			f == 1 && $2 == "T1" && NF > 12 { sig[$3] = $9 }
			f == 2 && $2 == "T1" && NF > 13 {
				ci = ($5 == "nan" || $5 == "n/a") ? "n/a" : sprintf("%+.1f %% [%+.1f, %+.1f]", $4, $5, $6)
				printf "| %s | %s | %s | %s | %s | %s | %s%s |\n", n, $3, ci, $12, $13, sig[$3], $9,
					(sig[$3] != $9) ? " (**changed**)" : ""
			}' "out/ab-$1-$n.md" "out/holm-$1-$n.md"
	done
}
holm_changes() { # id: the decisions Holm changes, or "none"
	local n out=""
	for n in $SIZES; do
		out="$out$(awk -F' *[|] *' -v n="$n" '
			FNR == 1 { f++ }
			f == 1 && $2 == "T1" && NF > 12 { sig[$3] = $9 }
			f == 2 && $2 == "T1" && NF > 13 && sig[$3] != $9 { printf "; %s at %s episodes (%s → %s)", $3, n, sig[$3], $9 }
		' "out/ab-$1-$n.md" "out/holm-$1-$n.md")"
	done
	out=${out#; }
	echo "${out:-none}"
}
# T_START has nanoseconds (date +%s.%N), which shell arithmetic refuses
T_TOTAL=$(awk -v a="$T_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
MD=$DOCS/REPLICATION.md.tmp.$$
SR=out/train-sum-report.err
HYB_LISTS=$(grep -c '"recommendations": \[[0-9]' models/hybrid/tracks_with_recs.json || true)
HYB_TRACKS=$(wc -l <models/hybrid/tracks_with_recs.json)
MSE_SUM=$(test_mse sum)
MSE_SR=$(test_mse sum-report)
MSE_S32=$(test_mse sum-emb32)
MSE_DOT=$(test_mse dot)
MSE_AVG=$(awk -F' *[|] *' '/^\| sum \|/{ print $4 }' out/train-sum.out)
{
cat <<EOF
# Replication of the five reports' results

Generated by \`scripts/replicate.sh\` ($("$BOTIFY" --version | head -n 1), $(date -u +%Y-%m-%d)); the whole run took
**$((T_TOTAL / 60)) min $((T_TOTAL % 60)) s** on $(nproc) cores with \`THREADS=$THREADS\`. Every number below comes
from that run; rerun the script rather than editing this file.

\`\`\`
make && scripts/replicate.sh          # writes docs/REPLICATION.md and docs/replication/*.svg
\`\`\`

Knobs (environment): \`THREADS\` ($THREADS), \`DAY1\` ($DAY1 sessions per day-1 policy), \`SEED\` ($SEED,
every experiment), \`SIZES\` ("$SIZES" episodes), \`BOTIFY\` (default: \`make\`, then
\`build/botify\`); the first argument is the work directory (default \`build/replicate\`:
logs, models, exports and the raw outputs of every step, in \`out/\`).

## Summary

Each report against **the control it used itself**, on the metric it claimed:
\`mean_time_per_session\`, control → treatment means, the effect in % of the control mean with
its 95 % interval (paired twin runs, delta method: see [Setup](#setup)). *Replicated* = same
direction and, where the report claims significance, significant too.

| report | what it claimed | its control | our treatment | ours, $S1 episodes | ours, $S2 episodes | replicated ($S1 / $S2) | claimed effect vs our $S2-episode CI |
|---|---|---|---|---|---|---|---|
$(sumrow 000 "[000](#000-two-tower-with-user-context)" "A/B: 4.961 → 6.691, +34.9 % [+25.3, +44.4], significant; tracks per session up, significant" "the seminar's contextual NN (*seminar*)" "\`nn\` over the two-tower" 1 34.9)
$(sumrow 001 "[001](#001-ranked-list-with-artist-fallback)" "A/B: 4.1 → 5.14 (+25.4 %), significant" "DSSM (\`indexed\`)" "\`ranked_sticky\` over the DSSM list" 1 25.4)
| [002](#002-start--user-embeddings) | model accuracy: learning rate and embedding size matter most; no A/B result | none | test MSE | lr 0.05 → 0.01: $MSE_SR → $MSE_SUM | emb 64 → 32 (lr 0.01): $MSE_SUM → $MSE_S32 | see [002](#002-start--user-embeddings) | n/a |
$(sumrow 003 "[003](#003-hybrid-with-user-term)" "A/B: 5.339 → 6.015 (+12.7 %), significant; tracks per session up, significant" "the seminar's contextual NN (*seminar*)" "hybrid, 50 neighbours, indexed → toppop fallback" 1 12.7)
$(sumrow 004 "[004](#004-sticky-artist-with-dislikes)" "better than sticky_artist (screenshots, no numbers)" "\`sticky_artist\`" "\`sticky_plus\`" 0 -)

**What each gain is made of.** Where botify's recommender for a report does something the
report did not describe, or a report changed several things at once, further arms take the
gain apart: each part against the arm that has everything else (same metric, same design).

| report | part | arm | against | ours, $S1 episodes | ours, $S2 episodes |
|---|---|---|---|---|---|
$(partrow 000 "serving: a list ranked once per session for its start, in order, no replays — over the seminar's own model" "\`nn\` over the *dot* model" "*seminar*" 000 T2)
$(partrow 000 "the model: user context and towers, served the same way" "\`nn\` over the two-tower" "\`nn\` over the *dot* model" 000-parts T1)
$(partrow 001 "the DSSM list in rank order, no fallback (\`t=0\`)" "\`ranked_sticky:users=…,t=0\`" "DSSM" 001 T2)
$(partrow 001 "the artist / contextual fallback after a listen below 0.1" "\`ranked_sticky:users=…\`" "\`ranked_sticky:users=…,t=0\`" 001-parts T1)
$(partrow 001 "botify's variant: \`nn\`'s session list instead of the DSSM list, fallback included" "\`ranked_sticky:model=…\`" "DSSM" 001 T3)
$(partrow 001 "the fallback on top of \`nn\`'s list" "\`ranked_sticky:model=…\`" "\`nn\` over the two-tower" 001-model-parts T1)
$(partrow 003 "50 neighbours instead of 100, the seminar's model" "*seminar*, 50 neighbours" "*seminar*" 003 T3)
$(partrow 003 "the hybrid model with its fallbacks, 50 neighbours" "the report's recommender" "*seminar*, 50 neighbours" 003-parts T1)
$(partrow 003 "the hybrid model alone, at the seminar's 100 neighbours" "contextual over the hybrid's 100" "*seminar*" 003 T2)
$(partrow 004 "no replays within a session, nothing else" "\`sticky_artist:no_replay=1\`" "\`sticky_artist\`" 004 T3)
$(partrow 004 "dislikes, likes first, contextual mix, switch after 3 misses" "\`sticky_plus\`" "\`sticky_artist:no_replay=1\`" 004-parts T1)
$(partrow 004 "the same without the contextual mix" "\`sticky_plus\` \`mix=0\`" "\`sticky_artist:no_replay=1\`" 004-parts T2)

**The other control.** Reports 000, 002 and 003 were measured against the course's contextual NN,
whose counterpart here is the seminar's model (*seminar*); on this world it is weak. This
project's own contextual recommender (*contextual*, over the two-tower's export) is much
stronger, so each treatment is also run against it:

| report | arm | ours, $S1 episodes | ours, $S2 episodes |
|---|---|---|---|
| 000 | \`nn\` over the two-tower | $(cell 000-contextual "$S1" T1 mean_time_per_session) | $(cell 000-contextual "$S2" T1 mean_time_per_session) |
| 002 | contextual over the sum model's export | $(cell 002-contextual "$S1" T1 mean_time_per_session) | $(cell 002-contextual "$S2" T1 mean_time_per_session) |
| 002 | \`nn\` over the sum model | $(cell 002-contextual "$S1" T2 mean_time_per_session) | $(cell 002-contextual "$S2" T2 mean_time_per_session) |
| 003 | the hybrid's list with its fallbacks | $(cell 003-contextual "$S1" T1 mean_time_per_session) | $(cell 003-contextual "$S2" T1 mean_time_per_session) |

The reports ran on the course's catalog and users with its simulator; we run on botify's built-in
world, calibrated to the course's shapes (datasets/README.md): directions and significance
compare, levels do not (our sessions are shorter: random serves $(alone random) per session,
sticky_artist $(alone sticky_artist)).

## Setup

**Design.** Every experiment is one \`botify ab --control C --treatment T1 [--treatment T2 ...]
--episodes N --seed $SEED --threads $THREADS --metrics all --plot docs/replication/ID-N.svg\` with ab's defaults:

> $(sed -n 2p "out/ab-000-$S1.md")<br>
> $(sed -n 3p "out/ab-000-$S1.md")

(the header of report 000's $S1-episode run; every run says the same.)

Every arm plays the same N episodes (the same user, interest, first track and user-model
draws), so the effects compare the arms on identical traffic, and the relative interval
accounts for the control mean's own uncertainty (the delta method). Earlier versions of this
page split the users between arms by murmur3 with the service's fixed experiment name and
used the notebook's interval: that one split put users who listen about 2–3 % less in the
treatment half, which biased every effect downwards by about as much, and its intervals
under-covered large effects (docs/ab.md). Both are gone here. A consequence of pairing: a
user has the same sessions in every arm, so the \`sessions\` row is exactly 0 (n/a); in this
simulator, as in the course's, the recommender does not decide how many sessions a user
starts, so a difference in \`sessions\` (report 003 reports a significant one) says only that
the two halves of a split held different users.

Where an experiment lists several treatments, each is compared with the control on the same
episodes. Intervals are per row, uncorrected, as the reports' were; for the reports that
claim several metrics, [Several claims](#several-claims-holms-correction) applies Holm's
correction.

**Day-1 traffic** (the course's "day-1 traffic from random and sticky_artist"): $DAY1 sessions of
\`random\` (seed 2) and $DAY1 of \`sticky_artist\` (seed 1) on the built-in world, \`--threads $THREADS\`.
Every model is trained on both logs: a log of one policy only shows what that policy chose,
and reports 000 and 004 both note that random traffic alone trains poorly.

**Models** (\`botify train --log logs/random.jsonl.gz logs/sticky.jsonl.gz --threads $THREADS\` plus):

| model | flags | test MSE | avg | best epoch | epochs | stopped | time |
|---|---|---:|---:|---:|---:|---|---:|
$(for m in two-tower sum sum-report sum-emb32 hybrid dot; do train_row "$m"; done)

- \`two-tower\` (report 000): the defaults (emb 32, hidden 64, out 32, the start's artist in the
  context tower; docs/train.md).
- \`sum\` (report 002): the report's emb 64 and batch 2048, but lr 0.01 and at most 30 epochs;
  \`sum-report\` is the report's exact lr 0.05, which diverges here, and \`sum-emb32\` the same
  as \`sum\` with embeddings of 32: see [002](#002-start--user-embeddings).
- \`hybrid\` (report 003): emb 64, lr 1e-3 with early stopping (at lr 0.01 it early-stops after
  5 epochs with a worse contextual export).
- \`dot\`: start · track, the seminar's contextual NN model.

**Exports** (\`botify export --k K\`): \`two-tower\` tracks_with_recs.json and recommendations.json
(K 100), \`sum\` and \`dot\` tracks_with_recs.json (K 100), \`hybrid\` both lists with K 50 (report
003: "50 neighbours"); for the parts of 003, \`hybrid\` with K 100 and \`dot\` with K 50.

### Controls

- *seminar* (reports 000, 002, 003: the control each of them used): \`$SEMINAR\`, the export
  of the seminar's own architecture (start · track, \`--arch dot\`), the architecture of the
  course's contextual NN. On this world it is a weak control: $(alone "$SEMINAR") alone, below
  sticky_artist ($(alone sticky_artist)) and toppop ($(alone toppop)); its test MSE ($MSE_DOT) is
  above the 'avg' baseline ($MSE_AVG).
- *contextual* (the secondary control of the same reports): \`$CONTEXTUAL\`, a uniform pick
  among the 100 neighbours the two-tower model exports for the previous track, the contextual
  recommender of this project's calibration (datasets/README.md). Like the course's contextual
  NN, it is stronger than *seminar*; $(awk -v c="$(alone "$CONTEXTUAL")" -v s="$(alone sticky_artist)" \
  'BEGIN { print (c > s) ? "like the course\047s contextual NN, it beats" : "unlike the course\047s contextual NN, it does not beat" }') sticky_artist ($(alone "$CONTEXTUAL") alone).
- *DSSM* (report 001): \`$DSSM\`, a uniform pick from the user's list exported from the
  two-tower (its context averaged over the user's logged starts).
- report 004: \`sticky_artist\`.

## 000 Two-tower with user context

Claim (report 000): a two-tower network with the user id in the context tower and the artist
on the track side, serving a per-session list computed at the first call, against "the previous
recommender", the seminar's contextual NN: mean_time_per_session 4.961 → 6.691 (+34.9 %, CI
[+25.3, +44.4], significant), mean_tracks_per_session 9.968 → 11.611 (significant),
mean_request_latency up (0.68 → 2.34 ms); \`time\` up (significant), \`sessions\` unchanged.

Arms (control *seminar*):

$(arms 000)

T1 is the report's idea. \`nn\` serves the session's list in rank order and skips tracks the
session played; the report says only that the list is computed at the first call and kept.
T2 applies that serving to the seminar's own model (start · track, no user, no towers), so
T2 against the control is the serving alone and T1 against T2 (below) the model alone.

$(tables 000)

Verdicts:

$(claims 000 1 T1 mean_time_per_session "mean_time_per_session up, significant")
$(claims 000 1 T1 mean_tracks_per_session "mean_tracks_per_session up, significant")
$(claims 000 1 T1 time "time up, significant")
$(claims 000 1 T1 mean_request_latency "mean_request_latency up")

Latency is the recommender's in-process wall time per call in ms (a list lookup takes
microseconds; \`nn\` scores the catalog at a session's first call); the report's milliseconds
include Flask and Redis. It is measured, so it changes from run to run.

The model alone: T1 against T2 as the control (\`nn\` over the two-tower vs \`nn\` over *dot*):

$(compact 000-parts)

Against the *contextual* control:

$(compact 000-contextual)

## 001 Ranked list with artist fallback

Claim (report 001): serve the DSSM recommender's user list in rank order instead of a uniform
pick; when a listen is shorter than T = 0.1, play with probability P = 0.3 a track of the
session's most-played artist, otherwise fall back to contextual, and abandon the list for the
rest of the session: mean_time_per_session 4.1 → 5.14 against DSSM ("stat. significant").

Arms (control *DSSM*):

$(arms 001)

T1 is the report's recommender over exactly the control's list. T2 is the same list in rank
order with \`t=0\` (a listen is never below 0, so the list is only left when its 100 tracks
run out): the ordering alone. T3 is the variant an earlier version of this page used as the treatment: its primary
list is the two-tower's ranking for (user, start track), the list \`nn\` serves, which the
report did not use. All fall back to the *contextual* lists. Serving a list in rank order
never repeats a track, while the control's uniform pick from 100 can; with the options botify
has, the ordering and the absence of replays cannot be taken apart.

$(tables 001)

Verdicts:

$(claims 001 1 T1 mean_time_per_session "T1 (the report's, over the DSSM list) mean_time_per_session up, significant")
$(claims 001 1 T3 mean_time_per_session "T3 (over \`nn\`'s list) mean_time_per_session up, significant")

The fallback alone: T1 against T2 as the control:

$(compact 001-parts)

and \`ranked_sticky:model=\` against \`nn\` over the same model (the same list without the fallback):

$(compact 001-model-parts)

## 002 Start + user embeddings

Claim (report 002): a model (start_embedding + user_embedding) · track_embedding with
embedding 64, learning rate 0.05, batch 2048, up to 300 epochs, whose list has the format of
the seminar's, so the contextual recommender can serve it. Its conclusion is about **model
accuracy**: "the choice of the initial learning rate and the embedding size influenced the
model's accuracy most". It reports no A/B result and no comparison with another recommender.

**The claim, judged on accuracy** (test MSE on the held-out 10 %; 'avg' baseline $MSE_AVG,
the seminar's \`dot\` model $MSE_DOT):

| model | lr | emb | test MSE |
|---|---:|---:|---:|
| \`sum-report\` | 0.05 | 64 | $MSE_SR |
| \`sum\` | 0.01 | 64 | $MSE_SUM |
| \`sum-emb32\` | 0.01 | 32 | $MSE_S32 |

$(awk -v sr="$MSE_SR" -v s="$MSE_SUM" -v s32="$MSE_S32" -v avg="$MSE_AVG" 'BEGIN {
	lr = sr / s; emb = (s32 - s) / s
	printf "Learning rate: 0.05 instead of 0.01 multiplies the test MSE by %.0f; embedding size: 32 instead of 64 changes it by %+.1f %%. ", lr, 100 * emb
	if (lr > 2 && (emb > 0.05 || emb < -0.05))
		printf "Both matter, the learning rate by far the most: the claim **replicates**."
	else if (lr > 2)
		printf "The learning rate matters by far the most, the embedding size little: the claim **replicates for the learning rate only**."
	else
		printf "Neither changes the accuracy much here: the claim **does not replicate**."
	m = (s32 < s) ? s32 : s
	printf " The best of them is %s the \047avg\047 baseline (%s).", (m < avg) ? "below" : "at or above", avg
}')

**Training at the report's settings.** With lr 0.05 (\`sum-report\`, 8 epochs) training
diverges: validation MSE $(awk '/^epoch +1 /{ print $6 }' "$SR" | tr -d '*') after epoch 1, training MSE up to
$(awk '/^epoch/{ if ($4 > m) m = $4 } END { print m }' "$SR") in the following epochs, best validation MSE
$(awk '/^epoch/{ v = $6; gsub(/\*/, "", v); if (m == "" || v < m) m = v } END { print m }' "$SR"); \`nn\` over it serves $(alone "nn:model=models/sum-report"), random's level.
Our embedding tables take lazy-Adam steps of about lr per coordinate on every touched row, so at
0.05 dot products of 64 terms blow up; the report does not name its optimizer (plain SGD at 0.05
takes far smaller steps). At lr 0.01 (\`sum\`) training is stable. At the default 1e-3 it
overfits quickly (a one-off run with the random streams before every stream got a domain
tag, not part of this script: training MSE 0.015 against
validation 0.087 by epoch 20, validation never below the 'avg' baseline in 238 epochs).

**A/B, for information** (no claim to judge): served as the report says, by the contextual
recommender over its export (T1), and through \`nn\` (T2), against the seminar's model, the
report's starting point:

$(arms 002)

$(compact 002)

Against the *contextual* control:

$(compact 002-contextual)

Its ranking for a given (user, start), which \`nn\` serves, is the best of any model here
($(alone "$NN_SUM") alone), while its contextual export, ranked for the mean user, is not
($(alone "$SUM_CTX")): accuracy (MSE) and the served list's quality do not go together here.

## 003 Hybrid with user term

Claim (report 003): prediction sigmoid(start · track + Linear(user ⊙ track)), trained with
(R)MSE, 50 neighbours exported per track instead of 100, served by a contextual recommender
whose fallback is indexed, then top-pop, instead of random, against the seminar's contextual
recommender: mean_time_per_session 5.339 → 6.015 (significant), mean_tracks_per_session
10.30 → 11.05 (significant); \`time\` up (n.s.), \`sessions\` down (significant),
mean_request_latency up.

Arms (control *seminar*):

$(arms 003)

T1 is the report's recommender. It changes three things at once; T2 keeps the hybrid model
but the seminar's 100 neighbours and no fallback, T3 the seminar's model with 50 neighbours.
The export has a list for $HYB_LISTS of its $HYB_TRACKS tracks, so the fallback never answers
a call on this world (it would only for a track outside the catalog): on this world T1 is the
hybrid's 50-neighbour list and nothing else. (Served through \`nn\` instead, the hybrid gives
$(alone "nn:model=models/hybrid") alone.)

$(tables 003)

Verdicts:

$(claims 003 1 T1 mean_time_per_session "mean_time_per_session up, significant")
$(claims 003 1 T1 mean_tracks_per_session "mean_tracks_per_session up, significant")
$(claims 003 0 T1 time "time up (the report: n.s.)")

The model at the report's 50 neighbours: T1 against T3 as the control:

$(compact 003-parts)

Against the *contextual* control:

$(compact 003-contextual)

## 004 Sticky artist with dislikes

Claim (report 004): sticky_artist that never recommends tracks the user disliked in the logs
(listen time ≤ 0.2), mixes in other tracks the user should like, and after k failed picks
switches to the contextual recommender: better than sticky_artist (screenshots, no numbers).

Arms (control \`sticky_artist\`):

$(arms 004)

T1 is \`sticky_plus\` with its defaults (k = 3, a miss is a listen below 0.2, contextual mix
0.3, the *contextual* lists); likes and dislikes come from both day-1 logs (a track's best
listen per user). It adds two rules the report does not describe: it prefers the user's
logged likes (≥ 0.8) within a source, and it never replays a track within a session (a
replay earns 0.0 in the simulator). T2 is T1 without the contextual mix (\`mix=0\`). T3,
\`sticky_artist:no_replay=1\`, is sticky_artist with only the no-replay rule
(docs/recommenders.md): against it (below), T1 and T2 show what the report's own rules add.
The likes-first rule has no switch, so it stays inside T1 and T2.

$(tables 004)

Verdicts:

$(claims 004 0 T1 mean_time_per_session "T1 mean_time_per_session up")
$(claims 004 0 T2 mean_time_per_session "T2 (no mix) mean_time_per_session up")
$(claims 004 0 T3 mean_time_per_session "T3 (no replays, nothing else) mean_time_per_session up")

The report's rules on top of not replaying: T1 and T2 against \`sticky_artist:no_replay=1\` as
the control:

$(compact 004-parts)

## Several claims: Holm's correction

Reports 000 and 003 each show a table of five metrics and claim several of them. Holm's
correction over those five rows (their treatment against their control: \`botify ab --log
LOG --experiment AB --treatment T1 --correction holm\` on the kept log of the experiment)
controls the chance of any false claim among them at 5 %. \`sessions\` has no test in a paired
design (it is equal by construction).

**000** (decisions that change: $(holm_changes 000)):

$(holm_table 000)

**003** (decisions that change: $(holm_changes 003)):

$(holm_table 003)

Reports 001 and 004 claim one metric each; the ablation arms above are a decomposition, not
further claims, and are left uncorrected.

## Notes

- **What the verdicts are now.** Against the controls the reports used, the A/B claims of 000,
  001, 003 and 004 replicate in direction and significance at both sizes; 002 made no A/B
  claim, and its accuracy claim is judged on accuracy. The effects against *seminar* (000,
  003) are far larger than the reports' because *seminar* is weak on this world; against the
  stronger *contextual*, 000's \`nn\` $(wins_loses 000-contextual) ($(cell 000-contextual "$S2" T1 mean_time_per_session))
  and 003's hybrid $(wins_loses 003-contextual) ($(cell 003-contextual "$S2" T1 mean_time_per_session)).
- **Where the gains come from.** 000: serving a ranked session list without replays is worth
  $(cell 000 "$S2" T2 mean_time_per_session | sed 's/.*, \([+-][0-9.]* % \[[^]]*\]\).*/\1/') on the seminar's own model; the two-tower adds
  $(cell 000-parts "$S2" T1 mean_time_per_session | sed 's/.*, \([+-][0-9.]* % \[[^]]*\]\).*/\1/') on top. 001: the rank order alone gives
  $(cell 001 "$S2" T2 mean_time_per_session | sed 's/.*, \([+-][0-9.]* % \[[^]]*\]\).*/\1/'), the fallback $(cell 001-parts "$S2" T1 mean_time_per_session | sed 's/.*, \([+-][0-9.]* % \[[^]]*\]\).*/\1/') more
  (over \`nn\`'s list, $(cell 001-model-parts "$S2" T1 mean_time_per_session | sed 's/.*, \([+-][0-9.]* % \[[^]]*\]\).*/\1/')). 003: the hybrid model
  is the gain; 50 neighbours instead of 100 give $(cell 003 "$S2" T3 mean_time_per_session | sed 's/.*, \([+-][0-9.]* % \[[^]]*\]\).*/\1/') and the
  fallback never answers. 004: not replaying alone gives $(cell 004 "$S2" T3 mean_time_per_session | sed 's/.*, \([+-][0-9.]* % \[[^]]*\]\).*/\1/') of
  \`sticky_plus\`'s $(cell 004 "$S2" T1 mean_time_per_session | sed 's/.*, \([+-][0-9.]* % \[[^]]*\]\).*/\1/'); the report's own rules add
  $(cell 004-parts "$S2" T1 mean_time_per_session | sed 's/.*, \([+-][0-9.]* % \[[^]]*\]\).*/\1/') over \`sticky_artist:no_replay=1\`.
- **Chosen on this world.** The sum model's lr (0.01) and the hybrid's (1e-3) were picked after
  a few runs on this same world and seed (report 001's T and P, tuned by its author on the
  course's world, are used as given); the \`sticky_plus\` defaults (k = 3, miss 0.2,
  mix 0.3) were not tuned (a sweep on another seed found mix = 0 best, hence T2).
- Latency effects are wall time of in-process calls and differ between runs; every other number
  is reproducible from the seeds, for any \`THREADS\` (training writes the same model bytes for
  any thread count, and simulations the same sessions).

## Every recommender alone

\`botify simulate --episodes $ALONE_N --seed $SEED\` per recommender (one arm, all users): where
the experiments' arms sit.

| recommender | time/session | ± sem | tracks/session | ± sem |
|---|---:|---:|---:|---:|
EOF
awk -F'\t' '{ s = $1; gsub(/\|/, "\\|", s); printf "| `%s` | %.3f | %.3f | %.3f | %.3f |\n", s, $2, $3, $4, $5 }' out/alone.tsv
cat <<EOF

## Runtime

| step | seconds |
|---|---:|
EOF
for i in "${!STEP_NAMES[@]}"; do echo "| ${STEP_NAMES[$i]} | ${STEP_SECS[$i]} |"; done
echo "| **total** (with the report) | **$T_TOTAL** |"
} >"$MD"
mv "$MD" "$DOCS/REPLICATION.md"
echo "wrote $DOCS/REPLICATION.md and $DOCS/replication/*.svg in $((T_TOTAL / 60)) min $((T_TOTAL % 60)) s" >&2
