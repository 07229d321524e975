//! `dotback resolve`: conflicts made by two devices syncing through a bare remote, settled with
//! --ours, --theirs and --merge, and the settlement reaching the other device.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const BASE: &str = "one\ntwo\nthree\nfour\nfive\n";
const FROM_A: &str = "one\nfrom a\nthree\nfour\nfive\n";
const FROM_B: &str = "one\nfrom b\nthree\nfour\nfive\n";

/// Devices a (`DEVICE`) and b sharing a remote, b holding a conflict on ~/.zshrc: b's version
/// live, a's in the copy (named after a). Returns the copy's name in HOME.
fn conflict() -> (TestEnv, TestEnv, String) {
    let (a, b, out) = zshrc_conflict(BASE, FROM_A, FROM_B);
    assert!(stderr(&out).contains("conflict"), "{}", show(&out));
    let copies = copies_in(&b.home, ".zshrc");
    assert_eq!(copies.len(), 1, "{copies:?}");
    // Both devices hold the conflict (a's version in the copy, b's live) before it is settled.
    a.sync_in_conflict();
    assert_eq!(copies_in(&a.home, ".zshrc"), copies);
    (a, b, copies[0].clone())
}

/// Conflict copies of `name` in `dir`.
fn copies_in(dir: &Path, name: &str) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{name}.dotback-conflict-")))
        .collect();
    out.sort();
    out
}

/// Store files (relative paths) holding `.dotback-conflict-`.
fn store_copies(env: &TestEnv) -> Vec<String> {
    let ls = stdout(&env.git_in(&store_of(env), &["ls-files"]));
    ls.lines().filter(|l| l.contains(".dotback-conflict-")).map(String::from).collect()
}

fn status_json(env: &TestEnv) -> serde_json::Value {
    serde_json::from_slice(&env.ok(&["status", "--json"]).stdout).unwrap()
}

fn last_message(env: &TestEnv) -> String {
    stdout(&env.git_in(&store_of(env), &["log", "-1", "--format=%B"]))
}

/// Syncs b then a (b has the resolution), and checks both ended in the same place.
fn converge(a: &TestEnv, b: &TestEnv) {
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert!(copies_in(&a.home, ".zshrc").is_empty(), "the other device lost the copy too");
    assert!(store_copies(a).is_empty());
    assert_eq!(snapshot(&a.home), snapshot(&b.home));
    for d in [a, b] {
        let v = status_json(d);
        assert_eq!(v["conflicts"].as_array().unwrap().len(), 0, "{v}");
        assert_eq!(v["targets"].as_array().unwrap().len(), 0, "{v}");
    }
}

/// A shell script at `path` (mode 0755).
fn script(path: &Path, body: &str) -> String {
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_string()
}

fn with_editor(env: &TestEnv, editor: &str, args: &[&str]) -> Output {
    env.cmd(args).env("EDITOR", editor).output().unwrap()
}

/// Everything a failed resolve must leave as it was: HOME, the store's files and its HEAD.
fn everything(
    env: &TestEnv,
) -> (std::collections::BTreeMap<String, String>, std::collections::BTreeMap<String, String>, String) {
    let store = store_of(env);
    let mut files = snapshot(&store);
    files.retain(|k, _| !k.starts_with(".git/") && k != ".git");
    (snapshot(&env.home), files, stdout(&env.git_in(&store, &["rev-parse", "HEAD"])))
}

