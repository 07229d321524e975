//! The store's git repository (libgit2): open, init, stage everything, commit, list what is
//! not committed yet.

use git2::{IndexAddOption, Repository, RepositoryInitOptions, Signature, StatusOptions};
use std::path::{Path, PathBuf};

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
    #[error("the store {} is a bare repository; dotback needs a work tree", path.display())]
    Bare { path: PathBuf },
    #[error("git operation `{what}` failed in the store {}", path.display())]
    Git {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
}

/// The store's repository.
pub struct Store {
    pub repo: Repository,
    pub root: PathBuf,
}

/// One path with uncommitted changes, as git reports it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Uncommitted {
    pub path: String,
    pub change: &'static str,
}

impl Store {
    /// Opens the store at exactly `root` (no search upwards: the store is named, not guessed).
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        if !root.exists() {
            return Err(StoreError::Missing { path: root.to_path_buf() });
        }
        let repo =
            Repository::open_ext(root, git2::RepositoryOpenFlags::NO_SEARCH, std::iter::empty::<&std::ffi::OsStr>())
                .map_err(|source| StoreError::NotARepository { path: root.to_path_buf(), source })?;
        if repo.is_bare() {
            return Err(StoreError::Bare { path: root.to_path_buf() });
        }
        Ok(Store { repo, root: root.to_path_buf() })
    }

    /// Opens the repository at `root`, creating it (branch `main`) when there is none.
    pub fn init(root: &Path) -> Result<(Store, bool), StoreError> {
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
        Ok((Store { repo, root: root.to_path_buf() }, true))
    }

    fn git<T>(&self, what: &'static str, r: Result<T, git2::Error>) -> Result<T, StoreError> {
        r.map_err(|source| StoreError::Git { what, path: self.root.clone(), source })
    }

    /// The user's git identity, or one naming the device when git has none configured.
    fn signature(&self, device: &str) -> Result<Signature<'static>, StoreError> {
        match self.repo.signature() {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => self.git("signature", Signature::now(device, &format!("{device}@dotback"))),
        }
    }

    /// Stages every change in the work tree and commits it. `Ok(None)` when nothing changed.
    pub fn commit_all(&self, device: &str, message: &str) -> Result<Option<git2::Oid>, StoreError> {
        let mut index = self.git("index", self.repo.index())?;
        self.git("add", index.add_all(["*"], IndexAddOption::DEFAULT, None))?;
        self.git("add", index.update_all(["*"], None))?;
        self.git("write index", index.write())?;
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
        Ok(Some(id))
    }

    /// Paths whose work-tree or index state differs from HEAD.
    pub fn uncommitted(&self) -> Result<Vec<Uncommitted>, StoreError> {
        let mut opts = StatusOptions::new();
        opts.include_untracked(true).recurse_untracked_dirs(true).exclude_submodules(true);
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
            out.push(Uncommitted { path, change });
        }
        Ok(out)
    }
}
