//! Which files are secret: path rules plus a content scan.
//!
//! A secret must never reach git in plaintext (DESIGN §3), so capture encrypts every file
//! that either test flags, and the pre-commit hook and `dotback check` run the same tests over
//! what is about to be committed. The two tests cover each other's blind spots:
//!
//! - **Path rules** ([`SecretRules`]) know where credentials live by convention even when
//!   their content has no recognisable shape (`.netrc`, `.pgpass`, a legacy `.npmrc` token,
//!   an encrypted-looking blob under `.gnupg/`). They are cheap and answer before a file is
//!   read.
//! - **The content scan** ([`scan_content`]) catches a private key or a well-known token
//!   pasted into a file no rule anticipated (an `export GITHUB_TOKEN=…` in `.zshrc`).
//!
//! Both err on the side of encrypting: a false positive costs a file that is encrypted in
//! git (dotback still merges and diffs its plaintext), a false negative leaks a credential
//! into every clone and every remote, forever.
//!
//! # Path rules
//!
//! Patterns are globs over the target path relative to HOME, '/'-separated
//! (`.config/gh/hosts.yml`, never the source name `dot_config/gh/hosts.yml`):
//!
//! - `*` matches any run of characters within one path component and `?` exactly one
//!   character; neither crosses `/`. `**` as a whole component matches any number of
//!   components (including none). `[abc]`, `[a-z]`, `[!a]`/`[^a]` are character classes and
//!   `\` escapes the next character. Dot-files get no special treatment (`*` matches
//!   `.bashrc`). Matching is case-sensitive.
//! - A pattern **without** `/` matches a component at any depth (`*.pem` matches `cert.pem`
//!   and `.config/x/cert.pem`). A pattern **with** `/` is anchored at HOME (`.aws/credentials`
//!   does not match `backup/.aws/credentials`). A trailing `/` is allowed and ignored.
//! - A pattern that matches a directory makes everything below it secret too, so
//!   `.config/myapp` marks the whole directory (the same as `.config/myapp/**`).
//! - `{a,b}` alternatives are **not** supported and are an error rather than a literal brace,
//!   so that a pattern copied from `.chezmoiignore` cannot silently match nothing. Empty
//!   patterns, absolute ones (`/x`, `~/x`) and `.`/`..` components are errors too. (The
//!   `.chezmoiignore` matcher in `source::ignore` is private and implements chezmoi's
//!   exclusion/pruning semantics, which do not fit here, hence this small matcher.)
//!
//! The manifest's `[secrets]` table ([`SecretsConfig`]) adds patterns (`extra`), removes
//! files (`not`: an exclusion always wins, over the defaults and over `extra`) or drops the
//! built-in list (`replace_defaults = true`).
//!
//! ## The default list
//!
//! | pattern | what lives there |
//! |---|---|
//! | `.ssh/id_*` except `*.pub` | OpenSSH private keys under their default names (`id_ed25519`, `id_rsa`, `id_ecdsa_sk`…) |
//! | `.ssh/*_rsa`, `.ssh/*_dsa`, `.ssh/*_ecdsa`, `.ssh/*_ed25519` | private keys under custom names (`github_ed25519`) |
//! | `.gnupg/**` | GnuPG home: `private-keys-v1.d/`, also trustdb and config (harmless to encrypt) |
//! | `*.pem`, `*.key`, `*.p12`, `*.pfx` | PEM keys and certificates, PKCS#12 bundles |
//! | `.netrc`, `.authinfo` | machine/login/password triples (curl, git, ftp, Emacs auth-source) |
//! | `.git-credentials`, `.config/git/credentials` | git `credential-store` (both locations) |
//! | `.aws/credentials` | AWS access keys |
//! | `.config/gh/hosts.yml`, `.config/glab-cli/config.yml` | GitHub / GitLab CLI tokens |
//! | `.docker/config.json` | registry logins (`auths` holds base64 user:password) |
//! | `.kube/config` | cluster client keys and bearer tokens |
//! | `.npmrc`, `.pypirc`, `.gem/credentials`, `.cargo/credentials`, `.cargo/credentials.toml` | package registry tokens |
//! | `.pgpass`, `.my.cnf` | PostgreSQL / MySQL client passwords |
//! | `.config/rclone/rclone.conf` | cloud storage credentials (often only obscured) |
//! | `.config/gcloud/**` | Google Cloud credentials and token databases |
//! | `.vault-token`, `.s3cfg`, `.terraform.d/credentials.tfrc.json` | Vault, s3cmd, Terraform Cloud tokens |
//! | `.config/sops/age/keys.txt` | sops' age identities |
//!
//! `.npmrc` (and `.pypirc`) are included although many hold only settings: the token in a
//! legacy `_authToken=`/`_auth=` line has no recognisable shape for the content scan, and
//! encrypting a settings file costs little. Not included: `.ssh/config`, `known_hosts`,
//! `authorized_keys` (not secret, and useful to read in git), files that are already
//! encrypted (`*.age`, `*.gpg`, `*.kdbx`, `.password-store/`), and generic names such as
//! `.env`, which would flag too much that is not a dotfile; add them with `extra`.
//!
//! # Content scan
//!
//! [`scan_content`] is a single pass over the bytes with a first-byte dispatch table, and
//! each candidate reads a bounded number of bytes ahead, so it is linear in the input
//! whatever it contains (no regex engine, no backtracking). It reports the kind and line of
//! the first finding, never the matched bytes, so a [`Finding`] can be printed, logged or
//! put in an error message safely.

use std::fmt;

/// The `[secrets]` table of `.dotback/dotback.toml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// More patterns whose files are secret.
    #[serde(default)]
    pub extra: Vec<String>,
    /// Patterns whose files are never secret by path (this wins over everything else). The
    /// content scan still applies to them.
    #[serde(default)]
    pub not: Vec<String>,
    /// Drop the built-in list: only `extra` (minus `not`) applies.
    #[serde(default)]
    pub replace_defaults: bool,
}

/// A bad pattern in the `[secrets]` table.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    #[error("[secrets] {field}: invalid pattern `{pattern}`: {reason}")]
    InvalidPattern {
        /// `extra` or `not`.
        field: &'static str,
        pattern: String,
        reason: &'static str,
    },
}

