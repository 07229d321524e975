//! Package lists: what the user installed on purpose, per device and per package manager, kept
//! in the store under `.dotback/packages/<device>/`, so a new machine can get the same tools.
//!
//! One file per manager, `<manager>.txt` (`Brewfile` for Homebrew, the one `brew bundle dump`
//! writes). A `.txt` list has one entry a line, sorted, with no versions or timestamps, so a
//! capture that finds nothing new changes no file:
//!
//! ```text
//! NAME                 what the manager installs (a package, crate, extension id…)
//! NAME<TAB>DETAIL      the same, with what reinstalling it needs: a cargo crate's git or path
//!                      source, a pipx package's spec, a flatpak's origin, a snap's `classic`,
//!                      a browser extension's name
//! ```
//!
//! Multi-kind managers prefix the kind: rustup has `toolchain:TC`, `component:TC:NAME` and
//! `target:TC:NAME`; a Brewfile reads as `NAME` (formula), `cask:NAME` and `tap:NAME`.
//!
//! What comes back from the store is untrusted (any device, or anyone who can push, wrote it):
//! every name is checked ([`parse_list`]) and passed to the manager as one argument, never
//! through a shell; a name starting with `-` (an option) is refused, and so is one that is a
//! path, a URL or a package file rather than a name the manager looks up in its registry
//! ([`check_registry_name`]), which it would install as given, as root for apt or dnf.

mod apps;
mod lang;
mod restore;
mod system;

pub use restore::{Outcome, Phase as RestorePhase, RestoreOptions, RestoreReport, Status, restore};

use crate::error::{IoContext, Op, PathError};
use crate::events::{Phase, Sink};
use crate::session::Session;
use crate::store::{Store, StoreError};
use serde::Serialize;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The store directory holding every device's lists.
pub const DIR: &str = ".dotback/packages";

/// A package manager (or a browser, for its extensions) dotback records lists for. In the order
/// a restore takes them: system managers first, a manager before what it installs (rustup
/// before cargo), browsers (listed, never installed) last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Manager {
    Apt,
    Dnf,
    Pacman,
    PacmanForeign,
    Brew,
    Flatpak,
    Snap,
    Rustup,
    Cargo,
    Pip,
    Pipx,
    Npm,
    Code,
    Codium,
    Firefox,
    Chrome,
    Chromium,
}

