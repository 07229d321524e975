//! Installing what another device's lists have and this machine lacks: the managers first
//! (rustup before cargo's crates, pipx before its packages), then the packages, each checked
//! afterwards. Every command is told to the sink before it runs; sudo is used only after the
//! caller confirmed it.

use super::{Cmd, Entry, Failure, Host, Manager, PackagesError, Skipped, apps, lang, system};
use crate::context::Context;
use crate::events::Sink;
use serde::Serialize;
use std::io::IsTerminal;

/// Which part of a restore to run (bootstrap runs them as two steps).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Install the managers other lists need.
    Managers,
    /// Install the packages of managers that are here.
    Packages,
    #[default]
    Both,
}

#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// The device whose lists to restore ([`super::source_device`] when not given).
    pub from: Option<String>,
    /// Run no install: report what would be run (the read-only listings still run).
    pub dry_run: bool,
    /// Use sudo without asking.
    pub yes: bool,
    pub phase: Phase,
}

/// How one package (or manager) fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Installed,
    AlreadyThere,
    Failed,
    /// A dry run: `command` would install it.
    WouldInstall,
    /// Installed by hand only (a browser extension): see `link`.
    Manual,
}

#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub manager: Manager,
    /// The package (for a manager being installed: the manager's name).
    pub name: String,
    pub status: Status,
    /// What the list says beside the name (a browser extension's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The command run (or that a dry run would run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Where to install it by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Why it failed: the manager's error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RestoreReport {
    /// The device whose lists were restored.
    pub from: String,
    pub dry_run: bool,
    /// Managers installed first, so their packages can be.
    pub managers: Vec<Outcome>,
    pub packages: Vec<Outcome>,
    pub skipped: Vec<Skipped>,
}

impl RestoreReport {
    /// A package or manager failed, or a list could not be used.
    pub fn failed(&self) -> bool {
        !self.skipped.is_empty() || self.managers.iter().chain(&self.packages).any(|o| o.status == Status::Failed)
    }
}

/// The system's own manager, if this machine has one dotback knows.
fn system_manager(host: &Host) -> Option<Manager> {
    [Manager::Apt, Manager::Dnf, Manager::Pacman, Manager::Brew].into_iter().find(|m| m.detect(host))
}

/// The commands installing manager `m` here, or why dotback cannot.
fn manager_commands(m: Manager, host: &Host) -> Result<Vec<Cmd>, String> {
    let by_hand = |why: &str| Err(format!("{} is not installed here and {why}; install it by hand", m.name()));
    let system = system_manager(host);
    let from_system = |wanted| system.and_then(|s| system::install_manager(s, host, wanted));
    match m {
        Manager::Cargo => {
            let mut cmds = Vec::new();
            if !Manager::Rustup.detect(host) {
                match from_system(Manager::Rustup) {
                    Some(c) => cmds.push(c),
                    None => return by_hand("the system's package manager has no rustup (see https://rustup.rs)"),
                }
            }
            cmds.push(Cmd::new("rustup", &["default", "stable"]));
            Ok(cmds)
        }
        Manager::Pipx => match from_system(Manager::Pipx) {
            Some(c) => Ok(vec![c]),
            None if Manager::Pip.detect(host) => {
                Ok(vec![Cmd::new("python3", &["-m", "pip", "install", "--user", "pipx"])])
            }
            None => by_hand("neither the system's package manager nor pip can install it"),
        },
        Manager::Rustup | Manager::Pip | Manager::Npm | Manager::Flatpak | Manager::Snap => match from_system(m) {
            Some(c) => Ok(vec![c]),
            None => by_hand("the system's package manager cannot install it"),
        },
        _ => by_hand("dotback does not install it"),
    }
}

/// What to do for one entry.
enum Action {
    Run(Cmd),
    Manual(Option<String>),
    Cannot(String),
}

fn action(m: Manager, host: &Host, e: &Entry) -> Action {
    if m.is_browser() {
        return Action::Manual(apps::link(m, e));
    }
    if m == Manager::PacmanForeign {
        return Action::Cannot("a foreign (AUR) package: install it with your AUR helper".into());
    }
    let cmd = match m {
        Manager::Code | Manager::Codium => Some(Cmd::new(m.name(), &["--install-extension", &e.name])),
        _ => system::install(m, host, e).or_else(|| lang::install(m, e)),
    };
    match cmd {
        Some(c) => Action::Run(c),
        None => Action::Cannot(format!("dotback cannot install the {} entry `{}`", m.name(), e.name)),
    }
}

/// Asks once before the first command that uses sudo, and checks sudo can run.
struct Sudo<'a> {
    yes: bool,
    confirm: &'a dyn Fn(&str) -> bool,
    accepted: Option<bool>,
}

