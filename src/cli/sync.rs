use super::{CliError, Session, Ui};
use crate::apply::{self, PlanOptions, Selection};
use crate::store::Store;
use crate::sync::{self, Merged, SyncError};
use crate::transport::TransportError;
use crate::vault::Vault;

/// Capture and commit, fetch every remote, merge, apply, push to every remote.
///
/// Not listed in --help yet: ssh transport, `resolve` and the offline queue come first.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Fetch, merge and apply, but push nowhere.
    #[arg(long)]
    no_push: bool,
    /// Only this remote.
    #[arg(long, value_name = "NAME")]
    remote: Option<String>,
}

/// Exit code when some remote could not be reached (the local commit is safe).
const OFFLINE: u8 = 5;

pub fn cmd_sync(ui: &Ui, args: SyncArgs) -> Result<(), CliError> {
    let mut s = Session::writer()?;
    let recorded = super::commit::record(ui, &mut s, None)?;
    let store = Store::open(&s.ctx.store)?;
    let mut remotes: Vec<String> = store.remotes()?.into_iter().map(|(n, _)| n).collect();
    if let Some(only) = &args.remote {
        if !remotes.contains(only) {
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

    let stamp = crate::state::timestamp();
    let mut unreachable: Vec<(String, String)> = Vec::new();
    let mut refused: Vec<(String, TransportError)> = Vec::new();
    let mut conflicts: Vec<String> = Vec::new();
    let mut merged_any = false;
    {
        let vault = Vault::new(&s.ctx, s.rules.clone());
        for name in &remotes {
            match store.fetch(name) {
                Err(TransportError::Unreachable { message }) => unreachable.push((name.clone(), message)),
                Err(e) => refused.push((name.clone(), e)),
                Ok(None) => {}
                Ok(Some(theirs)) => match sync::merge_into_head(&store, &vault, &s.ctx.device, name, theirs, &stamp) {
                    Ok(Merged::UpToDate) => {}
                    Ok(Merged::FastForward) => merged_any = true,
                    Ok(Merged::Merged { conflicts: c }) => {
                        merged_any = true;
                        conflicts.extend(c);
                    }
                    Err(SyncError::Unrelated { remote }) => {
                        return Err(CliError::new(format!(
                            "remote `{remote}` has a history unrelated to this store's; nothing was merged or pushed"
                        ))
                        .hint("if it was rewritten on purpose, remove it (`dotback remote remove`) and push to a fresh repository")
                        .code(REFUSED));
                    }
                    Err(SyncError::Store(e)) => return Err(e.into()),
                },
            }
        }
    }

    // Bring HOME up to date with what came in.
    let mut applied = 0;
    if merged_any {
        s.state = crate::managed::scan(&s.ctx.store)?;
        let vault = Vault::new(&s.ctx, s.rules.clone());
        let evals = apply::evaluate(&s.ctx, &s.state, &mut s.cache, &vault, &Selection::all())?;
        let actions = apply::plan(&evals, PlanOptions::default());
        let report = apply::execute(&s.ctx, &s.state, &vault, &actions, &mut s.cache, &|_| {});
        drop(vault);
        s.cache.save()?;
        let report = report?;
        applied = report.written.len() + report.removed.len();
        for (path, why) in &report.skipped {
            ui.warn(format!("left ~/{path} alone: {}", why.describe()));
        }
    }

    if !args.no_push {
        let fetched = |r: &&String| !unreachable.iter().any(|(u, _)| u == *r) && !refused.iter().any(|(u, _)| u == *r);
        let to_push: Vec<String> = remotes.iter().filter(fetched).cloned().collect();
        for name in to_push {
            match store.push(&name) {
                Ok(()) => {}
                Err(TransportError::Unreachable { message }) => unreachable.push((name, message)),
                Err(e) => refused.push((name, e)),
            }
        }
    }
    s.finish()?;

    let committed = if recorded.commit.is_some() { "committed local changes, " } else { "" };
    ui.info(format!(
        "Synced: {committed}{} remote{} reached, {applied} change{} applied to HOME{}.",
        remotes.len() - unreachable.len() - refused.len(),
        super::add::plural(remotes.len() - unreachable.len() - refused.len()),
        super::add::plural(applied),
        if args.no_push { ", nothing pushed (--no-push)" } else { "" }
    ));
    for c in &conflicts {
        ui.warn(format!(
            "conflict: the other side's version is kept as {c}; your version stays live (compare them, keep one, delete the copy)"
        ));
    }
    super::commit::refused(ui, &recorded.captured)?;
    if let Some((name, why)) = refused.first() {
        for (other, e) in refused.iter().skip(1) {
            ui.warn(format!("remote `{other}`: {e}"));
        }
        return Err(refusal(name, why));
    }
    if !unreachable.is_empty() {
        let list: Vec<String> = unreachable.iter().map(|(n, w)| format!("{n} ({w})")).collect();
        return Err(CliError::new(format!("could not reach {}; the local commit is safe", list.join(", ")))
            .hint("run `dotback sync` again when it is reachable; nothing is lost meanwhile")
            .code(OFFLINE));
    }
    Ok(())
}

/// Exit code when a remote refused dotback (host key, credentials, a rejected push): it needs
/// the user, not a retry.
const REFUSED: u8 = 6;

fn refusal(remote: &str, e: &TransportError) -> CliError {
    let err = CliError::new(format!("remote `{remote}`: {e}; the local commit is safe")).code(REFUSED);
    match e {
        TransportError::HostKey { host, .. } => err
            .hint(format!(
                "if the host is new to you, check that fingerprint with its owner, then connect once with `ssh {host}` to record the key"
            ))
            .hint("if the key changed unexpectedly, someone may be intercepting the connection; do not sync until you know why"),
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
        TransportError::Unreachable { .. } => err,
    }
}
