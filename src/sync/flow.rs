//! The sync operation: commit, fetch every remote (once, in [`plan`]), merge, apply, push.

use super::{Merged, Plan as Preview, SyncError};
use crate::apply::{self, PlanOptions};
use crate::audit;
use crate::capture::{self, Committed};
use crate::eval::{self, Change, Selection};
use crate::events::{Phase, Sink};
use crate::managed;
use crate::resolve;
use crate::session::Session;
use crate::store::Store;
use crate::transport::TransportError;
use crate::tree_check::{self, TreeCheckError};
use git2::Oid;

#[derive(Clone, Debug, Default)]
pub struct SyncOptions {
    /// Only this remote.
    pub remote: Option<String>,
    /// Fetch, merge and apply, but push nowhere.
    pub no_push: bool,
    /// Record deletions in HOME even when the deletion guard would hold them.
    pub allow_deletions: bool,
    /// When applying, hand what dotback leaves to chezmoi (templates, scripts, externals, …) to
    /// it, as `dotback apply` does. This runs the store's scripts: only for a sync the user asked
    /// for.
    pub delegate: bool,
}

/// Why a remote was not merged or pushed to.
#[derive(Debug)]
pub enum Refusal {
    /// The transport failed in a way a retry does not fix (host key, credentials, a rejected
    /// push…).
    Transport(TransportError),
    /// The branch no longer contains what this store last saw there (force-pushed).
    Rewritten,
    /// The branch shares no history with this store's.
    Unrelated,
    /// The fetched commit could not be checked out safely ([`tree_check`]).
    Unsafe(tree_check::Refusal),
}

impl std::fmt::Display for Refusal {
    /// Why, in a few words (the CLI adds what to do).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Transport(e) => write!(f, "{e}"),
            Refusal::Rewritten => f.write_str("its branch was rewritten: it no longer holds what this store saw there"),
            Refusal::Unrelated => f.write_str("its branch shares no history with this store's"),
            Refusal::Unsafe(r) => write!(f, "it has a commit dotback refuses: {r}"),
        }
    }
}

/// What the fetch found at one remote.
#[derive(Debug)]
pub enum Fetched {
    Unreachable {
        message: String,
    },
    Refused(Refusal),
    /// The remote has no branch yet: it would receive this store's history.
    Empty,
    /// The remote's branch is at `theirs`.
    At {
        theirs: Oid,
    },
}

/// The fetch of every remote a sync talks to: what [`run`] merges, and what a dry run shows.
#[derive(Debug)]
pub struct Plan {
    pub remotes: Vec<(String, Fetched)>,
}

/// How one remote fared in a sync.
#[derive(Debug)]
pub enum RemoteStatus {
    /// Fetched (and pushed to, unless `no_push` or nothing was new).
    Reached {
        pushed: bool,
    },
    Unreachable {
        message: String,
    },
    Refused(Refusal),
    /// Fetched (and merged), but the push was refused; [`TransportError::Moved`] when every
    /// attempt lost the race to other devices' pushes.
    PushRefused(Refusal),
}

/// A target another device stores unencrypted that this device keeps encrypted.
#[derive(Debug)]
pub struct KeptEncrypted {
    pub remote: String,
    pub commit: String,
    pub target: String,
}

/// A conflict copy in the store when a sync ended: settled only by `dotback resolve`.
#[derive(Debug)]
pub struct Unsettled {
    pub conflict: resolve::Conflict,
    pub arrival: Arrival,
}

/// How a conflict copy came to be in the store.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrival {
    /// It was there before this sync.
    Earlier,
    /// This sync's merge wrote it: this device's version stayed live.
    Made,
    /// A fetched commit brought it; `by` is the device whose merge wrote it (and kept its own
    /// version live), when its commit says. When the copy holds this device's version, this
    /// device's edit lost that merge and the live file now has the other device's version.
    Received { by: Option<String> },
}

