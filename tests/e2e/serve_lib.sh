# serve_lib.sh - helpers for the tests of botify serve, remote: and exec:
# (source after lib.sh). Every server or redis-server started here is
# stopped when the test exits, passed or failed.
#
#   start_serve NAME ARGS...   botify serve --port 0 ARGS on loopback; sets
#                              SERVE_PORT and SERVE_PID; stderr in $T/NAME.err
#   stop_serve PID             SIGTERM, wait; returns the server's exit code
#   start_redis [PORT]         redis-server on a free loopback port (or PORT)
#                              with its own directory under $T; sets
#                              REDIS_PORT and REDIS_PID; $REDIS_EXTRA holds
#                              more redis-server options
#   start_redis_ephemeral      the same on a port inside this machine's
#                              ephemeral (outgoing) port range
#   kill_redis                 kill -9 the redis-server of REDIS_PID
#   need TOOL...               skips the whole test (with a message) when a
#                              tool is missing
#   strip_log FILE             the log without timestamps and latencies

_serve_pids=""
_redis_pids=""

_serve_cleanup() {
	local p
	for p in $_serve_pids $_redis_pids; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $_serve_pids $_redis_pids; do
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap _serve_cleanup EXIT

need() {
	local t
	for t in "$@"; do
		if ! command -v "$t" >/dev/null 2>&1; then
			skip_all "$t is not installed (scripts/deps.sh installs it)"
		fi
	done
}

# waits until FILE has a line matching PATTERN (or PID died); 0 when found
_wait_for_line() {
	local file=$1 pattern=$2 pid=$3
	for _ in $(seq 300); do
		grep -Eq -- "$pattern" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

start_serve() {
	local name=$1
	shift
	"$BOTIFY" serve --port 0 "$@" 2>"$T/$name.err" &
	SERVE_PID=$!
	_serve_pids="$_serve_pids $SERVE_PID"
	if ! _wait_for_line "$T/$name.err" 'listening on http://127\.0\.0\.1:[0-9]+' "$SERVE_PID"; then
		echo "start_serve $name: the server did not start:" >&2
		cat "$T/$name.err" >&2
		SERVE_PORT=0
		return 1
	fi
	SERVE_PORT=$(sed -nE 's|.*listening on http://127\.0\.0\.1:([0-9]+).*|\1|p' "$T/$name.err" | head -n 1)
}

stop_serve() {
	local pid=$1 rc
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	_serve_pids=$(echo "$_serve_pids" | sed "s/ $pid\b//")
	return $rc
}

start_redis() {
	local port try want=${1:-}
	mkdir -p "$T/redis"
	for try in 1 2 3 4 5; do
		port=${want:-$((20000 + RANDOM % 40000))}
		rm -f "$T/redis/log.$port.$try" # a restart on the same port: wait for the new one
		redis-server --port "$port" --bind 127.0.0.1 --dir "$T/redis" --save '' --appendonly no \
			--daemonize no --logfile "$T/redis/log.$port.$try" ${REDIS_EXTRA:-} >/dev/null 2>&1 &
		local pid=$!
		if _wait_for_line "$T/redis/log.$port.$try" 'Ready to accept connections' "$pid"; then
			REDIS_PORT=$port
			REDIS_PID=$pid
			_redis_pids="$_redis_pids $pid"
			return 0
		fi
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		[ -n "$want" ] && break
	done
	echo "start_redis: redis-server did not start${want:+ on port $want}:" >&2
	cat "$T/redis/log.$port."* >&2 2>/dev/null
	return 1
}

start_redis_ephemeral() {
	local lo hi try
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	for try in 1 2 3 4 5; do
		# even: Linux gives connect() even ports first
		start_redis $(((lo + RANDOM % (hi - lo + 1)) & ~1)) 2>/dev/null && return 0
	done
	echo "start_redis_ephemeral: redis-server did not start" >&2
	return 1
}

kill_redis() {
	kill -KILL "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	_redis_pids=$(echo "$_redis_pids" | sed "s/ $REDIS_PID\b//")
}

strip_log() {
	sed -E 's/"timestamp": [0-9]+, //; s/"latency": [0-9.e+-]+, //' "$1"
}
