//! The store's git repository (libgit2): open, init, stage everything, commit, list what is
//! not committed yet.

use crate::error::{IoContext, Op, PathError};
use crate::fsutil::FastMap;
use crate::transport::{self, TransportError};
use git2::{IndexAddOption, Repository, RepositoryInitOptions, Signature, StatusOptions};
use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

mod index;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store {} does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("the store {} is not a git repository", path.display())]
    NotARepository {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("git's configuration cannot be read")]
    GitConfig {
        #[source]
        source: git2::Error,
    },
    #[error("the store {} is a bare repository; dotback needs a work tree", path.display())]
    Bare { path: PathBuf },
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(
        "{} in the store is a symbolic link; dotback follows no link inside the store, where it and git keep their own files",
        path.display()
    )]
    Link { path: PathBuf },
    #[error("git operation `{what}` failed in the store {}: its disk is full", path.display())]
    DiskFull {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("git operation `{what}` failed in the store {}", path.display())]
    Git {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
}

impl StoreError {
    /// The lock file a git operation found taken (left by a git command that was stopped, or
    /// held by one at work), when that is why it failed: a path, or where to look for one.
    pub fn lock_file(&self) -> Option<String> {
        let StoreError::Git { source, path, .. } = self else { return None };
        if source.code() != git2::ErrorCode::Locked {
            return None;
        }
        // libgit2 names a ref's lock file between quotes, but not the index's.
        Some(match source.message().split('\'').nth(1) {
            Some(f) => f.to_string(),
            None if source.class() == git2::ErrorClass::Index => path.join(".git/index.lock").display().to_string(),
            None => "the `.lock` file in the store's `.git` directory".to_string(),
        })
    }
}

/// Whether libgit2 failed for want of space. It says so only in the message: the C library's
/// text for ENOSPC or EDQUOT (in the C locale, as a Rust program never sets another).
fn disk_full(e: &git2::Error) -> bool {
    e.class() == git2::ErrorClass::Os
        && ["No space left on device", "Disk quota exceeded"].iter().any(|m| e.message().contains(m))
}

/// Gives `repo` the configuration git would read, where git's environment says so and libgit2
/// (opening a repository by its path) does not listen: `GIT_CONFIG_GLOBAL` replaces
/// `~/.gitconfig` and the XDG file, `GIT_CONFIG_SYSTEM` replaces the system file and
/// `GIT_CONFIG_NOSYSTEM` drops it. Everything read through the repository then follows: the
/// commit author, credential helpers, `core.autocrlf`, URL rewrites.
fn git_config_from_env(repo: &Repository) -> Result<(), StoreError> {
    use git2::{Config, ConfigLevel};
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let (global, system) = (var("GIT_CONFIG_GLOBAL"), var("GIT_CONFIG_SYSTEM"));
    let no_system = std::env::var("GIT_CONFIG_NOSYSTEM").is_ok_and(|v| git2::Config::parse_bool(v).unwrap_or(false));
    if global.is_none() && system.is_none() && !no_system {
        return Ok(());
    }
    let config = (|| {
        let mut config = Config::new()?;
        let mut files = vec![(repo.path().join("config"), ConfigLevel::Local)];
        match global {
            Some(path) => files.push((path, ConfigLevel::Global)),
            None => {
                files.extend(Config::find_global().ok().map(|p| (p, ConfigLevel::Global)));
                files.extend(Config::find_xdg().ok().map(|p| (p, ConfigLevel::XDG)));
            }
        }
        if !no_system {
            files.extend(system.or_else(|| Config::find_system().ok()).map(|p| (p, ConfigLevel::System)));
        }
        for (path, level) in files {
            config.add_file(&path, level, false)?;
        }
        repo.set_config(&config)
    })();
    config.map_err(|source| StoreError::GitConfig { source })
}

/// A date in git's internal format, `<seconds> <+hhmm>` (or `@<seconds>`, UTC), as git reads
/// `GIT_COMMITTER_DATE`; anything else is no date here, and the commit is dated now.
fn env_date(text: &str) -> Option<git2::Time> {
    let mut words = text.split_whitespace();
    let secs: i64 = words.next()?.trim_start_matches('@').parse().ok()?;
    let offset = match words.next() {
        None => 0,
        Some(z) => {
            let (sign, digits) = z.split_at_checked(1)?;
            let n: i32 = digits.parse().ok().filter(|_| digits.len() == 4)?;
            let minutes = n / 100 * 60 + n % 100;
            match sign {
                "+" => minutes,
                "-" => -minutes,
                _ => return None,
            }
        }
    };
    words.next().is_none().then(|| git2::Time::new(secs, offset))
}

/// The repository at `url` when that is a path on this machine that opens as one.
fn local_repository(url: &str) -> Option<Repository> {
    let path = transport::local_path(url)?;
    let flags = git2::RepositoryOpenFlags::NO_SEARCH;
    Repository::open_ext(&path, flags, std::iter::empty::<&std::ffi::OsStr>()).ok()
}

/// How much of a pack [`copy_pack`] gathers before the indexer reads it.
const PACK_PIECE: usize = 4 << 20;

/// Writes what `pack` holds into `odb` as one pack, which the odb's indexer checks and indexes.
/// The pack goes over in pieces of [`PACK_PIECE`] bytes: the indexer does work per piece that
/// grows with the pack (it drops its maps of the file each time).
fn copy_pack(pack: &mut git2::PackBuilder<'_>, odb: &git2::Odb<'_>) -> Result<(), git2::Error> {
    use std::io::Write;
    let mut writer = odb.packwriter()?;
    let mut piece = Vec::with_capacity(PACK_PIECE);
    let mut failed = None;
    pack.foreach(|chunk| {
        piece.extend_from_slice(chunk);
        if piece.len() < PACK_PIECE {
            return true;
        }
        let written = writer.write_all(&piece);
        piece.clear();
        written.map_err(|e| failed = Some(e)).is_ok()
    })?;
    if failed.is_none() && !piece.is_empty() {
        failed = writer.write_all(&piece).err();
    }
    if let Some(e) = failed {
        return Err(git2::Error::from_str(&e.to_string()));
    }
    writer.commit().map(drop)
}

/// Which way objects were going when a transport failed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Fetch,
    Push,
}

/// The first full object id (40 hex digits) in a libgit2 message, such as "object not found -
/// no match for id (…)".
fn object_id_in(message: &str) -> Option<git2::Oid> {
    let hex = |i: usize| message.as_bytes().get(i).is_some_and(u8::is_ascii_hexdigit);
    (0..message.len().saturating_sub(39))
        .find(|&i| (i == 0 || !hex(i - 1)) && (i..i + 40).all(hex) && !hex(i + 40))
        .and_then(|i| git2::Oid::from_str(&message[i..i + 40]).ok())
}

/// dotback's record of where `remote`'s branch was at the last sync (see [`Store::seen`]).
fn seen_ref(remote: &str) -> String {
    format!("refs/dotback/seen/{remote}")
}

/// The store's repository.
pub struct Store {
    pub repo: Repository,
    pub root: PathBuf,
}

/// The branch's commit and the index's bytes at one moment (see [`Store::mark`]).
pub struct Mark {
    head: Option<git2::Oid>,
    index: Option<Vec<u8>>,
}

/// One path with uncommitted changes, as git reports it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Uncommitted {
    pub path: String,
    pub change: &'static str,
}

/// Objects are read as git reads them: zlib's checksum catches a damaged object file, and an
/// object's id is not computed again on every read (libgit2 does by default: SHA-1 over every
/// tree and commit a `status` or `sync` reads). Fetched packs are still verified in full.
fn read_objects_as_git_does() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| git2::opts::strict_hash_verification(false));
}

/// Makes every later object read check that the object hashes to its id, as `git fsck` does
/// (`dotback check`): what ordinary reads skip, as git's do.
pub fn verify_object_ids() {
    read_objects_as_git_does();
    git2::opts::strict_hash_verification(true);
}

/// A remote's refs, by name, as listed over a connection.
type RemoteRefs = Vec<(String, git2::Oid)>;