/// The built-in rules: a pattern and, optionally, names it does not cover. See the module
/// docs for why each is here.
const DEFAULT_RULES: &[(&str, Option<&str>)] = &[
    (".ssh/id_*", Some("*.pub")),
    (".ssh/*_rsa", None),
    (".ssh/*_dsa", None),
    (".ssh/*_ecdsa", None),
    (".ssh/*_ed25519", None),
    (".gnupg/**", None),
    ("*.pem", None),
    ("*.key", None),
    ("*.p12", None),
    ("*.pfx", None),
    (".netrc", None),
    (".authinfo", None),
    (".git-credentials", None),
    (".config/git/credentials", None),
    (".aws/credentials", None),
    (".config/gh/hosts.yml", None),
    (".config/glab-cli/config.yml", None),
    (".docker/config.json", None),
    (".kube/config", None),
    (".npmrc", None),
    (".pypirc", None),
    (".gem/credentials", None),
    (".cargo/credentials", None),
    (".cargo/credentials.toml", None),
    (".pgpass", None),
    (".my.cnf", None),
    (".config/rclone/rclone.conf", None),
    (".config/gcloud/**", None),
    (".vault-token", None),
    (".s3cfg", None),
    (".terraform.d/credentials.tfrc.json", None),
    (".config/sops/age/keys.txt", None),
];

/// Path rules: which targets (paths relative to HOME) are secret by name.
#[derive(Clone, Debug)]
pub struct SecretRules {
    include: Vec<Rule>,
    exclude: Vec<Glob>,
}

#[derive(Clone, Debug)]
struct Rule {
    glob: Glob,
    /// A default rule's own exception (`.ssh/id_*` does not cover `*.pub`).
    unless: Option<Glob>,
}

impl Default for SecretRules {
    fn default() -> SecretRules {
        SecretRules::defaults()
    }
}

impl SecretRules {
    /// The built-in list (see the module docs).
    pub fn defaults() -> SecretRules {
        let compile_builtin = |p: &str| Glob::compile(p).unwrap_or_else(|e| panic!("built-in pattern `{p}`: {e}"));
        let include = DEFAULT_RULES
            .iter()
            .map(|&(pattern, unless)| Rule { glob: compile_builtin(pattern), unless: unless.map(compile_builtin) })
            .collect();
        SecretRules { include, exclude: Vec::new() }
    }

    /// The rules of a manifest: the defaults (unless `replace_defaults`) plus `extra`, minus
    /// `not`. An invalid pattern is an error naming it.
    pub fn with_manifest(m: &SecretsConfig) -> Result<SecretRules, SecretsError> {
        let compile = |field: &'static str, pattern: &String| {
            Glob::compile(pattern).map_err(|reason| SecretsError::InvalidPattern {
                field,
                pattern: pattern.clone(),
                reason,
            })
        };
        let mut rules = if m.replace_defaults {
            SecretRules { include: Vec::new(), exclude: Vec::new() }
        } else {
            SecretRules::defaults()
        };
        for pattern in &m.extra {
            rules.include.push(Rule { glob: compile("extra", pattern)?, unless: None });
        }
        for pattern in &m.not {
            rules.exclude.push(compile("not", pattern)?);
        }
        Ok(rules)
    }

    /// Whether the path rules make `target` (relative to HOME, '/'-separated) secret.
    pub fn path_is_secret(&self, target: &str) -> bool {
        self.matching_rule(target).is_some()
    }

    /// The pattern that makes `target` secret, if any (for "why is this encrypted?"
    /// messages). `None` if no rule matches or an exclusion (`not`) matches.
    pub fn matching_rule(&self, target: &str) -> Option<&str> {
        let segs: Vec<&str> = target.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
        if segs.is_empty() || self.exclude.iter().any(|g| g.matches(&segs)) {
            return None;
        }
        self.include
            .iter()
            .find(|r| r.glob.matches(&segs) && !r.unless.as_ref().is_some_and(|u| u.matches(&segs)))
            .map(|r| r.glob.text.as_str())
    }
}

/// A compiled path pattern (also used by the manifest's `[[only]]` rules, see [`crate::selective`]).
#[derive(Clone, Debug)]
pub(crate) struct Glob {
    pub(crate) text: String,
    segs: Vec<Seg>,
}

#[derive(Clone, Debug)]
enum Seg {
    /// `**`: any number of components, including none.
    AnyDepth,
    /// Exactly one component.
    One(Vec<Tok>),
}

#[derive(Clone, Debug)]
enum Tok {
    Lit(char),
    /// `?`
    Any,
    /// `*`
    Star,
    /// `[...]`: inclusive ranges (a single character is a range of one).
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Tok {
    fn matches(&self, c: char) -> bool {
        match self {
            Tok::Lit(l) => *l == c,
            Tok::Any | Tok::Star => true,
            Tok::Class { negated, ranges } => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated,
        }
    }
}

impl Glob {
    pub(crate) fn compile(text: &str) -> Result<Glob, &'static str> {
        if text.is_empty() {
            return Err("the pattern is empty");
        }
        if text.starts_with('/') || text.starts_with('~') {
            return Err("patterns are relative to HOME: write `.netrc`, not `/…` or `~/…`");
        }
        let body = text.trim_end_matches('/');
        if body.is_empty() {
            return Err("the pattern is empty");
        }
        let mut segs = Vec::new();
        if !body.contains('/') {
            // Unanchored: a component at any depth.
            segs.push(Seg::AnyDepth);
        }
        for part in body.split('/') {
            match part {
                "" => return Err("empty path component (`//`)"),
                "." | ".." => return Err("`.` and `..` components are not allowed"),
                "**" => {
                    if !matches!(segs.last(), Some(Seg::AnyDepth)) {
                        segs.push(Seg::AnyDepth);
                    }
                }
                _ => segs.push(Seg::One(parse_segment(part)?)),
            }
        }
        // Everything below a matching directory matches too.
        if !matches!(segs.last(), Some(Seg::AnyDepth)) {
            segs.push(Seg::AnyDepth);
        }
        Ok(Glob { text: text.to_owned(), segs })
    }

