//! `dotback bootstrap`: a new machine restored from a remote, step by step, in dependency order.
//!
//! The steps are the built-in ones (clone, unlock, ssh, gpg, package-managers, packages,
//! dotfiles, templates, verify) and the user's `[[bootstrap.step]]`s, ordered by
//! [`super::plan`]. Each step is idempotent: it looks before it acts and says when there was
//! nothing to do, so a second bootstrap of a bootstrapped machine changes nothing. Progress is
//! kept in the state directory after every step, so `--resume` starts at the step a failure, an
//! interruption or a reboot stopped at. Every step is timed; the total is the measured recovery
//! time, recorded in the audit trail.

use super::plan::{Builtin, Plan, Step, UserStep};
use crate::apply::{self, ApplyOptions, Part};
use crate::config::DeviceConfig;
use crate::context::Context;
use crate::eval::Selection;
use crate::events::Sink;
use crate::keys::{self, KeysError, Passphrase, Unlocked};
use crate::paths::Paths;
use crate::session::{Access, Session, SessionError};
use crate::store::{Store, StoreError};
use crate::transport::TransportError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `dotback bootstrap` is asked to do.
pub struct Options<'a> {
    /// The remote to restore from (a URL or a local path).
    pub remote: String,
    /// Where the store goes; chezmoi's default source directory when `None`.
    pub source: Option<PathBuf>,
    /// This device's name; the host name when `None`.
    pub device: Option<String>,
    /// Start at the step an earlier run stopped at, skipping what it finished.
    pub resume: bool,
    /// The recovery passphrase, asked only when this device must be admitted.
    pub passphrase: Passphrase<'a>,
    /// How many wrong passphrases are forgiven (3 at a terminal, 1 from a file).
    pub passphrase_tries: usize,
    /// Run only these steps (and clone and unlock, which every other step needs).
    pub only: Vec<String>,
    /// Leave these steps out.
    pub skip: Vec<String>,
    /// Shows the store's steps that this device has not approved as they are (their commands)
    /// and says whether the user accepts them.
    pub approve: &'a dyn Fn(&[&UserStep]) -> bool,
    /// The device whose package lists to restore (see [`crate::packages::source_device`]).
    pub from: Option<String>,
    /// Use sudo for package installs without asking.
    pub yes: bool,
    /// Asks whether sudo may be used for a package install (the question is given).
    pub confirm: &'a dyn Fn(&str) -> bool,
}

/// How one step went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// It ran and changed something.
    Done,
    /// It looked and found nothing to do.
    AlreadyDone,
    /// It did not apply here (nothing of its kind in the store, a filter).
    Skipped,
    /// An earlier run finished it (`--resume`).
    DoneEarlier,
    /// It checked, changing nothing, and found everything in order (verify).
    Checked,
    /// It ran, and some of what it was to do failed (a package); the rest of the bootstrap still
    /// ran, and `--resume` runs it again.
    Incomplete,
}

/// One step, as the report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    pub name: String,
    pub outcome: Outcome,
    /// Wall-clock seconds the step took.
    pub secs: f64,
    /// What it did, in a few sentences.
    pub detail: Vec<String>,
}

/// What a bootstrap did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub store: PathBuf,
    pub device: String,
    pub steps: Vec<StepReport>,
    /// The measured recovery time: every step of this run, in seconds.
    pub total_secs: f64,
    /// Files in HOME that differed from the store: saved under `backup_dir`, then replaced.
    pub backed_up: Vec<String>,
    pub backup_dir: Option<PathBuf>,
    /// The machine was bootstrapped already: no step changed anything.
    pub nothing_to_do: bool,
    /// What the package steps did, per package (managers first).
    pub packages: Vec<crate::packages::RestoreReport>,
}

