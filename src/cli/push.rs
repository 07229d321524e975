use super::sync::{OFFLINE, refusal};
use super::{CliError, Ui};
use dotback::push::{self, PushError};

/// Push the store's commits to every remote, without capturing or merging.
///
/// The post-commit hook runs `dotback push --retry` in the background after a commit made
/// with plain git in the store. A remote that moved on refuses the push: `dotback sync`
/// merges first.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// Only this remote.
    #[arg(long, value_name = "NAME")]
    remote: Option<String>,
    /// Retry unreachable remotes after 5 s, 30 s and 2 min (without holding the store's lock
    /// meanwhile).
    #[arg(long)]
    retry: bool,
}

pub fn cmd_push(ui: &Ui, args: PushArgs) -> Result<(), CliError> {
    let waits: &[std::time::Duration] = if args.retry { &push::BACKOFF } else { &[] };
    let report = push::push_retrying(&super::context()?, args.remote.as_deref(), waits, ui).map_err(|e| match e {
        PushError::Sync(e) => super::sync::sync_error(ui, e),
        PushError::Session(e) => e.into(),
        PushError::Store(e) => e.into(),
        PushError::State(e) => e.into(),
    })?;
    let pushed = report.pushed.len();
    if pushed > 0 {
        ui.info(format!("Pushed to {pushed} remote{}.", super::add::plural(pushed)));
    }
    if let Some((name, why)) = report.refused.first() {
        for (other, e) in report.refused.iter().skip(1) {
            ui.warn(format!("remote `{other}`: {e}"));
        }
        return Err(refusal(name, why));
    }
    if report.unreachable.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = report.unreachable.iter().map(|(n, w)| format!("{n} ({w})")).collect();
    Err(CliError::new(format!("could not reach {}; the commits stay here", list.join(", ")))
        .hint("`dotback status` shows what is not pushed yet; the next `dotback sync` or `dotback push` sends it")
        .code(OFFLINE))
}
