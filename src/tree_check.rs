//! Fetched commits are checked before anything moves: a commit this device could not check out
//! safely is refused, naming the commit, the entry and the reason.
//!
//! Why before, and why every commit a fetch brings (not only the tip): libgit2 writes a tree out
//! file by file, so a tree it cannot write (a name over 255 bytes, a `..`) fails half way and
//! leaves a store no command can use; a symlink or a `.git` in the store would be followed by
//! dotback's own reads and writes, or by git; a name the chezmoi codec refuses makes every later
//! scan of the store fail; and a huge blob is read whole into memory by a merge. A bad commit
//! behind a good tip would still be in the history, one `git checkout` or merge base away.
//!
//! Trees are read raw from the object database rather than through libgit2's parser, so what is
//! checked is exactly what is on record: the mode as written, the name as bytes, the order.
//!
//! The work is proportional to what is new: commits HEAD contains are not walked; an entry that
//! is identical to the one at the same path in a parent commit (checked before it, or in HEAD's
//! history) is skipped; and a subtree checked in full is not checked again. The longest path
//! below such a subtree is remembered, so that nesting it deeper cannot pass the path limit.

use crate::config::MaxFileSize;
use crate::source::{self, IgnoreError, IgnoreRules, NameError, OnDisk};
use crate::store::{Store, StoreError};
use git2::{ObjectType, Oid};
use std::collections::{HashMap, HashSet};

/// The longest name Linux and macOS file systems take.
pub const MAX_NAME: usize = 255;
/// The longest store path taken: far below PATH_MAX (4096) with the store's own path in front,
/// and far above what any dotfile needs.
pub const MAX_PATH: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum TreeCheckError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A commit refused: which, the entry (empty for the commit itself) and why.
#[derive(Debug, thiserror::Error)]
#[error("commit {commit}: {}{reason}", at(path))]
pub struct Refusal {
    pub commit: Oid,
    pub path: String,
    pub reason: Reason,
}

fn at(path: &str) -> String {
    if path.is_empty() { String::new() } else { format!("entry `{path}`: ") }
}

/// Why an entry (or a whole commit) is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("the name is empty")]
    EmptyName,
    #[error("the name is `.` or `..`")]
    DotName,
    #[error("the name is `.git`, or a spelling of it that some file system takes for `.git`")]
    GitName,
    #[error("the name contains {0}")]
    BadChar(&'static str),
    #[error("the name is not valid UTF-8")]
    NotUtf8,
    #[error("the name is {0} bytes long; file systems take at most {MAX_NAME}")]
    NameTooLong(usize),
    #[error("the path is {0} bytes long; dotback takes at most {MAX_PATH}")]
    PathTooLong(usize),
    #[error(
        "it is a symbolic link; the store keeps a link as a `symlink_` file, and dotback's own files are never links"
    )]
    Symlink,
    #[error("it is a git submodule (a gitlink); the store holds only files and directories")]
    Gitlink,
    #[error("its mode `{0}` is neither a file's (100644, 100755) nor a directory's (40000)")]
    Mode(String),
    #[error("{0}")]
    SourceName(NameError),
    #[error("its target would be named `.git`")]
    GitTarget,
    #[error("it is {size} bytes, more than `max_file_size` ({limit}) in the device config allows")]
    TooLarge { size: u64, limit: MaxFileSize },
    #[error("the directory lists `{0}` twice")]
    Duplicate(String),
    #[error("`{first}` and `{second}` both describe the target `{target}`")]
    DuplicateTarget { first: String, second: String, target: String },
    #[error("the directory's entries are not in git's order (git never writes such a tree)")]
    Unsorted,
    #[error("`.chezmoiroot` names `{0}`, which is not a directory in this commit")]
    BadRoot(String),
    #[error("{0}")]
    Ignore(IgnoreError),
    #[error("its mode says {expected}, but the object is a {found}")]
    WrongType { expected: &'static str, found: String },
    #[error("it cannot be read: {0}")]
    Unreadable(String),
}

