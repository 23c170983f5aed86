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
for t in 1 2 3; do
	expect_exit 0 "$BOTIFY" export --world "$W" --model "$T/m" --threads $t --quiet --k 10 \
		--embeddings "$T/e$t.npy" --recs "$T/r$t.json" --user-recs "$T/u$t.json"
done
for t in 2 3; do
	cmp -s "$T/e1.npy" "$T/e$t.npy" || fail "the track vectors differ between --threads 1 and $t"
	cmp -s "$T/r1.json" "$T/r$t.json" || fail "the track lists differ between --threads 1 and $t"
	cmp -s "$T/u1.json" "$T/u$t.json" || fail "the user lists differ between --threads 1 and $t"
done

finish
