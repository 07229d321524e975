//! `dotback service`: the watcher (`dotback watch`) as a user service, and the two schedules
//! that prove the backup (`dotback check --alert` daily, `dotback drill --alert` monthly), as
//! systemd user units and timers on Linux and launchd agents on macOS, all from `templates/`;
//! and the status file the watcher keeps in the state dir, which `dotback service status` and
//! `dotback status` read.
//!
//! A service file names dotback's own binary and the locations dotback used when it was
//! installed, never a secret: each command loads the device identity from its file or the
//! keyring, as every command does.

use crate::context::{Context, ContextError};
use crate::error::{IoContext, Op, PathError};
use crate::paths::Paths;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The watcher's status file, in the state dir.
pub const WATCH_STATUS: &str = "watch.json";

/// Which service manager runs dotback's jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    /// systemd user units (Linux).
    Systemd,
    /// launchd agents (macOS).
    Launchd,
}

impl Manager {
    /// This platform's.
    pub fn native() -> Manager {
        if cfg!(target_os = "macos") { Manager::Launchd } else { Manager::Systemd }
    }

    /// The directory its service files go in.
    pub fn dir(self, paths: &Paths) -> PathBuf {
        match self {
            Manager::Systemd => config_home(paths).join("systemd/user"),
            Manager::Launchd => paths.home.join("Library/LaunchAgents"),
        }
    }

    /// The program and the arguments every call of it starts with.
    fn program(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Manager::Systemd => ("systemctl", &["--user"]),
            Manager::Launchd => ("launchctl", &[]),
        }
    }
}

/// What dotback runs under the service manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Job {
    /// `dotback watch`, always running.
    Watch,
    /// `dotback check --alert`, daily.
    Check,
    /// `dotback drill --alert`, monthly on day 1.
    Drill,
}

impl Job {
    pub const ALL: [Job; 3] = [Job::Watch, Job::Check, Job::Drill];
    /// The two schedules.
    pub const TIMERS: [Job; 2] = [Job::Check, Job::Drill];

    /// systemd: the unit `enable` names (a schedule's timer); launchd: the agent's label.
    pub fn unit(self, manager: Manager) -> &'static str {
        match (manager, self) {
            (Manager::Systemd, Job::Watch) => "dotback.service",
            (Manager::Systemd, Job::Check) => "dotback-check.timer",
            (Manager::Systemd, Job::Drill) => "dotback-drill.timer",
            (Manager::Launchd, Job::Watch) => "dev.dotback.watch",
            (Manager::Launchd, Job::Check) => "dev.dotback.check",
            (Manager::Launchd, Job::Drill) => "dev.dotback.drill",
        }
    }

    /// Its files' names and templates, the unit's own (that `unit` names) last: a schedule's
    /// service is written before the timer that starts it.
    fn templates(self, manager: Manager) -> &'static [(&'static str, &'static str)] {
        match (manager, self) {
            (Manager::Systemd, Job::Watch) => &[("dotback.service", include_str!("../templates/dotback.service"))],
            (Manager::Systemd, Job::Check) => &[
                ("dotback-check.service", include_str!("../templates/dotback-check.service")),
                ("dotback-check.timer", include_str!("../templates/dotback-check.timer")),
            ],
            (Manager::Systemd, Job::Drill) => &[
                ("dotback-drill.service", include_str!("../templates/dotback-drill.service")),
                ("dotback-drill.timer", include_str!("../templates/dotback-drill.timer")),
            ],
            (Manager::Launchd, Job::Watch) => {
                &[("dev.dotback.watch.plist", include_str!("../templates/dotback.plist"))]
            }
            (Manager::Launchd, Job::Check) => {
                &[("dev.dotback.check.plist", include_str!("../templates/dotback-check.plist"))]
            }
            (Manager::Launchd, Job::Drill) => {
                &[("dev.dotback.drill.plist", include_str!("../templates/dotback-drill.plist"))]
            }
        }
    }

    /// Where its files go, the unit's (or agent's) own last.
    pub fn files(self, manager: Manager, paths: &Paths) -> Vec<PathBuf> {
        let dir = manager.dir(paths);
        self.templates(manager).iter().map(|(name, _)| dir.join(name)).collect()
    }

    /// The unit's (or agent's) own file.
    pub fn file(self, manager: Manager, paths: &Paths) -> PathBuf {
        self.files(manager, paths).pop().expect("a job has a file")
    }

    /// A launchd agent's log (its output), in the state dir.
    pub fn log(self) -> &'static str {
        match self {
            Job::Watch => "watch.log",
            Job::Check => "check.log",
            Job::Drill => "drill.log",
        }
    }
}

