//! Settling the conflicts sync leaves (`dotback resolve`).
//!
//! A conflict is a target plus one or more conflict copies beside it, found by their names
//! ([`crate::merge::conflict`]): nothing else records them, so every device that has the
//! commit sees the same conflicts. Settling one writes the chosen content to the live file and
//! to the store (re-encrypted when the target is encrypted), removes the copies from HOME and
//! the store, and commits exactly those paths. Everything is read and checked before the first
//! write, and whatever is overwritten or removed in HOME is backed up first.
//!
//! The two versions belong to devices, not to places: the sync that could not merge keeps its
//! own device's version live and writes the other's into the copy, named after that device. So
//! on the device a copy is named after, its own edit is in the copy and the other device's is
//! live; everywhere else the live file is this device's version. [`choose`] settles in those
//! terms (`--ours` keeps this device's version wherever it sits), the same on every device.

use crate::context::Context;
use crate::error::{IoContext, Op, PathError};
use crate::fsutil;
use crate::managed::{self, Managed, SourceState};
use crate::merge::conflict;
use crate::merge::text::{self, Labels, TextMerge};
use crate::source::{self, Kind, OnDisk};
use crate::state::{Backups, Cache, Node, NodeKind, StateError};
use crate::store::{Store, StoreError};
use crate::vault::Vault;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("the store no longer tracks ~/{target}, so no version can be written to it")]
    NotManaged { target: String },
    #[error("~/{target} is a {what} in the store; only files can take --theirs or --merge")]
    NotAFile { target: String, what: &'static str },
    #[error("~/{target} is not text (binary, or not UTF-8), so it cannot be merged line by line")]
    Binary { target: String },
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("cannot decrypt {}: {why}", path.display())]
    Decrypt { path: PathBuf, why: String },
    #[error("cannot encrypt ~/{target}: {why}")]
    Encrypt { target: String, why: String },
    #[error("refusing to commit {path} in plaintext: it {why}")]
    Secret { path: String, why: String },
    #[error("~/{target} would be written through {}, which is not a directory inside HOME", via.display())]
    OutsideHome { target: String, via: PathBuf },
    #[error("~/{target} is in {what}, where dotback never writes")]
    OwnPlace { target: String, what: &'static str },
    #[error("the merge tool `{tool}` {how}; nothing was changed")]
    Tool { tool: String, how: String },
    #[error("the merged ~/{target} still has conflict markers; nothing was changed")]
    MarkersLeft { target: String },
    #[error("~/{target} has no conflict to resolve")]
    NoConflict { target: String, conflicts: usize },
    #[error("~/{target} has {} conflict copies; name the one to take:\n    {}", copies.len(), copies.iter().map(|(c, d)| format!("~/{c} ({d}'s version)")).collect::<Vec<_>>().join("\n    "))]
    SeveralCopies {
        target: String,
        /// The copies to choose from, with the device whose version each holds.
        copies: Vec<(String, String)>,
    },
    /// `--merge` has no editor to open.
    #[error(
        "no editor to merge in: $VISUAL, $EDITOR and git's core.editor are unset, and this is not a terminal; nothing was changed"
    )]
    NoEditor,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// One conflict copy and the target it is a copy of.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Conflict {
    /// The target in conflict (relative to HOME).
    pub path: String,
    /// The conflict copy's target (relative to HOME).
    pub copy: String,
    /// The conflict copy's path in the store (relative to the source root).
    pub source: String,
    /// The device whose version the copy holds.
    pub device: String,
    /// When sync made the copy: `YYYYmmdd-HHMMSS` (UTC), `-n` for a second one within a second.
    pub stamp: String,
    /// The copy holds this device's own version: its edit lost the merge on another device,
    /// which kept its own version live. Otherwise the live file is this device's version.
    pub holds_this_device: bool,
}

/// Where a version of a file in conflict sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The file itself (in HOME, or the store's version when HOME has none).
    Live,
    /// The conflict copy.
    Copy,
}

