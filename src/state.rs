//! Per-device state under `$XDG_STATE_HOME/dotback`: the stat cache, the lock, backups.
//!
//! The stat cache plays the role of git's index: a file whose (size, mtime, ctime, inode, mode)
//! are unchanged since it was last hashed is not read again. It also remembers, per target, the
//! state both sides agreed on the last time dotback applied or captured it (the *base*), which is
//! what tells "changed in HOME" from "changed in the store".

use crate::config::BackupsKeep;
use crate::error::{IoContext, Op, PathError};
use crate::fsutil::{self, FastMap, Hash, StatKey, tree_order};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A file modified this close to the start of an operation may share its mtime with a later
/// edit (timestamps come from a coarse clock), so its hash is not memoized ("racily clean").
/// The ctime counts too: an edit that puts the mtime back (`touch -d`, or a link made anew
/// with an old mtime) still moves the ctime, which nothing but the kernel sets.
const RACY_NS: i128 = 100_000_000;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file or directory in the state directory.
    #[error(transparent)]
    Path(#[from] PathError),
    /// Copying a file (or tree) into the backups before it is overwritten or removed.
    #[error("cannot back up {} into dotback's state directory", path.display())]
    Backup {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot finish the update of the store {} that a stopped dotback process had begun", path.display())]
    Unfinished {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("another dotback process ({holder}) is changing the store")]
    Locked { holder: String, lock: PathBuf },
}

/// Creates `dir` (and parents) owner-only: state can name private files.
/// Parents that do not exist yet (such as `~/.config`) get the ordinary mode.
pub fn ensure_private_dir(dir: &Path) -> Result<(), PathError> {
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent).context(Op::Write, parent)?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(PathError::new(Op::Write, dir, e)),
        _ => Ok(()),
    }
}

/// The directories this device's user added as directories (`dotback add DIR`), kept in
/// `added-dirs.json` in the state directory: the watcher adds a new file below one of them. Kept
/// per device, never in the store, so no push can make a device start adding files it was not
/// asked to.
pub fn added_dirs(state_dir: &Path) -> std::collections::BTreeSet<String> {
    let path = state_dir.join("added-dirs.json");
    fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

/// Records `dirs` among [`added_dirs`] (`keep` false: removes them, as `forget` does).
pub fn record_added_dirs(state_dir: &Path, dirs: &[String], keep: bool) -> Result<(), PathError> {
    let mut all = added_dirs(state_dir);
    let before = all.clone();
    for d in dirs {
        if keep {
            all.insert(d.clone());
        } else {
            all.retain(|a| a != d && !a.starts_with(&format!("{d}/")));
        }
    }
    if all == before {
        return Ok(());
    }
    ensure_private_dir(state_dir)?;
    let path = state_dir.join("added-dirs.json");
    let json = serde_json::to_vec_pretty(&all).expect("a list of names serializes");
    crate::fsutil::write_atomic(&path, &json, 0o600).context(Op::Write, &path)
}

/// Where `dotback archive` last wrote one of this device's archives, per directory: kept in
/// `archives.json` in the state directory, so that `check` counts each directory as a copy of
/// the store. Kept per device, never in the store: a directory is a path on this machine.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArchiveDir {
    /// The newest archive written and verified there (its file name in the directory).
    pub newest: String,
    /// When it was made (UTC, RFC 3339).
    pub time: String,
}

/// The archive directories this device wrote to, by their absolute path.
pub fn archive_dirs(state_dir: &Path) -> std::collections::BTreeMap<PathBuf, ArchiveDir> {
    let path = state_dir.join("archives.json");
    fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

/// Records `newest` as the newest archive in `dir` (an absolute path).
pub fn record_archive_dir(state_dir: &Path, dir: &Path, newest: ArchiveDir) -> Result<(), PathError> {
    let mut all = archive_dirs(state_dir);
    if all.get(dir) == Some(&newest) {
        return Ok(());
    }
    all.insert(dir.to_path_buf(), newest);
    ensure_private_dir(state_dir)?;
    let path = state_dir.join("archives.json");
    // A path that is not UTF-8 has no JSON form.
    let json = serde_json::to_vec_pretty(&all).map_err(|e| PathError::new(Op::Write, dir, io::Error::other(e)))?;
    crate::fsutil::write_atomic(&path, &json, 0o600).context(Op::Write, &path)
}

/// The kind of thing at a target path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    File,
    Dir,
    Symlink,
}

/// How many targets of each kind: `add`, `status` and `commit` say what they count with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub files: usize,
    pub symlinks: usize,
    pub dirs: usize,
}

impl Tally {
    pub fn count(&mut self, kind: NodeKind) {
        match kind {
            NodeKind::File => self.files += 1,
            NodeKind::Symlink => self.symlinks += 1,
            NodeKind::Dir => self.dirs += 1,
        }
    }
}

/// What a target is: kind, content hash (files, and symlinks' targets) and permission bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    pub hash: Option<Hash>,
    pub perm: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Memo {
    stat: StatKey,
    hash: Hash,
}

