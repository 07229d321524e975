//! No symbolic link inside the store is followed by dotback's own reads and writes: a link
//! planted at the audit trail, at `.chezmoiignore` or as `.dotback` itself (by a plain `git
//! pull` or by another process on the machine) makes every command refuse the store, naming the
//! link, and the file it points at is neither changed nor copied into git nor printed.
//! (A fetched commit carrying a link is refused before that; these are the defences behind it.)

use crate::common::*;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the file outside every dotback place holds; shaped like a line `.chezmoiignore` refuses
/// (an absolute path), so a parser that read it through a link would quote it in its error.
const SECRET: &str = "/srv/db password=hunter2-outside\n";
const TOKEN: &str = "hunter2-outside";

/// The victim (`DEVICE`) syncing `~/.zshrc` with a bare remote, and a file outside HOME, the
/// store and dotback's own directories holding a password.
fn victim() -> (TestEnv, PathBuf, PathBuf) {
    let v = TestEnv::new();
    v.init();
    let remote = bare(&v, "remote.git");
    v.write(".zshrc", "one\n", 0o644);
    v.ok(&["add", ".zshrc"]);
    v.ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    v.ok(&["sync"]);
    let outside = v.root.join("outside/db.txt");
    fs::create_dir_all(outside.parent().unwrap()).unwrap();
    fs::write(&outside, SECRET).unwrap();
    (v, remote, outside)
}

/// Runs `args` in `v`, which must fail naming `link` as a symbolic link without showing the secret.
fn refused(v: &TestEnv, args: &[&str], link: &str) -> String {
    let out = v.cmd(args).output().unwrap();
    let text = show(&out);
    assert!(!out.status.success(), "dotback {args:?} must refuse the store:\n{text}");
    assert!(text.contains(link) && text.contains("symbolic link"), "dotback {args:?} names the link:\n{text}");
    assert!(!text.contains(TOKEN), "dotback {args:?} printed the linked file:\n{text}");
    text
}

/// The secret is in no git object of the store or the remote, and its file is as it was.
fn not_leaked(v: &TestEnv, remote: &Path, outside: &Path) {
    assert_eq!(fs::read_to_string(outside).unwrap(), SECRET, "the file outside was changed");
    for repo in [store_of(v), remote.to_path_buf()] {
        assert!(!history_text(&repo).contains(TOKEN), "the secret reached git in {}", repo.display());
    }
}

#[test]
fn a_link_at_the_audit_trail_is_refused_and_nothing_is_appended_or_copied() {
    let (v, remote, outside) = victim();
    let months: Vec<_> = fs::read_dir(store_of(&v).join(".dotback/audit").join(DEVICE)).unwrap().collect();
    assert_eq!(months.len(), 1, "the first sync wrote this month's audit file");
    let audit = months[0].as_ref().unwrap().path();
    let link = format!(".dotback/audit/{DEVICE}/{}", audit.file_name().unwrap().to_str().unwrap());
    assert!(audit.is_file(), "{link}");
    // Another process on the machine swaps the victim's audit file for a link.
    fs::remove_file(&audit).unwrap();
    symlink(&outside, &audit).unwrap();
    let before = remote_head(&remote);
    v.write(".zshrc", "one\ntwo\n", 0o644);
    let err = refused(&v, &["sync"], &link);
    assert!(err.contains("hint:"), "{err}");
    refused(&v, &["status"], &link);
    refused(&v, &["commit"], &link);
    assert_eq!(remote_head(&remote), before, "nothing was pushed");
    not_leaked(&v, &remote, &outside);

    // Once the link is gone, the victim's edit commits and pushes.
    fs::remove_file(&audit).unwrap();
    v.ok(&["sync"]);
    assert_ne!(remote_head(&remote), before);
    let pushed = Command::new("git").arg("--git-dir").arg(&remote).args(["show", "main:dot_zshrc"]).output().unwrap();
    assert_eq!(stdout(&pushed), "one\ntwo\n");
    not_leaked(&v, &remote, &outside);
}

#[test]
fn a_pulled_link_at_chezmoiignore_is_refused_without_printing_its_target() {
    let (v, remote, outside) = victim();
    // Someone with push access alone commits `.chezmoiignore` as a link to the victim's file.
    let attacker = v.root.join("attacker");
    let git = |dir: &Path, args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=Mallory", "-c", "user.email=m@example.org"])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", show(&out));
    };
    git(&v.root, &["clone", "-q", remote.to_str().unwrap(), "attacker"]);
    symlink(&outside, attacker.join(".chezmoiignore")).unwrap();
    git(&attacker, &["add", ".chezmoiignore"]);
    git(&attacker, &["commit", "-qm", "ignore"]);
    git(&attacker, &["push", "-q", "origin", "main"]);
    // The victim pulls it with plain git (which runs no check of dotback's).
    git_by_hand(&v, &["pull", "-q", "--no-rebase", "origin", "main"]);
    assert!(fs::symlink_metadata(store_of(&v).join(".chezmoiignore")).unwrap().is_symlink());
    let pulled = remote_head(&remote);
    v.write(".zshrc", "one\ntwo\n", 0o644);
    for args in [&["sync"][..], &["status"], &["apply"], &["diff"]] {
        refused(&v, args, ".chezmoiignore");
    }
    assert_eq!(remote_head(&remote), pulled, "nothing was pushed");
    not_leaked(&v, &remote, &outside);

    // Removing the link, as the hint says, is all it takes: the next sync commits that and the edit.
    fs::remove_file(store_of(&v).join(".chezmoiignore")).unwrap();
    v.ok(&["sync"]);
    let pushed = Command::new("git").arg("--git-dir").arg(&remote).args(["show", "main:dot_zshrc"]).output().unwrap();
    assert_eq!(stdout(&pushed), "one\ntwo\n");
    not_leaked(&v, &remote, &outside);
}

#[test]
fn a_linked_dotback_directory_is_refused_by_every_command() {
    let (v, remote, outside) = victim();
    let store = store_of(&v);
    // `.dotback` moved out of the store and replaced by a link to it, with the secret beside it.
    let moved = v.root.join("outside/dotback");
    fs::rename(store.join(".dotback"), &moved).unwrap();
    symlink(&moved, store.join(".dotback")).unwrap();
    fs::copy(&outside, moved.join("db.txt")).unwrap();
    let before = (snapshot(&v.root.join("outside")), remote_head(&remote));
    v.write(".zshrc", "one\ntwo\n", 0o644);
    v.write(".vimrc", "set nu\n", 0o644);
    for args in [
        &["sync"][..],
        &["status"],
        &["commit"],
        &["apply"],
        &["add", ".vimrc"],
        &["keys", "list"],
        &["resolve"],
        &["guard", "--staged"],
    ] {
        let err = refused(&v, args, &store.join(".dotback").display().to_string());
        assert!(err.contains("nothing was changed"), "{err}");
    }
    assert_eq!((snapshot(&v.root.join("outside")), remote_head(&remote)), before, "nothing moved");
    not_leaked(&v, &remote, &outside);
}