impl Conflict {
    /// Where this device's version sits (the other device's is in the other place).
    pub fn mine(&self) -> Place {
        if self.holds_this_device { Place::Copy } else { Place::Live }
    }

    /// Whose version is where, as a clause: "this device's version is in ~/COPY; ~/PATH has
    /// the other device's".
    pub fn describe(&self) -> String {
        if self.holds_this_device {
            format!(
                "this device's version is in ~/{}; ~/{} has the other device's (`--ours` takes this device's back)",
                self.copy, self.path
            )
        } else {
            format!("{}'s version is in ~/{}; ~/{} has this device's", self.device, self.copy, self.path)
        }
    }
}

/// Every conflict copy in the store, in tree order, as seen from `device`.
pub fn find(state: &SourceState, device: &str) -> Vec<Conflict> {
    state
        .entries
        .iter()
        .filter(|m| m.entry.kind != Kind::Dir)
        .filter_map(|m| {
            let leaf = m.target.rsplit('/').next()?;
            let c = conflict::parse(leaf)?;
            let dir = managed::parent_of(&m.target);
            let mut path = managed::join(dir, c.original);
            if state.get(&path).is_none() {
                // The copy of a long name carries a shortened one: it is the copy of the one
                // target here whose name starts with it.
                let mut longer = state.children_of(dir).filter(|o| {
                    let name = o.target.rsplit('/').next().unwrap_or_default();
                    name.starts_with(c.original) && !conflict::is_copy(&o.target)
                });
                if let (Some(o), None) = (longer.next(), longer.next()) {
                    path = o.target.clone();
                }
            }
            Some(Conflict {
                path,
                copy: m.target.clone(),
                source: m.source.clone(),
                device: c.device.to_string(),
                stamp: c.stamp.to_string(),
                holds_this_device: c.device == device,
            })
        })
        .collect()
}

/// How to settle a conflict, in terms of devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Keep this device's version (the live file, or the copy on the device it is named after).
    Ours,
    /// Take the other device's version.
    Theirs,
    /// Merge both, with the conflict markers settled in an editor.
    Merge,
}

/// What settling one target takes, worked out before anything is read or written.
#[derive(Debug)]
pub struct Resolution<'a> {
    /// The file in conflict.
    pub target: String,
    pub choice: Choice,
    /// The copies that go.
    pub copies: Vec<&'a Conflict>,
    /// The copy whose version becomes the file's (merged with the live file for
    /// [`Choice::Merge`]); `None` keeps the live file as it is.
    pub take: Option<&'a Conflict>,
}

impl Resolution<'_> {
    /// What was done, for messages and the commit: "kept this device's version (the live file)".
    /// `live_by` names the device whose version is live, when known.
    pub fn describe(&self, live_by: Option<&str>) -> String {
        let live_other = live_by.map_or("the other device's".to_string(), |d| format!("{d}'s"));
        match (self.choice, self.take) {
            (Choice::Ours, None) => "kept this device's version (the live file)".to_string(),
            (Choice::Ours, Some(c)) => format!("took this device's version back from ~/{}", c.copy),
            (Choice::Theirs, None) => format!("kept {live_other} version (the live file)"),
            (Choice::Theirs, Some(c)) => format!("took {}'s version from ~/{}", c.device, c.copy),
            (Choice::Merge, Some(c)) if c.holds_this_device => {
                format!("merged this device's version from ~/{} with {live_other}", c.copy)
            }
            (Choice::Merge, Some(c)) => format!("merged this device's version with {}'s", c.device),
            (Choice::Merge, None) => "merged".to_string(),
        }
    }
}

