//! Encrypted archives of the whole store: the second medium, for a USB disk or a cloud folder
//! nobody is trusted with.
//!
//! An archive is a git bundle (v2: a header naming the refs, then a pack) encrypted with age to
//! every recipient the device trusts, the recovery key included, so `age -d` with any device's
//! identity (or the recovery key) and a plain `git clone` of the result restore the store with
//! all its history. No git binary is needed: the header is a few lines and the pack comes from
//! libgit2's pack builder, streamed into the age writer, so the only file written is the
//! ciphertext (temporary file, fsync, rename; mode 0600).
//!
//! Every new archive is read back, decrypted and checked before anything is pruned: the header
//! must parse, the pack must index (libgit2's indexer hashes every object, in a scratch
//! repository under the state directory, removed at once: the medium never holds plaintext),
//! and every ref's commit with its whole history, trees and blobs must be there.
//!
//! Pruning follows [`super::retention`] over this device's archives in the directory, found by
//! name (`dotback-<device>-<UTC stamp>.bundle.age`): nothing else there is ever deleted, nor
//! another device's archives, nor the archive just written.
//!
//! Beside the archives goes a copy of the store's recovery key, sealed with the recovery
//! passphrase as it is in the store (and so in every remote): the directory alone then restores
//! the store with the passphrase and plain age. The state directory records where this device
//! archived, so that `check` counts each directory as a copy for 3-2-1.

use super::retention::{self, Policy, Reason};
use crate::crypt::{CryptError, Identity, Part};
use crate::error::{IoContext, Op, PathError};
use crate::events::Sink;
use crate::session::Session;
use crate::store::StoreError;
use git2::{ObjectType, Oid, Repository};
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// How every archive's name starts and ends.
pub const PREFIX: &str = "dotback-";
pub const SUFFIX: &str = ".bundle.age";
/// The copy of the store's passphrase-sealed recovery key beside the archives.
pub const RECOVERY_KEY: &str = "dotback-recovery.age";
/// The first line of a v2 git bundle.
const BUNDLE_V2: &str = "# v2 git bundle\n";

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the archive directory {} does not exist", dir.display())]
    NoDir { dir: PathBuf },
    #[error("{} is not a directory", dir.display())]
    NotADir { dir: PathBuf },
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the store {} has no commit to archive yet", store.display())]
    Empty { store: PathBuf },
    #[error("cannot make the archive from the store {}: {source}", store.display())]
    Pack {
        store: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("cannot encrypt the archive: {why}")]
    Recipients { why: String },
    #[error("cannot check the new archive: {why}")]
    NoIdentity { why: String },
    #[error("{} exists already (an archive made this very second)", path.display())]
    Exists { path: PathBuf },
    /// The archive just written failed its check: it was removed and nothing was pruned.
    #[error("the new archive {} failed its check, so it was not kept and nothing was pruned", path.display())]
    NewFailed {
        path: PathBuf,
        #[source]
        source: VerifyError,
    },
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error("cannot open the recovery key {}: {source}", path.display())]
    Recovery {
        path: PathBuf,
        #[source]
        source: CryptError,
    },
    #[error("cannot read the recovery passphrase: {why}")]
    Passphrase { why: String },
}

/// Why an archive is not a whole, readable copy of the store.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read the archive {}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot decrypt the archive {}: {source}", file.display())]
    Decrypt {
        file: PathBuf,
        #[source]
        source: CryptError,
    },
    #[error("the archive {} is not a complete bundle of the store: {why}", file.display())]
    Incomplete { file: PathBuf, why: String },
    #[error("cannot check the archive {}: the scratch repository in {} failed ({why})", file.display(), scratch.display())]
    Scratch { file: PathBuf, scratch: PathBuf, why: String },
}

/// One ref a bundle holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BundleRef {
    pub name: String,
    pub id: String,
}

/// What the check of an archive found.
#[derive(Debug, serde::Serialize)]
pub struct Verified {
    pub file: PathBuf,
    pub bytes: u64,
    pub refs: Vec<BundleRef>,
    pub commits: usize,
    /// Commits, trees and blobs reached from the refs (each once).
    pub objects: usize,
}

/// What the policy does with one archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Keep,
    /// Removed (by `archive`), or would be (in `archive list`).
    Remove,
    /// Another device's archive: this device neither counts nor removes it.
    OtherDevice,
}

/// One archive in the directory.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Entry {
    pub name: String,
    pub device: String,
    /// UTC, RFC 3339, from the name.
    pub time: String,
    pub bytes: u64,
    pub action: Action,
    /// Why the policy keeps it (empty when it goes, or for another device's).
    pub reasons: Vec<Reason>,
    /// The archive this run wrote: never removed, whatever the policy says.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub new: bool,
}

