//! `dotback service`: the systemd user unit it writes (checked by `systemd-analyze verify`), the
//! service manager calls it makes (against a stand-in `systemctl` that logs them: a test never
//! talks to a real user manager), and `status` with the watcher's status file.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

fn unit(env: &TestEnv) -> PathBuf {
    env.config_home.join("systemd/user/dotback.service")
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(out)))
}

/// Puts a `systemctl` first on `env`'s PATH that logs its arguments to the returned file and
/// runs `body` (sh).
fn fake_systemctl(env: &mut TestEnv, body: &str) -> PathBuf {
    let bin = env.root.join("fake-bin");
    fs::create_dir_all(&bin).unwrap();
    let log = env.root.join("systemctl.log");
    let script = format!("#!/bin/sh\necho \"$*\" >> '{}'\n{body}\n", log.display());
    fs::write(bin.join("systemctl"), script).unwrap();
    fs::set_permissions(bin.join("systemctl"), fs::Permissions::from_mode(0o755)).unwrap();
    env.extra_path.insert(0, bin);
    log
}

fn calls(log: &PathBuf) -> Vec<String> {
    fs::read_to_string(log).unwrap_or_default().lines().map(str::to_string).collect()
}

#[test]
fn install_writes_a_unit_systemd_verifies_with_no_secret_in_it_and_twice_changes_nothing() {
    let env = TestEnv::new();
    env.init();
    let out = env.ok(&["service", "install", "--no-start", "--json"]);
    let report = json(&out);
    assert_eq!(report["changed"], true);
    assert_eq!(report["path"], unit(&env).to_str().unwrap());
    assert_eq!(report["commands"], serde_json::json!([]), "--no-start runs no service manager command");
    assert_eq!(report["headless"], true, "no DISPLAY in the test's environment");
    let text = fs::read_to_string(unit(&env)).unwrap();
    assert_eq!(fs::metadata(unit(&env)).unwrap().permissions().mode() & 0o777, 0o644);
    let exe = env!("CARGO_BIN_EXE_dotback");
    assert!(text.contains(&format!("ExecStart=\"{exe}\" watch\n")), "{text}");
    assert!(text.contains(&format!("Environment=\"XDG_STATE_HOME={}\"", env.state_home.display())), "{text}");
    assert!(text.lines().any(|l| l == "Restart=on-failure") && text.contains("WantedBy=default.target"));
    // No secret: neither the recovery passphrase nor the device identity.
    let identity = fs::read_to_string(env.identity_file()).unwrap();
    let key = identity.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).expect("an age identity");
    assert!(!text.contains(PASSPHRASE) && !text.contains(key) && !text.contains("AGE-SECRET-KEY"), "{text}");

    // Again: the same file, left as it is.
    let before = fs::metadata(unit(&env)).unwrap().modified().unwrap();
    let again = env.ok(&["service", "install", "--no-start", "--json"]);
    assert_eq!(json(&again)["changed"], false);
    assert_eq!(fs::read_to_string(unit(&env)).unwrap(), text);
    assert_eq!(fs::metadata(unit(&env)).unwrap().modified().unwrap(), before);

    // Text output: where it went, how to start it, and the linger hint on a headless machine;
    // no hint with a graphical session.
    let out = env.ok(&["service", "install", "--no-start"]);
    let err = stderr(&out);
    assert!(err.contains("is up to date") && err.contains("systemctl --user enable --now dotback.service"), "{err}");
    assert!(err.contains("loginctl enable-linger"), "{err}");
    let out = env.cmd(&["service", "install", "--no-start"]).env("WAYLAND_DISPLAY", "wayland-0").output().unwrap();
    assert!(out.status.success() && !stderr(&out).contains("enable-linger"), "{}", show(&out));

    if !require("systemd-analyze") {
        return;
    }
    // A user manager's view of the unit, without a running systemd.
    let runtime = env.root.join("runtime");
    fs::create_dir(&runtime).unwrap();
    fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["--user", "verify"])
        .arg(unit(&env))
        .env_clear()
        .envs(env.envs())
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "systemd-analyze verify: {}\n{text}", show(&out));
}

#[test]
fn install_enables_and_starts_it_and_uninstall_stops_and_removes_it() {
    let mut env = TestEnv::new();
    env.init();
    let log = fake_systemctl(&mut env, "case \"$*\" in *is-active*) echo active ;; esac");
    let out = env.ok(&["service", "install"]);
    assert!(stderr(&out).contains("Enabled and started"), "{}", show(&out));
    assert_eq!(calls(&log), ["--user daemon-reload", "--user enable --now dotback.service"]);

    let status = json(&env.ok(&["service", "status", "--json"]));
    assert_eq!((status["installed"].clone(), status["running"].clone()), (true.into(), true.into()), "{status}");
    assert_eq!(status["state"], "active");
    assert!(stdout(&env.ok(&["service", "status"])).contains("running (active)"));

    // A changed unit (dotback's locations moved) restarts a running service.
    fs::write(unit(&env), "[Service]\nExecStart=/old/dotback watch\n").unwrap();
    fs::remove_file(&log).unwrap();
    let report = json(&env.ok(&["service", "install", "--json"]));
    assert_eq!(report["changed"], true);
    let expected =
        ["--user daemon-reload", "--user try-restart dotback.service", "--user enable --now dotback.service"];
    assert_eq!(calls(&log), expected);

    fs::remove_file(&log).unwrap();
    let out = env.ok(&["service", "uninstall"]);
    assert!(stderr(&out).contains("Stopped and disabled"), "{}", show(&out));
    assert_eq!(calls(&log), ["--user disable --now dotback.service", "--user daemon-reload"]);
    assert!(!unit(&env).exists());
    let again = json(&env.ok(&["service", "uninstall", "--json"]));
    assert_eq!(again["changed"], false, "nothing left to remove");
    assert_eq!(calls(&log).len(), 2, "and nothing to stop");
}

