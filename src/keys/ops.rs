//! The key operations behind `dotback keys`: who every secret is encrypted to (add or remove a
//! device, re-encrypt, rotate the recovery key, unlock with it), settling held-back changes to
//! the control files, and the GPG export and import.

use crate::crypt::recipients::{Label, Recipients};
use crate::crypt::{self, CryptError, Identity};
use crate::error::{IoContext, Op, PathError};
use crate::keys::gpg::{Gpg, GpgError};
use crate::session::{Session, SessionError};
use crate::store::StoreError;
use crate::trust::{Held, TrustError};
use crate::vault::{self, VaultError};
use secrecy::SecretString;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Crypt(#[from] CryptError),
    #[error(transparent)]
    Gpg(#[from] GpgError),
    /// Key changes start from what this device trusts: a held-back change is settled first.
    #[error("{}; settle it first", held.describe())]
    Held { held: Held },
    #[error(transparent)]
    Read(#[from] PathError),
    /// The passphrase could not be had (from the terminal, a file or standard input).
    #[error("{what} is needed: {why}")]
    Passphrase { what: &'static str, why: String },
    /// The recovery passphrase does not open the sealed recovery key.
    #[error("{source} ({})", path.display())]
    Recovery {
        path: PathBuf,
        #[source]
        source: CryptError,
    },
    #[error("{} holds no exported GPG keys", dir.display())]
    NoGpgExport { dir: PathBuf },
    #[error("cannot encrypt the GPG secret keys: {why}")]
    EncryptGpg { why: String },
    #[error("cannot decrypt {}: {why}", path.display())]
    DecryptGpg { path: PathBuf, why: String },
    #[error("`{text}` is not an age public key: {why}")]
    BadRecipient { text: String, why: String },
}

/// A device's public key as `keys add-device` takes it.
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient, KeysError> {
    text.parse().map_err(|why: &str| KeysError::BadRecipient { text: text.to_string(), why: why.to_string() })
}

/// A passphrase source: asked only once it is needed (after the checks that need none).
pub type Passphrase<'a> = &'a mut dyn FnMut() -> Result<SecretString, String>;

/// What a change of recipients did.
#[derive(Debug)]
pub struct Rekeyed {
    /// Secret files re-encrypted.
    pub files: usize,
    /// Recipients every secret is encrypted to now.
    pub recipients: usize,
}

fn refuse_while_held(s: &Session) -> Result<(), KeysError> {
    match &s.trust().held {
        None => Ok(()),
        Some(held) => Err(KeysError::Held { held: held.clone() }),
    }
}

fn identities(s: &Session) -> Result<Vec<Identity>, KeysError> {
    Ok(vault::load_identities(&s.ctx, s.ctx.identity)?)
}

/// Records the key change in the audit trail and commits both.
fn commit(s: &Session, what: &str) -> Result<(), KeysError> {
    let d = &s.ctx.device;
    let dir = s.ctx.store.join(crate::audit::DIR);
    crate::audit::operation(&s.ctx.store, d, &format!("keys: {what}"), "ok", &[]).context(Op::Write, &dir)?;
    s.store()?.commit_all(d, &format!("{d}: keys: {what}\n\nDevice: {d}\n"))?;
    Ok(())
}

/// Applies `edit` to the recipients this device trusts, re-encrypts every secret, seals the
/// change (`rotate`: under a new store key) and commits it as `what`.
pub fn change_recipients(
    s: &Session,
    what: &str,
    rotate: bool,
    edit: impl FnOnce(&mut Recipients) -> Result<(), CryptError>,
) -> Result<Rekeyed, KeysError> {
    refuse_while_held(s)?;
    let mut rs = s.trust().recipients()?;
    edit(&mut rs)?;
    let ids = identities(s)?;
    let done = vault::change_recipients(&s.ctx.store, &s.state, &ids, &rs)?;
    crate::trust::authorize(&s.ctx, &ids, rotate)?;
    commit(s, what)?;
    Ok(Rekeyed { files: done.len(), recipients: rs.all().len() })
}

/// Takes a held-back change to the control files as this device's own, seals and commits it.
pub fn accept(s: &Session) -> Result<Vec<String>, KeysError> {
    let ids = vault::load_identities(&s.ctx, s.ctx.identity).unwrap_or_default();
    let said = crate::trust::accept(&s.ctx, &s.store()?, &ids)?;
    commit(s, "accept a change to the keys and rules")?;
    Ok(said)
}

/// Puts back the control files this device trusts and commits that; returns the files.
pub fn revert(s: &Session) -> Result<Vec<String>, KeysError> {
    let files = crate::trust::revert(&s.ctx, &s.store()?)?;
    commit(s, "revert an unsealed change to the keys and rules")?;
    Ok(files)
}

/// Replaces the recovery key with a new one sealed under a new passphrase, re-encrypts every
/// secret and replaces the store key (whoever knew the old passphrase could open the old one).
pub fn rotate_recovery(s: &Session, passphrase: Passphrase) -> Result<Rekeyed, KeysError> {
    let ids = identities(s)?;
    let pass = passphrase().map_err(|why| KeysError::Passphrase { what: "a new recovery passphrase", why })?;
    refuse_while_held(s)?;
    let mut rs = s.trust().recipients()?;
    let fresh = Identity::generate();
    rs.set_recovery(fresh.public())?;
    let sealed = crypt::seal_recovery(&fresh, &pass)?;
    let done = vault::change_recipients(&s.ctx.store, &s.state, &ids, &rs)?;
    vault::write(&s.ctx.store, &vault::recovery_path(&s.ctx.store), &sealed)?;
    crate::trust::authorize(&s.ctx, &ids, true)?;
    commit(s, "rotate the recovery key")?;
    Ok(Rekeyed { files: done.len(), recipients: rs.all().len() })
}

/// What [`unlock`] did.
#[derive(Debug)]
pub enum Unlocked {
    /// This device was a recipient already; the recovery key was not needed.
    Already,
    /// This device is a recipient now; that many secret files were re-encrypted.
    Admitted { files: usize },
}

/// Makes this device a recipient with the recovery passphrase (a new or rebuilt machine): its
/// identity is created if it has none, every secret is re-encrypted to it, and the recovery key
/// seals its admission.
pub fn unlock(s: &mut Session, passphrase: Passphrase) -> Result<Unlocked, KeysError> {
    unlock_with(s, None, passphrase)
}

/// The recovery key opened ahead of [`unlock_with`] (bootstrap opens it while its clone checks
/// out): the passphrase it was given, the sealed file, and what opening it gave.
pub struct Opened {
    pub pass: SecretString,
    pub sealed: Vec<u8>,
    pub result: Result<Identity, CryptError>,
}

/// [`unlock`], taking the recovery key from `early` when that opened the very file the store
/// holds now (else its passphrase opens the file now, without asking again); a passphrase
/// `early` found wrong is reported as wrong, as if just typed.
pub fn unlock_with(s: &mut Session, early: Option<Opened>, passphrase: Passphrase) -> Result<Unlocked, KeysError> {
    let sealed_path = vault::recovery_path(&s.ctx.store);
    let sealed = crate::fsutil::read_beneath(&s.ctx.store, &sealed_path).context(Op::Read, &sealed_path)?;
    let opened = match early {
        Some(o) if o.sealed == sealed => o.result,
        Some(o) => crypt::open_recovery(&sealed, &o.pass),
        None => {
            let pass = passphrase().map_err(|why| KeysError::Passphrase { what: "the recovery passphrase", why })?;
            crypt::open_recovery(&sealed, &pass)
        }
    };
    let recovery = opened.map_err(|source| KeysError::Recovery { path: sealed_path.clone(), source })?;
    let (me, _) = vault::ensure_device_identity(&s.ctx, s.ctx.identity)?;
    // What this machine first found in the store is checked with the recovery key before it is
    // sealed: an unsealed change waiting there is held back, not taken in.
    let anchored = crate::trust::anchor(&s.ctx, &s.store()?, std::slice::from_ref(&recovery))?;
    s.set_trust(anchored);
    refuse_while_held(s)?;
    let mut rs = s.trust().recipients()?;
    let mine = me.public().to_string();
    if rs.all().iter().any(|r| r.to_string() == mine) {
        return Ok(Unlocked::Already);
    }
    // The same name with another key: this machine replaces a lost one.
    rs.entries.retain(|e| !matches!(&e.label, Label::Device(n) if *n == s.ctx.device));
    rs.add_device(&s.ctx.device, me.public())?;
    let done = vault::change_recipients(&s.ctx.store, &s.state, std::slice::from_ref(&recovery), &rs)?;
    // The recovery key is a recipient of the store key: it seals this device's admission.
    crate::trust::authorize(&s.ctx, &[recovery], false)?;
    commit(s, &format!("unlock {} with the recovery key", s.ctx.device))?;
    Ok(Unlocked::Admitted { files: done.len() })
}

/// Where the GPG export lives in the store.
pub fn gpg_dir(s: &Session) -> PathBuf {
    s.ctx.store.join(".dotback").join("keys").join("gpg")
}

/// What [`gpg_export`] stored.
#[derive(Debug)]
pub struct GpgExported {
    /// Fingerprints of the secret keys exported (encrypted).
    pub secret_keys: Vec<String>,
    pub dir: PathBuf,
}

/// Exports every GPG key (secret ones encrypted to every recipient) and the ownertrust into the
/// store, seals them (they are control files) and commits.
pub fn gpg_export(s: &mut Session) -> Result<GpgExported, KeysError> {
    let export = Gpg::new().export_all()?;
    let dir = gpg_dir(s);
    if !export.secret_keys.is_empty() {
        let cipher = s.vault().encrypt(&export.secret_keys).map_err(|why| KeysError::EncryptGpg { why })?;
        vault::write(&s.ctx.store, &dir.join("secret-keys.asc.age"), &cipher)?;
    }
    vault::write(&s.ctx.store, &dir.join("public-keys.asc"), &export.public_keys)?;
    vault::write(&s.ctx.store, &dir.join("ownertrust.txt"), &export.ownertrust)?;
    // The exported keys are control files: sealed, so other devices import them.
    s.reseal()?;
    commit(s, "export GPG keys")?;
    Ok(GpgExported { secret_keys: export.fingerprints, dir })
}

/// Imports the GPG keys and ownertrust [`gpg_export`] stored; returns the secret keys'
/// fingerprints. Keys and ownertrust that arrived without a seal are not handed to gpg.
pub fn gpg_import(s: &Session) -> Result<Vec<String>, KeysError> {
    refuse_while_held(s)?;
    let dir = gpg_dir(s);
    let read = |name: &str| -> Result<Option<Vec<u8>>, KeysError> {
        let path = dir.join(name);
        match crate::fsutil::read_beneath(&s.ctx.store, &path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PathError::new(Op::Read, path, source).into()),
        }
    };
    let public = read("public-keys.asc")?.unwrap_or_default();
    if public.is_empty() {
        return Err(KeysError::NoGpgExport { dir });
    }
    let secret = match read("secret-keys.asc.age")? {
        Some(cipher) => s
            .vault()
            .decrypt(&cipher)
            .map_err(|why| KeysError::DecryptGpg { path: dir.join("secret-keys.asc.age"), why })?,
        None => zeroize::Zeroizing::new(Vec::new()),
    };
    let ownertrust = read("ownertrust.txt")?.unwrap_or_default();
    let imported = Gpg::new().import(&public, &secret, &ownertrust)?;
    let (store, d) = (&s.ctx.store, &s.ctx.device);
    crate::audit::operation(store, d, "keys: import GPG keys", "ok", &[("secret_keys", imported.len() as u64)])
        .context(Op::Write, store.join(crate::audit::DIR))?;
    Ok(imported)
}
