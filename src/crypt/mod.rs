//! age identities, encryption, the recovery key, and chezmoi's age settings.
//!
//! # Format choices, and why
//!
//! - **Whole-file age, ASCII-armored.** [`encrypt`] writes exactly what `age -a -r …` and
//!   `chezmoi add --encrypt` write (`-----BEGIN AGE ENCRYPTED FILE-----`, base64 in
//!   64-column lines). chezmoi stores encrypted files armored, so an armored store is one
//!   chezmoi reads and writes without churn, and `age -d -i KEY` decrypts any file by hand:
//!   nobody is locked into dotback. Armor keeps the store all text, and its end marker
//!   lets [`decrypt`] tell a truncated file from a damaged one.
//!   [`decrypt`] reads binary age too, because `age` without `-a` writes it.
//! - **X25519 recipients only.** One identity per device plus the recovery key, all
//!   plain `age1…` keys, so every age implementation (age, rage, chezmoi's builtin) can
//!   use them. SSH and plugin recipients are refused with a clear error instead of being
//!   silently dropped from the recipient set.
//! - **Identity files are 0600 from creation.** [`Identity::save_file`] creates the file
//!   with `O_CREAT|O_EXCL` and mode 0600 in the same `open(2)`, so there is no moment at
//!   which another user could open it (a chmod after writing would leave a window, and
//!   an existing file or symlink planted at the path is never followed or reused).
//!   [`Identity::load_file`] refuses a key that group or others can access, as ssh does:
//!   a key that was readable by others must be treated as leaked, and saying so early is
//!   kinder than encrypting more secrets to it.
//! - **The recovery key is an ordinary X25519 identity**, sealed with an age passphrase
//!   (scrypt) and armored, in `.dotback/recovery.age`. Secrets are encrypted to its public
//!   half like to any device, so the disaster path needs only the remote and the
//!   passphrase. The sealed plaintext is an age-keygen style identity file, so even
//!   `age -d recovery.age > key.txt` gives a usable `age -i` key.
//!
//! # Secrets in memory and in errors
//!
//! Secret keys live in [`Identity`] (the x25519 secret is zeroized on drop by
//! x25519-dalek), secret strings in [`secrecy::SecretString`], and plaintext comes back as
//! [`zeroize::Zeroizing`]. No error message contains plaintext, secret key material or
//! a line of an identity file: parse errors name the file and line number only.

pub mod chezmoi_config;
pub mod keyring;
pub mod recipients;

#[cfg(test)]
mod tests;

use crate::error::{IoContext, Op, PathError};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::{DecryptError, Decryptor, Encryptor};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// The first line of an armored age file.
pub const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
/// The last line of an armored age file.
pub const ARMOR_END: &str = "-----END AGE ENCRYPTED FILE-----";
/// Every binary age file starts with this (followed by the version, `v1`).
const AGE_MAGIC: &[u8] = b"age-encryption.org/";

/// The scrypt work factor (log2 N) used by [`seal_recovery`]: 18, the same as `age -p`.
///
/// Fixed rather than age-rs's "about one second on this machine" so that the recovery file
/// sealed on a fast laptop still opens on a slow machine (age-rs refuses more than its own
/// target + 4) and with the Go `age` CLI (which refuses more than 22).
pub const DEFAULT_RECOVERY_WORK_FACTOR: u8 = 18;

/// Test knob: when set to a number 1..=30, [`seal_recovery`] uses it as the scrypt work
/// factor instead of [`DEFAULT_RECOVERY_WORK_FACTOR`]. Tests set it (e.g. to 10) to keep
/// passphrase sealing fast. Honoured only by a build with the `test-fast-scrypt` feature
/// (`tests/run` and CI enable it, `cargo install` does not): the sealed key goes to every
/// remote, so a build for users always seals at the default. Other values are ignored.
pub const TEST_SCRYPT_LOG_N_ENV: &str = "DOTBACK_TEST_SCRYPT_LOG_N";

/// This build honours [`TEST_SCRYPT_LOG_N_ENV`].
const TEST_SCRYPT_KNOB: bool = cfg!(feature = "test-fast-scrypt");

/// Which part of an age file an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The ASCII armor around the file (begin/end markers, base64 lines).
    Armor,
    /// The age header: the recipient stanzas and their MAC.
    Header,
    /// The encrypted payload after the header.
    Payload,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Armor => "armor",
            Part::Header => "header",
            Part::Payload => "payload",
        })
    }
}