/// Which copies settling `named` (a file in conflict, or one of its copies) with `choice`
/// removes, and which one's version it takes. `--ours` with several copies drops them all (taking
/// back this device's version when one holds it); the other choices need one copy to be named
/// when the target has several, unless every copy holds this device's version (`--theirs` then
/// keeps the live file).
pub fn choose<'a>(all: &'a [Conflict], named: &str, choice: Choice) -> Result<Resolution<'a>, ResolveError> {
    let named_copy = all.iter().any(|c| c.copy == named);
    let copies: Vec<&Conflict> = all.iter().filter(|c| c.copy == named || (!named_copy && c.path == named)).collect();
    let Some(first) = copies.first() else {
        return Err(ResolveError::NoConflict { target: named.to_string(), conflicts: all.len() });
    };
    let target = first.path.clone();
    let (mine, others): (Vec<&Conflict>, Vec<&Conflict>) = copies.iter().partition(|c| c.holds_this_device);
    let several = |among: &[&Conflict]| ResolveError::SeveralCopies {
        target: target.clone(),
        copies: among.iter().map(|c| (c.copy.clone(), c.device.clone())).collect(),
    };
    let take = match choice {
        Choice::Ours => match mine.as_slice() {
            [] => None,
            [c] => Some(*c),
            _ => return Err(several(&mine)),
        },
        Choice::Theirs => match (mine.is_empty(), others.as_slice()) {
            (false, []) => None,
            (true, [c]) => Some(*c),
            _ => return Err(several(&copies)),
        },
        Choice::Merge => match copies.as_slice() {
            [c] => Some(*c),
            _ => return Err(several(&copies)),
        },
    };
    Ok(Resolution { target, choice, copies, take })
}

/// The device whose sync wrote the copy and kept its own version live, as its commit says.
pub fn live_by(store: &Store, state: &SourceState, c: &Conflict) -> Result<Option<String>, StoreError> {
    let Some(commit) = store.last_change(&[&repo_path(store, state, &c.source)])? else { return Ok(None) };
    Ok(conflict::device_of(&store.commit_message(commit)?).filter(|d| *d != c.device))
}

/// The store entry of the target in conflict, which must be a file dotback evaluates.
fn target_entry<'a>(state: &'a SourceState, target: &str) -> Result<&'a Managed, ResolveError> {
    let m = state.get(target).ok_or_else(|| ResolveError::NotManaged { target: target.to_string() })?;
    let what = match m.entry.kind {
        Kind::File if m.is_native() => return Ok(m),
        Kind::File => "template",
        Kind::Dir => "directory",
        Kind::Symlink => "symlink",
        _ => "chezmoi script or special entry",
    };
    Err(ResolveError::NotAFile { target: target.to_string(), what })
}

