//! HOME -> store: `add`, `forget`, and the capture step of `commit`.
//!
//! Every operation here first reads and checks everything it will need (an unreadable file, a
//! non-UTF-8 name or a path dotback must not track fails the whole operation), and only then
//! writes to the store, so a refused `add` leaves the store exactly as it was.

use crate::context::Context;
use crate::error::{IoContext, Op, PathError};
use crate::eval::{self, Change, Eval, Selection};
use crate::fsutil;
use crate::managed::{self, SourceState};
use crate::source::{self, Attrs, Entry, Kind, NameError};
use crate::state::{Cache, Node, NodeKind, Side};
use crate::vault::Vault;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{} does not exist", path.display())]
    NotFound { path: PathBuf },
    /// Reading in HOME, or writing into the store, failed.
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("{} has a name that is not valid UTF-8; dotback cannot track it", path.display())]
    NonUtf8 { path: PathBuf },
    #[error("{} cannot be stored", path.display())]
    Name {
        path: PathBuf,
        #[source]
        source: NameError,
    },
    #[error("{} is in {what}, which dotback never tracks", path.display())]
    OwnFile { path: PathBuf, what: &'static str },
    #[error("{} is the home directory itself; add the files and directories in it", path.display())]
    Home { path: PathBuf },
    #[error("{} is a {kind}; dotback tracks files, directories and symlinks", path.display())]
    Special { path: PathBuf, kind: &'static str },
    #[error("{} is {size} bytes, more than `max_file_size` ({limit}) in {} allows", path.display(), config.display())]
    TooLarge { path: PathBuf, size: u64, limit: crate::config::MaxFileSize, config: PathBuf },
    #[error("~/{target} is not managed by dotback")]
    NotManaged { target: String },
    #[error("~/{target} is produced by chezmoi ({source_name}); dotback never rewrites it")]
    Delegated { target: String, source_name: String },
    #[error(
        "~/{target} is limited to other devices by the `[[only]]` rule for {rule} in .dotback/dotback.toml; it is not tracked from this device ({device})"
    )]
    SkippedHere { target: String, rule: String, device: String },
    #[error("the store tracks ~/{target} as a file, so nothing can be added below it")]
    ParentIsFile { target: String },
    #[error("{} is secret ({why}), and it cannot be encrypted: {reason}", path.display())]
    Encrypt { path: PathBuf, why: String, reason: String },
    #[error(transparent)]
    Eval(#[from] eval::EvalError),
}

/// A live item read for capture.
struct Item {
    target: String,
    kind: NodeKind,
    perm: u32,
    /// File content, or the link target for symlinks (wiped from memory when dropped: it may
    /// be a secret).
    data: zeroize::Zeroizing<Vec<u8>>,
    stat: fsutil::StatKey,
}

impl Item {
    fn node(&self) -> Node {
        let hash = (self.kind != NodeKind::Dir).then(|| fsutil::hash_bytes(&self.data));
        let perm = if self.kind == NodeKind::Symlink { 0 } else { self.perm };
        Node { kind: self.kind, hash, perm }
    }

    fn entry(&self, exact: bool) -> Entry {
        let name = self.target.rsplit('/').next().unwrap_or(&self.target).to_string();
        let (kind, attrs) = match self.kind {
            NodeKind::Dir => (Kind::Dir, Attrs { exact, ..source::attrs_from_mode(self.perm, true) }),
            NodeKind::File => {
                (Kind::File, Attrs { empty: self.data.is_empty(), ..source::attrs_from_mode(self.perm, false) })
            }
            NodeKind::Symlink => (Kind::Symlink, Attrs::default()),
        };
        Entry { kind, attrs, name }
    }
}

/// Reads what is at `path`; a file larger than `max_file_size` is refused before it is read.
fn read_item(ctx: &Context, path: &Path, target: String) -> Result<Item, CaptureError> {
    let too_large = |size| CaptureError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit: crate::config::MaxFileSize(ctx.max_file_size),
        config: ctx.paths.config_file.clone(),
    };
    let md = fsutil::lstat(path)
        .context(Op::Read, path)?
        .ok_or_else(|| CaptureError::NotFound { path: path.to_path_buf() })?;
    let ft = md.file_type();
    let perm = md.permissions().mode() & 0o777;
    let (kind, data) = if ft.is_symlink() {
        let link = fs::read_link(path).context(Op::Read, path)?;
        let link =
            link.into_os_string().into_string().map_err(|_| CaptureError::NonUtf8 { path: path.to_path_buf() })?;
        (NodeKind::Symlink, link.into_bytes().into())
    } else if ft.is_dir() {
        (NodeKind::Dir, Vec::new().into())
    } else if ft.is_file() {
        if md.len() > ctx.max_file_size {
            return Err(too_large(md.len()));
        }
        let data: zeroize::Zeroizing<Vec<u8>> = fs::read(path).context(Op::Read, path)?.into();
        if data.len() as u64 > ctx.max_file_size {
            return Err(too_large(data.len() as u64)); // it grew meanwhile
        }
        (NodeKind::File, data)
    } else {
        use std::os::unix::fs::FileTypeExt;
        let kind = if ft.is_socket() {
            "socket"
        } else if ft.is_fifo() {
            "named pipe"
        } else {
            "device"
        };
        return Err(CaptureError::Special { path: path.to_path_buf(), kind });
    };
    Ok(Item { target, kind, perm, data, stat: fsutil::StatKey::of(&md) })
}

