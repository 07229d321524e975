use super::{CliError, Ui};
use std::path::PathBuf;

/// Stop tracking paths. The live files in this HOME are left untouched; other devices remove
/// their copies on sync where unchanged (after a backup), as for a file deleted here.
#[derive(Debug, clap::Args)]
pub struct ForgetArgs {
    /// Paths in HOME.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub fn cmd_forget(ui: &Ui, args: ForgetArgs) -> Result<(), CliError> {
    let mut s = super::writer(ui)?;
    let targets = s.targets(&args.paths)?;
    let gone = dotback::capture::forget(&s.ctx, &s.state, &mut s.cache, &targets)?;
    ui.info(format!(
        "No longer tracking {} path{}; the live files here stay (other devices remove their unchanged copies on sync). `dotback commit` records this.",
        gone.len(),
        super::add::plural(gone.len())
    ));
    Ok(s.finish()?)
}
