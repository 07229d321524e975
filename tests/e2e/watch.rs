//! `dotback watch`: real watchers in the background on temporary HOMEs, a real bare remote.
//! Timeouts are generous (the machine is shared); the benchmark measures speed.

use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A `dotback watch` running in the background; stopped with SIGTERM when dropped.
pub(crate) struct Watching {
    child: Option<Child>,
    log: PathBuf,
}

impl Watching {
    pub(crate) fn start(env: &TestEnv) -> Watching {
        Watching::start_with(env, &[])
    }

    pub(crate) fn start_with(env: &TestEnv, vars: &[(&str, &str)]) -> Watching {
        let log = env.root.join(format!("watch-{}.log", std::process::id()));
        let log = next_free(log);
        let child = env
            .cmd(&["watch"])
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let w = Watching { child: Some(child), log };
        w.wait_for_line("ready: ");
        w
    }

    pub(crate) fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has a line containing `text`.
    pub(crate) fn wait_for_line(&self, text: &str) {
        let log = &self.log;
        eventually(
            &format!("a watcher log line with `{text}`"),
            || fs::read_to_string(log).unwrap_or_default().contains(text),
            || self.log(),
        );
    }

    fn signal(&mut self, sig: i32) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        // SAFETY: signalling a child this test started.
        unsafe { libc::kill(child.id() as i32, sig) };
        child.wait().unwrap()
    }

    /// SIGTERM, then waits for it to stop; returns its log.
    pub(crate) fn stop(mut self) -> String {
        let status = self.signal(libc::SIGTERM);
        assert!(status.success(), "the watcher stops cleanly on SIGTERM: {status:?}\n{}", self.log());
        self.log()
    }

    pub(crate) fn kill(mut self) {
        self.signal(libc::SIGKILL);
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.signal(libc::SIGKILL);
        }
    }
}

fn next_free(p: PathBuf) -> PathBuf {
    let mut n = 0;
    loop {
        let candidate = p.with_extension(format!("{n}.log"));
        if !candidate.exists() {
            return candidate;
        }
        n += 1;
    }
}

/// Polls `ok` for up to a minute; fails naming `what` and showing `context()`.
pub(crate) fn eventually(what: &str, mut ok: impl FnMut() -> bool, context: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}:\n{}", context());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The subjects of the remote's commits, newest first.
fn remote_log(remote: &Path) -> String {
    let out = git_cleared().arg("--git-dir").arg(remote).args(["log", "--format=%s", "main"]).output().unwrap();
    stdout(&out)
}

/// A content file of the remote's newest commit.
fn remote_file(remote: &Path, path: &str) -> Option<Vec<u8>> {
    let out = git_cleared().arg("--git-dir").arg(remote).args(["show", &format!("main:{path}")]).output().unwrap();
    out.status.success().then_some(out.stdout)
}

/// Device A with ~/.zshrc, a tracked directory and an ssh key, synced; `pull_interval` short.
fn watched_device() -> (TestEnv, PathBuf) {
    let (a, remote) = synced_with_zshrc("export A=1\n");
    a.write(".config/app/settings.conf", "one\n", 0o644);
    a.write(
        ".ssh/id_ed25519",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nfirst\n-----END OPENSSH PRIVATE KEY-----\n",
        0o600,
    );
    a.ok(&["add", ".config/app", ".ssh/id_ed25519"]);
    a.ok(&["sync"]);
    short_poll(&a);
    (a, remote)
}

/// A new device restored from `remote` by `dotback bootstrap` (a recipient), polling often.
fn bootstrapped(remote: &Path, name: &str) -> TestEnv {
    let b = TestEnv::new();
    let pass = b.passphrase_file();
    b.ok(&["bootstrap", remote.to_str().unwrap(), "--device", name, "--passphrase-file", pass.to_str().unwrap()]);
    short_poll(&b);
    b
}

fn short_poll(env: &TestEnv) {
    let cfg = env.config_home.join("dotback/config.toml");
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(&cfg, format!("{text}pull_interval = \"1s\"\n")).unwrap();
}