/// Options for `add`.
#[derive(Clone, Copy, Debug, Default)]
pub struct AddOptions {
    /// Mark added directories `exact_`: apply removes what the store does not list.
    pub exact: bool,
    /// Encrypt every added file, secret or not.
    pub encrypt: bool,
}

/// Why a file must be stored encrypted, if it must: it already is, the user asked, a path
/// rule names it, or its content holds a key or token.
fn secret_reason(vault: &Vault, target: &str, data: &[u8], already: bool, asked: bool) -> Option<String> {
    if already {
        Some("already encrypted in the store".into())
    } else if asked {
        Some("--encrypt".into())
    } else if let Some(rule) = vault.rules.matching_rule(target) {
        Some(format!("matches the secret rule `{rule}`"))
    } else {
        crate::secrets::scan_content(data).map(|f| format!("holds a {f}"))
    }
}

/// The bytes the store keeps for `item` holding `data`: that content, or the content encrypted
/// to every recipient when it is secret (`entry.attrs.encrypted` is set accordingly, and why it
/// is secret comes back with the bytes). Encrypting needs the recipients only, never an
/// identity.
fn stored_bytes(
    vault: &Vault,
    item: &Item,
    data: &[u8],
    entry: &mut Entry,
    live: &Path,
    already: bool,
    asked: bool,
) -> Result<(zeroize::Zeroizing<Vec<u8>>, Option<String>), CaptureError> {
    if item.kind != NodeKind::File {
        return Ok((data.to_vec().into(), None));
    }
    let Some(why) = secret_reason(vault, &item.target, data, already, asked) else {
        return Ok((data.to_vec().into(), None));
    };
    entry.attrs.encrypted = true;
    let cipher = vault.encrypt(data).map_err(|reason| CaptureError::Encrypt {
        path: live.to_path_buf(),
        why: why.clone(),
        reason,
    })?;
    Ok((cipher.into(), Some(why)))
}

#[derive(Debug, Default, serde::Serialize)]
pub struct AddReport {
    pub added: Vec<String>,
    /// Paths passed over, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Modes the store cannot express exactly.
    pub mode_notes: Vec<String>,
    /// Added paths stored encrypted.
    pub encrypted: Vec<String>,
    /// What the store gained, by kind: the added paths, and the parent directories made to hold
    /// them.
    pub tally: crate::state::Tally,
}

/// Reads the live items under the given targets (the targets themselves first).
fn collect(
    ctx: &Context,
    state: &SourceState,
    targets: &[String],
    report: &mut AddReport,
) -> Result<Vec<Item>, CaptureError> {
    let mut items: Vec<Item> = Vec::new();
    for t in targets {
        let live = ctx.live(t);
        if t.is_empty() {
            return Err(CaptureError::Home { path: live });
        }
        if let Some(what) = ctx.own_place(&live) {
            return Err(CaptureError::OwnFile { path: live, what });
        }
        if let Some(rule) = state.only.skips(t, &ctx.device) {
            return Err(CaptureError::SkippedHere { target: t.clone(), rule, device: ctx.device.clone() });
        }
        let top = read_item(ctx, &live, t.clone())?;
        let is_dir = top.kind == NodeKind::Dir;
        items.push(top);
        if !is_dir {
            continue;
        }
        let mut walk = walkdir::WalkDir::new(&live).min_depth(1).sort_by_file_name().into_iter();
        while let Some(e) = walk.next() {
            let e = e.map_err(|e| {
                let path = e.path().unwrap_or(&live).to_path_buf();
                PathError::new(Op::Read, path, e.into_io_error().unwrap_or_else(|| io::Error::other("walk failed")))
            })?;
            let rel = e.path().strip_prefix(&live).expect("walk stays below its root");
            let rel = rel.to_str().ok_or_else(|| CaptureError::NonUtf8 { path: e.path().to_path_buf() })?;
            let target = managed::join(t, rel);
            let skip = if let Some(what) = ctx.own_place(e.path()) {
                Some(format!("in {what}, which dotback never tracks"))
            } else if state.ignore.is_ignored(&target) {
                Some("ignored by .chezmoiignore".to_string())
            } else {
                let rule = state.only.skips(&target, &ctx.device);
                rule.map(|rule| format!("limited to other devices by the `[[only]]` rule for {rule}"))
            };
            if let Some(why) = skip {
                if e.file_type().is_dir() {
                    walk.skip_current_dir();
                }
                report.skipped.push((target, why));
                continue;
            }
            match read_item(ctx, e.path(), target.clone()) {
                Err(CaptureError::Special { kind, .. }) => report.skipped.push((target, format!("a {kind}"))),
                other => items.push(other?),
            }
        }
    }
    items.sort_by(|a, b| a.target.cmp(&b.target));
    items.dedup_by(|a, b| a.target == b.target);
    Ok(items)
}

