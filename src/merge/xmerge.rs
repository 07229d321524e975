//! The three-way merge of git's `xdiff/xmerge.c` (git 2.47), on top of [`super::xdiff`].
//!
//! `git merge-file` diffs base->ours and base->theirs, walks both edit scripts in base order
//! and turns them into merge hunks:
//! - a change of one side that ends *strictly before* the next change of the other side starts
//!   (in base lines) is taken from that side;
//! - anything else is a conflict, unless both changes are identical (same base range, same
//!   lines). So changes to *adjacent* base lines conflict, as does an insertion at either edge
//!   of a change of the other side; one unchanged base line between them is enough to merge.
//! - a hunk that starts where the previous hunk ends (in ours' or theirs' lines) is joined to
//!   it, and joining hunks of different sides makes a conflict.
//!
//! The default level (`XDL_MERGE_ZEALOUS_ALNUM`) then refines each conflict by diffing ours'
//! lines against theirs' (common lines drop out, an all-common conflict is resolved, and one
//! conflict can become several) and joins conflicts separated by at most 3 lines, or by any
//! number of lines without an ASCII letter or digit. The diff3 style (`--diff3`) shows the base,
//! which only makes sense for the unrefined hunks, so it stays at `XDL_MERGE_EAGER`.

use super::xdiff::{Change, diff, split_lines};

/// How conflicts are shown: `git merge-file`'s default, or with `--diff3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Merge,
    Diff3,
}

/// Marker labels, already free of line breaks.
#[derive(Debug, Clone, Copy)]
pub(super) struct Names<'a> {
    pub ours: &'a str,
    pub base: &'a str,
    pub theirs: &'a str,
}

/// xdmerge_t's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Conflict,
    Ours,
    Theirs,
    /// A conflict that refinement found to be the same change on both sides (mode 4 in C).
    Identical,
}

/// xdmerge_t: `chg0` base lines from `i0` are replaced by `chg1` lines of ours from `i1`, or by
/// `chg2` lines of theirs from `i2`.
#[derive(Debug, Clone, Copy)]
struct Hunk {
    mode: Mode,
    i0: isize,
    chg0: isize,
    i1: isize,
    chg1: isize,
    i2: isize,
    chg2: isize,
}

/// The three inputs split into records, and the two edit scripts from base.
pub(super) struct Merge3<'a> {
    base: Vec<&'a str>,
    ours: Vec<&'a str>,
    theirs: Vec<&'a str>,
    base_text: &'a str,
    ours_text: &'a str,
    theirs_text: &'a str,
    xscr1: Vec<Change>,
    xscr2: Vec<Change>,
}

impl<'a> Merge3<'a> {
    pub(super) fn new(base: &'a str, ours: &'a str, theirs: &'a str) -> Self {
        let (base_lines, ours_lines, theirs_lines) = (split_lines(base), split_lines(ours), split_lines(theirs));
        let xscr1 = diff(&base_lines, &ours_lines);
        let xscr2 = diff(&base_lines, &theirs_lines);
        Merge3 {
            base: base_lines,
            ours: ours_lines,
            theirs: theirs_lines,
            base_text: base,
            ours_text: ours,
            theirs_text: theirs,
            xscr1,
            xscr2,
        }
    }

    /// xdl_merge: the merged text (with conflict markers if any) and the number of conflicts,
    /// as `git merge-file -p [--diff3]` prints and exits with.
    pub(super) fn run(&self, style: Style, names: Names<'_>) -> (String, usize) {
        if self.xscr1.is_empty() {
            return (self.theirs_text.to_owned(), 0);
        }
        if self.xscr2.is_empty() {
            return (self.ours_text.to_owned(), 0);
        }
        let mut hunks = self.hunks();
        if style == Style::Merge {
            // XDL_MERGE_ZEALOUS_ALNUM; diff3 output stays at XDL_MERGE_EAGER.
            hunks = self.refine_conflicts(hunks);
            hunks = self.simplify_non_conflicts(hunks);
        }
        let conflicts = hunks.iter().filter(|h| h.mode == Mode::Conflict).count();
        (self.fill_merge_buffer(&hunks, style, names), conflicts)
    }

