//! Sync between devices through bare remotes (local paths; `sync` is not in --help yet).

use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bare(env: &TestEnv, name: &str) -> PathBuf {
    let p = env.root.join(name);
    assert!(Command::new("git").args(["init", "-q", "--bare", "-b", "main"]).arg(&p).status().unwrap().success());
    p
}

/// Device `name`: a clone of `remote` as its store.
fn device_from(remote: &Path, name: &str) -> TestEnv {
    let env = TestEnv::new();
    let store = env.root.join("store");
    let out = Command::new("git").arg("clone").arg("-q").arg(remote).arg(&store).envs(env.envs()).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    env.join(name, &store);
    env
}

fn store_of(env: &TestEnv) -> PathBuf {
    let cfg = fs::read_to_string(env.config_home.join("dotback/config.toml")).unwrap();
    let line = cfg.lines().find(|l| l.starts_with("source")).unwrap();
    PathBuf::from(line.split('"').nth(1).unwrap())
}

/// Two devices sharing one bare remote, with `.zshrc` synced.
fn pair() -> (TestEnv, TestEnv, PathBuf) {
    let a = TestEnv::new();
    a.init();
    let remote = bare(&a, "remote.git");
    a.write(".zshrc", "one\ntwo\nthree\nfour\nfive\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    a.ok(&["sync"]);
    let b = device_from(&remote, "b"); // the clone has `origin` already
    b.ok(&["apply"]);
    assert_eq!(b.read(".zshrc"), "one\ntwo\nthree\nfour\nfive\n");
    (a, b, remote)
}

#[test]
fn edits_on_two_devices_merge_and_converge() {
    let (a, b, _) = pair();
    a.write(".zshrc", "ONE\ntwo\nthree\nfour\nfive\n", 0o644);
    b.write(".zshrc", "one\ntwo\nthree\nfour\nFIVE\n", 0o644);
    b.write(".vimrc", "set nu\n", 0o644);
    b.ok(&["add", ".vimrc"]);
    a.ok(&["sync"]);
    let out = b.ok(&["sync"]);
    assert!(!stderr(&out).contains("conflict"), "{}", show(&out));
    assert_eq!(b.read(".zshrc"), "ONE\ntwo\nthree\nfour\nFIVE\n");
    a.ok(&["sync"]);
    assert_eq!(a.read(".zshrc"), "ONE\ntwo\nthree\nfour\nFIVE\n");
    assert_eq!(a.read(".vimrc"), "set nu\n");
    assert_eq!(snapshot(&a.home), snapshot(&b.home));
    let msg = stdout(&b.git_in(&store_of(&b), &["log", "-1", "--format=%B"]));
    assert!(msg.contains("merge origin") && msg.contains("Device: b"), "{msg}");
}

#[test]
fn a_conflict_keeps_the_local_version_live_and_the_other_beside_it() {
    let (a, b, _) = pair();
    a.write(".zshrc", "one\nfrom a\nthree\nfour\nfive\n", 0o644);
    b.write(".zshrc", "one\nfrom b\nthree\nfour\nfive\n", 0o644);
    a.ok(&["sync"]);
    let out = b.ok(&["sync"]);
    assert!(stderr(&out).contains("conflict"), "{}", show(&out));
    assert_eq!(b.read(".zshrc"), "one\nfrom b\nthree\nfour\nfive\n", "no markers in a live file");
    let copies: Vec<_> = fs::read_dir(&b.home)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!(".zshrc.dotback-conflict-{DEVICE}-")))
        .collect();
    assert_eq!(copies.len(), 1, "the other side's version is beside it");
    assert_eq!(fs::read_to_string(copies[0].path()).unwrap(), "one\nfrom a\nthree\nfour\nfive\n");
    // The conflict is committed, so every device sees it and both converge on the same tree,
    // each version in a file of its own until it is settled.
    a.ok(&["sync"]);
    assert_eq!(fs::read_to_string(a.home.join(copies[0].file_name())).unwrap(), "one\nfrom a\nthree\nfour\nfive\n");
    assert_eq!(snapshot(&a.home), snapshot(&b.home));
}

