//! Three-way line merge of text files, with the results of `git merge-file`.
//!
//! [`merge`] answers two questions the way `git merge-file` does:
//! - **Does it merge, and to what?** Exactly when `git merge-file` (default options) exits 0,
//!   and then with its output, byte for byte: [`TextMerge::Clean`].
//! - **Otherwise, what does the conflict look like?** Exactly what
//!   `git merge-file -p --diff3 -L <ours> -L <base> -L <theirs>` prints, and the number of
//!   conflicts it exits with (git caps that at 127): [`TextMerge::Conflict`].
//!
//! The two questions are answered at different levels on purpose, as git does: the clean/
//! conflict decision uses git's default zealous level, which also resolves conflicts whose two
//! sides turn out to be the same change and splits a conflict into the lines that really
//! differ; the diff3 marker text shows the base, which only means something for the unrefined
//! conflict hunks. So `conflicts` can differ from the exit code of `git merge-file` *without*
//! `--diff3` (refinement may split or join conflicts), but a merge is clean for both or for
//! neither of [`merge`] and `git merge-file`.

use super::xmerge::{Merge3, Names, Style};

/// A three-way line merge of UTF-8 text (diff3 semantics, like `git merge-file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMerge {
    /// Merged cleanly.
    Clean(String),
    /// Conflicting hunks remain. `with_markers` is the git-style result with
    /// `<<<<<<< ours` / `||||||| base` / `=======` / `>>>>>>> theirs` markers (diff3 style, the
    /// labels passed in), for `dotback resolve --merge` to put in a temp file; `ours` is what
    /// stays live (dotback never writes markers into a live file).
    Conflict {
        /// The whole file, with every conflict shown between markers.
        with_markers: String,
        /// How many conflicts `with_markers` shows (at least 1).
        conflicts: usize,
    },
}

/// The names written after the conflict markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels<'a> {
    /// After `<<<<<<<`.
    pub ours: &'a str,
    /// After `|||||||`.
    pub base: &'a str,
    /// After `>>>>>>>`.
    pub theirs: &'a str,
}

/// Merges the changes `base -> ours` and `base -> theirs`, line by line, as `git merge-file`
/// does (see the module docs).
///
/// Lines are split after `\n` only and compared byte for byte, so CRLF line endings and a
/// missing final newline are kept as they are. Both sides making the same change is no
/// conflict; changes to *adjacent* lines are, and so is an insertion right before or after a
/// change of the other side (git's rule: an unchanged base line must separate the two sides'
/// changes). Marker lines end in CRLF when the surrounding lines do.
/// Line breaks inside a label are replaced by spaces so a label stays on its marker line.
pub fn merge(base: &str, ours: &str, theirs: &str, labels: Labels<'_>) -> TextMerge {
    let (ours_label, base_label, theirs_label) =
        (one_line(labels.ours), one_line(labels.base), one_line(labels.theirs));
    let names = Names { ours: &ours_label, base: &base_label, theirs: &theirs_label };
    let merge3 = Merge3::new(base, ours, theirs);
    let (merged, conflicts) = merge3.run(Style::Merge, names);
    if conflicts == 0 {
        return TextMerge::Clean(merged);
    }
    wipe(merged);
    let (with_markers, conflicts) = merge3.run(Style::Diff3, names);
    // Refinement only ever resolves conflicts, so unrefined hunks conflict at least as often.
    debug_assert!(conflicts > 0, "diff3 style merged what the default style could not");
    TextMerge::Conflict { with_markers, conflicts: conflicts.max(1) }
}

/// Files larger than this are never merged; git's limit for its diff machinery
/// (`MAX_XDIFF_SIZE`, a little under 1 GiB).
const MAX_XDIFF_SIZE: usize = 1024 * 1024 * 1023;

/// Decides whether bytes are text dotback merges line-wise (UTF-8, no NUL); binary files are
/// never merged.
///
/// git calls a file binary if its first 8000 bytes contain a NUL (or it is over
/// `MAX_XDIFF_SIZE`); this checks every byte, and also insists on UTF-8 because the merged
/// text is handled as a `String`. UTF-16 text has NULs and so counts as binary, as in git.
pub fn is_mergeable_text(data: &[u8]) -> bool {
    data.len() <= MAX_XDIFF_SIZE && !data.contains(&0) && std::str::from_utf8(data).is_ok()
}

/// Overwrites a result nobody gets to see before freeing it: merged text may be decrypted
/// secrets. (Best effort, without a crate: `black_box` keeps the writes from being optimized
/// away as dead stores.)
fn wipe(text: String) {
    let mut bytes = text.into_bytes();
    bytes.fill(0);
    std::hint::black_box(&bytes);
}

fn one_line(label: &str) -> String {
    label.replace(['\r', '\n'], " ")
}
