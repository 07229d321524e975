//! What `~/.ssh/config` (then `/etc/ssh/ssh_config`) says about one host, read as ssh reads
//! it: libssh2, which libgit2 uses, reads no config, while git runs ssh, which does. Users point
//! remotes at aliases (`Host github-work` with its own `HostName`, `User`, `IdentityFile`) to pick
//! a key, and those URLs must work the same here.
//!
//! Only the keywords a git remote depends on are read: `HostName` (with `%h`), `Port`, `User`,
//! `IdentityFile` (with `~`, `%d`, `%u`, `%h`, `%r`), `IdentitiesOnly` and `HostKeyAlias`.
//! `Host` patterns take `*`, `?` and `!`; for each keyword the first value found wins, and
//! `IdentityFile`s add up, as in ssh. Not read: `Include` (its files are skipped) and `Match`
//! blocks (other than `Match all`), whose conditions would need ssh's own evaluation.

use super::known_hosts::glob;
use std::path::{Path, PathBuf};

/// The settings that apply to one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// The host to connect to (`%h` replaced by the alias).
    pub host_name: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    /// As written (see [`HostConfig::identity_paths`]).
    pub identity_files: Vec<String>,
    /// Offer only the identity files, never every key an agent holds.
    pub identities_only: Option<bool>,
    /// The name the host's key is looked up under in `known_hosts`.
    pub host_key_alias: Option<String>,
}

impl HostConfig {
    /// The settings for `host` from the user's config, then the system's.
    pub fn load(home: &Path, host: &str) -> HostConfig {
        let mut config = HostConfig::default();
        for file in [home.join(".ssh/config"), PathBuf::from("/etc/ssh/ssh_config")] {
            if let Ok(text) = std::fs::read_to_string(&file) {
                config.read(&text, host);
            }
        }
        config
    }

    /// Adds what `text` (one config file) says about `host` to what is known already.
    pub fn read(&mut self, text: &str, host: &str) {
        let host = host.to_lowercase();
        let mut applies = true;
        for line in text.lines() {
            let Some((keyword, args)) = split_line(line) else { continue };
            match keyword.as_str() {
                "host" => applies = host_matches(&host, &args),
                "match" => applies = args.len() == 1 && args[0].eq_ignore_ascii_case("all"),
                _ if !applies || args.is_empty() => {}
                "hostname" => {
                    self.host_name.get_or_insert_with(|| expand(&args[0], &[('h', &host)]));
                }
                "port" if self.port.is_none() => self.port = args[0].parse().ok(),
                "user" => {
                    self.user.get_or_insert_with(|| args[0].clone());
                }
                "identityfile" if !args[0].eq_ignore_ascii_case("none") => self.identity_files.push(args[0].clone()),
                "identitiesonly" => {
                    self.identities_only.get_or_insert(matches!(args[0].to_lowercase().as_str(), "yes" | "true"));
                }
                "hostkeyalias" => {
                    self.host_key_alias.get_or_insert_with(|| args[0].clone());
                }
                _ => {}
            }
        }
    }

    /// The identity files as paths: `~` and `%d` are the home directory, `%u` the local user,
    /// `%h` the host connected to and `%r` the remote user; relative paths are under `~/.ssh`,
    /// as ssh takes them.
    pub fn identity_paths(&self, home: &Path, local_user: &str, host: &str, user: &str) -> Vec<PathBuf> {
        let home_text = home.to_string_lossy();
        self.identity_files
            .iter()
            .map(|f| {
                let f = match f.strip_prefix("~/") {
                    Some(rest) => format!("{home_text}/{rest}"),
                    None if f == "~" => home_text.to_string(),
                    None => f.clone(),
                };
                let f = PathBuf::from(expand(&f, &[('d', &home_text), ('u', local_user), ('h', host), ('r', user)]));
                if f.is_absolute() { f } else { home.join(".ssh").join(f) }
            })
            .collect()
    }
}

/// `Keyword args…` or `Keyword=args…`, the keyword lowercased and double quotes removed; `None`
/// for a blank line or a comment.
fn split_line(line: &str) -> Option<(String, Vec<String>)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(line.len());
    let keyword = line[..end].to_lowercase();
    let rest = line[end..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest);
    let mut args = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else { break };
        if first == '#' {
            break;
        }
        let mut arg = String::new();
        if first == '"' {
            chars.next();
            arg.extend(chars.by_ref().take_while(|&c| c != '"'));
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                arg.push(c);
            }
        }
        args.push(arg);
    }
    Some((keyword, args))
}

