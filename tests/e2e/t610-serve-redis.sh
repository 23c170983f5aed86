#!/bin/bash
# botify serve --redis: sessions in a real redis-server (started here on a
# free loopback port, in its own directory), shared by two servers that the
# simulator alternates between call by call (remote:url=A|B).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need redis-server redis-cli curl

W="$T/world"
tiny_world "$W"
tiny_model "$W" 1500 2
NN="nn:model=$T/m,k=100"
SIM=(simulate --world "$W" --episodes 300 --seed 5 --max-steps 60 --threads 1)
start_redis || exit 1
R="redis://127.0.0.1:$REDIS_PORT"
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

check "nn with sessions in redis: the remote log is the in-process log"
expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "$NN" --log "$T/in.jsonl"
strip_log "$T/in.jsonl" >"$T/in"
start_serve one --world "$W" --recommender "$NN" --redis "$R/1" --threads 2 --log "$T/one.jsonl"
pid=$SERVE_PID
expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "remote:url=http://127.0.0.1:$SERVE_PORT" --log "$T/r1.jsonl"
stop_serve "$pid" || fail "serve exited with $?"
cmp -s "$T/in" <(strip_log "$T/r1.jsonl") || fail "the remote log differs: $(diff "$T/in" <(strip_log "$T/r1.jsonl") | head -n 4)"
cmp -s "$T/in" <(strip_log "$T/one.jsonl") || fail "the served log differs"

check "every session was deleted at its last call; the session counts expire"
expect_eq 0 "$(rcli -n 1 --scan --pattern 'botify:s:*' | wc -l)" "session keys left"
key=$(rcli -n 1 --scan --pattern 'botify:n:*' | head -n 1)
[ -n "$key" ] || fail "no session count keys"
ttl=$(rcli -n 1 pttl "$key")
[ "$ttl" -gt 0 ] && [ "$ttl" -le 3600000 ] || fail "$key has pttl $ttl"

check "two servers sharing redis, called alternately, give the in-process log"
start_serve a --world "$W" --recommender "$NN" --redis "$R/2" --threads 2 --log "$T/a.jsonl"
pa=$SERVE_PID port_a=$SERVE_PORT
start_serve b --world "$W" --recommender "$NN" --redis "$R/2" --threads 2 --log "$T/b.jsonl"
pb=$SERVE_PID port_b=$SERVE_PORT
expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "remote:url=http://127.0.0.1:$port_a|http://127.0.0.1:$port_b" --log "$T/r2.jsonl"
stop_serve "$pa" || fail "server a exited with $?"
stop_serve "$pb" || fail "server b exited with $?"
cmp -s "$T/in" <(strip_log "$T/r2.jsonl") || fail "the alternating run differs: $(diff "$T/in" <(strip_log "$T/r2.jsonl") | head -n 4)"
na=$(wc -l <"$T/a.jsonl") nb=$(wc -l <"$T/b.jsonl")
[ $((na - nb)) -ge -1 ] && [ $((na - nb)) -le 1 ] || fail "calls not alternated: $na and $nb rows"
cmp -s <(sort "$T/in") <(cat "$T/a.jsonl" "$T/b.jsonl" | strip_log /dev/stdin | sort) || fail "the two served logs are not the in-process rows"

check "random: one server in memory and two sharing redis draw the same streams"
start_serve mem --world "$W" --recommender random --seed 4 --threads 2
pid=$SERVE_PID
expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "remote:url=http://127.0.0.1:$SERVE_PORT" --log "$T/rm.jsonl"
stop_serve "$pid"
start_serve ra --world "$W" --recommender random --seed 4 --redis "$R/3" --threads 1
pa=$SERVE_PID port_a=$SERVE_PORT
start_serve rb --world "$W" --recommender random --seed 4 --redis "$R/3" --threads 1
pb=$SERVE_PID port_b=$SERVE_PORT
expect_exit 0 "$BOTIFY" "${SIM[@]}" --recommender "remote:url=http://127.0.0.1:$port_a|http://127.0.0.1:$port_b" --log "$T/rr.jsonl"
stop_serve "$pa"
stop_serve "$pb"
cmp -s <(strip_log "$T/rm.jsonl") <(strip_log "$T/rr.jsonl") || fail "memory and shared-redis runs differ"