/// What one sync did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// The package lists captured first (`packages.capture = true`).
    pub packages: Option<crate::packages::CaptureReport>,
    pub committed: Committed,
    pub remotes: Vec<(String, RemoteStatus)>,
    /// Fetched commits merged (fast-forwards included).
    pub merged: usize,
    /// Conflict copies the merges wrote (store paths).
    pub conflicts: Vec<String>,
    pub kept_encrypted: Vec<KeptEncrypted>,
    /// Changes to the control files taken from the remotes, as sentences.
    pub accepted: Vec<String>,
    /// The ignore rules changed: targets managed before and after.
    pub ignore_changed: Option<(usize, usize)>,
    /// What applying the merged store to HOME did, if anything had to be applied.
    pub applied: Option<apply::Report>,
    /// What the apply handed to chezmoi ([`SyncOptions::delegate`]), and how that went.
    pub delegated: Vec<crate::delegate::Item>,
    pub delegation: crate::delegate::Delegation,
    pub pushed: usize,
    /// Each push that landed: the remote, and the commit its branch now holds.
    pub pushed_commits: Vec<(String, String)>,
    /// Pushes that lost the race to another device's push and were tried again after fetching
    /// and merging its commits.
    pub push_retries: usize,
    /// A change to the control files this device does not use.
    pub held: Option<crate::trust::Held>,
    /// Every conflict copy left in the store, and how it got there.
    pub unsettled: Vec<Unsettled>,
}

impl SyncReport {
    /// Changes written to or removed from HOME.
    pub fn applied_count(&self) -> usize {
        self.applied.as_ref().map_or(0, |r| r.written.len() + r.removed.len())
    }

    pub fn unreachable(&self) -> impl Iterator<Item = (&str, &str)> {
        self.remotes.iter().filter_map(|(n, s)| match s {
            RemoteStatus::Unreachable { message } => Some((n.as_str(), message.as_str())),
            _ => None,
        })
    }

    pub fn refused(&self) -> impl Iterator<Item = (&str, &Refusal)> {
        self.remotes.iter().filter_map(|(n, s)| match s {
            RemoteStatus::Refused(r) | RemoteStatus::PushRefused(r) => Some((n.as_str(), r)),
            _ => None,
        })
    }

    /// Remotes fetched from, whether or not they then took the push.
    pub fn reached(&self) -> usize {
        self.remotes
            .iter()
            .filter(|(_, s)| matches!(s, RemoteStatus::Reached { .. } | RemoteStatus::PushRefused(_)))
            .count()
    }

    /// For the audit trail.
    fn outcome(&self) -> &'static str {
        let failed = self.applied.as_ref().is_some_and(|a| !a.failed.is_empty());
        if self.refused().next().is_some() || self.held.is_some() {
            "refused"
        } else if self.unreachable().next().is_some() {
            "offline"
        } else if !self.committed.captured.held_deletions.is_empty() {
            "deletions-held"
        } else if !self.committed.captured.refused.is_empty() || failed {
            "incomplete"
        } else if !self.unsettled.is_empty() {
            "conflict"
        } else {
            "ok"
        }
    }
}

/// The remotes a sync talks to: all of them, or the one `only` names.
pub fn remotes(store: &Store, only: Option<&str>) -> Result<Vec<String>, SyncError> {
    let mut remotes: Vec<String> = store.remotes()?.into_iter().map(|(n, _)| n).collect();
    if let Some(only) = only {
        if !remotes.iter().any(|r| r == only) {
            return Err(SyncError::NoSuchRemote { name: only.to_string() });
        }
        remotes.retain(|r| r == only);
    }
    if remotes.is_empty() {
        return Err(SyncError::NoRemotes);
    }
    Ok(remotes)
}

/// Fetches every remote `opts` names and checks what arrived: a rewritten or unrelated history,
/// or a commit that could not be checked out safely, is refused for that remote alone (and the
/// remote is not recorded as seen at a refused commit).
pub fn plan(s: &Session, opts: &SyncOptions, sink: &dyn Sink) -> Result<Plan, SyncError> {
    let store = s.store()?;
    let names = remotes(&store, opts.remote.as_deref())?;
    plan_for(s, &store, &names, sink)
}

fn plan_for(s: &Session, store: &Store, names: &[String], sink: &dyn Sink) -> Result<Plan, SyncError> {
    let phase = Phase::start(sink, "fetching", names.len());
    let mut out = Vec::with_capacity(names.len());
    for name in names.iter().cloned() {
        phase.next(&format!("fetching {name}"));
        let before = store.seen(&name);
        let fetched = match store.fetch(&name) {
            Err(e) if e.is_unreachable() => Fetched::Unreachable { message: e.to_string() },
            Err(e) => Fetched::Refused(Refusal::Transport(e)),
            Ok(None) => Fetched::Empty,
            Ok(Some(theirs)) => match check(store, s, &name, before, theirs)? {
                Some(refusal) => Fetched::Refused(refusal),
                None => Fetched::At { theirs },
            },
        };
        out.push((name, fetched));
    }
    Ok(Plan { remotes: out })
}