#[test]
fn status_lists_a_conflict_until_ours_settles_it_on_both_devices() {
    let (a, b, copy) = conflict();
    let v = status_json(&b);
    let conflicts = v["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{v}");
    assert_eq!(conflicts[0]["path"], ".zshrc");
    assert_eq!(conflicts[0]["copy"], copy.as_str());
    assert_eq!(conflicts[0]["device"], DEVICE);
    assert!(v["targets"].is_array() && v["uncommitted"].is_array() && v["remotes"].is_array(), "old fields stay: {v}");
    let text = stdout(&b.ok(&["status"]));
    assert!(
        text.contains("dotback resolve PATH --ours|--theirs|--merge") && text.contains(&format!("~/{copy}")),
        "{text}"
    );
    let listed = b.ok(&["resolve"]);
    assert!(
        stdout(&listed).contains(&format!("~/.zshrc: {DEVICE}'s version is in ~/{copy}; ~/.zshrc has this device's")),
        "{}",
        show(&listed)
    );
    // The device that did not merge sees the same conflict.
    assert_eq!(status_json(&a)["conflicts"].as_array().unwrap().len(), 1);

    fs::write(b.home.join(&copy), "edited copy\n").unwrap();
    let out = b.ok(&["resolve", ".zshrc", "--ours"]);
    assert!(stderr(&out).contains("Resolved ~/.zshrc"), "{}", show(&out));
    assert_eq!(b.read(".zshrc"), FROM_B, "the live version stays");
    assert!(!b.home.join(&copy).exists(), "the copy is gone from HOME");
    assert!(store_copies(&b).is_empty(), "and from the store");
    let backups = snapshot(&b.state_home.join("dotback/backups"));
    assert!(backups.iter().any(|(k, v)| k.ends_with(&copy) && v.contains("edited copy")), "{backups:?}");
    let msg = last_message(&b);
    assert!(msg.contains("b: resolve ~/.zshrc") && msg.contains("Device: b"), "{msg}");
    assert!(store_changes(&b).is_empty(), "everything committed");
    assert_eq!(status_json(&b)["conflicts"].as_array().unwrap().len(), 0);
    assert!(!stdout(&b.ok(&["status"])).contains("Conflicts"));
    converge(&a, &b);
    assert_eq!(a.read(".zshrc"), FROM_B);
}

#[test]
fn theirs_takes_the_copy_by_its_own_path_and_keeps_the_mode() {
    let (a, b, copy) = conflict();
    let copy_path = b.home.join(&copy);
    // The user touched up the copy in HOME first: that is the version taken.
    let edited = format!("{FROM_A}edited in the copy\n");
    fs::write(&copy_path, &edited).unwrap();
    b.ok(&["resolve", copy_path.to_str().unwrap(), "--theirs"]);
    assert_eq!(b.read(".zshrc"), edited);
    assert_eq!(fs::metadata(b.home.join(".zshrc")).unwrap().permissions().mode() & 0o777, 0o644);
    assert_eq!(fs::read_to_string(store_of(&b).join("dot_zshrc")).unwrap(), edited);
    assert!(!copy_path.exists() && store_copies(&b).is_empty());
    let backups = snapshot(&b.state_home.join("dotback/backups"));
    assert!(backups.iter().any(|(k, v)| k.ends_with(".zshrc") && v.contains("from b")), "overwritten version saved");
    assert!(last_message(&b).contains(&format!("took {DEVICE}'s version from ~/{copy}")));
    converge(&a, &b);
    assert_eq!(a.read(".zshrc"), edited);
}

