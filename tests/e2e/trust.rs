//! Trust: someone who can push to a remote but holds no key of the store cannot add a
//! recipient, replace the recovery key or weaken the rules; the user's own devices can.

use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The victim: a device with a store synced to a bare remote.
fn victim() -> (TestEnv, PathBuf) {
    synced_with_zshrc("one\n")
}

/// An intruder (see [`Intruder`]) with an age key of their own.
struct Attacker {
    clone: Intruder,
    dir: PathBuf,
    key: PathBuf,
    recipient: String,
}

impl Attacker {
    fn new(env: &TestEnv, remote: &Path) -> Attacker {
        assert!(require("age-keygen"), "the age CLI is needed");
        let clone = Intruder::clone_of(&env.root, remote);
        let key = env.root.join("attacker.key");
        let out = Command::new("age-keygen").arg("-o").arg(&key).output().unwrap();
        assert!(out.status.success(), "{}", show(&out));
        let out = Command::new("age-keygen").arg("-y").arg(&key).output().unwrap();
        let recipient = stdout(&out).trim().to_string();
        Attacker { dir: clone.dir.clone(), clone, key, recipient }
    }

    fn git(&self, args: &[&str]) -> String {
        self.clone.git(args)
    }

    /// Commits everything and pushes; returns the commit id.
    fn push(&self, message: &str) -> String {
        self.clone.push(message)
    }

    /// Whether the attacker's key decrypts `file` (ciphertext).
    fn decrypts(&self, file: &Path) -> bool {
        Command::new("age").arg("-d").arg("-i").arg(&self.key).arg(file).output().unwrap().status.success()
    }

    /// Every encrypted file the attacker can fetch from the remote now, none of which it decrypts.
    fn decrypts_nothing(&self) {
        self.git(&["pull", "-q", "--no-rebase", "origin", "main"]);
        let mut n = 0;
        for e in walkdir::WalkDir::new(&self.dir).into_iter().flatten() {
            let p = e.path();
            // recovery.age is passphrase-sealed; key.age may be the attacker's own forgery.
            let own = p.ends_with("recovery.age") || p.ends_with("trust/key.age");
            if e.file_type().is_file() && p.extension().is_some_and(|x| x == "age") && !own {
                n += 1;
                assert!(!self.decrypts(p), "the attacker decrypts {}", p.display());
            }
        }
        assert!(n > 0, "there were encrypted files to try");
    }
}

/// Device `name`, a clone of `remote` that `a` admits; both synced.
fn admitted(a: &TestEnv, remote: &Path, name: &str) -> TestEnv {
    let d = device_from(remote, name);
    a.admit(&d, name);
    a.ok(&["sync"]);
    d.ok(&["sync"]);
    d
}

fn held_json(env: &TestEnv) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&env.ok(&["status", "--json"]).stdout).unwrap();
    v["held_back"].clone()
}

#[test]
fn a_recipient_added_by_a_push_is_held_back_and_never_encrypted_to() {
    let (a, remote) = victim();
    let m = Attacker::new(&a, &remote);
    let recipients = m.dir.join(".dotback/recipients.txt");
    let mut text = fs::read_to_string(&recipients).unwrap();
    text.push_str(&format!("# device: backup\n{}\n", m.recipient));
    fs::write(&recipients, text).unwrap();
    let bad = m.push("add a backup device");

    a.write(".netrc", "machine example.org password hunter2-secret\n", 0o600);
    a.ok(&["add", ".netrc"]);
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("held back") && err.contains(&bad[..12]), "names the commit: {err}");
    assert!(err.contains("dotback keys accept") && err.contains("dotback keys revert"), "{err}");
    assert!(remote_head(&remote).is_some_and(|h| h != bad), "the victim's own commit was pushed");
    m.decrypts_nothing();

    // status and keys list say the same; the later edit still commits and pushes.
    assert_eq!(held_json(&a)["commit"], bad.as_str());
    let keys: serde_json::Value = serde_json::from_slice(&a.ok(&["keys", "list", "--json"]).stdout).unwrap();
    assert_eq!(keys["devices"].as_array().unwrap().len(), 1, "the trusted set: {keys}");
    assert!(keys["held_back"]["files"].to_string().contains("recipients.txt"), "{keys}");
    a.write(".netrc", "machine example.org password second-secret\n", 0o600);
    let (code, _) = a.fails(&["sync"]);
    assert_eq!(code, 6);
    m.decrypts_nothing();
    assert!(!history_text(&remote).contains("second-secret"));

    // Reverting puts the trusted recipients back, and sync is clean again.
    a.ok(&["keys", "revert"]);
    assert!(!fs::read_to_string(store_of(&a).join(".dotback/recipients.txt")).unwrap().contains(&m.recipient));
    a.ok(&["sync"]);
    assert!(held_json(&a).is_null());
}

