//! `dotback watch`: real-time sync in both directions, as a loop over the library's own capture,
//! commit, push and sync operations (never a second implementation of them).
//!
//! - **Local changes.** What is tracked is watched, not the whole HOME: a tracked directory
//!   recursively (a new file in it is added, subject to `.chezmoiignore` and the secret rules), a
//!   tracked file through its parent directory, non-recursively and filtered by name (editors
//!   replace files by rename, and vim's save kills a watch on the file itself). A burst of events
//!   is debounced into one batch: one capture of just the changed targets, one commit, one push.
//! - **Deletions** go through the same capture, under the same deletion guard as `sync`.
//! - **When the watch breaks**: a rescan flag or a watcher error triggers one full capture; a
//!   directory that could not be watched (the inotify limit) is scanned periodically instead and
//!   its watch retried with backoff; a tracked directory deleted and recreated is watched again.
//! - **Remote changes**: every `pull_interval` the remotes' refs are listed (nothing fetched or
//!   scanned while nothing moved); a moved ref, a push that lost a race, a clock jump (resume
//!   from suspend) or the start runs a whole `sync`.
//! - **Offline**: pushes back off exponentially; commits accumulate on the branch meanwhile.
//! - **One watcher per store**: a lock in the state directory names the running one.

mod lock;

use crate::capture::{self, AddOptions, CommitOptions};
use crate::context::Context;
use crate::eval::Selection;
use crate::events::{Silent, Sink};
use crate::service::{WatchCommit, WatchStatus};
use crate::session::{Access, Session, SessionError};
use crate::source::Kind;
use crate::state::StateError;
use crate::sync::{self, SyncOptions};
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, NoCache, new_debouncer_opt};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant, SystemTime};

pub use lock::WatchLock;

/// How the watcher paces itself.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Quiet time after the last event of a burst before it is captured.
    pub debounce: Duration,
    /// How often what could not be watched is scanned instead.
    pub fallback_scan: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions { debounce: Duration::from_millis(100), fallback_scan: Duration::from_secs(10) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("another watcher runs for this store (pid {pid}, since {since}); stop it first (its lock: {})", lock.display())]
    AlreadyRunning { pid: u32, since: String, lock: PathBuf },
    #[error(transparent)]
    Lock(#[from] crate::error::PathError),
    #[error("cannot start watching for changes: {0}")]
    Notify(#[from] notify::Error),
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// The longest the loop sleeps: a stop request is noticed within it.
const TICK: Duration = Duration::from_millis(250);
/// Pushes and polls that fail wait this long, doubling up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long deletions must have stopped coming before they are captured, all together.
const DELETE_SETTLE: Duration = Duration::from_millis(1500);
/// How long a batch waits when another dotback process holds the store.
const BUSY_RETRY: Duration = Duration::from_millis(300);
/// The same error is alerted again only after this long.
const REALERT: Duration = Duration::from_secs(3600);

/// What a burst of events touched.
#[derive(Debug, Default)]
struct Batch {
    /// Tracked targets that changed (or went away).
    changed: BTreeSet<String>,
    /// Untracked paths below a tracked directory: to be added.
    new: BTreeSet<String>,
    /// Events may have been lost (a rescan flag, a watcher error): capture everything.
    rescan: bool,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.new.is_empty() && !self.rescan
    }

    fn absorb(&mut self, other: Batch) {
        self.changed.extend(other.changed);
        self.new.extend(other.new);
        self.rescan |= other.rescan;
    }
}

/// A directory the watcher wants watched.
#[derive(Debug)]
struct Root {
    mode: RecursiveMode,
    state: RootState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RootState {
    Watched,
    /// Not there (yet): looked for at every turn of the loop.
    Missing,
    /// The OS refused another watch: scanned every `fallback_scan`, and retried at `retry`.
    Refused {
        retry: Instant,
        backoff: Duration,
    },
}

/// A backoff schedule: when next, and how long after that.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    at: Instant,
    wait: Duration,
}

impl Backoff {
    fn after_failure(prev: Option<Backoff>, base: Duration) -> Backoff {
        let wait = prev.map_or(base, |b| (b.wait * 2).min(MAX_BACKOFF));
        Backoff { at: Instant::now() + wait, wait }
    }
}

struct Watcher<'a> {
    ctx: &'a Context,
    opts: &'a WatchOptions,
    sink: &'a dyn Sink,
    debouncer: Debouncer<notify::RecommendedWatcher, NoCache>,
    events: Receiver<DebounceEventResult>,
    roots: BTreeMap<PathBuf, Root>,
    /// Every target the store has, and which of them are directories.
    tracked: BTreeSet<String>,
    tracked_dirs: BTreeSet<String>,
    /// A batch that could not be captured yet (the store was busy), and when to try again.
    pending: Batch,
    retry_at: Option<Instant>,
    /// Commits not yet on every remote, and when to try pushing again.
    unpushed: bool,
    push_backoff: Option<Backoff>,
    next_poll: Instant,
    poll_backoff: Option<Backoff>,
    next_fallback: Instant,
    warned_limit: bool,
    /// Wall clock and monotonic clock at the last turn: a jump between them is a resume.
    clock: (SystemTime, Instant),
    /// What `dotback status` and `dotback service status` show, in the state directory.
    status: RefCell<WatchStatus>,
    /// Store paths committed since the last push: the audit trail gets one record per push.
    committed_since_push: usize,
    /// The deletions the guard held back at the last sync (said once, not at every poll).
    held_deletions: Vec<String>,
    /// The errors sent to `alert_command` since the last action that went well, and when.
    alerted: RefCell<BTreeMap<String, Instant>>,
    /// Since when commits have waited for a push, and whether that was alerted as past the RPO.
    waiting_since: Option<Instant>,
    stale_alerted: bool,
    /// Tracked targets gone from HOME, waiting for the deletions to stop coming, and since when.
    deletions: BTreeSet<String>,
    deletions_at: Option<Instant>,
}

