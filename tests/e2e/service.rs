//! `dotback service`: the systemd user units and timers it writes (checked by `systemd-analyze
//! verify`), the service manager calls it makes (against a stand-in `systemctl` that logs them: a
//! test never talks to a real user manager), and `status` with the watcher's status file.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

fn unit(env: &TestEnv) -> PathBuf {
    env.config_home.join("systemd/user/dotback.service")
}

/// The watcher's unit, then the check and drill schedules' services and timers.
const UNITS: [&str; 5] =
    ["dotback.service", "dotback-check.service", "dotback-check.timer", "dotback-drill.service", "dotback-drill.timer"];
const ENABLE: &str = "--user enable --now dotback.service dotback-check.timer dotback-drill.timer";

fn units(env: &TestEnv) -> Vec<PathBuf> {
    UNITS.iter().map(|u| env.config_home.join("systemd/user").join(u)).collect()
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
fn install_writes_units_and_timers_systemd_verifies_with_no_secret_in_them_and_twice_changes_nothing() {
    let env = TestEnv::new();
    env.init();
    let out = env.ok(&["service", "install", "--no-start", "--json"]);
    let report = json(&out);
    assert_eq!(report["changed"], true);
    assert_eq!(report["path"], unit(&env).to_str().unwrap());
    let files: Vec<serde_json::Value> =
        units(&env).iter().map(|p| serde_json::json!({ "path": p.to_str().unwrap(), "changed": true })).collect();
    assert_eq!(report["files"], serde_json::Value::from(files), "every file written, the watcher's first");
    assert_eq!(report["units"], serde_json::json!(["dotback.service", "dotback-check.timer", "dotback-drill.timer"]));
    assert_eq!(report["commands"], serde_json::json!([]), "--no-start runs no service manager command");
    assert_eq!(report["headless"], true, "no DISPLAY in the test's environment");
    let text = fs::read_to_string(unit(&env)).unwrap();
    let exe = env!("CARGO_BIN_EXE_dotback");
    assert!(text.contains(&format!("ExecStart=\"{exe}\" watch\n")), "{text}");
    assert!(text.lines().any(|l| l == "Restart=on-failure") && text.contains("WantedBy=default.target"));
    let check = fs::read_to_string(&units(&env)[1]).unwrap();
    assert!(check.contains(&format!("ExecStart=\"{exe}\" check --alert\n")), "{check}");
    let drill = fs::read_to_string(&units(&env)[3]).unwrap();
    assert!(drill.contains(&format!("ExecStart=\"{exe}\" drill --alert\n")), "{drill}");
    assert!(fs::read_to_string(&units(&env)[4]).unwrap().lines().any(|l| l == "OnCalendar=monthly"));
    // No secret in any of them: neither the recovery passphrase nor the device identity.
    let identity = fs::read_to_string(env.identity_file()).unwrap();
    let key = identity.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).expect("an age identity");
    let texts: Vec<String> = units(&env).iter().map(|p| fs::read_to_string(p).unwrap()).collect();
    for (path, text) in units(&env).iter().zip(&texts) {
        assert_eq!(fs::metadata(path).unwrap().permissions().mode() & 0o777, 0o644, "{}", path.display());
        assert!(!text.contains('@'), "every placeholder is filled: {text}");
        assert!(!text.contains(PASSPHRASE) && !text.contains(key) && !text.contains("AGE-SECRET-KEY"), "{text}");
        if path.extension().is_some_and(|e| e == "service") {
            let state = format!("Environment=\"XDG_STATE_HOME={}\"", env.state_home.display());
            assert!(text.contains(&state), "each service runs with dotback's locations: {text}");
        }
    }

    // Again: the same files, left as they are.
    let before: Vec<_> = units(&env).iter().map(|p| fs::metadata(p).unwrap().modified().unwrap()).collect();
    let again = json(&env.ok(&["service", "install", "--no-start", "--json"]));
    assert_eq!(again["changed"], false);
    assert!(again["files"].as_array().unwrap().iter().all(|f| f["changed"] == false), "{again}");
    let after: Vec<_> = units(&env).iter().map(|p| fs::metadata(p).unwrap().modified().unwrap()).collect();
    assert_eq!(after, before);
    assert_eq!(units(&env).iter().map(|p| fs::read_to_string(p).unwrap()).collect::<Vec<_>>(), texts);

    // Text output: where they went, how to start them, and the linger hint on a headless
    // machine; no hint with a graphical session.
    let out = env.ok(&["service", "install", "--no-start"]);
    let err = stderr(&out);
    assert!(err.contains(&format!("{} is up to date", units(&env)[4].display())), "{err}");
    assert!(err.contains(&format!("systemctl {ENABLE}` starts the watcher and the check and drill timers")), "{err}");
    assert!(err.contains("loginctl enable-linger"), "{err}");
    let out = env.cmd(&["service", "install", "--no-start"]).env("WAYLAND_DISPLAY", "wayland-0").output().unwrap();
    assert!(out.status.success() && !stderr(&out).contains("enable-linger"), "{}", show(&out));
    // No alert_command: the timers would find problems and alert no one, and install says so.
    assert_eq!(again["alerts_no_one"], true, "{again}");
    assert!(err.contains("no `alert_command`"), "{err}");
    let cfg = env.config_home.join("dotback/config.toml");
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(&cfg, format!("{text}alert_command = \"true\"\n")).unwrap();
    let out = env.ok(&["service", "install", "--no-start"]);
    assert!(!stderr(&out).contains("no `alert_command`"), "{}", show(&out));

    if !require("systemd-analyze") {
        return;
    }
    // A user manager's view of the units, without a running systemd.
    let runtime = env.root.join("runtime");
    fs::create_dir(&runtime).unwrap();
    fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["--user", "verify"])
        .args(units(&env))
        .env_clear()
        .envs(env.envs())
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "systemd-analyze verify: {}\n{texts:?}", show(&out));
}