    /// The hunk list of xdl_do_merge at level XDL_MERGE_EAGER.
    fn hunks(&self) -> Vec<Hunk> {
        let nrec0 = self.base.len() as isize;
        let (nrec1, nrec2) = (self.ours.len() as isize, self.theirs.len() as isize);
        let mut out: Vec<Hunk> = Vec::new();
        let (s1, s2) = (&self.xscr1, &self.xscr2);
        let (mut p1, mut p2) = (0, 0);
        while p1 < s1.len() && p2 < s2.len() {
            let (x1, x2) = (sc(&s1[p1]), sc(&s2[p2]));
            if x1.i1 + x1.chg1 < x2.i1 {
                let (i0, chg0) = (x1.i1, x1.chg1);
                append_merge(&mut out, Mode::Ours, i0, chg0, x1.i2, x1.chg2, x2.i2 - x2.i1 + x1.i1, x1.chg1);
                p1 += 1;
                continue;
            }
            if x2.i1 + x2.chg1 < x1.i1 {
                let (i0, chg0) = (x2.i1, x2.chg1);
                append_merge(&mut out, Mode::Theirs, i0, chg0, x1.i2 - x1.i1 + x2.i1, x2.chg1, x2.i2, x2.chg2);
                p2 += 1;
                continue;
            }
            let identical = x1.i1 == x2.i1
                && x1.chg1 == x2.chg1
                && x1.chg2 == x2.chg2
                && self.ours[x1.i2 as usize..(x1.i2 + x1.chg2) as usize]
                    == self.theirs[x2.i2 as usize..(x2.i2 + x2.chg2) as usize];
            if !identical {
                let off = x1.i1 - x2.i1;
                let ffo = off + x1.chg1 - x2.chg1;
                let (mut i0, mut i1, mut i2) = (x1.i1, x1.i2, x2.i2);
                if off > 0 {
                    i0 -= off;
                    i1 -= off;
                } else {
                    i2 += off;
                }
                let mut chg0 = x1.i1 + x1.chg1 - i0;
                let mut chg1 = x1.i2 + x1.chg2 - i1;
                let mut chg2 = x2.i2 + x2.chg2 - i2;
                if ffo < 0 {
                    chg0 -= ffo;
                    chg1 -= ffo;
                } else {
                    chg2 += ffo;
                }
                append_merge(&mut out, Mode::Conflict, i0, chg0, i1, chg1, i2, chg2);
            }
            let (e1, e2) = (x1.i1 + x1.chg1, x2.i1 + x2.chg1);
            if e1 >= e2 {
                p2 += 1;
            }
            if e2 >= e1 {
                p1 += 1;
            }
        }
        for x1 in s1[p1..].iter().map(sc) {
            append_merge(&mut out, Mode::Ours, x1.i1, x1.chg1, x1.i2, x1.chg2, x1.i1 + nrec2 - nrec0, x1.chg1);
        }
        for x2 in s2[p2..].iter().map(sc) {
            append_merge(&mut out, Mode::Theirs, x2.i1, x2.chg1, x2.i1 + nrec1 - nrec0, x2.chg1, x2.i2, x2.chg2);
        }
        out
    }

