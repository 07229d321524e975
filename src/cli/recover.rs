use super::{CliError, Context, Ui};
use dotback::paths::Paths;
use dotback::recover::{self, Places};
use dotback::session::LOCK_WAIT;
use dotback::state::Lock;

/// Finish, or give up, what a dotback process left half done when it was stopped or failed.
///
/// Every command that changes things does this first on its own. Run it when one of them says
/// an interrupted update of the store cannot be finished.
#[derive(Debug, clap::Args)]
pub struct RecoverArgs {
    /// Give up an interrupted update of the store instead of finishing it: its files go back to
    /// the store's last commit, and any of them changed since is saved as a backup first.
    #[arg(long)]
    abandon: bool,
}

pub fn cmd_recover(ui: &Ui, args: RecoverArgs) -> Result<(), CliError> {
    let ctx = Context::load(Paths::from_process_env()?)?;
    let lock = Lock::acquire(&ctx.paths.state_dir, LOCK_WAIT)?;
    let places = Places { state_dir: &ctx.paths.state_dir, store: &ctx.store, home: &ctx.paths.home };
    let (_inflight, notes) =
        if args.abandon { recover::begin_abandoning(&places, &lock)? } else { recover::begin(&places, &lock)? };
    if notes.is_empty() {
        ui.info("Nothing to recover: no dotback process left anything half done.");
    }
    for note in notes {
        ui.info(note);
    }
    Ok(())
}
