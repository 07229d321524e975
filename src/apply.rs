//! Store -> HOME: plan from the evaluation ([`crate::eval`]), then execute.
//!
//! Planning is a pure function of the evaluations, so `--dry-run` prints
//! exactly what a real run would do and the rules have table tests; execution writes each
//! target atomically with its final mode, backs up whatever it overwrites or removes, and refuses
//! to write anywhere a symlink would carry it out of HOME.

use crate::context::Context;
pub use crate::delegate::Delegation;
use crate::error::{IoContext, Op, PathError};
use crate::eval::{Change, Eval, EvalError, Hasher, Selection, handled_natively, same};
use crate::fsutil;
use crate::managed::{self, Managed, SourceState};
use crate::source::Kind;
use crate::state::{Backups, Cache, Node, NodeKind, StateError};
use crate::vault::Vault;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("~/{target} would be written through {}, a symlink that leads outside HOME to {}", via.display(), dest.display())]
    OutsideHome { target: String, via: PathBuf, dest: PathBuf },
    #[error("~/{target} cannot be written: {} is not a directory", blocker.display())]
    NotADirectory { target: String, blocker: PathBuf },
    #[error("cannot decrypt {}: {why}", path.display())]
    Decrypt { path: PathBuf, why: String },
    #[error("~/{target} leads through a symlink to {}, in {what}; apply never writes there", dest.display())]
    OwnPlace { target: String, dest: PathBuf, what: &'static str },
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error(transparent)]
    Scan(#[from] crate::managed::ScanError),
}

/// What apply does to one target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Step {
    MakeDir {
        perm: u32,
    },
    WriteFile {
        perm: u32,
    },
    Symlink {
        link: String,
    },
    Chmod {
        perm: u32,
    },
    Remove,
    /// Removes a directory the store no longer has, once what it held is gone; one that still
    /// holds anything (files dotback never tracked) stays, no longer managed.
    RemoveDir,
    /// Left alone; `reason` says why (a change in HOME apply would overwrite).
    Skip {
        reason: Change,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Action {
    pub target: String,
    #[serde(flatten)]
    pub step: Step,
    /// Whatever is live there now is copied to the backups first.
    pub backup: bool,
    #[serde(skip)]
    pub entry: Option<usize>,
    #[serde(skip)]
    pub desired: Option<Node>,
    /// What was live when the plan was made; a different live state at execution time means
    /// someone edited it meanwhile, and it is left alone.
    #[serde(skip)]
    pub expected: Option<Node>,
    /// Why a [`Change::Refused`] target is left alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct PlanOptions {
    /// Overwrite targets changed in HOME too (a backup is still taken).
    pub force: bool,
    /// Leave targets deleted in HOME deleted (sync: capture has recorded the deletion, or the
    /// deletion guard holds it until the user decides); `dotback apply` restores them.
    pub keep_deleted: bool,
}

/// The pure planning rule: what to do for each evaluation. Directories the store dropped come
/// last, deepest first, so each is empty by the time it is removed.
pub fn plan(evals: &[Eval], opts: PlanOptions) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut dirs = Vec::new();
    for e in evals {
        let step = match e.change {
            Change::Clean | Change::Skipped => continue,
            Change::DeletedInHome if opts.keep_deleted => continue,
            Change::Locked | Change::WaitingForIdentity | Change::Refused => Step::Skip { reason: e.change },
            Change::ChangedInHome | Change::ChangedInBoth if !opts.force => Step::Skip { reason: e.change },
            _ => match e.desired {
                None if e.base.is_some() && e.actual.is_some_and(|a| a.kind == NodeKind::Dir) => Step::RemoveDir,
                None => Step::Remove,
                Some(d) => match (d.kind, e.actual) {
                    (NodeKind::Dir, Some(a)) if a.kind == NodeKind::Dir => Step::Chmod { perm: d.perm },
                    (NodeKind::Dir, _) => Step::MakeDir { perm: d.perm },
                    (NodeKind::File, Some(a)) if a.kind == NodeKind::File && a.hash == d.hash => {
                        Step::Chmod { perm: d.perm }
                    }
                    (NodeKind::File, _) => Step::WriteFile { perm: d.perm },
                    (NodeKind::Symlink, _) => Step::Symlink { link: e.link.clone().unwrap_or_default() },
                },
            },
        };
        let backup = e.actual.is_some() && !matches!(step, Step::Skip { .. } | Step::Chmod { .. } | Step::RemoveDir);
        let to = if step == Step::RemoveDir { &mut dirs } else { &mut actions };
        to.push(Action {
            target: e.target.clone(),
            step,
            backup,
            entry: e.entry,
            desired: e.desired,
            expected: e.actual,
            why: (e.change == Change::Refused).then(|| e.why.clone()).flatten(),
        });
    }
    dirs.sort_by(|a, b| crate::fsutil::tree_order(&b.target, &a.target));
    actions.extend(dirs);
    actions
}

/// What an execution did.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub written: Vec<String>,
    pub removed: Vec<String>,
    pub skipped: Vec<(String, Change)>,
    /// Targets refused ([`Change::Refused`]), with why.
    pub refused: Vec<(String, String)>,
    /// Targets that could not be applied (a read-only directory, a file where a directory must
    /// be, …); everything else was.
    #[serde(skip)]
    pub failed: Vec<(String, ApplyError)>,
    pub backup_dir: Option<PathBuf>,
    /// Templated targets edited in HOME since chezmoi wrote them, left as they are.
    pub template_edits: Vec<String>,
}

impl Report {
    /// Puts what was done in the order of `actions` (the plan's).
    fn in_plan_order(&mut self, actions: &[Action]) {
        let at: HashMap<&str, usize> = actions.iter().enumerate().map(|(i, a)| (a.target.as_str(), i)).collect();
        let key = |t: &str| at.get(t).copied().unwrap_or(usize::MAX);
        self.written.sort_by_key(|t| key(t));
        self.removed.sort_by_key(|t| key(t));
        self.skipped.sort_by_key(|(t, _)| key(t));
        self.refused.sort_by_key(|(t, _)| key(t));
        self.failed.sort_by_key(|(t, _)| key(t));
    }

