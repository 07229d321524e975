use super::{CliError, Ui};
use dotback::context::Context;
use dotback::paths::Paths;
use dotback::state::Lock;
use dotback::store::Store;
use serde::Serialize;

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
}

#[derive(Serialize)]
struct RemoteJson {
    name: String,
    url: String,
}

pub fn cmd_remote(ui: &Ui, args: RemoteArgs) -> Result<(), CliError> {
    let ctx = Context::load(Paths::from_process_env()?)?;
    let store = Store::open(&ctx.store)?;
    match args.command {
        RemoteCommand::List { json } => {
            let list: Vec<RemoteJson> = store
                .remotes()?
                .into_iter()
                .map(|(name, url)| RemoteJson { name, url: dotback::transport::redact(&url) })
                .collect();
            if json {
                ui.json(&list);
            } else if list.is_empty() {
                ui.out("No remotes yet: `dotback remote add NAME URL`.");
            } else {
                for r in &list {
                    ui.out(format!("{:<16} {}", r.name, dotback::transport::redact(&r.url)));
                }
            }
            Ok(())
        }
        RemoteCommand::Add { name, url } => {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
                return Err(CliError::new(format!("remote name `{name}` is not allowed"))
                    .hint("use letters, digits, `-`, `_` and `.` only")
                    .code(2));
            }
            if url.trim().is_empty() {
                return Err(CliError::new("the remote's URL is empty").code(2));
            }
            if dotback::transport::has_password(&url) {
                // It would sit in plaintext in the store's .git/config.
                return Err(CliError::new(format!(
                    "the URL {} carries a password, which git would keep in plaintext in the store's .git/config",
                    dotback::transport::redact(&url)
                ))
                .hint("add the URL without the password and let a git credential helper keep it (`git config --global credential.helper store` or your desktop's keyring helper)")
                .code(2));
            }
            let _lock = Lock::acquire(&ctx.paths.state_dir, dotback::session::LOCK_WAIT)?;
            if store.remotes()?.iter().any(|(n, _)| *n == name) {
                return Err(CliError::new(format!("there is already a remote named `{name}`"))
                    .hint("`dotback remote list` shows it; remove it first to change its URL"));
            }
            store.add_remote(&name, &url)?;
            ui.info(format!("Added remote `{name}` ({url})."));
            Ok(())
        }
        RemoteCommand::Remove { name } => {
            let _lock = Lock::acquire(&ctx.paths.state_dir, dotback::session::LOCK_WAIT)?;
            if !store.remotes()?.iter().any(|(n, _)| *n == name) {
                return Err(CliError::new(format!("there is no remote named `{name}`"))
                    .hint("`dotback remote list` shows the remotes"));
            }
            store.remove_remote(&name)?;
            ui.info(format!("Removed remote `{name}`; the repository it points to is untouched."));
            Ok(())
        }
    }
}
