//! The store's keys, as dotback uses them: which identities this device can decrypt with, who
//! every secret is encrypted to (`.dotback/recipients.txt`), the passphrase-sealed recovery key
//! (`.dotback/recovery.age`), and re-encrypting every secret when the set of recipients changes.

use crate::config::IdentityStorage;
use crate::context::Context;
use crate::crypt::recipients::{Label, Recipients};
use crate::crypt::{self, CryptError, Identity};
use crate::error::{IoContext, Op, PathError};
use crate::fsutil;
use crate::managed::SourceState;
use secrecy::SecretString;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Crypt(#[from] CryptError),
    #[error("this device has no identity to decrypt the store's secrets (looked in {})", looked.join(", "))]
    NoIdentity { looked: Vec<String> },
    #[error("cannot use the OS keyring")]
    Keyring(#[source] crate::crypt::keyring::KeyringError),
    #[error("{} exists already; refusing to replace a key", path.display())]
    Exists { path: PathBuf },
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("cannot re-encrypt {}", path.display())]
    Rekey {
        path: PathBuf,
        #[source]
        source: CryptError,
    },
}

pub fn recipients_path(store: &Path) -> PathBuf {
    store.join(crate::context::RECIPIENTS)
}

pub fn recovery_path(store: &Path) -> PathBuf {
    store.join(".dotback").join("recovery.age")
}

pub fn identity_file(ctx: &Context) -> PathBuf {
    identity_file_in(&ctx.paths)
}

/// [`identity_file`] for a machine that has no device config yet.
pub fn identity_file_in(paths: &crate::paths::Paths) -> PathBuf {
    paths.config_dir.join("identity.txt")
}

/// Where this device's identities come from, in order: chezmoi's age configuration (so a
/// chezmoi user's key works unchanged), then dotback's own (file or keyring).
pub fn load_identities(ctx: &Context, storage: IdentityStorage) -> Result<Vec<Identity>, VaultError> {
    let mut ids = Vec::new();
    let mut looked = Vec::new();
    if let Some(cz) = crypt::chezmoi_config::read(&ctx.paths.chezmoi_config_dir, &ctx.paths.home)? {
        for p in &cz.identities {
            looked.push(p.display().to_string());
            if p.exists() {
                ids.extend(Identity::load_file(p)?);
            }
        }
    }
    match storage {
        IdentityStorage::File => {
            let p = identity_file(ctx);
            looked.push(p.display().to_string());
            if p.exists() {
                ids.extend(Identity::load_file(&p)?);
            }
        }
        IdentityStorage::Keyring => {
            looked.push(format!("the OS keyring (service `dotback`, device `{}`)", ctx.device));
            if let Some(secret) = crypt::keyring::load_identity(&ctx.device).map_err(VaultError::Keyring)? {
                use secrecy::ExposeSecret;
                ids.push(Identity::from_secret_str(secret.expose_secret())?);
            }
        }
    }
    if ids.is_empty() {
        return Err(VaultError::NoIdentity { looked });
    }
    Ok(ids)
}

/// Identity files group or others can access, with their mode: dotback's own and chezmoi's
/// configured ones. [`Identity::load_file`] refuses them; every command warns about them, as
/// ssh warns about an unprotected key, whether or not it decrypts anything.
pub fn loose_identity_files(ctx: &Context) -> Vec<(PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut paths = vec![identity_file(ctx)];
    if let Ok(Some(cz)) = crypt::chezmoi_config::read(&ctx.paths.chezmoi_config_dir, &ctx.paths.home) {
        paths.extend(cz.identities);
    }
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|p| {
            // Judged as `load_file` judges it: by what a link points to.
            let mode = std::fs::metadata(&p).ok()?.permissions().mode() & 0o7777;
            (mode & 0o077 != 0).then_some((p, mode))
        })
        .collect()
}

/// This device's identity, created when it has none: in the identity file (0600 from the start)
/// or the keyring. chezmoi's configured identity is used instead when there is one.
pub fn ensure_device_identity(ctx: &Context, storage: IdentityStorage) -> Result<(Identity, bool), VaultError> {
    if let Ok(mut ids) = load_identities(ctx, storage) {
        return Ok((ids.remove(0), false));
    }
    let id = Identity::generate();
    save_device_identity(ctx, storage, &id)?;
    Ok((id, true))
}

/// Keeps `id` as this device's identity, in the file or the keyring.
pub fn save_device_identity(ctx: &Context, storage: IdentityStorage, id: &Identity) -> Result<(), VaultError> {
    match storage {
        IdentityStorage::File => {
            let path = identity_file(ctx);
            crate::state::ensure_private_dir(&ctx.paths.config_dir)?;
            id.save_file(&path)?;
        }
        IdentityStorage::Keyring => {
            crypt::keyring::store_identity(&ctx.device, &id.to_secret_string()).map_err(VaultError::Keyring)?;
        }
    }
    Ok(())
}

/// A new store's key files, made in memory: nothing is written before the passphrase, the new
/// recovery key and its sealing have all worked out.
pub struct NewKeys {
    sealed: Vec<u8>,
    recipients: String,
}

impl NewKeys {
    /// `recipients.txt` for this device, a new recovery key and `others` (a chezmoi user's other
    /// configured recipients, labelled `chezmoi-N`, keep receiving every secret); the recovery
    /// key sealed with `passphrase`.
    pub fn make(
        device: &str,
        device_id: &Identity,
        others: &[age::x25519::Recipient],
        passphrase: &SecretString,
    ) -> Result<NewKeys, VaultError> {
        let recovery = Identity::generate();
        let sealed = crypt::seal_recovery(&recovery, passphrase)?;
        let mut r = Recipients { entries: Vec::new() };
        r.add_device(device, device_id.public())?;
        r.entries.push(crypt::recipients::Entry { label: Label::Recovery, recipient: recovery.public() });
        for (n, other) in others.iter().enumerate() {
            r.add_device(&format!("chezmoi-{}", n + 1), other.clone())?;
        }
        Ok(NewKeys { sealed, recipients: r.to_text() })
    }

