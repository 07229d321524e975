//! Recovery from a dotback process that was killed while it changed the store or HOME.
//!
//! A process that changes things holds the state directory's lock (the kernel releases it when
//! the process dies) and, while it does, an *in-flight* marker naming its pid and start time.
//! The next writer that takes the lock and finds a marker knows the run it names died half way,
//! so what that run leaves behind is known to be stale and is cleaned up:
//! - git lock files in the store (`index.lock`, `refs/…/*.lock`) created while it ran (from its
//!   start to ten minutes after); a lock file older or newer belongs to someone else and is
//!   left alone (the git error that follows names it);
//! - the lock on a local remote's branch (a bare repository on a disk) its push had taken:
//!   the push journal names the commit it was pushing, and only a lock holding that commit (or
//!   nothing yet) and made after the push began is removed;
//! - its temporary files (`.NAME.dotback-tmp-<pid>-<n>`) in the store, HOME and the state dir,
//!   and the plaintext files `resolve --merge` puts beside a live file for the editor
//!   (`NAME.dotback-merge-<pid>`, and `-BASE-`, `-LOCAL-`, `-REMOTE-` for a merge tool).
//!
//! A store checkout a run had begun (libgit2 rewrites work-tree files in place) is finished by
//! the next writer whether the run died or failed, so the work tree matches the commit the
//! branch points at. One that cannot be finished (a file in it was edited by hand since, or the
//! commit cannot be written out) is never a dead end: `dotback recover --abandon` gives it up and
//! puts the files back at the branch's commit, saving any changed since as backups first.
//! Without a marker no lock file is ever removed: a git the user runs may be holding it.

use crate::error::{IoContext, Op, PathError};
use crate::fsutil;
use crate::state::{Lock, StateError};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The marker's name in the state directory.
const MARKER: &str = "inflight";
/// The checkout journal's name in the store's git directory.
const CHECKOUT: &str = "dotback-checkout";
/// The push journal's name in the store's git directory.
const PUSH: &str = "dotback-push";
/// File timestamps and the clock are read at different moments: a lock file a dead run made
/// in its first instant may carry a time a little before the start it recorded.
const SLACK_NS: i128 = 2_000_000_000;
/// How long after a dead run started a lock file it left can have been made. A lock made
/// later was made by someone else (a git the user started after the crash, perhaps holding it
/// right now), and is left alone: the error that follows names it.
const WINDOW_NS: i128 = 10 * 60 * 1_000_000_000;

/// How long a push holds a remote's branch lock at most: an empty lock older than this is not
/// being written by anyone.
const LIVE_LOCK_NS: i128 = 2_000_000_000;

/// A run named in the marker: pid and start time (ns since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    pid: u32,
    start_ns: i128,
}

fn parse_marker(text: &str) -> Vec<Run> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.strip_prefix("run ")?.split(' ');
            Some(Run { pid: w.next()?.parse().ok()?, start_ns: w.next()?.parse().ok()? })
        })
        .collect()
}

fn render_marker(runs: &[Run]) -> String {
    runs.iter().map(|r| format!("run {} {}\n", r.pid, r.start_ns)).collect()
}

/// This process's in-flight marker; removed when dropped (a normal exit, an error or a panic),
/// left in place when the process is killed.
pub struct InFlight {
    path: PathBuf,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// What a writer needs to know to clean up after a dead run.
pub struct Places<'a> {
    pub state_dir: &'a Path,
    pub store: &'a Path,
    pub home: &'a Path,
}

/// Marks this process as changing things and cleans up after any run that died doing so.
/// Returns the marker and one sentence per thing cleaned up (for warnings).
pub fn begin(places: &Places, lock: &Lock) -> Result<(InFlight, Vec<String>), StateError> {
    start(places, lock, false)
}

/// Like [`begin`], but an interrupted store checkout is given up instead of finished: the
/// files it may have touched are put back at the commit the branch points at, and any of them
/// that holds neither version (edited by hand) is saved under the backups first.
pub fn begin_abandoning(places: &Places, lock: &Lock) -> Result<(InFlight, Vec<String>), StateError> {
    start(places, lock, true)
}

