use super::{CliError, Ui};
use dotback::health::history::{self, HistoryError, RestoreOptions};
use dotback::health::when::{self, When};
use std::path::PathBuf;

/// Restore a file or directory as it was at a commit or a time.
///
/// WHEN is a commit id (full or abbreviated), a date (`2026-11-30`: the end of that day), a
/// local date and time (`2026-11-30 18:00`), an RFC 3339 time (`2026-11-30T18:00:00Z`), or a
/// relative time (`2 days ago`, `3 hours ago`, `yesterday`, `yesterday 18:00`); a time names the
/// newest commit at or before it. Encrypted files are decrypted with this device's identity,
/// modes and links come back as they were, and whatever is live is first saved under the state
/// directory's backups. Nothing is removed. A restored file is an edit in HOME: `dotback commit`
/// records it, `dotback apply` undoes it. Templates and other entries chezmoi renders are not
/// restored.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A path in HOME (it need not exist now).
    #[arg(value_name = "PATH")]
    path: PathBuf,
    /// The commit or time to restore from.
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    at: When,
    /// Write below DIR instead of HOME (HOME is left alone).
    #[arg(long, value_name = "DIR")]
    to: Option<PathBuf>,
    /// Print JSON (stable field names) instead of text.
    #[arg(long)]
    json: bool,
}

/// WHEN, read before any thread starts (the local zone can only be asked then).
fn parse_when(text: &str) -> Result<When, when::WhenError> {
    when::parse_local(text)
}

pub fn cmd_restore(ui: &Ui, args: RestoreArgs) -> Result<(), CliError> {
    let offset = local_offset();
    let mut s = super::writer(ui)?;
    let target = s.ctx.target_of(&args.path)?;
    let opts = RestoreOptions { target, at: args.at, to: args.to };
    let r = history::restore(&mut s, &opts, ui).map_err(history_error)?;
    if args.json {
        ui.json(&r);
        return Ok(s.finish()?);
    }
    for d in &r.delegated {
        ui.warn(format!("~/{} is a {} (chezmoi renders it): not restored", d.target, d.reason));
    }
    for t in &r.changed_meanwhile {
        ui.warn(format!("~/{t} changed while restore ran: left as it is"));
    }
    let whence = format!("{} ({})", history::short(&r.commit), local_time(r.commit_time, offset));
    let place = if opts.to.is_some() { format!(" into {}", r.root.display()) } else { String::new() };
    let shown = if r.target.is_empty() { "~".to_string() } else { format!("~/{}", r.target) };
    if r.written.is_empty() {
        ui.info(format!("{shown}{place} is already as it was at {whence}; nothing was written."));
    } else {
        ui.info(format!(
            "Restored {shown}{place} as it was at {whence}: {} path{} written.",
            r.written.len(),
            super::add::plural(r.written.len())
        ));
    }
    if let Some(dir) = &r.backup_dir {
        ui.info(format!("What was there before is saved in {}.", dir.display()));
    }
    if !r.not_in_store.is_empty() {
        let list: Vec<String> = r.not_in_store.iter().map(|t| format!("~/{t}")).collect();
        ui.hint(format!("{} not in the store now; `dotback add` keeps it", list.join(", ")));
    } else if opts.to.is_none() && !r.written.is_empty() {
        ui.hint("`dotback commit` records the restored version; `dotback apply` goes back to the store's");
    }
    Ok(s.finish()?)
}

/// The local zone's offset now (UTC when it cannot be told), asked before any thread starts.
pub fn local_offset() -> time::UtcOffset {
    time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC)
}

/// A Unix time in the local zone, to the minute.
pub fn local_time(t: i64, offset: time::UtcOffset) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| t.to_offset(offset).format(&fmt).ok())
        .unwrap_or_else(|| t.to_string())
}

pub fn history_error(e: HistoryError) -> CliError {
    let err = CliError::from_error(&e);
    match e {
        HistoryError::Store(e) => e.into(),
        HistoryError::Scan(e) => e.into(),
        HistoryError::Eval(e) => e.into(),
        HistoryError::Apply(e) => e.into(),
        HistoryError::Path(_) => err.hint("check that you can write there and that the disk has room"),
        HistoryError::NoCommits => err.hint("`dotback commit` makes the first one").code(2),
        HistoryError::UnknownCommit { .. } | HistoryError::AmbiguousCommit { .. } | HistoryError::BeforeFirst { .. } => {
            err.hint("`dotback log PATH` lists the commits that changed a path, with their ids and times").code(2)
        }
        HistoryError::NotThere { .. } => err.hint("`dotback log PATH` lists the commits that changed it").code(2),
        HistoryError::Delegated { .. } => err
            .hint("its source file is in the store's history: `git -C <store> show <commit>:<source>`; `dotback log PATH` names the source")
            .code(2),
        HistoryError::OwnPlace { .. } => err.hint("name a directory outside the store and dotback's state").code(2),
        HistoryError::Locked { .. } => err.hint(
            "`dotback keys list` shows who the store encrypts to, and `dotback keys unlock --recovery` makes this device a recipient",
        ),
        HistoryError::Refused { .. } => err,
        HistoryError::Failed { source, .. } => {
            let inner: CliError = source.into();
            CliError { message: err.message, causes: err.causes, hints: inner.hints, code: inner.code }
        }
    }
}
