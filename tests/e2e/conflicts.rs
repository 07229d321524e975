//! A conflict as both devices see it: the device whose edit went into the copy is told at its
//! next sync, `resolve` speaks of this device's and the other device's version wherever each
//! sits, and a sync that leaves a conflict unsettled exits 8.

use crate::common::*;
use std::fs;
use std::path::Path;

const BASE: &str = "one\ntwo\nthree\n";
const FROM_A: &str = "one\nfrom a\nthree\n";
const FROM_B: &str = "one\nfrom b\nthree\n";

/// a (`DEVICE`) and b edit ~/.zshrc apart; a syncs first, so b's sync cannot merge, keeps b's
/// version live and puts a's beside it. Returns the devices, the copy's name and a's next sync.
fn lost_on_a() -> (TestEnv, TestEnv, String, std::process::Output) {
    let (a, b, made) = zshrc_conflict(BASE, FROM_A, FROM_B);
    let copy = copy_of(&b.home);
    let err = stderr(&made);
    assert!(
        err.contains(&format!(
            "~/.zshrc changed here and on {DEVICE}; this device's version stays live, {DEVICE}'s is kept beside it as ~/{copy}"
        )),
        "{}",
        show(&made)
    );
    assert!(copy.starts_with(&format!(".zshrc.dotback-conflict-{DEVICE}-")), "{copy}");
    let told = a.sync_in_conflict();
    (a, b, copy, told)
}

/// The one conflict copy of ~/.zshrc in `home`.
fn copy_of(home: &Path) -> String {
    let copies: Vec<String> = fs::read_dir(home)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".zshrc.dotback-conflict-"))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    copies[0].clone()
}

fn conflicts_json(env: &TestEnv) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&env.ok(&["status", "--json"]).stdout).unwrap();
    v["conflicts"].clone()
}

/// `resolved` (which settled the conflict) syncs, then `other`: both end with no copy and the
/// same ~/.zshrc, syncing with exit 0.
fn settled_everywhere(resolved: &TestEnv, other: &TestEnv, content: &str) {
    resolved.ok(&["sync"]);
    other.ok(&["sync"]);
    for d in [resolved, other] {
        assert_eq!(d.read(".zshrc"), content);
        assert_eq!(conflicts_json(d).as_array().unwrap().len(), 0);
        assert!(
            !fs::read_dir(&d.home).unwrap().flatten().any(|e| e.file_name().to_string_lossy().contains("conflict"))
        );
    }
}

#[test]
fn the_device_whose_edit_lost_is_told_and_ours_takes_it_back() {
    let (a, b, copy, told) = lost_on_a();
    // a's live file now has b's version; a's edit is in the copy, and a is told so.
    assert_eq!(a.read(".zshrc"), FROM_B);
    assert_eq!(fs::read_to_string(a.home.join(&copy)).unwrap(), FROM_A);
    let err = stderr(&told);
    assert!(
        err.contains(&format!(
            "this device's edit of ~/.zshrc could not be merged on b: ~/.zshrc now has b's version, and this device's is in ~/{copy}"
        )),
        "{}",
        show(&told)
    );
    assert!(err.contains("`dotback resolve ~/.zshrc --ours` takes this device's version back"), "{err}");
    assert!(err.contains("1 file in conflict") && err.contains("~/.zshrc"), "{err}");

    // Whose version is where, on each device.
    let on_a = stdout(&a.ok(&["status"]));
    assert!(on_a.contains(&format!("this device's version is in ~/{copy}; ~/.zshrc has the other device's")), "{on_a}");
    let on_b = stdout(&b.ok(&["status"]));
    assert!(on_b.contains(&format!("{DEVICE}'s version is in ~/{copy}; ~/.zshrc has this device's")), "{on_b}");
    assert_eq!(conflicts_json(&a)[0]["holds_this_device"], true);
    assert_eq!(conflicts_json(&b)[0]["holds_this_device"], false);
    assert!(stdout(&a.ok(&["resolve"])).contains("this device's version is in"), "the list says the same");

    // Nothing settled: every sync ends in conflict, and only the first one on a tells the story.
    let again = a.sync_in_conflict();
    assert!(!stderr(&again).contains("could not be merged"), "{}", show(&again));

    let out = a.ok(&["resolve", ".zshrc", "--ours"]);
    assert!(
        stderr(&out).contains(&format!("Resolved ~/.zshrc: took this device's version back from ~/{copy}")),
        "{}",
        show(&out)
    );
    assert_eq!(a.read(".zshrc"), FROM_A, "--ours on a keeps a's text");
    let msg = stdout(&a.git(&["log", "-1", "--format=%B"]));
    assert!(msg.contains("took this device's version back"), "{msg}");
    settled_everywhere(&a, &b, FROM_A);
}

#[test]
fn theirs_on_the_losing_device_keeps_the_other_devices_version() {
    let (a, b, copy, _) = lost_on_a();
    let out = a.ok(&["resolve", ".zshrc", "--theirs"]);
    assert!(
        stderr(&out).contains("Resolved ~/.zshrc: kept b's version (the live file)")
            && stderr(&out).contains(&format!("removed ~/{copy}")),
        "{}",
        show(&out)
    );
    assert_eq!(a.read(".zshrc"), FROM_B);
    settled_everywhere(&a, &b, FROM_B);
}

#[test]
fn on_the_device_that_merged_ours_and_theirs_mean_the_same_devices() {
    let (a, b, copy, _) = lost_on_a();
    let out = b.ok(&["resolve", ".zshrc", "--theirs"]);
    assert!(
        stderr(&out).contains(&format!("Resolved ~/.zshrc: took {DEVICE}'s version from ~/{copy}")),
        "{}",
        show(&out)
    );
    assert_eq!(b.read(".zshrc"), FROM_A);
    settled_everywhere(&b, &a, FROM_A);
}

#[test]
fn merge_on_the_losing_device_labels_each_side_by_device() {
    let (a, b, copy, _) = lost_on_a();
    let seen = a.root.join("seen");
    let editor = a.root.join("editor");
    fs::write(&editor, format!("#!/bin/sh\ncp \"$1\" {seen:?}\nprintf 'one\\nfrom a and b\\nthree\\n' > \"$1\"\n"))
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&editor, fs::Permissions::from_mode(0o755)).unwrap();
    let out = a.cmd(&["resolve", ".zshrc", "--merge"]).env("EDITOR", &editor).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let marked = fs::read_to_string(&seen).unwrap();
    let ours = format!("<<<<<<< ~/{copy} (this device)\nfrom a\n");
    assert!(marked.contains(&ours) && marked.contains(">>>>>>> ~/.zshrc (b)"), "{marked}");
    settled_everywhere(&a, &b, "one\nfrom a and b\nthree\n");
}

#[test]
fn a_refused_remote_outranks_an_unsettled_conflict() {
    let (a, _b, _, _) = lost_on_a();
    let other = TestEnv::new();
    other.ok(&["init", "--device", "elsewhere", "--passphrase-file", other.passphrase_file().to_str().unwrap()]);
    let unrelated = a.root.join("unrelated.git");
    let cloned = std::process::Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(other.store())
        .arg(&unrelated)
        .status()
        .unwrap();
    assert!(cloned.success());
    a.ok(&["remote", "add", "usb", unrelated.to_str().unwrap()]);
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    let (code, err) = a.fails(&["sync", "--remote", "origin", "--dry-run"]);
    assert_eq!(code, CONFLICTS, "a dry run ends as the sync would: {err}");
}
