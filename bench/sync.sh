#!/usr/bin/env bash
# Benchmark of `dotback sync` between two devices of a home of N small files (default 10,000)
# through a local bare remote, side by side with plain git doing the same in plain clones.
#
#   bash bench/sync.sh             # N=10000, about 2 minutes on 2 cores
#   N=2000 RUNS=3 bash bench/sync.sh
#
# Devices A and B each have a HOME with the N files (B joined by cloning the remote, then
# `init --source` and `apply`); "git" is two plain clones of a bare copy of the same store.
# Every timed run starts from fresh state prepared untimed (B edits and syncs first, etc.):
#   1. nothing changed anywhere:  dotback sync on A | git status + git fetch | git's full round
#   2. B changed 100 files:       dotback sync on A (fast-forward, 100 files written to HOME)
#                                 | git pull (fast-forward of 100 files in the work tree)
#   3. B changed 100 files, A 100 others: dotback sync on A (capture, commit, merge, apply,
#                                 push) | git add + commit + pull --no-rebase + push
#   4. A and B changed different lines of the same 100 files (per-file diff3): as in 3.
# "git's full round" is what a git-managed home would run to sync: add -A, commit when
# something is staged, pull --no-rebase, push.
set -euo pipefail
N=${N:-10000}
RUNS=${RUNS:-10}
MERGE_RUNS=${MERGE_RUNS:-5}
source "$(dirname "$0")/common.sh"

a=$work/a   # device A's HOME (store, config and state under it, the default layout)
b=$work/b   # device B's HOME; its store is the clone $work/b-store
remote=$work/remote.git
echo "bench passphrase" >"$work/pass"
mkdir -p "$a" "$b"
generate_home "$a" "$N"
dirs=$(((N + 99) / 100))

# edit DIR LINE FROM COUNT WHO: replaces line LINE of files FROM..FROM+COUNT-1 under DIR
# (HOME/.config or a clone's dot_config) with a line naming WHO and the time, so every run
# changes them again.
cat >"$work/edit" <<EOF
#!/usr/bin/env bash
set -e
files=()
for ((k = \$3; k < \$3 + \$4; k++)); do files+=("\$1/app\$((k % $dirs))/file\$k.conf"); done
sed -i "\$2s/.*/edited by \$5 \$(date +%s%N)/" "\${files[@]}"
EOF
chmod +x "$work/edit"
edit=$work/edit

echo "== setup: device A adds $N files and syncs to $remote ==" >&2
git init -q --bare -b main "$remote"
HOME=$a dotback init --device a --passphrase-file "$work/pass" >/dev/null 2>&1
HOME=$a dotback add "$a/.config" >/dev/null 2>&1
HOME=$a dotback remote add origin "$remote" >/dev/null
HOME=$a dotback sync >/dev/null 2>&1
echo "== setup: device B clones the remote, joins and applies ==" >&2
git clone -q "$remote" "$work/b-store"
HOME=$b dotback init --device b --source "$work/b-store" >/dev/null 2>&1
HOME=$b dotback apply >/dev/null 2>&1
diff -r -x dotback "$a/.config" "$b/.config" >/dev/null

# Plain git: the same store contents in a bare remote of its own and two clones, each
# clone's work tree standing for a HOME.
git clone -q --bare "$remote" "$work/git-remote.git"
for d in ga gb; do
  git clone -q "$work/git-remote.git" "$work/$d"
  git -C "$work/$d" config user.name "$d"
  git -C "$work/$d" config user.email "$d@bench.invalid"
done
ga=$work/ga gb=$work/gb
git_round() { echo "cd '$1' && git add -A && { git diff --cached --quiet || git commit -qm sync; } && git pull -q --no-rebase --no-edit && git push -q"; }

# Warm both stat caches (and the page cache) before timing.
HOME=$a dotback sync >/dev/null 2>&1
HOME=$b dotback sync >/dev/null 2>&1
git -C "$ga" status >/dev/null

echo "== 1. no-op sync ==" >&2
hyperfine --style basic --warmup 2 --runs "$RUNS" \
  -n "dotback sync (nothing to do)" "HOME='$a' dotback sync 2>/dev/null" \
  -n "git status + git fetch" "git -C '$ga' status >/dev/null && git -C '$ga' fetch -q origin" \
  -n "git add + pull + push (nothing to do)" "$(git_round "$ga") 2>/dev/null" \
  --export-markdown "$work/noop.md" --export-json "$work/noop.json" >&2
