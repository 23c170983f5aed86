#!/bin/bash
# Ctrl-C at a terminal under mpirun: the terminal signals its foreground
# process group, which holds mpirun (and any wrapper such as timeout) but
# not the ranks (Open MPI puts each in a group of its own). Once, mpirun
# passes SIGTERM to the ranks; twice, or once through a wrapper that passes
# it on again, mpirun exits at once and the ranks learn it only from the
# kernel (the launcher's death). Either way: a non-zero exit, no temporary
# file or directory left, no rank left running.
. "$(dirname "$0")/lib.sh"

mpi_setup

# ctrl_c WHEN CMD...: runs CMD as a terminal runs a job, in a session and
# process group of its own, and types Ctrl-C (SIGINT to the process group)
# at each step of WHEN, a list of: file:REGEX (once a name in $T matches),
# err:REGEX (once a line of CMD's stderr does), now (0.1 s after the last).
# Then waits for CMD, at most 60 s; sets _last_rc; no rank may outlive it.
ctrl_c() {
	local when=$1
	shift
	setsid "$@" >"$OUT" 2>"$ERR" &
	local pid=$! step seen pg
	_last_cmd="$* (Ctrl-C at: $when)"
	for step in $when; do
		seen=0
		for _ in $(seq 3000); do
			case $step in
			now) sleep 0.1; seen=1 ;;
			file:*) ls "$T" | grep -qE "${step#file:}" && seen=1 ;;
			err:*) grep -qE "${step#err:}" "$ERR" && seen=1 ;;
			esac
			[ "$seen" = 1 ] && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.02
		done
		[ "$seen" = 1 ] || { fail "'$step' was not seen before the job ended: $(tail -n 3 "$ERR")"; break; }
		# seen as the job ended by itself (a save that was quick): no one to signal
		kill -0 "$pid" 2>/dev/null || break
		pg=$(ps -o pgid= -p "$pid" | tr -d ' ')
		[ -n "$pg" ] || break # gone meanwhile
		[ "$pg" = "$pid" ] || fail "setsid did not make a process group (pgid '$pg')"
		kill -INT -- "-$pid" 2>/dev/null
	done
	# short sleeps: killing the guard leaves no sleep behind for long
	( for _ in $(seq 600); do sleep 0.1; done; kill -KILL -- "-$pid" 2>/dev/null ) &
	local guard=$!
	wait "$pid"
	_last_rc=$?
	# SIGKILL: a guard killed just after its fork, before it has reset the
	# script's EXIT trap, would run it (rm -rf "$T") on SIGTERM
	kill -KILL "$guard" 2>/dev/null
	wait "$guard" 2>/dev/null
	no_rank_left
}

# no_rank_left: every process of this script's runs ($T in its arguments)
# is gone within 10 s; any left is reported and ended.
no_rank_left() {
	local left
	for _ in $(seq 100); do
		left=$(pgrep -f -- "$MPIBOT .*$T/" | tr '\n' ' ')
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	fail "ranks still running 10 s after mpirun ended: $left"
	kill -KILL $left 2>/dev/null
}

