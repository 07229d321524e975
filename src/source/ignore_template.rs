//! Evaluating a templated `.chezmoiignore` without chezmoi.
//!
//! chezmoi runs `.chezmoiignore` through Go's `text/template` before reading its patterns. Real
//! stores use a small part of it: conditions on the machine.
//!
//! ```text
//! {{ if ne .chezmoi.os "darwin" -}}
//! Library
//! {{ end -}}
//! {{- if and (eq .chezmoi.hostname "work") (not .personal) }}
//! .ssh/id_home
//! {{ end }}
//! ```
//!
//! This module evaluates that part: `if`, `else if`, `else` and `end`; `eq`, `ne`, `and`, `or`
//! and `not` with parentheses; string, number and boolean literals; `{{-`/`-}}` trim markers and
//! `{{/* comments */}}`; the fields `.chezmoi.os`, `.chezmoi.arch`, `.chezmoi.hostname`,
//! `.chezmoi.username` and data keys (`.work.email`). As in Go, `and` and `or` stop at the first
//! argument that decides them, `eq` takes several right-hand values, and comparing a string with
//! a number is an error (for chezmoi too).
//!
//! Anything else (another function, a pipe, a variable, `range`/`with`, a key that is not set,
//! an error) is *undecided*: the text it governs may or may not be in chezmoi's rendering.
//! [`render`] returns each line of the rendering with how sure it is, so that the caller can
//! leave the targets such lines match alone rather than guess.

use std::collections::{BTreeMap, BTreeSet};

/// What a template may ask about the device.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// `.chezmoi.os`, Go's name (`linux`, `darwin`).
    pub os: Option<String>,
    /// `.chezmoi.arch`, Go's name (`amd64`, `arm64`).
    pub arch: Option<String>,
    /// `.chezmoi.hostname`: the host name up to its first dot.
    pub hostname: Option<String>,
    /// `.chezmoi.username`.
    pub username: Option<String>,
    /// `.chezmoidata.*` merged with the chezmoi config's `[data]` (the config wins).
    pub data: toml::Table,
    /// False when some data could not be read (an unsupported format): then no key is known.
    pub data_complete: bool,
}

/// How sure a line of the rendering is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Certainty {
    /// In the rendering, as it is.
    Certain,
    /// In the rendering on some evaluations of what dotback cannot decide, not on others.
    Maybe,
    /// Its text depends on a value dotback cannot compute: it may be any pattern.
    Unknown,
}

/// One line of the rendering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// 1-based, counted in the rendering.
    pub number: usize,
    pub text: String,
    pub certainty: Certainty,
}

/// Stands for text dotback could not compute; a line holding it is [`Certainty::Unknown`].
const UNKNOWN: char = '\u{0}';

/// Bound on the alternatives one line may have (every undecided block doubles them at most).
const MAX_WORLDS: usize = 256;

/// Renders `text` with `facts`. A template that does not parse gives one unknown line.
pub fn render(text: &str, facts: &Facts) -> Vec<Line> {
    let pieces = match parse(text) {
        Ok(nodes) => Renderer { facts }.nodes(&nodes),
        Err(()) => vec![Piece::Text(UNKNOWN.to_string())],
    };
    lines(&pieces)
}

/// Whether `text` holds template syntax at all.
pub fn is_template(text: &str) -> bool {
    text.contains("{{")
}

// ---- Lexing and parsing ----

#[derive(Debug)]
enum Node {
    Text(String),
    /// `{{ pipeline }}`: prints a value.
    Output(Expr),
    /// `if`/`else if` branches, then the `else` body.
    If(Vec<(Expr, Vec<Node>)>, Vec<Node>),
    /// `range`/`with` (and their `else`): bodies present zero or more times, unknown here.
    Opaque(Vec<Vec<Node>>),
}

#[derive(Clone, Debug)]
enum Expr {
    Value(toml::Value),
    Field(Vec<String>),
    Call(String, Vec<Expr>),
    /// Something this module does not evaluate.
    Unknown,
}

/// An action between `{{` and `}}`, its trim markers removed.
enum Item<'a> {
    Text(String),
    Action(&'a str),
}

