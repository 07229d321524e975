//! Talking to remotes: ssh host aliases from `~/.ssh/config` ([`ssh_config`]), credentials
//! (ssh-agent, then the user's `~/.ssh` keys; git's credential helpers for https), ssh host keys checked against the user's and the system's `known_hosts`
//! as OpenSSH checks them ([`known_hosts`]; an unknown, changed or revoked key is refused, never
//! accepted), TLS certificates checked by OpenSSL against the system's authorities (or
//! `SSL_CERT_FILE`), and errors sorted by what the user can do.

pub mod known_hosts;
pub mod ssh_config;

use git2::{Cred, CredentialType, RemoteCallbacks};
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why a fetch or push did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The remote could not be reached (network down, host off, disk unplugged): retry later.
    #[error("{message}")]
    Unreachable { message: String },
    /// The ssh host key is not in `known_hosts`, differs from the key recorded there, was
    /// revoked, or is vouched for only by a certificate authority.
    #[error("the ssh host key of {} ({key_type} {fingerprint}) {verdict}", known_hosts::lookup_name(.host, *.port))]
    HostKey { host: String, port: u16, key_type: String, fingerprint: String, verdict: known_hosts::Verdict },
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
    /// The remote's branch moved on since this store fetched it: another device pushed first.
    /// A sync fetches, merges and pushes again; nothing on the remote was replaced.
    #[error("another device pushed to {url} first: its branch holds commits this store has not merged yet")]
    Moved {
        url: String,
        /// The server's own words for it, when it gave any.
        said: String,
    },
    /// The branch of a remote on this machine is locked: another push is writing it this
    /// moment, or one was stopped while it did and left the lock behind.
    #[error("the branch of {url} is locked ({} exists)", lock.display())]
    BranchLocked { url: String, lock: PathBuf },
    /// The server did not take the push, though its branch had not moved (no other device
    /// had pushed): a refusal, in the server's words.
    #[error("{url} did not take the push, though no other device had pushed to it ({why})")]
    NotTaken { url: String, why: String },
    /// A remote that is a local path which does not exist: most likely an unmounted disk
    /// (`remote add` refuses a path that does not exist), so unreachable for now.
    #[error("{} does not exist; if it is on a removable disk or a network share, that is not mounted", path.display())]
    NoPath { path: PathBuf },
    /// A remote that is a local path holding no git repository (say, an empty directory).
    #[error("{} is not a git repository", path.display())]
    NotARepository { path: PathBuf },
    /// A remote that is a local repository with a work tree: git refuses a push to the branch
    /// checked out there (libgit2 any push to it).
    #[error("{} is a repository with a work tree, not a bare one; git does not push into a work tree's checked-out branch", path.display())]
    NotBare { path: PathBuf },
    /// This store's own repository lacks an object that its history needs (a damaged or partly
    /// copied `.git`): a local problem, whichever remote was being talked to.
    #[error("the store {} is missing git object {id}, which its history needs", store.display())]
    MissingObject { store: PathBuf, id: git2::Oid },
    /// This store's own repository failed otherwise (its branch or a ref could not be read or
    /// written): a local problem too.
    #[error("{what} failed in the store {}", store.display())]
    Local {
        what: &'static str,
        store: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl TransportError {
    /// The remote could not be reached (a later attempt may succeed: an unmounted disk, a
    /// network down); its text says why.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, TransportError::Unreachable { .. } | TransportError::NoPath { .. })
    }

    /// The push may have lost a race with another device's: worth fetching, merging and
    /// pushing again.
    pub fn is_race(&self) -> bool {
        matches!(self, TransportError::Moved { .. } | TransportError::BranchLocked { .. })
    }
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
    /// The URL libgit2 connects to: the remote's, with an ssh host alias resolved.
    url: String,
    /// The ssh port of that URL (libgit2 tells the callback only the host).
    port: u16,
    /// The ssh config's keys for the host (empty: ssh's default files).
    identity_files: Vec<PathBuf>,
    /// Offer the identity files only, not the agent (which would offer every key it holds).
    identities_only: bool,
    /// The name `known_hosts` knows the host's key under, when the ssh config gives one.
    host_key_alias: Option<String>,
    /// The host key refused, with its verdict.
    host_key: RefCell<Option<TransportError>>,
}

