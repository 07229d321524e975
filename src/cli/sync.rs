use super::{CliError, Ui};
use dotback::sync::{self, Arrival, DryRemote, Refusal, SyncError, SyncOptions, SyncReport, Unsettled};
use dotback::transport::TransportError;
use dotback::transport::known_hosts::Verdict;
use dotback::tree_check;

/// Capture and commit, fetch every remote, merge, apply, push to every remote.
///
/// Conflicts keep this device's version live and the other device's beside it (`dotback
/// resolve` settles them); the device whose edit went into the copy is told at its next sync. An
/// unreachable remote exits 5 and keeps the local commit for the next sync; a remote that
/// refuses (host key, credentials, rewritten history) exits 6; a sync that ends with a conflict
/// unsettled exits 8. When several apply, the first of 6, 5, 7, 1 (an edit not captured or
/// applied), 8 is the exit code.
/// Files deleted in HOME are deleted on the other devices too (where unchanged); past the
/// deletion guard (see `dotback commit --help`) none of them is recorded, the rest syncs, and
/// the exit code is 7.
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
    /// Record the deletions in HOME even when the deletion guard holds them.
    #[arg(long)]
    allow_deletions: bool,
}

/// Exit code when some remote could not be reached (the local commit is safe).
pub(super) const OFFLINE: u8 = 5;

pub fn cmd_sync(ui: &Ui, args: SyncArgs) -> Result<(), CliError> {
    // A dry run fetches before it evaluates; a sync commits what HOME holds first.
    let mut s = if args.dry_run { super::writer(ui)? } else { super::writer_to_evaluate(ui)? };
    let opts = SyncOptions {
        remote: args.remote.clone(),
        no_push: args.no_push,
        allow_deletions: args.allow_deletions,
        delegate: true,
    };
    if args.dry_run {
        let dry = sync::dry_run(&mut s, &opts, ui).map_err(|e| sync_error(ui, e))?;
        let config_file = s.ctx.paths.config_file.clone();
        s.finish()?;
        return render_dry_run(ui, &config_file, dry);
    }
    let result = sync::run(&mut s, &opts, ui);
    let store = s.ctx.store.clone();
    let max_size_config = s.ctx.paths.config_file.clone();
    let max_deletions = s.ctx.max_deletions;
    let rendered = match result {
        Ok(report) => render(ui, &args, &store, &max_size_config, max_deletions, report),
        Err(e) => Err(sync_error(ui, e)),
    };
    let finished = s.finish();
    rendered?;
    Ok(finished?)
}

/// A failed sync as the user sees it.
pub(super) fn sync_error(ui: &Ui, e: SyncError) -> CliError {
    match e {
        SyncError::Store(e) => e.into(),
        SyncError::Commit(e) => super::commit::commit_error(ui, e),
        SyncError::Session(e) => e.into(),
        SyncError::Eval(e) => e.into(),
        SyncError::Apply(e) => e.into(),
        SyncError::State(e) => e.into(),
        SyncError::Unrelated { remote } => unrelated(&remote),
        SyncError::NoSuchRemote { .. } => CliError::from_error(&e).hint("`dotback remote list` shows them"),
        SyncError::NoRemotes => CliError::from_error(&e)
            .hint("add one with `dotback remote add NAME URL` (a bare repository, a USB disk, a hosted repo)"),
    }
}

/// The error a refused remote ends the sync with.
fn refusal_error(remote: &str, r: &Refusal, config_file: &std::path::Path) -> CliError {
    match r {
        Refusal::Transport(e) => refusal(remote, e),
        Refusal::Rewritten => rewritten(remote),
        Refusal::Unrelated => unrelated(remote),
        Refusal::Unsafe(refused) => {
            let err = CliError::new(format!(
                "remote `{remote}` has a commit dotback refuses: {refused}; nothing was merged from it"
            ))
            .code(REFUSED);
            let commit = &refused.commit;
            if matches!(refused.reason, tree_check::Reason::TooLarge { .. }) {
                return err.hint(format!(
                    "if that file belongs in the store, raise `max_file_size` in {} and sync again",
                    config_file.display()
                ));
            }
            err.hint(format!(
                "no dotback device makes such a commit: it was made with another tool, or someone else can push to `{remote}`"
            ))
            .hint(format!(
                "commit {commit} must leave the branch of `{remote}` (a revert is not enough: it stays in the history): reset that branch to a commit before it and push; until then `{remote}` is not merged, and other remotes sync as usual"
            ))
        }
    }
}

