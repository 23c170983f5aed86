#!/bin/sh
# Installs the Debian packages botify needs to build and test, if missing:
# the one step of set-up that needs root (it uses sudo when not root). No
# make target runs it; a machine that already has the libraries, or is not
# Debian, builds and tests without it. Safe to run again: installed packages
# are skipped.
set -e
# libcurl, libmicrohttpd, hiredis: remote: and botify serve; redis-server,
# curl, procps, iproute2: the serve tests; wrk and time: the benchmarks; python3-numpy and
# librsvg2-bin: the tests' cross-checks (numpy reads our .npy, the forest plot
# renders); man-db, groff-base and zsh: the install test renders the man pages
# and loads the completions; libdeflate-dev: botify ab inflates gzip logs
# with it (about three times zlib's speed; the build falls back to zlib)
PKGS="build-essential pkg-config libopenblas-dev libcjson-dev zlib1g-dev libdeflate-dev check
      libcurl4-openssl-dev libmicrohttpd-dev libhiredis-dev redis-server curl procps iproute2 wrk time
      python3-numpy librsvg2-bin man-db groff-base zsh"
if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "scripts/deps.sh: not a Debian system; install the equivalents of:" $PKGS >&2
	exit 1
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