/// The content of a live regular file; `None` when there is none.
fn read_live(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, ResolveError> {
    match fsutil::lstat(path).context(Op::Read, path)? {
        Some(md) if md.is_file() => Ok(Some(Zeroizing::new(fs::read(path).context(Op::Read, path)?))),
        _ => Ok(None),
    }
}

/// The content a store entry gives its target (decrypted when it is encrypted).
fn store_content(vault: &Vault, state: &SourceState, m: &Managed) -> Result<Zeroizing<Vec<u8>>, ResolveError> {
    let path = state.source_path(m);
    let data = fs::read(&path).context(Op::Read, &path)?;
    if !m.entry.attrs.encrypted {
        return Ok(Zeroizing::new(data));
    }
    vault.decrypt(&data).map_err(|why| ResolveError::Decrypt { path, why })
}

/// The version in `place`: the live file (or the store's version when HOME has no file there),
/// or the copy (edits made to it in HOME count; the store's copy when HOME has none).
pub fn version(
    ctx: &Context,
    state: &SourceState,
    vault: &Vault,
    c: &Conflict,
    place: Place,
) -> Result<Zeroizing<Vec<u8>>, ResolveError> {
    let (target, m) = match place {
        Place::Live => (&c.path, target_entry(state, &c.path)?),
        Place::Copy => (&c.copy, state.get(&c.copy).expect("conflicts come from the scanned store")),
    };
    match read_live(&ctx.live(target))? {
        Some(data) => Ok(data),
        None => store_content(vault, state, m),
    }
}

/// A store path (relative to the source root) as a path in the git repository.
pub fn repo_path(store: &Store, state: &SourceState, source: &str) -> String {
    match state.root.strip_prefix(&store.root) {
        Ok(prefix) if !prefix.as_os_str().is_empty() => managed::join(&prefix.to_string_lossy(), source),
        _ => source.to_string(),
    }
}

fn git_err<'a>(store: &'a Store, what: &'static str) -> impl FnOnce(git2::Error) -> StoreError + 'a {
    move |source| StoreError::Git { what, path: store.root.clone(), source }
}

/// The version both sides started from: the target in the merge base of the merge commit that
/// added the copy. Empty when history does not tell (the copy was made by hand, or the base
/// had no such file, or this device cannot decrypt it).
pub fn base(
    store: &Store,
    state: &SourceState,
    vault: &Vault,
    c: &Conflict,
) -> Result<Zeroizing<Vec<u8>>, ResolveError> {
    let empty = Zeroizing::new(Vec::new());
    let Some(head) = store.head_commit()? else { return Ok(empty) };
    let copy_path = repo_path(store, state, &c.source);
    let has = |commit: &git2::Commit| commit.tree().is_ok_and(|t| t.get_path(Path::new(&copy_path)).is_ok());
    let repo = &store.repo;
    let mut walk = repo.revwalk().map_err(git_err(store, "log"))?;
    walk.push(head).map_err(git_err(store, "log"))?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL).map_err(git_err(store, "log"))?;
    let mut added = None;
    for id in walk {
        let commit = repo.find_commit(id.map_err(git_err(store, "log"))?).map_err(git_err(store, "read commit"))?;
        if has(&commit) && commit.parents().all(|p| !has(&p)) {
            added = Some(commit);
            break;
        }
    }
    let Some(merge) = added.filter(|m| m.parent_count() == 2) else { return Ok(empty) };
    let (p0, p1) = (merge.parent_id(0), merge.parent_id(1));
    let (Ok(p0), Ok(p1)) = (p0, p1) else { return Ok(empty) };
    let Some(base) = store.merge_base(p0, p1)? else { return Ok(empty) };
    let prefix = repo_path(store, state, "");
    for (path, (id, _)) in store.commit_files(base)? {
        let Some(source) = path.strip_prefix(&prefix) else { continue };
        if managed::target_of_source(source).as_deref() != Some(c.path.as_str()) {
            continue;
        }
        let data = store.blob(id)?;
        let leaf = source.rsplit('/').next().unwrap_or(source);
        let encrypted = matches!(source::decode(leaf, OnDisk::File), Ok(Some(e)) if e.attrs.encrypted);
        if !encrypted {
            return Ok(Zeroizing::new(data));
        }
        return Ok(vault.decrypt(&data).unwrap_or(empty));
    }
    Ok(empty)
}

/// The three-way merge of base, ours and theirs as `git merge-file --diff3` writes it: with
/// conflict markers where they differ (or the clean result when they no longer conflict).
pub fn marked_up(
    target: &str,
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    labels: Labels<'_>,
) -> Result<Zeroizing<String>, ResolveError> {
    fn text<'d>(target: &str, d: &'d [u8]) -> Result<&'d str, ResolveError> {
        let binary = || ResolveError::Binary { target: target.to_string() };
        if !text::is_mergeable_text(d) {
            return Err(binary());
        }
        std::str::from_utf8(d).map_err(|_| binary())
    }
    let (b, o, t) = (text(target, base)?, text(target, ours)?, text(target, theirs)?);
    Ok(Zeroizing::new(match text::merge(b, o, t, labels) {
        TextMerge::Clean(m) => m,
        TextMerge::Conflict { with_markers, .. } => with_markers,
    }))
}

/// Who settles the markers.
#[derive(Clone, Debug)]
pub enum Tool {
    /// An editor command (shell words, as git runs `core.editor`), given the file to edit.
    Editor(String),
    /// git's `mergetool.<name>.cmd`, run by the shell with `$BASE`, `$LOCAL`, `$REMOTE` and
    /// `$MERGED` set to files.
    MergeTool { name: String, cmd: String },
}

impl Tool {
    pub fn name(&self) -> &str {
        match self {
            Tool::Editor(e) => e,
            Tool::MergeTool { name, .. } => name,
        }
    }
}