/// Splits the text into text and actions, applying the trim markers.
fn lex(text: &str) -> Result<Vec<Item<'_>>, ()> {
    let mut items = Vec::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut before = &rest[..start];
        if trim_next {
            before = before.trim_start_matches(is_space);
        }
        let mut body = &rest[start + 2..];
        let trim_left = body.starts_with('-') && body[1..].starts_with(is_space);
        if trim_left {
            before = before.trim_end_matches(is_space);
            body = &body[1..];
        }
        items.push(Item::Text(before.to_owned()));
        let end = action_end(body).ok_or(())?;
        let mut action = &body[..end];
        trim_next = action.ends_with('-') && action[..action.len() - 1].ends_with(is_space);
        if trim_next {
            action = &action[..action.len() - 1];
        }
        items.push(Item::Action(action.trim_matches(is_space)));
        rest = &body[end + 2..];
    }
    let last = if trim_next { rest.trim_start_matches(is_space) } else { rest };
    items.push(Item::Text(last.to_owned()));
    Ok(items)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Where the action starting at `body` ends (the offset of its `}}`), skipping quoted strings
/// and comments.
fn action_end(body: &str) -> Option<usize> {
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += body[i + 2..].find("*/")? + 3;
            }
            b'}' if b.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// One block being parsed: its kind, finished branches and the current body.
struct Frame {
    kind: FrameKind,
    /// `if`: (condition, body) of the branches before the current one.
    branches: Vec<(Expr, Vec<Node>)>,
    /// The condition of the current `if`/`else if` branch (`None` in an `else`).
    cond: Option<Expr>,
    /// `range`/`with`: the bodies before the current one.
    bodies: Vec<Vec<Node>>,
    body: Vec<Node>,
}

#[derive(PartialEq, Eq)]
enum FrameKind {
    Root,
    If,
    Opaque,
}

impl Frame {
    fn new(kind: FrameKind, cond: Option<Expr>) -> Frame {
        Frame { kind, branches: Vec::new(), cond, bodies: Vec::new(), body: Vec::new() }
    }

    fn close(mut self) -> Node {
        match self.kind {
            FrameKind::If => match self.cond.take() {
                Some(cond) => {
                    self.branches.push((cond, self.body));
                    Node::If(self.branches, Vec::new())
                }
                None => Node::If(self.branches, self.body),
            },
            _ => {
                self.bodies.push(self.body);
                Node::Opaque(self.bodies)
            }
        }
    }
}

fn parse(text: &str) -> Result<Vec<Node>, ()> {
    let mut stack = vec![Frame::new(FrameKind::Root, None)];
    for item in lex(text)? {
        let action = match item {
            Item::Text(t) => {
                if !t.is_empty() {
                    stack.last_mut().expect("the root frame stays").body.push(Node::Text(t));
                }
                continue;
            }
            Item::Action(a) => a,
        };
        if action.starts_with("/*") {
            continue;
        }
        let (word, rest) = split_word(action);
        match word {
            "if" => stack.push(Frame::new(FrameKind::If, Some(parse_pipeline(rest)))),
            "range" | "with" => stack.push(Frame::new(FrameKind::Opaque, None)),
            "else" => {
                let top = stack.last_mut().expect("the root frame stays");
                let (next, cond) = split_word(rest);
                match (&top.kind, next) {
                    (FrameKind::If, "if") if top.cond.is_some() => {
                        let body = std::mem::take(&mut top.body);
                        let done = top.cond.take().expect("checked");
                        top.branches.push((done, body));
                        top.cond = Some(parse_pipeline(cond));
                    }
                    (FrameKind::If, "") if top.cond.is_some() => {
                        let body = std::mem::take(&mut top.body);
                        let done = top.cond.take().expect("checked");
                        top.branches.push((done, body));
                    }
                    // `else` or `else with …`: one more body, closed by the same `end`.
                    (FrameKind::Opaque, _) => {
                        let body = std::mem::take(&mut top.body);
                        top.bodies.push(body);
                    }
                    _ => return Err(()),
                }
            }
            "end" if rest.is_empty() => {
                let frame = stack.pop().ok_or(())?;
                if frame.kind == FrameKind::Root {
                    return Err(());
                }
                let node = frame.close();
                stack.last_mut().ok_or(())?.body.push(node);
            }
            "define" | "block" | "template" | "break" | "continue" | "end" => return Err(()),
            _ => {
                let expr = parse_pipeline(action);
                stack.last_mut().expect("the root frame stays").body.push(Node::Output(expr));
            }
        }
    }
    match stack.pop() {
        Some(root) if stack.is_empty() => Ok(root.body),
        _ => Err(()),
    }
}

