//! `dotback service`: the watcher (`dotback watch`) as a user service, a systemd user unit on
//! Linux and a launchd agent on macOS, both from `templates/`; and the status file the watcher
//! keeps in the state dir, which `dotback service status` and `dotback status` read.
//!
//! A service file names dotback's own binary and the locations dotback used when it was
//! installed, never a secret: the watcher loads the device identity from its file or the
//! keyring, as every command does.

use crate::context::{Context, ContextError};
use crate::error::{IoContext, Op, PathError};
use crate::paths::Paths;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const UNIT: &str = include_str!("../templates/dotback.service");
const PLIST: &str = include_str!("../templates/dotback.plist");
/// The systemd user unit's name.
pub const UNIT_NAME: &str = "dotback.service";
/// The launchd agent's label.
pub const LABEL: &str = "dev.dotback.watch";
/// The watcher's status file, in the state dir.
pub const WATCH_STATUS: &str = "watch.json";
/// The launchd agent's log (its stderr), in the state dir.
pub const AGENT_LOG: &str = "watch.log";

/// Which service manager runs the watcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    /// A systemd user unit (Linux).
    Systemd,
    /// A launchd agent (macOS).
    Launchd,
}

impl Manager {
    /// This platform's.
    pub fn native() -> Manager {
        if cfg!(target_os = "macos") { Manager::Launchd } else { Manager::Systemd }
    }

