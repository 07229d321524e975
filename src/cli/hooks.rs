use super::{CliError, Ui};
use dotback::context::Context;
use dotback::paths::Paths;
use dotback::store::Store;

/// Manage the git hooks dotback installs into the store.
#[derive(Debug, clap::Args)]
pub struct HooksArgs {
    #[command(subcommand)]
    command: HooksCommand,
}

#[derive(Debug, clap::Subcommand)]
enum HooksCommand {
    /// Install the hooks: pre-commit refuses plaintext secrets, also for plain `git commit`;
    /// post-commit pushes a commit made with git in the background; post-merge applies what a
    /// `git pull` brought.
    Install {
        /// Replace hooks dotback did not write (they are kept as NAME.before-dotback).
        #[arg(long)]
        force: bool,
    },
}

pub fn cmd_hooks(ui: &Ui, args: HooksArgs) -> Result<(), CliError> {
    let HooksCommand::Install { force } = args.command;
    let ctx = Context::load(Paths::from_process_env()?)?;
    let store = Store::open(&ctx.store)?;
    let exe = std::env::current_exe().map_err(|e| CliError::new(format!("cannot find dotback's own path: {e}")))?;
    let written = dotback::hooks::install(store.repo.path(), &exe, force).map_err(|e| {
        let err = CliError::from_error(&e);
        match e {
            dotback::hooks::HookError::Foreign { .. } => {
                err.hint("merge it by hand, or run `dotback hooks install --force` (your hook is kept beside it)")
            }
            _ => err,
        }
    })?;
    for p in written {
        ui.info(format!("Installed {}.", p.display()));
    }
    Ok(())
}
