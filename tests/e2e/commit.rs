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