/// The first word of an action and the rest, trimmed.
fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_matches(is_space);
    let end = s.find(|c: char| is_space(c) || c == '(').unwrap_or(s.len());
    (&s[..end], s[end..].trim_matches(is_space))
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    Str(String),
    Number(String),
    Field(String),
    Ident(String),
    /// `|`, `$x`, `:=`, `,`, or anything else this module does not evaluate.
    Other,
}

fn tokenize(s: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let word_char = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        if is_space(c) {
            i += 1;
        } else if c == '(' || c == ')' {
            out.push(if c == '(' { Token::Open } else { Token::Close });
            i += 1;
        } else if c == '"' {
            let mut value = String::new();
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                match chars[i] {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => {
                        i += 1;
                        match chars.get(i) {
                            Some('n') => value.push('\n'),
                            Some('t') => value.push('\t'),
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            // Other escapes (\x, \u, …) are left to chezmoi.
                            _ => return vec![Token::Other],
                        }
                    }
                    other => value.push(other),
                }
                i += 1;
            }
            if !closed {
                return vec![Token::Other];
            }
            out.push(Token::Str(value));
            i += 1;
        } else if c == '`' {
            let start = i + 1;
            let Some(len) = chars[start..].iter().position(|&c| c == '`') else { return vec![Token::Other] };
            out.push(Token::Str(chars[start..start + len].iter().collect()));
            i = start + len + 1;
        } else if c == '.' || word_char(c) || c == '-' || c == '+' {
            let start = i;
            i += 1;
            while i < chars.len() && (word_char(chars[i]) || chars[i] == '.') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(if c == '.' && start > 0 && chars[start - 1] == ')' {
                // `(…).field` is not evaluated.
                Token::Other
            } else if c == '.' {
                Token::Field(word)
            } else if c.is_ascii_digit() || c == '-' || c == '+' {
                Token::Number(word)
            } else {
                Token::Ident(word)
            });
        } else {
            out.push(Token::Other);
            i += 1;
        }
    }
    out
}

/// A pipeline with no pipe: a function call or a single operand.
fn parse_pipeline(s: &str) -> Expr {
    let tokens = tokenize(s);
    let mut pos = 0;
    match command(&tokens, &mut pos) {
        Some(expr) if pos == tokens.len() => expr,
        _ => Expr::Unknown,
    }
}

/// A command up to the end of the tokens or a `)`.
fn command(tokens: &[Token], pos: &mut usize) -> Option<Expr> {
    let first = tokens.get(*pos)?;
    if let Token::Ident(name) = first
        && !matches!(name.as_str(), "true" | "false")
    {
        *pos += 1;
        let mut args = Vec::new();
        while !matches!(tokens.get(*pos), None | Some(Token::Close)) {
            args.push(operand(tokens, pos)?);
        }
        return Some(Expr::Call(name.clone(), args));
    }
    let expr = operand(tokens, pos)?;
    match tokens.get(*pos) {
        None | Some(Token::Close) => Some(expr),
        // An operand followed by more is a method call or an error: not evaluated.
        Some(_) => Some(Expr::Unknown),
    }
}