/// Why `theirs`, just fetched from `remote`, is not merged, if it is not.
fn check(
    store: &Store,
    s: &Session,
    remote: &str,
    before: Option<Oid>,
    theirs: Oid,
) -> Result<Option<Refusal>, SyncError> {
    match tree_check::check_fetched(store, theirs, s.ctx.max_file_size) {
        Ok(()) => {}
        Err(TreeCheckError::Store(e)) => return Err(e.into()),
        Err(TreeCheckError::Refused(r)) => {
            store.refused_fetch(remote, before)?;
            return Ok(Some(Refusal::Unsafe(r)));
        }
    }
    // A branch that no longer contains what this store last saw there was rewritten: merging
    // it would bring back or bury history silently. What this store saw last stays recorded
    // (not in a ref `git fetch` moves), so every sync refuses until the user decides.
    let Some(old) = before else { return Ok(None) };
    if store.contains(theirs, old)? {
        return Ok(None);
    }
    let related = match store.head_commit()? {
        Some(head) => store.merge_base(head, theirs)?.is_some(),
        None => true,
    };
    Ok(Some(if related { Refusal::Rewritten } else { Refusal::Unrelated }))
}

/// Capture and commit, fetch every remote, merge, apply, push to every remote; the audit
/// trail gets one record of it.
pub fn run(s: &mut Session, opts: &SyncOptions, sink: &dyn Sink) -> Result<SyncReport, SyncError> {
    let started = std::time::Instant::now();
    // Which remotes first: a wrong `--remote` commits nothing and leaves no audit record.
    remotes(&s.store()?, opts.remote.as_deref())?;
    let mut report = SyncReport::default();
    let result = run_into(s, opts, sink, &mut report);
    let record = audit::Record {
        time: crate::state::rfc3339_now(),
        device: s.ctx.device.clone(),
        user: audit::user(),
        command: "sync".into(),
        outcome: if result.is_ok() { report.outcome() } else { "error" }.into(),
        committed: report.committed.paths,
        remotes_reached: report.reached(),
        remotes_unreachable: report.unreachable().map(|(n, _)| n.to_string()).collect(),
        remotes_refused: report.refused().map(|(n, _)| n.to_string()).collect(),
        merged: report.merged,
        conflicts: report.conflicts.len(),
        applied: report.applied_count(),
        pushed: report.pushed,
        duration_ms: started.elapsed().as_millis() as u64,
        steps: Vec::new(),
        counts: Default::default(),
    };
    if let Err(e) = audit::append(&s.ctx.store, &record) {
        sink.warn(format!("could not append to the audit trail {}: {e}", audit::file(&s.ctx.store, &record).display()));
    }
    result.map(|()| report)
}

fn run_into(s: &mut Session, opts: &SyncOptions, sink: &dyn Sink, report: &mut SyncReport) -> Result<(), SyncError> {
    let conflicts_before = resolve::find(&s.state, &s.ctx.device);
    if s.ctx.packages_capture {
        // The package managers take their time: what the session saw of HOME while it opened
        // is not what the capture below should go by.
        s.cache.forget_prefetched();
        // The lists first, in their own commit; a manager that fails is a warning, never a
        // failed sync.
        match crate::packages::capture(s, sink) {
            Ok(captured) => {
                if captured.commit.is_some() {
                    s.refresh_trust()?; // the scan the commit below compares with
                }
                report.packages = Some(captured);
            }
            Err(e) => sink.warn(format!("the package lists were not captured: {e}")),
        }
    }
    let commit_opts =
        capture::CommitOptions { message: None, allow_deletions: opts.allow_deletions, ..Default::default() };
    report.committed = capture::commit(s, &commit_opts, sink)?;
    let store = s.store()?;
    let round = Round {
        stamp: crate::state::timestamp(),
        ignore_before: crate::fsutil::read_beneath(&s.ctx.store, &s.ctx.store.join(".chezmoiignore")).ok(),
    };
    let mut names = remotes(&store, opts.remote.as_deref())?;
    let mut home_behind = report.committed.home_behind;
    let mut lost = Vec::new();
    // A push that lost the race to another device's is answered by fetching, merging and
    // pushing again, a bounded number of times.
    for attempt in 1.. {
        lost = exchange(s, &store, &names, opts, sink, report, &round, home_behind, &lost)?;
        home_behind = false;
        if lost.is_empty() || attempt == PUSH_ATTEMPTS {
            break;
        }
        report.push_retries += 1;
        std::thread::sleep(backoff(attempt));
        // The remotes that lost, and those that took an earlier push: what the next merge
        // brings must reach them too.
        names = report
            .remotes
            .iter()
            .filter(|(n, st)| lost.iter().any(|l| l.name == *n) || matches!(st, RemoteStatus::Reached { .. }))
            .map(|(n, _)| n.clone())
            .collect();
    }
    report.unsettled = unsettled(s, &store, conflicts_before, &report.conflicts)?;
    report.held = s.trust().held.clone();
    Ok(())
}

