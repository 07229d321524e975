#!/usr/bin/env bash
# dotback bootstrap of a store of N plain files (default 10,000) from a local bare remote into
# an empty HOME (no packages), the disaster-recovery path: clone, unlock with the recovery
# passphrase (at the real scrypt work factor), admit this device and push that, apply, verify.
#
#   bash bench/bootstrap.sh
#
# Side by side in one run (hyperfine), each into a fresh, empty HOME:
#   1. dotback bootstrap REMOTE --passphrase-file F;
#   2. git clone of the remote + cp -r of its tree into HOME;
#   3. chezmoi init --apply REMOTE.
# Goal (issue 12): 1 <= 1.5 x 2, and 1 <= 3 x faster than 3. Then one bootstrap's own per-step
# times.
#
# Each run goes into a new, empty HOME (see `next` in common.sh); `sync` before each run (not
# timed) keeps one run's writeback out of the next.
set -euo pipefail
N=${N:-10000}
RUNS=${RUNS:-7}
source "$(dirname "$0")/common.sh"
need jq jq

home=$work/home
echo "bench passphrase" >"$work/pass"
mkdir -p "$home"
generate_home "$home" "$N"
HOME=$home dotback init --device a --passphrase-file "$work/pass" >/dev/null 2>&1
HOME=$home dotback add "$home/.config" >/dev/null 2>&1
remote=$work/remote.git
git init -q --bare -b main "$remote"
HOME=$home dotback remote add origin "$remote" >/dev/null 2>&1
HOME=$home dotback sync >/dev/null 2>&1
# Each bootstrap admits its device: the remote goes back to A's commit before the next run.
a_head=$(git -C "$remote" rev-parse main)

# Each run's HOME is a new $work/runs/<run>: `fresh` makes it, `h2` names it.
mkdir -p "$work/runs"
fresh="$next && mkdir '$work/runs/'$run_n && git -C '$remote' update-ref refs/heads/main $a_head && sync"
h2="'$work/runs/'$run_n"
in_h2="h=$h2; HOME=\$h XDG_CONFIG_HOME=\$h/.config XDG_DATA_HOME=\$h/.local/share XDG_STATE_HOME=\$h/.local/state"
hyperfine --style basic --runs "$RUNS" \
  --prepare "$fresh" \
  -n "dotback bootstrap" "$in_h2 dotback bootstrap '$remote' --device b --passphrase-file '$work/pass' >/dev/null 2>&1" \
  --prepare "$fresh" \
  -n "git clone + cp -r" "h=$h2; git clone -q '$remote' \$h/store && cp -r \$h/store/dot_config \$h/.config" \
  --prepare "$fresh" \
  -n "chezmoi init --apply" "$in_h2 '$CHEZMOI' init --apply '$remote' >/dev/null 2>&1" \
  --export-json "$work/boot.json" --export-markdown "$work/boot.md" >&2

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median' "$work/boot.json"; }
boot=$(median "dotback bootstrap")
copy=$(median "git clone + cp -r")
cz=$(median "chezmoi init --apply")
echo
echo "dotback bootstrap of $N files from a local bare remote, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
cat "$work/boot.md"
echo
awk -v b="$boot" -v c="$copy" -v z="$cz" 'BEGIN {
  printf "medians [s]: bootstrap %.3f, git clone + cp -r %.3f, chezmoi init --apply %.3f\n", b, c, z
  printf "bootstrap / (git clone + cp -r) = %.2f (goal <= 1.5)\n", b / c
  printf "chezmoi init --apply / bootstrap = %.2f (goal >= 3)\n", z / b
}'

# One more bootstrap, for the times it reports itself.
eval "$fresh"
h=$(eval echo "$h2")
echo
echo "per step, as bootstrap reports them (one run):"
HOME=$h XDG_CONFIG_HOME=$h/.config XDG_DATA_HOME=$h/.local/share XDG_STATE_HOME=$h/.local/state \
  dotback bootstrap "$remote" --device b --passphrase-file "$work/pass" --json 2>/dev/null |
  jq -r '.steps[] | "  \(.name)\t\(.outcome)\t\(.secs * 1000 | floor) ms"' | column -t -s $'\t'