/// The archives in a directory and what the policy does with each, newest first.
#[derive(Debug, serde::Serialize)]
pub struct Listing {
    pub dir: PathBuf,
    pub policy: String,
    pub archives: Vec<Entry>,
    /// Whether the recovery key, passphrase-protected, is there too ([`RECOVERY_KEY`]).
    pub recovery_key: bool,
}

/// The copy of the recovery key beside the archives.
#[derive(Debug, serde::Serialize)]
pub struct RecoveryKey {
    pub path: PathBuf,
    /// Written by this run; false when the same file was there already.
    pub written: bool,
}

/// What `dotback archive` did.
#[derive(Debug, serde::Serialize)]
pub struct ArchiveReport {
    pub archive: PathBuf,
    pub recipients: usize,
    pub verified: Verified,
    pub listing: Listing,
    /// Archives removed by the policy.
    pub removed: Vec<String>,
    pub recovery_key: RecoveryKey,
}

impl ArchiveReport {
    pub fn kept(&self) -> usize {
        self.listing.archives.iter().filter(|e| e.action == Action::Keep).count()
    }
}

/// Where to write and what to keep.
#[derive(Debug, Clone)]
pub struct Options {
    pub dir: PathBuf,
    pub policy: Policy,
}

/// `device` as it appears in an archive's name: letters, digits and `-_.` only.
fn safe_device(device: &str) -> String {
    let safe: String =
        device.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    if safe.is_empty() { "_".into() } else { safe }
}

/// The name of `device`'s archive made at `time`: it sorts by time and says whose it is.
pub fn name_for(device: &str, time: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = time.to_offset(time::UtcOffset::UTC).format(&fmt).expect("a UTC time formats");
    format!("{PREFIX}{}-{stamp}{SUFFIX}", safe_device(device))
}

/// The device and time of an archive's name, if it is one of dotback's.
pub fn parse_name(name: &str) -> Option<(String, OffsetDateTime)> {
    let middle = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let (device, stamp) = middle.rsplit_once('-')?;
    let b = stamp.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = stamp.get(r)?;
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok())?
    };
    if device.is_empty() || safe_device(device) != device || b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(digits(4..6)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(digits(0..4)?).ok()?, month, digits(6..8)? as u8).ok()?;
    let t = date.with_hms(digits(9..11)? as u8, digits(11..13)? as u8, digits(13..15)? as u8).ok()?;
    Some((device.to_string(), t.assume_utc()))
}

fn rfc3339(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&fmt).expect("a UTC time formats")
}

/// Checks that `dir` is a directory (an unmounted disk's mount point is not created).
fn check_dir(dir: &Path) -> Result<(), ArchiveError> {
    match fs::metadata(dir) {
        Ok(md) if md.is_dir() => Ok(()),
        Ok(_) => Err(ArchiveError::NotADir { dir: dir.to_path_buf() }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ArchiveError::NoDir { dir: dir.to_path_buf() }),
        Err(e) => Err(PathError::new(Op::Read, dir, e).into()),
    }
}

/// The archives in `dir` (regular files named as dotback names them) and what `policy` does
/// with this device's, at `now`. `new` is never removed.
fn plan(
    dir: &Path,
    device: &str,
    policy: &Policy,
    now: OffsetDateTime,
    new: Option<&str>,
) -> Result<Listing, ArchiveError> {
    check_dir(dir)?;
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).context(Op::Read, dir)? {
        let entry = entry.context(Op::Read, dir)?;
        let Some((owner, time)) = entry.file_name().to_str().and_then(parse_name) else { continue };
        let md = entry.metadata().context(Op::Read, entry.path())?;
        if md.is_file() {
            found.push((entry.file_name().to_string_lossy().into_owned(), owner, time, md.len()));
        }
    }
    let mine = safe_device(device);
    let own: Vec<(String, OffsetDateTime)> =
        found.iter().filter(|(_, owner, ..)| *owner == mine).map(|(name, _, time, _)| (name.clone(), *time)).collect();
    let reasons: BTreeMap<String, Vec<Reason>> = retention::keep(&own, policy, now).into_iter().collect();
    let mut archives: Vec<Entry> = found
        .into_iter()
        .map(|(name, owner, time, bytes)| {
            let is_new = new == Some(name.as_str());
            let (action, reasons) = match reasons.get(&name) {
                None => (Action::OtherDevice, Vec::new()),
                Some(r) if r.is_empty() && !is_new => (Action::Remove, Vec::new()),
                Some(r) => (Action::Keep, r.clone()),
            };
            Entry { name, device: owner, time: rfc3339(time), bytes, action, reasons, new: is_new }
        })
        .collect();
    archives.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.name.cmp(&a.name)));
    let recovery_key = fs::symlink_metadata(dir.join(RECOVERY_KEY)).is_ok_and(|md| md.is_file());
    Ok(Listing { dir: dir.to_path_buf(), policy: policy.to_string(), archives, recovery_key })
}

