//! Talking to remotes: credentials (ssh-agent, then the user's `~/.ssh` keys; git's credential
//! helpers for https), host-key checks against `~/.ssh/known_hosts` (done by libgit2; an unknown
//! or changed key is refused, never accepted), and errors sorted by what the user can do.

use git2::{Cred, CredentialType, RemoteCallbacks};
use std::cell::{Cell, RefCell};
use std::path::PathBuf;

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
    Auth { url: String, tried: String },
    /// The remote answered but refused the operation (a rejected push, a missing repository).
    #[error("{message}")]
    Refused { message: String },
}

/// The callbacks for one fetch or push; keeps what they saw so a failure can be explained.
pub struct Session {
    home: PathBuf,
    config: Option<git2::Config>,
    next_key: Cell<usize>,
    helper_tried: Cell<bool>,
    tried: RefCell<Vec<String>>,
    host_key: RefCell<Option<(String, String, String)>>,
}

impl Session {
    pub fn new(repo: &git2::Repository) -> Session {
        Session {
            home: dirs::home_dir().unwrap_or_default(),
            config: repo.config().ok(),
            next_key: Cell::new(0),
            helper_tried: Cell::new(false),
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
            self.tried.borrow_mut().push("git credential helpers".into());
            if let Some(config) = &self.config {
                return Cred::credential_helper(config, url, user_from_url);
            }
        }
        if allowed.contains(CredentialType::DEFAULT) && self.tried.borrow().is_empty() {
            self.tried.borrow_mut().push("default credentials".into());
            return Cred::default();
        }
        Err(git2::Error::new(git2::ErrorCode::Auth, git2::ErrorClass::Net, "no credentials left to offer"))
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
        if e.code() == E::Certificate {
            return TransportError::Refused {
                message: format!("the TLS certificate of {} is not trusted ({})", redact(url), e.message().trim()),
            };
        }
        let tried = self.tried.borrow();
        if e.code() == E::Auth || (!tried.is_empty() && e.message().contains("authentication")) {
            let tried = if tried.is_empty() { "nothing to offer".to_string() } else { tried.join(", ") };
            return TransportError::Auth { url: redact(url), tried };
        }
        let message = e.message().trim().to_string();
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
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
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
    }

    #[test]
    fn fingerprints_are_written_like_ssh_writes_them() {
        // ssh-keygen -l prints SHA256 fingerprints as unpadded base64.
        assert_eq!(base64_nopad(&[0u8; 32]), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    }
}