impl Manager {
    pub const ALL: [Manager; 17] = [
        Manager::Apt,
        Manager::Dnf,
        Manager::Pacman,
        Manager::PacmanForeign,
        Manager::Brew,
        Manager::Flatpak,
        Manager::Snap,
        Manager::Rustup,
        Manager::Cargo,
        Manager::Pip,
        Manager::Pipx,
        Manager::Npm,
        Manager::Code,
        Manager::Codium,
        Manager::Firefox,
        Manager::Chrome,
        Manager::Chromium,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Manager::Apt => "apt",
            Manager::Dnf => "dnf",
            Manager::Pacman => "pacman",
            Manager::PacmanForeign => "pacman-foreign",
            Manager::Brew => "brew",
            Manager::Flatpak => "flatpak",
            Manager::Snap => "snap",
            Manager::Rustup => "rustup",
            Manager::Cargo => "cargo",
            Manager::Pip => "pip",
            Manager::Pipx => "pipx",
            Manager::Npm => "npm",
            Manager::Code => "code",
            Manager::Codium => "codium",
            Manager::Firefox => "firefox",
            Manager::Chrome => "chrome",
            Manager::Chromium => "chromium",
        }
    }

    /// The list's file name in a device's directory.
    pub fn file(self) -> String {
        match self {
            Manager::Brew => "Brewfile".into(),
            m => format!("{}.txt", m.name()),
        }
    }

    /// Browsers allow no silent install: their extensions are listed with store links.
    pub fn is_browser(self) -> bool {
        matches!(self, Manager::Firefox | Manager::Chrome | Manager::Chromium)
    }

    /// Whether this manager is on this machine.
    fn detect(self, host: &Host) -> bool {
        match self {
            Manager::Apt => host.has("apt-mark") && host.has("dpkg-query"),
            Manager::Dnf => host.has("dnf"),
            Manager::Pacman | Manager::PacmanForeign => host.has("pacman"),
            Manager::Brew => host.has("brew"),
            Manager::Flatpak => host.has("flatpak"),
            Manager::Snap => host.has("snap"),
            Manager::Rustup => host.has("rustup"),
            Manager::Cargo => host.has("cargo"),
            Manager::Pip => host.has("python3") && host.query("python3", &["-m", "pip", "--version"]).is_ok(),
            Manager::Pipx => host.has("pipx"),
            Manager::Npm => host.has("npm"),
            Manager::Code => host.has("code"),
            Manager::Codium => host.has("codium"),
            Manager::Firefox | Manager::Chrome | Manager::Chromium => !apps::profiles(self, &host.home).is_empty(),
        }
    }

    /// The list as its file holds it (what the user installed on purpose).
    fn capture(self, host: &Host) -> Result<String, Failure> {
        let entries = match self {
            Manager::Apt => system::names(&host.query("apt-mark", &["showmanual"])?),
            Manager::Dnf => system::names(&host.query("dnf", &["repoquery", "--userinstalled", "--qf=%{name}\\n"])?),
            Manager::Pacman => system::names(&host.query("pacman", &["-Qqen"])?),
            Manager::PacmanForeign => system::names(&host.query("pacman", &["-Qqem"])?),
            Manager::Brew => return host.query("brew", &["bundle", "dump", "--file=-"]),
            Manager::Flatpak => {
                system::flatpak(&host.query("flatpak", &["list", "--app", "--columns=application,origin"])?)
            }
            Manager::Snap => system::snap(&host.query("snap", &["list"])?),
            Manager::Rustup => lang::rustup_capture(host)?,
            Manager::Cargo => lang::cargo_capture(host)?,
            Manager::Pip => {
                lang::pip(&host.query("python3", PIP_LIST_ON_PURPOSE)?).map_err(|e| host.bad("python3", e))?
            }
            Manager::Pipx => lang::pipx(&host.query("pipx", &["list", "--json"])?).map_err(|e| host.bad("pipx", e))?,
            Manager::Npm => lang::npm_capture(host)?,
            Manager::Code => system::names(&host.query("code", &["--list-extensions"])?),
            Manager::Codium => system::names(&host.query("codium", &["--list-extensions"])?),
            Manager::Firefox | Manager::Chrome | Manager::Chromium => apps::capture(self, &host.home)?,
        };
        Ok(render(&entries))
    }

    /// The names installed now (more than the list: what came as a dependency counts too), in
    /// the form [`Manager::key`] gives.
    fn present(self, host: &Host) -> Result<BTreeSet<String>, Failure> {
        let keys = |entries: Vec<Entry>| entries.into_iter().map(|e| self.key(&e.name)).collect();
        Ok(match self {
            Manager::Apt => system::dpkg_installed(&host.query("dpkg-query", &["-W", system::DPKG_FORMAT])?),
            Manager::Dnf => {
                system::names(&host.query("rpm", &["-qa", "--qf=%{NAME}\\n"])?).into_iter().map(|e| e.name).collect()
            }
            Manager::Pacman => keys(system::names(&host.query("pacman", &["-Qq"])?)),
            Manager::Brew => system::brew_present(host)?,
            Manager::Pip => keys(lang::pip(&host.query("python3", PIP_LIST_ALL)?).map_err(|e| host.bad("python3", e))?),
            _ => keys(parse_list(&self.capture(host)?).map_err(|e| host.bad(self.name(), e.to_string()))?),
        })
    }

    /// An entry's name as [`Manager::present`] holds it: pip's names are compared normalised
    /// (case and `-`/`_`/`.` do not matter), a Homebrew formula by its name without its tap.
    fn key(self, name: &str) -> String {
        match self {
            Manager::Pip => name.to_lowercase().replace(['_', '.'], "-"),
            Manager::Brew if !name.contains(':') => name.rsplit('/').next().unwrap_or(name).to_string(),
            _ => name.to_string(),
        }
    }

    /// Parses a list read from the store: every name must also be one of the manager's
    /// registry ([`check_registry_name`]).
    fn parse(self, text: &str) -> Result<Vec<Entry>, BadList> {
        match self {
            Manager::Brew => system::brewfile(text),
            _ => parse_lines(text, |name, detail| check_registry_name(self, name, detail)),
        }
    }
}

