//! `dotback check`: what is wrong with this device's backup, as findings with a severity. Every
//! object reachable from every ref reads back (and hashes to its id), every encrypted file
//! decrypts and is encrypted to every trusted recipient, no plaintext secret is anywhere in the
//! history, HOME and the store agree, every remote is reachable and has what this store has,
//! the last sync is within the RPO, the copies make 3-2-1, no conflict waits, a drill passed
//! recently, and what the store takes on disk. Nothing is changed but the audit trail.

use crate::audit::StepTime;
use crate::context::Context;
use crate::crypt::Identity;
use crate::eval::Change;
use crate::events::Sink;
use crate::secrets::SecretRules;
use crate::session::Session;
use crate::store::{Store, StoreError};
use git2::{ObjectType, Oid, Repository};
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// How bad a finding is. The report's worst one is `check`'s exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Error,
}

/// One thing `check` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// `integrity`, `encryption`, `secrets`, `drift`, `remotes`, `staleness`, `3-2-1`,
    /// `conflicts`, `drill`, `storage` or `alert`.
    pub area: &'static str,
    pub message: String,
    /// The store path or target (`~/…`) it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Finding {
    fn new(severity: Severity, area: &'static str, message: impl Into<String>) -> Finding {
        Finding { severity, area, message: message.into(), path: None, hint: None }
    }
    fn ok(area: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Ok, area, message)
    }
    pub(crate) fn warning(area: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Warning, area, message)
    }
    pub(crate) fn error(area: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Error, area, message)
    }
    pub(crate) fn at(mut self, path: impl Into<String>) -> Finding {
        self.path = Some(path.into());
        self
    }
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Finding {
        self.hint = Some(hint.into());
        self
    }
}

/// What `dotback check` is asked to do.
#[derive(Clone, Copy, Debug, Default)]
pub struct CheckOptions {
    /// Skip reading blob contents (integrity checks that they exist; no plaintext scan).
    pub quick: bool,
    /// Run `alert_command` when the worst finding is an error.
    pub alert: bool,
}

/// What `check` found.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// `device`: this device's whole backup; `store`: a store alone ([`check_store`]).
    pub scope: &'static str,
    /// The worst severity among the findings.
    pub worst: Severity,
    pub findings: Vec<Finding>,
    /// The 3-2-1 verdict, also among the findings (`None` for a store alone).
    pub copies: Option<ThreeTwoOne>,
    /// How long each part took, in the order they ran. `integrity` is reading every object back
    /// (what `git fsck` does); `secrets` the plaintext scan of what was read.
    pub timings: Vec<StepTime>,
}

/// Findings, and how long each part that found them took.
#[derive(Default)]
struct Parts {
    findings: Vec<Finding>,
    timings: Vec<StepTime>,
}

impl Parts {
    fn add(&mut self, name: &'static str, found: Vec<Finding>, took: Duration) {
        let worst = found.iter().map(|f| f.severity).max().unwrap_or(Severity::Ok);
        self.timings.push(StepTime { name: name.into(), outcome: word(worst).into(), ms: took.as_millis() as u64 });
        self.findings.extend(found);
    }

    /// Runs `part` and adds what it found.
    fn run(&mut self, name: &'static str, part: impl FnOnce() -> Vec<Finding>) {
        let t = Instant::now();
        let found = part();
        self.add(name, found, t.elapsed());
    }

