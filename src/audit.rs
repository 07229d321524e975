//! The audit trail: one JSON line per sync (and bootstrap) in
//! `.dotback/audit/<device>/<YYYY-MM>.jsonl` in the store, one file per UTC month of the record,
//! so every device (and `check`) sees when each machine last synced and how it went, and a busy
//! watcher does not grow one file forever. The single `.dotback/audit/<device>.jsonl` of earlier
//! versions is still read, never written. Records hold counts, remote names and outcomes, never
//! file contents, paths or URLs.
//!
//! Only this device writes its own files, so merging never conflicts on them. A record is
//! written after the sync it describes and travels with the next commit that sync or a later one
//! makes: a sync with nothing to do appends a line and makes no commit.

use crate::fsutil::Beneath;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// Store paths under this directory are the audit trail.
pub const DIR: &str = ".dotback/audit";

/// Whether the store path `path` is an audit file (not a change worth a commit on its own).
pub fn is_audit(path: &str) -> bool {
    path.strip_prefix(DIR).is_some_and(|rest| rest.starts_with('/'))
}

/// `device` as a file name: nothing but letters, digits and `-_.`, and no leading dot.
fn safe_name(device: &str) -> String {
    let safe: String =
        device.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    if safe.is_empty() || safe.starts_with('.') { format!("_{safe}") } else { safe }
}

/// The directory of `device`'s month files, relative to the store.
fn device_dir(device: &str) -> PathBuf {
    Path::new(DIR).join(safe_name(device))
}

/// The file `record` goes to: its device's file for the UTC month of its time.
pub fn file(store: &Path, record: &Record) -> PathBuf {
    store.join(device_dir(&record.device)).join(month_file(&record.time))
}

/// `YYYY-MM.jsonl` for the month of the RFC 3339 time `time`; the current UTC month's when
/// `time` is not one.
fn month_file(time: &str) -> String {
    let month = match time.get(..7) {
        Some(m) if is_month(m) => m.to_string(),
        _ => crate::state::rfc3339_now()[..7].to_string(),
    };
    format!("{month}.jsonl")
}

/// Whether `m` is `YYYY-MM`.
fn is_month(m: &str) -> bool {
    let b = m.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit())
        && (1..=12).contains(&((b[5] - b'0') * 10 + (b[6] - b'0')))
}

/// The month files among `names`, oldest first.
fn month_files(mut names: Vec<OsString>) -> Vec<OsString> {
    names.retain(|n| n.to_str().and_then(|n| n.strip_suffix(".jsonl")).is_some_and(is_month));
    names.sort();
    names
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
    /// Counts of the operations the fields above do not fit (an archive's objects, bytes,
    /// archives kept and removed), by name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub counts: std::collections::BTreeMap<String, u64>,
}

/// One bootstrap step and how long it took.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct StepTime {
    pub name: String,
    pub outcome: String,
    pub ms: u64,
}

/// Appends a record of an operation other than a sync (apply, a key change, an import…): its
/// name, outcome and counts, nothing of what it touched.
pub fn operation(
    store: &Path,
    device: &str,
    command: &str,
    outcome: &str,
    counts: &[(&str, u64)],
) -> std::io::Result<()> {
    let record = Record {
        time: crate::state::rfc3339_now(),
        device: device.to_string(),
        user: user(),
        command: command.to_string(),
        outcome: outcome.to_string(),
        counts: counts.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        ..Default::default()
    };
    append(store, &record)
}

/// The name of the user running dotback (`$USER`, `$LOGNAME`, else the numeric uid).
pub fn user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("uid {}", unsafe { libc::getuid() }))
}

/// `device`'s directory, opened without following a link on the way (made if `create`).
fn open_dir(store: &Path, device: &str, create: bool) -> std::io::Result<Beneath> {
    Beneath::open(store, &device_dir(device), create)
}

/// Appends `record` as one line to its month's file (one `write` call on an `O_APPEND` file: a
/// crash leaves whole lines). A symbolic link at the file or on the way is refused, never followed.
pub fn append(store: &Path, record: &Record) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    open_dir(store, &record.device, true)?.append(OsStr::new(&month_file(&record.time)), &line)
}

/// This device's newest audit files as they are before a sync moves the work tree (a merge
/// checks out the committed versions, which may lack the newest records); `restore` puts them
/// back. The newest two: records may still wait in last month's file after the month turned.
pub struct Pending {
    store: PathBuf,
    device: String,
    files: Vec<(OsString, Vec<u8>)>,
}