#[test]
fn a_replaced_recovery_key_is_held_back_and_add_device_waits_for_it() {
    let (a, remote) = victim();
    a.write(".netrc", "machine example.org password hunter2-secret\n", 0o600);
    a.ok(&["add", ".netrc"]);
    a.ok(&["sync"]);
    let m = Attacker::new(&a, &remote);
    let recipients = m.dir.join(".dotback/recipients.txt");
    let text = fs::read_to_string(&recipients).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let at = lines.iter().position(|l| l.trim() == "# recovery").unwrap() + 1;
    lines[at] = m.recipient.clone();
    fs::write(&recipients, lines.join("\n") + "\n").unwrap();
    m.push("rotate the recovery key");

    let (code, _) = a.fails(&["sync"]);
    assert_eq!(code, 6);
    let keys: serde_json::Value = serde_json::from_slice(&a.ok(&["keys", "list", "--json"]).stdout).unwrap();
    assert_ne!(keys["recovery"], m.recipient.as_str(), "keys list shows the trusted recovery key");
    let other = TestEnv::new();
    other.init();
    let (code, err) = a.fails(&["keys", "add-device", "c", &other.recipient()]);
    assert_ne!(code, 0);
    assert!(err.contains("held back") && err.contains("settle it"), "{err}");
    a.ok(&["keys", "revert"]);
    a.ok(&["keys", "add-device", "c", &other.recipient()]);
    a.ok(&["sync"]);
    m.decrypts_nothing();
}

#[test]
fn weakened_secret_rules_from_a_push_do_not_take_effect() {
    let (a, remote) = victim();
    a.ok(&["hooks", "install"]);
    let m = Attacker::new(&a, &remote);
    fs::write(m.dir.join(".dotback/dotback.toml"), "version = 1\n[secrets]\nreplace_defaults = true\n").unwrap();
    m.push("tidy the manifest");
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("dotback.toml"), "{err}");

    a.write(".netrc", "machine example.org password plain-never\n", 0o600);
    a.ok(&["add", ".netrc"]);
    let (code, _) = a.fails(&["sync"]);
    assert_eq!(code, 6);
    assert!(!history_text(&store_of(&a)).contains("plain-never"), "encrypted under the trusted rules");
    assert!(!history_text(&remote).contains("plain-never"));
    // The pre-commit guard reads the trusted rules too.
    fs::write(store_of(&a).join("private_dot_netrc"), "machine x password by-hand\n").unwrap();
    git_by_hand(&a, &["add", "private_dot_netrc"]);
    let out = Command::new("git")
        .args(["-c", "user.name=Someone", "-c", "user.email=s@example.org", "commit", "-q", "-m", "by hand"])
        .current_dir(store_of(&a))
        .envs(a.envs())
        .output()
        .unwrap();
    assert!(!out.status.success(), "the guard refuses: {}", show(&out));
    assert!(stderr(&out).contains("secret rule `.netrc`"), "the trusted rule: {}", show(&out));
}

#[test]
fn a_malformed_manifest_from_a_device_is_held_back_until_a_sealed_fix_arrives() {
    let (a, remote) = victim();
    let b = admitted(&a, &remote, "b");
    // b pushes a broken rule with plain git, skipping every check.
    let manifest = store_of(&b).join(".dotback/dotback.toml");
    fs::write(&manifest, "version = 1\n[[only]]\npaths = [\".x\"]\nos = \"plan9\"\n").unwrap();
    git_by_hand(&b, &["commit", "-q", "--no-verify", "-am", "broken rule"]);
    git_by_hand(&b, &["push", "-q", "origin", "main"]);
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "held back, not a configuration error: {err}");
    a.write(".zshrc", "two\n", 0o644);
    let (code, _) = a.fails(&["sync"]);
    assert_eq!(code, 6, "a still syncs");

    // b holds its own unsealed commit back too; it fixes the rule and seals the fix; a takes it.
    let (code, _) = b.fails(&["sync"]);
    assert_eq!(code, 6);
    fs::write(&manifest, "version = 1\n[[only]]\npaths = [\".x\"]\nos = \"linux\"\n").unwrap();
    b.ok(&["keys", "accept"]);
    b.ok(&["sync"]);
    let out = a.ok(&["sync"]);
    assert!(stderr(&out).contains("[[only]] rules changed"), "{}", show(&out));
    assert!(held_json(&a).is_null());
}

