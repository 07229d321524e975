//! Desired (the store), actual (HOME) and base (what both last agreed on) for every target.
//!
//! Evaluation only reads: it serves status, diff, capture and apply alike. Apply turns its
//! result into a plan ([`crate::apply::plan`]); capture records what changed in HOME.

use crate::context::Context;
use crate::error::{IoContext, Op, PathError};
use crate::fsutil::{self, Hash};
use crate::managed::{self, Managed, Origin, SourceState};
use crate::source::{self, Kind};
use crate::state::{Cache, Hint, Node, NodeKind, Observed, Side, StateError};
use crate::vault::Vault;
use serde::Serialize;
use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("symlink entry {} holds a link target that is not valid UTF-8", path.display())]
    BadLink { path: PathBuf },
    #[error(transparent)]
    State(#[from] StateError),
}

/// How a target differs between HOME and the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Same in both.
    Clean,
    /// Edited in HOME since dotback last applied or captured it.
    ChangedInHome,
    /// Changed in the store since dotback last applied or captured it.
    ChangedInStore,
    /// Changed on both sides (or, never applied here, a different kind of thing in HOME).
    ChangedInBoth,
    /// In HOME, different from the store, and never applied or captured on this device (a
    /// distro's default file, a directory made with another mode): apply writes the store's
    /// version (after a backup); capture leaves it alone, since HOME did not change it.
    NeverApplied,
    /// In the store, absent from HOME.
    Missing,
    /// Deleted in HOME since dotback last applied or captured it, and unchanged in the store:
    /// capture records the deletion, `dotback apply` restores it.
    DeletedInHome,
    /// In HOME inside an `exact_` directory, absent from the store: apply removes it.
    Extra,
    /// Encrypted in the store, and this device has no identity that decrypts it.
    Locked,
    /// Encrypted, changed in HOME, and the store's version changed too (or could not be told
    /// from the base without decrypting it): the merge waits for an identity that decrypts it.
    /// Nothing is dropped meanwhile; once the identity works, commit or sync merges them.
    WaitingForIdentity,
    /// Edited in HOME while apply ran (after it was read): left for the next capture.
    ChangedMeanwhile,
    /// Limited to other devices by an `[[only]]` rule: not applied, captured or removed here,
    /// and whatever is live at its path is not read.
    Skipped,
    /// Refused by this device, neither applied nor captured (`Eval::why` says why): it is in one
    /// of dotback's own places or would replace one, or it holds age ciphertext under a name
    /// that is not `encrypted_`.
    Refused,
}

impl Change {
    /// Applying it writes the store's version into HOME or removes what the store dropped
    /// (a change in both sides only with `--force`).
    pub fn writes(self) -> bool {
        matches!(
            self,
            Change::Missing
                | Change::DeletedInHome
                | Change::ChangedInStore
                | Change::ChangedInBoth
                | Change::NeverApplied
        )
    }

    pub fn describe(self) -> &'static str {
        match self {
            Change::Clean => "clean",
            Change::ChangedInHome => "changed in HOME",
            Change::ChangedInStore => "changed in the store",
            Change::ChangedInBoth => "changed in both",
            Change::NeverApplied => "differs, never applied on this device",
            Change::Missing => "missing from HOME",
            Change::DeletedInHome => {
                "deleted in HOME (`dotback commit` records the deletion; `dotback apply` restores it)"
            }
            Change::Extra => "not in the store (exact directory)",
            Change::Locked => "encrypted, and no identity here decrypts it",
            Change::WaitingForIdentity => {
                "changed in HOME and in the store; merging them waits for an identity that decrypts the store's version"
            }
            Change::ChangedMeanwhile => "changed in HOME while dotback ran; the next commit or sync captures it",
            Change::Skipped => "skipped on this device (selective sync)",
            Change::Refused => {
                "refused: the store entry would write into dotback's own places or age ciphertext as plain text"
            }
        }
    }
}

/// One evaluated target.
#[derive(Clone, Debug)]
pub struct Eval {
    pub target: String,
    /// Index into `SourceState::entries`; `None` for extras.
    pub entry: Option<usize>,
    pub desired: Option<Node>,
    pub actual: Option<Node>,
    pub base: Option<Node>,
    pub change: Change,
    /// The link target, for symlink entries that are not clean (apply writes it, diff shows it).
    pub link: Option<String>,
    /// Why it is [`Change::Locked`] or [`Change::WaitingForIdentity`] (an encrypted entry that
    /// could not be decrypted) or [`Change::Refused`].
    pub why: Option<String>,
}

/// Which targets an operation covers: all, or those at or below the given ones.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    roots: Vec<String>,
}

