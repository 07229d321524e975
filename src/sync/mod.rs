//! `dotback sync`: capture and commit, fetch every remote, merge, apply, push every remote
//! ([`run`]; the flow is in `flow.rs`, the merge here).
//!
//! Merging is per file against the merge base, never a line merge of ciphertext: encrypted
//! files are decrypted on all three sides, merged as plaintext and re-encrypted. What cannot
//! be merged keeps the local version live and commits the other side's beside it as
//! `NAME.dotback-conflict-<device>-<YYYYmmdd-HHMMSS>`, so nothing is lost and no live config
//! ever holds conflict markers.

use crate::guard::is_age;
use crate::merge::conflict::safe_label;
pub use crate::merge::conflict::{UNKNOWN_DEVICE, device_of};
use crate::merge::text::{self, Labels, TextMerge};
use crate::source::{self, OnDisk};
use crate::store::{Store, StoreError};
use crate::vault::Vault;
use git2::Oid;
use std::collections::{BTreeSet, HashMap, HashSet};

mod flow;
#[cfg(test)]
mod tests_flow;

pub use flow::{
    Arrival, DryRemote, DryRun, Fetched, KeptEncrypted, Plan as SyncPlan, Refusal, RemoteStatus, SyncOptions,
    SyncReport, Unsettled, dry_run, plan, remotes, run,
};