/// `$XDG_CONFIG_HOME` (the device config lives in its `dotback` directory).
fn config_home(paths: &Paths) -> &Path {
    paths.config_dir.parent().expect("the config dir is $XDG_CONFIG_HOME/dotback")
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error("{} cannot be written into a service file: {why}", path.display())]
    Unwritable { path: PathBuf, why: &'static str },
    #[error(transparent)]
    File(#[from] PathError),
    #[error("{} is in place, but the systemd user manager cannot be reached: {said}", path.display())]
    NoUserManager { path: PathBuf, said: String },
    #[error("`{command}` failed: {said}")]
    Manager { command: String, said: String },
}

/// What `install` needs besides the locations.
#[derive(Clone, Debug)]
pub struct Options {
    pub manager: Manager,
    /// dotback's own binary (an absolute path), which the services run.
    pub binary: PathBuf,
    /// Only write the files: no reload, enable or start (a machine without a running user
    /// manager).
    pub no_start: bool,
    /// Also the check and drill schedules (false: only the watcher).
    pub timers: bool,
}

/// What `install` or `uninstall` did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ServiceReport {
    pub manager: Manager,
    /// The watcher's unit or agent file.
    pub path: PathBuf,
    /// Whether any file was written (install) or removed (uninstall).
    pub changed: bool,
    /// install: every file of the jobs installed, the watcher's first; uninstall: every file
    /// removed.
    pub files: Vec<ServiceFile>,
    /// systemd: the units enabled (with `--no-start`: to enable) or disabled; launchd: the
    /// agents' labels.
    pub units: Vec<String>,
    /// The service manager's commands run, in order.
    pub commands: Vec<String>,
    /// uninstall: why the service manager could not be reached (the files are removed anyway).
    pub unreachable: Option<String>,
    /// install with systemd: no graphical session here (neither `DISPLAY` nor
    /// `WAYLAND_DISPLAY`), where a user manager runs only while the user is logged in unless
    /// lingering is enabled.
    pub headless: bool,
    /// install with the timers: the device config has no `alert_command`, so a problem the
    /// scheduled check or drill finds alerts no one.
    pub alerts_no_one: bool,
}

/// A file `install` or `uninstall` handled.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ServiceFile {
    pub path: PathBuf,
    /// install: it was written (false: it already said the same); uninstall: it was removed.
    pub changed: bool,
}

impl ServiceReport {
    fn new(manager: Manager, paths: &Paths) -> ServiceReport {
        ServiceReport {
            manager,
            path: Job::Watch.file(manager, paths),
            changed: false,
            files: Vec::new(),
            units: Vec::new(),
            commands: Vec::new(),
            unreachable: None,
            headless: false,
            alerts_no_one: false,
        }
    }

    /// Runs the service manager's `args`, which must succeed.
    fn run(&mut self, args: &[&str]) -> Result<(), ServiceError> {
        let command = command_line(self.manager, args);
        let out =
            call(self.manager, args).map_err(|said| ServiceError::NoUserManager { path: self.path.clone(), said })?;
        if !out.status.success() {
            return Err(ServiceError::Manager { command, said: said(&out) });
        }
        self.commands.push(command);
        Ok(())
    }
}

