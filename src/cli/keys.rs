use super::{CliError, Ui};
use dotback::crypt::{self, recipients::Recipients};
use dotback::keys::{self, KeysError, Unlocked};
use dotback::session::Session;
use dotback::vault::{self, VaultError};
use serde::Serialize;
use std::path::PathBuf;

/// Manage who can decrypt the store's secrets: devices, the recovery key, GPG keys.
#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeysCommand {
    /// List the devices and the recovery key every secret is encrypted to.
    List {
        /// Print JSON (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Let another device decrypt: add its public key and re-encrypt every secret (one commit).
    AddDevice {
        /// The device's name.
        name: String,
        /// Its public key (`age1…`, shown by `dotback keys list` on that device).
        recipient: String,
    },
    /// Stop encrypting to a device and re-encrypt every secret without it (one commit).
    RemoveDevice {
        /// The device's name.
        name: String,
    },
    /// Re-encrypt every secret to the current recipients.
    Rekey,
    /// Replace the recovery key with a new one under a new passphrase, and re-encrypt.
    Recovery {
        /// Required: make a new recovery key (the old sealed key stays in history, so a new
        /// passphrase alone would not retire the old one).
        #[arg(long, required = true)]
        rotate: bool,
        /// Read the new passphrase from FILE instead of the terminal.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Make this device a recipient using the recovery passphrase (a new or rebuilt machine).
    Unlock {
        /// Use the recovery key (the only way offered).
        #[arg(long, required = true)]
        recovery: bool,
        /// Read the passphrase from FILE instead of the terminal.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Take a held-back change to the recipients, recovery key, manifest or code as your own, and seal it.
    ///
    /// A change that arrived without the seal of a device or the recovery key is not used until
    /// you accept it here (or revert it); a change to the store's code (scripts, templates,
    /// externals, `.chezmoi…` files) goes to chezmoi only then. Check it first: `status` names
    /// the commit.
    Accept,
    /// Put back the recipients, recovery key, manifest and code this device trusts, and commit that.
    Revert,
    /// Export GPG keys (secret ones encrypted) and ownertrust into the store.
    GpgExport,
    /// Import the GPG keys and ownertrust stored by `gpg-export`.
    GpgImport,
}

#[derive(Serialize)]
struct DeviceJson {
    name: String,
    recipient: String,
}

#[derive(Serialize)]
struct ListJson {
    devices: Vec<DeviceJson>,
    recovery: Option<String>,
    this_device: ThisDevice,
    /// A change to the control files this device does not use, if any.
    held_back: Option<dotback::trust::Held>,
}

#[derive(Serialize)]
struct ThisDevice {
    name: String,
    recipient: Option<String>,
    is_recipient: bool,
    /// Why this device's identity cannot be used (missing, too open, unreadable, keyring
    /// locked), when it cannot.
    identity_problem: Option<String>,
}

pub fn cmd_keys(ui: &Ui, args: KeysArgs) -> Result<(), CliError> {
    match args.command {
        KeysCommand::List { json } => list(ui, json),
        KeysCommand::AddDevice { name, recipient } => {
            let r = keys::parse_recipient(&recipient)
                .map_err(|e| CliError::from_error(&e).hint("it starts with `age1`").code(2))?;
            change(ui, &format!("add device {name}"), false, |rs| rs.add_device(&name, r))
        }
        KeysCommand::RemoveDevice { name } => {
            change(ui, &format!("remove device {name}"), true, |rs| rs.remove_device(&name))?;
            ui.info("The store key was replaced: that device's key authorises no further change.");
            ui.warn("secrets in earlier commits can still be decrypted with that device's key; if it was lost or stolen, change the secrets themselves too");
            Ok(())
        }
        KeysCommand::Rekey => change(ui, "re-encrypt every secret", false, |_| Ok(())),
        KeysCommand::Recovery { passphrase_file, .. } => rotate_recovery(ui, passphrase_file),
        KeysCommand::Unlock { passphrase_file, .. } => unlock(ui, passphrase_file),
        KeysCommand::Accept => accept(ui),
        KeysCommand::Revert => revert(ui),
        KeysCommand::GpgExport => gpg_export(ui),
        KeysCommand::GpgImport => gpg_import(ui),
    }
}

/// Why this device's identity cannot be used, on one line, with what to do.
pub(super) fn unusable_identity(e: VaultError) -> CliError {
    let text = vault::describe(&e);
    let mut err = vault_error(e);
    err.message = text;
    err.causes.clear();
    err
}

/// Tells why this device's identity cannot be used, as a warning.
pub(super) fn warn_unusable_identity(ui: &Ui, e: &CliError) {
    ui.warn(format!("this device's identity cannot be used: {}", e.message));
    for h in &e.hints {
        ui.hint(h);
    }
}

fn vault_error(e: VaultError) -> CliError {
    let err = CliError::from_error(&e);
    match e {
        VaultError::Crypt(crypt::CryptError::IdentityTooOpen { .. }) => {
            err.hint("run `chmod 600` on it, as ssh requires for keys")
        }
        VaultError::Crypt(crypt::CryptError::IdentityFile { .. } | crypt::CryptError::NoIdentities { .. }) => err.hint(
            "restore the file from a backup; or move it aside and run `dotback keys unlock --recovery` with the recovery passphrase, which gives this device a new identity",
        ),
        VaultError::NoIdentity { .. } => err.hint(
            "restore this device's identity file, or run `dotback keys unlock --recovery` with the recovery passphrase",
        ),
        VaultError::Keyring(_) => {
            err.hint("unlock the keyring (logging in to the desktop session does), then run the command again")
        }
        VaultError::Rekey { .. } => err.hint("nothing was changed; a device that can decrypt it must run this"),
        _ => err,
    }
}

fn crypt_error(e: crypt::CryptError) -> CliError {
    let err = CliError::from_error(&e);
    match e {
        crypt::CryptError::WrongPassphrase => err.hint("nothing was changed; check the passphrase and try again"),
        crypt::CryptError::IdentityTooOpen { .. } => err.hint("run `chmod 600` on it, as ssh requires for keys"),
        crypt::CryptError::EmptyRecipients { .. } => {
            err.hint("`dotback init` creates the store's keys; on a device that has them, `dotback keys add-device`")
        }
        _ => err,
    }
}

fn list(ui: &Ui, json: bool) -> Result<(), CliError> {
    let s = super::reader(ui)?;
    let rs = s.trust().recipients().map_err(crypt_error)?;
    let (mine, problem) = match vault::load_identities(&s.ctx, s.ctx.identity) {
        Ok(ids) => (ids.first().map(|i| i.public()), None),
        Err(e) => (None, Some(unusable_identity(e))),
    };
    let all: Vec<String> = rs.all().iter().map(|r| r.to_string()).collect();
    let out = ListJson {
        devices: rs.devices().map(|(n, r)| DeviceJson { name: n.to_string(), recipient: r.to_string() }).collect(),
        recovery: rs.recovery().map(|r| r.to_string()),
        this_device: ThisDevice {
            name: s.ctx.device.clone(),
            is_recipient: mine.as_ref().is_some_and(|m| all.contains(&m.to_string())),
            recipient: mine.map(|m| m.to_string()),
            identity_problem: problem.as_ref().map(|p| p.message.clone()),
        },
        held_back: s.trust().held.clone(),
    };
    if json {
        ui.json(&out);
        return Ok(s.finish()?);
    }
    ui.out("Every secret is encrypted to:");
    for d in &out.devices {
        let me = if d.name == out.this_device.name { "  (this device)" } else { "" };
        ui.out(format!("    device {:<20} {}{me}", d.name, d.recipient));
    }
    if let Some(r) = &out.recovery {
        ui.out(format!("    {:<27} {r}", "recovery key"));
    }
    match (&out.this_device.recipient, out.this_device.is_recipient) {
        (Some(r), false) => ui.out(format!(
            "This device ({}) is not a recipient yet; its public key is {r}.\nOn a device that is: dotback keys add-device {} {r}",
            out.this_device.name, out.this_device.name
        )),
        (None, _) => match &problem {
            Some(p) => warn_unusable_identity(ui, p),
            None => ui.out("This device has no identity yet: run `dotback init`."),
        },
        _ => {}
    }
    if let Some(held) = &out.held_back {
        let e = super::sync::held_back(&s.ctx.store, held);
        ui.warn_error(&e);
    }
    Ok(s.finish()?)
}

/// A key operation's error as the user sees it.
pub(super) fn keys_error(store: &std::path::Path, e: KeysError) -> CliError {
    match e {
        KeysError::Session(e) => e.into(),
        KeysError::Store(e) => e.into(),
        KeysError::Trust(e) => e.into(),
        KeysError::Vault(e) => vault_error(e),
        KeysError::Crypt(e) => crypt_error(e),
        KeysError::Gpg(e) => CliError::from_error(&e),
        KeysError::Held { ref held } => {
            let mut err = super::sync::held_back(store, held);
            err.message = e.to_string();
            err
        }
        KeysError::Recovery { source, path } => {
            let mut err = crypt_error(source);
            err.message = format!("{} ({})", err.message, path.display());
            err
        }
        KeysError::NoGpgExport { .. } => {
            CliError::from_error(&e).hint("run `dotback keys gpg-export` on a device that has them")
        }
        KeysError::EncryptGpg { .. } => CliError::from_error(&e).hint("`dotback init` sets up the store's keys"),
        KeysError::Read(_) => CliError::from_error(&e).hint(
            "nothing was changed or imported; make the file readable (or export the keys again), then run this again",
        ),
        KeysError::Passphrase { .. } | KeysError::DecryptGpg { .. } | KeysError::BadRecipient { .. } => {
            CliError::from_error(&e)
        }
    }
}

/// Runs a key operation in a writer session and saves the session's cache after it.
fn with_writer<T>(ui: &Ui, op: impl FnOnce(&mut Session) -> Result<T, KeysError>) -> Result<T, CliError> {
    let mut s = super::writer(ui)?;
    let out = op(&mut s).map_err(|e| keys_error(&s.ctx.store, e))?;
    s.finish()?;
    Ok(out)
}

/// Applies `edit` to the recipients this device trusts, re-encrypts every secret, seals the
/// change (`rotate`: under a new store key), commits.
fn change(
    ui: &Ui,
    what: &str,
    rotate: bool,
    edit: impl FnOnce(&mut Recipients) -> Result<(), crypt::CryptError>,
) -> Result<(), CliError> {
    let done = with_writer(ui, |s| keys::change_recipients(s, what, rotate, edit))?;
    ui.info(format!(
        "Done: {what}; {} secret file{} re-encrypted to {} recipients.",
        done.files,
        super::add::plural(done.files),
        done.recipients
    ));
    Ok(())
}

fn accept(ui: &Ui) -> Result<(), CliError> {
    let said = with_writer(ui, |s| keys::accept(s))?;
    if said.is_empty() {
        ui.info("Accepted and sealed the store's control files.");
    }
    for a in said {
        ui.info(format!("Accepted: {a}."));
    }
    Ok(())
}

fn revert(ui: &Ui) -> Result<(), CliError> {
    let files = with_writer(ui, |s| keys::revert(s))?;
    ui.info(format!("Restored {} as this device trusts them, and committed.", files.join(", ")));
    Ok(())
}

fn rotate_recovery(ui: &Ui, pass_file: Option<PathBuf>) -> Result<(), CliError> {
    let mut ask = || super::passphrase::read(pass_file.as_deref(), "New recovery passphrase", true);
    let done = with_writer(ui, |s| keys::rotate_recovery(s, &mut ask))?;
    ui.info(format!(
        "New recovery key in place; {} secret files re-encrypted. The old passphrase no longer opens new secrets.",
        done.files
    ));
    Ok(())
}

fn unlock(ui: &Ui, pass_file: Option<PathBuf>) -> Result<(), CliError> {
    let mut ask = || super::passphrase::read(pass_file.as_deref(), "Recovery passphrase", false);
    match with_writer(ui, |s| keys::unlock(s, &mut ask))? {
        Unlocked::Already => ui.info("This device is already a recipient; the recovery key was not needed."),
        Unlocked::Admitted { files } => {
            ui.info(format!("This device can now decrypt the store's secrets ({files} files re-encrypted)."))
        }
    }
    Ok(())
}

fn gpg_export(ui: &Ui) -> Result<(), CliError> {
    let done = with_writer(ui, keys::gpg_export)?;
    ui.info(format!(
        "Exported {} GPG secret key{} (encrypted) with public keys and ownertrust to {}.",
        done.secret_keys.len(),
        super::add::plural(done.secret_keys.len()),
        done.dir.display()
    ));
    Ok(())
}

fn gpg_import(ui: &Ui) -> Result<(), CliError> {
    let s = super::reader(ui)?;
    let imported = keys::gpg_import(&s).map_err(|e| keys_error(&s.ctx.store, e))?;
    ui.info(format!(
        "Imported {} GPG secret key{} with public keys and ownertrust.",
        imported.len(),
        super::add::plural(imported.len())
    ));
    Ok(s.finish()?)
}