fn start(places: &Places, _lock: &Lock, abandon: bool) -> Result<(InFlight, Vec<String>), StateError> {
    let path = places.state_dir.join(MARKER);
    let dead = match fs::read_to_string(&path) {
        Ok(text) => parse_marker(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(PathError::new(Op::Read, path, e).into()),
    };
    let me = Run { pid: std::process::id(), start_ns: fsutil::now_ns() };
    // Dead runs stay listed until their leftovers are gone, in case this run dies too.
    let mut runs: Vec<Run> = dead.iter().copied().filter(|r| r.pid != me.pid).collect();
    runs.push(me);
    fsutil::write_atomic(&path, render_marker(&runs).as_bytes(), 0o600).context(Op::Write, &path)?;
    let marker = InFlight { path: path.clone() };
    let git_dir = places.store.join(".git");
    let git_err = |e| match e {
        Interrupted::Path(PathError { path, source, .. }) => StateError::Unfinished {
            path: places.store.to_path_buf(),
            source: io::Error::new(source.kind(), format!("{}: {source}", path.display())),
        },
        Interrupted::Git(source) => StateError::Unfinished {
            path: places.store.to_path_buf(),
            source: io::Error::other(source.message().to_string()),
        },
    };
    let mut notes = Vec::new();
    let push = git_dir.join(PUSH);
    if !dead.is_empty() {
        let since = dead.iter().map(|r| r.start_ns).min().unwrap_or(me.start_ns) - SLACK_NS;
        let until = dead.iter().map(|r| r.start_ns).max().unwrap_or(me.start_ns) + WINDOW_NS;
        let remote_lock = stale_remote_lock(places.store, &push).map_err(git_err)?;
        for lock in stale_git_locks(&git_dir, since, until).into_iter().chain(remote_lock) {
            fs::remove_file(&lock).context(Op::Write, &lock)?;
            notes.push(format!(
                "removed {}, left behind by a dotback process that was stopped while it worked",
                lock.display()
            ));
        }
        let pids: Vec<u32> = dead.iter().map(|r| r.pid).collect();
        let removed = remove_temp_files(places, &pids)?;
        if removed > 0 {
            notes.push(format!(
                "removed {removed} unfinished temporary file{} of a dotback process that was stopped while it worked",
                if removed == 1 { "" } else { "s" }
            ));
        }
    }
    // Left by a killed push (handled above) or by nothing that matters now.
    if let Err(e) = fs::remove_file(&push)
        && e.kind() != io::ErrorKind::NotFound
    {
        return Err(PathError::new(Op::Write, push, e).into());
    }
    notes.extend(if abandon { abandon_checkout(places) } else { finish_checkout(places.store) }.map_err(git_err)?);
    fsutil::write_atomic(&path, render_marker(&[me]).as_bytes(), 0o600).context(Op::Write, &path)?;
    Ok((marker, notes))
}

/// Lock files git or libgit2 create in a repository's git directory (never inside `objects/`,
/// whose temporary files git's own gc expires), made at or after `since_ns`.
fn stale_git_locks(git_dir: &Path, since_ns: i128, until_ns: i128) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut visit = |p: &Path| {
        let is_lock = p.extension().is_some_and(|e| e == "lock");
        if let (true, Ok(Some(md))) = (is_lock, fsutil::lstat(p))
            && md.is_file()
            && (since_ns..=until_ns).contains(&i128::from(fsutil::StatKey::of(&md).mtime_ns))
        {
            out.push(p.to_path_buf());
        }
    };
    if let Ok(entries) = fs::read_dir(git_dir) {
        for e in entries.flatten() {
            visit(&e.path());
        }
    }
    for sub in ["refs", "logs"] {
        for e in walkdir::WalkDir::new(git_dir.join(sub)).into_iter().flatten() {
            visit(e.path());
        }
    }
    out
}

enum Interrupted {
    Path(PathError),
    Git(git2::Error),
}

impl From<PathError> for Interrupted {
    fn from(e: PathError) -> Self {
        Interrupted::Path(e)
    }
}

impl From<git2::Error> for Interrupted {
    fn from(e: git2::Error) -> Self {
        Interrupted::Git(e)
    }
}

/// Records that the store's work tree is about to move from `from` to `to`; [`CheckoutJournal::done`]
/// clears it. A run killed in between leaves it for [`begin`] to finish the checkout.
pub struct CheckoutJournal {
    path: PathBuf,
}

impl CheckoutJournal {
    pub fn start(git_dir: &Path, from: Option<git2::Oid>, to: git2::Oid) -> io::Result<CheckoutJournal> {
        let path = git_dir.join(CHECKOUT);
        let from = from.map_or_else(|| "none".to_string(), |f| f.to_string());
        fsutil::write_atomic(&path, format!("{from} {to}\n").as_bytes(), 0o644)?;
        Ok(CheckoutJournal { path })
    }

