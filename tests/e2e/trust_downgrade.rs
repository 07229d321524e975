//! Attacks that try to turn an encrypted file into a plain one: a merge (or fast-forward) never
//! takes the other side's unencrypted version of a file this side encrypts, and age ciphertext
//! under a plain name is never written to HOME as armor.

use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const SECRET: &str = "db.example.org:5432:app:admin:PGSECRET-ONE\n";

/// A victim with `~/.pgpass` (encrypted in the store) synced to a bare remote.
fn victim() -> (TestEnv, PathBuf) {
    let v = TestEnv::new();
    v.init();
    let remote = bare(&v, "remote.git");
    v.write(".pgpass", SECRET, 0o600);
    v.write(".zshrc", "z\n", 0o644);
    v.ok(&["add", ".pgpass", ".zshrc"]);
    v.ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    v.ok(&["sync"]);
    assert!(v.store().join("encrypted_private_dot_pgpass.age").is_file());
    (v, remote)
}

/// Someone with push access and no key renames the encrypted entry to a plain one (the armor as
/// its content), weakens the secret rules, adds a plain-named copy of the armor as a new entry,
/// and pushes.
fn attack(root: &Path, remote: &Path) {
    let m = Intruder::clone_of(root, remote);
    m.git(&["mv", "encrypted_private_dot_pgpass.age", "private_dot_pgpass"]);
    fs::copy(m.dir.join("private_dot_pgpass"), m.dir.join("private_dot_my.cnf")).unwrap();
    fs::write(
        m.dir.join(".dotback/dotback.toml"),
        "version = 1\n[secrets]\nreplace_defaults = true\nnot = [\".pgpass\", \".my.cnf\"]\n",
    )
    .unwrap();
    m.push("tidy up");
}

/// A sync after the attack: the weakened manifest is held back (exit 6), and everything else
/// still syncs.
fn sync_held(v: &TestEnv) -> std::process::Output {
    let out = v.cmd(&["sync"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", show(&out));
    assert!(stderr(&out).contains("dotback.toml") && stderr(&out).contains("held back"), "{}", show(&out));
    out
}

fn check_after_attack(v: &TestEnv, remote: &Path, out: &std::process::Output) {
    let err = stderr(out);
    assert_eq!(v.read(".pgpass"), SECRET, "the live file keeps its plaintext: {}", show(out));
    assert!(err.contains("~/.pgpass unencrypted") && err.contains("keeps it encrypted"), "reported: {err}");
    assert!(v.store().join("encrypted_private_dot_pgpass.age").is_file(), "the store keeps it encrypted");
    assert!(!v.store().join("private_dot_pgpass").exists());
    assert!(err.contains("`private_dot_my.cnf` holds age ciphertext"), "the plain-named armor is named: {err}");
    assert!(!v.home.join(".my.cnf").exists(), "armor is never written to HOME");
    // The next edit is encrypted and pushed; no plaintext ever reaches git, here or there.
    v.write(".pgpass", "db.example.org:5432:app:admin:PGSECRET-TWO\n", 0o600);
    sync_held(v);
    let remote_file = Command::new("git")
        .arg("--git-dir")
        .arg(remote)
        .args(["show", "main:encrypted_private_dot_pgpass.age"])
        .output()
        .unwrap();
    assert!(stdout(&remote_file).starts_with("-----BEGIN AGE ENCRYPTED FILE-----"), "{}", show(&remote_file));
    for history in [history_text(&v.store()), history_text(remote)] {
        assert!(!history.contains("PGSECRET"), "no plaintext of ~/.pgpass in any git object");
    }
    let (_, err) = v.fails(&["apply"]);
    assert!(err.contains("private_dot_my.cnf"), "{err}");
    assert_eq!(v.read(".pgpass"), "db.example.org:5432:app:admin:PGSECRET-TWO\n");
}

#[test]
fn a_pushed_rename_to_a_plain_entry_is_not_fast_forwarded_over_an_encrypted_file() {
    let (v, remote) = victim();
    attack(&v.root, &remote);
    let out = sync_held(&v);
    check_after_attack(&v, &remote, &out);
}

#[test]
fn a_pushed_rename_to_a_plain_entry_is_not_merged_over_an_encrypted_file() {
    let (v, remote) = victim();
    attack(&v.root, &remote);
    v.write(".zshrc", "z\nlocal edit\n", 0o644);
    let out = sync_held(&v);
    assert_eq!(v.read(".zshrc"), "z\nlocal edit\n");
    check_after_attack(&v, &remote, &out);
}

#[test]
fn capture_encrypts_a_secret_whose_store_entry_is_plain() {
    let v = TestEnv::new();
    v.init();
    // A plain entry for a file the secret rules call secret, committed by hand past the guard.
    fs::write(v.store().join("private_dot_pgpass"), "old, not yet secret\n").unwrap();
    git_by_hand(&v, &["add", "private_dot_pgpass"]);
    git_by_hand(&v, &["commit", "-q", "--no-verify", "-m", "by hand"]);
    v.ok(&["apply"]);
    v.write(".pgpass", SECRET, 0o600);
    v.ok(&["commit"]);
    assert!(v.store().join("encrypted_private_dot_pgpass.age").is_file(), "re-encrypted under the encrypted name");
    assert!(!v.store().join("private_dot_pgpass").exists());
    assert!(!history_text(&v.store()).contains("PGSECRET"), "the plaintext never reached git");
    assert_eq!(v.read(".pgpass"), SECRET);
}