check "a session lives in redis between calls, with a ttl, and goes at the last call"
start_serve ttl --world "$W" --recommender "$NN" --redis "$R/4" --session-ttl 30 --threads 1
pid=$SERVE_PID
run curl -sf -XPOST -d '{"track": 5, "time": 1.0}' "http://127.0.0.1:$SERVE_PORT/next/7"
expect_stdout '^\{"user": 7, "track": [0-9]+\}$'
expect_eq 1 "$(rcli -n 4 exists botify:s:7)" "botify:s:7 exists"
ttl=$(rcli -n 4 pttl botify:s:7)
[ "$ttl" -gt 0 ] && [ "$ttl" -le 30000 ] || fail "botify:s:7 has pttl $ttl"
run curl -sf -XPOST -d '{"track": 5, "time": 0.5}' "http://127.0.0.1:$SERVE_PORT/last/7"
expect_stdout '^\{"user": 7\}$'
expect_eq 0 "$(rcli -n 4 exists botify:s:7)" "botify:s:7 exists after last"
expect_eq 1 "$(rcli -n 4 get botify:n:7)" "sessions ended by user 7"

check "a session of another recommender in the same keys is refused, not misread"
rcli -n 4 set botify:s:9 garbage >/dev/null
run curl -s -XPOST -d '{"track": 5, "time": 1.0}' "http://127.0.0.1:$SERVE_PORT/next/9"
expect_stdout '"error": "redis key botify:s:9 holds 7 bytes'
# another model with the same k has the same state size: the spec tells them apart
cp -r "$T/m" "$T/m2"
port_a=$SERVE_PORT
run curl -s -XPOST -d '{"track": 5, "time": 1.0}' "http://127.0.0.1:$port_a/next/11"
expect_stdout '"track": '
start_serve other --world "$W" --recommender "nn:model=$T/m2,k=100" --redis "$R/4" --threads 1
pother=$SERVE_PID
run curl -s -w ' %{http_code}' -XPOST -d '{"track": 5, "time": 1.0}' "http://127.0.0.1:$SERVE_PORT/next/11"
expect_stdout 'belongs to another recommender.* 500$'
stop_serve "$pother"
SERVE_PORT=$port_a

check "redis going away: 503 with a message; the server stays up and reconnects, also after a restart between calls"
rport=$REDIS_PORT
rcli shutdown nosave >/dev/null 2>&1
sleep 0.2
run curl -s -o /dev/stderr -w '%{http_code}' -XPOST -d '{"track": 5, "time": 1.0}' "http://127.0.0.1:$SERVE_PORT/next/8"
expect_stdout '^503$'
expect_stderr "redis 127.0.0.1:$rport"
run curl -sf "http://127.0.0.1:$SERVE_PORT/"
expect_stdout '"status": "alive"'
redis-server --port "$rport" --bind 127.0.0.1 --dir "$T/redis" --save '' --appendonly no \
	--logfile "$T/redis/log.again" >/dev/null 2>&1 &
_redis_pids="$_redis_pids $!"
_wait_for_line "$T/redis/log.again" 'Ready to accept connections' $! || fail "redis did not restart"
run curl -s -XPOST -d '{"track": 5, "time": 1.0}' "http://127.0.0.1:$SERVE_PORT/next/8"
expect_stdout '^\{"user": 8, "track": [0-9]+\}$'
stop_serve "$pid" || fail "serve exited with $?"
# a restart between two calls: the connection is stale, not broken yet; the
# call reconnects and reads again instead of failing
start_serve warm --world "$W" --recommender "$NN" --redis "$R/5" --threads 2 || exit 1
pid=$SERVE_PID
run curl -s -w ' %{http_code}' -XPOST -d '{"track": 5, "time": 1.0}' "http://127.0.0.1:$SERVE_PORT/next/3"
expect_stdout ' 200$'
rcli shutdown nosave >/dev/null 2>&1
sleep 0.2
redis-server --port "$rport" --bind 127.0.0.1 --dir "$T/redis" --save '' --appendonly no \
	--logfile "$T/redis/log.third" >/dev/null 2>&1 &
_redis_pids="$_redis_pids $!"
_wait_for_line "$T/redis/log.third" 'Ready to accept connections' $! || fail "redis did not restart"
for u in 3 4 5; do
	run curl -s -w ' %{http_code}' -XPOST -d '{"track": 5, "time": 1.0}' "http://127.0.0.1:$SERVE_PORT/next/$u"
	expect_stdout ' 200$'
done
stop_serve "$pid" || fail "serve exited with $?"
rcli shutdown nosave >/dev/null 2>&1

check "serve refuses to start when redis does not answer"
expect_exit 2 timeout 20 "$BOTIFY" serve --world "$W" --port 0 --recommender random --redis "redis://127.0.0.1:$rport/0"
expect_one_line_error
expect_stderr "cannot connect to redis 127.0.0.1:$rport"
expect_exit 2 timeout 20 "$BOTIFY" serve --world "$W" --port 0 --recommender random --redis "http://127.0.0.1:1"
expect_stderr "must start with redis://"

finish
