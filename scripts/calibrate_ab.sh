#!/bin/bash
# The calibration battery of `botify ab`: does a 95 % interval cover the
# truth 95 % of the time, and does alpha = 0.05 flag 5 % of A/A tests?
#
#   BOTIFY=./botify scripts/calibrate_ab.sh [options]      (or: make calibrate-ab)
#     --runs R        experiments per cell (default 200)
#     --sizes "N..."  episodes of the A/A tests (default "2000 20000")
#     --cover-n N     episodes of the coverage runs (default 2000)
#     --truth-x X     the truth is one paired run of X * cover-n episodes (default 100)
#     --world DIR     a world directory (default: the built-in world)
#     --jobs J        experiments run at once (default: the number of cores)
#     --out DIR       raw per-run tables and the summary (default: calibration-ab)
#     --svg FILE      also draw the rates with their intervals (SVG)
#
# Cells: A/A tests (random against random) for each design and size, and
# coverage runs for a large effect (sticky_artist against random, about
# +84 %) and a small one (toppop:k=35000 against random, about +4 %), for
# each design. Every run is a real `botify ab` process with its own seed
# (1..R), so each is an independent randomization (split) or an
# independent set of sessions (paired). Both interval kinds come from the
# same runs: `--ci delta` is botify's relative interval, `--ci notebook`
# is its absolute interval divided by the control mean, which is what
# `--ci notebook` prints. The truth of a coverage cell is the effect of one
# paired run truth-x times larger (all of the world's users, many sessions
# each): the effect over the population that both designs estimate.
#
# Power: a paired pilot of cover-n episodes of the small effect asks
# `--power --mde TRUTH` how many episodes detect the true effect of
# mean_time_per_session with 80 % power; R experiments of that size then
# measure how often they do.
#
# Prints markdown tables: the false-positive rate per metric with its
# Wilson 95 % interval, the coverage of the true effect with its interval,
# the mean interval width, and the power reached. A benchmark, not a test:
# it takes minutes to hours (every run searches the world's interest
# neighbours unless botify caches them).
set -eu
BOTIFY=${BOTIFY:-$(cd "$(dirname "$0")/.." && pwd)/botify}
RUNS=200 SIZES="2000 20000" COVER_N=2000 TRUTH_X=100 WORLD="" OUT=calibration-ab SVG=""
JOBS=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--sizes) SIZES=$2; shift 2 ;;
	--cover-n) COVER_N=$2; shift 2 ;;
	--truth-x) TRUTH_X=$2; shift 2 ;;
	--world) WORLD=$2; shift 2 ;;
	--jobs) JOBS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--svg) SVG=$2; shift 2 ;;
	*) echo "calibrate_ab.sh: unknown option '$1' (see the comment at the top)" >&2; exit 2 ;;
	esac
done
METRICS=time,mean_tracks_per_session,mean_time_per_session
BIG=sticky_artist SMALL=toppop:k=35000
mkdir -p "$OUT/raw"
WORLD_ARGS=()
[ -n "$WORLD" ] && WORLD_ARGS=(--world "$WORLD")

# bash's own `export -f` keeps the job runner in this file
run_one() {
	local name=$1 control=$2 treatment=$3 design=$4 n=$5 seed=$6
	[ -s "$OUT/raw/$name.csv" ] && return 0 # resumable
	"$BOTIFY" ab "${WORLD_ARGS[@]}" --control "$control" --treatment "$treatment" --design "$design" \
		--episodes "$n" --seed "$seed" --threads 1 --metrics "$METRICS" --format csv \
		>"$OUT/raw/$name.tmp" 2>"$OUT/raw/$name.err" || { echo "failed: $name (see $OUT/raw/$name.err)" >&2; return 1; }
	mv "$OUT/raw/$name.tmp" "$OUT/raw/$name.csv"
}
export -f run_one
export BOTIFY OUT METRICS
export WORLD_ARGS_STR="${WORLD_ARGS[*]:-}"