impl Session {
    pub fn new(repo: &git2::Repository, url: &str) -> Session {
        let home = dirs::home_dir().unwrap_or_default();
        let (connect, ssh) = resolve_ssh(&home, url);
        let identity_files = match (&ssh, ssh_url(&connect)) {
            (Some(config), Some(to)) => {
                let local = local_user();
                config.identity_paths(&home, &local, to.host, to.user.unwrap_or(&local))
            }
            _ => Vec::new(),
        };
        let ssh = ssh.unwrap_or_default();
        Session {
            dir: repo.workdir().unwrap_or(repo.path()).to_path_buf(),
            config: repo.config().ok(),
            next_key: Cell::new(0),
            helper_tried: Cell::new(false),
            password: Cell::new(Password::None),
            tried: RefCell::new(Vec::new()),
            port: ssh_port(&connect),
            url: connect,
            identity_files,
            identities_only: ssh.identities_only.unwrap_or(false),
            host_key_alias: ssh.host_key_alias,
            host_key: RefCell::new(None),
            home,
        }
    }

    /// The URL to connect to: the remote's own, or, for an ssh host alias, the host, port and
    /// user that `~/.ssh/config` names.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// ssh keys to offer, in order: the agent (when one is running, unless `IdentitiesOnly`),
    /// then the ssh config's `IdentityFile`s, or without any, `~/.ssh/id_*`.
    fn ssh_candidates(&self) -> Vec<Option<PathBuf>> {
        let mut out = Vec::new();
        if !self.identities_only && std::env::var_os("SSH_AUTH_SOCK").is_some_and(|s| !s.is_empty()) {
            out.push(None);
        }
        let defaults = || ["id_ed25519", "id_ecdsa", "id_rsa"].map(|name| self.home.join(".ssh").join(name)).to_vec();
        let files = if self.identity_files.is_empty() { defaults() } else { self.identity_files.clone() };
        out.extend(files.into_iter().filter(|p| p.is_file()).map(Some));
        out
    }

    fn credentials(
        &self,
        url: &str,
        user_from_url: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        let user = user_from_url.map_or_else(local_user, str::to_owned);
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
                    let shown = match key.strip_prefix(&self.home) {
                        Ok(rel) => format!("~/{}", rel.display()),
                        Err(_) => key.display().to_string(),
                    };
                    self.tried.borrow_mut().push(shown);
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

    /// Callbacks that supply credentials and check the ssh host key (TLS certificates are left
    /// to OpenSSL: the callback passes that decision through).
    pub fn callbacks(&self) -> RemoteCallbacks<'_> {
        let mut cb = RemoteCallbacks::new();
        cb.credentials(|url, user, allowed| self.credentials(url, user, allowed));
        cb.certificate_check(|cert, host| {
            let Some(key) = cert.as_hostkey() else { return Ok(git2::CertificateCheckStatus::CertificatePassthrough) };
            let blob = key.hostkey().unwrap_or_default();
            // ssh looks a `HostKeyAlias` up as it is written, with no port.
            let (host, port) = match &self.host_key_alias {
                Some(alias) => (alias.as_str(), 22),
                None => (host, self.port),
            };
            let verdict = known_hosts::check(&self.known_hosts_files(), host, port, blob);
            if verdict == known_hosts::Verdict::Known {
                return Ok(git2::CertificateCheckStatus::CertificateOk);
            }
            *self.host_key.borrow_mut() = Some(TransportError::HostKey {
                host: host.to_string(),
                port,
                key_type: key.hostkey_type().map(|t| t.name().to_string()).unwrap_or_else(|| "unknown".into()),
                fingerprint: key.hash_sha256().map(|h| format!("SHA256:{}", base64_nopad(h))).unwrap_or_default(),
                verdict,
            });
            Err(git2::Error::new(git2::ErrorCode::Certificate, git2::ErrorClass::Ssh, "the ssh host key was refused"))
        });
        cb
    }

    /// The files `ssh` reads host keys from by default, in its order, with their content (a
    /// missing or unreadable one counts as empty, as it does for `ssh`).
    fn known_hosts_files(&self) -> Vec<(PathBuf, String)> {
        let ssh = self.home.join(".ssh");
        [
            ssh.join("known_hosts"),
            ssh.join("known_hosts2"),
            "/etc/ssh/ssh_known_hosts".into(),
            "/etc/ssh/ssh_known_hosts2".into(),
        ]
        .into_iter()
        .filter_map(|p| Some((p.clone(), std::fs::read_to_string(&p).ok()?)))
        .collect()
    }

