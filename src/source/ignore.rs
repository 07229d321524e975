//! `.chezmoiignore`: which targets chezmoi leaves alone.
//!
//! dotback must ignore exactly what chezmoi ignores, or the two tools would
//! disagree about which files a store manages. The rules below were checked
//! one by one against `chezmoi ignored` and `chezmoi managed` (v2.73):
//!
//! - One pattern per line. A comment starts at a `#` that begins the line or
//!   follows whitespace (`weird#name` is a pattern, `notes.txt # x` is
//!   `notes.txt`); then surrounding whitespace is trimmed and blank lines
//!   are skipped.
//! - A leading `!` makes an *exclusion*. The pattern is matched against the
//!   target path relative to the destination directory (`.config/nvim`, not
//!   the source name `dot_config/nvim`), after `path.Clean` (`./x`, `x/`,
//!   `a//b` are `x`, `x`, `a/b`). An absolute pattern, a `..` component or an
//!   empty pattern (`!` alone) is an error: chezmoi refuses the whole file
//!   ("invalid path"), as it does for an unbalanced `[`, `{` or `}` or a
//!   trailing `\` ("invalid pattern").
//! - Glob syntax is that of Go's `doublestar` v4, which chezmoi uses: `*` and
//!   `?` never match `/`; `[abc]`, `[a-z]`, `[!x]`/`[^x]`; `{a,b}` alternatives
//!   (nested); `\` escapes; `**` as a whole path segment matches any number of
//!   segments (`**/c`, `a/**/b`), and `a/**` also matches `a` itself; a `**`
//!   inside a segment is just `*`. Dot-files get no special treatment
//!   (`*` matches `.bashrc`).
//! - **Priority**: an exclusion always wins, whatever the order of the lines
//!   (`!README.md` then `README.md` leaves README.md managed, and so does the
//!   reverse order). Then a target matching an include pattern is ignored.
//!   A target matching neither is ignored **only if the file(s) contain
//!   exclusions and no include pattern at all**: a `.chezmoiignore` holding
//!   just `!foo` ignores everything except `foo`. Surprising, but that is what
//!   chezmoi does.
//! - A directory that is ignored takes everything below it along: chezmoi
//!   never looks inside it, so `dir1` plus `!dir1/sub` still ignores
//!   `dir1/sub`, and `.config/**` (which matches `.config` itself) plus
//!   `!.config/nvim/init.lua` ignores all of `.config`. (Strictly, chezmoi
//!   prunes with the files it has read so far in its walk; see
//!   [`IgnoreRules::is_ignored`] for the corner cases and how dotback
//!   resolves them.)
//! - A `.chezmoiignore` in a source subdirectory applies to that directory's
//!   target path (`dot_config/.chezmoiignore` with `*.fish` means
//!   `.config/*.fish`), and all files feed one set of patterns: see
//!   [`IgnoreRules::add_file`].
//!
//! # Templates
//!
//! chezmoi runs `.chezmoiignore` through its template engine first. dotback
//! evaluates the conditions real stores use itself (see
//! [`super::ignore_template`]) with the device's [`Facts`]; what it cannot
//! evaluate leaves lines that may or may not exist after rendering:
//!
//! ```text
//! {{ if lookPath "code" }}
//! .vscode
//! {{ end }}
//! ```
//!
//! Such a line is treated *conservatively*: [`IgnoreRules::is_ignored`]
//! answers "chezmoi might ignore this", because wrongly ignoring a target only
//! makes dotback leave a file alone (and say so), while wrongly managing one
//! could put a file where the user meant to keep it out. Each undecided line is
//! assumed present or absent, whichever ignores more (an undecided include
//! pattern is applied, an undecided `!` exclusion never rescues anything), and
//! a line whose text dotback cannot compute may be any pattern: it may ignore
//! everything. [`IgnoreRules::is_undecided`] tells such targets from those
//! chezmoi ignores for sure, so they can be listed. Without undecided lines
//! the answer is exactly chezmoi's.
//!
//! With chezmoi installed, the caller may instead ask chezmoi which targets it
//! ignores ([`IgnoreRules::from_chezmoi`]).

use super::ignore_template::{self, Certainty, Facts};
use std::collections::HashSet;

/// The parsed ignore rules of a store.
#[derive(Clone, Debug, Default)]
pub struct IgnoreRules {
    /// One entry per `.chezmoiignore`, in the order they were added (which
    /// matters for directories chezmoi prunes while it walks the store).
    files: Vec<FileRules>,
    /// Some file holds template syntax.
    templated: bool,
    /// What `chezmoi ignored` listed, when chezmoi was asked: then it is the
    /// whole answer.
    chezmoi: Option<HashSet<String>>,
}

/// The patterns of one `.chezmoiignore`.
#[derive(Clone, Debug, Default)]
struct FileRules {
    /// Include patterns that are always present.
    include: Vec<Pattern>,
    /// Exclusions that are always present.
    exclude: Vec<Pattern>,
    /// Include patterns on undecided lines: maybe present.
    maybe_include: Vec<Pattern>,
    /// Exclusions on undecided lines: maybe present.
    maybe_exclude: Vec<Pattern>,
}

/// A `.chezmoiignore` line chezmoi rejects, which makes chezmoi refuse the
/// whole store.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum IgnoreError {
    #[error(
        ".chezmoiignore line {line}: `{pattern}` is not a relative path inside the destination \
         directory (it is empty, absolute or has a `..` component); chezmoi rejects the file"
    )]
    InvalidPath { line: usize, pattern: String },
    #[error(
        ".chezmoiignore line {line}: `{pattern}` is not a valid pattern (unbalanced `[`, `{{` or \
         `}}`, an empty `[]`, or a trailing `\\`); chezmoi rejects the file"
    )]
    InvalidPattern { line: usize, pattern: String },
    #[error(
        ".chezmoiignore line {line}: `{pattern}` expands to more than {MAX_ALTERNATIVES} \
         alternatives; dotback refuses to evaluate it"
    )]
    TooComplex { line: usize, pattern: String },
}

/// Bound on the number of `{a,b}` combinations in one pattern, so that a
/// hostile store cannot make matching exponential.
const MAX_ALTERNATIVES: usize = 1024;

#[derive(Clone, Debug)]
struct Pattern(String);

impl Pattern {
    fn matches(&self, name: &str) -> bool {
        glob_match(&self.0, name)
    }
}

