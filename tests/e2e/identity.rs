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

#[test]
fn an_edit_captured_without_an_identity_meets_another_and_nothing_is_dropped() {
    if !require("age") {
        return;
    }
    let (a, b, remote) = secret_pair();
    let (kept, _) = break_identity(&b, Broken::Corrupted);
    b.write(".netrc", "machine one password 1\nmachine two password 2\nmachine three password THREE\n", 0o600);
    a.write(".netrc", "machine one password ONE\nmachine two password 2\nmachine three password 3\n", 0o600);
    a.ok(&["sync"]);
    // b's edit is committed and pushed; a's version, which b cannot decrypt to merge, is kept beside it.
    let out = b.sync_in_conflict();
    assert!(stderr(&out).contains("conflict"), "{}", show(&out));
    let pushed = remote_head(&remote).unwrap();
    let store = store_of(&b);
    assert_eq!(decrypt_at(&store, &pushed, NETRC, &kept), b.read(".netrc"));
    let files = stdout(&b.git_in(&store, &["ls-tree", "--name-only", &pushed]));
    let copy = files.lines().find(|l| l.contains("dotback-conflict-")).expect("a conflict copy");
    assert!(decrypt_at(&store, &pushed, copy, &kept).contains("password ONE"));

    // With the identity back, the two merge.
    fs::copy(&kept, b.identity_file()).unwrap();
    b.ok(&["apply"]);
    let out = b.cmd(&["resolve", ".netrc", "--merge"]).env("EDITOR", "true").output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(b.read(".netrc"), "machine one password ONE\nmachine two password 2\nmachine three password THREE\n");
}

/// Marks the child process that runs [`locked_keyring_child`] in a keyring of its own.
const KEYRING_CHILD: &str = "DOTBACK_TEST_LOCKED_KEYRING_CHILD";

/// Locks the keyring's default collection through the Secret Service API, as a screen lock or
/// a timeout does.
fn lock_keyring(bus: &std::ffi::OsStr) {
    let out = Command::new("dbus-send")
        .args(["--session", "--print-reply", "--dest=org.freedesktop.secrets", "/org/freedesktop/secrets"])
        .arg("org.freedesktop.Secret.Service.Lock")
        .arg("array:objpath:/org/freedesktop/secrets/aliases/default")
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .output()
        .unwrap();
    assert!(out.status.success(), "Lock: {}", show(&out));
}

#[test]
fn an_edit_to_a_secret_is_committed_with_the_keyring_locked_or_gone() {
    let tools = ["dbus-run-session", "dbus-send", "gnome-keyring-daemon", "secret-tool", "age"];
    if !tools.iter().all(|t| require(t)) {
        return;
    }
    // A locked keyring is locked for every test on the same bus: this one gets a keyring of its own.
    let with_keyring = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/with-keyring");
    let out = Command::new(with_keyring)
        .arg(std::env::current_exe().unwrap())
        .args(["identity::locked_keyring_child", "--exact", "--ignored", "--nocapture"])
        .env(KEYRING_CHILD, "1")
        .output()
        .unwrap();
    assert!(out.status.success() && stdout(&out).contains("1 passed"), "{}", show(&out));
}

#[test]
#[ignore = "run in a keyring of its own by an_edit_to_a_secret_is_committed_with_the_keyring_locked_or_gone"]
fn locked_keyring_child() {
    assert_eq!(std::env::var(KEYRING_CHILD).as_deref(), Ok("1"), "started by its parent test only");
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").expect("with-keyring gives a session bus");
    let device = "locked";
    let env = TestEnv::new();
    let run = |args: &[&str], bus: &std::ffi::OsStr| {
        let mut c = env.cmd(args);
        c.env("DBUS_SESSION_BUS_ADDRESS", bus);
        c.output().unwrap()
    };
    let pass = env.passphrase_file();
    let out =
        run(&["init", "--device", device, "--identity", "keyring", "--passphrase-file", pass.to_str().unwrap()], &bus);
    assert!(out.status.success(), "{}", show(&out));
    let secret = Command::new("secret-tool")
        .args(["lookup", "service", "dotback", "username", &format!("identity:{device}")])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus)
        .output()
        .unwrap();
    let kept = env.root.join("kept-identity.txt");
    fs::write(&kept, &secret.stdout).unwrap();
    fs::set_permissions(&kept, fs::Permissions::from_mode(0o600)).unwrap();
    env.write(".netrc", "machine one password 1\n", 0o600);
    assert!(run(&["add", ".netrc"], &bus).status.success());
    assert!(run(&["commit"], &bus).status.success());

    lock_keyring(&bus);
    let gone = std::ffi::OsString::from("unix:path=/nonexistent/dotback-test/bus");
    for (round, bus) in [(2, &bus), (3, &gone)] {
        env.write(".netrc", &format!("machine one password {round}\n"), 0o600);
        let out = run(&["commit"], bus);
        assert!(out.status.success() && stderr(&out).contains("1 captured from HOME"), "{}", show(&out));
        assert_eq!(decrypt_at(&env.store(), "HEAD", NETRC, &kept), format!("machine one password {round}\n"));
        let keys = run(&["keys", "list", "--json"], bus);
        let v: serde_json::Value = serde_json::from_slice(&keys.stdout).unwrap();
        let why = v["this_device"]["identity_problem"].as_str().unwrap_or_default().to_string();
        eprintln!("round {round}: {why}");
        assert!(why.contains("no usable OS keyring"), "round {round}: {why}");
        if round == 2 {
            assert!(why.contains("locked"), "says the keyring is locked: {why}");
        }
        // Setting `identity = "file"` alone would leave no identity: the hint moves it first.
        assert!(why.contains(&format!("identity:{device} > $XDG_CONFIG_HOME/dotback/identity.txt")), "{why}");
    }
}
