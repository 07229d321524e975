# Shared setup for the benchmarks (sourced): hyperfine, a release build, the chezmoi binary,
# and a scratch directory with an empty git config. Sets: repo, CHEZMOI, work.
need() { command -v "$1" >/dev/null || { echo "bench: installing $2" >&2; apt-get install -y -qq "$2" >/dev/null; }; }
need hyperfine hyperfine
need git git
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
cargo build --release --locked -q
fetch=tests/tools/fetch-chezmoi
[[ -x ../shared/tools/fetch-chezmoi ]] && fetch=../shared/tools/fetch-chezmoi
bash "$fetch" "$repo/target/test-tools" >/dev/null 2>&1
export PATH="$repo/target/release:$PATH"
CHEZMOI="$repo/target/test-tools/chezmoi"
work=$(mktemp -d /tmp/dotback-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_GLOBAL="$work/gitconfig" GIT_CONFIG_NOSYSTEM=1
: >"$GIT_CONFIG_GLOBAL"
