#!/bin/bash
# exec: with the example recommenders and with children that crash, hang,
# print garbage or die unread; no process is left behind (ps). remote:
# against servers that refuse, answer errors or time out.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need ps

W="$T/world"
tiny_world "$W"
EX="$REPO_DIR/scripts/examples"
SIM=(simulate --world "$W" --episodes 200 --seed 5 --threads 2)

check "the shell example: recommendations are the next track id"
expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='sh $EX/next_track.sh 500'" --log "$T/sh.jsonl"
expect_stdout "exec:cmd='sh .*next_track.sh 500' \| 200 \|"
run awk '/"next"/ { match($0, /"track": [0-9]+/); t = substr($0, RSTART + 9, RLENGTH - 9);
	match($0, /"recommendation": [0-9]+/); r = substr($0, RSTART + 18, RLENGTH - 18);
	if (r != (t + 1) % 500) { print "track " t " got " r; bad = 1 } } END { exit bad }' "$T/sh.jsonl"
expect_eq 0 "$_last_rc" "recommendation = track + 1"

check "the Python example runs, the same on 1 and 2 threads"
if command -v python3 >/dev/null; then
	expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='python3 $EX/next_track.py 500'" --log "$T/py2.jsonl"
	expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='python3 $EX/next_track.py 500'" --threads 1 --log "$T/py1.jsonl"
	cmp -s <(strip_log "$T/py1.jsonl") <(strip_log "$T/py2.jsonl") || fail "1 and 2 threads differ"
else
	skip "python3 not installed"
fi

cat >"$T/crash.sh" <<'EOF'
while IFS= read -r line; do
	case $line in
	*'"user":13,'*) exit 3 ;;
	*'"message":"last"'*) echo '{}' ;;
	*) echo '{"track":1}' ;;
	esac
done
EOF
cat >"$T/hang.sh" <<'EOF'
read -r line
sleep 977
EOF

# no process of ours (a "sleep 977" grandchild) survives
no_leftovers() {
	sleep 0.1
	ps -eo args | grep -q '^sleep 977$' && fail "a 'sleep 977' process was left running"
}

check "a child that exits: the error names the call, the exit status and the command"
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='read -r l; exit 3'"
expect_one_line_error
expect_stderr "exec:cmd='read -r l; exit 3'.*next call \(user [0-9]+, track [0-9]+, time 1\.0\): the child exited with status 3"

check "a child that hangs is killed after --rec-timeout, with what it started"
start=$(date +%s)
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='sh $T/hang.sh'" --rec-timeout 0.3
expect_stderr 'no answer within 0.3 s \(rec timeout\); the child was killed'
[ $(($(date +%s) - start)) -lt 5 ] || fail "the run took too long"
no_leftovers

check "garbage, several lines, a line without newline, a bad track, a reported error"
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='while read -r l; do echo hello; done'"
expect_stderr "the answer is not JSON: 'hello'"
printf 'while read -r l; do echo "{\\"track\\":1}"; echo "{\\"track\\":2}"; done\n' >"$T/twice.sh"
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='sh $T/twice.sh'"
expect_stderr "wrote '\{\"track\":[12]\}.*' before it was asked"
# the extra line comes late, after botify has taken the answer: the next request finds it
printf 'n=0; while read -r l; do echo "{\\"track\\":1}"; n=$((n + 1)); [ $n = 3 ] && { sleep 0.2; echo "{\\"track\\":7}"; }; done\n' >"$T/late.sh"
expect_exit 2 "$BOTIFY" "${SIM[@]}" --threads 1 --recommender "exec:cmd='sh $T/late.sh'"
expect_stderr "wrote '\{\"track\":[17]\}.*' before it was asked"
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='read -r l; printf abc'"
expect_stderr "after writing 'abc' without a newline"
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='while read -r l; do echo {}; done'"
expect_stderr "no integer 'track'"
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='while read -r l; do echo {\\\"track\\\": 900}; done'"
expect_stderr 'returned track 900 for user [0-9]+ \(catalog has 500 tracks\)'
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='while read -r l; do echo {\\\"error\\\": \\\"no model\\\"}; done'"
expect_stderr "the recommender reported an error: 'no model'"

check "a child inherits only its stdin, stdout and stderr (not the log, not sockets)"
cat >"$T/fds.sh" <<'SH'
leaks=$(ls -l /proc/$$/fd | grep -E 'socket:|\.tmp\.|jsonl' | sed 's/.* \([0-9]* -> .*\)/\1/' | tr '\n' ';')
while read -r l; do
	if [ -z "$leaks" ]; then echo '{"track":1}'; else echo "{\"error\":\"inherited: $leaks\"}"; fi
done
SH
expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='sh $T/fds.sh'" --log "$T/fds.jsonl.gz"

check "a child that dies unread does not kill botify with SIGPIPE"
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='exit 0'"
expect_stderr 'the child exited with status 0'
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender "exec:cmd='nosuchcommand-xyz'"
expect_stderr 'status 127 \(command not found\?\)'

check "exec and remote specs are checked"
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender exec
expect_stderr 'exec: needs cmd='
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender remote:url=ftp://x
expect_stderr 'must start with http://'

need curl

