//! File-system primitives every writer in dotback goes through.
//!
//! A write is atomic (temporary file in the same directory, then rename), the temporary file is
//! created owner-only and given its final mode before it becomes visible, and durability comes
//! from one `syncfs` at the end of an operation rather than an fsync per file: the same safety
//! for a 10,000-file apply at a fraction of the cost.

use std::ffi::{CStr, CString, OsStr};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Content identity: the git blob id of the bytes, so live files compare directly with the store.
pub type Hash = git2::Oid;

pub fn hash_bytes(data: &[u8]) -> Hash {
    git2::Oid::hash_object(git2::ObjectType::Blob, data).expect("hashing in memory cannot fail")
}

/// The content hash of the regular file at `path`, read in chunks rather than whole.
pub fn hash_file(path: &Path) -> io::Result<Hash> {
    git2::Oid::hash_file(git2::ObjectType::Blob, path).map_err(|e| match fs::symlink_metadata(path) {
        Err(io) => io,
        Ok(_) => io::Error::other(e.message().to_string()),
    })
}

/// A fast hash for maps keyed by paths dotback itself produced (no attacker controls them,
/// so SipHash's flooding resistance buys nothing, and it was a tenth of a status run).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits, which pick the bucket, the least mixed: paths that
        // share their last bytes (`.conf`) would share buckets. The high bits go there instead.
        self.0.rotate_left(26)
    }
    fn write(&mut self, bytes: &[u8]) {
        // The multiply-rotate mix of rustc's FxHash, eight bytes at a time.
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            h = (h.rotate_left(5) ^ u64::from_le_bytes(c.try_into().expect("8 bytes"))).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
        self.0 = h;
    }
}

/// Paths in tree order: component by component, as the store is scanned and evaluated (a
/// directory, then its contents, then its next sibling). Bytes compared with `/` below every
/// other byte, which gives that order without splitting.
pub fn tree_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let i = common_prefix(a, b);
    match (a.get(i), b.get(i)) {
        (Some(&x), Some(&y)) => {
            let rank = |c: u8| if c == b'/' { 0 } else { u16::from(c) + 1 };
            rank(x).cmp(&rank(y))
        }
        _ => a.len().cmp(&b.len()),
    }
}

/// How many bytes `a` and `b` start with in common, compared eight at a time: paths in one
/// tree share long directory prefixes, and lookups compare them many times over.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().expect("eight bytes"));
        let y = u64::from_le_bytes(b[i..i + 8].try_into().expect("eight bytes"));
        if x != y {
            // Little-endian: the lowest differing byte is the first one.
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

pub type FastMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;
pub type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<FastHasher>>;

/// The process umask, read once (reading it means setting it, so it must happen before threads).
pub fn umask() -> u32 {
    static UMASK: OnceLock<u32> = OnceLock::new();
    *UMASK.get_or_init(|| {
        // SAFETY: umask has no memory-safety preconditions; it is set straight back.
        unsafe {
            let old = libc::umask(0o077);
            libc::umask(old);
            old as u32
        }
    })
}

fn tmp_name(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let short: String = name.chars().take(40).collect();
    path.with_file_name(format!(".{short}.dotback-tmp-{}-{n}", std::process::id()))
}

/// Writes `data` to `path` atomically with permission bits `mode`.
///
/// The temporary file is created 0600 and chmod-ed to `mode` before the rename, so the content
/// is never visible with wider permissions than its final ones, and never visible partially.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let tmp = tmp_name(path);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(data)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates (or replaces) the symlink `path` pointing at `target`, atomically.
pub fn symlink_atomic(target: &str, path: &Path) -> io::Result<()> {
    let tmp = tmp_name(path);
    std::os::unix::fs::symlink(target, &tmp)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// Flushes the file system holding `path` (one call instead of an fsync per file).
pub fn sync_fs(path: &Path) -> io::Result<()> {
    let f = File::open(path)?;
    // SAFETY: the descriptor is valid for the lifetime of `f`.
    if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The stat fields that change whenever a file's content or mode may have changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatKey {
    pub size: u64,
    /// Nanoseconds since 1970 (64 bits reach the year 2262).
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub mode: u32,
}

impl StatKey {
    pub fn of(md: &fs::Metadata) -> StatKey {
        StatKey {
            size: md.size(),
            mtime_ns: ns(md.mtime(), md.mtime_nsec()),
            ctime_ns: ns(md.ctime(), md.ctime_nsec()),
            ino: md.ino(),
            mode: md.mode(),
        }
    }
}

/// Nanoseconds since the epoch, on the same clock as file timestamps.
/// A time stamp in nanoseconds (saturating, far past 2262).
fn ns(secs: i64, nsec: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsec)
}

pub fn now_ns() -> i128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i128).unwrap_or(0)
}

