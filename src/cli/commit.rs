use super::{CliError, Ui};
use dotback::capture::{CaptureReport, CommitError};

/// Capture files changed in HOME into the store and commit everything in the store.
///
/// The commit message names this device and the changed paths.
#[derive(Debug, clap::Args)]
pub struct CommitArgs {
    /// The first line of the commit message.
    #[arg(short, long, value_name = "MSG")]
    message: Option<String>,
}

pub fn cmd_commit(ui: &Ui, args: CommitArgs) -> Result<(), CliError> {
    let mut s = super::writer(ui)?;
    let recorded = dotback::capture::commit(&mut s, args.message, ui).map_err(|e| commit_error(ui, e))?;
    s.finish()?;
    match &recorded.commit {
        Some(id) => ui.info(format!(
            "Committed {} ({} file{} changed in the store, {} captured from HOME).",
            &id[..10],
            recorded.paths,
            super::add::plural(recorded.paths),
            recorded.captured.captured.len()
        )),
        None if !recorded.captured.refused.is_empty() => ui.info("Nothing was committed."),
        None => ui.info("Nothing to commit: the store matches HOME and its last commit."),
    }
    captured_news(ui, &recorded.captured, false);
    refused(ui, &recorded.captured)
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