impl Selection {
    pub fn all() -> Selection {
        Selection::default()
    }
    pub fn of(roots: Vec<String>) -> Selection {
        Selection { roots }
    }
    pub fn is_all(&self) -> bool {
        self.roots.is_empty() || self.roots.iter().any(|r| r.is_empty())
    }
    pub fn roots(&self) -> &[String] {
        &self.roots
    }
    /// `target` is selected.
    pub fn contains(&self, target: &str) -> bool {
        self.is_all() || self.roots.iter().any(|r| is_at_or_below(target, r))
    }
    /// `target` is selected or is a directory a selected target lives in.
    pub fn touches(&self, target: &str) -> bool {
        self.contains(target) || self.roots.iter().any(|r| is_at_or_below(r, target))
    }
}

pub fn is_at_or_below(path: &str, dir: &str) -> bool {
    dir.is_empty() || path == dir || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

/// Compares two states; symlink permission bits carry no meaning and are ignored.
pub fn same(a: Option<Node>, b: Option<Node>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.kind == b.kind && a.hash == b.hash && (a.kind == NodeKind::Symlink || a.perm == b.perm),
        (None, None) => true,
        _ => false,
    }
}

/// The pure classification rule.
pub fn classify(desired: Option<Node>, actual: Option<Node>, base: Option<Node>) -> Change {
    if same(desired, actual) {
        return Change::Clean;
    }
    let Some(actual) = actual else {
        return if base.is_some() && same(base, desired) { Change::DeletedInHome } else { Change::Missing };
    };
    match (desired, base) {
        (None, None) => return Change::Extra,
        // Nothing to compare HOME with: the store's version is the one to have (of the same kind).
        (Some(d), None) if d.kind == actual.kind => return Change::NeverApplied,
        _ => {}
    }
    let actual = Some(actual);
    match (!same(base, actual), !same(base, desired)) {
        (true, false) => Change::ChangedInHome,
        (false, true) => Change::ChangedInStore,
        _ => Change::ChangedInBoth,
    }
}

/// What the store wants at a target (node, link target), or why an encrypted entry could not
/// be read.
type Desired = Result<(Option<Node>, Option<String>), String>;

/// Hashes files through the stat cache without changing it, so threads can share it; what
/// it learns is merged into the cache afterwards ([`Hasher::merge`]).
pub struct Hasher<'a> {
    cache: &'a Cache,
    vault: Option<&'a Vault>,
    learnt: Learnt,
    /// Ciphertexts decrypted (blob id, plaintext hash), for [`Cache::seal`].
    sealed: Vec<(Hash, Hash)>,
    live_dirs: fsutil::DirStat,
    source_dirs: fsutil::DirStat,
    /// Whether the store file the last [`Hasher::desired`] read starts as age ciphertext
    /// (`None`: it was not read).
    source_age: Option<bool>,
    /// Where in the cache the last lookup of each side was found: targets come in tree order,
    /// as the cache holds them.
    hints: [Hint; 3],
}

/// What one evaluation thread found out: hashes to memoize, and the store files it looked at.
#[derive(Default)]
pub struct Learnt {
    memos: Vec<(Side, String, fsutil::StatKey, Hash)>,
    observed: Vec<(String, Observed)>,
}