    fn worst(&self) -> Severity {
        self.findings.iter().map(|f| f.severity).max().unwrap_or(Severity::Ok)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// At most this many findings of one kind are listed one by one; the rest are counted.
const LISTED: usize = 20;

/// Runs every check on this device's store.
pub fn check(ctx: &Context, opts: &CheckOptions, sink: &dyn Sink) -> Result<CheckReport, CheckError> {
    // Integrity means every object hashes to its id: reads check that from here on.
    crate::store::verify_object_ids();
    let started = Instant::now();
    let store = Store::open(&ctx.store)?;
    let mut parts = Parts::default();

    sink.news("check: evaluating HOME against the store".into());
    let t = Instant::now();
    let status = crate::status::status(ctx.clone(), &[], &crate::events::Silent);
    let (session, drift_found) = match status {
        Ok(st) => {
            let found = drift(&st);
            (Some(st.session), found)
        }
        Err(e) => (
            None,
            vec![Finding::error("drift", format!("HOME could not be compared with the store: {}", describe(&e)))],
        ),
    };
    parts.add("drift", drift_found, t.elapsed());

    sink.news("check: reading every object of the store".into());
    let rules = session.as_ref().map(|s| s.rules().clone()).unwrap_or_else(SecretRules::defaults);
    let walk = walk_history(&store.repo, opts.quick, &rules);
    parts.add("integrity", walk.integrity, walk.reading);
    parts.add("secrets", walk.secrets, walk.scanning);

    parts.run("encryption", || match &session {
        Some(s) => {
            let expected = s.trust().recipients().map(|r| r.all().len()).map_err(|e| e.to_string());
            if walk.too_deep {
                return not_walked("encryption");
            }
            encryption(&store, expected, Some(s.vault().identities().map_err(str::to_string)))
        }
        None => vec![Finding::warning("encryption", "not checked: the store could not be opened as a session")],
    });

    sink.news("check: asking every remote".into());
    let t = Instant::now();
    let records = crate::audit::read(&ctx.store, &ctx.device);
    let remotes = remotes(&store, &records);
    let reached = remotes.iter().filter(|(_, reached, _)| *reached).count();
    let unreachable: Vec<String> = remotes.iter().filter(|(_, r, _)| !r).map(|(n, _, _)| n.clone()).collect();
    parts.add("remotes", remotes.into_iter().map(|(_, _, f)| f).collect(), t.elapsed());

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let waiting = parts.findings.iter().any(|f| matches!(f.area, "drift" | "remotes") && f.severity != Severity::Ok)
        || store.remotes().map_or(true, |r| r.is_empty());
    parts.run("staleness", || vec![staleness(&records, now, ctx.rpo, waiting)]);
    let t = Instant::now();
    let copies = three_two_one(ctx, &store);
    parts.add("3-2-1", copies.findings(), t.elapsed());
    parts.run("conflicts", || session.as_ref().map(conflicts).unwrap_or_default());
    parts.run("drill", || vec![drill_age(&records, now, ctx.drill_every)]);
    parts.run("storage", || {
        if walk.too_deep { not_walked("storage") } else { vec![storage(&store, walk.first_commit, now)] }
    });
    drop(session);

    let mut report = CheckReport {
        scope: "device",
        worst: parts.worst(),
        findings: parts.findings,
        copies: Some(copies),
        timings: parts.timings,
    };
    if opts.alert && report.worst == Severity::Error {
        let alert = super::alert::Alert::new("check", &ctx.device, &report.findings);
        match &ctx.alert_command {
            None => report.findings.push(super::alert::unset()),
            Some(command) => {
                if let Err(why) = super::alert::send(command, &alert) {
                    report.findings.push(super::alert::failed(&why));
                }
            }
        }
    }
    let record = crate::audit::Record {
        time: crate::state::rfc3339_now(),
        device: ctx.device.clone(),
        user: crate::audit::user(),
        command: "check".into(),
        outcome: word(report.worst).into(),
        remotes_reached: reached,
        remotes_unreachable: unreachable,
        conflicts: report.findings.iter().filter(|f| f.area == "conflicts" && f.severity != Severity::Ok).count(),
        duration_ms: started.elapsed().as_millis() as u64,
        steps: report.timings.clone(),
        ..Default::default()
    };
    if let Err(e) = crate::audit::append(&ctx.store, &record) {
        sink.warn(format!("could not record the check in the audit trail: {e}"));
    }
    Ok(report)
}

/// Checks a store's repository alone, with no device, identity or config: what a CI job on the
/// hosting service can run on a clone of it. Integrity, the plaintext-secret scan (with the
/// committed manifest's rules), the recipient count of every encrypted file, and storage. It
/// writes nothing, not even an audit record.
pub fn check_store(root: &Path, opts: &CheckOptions, sink: &dyn Sink) -> Result<CheckReport, CheckError> {
    crate::store::verify_object_ids();
    let store = Store::open(root)?;
    let mut parts = Parts::default();
    let trust = crate::trust::Trust::as_is(root).map_err(|e| e.to_string());
    let mut manifest = Vec::new();
    let rules = match &trust {
        // Nothing here verifies the manifest: a pushed one may only add rules. Its `not` and
        // `replace_defaults` would let one line hide every secret the path rules find.
        Ok(t) => {
            let s = &t.manifest.secrets;
            if !s.not.is_empty() || s.replace_defaults {
                manifest.push(Finding::ok(
                    "secrets",
                    "the manifest's `not` and `replace_defaults` are not applied: a clone alone cannot verify them",
                ));
            }
            let added = crate::secrets::SecretsConfig { extra: s.extra.clone(), ..Default::default() };
            match SecretRules::with_manifest(&added) {
                Ok(rules) => rules,
                Err(e) => {
                    manifest.push(Finding::warning("secrets", format!("the manifest's rules are not used: {e}")));
                    SecretRules::defaults()
                }
            }
        }
        Err(why) => {
            manifest.push(
                Finding::warning(
                    "secrets",
                    format!("the manifest cannot be read ({why}); scanning with the built-in rules"),
                )
                .hint("`dotback check` on a device names what is wrong with it"),
            );
            SecretRules::defaults()
        }
    };
    sink.news("check: reading every object of the store".into());
    let walk = walk_history(&store.repo, opts.quick, &rules);
    parts.add("integrity", walk.integrity, walk.reading);
    parts.add("secrets", [manifest, walk.secrets].concat(), walk.scanning);
    parts.run("encryption", || {
        let expected = match &trust {
            Ok(t) => t.recipients().map(|r| r.all().len()).map_err(|e| e.to_string()),
            Err(why) => Err(why.clone()),
        };
        if walk.too_deep {
            return not_walked("encryption");
        }
        encryption(&store, expected, None)
    });
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    parts.run("storage", || {
        if walk.too_deep { not_walked("storage") } else { vec![storage(&store, walk.first_commit, now)] }
    });
    Ok(CheckReport {
        scope: "store",
        worst: parts.worst(),
        findings: parts.findings,
        copies: None,
        timings: parts.timings,
    })
}

/// The finding of a part not run because a tree nests too deep to walk.
fn not_walked(area: &'static str) -> Vec<Finding> {
    vec![Finding::warning(area, "not checked: a tree of the store nests too deep to walk (see integrity)")]
}

/// `ok`, `warning` or `error`.
pub fn word(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "ok",
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}

fn describe(e: &dyn std::error::Error) -> String {
    crate::vault::describe(e)
}

/// Keeps the first [`LISTED`] of `found` and counts the rest in one more finding.
fn capped(mut found: Vec<Finding>, what: &str) -> Vec<Finding> {
    if found.len() > LISTED {
        let more = found.len() - LISTED;
        let severity = found.iter().map(|f| f.severity).max().unwrap_or(Severity::Ok);
        let area = found[0].area;
        found.truncate(LISTED);
        found.push(Finding::new(severity, area, format!("and {more} more {what}")));
    }
    found
}

// --- integrity and secrets ---------------------------------------------------------------

/// What reading the whole history found.
struct Walked {
    integrity: Vec<Finding>,
    secrets: Vec<Finding>,
    /// Commit time of the oldest commit read.
    first_commit: Option<i64>,
    /// Time spent reading objects back, and scanning blobs for secrets.
    reading: Duration,
    scanning: Duration,
    /// A tree nests deeper than [`MAX_DEPTH`]: the other parts, which walk HEAD's tree, are
    /// not run.
    too_deep: bool,
}

struct Walk<'a> {
    repo: &'a Repository,
    quick: bool,
    rules: &'a SecretRules,
    commits: HashSet<Oid>,
    trees: HashSet<Oid>,
    blobs: HashSet<Oid>,
    /// Paths whose blob was scanned once (a blob seen before at a new path is scanned again:
    /// the path rules depend on where it is).
    paths: HashSet<String>,
    broken: Vec<Finding>,
    leaks: Vec<Finding>,
    leaked: HashSet<(String, String)>,
    first_commit: Option<i64>,
    scanning: Duration,
    too_deep: bool,
}

/// How deep trees may nest (git's `core.maxTreeDepth`).
const MAX_DEPTH: usize = 4096;

const DAMAGED_HINT: &str = "the store's git objects are damaged: `dotback drill` proves whether a remote still restores; a fresh clone of it (`dotback bootstrap`) replaces the store";

/// Reads every commit, tree and (unless `quick`) blob reachable from every ref, each once, and
/// scans every blob as the pre-commit guard would.
fn walk_history(repo: &Repository, quick: bool, rules: &SecretRules) -> Walked {
    let started = Instant::now();
    let mut w = Walk {
        repo,
        quick,
        rules,
        commits: HashSet::new(),
        trees: HashSet::new(),
        blobs: HashSet::new(),
        paths: HashSet::new(),
        broken: Vec::new(),
        leaks: Vec::new(),
        leaked: HashSet::new(),
        first_commit: None,
        scanning: Duration::ZERO,
        too_deep: false,
    };
    // A shallow clone (a CI job's checkout, say) has no parents to read past these.
    let shallow: HashSet<Oid> = std::fs::read_to_string(repo.path().join("shallow"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| Oid::from_str(l.trim()).ok())
        .collect();
    let mut stack = Vec::new();
    match repo.references() {
        Err(e) => w.broken.push(Finding::error("integrity", format!("the refs cannot be read: {}", e.message()))),
        Ok(refs) => {
            for r in refs {
                let r = match r {
                    Ok(r) => r,
                    Err(e) => {
                        w.broken.push(Finding::error("integrity", format!("a ref cannot be read: {}", e.message())));
                        continue;
                    }
                };
                let name = r.name().unwrap_or("(a ref)").to_string();
                match r
                    .resolve()
                    .map_err(|e| e.message().to_string())
                    .and_then(|r| r.peel(ObjectType::Commit).map(|o| o.id()).map_err(|e| e.message().to_string()))
                {
                    Ok(id) => stack.push(id),
                    Err(e) => w.broken.push(
                        Finding::error("integrity", format!("ref {name} does not lead to a readable commit: {e}"))
                            .at(name)
                            .hint(DAMAGED_HINT),
                    ),
                }
            }
        }
    }
    while let Some(id) = stack.pop() {
        if !w.commits.insert(id) {
            continue;
        }
        let commit = match repo.find_commit(id) {
            Ok(c) => c,
            Err(e) => {
                w.damaged(id, "commit", None, &e);
                continue;
            }
        };
        let when = commit.time().seconds();
        w.first_commit = Some(w.first_commit.map_or(when, |f| f.min(when)));
        w.tree(commit.tree_id(), "", id);
        if !shallow.contains(&id) {
            stack.extend(commit.parent_ids().filter(|p| !w.commits.contains(p)));
        }
    }
    let mut summary = Vec::new();
    if w.broken.is_empty() {
        let blobs = if quick { "present (contents not read: --quick)" } else { "read back" };
        summary.push(Finding::ok(
            "integrity",
            format!("{} commits, {} trees and {} blobs {blobs}", w.commits.len(), w.trees.len(), w.blobs.len()),
        ));
    }
    if !shallow.is_empty() {
        summary.push(
            Finding::warning(
                "integrity",
                format!("the clone is shallow: the history before {} commit(s) is not here to check", shallow.len()),
            )
            .hint("check a full clone (`git fetch --unshallow`; in a CI checkout, fetch the whole history)"),
        );
    }
    let secrets = if quick {
        vec![Finding::ok("secrets", "the history was not scanned for plaintext secrets (--quick)")]
    } else if w.leaks.is_empty() {
        vec![Finding::ok("secrets", format!("no plaintext secret in {} blobs of the history", w.blobs.len()))]
    } else {
        capped(w.leaks, "plaintext secrets")
    };
    Walked {
        integrity: [capped(w.broken, "objects that cannot be read"), summary].concat(),
        secrets,
        first_commit: w.first_commit,
        reading: started.elapsed().saturating_sub(w.scanning),
        scanning: w.scanning,
        too_deep: w.too_deep,
    }
}

impl Walk<'_> {
    fn damaged(&mut self, id: Oid, kind: &str, path: Option<&str>, e: &git2::Error) {
        let at = path.map(|p| format!(" at {p}")).unwrap_or_default();
        let mut f =
            Finding::error("integrity", format!("{kind} {id}{at} cannot be read: {}", e.message())).hint(DAMAGED_HINT);
        if let Some(p) = path {
            f = f.at(p);
        }
        self.broken.push(f);
    }

    /// Reads the tree `id` and everything below it, with a stack of its own (a hostile tree
    /// may nest deeper than any call stack), down to [`MAX_DEPTH`] levels as git does.
    fn tree(&mut self, id: Oid, prefix: &str, commit: Oid) {
        let mut todo = vec![(id, prefix.to_string(), 0usize)];
        while let Some((id, prefix, depth)) = todo.pop() {
            if !self.trees.insert(id) {
                continue;
            }
            if depth > MAX_DEPTH {
                self.too_deep = true;
                self.broken.push(
                    Finding::error("integrity", format!("{prefix} nests more than {MAX_DEPTH} directories deep"))
                        .at(prefix)
                        .hint("no dotback device makes such a tree: remove it from the history"),
                );
                continue;
            }
            let tree = match self.repo.find_tree(id) {
                Ok(t) => t,
                Err(e) => {
                    let path = if prefix.is_empty() { None } else { Some(prefix.as_str()) };
                    self.damaged(id, "tree", path, &e);
                    continue;
                }
            };
            for entry in tree.iter() {
                let name = String::from_utf8_lossy(entry.name_bytes());
                let path = if prefix.is_empty() { name.into_owned() } else { format!("{prefix}/{name}") };
                match entry.kind() {
                    Some(ObjectType::Tree) => todo.push((entry.id(), path, depth + 1)),
                    Some(ObjectType::Blob) => self.blob(entry.id(), path, commit),
                    _ => {} // a submodule's commit lives elsewhere
                }
            }
        }
    }

    fn blob(&mut self, id: Oid, path: String, commit: Oid) {
        let new_blob = self.blobs.insert(id);
        if self.quick {
            if new_blob && !self.repo.odb().is_ok_and(|odb| odb.exists(id)) {
                let e = git2::Error::from_str("the object is missing");
                self.damaged(id, "blob", Some(&path), &e);
            }
            return;
        }
        let new_path = self.paths.insert(path.clone());
        if !new_blob && !new_path {
            return;
        }
        // libgit2 checks that what it reads hashes to the id asked for.
        let blob = match self.repo.find_blob(id) {
            Ok(b) => b,
            Err(e) => {
                if new_blob {
                    self.damaged(id, "blob", Some(&path), &e);
                }
                return;
            }
        };
        let t = Instant::now();
        let found = crate::guard::check(&path, blob.content(), self.rules);
        self.scanning += t.elapsed();
        if let Some(v) = found
            && self.leaked.insert((v.path.clone(), v.why.clone()))
        {
            let short = &commit.to_string()[..10];
            self.leaks.push(
                Finding::error("secrets", format!("{} {} in commit {short}", v.path, v.why))
                    .at(v.path)
                    .hint("it is in git's history in plaintext: rotate the secret, and rewrite the history on the store and every remote"),
            );
        }
    }
}

// --- encryption -----------------------------------------------------------------------------

/// Every encrypted file in HEAD is encrypted to as many recipients as `expected` (the store's
/// trusted ones), and decrypts with `ids` (this device's identities; `None`: a store checked
/// alone, with no identity to try).
fn encryption(
    store: &Store,
    expected: Result<usize, String>,
    ids: Option<Result<&[Identity], String>>,
) -> Vec<Finding> {
    let Ok(Some(head)) = store.head_commit() else { return Vec::new() };
    let Ok(tree) = store.repo.find_commit(head).and_then(|c| c.tree()) else { return Vec::new() };
    let mut files = Vec::new();
    let recovery = crate::vault::recovery_path(Path::new(""));
    let recovery = recovery.to_string_lossy();
    let _ = tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
        let name = String::from_utf8_lossy(e.name_bytes());
        let path = format!("{dir}{name}");
        if e.kind() == Some(ObjectType::Blob) && is_encrypted(&path) && path != recovery {
            files.push((path, e.id()));
        }
        git2::TreeWalkResult::Ok
    });
    if files.is_empty() {
        return vec![Finding::ok("encryption", "the store has no encrypted file")];
    }
    let expected = match expected {
        Ok(n) => n,
        Err(e) => return vec![Finding::error("encryption", format!("the store's recipients cannot be read: {e}"))],
    };
    let mut found = Vec::new();
    if let Some(Err(why)) = &ids {
        found.push(
            Finding::warning("encryption", format!("encrypted files were not decrypted: {why}"))
                .hint("this device's identity decrypts them; their recipient count is checked without it"),
        );
    }
    let rekey = "`dotback keys rekey` re-encrypts every secret to the trusted recipients";
    for (path, id) in &files {
        let Ok(data) = store.blob(*id) else { continue }; // integrity names it
        match crate::crypt::x25519_stanzas(&data) {
            Err(e) => {
                found.push(Finding::error("encryption", format!("{path} is not readable age: {}", describe(&e))).at(path));
                continue;
            }
            Ok(n) if n < expected => found.push(
                Finding::error(
                    "encryption",
                    format!("{path} is encrypted to {n} recipients, the store has {expected}: one added since cannot decrypt it"),
                )
                .at(path)
                .hint(rekey),
            ),
            Ok(n) if n > expected => found.push(
                Finding::error(
                    "encryption",
                    format!("{path} is encrypted to {n} recipients, the store has {expected}: one removed may still decrypt it"),
                )
                .at(path)
                .hint(rekey),
            ),
            Ok(_) => {}
        }
        if let Some(Ok(ids)) = &ids
            && let Err(e) = crate::crypt::decrypt(&data, ids)
        {
            found.push(
                Finding::error(
                    "encryption",
                    format!("{path} does not decrypt with this device's identity: {}", describe(&e)),
                )
                .at(path)
                .hint("restore it from a remote's history, or re-add the file from HOME"),
            );
        }
    }
    if found.iter().all(|f| f.severity == Severity::Ok) {
        let how = if matches!(ids, Some(Ok(_))) { "decrypt and are" } else { "are" };
        found.push(Finding::ok(
            "encryption",
            format!("{} encrypted files {how} encrypted to all {expected} recipients", files.len()),
        ));
    }
    capped(found, "encryption problems")
}