    /// Where its service file goes.
    pub fn file(self, paths: &Paths) -> PathBuf {
        match self {
            Manager::Systemd => config_home(paths).join("systemd/user").join(UNIT_NAME),
            Manager::Launchd => paths.home.join("Library/LaunchAgents").join(format!("{LABEL}.plist")),
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
    /// dotback's own binary (an absolute path), which the service runs.
    pub binary: PathBuf,
    /// Only write the file: no reload, enable or start (a machine without a running user manager).
    pub no_start: bool,
}

/// What `install` or `uninstall` did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ServiceReport {
    pub manager: Manager,
    /// The unit or agent file.
    pub path: PathBuf,
    /// install: the file was written (false: it already said the same); uninstall: it was
    /// removed (false: there was none).
    pub changed: bool,
    /// The service manager's commands run, in order.
    pub commands: Vec<String>,
    /// uninstall: why the service manager could not be reached (the file is removed anyway).
    pub unreachable: Option<String>,
    /// install with systemd: no graphical session here (neither `DISPLAY` nor
    /// `WAYLAND_DISPLAY`), where a user manager runs only while the user is logged in unless
    /// lingering is enabled.
    pub headless: bool,
}

impl ServiceReport {
    fn new(manager: Manager, path: PathBuf) -> ServiceReport {
        ServiceReport { manager, path, changed: false, commands: Vec::new(), unreachable: None, headless: false }
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

/// Writes the service file (atomically, mode 0644) and, unless `opts.no_start`, makes the
/// service manager load, enable and start it. A device that is not set up is refused: the
/// watcher would have no store to watch.
pub fn install(paths: &Paths, opts: &Options) -> Result<ServiceReport, ServiceError> {
    Context::load(paths.clone())?;
    let manager = opts.manager;
    let mut report = ServiceReport::new(manager, manager.file(paths));
    let text = render(manager, paths, &opts.binary)?;
    let path = &report.path;
    let before = std::fs::read(path).ok();
    report.changed = before.as_deref() != Some(text.as_bytes());
    if report.changed {
        let dir = path.parent().expect("a service file lies in a directory");
        std::fs::create_dir_all(dir).context(Op::Write, dir)?;
        crate::fsutil::write_atomic(path, text.as_bytes(), 0o644).context(Op::Write, path)?;
    }
    report.headless = manager == Manager::Systemd && headless();
    if manager == Manager::Launchd {
        crate::state::ensure_private_dir(&paths.state_dir)?; // launchd opens the log there
    }
    if opts.no_start {
        return Ok(report);
    }
    // A service running the file this replaced starts again from the new one.
    let updated = report.changed && before.is_some();
    match manager {
        Manager::Systemd => {
            report.run(&["daemon-reload"])?;
            if updated {
                report.run(&["try-restart", UNIT_NAME])?;
            }
            report.run(&["enable", "--now", UNIT_NAME])?;
        }
        Manager::Launchd => {
            let file = report.path.to_string_lossy().into_owned();
            if updated {
                // Not loaded is fine: there is nothing to stop.
                let _ = call(manager, &["unload", &file]);
            }
            report.run(&["load", "-w", &file])?;
        }
    }
    Ok(report)
}

/// Stops and disables the service and removes its file. When the service manager cannot be
/// reached, nothing it runs is left to stop: the file is removed all the same.
pub fn uninstall(paths: &Paths, manager: Manager) -> Result<ServiceReport, ServiceError> {
    let mut report = ServiceReport::new(manager, manager.file(paths));
    let path = report.path.clone();
    if path.symlink_metadata().is_err() {
        return Ok(report);
    }
    let file = path.to_string_lossy().into_owned();
    let stop: &[&str] = match manager {
        Manager::Systemd => &["disable", "--now", UNIT_NAME],
        Manager::Launchd => &["unload", "-w", &file],
    };
    match call(manager, stop) {
        Err(said) => report.unreachable = Some(said),
        Ok(out) if !out.status.success() => {
            return Err(ServiceError::Manager { command: command_line(manager, stop), said: said(&out) });
        }
        Ok(_) => report.commands.push(command_line(manager, stop)),
    }
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(PathError::new(Op::Write, &path, e).into()),
        _ => report.changed = true,
    }
    if manager == Manager::Systemd && report.unreachable.is_none() {
        report.run(&["daemon-reload"])?;
    }
    Ok(report)
}

/// Whether the service is installed and runs, and the watcher's own status.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ServiceStatus {
    pub manager: Manager,
    /// The unit or agent file.
    pub path: PathBuf,
    pub installed: bool,
    /// Whether the service runs; `None` when it is not installed or the service manager could
    /// not be asked.
    pub running: Option<bool>,
    /// What the service manager says of it (`active`, `inactive`, `failed`…; launchd: `running`,
    /// `loaded`, `not loaded`), or why it could not be asked; empty when not installed.
    pub state: String,
    /// The last status the watcher wrote (as a service or as `dotback watch`).
    pub watch: Option<WatchStatus>,
}

/// Asks the service manager about the service; reads the watcher's status file.
pub fn status(paths: &Paths, manager: Manager) -> ServiceStatus {
    let path = manager.file(paths);
    let installed = path.is_file();
    let (running, state) = if !installed {
        (None, String::new())
    } else {
        let args = match manager {
            Manager::Systemd => ["is-active", UNIT_NAME],
            Manager::Launchd => ["list", LABEL],
        };
        match call(manager, &args) {
            Err(said) => (None, said),
            Ok(out) => match manager {
                Manager::Systemd => {
                    (Some(out.status.success()), String::from_utf8_lossy(&out.stdout).trim().to_string())
                }
                Manager::Launchd => {
                    let runs = out.status.success() && String::from_utf8_lossy(&out.stdout).contains("\"PID\" =");
                    let state = if runs {
                        "running"
                    } else if out.status.success() {
                        "loaded"
                    } else {
                        "not loaded"
                    };
                    (Some(runs), state.to_string())
                }
            },
        }
    };
    ServiceStatus { manager, path, installed, running, state, watch: WatchStatus::load(&paths.state_dir) }
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

/// The service file for `manager`, running `binary` with the locations in `paths`.
pub fn render(manager: Manager, paths: &Paths, binary: &Path) -> Result<String, ServiceError> {
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
    Ok(match manager {
        Manager::Systemd => {
            let env: Vec<String> =
                env.iter().map(|(k, v)| format!("Environment={}", unit_word(&format!("{k}={v}")))).collect();
            fill(UNIT, &[("@DOTBACK@", &unit_word(exe)), ("@ENVIRONMENT@", &env.join("\n"))])
        }
        Manager::Launchd => {
            let env: Vec<String> =
                env.iter().map(|(k, v)| format!("\t\t<key>{k}</key>\n\t\t<string>{}</string>", xml(v))).collect();
            let log = paths.state_dir.join(AGENT_LOG);
            let values = [
                ("@LABEL@", LABEL.to_string()),
                ("@DOTBACK@", xml(exe)),
                ("@ENVIRONMENT@", env.join("\n")),
                ("@LOG@", xml(plain(manager, &log)?)),
            ];
            fill(PLIST, &values.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>())
        }
    })
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

    #[test]
    fn service_files_go_where_each_manager_looks() {
        let p = paths("/h");
        assert_eq!(Manager::Systemd.file(&p), Path::new("/h/.config/systemd/user/dotback.service"));
        assert_eq!(Manager::Launchd.file(&p), Path::new("/h/Library/LaunchAgents/dev.dotback.watch.plist"));
    }

    #[test]
    fn the_unit_runs_the_binary_with_dotbacks_locations_and_quotes_what_systemd_would_expand() {
        let unit = render(Manager::Systemd, &paths("/h"), Path::new("/opt/dot back/100%/$HOME/x")).unwrap();
        assert!(unit.contains("\nExecStart=\"/opt/dot back/100%%/$HOME/x\" watch\n"), "{unit}");
        assert!(unit.contains("\nEnvironment=\"XDG_STATE_HOME=/h/.local/state\"\n"), "{unit}");
        assert!(unit.contains("\nEnvironment=\"DOTBACK_CONFIG=/h/.config/dotback/config.toml\"\n"), "{unit}");
        for line in ["Restart=on-failure", "RestartSec=10", "WantedBy=default.target"] {
            assert!(unit.lines().any(|l| l == line), "{line}: {unit}");
        }
        assert!(!unit.contains('@'), "every placeholder is filled: {unit}");
        for odd in ["/opt/x\nExecStartPre=/bin/evil", "/opt/\"x", "/opt/x\\y", "/opt/it's"] {
            let refused = render(Manager::Systemd, &paths("/h"), Path::new(odd));
            assert!(matches!(refused, Err(ServiceError::Unwritable { .. })), "{odd:?}: {refused:?}");
        }
        let home = render(Manager::Systemd, &paths("/h\"ome"), Path::new("/opt/x"));
        assert!(matches!(home, Err(ServiceError::Unwritable { .. })), "{home:?}");
    }

    #[test]
    fn placeholders_are_filled_once() {
        let filled = fill("a @X@ b @Y@ @Z c@", &[("@X@", "@Y@"), ("@Y@", "y")]);
        assert_eq!(filled, "a @Y@ b y @Z c@");
    }

    #[test]
    fn the_agent_plist_parses_with_the_expected_keys() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("h&<o>");
        let plist = render(Manager::Launchd, &paths(home.to_str().unwrap()), Path::new("/opt/dot&back")).unwrap();
        let file = dir.path().join("agent.plist");
        std::fs::write(&file, &plist).unwrap();
        let script =
            "import json, plistlib, sys\nwith open(sys.argv[1], 'rb') as f: print(json.dumps(plistlib.load(f)))";
        let out = match Command::new("python3").args(["-c", script]).arg(&file).output() {
            Ok(out) => out,
            Err(e) => {
                assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "python3 is required: run tests/run ({e})");
                eprintln!("SKIPPED: python3 is not installed");
                return;
            }
        };
        assert!(out.status.success(), "{}\n{plist}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["Label"], LABEL);
        assert_eq!(v["ProgramArguments"], serde_json::json!(["/opt/dot&back", "watch"]));
        assert_eq!(v["RunAtLoad"], true);
        assert_eq!(v["KeepAlive"], serde_json::json!({ "SuccessfulExit": false }));
        let state = home.join(".local/state/dotback");
        assert_eq!(v["StandardErrorPath"], state.join(AGENT_LOG).to_str().unwrap());
        assert_eq!(v["EnvironmentVariables"]["HOME"], home.to_str().unwrap());
        assert_eq!(v["EnvironmentVariables"]["XDG_STATE_HOME"], home.join(".local/state").to_str().unwrap());
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
