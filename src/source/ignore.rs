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
//!   `!.config/nvim/init.lua` ignores all of `.config`.
//! - A `.chezmoiignore` in a source subdirectory applies to that directory's
//!   target path (`dot_config/.chezmoiignore` with `*.fish` means
//!   `.config/*.fish`), and all files feed one set of patterns: see
//!   [`IgnoreRules::add_file`].
//!
//! # Templates
//!
//! chezmoi runs `.chezmoiignore` through its template engine first; dotback
//! cannot. A line containing template syntax (`{{`) is not evaluated and is
//! returned to the caller. The usual shape, though, is a pattern wrapped in a
//! condition:
//!
//! ```text
//! {{ if ne .chezmoi.os "darwin" }}
//! Library
//! {{ end }}
//! ```
//!
//! The `Library` line has no template syntax but may or may not exist after
//! rendering. dotback treats such conditional lines *conservatively*:
//! [`IgnoreRules::is_ignored`] answers "chezmoi might ignore this on some
//! machine", because wrongly ignoring a target only makes dotback leave a file
//! alone (and say so), while wrongly managing one could overwrite a file the
//! user meant to keep out. Concretely, each conditional line is assumed to be
//! present or absent, whichever ignores more; conditional lines are returned
//! to the caller as well. Without templates the answer is exactly chezmoi's.

/// Lines of one `.chezmoiignore` that dotback did not evaluate exactly, as they
/// appear in the file (trimmed).
pub type SkippedLines = Vec<String>;

/// The parsed ignore rules of a store.
#[derive(Clone, Debug, Default)]
pub struct IgnoreRules {
    /// Include patterns that are always present.
    include: Vec<Pattern>,
    /// Exclusions that are always present.
    exclude: Vec<Pattern>,
    /// Include patterns inside a template block: maybe present.
    maybe_include: Vec<Pattern>,
    /// Exclusions inside a template block: maybe present.
    maybe_exclude: Vec<Pattern>,
}

/// A `.chezmoiignore` line chezmoi rejects, which makes chezmoi refuse the
/// whole store.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
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

    /// Parse `.chezmoiignore` text. Lines containing template syntax (`{{`) cannot be evaluated
    /// by dotback: they are returned in the second element so the caller can say so.
    ///
    /// Also returned there: lines inside a template block (see the module docs) and lines that
    /// chezmoi rejects (which are skipped here; use [`IgnoreRules::try_parse`] to get the error,
    /// since chezmoi refuses such a store altogether).
    pub fn parse(text: &str) -> (IgnoreRules, Vec<String>) {
        let mut rules = IgnoreRules::new();
        let skipped = match rules.add_text("", text, false) {
            Ok(skipped) => skipped,
            // Not reachable: lenient mode reports bad lines instead of failing.
            Err(_) => Vec::new(),
        };
        (rules, skipped)
    }

    /// Like [`IgnoreRules::parse`], but a line chezmoi rejects is an error, as it is for chezmoi.
    pub fn try_parse(text: &str) -> Result<(IgnoreRules, SkippedLines), IgnoreError> {
        let mut rules = IgnoreRules::new();
        let skipped = rules.add_text("", text, true)?;
        Ok((rules, skipped))
    }

    /// Add the patterns of a `.chezmoiignore` found in a source subdirectory. `dir` is that
    /// directory's *target* path relative to the destination ("" for the root, `.config` for
    /// `dot_config/`); its patterns are relative to it. All files share one rule set, which
    /// matters for the "only exclusions" rule in the module docs. On error nothing is added.
    pub fn add_file(&mut self, dir: &str, text: &str) -> Result<SkippedLines, IgnoreError> {
        self.add_text(dir, text, true)
    }

    fn add_text(&mut self, dir: &str, text: &str, strict: bool) -> Result<SkippedLines, IgnoreError> {
        let mut new = IgnoreRules::new();
        let mut skipped = Vec::new();
        let mut tmpl = TemplateScanner::default();
        for (index, raw) in text.split('\n').enumerate() {
            let line = index + 1;
            let in_block = tmpl.depth > 0;
            if tmpl.scan(raw) {
                skipped.push(raw.trim().to_owned());
                continue;
            }
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
                Err(err) if strict => return Err(err),
                Err(_) => {
                    skipped.push(raw.trim().to_owned());
                    continue;
                }
            };
            if in_block {
                skipped.push(raw.trim().to_owned());
            }
            let list = match (in_block, exclude) {
                (false, false) => &mut new.include,
                (false, true) => &mut new.exclude,
                (true, false) => &mut new.maybe_include,
                (true, true) => &mut new.maybe_exclude,
            };
            list.push(pattern);
        }
        self.include.append(&mut new.include);
        self.exclude.append(&mut new.exclude);
        self.maybe_include.append(&mut new.maybe_include);
        self.maybe_exclude.append(&mut new.maybe_exclude);
        Ok(skipped)
    }

    /// `target` is a '/'-separated path relative to the destination dir (e.g.
    /// ".config/nvim/init.lua").
    ///
    /// True if the target, or any directory above it, is ignored (chezmoi does not look inside
    /// an ignored directory). With template blocks, true if it may be ignored.
    pub fn is_ignored(&self, target: &str) -> bool {
        let target = target.trim_end_matches('/');
        if target.is_empty() {
            return false;
        }
        target
            .match_indices('/')
            .map(|(i, _)| &target[..i])
            .chain(std::iter::once(target))
            .any(|path| self.ignores_path(path))
    }

    /// Whether `path` itself is ignored, not looking at its parents.
    fn ignores_path(&self, path: &str) -> bool {
        let any = |patterns: &[Pattern]| patterns.iter().any(|p| p.matches(path));
        if any(&self.exclude) {
            // An unconditional exclusion always wins.
            return false;
        }
        if any(&self.include) || any(&self.maybe_include) {
            // Ignored, at least when the conditional exclusions are absent.
            return true;
        }
        // No pattern matches: ignored only when there are exclusions and no
        // include pattern at all (chezmoi's "only exclusions" default). The
        // conditional includes may be absent; we need some exclusion present
        // that does not match `path`.
        self.include.is_empty() && (!self.exclude.is_empty() || self.maybe_exclude.iter().any(|p| !p.matches(path)))
    }
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