    /// Wildcard matching over components, `**` being the wildcard. Like [`match_segment`]
    /// it keeps one backtrack point, so it is O(pattern × path), never exponential.
    pub(crate) fn matches(&self, path: &[&str]) -> bool {
        let (mut p, mut s) = (0, 0);
        let mut back: Option<(usize, usize)> = None;
        loop {
            match self.segs.get(p) {
                Some(Seg::AnyDepth) => {
                    back = Some((p + 1, s));
                    p += 1;
                    continue;
                }
                Some(Seg::One(toks)) if s < path.len() && match_segment(toks, path[s]) => {
                    p += 1;
                    s += 1;
                    continue;
                }
                None if s == path.len() => return true,
                _ => {}
            }
            match back {
                Some((bp, bs)) if bs < path.len() => {
                    back = Some((bp, bs + 1));
                    p = bp;
                    s = bs + 1;
                }
                _ => return false,
            }
        }
    }
}

fn parse_segment(part: &str) -> Result<Vec<Tok>, &'static str> {
    let mut toks = Vec::new();
    let mut chars = part.chars();
    while let Some(c) = chars.next() {
        let tok = match c {
            '\\' => Tok::Lit(chars.next().ok_or("a trailing `\\` escapes nothing")?),
            '*' => {
                if matches!(toks.last(), Some(Tok::Star)) {
                    continue;
                }
                Tok::Star
            }
            '?' => Tok::Any,
            '{' | '}' => {
                return Err("`{a,b}` alternatives are not supported: list each alternative as its own pattern \
                            (or escape the brace as `\\{`)");
            }
            '[' => parse_class(&mut chars)?,
            c => Tok::Lit(c),
        };
        toks.push(tok);
    }
    Ok(toks)
}

/// Parse a character class after its `[`.
fn parse_class(chars: &mut std::str::Chars<'_>) -> Result<Tok, &'static str> {
    const UNCLOSED: &str = "unclosed `[` (escape a literal bracket as `\\[`)";
    let mut negated = false;
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let mut c = chars.next().ok_or(UNCLOSED)?;
        if first && !negated && (c == '!' || c == '^') {
            negated = true;
            continue;
        }
        if c == ']' && !first {
            break;
        }
        first = false;
        if c == '\\' {
            c = chars.next().ok_or(UNCLOSED)?;
        }
        // A range `a-z`, unless the `-` is the last character before `]`.
        let mut lookahead = chars.clone();
        if lookahead.next() == Some('-') {
            match lookahead.next() {
                Some(']') | None => {}
                Some(mut hi) => {
                    if hi == '\\' {
                        hi = lookahead.next().ok_or(UNCLOSED)?;
                    }
                    if hi < c {
                        return Err("reversed range in `[…]`");
                    }
                    *chars = lookahead;
                    ranges.push((c, hi));
                    continue;
                }
            }
        }
        ranges.push((c, c));
    }
    Ok(Tok::Class { negated, ranges })
}

/// Match one path component (no `/` in it): classic wildcard matching with a single
/// backtrack point for the last `*`, O(pattern × name).
fn match_segment(toks: &[Tok], name: &str) -> bool {
    let (mut t, mut i) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    loop {
        if let Some(tok) = toks.get(t) {
            if let Tok::Star = tok {
                back = Some((t + 1, i));
                t += 1;
                continue;
            }
            if let Some(c) = name[i..].chars().next()
                && tok.matches(c)
            {
                t += 1;
                i += c.len_utf8();
                continue;
            }
        } else if i == name.len() {
            return true;
        }
        match back {
            Some((bt, bi)) if bi < name.len() => {
                let next = bi + name[bi..].chars().next().map_or(1, char::len_utf8);
                back = Some((bt, next));
                t = bt;
                i = next;
            }
            _ => return false,
        }
    }
}

/// What the content scan found: the kind of secret and the 1-based line where it starts,
/// never the secret itself. Safe to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    /// A short human description such as `"OpenSSH private key"` or `"GitHub token"`.
    pub kind: &'static str,
    pub line: usize,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on line {}", self.kind, self.line)
    }
}

/// How much of the start of a file decides whether it is binary (as git does).
const BINARY_SNIFF: usize = 8 * 1024;

/// Bytes that can start something the scan looks for. Everything else is skipped with one
/// table lookup.
const TRIGGERS: [bool; 256] = {
    let mut t = [false; 256];
    let starts = b"-APaAgxsrnp";
    let mut k = 0;
    while k < starts.len() {
        t[starts[k] as usize] = true;
        k += 1;
    }
    t
};

/// Look for a private key or a well-known token in `data`; the first one found (in file
/// order) is returned.
///
/// Private keys: PEM headers whose label ends in `PRIVATE KEY` (OpenSSH, RSA, EC, DSA,
/// PKCS#8, encrypted PKCS#8…), `PGP PRIVATE KEY BLOCK`, the SSH2 (ssh.com) header, age
/// secret keys (`AGE-SECRET-KEY-1…`) and PuTTY key files. Tokens: GitHub (`ghp_`, `gho_`,
/// `ghu_`, `ghs_`, `ghr_`, `github_pat_`), GitLab (`glpat-`), Slack (`xoxa-`, `xoxb-`,
/// `xoxp-`, `xoxr-`), AWS access key IDs (`AKIA`/`ASIA` + 16) and secrets
/// (`aws_secret_access_key = …`, any case), OpenAI-style `sk-…`, npm (`npm_`), PyPI
/// (`pypi-Ag…`), Stripe live keys (`sk_live_`, `rk_live_`) and Google API keys (`AIza…`).
/// A token must start at a word boundary and have a body of the documented length and
/// alphabet, so the bare word `PRIVATE KEY` in prose or a short `sk-` does not count.
///
/// Binary content (a NUL byte in the first 8 KiB) is only scanned for private keys, since
/// token-shaped byte runs are common in binaries.
pub fn scan_content(data: &[u8]) -> Option<Finding> {
    let binary = data[..data.len().min(BINARY_SNIFF)].contains(&0);
    let mut line = 1;
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' {
            line += 1;
        } else if TRIGGERS[b as usize]
            && let Some(kind) = check_at(data, i, binary)
        {
            return Some(Finding { kind, line });
        }
    }
    None
}

