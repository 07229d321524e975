//! Attacks on dotback's own places: a store entry that would write, remove or back up anything in
//! the store, the state or config directory, or a `.git`, is refused naming the entry; the rest
//! applies, and the device goes on syncing.

use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A device whose XDG directories are the defaults inside HOME: the store is
/// ~/.local/share/chezmoi, the state ~/.local/state/dotback, the config ~/.config/dotback.
fn default_places() -> TestEnv {
    let mut env = TestEnv::new();
    env.config_home = env.home.join(".config");
    env.state_home = env.home.join(".local/state");
    env.data_home = env.home.join(".local/share");
    for d in [&env.config_home, &env.state_home, &env.data_home] {
        fs::create_dir_all(d).unwrap();
    }
    env
}

/// A victim with the default places, `.zshrc` synced to a bare remote, and one commit not yet
/// pushed.
fn victim() -> (TestEnv, PathBuf) {
    let v = default_places();
    v.init();
    assert_eq!(store_of(&v), v.home.join(".local/share/chezmoi"));
    let remote = bare(&v, "remote.git");
    v.write(".zshrc", "one\n", 0o644);
    v.ok(&["add", ".zshrc"]);
    v.ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    v.ok(&["sync"]);
    v.write(".zshrc", "one\nunpushed\n", 0o644);
    v.ok(&["commit"]);
    (v, remote)
}

/// Someone with push access and no key: a plain clone of `remote` that commits `files` and pushes.
fn attacker_pushes(root: &Path, remote: &Path, files: &[(&str, &str)]) {
    let m = Intruder::clone_of(root, remote);
    for (path, content) in files {
        let p = m.dir.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
    }
    m.push("update");
}

/// What must hold after the attack: the store, its history (with the unpushed commit) and the
/// state directory are intact, no backup copied any of them, and a later edit commits and pushes.
fn assert_places_intact(v: &TestEnv, remote: &Path) {
    let store = store_of(v);
    assert!(store.join(".git/HEAD").is_file(), "the store's .git is intact");
    assert!(store.join("dot_zshrc").is_file() && store.join(".dotback/recipients.txt").is_file());
    assert!(history_text(remote).contains("+unpushed"), "the commit that was not pushed yet is kept, and pushed");
    v.ok(&["status"]);
    let state = v.home.join(".local/state/dotback");
    assert!(state.join("cache.bin").is_file(), "the state directory is intact");
    if let Ok(dirs) = fs::read_dir(state.join("backups")) {
        for d in dirs.flatten() {
            for inner in [".local/share", ".local/state", ".local/share/chezmoi", ".local/state/dotback"] {
                assert!(!d.path().join(inner).exists(), "no backup of {inner} in {}", d.path().display());
            }
        }
    }
    v.write(".zshrc", "one\nunpushed\nlater edit\n", 0o644);
    v.ok(&["sync"]);
    let pushed = Command::new("git").arg("--git-dir").arg(remote).args(["show", "main:dot_zshrc"]).output().unwrap();
    assert_eq!(stdout(&pushed), "one\nunpushed\nlater edit\n", "the victim's later edit is pushed");
}

#[test]
fn a_pushed_exact_parent_of_the_store_and_state_removes_neither() {
    let (v, remote) = victim();
    attacker_pushes(&v.root, &remote, &[("exact_dot_local/readme", "hello\n")]);
    let out = v.ok(&["sync"]);
    let err = stderr(&out);
    for held in ["~/.local/share", "~/.local/state"] {
        assert!(err.contains(&format!("left {held} alone")), "{held}: {err}");
    }
    assert!(err.contains("`exact_dot_local`") && err.contains("dotback's store"), "names the entry: {err}");
    assert_eq!(v.read(".local/readme"), "hello\n", "the rest of the commit applies");
    assert_places_intact(&v, &remote);
}

#[test]
fn a_pushed_git_hook_inside_the_store_is_never_installed() {
    let (v, remote) = victim();
    let marker = v.root.join("hook-ran");
    let hook = format!("#!/bin/sh\ntouch {}\n", marker.display());
    let entry = "dot_local/share/chezmoi/dot_git/hooks/executable_post-commit";
    attacker_pushes(&v.root, &remote, &[(entry, &hook), ("dot_harmless", "fine\n")]);
    // Refused when fetched (a target inside a `.git`); apply would refuse it too (see below).
    let (code, err) = v.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("dot_git"), "names the entry: {err}");
    let store = store_of(&v);
    assert!(!store.join(".git/hooks/post-commit").exists(), "no hook was installed");
    git_by_hand(&v, &["commit", "-q", "--allow-empty", "--no-verify", "-m", "by hand"]);
    assert!(!marker.exists(), "a plain git commit runs nothing from the remote");
    assert!(history_text(&store).contains("+unpushed"), "the commit not pushed yet is kept");
    assert!(store.join(".git/HEAD").is_file() && store.join(".dotback/recipients.txt").is_file());
    assert!(remote_head(&remote).is_some());
}

