//! Per-device state under `$XDG_STATE_HOME/dotback`: the stat cache, the lock, backups.
//!
//! The stat cache plays the role of git's index: a file whose (size, mtime, ctime, inode, mode)
//! are unchanged since it was last hashed is not read again. It also remembers, per target, the
//! state both sides agreed on the last time dotback applied or captured it (the *base*), which is
//! what tells "changed in HOME" from "changed in the store".

use crate::fsutil::{self, Hash, StatKey};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A file modified this close to the start of an operation may share its mtime with a later
/// edit (timestamps come from a coarse clock), so its hash is not memoized ("racily clean").
const RACY_NS: i128 = 100_000_000;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot use the state directory {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("another dotback process ({holder}) is changing the store")]
    Locked { holder: String, lock: PathBuf },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |source| StateError::Io { path: path.to_path_buf(), source }
}

/// Creates `dir` (and parents) owner-only: state can name private files.
/// Parents that do not exist yet (such as `~/.config`) get the ordinary mode.
pub fn ensure_private_dir(dir: &Path) -> Result<(), StateError> {
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(io_err(dir)(e)),
        _ => Ok(()),
    }
}

/// The kind of thing at a target path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeKind {
    File,
    Dir,
    Symlink,
}

/// What a target is: kind, content hash (files, and symlinks' targets) and permission bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub kind: NodeKind,
    #[serde(with = "opt_oid")]
    pub hash: Option<Hash>,
    pub perm: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Memo {
    stat: StatKey,
    #[serde(with = "oid")]
    hash: Hash,
}

#[derive(Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    /// Target path (relative to HOME) -> memo of the live file's hash.
    live: HashMap<String, Memo>,
    /// Source path (relative to the store) -> memo of the store file's hash.
    source: HashMap<String, Memo>,
    /// Target path -> the state HOME and the store last agreed on.
    base: HashMap<String, Node>,
}

/// The stat cache, loaded for one operation.
pub struct Cache {
    path: PathBuf,
    file: CacheFile,
    op_start_ns: i128,
    dirty: bool,
}

/// Which side of a target a memo describes.
#[derive(Clone, Copy, Debug)]
pub enum Side {
    Live,
    Source,
}

impl Cache {
    /// Loads the cache; a missing or unreadable one is an empty cache (it is only a memo).
    pub fn load(state_dir: &Path) -> Cache {
        let path = state_dir.join("cache.json");
        let op_start_ns = fsutil::now_ns();
        let file = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<CacheFile>(&b).ok())
            .filter(|f| f.version == 1)
            .unwrap_or_else(|| CacheFile { version: 1, ..Default::default() });
        Cache { path, file, op_start_ns, dirty: false }
    }

    fn map(&self, side: Side) -> &HashMap<String, Memo> {
        match side {
            Side::Live => &self.file.live,
            Side::Source => &self.file.source,
        }
    }

    /// The memoized hash of `key` if its stat is unchanged.
    pub fn hash(&self, side: Side, key: &str, stat: &StatKey) -> Option<Hash> {
        self.map(side).get(key).filter(|m| m.stat == *stat).map(|m| m.hash)
    }

    /// Records the hash of `key`, unless the file is too recent to trust its timestamps.
    pub fn remember(&mut self, side: Side, key: &str, stat: StatKey, hash: Hash) {
        let map = match side {
            Side::Live => &mut self.file.live,
            Side::Source => &mut self.file.source,
        };
        if stat.mtime_ns >= self.op_start_ns - RACY_NS {
            if map.remove(key).is_some() {
                self.dirty = true;
            }
            return;
        }
        let memo = Memo { stat, hash };
        if map.get(key) != Some(&memo) {
            map.insert(key.to_string(), memo);
            self.dirty = true;
        }
    }

    pub fn base(&self, target: &str) -> Option<Node> {
        self.file.base.get(target).copied()
    }

    pub fn set_base(&mut self, target: &str, node: Option<Node>) {
        let changed = match node {
            Some(n) => self.file.base.insert(target.to_string(), n) != Some(n),
            None => self.file.base.remove(target).is_some(),
        };
        self.dirty |= changed;
    }

    /// Drops memos of paths no longer present (keeps the file small).
    pub fn retain(&mut self, side: Side, keep: impl Fn(&str) -> bool) {
        let map = match side {
            Side::Live => &mut self.file.live,
            Side::Source => &mut self.file.source,
        };
        let before = map.len();
        map.retain(|k, _| keep(k));
        self.dirty |= map.len() != before;
    }

    /// Writes the cache if anything changed.
    pub fn save(&mut self) -> Result<(), StateError> {
        if !self.dirty {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            ensure_private_dir(dir)?;
        }
        let data = serde_json::to_vec(&self.file).expect("cache serializes");
        fsutil::write_atomic(&self.path, &data, 0o600).map_err(io_err(&self.path))?;
        self.dirty = false;
        Ok(())
    }
}

/// Exclusive right to change the store and HOME; released on drop.
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock, waiting up to `wait` for another dotback process to finish.
    pub fn acquire(state_dir: &Path, wait: Duration) -> Result<Lock, StateError> {
        ensure_private_dir(state_dir)?;
        let path = state_dir.join("lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = match holder.trim() {
                        "" => "unknown process".to_string(),
                        h => h.to_string(),
                    };
                    return Err(StateError::Locked { holder, lock: path });
                }
                Err(fs::TryLockError::Error(e)) => return Err(io_err(&path)(e)),
            }
        }
        file.set_len(0).map_err(io_err(&path))?;
        let exe = std::env::args().next().unwrap_or_default();
        let args: Vec<String> = std::env::args().skip(1).take(3).collect();
        let _ = write!(file, "pid {} ({} {})", std::process::id(), exe, args.join(" "));
        Ok(Lock { _file: file })
    }
}

