#!/bin/bash
# The conventions of a Unix command line: did-you-mean for commands and
# options, integer bounds written as integers, the commit in --version, man
# pages and completion scripts rendered from the same tables as --help.
. "$(dirname "$0")/lib.sh"

check "a mistyped command gets a suggestion"
expect_exit 2 "$BOTIFY" simualte --episodes 10
expect_stderr "unknown command 'simualte' \(did you mean 'simulate'\?\)"
expect_stderr "see 'botify help'"
expect_exit 2 "$BOTIFY" help trian
expect_stderr "unknown command 'trian' \(did you mean 'train'\?\)"
expect_exit 2 "$BOTIFY" completon bash
expect_stderr "did you mean 'completion'"

check "help knows help and completion too"
expect_exit 0 "$BOTIFY" help completion
expect_stdout '^usage: botify completion bash\|zsh\|commands'
expect_exit 0 "$BOTIFY" help help
expect_stdout '^usage: botify COMMAND'

check "a command far from every name gets no suggestion"
expect_exit 2 "$BOTIFY" zzzzzzzz
expect_stderr "unknown command 'zzzzzzzz'$"

check "a mistyped option gets a suggestion"
expect_exit 2 "$BOTIFY" simulate --episods 10 --recommender random
expect_stderr "unknown option '--episods' \(did you mean --episodes\?\)"
expect_one_line_error

check "integer bounds are written as integers"
expect_exit 2 "$BOTIFY" ab --control random --treatment random --episodes 10000000000000000
expect_stderr "out of range \(1 to 1000000000000000\)"
expect_no_stderr 'e\+'
expect_exit 2 "$BOTIFY" datagen --out "$T/w" --seed 9007199254740993
expect_stderr "out of range \(0 to 9007199254740992\)"

check "simulate --episodes 0 is refused like ab --episodes 0"
expect_exit 2 "$BOTIFY" simulate --episodes 0 --recommender random
expect_stderr "--episodes 0 is out of range \(1 to "
expect_one_line_error
expect_exit 2 "$BOTIFY" ab --control random --treatment random --episodes 0
expect_stderr "--episodes 0 is out of range \(1 to "