/// The archives in `dir` and what `policy` would do with this device's now (nothing is removed).
pub fn list(ctx: &crate::context::Context, dir: &Path, policy: &Policy) -> Result<Listing, ArchiveError> {
    plan(dir, &ctx.device, policy, OffsetDateTime::now_utc(), None)
}

/// The refs an archive holds: HEAD and every local branch that points at a commit.
fn bundle_refs(repo: &Repository) -> Result<Vec<(String, Oid)>, git2::Error> {
    let mut refs = Vec::new();
    if let Ok(head) = repo.head()
        && let Ok(commit) = head.peel_to_commit()
    {
        refs.push(("HEAD".to_string(), commit.id()));
    }
    for r in repo.references_glob("refs/heads/*")? {
        let r = r?;
        if let (Ok(name), Ok(commit)) = (r.name(), r.peel_to_commit()) {
            refs.push((name.to_string(), commit.id()));
        }
    }
    Ok(refs)
}

/// Writes the bundle of `refs` (header, then the pack of everything they reach) to `out`,
/// streaming the pack; returns how many objects it holds.
fn write_bundle(repo: &Repository, refs: &[(String, Oid)], out: &mut dyn Write) -> Result<usize, BundleWriteError> {
    let mut header = String::from(BUNDLE_V2);
    for (name, id) in refs {
        header.push_str(&format!("{id} {name}\n"));
    }
    header.push('\n');
    out.write_all(header.as_bytes()).map_err(BundleWriteError::Io)?;
    let mut builder = repo.packbuilder().map_err(BundleWriteError::Git)?;
    builder.set_threads(0);
    let mut walk = repo.revwalk().map_err(BundleWriteError::Git)?;
    for (_, id) in refs {
        walk.push(*id).map_err(BundleWriteError::Git)?;
    }
    builder.insert_walk(&mut walk).map_err(BundleWriteError::Git)?;
    let mut failed = None;
    let written = builder.foreach(|chunk| match out.write_all(chunk) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    });
    if let Some(e) = failed {
        return Err(BundleWriteError::Io(e));
    }
    written.map_err(BundleWriteError::Git)?;
    Ok(builder.object_count())
}

enum BundleWriteError {
    Git(git2::Error),
    Io(io::Error),
}