#[derive(Default)]
struct CacheFile {
    /// Target path (relative to HOME) -> memo of the live file's hash (of its target, for a link).
    live: Table<Memo>,
    /// Source path (relative to the store) -> memo of the store file's hash; for a `symlink_`
    /// file, of the link target it names (what the desired node holds).
    source: Table<Memo>,
    /// Source path of an encrypted file -> memo of its plaintext's hash (by the ciphertext's stat).
    decrypted: Table<Memo>,
    /// Target path -> the state HOME and the store last agreed on.
    base: Table<Node>,
    /// Ciphertext (blob id of an encrypted store file) -> its plaintext's hash. Checked by
    /// content, not by stat, so a device without a usable identity still knows what an
    /// encrypted file it wrote or read before holds (and which ciphertext holds a base).
    sealed: FastMap<Hash, Hash>,
}

/// A map from path to value as the cache file holds it: the paths in tree order in one buffer,
/// so that loading allocates nothing per path, and an evaluation, which asks for paths in
/// that same order, finds each next to the one before (see [`Hint`]) instead of hashing it.
/// Paths not in the file when it was loaded go to `added`.
struct Table<V> {
    keys: String,
    /// (start in `keys`, length, value), sorted by [`path_order`] of the key; `None`: removed.
    recs: Vec<(u32, u32, Option<V>)>,
    added: FastMap<String, V>,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table { keys: String::new(), recs: Vec::new(), added: FastMap::default() }
    }
}

/// Where the last lookup in a [`Table`] was found: the next one tries the record after it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hint(usize);

impl<V: Copy> Table<V> {
    /// A table of `(path, value)` pairs, in any order (a later duplicate wins).
    fn from_pairs(keys: String, mut recs: Vec<(u32, u32, Option<V>)>) -> Table<V> {
        let key = |r: &(u32, u32, Option<V>)| &keys[r.0 as usize..(r.0 + r.1) as usize];
        let sorted = recs.windows(2).all(|w| tree_order(key(&w[0]), key(&w[1])).is_lt());
        if !sorted {
            // A file written in another order: sorted once, in order from the next save on.
            recs.sort_by(|a, b| tree_order(key(a), key(b)));
            let mut deduped: Vec<(u32, u32, Option<V>)> = Vec::with_capacity(recs.len());
            for r in recs {
                match deduped.last_mut() {
                    Some(last) if key(last) == key(&r) => *last = r,
                    _ => deduped.push(r),
                }
            }
            recs = deduped;
        }
        Table { keys, recs, added: FastMap::default() }
    }

    fn key(&self, i: usize) -> &str {
        let (start, len, _) = self.recs[i];
        &self.keys[start as usize..(start + len) as usize]
    }

    /// The record holding `key`, trying `hint` first.
    fn find(&self, key: &str, hint: &mut Hint) -> Option<usize> {
        let i = hint.0;
        let found = if i < self.recs.len() && self.key(i) == key {
            Some(i)
        } else {
            self.recs.binary_search_by(|r| tree_order(&self.keys[r.0 as usize..(r.0 + r.1) as usize], key)).ok()
        };
        if let Some(i) = found {
            hint.0 = i + 1;
        }
        found
    }

    fn get(&self, key: &str, hint: &mut Hint) -> Option<V> {
        match self.find(key, hint) {
            Some(i) => self.recs[i].2,
            None => self.added.get(key).copied(),
        }
    }

    /// Sets `key` (`None`: removes it); the value it had.
    fn set(&mut self, key: &str, value: Option<V>) -> Option<V> {
        match self.find(key, &mut Hint::default()) {
            Some(i) => std::mem::replace(&mut self.recs[i].2, value),
            None => match value {
                Some(v) => self.added.insert(key.to_string(), v),
                None => self.added.remove(key),
            },
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&str, V)> + '_ {
        let kept = (0..self.recs.len()).filter_map(|i| self.recs[i].2.map(|v| (self.key(i), v)));
        kept.chain(self.added.iter().map(|(k, v)| (k.as_str(), *v)))
    }

    /// Keeps the paths `keep` accepts; whether any went.
    fn retain(&mut self, keep: impl Fn(&str) -> bool) -> bool {
        let mut gone = false;
        for i in 0..self.recs.len() {
            if self.recs[i].2.is_some() && !keep(self.key(i)) {
                self.recs[i].2 = None;
                gone = true;
            }
        }
        let before = self.added.len();
        self.added.retain(|k, _| keep(k));
        gone || self.added.len() != before
    }

    /// Every pair, in tree order.
    fn sorted(&self) -> Vec<(&str, V)> {
        let mut all: Vec<(&str, V)> = self.iter().collect();
        if !self.added.is_empty() {
            all.sort_by(|a, b| tree_order(a.0, b.0));
        }
        all
    }
}

/// The stat cache, loaded for one operation.
pub struct Cache {
    path: PathBuf,
    file: CacheFile,
    /// Store files the evaluations looked at during this operation, in the order they looked
    /// (the scan's; of two for one file, the later counts); not saved.
    pub observed: Vec<(String, Observed)>,
    /// What [`Cache::prefetch_live`] found at each live path of `file.live` (by record; `None`:
    /// not looked at); used up by the next evaluation.
    prefetched: Vec<Option<Option<fsutil::Meta>>>,
    op_start_ns: i128,
    dirty: bool,
}