/// The rules for an entry's name wherever it is; returns it as text.
pub fn check_name(name: &[u8]) -> Result<&str, Reason> {
    if name.is_empty() {
        return Err(Reason::EmptyName);
    }
    if name.len() > MAX_NAME {
        return Err(Reason::NameTooLong(name.len()));
    }
    if name == b"." || name == b".." {
        return Err(Reason::DotName);
    }
    for (byte, what) in [(b'\0', "a NUL byte"), (b'/', "`/`"), (b'\\', "`\\`")] {
        if name.contains(&byte) {
            return Err(Reason::BadChar(what));
        }
    }
    let name = std::str::from_utf8(name).map_err(|_| Reason::NotUtf8)?;
    if is_git_name(name) {
        return Err(Reason::GitName);
    }
    Ok(name)
}

/// `.git` as some file system sees it, as git and libgit2 refuse it: in any case; on macOS with
/// the invisible code points HFS+ drops from names; on NTFS with trailing dots or spaces, an
/// alternate stream (`.git::$INDEX_ALLOCATION`) or as the short name `git~1`.
pub fn is_git_name(name: &str) -> bool {
    let ignorable =
        |c: char| matches!(c, '\u{200c}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{206a}'..='\u{206f}' | '\u{feff}');
    let visible = name.chars().filter(|c| !ignorable(*c)).collect::<String>().to_ascii_lowercase();
    let stem = visible.split(':').next().unwrap_or_default().trim_end_matches(['.', ' ']);
    stem == ".git" || stem == "git~1"
}

/// What an entry's mode makes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

/// The modes git writes for a file, an executable and a directory; nothing else.
pub fn check_mode(mode: &[u8]) -> Result<EntryKind, Reason> {
    match mode {
        b"100644" | b"100755" => Ok(EntryKind::File),
        b"40000" => Ok(EntryKind::Dir),
        b"120000" => Err(Reason::Symlink),
        b"160000" => Err(Reason::Gitlink),
        other => Err(Reason::Mode(String::from_utf8_lossy(other).into_owned())),
    }
}

/// The chezmoi codec's verdict on a name in the source directory: the entry it decodes to
/// (`None` for a name chezmoi ignores, one starting with `.`).
pub fn check_source_name(name: &str, kind: EntryKind) -> Result<Option<source::Entry>, Reason> {
    let on_disk = if kind == EntryKind::Dir { OnDisk::Dir } else { OnDisk::File };
    let entry = source::decode(name, on_disk).map_err(Reason::SourceName)?;
    if entry.as_ref().is_some_and(|e| is_git_name(&e.name)) {
        return Err(Reason::GitTarget);
    }
    Ok(entry)
}

/// One entry of a tree object, as written: `<mode> <name>\0<20-byte id>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntry {
    pub mode: Vec<u8>,
    pub name: Vec<u8>,
    pub id: Oid,
}

impl RawEntry {
    fn is_dir(&self) -> bool {
        self.mode == b"40000"
    }
}

/// The entries of a tree object's content, in the order written.
pub fn parse_tree(mut data: &[u8]) -> Result<Vec<RawEntry>, String> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let space = data.iter().position(|&b| b == b' ').ok_or("an entry has no mode")?;
        let (mode, rest) = (&data[..space], &data[space + 1..]);
        let nul = rest.iter().position(|&b| b == 0).ok_or("an entry's name is not terminated")?;
        let (name, rest) = (&rest[..nul], &rest[nul + 1..]);
        if rest.len() < 20 {
            return Err("an entry's object id is cut short".into());
        }
        let id = Oid::from_bytes(&rest[..20]).map_err(|e| e.message().to_string())?;
        out.push(RawEntry { mode: mode.to_vec(), name: name.to_vec(), id });
        data = &rest[20..];
    }
    Ok(out)
}

