use super::{CliError, Session, Ui};
use crate::apply::Change;
use crate::apply::{self, PlanOptions, Selection};
use crate::audit;
use crate::store::Store;
use crate::sync::{self, Merged, Plan, SyncError};
use crate::transport::TransportError;
use crate::transport::known_hosts::Verdict;
use crate::tree_check::{self, TreeCheckError};

/// Capture and commit, fetch every remote, merge, apply, push to every remote.
///
/// Conflicts keep your version live and the other side's beside it (`dotback resolve` settles
/// them). An unreachable remote exits 5 and keeps the local commit for the next sync; a remote
/// that refuses (host key, credentials, rewritten history) exits 6.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Fetch, merge and apply, but push nowhere.
    #[arg(long)]
    no_push: bool,
    /// Only this remote.
    #[arg(long, value_name = "NAME")]
    remote: Option<String>,
    /// Show what sync would commit, merge, apply and push, changing nothing but the
    /// remote-tracking refs a fetch updates.
    #[arg(long)]
    dry_run: bool,
}

/// Exit code when some remote could not be reached (the local commit is safe).
pub(super) const OFFLINE: u8 = 5;

/// What one sync did, for its summary and the audit trail.
#[derive(Default)]
struct Tally {
    committed: usize,
    reached: Vec<String>,
    /// The commit each remote's branch was at when fetched.
    fetched: Vec<(String, git2::Oid)>,
    unreachable: Vec<(String, String)>,
    /// Remotes that refused, and the errors to show (the first one is the exit's).
    refused: Vec<String>,
    refusals: Vec<CliError>,
    merged: usize,
    conflicts: Vec<String>,
    applied: usize,
    pushed: usize,
}

