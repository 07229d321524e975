//! Around sync: the dry run, the audit trail, `push`, and the git hooks for plain `git` use.

use crate::common::*;
use crate::sync::pair;
use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

fn git(env: &TestEnv, args: &[&str]) -> std::process::Output {
    git_by_hand(env, args)
}

fn head(env: &TestEnv) -> String {
    stdout(&git(env, &["rev-parse", "HEAD"])).trim().to_string()
}

/// The text of `device`'s audit trail, oldest first: one file per month in `.dotback/audit/<device>/`.
fn audit_text(env: &TestEnv, device: &str) -> String {
    let mut files: Vec<_> = fs::read_dir(store_of(env).join(".dotback/audit").join(device))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().map(|f| fs::read_to_string(f).unwrap()).collect()
}

fn audit(env: &TestEnv, device: &str) -> Vec<serde_json::Value> {
    audit_text(env, device).lines().map(|l| serde_json::from_str(l).expect("every audit line is JSON")).collect()
}

/// The store path of the month file holding `record`.
fn audit_file(record: &serde_json::Value) -> String {
    format!(".dotback/audit/{}/{}.jsonl", record["device"].as_str().unwrap(), &record["time"].as_str().unwrap()[..7])
}

#[test]
fn a_dry_run_shows_what_sync_would_do_and_changes_nothing() {
    let (a, b, remote) = pair();
    a.write(".zshrc", "one\ntwo\nthree\nfour\nFIVE\n", 0o644);
    a.ok(&["sync"]);
    b.write(".zshrc", "ONE\ntwo\nthree\nfour\nfive\n", 0o644);
    b.write(".vimrc", "set nu\n", 0o644);
    b.ok(&["add", ".vimrc"]);
    let (before_head, before_remote) = (head(&b), remote_head(&remote).unwrap_or_default());
    let before_home = snapshot(&b.home);

    let out = b.ok(&["sync", "--dry-run"]);
    let text = stdout(&out);
    assert!(text.contains("Would commit") && text.contains("~/.zshrc"), "{text}");
    assert!(text.contains("Remote `origin`: would merge") && text.contains("would change ~/.zshrc"), "{text}");
    assert!(text.contains("Would push to `origin`"), "{text}");
    assert!(stderr(&out).contains("nothing was committed"), "{}", show(&out));
    assert_eq!(head(&b), before_head, "no commit, no merge");
    assert_eq!(remote_head(&remote).unwrap_or_default(), before_remote, "no push");
    assert_eq!(snapshot(&b.home), before_home, "HOME untouched");
    let syncs = audit(&b, "b").into_iter().filter(|r| r["command"] == "sync").count();
    assert_eq!(syncs, 0, "a dry run is not a sync: no audit record of one");

    // A predicted conflict is named as such.
    a.write(".zshrc", "one\ntwo\nTHREE-A\nfour\nFIVE\n", 0o644);
    a.ok(&["sync"]);
    b.ok(&["sync"]); // merges FIVE and ONE
    a.write(".zshrc", "one\ntwo\nthree-a2\nfour\nFIVE\n", 0o644);
    a.ok(&["sync"]);
    b.write(".zshrc", "ONE\ntwo\nthree-b\nfour\nFIVE\n", 0o644);
    b.ok(&["commit"]);
    let out = b.cmd(&["sync", "--dry-run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(CONFLICTS), "the sync would end in conflict: {}", show(&out));
    let text = stdout(&out);
    assert!(text.contains("conflict") && text.contains(".zshrc.dotback-conflict-"), "{text}");
    assert_eq!(b.read(".zshrc"), "ONE\ntwo\nthree-b\nfour\nFIVE\n");
}

#[test]
fn every_sync_appends_one_audit_record_without_content_and_a_noop_sync_commits_nothing() {
    let (a, _b, remote) = pair();
    let secret = "hunter2-very-secret-token";
    a.write(".netrc", &format!("machine example.org login me password {secret}\n"), 0o600);
    a.ok(&["add", ".netrc"]);
    a.write(".zshrc", "changed\n", 0o644);
    a.ok(&["sync"]);
    let commits = head(&a);

    // Nothing changed anywhere: a line in the audit trail, no commit, no push.
    let out = a.ok(&["sync"]);
    assert!(stderr(&out).contains("Nothing to sync"), "{}", show(&out));
    assert_eq!(head(&a), commits, "a no-op sync makes no commit");
    assert_eq!(remote_head(&remote).unwrap_or_default(), commits);
    let status: serde_json::Value = serde_json::from_slice(&a.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(
        status["uncommitted"].as_array().map(Vec::len),
        Some(0),
        "the audit file is not a pending change: {status}"
    );

    let records = audit(&a, DEVICE);
    // pair() synced once; then two syncs here.
    assert_eq!(records.len(), 3, "{records:?}");
    let last = &records[2];
    assert_eq!(last["device"], DEVICE);
    assert_eq!(last["command"], "sync");
    assert_eq!(last["outcome"], "ok");
    assert_eq!(last["committed"], 0);
    assert_eq!(records[1]["committed"], 2, "{:?}", records[1]);
    assert_eq!(records[1]["pushed"], 1);
    assert!(last["time"].as_str().unwrap().ends_with('Z'));

    // Offline: recorded as such, and the records travel with the next commit.
    let moved = a.root.join("remote-away.git");
    fs::rename(&remote, &moved).unwrap();
    a.write(".zshrc", "offline edit\n", 0o644);
    let (code, _) = a.fails(&["sync"]);
    assert_eq!(code, 5);
    let records = audit(&a, DEVICE);
    assert_eq!(records.last().unwrap()["outcome"], "offline");
    assert_eq!(records.last().unwrap()["remotes_unreachable"][0], "origin");
    fs::rename(&moved, &remote).unwrap();
    let offline = audit_file(records.last().unwrap());
    assert!(store_of(&a).join(&offline).is_file(), "{offline}");
    a.write(".zshrc", "back online\n", 0o644);
    a.ok(&["sync"]);
    let committed =
        Command::new("git").arg("--git-dir").arg(&remote).args(["show", &format!("main:{offline}")]).output().unwrap();
    let on_remote = stdout(&committed);
    assert!(on_remote.contains("\"outcome\":\"offline\""), "earlier records reached the remote: {on_remote}");

    // Never content: no file text, no secret, no URL.
    let raw = audit_text(&a, DEVICE);
    assert!(!raw.contains(secret) && !raw.contains("back online") && !raw.contains(remote.to_str().unwrap()), "{raw}");
}

#[test]
fn an_old_single_audit_file_stays_and_new_records_go_to_the_month_files_without_conflicts() {
    let (a, b, remote) = pair();
    // The layout of earlier versions: one file per device, committed and pushed.
    let old = format!(".dotback/audit/{DEVICE}.jsonl");
    let old_line = r#"{"time":"2023-11-20T12:00:00Z","device":"testbox","command":"sync","outcome":"ok"}"#;
    fs::write(store_of(&a).join(&old), format!("{old_line}\n")).unwrap();
    git(&a, &["add", &old]);
    git(&a, &["commit", "-q", "-m", "an audit file as earlier versions wrote it"]);
    a.write(".zshrc", "one\ntwo\nthree\nfour\nFIVE\n", 0o644);
    a.ok(&["sync"]);
    b.write(".zshrc", "ONE\ntwo\nthree\nfour\nfive\n", 0o644);
    let out = b.ok(&["sync"]);
    assert!(!stderr(&out).contains("conflict"), "{}", show(&out));
    // b's record travels with its next commit.
    b.write(".zshrc", "ONE\ntwo\nthree\nfour\nFIVE\nsix\n", 0o644);
    b.ok(&["sync"]);
    a.ok(&["sync"]);

    let show_remote = |path: &str| {
        let out = Command::new("git").arg("--git-dir").arg(&remote).args(["show", &format!("main:{path}")]).output();
        stdout(&out.unwrap())
    };
    assert_eq!(show_remote(&old), format!("{old_line}\n"), "the old file is never written again");
    for (env, device) in [(&a, DEVICE), (&b, "b")] {
        // The syncs (and the `dotback apply` b ran when it was set up).
        let records: Vec<_> = audit(env, device).into_iter().filter(|r| r["command"] != "apply").collect();
        assert!(!records.is_empty() && records.iter().all(|r| r["command"] == "sync"), "{records:?}");
        let month = audit_file(records.last().unwrap());
        assert!(show_remote(&month).contains("\"outcome\":\"ok\""), "{device}'s month file reached the remote");
    }
    // Each device sees the other's files as they were pushed.
    assert_eq!(fs::read_to_string(store_of(&b).join(&old)).unwrap(), format!("{old_line}\n"));
    let b_last = audit(&b, "b").last().cloned().unwrap();
    assert!(store_of(&a).join(audit_file(&b_last)).is_file());
    for env in [&a, &b] {
        let files = snapshot(&store_of(env).join(".dotback/audit"));
        assert!(files.keys().all(|p| !p.contains("dotback-conflict")), "no conflict copy: {files:?}");
    }
}

#[test]
fn push_sends_commits_made_with_plain_git_and_reports_an_unreachable_remote() {
    let (a, _b, remote) = pair();
    let store = store_of(&a);
    fs::write(store.join("dot_vimrc"), "set nu\n").unwrap();
    git(&a, &["add", "dot_vimrc"]);
    git(&a, &["commit", "-q", "-m", "by hand"]);
    assert_ne!(remote_head(&remote).unwrap_or_default(), head(&a));
    a.ok(&["push"]);
    assert_eq!(remote_head(&remote).unwrap_or_default(), head(&a));

    fs::rename(&remote, a.root.join("away.git")).unwrap();
    let (code, err) = a.fails(&["push"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("origin") && err.contains("dotback status"), "{err}");
}

/// Waits (bounded) for `cond`, which a background process makes true.
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "{what} did not happen within a minute");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn hooks_push_after_a_git_commit_and_apply_after_a_git_pull() {
    let (a, b, remote) = pair();
    a.ok(&["hooks", "install"]);
    b.ok(&["hooks", "install"]);
    for name in ["pre-commit", "post-commit", "post-merge"] {
        let hook = store_of(&a).join(".git/hooks").join(name);
        assert!(fs::read_to_string(&hook).unwrap().contains(&format!("dotback {name} hook")), "{name}");
    }

    // A commit made with git in a's store reaches the remote by itself.
    fs::write(store_of(&a).join("dot_zshrc"), "edited in the store\n").unwrap();
    git(&a, &["commit", "-q", "-am", "edit by hand"]);
    let committed = head(&a);
    eventually("the post-commit push", || remote_head(&remote).unwrap_or_default() == committed);

    // A `git pull` in b's store updates b's HOME.
    git(&b, &["pull", "-q", "--no-rebase", "origin", "main"]);
    assert_eq!(b.read(".zshrc"), "edited in the store\n", "post-merge applied the pull");
    let status: serde_json::Value = serde_json::from_slice(&b.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(status["targets"].as_array().map(Vec::len), Some(0), "{status}");
}

#[test]
fn a_git_merge_left_unfinished_in_the_store_stops_every_writer() {
    let (a, b, remote) = pair();
    a.write(".zshrc", "from a\n", 0o644);
    a.ok(&["sync"]);
    // b edits the same line through git and pulls: a content conflict left in b's store.
    let store = store_of(&b);
    fs::write(store.join("dot_zshrc"), "from b\n").unwrap();
    git(&b, &["commit", "-q", "-am", "b by hand"]);
    let out = Command::new("git")
        .args(["-c", "user.name=S", "-c", "user.email=s@example.org", "pull", "-q", "--no-rebase", "origin", "main"])
        .env_clear()
        .envs(b.envs())
        .current_dir(&store)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the pull conflicts: {}", show(&out));
    let home_before = snapshot(&b.home);
    let remote_before = remote_head(&remote);
    for cmd in [&["sync"][..], &["commit"], &["apply", "--force"]] {
        let (code, err) = b.fails(cmd);
        assert_eq!(code, 1, "{cmd:?}: {err}");
        assert!(err.contains("a merge is in progress") && err.contains("git"), "{cmd:?}: {err}");
    }
    assert_eq!(snapshot(&b.home), home_before, "no conflict markers reached HOME");
    assert_eq!(remote_head(&remote), remote_before, "nothing pushed");
    // Readers still work and say what is going on.
    b.ok(&["status"]);
}

#[test]
fn a_path_that_cannot_be_captured_does_not_hide_an_unreachable_remote() {
    let (a, _b, remote) = pair();
    fs::write(store_of(&a).join("dot_zshrc"), "edited in the store\n").unwrap();
    git(&a, &["commit", "-q", "-am", "store edit"]);
    a.write(".zshrc", "edited in HOME\n", 0o644); // now changed on both sides
    fs::rename(&remote, a.root.join("away.git")).unwrap();
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 5, "the remote's trouble sets the exit code: {err}");
    assert!(err.contains("origin") && err.contains("~/.zshrc"), "both are reported: {err}");
    assert_eq!(a.read(".zshrc"), "edited in HOME\n", "the HOME edit is kept");
}
