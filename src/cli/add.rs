use super::{CliError, Ui};
use dotback::capture::{self, AddOptions};
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
    /// Encrypt the added files even when they do not look secret.
    #[arg(long)]
    encrypt: bool,
}

pub fn cmd_add(ui: &Ui, args: AddArgs) -> Result<(), CliError> {
    let mut s = super::writer(ui)?;
    let targets = s.targets(&args.paths)?;
    let opts = AddOptions { exact: args.exact, encrypt: args.encrypt };
    let p = s.parts();
    let r = capture::add(p.ctx, p.state, p.cache, p.vault, &targets, opts, ui)?;
    for (path, why) in &r.skipped {
        ui.warn(format!("skipped ~/{path}: {why}"));
    }
    for note in &r.mode_notes {
        ui.warn(note);
    }
    for t in &r.encrypted {
        ui.info(format!("Encrypted ~/{t} (secret) to every recipient."));
    }

    ui.info(format!("Added {} to the store; `dotback commit` records them.", tally(&r.tally)));
    Ok(s.finish()?)
}

pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "8 files, 1 symlink and 3 directories", leaving out the kinds there are none of.
pub(super) fn tally(t: &dotback::state::Tally) -> String {
    let parts: Vec<String> =
        [(t.files, "file", "files"), (t.symlinks, "symlink", "symlinks"), (t.dirs, "directory", "directories")]
            .into_iter()
            .filter(|(n, ..)| *n > 0)
            .map(|(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
            .collect();
    match parts.as_slice() {
        [] => "nothing".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
