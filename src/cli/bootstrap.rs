use super::{CliError, Ui};
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
    remote: String,
    /// Put the store in DIR (default: chezmoi's source directory).
    #[arg(long, value_name = "DIR")]
    source: Option<PathBuf>,
    /// This device's name (default: the host name).
    #[arg(long, value_name = "NAME")]
    device: Option<String>,
    /// Continue a bootstrap that failed or was interrupted, skipping the steps it finished.
    #[arg(long)]
    resume: bool,
    /// Read the recovery passphrase from FILE instead of the terminal.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn cmd_bootstrap(ui: &Ui, args: BootstrapArgs) -> Result<(), CliError> {
    let paths = Paths::from_process_env()?;
    let pass_file = args.passphrase_file.clone();
    let interactive = pass_file.is_none() && std::io::stdin().is_terminal();
    let mut ask = || super::passphrase::read(pass_file.as_deref(), "Recovery passphrase", false);
    let mut opts = bootstrap::Options {
        remote: args.remote.clone(),
        source: args.source.map(|s| std::path::absolute(&s).unwrap_or(s)),
        device: args.device,
        resume: args.resume,
        passphrase: &mut ask,
        passphrase_tries: if interactive { 3 } else { 1 },
    };
    match bootstrap::run(&paths, &mut opts, ui) {
        Ok(report) => {
            render(ui, &report, args.json, true);
            Ok(())
        }
        Err(BootstrapError::Step { step, source, report }) => {
            render(ui, &report, args.json, false);
            let mut err = step_error(&args.remote, &report.store, *source);
            err.message = format!("bootstrap step `{step}` failed: {}", err.message);
            Err(err.hint("fix that, then continue with `dotback bootstrap REMOTE --resume`"))
        }
        Err(e) => Err(CliError::from_error(&e)),
    }
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
        e @ StepError::NoChezmoi { .. } => CliError::from_error(&e)
            .hint("install chezmoi (or add a bootstrap step that does, before `templates`), then resume"),
        e @ StepError::Occupied { .. } => CliError::from_error(&e).code(2),
        e => CliError::from_error(&e),
    }
}

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Done => "done",
        Outcome::AlreadyDone => "nothing to do",
        Outcome::Skipped => "skipped",
        Outcome::DoneEarlier => "done before",
        Outcome::Checked => "checked",
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