impl IgnoreRules {
    /// No rules: nothing is ignored.
    pub fn new() -> IgnoreRules {
        IgnoreRules::default()
    }

    /// The targets chezmoi listed as ignored (`chezmoi ignored`): a target is ignored when it
    /// or a directory above it is listed. Files added later are not read.
    pub fn from_chezmoi(ignored: impl IntoIterator<Item = String>) -> IgnoreRules {
        IgnoreRules { chezmoi: Some(ignored.into_iter().collect()), ..IgnoreRules::default() }
    }

    /// These rules, with the targets chezmoi listed as ignored (`chezmoi ignored`) deciding
    /// what the templates left undecided: a target is ignored when chezmoi lists it (or a
    /// directory above it), or when these rules surely ignore it (a file not in the store yet,
    /// which chezmoi does not list).
    pub fn with_chezmoi(self, ignored: impl IntoIterator<Item = String>) -> IgnoreRules {
        IgnoreRules { chezmoi: Some(ignored.into_iter().collect()), ..self }
    }

    /// Parse `.chezmoiignore` text, knowing nothing about the device (every template condition
    /// is undecided). Lines chezmoi rejects (an absolute path, a `..`, an unbalanced `[`/`{`)
    /// are not applied and are returned. chezmoi refuses the whole store in that case, so
    /// prefer [`IgnoreRules::try_parse`], which says which line and why.
    pub fn parse(text: &str) -> (IgnoreRules, Vec<String>) {
        let mut rules = IgnoreRules::new();
        // Lenient mode reports bad lines instead of failing.
        let skipped = rules.add_text("", text, false, &Facts::default()).unwrap_or_default();
        (rules, skipped)
    }

    /// Like [`IgnoreRules::parse`], but a line chezmoi rejects is an error, as it is for chezmoi.
    pub fn try_parse(text: &str) -> Result<IgnoreRules, IgnoreError> {
        let mut rules = IgnoreRules::new();
        rules.add_text("", text, true, &Facts::default())?;
        Ok(rules)
    }

    /// Add the patterns of a `.chezmoiignore` found in a source subdirectory, its templates
    /// evaluated with `facts`. `dir` is that directory's *target* path relative to the
    /// destination ("" for the root, `.config` for `dot_config/`); its patterns are relative to
    /// it. All files share one rule set, which matters for the "only exclusions" rule in the
    /// module docs. On error nothing is added. A line chezmoi would surely render and reject is
    /// an error; an undecided one chezmoi might reject may ignore anything.
    pub fn add_file(&mut self, dir: &str, text: &str, facts: &Facts) -> Result<(), IgnoreError> {
        if self.chezmoi.is_none() {
            self.add_text(dir, text, true, facts)?;
        }
        Ok(())
    }

    /// Whether some file added holds template syntax.
    pub fn is_templated(&self) -> bool {
        self.templated
    }

    fn add_text(&mut self, dir: &str, text: &str, strict: bool, facts: &Facts) -> Result<Vec<String>, IgnoreError> {
        let mut new = FileRules::default();
        let mut skipped = Vec::new();
        let templated = ignore_template::is_template(text);
        for rendered in ignore_template::render(text, facts) {
            let (line, raw) = (rendered.number, rendered.text.as_str());
            let maybe = match rendered.certainty {
                Certainty::Certain => false,
                Certainty::Maybe => true,
                Certainty::Unknown => {
                    new.maybe_include.push(Pattern("**".to_owned()));
                    continue;
                }
            };
            let body = raw[..comment_start(raw)].trim();
            if body.is_empty() {
                continue;
            }
            let (exclude, pattern) = match body.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, body),
            };
            let pattern = match compile(dir, pattern, line) {
                Ok(pattern) => pattern,
                // chezmoi may reject the file on some evaluation: anything may be ignored.
                Err(_) if maybe => Pattern("**".to_owned()),
                Err(err) if strict => return Err(err),
                Err(_) => {
                    skipped.push(raw.trim().to_owned());
                    continue;
                }
            };
            let list = match (maybe, exclude) {
                (false, false) => &mut new.include,
                (false, true) => &mut new.exclude,
                (true, false) => &mut new.maybe_include,
                (true, true) => &mut new.maybe_exclude,
            };
            list.push(pattern);
        }
        self.files.push(new);
        self.templated |= templated;
        Ok(skipped)
    }

    /// `target` is a '/'-separated path relative to the destination dir (e.g.
    /// ".config/nvim/init.lua").
    ///
    /// True if chezmoi ignores the target or may ignore it (with template blocks: on some
    /// machine). The target itself is checked against all the rules, and so is every directory
    /// above it, since chezmoi does not look inside a directory it ignores. That last check is
    /// deliberately a little wider than chezmoi's: chezmoi prunes a directory only if the
    /// `.chezmoiignore` files it has read *so far* in its walk ignore it (it walks the store in
    /// byte order, so a root directory named `-x` or `+x`, sorting before `.chezmoiignore`, is
    /// never pruned, and a subdirectory's file only prunes what comes after it), then drops each
    /// remaining target that the complete rules ignore. Here a directory counts as ignored if
    /// the first *k* files ignore it, for any *k* (files in the order they were added), so a
    /// target chezmoi would skip is always skipped, and a few that chezmoi would still manage
    /// are skipped too. [`IgnoreRules::ignores_path`] is the exact building block for a caller
    /// that replicates chezmoi's walk.
    pub fn is_ignored(&self, target: &str) -> bool {
        self.ignored_by(target, ignores)
    }

    /// Whether the target is ignored only because of lines dotback could not decide: chezmoi
    /// may or may not ignore it. [`IgnoreRules::is_ignored`] is true for it.
    pub fn is_undecided(&self, target: &str) -> bool {
        self.is_ignored(target) && !self.ignored_by(target, surely_ignores)
    }

    /// [`IgnoreRules::is_ignored`] with `test` as the per-path rule.
    fn ignored_by(&self, target: &str, test: fn(&[FileRules], &str) -> bool) -> bool {
        let target = target.trim_end_matches('/');
        if target.is_empty() {
            return false;
        }
        let dirs = || target.match_indices('/').map(|(i, _)| &target[..i]);
        if let Some(listed) = &self.chezmoi {
            let own = |t: &str| surely_ignores(&self.files, t);
            return listed.contains(target) || dirs().any(|dir| listed.contains(dir)) || own(target) || dirs().any(own);
        }
        test(&self.files, target) || dirs().any(|dir| (1..=self.files.len()).any(|k| test(&self.files[..k], dir)))
    }

    /// Whether the complete rules ignore exactly this target, not looking at the directories
    /// above it: chezmoi's final filter, and (with the rules read so far) its pruning test for a
    /// directory during its walk.
    pub fn ignores_path(&self, target: &str) -> bool {
        match &self.chezmoi {
            Some(listed) => listed.contains(target) || surely_ignores(&self.files, target),
            None => ignores(&self.files, target),
        }
    }
}