/// Copies of live files taken before dotback overwrites or removes them.
pub struct Backups {
    root: PathBuf,
    dir: Option<PathBuf>,
    pub saved: usize,
}

impl Backups {
    pub fn new(state_dir: &Path) -> Backups {
        Backups { root: state_dir.join("backups"), dir: None, saved: 0 }
    }

    /// This operation's backup directory, if anything was saved.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn this_run(&mut self) -> Result<PathBuf, StateError> {
        if let Some(d) = &self.dir {
            return Ok(d.clone());
        }
        ensure_private_dir(&self.root)?;
        let stamp = timestamp();
        for n in 0.. {
            let name = if n == 0 { stamp.clone() } else { format!("{stamp}-{n}") };
            let d = self.root.join(name);
            match fs::DirBuilder::new().mode(0o700).create(&d) {
                Ok(()) => {
                    self.dir = Some(d.clone());
                    return Ok(d);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err(&d)(e)),
            }
        }
        unreachable!()
    }

    /// Saves `live` (file, symlink or whole directory) as `<backup>/<rel>`.
    pub fn save(&mut self, live: &Path, rel: &str) -> Result<(), StateError> {
        let dest = self.this_run()?.join(rel);
        if let Some(parent) = dest.parent() {
            ensure_private_dir(parent)?;
        }
        copy_tree(live, &dest).map_err(io_err(live))?;
        self.saved += 1;
        Ok(())
    }
}

fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    let md = fs::symlink_metadata(from)?;
    let perm = md.permissions().mode() & 0o7777;
    if md.file_type().is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(from)?, to)
    } else if md.is_dir() {
        fs::DirBuilder::new().mode(0o700).create(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        fs::set_permissions(to, fs::Permissions::from_mode(perm | 0o700))
    } else if md.is_file() {
        fsutil::write_atomic(to, &fs::read(from)?, perm)
    } else {
        Ok(()) // sockets and fifos have no content to save
    }
}

/// `YYYYmmdd-HHMMSS` in UTC, for backup and conflict names.
pub fn timestamp() -> String {
    let fmt = time::macros::format_description!("[year][month][day]-[hour][minute][second]");
    time::OffsetDateTime::now_utc().format(&fmt).expect("timestamp formats")
}

mod oid {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(o: &git2::Oid, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&o.to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<git2::Oid, D::Error> {
        let s = <&str>::deserialize(d)?;
        git2::Oid::from_str(s).map_err(serde::de::Error::custom)
    }
}

mod opt_oid {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(o: &Option<git2::Oid>, s: S) -> Result<S::Ok, S::Error> {
        match o {
            Some(o) => s.serialize_some(&o.to_string()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<git2::Oid>, D::Error> {
        let s = Option::<&str>::deserialize(d)?;
        s.map(|s| git2::Oid::from_str(s).map_err(serde::de::Error::custom)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(mtime_ns: i128) -> StatKey {
        StatKey { size: 1, mtime_ns, ctime_ns: mtime_ns, ino: 7, mode: 0o100644 }
    }

    #[test]
    fn memo_survives_save_and_load_and_needs_equal_stat() {
        let dir = tempfile::tempdir().unwrap();
        let h = fsutil::hash_bytes(b"x");
        let mut c = Cache::load(dir.path());
        c.remember(Side::Live, ".zshrc", stat(1_000), h);
        c.set_base(".zshrc", Some(Node { kind: NodeKind::File, hash: Some(h), perm: 0o644 }));
        c.save().unwrap();
        let c = Cache::load(dir.path());
        assert_eq!(c.hash(Side::Live, ".zshrc", &stat(1_000)), Some(h));
        assert_eq!(c.hash(Side::Live, ".zshrc", &stat(2_000)), None);
        assert_eq!(c.hash(Side::Source, ".zshrc", &stat(1_000)), None);
        assert_eq!(c.base(".zshrc").unwrap().hash, Some(h));
    }

    #[test]
    fn racily_clean_files_are_not_memoized() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cache::load(dir.path());
        let recent = stat(fsutil::now_ns());
        c.remember(Side::Live, "a", recent, fsutil::hash_bytes(b"a"));
        assert_eq!(c.hash(Side::Live, "a", &recent), None);
    }

    #[test]
    fn second_lock_fails_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let _held = Lock::acquire(dir.path(), Duration::ZERO).unwrap();
        let err = Lock::acquire(dir.path(), Duration::from_millis(100)).err().unwrap();
        match err {
            StateError::Locked { holder, .. } => {
                assert!(holder.contains(&std::process::id().to_string()), "{holder}")
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn backup_keeps_content_mode_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("live");
        fs::create_dir(&live).unwrap();
        fsutil::write_atomic(&live.join("secret"), b"s", 0o600).unwrap();
        std::os::unix::fs::symlink("/elsewhere", live.join("link")).unwrap();
        let mut b = Backups::new(&dir.path().join("state"));
        b.save(&live, "d").unwrap();
        let saved = b.dir().unwrap().join("d");
        assert_eq!(fs::read(saved.join("secret")).unwrap(), b"s");
        assert_eq!(fs::metadata(saved.join("secret")).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read_link(saved.join("link")).unwrap(), Path::new("/elsewhere"));
    }
}
