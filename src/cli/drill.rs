use super::{CliError, Ui};
use dotback::health::drill::{self, DrillError, DrillOptions};
use std::path::PathBuf;

/// Prove a remote restores: clone it into a temporary directory, restore into a temporary HOME,
/// and compare every tracked file (contents and mode) with the live HOME and the store.
///
/// Reports the files verified, every mismatch by path, and the measured recovery time (the
/// clone and the restore), which goes into the audit trail. Nothing outside the temporary
/// directories is touched, and they are removed afterwards. Exits 1 when anything mismatched.
#[derive(Debug, clap::Args)]
pub struct DrillArgs {
    /// The remote to drill (default: the store's first).
    #[arg(long, value_name = "NAME")]
    remote: Option<String>,
    /// Restore with the recovery passphrase alone, as a brand-new machine would: proves the
    /// disaster path.
    #[arg(long)]
    recovery: bool,
    /// Read the recovery passphrase from FILE instead of the terminal.
    #[arg(long, value_name = "FILE", requires = "recovery")]
    passphrase_file: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Run `alert_command` (device config) when the drill fails or finds a mismatch, the
    /// findings as JSON on its stdin.
    #[arg(long)]
    alert: bool,
}

pub fn cmd_drill(ui: &Ui, args: DrillArgs) -> Result<(), CliError> {
    let ctx = super::context()?;
    let stop = super::stop_on_signals();
    let pass_file = args.passphrase_file.clone();
    let mut ask = || super::passphrase::read(pass_file.as_deref(), "Recovery passphrase", false);
    let mut opts =
        DrillOptions { remote: args.remote, recovery: args.recovery.then_some(&mut ask as _), alert: args.alert };
    let report = drill::drill(&ctx, &mut opts, stop, ui).map_err(|e| match e {
        DrillError::Session(e) => e.into(),
        DrillError::Store(e) => e.into(),
        DrillError::Keys(e) => super::keys::keys_error(&ctx.store, e),
        DrillError::Apply(e) => e.into(),
        DrillError::Sync(e) => CliError::from_error(&e).hint("`dotback remote list` shows the remotes").code(2),
        e @ DrillError::Clone { .. } => CliError::from_error(&e).code(5),
        e @ DrillError::Interrupted => CliError::from_error(&e).code(130),
        e => CliError::from_error(&e),
    })?;
    if args.json {
        ui.json(&report);
    } else {
        for m in &report.mismatches {
            ui.out(format!("mismatch: ~/{} {}", m.path, m.what));
        }
        ui.info(format!(
            "Drill of {} with {}: {} file{} verified, {} mismatch{}; restored in {:.2} s (clone {:.2} s, restore {:.2} s).",
            report.remote,
            if report.with == "recovery" { "the recovery key" } else { "this device's identity" },
            report.verified,
            if report.verified == 1 { "" } else { "s" },
            report.mismatches.len(),
            if report.mismatches.len() == 1 { "" } else { "es" },
            report.rto_secs,
            report.clone_secs,
            report.restore_secs
        ));
    }
    if report.passed() {
        Ok(())
    } else {
        Err(CliError::new(format!("the drill of {} found {} mismatch(es)", report.remote, report.mismatches.len()))
            .hint("a file this device has that the remote lacks needs a `dotback sync`; one that differs from HOME, a `dotback status` look"))
    }
}