/// Whether `files` ignore `path` whatever the undecided lines turn out to be: no exclusion
/// that may exist matches it, and a sure include pattern does, or no include pattern may exist
/// and a sure exclusion does (chezmoi's "only exclusions" default).
fn surely_ignores(files: &[FileRules], path: &str) -> bool {
    let any = |select: fn(&FileRules) -> &[Pattern]| files.iter().flat_map(select).any(|p| p.matches(path));
    if any(|f| &f.exclude) || any(|f| &f.maybe_exclude) {
        return false;
    }
    if any(|f| &f.include) {
        return true;
    }
    files.iter().all(|f| f.include.is_empty() && f.maybe_include.is_empty())
        && files.iter().any(|f| !f.exclude.is_empty())
}

/// Whether `files` together ignore `path` (itself), or may ignore it when
/// some lines are undecided.
fn ignores(files: &[FileRules], path: &str) -> bool {
    let any = |select: fn(&FileRules) -> &[Pattern]| files.iter().flat_map(select).any(|p| p.matches(path));
    if any(|f| &f.exclude) {
        // An unconditional exclusion always wins.
        return false;
    }
    if any(|f| &f.include) || any(|f| &f.maybe_include) {
        // Ignored, at least when the conditional exclusions are absent.
        return true;
    }
    // No pattern matches: ignored only when there are exclusions and no
    // include pattern at all (chezmoi's "only exclusions" default). The
    // conditional includes may be absent; some exclusion that does not match
    // `path` must be present.
    let no_includes = files.iter().all(|f| f.include.is_empty());
    let has_exclusions = files.iter().any(|f| !f.exclude.is_empty());
    no_includes && (has_exclusions || files.iter().flat_map(|f| &f.maybe_exclude).any(|p| !p.matches(path)))
}

/// Byte offset where a comment starts in `line` (its length if none): the first
/// `#` at the start of the line or right after whitespace, as chezmoi's
/// `(?:\A|\s+)#.*$`.
fn comment_start(line: &str) -> usize {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r' | 0x0c)) {
            // chezmoi's match starts at the whitespace; it is trimmed anyway.
            return i;
        }
    }
    line.len()
}

/// Turn one line's pattern into the pattern chezmoi stores: checked, joined to
/// `dir` and cleaned.
fn compile(dir: &str, pattern: &str, line: usize) -> Result<Pattern, IgnoreError> {
    let invalid_path = || IgnoreError::InvalidPath { line, pattern: pattern.to_owned() };
    if pattern.is_empty() || pattern.starts_with('/') || pattern.split('/').any(|c| c == "..") {
        return Err(invalid_path());
    }
    let joined = if dir.is_empty() { clean(pattern) } else { clean(&format!("{dir}/{pattern}")) };
    if !validate_glob(&joined) {
        return Err(IgnoreError::InvalidPattern { line, pattern: pattern.to_owned() });
    }
    if alternatives(&joined) > MAX_ALTERNATIVES {
        return Err(IgnoreError::TooComplex { line, pattern: pattern.to_owned() });
    }
    Ok(Pattern(joined))
}

/// Go's `path.Clean` for a relative path: drop empty and `.` segments, resolve
/// `..` where possible, `"."` for nothing.
fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() { ".".to_owned() } else { parts.join("/") }
}

/// doublestar's `ValidatePattern`: balanced `{}`, closed non-empty `[]`, no
/// trailing `\`.
fn validate_glob(p: &str) -> bool {
    let b = p.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                i += 1;
                if i >= b.len() {
                    return false;
                }
            }
            b'[' => {
                i += 1;
                if i < b.len() && (b[i] == b'^' || b[i] == b'!') {
                    i += 1;
                }
                if i >= b.len() || b[i] == b']' {
                    return false;
                }
                loop {
                    if i >= b.len() {
                        return false;
                    }
                    if b[i] == b'\\' {
                        i += 1;
                    } else if b[i] == b']' {
                        break;
                    }
                    i += 1;
                }
            }
            b'{' => depth += 1,
            b'}' => {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    depth == 0
}

/// How many brace-expanded variants `p` has (saturating).
fn alternatives(p: &str) -> usize {
    let b = p.as_bytes();
    let mut total: usize = 1;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'{' => {
                let Some(close) = matching_brace(&p[i + 1..]) else {
                    return total;
                };
                let body = &p[i + 1..i + 1 + close];
                let sum =
                    split_alternatives(body).iter().map(|alt| alternatives(alt)).fold(0usize, usize::saturating_add);
                total = total.saturating_mul(sum.max(1));
                i += close + 1;
            }
            _ => {}
        }
        i += 1;
    }
    total
}

