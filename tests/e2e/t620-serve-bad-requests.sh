#!/bin/bash
# botify serve against malformed and hostile requests: 400/404/405/409/413
# with a JSON error, never a crash; the log holds only answered calls and
# appears complete at shutdown.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need curl

W="$T/world"
tiny_world "$W"
start_serve s --world "$W" --recommender sticky_artist --threads 2 --max-steps 3 --log "$T/served.jsonl" || exit 1
pid=$SERVE_PID
URL="http://127.0.0.1:$SERVE_PORT"

# req EXPECTED_STATUS CURL_ARGS...: the status, and a JSON error body for >= 400
req() {
	local want=$1
	shift
	run curl -s -o "$T/body" -w '%{http_code}' "$@"
	expect_eq "$want" "$(cat "$OUT")" "HTTP status of curl $*"
	if [ "$want" -ge 400 ]; then
		grep -Eq '^\{"error": ".+"\}$' "$T/body" || fail "not a JSON error: $(head -c 300 "$T/body")"
	fi
}

check "GET / says alive; GET /track/<id> gives the metadata"
req 200 "$URL/"
grep -q '"status": "alive"' "$T/body" || fail "body: $(cat "$T/body")"
req 200 "$URL/track/3"
grep -Eq '^\{"track":3,"artist":".+","title":".+"\}$' "$T/body" || fail "body: $(cat "$T/body")"

check "unknown tracks and users are 404, malformed ids 400"
req 404 "$URL/track/500"
req 400 "$URL/track/abc"
req 400 "$URL/track/-1"
req 400 "$URL/track/1e3"
req 404 "$URL/track/99999999999999999999999"    # a number, not in the catalog
req 200 "$URL/track/0000000000000000000000003"  # leading zeros, as Flask's <int:>
req 404 -XPOST -d '{"track": 1, "time": 1.0}' "$URL/next/100"
req 400 -XPOST -d '{"track": 1, "time": 1.0}' "$URL/next/x1"
req 404 -XPOST -d '{"track": 500, "time": 1.0}' "$URL/next/1"
req 404 "$URL/nothing/here"

check "malformed bodies are 400 with a message"
req 400 -XPOST "$URL/next/1"
req 400 -XPOST -d '{"track": 1' "$URL/next/1"
grep -q 'not JSON' "$T/body" || fail "body: $(cat "$T/body")"
req 400 -XPOST -d '[1, 2]' "$URL/next/1"
req 400 -XPOST -d '{"time": 1.0}' "$URL/next/1"
req 400 -XPOST -d '{"track": "7", "time": 1.0}' "$URL/next/1"
req 400 -XPOST -d '{"track": 1.5, "time": 1.0}' "$URL/next/1"
req 400 -XPOST -d '{"track": -3, "time": 1.0}' "$URL/next/1"
req 400 -XPOST -d '{"track": 1}' "$URL/last/1"
req 400 -XPOST -d '{"track": 1, "time": "late"}' "$URL/last/1"
req 400 -XPOST -d '{"track": 1, "time": 1e999}' "$URL/next/1"
req 400 -XPOST -d '{"track": 1, "time": 1.0} trailing' "$URL/next/1"
printf '{"track": 1,\0 "time": 1.0}' >"$T/nul.json"
req 400 -XPOST --data-binary @"$T/nul.json" "$URL/next/1"
head -c 3000 /dev/urandom >"$T/noise"
req 400 -XPOST --data-binary @"$T/noise" "$URL/next/1"

check "wrong methods are 405"
req 405 "$URL/next/1"
req 405 -XPOST -d '{}' "$URL/"
req 405 -XDELETE "$URL/track/1"

check "oversized bodies are 413, declared or chunked"
head -c 100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
req 413 -XPOST --data-binary @"$T/big.json" "$URL/next/1"
req 413 -XPOST -H 'Transfer-Encoding: chunked' --data-binary @"$T/big.json" "$URL/next/1"

check "a session is cut at --max-steps with 409 until its last call"
for i in 1 2 3; do
	req 200 -XPOST -d "{\"track\": $i, \"time\": 0.5}" "$URL/next/2"
