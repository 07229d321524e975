//! `dotback drill`: proves a remote restores. It clones the remote into a temporary directory,
//! restores it into a temporary HOME with this device's identity (or, with `--recovery`, with the
//! recovery key alone: the disaster path), and compares every tracked file, contents and mode,
//! with the live HOME and with this device's store. The time the clone and restore took is the
//! measured recovery time. Nothing outside the temporary directories is touched (the remote is
//! only read, nothing from the store runs), and they are removed at the end, also when the drill
//! fails or is interrupted (a drill killed outright leaves them for the next one to remove).

use super::alert;
use super::check::Finding;
use crate::apply::{self, ApplyOptions, Part};
use crate::config::DeviceConfig;
use crate::context::Context;
use crate::eval::{Change, Selection};
use crate::events::{Silent, Sink};
use crate::session::{Access, Session, SessionError};
use crate::state::Node;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What `dotback drill` is asked to do.
pub struct DrillOptions<'a> {
    /// The remote to drill; the store's first remote when `None`.
    pub remote: Option<String>,
    /// Restore with the recovery key, opened with this passphrase, instead of this device's
    /// identity.
    pub recovery: Option<crate::keys::Passphrase<'a>>,
    /// Run `alert_command` (device config) when the drill fails or finds a mismatch.
    pub alert: bool,
}

/// One tracked target that did not come back as expected.
#[derive(Clone, Debug, Serialize)]
pub struct Mismatch {
    /// The target, relative to HOME.
    pub path: String,
    /// What differs, in a few words.
    pub what: String,
}

/// What a drill found.
#[derive(Clone, Debug, Serialize)]
pub struct DrillReport {
    pub remote: String,
    /// `identity` or `recovery`.
    pub with: &'static str,
    /// Tracked targets restored and found identical to the live HOME and the store.
    pub verified: usize,
    pub mismatches: Vec<Mismatch>,
    /// The measured recovery time: clone and restore, in seconds.
    pub rto_secs: f64,
    pub clone_secs: f64,
    pub restore_secs: f64,
    pub compare_secs: f64,
}

