//! `templates/bootstrap.sh`, the script a brand-new machine runs: POSIX sh that passes
//! `shellcheck`, hands over to an installed dotback untouched, and installs dotback (and what
//! its build needs) only when it is missing. The package managers, sudo and cargo here are fakes
//! that record how they were called.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{require, show};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/bootstrap.sh")
}

#[test]
fn the_script_is_posix_sh_that_shellcheck_passes() {
    let out = Command::new("sh").arg("-n").arg(script()).output().unwrap();
    assert!(out.status.success(), "sh -n:\n{}", show(&out));
    if !require("shellcheck") {
        return;
    }
    let out = Command::new("shellcheck").args(["-s", "sh"]).arg(script()).output().unwrap();
    assert!(out.status.success(), "shellcheck -s sh:\n{}", show(&out));
}

/// A directory of fake programs, each appending `NAME ARGS` to `calls` (one line per call).
struct Fakes {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    calls: PathBuf,
    cargo_home: PathBuf,
}

impl Fakes {
    fn new() -> Fakes {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let f = Fakes { bin: root.join("bin"), calls: root.join("calls"), cargo_home: root.join("cargo"), _dir: dir };
        fs::create_dir_all(&f.bin).unwrap();
        fs::create_dir_all(f.cargo_home.join("bin")).unwrap();
        fs::write(&f.calls, "").unwrap();
        f
    }

    /// A fake `name` that records its call and then runs `then` (sh).
    fn add(&self, name: &str, then: &str) {
        let record = format!("printf '%s\\n' \"{name} $*\" >> '{}'", self.calls.display());
        self.tool(name, &format!("{record}\n{then}"));
    }

    /// A program `name` that runs `body` (sh) and records nothing.
    fn tool(&self, name: &str, body: &str) {
        let path = self.bin.join(name);
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn calls(&self) -> Vec<String> {
        fs::read_to_string(&self.calls).unwrap().lines().map(String::from).collect()
    }

    /// Runs the script with only the fakes (and `extra`) on PATH.
    fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let path = format!("{}:/nonexistent", self.bin.display());
        Command::new("/bin/sh")
            .arg(script())
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self._dir.path())
            .env("CARGO_HOME", &self.cargo_home)
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

/// Fakes for everything the script could install with: none may be called.
const INSTALLERS: [&str; 8] = ["apt-get", "dnf", "pacman", "brew", "sudo", "cargo", "rustup", "curl"];

#[test]
fn with_dotback_installed_it_runs_dotback_bootstrap_with_the_arguments_and_installs_nothing() {
    let f = Fakes::new();
    for name in INSTALLERS {
        f.add(name, "exit 0");
    }
    f.add("dotback", "exit 7");
    let args = ["git@host:me/dot files.git", "--device", "new laptop", "--yes", ""];
    let out = f.run(&args, &[]);
    assert_eq!(out.status.code(), Some(7), "the script execs dotback, whose exit is its own:\n{}", show(&out));
    assert_eq!(f.calls(), ["dotback bootstrap git@host:me/dot files.git --device new laptop --yes "]);
    assert!(out.stderr.is_empty(), "nothing to say when dotback is there:\n{}", show(&out));

    // Each argument arrives as it was given (spaces and the empty one included).
    f.add("dotback", &format!("for a in \"$@\"; do printf '[%s]' \"$a\" >> '{}'; done", f.calls.display()));
    fs::write(&f.calls, "").unwrap();
    assert!(f.run(&args, &[]).status.success());
    let calls = fs::read_to_string(&f.calls).unwrap();
    assert!(calls.ends_with("\n[bootstrap][git@host:me/dot files.git][--device][new laptop][--yes][]"), "{calls}");
}

#[test]
fn without_dotback_it_installs_what_the_build_needs_then_builds_dotback_then_runs_it() {
    let f = Fakes::new();
    // Not root, with sudo; apt-get is the package manager; cargo is there (no rustup), and its
    // `install` puts a fake dotback where cargo installs binaries.
    f.tool("id", "echo 1000");
    f.add("sudo", &format!("PATH='{}:/usr/bin:/bin' exec \"$@\"", f.bin.display()));
    f.add("apt-get", &format!("printf '%s\\n' \"DEBIAN_FRONTEND=${{DEBIAN_FRONTEND:-}}\" >> '{}'", f.calls.display()));
    f.add("dotback.built", "exit 0");
    let dotback = f.cargo_home.join("bin/dotback");
    let built = f.bin.join("dotback.built");
    f.add("cargo", &format!("/bin/cp '{}' '{}'", built.display(), dotback.display()));
    let git = ("DOTBACK_GIT", "https://example.invalid/dotback.git");
    let out = f.run(&["/srv/dotfiles.git", "--yes"], &[git]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        f.calls(),
        [
            "sudo apt-get update -q",
            "apt-get update -q",
            "DEBIAN_FRONTEND=",
            "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q build-essential make perl pkg-config git",
            "apt-get install -y -q build-essential make perl pkg-config git",
            "DEBIAN_FRONTEND=noninteractive",
            "cargo install --locked --git https://example.invalid/dotback.git dotback",
            "dotback.built bootstrap /srv/dotfiles.git --yes",
        ]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("dotback is not installed; installing it first"), "{err}");
    assert!(err.contains("building dotback needs: cc make perl pkg-config git"), "{err}");

    // From the crate when DOTBACK_GIT is not set (dotback is now installed, so remove it first).
    fs::remove_file(&dotback).unwrap();
    fs::write(&f.calls, "").unwrap();
    assert!(f.run(&["r"], &[]).status.success());
    let calls = f.calls();
    assert!(calls.contains(&"cargo install --locked dotback".to_string()), "{calls:?}");
}

#[test]
fn without_root_or_sudo_it_stops_before_installing_and_says_why() {
    let f = Fakes::new();
    f.tool("id", "echo 1000");
    f.add("apt-get", "exit 0");
    f.add("cargo", "exit 0");
    let out = f.run(&["r"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sudo is not installed") && err.contains("apt-get update"), "{err}");
    assert_eq!(f.calls(), Vec::<String>::new(), "nothing was installed");
}

#[test]
fn without_cargo_it_installs_rust_with_rustup_first() {
    let f = Fakes::new();
    for present in ["cc", "make", "perl", "pkg-config", "git"] {
        f.tool(present, "exit 0");
    }
    f.tool("sh", "exec /bin/sh \"$@\"");
    f.add("apt-get", "exit 1");
    // rustup's installer puts cargo into CARGO_HOME/bin; that cargo's `install` puts dotback there.
    let bin = f.cargo_home.join("bin");
    f.add("dotback.built", "exit 0");
    f.add(
        "cargo.built",
        &format!("/bin/cp '{}' '{}'", f.bin.join("dotback.built").display(), bin.join("dotback").display()),
    );
    let rustup_init = format!(
        "printf '%s\\n' \"rustup-init $*\" >> '{}'; /bin/cp '{}' '{}'",
        f.calls.display(),
        f.bin.join("cargo.built").display(),
        bin.join("cargo").display()
    );
    f.add("curl", &format!("/bin/cat <<'END'\n{rustup_init}\nEND"));
    let out = f.run(&["r"], &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        f.calls(),
        [
            "curl --proto =https --tlsv1.2 -sSf https://sh.rustup.rs",
            "rustup-init -y --profile minimal --no-modify-path",
            "cargo.built install --locked dotback",
            "dotback.built bootstrap r",
        ]
    );
}
