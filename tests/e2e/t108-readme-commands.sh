#!/bin/bash
# The documentation's commands run as written: every ```sh block of README.md
# and docs/*.md, in order, and the examples of every command's --help, so
# that they cannot rot.
#
# Conventions for whoever writes the docs:
#  - a ```sh block holds commands a reader may paste; this test runs it;
#  - a ```sh block right after the line `<!-- not run by the docs test: WHY -->`
#    is not run (it installs, takes minutes, or lists a script); say why;
#  - every other fence (```, ```console with `$ ` prompts and output,
#    ```python, ...) is output, data or syntax, and is never run.
# README.md runs in a fresh copy of the repository, and so does each page of
# docs/ (each page stands alone: it makes the logs and models it uses). The
# blocks of a page run in order in its copy, each under `bash -e -o pipefail`
# (a failing command fails its block). A block that gates on `--require` may
# end with the gate's exit status 1 (on these small runs the verdict can go
# either way; that it runs and decides is what is tested), never 2 (broken).
#
# What differs from a reader's run, to keep this under a minute or two:
#  - `botify` and `./botify` are a wrapper that lowers `--episodes N` to
#    BOTIFY_EPISODES_CAP (default 1500), gives `train` at most
#    BOTIFY_EPOCHS_CAP epochs (default 2) unless the block sets --epochs, and
#    runs the commands that would use the built-in world (50 000 tracks) on
#    the test world tests/data/e2e/world (300 tracks, 40 users) instead:
#    simulate, train, export, serve and an in-process ab without --world
#    (a block's own worlds, such as datagen's, are used as written);
#  - port 5000 becomes a free port (sed over the block);
#  - the neighbour cache is the test's own (XDG_CACHE_HOME).
. "$(dirname "$0")/lib.sh"

CAP=${BOTIFY_EPISODES_CAP:-1500}
EPOCHS=${BOTIFY_EPOCHS_CAP:-2}
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 0)

mkdir -p "$T/bin"
cat >"$T/bin/botify" <<WRAP
#!/bin/bash
# the docs test's botify: the real one with smaller episode and epoch counts
args=() prev= epochs=0 world=0 logs=0
for a in "\$@"; do
	if [ "\$prev" = --episodes ] && [[ \$a =~ ^[0-9]+\$ ]] && [ "\$a" -gt $CAP ]; then a=$CAP; fi
	case \$a in
	--epochs) epochs=1 ;;
	--world) world=1 ;;
	--log|--control-log|--treatment-log) logs=1 ;;
	--help|-h) world=1 ;;
	*exec:cmd=*next_track*) world=1 ;; # the example programs know the built-in catalog's size
	esac
	args+=("\$a")
	prev=\$a
done
if [ "\${1:-}" = train ] && [ \$epochs = 0 ]; then args+=(--epochs $EPOCHS); fi
case "\${1:-}" in
simulate|train|export|serve) [ \$world = 0 ] && args+=(--world "$DATA_DIR/e2e/world") ;;
ab) [ \$world = 0 ] && [ \$logs = 0 ] && args+=(--world "$DATA_DIR/e2e/world") ;;
esac
exec "$BOTIFY" "\${args[@]}"
WRAP
chmod +x "$T/bin/botify"