/// Index in `s` of the `}` closing a `{` just before `s`, skipping nested
/// braces and escapes.
fn matching_brace(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 1;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Index of the next top-level `,` in the body of an alternation.
fn next_alternative(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => depth -= 1,
            b',' if depth == 0 => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn split_alternatives(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(comma) = next_alternative(rest) {
        out.push(&rest[..comma]);
        rest = &rest[comma + 1..];
    }
    out.push(rest);
    out
}

fn char_at(s: &str, i: usize) -> char {
    s[i..].chars().next().unwrap_or('\0')
}

/// Where to resume after a failed step: the last `*` and the last `**/`.
#[derive(Clone, Copy)]
struct Backtrack {
    star: Option<(usize, usize)>,
    doublestar: Option<(usize, usize)>,
}

/// doublestar v4 `Match(pattern, name)`, for a pattern already validated.
fn glob_match(pattern: &str, name: &str) -> bool {
    match_from(pattern, name, 0, 0, Backtrack { star: None, doublestar: None })
}

fn match_from(pat: &str, name: &str, mut pi: usize, mut ni: usize, mut bt: Backtrack) -> bool {
    let p = pat.as_bytes();
    // Whether `pi` is at the start of a path segment (`**` is only special there).
    let mut seg_start = true;
    'name: while ni < name.len() {
        'step: {
            if pi >= p.len() {
                break 'step;
            }
            match p[pi] {
                b'*' => {
                    pi += 1;
                    if pi < p.len() && p[pi] == b'*' {
                        pi += 1;
                        if seg_start {
                            if pi >= p.len() {
                                // A trailing `/**` (or a lone `**`) matches the rest.
                                return true;
                            }
                            if p[pi] == b'/' {
                                pi += 1;
                                bt.doublestar = Some((pi, ni));
                                bt.star = None;
                                continue 'name;
                            }
                        }
                        // Otherwise `**` is just `*`.
                    }
                    seg_start = false;
                    bt.star = Some((pi, ni));
                    continue 'name;
                }
                b'?' => {
                    seg_start = false;
                    let c = char_at(name, ni);
                    if c != '/' {
                        pi += 1;
                        ni += c.len_utf8();
                        continue 'name;
                    }
                }
                b'[' => {
                    seg_start = false;
                    let c = char_at(name, ni);
                    match match_class(pat, pi + 1, c) {
                        Some(Some(next)) => {
                            pi = next;
                            ni += c.len_utf8();
                            continue 'name;
                        }
                        Some(None) => {}
                        None => return false,
                    }
                }
                b'{' => {
                    let before = pi;
                    let Some(close) = matching_brace(&pat[pi + 1..]) else {
                        return false;
                    };
                    let close = pi + 1 + close;
                    let tail = &pat[close + 1..];
                    return split_alternatives(&pat[pi + 1..close]).into_iter().any(|alt| {
                        let expanded = format!("{}{alt}{tail}", &pat[..before]);
                        match_from(&expanded, name, before, ni, bt)
                    });
                }
                _ => {
                    let mut at = pi;
                    if p[at] == b'\\' {
                        at += 1;
                        if at >= p.len() {
                            return false;
                        }
                    }
                    let pc = char_at(pat, at);
                    let nc = char_at(name, ni);
                    if pc == nc {
                        pi = at + pc.len_utf8();
                        ni += nc.len_utf8();
                        seg_start = pc == '/';
                        continue 'name;
                    }
                }
            }
        }
        // This step failed: let the last `*` take one more character (never a
        // `/`), else let the last `**/` take one more segment.
        if let Some((star_pi, star_ni)) = bt.star {
            let c = char_at(name, star_ni);
            if c != '/' {
                let next = star_ni + c.len_utf8();
                bt.star = Some((star_pi, next));
                pi = star_pi;
                ni = next;
                seg_start = false;
                continue 'name;
            }
        }
        if let Some((ds_pi, ds_ni)) = bt.doublestar
            && let Some(slash) = name[ds_ni..].find('/')
        {
            let next = ds_ni + slash + 1;
            bt.doublestar = Some((ds_pi, next));
            pi = ds_pi;
            ni = next;
            seg_start = true;
            continue 'name;
        }
        return false;
    }
    is_zero_length(&pat[pi..])
}

/// Match character `c` against the class starting at `start` (just after `[`).
/// `Some(Some(i))`: matched, resume at `i`; `Some(None)`: no match; `None`:
/// malformed.
fn match_class(pat: &str, start: usize, c: char) -> Option<Option<usize>> {
    let p = pat.as_bytes();
    let mut i = start;
    if i >= p.len() {
        return None;
    }
    let negate = p[i] == b'!' || p[i] == b'^';
    if negate {
        i += 1;
    }
    if i >= p.len() || p[i] == b']' {
        return None;
    }
    let mut matched = false;
    let mut last: Option<char> = None;
    while i < p.len() && p[i] != b']' {
        let mut pc = char_at(pat, i);
        i += pc.len_utf8();
        // A range `lo-hi` (a `-` right after a character, not before `]`).
        if let Some(lo) = last
            && pc == '-'
            && i < p.len()
            && p[i] != b']'
        {
            if p[i] == b'\\' {
                i += 1;
            }
            let hi = char_at(pat, i);
            i += hi.len_utf8();
            if lo <= c && c <= hi {
                matched = true;
                break;
            }
            last = None;
            continue;
        }
        if pc == '\\' && i < p.len() {
            pc = char_at(pat, i);
            i += pc.len_utf8();
        }
        if pc == c {
            matched = true;
            break;
        }
        last = Some(pc);
    }
    if matched == negate {
        return if i >= p.len() { None } else { Some(None) };
    }
    // Skip to the closing `]`.
    let rest = &p[i.min(p.len())..];
    let mut j = 0;
    while j < rest.len() {
        if rest[j] == b'\\' {
            j += 1;
        } else if rest[j] == b']' {
            return Some(Some(i + j + 1));
        }
        j += 1;
    }
    None
}