fn pushed(remote: &Path, what: &str, w: &Watching) {
    eventually(
        &format!("a pushed commit naming {what}"),
        || remote_log(remote).contains(what),
        || format!("{}\n{}", remote_log(remote), w.log()),
    );
}

#[test]
fn every_kind_of_save_becomes_a_pushed_commit_and_another_watcher_applies_it() {
    let (a, remote) = watched_device();
    let b = bootstrapped(&remote, "b");
    let wa = Watching::start(&a);
    let wb = Watching::start(&b);

    // Edited in place.
    fs::write(a.home.join(".zshrc"), "export A=2\n").unwrap();
    pushed(&remote, "update ~/.zshrc", &wa);
    // Replaced by rename, as editors do.
    let n = remote_log(&remote).lines().count();
    fs::write(a.home.join(".zshrc.tmp"), "export A=3\n").unwrap();
    fs::rename(a.home.join(".zshrc.tmp"), a.home.join(".zshrc")).unwrap();
    eventually(
        "the rename's commit",
        || remote_file(&remote, "dot_zshrc").as_deref() == Some(b"export A=3\n"),
        || wa.log(),
    );
    assert!(remote_log(&remote).lines().count() > n);
    // Saved as vim does (backupcopy=auto): the file renamed to a backup, a new one written, the
    // backup removed.
    fs::rename(a.home.join(".zshrc"), a.home.join(".zshrc~")).unwrap();
    fs::write(a.home.join(".zshrc"), "export A=4\n").unwrap();
    fs::remove_file(a.home.join(".zshrc~")).unwrap();
    eventually(
        "vim's save pushed",
        || remote_file(&remote, "dot_zshrc").as_deref() == Some(b"export A=4\n"),
        || wa.log(),
    );
    // A new file in a tracked directory.
    fs::write(a.home.join(".config/app/extra.conf"), "new\n").unwrap();
    pushed(&remote, "~/.config/app/extra.conf", &wa);
    // A deleted file.
    fs::remove_file(a.home.join(".config/app/settings.conf")).unwrap();
    eventually("the deletion pushed", || remote_file(&remote, "dot_config/app/settings.conf").is_none(), || wa.log());
    // An edited ssh private key: encrypted in git.
    fs::write(
        a.home.join(".ssh/id_ed25519"),
        "-----BEGIN OPENSSH PRIVATE KEY-----\nsecond\n-----END OPENSSH PRIVATE KEY-----\n",
    )
    .unwrap();
    pushed(&remote, "~/.ssh/id_ed25519", &wa);
    assert!(!history_text(&remote).contains("second"), "the key never reaches git in plaintext");

    // B's watcher applied them all.
    eventually(
        "B has A's edits",
        || {
            b.home.join(".config/app/extra.conf").exists()
                && !b.home.join(".config/app/settings.conf").exists()
                && fs::read_to_string(b.home.join(".zshrc")).ok().as_deref() == Some("export A=4\n")
                && fs::read_to_string(b.home.join(".ssh/id_ed25519")).is_ok_and(|k| k.contains("second"))
        },
        || wb.log(),
    );
    let (la, lb) = (wa.stop(), wb.stop());
    assert!(la.contains("pushed to origin"), "{la}");
    assert!(lb.contains("applied"), "{lb}");
}