    /// Takes in a later apply of the same operation: what either wrote or removed, and what the
    /// later one (which saw the newest HOME) skipped, refused or failed.
    pub fn absorb(&mut self, later: Report) {
        for (mine, theirs) in [(&mut self.written, later.written), (&mut self.removed, later.removed)] {
            for t in theirs {
                if !mine.contains(&t) {
                    mine.push(t);
                }
            }
        }
        self.skipped = later.skipped;
        self.template_edits = later.template_edits;
        self.refused = later.refused;
        self.failed = later.failed;
        self.backup_dir = later.backup_dir.or(self.backup_dir.take());
    }
}

/// Refuses a write whose directory part passes through a symlink leading out of HOME, or into
/// one of dotback's own places.
struct Guard<'a> {
    ctx: &'a Context,
    checked: HashSet<String>,
    /// Checked directories reached through a symlink: a target below one is resolved again.
    linked: HashSet<String>,
}

impl Guard<'_> {
    /// `replaces`: the step removes or replaces what is at `target` (anything but a mode change).
    fn check(&mut self, target: &str, replaces: bool) -> Result<(), ApplyError> {
        self.check_parents(target)?;
        let parent = managed::parent_of(target);
        if !self.linked.contains(parent) {
            return Ok(());
        }
        let resolved = self.ctx.live(parent).canonicalize().context(Op::Read, self.ctx.live(parent))?;
        let dest = resolved.join(target.rsplit('/').next().unwrap_or(target));
        let below = || self.ctx.own_place_below(&dest).filter(|_| replaces).map(|(_, what)| what);
        let what = self.ctx.own_place(&dest).or_else(below);
        match what {
            Some(what) => Err(ApplyError::OwnPlace { target: target.into(), dest, what }),
            None => Ok(()),
        }
    }

    fn check_parents(&mut self, target: &str) -> Result<(), ApplyError> {
        let parent = managed::parent_of(target);
        if parent.is_empty() || self.checked.contains(parent) {
            return Ok(());
        }
        self.check_parents(parent)?;
        let path = self.ctx.live(parent);
        match fsutil::lstat(&path).context(Op::Read, &path)? {
            None => {}
            Some(md) if md.file_type().is_symlink() => {
                let dest = path.canonicalize().unwrap_or_else(|_| PathBuf::from("(unresolvable)"));
                if !dest.starts_with(&self.ctx.home_canon) {
                    return Err(ApplyError::OutsideHome { target: target.into(), via: path, dest });
                }
                if !dest.is_dir() {
                    return Err(ApplyError::NotADirectory { target: target.into(), blocker: path });
                }
                self.linked.insert(parent.to_string());
            }
            Some(md) if !md.is_dir() => {
                return Err(ApplyError::NotADirectory { target: target.into(), blocker: path });
            }
            Some(_) => {}
        }
        if self.linked.contains(managed::parent_of(parent)) {
            self.linked.insert(parent.to_string());
        }
        self.checked.insert(parent.to_string());
        Ok(())
    }
}

/// Below this many consecutive independent steps, one thread carries them out.
const PARALLEL_MIN: usize = 64;

/// A step that touches nothing but its own target (a file or a link written in a directory the
/// plan made or found before it): consecutive ones are carried out side by side.
fn independent(step: &Step) -> bool {
    matches!(step, Step::WriteFile { .. } | Step::Symlink { .. })
}

/// The order `execute` carries `actions` out in: the plan's, except that where a stretch of
/// the plan makes directories and writes files into them (an empty HOME: a directory, its
/// files, the next directory, …), the stretch's directories are made first, in plan order, so
/// its files can then be written side by side across directories. (Threads writing into one
/// directory wait for each other on its lock.)
fn in_waves(actions: &[Action], threads: usize) -> Vec<&Action> {
    let mut seq = Vec::with_capacity(actions.len());
    let mut n = 0;
    while n < actions.len() {
        let wave = &actions[n..];
        let len = wave.iter().take_while(|a| independent(&a.step) || matches!(a.step, Step::MakeDir { .. })).count();
        let wave = &wave[..len.max(1)];
        let files = wave.iter().filter(|a| independent(&a.step)).count();
        if threads > 1 && files >= PARALLEL_MIN && files < wave.len() {
            seq.extend(wave.iter().filter(|a| !independent(&a.step)));
            seq.extend(wave.iter().filter(|a| independent(&a.step)));
        } else {
            seq.extend(wave);
        }
        n += wave.len();
    }
    seq
}

