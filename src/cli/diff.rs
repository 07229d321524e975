use super::ui::{BOLD, CYAN, GREEN, RED};
use super::{CliError, Ui};
use dotback::diff::{DiffError, FileDiff, Item};
use dotback::eval::Selection;
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
    let items = dotback::diff::diff(&mut s, &sel).map_err(|e| match e {
        DiffError::Eval(e) => CliError::from(e),
        DiffError::Apply(e) => e.into(),
    })?;
    for item in &items {
        match item {
            Item::Diff(d) => print_one(ui, d),
            Item::NotCompared { target, why } => ui.warn(format!("~/{target} is not compared: {why}")),
            Item::Left { target, why } => ui.info(format!("~/{target} is not compared: {why}")),
        }
    }
    Ok(s.finish()?)
}

fn print_one(ui: &Ui, e: &FileDiff) {
    let (old, new) = (&e.old[..], &e.new[..]);
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
        return;
    }
    let (Ok(old_text), Ok(new_text)) = (std::str::from_utf8(old), std::str::from_utf8(new)) else {
        ui.out(format!("Binary files {a} and {b} differ"));
        return;
    };
    if old.contains(&0) || new.contains(&0) {
        ui.out(format!("Binary files {a} and {b} differ"));
        return;
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
}