fn operand(tokens: &[Token], pos: &mut usize) -> Option<Expr> {
    let token = tokens.get(*pos)?.clone();
    *pos += 1;
    Some(match token {
        Token::Open => {
            let inner = command(tokens, pos)?;
            if tokens.get(*pos) != Some(&Token::Close) {
                return None;
            }
            *pos += 1;
            inner
        }
        Token::Close => return None,
        Token::Str(s) => Expr::Value(toml::Value::String(s)),
        Token::Number(n) => match (n.parse::<i64>(), n.parse::<f64>()) {
            (Ok(i), _) => Expr::Value(toml::Value::Integer(i)),
            (_, Ok(f)) if n.contains('.') => Expr::Value(toml::Value::Float(f)),
            _ => Expr::Unknown,
        },
        Token::Field(f) => {
            let keys: Vec<String> = f[1..].split('.').map(str::to_owned).collect();
            if keys.iter().any(|k| k.is_empty()) { Expr::Unknown } else { Expr::Field(keys) }
        }
        Token::Ident(word) => match word.as_str() {
            "true" => Expr::Value(toml::Value::Boolean(true)),
            "false" => Expr::Value(toml::Value::Boolean(false)),
            // A function called without arguments.
            _ => Expr::Unknown,
        },
        Token::Other => Expr::Unknown,
    })
}

// ---- Evaluation ----

/// Rendered text: plain, or alternatives dotback cannot choose between.
#[derive(Clone, Debug)]
enum Piece {
    Text(String),
    Choice(Vec<Vec<Piece>>),
}

/// Something dotback cannot evaluate.
struct Undecided;

struct Renderer<'a> {
    facts: &'a Facts,
}

impl Renderer<'_> {
    fn nodes(&self, nodes: &[Node]) -> Vec<Piece> {
        let mut out = Vec::new();
        for node in nodes {
            match node {
                Node::Text(t) => out.push(Piece::Text(t.clone())),
                Node::Output(expr) => {
                    let text = match self.eval(expr) {
                        Ok(toml::Value::String(s)) => s,
                        Ok(toml::Value::Integer(i)) => i.to_string(),
                        Ok(toml::Value::Boolean(b)) => b.to_string(),
                        _ => UNKNOWN.to_string(),
                    };
                    out.push(Piece::Text(text));
                }
                Node::If(branches, otherwise) => out.extend(self.branches(branches, otherwise)),
                Node::Opaque(bodies) => {
                    // Absent, or any body; a `range` body twice, for lines across iterations.
                    let mut alternatives = vec![Vec::new()];
                    for (i, body) in bodies.iter().enumerate() {
                        let once = self.nodes(body);
                        if i == 0 {
                            alternatives.push(once.iter().chain(&once).cloned().collect());
                        }
                        alternatives.push(once);
                    }
                    out.push(Piece::Choice(alternatives));
                }
            }
        }
        out
    }

    /// The branch the conditions choose; from the first undecided condition on, a choice
    /// between the remaining branches.
    fn branches(&self, branches: &[(Expr, Vec<Node>)], otherwise: &[Node]) -> Vec<Piece> {
        for (i, (cond, body)) in branches.iter().enumerate() {
            match self.eval(cond) {
                Ok(v) if truth(&v) => return self.nodes(body),
                Ok(_) => {}
                Err(Undecided) => {
                    let taken = self.nodes(body);
                    let rest = self.branches(&branches[i + 1..], otherwise);
                    return vec![Piece::Choice(vec![taken, rest])];
                }
            }
        }
        self.nodes(otherwise)
    }

    fn eval(&self, expr: &Expr) -> Result<toml::Value, Undecided> {
        match expr {
            Expr::Value(v) => Ok(v.clone()),
            Expr::Field(keys) => self.field(keys),
            Expr::Call(name, args) => self.call(name, args),
            Expr::Unknown => Err(Undecided),
        }
    }

    fn field(&self, keys: &[String]) -> Result<toml::Value, Undecided> {
        if keys[0] == "chezmoi" {
            let facts = self.facts;
            let value = match keys.get(1).map(String::as_str) {
                Some("os") => &facts.os,
                Some("arch") => &facts.arch,
                Some("hostname") => &facts.hostname,
                Some("username") => &facts.username,
                _ => return Err(Undecided),
            };
            return match (value, keys.len()) {
                (Some(v), 2) => Ok(toml::Value::String(v.clone())),
                _ => Err(Undecided),
            };
        }
        if !self.facts.data_complete {
            return Err(Undecided);
        }
        let mut table = &self.facts.data;
        for (i, key) in keys.iter().enumerate() {
            let value = table.get(key).ok_or(Undecided)?;
            if i + 1 == keys.len() {
                return Ok(value.clone());
            }
            table = value.as_table().ok_or(Undecided)?;
        }
        Err(Undecided)
    }

    fn call(&self, name: &str, args: &[Expr]) -> Result<toml::Value, Undecided> {
        use toml::Value::Boolean;
        match (name, args) {
            ("not", [arg]) => Ok(Boolean(!truth(&self.eval(arg)?))),
            ("and" | "or", [_, ..]) => {
                let stop_at = name == "or";
                let mut last = None;
                for arg in args {
                    let v = self.eval(arg)?;
                    if truth(&v) == stop_at {
                        return Ok(v);
                    }
                    last = Some(v);
                }
                last.ok_or(Undecided)
            }
            ("eq", [first, rest @ ..]) if !rest.is_empty() => {
                let first = self.eval(first)?;
                let mut found = false;
                for arg in rest {
                    found |= equal(&first, &self.eval(arg)?)?;
                }
                Ok(Boolean(found))
            }
            ("ne", [a, b]) => Ok(Boolean(!equal(&self.eval(a)?, &self.eval(b)?)?)),
            _ => Err(Undecided),
        }
    }
}

