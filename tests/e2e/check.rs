//! `dotback check`: each kind of damage found with its finding and exit code (9 warnings, 10
//! errors), and the 3-2-1 report for the setups that matter.

use crate::common::*;
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const WARNINGS: i32 = 9;
const ERRORS: i32 = 10;

/// A device with ~/.zshrc and an encrypted ~/.netrc, synced to a bare remote.
fn device() -> (TestEnv, PathBuf) {
    let (a, remote) = synced_with_zshrc("export A=1\n");
    a.write(".netrc", "machine example.org login me password hunter2\n", 0o600);
    a.ok(&["add", ".netrc"]);
    a.ok(&["sync"]);
    (a, remote)
}

/// `dotback check --json ARGS`: its exit code and report.
fn check(env: &TestEnv, args: &[&str]) -> (i32, Value) {
    let out = env.cmd(&[&["check", "--json"], args].concat()).output().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", show(&out)));
    (out.status.code().unwrap_or(-1), report)
}

/// The findings of `area` at `severity`.
fn found<'a>(r: &'a Value, area: &str, severity: &str) -> Vec<&'a Value> {
    r["findings"].as_array().unwrap().iter().filter(|f| f["area"] == area && f["severity"] == severity).collect()
}

fn git_out(env: &TestEnv, args: &[&str]) -> String {
    stdout(&git_by_hand(env, args)).trim().to_string()
}

/// Where the loose object `id` of `env`'s store is.
fn loose(env: &TestEnv, id: &str) -> PathBuf {
    store_of(env).join(".git/objects").join(&id[..2]).join(&id[2..])
}

/// Whether `git fsck` finds the store sound (the oracle check is compared with).
fn fsck_passes(env: &TestEnv) -> bool {
    std::process::Command::new("git")
        .args(["fsck", "--full"])
        .current_dir(store_of(env))
        .env_clear()
        .envs(env.envs())
        .output()
        .unwrap()
        .status
        .success()
}

fn set_config(env: &TestEnv, line: &str) {
    let path = env.config_home.join("dotback/config.toml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, format!("{text}{line}\n")).unwrap();
}

#[test]
fn a_store_synced_to_a_remote_on_its_own_disk_has_only_the_expected_warnings() {
    let (a, _remote) = device();
    a.ok(&["drill"]);
    let (code, r) = check(&a, &[]);
    assert_eq!(code, WARNINGS, "{r}");
    assert_eq!(r["worst"], "warning");
    let warnings: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "ok")
        .map(|f| f["area"].as_str().unwrap())
        .collect();
    assert_eq!(warnings, ["3-2-1"], "{r}");
    for area in ["integrity", "secrets", "encryption", "drift", "remotes", "staleness", "conflicts", "drill", "storage"]
    {
        assert_eq!(found(&r, area, "ok").len(), 1, "{area}: {r}");
    }
    assert!(found(&r, "encryption", "ok")[0]["message"].as_str().unwrap().contains("decrypt"), "{r}");
    assert_eq!(r["copies"]["verdict"], "not");
    let audit = all_text(&a.store().join(".dotback/audit"));
    assert!(audit.contains("\"command\":\"check\"") && audit.contains("\"outcome\":\"warning\""), "{audit}");
    assert!(fsck_passes(&a));
}

#[test]
fn a_blob_overwritten_on_disk_is_found() {
    let (a, _remote) = device();
    let id = git_out(&a, &["rev-parse", "HEAD:dot_zshrc"]);
    // A valid loose object of other content, at the blob's place.
    let other = TestEnv::new();
    let scratch = other.root.join("scratch");
    other.git_in(&other.root, &["init", "-q", scratch.to_str().unwrap()]);
    fs::write(scratch.join("f"), "export A=666\n").unwrap();
    let forged = stdout(&other.git_in(&scratch, &["hash-object", "-w", "f"])).trim().to_string();
    let path = loose(&a, &id);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    fs::copy(scratch.join(".git/objects").join(&forged[..2]).join(&forged[2..]), &path).unwrap();
    assert!(!fsck_passes(&a), "git fsck finds it too");
    let (code, r) = check(&a, &[]);
    assert_eq!(code, ERRORS, "{r}");
    let bad = found(&r, "integrity", "error");
    assert!(bad.iter().any(|f| f["path"] == "dot_zshrc" && f["message"].as_str().unwrap().contains(&id)), "{r}");
}