/// `lstat`, with "does not exist" as `None`.
pub fn lstat(path: &Path) -> io::Result<Option<fs::Metadata>> {
    match fs::symlink_metadata(path) {
        Ok(md) => Ok(Some(md)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        // A path component that is a file, not a directory: nothing can exist below it.
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_look_relative_to_the_last_directory_sees_what_lstat_sees() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::fs::write(d.join("a/b/f"), "x").unwrap();
        std::fs::write(d.join("a/g"), "yy").unwrap();
        std::os::unix::fs::symlink("b/f", d.join("a/l")).unwrap();
        let root = d.to_str().unwrap();
        let shapes =
            ["a/b/f", "a/g", "a/l", "a/b", "a/b/", "a//g", "a/./g", "a/b/..", "a/b/.", "a/none", "a/g/under", "none/x"];
        let mut looks = super::DirStat::default();
        // Twice over, in two orders: the directory kept from one look to the next never shows.
        let mut all: Vec<&str> = shapes.iter().chain(shapes.iter().rev()).copied().collect();
        all.extend(["/", "a"]);
        for rel in all {
            let path = if rel.starts_with('/') { std::path::PathBuf::from(rel) } else { d.join(rel) };
            let want =
                std::fs::symlink_metadata(&path).ok().map(|m| (m.len(), std::os::unix::fs::MetadataExt::mode(&m)));
            let got = looks.lstat(&path).unwrap_or(None).map(|m| (m.size(), m.mode));
            assert_eq!(got, want, "{rel} (below {root})");
        }
    }

    #[test]
    fn a_directory_lists_each_name_once_with_its_kind() {
        use super::{EntryKind, list_dir};
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("file"), "x").unwrap();
        std::os::unix::fs::symlink("nowhere", d.join("link")).unwrap();
        let odd = std::ffi::OsStr::from_bytes(b"not-utf8-\xff");
        std::fs::write(d.join(odd), "y").unwrap();
        let mut got = list_dir(d).unwrap();
        got.sort();
        let want: Vec<(Vec<u8>, EntryKind)> = vec![
            (b"file".to_vec(), EntryKind::Other),
            (b"link".to_vec(), EntryKind::Symlink),
            (b"not-utf8-\xff".to_vec(), EntryKind::Other),
            (b"sub".to_vec(), EntryKind::Dir),
        ];
        assert_eq!(got, want);
        assert!(list_dir(&d.join("file")).is_err(), "a file is no directory");
        assert_eq!(list_dir(&d.join("gone")).unwrap_err().kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn tree_order_compares_the_first_differing_byte_with_slash_lowest() {
        let simple = |a: &str, b: &str| {
            let rank = |c: u8| if c == b'/' { 0 } else { u16::from(c) + 1 };
            let (a, b): (Vec<u16>, Vec<u16>) = (a.bytes().map(rank).collect(), b.bytes().map(rank).collect());
            a.cmp(&b)
        };
        let base = "dot_local/share/icons/theme12/";
        let mut paths = vec![String::new(), "a".into(), "a/".into(), "a-".into(), "é".into()];
        // Differences at every offset around the eight-byte steps, and prefixes of each other.
        for cut in 0..base.len() {
            for tail in ["", "/", "-", "a", "b/c", "\u{7f}"] {
                paths.push(format!("{}{tail}", &base[..cut]));
            }
        }
        for a in &paths {
            for b in &paths {
                assert_eq!(super::tree_order(a, b), simple(a, b), "{a:?} against {b:?}");
            }
        }
    }

    use super::*;

    #[test]
    fn atomic_write_sets_final_mode_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomic(&p, b"one", 0o640).unwrap();
        write_atomic(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn failed_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d");
        fs::create_dir(&p).unwrap();
        fs::write(p.join("x"), "keep").unwrap();
        assert!(write_atomic(&p, b"data", 0o644).is_err());
        assert_eq!(fs::read(p.join("x")).unwrap(), b"keep");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// The link [`Refused`] names, when `e` is that refusal.
    fn refused_link(e: &io::Error) -> Option<PathBuf> {
        match e.get_ref()?.downcast_ref::<Refused>()? {
            Refused::Link { path } => Some(path.clone()),
            Refused::NotAFile { .. } => None,
        }
    }

    #[test]
    fn no_link_below_the_root_is_followed_by_reads_or_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (root, outside) = (dir.path().join("store"), dir.path().join("outside"));
        fs::create_dir_all(root.join(".dotback/audit")).unwrap();
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("secret"), "password").unwrap();
        fs::write(root.join(".dotback/audit/ok.jsonl"), "line\n").unwrap();
        assert_eq!(read_beneath(&root, &root.join(".dotback/audit/ok.jsonl")).unwrap(), b"line\n");
        let link = |target: &Path, at: &str| std::os::unix::fs::symlink(target, root.join(at)).unwrap();
        link(&outside.join("secret"), ".dotback/audit/dev.jsonl");
        link(&outside, ".dotback/keys");
        let file = root.join(".dotback/audit/dev.jsonl");
        let below = root.join(".dotback/keys/secret");
        for (path, the_link) in [(&file, &file), (&below, &root.join(".dotback/keys"))] {
            let e = read_beneath(&root, path).unwrap_err();
            assert_eq!(refused_link(&e).as_ref(), Some(the_link), "{e}");
        }
        let e = write_atomic_beneath(&root, &below, b"x", 0o644).unwrap_err();
        assert_eq!(refused_link(&e), Some(root.join(".dotback/keys")), "{e}");
        let audit = Beneath::open(&root, Path::new(".dotback/audit"), false).unwrap();
        assert!(refused_link(&audit.append(OsStr::new("dev.jsonl"), b"x").unwrap_err()).is_some());
        let e = Beneath::open(&root, Path::new(".dotback/keys/deeper"), true).unwrap_err();
        assert!(refused_link(&e).is_some(), "{e}");
        assert_eq!(fs::read(outside.join("secret")).unwrap(), b"password");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 1, "nothing was made outside");
        // Without links: missing directories are made, and a write replaces a link, not its target.
        write_atomic_beneath(&root, &root.join(".dotback/packages/dev/Brewfile"), b"brew", 0o644).unwrap();
        assert_eq!(fs::read(root.join(".dotback/packages/dev/Brewfile")).unwrap(), b"brew");
        audit.write_atomic(OsStr::new("dev.jsonl"), b"mine\n", 0o644).unwrap();
        assert!(!fs::symlink_metadata(&file).unwrap().is_symlink());
        assert_eq!(fs::read(outside.join("secret")).unwrap(), b"password");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        let c = c_name(fifo.as_os_str()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_beneath(dir.path(), &fifo).unwrap_err();
        assert!(matches!(e.get_ref().and_then(|e| e.downcast_ref()), Some(Refused::NotAFile { .. })), "{e}");
    }

    #[test]
    fn hash_matches_git_blob_id() {
        assert_eq!(hash_bytes(b"").to_string(), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(dir.path().join("f"), &big).unwrap();
        assert_eq!(hash_file(&dir.path().join("f")).unwrap(), hash_bytes(&big), "streamed, same id");
        let missing = hash_file(&dir.path().join("missing")).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }
}

/// The result of an `lstat`: what dotback needs from it.
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    /// `st_mode`: file type and permission bits.
    pub mode: u32,
    pub stat: StatKey,
}

impl Meta {
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }
    pub fn perm(&self) -> u32 {
        self.mode & 0o777
    }
    pub fn size(&self) -> u64 {
        self.stat.size
    }
}