/// An `encrypted_` entry, or a `.age` file of dotback's own (exported keys) outside the store
/// key's directory.
fn is_encrypted(path: &str) -> bool {
    if let Some(own) = path.strip_prefix(".dotback/") {
        return own.ends_with(".age") && !own.starts_with("trust/");
    }
    let leaf = path.rsplit('/').next().unwrap_or(path);
    matches!(crate::source::decode(leaf, crate::source::OnDisk::File), Ok(Some(e)) if e.attrs.encrypted)
}

// --- drift, conflicts -----------------------------------------------------------------------

fn drift(st: &crate::status::Status) -> Vec<Finding> {
    let mut found = Vec::new();
    for e in &st.evals {
        let what = match e.change {
            Change::Clean | Change::Skipped => continue,
            Change::ChangedInHome => "edited in HOME, not yet committed",
            Change::ChangedInStore => "changed in the store, not yet applied",
            Change::ChangedInBoth => "changed in HOME and in the store",
            Change::NeverApplied => "differs from the store and was never applied here",
            Change::Missing => "in the store, missing from HOME",
            Change::DeletedInHome => "deleted in HOME, the deletion not yet committed",
            Change::Extra => "in an exact_ directory in HOME, not in the store",
            Change::Locked | Change::WaitingForIdentity => "encrypted, and this device cannot decrypt it",
            Change::ChangedMeanwhile => "changed while it was applied",
            Change::Refused => "refused by this device (`dotback status` says why)",
        };
        found.push(
            Finding::warning("drift", format!("~/{} is {what}", e.target))
                .at(format!("~/{}", e.target))
                .hint("`dotback status` and `dotback diff` show it; `dotback sync` settles it"),
        );
    }
    for u in &st.uncommitted {
        found.push(
            Finding::warning("drift", format!("{} is {} in the store and not committed", u.path, u.change))
                .at(&u.path)
                .hint("`dotback commit` records it"),
        );
    }
    if found.is_empty() {
        found.push(Finding::ok("drift", format!("{} targets match the store; nothing uncommitted", st.evals.len())));
    }
    capped(found, "differences")
}

