use super::ui::{BOLD, CYAN, GREEN, RED};
use super::{CliError, Ui};
use dotback::apply;
use dotback::eval::{self, Change, Eval, Selection};
use dotback::session::Session;
use dotback::state::{Node, NodeKind};
use std::path::PathBuf;

/// Show how HOME differs from the store, as the patch `dotback apply` would make.
///
/// `a/` is the live file in HOME, `b/` the store's version. Colored on a terminal.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// Limit to these paths in HOME.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub fn cmd_diff(ui: &Ui, args: DiffArgs) -> Result<(), CliError> {
    let mut s = super::reader(ui)?;
    let sel = Selection::of(s.targets(&args.paths)?);
    let vault = dotback::vault::Vault::new(&s.ctx, &s.trust);
    let evals = eval::evaluate(&s.ctx, &s.state, &mut s.cache, &vault, &sel)?;
    for e in evals.iter().filter(|e| !matches!(e.change, Change::Clean | Change::Skipped) && sel.contains(&e.target)) {
        if let Some(why) = &e.why {
            ui.warn(format!("~/{} is not compared: {why}", e.target));
            continue;
        }
        print_one(ui, &s, &vault, e)?;
    }
    if !sel.is_all() {
        for e in eval::skipped_roots(evals.iter().filter(|e| sel.contains(&e.target))) {
            ui.info(format!("~/{} is not compared: {}", e.target, e.change.describe()));
        }
    }
    for (m, reason) in apply::delegated(&s.state, &sel) {
        ui.info(format!("~/{} is not compared: {reason} (see `chezmoi diff`)", m.target));
    }
    Ok(s.finish()?)
}

/// The bytes a node shows in a diff: file content, or the link target.
fn content(path: &std::path::Path, node: Option<Node>) -> Result<Vec<u8>, CliError> {
    let read_err = |e: std::io::Error| CliError::new(format!("cannot read {}: {e}", path.display()));
    Ok(match node.map(|n| n.kind) {
        Some(NodeKind::File) => std::fs::read(path).map_err(read_err)?,
        Some(NodeKind::Symlink) => std::fs::read_link(path).map_err(read_err)?.into_os_string().into_encoded_bytes(),
        _ => Vec::new(),
    })
}

fn print_one(ui: &Ui, s: &Session, vault: &dotback::vault::Vault, e: &Eval) -> Result<(), CliError> {
    let live = s.ctx.live(&e.target);
    let old = content(&live, e.actual)?;
    let new = match (e.entry, e.desired.map(|d| d.kind)) {
        (Some(_), Some(NodeKind::Symlink)) => e.link.clone().unwrap_or_default().into_bytes(),
        (Some(i), Some(NodeKind::File)) => {
            let m = &s.state.entries[i];
            apply::source_content(vault, m, &s.state.source_path(m))?.to_vec()
        }
        _ => Vec::new(),
    };
    let (a, b) = (format!("a/{}", e.target), format!("b/{}", e.target));
    ui.out(format!("{BOLD}diff --dotback {a} {b}{BOLD:#}  ({})", e.change.describe()));
    let mode = |n: Option<Node>| {
        n.map(|n| match n.kind {
            NodeKind::File => 0o100000 | n.perm,
            NodeKind::Dir => 0o040000 | n.perm,
            NodeKind::Symlink => 0o120000,
        })
    };
    match (mode(e.actual), mode(e.desired)) {
        (None, Some(m)) => ui.out(format!("{BOLD}new file mode {m:06o}{BOLD:#}")),
        (Some(m), None) => ui.out(format!("{BOLD}deleted file mode {m:06o}{BOLD:#}")),
        (Some(x), Some(y)) if x != y => {
            ui.out(format!("{BOLD}old mode {x:06o}{BOLD:#}"));
            ui.out(format!("{BOLD}new mode {y:06o}{BOLD:#}"));
        }
        _ => {}
    }
    if old == new {
        return Ok(());
    }
    let (Ok(old_text), Ok(new_text)) = (std::str::from_utf8(&old), std::str::from_utf8(&new)) else {
        ui.out(format!("Binary files {a} and {b} differ"));
        return Ok(());
    };
    if old.contains(&0) || new.contains(&0) {
        ui.out(format!("Binary files {a} and {b} differ"));
        return Ok(());
    }
    let a_name = if e.actual.is_some() { a.as_str() } else { "/dev/null" };
    let b_name = if e.desired.is_some() { b.as_str() } else { "/dev/null" };
    let diff = similar::TextDiff::from_lines(old_text, new_text);
    let text = diff.unified_diff().context_radius(3).header(a_name, b_name).to_string();
    for line in text.lines() {
        let style = match line.as_bytes().first() {
            _ if line.starts_with("---") || line.starts_with("+++") => BOLD,
            Some(b'+') => GREEN,
            Some(b'-') => RED,
            Some(b'@') => CYAN,
            _ => anstyle::Style::new(),
        };
        ui.out(format!("{style}{line}{style:#}"));
    }
    Ok(())
}