/// Attempts a sync makes to push to a remote other devices keep pushing to.
pub const PUSH_ATTEMPTS: u32 = 8;

/// The wait before attempt `attempt + 1`: doubling from 50 ms up to 1.6 s, each drawn at random
/// between half and one and a half times that, so devices that lost together do not retry together.
fn backoff(attempt: u32) -> std::time::Duration {
    let base = 50u64 << (attempt - 1).min(5);
    let mut r = [0u8; 2];
    let r = getrandom::getrandom(&mut r).map_or(0x8000, |()| u16::from_le_bytes(r)) as u64;
    std::time::Duration::from_millis(base / 2 + base * r / 0x1_0000)
}

/// A push that lost the race: to which remote, and what the push tried to replace there (its
/// error stays in the report's status for that remote).
struct Lost {
    name: String,
    fetched: Option<Oid>,
}

/// What stays the same over the attempts of one sync.
struct Round {
    stamp: String,
    ignore_before: Option<Vec<u8>>,
}

/// One exchange with `names`: fetch and merge each, apply what came in to HOME, push to each.
/// Returns the remotes whose push lost the race to another device's push (nothing of theirs was
/// replaced); every remote's status in `report` is this exchange's.
#[allow(clippy::too_many_arguments)]
fn exchange(
    s: &mut Session,
    store: &Store,
    names: &[String],
    opts: &SyncOptions,
    sink: &dyn Sink,
    report: &mut SyncReport,
    round: &Round,
    home_behind: bool,
    lost_before: &[Lost],
) -> Result<Vec<Lost>, SyncError> {
    // A merge checks out committed versions; this device's newest audit records are not committed yet.
    let pending = audit::Pending::save(&s.ctx.store, &s.ctx.device);
    let merged_before = report.merged;
    let plan = plan_for(s, store, names, sink)?;
    let mut fetched_at: Vec<(String, Oid)> = Vec::new();
    let mut statuses = Vec::with_capacity(names.len());
    for (name, fetched) in plan.remotes {
        let at = match &fetched {
            Fetched::At { theirs } => Some(*theirs),
            _ => None,
        };
        // A push that "lost the race" to a branch that has not moved since lost to nobody:
        // the server refused it, in words a race also uses.
        if let Some(l) = lost_before.iter().find(|l| l.name == name)
            && matches!(fetched, Fetched::At { .. } | Fetched::Empty)
            && at == l.fetched
        {
            let earlier = report.remotes.iter_mut().find(|(n, _)| *n == name);
            let earlier = earlier.map(|(_, st)| std::mem::replace(st, RemoteStatus::Reached { pushed: false }));
            let refusal = match earlier {
                Some(RemoteStatus::PushRefused(Refusal::Transport(TransportError::Moved { url, said }))) => {
                    Refusal::Transport(TransportError::NotTaken { url, why: said })
                }
                Some(RemoteStatus::PushRefused(r)) => r,
                _ => Refusal::Transport(TransportError::NotTaken { url: name.clone(), why: String::new() }),
            };
            statuses.push((name, RemoteStatus::PushRefused(refusal)));
            continue;
        }
        let status = match fetched {
            Fetched::Unreachable { message } => RemoteStatus::Unreachable { message },
            Fetched::Refused(r) => RemoteStatus::Refused(r),
            Fetched::Empty => RemoteStatus::Reached { pushed: false },
            Fetched::At { theirs } => {
                let merged = super::merge_into_head(store, s.vault(), &s.ctx.device, &name, theirs, &round.stamp);
                match merged {
                    Ok(Merged::UpToDate) => {}
                    Ok(Merged::FastForward) => report.merged += 1,
                    Ok(Merged::Merged { conflicts, kept_encrypted }) => {
                        report.merged += 1;
                        report.conflicts.extend(conflicts);
                        for k in kept_encrypted {
                            report.kept_encrypted.push(KeptEncrypted {
                                remote: name.clone(),
                                commit: theirs.to_string(),
                                target: managed::target_of_source(&k).unwrap_or(k),
                            });
                        }
                    }
                    Err(SyncError::Unrelated { .. }) => {
                        statuses.push((name, RemoteStatus::Refused(Refusal::Unrelated)));
                        continue;
                    }
                    Err(e) => {
                        pending.restore().ok();
                        return Err(e);
                    }
                }
                store.set_seen(&name, theirs)?;
                fetched_at.push((name.clone(), theirs));
                RemoteStatus::Reached { pushed: false }
            }
        };
        statuses.push((name, status));
    }
    if let Err(e) = pending.restore() {
        sink.warn(format!("could not restore this device's audit records: {e}"));
    }

    // Bring HOME up to date with what came in (or what an interrupted sync did not apply). A
    // target that cannot be written is reported; the rest is applied and pushed.
    if report.merged > merged_before || home_behind {
        let targets_before = s.state.entries.len();
        // The recipients and rules may have changed: they take effect only when authenticated.
        s.refresh_trust()?;
        for a in &s.trust().accepted {
            if !report.accepted.contains(a) {
                report.accepted.push(a.clone());
            }
        }
        if s.trust().sealed {
            let d = &s.ctx.device;
            store.commit_all(d, &format!("{d}: seal the merged keys and rules\n\nDevice: {d}\n"))?;
        }
        if crate::fsutil::read_beneath(&s.ctx.store, &s.ctx.store.join(".chezmoiignore")).ok() != round.ignore_before {
            let before = report.ignore_changed.map_or(targets_before, |(b, _)| b);
            report.ignore_changed = Some((before, s.state.entries.len()));
        }
        let (applied, delegated, delegation) = apply_all(s, opts.delegate, sink)?;
        if !matches!(delegation, crate::delegate::Delegation::Nothing) {
            report.delegated = delegated;
            report.delegation = delegation;
        }
        report.applied = Some(match report.applied.take() {
            Some(mut earlier) => {
                earlier.absorb(applied);
                earlier
            }
            None => applied,
        });
    }

    let mut lost = Vec::new();
    let fetched_value = |name: &str| fetched_at.iter().find(|(n, _)| n == name).map(|(_, id)| *id);
    if !opts.no_push {
        // A remote whose branch was fetched just now at HEAD has nothing to receive.
        let head = store.head_commit()?;
        for (name, status) in &mut statuses {
            if !matches!(status, RemoteStatus::Reached { .. })
                || fetched_at.iter().any(|(n, id)| n == name && Some(*id) == head)
            {
                continue;
            }
            match store.push(name) {
                Ok(()) => {
                    // The remote now holds HEAD: what it is seen at from now on.
                    if let Some(head) = head {
                        store.set_seen(name, head)?;
                        report.pushed_commits.push((name.clone(), head.to_string()));
                    }
                    report.pushed += 1;
                    *status = RemoteStatus::Reached { pushed: true };
                }
                Err(e) if e.is_unreachable() => *status = RemoteStatus::Unreachable { message: e.to_string() },
                Err(e) if e.is_race() => {
                    lost.push(Lost { name: name.clone(), fetched: fetched_value(name) });
                    *status = RemoteStatus::PushRefused(Refusal::Transport(e));
                }
                Err(e) => *status = RemoteStatus::PushRefused(Refusal::Transport(e)),
            }
        }
    }
    for (name, status) in statuses {
        match report.remotes.iter_mut().find(|(n, _)| *n == name) {
            // A remote that took an earlier attempt's push and had nothing new now: still pushed.
            Some((_, RemoteStatus::Reached { pushed: true })) if matches!(status, RemoteStatus::Reached { .. }) => {}
            Some((_, earlier)) => *earlier = status,
            None => report.remotes.push((name, status)),
        }
    }
    Ok(lost)
}