/// Source paths of directories, known and about to be created.
struct Dirs<'a> {
    state: &'a SourceState,
    created: HashMap<String, String>,
    /// Parent directories made in the store (not themselves added).
    parents: usize,
}

impl Dirs<'_> {
    /// The source path of target directory `dir`, creating it (and its parents) in the store
    /// from the live directories' modes when the store has none yet.
    fn source_of(&mut self, ctx: &Context, dir: &str) -> Result<String, CaptureError> {
        if dir.is_empty() {
            return Ok(String::new());
        }
        if let Some(s) = self.created.get(dir) {
            return Ok(s.clone());
        }
        if let Some(m) = self.state.get(dir) {
            if m.entry.kind != Kind::Dir {
                return Err(CaptureError::ParentIsFile { target: dir.to_string() });
            }
            return Ok(m.source.clone());
        }
        let parent = self.source_of(ctx, managed::parent_of(dir))?;
        let item = read_item(ctx, &ctx.live(dir), dir.to_string())?;
        let entry = item.entry(false);
        let name = source::encode(&entry).map_err(|source| CaptureError::Name { path: ctx.live(dir), source })?;
        let src = managed::join(&parent, &name);
        make_source_dir(&self.state.root.join(&src), entry.attrs.private)?;
        self.created.insert(dir.to_string(), src.clone());
        self.parents += 1;
        Ok(src)
    }
}

fn make_source_dir(path: &Path, private: bool) -> Result<(), CaptureError> {
    let mode = if private { 0o700 } else { 0o755 };
    match fs::DirBuilder::new().mode(mode).create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(source) => Err(PathError::new(Op::Write, path, source).into()),
    }
}

/// Writes one item into the store at `parent_src/encode(entry)`, replacing `old` (its previous
/// source path) when the name changed. Returns the new source path.
fn write_source(
    root: &Path,
    parent_src: &str,
    old: Option<&str>,
    entry: &Entry,
    data: &[u8],
    live: &Path,
) -> Result<String, CaptureError> {
    let name = source::encode(entry).map_err(|source| CaptureError::Name { path: live.to_path_buf(), source })?;
    let src = managed::join(parent_src, &name);
    let path = root.join(&src);
    if let Some(old) = old.filter(|o| *o != src) {
        let old_path = root.join(old);
        if entry.kind == Kind::Dir && old_path.is_dir() {
            fs::rename(&old_path, &path).context(Op::Write, &path)?;
        } else if old_path.is_dir() {
            fs::remove_dir_all(&old_path).context(Op::Write, &old_path)?;
        } else {
            fs::remove_file(&old_path).context(Op::Write, &old_path)?;
        }
    }
    match entry.kind {
        Kind::Dir => make_source_dir(&path, entry.attrs.private)?,
        _ => {
            let mode = if entry.attrs.private || entry.attrs.encrypted { 0o600 } else { 0o644 };
            fsutil::write_atomic_beneath(root, &path, data, mode).context(Op::Write, &path)?;
        }
    }
    Ok(src)
}