/// What an evaluation saw of a store file: enough to compare it with git's index without
/// looking at it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    pub stat: StatKey,
    /// Its blob id, when the evaluation knew it (a plain file: hashed, or memoized by its stat).
    pub blob: Option<Hash>,
}

/// Which side of a target a memo describes.
#[derive(Clone, Copy, Debug)]
pub enum Side {
    Live,
    Source,
    /// The plaintext of an encrypted store file, keyed by the store file.
    Decrypted,
}

impl Cache {
    /// Loads the cache; a missing or unreadable one is an empty cache (it is only a memo).
    pub fn load(state_dir: &Path) -> Cache {
        let path = state_dir.join("cache.bin");
        let op_start_ns = fsutil::now_ns();
        // Mapped; read where the file system cannot map it.
        let file = match File::open(&path).and_then(|f| fsutil::Mapped::of(&f)) {
            Ok(bytes) => codec::decode(&bytes),
            Err(_) => fs::read(&path).ok().and_then(|b| codec::decode(&b)),
        }
        .unwrap_or_default();
        Cache { path, file, observed: Vec::new(), prefetched: Vec::new(), op_start_ns, dirty: false }
    }

    /// A cache that knows nothing: every file is read (for checks that must not trust a memo).
    pub fn empty() -> Cache {
        Cache {
            path: PathBuf::new(),
            file: CacheFile::default(),
            observed: Vec::new(),
            prefetched: Vec::new(),
            op_start_ns: fsutil::now_ns(),
            dirty: false,
        }
    }

    /// An empty cache for an operation that started at `op_start_ns` (tests of the racy rule).
    #[cfg(test)]
    pub(crate) fn started_at(op_start_ns: i128) -> Cache {
        Cache { op_start_ns, ..Cache::empty() }
    }

    fn map(&self, side: Side) -> &Table<Memo> {
        match side {
            Side::Live => &self.file.live,
            Side::Source => &self.file.source,
            Side::Decrypted => &self.file.decrypted,
        }
    }

    fn map_mut(&mut self, side: Side) -> &mut Table<Memo> {
        match side {
            Side::Live => &mut self.file.live,
            Side::Source => &mut self.file.source,
            Side::Decrypted => &mut self.file.decrypted,
        }
    }

    /// The memoized hash of `key` if its stat is unchanged.
    pub fn hash(&self, side: Side, key: &str, stat: &StatKey) -> Option<Hash> {
        self.hash_near(side, key, stat, &mut Hint::default())
    }

    /// [`Cache::hash`] for one of a run of keys asked for in tree order: `hint` is where the
    /// last one was found.
    pub fn hash_near(&self, side: Side, key: &str, stat: &StatKey, hint: &mut Hint) -> Option<Hash> {
        self.map(side).get(key, hint).filter(|m| m.stat == *stat).map(|m| m.hash)
    }

    /// Looks at every live path (below `home`) the cache has a memo for, in tree order, until
    /// `stop` is set: meant for the time a session waits for its scan of the store, so that the
    /// evaluation right after takes these `lstat`s instead of making them
    /// ([`Cache::prefetched_live`]). That evaluation uses them up ([`Cache::forget_prefetched`]).
    pub fn prefetch_live(&mut self, home: &Path, stop: &std::sync::atomic::AtomicBool) {
        let live = &self.file.live;
        let mut out = Vec::with_capacity(live.recs.len());
        let mut dirs = fsutil::DirStat::default();
        let mut path = PathBuf::new();
        for i in 0..live.recs.len() {
            if i % 256 == 0 && stop.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            if live.recs[i].2.is_none() {
                out.push(None);
                continue;
            }
            path.clear();
            path.push(home);
            path.push(live.key(i));
            // A failed look is left to the evaluation, which reports it.
            out.push(dirs.lstat(&path).ok());
        }
        self.prefetched = out;
    }

    /// What [`Cache::prefetch_live`] found at live path `key` (`Some(None)`: nothing there),
    /// if it looked; `hint` is the live side's (it is not moved).
    pub fn prefetched_live(&self, key: &str, hint: Hint) -> Option<Option<fsutil::Meta>> {
        if self.prefetched.is_empty() {
            return None;
        }
        let i = self.file.live.find(key, &mut { hint })?;
        self.prefetched.get(i).copied().flatten()
    }

    /// Drops what [`Cache::prefetch_live`] found: from now on, live paths are looked at anew.
    pub fn forget_prefetched(&mut self) {
        self.prefetched = Vec::new();
    }

    /// Records the hash of `key`, unless the file is too recent to trust its timestamps.
    pub fn remember(&mut self, side: Side, key: &str, stat: StatKey, hash: Hash) {
        let racy = i128::from(stat.mtime_ns.max(stat.ctime_ns)) >= self.op_start_ns - RACY_NS;
        let memo = (!racy).then_some(Memo { stat, hash });
        let before = self.map_mut(side).set(key, memo);
        self.dirty |= before != memo;
    }

    pub fn base(&self, target: &str) -> Option<Node> {
        self.base_near(target, &mut Hint::default())
    }

    /// [`Cache::base`] for one of a run of targets asked for in tree order.
    pub fn base_near(&self, target: &str, hint: &mut Hint) -> Option<Node> {
        self.file.base.get(target, hint)
    }