#[test]
fn devices_added_removed_and_unlocked_are_trusted_across_three_devices() {
    let (a, remote) = victim();
    let b = admitted(&a, &remote, "b");

    // b admits c; a takes it and encrypts its next secret to c too.
    let c = device_from(&remote, "c");
    b.admit(&c, "c");
    b.ok(&["sync"]);
    let out = a.ok(&["sync"]);
    assert!(stderr(&out).contains("added: device c"), "{}", show(&out));
    a.write(".netrc", "machine example.org password for-c\n", 0o600);
    a.ok(&["add", ".netrc"]);
    a.ok(&["sync"]);
    c.ok(&["sync"]);
    assert_eq!(c.read(".netrc"), "machine example.org password for-c\n");

    // A manifest edit on b takes effect on a.
    let manifest = store_of(&b).join(".dotback/dotback.toml");
    b.ok(&["sync"]);
    let mut text = fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[secrets]\nextra = [\"*.token\"]\n");
    fs::write(&manifest, text).unwrap();
    b.ok(&["sync"]);
    let out = a.ok(&["sync"]);
    assert!(stderr(&out).contains("secret rules changed"), "{}", show(&out));
    a.write("api.token", "tok-plain-123\n", 0o600);
    a.ok(&["add", "api.token"]);
    a.ok(&["sync"]);
    assert!(!history_text(&remote).contains("tok-plain-123"));

    // a removes c. c, still holding the old store key, seals a weaker manifest: nobody takes it.
    a.ok(&["keys", "remove-device", "c"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let cm = store_of(&c).join(".dotback/dotback.toml");
    fs::write(&cm, "version = 1\n[secrets]\nreplace_defaults = true\n").unwrap();
    c.ok(&["commit"]);
    let _ = c.cmd(&["sync"]).output().unwrap();
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    let (code, _) = b.fails(&["sync"]);
    assert_eq!(code, 6);
    let c_key = c.identity_file();
    let key_age = store_of(&a).join(".dotback/trust/key.age");
    let out = Command::new("age").arg("-d").arg("-i").arg(&c_key).arg(&key_age).output().unwrap();
    assert!(!out.status.success(), "the removed device cannot read the new store key");
    a.ok(&["keys", "revert"]);
    a.ok(&["sync"]);

    // A new machine with only the recovery passphrase unlocks; a takes its admission.
    let d = device_from(&remote, "d");
    d.ok(&["keys", "unlock", "--recovery", "--passphrase-file", d.passphrase_file().to_str().unwrap()]);
    d.ok(&["sync"]);
    let out = a.ok(&["sync"]);
    assert!(stderr(&out).contains("added: device d"), "{}", show(&out));
    a.write(".netrc", "machine example.org password for-d\n", 0o600);
    a.ok(&["sync"]);
    d.ok(&["sync"]);
    assert_eq!(d.read(".netrc"), "machine example.org password for-d\n");
}

#[test]
fn an_older_sealed_state_played_back_is_held_back() {
    let (a, remote) = victim();
    let manifest = store_of(&a).join(".dotback/dotback.toml");
    let base = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, format!("{base}\n[secrets]\nextra = [\"*.token\"]\n")).unwrap();
    a.ok(&["sync"]);
    fs::write(&manifest, format!("{base}\n[secrets]\nextra = [\"*.token\", \"*.cred\"]\n")).unwrap();
    a.ok(&["sync"]);
    // The attacker puts back the first sealed manifest with its seal.
    let m = Attacker::new(&a, &remote);
    m.git(&["checkout", "HEAD~1", "--", ".dotback/dotback.toml", ".dotback/trust/control.mac"]);
    let old = m.push("play back");
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("older") && err.contains(&old[..12]), "{err}");
    a.write("x.cred", "c\n", 0o600);
    a.ok(&["add", "x.cred"]);
    assert!(
        fs::read_dir(store_of(&a)).unwrap().flatten().any(|e| e.file_name().to_string_lossy().contains("x.cred.age")),
        "the newer rules stay in force"
    );
}

