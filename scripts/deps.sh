#!/bin/sh
# Installs the Debian packages botify needs to build and test, if missing.
# Uses sudo when not root. Safe to run repeatedly: installed packages are skipped.
set -e
# libcurl, libmicrohttpd, hiredis: remote: and botify serve (issue 6); redis-server,
# curl, procps, iproute2: the serve tests; wrk and time: the benchmarks; python3-numpy and
# librsvg2-bin: the tests' cross-checks (numpy reads our .npy, the forest plot renders)
PKGS="build-essential pkg-config libopenblas-dev libcjson-dev zlib1g-dev check
      libcurl4-openssl-dev libmicrohttpd-dev libhiredis-dev redis-server curl procps iproute2 wrk time
      python3-numpy librsvg2-bin"
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