/// A private temporary file beside a live file, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    /// Creates `dir/<name>` 0600 (never more open) with `data`.
    fn create(dir: &Path, name: &str, data: &[u8]) -> Result<TempFile, ResolveError> {
        let path = dir.join(name);
        let mut f =
            fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).context(Op::Write, &path)?;
        let file = TempFile(path.clone());
        f.write_all(data).context(Op::Write, &path)?;
        Ok(file)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The live directory `target` lives in, refused unless it is a real directory inside HOME and
/// `target` is not in one of dotback's own places or a git directory.
fn live_dir(ctx: &Context, target: &str) -> Result<PathBuf, ResolveError> {
    let live = ctx.live(target);
    let parent = live.parent().unwrap_or(&ctx.paths.home).to_path_buf();
    match parent.canonicalize() {
        Ok(p) if p.starts_with(&ctx.home_canon) && p.is_dir() => {
            let what = ctx.own_place(&live).or_else(|| ctx.own_place(&p.join(live.file_name().unwrap_or_default())));
            match what {
                Some(what) => Err(ResolveError::OwnPlace { target: target.to_string(), what }),
                None => Ok(p),
            }
        }
        _ => Err(ResolveError::OutsideHome { target: target.to_string(), via: parent }),
    }
}

/// Puts `marked` in a private temporary file beside the live file, lets `tool` settle it, and
/// returns the result: only when the tool exits 0 and no conflict marker is left. The temporary
/// files are removed in every case.
pub fn edit(
    ctx: &Context,
    target: &str,
    marked: &str,
    sides: [&[u8]; 3],
    tool: &Tool,
) -> Result<Zeroizing<Vec<u8>>, ResolveError> {
    let dir = live_dir(ctx, target)?;
    let leaf = target.rsplit('/').next().unwrap_or(target);
    let pid = std::process::id();
    // Named so that recovery removes them when this process is killed meanwhile.
    let name = |side| crate::recover::merge_file_name(leaf, side, pid);
    let merged = TempFile::create(&dir, &name("merge"), marked.as_bytes())?;
    let mut cmd = std::process::Command::new("sh");
    let mut _inputs = Vec::new();
    match tool {
        Tool::Editor(editor) => {
            cmd.arg("-c").arg(format!("{editor} \"$@\"")).arg(editor).arg(&merged.0);
        }
        Tool::MergeTool { cmd: script, .. } => {
            for (var, side, data) in
                [("BASE", "BASE", sides[0]), ("LOCAL", "LOCAL", sides[1]), ("REMOTE", "REMOTE", sides[2])]
            {
                let f = TempFile::create(&dir, &name(side), data)?;
                cmd.env(var, &f.0);
                _inputs.push(f);
            }
            cmd.env("MERGED", &merged.0).arg("-c").arg(script).current_dir(&dir);
        }
    }
    let status = cmd
        .status()
        .map_err(|e| ResolveError::Tool { tool: tool.name().to_string(), how: format!("could not start: {e}") })?;
    if !status.success() {
        let how = match status.code() {
            Some(code) => format!("exited with status {code}"),
            None => "was killed by a signal".to_string(),
        };
        return Err(ResolveError::Tool { tool: tool.name().to_string(), how });
    }
    let result = match fs::read(&merged.0) {
        Ok(d) => Zeroizing::new(d),
        Err(e) => {
            return Err(ResolveError::Tool {
                tool: tool.name().to_string(),
                how: format!("left no merged file ({e})"),
            });
        }
    };
    if std::str::from_utf8(&result).is_ok_and(conflict::has_markers) {
        return Err(ResolveError::MarkersLeft { target: target.to_string() });
    }
    Ok(result)
}

/// What [`settle`] did.
#[derive(Debug, Default)]
pub struct Settled {
    pub commit: Option<String>,
    /// Where what was overwritten or removed in HOME was saved.
    pub backup_dir: Option<PathBuf>,
    /// The conflict copies removed (targets).
    pub removed: Vec<String>,
}

