//! What dotback leaves to chezmoi, and how `apply` hands it over.
//!
//! dotback writes plain files, directories, symlinks and encrypted files itself. Everything
//! else in the store (templates, `create_` and `modify_` entries, `remove_` entries, `external_`
//! directories, `run_` scripts, externals and `.chezmoiremove`) is listed here, each with the
//! kind that says why, and applied by the `chezmoi` binary when it is installed, with chezmoi's
//! own script state (so neither tool runs a `run_once_` script the other already ran).
//!
//! chezmoi runs `run_before_` scripts before it writes anything and `run_after_` scripts once
//! everything is written. An apply keeps that order around dotback's own writes: the `before`
//! scripts run first, then dotback writes what it handles, then chezmoi applies externals and
//! `.chezmoiremove`, then the delegated entries with the scripts that run among them, then the
//! `after` scripts. Each call runs only when it has something to do, and names its targets or
//! entry types, so chezmoi never touches what dotback writes. What still differs: a script that
//! runs among the targets (neither `before` nor `after`) sees all of dotback's own targets
//! written, where chezmoi would have written only those whose names sort before the script's.

use crate::eval::Selection;
use crate::managed::{Managed, SourceState, join, parent_of};
use crate::source::{self, Kind, OnDisk};
use serde::Serialize;
use std::path::Path;

/// Why an entry is left to chezmoi.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum What {
    Template,
    Create,
    Modify,
    Remove,
    ExternalDir,
    Script,
    External,
    RemoveList,
}

impl What {
    /// The kind, as status and apply name it (one word group per kind).
    pub fn label(self) -> &'static str {
        match self {
            What::Template => "template",
            What::Create => "create_ file",
            What::Modify => "modify_ script",
            What::Remove => "remove_ entry",
            What::ExternalDir => "external_ directory",
            What::Script => "run_ script",
            What::External => "externals file",
            What::RemoveList => ".chezmoiremove file",
        }
    }
}

/// When chezmoi runs a script, relative to writing the targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    Before,
    During,
    After,
}

/// One entry dotback leaves to chezmoi.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    pub what: What,
    /// chezmoi's target for it, relative to HOME (a script's is its name without the `run_…`
    /// prefixes); `None` for externals and `.chezmoiremove` files, which name their own targets.
    pub target: Option<String>,
    /// Its path relative to the source root.
    pub source: String,
    /// For a script: when chezmoi runs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
}

impl Item {
    /// How a listing names it: `~/target`, or the source file for what has no target.
    pub fn name(&self) -> String {
        match (&self.target, self.what) {
            (_, What::Script) | (None, _) => self.source.clone(),
            (Some(t), _) => format!("~/{t}"),
        }
    }
}

fn what_of(m: &Managed) -> What {
    match m.entry.kind {
        Kind::Script => What::Script,
        Kind::Create => What::Create,
        Kind::Modify => What::Modify,
        Kind::Remove => What::Remove,
        Kind::Dir => What::ExternalDir,
        Kind::File | Kind::Symlink => What::Template,
    }
}

fn when_of(a: &source::Attrs) -> When {
    if a.before {
        When::Before
    } else if a.after {
        When::After
    } else {
        When::During
    }
}

/// Every entry of `state` dotback leaves to chezmoi, in store order: the non-native entries,
/// the scripts in `.chezmoiscripts/` (read from the source root, where chezmoi reads them),
/// externals and `.chezmoiremove` files. A script `.chezmoiignore` ignores is not listed, as
/// chezmoi does not run it.
pub fn items(state: &SourceState) -> Vec<Item> {
    let mut out = Vec::new();
    for m in state.entries.iter().filter(|m| !m.is_native()) {
        let what = what_of(m);
        let (target, when) = match what {
            What::Script => (join(parent_of(&m.target), &m.entry.name), Some(when_of(&m.entry.attrs))),
            _ => (m.target.clone(), None),
        };
        if what == What::Script && state.ignore.is_ignored(&target) {
            continue;
        }
        out.push(Item { what, target: Some(target), source: m.source.clone(), when });
    }
    for name in &state.delegated_files {
        if name == ".chezmoiscripts" {
            scripts_dir(state, &state.root.join(name), name, &mut out);
        } else if name.starts_with(".chezmoiexternal") {
            out.push(Item { what: What::External, target: None, source: name.clone(), when: None });
        } else if name.starts_with(".chezmoiremove") {
            out.push(Item { what: What::RemoveList, target: None, source: name.clone(), when: None });
        }
    }
    out
}

/// The scripts below `.chezmoiscripts/` (`rel`: `dir` relative to the source root). chezmoi
/// names their targets by their place there, prefixes cut.
fn scripts_dir(state: &SourceState, dir: &Path, rel: &str, out: &mut Vec<Item>) {
    let Ok(listing) = std::fs::read_dir(dir) else { return };
    let mut names: Vec<(String, bool)> = listing
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.file_type().ok()?.is_dir())))
        .collect();
    names.sort();
    for (name, is_dir) in names {
        let source = join(rel, &name);
        if is_dir {
            scripts_dir(state, &dir.join(&name), &source, out);
            continue;
        }
        let Ok(Some(entry)) = source::decode(&name, OnDisk::File) else { continue };
        if entry.kind != Kind::Script {
            continue;
        }
        let target = join(parent_of(&source), &entry.name);
        if !state.ignore.is_ignored(&target) {
            out.push(Item { what: What::Script, target: Some(target), source, when: Some(when_of(&entry.attrs)) });
        }
    }
}