# extract FILE OUTDIR: writes the runnable ```sh blocks as OUTDIR/NNN.sh
extract() {
	mkdir -p "$2"
	awk -v out="$2" '
		/^```/ && inblock { inblock = 0; if (run) close(f); next }
		/^```sh[ \t]*$/ && !inblock {
			inblock = 1; run = !skip_next; skip_next = 0
			if (run) { n++; f = sprintf("%s/%03d.sh", out, n); printf "" > f }
			next
		}
		/^```/ { inblock = 1; run = 0; skip_next = 0; next }
		inblock { if (run) print > f; next }
		/^<!-- not run by the docs test: .+-->$/ { skip_next = 1; next }
		/[^ \t]/ { skip_next = 0 }
	' "$1"
}

# a fresh copy of the repository's files (no build, no outputs)
fresh_copy() {
	mkdir -p "$1"
	if git -C "$REPO_DIR" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$REPO_DIR" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar cf - 2>/dev/null) |
			(cd "$1" && tar xf -)
	else
		(cd "$REPO_DIR" && tar cf - --exclude=./build --exclude=./demo .) | (cd "$1" && tar xf -)
	fi
	rm -f "$1/botify"
	ln -s "$T/bin/botify" "$1/botify"
}

run_page() {
	local page=$1 name dir blocks b
	name=$(echo "$page" | tr '/.' '__')
	dir="$T/run-$name"
	blocks="$T/blocks-$name"
	extract "$REPO_DIR/$page" "$blocks"
	fresh_copy "$dir"
	for b in "$blocks"/*.sh; do
		[ -e "$b" ] || continue
		sed -i -e "s/127\.0\.0\.1:5000/127.0.0.1:$PORT/g" -e "s/--port 5000/--port $PORT/g" "$b"
		check "$page: block $(basename "$b" .sh) runs as written"
		local t0=$SECONDS
		(cd "$dir" && PATH="$T/bin:$PATH" timeout 300 bash -e -o pipefail "$b") >"$OUT" 2>"$ERR" </dev/null
		_last_rc=$?
		_last_cmd="$(cat "$b")"
		local ok=0
		if grep -q -- "--require" "$b"; then ok=1; fi
		[ "$_last_rc" = 0 ] || { [ "$ok" = 1 ] && [ "$_last_rc" = 1 ] && grep -q "^| " "$OUT"; } || fail "exit $_last_rc after $((SECONDS - t0)) s; block:
$(sed 's/^/    | /' "$b")
stderr (last lines):
$(tail -n 8 "$ERR" | sed 's/^/    /')"
	done
}

check "the docs have runnable blocks and the not-run marker is honoured"
extract "$REPO_DIR/README.md" "$T/probe"
n=$(ls "$T/probe" | wc -l)
[ "$n" -ge 5 ] || fail "only $n runnable blocks in README.md"
grep -lq 'scripts/deps.sh' "$T/probe"/*.sh 2>/dev/null && fail "the README's install block (marked not run) was extracted"

check "no runnable block ends the reader's shell: no top-level exit (a subshell's (exit N) keeps it)"
for page in README.md docs/*.md; do
	extract "$REPO_DIR/$page" "$T/exit-$(echo "$page" | tr '/.' '__')"
done
bad=$(grep -nE '(^|[;&|]|then|else|do)[[:space:]]*exit([[:space:]]|$)' "$T"/exit-*/*.sh 2>/dev/null)
[ -z "$bad" ] || fail "a pasted block would close the reader's shell:
$bad"

for page in README.md docs/*.md; do
	run_page "$page"
done

# help_examples CMD OUTDIR: each example line of `botify CMD --help` (lines
# ending in \ or | continue) as OUTDIR/NNN.sh
help_examples() {
	mkdir -p "$2"
	"$BOTIFY" "$1" --help | awk -v out="$2" -v cmd="$1" '
		/^examples:/ { on = 1; next }
		on && /^[^ ]/ { on = 0 }
		!on || !/[^ ]/ { next }
		{ line = $0; sub(/^ +/, "", line) }
		cont { text = text " " line } !cont { text = line }
		{ cont = text ~ /[\\|][ \t]*$/; if (cont) { sub(/\\[ \t]*$/, "", text); next } }
		{ n++; f = sprintf("%s/%s-%02d.sh", out, cmd, n); print text > f; close(f) }'
}

# The --help examples, every command's in one copy in the order a reader
# meets them (train's models feed export's examples); serve's start a server
# in the foreground, which is the README's and docs/serve.md's business.
# run_help_examples DIR WHEN: every extracted --help example, run in DIR
# (an example gating with --require may exit 1)
run_help_examples() {
	local dir=$1 when=$2 c b
	for c in datagen simulate train export ab; do
		for b in "$T/help/$c"-*.sh; do
			check "botify $c --help: example $(basename "$b" .sh | sed 's/.*-//') $when"
			(cd "$dir" && PATH="$T/bin:$PATH" timeout 300 bash -e -o pipefail "$b") >"$OUT" 2>"$ERR" </dev/null
			_last_rc=$?
			_last_cmd="$(cat "$b")"
			[ "$_last_rc" = 0 ] || { grep -q -- "--require" "$b" && [ "$_last_rc" = 1 ]; } ||
				fail "exit $_last_rc: $(cat "$b"); stderr: $(tail -n 4 "$ERR")"
		done
	done
}

dir="$T/run-help"
fresh_copy "$dir"
for c in datagen simulate train export ab; do
	help_examples "$c" "$T/help"
done
n_help=$(ls "$T/help" | wc -l)
check "every command's --help has examples, and they are extracted"
[ "$n_help" -ge 20 ] || fail "only $n_help examples"
run_help_examples "$dir" "runs as written"
# A reader who has walked the README's tour and then copies an example
# from --help must not find its outputs already written ("exists, use
# --force"): the examples again, in the README's copy after its blocks.
dir="$T/run-README_md"
run_help_examples "$dir" "runs after the README's tour"

check "git status stays clean after the README's tour and the --help examples (.gitignore)"
if command -v git >/dev/null; then
	# the copy as a repository: what git lists untracked besides the repository's own files
	(cd "$REPO_DIR" && git ls-files --cached --others --exclude-standard 2>/dev/null) >"$T/repo-files.txt"
	loose=$(cd "$dir" && git init -q . && git status --porcelain --untracked-files=all |
		sed -n 's/^?? //p' | sed 's/^"\(.*\)"$/\1/' | grep -vxFf "$T/repo-files.txt" | grep -vx botify)
	[ -z "$loose" ] || fail "not in .gitignore (git status lists them after the tour):
$(echo "$loose" | head -20 | sed 's/^/    /')"
else
	skip "git is not installed"
fi

check "botify serve --help: examples"
skip "botify serve --help: its examples start a server in the foreground (docs/serve.md's blocks run it)"

finish
