//! Sync between devices through bare remotes on local paths (ssh: sync_ssh.rs).

use crate::common::*;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// Two devices sharing one bare remote, with `.zshrc` synced.
pub(crate) fn pair() -> (TestEnv, TestEnv, PathBuf) {
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
    let out = b.sync_in_conflict();
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
    a.sync_in_conflict();
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
fn a_modification_survives_a_forget_on_the_other_side() {
    let (a, b, _) = pair();
    a.ok(&["forget", ".zshrc"]);
    b.write(".zshrc", "one\ntwo\nthree\nfour\nfive\nsix\n", 0o644);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert!(store_of(&b).join("dot_zshrc").is_file(), "the modification is kept");
    let out = a.ok(&["sync"]);
    assert_eq!(fs::read_to_string(a.store().join("dot_zshrc")).unwrap(), "one\ntwo\nthree\nfour\nfive\nsix\n");
    // a stopped tracking its copy, so the store's version is the one to have; a's copy is
    // saved first.
    assert_eq!(a.read(".zshrc"), "one\ntwo\nthree\nfour\nfive\nsix\n");
    assert!(stderr(&out).contains("What sync overwrote or removed in HOME is saved in"), "{}", show(&out));
    assert_eq!(backed_up(&a, ".zshrc"), ["one\ntwo\nthree\nfour\nfive\n"]);
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
    assert_eq!(code, 6);
    assert!(err.contains("unrelated") && err.contains("origin"), "{err}");
    assert_eq!(stdout(&a.git(&["rev-parse", "HEAD"])), before, "nothing merged");
}

/// Syncs `d`; a path changed on both sides (an untracked leftover edited while the store
/// changed it) is settled as a user would, keeping HOME's version, and deletions the guard
/// holds are confirmed; then it syncs again.
fn settle_sync(d: &TestEnv, what: &str) {
    let out = d.cmd(&["sync"]).output().unwrap();
    if matches!(out.status.code(), Some(0 | CONFLICTS)) {
        return;
    }
    let err = stderr(&out);
    if out.status.code() == Some(7) {
        // Most of what is tracked was deleted at once: the user meant it.
        assert!(err.contains("none of the deletions was recorded"), "{what}: {}", show(&out));
        d.cmd(&["commit", "--allow-deletions"]).output().unwrap();
        return settle_sync(d, &format!("{what}, after allowing the deletions"));
    }
    let both: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("warning: ~/")?.split(" was not captured: changed in both").next())
        .filter(|p| !p.contains(' '))
        .collect();
    assert!(!both.is_empty(), "{what}: {}", show(&out));
    let mut args = vec!["add"];
    args.extend(&both);
    d.ok(&args);
    // Settling one path can reveal another; a user would go on until sync is clean.
    settle_sync(d, &format!("{what}, after settling {both:?}"));
}

