//! Talking to remotes: credentials (ssh-agent, then the user's `~/.ssh` keys; git's credential
//! helpers for https), host-key checks against `~/.ssh/known_hosts` (done by libgit2; an unknown
//! or changed key is refused, never accepted), TLS certificates checked by OpenSSL against the
//! system's authorities (or `SSL_CERT_FILE`), and errors sorted by what the user can do.

use git2::{Cred, CredentialType, RemoteCallbacks};
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Why a fetch or push did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The remote could not be reached (network down, host off, disk unplugged): retry later.
    #[error("{message}")]
    Unreachable { message: String },
    /// The ssh host key is not in `~/.ssh/known_hosts`, or differs from the key recorded there.
    #[error("the ssh host key of {host} ({key_type} {fingerprint}) is not in ~/.ssh/known_hosts or does not match it")]
    HostKey { host: String, key_type: String, fingerprint: String },
    /// Every credential offered was refused (or there was none to offer).
    #[error("{url} refused every credential dotback offered ({tried})")]
    Auth { url: String, tried: String, password: Password },
    /// The https server's certificate is not signed by an authority this system trusts, has
    /// expired, or names another host.
    #[error("the TLS certificate of {url} is not trusted ({detail})")]
    Certificate { url: String, detail: String },
    /// The remote answered but refused the operation (a rejected push, a missing repository).
    #[error("{message}")]
    Refused { message: String },
}

/// The last https password a server refused: where it came from, so the hint can say what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Password {
    /// None was sent (ssh, or no helper had one).
    None,
    /// Written in the remote's URL.
    InUrl,
    /// Given by git's credential helpers.
    FromHelper,
}

/// The callbacks for one fetch or push; keeps what they saw so a failure can be explained.
pub struct Session {
    home: PathBuf,
    /// Where `git credential` runs, so the store's own git config applies too.
    dir: PathBuf,
    config: Option<git2::Config>,
    next_key: Cell<usize>,
    helper_tried: Cell<bool>,
    password: Cell<Password>,
    tried: RefCell<Vec<String>>,
    host_key: RefCell<Option<(String, String, String)>>,
}

impl Session {
    pub fn new(repo: &git2::Repository) -> Session {
        Session {
            home: dirs::home_dir().unwrap_or_default(),
            dir: repo.workdir().unwrap_or(repo.path()).to_path_buf(),
            config: repo.config().ok(),
            next_key: Cell::new(0),
            helper_tried: Cell::new(false),
            password: Cell::new(Password::None),
            tried: RefCell::new(Vec::new()),
            host_key: RefCell::new(None),
        }
    }

