use super::{CliError, Ui};
use dotback::apply::{self, PlanOptions, Step};
use dotback::eval::{self, Change, Selection};
use dotback::source::Kind;
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
    delegated: Vec<String>,
    backup_dir: Option<PathBuf>,
    /// Selected targets an `[[only]]` rule keeps from this device (left alone).
    skipped_on_device: Vec<String>,
}

pub fn cmd_apply(ui: &Ui, args: ApplyArgs) -> Result<(), CliError> {
    let mut s = super::writer(ui)?;
    let sel = Selection::of(s.targets(&args.paths)?);
    let vault = dotback::vault::Vault::new(&s.ctx, &s.trust);
    let evals = eval::evaluate(&s.ctx, &s.state, &mut s.cache, &vault, &sel)?;
    let evals: Vec<_> = evals.into_iter().filter(|e| sel.touches(&e.target)).collect();
    let actions = apply::plan(&evals, PlanOptions { force: args.force, ..Default::default() });
    let locked: Vec<String> = evals
        .iter()
        .filter(|e| e.change == Change::Locked)
        .filter_map(|e| e.why.as_ref().map(|why| format!("~/{}: {why}", e.target)))
        .collect();
    let skipped: Vec<String> = evals
        .iter()
        .filter(|e| e.change == Change::Skipped && sel.contains(&e.target))
        .map(|e| e.target.clone())
        .collect();
    // Named on the command line, a skipped path gets a word on why nothing happened to it.
    let named_skipped: Vec<String> = if sel.is_all() {
        Vec::new()
    } else {
        eval::skipped_roots(evals.iter().filter(|e| sel.contains(&e.target)))
            .into_iter()
            .map(|e| {
                let rule = s.state.only.skips(&e.target, &s.ctx.device).unwrap_or_default();
                format!(
                    "~/{} is skipped on this device: the `[[only]]` rule for {rule} in .dotback/dotback.toml leaves it to other devices; it was left as it is",
                    e.target
                )
            })
            .collect()
    };
    let delegated: Vec<String> = apply::delegated(&s.state, &sel)
        .filter(|(m, _)| m.entry.kind != Kind::Script)
        .map(|(m, _)| m.target.clone())
        .collect();

    if args.dry_run {
        if args.json {
            ui.json(&ApplyJson {
                dry_run: true,
                actions: &actions,
                delegated,
                backup_dir: None,
                skipped_on_device: skipped,
            });
        } else {
            print_plan(ui, &actions, &delegated);
            for note in &named_skipped {
                ui.info(note);
            }
        }
        return Ok(s.finish()?);
    }

    let bar = ui.progress(actions.len() as u64, "applying");
    let result = apply::execute(&s.ctx, &s.state, &vault, &actions, &mut s.cache, &|n| bar.set_position(n));
    bar.finish_and_clear();
    // Record what was written even when a later target failed.
    s.cache.save()?;
    let mut report = result?;

    let mut failure = (!locked.is_empty()).then(|| {
        CliError::new(format!(
            "{} encrypted file{} could not be decrypted (left unchanged in HOME):\n    {}",
            locked.len(),
            super::add::plural(locked.len()),
            locked.join("\n    ")
        ))
        .hint("everything else was applied; `dotback keys list` shows who the store encrypts to, and `dotback keys unlock --recovery` makes this device a recipient")
    });
    if !delegated.is_empty() {
        match dotback::chezmoi::find() {
            Some(bin) => {
                if let Err(msg) = dotback::chezmoi::apply(&bin, &s.ctx.paths.home, &s.ctx.store, &delegated) {
                    failure = Some(
                        CliError::new("chezmoi could not apply the entries dotback delegates to it")
                            .hint(format!("chezmoi said: {msg}")),
                    );
                }
            }
            None => ui.warn(format!(
                "{} entr{} need chezmoi (templates, scripts, …) and were skipped: {}",
                delegated.len(),
                if delegated.len() == 1 { "y" } else { "ies" },
                delegated.iter().map(|t| format!("~/{t}")).collect::<Vec<_>>().join(", ")
            )),
        }
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
            actions: &actions,
            delegated,
            backup_dir: report.backup_dir.clone(),
            skipped_on_device: skipped,
        });
    } else {
        for note in &named_skipped {
            ui.warn(note);
        }
        for (path, why) in report.skipped.iter().filter(|(_, c)| *c != Change::Locked) {
            ui.warn(format!("left ~/{path} alone: {}", why.describe()));
        }
        if report.skipped.iter().any(|(_, c)| *c != Change::Locked) {
            ui.hint("`dotback diff` shows the differences; `dotback add PATH` keeps HOME's version, `dotback apply --force PATH` takes the store's");
        }
        let changed = report.written.len() + report.removed.len();
        if changed == 0 {
            ui.info("Nothing to apply: HOME matches the store.");
        } else {
            ui.info(format!("Applied {changed} change{}.", super::add::plural(changed)));
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

fn print_plan(ui: &Ui, actions: &[apply::Action], delegated: &[String]) {
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
    for t in delegated {
        ui.out(format!("~/{t}: handled by chezmoi"));
    }
}
