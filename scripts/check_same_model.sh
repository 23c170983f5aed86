#!/bin/bash
# Before/after check for changes to the model, training or export: trains
# every arch with two botify binaries on the same logs, exports each model,
# and compares every file of the model directories byte for byte (the
# timings in metrics.json aside), and the printed tables.
#
#   scripts/check_same_model.sh OLD_BOTIFY NEW_BOTIFY [EPISODES] [EPOCHS]
#
# Exit 0 when every file matches, 1 otherwise (each difference is listed).
set -u
OLD=${1:?usage: $0 OLD_BOTIFY NEW_BOTIFY [EPISODES] [EPOCHS]}
NEW=${2:?usage: $0 OLD_BOTIFY NEW_BOTIFY [EPISODES] [EPOCHS]}
EPISODES=${3:-1500}
EPOCHS=${4:-3}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/botify-same-model.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export XDG_CACHE_HOME="$TMP/cache"
"$NEW" simulate --episodes "$EPISODES" --recommender sticky_artist --seed 5 --log "$TMP/a.jsonl" >/dev/null 2>&1 || exit 2
"$NEW" simulate --episodes "$EPISODES" --recommender random --seed 6 --log "$TMP/b.jsonl" >/dev/null 2>&1 || exit 2
untimed() { grep -vE '"(seconds|samples_per_second)"' "$1"; }
fail=0
for arch in two-tower dot sum hybrid; do
	for b in old new; do
		bin=$OLD
		[ $b = new ] && bin=$NEW
		"$bin" train --log "$TMP/a.jsonl" --log "$TMP/b.jsonl" --arch "$arch" --epochs "$EPOCHS" \
			--threads 2 --model "$TMP/m_$b" >"$TMP/out_$b" 2>/dev/null || echo "$arch: train ($b) failed"
		"$bin" export --model "$TMP/m_$b" --recs "$TMP/m_$b/tracks_with_recs.json" \
			--user-recs "$TMP/m_$b/recommendations.json" --embeddings "$TMP/m_$b/track_vectors.npy" \
			--k 20 >/dev/null 2>&1 || echo "$arch: export ($b) failed"
	done
	n=0
	for f in $(cd "$TMP/m_old" && ls); do
		n=$((n + 1))
		if [ "$f" = metrics.json ]; then
			cmp -s <(untimed "$TMP/m_old/$f") <(untimed "$TMP/m_new/$f")
		else
			cmp -s "$TMP/m_old/$f" "$TMP/m_new/$f"
		fi || { echo "DIFFERS: $arch $f"; fail=1; }
	done
	[ "$(ls "$TMP/m_old")" = "$(ls "$TMP/m_new")" ] || { echo "DIFFERS: $arch: the file lists"; fail=1; }
	cmp -s <(grep '^|' "$TMP/out_old") <(grep '^|' "$TMP/out_new") || { echo "DIFFERS: $arch: the table"; fail=1; }
	echo "$arch: $n files and the table compared"
	rm -rf "$TMP/m_old" "$TMP/m_new"
done
[ $fail = 0 ] && echo "same output"
exit $fail