/// Tracks Go template actions across lines to know which lines sit inside an
/// `{{ if }}` / `{{ range }}` / `{{ with }}` … `{{ end }}` block.
#[derive(Default)]
struct TemplateScanner {
    depth: usize,
    /// Text of an action opened by `{{` and not yet closed.
    open: Option<String>,
}

impl TemplateScanner {
    /// Feed one line; true if it contains template syntax.
    fn scan(&mut self, line: &str) -> bool {
        let mut is_template = self.open.is_some();
        let mut rest = line;
        loop {
            if let Some(buf) = self.open.as_mut() {
                match rest.find("}}") {
                    Some(end) => {
                        buf.push_str(&rest[..end]);
                        let action = std::mem::take(buf);
                        self.open = None;
                        self.action(&action);
                        rest = &rest[end + 2..];
                    }
                    None => {
                        buf.push_str(rest);
                        buf.push('\n');
                        return is_template;
                    }
                }
            } else {
                match rest.find("{{") {
                    Some(start) => {
                        is_template = true;
                        self.open = Some(String::new());
                        rest = &rest[start + 2..];
                    }
                    None => return is_template,
                }
            }
        }
    }

    fn action(&mut self, action: &str) {
        let action = action.strip_prefix('-').unwrap_or(action).trim_start();
        if action.starts_with("/*") {
            return;
        }
        let word = action.split(|c: char| c.is_whitespace() || c == '(' || c == '-').next().unwrap_or("");
        match word {
            "if" | "range" | "with" | "block" | "define" => self.depth += 1,
            "end" => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
    }
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
        if let Some((ds_pi, ds_ni)) = bt.doublestar {
            if let Some(slash) = name[ds_ni..].find('/') {
                let next = ds_ni + slash + 1;
                bt.doublestar = Some((ds_pi, next));
                pi = ds_pi;
                ni = next;
                seg_start = true;
                continue 'name;
            }
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
        if let Some(lo) = last {
            if pc == '-' && i < p.len() && p[i] != b']' {
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
