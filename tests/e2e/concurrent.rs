//! Many devices syncing at the same moment through one remote: a push never replaces a commit
//! it has not merged, a lost race is retried within the sync, and no device is ever told the
//! remote's history was rewritten.

use crate::common::*;
use std::fs;
use std::path::Path;
use std::process::{Output, Stdio};

/// What a sync says when it lost the race to another device's push and pushed again.
const RETRIED: &str = "Another device pushed first";

fn head(env: &TestEnv) -> String {
    stdout(&env.git_in(&store_of(env), &["rev-parse", "HEAD"])).trim().to_string()
}

/// `ancestor` is in the history of the remote's `main`.
fn in_remote(remote: &Path, ancestor: &str) -> bool {
    git_cleared()
        .arg("--git-dir")
        .arg(remote)
        .args(["merge-base", "--is-ancestor", ancestor, "main"])
        .status()
        .unwrap()
        .success()
}

/// A dotback command held by the test seam just before its push moves the remote's branch
/// (after its check and its objects).
struct Paused {
    child: std::process::Child,
    hold: std::path::PathBuf,
}

impl Paused {
    /// Starts `dotback ARGS` on `env` and waits until it stands at the seam.
    fn start(env: &TestEnv, args: &[&str]) -> Paused {
        let dir = env.root.join("pause");
        fs::create_dir_all(&dir).unwrap();
        let hold = dir.join("push-before-ref-update.hold");
        fs::write(&hold, "").unwrap();
        let child = env
            .cmd(args)
            .env("DOTBACK_TEST_PAUSE_DIR", &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        waits_for(&dir.join("push-before-ref-update.reached"));
        Paused { child, hold }
    }

    /// Lets it go on, and waits for it to end.
    fn finish(self) -> Output {
        fs::remove_file(&self.hold).unwrap();
        self.child.wait_with_output().unwrap()
    }
}

/// Fails on what a sync must never say under any interleaving of syncs.
fn never_rewritten(out: &Output) {
    let all = show(out);
    assert!(!all.contains("rewritten"), "no device is ever told the remote was rewritten:\n{all}");
}

#[test]
fn a_push_overtaken_between_its_check_and_its_ref_update_merges_and_pushes_again() {
    let (a, remote) = synced_with_zshrc("one\n");
    let b = device_from(&remote, "b");
    b.ok(&["apply"]);
    b.write(".profile", "from b\n", 0o644);
    b.ok(&["add", ".profile"]);
    a.write(".zshrc", "from a\n", 0o644);

    // a's sync stops after checking the remote's branch and sending its objects, just before
    // it moves the branch; meanwhile b pushes.
    let paused = Paused::start(&a, &["sync"]);
    never_rewritten(&b.synced());
    let from_b = head(&b);
    assert_eq!(remote_head(&remote).as_deref(), Some(from_b.as_str()), "b's push landed");
    let out = paused.finish();

    assert!(out.status.success(), "the overtaken sync still ends well:\n{}", show(&out));
    assert!(in_remote(&remote, &from_b), "b's commit was not replaced on the remote");
    assert!(show(&out).contains(&format!("{RETRIED} (1 time)")), "and a says it pushed again:\n{}", show(&out));
    never_rewritten(&out);
    assert_eq!(remote_head(&remote), Some(head(&a)), "a merged b's commit and pushed on top of it");
    assert_eq!(a.read(".profile"), "from b\n", "a applied what it merged");
    never_rewritten(&b.synced());
    assert_eq!(b.read(".zshrc"), "from a\n");
    assert_eq!(head(&b), head(&a));
}

/// The shared file: one line per device, each between separators so that edits to different
/// lines merge cleanly.
fn shared_text(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n--\n--\n")).collect()
}

/// Edits this device's line of the shared file as it is in its HOME now.
fn edit_shared(env: &TestEnv, device: usize, value: &str) {
    let text = env.read(".shared");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[device * 3] = value.to_string();
    env.write(".shared", &lines.iter().map(|l| format!("{l}\n")).collect::<String>(), 0o644);
}

/// `devices` (the first has `~/.shared` and each its own `~/.devNrc` tracked and synced) sync
/// all at once through `remote`, for `rounds` rounds, each editing its own file every round and
/// its line of the shared file every third round; then each syncs in turn until they settle.
pub fn hammer(devices: &[TestEnv], remote: &Path, rounds: usize) {
    let n = devices.len();
    let mut own = vec![String::new(); n];
    let mut shared: Vec<String> = (0..n).map(|i| format!("device {i}: start")).collect();
    let mut landed = Vec::new();
    let mut retries = 0;
    for round in 0..rounds {
        for (i, d) in devices.iter().enumerate() {
            own[i] = format!("device {i}, round {round}");
            d.write(&format!(".dev{i}rc"), &format!("{}\n", own[i]), 0o644);
            if (round + i) % 3 == 0 {
                shared[i] = format!("device {i}: round {round}");
                edit_shared(d, i, &shared[i]);
            }
        }
        let running: Vec<_> = devices
            .iter()
            .map(|d| d.cmd(&["sync"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
            .collect();
        for (i, child) in running.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}, device {i}: no sync fails for a race:\n{}",
                show(&out)
            );
            never_rewritten(&out);
            retries += show(&out).matches(RETRIED).count();
            // A sync ends with its push: what the device holds now, the remote took.
            landed.push(head(&devices[i]));
        }
    }
    for _ in 0..2 {
        for d in devices {
            never_rewritten(&d.synced());
        }
    }

    let fsck = git_cleared().arg("--git-dir").arg(remote).args(["fsck", "--strict"]).output().unwrap();
    assert!(fsck.status.success(), "the remote is intact:\n{}", show(&fsck));
    for h in &landed {
        assert!(in_remote(remote, h), "commit {h}, which a sync pushed, is in the remote's history");
    }
    let tip = remote_head(remote).unwrap();
    for (i, d) in devices.iter().enumerate() {
        assert_eq!(head(d), tip, "device {i} settled on the remote's commit");
        for (j, text) in own.iter().enumerate() {
            assert_eq!(d.read(&format!(".dev{j}rc")), format!("{text}\n"), "device {i} has device {j}'s last edit");
        }
        assert_eq!(d.read(".shared"), shared_text(&shared), "device {i} has every device's edit of the shared file");
    }
    eprintln!("{n} devices, {rounds} rounds: {retries} pushes retried after a lost race");
}

/// Device 0 (tracking the shared file and its own), and `n - 1` more made by `join`, each
/// tracking its own file, all synced through `url`.
pub fn devices(n: usize, url: &str, join: &dyn Fn(usize) -> TestEnv) -> Vec<TestEnv> {
    devices_with(n, url, &|_| {}, join)
}

/// [`devices`], with `prepare` run on the first device before it reaches the remote.
pub fn devices_with(n: usize, url: &str, prepare: &dyn Fn(&TestEnv), join: &dyn Fn(usize) -> TestEnv) -> Vec<TestEnv> {
    let first = TestEnv::new();
    prepare(&first);
    first.init();
    first.write(".shared", &shared_text(&(0..n).map(|i| format!("device {i}: start")).collect::<Vec<_>>()), 0o644);
    first.write(".dev0rc", "device 0\n", 0o644);
    first.ok(&["add", ".shared", ".dev0rc"]);
    first.ok(&["remote", "add", "origin", url]);
    first.ok(&["sync"]);
    let mut all = vec![first];
    for i in 1..n {
        let d = join(i);
        d.ok(&["apply"]);
        d.write(&format!(".dev{i}rc"), &format!("device {i}\n"), 0o644);
        d.ok(&["add", &format!(".dev{i}rc")]);
        d.ok(&["sync"]);
        all.push(d);
    }
    for d in &all {
        d.synced();
    }
    all
}

#[test]
fn four_devices_syncing_at_once_through_a_local_remote_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remote.git");
    let init = git_cleared().args(["init", "-q", "--bare", "-b", "main"]).arg(&remote).output().unwrap();
    assert!(init.status.success(), "{}", show(&init));
    let url = remote.to_str().unwrap().to_string();
    let devs = devices(4, &url, &|i| device_from(&remote, &format!("dev{i}")));
    hammer(&devs, &remote, 20);
}