fn conflicts(s: &Session) -> Vec<Finding> {
    let found: Vec<Finding> = crate::resolve::find(&s.state, &s.ctx.device)
        .into_iter()
        .map(|c| {
            Finding::warning("conflicts", format!("~/{} is in conflict: {}", c.path, c.describe()))
                .at(format!("~/{}", c.path))
                .hint("`dotback resolve` settles it")
        })
        .collect();
    if found.is_empty() { vec![Finding::ok("conflicts", "no open conflict")] } else { capped(found, "conflicts") }
}

// --- remotes, staleness, drills -------------------------------------------------------------

/// Per remote: its name, whether it answered, and what check makes of it.
fn remotes(store: &Store, records: &[crate::audit::Record]) -> Vec<(String, bool, Finding)> {
    let head = store.head_commit().ok().flatten();
    let states = store.remote_state().unwrap_or_default();
    let mut out = Vec::new();
    for (name, _) in store.remotes().unwrap_or_default() {
        let pushed = match last_push(records, &name) {
            Some(t) => format!("; last pushed {t}"),
            None => "; no successful push recorded on this device".into(),
        };
        let sync = "`dotback sync` brings them together";
        let (reached, f) = match store.remote_tip(&name) {
            Err(e) => {
                let seen = states
                    .iter()
                    .find(|s| s.name == name && s.seen)
                    .map_or(String::new(), |s| format!(" (at the last fetch it lacked {} commits)", s.ahead));
                let f = Finding::warning(
                    "remotes",
                    format!("remote {name} cannot be reached: {}{seen}{pushed}", describe(&e)),
                )
                .hint("`dotback remote list` shows its URL; a disk that is not mounted, or no network, is reported so");
                (false, f)
            }
            Ok(None) => (
                true,
                Finding::warning("remotes", format!("remote {name} does not have the branch yet{pushed}")).hint(sync),
            ),
            Ok(Some(tip)) => {
                let counts = head.and_then(|h| {
                    store.repo.find_commit(tip).ok()?;
                    store.repo.graph_ahead_behind(h, tip).ok()
                });
                let f = match counts {
                    None => Finding::warning(
                        "remotes",
                        format!("remote {name} has commits this store has not fetched{pushed}"),
                    )
                    .hint(sync),
                    Some((0, 0)) => Finding::ok("remotes", format!("remote {name} is up to date{pushed}")),
                    Some((ahead, 0)) => Finding::warning(
                        "remotes",
                        format!("remote {name} is behind: {ahead} commit(s) here are not on it{pushed}"),
                    )
                    .hint(sync),
                    Some((0, behind)) => Finding::warning(
                        "remotes",
                        format!("remote {name} has {behind} commit(s) this store lacks{pushed}"),
                    )
                    .hint(sync),
                    Some((ahead, behind)) => Finding::warning(
                        "remotes",
                        format!(
                            "remote {name} and this store diverged: {ahead} commit(s) here, {behind} there{pushed}"
                        ),
                    )
                    .hint(sync),
                };
                (true, f)
            }
        };
        out.push((name, reached, f));
    }
    out
}

