//! Deletions in HOME: recorded by commit and sync, carried out on the other devices where the
//! file is unchanged, held back by the mass-deletion guard; and a first apply onto a HOME that
//! already has files of its own.

use crate::common::*;
use crate::sync::pair;
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn status_json(env: &TestEnv) -> serde_json::Value {
    serde_json::from_slice(&env.ok(&["status", "--json"]).stdout).unwrap()
}

/// The targets status lists, with their change.
fn changes(env: &TestEnv) -> Vec<(String, String)> {
    let v = status_json(env);
    v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["path"].as_str().unwrap().to_string(), t["change"].as_str().unwrap().to_string()))
        .collect()
}

fn mode(env: &TestEnv, rel: &str) -> u32 {
    fs::metadata(env.home.join(rel)).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_deletion_reaches_the_other_device() {
    let (a, b, _) = pair();
    a.write(".config/app/one.conf", "one\n", 0o644);
    a.write(".config/app/two.conf", "two\n", 0o644);
    a.ok(&["add", ".config/app"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(b.read(".config/app/two.conf"), "two\n");

    fs::remove_file(a.home.join(".config/app/two.conf")).unwrap();
    assert_eq!(changes(&a), [(".config/app/two.conf".to_string(), "deleted_in_home".to_string())]);
    let out = a.ok(&["sync"]);
    assert!(!a.home.join(".config/app/two.conf").exists(), "sync does not put it back: {}", show(&out));
    assert!(stderr(&out).contains("0 changes applied to HOME"), "{}", show(&out));
    assert!(!a.store().join("dot_config/app/two.conf").exists(), "the deletion is recorded");
    assert_eq!(changes(&a), []);

    let out = b.ok(&["sync"]);
    assert!(!b.home.join(".config/app/two.conf").exists(), "removed on b too: {}", show(&out));
    assert_eq!(b.read(".config/app/one.conf"), "one\n");
    assert_eq!(backed_up(&b, ".config/app/two.conf"), ["two\n"], "b's copy is saved first");
    assert_eq!(changes(&b), []);

    // A whole directory: what dotback tracked goes; a file it never tracked keeps the directory.
    b.write(".config/app/notes", "b's own notes\n", 0o644);
    fs::remove_dir_all(a.home.join(".config/app")).unwrap();
    a.ok(&["sync"]);
    assert!(!a.store().join("dot_config/app").exists());
    b.ok(&["sync"]);
    assert!(!b.home.join(".config/app/one.conf").exists());
    assert_eq!(b.read(".config/app/notes"), "b's own notes\n", "an untracked file is never removed");
    assert_eq!(changes(&b), []);
    a.ok(&["sync"]);
    assert_eq!(
        stdout(&a.git(&["rev-parse", "HEAD^{tree}"])),
        stdout(&b.git_in(&store_of(&b), &["rev-parse", "HEAD^{tree}"]))
    );
    // Recoverable from history.
    assert!(history_text(&a.store()).contains("two"), "a deleted file stays in the history");
}

#[test]
fn a_modification_wins_over_a_deletion_in_either_order() {
    let (a, b, _) = pair();
    a.write(".vimrc", "set nu\n", 0o644);
    a.ok(&["add", ".vimrc"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);

    // a deletes and syncs first; b had edited its copy meanwhile.
    fs::remove_file(a.home.join(".zshrc")).unwrap();
    a.ok(&["sync"]);
    b.write(".zshrc", "one\ntwo\nthree\nfour\nfive\nsix\n", 0o644);
    let out = b.ok(&["sync"]);
    assert!(!stderr(&out).contains("conflict"), "{}", show(&out));
    assert_eq!(b.read(".zshrc"), "one\ntwo\nthree\nfour\nfive\nsix\n", "b keeps its edit");
    a.ok(&["sync"]);
    assert_eq!(a.read(".zshrc"), "one\ntwo\nthree\nfour\nfive\nsix\n", "and a gets it back");

    // b edits and syncs first; a deletes its copy, not yet knowing of the edit.
    b.write(".vimrc", "set nu\nset list\n", 0o644);
    b.ok(&["sync"]);
    fs::remove_file(a.home.join(".vimrc")).unwrap();
    a.ok(&["sync"]);
    assert_eq!(a.read(".vimrc"), "set nu\nset list\n", "the edit comes back in place of the deletion");
    b.ok(&["sync"]);
    assert_eq!(b.read(".vimrc"), "set nu\nset list\n");
    for d in [&a, &b] {
        assert_eq!(changes(d), []);
    }
}

#[test]
fn the_guard_holds_an_emptied_config_until_allowed() {
    let (a, b, remote) = pair();
    for i in 0..30 {
        a.write(&format!(".config/app/f{i:02}.conf"), &format!("setting {i}\n"), 0o644);
    }
    a.ok(&["add", ".config/app"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let head = remote_head(&remote);

    // Everything in ~/.config goes, and an edit elsewhere is made at the same time.
    for e in fs::read_dir(a.home.join(".config")).unwrap().flatten() {
        fs::remove_dir_all(e.path()).unwrap();
    }
    let (code, err) = a.fails(&["commit"]);
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains("31 paths were deleted in HOME (~/.config/app, ~/.config/app/f00.conf")
            && err.contains("none of the deletions was recorded"),
        "{err}"
    );
    assert!(err.contains("~/.config/app, ~/.config/app/f00.conf") && err.contains("and 26 more"), "{err}");
    assert!(err.contains("`dotback commit --allow-deletions`") && err.contains("`dotback apply` restores"), "{err}");
    assert!(a.store().join("dot_config/app/f29.conf").is_file(), "nothing is removed from the store");
    assert!(store_changes(&a).is_empty(), "{}", store_changes(&a));
    assert!(!a.home.join(".config/app").exists(), "HOME stays as the user left it");

    // sync: the rest syncs, the deletions neither go out nor are undone here.
    a.write(".zshrc", "one\ntwo\nthree\nfour\nfive\nedited\n", 0o644);
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("`dotback sync --allow-deletions`"), "{err}");
    assert!(!a.home.join(".config/app").exists(), "sync's apply does not restore them");
    assert_ne!(remote_head(&remote), head, "the edit was pushed");
    b.ok(&["sync"]);
    assert_eq!(b.read(".zshrc"), "one\ntwo\nthree\nfour\nfive\nedited\n");
    assert_eq!(b.read(".config/app/f29.conf"), "setting 29\n", "the other device keeps them");
    let listed = changes(&a);
    assert_eq!(listed.len(), 31, "{listed:?}");
    assert!(listed.iter().all(|(_, c)| c == "deleted_in_home"), "{listed:?}");

    // Confirmed: recorded, and carried out on the other device.
    let out = a.ok(&["commit", "--allow-deletions"]);
    assert!(stderr(&out).contains("31 deleted in HOME)"), "{}", show(&out));
    assert!(!a.store().join("dot_config/app").exists());
    assert_eq!(changes(&a), []);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert!(!b.home.join(".config/app").exists(), "emptied on b too");
    assert_eq!(backed_up(&b, ".config/app/f07.conf"), ["setting 7\n"]);
    assert!(history_text(&a.store()).contains("setting 29"), "recoverable from history");
}

#[test]
fn apply_restores_what_the_guard_held() {
    let env = TestEnv::new();
    env.init();
    for f in [".a", ".b", ".c"] {
        env.write(f, "kept\n", 0o644);
    }
    env.ok(&["add", ".a", ".b", ".c"]);
    env.ok(&["commit"]);
    // Two of three files is most of what is tracked.
    fs::remove_file(env.home.join(".a")).unwrap();
    fs::remove_file(env.home.join(".b")).unwrap();
    let (code, err) = env.fails(&["commit"]);
    assert_eq!(code, 7, "{err}");
    env.ok(&["apply"]);
    assert_eq!(env.read(".a"), "kept\n");
    assert_eq!(env.read(".b"), "kept\n");
    assert_eq!(changes(&env), []);
}

#[test]
fn a_first_apply_replaces_a_distros_files_and_sets_inits_directory_modes() {
    let a = TestEnv::new();
    a.init();
    let remote = bare(&a, "remote.git");
    fs::create_dir_all(a.home.join(".config")).unwrap();
    fs::set_permissions(a.home.join(".config"), fs::Permissions::from_mode(0o700)).unwrap();
    a.write(".config/app/conf", "mine\n", 0o644);
    a.write(".bashrc", "alias ll='ls -l'\n", 0o644);
    a.ok(&["add", ".bashrc", ".config/app"]);
    a.ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    a.ok(&["sync"]);
    assert!(a.store().join("private_dot_config").is_dir());

    // A new machine: a distro's ~/.bashrc, and a ~/.config that init itself creates (0755),
    // since the device config lives in it.
    let mut b = TestEnv::new();
    b.config_home = b.home.join(".config");
    b.write(".bashrc", "# distro default\n", 0o644);
    let store = b.root.join("store");
    let out = std::process::Command::new("git")
        .arg("clone")
        .arg("-q")
        .arg(&remote)
        .arg(&store)
        .envs(b.envs())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    b.join("b", &store);
    assert_eq!(mode(&b, ".config"), 0o755);

    let listed = changes(&b);
    assert!(listed.contains(&(".bashrc".to_string(), "never_applied".to_string())), "{listed:?}");
    assert!(listed.contains(&(".config".to_string(), "never_applied".to_string())), "{listed:?}");
    let text = stdout(&b.ok(&["status"]));
    assert!(text.contains("Differs, never applied on this device"), "{text}");
    // Not a change in HOME: commit does not take the distro's file into the store.
    let out = b.ok(&["commit"]);
    assert!(stderr(&out).contains("Nothing to commit"), "{}", show(&out));

    let out = b.ok(&["apply"]);
    assert!(!stderr(&out).contains("left"), "{}", show(&out));
    assert_eq!(b.read(".bashrc"), "alias ll='ls -l'\n", "the store's version wins");
    assert_eq!(backed_up(&b, ".bashrc"), ["# distro default\n"], "after a backup");
    assert_eq!(mode(&b, ".config"), 0o700, "the directory's mode is set");
    assert_eq!(b.read(".config/app/conf"), "mine\n");
    assert!(b.config_home.join("dotback/config.toml").is_file(), "dotback's own config is untouched");
    assert_eq!(changes(&b), []);
    b.ok(&["sync"]);
    assert_eq!(remote_head(&remote).as_deref(), Some(stdout(&a.git(&["rev-parse", "HEAD"])).trim()));
}