impl Store {
    /// Opens the store at exactly `root` (no search upwards: the store is named, not guessed).
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        read_objects_as_git_does();
        if !root.exists() {
            return Err(StoreError::Missing { path: root.to_path_buf() });
        }
        // `.git`, `.dotback`, `.chezmoiignore` …: a link there would redirect every read and write.
        let dot_link = std::fs::read_dir(root).into_iter().flatten().flatten().find(|e| {
            e.file_name().as_encoded_bytes().starts_with(b".") && e.file_type().is_ok_and(|t| t.is_symlink())
        });
        if let Some(e) = dot_link {
            return Err(StoreError::Link { path: e.path() });
        }
        let repo =
            Repository::open_ext(root, git2::RepositoryOpenFlags::NO_SEARCH, std::iter::empty::<&std::ffi::OsStr>())
                .map_err(|source| match source.class() {
                    git2::ErrorClass::Config => StoreError::GitConfig { source },
                    _ => StoreError::NotARepository { path: root.to_path_buf(), source },
                })?;
        if repo.is_bare() {
            return Err(StoreError::Bare { path: root.to_path_buf() });
        }
        git_config_from_env(&repo)?;
        Ok(Store { repo, root: root.to_path_buf() })
    }

    /// Opens the repository at `root`, creating it (branch `main`) when there is none.
    pub fn init(root: &Path) -> Result<(Store, bool), StoreError> {
        read_objects_as_git_does();
        if root.join(".git").exists() {
            return Store::open(root).map(|s| (s, false));
        }
        let mut opts = RepositoryInitOptions::new();
        opts.initial_head("main").mkpath(true);
        let repo = Repository::init_opts(root, &opts).map_err(|source| StoreError::Git {
            what: "init",
            path: root.to_path_buf(),
            source,
        })?;
        git_config_from_env(&repo)?;
        Ok((Store { repo, root: root.to_path_buf() }, true))
    }

    fn git<T>(&self, what: &'static str, r: Result<T, git2::Error>) -> Result<T, StoreError> {
        r.map_err(|source| {
            let path = self.root.clone();
            if disk_full(&source) {
                StoreError::DiskFull { what, path, source }
            } else {
                StoreError::Git { what, path, source }
            }
        })
    }

    /// The user's git identity, or one naming the device when git has none configured; dated
    /// now, or as `GIT_COMMITTER_DATE` says, as git dates its commits (see [`env_date`]).
    fn signature(&self, device: &str) -> Result<Signature<'static>, StoreError> {
        let sig = match self.repo.signature() {
            Ok(s) => s.to_owned(),
            Err(_) => self.git("signature", Signature::now(device, &format!("{device}@dotback")))?,
        };
        let Some(when) = std::env::var("GIT_COMMITTER_DATE").ok().as_deref().and_then(env_date) else {
            return Ok(sig);
        };
        let (name, email) = (sig.name().unwrap_or(device), sig.email().unwrap_or_default());
        self.git("signature", Signature::new(name, email, &when))
    }

    /// Stages every change in the work tree (additions, edits, deletions).
    pub fn stage_all(&self) -> Result<(), StoreError> {
        let mut index = self.git("index", self.repo.index())?;
        self.git("add", index.add_all(["*"], IndexAddOption::DEFAULT, None))?;
        self.git("add", index.update_all(["*"], None))?;
        self.git("write index", index.write())
    }

    /// Commits what is staged. `Ok(None)` when it equals HEAD.
    pub fn commit_staged(&self, device: &str, message: &str) -> Result<Option<git2::Oid>, StoreError> {
        let mut index = self.git("index", self.repo.index())?;
        let tree_id = self.git("write tree", index.write_tree())?;
        let parent = match self.repo.head() {
            Ok(h) => Some(self.git("head", h.peel_to_commit())?),
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch => None,
            Err(e) => return Err(self.git::<()>("head", Err(e)).unwrap_err()),
        };
        if parent.as_ref().is_some_and(|p| p.tree_id() == tree_id) {
            return Ok(None);
        }
        let tree = self.git("find tree", self.repo.find_tree(tree_id))?;
        let sig = self.signature(device)?;
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        let id = self.git("commit", self.repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents))?;
        // Writing the tree cached it in the index: kept, a later status knows from it alone
        // that nothing is staged (see `snapshot`). Only a memo, so the commit stands without it.
        let _ = index.write();
        Ok(Some(id))
    }

    /// Stages `paths` alone, each as it is in the work tree (added, changed or deleted).
    pub fn stage_paths(&self, paths: &[String]) -> Result<(), StoreError> {
        let mut index = self.git("index", self.repo.index())?;
        for p in paths {
            let rel = Path::new(p);
            if self.root.join(rel).is_file() {
                self.git("add", index.add_path(rel))?;
            } else {
                self.git("remove", index.remove_path(rel))?;
            }
        }
        self.git("write index", index.write())
    }

    /// When a commit was made (its committer time, seconds since the epoch).
    pub fn commit_time(&self, commit: git2::Oid) -> Result<i64, StoreError> {
        Ok(self.git("read commit", self.repo.find_commit(commit))?.time().seconds())
    }

    /// Stages everything and commits it. `Ok(None)` when nothing changed.
    pub fn commit_all(&self, device: &str, message: &str) -> Result<Option<git2::Oid>, StoreError> {
        self.stage_all()?;
        self.commit_staged(device, message)
    }

    /// Where the branch and the index are now, for [`Store::rewind`].
    pub fn mark(&self) -> Result<Mark, StoreError> {
        let index = self.repo.path().join("index");
        let index = match std::fs::read(&index) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(PathError::new(Op::Read, &index, source).into()),
        };
        Ok(Mark { head: self.head_commit()?, index })
    }

    /// Puts the branch and the index back where `mark` found them, leaving the work tree alone:
    /// undoes the commits of an operation that failed later on.
    pub fn rewind(&self, mark: Mark) -> Result<(), StoreError> {
        let branch = format!("refs/heads/{}", self.branch()?);
        match mark.head {
            Some(id) => {
                self.git("move the branch back", self.repo.reference(&branch, id, true, "dotback: undo"))?;
            }
            None => {
                if let Ok(mut r) = self.repo.find_reference(&branch) {
                    self.git("remove the branch", r.delete())?;
                }
            }
        }
        let index = self.repo.path().join("index");
        let restored = match mark.index {
            Some(bytes) => crate::fsutil::write_atomic(&index, &bytes, 0o644),
            None => std::fs::remove_file(&index).or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            }),
        };
        Ok(restored.context(Op::Write, &index)?)
    }

    /// Files staged for the next commit whose content differs from HEAD: path and blob id.
    pub fn staged_files(&self) -> Result<Vec<(String, git2::Oid)>, StoreError> {
        let index = self.git("index", self.repo.index())?;
        let head = match self.repo.head().and_then(|h| h.peel_to_tree()) {
            Ok(tree) => self.tree_entries(&tree)?,
            Err(_) => HashMap::new(),
        };
        let mut out = Vec::new();
        for e in index.iter() {
            let path = String::from_utf8_lossy(&e.path).into_owned();
            let is_file = matches!(e.mode, 0o100644 | 0o100755);
            if is_file && head.get(&path).map(|h| h.0) != Some(e.id) {
                out.push((path, e.id));
            }
        }
        Ok(out)
    }

    /// The store's remotes: name and URL, in git's order.
    pub fn remotes(&self) -> Result<Vec<(String, String)>, StoreError> {
        let names = self.git("list remotes", self.repo.remotes())?;
        let mut out = Vec::new();
        for name in names.iter().flatten().flatten() {
            let remote = self.git("read remote", self.repo.find_remote(name))?;
            out.push((name.to_string(), remote.url().unwrap_or("").to_string()));
        }
        Ok(out)
    }

    /// Adds a git remote. A name already in use is an error, never an overwrite.
    pub fn add_remote(&self, name: &str, url: &str) -> Result<(), StoreError> {
        self.git("add remote", self.repo.remote(name, url)).map(|_| ())
    }

    /// Removes a git remote (its remote-tracking refs go with it).
    pub fn remove_remote(&self, name: &str) -> Result<(), StoreError> {
        self.git("remove remote", self.repo.remote_delete(name))?;
        if let Ok(mut r) = self.repo.find_reference(&seen_ref(name)) {
            self.git("forget what the remote had", r.delete())?;
        }
        Ok(())
    }

    /// The current branch's name (`main` for stores dotback created).
    pub fn branch(&self) -> Result<String, StoreError> {
        let head = self.git("head", self.repo.find_reference("HEAD"))?;
        let target = head.symbolic_target().ok().flatten().unwrap_or("refs/heads/main");
        Ok(target.strip_prefix("refs/heads/").unwrap_or(target).to_string())
    }

    /// A git operation left half-done in the store (a merge with conflicts, a rebase, a
    /// detached HEAD): dotback must not capture, commit or apply over it.
    pub fn unfinished(&self) -> Option<String> {
        use git2::RepositoryState as S;
        let what = match self.repo.state() {
            S::Clean => None,
            S::Merge => Some("a merge"),
            S::Revert | S::RevertSequence => Some("a revert"),
            S::CherryPick | S::CherryPickSequence => Some("a cherry-pick"),
            S::Bisect => Some("a bisect"),
            S::Rebase | S::RebaseInteractive | S::RebaseMerge => Some("a rebase"),
            S::ApplyMailbox | S::ApplyMailboxOrRebase => Some("a `git am`"),
        };
        if let Some(what) = what {
            return Some(format!("{what} is in progress"));
        }
        if self.repo.head_detached().unwrap_or(false) {
            return Some("HEAD is detached (not on a branch)".into());
        }
        let conflicted = match index::Index::read(&self.repo.path().join("index")) {
            Ok(Some(index)) => index.entries.iter().any(|e| e.stage() != 0),
            _ => self.repo.index().is_ok_and(|i| i.has_conflicts()),
        };
        if conflicted {
            return Some("the index has unresolved conflicts".into());
        }
        None
    }

    /// The commit HEAD points at, if any.
    pub fn head_commit(&self) -> Result<Option<git2::Oid>, StoreError> {
        match self.repo.head() {
            Ok(h) => Ok(h.target()),
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch => Ok(None),
            Err(e) => Err(self.git::<()>("head", Err(e)).unwrap_err()),
        }
    }

    /// The commit `remote`'s branch was at when a sync last accepted it (merged what it had, or
    /// pushed to it), kept in dotback's own ref so a plain `git fetch` cannot move it. Falls
    /// back to the remote-tracking ref for stores synced before that ref existed.
    pub fn seen(&self, remote: &str) -> Option<git2::Oid> {
        self.repo.refname_to_id(&seen_ref(remote)).ok().or_else(|| {
            let branch = self.branch().ok()?;
            self.repo.refname_to_id(&format!("refs/remotes/{remote}/{branch}")).ok()
        })
    }

    /// Records that `remote`'s branch is at `id`, as far as this store is concerned.
    pub fn set_seen(&self, remote: &str, id: git2::Oid) -> Result<(), StoreError> {
        self.git("record the remote's commit", self.repo.reference(&seen_ref(remote), id, true, "dotback sync"))?;
        Ok(())
    }

    /// Forgets a fetch whose commit this store refused: what `remote` was seen at stays `before`
    /// (the remote-tracking ref [`Store::seen`] falls back to now holds the refused commit), and
    /// a remote never seen before has no remote-tracking ref again.
    pub fn refused_fetch(&self, remote: &str, before: Option<git2::Oid>) -> Result<(), StoreError> {
        if let Some(id) = before {
            return self.set_seen(remote, id);
        }
        let tracking = format!("refs/remotes/{remote}/{}", self.branch()?);
        if let Ok(mut r) = self.repo.find_reference(&tracking) {
            self.git("forget the refused commit", r.delete())?;
        }
        Ok(())
    }

    /// Fetches the current branch of `remote` into `refs/remotes/<remote>/<branch>`; returns the
    /// fetched commit (`None` when the remote does not have the branch yet).
    pub fn fetch(&self, remote: &str) -> Result<Option<git2::Oid>, TransportError> {
        let branch = self.branch().map_err(|e| self.local("read the branch", e))?;
        let r = self.find_remote(remote)?;
        let url = r.url().unwrap_or_default().to_string();
        let tracking = format!("refs/remotes/{remote}/{branch}");
        let spec = format!("+refs/heads/{branch}:{tracking}");
        let session = transport::Session::new(&self.repo, &url);
        if let Some(remote) = local_repository(&url) {
            return self
                .fetch_local(&remote, &branch, &tracking)
                .map_err(|e| self.transport_error(&session, &url, e, Direction::Fetch));
        }
        self.https_roots(session.url())?;
        let mut r = self.connect_as(r, &session)?;
        let mut opts = git2::FetchOptions::new();
        opts.remote_callbacks(session.callbacks());
        // A branch the remote no longer has leaves no remote-tracking ref behind: what is not
        // there cannot be replaced, and a push compares with what is there.
        opts.prune(git2::FetchPrune::On);
        r.fetch(&[spec.as_str()], Some(&mut opts), None)
            .map_err(|e| self.transport_error(&session, &url, e, Direction::Fetch))?;
        match self.repo.refname_to_id(&tracking) {
            Ok(id) => Ok(Some(id)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.local("read the fetched commit", e)),
        }
    }

    /// [`Store::fetch`] from the repository `remote` on this machine: what libgit2's local
    /// transport does, with the pack handed to the indexer in large pieces. (libgit2 hands it
    /// over an object at a time, and its indexer unmaps every window it has at each piece: for
    /// 10,000 small files that was most of a clone.) The packer reads the remote's objects and
    /// the indexer computes each id again from what it receives, as in a fetch over the wire.
    fn fetch_local(&self, remote: &Repository, branch: &str, tracking: &str) -> Result<Option<git2::Oid>, git2::Error> {
        let tip = match remote.refname_to_id(&format!("refs/heads/{branch}")) {
            Ok(id) => id,
            // The branch is gone there: so is what this store knew of it (a fetch that prunes).
            Err(e) if e.code() == git2::ErrorCode::NotFound => {
                match self.repo.find_reference(tracking) {
                    Ok(mut r) => r.delete()?,
                    Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                    Err(e) => return Err(e),
                }
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let mut walk = remote.revwalk()?;
        walk.push(tip)?;
        // What a ref here names and the remote has is not sent again (a ref here may name what
        // the remote never had, or no commit at all: that hides nothing).
        let remote_odb = remote.odb()?;
        for r in self.repo.references()?.flatten() {
            if let Some(id) = r.target().filter(|id| remote_odb.exists(*id)) {
                let _ = walk.hide(id);
            }
        }
        let mut pack = remote.packbuilder()?;
        pack.set_threads(0);
        pack.insert_walk(&mut walk)?;
        if pack.object_count() > 0 {
            copy_pack(&mut pack, &self.repo.odb()?)?;
        }
        self.repo.reference(tracking, tip, true, "fetch (dotback)")?;
        Ok(Some(tip))
    }

    /// The branch `remote` points its HEAD at (its default branch), asked over the connection;
    /// `None` for an empty remote.
    pub fn remote_default_branch(&self, remote: &str) -> Result<Option<String>, TransportError> {
        let (head, heads) = self.list_remote(remote)?;
        let names: Vec<&str> = heads.iter().map(|(n, _)| n.as_str()).collect();
        // A remote without a HEAD (some servers) still has branches: `main`, else `master`.
        let chosen = head.filter(|h| names.contains(&h.as_str())).or_else(|| {
            ["refs/heads/main", "refs/heads/master"].into_iter().find(|b| names.contains(b)).map(String::from)
        });
        Ok(chosen.and_then(|b| b.strip_prefix("refs/heads/").map(str::to_string)))
    }

    /// Where `remote`'s branch is now, asked over the connection without fetching anything (the
    /// watcher's poll); `None` when the remote does not have the branch.
    pub fn remote_tip(&self, remote: &str) -> Result<Option<git2::Oid>, TransportError> {
        let branch = self.branch().map_err(|e| self.local("read the branch", e))?;
        let wanted = format!("refs/heads/{branch}");
        let (_, heads) = self.list_remote(remote)?;
        Ok(heads.into_iter().find(|(n, _)| *n == wanted).map(|(_, id)| id))
    }

    /// `remote`'s HEAD (the branch it names) and refs, from a connection that fetches nothing.
    fn list_remote(&self, remote: &str) -> Result<(Option<String>, RemoteRefs), TransportError> {
        let r = self.find_remote(remote)?;
        let url = r.url().unwrap_or_default().to_string();
        let session = transport::Session::new(&self.repo, &url);
        self.https_roots(session.url())?;
        let mut r = self.connect_as(r, &session)?;
        let conn = r
            .connect_auth(git2::Direction::Fetch, Some(session.callbacks()), None)
            .map_err(|e| self.transport_error(&session, &url, e, Direction::Fetch))?;
        let head = conn.default_branch().ok().and_then(|b| b.as_str().ok().map(str::to_string));
        let heads = conn.list().map_err(|e| self.transport_error(&session, &url, e, Direction::Fetch))?;
        Ok((head, heads.iter().map(|h| (h.name().to_string(), h.oid())).collect()))
    }

    /// Makes `branch` the current branch (a new repository, before its first checkout).
    pub fn set_branch(&self, branch: &str) -> Result<(), StoreError> {
        self.git("set the branch", self.repo.set_head(&format!("refs/heads/{branch}")))
    }

    /// Loads the https trust roots before the first https connection (see [`crate::tls`]).
    fn https_roots(&self, url: &str) -> Result<(), TransportError> {
        let https = url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"));
        if https {
            crate::tls::load_roots().map_err(|e| self.local("load the system's certificate authorities", e))?;
        }
        Ok(())
    }

    fn find_remote(&self, remote: &str) -> Result<git2::Remote<'_>, TransportError> {
        self.repo.find_remote(remote).map_err(|e| self.local("read the remote's settings", e))
    }

    /// The remote to talk through: `r` itself, or, when the session resolved an ssh host alias,
    /// one for the URL it stands for (kept in memory; the store's config keeps the alias).
    fn connect_as<'r>(
        &'r self,
        r: git2::Remote<'r>,
        session: &transport::Session,
    ) -> Result<git2::Remote<'r>, TransportError> {
        if r.url().ok() == Some(session.url()) {
            return Ok(r);
        }
        self.repo.remote_anonymous(session.url()).map_err(|e| self.local("set up the connection", e))
    }

    /// A failure of this store's own repository during a fetch or push.
    fn local(&self, what: &'static str, e: impl std::error::Error + Send + Sync + 'static) -> TransportError {
        TransportError::Local { what, store: self.root.clone(), source: Box::new(e) }
    }

    /// Sorts a failed fetch or push: an object missing here is this store's problem, whatever
    /// libgit2's error class says (it reads like a missing remote); the rest is the remote's.
    fn transport_error(
        &self,
        session: &transport::Session,
        url: &str,
        e: git2::Error,
        direction: Direction,
    ) -> TransportError {
        let missing = |repo: &Repository, id| repo.odb().is_ok_and(|odb| !odb.exists(id));
        let id = (e.class() == git2::ErrorClass::Odb || e.message().contains("object not found"))
            .then(|| object_id_in(e.message()))
            .flatten();
        if let Some(id) = id.filter(|id| missing(&self.repo, *id)) {
            // A fetch from a local remote that lacks the object too: that copy is the damaged one.
            let remote_lacks = direction == Direction::Fetch
                && transport::local_path(url)
                    .and_then(|p| Repository::open_bare(p).ok())
                    .is_some_and(|remote| missing(&remote, id));
            if !remote_lacks {
                return TransportError::MissingObject { store: self.root.clone(), id };
            }
        }
        session.classify(url, e)
    }

    /// Pushes the current branch to `remote`. A rejected update (the remote moved on, or its
    /// history was rewritten) is an error; nothing is ever force-pushed.
    pub fn push(&self, remote: &str) -> Result<(), TransportError> {
        let branch = self.branch().map_err(|e| self.local("read the branch", e))?;
        let r = self.find_remote(remote)?;
        let url = r.url().unwrap_or_default().to_string();
        let rejected = std::cell::RefCell::new(None);
        let session = transport::Session::new(&self.repo, &url);
        self.https_roots(session.url())?;
        let mut r = self.connect_as(r, &session)?;
        let by_alias = session.url() != url;
        let mut cb = session.callbacks();
        cb.push_update_reference(|refname, status| {
            if let Some(msg) = status {
                *rejected.borrow_mut() = Some(format!("{refname}: {msg}"));
            }
            Ok(())
        });
        let mut opts = git2::PushOptions::new();
        opts.remote_callbacks(cb);
        let spec = format!("refs/heads/{branch}:refs/heads/{branch}");
        // A push killed while it holds a local remote's branch lock leaves the lock; the journal
        // lets the next run know it as its own (see `recover`).
        let head = self.head_commit().map_err(|e| self.local("read the branch", e))?;
        let refname = format!("refs/heads/{branch}");
        let tracking = format!("refs/remotes/{remote}/{branch}");
        let _journal = crate::recover::PushJournal::start(self.repo.path(), remote, &refname, head)
            .map_err(|e| self.local("record the push in a journal", e))?;
        // A local bare repository gets the compare-and-swap push; anything else at a local path
        // goes to libgit2, which refuses it with the error that names what it is.
        let target = transport::local_path(&url).zip(local_repository(&url)).filter(|(_, r)| r.is_bare());
        if let (Some((path, target)), Some(head)) = (target, head) {
            // What this store last fetched from the remote: the only value the push replaces.
            let expected = self.repo.refname_to_id(&tracking).ok();
            self.push_local(&path, &target, &refname, head, expected)
                .map_err(|e| e.unwrap_or_else(|e| self.transport_error(&session, &url, e, Direction::Push)))?;
            return self
                .repo
                .reference(&tracking, head, true, "dotback push")
                .map(drop)
                .map_err(|e| self.local("record what the remote has", e));
        }
        r.push(&[spec.as_str()], Some(&mut opts)).map_err(|e| match e.code() {
            // libgit2's own check: the remote's branch holds commits this store has not merged.
            git2::ErrorCode::NotFastForward => {
                TransportError::Moved { url: transport::redact(&url), said: e.message().trim().to_string() }
            }
            _ => self.transport_error(&session, &url, e, Direction::Push),
        })?;
        drop(opts);
        if let Some(why) = rejected.take() {
            // The server's check under its lock: another push landed since this one connected.
            if transport::is_lost_race(&why) {
                return Err(TransportError::Moved { url: transport::redact(&url), said: why });
            }
            return Err(TransportError::Refused { message: format!("the remote rejected the update ({why})") });
        }
        // libgit2 moves the remote-tracking ref after a push through the named remote only.
        if by_alias && let Some(head) = head {
            self.repo
                .reference(&tracking, head, true, "dotback push")
                .map_err(|e| self.local("record what the remote has", e))?;
        }
        Ok(())
    }

    /// Pushes `head` to the branch `refname` of the bare repository `target` on this machine,
    /// replacing only `expected` (none: the branch must not exist). The objects go first, as
    /// one pack the remote indexes (and so verifies); then the branch moves by compare-and-swap
    /// under the remote's ref lock, the lock git itself takes. When the branch holds anything
    /// else by then, another device pushed first: [`TransportError::Moved`], and the remote
    /// keeps its commits (the objects sent are unreferenced until a later push names them).
    fn push_local(
        &self,
        path: &Path,
        target: &Repository,
        refname: &str,
        head: git2::Oid,
        expected: Option<git2::Oid>,
    ) -> Result<(), Result<TransportError, git2::Error>> {
        let moved = || Ok(TransportError::Moved { url: path.display().to_string(), said: String::new() });
        let refused = |what: &str, e: git2::Error| {
            Ok(TransportError::Refused {
                message: format!("{} could not {what}: {}", path.display(), e.message().trim()),
            })
        };
        let current = match target.refname_to_id(refname) {
            Ok(id) => Some(id),
            Err(e) if e.code() == git2::ErrorCode::NotFound => None,
            Err(e) => return Err(refused("read its branch", e)),
        };
        if current != expected {
            return Err(moved());
        }
        if current == Some(head) {
            return Ok(());
        }
        if let Some(old) = expected
            && !self.contains(head, old).map_err(|e| Ok(self.local("compare with the remote", e)))?
        {
            return Err(moved()); // not merged here: never replaced
        }
        let send = || -> Result<(), git2::Error> {
            let mut walk = self.repo.revwalk()?;
            walk.push(head)?;
            if let Some(old) = expected {
                walk.hide(old)?;
            }
            let mut pack = self.repo.packbuilder()?;
            pack.insert_walk(&mut walk)?;
            if pack.object_count() == 0 {
                return Ok(());
            }
            copy_pack(&mut pack, &target.odb()?)
        };
        // A failure to pack is this store's (an object missing here, say): sorted by the caller.
        send().map_err(Err)?;
        crate::testing::pause("push-before-ref-update");
        // The pack is on the remote's disk before any ref names it.
        let durable = |what: &str| {
            crate::fsutil::sync_fs(path).map_err(|e| {
                Ok(TransportError::Refused { message: format!("{} could not {what}: {e}", path.display()) })
            })
        };
        durable("store the commits durably")?;
        // Compare-and-swap under the remote's ref lock: a zero old value means "must not exist",
        // checked under the lock too.
        let old = expected.unwrap_or(git2::Oid::ZERO_SHA1);
        match target.reference_matching(refname, head, true, old, "push (dotback)") {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.code(),
                    git2::ErrorCode::Modified | git2::ErrorCode::Exists | git2::ErrorCode::NotFound
                ) =>
            {
                return Err(moved());
            }
            Err(e) if e.code() == git2::ErrorCode::Locked => {
                let lock = target.path().join(format!("{refname}.lock"));
                return Err(Ok(TransportError::BranchLocked { url: path.display().to_string(), lock }));
            }
            Err(e) => return Err(refused("update its branch", e)),
        }
        durable("record its branch durably")
    }

    /// `ancestor` is reachable from `commit` (or equal to it).
    pub fn contains(&self, commit: git2::Oid, ancestor: git2::Oid) -> Result<bool, StoreError> {
        Ok(commit == ancestor || self.git("ancestry", self.repo.graph_descendant_of(commit, ancestor))?)
    }

    pub fn merge_base(&self, a: git2::Oid, b: git2::Oid) -> Result<Option<git2::Oid>, StoreError> {
        match self.repo.merge_base(a, b) {
            Ok(id) => Ok(Some(id)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.git::<()>("merge base", Err(e)).unwrap_err()),
        }
    }

    /// Every blob of a commit's tree: path -> (blob id, file mode).
    pub fn commit_files(&self, commit: git2::Oid) -> Result<HashMap<String, (git2::Oid, u32)>, StoreError> {
        let tree = self.git("read commit", self.repo.find_commit(commit).and_then(|c| c.tree()))?;
        self.tree_entries(&tree)
    }

    /// The content of the file at `path` in a commit's tree; `None` when there is none.
    pub fn file_at(&self, commit: git2::Oid, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let tree = self.git("read commit", self.repo.find_commit(commit).and_then(|c| c.tree()))?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(e) => e,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(self.git::<()>("read tree", Err(e)).unwrap_err()),
        };
        if entry.kind() != Some(git2::ObjectType::Blob) {
            return Ok(None);
        }
        self.blob(entry.id()).map(Some)
    }

    /// A commit's parents.
    pub fn parents(&self, commit: git2::Oid) -> Result<Vec<git2::Oid>, StoreError> {
        let c = self.git("read commit", self.repo.find_commit(commit))?;
        Ok(c.parent_ids().collect())
    }

    /// The commits reachable from HEAD, newest first (at most `limit`).
    pub fn history(&self, limit: usize) -> Result<Vec<git2::Oid>, StoreError> {
        let Some(head) = self.head_commit()? else { return Ok(Vec::new()) };
        let mut walk = self.git("revwalk", self.repo.revwalk())?;
        self.git("revwalk", walk.push(head))?;
        self.git("revwalk", walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME))?;
        walk.take(limit).map(|id| self.git("revwalk", id)).collect()
    }

    /// The newest commit reachable from HEAD that changed any of `paths` (looking at most at
    /// the last 10,000 commits).
    pub fn last_change(&self, paths: &[&str]) -> Result<Option<git2::Oid>, StoreError> {
        let Some(head) = self.head_commit()? else { return Ok(None) };
        let mut walk = self.git("revwalk", self.repo.revwalk())?;
        self.git("revwalk", walk.push(head))?;
        self.git("revwalk", walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME))?;
        let id_at = |tree: &git2::Tree, p: &str| tree.get_path(Path::new(p)).ok().map(|e| e.id());
        for id in walk.take(10_000) {
            let id = self.git("revwalk", id)?;
            let c = self.git("read commit", self.repo.find_commit(id))?;
            let tree = self.git("read tree", c.tree())?;
            let parents: Vec<git2::Tree> = c.parents().filter_map(|p| p.tree().ok()).collect();
            let changed = |p: &&str| {
                let mine = id_at(&tree, p);
                if parents.is_empty() { mine.is_some() } else { parents.iter().all(|t| id_at(t, p) != mine) }
            };
            if paths.iter().any(changed) {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// The commits reachable from `from` but not from `without`, newest first (at most `limit`).
    pub fn only_in(&self, from: git2::Oid, without: git2::Oid, limit: usize) -> Result<Vec<git2::Oid>, StoreError> {
        let mut walk = self.git("revwalk", self.repo.revwalk())?;
        self.git("revwalk", walk.push(from))?;
        self.git("revwalk", walk.hide(without))?;
        self.git("revwalk", walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME))?;
        walk.take(limit).map(|id| self.git("revwalk", id)).collect()
    }

    /// Who made a commit and when (committer time, seconds since the epoch), and its message.
    pub fn commit_info(&self, commit: git2::Oid) -> Result<CommitInfo, StoreError> {
        let c = self.git("read commit", self.repo.find_commit(commit))?;
        Ok(CommitInfo {
            time: c.time().seconds(),
            author: String::from_utf8_lossy(c.author().name_bytes()).into_owned(),
            message: String::from_utf8_lossy(c.message_bytes()).into_owned(),
        })
    }

    /// The full message of a commit.
    pub fn commit_message(&self, commit: git2::Oid) -> Result<String, StoreError> {
        let c = self.git("read commit", self.repo.find_commit(commit))?;
        Ok(String::from_utf8_lossy(c.message_bytes()).into_owned())
    }

    pub fn write_blob(&self, data: &[u8]) -> Result<git2::Oid, StoreError> {
        self.git("write blob", self.repo.blob(data))
    }

    /// Commits the tree made of `files` with `parents`, moves the current branch to it and
    /// makes the work tree match. The work tree must have no uncommitted changes.
    pub fn commit_files_and_checkout(
        &self,
        device: &str,
        files: &HashMap<String, (git2::Oid, u32)>,
        parents: &[git2::Oid],
        message: &str,
    ) -> Result<git2::Oid, StoreError> {
        let mut index = self.git("index", git2::Index::new())?;
        for (path, (id, mode)) in files {
            let entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: *mode,
                uid: 0,
                gid: 0,
                file_size: 0,
                id: *id,
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            self.git("build tree", index.add(&entry))?;
        }
        let tree_id = self.git("write tree", index.write_tree_to(&self.repo))?;
        let tree = self.git("find tree", self.repo.find_tree(tree_id))?;
        let sig = self.signature(device)?;
        let parents: Vec<git2::Commit> =
            parents.iter().map(|p| self.git("parent", self.repo.find_commit(*p))).collect::<Result<_, _>>()?;
        let refs: Vec<&git2::Commit> = parents.iter().collect();
        let id = self.git("commit", self.repo.commit(None, &sig, &sig, message, &tree, &refs))?;
        self.checkout(id)?;
        Ok(id)
    }

    /// Moves the current branch to `commit` and makes the work tree and index match it.
    pub fn checkout(&self, commit: git2::Oid) -> Result<(), StoreError> {
        let obj = self.git("find commit", self.repo.find_object(commit, Some(git2::ObjectType::Commit)))?;
        // libgit2 rewrites work-tree files in place: a run killed meanwhile leaves a journal for
        // the next one to finish the checkout (see `recover`).
        let journal =
            crate::recover::CheckoutJournal::start(self.repo.path(), self.head_commit()?, commit).map_err(|e| {
                StoreError::Git {
                    what: "checkout",
                    path: self.root.clone(),
                    source: git2::Error::from_str(&e.to_string()),
                }
            })?;
        // Only the paths that differ between HEAD and `commit` (the work tree is committed
        // before a sync merges), so moving by 100 files does not stat 10,000.
        let changed = match self.head_commit()? {
            Some(head) => Some(self.changed_paths(head, commit)?),
            None => None,
        };
        if changed.as_ref().is_none_or(|c| !c.is_empty()) {
            let mut co = git2::build::CheckoutBuilder::new();
            co.force();
            // A first checkout (a new clone: no work-tree file yet, so none untracked) with no
            // attributes anywhere and no line-ending conversion runs no filter, and looking up
            // each directory's attributes is a third of a 10,000-file checkout.
            if changed.is_none() && !self.may_filter(&obj)? {
                co.disable_filters(true);
            }
            if let Some(paths) = &changed {
                co.disable_pathspec_match(true);
                for p in paths {
                    co.path(p.clone());
                }
            }
            self.git("checkout", self.repo.checkout_tree(&obj, Some(&mut co)))?;
        }
        let branch = self.branch()?;
        self.git("move branch", self.repo.reference(&format!("refs/heads/{branch}"), commit, true, "dotback sync"))?;
        journal.done();
        Ok(())
    }

    /// Whether checking out `commit` could run a filter: an attributes file in its tree, in
    /// the git dir, the user's or the system's, or a line-ending conversion in the config.
    fn may_filter(&self, commit: &git2::Object) -> Result<bool, StoreError> {
        let config = self.git("read the config", self.repo.config())?;
        // Present and not plainly off (a key without a value is true to git).
        let set = |key: &str| {
            config.get_entry(key).is_ok_and(|e| {
                !e.has_value()
                    || !["false", "no", "off", "0"]
                        .iter()
                        .any(|off| e.value_bytes().eq_ignore_ascii_case(off.as_bytes()))
            })
        };
        if set("core.autocrlf") || set("core.eol") || set("core.attributesFile") {
            return Ok(true);
        }
        // Where libgit2 itself looks for the user's attributes (it reads the same environment).
        let user = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
            Some(x) => Some(PathBuf::from(x).join("git/attributes")),
            None => dirs::home_dir().map(|h| h.join(".config/git/attributes")),
        };
        let files = [Some(self.repo.path().join("info/attributes")), user, Some("/etc/gitattributes".into())];
        if files.iter().flatten().any(|f| f.symlink_metadata().is_ok()) {
            return Ok(true);
        }
        let tree = self.git("tree", commit.peel_to_tree())?;
        let mut found = false;
        self.git(
            "walk the tree",
            tree.walk(git2::TreeWalkMode::PreOrder, |_, e| {
                if e.name_bytes().eq_ignore_ascii_case(b".gitattributes") {
                    found = true;
                    return git2::TreeWalkResult::Abort;
                }
                git2::TreeWalkResult::Ok
            }),
        )
        .or_else(|e| if found { Ok(()) } else { Err(e) })?;
        Ok(found)
    }

    /// Paths whose blob or mode differs between the trees of commits `a` and `b` (both sides of
    /// a rename), from a tree-to-tree diff that skips unchanged subtrees.
    fn changed_paths(&self, a: git2::Oid, b: git2::Oid) -> Result<Vec<Vec<u8>>, StoreError> {
        let tree = |c| self.git("find commit", self.repo.find_commit(c)).and_then(|c| self.git("tree", c.tree()));
        let (ta, tb) = (tree(a)?, tree(b)?);
        let diff = self.git("diff trees", self.repo.diff_tree_to_tree(Some(&ta), Some(&tb), None))?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for d in diff.deltas() {
            for f in [d.old_file(), d.new_file()] {
                if let Some(p) = f.path_bytes()
                    && seen.insert(p.to_vec())
                {
                    out.push(p.to_vec());
                }
            }
        }
        Ok(out)
    }

    /// Per remote: commits here not on its branch (as last seen by fetch or push), commits
    /// there not here, and when the oldest unpushed commit was made.
    pub fn remote_state(&self) -> Result<Vec<RemoteState>, StoreError> {
        let branch = self.branch()?;
        let head = self.head_commit()?;
        let mut out = Vec::new();
        for (name, _) in self.remotes()? {
            let tracking = self.repo.refname_to_id(&format!("refs/remotes/{name}/{branch}")).ok();
            let (ahead, behind, since) = match (head, tracking) {
                // Nothing to walk (the usual case): no commit is read.
                (Some(h), Some(t)) if h == t => (0, 0, None),
                (Some(h), Some(t)) => {
                    let (a, b) = self.git("ahead/behind", self.repo.graph_ahead_behind(h, t))?;
                    (a, b, self.oldest_unpushed(h, Some(t))?)
                }
                (Some(h), None) => {
                    let mut walk = self.git("log", self.repo.revwalk())?;
                    self.git("log", walk.push(h))?;
                    (walk.count(), 0, self.oldest_unpushed(h, None)?)
                }
                (None, _) => (0, 0, None),
            };
            out.push(RemoteState { name, ahead, behind, unpushed_since: since, seen: tracking.is_some() });
        }
        Ok(out)
    }

    /// Commit time (seconds since the epoch) of the oldest commit reachable from `head` and not
    /// from `tracking`.
    fn oldest_unpushed(&self, head: git2::Oid, tracking: Option<git2::Oid>) -> Result<Option<i64>, StoreError> {
        let mut walk = self.git("log", self.repo.revwalk())?;
        self.git("log", walk.push(head))?;
        if let Some(t) = tracking {
            self.git("log", walk.hide(t))?;
        }
        let mut oldest = None;
        for id in walk.flatten() {
            let when = self.git("read commit", self.repo.find_commit(id))?.time().seconds();
            oldest = Some(oldest.map_or(when, |o: i64| o.min(when)));
        }
        Ok(oldest)
    }

    /// The content of a blob.
    pub fn blob(&self, id: git2::Oid) -> Result<Vec<u8>, StoreError> {
        let blob = self.git("read blob", self.repo.find_blob(id))?;
        Ok(blob.content().to_vec())
    }

    /// The id of a commit's root tree.
    pub fn commit_tree(&self, commit: git2::Oid) -> Result<git2::Oid, StoreError> {
        Ok(self.git("read commit", self.repo.find_commit(commit))?.tree_id())
    }

    /// The entries of one tree, in git's order.
    pub fn tree_items(&self, tree: git2::Oid) -> Result<Vec<TreeItem>, StoreError> {
        let tree = self.git("read tree", self.repo.find_tree(tree))?;
        Ok(tree
            .iter()
            .map(|e| TreeItem { name: e.name_bytes().to_vec(), id: e.id(), mode: e.filemode() as u32 })
            .collect())
    }

    /// A second handle on the same repository (one per thread: a handle is not shared).
    pub fn reopen(&self) -> Result<Store, StoreError> {
        let repo = self.git("open", Repository::open(self.repo.path()))?;
        Ok(Store { repo, root: self.root.clone() })
    }

    /// Whether git ignores the work-tree file `rel` and does not track it (so no commit takes it).
    pub fn ignores(&self, rel: &str) -> bool {
        matches!(self.repo.status_file(Path::new(rel)), Ok(s) if s.contains(git2::Status::IGNORED))
    }

    /// Paths whose work-tree or index state differs from HEAD.
    pub fn uncommitted(&self) -> Result<Vec<Uncommitted>, StoreError> {
        self.uncommitted_matching(None)
    }

    /// [`Store::uncommitted`] for `paths` only (store paths; a directory stands for everything
    /// below it): only they are looked at, not the whole work tree.
    pub fn uncommitted_at(&self, paths: &[String]) -> Result<Vec<Uncommitted>, StoreError> {
        self.uncommitted_matching(Some(paths))
    }

    fn uncommitted_matching(&self, paths: Option<&[String]>) -> Result<Vec<Uncommitted>, StoreError> {
        let mut opts = StatusOptions::new();
        opts.include_untracked(true).recurse_untracked_dirs(true).exclude_submodules(true);
        if let Some(paths) = paths {
            opts.disable_pathspec_match(true);
            for p in paths {
                opts.pathspec(p);
            }
        }
        let statuses = self.git("status", self.repo.statuses(Some(&mut opts)))?;
        let mut out = Vec::new();
        for s in statuses.iter() {
            let st = s.status();
            let change = if st.intersects(git2::Status::WT_NEW | git2::Status::INDEX_NEW) {
                "added"
            } else if st.intersects(git2::Status::WT_DELETED | git2::Status::INDEX_DELETED) {
                "deleted"
            } else if st.intersects(git2::Status::WT_RENAMED | git2::Status::INDEX_RENAMED) {
                "renamed"
            } else if st.is_ignored() {
                continue;
            } else {
                "modified"
            };
            let path = String::from_utf8_lossy(s.path_bytes()).into_owned();
            if !crate::audit::is_audit(&path) {
                out.push(Uncommitted { path, change });
            }
        }
        Ok(out)
    }

    /// Stages every change at or below `paths` (store paths), additions and deletions, looking
    /// at nothing else in the work tree.
    pub fn stage_at(&self, paths: &[String]) -> Result<(), StoreError> {
        let mut index = self.git("index", self.repo.index())?;
        self.git("add", index.add_all(paths, IndexAddOption::DISABLE_PATHSPEC_MATCH, None))?;
        self.git("add", index.update_all(paths, None))?;
        self.git("write index", index.write())
    }

    /// What [`Store::uncommitted_with`] needs from git: the index entries, and what is staged
    /// (the index against HEAD's tree). Independent of the work tree, so it can be read while
    /// the work tree is examined.
    pub fn snapshot(&self) -> Result<GitSnapshot, StoreError> {
        let file = self.repo.path().join("index");
        let index = match index::Index::read(&file) {
            Ok(Some(index)) => index,
            // A form the reader does not take, or an error libgit2 names better.
            Ok(None) | Err(_) => self.index_from_libgit2(&file)?,
        };
        let staged = self.staged_changes(&index)?;
        let filtered = self.repo.config().and_then(|c| c.get_bool("core.autocrlf")).unwrap_or(false);
        Ok(GitSnapshot { index, staged, filtered })
    }

    fn index_from_libgit2(&self, file: &Path) -> Result<index::Index, StoreError> {
        let index = self.git("index", self.repo.index())?;
        let mtime = std::fs::metadata(file).map(|m| (m.mtime(), m.mtime_nsec() as u32)).unwrap_or((i64::MAX, 0));
        Ok(index::Index::of_libgit2(&index, mtime))
    }

    /// The paths whose stage-0 index entry differs from HEAD's tree, with git's word for it.
    /// None when the index's cached tree is HEAD's (git keeps it at each commit).
    fn staged_changes(&self, index: &index::Index) -> Result<Vec<(String, &'static str)>, StoreError> {
        let head = self.repo.head().and_then(|h| h.peel_to_commit());
        if let (Some(cached), Ok(head)) = (index.tree, &head)
            && cached == head.tree_id()
        {
            return Ok(Vec::new());
        }
        let entries = &index.entries;
        let staged: FastMap<&[u8], (usize, git2::Oid, u32)> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.stage() == 0)
            .map(|(i, e)| (index.path(e), (i, e.id, e.mode)))
            .collect();
        let mut out = Vec::new();
        let mut in_head = vec![false; entries.len()];
        if let Ok(tree) = head.and_then(|c| c.tree()) {
            let mut path = Vec::new();
            self.git(
                "read tree",
                tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
                    if e.kind() == Some(git2::ObjectType::Tree) {
                        return git2::TreeWalkResult::Ok;
                    }
                    path.clear();
                    path.extend_from_slice(dir.as_bytes());
                    path.extend_from_slice(e.name_bytes());
                    let change = match staged.get(path.as_slice()) {
                        Some(&(i, id, mode)) => {
                            in_head[i] = true;
                            ((id, mode) != (e.id(), e.filemode() as u32)).then_some("modified")
                        }
                        None => Some("deleted"),
                    };
                    if let Some(change) = change {
                        out.push((String::from_utf8_lossy(&path).into_owned(), change));
                    }
                    git2::TreeWalkResult::Ok
                }),
            )?;
        }
        for &(i, _, _) in staged.values() {
            if !in_head[i] {
                out.push((String::from_utf8_lossy(index.path(&entries[i])).into_owned(), "added"));
            }
        }
        Ok(out)
    }

    /// The same answer as [`Store::uncommitted`], computed from a [`GitSnapshot`] and what the
    /// caller already knows instead of a second walk of the work tree: `files` lists every
    /// work-tree file, `observed` what the caller saw of some (their stat, and blob id when
    /// known). Files are compared by blob id where it is known, else by stat data as git does.
    /// Falls back to [`Store::uncommitted`] where content filters (`.gitattributes`,
    /// `core.autocrlf`) could make a blob differ from the file.
    pub fn uncommitted_with(
        &self,
        snap: &GitSnapshot,
        files: &[String],
        observed: &[(String, crate::state::Observed)],
    ) -> Result<Vec<Uncommitted>, StoreError> {
        if snap.filtered || files.iter().any(|f| f == ".gitattributes" || f.ends_with("/.gitattributes")) {
            return self.uncommitted();
        }
        let mut at: FastMap<&str, u32> = FastMap::with_capacity_and_hasher(files.len(), Default::default());
        for (i, f) in files.iter().enumerate() {
            at.insert(f, i as u32);
        }
        // What was seen of each file. The evaluation looked in the scan's order, the order of
        // `files`, so each is mostly the file after the one before.
        let mut seen: Vec<Option<&crate::state::Observed>> = vec![None; files.len()];
        let mut next = 0;
        for (path, o) in observed {
            let i = match files.get(next) {
                Some(f) if f == path => next,
                _ => match at.get(path.as_str()) {
                    Some(&i) => i as usize,
                    None => continue,
                },
            };
            seen[i] = Some(o);
            next = i + 1;
        }
        let index = &snap.index;
        let mut in_index = vec![false; files.len()];
        let mut listed: HashMap<String, &'static str> = HashMap::new();
        for entry in &index.entries {
            let bytes = index.path(entry);
            // A name that is not UTF-8 is no file the scan listed (it fails on one).
            let exact = std::str::from_utf8(bytes).ok();
            let on_disk = exact.and_then(|p| at.get(p)).map(|&i| i as usize);
            let path = exact.map_or_else(|| String::from_utf8_lossy(bytes), std::borrow::Cow::Borrowed);
            if let Some(i) = on_disk {
                in_index[i] = true;
            }
            if entry.mode == 0o160000 {
                continue; // submodules are not dotback's business
            }
            let change = if entry.stage() != 0 {
                "conflicted"
            } else if let Some(i) = on_disk {
                let modified = match seen[i] {
                    Some(crate::state::Observed { stat, blob: Some(id) }) => {
                        *id != entry.id || git_mode(stat.mode) != entry.mode
                    }
                    seen => self.differs_from_index(entry, &path, seen.map(|s| &s.stat), index.mtime)?,
                };
                if !modified {
                    continue;
                }
                "modified"
            } else {
                "deleted"
            };
            listed.insert(path.into_owned(), change);
        }
        for (f, _) in files.iter().zip(&in_index).filter(|(_, known)| !**known) {
            if !self.repo.status_should_ignore(Path::new(f)).unwrap_or(false) {
                listed.insert(f.clone(), "added");
            }
        }
        // What is staged counts where the work tree says nothing more.
        for (path, change) in &snap.staged {
            listed.entry(path.clone()).or_insert(change);
        }
        // The audit trail rides along with the next commit; alone it is not a change to commit.
        let mut out: Vec<Uncommitted> = listed
            .into_iter()
            .filter(|(path, _)| !crate::audit::is_audit(path))
            .map(|(path, change)| Uncommitted { path, change })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Every blob in `tree`, by path.
    fn tree_entries(&self, tree: &git2::Tree) -> Result<HashMap<String, (git2::Oid, u32)>, StoreError> {
        let mut out = HashMap::new();
        self.git(
            "read tree",
            tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
                if e.kind() != Some(git2::ObjectType::Tree) {
                    let name = String::from_utf8_lossy(e.name_bytes());
                    out.insert(format!("{dir}{name}"), (e.id(), e.filemode() as u32));
                }
                git2::TreeWalkResult::Ok
            }),
        )?;
        Ok(out)
    }

    /// git's own test: unchanged stat data (and not "racily clean") means unchanged; otherwise
    /// compare the content's blob id. `stat` is the file's, when the caller has it already.
    fn differs_from_index(
        &self,
        e: &index::Entry,
        path: &str,
        stat: Option<&crate::fsutil::StatKey>,
        index_mtime: (i64, u32),
    ) -> Result<bool, StoreError> {
        let full = || self.root.join(path);
        let io = |source: std::io::Error| StoreError::Git {
            what: "stat",
            path: full(),
            source: git2::Error::from_str(&source.to_string()),
        };
        let st = match stat {
            Some(st) => *st,
            None => crate::fsutil::StatKey::of(&std::fs::symlink_metadata(full()).map_err(io)?),
        };
        let link = st.mode & libc::S_IFMT == libc::S_IFLNK;
        let mode = if link { 0o120000 } else { git_mode(st.mode) };
        if mode != e.mode {
            return Ok(true);
        }
        let split = |ns: i64| (ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000) as u32);
        let mtime = split(st.mtime_ns);
        let stat_same = st.size as u32 == e.file_size
            && mtime == (i64::from(e.mtime.0), e.mtime.1)
            && split(st.ctime_ns) == (i64::from(e.ctime.0), e.ctime.1)
            && st.ino as u32 == e.ino;
        if stat_same && mtime < index_mtime {
            return Ok(false);
        }
        let id = if link {
            crate::fsutil::hash_bytes(&std::fs::read_link(full()).map_err(io)?.into_os_string().into_encoded_bytes())
        } else {
            crate::fsutil::hash_file(&full()).map_err(io)?
        };
        Ok(id != e.id)
    }
}