const PIP_LIST_ON_PURPOSE: &[&str] = &["-m", "pip", "list", "--user", "--not-required", "--format=json"];
const PIP_LIST_ALL: &[&str] = &["-m", "pip", "list", "--user", "--format=json"];

/// One entry of a list.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Entry {
    pub name: String,
    /// What reinstalling it needs beyond the name (see the module docs), if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Entry {
    pub fn new(name: impl Into<String>) -> Entry {
        Entry { name: name.into(), detail: None }
    }

    pub fn with(name: impl Into<String>, detail: impl Into<String>) -> Entry {
        Entry { name: name.into(), detail: Some(detail.into()) }
    }
}

/// A `.txt` list's text: sorted by name, one entry each, control characters a tool printed in
/// a detail (an extension's name) made spaces.
pub fn render(entries: &[Entry]) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort();
    sorted.dedup_by(|a, b| a.name == b.name);
    let mut out = String::new();
    for e in sorted {
        out.push_str(&e.name);
        if let Some(d) = &e.detail {
            out.push('\t');
            out.extend(d.chars().map(|c| if c.is_control() { ' ' } else { c }));
        }
        out.push('\n');
    }
    out
}

/// A list from the store that dotback refuses, whole: it cannot have been written by a capture.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct BadList {
    pub line: usize,
    pub reason: String,
}

/// Parses a `.txt` list, refusing any entry that could become an option or more than one
/// argument: a name or detail starting with `-`, a name with white space or a control
/// character in it.
pub fn parse_list(text: &str) -> Result<Vec<Entry>, BadList> {
    parse_lines(text, |_, _| Ok(()))
}

/// [`parse_list`], with `check` refusing more names.
fn parse_lines(text: &str, check: impl Fn(&str, Option<&str>) -> Result<(), String>) -> Result<Vec<Entry>, BadList> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: String| BadList { line: i + 1, reason };
        let (name, detail) = match line.split_once('\t') {
            Some((n, d)) => (n, Some(d)),
            None => (line, None),
        };
        check_name(name).and_then(|()| check(name, detail)).map_err(bad)?;
        if let Some(d) = detail
            && (d.starts_with('-') || d.chars().any(char::is_control))
        {
            return Err(bad(format!("the detail of `{name}` starts with `-` or holds a control character")));
        }
        out.push(Entry { name: name.to_string(), detail: detail.map(str::to_string) });
    }
    Ok(out)
}

/// A package name dotback passes to a manager: not empty, not an option, one word.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an empty name".into());
    }
    if name.starts_with('-') {
        return Err(format!("`{name}` starts with `-`: it would be taken as an option"));
    }
    if name.len() > 512 || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{name:?} is not a package name (white space, a control character, or too long)"));
    }
    Ok(())
}