/// Runs the watcher until `stop` is set (by SIGTERM or Ctrl-C in the CLI); finishes the batch in
/// flight first. Logs one line per action through `sink`.
pub fn run(ctx: &Context, opts: &WatchOptions, stop: &AtomicBool, sink: &dyn Sink) -> Result<(), WatchError> {
    let _lock = WatchLock::acquire(&ctx.paths.state_dir)?;
    small_heap();
    let (tx, events) = channel();
    let debouncer = new_debouncer_opt::<_, notify::RecommendedWatcher, NoCache>(
        opts.debounce,
        None,
        tx,
        NoCache,
        notify::Config::default(),
    )?;
    let now = Instant::now();
    let mut w = Watcher {
        ctx,
        opts,
        sink,
        debouncer,
        events,
        roots: BTreeMap::new(),
        tracked: BTreeSet::new(),
        tracked_dirs: BTreeSet::new(),
        pending: Batch::default(),
        retry_at: None,
        unpushed: false,
        push_backoff: None,
        next_poll: now + ctx.pull_interval,
        poll_backoff: None,
        next_fallback: now + opts.fallback_scan,
        warned_limit: false,
        clock: (SystemTime::now(), now),
        status: RefCell::new(WatchStatus {
            pid: std::process::id(),
            started: crate::state::rfc3339_now(),
            ..Default::default()
        }),
        committed_since_push: 0,
        held_deletions: Vec::new(),
        alerted: RefCell::new(BTreeMap::new()),
        waiting_since: None,
        stale_alerted: false,
        deletions: BTreeSet::new(),
        deletions_at: None,
    };
    w.save_status();
    sink.news(format!("watching what {} tracks in {}", ctx.store.display(), ctx.paths.home.display()));
    // What changed while no watcher ran, and what the remotes have.
    w.sync("start");
    w.refresh_roots();
    trim_heap();
    let watched = w.watched_count();
    sink.news(format!("ready: {watched} director{} watched", if watched == 1 { "y" } else { "ies" }));
    while !stop.load(Ordering::Relaxed) {
        let batch = w.collect(w.sleep_for());
        let busy = !batch.is_empty();
        w.pending.absorb(batch);
        if w.retry_at.is_none_or(|t| Instant::now() >= t) {
            w.capture_pending();
        }
        w.timers();
        if busy {
            trim_heap();
        }
    }
    // The batch in flight is finished, and what is committed is pushed once more.
    let last = w.collect(Duration::ZERO);
    w.pending.absorb(last);
    // Deletions still settling are captured now, with the guard weighing them as usual.
    if let Some(at) = w.deletions_at.as_mut() {
        *at = Instant::now().checked_sub(DELETE_SETTLE).unwrap_or(*at);
    }
    w.capture_pending();
    if w.unpushed {
        w.push();
    }
    sink.news("stopped".into());
    Ok(())
}

