//! `dotback status`: how every target differs between HOME and the store, what the store has
//! not committed, what each remote lacks, and the conflicts waiting to be settled.

use crate::context::{Context, ContextError};
use crate::eval::{self, Change, Eval, EvalError, Selection};
use crate::events::Sink;
use crate::resolve::Conflict;
use crate::session::{Access, Session, SessionError};
use crate::store::{RemoteState, Store, StoreError, Uncommitted};
use crate::vault::VaultError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Paths named that the store does not manage (`exists`: something is there in HOME).
    #[error(
        "{} {} not managed by dotback",
        targets.iter().map(|t| format!("~/{t}")).collect::<Vec<_>>().join(", "),
        if targets.len() == 1 { "is" } else { "are" }
    )]
    NotManaged { targets: Vec<String>, exists: bool },
}

/// What `status` found. The session stays open for the caller (it saves what the evaluation
/// learnt when it finishes).
pub struct Status {
    pub session: Session,
    pub selection: Selection,
    /// Every evaluated target (filter with `selection.contains` for the named ones).
    pub evals: Vec<Eval>,
    pub uncommitted: Vec<Uncommitted>,
    pub remotes: Vec<RemoteState>,
    pub conflicts: Vec<Conflict>,
    /// Why this device's identity cannot be used, when a selected target needs it.
    pub identity_problem: Option<VaultError>,
    /// The selected entries dotback leaves to chezmoi.
    pub delegated: Vec<crate::delegate::Item>,
    /// The `chezmoi` binary that applies them; `None` when it is not installed (`apply` then
    /// skips them).
    pub chezmoi: Option<PathBuf>,
    /// The watcher's state, when one runs for this store.
    pub watcher: Option<crate::service::WatchStatus>,
}

/// Evaluates the targets at or below `paths` (every target when empty). git's side of the
/// store (index, HEAD's tree) is read meanwhile, on another thread.
pub fn status(ctx: Context, paths: &[PathBuf], sink: &dyn Sink) -> Result<Status, StatusError> {
    let store_root = ctx.store.clone();
    let state_dir = ctx.paths.state_dir.clone();
    let (session, selection, evals, uncommitted, remotes, watcher, conflicts, delegated) =
        std::thread::scope(|scope| -> Result<_, StatusError> {
            // Also what the remotes lack and the watcher's state: neither waits for the scan.
            let git = scope.spawn(move || -> Result<_, StoreError> {
                let store = Store::open(&store_root)?;
                let snap = store.snapshot()?;
                let remotes = store.remote_state()?;
                Ok((store, snap, remotes, watcher_status(&state_dir)))
            });
            let mut s = Session::open_to_evaluate(ctx, Access::Read, sink)?;
            let named = s.targets(paths)?;
            refuse_unmanaged(&s, &named)?;
            let sel = Selection::of(named);
            let p = s.parts();
            let (evals, conflicts, delegated) = std::thread::scope(|inner| {
                // Conflict copies and what chezmoi handles follow from the scan alone.
                let beside = inner.spawn(|| {
                    let conflicts: Vec<Conflict> = crate::resolve::find(p.state, &p.ctx.device)
                        .into_iter()
                        .filter(|c| sel.contains(&c.path) || sel.contains(&c.copy))
                        .collect();
                    let items = crate::delegate::items(p.state);
                    let delegated: Vec<_> = crate::delegate::selected(&items, &sel).into_iter().cloned().collect();
                    (conflicts, delegated)
                });
                let evals = eval::evaluate(p.ctx, p.state, p.cache, p.vault, &sel);
                let (conflicts, delegated) = beside.join().expect("conflict search panicked");
                (evals, conflicts, delegated)
            });
            let evals = evals?;
            let (store, snap, remotes, watcher) = git.join().expect("git thread panicked")?;
            let uncommitted = match (&s.state.files, sel.is_all()) {
                // The evaluation hashed every store file already: compare those with git's index.
                (Some(files), true) => store.uncommitted_with(&snap, files, &s.cache.observed)?,
                _ => store.uncommitted()?,
            };
            Ok((s, sel, evals, uncommitted, remotes, watcher, conflicts, delegated))
        })?;
    let needs_identity = evals
        .iter()
        .any(|e| matches!(e.change, Change::Locked | Change::WaitingForIdentity) && selection.contains(&e.target));
    let identity_problem =
        if needs_identity { crate::vault::load_identities(&session.ctx, session.ctx.identity).err() } else { None };
    let chezmoi = if delegated.is_empty() { None } else { crate::chezmoi::find() };
    Ok(Status {
        session,
        selection,
        evals,
        uncommitted,
        remotes,
        conflicts,
        identity_problem,
        delegated,
        chezmoi,
        watcher,
    })
}

/// The watcher's state, when one runs for the store whose state is in `state_dir`.
fn watcher_status(state_dir: &std::path::Path) -> Option<crate::service::WatchStatus> {
    crate::watch::WatchLock::holder(state_dir).map(|(pid, started)| {
        crate::service::WatchStatus::load(state_dir).unwrap_or(crate::service::WatchStatus {
            pid,
            started,
            ..Default::default()
        })
    })
}

/// A named path the store does not manage, not even as an extra inside an `exact_` directory.
fn refuse_unmanaged(s: &Session, named: &[String]) -> Result<(), StatusError> {
    let in_exact = |t: &str| {
        let mut dir = crate::managed::parent_of(t);
        while !dir.is_empty() {
            if s.state.get(dir).is_some_and(|m| m.entry.attrs.exact) {
                return true;
            }
            dir = crate::managed::parent_of(dir);
        }
        false
    };
    let managed = |t: &str| t.is_empty() || s.state.entries.iter().any(|m| eval::is_at_or_below(&m.target, t));
    let missing: Vec<String> = named.iter().filter(|t| !managed(t) && !in_exact(t)).cloned().collect();
    if missing.is_empty() {
        return Ok(());
    }
    let exists = missing.iter().any(|t| s.ctx.live(t).symlink_metadata().is_ok());
    Err(StatusError::NotManaged { targets: missing, exists })
}
