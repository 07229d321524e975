use super::{CliError, Ui};
use dotback::paths::Paths;
use dotback::service::{self, Job, Manager, ServiceError, ServiceReport, ServiceStatus, TimerStatus};

/// Run `dotback watch` as a user service, and `dotback check --alert` daily and `dotback drill
/// --alert` monthly on a schedule: systemd user units and timers on Linux, launchd agents on
/// macOS. The service files hold no secret: each command loads the device identity from its
/// file or the OS keyring.
#[derive(Debug, clap::Args)]
pub struct ServiceArgs {
    #[command(subcommand)]
    command: ServiceCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ServiceCommand {
    /// Write the service files for this device (the watcher's, and the check and drill timers'),
    /// then enable and start them.
    Install {
        /// Only write the files: do not reload, enable or start anything (a machine without a
        /// running user service manager).
        #[arg(long)]
        no_start: bool,
        /// Only the watcher's service: no check or drill timer.
        #[arg(long)]
        no_timers: bool,
        /// Print JSON (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Stop and disable the watcher's service and the timers, and remove their files.
    Uninstall {
        /// Print JSON (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Whether the service and the timers are installed and run, and the watcher's last sync and
    /// last error.
    Status {
        /// Print JSON (stable field names).
        #[arg(long)]
        json: bool,
    },
}

const LINGER: &str = "without a graphical session, the user manager runs only while you are logged in: \
                      `loginctl enable-linger $USER` keeps it (and the watcher) running";

pub fn cmd_service(ui: &Ui, args: ServiceArgs) -> Result<(), CliError> {
    let paths = Paths::from_process_env()?;
    let manager = Manager::native();
    match args.command {
        ServiceCommand::Install { no_start, no_timers, json } => {
            let binary =
                std::env::current_exe().map_err(|e| CliError::new(format!("cannot find dotback's own path: {e}")))?;
            let opts = service::Options { manager, binary, no_start, timers: !no_timers };
            let report = service::install(&paths, &opts).map_err(service_error)?;
            if json {
                ui.json(&report);
            } else {
                installed(ui, &report, no_start);
            }
        }
        ServiceCommand::Uninstall { json } => {
            let report = service::uninstall(&paths, manager).map_err(service_error)?;
            if json {
                ui.json(&report);
            } else {
                uninstalled(ui, &report);
            }
        }
        ServiceCommand::Status { json } => {
            let status = service::status(&paths, manager);
            if json {
                ui.json(&status);
            } else {
                show_status(ui, &status);
            }
        }
    }
    Ok(())
}

fn installed(ui: &Ui, report: &ServiceReport, no_start: bool) {
    for file in &report.files {
        let path = file.path.display();
        if file.changed {
            ui.info(format!("Wrote {path}."));
        } else {
            ui.info(format!("{path} is up to date."));
        }
    }
    let what = if report.units.len() > 1 { "the watcher and the check and drill timers" } else { "the watcher" };
    if no_start {
        let how = match report.manager {
            Manager::Systemd => {
                format!("`systemctl --user daemon-reload && systemctl --user enable --now {}`", report.units.join(" "))
            }
            Manager::Launchd => {
                let loads: Vec<String> =
                    report.files.iter().map(|f| format!("launchctl load -w {}", f.path.display())).collect();
                format!("`{}`", loads.join(" && "))
            }
        };
        ui.info(format!("Not started (--no-start): {how} starts {what}."));
    } else {
        ui.info(format!("Enabled and started {what}: `dotback service status` shows how they go."));
    }
    if report.headless {
        ui.hint(LINGER);
    }
    if report.alerts_no_one {
        ui.hint("the device config has no `alert_command`: what the daily check and the monthly drill find alerts no one (the README shows one that pings a URL)");
    }
}

fn uninstalled(ui: &Ui, report: &ServiceReport) {
    if !report.changed {
        ui.info(format!("The service is not installed (no {}): nothing to do.", report.path.display()));
        return;
    }
    match &report.unreachable {
        Some(why) => {
            ui.warn(format!("the service manager could not be reached ({why}), so it runs no service to stop"))
        }
        None if !report.units.is_empty() => ui.info(format!("Stopped and disabled {}.", report.units.join(", "))),
        None => {}
    }
    for file in &report.files {
        ui.info(format!("Removed {}.", file.path.display()));
    }
}

fn show_status(ui: &Ui, s: &ServiceStatus) {
    if !s.installed {
        ui.out(format!("Service: not installed (no {}); `dotback service install` installs it.", s.path.display()));
    } else {
        let running = match s.running {
            Some(true) => format!("running ({})", s.state),
            Some(false) => format!("not running ({})", s.state),
            None => format!("unknown: {}", s.state),
        };
        ui.out(format!("Service: installed ({}), {running}.", s.path.display()));
    }
    for timer in &s.timers {
        show_timer(ui, timer);
    }
    let Some(w) = &s.watch else {
        ui.out("Watcher: no status yet (it writes one once it runs).");
        return;
    };
    ui.out(format!("Watcher: pid {}, started {}, status of {}.", w.pid, w.started, w.updated));
    match &w.last_commit {
        Some(c) => ui.out(format!("Last commit: {} at {}.", c.id, c.time)),
        None => ui.out("Last commit: none yet."),
    }
    if w.last_push.is_empty() {
        ui.out("Last push: none yet.");
    }
    for (remote, time) in &w.last_push {
        ui.out(format!("Last push to `{remote}`: {time}."));
    }
    if w.pending_pushes > 0 {
        ui.out(format!("Pushes pending: {}.", w.pending_pushes));
    }
    if w.conflicts > 0 {
        ui.out(format!("Conflicts waiting: {} (`dotback resolve` settles them).", w.conflicts));
    }
    match &w.last_error {
        Some(e) => ui.out(format!("Last error: {} at {}.", e.message, e.time)),
        None => ui.out("Last error: none."),
    }
}

fn show_timer(ui: &Ui, t: &TimerStatus) {
    let what = match t.job {
        Job::Check => "daily `dotback check --alert`",
        Job::Drill => "monthly `dotback drill --alert`",
        Job::Watch => "the watcher",
    };
    if !t.installed {
        ui.out(format!("Timer {} ({what}): not installed; `dotback service install` installs it.", t.unit));
        return;
    }
    let state = match (t.enabled, t.active) {
        (Some(enabled), Some(active)) => {
            let enabled = if enabled { "enabled" } else { "not enabled" };
            let active = if active { "active" } else { "not active" };
            format!("{enabled}, {active} ({})", t.state)
        }
        _ => format!("unknown: {}", t.state),
    };
    let next = t.next_run.as_ref().map(|n| format!("; next run {n}")).unwrap_or_default();
    ui.out(format!("Timer {} ({what}): installed ({}), {state}{next}.", t.unit, t.path.display()));
}

fn service_error(e: ServiceError) -> CliError {
    match e {
        ServiceError::Context(e) => e.into(),
        ServiceError::NoUserManager { .. } => CliError::from_error(&e)
            .hint(LINGER)
            .hint("`dotback service install --no-start` writes the units without starting them"),
        ServiceError::Unwritable { .. } => {
            CliError::from_error(&e).hint("use a path of plain UTF-8 characters, without quotes or backslashes")
        }
        ServiceError::File(_) | ServiceError::Manager { .. } => CliError::from_error(&e),
    }
}
