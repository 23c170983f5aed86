#!/bin/bash
# Open MPI: export under mpirun splits the tracks' and the users' top-K lists
# over the ranks, and rank 0 writes the files of a single process without
# MPI, byte for byte; a failure on one rank (in the set-up or in its share of
# the lists) ends the job with that rank's message and leaves no file.
. "$(dirname "$0")/lib.sh"

mpi_setup
# rank 0 and rank 1 given different arguments (MPMD): a rank whose copy of
# the model is damaged, as on a node with a bad copy
mpi_pair() { timeout 120 mpirun --oversubscribe -np 1 "$MPIBOT" "$@" : -np 1 "$MPIBOT" "${RANK1[@]}"; }
no_temporaries() { ls "$T" | grep -q '\.tmp\.' && fail "a temporary file was left: $(ls "$T" | grep '\.tmp\.')"; }
# 8 float32 of value $3 (4 bytes, printf escapes) over row $2 of an (N, 8)
# .npy with its 128-byte header
poke_row() {
	for _ in 1 2 3 4 5 6 7 8; do printf "$3"; done |
		dd of="$1" bs=1 seek=$((128 + $2 * 32)) conv=notrunc status=none
}

# 3 chunks of 1024 tracks and of 1024 users: every rank of 2 or 3 has a share
W="$T/world"
"$BOTIFY" datagen --out "$W" --tracks 3000 --users 2600 --dim 16 --seed 7 >/dev/null 2>&1 ||
	{ echo "datagen failed" >&2; exit 1; }
check "a model to export"
expect_exit 0 "$BOTIFY" simulate --world "$W" --episodes 3000 --recommender sticky_artist --seed 3 \
	--log "$T/s.jsonl.gz"
expect_exit 0 "$BOTIFY" train --world "$W" --log "$T/s.jsonl.gz" --model "$T/m" --emb 8 --hidden 16 \
	--out 8 --batch 256 --epochs 2 --threads 1
EXP=(export --world "$W" --model "$T/m" --k 10)

check "one process without MPI: the reference files"
expect_exit 0 "$BOTIFY" "${EXP[@]}" --threads 2 --embeddings "$T/ref.npy" --recs "$T/ref-t.json" \
	--user-recs "$T/ref-u.json"
[ "$(wc -l <"$T/ref-t.json")" = 3000 ] || fail "not 3000 track lines"
[ "$(wc -l <"$T/ref-u.json")" = 2600 ] || fail "not 2600 user lines"

for rt in 1x1 2x1 2x2 3x1; do
	np=${rt%x*} th=${rt#*x}
	check "export on $np ranks x $th threads: the same files, byte for byte"
	expect_exit 0 mpi "$np" "${EXP[@]}" --threads "$th" --embeddings "$T/e$rt.npy" \
		--recs "$T/t$rt.json" --user-recs "$T/u$rt.json"
	expect_stderr "^wrote $T/t$rt.json: top 10 for each of 3000 tracks\$"
	[ "$(grep -c '^wrote ' "$ERR")" = 3 ] || fail "the notes are not said once: $(cat "$ERR")"
	cmp -s "$T/ref.npy" "$T/e$rt.npy" || fail "track vectors differ"
	cmp -s "$T/ref-t.json" "$T/t$rt.json" || fail "track lists differ"
	cmp -s "$T/ref-u.json" "$T/u$rt.json" || fail "user lists differ"
	no_temporaries
done

check "more ranks than chunks of users: the idle rank waits, the files are the same"
expect_exit 0 "$BOTIFY" "${EXP[@]}" --threads 1 --user-recs "$T/few1.json" --k 3
expect_exit 0 mpi 4 "${EXP[@]}" --threads 1 --user-recs "$T/few4.json" --k 3
cmp -s "$T/few1.json" "$T/few4.json" || fail "user lists differ"

# rank 1's copy of the model: a start track of its chunk (1500) whose
# context overflows the scores with a large track vector, and a user whose
# context does
cp -r "$T/m" "$T/bad"
poke_row "$T/bad/start_emb.npy" 1500 '\xff\xff\x7f\x7f'
poke_row "$T/bad/track_emb.npy" 5 '\x00\x00\x80\x72'
poke_row "$T/bad/user_context.npy" 1500 '\x00\x00\x80\x7e'

check "a failure in rank 1's share of the track lists: its message from rank 0, exit 2, no file"
RANK1=(export --world "$W" --model "$T/bad" --k 10 --threads 1 --recs "$T/f1.json")
expect_exit 2 mpi_pair export --world "$W" --model "$T/m" --k 10 --threads 1 --recs "$T/f1.json"
expect_stderr '^botify: rank 1: the model.s scores overflow float32 \(context vectors'
expect_no_file "$T/f1.json"
no_temporaries

check "a failure of rank 1 before its share of the user lists: the same"
RANK1=(export --world "$W" --model "$T/bad" --k 10 --threads 1 --user-recs "$T/f2.json"
	--embeddings "$T/f2.npy")
expect_exit 2 mpi_pair export --world "$W" --model "$T/m" --k 10 --threads 1 --user-recs "$T/f2.json" \
	--embeddings "$T/f2.npy"
expect_stderr '^botify: rank 1: the model.s scores overflow float32 \(user vectors'
expect_no_file "$T/f2.json"
expect_no_file "$T/f2.npy"
no_temporaries

check "rank 1 cannot read its model after rank 0 opened the files: rank 0 says so, no file"
cp -r "$T/m" "$T/cut"
head -c 100 "$T/m/item_w1.npy" >"$T/cut/item_w1.npy"
RANK1=(export --world "$W" --model "$T/cut" --k 10 --recs "$T/f3.json")
expect_exit 2 mpi_pair export --world "$W" --model "$T/m" --k 10 --recs "$T/f3.json"
expect_stderr "^botify: rank 1: $T/cut/item_w1.npy: truncated"
expect_no_file "$T/f3.json"
no_temporaries

check "an existing file is refused by rank 0: exit 2, the file untouched"
echo keep >"$T/keep.json"
expect_exit 2 mpi 2 "${EXP[@]}" --recs "$T/keep.json"
expect_stderr "keep.json' exists"
expect_eq keep "$(cat "$T/keep.json")" "existing file"
no_temporaries

finish