    pub fn done(self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Records that the current branch is being pushed to a remote; removed when dropped, so it
/// stays only when the process is killed meanwhile.
pub struct PushJournal {
    path: PathBuf,
}

impl PushJournal {
    pub fn start(git_dir: &Path, remote: &str, refname: &str, commit: Option<git2::Oid>) -> io::Result<PushJournal> {
        let path = git_dir.join(PUSH);
        let commit = commit.map_or_else(|| "none".to_string(), |c| c.to_string());
        fsutil::write_atomic(&path, format!("{} {commit} {refname} {remote}\n", fsutil::now_ns()).as_bytes(), 0o644)?;
        Ok(PushJournal { path })
    }
}

impl Drop for PushJournal {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The branch lock a killed push left on a remote that is a local repository: made after the
/// push began and holding the commit it pushed (or nothing yet). Anything else is not ours.
fn stale_remote_lock(store: &Path, journal: &Path) -> Result<Option<PathBuf>, Interrupted> {
    let text = match fs::read_to_string(journal) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PathError::new(Op::Read, journal, e).into()),
    };
    let mut w = text.trim_end().splitn(4, ' ');
    let (Some(start), Some(commit), Some(refname), Some(remote)) = (w.next(), w.next(), w.next(), w.next()) else {
        return Ok(None);
    };
    let Ok(start_ns) = start.parse::<i128>() else { return Ok(None) };
    if !refname.starts_with("refs/") || refname.split('/').any(|c| c.is_empty() || c == "..") {
        return Ok(None);
    }
    let repo = git2::Repository::open(store)?;
    let Some(url) = repo.find_remote(remote).ok().and_then(|r| r.url().ok().map(String::from)) else { return Ok(None) };
    let dir = PathBuf::from(url.strip_prefix("file://").unwrap_or(&url));
    if !dir.is_absolute() {
        return Ok(None); // not a local repository
    }
    let git_dir = if dir.join(".git").is_dir() { dir.join(".git") } else { dir };
    let lock = git_dir.join(format!("{refname}.lock"));
    let read = || -> Option<(fs::Metadata, String)> {
        let md = fsutil::lstat(&lock).ok().flatten()?;
        Some((md, fs::read_to_string(&lock).unwrap_or_default()))
    };
    let Some((mut md, mut held)) = read() else { return Ok(None) };
    let made = i128::from(fsutil::StatKey::of(&md).mtime_ns);
    // A lock is empty until its writer commits it: an empty one may be another device's push
    // writing the branch this moment (for milliseconds). One younger than any live push holds
    // it is looked at again once it is that old: still there, unchanged and empty, it is the
    // dead run's.
    let young = LIVE_LOCK_NS - (fsutil::now_ns() - made);
    if held.trim().is_empty() && young > 0 {
        std::thread::sleep(std::time::Duration::from_nanos(young as u64));
        let Some(again) = read() else { return Ok(None) };
        if i128::from(fsutil::StatKey::of(&again.0).mtime_ns) != made {
            return Ok(None);
        }
        (md, held) = again;
    }
    let ours = held.trim() == commit || held.trim().is_empty();
    Ok((md.is_file() && ours && (start_ns - SLACK_NS..=start_ns + WINDOW_NS).contains(&made)).then_some(lock))
}

/// Finishes a checkout a dead run had begun: every path that differs between the commit it left
/// and the one it was going to is rewritten from the latter, and the branch moved there.
fn finish_checkout(store: &Path) -> Result<Vec<String>, Interrupted> {
    let journal = store.join(".git").join(CHECKOUT);
    let text = match fs::read_to_string(&journal) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(PathError::new(Op::Read, journal, e).into()),
    };
    let mut words = text.split_whitespace();
    let from = words.next().and_then(|w| git2::Oid::from_str(w).ok());
    let to = words.next().and_then(|w| git2::Oid::from_str(w).ok());
    let repo = git2::Repository::open(store)?;
    let head = repo.head().ok().and_then(|h| h.target());
    let note = match to {
        Some(to) if head == from || head == Some(to) => {
            let target = repo.find_commit(to)?;
            let mut co = git2::build::CheckoutBuilder::new();
            co.force().disable_pathspec_match(true);
            let mut paths = 0;
            let mut kept = Vec::new();
            if let Some(from) = from {
                // A file the dead run was writing is rewritten; one edited by hand since (newer
                // than the run could have made it, and neither version) is left as it is.
                let journal_ns =
                    fsutil::lstat(&journal).ok().flatten().map(|m| i128::from(fsutil::StatKey::of(&m).mtime_ns));
                let old = repo.find_commit(from)?.tree()?;
                let diff = repo.diff_tree_to_tree(Some(&old), Some(&target.tree()?), None)?;
                for d in diff.deltas() {
                    let ids = [d.old_file().id(), d.new_file().id()];
                    for p in [d.old_file().path(), d.new_file().path()].into_iter().flatten() {
                        let live = store.join(p);
                        let edited = match (fsutil::lstat(&live), journal_ns) {
                            (Ok(Some(md)), Some(j)) if md.is_file() => {
                                let ours = git2::Oid::hash_file(git2::ObjectType::Blob, &live).ok();
                                i128::from(fsutil::StatKey::of(&md).mtime_ns) > j + WINDOW_NS
                                    && !ours.is_some_and(|id| ids.contains(&id))
                            }
                            _ => false,
                        };
                        if edited {
                            kept.push(p.display().to_string());
                        } else {
                            co.path(p);
                            paths += 1;
                        }
                    }
                }
            }
            if !kept.is_empty() {
                // Nothing is overwritten and the branch is not moved: the user decides.
                return Err(Interrupted::Path(PathError::new(
                    Op::Write,
                    &journal,
                    io::Error::other(format!(
                        "an interrupted update of the store to commit {} was not finished because {} changed since; `dotback recover --abandon` gives the update up (saving {} as a backup first), or commit or restore {} with git and delete {}",
                        &to.to_string()[..10],
                        kept.join(", "),
                        if kept.len() == 1 { "it" } else { "them" },
                        if kept.len() == 1 { "it" } else { "them" },
                        journal.display()
                    )),
                )));
            }
            if from.is_none() || paths > 0 {
                repo.checkout_tree(target.as_object(), Some(&mut co))?;
            }
            let branch =
                repo.find_reference("HEAD")?.symbolic_target().ok().flatten().unwrap_or("refs/heads/main").to_string();
            repo.reference(&branch, to, true, "dotback: finish an interrupted checkout")?;
            format!(
                "finished updating the store to commit {}, which a stopped dotback process had begun",
                &to.to_string()[..10]
            )
        }
        // The store moved on since (a git command run by hand): there is nothing to finish.
        _ => "an interrupted store update was superseded by later changes; left the store as it is".to_string(),
    };
    fs::remove_file(&journal).context(Op::Write, &journal)?;
    Ok(vec![note])
}

