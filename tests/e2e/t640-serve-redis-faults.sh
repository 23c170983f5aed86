#!/bin/bash
# botify serve when Redis goes away: calls are 503 (never 200 with a fresh
# session), Redis can restart on its port, and serve reconnects. Redis runs on
# a port of the ephemeral (outgoing) range, where a client reconnecting to a
# dead port can be handed that very port and connect to itself; a second run
# in a network namespace of its own narrows the range to ten ports so that
# the self-connect happens within a few calls (on an even port: Linux hands
# connect() even ports first).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need redis-server redis-cli curl

W="$T/world"
tiny_world "$W"

# statuses of N next calls of user U on one connection, one a line
calls() {
	curl -s -o /dev/null -w '%{http_code}\n' -XPOST -d '{"track": 1, "time": 1.0}' \
		"http://127.0.0.1:$1/next/$2?[1-$3]"
}

check "Redis killed: every call is 503; Redis restarts on its port; serve reconnects"
start_redis_ephemeral || exit 1
port=$REDIS_PORT
start_serve s --world "$W" --recommender random --redis "redis://127.0.0.1:$port" --threads 2 \
	--rec-timeout 1 --max-steps 5 || exit 1
calls "$SERVE_PORT" 1 3 >"$T/before"
expect_eq "200 200 200" "$(echo $(cat "$T/before"))" "statuses with Redis up"
kill_redis
calls "$SERVE_PORT" 1 300 >"$T/down"
expect_eq 0 "$(grep -vc '^503$' "$T/down")" "statuses other than 503 with Redis down ($(sort "$T/down" | uniq -c | tr '\n' ' '))"
start_redis "$port" || fail "redis-server could not restart on its port $port"
calls "$SERVE_PORT" 1 7 >"$T/after"
# a fresh Redis knows no session: 5 calls (--max-steps) and then 409
expect_eq "200 200 200 200 200 409 409" "$(echo $(cat "$T/after"))" "statuses after Redis came back"
grep -q 'Redis' "$T/s.err" && fail "serve printed: $(cat "$T/s.err")"
stop_serve "$SERVE_PID" || fail "serve exited with $?"

check "a connection to itself is refused (a network namespace with a 10-port ephemeral range)"
if ! unshare -n true 2>/dev/null || ! command -v ip >/dev/null || ! command -v ss >/dev/null; then
	fail "this check needs unshare -n (root), ip and ss"
else
	cat >"$T/inner.sh" <<'INNER'
