//! Pushing the store's commits to its remotes without capturing or merging (`dotback push`,
//! run by the post-commit hook), with retries for remotes that cannot be reached.

use crate::context::Context;
use crate::events::Sink;
use crate::session::{Access, Session, SessionError};
use crate::state::StateError;
use crate::store::{Store, StoreError};
use crate::sync::{self, SyncError};
use crate::transport::TransportError;
use std::time::Duration;

/// What pushing did, per remote.
#[derive(Debug, Default)]
pub struct PushReport {
    pub pushed: Vec<String>,
    pub unreachable: Vec<(String, String)>,
    pub refused: Vec<(String, TransportError)>,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// Pushes HEAD to each of `remotes`, recording each remote that took it as seen there.
pub fn push_all(store: &Store, remotes: &[String]) -> Result<PushReport, StoreError> {
    let mut report = PushReport::default();
    let head = store.head_commit()?;
    for name in remotes {
        match store.push(name) {
            Ok(()) => {
                if let Some(head) = head {
                    store.set_seen(name, head)?;
                }
                report.pushed.push(name.clone());
            }
            Err(e) if e.is_unreachable() => report.unreachable.push((name.clone(), e.to_string())),
            Err(e) => report.refused.push((name.clone(), e)),
        }
    }
    Ok(report)
}

/// Waits between attempts of a retrying push (`dotback push --retry`).
pub const BACKOFF: [Duration; 3] = [Duration::from_secs(5), Duration::from_secs(30), Duration::from_secs(120)];

/// Pushes to every remote (or `only`), trying unreachable ones again after each of `waits`.
/// Another dotback process holding the store is one more reason to wait; the lock is never held
/// while waiting. Returns the last round's report (remotes pushed in earlier rounds included).
pub fn push_retrying(
    ctx: &Context,
    only: Option<&str>,
    waits: &[Duration],
    sink: &dyn Sink,
) -> Result<PushReport, PushError> {
    let mut pending: Option<Vec<String>> = None;
    let mut waits = waits.iter();
    let mut pushed = Vec::new();
    loop {
        let s = match Session::open(ctx.clone(), Access::Write, sink) {
            Err(SessionError::State(StateError::Locked { .. })) if waits.len() > 0 => {
                let wait = waits.next().expect("checked that a wait is left");
                sink.warn(format!("another dotback process holds the store; trying again in {} s", wait.as_secs()));
                std::thread::sleep(*wait);
                continue;
            }
            other => other?,
        };
        let store = s.store()?;
        let remotes = match pending.take() {
            Some(r) => r,
            None => sync::remotes(&store, only)?,
        };
        let mut report = push_all(&store, &remotes)?;
        s.finish()?;
        pushed.append(&mut report.pushed);
        let wait = if report.refused.is_empty() && !report.unreachable.is_empty() { waits.next() } else { None };
        let Some(wait) = wait else {
            report.pushed = pushed;
            return Ok(report);
        };
        let names: Vec<&str> = report.unreachable.iter().map(|(n, _)| n.as_str()).collect();
        sink.warn(format!("could not reach {}; trying again in {} s", names.join(", "), wait.as_secs()));
        std::thread::sleep(*wait);
        pending = Some(report.unreachable.into_iter().map(|(n, _)| n).collect());
    }
}