impl Report {
    /// The steps that ran with failures.
    pub fn incomplete(&self) -> impl Iterator<Item = &StepReport> {
        self.steps.iter().filter(|s| s.outcome == Outcome::Incomplete)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Init(#[from] crate::init::InitError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Context(#[from] crate::context::ContextError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Keys(#[from] KeysError),
    #[error(transparent)]
    Apply(#[from] apply::ApplyError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
    #[error(transparent)]
    Write(#[from] crate::error::PathError),
    #[error(transparent)]
    UserStep(#[from] super::user::UserStepError),
    #[error(transparent)]
    Packages(#[from] crate::packages::PackagesError),
    #[error("the remote {remote} has no branch to restore from; push a store to it first")]
    EmptyRemote { remote: String },
    #[error("{} exists and is not a clone of {remote}; move it aside or give another --source", path.display())]
    Occupied { path: PathBuf, remote: String },
    #[error("this device already uses the store {}, which has no remote {remote}", store.display())]
    OtherRemote { store: PathBuf, remote: String },
    #[error("{count} target{} could not be applied: {}", if *count == 1 { "" } else { "s" }, first.join(", "))]
    NotApplied { count: usize, first: Vec<String> },
    #[error("{count} encrypted target{} could not be decrypted: {}", if *count == 1 { "" } else { "s" }, first.join(", "))]
    Locked { count: usize, first: Vec<String> },
    #[error("the store hands {count} entr{} (templates, scripts, …) to chezmoi, which is not installed", if *count == 1 { "y" } else { "ies" })]
    NoChezmoi { count: usize },
    #[error("chezmoi failed: {0}")]
    Chezmoi(String),
    /// The store's code differs from what this device trusts: nothing was handed to chezmoi.
    #[error("{}", held.describe())]
    CodeHeld { held: crate::trust::Held },
    #[error("{count} tracked target{} differ{} from the store: {}", if *count == 1 { "" } else { "s" }, if *count == 1 { "s" } else { "" }, first.join(", "))]
    Mismatch { count: usize, first: Vec<String> },
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// A step failed; the report says what ran before it.
    #[error("bootstrap step `{step}` failed: {source}")]
    Step {
        step: String,
        #[source]
        source: Box<StepError>,
        report: Box<Report>,
    },
    #[error("the bootstrap to resume restored from {earlier}, not {remote}; run without --resume to start over")]
    OtherBootstrap { earlier: String, remote: String },
    /// The steps cannot be ordered (a cycle, an unknown name): nothing after the clone ran.
    #[error(transparent)]
    Plan(#[from] super::plan::PlanError),
    /// The store's own steps were not approved: nothing after unlock ran.
    #[error("the store's bootstrap step{} {} must be approved before {} run{}", if steps.len() == 1 { "" } else { "s" }, steps.join(", "), if steps.len() == 1 { "it" } else { "they" }, if steps.len() == 1 { "s" } else { "" })]
    NotApproved { steps: Vec<String>, report: Box<Report> },
    #[error("cannot keep the bootstrap's progress: {0}")]
    Progress(#[from] crate::error::PathError),
    #[error("{} is not a bootstrap's progress ({message}); remove it, and the bootstrap starts over (store steps without `unless` run again)", path.display())]
    BadProgress { path: PathBuf, message: String },
}

/// What an earlier run got done, kept in `$XDG_STATE_HOME/dotback/bootstrap.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Progress {
    remote: String,
    /// Per step: `running` (started, not finished: killed or interrupted), `done` or `failed`.
    steps: BTreeMap<String, String>,
}

/// Where the progress of a bootstrap is kept.
pub fn progress_path(paths: &Paths) -> PathBuf {
    paths.state_dir.join("bootstrap.json")
}

impl Progress {
    /// The progress an earlier run kept (`None` when there is none): a file that is not one is
    /// an error, so a resumed run never starts over unasked.
    fn load(path: &Path) -> Result<Option<Progress>, BootstrapError> {
        use crate::error::{Op, PathError};
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(PathError::new(Op::Read, path, e).into()),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| BootstrapError::BadProgress { path: path.to_path_buf(), message: e.to_string() })
    }

    fn save(&self, path: &Path) -> Result<(), crate::error::PathError> {
        use crate::error::{IoContext, Op};
        let dir = path.parent().expect("the progress file is in the state directory");
        std::fs::create_dir_all(dir).context(Op::Write, dir)?;
        let json = serde_json::to_vec_pretty(self).expect("progress serializes");
        crate::fsutil::write_atomic(path, &json, 0o600).context(Op::Write, path)
    }

    fn mark(&mut self, path: &Path, step: &str, state: &str) -> Result<(), crate::error::PathError> {
        self.steps.insert(step.to_string(), state.to_string());
        self.save(path)
    }
}

/// What a step tells the runner.
struct Did {
    outcome: Outcome,
    detail: Vec<String>,
    /// What the progress file keeps for it (`done`, unless said otherwise).
    record: Option<String>,
}

impl Did {
    fn new(outcome: Outcome, detail: impl Into<String>) -> Did {
        Did { outcome, detail: vec![detail.into()], record: None }
    }
}

/// The run's bookkeeping: the progress file, the report, the clock.
struct Runner<'p> {
    progress_file: PathBuf,
    progress: Progress,
    report: Report,
    started: Instant,
    resume: bool,
    sink: &'p dyn Sink,
}

impl Runner<'_> {
    /// Runs one step (unless a resumed run finished it before), timing it and recording it.
    fn step(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Report) -> Result<Did, StepError>,
    ) -> Result<(), BootstrapError> {
        let earlier = self.progress.steps.get(name).is_some_and(|s| s.starts_with("done"));
        if self.resume && earlier {
            self.report.steps.push(StepReport {
                name: name.to_string(),
                outcome: Outcome::DoneEarlier,
                secs: 0.0,
                detail: vec!["done in an earlier run".into()],
            });
            return Ok(());
        }
        // The state directory is made by the clone step: an unreachable remote leaves nothing.
        let recordable = || self.progress_file.parent().is_some_and(Path::exists);
        if recordable() {
            self.progress.mark(&self.progress_file, name, "running")?;
        }
        let t = Instant::now();
        let phase = crate::events::Phase::start(self.sink, name, 1);
        let result = f(&mut self.report);
        drop(phase);
        let secs = t.elapsed().as_secs_f64();
        match result {
            Ok(did) => {
                let state = match did.outcome {
                    Outcome::Incomplete => "incomplete".to_string(),
                    _ => did.record.clone().unwrap_or_else(|| "done".into()),
                };
                self.progress.mark(&self.progress_file, name, &state)?;
                self.report.steps.push(StepReport {
                    name: name.to_string(),
                    outcome: did.outcome,
                    secs,
                    detail: did.detail,
                });
                Ok(())
            }
            Err(source) => {
                if recordable() {
                    self.progress.mark(&self.progress_file, name, "failed")?;
                }
                self.report.total_secs = self.started.elapsed().as_secs_f64();
                Err(BootstrapError::Step {
                    step: name.to_string(),
                    source: Box::new(source),
                    report: Box::new(std::mem::take(&mut self.report)),
                })
            }
        }
    }

    fn skipped(&mut self, name: &str, why: String) {
        self.report.steps.push(StepReport {
            name: name.to_string(),
            outcome: Outcome::Skipped,
            secs: 0.0,
            detail: vec![why],
        });
    }
}

/// The plan for this machine from `manifest`'s steps.
fn plan_for(paths: &Paths, manifest: &crate::config::Manifest, opts: &Options) -> Result<Plan, BootstrapError> {
    let device = match DeviceConfig::load(&paths.config_file) {
        Ok(Some(cfg)) => cfg.device,
        _ => opts.device.clone().unwrap_or_else(crate::init::default_device),
    };
    let os = crate::selective::current_os().unwrap_or(std::env::consts::OS);
    Ok(super::plan::plan(&manifest.bootstrap.steps, os, &device, &opts.only, &opts.skip)?)
}

/// What `bootstrap --dry-run` shows: the plan that would run, from the store's manifest.
#[derive(Debug, Serialize)]
pub struct DryRun {
    /// Where the store is (or would be cloned to).
    pub store: PathBuf,
    /// This device already uses the store; otherwise it was cloned to a temporary directory,
    /// read and removed.
    pub cloned: bool,
    pub plan: Plan,
    /// What the package steps would install (a dry run of the restore), when the store has lists.
    pub packages: Option<crate::packages::RestoreReport>,
    /// A change of the store's steps (or keys and rules) this device does not trust: not in the
    /// plan.
    pub held_back: Option<crate::trust::Held>,
}

/// Plans without running anything: reads the store's manifest (from this device's store, or
/// from a temporary clone that is removed afterwards) and orders the steps.
pub fn dry_run(paths: &Paths, opts: &Options, sink: &dyn Sink) -> Result<DryRun, BootstrapError> {
    let fail =
        |e: StepError| BootstrapError::Step { step: "clone".into(), source: Box::new(e), report: Box::default() };
    let packages = |ctx: &Context| -> Result<Option<crate::packages::RestoreReport>, BootstrapError> {
        if crate::packages::devices(&ctx.store).map_err(|e| fail(e.into()))?.is_empty() {
            return Ok(None);
        }
        let ro = crate::packages::RestoreOptions { from: opts.from.clone(), dry_run: true, ..Default::default() };
        let never = |_: &str| false;
        crate::packages::restore(ctx, &ro, &never, &crate::events::Silent).map(Some).map_err(|e| fail(e.into()))
    };
    if let Some(cfg) = DeviceConfig::load(&paths.config_file).map_err(|e| fail(e.into()))? {
        // The steps this device would run: its trusted manifest's, not what a push alone left in
        // the work tree (held back).
        let ctx = Context::load(paths.clone()).map_err(|e| fail(e.into()))?;
        let s = Session::open(ctx, Access::Read, sink).map_err(|e| fail(e.into()))?;
        let plan = plan_for(paths, &s.trust().manifest, opts)?;
        let held_back = s.trust().held.clone();
        return Ok(DryRun { plan, packages: packages(&s.ctx)?, store: cfg.source, cloned: true, held_back });
    }
    let tmp = tempfile::tempdir()
        .map_err(|e| fail(crate::error::PathError::new(crate::error::Op::Write, std::env::temp_dir(), e).into()))?;
    let at = tmp.path().join("store");
    clone_into(&absolute_remote(&opts.remote), &at, &opts.remote, &mut |_, _| {}).map_err(fail)?;
    let manifest = crate::config::Manifest::load(&at).map_err(|e| fail(e.into()))?;
    let device = opts.device.clone().unwrap_or_else(crate::init::default_device);
    let config = DeviceConfig { device, source: at, ..Default::default() };
    let ctx = Context::new(paths.clone(), config).map_err(|e| fail(e.into()))?;
    let store = opts.source.clone().unwrap_or_else(|| crate::init::default_source(paths));
    let plan = plan_for(paths, &manifest, opts)?;
    Ok(DryRun { plan, packages: packages(&ctx)?, store, cloned: false, held_back: None })
}

/// Runs the bootstrap: clone and unlock first (every other step needs them, and the store's own
/// steps are only known, and authenticated, after them), then the plan, in order.
pub fn run(paths: &Paths, opts: &mut Options, sink: &dyn Sink) -> Result<Report, BootstrapError> {
    let progress_file = progress_path(paths);
    let earlier = Progress::load(&progress_file)?;
    let progress = match earlier {
        Some(p) if opts.resume && !same_remote(&p.remote, &opts.remote) => {
            return Err(BootstrapError::OtherBootstrap { earlier: p.remote, remote: opts.remote.clone() });
        }
        Some(p) if opts.resume => p,
        // A new run keeps what the store's steps without `unless` did before: they ran.
        Some(p) if same_remote(&p.remote, &opts.remote) => {
            let steps = p.steps.into_iter().filter(|(_, s)| s.starts_with("done:")).collect();
            Progress { remote: p.remote, steps }
        }
        // A run stopped before its clone was done recorded nothing: resuming it is starting it.
        _ => Progress { remote: absolute_remote(&opts.remote), steps: BTreeMap::new() },
    };
    let mut r = Runner {
        progress_file,
        progress,
        report: Report::default(),
        started: Instant::now(),
        resume: opts.resume,
        sink,
    };
    // The recovery key, opened while the clone checks out (see `clone_step`).
    let mut early = None;
    r.step("clone", |report| clone_step(paths, opts, report, &mut early))?;
    // The names --only and --skip give, and the graph, are checked before anything else runs.
    let store = r.report.store.clone();
    let unchecked = crate::config::Manifest::load(&store).map_err(|e| BootstrapError::Step {
        step: "clone".into(),
        source: Box::new(e.into()),
        report: Box::new(r.report.clone()),
    })?;
    plan_for(paths, &unchecked, opts)?;
    r.step("unlock", |report| {
        with_session(paths, "unlock", report, sink, |s, _| unlock_step(s, opts, early.take(), sink))
    })?;

    // The plan from the manifest this device trusts, and the store's steps it must approve. The
    // session that reads it is the one the built-in steps then share (opening one reads the
    // whole store and the cache): kept until a store step runs, which gets the store to itself.
    let mut session = None;
    let trusted = open_session(paths, &mut r.report, sink, &mut session)
        .map_err(|e| r.fail("unlock", e))?
        .trust()
        .manifest
        .clone();
    let plan = plan_for(paths, &trusted, opts)?;
    let mut approvals = super::user::Approvals::load(&paths.state_dir).map_err(|e| r.fail("unlock", e.into()))?;
    let unseen: Vec<&UserStep> = plan
        .steps
        .iter()
        .filter(|p| p.skipped.is_none())
        .filter_map(|p| match &p.step {
            Step::User(u) if approvals.needs_approval(u) => Some(u),
            _ => None,
        })
        .collect();
    if !unseen.is_empty() {
        // Nobody waits for the lock while the user reads the steps.
        close_session(&mut session).map_err(|e| r.fail("unlock", e))?;
        if !(opts.approve)(&unseen) {
            return Err(BootstrapError::NotApproved {
                steps: unseen.iter().map(|u| u.name.clone()).collect(),
                report: Box::new(r.report),
            });
        }
        approvals.approve(unseen.iter().copied()).map_err(|e| r.fail("unlock", e.into()))?;
    }

    let mut last = "unlock".to_string();
    for planned in &plan.steps {
        let name = planned.step.name().to_string();
        if matches!(planned.step, Step::Builtin(Builtin::Clone | Builtin::Unlock)) {
            continue;
        }
        if let Some(why) = &planned.skipped {
            r.skipped(&name, why.to_string());
            continue;
        }
        match &planned.step {
            Step::Builtin(b) => {
                let b = *b;
                r.step(&name, |report| {
                    in_session(paths, b, report, sink, &mut session, |s, report| builtin_step(b, s, report, opts, sink))
                })?
            }
            Step::User(u) => {
                close_session(&mut session).map_err(|e| r.fail(&last, e))?;
                let before = r.progress.steps.get(&u.name).cloned();
                r.step(&name, |_| user_step(u, paths, before.as_deref(), sink))?
            }
        }
        last = name;
    }
    close_session(&mut session).map_err(|e| r.fail(&last, e))?;
    let mut report = r.report;
    report.total_secs = r.started.elapsed().as_secs_f64();
    // A resumed run finishes what an earlier one began: that is not "nothing to do".
    report.nothing_to_do = report.steps.iter().all(|s| !matches!(s.outcome, Outcome::Done | Outcome::DoneEarlier));
    if !report.nothing_to_do {
        audit(&report, sink);
    }
    Ok(report)
}

impl Runner<'_> {
    /// A failure between steps, reported as the step it belongs to.
    fn fail(&self, step: &str, source: StepError) -> BootstrapError {
        BootstrapError::Step { step: step.into(), source: Box::new(source), report: Box::new(self.report.clone()) }
    }
}

/// A store step: `unless` decides when it has one; without, a run that did it before (same
/// commands) counts.
fn user_step(u: &UserStep, paths: &Paths, before: Option<&str>, sink: &dyn Sink) -> Result<Did, StepError> {
    let digest = super::user::digest(u);
    let record = Some(format!("done:{digest}"));
    if u.unless.is_none() && before == record.as_deref() {
        return Ok(Did { outcome: Outcome::AlreadyDone, detail: vec!["ran in an earlier bootstrap".into()], record });
    }
    let log = paths.state_dir.join("bootstrap").join(format!("{}.log", u.name));
    let outcome = super::user::run(u, &paths.home, &log, sink)?;
    Ok(match outcome {
        super::user::Outcome::Ran => Did { outcome: Outcome::Done, detail: vec![format!("ran `{}`", u.run)], record },
        super::user::Outcome::AlreadyDone => Did {
            outcome: Outcome::AlreadyDone,
            detail: vec![format!("`{}` says it is done", u.unless.as_deref().unwrap_or_default())],
            record,
        },
    })
}

/// Runs `f` in a writer session of this device, finishing the session after it.
fn with_session(
    paths: &Paths,
    step: &str,
    report: &mut Report,
    sink: &dyn Sink,
    f: impl FnOnce(&mut Session, &mut Report) -> Result<Did, StepError>,
) -> Result<Did, StepError> {
    let mut session = None;
    let s = open_session(paths, report, sink, &mut session)?;
    let did = f(s, report)?;
    // A test kills the run here: the step's work done, its session not yet finished.
    crate::testing::pause(&format!("bootstrap-{step}"));
    close_session(&mut session)?;
    Ok(did)
}

/// The writer session of this device in `session`, opened unless it is open.
fn open_session<'s>(
    paths: &Paths,
    report: &mut Report,
    sink: &dyn Sink,
    session: &'s mut Option<Session>,
) -> Result<&'s mut Session, StepError> {
    if session.is_none() {
        let ctx = Context::load(paths.clone())?;
        report.store = ctx.store.clone();
        report.device = ctx.device.clone();
        *session = Some(Session::open(ctx, Access::Write, sink)?);
    }
    Ok(session.as_mut().expect("opened above"))
}