/// A file's bytes, mapped read-only into memory rather than copied, as git maps its index:
/// the kernel then hands over runs of page-cache pages instead of each page being copied into
/// fresh memory (for a 15 MB cache, most of what loading it cost). Only for files that are
/// replaced by a rename, never rewritten in place: the stat cache, git's index.
pub struct Mapped {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value alone.
unsafe impl Send for Mapped {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for Mapped {}

impl Mapped {
    /// Maps the whole of `file` (an empty file maps to no bytes).
    pub fn of(file: &File) -> io::Result<Mapped> {
        let len = usize::try_from(file.metadata()?.len()).map_err(io::Error::other)?;
        if len == 0 {
            return Ok(Mapped { ptr: std::ptr::null_mut(), len: 0 });
        }
        // SAFETY: a fresh private read-only mapping of an open descriptor; checked below.
        let ptr =
            unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0) };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapped { ptr, len })
    }
}

impl std::ops::Deref for Mapped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `ptr` maps `len` readable bytes for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: mapped in `of` with this length, unmapped once.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}

/// What kind of thing a directory entry is, as its directory lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    Dir,
    Symlink,
    /// Anything else: a regular file, or a socket, fifo or device.
    Other,
}

/// The entries of directory `dir` (without `.` and `..`), in the order the directory gives
/// them. Read with `readdir` itself: a store scan lists every directory, and this makes one
/// allocation per name (the standard library's listing makes two, and counts references).
pub fn list_dir(dir: &Path) -> io::Result<Vec<(Vec<u8>, EntryKind)>> {
    let c = CString::new(dir.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: `c` is a valid NUL-terminated path.
    let d = unsafe { libc::opendir(c.as_ptr()) };
    if d.is_null() {
        return Err(io::Error::last_os_error());
    }
    struct Closing(*mut libc::DIR);
    impl Drop for Closing {
        fn drop(&mut self) {
            // SAFETY: opened above, closed once.
            unsafe { libc::closedir(self.0) };
        }
    }
    let d = Closing(d);
    let mut out = Vec::new();
    loop {
        // errno tells the end of the listing from a failure.
        // SAFETY: errno is this thread's own.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `d.0` is an open directory stream, used by this thread alone.
        let e = unsafe { libc::readdir64(d.0) };
        if e.is_null() {
            return match io::Error::last_os_error().raw_os_error() {
                Some(0) | None => Ok(out),
                Some(_) => Err(io::Error::last_os_error()),
            };
        }
        // SAFETY: readdir returned an entry, valid until the next call; its name is NUL-terminated.
        let (name, d_type) = unsafe { (CStr::from_ptr((*e).d_name.as_ptr()).to_bytes(), (*e).d_type) };
        if name == b"." || name == b".." {
            continue;
        }
        let kind = match d_type {
            libc::DT_DIR => EntryKind::Dir,
            libc::DT_LNK => EntryKind::Symlink,
            libc::DT_UNKNOWN => {
                // A file system that does not say: ask.
                // SAFETY: an all-zero `stat` is a valid value to be overwritten.
                let mut st: libc::stat = unsafe { std::mem::zeroed() };
                let n = CString::new(name).map_err(io::Error::other)?;
                // SAFETY: the stream's descriptor, a NUL-terminated name, a live `stat`.
                if unsafe { libc::fstatat(libc::dirfd(d.0), n.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                match st.st_mode & libc::S_IFMT {
                    libc::S_IFDIR => EntryKind::Dir,
                    libc::S_IFLNK => EntryKind::Symlink,
                    _ => EntryKind::Other,
                }
            }
            _ => EntryKind::Other,
        };
        out.push((name.to_vec(), kind));
    }
}

/// `lstat` relative to a directory handle kept open while consecutive paths share their
/// directory: the kernel resolves one name instead of the whole path each time. Walking a
/// sorted tree, that is one directory open per directory, not a path walk per file.
#[derive(Default)]
pub struct DirStat {
    /// The last parent looked in, and its descriptor (`None`: it does not exist).
    dir: Option<(PathBuf, Option<std::os::fd::OwnedFd>)>,
}

impl DirStat {
    /// `lstat(path)`; `Ok(None)` when it does not exist.
    pub fn lstat(&mut self, path: &Path) -> io::Result<Option<Meta>> {
        // Split at the last '/' as bytes (parsing components costs more than the look itself);
        // what that would not split like `Path::parent` does takes the plain way.
        let bytes = path.as_os_str().as_bytes();
        let (parent, name) = match bytes.iter().rposition(|&b| b == b'/') {
            Some(i) if i > 0 && i + 1 < bytes.len() && bytes[i - 1] != b'/' => {
                let name = &bytes[i + 1..];
                if name == b"." || name == b".." {
                    return lstat(path).map(|m| m.map(|m| Meta { mode: m.mode(), stat: StatKey::of(&m) }));
                }
                (Path::new(OsStr::from_bytes(&bytes[..i])), OsStr::from_bytes(name))
            }
            _ => match (path.parent(), path.file_name()) {
                (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => (parent, name),
                _ => return lstat(path).map(|m| m.map(|m| Meta { mode: m.mode(), stat: StatKey::of(&m) })),
            },
        };
        if self.dir.as_ref().is_none_or(|(p, _)| p.as_os_str().as_bytes() != parent.as_os_str().as_bytes()) {
            self.dir = None;
            let c = CString::new(parent.as_os_str().as_bytes()).map_err(io::Error::other)?;
            // SAFETY: `c` is a valid NUL-terminated path; the descriptor is owned below.
            let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
            if fd < 0 {
                let e = io::Error::last_os_error();
                return match e.raw_os_error() {
                    // Its siblings are missing too (an empty HOME): they need no look.
                    Some(libc::ENOENT) | Some(libc::ENOTDIR) => {
                        self.dir = Some((parent.to_path_buf(), None));
                        Ok(None)
                    }
                    _ => Err(e),
                };
            }
            // SAFETY: `fd` was just opened and is owned by nothing else.
            self.dir = Some((parent.to_path_buf(), Some(unsafe { OwnedFd::from_raw_fd(fd) })));
        }
        let Some(dirfd) = self.dir.as_ref().expect("set above").1.as_ref().map(|fd| fd.as_raw_fd()) else {
            return Ok(None);
        };
        // The name NUL-terminated on the stack: this runs once per file, twice per target.
        let name = name.as_bytes();
        let mut c = [0u8; 256];
        if name.len() >= c.len() {
            return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        }
        if name.contains(&0) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "file name holding a NUL byte"));
        }
        c[..name.len()].copy_from_slice(name);
        // SAFETY: an all-zero `stat` is a valid value to be overwritten.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor, NUL-terminated name, and a live `stat` to fill.
        if unsafe { libc::fstatat(dirfd, c.as_ptr().cast(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } != 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ENOTDIR) => Ok(None),
                _ => Err(e),
            };
        }
        Ok(Some(Meta {
            mode: st.st_mode,
            stat: StatKey {
                size: st.st_size as u64,
                mtime_ns: ns(st.st_mtime, st.st_mtime_nsec),
                ctime_ns: ns(st.st_ctime, st.st_ctime_nsec),
                ino: st.st_ino,
                mode: st.st_mode,
            },
        }))
    }
}

