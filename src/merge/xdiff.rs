//! A line diff that produces exactly the edit script git's xdiff produces for `git merge-file`.
//!
//! This is a port of the parts of git's `xdiff/` (xprepare.c, xdiffi.c; git 2.47) that
//! `git merge-file` runs with its default options (Myers, `xpp.flags == 0`):
//!
//! 1. records are lines *including* their `\n` (the last may lack one), compared byte for byte;
//! 2. `xdl_trim_ends` skips the common prefix and suffix;
//! 3. `xdl_cleanup_records` hides lines with no match in the other file (and runs of lines
//!    with too many matches next to them) from the search: they are changes anyway;
//! 4. `xdl_recs_cmp`/`xdl_split`: Myers' linear-space divide and conquer, minimal except for
//!    the first split and for git's cost heuristics on large inputs (edit cost above 256);
//! 5. `xdl_change_compact` on both files: slide each change group as far down as it goes,
//!    then back up to line up with a change group in the other file if it can;
//! 6. `xdl_build_script`: the hunks.
//!
//! Every step decides *which* of several equally short edit scripts is reported, and the
//! three-way merge built on top (see `xmerge`) reports conflicts per hunk, so any deviation
//! shows up as a different merge. `similar`'s Myers, for example, finds scripts of the same
//! length but breaks ties differently (no discarding, no sliding), which is why this is a port
//! and not a wrapper. Names follow the C source so the two can be read side by side.

use std::collections::HashMap;

/// One hunk: `chg1` lines of the first file from `i1` become `chg2` lines of the second from `i2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Change {
    pub i1: usize,
    pub i2: usize,
    pub chg1: usize,
    pub chg2: usize,
}

/// Splits text into xdiff records: each ends after its `\n`; the last one may have none.
pub(super) fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The edit script turning `a` into `b`, hunks in order, as git's default Myers diff finds it.
pub(super) fn diff<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<Change> {
    // xdl_prepare_env: every distinct line gets a class id; count occurrences per file.
    let mut classes: HashMap<&'a str, usize> = HashMap::new();
    let mut counts: Vec<[usize; 2]> = Vec::new();
    let mut classify = |lines: &[&'a str], side: usize| -> Vec<usize> {
        lines
            .iter()
            .map(|&line| {
                let id = *classes.entry(line).or_insert_with(|| {
                    counts.push([0, 0]);
                    counts.len() - 1
                });
                counts[id][side] += 1;
                id
            })
            .collect()
    };
    let ha1 = classify(a, 0);
    let ha2 = classify(b, 1);
    let mut f1 = XdFile::new(ha1);
    let mut f2 = XdFile::new(ha2);

    trim_ends(&mut f1, &mut f2);
    cleanup_records(&mut f1, &mut f2, &counts);
    do_myers(&mut f1, &mut f2);
    change_compact(&mut f1, &f2);
    change_compact(&mut f2, &f1);
    build_script(&f1, &f2)
}

/// xdfile_t: one side of a diff.
struct XdFile {
    /// Class id of every record.
    ha: Vec<usize>,
    /// `changed[i + 1]` says whether record `i` is changed; the ends are guards that stay false.
    changed: Vec<bool>,
    /// The records Myers looks at (`rindex`), i.e. neither trimmed nor discarded.
    rindex: Vec<usize>,
    /// First record after the common prefix (`dstart`).
    dstart: usize,
    /// Last record before the common suffix (`dend`); -1 when that is before the first record.
    dend: isize,
}

impl XdFile {
    fn new(ha: Vec<usize>) -> Self {
        let n = ha.len();
        XdFile { ha, changed: vec![false; n + 2], rindex: Vec::new(), dstart: 0, dend: n as isize - 1 }
    }

    fn nrec(&self) -> isize {
        self.ha.len() as isize
    }

    fn is_changed(&self, i: isize) -> bool {
        self.changed[(i + 1) as usize]
    }

