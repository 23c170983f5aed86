#!/bin/bash
# Session records in Redis are bytes anyone who can write to the database
# may have changed: botify serve checks every field before use. A record
# that is truncated, of another recommender, or holds out-of-range counts,
# positions or ids is a 500 for that call with a message, the record is
# dropped (the next call starts a new session), and the server keeps
# serving. Records are read, changed and written back with redis-cli.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need redis-server redis-cli curl

W="$T/world"
tiny_world "$W"
tiny_model "$W" 800 1
: >"$T/trecs.json"
for t in $(seq 0 499); do echo "{\"track\": $t, \"recommendations\": [$(((t + 1) % 500)), $(((t + 7) % 500))]}" >>"$T/trecs.json"; done
start_redis || exit 1
rcli() { redis-cli -p "$REDIS_PORT" -n "$DB" "$@"; }

# The record layout (lib/service.c): a 72-byte header -- magic, arm, spec
# hash, reserved (uint32 each), state size, serial, calls (uint64 each), the
# random state (4 x uint64) -- then the recommender's state.
HDR=72

# poke FILE OFFSET INT32: writes a little-endian int32 at OFFSET
poke() {
	local v=$(($3 & 0xffffffff))
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((v & 255)) $((v >> 8 & 255)) $((v >> 16 & 255)) $((v >> 24 & 255)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

call() { # call USER: prints the status; the body is in $T/body
	curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -XPOST -d "{\"track\": $((RANDOM % 500)), \"time\": 0.9}" \
		"http://127.0.0.1:$SERVE_PORT/next/$1"
}

# corrupt WHAT USER EDIT...: two calls make a record; EDIT (a command run on
# the record's file) changes it; the next call must be a 500 naming the
# corruption, the record must be gone, and the call after it a 200
corrupt() {
	local what=$1 user=$2
	shift 2
	[ "$(call "$user")$(call "$user")" = 200200 ] || { fail "$what: the first calls failed: $(cat "$T/body")"; return; }
	rcli --raw GET "botify:s:$user" | head -c -1 >"$T/rec"
	"$@" "$T/rec"
	rcli -x SET "botify:s:$user" <"$T/rec" >/dev/null
	local st
	st=$(call "$user")
	[ "$st" = 500 ] || fail "$what: status $st: $(head -c 300 "$T/body")"
	grep -Eq '"error": ".*(corrupt|another recommender|bytes, expected).*the session was dropped"' "$T/body" ||
		fail "$what: the error does not say so: $(head -c 300 "$T/body")"
	expect_eq 0 "$(rcli EXISTS "botify:s:$user")" "$what: the record still exists"
	st=$(call "$user")
	[ "$st" = 200 ] || fail "$what: the call after the drop got $st: $(head -c 300 "$T/body")"
}

truncate10() { truncate -s -10 "$1"; }
grow() { printf 'xx' >>"$1"; }
set_at() { local off=$1 val=$2; shift 2; poke "$1" "$off" "$val"; }

serve_with() { # serve_with NAME DB SPEC
	DB=$2
	start_serve "$1" --world "$W" --recommender "$3" --redis "redis://127.0.0.1:$REDIS_PORT/$2" \
		--threads 2 --max-steps 50 || exit 1
}

check "any recommender: truncated, grown, another spec, bad calls or random state"
serve_with rnd 1 random
corrupt "truncated" 1 truncate10
corrupt "two bytes more" 2 grow
corrupt "another spec hash" 3 set_at 8 12345
corrupt "another arm" 4 set_at 4 3
corrupt "reserved field" 5 set_at 12 1
corrupt "zero calls" 6 set_at 32 0
corrupt "calls past --max-steps" 7 set_at 32 51
corrupt "an all-zero random state" 8 bash -c 'dd if=/dev/zero of="$0" bs=1 seek=40 count=32 conv=notrunc status=none'
stop_serve "$SERVE_PID" || fail "serve exited with $?"

check "nn: the ranked list's count, position, ids and played flags"
# nn state: started, pad, list n, list pos (int32 each), ids[k], played[k]
serve_with nn 2 "nn:model=$T/m,k=20"
corrupt "started = 7" 1 set_at $HDR 7
corrupt "list count past k" 2 set_at $((HDR + 8)) 100000
corrupt "negative list count" 3 set_at $((HDR + 8)) -4
corrupt "negative position" 4 set_at $((HDR + 12)) -100000
corrupt "position past the count" 5 set_at $((HDR + 12)) 21
corrupt "an id past the catalog" 6 set_at $((HDR + 16 + 4 * 3)) 100000
corrupt "a negative id" 7 set_at $((HDR + 16)) -1
corrupt "a played flag of 9" 8 bash -c "printf '\\x09' | dd of=\"\$0\" bs=1 seek=$((HDR + 16 + 80 + 2)) conv=notrunc status=none"
stop_serve "$SERVE_PID" || fail "serve exited with $?"

check "ranked_sticky: flags, the artist table and the ranked list"
# state: started, abandoned, n_artists, pad, 32 x (artist, count), list n, pos, ids, played
serve_with rs 3 "ranked_sticky:model=$T/m,recs=$T/trecs.json,k=20"
corrupt "abandoned = 2" 1 set_at $((HDR + 4)) 2
corrupt "33 artists" 2 set_at $((HDR + 8)) 33
corrupt "negative artist count" 3 set_at $((HDR + 8)) -1
corrupt "an artist past the world's" 4 set_at $((HDR + 16)) 1000000
corrupt "an artist played 0 times" 5 set_at $((HDR + 20)) 0
corrupt "list count past k" 6 set_at $((HDR + 272)) 5000
corrupt "list position negative" 7 set_at $((HDR + 276)) -3
stop_serve "$SERVE_PID" || fail "serve exited with $?"

check "sticky_plus, and as the fallback inside contextual's state"
# state: started, misses, switched, n_played, played[64]
serve_with sp 4 "sticky_plus:dislikes=$T/train.jsonl,k=3"
corrupt "negative played count" 1 set_at $((HDR + 12)) -5
corrupt "a played track past the catalog" 2 set_at $((HDR + 16)) 70000
corrupt "negative misses" 3 set_at $((HDR + 4)) -1
corrupt "switched = 5" 4 set_at $((HDR + 8)) 5
stop_serve "$SERVE_PID" || fail "serve exited with $?"
serve_with ctx 5 "contextual:file=$T/trecs.json,fallback=\"sticky_plus:dislikes=$T/train.jsonl\""
corrupt "the fallback's played count" 1 set_at $((HDR + 12)) -5
stop_serve "$SERVE_PID" || fail "serve exited with $?"

check "no sanitizer report (under make asan)"
grep -q 'Sanitizer\|runtime error' "$T"/*.err && fail "a sanitizer report: $(grep -h 'Sanitizer\|runtime error' "$T"/*.err | head -3)"

finish