impl Pending {
    pub fn save(store: &Path, device: &str) -> Pending {
        let mut files = Vec::new();
        if let Ok(dir) = open_dir(store, device, false) {
            let names = month_files(dir.names().unwrap_or_default());
            for name in names.into_iter().rev().take(2) {
                if let Ok(content) = dir.read(&name) {
                    files.push((name, content));
                }
            }
        }
        Pending { store: store.to_path_buf(), device: device.to_string(), files }
    }

    /// Puts the saved records back where checking out a commit replaced or removed them.
    pub fn restore(&self) -> std::io::Result<()> {
        if self.files.is_empty() {
            return Ok(());
        }
        let dir = open_dir(&self.store, &self.device, true)?;
        for (name, content) in &self.files {
            if dir.read(name).ok().as_ref() != Some(content) {
                dir.write_atomic(name, content, 0o644)?;
            }
        }
        Ok(())
    }
}

/// Reads every record of `device`, oldest first: the single file of earlier versions, then each
/// month's file (lines that do not parse are skipped: an old or newer format).
pub fn read(store: &Path, device: &str) -> Vec<Record> {
    let old = Path::new(DIR).join(format!("{}.jsonl", safe_name(device)));
    let mut texts: Vec<Vec<u8>> = crate::fsutil::read_beneath(store, &store.join(old)).into_iter().collect();
    if let Ok(dir) = open_dir(store, device, false) {
        let names = month_files(dir.names().unwrap_or_default());
        texts.extend(names.iter().filter_map(|name| dir.read(name).ok()));
    }
    texts
        .iter()
        .filter_map(|t| std::str::from_utf8(t).ok())
        .flat_map(str::lines)
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Every device's records, device by device (each oldest first): a directory of month files
/// or an old single file per device, as [`read`] reads them.
pub fn read_all(store: &Path) -> Vec<Record> {
    let Ok(dir) = Beneath::open(store, Path::new(DIR), false) else { return Vec::new() };
    let mut devices: Vec<String> = dir
        .names()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| n.into_string().ok())
        .map(|n| n.strip_suffix(".jsonl").map(str::to_string).unwrap_or(n))
        .collect();
    devices.sort();
    devices.dedup();
    devices.iter().flat_map(|d| read(store, d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time: &str, outcome: &str) -> Record {
        Record { device: "d".into(), time: time.into(), outcome: outcome.into(), ..Record::default() }
    }

    #[test]
    fn audit_paths_are_recognised_and_device_names_cannot_escape() {
        assert!(is_audit(".dotback/audit/laptop.jsonl"));
        assert!(is_audit(".dotback/audit/laptop/2024-03.jsonl"));
        assert!(!is_audit(".dotback/auditx/laptop.jsonl"));
        assert!(!is_audit(".dotback/dotback.toml"));
        assert!(!is_audit("dot_zshrc"));
        let store = Path::new("/s");
        let of = |device: &str| file(store, &Record { device: device.into(), ..at("2024-03-05T10:00:00Z", "ok") });
        assert_eq!(of("laptop"), Path::new("/s/.dotback/audit/laptop/2024-03.jsonl"));
        assert_eq!(of("../x"), Path::new("/s/.dotback/audit/_.._x/2024-03.jsonl"));
        assert_eq!(of("a/b"), Path::new("/s/.dotback/audit/a_b/2024-03.jsonl"));
        assert_eq!(of(""), Path::new("/s/.dotback/audit/_/2024-03.jsonl"));
    }

    #[test]
    fn the_month_comes_from_the_records_time_and_a_time_that_is_none_means_now() {
        assert_eq!(month_file("2024-12-31T23:59:59Z"), "2024-12.jsonl");
        assert_eq!(month_file("2025-01-01T00:00:00Z"), "2025-01.jsonl");
        let now = format!("{}.jsonl", &crate::state::rfc3339_now()[..7]);
        for bad in ["", "2024", "2024-13-01T00:00:00Z", "2024-00-01", "../../x", "2024/01-01", "２０２４-01"] {
            assert_eq!(month_file(bad), now, "{bad:?}");
        }
        let names = ["2024-02.jsonl", "notes.txt", "2023-12.jsonl", "2024-1.jsonl", "2024-01.jsonl.tmp"];
        let names = month_files(names.iter().map(OsString::from).collect());
        assert_eq!(names, ["2023-12.jsonl", "2024-02.jsonl"].map(OsString::from));
    }

    #[test]
    fn records_append_as_lines_and_pending_records_survive_a_checkout() {
        let dir = tempfile::tempdir().unwrap();
        let r = Record { committed: 2, ..at("2024-05-01T08:00:00Z", "ok") };
        append(dir.path(), &r).unwrap();
        let pending = Pending::save(dir.path(), "d");
        std::fs::write(file(dir.path(), &r), "").unwrap(); // a checkout of an older version
        pending.restore().unwrap();
        append(dir.path(), &Record { outcome: "offline".into(), ..r.clone() }).unwrap();
        let all = read(dir.path(), "d");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], r);
        assert_eq!(all[1].outcome, "offline");
        // A checkout that removes the device's directory altogether.
        let pending = Pending::save(dir.path(), "d");
        std::fs::remove_dir_all(dir.path().join(DIR).join("d")).unwrap();
        pending.restore().unwrap();
        assert_eq!(read(dir.path(), "d").len(), 2);
    }

    #[test]
    fn an_old_single_file_is_still_read_and_a_new_month_starts_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path();
        std::fs::create_dir_all(store.join(DIR)).unwrap();
        let old = serde_json::to_string(&at("2023-11-20T12:00:00Z", "old")).unwrap();
        std::fs::write(store.join(DIR).join("d.jsonl"), format!("{old}\nnot json\n")).unwrap();
        let (jan, feb) = (at("2024-01-31T23:59:59Z", "jan"), at("2024-02-01T00:00:00Z", "feb"));
        append(store, &jan).unwrap();
        append(store, &feb).unwrap();
        assert_eq!(std::fs::read_to_string(store.join(DIR).join("d.jsonl")).unwrap(), format!("{old}\nnot json\n"));
        let lines = |r: &Record| std::fs::read_to_string(file(store, r)).unwrap().lines().count();
        assert_eq!((lines(&jan), lines(&feb)), (1, 1), "one file per month");
        assert_ne!(file(store, &jan), file(store, &feb));
        let outcomes: Vec<String> = read(store, "d").into_iter().map(|r| r.outcome).collect();
        assert_eq!(outcomes, ["old", "jan", "feb"]);
        assert!(read(store, "other").is_empty());
        append(store, &Record { device: "other".into(), ..at("2024-01-15T00:00:00Z", "theirs") }).unwrap();
        let all: Vec<String> = read_all(store).into_iter().map(|r| r.outcome).collect();
        assert_eq!(all, ["old", "jan", "feb", "theirs"], "every device's trail, the old file included");

        // Both newest months are saved around a checkout; older ones are left alone.
        append(store, &at("2024-03-02T00:00:00Z", "mar")).unwrap();
        let pending = Pending::save(store, "d");
        std::fs::write(file(store, &feb), "").unwrap();
        std::fs::write(file(store, &at("2024-03-02T00:00:00Z", "")), "").unwrap();
        pending.restore().unwrap();
        let outcomes: Vec<String> = read(store, "d").into_iter().map(|r| r.outcome).collect();
        assert_eq!(outcomes, ["old", "jan", "feb", "mar"]);
    }

    #[test]
    fn a_link_at_an_audit_file_or_directory_is_neither_appended_to_nor_copied_into_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let (store, outside) = (dir.path().join("store"), dir.path().join("outside"));
        std::fs::create_dir_all(store.join(DIR).join("d")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("2024-05.jsonl"), "password=hunter2\n").unwrap();
        let r = at("2024-05-01T08:00:00Z", "ok");
        std::os::unix::fs::symlink(outside.join("2024-05.jsonl"), file(&store, &r)).unwrap();
        let e = append(&store, &r).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(read(&store, "d").is_empty());
        let pending = Pending::save(&store, "d");
        std::fs::remove_file(file(&store, &r)).unwrap();
        pending.restore().unwrap();
        assert!(!file(&store, &r).exists(), "nothing was saved through the link");

        // The device's directory itself a link: refused too.
        std::fs::remove_dir(store.join(DIR).join("d")).unwrap();
        std::os::unix::fs::symlink(&outside, store.join(DIR).join("d")).unwrap();
        let e = append(&store, &r).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(read(&store, "d").is_empty());
        assert!(Pending::save(&store, "d").files.is_empty());
        assert_eq!(std::fs::read_to_string(outside.join("2024-05.jsonl")).unwrap(), "password=hunter2\n");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1, "nothing was made outside");
    }
}