pub fn cmd_sync(ui: &Ui, args: SyncArgs) -> Result<(), CliError> {
    let mut s = Session::writer()?;
    let remotes = chosen_remotes(&s, args.remote.as_deref())?;
    if args.dry_run {
        let result = dry_run(ui, &mut s, &remotes);
        s.finish()?;
        return result;
    }
    let started = std::time::Instant::now();
    let mut tally = Tally::default();
    let result = run(ui, &args, &mut s, &remotes, &mut tally);
    let outcome = match &result {
        Ok(()) => "ok",
        Err(e) if e.code == OFFLINE => "offline",
        Err(e) if e.code == REFUSED => "refused",
        Err(_) => "error",
    };
    let record = audit::Record {
        time: crate::state::rfc3339_now(),
        device: s.ctx.device.clone(),
        user: audit::user(),
        command: "sync".into(),
        outcome: outcome.into(),
        committed: tally.committed,
        remotes_reached: tally.reached.len(),
        remotes_unreachable: tally.unreachable.iter().map(|(n, _)| n.clone()).collect(),
        remotes_refused: tally.refused.clone(),
        merged: tally.merged,
        conflicts: tally.conflicts.len(),
        applied: tally.applied,
        pushed: tally.pushed,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    if let Err(e) = audit::append(&s.ctx.store, &record) {
        ui.warn(format!(
            "could not append to the audit trail {}: {e}",
            audit::path(&s.ctx.store, &s.ctx.device).display()
        ));
    }
    let finished = s.finish();
    result?;
    finished
}

/// The remotes this sync talks to: all of them, or the one `--remote` names.
pub(super) fn chosen_remotes(s: &Session, only: Option<&str>) -> Result<Vec<String>, CliError> {
    let store = Store::open(&s.ctx.store)?;
    let mut remotes: Vec<String> = store.remotes()?.into_iter().map(|(n, _)| n).collect();
    if let Some(only) = only {
        if !remotes.iter().any(|r| r == only) {
            return Err(
                CliError::new(format!("there is no remote named `{only}`")).hint("`dotback remote list` shows them")
            );
        }
        remotes.retain(|r| r == only);
    }
    if remotes.is_empty() {
        return Err(CliError::new("this store has no remotes to sync with")
            .hint("add one with `dotback remote add NAME URL` (a bare repository, a USB disk, a hosted repo)"));
    }
    Ok(remotes)
}

/// A branch that no longer contains what this store last saw there was rewritten
/// (force-pushed): merging it would bring back or bury history silently. What this store saw
/// last stays recorded (not in a ref `git fetch` moves), so every sync refuses until the user
/// decides.
fn refuse_rewritten(
    store: &Store,
    name: &str,
    before: Option<git2::Oid>,
    fetched: &Result<Option<git2::Oid>, TransportError>,
) -> Result<(), CliError> {
    let (Some(old), Ok(Some(new))) = (before, fetched) else { return Ok(()) };
    if store.contains(*new, old)? {
        return Ok(());
    }
    let related = match store.head_commit()? {
        Some(head) => store.merge_base(head, *new)?.is_some(),
        None => true,
    };
    Err(if related { rewritten(name) } else { unrelated(name) })
}

/// A fetched commit this device could not check out safely (see [`tree_check`]) is refused,
/// and the remote is not recorded as seen at it.
fn refuse_unsafe(
    store: &Store,
    ctx: &crate::context::Context,
    remote: &str,
    before: Option<git2::Oid>,
    fetched: &Result<Option<git2::Oid>, TransportError>,
) -> Result<(), CliError> {
    let Ok(Some(theirs)) = fetched else { return Ok(()) };
    let refused = match tree_check::check_fetched(store, *theirs, ctx.max_file_size) {
        Ok(()) => return Ok(()),
        Err(TreeCheckError::Store(e)) => return Err(e.into()),
        Err(TreeCheckError::Refused(r)) => r,
    };
    store.refused_fetch(remote, before)?;
    let err =
        CliError::new(format!("remote `{remote}` has a commit dotback refuses: {refused}; nothing was merged from it"))
            .code(REFUSED);
    let commit = refused.commit;
    if matches!(refused.reason, tree_check::Reason::TooLarge { .. }) {
        return Err(err.hint(format!(
            "if that file belongs in the store, raise `max_file_size` in {} and sync again",
            ctx.paths.config_file.display()
        )));
    }
    Err(err
        .hint(format!(
            "no dotback device makes such a commit: it was made with another tool, or someone else can push to `{remote}`"
        ))
        .hint(format!(
            "commit {commit} must leave the branch of `{remote}` (a revert is not enough: it stays in the history): reset that branch to a commit before it and push; until then `{remote}` is not merged, and other remotes sync as usual"
        )))
}

fn rewritten(remote: &str) -> CliError {
    CliError::new(format!(
        "the history on remote `{remote}` was rewritten: it no longer contains commits it had at the last sync; nothing was merged or pushed"
    ))
    .hint(format!(
        "look at it with `git fetch {remote}` and `git log {remote}/<branch>` in the store (that changes nothing for dotback); if the rewrite was intended, `dotback remote remove {remote}` and add it again"
    ))
    .code(REFUSED)
}

fn unrelated(remote: &str) -> CliError {
    CliError::new(format!("remote `{remote}` has a history unrelated to this store's; nothing was merged or pushed"))
        .hint("if it was rewritten on purpose, remove it (`dotback remote remove`) and push to a fresh repository")
        .code(REFUSED)
}

fn run(ui: &Ui, args: &SyncArgs, s: &mut Session, remotes: &[String], tally: &mut Tally) -> Result<(), CliError> {
    let recorded = super::commit::record(ui, s, None)?;
    if recorded.commit.is_some() {
        tally.committed = recorded.paths;
    }
    let store = Store::open(&s.ctx.store)?;
    // A merge checks out committed versions; this device's newest audit records are not committed yet.
    let pending = audit::Pending::save(&s.ctx.store, &s.ctx.device);
    let stamp = crate::state::timestamp();
    let ignore_before = crate::fsutil::read_beneath(&s.ctx.store, &s.ctx.store.join(".chezmoiignore")).ok();
    let bar = ui.progress(remotes.len() as u64, "fetching");
    {
        let vault = crate::vault::Vault::new(&s.ctx, &s.trust);
        for name in remotes {
            bar.set_message(format!("fetching {name}"));
            let before = store.seen(name);
            let fetched = store.fetch(name);
            // A rewritten or unrelated history, or a commit that could not be checked out safely,
            // is refused for that remote alone: the others sync.
            if let Err(e) = refuse_unsafe(&store, &s.ctx, name, before, &fetched)
                .and_then(|()| refuse_rewritten(&store, name, before, &fetched))
            {
                tally.refuse(name, e);
                bar.inc(1);
                continue;
            }
            match fetched {
                Err(e @ (TransportError::Unreachable { .. } | TransportError::NoPath { .. })) => {
                    tally.unreachable.push((name.clone(), e.to_string()))
                }
                Err(e) => tally.refuse(name, refusal(name, &e)),
                Ok(None) => tally.reached.push(name.clone()),
                Ok(Some(theirs)) => {
                    match sync::merge_into_head(&store, &vault, &s.ctx.device, name, theirs, &stamp) {
                        Ok(Merged::UpToDate) => {}
                        Ok(Merged::FastForward) => tally.merged += 1,
                        Ok(Merged::Merged { conflicts, kept_encrypted }) => {
                            tally.merged += 1;
                            tally.conflicts.extend(conflicts);
                            for k in kept_encrypted {
                                let target = crate::managed::target_of_source(&k).unwrap_or(k);
                                let commit = &theirs.to_string()[..10];
                                ui.warn(format!(
                                    "remote `{name}` (commit {commit}) stores ~/{target} unencrypted; this device keeps it encrypted; to stop encrypting it, `dotback forget ~/{target}` and `dotback add ~/{target}` here"
                                ));
                            }
                        }
                        Err(SyncError::Unrelated { remote }) => {
                            tally.refuse(name, unrelated(&remote));
                            bar.inc(1);
                            continue;
                        }
                        Err(SyncError::Store(e)) => {
                            pending.restore().ok();
                            return Err(e.into());
                        }
                    }
                    store.set_seen(name, theirs)?;
                    tally.reached.push(name.clone());
                    tally.fetched.push((name.clone(), theirs));
                }
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    if let Err(e) = pending.restore() {
        ui.warn(format!("could not restore this device's audit records: {e}"));
    }

    // Bring HOME up to date with what came in (or what an interrupted sync did not apply). A
    // target that cannot be written is reported at the end; the rest is applied and pushed.
    let mut unapplied = None;
    if tally.merged > 0 || recorded.home_behind {
        let targets_before = s.state.entries.len();
        // The recipients and rules may have changed: they take effect only when authenticated.
        s.refresh_trust()?;
        for a in &s.trust.accepted {
            ui.info(format!("From the remote: {a}."));
        }
        if s.trust.sealed {
            let d = &s.ctx.device;
            store.commit_all(d, &format!("{d}: seal the merged keys and rules\n\nDevice: {d}\n"))?;
        }
        if crate::fsutil::read_beneath(&s.ctx.store, &s.ctx.store.join(".chezmoiignore")).ok() != ignore_before {
            ui.info(format!(
                "From the remote: the ignore rules (.chezmoiignore) changed; targets managed before: {targets_before}, now: {}.",
                s.state.entries.len()
            ));
        }
        let vault = crate::vault::Vault::new(&s.ctx, &s.trust);
        let evals = apply::evaluate(&s.ctx, &s.state, &mut s.cache, &vault, &Selection::all())?;
        let actions = apply::plan(&evals, PlanOptions::default());
        let bar = ui.progress(actions.len() as u64, "applying");
        let report = apply::execute(&s.ctx, &s.state, &vault, &actions, &mut s.cache, &|_| bar.inc(1));
        bar.finish_and_clear();
        drop(vault);
        s.cache.save()?;
        let mut report = report?;
        tally.applied = report.written.len() + report.removed.len();
        for (path, why) in &report.skipped {
            ui.warn(format!("left ~/{path} alone: {}", why.describe()));
        }
        super::apply::warn_refused(ui, &report.refused);
        unapplied = super::apply::failures(ui, std::mem::take(&mut report.failed));
    }

    if !args.no_push {
        // A remote whose branch was fetched just now at HEAD has nothing to receive.
        let head = store.head_commit()?;
        let current = |r: &String| tally.fetched.iter().any(|(n, id)| n == r && Some(*id) == head);
        let to_push: Vec<String> = tally.reached.iter().filter(|r| !current(r)).cloned().collect();
        for name in to_push {
            match store.push(&name) {
                Ok(()) => {
                    if let Some(head) = head {
                        store.set_seen(&name, head)?;
                    }
                    tally.pushed += 1;
                }
                Err(e @ (TransportError::Unreachable { .. } | TransportError::NoPath { .. })) => {
                    tally.reached.retain(|r| *r != name);
                    tally.unreachable.push((name, e.to_string()));
                }
                Err(e) => {
                    tally.reached.retain(|r| *r != name);
                    let err = refusal(&name, &e);
                    tally.refuse(&name, err);
                }
            }
        }
    }

    let reached = remotes.len() - tally.unreachable.len() - tally.refused.len();
    if recorded.commit.is_none()
        && tally.merged == 0
        && tally.applied == 0
        && tally.pushed == 0
        && tally.unreachable.is_empty()
        && tally.refused.is_empty()
    {
        ui.info(format!(
            "Nothing to sync: HOME, the store and {} remote{} agree.",
            remotes.len(),
            super::add::plural(remotes.len())
        ));
    } else {
        let committed = if recorded.commit.is_some() {
            format!("committed {} path{}, ", recorded.paths, super::add::plural(recorded.paths))
        } else {
            String::new()
        };
        ui.info(format!(
            "Synced: {committed}{reached} remote{} reached, {} change{} applied to HOME{}.",
            super::add::plural(reached),
            tally.applied,
            super::add::plural(tally.applied),
            if args.no_push { ", nothing pushed (--no-push)" } else { "" }
        ));
    }
    for c in &tally.conflicts {
        let target = crate::managed::target_of_source(c).map(|t| format!("~/{t}")).unwrap_or_else(|| c.clone());
        ui.warn(format!(
            "conflict: the other side's version is kept as {target}; your version stays live (settle it with `dotback resolve`)"
        ));
    }
    // A change to the keys or rules that this device does not use is the user's to settle.
    if let Some(held) = &s.trust.held {
        tally.refusals.insert(0, held_back(&s.ctx.store, held));
    }
    // Remote trouble is reported (and sets the exit code) before paths that were not captured:
    // a changed host key must never hide behind an unrelated local problem.
    let uncaptured = super::commit::refused(ui, &recorded.captured).err();
    if !tally.refusals.is_empty() {
        let mut refusals = std::mem::take(&mut tally.refusals);
        let first = refusals.remove(0);
        for e in &refusals {
            ui.warn(&e.message);
            for h in &e.hints {
                ui.hint(h);
            }
        }
        return Err(first);
    }
    if !tally.unreachable.is_empty() {
        let list: Vec<String> = tally.unreachable.iter().map(|(n, w)| format!("{n} ({w})")).collect();
        return Err(CliError::new(format!("could not reach {}; the local commit is safe", list.join(", ")))
            .hint("run `dotback sync` again when it is reachable; nothing is lost meanwhile")
            .code(OFFLINE));
    }
    uncaptured.or(unapplied).map_or(Ok(()), Err)
}

/// `sync --dry-run`: what would be committed, what each remote would bring, what would be
/// pushed. Nothing is committed, merged, applied or pushed.
fn dry_run(ui: &Ui, s: &mut Session, remotes: &[String]) -> Result<(), CliError> {
    let vault = crate::vault::Vault::new(&s.ctx, &s.trust);
    let evals = apply::evaluate(&s.ctx, &s.state, &mut s.cache, &vault, &Selection::all())?;
    let store = Store::open(&s.ctx.store)?;
    let mut local: Vec<String> = evals
        .iter()
        .filter(|e| matches!(e.change, Change::ChangedInHome | Change::ChangedInBoth))
        .map(|e| format!("~/{} ({})", e.target, e.change.describe()))
        .collect();
    local.extend(store.uncommitted()?.into_iter().map(|u| format!("{} ({} in the store)", u.path, u.change)));
    if local.is_empty() {
        ui.out("Would commit: nothing");
    } else {
        ui.out(format!("Would commit {} change{}:", local.len(), super::add::plural(local.len())));
        for l in &local {
            ui.out(format!("  {l}"));
        }
    }
    let stamp = crate::state::timestamp();
    // The exit code a real sync would end with: 5 for an unreachable remote, 6 for a refusal.
    let mut worst: Option<CliError> = None;
    let note = |e: CliError, worst: &mut Option<CliError>| {
        if worst.as_ref().is_none_or(|w| w.code < e.code) {
            *worst = Some(e);
        }
    };
    for name in remotes {
        let before = store.seen(name);
        let fetched = store.fetch(name);
        if let Err(e) = refuse_unsafe(&store, &s.ctx, name, before, &fetched)
            .and_then(|()| refuse_rewritten(&store, name, before, &fetched))
        {
            ui.out(format!("Remote `{name}`: refused: {}", e.message));
            note(e, &mut worst);
            continue;
        }
        match fetched {
            Err(e @ (TransportError::Unreachable { .. } | TransportError::NoPath { .. })) => {
                let message = e.to_string();
                ui.out(format!("Remote `{name}`: cannot be reached: {message}"));
                note(CliError::new(format!("could not reach {name} ({message})")).code(OFFLINE), &mut worst);
            }
            Err(e) => {
                ui.out(format!("Remote `{name}`: refused: {e}"));
                note(refusal(name, &e), &mut worst);
            }
            Ok(None) => ui.out(format!("Remote `{name}`: empty; would receive this store's history")),
            Ok(Some(theirs)) => match sync::plan(&store, &vault, name, theirs, &stamp) {
                Err(SyncError::Unrelated { remote }) => {
                    ui.out(format!("Remote `{name}`: refused: its history is unrelated to this store's"));
                    note(unrelated(&remote), &mut worst);
                }
                Err(SyncError::Store(e)) => return Err(e.into()),
                Ok(plan) => {
                    let verb = match &plan {
                        Plan::UpToDate => "nothing to merge",
                        Plan::FastForward { .. } if !local.is_empty() => "would merge (with the local changes)",
                        Plan::FastForward { .. } => "would fast-forward",
                        Plan::Merge { .. } => "would merge",
                    };
                    ui.out(format!("Remote `{name}`: {verb}"));
                    for p in plan.changed() {
                        if plan.conflicts().contains(p) || audit::is_audit(p) {
                            continue;
                        }
                        let shown = crate::managed::target_of_source(p).map(|t| format!("~/{t}")).unwrap_or(p.clone());
                        ui.out(format!("  would change {shown}"));
                    }
                    for c in plan.conflicts() {
                        let shown = crate::managed::target_of_source(c).map(|t| format!("~/{t}")).unwrap_or(c.clone());
                        ui.out(format!("  conflict: the other side's version would be kept as {shown}"));
                    }
                }
            },
        }
    }
    for r in store.remote_state()?.iter().filter(|r| remotes.contains(&r.name)) {
        let commits = r.ahead + usize::from(!local.is_empty());
        if commits > 0 {
            ui.out(format!("Would push to `{}`: {commits} commit{}", r.name, super::add::plural(commits)));
        }
    }
    ui.info("Dry run: nothing was committed, merged, applied or pushed.");
    worst.map_or(Ok(()), Err)
}

/// The error for a change to the control files that is held back.
pub(super) fn held_back(store: &std::path::Path, held: &crate::trust::Held) -> CliError {
    let show = match &held.commit {
        Some(c) => format!("look at it with `git -C {} show {c}`", store.display()),
        None => format!("look at it with `git -C {} log -p .dotback`", store.display()),
    };
    CliError::new(held.describe())
        .hint(format!(
            "{show}; if you made it (or one of your devices did), `dotback keys accept` takes it; otherwise `dotback keys revert` restores what this device trusts and commits that"
        ))
        .code(REFUSED)
}

impl Tally {
    fn refuse(&mut self, remote: &str, e: CliError) {
        self.refused.push(remote.to_string());
        self.refusals.push(e);
    }
}

/// Exit code when a remote refused dotback (host key, credentials, a rejected push): it needs
/// the user, not a retry.
const REFUSED: u8 = 6;

pub(super) fn refusal(remote: &str, e: &TransportError) -> CliError {
    let err = CliError::new(format!("remote `{remote}`: {e}; the local commit is safe")).code(REFUSED);
    match e {
        TransportError::HostKey { verdict: Verdict::Revoked(_), .. } => err.hint(
            "a revoked key is never accepted: do not sync with this host until its owner gives it a new key, then record that one",
        ),
        TransportError::HostKey { host, port, verdict, .. } => {
            let port_flag = if *port == 22 { String::new() } else { format!(" -p {port}") };
            match verdict {
                Verdict::CertAuthority(_) => err.hint(format!(
                    "record the host's own key as well: check the fingerprint above with its owner, then add it with `ssh-keyscan{port_flag} {host} >> ~/.ssh/known_hosts`"
                )),
                _ => err
                    .hint(format!(
                        "if the host is new to you, check that fingerprint with its owner, then connect once with `ssh{port_flag} {host}` to record the key"
                    ))
                    .hint("if the key changed unexpectedly, someone may be intercepting the connection; do not sync until you know why"),
            }
        }
        TransportError::Auth { password: crate::transport::Password::InUrl, .. } => err.hint(
            "the password written in the remote's URL was refused; better keep it out of the URL (`git remote set-url`) and in a git credential helper",
        ),
        TransportError::Auth { url, password: crate::transport::Password::FromHelper, .. } => err.hint(format!(
            "the password git's credential helper gave was refused; make it forget that one with `printf 'url={url}\\n' | git credential reject`, then run `git ls-remote {url}` once to enter the right one"
        )),
        TransportError::Auth { url, .. } if url.starts_with("http") => err.hint(format!(
            "set up a git credential helper that keeps passwords (see `git help credential`), then run `git ls-remote {url}` once: git asks for the user name and password (or access token) and hands them to the helper"
        )),
        TransportError::Auth { .. } => err.hint(
            "load a key into ssh-agent (`ssh-add`) or keep an unencrypted one as ~/.ssh/id_ed25519 and authorize it on the server",
        ),
        TransportError::Certificate { .. } => err
            .hint("check that the URL names the right host; if the server's certificate comes from your own certificate authority, point SSL_CERT_FILE at a PEM file holding the authorities to trust")
            .hint("do not sync through a certificate you cannot explain: someone may be intercepting the connection"),
        TransportError::Refused { .. } => {
            err.hint("if the remote has commits this store does not, run `dotback sync` again to merge them first")
        }
        TransportError::Unreachable { .. } | TransportError::NoPath { .. } => err.code(OFFLINE),
        TransportError::NotARepository { path } => err
            .hint(format!("an empty directory becomes a remote with `git init --bare {}`; then sync again", path.display()))
            .hint(format!("if the repository is elsewhere, `dotback remote remove {remote}` and add its path")),
        TransportError::NotBare { path } => err.hint(format!(
            "push to a bare repository instead: make one with `git clone --bare {} NEW.git` (or `git init --bare NEW.git`), then `dotback remote remove {remote}` and `dotback remote add {remote} NEW.git`",
            path.display()
        )),
        TransportError::MissingObject { store, .. } => {
            CliError::new(format!("{e}; nothing was fetched from or pushed to remote `{remote}`"))
                .hint(format!("`git -C {} fsck` names what is damaged; HOME and the store's files were not changed", store.display()))
                .hint("if a remote has this store's commits, a fresh clone of it is an intact copy of the store")
        }
        TransportError::Local { .. } => CliError::from_error(e)
            .hint("nothing was fetched or pushed; run `git status` in the store to see its state"),
    }
}
