//! The last check before a commit: no secret enters git in plaintext.
//!
//! It reads what is staged (the blobs git would commit, not the work tree) and refuses a file
//! that a secret rule names or whose content holds a key or token, unless it is real age
//! ciphertext. A file named as encrypted (`encrypted_…`, `.age`) must actually be age output:
//! the name alone proves nothing.

use crate::managed;
use crate::secrets::{SecretRules, scan_content};
use crate::source::{self, OnDisk};
use crate::store::{Store, StoreError};

/// One staged file that must not be committed as it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Path in the store.
    pub path: String,
    /// What it is: the rule or finding (never the secret itself).
    pub why: String,
}

/// Whether `data` is age ciphertext (armored or binary).
pub fn is_age(data: &[u8]) -> bool {
    data.starts_with(b"age-encryption.org/v1\n") || data.starts_with(crate::crypt::ARMOR_BEGIN.as_bytes())
}

/// Whether a store path names an encrypted file (an `encrypted_` entry or a `.age` file).
fn named_encrypted(path: &str) -> bool {
    let leaf = path.rsplit('/').next().unwrap_or(path);
    path.ends_with(".age") || matches!(source::decode(leaf, OnDisk::File), Ok(Some(e)) if e.attrs.encrypted)
}

/// Checks one file that is about to be committed.
pub fn check(path: &str, data: &[u8], rules: &SecretRules) -> Option<Violation> {
    if named_encrypted(path) {
        return (!is_age(data)).then(|| Violation {
            path: path.to_string(),
            why: "is named as encrypted but is not age ciphertext".into(),
        });
    }
    if let Some(target) = managed::target_of_source(path)
        && let Some(rule) = rules.matching_rule(&target)
    {
        return Some(Violation { path: path.to_string(), why: format!("~/{target} matches the secret rule `{rule}`") });
    }
    scan_content(data).map(|f| Violation { path: path.to_string(), why: format!("holds a {f}") })
}

/// Checks every staged file of the store.
pub fn check_staged(store: &Store, rules: &SecretRules) -> Result<Vec<Violation>, StoreError> {
    let mut out = Vec::new();
    for (path, id) in store.staged_files()? {
        let data = zeroize::Zeroizing::new(store.blob(id)?);
        out.extend(check(&path, &data, rules));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_secrets_are_refused_ciphertext_passes() {
        let rules = SecretRules::defaults();
        let key = format!("-----BEGIN OPENSSH {}-----\nabc\n", "PRIVATE KEY");
        assert!(check("private_dot_ssh/private_id_ed25519", b"whatever", &rules).is_some(), "path rule");
        assert!(check("dot_notes", key.as_bytes(), &rules).is_some(), "content scan");
        assert!(check("dot_zshrc", b"export EDITOR=vi\n", &rules).is_none());
        let v = check("private_dot_ssh/encrypted_private_id_ed25519.age", key.as_bytes(), &rules).unwrap();
        assert!(v.why.contains("not age ciphertext"), "{v:?}");
        assert!(!v.why.contains("abc"), "never the secret itself");
        let armored = format!("{}\nxyz\n", crate::crypt::ARMOR_BEGIN);
        assert!(check("private_dot_ssh/encrypted_private_id_ed25519.age", armored.as_bytes(), &rules).is_none());
        assert!(check(".dotback/keys/gpg/secret-keys.asc.age", b"plain", &rules).is_some());
    }
}
