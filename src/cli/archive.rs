use super::{CliError, Ui};
use dotback::health::archive::{self, Action, ArchiveError, Entry, Listing, VerifyError};
use dotback::health::retention::{Policy, Span};
use std::path::PathBuf;

/// Write an encrypted archive of the whole store to a directory, check it, and prune old ones.
///
/// The archive is a git bundle of the store with all its history, age-encrypted to every
/// recipient (the recovery key included): after `age -d -i KEY`, `git clone` of it gives the
/// store back. For a USB disk or a cloud folder nobody is trusted with. Beside the archives goes
/// the recovery key, protected by its passphrase (`dotback-recovery.age`), so the directory
/// alone restores the store. Pruning, with `--keep-*`, removes only this device's archives,
/// only after the new one checked out, and never the new one; without a `--keep-*` option
/// nothing is removed. `dotback check` counts the directory as a copy for 3-2-1.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ArchiveArgs {
    #[command(subcommand)]
    command: Option<ArchiveCommand>,
    /// The directory to write to; it must exist (a disk is not mounted by creating it).
    #[arg(long, value_name = "DIR", required = true)]
    to: Option<PathBuf>,
    #[command(flatten)]
    keep: KeepArgs,
    /// Print JSON (stable field names).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum ArchiveCommand {
    /// Decrypt an archive and check that it is a complete bundle of the store.
    Verify {
        /// The archive.
        file: PathBuf,
        /// Decrypt with the recovery key (asks for its passphrase) instead of this device's key:
        /// the `dotback-recovery.age` beside the archive, else the store's.
        #[arg(long)]
        recovery: bool,
        /// Read the recovery passphrase from FILE instead of the terminal.
        #[arg(long, value_name = "FILE", requires = "recovery")]
        passphrase_file: Option<PathBuf>,
        /// Print JSON (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// List the archives in a directory, when each was made and which rules keep it (nothing
    /// is removed).
    List {
        /// The directory.
        dir: PathBuf,
        #[command(flatten)]
        keep: KeepArgs,
        /// Print JSON (stable field names).
        #[arg(long)]
        json: bool,
    },
}

/// The retention policy: an archive kept by any rule stays.
#[derive(Debug, clap::Args)]
struct KeepArgs {
    /// Keep the N newest archives.
    #[arg(long = "keep-last", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    last: Option<u32>,
    /// Keep the newest archive of each of the last N hours that have one (UTC).
    #[arg(long = "keep-hourly", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    hourly: Option<u32>,
    /// Keep the newest archive of each of the last N days that have one (UTC).
    #[arg(long = "keep-daily", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    daily: Option<u32>,
    /// Keep the newest archive of each of the last N weeks that have one (ISO weeks).
    #[arg(long = "keep-weekly", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    weekly: Option<u32>,
    /// Keep the newest archive of each of the last N months that have one.
    #[arg(long = "keep-monthly", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    monthly: Option<u32>,
    /// Keep the newest archive of each of the last N years that have one.
    #[arg(long = "keep-yearly", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    yearly: Option<u32>,
    /// Keep every archive made within DURATION before the newest (e.g. 7d, 1y6m, 36h).
    #[arg(long = "keep-within", value_name = "DURATION")]
    within: Option<Span>,
}

impl KeepArgs {
    fn policy(&self) -> Policy {
        Policy {
            last: self.last.unwrap_or(0),
            hourly: self.hourly.unwrap_or(0),
            daily: self.daily.unwrap_or(0),
            weekly: self.weekly.unwrap_or(0),
            monthly: self.monthly.unwrap_or(0),
            yearly: self.yearly.unwrap_or(0),
            within: self.within,
        }
    }
}