/// Runs the plan. A target that cannot be applied is reported in [`Report::failed`] and the rest
/// goes on. Bases are recorded only for what was written, after one file-system sync.
///
/// Directories are made, and everything else done, in plan order; a run of file and link
/// writes is spread over the machine's cores, and what it did is reported in plan order.
pub fn execute(
    ctx: &Context,
    state: &SourceState,
    vault: &Vault,
    actions: &[Action],
    cache: &mut Cache,
    progress: &dyn Fn(u64),
) -> Result<Report, ApplyError> {
    let backups = Mutex::new(Backups::new(&ctx.paths.state_dir, ctx.backups_keep));
    let mut guard = Guard { ctx, checked: HashSet::new(), linked: HashSet::new() };
    let mut report = Report::default();
    let mut done: Vec<(String, Option<Node>)> = Vec::new();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    let seq = in_waves(actions, threads);
    let reordered = seq.iter().zip(actions).any(|(a, b)| !std::ptr::eq(*a, b));
    let mut failed_at: HashSet<String> = HashSet::new();
    let mut n = 0;
    while n < seq.len() {
        let run = seq[n..].iter().take_while(|a| independent(&a.step)).count();
        let batch = if threads > 1 && run >= PARALLEL_MIN { &seq[n..n + run] } else { &seq[n..=n] };
        // Below a target that failed, nothing can be right either. (Within a run no target is
        // below another: they are files and links.)
        let below_failed = |a: &Action| {
            let mut t = a.target.as_str();
            while !t.is_empty() {
                if failed_at.contains(t) {
                    return true;
                }
                t = managed::parent_of(t);
            }
            false
        };
        // The guard remembers the directories it checked: it runs here, in plan order.
        let checked: Vec<Option<Result<(), ApplyError>>> = batch
            .iter()
            .map(|a| {
                let runs = !matches!(a.step, Step::Skip { .. }) && !below_failed(a);
                runs.then(|| guard.check(&a.target, !matches!(a.step, Step::Chmod { .. })))
            })
            .collect();
        let carry = |(a, checked): (&&Action, &Option<Result<(), ApplyError>>)| {
            matches!(checked, Some(Ok(()))).then(|| carry_out(ctx, state, vault, &backups, a))
        };
        let outcomes: Vec<_> = if batch.len() == 1 {
            batch.iter().zip(&checked).map(carry).collect()
        } else {
            let chunk = batch.len().div_ceil(threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = batch
                    .chunks(chunk)
                    .zip(checked.chunks(chunk))
                    .map(|(b, c)| s.spawn(move || b.iter().zip(c).map(carry).collect::<Vec<_>>()))
                    .collect();
                handles.into_iter().flat_map(|h| h.join().expect("apply thread panicked")).collect()
            })
        };
        for ((a, checked), outcome) in batch.iter().zip(checked).zip(outcomes) {
            progress(n as u64);
            n += 1;
            let result = match checked {
                None => {
                    if let Step::Skip { reason } = a.step {
                        match (reason, &a.why) {
                            (Change::Refused, Some(why)) => report.refused.push((a.target.clone(), why.clone())),
                            _ => report.skipped.push((a.target.clone(), reason)),
                        }
                    }
                    continue;
                }
                Some(Err(e)) => Err(e),
                Some(Ok(())) => outcome.expect("carried out after the guard let it through"),
            };
            match result {
                Ok(None) => report.skipped.push((a.target.clone(), Change::ChangedMeanwhile)),
                Ok(Some(written)) => {
                    match a.step {
                        Step::Remove => report.removed.push(a.target.clone()),
                        // Still there: it holds files dotback never tracked, and stays as they do.
                        Step::RemoveDir if fsutil::lstat(&ctx.live(&a.target)).is_ok_and(|m| m.is_some()) => {}
                        Step::RemoveDir => report.removed.push(a.target.clone()),
                        _ => report.written.push(a.target.clone()),
                    }
                    done.push((a.target.clone(), written));
                }
                Err(e) => {
                    failed_at.insert(a.target.clone());
                    report.failed.push((a.target.clone(), e))
                }
            }
        }
    }
    if reordered {
        report.in_plan_order(actions);
    }
    if !done.is_empty() {
        fsutil::sync_fs(&ctx.paths.home).context(Op::Write, &ctx.paths.home)?;
    }
    for (target, node) in done {
        cache.set_base(&target, node);
    }
    let backups = backups.into_inner().expect("no apply thread panicked");
    report.backup_dir = backups.dir().map(Path::to_path_buf);
    Ok(report)
}

/// Carries out one action whose target the guard let through; returns the node now at the
/// target (the new base), or `None` when HOME changed since the plan was made.
fn carry_out(
    ctx: &Context,
    state: &SourceState,
    vault: &Vault,
    backups: &Mutex<Backups>,
    a: &Action,
) -> Result<Option<Option<Node>>, ApplyError> {
    let live = ctx.live(&a.target);
    let current = fsutil::lstat(&live).context(Op::Read, &live)?;
    // Someone may have edited the file since it was read (an editor saving during a sync): a
    // fresh read, trusting no memo, must still show what the plan was made from.
    if !matches!(a.step, Step::Chmod { .. }) {
        let fresh = Cache::empty();
        let md = current.as_ref().map(|m| fsutil::Meta { mode: m.mode(), stat: fsutil::StatKey::of(m) });
        let now = md.map(|md| Hasher::new(&fresh, None).node(&a.target, &live, &md)).transpose()?;
        if !same(now, a.expected) {
            return Ok(None);
        }
    }
    if a.backup && current.is_some() {
        backups.lock().expect("no apply thread panicked").save(&live, &a.target)?;
    }
    let is_dir = current.as_ref().is_some_and(|m| m.is_dir());
    let clear = |what: &Option<fs::Metadata>| -> io::Result<()> {
        match what {
            Some(m) if m.is_dir() => fs::remove_dir_all(&live),
            Some(_) => fs::remove_file(&live),
            None => Ok(()),
        }
    };
    match &a.step {
        Step::MakeDir { perm } => {
            clear(&current).context(Op::Write, &live)?;
            fs::DirBuilder::new().mode(0o700).create(&live).context(Op::Write, &live)?;
            fs::set_permissions(&live, fs::Permissions::from_mode(*perm)).context(Op::Write, &live)?;
        }
        Step::Chmod { perm } => {
            fs::set_permissions(&live, fs::Permissions::from_mode(*perm)).context(Op::Write, &live)?;
        }
        Step::WriteFile { perm } => {
            let m = &state.entries[a.entry.expect("write has an entry")];
            let data = source_content(vault, state, m)?;
            if is_dir {
                fs::remove_dir_all(&live).context(Op::Write, &live)?;
            }
            fsutil::write_atomic(&live, &data, *perm).context(Op::Write, &live)?;
            return Ok(Some(Some(Node { kind: NodeKind::File, hash: Some(fsutil::hash_bytes(&data)), perm: *perm })));
        }
        Step::Symlink { link } => {
            if is_dir {
                fs::remove_dir_all(&live).context(Op::Write, &live)?;
            }
            fsutil::symlink_atomic(link, &live).context(Op::Write, &live)?;
        }
        Step::Remove => {
            clear(&current).context(Op::Write, &live)?;
        }
        Step::RemoveDir => match fs::remove_dir(&live) {
            Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => {}
            other => other.context(Op::Write, &live)?,
        },
        Step::Skip { .. } => {}
    }
    Ok(Some(a.desired))
}

