//! `dotback sync`: capture and commit, fetch every remote, merge, apply, push every remote.
//!
//! Merging is per file against the merge base, never a line merge of ciphertext: encrypted
//! files are decrypted on all three sides, merged as plaintext and re-encrypted. What cannot
//! be merged keeps the local version live and commits the other side's beside it as
//! `NAME.dotback-conflict-<device>-<YYYYmmdd-HHMMSS>`, so nothing is lost and no live config
//! ever holds conflict markers.

use crate::guard::is_age;
use crate::merge::text::{self, Labels, TextMerge};
use crate::source::{self, OnDisk};
use crate::store::{Store, StoreError};
use crate::vault::Vault;
use git2::Oid;
use std::collections::{BTreeSet, HashMap};

type Files = HashMap<String, (Oid, u32)>;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the history of remote `{remote}` shares nothing with this store's (was it rewritten or replaced?)")]
    Unrelated { remote: String },
}

/// What merging one fetched commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    UpToDate,
    FastForward,
    /// A merge commit; the store paths written as conflict copies.
    Merged {
        conflicts: Vec<String>,
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
    let Some(ours) = store.head_commit()? else {
        store.checkout(theirs)?;
        return Ok(Merged::FastForward);
    };
    if store.contains(ours, theirs)? {
        return Ok(Merged::UpToDate);
    }
    if store.contains(theirs, ours)? {
        store.checkout(theirs)?;
        return Ok(Merged::FastForward);
    }
    let base = store.merge_base(ours, theirs)?.ok_or_else(|| SyncError::Unrelated { remote: remote.to_string() })?;
    let (b, o, t) = (store.commit_files(base)?, store.commit_files(ours)?, store.commit_files(theirs)?);
    let their_device = device_of(&store.commit_message(theirs)?).unwrap_or_else(|| remote.to_string());
    let (files, conflicts) = merge_trees(store, vault, &b, &o, &t, &their_device, stamp)?;
    let mut message = format!("{device}: merge {remote}\n\nDevice: {device}\n");
    for c in &conflicts {
        message.push_str(&format!("conflict: {c}\n"));
    }
    store.commit_files_and_checkout(device, &files, &[ours, theirs], &message)?;
    Ok(Merged::Merged { conflicts })
}

/// The `Device:` line dotback writes into its commit messages.
pub fn device_of(message: &str) -> Option<String> {
    message.lines().find_map(|l| l.strip_prefix("Device: ")).map(|d| d.trim().to_string()).filter(|d| !d.is_empty())
}

/// The store path of a conflict copy: the suffix goes before `.age` so an encrypted copy stays
/// an encrypted entry.
pub fn conflict_path(path: &str, device: &str, stamp: &str) -> String {
    let tag = format!(".dotback-conflict-{device}-{stamp}");
    match path.strip_suffix(".age") {
        Some(stem) => format!("{stem}{tag}.age"),
        None => format!("{path}{tag}"),
    }
}

fn is_encrypted(path: &str) -> bool {
    let leaf = path.rsplit('/').next().unwrap_or(path);
    matches!(source::decode(leaf, OnDisk::File), Ok(Some(e)) if e.attrs.encrypted)
}

/// The pure part of the merge, per path: `Ok(Some(x))` keeps x, `Ok(None)` deletes, `Err(())`
/// means both sides changed the content and it needs a content merge.
fn decide(b: Option<(Oid, u32)>, o: Option<(Oid, u32)>, t: Option<(Oid, u32)>) -> Result<Option<(Oid, u32)>, ()> {
    if o == t || b == t {
        return Ok(o);
    }
    if b == o {
        return Ok(t);
    }
    match (b, o, t) {
        // Modify/delete keeps the modification.
        (Some(_), None, Some(t)) => Ok(Some(t)),
        (Some(_), Some(o), None) => Ok(Some(o)),
        // Same content, different mode: take the side that changed the mode.
        (Some(b), Some(o), Some(t)) if o.0 == t.0 => Ok(Some((o.0, if o.1 == b.1 { t.1 } else { o.1 }))),
        _ => Err(()),
    }
}