/// Finishes the session in `session`, if one is open.
fn close_session(session: &mut Option<Session>) -> Result<(), StepError> {
    match session.take() {
        Some(s) => Ok(s.finish()?),
        None => Ok(()),
    }
}

/// Runs the built-in step `b` in the session the built-in steps share (opened unless it is
/// open). After the step its cache is saved, as finishing a session would; a step that fails
/// takes the session with it, unfinished, as it would take its own.
fn in_session(
    paths: &Paths,
    b: Builtin,
    report: &mut Report,
    sink: &dyn Sink,
    session: &mut Option<Session>,
    f: impl FnOnce(&mut Session, &mut Report) -> Result<Did, StepError>,
) -> Result<Did, StepError> {
    let reused = session.is_some();
    let s = open_session(paths, report, sink, session)?;
    // A step that evaluates starts from the cache as saved now, as it would in a session of
    // its own: what it learns of files written since (the dotfiles) is too recent to memoize
    // for an older session, and a later command would read them all again.
    if reused && matches!(b, Builtin::Ssh | Builtin::Dotfiles | Builtin::Templates | Builtin::Verify) {
        s.cache = crate::state::Cache::load(&s.ctx.paths.state_dir);
    }
    let did = match f(s, report) {
        Ok(did) => did,
        Err(e) => {
            drop(session.take());
            return Err(e);
        }
    };
    // A test kills the run here: the step's work done, its session not yet finished.
    crate::testing::pause(&format!("bootstrap-{}", b.name()));
    if let Some(s) = session.as_mut()
        && let Err(e) = s.cache.save()
    {
        drop(session.take());
        return Err(e.into());
    }
    Ok(did)
}