/// `dotback add`: track the given targets (files, directories, symlinks). Secret files are
/// encrypted to every recipient; a path already tracked with the same content and attributes
/// is left as it is (re-encrypting would only churn the history).
pub fn add(
    ctx: &Context,
    state: &SourceState,
    cache: &mut Cache,
    vault: &Vault,
    targets: &[String],
    opts: AddOptions,
    sink: &dyn crate::events::Sink,
) -> Result<AddReport, CaptureError> {
    let mut report = AddReport::default();
    let items = collect(ctx, state, targets, &mut report)?;
    let clean: HashSet<String> = eval::evaluate(ctx, state, cache, vault, &Selection::of(targets.to_vec()))?
        .into_iter()
        .filter(|e| e.change == Change::Clean)
        .map(|e| e.target)
        .collect();
    // Check and encrypt everything before the first write.
    let mut planned = Vec::with_capacity(items.len());
    for item in &items {
        let existing = state.get(&item.target);
        if let Some(m) = existing.filter(|m| !eval::handled_natively(m)) {
            return Err(CaptureError::Delegated { target: item.target.clone(), source_name: m.source.clone() });
        }
        let live = ctx.live(&item.target);
        let already = existing.is_some_and(|m| m.entry.attrs.encrypted);
        let mut entry = item.entry(opts.exact);
        let (bytes, _) = stored_bytes(vault, item, &item.data, &mut entry, &live, already, opts.encrypt)?;
        let name = source::encode(&entry).map_err(|source| CaptureError::Name { path: live, source })?;
        let unchanged = clean.contains(&item.target)
            && existing.is_some_and(|m| m.source.rsplit('/').next() == Some(name.as_str()));
        planned.push((item, entry, bytes, unchanged));
    }
    let mut dirs = Dirs { state, created: HashMap::new(), parents: 0 };
    let umask = fsutil::umask();
    let phase = crate::events::Phase::start(sink, "adding", planned.len());
    for (item, entry, bytes, unchanged) in planned {
        phase.step();
        let parent = dirs.source_of(ctx, managed::parent_of(&item.target))?;
        let existing = state.get(&item.target);
        let live = ctx.live(&item.target);
        if item.kind == NodeKind::Dir
            && let Some(m) = existing.filter(|m| m.entry.kind == Kind::Dir)
        {
            // A directory already tracked keeps its name (and so its children's paths).
            dirs.created.insert(item.target.clone(), m.source.clone());
            continue;
        }
        if !unchanged {
            let src = write_source(&state.root, &parent, existing.map(|m| m.source.as_str()), &entry, &bytes, &live)?;
            if item.kind == NodeKind::Dir {
                dirs.created.insert(item.target.clone(), src);
            }
            if entry.attrs.encrypted {
                cache.seal(fsutil::hash_bytes(&bytes), fsutil::hash_bytes(&item.data));
            }
        }
        let expressible = match item.kind {
            NodeKind::Dir => source::dir_mode(&entry.attrs, umask),
            NodeKind::File => source::file_mode(&entry.attrs, umask),
            NodeKind::Symlink => item.perm,
        };
        if expressible != item.perm {
            report.mode_notes.push(format!(
                "~/{} has mode {:04o}; the store records {:04o} (chezmoi attributes express owner-only, read-only and executable)",
                item.target, item.perm, expressible
            ));
        }
        cache.set_base(&item.target, Some(item.node()));
        if item.kind == NodeKind::File {
            cache.remember(Side::Live, &item.target, item.stat, fsutil::hash_bytes(&item.data));
        }
        if entry.attrs.encrypted {
            report.encrypted.push(item.target.clone());
        }
        report.added.push(item.target.clone());
        report.tally.count(item.kind);
    }
    report.tally.dirs += dirs.parents;
    let named_dirs: Vec<String> = items
        .iter()
        .filter(|i| i.kind == NodeKind::Dir && targets.contains(&i.target))
        .map(|i| i.target.clone())
        .collect();
    if let Err(e) = crate::state::record_added_dirs(&ctx.paths.state_dir, &named_dirs, true) {
        sink.warn(format!("{e}; `dotback watch` will not add new files below {}", named_dirs.join(", ")));
    }
    Ok(report)
}

/// `dotback forget`: stop tracking; the live files here stay as they are (other devices remove
/// their unchanged copies, as for any target the store drops). A path an `[[only]]` rule
/// keeps from this device (or a directory holding one) is refused: forgetting it here would
/// take it from the devices that do get it.
pub fn forget(
    ctx: &Context,
    state: &SourceState,
    cache: &mut Cache,
    targets: &[String],
) -> Result<Vec<String>, CaptureError> {
    let mut found = Vec::new();
    for t in targets {
        let m = state.get(t).ok_or_else(|| CaptureError::NotManaged { target: t.clone() })?;
        let below = state.entries.iter().filter(|e| eval::is_at_or_below(&e.target, t));
        for e in below {
            if let Some(rule) = state.only.skips(&e.target, &ctx.device) {
                return Err(CaptureError::SkippedHere { target: e.target.clone(), rule, device: ctx.device.clone() });
            }
        }
        found.push(m);
    }
    let mut forgotten = Vec::new();
    for m in found {
        let path = state.source_path(m);
        let res = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        match res {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {} // already gone with its parent
            Err(source) => return Err(PathError::new(Op::Write, path, source).into()),
        }
        for e in state.entries.iter().filter(|e| eval::is_at_or_below(&e.target, &m.target)) {
            cache.set_base(&e.target, None);
            forgotten.push(e.target.clone());
        }
    }
    crate::state::record_added_dirs(&ctx.paths.state_dir, targets, false)?;
    Ok(forgotten)
}