/// The conflict copies in the store now, each with how it got there: `before` were there when
/// the sync began, `made` (repository paths) were written by its merges, the rest came with
/// fetched commits.
fn unsettled(
    s: &Session,
    store: &Store,
    before: Vec<resolve::Conflict>,
    made: &[String],
) -> Result<Vec<Unsettled>, SyncError> {
    let now = resolve::find(&s.state, &s.ctx.device);
    if now == before {
        return Ok(now.into_iter().map(|conflict| Unsettled { conflict, arrival: Arrival::Earlier }).collect());
    }
    let mut out = Vec::with_capacity(now.len());
    for conflict in now {
        let arrival = if before.iter().any(|b| b.source == conflict.source) {
            Arrival::Earlier
        } else if made.contains(&resolve::repo_path(store, &s.state, &conflict.source)) {
            Arrival::Made
        } else {
            Arrival::Received { by: resolve::live_by(store, &s.state, &conflict)? }
        };
        out.push(Unsettled { conflict, arrival });
    }
    Ok(out)
}

/// Applies the whole store to HOME, as a sync does after merging, with what dotback leaves to
/// chezmoi when `delegate`. What is deleted in HOME stays deleted: its deletion is recorded, or
/// held by the guard for the user to decide.
fn apply_all(
    s: &mut Session,
    delegate: bool,
    sink: &dyn Sink,
) -> Result<(apply::Report, Vec<crate::delegate::Item>, crate::delegate::Delegation), SyncError> {
    // Code this device has not accepted goes to chezmoi never: the held-back change is reported.
    let delegate = delegate && !s.trust().code_held();
    if delegate {
        s.decide_ignores_with_chezmoi().map_err(crate::session::SessionError::Scan)?;
    }
    let mut p = s.parts();
    let evals = eval::evaluate(p.ctx, p.state, p.cache, p.vault, &Selection::all())?;
    let actions = apply::plan(&evals, PlanOptions { force: false, keep_deleted: true });
    let delegated = if delegate { crate::delegate::items(p.state) } else { Vec::new() };
    let (result, delegation) = apply::execute_delegating(&mut p, &actions, &delegated, sink);
    Ok((result?, delegated, delegation))
}