impl<'a> Hasher<'a> {
    pub fn new(cache: &'a Cache, vault: Option<&'a Vault>) -> Hasher<'a> {
        Hasher {
            cache,
            vault,
            learnt: Learnt::default(),
            sealed: Vec::new(),
            live_dirs: Default::default(),
            source_dirs: Default::default(),
            source_age: None,
            hints: Default::default(),
        }
    }

    fn hint(&mut self, side: Side) -> &mut Hint {
        &mut self.hints[match side {
            Side::Live => 0,
            Side::Source => 1,
            Side::Decrypted => 2,
        }]
    }

    /// The content hash of a regular file: memoized when its stat is unchanged, else read.
    pub fn file(&mut self, side: Side, key: &str, path: &Path, md: &fsutil::Meta) -> Result<Hash, EvalError> {
        self.memoized(side, key, md, || Ok(fsutil::hash_file(path).context(Op::Read, path)?))
    }

    /// `key`'s hash memoized by its stat `md`, else `read` (and memoized from now on).
    fn memoized(
        &mut self,
        side: Side,
        key: &str,
        md: &fsutil::Meta,
        read: impl FnOnce() -> Result<Hash, EvalError>,
    ) -> Result<Hash, EvalError> {
        if let Some(h) = self.cache.hash_near(side, key, &md.stat, self.hint(side)) {
            return Ok(h);
        }
        let h = read()?;
        self.learnt.memos.push((side, key.to_string(), md.stat, h));
        Ok(h)
    }

    /// What is at a live path now. A link's target is read only when its lstat changed since
    /// it was last read (a link cannot be rewritten in place: retargeting makes a new one).
    pub fn live(&mut self, target: &str, path: &Path) -> Result<Option<Node>, EvalError> {
        let seen = match self.cache.prefetched_live(target, *self.hint(Side::Live)) {
            Some(seen) => seen,
            None => self.live_dirs.lstat(path).context(Op::Read, path)?,
        };
        let Some(md) = seen else {
            return Ok(None);
        };
        self.node(target, path, &md).map(Some)
    }

    /// What is at a live path whose `lstat` gave `md`.
    pub fn node(&mut self, target: &str, path: &Path, md: &fsutil::Meta) -> Result<Node, EvalError> {
        let md = *md;
        let perm = md.perm();
        Ok(if md.is_symlink() {
            let hash = self.memoized(Side::Live, target, &md, || {
                let link = fs::read_link(path).context(Op::Read, path)?;
                Ok(fsutil::hash_bytes(link.as_os_str().as_encoded_bytes()))
            })?;
            Node { kind: NodeKind::Symlink, hash: Some(hash), perm: 0 }
        } else if md.is_dir() {
            Node { kind: NodeKind::Dir, hash: None, perm }
        } else if md.is_file() {
            Node { kind: NodeKind::File, hash: Some(self.file(Side::Live, target, path, &md)?), perm }
        } else {
            // A socket, fifo or device where a managed file should be: never equal to anything.
            Node { kind: NodeKind::File, hash: None, perm }
        })
    }

    /// What the store wants at `m.target` (its source file at `path`), plus the link target
    /// for symlinks when it was read (not when its hash was memoized); `Err(reason)` when it is
    /// encrypted and cannot be decrypted here. An encrypted file this device wrote or
    /// decrypted before is known by its ciphertext, without an identity.
    fn desired(&mut self, state: &SourceState, m: &Managed, path: &Path) -> Result<Desired, EvalError> {
        self.source_age = None;
        if let Origin::Commit(commit) = &state.origin {
            return self.desired_at(commit, m, path);
        }
        let umask = fsutil::umask();
        if m.entry.kind == Kind::Dir {
            let perm = source::dir_mode(&m.entry.attrs, umask);
            return Ok(Ok((Some(Node { kind: NodeKind::Dir, hash: None, perm }), None)));
        }
        let md = self
            .source_dirs
            .lstat(path)
            .and_then(|m| m.ok_or_else(|| io::Error::from(io::ErrorKind::NotFound)))
            .context(Op::Read, path)?;
        let mut seen = Observed { stat: md.stat, blob: None };
        let desired = if m.entry.kind == Kind::Symlink {
            // The link target's hash, memoized by the store file's stat like a file's content.
            match self.cache.hash_near(Side::Source, &m.source, &md.stat, &mut self.hints[1]) {
                Some(h) => Ok((Some(Node { kind: NodeKind::Symlink, hash: Some(h), perm: 0 }), None)),
                None => {
                    let link = read_link_entry(path)?;
                    let node = link_node(&link);
                    if let Some(Node { hash: Some(h), .. }) = node {
                        self.learnt.memos.push((Side::Source, m.source.clone(), md.stat, h));
                    }
                    Ok((node, Some(link)))
                }
            }
        } else if m.entry.attrs.encrypted {
            let perm = source::file_mode(&m.entry.attrs, umask);
            match self.cache.hash_near(Side::Decrypted, &m.source, &md.stat, &mut self.hints[2]) {
                Some(h) => Ok((Some(Node { kind: NodeKind::File, hash: Some(h), perm }), None)),
                None => {
                    let cipher = fs::read(path).context(Op::Read, path)?;
                    let sealed = fsutil::hash_bytes(&cipher);
                    let plain = match self.cache.plain_of(&sealed) {
                        Some(h) => Ok(h),
                        None => match self.vault.map(|v| v.decrypt(&cipher)) {
                            Some(Ok(plain)) => {
                                let h = fsutil::hash_bytes(&plain);
                                self.sealed.push((sealed, h));
                                Ok(h)
                            }
                            Some(Err(why)) => Err(format!("{}: {why}", path.display())),
                            None => Err("no keys were loaded".into()),
                        },
                    };
                    match plain {
                        Ok(h) if h == fsutil::hash_bytes(b"") && !m.entry.attrs.empty => Ok((None, None)),
                        Ok(h) => {
                            self.learnt.memos.push((Side::Decrypted, m.source.clone(), md.stat, h));
                            Ok((Some(Node { kind: NodeKind::File, hash: Some(h), perm }), None))
                        }
                        Err(why) => Err(why),
                    }
                }
            }
        } else if md.size() == 0 && !m.entry.attrs.empty {
            // chezmoi: an empty file without `empty_` means "no such file".
            Ok((None, None))
        } else {
            // A file read for its hash is looked at for armor in the same read.
            let mut age = None;
            let hash = self.memoized(Side::Source, &m.source, &md, || {
                if md.size() > PEEK_MAX {
                    return Ok(fsutil::hash_file(path).context(Op::Read, path)?);
                }
                let data = fs::read(path).context(Op::Read, path)?;
                age = Some(starts_as_age(&data[..data.len().min(ARMOR_PEEK)]));
                Ok(fsutil::hash_bytes(&data))
            })?;
            self.source_age = age;
            seen.blob = Some(hash);
            let perm = source::file_mode(&m.entry.attrs, umask);
            Ok((Some(Node { kind: NodeKind::File, hash: Some(hash), perm }), None))
        };
        self.learnt.observed.push((m.source.clone(), seen));
        Ok(desired)
    }

    /// [`Hasher::desired`] for a store read from a commit. A blob's id is its content hash, so
    /// only link targets and ciphertexts never decrypted before are read; nothing is memoized
    /// by stat (ciphertexts decrypted are remembered by their blob id), and no store file is
    /// observed.
    fn desired_at(&mut self, commit: &managed::Commit, m: &Managed, path: &Path) -> Result<Desired, EvalError> {
        let umask = fsutil::umask();
        if m.entry.kind == Kind::Dir {
            let perm = source::dir_mode(&m.entry.attrs, umask);
            return Ok(Ok((Some(Node { kind: NodeKind::Dir, hash: None, perm }), None)));
        }
        let id =
            commit.blob(&m.source).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound)).context(Op::Read, path)?;
        if m.entry.kind == Kind::Symlink {
            let link = link_entry(commit.read(&m.source).context(Op::Read, path)?, path)?;
            return Ok(Ok((link_node(&link), Some(link))));
        }
        let hash = if m.entry.attrs.encrypted {
            match self.cache.plain_of(&id) {
                Some(h) => h,
                None => {
                    let cipher = commit.read(&m.source).context(Op::Read, path)?;
                    let plain = match self.vault.map(|v| v.decrypt(&cipher)) {
                        Some(Ok(p)) => p,
                        Some(Err(why)) => return Ok(Err(format!("{}: {why}", path.display()))),
                        None => return Ok(Err("no keys were loaded".into())),
                    };
                    let h = fsutil::hash_bytes(&plain);
                    self.sealed.push((id, h));
                    h
                }
            }
        } else {
            id
        };
        if hash == fsutil::hash_bytes(b"") && !m.entry.attrs.empty {
            // chezmoi: an empty file without `empty_` means "no such file".
            return Ok(Ok((None, None)));
        }
        let perm = source::file_mode(&m.entry.attrs, umask);
        Ok(Ok((Some(Node { kind: NodeKind::File, hash: Some(hash), perm }), None)))
    }

    /// Records what was learnt in the cache, and the store files looked at in `cache.observed`.
    pub fn merge(learnt: Learnt, cache: &mut Cache) {
        for (side, key, stat, hash) in learnt.memos {
            cache.remember(side, &key, stat, hash);
        }
        cache.observed.extend(learnt.observed);
    }
}