    /// xdl_refine_conflicts: diff ours' side of each conflict against theirs'; only the
    /// differing hunks remain conflicts (their base ranges are no longer meaningful, which is
    /// fine: only the diff3 style shows them, and it does not refine).
    fn refine_conflicts(&self, hunks: Vec<Hunk>) -> Vec<Hunk> {
        let mut out = Vec::with_capacity(hunks.len());
        for mut m in hunks {
            // No sense refining a conflict when one side is empty.
            if m.mode != Mode::Conflict || m.chg1 == 0 || m.chg2 == 0 {
                out.push(m);
                continue;
            }
            let (i1, i2) = (m.i1, m.i2);
            let t1 = &self.ours[i1 as usize..(i1 + m.chg1) as usize];
            let t2 = &self.theirs[i2 as usize..(i2 + m.chg2) as usize];
            let script = diff(t1, t2);
            if script.is_empty() {
                m.mode = Mode::Identical;
                out.push(m);
                continue;
            }
            for x in script.iter().map(sc) {
                out.push(Hunk { mode: Mode::Conflict, i1: x.i1 + i1, chg1: x.chg1, i2: x.i2 + i2, chg2: x.chg2, ..m });
            }
        }
        out
    }

    /// xdl_simplify_non_conflicts (with simplify_if_no_alnum): join two conflicts that are
    /// separated by at most 3 lines, or only by lines without an ASCII letter or digit.
    fn simplify_non_conflicts(&self, hunks: Vec<Hunk>) -> Vec<Hunk> {
        let mut out: Vec<Hunk> = Vec::with_capacity(hunks.len());
        for next in hunks {
            if let Some(m) = out.last_mut() {
                let (begin, end) = (m.i1 + m.chg1, next.i1);
                let keep_apart = m.mode != Mode::Conflict
                    || next.mode != Mode::Conflict
                    || (end - begin > 3 && self.ours[begin as usize..end as usize].iter().any(|l| has_alnum(l)));
                if !keep_apart {
                    // xdl_merge_two_conflicts
                    m.chg1 = next.i1 + next.chg1 - m.i1;
                    m.chg2 = next.i2 + next.chg2 - m.i2;
                    continue;
                }
            }
            out.push(next);
        }
        out
    }

    /// xdl_fill_merge_buffer (favor = 0): ours is the backbone; hunks splice in the other side
    /// or a conflict.
    fn fill_merge_buffer(&self, hunks: &[Hunk], style: Style, names: Names<'_>) -> String {
        // Every record of each input is copied at most once. Allocating for that up front means
        // the text (possibly decrypted secrets) is never left behind in a buffer freed by growing.
        let conflicts = hunks.iter().filter(|h| h.mode == Mode::Conflict).count();
        let label_len = names.ours.len() + names.base.len() + names.theirs.len();
        let per_conflict = 4 * (MARKER_SIZE + 1 + 2) + label_len + 3 * 2;
        let capacity = self.base_text.len() + self.ours_text.len() + self.theirs_text.len() + conflicts * per_conflict;
        let mut out = String::with_capacity(capacity);
        let capacity = out.capacity();
        let mut i = 0;
        for m in hunks {
            match m.mode {
                Mode::Conflict => self.fill_conflict_hunk(&mut out, i, m, style, names),
                Mode::Ours => {
                    copy(&mut out, &self.ours, i, m.i1 - i, None);
                    copy(&mut out, &self.ours, m.i1, m.chg1, None);
                }
                Mode::Theirs => {
                    copy(&mut out, &self.ours, i, m.i1 - i, None);
                    copy(&mut out, &self.theirs, m.i2, m.chg2, None);
                }
                // Same lines on both sides: they are copied from ours with what follows.
                Mode::Identical => continue,
            }
            i = m.i1 + m.chg1;
        }
        copy(&mut out, &self.ours, i, self.ours.len() as isize - i, None);
        debug_assert!(out.capacity() == capacity, "merge output outgrew its buffer");
        out
    }

    fn fill_conflict_hunk(&self, out: &mut String, i: isize, m: &Hunk, style: Style, names: Names<'_>) {
        let eol = if self.is_cr_needed(m) { "\r\n" } else { "\n" };
        let marker = |out: &mut String, c: char, name: Option<&str>| {
            out.extend(std::iter::repeat_n(c, MARKER_SIZE));
            if let Some(name) = name {
                out.push(' ');
                out.push_str(name);
            }
            out.push_str(eol);
        };
        // Before the conflicting part.
        copy(out, &self.ours, i, m.i1 - i, None);
        marker(out, '<', Some(names.ours));
        copy(out, &self.ours, m.i1, m.chg1, Some(eol));
        if style == Style::Diff3 {
            marker(out, '|', Some(names.base));
            copy(out, &self.base, m.i0, m.chg0, Some(eol));
        }
        marker(out, '=', None);
        copy(out, &self.theirs, m.i2, m.chg2, Some(eol));
        marker(out, '>', Some(names.theirs));
    }