/// Token alphabets.
fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn upper_alnum(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}
fn alnum_underscore(b: u8) -> bool {
    alnum(b) || b == b'_'
}
fn alnum_dash_underscore(b: u8) -> bool {
    alnum(b) || b == b'_' || b == b'-'
}
fn alnum_dash(b: u8) -> bool {
    alnum(b) || b == b'-'
}
fn base64ish(b: u8) -> bool {
    alnum(b) || b == b'/' || b == b'+'
}

/// Whether at least `min` bytes of `class` start `body`. Reads at most `min` bytes.
fn run_at_least(body: &[u8], min: usize, class: fn(u8) -> bool) -> bool {
    body.len() >= min && body[..min].iter().all(|&b| class(b))
}

/// Case-sensitive prefix test that returns what follows.
fn after<'a>(rest: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    rest.strip_prefix(prefix)
}

/// The candidate starting at `data[i]`, if it is one.
fn check_at(data: &[u8], i: usize, binary: bool) -> Option<&'static str> {
    let rest = &data[i..];
    // Tokens start at a word boundary: `mask-…` is not `sk-…`, `XAKIA…` is not a key ID.
    let boundary = i == 0 || !alnum_dash_underscore(data[i - 1]);
    match rest[0] {
        b'-' => return pem_private_key(rest),
        b'A' if boundary => {
            if let Some(body) = after(rest, b"AGE-SECRET-KEY-1") {
                return run_at_least(body, 58, upper_alnum).then_some("age secret key");
            }
        }
        b'P' if boundary => {
            if let Some(body) = after(rest, b"PuTTY-User-Key-File-") {
                return body.first().is_some_and(u8::is_ascii_digit).then_some("PuTTY private key");
            }
        }
        _ => {}
    }
    if binary || !boundary {
        return None;
    }
    let found = match rest[0] {
        b'A' => {
            if let Some(body) = after(rest, b"AKIA").or_else(|| after(rest, b"ASIA")) {
                let ok = run_at_least(body, 16, upper_alnum) && !body.get(16).is_some_and(|&b| alnum(b));
                ok.then_some("AWS access key ID")?
            } else if let Some(body) = after(rest, b"AIza") {
                run_at_least(body, 35, alnum_dash_underscore).then_some("Google API key")?
            } else {
                return aws_secret(rest);
            }
        }
        b'a' => return aws_secret(rest),
        b'g' => {
            if rest.len() > 3 && rest[1] == b'h' && b"pousr".contains(&rest[2]) && rest[3] == b'_' {
                run_at_least(&rest[4..], 36, alnum).then_some("GitHub token")?
            } else if let Some(body) = after(rest, b"github_pat_") {
                run_at_least(body, 40, alnum_underscore).then_some("GitHub fine-grained token")?
            } else {
                let body = after(rest, b"glpat-")?;
                run_at_least(body, 20, alnum_dash_underscore).then_some("GitLab token")?
            }
        }
        b'x' => {
            let body = after(rest, b"xox")?;
            let ok = body.len() > 2 && b"abpr".contains(&body[0]) && body[1] == b'-' && {
                let body = &body[2..];
                run_at_least(body, 20, alnum_dash) && body[..20].iter().any(u8::is_ascii_digit)
            };
            ok.then_some("Slack token")?
        }
        b's' => {
            if let Some(body) = after(rest, b"sk_live_") {
                run_at_least(body, 20, alnum).then_some("Stripe live secret key")?
            } else {
                let body = after(rest, b"sk-")?;
                // Old keys are 48 alphanumerics, newer ones (`sk-proj-…`, `sk-ant-…`) longer
                // with `-`/`_`. Requiring digits and letters keeps kebab-case words out.
                let ok = run_at_least(body, 40, alnum_dash_underscore)
                    && body[..40].iter().any(u8::is_ascii_digit)
                    && body[..40].iter().any(u8::is_ascii_alphabetic);
                ok.then_some("API key (sk-…)")?
            }
        }
        b'r' => {
            let body = after(rest, b"rk_live_")?;
            run_at_least(body, 20, alnum).then_some("Stripe live restricted key")?
        }
        b'n' => {
            let body = after(rest, b"npm_")?;
            run_at_least(body, 36, alnum).then_some("npm token")?
        }
        b'p' => {
            // Every PyPI token is a macaroon whose base64 starts with `Ag`.
            let body = after(rest, b"pypi-Ag")?;
            run_at_least(body, 50, alnum_dash_underscore).then_some("PyPI token")?
        }
        _ => return None,
    };
    Some(found)
}

/// `aws_secret_access_key = <40 base64 characters>` in any case, with `=` or `:` and
/// optional quotes (INI, shell `export`, YAML, JSON).
fn aws_secret(rest: &[u8]) -> Option<&'static str> {
    const NAME: &[u8] = b"aws_secret_access_key";
    if rest.len() < NAME.len() || !rest[..NAME.len()].eq_ignore_ascii_case(NAME) {
        return None;
    }
    let skip = |s: &[u8]| s.iter().take(8).take_while(|&&b| matches!(b, b' ' | b'\t' | b'"' | b'\'')).count();
    let mut s = &rest[NAME.len()..];
    s = &s[skip(s)..];
    s = s.strip_prefix(b"=").or_else(|| s.strip_prefix(b":"))?;
    s = &s[skip(s)..];
    run_at_least(s, 40, base64ish).then_some("AWS secret access key")
}

