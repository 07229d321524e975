use super::{CliError, Ui};
use dotback::events::{Event, Sink};
use dotback::watch::{self, WatchError, WatchOptions};

/// Sync in real time: commit and push every save in HOME within a second, and apply what other
/// devices push, until stopped (Ctrl-C or SIGTERM finish the commit in flight first).
///
/// Watches what the store tracks (a new file in a tracked directory is added), commits each
/// burst of saves as one commit and pushes it; asks the remotes every `pull_interval` (device
/// config, 30 s by default) whether they moved, and syncs when they did. One line per action
/// on standard error; `dotback service install` runs it as a user service.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {}

/// The watcher's lines, each with the time it happened.
struct Log<'a>(&'a Ui);

impl Sink for Log<'_> {
    fn event(&self, event: Event<'_>) {
        let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
        let stamp = now.format(time::macros::format_description!("[hour]:[minute]:[second]")).unwrap_or_default();
        match event {
            Event::News(line) => self.0.info(format!("{stamp} {line}")),
            Event::Warning(line) => self.0.warn(format!("{stamp} {line}")),
            _ => {}
        }
    }
}

pub fn cmd_watch(ui: &Ui, _args: WatchArgs) -> Result<(), CliError> {
    let ctx = super::context()?;
    let stop = super::stop_on_signals();
    watch::run(&ctx, &WatchOptions::default(), stop, &Log(ui)).map_err(|e| match e {
        e @ WatchError::AlreadyRunning { .. } => CliError::from_error(&e).code(4),
        WatchError::Session(e) => e.into(),
        e => CliError::from_error(&e),
    })
}
