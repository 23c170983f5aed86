# lib.sh - helpers for end-to-end tests of the real botify binary.
#
# Source it from a test script; then one titled check at a time:
#
#   check "simulate refuses an existing log"
#   expect_exit 2 "$BOTIFY" simulate --episodes 10 --recommender random --log "$T/log.jsonl"
#   expect_stderr "exists"
#
# expect_exit runs a command, captures its stdout/stderr into $OUT/$ERR (files
# $T/stdout and $T/stderr) and fails the current check unless the exit code
# matches. expect_stdout/expect_stderr grep (extended regex) the last command's
# output. A failed check prints the command, the exit code and the output.
# `finish` prints "N passed, N failed" and exits non-zero on any failure.
# $T is a scratch directory removed at exit; $BOTIFY is the binary under test.

set -u

: "${BOTIFY:?BOTIFY must point at the botify binary}"
T=$(mktemp -d "${TMPDIR:-/tmp}/botify-e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT
# the neighbour cache of every command goes to the scratch directory (hidden:
# tests list $T), never the user's own
export XDG_CACHE_HOME="$T/.cache"
OUT="$T/stdout"
ERR="$T/stderr"
: >"$OUT"
: >"$ERR"
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$E2E_DIR/../.." && pwd)
DATA_DIR="$REPO_DIR/tests/data"

_passed=0
_failed=0
_skipped=0
_title=""
_check_failed=0
_check_skip=""
_last_cmd=""
_last_rc=0

_close_check() {
	if [ -n "$_title" ]; then
		if [ "$_check_failed" != 0 ]; then
			_failed=$((_failed + 1))
			printf 'FAIL %s\n' "$_title"
		elif [ -n "$_check_skip" ]; then
			_skipped=$((_skipped + 1))
			printf 'SKIP %s (%s)\n' "$_title" "$_check_skip"
			[ -n "${E2E_SKIPS:-}" ] &&
				printf '%s: %s (%s)\n' "$(basename "$0")" "$_title" "$_check_skip" >>"$E2E_SKIPS"
		else
			_passed=$((_passed + 1))
			printf 'ok   %s\n' "$_title"
		fi
	fi
	_title=""
	_check_failed=0
	_check_skip=""
}

# skip REASON: the current check cannot run here (a tool or data is missing);
# it is counted as skipped, not passed, and the reason is shown.
skip() {
	_check_skip="$*"
}

# skip_all REASON: skips the rest of the script as one skipped check.
skip_all() {
	_close_check
	_title="remaining checks"
	_check_skip="$*"
	finish
	exit $?
}

# check TITLE: starts a new titled check (closing the previous one).
check() {
	_close_check
	_title="$*"
}

# fail MESSAGE: marks the current check failed, with details.
fail() {
	_check_failed=1
	{
		printf '  %s\n' "$*"
		printf '  command: %s\n' "$_last_cmd"
		printf '  exit: %s\n' "$_last_rc"
		printf '  stdout:\n'
		head -c 2000 "$OUT" | sed 's/^/    /'
		printf '  stderr:\n'
		head -c 2000 "$ERR" | sed 's/^/    /'
	} >&2
}

# run CMD...: runs a command, recording its output and exit code.
run() {
	_last_cmd="$*"
	"$@" >"$OUT" 2>"$ERR"
	_last_rc=$?
	return 0
}

# expect_exit CODE CMD...: runs CMD and expects exit code CODE.
expect_exit() {
	local want=$1
	shift
	run "$@"
	[ "$_last_rc" = "$want" ] || fail "expected exit $want, got $_last_rc"
}

# expect_stdout PATTERN / expect_stderr PATTERN: the last output matches.
expect_stdout() {
	grep -Eq -- "$1" "$OUT" || fail "stdout does not match /$1/"
}
expect_stderr() {
	grep -Eq -- "$1" "$ERR" || fail "stderr does not match /$1/"
}
# expect_no_stdout PATTERN / expect_no_stderr PATTERN
expect_no_stdout() {
	! grep -Eq -- "$1" "$OUT" || fail "stdout unexpectedly matches /$1/"
}
expect_no_stderr() {
	! grep -Eq -- "$1" "$ERR" || fail "stderr unexpectedly matches /$1/"
}

# expect_one_line_error: stderr is exactly one line starting with "botify:",
# optionally followed by a "see 'botify ... --help'" hint.
expect_one_line_error() {
	local n
	n=$(grep -cv "^see 'botify" "$ERR")
	[ "$n" = 1 ] || fail "expected a one-line error, got $n lines"
	head -n 1 "$ERR" | grep -q '^botify: ' || fail "error does not start with 'botify: '"
}

# expect_file PATH / expect_no_file PATH
expect_file() {
	[ -e "$1" ] || fail "expected file $1"
}
expect_no_file() {
	[ ! -e "$1" ] || fail "unexpected file $1"
}

# expect_eq WANT GOT [WHAT]
expect_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

# assert CONDITION-COMMAND... : fails the check unless the command succeeds.
assert() {
	"$@" || fail "assertion failed: $*"
}

# tiny_world DIR [ARGS...]: writes a small world with botify datagen.
tiny_world() {
	local dir=$1
	shift
	"$BOTIFY" datagen --out "$dir" --tracks 500 --users 100 --dim 16 --seed 7 "$@" >/dev/null ||
		{ echo "tiny_world: datagen failed" >&2; exit 1; }
}

# finish: prints the summary and sets the exit status.
finish() {
	_close_check
	printf '%d passed, %d failed, %d skipped\n' "$_passed" "$_failed" "$_skipped"
	[ -n "${E2E_COUNTS:-}" ] && printf '%d %d %d\n' "$_passed" "$_failed" "$_skipped" >>"$E2E_COUNTS"
	[ "$_failed" = 0 ]
}