/// `root/rel` (`root` itself for "", as [`Context::live`] has it), built in `buf`, whose
/// allocation is reused from one target to the next.
fn path_in<'b>(buf: &'b mut PathBuf, root: &Path, rel: &str) -> &'b Path {
    let s = buf.as_mut_os_string();
    s.clear();
    s.push(root.as_os_str());
    if !rel.is_empty() {
        if !root.as_os_str().as_encoded_bytes().ends_with(b"/") {
            s.push("/");
        }
        s.push(rel);
    }
    buf
}

/// The desired node of a symlink entry holding `link` (none when it is empty, as in chezmoi).
fn link_node(link: &str) -> Option<Node> {
    (!link.is_empty()).then(|| Node {
        kind: NodeKind::Symlink,
        hash: Some(fsutil::hash_bytes(link.as_bytes())),
        perm: 0,
    })
}

/// The link target a `symlink_` source file holds (chezmoi trims surrounding white space).
pub fn read_link_entry(path: &Path) -> Result<String, EvalError> {
    let data = fs::read(path).context(Op::Read, path)?;
    link_entry(data, path)
}

/// The link target the bytes of the `symlink_` source file at `path` hold.
fn link_entry(data: Vec<u8>, path: &Path) -> Result<String, EvalError> {
    let text = String::from_utf8(data).map_err(|_| EvalError::BadLink { path: path.to_path_buf() })?;
    Ok(text.trim().to_string())
}

/// An entry dotback evaluates itself (the rest is delegated to chezmoi).
pub fn handled_natively(m: &Managed) -> bool {
    m.is_native()
}

/// Below this many targets one thread is faster than starting more.
const PARALLEL_MIN: usize = 512;
/// Targets a thread evaluates at a time.
const PIECE: usize = 1024;

