#!/bin/bash
# botify serve --log on a full disk (a file-size limit, SIGXFSZ ignored, so
# writes past it fail with EFBIG): no answered call is lost. Every call
# answered 200 is in the log, which is kept as FILE.partial; every call whose
# row could not be written is 503 and leaves its session as it was (checked
# on the records in Redis); rows are whole lines; a .gz log stays a valid
# gzip file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need curl redis-server redis-cli gzip

W="$T/world"
tiny_world "$W"
start_redis || exit 1

# serve_limited NAME KIB ARGS...: serve under a file-size limit; sets URL and PID
serve_limited() {
	local name=$1 kib=$2
	shift 2
	( trap '' XFSZ; ulimit -f "$kib"; exec "$BOTIFY" serve --world "$W" --port 0 "$@" ) 2>"$T/$name.err" &
	PID=$!
	_serve_pids="$_serve_pids $PID"
	_wait_for_line "$T/$name.err" 'listening on' "$PID" || { fail "did not start: $(cat "$T/$name.err")"; return 1; }
	URL="http://127.0.0.1:$(sed -nE 's|.*listening on http://127\.0\.0\.1:([0-9]+).*|\1|p' "$T/$name.err")"
}

# calls U N: N next calls for each of users 1..U on one connection; statuses
# one a line, user by user, into $T/st
calls() {
	curl -s -o /dev/null -w '%{http_code}\n' -XPOST -d '{"track": 1, "time": 1.0}' \
		"$URL/next/[1-$1]?[1-$2]" >"$T/st"
}

# calls_of_record USER DB: the call count in the user's session record (the
# uint64 at offset 32 of the header), or 0 without a record
calls_of_record() {
	local n
	[ "$(redis-cli -p "$REDIS_PORT" -n "$2" EXISTS "botify:s:$1")" = 1 ] || { echo 0; return; }
	n=$(redis-cli -p "$REDIS_PORT" -n "$2" --raw GET "botify:s:$1" | head -c 40 | tail -c 8 | od -An -tu8 | tr -d ' ')
	echo "${n:-0}"
}

check "plain log: 200 exactly for the rows kept in FILE.partial; 503 calls leave their session as it was"
serve_limited plain 64 --recommender random --threads 2 --max-steps 100000 --log "$T/big.jsonl" \
	--redis "redis://127.0.0.1:$REDIS_PORT/1" || exit 1
calls 8 400
ok=$(grep -c '^200$' "$T/st")
grep -q '^503$' "$T/st" || fail "no 503 once the log failed: $(sort "$T/st" | uniq -c)"
expect_eq 0 "$(grep -vcE '^(200|503)$' "$T/st")" "statuses other than 200 and 503"
stop_serve "$PID"
expect_eq 2 "$?" "serve's exit code"
expect_no_file "$T/big.jsonl"
expect_file "$T/big.jsonl.partial"
grep -qE "cannot write '$T/big.jsonl': File too large; the $ok calls answered before it are in '$T/big.jsonl.partial', [0-9]+ were refused \(503\)" "$T/plain.err" ||
	fail "stderr: $(cat "$T/plain.err")"
expect_eq "$ok" "$(wc -l <"$T/big.jsonl.partial")" "rows kept (calls answered 200)"
expect_eq 0 "$(grep -vcE '^\{"message": "next", .*"experiments": \{\}\}$' "$T/big.jsonl.partial")" "cut or malformed rows"
ls "$T" | grep -q 'big\.jsonl\.tmp' && fail "a temporary log was left behind"
for u in 1 2 3 4 5 6 7 8; do
	want=$(sed -n "$(((u - 1) * 400 + 1)),$((u * 400))p" "$T/st" | grep -c '^200$')
	expect_eq "$want" "$(calls_of_record "$u" 1)" "calls stored in user $u's session"
	expect_eq "$want" "$(grep -c "\"user\": $u," "$T/big.jsonl.partial")" "rows of user $u"
done

check "gzip log: the partial log is a valid gzip file with exactly the rows answered 200"
serve_limited gz 8 --recommender random --threads 2 --max-steps 100000 --log "$T/big.jsonl.gz" \
	--redis "redis://127.0.0.1:$REDIS_PORT/2" || exit 1
calls 8 300
ok=$(grep -c '^200$' "$T/st")
grep -q '^503$' "$T/st" || fail "no 503 once the log failed: $(sort "$T/st" | uniq -c)"
stop_serve "$PID"
expect_eq 2 "$?" "serve's exit code"
expect_file "$T/big.jsonl.gz.partial"
gzip -t <"$T/big.jsonl.gz.partial" 2>"$T/gzip-t.err" || fail "not a valid gzip file: $(cat "$T/gzip-t.err")"
expect_eq "$ok" "$(gzip -dc <"$T/big.jsonl.gz.partial" | wc -l)" "rows kept (calls answered 200)"
grep -q "the $ok calls answered before it are in '$T/big.jsonl.gz.partial'" "$T/gz.err" || fail "stderr: $(cat "$T/gz.err")"
for u in 1 2 3 4 5 6 7 8; do
	want=$(sed -n "$(((u - 1) * 300 + 1)),$((u * 300))p" "$T/st" | grep -c '^200$')
	expect_eq "$want" "$(calls_of_record "$u" 2)" "calls stored in user $u's session"
done

# botify reads it as a log (toppop counts its recommendations)
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 5 --recommender "toppop:log=$T/big.jsonl.gz.partial"

check "a gzip log without failures: complete, valid, one row per answered call"
start_serve ok --world "$W" --recommender random --threads 2 --log "$T/ok.jsonl.gz" || exit 1
URL="http://127.0.0.1:$SERVE_PORT"
calls 3 50
expect_eq 150 "$(grep -c '^200$' "$T/st")" "calls answered 200"
stop_serve "$SERVE_PID" || fail "serve exited with $?"
gzip -t <"$T/ok.jsonl.gz" 2>"$T/gzip-t.err" || fail "not a valid gzip file: $(cat "$T/gzip-t.err")"
expect_eq 150 "$(gzip -dc <"$T/ok.jsonl.gz" | wc -l)" "rows"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 5 --recommender "toppop:log=$T/ok.jsonl.gz"

finish