/// A name from the store is a name the manager looks up in its registry, never what every
/// manager also installs as given: a path, a URL (`file:`, `git+https://…`) or a package file.
/// For the system's managers that would be code from the store run as root (`sudo apt-get
/// install ./x.deb`, `dnf install https://…/x.rpm`). A name starts with a letter or a digit, has
/// no `:` (but apt's `name:arch` and rustup's `kind:toolchain:name`), and no `/` (but a
/// Homebrew tap's `user/tap/name` and an npm scope's `@scope/name`); a flatpak's origin, the
/// name of a remote. Browsers' extensions are only ever linked to, and AUR packages only
/// listed, so their ids are not checked.
fn check_registry_name(m: Manager, name: &str, detail: Option<&str>) -> Result<(), String> {
    let (body, slashes, colons) = match m {
        Manager::Firefox | Manager::Chrome | Manager::Chromium | Manager::PacmanForeign => return Ok(()),
        Manager::Brew => (name.strip_prefix("tap:").or_else(|| name.strip_prefix("cask:")).unwrap_or(name), 2, false),
        Manager::Npm => match name.strip_prefix('@') {
            Some(scoped) => (scoped, 1, false),
            None => (name, 0, false),
        },
        Manager::Apt | Manager::Rustup => (name, 0, true),
        _ => (name, 0, false),
    };
    let refuse = |what: &str| {
        Err(format!(
            "`{name}` is not a {} package's name ({what}); a list names packages, never files or URLs",
            m.name()
        ))
    };
    if !body.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return refuse("it does not start with a letter or a digit");
    }
    if body.matches('/').count() > slashes || body.split('/').any(|part| part.is_empty() || part == "..") {
        return refuse("it is a path");
    }
    if !colons && body.contains(':') {
        return refuse("it is a URL");
    }
    let files: &[&str] = match m {
        Manager::Apt => &[".deb"],
        Manager::Dnf => &[".rpm"],
        Manager::Snap => &[".snap"],
        Manager::Flatpak => &[".flatpak", ".flatpakref", ".flatpakrepo"],
        Manager::Code | Manager::Codium => &[".vsix"],
        Manager::Pip | Manager::Pipx => &[".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar"],
        Manager::Npm => &[".tgz", ".tar.gz", ".tar"],
        Manager::Brew => &[".rb", ".json"],
        _ => &[],
    };
    let lower = body.to_ascii_lowercase();
    if files.iter().any(|suffix| lower.ends_with(suffix)) {
        return refuse("it is a package file");
    }
    let remote = |o: &str| {
        o.starts_with(|c: char| c.is_ascii_alphanumeric())
            && o.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    match detail {
        Some(origin) if m == Manager::Flatpak && !remote(origin) => {
            Err(format!("`{origin}`, the origin of `{name}`, is not the name of a flatpak remote"))
        }
        _ => Ok(()),
    }
}

/// A device name as a directory of the store: not empty, no `/`, not `.` or `..`.
pub fn check_device(name: &str) -> Result<(), PackagesError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) || name.starts_with('.') {
        return Err(PackagesError::BadDevice { name: name.to_string() });
    }
    Ok(())
}

/// Where `device`'s lists are, relative to the store.
pub fn device_dir(device: &str) -> String {
    format!("{DIR}/{device}")
}

/// A manager whose list could not be made, or whose program failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The command that failed, as it would be typed.
    pub command: String,
    /// Its error: the last lines of what it printed on stderr, or why it did not run.
    pub error: String,
}

/// How many lines of a failed command's stderr a report keeps.
const STDERR_TAIL: usize = 8;

fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(STDERR_TAIL)..].join("\n")
}

/// A command a restore runs: a program and its arguments (never a shell line), as root through
/// `sudo` when `sudo` is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
    pub sudo: bool,
}

impl Cmd {
    fn new(program: &str, args: &[&str]) -> Cmd {
        Cmd { program: program.to_string(), args: args.iter().map(|a| a.to_string()).collect(), sudo: false }
    }

    fn sudo(mut self, host: &Host) -> Cmd {
        self.sudo = !host.root;
        self
    }

    /// The command as a user would type it (arguments quoted where a shell needs it).
    pub fn shown(&self) -> String {
        let mut words: Vec<String> = Vec::new();
        if self.sudo {
            words.push("sudo".into());
        }
        words.push(self.program.clone());
        for a in &self.args {
            let plain = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@+%,".contains(c));
            words.push(if plain { a.clone() } else { format!("'{}'", a.replace('\'', r"'\''")) });
        }
        words.join(" ")
    }
}

/// The machine the lists are taken from or restored to: HOME, PATH and the places managers
/// keep their state, from the environment (so a test, or a user, can redirect them).
pub struct Host {
    pub home: PathBuf,
    path: Vec<PathBuf>,
    /// `CARGO_HOME`, or `~/.cargo`.
    pub cargo_home: PathBuf,
    /// Running as root: system managers need no `sudo`.
    pub root: bool,
}

