use super::ui::BOLD;
use super::{CliError, Ui};
use dotback::merge::text::Labels;
use dotback::resolve::{self, Conflict, Tool};
use dotback::store::Store;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Settle a conflict sync left: keep this device's version, take the other one, or merge them.
///
/// When sync cannot merge a file, the local version stays live and the other side's is written
/// beside it as NAME.dotback-conflict-DEVICE-STAMP (in HOME and in the store). Without
/// arguments, list those conflicts. PATH is the file in conflict or one of its conflict copies.
///
/// --ours keeps the live file and deletes the copies (all of them, or only the one named).
/// --theirs makes the copy's content the file's content, live and in the store (re-encrypted
/// when the file is encrypted), and deletes the copy. --merge writes the three-way merge with
/// conflict markers into a private temporary file beside the live one and opens it in git's
/// merge.tool when mergetool.<tool>.cmd is set (with $BASE, $LOCAL, $REMOTE and $MERGED, as git
/// does), else in $VISUAL, $EDITOR or git's core.editor; when it exits 0 and no markers are
/// left, the result becomes the file's content.
/// A copy edited in HOME counts with its edits. When a file has several copies, --theirs and
/// --merge need the path of the copy to take. Every resolution is committed, and whatever it
/// overwrites or deletes in HOME is backed up first.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("how").args(["ours", "theirs", "merge"])))]
pub struct ResolveArgs {
    /// The file in conflict, or one of its conflict copies (a path in HOME).
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
    /// Keep the live file (this device's version); delete the conflict copy.
    #[arg(long)]
    ours: bool,
    /// Take the conflict copy's content (the other device's version).
    #[arg(long)]
    theirs: bool,
    /// Merge both versions in an editor; conflict markers must all be settled.
    #[arg(long)]
    merge: bool,
}

pub fn cmd_resolve(ui: &Ui, args: ResolveArgs) -> Result<(), CliError> {
    let chosen = args.ours || args.theirs || args.merge;
    let Some(path) = args.path else {
        if chosen {
            return Err(CliError::new("name the file to resolve: `dotback resolve PATH --ours|--theirs|--merge`")
                .hint("`dotback resolve` without arguments lists the conflicts")
                .code(2));
        }
        let s = super::reader(ui)?;
        list(ui, &resolve::find(&s.state));
        return Ok(s.finish()?);
    };
    let mut s = super::writer(ui)?;
    let target = s.ctx.target_of(&path)?;
    let all = resolve::find(&s.state);
    let named_copy = all.iter().any(|c| c.copy == target);
    let copies: Vec<&Conflict> = all.iter().filter(|c| c.copy == target || (!named_copy && c.path == target)).collect();
    let Some(first) = copies.first().copied() else {
        return Err(CliError::new(format!("~/{target} has no conflict to resolve")).hint(if all.is_empty() {
            "there are no conflicts in the store".to_string()
        } else {
            format!("`dotback resolve` lists the {} conflict{} there are", all.len(), super::add::plural(all.len()))
        }));
    };
    if !chosen {
        list(ui, &all.iter().filter(|c| c.path == first.path).cloned().collect::<Vec<_>>());
        return Err(CliError::new(format!("say how to resolve ~/{}: --ours, --theirs or --merge", first.path)).code(2));
    }
    if !args.ours && copies.len() > 1 {
        let names: Vec<String> = copies.iter().map(|c| format!("~/{} (from {})", c.copy, c.device)).collect();
        return Err(CliError::new(format!(
            "~/{} has {} conflict copies; name the one to take:\n    {}",
            first.path,
            copies.len(),
            names.join("\n    ")
        ))
        .hint(format!("for example `dotback resolve ~/{} --theirs`; --ours drops them all", copies[0].copy)));
    }

    let store = Store::open(&s.ctx.store)?;
    let vault = dotback::vault::Vault::new(&s.ctx, &s.trust);
    let (content, how) = if args.ours {
        (None, "kept this device's version".to_string())
    } else if args.theirs {
        (Some(resolve::theirs(&s.ctx, &s.state, &vault, first)?), format!("took the version from {}", first.device))
    } else {
        let ours = resolve::ours(&s.ctx, &s.state, &vault, first)?;
        let theirs = resolve::theirs(&s.ctx, &s.state, &vault, first)?;
        let base = resolve::base(&store, &s.state, &vault, first)?;
        let ours_label = format!("~/{} (this device)", first.path);
        let theirs_label = format!("~/{} ({})", first.copy, first.device);
        let labels = Labels { ours: &ours_label, base: "base", theirs: &theirs_label };
        let marked = resolve::marked_up(&first.path, &base, &ours, &theirs, labels)?;
        let tool = merge_tool(&store)?;
        ui.info(format!("Waiting for `{}` to settle ~/{}...", tool_name(&tool), first.path));
        let merged = resolve::edit(&s.ctx, &first.path, &marked, [&base, &ours, &theirs], &tool)?;
        (Some(merged), format!("merged with the version from {}", first.device))
    };
    let settled = resolve::settle(
        &s.ctx,
        &s.state,
        &mut s.cache,
        &vault,
        &store,
        &copies,
        content.as_deref().map(|c| &c[..]),
        &how,
    )?;
    drop(vault);
    s.finish()?;
    let commit = settled.commit.map(|id| format!(" (commit {})", &id.to_string()[..10])).unwrap_or_default();
    ui.info(format!(
        "Resolved ~/{}: {how}; removed {}{commit}.",
        first.path,
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
        ui.out(format!("    ~/{}: the version from {} is in ~/{}", c.path, c.device, c.copy));
    }
}

fn tool_name(tool: &Tool) -> &str {
    match tool {
        Tool::Editor(e) => e,
        Tool::MergeTool { name, .. } => name,
    }
}

/// What settles the markers: git's merge.tool when it has a `mergetool.<tool>.cmd`, else
/// $VISUAL, $EDITOR or git's core.editor, else vi on a terminal.
fn merge_tool(store: &Store) -> Result<Tool, CliError> {
    let config = store.repo.config().ok();
    let get = |key: &str| {
        config.as_ref().and_then(|c| c.get_string(key).ok()).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    };
    if let Some(name) = get("merge.tool")
        && let Some(cmd) = get(&format!("mergetool.{name}.cmd"))
    {
        return Ok(Tool::MergeTool { name, cmd });
    }
    let env = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    if let Some(editor) = env("VISUAL").or_else(|| env("EDITOR")).or_else(|| get("core.editor")) {
        return Ok(Tool::Editor(editor));
    }
    let dumb = env("TERM").is_none_or(|t| t == "dumb");
    if !dumb && std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return Ok(Tool::Editor("vi".to_string()));
    }
    Err(CliError::new("no editor to merge in: $VISUAL, $EDITOR and git's core.editor are unset, and this is not a terminal; nothing was changed")
        .hint("set EDITOR (e.g. `EDITOR=nano dotback resolve PATH --merge`), or settle with --ours or --theirs"))
}