set -u
ip link set lo up || exit 3
echo "40000 40009" >/proc/sys/net/ipv4/ip_local_port_range || exit 3
mkdir -p "$T/ns"
redis_up() {
	redis-server --port 40004 --bind 127.0.0.1 --dir "$T/ns" --save '' --appendonly no \
		--logfile "$T/ns/redis.$1.log" >/dev/null 2>&1 &
	echo $! >"$T/ns/redis.pid"
	for _ in $(seq 100); do
		grep -q 'Ready to accept' "$T/ns/redis.$1.log" 2>/dev/null && return 0
		kill -0 "$(cat "$T/ns/redis.pid")" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
redis_up 1 || exit 4
"$BOTIFY" serve --world "$W" --port 30000 --recommender random --threads 1 --rec-timeout 1 \
	--max-steps 5 --redis redis://127.0.0.1:40004 2>"$T/ns/serve.err" &
spid=$!
for _ in $(seq 100); do
	grep -q 'listening on' "$T/ns/serve.err" && break
	sleep 0.05
done
call() {
	curl -s -o /dev/null -w '%{http_code}\n' -XPOST -d '{"track": 1, "time": 1.0}' \
		"http://127.0.0.1:30000/next/$1?[1-$2]"
}
call 1 2 >"$T/ns/before"
kill -KILL "$(cat "$T/ns/redis.pid")"
wait "$(cat "$T/ns/redis.pid")" 2>/dev/null
call 1 60 >"$T/ns/down"
ss -tan >"$T/ns/ss"
if redis_up 2; then echo up >"$T/ns/restarted"; fi
call 1 3 >"$T/ns/after"
kill -TERM $spid
wait $spid
echo $? >"$T/ns/serve.rc"
kill -KILL "$(cat "$T/ns/redis.pid")" 2>/dev/null
exit 0
INNER
	T="$T" W="$W" BOTIFY="$BOTIFY" timeout 120 unshare -n bash "$T/inner.sh"
	expect_eq 0 "$?" "the namespace run's exit code"
	expect_eq "200 200" "$(echo $(cat "$T/ns/before"))" "statuses with Redis up"
	expect_eq 0 "$(grep -vc '^503$' "$T/ns/down")" "statuses other than 503 with Redis down ($(sort "$T/ns/down" | uniq -c | tr '\n' ' '))"
	grep -Eq '^(ESTAB|TIME-WAIT).*127.0.0.1:40004 +127.0.0.1:40004' "$T/ns/ss" && fail "a socket connected to itself: $(grep 40004 "$T/ns/ss")"
	expect_file "$T/ns/restarted"
	expect_eq "200 200 200" "$(echo $(cat "$T/ns/after"))" "statuses after Redis came back"
	expect_eq 0 "$(cat "$T/ns/serve.rc")" "serve's exit code"
fi

check "a Redis password: from the environment or a file, never the command line, never printed"
PW=s3cr3t-pw-7781
REDIS_EXTRA="--requirepass $PW" start_redis || exit 1
R="redis://127.0.0.1:$REDIS_PORT"
expect_exit 2 "$BOTIFY" serve --world "$W" --port 0 --recommender random --redis "redis://:$PW@127.0.0.1:$REDIS_PORT"
expect_stderr 'no password in --redis: the process list shows it'
expect_no_stderr "$PW"
expect_exit 2 "$BOTIFY" serve --world "$W" --port 0 --recommender random --redis "redis://:$PW@127.0.0.1:x"
expect_no_stderr "$PW"
expect_exit 2 "$BOTIFY" serve --world "$W" --port 0 --recommender random --redis "$R"
expect_one_line_error
expect_stderr 'NOAUTH|Authentication required'
printf 'wrong-%s\n' "$PW" >"$T/badpw"
expect_exit 2 "$BOTIFY" serve --world "$W" --port 0 --recommender random --redis "$R" --redis-password-file "$T/badpw"
expect_one_line_error
expect_stderr 'AUTH: (WRONGPASS|ERR invalid password)'
expect_no_stderr "$PW"
expect_exit 2 "$BOTIFY" serve --world "$W" --port 0 --recommender random --redis "$R" --redis-password-file "$T/none"
expect_stderr "cannot read the redis password file"
printf '%s\n' "$PW" >"$T/pw"
start_serve pwfile --world "$W" --recommender random --redis "$R" --redis-password-file "$T/pw" || exit 1
expect_eq 200 "$(calls "$SERVE_PORT" 1 1)" "a call with the password from a file"
ps -eo args | grep -F -- "$PW" | grep -v grep | grep -q botify && fail "the password is in the process list"
stop_serve "$SERVE_PID" || fail "serve exited with $?"
BOTIFY_REDIS_PASSWORD=$PW start_serve pwenv --world "$W" --recommender random --redis "$R" || exit 1
expect_eq 200 "$(calls "$SERVE_PORT" 2 1)" "a call with the password from the environment"
stop_serve "$SERVE_PID" || fail "serve exited with $?"
grep -q 'sessions in redis 127.0.0.1:[0-9]*/0 with a password' "$T/pwenv.err" || fail "start-up line: $(head -n 1 "$T/pwenv.err")"
grep -qF -- "$PW" "$T/pwfile.err" "$T/pwenv.err" && fail "the password was printed"

finish
