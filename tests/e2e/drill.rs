//! `dotback drill`: a remote restored into a temporary HOME and compared, touching nothing else.

use crate::common::*;
use std::fs;
use std::path::Path;

/// A device with plain files, a private one and a secret, synced to a bare remote.
fn device() -> (TestEnv, std::path::PathBuf) {
    let (a, remote) = synced_with_zshrc("export A=1\n");
    a.write(".config/app/settings.toml", "x = 1\n", 0o600);
    a.write(".netrc", "machine example.org login me password hunter2\n", 0o600);
    a.ok(&["add", ".config/app", ".netrc"]);
    a.ok(&["sync"]);
    (a, remote)
}

fn leftovers(env: &TestEnv) -> Vec<String> {
    fs::read_dir(env.state_home.join("dotback"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("drill-"))
        .collect()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", show(out)))
}

#[test]
fn a_drill_of_a_bare_remote_verifies_every_file_and_touches_nothing() {
    let (a, remote) = device();
    let (home, head) = (snapshot(&a.home), remote_head(&remote));
    let out = a.cmd(&["drill", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let r = json(&out);
    assert_eq!(r["mismatches"], serde_json::json!([]), "{r}");
    assert_eq!(r["verified"], 5, "~/.zshrc, ~/.config, ~/.config/app, its file and ~/.netrc: {r}");
    assert!(r["rto_secs"].as_f64().unwrap() > 0.0);
    assert_eq!(snapshot(&a.home), home, "HOME untouched");
    assert_eq!(remote_head(&remote), head, "the remote untouched");
    assert!(leftovers(&a).is_empty(), "the temporary directories are gone");
    let audit = all_text(&a.store().join(".dotback/audit"));
    assert!(audit.contains("\"command\":\"drill (identity)\"") && audit.contains("\"outcome\":\"ok\""), "{audit}");
}

#[test]
fn a_drill_of_a_remote_missing_a_recent_push_names_the_file() {
    let (a, _remote) = device();
    a.write(".zshrc", "export A=2\n", 0o644);
    a.ok(&["commit"]);
    let out = a.cmd(&["drill", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let r = json(&out);
    let m = r["mismatches"].as_array().unwrap();
    assert_eq!(m.len(), 1, "{r}");
    assert_eq!(m[0]["path"], ".zshrc");
    assert!(m[0]["what"].as_str().unwrap().contains("differs from this device's store"), "{r}");
}

#[test]
fn a_recovery_drill_passes_with_the_passphrase_and_fails_cleanly_without() {
    let (a, remote) = device();
    let pass = a.passphrase_file();
    let out = a.cmd(&["drill", "--recovery", "--passphrase-file", pass.to_str().unwrap(), "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(json(&out)["with"], "recovery");
    let wrong = a.root.join("wrong");
    fs::write(&wrong, "not the passphrase\n").unwrap();
    let head = remote_head(&remote);
    let out = a.cmd(&["drill", "--recovery", "--passphrase-file", wrong.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("passphrase"), "{}", show(&out));
    assert!(leftovers(&a).is_empty());
    assert_eq!(remote_head(&remote), head);
}

#[test]
fn a_drill_over_ssh_passes() {
    use crate::sync_ssh::{Sshd, bare, keygen};
    let (a, _remote) = device();
    let Some(sshd) = Sshd::start(&a.root.join("sshd")) else { return };
    keygen(&a.home.join(".ssh/id_ed25519"));
    sshd.authorize(&a.home.join(".ssh/id_ed25519.pub"));
    fs::write(a.home.join(".ssh/known_hosts"), sshd.known_hosts_line()).unwrap();
    let server = TestEnv::new();
    let repo = bare(&server);
    a.ok(&["remote", "add", "ssh", &sshd.url(&repo)]);
    a.ok(&["sync"]);
    let out = a.cmd(&["drill", "--remote", "ssh", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(json(&out)["remote"], "ssh");
    assert!(Path::new(&repo).exists());
}

fn set_alert(env: &TestEnv, file: &Path) {
    let cfg = env.config_home.join("dotback/config.toml");
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(&cfg, format!("{text}alert_command = \"cat > '{}'\"\n", file.display())).unwrap();
}

#[test]
fn a_failed_drill_alerts_with_alert_and_is_recorded_as_failed() {
    let (a, remote) = device();
    let alert = a.root.join("alert.json");
    set_alert(&a, &alert);
    a.ok(&["drill", "--alert"]);
    assert!(!alert.exists(), "a passing drill sends no alert");

    a.write(".zshrc", "export A=2\n", 0o644);
    a.ok(&["commit"]);
    let out = a.cmd(&["drill"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(!alert.exists(), "no alert without --alert");
    let out = a.cmd(&["drill", "--alert"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let sent: serde_json::Value = serde_json::from_slice(&fs::read(&alert).unwrap()).unwrap();
    assert_eq!((&sent["source"], &sent["worst"]), (&"drill".into(), &"error".into()), "{sent}");
    let f = &sent["findings"][0];
    assert_eq!((&f["area"], &f["path"]), (&"drill".into(), &"~/.zshrc".into()), "{sent}");
    fs::remove_file(&alert).unwrap();

    // A remote that is gone: the drill cannot finish, alerts, and check shows it failed.
    fs::rename(&remote, remote.with_extension("gone")).unwrap();
    let out = a.cmd(&["drill", "--alert"]).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", show(&out));
    let sent: serde_json::Value = serde_json::from_slice(&fs::read(&alert).unwrap()).unwrap();
    assert!(sent["findings"][0]["message"].as_str().unwrap().contains("could not finish"), "{sent}");
    assert!(leftovers(&a).is_empty());
    let audit = all_text(&a.store().join(".dotback/audit"));
    assert!(audit.contains("\"outcome\":\"error\""), "{audit}");
    let out = a.cmd(&["check", "--json"]).output().unwrap();
    let r = json(&out);
    let drill = r["findings"].as_array().unwrap().iter().find(|f| f["area"] == "drill").unwrap().clone();
    assert!(drill["message"].as_str().unwrap().contains("could not finish"), "{r}");
}