/// git's order: names compared as bytes, a directory's as if it ended in `/`; no name twice.
pub fn check_order(entries: &[RawEntry]) -> Result<(), Reason> {
    let mut names = HashSet::new();
    for e in entries {
        if !names.insert(&e.name[..]) {
            return Err(Reason::Duplicate(String::from_utf8_lossy(&e.name).into_owned()));
        }
    }
    let key = |e: &RawEntry| {
        let mut k = e.name.clone();
        if e.is_dir() {
            k.push(b'/');
        }
        k
    };
    match entries.windows(2).any(|w| key(&w[0]) >= key(&w[1])) {
        true => Err(Reason::Unsorted),
        false => Ok(()),
    }
}

/// In a source directory, no two entries describe one target (chezmoi refuses the store, and
/// so does dotback's scan). Scripts have no target; names that do not decode were refused, or
/// come unchanged from a parent.
pub fn check_targets(entries: &[RawEntry]) -> Result<(), Reason> {
    let mut targets: Vec<(String, &str)> = entries
        .iter()
        .filter_map(|e| {
            let name = std::str::from_utf8(&e.name).ok()?;
            let on_disk = if e.is_dir() { OnDisk::Dir } else { OnDisk::File };
            let entry = source::decode(name, on_disk).ok()??;
            (entry.kind != source::Kind::Script).then_some((entry.name, name))
        })
        .collect();
    targets.sort();
    match targets.windows(2).find(|w| w[0].0 == w[1].0) {
        Some(w) => Err(Reason::DuplicateTarget { first: w[0].1.into(), second: w[1].1.into(), target: w[0].0.clone() }),
        None => Ok(()),
    }
}

/// How names in a directory are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Ctx {
    /// In the source directory: every name is a chezmoi source name.
    Source,
    /// Not read by chezmoi (under a dot-directory, an `external_` or `remove_` directory, or
    /// outside `.chezmoiroot`): only the rules for every name apply.
    Raw,
    /// A directory above the one `.chezmoiroot` names.
    AboveRoot,
}

/// Checks every commit reachable from `theirs` that HEAD does not contain, oldest first.
pub fn check_fetched(store: &Store, theirs: Oid, max_file_size: u64) -> Result<(), TreeCheckError> {
    let repo = &store.repo;
    let local = |what, source| TreeCheckError::Store(StoreError::Git { what, path: store.root.clone(), source });
    let unreadable = |e: git2::Error| {
        TreeCheckError::from(Refusal {
            commit: theirs,
            path: String::new(),
            reason: Reason::Unreadable(e.message().into()),
        })
    };
    let mut walk = repo.revwalk().map_err(|e| local("log", e))?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE).map_err(|e| local("log", e))?;
    walk.push(theirs).map_err(unreadable)?;
    if let Some(head) = store.head_commit()? {
        walk.hide(head).map_err(|e| local("log", e))?;
    }
    let odb = repo.odb().map_err(|e| local("object database", e))?;
    let mut checker = Checker {
        repo,
        odb,
        limit: max_file_size,
        commit: theirs,
        root: None,
        trees: HashMap::new(),
        blobs: HashSet::new(),
    };
    for id in walk {
        checker.commit(id.map_err(unreadable)?)?;
    }
    Ok(())
}

struct Checker<'r> {
    repo: &'r git2::Repository,
    odb: git2::Odb<'r>,
    limit: u64,
    /// The commit being checked.
    commit: Oid,
    /// The directory its `.chezmoiroot` names.
    root: Option<String>,
    /// Subtrees checked in full, with the length of the longest path below them.
    trees: HashMap<(Oid, Ctx), usize>,
    /// Blobs whose type and size were checked.
    blobs: HashSet<Oid>,
}