/// Everything that can go wrong in this module. No message contains plaintext or secret
/// key material.
#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    /// None of the identities opens the file: it is encrypted to other keys (or the stanza
    /// meant for us is damaged, which age cannot tell apart).
    #[error(
        "none of the available identities can decrypt this file: it is encrypted to other keys \
         (was this device added to the recipients and the secrets re-encrypted?)"
    )]
    NoMatchingIdentity,
    /// The file ends too early. With armor this is certain (the end marker is missing);
    /// `part` says whether even the header is incomplete.
    #[error("the encrypted file is truncated: it ends inside its {part}")]
    Truncated { part: Part },
    /// The file is damaged: it fails to parse or to authenticate. A binary age file cut
    /// inside its payload also lands here, because age cannot tell a cut from damage.
    #[error("the encrypted file is damaged in its {part}: {detail}")]
    Corrupt { part: Part, detail: String },
    /// The input is not age at all (neither armored nor binary age).
    #[error("not an age-encrypted file (it starts with neither the age armor marker nor the age header)")]
    NotAgeFile,
    /// The input is empty (or only whitespace).
    #[error("the encrypted file is empty")]
    Empty,
    /// An age header of an unknown version.
    #[error("the file uses an age format version this build does not know (made by a newer age?)")]
    UnsupportedFormat,
    /// [`decrypt`] was given a passphrase-encrypted file.
    #[error("this file is passphrase-encrypted (like the recovery key), not encrypted to device keys")]
    PassphraseEncrypted,
    /// [`open_recovery`] was given a file that is not passphrase-encrypted.
    #[error("the recovery file is not passphrase-encrypted (age scrypt), so it is not a sealed recovery key")]
    NotPassphraseEncrypted,
    /// The passphrase does not open the recovery key (or its scrypt stanza is damaged).
    #[error("wrong passphrase for the recovery key")]
    WrongPassphrase,
    /// The passphrase is empty: sealing with it would store the key in the clear.
    #[error("refusing an empty passphrase for the recovery key")]
    EmptyPassphrase,
    /// The sealed file asks for more scrypt work than this machine allows.
    #[error(
        "the recovery file needs scrypt work factor {required}, more than this machine accepts \
         (about {target} takes one second here)"
    )]
    ExcessiveWork { required: u8, target: u8 },
    /// An scrypt work factor outside 1..=30.
    #[error("scrypt work factor {log_n} is out of range (1..=30)")]
    InvalidWorkFactor { log_n: u8 },
    /// [`encrypt`] was called with no recipients.
    #[error("cannot encrypt: no recipients given")]
    NoRecipients,
    /// age refused to encrypt (not expected with X25519 recipients).
    #[error("cannot encrypt: {detail}")]
    Encrypt { detail: String },
    /// [`Identity::from_secret_str`] got something that is not an `AGE-SECRET-KEY-1…` key.
    #[error("not a valid age secret key (expected AGE-SECRET-KEY-1…): {detail}")]
    InvalidSecretKey { detail: &'static str },
    /// An identity file that group or others can access.
    #[error(
        "permissions {mode:04o} on identity file {} are too open: it must not be accessible by \
         group or others (chmod 600 it; if others could read it, treat the key as exposed)", path.display()
    )]
    IdentityTooOpen { path: PathBuf, mode: u32 },
    /// An identity file that cannot be parsed. `detail` names the line, never its content.
    #[error("identity file {} is not usable: {detail}", path.display())]
    IdentityFile { path: PathBuf, detail: String },
    /// An identity file with no identity in it.
    #[error("identity file {} contains no identities", path.display())]
    NoIdentities { path: PathBuf },
    /// [`Identity::save_file`] found the path already taken.
    #[error("refusing to overwrite existing file {}", path.display())]
    IdentityExists { path: PathBuf },
    /// Reading or writing a file failed.
    #[error(transparent)]
    Path(#[from] PathError),
    /// A bad line in a recipients file.
    #[error("{}:{line}: {detail}", path.display())]
    Recipients { path: PathBuf, line: usize, detail: String },
    /// A recipients file that is missing or holds no keys.
    #[error("recipients file {} is missing or holds no keys", path.display())]
    EmptyRecipients { path: PathBuf },
    /// A device name that cannot be used.
    #[error("invalid device name {name:?}: {detail}")]
    InvalidDeviceName { name: String, detail: &'static str },
    /// [`recipients::Recipients::add_device`] with a name already in use.
    #[error("a device named {name:?} is already a recipient")]
    DeviceExists { name: String },
    /// A public key that is already in the recipients (under `label`).
    #[error("this public key is already a recipient ({label})")]
    RecipientExists { label: String },
    /// No device of that name.
    #[error("no device named {name:?} among the recipients")]
    UnknownDevice { name: String },
    /// Removing the last device would leave only the recovery key.
    #[error("refusing to remove {name:?}: it is the last device (only the recovery key would be left)")]
    LastDevice { name: String },
    /// chezmoi's config file is unusable (bad TOML, wrong type, unsupported recipient).
    #[error("chezmoi config {}: {detail}", path.display())]
    ChezmoiConfig { path: PathBuf, detail: String },
    /// chezmoi's config is in a format dotback does not read (YAML, JSON).
    #[error(
        "chezmoi config {} is not TOML: dotback reads only chezmoi.toml; configure the age \
         identity for dotback directly, or convert the config to TOML", path.display()
    )]
    ChezmoiConfigUnsupported { path: PathBuf },
}