check "serve with an exec child that crashes: 500, a new child, no zombies"
start_serve ex --world "$W" --recommender "exec:cmd='sh $T/crash.sh'" --threads 2 || exit 1
pid=$SERVE_PID
URL="http://127.0.0.1:$SERVE_PORT"
run curl -s -w ' %{http_code}' -XPOST -d '{"track": 4, "time": 1.0}' "$URL/next/13"
expect_stdout 'the child exited with status 3.* 500$'
for u in 1 2 3 4; do
	run curl -s -XPOST -d '{"track": 4, "time": 1.0}' "$URL/next/$u"
	expect_stdout '^\{"user": '$u', "track": 1\}$'
done
run curl -s -w ' %{http_code}' -XPOST -d '{"track": 4, "time": 1.0}' "$URL/next/13"
expect_stdout ' 500$'
sleep 0.1
ps -o stat= --ppid "$pid" | grep -q Z && fail "zombie children: $(ps -o pid,stat,args --ppid "$pid")"
n=$(ps -o pid= --ppid "$pid" | wc -l)
[ "$n" -le 2 ] || fail "$n children for 2 threads"
stop_serve "$pid" || fail "serve exited with $?"
[ -z "$(ps -o pid= --ppid "$pid" 2>/dev/null)" ] || fail "children outlived the server"

check "a second SIGTERM while a slow call finishes: still exit 0, the log committed"
printf '%s\n' 'while read -r l; do' \
	'  case $l in *\"user\":7,*) sleep 1 ;; esac' \
	'  case $l in *\"last\"*) echo "{}" ;; *) echo "{\"track\":1}" ;; esac' \
	'done' >"$T/slow.sh"
start_serve slow --world "$W" --recommender "exec:cmd='sh $T/slow.sh'" --threads 2 --log "$T/slow.jsonl" || exit 1
pid=$SERVE_PID
URL="http://127.0.0.1:$SERVE_PORT"
for u in 1 2 3; do
	run curl -s -XPOST -d '{"track": 4, "time": 1.0}' "$URL/next/$u"
	expect_stdout '"track": 1'
done
curl -s -XPOST -d '{"track": 4, "time": 1.0}' "$URL/next/7" >"$T/slow.out" &
curl_pid=$!
sleep 0.3
kill -TERM "$pid"
sleep 0.2
kill -TERM "$pid"
wait "$pid"
rc=$?
_serve_pids=$(echo "$_serve_pids" | sed "s/ $pid\b//")
wait "$curl_pid"
expect_eq 0 "$rc" "serve's exit code"
expect_file "$T/slow.jsonl"
expect_eq 4 "$(wc -l <"$T/slow.jsonl" 2>/dev/null)" "rows (3 calls, then the slow one)"
[ -z "$(ps -o pid= --ppid "$pid" 2>/dev/null)" ] || fail "children outlived the server"

check "remote: a refused connection, an HTTP error, a timeout: messages name the URL and the call"
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender remote:url=http://127.0.0.1:1
expect_one_line_error
expect_stderr 'next call \(user [0-9]+, track [0-9]+, time 1\.0\): POST http://127\.0\.0\.1:1/next/[0-9]+: '
start_serve small --world "$W" --recommender random --threads 1 || exit 1
pid=$SERVE_PID
expect_exit 2 "$BOTIFY" simulate --episodes 5 --recommender "remote:url=http://127.0.0.1:$SERVE_PORT/"
expect_stderr "POST http://127\.0\.0\.1:$SERVE_PORT/next/[0-9]+: HTTP 404: '\{\"error\": \"unknown (user|track) "
stop_serve "$pid"
start_serve slow --world "$W" --recommender "exec:cmd='sh $T/hang.sh'" --threads 1 --rec-timeout 1 || exit 1
pid=$SERVE_PID
expect_exit 2 "$BOTIFY" "${SIM[@]}" --recommender "remote:url=http://127.0.0.1:$SERVE_PORT" --rec-timeout 0.3
expect_stderr 'timed out.*\(rec timeout 0.3 s\)'
stop_serve "$pid" || fail "serve exited with $?"
no_leftovers

check "serve does not start when an arm's exec: command cannot run, or a remote: server is down"
expect_exit 2 timeout 20 "$BOTIFY" serve --world "$W" --port 0 --recommender "exec:cmd='nosuch_command_x1'"
expect_stderr "^botify: recommender 'exec:cmd='nosuch_command_x1'': the command does not run: the child exited with status 127 \(command not found\?\) at start$"
expect_no_stderr 'listening on'
expect_exit 2 timeout 20 "$BOTIFY" serve --world "$W" --port 0 --experiment E \
	--arms "C=random,T1=exec:cmd='sh -c \"exit 3\"'"
expect_one_line_error
expect_stderr '^botify: arm T1: .*the command does not run: the child exited with status 3 at start$'
echo '{"track": 0, "recommendations": [1]}' >"$T/none.json"
expect_exit 2 timeout 20 "$BOTIFY" serve --world "$W" --port 0 --recommender "contextual:file=$T/none.json,fallback=\"exec:cmd=false\""
expect_stderr "exec:cmd=false.*the command does not run: the child exited with status 1 at start"
expect_exit 2 timeout 20 "$BOTIFY" serve --world "$W" --port 0 --recommender remote:url=http://127.0.0.1:1
expect_one_line_error
expect_stderr "remote: the server does not answer: POST http://127\.0\.0\.1:1/: "
no_leftovers

finish