#[test]
fn a_forged_merge_of_sealed_parents_is_held_back() {
    let (a, remote) = victim();
    a.write(".zshrc", "two\n", 0o644);
    a.ok(&["sync"]);
    let m = Attacker::new(&a, &remote);
    // A merge commit whose parents both carry the trusted set, with the attacker's recipient in its tree.
    let recipients = m.dir.join(".dotback/recipients.txt");
    let mut text = fs::read_to_string(&recipients).unwrap();
    text.push_str(&format!("# device: merged\n{}\n", m.recipient));
    fs::write(&recipients, text).unwrap();
    m.git(&["add", "-A"]);
    let tree = m.git(&["write-tree"]).trim().to_string();
    let merge = m.git(&["commit-tree", &tree, "-p", "HEAD", "-p", "HEAD~1", "-m", "merge"]).trim().to_string();
    m.git(&["push", "-q", "origin", &format!("{merge}:refs/heads/main")]);
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("held back"), "{err}");
    a.write(".netrc", "machine x password after-merge\n", 0o600);
    a.ok(&["add", ".netrc"]);
    let _ = a.cmd(&["sync"]).output().unwrap();
    m.decrypts_nothing();
}

#[test]
fn sealed_changes_made_at_once_on_two_devices_merge_and_stay_trusted() {
    let (a, remote) = victim();
    let b = admitted(&a, &remote, "b");
    // a changes the secret rules while b admits a third device: both sealed, neither seen by the other.
    let manifest = store_of(&a).join(".dotback/dotback.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, format!("{text}\n[secrets]\nextra = [\"*.token\"]\n")).unwrap();
    a.ok(&["commit"]);
    let c = device_from(&remote, "c");
    b.admit(&c, "c");
    b.ok(&["sync"]);
    let out = a.ok(&["sync"]);
    assert!(stderr(&out).contains("added: device c"), "a merged and sealed both: {}", show(&out));
    let out = b.ok(&["sync"]);
    assert!(stderr(&out).contains("secret rules changed"), "{}", show(&out));
    assert!(held_json(&a).is_null() && held_json(&b).is_null());
    c.ok(&["sync"]);
    assert!(held_json(&c).is_null());
    a.write("api.token", "tok-merged-1\n", 0o600);
    a.ok(&["add", "api.token"]);
    a.ok(&["sync"]);
    c.ok(&["sync"]);
    assert_eq!(c.read("api.token"), "tok-merged-1\n");
    assert!(!history_text(&remote).contains("tok-merged-1"));
}

#[test]
fn recipients_deleted_by_a_push_are_held_back_and_the_device_goes_on() {
    let (a, remote) = victim();
    a.write(".netrc", "machine x password before\n", 0o600);
    a.ok(&["add", ".netrc"]);
    a.ok(&["sync"]);
    let m = Attacker::new(&a, &remote);
    m.git(&["rm", "-q", ".dotback/recipients.txt", ".dotback/trust/key.age"]);
    let bad = m.push("remove the keys");
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "held back, not a dead end: {err}");
    assert!(err.contains(&bad[..12]), "{err}");
    a.write(".netrc", "machine x password after\n", 0o600);
    let (code, _) = a.fails(&["sync"]);
    assert_eq!(code, 6);
    assert!(!history_text(&remote).contains("password after"), "still encrypted to the trusted set");
    a.ok(&["keys", "revert"]);
    a.ok(&["sync"]);
    assert!(store_of(&a).join(".dotback/recipients.txt").exists());
}

/// Appends the attacker's key to the recipients in their clone (no seal).
fn add_attacker_line(m: &Attacker, name: &str) {
    let recipients = m.dir.join(".dotback/recipients.txt");
    let mut text = fs::read_to_string(&recipients).unwrap();
    text.push_str(&format!("# device: {name}\n{}\n", m.recipient));
    fs::write(&recipients, text).unwrap();
}

