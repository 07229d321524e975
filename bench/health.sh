#!/usr/bin/env bash
# Benchmarks of the proofs that the store restores, on a store of N tracked files (default
# 10,000) with some history, each next to what git (and age) do for the same job in one run.
#
#   bash bench/health.sh
#   N=2000 RUNS=3 bash bench/health.sh
#
# archive: `dotback archive --to DIR` (bundle, encrypt to every recipient, fsync, read back,
#          decrypt, index the pack and walk the whole history)
#          | `git bundle create - --all | age -R recipients` (writing only)
#          | the same, then `age -d` and `git clone --bare` of the bundle (git's own check)
# check:   `dotback check --quick` (integrity of every object, no blob contents, and the rest)
#          | `dotback check` (blobs read too) | `git fsck` | `git fsck --connectivity-only`
# drill:   `dotback drill` (clone into a temporary directory, restore into a temporary HOME,
#          compare every file) | `git clone` + `cp -r` of the tree
# Goals (issue 14): archive within 1.5x of `git bundle create` + `age` with git's check; check
# within 1.5x of `git fsck` for the integrity part; the drill's restore within 1.5x of
# clone + copy.
set -euo pipefail
N=${N:-10000}
RUNS=${RUNS:-5}
source "$(dirname "$0")/common.sh"
need age age
need jq jq

home=$work/home
store=$home/.local/share/chezmoi
echo "bench passphrase" >"$work/pass"
mkdir -p "$home"
generate_home "$home" "$N"
HOME=$home dotback init --device bench --passphrase-file "$work/pass" >/dev/null 2>&1
HOME=$home dotback add "$home/.config" >/dev/null 2>&1
HOME=$home dotback commit >/dev/null 2>&1
# Some history: 100 files edited in a second commit.
for k in $(seq 0 99); do echo "edited = $k" >>"$home/.config/app$k/file$k.conf"; done
HOME=$home dotback commit >/dev/null 2>&1
identity=$home/.config/dotback/identity.txt
recipients=$store/.dotback/recipients.txt

remote=$work/remote.git
git init -q --bare -b main "$remote"
HOME=$home dotback remote add origin "$remote" >/dev/null 2>&1
HOME=$home dotback sync >/dev/null 2>&1

echo "== check ==" >&2
hyperfine --style basic --warmup 1 --runs "$RUNS" -i \
  -n "dotback check --quick" "HOME='$home' dotback check --quick >/dev/null 2>&1" \
  -n "dotback check" "HOME='$home' dotback check >/dev/null 2>&1" \
  -n "git fsck" "git -C '$store' fsck --no-progress >/dev/null 2>&1" \
  -n "git fsck --connectivity-only" "git -C '$store' fsck --connectivity-only --no-progress >/dev/null 2>&1" \
  --export-markdown "$work/check.md" --export-json "$work/check.json" >&2
# The integrity part alone, as the check's own report times it (reading every object back and
# checking its hash; the plaintext scan of the same blobs is timed apart as `secrets`).
part_ms() { # NAME: the median, over RUNS checks, of that part's milliseconds
  for _ in $(seq "$RUNS"); do
    { HOME=$home dotback check --json 2>/dev/null || true; } | jq ".timings[] | select(.name == \"$1\") | .ms"
  done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
integrity_ms=$(part_ms integrity)
secrets_ms=$(part_ms secrets)
fsck_ms=$(jq '.results[] | select(.command == "git fsck") | .median * 1000 | floor' "$work/check.json")

echo "== drill ==" >&2
# git's copy goes into a new directory each run (see `next` in common.sh); the drill removes its
# own clone, as it does for a user.
mkdir -p "$work/copy"
copy="'$work/copy/'$run_n"
hyperfine --style basic --warmup 1 --runs "$RUNS" \
  --prepare "sync" \
  -n "dotback drill" "HOME='$home' dotback drill >/dev/null 2>&1" \
  --prepare "$next && mkdir $copy && sync" \
  -n "git clone + cp -r" "git clone -q '$remote' $copy/store && cp -r $copy/store/dot_config $copy/home" \
  --export-markdown "$work/drill.md" >&2
drill_json=$(HOME=$home dotback drill --json 2>/dev/null)

echo "== archive ==" >&2
archives=$work/archives
bundle_age="git -C '$store' bundle create -q - --all | age -R '$recipients' -o '$work/git.age'"
git_check="age -d -i '$identity' -o '$work/check.bundle' '$work/git.age' && git clone -q --bare '$work/check.bundle' '$work/check.git'"
hyperfine --style basic --warmup 1 --runs "$RUNS" \
  --prepare "rm -rf '$archives' && mkdir '$archives' && sync" \
  -n "dotback archive (write + check)" "HOME='$home' dotback archive --to '$archives' 2>/dev/null" \
  --prepare "rm -f '$work/git.age' && sync" \
  -n "git bundle | age -R" "$bundle_age" \
  --prepare "rm -rf '$work/git.age' '$work/check.bundle' '$work/check.git' && sync" \
  -n "git bundle | age -R, age -d + git clone --bare" "$bundle_age && $git_check" \
  --export-markdown "$work/archive.md" >&2
HOME=$home dotback archive verify "$archives"/*.bundle.age >&2
sizes="dotback archive $(stat -c %s "$archives"/*.bundle.age) bytes, git bundle + age $(stat -c %s "$work/git.age") bytes"

echo
echo "dotback health benchmark: $N files, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "### check"
cat "$work/check.md"
echo
echo "| part (median of $RUNS) | ms | vs git fsck |"
echo "|:---|---:|---:|"
awk -v i="$integrity_ms" -v s="$secrets_ms" -v f="$fsck_ms" 'BEGIN {
  printf "| dotback check: integrity | %d | %.2fx |\n", i, i / f
  printf "| dotback check: secrets (scan) | %d | |\n", s
  printf "| git fsck | %d | 1.00x |\n", f
}'
echo
echo "### drill (one more drill's own report: $(echo "$drill_json" | jq -c '{verified, mismatches: (.mismatches | length), rto_secs, clone_secs, restore_secs}'))"
cat "$work/drill.md"
echo
echo "### archive ($sizes)"
cat "$work/archive.md"