/// Writes the watcher's service file and, unless `opts.timers` is false, the check and drill
/// schedules' (each atomically, mode 0644), and, unless `opts.no_start`, makes the service
/// manager load, enable and start them. A device that is not set up is refused: the jobs would
/// have no store to work on.
pub fn install(paths: &Paths, opts: &Options) -> Result<ServiceReport, ServiceError> {
    let ctx = Context::load(paths.clone())?;
    let manager = opts.manager;
    let jobs: &[Job] = if opts.timers { &Job::ALL } else { &[Job::Watch] };
    // Every file is rendered before one is written: a path none can hold writes nothing.
    let rendered = jobs
        .iter()
        .map(|&job| Ok((job, render(manager, job, paths, &opts.binary)?)))
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let mut report = ServiceReport::new(manager, paths);
    report.alerts_no_one = opts.timers && ctx.alert_command.is_none();
    // The jobs with a file this replaced: one running it starts again from the new one.
    let mut replaced = Vec::new();
    for (job, files) in rendered {
        for (path, text) in files {
            let before = std::fs::read(&path).ok();
            let changed = before.as_deref() != Some(text.as_bytes());
            if changed {
                let dir = path.parent().expect("a service file lies in a directory");
                std::fs::create_dir_all(dir).context(Op::Write, dir)?;
                crate::fsutil::write_atomic(&path, text.as_bytes(), 0o644).context(Op::Write, &path)?;
                if before.is_some() && !replaced.contains(&job) {
                    replaced.push(job);
                }
            }
            report.files.push(ServiceFile { path, changed });
        }
        report.units.push(job.unit(manager).to_string());
    }
    report.changed = report.files.iter().any(|f| f.changed);
    report.headless = manager == Manager::Systemd && headless();
    if manager == Manager::Launchd {
        crate::state::ensure_private_dir(&paths.state_dir)?; // launchd opens the logs there
    }
    if opts.no_start {
        return Ok(report);
    }
    match manager {
        Manager::Systemd => {
            report.run(&["daemon-reload"])?;
            if !replaced.is_empty() {
                let units = replaced.iter().map(|j| j.unit(manager));
                report.run(&["try-restart"].into_iter().chain(units).collect::<Vec<_>>())?;
            }
            let units = report.units.clone();
            report.run(&["enable", "--now"].into_iter().chain(units.iter().map(String::as_str)).collect::<Vec<_>>())?;
        }
        Manager::Launchd => {
            for &job in jobs {
                let file = job.file(manager, paths).to_string_lossy().into_owned();
                if replaced.contains(&job) {
                    // Not loaded is fine: there is nothing to stop.
                    let _ = call(manager, &["unload", &file]);
                }
                report.run(&["load", "-w", &file])?;
            }
        }
    }
    Ok(report)
}

/// Stops and disables every job installed and removes their files (only the files `install`
/// writes: anything else in the directory is left alone). When the service manager cannot be
/// reached, nothing it runs is left to stop: the files are removed all the same.
pub fn uninstall(paths: &Paths, manager: Manager) -> Result<ServiceReport, ServiceError> {
    let mut report = ServiceReport::new(manager, paths);
    let present = |path: &Path| path.symlink_metadata().is_ok();
    let jobs: Vec<Job> = Job::ALL.into_iter().filter(|job| present(&job.file(manager, paths))).collect();
    report.units = jobs.iter().map(|job| job.unit(manager).to_string()).collect();
    let stops: Vec<Vec<String>> = match manager {
        Manager::Systemd if jobs.is_empty() => Vec::new(),
        Manager::Systemd => {
            vec![["disable", "--now"].iter().map(|a| a.to_string()).chain(report.units.clone()).collect()]
        }
        Manager::Launchd => jobs
            .iter()
            .map(|job| vec!["unload".into(), "-w".into(), job.file(manager, paths).to_string_lossy().into_owned()])
            .collect(),
    };
    for stop in &stops {
        let stop: Vec<&str> = stop.iter().map(String::as_str).collect();
        match call(manager, &stop) {
            Err(said) => {
                report.unreachable = Some(said);
                break;
            }
            Ok(out) if !out.status.success() => {
                return Err(ServiceError::Manager { command: command_line(manager, &stop), said: said(&out) });
            }
            Ok(_) => report.commands.push(command_line(manager, &stop)),
        }
    }
    // Every file of every job, also a schedule's service left without its timer.
    for path in Job::ALL.iter().flat_map(|job| job.files(manager, paths)) {
        if !present(&path) {
            continue;
        }
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(PathError::new(Op::Write, &path, e).into());
            }
            _ => report.files.push(ServiceFile { path, changed: true }),
        }
    }
    report.changed = !report.files.is_empty();
    if manager == Manager::Systemd && report.changed && report.unreachable.is_none() {
        report.run(&["daemon-reload"])?;
    }
    Ok(report)
}