/// A device or recovery X25519 identity (secret). The secret scalar is zeroized on drop.
#[derive(Clone)]
pub struct Identity(age::x25519::Identity);

impl fmt::Debug for Identity {
    /// Shows only the public key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({})", self.public())
    }
}

impl Identity {
    /// A fresh random identity.
    pub fn generate() -> Identity {
        Identity(age::x25519::Identity::generate())
    }

    /// The public half, the `age1…` recipient.
    pub fn public(&self) -> age::x25519::Recipient {
        self.0.to_public()
    }

    /// The `AGE-SECRET-KEY-1…` string (for the keyring or an identity file).
    pub fn to_secret_string(&self) -> SecretString {
        self.0.to_string()
    }

    /// Parses an `AGE-SECRET-KEY-1…` string (surrounding whitespace allowed).
    pub fn from_secret_str(s: &str) -> Result<Identity, CryptError> {
        s.trim().parse().map(Identity).map_err(|detail| CryptError::InvalidSecretKey { detail })
    }

    /// The age identity, for code that talks to the age crate directly.
    pub fn as_age(&self) -> &age::x25519::Identity {
        &self.0
    }

    /// Reads an age identity file as written by age-keygen (`#` comments, blank lines and
    /// one `AGE-SECRET-KEY-1…` per line; several keys give several identities).
    ///
    /// Refuses a file that group or others have any permission on
    /// ([`CryptError::IdentityTooOpen`]), as ssh does. The mode is taken from the opened
    /// file (fstat), so a symlink is judged by its target.
    pub fn load_file(path: &Path) -> Result<Vec<Identity>, CryptError> {
        let mut file = File::open(path).context(Op::Read, path)?;
        let meta = file.metadata().context(Op::Read, path)?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(CryptError::IdentityTooOpen { path: path.to_path_buf(), mode });
        }
        // Sized up front so the buffer holding the secret is never reallocated (and
        // copied) while reading.
        let cap = usize::try_from(meta.len()).unwrap_or(0).saturating_add(1);
        let mut text = Zeroizing::new(String::with_capacity(cap));
        file.read_to_string(&mut text).map_err(|e| match e.kind() {
            io::ErrorKind::InvalidData => {
                CryptError::IdentityFile { path: path.to_path_buf(), detail: "not UTF-8 text".into() }
            }
            _ => PathError::new(Op::Read, path, e).into(),
        })?;
        let ids = parse_identity_text(&text)
            .map_err(|detail| CryptError::IdentityFile { path: path.to_path_buf(), detail })?;
        if ids.is_empty() {
            return Err(CryptError::NoIdentities { path: path.to_path_buf() });
        }
        Ok(ids)
    }

    /// Writes this identity to a new file, created with mode 0600 in the same `open(2)`
    /// (`O_CREAT|O_EXCL`, never wider; the umask can only narrow it), in age-keygen's
    /// format (`# created: …`, `# public key: age1…`, the secret key). Fails with
    /// [`CryptError::IdentityExists`] if anything (even a dangling symlink) is at `path`.
    /// The parent directory must exist.
    pub fn save_file(&self, path: &Path) -> Result<(), CryptError> {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                CryptError::IdentityExists { path: path.to_path_buf() }
            } else {
                PathError::new(Op::Write, path, e).into()
            }
        })?;
        let text = self.keygen_text(None);
        let written = file.write_all(text.as_bytes()).and_then(|()| file.sync_all());
        if let Err(e) = written {
            drop(file);
            let _ = std::fs::remove_file(path);
            return Err(PathError::new(Op::Write, path, e).into());
        }
        Ok(())
    }

    /// The age-keygen style file content, optionally with a title comment first.
    fn keygen_text(&self, title: Option<&str>) -> Zeroizing<String> {
        let secret = self.to_secret_string();
        let mut text = Zeroizing::new(String::with_capacity(256));
        if let Some(title) = title {
            text.push_str("# ");
            text.push_str(title);
            text.push('\n');
        }
        text.push_str("# created: ");
        text.push_str(&rfc3339_utc(SystemTime::now()));
        text.push_str("\n# public key: ");
        text.push_str(&self.public().to_string());
        text.push('\n');
        text.push_str(secret.expose_secret());
        text.push('\n');
        text
    }
}