fn merge_trees(
    store: &Store,
    vault: &Vault,
    b: &Files,
    o: &Files,
    t: &Files,
    their_device: &str,
    stamp: &str,
) -> Result<(Files, Vec<String>), SyncError> {
    let paths: BTreeSet<&String> = b.keys().chain(o.keys()).chain(t.keys()).collect();
    let mut out = Files::new();
    let mut conflicts = Vec::new();
    for path in paths {
        let (bv, ov, tv) = (b.get(path).copied(), o.get(path).copied(), t.get(path).copied());
        match decide(bv, ov, tv) {
            Ok(Some(v)) => {
                out.insert(path.clone(), v);
            }
            Ok(None) => {}
            Err(()) => {
                let (ov, tv) = (ov.expect("both sides have it"), tv.expect("both sides have it"));
                let mode = match bv {
                    Some(b) if ov.1 == b.1 => tv.1,
                    _ => ov.1,
                };
                match merge_content(store, vault, path, bv.map(|b| b.0), ov.0, tv.0)? {
                    Some(merged) => {
                        out.insert(path.clone(), (merged, mode));
                    }
                    None => {
                        out.insert(path.clone(), ov);
                        let copy = conflict_path(path, their_device, stamp);
                        out.insert(copy.clone(), tv);
                        conflicts.push(copy);
                    }
                }
            }
        }
    }
    Ok((out, conflicts))
}

/// A three-way content merge: `Some(blob)` when clean, `None` for a conflict.
fn merge_content(
    store: &Store,
    vault: &Vault,
    path: &str,
    base: Option<Oid>,
    ours: Oid,
    theirs: Oid,
) -> Result<Option<Oid>, SyncError> {
    let read = |id: Option<Oid>| -> Result<Vec<u8>, StoreError> { id.map(|i| store.blob(i)).unwrap_or(Ok(Vec::new())) };
    let (b, o, t) = (read(base)?, read(Some(ours))?, read(Some(theirs))?);
    if is_encrypted(path) {
        let dec = |d: &[u8]| -> Option<zeroize::Zeroizing<Vec<u8>>> {
            if d.is_empty() {
                Some(zeroize::Zeroizing::new(Vec::new()))
            } else if is_age(d) {
                vault.decrypt(d).ok()
            } else {
                None
            }
        };
        let (Some(pb), Some(po), Some(pt)) = (dec(&b), dec(&o), dec(&t)) else { return Ok(None) };
        let Some(merged) = merge_text(&pb, &po, &pt) else { return Ok(None) };
        let Ok(cipher) = vault.encrypt(merged.as_bytes()) else { return Ok(None) };
        return Ok(Some(store.write_blob(&cipher)?));
    }
    match merge_text(&b, &o, &t) {
        Some(merged) => Ok(Some(store.write_blob(merged.as_bytes())?)),
        None => Ok(None),
    }
}

fn merge_text(b: &[u8], o: &[u8], t: &[u8]) -> Option<zeroize::Zeroizing<String>> {
    if !(text::is_mergeable_text(b) && text::is_mergeable_text(o) && text::is_mergeable_text(t)) {
        return None;
    }
    let s = |d: &[u8]| std::str::from_utf8(d).ok().map(str::to_string);
    let labels = Labels { ours: "ours", base: "base", theirs: "theirs" };
    match text::merge(&s(b)?, &s(o)?, &s(t)?, labels) {
        TextMerge::Clean(m) => Some(zeroize::Zeroizing::new(m)),
        TextMerge::Conflict { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: u8, mode: u32) -> Option<(Oid, u32)> {
        Some((Oid::from_bytes(&[n; 20]).unwrap(), mode))
    }

    #[test]
    fn per_path_rules() {
        let f = 0o100644;
        assert_eq!(decide(v(1, f), v(1, f), v(2, f)), Ok(v(2, f)), "only theirs changed");
        assert_eq!(decide(v(1, f), v(2, f), v(1, f)), Ok(v(2, f)), "only ours changed");
        assert_eq!(decide(v(1, f), v(2, f), v(2, f)), Ok(v(2, f)), "same change");
        assert_eq!(decide(v(1, f), None, v(1, f)), Ok(None), "deleted here, untouched there");
        assert_eq!(decide(v(1, f), None, v(3, f)), Ok(v(3, f)), "modify/delete keeps the modification");
        assert_eq!(decide(v(1, f), v(3, f), None), Ok(v(3, f)));
        assert_eq!(decide(None, None, v(4, f)), Ok(v(4, f)), "added there");
        assert_eq!(decide(v(1, f), v(1, 0o100755), v(2, f)), Err(()), "content and mode: content merge");
        assert_eq!(decide(v(1, f), v(1, 0o100755), v(1, f)), Ok(v(1, 0o100755)));
        assert_eq!(decide(v(1, f), v(2, f), v(3, f)), Err(()));
        assert_eq!(decide(None, v(2, f), v(3, f)), Err(()), "added differently on both sides");
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
}