#[derive(Debug, Default, serde::Serialize)]
pub struct CaptureReport {
    pub captured: Vec<String>,
    /// Targets deleted in HOME whose deletion this capture recorded (removed from the store).
    pub deleted: Vec<String>,
    /// Deletions the guard held back, not recorded (more than [`Context::max_deletions`] or
    /// more than half of what is tracked; see [`guard_holds`]): the store keeps them, HOME
    /// stays as it is, and `--allow-deletions` records them.
    pub held_deletions: Vec<String>,
    /// Targets not captured, with the reason and what to do.
    pub refused: Vec<(String, String)>,
    /// Captured targets that were stored unencrypted until now and hold a secret: they are
    /// stored encrypted from now on (with why they are secret).
    pub now_secret: Vec<(String, String)>,
    /// Encrypted targets changed in HOME and in the store whose changes merged cleanly (a merge
    /// that waited for an identity): the store holds the merge, which apply writes to HOME.
    pub merged: Vec<String>,
    /// The store paths this capture wrote or removed.
    #[serde(skip)]
    pub store_paths: Vec<String>,
}

/// Whether deleting `files` of the `tracked` ones in one capture needs `--allow-deletions`:
/// more than `max` of them, or more than half of what is tracked (when that is more than one).
pub fn guard_holds(files: usize, tracked: usize, max: usize) -> bool {
    files > max || (files > 1 && 2 * files > tracked)
}

/// How the deletion guard weighs a capture: what is tracked in all (when the evaluations cover
/// only some targets), and whether the user allowed the deletions anyway.
#[derive(Clone, Copy, Debug)]
struct Guard {
    tracked: Option<usize>,
    allow_deletions: bool,
}

/// Counts for the deletion guard: files and symlinks only, since a directory's deletion
/// removes nothing its contents do not.
fn counted(e: &Eval) -> bool {
    e.desired.or(e.base).is_some_and(|n| n.kind != NodeKind::Dir)
}

