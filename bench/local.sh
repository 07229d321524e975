#!/usr/bin/env bash
# Benchmark of the local loop on a generated home of N small files (default 10,000).
#
#   bash bench/local.sh            # N=10000
#   N=2000 bash bench/local.sh
#
# Prints, side by side in one run (hyperfine tables, "Relative" = vs the fastest):
#   1. status with nothing changed: dotback status | git status in the store | chezmoi status
#   2. apply into an empty HOME:    dotback apply  | chezmoi apply            | cp -r
#   3. adding the tree:             dotback add    | chezmoi add
# Goals (issue 2): status within 3x of git status; apply within 1.5x of cp -r.
set -euo pipefail
N=${N:-10000}
RUNS=${RUNS:-10}
source "$(dirname "$0")/common.sh"

# One device: HOME=$work/home (store, config and state under it, the default layout).
home=$work/home
store=$home/.local/share/chezmoi
echo "bench passphrase" >"$work/pass"
mkdir -p "$home"
generate_home "$home" "$N"

dotback_in() { local h=$1; shift; HOME="$h" dotback "$@"; }
chezmoi_in() { local h=$1; shift; HOME="$h" "$CHEZMOI" "$@"; }

# Add and apply runs each write into new directories (see `next` in common.sh).
echo "== add ==" >&2
mkdir -p "$work/add"
hyperfine --style basic --runs 3 \
  --prepare "$next && d='$work/add/'$run_n && mkdir \$d && XDG_CONFIG_HOME=\$d/config XDG_STATE_HOME=\$d/state HOME='$home' dotback init --device bench --source \$d/store --passphrase-file '$work/pass' >/dev/null 2>&1 && sync" \
  -n "dotback add (${N} files)" "d='$work/add/'$run_n; XDG_CONFIG_HOME=\$d/config XDG_STATE_HOME=\$d/state HOME='$home' dotback add '$home/.config' 2>/dev/null" \
  --prepare "$next && mkdir '$work/add/'$run_n && sync" \
  -n "chezmoi add (${N} files)" "d='$work/add/'$run_n; HOME='$home' XDG_CONFIG_HOME=\$d/config '$CHEZMOI' --source \$d/store add '$home/.config' >/dev/null" \
  --export-markdown "$work/add.md" >&2
HOME=$home dotback init --device bench --passphrase-file "$work/pass" >/dev/null 2>&1
HOME=$home dotback add "$home/.config" >/dev/null 2>&1
HOME=$home dotback commit >/dev/null 2>&1
HOME=$home dotback status >/dev/null # warm the stat cache

echo "== status ==" >&2
hyperfine --style basic --warmup 2 --runs "$RUNS" \
  -n "dotback status" "HOME='$home' dotback status" \
  -n "git status (store)" "git -C '$store' status" \
  -n "chezmoi status" "HOME='$home' XDG_CONFIG_HOME='$work/cz-config2' '$CHEZMOI' --source '$store' --destination '$home' status" \
  --export-markdown "$work/status.md" >&2

echo "== apply into an empty HOME ==" >&2
mkdir -p "$work/apply"
h2="'$work/apply/'$run_n"
# Every run starts with nothing waiting to be written back (dotback's apply ends with one
# syncfs, which would otherwise also pay for the previous run's writes).
fresh() { echo "$next && mkdir $h2 && $1 && sync"; }
hyperfine --style basic --runs "$RUNS" \
  --prepare "$(fresh "HOME=$h2 dotback init --device b --source '$store' >/dev/null 2>&1")" \
  -n "dotback apply (atomic, one syncfs)" "HOME=$h2 dotback apply 2>/dev/null" \
  --prepare "$(fresh true)" \
  -n "chezmoi apply" "HOME=$h2 '$CHEZMOI' --source '$store' --destination $h2 apply" \
  --prepare "$(fresh true)" \
  -n "cp -r" "cp -r '$home/.config' $h2/" \
  --prepare "$(fresh true)" \
  -n "cp -r + sync" "cp -r '$home/.config' $h2/ && sync" \
  --export-markdown "$work/apply.md" >&2

echo
echo "dotback local-loop benchmark: $N files, $(nproc) cores, $(date -u +%Y-%m-%d)"
for t in status apply add; do
  echo
  echo "### $t"
  cat "$work/$t.md"
done
