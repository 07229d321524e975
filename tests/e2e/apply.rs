use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;

/// A second device (fresh HOME) using the first one's store.
fn second_home_on(store: &std::path::Path) -> TestEnv {
    let b = TestEnv::new();
    b.ok(&["init", "--device", "other", "--source", store.to_str().unwrap()]);
    b
}

#[test]
fn apply_restores_files_modes_and_links_into_an_empty_home() {
    let a = TestEnv::new();
    a.init();
    a.write(".zshrc", "z\n", 0o644);
    a.write(".ssh/id.pub", "pub\n", 0o644);
    fs::set_permissions(a.home.join(".ssh"), fs::Permissions::from_mode(0o700)).unwrap();
    a.write(".local/bin/tool", "#!/bin/sh\n", 0o755);
    a.write(".netrc", "machine x\n", 0o600);
    std::os::unix::fs::symlink(".zshrc", a.home.join(".zlink")).unwrap();
    a.ok(&["add", ".zshrc", ".ssh", ".local", ".netrc", ".zlink"]);
    a.ok(&["commit"]);
    let b = second_home_on(&a.store());
    a.admit(&b, "other");
    b.ok(&["apply"]);
    assert_eq!(snapshot(&b.home), snapshot(&a.home));
    // Nothing left to do afterwards.
    let out = b.ok(&["apply"]);
    assert!(stderr(&out).contains("Nothing to apply"), "{}", show(&out));
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let a = TestEnv::new();
    a.init();
    a.write(".zshrc", "z\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    let b = second_home_on(&a.store());
    let before = snapshot(&b.home);
    let out = b.ok(&["apply", "--dry-run"]);
    assert!(stdout(&out).contains("~/.zshrc: write file (mode 0644)"), "{}", show(&out));
    assert_eq!(snapshot(&b.home), before);
    let out = b.ok(&["apply", "--dry-run", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["actions"][0]["target"], ".zshrc");
    assert_eq!(v["actions"][0]["action"], "write_file");
}

#[test]
fn apply_leaves_home_edits_alone_unless_forced_and_then_backs_them_up() {
    let env = TestEnv::new();
    env.init();
    env.write(".zshrc", "v1\n", 0o644);
    env.ok(&["add", ".zshrc"]);
    env.ok(&["commit"]);
    // The store moves on (as if pulled from another device) and HOME is edited too.
    fs::write(env.store().join("dot_zshrc"), "store\n").unwrap();
    env.write(".zshrc", "mine\n", 0o644);
    let out = env.ok(&["apply"]);
    assert!(stderr(&out).contains("left ~/.zshrc alone: changed in both"), "{}", show(&out));
    assert_eq!(env.read(".zshrc"), "mine\n");
    let out = env.ok(&["apply", "--force", ".zshrc"]);
    assert_eq!(env.read(".zshrc"), "store\n");
    let backups = env.state_home.join("dotback/backups");
    let saved: Vec<_> =
        walkdir::WalkDir::new(&backups).into_iter().flatten().filter(|e| e.file_name() == ".zshrc").collect();
    assert_eq!(saved.len(), 1, "{}", show(&out));
    assert_eq!(fs::read_to_string(saved[0].path()).unwrap(), "mine\n");
}

#[test]
fn apply_writes_store_changes_when_home_is_unchanged() {
    let env = TestEnv::new();
    env.init();
    env.write(".zshrc", "v1\n", 0o644);
    env.ok(&["add", ".zshrc"]);
    fs::write(env.store().join("dot_zshrc"), "v2\n").unwrap();
    env.ok(&["apply"]);
    assert_eq!(env.read(".zshrc"), "v2\n");
}

#[test]
fn exact_directories_lose_files_the_store_does_not_list_with_a_backup() {
    let env = TestEnv::new();
    env.init();
    env.write(".config/exact/keep", "k\n", 0o644);
    env.ok(&["add", "--exact", ".config/exact"]);
    assert!(env.store().join("dot_config/exact_exact/keep").is_file());
    env.write(".config/exact/stray", "s\n", 0o644);
    let out = env.ok(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["targets"][0]["path"], ".config/exact/stray");
    assert_eq!(v["targets"][0]["change"], "extra");
    env.ok(&["apply"]);
    assert!(!env.home.join(".config/exact/stray").exists());
    assert_eq!(env.read(".config/exact/keep"), "k\n");
}

#[test]
fn apply_never_writes_through_a_symlink_leading_out_of_home() {
    let a = TestEnv::new();
    a.init();
    a.write(".config/app/conf", "c\n", 0o644);
    a.ok(&["add", ".config/app/conf"]);
    let b = second_home_on(&a.store());
    let outside = b.root.join("outside");
    fs::create_dir_all(outside.join("app")).unwrap();
    std::os::unix::fs::symlink(&outside, b.home.join(".config")).unwrap();
    let (code, err) = b.fails(&["apply"]);
    assert_eq!(code, 1);
    assert!(err.contains("leads outside HOME"), "{err}");
    assert!(!outside.join("app/conf").exists(), "nothing may be written outside HOME");
}

#[test]
fn a_file_replaced_by_a_directory_is_kept_until_forced() {
    let env = TestEnv::new();
    env.init();
    env.write(".vimrc", "set nu\n", 0o644);
    env.ok(&["add", ".vimrc"]);
    env.ok(&["commit"]);
    fs::remove_file(env.home.join(".vimrc")).unwrap();
    env.write(".vimrc/inner", "precious\n", 0o644);
    env.ok(&["apply"]);
    assert_eq!(env.read(".vimrc/inner"), "precious\n");
    let (_, err) = env.fails(&["commit"]);
    assert!(err.contains("is now a directory"), "{err}");
    assert_eq!(fs::read_to_string(env.store().join("dot_vimrc")).unwrap(), "set nu\n");
    env.ok(&["apply", "--force"]);
    assert_eq!(env.read(".vimrc"), "set nu\n");
    let saved: Vec<_> = walkdir::WalkDir::new(env.state_home.join("dotback/backups"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_name() == "inner")
        .collect();
    assert_eq!(fs::read_to_string(saved[0].path()).unwrap(), "precious\n");
}

#[test]
fn chezmoiignore_is_honoured_at_every_level() {
    let env = TestEnv::new();
    env.init();
    let s = env.store();
    fs::create_dir_all(s.join("dot_config")).unwrap();
    for (p, c) in [("dot_a", "a"), ("dot_b", "b"), ("dot_config/c", "c"), ("dot_config/d", "d")] {
        fs::write(s.join(p), c).unwrap();
    }
    fs::write(s.join(".chezmoiignore"), "# root rules\n.b\n").unwrap();
    fs::write(s.join("dot_config/.chezmoiignore"), "d\n").unwrap();
    env.ok(&["apply"]);
    assert_eq!(env.read(".a"), "a");
    assert_eq!(env.read(".config/c"), "c");
    assert!(!env.home.join(".b").exists());
    assert!(!env.home.join(".config/d").exists());
    // add passes over ignored files too.
    env.write(".config/d", "live d\n", 0o644);
    env.write(".config/e", "e\n", 0o644);
    let out = env.ok(&["add", ".config"]);
    assert!(stderr(&out).contains("skipped ~/.config/d: ignored by .chezmoiignore"), "{}", show(&out));
    assert_eq!(fs::read_to_string(s.join("dot_config/d")).unwrap(), "d");
    assert!(s.join("dot_config/e").is_file());
}

#[test]
fn an_ignore_line_chezmoi_rejects_refuses_the_store() {
    let env = TestEnv::new();
    env.init();
    fs::write(env.store().join("dot_a"), "a").unwrap();
    fs::write(env.store().join(".chezmoiignore"), "ok\n/etc/passwd\n").unwrap();
    let (_, err) = env.fails(&["apply"]);
    assert!(err.contains(".chezmoiignore") && err.contains("/etc/passwd"), "{err}");
    assert!(!env.home.join(".a").exists());
}