start=$(date +%s)
echo "calibrate_ab: truth runs of $((TRUTH_X * COVER_N)) episodes" >&2
for pair in big:$BIG small:$SMALL; do
	name=truth-${pair%%:*}
	[ -s "$OUT/raw/$name.csv" ] && continue
	"$BOTIFY" ab "${WORLD_ARGS[@]}" --control random --treatment "${pair#*:}" --design paired \
		--episodes $((TRUTH_X * COVER_N)) --seed 424242 --metrics "$METRICS" --format csv \
		>"$OUT/raw/$name.csv" 2>"$OUT/raw/$name.err"
done
# the power cell: the pilot's answer for the size of the true effect of the
# small pair (its sign is the world's: --mde takes the size)
mde=$(awk -F, '$2 == "mean_time_per_session" { v = $3; sub(/^-/, "", v); print v }' "$OUT/raw/truth-small.csv")
if [ ! -s "$OUT/raw/pilot.json" ]; then
	"$BOTIFY" ab "${WORLD_ARGS[@]}" --control random --treatment "$SMALL" --design paired \
		--episodes "$COVER_N" --seed 777777 --metrics mean_time_per_session --power --mde "$mde" \
		--format json >"$OUT/raw/pilot.json" 2>"$OUT/raw/pilot.err"
fi
POWER_N=$(grep -o '"sessions_per_arm": [0-9]*' "$OUT/raw/pilot.json" | grep -o '[0-9]*$')
echo "calibrate_ab: the pilot says $POWER_N episodes detect $mde % with 80 % power" >&2

# one line per experiment: NAME CONTROL TREATMENT DESIGN EPISODES SEED
{
	for d in paired split; do
		for n in $SIZES; do
			for s in $(seq 1 "$RUNS"); do echo "aa-$d-$n-$s random random $d $n $s"; done
		done
		for s in $(seq 1 "$RUNS"); do
			echo "big-$d-$COVER_N-$s random $BIG $d $COVER_N $s"
			echo "small-$d-$COVER_N-$s random $SMALL $d $COVER_N $s"
		done
	done
	for s in $(seq 1 "$RUNS"); do echo "pow-paired-$POWER_N-$s random $SMALL paired $POWER_N $s"; done
} >"$OUT/jobs.txt"

echo "calibrate_ab: $(wc -l <"$OUT/jobs.txt") experiments on $JOBS jobs" >&2
# shellcheck disable=SC2016
xargs -P "$JOBS" -L 1 bash -c 'WORLD_ARGS=($WORLD_ARGS_STR); run_one "$@"' _ <"$OUT/jobs.txt"
echo "calibrate_ab: done in $(($(date +%s) - start)) s" >&2