/// Settles the conflicts in `copies` (all copies of one target): writes `content` to the target
/// (live and in the store) when given, removes the copies from HOME and the store, and commits
/// those paths with a message naming the device, the target and `how`.
#[allow(clippy::too_many_arguments)]
pub fn settle(
    ctx: &Context,
    state: &SourceState,
    cache: &mut Cache,
    vault: &Vault,
    store: &Store,
    copies: &[&Conflict],
    content: Option<&[u8]>,
    how: &str,
) -> Result<Settled, ResolveError> {
    let target = copies.first().map(|c| c.path.clone()).unwrap_or_default();
    debug_assert!(copies.iter().all(|c| c.path == target), "one target at a time");
    // Check and prepare everything before the first write.
    let mut write = None;
    if let Some(content) = content {
        let m = target_entry(state, &target)?;
        live_dir(ctx, &target)?;
        let live = ctx.live(&target);
        if fsutil::lstat(&live).context(Op::Read, &live)?.is_some_and(|md| md.is_dir()) {
            return Err(ResolveError::NotAFile { target: target.clone(), what: "directory in HOME" });
        }
        let stored: Zeroizing<Vec<u8>> = if m.entry.attrs.encrypted {
            Zeroizing::new(vault.encrypt(content).map_err(|why| ResolveError::Encrypt { target: target.clone(), why })?)
        } else {
            Zeroizing::new(content.to_vec())
        };
        let path = repo_path(store, state, &m.source);
        if let Some(v) = crate::guard::check(&path, &stored, &vault.rules) {
            return Err(ResolveError::Secret { path: v.path, why: v.why });
        }
        write = Some((m, stored, path));
    }
    for c in copies {
        live_dir(ctx, &c.copy)?;
    }

    let mut backups = Backups::new(&ctx.paths.state_dir, ctx.backups_keep);
    let mut index = store.repo.index().map_err(git_err(store, "index"))?;
    if let (Some((m, stored, path)), Some(content)) = (&write, content) {
        let live = ctx.live(&target);
        if fsutil::lstat(&live).context(Op::Read, &live)?.is_some() {
            backups.save(&live, &target)?;
        }
        let src = state.source_path(m);
        let store_mode = if m.entry.attrs.private || m.entry.attrs.encrypted { 0o600 } else { 0o644 };
        fsutil::write_atomic_beneath(&state.root, &src, stored, store_mode).context(Op::Write, &src)?;
        let perm = source::file_mode(&m.entry.attrs, fsutil::umask());
        fsutil::write_atomic(&live, content, perm).context(Op::Write, &live)?;
        cache.set_base(&target, Some(Node { kind: NodeKind::File, hash: Some(fsutil::hash_bytes(content)), perm }));
        index.add_path(Path::new(path)).map_err(git_err(store, "stage"))?;
    }
    let mut removed = Vec::new();
    for c in copies {
        let live = ctx.live(&c.copy);
        let current = fsutil::lstat(&live).context(Op::Read, &live)?;
        if let Some(md) = current {
            backups.save(&live, &c.copy)?;
            let res = if md.is_dir() { fs::remove_dir_all(&live) } else { fs::remove_file(&live) };
            res.context(Op::Write, &live)?;
        }
        let src = state.root.join(&c.source);
        match fs::remove_file(&src) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(PathError::new(Op::Write, src, e).into());
            }
            _ => {}
        }
        cache.set_base(&c.copy, None);
        index.remove_path(Path::new(&repo_path(store, state, &c.source))).map_err(git_err(store, "stage"))?;
        removed.push(c.copy.clone());
    }
    index.write().map_err(git_err(store, "write index"))?;
    fsutil::sync_fs(&ctx.paths.home).context(Op::Write, &ctx.paths.home)?;

    let device = &ctx.device;
    let mut message = format!("{device}: resolve ~/{target} ({how})\n\nDevice: {device}\n\n");
    if let Some((_, _, path)) = &write {
        message.push_str(&format!("modified: {path}\n"));
    }
    for c in copies {
        message.push_str(&format!("deleted: {}\n", repo_path(store, state, &c.source)));
    }
    let commit = store.commit_staged(device, &message)?;
    Ok(Settled { commit: commit.map(|c| c.to_string()), backup_dir: backups.dir().map(Path::to_path_buf), removed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(device: &str, n: u8, mine: bool) -> Conflict {
        let stamp = format!("20261122-10150{n}");
        Conflict {
            path: ".zshrc".into(),
            copy: format!(".zshrc.dotback-conflict-{device}-{stamp}"),
            source: format!("dot_zshrc.dotback-conflict-{device}-{stamp}"),
            device: device.into(),
            stamp,
            holds_this_device: mine,
        }
    }

    fn picked(r: &Resolution) -> (Option<String>, Vec<String>) {
        (r.take.map(|c| c.device.clone()), r.copies.iter().map(|c| c.device.clone()).collect())
    }

    #[test]
    fn ours_and_theirs_follow_the_devices_not_the_places() {
        // On the device that merged: its version is live, the other's in the copy.
        let there = [copy("a", 1, false)];
        let r = choose(&there, ".zshrc", Choice::Ours).unwrap();
        assert_eq!(picked(&r), (None, vec!["a".into()]));
        assert_eq!(r.describe(None), "kept this device's version (the live file)");
        let r = choose(&there, &there[0].copy, Choice::Theirs).unwrap();
        assert_eq!(picked(&r), (Some("a".into()), vec!["a".into()]), "named by the copy's path");
        assert!(r.describe(None).starts_with("took a's version from ~/.zshrc.dotback-conflict-a-"));

        // On the device the copy is named after: its own version is in the copy.
        let here = [copy("a", 1, true)];
        let r = choose(&here, ".zshrc", Choice::Ours).unwrap();
        assert_eq!(picked(&r), (Some("a".into()), vec!["a".into()]));
        assert!(r.describe(None).starts_with("took this device's version back from ~/"));
        let r = choose(&here, ".zshrc", Choice::Theirs).unwrap();
        assert_eq!(picked(&r), (None, vec!["a".into()]));
        assert_eq!(r.describe(Some("b")), "kept b's version (the live file)");
        assert_eq!(r.describe(None), "kept the other device's version (the live file)");
        let r = choose(&here, ".zshrc", Choice::Merge).unwrap();
        assert!(r.describe(Some("b")).ends_with("with b's"), "{}", r.describe(Some("b")));
    }

    #[test]
    fn several_copies_need_one_named_unless_the_choice_is_clear() {
        let two = [copy("a", 1, false), copy("c", 2, false)];
        let r = choose(&two, ".zshrc", Choice::Ours).unwrap();
        assert_eq!(picked(&r), (None, vec!["a".into(), "c".into()]), "--ours drops them all");
        for choice in [Choice::Theirs, Choice::Merge] {
            match choose(&two, ".zshrc", choice) {
                Err(ResolveError::SeveralCopies { copies, .. }) => assert_eq!(copies.len(), 2),
                other => panic!("{choice:?}: {other:?}"),
            }
        }
        let r = choose(&two, &two[1].copy, Choice::Theirs).unwrap();
        assert_eq!(picked(&r), (Some("c".into()), vec!["c".into()]), "only the named copy goes");

        // One copy holds this device's version: --ours takes it and drops the rest.
        let mixed = [copy("a", 1, true), copy("c", 2, false)];
        let r = choose(&mixed, ".zshrc", Choice::Ours).unwrap();
        assert_eq!(picked(&r), (Some("a".into()), vec!["a".into(), "c".into()]));
        assert!(matches!(choose(&mixed, ".zshrc", Choice::Theirs), Err(ResolveError::SeveralCopies { .. })));
        // Every copy holds this device's version: --theirs keeps the live file.
        let mine = [copy("a", 1, true), copy("a", 2, true)];
        assert_eq!(picked(&choose(&mine, ".zshrc", Choice::Theirs).unwrap()), (None, vec!["a".into(), "a".into()]));
        assert!(matches!(choose(&mine, ".zshrc", Choice::Ours), Err(ResolveError::SeveralCopies { .. })));

        assert!(matches!(choose(&two, ".bashrc", Choice::Ours), Err(ResolveError::NoConflict { conflicts: 2, .. })));
    }
}

/// How `--merge` reaches an editor: the environment's variables and whether a terminal is there.
pub struct EditorEnv<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub terminal: bool,
}