/// Parses identity-file text. Errors name the line number only, never its content.
fn parse_identity_text(text: &str) -> Result<Vec<Identity>, String> {
    let mut ids = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("AGE-SECRET-KEY-1") {
            let id = line
                .parse::<age::x25519::Identity>()
                .map_err(|why| format!("line {n}: invalid age secret key ({why})"))?;
            ids.push(Identity(id));
            continue;
        }
        let what = if line.starts_with("AGE-PLUGIN-") {
            "an age plugin identity, which dotback does not support"
        } else if line.starts_with("AGE-SECRET-KEY-PQ-") {
            "a post-quantum age identity, which dotback does not support"
        } else if line.starts_with(ARMOR_BEGIN) || line.starts_with("age-encryption.org/") {
            "the start of an encrypted identity file, which dotback does not support (decrypt it with age first)"
        } else if line.starts_with("-----BEGIN") {
            "a PEM/SSH key, which dotback does not support as an age identity"
        } else {
            "not an age X25519 identity (expected AGE-SECRET-KEY-1…)"
        };
        return Err(format!("line {n}: {what}"));
    }
    Ok(ids)
}

/// Encrypts to every recipient (duplicates are dropped). The output is ASCII-armored age,
/// as `age -a -r …` and chezmoi write, so `age -d -i KEY` and `chezmoi decrypt` read it.
pub fn encrypt(plaintext: &[u8], recipients: &[age::x25519::Recipient]) -> Result<Vec<u8>, CryptError> {
    if recipients.is_empty() {
        return Err(CryptError::NoRecipients);
    }
    let mut unique: Vec<&age::x25519::Recipient> = Vec::with_capacity(recipients.len());
    for r in recipients {
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    let encryptor = Encryptor::with_recipients(unique.iter().map(|r| *r as &dyn age::Recipient))
        .map_err(|e| CryptError::Encrypt { detail: e.to_string() })?;
    let out = Vec::with_capacity(plaintext.len() / 3 * 4 + plaintext.len() / 48 + 512);
    write_armored(encryptor, plaintext, out).map_err(|e| CryptError::Encrypt { detail: e.to_string() })
}

fn write_armored(encryptor: Encryptor, plaintext: &[u8], out: Vec<u8>) -> io::Result<Vec<u8>> {
    let armor = ArmoredWriter::wrap_output(out, Format::AsciiArmor)?;
    let mut writer = encryptor.wrap_output(armor)?;
    writer.write_all(plaintext)?;
    writer.finish()?.finish()
}

/// Decrypts armored or binary age with any of the identities. The plaintext comes back in
/// a [`Zeroizing`] buffer; on any error no plaintext is returned (partial output is wiped).
pub fn decrypt(ciphertext: &[u8], identities: &[Identity]) -> Result<Zeroizing<Vec<u8>>, CryptError> {
    let binary = dearmor(ciphertext)?;
    let decryptor = open_header(&binary)?;
    if decryptor.is_scrypt() {
        return Err(CryptError::PassphraseEncrypted);
    }
    let reader = decryptor.decrypt(identities.iter().map(|id| &id.0 as &dyn age::Identity)).map_err(|e| match e {
        DecryptError::NoMatchingKeys => CryptError::NoMatchingIdentity,
        e => header_error(e),
    })?;
    read_payload(reader, binary.len())
}

/// How many X25519 recipient stanzas the header of armored or binary age `ciphertext` has. age's
/// stanzas are anonymous, so their count is what can be checked without every key.
pub fn x25519_stanzas(ciphertext: &[u8]) -> Result<usize, CryptError> {
    let binary = dearmor(ciphertext)?;
    let mut n = 0;
    for line in binary.split(|&b| b == b'\n') {
        if line.starts_with(b"---") {
            return Ok(n);
        }
        n += usize::from(line.starts_with(b"-> X25519 "));
    }
    Err(CryptError::Truncated { part: Part::Header })
}

/// Turns armored input into binary age; binary input is returned as is. Classifies
/// empty, non-age and truncated input before age's own parser sees it.
fn dearmor(input: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, CryptError> {
    let start = input.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err(CryptError::Empty);
    };
    let trimmed = &input[start..];
    let begin = ARMOR_BEGIN.as_bytes();
    if !trimmed.starts_with(begin) {
        // Only a cut-off start of the marker or magic counts as truncated age, not any
        // short text that happens to share a first letter.
        if trimmed.len() >= 10 && begin.starts_with(trimmed) {
            return Err(CryptError::Truncated { part: Part::Armor });
        }
        if input.starts_with(AGE_MAGIC) {
            return Ok(std::borrow::Cow::Borrowed(input));
        }
        if input.len() >= 4 && AGE_MAGIC.starts_with(input) {
            return Err(CryptError::Truncated { part: Part::Header });
        }
        return Err(CryptError::NotAgeFile);
    }
    // Armored. Ciphertext is not secret, so a plain Vec is fine.
    let mut out = Vec::with_capacity(trimmed.len() / 4 * 3);
    let read = read_armor(trimmed, &mut out);
    let has_end = find(trimmed, ARMOR_END.as_bytes()).is_some();
    if !has_end {
        // No end marker: the file was cut. Whatever decoded before the cut tells where.
        let part = if header_complete(&out) { Part::Payload } else { Part::Header };
        return Err(CryptError::Truncated { part });
    }
    match read {
        Ok(_) => Ok(std::borrow::Cow::Owned(out)),
        Err(e) => Err(CryptError::Corrupt { part: Part::Armor, detail: armor_detail(&e) }),
    }
}

/// Decodes armor into `out`, line by line through `BufRead`, so that when it fails (at a
/// cut, say) `out` still holds everything decoded before the failure; `read_to_end` could
/// drop the bytes of the failing `read` call.
fn read_armor(armored: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    let mut reader = ArmoredReader::new(armored);
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        out.extend_from_slice(buf);
        let n = buf.len();
        reader.consume(n);
    }
}