/// What dotback refuses to follow or open among its own files in the store.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(
        "{} is a symbolic link, and dotback follows no link inside the store; replace it with the file or directory itself, or remove it",
        path.display()
    )]
    Link { path: PathBuf },
    #[error("{} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
}

/// A directory opened below a root dotback trusts (the store, its git directory) without
/// following a symbolic link on the way. Its files are opened by name relative to it, never
/// following a link either, so a link planted after the check cannot redirect a read or a write.
#[derive(Debug)]
pub struct Beneath {
    fd: OwnedFd,
    /// For messages.
    path: PathBuf,
}

fn c_name(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(io::Error::other)
}

/// Takes ownership of what an `open`-like call returned.
fn owned_fd(fd: libc::c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret != 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

impl Beneath {
    /// Opens `root/rel`. `root` itself is followed (the user chose it); below it, every
    /// component must be a real directory. `create` makes missing ones (0777 less the umask).
    pub fn open(root: &Path, rel: &Path, create: bool) -> io::Result<Beneath> {
        let c = c_name(root.as_os_str())?;
        // SAFETY: `c` is a valid NUL-terminated path.
        let fd = owned_fd(unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) })?;
        let mut dir = Beneath { fd, path: root.to_path_buf() };
        for part in rel.components() {
            let std::path::Component::Normal(name) = part else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} leaves {}", rel.display(), root.display()),
                ));
            };
            dir = dir.subdir(name, create)?;
        }
        Ok(dir)
    }

    fn raw(&self) -> libc::c_int {
        self.fd.as_raw_fd()
    }

    fn subdir(&self, name: &OsStr, create: bool) -> io::Result<Beneath> {
        let c = c_name(name)?;
        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: valid descriptor and NUL-terminated name.
        let open = || owned_fd(unsafe { libc::openat(self.raw(), c.as_ptr(), flags) });
        let fd = match open() {
            Err(e) if create && e.kind() == io::ErrorKind::NotFound => {
                // SAFETY: valid descriptor and NUL-terminated name.
                match check(unsafe { libc::mkdirat(self.raw(), c.as_ptr(), 0o777) }) {
                    Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
                    _ => open(),
                }
            }
            fd => fd,
        };
        fd.map(|fd| Beneath { fd, path: self.path.join(name) }).map_err(|e| self.link_or(&c, name, e))
    }

    /// `e`, or [`Refused::Link`] when `name` is a symbolic link.
    fn link_or(&self, c: &CStr, name: &OsStr, e: io::Error) -> io::Error {
        if !matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) {
            return e;
        }
        // SAFETY: an all-zero `stat` is a valid value to be overwritten.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor, NUL-terminated name, and a live `stat` to fill.
        let linked = unsafe { libc::fstatat(self.raw(), c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFLNK;
        if linked { io::Error::other(Refused::Link { path: self.path.join(name) }) } else { e }
    }

    /// Opens the regular file `name` here; a link, a FIFO or a device is refused.
    fn file(&self, name: &OsStr, flags: libc::c_int, mode: libc::c_uint) -> io::Result<File> {
        let c = c_name(name)?;
        let flags = flags | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
        // SAFETY: valid descriptor and NUL-terminated name.
        let f = File::from(
            owned_fd(unsafe { libc::openat(self.raw(), c.as_ptr(), flags, mode) })
                .map_err(|e| self.link_or(&c, name, e))?,
        );
        if !f.metadata()?.is_file() {
            return Err(io::Error::other(Refused::NotAFile { path: self.path.join(name) }));
        }
        Ok(f)
    }

    pub fn read(&self, name: &OsStr) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut data = Vec::new();
        self.file(name, libc::O_RDONLY, 0)?.read_to_end(&mut data)?;
        Ok(data)
    }

    /// Appends `data` to `name` (created 0644 less the umask) with one `write` call.
    pub fn append(&self, name: &OsStr, data: &[u8]) -> io::Result<()> {
        self.file(name, libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT, 0o644)?.write_all(data)
    }

    /// [`write_atomic`] of `name` in this directory (the temporary file is made here too).
    pub fn write_atomic(&self, name: &OsStr, data: &[u8], mode: u32) -> io::Result<()> {
        let tmp = tmp_name(Path::new(name));
        let (c, ctmp) = (c_name(name)?, c_name(tmp.as_os_str())?);
        let result = (|| {
            let mut f = self.file(tmp.as_os_str(), libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o600)?;
            f.write_all(data)?;
            f.set_permissions(fs::Permissions::from_mode(mode))?;
            drop(f);
            // SAFETY: valid descriptors and NUL-terminated names.
            check(unsafe { libc::renameat(self.raw(), ctmp.as_ptr(), self.raw(), c.as_ptr()) })
        })();
        if result.is_err() {
            // SAFETY: valid descriptor and NUL-terminated name.
            unsafe { libc::unlinkat(self.raw(), ctmp.as_ptr(), 0) };
        }
        result
    }

    /// The names of the entries in this directory (without `.` and `..`), in no order.
    pub fn names(&self) -> io::Result<Vec<std::ffi::OsString>> {
        use std::os::fd::IntoRawFd;
        use std::os::unix::ffi::OsStringExt;
        let dot = c_name(OsStr::new("."))?;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        // SAFETY: valid descriptor and NUL-terminated name.
        let fd = owned_fd(unsafe { libc::openat(self.raw(), dot.as_ptr(), flags) })?.into_raw_fd();
        // SAFETY: `fd` is an open directory; the stream owns it from here on.
        let stream = unsafe { libc::fdopendir(fd) };
        if stream.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: `fdopendir` failed, so `fd` is still ours to close.
            unsafe { libc::close(fd) };
            return Err(e);
        }
        let mut out = Vec::new();
        loop {
            // SAFETY: `stream` is a live directory stream.
            let entry = unsafe { libc::readdir(stream) };
            if entry.is_null() {
                break;
            }
            // SAFETY: `readdir` returned an entry whose `d_name` is NUL-terminated.
            let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
            if name != b"." && name != b".." {
                out.push(std::ffi::OsString::from_vec(name.to_vec()));
            }
        }
        // SAFETY: `stream` is live and closed once, which closes `fd` too.
        unsafe { libc::closedir(stream) };
        Ok(out)
    }

    /// Renames `from` to `to`, both in this directory (a link is moved, not followed).
    pub fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        let (cf, ct) = (c_name(from)?, c_name(to)?);
        // SAFETY: valid descriptors and NUL-terminated names.
        check(unsafe { libc::renameat(self.raw(), cf.as_ptr(), self.raw(), ct.as_ptr()) })
    }
}

/// `path`'s directory (opened with [`Beneath`]) and file name; `path` lies below `root`.
fn beneath_parent<'a>(root: &Path, path: &'a Path, create: bool) -> io::Result<(Beneath, &'a OsStr)> {
    let rel = path.strip_prefix(root).map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not inside {}", path.display(), root.display()))
    })?;
    let (Some(dir), Some(name)) = (rel.parent(), rel.file_name()) else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} names no file", path.display())));
    };
    Ok((Beneath::open(root, dir, create)?, name))
}

/// Reads the regular file `path`, following no symbolic link below `root`.
pub fn read_beneath(root: &Path, path: &Path) -> io::Result<Vec<u8>> {
    let (dir, name) = beneath_parent(root, path, false)?;
    dir.read(name)
}

/// [`read_beneath`], as UTF-8 text.
pub fn read_to_string_beneath(root: &Path, path: &Path) -> io::Result<String> {
    String::from_utf8(read_beneath(root, path)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// [`write_atomic`], following no symbolic link below `root`; missing directories are made.
pub fn write_atomic_beneath(root: &Path, path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let (dir, name) = beneath_parent(root, path, true)?;
    dir.write_atomic(name, data, mode)
}