/// What settles the markers: git's merge.tool when it has a `mergetool.<tool>.cmd`, else
/// $VISUAL, $EDITOR or git's core.editor, else vi on a terminal.
pub fn merge_tool(store: &Store, env: &EditorEnv) -> Result<Tool, ResolveError> {
    let config = store.repo.config().ok();
    let get = |key: &str| {
        config.as_ref().and_then(|c| c.get_string(key).ok()).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    };
    if let Some(name) = get("merge.tool")
        && let Some(cmd) = get(&format!("mergetool.{name}.cmd"))
    {
        return Ok(Tool::MergeTool { name, cmd });
    }
    let var = |k: &str| (env.var)(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    if let Some(editor) = var("VISUAL").or_else(|| var("EDITOR")).or_else(|| get("core.editor")) {
        return Ok(Tool::Editor(editor));
    }
    let dumb = var("TERM").is_none_or(|t| t == "dumb");
    if !dumb && env.terminal {
        return Ok(Tool::Editor("vi".to_string()));
    }
    Err(ResolveError::NoEditor)
}

/// What [`run`] did.
#[derive(Debug)]
pub struct Resolved {
    /// The target settled.
    pub target: String,
    /// How, in words ("kept this device's version (the live file)").
    pub how: String,
    pub settled: Settled,
}

/// `dotback resolve PATH --ours|--theirs|--merge`: settles the conflict of `target` (the file or
/// one of its copies) as `choice` says, and commits. `--merge` opens an editor on the three-way
/// merge with markers (the sink hears that it waits for it).
pub fn run(
    s: &mut crate::session::Session,
    target: &str,
    choice: Choice,
    editor: &EditorEnv,
    sink: &dyn crate::events::Sink,
) -> Result<Resolved, ResolveError> {
    let all = find(&s.state, &s.ctx.device);
    let r = choose(&all, target, choice)?;
    let store = Store::open(&s.ctx.store)?;
    let live_by = match r.copies.first() {
        Some(c) if c.holds_this_device => live_by(&store, &s.state, c)?,
        _ => None,
    };
    let how = r.describe(live_by.as_deref());
    let p = s.parts();
    let content = match (choice, r.take) {
        (_, None) => None,
        (Choice::Merge, Some(c)) => {
            let (mine, other) = match c.mine() {
                Place::Live => (Place::Live, Place::Copy),
                Place::Copy => (Place::Copy, Place::Live),
            };
            let ours = version(p.ctx, p.state, p.vault, c, mine)?;
            let theirs = version(p.ctx, p.state, p.vault, c, other)?;
            let base = base(&store, p.state, p.vault, c)?;
            let at = |p: Place| if p == Place::Live { &c.path } else { &c.copy };
            let other_device =
                if c.holds_this_device { live_by.as_deref().unwrap_or("the other device") } else { &c.device };
            let ours_label = format!("~/{} (this device)", at(mine));
            let theirs_label = format!("~/{} ({other_device})", at(other));
            let labels = crate::merge::text::Labels { ours: &ours_label, base: "base", theirs: &theirs_label };
            let marked = marked_up(&c.path, &base, &ours, &theirs, labels)?;
            let tool = merge_tool(&store, editor)?;
            sink.news(format!("Waiting for `{}` to settle ~/{}...", tool.name(), c.path));
            Some(edit(p.ctx, &c.path, &marked, [&base, &ours, &theirs], &tool)?)
        }
        (_, Some(c)) => Some(version(p.ctx, p.state, p.vault, c, Place::Copy)?),
    };
    let settled =
        settle(p.ctx, p.state, p.cache, p.vault, &store, &r.copies, content.as_deref().map(|c| &c[..]), &how)?;
    Ok(Resolved { target: r.target.clone(), how, settled })
}