    /// ssh keys to offer, in order: the agent (when one is running), then `~/.ssh/id_*`.
    fn ssh_candidates(&self) -> Vec<Option<PathBuf>> {
        let mut out = Vec::new();
        if std::env::var_os("SSH_AUTH_SOCK").is_some_and(|s| !s.is_empty()) {
            out.push(None);
        }
        for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
            let p = self.home.join(".ssh").join(name);
            if p.is_file() {
                out.push(Some(p));
            }
        }
        out
    }

    fn credentials(
        &self,
        url: &str,
        user_from_url: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        let user = user_from_url
            .map(str::to_owned)
            .or_else(|| std::env::var("USER").ok())
            .or_else(|| std::env::var("LOGNAME").ok())
            .unwrap_or_else(|| "git".into());
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(&user);
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            let candidates = self.ssh_candidates();
            let i = self.next_key.get();
            self.next_key.set(i + 1);
            return match candidates.get(i) {
                Some(None) => {
                    self.tried.borrow_mut().push("ssh-agent".into());
                    Cred::ssh_key_from_agent(&user)
                }
                Some(Some(key)) => {
                    self.tried
                        .borrow_mut()
                        .push(format!("~/.ssh/{}", key.file_name().unwrap_or_default().to_string_lossy()));
                    let public = key.with_extension("pub");
                    Cred::ssh_key(&user, public.is_file().then_some(public.as_path()), key, None)
                }
                None => Err(git2::Error::new(git2::ErrorCode::Auth, git2::ErrorClass::Ssh, "no ssh key left to offer")),
            };
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) && !self.helper_tried.replace(true) {
            return self.helper_credentials(url, user_from_url);
        }
        if allowed.contains(CredentialType::DEFAULT) && self.tried.borrow().is_empty() {
            self.tried.borrow_mut().push("default credentials".into());
            return Cred::default();
        }
        Err(git2::Error::new(git2::ErrorCode::Auth, git2::ErrorClass::Net, "no credentials left to offer"))
    }

    /// A user name and password from git's credential helpers, asked through `git credential
    /// fill` so every helper setting git honours applies (and never a terminal prompt). Without
    /// a git program, libgit2's own reading of `credential.helper` is the fallback, for host
    /// names only: it would ask the helpers without a host for an IP address, and a helper may
    /// then answer with another server's password.
    fn helper_credentials(&self, url: &str, user_from_url: Option<&str>) -> Result<Cred, git2::Error> {
        let none = |why: &str| {
            self.tried.borrow_mut().push(why.to_string());
            Err(git2::Error::new(git2::ErrorCode::Auth, git2::ErrorClass::Http, "no credentials left to offer"))
        };
        let url = without_password(url);
        if url.contains(['\n', '\0']) {
            return none("a URL git's credential helpers cannot be asked about");
        }
        // Helpers only: no terminal prompt and no graphical askpass popping up from a background
        // sync (an empty core.askPass turns git's own askpass off).
        let child = Command::new("git")
            .args(["-c", "core.askPass=", "credential", "fill"])
            .current_dir(&self.dir)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("GIT_ASKPASS")
            .env_remove("SSH_ASKPASS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let host_name =
                    host(&url).is_some_and(|h| !h.starts_with('[') && h.parse::<std::net::Ipv4Addr>().is_err());
                return match &self.config {
                    Some(config) if host_name => match Cred::credential_helper(config, &url, user_from_url) {
                        Ok(cred) => {
                            self.password.set(Password::FromHelper);
                            self.tried.borrow_mut().push("the password from git's credential helpers".into());
                            Ok(cred)
                        }
                        Err(_) => none("no git credential helper has a password for this URL"),
                    },
                    _ if !host_name => {
                        none("without the git program, credential helpers cannot be asked about an IP address")
                    }
                    _ => none("no git credential helper has a password for this URL"),
                };
            }
            Err(_) => return none("`git credential fill` did not start"),
        };
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading its input is no error; its answer counts.
            let _ = writeln!(stdin, "url={url}");
        }
        let Ok(out) = child.wait_with_output() else { return none("`git credential fill` failed") };
        let answer = String::from_utf8_lossy(&out.stdout);
        let field =
            |name: &str| answer.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix('=')).map(str::to_owned);
        match (out.status.success(), field("username"), field("password")) {
            (true, Some(user), Some(password)) => {
                self.password.set(Password::FromHelper);
                self.tried.borrow_mut().push(format!("the password for `{user}` from git's credential helpers"));
                Cred::userpass_plaintext(&user, &password)
            }
            _ => none("no git credential helper has a password for this URL"),
        }
    }

    /// Callbacks that supply credentials and note the host key; libgit2 itself checks the key
    /// against `~/.ssh/known_hosts` (the callback passes the decision through).
    pub fn callbacks(&self) -> RemoteCallbacks<'_> {
        let mut cb = RemoteCallbacks::new();
        cb.credentials(|url, user, allowed| self.credentials(url, user, allowed));
        cb.certificate_check(|cert, host| {
            if let Some(key) = cert.as_hostkey() {
                let fingerprint = key.hash_sha256().map(|h| format!("SHA256:{}", base64_nopad(h))).unwrap_or_default();
                let key_type = key.hostkey_type().map(|t| t.name().to_string()).unwrap_or_else(|| "unknown".into());
                *self.host_key.borrow_mut() = Some((host.to_string(), key_type, fingerprint));
            }
            Ok(git2::CertificateCheckStatus::CertificatePassthrough)
        });
        cb
    }

    /// Sorts a libgit2 failure for `url` into what the user can do about it.
    pub fn classify(&self, url: &str, e: git2::Error) -> TransportError {
        use git2::{ErrorClass as C, ErrorCode as E};
        if e.code() == E::Certificate
            && let Some((host, key_type, fingerprint)) = self.host_key.borrow().clone()
        {
            return TransportError::HostKey { host, key_type, fingerprint };
        }
        // OpenSSL's verdicts, as libgit2 words them (`GIT_ECERTIFICATE` without a callback, a
        // plain SSL error once the callback has passed the decision back).
        let verdict =
            ["the SSL certificate is invalid", "hostname does not match certificate", "did not provide a certificate"]
                .iter()
                .any(|m| e.message().contains(m));
        if e.code() == E::Certificate || (e.class() == C::Ssl && verdict) {
            return TransportError::Certificate { url: redact(url), detail: e.message().trim().to_string() };
        }
        let mut tried = self.tried.borrow().clone();
        // libssh2 fails hard on a key it cannot use (say, one with a passphrase and no agent):
        // that is a credentials problem, not a network one.
        let ssh_auth = e.class() == C::Ssh && e.message().contains("failed to authenticate");
        if e.code() == E::Auth || ssh_auth || (!tried.is_empty() && e.message().contains("authentication")) {
            // A password in the URL goes first, and is what to fix first.
            let mut password = self.password.get();
            if has_password(url) {
                tried.insert(0, "the password in the URL".into());
                password = Password::InUrl;
            }
            let tried = if tried.is_empty() { "it had none".to_string() } else { tried.join(", then ") };
            return TransportError::Auth { url: redact(url), tried, password };
        }
        let message = redact_all(e.message().trim());
        // The server answered: a revoked token (401/403) or a deleted repository (404) will not
        // get better by retrying.
        let http_status = e.class() == C::Http
            && ["401", "403", "404"].iter().any(|code| e.message().contains(&format!("status code: {code}")));
        if http_status {
            return TransportError::Refused { message };
        }
        match e.class() {
            C::Net | C::Ssh | C::Os | C::Http | C::Ssl => TransportError::Unreachable { message },
            // A local remote that is missing (an unplugged disk) is unreachable, not refused.
            C::Repository if e.code() == E::NotFound => TransportError::Unreachable { message },
            _ if e.code() == E::NotFound => TransportError::Unreachable { message },
            _ => TransportError::Refused { message },
        }
    }
}