done
req 409 -XPOST -d '{"track": 4, "time": 0.5}' "$URL/next/2"
grep -q 'POST /last/2' "$T/body" || fail "body: $(cat "$T/body")"
req 200 -XPOST -d '{"track": 4, "time": 0.5}' "$URL/last/2"
req 200 -XPOST -d '{"track": 4, "time": 0.5}' "$URL/next/2"

check "broken HTTP is refused and the server stays up"
if exec 3<>"/dev/tcp/127.0.0.1/$SERVE_PORT"; then
	printf 'NOT HTTP AT ALL\r\n\r\n' >&3
	timeout 5 cat <&3 >"$T/raw" 2>/dev/null
	exec 3<&-
	grep -q '^HTTP/1.1 400' "$T/raw" || fail "raw garbage got: $(head -c 200 "$T/raw")"
fi
exec 3<>"/dev/tcp/127.0.0.1/$SERVE_PORT" && exec 3<&-   # connect and hang up
req 200 "$URL/"

# raw REQUEST: sends it on a fresh connection; the status line in $T/raw
raw() {
	: >"$T/raw"
	if exec 3<>"/dev/tcp/127.0.0.1/$SERVE_PORT"; then
		printf '%b' "$1" >&3
		timeout 5 cat <&3 >"$T/raw" 2>/dev/null
		exec 3<&-
	fi
	head -n 1 "$T/raw" | tr -d '\r'
}

check "framing headers two parsers read two ways are 400 (request smuggling)"
# the headers only: the answer comes before any body (a body sent into a
# connection the server closed would reset it before the answer is read)
B='{"track": 1, "time": 0.5}'
expect_eq "HTTP/1.1 400 Bad Request" "$(raw "POST /next/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 25\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")" \
	"two different Content-Lengths"
grep -q 'Content-Length given twice' "$T/raw" || fail "answer: $(cat "$T/raw")"
expect_eq "HTTP/1.1 400 Bad Request" "$(raw "POST /next/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 25\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")" \
	"Content-Length with Transfer-Encoding"
expect_eq "HTTP/1.1 200 OK" "$(raw "POST /next/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 25\r\nContent-Length: 25\r\nConnection: close\r\n\r\n$B")" \
	"the same Content-Length twice"

check "paths with %00 are no id; huge ids are quoted as given; times outside [0, 1] are 400"
req 400 -XPOST -d '{"track": 1, "time": 1.0}' "$URL/next/1%00"
req 400 -XPOST -d '{"track": 1, "time": 1.0}' "$URL/next/1%002"
req 404 -XPOST -d '{"track": 1, "time": 1.0}' "$URL/next%00/1"
req 400 "$URL/track/3%00"
req 200 -XPOST -d '{"track": 1, "time": 1.0}' "$URL/next/%31"   # other escapes decode, as Flask
req 200 -XPOST -d '{"track": 1, "time": 1.0}' "$URL/last/%31"
req 404 -XPOST -d '{"track": 1, "time": 1.0}' "$URL/next/99999999999999999999"
grep -q 'unknown user 99999999999999999999 ' "$T/body" || fail "body: $(cat "$T/body")"
req 404 "$URL/track/0099999999999999999999"
grep -q 'unknown track 0099999999999999999999 ' "$T/body" || fail "body: $(cat "$T/body")"
req 400 -XPOST -d '{"track": 1, "time": -0.5}' "$URL/next/1"
grep -q "'time' must be from 0 to 1" "$T/body" || fail "body: $(cat "$T/body")"
req 400 -XPOST -d '{"track": 1, "time": 1.0000001}' "$URL/last/1"
req 200 -XPOST -d '{"track": 1, "time": 0}' "$URL/last/1"

check "a key given twice: the first value counts"
req 200 -XPOST -d '{"track": 1, "time": 0.5, "track": 999}' "$URL/last/1"
req 400 -XPOST -d '{"track": -1, "time": 0.5, "track": 1}' "$URL/last/1"