impl Checker<'_> {
    fn refuse(&self, path: &str, reason: Reason) -> TreeCheckError {
        Refusal { commit: self.commit, path: path.to_string(), reason }.into()
    }

    fn commit(&mut self, id: Oid) -> Result<(), TreeCheckError> {
        self.commit = id;
        let commit = self.repo.find_commit(id).map_err(|e| self.refuse("", Reason::Unreadable(e.message().into())))?;
        let tree = commit.tree_id();
        let entries = self.read_tree(tree, "")?;
        let root_entry = |entries: &[RawEntry]| entries.iter().find(|e| e.name == b".chezmoiroot").map(|e| e.id);
        let own_root = root_entry(&entries);
        self.root = match own_root {
            Some(blob) => Some(self.chezmoiroot(blob, &entries)?),
            None => None,
        };
        // A parent with another `.chezmoiroot` read its names another way: nothing is skipped for it.
        let parents: Vec<Oid> = commit
            .parent_ids()
            .filter_map(|p| self.repo.find_commit(p).ok().map(|c| c.tree_id()))
            .filter(|t| self.read_tree(*t, "").is_ok_and(|e| root_entry(&e) == own_root))
            .collect();
        let ctx = if self.root.is_some() { Ctx::AboveRoot } else { Ctx::Source };
        self.tree(tree, "", ctx, &parents)?;
        Ok(())
    }

    /// The directory `.chezmoiroot` names, which must be one in the commit.
    fn chezmoiroot(&mut self, blob: Oid, top: &[RawEntry]) -> Result<String, TreeCheckError> {
        self.blob(blob, ".chezmoiroot")?;
        let data =
            self.odb.read(blob).map_err(|e| self.refuse(".chezmoiroot", Reason::Unreadable(e.message().into())))?;
        let text = String::from_utf8_lossy(data.data()).trim().to_string();
        let bad = || self.refuse(".chezmoiroot", Reason::BadRoot(text.clone()));
        let parts: Vec<&str> = text.split('/').filter(|p| !p.is_empty()).collect();
        if parts.is_empty() || text.starts_with('/') {
            return Err(bad());
        }
        let mut entries = top.to_vec();
        for part in &parts {
            check_name(part.as_bytes()).map_err(|_| bad())?;
            let dir = entries.iter().find(|e| e.name == part.as_bytes() && e.is_dir()).map(|e| e.id).ok_or_else(bad)?;
            entries = self.read_tree(dir, &text).map_err(|_| bad())?;
        }
        Ok(parts.join("/"))
    }

    /// A tree object's entries; refused when it is not a tree, is too large or is malformed.
    fn read_tree(&self, id: Oid, path: &str) -> Result<Vec<RawEntry>, TreeCheckError> {
        let unreadable = |e: git2::Error| self.refuse(path, Reason::Unreadable(e.message().into()));
        let (size, kind) = self.odb.read_header(id).map_err(unreadable)?;
        if kind != ObjectType::Tree {
            return Err(self.refuse(path, Reason::WrongType { expected: "a directory", found: kind.to_string() }));
        }
        if size as u64 > self.limit {
            return Err(self.refuse(path, Reason::TooLarge { size: size as u64, limit: MaxFileSize(self.limit) }));
        }
        let object = self.odb.read(id).map_err(unreadable)?;
        parse_tree(object.data()).map_err(|e| self.refuse(path, Reason::Unreadable(e)))
    }

    fn blob(&mut self, id: Oid, path: &str) -> Result<(), TreeCheckError> {
        if self.blobs.contains(&id) {
            return Ok(());
        }
        let (size, kind) =
            self.odb.read_header(id).map_err(|e| self.refuse(path, Reason::Unreadable(e.message().into())))?;
        if kind != ObjectType::Blob {
            return Err(self.refuse(path, Reason::WrongType { expected: "a file", found: kind.to_string() }));
        }
        if size as u64 > self.limit {
            return Err(self.refuse(path, Reason::TooLarge { size: size as u64, limit: MaxFileSize(self.limit) }));
        }
        self.blobs.insert(id);
        Ok(())
    }

    /// Checks the tree `id` at `path`, given the trees at the same path in the parent commits.
    /// Returns the length of the longest path below it when it was checked in full (nothing
    /// skipped as identical to a parent's).
    fn tree(&mut self, id: Oid, path: &str, ctx: Ctx, parents: &[Oid]) -> Result<Option<usize>, TreeCheckError> {
        if ctx != Ctx::AboveRoot
            && let Some(&longest) = self.trees.get(&(id, ctx))
        {
            let total = path.len() + 1 + longest;
            if !path.is_empty() && total > MAX_PATH {
                return Err(self.refuse(&format!("{path}/…"), Reason::PathTooLong(total)));
            }
            return Ok(Some(longest));
        }
        let entries = self.read_tree(id, path)?;
        let before: Vec<HashMap<Vec<u8>, RawEntry>> = parents
            .iter()
            .filter_map(|p| self.read_tree(*p, path).ok())
            .map(|es| es.into_iter().map(|e| (e.name.clone(), e)).collect())
            .collect();
        let mut longest = 0;
        let mut complete = true;
        for e in &entries {
            let same: Vec<&RawEntry> = before.iter().filter_map(|b| b.get(&e.name)).collect();
            if same.iter().any(|p| p.mode == e.mode && p.id == e.id) {
                complete = false;
                continue;
            }
            let shown = crate::managed::join(path, &String::from_utf8_lossy(&e.name));
            let name = check_name(&e.name).map_err(|r| self.refuse(&shown, r))?;
            if shown.len() > MAX_PATH {
                return Err(self.refuse(&shown, Reason::PathTooLong(shown.len())));
            }
            let kind = check_mode(&e.mode).map_err(|r| self.refuse(&shown, r))?;
            let inner = match ctx {
                Ctx::Raw => Ctx::Raw,
                Ctx::Source => match check_source_name(name, kind).map_err(|r| self.refuse(&shown, r))? {
                    Some(entry) if kind == EntryKind::File || entry.is_native() => Ctx::Source,
                    _ => Ctx::Raw,
                },
                Ctx::AboveRoot => {
                    let root = self.root.as_deref().unwrap_or_default();
                    if root == shown {
                        Ctx::Source
                    } else if root.starts_with(&format!("{shown}/")) {
                        Ctx::AboveRoot
                    } else {
                        Ctx::Raw
                    }
                }
            };
            match kind {
                EntryKind::Dir => {
                    let parents: Vec<Oid> = same.iter().filter(|p| p.is_dir()).map(|p| p.id).collect();
                    match self.tree(e.id, &shown, inner, &parents)? {
                        Some(below) => longest = longest.max(name.len() + 1 + below),
                        None => complete = false,
                    }
                }
                EntryKind::File => {
                    self.blob(e.id, &shown)?;
                    if ctx == Ctx::Source && name == ".chezmoiignore" {
                        self.ignore_file(e.id, &shown)?;
                    }
                    longest = longest.max(name.len());
                }
            }
        }
        check_order(&entries).map_err(|r| self.refuse(path, r))?;
        if ctx == Ctx::Source {
            check_targets(&entries).map_err(|r| self.refuse(path, r))?;
        }
        if complete && ctx != Ctx::AboveRoot {
            self.trees.insert((id, ctx), longest);
        }
        Ok(complete.then_some(longest))
    }

    /// A `.chezmoiignore` chezmoi (and so dotback's scan) would refuse.
    fn ignore_file(&self, id: Oid, path: &str) -> Result<(), TreeCheckError> {
        let data = self.odb.read(id).map_err(|e| self.refuse(path, Reason::Unreadable(e.message().into())))?;
        let text = std::str::from_utf8(data.data()).map_err(|_| self.refuse(path, Reason::NotUtf8))?;
        IgnoreRules::try_parse(text).map_err(|e| self.refuse(path, Reason::Ignore(e)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_anywhere() {
        let long = "x".repeat(MAX_NAME);
        let ok: &[&[u8]] =
            &[b"dot_zshrc", b".dotback", b"..x", b"x..", b".gitignore", b".git2", b"a b", long.as_bytes()];
        for name in ok {
            assert_eq!(check_name(name), Ok(std::str::from_utf8(name).unwrap()), "{name:?}");
        }
        let too_long = "x".repeat(MAX_NAME + 1);
        let bad: &[(&[u8], Reason)] = &[
            (b"", Reason::EmptyName),
            (b".", Reason::DotName),
            (b"..", Reason::DotName),
            (b".git", Reason::GitName),
            (b".GIT", Reason::GitName),
            (b".Git", Reason::GitName),
            (".g\u{200c}it".as_bytes(), Reason::GitName),
            ("\u{feff}.git".as_bytes(), Reason::GitName),
            (b".git.", Reason::GitName),
            (b".GIT. .", Reason::GitName),
            (b".git::$INDEX_ALLOCATION", Reason::GitName),
            (b"GIT~1", Reason::GitName),
            (b"a\0b", Reason::BadChar("a NUL byte")),
            (b"a/b", Reason::BadChar("`/`")),
            (b"../x", Reason::BadChar("`/`")),
            (b"a\\b", Reason::BadChar("`\\`")),
            (b"..\\x", Reason::BadChar("`\\`")),
            (b"\xff\xfe", Reason::NotUtf8),
            (too_long.as_bytes(), Reason::NameTooLong(MAX_NAME + 1)),
        ];
        for (name, why) in bad {
            assert_eq!(check_name(name).err().as_ref(), Some(why), "{name:?}");
        }
        // A long multi-byte name is counted in bytes, as file systems count it.
        assert_eq!(check_name("é".repeat(128).as_bytes()), Err(Reason::NameTooLong(256)));
    }

    #[test]
    fn modes() {
        assert_eq!(check_mode(b"100644"), Ok(EntryKind::File));
        assert_eq!(check_mode(b"100755"), Ok(EntryKind::File));
        assert_eq!(check_mode(b"40000"), Ok(EntryKind::Dir));
        assert_eq!(check_mode(b"120000"), Err(Reason::Symlink));
        assert_eq!(check_mode(b"160000"), Err(Reason::Gitlink));
        for other in ["040000", "100664", "100600", "644", "0100644", "", "1006444", "10064x"] {
            assert_eq!(check_mode(other.as_bytes()), Err(Reason::Mode(other.into())), "{other}");
        }
    }

    #[test]
    fn source_names() {
        use EntryKind::{Dir, File};
        for (name, kind) in [("dot_zshrc", File), ("private_dot_ssh", Dir), (".dotback", Dir), ("symlink_dot_x", File)]
        {
            assert!(check_source_name(name, kind).is_ok(), "{name}");
        }
        assert_eq!(check_source_name(".git", Dir).unwrap(), None, "a dot-name is not decoded (check_name refuses it)");
        for (name, kind) in [
            ("dot_git", Dir),
            ("dot_GIT", File),
            ("exact_private_dot_git", Dir),
            ("literal_.git", File),
            ("dot_git.", Dir),
        ] {
            assert_eq!(check_source_name(name, kind), Err(Reason::GitTarget), "{name}");
        }
        for (name, kind) in
            [("dot_", File), ("private_", Dir), ("dot_.", Dir), ("literal_..", File), ("encrypted_.age", File)]
        {
            assert!(matches!(check_source_name(name, kind), Err(Reason::SourceName(_))), "{name}");
        }
    }

    fn entry(mode: &str, name: &str, n: u8) -> RawEntry {
        RawEntry { mode: mode.into(), name: name.into(), id: Oid::from_bytes(&[n; 20]).unwrap() }
    }

    fn raw(entries: &[RawEntry]) -> Vec<u8> {
        let mut out = Vec::new();
        for e in entries {
            out.extend_from_slice(&e.mode);
            out.push(b' ');
            out.extend_from_slice(&e.name);
            out.push(0);
            out.extend_from_slice(e.id.as_bytes());
        }
        out
    }

    #[test]
    fn trees_parse_as_written_and_in_git_order() {
        let entries = vec![entry("100644", "a b", 1), entry("40000", "dir", 2), entry("120000", "", 3)];
        assert_eq!(parse_tree(&raw(&entries)).unwrap(), entries);
        assert_eq!(parse_tree(b"").unwrap(), []);
        let whole = raw(&entries[..1]);
        for cut in 1..whole.len() {
            assert!(parse_tree(&whole[..cut]).is_err(), "cut at {cut}");
        }
        // `x.txt` sorts before the directory `x` (as `x/`), and after a file `x`.
        assert_eq!(check_order(&[entry("100644", "x", 1), entry("100644", "x.txt", 2)]), Ok(()));
        assert_eq!(check_order(&[entry("100644", "x.txt", 2), entry("40000", "x", 1)]), Ok(()));
        assert_eq!(check_order(&[entry("40000", "x", 1), entry("100644", "x.txt", 2)]), Err(Reason::Unsorted));
        assert_eq!(check_order(&[entry("100644", "b", 1), entry("100644", "a", 2)]), Err(Reason::Unsorted));
        assert_eq!(
            check_order(&[entry("100644", "x", 1), entry("100644", "x.txt", 2), entry("40000", "x", 3)]),
            Err(Reason::Duplicate("x".into()))
        );
    }

    /// A store with one commit (made by hand, so anything goes), and a way to add more.
    struct Repo {
        _dir: tempfile::TempDir,
        store: Store,
    }

    impl Repo {
        fn new(top: &[RawEntry]) -> Repo {
            let dir = tempfile::tempdir().unwrap();
            let (store, _) = Store::init(&dir.path().join("store")).unwrap();
            let r = Repo { _dir: dir, store };
            let first = r.commit(top, None);
            r.store.repo.reference("refs/heads/main", first, true, "test").unwrap();
            r
        }
        fn tree(&self, entries: &[RawEntry]) -> Oid {
            let mut entries = entries.to_vec();
            entries.sort_by_key(|e| {
                let mut k = e.name.clone();
                if e.is_dir() {
                    k.push(b'/');
                }
                k
            });
            self.store.repo.odb().unwrap().write(ObjectType::Tree, &raw(&entries)).unwrap()
        }
        fn blob(&self, data: &[u8]) -> Oid {
            self.store.repo.blob(data).unwrap()
        }
        fn commit(&self, top: &[RawEntry], parent: Option<Oid>) -> Oid {
            let repo = &self.store.repo;
            let sig = git2::Signature::now("t", "t@x").unwrap();
            let tree = repo.find_tree(self.tree(top)).unwrap();
            let parents: Vec<git2::Commit> = parent.iter().map(|p| repo.find_commit(*p).unwrap()).collect();
            repo.commit(None, &sig, &sig, "t", &tree, &parents.iter().collect::<Vec<_>>()).unwrap()
        }
        fn check(&self, commit: Oid) -> Result<(), Reason> {
            match check_fetched(&self.store, commit, 1 << 20) {
                Ok(()) => Ok(()),
                Err(TreeCheckError::Refused(r)) => Err(r.reason),
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn only_what_is_new_is_checked() {
        let repo = Repo::new(&[]);
        let blob = repo.blob(b"x");
        let file = RawEntry { mode: b"100644".to_vec(), name: b"dot_a".to_vec(), id: blob };
        let link = RawEntry { mode: b"120000".to_vec(), name: b".github-link".to_vec(), id: blob };
        // HEAD already holds a link (checked out long ago): an edit elsewhere is not refused for it.
        let head = repo.commit(&[link.clone(), file.clone()], None);
        repo.store.repo.reference("refs/heads/main", head, true, "t").unwrap();
        let edit = RawEntry { id: repo.blob(b"y"), ..file.clone() };
        assert_eq!(repo.check(repo.commit(&[link.clone(), edit.clone()], Some(head))), Ok(()));
        // A new link is refused, and so is a commit whose parent brought one.
        let other = RawEntry { name: b"dot_link".to_vec(), ..link.clone() };
        let bad = repo.commit(&[link.clone(), edit.clone(), other.clone()], Some(head));
        assert_eq!(repo.check(bad), Err(Reason::Symlink));
        assert_eq!(repo.check(repo.commit(&[link.clone(), edit.clone()], Some(bad))), Err(Reason::Symlink));
        // A link moved to another path is new there.
        let moved = repo.tree(std::slice::from_ref(&link));
        let dir = RawEntry { mode: b"40000".to_vec(), name: b"dot_d".to_vec(), id: moved };
        assert_eq!(repo.check(repo.commit(&[link, dir], Some(head))), Err(Reason::Symlink));
    }

    #[test]
    fn a_subtree_checked_once_still_counts_its_depth_where_it_is_nested() {
        let repo = Repo::new(&[]);
        let blob = repo.blob(b"x");
        let name = |n: &str| n.repeat(200).into_bytes();
        let mut tree = repo.tree(&[RawEntry { mode: b"100644".to_vec(), name: name("f"), id: blob }]);
        let mut top = Vec::new();
        // Each level nests the previous tree one 200-byte directory deeper; each is also kept at
        // the top, so every level below is a subtree already checked.
        for level in 0..6 {
            let dir = RawEntry { mode: b"40000".to_vec(), name: name(&level.to_string()), id: tree };
            top.push(RawEntry { name: format!("top{level}").into_bytes(), ..dir.clone() });
            tree = repo.tree(&[dir]);
        }
        let commit = repo.commit(&top, None);
        assert!(matches!(repo.check(commit), Err(Reason::PathTooLong(n)) if n > MAX_PATH), "{:?}", repo.check(commit));
        assert_eq!(repo.check(repo.commit(&top[..3], None)), Ok(()), "three levels are within the limit");
    }

    #[test]
    fn chezmoiroot_must_name_a_directory_and_is_where_names_are_decoded() {
        let repo = Repo::new(&[]);
        let file =
            |name: &str, data: &[u8]| RawEntry { mode: b"100644".to_vec(), name: name.into(), id: repo.blob(data) };
        let home =
            RawEntry { mode: b"40000".to_vec(), name: b"home".to_vec(), id: repo.tree(&[file("dot_zshrc", b"x")]) };
        let ok = repo.commit(&[file(".chezmoiroot", b"home\n"), file("dot_", b"not decoded here"), home.clone()], None);
        assert_eq!(repo.check(ok), Ok(()));
        for root in ["elsewhere", "../home", "/home", "home/dot_zshrc", ""] {
            let c = repo.commit(&[file(".chezmoiroot", root.as_bytes()), home.clone()], None);
            assert_eq!(repo.check(c), Err(Reason::BadRoot(root.into())), "{root:?}");
        }
        let inside = RawEntry { id: repo.tree(&[file("dot_", b"decoded here")]), ..home };
        let c = repo.commit(&[file(".chezmoiroot", b"home"), inside], None);
        assert!(matches!(repo.check(c), Err(Reason::SourceName(_))));
        let ignore = repo.commit(&[file(".chezmoiignore", b"../outside\n")], None);
        assert!(matches!(repo.check(ignore), Err(Reason::Ignore(_))));
    }

    #[test]
    fn one_target_one_entry() {
        let ok = [entry("100644", "dot_zshrc", 1), entry("40000", "dot_config", 2), entry("100755", "run_x.sh", 3)];
        assert_eq!(check_targets(&ok), Ok(()));
        assert_eq!(check_targets(&[entry("100644", "run_x", 1), entry("100644", "run_once_x", 2)]), Ok(()), "scripts");
        for other in
            ["remove_dot_zshrc", "private_dot_zshrc", "dot_zshrc.tmpl", "literal_.zshrc", "encrypted_dot_zshrc.age"]
        {
            let err = check_targets(&[entry("100644", "dot_zshrc", 1), entry("100644", other, 2)]).unwrap_err();
            assert!(matches!(&err, Reason::DuplicateTarget { target, .. } if target == ".zshrc"), "{other}: {err}");
        }
        let dir_and_file = [entry("40000", "dot_vim", 1), entry("100644", "private_dot_vim", 2)];
        assert!(check_targets(&dir_and_file).is_err());
    }
}