/// Gives up a checkout a dead or failed run had begun: every path that differs between the
/// commit it left and the one it was going to is put back as the branch's commit has it, and a
/// file there holding neither of the two versions (nor the branch's) is saved under the
/// backups first. Paths that could lead out of the work tree are not touched.
fn abandon_checkout(places: &Places) -> Result<Vec<String>, Interrupted> {
    let store = places.store;
    let journal = store.join(".git").join(CHECKOUT);
    let text = match fs::read_to_string(&journal) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(PathError::new(Op::Read, journal, e).into()),
    };
    let mut words = text.split_whitespace();
    let mut commit = || words.next().and_then(|w| git2::Oid::from_str(w).ok());
    let (from, to) = (commit(), commit());
    let repo = git2::Repository::open(store)?;
    let tree_of = |id: Option<git2::Oid>| id.and_then(|c| repo.find_commit(c).ok()).and_then(|c| c.tree().ok());
    let head = repo.head().ok().and_then(|h| h.target());
    let head_tree = match tree_of(head) {
        Some(t) => t,
        None => repo.find_tree(repo.treebuilder(None)?.write()?)?,
    };
    let (from_tree, to_tree) = (tree_of(from), tree_of(to));
    let mut paths: Vec<PathBuf> = Vec::new();
    if to_tree.is_some() {
        let diff = repo.diff_tree_to_tree(from_tree.as_ref(), to_tree.as_ref(), None)?;
        for d in diff.deltas() {
            for p in [d.old_file().path(), d.new_file().path()].into_iter().flatten() {
                if !paths.iter().any(|q| q == p) {
                    paths.push(p.to_path_buf());
                }
            }
        }
    }
    let known = |p: &Path| -> Vec<git2::Oid> {
        [&from_tree, &to_tree, &Some(head_tree.clone())]
            .into_iter()
            .flatten()
            .filter_map(|t| t.get_path(p).ok())
            .map(|e| e.id())
            .collect()
    };
    let mut backups = crate::state::Backups::new(places.state_dir, Default::default());
    let mut co = git2::build::CheckoutBuilder::new();
    co.force().remove_untracked(true).disable_pathspec_match(true);
    let mut touched = 0;
    for p in &paths {
        let Some(live) = within(store, p) else { continue };
        if let Ok(Some(md)) = fsutil::lstat(&live)
            && md.is_file()
        {
            let id = fsutil::hash_file(&live).context(Op::Read, &live)?;
            if !known(p).contains(&id) {
                let saved = backups.save(&live, &p.to_string_lossy());
                saved.map_err(|e| PathError::new(Op::Write, &live, io::Error::other(e.to_string())))?;
            }
        }
        co.path(p);
        touched += 1;
    }
    if touched > 0 {
        repo.checkout_tree(head_tree.as_object(), Some(&mut co))?;
    }
    fs::remove_file(&journal).context(Op::Write, &journal)?;
    let short = |id: Option<git2::Oid>| id.map_or_else(|| "(none)".to_string(), |c| c.to_string()[..10].to_string());
    let mut note = format!(
        "gave up the interrupted update of the store to commit {}: its files are back at commit {}",
        short(to),
        short(head)
    );
    if let Some(dir) = backups.dir() {
        note.push_str(&format!(
            "; {} file{} changed since {} saved in {} first",
            backups.saved,
            if backups.saved == 1 { "" } else { "s" },
            if backups.saved == 1 { "was" } else { "were" },
            dir.display()
        ));
    }
    Ok(vec![note])
}