/// A short description of an armor error. age's armor errors never carry plaintext.
fn armor_detail(e: &io::Error) -> String {
    match e.get_ref() {
        Some(inner) => format!("invalid armor ({inner})"),
        None => format!("invalid armor ({})", e.kind()),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether binary age bytes contain the whole header (up to and including the MAC line).
fn header_complete(bytes: &[u8]) -> bool {
    match find(bytes, b"\n--- ") {
        Some(i) => bytes[i + 5..].contains(&b'\n'),
        None => false,
    }
}

/// Parses the header of binary age bytes.
fn open_header(binary: &[u8]) -> Result<Decryptor<&[u8]>, CryptError> {
    Decryptor::new_buffered(binary).map_err(|e| match e {
        DecryptError::Io(ref io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            // The header parser and the nonce read both end here.
            let part = if header_complete(binary) { Part::Payload } else { Part::Header };
            CryptError::Truncated { part }
        }
        // age falls back to "unknown version" when a v1 header does not parse.
        DecryptError::UnknownFormat if binary.starts_with(b"age-encryption.org/v1\n") => {
            CryptError::Corrupt { part: Part::Header, detail: "malformed header".into() }
        }
        DecryptError::UnknownFormat => CryptError::UnsupportedFormat,
        e => header_error(e),
    })
}

fn header_error(e: DecryptError) -> CryptError {
    let detail = match e {
        DecryptError::InvalidHeader => "malformed header".to_string(),
        DecryptError::InvalidMac => "header MAC mismatch (the header was modified)".to_string(),
        DecryptError::DecryptionFailed | DecryptError::KeyDecryptionFailed => {
            "a recipient stanza failed to decrypt".to_string()
        }
        DecryptError::Io(io) => format!("read error ({})", io.kind()),
        other => other.to_string(),
    };
    CryptError::Corrupt { part: Part::Header, detail }
}

/// Reads the whole payload into a zeroizing buffer sized so it never reallocates.
fn read_payload<R: Read>(mut reader: R, ciphertext_len: usize) -> Result<Zeroizing<Vec<u8>>, CryptError> {
    // The plaintext is always shorter than the binary ciphertext.
    let mut plaintext = Zeroizing::new(Vec::with_capacity(ciphertext_len + 1));
    match reader.read_to_end(&mut plaintext) {
        Ok(_) => Ok(plaintext),
        // `plaintext` (partial output) is wiped on drop.
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(CryptError::Truncated { part: Part::Payload }),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(CryptError::Corrupt {
            part: Part::Payload,
            detail: "the payload failed authentication (modified, or cut short)".into(),
        }),
        Err(e) => Err(CryptError::Corrupt { part: Part::Payload, detail: format!("read error ({})", e.kind()) }),
    }
}

/// Seals the recovery identity with a passphrase (age scrypt, armored), for
/// `.dotback/recovery.age`. Uses [`DEFAULT_RECOVERY_WORK_FACTOR`], or the test knob
/// [`TEST_SCRYPT_LOG_N_ENV`] when set in a build that honours it.
pub fn seal_recovery(id: &Identity, passphrase: &SecretString) -> Result<Vec<u8>, CryptError> {
    let log_n = recovery_work_factor(std::env::var(TEST_SCRYPT_LOG_N_ENV).ok(), TEST_SCRYPT_KNOB);
    seal_recovery_with_work_factor(id, passphrase, log_n)
}

/// The work factor [`seal_recovery`] uses, given the value of [`TEST_SCRYPT_LOG_N_ENV`] and
/// whether this build honours it.
fn recovery_work_factor(knob: Option<String>, honoured: bool) -> u8 {
    knob.filter(|_| honoured)
        .and_then(|v| v.trim().parse::<u8>().ok())
        .filter(|n| (1..=30).contains(n))
        .unwrap_or(DEFAULT_RECOVERY_WORK_FACTOR)
}

/// [`seal_recovery`] with an explicit scrypt work factor (N = 2^log_n, 1..=30).
pub fn seal_recovery_with_work_factor(
    id: &Identity,
    passphrase: &SecretString,
    log_n: u8,
) -> Result<Vec<u8>, CryptError> {
    if !(1..=30).contains(&log_n) {
        return Err(CryptError::InvalidWorkFactor { log_n });
    }
    if passphrase.expose_secret().is_empty() {
        return Err(CryptError::EmptyPassphrase);
    }
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    recipient.set_work_factor(log_n);
    let encryptor = Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .map_err(|e| CryptError::Encrypt { detail: e.to_string() })?;
    let text = id.keygen_text(Some("dotback recovery key (open with: age -d recovery.age)"));
    write_armored(encryptor, text.as_bytes(), Vec::with_capacity(1024))
        .map_err(|e| CryptError::Encrypt { detail: e.to_string() })
}

/// Opens a sealed recovery key with its passphrase.
pub fn open_recovery(sealed: &[u8], passphrase: &SecretString) -> Result<Identity, CryptError> {
    let binary = dearmor(sealed)?;
    let decryptor = open_header(&binary)?;
    if !decryptor.is_scrypt() {
        return Err(CryptError::NotPassphraseEncrypted);
    }
    let identity = age::scrypt::Identity::new(passphrase.clone());
    let reader = decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)).map_err(|e| match e {
        DecryptError::DecryptionFailed | DecryptError::NoMatchingKeys => CryptError::WrongPassphrase,
        DecryptError::ExcessiveWork { required, target } => CryptError::ExcessiveWork { required, target },
        e => header_error(e),
    })?;
    let plaintext = read_payload(reader, binary.len())?;
    let not_a_key = || CryptError::Corrupt {
        part: Part::Payload,
        detail: "the recovery file does not hold exactly one age identity".into(),
    };
    let text = std::str::from_utf8(&plaintext).map_err(|_| not_a_key())?;
    let mut ids = parse_identity_text(text).map_err(|_| not_a_key())?;
    if ids.len() != 1 {
        return Err(not_a_key());
    }
    Ok(ids.remove(0))
}

/// RFC 3339 UTC timestamp (age-keygen writes local time with offset; UTC is equivalent).
fn rfc3339_utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}
