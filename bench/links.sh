#!/usr/bin/env bash
# Benchmark of a symlink-heavy home (the shape of icon themes): N targets (default 50,000) in
# DIRS directories (default 400), LINKS of them symlinks (default 24,000): most point to a
# file in another directory, one in six is absolute, one in six dangles.
#
#   bash bench/links.sh                        # N=50000 DIRS=400 LINKS=24000
#   N=5000 DIRS=40 LINKS=2400 RUNS=3 bash bench/links.sh
#
# Prints, side by side in one run (hyperfine tables, "Relative" = vs the fastest):
#   1. status with nothing changed: dotback status | git status in the store
#   2. sync with nothing to do:     dotback sync   | git status + git fetch in a plain clone
# and the peak memory (maximum resident set size) of each.
# Goals (issue 9): both within 2x of git.
set -euo pipefail
N=${N:-50000}
DIRS=${DIRS:-400}
LINKS=${LINKS:-24000}
RUNS=${RUNS:-10}
source "$(dirname "$0")/common.sh"
need perl perl

home=$work/home
store=$home/.local/share/chezmoi
remote=$work/remote.git
echo "bench passphrase" >"$work/pass"
mkdir -p "$home"

# HOME/.local/share/icons/theme<k % DIRS>/icon<k>.{svg,png}: LINKS of the N targets, spread
# evenly, are symlinks (to the file made last, an absolute path, or nothing), the rest small files.
echo "Generating $N targets ($LINKS symlinks) in $DIRS directories under $home/.local/share/icons ..." >&2
perl -e '
  my ($root, $n, $dirs, $links) = @ARGV;
  mkdir "$root/theme$_" or die "$root/theme$_: $!" for 0 .. $dirs - 1;
  my ($made, $file) = (0, "icon-none.svg");
  for my $k (0 .. $n - 1) {
    my $d = $k % $dirs;
    if (int(($k + 1) * $links / $n) > int($k * $links / $n)) {
      my $target = $made % 6 == 0 ? "/usr/share/icons/hicolor/48x48/apps/icon$k.png"
                 : $made % 6 == 1 ? "../missing/icon$k.png"
                 : "../$file";
      symlink($target, "$root/theme$d/icon$k.png") or die "$root/theme$d/icon$k.png: $!";
      $made++;
    } else {
      $file = "theme$d/icon$k.svg";
      open(my $f, ">", "$root/$file") or die "$root/$file: $!";
      print $f "<svg id=\"$k\" width=\"" . ($k % 64) . "\"/>\n";
      close($f);
    }
  }
  printf STDERR "%d files, %d symlinks\n", $n - $made, $made;
' "$(mkdir -p "$home/.local/share/icons" && echo "$home/.local/share/icons")" "$N" "$DIRS" "$LINKS"

echo "== setup: add, commit, sync to $remote ==" >&2
git init -q --bare -b main "$remote"
HOME=$home dotback init --device bench --passphrase-file "$work/pass" >/dev/null 2>&1
HOME=$home dotback add "$home/.local/share/icons" >/dev/null 2>&1
HOME=$home dotback remote add origin "$remote" >/dev/null
HOME=$home dotback sync >/dev/null 2>&1
git clone -q "$remote" "$work/clone"
# Warm the stat caches (and the page cache) before timing.
HOME=$home dotback sync >/dev/null 2>&1
HOME=$home dotback status >/dev/null
git -C "$store" status >/dev/null
git -C "$work/clone" status >/dev/null

echo "== status ==" >&2
hyperfine --style basic --warmup 2 --runs "$RUNS" \
  -n "dotback status" "HOME='$home' dotback status" \
  -n "git status (store)" "git -C '$store' status" \
  --export-markdown "$work/status.md" >&2

echo "== no-op sync ==" >&2
hyperfine --style basic --warmup 2 --runs "$RUNS" \
  -n "dotback sync (nothing to do)" "HOME='$home' dotback sync 2>/dev/null" \
  -n "git status + git fetch" "git -C '$work/clone' status >/dev/null && git -C '$work/clone' fetch -q origin" \
  --export-markdown "$work/sync.md" >&2

peak() { # peak NAME COMMAND...: maximum resident set size in MiB
  /usr/bin/time -o "$work/rss" -f '%M' "${@:2}" >/dev/null 2>&1
  awk -v n="$1" '{ printf "| %s | %.1f |\n", n, $1 / 1024 }' "$work/rss"
}
echo
echo "dotback symlink-heavy benchmark: $N targets ($LINKS symlinks) in $DIRS directories, $(nproc) cores, $(date -u +%Y-%m-%d)"
for t in status sync; do
  echo
  echo "### $t"
  cat "$work/$t.md"
done
echo
echo "### peak memory"
echo "| command | max RSS [MiB] |"
echo "|:---|---:|"
peak "dotback status" env HOME="$home" dotback status
peak "git status (store)" git -C "$store" status
peak "dotback sync (nothing to do)" env HOME="$home" dotback sync
peak "git fetch" git -C "$work/clone" fetch -q origin
