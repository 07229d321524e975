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
    let (session, selection, evals, uncommitted) = std::thread::scope(|scope| -> Result<_, StatusError> {
        let git = scope.spawn(move || -> Result<_, StoreError> {
            let store = Store::open(&store_root)?;
            let snap = store.snapshot()?;
            Ok((store, snap))
        });
        let mut s = Session::open_to_evaluate(ctx, Access::Read, sink)?;
        let named = s.targets(paths)?;
        refuse_unmanaged(&s, &named)?;
        let sel = Selection::of(named);
        let p = s.parts();
        let evals = eval::evaluate(p.ctx, p.state, p.cache, p.vault, &sel)?;
        let (store, snap) = git.join().expect("git thread panicked")?;
        let uncommitted = match (&s.state.files, sel.is_all()) {
            // The evaluation hashed every store file already: compare those with git's index.
            (Some(files), true) => store.uncommitted_with(&snap, files, &s.cache.observed)?,
            _ => store.uncommitted()?,
        };
        Ok((s, sel, evals, uncommitted))
    })?;
    let needs_identity = evals
        .iter()
        .any(|e| matches!(e.change, Change::Locked | Change::WaitingForIdentity) && selection.contains(&e.target));
    let identity_problem =
        if needs_identity { crate::vault::load_identities(&session.ctx, session.ctx.identity).err() } else { None };
    let remotes = session.store()?.remote_state()?;
    let conflicts = crate::resolve::find(&session.state, &session.ctx.device)
        .into_iter()
        .filter(|c| selection.contains(&c.path) || selection.contains(&c.copy))
        .collect();
    let items = crate::delegate::items(&session.state);
    let delegated: Vec<_> = crate::delegate::selected(&items, &selection).into_iter().cloned().collect();
    let chezmoi = if delegated.is_empty() { None } else { crate::chezmoi::find() };
    let state_dir = &session.ctx.paths.state_dir;
    let watcher = crate::watch::WatchLock::holder(state_dir).map(|(pid, started)| {
        crate::service::WatchStatus::load(state_dir).unwrap_or(crate::service::WatchStatus {
            pid,
            started,
            ..Default::default()
        })
    });
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
