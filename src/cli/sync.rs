use super::{CliError, Session, Ui};
use crate::apply::{self, PlanOptions, Selection};
use crate::store::Store;
use crate::sync::{self, Merged, SyncError};
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
    let mut conflicts: Vec<String> = Vec::new();
    let mut merged_any = false;
    let mut fetched: Vec<(String, git2::Oid)> = Vec::new();
    {
        let vault = Vault::new(&s.ctx, s.rules.clone());
        for name in &remotes {
            let result = store.fetch(name);
            if let Ok(Some(theirs)) = &result {
                fetched.push((name.clone(), *theirs));
            }
            match result {
                Err(e) => unreachable.push((name.clone(), e.message().to_string())),
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
                        .hint("if it was rewritten on purpose, remove it (`dotback remote remove`) and push to a fresh repository"));
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

    let mut rejected: Vec<(String, String)> = Vec::new();
    if !args.no_push {
        // A remote whose branch was fetched just now at HEAD has nothing to receive.
        let head = store.head_commit()?;
        let current = |r: &String| fetched.iter().any(|(n, id)| n == r && Some(*id) == head);
        for name in remotes.iter().filter(|r| !unreachable.iter().any(|(u, _)| u == *r) && !current(r)) {
            if let Err(e) = store.push(name) {
                rejected.push((name.clone(), e.message().to_string()));
            }
        }
    }
    s.finish()?;

    let committed = if recorded.commit.is_some() { "committed local changes, " } else { "" };
    ui.info(format!(
        "Synced: {committed}{} remote{} reached, {applied} change{} applied to HOME{}.",
        remotes.len() - unreachable.len(),
        super::add::plural(remotes.len() - unreachable.len()),
        super::add::plural(applied),
        if args.no_push { ", nothing pushed (--no-push)" } else { "" }
    ));
    for c in &conflicts {
        ui.warn(format!(
            "conflict: the other side's version is kept as {c}; your version stays live (compare them, keep one, delete the copy)"
        ));
    }
    super::commit::refused(ui, &recorded.captured)?;
    if let Some((name, why)) = rejected.first() {
        return Err(CliError::new(format!("remote `{name}` refused the push: {why}"))
            .hint("it has commits this store does not; run `dotback sync` again to merge them first"));
    }
    if !unreachable.is_empty() {
        let list: Vec<String> = unreachable.iter().map(|(n, w)| format!("{n} ({w})")).collect();
        return Err(CliError::new(format!("could not reach {}; the local commit is safe", list.join(", ")))
            .hint("run `dotback sync` again when it is reachable; nothing is lost meanwhile")
            .code(OFFLINE));
    }
    Ok(())
}
