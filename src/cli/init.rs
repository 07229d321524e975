use super::{CliError, Ui};
use crate::init::InitError;
use crate::paths::Paths;
use std::path::PathBuf;

/// Create the store (or adopt an existing chezmoi source directory) and set up this device.
///
/// The store defaults to chezmoi's source directory (`chezmoi source-path` when chezmoi is
/// installed, else ~/.local/share/chezmoi). Running it again is harmless.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Use DIR as the store.
    #[arg(long, value_name = "DIR")]
    source: Option<PathBuf>,
    /// This device's name (default: the host name).
    #[arg(long, value_name = "NAME")]
    device: Option<String>,
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
    let r = crate::init::init(&paths, source.as_deref(), args.device.as_deref()).map_err(|e| match e {
        InitError::Config(c) => c.into(),
        InitError::Store(s) => s.into(),
        InitError::OtherStore { .. } => CliError::from_error(&e)
            .hint("edit `source` in the device config to switch stores, or drop --source")
            .code(3),
        other => CliError::from_error(&other).hint("choose another directory with --source"),
    })?;
    let what = if r.created_repository { "Created the store" } else { "Using the store" };
    ui.info(format!("{what} at {}.", r.store.display()));
    ui.info(format!("This device is `{}` (config: {}).", r.device, r.config.display()));
    if !r.created_repository && !r.wrote_manifest && !r.wrote_config {
        ui.info("Already set up; nothing changed.");
    } else {
        ui.info("Next: `dotback add ~/.zshrc` (or any file), then `dotback commit`.");
    }
    Ok(())
}