    /// Every target with a recorded base, and that base.
    pub fn bases(&self) -> impl Iterator<Item = (&str, Node)> + '_ {
        self.file.base.iter()
    }

    pub fn set_base(&mut self, target: &str, node: Option<Node>) {
        let before = self.file.base.set(target, node);
        self.dirty |= before != node;
    }

    /// Records that the ciphertext `cipher` (a blob id) holds plaintext hashing to `plain`.
    pub fn seal(&mut self, cipher: Hash, plain: Hash) {
        if self.file.sealed.insert(cipher, plain) != Some(plain) {
            self.dirty = true;
        }
    }

    /// The plaintext hash of ciphertext `cipher`, when this device has seen it.
    pub fn plain_of(&self, cipher: &Hash) -> Option<Hash> {
        self.file.sealed.get(cipher).copied()
    }

    /// The ciphertexts known to hold plaintext hashing to `plain`.
    pub fn ciphers_of(&self, plain: Hash) -> impl Iterator<Item = Hash> + '_ {
        self.file.sealed.iter().filter(move |(_, p)| **p == plain).map(|(c, _)| *c)
    }

    /// Keeps only the ciphertexts whose plaintext hash `keep` accepts.
    pub fn retain_sealed(&mut self, keep: impl Fn(&Hash) -> bool) {
        let before = self.file.sealed.len();
        self.file.sealed.retain(|_, p| keep(p));
        self.dirty |= self.file.sealed.len() != before;
    }

    /// Drops memos of paths no longer present (keeps the file small).
    pub fn retain(&mut self, side: Side, keep: impl Fn(&str) -> bool) {
        self.dirty |= self.map_mut(side).retain(keep);
    }

    /// Writes the cache if anything changed.
    pub fn save(&mut self) -> Result<(), StateError> {
        if !self.dirty {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            ensure_private_dir(dir)?;
        }
        let data = codec::encode(&self.file);
        fsutil::write_atomic(&self.path, &data, 0o600).context(Op::Write, &self.path)?;
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
            .context(Op::Write, &path)?;
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
                Err(fs::TryLockError::Error(e)) => return Err(PathError::new(Op::Write, path, e).into()),
            }
        }
        file.set_len(0).context(Op::Write, &path)?;
        let exe = std::env::args().next().unwrap_or_default();
        let args: Vec<String> = std::env::args().skip(1).take(3).collect();
        let _ = write!(file, "pid {} ({} {})", std::process::id(), exe, args.join(" "));
        Ok(Lock { _file: file })
    }
}

/// Copies of live files taken before dotback overwrites or removes them: one directory per
/// operation under `<state>/backups/`, named by its UTC time. When an operation makes its
/// directory, the older ones `backups_keep` no longer covers are removed ([`to_prune`]).
pub struct Backups {
    root: PathBuf,
    keep: BackupsKeep,
    dir: Option<PathBuf>,
    pub saved: usize,
}

