//! Bad input: a clear error naming the path, a non-zero exit, nothing lost or half-written.

use crate::common::*;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn malformed_device_config_names_file_and_line() {
    let env = TestEnv::new();
    env.init();
    let cfg = env.config_home.join("dotback/config.toml");
    let good = fs::read_to_string(&cfg).unwrap();
    fs::write(&cfg, format!("{good}source = [\n")).unwrap();
    let (code, err) = env.fails(&["status"]);
    assert_eq!(code, 3);
    assert!(err.contains(&cfg.display().to_string()), "{err}");
    assert!(err.contains("line"), "{err}");
}

#[test]
fn unknown_config_key_names_file_line_and_key() {
    let env = TestEnv::new();
    env.init();
    let cfg = env.config_home.join("dotback/config.toml");
    let good = fs::read_to_string(&cfg).unwrap();
    fs::write(&cfg, format!("{good}wacth = true\n")).unwrap();
    let (code, err) = env.fails(&["apply"]);
    assert_eq!(code, 3);
    assert!(err.contains(&cfg.display().to_string()) && err.contains("wacth") && err.contains("line 4"), "{err}");
    // The shared manifest is just as strict.
    fs::write(&cfg, good).unwrap();
    let manifest = env.store().join(".dotback/dotback.toml");
    fs::write(&manifest, "version = 1\nsecretz = []\n").unwrap();
    let (code, err) = env.fails(&["status"]);
    assert_eq!(code, 3);
    assert!(err.contains("dotback.toml") && err.contains("secretz") && err.contains("line 2"), "{err}");
}

#[test]
fn not_initialized_says_run_init() {
    let env = TestEnv::new();
    let (code, err) = env.fails(&["status"]);
    assert_eq!(code, 3);
    assert!(err.contains("dotback init"), "{err}");
}

#[test]
fn missing_store_and_non_repository_store_are_explained() {
    let env = TestEnv::new();
    env.init();
    let moved = env.root.join("moved");
    fs::rename(env.store(), &moved).unwrap();
    let (code, err) = env.fails(&["apply"]);
    assert_eq!(code, 3);
    assert!(err.contains("does not exist") && err.contains(&env.store().display().to_string()), "{err}");
    fs::create_dir_all(env.store()).unwrap();
    let (code, err) = env.fails(&["status"]);
    assert_eq!(code, 3);
    assert!(err.contains("not a git repository"), "{err}");
}

#[test]
fn unreadable_file_fails_the_whole_add() {
    let env = TestEnv::new();
    env.init();
    env.write(".config/app/a", "a\n", 0o644);
    env.write(".config/app/locked", "l\n", 0o000);
    let before = snapshot(&env.store());
    let out = unprivileged(&env, &["add", ".config/app"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains(".config/app/locked"), "{err}");
    assert_eq!(snapshot(&env.store()), before, "a refused add writes nothing");
}

#[test]
fn non_utf8_names_are_refused_without_writing() {
    let env = TestEnv::new();
    env.init();
    env.write(".config/app/ok", "ok\n", 0o644);
    let bad = std::ffi::OsStr::from_bytes(b"caf\xe9");
    fs::write(env.home.join(".config/app").join(bad), "x").unwrap();
    let before = snapshot(&env.store());
    let (code, err) = env.fails(&["add", ".config/app"]);
    assert_eq!(code, 1);
    assert!(err.contains("not valid UTF-8") && err.contains(".config/app/caf"), "{err}");
    assert_eq!(snapshot(&env.store()), before);
}

#[test]
fn store_entries_escaping_home_are_refused_before_anything_is_written() {
    for hostile in ["dot_.", "dot_", "private_"] {
        let env = TestEnv::new();
        env.init();
        fs::write(env.store().join("dot_ok"), "ok\n").unwrap();
        fs::write(env.store().join(hostile), "evil\n").unwrap();
        let (code, err) = env.fails(&["apply"]);
        assert_eq!(code, 1, "{hostile}");
        assert!(err.contains(hostile), "{hostile}: {err}");
        assert!(!env.home.join(".ok").exists(), "{hostile}: nothing may be applied from a hostile store");
        let (_, err) = env.fails(&["status"]);
        assert!(err.contains(hostile), "{err}");
    }
}

#[test]
fn symlink_inside_the_store_is_refused() {
    let env = TestEnv::new();
    env.init();
    std::os::unix::fs::symlink("/etc", env.store().join("dot_etc")).unwrap();
    let (_, err) = env.fails(&["apply"]);
    assert!(err.contains("symbolic link") && err.contains("dot_etc"), "{err}");
    assert!(!env.home.join(".etc").exists());
}

#[test]
fn a_busy_lock_fails_naming_the_holder() {
    let env = TestEnv::new();
    env.init();
    env.write(".zshrc", "z\n", 0o644);
    let lock = env.state_home.join("dotback/lock");
    fs::create_dir_all(lock.parent().unwrap()).unwrap();
    fs::write(&lock, "pid 4242 (dotback sync)").unwrap();
    let mut holder = Command::new("flock").arg(&lock).args(["sleep", "60"]).spawn().unwrap();
    // Wait until flock holds it, as dotback's own lock is held: flock(2) on the file.
    let probe = fs::File::open(&lock).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while probe.try_lock().is_ok() {
        probe.unlock().unwrap();
        assert!(std::time::Instant::now() < deadline, "flock did not take {} within 30 s", lock.display());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let (code, err) = env.fails(&["add", ".zshrc"]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(code, 4);
    assert!(err.contains("pid 4242"), "{err}");
    assert!(!env.store().join("dot_zshrc").exists());
}

#[test]
fn special_files_are_refused_by_name() {
    let env = TestEnv::new();
    env.init();
    let fifo = env.home.join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (_, err) = env.fails(&["add", "pipe"]);
    assert!(err.contains("named pipe") && err.contains("pipe"), "{err}");
    let mode = fs::symlink_metadata(&fifo).unwrap().permissions().mode();
    assert_ne!(mode, 0);
}
