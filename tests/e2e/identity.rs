//! An edit to a secret is captured without a usable identity (encrypting needs the recipients
//! only), a merge that needs one waits for it with nothing dropped, and every command says why
//! an identity is unusable.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const NETRC: &str = "encrypted_private_dot_netrc.age";

/// How a device's identity file stops working.
#[derive(Clone, Copy, Debug)]
enum Broken {
    Missing,
    Corrupted,
    Loose,
}

/// Breaks `env`'s identity file; returns a private copy of the key (for the age CLI) and what
/// `status` and `keys list` must say about it.
fn break_identity(env: &TestEnv, how: Broken) -> (PathBuf, &'static str) {
    let id = env.identity_file();
    let kept = env.root.join("kept-identity.txt");
    fs::copy(&id, &kept).unwrap();
    fs::set_permissions(&kept, fs::Permissions::from_mode(0o600)).unwrap();
    let says = match how {
        Broken::Missing => {
            fs::remove_file(&id).unwrap();
            "has no identity"
        }
        Broken::Corrupted => {
            fs::write(&id, "this is not a key\n").unwrap();
            "line 1: not an age X25519 identity"
        }
        Broken::Loose => {
            fs::set_permissions(&id, fs::Permissions::from_mode(0o644)).unwrap();
            "are too open"
        }
    };
    (kept, says)
}

/// The plaintext of `path` at `rev` in `store`'s history, decrypted by the age CLI.
fn decrypt_at(store: &Path, rev: &str, path: &str, identity: &Path) -> String {
    let blob = Command::new("git").args(["show", &format!("{rev}:{path}")]).current_dir(store).output().unwrap();
    assert!(blob.status.success(), "{}", show(&blob));
    let cipher = store.parent().unwrap().join("cipher.age");
    fs::write(&cipher, &blob.stdout).unwrap();
    let out = Command::new("age").arg("-d").arg("-i").arg(identity).arg(&cipher).output().unwrap();
    assert!(out.status.success(), "age -d: {}", show(&out));
    stdout(&out)
}

fn identity_less_capture(how: Broken) {
    if !require("age") {
        return;
    }
    let env = TestEnv::new();
    env.init();
    env.write(".netrc", "machine one password 1\n", 0o600);
    env.ok(&["add", ".netrc"]);
    env.ok(&["commit"]);
    let (kept, says) = break_identity(&env, how);

    env.write(".netrc", "machine one password 2\n", 0o600);
    let out = env.ok(&["commit"]);
    assert!(stderr(&out).contains("1 captured from HOME"), "{how:?}: {}", show(&out));
    assert_eq!(decrypt_at(&env.store(), "HEAD", NETRC, &kept), "machine one password 2\n", "{how:?}");
    // The ciphertext capture wrote is known without decrypting: the next edit is captured too.
    env.write(".netrc", "machine one password 3\n", 0o600);
    let out = env.ok(&["commit"]);
    assert!(stderr(&out).contains("1 captured from HOME"), "{how:?}: {}", show(&out));
    assert_eq!(decrypt_at(&env.store(), "HEAD", NETRC, &kept), "machine one password 3\n", "{how:?}");
    assert!(!history_text(&env.store()).contains("password 3"), "never in plaintext in git");

    // Nothing is locked while the store holds what this device wrote; `keys list` says why the
    // identity is unusable all the same.
    let status = env.ok(&["status"]);
    assert!(stdout(&status).contains("Up to date"), "{how:?}: {}", show(&status));
    let keys = env.ok(&["keys", "list"]);
    let text = format!("{}{}", stdout(&keys), stderr(&keys));
    assert!(text.contains(says), "{how:?}: keys list says why: {text}");
    assert!(!text.contains("no identity yet"), "{how:?}: {text}");
    if let Broken::Loose = how {
        for out in [&status, &keys] {
            let err = stderr(out);
            assert!(err.contains("warning:") && err.contains("identity.txt") && err.contains("0644"), "{err}");
        }
    }
}

#[test]
fn an_edit_to_a_secret_is_committed_with_the_identity_missing() {
    identity_less_capture(Broken::Missing);
}

