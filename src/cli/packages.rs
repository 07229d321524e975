use super::ui::BOLD;
use super::{CliError, Ui};
use dotback::packages::{self, PackagesError, RestoreOptions, RestorePhase, RestoreReport, Status};

/// Record, compare and restore what each device installed on purpose (apt, dnf, pacman,
/// Homebrew, flatpak, snap, rustup, cargo, pip --user, pipx, npm -g, VS Code and VSCodium
/// extensions, Firefox and Chromium extensions).
///
/// The lists live in the store under `.dotback/packages/DEVICE/`, one sorted file per manager
/// (a Brewfile for Homebrew). `packages.capture = true` in the device config makes `sync`
/// capture them first.
#[derive(Debug, clap::Args)]
pub struct PackagesArgs {
    #[command(subcommand)]
    command: PackagesCommand,
}

#[derive(Debug, clap::Subcommand)]
enum PackagesCommand {
    /// Record this device's lists and commit those that changed (a manager that is absent is
    /// skipped; one that fails is reported, exit 1, and the others are still recorded).
    Capture {
        /// Print JSON (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Show what another device's lists have that this device's lack.
    Diff {
        /// The other device (default: the one whose lists were captured last).
        #[arg(long, value_name = "NAME")]
        device: Option<String>,
        /// What this device has that the other lacks.
        #[arg(long)]
        reverse: bool,
        /// Print JSON (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Install what a device's lists have and this machine lacks: missing managers first, then
    /// their packages, each checked afterwards. Every command is printed before it runs; sudo is
    /// used only after asking. Browser extensions are listed with their store links. Exits 1
    /// when a package failed.
    Restore {
        /// Whose lists (default: this device's, else the device captured last).
        #[arg(long, value_name = "DEVICE")]
        from: Option<String>,
        /// Install nothing: print the commands a restore would run.
        #[arg(long)]
        dry_run: bool,
        /// Use sudo without asking.
        #[arg(long)]
        yes: bool,
        /// Print JSON (stable field names).
        #[arg(long)]
        json: bool,
    },
}

pub fn cmd_packages(ui: &Ui, args: PackagesArgs) -> Result<(), CliError> {
    match args.command {
        PackagesCommand::Capture { json } => {
            let mut s = super::writer(ui)?;
            let report = packages::capture(&mut s, ui)?;
            s.finish()?;
            if json {
                ui.json(&report);
            } else {
                for c in &report.captured {
                    let what = if c.changed { "updated" } else { "unchanged" };
                    ui.out(format!("{:<15} {:>5} {what:<9} {}", c.manager.name(), c.entries, c.path));
                }
                match &report.commit {
                    Some(id) => ui.info(format!("Committed the package lists of {} ({}).", report.device, &id[..10])),
                    None => ui.info("Nothing new: the package lists are as committed."),
                }
            }
            match report.failed.len() {
                0 => Ok(()),
                n => Err(CliError::new(format!(
                    "{n} package manager{} failed: {}",
                    super::add::plural(n),
                    report.failed.iter().map(|f| f.manager.name()).collect::<Vec<_>>().join(", ")
                ))
                .hint("the other lists were recorded; the failed ones were left as they were")),
            }
        }
        PackagesCommand::Diff { device, reverse, json } => {
            let ctx = super::context()?;
            let other = match device {
                Some(d) => d,
                None => packages::other_device(&ctx.store, &ctx.device)?,
            };
            let (this, other) = if reverse { (other, ctx.device.clone()) } else { (ctx.device.clone(), other) };
            let d = packages::diff(&ctx.store, &this, &other)?;
            if json {
                ui.json(&d);
                return Ok(());
            }
            if d.managers.is_empty() {
                ui.info(format!("{other} has nothing that {this} lacks."));
            } else {
                ui.out(format!("{BOLD}What {other} has and {this} lacks:{BOLD:#}"));
                for m in &d.managers {
                    for e in &m.missing {
                        let detail = e.detail.as_deref().map(|d| format!("  ({d})")).unwrap_or_default();
                        ui.out(format!("  {:<15} {}{detail}", m.manager.name(), e.name));
                    }
                }
            }
            for r in &d.refused {
                ui.warn(format!("{other}'s {} list was refused: {}", r.manager.name(), r.reason));
            }
            Ok(())
        }
        PackagesCommand::Restore { from, dry_run, yes, json } => {
            let ctx = super::context()?;
            let opts = RestoreOptions { from, dry_run, yes, phase: RestorePhase::Both };
            let report = packages::restore(&ctx, &opts, &|q| ui.confirm(q), ui)?;
            if json {
                ui.json(&report);
            } else {
                render_restore(ui, &report);
            }
            if report.failed() {
                return Err(CliError::new("some packages could not be restored (see above)")
                    .hint("each failure names the manager's error; fix it and run `dotback packages restore` again"));
            }
            Ok(())
        }
    }
}

fn render_restore(ui: &Ui, r: &RestoreReport) {
    let verb = if r.dry_run { "Would restore" } else { "Restored" };
    ui.out(format!("{BOLD}{verb} the packages of {}:{BOLD:#}", r.from));
    let mut counts = [0usize; 5];
    for o in r.managers.iter().chain(&r.packages) {
        counts[o.status as usize] += 1;
        let label = match o.status {
            Status::AlreadyThere => continue,
            Status::Installed => "installed",
            Status::Failed => "FAILED",
            Status::WouldInstall => "would run",
            Status::Manual => "by hand",
        };
        let mut line = format!("  {:<15} {:<28} {label}", o.manager.name(), o.name);
        if let Some(c) = &o.command {
            line.push_str(&format!(": {c}"));
        }
        if let Some(l) = &o.link {
            let name = o.detail.as_deref().map(|d| format!("{d}: ")).unwrap_or_default();
            line.push_str(&format!(": {name}{l}"));
        }
        ui.out(line);
        if let Some(e) = &o.error {
            for l in e.lines() {
                ui.out(format!("      {l}"));
            }
        }
    }
    for s in &r.skipped {
        ui.warn(format!("{}: {}", s.manager.name(), s.reason));
    }
    let [installed, already, failed, would, manual] = counts;
    ui.info(format!(
        "{installed} installed, {already} already there, {failed} failed, {would} to install, {manual} to install by hand."
    ));
}

impl From<PackagesError> for CliError {
    fn from(e: PackagesError) -> Self {
        if let PackagesError::Store(s) = e {
            return s.into();
        }
        let err = CliError::from_error(&e);
        match &e {
            PackagesError::BadDevice { .. } => err.code(2),
            PackagesError::NoLists { .. } | PackagesError::NoDevices { .. } | PackagesError::NoOtherDevice { .. } => {
                err.hint("run `dotback packages capture` on that device, then `dotback sync` on both")
            }
            PackagesError::SudoNeedsPassword { .. } => err.hint(
                "run it at a terminal, or run `sudo -v` first so sudo does not ask; nothing was installed by sudo",
            ),
            PackagesError::PlaintextSecret { .. } => err.hint("remove the secret from the listed file"),
            PackagesError::Store(_) | PackagesError::Path(_) => err,
        }
    }
}