type Files = HashMap<String, (Oid, u32)>;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the history of remote `{remote}` shares nothing with this store's (was it rewritten or replaced?)")]
    Unrelated { remote: String },
    #[error(transparent)]
    Commit(#[from] crate::capture::CommitError),
    #[error(transparent)]
    Session(#[from] crate::session::SessionError),
    #[error(transparent)]
    Eval(#[from] crate::eval::EvalError),
    #[error(transparent)]
    Apply(#[from] crate::apply::ApplyError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error("there is no remote named `{name}`")]
    NoSuchRemote { name: String },
    #[error("this store has no remotes to sync with")]
    NoRemotes,
}

/// What merging one fetched commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    UpToDate,
    FastForward,
    /// A merge commit; the store paths written as conflict copies, and this side's encrypted
    /// entries kept where the other side had stored the file unencrypted.
    Merged {
        conflicts: Vec<String>,
        kept_encrypted: Vec<String>,
    },
}

/// Merges `theirs` (fetched from `remote`) into the current branch, moving the work tree.
pub fn merge_into_head(
    store: &Store,
    vault: &Vault,
    device: &str,
    remote: &str,
    theirs: Oid,
    stamp: &str,
) -> Result<Merged, SyncError> {
    match preview(store, vault, remote, theirs, stamp)? {
        Plan::UpToDate => Ok(Merged::UpToDate),
        Plan::FastForward { .. } => {
            store.checkout(theirs)?;
            Ok(Merged::FastForward)
        }
        Plan::Merge { ours, files, conflicts, kept_encrypted, .. } => {
            let mut message = format!("{device}: merge {remote}\n\nDevice: {device}\n");
            for c in &conflicts {
                message.push_str(&format!("conflict: {c}\n"));
            }
            for k in &kept_encrypted {
                message.push_str(&format!("kept encrypted: {k}\n"));
            }
            store.commit_files_and_checkout(device, &files, &[ours, theirs], &message)?;
            Ok(Merged::Merged { conflicts, kept_encrypted })
        }
    }
}

/// What merging a fetched commit would do, worked out without moving anything (merged blobs
/// are written to the object database, which changes nothing anyone sees).
#[derive(Debug)]
pub enum Plan {
    UpToDate,
    /// `changed`: store paths that differ between HEAD and the fetched commit.
    FastForward {
        changed: Vec<String>,
    },
    Merge {
        ours: Oid,
        files: Files,
        changed: Vec<String>,
        conflicts: Vec<String>,
        /// This side's encrypted entries kept over the other side's unencrypted version.
        kept_encrypted: Vec<String>,
    },
}

impl Plan {
    /// Store paths the merge or fast-forward would change in the work tree.
    pub fn changed(&self) -> &[String] {
        match self {
            Plan::UpToDate => &[],
            Plan::FastForward { changed } | Plan::Merge { changed, .. } => changed,
        }
    }

    pub fn conflicts(&self) -> &[String] {
        match self {
            Plan::Merge { conflicts, .. } => conflicts,
            _ => &[],
        }
    }
}

/// Works out how `theirs` (fetched from `remote`) merges into the current branch.
pub fn preview(store: &Store, vault: &Vault, remote: &str, theirs: Oid, stamp: &str) -> Result<Plan, SyncError> {
    let Some(ours) = store.head_commit()? else {
        let changed = store.commit_files(theirs)?.into_keys().collect();
        return Ok(Plan::FastForward { changed: sorted(changed) });
    };
    if store.contains(ours, theirs)? {
        return Ok(Plan::UpToDate);
    }
    let o = store.commit_files(ours)?;
    let (b, t) = if store.contains(theirs, ours)? {
        let t = store.commit_files(theirs)?;
        // A fast-forward would take a file this side encrypts as the other side stored it,
        // unencrypted: merge instead (this side is the base), which keeps it encrypted.
        if !stops_encrypting(&o, &t) {
            return Ok(Plan::FastForward { changed: differences(&o, &t) });
        }
        (o.clone(), t)
    } else {
        let base =
            store.merge_base(ours, theirs)?.ok_or_else(|| SyncError::Unrelated { remote: remote.to_string() })?;
        (store.commit_files(base)?, store.commit_files(theirs)?)
    };
    let their_device = device_of(&store.commit_message(theirs)?).unwrap_or_else(|| safe_label(remote));
    let merged = merge_trees(store, vault, &b, &o, &t, &their_device, stamp)?;
    let changed = differences(&o, &merged.files);
    let Merge { files, conflicts, kept_encrypted } = merged;
    Ok(Plan::Merge { ours, files, changed, conflicts, kept_encrypted })
}

/// Whether `t` has, unencrypted, a target `o` has encrypted (only renamed paths can).
fn stops_encrypting(o: &Files, t: &Files) -> bool {
    let target = crate::managed::target_of_source;
    let plain: HashSet<String> =
        t.keys().filter(|p| !o.contains_key(*p) && !is_encrypted(p)).filter_map(|p| target(p)).collect();
    !plain.is_empty()
        && o.keys()
            .filter(|p| !t.contains_key(*p) && is_encrypted(p))
            .filter_map(|p| target(p))
            .any(|t| plain.contains(&t))
}

/// Paths whose blob or mode differs between `a` and `b`, or that only one of them has.
fn differences(a: &Files, b: &Files) -> Vec<String> {
    let mut out: Vec<String> = a.iter().filter(|(p, v)| b.get(*p) != Some(v)).map(|(p, _)| p.clone()).collect();
    out.extend(b.keys().filter(|p| !a.contains_key(*p)).cloned());
    sorted(out)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The most of a device name a conflict copy's name carries.
const COPY_DEVICE_BYTES: usize = 64;

/// The store path of a conflict copy: the suffix goes before `.age` so an encrypted copy stays
/// an encrypted entry. The name stays within what a file system takes: a long one loses the
/// end of its stem (on a character boundary), never the tag or `.age`.
pub fn conflict_path(path: &str, device: &str, stamp: &str) -> String {
    let (dir, leaf) = match path.rsplit_once('/') {
        Some((dir, leaf)) => (Some(dir), leaf),
        None => (None, path),
    };
    let (stem, age) = match leaf.strip_suffix(".age") {
        Some(stem) => (stem, ".age"),
        None => (leaf, ""),
    };
    let tail = format!(".dotback-conflict-{}-{stamp}{age}", prefix_within(device, COPY_DEVICE_BYTES));
    let name = format!("{}{tail}", prefix_within(stem, crate::tree_check::MAX_NAME.saturating_sub(tail.len())));
    match dir {
        Some(dir) => format!("{dir}/{name}"),
        None => name,
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn prefix_within(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn is_encrypted(path: &str) -> bool {
    let leaf = path.rsplit('/').next().unwrap_or(path);
    matches!(source::decode(leaf, OnDisk::File), Ok(Some(e)) if e.attrs.encrypted)
}

/// One side's version of a target: its store path (name and attributes), blob and mode.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Version {
    path: String,
    id: Oid,
    mode: u32,
}

/// Files keyed by what they are, not by their store path: a mode change renames a store file
/// (`dot_x` -> `executable_dot_x`), and that must merge with a content edit of `dot_x`, not
/// leave two entries for one target.
fn by_target(files: &Files) -> HashMap<String, Version> {
    files
        .iter()
        .map(|(path, (id, mode))| {
            let key = match crate::managed::target_of_source(path) {
                Some(t) => format!("target:{t}"),
                None => format!("path:{path}"),
            };
            (key, Version { path: path.clone(), id: *id, mode: *mode })
        })
        .collect()
}

/// The three-way rule for one attribute: the side that changed it wins; both changed: ours.
fn pick<T: PartialEq + Clone>(b: Option<&T>, o: &T, t: &T) -> T {
    if Some(o) == b { t.clone() } else { o.clone() }
}

/// The pure part of the merge, per target: `Ok(Some(v))` keeps v, `Ok(None)` deletes,
/// `Err(())` means both sides changed it and it needs a closer look.
fn decide(b: Option<&Version>, o: Option<&Version>, t: Option<&Version>) -> Result<Option<Version>, ()> {
    if o == t || b == t {
        return Ok(o.cloned());
    }
    if b == o {
        return Ok(t.cloned());
    }
    match (b, o, t) {
        // Modify/delete keeps the modification.
        (Some(_), None, Some(t)) => Ok(Some(t.clone())),
        (Some(_), Some(o), None) => Ok(Some(o.clone())),
        _ => Err(()),
    }
}

/// What merging two trees gives.
struct Merge {
    files: Files,
    conflicts: Vec<String>,
    kept_encrypted: Vec<String>,
}

fn merge_trees(
    store: &Store,
    vault: &Vault,
    b: &Files,
    o: &Files,
    t: &Files,
    their_device: &str,
    stamp: &str,
) -> Result<Merge, SyncError> {
    let (b, o, t) = (by_target(b), by_target(o), by_target(t));
    let keys: BTreeSet<&String> = b.keys().chain(o.keys()).chain(t.keys()).collect();
    // Result versions; `true` marks those whose path came from our side (they name directories first).
    let mut out: Vec<(Version, bool)> = Vec::new();
    let mut conflicts = Vec::new();
    let mut kept_encrypted = Vec::new();
    for key in keys {
        let (bv, ov, tv) = (b.get(key), o.get(key), t.get(key));
        // What to keep apart: the other side's version, written beside ours.
        let beside = match decide(bv, ov, tv) {
            // The other side stored, unencrypted, a file this side keeps encrypted: never take
            // that from a merge. Ours stays; theirs goes beside it unless it is ciphertext under a
            // plain name (a copy of that would help no one).
            Ok(Some(v)) if ov.is_some_and(|o| is_encrypted(&o.path)) && !is_encrypted(&v.path) => {
                let ov = ov.expect("checked");
                out.push((ov.clone(), true));
                kept_encrypted.push(ov.path.clone());
                (!is_age(&store.blob(v.id)?)).then_some(v)
            }
            Ok(Some(v)) => {
                let ours = ov == Some(&v);
                out.push((v, ours));
                None
            }
            Ok(None) => None,
            // The store key and its seal are not merged: ours stays, and trust decides whether
            // the merged control files are sealed (a device holding the key seals a merge of two
            // sealed sides).
            Err(()) if key.starts_with("path:.dotback/trust/") => {
                out.extend(ov.map(|v| (v.clone(), true)));
                None
            }
            Err(()) => {
                let (ov, tv) = (ov.expect("both sides have it"), tv.expect("both sides have it"));
                let path = pick(bv.map(|v| &v.path), &ov.path, &tv.path);
                let mode = pick(bv.map(|v| &v.mode), &ov.mode, &tv.mode);
                // The other side stopped encrypting a file this side edited: merging would put
                // this side's new lines into git in plaintext. Keep ours (encrypted) live and
                // theirs beside it instead.
                let decrypted_there =
                    !is_encrypted(&path) && (is_encrypted(&ov.path) || bv.is_some_and(|b| is_encrypted(&b.path)));
                let merged = if decrypted_there { None } else { merge_content(store, vault, bv, ov, tv, &path)? };
                match merged {
                    Some(id) => {
                        out.push((Version { path, id, mode }, true));
                        None
                    }
                    None => {
                        out.push((ov.clone(), true));
                        if decrypted_there && is_encrypted(&ov.path) {
                            kept_encrypted.push(ov.path.clone());
                        }
                        (!(decrypted_there && is_age(&store.blob(tv.id)?))).then(|| tv.clone())
                    }
                }
            }
        };
        if let Some(tv) = beside {
            let mut copy = conflict_path(&tv.path, their_device, stamp);
            // Two copies of one target within a second (or of the same name with other
            // attributes) must not describe the same target twice.
            let taken = |c: &str| {
                let target = crate::managed::target_of_source(c);
                o.values()
                    .chain(t.values())
                    .chain(out.iter().map(|(v, _)| v))
                    .any(|v| v.path == c || (target.is_some() && crate::managed::target_of_source(&v.path) == target))
            };
            let mut n = 2;
            while taken(&copy) {
                copy = conflict_path(&tv.path, their_device, &format!("{stamp}-{n}"));
                n += 1;
            }
            out.push((Version { path: copy.clone(), id: tv.id, mode: tv.mode }, false));
            conflicts.push(copy);
        }
    }
    Ok(Merge { files: one_name_per_directory(out), conflicts, kept_encrypted })
}

/// Gives every target directory one store name (ours first) and moves files filed under another
/// name for the same directory there, so a directory renamed on one side (say it became
/// `private_`) cannot end up as two directories for one target.
fn one_name_per_directory(mut versions: Vec<(Version, bool)>) -> Files {
    versions.sort_by_key(|(_, ours)| !*ours);
    let mut chosen: HashMap<String, String> = HashMap::new();
    for (v, _) in &versions {
        let parts: Vec<&str> = v.path.split('/').collect();
        for depth in 1..parts.len() {
            let src = parts[..depth].join("/");
            if let Some(target) = crate::managed::target_of_source(&src) {
                chosen.entry(target).or_insert(src);
            }
        }
    }
    let mut files = Files::new();
    for (v, _) in versions {
        let parts: Vec<&str> = v.path.split('/').collect();
        let mut path = String::new();
        for (i, part) in parts.iter().enumerate() {
            let candidate = crate::managed::join(&path, part);
            path = if i + 1 < parts.len() {
                crate::managed::target_of_source(&candidate).and_then(|t| chosen.get(&t).cloned()).unwrap_or(candidate)
            } else {
                candidate
            };
        }
        files.insert(path, (v.id, v.mode));
    }
    files
}

/// A three-way content merge: `Some(blob)` when clean (in the representation `path` calls
/// for: encrypted or plain), `None` for a conflict.
fn merge_content(
    store: &Store,
    vault: &Vault,
    b: Option<&Version>,
    o: &Version,
    t: &Version,
    path: &str,
) -> Result<Option<Oid>, SyncError> {
    let encrypted = is_encrypted(path);
    // Content one side changed alone is taken as it is when its representation fits.
    let same_repr = |v: &Version| is_encrypted(&v.path) == encrypted;
    if o.id == t.id && same_repr(o) {
        return Ok(Some(o.id));
    }
    if b.map(|b| b.id) == Some(o.id) && same_repr(t) {
        return Ok(Some(t.id));
    }
    if b.map(|b| b.id) == Some(t.id) && same_repr(o) {
        return Ok(Some(o.id));
    }
    let plain = |v: Option<&Version>| -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError> {
        let Some(v) = v else { return Ok(Some(zeroize::Zeroizing::new(Vec::new()))) };
        let data = store.blob(v.id)?;
        Ok(if !is_encrypted(&v.path) {
            Some(zeroize::Zeroizing::new(data))
        } else if is_age(&data) {
            vault.decrypt(&data).ok()
        } else {
            None
        })
    };
    let (Some(pb), Some(po), Some(pt)) = (plain(b)?, plain(Some(o))?, plain(Some(t))?) else { return Ok(None) };
    let merged: zeroize::Zeroizing<Vec<u8>> = if *po == *pt {
        po
    } else if *pb == *po {
        pt
    } else if *pb == *pt {
        po
    } else {
        match merge_text(&pb, &po, &pt) {
            Some(m) => zeroize::Zeroizing::new(m.as_bytes().to_vec()),
            None => return Ok(None),
        }
    };
    if encrypted {
        let Ok(cipher) = vault.encrypt(&merged) else { return Ok(None) };
        return Ok(Some(store.write_blob(&cipher)?));
    }
    Ok(Some(store.write_blob(&merged)?))
}

fn merge_text(b: &[u8], o: &[u8], t: &[u8]) -> Option<zeroize::Zeroizing<String>> {
    if !(text::is_mergeable_text(b) && text::is_mergeable_text(o) && text::is_mergeable_text(t)) {
        return None;
    }
    // The inputs may be decrypted secrets: they are only borrowed, and every copy is wiped.
    fn s(d: &[u8]) -> Option<&str> {
        std::str::from_utf8(d).ok()
    }
    let labels = Labels { ours: "ours", base: "base", theirs: "theirs" };
    match text::merge(s(b)?, s(o)?, s(t)?, labels) {
        TextMerge::Clean(m) => Some(zeroize::Zeroizing::new(m)),
        TextMerge::Conflict { with_markers, .. } => {
            drop(zeroize::Zeroizing::new(with_markers));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(path: &str, n: u8, mode: u32) -> Version {
        Version { path: path.into(), id: Oid::from_bytes(&[n; 20]).unwrap(), mode }
    }

    #[test]
    fn per_target_rules() {
        let f = 0o100644;
        let x = |n| v("dot_x", n, f);
        assert_eq!(decide(Some(&x(1)), Some(&x(1)), Some(&x(2))), Ok(Some(x(2))), "only theirs changed");
        assert_eq!(decide(Some(&x(1)), Some(&x(2)), Some(&x(1))), Ok(Some(x(2))), "only ours changed");
        assert_eq!(decide(Some(&x(1)), Some(&x(2)), Some(&x(2))), Ok(Some(x(2))), "same change");
        assert_eq!(decide(Some(&x(1)), None, Some(&x(1))), Ok(None), "deleted here, untouched there");
        assert_eq!(decide(Some(&x(1)), None, Some(&x(3))), Ok(Some(x(3))), "modify/delete keeps the modification");
        assert_eq!(decide(Some(&x(1)), Some(&x(3)), None), Ok(Some(x(3))));
        assert_eq!(decide(None, None, Some(&x(4))), Ok(Some(x(4))), "added there");
        assert_eq!(decide(Some(&x(1)), Some(&x(2)), Some(&x(3))), Err(()), "both edited");
        let renamed = v("executable_dot_x", 1, 0o100755);
        assert_eq!(decide(Some(&x(1)), Some(&renamed), Some(&x(2))), Err(()), "renamed here, edited there");
        assert_eq!(pick(Some(&"dot_x"), &"executable_dot_x", &"dot_x"), "executable_dot_x");
        assert_eq!(pick(Some(&"dot_x"), &"dot_x", &"private_dot_x"), "private_dot_x");
    }

    #[test]
    fn a_rename_to_a_plain_entry_stops_encrypting() {
        let files = |paths: &[&str]| -> Files {
            paths.iter().map(|p| (p.to_string(), (Oid::from_bytes(&[1; 20]).unwrap(), 0o100644))).collect()
        };
        let ours = files(&["encrypted_private_dot_pgpass.age", "dot_zshrc"]);
        assert!(stops_encrypting(&ours, &files(&["private_dot_pgpass", "dot_zshrc"])));
        assert!(stops_encrypting(&ours, &files(&["dot_pgpass", "dot_zshrc"])), "any plain name for the target");
        assert!(!stops_encrypting(&ours, &files(&["encrypted_dot_pgpass.age", "dot_zshrc"])), "still encrypted");
        assert!(!stops_encrypting(&ours, &files(&["dot_zshrc"])), "a deletion is not a downgrade");
        assert!(!stops_encrypting(&ours, &files(&["encrypted_private_dot_pgpass.age", "private_dot_zshrc"])));
        assert!(!stops_encrypting(&files(&["dot_zshrc"]), &files(&["dot_zshrc", "dot_new"])));
    }

    #[test]
    fn a_directory_keeps_one_name() {
        let f = 0o100644;
        let files = one_name_per_directory(vec![
            (v("private_dot_ssh/config", 1, f), true),
            (v("dot_ssh/new_key.pub", 2, f), false),
        ]);
        let mut paths: Vec<&String> = files.keys().collect();
        paths.sort();
        assert_eq!(paths, ["private_dot_ssh/config", "private_dot_ssh/new_key.pub"]);
    }

    #[test]
    fn conflict_copies_stay_the_same_kind_of_entry() {
        assert_eq!(
            conflict_path("dot_zshrc", "laptop", "20261122-101500"),
            "dot_zshrc.dotback-conflict-laptop-20261122-101500"
        );
        assert_eq!(
            conflict_path("private_dot_ssh/encrypted_private_id_x.age", "d", "s"),
            "private_dot_ssh/encrypted_private_id_x.dotback-conflict-d-s.age"
        );
        assert_eq!(device_of("x: y\n\nDevice: laptop\n"), Some("laptop".into()));
        assert_eq!(device_of("made by hand"), None);
    }

    #[test]
    fn conflict_copy_names_stay_within_a_file_systems_limit() {
        let max = crate::tree_check::MAX_NAME;
        let leaf = |p: &str| p.rsplit('/').next().unwrap().to_string();
        let long = format!("dot_{}", "n".repeat(246)); // 250 bytes
        let copy = conflict_path(&format!("dot_config/{long}"), "laptop", "20261122-101500-12");
        assert!(copy.starts_with("dot_config/dot_nnn"), "{copy}");
        assert!(leaf(&copy).len() <= max, "{} bytes", leaf(&copy).len());
        assert!(copy.ends_with(".dotback-conflict-laptop-20261122-101500-12"), "{copy}");
        let name = leaf(&copy);
        let c = crate::merge::conflict::parse(&name).unwrap();
        assert_eq!((c.device, c.stamp), ("laptop", "20261122-101500-12"));
        assert!(long.starts_with(c.original), "the stem is a prefix of the original name");

        let secret = format!("encrypted_private_dot_{}.age", "é".repeat(115)); // 256 bytes
        let copy = conflict_path(&secret, &"ü".repeat(64), "20261122-101500");
        assert!(copy.len() <= max && copy.starts_with("encrypted_private_dot_é"), "{copy}");
        assert!(copy.ends_with("-20261122-101500.age"), "still an encrypted entry: {copy}");
        assert!(is_encrypted(&copy));
        let short = "dot_zshrc";
        assert_eq!(conflict_path(short, "d", "s"), "dot_zshrc.dotback-conflict-d-s", "short names are unchanged");
    }
}