impl Sudo<'_> {
    /// Whether the `cmds` that use sudo may run: asked once, then remembered. Fails when sudo
    /// needs a password and no terminal is there to type it.
    fn allow(&mut self, cmds: &[&Cmd], host: &Host) -> Result<bool, PackagesError> {
        let sudo: Vec<String> = cmds.iter().filter(|c| c.sudo).map(|c| c.shown()).collect();
        if sudo.is_empty() {
            return Ok(true);
        }
        if self.accepted.is_none() {
            let ok =
                self.yes || (self.confirm)(&format!("These commands use sudo:\n  {}\nRun them?", sudo.join("\n  ")));
            if ok && !std::io::stdin().is_terminal() && host.query("sudo", &["-n", "true"]).is_err() {
                return Err(PackagesError::SudoNeedsPassword { what: sudo.join(", ") });
            }
            self.accepted = Some(ok);
        }
        Ok(self.accepted == Some(true))
    }
}

/// Installs what `opts.from`'s lists have and this machine lacks (see the module docs).
pub fn restore(
    ctx: &Context,
    opts: &RestoreOptions,
    confirm: &dyn Fn(&str) -> bool,
    sink: &dyn Sink,
) -> Result<RestoreReport, PackagesError> {
    let from = match &opts.from {
        Some(d) => d.clone(),
        None => super::source_device(&ctx.store, &ctx.device)?,
    };
    let lists = super::lists(&ctx.store, &from)?;
    let host = Host::from_env(&ctx.paths.home);
    let mut report = RestoreReport {
        from: from.clone(),
        dry_run: opts.dry_run,
        managers: Vec::new(),
        packages: Vec::new(),
        skipped: Vec::new(),
    };
    let mut wanted = Vec::new();
    for (m, list) in lists {
        match list {
            Ok(entries) if !entries.is_empty() => wanted.push((m, entries)),
            Ok(_) => {}
            Err(bad) => report.skipped.push(Skipped {
                manager: m,
                reason: format!("its list {}/{} was refused ({bad})", super::device_dir(&from), m.file()),
            }),
        }
    }
    let mut sudo = Sudo { yes: opts.yes, confirm, accepted: None };
    if opts.phase != Phase::Packages {
        let missing: Vec<Manager> =
            wanted.iter().map(|(m, _)| *m).filter(|m| !m.is_browser() && !m.detect(&host)).collect();
        for m in missing {
            let cmds = match manager_commands(m, &host) {
                Ok(c) => c,
                Err(reason) => {
                    report.managers.push(outcome(m, m.name(), Status::Failed, None, Some(reason)));
                    continue;
                }
            };
            let shown = cmds.iter().map(Cmd::shown).collect::<Vec<_>>().join(" && ");
            if opts.dry_run {
                report.managers.push(outcome(m, m.name(), Status::WouldInstall, Some(shown), None));
                continue;
            }
            let error = if sudo.allow(&cmds.iter().collect::<Vec<_>>(), &host)? {
                cmds.iter().find_map(|c| run(&host, c, sink).err())
            } else {
                Some("not run: sudo was declined".into())
            };
            let status = if error.is_none() && m.detect(&host) { Status::Installed } else { Status::Failed };
            let error = error.or((status == Status::Failed).then(|| format!("{} is still not on PATH", m.name())));
            report.managers.push(outcome(m, m.name(), status, Some(shown), error));
        }
    }
    if opts.phase != Phase::Managers {
        for (m, entries) in &wanted {
            packages(*m, entries, &host, opts.dry_run, &mut sudo, sink, &mut report)?;
        }
    }
    Ok(report)
}

fn outcome(m: Manager, name: &str, status: Status, command: Option<String>, error: Option<String>) -> Outcome {
    Outcome { manager: m, name: name.to_string(), status, detail: None, command, link: None, error }
}