impl Host {
    pub fn from_env(home: &Path) -> Host {
        let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
        Host {
            home: home.to_path_buf(),
            path: std::env::split_paths(&path).filter(|p| p.is_absolute()).collect(),
            cargo_home: std::env::var_os("CARGO_HOME").map(PathBuf::from).unwrap_or_else(|| home.join(".cargo")),
            // SAFETY: geteuid has no preconditions.
            root: unsafe { libc::geteuid() } == 0,
        }
    }

    /// The program's path, from PATH.
    fn find(&self, program: &str) -> Option<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        self.path
            .iter()
            .map(|d| d.join(program))
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
    }

    fn has(&self, program: &str) -> bool {
        self.find(program).is_some()
    }

    /// Runs a read-only query and returns its standard output.
    fn query(&self, program: &str, args: &[&str]) -> Result<String, Failure> {
        let cmd = Cmd::new(program, args);
        let out = self.output(&cmd)?;
        if !out.status.success() {
            return Err(Failure { command: cmd.shown(), error: failed_with(&out) });
        }
        String::from_utf8(out.stdout)
            .map_err(|_| Failure { command: cmd.shown(), error: "it printed text that is not UTF-8".into() })
    }

    fn output(&self, cmd: &Cmd) -> Result<std::process::Output, Failure> {
        let fail = |error: String| Failure { command: cmd.shown(), error };
        let mut c = if cmd.sudo {
            let sudo = self.find("sudo").ok_or_else(|| fail("sudo is not installed".into()))?;
            let mut c = Command::new(sudo);
            c.arg("--").arg(&cmd.program);
            c
        } else {
            Command::new(self.find(&cmd.program).ok_or_else(|| fail(format!("{} is not on PATH", cmd.program)))?)
        };
        c.args(&cmd.args).current_dir(&self.home).stdin(Stdio::null());
        c.output().map_err(|e| fail(format!("it could not be started: {e}")))
    }

    /// A failure to understand what `program` printed.
    fn bad(&self, program: &str, error: String) -> Failure {
        Failure { command: program.to_string(), error: format!("its output could not be read: {error}") }
    }
}

fn failed_with(out: &std::process::Output) -> String {
    let code = match out.status.code() {
        Some(c) => format!("it exited with {c}"),
        None => "it was killed by a signal".to_string(),
    };
    match tail(&out.stderr) {
        t if t.is_empty() => code,
        t => format!("{code}: {t}"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PackagesError {
    #[error("`{name}` cannot name a device's package lists (it must be one path component, not starting with `.`)")]
    BadDevice { name: String },
    #[error("the store has no package lists for device `{device}` (under {})", store.join(DIR).display())]
    NoLists { device: String, store: PathBuf },
    #[error("the store has no package lists yet (under {})", store.join(DIR).display())]
    NoDevices { store: PathBuf },
    #[error("no other device has package lists in the store (under {})", store.join(DIR).display())]
    NoOtherDevice { store: PathBuf },
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("refusing to commit the package lists: {} would put a secret into git in plaintext", found.len())]
    PlaintextSecret { found: Vec<crate::guard::Violation> },
    /// sudo would ask for a password and nobody is there to type it.
    #[error("installing {what} needs sudo, and sudo needs a password but there is no terminal to type it")]
    SudoNeedsPassword { what: String },
}

/// What one manager's capture did.
#[derive(Clone, Debug, Serialize)]
pub struct Captured {
    pub manager: Manager,
    /// The list's path in the store.
    pub path: String,
    pub entries: usize,
    /// The file changed (or was made).
    pub changed: bool,
}

/// A manager that failed.
#[derive(Clone, Debug, Serialize)]
pub struct Failed {
    pub manager: Manager,
    #[serde(flatten)]
    pub failure: Failure,
}

/// A list that could not be used at all, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    pub manager: Manager,
    pub reason: String,
}

/// What [`capture`] did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CaptureReport {
    pub device: String,
    pub captured: Vec<Captured>,
    /// Managers that failed (their lists are left as they were).
    pub failed: Vec<Failed>,
    /// The commit made, if a list changed.
    pub commit: Option<String>,
}