/// Whether the watcher's service and the schedules are installed and run, and the watcher's
/// own status.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ServiceStatus {
    pub manager: Manager,
    /// The watcher's unit or agent file.
    pub path: PathBuf,
    pub installed: bool,
    /// Whether the watcher's service runs; `None` when it is not installed or the service
    /// manager could not be asked.
    pub running: Option<bool>,
    /// What the service manager says of it (`active`, `inactive`, `failed`…; launchd: `running`,
    /// `loaded`, `not loaded`), or why it could not be asked; empty when not installed.
    pub state: String,
    /// The check and drill schedules, in that order.
    pub timers: Vec<TimerStatus>,
    /// The last status the watcher wrote (as a service or as `dotback watch`).
    pub watch: Option<WatchStatus>,
}

/// A schedule's state.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TimerStatus {
    /// `check` or `drill`.
    pub job: Job,
    /// systemd: the timer unit; launchd: the agent's label.
    pub unit: String,
    /// The timer's unit file or the agent's file.
    pub path: PathBuf,
    /// Every file of it is in place.
    pub installed: bool,
    /// systemd: the timer is enabled; launchd: the agent is loaded. `None` when it is not
    /// installed or the service manager could not be asked.
    pub enabled: Option<bool>,
    /// It waits to run: systemd's timer is active; launchd's agent is loaded. `None` as for
    /// `enabled`.
    pub active: Option<bool>,
    /// What the service manager says of it (systemd: the timer's `ActiveState`; launchd:
    /// `running`, `loaded`, `not loaded`), or why it could not be asked; empty when not
    /// installed.
    pub state: String,
    /// systemd: when it runs next, as systemd writes the time; `None` when it does not say.
    pub next_run: Option<String>,
}

/// Asks the service manager about the watcher's service and the schedules (one call each that
/// is installed); reads the watcher's status file.
pub fn status(paths: &Paths, manager: Manager) -> ServiceStatus {
    let path = Job::Watch.file(manager, paths);
    let installed = path.is_file();
    let (running, state) = if !installed {
        (None, String::new())
    } else {
        let args = match manager {
            Manager::Systemd => ["is-active", Job::Watch.unit(manager)],
            Manager::Launchd => ["list", Job::Watch.unit(manager)],
        };
        match call(manager, &args) {
            Err(said) => (None, said),
            Ok(out) => match manager {
                Manager::Systemd => {
                    (Some(out.status.success()), String::from_utf8_lossy(&out.stdout).trim().to_string())
                }
                Manager::Launchd => {
                    let (_, runs, state) = agent_state(&out);
                    (Some(runs), state.to_string())
                }
            },
        }
    };
    let timers = Job::TIMERS.iter().map(|&job| timer_status(paths, manager, job)).collect();
    ServiceStatus { manager, path, installed, running, state, timers, watch: WatchStatus::load(&paths.state_dir) }
}

fn timer_status(paths: &Paths, manager: Manager, job: Job) -> TimerStatus {
    let unit = job.unit(manager);
    let installed = job.files(manager, paths).iter().all(|f| f.is_file());
    let mut status = TimerStatus {
        job,
        unit: unit.to_string(),
        path: job.file(manager, paths),
        installed,
        enabled: None,
        active: None,
        state: String::new(),
        next_run: None,
    };
    if !installed {
        return status;
    }
    let args = match manager {
        Manager::Systemd => vec!["show", "--property=UnitFileState,ActiveState,NextElapseUSecRealtime", unit],
        Manager::Launchd => vec!["list", unit],
    };
    match call(manager, &args) {
        Err(said) => status.state = said,
        Ok(out) if manager == Manager::Launchd => {
            let (loaded, _, state) = agent_state(&out);
            (status.enabled, status.active, status.state) = (Some(loaded), Some(loaded), state.to_string());
        }
        Ok(out) if !out.status.success() => status.state = said(&out),
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            let property = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('=')).unwrap_or("");
            status.enabled = Some(property("UnitFileState") == "enabled");
            status.active = Some(property("ActiveState") == "active");
            status.state = property("ActiveState").to_string();
            let next = property("NextElapseUSecRealtime");
            status.next_run = (!next.is_empty() && next != "n/a").then(|| next.to_string());
        }
    }
    status
}