#[test]
fn encrypted_files_merge_as_plaintext() {
    let (a, b, _) = pair();
    a.admit(&b, "b");
    a.write(".netrc", "machine one password 1\nmachine two password 2\nmachine three password 3\n", 0o600);
    a.ok(&["add", ".netrc"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(b.read(".netrc"), "machine one password 1\nmachine two password 2\nmachine three password 3\n");
    a.write(".netrc", "machine one password ONE\nmachine two password 2\nmachine three password 3\n", 0o600);
    b.write(".netrc", "machine one password 1\nmachine two password 2\nmachine three password THREE\n", 0o600);
    a.ok(&["sync"]);
    let out = b.ok(&["sync"]);
    assert!(!stderr(&out).contains("conflict"), "{}", show(&out));
    let want = "machine one password ONE\nmachine two password 2\nmachine three password THREE\n";
    assert_eq!(b.read(".netrc"), want);
    a.ok(&["sync"]);
    assert_eq!(a.read(".netrc"), want);
    let cipher = fs::read_to_string(store_of(&b).join("encrypted_private_dot_netrc.age")).unwrap();
    assert!(cipher.starts_with("-----BEGIN AGE ENCRYPTED FILE-----") && !cipher.contains("THREE"));
}

#[test]
fn a_modification_survives_a_delete_on_the_other_side() {
    let (a, b, _) = pair();
    a.ok(&["forget", ".zshrc"]);
    b.write(".zshrc", "one\ntwo\nthree\nfour\nfive\nsix\n", 0o644);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert!(store_of(&b).join("dot_zshrc").is_file(), "the modification is kept");
    let out = a.ok(&["sync"]);
    assert_eq!(fs::read_to_string(a.store().join("dot_zshrc")).unwrap(), "one\ntwo\nthree\nfour\nfive\nsix\n");
    // a stopped tracking its copy, so it cannot know whether that copy was edited: left alone.
    assert_eq!(a.read(".zshrc"), "one\ntwo\nthree\nfour\nfive\n");
    assert!(stderr(&out).contains("left ~/.zshrc alone"), "{}", show(&out));
}

#[test]
fn an_unreachable_remote_keeps_the_commit_and_a_later_sync_pushes_it() {
    let (a, _b, remote) = pair();
    let moved = a.root.join("unplugged.git");
    fs::rename(&remote, &moved).unwrap();
    a.write(".zshrc", "offline edit\n", 0o644);
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("could not reach origin") && err.contains("local commit is safe"), "{err}");
    let log = stdout(&a.git(&["log", "-1", "--format=%s"]));
    assert!(log.contains("~/.zshrc"), "committed locally: {log}");
    fs::rename(&moved, &remote).unwrap();
    a.ok(&["sync"]);
    let pushed = Command::new("git").args(["log", "-1", "--format=%s", "main"]).current_dir(&remote).output().unwrap();
    assert!(stdout(&pushed).contains("~/.zshrc"), "{}", show(&pushed));
}

#[test]
fn a_remote_with_an_unrelated_history_is_refused() {
    let (a, _b, remote) = pair();
    fs::remove_dir_all(&remote).unwrap();
    let other = TestEnv::new();
    other.ok(&["init", "--device", "elsewhere", "--passphrase-file", other.passphrase_file().to_str().unwrap()]);
    assert!(
        Command::new("git").args(["clone", "-q", "--bare"]).arg(other.store()).arg(&remote).status().unwrap().success()
    );
    let before = stdout(&a.git(&["rev-parse", "HEAD"]));
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 1);
    assert!(err.contains("unrelated") && err.contains("origin"), "{err}");
    assert_eq!(stdout(&a.git(&["rev-parse", "HEAD"])), before, "nothing merged");
}