/// What `sync --dry-run` found: what would be committed, what each remote would bring, and
/// what would be pushed. Nothing is committed, merged, applied or pushed; only the
/// remote-tracking refs a fetch moves change.
#[derive(Debug)]
pub struct DryRun {
    /// Changes waiting to be committed (HOME's and the store's), as `~/target (why)` lines.
    pub local: Vec<String>,
    pub remotes: Vec<(String, DryRemote)>,
    /// Remotes that would receive commits, and how many.
    pub would_push: Vec<(String, usize)>,
    /// The conflicts already in the store, unsettled.
    pub unsettled: Vec<resolve::Conflict>,
}

#[derive(Debug)]
pub enum DryRemote {
    Unreachable {
        message: String,
    },
    Refused(Refusal),
    Empty,
    /// What merging would do: the preview, with the paths it would change and the conflict
    /// copies it would write.
    Merge {
        preview: Preview,
    },
}

/// `sync --dry-run`: the same [`plan`] a sync carries out, with each merge previewed.
pub fn dry_run(s: &mut Session, opts: &SyncOptions, sink: &dyn Sink) -> Result<DryRun, SyncError> {
    let store = s.store()?;
    let names = remotes(&store, opts.remote.as_deref())?;
    let p = s.parts();
    let evals = eval::evaluate(p.ctx, p.state, p.cache, p.vault, &Selection::all())?;
    let mut local: Vec<String> = evals
        .iter()
        .filter(|e| {
            matches!(
                e.change,
                Change::ChangedInHome | Change::ChangedInBoth | Change::DeletedInHome | Change::WaitingForIdentity
            )
        })
        .map(|e| format!("~/{} ({})", e.target, e.change.describe()))
        .collect();
    local.extend(store.uncommitted()?.into_iter().map(|u| format!("{} ({} in the store)", u.path, u.change)));
    let stamp = crate::state::timestamp();
    let mut remotes = Vec::new();
    for (name, fetched) in plan(s, opts, sink)?.remotes {
        let dry = match fetched {
            Fetched::Unreachable { message } => DryRemote::Unreachable { message },
            Fetched::Refused(r) => DryRemote::Refused(r),
            Fetched::Empty => DryRemote::Empty,
            Fetched::At { theirs } => match super::preview(&store, s.vault(), &name, theirs, &stamp) {
                Err(SyncError::Unrelated { .. }) => DryRemote::Refused(Refusal::Unrelated),
                Err(e) => return Err(e),
                Ok(preview) => DryRemote::Merge { preview },
            },
        };
        remotes.push((name, dry));
    }
    let would_push = store
        .remote_state()?
        .into_iter()
        .filter(|r| names.contains(&r.name))
        .map(|r| (r.name, r.ahead + usize::from(!local.is_empty())))
        .filter(|(_, n)| *n > 0)
        .collect();
    let unsettled = resolve::find(&s.state, &s.ctx.device);
    Ok(DryRun { local, remotes, would_push, unsettled })
}
