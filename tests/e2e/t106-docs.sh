#!/bin/bash
# The repository stands alone: its docs link only to files it has, nothing
# points into directories beside it, and the architecture page names every
# source file (so a new module cannot go undocumented).
. "$(dirname "$0")/lib.sh"
cd "$REPO_DIR" || exit 2

check "README.md and docs link only to files in the repository"
bad=""
for md in README.md docs/*.md datasets/README.md; do
	dir=$(dirname "$md")
	# [text](target) and ![alt](target), one per match
	while IFS= read -r target; do
		target=${target%%#*}
		case $target in
		"" | http://* | https://* | mailto:*) continue ;;
		esac
		if [ ! -e "$dir/$target" ]; then
			bad="$bad $md:$target"
		else
			real=$(cd "$(dirname "$dir/$target")" && pwd)
			[[ $real == "$REPO_DIR" || $real == "$REPO_DIR"/* ]] || bad="$bad $md:$target(outside)"
		fi
	done < <(grep -oE '\]\([^)[:space:]]+\)' "$md" | sed -E 's/^\]\((.*)\)$/\1/')
done
expect_eq "" "$bad" "links to missing or outside files"

check "nothing points into directories beside the repository"
hits=$(grep -rnE '\.\./shared|/work/shared' README.md docs datasets scripts tests lib cmd configs Makefile 2>/dev/null |
	grep -v '^tests/e2e/t106-docs.sh:' | head -n 5)
expect_eq "" "$hits" "references outside the repository"

check "docs/ARCHITECTURE.md names every source file"
missing=""
for f in lib/*.c cmd/*.c; do
	grep -qF "$(basename "$f")" docs/ARCHITECTURE.md || missing="$missing $f"
done
expect_eq "" "$missing" "source files missing from docs/ARCHITECTURE.md"

check "the user model page names the functions it describes, and they exist"
for fn in botify_sim_episode botify_sim_listen_time botify_sim_dot botify_sim_prepare botify_sim_init; do
	grep -q "$fn" docs/USERMODEL.md || fail "docs/USERMODEL.md does not name $fn"
	grep -q "^[a-z].* $fn(" lib/sim.c || fail "lib/sim.c has no $fn"
done

check "README.md and botify(1) name every file of a model directory, and the cache directory"
W="$DATA_DIR/e2e/world"
"$BOTIFY" simulate --world "$W" --episodes 200 --recommender random --log "$T/r.jsonl" --quiet >/dev/null 2>&1
expect_exit 0 "$BOTIFY" train --world "$W" --log "$T/r.jsonl" --model "$T/m" --epochs 1 --quiet
for f in $(ls "$T/m" | grep -v '\.npy$'); do
	grep -q "\`$f\`" README.md || fail "README.md does not name $f of a model directory"
done
"$BOTIFY" --help-man >"$T/botify.1"
grep -q 'XDG_CACHE_HOME/botify' "$T/botify.1" || fail "botify(1) FILES does not name the cache directory"

check "the man pages' EXIT STATUS is what the commands do on Ctrl-C (train and serve exit 0)"
sed -n '/^\.SH EXIT STATUS/,/^\.SH SEE ALSO/p' "$T/botify.1" >"$T/exit.txt"
grep -q 'fBtrain.fR interrupted while it' "$T/exit.txt" || fail "botify(1) does not say train exits 0: $(cat "$T/exit.txt")"
grep -q 'fBserve.fR finishes the running calls' "$T/exit.txt" || fail "botify(1) does not say serve exits 0"
"$BOTIFY" train --help-man | sed -n '/^\.SH EXIT STATUS/,/^\.SH SEE ALSO/p' >"$T/train-exit.txt"
grep -q 'while it trains, 0: the best model so far is saved' "$T/train-exit.txt" ||
	fail "botify-train(1): $(cat "$T/train-exit.txt")"
"$BOTIFY" simulate --help-man | grep -q '^130 interrupted by SIGINT' || fail "botify-simulate(1) lacks 130"

check "make help lists every target with its variables expanded"
if command -v make >/dev/null; then
	out=$(make -s -C "$REPO_DIR" help B=build/x 2>&1)
	echo "$out" | grep -q '^test	' || fail "no test target in: $out"
	echo "$out" | grep -q 'into build/x/man' || fail "the man target does not say build/x: $out"
	! echo "$out" | grep -F '$(' || fail "unexpanded variables"
else
	skip "make is not installed"
fi

finish