/// The capture step of [`commit`]: copy every target changed only in HOME into the store, merge
/// an encrypted target changed on both sides whose base this device can still decrypt, and
/// remove every target deleted in HOME from it (unless the guard holds them).
fn capture(
    ctx: &Context,
    state: &SourceState,
    cache: &mut Cache,
    vault: &Vault,
    evals: &[Eval],
    guard: Guard,
    phase: &crate::events::Phase,
) -> Result<CaptureReport, CaptureError> {
    let Guard { tracked, allow_deletions } = guard;
    let mut report = CaptureReport::default();
    let deleted = evals.iter().filter(|e| e.change == Change::DeletedInHome);
    let files = deleted.clone().filter(|e| counted(e)).count();
    // Given when `evals` cover only some targets: the guard weighs against everything tracked.
    let tracked = tracked.unwrap_or_else(|| {
        evals.iter().filter(|e| e.entry.is_some() && e.change != Change::Skipped && counted(e)).count()
    });
    let hold = !allow_deletions && guard_holds(files, tracked, ctx.max_deletions);
    if hold {
        report.held_deletions = deleted.map(|e| e.target.clone()).collect();
    }
    // Deepest first, so renaming a directory for a mode change comes after its children.
    for e in evals.iter().rev() {
        let Some(m) = e.entry.map(|i| &state.entries[i]) else { continue };
        let both = "changed in both HOME and the store; compare with `dotback diff`, then keep HOME with `dotback add` or the store with `dotback apply --force`";
        // An encrypted target changed on both sides (while a merge waited for an identity, say)
        // merges when the version both last agreed on can be decrypted.
        let merge_base = match e.change {
            Change::DeletedInHome if !hold => {
                phase.step();
                // Looked at once more right before the store loses it: what the evaluation saw
                // missing may be back (put back meanwhile, or seen early: `Cache::prefetch_live`).
                let live = ctx.live(&e.target);
                if crate::fsutil::lstat(&live).context(Op::Read, &live)?.is_some() {
                    continue;
                }
                let path = state.source_path(m);
                let res = if m.entry.kind == Kind::Dir { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
                match res {
                    Err(source) if source.kind() != io::ErrorKind::NotFound => {
                        return Err(PathError::new(Op::Write, path, source).into());
                    }
                    _ => {} // gone already, with its directory
                }
                cache.set_base(&e.target, None);
                report.deleted.push(e.target.clone());
                report.store_paths.push(m.source.clone());
                continue;
            }
            Change::WaitingForIdentity => {
                report.refused.push((
                    e.target.clone(),
                    format!(
                        "it changed here and in the store, and merging the two needs an identity this device cannot use ({}); nothing is dropped meanwhile: HOME keeps its edit and the store its version, and once the identity works `dotback commit` or `dotback sync` merges them",
                        e.why.as_deref().unwrap_or("no identity")
                    ),
                ));
                continue;
            }
            Change::ChangedInBoth if m.entry.attrs.encrypted && m.entry.kind == Kind::File => {
                match e.base.and_then(|b| b.hash).and_then(|h| base_plaintext(ctx, cache, vault, h)) {
                    Some(base) => Some(base),
                    None => {
                        report.refused.push((e.target.clone(), both.into()));
                        continue;
                    }
                }
            }
            Change::ChangedInBoth => {
                report.refused.push((e.target.clone(), both.into()));
                continue;
            }
            Change::ChangedInHome => None,
            _ => continue,
        };
        phase.step();
        let live = ctx.live(&e.target);
        let item = match read_item(ctx, &live, e.target.clone()) {
            Err(err @ CaptureError::TooLarge { .. }) => {
                report.refused.push((
                    e.target.clone(),
                    format!("{err}; raise the setting, or list the file in .chezmoiignore and `dotback forget` it"),
                ));
                continue;
            }
            other => other?,
        };
        let want = match m.entry.kind {
            Kind::Dir => NodeKind::Dir,
            Kind::Symlink => NodeKind::Symlink,
            _ => NodeKind::File,
        };
        if item.kind != want {
            report.refused.push((
                e.target.clone(),
                format!(
                    "is now a {}, but the store has a {}; to track the new one run `dotback forget ~/{t}` then `dotback add ~/{t}`",
                    kind_name(item.kind),
                    kind_name(want),
                    t = e.target
                ),
            ));
            continue;
        }
        let merged = match &merge_base {
            None => None,
            Some(base) => match merge_with_store(state, vault, m, base, &item.data) {
                Some(merged) => Some(merged),
                None => {
                    report.refused.push((e.target.clone(), both.into()));
                    continue;
                }
            },
        };
        let data = merged.as_ref().unwrap_or(&item.data);
        let mut entry = item.entry(m.entry.attrs.exact);
        let (bytes, secret) = stored_bytes(vault, &item, data, &mut entry, &live, m.entry.attrs.encrypted, false)?;
        let parent_src = managed::parent_of(&m.source);
        let written = write_source(&state.root, parent_src, Some(&m.source), &entry, &bytes, &live)?;
        report.store_paths.push(m.source.clone());
        if written != m.source {
            report.store_paths.push(written);
        }
        if entry.attrs.encrypted {
            cache.seal(fsutil::hash_bytes(&bytes), fsutil::hash_bytes(data));
        }
        // HOME's version is what both now agree on; a merge differing from it is applied next.
        cache.set_base(&e.target, Some(item.node()));
        if let Some(why) = secret.filter(|_| !m.entry.attrs.encrypted) {
            report.now_secret.push((e.target.clone(), why));
        }
        if merged.is_some() {
            report.merged.push(e.target.clone());
        }
        report.captured.push(e.target.clone());
    }
    report.captured.reverse();
    report.deleted.reverse();
    report.refused.reverse();
    report.now_secret.reverse();
    report.merged.reverse();
    Ok(report)
}

/// The plaintext hashing to `base` (what HOME and the store last agreed on), from a ciphertext
/// this device saw holding it that is still in the store's history.
fn base_plaintext(
    ctx: &Context,
    cache: &Cache,
    vault: &Vault,
    base: fsutil::Hash,
) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let store = crate::store::Store::open(&ctx.store).ok()?;
    cache.ciphers_of(base).find_map(|cipher| {
        let plain = vault.decrypt(&store.blob(cipher).ok()?).ok()?;
        (fsutil::hash_bytes(&plain) == base).then_some(plain)
    })
}