fn is_sync(r: &crate::audit::Record) -> bool {
    r.command == "sync" || r.command == "watch"
}

/// When this device last pushed to `remote` (or found it up to date) in a sync.
fn last_push<'a>(records: &'a [crate::audit::Record], remote: &str) -> Option<&'a str> {
    let ok = |r: &&crate::audit::Record| {
        is_sync(r)
            && r.outcome != "error"
            && r.remotes_reached > 0
            && !r.remotes_unreachable.iter().chain(&r.remotes_refused).any(|n| n == remote)
    };
    records.iter().rev().find(ok).map(|r| r.time.as_str())
}

/// The time since the last successful sync against the RPO, when something waits to be synced
/// (`waiting`: HOME or the store differs from a remote, or a remote cannot be asked). With
/// nothing waiting the backup is current however long ago the last sync was: an idle device
/// is not stale.
fn staleness(records: &[crate::audit::Record], now: i64, rpo: u64, waiting: bool) -> Finding {
    let rpo_text = crate::config::Interval(rpo).to_string();
    let last = records.iter().rev().find(|r| is_sync(r) && r.outcome == "ok");
    let last = last.and_then(|r| Some((r, unix_time(&r.time)?)));
    if !waiting {
        let when =
            last.map_or(String::new(), |(r, at)| format!(" (the last sync: {}, {} ago)", r.time, span(now - at)));
        return Finding::ok(
            "staleness",
            format!("nothing waits to be synced: HOME, the store and every remote agree{when}"),
        );
    }
    match last {
        None => Finding::warning("staleness", "no successful sync is recorded on this device")
            .hint("`dotback sync` copies the store to its remotes"),
        Some((r, at)) if now - at > rpo as i64 => Finding::error(
            "staleness",
            format!(
                "the last successful sync ({}) was {} ago, more than the RPO of {rpo_text}",
                r.time,
                span(now - at)
            ),
        )
        .hint("`dotback sync` (or a running `dotback watch`); `rpo` in the device config sets the limit"),
        Some((r, at)) => Finding::ok(
            "staleness",
            format!("the last successful sync ({}) was {} ago, within the RPO of {rpo_text}", r.time, span(now - at)),
        ),
    }
}

fn drill_age(records: &[crate::audit::Record], now: i64, every: u64) -> Finding {
    let every_text = crate::config::Interval(every).to_string();
    let drills: Vec<&crate::audit::Record> = records.iter().filter(|r| r.command.starts_with("drill")).collect();
    let hint = "`dotback drill` proves a remote restores (`--recovery`: with the recovery key alone)";
    if let Some(last) = drills.last()
        && last.outcome != "ok"
    {
        let what = if last.outcome == "mismatch" { "found mismatches" } else { "could not finish" };
        return Finding::warning("drill", format!("the last drill ({}) {what}", last.time)).hint(hint);
    }
    match drills.last().and_then(|r| Some((r, unix_time(&r.time)?))) {
        None => Finding::warning("drill", "no drill has passed on this device").hint(hint),
        Some((r, at)) if now - at > every as i64 => Finding::warning(
            "drill",
            format!("the last drill ({}) was {} ago, more than `drill_every` ({every_text})", r.time, span(now - at)),
        )
        .hint(hint),
        Some((r, at)) => Finding::ok("drill", format!("the last drill passed {} ago ({})", span(now - at), r.command)),
    }
}

/// Unix seconds of an RFC 3339 UTC time as records write it (`2024-05-01T08:00:00Z`).
fn unix_time(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20 || b[19] != b'Z' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| text.get(r)?.parse::<u32>().ok();
    let month = time::Month::try_from(n(5..7)? as u8).ok()?;
    let date = time::Date::from_calendar_date(n(0..4)? as i32, month, n(8..10)? as u8).ok()?;
    let at = date.with_hms(n(11..13)? as u8, n(14..16)? as u8, n(17..19)? as u8).ok()?;
    Some(at.assume_utc().unix_timestamp())
}

/// A span of seconds, roughly, in its largest unit.
fn span(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

// --- 3-2-1 ----------------------------------------------------------------------------------

/// Where one copy of the store is, as far as 3-2-1 cares.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Place {
    /// On the store's own medium (a local path on the same filesystem).
    SameMedium,
    /// On this machine, another medium: a filesystem (`device N`, by its device number), or a
    /// path that is not there now (`path P`: an unmounted disk).
    OtherMedium(String),
    /// On another host (ssh, https, or a network filesystem): another medium, and offsite.
    OtherHost(String),
}

/// What holds a copy: a remote, or a directory of archives (many archives in one directory are
/// versions of one copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Holder {
    Remote,
    Archive,
}

/// One copy besides the store, as `check` found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    pub holder: Holder,
    /// The remote's name, or the archive directory.
    pub name: String,
    pub place: Place,
    /// False when its path is not there now (an unmounted disk): it is counted all the same.
    pub present: bool,
}

