//! One target that cannot be written does not stop the rest of apply, nor sync's push; backups
//! are pruned by `backups_keep`.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn read_only(dir: &std::path::Path) {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
}

#[test]
fn an_unwritable_file_is_reported_and_the_rest_is_applied() {
    let env = TestEnv::new();
    env.init();
    env.write(".a", "a1\n", 0o644);
    env.write(".config/app/conf", "c1\n", 0o644);
    env.write(".z", "z1\n", 0o644);
    env.ok(&["add", ".a", ".config/app", ".z"]);
    env.ok(&["commit"]);
    // The store moves on (as if pulled); the directory the middle file lives in is read-only.
    for (entry, content) in [("dot_a", "a2\n"), ("dot_config/app/conf", "c2\n"), ("dot_z", "z2\n")] {
        fs::write(env.store().join(entry), content).unwrap();
    }
    read_only(&env.home.join(".config/app"));
    let out = unprivileged(&env, &["apply"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    let live = env.home.join(".config/app/conf");
    assert!(err.contains("~/.config/app/conf was not applied") && err.contains(&live.display().to_string()), "{err}");
    assert!(err.contains("1 path could not be applied"), "{err}");
    assert_eq!(env.read(".a"), "a2\n");
    assert_eq!(env.read(".z"), "z2\n");
    assert_eq!(env.read(".config/app/conf"), "c1\n");
    // Once it is writable, the next apply finishes the job.
    fs::set_permissions(env.home.join(".config/app"), fs::Permissions::from_mode(0o755)).unwrap();
    let out = unprivileged(&env, &["apply"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(env.read(".config/app/conf"), "c2\n");
}

#[test]
fn sync_applies_the_rest_pushes_and_reports_an_unwritable_file() {
    let (a, b, remote) = crate::sync::pair();
    a.write(".config/app/conf", "c1\n", 0o644);
    a.write(".vimrc", "v1\n", 0o644);
    a.ok(&["add", ".config/app", ".vimrc"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.write(".config/app/conf", "c2\n", 0o644);
    a.write(".vimrc", "v2\n", 0o644);
    a.ok(&["sync"]);
    read_only(&b.home.join(".config/app"));
    b.write(".zshrc", "edited on b\n", 0o644);
    if is_root() {
        assert!(Command::new("chown").args(["-R", "65534:65534"]).arg(&remote).status().unwrap().success());
    }
    let out = unprivileged(&b, &["sync"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("~/.config/app/conf was not applied"), "{err}");
    assert_eq!(b.read(".vimrc"), "v2\n", "the rest is applied");
    assert_eq!(b.read(".config/app/conf"), "c1\n");
    let pushed = Command::new("git").arg("--git-dir").arg(&remote).args(["show", "main:dot_zshrc"]).output().unwrap();
    assert_eq!(stdout(&pushed), "edited on b\n", "the push happened: {}", show(&pushed));
}

#[test]
fn backups_are_pruned_to_backups_keep() {
    let env = TestEnv::new();
    env.init();
    env.write(".zshrc", "store\n", 0o644);
    env.ok(&["add", ".zshrc"]);
    env.ok(&["commit"]);
    let config = env.config_home.join("dotback/config.toml");
    let mut text = fs::read_to_string(&config).unwrap();
    text.push_str("backups_keep = { count = 2, age = \"30d\" }\n");
    fs::write(&config, text).unwrap();
    for n in 0..4 {
        env.write(".zshrc", &format!("edit {n}\n"), 0o644);
        env.ok(&["apply", "--force"]);
        assert_eq!(env.read(".zshrc"), "store\n");
    }
    let root = env.state_home.join("dotback/backups");
    let mut kept: Vec<String> =
        fs::read_dir(&root).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    kept.sort();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let newest: Vec<String> = kept.iter().map(|d| fs::read_to_string(root.join(d).join(".zshrc")).unwrap()).collect();
    let mut newest = newest;
    newest.sort();
    assert_eq!(newest, ["edit 2\n", "edit 3\n"], "the newest backups are the ones kept");
    // An invalid setting is a configuration error naming the key.
    let text = fs::read_to_string(&config).unwrap().replace("count = 2", "count = 0");
    fs::write(&config, text).unwrap();
    let (code, err) = env.fails(&["status"]);
    assert_eq!(code, 3);
    assert!(err.contains("backups_keep.count"), "{err}");
}
