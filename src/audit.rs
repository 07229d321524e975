//! The audit trail: one JSON line per sync (and bootstrap) in `.dotback/audit/<device>.jsonl` in the store, so
//! every device (and `check`) sees when each machine last synced and how it went. Records hold
//! counts, remote names and outcomes, never file contents, paths or URLs.
//!
//! Only this device writes its own file, so merging never conflicts on it. A record is written
//! after the sync it describes and travels with the next commit that sync or a later one makes:
//! a sync with nothing to do appends a line and makes no commit.

use crate::fsutil::{self, Beneath};
use std::path::{Path, PathBuf};

/// Store paths under this directory are the audit trail.
pub const DIR: &str = ".dotback/audit";

/// Whether the store path `path` is an audit file (not a change worth a commit on its own).
pub fn is_audit(path: &str) -> bool {
    path.strip_prefix(DIR).is_some_and(|rest| rest.starts_with('/'))
}

/// This device's audit file.
pub fn path(store: &Path, device: &str) -> PathBuf {
    let safe: String =
        device.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    let safe = if safe.is_empty() || safe.starts_with('.') { format!("_{safe}") } else { safe };
    store.join(DIR).join(format!("{safe}.jsonl"))
}

/// One sync, as recorded.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Record {
    /// UTC, RFC 3339.
    pub time: String,
    pub device: String,
    pub user: String,
    pub command: String,
    /// `ok`, `offline` (a remote unreachable), `refused` (a remote refused, or a change to the
    /// keys or rules held back), `deletions-held` (the deletion guard held deletions back),
    /// `incomplete` (an edit not captured or a target not applied), `conflict` (a conflict left
    /// unsettled), `error` (the sync failed).
    pub outcome: String,
    /// Store paths committed from HOME by this sync.
    pub committed: usize,
    pub remotes_reached: usize,
    pub remotes_unreachable: Vec<String>,
    pub remotes_refused: Vec<String>,
    /// Fetched commits merged or fast-forwarded.
    pub merged: usize,
    pub conflicts: usize,
    /// Changes written to (or removed from) HOME.
    pub applied: usize,
    pub pushed: usize,
    pub duration_ms: u64,
    /// The steps of a bootstrap, each with its time (empty for a sync).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepTime>,
}

/// One bootstrap step and how long it took.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct StepTime {
    pub name: String,
    pub outcome: String,
    pub ms: u64,
}

/// The name of the user running dotback (`$USER`, `$LOGNAME`, else the numeric uid).
pub fn user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("uid {}", unsafe { libc::getuid() }))
}

/// This device's audit directory, opened without following a link on the way (made if missing).
fn dir(store: &Path, create: bool) -> std::io::Result<Beneath> {
    Beneath::open(store, Path::new(DIR), create)
}

/// Appends `record` as one line (one `write` call on an `O_APPEND` file: a crash leaves whole
/// lines). A symbolic link at the file or on the way is refused, never followed.
pub fn append(store: &Path, record: &Record) -> std::io::Result<()> {
    let file = path(store, &record.device);
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    dir(store, true)?.append(file.file_name().expect("audit files have a name"), &line)
}

/// This device's audit file as it is before a sync moves the work tree (a merge checks out the
/// committed version, which may lack the newest records); `restore` puts it back.
pub struct Pending {
    store: PathBuf,
    file: PathBuf,
    content: Option<Vec<u8>>,
}

impl Pending {
    pub fn save(store: &Path, device: &str) -> Pending {
        let file = path(store, device);
        let content = fsutil::read_beneath(store, &file).ok();
        Pending { store: store.to_path_buf(), file, content }
    }

    /// Puts the saved records back when checking out a commit replaced or removed them.
    pub fn restore(&self) -> std::io::Result<()> {
        let Some(content) = &self.content else { return Ok(()) };
        if fsutil::read_beneath(&self.store, &self.file).ok().as_ref() == Some(content) {
            return Ok(());
        }
        fsutil::write_atomic_beneath(&self.store, &self.file, content, 0o644)
    }
}

/// Reads every record of `device` (lines that do not parse are skipped: an old or newer format).
pub fn read(store: &Path, device: &str) -> Vec<Record> {
    let Ok(text) = fsutil::read_to_string_beneath(store, &path(store, device)) else { return Vec::new() };
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_paths_are_recognised_and_device_names_cannot_escape() {
        assert!(is_audit(".dotback/audit/laptop.jsonl"));
        assert!(!is_audit(".dotback/auditx/laptop.jsonl"));
        assert!(!is_audit(".dotback/dotback.toml"));
        assert!(!is_audit("dot_zshrc"));
        let store = Path::new("/s");
        assert_eq!(path(store, "laptop"), Path::new("/s/.dotback/audit/laptop.jsonl"));
        assert_eq!(path(store, "../x"), Path::new("/s/.dotback/audit/_.._x.jsonl"));
        assert_eq!(path(store, "a/b"), Path::new("/s/.dotback/audit/a_b.jsonl"));
    }

    #[test]
    fn records_append_as_lines_and_pending_records_survive_a_checkout() {
        let dir = tempfile::tempdir().unwrap();
        let r = Record { device: "d".into(), outcome: "ok".into(), committed: 2, ..Record::default() };
        append(dir.path(), &r).unwrap();
        let pending = Pending::save(dir.path(), "d");
        std::fs::write(path(dir.path(), "d"), "").unwrap(); // a checkout of an older version
        pending.restore().unwrap();
        append(dir.path(), &Record { outcome: "offline".into(), ..r.clone() }).unwrap();
        let all = read(dir.path(), "d");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], r);
        assert_eq!(all[1].outcome, "offline");
    }

    #[test]
    fn a_link_at_the_audit_file_is_neither_appended_to_nor_copied_into_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let (store, outside) = (dir.path().join("store"), dir.path().join("outside"));
        std::fs::create_dir_all(store.join(DIR)).unwrap();
        std::fs::write(&outside, "password=hunter2\n").unwrap();
        std::os::unix::fs::symlink(&outside, path(&store, "d")).unwrap();
        let r = Record { device: "d".into(), ..Record::default() };
        let e = append(&store, &r).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(read(&store, "d").is_empty());
        let pending = Pending::save(&store, "d");
        std::fs::remove_file(path(&store, "d")).unwrap();
        pending.restore().unwrap();
        assert!(!path(&store, "d").exists(), "nothing was saved through the link");
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "password=hunter2\n");
    }
}