/// A PEM-style private key header at `rest` (which starts with `-`).
fn pem_private_key(rest: &[u8]) -> Option<&'static str> {
    if rest.starts_with(b"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----") {
        return Some("SSH2 private key");
    }
    let body = after(rest, b"-----BEGIN ")?;
    // The label: uppercase words, at most 40 bytes, closed by five dashes.
    let len = body.iter().take(41).take_while(|&&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ').count();
    if len > 40 || !body[len..].starts_with(b"-----") {
        return None;
    }
    Some(match &body[..len] {
        b"OPENSSH PRIVATE KEY" => "OpenSSH private key",
        b"RSA PRIVATE KEY" => "RSA private key",
        b"EC PRIVATE KEY" => "EC private key",
        b"DSA PRIVATE KEY" => "DSA private key",
        b"PRIVATE KEY" => "PKCS#8 private key",
        b"ENCRYPTED PRIVATE KEY" => "encrypted PKCS#8 private key",
        b"PGP PRIVATE KEY BLOCK" => "PGP private key block",
        label if label.ends_with(b" PRIVATE KEY") => "private key",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test secrets are assembled at run time from pieces, so that this source file does not
    // itself look like it holds credentials (to dotback's own hook, to GitHub push
    // protection, to gitleaks).
    fn cat(parts: &[&str]) -> String {
        parts.concat()
    }

    // ---- path rules ----

    #[test]
    fn every_default_rule_has_a_positive() {
        let positives = [
            ".ssh/id_ed25519",
            ".ssh/id_rsa",
            ".ssh/id_ecdsa_sk",
            ".ssh/github_rsa",
            ".ssh/old_dsa",
            ".ssh/work_ecdsa",
            ".ssh/work_ed25519",
            ".gnupg",
            ".gnupg/private-keys-v1.d/ABCD.key",
            ".gnupg/pubring.kbx",
            "cert.pem",
            ".config/x/cert.pem",
            ".config/app/server.key",
            "certs/client.p12",
            "certs/client.pfx",
            ".netrc",
            ".authinfo",
            ".git-credentials",
            ".config/git/credentials",
            ".aws/credentials",
            ".config/gh/hosts.yml",
            ".config/glab-cli/config.yml",
            ".docker/config.json",
            ".kube/config",
            ".npmrc",
            ".pypirc",
            ".gem/credentials",
            ".cargo/credentials",
            ".cargo/credentials.toml",
            ".pgpass",
            ".my.cnf",
            ".config/rclone/rclone.conf",
            ".config/gcloud/application_default_credentials.json",
            ".config/gcloud/legacy_credentials/me@example.com/adc.json",
            ".vault-token",
            ".s3cfg",
            ".terraform.d/credentials.tfrc.json",
            ".config/sops/age/keys.txt",
        ];
        let rules = SecretRules::defaults();
        for p in positives {
            assert!(rules.path_is_secret(p), "{p} should be secret");
        }
        // Every built-in rule is exercised by some positive above.
        for (pattern, _) in DEFAULT_RULES {
            assert!(
                positives.iter().any(|p| rules.matching_rule(p) == Some(pattern)),
                "no positive for default rule {pattern}"
            );
        }
    }

    #[test]
    fn default_near_misses_are_not_secret() {
        let negatives = [
            ".ssh/id_ed25519.pub",
            ".ssh/id_rsa-cert.pub",
            ".ssh/known_hosts",
            ".ssh/config",
            ".ssh/authorized_keys",
            ".ssh/rsa",
            ".ssh/id_rsa_notes/../x.pub",
            "id_rsa",
            ".config/ssh/id_rsa",
            ".gnupgx/foo",
            "x.gnupg/foo",
            ".pemrc",
            ".config/x/cert.pem.bak",
            ".config/keyboard.keymap",
            ".config/monkey",
            ".netrc.example",
            "backup/.aws/credentials",
            ".aws/config",
            ".config/gh/config.yml",
            ".docker/daemon.json",
            ".kube/cache/discovery",
            ".npmrc-notes",
            ".zshrc",
            ".config/nvim/init.lua",
            ".cargo/config.toml",
            "",
            "/",
        ];
        let rules = SecretRules::defaults();
        for p in negatives {
            assert!(!rules.path_is_secret(p), "{p} should not be secret (rule {:?})", rules.matching_rule(p));
        }
    }

    #[test]
    fn directories_and_normalisation() {
        let rules = SecretRules::defaults();
        // Below a matching directory and at any depth for basename patterns.
        assert!(rules.path_is_secret(".gnupg/openpgp-revocs.d/X.rev"));
        assert!(rules.path_is_secret("a/b/c/d/e.key"));
        // Harmless spellings of the same target.
        assert!(rules.path_is_secret("./.netrc"));
        assert!(rules.path_is_secret(".aws//credentials"));
        assert!(rules.path_is_secret(".gnupg/"));
        assert_eq!(rules.matching_rule(".ssh/id_ed25519"), Some(".ssh/id_*"));
        assert_eq!(rules.matching_rule(".ssh/id_ed25519.pub"), None);
    }

    #[test]
    fn manifest_extra_not_and_replace() {
        let m = SecretsConfig {
            extra: vec![".config/myapp/token".into(), "*.secret".into(), ".config/vault/".into()],
            not: vec![".ssh/id_test".into(), "*.example.pem".into()],
            replace_defaults: false,
        };
        let rules = SecretRules::with_manifest(&m).unwrap();
        assert!(rules.path_is_secret(".config/myapp/token"));
        assert!(!rules.path_is_secret(".config/myapp/token2"));
        assert!(rules.path_is_secret("deep/dir/api.secret"));
        assert!(rules.path_is_secret(".config/vault/anything/below"));
        assert!(rules.path_is_secret(".ssh/id_rsa"), "defaults still apply");
        assert!(!rules.path_is_secret(".ssh/id_test"), "exclusion wins over a default");
        assert!(!rules.path_is_secret("certs/ca.example.pem"));
        assert!(rules.path_is_secret("certs/ca.pem"));

        // An exclusion also wins over `extra`, whatever the order.
        let m =
            SecretsConfig { extra: vec!["notes/*".into()], not: vec!["notes/public.md".into()], ..Default::default() };
        let rules = SecretRules::with_manifest(&m).unwrap();
        assert!(rules.path_is_secret("notes/private.md"));
        assert!(!rules.path_is_secret("notes/public.md"));

        // An extra pattern is not subject to a default rule's own exception.
        let m = SecretsConfig { extra: vec![".ssh/*.pub".into()], ..Default::default() };
        assert!(SecretRules::with_manifest(&m).unwrap().path_is_secret(".ssh/id_rsa.pub"));

        let m = SecretsConfig { extra: vec![".config/only/this".into()], replace_defaults: true, ..Default::default() };
        let rules = SecretRules::with_manifest(&m).unwrap();
        assert!(rules.path_is_secret(".config/only/this"));
        assert!(!rules.path_is_secret(".ssh/id_rsa"));
        assert!(!rules.path_is_secret(".netrc"));

        let empty =
            SecretRules::with_manifest(&SecretsConfig { replace_defaults: true, ..Default::default() }).unwrap();
        assert!(!empty.path_is_secret(".ssh/id_rsa"));

        // The default manifest is the default list.
        let rules = SecretRules::with_manifest(&SecretsConfig::default()).unwrap();
        assert!(rules.path_is_secret(".ssh/id_rsa") && !rules.path_is_secret(".ssh/id_rsa.pub"));
    }

    #[test]
    fn glob_semantics() {
        let m = |pattern: &str, path: &str| {
            let g = Glob::compile(pattern).unwrap();
            let segs: Vec<&str> = path.split('/').collect();
            g.matches(&segs)
        };
        assert!(m("*.pem", "a.pem") && m("*.pem", "x/y/a.pem") && m("*.pem", ".pem"));
        assert!(!m("a/*.pem", "a/x/y.pem"), "`*` does not cross `/`");
        assert!(m("a/**/y.pem", "a/x/z/y.pem") && m("a/**/y.pem", "a/y.pem"));
        assert!(m("a/**", "a") && m("**", "anything/at/all"));
        assert!(m("**/z", "z") && m("**/z", "a/b/z") && !m("**/z", "a/bz"));
        assert!(m("a/?.txt", "a/b.txt") && !m("a/?.txt", "a/bb.txt") && m("a/?.txt", "a/é.txt"));
        assert!(m("x[0-9]", "x5") && !m("x[0-9]", "xa") && m("x[!0-9]", "xa") && m("x[^0-9]", "xa"));
        assert!(m("x[]]", "x]") && m("x[a-]", "x-") && m("x[\\]]", "x]"));
        assert!(m("a\\*b", "a*b") && !m("a\\*b", "axb"));
        assert!(m("a**b", "axyzb"), "`**` inside a component is `*`");
        assert!(m("*a*b*c*", "xxaxxbxxcxx") && !m("*a*b*c*", "xxaxxcxxbxx"));
        assert!(!m(".ssh/id_*", "x/.ssh/id_rsa"), "patterns with `/` are anchored");
        // Pathological patterns stay fast (no exponential backtracking).
        let long = "a".repeat(200);
        let start = std::time::Instant::now();
        assert!(!m(&"*a".repeat(50).replace("**", "*"), &format!("{long}b")));
        assert!(!m("**/a/".repeat(20).trim_end_matches('/'), "a/".repeat(19).trim_end_matches('/')));
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn invalid_patterns_are_errors_naming_them() {
        for (bad, field) in [
            ("", "extra"),
            ("/etc/passwd", "extra"),
            ("~/.netrc", "extra"),
            ("a/../b", "not"),
            ("./a", "not"),
            ("a//b", "extra"),
            ("x[ab", "extra"),
            ("x\\", "extra"),
            ("{a,b}.key", "not"),
            ("x[z-a]", "extra"),
            ("/", "extra"),
        ] {
            let mut m = SecretsConfig::default();
            let list = if field == "extra" { &mut m.extra } else { &mut m.not };
            list.push(bad.to_owned());
            let err = SecretRules::with_manifest(&m).unwrap_err();
            let SecretsError::InvalidPattern { field: f, pattern, .. } = &err;
            assert_eq!((*f, pattern.as_str()), (field, bad));
            let msg = err.to_string();
            assert!(msg.contains(&format!("`{bad}`")) && msg.contains(field), "{msg}");
        }
    }

    #[test]
    fn secrets_table_parses_from_toml() {
        let c: SecretsConfig = toml::from_str("extra = [\"a\"]\nnot = [\"b\"]\nreplace_defaults = true\n").unwrap();
        assert_eq!(c, SecretsConfig { extra: vec!["a".into()], not: vec!["b".into()], replace_defaults: true });
        assert_eq!(toml::from_str::<SecretsConfig>("").unwrap(), SecretsConfig::default());
        let err = toml::from_str::<SecretsConfig>("exclude = [\"b\"]\n").unwrap_err();
        assert!(err.to_string().contains("exclude"), "{err}");
    }

    // ---- content scan ----

    /// One positive sample per kind: (kind, the text, the secret part that must never be
    /// echoed).
    fn positives() -> Vec<(&'static str, String, String)> {
        let b36 = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";
        let b40 = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE12";
        let pem = |label: &str| cat(&["-----BEGIN ", label, "-----\nMIIEbody\n-----END ", label, "-----\n"]);
        let mut v = vec![
            ("OpenSSH private key", pem("OPENSSH PRIVATE KEY"), "MIIEbody".into()),
            ("RSA private key", pem("RSA PRIVATE KEY"), "MIIEbody".into()),
            ("EC private key", pem("EC PRIVATE KEY"), "MIIEbody".into()),
            ("DSA private key", pem("DSA PRIVATE KEY"), "MIIEbody".into()),
            ("PKCS#8 private key", pem("PRIVATE KEY"), "MIIEbody".into()),
            ("encrypted PKCS#8 private key", pem("ENCRYPTED PRIVATE KEY"), "MIIEbody".into()),
            ("PGP private key block", pem("PGP PRIVATE KEY BLOCK"), "MIIEbody".into()),
            ("private key", pem("ANY PRIVATE KEY"), "MIIEbody".into()),
            (
                "SSH2 private key",
                cat(&["---- BEGIN SSH2 ENCRYPTED ", "PRIVATE KEY ----\nP2/56wAAbody\n"]),
                "P2/56wAAbody".into(),
            ),
            (
                "PuTTY private key",
                cat(&["PuTTY-User-", "Key-File-3: ssh-ed25519\nPrivate-Lines: 1\nAAAAbody\n"]),
                "AAAAbody".into(),
            ),
        ];
        let age_body = "QYQ7Z3C9ZJ2XK0F8W5L4M6N7P8R9S0T2U3V4W5X6Y7Z8A9C0D2E3F4G5H6";
        v.push(("age secret key", cat(&["# created: x\nAGE-SECRET-", "KEY-1", age_body, "\n"]), age_body.into()));
        for p in ["p", "o", "u", "s", "r"] {
            v.push(("GitHub token", cat(&["export GITHUB_TOKEN=gh", p, "_", b36, "\n"]), b36.into()));
        }
        let pat = "11ABCDEFG0123456789_abcdefghijABCDEFGHIJ0123456789abcdefghijklmnopqrstuvwxyzABCDE";
        v.push(("GitHub fine-grained token", cat(&["token: github_", "pat_", pat]), pat.into()));
        v.push(("GitLab token", cat(&["glpat", "-", "xYz12_AbC-3dEf45GhIj6"]), "xYz12_AbC-3dEf45GhIj6".into()));
        for t in ["a", "b", "p", "r"] {
            let body = "1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
            v.push(("Slack token", cat(&["SLACK=\"xox", t, "-", body, "\""]), body.into()));
        }
        v.push((
            "AWS access key ID",
            cat(&["aws_access_key_id = AK", "IA", "Z7Q2X4W6E8R0T1Y3"]),
            "Z7Q2X4W6E8R0T1Y3".into(),
        ));
        v.push(("AWS access key ID", cat(&["{\"id\":\"AS", "IA", "Z7Q2X4W6E8R0T1Y3\"}"]), "Z7Q2X4W6E8R0T1Y3".into()));
        for (name, sep) in
            [("aws_secret_access_key", " = "), ("AWS_SECRET_ACCESS_KEY", "="), ("aws_secret_access_key", "\": \"")]
        {
            let text = cat(&["[default]\n", name, sep, b40, "\n"]);
            v.push(("AWS secret access key", text, b40.into()));
        }
        let sk = "proj-Ab3De5Gh7Jk9Lm1No3Pq5Rs7Tu9Vw1Xy3Za5Bc7";
        v.push(("API key (sk-…)", cat(&["OPENAI_API_KEY=s", "k-", sk]), sk.into()));
        v.push(("npm token", cat(&["//registry.npmjs.org/:_authToken=np", "m_", b36]), b36.into()));
        let pypi = "AgEIcHlwaS5vcmcCJGE0ZjM1ZmI0LTk1ZjUtNDQ3Yi1hZjk2LTZmNmU3YjQ4ZDBkNwACKlsz";
        v.push(("PyPI token", cat(&["password = pypi", "-", pypi]), pypi.into()));
        v.push((
            "Stripe live secret key",
            cat(&["sk_", "live_", "4eC39HqLyjWDarjtT1zdp7dc"]),
            "4eC39HqLyjWDarjtT1zdp7dc".into(),
        ));
        v.push((
            "Stripe live restricted key",
            cat(&["rk_", "live_", "4eC39HqLyjWDarjtT1zdp7dc"]),
            "4eC39HqLyjWDarjtT1zdp7dc".into(),
        ));
        let g = "SyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe";
        v.push(("Google API key", cat(&["key=AI", "za", g]), g.into()));
        v
    }

    #[test]
    fn scan_finds_each_kind_on_the_right_line() {
        for (kind, text, _) in positives() {
            let found = scan_content(text.as_bytes());
            assert_eq!(found.map(|f| f.kind), Some(kind), "{kind}: {found:?}");
            // Three lines of preamble move the reported line by three.
            let shifted = format!("# a\n\n# b\n{text}");
            let f = scan_content(shifted.as_bytes()).unwrap();
            assert_eq!(f.line, scan_content(text.as_bytes()).unwrap().line + 3, "{kind}");
        }
        let f = scan_content(cat(&["a\nb\nc\n-----BEGIN OPENSSH ", "PRIVATE KEY-----\n"]).as_bytes()).unwrap();
        assert_eq!(f, Finding { kind: "OpenSSH private key", line: 4 });
    }

    #[test]
    fn findings_never_echo_the_secret() {
        for (kind, text, secret) in positives() {
            let f = scan_content(text.as_bytes()).unwrap();
            for shown in [format!("{f:?}"), format!("{f:#?}"), f.to_string()] {
                assert!(shown.contains(kind) && !shown.contains(&secret), "{shown}");
                // Not even a fragment of it.
                for window in secret.as_bytes().windows(6) {
                    assert!(!shown.as_bytes().windows(6).any(|w| w == window), "{shown} echoes part of {secret}");
                }
            }
        }
    }

    #[test]
    fn scan_negatives() {
        let b36 = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";
        let negatives = [
            "Never commit your PRIVATE KEY to git.".to_owned(),
            "the BEGIN PRIVATE KEY line\n".to_owned(),
            cat(&["-----BEGIN PUBLIC KEY-----\nMIIB\n"]),
            cat(&["-----BEGIN CERTIFICATE-----\nMIIB\n"]),
            cat(&["-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n"]),
            cat(&["-----BEGIN ", "OPENSSH PRIVATE KEY"]), // not closed
            cat(&["-----BEGIN ", "openssh private key-----"]),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG user@host\n".to_owned(),
            "alias sk-=ls\nsk-short\nsk-1234\n".to_owned(),
            cat(&["s", "k-", "this-is-a-very-long-kebab-case-identifier-without-digits"]),
            cat(&["mask-", "Ab3De5Gh7Jk9Lm1No3Pq5Rs7Tu9Vw1Xy3Za5Bc7Zz9"]),
            cat(&["gh", "p_", "tooShort123"]),
            cat(&["xgh", "p_", b36]),
            cat(&["gh", "x_", b36]),
            cat(&["AK", "IA", "Z7Q2X4W6E8R0T1Y"]),   // 15
            cat(&["AK", "IA", "Z7Q2X4W6E8R0T1Y3X"]), // 17
            cat(&["AK", "IA", "z7q2x4w6e8r0t1y3"]),  // lowercase
            cat(&["XAK", "IA", "Z7Q2X4W6E8R0T1Y3"]), // no boundary
            "aws_secret_access_key = ${AWS_SECRET}\n".to_owned(),
            "aws_secret_access_key=$(pass show aws)\n".to_owned(),
            "aws_secret_access_key\n".to_owned(),
            cat(&["xox", "c-", "1234567890-1234567890123"]),
            cat(&["xox", "b-", "short"]),
            cat(&["np", "m_", "short"]),
            cat(&["npm_config_prefix=~/.npm-global"]),
            cat(&["pypi", "-", "package-name"]),
            cat(&["sk_", "test_", "4eC39HqLyjWDarjtT1zdp7dc"]),
            cat(&["AI", "za", "short"]),
            cat(&["AGE-SECRET-", "KEY-1", "SHORT"]),
            cat(&["AGE-PLUGIN-YUBIKEY-1", "QYQ7Z3C9ZJ2XK0F8W5L4M6N7P8R9S0T2U3V4W5X6Y7Z8A9C0D2E3F4G5H6"]),
            cat(&["PuTTY-User-", "Key-File-x"]),
            "export EDITOR=nvim\nalias ll='ls -l'\n".to_owned(),
            String::new(),
        ];
        for text in negatives {
            assert_eq!(scan_content(text.as_bytes()), None, "{text:?}");
        }
    }

    #[test]
    fn binary_content_is_scanned_for_keys_only() {
        let token = cat(&["gh", "p_", "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"]);
        let mut bin = vec![0u8, 1, 2, 3];
        bin.extend_from_slice(token.as_bytes());
        assert_eq!(scan_content(&bin), None);
        bin.extend_from_slice(cat(&["\n-----BEGIN ", "RSA PRIVATE KEY-----\n"]).as_bytes());
        assert_eq!(scan_content(&bin).map(|f| f.kind), Some("RSA private key"));

        // A NUL after the first 8 KiB does not make the file binary.
        let mut late = vec![b'\n'; BINARY_SNIFF];
        late.extend_from_slice(token.as_bytes());
        late.push(0);
        assert_eq!(scan_content(&late).map(|f| f.kind), Some("GitHub token"));
    }

    #[test]
    fn scan_is_fast() {
        // 1 MiB of config-like text full of near-misses for every trigger byte.
        let chunk = "alias ls='ls --color' # see sk-learn, npm_config, pypi-x, AKIA, -----BEGIN CERTIFICATE-----\n\
                     export PATH=\"$HOME/.local/bin:$PATH\" aws_secret_access_key=${X} xoxo ghost_ github glpat\n";
        let data = chunk.repeat((1 << 20) / chunk.len() + 1);
        let data = &data.as_bytes()[..1 << 20];
        // Adversarial: runs that keep candidates alive as long as possible.
        let adversarial = cat(&["sk-", &"a-".repeat(1 << 19)]);
        let best = |input: &[u8]| {
            (0..5)
                .map(|_| {
                    let t = std::time::Instant::now();
                    assert_eq!(scan_content(std::hint::black_box(input)), None);
                    t.elapsed()
                })
                .min()
                .unwrap()
        };
        let (normal, adv) = (best(data), best(adversarial.as_bytes()));
        // The bound is for release builds; unoptimised test builds get slack.
        let limit = std::time::Duration::from_millis(if cfg!(debug_assertions) { 500 } else { 10 });
        assert!(normal < limit && adv < limit, "1 MiB scan took {normal:?} / {adv:?} (limit {limit:?})");
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        /// Fragments that steer random inputs into the scanner's less travelled paths: every
        /// prefix, cut at every length, next to the end of the buffer.
        fn fragment() -> impl Strategy<Value = Vec<u8>> {
            let pieces: Vec<&'static [u8]> = vec![
                b"-----BEGIN ",
                b"PRIVATE KEY",
                b"-----",
                b"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----",
                b"AGE-SECRET-KEY-1",
                b"PuTTY-User-Key-File-",
                b"ghp_",
                b"github_pat_",
                b"glpat-",
                b"xoxb-",
                b"AKIA",
                b"ASIA",
                b"AIza",
                b"sk-",
                b"sk_live_",
                b"rk_live_",
                b"npm_",
                b"pypi-Ag",
                b"aws_secret_access_key",
                b" = ",
                b"\n",
                b"\0",
                b"-",
            ];
            prop_oneof![
                proptest::sample::select(pieces).prop_map(<[u8]>::to_vec),
                proptest::collection::vec(any::<u8>(), 0..8),
                "[A-Za-z0-9_-]{0,60}".prop_map(String::into_bytes),
            ]
        }

        proptest! {
            #[test]
            fn scan_never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
                let _ = scan_content(&data);
            }

            #[test]
            fn scan_never_panics_near_triggers(parts in proptest::collection::vec(fragment(), 0..24), cut in any::<usize>()) {
                let data = parts.concat();
                let cut = if data.is_empty() { 0 } else { cut % (data.len() + 1) };
                for input in [&data[..], &data[..cut], &data[cut..]] {
                    if let Some(f) = scan_content(input) {
                        prop_assert!(f.line >= 1 && f.line <= 1 + input.iter().filter(|&&b| b == b'\n').count());
                    }
                }
            }

            #[test]
            fn finding_never_contains_the_token(body in "[A-Za-z0-9]{36,60}", pre in "[ \n=:\"]{0,3}") {
                let text = format!("{pre}gh{}_{body}", "p");
                let f = scan_content(text.as_bytes()).unwrap();
                let (debug, display) = (format!("{f:?}"), f.to_string());
                prop_assert!(!debug.contains(&body[..20]) && !display.contains(&body[..20]));
            }

            #[test]
            fn path_rules_never_panic(target in "[a-z./*?\\[\\]_-]{0,40}") {
                let rules = SecretRules::defaults();
                let _ = rules.path_is_secret(&target);
                // Any string either compiles or is an error; matching never panics.
                if let Ok(g) = Glob::compile(&target) {
                    let segs: Vec<&str> = target.split('/').collect();
                    let _ = g.matches(&segs);
                }
            }
        }
    }
}
