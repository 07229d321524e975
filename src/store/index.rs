//! A reader of git's index file, for the read-only side of `status` and capture.
//!
//! libgit2 builds a path map of every entry when it loads an index, and keeps no cached tree
//! readable through its API, so telling what is staged meant walking HEAD's whole tree. This
//! reader takes the entries as they lie in the file and the cached tree (`TREE` extension)
//! whose root, when valid, names the tree the index holds: equal to HEAD's, nothing is staged.
//!
//! It reads versions 2 to 4 of the format with SHA-1 ids. For anything else (a split or
//! sparse index, an extension it must understand and does not, SHA-256, a damaged file) it
//! returns `None` and the caller asks libgit2, which reports errors properly. Like git, it does
//! not verify the file's trailing checksum on an ordinary read, and like git it trusts the
//! cached tree as its writer left it (git and libgit2 invalidate it with every change).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// One index entry: what git recorded of a work-tree file when it last staged it.
#[derive(Clone, Debug)]
pub struct Entry {
    path: (u32, u32),
    pub id: git2::Oid,
    pub mode: u32,
    /// git's flags field: bits 12–13 are the merge stage.
    pub flags: u16,
    pub file_size: u32,
    pub mtime: (u32, u32),
    pub ctime: (u32, u32),
    pub ino: u32,
}

impl Entry {
    pub fn stage(&self) -> u16 {
        (self.flags >> 12) & 3
    }
}

/// The entries of one index file, their paths in one buffer.
pub struct Index {
    pub entries: Vec<Entry>,
    paths: Vec<u8>,
    /// The tree the whole index holds, when its cached tree says so.
    pub tree: Option<git2::Oid>,
    /// The index file's mtime (seconds, nanoseconds): a file modified at or after it may have
    /// changed without its stat data showing it ("racily clean").
    pub mtime: (i64, u32),
}

impl Index {
    pub fn path(&self, e: &Entry) -> &[u8] {
        &self.paths[e.path.0 as usize..(e.path.0 + e.path.1) as usize]
    }

    /// Reads `file` (none is an empty index); `Ok(None)` when it is in a form this reader
    /// leaves to libgit2.
    pub fn read(file: &Path) -> std::io::Result<Option<Index>> {
        let f = match std::fs::File::open(file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Some(Index { entries: Vec::new(), paths: Vec::new(), tree: None, mtime: (i64::MAX, 0) }));
            }
            Err(e) => return Err(e),
        };
        let meta = f.metadata()?;
        // Mapped, as git reads it: git and libgit2 replace the index by a rename.
        let data = crate::fsutil::Mapped::of(&f)?;
        let mtime = (meta.mtime(), meta.mtime_nsec() as u32);
        Ok(parse(&data, mtime))
    }
}

impl Index {
    /// The same entries, as libgit2 read them (`mtime`: the index file's).
    pub fn of_libgit2(index: &git2::Index, mtime: (i64, u32)) -> Index {
        let mut paths = Vec::new();
        let entries = index
            .iter()
            .map(|e| {
                let start = paths.len();
                paths.extend_from_slice(&e.path);
                Entry {
                    path: (start as u32, e.path.len() as u32),
                    id: e.id,
                    mode: e.mode,
                    flags: e.flags,
                    file_size: e.file_size,
                    mtime: (e.mtime.seconds() as u32, e.mtime.nanoseconds()),
                    ctime: (e.ctime.seconds() as u32, e.ctime.nanoseconds()),
                    ino: e.ino,
                }
            })
            .collect();
        Index { entries, paths, tree: None, mtime }
    }
}

const OID: usize = 20;

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