fn render(
    ui: &Ui,
    args: &SyncArgs,
    store: &std::path::Path,
    config_file: &std::path::Path,
    max_deletions: usize,
    mut report: SyncReport,
) -> Result<(), CliError> {
    for k in &report.kept_encrypted {
        ui.warn(format!(
            "remote `{}` (commit {}) stores ~/{t} unencrypted; this device keeps it encrypted; to stop encrypting it, `dotback forget ~/{t}` and `dotback add ~/{t}` here",
            k.remote,
            &k.commit[..10],
            t = k.target
        ));
    }
    super::commit::captured_news(ui, &report.committed.captured, report.applied.is_some());
    for a in &report.accepted {
        ui.info(format!("From the remote: {a}."));
    }
    if let Some((before, after)) = report.ignore_changed {
        ui.info(format!(
            "From the remote: the ignore rules (.chezmoiignore) changed; targets managed before: {before}, now: {after}."
        ));
    }
    let mut unapplied = None;
    if let Some(applied) = report.applied.as_mut() {
        for (path, why) in &applied.skipped {
            ui.warn(format!("left ~/{path} alone: {}", why.describe()));
        }
        super::apply::warn_refused(ui, &applied.refused);
        super::apply::warn_template_edits(ui, &applied.template_edits);
        unapplied = super::apply::failures(ui, std::mem::take(&mut applied.failed));
        if let Some(dir) = &applied.backup_dir {
            ui.info(format!("What sync overwrote or removed in HOME is saved in {}.", dir.display()));
        }
    }
    // What needs chezmoi is said on every sync that applies, but does not fail it: a device
    // without chezmoi (a server, say) keeps syncing what dotback handles itself.
    if let Some(e) = super::apply::delegation_error(&report.delegation, &report.delegated) {
        if matches!(report.delegation, dotback::delegate::Delegation::NoChezmoi) {
            ui.warn_error(&e);
        } else {
            unapplied.get_or_insert(e);
        }
    }
    let remotes = report.remotes.len();
    let reached = report.reached();
    let applied = report.applied_count();
    let committed = report.committed.commit.is_some();
    let quiet = !committed
        && report.committed.captured.refused.is_empty()
        && report.merged == 0
        && applied == 0
        && report.pushed == 0
        && report.unreachable().next().is_none()
        && report.refused().next().is_none();
    if quiet {
        ui.info(format!("Nothing to sync: HOME, the store and {remotes} remote{} agree.", super::add::plural(remotes)));
    } else {
        let paths = report.committed.paths;
        let committed =
            if committed { format!("committed {paths} path{}, ", super::add::plural(paths)) } else { String::new() };
        ui.info(format!(
            "Synced: {committed}{reached} remote{} reached, {applied} change{} applied to HOME{}.",
            super::add::plural(reached),
            super::add::plural(applied),
            if args.no_push { ", nothing pushed (--no-push)" } else { "" }
        ));
    }
    let push_refused = report.remotes.iter().any(|(_, st)| matches!(st, sync::RemoteStatus::PushRefused(_)));
    if report.push_retries > 0 && !push_refused {
        let n = report.push_retries;
        ui.info(format!(
            "Another device pushed first ({n} time{}): this sync fetched again, merged what it found and pushed again.",
            super::add::plural(n)
        ));
    }
    for u in &report.unsettled {
        let c = &u.conflict;
        match &u.arrival {
            Arrival::Earlier => {}
            Arrival::Made => ui.warn(format!(
                "conflict: ~/{} changed here and on {d}; this device's version stays live, {d}'s is kept beside it as ~/{} (`dotback resolve ~/{} --ours|--theirs|--merge` settles it)",
                c.path, c.copy, c.path, d = c.device
            )),
            Arrival::Received { by } if c.holds_this_device => {
                let other = by.as_deref().unwrap_or("another device");
                ui.warn(format!(
                    "conflict: this device's edit of ~/{p} could not be merged on {other}: ~/{p} now has {other}'s version, and this device's is in ~/{}",
                    c.copy,
                    p = c.path
                ));
                ui.hint(format!(
                    "`dotback resolve ~/{p} --ours` takes this device's version back; `--theirs` keeps {other}'s, `--merge` merges both",
                    p = c.path
                ));
            }
            Arrival::Received { by } => ui.warn(format!(
                "conflict from {}: ~/{} has its version, and {}'s is in ~/{} (`dotback resolve ~/{} --ours|--theirs|--merge` settles it)",
                by.as_deref().unwrap_or("another device"),
                c.path,
                c.device,
                c.copy,
                c.path
            )),
        }
    }
    // A change to the keys or rules that this device does not use is the user's to settle;
    // remote trouble is reported (and sets the exit code) before paths that were not captured:
    // a changed host key must never hide behind an unrelated local problem.
    let mut refusals: Vec<CliError> = report.held.iter().map(|h| held_back(store, h)).collect();
    refusals.extend(report.refused().map(|(name, r)| refusal_error(name, r, config_file)));
    let uncaptured = super::commit::refused(ui, &report.committed.captured).err();
    let unreachable: Vec<String> = report.unreachable().map(|(n, w)| format!("{n} ({w})")).collect();
    if !unreachable.is_empty() {
        refusals.push(
            CliError::new(format!("could not reach {}; the local commit is safe", unreachable.join(", ")))
                .hint("run `dotback sync` again when it is reachable; nothing is lost meanwhile")
                .code(OFFLINE),
        );
    }
    // Deletions held back need the user as much as a refusing remote, but a remote's trouble is named first.
    refusals.extend(super::commit::held_deletions(&report.committed.captured, max_deletions, "sync"));
    refusals.extend(uncaptured.or(unapplied));
    refusals.extend(unsettled(&report.unsettled));
    if refusals.is_empty() {
        return Ok(());
    }
    // The exit code is the most urgent one's; the rest become warnings, in the order found.
    let most = (0..refusals.len()).min_by_key(|&i| urgency(refusals[i].code)).expect("not empty");
    let first = refusals.remove(most);
    for e in &refusals {
        ui.warn_error(e);
    }
    Err(first)
}