impl Backups {
    pub fn new(state_dir: &Path, keep: BackupsKeep) -> Backups {
        Backups { root: state_dir.join("backups"), keep, dir: None, saved: 0 }
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
        // After the last of this second's backups, even when pruning removed earlier ones.
        let first = self
            .names()?
            .iter()
            .filter(|n| n.starts_with(&stamp))
            .filter_map(|n| backup_time(n))
            .map(|(_, seq)| seq + 1)
            .max()
            .unwrap_or(0);
        for n in first.. {
            let name = if n == 0 { stamp.clone() } else { format!("{stamp}-{n}") };
            let d = self.root.join(name);
            match fs::DirBuilder::new().mode(0o700).create(&d) {
                Ok(()) => {
                    self.dir = Some(d.clone());
                    self.prune()?;
                    return Ok(d);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(PathError::new(Op::Write, d, e).into()),
            }
        }
        unreachable!()
    }

    /// The names of the directories under the backups root.
    fn names(&self) -> Result<Vec<String>, StateError> {
        Ok(fs::read_dir(&self.root)
            .context(Op::Read, &self.root)?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect())
    }

    /// Removes the backup directories `backups_keep` no longer covers.
    fn prune(&self) -> Result<(), StateError> {
        let names = self.names()?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let current = self.dir.as_deref().and_then(Path::file_name);
        for name in to_prune(&names, now, self.keep).into_iter().filter(|n| Some(n.as_ref()) != current) {
            let d = self.root.join(name);
            fs::remove_dir_all(&d).context(Op::Write, &d)?;
        }
        Ok(())
    }

    /// Saves `live` (file, symlink or whole directory) as `<backup>/<rel>`. A directory that
    /// holds the backups themselves is copied without them: a backup never copies into itself.
    pub fn save(&mut self, live: &Path, rel: &str) -> Result<(), StateError> {
        let dest = self.this_run()?.join(rel);
        if let Some(parent) = dest.parent() {
            ensure_private_dir(parent)?;
        }
        let own = fs::metadata(&self.root).context(Op::Read, &self.root)?;
        copy_tree(live, &dest, (own.dev(), own.ino()))
            .map_err(|source| StateError::Backup { path: live.to_path_buf(), source })?;
        self.saved += 1;
        Ok(())
    }
}

/// The backup directories (by name) to remove at unix time `now`: all but the newest
/// `keep.count`, and those older than `keep.age`; the newest always stays. Names that are not
/// backup times are not dotback's and are left alone.
pub fn to_prune(names: &[String], now: i64, keep: BackupsKeep) -> Vec<String> {
    let mut dated: Vec<((i64, u64), &String)> = names.iter().filter_map(|n| Some((backup_time(n)?, n))).collect();
    dated.sort();
    let newest_first = dated.iter().rev().enumerate();
    let mut out: Vec<String> = newest_first
        .filter(|(i, ((t, _), _))| *i > 0 && (*i >= keep.count || now.saturating_sub(*t) > keep.age as i64))
        .map(|(_, (_, n))| n.to_string())
        .collect();
    out.sort();
    out
}

/// The time (unix seconds) and sequence number a backup directory's name stands for:
/// `YYYYmmdd-HHMMSS`, or `YYYYmmdd-HHMMSS-N` for a later one in the same second.
fn backup_time(name: &str) -> Option<(i64, u64)> {
    let (stamp, n) = match name.get(15..) {
        Some("") => (name, 0),
        Some(rest) => (&name[..15], rest.strip_prefix('-')?.parse().ok()?),
        None => return None,
    };
    let b = stamp.as_bytes();
    if b.len() != 15 || b[8] != b'-' || !b.iter().enumerate().all(|(i, c)| i == 8 || c.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| stamp[r].parse::<u16>().ok();
    let month = time::Month::try_from(num(4..6)? as u8).ok()?;
    let date = time::Date::from_calendar_date(num(0..4)? as i32, month, num(6..8)? as u8).ok()?;
    let t = time::Time::from_hms(num(9..11)? as u8, num(11..13)? as u8, num(13..15)? as u8).ok()?;
    Some((date.with_time(t).assume_utc().unix_timestamp(), n))
}

/// Copies `from` to `to`, skipping the directory whose (device, inode) is `skip`.
fn copy_tree(from: &Path, to: &Path, skip: (u64, u64)) -> io::Result<()> {
    let md = fs::symlink_metadata(from)?;
    let perm = md.permissions().mode() & 0o7777;
    if md.file_type().is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(from)?, to)
    } else if md.is_dir() {
        if (md.dev(), md.ino()) == skip {
            return Ok(());
        }
        fs::DirBuilder::new().mode(0o700).create(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()), skip)?;
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

/// Now in UTC as RFC 3339 (`2026-11-22T06:10:00Z`), for records.
pub fn rfc3339_now() -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::now_utc().format(&fmt).expect("timestamp formats")
}

/// The cache's on-disk form: a compact binary layout, because a JSON cache of 10,000 entries
/// took longer to parse than the whole status walk it saves.
mod codec {
    use super::{CacheFile, Memo, Node, NodeKind, Table};
    use crate::fsutil::{FastMap, StatKey};

    const MAGIC: &[u8] = b"dotback-cache-4\n";
    /// The format before the sealed map: read, so no base is lost on an upgrade.
    const MAGIC_3: &[u8] = b"dotback-cache-3\n";

    pub fn encode(f: &CacheFile) -> Vec<u8> {
        let (live, source, decrypted, base) =
            (f.live.sorted(), f.source.sorted(), f.decrypted.sorted(), f.base.sorted());
        let mut out = Vec::with_capacity(64 + (live.len() + source.len()) * 110 + base.len() * 70);
        out.extend_from_slice(MAGIC);
        // In tree order: loaded, each table is ready for lookups in the order an evaluation
        // makes them (see `Table`).
        for map in [live, source, decrypted] {
            out.extend_from_slice(&(map.len() as u32).to_le_bytes());
            for (k, m) in map {
                key(&mut out, k);
                let s = &m.stat;
                out.extend_from_slice(&s.size.to_le_bytes());
                out.extend_from_slice(&i128::from(s.mtime_ns).to_le_bytes());
                out.extend_from_slice(&i128::from(s.ctime_ns).to_le_bytes());
                out.extend_from_slice(&s.ino.to_le_bytes());
                out.extend_from_slice(&s.mode.to_le_bytes());
                out.extend_from_slice(m.hash.as_bytes());
            }
        }
        out.extend_from_slice(&(base.len() as u32).to_le_bytes());
        for (k, n) in base {
            key(&mut out, k);
            out.push(match n.kind {
                NodeKind::File => 0,
                NodeKind::Dir => 1,
                NodeKind::Symlink => 2,
            });
            match n.hash {
                Some(h) => {
                    out.push(1);
                    out.extend_from_slice(h.as_bytes());
                }
                None => out.push(0),
            }
            out.extend_from_slice(&n.perm.to_le_bytes());
        }
        out.extend_from_slice(&(f.sealed.len() as u32).to_le_bytes());
        for (cipher, plain) in &f.sealed {
            out.extend_from_slice(cipher.as_bytes());
            out.extend_from_slice(plain.as_bytes());
        }
        out
    }

    fn key(out: &mut Vec<u8>, k: &str) {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(k.as_bytes());
    }

