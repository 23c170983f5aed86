#!/bin/bash
# replicate.sh - the replication report of the course's five reports (their
# claims are quoted in docs/REPLICATION.md): the whole course loop on the built-in world
# from nothing, then one `botify ab` per report against the control that
# report used, at 2000 and at 20 000 episodes, with a fixed seed.
#
#   scripts/replicate.sh [WORKDIR]
#
# Writes docs/REPLICATION.md and its forest plots docs/replication/*.svg;
# logs, models, exports and raw outputs stay in WORKDIR (default
# build/replicate, replaced piece by piece with --force on every run).
# Env: BOTIFY (default: `make` then build/botify), THREADS (2), DAY1 (100000
# sessions of each day-1 policy), SEED (7, of every experiment), SIZES
# ("2000 20000"), DOCS (docs). About 6 minutes on 2 cores.
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
# day-1 traffic, 5 trainings, 4 exports, 8 experiments per size, the recommenders alone
STEPS_TOTAL=$((11 + 8 * $(echo $SIZES | wc -w)))
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
train dot --arch dot

# ---- 3. exports ----
export_model() { # name k user-recs(0/1)
	local m=models/$1 extra=()
	[ "$3" = 1 ] && extra=(--user-recs "$m/recommendations.json")
	B export --model "$m" --recs "$m/tracks_with_recs.json" "${extra[@]}" --k "$2" \
		--threads "$THREADS" --force >/dev/null 2>&1
	step_done "export $1 (k $2)"
}
export_model two-tower 100 1
export_model sum 100 0
export_model hybrid 50 1
export_model dot 100 0

TT=models/two-tower
CONTEXTUAL="contextual:file=$TT/tracks_with_recs.json"
DSSM="indexed:file=$TT/recommendations.json"
HYBRID_REC="contextual:file=models/hybrid/tracks_with_recs.json,fallback=\"indexed:file=models/hybrid/recommendations.json,fallback=toppop\""
DISLIKES="dislikes='logs/random.jsonl.gz,logs/sticky.jsonl.gz'"
SEMINAR="contextual:file=models/dot/tracks_with_recs.json"

# ---- 4. experiments ----
# id control treatment...: one botify ab per size
run_ab() {
	local id=$1 control=$2 n
	shift 2
	local args=()
	for t in "$@"; do args+=(--treatment "$t"); done
	for n in $SIZES; do
		echo "== A/B $id, $n episodes" >&2
		B ab --control "$control" "${args[@]}" --episodes "$n" --seed "$SEED" --threads "$THREADS" \
			--plot "$DOCS/replication/$id-$n.svg" --force >"out/ab-$id-$n.md" 2>"out/ab-$id-$n.err"
		step_done "A/B $id, $n episodes"
	done
}
run_ab 000 "$CONTEXTUAL" "nn:model=$TT"
run_ab 001 "$DSSM" "ranked_sticky:model=$TT,recs=$TT/tracks_with_recs.json,t=0.1,p=0.3" \
	"ranked_sticky:users=$TT/recommendations.json,recs=$TT/tracks_with_recs.json,t=0.1,p=0.3"
run_ab 002 "$CONTEXTUAL" "nn:model=models/sum" "contextual:file=models/sum/tracks_with_recs.json"
run_ab 003 "$CONTEXTUAL" "$HYBRID_REC"
run_ab 004 sticky_artist "sticky_plus:$DISLIKES,k=3,recs=$TT/tracks_with_recs.json" \
	"sticky_plus:$DISLIKES,k=3,recs=$TT/tracks_with_recs.json,mix=0"
# the same treatments against the seminar's literal contextual NN (the dot model's export)
run_ab 000s "$SEMINAR" "nn:model=$TT"
run_ab 002s "$SEMINAR" "nn:model=models/sum" "contextual:file=models/sum/tracks_with_recs.json"
run_ab 003s "$SEMINAR" "$HYBRID_REC"

