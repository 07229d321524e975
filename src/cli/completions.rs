use super::{Cli, CliError};
use clap::CommandFactory;

/// Print a shell completion script.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    shell: clap_complete::Shell,
}

pub fn cmd_completions(args: CompletionsArgs) -> Result<(), CliError> {
    print!("{}", completion_script(args.shell));
    Ok(())
}

/// The completion script for `shell`, as committed under `completions/`.
pub fn completion_script(shell: clap_complete::Shell) -> String {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "dotback", &mut buf);
    String::from_utf8(buf).expect("completion scripts are UTF-8")
}
