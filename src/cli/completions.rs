use super::{Cli, CliError};
use clap::CommandFactory;

/// Print a shell completion script.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(required = true)]
    shell: Option<clap_complete::Shell>,
    /// Print the man page PAGE (as committed under `completions/man/`), or with no PAGE the
    /// names of all pages, one a line.
    #[arg(long, hide = true, value_name = "PAGE", num_args = 0..=1, exclusive = true)]
    man: Option<Option<String>>,
}

pub fn cmd_completions(args: CompletionsArgs) -> Result<(), CliError> {
    match (args.man, args.shell) {
        (Some(None), _) => man_pages().iter().for_each(|(name, _)| println!("{name}")),
        (Some(Some(page)), _) => match man_pages().into_iter().find(|(name, _)| *name == page) {
            Some((_, text)) => print!("{text}"),
            None => {
                let err = CliError::new(format!("no man page named {page}"));
                return Err(err.hint("`dotback completions --man` lists them").code(2));
            }
        },
        (None, Some(shell)) => print!("{}", completion_script(shell)),
        (None, None) => unreachable!("clap requires SHELL unless --man is given"),
    }
    Ok(())
}

/// The completion script for `shell`, as committed under `completions/`. It offers no hidden
/// argument (the generators would list them).
pub fn completion_script(shell: clap_complete::Shell) -> String {
    let mut cmd = Cli::command().mut_subcommand("completions", |c| {
        let visible = clap::Command::new("completions")
            .about(c.get_about().cloned().unwrap_or_default())
            .args(c.get_arguments().filter(|a| !a.is_hide_set()).cloned());
        match c.get_long_about() {
            Some(long) => visible.long_about(long.clone()),
            None => visible,
        }
    });
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "dotback", &mut buf);
    String::from_utf8(buf).expect("completion scripts are UTF-8")
}

/// One man page per command and subcommand (`dotback.1`, `dotback-keys-add-device.1`, …) as
/// file name and roff text, in the order `clap_mangen::generate_to` writes them.
fn man_pages() -> Vec<(String, String)> {
    fn walk(cmd: clap::Command, pages: &mut Vec<(String, String)>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub.clone(), pages);
        }
        let man = clap_mangen::Man::new(cmd).source(concat!("dotback ", env!("CARGO_PKG_VERSION")));
        let mut buf = Vec::new();
        man.render(&mut buf).expect("rendering into memory cannot fail");
        pages.push((man.get_filename(), String::from_utf8(buf).expect("man pages are UTF-8")));
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    walk(cmd, &mut pages);
    pages
}
