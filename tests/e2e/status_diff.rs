use crate::common::*;
use std::fs;

fn status_json(env: &TestEnv) -> serde_json::Value {
    serde_json::from_slice(&env.ok(&["status", "--json"]).stdout).unwrap()
}

fn change_of(v: &serde_json::Value, path: &str) -> Option<String> {
    v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["path"] == path)
        .map(|t| t["change"].as_str().unwrap().to_string())
}

#[test]
fn status_tells_which_side_changed() {
    let env = TestEnv::new();
    env.init();
    for f in [".a", ".b", ".c", ".d"] {
        env.write(f, "same\n", 0o644);
    }
    env.ok(&["add", ".a", ".b", ".c", ".d"]);
    let v = status_json(&env);
    assert_eq!(v["targets"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["uncommitted"].as_array().unwrap().len(), 4, "{v}");
    env.ok(&["commit"]);
    let out = env.ok(&["status"]);
    assert!(stdout(&out).contains("Up to date: 4 files match the store."), "{}", show(&out));

    env.write(".a", "home edit\n", 0o644);
    fs::write(env.store().join("dot_b"), "store edit\n").unwrap();
    env.write(".c", "home edit\n", 0o644);
    fs::write(env.store().join("dot_c"), "store edit\n").unwrap();
    fs::remove_file(env.home.join(".d")).unwrap();
    let v = status_json(&env);
    assert_eq!(change_of(&v, ".a").as_deref(), Some("changed_in_home"));
    assert_eq!(change_of(&v, ".b").as_deref(), Some("changed_in_store"));
    assert_eq!(change_of(&v, ".c").as_deref(), Some("changed_in_both"));
    assert_eq!(change_of(&v, ".d").as_deref(), Some("deleted_in_home"));
    let text = stdout(&env.ok(&["status"]));
    assert!(
        text.contains("Deleted in HOME (`dotback commit` records the deletion; `dotback apply` restores them):"),
        "{text}"
    );
    let uncommitted: Vec<&str> =
        v["uncommitted"].as_array().unwrap().iter().map(|u| u["path"].as_str().unwrap()).collect();
    assert_eq!(uncommitted, ["dot_b", "dot_c"]);
}

#[test]
fn status_notices_a_mode_change_and_a_same_size_edit() {
    let env = TestEnv::new();
    env.init();
    env.write(".x", "aaaa\n", 0o644);
    env.write(".y", "bbbb\n", 0o644);
    env.ok(&["add", ".x", ".y"]);
    env.ok(&["status"]); // warms the stat cache
    fs::set_permissions(env.home.join(".x"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    env.write(".y", "cccc\n", 0o644);
    let v = status_json(&env);
    assert_eq!(change_of(&v, ".x").as_deref(), Some("changed_in_home"));
    assert_eq!(change_of(&v, ".y").as_deref(), Some("changed_in_home"));
}

#[test]
fn diff_shows_the_patch_apply_would_make_without_color_when_piped() {
    let env = TestEnv::new();
    env.init();
    env.write(".zshrc", "one\ntwo\nthree\n", 0o644);
    env.ok(&["add", ".zshrc"]);
    env.write(".zshrc", "one\nTWO\nthree\n", 0o644);
    let out = env.ok(&["diff"]);
    let text = stdout(&out);
    assert!(text.contains("--- a/.zshrc"), "{text}");
    assert!(text.contains("+++ b/.zshrc"), "{text}");
    assert!(text.contains("-TWO\n") && text.contains("+two\n"), "{text}");
    assert!(!text.contains('\x1b'), "no color codes when piped: {text:?}");
    let out = env.ok(&["diff", ".other"]);
    assert_eq!(stdout(&out), "");
}

#[test]
fn diff_reports_mode_changes_and_binary_files() {
    let env = TestEnv::new();
    env.init();
    env.write(".bin", "\0\x01\x02", 0o644);
    env.ok(&["add", ".bin"]);
    fs::write(env.home.join(".bin"), b"\0\x01\x03").unwrap();
    fs::set_permissions(env.home.join(".bin"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let text = stdout(&env.ok(&["diff"]));
    assert!(text.contains("old mode 100755") && text.contains("new mode 100644"), "{text}");
    assert!(text.contains("Binary files a/.bin and b/.bin differ"), "{text}");
}

/// Sets the mtime of `path` itself (a link's own, not its target's).
fn set_mtime(path: &std::path::Path, secs: i64) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let t = libc::timespec { tv_sec: secs, tv_nsec: 0 };
    // SAFETY: a NUL-terminated path and two timespecs.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), [t, t].as_ptr(), libc::AT_SYMLINK_NOFOLLOW) };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
}

#[test]
fn links_changed_with_the_same_size_and_mtime_are_seen_on_both_sides() {
    use std::os::unix::fs::symlink;
    let env = TestEnv::new();
    env.init();
    symlink("target-aaaa", env.home.join(".home-link")).unwrap();
    symlink("target-aaaa", env.home.join(".store-link")).unwrap();
    env.ok(&["add", ".home-link", ".store-link"]);
    env.ok(&["commit"]);
    let entry = env.store().join("symlink_dot_store-link");
    for p in [env.home.join(".home-link"), env.home.join(".store-link"), entry.clone()] {
        set_mtime(&p, 1_000_000);
    }
    env.ok(&["commit"]); // git's index takes the new stat data
    env.ok(&["status"]); // memoizes both links' targets (by now their ctime is not recent)
    env.ok(&["status"]);

    // HOME: the link made anew, pointing elsewhere, with the old mtime.
    fs::remove_file(env.home.join(".home-link")).unwrap();
    symlink("target-bbbb", env.home.join(".home-link")).unwrap();
    set_mtime(&env.home.join(".home-link"), 1_000_000);
    // The store: the entry rewritten in place, same size, old mtime.
    let before = fs::read_to_string(&entry).unwrap();
    fs::write(&entry, before.replace("aaaa", "cccc")).unwrap();
    set_mtime(&entry, 1_000_000);

    let v = status_json(&env);
    assert_eq!(change_of(&v, ".home-link").as_deref(), Some("changed_in_home"), "{v}");
    assert_eq!(change_of(&v, ".store-link").as_deref(), Some("changed_in_store"), "{v}");
    let uncommitted: Vec<&str> =
        v["uncommitted"].as_array().unwrap().iter().map(|u| u["path"].as_str().unwrap()).collect();
    assert_eq!(uncommitted, ["symlink_dot_store-link"], "{v}");
    let diff = stdout(&env.ok(&["diff", ".store-link"]));
    assert!(diff.contains("-target-aaaa") && diff.contains("+target-cccc"), "{diff}");
    env.ok(&["apply", ".store-link"]);
    assert_eq!(fs::read_link(env.home.join(".store-link")).unwrap(), std::path::Path::new("target-cccc"));
    env.ok(&["commit"]);
    let store_side = fs::read_to_string(env.store().join("symlink_dot_home-link")).unwrap();
    assert_eq!(store_side.trim(), "target-bbbb");
}

#[test]
fn add_commit_and_status_count_one_tree_alike() {
    let env = TestEnv::new();
    env.init();
    let remote = bare(&env, "remote.git");
    env.ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    env.ok(&["sync"]); // an audit record now waits for the next commit
    for i in 1..=6 {
        env.write(&format!(".config/nvim/lua/f{i}.lua"), "x\n", 0o644);
    }
    env.write(".config/nvim/init.lua", "y\n", 0o644);
    std::os::unix::fs::symlink("init.lua", env.home.join(".config/nvim/link.lua")).unwrap();
    // ~/.config is not added itself: the store gains it as the parent.
    let out = env.ok(&["add", ".config/nvim"]);
    assert!(stderr(&out).contains("Added 7 files, 1 symlink and 3 directories to the store"), "{}", show(&out));
    let out = env.ok(&["commit"]);
    assert!(stderr(&out).contains("(8 files changed in the store, 0 captured from HOME)"), "{}", show(&out));
    let out = env.ok(&["status"]);
    assert!(
        stdout(&out).contains("Up to date: 7 files, 1 symlink and 3 directories match the store."),
        "{}",
        show(&out)
    );
    let out = env.ok(&["status", ".config/nvim/lua"]);
    assert!(stdout(&out).contains("Up to date: 6 files and 1 directory match the store."), "{}", show(&out));
}

#[test]
fn status_of_a_path_nothing_manages_says_so() {
    let env = TestEnv::new();
    env.init();
    env.write(".zshrc", "z\n", 0o644);
    env.write(".untracked", "u\n", 0o644);
    env.ok(&["add", ".zshrc"]);
    env.ok(&["commit"]);
    let (code, err) = env.fails(&["status", "typo"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("~/typo is not managed by dotback") && err.contains("check the spelling"), "{err}");
    assert!(!err.contains("Up to date"), "{err}");
    let (code, err) = env.fails(&["status", ".zshrc", ".untracked"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("~/.untracked is not managed") && err.contains("`dotback add ~/.untracked` tracks it"),
        "{err}"
    );
    assert!(stdout(&env.ok(&["status", ".zshrc"])).contains("Up to date: 1 file matches the store."));
    // What an exact directory would remove is managed, though the store does not list it.
    env.write(".exact/kept", "k\n", 0o644);
    env.ok(&["add", "--exact", ".exact"]);
    env.ok(&["commit"]);
    env.write(".exact/stray", "s\n", 0o644);
    let v: serde_json::Value = serde_json::from_slice(&env.ok(&["status", "--json", ".exact/stray"]).stdout).unwrap();
    assert_eq!(change_of(&v, ".exact/stray").as_deref(), Some("extra"), "{v}");
}
