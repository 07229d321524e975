use super::{CliError, Ui};
use crate::context::Context;
use crate::paths::Paths;
use crate::store::Store;
use std::path::PathBuf;

/// Refuse plaintext secrets in what is staged for commit (run by the store's pre-commit hook).
#[derive(Debug, clap::Args)]
pub struct GuardArgs {
    /// Check the files staged in the store's index (the only mode; named for clarity in hooks).
    #[arg(long, required = true)]
    staged: bool,
    /// The store to check (default: this device's store).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

pub fn cmd_guard(ui: &Ui, args: GuardArgs) -> Result<(), CliError> {
    let paths = Paths::from_process_env()?;
    let root = match args.store {
        Some(s) => s,
        None => Context::load(paths.clone())?.store,
    };
    let store = Store::open(&root)?;
    let manifest = crate::config::Manifest::load(&root)?;
    let rules = crate::secrets::SecretRules::with_manifest(&manifest.secrets)
        .expect("the manifest's secret rules were checked when it was read");
    check(ui, &store, &rules)
}

/// Fails when anything staged in `store` is a plaintext secret.
pub fn check(ui: &Ui, store: &Store, rules: &crate::secrets::SecretRules) -> Result<(), CliError> {
    let found = crate::guard::check_staged(store, rules)?;
    if found.is_empty() {
        return Ok(());
    }
    for v in &found {
        ui.warn(format!("{}: {}", v.path, v.why));
    }
    Err(CliError::new(format!(
        "refusing to commit: {} staged file{} would put a secret into git in plaintext",
        found.len(),
        super::add::plural(found.len())
    ))
    .hint("unstage it (`git restore --staged PATH` in the store), delete the plaintext copy, and track the live file with `dotback add`, which encrypts it"))
}