/// The three-way text merge of `base`, HOME's `live` and the store's version of `m`, when it is
/// clean; `None` for overlapping changes, text that is not mergeable, or a store file this
/// device cannot decrypt.
fn merge_with_store(
    state: &SourceState,
    vault: &Vault,
    m: &managed::Managed,
    base: &[u8],
    live: &[u8],
) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    use crate::merge::text::{self, Labels, TextMerge};
    let theirs = vault.decrypt(&fs::read(state.source_path(m)).ok()?).ok()?;
    if ![base, live, &theirs].iter().all(|d| text::is_mergeable_text(d)) {
        return None;
    }
    let s = |d: &[u8]| std::str::from_utf8(d).ok().map(str::to_owned).map(zeroize::Zeroizing::new);
    let (b, o, t) = (s(base)?, s(live)?, s(&theirs)?);
    match text::merge(&b, &o, &t, Labels { ours: "HOME", base: "base", theirs: "store" }) {
        TextMerge::Clean(merged) => Some(zeroize::Zeroizing::new(merged.into_bytes())),
        TextMerge::Conflict { with_markers, .. } => {
            drop(zeroize::Zeroizing::new(with_markers));
            None
        }
    }
}

fn kind_name(k: NodeKind) -> &'static str {
    match k {
        NodeKind::File => "file",
        NodeKind::Dir => "directory",
        NodeKind::Symlink => "symlink",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Eval(#[from] eval::EvalError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// The pre-commit guard found plaintext secrets staged; nothing was committed.
    #[error(
        "refusing to commit: {} staged file{} would put a secret into git in plaintext",
        found.len(),
        if found.len() == 1 { "" } else { "s" }
    )]
    PlaintextSecret { found: Vec<crate::guard::Violation> },
    /// Writing a merged target back to HOME failed (the merge is committed; `dotback apply`
    /// writes it).
    #[error(transparent)]
    ApplyAll(#[from] crate::apply::ApplyError),
    #[error("the merge of ~/{target} was committed but could not be written to HOME")]
    Apply {
        target: String,
        #[source]
        source: Box<crate::apply::ApplyError>,
    },
}

/// What [`commit`] did.
#[derive(Debug, Default)]
pub struct Committed {
    /// The new commit, if one was made.
    pub commit: Option<String>,
    /// The store paths it records.
    pub paths: usize,
    pub captured: CaptureReport,
    /// The store has changes HOME does not (an earlier run was interrupted before it applied
    /// them, or the store was changed directly): applying has something to do.
    pub home_behind: bool,
}

/// Options for [`commit`].
#[derive(Clone, Debug, Default)]
pub struct CommitOptions {
    /// Replaces the first line of the commit message.
    pub message: Option<String>,
    /// Record deletions in HOME even when the deletion guard would hold them.
    pub allow_deletions: bool,
    /// Only these targets (and what is below them); all by default. The watcher passes what
    /// changed, so an edit costs no scan of everything else. The deletion guard still weighs
    /// deletions against everything tracked.
    pub selection: Selection,
}