pub fn cmd_archive(ui: &Ui, args: ArchiveArgs) -> Result<(), CliError> {
    match args.command {
        Some(ArchiveCommand::Verify { file, recovery, passphrase_file, json }) => {
            let mut ask = || super::passphrase::read(passphrase_file.as_deref(), "Recovery passphrase", false);
            let recovery: Option<dotback::keys::Passphrase> = if recovery { Some(&mut ask) } else { None };
            let verified = archive::verify_file(&super::context()?, &file, recovery).map_err(archive_error)?;
            if json {
                ui.json(&verified);
            } else {
                let heads: Vec<String> = verified.refs.iter().map(|r| format!("{} {}", r.name, &r.id[..12])).collect();
                ui.info(format!(
                    "{} is a complete archive: {} commits, {} objects ({}).",
                    file.display(),
                    verified.commits,
                    verified.objects,
                    heads.join(", ")
                ));
            }
            Ok(())
        }
        Some(ArchiveCommand::List { dir, keep, json }) => {
            let listing = archive::list(&super::context()?, &dir, &keep.policy()).map_err(archive_error)?;
            if json {
                ui.json(&listing);
            } else {
                print_listing(ui, &listing);
            }
            Ok(())
        }
        None => {
            let dir = args.to.expect("clap requires --to without a subcommand");
            let s = super::writer(ui)?;
            let opts = archive::Options { dir, policy: args.keep.policy() };
            let report = archive::run(&s, &opts, ui).map_err(archive_error)?;
            if args.json {
                ui.json(&report);
            } else {
                ui.info(format!(
                    "Wrote {} ({}, {} commits, encrypted to {} recipients) and checked it.",
                    report.archive.display(),
                    size(report.verified.bytes),
                    report.verified.commits,
                    report.recipients
                ));
                if report.recovery_key.written {
                    ui.info(format!(
                        "Wrote the recovery key, passphrase-protected, beside it ({}): with the passphrase, the directory alone restores the store.",
                        report.recovery_key.path.display()
                    ));
                }
                if opts.policy.is_empty() {
                    ui.info("No --keep-* rule given: no archive was removed.");
                } else {
                    ui.info(format!(
                        "Kept {} of this device's archives ({}); removed {}{}",
                        report.kept(),
                        report.listing.policy,
                        report.removed.len(),
                        if report.removed.is_empty() {
                            ".".to_string()
                        } else {
                            format!(": {}", report.removed.join(", "))
                        }
                    ));
                }
            }
            Ok(s.finish()?)
        }
    }
}

fn print_listing(ui: &Ui, listing: &Listing) {
    if listing.archives.is_empty() {
        ui.out(format!(
            "No archives in {}: `dotback archive --to {}` writes one.",
            listing.dir.display(),
            listing.dir.display()
        ));
    } else {
        ui.out(format!("Archives in {} (policy: {}), newest first:", listing.dir.display(), listing.policy));
        for e in &listing.archives {
            ui.out(format!("  {:<50} {:<20} {:>9}  {}", e.name, e.time, size(e.bytes), fate(e)));
        }
    }
    if listing.recovery_key {
        ui.out(format!("  {:<50} the recovery key, passphrase-protected (never removed)", archive::RECOVERY_KEY));
    }
}

fn fate(e: &Entry) -> String {
    match e.action {
        Action::OtherDevice => format!("device {}'s, left alone", e.device),
        Action::Remove => "would be removed".into(),
        Action::Keep => {
            let reasons: Vec<String> = e.reasons.iter().map(ToString::to_string).collect();
            format!("kept: {}", reasons.join(", "))
        }
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn archive_error(e: ArchiveError) -> CliError {
    let err = CliError::from_error(&e);
    match e {
        ArchiveError::Store(e) => e.into(),
        ArchiveError::Vault(e) => super::keys::unusable_identity(e),
        ArchiveError::NoDir { dir } => err
            .hint(format!("create it (`mkdir -p {}`), or mount the disk it is on, and run this again", dir.display()))
            .code(2),
        ArchiveError::NotADir { .. } => err.hint("give the directory the archives go into").code(2),
        ArchiveError::Empty { .. } => err.hint("`dotback add` some files and `dotback commit` first"),
        ArchiveError::Exists { .. } => err.hint("run it again in a second; nothing was changed"),
        ArchiveError::Recipients { .. } => err.hint("`dotback keys list` shows who the store encrypts to"),
        ArchiveError::NoIdentity { .. } => err.hint(
            "an archive is kept only once this device has decrypted and checked it; unlock this device first (`dotback keys unlock --recovery`)",
        ),
        ArchiveError::NewFailed { .. } => err.hint(
            "the older archives are untouched; check the disk (free space, errors in `dmesg`) and run this again",
        ),
        ArchiveError::Verify(VerifyError::Decrypt { .. }) => err.hint(
            "it was modified, cut short or made for other keys; use another archive (`dotback archive list DIR`), and with --recovery the recovery key opens any of them",
        ),
        ArchiveError::Verify(VerifyError::Read { .. }) => err.hint("check the path and that the file is readable by you"),
        ArchiveError::Verify(VerifyError::Incomplete { .. }) => {
            err.hint("this archive cannot restore the store: use another one (`dotback archive list DIR`)")
        }
        ArchiveError::Verify(VerifyError::Scratch { .. }) => {
            err.hint("check the permissions and free space of dotback's state directory")
        }
        ArchiveError::Recovery { .. } => err.hint("check the passphrase and try again; nothing was changed"),
        ArchiveError::Passphrase { .. } => err.code(2),
        ArchiveError::Path(_) | ArchiveError::Pack { .. } => {
            err.hint("check the directory's permissions and free space; no partial archive is left behind")
        }
    }
}
