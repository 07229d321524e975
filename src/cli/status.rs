use super::ui::{BOLD, GREEN, RED, YELLOW};
use super::{CliError, Context, Ui};
use dotback::eval::{self, Change};
use dotback::paths::Paths;
use dotback::status::{self, Status, StatusError};
use dotback::store::Uncommitted;
use serde::Serialize;
use std::path::PathBuf;

/// Show what differs between HOME and the store, and what the store has not committed.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Limit to these paths in HOME.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print JSON (stable field names) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Entry {
    path: String,
    change: Change,
    /// Why it could not be compared (locked entries) or is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

/// An entry dotback leaves to chezmoi.
#[derive(Serialize)]
struct Delegated {
    /// chezmoi's target, relative to HOME; null for externals and `.chezmoiremove` files.
    path: Option<String>,
    source: String,
    /// Its kind (template, run_ script, externals file, …).
    reason: &'static str,
    /// For a script: before, during or after chezmoi writes the targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    when: Option<dotback::delegate::When>,
    /// "chezmoi", or null when chezmoi is not installed (apply skips it).
    handled_by: Option<&'static str>,
}

#[derive(Serialize)]
pub(super) struct KindCount {
    kind: &'static str,
    count: usize,
}

/// The delegated entries by kind, with how many of each.
pub(super) fn kinds(items: &[dotback::delegate::Item]) -> Vec<KindCount> {
    dotback::delegate::by_kind(items).into_iter().map(|(w, count)| KindCount { kind: w.label(), count }).collect()
}

