#!/usr/bin/env bash
# dotback apply of a store that needs chezmoi for a few entries: N plain files (default
# 10,000) plus 20 templates and 5 scripts, applied into an empty HOME.
#
#   bash bench/delegation.sh
#
# Side by side in one run (hyperfine):
#   1. dotback apply, chezmoi on PATH (native part + the 25 delegated entries);
#   2. dotback apply, chezmoi off PATH (the native part alone; it exits 1 for the skipped 25);
#   3. chezmoi apply of a store holding only the 25 delegated entries;
#   4. chezmoi apply of the whole store.
# Goal (issue 11): 1 <= 1.2 x (2 + 3), and 1 < 4.
set -euo pipefail
N=${N:-10000}
RUNS=${RUNS:-9}
source "$(dirname "$0")/common.sh"
need jq jq

home=$work/home
store=$home/.local/share/chezmoi
small=$work/small-store
echo "bench passphrase" >"$work/pass"
mkdir -p "$home"
generate_home "$home" "$N"
HOME=$home dotback init --device bench --passphrase-file "$work/pass" >/dev/null 2>&1
HOME=$home dotback add "$home/.config" >/dev/null 2>&1

# The 25 delegated entries, in the store and alone in a store of their own.
mkdir -p "$small"
for dir in "$store" "$small"; do
  for ((k = 0; k < 20; k++)); do
    printf 'name = {{ .chezmoi.username }}\nos = {{ .chezmoi.os }}\nk = %d\n' "$k" >"$dir/dot_tmpl$k.tmpl"
  done
  for ((k = 0; k < 5; k++)); do
    printf '#!/bin/sh\necho %d >> "$HOME/.script-runs"\n' "$k" >"$dir/run_script$k.sh"
  done
done
git -C "$store" add -A >/dev/null && git -C "$store" -c user.name=b -c user.email=b@b commit -qm delegated

# PATH without chezmoi, and with it.
nocz=$work/nocz
mkdir -p "$nocz"
ln -s "$(command -v dotback)" "$nocz/dotback"
withcz=$work/withcz
mkdir -p "$withcz"
ln -s "$(command -v dotback)" "$withcz/dotback"
ln -s "$CHEZMOI" "$withcz/chezmoi"
base_path=/usr/local/bin:/usr/bin:/bin

# Each run applies into a new, empty HOME (see `next` in common.sh).
mkdir -p "$work/runs"
h2="'$work/runs/'$run_n"
fresh() { echo "$next && mkdir $h2 && $1 && sync"; }
join="HOME=$h2 PATH='$nocz:$base_path' dotback init --device b --source '$store' >/dev/null 2>&1"
hyperfine --style basic --runs "$RUNS" -i \
  --prepare "$(fresh "$join")" \
  -n "dotback apply (chezmoi on PATH)" "HOME=$h2 PATH='$withcz:$base_path' dotback apply >/dev/null 2>&1" \
  --prepare "$(fresh "$join")" \
  -n "dotback apply (native part alone)" "HOME=$h2 PATH='$nocz:$base_path' dotback apply >/dev/null 2>&1" \
  --prepare "$(fresh true)" \
  -n "chezmoi apply (the 25 delegated entries alone)" "HOME=$h2 '$CHEZMOI' --source '$small' --destination $h2 apply" \
  --prepare "$(fresh true)" \
  -n "chezmoi apply (whole store)" "HOME=$h2 '$CHEZMOI' --source '$store' --destination $h2 apply" \
  --export-json "$work/deleg.json" --export-markdown "$work/deleg.md" >&2

# Medians: each apply ends with one syncfs, whose cost swings with whatever else the machine writes.
median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median' "$work/deleg.json"; }
with=$(median "dotback apply (chezmoi on PATH)")
native=$(median "dotback apply (native part alone)")
alone=$(median "chezmoi apply (the 25 delegated entries alone)")
whole=$(median "chezmoi apply (whole store)")
echo
echo "dotback apply with delegation: $N plain files + 20 templates + 5 scripts, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
cat "$work/deleg.md"
echo
# CPU time (user + system, means) does not swing with the disk: the same ratios by it.
cpu() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .user + .system' "$work/deleg.json"; }
awk -v w="$(cpu "dotback apply (chezmoi on PATH)")" -v n="$(cpu "dotback apply (native part alone)")" \
  -v a="$(cpu "chezmoi apply (the 25 delegated entries alone)")" -v c="$(cpu "chezmoi apply (whole store)")" 'BEGIN {
  printf "CPU [s]: with chezmoi %.3f, native part %.3f, chezmoi of the 25 %.3f, chezmoi of the whole store %.3f\n", w, n, a, c
  printf "by CPU: with chezmoi / (native + the 25) = %.2f; with chezmoi / whole store = %.2f\n", w / (n + a), w / c
}'
awk -v w="$with" -v n="$native" -v a="$alone" -v c="$whole" 'BEGIN {
  printf "medians [s]: with chezmoi %.3f, native part %.3f, chezmoi of the 25 %.3f, chezmoi of the whole store %.3f\n", w, n, a, c
  printf "dotback with chezmoi / (native part + chezmoi of the 25 alone) = %.2f (goal <= 1.2)\n", w / (n + a)
  printf "dotback with chezmoi / chezmoi apply of the whole store = %.2f (goal < 1)\n", w / c
}'