/// What one evaluation thread found: its targets evaluated, what it learnt, the ciphertexts it
/// decrypted (blob id, plaintext hash), and what the cache is to take in from them.
#[derive(Default)]
struct Chunk {
    evals: Vec<Eval>,
    learnt: Learnt,
    sealed: Vec<(Hash, Hash)>,
    /// Evaluations (indices into `evals`) found clean whose base is not yet what both sides hold.
    rebase: Vec<usize>,
    /// The plaintext hashes encrypted entries hold or last agreed on.
    kept: Vec<Hash>,
    /// `exact_` directories present in HOME (entry indices), whose extras are listed next.
    exact: Vec<usize>,
}

/// Evaluates every selected native target, plus extras inside `exact_` directories. Targets an
/// `[[only]]` rule keeps from this device come out as [`Change::Skipped`], neither side read.
///
/// Reading both sides is one `lstat` per target and side when nothing changed; it is spread
/// over the machine's cores, and so is the classification of what was read.
pub fn evaluate(
    ctx: &Context,
    state: &SourceState,
    cache: &mut Cache,
    vault: &Vault,
    sel: &Selection,
) -> Result<Vec<Eval>, EvalError> {
    let mut skipped = Vec::new();
    let selected: Vec<usize> = (0..state.entries.len())
        .filter(|&i| handled_natively(&state.entries[i]) && sel.touches(&state.entries[i].target))
        .filter(|&i| {
            let here = !skipped_here(ctx, state, &state.entries[i].target);
            if !here {
                skipped.push(i);
            }
            here
        })
        .collect();
    let threads = if selected.len() < PARALLEL_MIN {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
    };
    let cache_now: &Cache = cache;
    let eval_chunk = |chunk: &[usize]| -> Result<Chunk, EvalError> {
        let mut h = Hasher::new(cache_now, Some(vault));
        h.learnt.observed.reserve(chunk.len());
        let mut out = Chunk { evals: Vec::with_capacity(chunk.len()), ..Chunk::default() };
        let (mut source, mut live) = (PathBuf::new(), PathBuf::new());
        let mut base_hint = Hint::default();
        for &i in chunk {
            let m = &state.entries[i];
            let (desired, mut link) = match h.desired(state, m, path_in(&mut source, &state.root, &m.source))? {
                Ok((d, l)) => (Ok(d), l),
                Err(why) => (Err(why), None),
            };
            let read_age = h.source_age;
            let actual = h.live(&m.target, path_in(&mut live, &ctx.paths.home, &m.target))?;
            let (mut desired, mut why) = match desired {
                Ok(d) => (d, None),
                Err(why) => (None, Some(why)),
            };
            // A memoized link's target is read only when apply or diff needs it.
            if let Some(d) = desired
                && d.kind == NodeKind::Symlink
                && link.is_none()
                && !same(Some(d), actual)
            {
                let l = read_link_entry(&source)?;
                desired = link_node(&l);
                link = Some(l);
            }
            let writes = matches!(desired, Some(d) if d.kind == NodeKind::File && !same(Some(d), actual));
            let armored = writes && !m.entry.attrs.encrypted && {
                match &state.origin {
                    Origin::WorkTree if read_age.is_some() => Ok(read_age == Some(true)),
                    Origin::WorkTree => holds_age(&source),
                    Origin::Commit(c) => c.read(&m.source).map(|data| starts_as_age(&data)),
                }
                .context(Op::Read, &source)?
            };
            let base = cache_now.base_near(&m.target, &mut base_hint);
            if m.entry.attrs.encrypted {
                out.kept.extend([desired, base].into_iter().flatten().filter_map(|n| n.hash));
            }
            let mut change = match why {
                // HOME changed, and the store's side is unknown: a merge, which needs plaintext.
                Some(_) if base.is_some() && actual.is_some() && !same(base, actual) => Change::WaitingForIdentity,
                Some(_) => Change::Locked,
                None => classify(desired, actual, base),
            };
            // An encrypted file renamed to a plain name would put armor over the live file.
            if armored && change.writes() {
                change = Change::Refused;
                why = Some(format!(
                    "the store entry `{}` holds age ciphertext but is not named `encrypted_`, so it is not written to ~/{t} as armor; if that file is meant to be encrypted, `dotback forget ~/{t}` and `dotback add --encrypt ~/{t}` store it properly",
                    m.source,
                    t = m.target
                ));
            }
            if change == Change::Clean && !same(base, desired) {
                out.rebase.push(out.evals.len());
            }
            if m.entry.kind == Kind::Dir && m.entry.attrs.exact && actual.map(|a| a.kind) == Some(NodeKind::Dir) {
                out.exact.push(i);
            }
            let mut e = Eval { target: m.target.clone(), entry: Some(i), desired, actual, base, change, link, why };
            if let Some(why) = refusal(ctx, state, &e) {
                e.change = Change::Refused;
                e.why = Some(why);
            }
            out.evals.push(e);
        }
        out.learnt = h.learnt;
        out.sealed = h.sealed;
        Ok(out)
    };
    let parts: Vec<Result<Chunk, EvalError>> = if threads == 1 {
        vec![eval_chunk(&selected)]
    } else {
        // Pieces handed out as threads come free: one half of a tree can take much longer than
        // the other (links, or files to hash), and no thread then waits for another.
        let pieces: Vec<&[usize]> = selected.chunks(PIECE).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut done: Vec<(usize, Result<Chunk, EvalError>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(piece) = pieces.get(k) else { break mine };
                            mine.push((k, eval_chunk(piece)));
                        }
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("evaluation thread panicked")).collect()
        });
        done.sort_unstable_by_key(|(k, _)| *k);
        done.into_iter().map(|(_, part)| part).collect()
    };
    cache.forget_prefetched();
    let mut out = Vec::with_capacity(selected.len() + skipped.len());
    cache.observed.reserve(selected.len());
    let mut exact_dirs = Vec::new();
    // The plaintext hashes encrypted entries hold or last agreed on: the sealed ciphertexts
    // worth keeping.
    let mut sealed_kept = HashSet::new();
    for part in parts {
        let part = part?;
        Hasher::merge(part.learnt, cache);
        for (cipher, plain) in part.sealed {
            cache.seal(cipher, plain);
        }
        for k in part.rebase {
            let e = &part.evals[k];
            cache.set_base(&e.target, e.desired);
        }
        sealed_kept.extend(part.kept);
        exact_dirs.extend(part.exact.into_iter().map(|i| &state.entries[i]));
        out.extend(part.evals);
    }
    for &i in &skipped {
        let target = state.entries[i].target.clone();
        let base = cache.base(&target);
        out.push(Eval {
            target,
            entry: Some(i),
            desired: None,
            actual: None,
            base,
            change: Change::Skipped,
            link: None,
            why: None,
        });
    }
    if sel.is_all() && matches!(state.origin, Origin::WorkTree) {
        cache.retain_sealed(|plain| sealed_kept.contains(plain));
    }
    stale_targets(ctx, state, cache, sel, &mut out)?;
    if !skipped.is_empty() || !exact_dirs.is_empty() {
        for m in exact_dirs {
            extras(ctx, state, cache, m, sel, &mut out)?;
        }
        // Extras go right after their directory's own entries, before anything deeper is written.
        out.sort_by(|a, b| crate::fsutil::tree_order(&a.target, &b.target));
    }
    // Targets of entries were looked at as they were evaluated (skipped ones need no look).
    for e in out.iter_mut().filter(|e| e.entry.is_none()) {
        if let Some(why) = refusal(ctx, state, e) {
            e.change = Change::Refused;
            e.why = Some(why);
        }
    }
    keep_dirs_with_survivors(state, &mut out);
    Ok(out)
}

