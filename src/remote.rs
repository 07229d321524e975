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
    #[error("remote `{name}`: {source}")]
    Transport {
        name: String,
        #[source]
        source: Box<transport::TransportError>,
    },
    #[error("remote `{name}` has no branch yet: there is nothing to accept")]
    NothingThere { name: String },
    /// Its history shares no commit with the store's: accepting it would not be a merge.
    #[error("remote `{name}` has a history unrelated to this store's")]
    Unrelated { name: String },
}

/// What `remote accept` found and recorded.
#[derive(Debug, serde::Serialize)]
pub struct Accepted {
    pub name: String,
    /// The commit the remote's branch was at when this store last synced with it.
    pub was: Option<String>,
    /// The commit it is at now, from which the next sync goes on.
    pub now: String,
    /// Commits this store saw on the remote that it no longer has (newest first, at most 20),
    /// as `id summary`. This store keeps them: the next sync merges and pushes them back.
    pub dropped: Vec<String>,
    /// The remote had not been rewritten: nothing needed accepting.
    pub already: bool,
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

/// Accepts what remote `name`'s branch holds now as the point the next sync goes on from, when
/// its history no longer contains what this store saw there (a rewrite, or a push that replaced
/// another): fetches it, lists the commits it dropped, and records it. Nothing is merged,
/// pushed or lost here: the dropped commits stay in this store, and the next sync merges the
/// remote's branch into them and pushes the result.
pub fn accept(ctx: &Context, name: &str) -> Result<Accepted, RemoteError> {
    let store = Store::open(&ctx.store)?;
    let _lock = Lock::acquire(&ctx.paths.state_dir, crate::session::LOCK_WAIT)?;
    if !store.remotes()?.iter().any(|(n, _)| n == name) {
        return Err(RemoteError::NotFound { name: name.to_string() });
    }
    let was = store.seen(name);
    let now = store
        .fetch(name)
        .map_err(|e| RemoteError::Transport { name: name.to_string(), source: Box::new(e) })?
        .ok_or_else(|| RemoteError::NothingThere { name: name.to_string() })?;
    if let Some(head) = store.head_commit()?
        && store.merge_base(head, now)?.is_none()
    {
        store.refused_fetch(name, was)?;
        return Err(RemoteError::Unrelated { name: name.to_string() });
    }
    let already = match was {
        Some(was) => store.contains(now, was)?,
        None => true,
    };
    let mut dropped = Vec::new();
    if let (Some(was), false) = (was, already) {
        for id in store.only_in(was, now, 20)? {
            let message = store.commit_message(id)?;
            dropped.push(format!("{} {}", &id.to_string()[..10], message.lines().next().unwrap_or("")));
        }
    }
    store.set_seen(name, now)?;
    Ok(Accepted { name: name.to_string(), was: was.map(|w| w.to_string()), now: now.to_string(), dropped, already })
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