    fn set_changed(&mut self, i: isize, value: bool) {
        self.changed[(i + 1) as usize] = value;
    }

    fn recs_match(&self, i: isize, j: isize) -> bool {
        self.ha[i as usize] == self.ha[j as usize]
    }
}

/// xdl_bogosqrt: a power of two near the square root.
fn bogosqrt(mut n: usize) -> usize {
    let mut i = 1;
    while n > 0 {
        i <<= 1;
        n >>= 2;
    }
    i
}

/// xdl_trim_ends: leave the common prefix and suffix out of the search.
fn trim_ends(f1: &mut XdFile, f2: &mut XdFile) {
    let (n1, n2) = (f1.ha.len(), f2.ha.len());
    let lim = n1.min(n2);
    let mut i = 0;
    while i < lim && f1.ha[i] == f2.ha[i] {
        i += 1;
    }
    f1.dstart = i;
    f2.dstart = i;
    let lim = lim - i;
    let mut j = 0;
    while j < lim && f1.ha[n1 - 1 - j] == f2.ha[n2 - 1 - j] {
        j += 1;
    }
    f1.dend = n1 as isize - j as isize - 1;
    f2.dend = n2 as isize - j as isize - 1;
}

const XDL_KPDIS_RUN: usize = 4;
const XDL_MAX_EQLIMIT: usize = 1024;
const XDL_SIMSCAN_WINDOW: isize = 100;

/// Match kinds of `xdl_cleanup_records`: no match in the other file, some, or too many.
const NONE: u8 = 0;
const SOME: u8 = 1;
const TOO_MANY: u8 = 2;

/// xdl_cleanup_records: records without a match in the other file are changed for sure, so
/// they are marked changed and left out of the search; so are lines with many matches that sit
/// in a run dominated by such lines.
fn cleanup_records(f1: &mut XdFile, f2: &mut XdFile, counts: &[[usize; 2]]) {
    let dis1 = match_kinds(f1, counts, 1);
    let dis2 = match_kinds(f2, counts, 0);
    keep_or_discard(f1, &dis1);
    keep_or_discard(f2, &dis2);
}

/// For each record of `f` in `dstart..=dend`, how often its line occurs in the other file.
fn match_kinds(f: &XdFile, counts: &[[usize; 2]], other: usize) -> Vec<u8> {
    let mlim = bogosqrt(f.ha.len()).min(XDL_MAX_EQLIMIT);
    let mut dis = vec![NONE; f.ha.len() + 1];
    for i in f.dstart as isize..=f.dend {
        let nm = counts[f.ha[i as usize]][other];
        dis[i as usize] = if nm == 0 {
            NONE
        } else if nm >= mlim {
            TOO_MANY
        } else {
            SOME
        };
    }
    dis
}

fn keep_or_discard(f: &mut XdFile, dis: &[u8]) {
    for i in f.dstart as isize..=f.dend {
        let kind = dis[i as usize];
        if kind == SOME || (kind == TOO_MANY && !clean_mmatch(dis, i, f.dstart as isize, f.dend)) {
            f.rindex.push(i as usize);
        } else {
            f.set_changed(i, true);
        }
    }
}

/// xdl_clean_mmatch: should the many-matches line `i` be discarded? Only when it sits in the
/// middle of a run (within a window) in which lines without a match dominate.
fn clean_mmatch(dis: &[u8], i: isize, mut s: isize, mut e: isize) -> bool {
    if i - s > XDL_SIMSCAN_WINDOW {
        s = i - XDL_SIMSCAN_WINDOW;
    }
    if e - i > XDL_SIMSCAN_WINDOW {
        e = i + XDL_SIMSCAN_WINDOW;
    }
    let (mut rdis0, mut rpdis0) = (0usize, 1usize);
    let mut r = 1;
    while i - r >= s {
        match dis[(i - r) as usize] {
            NONE => rdis0 += 1,
            TOO_MANY => rpdis0 += 1,
            _ => break,
        }
        r += 1;
    }
    if rdis0 == 0 {
        return false;
    }
    let (mut rdis1, mut rpdis1) = (0usize, 1usize);
    r = 1;
    while i + r <= e {
        match dis[(i + r) as usize] {
            NONE => rdis1 += 1,
            TOO_MANY => rpdis1 += 1,
            _ => break,
        }
        r += 1;
    }
    if rdis1 == 0 {
        return false;
    }
    rdis1 += rdis0;
    rpdis1 += rpdis0;
    rpdis1 * XDL_KPDIS_RUN < rpdis1 + rdis1
}