/// One copy the verdict counted, besides the store itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Counted {
    /// `remote` or `archive`.
    pub kind: Holder,
    /// The remote's name, or the archive directory.
    pub name: String,
    /// `store` (the store's own filesystem), `device N` (another filesystem), `path P` (a path
    /// not there now) or `host H` (another host, or a network filesystem served by H).
    pub medium: String,
    pub offsite: bool,
    /// False when its path is not there now (an unmounted disk): it is counted all the same.
    pub present: bool,
}

/// The 3-2-1 verdict: three copies, on two media, one of them offsite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ThreeTwoOne {
    pub copies: usize,
    pub media: usize,
    pub offsite: usize,
    /// `compliant`, `partial` (two media, but fewer than three copies or none offsite) or `not`
    /// (every copy on one medium).
    pub verdict: &'static str,
    /// What to add, in words.
    pub add: Vec<String>,
    /// What was counted besides the store itself (`copies` is one more than its length).
    pub counted: Vec<Counted>,
    /// Archives `dotback archive` wrote and recorded that are gone from their directory: not
    /// counted.
    pub missing: Vec<String>,
}

/// The verdict for the store plus each of `sites`.
pub fn classify(sites: &[Site]) -> ThreeTwoOne {
    let mut media: HashSet<&Place> = HashSet::new();
    let mut offsite = HashSet::new();
    let mut counted = Vec::new();
    for s in sites {
        let medium = match &s.place {
            Place::SameMedium => "store".to_string(),
            Place::OtherMedium(m) => m.clone(),
            Place::OtherHost(h) => {
                offsite.insert(h);
                format!("host {h}")
            }
        };
        if s.place != Place::SameMedium {
            media.insert(&s.place);
        }
        counted.push(Counted {
            kind: s.holder,
            name: s.name.clone(),
            medium,
            offsite: matches!(s.place, Place::OtherHost(_)),
            present: s.present,
        });
    }
    let (copies, media, offsite) = (1 + sites.len(), 1 + media.len(), offsite.len());
    let mut add = Vec::new();
    if copies < 3 {
        add.push(format!(
            "{} more cop{} (a remote: `dotback remote add`; or archives: `dotback archive --to DIR`)",
            3 - copies,
            if copies == 2 { "y" } else { "ies" }
        ));
    }
    if media < 2 {
        add.push(
            "a copy on another medium (archives on a USB drive: `dotback archive --to DIR`; or a remote on another disk or host)"
                .into(),
        );
    }
    if offsite == 0 {
        add.push(
            "a copy offsite (a remote on another host, over ssh or https, or archives in a network folder)".into(),
        );
    }
    let verdict = match (add.is_empty(), media >= 2) {
        (true, _) => "compliant",
        (false, true) => "partial",
        (false, false) => "not",
    };
    ThreeTwoOne { copies, media, offsite, verdict, add, counted, missing: Vec::new() }
}

impl ThreeTwoOne {
    /// The verdict, then a warning for each recorded archive that is gone.
    fn findings(&self) -> Vec<Finding> {
        let mut what = format!(
            "3-2-1: {} ({} copies, {} media, {} offsite)",
            match self.verdict {
                "compliant" => "compliant",
                "partial" => "partially met",
                _ => "not met",
            },
            self.copies,
            self.media,
            self.offsite
        );
        what.push_str(": the store");
        for c in &self.counted {
            let holder = match c.kind {
                Holder::Remote => format!("remote {}", c.name),
                Holder::Archive => format!("the archives in {}", c.name),
            };
            let place = if !c.present {
                "not there now, a disk not mounted?, counted all the same".to_string()
            } else if c.offsite {
                format!("offsite, {}", c.medium)
            } else if c.medium == "store" {
                "on the store's filesystem".to_string()
            } else {
                "on another filesystem".to_string()
            };
            what.push_str(&format!(", {holder} ({place})"));
        }
        let mut found = vec![if self.add.is_empty() {
            Finding::ok("3-2-1", what)
        } else {
            Finding::warning("3-2-1", what).hint(format!("add {}", self.add.join("; ")))
        }];
        for file in &self.missing {
            found.push(
                Finding::warning(
                    "3-2-1",
                    format!("the archive {file} is gone, so its directory is not counted as a copy"),
                )
                .at(file.clone())
                .hint("`dotback archive --to DIR` writes a new one there"),
            );
        }
        found
    }
}

/// Network filesystems: a directory on one is on another host, so offsite.
const NETWORK_FS: [&str; 6] = ["nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "fuse.rclone"];

/// The host serving the mount whose device is `dev` (`major:minor`), when `mountinfo` (as in
/// `/proc/self/mountinfo`) says it is a network filesystem.
fn network_host(mountinfo: &str, dev: &str) -> Option<String> {
    mountinfo.lines().find_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        if mount.split(' ').nth(2)? != dev {
            return None;
        }
        let mut fs = fs.split(' ');
        let (kind, source) = (fs.next()?, fs.next()?);
        if !NETWORK_FS.contains(&kind) {
            return None;
        }
        let host = match kind {
            // `//server/share`
            "cifs" | "smb3" => source.trim_start_matches('/').split('/').next().unwrap_or(source).to_string(),
            // `server:/export`, `[v6]:/export`
            "nfs" | "nfs4" => {
                let server = source.rsplit_once(":/").map_or(source, |(server, _)| server);
                server.trim_start_matches('[').trim_end_matches(']').to_string()
            }
            // `user@host:path`; rclone's `remote:path` names its remote.
            _ => host_of(source),
        };
        Some(if host.is_empty() { source.to_string() } else { host })
    })
}