/// Which of a sync's exit codes wins when several apply (lower is more urgent): a refusing
/// remote or a held-back change (6), an unreachable remote (5), held deletions (7), an edit not
/// captured or applied (1), an unsettled conflict (8).
fn urgency(code: u8) -> u8 {
    match code {
        REFUSED => 0,
        OFFLINE => 1,
        super::commit::DELETIONS_HELD => 2,
        CONFLICTS => 4,
        _ => 3,
    }
}

/// Exit code when a sync ends with a conflict copy in the store: nothing is lost, but a file
/// waits for `dotback resolve`.
pub(super) const CONFLICTS: u8 = 8;

/// The error a sync ends with while conflicts are unsettled, if it ends with no other.
fn unsettled(unsettled: &[Unsettled]) -> Option<CliError> {
    let mut targets: Vec<String> = unsettled.iter().map(|u| format!("~/{}", u.conflict.path)).collect();
    targets.sort();
    targets.dedup();
    let n = targets.len();
    (n > 0).then(|| {
        CliError::new(format!(
            "{n} file{} in conflict until `dotback resolve` settles {}: {}",
            super::add::plural(n),
            if n == 1 { "it" } else { "them" },
            targets.join(", ")
        ))
        .hint("`dotback resolve` lists whose version is where; `dotback resolve PATH --ours|--theirs|--merge` settles one")
        .code(CONFLICTS)
    })
}