impl Watcher<'_> {
    /// Logs an error, keeps it as the last one in the status file, and alerts it.
    fn error(&self, message: String) {
        self.alert(&message);
        self.hiccup(message);
    }

    /// Logs an error the watcher gets over by itself (a rescan), and keeps it as the last one.
    fn hiccup(&self, message: String) {
        self.sink.warn(format!("error: {message}"));
        self.status.borrow_mut().last_error =
            Some(crate::service::WatchError { message, time: crate::state::rfc3339_now() });
        self.save_status();
    }

    /// Runs `alert_command` with an error-level finding; each one again only after [`REALERT`]
    /// while nothing goes well, so remotes that keep refusing do not alert at every push.
    fn alert(&self, message: &str) {
        let Some(command) = &self.ctx.alert_command else { return };
        {
            let mut alerted = self.alerted.borrow_mut();
            alerted.retain(|_, at| at.elapsed() < REALERT);
            if alerted.contains_key(message) {
                return;
            }
            alerted.insert(message.to_string(), Instant::now());
        }
        let findings = [crate::health::check::Finding::error("watch", message)];
        let alert = crate::health::alert::Alert::new("watch", &self.ctx.device, &findings);
        if let Err(why) = crate::health::alert::send(command, &alert) {
            self.sink.warn(crate::health::alert::failed(&why).message);
        }
    }

    /// An action went well: the last error is behind.
    fn went_well(&self) {
        self.status.borrow_mut().last_error = None;
    }

    /// Every remote took what there was: a problem that comes back is alerted again.
    fn all_clear(&self) {
        self.went_well();
        self.alerted.borrow_mut().clear();
    }

    fn save_status(&self) {
        let mut st = self.status.borrow_mut();
        st.updated = crate::state::rfc3339_now();
        if let Err(e) = st.save(&self.ctx.paths.state_dir) {
            self.sink.warn(format!("could not write the watcher's status: {e}"));
        }
    }

    /// How long the loop may sleep: until the next timer, at most [`TICK`].
    fn sleep_for(&self) -> Duration {
        let mut next = Instant::now() + TICK;
        for t in [
            Some(self.next_poll),
            self.retry_at,
            self.push_backoff.filter(|_| self.unpushed).map(|b| b.at),
            self.deletions_at.map(|at| at + DELETE_SETTLE),
        ]
        .into_iter()
        .flatten()
        {
            next = next.min(t);
        }
        next.saturating_duration_since(Instant::now())
    }

    /// Waits up to `wait` for events, then takes whatever else is queued: one batch.
    fn collect(&mut self, wait: Duration) -> Batch {
        let mut batch = Batch::default();
        let first = match self.events.recv_timeout(wait) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => return batch,
            Err(RecvTimeoutError::Disconnected) => {
                batch.rescan = true;
                return batch;
            }
        };
        self.take(first, &mut batch);
        while let Ok(more) = self.events.try_recv() {
            self.take(more, &mut batch);
        }
        batch
    }

    fn take(&mut self, result: DebounceEventResult, batch: &mut Batch) {
        let events = match result {
            Ok(events) => events,
            Err(errors) => {
                for e in errors {
                    self.hiccup(format!("the file watcher says: {e}; scanning everything once"));
                }
                batch.rescan = true;
                return;
            }
        };
        for e in events {
            if e.need_rescan() {
                batch.rescan = true;
            }
            for path in &e.paths {
                if matches!(e.kind, EventKind::Remove(_))
                    && let Some(root) = self.roots.get_mut(path)
                {
                    root.state = RootState::Missing;
                }
                self.classify(path, batch);
            }
        }
    }

    /// Puts `path` in the batch when it is tracked, or new below a tracked directory.
    fn classify(&self, path: &Path, batch: &mut Batch) {
        let Some(target) = path.strip_prefix(&self.ctx.paths.home).ok().and_then(Path::to_str) else { return };
        if target.is_empty() || self.ctx.own_place_of(target).is_some() {
            return;
        }
        if self.tracked.contains(target) {
            batch.changed.insert(target.to_string());
        } else if self.below_tracked_dir(target) {
            batch.new.insert(target.to_string());
        }
    }

    fn below_tracked_dir(&self, target: &str) -> bool {
        let mut at = target;
        while let Some((parent, _)) = at.rsplit_once('/') {
            if self.tracked_dirs.contains(parent) {
                return true;
            }
            at = parent;
        }
        false
    }

    /// Captures and commits the pending batch (if the store is free), and pushes what that
    /// committed.
    fn capture_pending(&mut self) {
        // Deletions wait until they stop coming, then go in one capture with everything tracked
        // that is gone from HOME, so the deletion guard weighs them all at once (an unmounted
        // disk or an `rm -rf` arrives as many events over a while, never as one batch).
        let gone: Vec<String> = self
            .pending
            .changed
            .iter()
            .filter(|t| std::fs::symlink_metadata(self.ctx.live(t)).is_err())
            .cloned()
            .collect();
        if !gone.is_empty() && !self.pending.rescan {
            for t in &gone {
                self.pending.changed.remove(t);
            }
            self.deletions.extend(gone);
            self.deletions_at = Some(Instant::now());
        }
        if self.deletions_at.is_some_and(|at| at.elapsed() >= DELETE_SETTLE) {
            self.deletions_at = None;
            let mut all: BTreeSet<String> = std::mem::take(&mut self.deletions);
            all.extend(self.tracked.iter().filter(|t| std::fs::symlink_metadata(self.ctx.live(t)).is_err()).cloned());
            self.pending.changed.extend(all);
        }
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        match self.capture(&batch) {
            Ok(committed) => {
                self.retry_at = None;
                if committed {
                    self.unpushed = true;
                    self.push_backoff = None;
                    self.push();
                }
            }
            Err(Busy) => {
                self.pending = batch;
                self.retry_at = Some(Instant::now() + BUSY_RETRY);
            }
        }
    }

    /// One capture of `batch` and a commit; `Ok(true)` when a commit was made.
    fn capture(&mut self, batch: &Batch) -> Result<bool, Busy> {
        // After lost events, what is new in the added directories is looked for too.
        let lost: Vec<String> = match batch.rescan {
            true => self.tracked_dirs.iter().flat_map(|d| self.untracked_below(d)).collect(),
            false => Vec::new(),
        };
        let new: Vec<String> = batch
            .new
            .iter()
            .chain(&lost)
            .filter(|t| std::fs::symlink_metadata(self.ctx.live(t)).is_ok())
            .cloned()
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        if !new.is_empty() {
            let Some(mut s) = self.open()? else { return Ok(false) };
            let p = s.parts();
            match capture::add(p.ctx, p.state, p.cache, p.vault, &new, AddOptions::default(), &Silent) {
                Ok(r) => {
                    // What `.chezmoiignore` leaves out is not news: it is what the user asked for.
                    for (t, why) in r.skipped.iter().filter(|(t, _)| !s.state.ignore.is_ignored(t)) {
                        self.sink.news(format!("not added: ~/{t} ({why})"));
                    }
                }
                Err(e) => self.error(format!("could not add {}: {e}", shown(&new))),
            }
            self.finish(s);
        }
        let selection = if batch.rescan {
            Selection::all()
        } else {
            Selection::of(batch.changed.iter().chain(&new).cloned().collect())
        };
        let Some(mut s) = self.open()? else { return Ok(false) };
        let opts = CommitOptions { selection, ..Default::default() };
        let result = capture::commit(&mut s, &opts, &Silent);
        self.learn(&s);
        self.finish(s);
        match result {
            Ok(c) => {
                let held = &c.captured.held_deletions;
                if !held.is_empty() {
                    self.sink.warn(format!(
                        "the deletion guard held back {} deletion{} in HOME ({}); nothing of it was recorded. Record them with `dotback commit --allow-deletions`, or restore them with `dotback apply`",
                        held.len(),
                        if held.len() == 1 { "" } else { "s" },
                        shown(held)
                    ));
                }
                for (t, why) in &c.captured.refused {
                    self.sink.warn(format!("not captured: ~/{t}: {why}"));
                }
                let Some(commit) = c.commit else { return Ok(false) };
                let mut what: Vec<String> = c.captured.captured.clone();
                what.extend(c.captured.deleted.iter().map(|d| format!("{d} (deleted)")));
                for n in &new {
                    if !what.contains(n) {
                        what.push(n.clone());
                    }
                }
                self.sink.news(format!("committed {}: {}", &commit[..commit.len().min(10)], shown(&what)));
                self.committed_since_push += c.paths;
                self.status.borrow_mut().last_commit =
                    Some(WatchCommit { id: commit, time: crate::state::rfc3339_now() });
                self.went_well();
                self.save_status();
                Ok(true)
            }
            Err(e) => {
                self.error(format!("capture failed: {e}"));
                Ok(false)
            }
        }
    }

    /// A writer session, or `Busy` while another dotback process holds the store.
    fn open(&self) -> Result<Option<Session>, Busy> {
        match Session::open(self.ctx.clone(), Access::Write, &Silent) {
            Ok(s) => Ok(Some(s)),
            Err(SessionError::State(StateError::Locked { .. })) => Err(Busy),
            Err(e) => {
                self.error(format!("{e}"));
                Ok(None)
            }
        }
    }

    fn finish(&self, s: Session) {
        if let Err(e) = s.finish() {
            self.error(format!("{e}"));
        }
    }

    /// Takes the tracked targets from a session's scan of the store. The directories watched as
    /// a whole are those this device's user added, also once deleted from HOME (and so from the
    /// store): recreated, they are watched again and what they hold is added.
    fn learn(&mut self, s: &Session) {
        self.tracked = s.state.entries.iter().map(|m| m.target.clone()).collect();
        self.tracked_dirs = crate::state::added_dirs(&self.ctx.paths.state_dir)
            .into_iter()
            .filter(|d| self.ctx.own_place_of(d).is_none())
            .filter(|d| s.state.get(d).is_none_or(|m| m.is_native() && m.entry.kind == Kind::Dir))
            .collect();
    }

    /// Pushes to every remote; a lost race becomes a sync (fetch, merge, push again).
    fn push(&mut self) {
        // A push that failed before goes through a whole sync, whose session first finishes what
        // a killed run left (a branch lock on a local remote, say) and merges what moved.
        if self.push_backoff.is_some_and(|b| b.wait >= FIRST_BACKOFF) {
            self.sync("pushing what waited");
            return;
        }
        // Pushing changes no file: the store's lock is enough, without a scan of the store.
        let lock = match crate::state::Lock::acquire(&self.ctx.paths.state_dir, Duration::ZERO) {
            Ok(lock) => lock,
            Err(StateError::Locked { .. }) => {
                self.push_backoff = Some(Backoff { at: Instant::now() + BUSY_RETRY, wait: BUSY_RETRY });
                return;
            }
            Err(e) => return self.error(e.to_string()),
        };
        let pushed = crate::store::Store::open(&self.ctx.store).map_err(|e| e.to_string()).and_then(|store| {
            let remotes = sync::remotes(&store, None).map_err(|e| e.to_string())?;
            crate::push::push_all(&store, &remotes).map_err(|e| e.to_string())
        });
        drop(lock);
        let report = match pushed {
            Ok(r) => r,
            Err(e) => {
                self.unpushed = false; // no remotes (or no store): nothing to push to
                self.sink.news(format!("not pushed: {e}"));
                return;
            }
        };
        for name in &report.pushed {
            self.sink.news(format!("pushed to {name}"));
            self.status.borrow_mut().last_push.insert(name.clone(), crate::state::rfc3339_now());
        }
        self.status.borrow_mut().pending_pushes = report.unreachable.len() + report.refused.len();
        if report.refused.is_empty() && !report.pushed.is_empty() {
            self.all_clear();
        }
        self.save_status();
        self.audit(&report);
        let raced = report.refused.iter().any(|(_, e)| e.is_race());
        for (name, e) in report.refused.iter().filter(|(_, e)| !e.is_race()) {
            self.error(format!("{name} refused the push: {e}"));
        }
        if raced {
            self.sync("a remote moved while pushing");
            return;
        }
        if report.unreachable.is_empty() {
            self.unpushed = false;
            self.push_backoff = None;
            // Another device may have pushed meanwhile: ask at once rather than at the next poll.
            self.next_poll = Instant::now();
        } else {
            let b = Backoff::after_failure(self.push_backoff, FIRST_BACKOFF);
            let names: Vec<&str> = report.unreachable.iter().map(|(n, _)| n.as_str()).collect();
            self.sink.warn(format!(
                "could not reach {}; the commits wait on the branch, next try in {} s",
                names.join(", "),
                b.wait.as_secs_f64().ceil()
            ));
            self.push_backoff = Some(b);
        }
    }

    /// One audit record per push batch (not one per save), travelling with the next commit.
    fn audit(&mut self, report: &crate::push::PushReport) {
        let outcome = if !report.refused.is_empty() {
            "refused"
        } else if !report.unreachable.is_empty() {
            "offline"
        } else {
            "ok"
        };
        let record = crate::audit::Record {
            time: crate::state::rfc3339_now(),
            device: self.ctx.device.clone(),
            user: crate::audit::user(),
            command: "watch".into(),
            outcome: outcome.into(),
            committed: std::mem::take(&mut self.committed_since_push),
            remotes_reached: report.pushed.len() + report.refused.len(),
            remotes_unreachable: report.unreachable.iter().map(|(n, _)| n.clone()).collect(),
            remotes_refused: report.refused.iter().map(|(n, _)| n.clone()).collect(),
            pushed: report.pushed.len(),
            ..Default::default()
        };
        if let Err(e) = crate::audit::append(&self.ctx.store, &record) {
            self.sink.warn(format!("could not write the audit record: {e}"));
        }
    }

    /// A whole sync: capture, fetch, merge, apply, push (as `dotback sync` does, scripts and
    /// templates aside: an unattended sync runs nothing from the store).
    fn sync(&mut self, why: &str) {
        let mut s = match self.open() {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(Busy) => {
                self.next_poll = Instant::now() + BUSY_RETRY;
                return;
            }
        };
        let result = sync::run(&mut s, &SyncOptions::default(), &Silent);
        self.learn(&s);
        self.finish(s);
        match result {
            Ok(r) => {
                let held = &r.committed.captured.held_deletions;
                if !held.is_empty() && *held != self.held_deletions {
                    self.sink.warn(format!(
                        "the deletion guard held back {} deletion{} in HOME ({}); nothing of it was recorded. Record them with `dotback commit --allow-deletions`, or restore them with `dotback apply`",
                        held.len(),
                        plural(held.len()),
                        shown(held)
                    ));
                }
                self.held_deletions = held.clone();
                if r.committed.commit.is_some() {
                    self.sink.news(format!("committed what changed in HOME ({} paths)", r.committed.paths));
                }
                if r.merged > 0 {
                    self.sink.news(format!("fetched and merged {} commit{} ({why})", r.merged, plural(r.merged)));
                }
                if r.applied_count() > 0 {
                    self.sink.news(format!(
                        "applied {} change{} to HOME",
                        r.applied_count(),
                        plural(r.applied_count())
                    ));
                }
                for c in &r.conflicts {
                    self.sink.warn(format!("conflict: {c}; `dotback resolve` settles it"));
                }
                {
                    let mut st = self.status.borrow_mut();
                    st.conflicts = r.unsettled.len();
                    st.pending_pushes = r.unreachable().count();
                    for (name, _) in &r.pushed_commits {
                        st.last_push.insert(name.clone(), crate::state::rfc3339_now());
                    }
                }
                let refused: Vec<String> = r.refused().map(|(n, why)| format!("{n} refused the sync: {why}")).collect();
                if refused.is_empty() {
                    self.all_clear();
                }
                self.save_status();
                for message in refused {
                    self.error(message);
                }
                if r.pushed > 0 {
                    self.sink.news(format!("pushed {} commit{}", r.pushed, plural(r.pushed)));
                }
                let unreachable: Vec<&str> = r.unreachable().map(|(n, _)| n).collect();
                self.unpushed = !unreachable.is_empty();
                if self.unpushed {
                    self.push_backoff = Some(Backoff::after_failure(self.push_backoff, FIRST_BACKOFF));
                    self.sink.warn(format!("could not reach {}; trying again later", unreachable.join(", ")));
                }
            }
            Err(crate::sync::SyncError::NoRemotes) => {
                // Nothing to sync with: what changed is still committed.
                self.pending.rescan = true;
            }
            Err(e) => self.error(format!("sync failed: {e}")),
        }
        self.next_poll = Instant::now() + self.ctx.pull_interval;
        self.refresh_roots();
    }

    /// Lists the remotes' refs; a moved one is synced.
    fn poll(&mut self) {
        let moved = (|| -> Result<bool, String> {
            let store = crate::store::Store::open(&self.ctx.store).map_err(|e| e.to_string())?;
            let mut moved = false;
            for (name, _) in store.remotes().map_err(|e| e.to_string())? {
                let tip = store.remote_tip(&name).map_err(|e| e.to_string())?;
                moved |= tip.is_some() && tip != store.seen(&name);
            }
            Ok(moved)
        })();
        match moved {
            Ok(true) => {
                self.poll_backoff = None;
                self.sync("a remote moved");
            }
            Ok(false) => {
                self.poll_backoff = None;
                self.next_poll = Instant::now() + self.ctx.pull_interval;
            }
            Err(e) => {
                let b = Backoff::after_failure(self.poll_backoff, FIRST_BACKOFF.max(self.ctx.pull_interval));
                self.sink.warn(format!("could not ask the remotes ({e}); next try in {} s", b.wait.as_secs()));
                self.next_poll = b.at;
                self.poll_backoff = Some(b);
            }
        }
    }

    fn timers(&mut self) {
        let now = Instant::now();
        // Suspended and resumed: the wall clock moved on more than the monotonic one.
        let (wall, mono) = self.clock;
        let slept = SystemTime::now().duration_since(wall).unwrap_or_default();
        if slept > now.duration_since(mono) + Duration::from_secs(30) {
            self.sink.news("the clock jumped (a resume?): asking the remotes".into());
            self.next_poll = now;
        }
        self.clock = (SystemTime::now(), now);
        if self.unpushed && self.push_backoff.is_some_and(|b| now >= b.at) {
            self.push();
        }
        self.staleness(now);
        if now >= self.next_poll {
            self.poll();
        }
        self.rewatch();
        if now >= self.next_fallback {
            self.next_fallback = now + self.opts.fallback_scan;
            let unwatched: Vec<(String, RecursiveMode)> = self
                .roots
                .iter()
                .filter(|(_, r)| matches!(r.state, RootState::Refused { .. }))
                .filter_map(|(p, r)| Some((p.strip_prefix(&self.ctx.paths.home).ok()?.to_str()?.to_string(), r.mode)))
                .collect();
            if !unwatched.is_empty() {
                self.scan(unwatched);
            }
        }
    }

    /// Commits that waited for a push longer than the RPO (device config `rpo`) are an error,
    /// alerted once until a push gets through.
    fn staleness(&mut self, now: Instant) {
        if !self.unpushed {
            (self.waiting_since, self.stale_alerted) = (None, false);
            return;
        }
        let since = *self.waiting_since.get_or_insert(now);
        if !self.stale_alerted && now.duration_since(since) > Duration::from_secs(self.ctx.rpo) {
            self.stale_alerted = true;
            let rpo = crate::config::Interval(self.ctx.rpo);
            self.error(format!("commits have waited more than the RPO of {rpo} for a push that gets through"));
        }
    }

    /// Captures what the watches of `roots` would have seen (new files below a tracked
    /// directory included): roots just watched again, and roots no watch covers.
    fn scan(&mut self, roots: Vec<(String, RecursiveMode)>) {
        let mut batch = Batch::default();
        for (root, mode) in roots {
            let parent_is = |t: &str| t.rsplit_once('/').map_or("", |(p, _)| p) == root;
            match mode {
                RecursiveMode::Recursive => {
                    if self.tracked_dirs.contains(&root) {
                        batch.new.extend(self.untracked_below(&root));
                    }
                    batch
                        .changed
                        .extend(self.tracked.iter().filter(|t| crate::eval::is_at_or_below(t, &root)).cloned());
                }
                RecursiveMode::NonRecursive => {
                    batch.changed.extend(self.tracked.iter().filter(|t| parent_is(t)).cloned())
                }
            }
        }
        self.pending.absorb(batch);
        self.capture_pending();
    }

    /// The files and links below the added directory `root` that the store does not track yet
    /// (by name only: nothing is read), for `add` to take or to pass over.
    fn untracked_below(&self, root: &str) -> Vec<String> {
        let home = &self.ctx.paths.home;
        walkdir::WalkDir::new(home.join(root))
            .into_iter()
            .filter_entry(|e| !crate::context::is_git_dir(e.file_name()))
            .flatten()
            .filter(|e| !e.file_type().is_dir())
            .filter_map(|e| e.path().strip_prefix(home).ok()?.to_str().map(str::to_string))
            .filter(|t| !self.tracked.contains(t) && self.ctx.own_place_of(t).is_none())
            .collect()
    }

    /// Works out which directories to watch from what the store tracks, and watches the new ones.
    fn refresh_roots(&mut self) {
        if self.tracked.is_empty()
            && let Ok(Some(s)) = self.open()
        {
            self.learn(&s);
            self.finish(s);
        }
        let wanted = roots(&self.ctx.paths.home, &self.tracked, &self.tracked_dirs);
        self.roots.retain(|p, _| wanted.contains_key(p));
        for (path, mode) in wanted {
            let known = self.roots.get(&path).is_some_and(|r| r.mode == mode);
            if !known {
                let _ = self.debouncer.unwatch(&path);
                self.roots.insert(path.clone(), Root { mode, state: RootState::Missing });
            }
        }
        self.rewatch();
    }

    /// Watches every root that is not watched and whose time has come; one that is back after
    /// being gone is scanned, since its events were missed.
    fn rewatch(&mut self) {
        let now = Instant::now();
        let due: Vec<PathBuf> = self
            .roots
            .iter()
            .filter(|(p, r)| match r.state {
                RootState::Watched => false,
                RootState::Missing => p.is_dir(),
                RootState::Refused { retry, .. } => now >= retry,
            })
            .map(|(p, _)| p.clone())
            .collect();
        let mut back = Vec::new();
        for path in due {
            let root = self.roots.get(&path).expect("due roots are known");
            let (mode, was) = (root.mode, root.state);
            let result = match crate::testing::refused_watch(self.watched_count()) {
                true => Err(notify::Error::new(notify::ErrorKind::MaxFilesWatch)),
                false => self.debouncer.watch(&path, mode),
            };
            let state = match result {
                Ok(()) => {
                    if was == RootState::Missing
                        && let Some(t) = path.strip_prefix(&self.ctx.paths.home).ok().and_then(Path::to_str)
                    {
                        back.push((t.to_string(), mode));
                    }
                    RootState::Watched
                }
                Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) || is_enospc(&e) => {
                    if !self.warned_limit {
                        self.warned_limit = true;
                        self.sink.warn(format!(
                            "the system's limit on watched directories is reached ({}); what is not watched is scanned every {} s instead. Raise the limit with `sudo sysctl fs.inotify.max_user_watches=524288` (and in /etc/sysctl.d to keep it)",
                            path.display(),
                            self.opts.fallback_scan.as_secs()
                        ));
                    }
                    let backoff = match was {
                        RootState::Refused { backoff, .. } => (backoff * 2).min(Duration::from_secs(600)),
                        _ => Duration::from_secs(30),
                    };
                    RootState::Refused { retry: now + backoff, backoff }
                }
                Err(_) => RootState::Missing,
            };
            self.roots.get_mut(&path).expect("due roots are known").state = state;
        }
        if !back.is_empty() {
            self.scan(back);
        }
    }

    fn watched_count(&self) -> usize {
        self.roots.values().filter(|r| r.state == RootState::Watched).count()
    }
}