/// `None` for whatever this reader does not handle (see the module's comment).
pub fn parse(data: &[u8], mtime: (i64, u32)) -> Option<Index> {
    if data.len() < 12 + OID || &data[..4] != b"DIRC" {
        return None;
    }
    let version = be32(data, 4)?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = be32(data, 8)? as usize;
    let end = data.len() - OID; // the trailing checksum
    let mut at = 12;
    // A count beyond what the file can hold (damage) must not reserve that much.
    let mut entries = Vec::with_capacity(count.min(data.len() / 62));
    let mut paths: Vec<u8> = Vec::with_capacity(data.len().min(count.saturating_mul(32)));
    let mut prev: (usize, usize) = (0, 0);
    for _ in 0..count {
        let head = data.get(at..at + 62)?;
        let word = |i: usize| u32::from_be_bytes(head[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
        let id = git2::Oid::from_bytes(&head[40..60]).ok()?;
        let flags = u16::from_be_bytes([head[60], head[61]]);
        let mut p = at + 62;
        if flags & 0x4000 != 0 {
            if version < 3 {
                return None;
            }
            p += 2; // the extended flags (intent-to-add, skip-worktree): not needed here
        }
        let start = paths.len();
        if version == 4 {
            // The path shares all but `strip` bytes of its end with the previous one.
            let (strip, n) = varint(data.get(p..end)?)?;
            p += n;
            let keep = prev.1.checked_sub(strip)?;
            paths.extend_from_within(prev.0..prev.0 + keep);
            let nul = data.get(p..end)?.iter().position(|&b| b == 0)?;
            paths.extend_from_slice(&data[p..p + nul]);
            at = p + nul + 1;
        } else {
            let nul = data.get(p..end)?.iter().position(|&b| b == 0)?;
            paths.extend_from_slice(&data[p..p + nul]);
            // Padded with NULs to a multiple of eight bytes, at least one.
            let len = p + nul - at;
            at += (len + 8) & !7;
        }
        let len = paths.len() - start;
        prev = (start, len);
        entries.push(Entry {
            path: (u32::try_from(start).ok()?, u32::try_from(len).ok()?),
            id,
            mode: word(6),
            flags,
            file_size: word(9),
            mtime: (word(2), word(3)),
            ctime: (word(0), word(1)),
            ino: word(5),
        });
    }
    if at > end {
        return None;
    }
    let mut tree = None;
    while at < end {
        let sig = data.get(at..at + 4)?;
        let size = be32(data, at + 4)? as usize;
        let body = data.get(at + 8..at + 8 + size)?;
        match sig {
            b"TREE" => tree = cached_root(body),
            // Optional extensions (an upper-case first letter) can be ignored; any other one
            // (a split index's `link`, a sparse index's `sdir`) changes what the entries mean.
            s if s[0].is_ascii_uppercase() => {}
            _ => return None,
        }
        at += 8 + size;
    }
    (at == end).then_some(Index { entries, paths, tree, mtime })
}

/// The root of a cached tree, when it is valid (its entry count is not negative).
fn cached_root(body: &[u8]) -> Option<git2::Oid> {
    // "<path>\0<entry count> <subtrees>\n<oid>", the root's path empty.
    let (&0, rest) = body.split_first()? else { return None };
    let line = rest.iter().position(|&b| b == b'\n')?;
    let counts = std::str::from_utf8(&rest[..line]).ok()?;
    let (entries, _) = counts.split_once(' ')?;
    if entries.parse::<i64>().ok()? < 0 {
        return None;
    }
    git2::Oid::from_bytes(rest.get(line + 1..line + 1 + OID)?).ok()
}

/// git's offset varint (index v4): seven bits a byte, each continuation adding one.
fn varint(d: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    let mut b = *d.first()?;
    let mut v = usize::from(b & 0x7f);
    while b & 0x80 != 0 {
        i += 1;
        b = *d.get(i)?;
        v = v.checked_add(1)?.checked_mul(128)? | usize::from(b & 0x7f);
    }
    Some((v, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// A repository with nested paths, an executable, a link and a long name.
    fn repo() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        git(p, &["init", "-q"]);
        std::fs::create_dir_all(p.join("a/b")).unwrap();
        std::fs::write(p.join("a/b/one"), "1").unwrap();
        std::fs::write(p.join("a/two"), "22").unwrap();
        std::fs::write(p.join(format!("a/{}", "x".repeat(70))), "long").unwrap();
        std::fs::write(p.join("run.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(p.join("run.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("a/two", p.join("link")).unwrap();
        d
    }

    /// An entry as both readers see it: path, id, mode, stage, size, mtime and inode.
    type Seen = (Vec<u8>, git2::Oid, u32, u16, u32, (u32, u32), u32);

    /// What libgit2 reads from the same file.
    fn libgit2_view(dir: &Path) -> Vec<Seen> {
        let repo = git2::Repository::open(dir).unwrap();
        let index = repo.index().unwrap();
        index
            .iter()
            .map(|e| {
                let mtime = (e.mtime.seconds() as u32, e.mtime.nanoseconds());
                (e.path, e.id, e.mode, (e.flags >> 12) & 3, e.file_size, mtime, e.ino)
            })
            .collect()
    }

    fn own_view(dir: &Path) -> (Vec<Seen>, Option<git2::Oid>) {
        let index = Index::read(&dir.join(".git/index")).unwrap().expect("the reader takes this index");
        let v = index
            .entries
            .iter()
            .map(|e| (index.path(e).to_vec(), e.id, e.mode, e.stage(), e.file_size, e.mtime, e.ino))
            .collect();
        (v, index.tree)
    }

    fn head_tree(dir: &Path) -> git2::Oid {
        let repo = git2::Repository::open(dir).unwrap();
        repo.head().unwrap().peel_to_tree().unwrap().id()
    }

    #[test]
    fn every_index_version_reads_as_libgit2_reads_it_with_the_cached_tree_once_git_wrote_one() {
        for version in ["2", "3", "4"] {
            let d = repo();
            let p = d.path();
            git(p, &["-c", &format!("index.version={version}"), "add", "-A"]);
            git(p, &["update-index", "--index-version", version]);
            let (entries, tree) = own_view(p);
            assert_eq!(entries.len(), 5, "v{version}");
            assert_eq!(entries, libgit2_view(p), "v{version}");
            assert_eq!(tree, None, "v{version}: `git add` leaves no cached tree");
            git(p, &["commit", "-q", "-m", "one"]);
            let (entries, tree) = own_view(p);
            assert_eq!(entries, libgit2_view(p), "v{version} after a commit");
            assert_eq!(tree, Some(head_tree(p)), "v{version}: a commit caches the tree it wrote");
            // Staging a change invalidates the root of the cached tree.
            std::fs::write(p.join("a/b/one"), "changed").unwrap();
            git(p, &["add", "a/b/one"]);
            assert_eq!(own_view(p).1, None, "v{version}: a staged change leaves no valid root");
        }
    }

    #[test]
    fn a_conflict_keeps_its_stages() {
        let d = repo();
        let p = d.path();
        git(p, &["add", "-A"]);
        git(p, &["commit", "-q", "-m", "base"]);
        git(p, &["checkout", "-q", "-b", "side"]);
        std::fs::write(p.join("a/two"), "side").unwrap();
        git(p, &["commit", "-q", "-am", "side"]);
        git(p, &["checkout", "-q", "-"]);
        std::fs::write(p.join("a/two"), "main").unwrap();
        git(p, &["commit", "-q", "-am", "main"]);
        let out = Command::new("git").args(["merge", "side"]).current_dir(p).output().unwrap();
        assert!(!out.status.success(), "the merge conflicts");
        let (entries, tree) = own_view(p);
        let stages: Vec<u16> = entries.iter().filter(|e| e.0 == b"a/two").map(|e| e.3).collect();
        assert_eq!(stages, [1, 2, 3]);
        assert_eq!(entries, libgit2_view(p));
        assert_eq!(tree, None);
    }

    #[test]
    fn what_it_does_not_understand_it_leaves_to_libgit2() {
        let d = repo();
        let p = d.path();
        git(p, &["add", "-A"]);
        let data = std::fs::read(p.join(".git/index")).unwrap();
        assert!(parse(&data, (0, 0)).is_some());
        // A required extension (lower-case signature) it does not know.
        let mut extended = data[..data.len() - OID].to_vec();
        extended.extend_from_slice(b"link");
        extended.extend_from_slice(&4u32.to_be_bytes());
        extended.extend_from_slice(&[0; 4]);
        extended.extend_from_slice(&[0; OID]);
        assert!(parse(&extended, (0, 0)).is_none(), "a split index");
        // An optional one is skipped.
        extended[data.len() - OID] = b'L';
        assert!(parse(&extended, (0, 0)).is_some(), "an optional extension");
        // Cut short, or of another version.
        assert!(parse(&data[..data.len() / 2], (0, 0)).is_none(), "a truncated index");
        let mut v5 = data.clone();
        v5[7] = 5;
        assert!(parse(&v5, (0, 0)).is_none(), "an unknown version");
        let mut huge = data.clone();
        huge[8..12].copy_from_slice(&[0xff, 0xff, 0xff, 0xf0]);
        assert!(parse(&huge, (0, 0)).is_none(), "an entry count the file cannot hold");
        assert!(Index::read(&p.join("no-such-index")).unwrap().unwrap().entries.is_empty());
    }
}