#[test]
fn no_timers_installs_only_the_watcher_and_uninstall_removes_only_dotbacks_files() {
    let mut env = TestEnv::new();
    env.init();
    let log = fake_systemctl(&mut env, "");
    let report = json(&env.ok(&["service", "install", "--no-timers", "--json"]));
    assert_eq!(report["files"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["units"], serde_json::json!(["dotback.service"]));
    assert_eq!(calls(&log), ["--user daemon-reload", "--user enable --now dotback.service"]);
    assert!(unit(&env).is_file());
    assert!(units(&env)[1..].iter().all(|p| !p.exists()), "no timer written");
    let out = env.ok(&["service", "install", "--no-start", "--no-timers"]);
    assert!(stderr(&out).contains("starts the watcher."), "{}", show(&out));

    // All five, and a unit of the user's own beside them, which uninstall leaves alone.
    env.ok(&["service", "install", "--no-start"]);
    let own = env.config_home.join("systemd/user/backup-photos.timer");
    fs::write(&own, "[Timer]\nOnCalendar=weekly\n").unwrap();
    fs::remove_file(&log).unwrap();
    let report = json(&env.ok(&["service", "uninstall", "--json"]));
    let removed: Vec<&str> = report["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    let expected: Vec<PathBuf> = units(&env);
    assert_eq!(removed, expected.iter().map(|p| p.to_str().unwrap()).collect::<Vec<_>>());
    assert_eq!(calls(&log), [ENABLE.replace("enable", "disable"), "--user daemon-reload".into()]);
    assert!(units(&env).iter().all(|p| !p.exists()), "all five removed");
    assert_eq!(fs::read_to_string(&own).unwrap(), "[Timer]\nOnCalendar=weekly\n");

    // A schedule's service left without its timer is dotback's file too: removed, nothing to
    // disable.
    fs::write(&units(&env)[1], "[Service]\n").unwrap();
    fs::remove_file(&log).unwrap();
    let out = env.ok(&["service", "uninstall"]);
    assert!(stderr(&out).contains(&format!("Removed {}.", units(&env)[1].display())), "{}", show(&out));
    assert!(!units(&env)[1].exists() && own.exists());
    assert_eq!(calls(&log), ["--user daemon-reload"]);
}

#[test]
fn install_enables_and_starts_it_and_uninstall_stops_and_removes_it() {
    let mut env = TestEnv::new();
    env.init();
    let show_timers = "*show*dotback-check.timer*) printf 'ActiveState=active\\nUnitFileState=enabled\\n\
                       NextElapseUSecRealtime=Sat 2024-06-01 00:42:00 UTC\\n' ;; \
                       *show*dotback-drill.timer*) printf 'UnitFileState=disabled\\nActiveState=inactive\\n\
                       NextElapseUSecRealtime=\\n' ;;";
    let log = fake_systemctl(&mut env, &format!("case \"$*\" in *is-active*) echo active ;; {show_timers} esac"));
    let out = env.ok(&["service", "install"]);
    assert!(stderr(&out).contains("Enabled and started the watcher and the check and drill timers"), "{}", show(&out));
    assert_eq!(calls(&log), ["--user daemon-reload", ENABLE]);

    let status = json(&env.ok(&["service", "status", "--json"]));
    assert_eq!((status["installed"].clone(), status["running"].clone()), (true.into(), true.into()), "{status}");
    assert_eq!(status["state"], "active");
    let check = serde_json::json!({
        "job": "check", "unit": "dotback-check.timer", "path": units(&env)[2].to_str().unwrap(), "installed": true,
        "enabled": true, "active": true, "state": "active", "next_run": "Sat 2024-06-01 00:42:00 UTC"
    });
    let drill = serde_json::json!({
        "job": "drill", "unit": "dotback-drill.timer", "path": units(&env)[4].to_str().unwrap(), "installed": true,
        "enabled": false, "active": false, "state": "inactive", "next_run": null
    });
    assert_eq!(status["timers"], serde_json::json!([check, drill]));
    let text = stdout(&env.ok(&["service", "status"]));
    assert!(text.contains("running (active)"), "{text}");
    assert!(text.contains("enabled, active (active); next run Sat 2024-06-01 00:42:00 UTC."), "{text}");
    assert!(text.contains("dotback-drill.timer (monthly `dotback drill --alert`): installed"), "{text}");
    assert!(text.contains("not enabled, not active (inactive)."), "{text}");

    // A changed unit (dotback's locations moved) restarts a running service, and a changed
    // schedule arms its timer again.
    fs::write(unit(&env), "[Service]\nExecStart=/old/dotback watch\n").unwrap();
    fs::write(&units(&env)[3], "[Service]\nExecStart=/old/dotback drill\n").unwrap();
    fs::remove_file(&log).unwrap();
    let report = json(&env.ok(&["service", "install", "--json"]));
    assert_eq!(report["changed"], true);
    let changed: Vec<bool> = report["files"].as_array().unwrap().iter().map(|f| f["changed"] == true).collect();
    assert_eq!(changed, [true, false, false, true, false]);
    let expected = ["--user daemon-reload", "--user try-restart dotback.service dotback-drill.timer", ENABLE];
    assert_eq!(calls(&log), expected);

    fs::remove_file(&log).unwrap();
    let out = env.ok(&["service", "uninstall"]);
    let err = stderr(&out);
    assert!(err.contains("Stopped and disabled dotback.service, dotback-check.timer, dotback-drill.timer"), "{err}");
    assert!(err.contains(&format!("Removed {}.", units(&env)[4].display())), "{err}");
    assert_eq!(calls(&log), [ENABLE.replace("enable", "disable").as_str(), "--user daemon-reload"]);
    assert!(units(&env).iter().all(|p| !p.exists()));
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
    assert!(units(&env).iter().all(|p| p.is_file()), "the units are written all the same");

    let status = json(&env.ok(&["service", "status", "--json"]));
    assert_eq!(status["installed"], true);
    assert_eq!(status["running"], serde_json::Value::Null, "unknown: {status}");
    assert!(status["state"].as_str().unwrap().contains("Failed to connect to bus"), "{status}");
    for timer in status["timers"].as_array().unwrap() {
        assert_eq!((&timer["installed"], &timer["enabled"]), (&true.into(), &serde_json::Value::Null), "{timer}");
        assert!(timer["state"].as_str().unwrap().contains("Failed to connect to bus"), "{timer}");
    }

    let out = env.ok(&["service", "uninstall", "--json"]);
    let report = json(&out);
    assert_eq!(report["changed"], true);
    assert!(report["unreachable"].as_str().unwrap().contains("No medium found"), "{report}");
    assert_eq!(report["files"].as_array().unwrap().len(), 5, "{report}");
    assert!(units(&env).iter().all(|p| !p.exists()));
    assert_eq!(calls(&log).last(), Some(&ENABLE.replace("enable", "disable")));
}

#[test]
fn status_says_not_installed_and_shows_the_watchers_last_sync_and_error() {
    let env = TestEnv::new();
    let status = json(&env.ok(&["service", "status", "--json"]));
    assert_eq!(status["installed"], false);
    assert_eq!(status["watch"], serde_json::Value::Null);
    let timers: Vec<(&str, bool)> = status["timers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["unit"].as_str().unwrap(), t["installed"].as_bool().unwrap()))
        .collect();
    assert_eq!(timers, [("dotback-check.timer", false), ("dotback-drill.timer", false)]);
    let text = stdout(&env.ok(&["service", "status"]));
    assert!(text.contains("not installed") && text.contains("no status yet"), "{text}");
    assert!(text.contains("Timer dotback-check.timer (daily `dotback check --alert`): not installed"), "{text}");

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
    assert!(units(&env).iter().all(|p| !p.exists()));
}