#[test]
fn a_missing_object_is_found_also_by_a_quick_check() {
    let (a, _remote) = device();
    let id = git_out(&a, &["rev-parse", "HEAD:dot_zshrc"]);
    fs::remove_file(loose(&a, &id)).unwrap();
    assert!(!fsck_passes(&a));
    for args in [&[][..], &["--quick"][..]] {
        let (code, r) = check(&a, args);
        assert_eq!(code, ERRORS, "{args:?}: {r}");
        assert!(found(&r, "integrity", "error").iter().any(|f| f["message"].as_str().unwrap().contains(&id)), "{r}");
    }
}

#[test]
fn a_truncated_pack_is_found() {
    let (a, _remote) = device();
    git_by_hand(&a, &["gc", "-q"]);
    let packs = store_of(&a).join(".git/objects/pack");
    let pack = fs::read_dir(&packs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "pack"))
        .expect("gc made a pack");
    let len = fs::metadata(&pack).unwrap().len();
    fs::set_permissions(&pack, fs::Permissions::from_mode(0o644)).unwrap();
    fs::OpenOptions::new().write(true).open(&pack).unwrap().set_len(len / 2).unwrap();
    assert!(!fsck_passes(&a));
    let (code, r) = check(&a, &[]);
    assert_eq!(code, ERRORS, "{r}");
    assert!(!found(&r, "integrity", "error").is_empty(), "{r}");
}

/// The store path of the encrypted ~/.netrc.
fn netrc(a: &TestEnv) -> String {
    let files = git_out(a, &["ls-files"]);
    files.lines().find(|l| l.contains("encrypted_") && l.contains("netrc")).expect("an encrypted netrc").to_string()
}

#[test]
fn a_corrupted_age_file_is_found() {
    let (a, _remote) = device();
    let path = netrc(&a);
    let file = store_of(&a).join(&path);
    let text = fs::read_to_string(&file).unwrap();
    // One base64 character of the payload changed (the last body line before the end marker).
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.len() - 2;
    let flipped = if lines[at].starts_with('A') { 'B' } else { 'A' };
    let mut changed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    changed[at] = format!("{flipped}{}", &lines[at][1..]);
    fs::write(&file, changed.join("\n") + "\n").unwrap();
    git_by_hand(&a, &["commit", "-qam", "corrupt", "--no-verify"]);
    let (code, r) = check(&a, &[]);
    assert_eq!(code, ERRORS, "{r}");
    let bad = found(&r, "encryption", "error");
    assert!(bad.iter().any(|f| f["path"] == path.as_str()), "{r}");
}

#[test]
fn a_secret_encrypted_to_an_older_recipient_set_is_found() {
    let (a, _remote) = device();
    let path = netrc(&a);
    let before = git_out(&a, &["rev-parse", "HEAD"]);
    let other = TestEnv::new();
    other.init();
    a.admit(&other, "b");
    let old = git_by_hand(&a, &["show", &format!("{before}:{path}")]).stdout;
    fs::write(store_of(&a).join(&path), old).unwrap();
    git_by_hand(&a, &["commit", "-qam", "old ciphertext", "--no-verify"]);
    let (code, r) = check(&a, &[]);
    assert_eq!(code, ERRORS, "{r}");
    let bad = found(&r, "encryption", "error");
    assert_eq!(bad.len(), 1, "{r}");
    assert_eq!(bad[0]["path"], path.as_str());
    assert!(bad[0]["message"].as_str().unwrap().contains("encrypted to 2 recipients, the store has 3"), "{r}");
    assert!(bad[0]["hint"].as_str().unwrap().contains("rekey"), "{r}");
}