/// What an attacker who knows the format can do without any key of the store: a fresh store key
/// encrypted to `recipients` (all public), and a seal of the control files under it.
const FORGE: &str = r#"
import sys, os, hmac, hashlib, subprocess, struct
d = sys.argv[1]; gen = int(sys.argv[2]); rcpts = sys.argv[3:]
K = os.urandom(32)
args = ["age"]
for r in rcpts: args += ["-r", r]
ct = subprocess.run(args, input=K, capture_output=True, check=True).stdout
open(os.path.join(d, ".dotback/trust/key.age"), "wb").write(ct)
names = [".dotback/recipients.txt", ".dotback/recovery.age", ".dotback/dotback.toml", ".dotback/trust/key.age",
         ".dotback/keys/gpg/public-keys.asc", ".dotback/keys/gpg/ownertrust.txt", ".dotback/keys/gpg/secret-keys.asc.age"]
h = hashlib.sha256(); h.update(b"dotback control files v1\0")
for n in names:
    h.update(n.encode()); h.update(b"\0")
    p = os.path.join(d, n)
    if os.path.exists(p):
        c = open(p, "rb").read(); h.update(b"\1"); h.update(struct.pack(">Q", len(c))); h.update(c)
    else:
        h.update(b"\0")
mac = hmac.new(K, h.digest() + struct.pack(">Q", gen), hashlib.sha256).hexdigest()
open(os.path.join(d, ".dotback/trust/control.mac"), "w").write(f"dotback control MAC v1\n{gen}\n{mac}\n")
"#;

fn forge(m: &Attacker, generation: u64, recipients: &[&str]) {
    assert!(require("python3"), "python3 is needed to forge a seal");
    let out = Command::new("python3")
        .args(["-c", FORGE])
        .arg(&m.dir)
        .arg(generation.to_string())
        .args(recipients)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
}