/// Why this device refuses what the store says for `e`, if it does:
/// - the target is in one of dotback's own places or in a git directory ([`Context::own_place`]),
///   whatever the change (so capture never reads it either);
/// - the change would remove or replace a directory holding one of them.
fn refusal(ctx: &Context, state: &SourceState, e: &Eval) -> Option<String> {
    if matches!(e.change, Change::Skipped | Change::Refused) {
        return None;
    }
    // What in the store asks for the change: the target's entry, or the exact directory an
    // extra is in (which would remove it).
    let named = || match e.entry {
        Some(i) => (format!("the store entry `{}`", state.entries[i].source), "names"),
        None => match state.get(managed::parent_of(&e.target)) {
            Some(dir) if e.change == Change::Extra => (format!("the exact directory `{}`", dir.source), "would remove"),
            _ => ("the store".to_string(), "would remove"),
        },
    };
    if let Some(what) = ctx.own_place_of(&e.target) {
        let (named, verb) = named();
        return Some(format!(
            "{named} {verb} ~/{}, in {what}: apply never writes, removes or backs up anything there",
            e.target
        ));
    }
    if !e.change.writes() && e.change != Change::Extra {
        return None;
    }
    let keeps_dir =
        matches!((e.desired, e.actual), (Some(d), Some(a)) if d.kind == NodeKind::Dir && a.kind == NodeKind::Dir);
    if !keeps_dir && let Some((place, what)) = ctx.own_place_below(&ctx.live(&e.target)) {
        let (named, verb) = named();
        let verb = if e.entry.is_some() { "would replace" } else { verb };
        return Some(format!(
            "{named} {verb} ~/{}, which holds {what} ({}): apply leaves it alone",
            e.target,
            place.display()
        ));
    }
    None
}

/// Whether the file at `path` starts (after white space) as age ciphertext does.
/// How much of a file is looked at for age armor.
const ARMOR_PEEK: usize = 4096;
/// Store files up to this size are read whole to hash them (and looked at for armor at once);
/// larger ones are hashed in chunks.
const PEEK_MAX: u64 = 1 << 20;