/// Records the bootstrap, with its per-step times, in this device's audit trail (committed by the
/// next sync).
fn audit(report: &Report, sink: &dyn Sink) {
    let steps: Vec<crate::audit::StepTime> = report
        .steps
        .iter()
        .map(|s| crate::audit::StepTime {
            name: s.name.clone(),
            outcome: serde_json::to_value(s.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            ms: (s.secs * 1000.0) as u64,
        })
        .collect();
    let record = crate::audit::Record {
        time: crate::state::rfc3339_now(),
        device: report.device.clone(),
        user: crate::audit::user(),
        command: "bootstrap".into(),
        outcome: "ok".into(),
        duration_ms: (report.total_secs * 1000.0) as u64,
        steps,
        ..Default::default()
    };
    if let Err(e) = crate::audit::append(&report.store, &record) {
        sink.warn(format!("could not record the bootstrap in the audit trail: {e}"));
    }
}

fn builtin_step(
    b: Builtin,
    s: &mut Session,
    report: &mut Report,
    opts: &Options,
    sink: &dyn Sink,
) -> Result<Did, StepError> {
    use crate::packages::RestorePhase as Phase;
    Ok(match b {
        Builtin::Ssh => ssh_step(s, report, sink)?,
        Builtin::Gpg => gpg_step(s)?,
        Builtin::PackageManagers => packages_step(s, Phase::Managers, report, opts, sink)?,
        Builtin::Packages => packages_step(s, Phase::Packages, report, opts, sink)?,
        Builtin::Dotfiles => dotfiles_step(s, report, sink)?,
        Builtin::Templates => templates_step(s, sink)?,
        Builtin::Verify => verify_step(s)?,
        Builtin::Clone | Builtin::Unlock => unreachable!("clone and unlock run before the plan"),
    })
}

/// Whether `a` and `b` name the same remote (a local path given relative, or with a slash more).
fn same_remote(a: &str, b: &str) -> bool {
    let norm = |u: &str| {
        let u = u.trim_end_matches('/');
        match crate::transport::local_path(u) {
            Some(p) => std::fs::canonicalize(&p).unwrap_or(p).display().to_string(),
            None => u.to_string(),
        }
    };
    norm(a) == norm(b)
}

/// A URL as the store's config keeps it: a local path made absolute.
pub(crate) fn absolute_remote(url: &str) -> String {
    match crate::transport::local_path(url) {
        Some(p) if p.is_relative() => std::fs::canonicalize(&p).unwrap_or(p).display().to_string(),
        _ => url.to_string(),
    }
}

/// The recovery key being opened on another thread, or why its passphrase could not be had.
type Early = Option<Result<std::thread::JoinHandle<keys::Opened>, String>>;

fn clone_step(paths: &Paths, opts: &mut Options, report: &mut Report, early: &mut Early) -> Result<Did, StepError> {
    if let Some(cfg) = DeviceConfig::load(&paths.config_file)? {
        report.store = cfg.source.clone();
        report.device = cfg.device.clone();
        if let Some(s) = &opts.source
            && *s != cfg.source
        {
            return Err(crate::init::InitError::OtherStore { existing: cfg.source, requested: s.clone() }.into());
        }
        let store = Store::open(&cfg.source)?;
        if !store.remotes()?.iter().any(|(_, url)| same_remote(url, &opts.remote)) {
            return Err(StepError::OtherRemote { store: cfg.source, remote: opts.remote.clone() });
        }
        return Ok(Did::new(
            Outcome::AlreadyDone,
            format!("this device already uses the store {}", cfg.source.display()),
        ));
    }
    let dest = opts.source.clone().unwrap_or_else(|| crate::init::default_source(paths));
    let adopted = match Store::open(&dest) {
        Ok(store) if store.remotes()?.iter().any(|(_, url)| same_remote(url, &opts.remote)) => true,
        _ if dest.read_dir().is_ok_and(|mut d| d.next().is_some()) || (dest.exists() && !dest.is_dir()) => {
            return Err(StepError::Occupied { path: dest, remote: opts.remote.clone() });
        }
        _ => false,
    };
    if !adopted {
        // A machine with no identity yet needs the recovery passphrase: it is asked (or read)
        // as soon as the sealed recovery key is known, and the key derivation (the slow part of
        // the unlock, on purpose) runs beside the clone. A local remote's is read before the
        // fetch, so the derivation runs beside the fetch and the checkout; otherwise it is read
        // from the fetched commit, and runs beside the checkout. (The unlock uses the key only
        // if it opened the very file the store holds then.)
        let need = !has_identity(paths);
        let url = absolute_remote(&opts.remote);
        let ask = &mut opts.passphrase;
        let mut start = |sealed: Vec<u8>| {
            // A passphrase that cannot be had is reported by the unlock (stdin is read once).
            *early = Some(ask().map(|pass| {
                std::thread::spawn(move || {
                    let result = crate::crypt::open_recovery(&sealed, &pass);
                    keys::Opened { pass, sealed, result }
                })
            }));
        };
        let mut started = false;
        if need && let Some(sealed) = sealed_in_local_remote(&url) {
            start(sealed);
            started = true;
        }
        let mut open_early = |store: &Store, commit: git2::Oid| {
            if !need || started {
                return;
            }
            let rel = crate::vault::recovery_path(Path::new("")).to_string_lossy().into_owned();
            let Ok(Some(sealed)) = store.file_at(commit, &rel) else { return };
            start(sealed);
        };
        clone_into(&url, &dest, &opts.remote, &mut open_early)?;
    }
    let ask = &mut opts.passphrase;
    let init = crate::init::init(paths, Some(&dest), opts.device.as_deref(), None, ask);
    let init = match init {
        Ok(r) => r,
        Err(e) => {
            if !adopted {
                let _ = std::fs::remove_dir_all(&dest);
            }
            return Err(e.into());
        }
    };
    report.store = init.store.clone();
    report.device = init.device.clone();
    let what = if adopted { "adopted the clone at" } else { "cloned the store into" };
    Ok(Did::new(Outcome::Done, format!("{what} {} as device `{}`", dest.display(), init.device)))
}

/// The sealed recovery key at the HEAD of the repository at `url`, when that is a local path
/// (read without fetching: what the clone then fetches decides whether it is used).
fn sealed_in_local_remote(url: &str) -> Option<Vec<u8>> {
    let path = crate::transport::local_path(url)?;
    let flags = git2::RepositoryOpenFlags::NO_SEARCH;
    let repo = git2::Repository::open_ext(&path, flags, std::iter::empty::<&std::ffi::OsStr>()).ok()?;
    let tree = repo.head().ok()?.peel_to_commit().ok()?.tree().ok()?;
    let entry = tree.get_path(&crate::vault::recovery_path(Path::new(""))).ok()?;
    if entry.kind() != Some(git2::ObjectType::Blob) {
        return None;
    }
    Some(repo.find_blob(entry.id()).ok()?.content().to_vec())
}

/// Clones `url` into `dest` through a sibling directory renamed into place, so a failure (an
/// unreachable remote, an empty one) leaves nothing behind, not even `dest`'s parents.
/// `fetched` is called with the fetched commit before it is checked out.
pub(crate) fn clone_into(
    url: &str,
    dest: &Path,
    shown: &str,
    fetched: &mut dyn FnMut(&Store, git2::Oid),
) -> Result<(), StepError> {
    use crate::error::{IoContext, Op};
    let parent = dest.parent().unwrap_or(Path::new("/"));
    let mut made = None;
    for a in parent.ancestors() {
        if a.exists() {
            break;
        }
        made = Some(a.to_path_buf());
    }
    std::fs::create_dir_all(parent).context(Op::Write, parent)?;
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.dotback-clone-");
    // What a killed clone left: its process is gone.
    for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let file = e.file_name();
        let pid = file.to_str().and_then(|f| f.strip_prefix(&prefix)).and_then(|p| p.parse::<i32>().ok());
        // SAFETY: signal 0 only asks whether the process exists.
        if pid.is_some_and(|pid| unsafe { libc::kill(pid, 0) } != 0) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    let staging = parent.join(format!("{prefix}{}", std::process::id()));
    let result = (|| -> Result<(), StepError> {
        let (store, _) = Store::init(&staging)?;
        store.add_remote("origin", url)?;
        let empty = || StepError::EmptyRemote { remote: shown.to_string() };
        let branch = store.remote_default_branch("origin")?.ok_or_else(empty)?;
        store.set_branch(&branch)?;
        let id = store.fetch("origin")?.ok_or_else(empty)?;
        fetched(&store, id);
        store.checkout(id)?;
        // The clone is on disk before it takes its place (and before the recovery key's
        // derivation, running beside it, is done: the push of the admission then has only its
        // own objects left to make durable).
        crate::fsutil::sync_fs(&staging).context(Op::Write, &staging)?;
        store.set_seen("origin", id)?;
        drop(store);
        crate::testing::pause("bootstrap-clone");
        if dest.exists() {
            std::fs::remove_dir(dest).context(Op::Write, dest)?;
        }
        std::fs::rename(&staging, dest).context(Op::Write, dest)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
        if let Some(top) = made {
            let _ = std::fs::remove_dir_all(top);
        }
    }
    result
}

/// Whether this device's identity is among the recipients it trusts.
fn is_recipient(s: &Session) -> bool {
    let Ok(ids) = crate::vault::load_identities(&s.ctx, s.ctx.identity) else { return false };
    let Ok(rs) = s.trust().recipients() else { return false };
    let all: Vec<String> = rs.all().iter().map(|r| r.to_string()).collect();
    ids.iter().any(|id| all.contains(&id.public().to_string()))
}

/// Whether this machine already has an identity a bootstrap could find before its device config
/// exists: dotback's identity file, or one named by chezmoi's age configuration. (One kept in
/// the keyring is not looked for: at worst the passphrase is asked for and not used.)
fn has_identity(paths: &Paths) -> bool {
    if crate::vault::identity_file_in(paths).symlink_metadata().is_ok() {
        return true;
    }
    match crate::crypt::chezmoi_config::read(&paths.chezmoi_config_dir, &paths.home) {
        Ok(Some(cz)) => cz.identities.iter().any(|p| p.exists()),
        Ok(None) => false,
        Err(_) => true,
    }
}

fn unlock_step(s: &mut Session, opts: &mut Options, early: Early, sink: &dyn Sink) -> Result<Did, StepError> {
    let files = if is_recipient(s) {
        None
    } else {
        let mut early = match early {
            Some(Err(why)) => return Err(KeysError::Passphrase { what: "the recovery passphrase", why }.into()),
            Some(Ok(h)) => h.join().ok(),
            None => None,
        };
        let tries = opts.passphrase_tries.max(1);
        let mut attempt = 1;
        loop {
            match keys::unlock_with(s, early.take(), opts.passphrase) {
                Ok(Unlocked::Already) => break None,
                Ok(Unlocked::Admitted { files }) => break Some(files),
                Err(KeysError::Recovery { source: crate::crypt::CryptError::WrongPassphrase, .. })
                    if attempt < tries =>
                {
                    let left = tries - attempt;
                    sink.warn(format!(
                        "that passphrase does not open the recovery key; {left} more tr{}",
                        if left == 1 { "y" } else { "ies" }
                    ));
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let mut detail = match files {
        Some(n) => vec![format!(
            "this device is a recipient now ({n} secret file{} re-encrypted to it)",
            if n == 1 { "" } else { "s" }
        )],
        None => vec!["this device is a recipient already".to_string()],
    };
    // The admission goes to every remote (also when an interrupted run committed it and did not
    // get to push it): other devices encrypt to this one only once they have it.
    let pushed = push_unpushed(s, sink)?;
    if !pushed.is_empty() {
        detail.push(format!("pushed the admission to {}", pushed.join(", ")));
    }
    let outcome = if files.is_some() || !pushed.is_empty() { Outcome::Done } else { Outcome::AlreadyDone };
    Ok(Did { outcome, detail, record: None })
}

/// Pushes HEAD to every remote that has not got it; returns the remotes that took it.
fn push_unpushed(s: &Session, sink: &dyn Sink) -> Result<Vec<String>, StepError> {
    let store = s.store()?;
    let Some(head) = store.head_commit()? else { return Ok(Vec::new()) };
    let mut behind = Vec::new();
    for name in crate::sync::remotes(&store, None)? {
        let has = store.seen(&name).is_some_and(|seen| store.contains(seen, head).unwrap_or(false));
        if !has {
            behind.push(name);
        }
    }
    if behind.is_empty() {
        return Ok(Vec::new());
    }
    let pushed = crate::push::push_all(&store, &behind)?;
    for (name, why) in &pushed.unreachable {
        sink.warn(format!(
            "could not reach {name} to push this device's admission ({why}); `dotback sync` pushes it later"
        ));
    }
    for (name, e) in &pushed.refused {
        sink.warn(format!("{name} refused this device's admission ({e}); `dotback sync` merges and pushes it"));
    }
    Ok(pushed.pushed)
}

/// Applies dotback's own part of `selection`; the targets it wrote, and what it backed up.
fn apply_native(
    s: &mut Session,
    selection: Selection,
    report: &mut Report,
    sink: &dyn Sink,
) -> Result<usize, StepError> {
    let opts = ApplyOptions { selection, part: Part::Native, ..Default::default() };
    let run = apply::run(s, &opts, sink)?;
    if !run.locked.is_empty() {
        let first = run.locked.iter().take(5).map(|(t, _)| format!("~/{t}")).collect();
        return Err(StepError::Locked { count: run.locked.len(), first });
    }
    let done = run.report.unwrap_or_default();
    if !done.failed.is_empty() {
        let first = done.failed.iter().take(5).map(|(t, e)| format!("~/{t} ({e})")).collect();
        return Err(StepError::NotApplied { count: done.failed.len(), first });
    }
    for a in run.actions.iter().filter(|a| a.backup && a.expected.is_some()) {
        if !report.backed_up.contains(&a.target) {
            report.backed_up.push(a.target.clone());
        }
    }
    if done.backup_dir.is_some() {
        report.backup_dir = done.backup_dir;
    }
    Ok(done.written.len() + done.removed.len())
}

fn ssh_step(s: &mut Session, report: &mut Report, sink: &dyn Sink) -> Result<Did, StepError> {
    if !s.state.entries.iter().any(|m| crate::eval::is_at_or_below(&m.target, ".ssh")) {
        return Ok(Did::new(Outcome::Skipped, "the store has no ~/.ssh"));
    }
    let n = apply_native(s, Selection::of(vec![".ssh".into()]), report, sink)?;
    Ok(match n {
        0 => Did::new(Outcome::AlreadyDone, "~/.ssh is as the store has it"),
        n => Did::new(Outcome::Done, format!("restored {n} entr{} in ~/.ssh", if n == 1 { "y" } else { "ies" })),
    })
}

fn gpg_step(s: &Session) -> Result<Did, StepError> {
    let dir = keys::gpg_dir(s);
    if !dir.join("public-keys.asc").exists() {
        return Ok(Did::new(Outcome::Skipped, "the store has no GPG keys"));
    }
    let gpg = crate::keys::gpg::Gpg::new();
    let before = gpg.secret_fingerprints().map_err(KeysError::from)?;
    let imported = keys::gpg_import(s)?;
    let new: Vec<&String> = imported.iter().filter(|f| !before.contains(f)).collect();
    Ok(match new.len() {
        0 => Did::new(Outcome::AlreadyDone, "the GPG keys are imported already"),
        n => Did::new(Outcome::Done, format!("imported {n} GPG secret key{}", if n == 1 { "" } else { "s" })),
    })
}

/// Installs what the package lists of the source device have and this machine lacks: the
/// managers first (`package-managers`), then the packages. A package that fails is reported and
/// the bootstrap goes on: a missing tool must not keep the dotfiles from being restored.
fn packages_step(
    s: &Session,
    phase: crate::packages::RestorePhase,
    report: &mut Report,
    opts: &Options,
    sink: &dyn Sink,
) -> Result<Did, StepError> {
    use crate::packages::Status;
    if crate::packages::devices(&s.ctx.store)?.is_empty() {
        return Ok(Did::new(Outcome::Skipped, "the store has no package lists"));
    }
    let ro = crate::packages::RestoreOptions { from: opts.from.clone(), dry_run: false, yes: opts.yes, phase };
    let done = crate::packages::restore(&s.ctx, &ro, opts.confirm, sink)?;
    let outcomes = match phase {
        crate::packages::RestorePhase::Managers => &done.managers,
        _ => &done.packages,
    };
    let count = |st: Status| outcomes.iter().filter(|o| o.status == st).count();
    let (installed, there) = (count(Status::Installed), count(Status::AlreadyThere));
    let what = if phase == crate::packages::RestorePhase::Managers { "manager" } else { "package" };
    let mut detail = vec![format!(
        "from device `{}`: {installed} {what}{} installed, {there} already there",
        done.from,
        if installed == 1 { "" } else { "s" }
    )];
    let manual: Vec<String> = outcomes
        .iter()
        .filter(|o| o.status == Status::Manual)
        .map(|o| format!("{} ({})", o.detail.as_deref().unwrap_or(&o.name), o.link.as_deref().unwrap_or("")))
        .collect();
    if !manual.is_empty() {
        detail.push(format!("to install by hand: {}", manual.join(", ")));
    }
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.status == Status::Failed)
        .map(|o| format!("{} {} ({})", o.manager.name(), o.name, o.error.as_deref().unwrap_or("failed")))
        .chain(done.skipped.iter().map(|k| format!("{}: {}", k.manager.name(), k.reason)))
        .collect();
    let outcome = if !failed.is_empty() {
        detail.push(format!("failed: {}", failed.join("; ")));
        Outcome::Incomplete
    } else if installed > 0 {
        Outcome::Done
    } else {
        Outcome::AlreadyDone
    };
    report.packages.push(done);
    Ok(Did { outcome, detail, record: None })
}

fn dotfiles_step(s: &mut Session, report: &mut Report, sink: &dyn Sink) -> Result<Did, StepError> {
    let n = apply_native(s, Selection::all(), report, sink)?;
    let mut did = match n {
        0 => Did::new(Outcome::AlreadyDone, "HOME is as the store has it"),
        n => Did::new(Outcome::Done, format!("applied {n} target{}", if n == 1 { "" } else { "s" })),
    };
    if !report.backed_up.is_empty() {
        did.detail.push(format!(
            "{} file{} in HOME differed from the store and {} backed up first",
            report.backed_up.len(),
            if report.backed_up.len() == 1 { "" } else { "s" },
            if report.backed_up.len() == 1 { "was" } else { "were" }
        ));
    }
    Ok(did)
}

fn templates_step(s: &mut Session, sink: &dyn Sink) -> Result<Did, StepError> {
    if let Some(held) = s.trust().held.clone().filter(|h| !h.code.is_empty()) {
        return Err(StepError::CodeHeld { held });
    }
    let items = crate::delegate::items(&s.state);
    if items.is_empty() {
        return Ok(Did::new(Outcome::Skipped, "the store hands nothing to chezmoi"));
    }
    let Some(bin) = crate::chezmoi::find() else { return Err(StepError::NoChezmoi { count: items.len() }) };
    // chezmoi's own status says whether anything it applies would change (a `run_once_` script
    // that ran is not listed): a bootstrapped machine gets no call.
    let targets: Vec<String> = items.iter().filter_map(|i| i.target.clone()).collect();
    // Externals and remove lists name no target of their own: then the whole store is asked.
    let asked = if targets.len() == items.len() { targets } else { Vec::new() };
    if crate::chezmoi::status(&bin, &s.ctx.paths.home, &s.ctx.store, &asked).is_ok_and(|l| l.is_empty()) {
        return Ok(Did::new(Outcome::AlreadyDone, "chezmoi has nothing to apply"));
    }
    let opts = ApplyOptions { part: Part::Delegated, ..Default::default() };
    let run = apply::run(s, &opts, sink)?;
    match run.delegation {
        crate::delegate::Delegation::Failed(msg) => Err(StepError::Chezmoi(msg)),
        crate::delegate::Delegation::NoChezmoi => Err(StepError::NoChezmoi { count: items.len() }),
        _ => Ok(Did::new(
            Outcome::Done,
            format!(
                "chezmoi applied {} entr{}",
                run.delegated.len(),
                if run.delegated.len() == 1 { "y" } else { "ies" }
            ),
        )),
    }
}

/// Every tracked target compared with the store, as a restore drill compares them.
fn verify_step(s: &mut Session) -> Result<Did, StepError> {
    use crate::eval::Change;
    let p = s.parts();
    let evals =
        crate::eval::evaluate(p.ctx, p.state, p.cache, p.vault, &Selection::all()).map_err(apply::ApplyError::from)?;
    // Edited in HOME since dotback wrote it: the user's edit (the dotfiles step leaves those
    // alone, and `sync` captures them), not a restore that went wrong.
    let edited: Vec<&crate::eval::Eval> = evals.iter().filter(|e| e.change == Change::ChangedInHome).collect();
    let bad: Vec<&crate::eval::Eval> =
        evals.iter().filter(|e| !matches!(e.change, Change::Clean | Change::Skipped | Change::ChangedInHome)).collect();
    if !bad.is_empty() {
        let first = bad.iter().take(5).map(|e| format!("~/{} ({})", e.target, e.change.describe())).collect();
        return Err(StepError::Mismatch { count: bad.len(), first });
    }
    let n = evals.iter().filter(|e| e.change == Change::Clean).count();
    let mut did = Did::new(Outcome::Checked, format!("{n} tracked targets match the store"));
    if !edited.is_empty() {
        let names: Vec<String> = edited.iter().take(5).map(|e| format!("~/{}", e.target)).collect();
        did.detail.push(format!(
            "{} edited in HOME since they were restored (`dotback sync` records them): {}",
            edited.len(),
            names.join(", ")
        ));
    }
    Ok(did)
}