const XDL_MAX_COST_MIN: isize = 256;
const XDL_HEUR_MIN_COST: isize = 256;
const XDL_LINE_MAX: isize = isize::MAX;
const XDL_SNAKE_CNT: isize = 20;
const XDL_K_HEUR: isize = 4;

/// xdpsplit_t: where to split a box, and whether each half must be solved minimally.
struct Split {
    i1: isize,
    i2: isize,
    min_lo: bool,
    min_hi: bool,
}

/// The state of xdl_do_diff's Myers search over the kept records (`rindex`) of both files.
struct Myers {
    ha1: Vec<usize>,
    ha2: Vec<usize>,
    rchg1: Vec<bool>,
    rchg2: Vec<bool>,
    /// Forward and backward furthest-reaching paths, indexed by diagonal + `koff`.
    kvdf: Vec<isize>,
    kvdb: Vec<isize>,
    koff: isize,
    mxcost: isize,
}

/// xdl_do_diff (Myers): marks the changed records of both files.
fn do_myers(f1: &mut XdFile, f2: &mut XdFile) {
    let ha1: Vec<usize> = f1.rindex.iter().map(|&i| f1.ha[i]).collect();
    let ha2: Vec<usize> = f2.rindex.iter().map(|&i| f2.ha[i]).collect();
    let (n1, n2) = (ha1.len(), ha2.len());
    let ndiags = n1 + n2 + 3;
    let mut m = Myers {
        ha1,
        ha2,
        rchg1: vec![false; n1],
        rchg2: vec![false; n2],
        kvdf: vec![0; ndiags],
        kvdb: vec![0; ndiags],
        koff: n2 as isize + 1,
        mxcost: (bogosqrt(ndiags) as isize).max(XDL_MAX_COST_MIN),
    };
    // XDF_NEED_MINIMAL is not set by `git merge-file`.
    m.recs_cmp(0, n1 as isize, 0, n2 as isize, false);
    mark_changed(f1, &m.rchg1);
    mark_changed(f2, &m.rchg2);
}

fn mark_changed(f: &mut XdFile, rchg: &[bool]) {
    for (&i, &changed) in f.rindex.iter().zip(rchg) {
        if changed {
            f.changed[i + 1] = true;
        }
    }
}

impl Myers {
    fn eq(&self, i1: isize, i2: isize) -> bool {
        self.ha1[i1 as usize] == self.ha2[i2 as usize]
    }

    fn f(&self, d: isize) -> isize {
        self.kvdf[(d + self.koff) as usize]
    }

    fn set_f(&mut self, d: isize, v: isize) {
        self.kvdf[(d + self.koff) as usize] = v;
    }

    fn b(&self, d: isize) -> isize {
        self.kvdb[(d + self.koff) as usize]
    }

    fn set_b(&mut self, d: isize, v: isize) {
        self.kvdb[(d + self.koff) as usize] = v;
    }

