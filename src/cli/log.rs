use super::{CliError, Ui};
use dotback::health::history::{self, Entry, LogOptions, What};
use std::path::PathBuf;

/// Show the history of the store, or of one path, with the audit trail.
///
/// Commits come with the device that made them (the `Device:` line dotback writes, else the
/// author) and their time, newest first, merged with this device's audit records (syncs,
/// bootstraps, watcher pushes, restores). A path's history follows it across changes of its
/// attributes (`dot_zshrc` becoming `private_dot_zshrc` or encrypted) and lists only the commits
/// that changed it.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// A path in HOME: only the commits that changed it (or what is below it).
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
    /// Every device's audit records, not only this device's (with PATH too).
    #[arg(long)]
    audit: bool,
    /// Show the newest N entries.
    #[arg(short = 'n', value_name = "N", default_value_t = 100)]
    max: usize,
    /// Print JSON (stable field names) instead of text.
    #[arg(long)]
    json: bool,
}

pub fn cmd_log(ui: &Ui, args: LogArgs) -> Result<(), CliError> {
    let offset = super::restore::local_offset();
    let s = super::reader(ui)?;
    let target = args.path.map(|p| s.ctx.target_of(&p)).transpose()?;
    let opts = LogOptions { target, all_devices: args.audit, limit: args.max };
    let log = history::log(&s, &opts).map_err(super::restore::history_error)?;
    if args.json {
        ui.json(&log);
    } else {
        for e in &log.entries {
            ui.out(line(e, offset));
        }
        match (&log.target, log.entries.is_empty()) {
            (Some(t), true) => ui.info(format!("No commit changed ~/{t}.")),
            (None, true) => ui.info("The store has no history yet."),
            _ => {}
        }
        if log.more {
            ui.info(format!("Older entries are not shown; `-n {}` shows more.", args.max.saturating_mul(2).max(1)));
        }
    }
    Ok(s.finish()?)
}

/// One entry as a line: time, device, then the commit or the record.
fn line(e: &Entry, offset: time::UtcOffset) -> String {
    let when = super::restore::local_time(e.time, offset);
    match &e.what {
        What::Commit { id, subject, sources, .. } => {
            let sources = if sources.is_empty() { String::new() } else { format!("  ({})", sources.join(" -> ")) };
            format!("{when}  {:<12} {}  {subject}{sources}", e.device, history::short(id))
        }
        What::Audit { record: r } => {
            let mut counts = Vec::new();
            for (n, what) in [
                (r.committed, "committed"),
                (r.merged, "merged"),
                (r.applied, "applied"),
                (r.pushed, "pushed"),
                (r.conflicts, "conflicts"),
            ] {
                if n > 0 {
                    counts.push(format!("{n} {what}"));
                }
            }
            let counts = if counts.is_empty() { String::new() } else { format!(", {}", counts.join(", ")) };
            format!(
                "{when}  {:<12} {:<8}  {} {}{counts} ({} ms)",
                e.device, "audit", r.command, r.outcome, r.duration_ms
            )
        }
    }
}
