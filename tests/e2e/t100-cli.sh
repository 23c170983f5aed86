#!/bin/bash
# The command line: help, version, exit codes, flag errors.
. "$(dirname "$0")/lib.sh"

check "botify --version prints the version and the commit it was built from"
expect_exit 0 "$BOTIFY" --version
expect_stdout '^botify [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-z-]+\)$'

check "botify help lists the commands on stdout"
expect_exit 0 "$BOTIFY" help
expect_stdout 'simulate'
expect_stdout 'datagen'

check "botify without a command is a usage error"
expect_exit 2 "$BOTIFY"
expect_stderr 'usage: botify COMMAND'

check "an unknown command is a usage error"
expect_exit 2 "$BOTIFY" simulat
expect_stderr "unknown command 'simulat'"

for cmd in datagen simulate; do
	check "botify $cmd --help goes to stdout and exits 0"
	expect_exit 0 "$BOTIFY" "$cmd" --help
	expect_stdout "^usage: botify $cmd"
	expect_stdout 'options:'

	check "botify help $cmd is the same as --help"
	expect_exit 0 "$BOTIFY" help "$cmd"
	expect_stdout "^usage: botify $cmd"
done

check "a malformed number names the flag and the value"
expect_exit 2 "$BOTIFY" simulate --episodes 12x --recommender random
expect_stderr "--episodes expects an integer, got '12x'"
expect_one_line_error

check "an out-of-range number is refused"
expect_exit 2 "$BOTIFY" simulate --episodes 10 --recommender random --threads 0
expect_stderr 'out of range'

check "an unknown option suggests the closest one"
expect_exit 2 "$BOTIFY" simulate --episode 10 --recommender random
expect_stderr "unknown option '--episode' \(did you mean --episodes\?\)"

check "a missing value is reported"
expect_exit 2 "$BOTIFY" simulate --episodes
expect_stderr '--episodes needs a value'

check "--flag=value works"
expect_exit 0 "$BOTIFY" simulate --episodes=5 --recommender=random --world="$DATA_DIR/e2e/world" --threads=1
expect_stdout '\| - \| random \| 5 \|'

check "a required flag that is missing is named"
expect_exit 2 "$BOTIFY" simulate --recommender random
expect_stderr '--episodes N is required'

check "a failed write to stdout is an error, not success"
if [ -w /dev/full ]; then
	run sh -c "'$BOTIFY' --version >/dev/full"
	expect_eq 2 "$_last_rc" "exit code with stdout on /dev/full"
fi

finish