/// `rel` below `root`, when it names a place inside it: plain components only, none of them
/// `.git`, and no symlink on the way.
fn within(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for (i, c) in parts.iter().enumerate() {
        let std::path::Component::Normal(name) = c else { return None };
        if name.to_str().is_none_or(crate::tree_check::is_git_name) {
            return None;
        }
        path.push(name);
        if i + 1 < parts.len() && fsutil::lstat(&path).ok().flatten().is_some_and(|m| !m.is_dir()) {
            return None;
        }
    }
    Some(path)
}

/// The sides of a merge `resolve --merge` writes beside the live file: the file the editor
/// settles, and the inputs of a merge tool.
const MERGE_SIDES: [&str; 4] = ["merge", "BASE", "LOCAL", "REMOTE"];

/// The name of the file holding `side` of a merge of the file `leaf`, made by process `pid`.
/// It keeps the extension, so the editor picks the right syntax.
pub fn merge_file_name(leaf: &str, side: &str, pid: u32) -> String {
    format!("{leaf}.dotback-{side}-{pid}{}", extension(leaf))
}

/// `.EXT` of a file name, or nothing.
fn extension(leaf: &str) -> String {
    Path::new(leaf).extension().and_then(|e| e.to_str()).map(|e| format!(".{e}")).unwrap_or_default()
}

/// A file a dotback run made by one of `pids` left unfinished: a temporary file
/// (`.NAME.dotback-tmp-<pid>-<n>`) or one of a merge's sides ([`merge_file_name`]).
fn is_temp_of(name: &str, pids: &[u32]) -> bool {
    let of = |pid: &str| pid.parse::<u32>().is_ok_and(|p| pids.contains(&p));
    if let Some((_, rest)) = name.rsplit_once(".dotback-tmp-") {
        let Some((pid, n)) = rest.split_once('-') else { return false };
        return name.starts_with('.') && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && of(pid);
    }
    let Some((leaf, rest)) = name.rsplit_once(".dotback-") else { return false };
    let Some((side, tail)) = rest.split_once('-') else { return false };
    let pid = tail.strip_suffix(&extension(leaf)).unwrap_or_default();
    MERGE_SIDES.contains(&side) && pid.bytes().all(|b| b.is_ascii_digit()) && of(pid)
}

