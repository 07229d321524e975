#!/bin/sh
# dotback's bootstrap script: restores a brand-new machine from a dotback store in one line.
#
#   curl -fsSL https://example.org/bootstrap.sh | sh -s -- git@host:me/dotfiles.git
#
# When `dotback` is not on PATH, it is built with `cargo install` (the `dotback` crate, or the
# git repository in $DOTBACK_GIT when set), after installing what the build needs when it is
# missing: a C compiler, make, perl, pkg-config and git with the system's package manager
# (apt-get, dnf, pacman or brew; with sudo when not root), and a Rust toolchain with rustup.
# Then it runs `dotback bootstrap` with the arguments given (`dotback bootstrap --help` lists
# them). `dotback bootstrap --print-script` prints this script.
set -eu

say() {
	printf 'bootstrap.sh: %s\n' "$*" >&2
}

die() {
	say "$*"
	exit 1
}

have() {
	command -v "$1" >/dev/null 2>&1
}

# Runs a command as root: directly when root already, else with sudo.
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif have sudo; then
		say "running with sudo: $*"
		sudo "$@"
	else
		die "installing packages needs root, and sudo is not installed: run \`$*\` as root, then this script again"
	fi
}

# The system's package manager.
manager() {
	for m in apt-get dnf pacman brew; do
		if have "$m"; then
			echo "$m"
			return
		fi
	done
	echo none
}

# The package that provides tool $2 with package manager $1.
package() {
	case "$1:$2" in
	apt-get:cc) echo build-essential ;;
	dnf:cc | pacman:cc) echo gcc ;;
	apt-get:pkg-config) echo pkg-config ;;
	dnf:pkg-config) echo pkgconf-pkg-config ;;
	pacman:pkg-config | brew:pkg-config) echo pkgconf ;;
	apt-get:curl) echo curl ca-certificates ;;
	*) echo "$2" ;;
	esac
}

install_prerequisites() {
	missing=""
	have cc || have gcc || have clang || missing="$missing cc"
	have make || missing="$missing make"
	have perl || missing="$missing perl"
	have pkg-config || have pkgconf || missing="$missing pkg-config"
	have git || missing="$missing git"
	if ! have cargo && ! have rustup; then
		have curl || missing="$missing curl"
	fi
	[ -n "$missing" ] || return 0

	m=$(manager)
	say "building dotback needs:$missing"
	case "$m:$missing " in
	brew:*" cc "*) die "a C compiler is missing: install Apple's command line tools with \`xcode-select --install\`, then run this script again" ;;
	esac
	packages=""
	for tool in $missing; do
		packages="$packages $(package "$m" "$tool")"
	done
	# Word splitting of $packages is wanted: one argument per package.
	# shellcheck disable=SC2086
	case "$m" in
	apt-get)
		as_root apt-get update -q
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages
		;;
	dnf) as_root dnf install -y $packages ;;
	pacman) as_root pacman -S --needed --noconfirm $packages ;;
	brew) brew install $packages ;;
	*) die "no supported package manager (apt-get, dnf, pacman, brew) found: install$missing yourself, then run this script again" ;;
	esac
}

install_rust() {
	have cargo && return 0
	if ! have rustup; then
		say "installing a Rust toolchain with rustup (into ${CARGO_HOME:-$HOME/.cargo})"
		curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --no-modify-path
	fi
	have cargo || rustup default stable
	have cargo || die "rustup did not install cargo into $cargo_bin; install a Rust toolchain, then run this script again"
}

install_dotback() {
	install_prerequisites
	install_rust
	if [ -n "${DOTBACK_GIT:-}" ]; then
		say "building dotback from $DOTBACK_GIT (a few minutes)"
		cargo install --locked --git "$DOTBACK_GIT" dotback
	else
		say "building dotback from its crate (a few minutes)"
		cargo install --locked dotback
	fi
	have dotback || die "cargo installed dotback, but it is not on PATH: add $cargo_bin to PATH, then run this script again"
}

# Where cargo puts what it installs (and rustup cargo itself), so both are found right away.
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in
*":$cargo_bin:"*) ;;
*) PATH="$PATH:$cargo_bin" && export PATH ;;
esac

if ! have dotback; then
	say "dotback is not installed; installing it first"
	install_dotback
	say "installed $(command -v dotback); for later shells, put $cargo_bin on PATH (your dotfiles may already)"
fi
exec dotback bootstrap "$@"