/// Every remote of `store` and every archive directory `dotback archive` recorded, and where
/// each is.
fn three_two_one(ctx: &Context, store: &Store) -> ThreeTwoOne {
    use std::os::unix::fs::MetadataExt;
    let here = std::fs::metadata(&store.root).map(|m| m.dev()).ok();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let place = |path: &Path| match std::fs::metadata(path) {
        Ok(m) if Some(m.dev()) == here => (Place::SameMedium, true),
        Ok(m) => match network_host(&mountinfo, &format!("{}:{}", libc::major(m.dev()), libc::minor(m.dev()))) {
            Some(host) => (Place::OtherHost(host), true),
            None => (Place::OtherMedium(format!("device {}", m.dev())), true),
        },
        Err(_) => (Place::OtherMedium(format!("path {}", path.display())), false),
    };
    let mut sites: Vec<Site> = Vec::new();
    for (name, url) in store.remotes().unwrap_or_default() {
        let (place, present) = match crate::transport::local_path(&url) {
            // A path that is gone, and not where a disk would be mounted, is no copy at all
            // (the remotes part says it cannot be reached).
            Some(path) if !path.exists() && !unplugged(&path) => continue,
            Some(path) => place(&path),
            None => (Place::OtherHost(host_of(&url)), true),
        };
        sites.push(Site { holder: Holder::Remote, name, place, present });
    }
    let mut missing = Vec::new();
    for (dir, recorded) in crate::state::archive_dirs(&ctx.paths.state_dir) {
        let newest = dir.join(&recorded.newest);
        // A directory not there is a disk not mounted; one without its newest archive lost it.
        if (dir.exists() && !newest.is_file()) || (!dir.exists() && !unplugged(&dir)) {
            missing.push(newest.display().to_string());
            continue;
        }
        let (place, present) = place(&dir);
        sites.push(Site { holder: Holder::Archive, name: dir.display().to_string(), place, present });
    }
    ThreeTwoOne { missing, ..classify(&sites) }
}

/// Whether a path that is not there looks like one on a disk that is not mounted: the nearest
/// directory above it that exists is a mount point, or below a place removable disks are
/// mounted at. A path gone from HOME is not.
fn unplugged(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(existing) = path.ancestors().skip(1).find(|a| a.exists()) else { return false };
    if ["/media", "/mnt", "/run/media", "/Volumes"].iter().any(|m| existing.starts_with(m)) {
        return true;
    }
    let dev = |p: &Path| std::fs::metadata(p).map(|m| m.dev()).ok();
    existing.parent().is_some_and(|up| dev(up) != dev(existing))
}

/// The host of an `ssh://`, `https://` or `user@host:path` URL.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/']).next().unwrap_or(rest);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6).to_string(),
        None => host.split(':').next().unwrap_or(host).to_string(),
    }
}

// --- storage --------------------------------------------------------------------------------

