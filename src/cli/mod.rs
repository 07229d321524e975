//! The command line: clap definitions (one file per command), the `Ui` that does all printing,
//! and the mapping of library errors to messages, hints and exit codes.

mod add;
mod apply;
mod archive;
mod bootstrap;
mod check;
mod commit;
mod completions;
mod diff;
mod drill;
mod error;
mod forget;
mod guard;
mod hooks;
mod init;
mod keys;
mod log;
mod packages;
mod passphrase;
mod push;
mod recover;
mod remote;
mod resolve;
mod restore;
mod service;
mod status;
mod sync;
mod ui;
mod watch;

pub use error::CliError;
pub use ui::Ui;

use clap::{Parser, Subcommand};
pub(crate) use dotback::context::Context;
use dotback::paths::Paths;
use dotback::session::{Access, Session};
use std::process::ExitCode;

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
    Log(log::LogArgs),
    Restore(restore::RestoreArgs),
    Sync(sync::SyncArgs),
    Bootstrap(bootstrap::BootstrapArgs),
    Push(push::PushArgs),
    Watch(watch::WatchArgs),
    Check(check::CheckArgs),
    Drill(drill::DrillArgs),
    Keys(keys::KeysArgs),
    Packages(packages::PackagesArgs),
    Remote(remote::RemoteArgs),
    Hooks(hooks::HooksArgs),
    Service(service::ServiceArgs),
    Guard(guard::GuardArgs),
    Recover(recover::RecoverArgs),
    Archive(archive::ArchiveArgs),
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
        Command::Log(args) => log::cmd_log(ui, args),
        Command::Restore(args) => restore::cmd_restore(ui, args),
        Command::Sync(args) => sync::cmd_sync(ui, args),
        Command::Bootstrap(args) => bootstrap::cmd_bootstrap(ui, args),
        Command::Push(args) => push::cmd_push(ui, args),
        Command::Watch(args) => watch::cmd_watch(ui, args),
        Command::Check(args) => check::cmd_check(ui, args),
        Command::Drill(args) => drill::cmd_drill(ui, args),
        Command::Keys(args) => keys::cmd_keys(ui, args),
        Command::Packages(args) => packages::cmd_packages(ui, args),
        Command::Remote(args) => remote::cmd_remote(ui, args),
        Command::Hooks(args) => hooks::cmd_hooks(ui, args),
        Command::Service(args) => service::cmd_service(ui, args),
        Command::Guard(args) => guard::cmd_guard(ui, args),
        Command::Recover(args) => recover::cmd_recover(ui, args),
        Command::Archive(args) => archive::cmd_archive(ui, args),
        Command::Completions(args) => completions::cmd_completions(args),
    }
}

/// Set by SIGINT and SIGTERM once [`stop_on_signals`] ran: a long operation (the watcher, a
/// drill) finishes what it does and stops.
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Makes SIGINT and SIGTERM set the stop flag, which is returned, instead of ending the process.
fn stop_on_signals() -> &'static std::sync::atomic::AtomicBool {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    &STOP
}

/// The device context, from the process environment.
fn context() -> Result<Context, CliError> {
    Ok(Context::load(Paths::from_process_env()?)?)
}

/// Opens the store for a command that changes things (waits for the lock).
fn writer(ui: &Ui) -> Result<Session, CliError> {
    Ok(Session::open(context()?, Access::Write, ui)?)
}

/// [`writer`] for a command whose first step evaluates HOME (see `Session::open_to_evaluate`).
fn writer_to_evaluate(ui: &Ui) -> Result<Session, CliError> {
    Ok(Session::open_to_evaluate(context()?, Access::Write, ui)?)
}

/// Opens the store for a command that only reads.
fn reader(ui: &Ui) -> Result<Session, CliError> {
    reader_for(ui, context()?)
}

fn reader_for(ui: &Ui, ctx: Context) -> Result<Session, CliError> {
    Ok(Session::open(ctx, Access::Read, ui)?)
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