/// Writes the encrypted bundle of the store into the new file `file`.
fn write_archive(
    repo: &Repository,
    refs: &[(String, Oid)],
    recipients: &[age::x25519::Recipient],
    file: &mut fs::File,
) -> Result<(), BundleWriteError> {
    let mut unique: Vec<&age::x25519::Recipient> = Vec::new();
    for r in recipients {
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    let encryptor = age::Encryptor::with_recipients(unique.iter().map(|r| *r as &dyn age::Recipient))
        .map_err(|e| BundleWriteError::Io(io::Error::other(e.to_string())))?;
    let mut writer =
        encryptor.wrap_output(BufWriter::with_capacity(1 << 20, &mut *file)).map_err(BundleWriteError::Io)?;
    write_bundle(repo, refs, &mut writer)?;
    writer.finish().and_then(|mut buffered| buffered.flush()).map_err(BundleWriteError::Io)?;
    file.sync_all().map_err(BundleWriteError::Io)
}

/// Writes an archive of the store into `opts.dir`, checks it, then prunes this device's
/// archives there by `opts.policy`. The audit trail gets one record of it.
pub fn run(s: &Session, opts: &Options, sink: &dyn Sink) -> Result<ArchiveReport, ArchiveError> {
    let started = std::time::Instant::now();
    let result = run_inner(s, opts, sink);
    let mut counts = BTreeMap::new();
    if let Ok(r) = &result {
        counts.insert("objects".to_string(), r.verified.objects as u64);
        counts.insert("bytes".to_string(), r.verified.bytes);
        counts.insert("archives_kept".to_string(), r.kept() as u64);
        counts.insert("archives_removed".to_string(), r.removed.len() as u64);
    }
    let outcome = match &result {
        Ok(_) => "ok",
        Err(ArchiveError::NewFailed { .. }) => "verify-failed",
        Err(_) => "error",
    };
    let record = crate::audit::Record {
        time: crate::state::rfc3339_now(),
        device: s.ctx.device.clone(),
        user: crate::audit::user(),
        command: "archive".into(),
        outcome: outcome.into(),
        counts,
        duration_ms: started.elapsed().as_millis() as u64,
        ..Default::default()
    };
    if let Err(e) = crate::audit::append(&s.ctx.store, &record) {
        sink.warn(format!(
            "could not append to the audit trail {}: {e}",
            crate::audit::file(&s.ctx.store, &record).display()
        ));
    }
    result
}

fn run_inner(s: &Session, opts: &Options, sink: &dyn Sink) -> Result<ArchiveReport, ArchiveError> {
    let dir = &opts.dir;
    check_dir(dir)?;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).expect("0 is a valid nanosecond");
    let store = s.store()?;
    let pack_error = |source| ArchiveError::Pack { store: s.ctx.store.clone(), source };
    let refs = bundle_refs(&store.repo).map_err(pack_error)?;
    if refs.is_empty() {
        return Err(ArchiveError::Empty { store: s.ctx.store.clone() });
    }
    let recipients = s.vault().recipients().map_err(|why| ArchiveError::Recipients { why: why.to_string() })?;
    let identities = s.vault().identities().map_err(|why| ArchiveError::NoIdentity { why: why.to_string() })?;
    let name = name_for(&s.ctx.device, now);
    let path = dir.join(&name);
    if fs::symlink_metadata(&path).is_ok() {
        return Err(ArchiveError::Exists { path });
    }
    let mut tmp =
        tempfile::Builder::new().prefix(".dotback-archive-").suffix(".tmp").tempfile_in(dir).context(Op::Write, dir)?;
    sink.event(crate::events::Event::Start { phase: "writing the archive", total: 1 });
    let written = write_archive(&store.repo, &refs, recipients, tmp.as_file_mut());
    sink.event(crate::events::Event::Finish);
    match written {
        Ok(()) => {}
        Err(BundleWriteError::Git(e)) => return Err(pack_error(e)),
        Err(BundleWriteError::Io(e)) => return Err(PathError::new(Op::Write, &path, e).into()),
    }
    sink.event(crate::events::Event::Start { phase: "checking the archive", total: 1 });
    let checked = verify(tmp.path(), identities, &s.ctx.paths.state_dir);
    sink.event(crate::events::Event::Finish);
    let mut verified = checked.map_err(|e| ArchiveError::NewFailed { path: path.clone(), source: rename(e, &path) })?;
    verified.file = path.clone();
    let missing =
        refs.iter().find(|(name, id)| !verified.refs.contains(&BundleRef { name: name.clone(), id: id.to_string() }));
    if let Some((ref_name, _)) = missing {
        let why = format!("it does not hold {ref_name} as the store has it");
        return Err(ArchiveError::NewFailed {
            path: path.clone(),
            source: VerifyError::Incomplete { file: path, why },
        });
    }
    tmp.persist(&path).map_err(|e| PathError::new(Op::Write, &path, e.error))?;
    let recovery_key = copy_recovery_key(&s.ctx.store, dir)?;
    fs::File::open(dir).and_then(|d| d.sync_all()).context(Op::Write, dir)?;
    let recorded = fs::canonicalize(dir).and_then(|at| {
        let newest = crate::state::ArchiveDir { newest: name.clone(), time: rfc3339(now) };
        crate::state::record_archive_dir(&s.ctx.paths.state_dir, &at, newest).map_err(io::Error::other)
    });
    if let Err(e) = recorded {
        sink.warn(format!(
            "could not record {} as an archive directory, so `check` does not count it: {e}",
            dir.display()
        ));
    }

    let mut listing = plan(dir, &s.ctx.device, &opts.policy, now, Some(&name))?;
    let mut removed = Vec::new();
    for entry in listing.archives.iter_mut().filter(|e| e.action == Action::Remove) {
        let old = dir.join(&entry.name);
        // Only a regular file still named as this device's archive, never the new one.
        let still_ours = fs::symlink_metadata(&old).is_ok_and(|md| md.is_file());
        if entry.new || !still_ours {
            entry.action = Action::Keep;
            continue;
        }
        match fs::remove_file(&old) {
            Ok(()) => removed.push(entry.name.clone()),
            Err(e) => {
                sink.warn(format!("could not remove the old archive {}: {e}", old.display()));
                entry.action = Action::Keep;
            }
        }
    }
    if !removed.is_empty() {
        fs::File::open(dir).and_then(|d| d.sync_all()).context(Op::Write, dir)?;
    }
    Ok(ArchiveReport { archive: path, recipients: recipients.len(), verified, listing, removed, recovery_key })
}