/// `https://user:password@host/…` without the password, for messages.
pub fn redact(url: &str) -> String {
    match split_password(url) {
        Some((before, _, after)) => format!("{before}:***{after}"),
        None => url.to_string(),
    }
}

/// `https://user@host/…`: the URL for git's credential helpers.
fn without_password(url: &str) -> String {
    match split_password(url) {
        Some((before, _, after)) => format!("{before}{after}"),
        None => url.to_string(),
    }
}

pub fn has_password(url: &str) -> bool {
    split_password(url).is_some()
}

/// `(scheme://user, password, @host/…)` when `url` carries a password.
fn split_password(url: &str) -> Option<(&str, &str, &str)> {
    let s = url.find("://")? + 3;
    let authority = &url[s..s + url[s..].find('/').unwrap_or(url.len() - s)];
    let at = s + authority.rfind('@')?;
    let colon = s + url[s..at].find(':')?;
    Some((&url[..colon], &url[colon + 1..at], &url[at..]))
}

/// The host of `scheme://[user@]host[:port]/…`, without the port (an IPv6 address keeps its
/// brackets).
fn host(url: &str) -> Option<&str> {
    let s = url.find("://")? + 3;
    let authority = &url[s..s + url[s..].find('/').unwrap_or(url.len() - s)];
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(match hostport.rfind([':', ']']) {
        Some(i) if hostport.as_bytes()[i] == b':' => &hostport[..i],
        _ => hostport,
    })
}

/// Every `scheme://user:password@` in a libgit2 message, redacted.
fn redact_all(message: &str) -> String {
    message.split(' ').map(redact).collect::<Vec<_>>().join(" ")
}

fn base64_nopad(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("https://me:hunter2@example.org/x.git"), "https://me:***@example.org/x.git");
        assert_eq!(redact("https://me@example.org/x.git"), "https://me@example.org/x.git");
        assert_eq!(redact("git@example.org:x.git"), "git@example.org:x.git");
        assert_eq!(redact("/mnt/usb/x.git"), "/mnt/usb/x.git");
        assert_eq!(redact("https://example.org/a@b:c"), "https://example.org/a@b:c");
        assert_eq!(redact("https://me:p@ss:w@example.org/x"), "https://me:***@example.org/x");
        assert_eq!(host("https://me:pw@example.org:8443/x"), Some("example.org"));
        assert_eq!(host("https://[::1]:8443/x"), Some("[::1]"));
        assert_eq!(host("https://127.0.0.1/x"), Some("127.0.0.1"));
        assert_eq!(without_password("https://me:hunter2@example.org/x.git"), "https://me@example.org/x.git");
        assert_eq!(
            redact_all("failed to reach 'https://me:hunter2@h/x': gone"),
            "failed to reach 'https://me:***@h/x': gone"
        );
    }

    #[test]
    fn fingerprints_are_written_like_ssh_writes_them() {
        // ssh-keygen -l prints SHA256 fingerprints as unpadded base64.
        assert_eq!(base64_nopad(&[0u8; 32]), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    }
}
