//! `known_hosts` read the way OpenSSH reads it (its `hostfile.c` and `match.c`), so that a host
//! key `ssh` accepts is accepted and one it refuses is refused: libssh2's own check knows no
//! `@revoked`, no `@cert-authority`, no wildcards and no negation.
//!
//! A line is `[@marker] patterns keytype base64-key [comment]`. The name looked up is the host
//! for port 22 and `[host]:port` otherwise; `patterns` is a comma list of globs (`*`, `?`), where
//! a matching `!pattern` rules the line out, or one hashed name `|1|salt|hash` (HMAC-SHA1 of the
//! name, keyed with the salt). Lines that do not parse are skipped, as `ssh` skips them.

use base64::Engine;
use hmac::{Hmac, Mac};
use std::path::PathBuf;

/// Where a `known_hosts` line is, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
}

/// What the `known_hosts` files say about a host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A line for this host records this key (and none revokes it).
    Known,
    /// No line for this host records any key.
    Unknown,
    /// Lines for this host record other keys, not this one: the first of them.
    Changed(Place),
    /// A `@revoked` line for this host names this key; no other line can accept it.
    Revoked(Place),
    /// No line records this key, but a `@cert-authority` line covers the host: `ssh` would
    /// accept a certificate signed by it, which libssh2 cannot negotiate.
    CertAuthority(Place),
}

/// Completes "the ssh host key of HOST (TYPE FINGERPRINT) …".
impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Known => write!(f, "is recorded in known_hosts"),
            Verdict::Unknown => write!(f, "is not in ~/.ssh/known_hosts"),
            Verdict::Changed(p) => {
                write!(f, "does not match the key recorded for that host ({} line {})", p.file.display(), p.line)
            }
            Verdict::Revoked(p) => write!(f, "was revoked (@revoked in {} line {})", p.file.display(), p.line),
            Verdict::CertAuthority(p) => write!(
                f,
                "is not in known_hosts, which trusts host certificates for that host instead (@cert-authority in {} line {}); dotback cannot check host certificates",
                p.file.display(),
                p.line
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    CertAuthority,
    Revoked,
}

/// The name OpenSSH looks up for `host` on `port`: `host` itself on port 22, else `[host]:port`.
pub fn lookup_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 { host } else { format!("[{host}]:{port}") }
}

/// The verdict of `files` (path and content, in the order `ssh` reads them: the user's, then the
/// system's) on `key` (the server's public key blob) for `host` on `port`.
pub fn check(files: &[(PathBuf, String)], host: &str, port: u16, key: &[u8]) -> Verdict {
    let name = lookup_name(host, port);
    let (mut known, mut changed, mut authority) = (false, None, None);
    for (file, text) in files {
        for (i, line) in text.lines().enumerate() {
            let Some((marker, blob)) = parse(line, &name) else { continue };
            let place = || Place { file: file.clone(), line: i + 1 };
            match marker {
                Marker::Revoked if blob == key => return Verdict::Revoked(place()),
                Marker::Revoked => {}
                Marker::CertAuthority => {
                    authority.get_or_insert_with(place);
                }
                Marker::None if blob == key => known = true,
                Marker::None => {
                    changed.get_or_insert_with(place);
                }
            }
        }
    }
    match (known, changed, authority) {
        (true, _, _) => Verdict::Known,
        (false, Some(place), _) => Verdict::Changed(place),
        (false, None, Some(place)) => Verdict::CertAuthority(place),
        (false, None, None) => Verdict::Unknown,
    }
}

/// The marker and key blob of `line` when it is a valid line for `name`.
fn parse(line: &str, name: &str) -> Option<(Marker, Vec<u8>)> {
    let mut words = line.split([' ', '\t']).filter(|w| !w.is_empty());
    let mut first = words.next()?;
    if first.starts_with('#') {
        return None;
    }
    let marker = match first {
        "@cert-authority" => Marker::CertAuthority,
        "@revoked" => Marker::Revoked,
        _ if first.starts_with('@') => return None,
        _ => Marker::None,
    };
    if marker != Marker::None {
        first = words.next()?;
    }
    if !host_matches(name, first) {
        return None;
    }
    let key_type = words.next()?;
    let blob = base64::engine::general_purpose::STANDARD.decode(words.next()?).ok()?;
    // The blob names its own type; a line whose type word disagrees is corrupt.
    (blob_type(&blob)? == key_type.as_bytes()).then_some((marker, blob))
}