check "--version names the commit the binary was built from"
expect_exit 0 "$BOTIFY" --version
commit=$(sed -nE 's/^botify [0-9.]+ \(commit (.*)\)$/\1/p' "$OUT")
[ -n "$commit" ] || fail "no commit in --version"
if git -C "$REPO_DIR" rev-parse --git-dir >/dev/null 2>&1; then
	# the binary may predate HEAD (built, then committed): the commit must be
	# one of this repository's, as 'git describe' names it (TAG-N-gHASH or
	# HASH, then -dirty for uncommitted changes)
	hash=${commit%-dirty}
	hash=${hash##*-g}
	git -C "$REPO_DIR" cat-file -e "$hash^{commit}" 2>/dev/null ||
		fail "commit '$commit' is not a commit of this repository"
else
	expect_eq unknown "$commit" "commit outside git"
fi

check "a world without tracks.npy: the error says how to make embeddings"
tiny_world "$T/w1"
rm "$T/w1/tracks.npy"
expect_exit 2 "$BOTIFY" simulate --world "$T/w1" --episodes 10 --recommender random
expect_stderr "has no tracks.npy"
expect_stderr "botify export --model MODEL --embeddings $T/w1/tracks.npy"
expect_stderr "botify datagen --out TMP --tracks 500"
expect_one_line_error

check "the advice works: synthetic embeddings, then a model's learned ones"
"$BOTIFY" datagen --out "$T/emb" --tracks 500 --users 1 --dim 8 >/dev/null 2>&1
cp "$T/emb/tracks.npy" "$T/w1/tracks.npy"
expect_exit 0 "$BOTIFY" simulate --world "$T/w1" --episodes 1500 --recommender random --log "$T/w1.jsonl"
expect_exit 0 "$BOTIFY" train --world "$T/w1" --log "$T/w1.jsonl" --model "$T/m1" --epochs 2 --emb 8 --hidden 8 --out 8 --threads 1
expect_exit 0 "$BOTIFY" export --model "$T/m1" --world "$T/w1" --embeddings "$T/w1/tracks.npy" --force
expect_exit 0 "$BOTIFY" simulate --world "$T/w1" --episodes 100 --recommender random --format json
expect_stdout '"episodes": 100'

check "every command's man page lists every option of its --help"
for cmd in $("$BOTIFY" completion commands); do
	"$BOTIFY" "$cmd" --help >"$T/help" || fail "$cmd --help"
	"$BOTIFY" "$cmd" --help-man >"$T/man" || fail "$cmd --help-man"
	grep -q "^\.TH BOTIFY-${cmd^^} 1" "$T/man" || fail "$cmd: no .TH"
	for opt in $(grep -oE '^  --[a-z0-9-]+' "$T/help"); do
		grep -qF "\\fB${opt//-/\\-}\\fR" "$T/man" || fail "$cmd: $opt is in --help but not in the man page"
	done
done

check "the completion scripts complete commands, options and recommenders"
expect_exit 0 "$BOTIFY" completion bash
cp "$OUT" "$T/botify.bash"
# shellcheck disable=SC1091
run bash -c '
	source "$1"
	comp() { COMP_LINE=$1; COMP_POINT=${#1}; COMPREPLY=(); _botify; echo "${COMPREPLY[*]}"; }
	complete -p botify
	comp "botify sim"
	comp "botify simulate --epi"
	comp "botify simulate --recommender sticky"
	comp "botify ab --control contextual:"
	comp "botify simulate --format "' _ "$T/botify.bash"
expect_stdout '^complete -F _botify botify$'
expect_stdout '^simulate$'
expect_stdout '^--episodes$'
expect_stdout '^sticky_artist: sticky_plus:$'   # both take key=value options
expect_stdout '^file= fallback=$'
expect_stdout '^table json$'
expect_exit 0 "$BOTIFY" completion zsh
expect_stdout '^#compdef botify'
expect_stdout "'--episodes\[sessions to simulate\]:N:'"
expect_exit 2 "$BOTIFY" completion fish
expect_stderr "unknown shell 'fish'"

check "the zsh completion is valid zsh"
if command -v zsh >/dev/null; then
	"$BOTIFY" completion zsh >"$T/_botify"
	expect_exit 0 zsh -n "$T/_botify"
	expect_exit 0 zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit && compinit -u -D &&
		print -r -- "$_comps[botify]"' _ "$T"
	expect_stdout '^_botify$'
else
	skip "zsh not installed"
fi

check "messages agree in number: 1 thread, 1 session; two logs are not called an experiment"
W="$DATA_DIR/e2e/world"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 20 --threads 1 --max-steps 1 --log "$T/one.jsonl"
expect_stderr "day 0, 1 thread$"
expect_no_stderr "1 threads"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 20 --threads 2 --recommender sticky_artist --log "$T/two.jsonl"
expect_stderr "day 0, 2 threads$"
expect_exit 0 "$BOTIFY" ab --control-log "$T/one.jsonl" --treatment-log "$T/two.jsonl" --plot "$T/two.svg"
expect_stdout "^two logs without an experiment: control C \\($T/one.jsonl\\)$"
expect_no_stdout "experiment two logs"
grep -q ">A/B test of two logs: $T/two.jsonl vs control" "$T/two.svg" || fail "plot title: $(grep -o '<text[^>]*>A/B[^<]*' "$T/two.svg")"
# two runs over the same users, not all in both: a note, not the warning of a broken split
"$BOTIFY" simulate --world "$W" --episodes 30 --seed 9 --recommender sticky_artist --log "$T/three.jsonl" --quiet >/dev/null
expect_exit 0 "$BOTIFY" ab --control-log "$T/one.jsonl" --treatment-log "$T/three.jsonl"
expect_stderr "note: [0-9]+ users are in both logs \(two runs over the same users\)"
expect_no_stderr "warning"
head -n 1 "$T/one.jsonl" | sed 's/"message": "next"/"message": "last"/' >"$T/cut.jsonl"
expect_exit 2 "$BOTIFY" ab --control-log "$T/cut.jsonl" --treatment-log "$T/two.jsonl"
expect_stderr "arm 'C' has 1 user with a finished session"

check "a mistyped recommender or recommender key gets a suggestion, in every command that takes a spec"
expect_exit 2 "$BOTIFY" simulate --world "$DATA_DIR/e2e/world" --episodes 1 --recommender stiky_artist
expect_stderr "unknown recommender 'stiky_artist' \(did you mean 'sticky_artist'\? known: random,"
expect_one_line_error
expect_exit 2 "$BOTIFY" ab --world "$DATA_DIR/e2e/world" --episodes 10 --control randm --treatment sticky_artist
expect_stderr "unknown recommender 'randm' \(did you mean 'random'\?"
expect_exit 2 "$BOTIFY" simulate --world "$DATA_DIR/e2e/world" --episodes 1 --recommender toppop:kk=3
expect_stderr "toppop: unknown key 'kk' \(did you mean 'k'\? known: file,log,k\)"
expect_exit 2 "$BOTIFY" simulate --world "$DATA_DIR/e2e/world" --episodes 1 --recommender word2vec
expect_no_stderr "did you mean"

check "make demo colours its commands only on a terminal, and not with NO_COLOR"
# a stand-in botify: the script's own output is what is checked, not the run
printf '#!/bin/sh\nexit 0\n' >"$T/fakebot"
chmod +x "$T/fakebot"
BOTIFY="$T/fakebot" DEMO_DIR="$T/demo" bash "$REPO_DIR/scripts/demo.sh" >"$T/demo.out" 2>&1 </dev/null
assert test $? = 0
grep -q '^\$ .*fakebot simulate' "$T/demo.out" || fail "no command line in: $(cat "$T/demo.out")"
! grep -q "$(printf '\033')" "$T/demo.out" || fail "escape codes in a pipe: $(cat -v "$T/demo.out" | head -3)"
if command -v script >/dev/null; then
	script -qec "env BOTIFY='$T/fakebot' DEMO_DIR='$T/demo' bash '$REPO_DIR/scripts/demo.sh'" /dev/null \
		>"$T/tty.out" 2>&1 </dev/null
	grep -q "$(printf '\033')\[1m" "$T/tty.out" || fail "no bold on a terminal: $(cat -v "$T/tty.out" | head -3)"
	script -qec "env NO_COLOR=1 BOTIFY='$T/fakebot' DEMO_DIR='$T/demo' bash '$REPO_DIR/scripts/demo.sh'" /dev/null \
		>"$T/nocolor.out" 2>&1 </dev/null
	! grep -q "$(printf '\033')" "$T/nocolor.out" || fail "escape codes with NO_COLOR: $(cat -v "$T/nocolor.out" | head -3)"
else
	skip "script(1) is not installed: the terminal half is not checked"
fi

finish