#[test]
fn an_edit_to_a_secret_is_committed_with_the_identity_corrupted() {
    identity_less_capture(Broken::Corrupted);
}

#[test]
fn an_edit_to_a_secret_is_committed_with_a_loose_identity_and_every_command_warns() {
    identity_less_capture(Broken::Loose);
}

/// Two devices sharing `.netrc`; `b` is a recipient and has applied it.
fn secret_pair() -> (TestEnv, TestEnv, PathBuf) {
    let (a, b, remote) = crate::sync::pair();
    a.admit(&b, "b");
    a.write(".netrc", "machine one password 1\nmachine two password 2\nmachine three password 3\n", 0o600);
    a.ok(&["add", ".netrc"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(b.read(".netrc"), "machine one password 1\nmachine two password 2\nmachine three password 3\n");
    (a, b, remote)
}

#[test]
fn a_merge_waits_for_the_identity_and_takes_up_with_nothing_dropped() {
    let (a, b, _) = secret_pair();
    let id = b.identity_file();
    let key = fs::read(&id).unwrap();
    fs::write(&id, "corrupted\n").unwrap();

    // The store moves on while b cannot decrypt: its live file stays as it was.
    a.write(".netrc", "machine one password ONE\nmachine two password 2\nmachine three password 3\n", 0o600);
    a.ok(&["sync"]);
    let out = b.cmd(&["sync"]).output().unwrap();
    assert_eq!(b.read(".netrc"), "machine one password 1\nmachine two password 2\nmachine three password 3\n");
    assert!(stderr(&out).contains("left ~/.netrc alone"), "{}", show(&out));

    // An edit on b now waits for the identity: reported, and the exit code says so.
    b.write(".netrc", "machine one password 1\nmachine two password 2\nmachine three password THREE\n", 0o600);
    let (code, err) = b.fails(&["sync"]);
    assert_ne!(code, 0);
    assert!(err.contains("~/.netrc was not captured") && err.contains("merging the two needs an identity"), "{err}");
    assert!(err.contains("line 1"), "names why the identity is unusable: {err}");
    let (_, err) = b.fails(&["commit"]);
    assert!(err.contains("could not be captured"), "{err}");
    let status = b.ok(&["status"]);
    let text = format!("{}{}", stdout(&status), stderr(&status));
    assert!(text.contains("waits for this device's identity") && text.contains("~/.netrc"), "{}", show(&status));
    assert!(text.contains("line 1: not an age X25519 identity"), "status says why: {}", show(&status));
    // a syncs again meanwhile: nothing of b's is lost or half-merged.
    a.ok(&["sync"]);
    b.cmd(&["sync"]).output().unwrap();

    // The identity is back: the next sync merges both edits, on both devices.
    fs::write(&id, &key).unwrap();
    let out = b.ok(&["sync"]);
    assert!(stderr(&out).contains("both changes were merged"), "{}", show(&out));
    let want = "machine one password ONE\nmachine two password 2\nmachine three password THREE\n";
    assert_eq!(b.read(".netrc"), want);
    a.ok(&["sync"]);
    assert_eq!(a.read(".netrc"), want);
    assert!(!history_text(&store_of(&a)).contains("THREE"), "never in plaintext in git");
}

#[test]
fn a_file_that_gains_a_token_is_said_to_be_encrypted_from_now_on() {
    let env = TestEnv::new();
    env.init();
    env.write(".bashrc", "alias ll='ls -l'\n", 0o644);
    env.ok(&["add", ".bashrc"]);
    env.ok(&["commit"]);
    let token = format!("ghp_{}", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8");
    env.write(".bashrc", &format!("alias ll='ls -l'\nexport GITHUB_TOKEN={token}\n"), 0o644);
    let out = env.ok(&["commit"]);
    let err = stderr(&out);
    assert!(err.contains("~/.bashrc now holds a secret (holds a"), "{err}");
    assert!(err.contains("it is stored encrypted from now on"), "{err}");
    assert!(!history_text(&env.store()).contains(&token));
}