/// Puts the store's recovery key, sealed with the passphrase as in the store, into `dir` as
/// [`RECOVERY_KEY`] (temporary file, fsync, rename; mode 0600), unless the same is there.
fn copy_recovery_key(store: &Path, dir: &Path) -> Result<RecoveryKey, ArchiveError> {
    let from = crate::vault::recovery_path(store);
    let sealed = crate::fsutil::read_beneath(store, &from).context(Op::Read, &from)?;
    let path = dir.join(RECOVERY_KEY);
    if fs::read(&path).is_ok_and(|there| there == sealed) {
        return Ok(RecoveryKey { path, written: false });
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".dotback-recovery-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .context(Op::Write, dir)?;
    tmp.write_all(&sealed).and_then(|()| tmp.as_file().sync_all()).context(Op::Write, &path)?;
    tmp.persist(&path).map_err(|e| PathError::new(Op::Write, &path, e.error))?;
    Ok(RecoveryKey { path, written: true })
}

/// The same error, naming `path` instead of the temporary file it was found in.
fn rename(e: VerifyError, path: &Path) -> VerifyError {
    let file = path.to_path_buf();
    match e {
        VerifyError::Read { source, .. } => VerifyError::Read { file, source },
        VerifyError::Decrypt { source, .. } => VerifyError::Decrypt { file, source },
        VerifyError::Incomplete { why, .. } => VerifyError::Incomplete { file, why },
        VerifyError::Scratch { scratch, why, .. } => VerifyError::Scratch { file, scratch, why },
    }
}

/// Checks the archive `file` with this device's identities, or with the recovery key when
/// `recovery` gives its passphrase: the copy beside the archive ([`RECOVERY_KEY`]) when there
/// is one, else the store's.
pub fn verify_file(
    ctx: &crate::context::Context,
    file: &Path,
    recovery: Option<crate::keys::Passphrase>,
) -> Result<Verified, ArchiveError> {
    let identities = match recovery {
        None => crate::vault::load_identities(ctx, ctx.identity)?,
        Some(passphrase) => {
            let beside = file.with_file_name(RECOVERY_KEY);
            let (path, sealed) = if beside.is_file() {
                let sealed = fs::read(&beside).context(Op::Read, &beside)?;
                (beside, sealed)
            } else {
                let path = crate::vault::recovery_path(&ctx.store);
                let sealed = crate::fsutil::read_beneath(&ctx.store, &path).context(Op::Read, &path)?;
                (path, sealed)
            };
            let pass = passphrase().map_err(|why| ArchiveError::Passphrase { why })?;
            vec![
                crate::crypt::open_recovery(&sealed, &pass)
                    .map_err(|source| ArchiveError::Recovery { path, source })?,
            ]
        }
    };
    Ok(verify(file, &identities, &ctx.paths.state_dir)?)
}

/// Decrypts the archive `file` and checks that it is a complete bundle: the header parses,
/// the pack indexes (every object hashed, in a scratch repository under `scratch`), and every
/// ref's commit and its whole history are there.
pub fn verify(file: &Path, identities: &[Identity], scratch: &Path) -> Result<Verified, VerifyError> {
    let read_error = |source| VerifyError::Read { file: file.to_path_buf(), source };
    let decrypt_error = |source| VerifyError::Decrypt { file: file.to_path_buf(), source };
    let incomplete = |why: String| VerifyError::Incomplete { file: file.to_path_buf(), why };
    let f = fs::File::open(file).map_err(read_error)?;
    let bytes = f.metadata().map_err(read_error)?.len();
    let decryptor = age::Decryptor::new_buffered(BufReader::new(f)).map_err(|e| decrypt_error(header_error(e)))?;
    if decryptor.is_scrypt() {
        return Err(decrypt_error(CryptError::PassphraseEncrypted));
    }
    let reader = decryptor.decrypt(identities.iter().map(|id| id.as_age() as &dyn age::Identity)).map_err(|e| {
        decrypt_error(match e {
            age::DecryptError::NoMatchingKeys => CryptError::NoMatchingIdentity,
            e => header_error(e),
        })
    })?;
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let payload_error = |e: io::Error| decrypt_error(payload_error(e));

    // The header: the signature, one `<id> <ref>` line per ref, a blank line.
    let mut line = String::new();
    reader.read_line(&mut line).map_err(payload_error)?;
    if line != BUNDLE_V2 {
        return Err(incomplete("it does not start as a v2 git bundle".into()));
    }
    let mut refs = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(payload_error)? == 0 {
            return Err(incomplete("it ends inside the bundle header".into()));
        }
        let Some(text) = line.strip_suffix('\n') else {
            return Err(incomplete("it ends inside the bundle header".into()));
        };
        if text.is_empty() {
            break;
        }
        if text.starts_with('-') {
            return Err(incomplete("it needs commits from elsewhere (an incremental bundle)".into()));
        }
        let parsed = text.split_once(' ').and_then(|(id, name)| Some((Oid::from_str(id).ok()?, name)));
        let Some((id, name)) = parsed.filter(|(id, name)| !name.is_empty() && id.as_bytes().len() == 20) else {
            return Err(incomplete(format!("line {} of the bundle header does not name a ref", refs.len() + 2)));
        };
        refs.push(BundleRef { name: name.to_string(), id: id.to_string() });
    }
    if refs.is_empty() {
        return Err(incomplete("its header names no ref".into()));
    }

    // The pack, into a scratch repository whose indexer hashes every object.
    let scratch_error = |e: &dyn std::fmt::Display| VerifyError::Scratch {
        file: file.to_path_buf(),
        scratch: scratch.to_path_buf(),
        why: e.to_string(),
    };
    fs::create_dir_all(scratch).map_err(|e| scratch_error(&e))?;
    let dir = tempfile::Builder::new().prefix("archive-check-").tempdir_in(scratch).map_err(|e| scratch_error(&e))?;
    let repo = Repository::init_bare(dir.path()).map_err(|e| scratch_error(&e))?;
    let odb = repo.odb().map_err(|e| scratch_error(&e))?;
    let mut pack = odb.packwriter().map_err(|e| scratch_error(&e))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(payload_error)?;
        if n == 0 {
            break;
        }
        pack.write_all(&buf[..n]).map_err(|_| incomplete("its pack does not parse".into()))?;
    }
    pack.commit().map_err(|e| incomplete(format!("its pack is damaged or cut short ({})", e.message())))?;
    drop(pack);

    // Every ref's commit and its whole history.
    let mut walk = repo.revwalk().map_err(|e| scratch_error(&e))?;
    for r in &refs {
        let id = Oid::from_str(&r.id).expect("parsed above");
        repo.find_commit(id)
            .map_err(|_| incomplete(format!("{} points at commit {id}, which it does not hold", r.name)))?;
        walk.push(id).map_err(|e| incomplete(format!("the history of {} is incomplete ({})", r.name, e.message())))?;
    }
    let mut seen = HashSet::new();
    let mut commits = 0;
    for id in walk {
        let id = id.map_err(|e| incomplete(format!("its history is incomplete ({})", e.message())))?;
        let commit = repo.find_commit(id).map_err(|_| incomplete(format!("it lacks commit {id}")))?;
        commits += 1;
        seen.insert(id);
        check_tree(&repo, &odb, commit.tree_id(), &mut seen)
            .map_err(|why| incomplete(format!("commit {id}: {why}")))?;
    }
    Ok(Verified { file: file.to_path_buf(), bytes, refs, commits, objects: seen.len() })
}