/// How far this store and one remote are apart.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RemoteState {
    pub name: String,
    /// Commits here that the remote does not have (not yet pushed).
    pub ahead: usize,
    /// Commits the remote had at the last fetch that are not here.
    pub behind: usize,
    /// Commit time (Unix seconds) of the oldest commit not yet pushed.
    pub unpushed_since: Option<i64>,
    /// The remote's branch has been fetched or pushed at least once.
    pub seen: bool,
}

/// What [`Store::commit_info`] tells of a commit.
#[derive(Clone, Debug)]
pub struct CommitInfo {
    /// Committer time, seconds since the epoch.
    pub time: i64,
    pub author: String,
    pub message: String,
}

/// One entry of a git tree (see [`Store::tree_items`]).
#[derive(Clone, Debug)]
pub struct TreeItem {
    /// The name as git stores it (not necessarily UTF-8).
    pub name: Vec<u8>,
    pub id: git2::Oid,
    /// git's file mode: 0o040000 a tree, 0o100644 or 0o100755 a file, 0o120000 a symbolic
    /// link, 0o160000 a submodule's commit.
    pub mode: u32,
}

/// git's side of a status: see [`Store::snapshot`].
pub struct GitSnapshot {
    index: index::Index,
    /// The index against HEAD: path and change.
    staged: Vec<(String, &'static str)>,
    filtered: bool,
}

/// The mode git records for a regular file with permission bits `mode`.
fn git_mode(mode: u32) -> u32 {
    if mode & 0o111 != 0 { 0o100755 } else { 0o100644 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Observed;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn object_ids_are_found_in_libgit2s_messages() {
        let id = "533f0d5b8a2a45cbcb19cdb327468acf6a0e287d";
        let found = |m: &str| object_id_in(m).map(|o| o.to_string());
        assert_eq!(found(&format!("object not found - cannot read header for ({id})")).as_deref(), Some(id));
        assert_eq!(found(&format!("object not found - no match for id ({id})")).as_deref(), Some(id));
        assert_eq!(found(id).as_deref(), Some(id));
        assert_eq!(found("object not found - no match for id (533f0d5b)"), None);
        assert_eq!(found(&format!("id a{id}")), None, "a longer run of hex digits is no object id");
    }

    #[test]
    fn git_dates_in_the_environment_are_read_as_git_reads_them() {
        let at = |t: &str| env_date(t).map(|d| (d.seconds(), d.offset_minutes()));
        assert_eq!(at("1700000000 +0130"), Some((1_700_000_000, 90)));
        assert_eq!(at("1700000000 -0500"), Some((1_700_000_000, -300)));
        assert_eq!(at("@1700000000"), Some((1_700_000_000, 0)));
        assert_eq!(at(" 1700000000 "), Some((1_700_000_000, 0)));
        for not in ["", "yesterday", "1700000000 +130", "1700000000 0130", "1700000000 +0130 x", "17e8"] {
            assert_eq!(at(not), None, "{not:?}");
        }
    }

    #[test]
    fn disk_full_is_told_from_libgit2s_message() {
        let os = |m| git2::Error::new(git2::ErrorCode::GenericError, git2::ErrorClass::Os, m);
        assert!(disk_full(&os("failed to write out file: No space left on device")));
        assert!(disk_full(&os("failed to write out file: Disk quota exceeded")));
        assert!(!disk_full(&os("failed to write out file: Permission denied")));
        let callback =
            git2::Error::new(git2::ErrorCode::GenericError, git2::ErrorClass::Callback, "No space left on device");
        assert!(!disk_full(&callback));
    }

    fn files(root: &Path) -> Vec<String> {
        walkdir::WalkDir::new(root)
            .min_depth(1)
            .into_iter()
            .filter_entry(|e| e.file_name() != ".git")
            .flatten()
            .filter(|e| !e.file_type().is_dir())
            .map(|e| e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect()
    }

    /// What an evaluation sees: the stat of every file, and the blob id of some.
    fn observed(root: &Path, files: &[String], hashed: bool) -> Vec<(String, Observed)> {
        files
            .iter()
            .filter(|f| !f.starts_with('.'))
            .map(|f| {
                let p = root.join(f);
                let stat = crate::fsutil::StatKey::of(&fs::symlink_metadata(&p).unwrap());
                let blob = hashed.then(|| crate::fsutil::hash_bytes(&fs::read(&p).unwrap()));
                (f.clone(), Observed { stat, blob })
            })
            .collect()
    }

    /// A clone of a store holding `files`, checked out with `config` (git config text) added to
    /// the clone's config first.
    fn checked_out(files: &[(&str, &str)], config: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("a"), dir.path().join("b"));
        let (a, _) = Store::init(&src).unwrap();
        for (f, text) in files {
            fs::create_dir_all(src.join(f).parent().unwrap()).unwrap();
            fs::write(src.join(f), text).unwrap();
        }
        a.commit_all("a", "files").unwrap();
        let (b, _) = Store::init(&dst).unwrap();
        let text = fs::read_to_string(dst.join(".git/config")).unwrap();
        fs::write(dst.join(".git/config"), text + config).unwrap();
        b.add_remote("origin", &src.to_string_lossy()).unwrap();
        b.set_branch(&b.remote_default_branch("origin").unwrap().unwrap()).unwrap();
        let id = b.fetch("origin").unwrap().unwrap();
        b.checkout(id).unwrap();
        (dir, dst)
    }

    /// The objects in each pack of `store`, newest pack last (read from the `.idx` fan-out).
    fn pack_objects(store: &Path) -> Vec<u32> {
        let dir = store.join(".git/objects/pack");
        let mut idx: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .map(|p| (fs::metadata(&p).unwrap().modified().unwrap(), fs::read(&p).unwrap()))
            .collect();
        idx.sort_by_key(|(t, _)| *t);
        idx.iter().map(|(_, b)| u32::from_be_bytes(b[8 + 255 * 4..8 + 256 * 4].try_into().unwrap())).collect()
    }

    #[test]
    fn a_fetch_from_a_repository_on_this_machine_takes_only_what_is_new_and_drops_a_branch_gone() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("a"), dir.path().join("b"));
        let (a, _) = Store::init(&src).unwrap();
        // More than one piece of pack: 5 MiB that do not compress.
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let noise: Vec<u8> = (0..5 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        fs::write(src.join("big.bin"), &noise).unwrap();
        fs::write(src.join("small.conf"), "one").unwrap();
        let first = a.commit_all("a", "first").unwrap().unwrap();
        let (b, _) = Store::init(&dst).unwrap();
        b.add_remote("origin", &src.to_string_lossy()).unwrap();
        b.set_branch("main").unwrap();
        assert_eq!(b.fetch("origin").unwrap(), Some(first));
        b.checkout(first).unwrap();
        assert_eq!(fs::read(dst.join("big.bin")).unwrap(), noise, "the large file arrived whole");
        assert_eq!(pack_objects(&dst), [4], "a commit, its tree and two blobs");

        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("sub/new.conf"), "two").unwrap();
        let second = a.commit_all("a", "second").unwrap().unwrap();
        assert_eq!(b.fetch("origin").unwrap(), Some(second));
        assert_eq!(pack_objects(&dst), [4, 4], "only the new commit, two trees and the new blob");
        assert_eq!(b.fetch("origin").unwrap(), Some(second), "nothing new: nothing sent");
        assert_eq!(pack_objects(&dst), [4, 4]);

        a.repo.find_reference("refs/heads/main").unwrap().delete().unwrap();
        assert_eq!(b.fetch("origin").unwrap(), None);
        assert!(b.repo.find_reference("refs/remotes/origin/main").is_err(), "the tracking ref went with the branch");
    }

