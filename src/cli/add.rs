use super::{CliError, Session, Ui};
use crate::capture::{self, AddOptions};
use std::path::PathBuf;

/// Track files, directories and symlinks from HOME.
///
/// Modes become chezmoi attributes (private_, readonly_, executable_, empty_, symlink_).
/// Nothing is committed yet: `dotback commit` does that.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Paths in HOME.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Mark added directories exact: apply removes files the store does not list.
    #[arg(long)]
    exact: bool,
}

pub fn cmd_add(ui: &Ui, args: AddArgs) -> Result<(), CliError> {
    let mut s = Session::writer()?;
    let targets = s.targets(&args.paths)?;
    let r = capture::add(&s.ctx, &s.state, &mut s.cache, &targets, AddOptions { exact: args.exact })?;
    for (path, why) in &r.skipped {
        ui.warn(format!("skipped ~/{path}: {why}"));
    }
    for note in &r.mode_notes {
        ui.warn(note);
    }
    ui.info(format!(
        "Added {} path{} to the store; `dotback commit` records them.",
        r.added.len(),
        plural(r.added.len())
    ));
    s.finish()
}

pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