/// Go's truth: false, zero and empty values are false.
fn truth(v: &toml::Value) -> bool {
    match v {
        toml::Value::Boolean(b) => *b,
        toml::Value::String(s) => !s.is_empty(),
        toml::Value::Integer(i) => *i != 0,
        toml::Value::Float(f) => *f != 0.0,
        toml::Value::Array(a) => !a.is_empty(),
        toml::Value::Table(t) => !t.is_empty(),
        toml::Value::Datetime(_) => true,
    }
}

/// Go's `eq` on two basic values; values of different kinds are an error, as in Go.
fn equal(a: &toml::Value, b: &toml::Value) -> Result<bool, Undecided> {
    use toml::Value::*;
    match (a, b) {
        (String(x), String(y)) => Ok(x == y),
        (Integer(x), Integer(y)) => Ok(x == y),
        (Boolean(x), Boolean(y)) => Ok(x == y),
        (Float(x), Float(y)) => Ok(x == y),
        _ => Err(Undecided),
    }
}

// ---- Lines ----

/// The lines of the rendering. Undecided text cannot hold a line break chezmoi's rendering is
/// sure to have, so the text between two sure line breaks is evaluated on its own: a line found
/// in every alternative there is certain, one found in some only is maybe.
fn lines(pieces: &[Piece]) -> Vec<Line> {
    let mut out = Vec::new();
    let mut group: Vec<Piece> = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => {
                let mut parts = t.split('\n');
                group.push(Piece::Text(parts.next().unwrap_or("").to_owned()));
                for part in parts {
                    group_lines(&group, &mut out);
                    group = vec![Piece::Text(part.to_owned())];
                }
            }
            choice => group.push(choice.clone()),
        }
    }
    group_lines(&group, &mut out);
    out
}

fn group_lines(group: &[Piece], out: &mut Vec<Line>) {
    let mut add = |text: String, certainty| {
        let certainty = if text.contains(UNKNOWN) { Certainty::Unknown } else { certainty };
        out.push(Line { number: out.len() + 1, text, certainty });
    };
    let Some(worlds) = expand(group) else {
        add(UNKNOWN.to_string(), Certainty::Unknown);
        return;
    };
    if let [only] = worlds.as_slice() {
        for text in only.split('\n') {
            add(text.to_owned(), Certainty::Certain);
        }
        return;
    }
    let sets: Vec<BTreeSet<&str>> = worlds.iter().map(|w| w.split('\n').collect()).collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for set in &sets {
        for line in set {
            *counts.entry(line).or_default() += 1;
        }
    }
    for (line, n) in counts {
        add(line.to_owned(), if n == sets.len() { Certainty::Certain } else { Certainty::Maybe });
    }
}

