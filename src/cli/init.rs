use super::{CliError, Ui};
use dotback::config::IdentityStorage;
use dotback::init::InitError;
use dotback::paths::Paths;
use std::path::PathBuf;

/// Create the store (or adopt an existing chezmoi source directory) and set up this device.
///
/// The store defaults to chezmoi's source directory (`chezmoi source-path` when chezmoi is
/// installed, else ~/.local/share/chezmoi). Running it again is harmless; it keeps the device's
/// name (a different --device is refused).
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Use DIR as the store.
    #[arg(long, value_name = "DIR")]
    source: Option<PathBuf>,
    /// This device's name (default: the host name).
    #[arg(long, value_name = "NAME")]
    device: Option<String>,
    /// Where this device keeps its age identity: a 0600 file, or the OS keyring.
    #[arg(long, value_name = "WHERE")]
    identity: Option<IdentityChoice>,
    /// Read the recovery passphrase (for a new store) from FILE instead of the terminal.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum IdentityChoice {
    File,
    Keyring,
}

pub fn cmd_init(ui: &Ui, args: InitArgs) -> Result<(), CliError> {
    let paths = Paths::from_process_env()?;
    let source = args.source.map(|s| std::path::absolute(&s).unwrap_or(s));
    if let Some(d) = &args.device
        && (d.is_empty() || !d.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(CliError::new(format!("device name `{d}` is not allowed"))
            .hint("use letters, digits, `-`, `_` and `.` only")
            .code(2));
    }
    let identity = args.identity.map(|c| match c {
        IdentityChoice::File => IdentityStorage::File,
        IdentityChoice::Keyring => IdentityStorage::Keyring,
    });
    let pass_file = args.passphrase_file.clone();
    let r = dotback::init::init(&paths, source.as_deref(), args.device.as_deref(), identity, || {
        ui.info("This store needs a recovery passphrase: with it and the remote alone, a new machine can decrypt every secret. Keep it somewhere safe.");
        super::passphrase::read(pass_file.as_deref(), "Recovery passphrase", true)
    })
    .map_err(init_error)?;
    let what = if r.created_repository { "Created the store" } else { "Using the store" };
    ui.info(format!("{what} at {}.", r.store.display()));
    ui.info(format!("This device is `{}` (config: {}).", r.device, r.config.display()));
    if r.created_identity {
        ui.info(format!("Created this device's identity (public key {}).", r.recipient));
    }
    if r.created_recipients {
        ui.info("Created the store's recipients and its passphrase-sealed recovery key.");
    }
    if !r.is_recipient {
        ui.warn(format!("this device cannot decrypt the store's secrets yet. On a device that can, run:\n    dotback keys add-device {} {}\nor here, with the recovery passphrase: dotback keys unlock --recovery", r.device, r.recipient));
    }
    if !r.created_repository && !r.wrote_manifest && !r.wrote_config && !r.created_identity && !r.created_recipients {
        ui.info("Already set up; nothing changed.");
    } else {
        ui.info("Next: `dotback add ~/.zshrc` (or any file), then `dotback commit`.");
    }
    Ok(())
}

pub(super) fn init_error(e: InitError) -> CliError {
    match e {
        InitError::Config(c) => c.into(),
        InitError::Store(s) => s.into(),
        InitError::Context(c) => c.into(),
        InitError::OtherStore { .. } => CliError::from_error(&e)
            .hint("edit `source` in the device config to switch stores, or drop --source")
            .code(3),
        InitError::OtherDevice { ref existing, .. } => CliError::from_error(&e)
            .hint(format!(
                "drop --device (or pass `--device {existing}`); the store's recipients, history and conflict copies know this device as `{existing}`"
            ))
            .hint("nothing was changed")
            .code(3),
        InitError::NotAWorkTree { ref path, .. } => {
            let hint = format!(
                "clone it to a work tree and use that: `git clone {} DIR`, then `dotback init --source DIR`",
                path.display()
            );
            CliError::from_error(&e).hint(hint).hint("nothing was written to it").code(2)
        }
        InitError::Passphrase(_) => CliError::from_error(&e)
            .hint("pass it on standard input or with --passphrase-file FILE; it is never read from the command line"),
        InitError::Vault(dotback::vault::VaultError::Keyring(_)) => {
            CliError::from_error(&e).hint("or run `dotback init --identity file` to keep the identity in a 0600 file")
        }
        InitError::NotADirectory { .. } => CliError::from_error(&e).hint("choose another directory with --source"),
        other => CliError::from_error(&other),
    }
}
