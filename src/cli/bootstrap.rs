use super::{CliError, Ui};
use dotback::bootstrap::plan::{Step, UserStep};
use dotback::bootstrap::{self, BootstrapError, Outcome, Report, StepError};
use dotback::paths::Paths;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Restore this machine from a remote: clone, unlock, keys, packages, dotfiles, templates,
/// verify, and the store's own steps, in dependency order.
///
/// On a new device it gives the device its own identity and adds it as a recipient with the
/// recovery passphrase (asked once, never again), and pushes that. Each step looks before it
/// acts, so a second bootstrap changes nothing; an interrupted one continues with --resume.
/// The summary gives each step's time and the total: the measured recovery time.
#[derive(Debug, clap::Args)]
pub struct BootstrapArgs {
    /// The remote holding the store: a URL (ssh, https) or a local path.
    #[arg(required_unless_present = "print_script")]
    remote: Option<String>,
    /// Print the POSIX sh script that installs dotback on a brand-new machine and runs
    /// `dotback bootstrap` with the script's arguments (host it beside your dotfiles:
    /// `curl -fsSL URL/bootstrap.sh | sh -s -- REMOTE`).
    #[arg(long, exclusive = true)]
    print_script: bool,
    /// Put the store in DIR (default: chezmoi's source directory).
    #[arg(long, value_name = "DIR")]
    source: Option<PathBuf>,
    /// This device's name (default: the host name).
    #[arg(long, value_name = "NAME")]
    device: Option<String>,
    /// Continue a bootstrap that failed or was interrupted, skipping the steps it finished.
    #[arg(long)]
    resume: bool,
    /// Run only these steps (clone and unlock always run: every other step needs them).
    #[arg(long, value_name = "STEP", num_args = 1.., value_delimiter = ',')]
    only: Vec<String>,
    /// Leave these steps out.
    #[arg(long, value_name = "STEP", num_args = 1.., value_delimiter = ',')]
    skip: Vec<String>,
    /// Print the ordered plan (each step's place and why, and the commands the store's own steps
    /// run) and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Run the store's own steps without asking, also new or changed ones (read them first with
    /// --dry-run), and use sudo for package installs without asking.
    #[arg(long)]
    yes: bool,
    /// Restore the package lists of DEVICE (default: this device's own, else the device that
    /// captured last).
    #[arg(long, value_name = "DEVICE")]
    from: Option<String>,
    /// Read the recovery passphrase from FILE instead of the terminal.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn cmd_bootstrap(ui: &Ui, args: BootstrapArgs) -> Result<(), CliError> {
    if args.print_script {
        ui.out(bootstrap::SCRIPT.trim_end());
        return Ok(());
    }
    let remote = args.remote.clone().expect("clap requires REMOTE without --print-script");
    let paths = Paths::from_process_env()?;
    let pass_file = args.passphrase_file.clone();
    let interactive = pass_file.is_none() && std::io::stdin().is_terminal();
    let mut ask = || super::passphrase::read(pass_file.as_deref(), "Recovery passphrase", false);
    let yes = args.yes;
    let approve = |steps: &[&UserStep]| {
        ui.info("The store asks to run these commands on this machine (in HOME, with `sh -c`):");
        for s in steps {
            ui.info(format!("  step `{}`: {}", s.name, s.run));
            if let Some(unless) = &s.unless {
                ui.info(format!("    (skipped when `{unless}` succeeds)"));
            }
        }
        yes || ui.confirm("Run them?")
    };
    let mut opts = bootstrap::Options {
        remote: remote.clone(),
        source: args.source.map(|s| std::path::absolute(&s).unwrap_or(s)),
        device: args.device,
        resume: args.resume,
        passphrase: &mut ask,
        passphrase_tries: if interactive { 3 } else { 1 },
        only: args.only,
        skip: args.skip,
        approve: &approve,
        from: args.from,
        yes,
        confirm: &|question: &str| ui.confirm(question),
    };
    if args.dry_run {
        let plan = bootstrap::dry_run(&paths, &opts, ui).map_err(|e| bootstrap_error(&remote, e))?;
        render_plan(ui, &plan, args.json);
        return Ok(());
    }
    match bootstrap::run(&paths, &mut opts, ui) {
        Ok(report) => {
            render(ui, &report, args.json, true);
            let incomplete: Vec<&str> = report.incomplete().map(|s| s.name.as_str()).collect();
            if incomplete.is_empty() {
                return Ok(());
            }
            Err(CliError::new(format!(
                "the bootstrap finished, but `{}` did not get everything done (see above)",
                incomplete.join("`, `")
            ))
            .hint("fix what failed, then `dotback bootstrap REMOTE --resume` runs those steps again"))
        }
        Err(e) => {
            if let BootstrapError::Step { report, .. } | BootstrapError::NotApproved { report, .. } = &e {
                render(ui, report, args.json, false);
            }
            Err(bootstrap_error(&remote, e))
        }
    }
}