/// What `launchctl list LABEL` says of an agent: whether it is loaded, whether it runs, and
/// the word `status` shows.
fn agent_state(out: &Output) -> (bool, bool, &'static str) {
    let loaded = out.status.success();
    let runs = loaded && String::from_utf8_lossy(&out.stdout).contains("\"PID\" =");
    (
        loaded,
        runs,
        if runs {
            "running"
        } else if loaded {
            "loaded"
        } else {
            "not loaded"
        },
    )
}

/// Runs the service manager with `args` (after its own, such as `--user`). The error is why it
/// could not be run or could not reach the user's service manager.
fn call(manager: Manager, args: &[&str]) -> Result<Output, String> {
    let (program, first) = manager.program();
    let out = Command::new(program).args(first).args(args).stdin(Stdio::null()).output();
    let out = match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(format!("`{program}` is not installed")),
        Err(e) => return Err(format!("cannot run `{program}`: {e}")),
        Ok(out) => out,
    };
    let err = String::from_utf8_lossy(&out.stderr);
    let unreachable = ["Failed to connect to bus", "not been booted with systemd", "XDG_RUNTIME_DIR"];
    if manager == Manager::Systemd && !out.status.success() && unreachable.iter().any(|u| err.contains(u)) {
        return Err(said(&out));
    }
    Ok(out)
}

/// What a failed command said (its stderr, else its stdout, else its exit status).
fn said(out: &Output) -> String {
    [&out.stderr, &out.stdout]
        .iter()
        .map(|o| String::from_utf8_lossy(o).trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| out.status.to_string())
}

fn command_line(manager: Manager, args: &[&str]) -> String {
    let (program, first) = manager.program();
    [program].iter().chain(first).chain(args).copied().collect::<Vec<_>>().join(" ")
}

/// No graphical session: neither `DISPLAY` nor `WAYLAND_DISPLAY` is set.
fn headless() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().all(|v| std::env::var_os(v).is_none_or(|x| x.is_empty()))
}

/// `job`'s files for `manager`, where each goes and what it says: they run `binary` with the
/// locations in `paths`.
pub fn render(
    manager: Manager,
    job: Job,
    paths: &Paths,
    binary: &Path,
) -> Result<Vec<(PathBuf, String)>, ServiceError> {
    let exe = plain(manager, binary)?;
    let env = [
        ("HOME", paths.home.as_path()),
        ("XDG_CONFIG_HOME", config_home(paths)),
        ("XDG_STATE_HOME", paths.state_dir.parent().expect("the state dir is $XDG_STATE_HOME/dotback")),
        ("XDG_DATA_HOME", paths.default_source.parent().expect("the default store is $XDG_DATA_HOME/chezmoi")),
        ("DOTBACK_CONFIG", paths.config_file.as_path()),
    ]
    .into_iter()
    .map(|(k, v)| Ok((k, plain(manager, v)?)))
    .collect::<Result<Vec<_>, ServiceError>>()?;
    let values = match manager {
        Manager::Systemd => {
            let env: Vec<String> =
                env.iter().map(|(k, v)| format!("Environment={}", unit_word(&format!("{k}={v}")))).collect();
            vec![("@DOTBACK@", unit_word(exe)), ("@ENVIRONMENT@", env.join("\n"))]
        }
        Manager::Launchd => {
            let env: Vec<String> =
                env.iter().map(|(k, v)| format!("\t\t<key>{k}</key>\n\t\t<string>{}</string>", xml(v))).collect();
            let log = paths.state_dir.join(job.log());
            vec![
                ("@LABEL@", job.unit(manager).to_string()),
                ("@DOTBACK@", xml(exe)),
                ("@ENVIRONMENT@", env.join("\n")),
                ("@LOG@", xml(plain(manager, &log)?)),
            ]
        }
    };
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = manager.dir(paths);
    Ok(job.templates(manager).iter().map(|(name, template)| (dir.join(name), fill(template, &values))).collect())
}

