use super::{CliError, Ui};
use dotback::eval::{self, Selection};
use dotback::session::Session;
use dotback::store::Store;

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
    let recorded = record(ui, &mut s, args.message)?;
    s.finish()?;
    match recorded.commit {
        Some(id) => ui.info(format!(
            "Committed {} ({} path{}, {} captured from HOME).",
            &id.to_string()[..10],
            recorded.paths,
            super::add::plural(recorded.paths),
            recorded.captured.captured.len()
        )),
        None => ui.info("Nothing to commit: the store matches HOME and its last commit."),
    }
    refused(ui, &recorded.captured)
}

/// What [`record`] did.
pub(super) struct Recorded {
    pub commit: Option<git2::Oid>,
    pub paths: usize,
    pub captured: dotback::capture::CaptureReport,
    /// The store has changes HOME does not (an earlier run was interrupted before it applied
    /// them, or the store was changed directly): applying has something to do.
    pub home_behind: bool,
}

/// Captures what changed in HOME, checks nothing secret is staged in plaintext, and commits
/// everything in the store with a message naming the device and the paths.
pub(super) fn record(ui: &Ui, s: &mut Session, message: Option<String>) -> Result<Recorded, CliError> {
    let vault = dotback::vault::Vault::new(&s.ctx, &s.trust);
    let evals = eval::evaluate(&s.ctx, &s.state, &mut s.cache, &vault, &Selection::all())?;
    let captured = dotback::capture::capture(&s.ctx, &s.state, &mut s.cache, &vault, &evals)?;
    let home_behind = evals.iter().any(|e| matches!(e.change, eval::Change::ChangedInStore | eval::Change::Missing));
    drop(vault);
    let store = Store::open(&s.ctx.store)?;
    let changes = match &s.state.files {
        // Nothing captured: the store is as evaluated, which hashed every file in it, so git's
        // index is compared with that instead of walking the work tree again.
        Some(files) if captured.captured.is_empty() => {
            store.uncommitted_with(&store.snapshot()?, files, &s.cache.observed)?
        }
        _ => store.uncommitted()?,
    };
    let device = s.ctx.device.clone();
    let subject = message.unwrap_or_else(|| {
        let names: Vec<String> = changes.iter().take(3).map(|u| display_path(&u.path)).collect();
        let more = changes.len().saturating_sub(3);
        let tail = if more > 0 { format!(" (+{more} more)") } else { String::new() };
        format!("{device}: update {}{tail}", names.join(", "))
    });
    let mut message = format!("{subject}\n\nDevice: {device}\n");
    if !changes.is_empty() {
        message.push('\n');
        for u in &changes {
            message.push_str(&format!("{}: {}\n", u.change, display_path(&u.path)));
        }
    }
    if changes.is_empty() {
        // Nothing to stage or commit (the audit trail waits for a commit with something in it),
        // and no need for the two walks of the work tree staging would take.
        return Ok(Recorded { commit: None, paths: 0, captured, home_behind });
    }
    store.stage_all()?;
    super::guard::check(ui, &store, s.rules())?;
    let commit = store.commit_staged(&device, &message)?;
    // The bases capture recorded describe the commit now made: save them before anything else
    // changes the store, so a run killed later does not see HOME and the store both changed.
    s.cache.save()?;
    Ok(Recorded { commit, paths: changes.len(), captured, home_behind })
}

/// Reports paths changed in HOME that could not be captured; an error when there are any.
pub(super) fn refused(ui: &Ui, captured: &dotback::capture::CaptureReport) -> Result<(), CliError> {
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

/// A store path shown with its target: `dot_zshrc (~/.zshrc)`.
fn display_path(source: &str) -> String {
    match dotback::managed::target_of_source(source) {
        Some(t) => format!("~/{t}"),
        None => source.to_string(),
    }
}