#[test]
fn merge_opens_the_markers_in_the_editor_and_takes_the_result() {
    let (a, b, copy) = conflict();
    let seen = b.root.join("seen");
    let editor = script(
        &b.root.join("editor"),
        &format!(
            "cp \"$1\" {seen:?}; stat -c %a \"$1\" > {seen:?}.mode; printf 'one\\nfrom a and b\\nthree\\nfour\\nfive\\n' > \"$1\""
        ),
    );
    let out = with_editor(&b, &editor, &["resolve", ".zshrc", "--merge"]);
    assert!(out.status.success(), "{}", show(&out));
    let marked = fs::read_to_string(&seen).unwrap();
    for part in ["<<<<<<< ~/.zshrc (this device)", "from b", "||||||| base", "\ntwo\n", "=======", "from a", ">>>>>>> "]
    {
        assert!(marked.contains(part), "{part:?} missing from what the editor saw:\n{marked}");
    }
    assert!(marked.starts_with("one\n<<<<<<<") && marked.ends_with("three\nfour\nfive\n"), "{marked}");
    assert_eq!(fs::read_to_string(format!("{}.mode", seen.display())).unwrap().trim(), "600", "private temp copy");
    let merged = "one\nfrom a and b\nthree\nfour\nfive\n";
    assert_eq!(b.read(".zshrc"), merged);
    assert_eq!(fs::read_to_string(store_of(&b).join("dot_zshrc")).unwrap(), merged);
    assert!(!b.home.join(&copy).exists() && store_copies(&b).is_empty());
    assert!(
        !fs::read_dir(&b.home).unwrap().flatten().any(|e| e.file_name().to_string_lossy().contains("dotback-merge"))
    );
    converge(&a, &b);
    assert_eq!(a.read(".zshrc"), merged);
}

