use super::{CliError, Ui};
use dotback::health::check::{self, CheckError, CheckOptions, Severity};
use std::path::PathBuf;

/// Check the backup: the store's objects, encryption, secrets, drift, remotes, the time since
/// the last sync, 3-2-1, conflicts, drills and storage.
///
/// Every object reachable from every ref is read back (with `--quick`, blobs are only looked
/// up); every encrypted file decrypts with this device's identity and is encrypted to every
/// trusted recipient; no plaintext secret is anywhere in the history; HOME matches the store;
/// every remote answers and has what the store has; the last successful sync is within `rpo`
/// (device config, default 1h); the copies make 3-2-1; no conflict waits; a drill passed within
/// `drill_every` (default 30d). Exits 0 when everything is fine, 9 when the worst finding is a
/// warning, 10 when it is an error. With `--alert`, an error runs `alert_command` from the
/// device config (with `sh -c`, the findings as JSON on its stdin).
///
/// With `--store DIR`, checks a clone of the store's repository alone, with no device config or
/// identity, as a CI job on the hosting service does (`templates/dotback-check.yml`): integrity,
/// the plaintext-secret scan with the committed manifest's rules, the recipient count of every
/// encrypted file, and storage. It writes nothing.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
    /// Do not read blob contents (their presence is checked; no plaintext-secret scan).
    #[arg(long)]
    quick: bool,
    /// Run `alert_command` when an error is found.
    #[arg(long, conflicts_with = "store")]
    alert: bool,
    /// Check the repository at DIR alone, with no device: no identity, config or HOME needed.
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

/// The exit codes of a check that found warnings or errors.
const WARNINGS: u8 = 9;
const ERRORS: u8 = 10;

pub fn cmd_check(ui: &Ui, args: CheckArgs) -> Result<(), CliError> {
    let opts = CheckOptions { quick: args.quick, alert: args.alert };
    let report = match &args.store {
        Some(dir) => check::check_store(dir, &opts, ui),
        None => check::check(&super::context()?, &opts, ui),
    }
    .map_err(|e| match e {
        CheckError::Store(e) => CliError::from(e),
    })?;
    if args.json {
        ui.json(&report);
    } else {
        for f in &report.findings {
            ui.out(format!("{:<7} {:<10} {}", check::word(f.severity), f.area, f.message));
            if let Some(hint) = &f.hint
                && f.severity != Severity::Ok
            {
                ui.out(format!("{:18} hint: {hint}", ""));
            }
        }
    }
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    match report.worst {
        Severity::Ok => Ok(()),
        Severity::Warning => {
            Err(CliError::new(format!("check found {} warning(s)", count(Severity::Warning))).code(WARNINGS))
        }
        Severity::Error => Err(CliError::new(format!(
            "check found {} error(s) and {} warning(s)",
            count(Severity::Error),
            count(Severity::Warning)
        ))
        .code(ERRORS)),
    }
}