fn holds_age(path: &Path) -> io::Result<bool> {
    use std::io::Read;
    let mut head = Vec::with_capacity(256);
    fs::File::open(path)?.take(ARMOR_PEEK as u64).read_to_end(&mut head)?;
    Ok(starts_as_age(&head))
}

/// Whether `data` starts (after white space) as age ciphertext does.
fn starts_as_age(data: &[u8]) -> bool {
    let start = data.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(data.len());
    crate::guard::is_age(&data[start..])
}

/// The skipped targets of `evals` ([`Change::Skipped`]) that are not below another skipped
/// one: what a message names (a skipped directory stands for everything in it).
pub fn skipped_roots<'a>(evals: impl IntoIterator<Item = &'a Eval>) -> Vec<&'a Eval> {
    let mut roots: Vec<&Eval> = Vec::new();
    let mut sorted: Vec<&Eval> = evals.into_iter().filter(|e| e.change == Change::Skipped).collect();
    sorted.sort_by(|a, b| crate::fsutil::tree_order(&a.target, &b.target));
    for e in sorted {
        if !roots.last().is_some_and(|r| is_at_or_below(&e.target, &r.target)) {
            roots.push(e);
        }
    }
    roots
}

/// Whether an `[[only]]` rule keeps `target` from this device.
fn skipped_here(ctx: &Context, state: &SourceState, target: &str) -> bool {
    !state.only.is_empty() && state.only.skips(target, &ctx.device).is_some()
}

/// Targets the store no longer has that this device applied or captured (a base is recorded):
/// deleted on another device, settled conflict copies, forgotten. Apply removes each one whose
/// live version is still the base, after a backup, so a deletion reaches every device; one
/// edited since is left alone (`dotback add` takes it back into the store). A directory is
/// removed only once empty. Targets now ignored (`.chezmoiignore`) or skipped on this device
/// are no longer managed, and stay.
fn stale_targets(
    ctx: &Context,
    state: &SourceState,
    cache: &mut Cache,
    sel: &Selection,
    out: &mut Vec<Eval>,
) -> Result<(), EvalError> {
    // The bases come in tree order (see `state::Table`), as the entries do.
    let mut hint = 0;
    let mut stale: Vec<(String, Node)> = cache
        .bases()
        .filter(|(t, _)| {
            state.get_near(t, &mut hint).is_none()
                && sel.contains(t)
                && !state.ignore.is_ignored(t)
                && !skipped_here(ctx, state, t)
        })
        .map(|(t, n)| (t.to_string(), n))
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    stale.sort_by(|a, b| crate::fsutil::tree_order(&a.0, &b.0));
    let mut h = Hasher::new(cache, None);
    let mut found = Vec::new();
    for (target, base) in stale {
        let actual = h.live(&target, &ctx.live(&target))?;
        found.push((target, actual, base));
    }
    let learnt = h.learnt;
    Hasher::merge(learnt, cache);
    for (target, actual, base) in found {
        let change = match actual {
            // A directory's mode is no reason to keep it: it goes only when empty anyway.
            Some(a) if a.kind == NodeKind::Dir && base.kind == NodeKind::Dir => Change::ChangedInStore,
            _ => classify(None, actual, Some(base)),
        };
        if change == Change::Clean {
            cache.set_base(&target, None); // gone already
            continue;
        }
        out.push(Eval { target, entry: None, desired: None, actual, base: Some(base), change, link: None, why: None });
    }
    Ok(())
}

/// A directory deleted in HOME is a deletion only together with everything the store has below
/// it: one that still holds anything else (an entry changed in the store meanwhile, one skipped
/// on this device or handled by chezmoi) is missing instead, and apply brings it back.
fn keep_dirs_with_survivors(state: &SourceState, out: &mut [Eval]) {
    let is_deleted_dir =
        |e: &Eval| e.change == Change::DeletedInHome && e.desired.is_some_and(|d| d.kind == NodeKind::Dir);
    if !out.iter().any(is_deleted_dir) {
        return;
    }
    let deleted: HashSet<&str> =
        out.iter().filter(|e| e.change == Change::DeletedInHome).map(|e| e.target.as_str()).collect();
    let mut kept: HashSet<String> = HashSet::new();
    for m in state.entries.iter().filter(|m| !deleted.contains(m.target.as_str())) {
        let mut dir = managed::parent_of(&m.target);
        while !dir.is_empty() && kept.insert(dir.to_string()) {
            dir = managed::parent_of(dir);
        }
    }
    for e in out.iter_mut().filter(|e| is_deleted_dir(e) && kept.contains(&e.target)) {
        e.change = Change::Missing;
    }
}