    #[test]
    fn a_checkout_applies_the_filters_attributes_or_config_ask_for_and_none_otherwise() {
        let lf = "one\ntwo\n";
        let (_d, root) = checked_out(&[("x.conf", lf), ("sub/y.conf", lf)], "");
        assert_eq!(fs::read_to_string(root.join("sub/y.conf")).unwrap(), lf, "no attributes: bytes as committed");
        // An attributes file anywhere in the tree (here one level down) still converts.
        let (_d, root) =
            checked_out(&[("x.conf", lf), ("sub/y.conf", lf), ("sub/.gitattributes", "*.conf eol=crlf\n")], "");
        assert_eq!(fs::read_to_string(root.join("sub/y.conf")).unwrap(), "one\r\ntwo\r\n");
        assert_eq!(fs::read_to_string(root.join("x.conf")).unwrap(), lf, "outside the attributes' directory");
        // Line-ending conversion asked for by the config alone.
        for config in ["[core]\n\tautocrlf = true\n", "[core]\n\tautocrlf\n"] {
            let (_d, root) = checked_out(&[("x.conf", lf)], config);
            assert_eq!(fs::read_to_string(root.join("x.conf")).unwrap(), "one\r\ntwo\r\n", "{config:?}");
        }
        let (_d, root) = checked_out(&[("x.conf", lf)], "[core]\n\tautocrlf = false\n");
        assert_eq!(fs::read_to_string(root.join("x.conf")).unwrap(), lf);
    }