no_temporary() {
	local left
	left=$(ls "$T" | grep '\.tmp\.' | tr '\n' ' ')
	[ -z "$left" ] || fail "temporaries left: $left"
	rm -rf "$T"/*.tmp.*
}

nonzero() {
	[ "$_last_rc" != 0 ] || fail "mpirun exited 0 after Ctrl-C"
}

tiny_world "$T/tw" 2>/dev/null
SIM=(simulate --world "$T/tw" --episodes 100000000 --recommender sticky_artist --threads 1)

check "simulate, Ctrl-C once: rank 0 says interrupted, no temporary log"
ctrl_c "file:^a\.jsonl\.tmp\." mpirun -np 2 --oversubscribe "$MPIBOT" "${SIM[@]}" --log "$T/a.jsonl"
nonzero
no_temporary
expect_no_file "$T/a.jsonl"
expect_stderr '^botify: interrupted$'
[ "$(grep -c '^botify:' "$ERR")" = 1 ] || fail "not one botify message: $(grep '^botify:' "$ERR")"

check "simulate, Ctrl-C twice: mpirun ends at once, no temporary log"
ctrl_c "file:^b\.jsonl\.gz\.tmp\. now" mpirun -np 2 --oversubscribe "$MPIBOT" "${SIM[@]}" --log "$T/b.jsonl.gz"
nonzero
no_temporary
expect_no_file "$T/b.jsonl.gz"
grep '^botify:' "$ERR" | grep -v '^botify: interrupted$' && fail "a message other than interrupted"

check "simulate under timeout (which passes the Ctrl-C on to mpirun), 3 ranks: no temporary log"
ctrl_c "file:^c\.jsonl\.tmp\." timeout 120 mpirun -np 3 --oversubscribe "$MPIBOT" "${SIM[@]}" --log "$T/c.jsonl"
nonzero
no_temporary
expect_no_file "$T/c.jsonl"

check "in-process ab, Ctrl-C twice: no temporary log"
ctrl_c "file:^d\.jsonl\.tmp\. now" mpirun -np 2 --oversubscribe "$MPIBOT" ab --world "$T/tw" --control random \
	--treatment sticky_artist --episodes 100000000 --threads 1 --log "$T/d.jsonl"
nonzero
no_temporary
expect_no_file "$T/d.jsonl"

# a model of the built-in world (50 000 tracks) with 128-wide vectors: export
# takes seconds even with botify's own kernel, so a Ctrl-C finds it running
expect_exit 0 "$BOTIFY" simulate --episodes 200 --recommender random --log "$T/s.jsonl"
expect_exit 0 "$BOTIFY" train --log "$T/s.jsonl" --model "$T/m" --emb 4 --hidden 8 --out 128 --epochs 1

check "export on 2 ranks, Ctrl-C twice while it writes: neither the vectors nor the lists, no temporary"
ctrl_c "file:^(v\.npy|recs\.json|users\.json)\.tmp\. now" mpirun -np 2 --oversubscribe "$MPIBOT" export --model "$T/m" \
	--embeddings "$T/v.npy" --recs "$T/recs.json" --user-recs "$T/users.json" --k 50 --threads 1
nonzero
no_temporary
for f in v.npy recs.json users.json; do expect_no_file "$T/$f"; done

check "export on 2 ranks, Ctrl-C once: interrupted, no file, no temporary"
ctrl_c "file:^(v\.npy|recs\.json|users\.json)\.tmp\." mpirun -np 2 --oversubscribe "$MPIBOT" export --model "$T/m" \
	--embeddings "$T/v.npy" --recs "$T/recs.json" --user-recs "$T/users.json" --k 50 --threads 1
nonzero
no_temporary
for f in v.npy recs.json users.json; do expect_no_file "$T/$f"; done
expect_stderr '^botify: interrupted$'

check "train on 2 ranks, Ctrl-C once, then again while rank 0 saves: no temporary model directory"
# the first Ctrl-C asks for the best model so far; the second, typed while
# it is written, ends the job at once: a whole model or none, never a part
ctrl_c "err:^epoch[[:space:]]+2 err:interrupted:[[:space:]]+saving" mpirun -np 2 --oversubscribe "$MPIBOT" train --log "$T/s.jsonl" \
	--model "$T/big" --emb 128 --hidden 16 --out 128 --epochs 100000 --patience 100000 --threads 1
nonzero
no_temporary
[ ! -e "$T/big" ] || [ -f "$T/big/config.json" ] || fail "a part of a model: $(ls "$T/big")"
rm -rf "$T/big"

check "train on 2 ranks, Ctrl-C once, SIGKILL a second later (Open MPI's default): no temporary model directory"
# the save of the best model may outlast Open MPI's second: the files are
# unnamed until the last step, so the kill leaves a whole model or nothing
ctrl_c "err:^epoch[[:space:]]+2" mpirun -np 2 --oversubscribe --mca odls_base_sigkill_timeout 1 "$MPIBOT" train \
	--log "$T/s.jsonl" --model "$T/big" --emb 128 --hidden 16 --out 128 --epochs 100000 --patience 100000 --threads 1
no_temporary
[ ! -e "$T/big" ] || [ -f "$T/big/config.json" ] || fail "a part of a model: $(ls "$T/big")"

finish
