#!/bin/bash
# Inputs that are not regular files: a FIFO or a device where a world or a
# model file belongs is refused at once (it used to block for ever or fill
# memory); event logs may be streams, with a bounded line; data after a gzip
# stream and temporaries left by a killed run are named.
. "$(dirname "$0")/lib.sh"

W="$T/world"
tiny_world "$W"
"$BOTIFY" simulate --world "$W" --episodes 300 --recommender sticky_artist --log "$T/s.jsonl" >/dev/null ||
	{ echo "simulate failed" >&2; exit 1; }
"$BOTIFY" train --world "$W" --log "$T/s.jsonl" --model "$T/m" --emb 4 --hidden 8 --out 4 --epochs 1 >/dev/null 2>&1 ||
	{ echo "train failed" >&2; exit 1; }
"$BOTIFY" simulate --world "$W" --episodes 300 --seed 3 --experiment AB --arms C=random,T1=sticky_artist \
	--log "$T/ab.jsonl" >/dev/null 2>&1 || { echo "simulate --experiment failed" >&2; exit 1; }

# feed FILE FIFO: writes FILE into FIFO in the background, giving up after
# a while if no reader comes (so a failed check cannot hang the script)
feed() {
	timeout 60 sh -c 'cat "$1" >"$2"' sh "$1" "$2" &
}

# world_with NAME: a copy of the world with NAME replaced by a FIFO
world_with_fifo() {
	rm -rf "$T/wf"
	cp -r "$W" "$T/wf"
	rm "$T/wf/$1"
	mkfifo "$T/wf/$1"
}

for f in tracks.json tracks.npy users.json; do
	check "a FIFO as $f is refused at once"
	world_with_fifo "$f"
	expect_exit 2 timeout -k 5 20 "$BOTIFY" simulate --world "$T/wf" --episodes 10 --recommender random
	expect_stderr "$f' is a FIFO, not a regular file"
	expect_one_line_error
done

check "a symlink to /dev/zero as tracks.json is refused at once"
rm -rf "$T/wz"
cp -r "$W" "$T/wz"
ln -sf /dev/zero "$T/wz/tracks.json"
expect_exit 2 timeout -k 5 20 "$BOTIFY" simulate --world "$T/wz" --episodes 10 --recommender random
expect_stderr "is a character device, not a regular file"

check "a FIFO as a model's config.json is refused at once"
cp -r "$T/m" "$T/mf"
rm "$T/mf/config.json"
mkfifo "$T/mf/config.json"
expect_exit 2 timeout -k 5 20 "$BOTIFY" export --world "$W" --model "$T/mf" --embeddings "$T/v.npy"
expect_stderr "config.json' is a FIFO"
expect_no_file "$T/v.npy"

check "a log may be a FIFO: train and ab read it as a stream"
mkfifo "$T/log.fifo"
feed "$T/s.jsonl" "$T/log.fifo"
expect_exit 0 timeout -k 5 60 "$BOTIFY" train --world "$W" --log "$T/log.fifo" --model "$T/m2" --emb 4 --hidden 8 --out 4 --epochs 1
expect_file "$T/m2/config.json"
feed "$T/ab.jsonl" "$T/log.fifo"
expect_exit 0 timeout -k 5 60 "$BOTIFY" ab --log "$T/log.fifo" --experiment AB
expect_stdout "T1"

check "a log stream without newlines ends at the line bound with file:line"
expect_exit 2 timeout -k 5 60 "$BOTIFY" ab --log /dev/zero --experiment AB
expect_stderr "/dev/zero:1: line longer than 64 MiB"
expect_one_line_error

check "data after the end of a gzip log is refused, not ignored"
gzip -c "$T/ab.jsonl" >"$T/g.jsonl.gz"
cp "$T/g.jsonl.gz" "$T/tail.jsonl.gz"
printf 'appended junk\n' >>"$T/tail.jsonl.gz"
expect_exit 0 "$BOTIFY" ab --log "$T/g.jsonl.gz" --experiment AB
expect_exit 2 "$BOTIFY" ab --log "$T/tail.jsonl.gz" --experiment AB
expect_stderr "tail\.jsonl\.gz: data that is not gzip follows the gzip stream at byte [0-9]+"
expect_exit 2 "$BOTIFY" train --world "$W" --log "$T/tail.jsonl.gz" --model "$T/m3" --epochs 1
expect_stderr "not gzip follows"
{ cat "$T/g.jsonl.gz"; gzip -c "$T/ab.jsonl"; } >"$T/two.jsonl.gz"
expect_exit 0 "$BOTIFY" ab --log "$T/two.jsonl.gz" --experiment AB

check "a missing output whose temporary a killed run left is named"
"$BOTIFY" simulate --world "$W" --episodes 100000000 --recommender random --threads 1 \
	--log "$T/killed.jsonl" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
	ls "$T" | grep -q 'killed\.jsonl\.tmp' && break
	sleep 0.05
done
kill -KILL "$pid"
wait "$pid" 2>/dev/null
expect_exit 2 "$BOTIFY" ab --log "$T/killed.jsonl" --experiment AB
expect_stderr "killed\.jsonl\.tmp\.$pid\.[A-Za-z0-9]{6}' is left over from a run that was killed"

finish