#[test]
fn a_plaintext_secret_committed_past_the_hook_is_found_in_history() {
    let (a, _remote) = device();
    let store = store_of(&a);
    let key = format!("-----BEGIN OPENSSH {}-----\nb3BlbnNzaC1rZXktdjEAAAAA\n", "PRIVATE KEY");
    fs::write(store.join("dot_notes"), key).unwrap();
    git_by_hand(&a, &["add", "dot_notes"]);
    git_by_hand(&a, &["commit", "-qm", "oops", "--no-verify"]);
    let leaked = git_out(&a, &["rev-parse", "--short=10", "HEAD"]);
    git_by_hand(&a, &["rm", "-q", "dot_notes"]);
    git_by_hand(&a, &["commit", "-qm", "gone from HEAD, not from history", "--no-verify"]);
    let (code, r) = check(&a, &[]);
    assert_eq!(code, ERRORS, "{r}");
    let bad = found(&r, "secrets", "error");
    assert_eq!(bad.len(), 1, "{r}");
    assert_eq!(bad[0]["path"], "dot_notes");
    let message = bad[0]["message"].as_str().unwrap();
    assert!(message.contains("OpenSSH private key") && message.contains(&leaked), "{message}");
    assert!(!r.to_string().contains("b3BlbnNzaC1rZXktdjEAAAAA"), "never the secret itself");
    // --quick reads no blob, so it does not scan.
    let (_, quick) = check(&a, &["--quick"]);
    assert!(found(&quick, "secrets", "error").is_empty(), "{quick}");
}

#[test]
fn a_remote_that_is_behind_is_found() {
    let (a, _remote) = device();
    a.write(".zshrc", "export A=2\n", 0o644);
    a.ok(&["commit"]);
    let (code, r) = check(&a, &[]);
    assert_eq!(code, WARNINGS, "{r}");
    let behind = found(&r, "remotes", "warning");
    assert_eq!(behind.len(), 1, "{r}");
    let message = behind[0]["message"].as_str().unwrap();
    assert!(message.contains("origin is behind: 1 commit(s)") && message.contains("last pushed 20"), "{message}");
}

#[test]
fn a_sync_older_than_the_rpo_is_an_error_and_alerts() {
    let (a, _remote) = device();
    // Every record this device wrote, moved back to 2020.
    for e in walkdir(&a.store().join(".dotback/audit")) {
        let text = fs::read_to_string(&e).unwrap();
        let old: Vec<String> = text
            .lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v["time"] = "2020-01-01T00:00:00Z".into();
                v.to_string()
            })
            .collect();
        fs::write(&e, old.join("\n") + "\n").unwrap();
    }
    // Fully synced, a device is not stale, however old its last sync.
    let (_, r) = check(&a, &[]);
    assert_eq!(found(&r, "staleness", "ok").len(), 1, "{r}");
    assert!(found(&r, "staleness", "ok")[0]["message"].as_str().unwrap().contains("nothing waits"), "{r}");
    // An edit waits to be synced: now the RPO counts.
    a.write(".zshrc", "export A=2\n", 0o644);
    let (code, r) = check(&a, &[]);
    assert_eq!(code, ERRORS, "{r}");
    let stale = found(&r, "staleness", "error");
    assert_eq!(stale.len(), 1, "{r}");
    assert!(stale[0]["message"].as_str().unwrap().contains("more than the RPO of 1h"), "{r}");

    // --alert with no alert_command: the errors alerted no one, and it says so.
    let (_, r) = check(&a, &["--alert"]);
    let unset = found(&r, "alert", "warning");
    assert!(unset.len() == 1 && unset[0]["message"].as_str().unwrap().contains("no `alert_command`"), "{r}");

    let alert = a.root.join("alert.json");
    set_config(&a, &format!("alert_command = \"cat > '{}'\"", alert.display()));
    let (code, _) = check(&a, &[]);
    assert_eq!(code, ERRORS);
    assert!(!alert.exists(), "no alert without --alert");
    let (code, r) = check(&a, &["--alert"]);
    assert_eq!(code, ERRORS);
    let sent: Value = serde_json::from_slice(&fs::read(&alert).unwrap()).unwrap();
    assert_eq!(sent["worst"], "error");
    assert!(!found(&sent, "staleness", "error").is_empty(), "{sent}");
    assert!(found(&r, "alert", "warning").is_empty(), "{r}");

    let cfg = a.config_home.join("dotback/config.toml");
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(&cfg, text.replace(&format!("cat > '{}'", alert.display()), "exit 3")).unwrap();
    let (code, r) = check(&a, &["--alert"]);
    assert_eq!(code, ERRORS, "a failed alert never hides the errors");
    assert!(found(&r, "alert", "warning")[0]["message"].as_str().unwrap().contains("exit"), "{r}");
    assert!(!found(&r, "staleness", "error").is_empty());
}