/// The key type a public key blob starts with (an ssh string: a 4-byte length, then the name).
fn blob_type(blob: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    blob.get(4..4 + len)
}

/// `name` is covered by the host field of a line: a hashed name, or a pattern list with at least
/// one pattern matching and no negated one.
fn host_matches(name: &str, field: &str) -> bool {
    if field.starts_with('|') {
        return field.strip_prefix("|1|").is_some_and(|hashed| hash_matches(name, hashed));
    }
    let mut positive = false;
    for pattern in field.split(',') {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if glob(name.as_bytes(), pattern.to_ascii_lowercase().as_bytes()) {
            if negated {
                return false;
            }
            positive = true;
        }
    }
    positive
}

/// `salt|hash` (both base64, the salt a SHA-1 block's 20 bytes) is the HMAC-SHA1 of `name`.
fn hash_matches(name: &str, hashed: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some((salt, hash)) = hashed.split_once('|') else { return false };
    let (Ok(salt), Ok(hash)) = (b64.decode(salt), b64.decode(hash)) else { return false };
    if salt.len() != 20 {
        return false;
    }
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(&salt) else { return false };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// OpenSSH's `match_pattern`: `*` matches any run of bytes, `?` any one byte.
pub(super) fn glob(s: &[u8], p: &[u8]) -> bool {
    let (mut si, mut pi) = (0, 0);
    // Where the last `*` was, and where in `s` its run ends so far.
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == s[si] => {
                si += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    star = Some((sp, ss + 1));
                    pi = sp + 1;
                    si = ss + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    /// A public key blob of `kind` whose body is `body` (enough for comparing blobs).
    fn blob(kind: &str, body: u8) -> Vec<u8> {
        let mut b = (kind.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind.as_bytes());
        b.extend_from_slice(&[0, 0, 0, 32]);
        b.extend_from_slice(&[body; 32]);
        b
    }

    fn key(body: u8) -> String {
        format!("ssh-ed25519 {}", B64.encode(blob("ssh-ed25519", body)))
    }

    /// `|1|salt|hash` for `name`, as `ssh-keygen -H` writes it.
    fn hashed(name: &str, salt: [u8; 20]) -> String {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&salt).unwrap();
        mac.update(name.as_bytes());
        format!("|1|{}|{}", B64.encode(salt), B64.encode(mac.finalize().into_bytes()))
    }

    fn verdict(lines: &str, host: &str, port: u16) -> Verdict {
        check(&[(PathBuf::from("kh"), lines.to_string())], host, port, &blob("ssh-ed25519", 1))
    }

    fn at(line: usize) -> Place {
        Place { file: PathBuf::from("kh"), line }
    }

    #[test]
    fn lines_are_read_as_openssh_reads_them() {
        let ours = key(1);
        let other = key(2);
        let table: Vec<(String, &str, u16, Verdict)> = vec![
            // Plain names, default and other ports; port 22 is written bare.
            (format!("example.org {ours}"), "example.org", 22, Verdict::Known),
            (format!("Example.ORG {ours}"), "example.org", 22, Verdict::Known),
            (format!("example.org {ours}"), "EXAMPLE.org", 22, Verdict::Known),
            (format!("[example.org]:22 {ours}"), "example.org", 22, Verdict::Unknown),
            (format!("example.org {ours}"), "example.org", 2222, Verdict::Unknown),
            (format!("[example.org]:2222 {ours}"), "example.org", 2222, Verdict::Known),
            (format!("[example.org]:2223 {ours}"), "example.org", 2222, Verdict::Unknown),
            (format!("other.org {ours}"), "example.org", 22, Verdict::Unknown),
            // Comma lists, wildcards and negation.
            (format!("a.org,example.org {ours}"), "example.org", 22, Verdict::Known),
            (format!("*.example.org {ours}"), "git.example.org", 22, Verdict::Known),
            (format!("*.example.org {ours}"), "example.org", 22, Verdict::Unknown),
            (format!("git?.example.org {ours}"), "git1.example.org", 22, Verdict::Known),
            (format!("git?.example.org {ours}"), "git12.example.org", 22, Verdict::Unknown),
            (format!("[127.0.0.*]:2222 {ours}"), "127.0.0.1", 2222, Verdict::Known),
            (format!("[127.0.0.*]:* {ours}"), "127.0.0.1", 2222, Verdict::Known),
            (format!("* {ours}"), "anything", 22, Verdict::Known),
            (format!("*.org,!evil.org {ours}"), "evil.org", 22, Verdict::Unknown),
            (format!("!evil.org,*.org {ours}"), "evil.org", 22, Verdict::Unknown),
            (format!("!evil.org {ours}"), "good.org", 22, Verdict::Unknown),
            (format!("*.org,!evil.org {ours}"), "good.org", 22, Verdict::Known),
            // Hashed names, with the port inside the hash.
            (format!("{} {ours}", hashed("example.org", [7; 20])), "example.org", 22, Verdict::Known),
            (format!("{} {ours}", hashed("example.org", [7; 20])), "example.net", 22, Verdict::Unknown),
            (format!("{} {ours}", hashed("[127.0.0.1]:2222", [9; 20])), "127.0.0.1", 2222, Verdict::Known),
            (format!("{} {ours}", hashed("127.0.0.1", [9; 20])), "127.0.0.1", 2222, Verdict::Unknown),
            (format!("|1|c2FsdA==|AAAA {ours}"), "example.org", 22, Verdict::Unknown),
            // Another key for the host: changed.
            (format!("example.org {other}"), "example.org", 22, Verdict::Changed(at(1))),
            (format!("example.org {other}\nexample.org {ours}"), "example.org", 22, Verdict::Known),
            // Revoked: refused even when another line accepts the key; only for the host it names.
            (format!("@revoked example.org {ours}"), "example.org", 22, Verdict::Revoked(at(1))),
            (format!("example.org {ours}\n@revoked * {ours}"), "example.org", 22, Verdict::Revoked(at(2))),
            (format!("example.org {ours}\n@revoked * {other}"), "example.org", 22, Verdict::Known),
            (format!("example.org {ours}\n@revoked other.org {ours}"), "example.org", 22, Verdict::Known),
            // Certificate authorities: a clear refusal, unless a line records the key itself.
            (format!("@cert-authority *.org {other}"), "example.org", 22, Verdict::CertAuthority(at(1))),
            (format!("@cert-authority *.org {other}\nexample.org {ours}"), "example.org", 22, Verdict::Known),
            (format!("@cert-authority *.net {other}"), "example.org", 22, Verdict::Unknown),
            // Lines ssh skips: comments, unknown markers, corrupt keys, a type the key contradicts.
            (format!("# example.org {ours}"), "example.org", 22, Verdict::Unknown),
            (format!("@other example.org {ours}"), "example.org", 22, Verdict::Unknown),
            ("example.org ssh-ed25519 not-base64!".to_string(), "example.org", 22, Verdict::Unknown),
            ("example.org ssh-ed25519".to_string(), "example.org", 22, Verdict::Unknown),
            (
                format!("example.org ssh-rsa {}", B64.encode(blob("ssh-ed25519", 1))),
                "example.org",
                22,
                Verdict::Unknown,
            ),
            (format!("   \n\texample.org\t{ours} comment words"), "example.org", 22, Verdict::Known),
        ];
        for (lines, host, port, want) in table {
            assert_eq!(verdict(&lines, host, port), want, "{lines:?} for {host} port {port}");
        }
    }

    #[test]
    fn every_file_counts_and_places_name_the_file() {
        let files = vec![
            (PathBuf::from("user"), format!("example.org {}\n", key(1))),
            (PathBuf::from("system"), format!("# global\n@revoked example.org {}\n", key(1))),
        ];
        assert_eq!(
            check(&files, "example.org", 22, &blob("ssh-ed25519", 1)),
            Verdict::Revoked(Place { file: PathBuf::from("system"), line: 2 })
        );
        assert_eq!(check(&files[1..], "example.org", 22, &blob("ssh-ed25519", 2)), Verdict::Unknown);
    }

    #[test]
    fn globs_match_like_openssh() {
        for (s, p, want) in [
            ("abc", "abc", true),
            ("abc", "a*", true),
            ("abc", "*c", true),
            ("abc", "*b*", true),
            ("abc", "a?c", true),
            ("abc", "a??c", false),
            ("abc", "", false),
            ("", "*", true),
            ("aXbXc", "*b*c", true),
            ("abcabd", "*abd", true),
            ("abcabc", "*abd", false),
        ] {
            assert_eq!(glob(s.as_bytes(), p.as_bytes()), want, "{s} vs {p}");
        }
    }
}
