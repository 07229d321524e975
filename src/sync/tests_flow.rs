//! Two devices syncing in-process through a real bare remote, checked on the reports.

use super::{RemoteStatus, SyncOptions, SyncReport, run};
use crate::capture::{self, AddOptions};
use crate::config::IdentityStorage;
use crate::context::Context;
use crate::events::Collect;
use crate::paths::Paths;
use crate::session::{Access, Session};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Device {
    paths: Paths,
    home: PathBuf,
}

impl Device {
    fn new(root: &Path, name: &str) -> Device {
        let home = root.join(name);
        std::fs::create_dir_all(&home).unwrap();
        let h = home.clone();
        let paths = Paths::from_env(move |v| (v == "HOME").then(|| OsString::from(&h))).unwrap();
        Device { paths, home }
    }

    fn init(&self, store: &Path, name: &str) -> String {
        let pass = || Ok(secrecy::SecretString::from("a recovery passphrase".to_string()));
        crate::init::init(&self.paths, Some(store), Some(name), Some(IdentityStorage::File), pass).unwrap().recipient
    }

    fn session(&self) -> Session {
        let ctx = Context::load(self.paths.clone()).unwrap();
        Session::open(ctx, Access::Write, &crate::events::Silent).unwrap()
    }

    fn write(&self, target: &str, text: &str) {
        let p = self.home.join(target);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn read(&self, target: &str) -> String {
        std::fs::read_to_string(self.home.join(target)).unwrap()
    }

    fn add(&self, targets: &[&str]) {
        let mut s = self.session();
        let targets: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
        let p = s.parts();
        capture::add(p.ctx, p.state, p.cache, p.vault, &targets, AddOptions::default(), &crate::events::Silent)
            .unwrap();
        s.finish().unwrap();
    }

    fn sync(&self) -> (SyncReport, Collect) {
        let mut s = self.session();
        let events = Collect::default();
        let report = run(&mut s, &SyncOptions::default(), &events).unwrap();
        s.finish().unwrap();
        (report, events)
    }
}

fn git(args: &[&str]) {
    let out = Command::new("git").args(args).env_remove("GIT_DIR").output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn pushed_everywhere(r: &SyncReport) -> bool {
    r.remotes.iter().all(|(_, s)| matches!(s, RemoteStatus::Reached { .. }))
}

#[test]
fn two_devices_sync_edits_and_a_conflict_through_a_bare_remote() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let remote = root.join("remote.git");
    git(&["init", "--quiet", "--bare", "-b", "main", remote.to_str().unwrap()]);

    // alpha creates the store, tracks two files, and syncs them to the remote.
    let alpha = Device::new(root, "alpha");
    let alpha_store = alpha.home.join("store");
    alpha.init(&alpha_store, "alpha");
    alpha.write(".zshrc", "one\ntwo\nthree\n");
    alpha.write(".config/app/app.conf", "colour = blue\n");
    alpha.add(&[".zshrc", ".config"]);
    crate::store::Store::open(&alpha_store).unwrap().add_remote("origin", remote.to_str().unwrap()).unwrap();
    let (r, _) = alpha.sync();
    assert!(r.committed.commit.is_some(), "the added files are committed");
    assert_eq!(r.pushed, 1, "and pushed to the one remote");
    assert!(pushed_everywhere(&r));

    // beta clones it, is admitted by alpha, and syncs: its HOME gets both files.
    let beta = Device::new(root, "beta");
    let beta_store = beta.home.join("store");
    git(&["clone", "--quiet", remote.to_str().unwrap(), beta_store.to_str().unwrap()]);
    let beta_key = beta.init(&beta_store, "beta");
    {
        let s = alpha.session();
        let key = crate::keys::parse_recipient(&beta_key).unwrap();
        crate::keys::change_recipients(&s, "add device beta", false, |rs| rs.add_device("beta", key)).unwrap();
        s.finish().unwrap();
    }
    let (r, _) = alpha.sync();
    assert_eq!(r.pushed, 1, "the admission is pushed");
    let (r, _) = beta.sync();
    assert_eq!(r.merged, 1, "beta merges alpha's history");
    assert_eq!(r.applied_count(), 3, "and writes both files and their directory: {:?}", r.applied);
    assert_eq!(beta.read(".zshrc"), "one\ntwo\nthree\n");
    assert_eq!(beta.read(".config/app/app.conf"), "colour = blue\n");

    // Edits to different lines merge; both devices end with both edits.
    alpha.write(".zshrc", "ONE\ntwo\nthree\n");
    beta.write(".zshrc", "one\ntwo\nTHREE\n");
    let (r, _) = alpha.sync();
    assert_eq!((r.committed.paths, r.pushed), (1, 1));
    let (r, _) = beta.sync();
    assert!(r.conflicts.is_empty(), "a clean text merge: {:?}", r.conflicts);
    assert_eq!(beta.read(".zshrc"), "ONE\ntwo\nTHREE\n");
    let (r, _) = alpha.sync();
    assert_eq!(r.merged, 1);
    assert_eq!(alpha.read(".zshrc"), "ONE\ntwo\nTHREE\n");

    // Both change the same line: beta keeps its version live, alpha's goes beside it.
    alpha.write(".config/app/app.conf", "colour = green\n");
    beta.write(".config/app/app.conf", "colour = red\n");
    alpha.sync();
    let (r, _) = beta.sync();
    assert_eq!(r.conflicts.len(), 1, "one conflict copy: {:?}", r.conflicts);
    assert!(r.conflicts[0].contains("dotback-conflict-alpha-"), "named for the other device: {}", r.conflicts[0]);
    assert_eq!(beta.read(".config/app/app.conf"), "colour = red\n", "the local version stays live");
    let copy = crate::managed::target_of_source(&r.conflicts[0]).unwrap();
    assert_eq!(beta.read(&copy), "colour = green\n", "the other side's version is beside it");
    assert!(pushed_everywhere(&r));

    // alpha receives the conflict copy too: nothing of either edit is lost anywhere.
    let (r, _) = alpha.sync();
    assert!(r.merged >= 1);
    assert_eq!(alpha.read(&copy), "colour = green\n");
    assert_eq!(alpha.read(".config/app/app.conf"), "colour = red\n");
    assert_eq!(r.unsettled.len(), 1, "the conflict stays listed until it is resolved");

    // A file deleted in alpha's HOME is a deletion: recorded, pushed, and removed on beta.
    std::fs::remove_file(alpha.home.join(".zshrc")).unwrap();
    let (r, _) = alpha.sync();
    assert_eq!(r.committed.captured.deleted, vec![".zshrc".to_string()], "{:?}", r.committed.captured);
    assert!(r.committed.captured.held_deletions.is_empty(), "one deletion is below the guard");
    assert_eq!(r.pushed, 1);
    let (r, _) = beta.sync();
    assert_eq!(r.applied.as_ref().map(|a| a.removed.clone()), Some(vec![".zshrc".to_string()]));
    assert!(!beta.home.join(".zshrc").exists(), "beta removes its unchanged copy");
    assert!(!alpha.home.join(".zshrc").exists(), "and alpha's deletion is not undone");
}

#[test]
fn a_file_seen_missing_while_the_session_opened_but_back_by_the_capture_is_no_deletion() {
    let tmp = tempfile::tempdir().unwrap();
    let alpha = Device::new(tmp.path(), "alpha");
    let store = alpha.home.join("store");
    alpha.init(&store, "alpha");
    alpha.write(".profile", "export A=1\n");
    alpha.write(".zshrc", "z\n");
    alpha.add(&[".profile", ".zshrc"]);
    let commit = |s: &mut Session| capture::commit(s, &capture::CommitOptions::default(), &crate::events::Silent);
    // Files changed within the racy window of an operation get no memo: let them age past it,
    // so that the commit memoizes them (and only memoized paths are looked at ahead).
    std::thread::sleep(std::time::Duration::from_millis(250));
    let mut s = alpha.session();
    assert!(commit(&mut s).unwrap().commit.is_some());
    s.finish().unwrap();
    // The memos now name both files. A session looks at HOME ahead of its evaluation while
    // `.profile` is away, and it is back before the capture.
    std::fs::rename(alpha.home.join(".profile"), alpha.home.join("profile.away")).unwrap();
    let mut s = alpha.session();
    s.cache.prefetch_live(&alpha.home, &std::sync::atomic::AtomicBool::new(false));
    assert!(
        matches!(s.cache.prefetched_live(".profile", Default::default()), Some(None)),
        "seen missing ahead of the evaluation"
    );
    std::fs::rename(alpha.home.join("profile.away"), alpha.home.join(".profile")).unwrap();
    let done = commit(&mut s).unwrap();
    s.finish().unwrap();
    assert!(done.captured.deleted.is_empty(), "nothing recorded as deleted: {:?}", done.captured.deleted);
    assert!(store.join("dot_profile").is_file(), "the store keeps it");
    assert_eq!(alpha.read(".profile"), "export A=1\n");
}