/// Captures what changed in HOME (deletions included, unless the guard holds them), checks
/// nothing secret is staged in plaintext, and commits everything in the store with a message
/// naming the device and the paths.
pub fn commit(
    s: &mut crate::session::Session,
    opts: &CommitOptions,
    sink: &dyn crate::events::Sink,
) -> Result<Committed, CommitError> {
    // git's side of the store (index, HEAD's tree) is read meanwhile, on another thread, for
    // the case where nothing is captured.
    let root = s.ctx.store.clone();
    let p = s.parts();
    let sel = &opts.selection;
    // For a selection, git looks at just its paths below: no snapshot is needed.
    let (evals, git) = std::thread::scope(|scope| {
        let git = sel.is_all().then(|| {
            scope.spawn(|| {
                crate::store::Store::open(&root).map(|store| {
                    let snap = store.snapshot();
                    (store, snap)
                })
            })
        });
        let evals = eval::evaluate(p.ctx, p.state, p.cache, p.vault, sel);
        (evals, git.map(|g| g.join().expect("git thread panicked")))
    });
    let evals = evals?;
    let evals: Vec<Eval> =
        if sel.is_all() { evals } else { evals.into_iter().filter(|e| sel.touches(&e.target)).collect() };
    let tracked =
        (!sel.is_all()).then(|| p.state.entries.iter().filter(|m| m.is_native() && m.entry.kind != Kind::Dir).count());
    let phase = crate::events::Phase::start(
        sink,
        "capturing",
        evals.iter().filter(|e| matches!(e.change, Change::ChangedInHome | Change::DeletedInHome)).count(),
    );
    let captured = capture(
        p.ctx,
        p.state,
        p.cache,
        p.vault,
        &evals,
        Guard { tracked, allow_deletions: opts.allow_deletions },
        &phase,
    )?;
    drop(phase);
    let home_behind = !captured.merged.is_empty()
        || evals.iter().any(|e| matches!(e.change, Change::ChangedInStore | Change::Missing | Change::NeverApplied));
    let (store, snap) = match git {
        Some(g) => {
            let (store, snap) = g?;
            (store, Some(snap))
        }
        None => (crate::store::Store::open(&s.ctx.store)?, None),
    };
    // Given a selection, git looks at just its store paths (what capture wrote or removed, the
    // selected entries as the store has them, and dotback's own files): a watcher's edit costs no
    // walk of the whole work tree.
    let limited: Option<Vec<String>> = (!sel.is_all()).then(|| {
        let mut paths: Vec<String> = evals
            .iter()
            .filter_map(|e| e.entry.map(|i| s.state.entries[i].source.clone()))
            .chain(captured.store_paths.iter().cloned())
            .chain([".dotback".to_string()])
            .collect();
        paths.sort();
        paths.dedup();
        paths
    });
    let changes = match (&limited, &s.state.files, snap) {
        (Some(paths), _, _) => store.uncommitted_at(paths)?,
        // Nothing captured: the store is as evaluated, which hashed every file in it, so git's
        // index is compared with that instead of walking the work tree again.
        (None, Some(files), Some(snap)) if captured.captured.is_empty() && captured.deleted.is_empty() => {
            store.uncommitted_with(&snap?, files, &s.cache.observed)?
        }
        _ => store.uncommitted()?,
    };
    if changes.is_empty() {
        // Nothing to stage or commit (the audit trail waits for a commit with something in it),
        // and no need for the two walks of the work tree staging would take.
        return Ok(Committed { commit: None, paths: 0, captured, home_behind });
    }
    let device = s.ctx.device.clone();
    let shown: Vec<String> = changes.iter().map(|u| display_path(&u.path)).collect();
    let subject = opts.message.clone().unwrap_or_else(|| {
        let mut names: Vec<&str> = Vec::new();
        for n in &shown {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
        let more = names.len().saturating_sub(3);
        let tail = if more > 0 { format!(" (+{more} more)") } else { String::new() };
        format!("{device}: update {}{tail}", names[..names.len().min(3)].join(", "))
    });
    let mut text = format!("{subject}\n\nDevice: {device}\n\n");
    for (u, shown) in changes.iter().zip(&shown) {
        text.push_str(&format!("{}: {shown}\n", u.change));
    }
    match &limited {
        Some(paths) => store.stage_at(paths)?,
        None => store.stage_all()?,
    }
    let found = crate::guard::check_staged(&store, s.rules())?;
    if !found.is_empty() {
        return Err(CommitError::PlaintextSecret { found });
    }
    let commit = store.commit_staged(&device, &text)?;
    // The bases capture recorded describe the commit now made: save them before anything else
    // changes the store, so a run killed later does not see HOME and the store both changed.
    s.cache.save()?;
    // A merge capture made is written back to HOME at once: left for a later apply, a new edit
    // meanwhile would meet a base no commit holds.
    if !captured.merged.is_empty() {
        let p = s.parts();
        let sel = Selection::of(captured.merged.clone());
        let evals = eval::evaluate(p.ctx, p.state, p.cache, p.vault, &sel)?;
        let evals: Vec<_> = evals.into_iter().filter(|e| sel.contains(&e.target)).collect();
        let actions = crate::apply::plan(&evals, crate::apply::PlanOptions::default());
        let written = crate::apply::execute(p.ctx, p.state, p.vault, &actions, p.cache, &|_| {});
        p.cache.save()?;
        let report = written?;
        if let Some((target, e)) = report.failed.into_iter().next() {
            return Err(CommitError::Apply { target, source: Box::new(e) });
        }
    }
    Ok(Committed { commit: commit.map(|c| c.to_string()), paths: changes.len(), captured, home_behind })
}

/// A store path shown as its target (`~/.zshrc`), or as itself when it has none.
pub fn display_path(source: &str) -> String {
    match managed::target_of_source(source) {
        Some(t) => format!("~/{t}"),
        None => source.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::guard_holds;

    #[test]
    fn the_deletion_guard_holds_many_or_most() {
        // (files deleted, files tracked, max_deletions, held)
        let cases = [
            (0, 10, 25, false),
            (1, 1, 25, false), // one deletion is never "most"
            (1, 100, 25, false),
            (2, 3, 25, true), // most of a small store
            (2, 4, 25, false),
            (3, 4, 25, true),
            (25, 1000, 25, false),
            (26, 1000, 25, true),
            (1, 10, 0, true), // max_deletions = 0: every deletion needs confirming
        ];
        for (files, tracked, max, held) in cases {
            assert_eq!(guard_holds(files, tracked, max), held, "{files} of {tracked}, max {max}");
        }
    }
}