    /// xdl_recs_cmp: divide and conquer over the box `off1..lim1` x `off2..lim2`. git recurses;
    /// a work list does the same (the boxes are disjoint, so their order does not matter) without
    /// a stack depth that grows with the input.
    fn recs_cmp(&mut self, off1: isize, lim1: isize, off2: isize, lim2: isize, need_min: bool) {
        let mut boxes = vec![(off1, lim1, off2, lim2, need_min)];
        while let Some((mut off1, mut lim1, mut off2, mut lim2, need_min)) = boxes.pop() {
            // Shrink the box by walking through each diagonal snake (SW and NE).
            while off1 < lim1 && off2 < lim2 && self.eq(off1, off2) {
                off1 += 1;
                off2 += 1;
            }
            while off1 < lim1 && off2 < lim2 && self.eq(lim1 - 1, lim2 - 1) {
                lim1 -= 1;
                lim2 -= 1;
            }
            if off1 == lim1 {
                for i in off2..lim2 {
                    self.rchg2[i as usize] = true;
                }
            } else if off2 == lim2 {
                for i in off1..lim1 {
                    self.rchg1[i as usize] = true;
                }
            } else {
                let spl = self.split(off1, lim1, off2, lim2, need_min);
                boxes.push((spl.i1, lim1, spl.i2, lim2, spl.min_hi));
                boxes.push((off1, spl.i1, off2, spl.i2, spl.min_lo));
            }
        }
    }

