use super::sync::{OFFLINE, chosen_remotes, refusal};
use super::{CliError, Session, Ui};
use crate::store::Store;
use crate::transport::TransportError;
use std::time::Duration;

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

/// Waits between attempts of `--retry`.
const BACKOFF: [u64; 3] = [5, 30, 120];

pub fn cmd_push(ui: &Ui, args: PushArgs) -> Result<(), CliError> {
    let mut pending: Option<Vec<String>> = None;
    let mut waits = BACKOFF.iter();
    loop {
        // Another dotback at work (a sync, the watcher) is one more reason to wait and retry.
        let s = match Session::writer() {
            Err(e) if args.retry && e.code == 4 && waits.len() > 0 => {
                let secs = waits.next().expect("checked that a wait is left");
                ui.warn(format!("another dotback process holds the store; trying again in {secs} s"));
                std::thread::sleep(Duration::from_secs(*secs));
                continue;
            }
            other => other?,
        };
        let remotes = match pending.take() {
            Some(r) => r,
            None => chosen_remotes(&s, args.remote.as_deref())?,
        };
        let store = Store::open(&s.ctx.store)?;
        let mut unreachable: Vec<(String, String)> = Vec::new();
        let mut refused: Vec<(String, TransportError)> = Vec::new();
        let mut pushed = 0;
        let head = store.head_commit()?;
        for name in &remotes {
            match store.push(name) {
                Ok(()) => {
                    if let Some(head) = head {
                        store.set_seen(name, head)?;
                    }
                    pushed += 1;
                }
                Err(e @ (TransportError::Unreachable { .. } | TransportError::NoPath { .. })) => {
                    unreachable.push((name.clone(), e.to_string()))
                }
                Err(e) => refused.push((name.clone(), e)),
            }
        }
        s.finish()?;
        if pushed > 0 {
            ui.info(format!("Pushed to {pushed} remote{}.", super::add::plural(pushed)));
        }
        if let Some((name, why)) = refused.first() {
            for (other, e) in refused.iter().skip(1) {
                ui.warn(format!("remote `{other}`: {e}"));
            }
            return Err(refusal(name, why));
        }
        if unreachable.is_empty() {
            return Ok(());
        }
        match waits.next() {
            Some(secs) if args.retry => {
                let names: Vec<&str> = unreachable.iter().map(|(n, _)| n.as_str()).collect();
                ui.warn(format!("could not reach {}; trying again in {secs} s", names.join(", ")));
                std::thread::sleep(Duration::from_secs(*secs));
                pending = Some(unreachable.into_iter().map(|(n, _)| n).collect());
            }
            _ => {
                let list: Vec<String> = unreachable.iter().map(|(n, w)| format!("{n} ({w})")).collect();
                return Err(CliError::new(format!("could not reach {}; the commits stay here", list.join(", ")))
                    .hint("`dotback status` shows what is not pushed yet; the next `dotback sync` or `dotback push` sends it")
                    .code(OFFLINE));
            }
        }
    }
}