/// Detects the managers present, records what each has installed on purpose into this
/// device's lists, and commits the lists that changed ("packages: capture on DEVICE"). A
/// manager that is absent is skipped (its old list stays); one that fails is reported and the
/// others still run. Nothing new: no file changes, no commit.
pub fn capture(s: &mut Session, sink: &dyn Sink) -> Result<CaptureReport, PackagesError> {
    let device = s.ctx.device.clone();
    check_device(&device)?;
    let host = Host::from_env(&s.ctx.paths.home);
    let store_root = s.ctx.store.clone();
    let mut report = CaptureReport { device: device.clone(), ..Default::default() };
    let present: Vec<Manager> = Manager::ALL.into_iter().filter(|m| m.detect(&host)).collect();
    let phase = Phase::start(sink, "capturing package lists", present.len());
    let mut changed = Vec::new();
    for m in present {
        phase.next(&format!("listing {}", m.name()));
        let text = match m.capture(&host) {
            Ok(t) => t,
            Err(f) => {
                sink.warn(format!("could not list the {} packages: {} failed: {}", m.name(), f.command, f.error));
                report.failed.push(Failed { manager: m, failure: f });
                continue;
            }
        };
        let rel = format!("{}/{}", device_dir(&device), m.file());
        let path = store_root.join(&rel);
        let old = match crate::fsutil::read_to_string_beneath(&store_root, &path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(PathError::new(Op::Read, &path, e).into()),
        };
        let entries = m.parse(&text).map(|e| e.len()).unwrap_or(0);
        let differs = old.as_deref() != Some(text.as_str()) && !(old.is_none() && text.is_empty());
        if differs {
            crate::fsutil::write_atomic_beneath(&store_root, &path, text.as_bytes(), 0o644)
                .context(Op::Write, &path)?;
            changed.push(rel.clone());
        }
        report.captured.push(Captured { manager: m, path: rel, entries, changed: differs });
    }
    drop(phase);
    if changed.is_empty() {
        return Ok(report);
    }
    let store = s.store()?;
    let message = format!(
        "packages: capture on {device}\n\nDevice: {device}\n\n{}",
        changed.iter().map(|p| format!("updated: {p}\n")).collect::<String>()
    );
    store.stage_paths(&changed)?;
    let found = crate::guard::check_staged(&store, s.rules())?;
    if !found.is_empty() {
        return Err(PackagesError::PlaintextSecret { found });
    }
    let commit = store.commit_staged(&device, &message)?;
    report.commit = commit.map(|c| c.to_string());
    Ok(report)
}