    /// xdl_split: find the middle snake of the box (or, past the cost limits, a good enough
    /// split point).
    fn split(&mut self, off1: isize, lim1: isize, off2: isize, lim2: isize, need_min: bool) -> Split {
        let (dmin, dmax) = (off1 - lim2, lim1 - off2);
        let (fmid, bmid) = (off1 - off2, lim1 - lim2);
        let odd = (fmid - bmid) & 1 != 0;
        let (mut fmin, mut fmax) = (fmid, fmid);
        let (mut bmin, mut bmax) = (bmid, bmid);

        self.set_f(fmid, off1);
        self.set_b(bmid, lim1);

        let mut ec: isize = 0;
        loop {
            ec += 1;
            let mut got_snake = false;

            // Extend the forward domain by one diagonal each way (or shrink it at the box
            // edges), with -1 guards outside it.
            if fmin > dmin {
                fmin -= 1;
                self.set_f(fmin - 1, -1);
            } else {
                fmin += 1;
            }
            if fmax < dmax {
                fmax += 1;
                self.set_f(fmax + 1, -1);
            } else {
                fmax -= 1;
            }
            let mut d = fmax;
            while d >= fmin {
                let mut i1 = if self.f(d - 1) >= self.f(d + 1) { self.f(d - 1) + 1 } else { self.f(d + 1) };
                let prev1 = i1;
                let mut i2 = i1 - d;
                while i1 < lim1 && i2 < lim2 && self.eq(i1, i2) {
                    i1 += 1;
                    i2 += 1;
                }
                if i1 - prev1 > XDL_SNAKE_CNT {
                    got_snake = true;
                }
                self.set_f(d, i1);
                if odd && bmin <= d && d <= bmax && self.b(d) <= i1 {
                    return Split { i1, i2, min_lo: true, min_hi: true };
                }
                d -= 2;
            }

            // The same backward.
            if bmin > dmin {
                bmin -= 1;
                self.set_b(bmin - 1, XDL_LINE_MAX);
            } else {
                bmin += 1;
            }
            if bmax < dmax {
                bmax += 1;
                self.set_b(bmax + 1, XDL_LINE_MAX);
            } else {
                bmax -= 1;
            }
            let mut d = bmax;
            while d >= bmin {
                let mut i1 = if self.b(d - 1) < self.b(d + 1) { self.b(d - 1) } else { self.b(d + 1) - 1 };
                let prev1 = i1;
                let mut i2 = i1 - d;
                while i1 > off1 && i2 > off2 && self.eq(i1 - 1, i2 - 1) {
                    i1 -= 1;
                    i2 -= 1;
                }
                if prev1 - i1 > XDL_SNAKE_CNT {
                    got_snake = true;
                }
                self.set_b(d, i1);
                if !odd && fmin <= d && d <= fmax && i1 <= self.f(d) {
                    return Split { i1, i2, min_lo: true, min_hi: true };
                }
                d -= 2;
            }

            if need_min {
                continue;
            }

            // If the edit cost is above the heuristic trigger and we got a good snake, take a
            // diagonal that has reached far (and ends in a snake of XDL_SNAKE_CNT lines).
            if got_snake && ec > XDL_HEUR_MIN_COST {
                if let Some((i1, i2)) = self.far_forward_snake(ec, fmin, fmax, fmid, off1, lim1, off2, lim2) {
                    count_heuristic(0);
                    return Split { i1, i2, min_lo: true, min_hi: false };
                }
                if let Some((i1, i2)) = self.far_backward_snake(ec, bmin, bmax, bmid, off1, lim1, off2, lim2) {
                    count_heuristic(1);
                    return Split { i1, i2, min_lo: false, min_hi: true };
                }
            }

            // Enough is enough: take the furthest reaching path.
            if ec >= self.mxcost {
                count_heuristic(2);
                return self.furthest_split(fmin, fmax, bmin, bmax, off1, lim1, off2, lim2);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn far_forward_snake(
        &self,
        ec: isize,
        fmin: isize,
        fmax: isize,
        fmid: isize,
        off1: isize,
        lim1: isize,
        off2: isize,
        lim2: isize,
    ) -> Option<(isize, isize)> {
        let mut best = 0;
        let mut found = None;
        let mut d = fmax;
        while d >= fmin {
            let dd = (d - fmid).abs();
            let i1 = self.f(d);
            let i2 = i1 - d;
            let v = (i1 - off1) + (i2 - off2) - dd;
            if v > XDL_K_HEUR * ec
                && v > best
                && off1 + XDL_SNAKE_CNT <= i1
                && i1 < lim1
                && off2 + XDL_SNAKE_CNT <= i2
                && i2 < lim2
            {
                let mut k = 1;
                while self.eq(i1 - k, i2 - k) {
                    if k == XDL_SNAKE_CNT {
                        best = v;
                        found = Some((i1, i2));
                        break;
                    }
                    k += 1;
                }
            }
            d -= 2;
        }
        found
    }

    #[allow(clippy::too_many_arguments)]
    fn far_backward_snake(
        &self,
        ec: isize,
        bmin: isize,
        bmax: isize,
        bmid: isize,
        off1: isize,
        lim1: isize,
        off2: isize,
        lim2: isize,
    ) -> Option<(isize, isize)> {
        let mut best = 0;
        let mut found = None;
        let mut d = bmax;
        while d >= bmin {
            let dd = (d - bmid).abs();
            let i1 = self.b(d);
            let i2 = i1 - d;
            let v = (lim1 - i1) + (lim2 - i2) - dd;
            if v > XDL_K_HEUR * ec
                && v > best
                && off1 < i1
                && i1 <= lim1 - XDL_SNAKE_CNT
                && off2 < i2
                && i2 <= lim2 - XDL_SNAKE_CNT
            {
                let mut k = 0;
                while self.eq(i1 + k, i2 + k) {
                    if k == XDL_SNAKE_CNT - 1 {
                        best = v;
                        found = Some((i1, i2));
                        break;
                    }
                    k += 1;
                }
            }
            d -= 2;
        }
        found
    }

    #[allow(clippy::too_many_arguments)]
    fn furthest_split(
        &self,
        fmin: isize,
        fmax: isize,
        bmin: isize,
        bmax: isize,
        off1: isize,
        lim1: isize,
        off2: isize,
        lim2: isize,
    ) -> Split {
        let (mut fbest, mut fbest1) = (-1, -1);
        let mut d = fmax;
        while d >= fmin {
            let mut i1 = self.f(d).min(lim1);
            let mut i2 = i1 - d;
            if lim2 < i2 {
                i1 = lim2 + d;
                i2 = lim2;
            }
            if fbest < i1 + i2 {
                fbest = i1 + i2;
                fbest1 = i1;
            }
            d -= 2;
        }
        let (mut bbest, mut bbest1) = (XDL_LINE_MAX, XDL_LINE_MAX);
        let mut d = bmax;
        while d >= bmin {
            let mut i1 = off1.max(self.b(d));
            let mut i2 = i1 - d;
            if i2 < off2 {
                i1 = off2 + d;
                i2 = off2;
            }
            if i1 + i2 < bbest {
                bbest = i1 + i2;
                bbest1 = i1;
            }
            d -= 2;
        }
        if (lim1 + lim2) - bbest < fbest - (off1 + off2) {
            Split { i1: fbest1, i2: fbest - fbest1, min_lo: true, min_hi: false }
        } else {
            Split { i1: bbest1, i2: bbest - bbest1, min_lo: false, min_hi: true }
        }
    }
}

/// struct xdlgroup: a run of changed lines `start..end`, possibly empty (then it sits above the
/// unchanged line `start`).
#[derive(Debug, Clone, Copy)]
struct Group {
    start: isize,
    end: isize,
}

impl Group {
    fn first(f: &XdFile) -> Group {
        let mut end = 0;
        while f.is_changed(end) {
            end += 1;
        }
        Group { start: 0, end }
    }

    fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// group_next: move to the next group; false at the end of the file.
    fn next(&mut self, f: &XdFile) -> bool {
        if self.end == f.nrec() {
            return false;
        }
        self.start = self.end + 1;
        self.end = self.start;
        while f.is_changed(self.end) {
            self.end += 1;
        }
        true
    }

    /// group_previous: move to the previous group; false at the start of the file.
    fn previous(&mut self, f: &XdFile) -> bool {
        if self.start == 0 {
            return false;
        }
        self.end = self.start - 1;
        self.start = self.end;
        while f.is_changed(self.start - 1) {
            self.start -= 1;
        }
        true
    }

    /// group_slide_down: slide one line down if the line after equals the first, merging with
    /// a group it bumps into.
    fn slide_down(&mut self, f: &mut XdFile) -> bool {
        if self.end < f.nrec() && f.recs_match(self.start, self.end) {
            f.set_changed(self.start, false);
            self.start += 1;
            f.set_changed(self.end, true);
            self.end += 1;
            while f.is_changed(self.end) {
                self.end += 1;
            }
            true
        } else {
            false
        }
    }

    /// group_slide_up: the mirror image of `slide_down`.
    fn slide_up(&mut self, f: &mut XdFile) -> bool {
        if self.start > 0 && f.recs_match(self.start - 1, self.end - 1) {
            self.start -= 1;
            f.set_changed(self.start, true);
            self.end -= 1;
            f.set_changed(self.end, false);
            while f.is_changed(self.start - 1) {
                self.start -= 1;
            }
            true
        } else {
            false
        }
    }
}

/// xdl_change_compact without the indent heuristic (merge-file does not enable it): slide every
/// change group of `xdf` as far down as possible, merging groups that meet, then back up to the
/// last position where it lines up with a change group of `xdfo`, if there is one.
fn change_compact(xdf: &mut XdFile, xdfo: &XdFile) {
    const SYNC: &str = "xdiff: group sync broken";
    let mut g = Group::first(xdf);
    let mut go = Group::first(xdfo);
    loop {
        if !g.is_empty() {
            let mut earliest_end;
            let mut end_matching_other;
            loop {
                let groupsize = g.end - g.start;
                end_matching_other = -1;
                while g.slide_up(xdf) {
                    assert!(go.previous(xdfo), "{SYNC} sliding up");
                }
                earliest_end = g.end;
                if !go.is_empty() {
                    end_matching_other = g.end;
                }
                while g.slide_down(xdf) {
                    assert!(go.next(xdfo), "{SYNC} sliding down");
                    if !go.is_empty() {
                        end_matching_other = g.end;
                    }
                }
                if groupsize == g.end - g.start {
                    break;
                }
            }
            if g.end != earliest_end && end_matching_other != -1 {
                while go.is_empty() {
                    assert!(g.slide_up(xdf), "xdiff: match disappeared");
                    assert!(go.previous(xdfo), "{SYNC} sliding to match");
                }
            }
        }
        if !g.next(xdf) {
            break;
        }
        assert!(go.next(xdfo), "{SYNC} moving to next group");
    }
    assert!(!go.next(xdfo), "{SYNC} at end of file");
}

/// xdl_build_script: pair up the unchanged lines of both files; what lies between is a hunk.
fn build_script(f1: &XdFile, f2: &XdFile) -> Vec<Change> {
    let (n1, n2) = (f1.nrec(), f2.nrec());
    let mut script = Vec::new();
    let (mut i1, mut i2) = (0, 0);
    while i1 < n1 || i2 < n2 {
        if f1.is_changed(i1) || f2.is_changed(i2) {
            let (s1, s2) = (i1, i2);
            while f1.is_changed(i1) {
                i1 += 1;
            }
            while f2.is_changed(i2) {
                i2 += 1;
            }
            script.push(Change {
                i1: s1 as usize,
                i2: s2 as usize,
                chg1: (i1 - s1) as usize,
                chg2: (i2 - s2) as usize,
            });
        } else {
            debug_assert!(i1 < n1 && i2 < n2, "unchanged lines must pair up");
            i1 += 1;
            i2 += 1;
        }
    }
    script
}

#[cfg(test)]
thread_local! {
    /// Counts, per test thread, how often the cost heuristics of `Myers::split` decided a
    /// split: good forward snake, good backward snake, furthest-reaching fallback. Tests use
    /// this to show that they exercise those paths.
    static HEURISTICS_USED: std::cell::Cell<[usize; 3]> = const { std::cell::Cell::new([0; 3]) };
}

#[cfg(test)]
pub(super) fn reset_heuristics_used() {
    HEURISTICS_USED.set([0; 3]);
}

#[cfg(test)]
pub(super) fn heuristics_used() -> [usize; 3] {
    HEURISTICS_USED.get()
}

#[cfg(test)]
fn count_heuristic(which: usize) {
    let mut used = HEURISTICS_USED.get();
    used[which] += 1;
    HEURISTICS_USED.set(used);
}

#[cfg(not(test))]
fn count_heuristic(_which: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(a: &str, b: &str) -> Vec<(usize, usize, usize, usize)> {
        diff(&split_lines(a), &split_lines(b)).iter().map(|c| (c.i1, c.chg1, c.i2, c.chg2)).collect()
    }

    #[test]
    fn records_keep_their_line_endings() {
        assert_eq!(split_lines(""), Vec::<&str>::new());
        assert_eq!(split_lines("a\r\nb"), vec!["a\r\n", "b"]);
        assert_eq!(split_lines("a\n\n"), vec!["a\n", "\n"]);
    }

    #[test]
    fn simple_scripts() {
        assert_eq!(d("", ""), vec![]);
        assert_eq!(d("a\n", "a\n"), vec![]);
        assert_eq!(d("", "a\n"), vec![(0, 0, 0, 1)]);
        assert_eq!(d("a\nb\nc\n", "a\nx\nc\n"), vec![(1, 1, 1, 1)]);
        // The missing newline makes the last line differ.
        assert_eq!(d("a\nb\n", "a\nb"), vec![(1, 1, 1, 1)]);
    }

    #[test]
    fn insertions_slide_down_like_git() {
        // "b\na\n" inserted into "a\nb\na\n" could go at 1 or 3; xdiff slides it to the end.
        assert_eq!(d("a\nb\na\n", "a\nb\na\nb\na\n"), vec![(3, 0, 3, 2)]);
    }
}