check "a client trickling its request a byte at a time is cut after --request-timeout"
start_serve slow --world "$W" --recommender random --request-timeout 1.5 || exit 1
slow=$SERVE_PID
trap '' PIPE # a write to the cut connection fails instead of killing the test
exec 4<>"/dev/tcp/127.0.0.1/$SERVE_PORT"
t0=$(date +%s%N)
cut=no
for _ in $(seq 40); do # a byte every 0.25 s, for 10 s at most
	printf 'P' >&4 2>/dev/null || { cut=write; break; }
	read -r -t 0.25 -n 1 -u 4 _
	[ $? -le 128 ] && { cut=read; break; } # EOF (not a timeout): the server hung up
done
ms=$((($(date +%s%N) - t0) / 1000000))
exec 4<&-
[ "$cut" != no ] || fail "still connected after $ms ms"
[ "$ms" -ge 1400 ] && [ "$ms" -le 6000 ] || fail "cut after $ms ms, expected about 1500"
run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SERVE_PORT/"
expect_eq 200 "$(cat "$OUT")" "a normal request afterwards"
stop_serve "$slow" || fail "serve exited with $?"

check "SIGTERM: exit 0, the log appears with exactly the answered calls"
expect_no_file "$T/served.jsonl"
stop_serve "$pid" || fail "serve exited with $?"
expect_file "$T/served.jsonl"
expect_eq 10 "$(wc -l <"$T/served.jsonl")" "rows (6 next + 4 last)"
expect_eq 4 "$(grep -c '"message": "last"' "$T/served.jsonl")" "last rows"
ls "$T" | grep -q '\.tmp\.' && fail "a temporary log was left behind"
grep -q 'answered 6 next and 4 last calls' "$T/s.err" || fail "no summary: $(cat "$T/s.err")"

check "a log that cannot be written: 503 from then on, exit 2 naming the file, no temporary left"
# a 64 KiB file-size limit, SIGXFSZ ignored: writes past it fail with EFBIG
( trap '' XFSZ; ulimit -f 64; exec "$BOTIFY" serve --world "$W" --port 0 --recommender random \
	--log "$T/big.jsonl" ) 2>"$T/big.err" &
big=$!
_serve_pids="$_serve_pids $big"
_wait_for_line "$T/big.err" 'listening on' "$big" || fail "did not start: $(cat "$T/big.err")"
BIG_URL="http://127.0.0.1:$(sed -nE 's|.*listening on http://127\.0\.0\.1:([0-9]+).*|\1|p' "$T/big.err")"
# users 1-8 x 500 calls on one connection: several buffers' worth of rows
run curl -s -o /dev/null -w '%{http_code}\n' -XPOST -d '{"track": 1, "time": 1.0}' "$BIG_URL/next/[1-8]?[1-500]"
grep -q '^503$' "$OUT" || fail "no 503 once the log failed: $(sort "$OUT" | uniq -c)"
expect_eq 0 "$(grep -vcE '^(200|503)$' "$OUT")" "statuses other than 200 and 503"
stop_serve "$big"
expect_eq 2 "$?" "serve's exit code"
grep -q "cannot write '$T/big.jsonl': File too large" "$T/big.err" || fail "stderr: $(cat "$T/big.err")"
expect_no_file "$T/big.jsonl"
ls "$T" | grep -q 'big\.jsonl\.tmp' && fail "a temporary log was left behind"

check "serve refuses an existing log, bad flags and bad recommenders before listening"
expect_exit 2 timeout 20 "$BOTIFY" serve --world "$W" --port 0 --recommender random --log "$T/served.jsonl"
expect_stderr 'exists'
expect_exit 2 timeout 20 "$BOTIFY" serve --world "$W" --port 0 --recommender nosuch
expect_one_line_error
expect_stderr "unknown recommender 'nosuch'"
expect_exit 2 timeout 20 "$BOTIFY" serve --world "$W" --port 0 --recommender random --host example
expect_stderr "not an IPv4 address"
expect_exit 2 "$BOTIFY" serve --world "$W"
expect_stderr 'give --recommender'
expect_exit 0 "$BOTIFY" serve --help
expect_stdout '--redis URL'

finish