/// `sync --dry-run`: what would be committed, what each remote would bring, what would be
/// pushed, and the exit code a real sync would end with (6 refused, else 5 unreachable, else 8
/// a conflict unsettled).
fn render_dry_run(ui: &Ui, config_file: &std::path::Path, dry: sync::DryRun) -> Result<(), CliError> {
    if dry.local.is_empty() {
        ui.out("Would commit: nothing");
    } else {
        ui.out(format!("Would commit {} change{}:", dry.local.len(), super::add::plural(dry.local.len())));
        for l in &dry.local {
            ui.out(format!("  {l}"));
        }
    }
    let mut worst: Option<CliError> = None;
    let mut note = |e: CliError| {
        if worst.as_ref().is_none_or(|w| urgency(e.code) < urgency(w.code)) {
            worst = Some(e);
        }
    };
    let shown = |p: &String| dotback::managed::target_of_source(p).map(|t| format!("~/{t}")).unwrap_or(p.clone());
    for (name, remote) in &dry.remotes {
        match remote {
            DryRemote::Unreachable { message } => {
                ui.out(format!("Remote `{name}`: cannot be reached: {message}"));
                note(CliError::new(format!("could not reach {name} ({message})")).code(OFFLINE));
            }
            DryRemote::Refused(r) => {
                let e = refusal_error(name, r, config_file);
                let why = match r {
                    Refusal::Transport(t) => t.to_string(),
                    _ => e.message.clone(),
                };
                ui.out(format!("Remote `{name}`: refused: {why}"));
                note(e);
            }
            DryRemote::Empty => ui.out(format!("Remote `{name}`: empty; would receive this store's history")),
            DryRemote::Merge { preview } => {
                let verb = match preview {
                    sync::Plan::UpToDate => "nothing to merge",
                    sync::Plan::FastForward { .. } if !dry.local.is_empty() => "would merge (with the local changes)",
                    sync::Plan::FastForward { .. } => "would fast-forward",
                    sync::Plan::Merge { .. } => "would merge",
                };
                ui.out(format!("Remote `{name}`: {verb}"));
                for p in preview.changed() {
                    if preview.conflicts().contains(p) || dotback::audit::is_audit(p) {
                        continue;
                    }
                    ui.out(format!("  would change {}", shown(p)));
                }
                for c in preview.conflicts() {
                    ui.out(format!("  conflict: the other side's version would be kept as {}", shown(c)));
                }
            }
        }
    }
    for (name, commits) in &dry.would_push {
        ui.out(format!("Would push to `{name}`: {commits} commit{}", super::add::plural(*commits)));
    }
    for c in &dry.unsettled {
        ui.out(format!("Unsettled conflict: ~/{}: {}", c.path, c.describe()));
    }
    ui.info("Dry run: nothing was committed, merged, applied or pushed.");
    let conflicts = !dry.unsettled.is_empty()
        || dry
            .remotes
            .iter()
            .any(|(_, r)| matches!(r, DryRemote::Merge { preview } if !preview.conflicts().is_empty()));
    if worst.is_none() && conflicts {
        return Err(CliError::new("the sync would end with a file in conflict").code(CONFLICTS));
    }
    worst.map_or(Ok(()), Err)
}

fn rewritten(remote: &str) -> CliError {
    CliError::new(format!(
        "the history on remote `{remote}` was rewritten: it no longer contains commits it had at the last sync; nothing was merged or pushed"
    ))
    .hint(format!(
        "look at it with `git fetch {remote}` and `git log {remote}/<branch>` in the store (that changes nothing for dotback); `dotback remote accept {remote}` lists the commits it dropped and goes on from it, and the next sync merges them back"
    ))
    .code(REFUSED)
}

fn unrelated(remote: &str) -> CliError {
    CliError::new(format!("remote `{remote}` has a history unrelated to this store's; nothing was merged or pushed"))
        .hint("if it was rewritten on purpose, remove it (`dotback remote remove`) and push to a fresh repository")
        .code(REFUSED)
}

/// The error for a change to the control files that is held back.
pub(super) fn held_back(store: &std::path::Path, held: &dotback::trust::Held) -> CliError {
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
        TransportError::Auth { password: dotback::transport::Password::InUrl, .. } => err.hint(
            "the password written in the remote's URL was refused; better keep it out of the URL (`git remote set-url`) and in a git credential helper",
        ),
        TransportError::Auth { url, password: dotback::transport::Password::FromHelper, .. } => err.hint(format!(
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
        // Every attempt lost the race to another device's push: busy, not refused.
        TransportError::Moved { .. } => err
            .code(OFFLINE)
            .hint("other devices kept pushing meanwhile; `dotback sync` merges their commits and pushes again"),
        TransportError::BranchLocked { lock, .. } => err.hint(format!(
            "if no dotback or git is pushing there now, the lock was left by one that was stopped: remove {} and sync again",
            lock.display()
        )),
        TransportError::NotTaken { .. } => {
            err.hint("the server's words say why; check its hooks, permissions and free space")
        }
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