fn walkdir(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(root).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walkdir(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// A bare repository on another filesystem than the test's temporary directory (a tmpfs such
/// as /dev/shm), removed when dropped; `None` when there is none.
struct OtherDisk(tempfile::TempDir);

impl OtherDisk {
    fn make(env: &TestEnv) -> Option<OtherDisk> {
        use std::os::unix::fs::MetadataExt;
        let here = fs::metadata(&env.root).unwrap().dev();
        let shm = Path::new("/dev/shm");
        if !fs::metadata(shm).is_ok_and(|m| m.dev() != here) {
            assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI needs /dev/shm on another filesystem");
            eprintln!("skipped: /dev/shm is not another filesystem here, so no remote on another medium can be made");
            return None;
        }
        let dir = tempfile::Builder::new().prefix("dotback-check-").tempdir_in(shm).unwrap();
        let repo = dir.path().join("usb.git");
        env.git_in(dir.path(), &["init", "-q", "--bare", "-b", "main", repo.to_str().unwrap()]);
        Some(OtherDisk(dir))
    }

    fn url(&self) -> String {
        self.0.path().join("usb.git").display().to_string()
    }
}

#[test]
fn three_two_one_one_remote_on_the_same_filesystem_is_not_met() {
    let (a, _remote) = device();
    let (_, r) = check(&a, &[]);
    assert_eq!((r["copies"]["verdict"].as_str(), r["copies"]["copies"].as_u64()), (Some("not"), Some(2)), "{r}");
    assert_eq!(r["copies"]["media"], 1);
    let f = &found(&r, "3-2-1", "warning")[0];
    let hint = f["hint"].as_str().unwrap();
    assert!(hint.contains("another medium") && hint.contains("offsite"), "{hint}");
    // A local remote deleted long ago (not a disk that is not mounted) is no copy at all.
    let gone = bare(&a, "old.git");
    a.ok(&["remote", "add", "old", gone.to_str().unwrap()]);
    fs::remove_dir_all(&gone).unwrap();
    let (_, r) = check(&a, &[]);
    assert_eq!((r["copies"]["copies"].as_u64(), r["copies"]["media"].as_u64()), (Some(2), Some(1)), "{r}");
    assert!(found(&r, "remotes", "warning").iter().any(|f| f["message"].as_str().unwrap().contains("old")), "{r}");
}

#[test]
fn three_two_one_a_remote_on_another_filesystem_is_partial() {
    let a = TestEnv::new();
    a.init();
    let Some(usb) = OtherDisk::make(&a) else { return };
    a.write(".zshrc", "export A=1\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "usb", &usb.url()]);
    a.ok(&["sync"]);
    let (code, r) = check(&a, &[]);
    assert_eq!(code, WARNINGS, "{r}");
    assert_eq!(r["copies"]["verdict"], "partial", "{r}");
    assert_eq!((r["copies"]["copies"].as_u64(), r["copies"]["media"].as_u64()), (Some(2), Some(2)), "{r}");
    let hint = found(&r, "3-2-1", "warning")[0]["hint"].as_str().unwrap().to_string();
    assert!(hint.contains("offsite") && !hint.contains("another medium"), "{hint}");
}

#[test]
fn three_two_one_an_ssh_remote_and_a_usb_disk_comply_and_a_healthy_store_exits_0() {
    use crate::sync_ssh::{Sshd, bare, keygen};
    let a = TestEnv::new();
    a.init();
    let Some(usb) = OtherDisk::make(&a) else { return };
    let Some(sshd) = Sshd::start(&a.root.join("sshd")) else { return };
    keygen(&a.home.join(".ssh/id_ed25519"));
    sshd.authorize(&a.home.join(".ssh/id_ed25519.pub"));
    fs::write(a.home.join(".ssh/known_hosts"), sshd.known_hosts_line()).unwrap();
    let server = TestEnv::new();
    let repo = bare(&server);
    a.write(".zshrc", "export A=1\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "ssh", &sshd.url(&repo)]);
    a.ok(&["remote", "add", "usb", &usb.url()]);
    a.ok(&["sync"]);
    a.ok(&["drill"]);
    let (code, r) = check(&a, &[]);
    assert_eq!(r["copies"]["verdict"], "compliant", "{r}");
    assert_eq!(
        (r["copies"]["copies"].as_u64(), r["copies"]["media"].as_u64(), r["copies"]["offsite"].as_u64()),
        (Some(3), Some(3), Some(1))
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["worst"], "ok");
    assert_eq!(found(&r, "remotes", "ok").len(), 2, "{r}");
}

/// The steps of `templates/dotback-check.yml`, read by a YAML parser (python3's).
fn workflow_steps() -> Vec<Value> {
    assert!(require("python3"), "python3 reads the workflow");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/dotback-check.yml");
    let out = std::process::Command::new("python3")
        .args(["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "the workflow is not YAML python3-yaml reads: {}", show(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["jobs"]["check"]["steps"].as_array().unwrap_or_else(|| panic!("no jobs.check.steps: {doc}")).clone()
}

/// The workflow's `dotback check` step, run as the job runs it: `sh -c` in a clone of the store,
/// with no HOME config, state or identity; the exit code and the report.
fn run_ci_check(ci: &TestEnv, clone: &Path, command: &str) -> (i32, Value) {
    let bin = Path::new(env!("CARGO_BIN_EXE_dotback")).parent().unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    let out = std::process::Command::new("sh")
        .args(["-c", command])
        .current_dir(clone)
        .env_clear()
        .envs(ci.envs())
        .env("PATH", path)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", show(&out)));
    (out.status.code().unwrap_or(-1), report)
}

#[test]
fn the_ci_workflow_checks_a_clone_of_the_store_with_no_device_and_catches_a_pushed_secret() {
    let steps = workflow_steps();
    let checkout = steps.iter().find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/checkout")));
    assert_eq!(checkout.expect("a checkout step")["with"]["fetch-depth"], 0, "the whole history is checked");
    let command = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.contains("dotback check"))
        .expect("a step running dotback check")
        .to_string();

    let (a, remote) = device();
    // A job on the hosting service: a plain clone, nothing of dotback set up.
    let ci = TestEnv::new();
    let clone = ci.root.join("checkout");
    ci.git_in(&ci.root, &["clone", "-q", remote.to_str().unwrap(), clone.to_str().unwrap()]);
    let (code, r) = run_ci_check(&ci, &clone, &command);
    assert_eq!(code, 0, "{r}");
    assert_eq!((&r["scope"], &r["worst"], &r["copies"]), (&"store".into(), &"ok".into(), &Value::Null), "{r}");
    for area in ["integrity", "secrets", "encryption", "storage"] {
        assert_eq!(found(&r, area, "ok").len(), 1, "{area}: {r}");
    }
    let enc = found(&r, "encryption", "ok")[0]["message"].as_str().unwrap();
    assert!(enc.contains("1 encrypted files are encrypted to all 2 recipients"), "{enc}");
    let timed: Vec<&str> = r["timings"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(timed, ["integrity", "secrets", "encryption", "storage"], "{r}");
    assert!(!ci.config_home.join("dotback").exists() && !ci.state_home.join("dotback").exists(), "nothing written");
    assert_eq!(git_in_out(&ci, &clone, &["status", "--porcelain"]), "", "the clone is left as it was");

    // Someone pushes a private key with plain git, past every hook.
    let key = format!("-----BEGIN OPENSSH {}-----\nb3BlbnNzaC1rZXktdjEAAAAA\n", "PRIVATE KEY");
    let store = store_of(&a);
    fs::write(store.join("dot_notes"), key).unwrap();
    git_by_hand(&a, &["add", "dot_notes"]);
    git_by_hand(&a, &["commit", "-qm", "notes", "--no-verify"]);
    git_by_hand(&a, &["push", "-q", "--no-verify", "origin", "main"]);
    ci.git_in(&clone, &["pull", "-q", "--ff-only"]);
    let (code, r) = run_ci_check(&ci, &clone, &command);
    assert_eq!(code, ERRORS, "{r}");
    let leak = found(&r, "secrets", "error");
    assert_eq!(leak.len(), 1, "{r}");
    assert_eq!(leak[0]["path"], "dot_notes");
    assert!(!r.to_string().contains("b3BlbnNzaC1rZXktdjEAAAAA"), "never the secret itself");

    // A shallow checkout cannot be checked whole, and says so.
    git_by_hand(&a, &["rm", "-q", "dot_notes"]);
    git_by_hand(&a, &["commit", "-qm", "no notes", "--no-verify"]);
    git_by_hand(&a, &["push", "-q", "--no-verify", "origin", "main"]);
    let shallow = ci.root.join("shallow");
    let url = format!("file://{}", remote.display());
    ci.git_in(&ci.root, &["clone", "-q", "--depth", "1", &url, shallow.to_str().unwrap()]);
    let (code, r) = run_ci_check(&ci, &shallow, &command);
    assert_eq!(code, WARNINGS, "the leak is in history this clone lacks: {r}");
    let warned = found(&r, "integrity", "warning");
    assert!(warned.len() == 1 && warned[0]["message"].as_str().unwrap().contains("shallow"), "{r}");
    assert!(found(&r, "integrity", "error").is_empty(), "a shallow clone is not a damaged one: {r}");
}

#[test]
fn the_workflow_file_in_the_store_changes_nothing_in_home() {
    let (a, _remote) = device();
    let store = store_of(&a);
    let workflow = store.join(".github/workflows/dotback-check.yml");
    fs::create_dir_all(workflow.parent().unwrap()).unwrap();
    fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/dotback-check.yml"), &workflow).unwrap();
    git_by_hand(&a, &["add", ".github"]);
    git_by_hand(&a, &["commit", "-qm", "a CI workflow"]);
    let out = a.ok(&["sync"]);
    assert!(!a.home.join(".github").exists(), "{}", show(&out));
    let st = stdout(&a.ok(&["status", "--json"]));
    assert!(!st.contains(".github"), "{st}");
    let (_, r) = check(&a, &[]);
    assert!(found(&r, "drift", "warning").is_empty(), "{r}");
}

fn git_in_out(env: &TestEnv, dir: &Path, args: &[&str]) -> String {
    stdout(&env.git_in(dir, args)).trim().to_string()
}

impl OtherDisk {
    /// An empty directory on the other filesystem, for archives.
    fn archives(&self) -> PathBuf {
        let dir = self.0.path().join("archives");
        fs::create_dir(&dir).unwrap();
        dir
    }
}

/// `dotback archive --to DIR`: the archive it wrote.
fn archive_to(env: &TestEnv, dir: &Path) -> PathBuf {
    let report: Value =
        serde_json::from_slice(&env.ok(&["archive", "--to", dir.to_str().unwrap(), "--json"]).stdout).unwrap();
    PathBuf::from(report["archive"].as_str().unwrap())
}

#[test]
fn three_two_one_archives_only_on_another_filesystem_are_partial() {
    use std::os::unix::fs::MetadataExt;
    let a = TestEnv::new();
    a.init();
    let Some(usb) = OtherDisk::make(&a) else { return };
    a.write(".zshrc", "export A=1\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["commit"]);
    let dir = usb.archives();
    let (_, r) = check(&a, &[]);
    assert_eq!((r["copies"]["verdict"].as_str(), r["copies"]["copies"].as_u64()), (Some("not"), Some(1)), "{r}");
    assert_eq!(r["copies"]["counted"], serde_json::json!([]), "{r}");
    let newest = archive_to(&a, &dir);
    // Another archive in the same directory is another version of the same copy.
    fs::copy(&newest, dir.join("dotback-testbox-20240101T000000Z.bundle.age")).unwrap();
    let (code, r) = check(&a, &[]);
    assert_eq!(code, WARNINGS, "{r}");
    let copies = &r["copies"];
    assert_eq!(copies["verdict"], "partial", "{r}");
    assert_eq!(
        (copies["copies"].as_u64(), copies["media"].as_u64(), copies["offsite"].as_u64()),
        (Some(2), Some(2), Some(0))
    );
    let dev = fs::metadata(&dir).unwrap().dev();
    assert_eq!(
        copies["counted"],
        serde_json::json!([{
            "kind": "archive",
            "name": fs::canonicalize(&dir).unwrap().display().to_string(),
            "medium": format!("device {dev}"),
            "offsite": false,
            "present": true,
        }]),
        "{r}"
    );
    assert_eq!(copies["missing"], serde_json::json!([]));
    let f = &found(&r, "3-2-1", "warning")[0];
    assert!(f["message"].as_str().unwrap().contains("partially met (2 copies, 2 media, 0 offsite)"), "{f}");
    let hint = f["hint"].as_str().unwrap();
    assert!(hint.contains("offsite") && !hint.contains("another medium"), "{hint}");
}

#[test]
fn three_two_one_an_archive_on_another_medium_beside_a_remote_counts_until_it_is_deleted() {
    let (a, _remote) = device();
    let Some(usb) = OtherDisk::make(&a) else { return };
    let (_, r) = check(&a, &[]);
    assert_eq!(r["copies"]["verdict"], "not", "{r}");
    let hint = found(&r, "3-2-1", "warning")[0]["hint"].as_str().unwrap().to_string();
    assert!(hint.contains("`dotback archive --to DIR`"), "the hint names archives: {hint}");

    let dir = usb.archives();
    let newest = archive_to(&a, &dir);
    let (_, r) = check(&a, &[]);
    let copies = &r["copies"];
    assert_eq!(copies["verdict"], "partial", "{r}");
    assert_eq!((copies["copies"].as_u64(), copies["media"].as_u64()), (Some(3), Some(2)), "{r}");
    let kinds: Vec<(&str, &str)> = copies["counted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["medium"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds[0], ("remote", "store"), "{r}");
    assert_eq!(kinds[1].0, "archive", "{r}");
    assert!(kinds[1].1.starts_with("device "), "{r}");

    // The disk unplugged: what was on it is not there, and it still counts, said so.
    let root = usb.0.path();
    let away = root.with_file_name(format!("{}-unplugged", root.file_name().unwrap().to_str().unwrap()));
    fs::rename(root, &away).unwrap();
    let (_, r) = check(&a, &[]);
    assert_eq!((r["copies"]["verdict"].as_str(), r["copies"]["copies"].as_u64()), (Some("partial"), Some(3)), "{r}");
    assert_eq!(r["copies"]["counted"][1]["present"], false, "{r}");
    let message = found(&r, "3-2-1", "warning")[0]["message"].as_str().unwrap().to_string();
    assert!(message.contains("not there now") && message.contains("archives in"), "{message}");
    fs::rename(&away, root).unwrap();

    // The archive deleted by hand: not counted, and a warning names it.
    fs::remove_file(&newest).unwrap();
    let (code, r) = check(&a, &[]);
    assert_eq!(code, WARNINGS, "{r}");
    assert_eq!((r["copies"]["verdict"].as_str(), r["copies"]["copies"].as_u64()), (Some("not"), Some(2)), "{r}");
    let gone = fs::canonicalize(&dir).unwrap().join(newest.file_name().unwrap()).display().to_string();
    assert_eq!(r["copies"]["missing"], serde_json::json!([gone.clone()]), "{r}");
    let warnings = found(&r, "3-2-1", "warning");
    assert_eq!(warnings.len(), 2, "{r}");
    assert_eq!(warnings[1]["path"], gone.as_str(), "{r}");
    assert!(warnings[1]["message"].as_str().unwrap().contains("is gone"), "{r}");
}

#[test]
fn a_clone_checked_alone_ignores_a_pushed_manifest_that_would_hide_a_secret_and_survives_a_deep_tree() {
    let (_a, remote) = device();
    let ci = TestEnv::new();
    let clone = ci.root.join("checkout");
    ci.git_in(&ci.root, &["clone", "-q", remote.to_str().unwrap(), clone.to_str().unwrap()]);
    // A plaintext .netrc, and a manifest line that would excuse it.
    fs::write(clone.join("dot_netrc"), "machine example.org login me password hunter2\n").unwrap();
    let manifest = clone.join(".dotback/dotback.toml");
    let text = fs::read_to_string(&manifest).unwrap_or_else(|_| "version = 1\n".into());
    fs::write(&manifest, format!("{text}\n[secrets]\nnot = [\".netrc\"]\n")).unwrap();
    ci.git_in(&clone, &["add", "-A"]);
    ci.git_in(&clone, &["-c", "user.name=Someone", "-c", "user.email=someone@example.org", "commit", "-qm", "hide it"]);
    let dotback = |dir: &Path| ci.cmd(&["check", "--store", dir.to_str().unwrap(), "--json"]).output().unwrap();
    let out = dotback(&clone);
    assert_eq!(out.status.code(), Some(ERRORS), "{}", show(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let leak = found(&r, "secrets", "error");
    assert!(leak.iter().any(|f| f["path"] == "dot_netrc"), "{r}");
    assert!(!r.to_string().contains("hunter2"), "never the secret itself");
    assert!(found(&r, "secrets", "ok").iter().any(|f| f["message"].as_str().unwrap().contains("not applied")), "{r}");

    // A tree nested 20,000 levels deep: found, not a crash.
    let repo = git2::Repository::open(&clone).unwrap();
    let blob = repo.blob(b"deep\n").unwrap();
    let mut tb = repo.treebuilder(None).unwrap();
    tb.insert("f", blob, 0o100644).unwrap();
    let mut id = tb.write().unwrap();
    for _ in 0..20_000 {
        let mut tb = repo.treebuilder(None).unwrap();
        tb.insert("d", id, 0o040000).unwrap();
        id = tb.write().unwrap();
    }
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    let mut root = repo.treebuilder(Some(&head.tree().unwrap())).unwrap();
    root.insert("deep", id, 0o040000).unwrap();
    let tree = repo.find_tree(root.write().unwrap()).unwrap();
    let who = git2::Signature::now("Someone", "someone@example.org").unwrap();
    repo.commit(Some("HEAD"), &who, &who, "deep", &tree, &[&head]).unwrap();
    let out = dotback(&clone);
    assert_eq!(out.status.code(), Some(ERRORS), "{}", show(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let deep = found(&r, "integrity", "error");
    assert!(deep.iter().any(|f| f["message"].as_str().unwrap().contains("more than 4096 directories deep")), "{r}");
    assert_eq!(found(&r, "storage", "warning").len(), 1, "{r}");
}