/// The content a store file gives its target: the file itself, or its decrypted plaintext,
/// read from the work tree or the commit `state` was read from.
pub fn source_content(
    vault: &Vault,
    state: &SourceState,
    m: &Managed,
) -> Result<zeroize::Zeroizing<Vec<u8>>, ApplyError> {
    let path = state.source_path(m);
    let data = state.read(m).context(Op::Read, &path)?;
    if !m.entry.attrs.encrypted {
        return Ok(zeroize::Zeroizing::new(data));
    }
    vault.decrypt(&data).map_err(|why| ApplyError::Decrypt { path, why })
}

/// Why an entry is left to chezmoi (see [`handled_natively`]).
pub fn delegation_reason(m: &Managed) -> &'static str {
    let a = &m.entry.attrs;
    match m.entry.kind {
        Kind::Script => "run_ script",
        Kind::Create => "create_ file",
        Kind::Modify => "modify_ script",
        Kind::Remove => "remove_ entry",
        Kind::Dir if a.external => "external_ directory",
        _ if a.template => "template",
        _ if a.encrypted => "encrypted file",
        _ => "chezmoi feature",
    }
}

/// The targets dotback leaves to chezmoi, with the reason.
pub fn delegated<'a>(
    state: &'a SourceState,
    sel: &'a Selection,
) -> impl Iterator<Item = (&'a Managed, &'static str)> + 'a {
    state
        .entries
        .iter()
        .filter(move |m| !handled_natively(m) && sel.touches(&m.target))
        .map(|m| (m, delegation_reason(m)))
}

/// What `dotback apply` is asked to do.
#[derive(Clone, Debug, Default)]
pub struct ApplyOptions {
    /// Only these targets (and what is below them); all when empty.
    pub selection: Selection,
    /// Also overwrite targets changed in HOME (backed up first).
    pub force: bool,
    /// Plan only; change nothing.
    pub dry_run: bool,
    /// What to apply: everything, or only dotback's own part or only chezmoi's (bootstrap
    /// applies the templates after the packages they may need).
    pub part: Part,
    /// Record the apply in the audit trail (`dotback apply`; a sync or bootstrap records itself).
    pub audit: bool,
}

/// Which part of the store an apply covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Part {
    #[default]
    Whole,
    /// What dotback writes itself.
    Native,
    /// What is handed to chezmoi (templates, scripts, externals, …).
    Delegated,
}

/// What [`run`] did (or, in a dry run, would do).
#[derive(Debug)]
pub struct ApplyRun {
    pub actions: Vec<Action>,
    /// What is handed to chezmoi (templates, scripts, externals, …), and how that went.
    pub delegated: Vec<crate::delegate::Item>,
    pub delegation: Delegation,
    /// Encrypted targets this device could not decrypt, with why (left unchanged).
    pub locked: Vec<(String, String)>,
    /// Selected targets an `[[only]]` rule keeps from this device.
    pub skipped_on_device: Vec<String>,
    /// Of those, the roots named on the command line, with the rule's pattern.
    pub named_skipped: Vec<(String, String)>,
    /// What executing the plan did; `None` in a dry run.
    pub report: Option<Report>,
    /// A change to the keys, rules or code this device does not use; while code is held back,
    /// nothing is handed to chezmoi (`delegated` is empty).
    pub held: Option<crate::trust::Held>,
}

/// `dotback apply`: evaluates the selected targets, plans and (unless a dry run) executes the
/// plan, handing the delegated entries to chezmoi around it (see [`crate::delegate`]).
pub fn run(
    s: &mut crate::session::Session,
    opts: &ApplyOptions,
    sink: &dyn crate::events::Sink,
) -> Result<ApplyRun, ApplyError> {
    if !opts.dry_run {
        s.decide_ignores_with_chezmoi()?;
    }
    let sel = &opts.selection;
    let held = s.trust().held.clone();
    let code_held = s.trust().code_held();
    let mut p = s.parts();
    let evals = crate::eval::evaluate(p.ctx, p.state, p.cache, p.vault, sel)?;
    let evals: Vec<_> = evals.into_iter().filter(|e| sel.touches(&e.target)).collect();
    let mut actions = plan(&evals, PlanOptions { force: opts.force, ..Default::default() });
    if opts.part == Part::Delegated {
        actions.clear();
    }
    let locked = evals
        .iter()
        .filter(|e| matches!(e.change, Change::Locked | Change::WaitingForIdentity))
        .filter_map(|e| e.why.as_ref().map(|why| (e.target.clone(), why.clone())))
        .collect();
    let skipped_on_device = evals
        .iter()
        .filter(|e| e.change == Change::Skipped && sel.contains(&e.target))
        .map(|e| e.target.clone())
        .collect();
    // Named on the command line, a skipped path gets a word on why nothing happened to it.
    let named_skipped = if sel.is_all() {
        Vec::new()
    } else {
        crate::eval::skipped_roots(evals.iter().filter(|e| sel.contains(&e.target)))
            .into_iter()
            .map(|e| (e.target.clone(), p.state.only.skips(&e.target, &p.ctx.device).unwrap_or_default()))
            .collect()
    };
    let items = crate::delegate::items(p.state);
    let delegated: Vec<crate::delegate::Item> = match opts.part {
        Part::Native => Vec::new(),
        // The store's code differs from what this device trusts: chezmoi gets none of it.
        _ if code_held => Vec::new(),
        _ => crate::delegate::selected(&items, sel).into_iter().cloned().collect(),
    };
    let mut run = ApplyRun {
        actions,
        delegated,
        delegation: Delegation::Nothing,
        locked,
        skipped_on_device,
        named_skipped,
        report: None,
        held,
    };
    if opts.dry_run {
        return Ok(run);
    }
    let (report, delegation) = execute_delegating(&mut p, &run.actions, &run.delegated, sink);
    run.delegation = delegation;
    let report = report?;
    if opts.audit {
        let outcome = if report.failed.is_empty() && run.locked.is_empty() { "ok" } else { "incomplete" };
        let counts = [("written", report.written.len() as u64), ("removed", report.removed.len() as u64)];
        if let Err(e) = crate::audit::operation(&p.ctx.store, &p.ctx.device, "apply", outcome, &counts) {
            sink.warn(format!("could not record the apply in the audit trail: {e}"));
        }
    }
    run.report = Some(report);
    Ok(run)
}