fn generation(dir: &Path) -> u64 {
    let mac = fs::read_to_string(dir.join(".dotback/trust/control.mac")).unwrap();
    mac.lines().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_new_machine_unlocking_with_the_recovery_key_does_not_seal_a_waiting_unsealed_change() {
    let (a, remote) = victim();
    a.write(".netrc", "machine x password s3cret-one\n", 0o600);
    a.ok(&["add", ".netrc"]);
    a.ok(&["sync"]);
    let m = Attacker::new(&a, &remote);
    add_attacker_line(&m, "backup");
    m.push("add backup");
    let d = device_from(&remote, "d");
    let (code, err) =
        d.fails(&["keys", "unlock", "--recovery", "--passphrase-file", d.passphrase_file().to_str().unwrap()]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("held back"), "{err}");
    let _ = d.cmd(&["sync"]).output().unwrap();
    let (code, _) = a.fails(&["sync"]);
    assert_eq!(code, 6, "a still holds it back");
    m.decrypts_nothing();
    // Reverted on d, the unlock goes through, and a takes d.
    d.ok(&["keys", "revert"]);
    d.ok(&["keys", "unlock", "--recovery", "--passphrase-file", d.passphrase_file().to_str().unwrap()]);
    d.ok(&["sync"]);
    let out = a.cmd(&["sync"]).output().unwrap();
    assert!(stderr(&out).contains("added: device d"), "{}", show(&out));
    m.decrypts_nothing();
}

#[test]
fn a_new_device_does_not_take_a_forged_admission() {
    let (a, remote) = victim();
    let b = device_from(&remote, "b");
    let b_key = b.recipient();
    a.admit(&b, "b");
    a.ok(&["sync"]);
    // Seeing b's admission, the attacker pushes a set of its own sealed under a key it made, encrypted to b.
    let m = Attacker::new(&a, &remote);
    m.git(&["pull", "-q", "--no-rebase", "origin", "main"]);
    add_attacker_line(&m, "backup");
    let g = generation(&m.dir);
    forge(&m, g + 1, &[&b_key, &m.recipient]);
    m.push("forged admission");
    let (code, err) = b.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    b.write(".netrc", "machine x password b-secret\n", 0o600);
    b.ok(&["add", ".netrc"]);
    let _ = b.cmd(&["sync"]).output().unwrap();
    m.decrypts_nothing();
    assert!(!history_text(&remote).contains("b-secret"));
}

#[test]
fn a_removed_device_that_syncs_later_authorises_nothing_on_a_lagging_device() {
    let (a, remote) = victim();
    let b = admitted(&a, &remote, "b");
    let c = device_from(&remote, "c");
    a.admit(&c, "c");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    c.ok(&["sync"]);
    // a removes c (stolen); b is switched off meanwhile.
    a.ok(&["keys", "remove-device", "c"]);
    a.ok(&["sync"]);
    // The thief, on c, adds a key of its own; c's dotback seals it under the old store key.
    let m = Attacker::new(&a, &remote);
    let rc = store_of(&c).join(".dotback/recipients.txt");
    let mut t = fs::read_to_string(&rc).unwrap();
    t.push_str(&format!("# device: backup\n{}\n", m.recipient));
    fs::write(&rc, t).unwrap();
    let _ = c.cmd(&["sync"]).output().unwrap();
    let (code, err) = b.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    b.write(".netrc", "machine x password lagging-b\n", 0o600);
    b.ok(&["add", ".netrc"]);
    let _ = b.cmd(&["sync"]).output().unwrap();
    let (code, _) = a.fails(&["sync"]);
    assert_eq!(code, 6);
    m.decrypts_nothing();
}

#[test]
fn a_store_from_before_store_keys_settles_after_one_accept_per_device() {
    let (a, remote) = victim();
    let b = admitted(&a, &remote, "b");
    // A store made by an earlier dotback: no store key, no trusted sets.
    git_by_hand(&a, &["rm", "-q", "-r", ".dotback/trust"]);
    git_by_hand(&a, &["commit", "-q", "--no-verify", "-m", "legacy"]);
    git_by_hand(&a, &["push", "-q", "origin", "HEAD:main"]);
    git_by_hand(&b, &["pull", "-q", "--no-rebase", "origin", "main"]);
    for e in [&a, &b] {
        fs::remove_file(e.state_home.join("dotback/trusted-control.json")).unwrap();
    }
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    // a admits a device: that makes the first store key; b accepts it once, and both settle.
    let e = TestEnv::new();
    e.init();
    a.ok(&["keys", "add-device", "e", &e.recipient()]);
    a.ok(&["sync"]);
    let (code, _) = b.fails(&["sync"]);
    assert_eq!(code, 6, "the first store key cannot be authenticated: b is asked");
    b.ok(&["keys", "accept"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert!(held_json(&a).is_null() && held_json(&b).is_null());
}

#[test]
fn a_control_file_turned_into_a_directory_or_grown_huge_is_held_back() {
    for variant in ["dir", "big"] {
        let (a, remote) = victim();
        let m = Attacker::new(&a, &remote);
        let rec = m.dir.join(".dotback/recovery.age");
        if variant == "dir" {
            fs::remove_file(&rec).unwrap();
            fs::create_dir_all(&rec).unwrap();
            fs::write(rec.join("x"), "x").unwrap();
        } else {
            fs::write(&rec, "A".repeat(1_200_000)).unwrap();
        }
        m.push("break it");
        let (code, err) = a.fails(&["sync"]);
        assert_eq!(code, 6, "{variant}: {err}");
        assert!(err.contains("recovery.age"), "{variant}: {err}");
        let (code, _) = a.fails(&["sync"]);
        assert_eq!(code, 6, "{variant}: not a dead end");
        a.ok(&["keys", "revert"]);
        a.ok(&["sync"]);
        assert!(store_of(&a).join(".dotback/recovery.age").is_file(), "{variant}");
    }
}

#[test]
fn gpg_keys_and_ownertrust_from_a_push_are_not_imported() {
    let (a, remote) = victim();
    let m = Attacker::new(&a, &remote);
    let dir = m.dir.join(".dotback/keys/gpg");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("public-keys.asc"), "-----BEGIN PGP PUBLIC KEY BLOCK-----\nxx\n").unwrap();
    fs::write(dir.join("ownertrust.txt"), "0123456789ABCDEF0123456789ABCDEF01234567:6:\n").unwrap();
    m.push("export keys");
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("ownertrust.txt"), "{err}");
    let (code, err) = a.fails(&["keys", "gpg-import"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("held back"), "{err}");
}

#[test]
fn a_pushed_chezmoiignore_that_stops_all_tracking_is_reported_with_its_reach() {
    let (a, remote) = victim();
    let m = Attacker::new(&a, &remote);
    fs::write(m.dir.join(".chezmoiignore"), "*\n").unwrap();
    m.push("ignore everything");
    // chezmoi evaluates the file (a template in it runs), so it is held back from chezmoi; what
    // it does to dotback's own targets is said.
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("a change to .chezmoiignore arrived") && err.contains("held back"), "{err}");
    assert!(err.contains(".chezmoiignore) changed; targets managed before: 1, now: 0"), "{err}");
}
