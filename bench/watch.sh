#!/usr/bin/env bash
# dotback watch on a store of N tracked files (default 10,000) with a local bare remote.
#
#   bash bench/watch.sh
#
# Measures, in one run, for the watcher and for a gitwatch-like baseline the script builds
# itself (`inotifywait -m -r` + `git commit` + `git push` after a 2 s quiet period):
#   1. latency from a write to the commit in the store, and to the push reaching the remote:
#      p50, p95 and max over EDITS edits (default 100; BASE_EDITS=30 for the baseline, which
#      needs 2 s of quiet per edit), spaced so that each is its own batch;
#   2. the same for a burst of 100 files saved at once (time to the commit holding the last);
#   3. the watcher's CPU seconds and peak RSS over IDLE idle seconds (default 120), with its
#      pull_interval poll (30 s) going on.
# Goals (issue 13): p95 write->commit <= 0.5 s, write->pushed <= 1 s; idle CPU <= 0.5 %; peak
# RSS <= 40 MiB.
set -euo pipefail
N=${N:-10000}
EDITS=${EDITS:-100}
BASE_EDITS=${BASE_EDITS:-30}
IDLE=${IDLE:-120}
source "$(dirname "$0")/common.sh"
need inotifywait inotify-tools
need python3 python3

home=$work/home
store=$home/.local/share/chezmoi
echo "bench passphrase" >"$work/pass"
mkdir -p "$home"
generate_home "$home" "$N"
HOME=$home dotback init --device bench --passphrase-file "$work/pass" >/dev/null 2>&1
HOME=$home dotback add "$home/.config" >/dev/null 2>&1
remote=$work/remote.git
git init -q --bare -b main "$remote"
HOME=$home dotback remote add origin "$remote" >/dev/null 2>&1
HOME=$home dotback sync >/dev/null 2>&1

# The baseline: the same tree as a plain git work tree with its own bare remote.
base=$work/base
base_remote=$work/base-remote.git
mkdir -p "$base"
cp -r "$home/.config" "$base/tree"
rm -rf "$base/tree/dotback"
git init -q -b main "$base/tree"
git -C "$base/tree" add -A && git -C "$base/tree" -c user.name=b -c user.email=b@b commit -qm init
git init -q --bare -b main "$base_remote"
git -C "$base/tree" remote add origin "$base_remote"
git -C "$base/tree" push -q origin main
cat >"$base/gitwatch.sh" <<'SH'
#!/usr/bin/env bash
# gitwatch-like: commit and push after 2 s without events.
cd "$1"
inotifywait -q -m -r -e close_write,move,delete,create --exclude '/\.git/' --format '%w%f' . |
  while read -r _; do
    while read -r -t 2 _; do :; done
    git add -A && git -c user.name=b -c user.email=b@b commit -qm change && git push -q origin main
  done
SH

# Latency: write each group of files at once, wait for the branch to move in the store and on the
# remote (polling the ref files), then let the next edit be its own batch. With --burst, 100 files
# saved at once, six times, follow the single edits.
cat >"$work/latency.py" <<'PY'
import os, sys, time, statistics
d, head, pushed, n, name = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
burst_too = len(sys.argv) > 6 and sys.argv[6] == "--burst"
def ref(p):
    try:
        with open(p) as f: return f.read()
    except OSError: return None
def wait_change(p, before, t0, limit=30):
    while ref(p) == before:
        if time.monotonic() - t0 > limit: return float("nan")
        time.sleep(0.002)
    return time.monotonic() - t0
def measure(groups):
    """Each group of files is written at once; the next group waits until this one is pushed."""
    c, p = [], []
    for k, group in enumerate(groups):
        h0, r0 = ref(head), ref(pushed)
        t0 = time.monotonic()
        for f in group:
            with open(f, "w") as fh: fh.write(f"edit {k} {time.time()}\n")
        c.append(wait_change(head, h0, t0))
        p.append(wait_change(pushed, r0, t0))
        # Settle: the next edit must be its own batch.
        time.sleep(0.6)
    return c, p
def row(label, xs):
    xs = sorted(x for x in xs if x == x)
    q = lambda f: xs[min(len(xs) - 1, int(f * len(xs)))]
    return f"| {label} | {len(xs)} | {statistics.median(xs):.3f} | {q(0.95):.3f} | {xs[-1]:.3f} |"
files = [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".conf")]
c, p = measure([[files[k % len(files)]] for k in range(n)])
print(row(f"{name}: write -> commit", c)); print(row(f"{name}: write -> pushed", p))
# A burst of 100 files saved at once: new files first, then edits of them, five times.
if not burst_too:
    sys.exit(0)
burst = [os.path.join(d, f"burst{j}.conf") for j in range(100)]
bc, bp = measure([burst] * 6)
print(row(f"{name}: burst of 100 -> commit", bc)); print(row(f"{name}: burst of 100 -> pushed", bp))
PY

echo "== dotback watch ==" >&2
HOME=$home dotback watch 2>"$work/watch.log" &
watcher=$!
sleep 3
python3 "$work/latency.py" "$home/.config/app0" "$store/.git/refs/heads/main" "$remote/refs/heads/main" "$EDITS" "dotback watch" --burst \
  >"$work/lat-dotback.txt"
echo "== idle ==" >&2
clk=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$watcher/stat"; }
c0=$(cpu)
sleep "$IDLE"
c1=$(cpu)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$watcher/status")
kill -TERM "$watcher"
wait "$watcher" || true

echo "== baseline (inotifywait + git, 2 s quiet) ==" >&2
bash "$base/gitwatch.sh" "$base/tree" 2>/dev/null &
gw=$!
sleep 3
python3 "$work/latency.py" "$base/tree/app0" "$base/tree/.git/refs/heads/main" "$base_remote/refs/heads/main" "$BASE_EDITS" "inotifywait + git" \
  >"$work/lat-base.txt" || true
pkill -P "$gw" 2>/dev/null || true
kill "$gw" 2>/dev/null || true

echo
echo "dotback watch, $N tracked files, local bare remote, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| latency [s] | edits | p50 | p95 | max |"
echo "|:---|---:|---:|---:|---:|"
cat "$work/lat-dotback.txt" "$work/lat-base.txt"
echo
awk -v c0="$c0" -v c1="$c1" -v hz="$clk" -v idle="$IDLE" -v rss="$rss" 'BEGIN {
  s = (c1 - c0) / hz
  printf "idle over %d s: CPU %.2f s (%.3f %%, goal <= 0.5 %%); peak RSS %.1f MiB (goal <= 40 MiB)\n", idle, s, 100 * s / idle, rss / 1024
}'