#[test]
fn without_a_user_manager_install_says_so_and_uninstall_still_removes_the_unit() {
    let mut env = TestEnv::new();
    env.init();
    let log = fake_systemctl(&mut env, "echo 'Failed to connect to bus: No medium found' >&2; exit 1");
    let (code, err) = env.fails(&["service", "install"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("user manager cannot be reached") && err.contains("No medium found"), "{err}");
    assert!(err.contains("loginctl enable-linger") && err.contains("--no-start"), "{err}");
    assert!(unit(&env).is_file(), "the unit is written all the same");

    let status = json(&env.ok(&["service", "status", "--json"]));
    assert_eq!(status["installed"], true);
    assert_eq!(status["running"], serde_json::Value::Null, "unknown: {status}");
    assert!(status["state"].as_str().unwrap().contains("Failed to connect to bus"), "{status}");

    let out = env.ok(&["service", "uninstall", "--json"]);
    let report = json(&out);
    assert_eq!(report["changed"], true);
    assert!(report["unreachable"].as_str().unwrap().contains("No medium found"), "{report}");
    assert!(!unit(&env).exists());
    assert_eq!(calls(&log).last().map(String::as_str), Some("--user disable --now dotback.service"));
}

#[test]
fn status_says_not_installed_and_shows_the_watchers_last_sync_and_error() {
    let env = TestEnv::new();
    let status = json(&env.ok(&["service", "status", "--json"]));
    assert_eq!(status["installed"], false);
    assert_eq!(status["watch"], serde_json::Value::Null);
    let text = stdout(&env.ok(&["service", "status"]));
    assert!(text.contains("not installed") && text.contains("no status yet"), "{text}");

    let state = env.state_home.join("dotback");
    fs::create_dir_all(&state).unwrap();
    let watch = serde_json::json!({
        "pid": 4242,
        "started": "2024-05-01T08:00:00Z",
        "last_commit": { "id": "0a1b2c3d", "time": "2024-05-01T09:15:00Z" },
        "last_push": { "origin": "2024-05-01T09:15:01Z", "usb": "2024-04-30T18:00:00Z" },
        "pending_pushes": 1,
        "conflicts": 2,
        "last_error": { "message": "remote `usb` could not be reached", "time": "2024-05-01T09:15:02Z" },
        "updated": "2024-05-01T09:15:02Z"
    });
    fs::write(state.join("watch.json"), watch.to_string()).unwrap();
    let text = stdout(&env.ok(&["service", "status"]));
    for expected in [
        "not installed",
        "pid 4242",
        "Last commit: 0a1b2c3d at 2024-05-01T09:15:00Z",
        "Last push to `origin`: 2024-05-01T09:15:01Z",
        "Last push to `usb`: 2024-04-30T18:00:00Z",
        "Pushes pending: 1",
        "Conflicts waiting: 2",
        "Last error: remote `usb` could not be reached at 2024-05-01T09:15:02Z",
    ] {
        assert!(text.contains(expected), "{expected}:\n{text}");
    }
    let status = json(&env.ok(&["service", "status", "--json"]));
    assert_eq!(status["watch"], watch);
}

#[test]
fn install_on_a_device_not_set_up_is_a_configuration_error_and_writes_nothing() {
    let env = TestEnv::new();
    let (code, err) = env.fails(&["service", "install", "--no-start"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("dotback init"), "{err}");
    assert!(!unit(&env).exists());
}

/// `templates/dotback-check.*` and `dotback-drill.*`: a daily `check --alert` and a monthly
/// `drill`, as systemd user timers, verified by `systemd-analyze` with the binary filled in.
#[test]
fn the_check_and_drill_timers_are_valid_user_units() {
    if !require("systemd-analyze") {
        return;
    }
    let env = TestEnv::new();
    let dir = env.root.join("units");
    fs::create_dir(&dir).unwrap();
    let templates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for name in ["dotback-check.service", "dotback-check.timer", "dotback-drill.service", "dotback-drill.timer"] {
        let text = fs::read_to_string(templates.join(name)).unwrap();
        fs::write(dir.join(name), text.replace("@DOTBACK@", env!("CARGO_BIN_EXE_dotback"))).unwrap();
    }
    let check = fs::read_to_string(dir.join("dotback-check.service")).unwrap();
    assert!(check.contains(&format!("ExecStart={} check --alert", env!("CARGO_BIN_EXE_dotback"))), "{check}");
    assert!(fs::read_to_string(dir.join("dotback-drill.timer")).unwrap().contains("OnCalendar=monthly"));
    let runtime = env.root.join("runtime");
    fs::create_dir(&runtime).unwrap();
    fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
    for timer in ["dotback-check.timer", "dotback-drill.timer"] {
        let out = Command::new("systemd-analyze")
            .args(["--user", "verify"])
            .arg(dir.join(timer))
            .env_clear()
            .envs(env.envs())
            .env("XDG_RUNTIME_DIR", &runtime)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success() && out.stderr.is_empty(), "systemd-analyze verify {timer}: {}", show(&out));
    }
}
