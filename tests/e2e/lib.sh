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

# tiny_model WORLD EPISODES EPOCHS: a small nn model of WORLD in $T/m,
# trained on the log of EPISODES sticky_artist sessions ($T/train.jsonl).
tiny_model() {
	"$BOTIFY" simulate --world "$1" --episodes "$2" --recommender sticky_artist --seed 3 \
		--log "$T/train.jsonl" >/dev/null &&
		"$BOTIFY" train --world "$1" --log "$T/train.jsonl" --model "$T/m" --emb 8 --hidden 16 \
			--out 8 --batch 256 --epochs "$3" --threads 1 >/dev/null 2>&1 ||
		{ echo "tiny_model: training the test model failed" >&2; exit 1; }
}

# damage FILE HOW FLIP_AT: damages a cache file as a disk or another
# program might: flip (one byte at offset FLIP_AT), truncate (its last 5
# bytes cut), magic (its first 8 bytes), foreign (16 bytes at offset 16),
# empty.
damage() {
	local f=$1 how=$2 at=$3
	case $how in
	flip) printf '\x7f' | dd of="$f" bs=1 seek="$at" conv=notrunc status=none ;;
	truncate) truncate -s -5 "$f" ;;
	magic) printf 'NOTBOTIF' | dd of="$f" bs=1 seek=0 conv=notrunc status=none ;;
	foreign) printf 'deadbeefdeadbeef' | dd of="$f" bs=1 seek=16 conv=notrunc status=none ;;
	empty) : >"$f" ;;
	*) echo "damage: unknown way '$how'" >&2; exit 1 ;;
	esac
}

# mpi_setup: $MPIBOT, the MPI build ($BOTIFY_MPI or build/mpi/botify), and
# Open MPI's environment for ranks on this machine; skips the rest of the
# script when the build or mpirun is missing.
mpi_setup() {
	MPIBOT=${BOTIFY_MPI:-$REPO_DIR/build/mpi/botify}
	[ -x "$MPIBOT" ] || skip_all "no MPI build at $MPIBOT (make MPI=1 B=build/mpi)"
	command -v mpirun >/dev/null || skip_all "mpirun not found (Debian: openmpi-bin)"
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
	# no network interface needed: the ranks are local
	export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
}

# mpi NP ARGS...: the MPI build on NP ranks, bounded in time.
mpi() {
	local np=$1
	shift
	timeout 120 mpirun -np "$np" --oversubscribe "$MPIBOT" "$@"
}

# finish: prints the summary and sets the exit status.
finish() {
	_close_check
	printf '%d passed, %d failed, %d skipped\n' "$_passed" "$_failed" "$_skipped"
	[ -n "${E2E_COUNTS:-}" ] && printf '%d %d %d\n' "$_passed" "$_failed" "$_skipped" >>"$E2E_COUNTS"
	[ "$_failed" = 0 ]
}
