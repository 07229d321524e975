use super::{CliError, Ui};
use dotback::context::Context;
use dotback::paths::Paths;
use dotback::remote;

/// Manage the store's remotes (git remotes): a hosted repository, a bare one on a USB disk or NAS…
#[derive(Debug, clap::Args)]
pub struct RemoteArgs {
    #[command(subcommand)]
    command: RemoteCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RemoteCommand {
    /// Add a remote: a local path, file://, ssh://, user@host:path or https:// URL.
    Add {
        /// A short name (letters, digits, `-`, `_`, `.`).
        name: String,
        /// Where it is.
        url: String,
    },
    /// List the remotes.
    List {
        /// Print JSON (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Remove a remote (the repository it points to is not touched).
    Remove {
        /// The remote's name.
        name: String,
    },
    /// Accept a remote whose history was rewritten: show the commits it no longer has (this
    /// store keeps them, and the next sync merges and pushes them back) and go on from what it
    /// holds now.
    Accept {
        /// The remote's name.
        name: String,
        /// Print JSON (stable field names).
        #[arg(long)]
        json: bool,
    },
}

pub fn cmd_remote(ui: &Ui, args: RemoteArgs) -> Result<(), CliError> {
    let ctx = Context::load(Paths::from_process_env()?)?;
    match args.command {
        RemoteCommand::List { json } => {
            let list = remote::list(&ctx)?;
            if json {
                ui.json(&list);
            } else if list.is_empty() {
                ui.out("No remotes yet: `dotback remote add NAME URL`.");
            } else {
                for r in &list {
                    ui.out(format!("{:<16} {}", r.name, r.url));
                }
            }
        }
        RemoteCommand::Add { name, url } => {
            let added = remote::add(&ctx, &name, &url)?;
            ui.info(format!("Added remote `{}` ({}).", added.name, added.url));
        }
        RemoteCommand::Accept { name, json } => {
            let accepted = remote::accept(&ctx, &name)?;
            if json {
                ui.json(&accepted);
            } else if accepted.already {
                ui.info(format!("Remote `{name}` was not rewritten: `dotback sync` goes on with it as usual."));
            } else {
                ui.out(format!("Commits remote `{name}` no longer has (this store keeps them):"));
                for d in &accepted.dropped {
                    ui.out(format!("  {d}"));
                }
                ui.info(format!(
                    "Accepted remote `{name}` at {}; the next `dotback sync` merges it and pushes these commits back.",
                    &accepted.now[..10]
                ));
            }
        }
        RemoteCommand::Remove { name } => {
            remote::remove(&ctx, &name)?;
            ui.info(format!("Removed remote `{name}`; the repository it points to is untouched."));
        }
    }
    Ok(())
}
