#!/bin/bash
# Open MPI: the MPI build (make MPI=1 B=build/mpi, or $BOTIFY_MPI) under
# mpirun gives the log (latency aside), the summary table and the A/B table
# of a single process without MPI, for any ranks x threads; a failure on one
# rank ends the job with that rank's message and leaves no temporary file;
# train on several ranks writes the model of a single process, byte for
# byte; commands that run as one process refuse several ranks.
. "$(dirname "$0")/lib.sh"

mpi_setup
strip() { sed -E 's/"latency": [0-9.e+-]+//' "$1"; }
table() { grep '^|' "$1"; }

check "the MPI build says so in --version, the default build says it has none"
expect_exit 0 "$MPIBOT" --version
expect_stdout '^MPI: Open MPI'
expect_exit 0 "$BOTIFY" --version
expect_stdout '^MPI: not compiled in$'

SIM=(simulate --episodes 1500 --experiment AB --arms C=random,T1=sticky_artist --seed 11)
check "one process without MPI: the reference log and table"
expect_exit 0 "$BOTIFY" "${SIM[@]}" --threads 2 --log "$T/ref.jsonl"
cp "$OUT" "$T/ref.txt"

for rt in 1x1 2x1 2x2 3x1; do
	np=${rt%x*} th=${rt#*x}
	check "simulate on $np ranks x $th threads: the same log and table"
	expect_exit 0 mpi "$np" "${SIM[@]}" --threads "$th" --log "$T/r$rt.jsonl"
	expect_eq "$(table "$T/ref.txt")" "$(table "$OUT")" "summary table"
	expect_eq "$(strip "$T/ref.jsonl")" "$(strip "$T/r$rt.jsonl")" "log without latency"
	ls "$T" | grep -q '\.tmp\.' && fail "a temporary file was left"
done

check "a paired run with a gzip log on 2 ranks: the same rows"
expect_exit 0 "$BOTIFY" simulate --episodes 700 --experiment P --arms C=random,T1=sticky_artist \
	--design paired --seed 4 --log "$T/p1.jsonl.gz"
expect_exit 0 mpi 2 simulate --episodes 700 --experiment P --arms C=random,T1=sticky_artist \
	--design paired --seed 4 --threads 1 --log "$T/p2.jsonl.gz"
expect_eq "$(gzip -dc "$T/p1.jsonl.gz" | sed -E 's/"latency": [0-9.e+-]+//')" \
	"$(gzip -dc "$T/p2.jsonl.gz" | sed -E 's/"latency": [0-9.e+-]+//')" "paired log"

AB=(ab --control random --treatment sticky_artist --episodes 1200 --seed 7)
check "in-process ab on 2 ranks: the A/B table of one process (latency rows aside)"
expect_exit 0 "$BOTIFY" "${AB[@]}" --threads 2
grep -v latency "$OUT" >"$T/ab1.txt"
expect_exit 0 mpi 2 "${AB[@]}" --threads 1
grep -v latency "$OUT" >"$T/ab2.txt"
grep -q '| T1 |' "$T/ab1.txt" || fail "no table rows"
expect_eq "$(cat "$T/ab1.txt")" "$(cat "$T/ab2.txt")" "A/B table"

check "a recommender failing on rank 1 only: rank 1's message, exit 2, no temporary log"
cat >"$T/rec.sh" <<'EOS'
#!/bin/sh
[ "${OMPI_COMM_WORLD_RANK:-0}" = 1 ] && { echo "no recommender on rank 1" >&2; exit 3; }
while read -r line; do echo '{"track": 1}'; done
EOS
expect_exit 2 mpi 2 simulate --episodes 1500 --recommender "exec:cmd='sh $T/rec.sh'" --threads 1 \
	--log "$T/fail.jsonl"
expect_stderr '^botify: rank 1: episode [0-9]+: .*exited with status 3'
expect_no_file "$T/fail.jsonl"
ls "$T" | grep -q '^fail\.jsonl' && fail "a temporary log was left"

check "an existing log is refused on every rank: exit 2, the log untouched"
echo keep >"$T/keep.jsonl"
expect_exit 2 mpi 2 simulate --episodes 100 --recommender random --log "$T/keep.jsonl"
expect_stderr 'exists'
expect_eq keep "$(cat "$T/keep.jsonl")" "existing log"

check "train on 2 ranks: rank 0 writes the model, the same bytes (and test MSE) as one process"
tiny_world "$T/tw" 2>/dev/null
expect_exit 0 "$BOTIFY" simulate --world "$T/tw" --episodes 600 --recommender random --seed 3 --log "$T/tr.jsonl"
expect_exit 0 "$BOTIFY" simulate --world "$T/tw" --episodes 600 --recommender sticky_artist --seed 4 \
	--log "$T/ts.jsonl"
TR=(train --world "$T/tw" --log "$T/tr.jsonl" "$T/ts.jsonl" --epochs 4 --batch 500 --negatives 1 --emb 8
	--hidden 16 --out 8)
expect_exit 0 "$BOTIFY" "${TR[@]}" --threads 2 --model "$T/m1" --split-out "$T/split.json"
mse1=$(awk -F'|' '/^\| two-tower/ { print $3 }' "$OUT")
for run in a b; do
	expect_exit 0 mpi 2 "${TR[@]}" --threads 1 --split "$T/split.json" --model "$T/m2$run"
	mse2=$(awk -F'|' '/^\| two-tower/ { print $3 }' "$OUT")
	[ -n "$mse2" ] || fail "no test MSE in the -np 2 run"
	expect_eq "$mse1" "$mse2" "test MSE, 1 process vs 2 ranks"
	expect_file "$T/m2$run/config.json"
done
n=0
for f in "$T"/m1/*.npy; do
	n=$((n + 1))
	cmp -s "$f" "$T/m2a/$(basename "$f")" || fail "$(basename "$f"): 2 ranks differ from 1 process"
	cmp -s "$T/m2a/$(basename "$f")" "$T/m2b/$(basename "$f")" || fail "$(basename "$f"): two -np 2 runs differ"
done
[ "$n" -ge 18 ] || fail "only $n tensors compared"
grep -q '"ranks":	2' "$T/m2a/config.json" || fail "config.json does not record the 2 ranks"
ls "$T" | grep -q '\.tmp\.' && fail "a temporary model directory was left"

check "train on 3 ranks, dot arch with dense Adam: the model of one process"
expect_exit 0 "$BOTIFY" "${TR[@]}" --arch dot --optimizer adam --threads 1 --split "$T/split.json" \
	--model "$T/d1"
expect_exit 0 mpi 3 "${TR[@]}" --arch dot --optimizer adam --threads 2 --split "$T/split.json" \
	--model "$T/d3"
for f in "$T"/d1/*.npy; do
	cmp -s "$f" "$T/d3/$(basename "$f")" || fail "$(basename "$f"): 3 ranks differ from 1 process"
done

check "Ctrl-C of mpirun during train on 2 ranks: both stop after the same batch, rank 0 saves the best model"
# Open MPI kills a rank 1 s after passing on the SIGTERM: on a loaded
# machine saving the model can take longer (the check failed at load 17).
# --foreground: timeout passes the INT to mpirun once; without it, it also
# signals its own process group, mpirun again, and a second INT makes mpirun
# end at once (t804 covers that case)
timeout --foreground 120 mpirun -np 2 --oversubscribe --mca odls_base_sigkill_timeout 30 "$MPIBOT" "${TR[@]}" --epochs 100000 --patience 100000 --threads 1 \
	--model "$T/mi" >"$T/mi.out" 2>"$T/mi.err" &
pid=$!
for _ in $(seq 300); do
	grep -qE '^epoch +2 ' "$T/mi.err" 2>/dev/null && break
	sleep 0.2
done
kill -INT "$pid" 2>/dev/null
wait "$pid"
grep -q 'interrupted: saving the best model so far' "$T/mi.err" || fail "no interrupt note: $(tail -n 3 "$T/mi.err")"
grep -q '| interrupted |' "$T/mi.out" || fail "the table does not say interrupted"
[ -f "$T/mi/config.json" ] || fail "no model saved after the interrupt"
ls "$T" | grep -q '^mi\.tmp' && fail "a temporary model directory was left"

check "a command that runs as one process refuses several ranks"
expect_exit 2 mpi 2 datagen --out "$T/w" --preset "$REPO_DIR/datasets/small.json"
expect_stderr 'runs as one process, not 2 MPI ranks'
expect_no_file "$T/w"

check "Ctrl-C of mpirun: every rank stops, no temporary log is left"
timeout --foreground 120 mpirun -np 2 --oversubscribe "$MPIBOT" simulate --episodes 100000000 \
	--recommender sticky_artist --threads 1 --log "$T/int.jsonl" >/dev/null 2>"$T/int.err" &
pid=$!
for _ in $(seq 100); do
	grep -q 'interest neighbours' "$T/int.err" 2>/dev/null && ls "$T" | grep -q '^int\.jsonl' && break
	sleep 0.2
done
sleep 1
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
[ "$rc" != 0 ] || fail "mpirun exited 0 after Ctrl-C"
ls "$T" | grep -q '^int\.jsonl' && fail "a temporary log was left: $(ls "$T" | grep '^int')"

finish