# one line per (run, metric): cell design n metric seed lower upper diff_lo diff_hi cmean
for f in "$OUT"/raw/*.csv; do
	base=$(basename "$f" .csv)
	awk -F, -v b="$base" 'NR > 1 { print b, $2, $5, $4, $12, $13, $6, $3 }' "$f"
done >"$OUT/runs.txt"

# the summary: Wilson score intervals for the rates
awk -v out="$OUT" -v svg="$SVG" '
function wilson_lo(k, n,   p, z, c, h) { z = 1.959964; p = k / n; c = (p + z*z/(2*n)) / (1 + z*z/n); h = z * sqrt(p*(1-p)/n + z*z/(4*n*n)) / (1 + z*z/n); return c - h }
function wilson_hi(k, n,   p, z, c, h) { z = 1.959964; p = k / n; c = (p + z*z/(2*n)) / (1 + z*z/n); h = z * sqrt(p*(1-p)/n + z*z/(4*n*n)) / (1 + z*z/n); return c + h }
{
	split($1, p, "-")                     # kind-design-n-seed
	kind = p[1]; design = p[2]; n = p[3]; m = $2
	lo = $3; hi = $4; dlo = $5; dhi = $6; cm = $7; eff = $8
	if (kind == "truth") { truth[design, m] = eff; next }
	# notebook: the absolute interval over the control mean
	nlo = dlo / cm * 100; nhi = dhi / cm * 100
	if (cm < 0) { t = nlo; nlo = nhi; nhi = t }
	if (kind == "pow") { if (m == "mean_time_per_session") { pw_n = n; pw_r++; pw_k += (lo > 0 || hi < 0) }; next }
	key = kind SUBSEP design SUBSEP n SUBSEP m
	if (!(key in runs)) order[++nk] = key
	runs[key]++
	d_sig[key] += (lo > 0 || hi < 0)
	n_sig[key] += (nlo > 0 || nhi < 0)
	lo_[key, runs[key]] = lo; hi_[key, runs[key]] = hi
	nlo_[key, runs[key]] = nlo; nhi_[key, runs[key]] = nhi
	d_w[key] += hi - lo; n_w[key] += nhi - nlo
}
END {
	printf "### A/A tests: false-positive rate at alpha 0.05 (Wilson 95 %% interval)\n\n"
	printf "| design | episodes | metric | runs | --ci delta | --ci notebook |\n|---|---:|---|---:|---|---|\n"
	for (i = 1; i <= nk; i++) {
		split(order[i], k, SUBSEP)
		if (k[1] != "aa") continue
		r = runs[order[i]]
		printf "| %s | %s | %s | %d | %.1f %% [%.1f, %.1f] | %.1f %% [%.1f, %.1f] |\n", k[2], k[3], k[4], r,
			100*d_sig[order[i]]/r, 100*wilson_lo(d_sig[order[i]], r), 100*wilson_hi(d_sig[order[i]], r),
			100*n_sig[order[i]]/r, 100*wilson_lo(n_sig[order[i]], r), 100*wilson_hi(n_sig[order[i]], r)
		print "fpr", k[2], k[3], k[4], r, d_sig[order[i]], n_sig[order[i]] > (out "/summary.txt")
	}
	printf "\n### Coverage of the true effect by the 95 %% interval (Wilson 95 %% interval), and mean width\n\n"
	printf "| effect | design | episodes | metric | truth | runs | --ci delta | width | --ci notebook | width |\n"
	printf "|---|---|---:|---|---:|---:|---|---:|---|---:|\n"
	for (i = 1; i <= nk; i++) {
		split(order[i], k, SUBSEP)
		if (k[1] == "aa") continue
		key = order[i]; r = runs[key]; tr = truth[k[1] == "big" ? "big" : "small", k[4]]
		dc = 0; nc = 0
		for (j = 1; j <= r; j++) {
			dc += lo_[key, j] <= tr && tr <= hi_[key, j]
			nc += nlo_[key, j] <= tr && tr <= nhi_[key, j]
		}
		printf "| %s | %s | %s | %s | %+.2f %% | %d | %.1f %% [%.1f, %.1f] | %.2f | %.1f %% [%.1f, %.1f] | %.2f |\n",
			k[1], k[2], k[3], k[4], tr, r, 100*dc/r, 100*wilson_lo(dc, r), 100*wilson_hi(dc, r), d_w[key]/r,
			100*nc/r, 100*wilson_lo(nc, r), 100*wilson_hi(nc, r), n_w[key]/r
		print "cov", k[1], k[2], k[3], k[4], r, dc, nc, d_w[key]/r, n_w[key]/r, tr > (out "/summary.txt")
	}
	if (pw_r) {
		printf "\n### Power: the pilot'"'"'s episodes for 80 %% power to detect the true effect of mean_time_per_session (small pair, paired)\n\n"
		printf "| episodes | runs | detected (--ci delta) |\n|---:|---:|---|\n"
		printf "| %s | %d | %.1f %% [%.1f, %.1f] |\n", pw_n, pw_r, 100*pw_k/pw_r, 100*wilson_lo(pw_k, pw_r), 100*wilson_hi(pw_k, pw_r)
	}
}' "$OUT/runs.txt"

[ -z "$SVG" ] && exit 0
# the picture: each rate as a dot with its Wilson interval, the nominal
# level as a dashed line; false positives left, coverage right
awk -v W=900 '
function wl(k, n,   p, z, c, h) { z = 1.959964; p = k / n; c = (p + z*z/(2*n)) / (1 + z*z/n); h = z * sqrt(p*(1-p)/n + z*z/(4*n*n)) / (1 + z*z/n); return c - h }
function wh(k, n,   p, z, c, h) { z = 1.959964; p = k / n; c = (p + z*z/(2*n)) / (1 + z*z/n); h = z * sqrt(p*(1-p)/n + z*z/(4*n*n)) / (1 + z*z/n); return c + h }
function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); return s }
# x of a rate on a panel [x0, x0 + w] spanning [a, b]
function px(v, x0, w, a, b) { if (v < a) v = a; if (v > b) v = b; return x0 + (v - a) / (b - a) * w }
$1 == "fpr" { n1++; f_lab[n1] = $2 " " $3 " " $4; f_r[n1] = $5; f_d[n1] = $6; f_n[n1] = $7 }
$1 == "cov" { n2++; c_lab[n2] = sprintf("%+.1f%%: %s %s %s", $11, $3, $4, $5); c_r[n2] = $6; c_d[n2] = $7; c_n[n2] = $8 }
END {
	rows = (n1 > n2 ? n1 : n2); H = 110 + rows * 34
	printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H
	printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
	printf "<text x=\"16\" y=\"24\" font-size=\"15\" font-weight=\"bold\">botify ab calibration: each rate with its Wilson 95%% interval</text>\n"
	printf "<text x=\"16\" y=\"42\" fill=\"#555\">blue: --ci delta, orange: --ci notebook; dashed: the nominal level</text>\n"
	# panel 1: false positives, 0..15 %; panel 2: coverage, 75..100 %
	split("0 0.15 210 210|0.75 1 660 210", P, "|")
	for (panel = 1; panel <= 2; panel++) {
		split(P[panel], q, " "); a = q[1]; b = q[2]; x0 = q[3]; w = q[4]
		nom = panel == 1 ? 0.05 : 0.95; n = panel == 1 ? n1 : n2
		printf "<text x=\"%d\" y=\"70\" font-weight=\"bold\">%s</text>\n", x0, panel == 1 ? "A/A false-positive rate" : "coverage of the true effect"
		y1 = 84; y2 = 84 + n * 34
		for (t = a; t <= b + 1e-9; t += (b - a) / 5) {
			x = px(t, x0, w, a, b)
			printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>\n", x, y1, x, y2
			printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%g%%</text>\n", x, y2 + 16, 100 * t
		}
		x = px(nom, x0, w, a, b)
		printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\" stroke-dasharray=\"4 3\"/>\n", x, y1, x, y2
		for (i = 1; i <= n; i++) {
			y = 84 + (i - 0.5) * 34
			lab = panel == 1 ? f_lab[i] : c_lab[i]; r = panel == 1 ? f_r[i] : c_r[i]
			printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">%s</text>\n", x0 - 6, y + 3, esc(lab)
			for (c = 0; c < 2; c++) {
				k = panel == 1 ? (c ? f_n[i] : f_d[i]) : (c ? c_n[i] : c_d[i])
				col = c ? "#e07b00" : "#1f5fbf"; yy = y - 5 + 10 * c
				printf "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n", px(wl(k, r), x0, w, a, b), yy, px(wh(k, r), x0, w, a, b), yy, col
				printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n", px(k / r, x0, w, a, b), yy, col
			}
		}
	}
	printf "</svg>\n"
}' "$OUT/summary.txt" >"$SVG.tmp" && mv "$SVG.tmp" "$SVG"
echo "calibrate_ab: wrote $SVG" >&2
