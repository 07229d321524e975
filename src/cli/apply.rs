use super::{CliError, Ui};
use dotback::apply::{self, ApplyOptions, Delegation, Step};
use dotback::delegate::Item;
use dotback::eval::{self, Change, Selection};
use serde::Serialize;
use std::path::PathBuf;

/// Make HOME match the store.
///
/// Every write is atomic and created with its final mode; whatever is overwritten or removed
/// is first copied under the state directory's backups. Files changed in HOME since dotback
/// last wrote them are left alone unless --force.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// Limit to these paths in HOME.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print the plan; change nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Also overwrite files changed in HOME (they are backed up first).
    #[arg(long)]
    force: bool,
    /// Print JSON (stable field names) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct ApplyJson<'a> {
    dry_run: bool,
    actions: &'a [apply::Action],
    /// What is handed to chezmoi (or, without it, skipped).
    delegated: &'a [Item],
    backup_dir: Option<PathBuf>,
    /// Selected targets an `[[only]]` rule keeps from this device (left alone).
    skipped_on_device: Vec<String>,
    /// A change to the keys, rules or code this device does not use (while code is held back,
    /// nothing is handed to chezmoi).
    held_back: Option<dotback::trust::Held>,
}

pub fn cmd_apply(ui: &Ui, args: ApplyArgs) -> Result<(), CliError> {
    let mut s = super::writer(ui)?;
    let opts = ApplyOptions {
        selection: Selection::of(s.targets(&args.paths)?),
        force: args.force,
        dry_run: args.dry_run,
        audit: true,
        ..Default::default()
    };
    let mut run = apply::run(&mut s, &opts, ui)?;
    for w in &s.state.warnings {
        ui.warn(w);
    }
    let named_skipped: Vec<String> = run
        .named_skipped
        .iter()
        .map(|(target, rule)| format!(
            "~/{target} is skipped on this device: the `[[only]]` rule for {rule} in .dotback/dotback.toml leaves it to other devices; it was left as it is"
        ))
        .collect();
    let Some(mut report) = run.report.take() else {
        if args.json {
            ui.json(&ApplyJson {
                dry_run: true,
                actions: &run.actions,
                delegated: &run.delegated,
                backup_dir: None,
                skipped_on_device: run.skipped_on_device,
                held_back: run.held,
            });
        } else {
            if let Some(held) = &run.held {
                ui.warn_error(&super::sync::held_back(&s.ctx.store, held));
            }
            print_plan(ui, &run.actions, &run.delegated);
            for note in &named_skipped {
                ui.info(note);
            }
        }
        return Ok(s.finish()?);
    };

    let locked: Vec<String> = run.locked.iter().map(|(t, why)| format!("~/{t}: {why}")).collect();
    let mut failure = (!locked.is_empty()).then(|| {
        CliError::new(format!(
            "{} encrypted file{} could not be decrypted (left unchanged in HOME):\n    {}",
            locked.len(),
            super::add::plural(locked.len()),
            locked.join("\n    ")
        ))
        .hint("everything else was applied; `dotback keys list` shows who the store encrypts to, and `dotback keys unlock --recovery` makes this device a recipient")
    });
    let code_held = run.held.as_ref().is_some_and(|h| !h.code.is_empty());
    if let Some(held) = &run.held {
        let e = super::sync::held_back(&s.ctx.store, held);
        match &failure {
            // Nothing of the store went to chezmoi: the apply is not complete.
            None if code_held => failure = Some(e),
            _ => ui.warn_error(&e),
        }
    }
    if let Some(e) = delegation_error(&run.delegation, &run.delegated) {
        match &failure {
            // The first failure is the exit's; this one is said too.
            Some(_) => {
                ui.warn_error(&e);
            }
            None => failure = Some(e),
        }
    }
    // Targets a .chezmoiignore template may or may not ignore on this machine were not applied
    // (the warning above names them): an apply that left them is not a success.
    let undecided = s.state.undecided.iter().filter(|t| opts.selection.touches(t)).count();
    if undecided > 0 && failure.is_none() {
        failure = Some(
            CliError::new(format!(
                "{undecided} target{} not applied: only chezmoi can tell whether .chezmoiignore ignores {} on this machine",
                if undecided == 1 { " was" } else { "s were" },
                if undecided == 1 { "it" } else { "them" }
            ))
            .hint("everything else was applied; install chezmoi (it evaluates the template) and run `dotback apply` again"),
        );
    }

    warn_refused(ui, &report.refused);
    if let Some(e) = failures(ui, std::mem::take(&mut report.failed)) {
        failure = Some(e);
    } else if !report.refused.is_empty() && failure.is_none() {
        failure = Some(
            CliError::new(format!(
                "{} path{} in the store {} refused (left as {} in HOME)",
                report.refused.len(),
                super::add::plural(report.refused.len()),
                if report.refused.len() == 1 { "was" } else { "were" },
                if report.refused.len() == 1 { "it is" } else { "they are" },
            ))
            .hint("everything else was applied; remove those entries from the store (`git log` in the store shows who added them)"),
        );
    }
    if args.json {
        ui.json(&ApplyJson {
            dry_run: false,
            actions: &run.actions,
            delegated: &run.delegated,
            backup_dir: report.backup_dir.clone(),
            skipped_on_device: run.skipped_on_device,
            held_back: run.held.clone(),
        });
    } else {
        for note in &named_skipped {
            ui.warn(note);
        }
        for (path, why) in
            report.skipped.iter().filter(|(_, c)| !matches!(c, Change::Locked | Change::WaitingForIdentity))
        {
            ui.warn(format!("left ~/{path} alone: {}", why.describe()));
        }
        if report.skipped.iter().any(|(_, c)| !matches!(c, Change::Locked | Change::WaitingForIdentity)) {
            ui.hint("`dotback diff` shows the differences; `dotback add PATH` keeps HOME's version, `dotback apply --force PATH` takes the store's");
        }
        warn_template_edits(ui, &report.template_edits);
        let changed = report.written.len() + report.removed.len();
        if changed == 0 && run.delegated.is_empty() && !code_held {
            ui.info("Nothing to apply: HOME matches the store.");
        } else if changed > 0 {
            ui.info(format!("Applied {changed} change{}.", super::add::plural(changed)));
        }
        if let Delegation::Done = run.delegation {
            ui.info(format!("chezmoi applied {}.", super::status::kinds_text(&run.delegated)));
        }
        if let Some(dir) = &report.backup_dir {
            ui.info(format!("Previous versions are saved in {}.", dir.display()));
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(s.finish()?),
    }
}

/// The error for delegated entries chezmoi failed on, or skipped for lack of chezmoi.
pub(super) fn delegation_error(delegation: &Delegation, delegated: &[Item]) -> Option<CliError> {
    match delegation {
        Delegation::Failed(msg) => Some(
            CliError::new("chezmoi could not apply the entries dotback delegates to it")
                .hint(format!("chezmoi said: {msg}")),
        ),
        Delegation::NoChezmoi => {
            let n = delegated.len();
            Some(
                CliError::new(format!(
                    "{n} entr{} chezmoi, which is not installed, and {} skipped: {}",
                    if n == 1 { "y needs" } else { "ies need" },
                    if n == 1 { "was" } else { "were" },
                    super::status::kinds_text(delegated)
                ))
                .hint("everything else was applied; install chezmoi and run `dotback apply` again (`dotback status` lists them)"),
            )
        }
        Delegation::Nothing | Delegation::Done => None,
    }
}

/// Warns about templated targets edited in HOME, which apply left as they are.
pub(super) fn warn_template_edits(ui: &Ui, edited: &[String]) {
    for t in edited {
        ui.warn(format!(
            "left ~/{t} alone: it is edited in HOME, and its source is a template, so dotback does not capture it"
        ));
        ui.hint(format!(
            "put the change into the template with `chezmoi merge ~/{t}` or `chezmoi edit ~/{t}`; `chezmoi apply --force ~/{t}` takes the template's version instead"
        ));
    }
}

/// Warns about the refused targets; a refused directory is named by what is refused in it.
pub(super) fn warn_refused(ui: &Ui, refused: &[(String, String)]) {
    for (i, (target, why)) in refused.iter().enumerate() {
        let holds_more =
            refused.get(i + 1).is_some_and(|(next, _)| next != target && eval::is_at_or_below(next, target));
        if !holds_more {
            ui.warn(format!("left ~/{target} alone: {why}"));
        }
    }
}

/// Warns about each target that could not be applied; they make the error the command ends
/// with.
pub(super) fn failures(ui: &Ui, failed: Vec<(String, apply::ApplyError)>) -> Option<CliError> {
    let n = failed.len();
    for (target, e) in failed {
        let e = CliError::from(e);
        let causes: String = e.causes.iter().map(|c| format!(": {c}")).collect();
        ui.warn(format!("~/{target} was not applied: {}{causes}", e.message));
        for h in &e.hints {
            ui.hint(h);
        }
    }
    (n > 0).then(|| {
        CliError::new(format!("{n} path{} could not be applied; everything else was", super::add::plural(n)))
            .hint("fix what the warnings above name, then run the command again")
    })
}

fn print_plan(ui: &Ui, actions: &[apply::Action], delegated: &[Item]) {
    if actions.is_empty() && delegated.is_empty() {
        ui.out("Nothing to apply: HOME matches the store.");
    }
    for a in actions {
        let what = match &a.step {
            Step::MakeDir { perm } => format!("create directory (mode {perm:04o})"),
            Step::WriteFile { perm } => format!("write file (mode {perm:04o})"),
            Step::Symlink { link } => format!("link to {link}"),
            Step::Chmod { perm } => format!("set mode {perm:04o}"),
            Step::Remove => "remove".to_string(),
            Step::RemoveDir => "remove the directory, once empty".to_string(),
            Step::Skip { reason } => match &a.why {
                Some(why) => format!("leave alone: {why}"),
                None => format!("leave alone: {}", reason.describe()),
            },
        };
        let backup = if a.backup { ", after a backup" } else { "" };
        ui.out(format!("~/{}: {what}{backup}", a.target));
    }
    for i in delegated {
        ui.out(format!("{}: {}, handled by chezmoi", i.name(), i.what.label()));
    }
}
