use super::{CliError, Ui};
use dotback::capture::{CaptureReport, CommitError, CommitOptions};

/// Capture files changed in HOME into the store and commit everything in the store.
///
/// The commit message names this device and the changed paths. A file deleted in HOME is
/// removed from the store; when more than `max_deletions` files (25 unless set in the device
/// config) or more than half of the tracked ones are deleted at once, none of the deletions is
/// recorded and the command exits 7 until --allow-deletions confirms them.
#[derive(Debug, clap::Args)]
pub struct CommitArgs {
    /// The first line of the commit message.
    #[arg(short, long, value_name = "MSG")]
    message: Option<String>,
    /// Record the deletions in HOME even when the deletion guard holds them.
    #[arg(long)]
    allow_deletions: bool,
}

/// Exit code when the deletion guard held deletions back (nothing of them recorded).
pub(super) const DELETIONS_HELD: u8 = 7;

pub fn cmd_commit(ui: &Ui, args: CommitArgs) -> Result<(), CliError> {
    let mut s = super::writer(ui)?;
    let opts = CommitOptions { message: args.message, allow_deletions: args.allow_deletions, ..Default::default() };
    let recorded = dotback::capture::commit(&mut s, &opts, ui).map_err(|e| commit_error(ui, e))?;
    let max = s.ctx.max_deletions;
    s.finish()?;
    match &recorded.commit {
        Some(id) => {
            let deleted = recorded.captured.deleted.len();
            let deleted = if deleted > 0 { format!(", {deleted} deleted in HOME") } else { String::new() };
            ui.info(format!(
                "Committed {} ({} file{} changed in the store, {} captured from HOME{deleted}).",
                &id[..10],
                recorded.paths,
                super::add::plural(recorded.paths),
                recorded.captured.captured.len()
            ))
        }
        None if !recorded.captured.held_deletions.is_empty() => {}
        None if !recorded.captured.refused.is_empty() => ui.info("Nothing was committed."),
        None => ui.info("Nothing to commit: the store matches HOME and its last commit."),
    }
    captured_news(ui, &recorded.captured, false);
    let uncaptured = refused(ui, &recorded.captured);
    match held_deletions(&recorded.captured, max, "commit") {
        Some(held) => {
            if let Err(e) = uncaptured {
                ui.warn(&e.message);
            }
            Err(held)
        }
        None => uncaptured,
    }
}

/// The error for deletions the guard held back: how many, the first few, and both ways on.
pub(super) fn held_deletions(captured: &CaptureReport, max: usize, command: &str) -> Option<CliError> {
    let held = &captured.held_deletions;
    if held.is_empty() {
        return None;
    }
    const SHOWN: usize = 5;
    let mut names: Vec<String> = held.iter().take(SHOWN).map(|t| format!("~/{t}")).collect();
    if held.len() > SHOWN {
        names.push(format!("and {} more", held.len() - SHOWN));
    }
    Some(
        CliError::new(format!(
            "{} path{} deleted in HOME ({}): more than one run records without asking (`max_deletions` = {max} files, or half of the tracked files), so none of the deletions was recorded",
            held.len(),
            if held.len() == 1 { " was" } else { "s were" },
            names.join(", ")
        ))
        .hint(format!("if you meant to delete them, `dotback {command} --allow-deletions` records the deletions"))
        .hint("if not (a disk that is not mounted, an `rm` by mistake), `dotback apply` restores them; other devices keep them meanwhile, and a deleted file stays in the store's history")
        .code(DELETIONS_HELD),
    )
}

/// What capture did beyond copying: files that became secret, and merges (`applied`: the merge
/// is in HOME already).
pub(super) fn captured_news(ui: &Ui, captured: &CaptureReport, applied: bool) {
    for (path, why) in &captured.now_secret {
        ui.info(format!("~/{path} now holds a secret ({why}); it is stored encrypted from now on."));
    }
    for path in &captured.merged {
        let next = if applied { "" } else { "; `dotback apply` writes the merge to HOME" };
        ui.info(format!("~/{path} changed here and in the store: both changes were merged{next}."));
    }
}

/// A failed commit as the user sees it (the guard's findings are listed first).
pub(super) fn commit_error(ui: &Ui, e: CommitError) -> CliError {
    match e {
        CommitError::Capture(e) => e.into(),
        CommitError::Eval(e) => e.into(),
        CommitError::Store(e) => e.into(),
        CommitError::State(e) => e.into(),
        CommitError::ApplyAll(e) => e.into(),
        CommitError::Apply { .. } => {
            CliError::from_error(&e).hint("the merge is in the store's last commit; `dotback apply` writes it to HOME")
        }
        CommitError::PlaintextSecret { ref found } => {
            for v in found {
                ui.warn(format!("{}: {}", v.path, v.why));
            }
            CliError::from_error(&e).hint(super::guard::UNSTAGE_HINT)
        }
    }
}

/// Reports paths changed in HOME that could not be captured; an error when there are any.
pub(super) fn refused(ui: &Ui, captured: &CaptureReport) -> Result<(), CliError> {
    if captured.refused.is_empty() {
        return Ok(());
    }
    for (path, why) in &captured.refused {
        ui.warn(format!("~/{path} was not captured: {why}"));
    }
    Err(CliError::new(format!(
        "{} path{} changed in HOME could not be captured",
        captured.refused.len(),
        super::add::plural(captured.refused.len())
    ))
    .hint("the rest was committed; settle the paths above, then run `dotback commit` again"))
}