    #[test]
    fn a_commit_leaves_heads_tree_cached_in_the_index() {
        let (_d, root) = checked_out(&[("x.conf", "x"), ("sub/y.conf", "y")], "");
        let store = Store::open(&root).unwrap();
        let head_tree = || store.repo.head().unwrap().peel_to_tree().unwrap().id();
        let cached = || index::Index::read(&root.join(".git/index")).unwrap().unwrap().tree;
        // A checkout leaves no tree cached (writing one costs more than the walk it saves),
        // and nothing is staged all the same.
        assert!(store.snapshot().unwrap().staged.is_empty());
        fs::write(root.join("sub/y.conf"), "changed").unwrap();
        store.commit_all("b", "change").unwrap();
        assert_eq!(cached(), Some(head_tree()), "after a commit");
        assert!(store.snapshot().unwrap().staged.is_empty());
        // Staged and not committed: no tree cached, and the walk of HEAD's tree finds it.
        fs::write(root.join("x.conf"), "staged").unwrap();
        let mut index = store.repo.index().unwrap();
        index.add_path(Path::new("x.conf")).unwrap();
        index.write().unwrap();
        assert_eq!(cached(), None);
        assert_eq!(store.snapshot().unwrap().staged, [("x.conf".to_string(), "modified")]);
    }