    struct Reader<'a>(&'a [u8]);

    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            if self.0.len() < n {
                return None;
            }
            let (head, tail) = self.0.split_at(n);
            self.0 = tail;
            Some(head)
        }
        fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
            self.take(N)?.try_into().ok()
        }
        fn u32(&mut self) -> Option<u32> {
            self.arr().map(u32::from_le_bytes)
        }
        /// A key, appended to `keys`: its (start, length) there.
        fn key(&mut self, keys: &mut String) -> Option<(u32, u32)> {
            let n = self.u32()?;
            let start = u32::try_from(keys.len()).ok()?;
            keys.push_str(std::str::from_utf8(self.take(n as usize)?).ok()?);
            Some((start, n))
        }
        fn oid(&mut self) -> Option<git2::Oid> {
            git2::Oid::from_bytes(self.take(20)?).ok()
        }
    }

    fn ns64(ns: i128) -> i64 {
        ns.clamp(i64::MIN.into(), i64::MAX.into()) as i64
    }

    /// `None` for anything unexpected: the cache is only a memo, rebuilt on the next run.
    pub fn decode(data: &[u8]) -> Option<CacheFile> {
        let (mut r, sealed) = match data.strip_prefix(MAGIC) {
            Some(rest) => (Reader(rest), true),
            None => (Reader(data.strip_prefix(MAGIC_3)?), false),
        };
        let mut memos = || -> Option<Table<Memo>> {
            let n = r.u32()? as usize;
            // A damaged count must not reserve more than the file could hold.
            let n_max = n.min(r.0.len() / 64);
            let mut keys = String::with_capacity(n_max * 32);
            let mut recs = Vec::with_capacity(n_max);
            for _ in 0..n {
                let (start, len) = r.key(&mut keys)?;
                let stat = StatKey {
                    size: u64::from_le_bytes(r.arr()?),
                    // Sixteen bytes in the file, as written before they were held in eight;
                    // beyond 64 bits, saturated as a fresh look saturates (`fsutil::StatKey`).
                    mtime_ns: ns64(i128::from_le_bytes(r.arr()?)),
                    ctime_ns: ns64(i128::from_le_bytes(r.arr()?)),
                    ino: u64::from_le_bytes(r.arr()?),
                    mode: r.u32()?,
                };
                recs.push((start, len, Some(Memo { stat, hash: r.oid()? })));
            }
            Some(Table::from_pairs(keys, recs))
        };
        let live = memos()?;
        let source = memos()?;
        let decrypted = memos()?;
        let n = r.u32()? as usize;
        let n_max = n.min(r.0.len() / 10);
        let mut keys = String::with_capacity(n_max * 32);
        let mut recs = Vec::with_capacity(n_max);
        for _ in 0..n {
            let (start, len) = r.key(&mut keys)?;
            let kind = match r.take(1)?[0] {
                0 => NodeKind::File,
                1 => NodeKind::Dir,
                2 => NodeKind::Symlink,
                _ => return None,
            };
            let hash = match r.take(1)?[0] {
                1 => Some(r.oid()?),
                _ => None,
            };
            recs.push((start, len, Some(Node { kind, hash, perm: r.u32()? })));
        }
        let base = Table::from_pairs(keys, recs);
        let mut sealed_map = FastMap::default();
        if sealed {
            for _ in 0..r.u32()? {
                sealed_map.insert(r.oid()?, r.oid()?);
            }
        }
        r.0.is_empty().then_some(CacheFile { live, source, decrypted, base, sealed: sealed_map })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(mtime_ns: i64) -> StatKey {
        StatKey { size: 1, mtime_ns, ctime_ns: mtime_ns, ino: 7, mode: 0o100644 }
    }

    #[test]
    fn archive_dirs_are_recorded_per_directory_the_newest_replacing_the_last() {
        let state = tempfile::tempdir().unwrap();
        let dir = state.path().join("state");
        assert!(archive_dirs(&dir).is_empty(), "nothing recorded yet");
        let at = |newest: &str, time: &str| ArchiveDir { newest: newest.into(), time: time.into() };
        record_archive_dir(&dir, Path::new("/media/usb"), at("a", "2024-01-01T00:00:00Z")).unwrap();
        record_archive_dir(&dir, Path::new("/mnt/nas"), at("b", "2024-01-02T00:00:00Z")).unwrap();
        record_archive_dir(&dir, Path::new("/media/usb"), at("c", "2024-01-03T00:00:00Z")).unwrap();
        let all = archive_dirs(&dir);
        assert_eq!(all.len(), 2);
        assert_eq!(all[Path::new("/media/usb")], at("c", "2024-01-03T00:00:00Z"));
        assert_eq!(all[Path::new("/mnt/nas")], at("b", "2024-01-02T00:00:00Z"));
        let mode = fs::metadata(dir.join("archives.json")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn backups_are_pruned_by_count_and_age_keeping_the_newest() {
        let day = 24 * 3600;
        // 2026-11-22 12:00:00 UTC.
        let now = 1_795_348_800;
        let names: Vec<String> = [
            "20261122-115959",   // 1 s old
            "20261122-115959-1", // the same second, later
            "20261121-120000",   // 1 day
            "20261115-120000",   // 7 days
            "20261023-120000",   // 30 days
            "20261022-120000",   // 31 days
            "20250101-000000",   // long ago
            "notes",             // not a backup: never touched
            "20261399-000000",   // not a date
        ]
        .map(String::from)
        .into();
        let keep = |count, days: u64| BackupsKeep { count, age: days * day as u64 };
        let cases: [(BackupsKeep, &[&str]); 5] = [
            (keep(50, 30), &["20250101-000000", "20261022-120000"]),
            (keep(3, 30), &["20250101-000000", "20261022-120000", "20261023-120000", "20261115-120000"]),
            (
                keep(1, 365),
                &[
                    "20250101-000000",
                    "20261022-120000",
                    "20261023-120000",
                    "20261115-120000",
                    "20261121-120000",
                    "20261122-115959",
                ],
            ),
            (keep(50, 3650), &[]),
            (
                keep(50, 0),
                &[
                    "20250101-000000",
                    "20261022-120000",
                    "20261023-120000",
                    "20261115-120000",
                    "20261121-120000",
                    "20261122-115959",
                ],
            ),
        ];
        for (i, (k, want)) in cases.into_iter().enumerate() {
            assert_eq!(to_prune(&names, now, k), want, "case {i}");
        }
        // The newest stays even when the clock says it is old.
        assert_eq!(to_prune(&names[6..7], now + 100 * 365 * day, keep(1, 1)), Vec::<String>::new());
        assert_eq!(backup_time("20261122-120000"), Some((now, 0)));
        assert_eq!(backup_time("20261122-120000-12"), Some((now, 12)));
        assert_eq!(backup_time("20261122-120000-"), None);
    }

    #[test]
    fn a_backup_of_a_directory_holding_the_state_dir_skips_the_backups() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let state = home.join(".local/state/dotback");
        fs::create_dir_all(&state).unwrap();
        fs::write(home.join(".local/file"), "x").unwrap();
        let mut b = Backups::new(&state, BackupsKeep::default());
        b.save(&home.join(".local"), ".local").unwrap();
        let saved = b.dir().unwrap().join(".local");
        assert_eq!(fs::read_to_string(saved.join("file")).unwrap(), "x");
        assert!(saved.join("state/dotback").is_dir());
        assert!(!saved.join("state/dotback/backups").exists(), "never copied into itself");
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
    fn sealed_ciphertexts_survive_save_and_an_older_cache_keeps_its_bases() {
        let dir = tempfile::tempdir().unwrap();
        let (cipher, plain, other) =
            (fsutil::hash_bytes(b"age"), fsutil::hash_bytes(b"secret"), fsutil::hash_bytes(b"age 2"));
        let mut c = Cache::load(dir.path());
        c.seal(cipher, plain);
        c.seal(other, fsutil::hash_bytes(b"gone"));
        c.set_base(".netrc", Some(Node { kind: NodeKind::File, hash: Some(plain), perm: 0o600 }));
        c.retain_sealed(|p| *p == plain);
        c.save().unwrap();
        let c = Cache::load(dir.path());
        assert_eq!(c.plain_of(&cipher), Some(plain));
        assert_eq!(c.plain_of(&other), None, "pruned");
        assert_eq!(c.ciphers_of(plain).collect::<Vec<_>>(), [cipher]);

        // A cache written before the sealed map existed: its bases are kept.
        let data = codec::encode(&c.file);
        let body = &data[b"dotback-cache-4\n".len()..data.len() - 4 - 40];
        let old = [b"dotback-cache-3\n".as_slice(), body].concat();
        let f = codec::decode(&old).expect("the older format is read");
        assert_eq!(f.base.get(".netrc", &mut Hint::default()).and_then(|n| n.hash), Some(plain));
        assert!(f.sealed.is_empty());
    }

    #[test]
    fn a_time_stamp_beyond_64_bits_in_an_older_cache_loses_nothing_else() {
        let mut c = Cache::started_at(i128::MAX);
        c.remember(Side::Live, "f", stat(5), fsutil::hash_bytes(b"x"));
        let node = Some(Node { kind: NodeKind::File, hash: None, perm: 0o644 });
        c.set_base("f", node);
        let mut data = codec::encode(&c.file);
        // The live memo's mtime, as an older version could have written it: after the magic,
        // the count, the key's length, the key and the size.
        let at = b"dotback-cache-4\n".len() + 4 + 4 + 1 + 8;
        data[at..at + 16].copy_from_slice(&(i128::from(i64::MAX) * 4).to_le_bytes());
        let f = codec::decode(&data).expect("still a cache");
        assert_eq!(f.base.get("f", &mut Hint::default()), node, "the base is kept");
        let memo = f.live.get("f", &mut Hint::default()).expect("the memo is kept");
        assert_eq!(memo.stat.mtime_ns, i64::MAX, "saturated");
    }

    #[test]
    fn live_paths_looked_at_ahead_are_found_by_target_until_forgotten() {
        let home = tempfile::tempdir().unwrap();
        fs::create_dir(home.path().join("d")).unwrap();
        fs::write(home.path().join("d/here"), "x").unwrap();
        // An operation that starts at the end of time: no memo is too recent to keep.
        let mut c = Cache::started_at(i128::MAX);
        let hash = fsutil::hash_bytes(b"x");
        for t in ["d/gone", "d/here", "e/none"] {
            c.remember(Side::Live, t, stat(1), hash);
        }
        let mut c = Cache { file: codec::decode(&codec::encode(&c.file)).unwrap(), ..Cache::empty() };
        let stop = std::sync::atomic::AtomicBool::new(false);
        c.prefetch_live(home.path(), &stop);
        let seen = |c: &Cache, t: &str| c.prefetched_live(t, Hint::default());
        let here = seen(&c, "d/here").expect("looked at").expect("there");
        assert_eq!(here.stat.size, 1);
        assert!(here.is_file());
        assert!(matches!(seen(&c, "d/gone"), Some(None)), "missing, and so recorded");
        assert!(matches!(seen(&c, "e/none"), Some(None)), "its directory is missing");
        assert!(seen(&c, "d/other").is_none(), "no memo, not looked at");
        c.forget_prefetched();
        assert!(seen(&c, "d/here").is_none());
        // Stopped before it began: nothing looked at.
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        c.prefetch_live(home.path(), &stop);
        assert!(seen(&c, "d/here").is_none());
    }

    #[test]
    fn paths_are_kept_in_tree_order_and_found_with_or_without_a_hint() {
        let tree = ["a", "a/b", "a/b/c", "a-c", "a.d", "b", "b/x y", "é"];
        for w in tree.windows(2) {
            assert!(tree_order(w[0], w[1]).is_lt(), "{} before {}", w[0], w[1]);
            let components = |p: &'static str| p.split('/');
            assert_eq!(tree_order(w[0], w[1]), components(w[0]).cmp(components(w[1])));
        }
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cache::load(dir.path());
        let node = |perm| Some(Node { kind: NodeKind::File, hash: None, perm });
        // Recorded in another order; one later removed, one changed.
        for (i, t) in tree.iter().rev().enumerate() {
            c.set_base(t, node(i as u32));
        }
        c.set_base("a-c", None);
        c.set_base("b", node(99));
        c.save().unwrap();
        let mut c = Cache::load(dir.path());
        let keys: Vec<&str> =
            c.file.base.recs.iter().map(|r| &c.file.base.keys[r.0 as usize..(r.0 + r.1) as usize]).collect();
        assert_eq!(keys, ["a", "a/b", "a/b/c", "a.d", "b", "b/x y", "é"], "saved in tree order, the removed one gone");
        let mut hint = Hint::default();
        for t in ["a", "a/b", "a/b/c", "a.d", "b", "b/x y", "é"] {
            let before = hint.0;
            assert!(c.base_near(t, &mut hint).is_some(), "{t}");
            assert_eq!(hint.0, before + 1, "{t}: found right after the one before");
        }
        assert_eq!(c.base_near("b", &mut hint), node(99), "found without the hint's help");
        assert_eq!(c.base("a-c"), None);
        assert_eq!(c.base("zz"), None);
        // Changes after loading: a new target, a removed one, one set again.
        c.set_base("zz", node(1));
        c.set_base("a/b", None);
        c.set_base("a", node(7));
        assert_eq!((c.base("zz"), c.base("a/b"), c.base("a")), (node(1), None, node(7)));
        c.save().unwrap();
        let c = Cache::load(dir.path());
        let all: Vec<(&str, u32)> = c.file.base.sorted().into_iter().map(|(k, n)| (k, n.perm)).collect();
        assert_eq!(all, [("a", 7), ("a/b/c", 5), ("a.d", 3), ("b", 99), ("b/x y", 1), ("zz", 1), ("é", 0)]);
    }

    #[test]
    fn a_damaged_cache_file_is_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cache::load(dir.path());
        c.set_base("a", Some(Node { kind: NodeKind::Dir, hash: None, perm: 0o700 }));
        c.save().unwrap();
        let path = dir.path().join("cache.bin");
        let mut data = fs::read(&path).unwrap();
        data.truncate(data.len() - 1);
        fs::write(&path, data).unwrap();
        assert_eq!(Cache::load(dir.path()).base("a"), None);
    }

    #[test]
    fn racily_clean_files_are_not_memoized() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cache::load(dir.path());
        let recent = stat(fsutil::now_ns() as i64);
        c.remember(Side::Live, "a", recent, fsutil::hash_bytes(b"a"));
        assert_eq!(c.hash(Side::Live, "a", &recent), None);
        // An old mtime does not help when the ctime is recent (`touch -d` after an edit).
        let touched = StatKey { mtime_ns: 1_000, ..recent };
        c.remember(Side::Live, "a", touched, fsutil::hash_bytes(b"a"));
        assert_eq!(c.hash(Side::Live, "a", &touched), None);
        let old = stat(1_000);
        c.remember(Side::Live, "a", old, fsutil::hash_bytes(b"a"));
        assert_eq!(c.hash(Side::Live, "a", &old), Some(fsutil::hash_bytes(b"a")));
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
        let mut b = Backups::new(&dir.path().join("state"), Default::default());
        b.save(&live, "d").unwrap();
        let saved = b.dir().unwrap().join("d");
        assert_eq!(fs::read(saved.join("secret")).unwrap(), b"s");
        assert_eq!(fs::metadata(saved.join("secret")).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read_link(saved.join("link")).unwrap(), Path::new("/elsewhere"));
    }
}