    /// is_cr_needed: markers end in CRLF if the lines before the conflict in ours and theirs
    /// (or their first lines) and the first line of base all do, where known.
    fn is_cr_needed(&self, m: &Hunk) -> bool {
        let mut needs_cr = is_eol_crlf(&self.ours, if m.i1 > 0 { m.i1 - 1 } else { 0 });
        if needs_cr != Some(false) {
            needs_cr = is_eol_crlf(&self.theirs, if m.i2 > 0 { m.i2 - 1 } else { 0 });
        }
        if needs_cr != Some(false) {
            needs_cr = is_eol_crlf(&self.base, 0);
        }
        needs_cr.unwrap_or(false)
    }
}

/// git's default conflict marker length.
const MARKER_SIZE: usize = 7;

/// A Change in signed arithmetic, as the C code computes with it.
struct SChange {
    i1: isize,
    i2: isize,
    chg1: isize,
    chg2: isize,
}

fn sc(c: &Change) -> SChange {
    SChange { i1: c.i1 as isize, i2: c.i2 as isize, chg1: c.chg1 as isize, chg2: c.chg2 as isize }
}

/// xdl_append_merge: a hunk that starts where (or before) the last one ends, in ours' or in
/// theirs' lines, is joined to it; joining different modes makes a conflict.
#[allow(clippy::too_many_arguments)]
fn append_merge(
    out: &mut Vec<Hunk>,
    mode: Mode,
    i0: isize,
    chg0: isize,
    i1: isize,
    chg1: isize,
    i2: isize,
    chg2: isize,
) {
    if let Some(m) = out.last_mut()
        && (i1 <= m.i1 + m.chg1 || i2 <= m.i2 + m.chg2)
    {
        if mode != m.mode {
            m.mode = Mode::Conflict;
        }
        m.chg0 = i0 + chg0 - m.i0;
        m.chg1 = i1 + chg1 - m.i1;
        m.chg2 = i2 + chg2 - m.i2;
        return;
    }
    out.push(Hunk { mode, i0, chg0, i1, chg1, i2, chg2 });
}

/// xdl_recs_copy: `count` records from `i`; with `add_nl`, end in a line break if the last
/// record has none (conflict sections always end in one, so markers start a line).
fn copy(out: &mut String, recs: &[&str], i: isize, count: isize, add_nl: Option<&str>) {
    if count < 1 {
        return;
    }
    let recs = &recs[i as usize..(i + count) as usize];
    for r in recs {
        out.push_str(r);
    }
    if let Some(eol) = add_nl
        && !recs[recs.len() - 1].ends_with('\n')
    {
        out.push_str(eol);
    }
}

/// is_eol_crlf: whether line `i` ends in CRLF (for an unterminated last line, the line before
/// it); None if that cannot be told.
fn is_eol_crlf(recs: &[&str], i: isize) -> Option<bool> {
    let n = recs.len() as isize;
    if i < n - 1 {
        return Some(recs[i as usize].ends_with("\r\n"));
    }
    if n == 0 {
        return None;
    }
    let rec = recs[i as usize];
    if rec.ends_with('\n') {
        return Some(rec.ends_with("\r\n"));
    }
    if i == 0 {
        return None;
    }
    Some(recs[i as usize - 1].ends_with("\r\n"))
}

/// git's isalnum is ASCII-only (git-compat-util.h's sane_ctype).
fn has_alnum(line: &str) -> bool {
    line.bytes().any(|b| b.is_ascii_alphanumeric())
}