HOME=$a dotback sync 2>&1 | tail -n1 >&2 # what it says when nothing changed

# Every run: B edits files and syncs (pushes), untimed; then A's sync is timed.
b_pushes() { echo "'$edit' '$b/.config' $1 $2 100 b && HOME='$b' dotback sync >/dev/null 2>&1"; }
gb_pushes() { echo "'$edit' '$gb/dot_config' $1 $2 100 gb && $(git_round "$gb") >/dev/null 2>&1"; }

echo "== 2. B changed 100 files (fast-forward) ==" >&2
hyperfine --style basic --runs "$MERGE_RUNS" \
  --prepare "$(b_pushes 1 0)" \
  -n "dotback sync (100 files from B)" "HOME='$a' dotback sync 2>/dev/null" \
  --prepare "$(gb_pushes 1 0)" \
  -n "git pull (100 files)" "git -C '$ga' pull -q --no-rebase --no-edit" \
  --prepare "$(gb_pushes 1 0)" \
  -n "git add + pull + push (100 files)" "$(git_round "$ga")" \
  --export-markdown "$work/ff.md" --export-json "$work/ff.json" >&2

echo "== 3. B changed 100 files, A 100 others (merge commit) ==" >&2
hyperfine --style basic --runs "$MERGE_RUNS" \
  --prepare "$(b_pushes 1 0) && '$edit' '$a/.config' 1 100 100 a" \
  -n "dotback sync (100 + 100 files)" "HOME='$a' dotback sync 2>/dev/null" \
  --prepare "$(gb_pushes 1 0) && '$edit' '$ga/dot_config' 1 100 100 ga" \
  -n "git add + pull + push (100 + 100 files)" "$(git_round "$ga")" \
  --export-markdown "$work/merge.md" --export-json "$work/merge.json" >&2

echo "== 4. A and B changed other lines of the same 100 files (diff3 per file) ==" >&2
hyperfine --style basic --runs "$MERGE_RUNS" \
  --prepare "$(b_pushes 1 0) && '$edit' '$a/.config' 3 0 100 a" \
  -n "dotback sync (100 files merged)" "HOME='$a' dotback sync 2>/dev/null" \
  --prepare "$(gb_pushes 1 0) && '$edit' '$ga/dot_config' 3 0 100 ga" \
  -n "git add + pull + push (100 files merged)" "$(git_round "$ga")" \
  --export-markdown "$work/diff3.md" --export-json "$work/diff3.json" >&2

# The runs above converged: A's HOME holds both sides' edits, the same as B's after a sync.
HOME=$b dotback sync >/dev/null 2>&1
diff -r -x dotback "$a/.config" "$b/.config" >/dev/null || { echo "bench: A and B did not converge" >&2; exit 1; }
git -C "$ga" diff --quiet origin/main -- || { echo "bench: git clones did not converge" >&2; exit 1; }

mean() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .mean' "$work/$1.json"; }
row() { # row CASE FILE DOTBACK GIT
  local d g
  d=$(mean "$2" "$3") g=$(mean "$2" "$4")
  awk -v c="$1" -v d="$d" -v g="$g" -v n="$4" 'BEGIN { printf "| %s | %.1f | %.1f (%s) | %.2f |\n", c, d * 1000, g * 1000, n, d / g }'
}
echo
echo "dotback sync benchmark: $N files, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| case | dotback sync [ms] | git [ms] (what) | dotback / git |"
echo "|:---|---:|---:|---:|"
row "nothing changed" noop "dotback sync (nothing to do)" "git status + git fetch"
row "nothing changed" noop "dotback sync (nothing to do)" "git add + pull + push (nothing to do)"
row "100 files from B" ff "dotback sync (100 files from B)" "git pull (100 files)"
row "100 files from B" ff "dotback sync (100 files from B)" "git add + pull + push (100 files)"
row "100 from B + 100 from A" merge "dotback sync (100 + 100 files)" "git add + pull + push (100 + 100 files)"
row "same 100 files, both sides" diff3 "dotback sync (100 files merged)" "git add + pull + push (100 files merged)"
for t in noop ff merge diff3; do
  echo
  echo "### $t"
  cat "$work/$t.md"
done