fn storage(store: &Store, first_commit: Option<i64>, now: i64) -> Finding {
    let git_dir = store.repo.path();
    let size: u64 = walkdir::WalkDir::new(git_dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    let mut largest = Vec::new();
    if let Ok(Some(head)) = store.head_commit()
        && let Ok(tree) = store.repo.find_commit(head).and_then(|c| c.tree())
        && let Ok(odb) = store.repo.odb()
    {
        let _ = tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
            if e.kind() == Some(ObjectType::Blob)
                && let Ok((len, _)) = odb.read_header(e.id())
            {
                largest.push((len, format!("{dir}{}", String::from_utf8_lossy(e.name_bytes()))));
            }
            git2::TreeWalkResult::Ok
        });
    }
    largest.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let top: Vec<String> = largest.iter().take(3).map(|(n, p)| format!("{p} ({})", bytes(*n as u64))).collect();
    let months = first_commit.map_or(1.0, |f| ((now - f) as f64 / (30.0 * 86400.0)).max(1.0));
    let mut message = format!(
        "the store's history takes {} on disk, about {} a month",
        bytes(size),
        bytes((size as f64 / months) as u64)
    );
    if !top.is_empty() {
        message.push_str(&format!("; its largest files: {}", top.join(", ")));
    }
    Finding::ok("storage", message)
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 10 << 30 => format!("{} GiB", n >> 30),
        n if n >= 10 << 20 => format!("{} MiB", n >> 20),
        n if n >= 10 << 10 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(place: Place) -> Site {
        Site { holder: Holder::Remote, name: "r".into(), place, present: true }
    }

    fn archives(dir: &str, place: Place) -> Site {
        Site { holder: Holder::Archive, name: dir.into(), place, present: true }
    }

    #[test]
    fn three_two_one_counts_copies_media_and_offsite_copies() {
        let usb = || Place::OtherMedium("device 7".into());
        let host = |h: &str| Place::OtherHost(h.into());
        let same = || Place::SameMedium;
        let r = remote;
        let a = |p: Place| archives("/media/usb", p);
        let cases: Vec<(Vec<Site>, &str, usize, usize, usize)> = vec![
            (vec![], "not", 1, 1, 0),
            (vec![r(same())], "not", 2, 1, 0),
            (vec![r(same()), r(same())], "not", 3, 1, 0),
            (vec![r(usb())], "partial", 2, 2, 0),
            (vec![r(usb()), r(usb())], "partial", 3, 2, 0),
            (vec![r(host("h"))], "partial", 2, 2, 1),
            (vec![r(same()), r(host("h"))], "compliant", 3, 2, 1),
            (vec![r(host("h")), r(usb())], "compliant", 3, 3, 1),
            (vec![r(host("a")), r(host("b"))], "compliant", 3, 3, 2),
            (vec![r(host("a")), r(host("a"))], "compliant", 3, 2, 1),
            // Archives only: a directory beside the store, on a USB disk, in a network folder.
            (vec![a(same())], "not", 2, 1, 0),
            (vec![a(usb())], "partial", 2, 2, 0),
            (vec![a(usb()), archives("/media/usb2", Place::OtherMedium("device 8".into()))], "partial", 3, 3, 0),
            (vec![a(usb()), archives("/mnt/nas", host("nas"))], "compliant", 3, 3, 1),
            // Archives with remotes: one on another medium turns "not" into "partial", or a
            // remote on another host into compliance; on the remote's own disk, one medium.
            (vec![r(same()), a(usb())], "partial", 3, 2, 0),
            (vec![r(host("h")), a(usb())], "compliant", 3, 3, 1),
            (vec![r(usb()), a(usb())], "partial", 3, 2, 0),
            (vec![r(same()), a(same())], "not", 3, 1, 0),
            // A disk not mounted now is a medium of its own, by its path.
            (vec![r(same()), a(Place::OtherMedium("path /media/usb".into()))], "partial", 3, 2, 0),
        ];
        for (sites, verdict, copies, media, offsite) in cases {
            let t = classify(&sites);
            assert_eq!((t.verdict, t.copies, t.media, t.offsite), (verdict, copies, media, offsite), "{sites:?}");
            assert_eq!(t.add.is_empty(), verdict == "compliant", "{sites:?}: {:?}", t.add);
            assert_eq!(t.counted.len(), sites.len(), "{sites:?}");
        }
        let add = classify(&[r(same())]).add.join("; ");
        assert!(add.contains("1 more copy") && add.contains("another medium") && add.contains("offsite"), "{add}");
        let medium = &classify(&[r(same())]).add[1];
        assert!(medium.contains("another medium") && medium.contains("`dotback archive --to DIR`"), "{medium}");
        let partial = classify(&[a(usb())]).add.join("; ");
        assert!(!partial.contains("another medium"), "{partial}");
    }

    #[test]
    fn the_verdict_names_what_it_counted_and_what_is_not_there_or_gone() {
        let mut away = archives("/media/usb", Place::OtherMedium("path /media/usb".into()));
        away.present = false;
        let t = classify(&[remote(Place::SameMedium), archives("/mnt/nas", Place::OtherHost("nas".into())), away]);
        let counted: Vec<(Holder, &str, &str, bool, bool)> =
            t.counted.iter().map(|c| (c.kind, c.name.as_str(), c.medium.as_str(), c.offsite, c.present)).collect();
        assert_eq!(
            counted,
            [
                (Holder::Remote, "r", "store", false, true),
                (Holder::Archive, "/mnt/nas", "host nas", true, true),
                (Holder::Archive, "/media/usb", "path /media/usb", false, false),
            ]
        );
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["counted"][1]["kind"], "archive");
        assert_eq!(json["missing"], serde_json::json!([]), "an array, never null");
        let found = t.findings();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Ok);
        assert_eq!(
            found[0].message,
            "3-2-1: compliant (4 copies, 3 media, 1 offsite): the store, remote r (on the store's filesystem), \
             the archives in /mnt/nas (offsite, host nas), the archives in /media/usb (not there now, a disk not \
             mounted?, counted all the same)"
        );

        let gone = ThreeTwoOne { missing: vec!["/media/usb/dotback-x.bundle.age".into()], ..classify(&[]) };
        let found = gone.findings();
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[1].severity, found[1].path.as_deref()),
            (Severity::Warning, Some("/media/usb/dotback-x.bundle.age"))
        );
        assert!(found[1].message.contains("is gone"), "{found:?}");
    }

    #[test]
    fn network_filesystems_are_found_by_device_in_mountinfo() {
        let mountinfo = "\
22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
30 22 0:27 / /dev/shm rw,nosuid,nodev shared:4 - tmpfs tmpfs rw
40 22 0:53 / /mnt/nas rw,relatime shared:30 - nfs4 nas.lan:/export/backup rw,vers=4.2
41 22 0:54 / /mnt/v6 rw shared:31 - nfs [fd00::5]:/srv rw
42 22 0:55 / /mnt/share rw shared:32 - cifs //fileserver/share rw
43 22 0:56 / /mnt/smb rw shared:33 - smb3 //files.example.org/b rw
44 22 0:57 / /home/me/remote rw shared:34 - fuse.sshfs me@box.example.org:/home/me rw
45 22 0:58 / /home/me/drive rw shared:35 - fuse.rclone gdrive:backups rw
46 22 0:59 / /mnt/vm rw shared:36 - 9p hostshare rw
47 22 8:17 / /media/usb rw shared:37 master:2 - vfat /dev/sdb1 rw
";
        for (dev, host) in [
            ("8:2", None),
            ("0:27", None),
            ("0:53", Some("nas.lan")),
            ("0:54", Some("fd00::5")),
            ("0:55", Some("fileserver")),
            ("0:56", Some("files.example.org")),
            ("0:57", Some("box.example.org")),
            ("0:58", Some("gdrive")),
            ("0:59", None),
            ("8:17", None),
            ("9:9", None),
        ] {
            assert_eq!(network_host(mountinfo, dev).as_deref(), host, "{dev}");
        }
    }

    #[test]
    fn hosts_come_from_ssh_https_and_scp_like_urls() {
        for (url, host) in [
            ("ssh://me@example.org:2222/srv/dots.git", "example.org"),
            ("https://git.example.org/me/dots.git", "git.example.org"),
            ("me@example.org:dots.git", "example.org"),
            ("ssh://[::1]:22/x", "::1"),
        ] {
            assert_eq!(host_of(url), host, "{url}");
        }
    }

    #[test]
    fn record_times_parse_and_spans_read_well() {
        assert_eq!(unix_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_time("2024-03-01T12:00:01Z"), Some(1_709_294_401));
        for bad in ["", "2024-03-01", "2024-13-01T00:00:00Z", "2024-03-01T12:00:01+01:00"] {
            assert_eq!(unix_time(bad), None, "{bad}");
        }
        assert_eq!(
            (span(5), span(600), span(3 * 3600), span(9 * 86400)),
            ("5 s".into(), "10 min".into(), "3 h".into(), "9 days".into())
        );
    }

    #[test]
    fn staleness_and_drill_age_compare_the_newest_successful_record_with_the_limit() {
        let rec = |command: &str, time: &str, outcome: &str| crate::audit::Record {
            command: command.into(),
            time: time.into(),
            outcome: outcome.into(),
            ..Default::default()
        };
        let now = unix_time("2024-03-01T12:00:00Z").unwrap();
        let records = [
            rec("sync", "2024-03-01T10:00:00Z", "ok"),
            rec("sync", "2024-03-01T11:30:00Z", "offline"),
            rec("drill (identity)", "2024-01-01T00:00:00Z", "ok"),
        ];
        assert_eq!(staleness(&records, now, 3 * 3600, true).severity, Severity::Ok);
        let idle = staleness(&records, now, 3600, false);
        assert_eq!(idle.severity, Severity::Ok, "nothing waits: an idle device is not stale");
        assert!(idle.message.contains("2024-03-01T10:00:00Z"), "{}", idle.message);
        let stale = staleness(&records, now, 3600, true);
        assert_eq!(stale.severity, Severity::Error);
        assert!(stale.message.contains("2 h ago") && stale.message.contains("RPO of 1h"), "{}", stale.message);
        assert_eq!(staleness(&records[1..], now, 3600, true).severity, Severity::Warning, "no ok sync at all");
        assert_eq!(drill_age(&records, now, 90 * 86400).severity, Severity::Ok);
        assert_eq!(drill_age(&records, now, 30 * 86400).severity, Severity::Warning);
        let failed = [rec("drill (recovery)", "2024-03-01T11:00:00Z", "mismatch")];
        assert!(drill_age(&failed, now, 30 * 86400).message.contains("mismatches"));
        assert_eq!(last_push(&records, "origin"), None, "no remote reached");
        let offline = crate::audit::Record {
            remotes_reached: 1,
            remotes_unreachable: vec!["usb".into()],
            ..rec("sync", "2024-03-01T11:45:00Z", "offline")
        };
        let records = [records[0].clone(), offline];
        assert_eq!(last_push(&records, "origin"), Some("2024-03-01T11:45:00Z"));
        assert_eq!(last_push(&records, "usb"), None);
    }
}