#[test]
fn two_devices_random_edits_never_lose_anything_and_converge() {
    let rounds: u64 = std::env::var("DOTBACK_SYNC_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(500);
    let seed: u64 = std::env::var("DOTBACK_SYNC_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_d07b_ac4b);
    let (a, b, _) = pair();
    a.admit(&b, "b");
    a.write(".netrc", "machine base\n", 0o600);
    a.ok(&["add", ".netrc"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let devices = [&a, &b];
    let mut rng = Rng(seed);
    let mut tokens: Vec<(String, bool)> = Vec::new(); // (token, written to an encrypted file)
    let files = [".zshrc", ".config/app/conf", ".config/app/more", ".inputrc", ".netrc"];
    let mut deletions = 0;
    for round in 0..rounds {
        let d = devices[rng.below(2) as usize];
        let token = format!("tok-{seed:x}-{round}");
        match rng.below(20) {
            // Edit a tracked file: append, or replace a line in the middle.
            0..=7 => {
                let f = files[rng.below(files.len() as u64) as usize];
                let p = d.home.join(f);
                if p.is_file() {
                    let mut text = fs::read_to_string(&p).unwrap();
                    if rng.below(2) == 0 && text.lines().count() > 2 {
                        let lines: Vec<&str> = text.lines().collect();
                        let i = rng.below(lines.len() as u64) as usize;
                        // Replacing keeps the old line's token findable in history.
                        text = lines
                            .iter()
                            .enumerate()
                            .map(|(j, l)| if j == i { format!("{l} {token}\n") } else { format!("{l}\n") })
                            .collect();
                    } else {
                        text.push_str(&format!("{token}\n"));
                    }
                    fs::write(&p, text).unwrap();
                    tokens.push((token, f == ".netrc"));
                }
            }
            // Create and track a file.
            8 | 9 => {
                let f = files[rng.below(files.len() as u64 - 1) as usize];
                if !d.home.join(f).exists() {
                    d.write(f, &format!("created {token}\n"), 0o644);
                    d.ok(&["add", f]);
                    tokens.push((token, false));
                }
            }
            // Delete a tracked file in HOME (or forget it first). Its edits are committed first:
            // a careful user deletes a file that is in sync, not one dotback just said it left
            // alone because both sides changed it.
            10 => {
                let f = files[rng.below(files.len() as u64 - 1) as usize];
                if d.home.join(f).is_file() {
                    d.cmd(&["commit"]).output().unwrap();
                    let st: serde_json::Value = serde_json::from_slice(&d.ok(&["status", "--json"]).stdout).unwrap();
                    let changed = st["targets"].as_array().unwrap().iter().any(|t| t["path"] == *f);
                    let forget = rng.below(3) == 0;
                    if !changed && (!forget || d.cmd(&["forget", f]).output().unwrap().status.success()) {
                        fs::remove_file(d.home.join(f)).unwrap();
                        deletions += 1;
                    }
                }
            }
            // Mode change.
            11 | 12 => {
                let f = files[rng.below(files.len() as u64 - 1) as usize];
                let p = d.home.join(f);
                if p.is_file() {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = if rng.below(2) == 0 { 0o755 } else { 0o644 };
                    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
                }
            }
            _ => settle_sync(d, &format!("round {round} (seed {seed})")),
        }
    }
    // Settle: sync both until nothing moves.
    for _ in 0..3 {
        for d in devices {
            settle_sync(d, &format!("settling (seed {seed})"));
        }
    }
    // Converged: the same store tree, each HOME matches it, and both HOMEs hold the same files
    // (a deletion or a forget on one device removed the other's copy too).
    let tree = |d: &TestEnv| stdout(&d.git_in(&store_of(d), &["rev-parse", "HEAD^{tree}"]));
    assert_eq!(tree(&a), tree(&b), "both stores hold the same tree (seed {seed})");
    for d in devices {
        let v: serde_json::Value = serde_json::from_slice(&d.ok(&["status", "--json"]).stdout).unwrap();
        assert_eq!(v["targets"].as_array().unwrap().len(), 0, "HOME matches the store (seed {seed}): {v}");
    }
    let files_of = |d: &TestEnv| {
        let mut s = snapshot(&d.home);
        s.retain(|_, v| !v.starts_with("dir "));
        s
    };
    assert_eq!(files_of(&a), files_of(&b), "both HOMEs hold the same files (seed {seed})");
    let live = format!("{}{}", all_text(&a.home), all_text(&b.home));
    let history = history_text(&store_of(&a));
    for (token, encrypted) in &tokens {
        let found = live.contains(token.as_str()) || (!encrypted && history.contains(token.as_str()));
        assert!(found, "edit {token} was lost (seed {seed}): not in a live file, a conflict copy or history");
    }
    assert!(tokens.len() as u64 > rounds / 4, "the sequence made enough edits ({})", tokens.len());
    assert!(deletions as u64 > rounds / 50, "the sequence deleted enough files ({deletions})");
}

#[test]
fn status_shows_what_is_not_yet_on_each_remote() {
    let (a, _b, remote) = pair();
    let v: serde_json::Value = serde_json::from_slice(&a.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(v["remotes"][0]["name"], "origin");
    assert_eq!(v["remotes"][0]["ahead"], 0, "{v}");
    let moved = a.root.join("away.git");
    fs::rename(&remote, &moved).unwrap();
    a.write(".zshrc", "offline\n", 0o644);
    a.fails(&["sync"]);
    let v: serde_json::Value = serde_json::from_slice(&a.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(v["remotes"][0]["ahead"], 1, "{v}");
    assert!(v["remotes"][0]["unpushed_since"].as_i64().unwrap() > 1_700_000_000);
    let text = stdout(&a.ok(&["status"]));
    assert!(text.contains("Not yet on remote `origin`: 1 commit, the oldest from"), "{text}");
    fs::rename(&moved, &remote).unwrap();
    a.ok(&["sync"]);
    let v: serde_json::Value = serde_json::from_slice(&a.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(v["remotes"][0]["ahead"], 0, "pushed: {v}");
}

#[test]
fn a_remote_whose_history_was_rewritten_is_refused_until_the_user_decides() {
    let (a, b, remote) = pair();
    b.write(".zshrc", "one\ntwo\nthree\nfour\nfive\nsix\n", 0o644);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    // Someone force-pushes the remote back past b's commit, with a commit of their own.
    let store = store_of(&b);
    let git = |args: &[&str]| git_by_hand(&b, args);
    git(&["reset", "-q", "--hard", "HEAD~1"]);
    fs::write(store.join("dot_rewritten"), "x\n").unwrap();
    git(&["add", "dot_rewritten"]);
    git(&["commit", "-q", "-m", "rewrite"]);
    git(&["push", "-q", "--force", "origin", "main"]);

    // A second remote still syncs: the refusal is for `origin` alone.
    let usb = bare(&a, "usb.git");
    a.ok(&["remote", "add", "usb", usb.to_str().unwrap()]);
    a.write(".vimrc", "set nu\n", 0o644);
    a.ok(&["add", ".vimrc"]);
    let before = stdout(&a.git(&["rev-parse", "HEAD"]));
    for _ in 0..2 {
        let (code, err) = a.fails(&["sync"]);
        assert_eq!(code, 6, "{err}");
        assert!(err.contains("rewritten") && err.contains("origin"), "{err}");
        assert!(!a.home.join(".rewritten").exists(), "nothing merged from origin");
        assert_eq!(
            remote_head(&usb).as_deref(),
            Some(stdout(&a.git(&["rev-parse", "HEAD"])).trim()),
            "usb got the commit"
        );
    }
    assert_ne!(stdout(&a.git(&["rev-parse", "HEAD"])), before, "the local change was committed");
    // Looking at the rewrite with plain git, as the hint says, does not make dotback accept it.
    a.git(&["fetch", "-q", "origin"]);
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "still refused after a git fetch: {err}");
    assert!(!a.home.join(".rewritten").exists());
    assert!(!a.home.join(".rewritten").exists());
    let (code, err) = a.fails(&["sync", "--dry-run"]);
    assert_eq!(code, 6, "the dry run refuses too: {err}");
    assert_eq!(a.read(".zshrc"), "one\ntwo\nthree\nfour\nfive\nsix\n", "nothing lost");

    assert!(err.contains("dotback remote accept origin"), "the way out is named: {err}");

    // Accepting the rewrite is the user's decision: it shows the commit the remote dropped,
    // which this store keeps; the next sync merges both and pushes the dropped commit back.
    let out = a.ok(&["remote", "accept", "origin"]);
    assert!(stdout(&out).contains("Commits remote `origin` no longer has"), "{}", show(&out));
    assert_eq!(stdout(&out).lines().filter(|l| l.starts_with("  ")).count(), 1, "b's commit: {}", show(&out));
    a.ok(&["sync"]);
    assert_eq!(a.read(".zshrc"), "one\ntwo\nthree\nfour\nfive\nsix\n");
    assert_eq!(a.read(".rewritten"), "x\n");
    let v: serde_json::Value = serde_json::from_slice(&a.ok(&["remote", "accept", "origin", "--json"]).stdout).unwrap();
    assert_eq!(v["already"], true, "nothing left to accept: {v}");
    assert_eq!(v["dropped"], serde_json::json!([]), "{v}");
    assert_eq!(remote_head(&remote).as_deref(), Some(stdout(&a.git(&["rev-parse", "HEAD"])).trim()), "pushed");
    b.ok(&["sync"]);
    assert_eq!(b.read(".zshrc"), "one\ntwo\nthree\nfour\nfive\nsix\n", "the dropped edit is back on the remote");
    assert_eq!(b.read(".rewritten"), "x\n");
}

#[test]
fn a_file_decrypted_on_the_other_side_never_takes_this_sides_new_lines_into_plaintext() {
    let (a, b, _) = pair();
    a.admit(&b, "b");
    a.write(".netrc", "machine one password 1\nmachine two password 2\n", 0o600);
    a.ok(&["add", ".netrc"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    // On b, someone stores the file unencrypted with plain git (and edits it).
    let store = store_of(&b);
    let git = |args: &[&str]| git_by_hand(&b, args);
    git(&["rm", "-q", "encrypted_private_dot_netrc.age"]);
    fs::write(store.join("private_dot_netrc"), "machine one password 1\nmachine two password 2\nmachine b x\n")
        .unwrap();
    git(&["add", "private_dot_netrc"]);
    git(&["commit", "-q", "--no-verify", "-m", "decrypt"]);
    git(&["push", "-q", "origin", "main"]);
    // On a, a new secret line.
    a.write(".netrc", "machine one password SECRET-NEW\nmachine two password 2\n", 0o600);
    let out = a.sync_in_conflict();
    assert!(stderr(&out).contains("conflict"), "kept apart: {}", show(&out));
    assert!(a.read(".netrc").contains("SECRET-NEW"), "this side's version stays live");
    assert!(!history_text(&store_of(&a)).contains("SECRET-NEW"), "the new secret never reached git in plaintext");
}
