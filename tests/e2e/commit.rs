use crate::common::*;
use std::fs;

#[test]
fn commit_captures_home_edits_and_names_device_and_paths() {
    let env = TestEnv::new();
    env.init();
    env.write(".zshrc", "v1\n", 0o644);
    env.write(".config/git/config", "[user]\n", 0o644);
    env.ok(&["add", ".zshrc", ".config/git/config"]);
    env.ok(&["commit"]);
    env.write(".zshrc", "v2\n", 0o644);
    let out = env.ok(&["commit"]);
    assert!(stderr(&out).contains("1 captured"), "{}", show(&out));
    assert_eq!(fs::read_to_string(env.store().join("dot_zshrc")).unwrap(), "v2\n");
    let msg = stdout(&env.git(&["log", "-1", "--format=%B"]));
    assert!(msg.contains(DEVICE), "{msg}");
    assert!(msg.contains("~/.zshrc"), "{msg}");
    let out = env.ok(&["commit"]);
    assert!(stderr(&out).contains("Nothing to commit"), "{}", show(&out));
    let st = stdout(&env.git(&["status", "--porcelain"]));
    assert_eq!(st, "");
}

#[test]
fn commit_with_message_uses_it_as_subject() {
    let env = TestEnv::new();
    env.init();
    env.write(".zshrc", "v1\n", 0o644);
    env.ok(&["add", ".zshrc"]);
    env.ok(&["commit", "-m", "my shell"]);
    let msg = stdout(&env.git(&["log", "-1", "--format=%B"]));
    assert!(msg.starts_with("my shell\n"), "{msg}");
    assert!(msg.contains(DEVICE), "{msg}");
}

#[test]
fn commit_captures_a_mode_change() {
    let env = TestEnv::new();
    env.init();
    env.write("run.sh", "echo\n", 0o644);
    env.ok(&["add", "run.sh"]);
    env.ok(&["commit"]);
    fs::set_permissions(env.home.join("run.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    env.ok(&["commit"]);
    assert!(env.store().join("executable_run.sh").is_file());
    assert!(!env.store().join("run.sh").exists());
}

#[test]
fn commit_refuses_to_capture_a_path_changed_on_both_sides() {
    let env = TestEnv::new();
    env.init();
    env.write(".zshrc", "base\n", 0o644);
    env.write(".bashrc", "b\n", 0o644);
    env.ok(&["add", ".zshrc", ".bashrc"]);
    env.ok(&["commit"]);
    fs::write(env.store().join("dot_zshrc"), "store side\n").unwrap();
    env.write(".zshrc", "home side\n", 0o644);
    env.write(".bashrc", "b2\n", 0o644);
    let (code, err) = env.fails(&["commit"]);
    assert_eq!(code, 1);
    assert!(err.contains("~/.zshrc was not captured"), "{err}");
    // The other path was captured and committed, and neither side of .zshrc was lost.
    assert_eq!(fs::read_to_string(env.store().join("dot_bashrc")).unwrap(), "b2\n");
    assert_eq!(fs::read_to_string(env.store().join("dot_zshrc")).unwrap(), "store side\n");
    assert_eq!(env.read(".zshrc"), "home side\n");
}

#[test]
fn commit_with_nothing_captured_still_commits_edits_made_in_the_store() {
    let env = TestEnv::new();
    env.init();
    for f in [".zshrc", ".bashrc", ".vimrc"] {
        env.write(f, "v1\n", 0o644);
    }
    env.ok(&["add", ".zshrc", ".bashrc", ".vimrc"]);
    env.ok(&["commit"]);
    assert!(stderr(&env.ok(&["commit"])).contains("Nothing to commit"));
    // HOME is unchanged, so nothing is captured; every kind of store-side change still counts.
    fs::write(env.store().join("dot_zshrc"), "edited in the store\n").unwrap();
    fs::remove_file(env.store().join("dot_bashrc")).unwrap();
    fs::write(env.store().join("dot_inputrc"), "set bell-style none\n").unwrap();
    let out = env.ok(&["commit"]);
    assert!(stderr(&out).contains("Committed") && stderr(&out).contains("0 captured"), "{}", show(&out));
    let files = stdout(&env.git(&["show", "--name-status", "--format=", "HEAD"]));
    assert_eq!(files, "D\tdot_bashrc\nA\tdot_inputrc\nM\tdot_zshrc\n");
    // Staged in the index only (the work tree already matches it).
    fs::write(env.store().join("dot_vimrc"), "staged\n").unwrap();
    env.git(&["add", "dot_vimrc"]);
    env.ok(&["commit"]);
    assert_eq!(stdout(&env.git(&["show", "--name-only", "--format=", "HEAD"])), "dot_vimrc\n");
    assert_eq!(stdout(&env.git(&["status", "--porcelain"])), "");
}