#[test]
fn merge_is_refused_when_markers_are_left_the_editor_fails_or_there_is_none() {
    let (_a, b, copy) = conflict();
    let before = everything(&b);
    let keeps = script(&b.root.join("keeps"), "exit 0");
    let out = with_editor(&b, &keeps, &["resolve", ".zshrc", "--merge"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(
        stderr(&out).contains("still has conflict markers") && stderr(&out).contains("nothing was changed"),
        "{}",
        show(&out)
    );
    assert_eq!(everything(&b), before, "markers left: nothing changed, no temp file left");

    let fails = script(&b.root.join("fails"), "printf 'resolved\\n' > \"$1\"; exit 3");
    let out = with_editor(&b, &fails, &["resolve", ".zshrc", "--merge"]);
    assert!(!out.status.success() && stderr(&out).contains("exited with status 3"), "{}", show(&out));
    assert_eq!(everything(&b), before);

    let (code, err) = b.fails(&["resolve", ".zshrc", "--merge"]);
    assert_eq!(code, 1);
    assert!(err.contains("no editor") && err.contains("--ours or --theirs"), "{err}");
    assert_eq!(everything(&b), before);
    assert!(b.home.join(&copy).exists());
}

#[test]
fn a_merge_killed_in_the_editor_leaves_no_plaintext_once_the_next_writer_runs() {
    let (_a, b, copy) = conflict();
    // The editor kills dotback outright (nothing of its own runs) while the merge file is open.
    let killer = script(
        &b.root.join("killer"),
        "p=$PPID\n\
         while [ \"$p\" -gt 1 ] && [ \"$(cat /proc/$p/comm)\" != dotback ]; do p=$(cut -d' ' -f4 /proc/$p/stat); done\n\
         [ \"$(cat /proc/$p/comm)\" = dotback ] && kill -9 \"$p\"",
    );
    let out = with_editor(&b, &killer, &["resolve", ".zshrc", "--merge"]);
    assert_eq!(out.status.code(), None, "killed: {}", show(&out));
    let merge_files = || -> Vec<String> {
        let names = fs::read_dir(&b.home).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned());
        names.filter(|n| n.starts_with(".zshrc.dotback-merge-")).collect()
    };
    let left = merge_files();
    assert_eq!(left.len(), 1, "{left:?}");
    let text = fs::read_to_string(b.home.join(&left[0])).unwrap();
    assert!(text.contains("<<<<<<<") && text.contains("from b"), "the plaintext merge was left: {text}");
    // One named after a process that is alive is not a dead run's, and stays.
    let live = format!(".zshrc.dotback-merge-{}", std::process::id());
    fs::write(b.home.join(&live), "in use\n").unwrap();

    let out = b.ok(&["commit"]);
    assert!(stderr(&out).contains("removed 1 unfinished temporary file"), "{}", show(&out));
    assert_eq!(merge_files(), [live]);
    assert!(b.home.join(&copy).exists(), "the conflict is still there to settle");
}

#[test]
fn merge_tool_from_git_config_gets_base_local_remote_and_merged() {
    let (_a, b, _copy) = conflict();
    let store = store_of(&b);
    b.git_in(&store, &["config", "merge.tool", "pick"]);
    b.git_in(&store, &["config", "mergetool.pick.cmd", "cat \"$BASE\" \"$LOCAL\" \"$REMOTE\" > \"$MERGED\""]);
    let out = with_editor(&b, "false", &["resolve", ".zshrc", "--merge"]);
    assert!(out.status.success(), "merge.tool is used, not $EDITOR: {}", show(&out));
    assert_eq!(b.read(".zshrc"), format!("{BASE}{FROM_B}{FROM_A}"));
    assert!(!fs::read_dir(&b.home).unwrap().flatten().any(|e| e.file_name().to_string_lossy().contains(".dotback-")));
}

#[test]
fn an_encrypted_conflict_resolved_with_theirs_stays_encrypted() {
    let a = TestEnv::new();
    a.init();
    let remote = bare(&a, "remote.git");
    a.ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    a.write(".netrc", "machine one password base-secret\n", 0o600);
    a.ok(&["add", ".netrc"]);
    a.ok(&["sync"]);
    let b = device_from(&remote, "b");
    a.admit(&b, "b");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(b.read(".netrc"), "machine one password base-secret\n");
    a.write(".netrc", "machine one password aaa-secret-token\n", 0o600);
    b.write(".netrc", "machine one password bbb-secret-token\n", 0o600);
    a.ok(&["sync"]);
    let out = b.sync_in_conflict();
    assert!(stderr(&out).contains("conflict"), "{}", show(&out));
    let copies = copies_in(&b.home, ".netrc");
    assert_eq!(copies.len(), 1);
    a.sync_in_conflict();
    assert_eq!(copies_in(&a.home, ".netrc"), copies);
    assert_eq!(status_json(&b)["conflicts"][0]["path"], ".netrc");

    b.ok(&["resolve", ".netrc", "--theirs"]);
    assert_eq!(b.read(".netrc"), "machine one password aaa-secret-token\n");
    assert_eq!(fs::metadata(b.home.join(".netrc")).unwrap().permissions().mode() & 0o777, 0o600);
    let cipher = fs::read_to_string(store_of(&b).join("encrypted_private_dot_netrc.age")).unwrap();
    assert!(cipher.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"), "{cipher}");
    assert!(store_copies(&b).is_empty() && !b.home.join(&copies[0]).exists());
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(a.read(".netrc"), "machine one password aaa-secret-token\n", "a decrypts the resolution");
    assert!(copies_in(&a.home, ".netrc").is_empty());
    for d in [&a, &b] {
        let store = store_of(d);
        let history = stdout(&d.git_in(&store, &["log", "--all", "-p", "--format="]));
        for secret in ["aaa-secret-token", "bbb-secret-token", "base-secret"] {
            assert!(!history.contains(secret), "{secret} is in git in plaintext");
            assert!(store_blob_contains(&store, secret.as_bytes()).is_empty(), "{secret} is in a blob");
        }
    }
}

/// Blobs (history and index) holding `needle`.
fn store_blob_contains(store: &Path, needle: &[u8]) -> Vec<String> {
    let objects = Command::new("git").args(["rev-list", "--objects", "--all"]).current_dir(store).output().unwrap();
    let mut ids: Vec<String> = stdout(&objects).lines().map(|l| l.split(' ').next().unwrap().to_string()).collect();
    let staged = Command::new("git").args(["ls-files", "-s"]).current_dir(store).output().unwrap();
    ids.extend(stdout(&staged).lines().filter_map(|l| l.split_whitespace().nth(1).map(String::from)));
    ids.into_iter()
        .filter(|id| {
            let blob = Command::new("git").args(["cat-file", "-p", id]).current_dir(store).output().unwrap().stdout;
            blob.windows(needle.len()).any(|w| w == needle)
        })
        .collect()
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let (a, b, copy) = conflict();
    let before = everything(&b);
    let (code, err) = b.fails(&["resolve", ".nothing", "--ours"]);
    assert_eq!(code, 1);
    assert!(err.contains("~/.nothing has no conflict") && err.contains("`dotback resolve` lists"), "{err}");
    let (code, err) = b.fails(&["resolve", "--theirs"]);
    assert_eq!(code, 2, "{err}");
    let (code, err) = b.fails(&["resolve", ".zshrc"]);
    assert_eq!(code, 2);
    assert!(err.contains("--ours, --theirs or --merge"), "{err}");
    let (code, _) = b.fails(&["resolve", ".zshrc", "--ours", "--theirs"]);
    assert_eq!(code, 2, "one way at a time");
    assert_eq!(everything(&b), before);
    assert!(b.home.join(&copy).exists());

    // A second conflict on the same file: two copies.
    b.ok(&["resolve", ".zshrc", "--ours"]); // settle, then conflict twice
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    for round in 0..2 {
        a.write(".zshrc", &format!("one\na{round}\nthree\nfour\nfive\n"), 0o644);
        b.write(".zshrc", &format!("one\nb{round}\nthree\nfour\nfive\n"), 0o644);
        a.synced();
        b.sync_in_conflict();
        a.sync_in_conflict();
    }
    let copies = copies_in(&b.home, ".zshrc");
    assert_eq!(copies.len(), 2, "{copies:?}");
    assert_eq!(status_json(&b)["conflicts"].as_array().unwrap().len(), 2);
    let before = everything(&b);
    let (_, err) = b.fails(&["resolve", ".zshrc", "--theirs"]);
    assert!(err.contains("2 conflict copies") && err.contains(&copies[0]) && err.contains(&copies[1]), "{err}");
    assert_eq!(everything(&b), before);
    let first = b.home.join(&copies[0]);
    let want = fs::read_to_string(&first).unwrap();
    b.ok(&["resolve", first.to_str().unwrap(), "--theirs"]);
    assert_eq!(b.read(".zshrc"), want);
    assert_eq!(copies_in(&b.home, ".zshrc"), [copies[1].clone()], "the other copy stays");
    assert_eq!(status_json(&b)["conflicts"].as_array().unwrap().len(), 1);
    b.ok(&["resolve", ".zshrc", "--ours"]);
    assert!(copies_in(&b.home, ".zshrc").is_empty());
}

#[test]
fn a_binary_conflict_cannot_be_merged_but_can_take_a_side() {
    let (a, b, _) = conflict();
    b.ok(&["resolve", ".zshrc", "--ours"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    fs::write(a.home.join(".blob"), b"base\0data").unwrap();
    a.ok(&["add", ".blob"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    fs::write(a.home.join(".blob"), b"from a\0data").unwrap();
    fs::write(b.home.join(".blob"), b"from b\0data").unwrap();
    a.ok(&["sync"]);
    b.sync_in_conflict();
    let copies = copies_in(&b.home, ".blob");
    assert_eq!(copies.len(), 1);
    a.sync_in_conflict();
    assert_eq!(copies_in(&a.home, ".blob"), copies);
    let before = everything(&b);
    let editor = script(&b.root.join("editor"), "printf 'x\\n' > \"$1\"");
    let out = with_editor(&b, &editor, &["resolve", ".blob", "--merge"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("~/.blob is not text") && err.contains("--ours") && err.contains("--theirs"), "{err}");
    assert_eq!(everything(&b), before);
    b.ok(&["resolve", ".blob", "--theirs"]);
    assert_eq!(fs::read(b.home.join(".blob")).unwrap(), b"from a\0data");
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(fs::read(a.home.join(".blob")).unwrap(), b"from a\0data");
    assert!(copies_in(&a.home, ".blob").is_empty());
}