/// `2 templates, 1 run_ script`.
pub(super) fn kinds_text(items: &[dotback::delegate::Item]) -> String {
    kinds(items)
        .iter()
        .map(|k| format!("{} {}{}", k.count, k.kind, super::add::plural(k.count)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A target an `[[only]]` rule keeps from this device.
#[derive(Serialize)]
struct Skipped {
    path: String,
    /// The rule: its patterns and the devices/OS it admits.
    rule: String,
}

#[derive(Serialize)]
struct StatusJson {
    targets: Vec<Entry>,
    delegated: Vec<Delegated>,
    /// The delegated entries by kind, with counts.
    delegated_kinds: Vec<KindCount>,
    uncommitted: Vec<Uncommitted>,
    /// Per remote: what is not yet pushed (since when) and what was fetched but not merged.
    remotes: Vec<dotback::store::RemoteState>,
    /// Files sync could not merge: the file, and the copy holding one device's version (one
    /// entry per copy; `holds_this_device` says whether that is this device's own, the live file
    /// then holding the other's), until `dotback resolve` settles them.
    conflicts: Vec<dotback::resolve::Conflict>,
    warnings: Vec<String>,
    /// Targets skipped on this device by selective sync (`[[only]]` in the manifest): not
    /// applied or captured here, and not changes.
    skipped_on_device: Vec<Skipped>,
    /// A change to the recipients, recovery key or manifest this device does not use (it came
    /// without a valid seal): null when there is none.
    held_back: Option<dotback::trust::Held>,
    /// Why this device's identity cannot be used, when a target needs it: null otherwise.
    identity_problem: Option<String>,
    /// The running watcher (`dotback watch`): null when none runs.
    watcher: Option<dotback::service::WatchStatus>,
}

pub fn cmd_status(ui: &Ui, args: StatusArgs) -> Result<(), CliError> {
    let ctx = Context::load(Paths::from_process_env()?)?;
    let Status {
        session: s,
        selection: sel,
        evals,
        uncommitted,
        remotes,
        conflicts,
        identity_problem,
        delegated,
        chezmoi,
        watcher,
    } = status::status(ctx, &args.paths, ui).map_err(status_error)?;
    let identity_problem = identity_problem.map(super::keys::unusable_identity);
    let report = StatusJson {
        targets: evals
            .iter()
            .filter(|e| !matches!(e.change, Change::Clean | Change::Skipped) && sel.contains(&e.target))
            .map(|e| Entry { path: e.target.clone(), change: e.change, detail: e.why.clone() })
            .collect(),
        delegated: delegated
            .iter()
            .map(|i| Delegated {
                path: i.target.clone(),
                source: i.source.clone(),
                reason: i.what.label(),
                when: i.when,
                handled_by: chezmoi.is_some().then_some("chezmoi"),
            })
            .collect(),
        delegated_kinds: kinds(&delegated),
        uncommitted,
        remotes,
        conflicts,
        warnings: s.state.warnings.clone(),
        skipped_on_device: evals
            .iter()
            .filter(|e| e.change == Change::Skipped && sel.contains(&e.target))
            .map(|e| Skipped {
                path: e.target.clone(),
                rule: s.state.only.skips(&e.target, &s.ctx.device).unwrap_or_default(),
            })
            .collect(),
        held_back: s.trust().held.clone(),
        identity_problem: identity_problem.as_ref().map(|p| p.message.clone()),
        watcher,
    };
    if args.json {
        ui.json(&report);
    } else {
        if let Some(held) = &report.held_back {
            let e = super::sync::held_back(&s.ctx.store, held);
            ui.warn_error(&e);
        }
        let skipped = eval::skipped_roots(evals.iter().filter(|e| sel.contains(&e.target)));
        let mut evaluated = dotback::state::Tally::default();
        for e in evals.iter().filter(|e| e.change != Change::Skipped && sel.contains(&e.target)) {
            if let Some(node) = e.desired.or(e.actual) {
                evaluated.count(node.kind);
            }
        }
        print_text(ui, &report, &evaluated, &skipped);
        print_delegated(ui, &delegated, chezmoi.is_some());
        if let Some(w) = &report.watcher {
            print_watcher(ui, w);
        }
        if let Some(p) = &identity_problem {
            super::keys::warn_unusable_identity(ui, p);
        }
    }
    Ok(s.finish()?)
}

/// The running watcher: since when, its last commit and pushes, what waits.
fn print_watcher(ui: &Ui, w: &dotback::service::WatchStatus) {
    ui.out(format!("Watcher: running since {} (pid {})", w.started, w.pid));
    if let Some(c) = &w.last_commit {
        ui.out(format!("  last commit {} at {}", &c.id[..c.id.len().min(10)], c.time));
    }
    for (remote, time) in &w.last_push {
        ui.out(format!("  last push to {remote} at {time}"));
    }
    if w.pending_pushes > 0 {
        ui.out(format!(
            "  {} remote{} waiting for a push",
            w.pending_pushes,
            if w.pending_pushes == 1 { "" } else { "s" }
        ));
    }
    if w.conflicts > 0 {
        ui.out(format!(
            "  {} conflict{} waiting for `dotback resolve`",
            w.conflicts,
            if w.conflicts == 1 { "" } else { "s" }
        ));
    }
    if let Some(e) = &w.last_error {
        ui.out(format!("  last error at {}: {}", e.time, e.message));
    }
}

/// The delegated entries, once, by kind with counts, and who applies them.
fn print_delegated(ui: &Ui, items: &[dotback::delegate::Item], chezmoi: bool) {
    if items.is_empty() {
        return;
    }
    let n = items.len();
    let title = if chezmoi {
        "Handled by chezmoi (dotback hands them to it on apply)"
    } else {
        "Need chezmoi, which is not installed (install chezmoi to apply these)"
    };
    ui.out(format!("{BOLD}{title}: {n} entr{} ({}){BOLD:#}", if n == 1 { "y" } else { "ies" }, kinds_text(items)));
    for (what, count) in dotback::delegate::by_kind(items) {
        let names: Vec<String> = items.iter().filter(|i| i.what == what).map(|i| i.name()).collect();
        ui.out(format!("    {} ({count}): {}", what.label(), names.join(", ")));
    }
}

/// The error for named paths with nothing managed at or below them and no exact directory above
/// them (a typo, or a file never added): `status` must not call them up to date.
fn status_error(e: StatusError) -> CliError {
    match e {
        StatusError::Session(e) => e.into(),
        StatusError::Context(e) => e.into(),
        StatusError::Eval(e) => e.into(),
        StatusError::Store(e) => e.into(),
        StatusError::NotManaged { ref targets, exists } => {
            let err = CliError::from_error(&e);
            if exists {
                err.hint(format!("`dotback add ~/{}` tracks it", targets[0]))
            } else {
                err.hint("nothing is there in HOME either: check the spelling; `dotback status` lists what is managed")
            }
        }
    }
}

fn print_text(ui: &Ui, r: &StatusJson, evaluated: &dotback::state::Tally, skipped: &[&eval::Eval]) {
    for w in &r.warnings {
        ui.warn(w);
    }
    let groups = [
        (Change::ChangedInHome, "Changed in HOME (`dotback commit` saves them):", YELLOW),
        (Change::ChangedInStore, "Changed in the store (`dotback apply` writes them):", GREEN),
        (Change::ChangedInBoth, "Changed in both (`dotback diff` shows how; apply and commit leave them alone):", RED),
        (
            Change::NeverApplied,
            "Differs, never applied on this device (`dotback apply` writes the store's version after a backup; `dotback add` keeps HOME's):",
            GREEN,
        ),
        (Change::Missing, "Missing from HOME (`dotback apply` restores them):", GREEN),
        (
            Change::DeletedInHome,
            "Deleted in HOME (`dotback commit` records the deletion; `dotback apply` restores them):",
            YELLOW,
        ),
        (Change::Extra, "In exact directories but not in the store (`dotback apply` removes them):", RED),
        (Change::Locked, "Encrypted, and this device cannot decrypt them (`dotback keys list`):", RED),
        (
            Change::WaitingForIdentity,
            "Changed in HOME and in the store; merging them waits for this device's identity (nothing is dropped meanwhile; once it works, `dotback sync` merges them):",
            RED,
        ),
        (Change::Refused, "Refused by this device (apply and commit leave them alone):", RED),
    ];
    for (change, title, style) in groups {
        let entries: Vec<&Entry> = r.targets.iter().filter(|e| e.change == change).collect();
        if entries.is_empty() {
            continue;
        }
        ui.out(format!("{BOLD}{title}{BOLD:#}"));
        for e in entries {
            // Why a file cannot be decrypted is told once below when the identity is the cause.
            let why = e
                .detail
                .as_ref()
                .filter(|_| {
                    change == Change::Refused
                        || (matches!(change, Change::Locked | Change::WaitingForIdentity)
                            && r.identity_problem.is_none())
                })
                .map(|w| format!(": {w}"));
            ui.out(format!("    {style}~/{}{style:#}{}", e.path, why.unwrap_or_default()));
        }
    }
    if !r.skipped_on_device.is_empty() {
        let n = r.skipped_on_device.len();
        ui.out(format!(
            "{BOLD}Skipped on this device (selective sync, `[[only]]` in .dotback/dotback.toml): {n} path{}{BOLD:#}",
            super::add::plural(n)
        ));
        for e in skipped {
            let rule = r.skipped_on_device.iter().find(|k| k.path == e.target).map_or("", |k| k.rule.as_str());
            let below = r.skipped_on_device.iter().filter(|k| eval::is_at_or_below(&k.path, &e.target)).count() - 1;
            let below = if below > 0 { format!(" and {below} below it") } else { String::new() };
            ui.out(format!("    ~/{}{below}: only {rule}", e.target));
        }
    }
    if !r.uncommitted.is_empty() {
        ui.out(format!("{BOLD}Uncommitted in the store (`dotback commit` records them):{BOLD:#}"));
        for u in &r.uncommitted {
            ui.out(format!("    {} ({})", u.path, u.change));
        }
    }
    if !r.conflicts.is_empty() {
        ui.out(format!(
            "{BOLD}Conflicts sync could not merge (`dotback resolve PATH --ours|--theirs|--merge` settles them):{BOLD:#}"
        ));
        for c in &r.conflicts {
            ui.out(format!("    {RED}~/{}{RED:#}: {}", c.path, c.describe()));
        }
    }
    for remote in &r.remotes {
        if remote.ahead > 0 {
            let since = remote
                .unpushed_since
                .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
                .and_then(|t| {
                    t.format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC")).ok()
                })
                .map(|t| format!(", the oldest from {t}"))
                .unwrap_or_default();
            ui.out(format!(
                "{BOLD}Not yet on remote `{}`:{BOLD:#} {} commit{}{since} (`dotback sync` pushes them)",
                remote.name,
                remote.ahead,
                super::add::plural(remote.ahead)
            ));
        }
        if remote.behind > 0 {
            ui.out(format!(
                "{BOLD}Remote `{}` has {} commit{} not merged here{BOLD:#} (`dotback sync` merges them)",
                remote.name,
                remote.behind,
                super::add::plural(remote.behind)
            ));
        }
    }
    if r.targets.is_empty() && r.uncommitted.is_empty() && r.conflicts.is_empty() {
        let one = evaluated.files + evaluated.symlinks + evaluated.dirs == 1;
        let verb = if one { "matches" } else { "match" };
        ui.out(format!("Up to date: {} {verb} the store.", super::add::tally(evaluated)));
    }
}