/// `path` as text `manager`'s service file can hold: UTF-8, without control characters, and for
/// systemd (which refuses them in an executable's name) without quotes or backslashes.
fn plain(manager: Manager, path: &Path) -> Result<&str, ServiceError> {
    let refuse = |why| ServiceError::Unwritable { path: path.to_path_buf(), why };
    let text = path.to_str().ok_or_else(|| refuse("it is not UTF-8"))?;
    if text.chars().any(char::is_control) {
        return Err(refuse("it holds a control character"));
    }
    if manager == Manager::Systemd && text.contains(['"', '\'', '\\']) {
        return Err(refuse("systemd takes no quote or backslash in it"));
    }
    Ok(text)
}

/// `template` with each `@NAME@` of `values` replaced, in one pass (a value is never scanned
/// again, whatever it holds).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match values.iter().find(|(k, _)| rest.starts_with(k)) {
            Some((k, v)) => {
                out.push_str(v);
                rest = &rest[k.len()..];
            }
            None => {
                out.push('@');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` as one quoted word of a systemd unit, `%` (a specifier) doubled. (A `$` is taken as
/// it is in the executable's path and in `Environment=`; `plain` refused quotes and backslashes.)
fn unit_word(text: &str) -> String {
    format!("\"{}\"", text.replace('%', "%%"))
}

/// `text` escaped for XML character data.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// What the watcher reports of itself, in `$XDG_STATE_HOME/dotback/watch.json`: rewritten as it
/// works, read by `dotback service status` and `dotback status`. Times are RFC 3339 (UTC).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct WatchStatus {
    pub pid: u32,
    pub started: String,
    /// The last commit the watcher made.
    pub last_commit: Option<WatchCommit>,
    /// When each remote last took a push, by remote name.
    pub last_push: BTreeMap<String, String>,
    /// Pushes waiting (a remote unreachable, or a push coalescing with the next).
    pub pending_pushes: usize,
    /// Conflicts waiting for `dotback resolve`.
    pub conflicts: usize,
    /// The last error, until an action succeeds after it.
    pub last_error: Option<WatchError>,
    /// When this status was written.
    pub updated: String,
}

/// A commit the watcher made.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WatchCommit {
    pub id: String,
    pub time: String,
}

/// An error the watcher logged.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WatchError {
    pub message: String,
    pub time: String,
}

impl WatchStatus {
    /// The status file in `state_dir`, when there is one that parses.
    pub fn load(state_dir: &Path) -> Option<WatchStatus> {
        serde_json::from_slice(&std::fs::read(state_dir.join(WATCH_STATUS)).ok()?).ok()
    }

    /// Writes the status file (atomically, owner-only) in `state_dir`, made if missing.
    pub fn save(&self, state_dir: &Path) -> Result<(), PathError> {
        crate::state::ensure_private_dir(state_dir)?;
        let path = state_dir.join(WATCH_STATUS);
        let json = serde_json::to_vec_pretty(self).expect("the watch status serializes");
        crate::fsutil::write_atomic(&path, &json, 0o600).context(Op::Write, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::ffi::OsString;

    fn paths(home: &str) -> Paths {
        let vars: HashMap<&str, OsString> = [("HOME", home)].into_iter().map(|(k, v)| (k, v.into())).collect();
        Paths::from_env(|k| vars.get(k).cloned()).unwrap()
    }

    /// The text of `job`'s file named `name`.
    fn rendered(manager: Manager, job: Job, home: &str, binary: &str, name: &str) -> String {
        let files = render(manager, job, &paths(home), Path::new(binary)).unwrap();
        let file = files.into_iter().find(|(path, _)| path.ends_with(name));
        file.unwrap_or_else(|| panic!("{name} is one of {job:?}'s files")).1
    }

    #[test]
    fn service_files_go_where_each_manager_looks() {
        let p = paths("/h");
        let files = |manager| Job::ALL.into_iter().flat_map(|job| job.files(manager, &p)).collect::<Vec<_>>();
        let user = Path::new("/h/.config/systemd/user");
        let units = ["dotback.service", "dotback-check.service", "dotback-check.timer", "dotback-drill.service"];
        let expected: Vec<PathBuf> = units.iter().chain(&["dotback-drill.timer"]).map(|u| user.join(u)).collect();
        assert_eq!(files(Manager::Systemd), expected);
        let agents = Path::new("/h/Library/LaunchAgents");
        let expected: Vec<PathBuf> =
            ["watch", "check", "drill"].iter().map(|j| agents.join(format!("dev.dotback.{j}.plist"))).collect();
        assert_eq!(files(Manager::Launchd), expected);
        for job in Job::ALL {
            let rendered = render(Manager::Systemd, job, &p, Path::new("/opt/x")).unwrap();
            let paths: Vec<PathBuf> = rendered.into_iter().map(|(path, _)| path).collect();
            assert_eq!(paths, job.files(Manager::Systemd, &p));
            assert_eq!(
                job.file(Manager::Systemd, &p),
                user.join(job.unit(Manager::Systemd)),
                "the unit's own file is last"
            );
        }
    }

    #[test]
    fn the_unit_runs_the_binary_with_dotbacks_locations_and_quotes_what_systemd_would_expand() {
        let unit = rendered(Manager::Systemd, Job::Watch, "/h", "/opt/dot back/100%/$HOME/x", "dotback.service");
        assert!(unit.contains("\nExecStart=\"/opt/dot back/100%%/$HOME/x\" watch\n"), "{unit}");
        assert!(unit.contains("\nEnvironment=\"XDG_STATE_HOME=/h/.local/state\"\n"), "{unit}");
        assert!(unit.contains("\nEnvironment=\"DOTBACK_CONFIG=/h/.config/dotback/config.toml\"\n"), "{unit}");
        for line in ["Restart=on-failure", "RestartSec=10", "WantedBy=default.target"] {
            assert!(unit.lines().any(|l| l == line), "{line}: {unit}");
        }
        assert!(!unit.contains('@'), "every placeholder is filled: {unit}");
        for odd in ["/opt/x\nExecStartPre=/bin/evil", "/opt/\"x", "/opt/x\\y", "/opt/it's"] {
            let refused = render(Manager::Systemd, Job::Check, &paths("/h"), Path::new(odd));
            assert!(matches!(refused, Err(ServiceError::Unwritable { .. })), "{odd:?}: {refused:?}");
        }
        let home = render(Manager::Systemd, Job::Drill, &paths("/h\"ome"), Path::new("/opt/x"));
        assert!(matches!(home, Err(ServiceError::Unwritable { .. })), "{home:?}");
    }

    #[test]
    fn the_schedules_run_check_and_drill_with_alerts_and_dotbacks_locations() {
        for (job, command, calendar) in [(Job::Check, "check", "daily"), (Job::Drill, "drill", "monthly")] {
            let service = rendered(Manager::Systemd, job, "/h", "/opt/100%", &format!("dotback-{command}.service"));
            assert!(service.contains(&format!("\nExecStart=\"/opt/100%%\" {command} --alert\n")), "{service}");
            assert!(service.contains("\nEnvironment=\"XDG_STATE_HOME=/h/.local/state\"\n"), "{service}");
            assert!(service.lines().any(|l| l == "Type=oneshot") && !service.contains('@'), "{service}");
            let timer = rendered(Manager::Systemd, job, "/h", "/opt/100%", &format!("dotback-{command}.timer"));
            for line in [format!("OnCalendar={calendar}"), "Persistent=true".into(), "WantedBy=timers.target".into()] {
                assert!(timer.lines().any(|l| l == line), "{line}: {timer}");
            }
        }
    }

    #[test]
    fn placeholders_are_filled_once() {
        let filled = fill("a @X@ b @Y@ @Z c@", &[("@X@", "@Y@"), ("@Y@", "y")]);
        assert_eq!(filled, "a @Y@ b y @Z c@");
    }

    /// `plist` parsed by Python's plistlib, as JSON; `None` (skipped) without python3 outside CI.
    fn parse_plist(dir: &Path, plist: &str) -> Option<serde_json::Value> {
        let file = dir.join("agent.plist");
        std::fs::write(&file, plist).unwrap();
        let script =
            "import json, plistlib, sys\nwith open(sys.argv[1], 'rb') as f: print(json.dumps(plistlib.load(f)))";
        let out = match Command::new("python3").args(["-c", script]).arg(&file).output() {
            Ok(out) => out,
            Err(e) => {
                assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "python3 is required: run tests/run ({e})");
                eprintln!("SKIPPED: python3 is not installed");
                return None;
            }
        };
        assert!(out.status.success(), "{}\n{plist}", String::from_utf8_lossy(&out.stderr));
        Some(serde_json::from_slice(&out.stdout).unwrap())
    }

    #[test]
    fn the_agent_plists_parse_with_the_expected_keys() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("h&<o>");
        let home = home.to_str().unwrap();
        let plist = rendered(Manager::Launchd, Job::Watch, home, "/opt/dot&back", "dev.dotback.watch.plist");
        let Some(v) = parse_plist(dir.path(), &plist) else { return };
        assert_eq!(v["Label"], "dev.dotback.watch");
        assert_eq!(v["ProgramArguments"], serde_json::json!(["/opt/dot&back", "watch"]));
        assert_eq!(v["RunAtLoad"], true);
        assert_eq!(v["KeepAlive"], serde_json::json!({ "SuccessfulExit": false }));
        let state = Path::new(home).join(".local/state/dotback");
        assert_eq!(v["StandardErrorPath"], state.join("watch.log").to_str().unwrap());
        assert_eq!(v["EnvironmentVariables"]["HOME"], home);
        assert_eq!(v["EnvironmentVariables"]["XDG_STATE_HOME"], Path::new(home).join(".local/state").to_str().unwrap());

        let schedules = [
            (Job::Check, "check", serde_json::json!({ "Hour": 0, "Minute": 0 })),
            (Job::Drill, "drill", serde_json::json!({ "Day": 1, "Hour": 0, "Minute": 0 })),
        ];
        for (job, command, calendar) in schedules {
            let label = format!("dev.dotback.{command}");
            let plist = rendered(Manager::Launchd, job, home, "/opt/dot&back", &format!("{label}.plist"));
            let v = parse_plist(dir.path(), &plist).unwrap();
            assert_eq!(v["Label"], label);
            assert_eq!(v["ProgramArguments"], serde_json::json!(["/opt/dot&back", command, "--alert"]));
            assert_eq!(v["StartCalendarInterval"], calendar, "{plist}");
            assert_eq!(v.get("RunAtLoad"), None, "it runs on its schedule, not at every login");
            let log = state.join(format!("{command}.log"));
            assert_eq!((&v["StandardOutPath"], &v["StandardErrorPath"]), (&log.to_str().into(), &log.to_str().into()));
            assert_eq!(
                v["EnvironmentVariables"]["DOTBACK_CONFIG"],
                Path::new(home).join(".config/dotback/config.toml").to_str().unwrap()
            );
        }
    }

    #[test]
    fn the_watch_status_round_trips_owner_only_and_a_missing_or_broken_file_is_none() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state/dotback");
        assert_eq!(WatchStatus::load(&state), None);
        let status = WatchStatus {
            pid: 42,
            started: "2024-05-01T08:00:00Z".into(),
            last_commit: Some(WatchCommit { id: "abc123".into(), time: "2024-05-01T08:01:00Z".into() }),
            last_push: BTreeMap::from([("origin".to_string(), "2024-05-01T08:01:01Z".to_string())]),
            pending_pushes: 1,
            conflicts: 0,
            last_error: Some(WatchError { message: "origin: unreachable".into(), time: "2024-05-01T08:02:00Z".into() }),
            updated: "2024-05-01T08:02:00Z".into(),
        };
        status.save(&state).unwrap();
        assert_eq!(WatchStatus::load(&state), Some(status));
        let mode = std::fs::metadata(state.join(WATCH_STATUS)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(state.join(WATCH_STATUS), r#"{"pid": 7}"#).unwrap();
        let partial = WatchStatus::load(&state).unwrap();
        assert_eq!((partial.pid, partial.last_push.len(), partial.last_error), (7, 0, None));
        std::fs::write(state.join(WATCH_STATUS), "{not json").unwrap();
        assert_eq!(WatchStatus::load(&state), None);
    }
}