    #[test]
    fn index_comparison_agrees_with_libgit2_status() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let (store, _) = Store::init(&root).unwrap();
        for f in ["a", "b", "c", "d", "sub/e", ".dotback/dotback.toml"] {
            fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
            fs::write(root.join(f), f).unwrap();
        }
        fs::write(root.join(".gitignore"), "ignored\n").unwrap();
        store.commit_all("t", "one").unwrap();
        let check = |what: &str| {
            let want = store.uncommitted().unwrap();
            let fs_files = files(&root);
            let snap = store.snapshot().unwrap();
            assert_eq!(store.uncommitted_with(&snap, &fs_files, &[]).unwrap(), want, "{what}: by stat");
            let seen = observed(&root, &fs_files, false);
            assert_eq!(store.uncommitted_with(&snap, &fs_files, &seen).unwrap(), want, "{what}: by known stat");
            let seen = observed(&root, &fs_files, true);
            assert_eq!(store.uncommitted_with(&snap, &fs_files, &seen).unwrap(), want, "{what}: by hash");
            want
        };
        assert!(check("clean").is_empty());
        fs::write(root.join("a"), "changed").unwrap();
        fs::write(root.join("b"), "B").unwrap(); // same size, maybe same mtime: racily clean
        fs::remove_file(root.join("c")).unwrap();
        fs::set_permissions(root.join("d"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(root.join("new"), "n").unwrap();
        fs::write(root.join("ignored"), "i").unwrap();
        fs::write(root.join(".dotback/dotback.toml"), "version = 2").unwrap();
        let got = check("edited");
        let paths: Vec<&str> = got.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(paths, [".dotback/dotback.toml", "a", "b", "c", "d", "new"]);
        // Staged but not committed: the index differs from HEAD.
        let mut index = store.repo.index().unwrap();
        index.add_path(Path::new("new")).unwrap();
        index.write().unwrap();
        assert_eq!(check("staged").len(), 6);
        // Staged edits, removals and a deletion, with the work tree put back as committed.
        fs::write(root.join("a"), "a").unwrap();
        fs::write(root.join("b"), "b").unwrap();
        index.add_path(Path::new("a")).unwrap(); // back to HEAD's blob, and b too
        fs::write(root.join("d"), "staged").unwrap();
        index.add_path(Path::new("d")).unwrap();
        fs::write(root.join("d"), "d").unwrap();
        index.remove_path(Path::new("sub/e")).unwrap();
        fs::remove_file(root.join("sub/e")).unwrap();
        index.write().unwrap();
        let got = check("staged edits");
        let got: Vec<(&str, &str)> = got.iter().map(|u| (u.path.as_str(), u.change)).collect();
        assert_eq!(
            got,
            [
                (".dotback/dotback.toml", "modified"),
                ("c", "deleted"),
                ("d", "modified"),
                ("new", "added"),
                ("sub/e", "deleted")
            ]
        );
    }
}