/// The store was busy (another dotback process holds it).
struct Busy;

/// A process that runs for weeks keeps one malloc arena, not one per thread that ever
/// evaluated: what a batch allocates is reused by the next instead of piling up per thread.
fn small_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning; called before the watcher's threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Gives what the batch freed back to the system, so an idle watcher stays small.
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory at the top of the heap.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn is_enospc(e: &notify::Error) -> bool {
    matches!(&e.kind, notify::ErrorKind::Io(io) if io.raw_os_error() == Some(libc::ENOSPC))
}

/// The directories to watch for `tracked` targets: each top-most tracked directory recursively,
/// and the parent of every other tracked target, non-recursively.
fn roots(home: &Path, tracked: &BTreeSet<String>, dirs: &BTreeSet<String>) -> BTreeMap<PathBuf, RecursiveMode> {
    let top: Vec<&String> =
        dirs.iter().filter(|d| !dirs.iter().any(|o| o != *d && crate::eval::is_at_or_below(d, o))).collect();
    let mut out = BTreeMap::new();
    for d in &top {
        out.insert(home.join(d), RecursiveMode::Recursive);
    }
    for t in tracked {
        if top.iter().any(|d| crate::eval::is_at_or_below(t, d)) {
            continue;
        }
        let parent = t.rsplit_once('/').map_or(home.to_path_buf(), |(p, _)| home.join(p));
        out.entry(parent).or_insert(RecursiveMode::NonRecursive);
    }
    out
}

fn shown(targets: &[String]) -> String {
    let mut names: Vec<String> = targets.iter().take(5).map(|t| format!("~/{t}")).collect();
    if targets.len() > 5 {
        names.push(format!("and {} more", targets.len() - 5));
    }
    names.join(", ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn files_are_watched_through_their_parent_and_directories_recursively() {
        let home = Path::new("/h");
        let tracked =
            set(&[".zshrc", ".config/nvim", ".config/nvim/init.lua", ".config/nvim/lua/a.lua", ".ssh/config"]);
        let dirs = set(&[".config/nvim", ".config/nvim/lua"]);
        let r = roots(home, &tracked, &dirs);
        let got: Vec<(String, bool)> =
            r.iter().map(|(p, m)| (p.display().to_string(), *m == RecursiveMode::Recursive)).collect();
        assert_eq!(
            got,
            [("/h".to_string(), false), ("/h/.config/nvim".to_string(), true), ("/h/.ssh".to_string(), false),]
        );
    }
}