/// Executes `actions` and hands `delegated` to chezmoi around them: the `before` scripts first,
/// the rest once dotback's own writes are done (see [`crate::delegate`]). Without chezmoi the
/// delegated entries are skipped ([`Delegation::NoChezmoi`]). The stat cache is saved even when
/// a target failed.
pub fn execute_delegating(
    p: &mut crate::session::Parts,
    actions: &[Action],
    delegated: &[crate::delegate::Item],
    sink: &dyn crate::events::Sink,
) -> (Result<Report, ApplyError>, Delegation) {
    let chezmoi = if delegated.is_empty() { None } else { crate::chezmoi::find() };
    let (home, store) = (&p.ctx.paths.home, &p.ctx.store);
    // A templated target edited in HOME since chezmoi wrote it is left as it is (chezmoi would
    // stop at it, asking), and reported: the edit belongs in the template.
    // When chezmoi cannot say (a template that fails to render, say), nothing is left out here:
    // the delegated call below meets the same failure and reports it, after dotback's own writes.
    let edited = match &chezmoi {
        Some(bin) => crate::delegate::edited_in_home(bin, home, store, delegated).unwrap_or_default(),
        None => Vec::new(),
    };
    let handed: Vec<&crate::delegate::Item> =
        delegated.iter().filter(|i| i.target.as_ref().is_none_or(|t| !edited.contains(t))).collect();
    let (before, after) = crate::delegate::calls(&handed);
    let mut delegation = match &chezmoi {
        Some(bin) => crate::delegate::run(bin, home, store, &before),
        None if delegated.is_empty() => Delegation::Nothing,
        None => Delegation::NoChezmoi,
    };
    // A `before` script that failed stops chezmoi's apply there, and so here: nothing is written.
    if matches!(delegation, Delegation::Failed(_)) {
        return (Ok(Report::default()), delegation);
    }
    let phase = crate::events::Phase::start(sink, "applying", actions.len());
    let result = execute(p.ctx, p.state, p.vault, actions, p.cache, &|_| phase.step());
    drop(phase);
    // Record what was written even when a later target failed.
    let mut result = p.cache.save().map_err(ApplyError::from).and(result);
    if let Some(bin) = &chezmoi
        && result.is_ok()
    {
        match crate::delegate::run(bin, home, store, &after) {
            Delegation::Nothing => {}
            done => delegation = done,
        }
    }
    if let Ok(report) = &mut result {
        report.template_edits = edited;
    }
    (result, delegation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{classify, skipped_roots};

    fn file(h: &[u8], perm: u32) -> Option<Node> {
        Some(Node { kind: NodeKind::File, hash: Some(fsutil::hash_bytes(h)), perm })
    }

    #[test]
    fn classification_table() {
        let (a, b, c) = (file(b"a", 0o644), file(b"b", 0o644), file(b"c", 0o644));
        let dir = |perm| Some(Node { kind: NodeKind::Dir, hash: None, perm });
        let cases = [
            (a, a, None, Change::Clean),
            (a, None, a, Change::DeletedInHome),
            (a, None, file(b"a", 0o600), Change::Missing),
            (b, None, a, Change::Missing),
            (a, None, None, Change::Missing),
            (dir(0o700), None, dir(0o700), Change::DeletedInHome),
            (a, b, a, Change::ChangedInHome),
            (b, a, a, Change::ChangedInStore),
            (b, c, a, Change::ChangedInBoth),
            (a, b, None, Change::NeverApplied),
            (dir(0o700), dir(0o755), None, Change::NeverApplied),
            (a, dir(0o755), None, Change::ChangedInBoth),
            (a, file(b"a", 0o755), a, Change::ChangedInHome),
            (None, a, a, Change::ChangedInStore),
            (None, a, None, Change::Extra),
            (None, None, a, Change::Clean),
        ];
        for (i, (d, act, base, want)) in cases.into_iter().enumerate() {
            assert_eq!(classify(d, act, base), want, "case {i}");
        }
    }

    fn eval(target: &str, desired: Option<Node>, actual: Option<Node>, base: Option<Node>) -> Eval {
        Eval {
            target: target.into(),
            entry: Some(0),
            desired,
            actual,
            base,
            change: classify(desired, actual, base),
            link: None,
            why: None,
        }
    }

    #[test]
    fn plan_never_overwrites_home_changes_without_force() {
        let (a, b) = (file(b"a", 0o644), file(b"b", 0o644));
        let evals =
            [eval("x", a, b, a), eval("y", b, a, a), eval("z", a, None, None), eval("w", a, file(b"a", 0o600), None)];
        let steps: Vec<Step> = plan(&evals, PlanOptions::default()).into_iter().map(|a| a.step).collect();
        assert_eq!(
            steps,
            vec![
                Step::Skip { reason: Change::ChangedInHome },
                Step::WriteFile { perm: 0o644 },
                Step::WriteFile { perm: 0o644 },
                Step::Chmod { perm: 0o644 },
            ]
        );
        let forced = plan(&evals, PlanOptions { force: true, ..Default::default() });
        assert_eq!(forced[0].step, Step::WriteFile { perm: 0o644 });
        assert!(forced[0].backup, "an overwritten live file is backed up");
    }

    #[test]
    fn a_first_apply_writes_the_stores_version_after_a_backup() {
        let (a, b) = (file(b"distro", 0o644), file(b"mine", 0o644));
        let dir = |perm| Some(Node { kind: NodeKind::Dir, hash: None, perm });
        let evals = [eval(".bashrc", b, a, None), eval(".config", dir(0o700), dir(0o755), None)];
        let actions = plan(&evals, PlanOptions::default());
        assert_eq!(actions[0].step, Step::WriteFile { perm: 0o644 });
        assert!(actions[0].backup, "the distro's file is saved first");
        assert_eq!(actions[1].step, Step::Chmod { perm: 0o700 }, "a directory's mode is simply set");
    }

    #[test]
    fn deletions_in_home_are_restored_by_apply_and_kept_by_sync() {
        let a = file(b"a", 0o644);
        let evals = [eval(".zshrc", a, None, a)];
        assert_eq!(evals[0].change, Change::DeletedInHome);
        assert_eq!(plan(&evals, PlanOptions::default())[0].step, Step::WriteFile { perm: 0o644 });
        assert!(plan(&evals, PlanOptions { keep_deleted: true, ..Default::default() }).is_empty());
    }

    #[test]
    fn directories_the_store_dropped_are_removed_last_deepest_first() {
        let a = file(b"a", 0o644);
        let dir = Some(Node { kind: NodeKind::Dir, hash: None, perm: 0o755 });
        let dropped = |t: &str, node| Eval { entry: None, ..eval(t, None, node, node) };
        let mut evals = vec![dropped(".config/app", dir), dropped(".config/app/sub", dir)];
        evals.push(dropped(".config/app/sub/x", a));
        evals.push(eval(".zshrc", file(b"b", 0o644), a, a));
        let actions = plan(&evals, PlanOptions::default());
        let order: Vec<(&str, &Step)> = actions.iter().map(|a| (a.target.as_str(), &a.step)).collect();
        assert_eq!(
            order,
            [
                (".config/app/sub/x", &Step::Remove),
                (".zshrc", &Step::WriteFile { perm: 0o644 }),
                (".config/app/sub", &Step::RemoveDir),
                (".config/app", &Step::RemoveDir),
            ]
        );
        assert!(actions[0].backup && !actions[2].backup, "a file is backed up, an empty directory needs none");
    }

    #[test]
    fn skipped_targets_are_never_planned_and_collapse_to_their_roots() {
        let a = file(b"a", 0o644);
        let mut evals = vec![eval(".config/sway", None, None, None), eval(".config/sway/config", a, None, None)];
        evals.push(eval(".config/swayfx", a, None, None));
        evals.push(eval(".config/sway/colors", a, file(b"b", 0o644), None));
        for e in evals.iter_mut().filter(|e| e.target.starts_with(".config/sway/") || e.target == ".config/sway") {
            e.change = Change::Skipped;
        }
        let planned: Vec<String> =
            plan(&evals, PlanOptions { force: true, ..Default::default() }).into_iter().map(|a| a.target).collect();
        assert_eq!(planned, [".config/swayfx"]);
        let roots: Vec<&str> = skipped_roots(&evals).into_iter().map(|e| e.target.as_str()).collect();
        assert_eq!(roots, [".config/sway"]);
    }

    #[test]
    fn selection_matches_whole_components() {
        let s = Selection::of(vec![".config/nvim".into()]);
        assert!(s.contains(".config/nvim/init.lua"));
        assert!(!s.contains(".config/nvimrc"));
        assert!(s.touches(".config"));
        assert!(!s.contains(".config"));
    }
}

#[cfg(test)]
mod race_tests {
    use super::*;
    use crate::config::{DeviceConfig, IdentityStorage};
    use crate::eval::evaluate;
    use crate::paths::Paths;
    use std::ffi::OsString;

    /// Device `t` with HOME `home`, the store at `store`, and its state and config below `root`.
    fn device(root: &Path, home: &Path, store: &Path) -> Context {
        let vars = [
            ("HOME", home.to_path_buf()),
            ("XDG_STATE_HOME", root.join("state")),
            ("XDG_CONFIG_HOME", root.join("cfg")),
        ];
        let paths = Paths::from_env(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| OsString::from(v))).unwrap();
        let config = DeviceConfig {
            device: "t".into(),
            source: store.to_path_buf(),
            identity: IdentityStorage::File,
            ..Default::default()
        };
        Context::new(paths, config).unwrap()
    }

    /// A live file edited between reading and writing is never overwritten.
    #[test]
    fn an_edit_made_while_apply_runs_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (home, store) = (root.join("home"), root.join("store"));
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&store).unwrap();
        fs::write(store.join("dot_new"), "from the store\n").unwrap();
        fs::write(store.join("dot_old"), "from the store\n").unwrap();
        fs::write(home.join(".old"), "before\n").unwrap();
        let ctx = device(&root, &home, &store);
        let state = managed::scan(&store, &Default::default()).unwrap();
        let mut cache = Cache::load(&ctx.paths.state_dir);
        let old_perm = fs::metadata(home.join(".old")).unwrap().permissions().mode() & 0o777;
        let before = Node { kind: NodeKind::File, hash: Some(fsutil::hash_bytes(b"before\n")), perm: old_perm };
        cache.set_base(".old", Some(before));
        let vault = Vault::new(&ctx, &crate::trust::Trust::as_is(&store).unwrap());
        let evals = evaluate(&ctx, &state, &mut cache, &vault, &Selection::all()).unwrap();
        let actions = plan(&evals, PlanOptions::default());
        assert_eq!(actions.len(), 2, "{actions:?}");
        // The user saves both files after dotback read them.
        fs::write(home.join(".new"), "typed meanwhile\n").unwrap();
        fs::write(home.join(".old"), "edited meanwhile\n").unwrap();
        let report = execute(&ctx, &state, &vault, &actions, &mut cache, &|_| {}).unwrap();
        assert_eq!(fs::read_to_string(home.join(".new")).unwrap(), "typed meanwhile\n");
        assert_eq!(fs::read_to_string(home.join(".old")).unwrap(), "edited meanwhile\n");
        assert!(report.written.is_empty(), "{report:?}");
        assert_eq!(report.skipped.len(), 2);
        assert!(report.skipped.iter().all(|(_, c)| *c == Change::ChangedMeanwhile));
    }

    /// Store directories `dirs`, each with files f000 … holding "<dir> <k>\n".
    fn store_dirs(store: &Path, dirs: &[&str], n: usize) {
        for d in dirs {
            fs::create_dir_all(store.join(d)).unwrap();
            for k in 0..n {
                fs::write(store.join(format!("{d}/f{k:03}")), format!("{d} {k}\n")).unwrap();
            }
        }
    }

    /// Device `t`'s scan, cache, vault and apply plan of everything.
    fn planned(root: &Path, home: &Path, store: &Path) -> (Context, SourceState, Cache, Vault, Vec<Action>) {
        let ctx = device(root, home, store);
        let state = managed::scan(store, &Default::default()).unwrap();
        let mut cache = Cache::load(&ctx.paths.state_dir);
        let vault = Vault::new(&ctx, &crate::trust::Trust::as_is(store).unwrap());
        let evals = evaluate(&ctx, &state, &mut cache, &vault, &Selection::all()).unwrap();
        let actions = plan(&evals, PlanOptions::default());
        (ctx, state, cache, vault, actions)
    }

    /// A run of file writes long enough to be spread over threads reports what it did in plan
    /// order, as one thread would: failures, edits made meanwhile and writes each in place.
    #[test]
    fn many_files_are_written_and_reported_in_plan_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (home, store, outside) = (root.join("home"), root.join("store"), root.join("outside"));
        let n = 3 * PARALLEL_MIN;
        store_dirs(&store, &["dot_a", "dot_b"], n);
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&outside).unwrap();
        // ~/.a leads out of HOME: none of its files may be written.
        std::os::unix::fs::symlink(&outside, home.join(".a")).unwrap();
        fs::create_dir(home.join(".b")).unwrap();
        let (ctx, state, mut cache, vault, actions) = planned(&root, &home, &store);
        // Made after the plan: two files the user saved while apply ran.
        for k in [7, n - 1] {
            fs::write(home.join(format!(".b/f{k:03}")), "typed meanwhile\n").unwrap();
        }
        let seen = std::sync::Mutex::new(Vec::new());
        let report = execute(&ctx, &state, &vault, &actions, &mut cache, &|k| seen.lock().unwrap().push(k)).unwrap();

        assert_eq!(*seen.lock().unwrap(), (0..actions.len() as u64).collect::<Vec<_>>(), "progress in plan order");
        let failed: Vec<&str> = report.failed.iter().map(|(t, _)| t.as_str()).collect();
        let want: Vec<String> = (0..n).map(|k| format!(".a/f{k:03}")).collect();
        assert_eq!(failed, want, "every file below the link, in order");
        assert!(report.failed.iter().all(|(_, e)| matches!(e, ApplyError::OutsideHome { .. })), "{report:?}");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "nothing written outside HOME");
        let meanwhile = [7, n - 1].map(|k| format!(".b/f{k:03}"));
        let want: Vec<String> = (0..n).map(|k| format!(".b/f{k:03}")).filter(|t| !meanwhile.contains(t)).collect();
        let written: Vec<&String> = report.written.iter().filter(|t| t.starts_with(".b/")).collect();
        assert_eq!(written, want.iter().collect::<Vec<_>>());
        let skipped: Vec<(String, Change)> =
            report.skipped.iter().filter(|(t, _)| t.starts_with(".b/")).cloned().collect();
        assert_eq!(skipped, meanwhile.map(|t| (t, Change::ChangedMeanwhile)));
        for k in 0..n {
            let text = fs::read_to_string(home.join(format!(".b/f{k:03}"))).unwrap();
            let want = if k == 7 || k == n - 1 { "typed meanwhile\n".to_string() } else { format!("dot_b {k}\n") };
            assert_eq!(text, want);
        }
        // What was written is the base now: evaluated again, it is clean.
        let again = evaluate(&ctx, &state, &mut cache, &vault, &Selection::all()).unwrap();
        let clean = again.iter().filter(|e| e.target.starts_with(".b/") && e.change == Change::Clean).count();
        assert_eq!(clean, n - 2);
    }

    /// Into an empty HOME, the directories of a stretch are made first and its files written
    /// side by side across them; what was done is still reported in plan order, and nothing
    /// below a directory that cannot be used is written.
    #[test]
    fn an_empty_home_gets_its_directories_first_and_the_report_in_plan_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (home, store, outside) = (root.join("home"), root.join("store"), root.join("outside"));
        let n = PARALLEL_MIN;
        store_dirs(&store, &["dot_a", "dot_b", "dot_c", "dot_d"], n);
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, home.join(".b")).unwrap();
        let (ctx, state, mut cache, vault, actions) = planned(&root, &home, &store);

        let seq: Vec<&str> = in_waves(&actions, 2).iter().map(|a| a.target.as_str()).collect();
        let pos = |t: &str| seq.iter().position(|x| *x == t).unwrap();
        // (The link at ~/.b is skipped, which ends the first stretch: .b's files and .c are one.)
        assert!(pos(".c") < pos(".b/f000"), "a stretch's directories first: {seq:?}");
        assert!(pos(".d") < pos(".c/f000"), "{seq:?}");
        assert!(seq.iter().filter(|t| t.starts_with(".c/")).all(|t| pos(".c") < pos(t)));
        assert!(seq.iter().filter(|t| t.starts_with(".a/")).all(|t| pos(".a") < pos(t)));
        let one: Vec<&str> = in_waves(&actions, 1).iter().map(|a| a.target.as_str()).collect();
        assert_eq!(one, actions.iter().map(|a| a.target.as_str()).collect::<Vec<_>>(), "one thread: plan order");

        let report = execute(&ctx, &state, &vault, &actions, &mut cache, &|_| {}).unwrap();
        let files = |d: &'static str| (0..n).map(move |k| format!("{d}/f{k:03}"));
        let mut want = vec![".a".to_string()];
        want.extend(files(".a"));
        for d in [".c", ".d"] {
            want.push(d.into());
            want.extend(files(d));
        }
        assert_eq!(report.written, want, "in plan order");
        let failed: Vec<&str> = report.failed.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(failed, files(".b").collect::<Vec<_>>(), "every file below the link, in order");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "nothing written outside HOME");
        for k in 0..n {
            assert_eq!(fs::read_to_string(home.join(format!(".c/f{k:03}"))).unwrap(), format!("dot_c {k}\n"));
        }
    }

    /// A commit that is not checked out is applied into an empty HOME from git's objects.
    #[test]
    fn a_past_commit_is_applied_without_a_checkout() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (home, store_dir) = (root.join("home"), root.join("store"));
        fs::create_dir_all(&home).unwrap();
        let (store, _) = crate::store::Store::init(&store_dir).unwrap();
        let id = crate::crypt::Identity::generate();
        let seal = |plain: &[u8]| crate::crypt::encrypt(plain, &[id.public()]).unwrap();
        let put = |rel: &str, data: &[u8]| {
            let path = store_dir.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, data).unwrap();
        };
        put("dot_a", b"one\n");
        put("executable_dot_run", b"#!/bin/sh\n");
        put("symlink_dot_link", b"target-one\n");
        put("private_dot_dir/file", b"inside\n");
        put("encrypted_private_dot_secret.age", &seal(b"secret one\n"));
        put("dot_none", b"");
        put("empty_dot_kept", b"");
        let past = store.commit_all("t", "one").unwrap().unwrap();
        put("dot_a", b"two\n");
        put("encrypted_private_dot_secret.age", &seal(b"secret two\n"));
        put("dot_new", b"new\n");
        fs::remove_file(store_dir.join("symlink_dot_link")).unwrap();
        fs::remove_dir_all(store_dir.join("private_dot_dir")).unwrap();
        store.commit_all("t", "two").unwrap().unwrap();

        let ctx = device(&root, &home, &store_dir);
        let state = managed::scan_commit(&store, past, &Default::default()).unwrap();
        let mut cache = Cache::load(&ctx.paths.state_dir);
        let vault = Vault::new(&ctx, &crate::trust::Trust::as_is(&store_dir).unwrap()).with_identities(vec![id]);
        let evals = evaluate(&ctx, &state, &mut cache, &vault, &Selection::all()).unwrap();
        assert!(cache.observed.is_empty(), "no store file was hashed by its work-tree stat");
        let actions = plan(&evals, PlanOptions::default());
        let report = execute(&ctx, &state, &vault, &actions, &mut cache, &|_| {}).unwrap();
        assert!(report.failed.is_empty(), "{report:?}");

        let umask = fsutil::umask();
        let mode = |rel: &str| fs::symlink_metadata(home.join(rel)).unwrap().permissions().mode() & 0o777;
        let text = |rel: &str| fs::read_to_string(home.join(rel)).unwrap();
        assert_eq!(text(".a"), "one\n");
        assert_eq!(mode(".a"), 0o666 & !umask);
        assert_eq!(text(".run"), "#!/bin/sh\n");
        assert_eq!(mode(".run"), 0o777 & !umask);
        assert_eq!(fs::read_link(home.join(".link")).unwrap(), Path::new("target-one"));
        assert_eq!(mode(".dir"), 0o700 & !umask);
        assert_eq!(text(".dir/file"), "inside\n");
        assert_eq!(text(".secret"), "secret one\n");
        assert_eq!(mode(".secret"), 0o600 & !umask);
        assert_eq!(text(".kept"), "");
        assert!(!home.join(".none").exists(), "an empty file without empty_ is no file");
        assert!(!home.join(".new").exists(), "only in the later commit");
        assert_eq!(fs::read_to_string(store_dir.join("dot_a")).unwrap(), "two\n", "the work tree is left as it was");

        // Evaluated again, HOME matches the commit.
        let again = evaluate(&ctx, &state, &mut cache, &vault, &Selection::all()).unwrap();
        assert!(again.iter().all(|e| e.change == Change::Clean), "{again:?}");
        // HOME differs from the work tree only where the two commits differ (what the later one
        // dropped is a removal to apply, as a deletion from another device is).
        let work = managed::scan(&store_dir, &Default::default()).unwrap();
        let mut now: Vec<(String, Change)> = evaluate(&ctx, &work, &mut cache, &vault, &Selection::all())
            .unwrap()
            .into_iter()
            .filter(|e| e.change != Change::Clean)
            .map(|e| (e.target, e.change))
            .collect();
        now.sort_by(|a, b| a.0.cmp(&b.0));
        let want = [
            (".a", Change::ChangedInStore),
            (".dir", Change::ChangedInStore),
            (".dir/file", Change::ChangedInStore),
            (".link", Change::ChangedInStore),
            (".new", Change::Missing),
            (".secret", Change::ChangedInStore),
        ];
        assert_eq!(now, want.map(|(t, c)| (t.to_string(), c)));
    }
}