/// A `Host` line applies when `host` matches one of its patterns and none of its negated ones.
fn host_matches(host: &str, patterns: &[String]) -> bool {
    let mut matched = false;
    for p in patterns {
        let p = p.to_lowercase();
        match p.strip_prefix('!') {
            Some(negated) if glob(host.as_bytes(), negated.as_bytes()) => return false,
            Some(_) => {}
            None => matched |= glob(host.as_bytes(), p.as_bytes()),
        }
    }
    matched
}

/// Replaces `%x` tokens with their values, and `%%` with `%`; an unknown token stays as written.
fn expand(text: &str, tokens: &[(char, &str)]) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(t) => match tokens.iter().find(|(k, _)| *k == t) {
                Some((_, v)) => out.push_str(v),
                None => {
                    out.push('%');
                    out.push(t);
                }
            },
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
# Work account: its own key, never the agent's.
Host github-work
    HostName github.com
    User git
    IdentityFile ~/.ssh/id_work
    IdentitiesOnly yes

Host nas nas.local
  HostName=192.168.1.20
  Port 2222
  HostKeyAlias nas

Host *.internal !secret.internal
    User admin
    Port 2200
    HostName %h.corp.example

Host dev?
    IdentityFile "keys/dev key"
    IdentityFile %d/.ssh/id_%r_%h

Match host something exec "true"
    User matched

Host *
    User fallback
    IdentityFile ~/.ssh/id_default
    Port 22
"#;

    fn lookup(host: &str) -> HostConfig {
        let mut c = HostConfig::default();
        c.read(SAMPLE, host);
        c
    }

    #[test]
    fn an_alias_gets_its_host_name_user_and_key() {
        let c = lookup("github-work");
        assert_eq!(c.host_name.as_deref(), Some("github.com"));
        assert_eq!(c.user.as_deref(), Some("git"), "the first value wins over `Host *`");
        assert_eq!(c.identity_files, ["~/.ssh/id_work", "~/.ssh/id_default"], "identity files add up");
        assert_eq!(c.identities_only, Some(true));
        assert_eq!(c.port, Some(22), "from `Host *`");
        assert_eq!(lookup("GitHub-Work").host_name.as_deref(), Some("github.com"), "host names ignore case");
    }

    #[test]
    fn patterns_and_negations_choose_the_sections() {
        let nas = lookup("nas.local");
        assert_eq!((nas.host_name.as_deref(), nas.port), (Some("192.168.1.20"), Some(2222)), "`=` and a second name");
        assert_eq!(nas.host_key_alias.as_deref(), Some("nas"));
        let db = lookup("db.internal");
        assert_eq!(db.host_name.as_deref(), Some("db.internal.corp.example"), "%h is the alias");
        assert_eq!((db.user.as_deref(), db.port), (Some("admin"), Some(2200)));
        let secret = lookup("secret.internal");
        assert_eq!((secret.host_name, secret.user.as_deref()), (None, Some("fallback")), "negated: skipped");
        assert_eq!(lookup("dev1").identity_files[0], "keys/dev key", "quoted, with its space");
        assert_eq!(lookup("dev12").identity_files, ["~/.ssh/id_default"], "`?` is one character");
        let plain = lookup("example.org");
        assert_eq!((plain.host_name, plain.user.as_deref(), plain.identities_only), (None, Some("fallback"), None));
        assert_ne!(lookup("something").user.as_deref(), Some("matched"), "a Match block is not evaluated");
    }

    #[test]
    fn identity_files_expand_like_ssh() {
        let c = lookup("dev1");
        let home = Path::new("/home/me");
        assert_eq!(
            c.identity_paths(home, "me", "dev1", "git"),
            [
                PathBuf::from("/home/me/.ssh/keys/dev key"),
                PathBuf::from("/home/me/.ssh/id_git_dev1"),
                PathBuf::from("/home/me/.ssh/id_default"),
            ]
        );
        assert_eq!(expand("100%% %x %h", &[('h', "host")]), "100% %x host");
    }

    #[test]
    fn the_first_file_read_wins() {
        let mut c = HostConfig::default();
        c.read("Host box\n  Port 2022\n", "box");
        c.read("Host *\n  Port 22\n  User system\n", "box");
        assert_eq!((c.port, c.user.as_deref()), (Some(2022), Some("system")));
        let mut c = HostConfig::default();
        c.read("Port 7\nHost other\n  Port 8\n", "box");
        assert_eq!(c.port, Some(7), "lines before any Host apply to every host");
    }
}