impl DrillReport {
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
    #[error("cannot clone {remote} for the drill: {source}")]
    Clone {
        remote: String,
        #[source]
        source: Box<crate::bootstrap::StepError>,
    },
    #[error(transparent)]
    Context(#[from] crate::context::ContextError),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error(transparent)]
    Keys(#[from] crate::keys::KeysError),
    #[error(transparent)]
    Apply(#[from] apply::ApplyError),
    #[error("cannot make the drill's temporary directory in {}: {source}", dir.display())]
    Temp {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the drill was interrupted; its temporary directories are removed")]
    Interrupted,
}

/// The prefix of a drill's temporary directory in the state directory.
const TEMP_PREFIX: &str = "drill-";

/// Runs a drill for this device's store. `stop` (Ctrl-C) ends it between phases. A drill that
/// cannot finish (a remote out of reach, a wrong passphrase) is recorded as failed in the audit
/// trail, as one with mismatches is; with `alert`, both run `alert_command`.
pub fn drill(
    ctx: &Context,
    opts: &mut DrillOptions,
    stop: &AtomicBool,
    sink: &dyn Sink,
) -> Result<DrillReport, DrillError> {
    let started = Instant::now();
    let with = if opts.recovery.is_some() { "recovery" } else { "identity" };
    let result = restore_and_compare(ctx, opts, stop, sink);
    let findings: Vec<Finding> = match &result {
        Ok(report) => {
            audit(ctx, with, if report.passed() { "ok" } else { "mismatch" }, Some(report), started, sink);
            report
                .mismatches
                .iter()
                .map(|m| {
                    Finding::error("drill", format!("~/{} {} in the drill of {}", m.path, m.what, report.remote))
                        .at(format!("~/{}", m.path))
                })
                .collect()
        }
        Err(DrillError::Interrupted) => Vec::new(),
        Err(e) => {
            audit(ctx, with, "error", None, started, sink);
            vec![Finding::error("drill", format!("the drill could not finish: {}", crate::vault::describe(e)))]
        }
    };
    if opts.alert && !findings.is_empty() {
        let sent = match &ctx.alert_command {
            None => Err(alert::unset()),
            Some(command) => alert::send(command, &alert::Alert::new("drill", &ctx.device, &findings))
                .map_err(|why| alert::failed(&why)),
        };
        if let Err(f) = sent {
            sink.warn(f.message);
        }
    }
    result
}

/// Clones the remote, restores it into a temporary HOME and compares what came back.
fn restore_and_compare(
    ctx: &Context,
    opts: &mut DrillOptions,
    stop: &AtomicBool,
    sink: &dyn Sink,
) -> Result<DrillReport, DrillError> {
    // What this device has: its store's desired state and its live HOME, per target.
    let mut mine = Session::open(ctx.clone(), Access::Read, &Silent)?;
    let store = mine.store()?;
    let remotes = crate::sync::remotes(&store, opts.remote.as_deref())?;
    let name = remotes[0].clone();
    let url = store.remotes()?.into_iter().find(|(n, _)| *n == name).map(|(_, u)| u).unwrap_or_default();
    drop(store);
    let (ids, with) = match opts.recovery.as_mut() {
        Some(ask) => (vec![open_recovery(&mine, ask)?], "recovery"),
        None => (crate::vault::load_identities(ctx, ctx.identity)?, "identity"),
    };
    let p = mine.parts();
    let here =
        crate::eval::evaluate(p.ctx, p.state, p.cache, p.vault, &Selection::all()).map_err(apply::ApplyError::from)?;
    let here: BTreeMap<String, (Option<Node>, Option<Node>)> =
        here.into_iter().filter(|e| e.change != Change::Skipped).map(|e| (e.target, (e.desired, e.actual))).collect();
    drop(mine);
    check(stop)?;

    remove_stale(&ctx.paths.state_dir);
    crate::state::ensure_private_dir(&ctx.paths.state_dir)
        .map_err(|e| DrillError::Temp { dir: ctx.paths.state_dir.clone(), source: std::io::Error::other(e) })?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .tempdir_in(&ctx.paths.state_dir)
        .map_err(|source| DrillError::Temp { dir: ctx.paths.state_dir.clone(), source })?;
    let root = tmp.path();
    sink.news(format!("drill: cloning {name} into a temporary directory"));
    let t = Instant::now();
    let at = root.join("store");
    crate::bootstrap::clone_into(&crate::bootstrap::absolute_remote(&url), &at, &url, &mut |_, _| {})
        .map_err(|e| DrillError::Clone { remote: name.clone(), source: Box::new(e) })?;
    let clone_secs = t.elapsed().as_secs_f64();
    check(stop)?;

    sink.news("drill: restoring into a temporary HOME".into());
    let t = Instant::now();
    let tctx = temp_context(root, &ctx.device, &at)?;
    let mut s = Session::open(tctx, Access::Write, &Silent)?;
    s.use_identities(ids);
    let run = apply::run(&mut s, &ApplyOptions { part: Part::Native, ..Default::default() }, &Silent)?;
    let restore_secs = t.elapsed().as_secs_f64();
    check(stop)?;

    let t = Instant::now();
    let mut mismatches: Vec<Mismatch> = run
        .locked
        .iter()
        .map(|(target, why)| Mismatch { path: target.clone(), what: format!("could not be decrypted: {why}") })
        .collect();
    if let Some(report) = &run.report {
        mismatches.extend(
            report
                .failed
                .iter()
                .map(|(t, e)| Mismatch { path: t.clone(), what: format!("could not be restored: {e}") }),
        );
    }
    let p = s.parts();
    let restored =
        crate::eval::evaluate(p.ctx, p.state, p.cache, p.vault, &Selection::all()).map_err(apply::ApplyError::from)?;
    let mut verified = 0;
    let mut seen = std::collections::BTreeSet::new();
    for e in restored.iter().filter(|e| e.change != Change::Skipped) {
        seen.insert(e.target.clone());
        if mismatches.iter().any(|m| m.path == e.target) {
            continue;
        }
        let got = e.actual;
        let (store_has, home_has) = here.get(&e.target).copied().unwrap_or((None, None));
        let what = if store_has.is_none() {
            Some("is on the remote but not in this device's store".to_string())
        } else if !same(got, store_has) {
            Some(format!("differs from this device's store ({})", describe(got, store_has)))
        } else if !same(got, home_has) {
            Some(format!("differs from the live HOME ({})", describe(got, home_has)))
        } else {
            None
        };
        match what {
            Some(what) => mismatches.push(Mismatch { path: e.target.clone(), what }),
            None => verified += 1,
        }
    }
    for (target, (store_has, _)) in &here {
        if store_has.is_some() && !seen.contains(target) {
            mismatches.push(Mismatch {
                path: target.clone(),
                what: "is in this device's store but not on the remote (a push missing?)".into(),
            });
        }
    }
    drop(s);
    let compare_secs = t.elapsed().as_secs_f64();
    drop(tmp);
    let report = DrillReport {
        remote: name,
        with,
        verified,
        mismatches,
        rto_secs: clone_secs + restore_secs,
        clone_secs,
        restore_secs,
        compare_secs,
    };
    Ok(report)
}

fn check(stop: &AtomicBool) -> Result<(), DrillError> {
    if stop.load(Ordering::Relaxed) { Err(DrillError::Interrupted) } else { Ok(()) }
}

/// The recovery identity, opened with the passphrase.
fn open_recovery(s: &Session, ask: &mut crate::keys::Passphrase) -> Result<crate::crypt::Identity, DrillError> {
    use crate::error::IoContext;
    let sealed_path = crate::vault::recovery_path(&s.ctx.store);
    let sealed = crate::fsutil::read_beneath(&s.ctx.store, &sealed_path)
        .context(crate::error::Op::Read, &sealed_path)
        .map_err(crate::keys::KeysError::from)?;
    let pass = ask().map_err(|why| crate::keys::KeysError::Passphrase { what: "the recovery passphrase", why })?;
    crate::crypt::open_recovery(&sealed, &pass)
        .map_err(|source| crate::keys::KeysError::Recovery { path: sealed_path, source }.into())
}

/// A device context whose HOME, config, state and store all live below `root`.
fn temp_context(root: &Path, device: &str, store: &Path) -> Result<Context, DrillError> {
    for d in ["home", "config", "state", "data"] {
        std::fs::create_dir_all(root.join(d)).map_err(|source| DrillError::Temp { dir: root.join(d), source })?;
    }
    let paths = crate::paths::Paths {
        home: root.join("home"),
        config_file: root.join("config/dotback/config.toml"),
        config_dir: root.join("config/dotback"),
        state_dir: root.join("state/dotback"),
        chezmoi_config_dir: root.join("config/chezmoi"),
        default_source: store.to_path_buf(),
    };
    let config = DeviceConfig { device: device.to_string(), source: store.to_path_buf(), ..Default::default() };
    Ok(Context::new(paths, config)?)
}

fn same(a: Option<Node>, b: Option<Node>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.kind == b.kind && a.hash == b.hash && a.perm == b.perm,
        (None, None) => true,
        _ => false,
    }
}

fn describe(got: Option<Node>, want: Option<Node>) -> String {
    match (got, want) {
        (None, _) => "not restored".into(),
        (_, None) => "not there".into(),
        (Some(g), Some(w)) if g.kind != w.kind => format!("a {:?} where it has a {:?}", g.kind, w.kind).to_lowercase(),
        (Some(g), Some(w)) if g.hash != w.hash => "contents".into(),
        (Some(g), Some(w)) => format!("mode {:04o}, not {:04o}", g.perm, w.perm),
    }
}

/// Removes what drills killed outright left in the state directory.
fn remove_stale(state_dir: &Path) {
    for e in std::fs::read_dir(state_dir).into_iter().flatten().flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else { continue };
        let pid = rest.split('-').next().and_then(|p| p.parse::<i32>().ok());
        // SAFETY: signal 0 only asks whether the process exists.
        if pid.is_some_and(|pid| unsafe { libc::kill(pid, 0) } != 0) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The drill's outcome (`ok`, `mismatch` or `error`) and recovery time go into this device's
/// audit trail.
fn audit(ctx: &Context, with: &str, outcome: &str, r: Option<&DrillReport>, started: Instant, sink: &dyn Sink) {
    let step = |name: &str, secs: f64| crate::audit::StepTime {
        name: name.into(),
        outcome: "ok".into(),
        ms: (secs * 1000.0) as u64,
    };
    let record = crate::audit::Record {
        time: crate::state::rfc3339_now(),
        device: ctx.device.clone(),
        user: crate::audit::user(),
        command: format!("drill ({with})"),
        outcome: outcome.into(),
        remotes_reached: usize::from(r.is_some()),
        applied: r.map_or(0, |r| r.verified),
        duration_ms: started.elapsed().as_millis() as u64,
        steps: r.map_or_else(Vec::new, |r| vec![step("clone", r.clone_secs), step("restore", r.restore_secs)]),
        ..Default::default()
    };
    if let Err(e) = crate::audit::append(&ctx.store, &record) {
        sink.warn(format!("could not record the drill in the audit trail: {e}"));
    }
}