#[test]
fn two_first_pushes_to_a_new_remote_at_once_keep_both() {
    let (a, origin) = synced_with_zshrc("one\n");
    let b = device_from(&origin, "b");
    b.ok(&["apply"]);
    // A second medium, new and empty, added on both devices.
    let usb = bare(&a, "usb.git");
    for d in [&a, &b] {
        d.ok(&["remote", "add", "usb", usb.to_str().unwrap()]);
    }
    a.write(".zshrc", "from a\n", 0o644);
    a.ok(&["commit"]);
    b.write(".profile", "from b\n", 0o644);
    b.ok(&["add", ".profile"]);

    // a's first push to usb stops just before it creates the branch; b creates it meanwhile.
    let paused = Paused::start(&a, &["sync", "--remote", "usb"]);
    b.ok(&["sync", "--remote", "usb"]);
    let from_b = head(&b);
    let out = paused.finish();

    assert!(out.status.success(), "{}", show(&out));
    assert!(in_remote(&usb, &from_b), "b's first push was not replaced by a's");
    assert_eq!(remote_head(&usb), Some(head(&a)), "a merged it and pushed on top");
    assert_eq!(a.read(".profile"), "from b\n");
}

#[test]
fn a_branch_deleted_on_the_remote_is_pushed_again_and_a_left_lock_is_named() {
    let (a, remote) = synced_with_zshrc("one\n");
    let git = |args: &[&str]| {
        let out = git_cleared().arg("--git-dir").arg(&remote).args(args).output().unwrap();
        assert!(out.status.success(), "{}", show(&out));
    };
    // The branch is gone (say, a new disk at the same path holds an empty repository).
    git(&["update-ref", "-d", "refs/heads/main"]);
    a.write(".zshrc", "two\n", 0o644);
    let out = a.cmd(&["sync"]).output().unwrap();
    assert!(out.status.success(), "a remote without the branch takes this store's history again:\n{}", show(&out));
    assert!(!show(&out).contains("pushed first"), "nobody pushed first: {}", show(&out));
    assert_eq!(remote_head(&remote), Some(head(&a)));

    // A lock left on the remote's branch by a push that was stopped: named, not retried forever.
    let lock = remote.join("refs/heads/main.lock");
    fs::write(&lock, "").unwrap();
    a.write(".zshrc", "three\n", 0o644);
    let out = a.cmd(&["sync"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", show(&out));
    let text = show(&out);
    assert!(text.contains("is locked") && text.contains(&lock.display().to_string()), "names the lock: {text}");
    assert!(!text.contains("pushed first"), "not called a race: {text}");
    fs::remove_file(&lock).unwrap();
    a.ok(&["sync"]);
    assert_eq!(remote_head(&remote), Some(head(&a)), "pushed once the lock is gone");
}
