//! `dotback diff`: how HOME differs from the store, target by target, as apply would change it.

use crate::apply::{self, ApplyError};
use crate::error::{IoContext, Op};
use crate::eval::{self, Change, EvalError, Selection};
use crate::session::Session;
use crate::state::{Node, NodeKind};
use std::path::Path;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

/// One differing target: both sides' nodes and bytes (file content, or the link target).
/// Decrypted secrets stay in memory and are wiped when dropped; `Debug` shows only their sizes.
pub struct FileDiff {
    pub target: String,
    pub change: Change,
    /// What is in HOME (`a/`), and what the store wants (`b/`).
    pub actual: Option<Node>,
    pub desired: Option<Node>,
    pub old: Zeroizing<Vec<u8>>,
    pub new: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for FileDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDiff")
            .field("target", &self.target)
            .field("change", &self.change)
            .field("old", &format_args!("<{} bytes>", self.old.len()))
            .field("new", &format_args!("<{} bytes>", self.new.len()))
            .finish()
    }
}

/// What `diff` found, in the store's order.
#[derive(Debug)]
pub enum Item {
    Diff(FileDiff),
    /// A target that could not be compared, and why (warned about).
    NotCompared {
        target: String,
        why: String,
    },
    /// A target outside what this device compares (skipped here, delegated to chezmoi), and why.
    Left {
        target: String,
        why: String,
    },
}

/// Compares the selected targets of HOME with the store.
pub fn diff(s: &mut Session, sel: &Selection) -> Result<Vec<Item>, DiffError> {
    let p = s.parts();
    let evals = eval::evaluate(p.ctx, p.state, p.cache, p.vault, sel)?;
    let mut out = Vec::new();
    for e in evals.iter().filter(|e| !matches!(e.change, Change::Clean | Change::Skipped) && sel.contains(&e.target)) {
        if let Some(why) = &e.why {
            out.push(Item::NotCompared { target: e.target.clone(), why: why.clone() });
            continue;
        }
        let live = p.ctx.live(&e.target);
        let old = content(&live, e.actual)?;
        let new = match (e.entry, e.desired.map(|d| d.kind)) {
            (Some(_), Some(NodeKind::Symlink)) => Zeroizing::new(e.link.clone().unwrap_or_default().into_bytes()),
            (Some(i), Some(NodeKind::File)) => {
                let m = &p.state.entries[i];
                apply::source_content(p.vault, p.state, m)?
            }
            _ => Zeroizing::new(Vec::new()),
        };
        out.push(Item::Diff(FileDiff {
            target: e.target.clone(),
            change: e.change,
            actual: e.actual,
            desired: e.desired,
            old,
            new,
        }));
    }
    if !sel.is_all() {
        for e in eval::skipped_roots(evals.iter().filter(|e| sel.contains(&e.target))) {
            out.push(Item::Left { target: e.target.clone(), why: e.change.describe().to_string() });
        }
    }
    for (m, reason) in apply::delegated(p.state, sel) {
        out.push(Item::Left { target: m.target.clone(), why: format!("{reason} (see `chezmoi diff`)") });
    }
    Ok(out)
}

/// The bytes a live node shows in a diff: file content, or the link target.
fn content(path: &Path, node: Option<Node>) -> Result<Zeroizing<Vec<u8>>, ApplyError> {
    Ok(Zeroizing::new(match node.map(|n| n.kind) {
        Some(NodeKind::File) => std::fs::read(path).context(Op::Read, path)?,
        Some(NodeKind::Symlink) => {
            std::fs::read_link(path).context(Op::Read, path)?.into_os_string().into_encoded_bytes()
        }
        _ => Vec::new(),
    }))
}