    /// Sorts a libgit2 failure for `url` into what the user can do about it.
    pub fn classify(&self, url: &str, e: git2::Error) -> TransportError {
        use git2::{ErrorClass as C, ErrorCode as E};
        if let Some(refused) = local_remote(url, &e) {
            return refused;
        }
        if e.code() == E::Certificate
            && let Some(refused) = self.host_key.take()
        {
            return refused;
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

/// A push status from a server's receive-pack saying the branch was not at the value the push
/// replaced (another push got there first), as opposed to a refusal by a hook or a policy.
pub fn is_lost_race(status: &str) -> bool {
    ["fetch first", "non-fast-forward", "failed to update ref", "failed to lock", "cannot lock ref", "stale info"]
        .iter()
        .any(|m| status.contains(m))
}

/// The path of a remote that is on this machine: `file://PATH`, or a URL with no scheme and
/// no `host:` before its first `/` (git's rule for telling `host:path` from a local path).
pub fn local_path(url: &str) -> Option<PathBuf> {
    if let Some(path) = url.strip_prefix("file://") {
        return Some(PathBuf::from(path));
    }
    if url.contains("://") || url.find(':').is_some_and(|colon| !url[..colon].contains('/')) {
        return None;
    }
    Some(PathBuf::from(url))
}

/// What is wrong with a local remote that libgit2 failed on, in words that name the path: it
/// says "unsupported URL protocol" for a path that does not exist.
fn local_remote(url: &str, e: &git2::Error) -> Option<TransportError> {
    let path = local_path(url)?;
    if !path.exists() {
        return Some(TransportError::NoPath { path });
    }
    let flags = git2::RepositoryOpenFlags::NO_SEARCH;
    match git2::Repository::open_ext(&path, flags, std::iter::empty::<&std::ffi::OsStr>()) {
        Err(_) => Some(TransportError::NotARepository { path }),
        Ok(repo) if !repo.is_bare() && e.message().contains("non-bare") => Some(TransportError::NotBare { path }),
        Ok(_) => None,
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

/// The port of an ssh remote's URL: the one in `ssh://host:port/…`, else 22 (also for the
/// `host:path` form, which has none).
fn ssh_port(url: &str) -> u16 {
    ssh_url(url).and_then(|u| u.port).unwrap_or(22)
}

/// The user name ssh logs in with when neither the URL nor the ssh config names one.
fn local_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "git".into())
}

/// An ssh remote's URL taken apart.
#[derive(Debug, PartialEq, Eq)]
struct SshUrl<'a> {
    user: Option<&'a str>,
    /// Without the brackets of an IPv6 address.
    host: &'a str,
    port: Option<u16>,
    path: &'a str,
    /// The `[user@]host:path` form, whose relative path is under the remote user's home.
    scp: bool,
}

/// `[v6-address]rest` as the address and the rest.
fn bracketed(s: &str) -> Option<(&str, &str)> {
    s.strip_prefix('[')?.split_once(']')
}

/// `ssh://[user@]host[:port]/path` (also `ssh+git://`, `git+ssh://`) or `[user@]host:path`.
fn ssh_url(url: &str) -> Option<SshUrl<'_>> {
    if let Some((scheme, rest)) = url.split_once("://") {
        if !["ssh", "ssh+git", "git+ssh"].contains(&scheme) {
            return None;
        }
        let (authority, path) = rest.split_at(rest.find('/')?);
        let (user, hostport) = authority.rsplit_once('@').map_or((None, authority), |(u, h)| (Some(u), h));
        let (host, port) = match bracketed(hostport) {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => hostport.split_once(':').map_or((hostport, None), |(h, p)| (h, Some(p))),
        };
        let port = match port.filter(|p| !p.is_empty()) {
            Some(p) => Some(p.parse().ok()?),
            None => None,
        };
        return Some(SshUrl { user, host, port, path, scp: false });
    }
    if local_path(url).is_some() {
        return None;
    }
    let at = url.find('@').filter(|&i| !url[..i].contains(':'));
    let (user, rest) = at.map_or((None, url), |i| (Some(&url[..i]), &url[i + 1..]));
    let (host, path) = match bracketed(rest) {
        Some((host, after)) => (host, after.strip_prefix(':')?),
        None => rest.split_once(':')?,
    };
    Some(SshUrl { user, host, port: None, path, scp: true })
}

/// The URL to connect to for `url` and the ssh config for its host (`None`: not ssh). An alias
/// whose `HostName`, `Port` or `User` says otherwise becomes an `ssh://` URL that says it all,
/// with a relative `host:path` kept under the remote user's home (`/~/path`).
fn resolve_ssh(home: &Path, url: &str) -> (String, Option<ssh_config::HostConfig>) {
    resolve_with(url, |host| ssh_config::HostConfig::load(home, host))
}

fn resolve_with(url: &str, load: impl Fn(&str) -> ssh_config::HostConfig) -> (String, Option<ssh_config::HostConfig>) {
    let Some(u) = ssh_url(url) else { return (url.to_string(), None) };
    let config = load(u.host);
    let host = config.host_name.as_deref().unwrap_or(u.host);
    let port = u.port.or(config.port);
    let user = u.user.or(config.user.as_deref());
    if host == u.host && port == u.port && user == u.user {
        return (url.to_string(), Some(config));
    }
    let path = match u.path {
        p if !u.scp || p.starts_with('/') => p.to_string(),
        p if p.starts_with('~') => format!("/{p}"),
        p => format!("/~/{p}"),
    };
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    let user = user.map(|u| format!("{u}@")).unwrap_or_default();
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    (format!("ssh://{user}{host}{port}{path}"), Some(config))
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
    fn ssh_ports_come_from_the_url() {
        assert_eq!(ssh_port("ssh://me@127.0.0.1:2222/srv/x.git"), 2222);
        assert_eq!(ssh_port("ssh://[::1]:2200/x.git"), 2200);
        assert_eq!(ssh_port("ssh://[::1]/x.git"), 22);
        assert_eq!(ssh_port("ssh://example.org/x.git"), 22);
        assert_eq!(ssh_port("git+ssh://git@example.org:7999/x.git"), 7999);
        assert_eq!(ssh_port("git@example.org:x.git"), 22);
        assert_eq!(ssh_port("https://example.org:8443/x.git"), 22);
    }

    #[test]
    fn ssh_urls_are_taken_apart() {
        let u = |user, host, port, path, scp| Some(SshUrl { user, host, port, path, scp });
        assert_eq!(ssh_url("ssh://me@h:2222/srv/x.git"), u(Some("me"), "h", Some(2222), "/srv/x.git", false));
        assert_eq!(ssh_url("ssh://[::1]/x.git"), u(None, "::1", None, "/x.git", false));
        assert_eq!(ssh_url("git@github-work:me/dots.git"), u(Some("git"), "github-work", None, "me/dots.git", true));
        assert_eq!(ssh_url("[::1]:x.git"), u(None, "::1", None, "x.git", true));
        assert_eq!(ssh_url("nas:~/dots.git"), u(None, "nas", None, "~/dots.git", true));
        for not_ssh in ["/mnt/usb/x.git", "./a:b", "file:///x", "https://h/x.git", "ssh://h", "ssh://h:port/x"] {
            assert_eq!(ssh_url(not_ssh), None, "{not_ssh}");
        }
    }

    #[test]
    fn ssh_aliases_become_the_url_they_stand_for() {
        let config = "Host work\n  HostName github.com\n  User git\nHost nas\n  HostName ::1\n  Port 2222\n\
                      Host plain\n  IdentityFile ~/.ssh/k\n";
        let resolve = |url: &str| {
            resolve_with(url, |host| {
                let mut c = ssh_config::HostConfig::default();
                c.read(config, host);
                c
            })
            .0
        };
        assert_eq!(resolve("work:me/dots.git"), "ssh://git@github.com/~/me/dots.git");
        assert_eq!(resolve("me@work:/srv/dots.git"), "ssh://me@github.com/srv/dots.git", "the URL's user wins");
        assert_eq!(resolve("nas:~other/dots.git"), "ssh://[::1]:2222/~other/dots.git");
        assert_eq!(resolve("ssh://nas:2200/dots.git"), "ssh://[::1]:2200/dots.git", "the URL's port wins");
        assert_eq!(resolve("plain:dots.git"), "plain:dots.git", "nothing to rewrite");
        assert_eq!(resolve("/mnt/usb/dots.git"), "/mnt/usb/dots.git");
    }

    #[test]
    fn fingerprints_are_written_like_ssh_writes_them() {
        // ssh-keygen -l prints SHA256 fingerprints as unpadded base64.
        assert_eq!(base64_nopad(&[0u8; 32]), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    }
}
