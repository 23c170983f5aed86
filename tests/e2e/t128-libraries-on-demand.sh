#!/bin/bash
# libcurl, libmicrohttpd and hiredis are loaded only by the commands that use
# them (remote recommenders, serve, serve --redis): the others never map them
# or their dependencies, which would cost every start ~10 ms (the dynamic
# loader's record, LD_DEBUG=libs, shows what a process loads). A missing one
# fails only what needs it, with one line naming it; BOTIFY_TEST_MISSING_LIBS
# takes a library away. A serve that should fail but starts is ended by
# timeout (exit 124).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

W="$T/world"
tiny_world "$W"
ON_DEMAND='library=[^ ]*(curl|microhttpd|hiredis|gnutls|ssh2|krb5|ldap)'

# botify with the loader's record on (LD_DEBUG set for it alone, not for the
# helpers around it)
LDB=$T/botify-ld-debug
printf '#!/bin/sh\nLD_DEBUG=libs exec "%s" "$@"\n' "$BOTIFY" >"$LDB"
chmod +x "$LDB"

# soname PATTERN FILE: the soname the loader's record in FILE found for
# PATTERN (empty when it loaded none)
soname() {
	sed -nE "s/.*find library=($1[^ ;]*).*/\1/p" "$2" | head -n 1
}

check "the loader's record is there to read (a test of the test)"
expect_exit 0 "$LDB" --version
expect_stderr 'find library=libc\.so'

check "simulate, ab, datagen and --version load none of them"
expect_exit 0 "$LDB" simulate --world "$W" --episodes 50 --recommender random \
	--log "$T/random.jsonl"
expect_stderr 'find library=libc\.so'
expect_no_stderr "$ON_DEMAND"
expect_exit 0 "$LDB" ab --control-log "$T/random.jsonl" --treatment-log "$T/random.jsonl"
expect_stderr 'find library=libc\.so'
expect_no_stderr "$ON_DEMAND"
expect_exit 0 "$LDB" datagen --out "$T/w2" --tracks 200 --users 20 --dim 8
expect_no_stderr "$ON_DEMAND"
expect_exit 0 "$LDB" --version
expect_no_stderr "$ON_DEMAND"

check "serve loads libmicrohttpd, a remote recommender libcurl, each only that"
BOTIFY=$LDB start_serve s1 --world "$W" --recommender random || fail "serve did not start"
MHD=$(soname libmicrohttpd "$T/s1.err")
[ -n "$MHD" ] || fail "serve loaded no libmicrohttpd"
grep -Eq 'library=[^ ]*(curl|hiredis)' "$T/s1.err" && fail "serve loaded libcurl or hiredis"
expect_exit 0 "$LDB" simulate --world "$W" --episodes 50 \
	--recommender "remote:url=http://127.0.0.1:$SERVE_PORT" --log "$T/remote.jsonl"
CURL=$(soname libcurl "$ERR")
[ -n "$CURL" ] || fail "a remote recommender loaded no libcurl"
expect_no_stderr 'library=[^ ]*(microhttpd|hiredis)'

check "serve --redis loads hiredis (the connection then fails: nothing listens)"
expect_exit 2 timeout 30 "$LDB" serve --world "$W" --recommender random --port 0 \
	--redis redis://127.0.0.1:1
HIREDIS=$(soname libhiredis "$ERR")
[ -n "$HIREDIS" ] || fail "serve --redis loaded no hiredis"
expect_stderr 'cannot connect to redis 127\.0\.0\.1:1'

check "without libcurl, a remote recommender fails in one line naming it; nothing is written"
BOTIFY_TEST_MISSING_LIBS=$CURL expect_exit 2 "$BOTIFY" simulate --world "$W" --episodes 50 \
	--recommender "remote:url=http://127.0.0.1:$SERVE_PORT" --log "$T/nocurl.jsonl"
expect_one_line_error
expect_stderr "^botify: .*cannot load ${CURL//./\\.} \(needed by the remote recommender\): "
expect_no_file "$T/nocurl.jsonl"

check "...and the commands that do not need it run as before"
BOTIFY_TEST_MISSING_LIBS=$CURL:$MHD:$HIREDIS expect_exit 0 "$BOTIFY" simulate --world "$W" \
	--episodes 50 --recommender random --log "$T/random2.jsonl"
cmp -s <(strip_log "$T/random.jsonl") <(strip_log "$T/random2.jsonl") || fail "the logs differ"
BOTIFY_TEST_MISSING_LIBS=$CURL:$MHD:$HIREDIS expect_exit 0 "$BOTIFY" ab \
	--control-log "$T/random.jsonl" --treatment-log "$T/random.jsonl"

check "without libmicrohttpd, serve fails in one line naming it; no log is left"
BOTIFY_TEST_MISSING_LIBS=$MHD expect_exit 2 timeout 30 "$BOTIFY" serve --world "$W" --recommender random \
	--port 0 --log "$T/served.jsonl"
expect_one_line_error
expect_stderr "^botify: .*cannot load ${MHD//./\\.} \(needed by botify serve\): "
expect_no_file "$T/served.jsonl"
expect_no_file "$T/served.jsonl.partial"

check "without hiredis, serve --redis fails in one line naming it"
BOTIFY_TEST_MISSING_LIBS=$HIREDIS expect_exit 2 timeout 30 "$BOTIFY" serve --world "$W" --recommender random \
	--port 0 --redis redis://127.0.0.1:1
expect_one_line_error
expect_stderr "^botify: .*cannot load ${HIREDIS//./\\.} \(needed by botify serve --redis\): "

check "the server that was up still answers"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 20 \
	--recommender "remote:url=http://127.0.0.1:$SERVE_PORT"
stop_serve "$SERVE_PID" || fail "serve exited $?"

finish
