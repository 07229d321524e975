use super::ui::BOLD;
use super::{CliError, Ui};
use dotback::resolve::{self, Choice, Conflict, EditorEnv, Resolved};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Settle a conflict sync left: keep this device's version, take the other device's, or merge them.
///
/// When sync cannot merge a file, it keeps its own device's version live and writes the other
/// device's beside it as NAME.dotback-conflict-DEVICE-STAMP (in HOME and in the store), named
/// after the device whose version the copy holds. So on the device the copy is named after, its
/// own edit is in the copy and the other device's is live; on every other device, the live file
/// is this device's version. Without arguments, list the conflicts and whose version is where.
/// PATH is the file in conflict or one of its conflict copies.
///
/// --ours keeps this device's version and deletes the copies (all of them, or only the one
/// named): the live file stays, or, where the copy holds this device's version, the copy's
/// content becomes the file's. --theirs takes the other device's version: the copy's content
/// becomes the file's, live and in the store (re-encrypted when the file is encrypted), or, where
/// the copy holds this device's version, the live file stays; the copy is deleted. --merge writes
/// the three-way merge with conflict markers into a private temporary file beside the live one
/// and opens it in git's merge.tool when mergetool.<tool>.cmd is set (with $BASE, $LOCAL for this
/// device's version, $REMOTE for the other's and $MERGED, as git does), else in $VISUAL, $EDITOR
/// or git's core.editor; when it exits 0 and no markers are left, the result becomes the file's
/// content. A copy edited in HOME counts with its edits. When a file has several copies,
/// --theirs and --merge need the path of the copy to take. Every resolution is committed, and
/// whatever it overwrites or deletes in HOME is backed up first.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("how").args(["ours", "theirs", "merge"])))]
pub struct ResolveArgs {
    /// The file in conflict, or one of its conflict copies (a path in HOME).
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
    /// Keep this device's version (wherever it is); delete the conflict copy.
    #[arg(long)]
    ours: bool,
    /// Take the other device's version (wherever it is); delete the conflict copy.
    #[arg(long)]
    theirs: bool,
    /// Merge both versions in an editor; conflict markers must all be settled.
    #[arg(long)]
    merge: bool,
}

pub fn cmd_resolve(ui: &Ui, args: ResolveArgs) -> Result<(), CliError> {
    let choice = match (args.ours, args.theirs, args.merge) {
        (true, _, _) => Some(Choice::Ours),
        (_, true, _) => Some(Choice::Theirs),
        (_, _, true) => Some(Choice::Merge),
        _ => None,
    };
    let Some(path) = args.path else {
        if choice.is_some() {
            return Err(CliError::new("name the file to resolve: `dotback resolve PATH --ours|--theirs|--merge`")
                .hint("`dotback resolve` without arguments lists the conflicts")
                .code(2));
        }
        let s = super::reader(ui)?;
        list(ui, &resolve::find(&s.state, &s.ctx.device));
        return Ok(s.finish()?);
    };
    let mut s = super::writer(ui)?;
    let target = s.ctx.target_of(&path)?;
    let all = resolve::find(&s.state, &s.ctx.device);
    let Some(choice) = choice else {
        let Some(first) = all.iter().find(|c| c.copy == target || c.path == target) else {
            return Err(resolve::ResolveError::NoConflict { target, conflicts: all.len() }.into());
        };
        list(ui, &all.iter().filter(|c| c.path == first.path).cloned().collect::<Vec<_>>());
        return Err(CliError::new(format!("say how to resolve ~/{}: --ours, --theirs or --merge", first.path)).code(2));
    };
    let var = |k: &str| std::env::var(k).ok();
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let editor = EditorEnv { var: &var, terminal };
    let Resolved { target, how, settled } = resolve::run(&mut s, &target, choice, &editor, ui)?;
    s.finish()?;
    let commit = settled.commit.map(|id| format!(" (commit {})", &id[..10])).unwrap_or_default();
    ui.info(format!(
        "Resolved ~/{target}: {how}; removed {}{commit}.",
        settled.removed.iter().map(|c| format!("~/{c}")).collect::<Vec<_>>().join(", ")
    ));
    if let Some(dir) = &settled.backup_dir {
        ui.info(format!("Previous versions are saved in {}.", dir.display()));
    }
    Ok(())
}

fn list(ui: &Ui, conflicts: &[Conflict]) {
    if conflicts.is_empty() {
        ui.info("No conflicts: nothing to resolve.");
        return;
    }
    ui.out(format!("{BOLD}Conflicts (`dotback resolve PATH --ours|--theirs|--merge` settles them):{BOLD:#}"));
    for c in conflicts {
        ui.out(format!("    ~/{}: {}", c.path, c.describe()));
    }
}