/// Removes the dead runs' temporary files from the store's work tree, the directories of HOME
/// the store manages, and the state directory. Returns how many went.
fn remove_temp_files(places: &Places, pids: &[u32]) -> Result<usize, StateError> {
    let mut dirs: Vec<PathBuf> = vec![places.state_dir.to_path_buf(), places.home.to_path_buf()];
    for e in walkdir::WalkDir::new(places.store).into_iter().filter_entry(|e| e.file_name() != ".git").flatten() {
        if !e.file_type().is_dir() {
            continue;
        }
        dirs.push(e.path().to_path_buf());
        // The HOME directory this store directory stands for.
        let rel = e.path().strip_prefix(places.store).unwrap_or(Path::new(""));
        if let Some(target) = rel.to_str().and_then(crate::managed::target_of_source)
            && !target.is_empty()
        {
            dirs.push(places.home.join(target));
        }
    }
    let mut removed = 0;
    for dir in dirs {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if !is_dir && is_temp_of(&e.file_name().to_string_lossy(), pids) {
                let p = e.path();
                fs::remove_file(&p).context(Op::Write, &p)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn places(root: &Path) -> (PathBuf, PathBuf, PathBuf) {
        let (state, store, home) = (root.join("state"), root.join("store"), root.join("home"));
        for d in [&state, &store, &home] {
            fs::create_dir_all(d).unwrap();
        }
        (state, store, home)
    }

    #[test]
    fn a_young_empty_remote_lock_is_looked_at_again_and_removed_only_if_unchanged() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, remote) = (tmp.path().join("store"), tmp.path().join("remote.git"));
        let repo = git2::Repository::init(&store).unwrap();
        git2::Repository::init_bare(&remote).unwrap();
        repo.remote("origin", remote.to_str().unwrap()).unwrap();
        let journal = store.join(".git").join(PUSH);
        let lock = remote.join("refs/heads/main.lock");
        let start = fsutil::now_ns() - 1_000_000_000;
        fs::write(&journal, format!("{start} {} refs/heads/main origin\n", "a".repeat(40))).unwrap();
        // Made a moment ago by the killed push, and still empty: the dead run's, after a look again.
        fs::write(&lock, "").unwrap();
        assert_eq!(stale_remote_lock(&store, &journal).ok().unwrap(), Some(lock.clone()));
        // Another device's push writes it meanwhile: not ours.
        fs::write(&lock, "").unwrap();
        let writer = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(500));
                fs::write(&lock, format!("{}\n", "b".repeat(40))).unwrap();
            })
        };
        assert_eq!(stale_remote_lock(&store, &journal).ok().unwrap(), None);
        writer.join().unwrap();
    }

    #[test]
    fn temp_names_are_matched_by_pid() {
        assert!(is_temp_of(".zshrc.dotback-tmp-42-0", &[42]));
        assert!(is_temp_of(".a.b.dotback-tmp-42-17", &[7, 42]));
        assert!(!is_temp_of(".zshrc.dotback-tmp-43-0", &[42]));
        assert!(!is_temp_of("zshrc.dotback-tmp-42-0", &[42]));
        assert!(!is_temp_of(".zshrc.dotback-tmp-42-", &[42]));
        assert!(!is_temp_of(".zshrc", &[42]));
    }

    #[test]
    fn merge_files_are_matched_by_pid_and_the_name_they_were_made_with() {
        for (leaf, side) in [(".netrc", "merge"), ("init.lua", "merge"), ("a.b.toml", "BASE"), ("x", "REMOTE")] {
            let name = merge_file_name(leaf, side, 42);
            assert!(is_temp_of(&name, &[7, 42]), "{name}");
            assert!(!is_temp_of(&name, &[4]), "{name}");
        }
        assert_eq!(merge_file_name("init.lua", "merge", 42), "init.lua.dotback-merge-42.lua");
        assert!(!is_temp_of("init.lua.dotback-merge-42", &[42]), "another extension");
        assert!(!is_temp_of("x.dotback-theirs-42", &[42]));
        assert!(!is_temp_of("x.dotback-merge-", &[42]));
        assert!(!is_temp_of("x.dotback-conflict-laptop-20240101-120000", &[42]));
        assert!(!is_temp_of("x.dotback-merge-4x2", &[42]));
    }

    #[test]
    fn a_clean_exit_leaves_no_marker_and_nothing_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let (state, store, home) = places(dir.path());
        let (_repo, _) = crate::store::Store::init(&store).unwrap();
        let lock = Lock::acquire(&state, Duration::ZERO).unwrap();
        fs::write(store.join(".git/index.lock"), "a user's git").unwrap();
        let p = Places { state_dir: &state, store: &store, home: &home };
        let (marker, notes) = begin(&p, &lock).unwrap();
        assert!(notes.is_empty() && state.join(MARKER).exists());
        drop(marker);
        assert!(!state.join(MARKER).exists());
        let (_marker, notes) = begin(&p, &lock).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert!(store.join(".git/index.lock").exists(), "no marker: a lock file is never removed");
    }

    #[test]
    fn a_lock_made_long_after_a_dead_run_started_is_someone_elses() {
        let dir = tempfile::tempdir().unwrap();
        let (state, store, home) = places(dir.path());
        let (_repo, _) = crate::store::Store::init(&store).unwrap();
        // A run that died a day ago; a git the user runs now holds index.lock.
        let dead = Run { pid: 4_000_001, start_ns: fsutil::now_ns() - 24 * 3600 * 1_000_000_000 };
        fs::write(state.join(MARKER), render_marker(&[dead])).unwrap();
        fs::write(store.join(".git/index.lock"), "").unwrap();
        let lock = Lock::acquire(&state, Duration::ZERO).unwrap();
        let p = Places { state_dir: &state, store: &store, home: &home };
        let (_marker, notes) = begin(&p, &lock).unwrap();
        assert!(store.join(".git/index.lock").exists(), "the user's lock stays: {notes:?}");
    }

    #[test]
    fn a_dead_runs_locks_and_temp_files_go_older_locks_stay() {
        let dir = tempfile::tempdir().unwrap();
        let (state, store, home) = places(dir.path());
        let (_repo, _) = crate::store::Store::init(&store).unwrap();
        fs::create_dir_all(store.join("dot_config")).unwrap();
        fs::create_dir_all(home.join(".config")).unwrap();
        fs::create_dir_all(store.join(".git/refs/remotes/origin")).unwrap();
        // Older than the dead run: someone else's.
        fs::write(store.join(".git/packed-refs.lock"), "").unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        fs::File::options().write(true).open(store.join(".git/packed-refs.lock")).unwrap().set_modified(old).unwrap();
        let dead = Run { pid: 4_000_000, start_ns: fsutil::now_ns() };
        fs::write(state.join(MARKER), render_marker(&[dead])).unwrap();
        for f in [".git/index.lock", ".git/refs/remotes/origin/main.lock", ".dot_zshrc.dotback-tmp-4000000-3"] {
            fs::write(store.join(f), "").unwrap();
        }
        fs::write(home.join(".config/.init.lua.dotback-tmp-4000000-0"), "half").unwrap();
        fs::write(home.join(".config/.x.dotback-tmp-99-0"), "another process's").unwrap();
        fs::write(state.join(".cache.bin.dotback-tmp-4000000-1"), "half").unwrap();
        let lock = Lock::acquire(&state, Duration::ZERO).unwrap();
        let p = Places { state_dir: &state, store: &store, home: &home };
        let (_marker, notes) = begin(&p, &lock).unwrap();
        assert!(!store.join(".git/index.lock").exists() && !store.join(".git/refs/remotes/origin/main.lock").exists());
        assert!(store.join(".git/packed-refs.lock").exists(), "a lock older than the dead run stays");
        assert!(!store.join(".dot_zshrc.dotback-tmp-4000000-3").exists());
        assert!(!home.join(".config/.init.lua.dotback-tmp-4000000-0").exists());
        assert!(!state.join(".cache.bin.dotback-tmp-4000000-1").exists());
        assert!(home.join(".config/.x.dotback-tmp-99-0").exists(), "not the dead run's");
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert_eq!(parse_marker(&fs::read_to_string(state.join(MARKER)).unwrap()).len(), 1, "only this run now");
    }

    /// A store whose checkout from its first commit to its second was cut short an hour ago,
    /// and whose `dot_a` was edited by hand since; returns it and the first commit.
    fn checkout_interrupted_then_edited(root: &Path) -> (crate::store::Store, git2::Oid) {
        let (store, _) = crate::store::Store::init(root).unwrap();
        fs::write(root.join("dot_a"), "one\n").unwrap();
        let first = store.commit_all("t", "one").unwrap().unwrap();
        fs::write(root.join("dot_a"), "two\n").unwrap();
        let second = store.commit_all("t", "two").unwrap().unwrap();
        store.checkout(first).unwrap();
        CheckoutJournal::start(&root.join(".git"), Some(first), second).unwrap();
        // The journal is old; the file was edited by hand long after.
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        fs::File::options().write(true).open(root.join(".git").join(CHECKOUT)).unwrap().set_modified(old).unwrap();
        fs::write(root.join("dot_a"), "my own edit\n").unwrap();
        (store, first)
    }

    #[test]
    fn a_file_edited_by_hand_after_an_interrupted_checkout_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let (state, root, home) = places(dir.path());
        let (store, first) = checkout_interrupted_then_edited(&root);
        let lock = Lock::acquire(&state, Duration::ZERO).unwrap();
        let Err(e) = begin(&Places { state_dir: &state, store: &root, home: &home }, &lock) else {
            panic!("an edited file must stop the recovery")
        };
        assert!(e.to_string().contains(&root.display().to_string()), "{e}");
        assert_eq!(fs::read_to_string(root.join("dot_a")).unwrap(), "my own edit\n", "not overwritten");
        assert_eq!(store.head_commit().unwrap(), Some(first), "the branch did not move");
    }

    #[test]
    fn a_checkout_that_cannot_be_finished_can_be_given_up() {
        let dir = tempfile::tempdir().unwrap();
        let (state, root, home) = places(dir.path());
        let (store, _) = crate::store::Store::init(&root).unwrap();
        fs::write(root.join("dot_a"), "one\n").unwrap();
        fs::write(root.join("dot_b"), "keep\n").unwrap();
        let first = store.commit_all("t", "one").unwrap().unwrap();
        // A commit no file system can check out (a 300-byte name), made by hand.
        let repo = &store.repo;
        let blob = repo.blob(b"two\n").unwrap();
        let mut tb = repo.treebuilder(Some(&repo.find_commit(first).unwrap().tree().unwrap())).unwrap();
        tb.insert("dot_a", blob, 0o100644).unwrap();
        tb.insert("dot_new", blob, 0o100644).unwrap();
        let mut raw = repo.odb().unwrap().read(tb.write().unwrap()).unwrap().data().to_vec();
        raw.extend_from_slice(format!("100644 {}\0", "z".repeat(300)).as_bytes());
        raw.extend_from_slice(blob.as_bytes());
        let tree = repo.odb().unwrap().write(git2::ObjectType::Tree, &raw).unwrap();
        let sig = git2::Signature::now("t", "t@x").unwrap();
        let bad = repo
            .commit(None, &sig, &sig, "bad", &repo.find_tree(tree).unwrap(), &[&repo.find_commit(first).unwrap()])
            .unwrap();
        assert!(store.checkout(bad).is_err(), "the checkout fails part way");
        assert!(root.join(".git").join(CHECKOUT).exists());
        fs::write(root.join("dot_b"), "edited by hand\n").unwrap();
        let lock = Lock::acquire(&state, Duration::ZERO).unwrap();
        let p = Places { state_dir: &state, store: &root, home: &home };
        let Err(e) = begin(&p, &lock) else { panic!("the update cannot be finished") };
        let e = format!("{e}: {}", std::error::Error::source(&e).unwrap());
        assert!(e.contains("File name too long"), "{e}");
        for _ in 0..2 {
            assert!(begin(&p, &lock).is_err(), "and it stays so, until given up");
        }
        let (_marker, notes) = begin_abandoning(&p, &lock).unwrap();
        assert!(notes.iter().any(|n| n.contains("gave up")), "{notes:?}");
        assert_eq!(store.head_commit().unwrap(), Some(first));
        assert_eq!(fs::read_to_string(root.join("dot_a")).unwrap(), "one\n");
        assert!(!root.join("dot_new").exists());
        assert!(store.uncommitted().unwrap().iter().all(|u| u.path == "dot_b"), "{:?}", store.uncommitted().unwrap());
        assert_eq!(fs::read_to_string(root.join("dot_b")).unwrap(), "edited by hand\n", "not a path of the update");
        assert!(!root.join(".git").join(CHECKOUT).exists());
        drop(_marker);
        let (_marker, notes) = begin(&p, &lock).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn giving_up_a_checkout_keeps_a_file_edited_since_as_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let (state, root, home) = places(dir.path());
        let (store, first) = checkout_interrupted_then_edited(&root);
        let lock = Lock::acquire(&state, Duration::ZERO).unwrap();
        let p = Places { state_dir: &state, store: &root, home: &home };
        assert!(begin(&p, &lock).is_err(), "an edited file stops the recovery");
        let (_marker, notes) = begin_abandoning(&p, &lock).unwrap();
        assert!(notes.iter().any(|n| n.contains("1 file changed since was saved")), "{notes:?}");
        assert_eq!(fs::read_to_string(root.join("dot_a")).unwrap(), "one\n", "back at the branch's commit");
        let saved: Vec<_> = walkdir::WalkDir::new(state.join("backups"))
            .into_iter()
            .flatten()
            .filter(|e| e.file_name() == "dot_a")
            .map(|e| fs::read_to_string(e.path()).unwrap())
            .collect();
        assert_eq!(saved, ["my own edit\n"]);
        assert_eq!(store.head_commit().unwrap(), Some(first));
    }

    #[test]
    fn an_interrupted_checkout_is_finished() {
        let dir = tempfile::tempdir().unwrap();
        let (state, root, home) = places(dir.path());
        let (store, _) = crate::store::Store::init(&root).unwrap();
        fs::write(root.join("dot_a"), "one\n").unwrap();
        fs::write(root.join("dot_b"), "keep\n").unwrap();
        let first = store.commit_all("t", "one").unwrap().unwrap();
        fs::write(root.join("dot_a"), "two, longer\n").unwrap();
        fs::remove_file(root.join("dot_b")).unwrap();
        fs::write(root.join("dot_c"), "new\n").unwrap();
        let second = store.commit_all("t", "two").unwrap().unwrap();
        // Back at the first commit, with a checkout of the second cut short: a partial file.
        store.checkout(first).unwrap();
        fs::write(root.join("dot_a"), "tw").unwrap();
        CheckoutJournal::start(&root.join(".git"), Some(first), second).unwrap();
        fs::write(state.join(MARKER), render_marker(&[Run { pid: 4_000_001, start_ns: fsutil::now_ns() }])).unwrap();
        let lock = Lock::acquire(&state, Duration::ZERO).unwrap();
        let (_marker, notes) = begin(&Places { state_dir: &state, store: &root, home: &home }, &lock).unwrap();
        assert!(notes.iter().any(|n| n.contains("finished updating the store")), "{notes:?}");
        assert_eq!(store.head_commit().unwrap(), Some(second));
        assert_eq!(fs::read_to_string(root.join("dot_a")).unwrap(), "two, longer\n");
        assert!(!root.join("dot_b").exists());
        assert_eq!(fs::read_to_string(root.join("dot_c")).unwrap(), "new\n");
        assert!(store.uncommitted().unwrap().is_empty(), "{:?}", store.uncommitted().unwrap());
        assert!(!root.join(".git").join(CHECKOUT).exists());
    }
}
