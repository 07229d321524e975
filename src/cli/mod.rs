//! The command line: clap definitions (one file per command), the `Ui` that does all printing,
//! and the mapping of library errors to messages, hints and exit codes.

mod add;
mod apply;
mod commit;
mod completions;
mod diff;
mod error;
mod forget;
mod guard;
mod hooks;
mod init;
mod keys;
mod passphrase;
mod push;
mod recover;
mod remote;
mod resolve;
mod status;
mod sync;
mod ui;

pub use error::CliError;
pub use ui::Ui;

use clap::{Parser, Subcommand};
pub(crate) use dotback::context::Context;
use dotback::managed::{self, SourceState};
use dotback::paths::Paths;
use dotback::state::{Cache, Lock};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Keep dotfiles, secrets and package lists versioned and in sync across machines.
///
/// The store is a git repository laid out as a chezmoi source directory, so chezmoi and
/// dotback read and write the same store.
#[derive(Debug, Parser)]
#[command(name = "dotback", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Init(init::InitArgs),
    Add(add::AddArgs),
    Forget(forget::ForgetArgs),
    Status(status::StatusArgs),
    Diff(diff::DiffArgs),
    Apply(apply::ApplyArgs),
    Commit(commit::CommitArgs),
    Resolve(resolve::ResolveArgs),
    Sync(sync::SyncArgs),
    Push(push::PushArgs),
    Keys(keys::KeysArgs),
    Remote(remote::RemoteArgs),
    Hooks(hooks::HooksArgs),
    Guard(guard::GuardArgs),
    Recover(recover::RecoverArgs),
    Completions(completions::CompletionsArgs),
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    dotback::fsutil::umask(); // read before any thread starts
    // Die quietly on a closed pipe (`dotback status | head`), as command-line tools do.
    // SAFETY: restoring the default disposition of a signal has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let ui = Ui::new();
    match run(&ui, cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ui.error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(ui: &Ui, cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Init(args) => init::cmd_init(ui, args),
        Command::Add(args) => add::cmd_add(ui, args),
        Command::Forget(args) => forget::cmd_forget(ui, args),
        Command::Status(args) => status::cmd_status(ui, args),
        Command::Diff(args) => diff::cmd_diff(ui, args),
        Command::Apply(args) => apply::cmd_apply(ui, args),
        Command::Commit(args) => commit::cmd_commit(ui, args),
        Command::Resolve(args) => resolve::cmd_resolve(ui, args),
        Command::Sync(args) => sync::cmd_sync(ui, args),
        Command::Push(args) => push::cmd_push(ui, args),
        Command::Keys(args) => keys::cmd_keys(ui, args),
        Command::Remote(args) => remote::cmd_remote(ui, args),
        Command::Hooks(args) => hooks::cmd_hooks(ui, args),
        Command::Guard(args) => guard::cmd_guard(ui, args),
        Command::Recover(args) => recover::cmd_recover(ui, args),
        Command::Completions(args) => completions::cmd_completions(args),
    }
}

/// The trust this device gives the store's control files; identities are loaded only when a
/// change has to be verified or sealed.
pub(super) fn evaluate_trust(
    ctx: &Context,
    store: &dotback::store::Store,
    writer: bool,
) -> Result<dotback::trust::Trust, CliError> {
    let ids = || dotback::vault::load_identities(ctx, ctx.identity).map_err(|e| dotback::vault::describe(&e));
    Ok(dotback::trust::evaluate(ctx, store, &ids, writer)?)
}

/// How long a command waits for another dotback process to release the store.
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// What most commands start from: the device context, the scanned store and the stat cache.
struct Session {
    ctx: Context,
    /// The recipients and rules this device uses (the store's control files, authenticated).
    trust: dotback::trust::Trust,
    /// Which files are secret (from the trusted manifest).
    rules: dotback::secrets::SecretRules,
    state: SourceState,
    cache: Cache,
    /// Marks a writer as at work (declared before `lock`: it must go while the lock is held).
    _inflight: Option<dotback::recover::InFlight>,
    /// Held by commands that change the store or HOME (and by readers when free, so they can
    /// save what they learnt into the cache).
    lock: Option<Lock>,
}

impl Session {
    /// Opens the store for a command that changes things (waits for the lock).
    fn writer() -> Result<Session, CliError> {
        let ctx = Context::load(Paths::from_process_env()?)?;
        let lock = Lock::acquire(&ctx.paths.state_dir, LOCK_WAIT)?;
        let places =
            dotback::recover::Places { state_dir: &ctx.paths.state_dir, store: &ctx.store, home: &ctx.paths.home };
        let (inflight, notes) = dotback::recover::begin(&places, &lock)?;
        let ui = Ui::new();
        for note in notes {
            ui.warn(note);
        }
        let mut s = Session::open(ctx, Some(lock), true)?;
        s._inflight = Some(inflight);
        Ok(s)
    }

    /// Opens the store for a command that only reads.
    fn reader() -> Result<Session, CliError> {
        Session::reader_for(Context::load(Paths::from_process_env()?)?)
    }

    fn reader_for(ctx: Context) -> Result<Session, CliError> {
        let lock = Lock::acquire(&ctx.paths.state_dir, Duration::ZERO).ok();
        Session::open(ctx, lock, false)
    }

    fn open(ctx: Context, lock: Option<Lock>, writer: bool) -> Result<Session, CliError> {
        let store = dotback::store::Store::open(&ctx.store)?;
        if writer && let Some(what) = store.unfinished() {
            return Err(CliError::new(format!("in the store {}, {what}", ctx.store.display())).hint(format!(
                "finish or abort it with git first (`git -C {} status` says how), then run dotback again",
                ctx.store.display()
            )));
        }
        let trust = evaluate_trust(&ctx, &store, writer)?;
        drop(store);
        let rules = trust.secret_rules();
        // Loading the cache and scanning the store are independent: do both at once.
        let (state, cache) = std::thread::scope(|s| {
            let cache = s.spawn(|| Cache::load(&ctx.paths.state_dir));
            (managed::scan(&ctx.store, &trust.manifest.only), cache.join().expect("cache loading panicked"))
        });
        // The scan first: it names any link in the store, the manifest's place included.
        let state = state?;
        Ok(Session { ctx, trust, rules, state, cache, _inflight: None, lock })
    }

    /// Decides again which control files this device uses (after a merge changed them).
    fn refresh_trust(&mut self) -> Result<(), CliError> {
        let store = dotback::store::Store::open(&self.ctx.store)?;
        self.trust = evaluate_trust(&self.ctx, &store, self.lock.is_some())?;
        self.rules = self.trust.secret_rules();
        self.state = managed::scan(&self.ctx.store, &self.trust.manifest.only)?;
        Ok(())
    }

    /// Targets named on the command line.
    fn targets(&self, paths: &[PathBuf]) -> Result<Vec<String>, CliError> {
        paths.iter().map(|p| self.ctx.target_of(p).map_err(CliError::from)).collect()
    }

    /// Saves the cache when this process holds the lock.
    fn finish(mut self) -> Result<(), CliError> {
        if self.lock.is_some() {
            self.cache.save()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
