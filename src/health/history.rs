//! The store's history: `dotback log` (commits, of the store or of one target, merged with the
//! audit trail) and `dotback restore --at` (a target as it was at a commit).
//!
//! A target's history follows the target, not a file name: `~/.zshrc` is `dot_zshrc` in one
//! commit, `private_dot_zshrc` in the next and `encrypted_private_dot_zshrc.age` after that, and
//! each of those commits is its history. Each commit's tree is decoded one component at a time
//! with the source codec, so no commit is scanned whole.
//!
//! Restore reads the commit's tree as apply reads a past commit ([`managed::scan_commit`]) and
//! writes what it decodes through apply itself: atomic writes with their modes, a backup of
//! whatever is live first, decrypted with this device's identities. It never records a base: a
//! restored file is an edit in HOME like any other, which the next commit captures (or which
//! `dotback apply` undoes). It removes nothing: what HOME gained since stays.

use crate::apply::{self, ApplyError, PlanOptions, Step};
use crate::audit;
use crate::context::Context;
use crate::error::{IoContext, Op, PathError};
use crate::eval::{self, Change, EvalError, Selection};
use crate::events::{Phase, Sink};
use crate::health::when::{self, When};
use crate::managed::{self, ScanError};
use crate::session::Session;
use crate::source::{self, Kind, OnDisk};
use crate::state::Cache;
use crate::store::{Store, StoreError};
use serde::Serialize;
use std::collections::HashMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