/// Every text `pieces` may render to; `None` beyond [`MAX_WORLDS`].
fn expand(pieces: &[Piece]) -> Option<Vec<String>> {
    let mut worlds = vec![String::new()];
    for piece in pieces {
        match piece {
            Piece::Text(t) => worlds.iter_mut().for_each(|w| w.push_str(t)),
            Piece::Choice(alternatives) => {
                let mut options = Vec::new();
                for alternative in alternatives {
                    options.extend(expand(alternative)?);
                }
                options.sort();
                options.dedup();
                if worlds.len() * options.len() > MAX_WORLDS {
                    return None;
                }
                worlds = worlds.iter().flat_map(|w| options.iter().map(move |o| format!("{w}{o}"))).collect();
            }
        }
    }
    Some(worlds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        let data =
            toml::from_str("work = true\nname = \"ann\"\nn = 3\nempty = \"\"\n[dev]\nos = \"linux\"\nhost = \"box\"\n")
                .unwrap();
        Facts {
            os: Some("linux".into()),
            arch: Some("amd64".into()),
            hostname: Some("box".into()),
            username: Some("ann".into()),
            data,
            data_complete: true,
        }
    }

    /// The rendering as `text|C` (certain), `text|M` (maybe), `text|U` (unknown), blank lines
    /// left out.
    fn shown(text: &str, facts: &Facts) -> Vec<String> {
        render(text, facts)
            .into_iter()
            .filter(|l| !l.text.trim().is_empty())
            .map(|l| {
                let c = match l.certainty {
                    Certainty::Certain => "C",
                    Certainty::Maybe => "M",
                    Certainty::Unknown => "U",
                };
                format!("{}|{c}", l.text.replace(UNKNOWN, "?"))
            })
            .collect()
    }

    #[test]
    fn conditions_evaluate_like_go_templates() {
        let cases: &[(&str, &[&str])] = &[
            ("a\nb\n", &["a|C", "b|C"]),
            ("{{ if eq .chezmoi.os \"windows\" }}\n.foo\n{{ end }}\n", &[]),
            ("{{ if ne .chezmoi.os \"windows\" }}\n.foo\n{{ end }}\n", &[".foo|C"]),
            ("{{ if eq .chezmoi.os \"linux\" }}.a{{ else }}.b{{ end }}", &[".a|C"]),
            ("{{ if eq .chezmoi.os \"x\" }}a{{ else if eq .chezmoi.arch \"amd64\" }}b{{ else }}c{{ end }}", &["b|C"]),
            ("{{ if eq .chezmoi.os \"x\" }}a{{ else if eq .chezmoi.arch \"y\" }}b{{ else }}c{{ end }}", &["c|C"]),
            ("{{ if and (eq .chezmoi.hostname \"box\") (not .work) }}a{{ end }}", &[]),
            ("{{ if or (eq .chezmoi.hostname \"x\") .work }}a{{ end }}", &["a|C"]),
            ("{{ if eq .chezmoi.username \"bob\" \"ann\" }}a{{ end }}", &["a|C"]),
            ("{{ if not (eq .dev.os \"linux\") }}a{{ end }}b", &["b|C"]),
            ("{{ if .empty }}a{{ end }}{{ if .n }}b{{ end }}{{ if 0 }}c{{ end }}", &["b|C"]),
            ("{{ if eq .n 3 }}a{{ end }}", &["a|C"]),
            ("{{ if eq `box` .chezmoi.hostname }}a{{ end }}", &["a|C"]),
            ("{{ if true }}{{ if false }}a{{ else }}b{{ end }}{{ end }}", &["b|C"]),
            // Output actions print known values.
            ("{{ .chezmoi.hostname }}/cache\n{{ .name }}-{{ .n }}\n", &["box/cache|C", "ann-3|C"]),
            // Comments and trim markers.
            ("{{/* x }} */}}a\n  {{- /* c */ -}}  \nb", &["ab|C"]),
            ("{{- if eq .chezmoi.os \"linux\" -}}\n  .x\n{{- end }}\n.y\n", &[".x|C", ".y|C"]),
            ("{{ \"}}\" }}", &["}}|C"]),
            // `and`/`or` stop at the deciding argument: the unknown rest is not evaluated.
            ("{{ if and false (lookPath \"x\") }}a{{ end }}", &[]),
            ("{{ if or .work .missing }}a{{ end }}", &["a|C"]),
        ];
        for (text, want) in cases {
            assert_eq!(shown(text, &facts()), *want, "{text:?}");
        }
    }

    #[test]
    fn what_cannot_be_evaluated_is_undecided() {
        let cases: &[(&str, &[&str])] = &[
            // An unknown function, a missing key, a pipe, a variable, a type mismatch.
            ("x\n{{ if lookPath \"code\" }}\n.vscode\n{{ end }}\ny\n", &["x|C", ".vscode|M", "y|C"]),
            ("{{ if .missing }}a{{ end }}", &["a|M"]),
            ("{{ if .dev.nothing.deeper }}a{{ end }}", &["a|M"]),
            ("{{ if .chezmoi.os | eq \"linux\" }}a{{ end }}", &["a|M"]),
            ("{{ if (.dev).os }}a{{ end }}", &["a|M"]),
            ("{{ $x := 1 }}{{ if $x }}a{{ end }}", &["?|U", "?a|U"]),
            ("{{ if eq .n \"3\" }}a{{ end }}", &["a|M"]),
            ("{{ if eq .chezmoi.kernel.osrelease \"x\" }}a{{ end }}", &["a|M"]),
            // Every branch after the undecided one may be taken.
            (
                "{{ if eq .chezmoi.os \"x\" }}a{{ else if .missing }}b{{ else if .work }}c{{ else }}d{{ end }}",
                &["b|M", "c|M"],
            ),
            ("{{ if .missing }}a{{ else }}b{{ end }}", &["a|M", "b|M"]),
            // A line in every alternative is certain.
            ("{{ if .missing }}a{{ else }}a{{ end }}", &["a|C"]),
            // A block inside a line: both renderings of the line are maybe.
            ("pre{{ if .missing }}-x{{ end }}\n", &["pre|M", "pre-x|M"]),
            ("{{ if .missing -}}\n.foo\n{{ end -}}\n.bar\n", &[".bar|C", ".foo|M"]),
            // range and with are not evaluated; their values are unknown.
            ("{{ range .list }}\n{{ . }}\n{{ end }}\nz\n", &["?|U", "z|C"]),
            ("{{ with .dev }}w{{ else }}v{{ end }}", &["v|M", "w|M", "ww|M"]),
            ("{{ .dev }}/x\n", &["?/x|U"]),
            ("{{ include \"f\" }}\n", &["?|U"]),
        ];
        for (text, want) in cases {
            assert_eq!(shown(text, &facts()), *want, "{text:?}");
        }
        // Nothing known about the device: every condition is undecided.
        let none = Facts::default();
        assert_eq!(shown("{{ if eq .chezmoi.os \"linux\" }}a{{ end }}\nb\n", &none), ["a|M", "b|C"]);
        assert_eq!(shown("{{ if .work }}a{{ end }}", &Facts { data_complete: false, ..facts() }), ["a|M"]);
    }

    #[test]
    fn a_template_that_does_not_parse_is_unknown() {
        for text in [
            "{{ if .work }}a",
            "a{{ end }}",
            "{{ if .work }}a{{ else }}b{{ else }}c{{ end }}",
            "{{ define \"x\" }}y{{ end }}",
            "{{ .work",
            "{{/* open",
        ] {
            assert_eq!(shown(text, &facts()), ["?|U"], "{text:?}");
        }
    }

    #[test]
    fn plain_text_keeps_its_lines_and_numbers() {
        let lines = render("a\n\nb\n", &facts());
        let numbered: Vec<(usize, &str)> = lines.iter().map(|l| (l.number, l.text.as_str())).collect();
        assert_eq!(numbered, [(1, "a"), (2, ""), (3, "b"), (4, "")]);
        assert!(lines.iter().all(|l| l.certainty == Certainty::Certain));
        assert!(!is_template("a\nb"));
        assert!(is_template("{{ if x }}"));
    }

    #[test]
    fn many_undecided_blocks_on_one_line_are_bounded() {
        let text = "{{ if .missing }}a{{ else }}b{{ end }}".repeat(20);
        assert_eq!(shown(&text, &facts()), ["?|U"]);
    }
}