/// Installs the missing `entries` of manager `m`, and checks each afterwards.
fn packages(
    m: Manager,
    entries: &[Entry],
    host: &Host,
    dry_run: bool,
    sudo: &mut Sudo<'_>,
    sink: &dyn Sink,
    report: &mut RestoreReport,
) -> Result<(), PackagesError> {
    let here = m.is_browser() || m == Manager::PacmanForeign || m.detect(host);
    let present = match (here, m.is_browser() || m == Manager::PacmanForeign) {
        (false, _) if dry_run => Default::default(),
        (false, _) => {
            report.skipped.push(Skipped { manager: m, reason: format!("{} is not installed here", m.name()) });
            return Ok(());
        }
        (true, true) => Default::default(),
        (true, false) => match m.present(host) {
            Ok(p) => p,
            Err(f) => {
                report.skipped.push(Skipped { manager: m, reason: format!("{} failed: {}", f.command, f.error) });
                return Ok(());
            }
        },
    };
    let mut to_run: Vec<(&Entry, Cmd)> = Vec::new();
    for e in entries {
        match action(m, host, e) {
            _ if present.contains(&m.key(&e.name)) => {
                report.packages.push(outcome(m, &e.name, Status::AlreadyThere, None, None));
            }
            Action::Manual(link) => {
                let mut o = outcome(m, &e.name, Status::Manual, None, None);
                o.detail = e.detail.clone();
                o.link = link;
                report.packages.push(o);
            }
            Action::Cannot(why) => report.packages.push(outcome(m, &e.name, Status::Failed, None, Some(why))),
            Action::Run(cmd) if dry_run => {
                report.packages.push(outcome(m, &e.name, Status::WouldInstall, Some(cmd.shown()), None))
            }
            Action::Run(cmd) => to_run.push((e, cmd)),
        }
    }
    if to_run.is_empty() {
        return Ok(());
    }
    let allowed = sudo.allow(&to_run.iter().map(|(_, c)| c).collect::<Vec<_>>(), host)?;
    let mut errors = Vec::new();
    for (_, cmd) in &to_run {
        errors.push(if cmd.sudo && !allowed {
            Some("not run: sudo was declined".to_string())
        } else {
            run(host, cmd, sink).err()
        });
    }
    let after = m.present(host);
    for ((e, cmd), error) in to_run.into_iter().zip(errors) {
        let there = after.as_ref().is_ok_and(|p| p.contains(&m.key(&e.name)));
        let (status, error) = match (there, error, &after) {
            (true, _, _) => (Status::Installed, None),
            (false, Some(err), _) => (Status::Failed, Some(err)),
            (false, None, Err(f)) => {
                (Status::Failed, Some(format!("cannot check it: {} failed: {}", f.command, f.error)))
            }
            (false, None, Ok(_)) => {
                (Status::Failed, Some(format!("`{}` succeeded but {} does not list it", cmd.shown(), m.name())))
            }
        };
        report.packages.push(outcome(m, &e.name, status, Some(cmd.shown()), error));
    }
    Ok(())
}

/// Runs one install, told to the sink first; the error is the command's stderr tail.
fn run(host: &Host, cmd: &Cmd, sink: &dyn Sink) -> Result<(), String> {
    sink.news(format!("Running: {}", cmd.shown()));
    let out = host.output(cmd).map_err(|Failure { error, .. }| error)?;
    if out.status.success() { Ok(()) } else { Err(super::failed_with(&out)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A host whose PATH holds only fake programs with these names (each exits 0).
    fn host_with(programs: &[&str]) -> (tempfile::TempDir, Host) {
        let dir = tempfile::tempdir().unwrap();
        for p in programs {
            let path = dir.path().join(p);
            std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let host =
            Host { home: dir.path().into(), path: vec![dir.path().into()], cargo_home: dir.path().into(), root: false };
        (dir, host)
    }

    fn planned(m: Manager, host: &Host) -> Result<Vec<String>, String> {
        manager_commands(m, host).map(|c| c.iter().map(Cmd::shown).collect())
    }

    #[test]
    fn a_manager_comes_before_its_packages() {
        let (_d, apt) = host_with(&["apt-mark", "dpkg-query"]);
        assert_eq!(
            planned(Manager::Cargo, &apt).unwrap(),
            ["sudo apt-get install -y -q rustup", "rustup default stable"]
        );
        assert_eq!(planned(Manager::Pipx, &apt).unwrap(), ["sudo apt-get install -y -q pipx"]);
        assert_eq!(planned(Manager::Npm, &apt).unwrap(), ["sudo apt-get install -y -q npm"]);
        let (_d, rustup) = host_with(&["rustup"]);
        assert_eq!(planned(Manager::Cargo, &rustup).unwrap(), ["rustup default stable"], "rustup is there already");
        let (_d, pip_only) = host_with(&["python3"]);
        assert_eq!(planned(Manager::Pipx, &pip_only).unwrap(), ["python3 -m pip install --user pipx"]);
        let (_d, bare) = host_with(&[]);
        for m in [Manager::Cargo, Manager::Npm, Manager::Brew, Manager::Code] {
            assert!(planned(m, &bare).unwrap_err().contains("install it by hand"), "{m:?}");
        }
    }

    #[test]
    fn browsers_are_listed_never_installed() {
        let (_d, host) = host_with(&[]);
        let e = Entry::with("uBlock0@raymondhill.net", "uBlock Origin");
        assert!(
            matches!(action(Manager::Firefox, &host, &e), Action::Manual(Some(l)) if l.contains("addons.mozilla.org"))
        );
        assert!(matches!(action(Manager::PacmanForeign, &host, &Entry::new("yay")), Action::Cannot(_)));
        assert!(
            matches!(action(Manager::Code, &host, &Entry::new("ms-python.python")), Action::Run(c) if c.shown() == "code --install-extension ms-python.python")
        );
    }
}