#[test]
fn a_second_watcher_is_refused_naming_the_first() {
    let (a, _remote) = watched_device();
    let w = Watching::start(&a);
    let out = a.cmd(&["watch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", show(&out));
    assert!(stderr(&out).contains("another watcher runs for this store (pid"), "{}", show(&out));
    w.stop();
}

#[test]
fn both_devices_editing_one_file_at_once_merge_as_sync_would() {
    let (a, remote) = synced_with_zshrc("line 1\nline 2\nline 3\nline 4\nline 5\n");
    short_poll(&a);
    let b = bootstrapped(&remote, "b");
    let (wa, wb) = (Watching::start(&a), Watching::start(&b));
    fs::write(a.home.join(".zshrc"), "line 1 from a\nline 2\nline 3\nline 4\nline 5\n").unwrap();
    fs::write(b.home.join(".zshrc"), "line 1\nline 2\nline 3\nline 4\nline 5 from b\n").unwrap();
    let merged = "line 1 from a\nline 2\nline 3\nline 4\nline 5 from b\n";
    for (env, w) in [(&a, &wa), (&b, &wb)] {
        eventually(
            "both edits on the device",
            || fs::read_to_string(env.home.join(".zshrc")).ok().as_deref() == Some(merged),
            || w.log(),
        );
    }
    eventually(
        "the merge on the remote",
        || remote_file(&remote, "dot_zshrc").as_deref() == Some(merged.as_bytes()),
        || wa.log() + &wb.log(),
    );
    wa.stop();
    wb.stop();
}

#[test]
fn commits_wait_while_the_remote_is_away_and_are_pushed_when_it_is_back() {
    let (a, remote) = watched_device();
    let w = Watching::start(&a);
    let away = remote.with_extension("away");
    fs::rename(&remote, &away).unwrap();
    fs::write(a.home.join(".zshrc"), "export OFFLINE=1\n").unwrap();
    w.wait_for_line("could not reach origin");
    let local = stdout(&a.git(&["log", "-1", "--format=%s"]));
    assert!(local.contains("~/.zshrc"), "committed locally meanwhile: {local}");
    fs::rename(&away, &remote).unwrap();
    eventually(
        "the queued commit pushed",
        || remote_file(&remote, "dot_zshrc").as_deref() == Some(b"export OFFLINE=1\n"),
        || w.log(),
    );
    w.stop();
}

#[test]
fn edits_made_while_no_watcher_ran_are_captured_at_the_next_start() {
    let (a, remote) = watched_device();
    let w = Watching::start(&a);
    for k in 0..20 {
        fs::write(a.home.join(format!(".config/app/burst{k}.conf")), format!("{k}\n")).unwrap();
    }
    // Stopped in the middle of the burst: what it saw is committed before it exits.
    let log = w.stop();
    assert!(log.contains("stopped"), "{log}");
    // Edited while no watcher runs.
    fs::write(a.home.join(".zshrc"), "export WHILE_DOWN=1\n").unwrap();
    let w = Watching::start(&a);
    eventually(
        "every file of the burst and the edit on the remote",
        || {
            (0..20).all(|k| remote_file(&remote, &format!("dot_config/app/burst{k}.conf")).is_some())
                && remote_file(&remote, "dot_zshrc").as_deref() == Some(b"export WHILE_DOWN=1\n")
        },
        || w.log(),
    );
    w.stop();
}

#[test]
fn a_watcher_killed_at_random_points_loses_nothing() {
    let (a, remote) = watched_device();
    let mut rng = Rng(0x5eed_1234_abcd);
    let mut w = Watching::start(&a);
    for k in 0..50u64 {
        let name = format!(".config/app/f{}.conf", k % 7);
        fs::write(a.home.join(&name), format!("edit {k}\n")).unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(80)));
        if rng.below(5) == 0 {
            w.kill();
            let fsck = a.git(&["fsck", "--no-progress"]);
            assert!(fsck.status.success(), "git fsck is clean after a kill: {}", show(&fsck));
            w = Watching::start(&a);
        }
    }
    // Nothing lost: every file's last edit reaches the remote.
    eventually(
        "the last edits on the remote",
        || {
            (43..50u64).all(|k| {
                remote_file(&remote, &format!("dot_config/app/f{}.conf", k % 7)).as_deref()
                    == Some(format!("edit {k}\n").as_bytes())
            })
        },
        || w.log(),
    );
    w.stop();
    let status = a.ok(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(v["targets"], serde_json::json!([]), "HOME and the store agree: {v}");
    assert_eq!(v["uncommitted"], serde_json::json!([]), "{v}");
}