/// Checks that the tree `id` and everything in it are in `repo` (each object once).
fn check_tree(repo: &Repository, odb: &git2::Odb, id: Oid, seen: &mut HashSet<Oid>) -> Result<(), String> {
    if !seen.insert(id) {
        return Ok(());
    }
    let tree = repo.find_tree(id).map_err(|_| format!("it lacks tree {id}"))?;
    for entry in tree.iter() {
        match entry.kind() {
            Some(ObjectType::Tree) => check_tree(repo, odb, entry.id(), seen)?,
            Some(ObjectType::Blob) if seen.insert(entry.id()) && !odb.exists(entry.id()) => {
                return Err(format!("it lacks the content of {}", entry.name().unwrap_or("a file")));
            }
            // Blobs seen already; submodule commits are not part of the store.
            _ => {}
        }
    }
    Ok(())
}

/// An error reading the age header, as dotback's crypt module words it.
fn header_error(e: age::DecryptError) -> CryptError {
    match e {
        age::DecryptError::Io(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            CryptError::Truncated { part: Part::Header }
        }
        age::DecryptError::UnknownFormat => CryptError::NotAgeFile,
        age::DecryptError::InvalidMac => {
            CryptError::Corrupt { part: Part::Header, detail: "header MAC mismatch (the header was modified)".into() }
        }
        e => CryptError::Corrupt { part: Part::Header, detail: e.to_string() },
    }
}