/// The items in `items` an apply of `sel` hands over: every one for the whole store; for named
/// paths only the entries at or below them (as `chezmoi apply PATH` runs no script and fetches
/// no external elsewhere).
pub fn selected<'a>(items: &'a [Item], sel: &Selection) -> Vec<&'a Item> {
    items
        .iter()
        .filter(|i| match (&i.target, i.what) {
            (_, What::Script) | (None, _) => sel.is_all(),
            (Some(t), _) => sel.touches(t),
        })
        .collect()
}

/// One `chezmoi apply`: the entry types it is limited to (all when `None`) and the targets
/// (everything of those types when empty; never both empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub include: Option<&'static str>,
    pub targets: Vec<String>,
}

/// The chezmoi calls for `items`: those to run before dotback writes its own targets, and those
/// to run after (see the module's introduction). A `chezmoi apply` given targets runs the
/// `before` scripts among them first but the `after` ones in their place by name, so the
/// `after` scripts get a call of their own, the last.
pub fn calls(items: &[&Item]) -> (Vec<Call>, Vec<Call>) {
    let targets = |when: Option<When>| -> Vec<String> {
        items.iter().filter(|i| i.when == when).filter_map(|i| i.target.clone()).collect()
    };
    let mut during = targets(None);
    during.extend(targets(Some(When::During)));
    let call = |include, targets: Vec<String>| (!targets.is_empty()).then_some(Call { include, targets });
    let pre = call(Some("scripts"), targets(Some(When::Before))).into_iter().collect();
    let mut post: Vec<Call> = Vec::new();
    if items.iter().any(|i| i.target.is_none()) {
        post.push(Call { include: Some("externals,remove"), targets: Vec::new() });
    }
    post.extend(call(None, during));
    post.extend(call(Some("scripts"), targets(Some(When::After))));
    (pre, post)
}

/// The kinds among `items`, each with how many, in [`What`] order.
pub fn by_kind<'a>(items: impl IntoIterator<Item = &'a Item>) -> Vec<(What, usize)> {
    let mut counts: Vec<(What, usize)> = Vec::new();
    for i in items {
        match counts.iter_mut().find(|(w, _)| *w == i.what) {
            Some((_, n)) => *n += 1,
            None => counts.push((i.what, 1)),
        }
    }
    counts.sort();
    counts
}

/// How the delegated entries of an apply fared.
#[derive(Debug, Default)]
pub enum Delegation {
    /// There were none, or it was a dry run.
    #[default]
    Nothing,
    /// chezmoi is not installed: they were skipped.
    NoChezmoi,
    /// chezmoi applied them.
    Done,
    /// chezmoi failed, with what it said.
    Failed(String),
}

/// Runs `calls` with the `chezmoi` binary `bin` (stopping at the first failure).
pub fn run(bin: &Path, home: &Path, store: &Path, calls: &[Call]) -> Delegation {
    for c in calls {
        if let Err(msg) = crate::chezmoi::apply(bin, home, store, c.include, &c.targets) {
            return Delegation::Failed(msg);
        }
    }
    if calls.is_empty() { Delegation::Nothing } else { Delegation::Done }
}

/// The templated targets edited in HOME since chezmoi last wrote them (chezmoi's own record
/// says so). Capture never takes them from HOME, because that would overwrite the source chezmoi
/// evaluates: the edit stays in HOME only until it goes into the template. Asking chezmoi
/// renders the templates, so only an apply the user asked for asks (`modify_` scripts, which
/// chezmoi would run to answer, are not asked about).
pub fn edited_in_home(bin: &Path, home: &Path, store: &Path, items: &[Item]) -> Result<Vec<String>, String> {
    let targets: Vec<String> = items
        .iter()
        .filter(|i| i.what == What::Template)
        .filter_map(|i| i.target.clone())
        // Only what is there can have been edited (a first apply asks nothing).
        .filter(|t| std::fs::symlink_metadata(home.join(t)).is_ok())
        .collect();
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let listed = crate::chezmoi::status(bin, home, store, &targets)?;
    Ok(listed.into_iter().filter(|(first, _, _)| *first == 'M').map(|(_, _, path)| path).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(what: What, target: Option<&str>, when: Option<When>) -> Item {
        Item { what, target: target.map(String::from), source: String::new(), when }
    }

    #[test]
    fn before_scripts_run_first_and_everything_else_after_dotbacks_writes() {
        let items = [
            item(What::Script, Some("a.sh"), Some(When::During)),
            item(What::Script, Some("b.sh"), Some(When::Before)),
            item(What::Template, Some(".t"), None),
            item(What::External, None, None),
            item(What::Script, Some(".chezmoiscripts/z.sh"), Some(When::After)),
            item(What::RemoveList, None, None),
        ];
        let refs: Vec<&Item> = items.iter().collect();
        let (pre, post) = calls(&refs);
        assert_eq!(pre, [Call { include: Some("scripts"), targets: vec!["b.sh".into()] }]);
        assert_eq!(
            post,
            [
                Call { include: Some("externals,remove"), targets: vec![] },
                Call { include: None, targets: vec![".t".into(), "a.sh".into()] },
                Call { include: Some("scripts"), targets: vec![".chezmoiscripts/z.sh".into()] },
            ]
        );
    }

    #[test]
    fn nothing_delegated_means_no_call() {
        assert_eq!(calls(&[]), (vec![], vec![]));
        let t = item(What::Create, Some(".c"), None);
        let (pre, post) = calls(&[&t]);
        assert!(pre.is_empty());
        assert_eq!(post, [Call { include: None, targets: vec![".c".into()] }], "no type-wide call without externals");
    }

    #[test]
    fn kinds_are_counted_once_each() {
        let items = [
            item(What::Script, Some("a.sh"), Some(When::During)),
            item(What::Template, Some(".t"), None),
            item(What::Script, Some("b.sh"), Some(When::After)),
        ];
        assert_eq!(by_kind(&items), [(What::Template, 1), (What::Script, 2)]);
    }
}
