//! The store's remotes: adding one (with the checks that keep a URL sync could never use out
//! of the store's config), removing one, listing them.

use crate::context::Context;
use crate::state::{Lock, StateError};
use crate::store::{Store, StoreError};
use crate::transport;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("remote name `{name}` is not allowed")]
    BadName { name: String },
    #[error("the remote's URL is empty")]
    EmptyUrl,
    /// It would sit in plaintext in the store's `.git/config`.
    #[error("the URL {url} carries a password, which git would keep in plaintext in the store's .git/config")]
    PasswordInUrl { url: String },
    #[error("there is already a remote named `{name}`")]
    Exists { name: String },
    #[error("there is no remote named `{name}`")]
    NotFound { name: String },
    #[error("{} does not exist", path.display())]
    NoPath { path: PathBuf },
    /// libgit2 pushes into a repository only, never into an empty directory.
    #[error("{} is an empty directory, not a git repository yet", path.display())]
    EmptyDirectory { path: PathBuf },
    #[error("{} is not a git repository", path.display())]
    NotARepository { path: PathBuf },
    /// git refuses a push to a work tree's checked-out branch.
    #[error("{} is a repository with a work tree, not a bare one; git does not push into a work tree's checked-out branch", path.display())]
    NotBare { path: PathBuf },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// One remote, as listed (a password in its URL, written there by hand, is masked).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Remote {
    pub name: String,
    pub url: String,
}

/// The store's remotes, in git's order.
pub fn list(ctx: &Context) -> Result<Vec<Remote>, RemoteError> {
    let store = Store::open(&ctx.store)?;
    Ok(store.remotes()?.into_iter().map(|(name, url)| Remote { name, url: transport::redact(&url) }).collect())
}

/// Adds remote `name` at `url` and returns it as recorded: a relative local path is made
/// absolute (libgit2 would resolve it against wherever dotback runs then). A local path must be a
/// bare repository; a name in use is an error, never an overwrite.
pub fn add(ctx: &Context, name: &str, url: &str) -> Result<Remote, RemoteError> {
    let allowed = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if name.is_empty() || !allowed || !git2::Remote::is_valid_name(name) {
        return Err(RemoteError::BadName { name: name.to_string() });
    }
    if url.trim().is_empty() {
        return Err(RemoteError::EmptyUrl);
    }
    if transport::has_password(url) {
        return Err(RemoteError::PasswordInUrl { url: transport::redact(url) });
    }
    let store = Store::open(&ctx.store)?;
    let _lock = Lock::acquire(&ctx.paths.state_dir, crate::session::LOCK_WAIT)?;
    if store.remotes()?.iter().any(|(n, _)| n == name) {
        return Err(RemoteError::Exists { name: name.to_string() });
    }
    let url = match transport::local_path(url) {
        Some(path) => {
            check_local(&path)?;
            match path.canonicalize().ok().filter(|_| path.is_relative()) {
                Some(abs) => abs.to_str().unwrap_or(url).to_string(),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    };
    store.add_remote(name, &url)?;
    Ok(Remote { name: name.to_string(), url })
}

/// Removes remote `name` (the repository it points to is not touched).
pub fn remove(ctx: &Context, name: &str) -> Result<(), RemoteError> {
    let store = Store::open(&ctx.store)?;
    let _lock = Lock::acquire(&ctx.paths.state_dir, crate::session::LOCK_WAIT)?;
    if !store.remotes()?.iter().any(|(n, _)| n == name) {
        return Err(RemoteError::NotFound { name: name.to_string() });
    }
    Ok(store.remove_remote(name)?)
}

/// A local remote must be a bare repository already: sync cannot push anywhere else.
fn check_local(path: &Path) -> Result<(), RemoteError> {
    let path_buf = || path.to_path_buf();
    if !path.exists() {
        return Err(RemoteError::NoPath { path: path_buf() });
    }
    if std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none()) {
        return Err(RemoteError::EmptyDirectory { path: path_buf() });
    }
    let flags = git2::RepositoryOpenFlags::NO_SEARCH;
    match git2::Repository::open_ext(path, flags, std::iter::empty::<&std::ffi::OsStr>()) {
        Err(_) => Err(RemoteError::NotARepository { path: path_buf() }),
        Ok(repo) if !repo.is_bare() => Err(RemoteError::NotBare { path: path_buf() }),
        Ok(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_remote_must_be_a_bare_repository() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        assert!(matches!(check_local(&p.join("missing")), Err(RemoteError::NoPath { .. })));
        std::fs::create_dir(p.join("empty")).unwrap();
        assert!(matches!(check_local(&p.join("empty")), Err(RemoteError::EmptyDirectory { .. })));
        std::fs::write(p.join("file"), "x").unwrap();
        assert!(matches!(check_local(&p.join("file")), Err(RemoteError::NotARepository { .. })));
        git2::Repository::init(p.join("work")).unwrap();
        assert!(matches!(check_local(&p.join("work")), Err(RemoteError::NotBare { .. })));
        assert!(matches!(check_local(&p.join("work/.git")), Err(RemoteError::NotBare { .. })));
        git2::Repository::init_bare(p.join("bare.git")).unwrap();
        check_local(&p.join("bare.git")).unwrap();
    }
}