/// The devices that have lists in the store, sorted.
pub fn devices(store: &Path) -> Result<Vec<String>, PackagesError> {
    let dir = store.join(DIR);
    let read = match std::fs::read_dir(&dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(PathError::new(Op::Read, &dir, e).into()),
    };
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.context(Op::Read, &dir)?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        // A link is no device's directory (the lists are read following no link anyway).
        if check_device(&name).is_ok() && entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// A list read from the store: its entries, or why dotback refuses it.
pub type Listed = Result<Vec<Entry>, BadList>;

/// A device's lists, read from the store (following no link) and checked. A list dotback
/// refuses is returned as its error, so the others can still be used.
pub fn lists(store: &Path, device: &str) -> Result<Vec<(Manager, Listed)>, PackagesError> {
    check_device(device)?;
    let mut out = Vec::new();
    for m in Manager::ALL {
        let path = store.join(device_dir(device)).join(m.file());
        match crate::fsutil::read_to_string_beneath(store, &path) {
            Ok(text) => out.push((m, m.parse(&text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(PathError::new(Op::Read, &path, e).into()),
        }
    }
    if out.is_empty() {
        return Err(PackagesError::NoLists { device: device.to_string(), store: store.to_path_buf() });
    }
    Ok(out)
}

/// The device a restore takes its lists from: the one named like this one if it has lists,
/// else the one whose lists were committed last.
pub fn source_device(store: &Path, this: &str) -> Result<String, PackagesError> {
    let all = devices(store)?;
    if all.iter().any(|d| d == this) {
        return Ok(this.to_string());
    }
    newest(store, &all)?.ok_or_else(|| PackagesError::NoDevices { store: store.to_path_buf() })
}

/// The device other than this one whose lists were committed last.
pub fn other_device(store: &Path, this: &str) -> Result<String, PackagesError> {
    let others: Vec<String> = devices(store)?.into_iter().filter(|d| d != this).collect();
    newest(store, &others)?.ok_or_else(|| PackagesError::NoOtherDevice { store: store.to_path_buf() })
}

fn newest(store: &Path, devices: &[String]) -> Result<Option<String>, PackagesError> {
    if devices.len() <= 1 {
        return Ok(devices.first().cloned());
    }
    let repo = Store::open(store)?;
    let mut best: Option<(i64, &String)> = None;
    for d in devices {
        let files: Vec<String> = Manager::ALL.iter().map(|m| format!("{}/{}", device_dir(d), m.file())).collect();
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        let time = match repo.last_change(&files)? {
            Some(c) => repo.commit_time(c)?,
            None => i64::MIN, // not committed yet
        };
        if best.is_none_or(|(t, _)| time > t) {
            best = Some((time, d));
        }
    }
    Ok(best.map(|(_, d)| d.clone()))
}

/// What one manager's list on another device has that this device's lacks.
#[derive(Clone, Debug, Serialize)]
pub struct ManagerDiff {
    pub manager: Manager,
    pub missing: Vec<Entry>,
}

/// What `other` has that `this` lacks, by their lists in the store.
#[derive(Clone, Debug, Serialize)]
pub struct PackageDiff {
    pub this: String,
    pub other: String,
    pub managers: Vec<ManagerDiff>,
    /// Lists of `other` dotback refused (see [`parse_list`]).
    pub refused: Vec<Skipped>,
}

/// What `other`'s lists have that `this`'s lack (`this` may have none).
pub fn diff(store: &Path, this: &str, other: &str) -> Result<PackageDiff, PackagesError> {
    let theirs = lists(store, other)?;
    let mine = match lists(store, this) {
        Ok(l) => l,
        Err(PackagesError::NoLists { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut out =
        PackageDiff { this: this.to_string(), other: other.to_string(), managers: Vec::new(), refused: Vec::new() };
    for (m, entries) in theirs {
        let entries = match entries {
            Ok(e) => e,
            Err(e) => {
                out.refused.push(Skipped { manager: m, reason: e.to_string() });
                continue;
            }
        };
        let have: BTreeSet<String> = mine
            .iter()
            .filter(|(mm, _)| *mm == m)
            .filter_map(|(_, e)| e.as_ref().ok())
            .flatten()
            .map(|e| m.key(&e.name))
            .collect();
        let missing: Vec<Entry> = entries.into_iter().filter(|e| !have.contains(&m.key(&e.name))).collect();
        if !missing.is_empty() {
            out.managers.push(ManagerDiff { manager: m, missing });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_render_sorted_and_parse_back() {
        let entries = vec![
            Entry::new("zsh"),
            Entry::with("ripgrep", "git+https://github.com/BurntSushi/ripgrep"),
            Entry::new("git"),
            Entry::new("git"),
            Entry::with("ext", "A\tname\nwith controls"),
        ];
        let text = render(&entries);
        assert_eq!(text, "ext\tA name with controls\ngit\nripgrep\tgit+https://github.com/BurntSushi/ripgrep\nzsh\n");
        assert_eq!(parse_list(&text).unwrap().len(), 4);
        assert_eq!(render(&parse_list(&text).unwrap()), text, "stable across a round trip");
        assert_eq!(render(&[]), "");
    }

    #[test]
    fn hostile_lists_are_refused() {
        for (text, line) in [
            ("git\n--force-yes\n", 2),
            ("-oAPT::Get::AllowUnauthenticated=1\n", 1),
            ("git; rm -rf ~\n", 1),
            ("$(reboot)\tx\nok\nand more\n", 3),
            ("ok\nname\t--config=/tmp/evil\n", 2),
            ("ok\n\u{1b}[2J\n", 2),
            ("a b\n", 1),
        ] {
            let e = parse_list(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
        // `$(reboot)` alone is one word: harmless as one argument, and refused by no shell.
        assert_eq!(parse_list("$(reboot)\n").unwrap(), vec![Entry::new("$(reboot)")]);
        assert!(parse_list("# comment\n\ngit\n").is_ok());
    }

    #[test]
    fn a_list_names_packages_never_files_or_urls() {
        // What each manager would install as given, from the store: as root for the system's.
        for (m, text) in [
            (Manager::Apt, "./.local/share/chezmoi/evil.deb\n"),
            (Manager::Apt, "/tmp/evil.deb\n"),
            (Manager::Apt, "evil.deb\n"),
            (Manager::Dnf, "https://evil.example/x.rpm\n"),
            (Manager::Dnf, "x.rpm\n"),
            (Manager::Pacman, "../x\n"),
            (Manager::Snap, "x.snap\n"),
            (Manager::Flatpak, "https://evil.example/x.flatpakref\n"),
            (Manager::Flatpak, "org.example.App\thttps://evil.example/repo\n"),
            (Manager::Flatpak, "org.example.App\t/tmp/repo\n"),
            (Manager::Code, "./evil.vsix\n"),
            (Manager::Pip, "https://evil.example/x.whl\n"),
            (Manager::Pip, "x.tar.gz\n"),
            (Manager::Npm, "file:x.tgz\n"),
            (Manager::Npm, "github:evil/pkg\n"),
            (Manager::Npm, "@scope/../../x\n"),
            (Manager::Cargo, ".hidden\n"),
            (Manager::Brew, "brew \"./evil.rb\"\n"),
            (Manager::Brew, "brew \"https://evil.example/x.rb\"\n"),
            (Manager::Brew, "brew \"a/b/c/d\"\n"),
        ] {
            let e = m.parse(&format!("ok\n{text}")).unwrap_err();
            assert_eq!(e.line, 2, "{m:?} {text:?}: {e}");
            assert!(e.reason.contains("name") || e.reason.contains("remote"), "{e}");
        }
        // What captures write is taken.
        for (m, text) in [
            (Manager::Apt, "libc6:i386\ng++\n"),
            (Manager::Dnf, "NetworkManager\ngcc-c++\n389-ds-base\n"),
            (Manager::Flatpak, "org.mozilla.firefox\tflathub\n"),
            (Manager::Npm, "@vue/cli\ntypescript\n"),
            (Manager::Pip, "zope.interface\n"),
            (Manager::Rustup, "toolchain:1.95.0-x86_64-unknown-linux-gnu\ncomponent:stable:rust-src\n"),
            (Manager::Pipx, "black\tgit+https://github.com/psf/black\n"),
            (Manager::Firefox, "{446900e4-71c2-419f-a6a7-df9c091e268b}\tBitwarden\n"),
            (Manager::Brew, "tap \"homebrew/cask\"\nbrew \"denji/nginx/nginx-full\"\nbrew \"mysql@5.6\"\n"),
        ] {
            assert!(m.parse(text).is_ok(), "{m:?} {text:?}: {:?}", m.parse(text));
        }
    }

    #[test]
    fn device_names_are_one_component() {
        for bad in ["", ".", "..", "a/b", "../x", ".hidden", "a\0b"] {
            assert!(check_device(bad).is_err(), "{bad:?}");
        }
        for ok in ["laptop", "work-pc", "a.b"] {
            assert!(check_device(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn commands_are_shown_quoted() {
        let c = Cmd { program: "apt-get".into(), args: vec!["install".into(), "-y".into(), "it's".into()], sudo: true };
        assert_eq!(c.shown(), r"sudo apt-get install -y 'it'\''s'");
    }

    #[test]
    fn every_manager_has_its_own_file() {
        let files: BTreeSet<String> = Manager::ALL.iter().map(|m| m.file()).collect();
        assert_eq!(files.len(), Manager::ALL.len());
    }
}
