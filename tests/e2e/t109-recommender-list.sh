#!/bin/bash
# The recommender list of the README and of every --help that takes a SPEC
# comes from the registry: the names the library knows (as its "unknown
# recommender" error lists them), in its order, nothing more, nothing less.
. "$(dirname "$0")/lib.sh"
cd "$REPO_DIR" || exit 2

check "the library's registry, from its own error"
expect_exit 2 "$BOTIFY" simulate --episodes 1 --recommender no_such_recommender
expect_stderr "known: "
registry=$(sed -nE 's/.*\(known: ([^)]*)\).*/\1/p' "$ERR" | tr -d ' ' | tr ',' '\n')
assert [ "$(printf '%s\n' "$registry" | wc -l)" -ge 5 ]

# the names of a --help's recommender block: its indented usage lines
help_names() {
	sed -n '/^recommenders (SPEC/,/^details:/p' "$1" | grep -E '^  [a-z]' | sed -E 's/^  ([a-z_]+).*/\1/'
}

for cmd in simulate ab serve; do
	check "$cmd --help lists every registered recommender, in the registry's order"
	expect_exit 0 "$BOTIFY" $cmd --help
	expect_eq "$registry" "$(help_names "$OUT")" "$cmd --help's recommenders"
done

check "every recommender in --help has its summary under it"
expect_exit 0 "$BOTIFY" simulate --help
n_usage=$(sed -n '/^recommenders (SPEC/,/^details:/p' "$OUT" | grep -cE '^  [a-z]')
n_summary=$(sed -n '/^recommenders (SPEC/,/^details:/p' "$OUT" | grep -cE '^      [^ ]')
expect_eq "$n_usage" "$n_summary" "summary lines"

check "the README's table is the registry's, as the generator writes it"
expect_exit 0 "$BOTIFY" --help-recommenders-md
readme=$(sed -n '/^<!-- recommenders: begin/,/^<!-- recommenders: end/p' README.md | sed '1d;$d')
expect_eq "$(cat "$OUT")" "$readme" "README.md's table (scripts/readme_recommenders.sh rewrites it)"
names=$(printf '%s\n' "$readme" | sed -nE 's/^\| `([a-z_]+).*/\1/p')
expect_eq "$registry" "$names" "README.md's recommenders"

finish