# ---- 5. every recommender alone ----
ALONE_N=20000
ALONE=(random toppop sticky_artist "$SEMINAR" "$CONTEXTUAL"
	"$DSSM" "nn:model=$TT" "nn:model=models/dot"
	"ranked_sticky:model=$TT,recs=$TT/tracks_with_recs.json,t=0.1,p=0.3"
	"ranked_sticky:users=$TT/recommendations.json,recs=$TT/tracks_with_recs.json,t=0.1,p=0.3"
	"nn:model=models/sum" "contextual:file=models/sum/tracks_with_recs.json" "nn:model=models/sum-report"
	"nn:model=models/hybrid" "$HYBRID_REC"
	"sticky_plus:$DISLIKES,k=3,recs=$TT/tracks_with_recs.json"
	"sticky_plus:$DISLIKES,k=3,recs=$TT/tracks_with_recs.json,mix=0")
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
	awk -F' *[|] *' -v arm="$3" -v m="$4" '$2 == arm && $3 == m { print $4, $6, $5, $7, $8, $9 }' \
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
	echo "| episodes | treatment | metric | effect | upper | lower | control_mean | treatment_mean | significant | n_control | n_treatment |"
	echo "|---:|---|---|---:|---:|---:|---:|---:|---|---:|---:|"
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
sumrow() { # id label idea control claim claim_sig claimed-effect(or -) [arm]
	local ci="n/a (no number claimed)" arm=${8:-T1}
	[ "$7" != - ] && ci="+$7 % is $(in_ci "$1" "$S2" "$arm" mean_time_per_session "$7")"
	echo "| $2 | $3 | $4 | $5 | $(cell "$1" "$S1" "$arm" mean_time_per_session) | $(cell "$1" "$S2" "$arm" mean_time_per_session) | $(both "$6" "$1" "$arm" mean_time_per_session) | $ci |"
}
T_TOTAL=$(($(date +%s) - T_START))
MD=$DOCS/REPLICATION.md.tmp.$$
SR=out/train-sum-report.err
RS_MODEL="ranked_sticky:model=$TT,recs=$TT/tracks_with_recs.json,t=0.1,p=0.3"
{
cat <<EOF
# Replication of the five reports' A/B results

Generated by \`scripts/replicate.sh\` ($("$BOTIFY" --version), $(date -u +%Y-%m-%d)); the whole run took
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

Metric: \`mean_time_per_session\` (the reports' target metric): control → treatment means,
effect and 95 % Welch interval in % of the control mean. *Replicated* = same direction and,
where the report claims significance, significant too. The treatment is the recommender the
issue specifies (T1 of its experiment). Reports 000, 002 and 003 compared against "the
contextual NN"; we run them against two versions of it (see [Controls](#controls)):
*contextual*, this project's contextual recommender (the two-tower's export, the stronger
one), and *seminar*, the export of the seminar's start · track model (the architecture the
reports' contextual NN had; much weaker here).

| report | idea | control | claim | ours, $S1 episodes | ours, $S2 episodes | replicated ($S1 / $S2) | claimed effect vs our $S2-episode CI |
|---|---|---|---|---|---|---|---|
$(sumrow 000 "[000](#000-two-tower-with-user-context)" "two-tower with user context (\`nn\`)" contextual "4.961 → 6.691, +34.9 %, significant" 1 34.9)
$(sumrow 000s "000" "" seminar "" 1 34.9)
$(sumrow 001 "[001](#001-ranked-list-with-artist-fallback)" "ranked list + artist fallback: \`ranked_sticky:model=\` (T1)" "DSSM (\`indexed\`)" "4.1 → 5.14, +25.4 %, significant" 1 25.4)
$(sumrow 001 "001" "the same over the DSSM list itself: \`ranked_sticky:users=\` (T2)" "DSSM (\`indexed\`)" "" 1 25.4 T2)
$(sumrow 002 "[002](#002-start--user-embeddings)" "(start + user) · track (\`--arch sum\`) served by \`nn\` (T1)" contextual "better (no numbers)" 0 -)
$(sumrow 002s "002" "" seminar "" 0 -)
$(sumrow 002 "002" "the same served by contextual over its export (T2, the report's way)" contextual "" 0 - T2)
$(sumrow 002s "002" "" seminar "" 0 - T2)
$(sumrow 003 "[003](#003-hybrid-with-user-term)" "hybrid model, 50 neighbours, indexed → toppop fallback" contextual "5.339 → 6.015, +12.7 %, significant" 1 12.7)
$(sumrow 003s "003" "" seminar "" 1 12.7)
$(sumrow 004 "[004](#004-sticky-artist-with-dislikes)" "sticky artist + dislikes + contextual mix: \`sticky_plus\` (T1)" \`sticky_artist\` "better (screenshots, no numbers)" 0 -)
$(sumrow 004 "004" "the same without the contextual mix (T2, \`mix=0\`)" \`sticky_artist\` "" 0 - T2)

The reports ran on the course's catalog and users with its simulator; we run on botify's built-in
world, calibrated to the course's shapes (datasets/README.md): directions and significance
compare, levels do not (our sessions are shorter: random serves $(alone random) per session,
sticky_artist $(alone sticky_artist)).

## Setup

**Day-1 traffic** (the issue's "day-1 traffic from random and sticky_artist"): $DAY1 sessions of
\`random\` (seed 2) and $DAY1 of \`sticky_artist\` (seed 1) on the built-in world, \`--threads $THREADS\`.
Every model is trained on both logs: a log of one policy only shows what that policy chose,
and reports 000 and 004 both note that random traffic alone trains poorly.

**Models** (\`botify train --log logs/random.jsonl.gz logs/sticky.jsonl.gz --threads $THREADS\` plus):

| model | flags | test MSE | avg | best epoch | epochs | stopped | time |
|---|---|---:|---:|---:|---:|---|---:|
$(for m in two-tower sum sum-report hybrid dot; do train_row "$m"; done)

- \`two-tower\` (report 000): the defaults (emb 32, hidden 64, out 32, the start's artist in the
  context tower; docs/train.md).
- \`sum\` (report 002): the report's emb 64 and batch 2048, but lr 0.01 and at most 30 epochs;
  \`sum-report\` is the report's exact lr 0.05, which diverges here: see
  [002](#002-start--user-embeddings).
- \`hybrid\` (report 003): emb 64, lr 1e-3 with early stopping (at lr 0.01 it early-stops after
  5 epochs with a worse contextual export).
- \`dot\`: start · track, the seminar's contextual NN model.

**Exports** (\`botify export --k K\`): \`two-tower\` tracks_with_recs.json and recommendations.json
(K 100), \`sum\` and \`dot\` tracks_with_recs.json (K 100), \`hybrid\` both lists with K 50 (report
003: "50 neighbours").

### Controls

- *contextual* (reports 000, 002, 003): \`$CONTEXTUAL\`, a uniform pick among the 100
  neighbours the two-tower model exports for the previous track: the contextual recommender of
  this project's calibration (datasets/README.md). Like the course's contextual NN it beats
  sticky_artist ($(alone "$CONTEXTUAL") vs $(alone sticky_artist) alone).
- *seminar* (the same reports): \`$SEMINAR\`, the export of the seminar's own architecture
  (start · track, \`--arch dot\`), the architecture of the seminar's contextual NN that the
  reports compared against. On this world
  it is a weak control: $(alone "$SEMINAR") alone, below sticky_artist and toppop
  ($(alone toppop)); its test MSE is above the 'avg' baseline.
- *DSSM* (report 001): \`$DSSM\`, a uniform pick from the user's list exported from the
  two-tower (its context averaged over the user's logged starts).
- report 004: \`sticky_artist\`.

Experiments: \`botify ab --control C --treatment T1 [--treatment T2] --episodes N --seed $SEED
--threads $THREADS --plot docs/replication/ID-N.svg\` (users split between arms by murmur3 as the
course's service splits them). Where a second treatment (T2) is listed it is a variant the
issue also asks about; it takes its share of the users of the same episodes.

## 000 Two-tower with user context

Claim (report 000): the two-tower network with the user id in the context tower and the artist
on the track side, serving a per-session list computed at the first call, against the
contextual NN: mean_time_per_session 4.961 → 6.691 (+34.9 %, CI [+25.3, +44.4], significant),
mean_tracks_per_session 9.968 → 11.611 (significant), mean_request_latency up (0.68 → 2.34 ms).

Treatment \`nn:model=$TT\`; control *contextual*.

$(tables 000)

Verdicts:

$(claims 000 1 T1 mean_time_per_session "mean_time_per_session up, significant")
$(claims 000 1 T1 mean_tracks_per_session "mean_tracks_per_session up, significant")
$(claims 000 1 T1 mean_request_latency "mean_request_latency up")

Latency is the recommender's in-process wall time per call in ms (a list lookup takes
microseconds; \`nn\` scores the catalog at a session's first call); the report's milliseconds
include Flask and Redis. It is measured, so it changes from run to run.

Against the *seminar* control:

$(compact 000s)

$(claims 000s 1 T1 mean_time_per_session "mean_time_per_session up, significant")

## 001 Ranked list with artist fallback

Claim (report 001): serve the DSSM recommender's user list in rank order instead of a uniform
pick; when a listen is shorter than T = 0.1, play with probability P = 0.3 a track of the
session's most-played artist, otherwise fall back to contextual, and abandon the list for the
rest of the session: mean_time_per_session 4.1 → 5.14 against DSSM ("stat. significant").

T1 is the issue's \`ranked_sticky:model=DIR\`: its primary list is the two-tower's ranking for
(user, start track), the list \`nn\` serves. T2 (\`users=\`) serves the control's own user list
in rank order: the report's idea applied to exactly the DSSM list, which isolates the ordering
and the fallback from the model's session context. Both fall back to the *contextual* lists.

$(tables 001)

Verdicts:

$(claims 001 1 T1 mean_time_per_session "T1 (model list) mean_time_per_session up, significant")
$(claims 001 1 T2 mean_time_per_session "T2 (the control's user list) mean_time_per_session up, significant")

For scale: alone, \`nn\` over the same model serves $(alone "nn:model=$TT") and T1 $(alone "$RS_MODEL"):
on top of the model's ranked list the artist fallback adds little.

## 002 Start + user embeddings

Claim (report 002): prediction (start_embedding + user_embedding) · track_embedding with
embedding 64, learning rate 0.05, batch 2048, up to 300 epochs, exported to the contextual
format and served by the contextual recommender; better than the seminar's contextual NN (no
table).

T1 serves the model through \`nn\` (the ranked session list), T2 through its exported contextual
list (the report's way); the issue allows either.

**Training at the report's settings.** With lr 0.05 (\`sum-report\`, 8 epochs) training
diverges: validation MSE $(awk '/^epoch +1 /{ print $6 }' "$SR" | tr -d '*') after epoch 1, training MSE up to
$(awk '/^epoch/{ if ($4 > m) m = $4 } END { print m }' "$SR") in the following epochs, best validation MSE
$(awk '/^epoch/{ v = $6; gsub(/\*/, "", v); if (m == "" || v < m) m = v } END { print m }' "$SR") against the 'avg' baseline's
$(awk -F' *[|] *' '/^\| sum \|/{ print $4 }' out/train-sum-report.out); \`nn\` over it serves $(alone "nn:model=models/sum-report"), random's level.
Our embedding tables take lazy-Adam steps of about lr per coordinate on every touched row, so at
0.05 dot products of 64 terms blow up; the report does not name its optimizer (plain SGD at 0.05
takes far smaller steps). At lr 0.01 (\`sum\`) training is stable. At the default 1e-3 it
overfits quickly, as the previous developer found (a one-off run, not part of this script:
training MSE 0.015 against validation 0.087 by epoch 20, validation never below the 'avg'
baseline in 238 epochs, 8 minutes). At every setting we tried its test MSE stays at or above
the 'avg' baseline: it memorizes (start, track) pairs; yet its ranking for a given
(user, start), which \`nn\` serves, is the best of any model here ($(alone "nn:model=models/sum")
alone), while its contextual export, ranked for the mean user, is not
($(alone "contextual:file=models/sum/tracks_with_recs.json")).

$(tables 002)

Verdicts:

$(claims 002 0 T1 mean_time_per_session "T1 (\`nn\` over the sum model) mean_time_per_session up")
$(claims 002 0 T2 mean_time_per_session "T2 (contextual over its export) mean_time_per_session up")

Against the *seminar* control:

$(compact 002s)

$(claims 002s 0 T1 mean_time_per_session "T1 (\`nn\`) mean_time_per_session up")
$(claims 002s 0 T2 mean_time_per_session "T2 (contextual over its export) mean_time_per_session up")

## 003 Hybrid with user term

Claim (report 003): prediction sigmoid(start · track + Linear(user ⊙ track)), trained with
(R)MSE, 50 neighbours exported per track, served by a contextual recommender whose fallback is
indexed, then top-pop, instead of random: mean_time_per_session 5.339 → 6.015 (significant),
mean_tracks_per_session 10.30 → 11.05 (significant).

The treatment is \`$HYBRID_REC\`: contextual over the hybrid's 50-neighbour export, falling back
to the user's list exported from the same model, then to toppop. The export lists every track,
so on this world the fallback would only answer for a track outside the catalog: it never
fires, and the experiment compares exported lists. (Served through \`nn\` instead, the hybrid
gives $(alone "nn:model=models/hybrid") alone.)

$(tables 003)

Verdicts:

$(claims 003 1 T1 mean_time_per_session "mean_time_per_session up, significant")
$(claims 003 1 T1 mean_tracks_per_session "mean_tracks_per_session up, significant")

Against the *seminar* control (the architecture report 003 modified):

$(compact 003s)

$(claims 003s 1 T1 mean_time_per_session "mean_time_per_session up, significant")
$(claims 003s 1 T1 mean_tracks_per_session "mean_tracks_per_session up, significant")

## 004 Sticky artist with dislikes

Claim (report 004): sticky_artist that never recommends tracks the user disliked in the logs
(listen time ≤ 0.2), prefers liked ones (≥ 0.8), mixes in contextual picks and switches to
contextual after k failed picks: better than sticky_artist (screenshots, no numbers).

T1 is \`sticky_plus\` with its defaults (k = 3, a miss is a listen below 0.2, contextual mix
0.3, the *contextual* lists); likes and dislikes come from both day-1 logs (a track's best listen
per user). It also never replays a track within a session (a replay earns 0 in the simulator).
T2 is the same without the contextual mix (\`mix=0\`).

$(tables 004)

Verdicts:

$(claims 004 0 T1 mean_time_per_session "T1 mean_time_per_session up")
$(claims 004 0 T2 mean_time_per_session "T2 (no mix) mean_time_per_session up")

## Notes

- **The control decides 003 and 002's T2.** Against this project's contextual recommender
  (the two-tower's export) the hybrid's list and the sum model's list lose; against the export
  of the seminar's start · track model they win clearly. The reports' controls were the
  course's contextual NN, which in the course beat sticky_artist, as our *contextual* does and
  our *seminar* does not: *contextual* plays the role the reports' control played, so we
  count it first, and show both.
- **Levels differ, ratios less so.** Our sessions are shorter than the course's (the built-in
  world is calibrated to the course's order of recommenders, not to its absolute times).
- **What our recommenders add or leave out.** \`sticky_plus\` also never replays a track within
  a session (the report does not say either way; a replay is always 0.0 here, and liked-first
  picks would otherwise repeat). \`ranked_sticky\`'s artist picks are uniform over the artist's
  tracks, played ones included, as \`sticky_artist\`'s are. The hybrid's indexed → toppop
  fallback never fires on a complete export.
- **Chosen on this world.** The sum model's lr (0.01) and the hybrid's (1e-3) were picked after
  a few runs on this same world and seed (report 001's T and P, tuned by its author on the
  course's world, are used as given); the \`sticky_plus\` defaults (k = 3, miss 0.2,
  mix 0.3) were not tuned (a sweep on another seed found mix = 0 best, hence T2).
- Latency effects are wall time of in-process calls and differ between runs; every other number
  is reproducible from the seeds and \`THREADS\` (training's sums depend on the OpenBLAS
  thread count; simulations do not).

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