/// An error reading the payload: age authenticates every chunk, so a flipped byte or a cut
/// shows here.
fn payload_error(e: io::Error) -> CryptError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => CryptError::Truncated { part: Part::Payload },
        io::ErrorKind::InvalidData => CryptError::Corrupt {
            part: Part::Payload,
            detail: "the payload failed authentication (modified, or cut short)".into(),
        },
        kind => CryptError::Corrupt { part: Part::Payload, detail: format!("read error ({kind})") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> OffsetDateTime {
        time::Date::from_calendar_date(y, time::Month::try_from(mo).unwrap(), d)
            .unwrap()
            .with_hms(h, mi, s)
            .unwrap()
            .assume_utc()
    }

    #[test]
    fn names_sort_by_time_and_parse_back() {
        let t = at(2024, 3, 5, 7, 8, 9);
        let name = name_for("my laptop", t);
        assert_eq!(name, "dotback-my_laptop-20240305T070809Z.bundle.age");
        assert_eq!(parse_name(&name), Some(("my_laptop".into(), t)));
        assert_eq!(parse_name(&name_for("a-b", t)), Some(("a-b".into(), t)), "a dash in the device name");
        assert!(name_for("x", at(2023, 12, 31, 23, 59, 59)) < name_for("x", at(2024, 1, 1, 0, 0, 0)));
        for foreign in [
            "notes.txt",
            "dotback-x-20240305T070809Z.bundle",
            "dotback-x-20240305T070809Z.bundle.age.tmp",
            ".dotback-archive-abc.tmp",
            "dotback--20240305T070809Z.bundle.age",
            "dotback-x-2024.bundle.age",
            "dotback-x-20241305T070809Z.bundle.age",
            "dotback-x-20240305 070809Z.bundle.age",
            "dotback-x-2024030+T070809Z.bundle.age",
            "dotback-x y-20240305T070809Z.bundle.age",
            "dotback-20240305T070809Z.bundle.age",
        ] {
            assert_eq!(parse_name(foreign), None, "{foreign}");
        }
    }

    /// A repository with two commits; returns it and (parent, head).
    fn repo_with_history(dir: &Path) -> (Repository, Oid, Oid) {
        let repo = Repository::init(dir).unwrap();
        let sig = git2::Signature::now("t", "t@example.org").unwrap();
        let mut parent = None;
        for (i, text) in ["one", "two"].iter().enumerate() {
            let mut tree = repo.treebuilder(None).unwrap();
            tree.insert("dot_zshrc", repo.blob(text.as_bytes()).unwrap(), 0o100644).unwrap();
            let mut sub = repo.treebuilder(None).unwrap();
            sub.insert("config", repo.blob(format!("n = {i}").as_bytes()).unwrap(), 0o100644).unwrap();
            tree.insert("dot_app", sub.write().unwrap(), 0o040000).unwrap();
            let tree = repo.find_tree(tree.write().unwrap()).unwrap();
            let parents: Vec<git2::Commit> = parent.iter().map(|p| repo.find_commit(*p).unwrap()).collect();
            let refs: Vec<&git2::Commit> = parents.iter().collect();
            parent = Some(repo.commit(Some("HEAD"), &sig, &sig, text, &tree, &refs).unwrap());
        }
        let head = parent.unwrap();
        let first = repo.find_commit(head).unwrap().parent_id(0).unwrap();
        (repo, first, head)
    }

    fn encrypt_to(plain: &[u8], id: &Identity) -> Vec<u8> {
        let recipient = id.public();
        let e = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient)).unwrap();
        let mut out = Vec::new();
        let mut w = e.wrap_output(&mut out).unwrap();
        w.write_all(plain).unwrap();
        w.finish().unwrap();
        out
    }

    fn bundle(repo: &Repository, refs: &[(String, Oid)]) -> Vec<u8> {
        let mut out = Vec::new();
        assert!(write_bundle(repo, refs, &mut out).is_ok());
        out
    }

    #[test]
    fn an_archive_checks_out_and_damage_of_every_kind_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, first, head) = repo_with_history(&dir.path().join("store"));
        let refs = bundle_refs(&repo).unwrap();
        assert_eq!(refs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["HEAD", "refs/heads/master"]);
        let me = Identity::generate();
        let scratch = dir.path().join("state");
        let good = dir.path().join("good.bundle.age");
        let mut f = fs::File::create(&good).unwrap();
        assert!(write_archive(&repo, &refs, &[me.public(), me.public()], &mut f).is_ok());
        let v = verify(&good, std::slice::from_ref(&me), &scratch).unwrap();
        assert_eq!((v.commits, v.objects), (2, 2 + 4 + 4), "2 commits, 2 root trees + 2 subtrees, 4 blobs");
        assert_eq!(v.refs[0], BundleRef { name: "HEAD".into(), id: head.to_string() });
        assert_eq!(fs::read_dir(&scratch).unwrap().count(), 0, "the scratch repository is gone");

        let check = |name: &str, bytes: &[u8], id: &Identity| {
            let file = dir.path().join(name);
            fs::write(&file, bytes).unwrap();
            let e = verify(&file, std::slice::from_ref(id), &scratch).unwrap_err();
            assert!(e.to_string().contains(&file.display().to_string()), "{e}");
            e
        };
        let cipher = fs::read(&good).unwrap();
        let mut flipped = cipher.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0xff;
        assert!(matches!(
            check("flipped", &flipped, &me),
            VerifyError::Decrypt { source: CryptError::Corrupt { .. }, .. }
        ));
        let cut = check("cut", &cipher[..cipher.len() - 100], &me);
        assert!(matches!(cut, VerifyError::Decrypt { .. }), "{cut}");
        let e = check("header-cut", &cipher[..20], &me);
        assert!(matches!(e, VerifyError::Decrypt { source: CryptError::Truncated { part: Part::Header }, .. }), "{e}");
        let e = check("other-key", &cipher, &Identity::generate());
        assert!(matches!(e, VerifyError::Decrypt { source: CryptError::NoMatchingIdentity, .. }), "{e}");
        assert!(matches!(check("plain", b"# v2 git bundle\n", &me), VerifyError::Decrypt { .. }));

        // Well encrypted, but not a whole bundle.
        let plain = bundle(&repo, &refs);
        let cut = check("cut-pack", &encrypt_to(&plain[..plain.len() - 30], &me), &me);
        assert!(matches!(&cut, VerifyError::Incomplete { why, .. } if why.contains("pack")), "{cut}");
        let e = check("no-header", &encrypt_to(b"PACK", &me), &me);
        assert!(e.to_string().contains("does not start as a v2 git bundle"), "{e}");
        let e = check("header-only", &encrypt_to(b"# v2 git bundle\n", &me), &me);
        assert!(e.to_string().contains("ends inside the bundle header"), "{e}");
        // A header naming the head over a pack of the first commit only.
        let older = bundle(&repo, &[("refs/heads/master".into(), first)]);
        let pack = &older[older.windows(2).position(|w| w == b"\n\n").unwrap() + 2..];
        let mut lying = format!("{BUNDLE_V2}{head} refs/heads/master\n\n").into_bytes();
        lying.extend_from_slice(pack);
        let e = check("lying", &encrypt_to(&lying, &me), &me);
        assert!(e.to_string().contains(&format!("points at commit {head}, which it does not hold")), "{e}");
        let mut incremental = format!("{BUNDLE_V2}-{first} base\n{head} refs/heads/master\n\n").into_bytes();
        incremental.extend_from_slice(pack);
        let e = check("incremental", &encrypt_to(&incremental, &me), &me);
        assert!(e.to_string().contains("needs commits from elsewhere"), "{e}");
        assert_eq!(fs::read_dir(&scratch).unwrap().count(), 0, "no scratch repository is left behind");
    }

    #[test]
    fn the_plan_touches_only_this_devices_archives_and_never_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let now = at(2024, 3, 10, 12, 0, 0);
        let mine =
            [at(2024, 3, 10, 12, 0, 0), at(2024, 3, 9, 8, 0, 0), at(2024, 3, 9, 7, 0, 0), at(2024, 2, 1, 0, 0, 0)];
        for t in mine {
            fs::write(dir.path().join(name_for("box", t)), "x").unwrap();
        }
        fs::write(dir.path().join(name_for("other", at(2020, 1, 1, 0, 0, 0))), "x").unwrap();
        fs::write(dir.path().join("notes.txt"), "x").unwrap();
        fs::create_dir(dir.path().join(name_for("box", at(2019, 1, 1, 0, 0, 0)))).unwrap();
        // A future archive holds the one `last` slot; the new one stays all the same.
        let future = name_for("box", at(2030, 1, 1, 0, 0, 0));
        fs::write(dir.path().join(&future), "x").unwrap();
        let new = name_for("box", now);
        let policy = Policy { last: 1, ..Policy::default() };
        let listing = plan(dir.path(), "box", &policy, now, Some(&new)).unwrap();
        let seen: Vec<(&str, Action)> = listing.archives.iter().map(|e| (&e.name[8..], e.action)).collect();
        assert_eq!(
            seen,
            [
                ("box-20300101T000000Z.bundle.age", Action::Keep),
                ("box-20240310T120000Z.bundle.age", Action::Keep),
                ("box-20240309T080000Z.bundle.age", Action::Remove),
                ("box-20240309T070000Z.bundle.age", Action::Remove),
                ("box-20240201T000000Z.bundle.age", Action::Remove),
                ("other-20200101T000000Z.bundle.age", Action::OtherDevice),
            ]
        );
        assert_eq!(listing.archives[0].reasons, [Reason::Rule(retention::Rule::Last)]);
        assert!(listing.archives[1].new && listing.archives[1].reasons.is_empty(), "kept though no rule keeps it");
        // No rule: nothing goes.
        let listing = plan(dir.path(), "box", &Policy::default(), now, None).unwrap();
        assert!(listing.archives.iter().all(|e| e.action != Action::Remove));
        assert!(matches!(plan(&dir.path().join("nope"), "box", &policy, now, None), Err(ArchiveError::NoDir { .. })));
    }
}
