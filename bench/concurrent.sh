#!/usr/bin/env bash
# Many devices hammering one local bare remote: every device edits its own file and all of
# them sync at the same moment, round after round.
#
#   bash bench/concurrent.sh              # D=8 devices, R=15 rounds
#   D=4 R=30 bash bench/concurrent.sh
#
# Side by side in one run: dotback sync on every device at once, and plain git on as many
# clones at once (add, commit, then `push`, with `pull --no-rebase` and push again until the
# push lands, as a script around git would do it).
#
# Prints: syncs (pushes) per second over the whole run, how many pushes lost a race and were
# tried again, and the median and p95 of one device's sync, start to end.
set -euo pipefail
D=${D:-8}
R=${R:-15}
source "$(dirname "$0")/common.sh"

remote=$work/remote.git
git init -q --bare -b main "$remote"
echo "bench passphrase" >"$work/pass"

echo "== setup: $D dotback devices and $D git clones on $remote ==" >&2
first=$work/d0
mkdir -p "$first"
echo "device 0" >"$first/.dev0rc"
HOME=$first dotback init --device d0 --passphrase-file "$work/pass" >/dev/null 2>&1
HOME=$first dotback add "$first/.dev0rc" >/dev/null 2>&1
HOME=$first dotback remote add origin "$remote" >/dev/null
HOME=$first dotback sync >/dev/null 2>&1
for ((i = 1; i < D; i++)); do
  h=$work/d$i
  mkdir -p "$h"
  git clone -q "$remote" "$h/store"
  HOME=$h dotback init --device "d$i" --source "$h/store" >/dev/null 2>&1
  HOME=$h dotback apply >/dev/null 2>&1
  echo "device $i" >"$h/.dev${i}rc"
  HOME=$h dotback add "$h/.dev${i}rc" >/dev/null 2>&1
  HOME=$h dotback sync >/dev/null 2>&1
done
for ((i = 0; i < D; i++)); do HOME=$work/d$i dotback sync >/dev/null 2>&1; done

git clone -q --bare "$remote" "$work/git-remote.git"
for ((i = 0; i < D; i++)); do
  g=$work/g$i
  git clone -q "$work/git-remote.git" "$g"
  git -C "$g" config user.name "g$i"
  git -C "$g" config user.email "g$i@bench.invalid"
done

# One device's sync, timed: prints "<ms> <retries> <exit>".
cat >"$work/dotback-one" <<'EOF'
#!/usr/bin/env bash
start=$(date +%s%N)
out=$(HOME=$1 dotback sync 2>&1) && rc=0 || rc=$?
end=$(date +%s%N)
retries=$(grep -o 'pushed first ([0-9]*' <<<"$out" | grep -o '[0-9]*$' || echo 0)
echo "$(((end - start) / 1000000)) ${retries:-0} $rc"
EOF
cat >"$work/git-one" <<'EOF'
#!/usr/bin/env bash
start=$(date +%s%N)
cd "$1"
git add -A && { git diff --cached --quiet || git commit -qm sync; }
retries=0 rc=0
until git push -q origin main 2>/dev/null; do
  retries=$((retries + 1))
  if ((retries > 50)); then rc=1; break; fi
  git pull -q --no-rebase --no-edit origin main >/dev/null 2>&1 || { rc=1; break; }
done
end=$(date +%s%N)
echo "$(((end - start) / 1000000)) $retries $rc"
EOF
chmod +x "$work/dotback-one" "$work/git-one"

run() { # run TOOL: R rounds of D at once; the per-sync lines go to $work/TOOL.times
  local tool=$1 start end
  : >"$work/$tool.times"
  start=$(date +%s%N)
  for ((r = 0; r < R; r++)); do
    for ((i = 0; i < D; i++)); do
      if [[ $tool == dotback ]]; then
        echo "device $i round $r" >"$work/d$i/.dev${i}rc"
        "$work/dotback-one" "$work/d$i" >>"$work/$tool.times" &
      else
        echo "device $i round $r" >"$work/g$i/dev${i}rc"
        "$work/git-one" "$work/g$i" >>"$work/$tool.times" &
      fi
    done
    wait
  done
  end=$(date +%s%N)
  echo $(((end - start) / 1000000)) >"$work/$tool.total"
}
echo "== $D dotback devices, $R rounds ==" >&2
run dotback
echo "== $D git clones, $R rounds ==" >&2
run git

# Everything landed: every device has every device's last edit.
for ((i = 0; i < D; i++)); do HOME=$work/d$i dotback sync >/dev/null 2>&1 || true; done
for ((i = 0; i < D; i++)); do
  for ((j = 0; j < D; j++)); do
    [[ $(cat "$work/d$i/.dev${j}rc") == "device $j round $((R - 1))" ]] ||
      { echo "bench: device $i lacks device $j's last edit" >&2; exit 1; }
  done
done
git --git-dir="$remote" fsck --no-progress --strict >/dev/null 2>&1 || { echo "bench: the remote is damaged" >&2; exit 1; }

stats() { # stats TOOL -> "syncs/s retries failed median p95"
  local t=$1
  sort -n "$work/$t.times" | awk -v total="$(cat "$work/$t.total")" '
    { ms[NR] = $1; retries += $2; if ($3 != 0) failed++ }
    END {
      p50 = ms[int((NR + 1) / 2)]; i95 = int(NR * 0.95 + 0.999); if (i95 > NR) i95 = NR
      printf "%.1f %d %d %d %d %d\n", NR / (total / 1000), retries, failed + 0, p50, ms[i95], NR
    }'
}
echo
echo "Concurrent syncs through one local remote: $D devices x $R rounds, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| tool | syncs | syncs/s | pushes retried | failed | median sync [ms] | p95 sync [ms] |"
echo "|:---|---:|---:|---:|---:|---:|---:|"
for t in dotback git; do
  read -r rate retries failed p50 p95 n < <(stats "$t")
  what="dotback sync"
  [[ $t == git ]] && what="git add + commit + push (pull and push again until it lands)"
  echo "| $what | $n | $rate | $retries | $failed | $p50 | $p95 |"
done