#[test]
fn a_tracked_directory_deleted_and_recreated_is_watched_again() {
    let (a, remote) = watched_device();
    let w = Watching::start(&a);
    fs::remove_dir_all(a.home.join(".config/app")).unwrap();
    eventually("the deletion pushed", || remote_file(&remote, "dot_config/app/settings.conf").is_none(), || w.log());
    fs::create_dir_all(a.home.join(".config/app")).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    fs::write(a.home.join(".config/app/again.conf"), "back\n").unwrap();
    eventually(
        "the new file in the recreated directory pushed",
        || remote_file(&remote, "dot_config/app/again.conf").is_some(),
        || w.log(),
    );
    fs::write(a.home.join(".config/app/again.conf"), "edited\n").unwrap();
    eventually(
        "an edit in it pushed",
        || remote_file(&remote, "dot_config/app/again.conf").as_deref() == Some(b"edited\n"),
        || w.log(),
    );
    w.stop();
}

#[test]
fn past_the_watch_limit_the_unwatched_directories_are_scanned_instead() {
    let (a, remote) = watched_device();
    // The test seam refuses every watch after the first, as the inotify limit does.
    let w = Watching::start_with(&a, &[("DOTBACK_TEST_WATCH_LIMIT", "1")]);
    w.wait_for_line("max_user_watches");
    fs::write(a.home.join(".config/app/settings.conf"), "seen by the scan\n").unwrap();
    eventually(
        "the edit in the unwatched directory pushed",
        || remote_file(&remote, "dot_config/app/settings.conf").as_deref() == Some(b"seen by the scan\n"),
        || w.log(),
    );
    let log = w.stop();
    assert_eq!(log.matches("max_user_watches").count(), 1, "said once: {log}");
}

#[test]
fn without_an_identity_plain_files_and_secrets_are_still_committed() {
    let (a, remote) = watched_device();
    fs::rename(a.identity_file(), a.root.join("identity.away")).unwrap();
    let w = Watching::start(&a);
    fs::write(a.home.join(".zshrc"), "export NO_ID=1\n").unwrap();
    fs::write(
        a.home.join(".ssh/id_ed25519"),
        "-----BEGIN OPENSSH PRIVATE KEY-----\nno identity\n-----END OPENSSH PRIVATE KEY-----\n",
    )
    .unwrap();
    eventually(
        "both pushed",
        || {
            remote_file(&remote, "dot_zshrc").as_deref() == Some(b"export NO_ID=1\n")
                && remote_log(&remote).lines().take(3).any(|l| l.contains("id_ed25519"))
        },
        || w.log(),
    );
    assert!(!history_text(&remote).contains("no identity"), "the key is encrypted without an identity");
    w.stop();
}

#[test]
fn status_shows_the_running_watcher_and_the_audit_trail_gets_one_record_per_push() {
    let (a, remote) = watched_device();
    let none = a.ok(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&none.stdout).unwrap();
    assert!(v["watcher"].is_null(), "no watcher yet: {v}");
    let w = Watching::start(&a);
    fs::write(a.home.join(".zshrc"), "export SEEN=1\n").unwrap();
    pushed(&remote, "update ~/.zshrc", &w);
    eventually(
        "the status file after the push",
        || {
            let out = a.ok(&["status", "--json"]);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            v["watcher"]["last_push"]["origin"].is_string() && v["watcher"]["last_commit"]["id"].is_string()
        },
        || w.log(),
    );
    let text = stdout(&a.ok(&["status"]));
    assert!(text.contains("Watcher: running since"), "{text}");
    w.stop();
    let audit: String =
        walk_files(&a.store().join(".dotback/audit")).iter().map(|p| fs::read_to_string(p).unwrap()).collect();
    assert_eq!(audit.matches("\"command\":\"watch\"").count(), 1, "one record for the one push: {audit}");
}

