use super::{CliError, Ui};
use dotback::context::Context;
use dotback::paths::Paths;
use dotback::store::Store;
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
    let ctx = Context::load(Paths::from_process_env()?);
    let (root, rules) = match (args.store, ctx) {
        // This device's store: the rules this device trusts, not whatever the store says now.
        (None, ctx) => {
            let ctx = ctx?;
            (ctx.store.clone(), trusted_rules(&ctx)?)
        }
        (Some(root), Ok(ctx)) if same_dir(&root, &ctx.store) => (root, trusted_rules(&ctx)?),
        (Some(root), _) => {
            let rules = dotback::trust::Trust::as_is(&root)?.secret_rules();
            (root, rules)
        }
    };
    check(ui, &Store::open(&root)?, &rules)
}

fn trusted_rules(ctx: &Context) -> Result<dotback::secrets::SecretRules, CliError> {
    let store = Store::open(&ctx.store)?;
    let ids = || Err("not needed to read the rules".to_string());
    Ok(dotback::trust::evaluate(ctx, &store, &ids, false)?.secret_rules())
}

fn same_dir(a: &std::path::Path, b: &std::path::Path) -> bool {
    a == b || a.canonicalize().ok().is_some_and(|a| b.canonicalize().ok().as_ref() == Some(&a))
}

/// Fails when anything staged in `store` is a plaintext secret.
pub fn check(ui: &Ui, store: &Store, rules: &dotback::secrets::SecretRules) -> Result<(), CliError> {
    let found = dotback::guard::check_staged(store, rules)?;
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
    .hint(UNSTAGE_HINT))
}

pub(super) const UNSTAGE_HINT: &str = "unstage it (`git restore --staged PATH` in the store), delete the plaintext copy, and track the live file with `dotback add`, which encrypts it";