fn extras(
    ctx: &Context,
    state: &SourceState,
    cache: &mut Cache,
    dir: &Managed,
    sel: &Selection,
    out: &mut Vec<Eval>,
) -> Result<(), EvalError> {
    let live_dir = ctx.live(&dir.target);
    let rd = fs::read_dir(&live_dir).context(Op::Read, &live_dir)?;
    let known: HashSet<&str> = state.children_of(&dir.target).map(|m| m.entry.name.as_str()).collect();
    let mut h = Hasher::new(cache, None);
    let mut found = Vec::new();
    for e in rd {
        let e = e.context(Op::Read, &live_dir)?;
        let name = e.file_name().to_string_lossy().into_owned();
        let target = managed::join(&dir.target, &name);
        if known.contains(name.as_str())
            || state.ignore.is_ignored(&target)
            || !sel.contains(&target)
            || skipped_here(ctx, state, &target)
        {
            continue;
        }
        let actual = h.live(&target, &e.path())?;
        found.push(Eval {
            target,
            entry: None,
            desired: None,
            actual,
            base: None,
            change: Change::Extra,
            link: None,
            why: None,
        });
    }
    let learnt = h.learnt;
    Hasher::merge(learnt, cache);
    out.extend(found);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// Sets the mtime of `path` itself (not of what a link points to).
    fn set_mtime(path: &Path, secs: i64) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        let t = libc::timespec { tv_sec: secs, tv_nsec: 0 };
        // SAFETY: a NUL-terminated path and two timespecs.
        let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), [t, t].as_ptr(), libc::AT_SYMLINK_NOFOLLOW) };
        assert_eq!(rc, 0);
    }

    /// An operation that starts well after everything the test made (else nothing is memoized).
    fn later_cache() -> Cache {
        Cache::started_at(fsutil::now_ns() + 1_000_000_000)
    }

    #[test]
    fn a_live_link_is_read_again_only_when_its_lstat_changed() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("l");
        symlink("target-aaaa", &link).unwrap();
        set_mtime(&link, 1_000_000);
        let mut cache = later_cache();
        let mut h = Hasher::new(&cache, None);
        assert_eq!(h.live("l", &link).unwrap(), link_node("target-aaaa"));
        assert_eq!(h.learnt.memos.len(), 1, "read, and memoized from now on");
        Hasher::merge(h.learnt, &mut cache);
        let mut h = Hasher::new(&cache, None);
        assert_eq!(h.live("l", &link).unwrap(), link_node("target-aaaa"));
        assert!(h.learnt.memos.is_empty(), "unchanged lstat: not read again");
        // Retargeted to a name of the same length, with the same mtime: a new link (inode).
        let tmp = dir.path().join("l.new");
        symlink("target-bbbb", &tmp).unwrap();
        set_mtime(&tmp, 1_000_000);
        fs::rename(&tmp, &link).unwrap();
        let mut h = Hasher::new(&cache, None);
        assert_eq!(h.live("l", &link).unwrap(), link_node("target-bbbb"));
        // A file where the link was, with the link's size and mtime: never the link's memo.
        fs::remove_file(&link).unwrap();
        fs::write(&link, "target-bbbb").unwrap();
        set_mtime(&link, 1_000_000);
        let mut h = Hasher::new(&cache, None);
        assert_eq!(h.live("l", &link).unwrap().map(|n| n.kind), Some(NodeKind::File));
    }

    #[test]
    fn a_symlink_entry_is_read_again_only_when_its_stat_changed() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path();
        let file = store.join("symlink_dot_l");
        fs::write(&file, "target-aaaa\n").unwrap();
        set_mtime(&file, 1_000_000);
        let state = managed::scan(store, &Default::default()).unwrap();
        let m = state.get(".l").unwrap();
        let mut cache = later_cache();
        let mut h = Hasher::new(&cache, None);
        let read = h.desired(&state, m, &file).unwrap().unwrap();
        assert_eq!(read, (link_node("target-aaaa"), Some("target-aaaa".to_string())));
        assert_eq!(h.learnt.observed.len(), 1);
        assert_eq!(h.learnt.observed[0].1.blob, None, "the blob id of a link entry is git's to tell");
        Hasher::merge(h.learnt, &mut cache);
        let mut h = Hasher::new(&cache, None);
        let memoized = h.desired(&state, m, &file).unwrap().unwrap();
        assert_eq!(memoized, (link_node("target-aaaa"), None), "memoized: the file is not opened");
        // Rewritten with the same mtime (the ctime moves; see the racy rule in `state`).
        fs::write(&file, "target-b\n").unwrap();
        set_mtime(&file, 1_000_000);
        let mut h = Hasher::new(&cache, None);
        assert_eq!(h.desired(&state, m, &file).unwrap().unwrap(), (link_node("target-b"), Some("target-b".into())));
    }
}
