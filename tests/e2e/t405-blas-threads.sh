#!/bin/bash
# OpenBLAS runs one thread per call in every command (botify's own threads
# do the parallel work), so what export computes does not depend on
# --threads (with OpenBLAS's own threads the item tower's products
# rounded otherwise and the track vectors changed with --threads).
. "$(dirname "$0")/lib.sh"

# big enough that OpenBLAS would share the item tower's products out
W="$T/world"
tiny_world "$W" --tracks 3000 2>/dev/null
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 300 --recommender random --seed 2 --log "$T/r.jsonl"
expect_exit 0 "$BOTIFY" train --world "$W" --log "$T/r.jsonl" --model "$T/m" --epochs 1 --threads 1 --quiet

check "export writes the same bytes for any --threads"
for t in 1 2; do
	expect_exit 0 "$BOTIFY" export --world "$W" --model "$T/m" --threads $t --quiet --k 10 \
		--embeddings "$T/e$t.npy" --recs "$T/r$t.json"
done
cmp -s "$T/e1.npy" "$T/e2.npy" || fail "the track vectors differ between --threads 1 and 2"
cmp -s "$T/r1.json" "$T/r2.json" || fail "the lists differ between --threads 1 and 2"

finish
