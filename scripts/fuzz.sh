#!/bin/bash
# make fuzz: builds the libFuzzer targets in tests/fuzz/ with clang (ASan +
# UBSan + fuzzer) and runs each for FUZZ_SECONDS (default 30) from a corpus
# seeded with the test fixtures. Crashes land in build/fuzz/crashes/<target>/
# and make the script fail. FUZZ_TARGETS="fuzz_npy fuzz_spec" runs only
# those; FUZZ_SECONDS=0 only builds. CI runs every target for a few seconds.
set -eu -o pipefail
cd "$(dirname "$0")/.."
command -v clang >/dev/null || { echo "fuzz: clang is needed (apt-get install clang)" >&2; exit 2; }
SECONDS_EACH=${FUZZ_SECONDS:-30}
OUT=build/fuzz
mkdir -p "$OUT/obj" "$OUT/bin"
CFLAGS="-std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_POSIX_C_SOURCE=200809L -Ilib $(pkg-config --cflags libcjson zlib libcurl libmicrohttpd hiredis) $(pkg-config --cflags openblas 2>/dev/null || true)"
LIBS="$(pkg-config --libs libcjson zlib libcurl libmicrohttpd hiredis) $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -lpthread -lm"
export CFLAGS OUT
# the library without main(), built for the fuzzer (two at a time)
ls lib/*.c | xargs -P 2 -I{} sh -c 'clang $CFLAGS -fsanitize=fuzzer-no-link -c "$1" -o "$OUT/obj/$(basename "${1%.c}").o"' sh {}
failed=0
for t in tests/fuzz/fuzz_*.c; do
	name=$(basename "${t%.c}")
	if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]]; then
		continue
	fi
	mkdir -p "$OUT/crashes/$name"
	clang $CFLAGS "$t" "$OUT"/obj/*.o $LIBS -o "$OUT/bin/$name"
	[ "$SECONDS_EACH" = 0 ] && { echo "== $name built"; continue; }
	corpus="$OUT/corpus/$name"
	mkdir -p "$corpus"
	case $name in
	fuzz_npy) cp tests/data/e2e/world/tracks.npy "$corpus/" 2>/dev/null || true; find tests/data -name '*.npy' -size -64k -exec cp {} "$corpus/" \; ;;
	fuzz_logscan_lines)
		printf 'xxxx{"a": 1}\r\n\n \t\n{"b": 2}\n{"c": 3}' >"$corpus/a"
		{ printf 'x\200\100x'; head -n 3 tests/data/ab/*.jsonl 2>/dev/null | grep '^{' | sed '2s/$/\r/'; } >"$corpus/b" ;;
	fuzz_eventlog | fuzz_eventlog_diff)
		head -n 40 tests/data/ab/*.jsonl 2>/dev/null | grep '^{' | split -l 1 - "$corpus/row" || true ;;
	fuzz_users) cp tests/data/e2e/world/users.json "$corpus/" ;;
	fuzz_jsonl)
		for f in tests/data/jsonl/*; do [ "$(stat -c %s "$f")" -lt 65536 ] && cp "$f" "$corpus/"; done
		printf '{"a": 1}\n' | gzip -c >"$corpus/one.gz"
		{ printf '{"a": 1}\n' | gzip -c; printf '[2]\n' | gzip -c; } >"$corpus/two.gz" ;;
	fuzz_recproto) printf '{"track": 4211, "time": 1.0}' >"$corpus/a"; printf '{"user": 17, "track": 9}' >"$corpus/b" ;;
	fuzz_spec) printf 'contextual:file=a.json' >"$corpus/a"; printf 'C=random,T1=toppop:k=5' >"$corpus/b" ;;
	esac
	echo "== $name ($SECONDS_EACH s)"
	if ! "$OUT/bin/$name" -max_total_time="$SECONDS_EACH" -artifact_prefix="$OUT/crashes/$name/" "$corpus" \
		>"$OUT/$name.log" 2>&1; then
		failed=$((failed + 1))
		echo "== $name FAILED (artifacts in $OUT/crashes/$name/):"
		grep -E 'ERROR|SUMMARY|differ|refuses|accepts|Test unit written' "$OUT/$name.log" | head -n 20
	else
		tail -n 2 "$OUT/$name.log"
	fi
done
[ "$failed" = 0 ] || { echo "fuzz: $failed target(s) failed" >&2; exit 1; }