    /// Writes `recovery.age`, then `recipients.txt`, whose presence marks the store's keys as
    /// made. Refuses to replace the recipients; a `recovery.age` without them is left over from
    /// an interrupted init (nothing can have been encrypted to it) and is replaced.
    pub fn write(&self, store: &Path) -> Result<(), VaultError> {
        let rp = recipients_path(store);
        if rp.exists() {
            return Err(VaultError::Exists { path: rp });
        }
        write(store, &recovery_path(store), &self.sealed)?;
        write(store, &rp, self.recipients.as_bytes())
    }
}

/// Writes one of the store's key files (`path`, below `store`; no link on the way is followed).
pub fn write(store: &Path, path: &Path, data: &[u8]) -> Result<(), VaultError> {
    fsutil::write_atomic_beneath(store, path, data, 0o644).context(Op::Write, path).map_err(VaultError::from)
}

/// Every encrypted file in the store: encrypted entries, and `.age` files under `.dotback/`
/// (exported keys) except the passphrase-sealed recovery key.
pub fn encrypted_files(store: &Path, state: &SourceState) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> =
        state.entries.iter().filter(|m| m.entry.attrs.encrypted).map(|m| state.source_path(m)).collect();
    let own = store.join(".dotback");
    let recovery = recovery_path(store);
    // The store key is re-encrypted by `trust`, which also seals the change.
    let trust = own.join("trust");
    for e in walkdir::WalkDir::new(&own).into_iter().flatten() {
        let p = e.path();
        if e.file_type().is_file()
            && p.extension().is_some_and(|x| x == "age")
            && p != recovery
            && !p.starts_with(&trust)
        {
            out.push(p.to_path_buf());
        }
    }
    out
}

/// Re-encrypts every encrypted file of the store to `to`; returns the paths rewritten.
/// Everything is decrypted and re-encrypted in memory first, then written, so a key that cannot
/// decrypt one file leaves every file as it was.
pub fn rekey(
    store: &Path,
    state: &SourceState,
    ids: &[Identity],
    to: &[age::x25519::Recipient],
) -> Result<Vec<PathBuf>, VaultError> {
    let mut out = Vec::new();
    for path in encrypted_files(store, state) {
        let cipher = fsutil::read_beneath(store, &path).context(Op::Read, &path)?;
        let plain = crypt::decrypt(&cipher, ids).map_err(|source| VaultError::Rekey { path: path.clone(), source })?;
        let fresh = crypt::encrypt(&plain, to).map_err(|source| VaultError::Rekey { path: path.clone(), source })?;
        out.push((path, fresh));
    }
    let mut done = Vec::new();
    for (path, data) in out {
        fsutil::write_atomic_beneath(store, &path, &data, 0o600).context(Op::Write, &path)?;
        done.push(path);
    }
    Ok(done)
}

/// Replaces the store's recipients with `new` and re-encrypts every secret to them, decrypting
/// with `ids` (every file is decrypted before the first is written). The caller commits.
pub fn change_recipients(
    store: &Path,
    state: &SourceState,
    ids: &[Identity],
    new: &Recipients,
) -> Result<Vec<PathBuf>, VaultError> {
    let to = new.all();
    if to.is_empty() {
        return Err(CryptError::EmptyRecipients { path: recipients_path(store) }.into());
    }
    let done = rekey(store, state, ids, &to)?;
    write(store, &recipients_path(store), new.to_text().as_bytes())?;
    Ok(done)
}

/// Keys an operation may need, loaded on first use and shared by the evaluation threads:
/// this device's identities (to decrypt), the recipients it trusts (to encrypt) and the rules
/// that say which files are secret (both from [`crate::trust`], never straight from the store).
pub struct Vault {
    ctx: Context,
    pub rules: crate::secrets::SecretRules,
    identities: std::sync::OnceLock<Result<Vec<Identity>, String>>,
    recipients: Result<Vec<age::x25519::Recipient>, String>,
}

impl Vault {
    pub fn new(ctx: &Context, trust: &crate::trust::Trust) -> Vault {
        let recipients = trust.recipients().map(|r| r.all()).map_err(|e| describe(&e));
        Vault { ctx: ctx.clone(), rules: trust.secret_rules(), identities: Default::default(), recipients }
    }

    /// A vault whose identities are given (e.g. the recovery identity).
    pub fn with_identities(mut self, ids: Vec<Identity>) -> Vault {
        self.identities = std::sync::OnceLock::from(Ok(ids));
        self
    }

    /// This device's identities, or why there are none.
    pub fn identities(&self) -> Result<&[Identity], &str> {
        self.identities
            .get_or_init(|| load_identities(&self.ctx, self.ctx.identity).map_err(|e| describe(&e)))
            .as_deref()
            .map_err(String::as_str)
    }

    /// Everyone a secret is encrypted to, or why that is unknown.
    pub fn recipients(&self) -> Result<&[age::x25519::Recipient], &str> {
        self.recipients.as_deref().map_err(String::as_str)
    }

    pub fn decrypt(&self, cipher: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
        let ids = self.identities()?;
        crypt::decrypt(cipher, ids).map_err(|e| describe(&e))
    }

    pub fn encrypt(&self, plain: &[u8]) -> Result<Vec<u8>, String> {
        let to = self.recipients()?;
        crypt::encrypt(plain, to).map_err(|e| describe(&e))
    }
}

/// An error with its causes on one line (for errors carried as text across threads).
pub fn describe(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}