#[test]
fn a_pushed_file_in_the_config_directory_or_a_git_directory_elsewhere_is_refused() {
    let (v, remote) = victim();
    let repo = v.home.join("src/project");
    fs::create_dir_all(&repo).unwrap();
    assert!(Command::new("git").args(["init", "-q"]).arg(&repo).status().unwrap().success());
    let config = fs::read_to_string(v.home.join(".config/dotback/config.toml")).unwrap();
    attacker_pushes(
        &v.root,
        &remote,
        &[
            ("dot_config/dotback/config.toml", "device = \"mallory\"\nsource = \"/tmp\"\n"),
            ("dot_config/chezmoi/chezmoi.toml", "[age]\nrecipient = \"age1attacker\"\n"),
        ],
    );
    let out = v.ok(&["sync"]);
    let err = stderr(&out);
    assert!(err.contains("dot_config/dotback/config.toml"), "{err}");
    assert!(err.contains("chezmoi's config directory"), "{err}");
    assert_eq!(fs::read_to_string(v.home.join(".config/dotback/config.toml")).unwrap(), config);
    assert!(!repo.join(".git/hooks/pre-commit").exists());
    assert!(!v.home.join(".config/chezmoi/chezmoi.toml").exists());
    assert_places_intact(&v, &remote);
}

#[test]
fn a_local_exact_add_of_dot_local_then_apply_keeps_the_store_and_state() {
    let v = default_places();
    v.init();
    v.write(".local/bin/tool", "#!/bin/sh\n", 0o755);
    let out = v.ok(&["add", "--exact", ".local"]);
    assert!(stderr(&out).contains("dotback's store") && stderr(&out).contains("dotback's state directory"));
    v.ok(&["commit"]);
    v.write(".local/bin/stray", "not in the store\n", 0o644);
    let (code, err) = v.fails(&["apply"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("left ~/.local/share/chezmoi alone") && err.contains("`exact_dot_local/exact_share`"),
        "{err}"
    );
    assert!(err.contains("left ~/.local/state/dotback alone"), "{err}");
    assert!(!v.home.join(".local/bin/stray").exists(), "the exact directory still removes the rest");
    assert!(store_of(&v).join(".git/HEAD").is_file());
    assert!(store_of(&v).join("exact_dot_local/exact_bin/executable_tool").is_file());
    assert!(v.home.join(".local/state/dotback/cache.bin").is_file());
    let backups = v.home.join(".local/state/dotback/backups");
    let saved: Vec<_> = fs::read_dir(&backups).unwrap().flatten().collect();
    assert_eq!(saved.len(), 1);
    assert!(saved[0].path().join(".local/bin/stray").is_file(), "what was removed is backed up");
    assert!(!saved[0].path().join(".local/share").exists() && !saved[0].path().join(".local/state").exists());
    v.write(".zshrc", "z\n", 0o644);
    v.ok(&["add", ".zshrc"]);
    v.ok(&["commit"]);
    assert!(stdout(&v.git(&["log", "-1", "--format=%s"])).contains("~/.zshrc"));
}

#[test]
fn a_pushed_file_reaching_the_store_through_a_symlink_in_home_is_refused() {
    let (v, remote) = victim();
    std::os::unix::fs::symlink(".local/share/chezmoi", v.home.join("dots")).unwrap();
    attacker_pushes(&v.root, &remote, &[("dots/dot_planted", "planted\n"), ("dot_harmless", "fine\n")]);
    let out = v.cmd(&["sync"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("~/dots/.planted was not applied") && err.contains("dotback's store"), "{err}");
    assert!(!store_of(&v).join(".planted").exists(), "nothing was written into the store");
    assert_eq!(v.read(".harmless"), "fine\n");
    assert!(history_text(&remote).contains("+unpushed"), "the sync pushed all the same");
}

#[test]
fn resolve_never_writes_a_pushed_conflict_copy_into_a_git_directory() {
    let (v, remote) = victim();
    let repo = v.home.join("src/project");
    fs::create_dir_all(&repo).unwrap();
    assert!(Command::new("git").args(["init", "-q"]).arg(&repo).status().unwrap().success());
    let hook = "src/project/dot_git/hooks/executable_pre-commit";
    let copy = format!("{hook}.dotback-conflict-laptop-20261122-101500");
    attacker_pushes(&v.root, &remote, &[(hook, "#!/bin/sh\nexit 0\n"), (&copy, "#!/bin/sh\nexit 1\n")]);
    // sync refuses such a commit when it fetches it; a plain `git pull` brings it in all the same.
    git_by_hand(&v, &["pull", "-q", "--no-rebase", "origin", "main"]);
    let (code, err) = v.fails(&["resolve", "src/project/.git/hooks/pre-commit", "--theirs"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("a git directory"), "{err}");
    assert!(!repo.join(".git/hooks/pre-commit").exists(), "no hook was installed");
}