/// Whether what is left of a pattern matches the empty rest of a name. Like
/// doublestar, `a/**` and `a/**/` match `a` (it might be a directory).
fn is_zero_length(rest: &str) -> bool {
    if matches!(rest, "" | "*" | "**" | "/**" | "**/" | "/**/") {
        return true;
    }
    if let Some(body) = rest.strip_prefix('{') {
        let Some(close) = matching_brace(body) else {
            return false;
        };
        let tail = &body[close + 1..];
        return split_alternatives(&body[..close]).into_iter().any(|alt| is_zero_length(&format!("{alt}{tail}")));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every target of a test store (`chezmoi managed` with no ignore file), joined with `|`.
    const TREE: &str = " spaced|.bashrc|.cache|.cache/x|.cache/x/y|.config|.config/fish|.config/fish/config.fish|.config/fish/functions|.config/fish/functions/f.fish|.config/nvim|.config/nvim/init.lua|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc|README.md|[x]|a,b|a[b]|b.txt|dir1|dir1/a|dir1/sub|dir1/sub/b|dir1/sub/deep|dir1/sub/deep/x.fish|dir2|dir2/c|dir2/d.txt|notes.txt|qq|trail |weird#name|x-y|{x}|é|é/ü.txt";
    /// (.chezmoiignore text, what `chezmoi managed` listed, joined with `|`)
    const CASES: &[(&str, &str)] = &[
        (
            "# comment\nREADME.md\n  notes.txt   # trailing comment\nweird#name\ndot_cache\n.cache\ndir1\n!dir1/sub\n*.fish\n!.config/fish/config.fish\n.config/**/f.fish\n",
            " spaced|.bashrc|.config|.config/fish|.config/fish/config.fish|.config/fish/functions|.config/nvim|.config/nvim/init.lua|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc|[x]|a,b|a[b]|b.txt|dir2|dir2/c|dir2/d.txt|qq|trail |x-y|{x}|é|é/ü.txt",
        ),
        (
            "!README.md\nREADME.md\n",
            " spaced|.bashrc|.cache|.cache/x|.cache/x/y|.config|.config/fish|.config/fish/config.fish|.config/fish/functions|.config/fish/functions/f.fish|.config/nvim|.config/nvim/init.lua|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc|README.md|[x]|a,b|a[b]|b.txt|dir1|dir1/a|dir1/sub|dir1/sub/b|dir1/sub/deep|dir1/sub/deep/x.fish|dir2|dir2/c|dir2/d.txt|notes.txt|qq|trail |weird#name|x-y|{x}|é|é/ü.txt",
        ),
        (
            "README.md\n!README.md\n",
            " spaced|.bashrc|.cache|.cache/x|.cache/x/y|.config|.config/fish|.config/fish/config.fish|.config/fish/functions|.config/fish/functions/f.fish|.config/nvim|.config/nvim/init.lua|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc|README.md|[x]|a,b|a[b]|b.txt|dir1|dir1/a|dir1/sub|dir1/sub/b|dir1/sub/deep|dir1/sub/deep/x.fish|dir2|dir2/c|dir2/d.txt|notes.txt|qq|trail |weird#name|x-y|{x}|é|é/ü.txt",
        ),
        ("!qq\n", "qq"),
        ("!dir2/c\n", ""),
        (
            ".config/*\n!.config/nvim\n",
            " spaced|.bashrc|.cache|.cache/x|.cache/x/y|.config|.config/nvim|.config/nvim/init.lua|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc|README.md|[x]|a,b|a[b]|b.txt|dir1|dir1/a|dir1/sub|dir1/sub/b|dir1/sub/deep|dir1/sub/deep/x.fish|dir2|dir2/c|dir2/d.txt|notes.txt|qq|trail |weird#name|x-y|{x}|é|é/ü.txt",
        ),
        (
            ".config/**\n!.config/nvim/init.lua\n",
            " spaced|.bashrc|.cache|.cache/x|.cache/x/y|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc|README.md|[x]|a,b|a[b]|b.txt|dir1|dir1/a|dir1/sub|dir1/sub/b|dir1/sub/deep|dir1/sub/deep/x.fish|dir2|dir2/c|dir2/d.txt|notes.txt|qq|trail |weird#name|x-y|{x}|é|é/ü.txt",
        ),
        (
            "**/*.fish\n!**/config.fish\n",
            " spaced|.bashrc|.cache|.cache/x|.cache/x/y|.config|.config/fish|.config/fish/config.fish|.config/fish/functions|.config/nvim|.config/nvim/init.lua|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc|README.md|[x]|a,b|a[b]|b.txt|dir1|dir1/a|dir1/sub|dir1/sub/b|dir1/sub/deep|dir2|dir2/c|dir2/d.txt|notes.txt|qq|trail |weird#name|x-y|{x}|é|é/ü.txt",
        ),
        (
            "*\n!.*\n",
            ".bashrc|.cache|.cache/x|.cache/x/y|.config|.config/fish|.config/fish/config.fish|.config/fish/functions|.config/fish/functions/f.fish|.config/nvim|.config/nvim/init.lua|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc",
        ),
        (
            "{dir?,.c*}/**\n!dir1\n",
            " spaced|.bashrc|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc|README.md|[x]|a,b|a[b]|b.txt|dir1|notes.txt|qq|trail |weird#name|x-y|{x}|é|é/ü.txt",
        ),
        (
            "dir2/\n./qq\na\\[b]\n\\ spaced\n[!a-z]spaced\né/*\n",
            ".bashrc|.cache|.cache/x|.cache/x/y|.config|.config/fish|.config/fish/config.fish|.config/fish/functions|.config/fish/functions/f.fish|.config/nvim|.config/nvim/init.lua|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc|README.md|[x]|a,b|b.txt|dir1|dir1/a|dir1/sub|dir1/sub/b|dir1/sub/deep|dir1/sub/deep/x.fish|notes.txt|trail |weird#name|x-y|{x}|é",
        ),
        (
            "**/x\n**/sub\n",
            " spaced|.bashrc|.cache|.config|.config/fish|.config/fish/config.fish|.config/fish/functions|.config/fish/functions/f.fish|.config/nvim|.config/nvim/init.lua|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc|README.md|[x]|a,b|a[b]|b.txt|dir1|dir1/a|dir2|dir2/c|dir2/d.txt|notes.txt|qq|trail |weird#name|x-y|{x}|é|é/ü.txt",
        ),
        (
            "x-y\n{x}\na,b\n\\{x\\}\n[[]x]\n",
            " spaced|.bashrc|.cache|.cache/x|.cache/x/y|.config|.config/fish|.config/fish/config.fish|.config/fish/functions|.config/fish/functions/f.fish|.config/nvim|.config/nvim/init.lua|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc|README.md|a[b]|b.txt|dir1|dir1/a|dir1/sub|dir1/sub/b|dir1/sub/deep|dir1/sub/deep/x.fish|dir2|dir2/c|dir2/d.txt|notes.txt|qq|trail |weird#name|é|é/ü.txt",
        ),
        (
            ".local/**/*.db\nd*/s?b/deep\n!dir1/sub/deep/x.fish\n",
            " spaced|.bashrc|.cache|.cache/x|.cache/x/y|.config|.config/fish|.config/fish/config.fish|.config/fish/functions|.config/fish/functions/f.fish|.config/nvim|.config/nvim/init.lua|.local|.local/share|.local/share/app|.zshrc|README.md|[x]|a,b|a[b]|b.txt|dir1|dir1/a|dir1/sub|dir1/sub/b|dir2|dir2/c|dir2/d.txt|notes.txt|qq|trail |weird#name|x-y|{x}|é|é/ü.txt",
        ),
        (
            "b.txt\r\n\tqq\t#x\n\\#x\n.local/sh[a-c]re/app/\ntrai[k-m] \n",
            " spaced|.bashrc|.cache|.cache/x|.cache/x/y|.config|.config/fish|.config/fish/config.fish|.config/fish/functions|.config/fish/functions/f.fish|.config/nvim|.config/nvim/init.lua|.local|.local/share|.zshrc|README.md|[x]|a,b|a[b]|dir1|dir1/a|dir1/sub|dir1/sub/b|dir1/sub/deep|dir1/sub/deep/x.fish|dir2|dir2/c|dir2/d.txt|notes.txt|trail |weird#name|x-y|{x}|é|é/ü.txt",
        ),
        (
            "*/*\n!*/*/*\n",
            " spaced|.bashrc|.cache|.config|.local|.zshrc|README.md|[x]|a,b|a[b]|b.txt|dir1|dir2|notes.txt|qq|trail |weird#name|x-y|{x}|é",
        ),
        (
            "**\n!.config/**\n",
            ".config|.config/fish|.config/fish/config.fish|.config/fish/functions|.config/fish/functions/f.fish|.config/nvim|.config/nvim/init.lua",
        ),
        (
            ".config{,/nvim}\n",
            " spaced|.bashrc|.cache|.cache/x|.cache/x/y|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc|README.md|[x]|a,b|a[b]|b.txt|dir1|dir1/a|dir1/sub|dir1/sub/b|dir1/sub/deep|dir1/sub/deep/x.fish|dir2|dir2/c|dir2/d.txt|notes.txt|qq|trail |weird#name|x-y|{x}|é|é/ü.txt",
        ),
        (
            "dir1/**/\ndir2//c\n.//.bashrc\n",
            " spaced|.cache|.cache/x|.cache/x/y|.config|.config/fish|.config/fish/config.fish|.config/fish/functions|.config/fish/functions/f.fish|.config/nvim|.config/nvim/init.lua|.local|.local/share|.local/share/app|.local/share/app/data.db|.zshrc|README.md|[x]|a,b|a[b]|b.txt|dir2|dir2/d.txt|notes.txt|qq|trail |weird#name|x-y|{x}|é|é/ü.txt",
        ),
    ];

    fn tree() -> impl Iterator<Item = &'static str> {
        TREE.split('|')
    }

    fn managed(rules: &IgnoreRules) -> String {
        tree().filter(|t| !rules.is_ignored(t)).collect::<Vec<_>>().join("|")
    }

    #[test]
    fn matches_chezmoi_managed() {
        for (text, expected) in CASES {
            let rules = IgnoreRules::try_parse(text).unwrap();
            assert_eq!(managed(&rules), *expected, "{text:?}");
            // The lenient parser agrees when there is nothing to skip.
            assert_eq!(managed(&IgnoreRules::parse(text).0), *expected);
        }
    }

    fn ignored(text: &str, target: &str) -> bool {
        IgnoreRules::try_parse(text).unwrap().is_ignored(target)
    }

    #[test]
    fn exclusions_win_regardless_of_order() {
        for text in ["!README.md\nREADME.md\n", "README.md\n!README.md\n"] {
            assert!(!ignored(text, "README.md"));
            // Both kinds present: an unmatched target is managed.
            assert!(!ignored(text, "other"));
        }
        let text = "*.md\n!README.md\n";
        assert!(ignored(text, "CHANGES.md"));
        assert!(!ignored(text, "README.md"));
    }

    #[test]
    fn only_exclusions_ignore_everything_else() {
        let text = "!qq\n";
        assert!(!ignored(text, "qq"));
        assert!(ignored(text, "anything"));
        assert!(ignored(text, ".config/nvim"));
        // Not even a child of an excluded path's parent survives: the parent
        // is ignored, and chezmoi never looks inside it.
        assert!(ignored("!dir2/c\n", "dir2/c"));
        // No patterns at all: nothing is ignored.
        for text in ["", "\n\n", "# only a comment\n"] {
            assert!(!ignored(text, "x"), "{text:?}");
        }
    }

    #[test]
    fn ignored_directories_take_their_contents() {
        let text = "dir1\n!dir1/sub\n";
        assert!(ignored(text, "dir1"));
        assert!(ignored(text, "dir1/sub"));
        assert!(ignored(text, "dir1/sub/b"));
        assert!(!ignored(text, "dir10"));
        // `a/**` matches `a` itself.
        assert!(ignored(".config/**\n!.config/nvim/init.lua\n", ".config/nvim/init.lua"));
        assert!(ignored(".config/**\n", ".config"));
        // `a/*` does not.
        assert!(!ignored(".config/*\n", ".config"));
        assert!(ignored(".config/*\n", ".config/nvim/init.lua"));
    }

    #[test]
    fn comments_and_whitespace() {
        assert!(ignored("weird#name\n", "weird#name"));
        assert!(ignored("  notes.txt   # trailing\n", "notes.txt"));
        assert!(ignored("qq\t#x\n", "qq"));
        assert!(ignored("b.txt\r\n", "b.txt"));
        assert!(ignored("\\ spaced\n", " spaced"));
        assert!(!ignored("#qq\n", "qq"));
        assert!(!ignored(" #qq\n", "qq"));
        // An escaped `#` after whitespace still starts a pattern.
        assert!(ignored("\\#x\n", "#x"));
        // `!` is taken once, then the rest is the pattern (here `!qq`).
        assert!(ignored("!!qq\n", "qq"));
        assert!(!ignored("!!qq\n", "!qq"));
        assert!(ignored("\\!qq\n", "!qq"));
    }

    #[test]
    fn paths_are_cleaned() {
        assert!(ignored("dir2/\n", "dir2"));
        assert!(ignored("./qq\n", "qq"));
        assert!(ignored(".//qq\n", "qq"));
        assert!(ignored("dir2//c\n", "dir2/c"));
        assert!(ignored("dir2/./c\n", "dir2/c"));
        assert!(!ignored(".\n", "x"));
    }

    #[test]
    fn invalid_lines_are_errors_like_chezmoi() {
        let path = |line, pattern: &str| IgnoreError::InvalidPath { line, pattern: pattern.into() };
        let pattern = |line, pattern: &str| IgnoreError::InvalidPattern { line, pattern: pattern.into() };
        let cases = [
            ("/dir2\n", path(1, "/dir2")),
            ("ok\n../qq\n", path(2, "../qq")),
            ("dir2/../qq\n", path(1, "dir2/../qq")),
            ("dir2/..\n", path(1, "dir2/..")),
            ("..\n", path(1, "..")),
            ("*/../qq\n", path(1, "*/../qq")),
            ("!/qq\n", path(1, "/qq")),
            ("!\n", path(1, "")),
            ("! \n", path(1, "")),
            ("[abc\n", pattern(1, "[abc")),
            ("a[]]\n", pattern(1, "a[]]")),
            ("x}\n", pattern(1, "x}")),
            ("{x\n", pattern(1, "{x")),
            ("\\\\{x\n", pattern(1, "\\\\{x")),
            ("trail\\ \n", pattern(1, "trail\\")),
        ];
        for (text, err) in cases {
            assert_eq!(IgnoreRules::try_parse(text).map(|_| ()), Err(err.clone()), "{text:?}");
            let mut rules = IgnoreRules::new();
            assert_eq!(rules.add_file("", text, &Facts::default()), Err(err), "{text:?}");
            // The lenient parser skips the line and reports it.
            let (_, skipped) = IgnoreRules::parse(text);
            assert_eq!(skipped.len(), 1, "{text:?}");
        }
        // Valid look-alikes.
        for text in ["a..b\n", "...\n", "..*\n", "\\/dir2\n", "{qq,/dir2}\n", "x,y\n"] {
            assert!(IgnoreRules::try_parse(text).is_ok(), "{text:?}");
        }
        let err = IgnoreRules::try_parse("ok\n../qq\n").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("`../qq`"), "{err}");
    }

    #[test]
    fn too_many_alternatives_are_refused() {
        let hostile = "{a,b}".repeat(11);
        assert!(matches!(IgnoreRules::try_parse(&hostile), Err(IgnoreError::TooComplex { line: 1, .. })));
        assert!(IgnoreRules::try_parse(&"{a,b}".repeat(10)).is_ok());
    }

    #[test]
    fn subdirectory_files_are_relative_to_their_directory() {
        // `dot_config/.chezmoiignore` with `nvim` and `*.fish`, and
        // `dir2/.chezmoiignore` with `c`: chezmoi ignored `.config/nvim` and
        // `dir2/c` only.
        let mut rules = IgnoreRules::new();
        assert_eq!(rules.add_file(".config", "nvim\n*.fish\n", &Facts::default()), Ok(()));
        assert_eq!(rules.add_file("dir2", "c\n", &Facts::default()), Ok(()));
        let ignored: Vec<_> = tree().filter(|t| rules.is_ignored(t)).collect();
        assert_eq!(ignored, [".config/nvim", ".config/nvim/init.lua", "dir2/c"]);
        // One shared rule set: an exclusion in a subdirectory file counts for
        // the "only exclusions" rule everywhere. chezmoi listed only
        // `.config/nvim` as managed: `.config` is ignored by the final rules,
        // but chezmoi had not read `dot_config/.chezmoiignore` yet when it
        // entered `dot_config`, so it did not prune it. dotback's
        // `is_ignored` prunes it (wider on purpose); `ignores_path` is
        // chezmoi's final per-target filter.
        let mut rules = IgnoreRules::new();
        rules.add_file(".config", "!nvim\n", &Facts::default()).unwrap();
        assert!(rules.is_ignored("README.md"));
        assert!(rules.is_ignored(".config"));
        assert!(!rules.ignores_path(".config/nvim"));
        assert!(rules.is_ignored(".config/nvim"));
        assert!(rules.ignores_path(".config/nvim/init.lua"));
        // A failed file adds nothing.
        let mut rules = IgnoreRules::new();
        assert!(rules.add_file("", "x\n/abs\n", &Facts::default()).is_err());
        assert!(!rules.is_ignored("x"));
    }

    /// chezmoi walks the store in byte order and prunes a directory only if
    /// the ignore files read so far ignore it. With `+d` and `zd` in the root
    /// `.chezmoiignore`, chezmoi managed `+d/x` (`+` sorts before `.`, so `+d`
    /// was entered before the file was read) but not `zd/x`.
    #[test]
    fn walk_order_quirk_is_resolved_towards_ignoring() {
        let rules = IgnoreRules::try_parse("+d\nzd\n").unwrap();
        assert!(rules.ignores_path("+d"));
        assert!(!rules.ignores_path("+d/x"));
        assert!(rules.is_ignored("+d/x"));
        assert!(rules.is_ignored("zd/x"));
        // A directory ignored by an earlier file and un-ignored by a later
        // one may have been pruned: it counts as ignored.
        let mut rules = IgnoreRules::new();
        rules.add_file("", "d\n", &Facts::default()).unwrap();
        rules.add_file("", "!d\n", &Facts::default()).unwrap();
        assert!(!rules.ignores_path("d"));
        assert!(rules.is_ignored("d/x"));
        assert!(!rules.is_ignored("d"));
    }

    #[test]
    fn undecided_lines_are_conservative_and_told_apart() {
        let text = "\
README.md
{{ if ne .chezmoi.os \"darwin\" }}
Library
!keep
{{- end }}
after
";
        let (rules, skipped) = IgnoreRules::parse(text);
        assert!(skipped.is_empty() && rules.is_templated());
        assert!(rules.is_ignored("README.md") && !rules.is_undecided("README.md"));
        assert!(rules.is_ignored("after") && !rules.is_undecided("after"));
        // Undecided include: may be present.
        assert!(rules.is_ignored("Library") && rules.is_undecided("Library"));
        assert!(rules.is_undecided("Library/x"));
        // Undecided exclusion: may be absent, so nothing is un-ignored.
        assert!(!rules.is_ignored("keep"));
        assert!(!rules.is_ignored("other"));
        let (rules, _) = IgnoreRules::parse("keep\n{{ if .x }}\n!keep\n{{ end }}\n");
        assert!(rules.is_ignored("keep") && rules.is_undecided("keep"));
        // A sure exclusion still wins.
        let (rules, _) = IgnoreRules::parse("!keep\n{{ if .x }}\nkeep\n{{ end }}\n");
        assert!(!rules.is_ignored("keep"));
        // `other` is ignored when only the exclusion exists, not when `keep` does too.
        assert!(rules.is_undecided("other"));
        // Only undecided exclusions: in the world where they exist and no include does,
        // everything else is ignored.
        let (rules, _) = IgnoreRules::parse("{{ if .x }}\n!keep\n{{ end }}\n");
        assert!(rules.is_undecided("other"));
        assert!(!IgnoreRules::parse("{{ if .x }}\n!a\n{{ end }}\nb\n").0.is_ignored("other"));
        // Text dotback cannot compute may be any pattern.
        let (rules, _) = IgnoreRules::parse("!keep\n{{ .chezmoi.hostname }}/cache\n");
        assert!(rules.is_undecided("anything") && !rules.is_ignored("keep"));
        // An invalid pattern on an undecided line: chezmoi may refuse the file.
        let rules = IgnoreRules::try_parse("{{ if .x }}\n/abs\n{{ end }}\n").unwrap();
        assert!(rules.is_undecided("anything"));
        // On a sure line, it is an error.
        assert!(IgnoreRules::try_parse("{{ if true }}\n/abs\n{{ end }}\n").is_err());
        // Plain files decide everything.
        let (rules, _) = IgnoreRules::parse("a\n!b\n");
        assert!(!rules.is_templated() && !rules.is_undecided("a") && !rules.is_undecided("c"));
    }

    #[test]
    fn conditions_are_evaluated_with_the_facts() {
        let facts = Facts { os: Some("linux".into()), hostname: Some("box".into()), ..Facts::default() };
        let text = "{{ if eq .chezmoi.os \"windows\" }}\n.foo\n{{ end }}\n{{ if ne .chezmoi.os \"linux\" }}\n.bar\n{{ end }}\n{{ if eq .chezmoi.hostname \"box\" }}.baz{{ end }}\n";
        let mut rules = IgnoreRules::new();
        rules.add_file("", text, &facts).unwrap();
        assert!(!rules.is_ignored(".foo") && !rules.is_ignored(".bar"));
        assert!(rules.is_ignored(".baz") && !rules.is_undecided(".baz"));
        // Subdirectory files are relative to their directory, rendered or not.
        rules.add_file(".config", "{{ if eq .chezmoi.os \"linux\" }}nvim{{ end }}\n", &facts).unwrap();
        assert!(rules.is_ignored(".config/nvim/init.lua") && !rules.is_ignored("nvim"));
    }

    #[test]
    fn chezmoi_s_list_is_the_answer() {
        let mut rules = IgnoreRules::from_chezmoi([".config".to_owned(), "b".to_owned()]);
        rules.add_file("", "x\n", &Facts::default()).unwrap();
        assert!(rules.is_ignored(".config") && rules.is_ignored(".config/nvim/init.lua"));
        assert!(rules.is_ignored("b") && !rules.is_ignored("x") && !rules.is_ignored(".configs"));
        assert!(!rules.is_undecided(".config") && rules.ignores_path("b") && !rules.ignores_path(".config/nvim"));
    }

    #[test]
    fn chezmoi_s_list_decides_the_templates_and_the_sure_patterns_still_hold() {
        let text = "{{ output \"sh\" }}\n.ssh/id_work\n!.ssh/keep\n";
        let rules = IgnoreRules::try_parse(text).unwrap();
        assert!(rules.is_undecided(".zshrc"), "the template line leaves everything undecided here");
        let rules = rules.with_chezmoi([".listed".to_owned()]);
        assert!(rules.is_ignored(".listed") && !rules.is_ignored(".zshrc"), "chezmoi decides them");
        assert!(rules.is_ignored(".ssh/id_work"), "a sure pattern holds for a file chezmoi does not list");
        assert!(!rules.is_ignored(".ssh/keep") && !rules.is_undecided(".zshrc"));
    }

    /// doublestar v4 corner cases, as chezmoi evaluated them.
    #[test]
    fn glob_semantics() {
        let m = glob_match;
        assert!(m("*", ".bashrc"));
        assert!(!m("*", "a/b"));
        assert!(m("**", "a/b/c"));
        assert!(m("**/c", "c"));
        assert!(m("**/c", "a/b/c"));
        assert!(m("a/**/b", "a/b"));
        assert!(m("a/**/b", "a/x/y/b"));
        assert!(!m("a/**/b", "a/xb"));
        assert!(m("a/**", "a"));
        assert!(m("a/**/", "a"));
        assert!(!m("a/*", "a"));
        // `**` inside a segment is a single `*`.
        assert!(m("a**", "abc"));
        assert!(!m("a**", "a/b"));
        assert!(m("?", "é"));
        assert!(!m("a?b", "a/b"));
        assert!(m("[a-c]", "b"));
        assert!(m("[!a-c]", "d"));
        assert!(m("[^a-c]", "d"));
        assert!(!m("[!a-c]", "a"));
        assert!(m("[]a]", "]") || !validate_glob("[]a]"));
        assert!(m("[\\]]", "]"));
        assert!(m("[a-]", "-"));
        assert!(m("{a,b{c,d}}", "bd"));
        assert!(m("{x}", "x"));
        assert!(!m("{x}", "{x}"));
        assert!(m("\\{x\\}", "{x}"));
        assert!(m("q\\q", "qq"));
        assert!(m("{,x}y", "y"));
        assert!(m("{dir?,.c*}/**", ".config"));
        assert!(m("a,b", "a,b"));
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 1000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn never_panics(text in "([!#/*?{}\\[\\]\\\\. a-c\n-]|\\{\\{|\\}\\}|\\*\\*){0,40}",
                        target in "([a-c./*{}\\[\\]]|é){0,12}") {
            let (rules, _) = IgnoreRules::parse(&text);
            let _ = rules.is_ignored(&target);
            let _ = IgnoreRules::try_parse(&text);
        }

        #[test]
        fn escaped_names_match_themselves(name in "[^/\n\r]{1,20}") {
            // A name with every byte escaped is a literal pattern.
            let pattern: String = name.chars().flat_map(|c| ['\\', c]).collect();
            prop_assert!(glob_match(&pattern, &name));
            let longer = name.clone() + "x";
            prop_assert!(!glob_match(&pattern, &longer));
        }

        #[test]
        fn a_plain_path_ignores_itself_and_below(
            path in "[a-z]{1,4}(/[a-z]{1,4}){0,3}",
            child in "[a-z]{1,4}",
            other in "[A-Z]{1,4}",
        ) {
            let (rules, _) = IgnoreRules::parse(&format!("{path}\n"));
            prop_assert!(rules.is_ignored(&path));
            let below = format!("{path}/{child}");
            prop_assert!(rules.is_ignored(&below));
            prop_assert!(!rules.is_ignored(&other));
        }
    }
}
