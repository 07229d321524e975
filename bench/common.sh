# Shared setup for the benchmarks (sourced): hyperfine, a release build, the chezmoi binary,
# and a scratch directory with an empty git config. Sets: repo, CHEZMOI, work.
# DOTBACK_BIN=/path/to/dotback measures that binary instead of this checkout's release build
# (to compare two versions on the same machine).
need() { command -v "$1" >/dev/null || { echo "bench: installing $2" >&2; apt-get install -y -qq "$2" >/dev/null; }; }
need hyperfine hyperfine
need git git
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
work=$(mktemp -d /tmp/dotback-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [[ -n ${DOTBACK_BIN:-} ]]; then
  bin=$work/bin
  mkdir "$bin"
  ln -s "$(realpath "$DOTBACK_BIN")" "$bin/dotback"
else
  cargo build --release --locked -q
  bin=$repo/target/release
fi
fetch=tests/tools/fetch-chezmoi
[[ -x ../shared/tools/fetch-chezmoi ]] && fetch=../shared/tools/fetch-chezmoi
bash "$fetch" "$repo/target/test-tools" >/dev/null 2>&1
export PATH="$bin:$PATH"
CHEZMOI="$repo/target/test-tools/chezmoi"
export GIT_CONFIG_GLOBAL="$work/gitconfig" GIT_CONFIG_NOSYSTEM=1
: >"$GIT_CONFIG_GLOBAL"

# Runs that write many files each write into a new directory, and nothing is deleted until the
# end (the EXIT trap). On ext4 without a journal, a file created within a minute of many deletions
# makes the kernel skip every recently freed inode (`recently_deleted`), which made each run after
# an `rm -rf` of 10,000 files many times slower, and the deletions, not the commands, were what
# such a run measured. In a --prepare, "$next" starts the next run; in a command, "$run_n" is its
# number (run directories are named by it).
echo 0 >"$work/run"
next="echo \$((\$(cat '$work/run') + 1)) >'$work/run'"
run_n="\$(cat '$work/run')"

# generate_home HOME N: N small files (3 lines each) spread over N/100 directories,
# HOME/.config/app<k % dirs>/file<k>.conf for k = 0..N-1.
generate_home() {
  local dirs=$((($2 + 99) / 100))
  echo "Generating $2 files in $dirs directories under $1/.config ..." >&2
  awk -v n="$2" -v d="$dirs" -v root="$1/.config" 'BEGIN {
    for (i = 0; i < d; i++) system("mkdir -p " root "/app" i)
    for (k = 0; k < n; k++) {
      f = root "/app" (k % d) "/file" k ".conf"
      printf "# generated setting %d\nkey_%d = value_%d\ncolor = %d\n", k, k, k * 7919 % 1000, k % 256 > f
      close(f)
    }
  }'
}