fn walk_files(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

#[test]
fn a_mass_deletion_is_held_by_the_guard_and_the_rest_is_still_watched() {
    let (a, remote) = watched_device();
    for k in 0..30 {
        a.write(&format!(".config/many/f{k}.conf"), &format!("{k}\n"), 0o644);
    }
    a.ok(&["add", ".config/many"]);
    a.ok(&["sync"]);
    let w = Watching::start(&a);
    for k in 0..30 {
        fs::remove_file(a.home.join(format!(".config/many/f{k}.conf"))).unwrap();
    }
    w.wait_for_line("the deletion guard held back");
    fs::write(a.home.join(".zshrc"), "export AFTER=1\n").unwrap();
    eventually(
        "the edit after the held deletions",
        || remote_file(&remote, "dot_zshrc").as_deref() == Some(b"export AFTER=1\n"),
        || w.log(),
    );
    assert!(
        (0..30).all(|k| remote_file(&remote, &format!("dot_config/many/f{k}.conf")).is_some()),
        "no deletion recorded"
    );
    let log = w.stop();
    assert!(log.contains("--allow-deletions"), "says how to go on: {log}");
}

#[test]
fn a_refused_sync_and_commits_waiting_past_the_rpo_each_alert_once() {
    let (a, remote) = watched_device();
    let alerts = a.root.join("alerts.jsonl");
    let cfg = a.config_home.join("dotback/config.toml");
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(
        &cfg,
        format!(
            "{text}rpo = \"2s\"\nalert_command = \"cat >> '{}'; echo >> '{}'\"\n",
            alerts.display(),
            alerts.display()
        ),
    )
    .unwrap();
    let usb = bare(&a, "usb.git");
    a.ok(&["remote", "add", "usb", usb.to_str().unwrap()]);
    a.ok(&["sync"]);
    let w = Watching::start(&a);
    // Someone rewrites both remotes' history: the watcher refuses to merge them, and alerts.
    for (name, url) in [("origin", &remote), ("usb", &usb)] {
        let other = a.root.join(format!("rewriter-{name}"));
        a.git_in(&a.root, &["clone", "-q", url.to_str().unwrap(), other.to_str().unwrap()]);
        let who = ["-c", "user.name=Someone", "-c", "user.email=someone@example.org"];
        a.git_in(&other, &[&who[..], &["commit", "-q", "--amend", "-m", "rewritten"]].concat());
        a.git_in(&other, &["push", "-q", "--force", "origin", "main"]);
    }
    w.wait_for_line("usb refused the sync");
    let read = || -> Vec<serde_json::Value> {
        fs::read_to_string(&alerts)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    eventually("a refusal alert", || !read().is_empty(), || w.log());
    let first = read()[0].clone();
    assert_eq!((&first["source"], &first["worst"]), (&"watch".into(), &"error".into()), "{first}");
    assert!(first["findings"][0]["message"].as_str().unwrap().contains("rewritten"), "{first}");
    for n in 2..4 {
        fs::write(a.home.join(".zshrc"), format!("export REFUSED={n}\n")).unwrap();
        eventually("both refusing again", || w.log().matches("usb refused the sync").count() >= n, || w.log());
    }
    // Then the remote is out of reach: commits wait, and past the RPO that is alerted, once.
    fs::rename(&remote, remote.with_extension("away")).unwrap();
    fs::rename(&usb, usb.with_extension("away")).unwrap();
    fs::write(a.home.join(".zshrc"), "export OFFLINE=1\n").unwrap();
    eventually(
        "an RPO alert",
        || read().iter().any(|v| v["findings"][0]["message"].as_str().unwrap_or("").contains("RPO of 2s")),
        || format!("{:?}\n{}", read(), w.log()),
    );
    let tries = w.log().matches("could not reach").count();
    eventually("two more tries to push", || w.log().matches("could not reach").count() >= tries + 2, || w.log());
    let log = w.stop();
    let all = read();
    let refusals = all.iter().filter(|v| v["findings"][0]["message"].as_str().unwrap().contains("refused")).count();
    let stale = all.iter().filter(|v| v["findings"][0]["message"].as_str().unwrap().contains("RPO")).count();
    assert_eq!((refusals, stale), (2, 1), "each problem is alerted once: {all:?}\n{log}");
}
