use super::{CliError, Ui};
use dotback::paths::Paths;
use dotback::service::{self, Manager, ServiceError, ServiceReport, ServiceStatus};

/// Run `dotback watch` as a user service: a systemd user unit on Linux, a launchd agent on
/// macOS. The service file holds no secret: the watcher loads the device identity from its file
/// or the OS keyring.
#[derive(Debug, clap::Args)]
pub struct ServiceArgs {
    #[command(subcommand)]
    command: ServiceCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ServiceCommand {
    /// Write the service file for this device, then enable and start the service.
    Install {
        /// Only write the file: do not reload, enable or start the service (a machine without a
        /// running user service manager).
        #[arg(long)]
        no_start: bool,
        /// Print JSON (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Stop and disable the service, and remove its file.
    Uninstall {
        /// Print JSON (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Whether the service is installed and runs, and the watcher's last sync and last error.
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
        ServiceCommand::Install { no_start, json } => {
            let binary =
                std::env::current_exe().map_err(|e| CliError::new(format!("cannot find dotback's own path: {e}")))?;
            let opts = service::Options { manager, binary, no_start };
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
    let path = report.path.display();
    if report.changed {
        ui.info(format!("Wrote {path}."));
    } else {
        ui.info(format!("{path} is up to date."));
    }
    if no_start {
        let how = match report.manager {
            Manager::Systemd => {
                format!("`systemctl --user daemon-reload && systemctl --user enable --now {}`", service::UNIT_NAME)
            }
            Manager::Launchd => format!("`launchctl load -w {path}`"),
        };
        ui.info(format!("Not started (--no-start): {how} starts it."));
    } else {
        ui.info("Enabled and started the service: `dotback service status` shows how it goes.");
    }
    if report.headless {
        ui.hint(LINGER);
    }
}

fn uninstalled(ui: &Ui, report: &ServiceReport) {
    if !report.changed {
        ui.info(format!("The service is not installed (no {}): nothing to do.", report.path.display()));
        return;
    }
    let path = report.path.display();
    match &report.unreachable {
        Some(why) => {
            ui.warn(format!("the service manager could not be reached ({why}), so it runs no service to stop"));
            ui.info(format!("Removed {path}."));
        }
        None => ui.info(format!("Stopped and disabled the service, and removed {path}.")),
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

fn service_error(e: ServiceError) -> CliError {
    match e {
        ServiceError::Context(e) => e.into(),
        ServiceError::NoUserManager { .. } => CliError::from_error(&e)
            .hint(LINGER)
            .hint("`dotback service install --no-start` writes the unit without starting it"),
        ServiceError::Unwritable { .. } => {
            CliError::from_error(&e).hint("use a path of plain UTF-8 characters, without quotes or backslashes")
        }
        ServiceError::File(_) | ServiceError::Manager { .. } => CliError::from_error(&e),
    }
}
