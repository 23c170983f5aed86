#!/bin/bash
# make fuzz: builds the libFuzzer targets in tests/fuzz/ with clang (ASan +
# UBSan + fuzzer) and runs each for FUZZ_SECONDS (default 30) from a corpus
# seeded with the test fixtures. Crashes land in build/fuzz/crashes/<target>/.
set -eu
cd "$(dirname "$0")/.."
command -v clang >/dev/null || { echo "fuzz: clang is needed (apt-get install clang)" >&2; exit 2; }
SECONDS_EACH=${FUZZ_SECONDS:-30}
OUT=build/fuzz
mkdir -p "$OUT"
CFLAGS="-std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L -Ilib $(pkg-config --cflags libcjson zlib libcurl libmicrohttpd hiredis) $(pkg-config --cflags openblas 2>/dev/null || true)"
LIBS="$(pkg-config --libs libcjson zlib libcurl libmicrohttpd hiredis) $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -lpthread -lm"
# the library without main(), built for the fuzzer
objs=()
for f in lib/*.c; do
	o="$OUT/$(basename "${f%.c}").o"
	clang $CFLAGS -fsanitize=fuzzer-no-link -c "$f" -o "$o"
	objs+=("$o")
done
for t in tests/fuzz/fuzz_*.c; do
	name=$(basename "${t%.c}")
	mkdir -p "$OUT/bin" "$OUT/crashes/$name"
	clang $CFLAGS "$t" "${objs[@]}" $LIBS -o "$OUT/bin/$name"
	corpus="$OUT/corpus/$name"
	mkdir -p "$corpus"
	case $name in
	fuzz_npy) cp tests/data/e2e/world/tracks.npy "$corpus/" 2>/dev/null || true; find tests/data -name '*.npy' -size -64k -exec cp {} "$corpus/" \; ;;
	fuzz_eventlog) head -n 20 tests/data/ab/*.jsonl 2>/dev/null | grep '^{' | split -l 1 - "$corpus/row" || true ;;
	fuzz_users) cp tests/data/e2e/world/users.json "$corpus/" ;;
	fuzz_recproto) printf '{"track": 4211, "time": 1.0}' >"$corpus/a"; printf '{"user": 17, "track": 9}' >"$corpus/b" ;;
	fuzz_spec) printf 'contextual:file=a.json' >"$corpus/a"; printf 'C=random,T1=toppop:k=5' >"$corpus/b" ;;
	esac
	echo "== $name ($SECONDS_EACH s)"
	"$OUT/bin/$name" -max_total_time="$SECONDS_EACH" -artifact_prefix="$OUT/crashes/$name/" "$corpus" 2>&1 | tail -n 3
done