fn bootstrap_error(remote: &str, e: BootstrapError) -> CliError {
    match e {
        BootstrapError::Step { step, source, report } => {
            // A clone refused because the place is taken: nothing ran, and resuming cannot help.
            let taken = matches!(
                *source,
                StepError::Occupied { .. }
                    | StepError::OtherRemote { .. }
                    | StepError::Init(dotback::init::InitError::OtherStore { .. })
            );
            let mut err = step_error(remote, &report.store, *source);
            err.message = format!("bootstrap step `{step}` failed: {}", err.message);
            if taken {
                return err;
            }
            err.hint("fix that, then continue with `dotback bootstrap REMOTE --resume`")
        }
        e @ BootstrapError::Plan(_) => CliError::from_error(&e)
            .hint("fix the store's [[bootstrap.step]] tables in .dotback/dotback.toml (or the --only/--skip names); no step after the clone ran")
            .code(3),
        e @ BootstrapError::NotApproved { .. } => CliError::from_error(&e)
            .hint("read them with `dotback bootstrap REMOTE --dry-run`; accept them at a terminal, or with --yes")
            .hint("or leave them out with --skip")
            .code(6),
        e => CliError::from_error(&e),
    }
}

fn render_plan(ui: &Ui, d: &bootstrap::DryRun, json: bool) {
    if json {
        ui.json(d);
        return;
    }
    if let Some(held) = &d.held_back {
        ui.warn_error(&super::sync::held_back(&d.store, held));
    }
    ui.out(format!(
        "Plan for the store {}{}:",
        d.store.display(),
        if d.cloned { "" } else { " (read from a temporary clone)" }
    ));
    for (i, p) in d.plan.steps.iter().enumerate() {
        let kind = match &p.step {
            Step::Builtin(_) => "built-in",
            Step::User(_) => "store step",
        };
        let skipped = p.skipped.as_ref().map(|s| format!(" — skipped: {s}")).unwrap_or_default();
        ui.out(format!("{:>2}. {} ({kind}){skipped}", i + 1, p.step.name()));
        for e in &p.edges {
            ui.out(format!("      {e}"));
        }
        if let Step::User(u) = &p.step {
            if let Some(unless) = &u.unless {
                ui.out(format!("      unless: {unless}"));
            }
            ui.out(format!("      runs: {}", u.run));
        }
    }
    if let Some(p) = &d.packages {
        ui.out(format!("Packages from device `{}`:", p.from));
        for o in p.managers.iter().chain(&p.packages) {
            let how = o.command.as_deref().or(o.link.as_deref()).unwrap_or("");
            ui.out(format!("  {} {}: {} {how}", o.manager.name(), o.name, status_word(o.status)));
        }
    }
    ui.info("Nothing was changed (dry run).");
}

fn step_error(remote: &str, store: &std::path::Path, e: StepError) -> CliError {
    match e {
        StepError::Transport(t) if t.is_unreachable() => {
            CliError::from_error(&t).code(5).hint("check the remote's URL and the network; nothing was created")
        }
        StepError::Transport(t) => super::sync::refusal(remote, &t),
        StepError::Store(e) => e.into(),
        StepError::Init(e) => super::init::init_error(e),
        StepError::Config(e) => e.into(),
        StepError::Context(e) => e.into(),
        StepError::Session(e) => e.into(),
        StepError::Keys(e) => super::keys::keys_error(store, e),
        StepError::Apply(e) => e.into(),
        StepError::State(e) => e.into(),
        StepError::CodeHeld { held } => super::sync::held_back(store, &held),
        e @ StepError::NoChezmoi { .. } => CliError::from_error(&e)
            .hint("install chezmoi (or add a bootstrap step that does, before `templates`), then resume"),
        e @ StepError::Occupied { .. } => CliError::from_error(&e).code(2),
        e @ StepError::OtherRemote { .. } => CliError::from_error(&e)
            .hint("bootstrap from one of its remotes (`dotback remote list`), or add this one with `dotback remote add NAME REMOTE`")
            .code(2),
        e => CliError::from_error(&e),
    }
}

fn status_word(s: dotback::packages::Status) -> &'static str {
    use dotback::packages::Status;
    match s {
        Status::Installed => "installed",
        Status::AlreadyThere => "already there",
        Status::Failed => "failed",
        Status::WouldInstall => "would install:",
        Status::Manual => "install by hand:",
    }
}

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Done => "done",
        Outcome::AlreadyDone => "nothing to do",
        Outcome::Skipped => "skipped",
        Outcome::DoneEarlier => "done before",
        Outcome::Checked => "checked",
        Outcome::Incomplete => "incomplete",
    }
}

fn render(ui: &Ui, r: &Report, json: bool, finished: bool) {
    if json {
        ui.json(r);
        return;
    }
    for s in &r.steps {
        ui.out(format!("{:<18} {:<14} {:>7.2} s  {}", s.name, outcome_word(s.outcome), s.secs, s.detail.join("; ")));
    }
    if !r.backed_up.is_empty() {
        let dir = r.backup_dir.as_ref().map(|d| format!(" (saved in {})", d.display())).unwrap_or_default();
        ui.warn(format!("these files in HOME differed from the store and were replaced{dir}:"));
        for t in &r.backed_up {
            ui.out(format!("  ~/{t}"));
        }
    }
    if r.nothing_to_do && !r.steps.is_empty() {
        ui.info("Nothing to do: this machine is bootstrapped already; nothing was changed.");
    } else if finished {
        ui.info(format!("Restored in {:.1} s (the measured recovery time).", r.total_secs));
    }
}