/// At most this many commits are looked at for one target's history.
const WALK_LIMIT: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("the store has no commits yet")]
    NoCommits,
    #[error("no commit in the store starts with `{given}`")]
    UnknownCommit { given: String },
    #[error("more than one commit in the store starts with `{given}`")]
    AmbiguousCommit { given: String },
    #[error("the store has no commit from {} or before: its first is from {}", utc(*when), utc(*first))]
    BeforeFirst { when: i64, first: i64 },
    #[error("~/{target} is not in the store at commit {} ({})", short(commit), utc(*time))]
    NotThere { target: String, commit: String, time: i64 },
    #[error("~/{target} is a {reason} at commit {}: chezmoi renders it, so dotback does not restore it", short(commit))]
    Delegated { target: String, commit: String, reason: &'static str },
    #[error("{} is {what}; restore writes nothing there", dir.display())]
    OwnPlace { dir: PathBuf, what: &'static str },
    #[error("{} encrypted file{} cannot be decrypted here (nothing was restored): {}", list.len(), plural(list.len()), list.join("; "))]
    Locked { list: Vec<String> },
    #[error("{} path{} of that commit {} refused (nothing was restored): {}", list.len(), plural(list.len()), if list.len() == 1 { "is" } else { "are" }, list.join("; "))]
    Refused { list: Vec<String> },
    #[error("~/{target} could not be restored (the rest was)")]
    Failed {
        target: String,
        #[source]
        source: ApplyError,
    },
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A commit id as people read it.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// A Unix time as UTC, for messages (`2026-11-30 18:00:00 UTC`).
pub fn utc(t: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(t).ok().and_then(|t| t.format(&fmt).ok()).unwrap_or_else(|| t.to_string())
}

/// What `dotback log` lists.
#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    /// Only the commits that changed this target (and what is below it); the whole store when
    /// `None`.
    pub target: Option<String>,
    /// Every device's audit records; without it, the store's log has this device's records and
    /// a target's log none (records name no paths).
    pub all_devices: bool,
    /// The newest this many entries.
    pub limit: usize,
}

/// `dotback log`'s answer, newest first.
#[derive(Debug, Serialize)]
pub struct Log {
    pub target: Option<String>,
    pub entries: Vec<Entry>,
    /// Older entries were left out (`limit`).
    pub more: bool,
}

/// One commit or audit record.
#[derive(Debug, Serialize)]
pub struct Entry {
    /// Unix seconds (a commit's committer time).
    pub time: i64,
    /// The device a commit's `Device:` line names (else its author), or the record's device.
    pub device: String,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    Commit {
        id: String,
        subject: String,
        author: String,
        /// For a target's log: its source paths before and after the commit (two when its
        /// attributes changed, one when its content did).
        sources: Vec<String>,
    },
    Audit {
        record: audit::Record,
    },
}

/// The history of the store, or of one target, merged with the audit trail, newest first.
pub fn log(s: &Session, opts: &LogOptions) -> Result<Log, HistoryError> {
    let store = s.store()?;
    let commits = match &opts.target {
        None => store.history(opts.limit.saturating_add(1))?.into_iter().map(|id| (id, Vec::new())).collect(),
        Some(target) => target_commits(&store, target, opts.limit.saturating_add(1))?,
    };
    let mut entries = Vec::with_capacity(commits.len());
    for (id, sources) in commits {
        let info = store.commit_info(id)?;
        let subject = info.message.lines().next().unwrap_or_default().to_string();
        let device = crate::merge::conflict::device_of(&info.message).unwrap_or_else(|| info.author.clone());
        let what = What::Commit { id: id.to_string(), subject, author: info.author, sources };
        entries.push(Entry { time: info.time, device, what });
    }
    let records = match (opts.all_devices, &opts.target) {
        (true, _) => audit::read_all(&s.ctx.store),
        (false, None) => audit::read(&s.ctx.store, &s.ctx.device),
        (false, Some(_)) => Vec::new(),
    };
    // Each device's records come oldest first: reversed, records of the same second keep
    // their order through the sort below.
    for record in records.into_iter().rev() {
        // A record whose time cannot be read has no place in a timeline.
        if let Some(time) = when::instant(&record.time) {
            entries.push(Entry { time, device: record.device.clone(), what: What::Audit { record } });
        }
    }
    // Newest first; among equal times, commits in the walk's order, then records.
    entries.sort_by_key(|e| std::cmp::Reverse(e.time));
    let more = entries.len() > opts.limit;
    entries.truncate(opts.limit);
    Ok(Log { target: opts.target.clone(), entries, more })
}

/// Where a target is in one commit: its source path and the id of its blob or tree.
type Place = Option<(String, git2::Oid)>;

/// The newest `limit` commits that changed `target`, each with the target's source paths
/// around it: a commit counts when the target's place differs from every parent's (as git
/// counts a merge), the first when it has the target at all.
fn target_commits(store: &Store, target: &str, limit: usize) -> Result<Vec<(git2::Oid, Vec<String>)>, HistoryError> {
    let mut places: HashMap<git2::Oid, Place> = HashMap::new();
    let mut place = |id: git2::Oid| -> Result<Place, StoreError> {
        if let Some(p) = places.get(&id) {
            return Ok(p.clone());
        }
        let p = locate(store, store.commit_tree(id)?, target)?;
        places.insert(id, p.clone());
        Ok(p)
    };
    let mut out = Vec::new();
    for id in store.history(WALK_LIMIT)? {
        let mine = place(id)?;
        let before: Vec<Place> = store.parents(id)?.into_iter().map(&mut place).collect::<Result<_, _>>()?;
        let changed = if before.is_empty() { mine.is_some() } else { before.iter().all(|p| *p != mine) };
        if !changed {
            continue;
        }
        let mut sources: Vec<String> = before.into_iter().chain([mine]).flatten().map(|(s, _)| s).collect();
        sources.dedup();
        out.push((id, sources));
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// Where `target` is in the tree `top`: each component is found by decoding the names of its
/// directory (below `.chezmoiroot`'s directory when the commit has one). Names below an
/// `external_` directory are chezmoi's literal names.
fn locate(store: &Store, top: git2::Oid, target: &str) -> Result<Place, StoreError> {
    const TREE: u32 = 0o040000;
    let mut tree = top;
    let mut path = String::new();
    let root_file = store.tree_items(top)?.into_iter().find(|i| i.name == b".chezmoiroot" && i.mode != TREE);
    if let Some(file) = root_file {
        let root = String::from_utf8_lossy(&store.blob(file.id)?).trim().to_string();
        for name in root.split('/').filter(|c| !c.is_empty()) {
            let items = store.tree_items(tree)?;
            let Some(dir) = items.into_iter().find(|i| i.name == name.as_bytes() && i.mode == TREE) else {
                return Ok(None);
            };
            tree = dir.id;
            path = managed::join(&path, name);
        }
    }
    let parts: Vec<&str> = target.split('/').collect();
    let mut literal = false;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let found = store.tree_items(tree)?.into_iter().find_map(|item| {
            let name = String::from_utf8(item.name.clone()).ok()?;
            if literal {
                return (name == *part).then_some((item, name, false));
            }
            let on_disk = if item.mode == TREE { OnDisk::Dir } else { OnDisk::File };
            let entry = source::decode(&name, on_disk).ok()??;
            let fits = entry.name == *part && (last || entry.kind == Kind::Dir);
            fits.then_some((item, name, entry.attrs.external))
        });
        let Some((item, name, external)) = found else { return Ok(None) };
        path = managed::join(&path, &name);
        if last {
            return Ok(Some((path, item.id)));
        }
        if item.mode != TREE {
            return Ok(None);
        }
        tree = item.id;
        literal |= external;
    }
    Ok(None)
}

/// What `dotback restore` is asked to do.
#[derive(Clone, Debug)]
pub struct RestoreOptions {
    /// The target (relative to HOME; "" for everything).
    pub target: String,
    pub at: When,
    /// Write below this directory instead of HOME (created when missing).
    pub to: Option<PathBuf>,
}

/// What `dotback restore` did.
#[derive(Debug, Serialize)]
pub struct Restored {
    pub target: String,
    /// The commit restored from, and its committer time (Unix seconds).
    pub commit: String,
    pub commit_time: i64,
    /// Where it was written: HOME, or the `--to` directory.
    pub root: PathBuf,
    /// Targets written (files, links, directories made or given their mode back).
    pub written: Vec<String>,
    /// Selected targets already as they were.
    pub unchanged: usize,
    /// Where what was live before was saved, when anything was.
    pub backup_dir: Option<PathBuf>,
    /// Entries below the target that chezmoi renders (templates, scripts, …), not restored.
    pub delegated: Vec<Delegated>,
    /// Restored into HOME, but not in the store now: no commit keeps them until they are added.
    pub not_in_store: Vec<String>,
    /// Edited while restore ran: left as they were.
    pub changed_meanwhile: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Delegated {
    pub target: String,
    pub reason: &'static str,
}

/// Restores a target as it was at a commit, into HOME or below `--to`; one audit record (counts
/// only) says how it went.
pub fn restore(s: &mut Session, opts: &RestoreOptions, sink: &dyn Sink) -> Result<Restored, HistoryError> {
    let started = std::time::Instant::now();
    let result = restore_into(s, opts, sink);
    let (outcome, applied) = match &result {
        Ok(r) => ("ok", r.written.len()),
        Err(_) => ("error", 0),
    };
    let record = audit::Record {
        time: crate::state::rfc3339_now(),
        device: s.ctx.device.clone(),
        user: audit::user(),
        command: "restore".into(),
        outcome: outcome.into(),
        applied,
        duration_ms: started.elapsed().as_millis() as u64,
        ..Default::default()
    };
    if let Err(e) = audit::append(&s.ctx.store, &record) {
        sink.warn(format!("could not append to the audit trail {}: {e}", audit::file(&s.ctx.store, &record).display()));
    }
    result
}

fn restore_into(s: &mut Session, opts: &RestoreOptions, sink: &dyn Sink) -> Result<Restored, HistoryError> {
    let store = s.store()?;
    let commit = resolve(&store, &opts.at)?;
    let commit_time = store.commit_time(commit)?;
    let state = managed::scan_commit(&store, commit, &s.trust().manifest.rules.only)?;
    let target = &opts.target;
    if !target.is_empty() {
        match state.get(target) {
            None => {
                return Err(HistoryError::NotThere {
                    target: target.clone(),
                    commit: commit.to_string(),
                    time: commit_time,
                });
            }
            Some(m) if !m.is_native() => {
                let reason = apply::delegation_reason(m);
                return Err(HistoryError::Delegated { target: target.clone(), commit: commit.to_string(), reason });
            }
            Some(_) => {}
        }
    }
    let sel = Selection::of(vec![target.clone()]);
    let delegated = apply::delegated(&state, &sel)
        .filter(|(m, _)| sel.contains(&m.target))
        .map(|(m, reason)| Delegated { target: m.target.clone(), reason })
        .collect();
    let ctx = match &opts.to {
        None => s.ctx.clone(),
        Some(dir) => rooted(&s.ctx, dir)?,
    };
    // A cache of its own, never saved: nothing restore does is a base.
    let mut cache = Cache::empty();
    let vault = s.vault();
    let evals: Vec<_> =
        eval::evaluate(&ctx, &state, &mut cache, vault, &sel)?.into_iter().filter(|e| sel.touches(&e.target)).collect();
    let why = |e: &eval::Eval| format!("~/{}: {}", e.target, e.why.as_deref().unwrap_or(e.change.describe()));
    let locked: Vec<String> =
        evals.iter().filter(|e| matches!(e.change, Change::Locked | Change::WaitingForIdentity)).map(why).collect();
    if !locked.is_empty() {
        return Err(HistoryError::Locked { list: locked });
    }
    let refused: Vec<String> = evals.iter().filter(|e| e.change == Change::Refused).map(why).collect();
    if !refused.is_empty() {
        return Err(HistoryError::Refused { list: refused });
    }
    let unchanged = evals.iter().filter(|e| e.change == Change::Clean && sel.contains(&e.target)).count();
    // Everything selected as it was, removing nothing; of the directories on the way, only those
    // missing are made.
    let actions: Vec<_> = apply::plan(&evals, PlanOptions { force: true, keep_deleted: false })
        .into_iter()
        .filter(|a| match a.step {
            Step::Remove | Step::RemoveDir => false,
            Step::MakeDir { .. } if !sel.contains(&a.target) => a.expected.is_none(),
            _ => sel.contains(&a.target),
        })
        .collect();
    let phase = Phase::start(sink, "restoring", actions.len());
    let mut report = apply::execute(&ctx, &state, vault, &actions, &mut cache, &|_| phase.step())?;
    drop(phase);
    if let Some((target, source)) = report.failed.drain(..).next() {
        return Err(HistoryError::Failed { target, source });
    }
    let not_in_store = match opts.to {
        Some(_) => Vec::new(),
        None => report.written.iter().filter(|t| s.state.get(t).is_none()).cloned().collect(),
    };
    let changed_meanwhile =
        report.skipped.iter().filter(|(_, c)| *c == Change::ChangedMeanwhile).map(|(t, _)| t.clone()).collect();
    Ok(Restored {
        target: target.clone(),
        commit: commit.to_string(),
        commit_time,
        root: ctx.paths.home.clone(),
        written: report.written,
        unchanged,
        backup_dir: report.backup_dir,
        delegated,
        not_in_store,
        changed_meanwhile,
    })
}

/// The commit WHEN names: a commit by its id, or the branch's newest commit at or before a
/// time (following first parents: the branch as this device had it then).
pub fn resolve(store: &Store, at: &When) -> Result<git2::Oid, HistoryError> {
    match at {
        When::Commit(given) => match store.repo.find_commit_by_prefix(given) {
            Ok(c) => Ok(c.id()),
            Err(e) if e.code() == git2::ErrorCode::Ambiguous => {
                Err(HistoryError::AmbiguousCommit { given: given.clone() })
            }
            Err(_) => Err(HistoryError::UnknownCommit { given: given.clone() }),
        },
        When::Time(t) => {
            let mut id = store.head_commit()?.ok_or(HistoryError::NoCommits)?;
            loop {
                let time = store.commit_time(id)?;
                if time <= *t {
                    return Ok(id);
                }
                match store.parents(id)?.first() {
                    Some(parent) => id = *parent,
                    None => return Err(HistoryError::BeforeFirst { when: *t, first: time }),
                }
            }
        }
    }
}

/// `ctx` writing below `dir` instead of HOME (made, private, when missing). A directory inside
/// one of dotback's own places is refused; below `dir`, apply keeps out of them as in HOME.
fn rooted(ctx: &Context, dir: &std::path::Path) -> Result<Context, HistoryError> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).context(Op::Write, dir)?;
    let canon = dir.canonicalize().context(Op::Read, dir)?;
    if let Some(what) = ctx.own_place(&canon) {
        return Err(HistoryError::OwnPlace { dir: dir.to_path_buf(), what });
    }
    let mut rooted = ctx.clone();
    rooted.paths.home = canon.clone();
    rooted.home_canon = canon;
    Ok(rooted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A target's commits follow it through renames of its attributes, encryption, a move below
    /// `.chezmoiroot` and its deletion, and skip commits that left it alone.
    #[test]
    fn a_targets_history_follows_its_source_names() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let (store, _) = Store::init(&root).unwrap();
        let put = |rel: &str, data: &str| {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, data).unwrap();
        };
        let remove = |rel: &str| fs::remove_file(root.join(rel)).unwrap();
        let commit = |what: &str| store.commit_all("t", what).unwrap().unwrap();
        put("dot_zshrc", "one\n");
        put("dot_config/exact_app/conf", "c\n");
        put("external_dot_vim/dot_literal", "v\n");
        let first = commit("add");
        remove("dot_zshrc");
        put("private_dot_zshrc", "one\n");
        let private = commit("private");
        put("dot_bashrc", "b\n");
        let other = commit("another file");
        remove("private_dot_zshrc");
        put("encrypted_private_dot_zshrc.age", "-----BEGIN AGE ENCRYPTED FILE-----\n");
        let encrypted = commit("encrypted");
        fs::rename(root.join("encrypted_private_dot_zshrc.age"), root.join("x")).unwrap();
        put(".chezmoiroot", "home\n");
        fs::create_dir_all(root.join("home")).unwrap();
        fs::rename(root.join("x"), root.join("home/encrypted_private_dot_zshrc.age")).unwrap();
        let moved = commit("below .chezmoiroot");
        remove("home/encrypted_private_dot_zshrc.age");
        let deleted = commit("deleted");

        let got = target_commits(&store, ".zshrc", 100).unwrap();
        let want: Vec<(git2::Oid, Vec<&str>)> = vec![
            (deleted, vec!["home/encrypted_private_dot_zshrc.age"]),
            (moved, vec!["encrypted_private_dot_zshrc.age", "home/encrypted_private_dot_zshrc.age"]),
            (encrypted, vec!["private_dot_zshrc", "encrypted_private_dot_zshrc.age"]),
            (private, vec!["dot_zshrc", "private_dot_zshrc"]),
            (first, vec!["dot_zshrc"]),
        ];
        let got: Vec<(git2::Oid, Vec<&str>)> =
            got.iter().map(|(id, s)| (*id, s.iter().map(String::as_str).collect())).collect();
        assert_eq!(got, want);
        assert!(!got.iter().any(|(id, _)| *id == other), "a commit that left it alone is not its history");
        assert_eq!(target_commits(&store, ".zshrc", 2).unwrap().len(), 2, "the newest `limit`");

        let at = |commit: git2::Oid, target: &str| {
            locate(&store, store.commit_tree(commit).unwrap(), target).unwrap().map(|(source, _)| source)
        };
        assert_eq!(at(first, ".config/app/conf").as_deref(), Some("dot_config/exact_app/conf"));
        assert_eq!(at(first, ".config/app").as_deref(), Some("dot_config/exact_app"));
        assert_eq!(at(first, ".vim/dot_literal").as_deref(), Some("external_dot_vim/dot_literal"), "not decoded");
        assert_eq!(at(first, ".vim/.literal"), None);
        assert_eq!(at(first, ".zshrc/inside"), None, "a file has nothing below it");
        assert_eq!(at(moved, ".config/app/conf"), None, "outside the source root");
    }
}
