use super::{CliError, Ui};
use dotback::crypt::recipients::{Label, Recipients};
use dotback::crypt::{self, Identity};
use dotback::keys::gpg::Gpg;
use dotback::session::Session;
use dotback::store::Store;
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
    /// Take a held-back change to the recipients, recovery key or manifest as your own, and seal it.
    ///
    /// A change that arrived without the seal of a device or the recovery key is not used until
    /// you accept it here (or revert it). Check it first: `status` names the commit.
    Accept,
    /// Put back the recipients, recovery key and manifest this device trusts, and commit that.
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
            let r: age::x25519::Recipient = recipient.parse().map_err(|e: &str| {
                CliError::new(format!("`{recipient}` is not an age public key: {e}"))
                    .hint("it starts with `age1`")
                    .code(2)
            })?;
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
    let rs = s.trust.recipients().map_err(crypt_error)?;
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
        held_back: s.trust.held.clone(),
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
        ui.warn(&e.message);
        for h in &e.hints {
            ui.hint(h);
        }
    }
    Ok(s.finish()?)
}

/// Applies `edit` to the recipients this device trusts, re-encrypts every secret, seals the
/// change (`rotate`: under a new store key), commits.
fn change(
    ui: &Ui,
    what: &str,
    rotate: bool,
    edit: impl FnOnce(&mut Recipients) -> Result<(), crypt::CryptError>,
) -> Result<(), CliError> {
    let s = super::writer(ui)?;
    refuse_while_held(&s)?;
    let mut rs = s.trust.recipients().map_err(crypt_error)?;
    edit(&mut rs).map_err(crypt_error)?;
    let ids = vault::load_identities(&s.ctx, s.ctx.identity).map_err(vault_error)?;
    let done = vault::change_recipients(&s.ctx.store, &s.state, &ids, &rs).map_err(vault_error)?;
    dotback::trust::authorize(&s.ctx, &ids, rotate)?;
    commit(&s, what)?;
    ui.info(format!(
        "Done: {what}; {} secret file{} re-encrypted to {} recipients.",
        done.len(),
        super::add::plural(done.len()),
        rs.all().len()
    ));
    Ok(s.finish()?)
}

/// Key changes start from what this device trusts; a held-back change is settled first.
fn refuse_while_held(s: &Session) -> Result<(), CliError> {
    match &s.trust.held {
        None => Ok(()),
        Some(held) => {
            let mut e = super::sync::held_back(&s.ctx.store, held);
            e.message = format!("{}; settle it first", e.message);
            Err(e)
        }
    }
}

fn accept(ui: &Ui) -> Result<(), CliError> {
    let s = super::writer(ui)?;
    let store = Store::open(&s.ctx.store)?;
    let ids = vault::load_identities(&s.ctx, s.ctx.identity).unwrap_or_default();
    let said = dotback::trust::accept(&s.ctx, &store, &ids)?;
    commit(&s, "accept a change to the keys and rules")?;
    if said.is_empty() {
        ui.info("Accepted and sealed the store's control files.");
    }
    for a in said {
        ui.info(format!("Accepted: {a}."));
    }
    Ok(s.finish()?)
}

fn revert(ui: &Ui) -> Result<(), CliError> {
    let s = super::writer(ui)?;
    let store = Store::open(&s.ctx.store)?;
    let files = dotback::trust::revert(&s.ctx, &store)?;
    commit(&s, "revert an unsealed change to the keys and rules")?;
    ui.info(format!("Restored {} as this device trusts them, and committed.", files.join(", ")));
    Ok(s.finish()?)
}

fn commit(s: &Session, what: &str) -> Result<(), CliError> {
    let store = Store::open(&s.ctx.store)?;
    let d = &s.ctx.device;
    store.commit_all(d, &format!("{d}: keys: {what}\n\nDevice: {d}\n"))?;
    Ok(())
}

fn rotate_recovery(ui: &Ui, pass_file: Option<PathBuf>) -> Result<(), CliError> {
    let s = super::writer(ui)?;
    let ids = vault::load_identities(&s.ctx, s.ctx.identity).map_err(vault_error)?;
    let pass = super::passphrase::read(pass_file.as_deref(), "New recovery passphrase", true)
        .map_err(|e| CliError::new(format!("a new recovery passphrase is needed: {e}")))?;
    refuse_while_held(&s)?;
    let mut rs = s.trust.recipients().map_err(crypt_error)?;
    let fresh = Identity::generate();
    rs.set_recovery(fresh.public()).map_err(crypt_error)?;
    let sealed = crypt::seal_recovery(&fresh, &pass).map_err(crypt_error)?;
    let done = vault::change_recipients(&s.ctx.store, &s.state, &ids, &rs).map_err(vault_error)?;
    vault::write(&s.ctx.store, &vault::recovery_path(&s.ctx.store), &sealed).map_err(vault_error)?;
    // Whoever knew the old passphrase could open the old store key: replace it too.
    dotback::trust::authorize(&s.ctx, &ids, true)?;
    commit(&s, "rotate the recovery key")?;
    ui.info(format!(
        "New recovery key in place; {} secret files re-encrypted. The old passphrase no longer opens new secrets.",
        done.len()
    ));
    Ok(s.finish()?)
}

fn unlock(ui: &Ui, pass_file: Option<PathBuf>) -> Result<(), CliError> {
    let mut s = super::writer(ui)?;
    let sealed_path = vault::recovery_path(&s.ctx.store);
    let sealed = dotback::fsutil::read_beneath(&s.ctx.store, &sealed_path)
        .map_err(|e| CliError::new(format!("cannot read {}: {e}", sealed_path.display())))?;
    let pass = super::passphrase::read(pass_file.as_deref(), "Recovery passphrase", false)
        .map_err(|e| CliError::new(format!("the recovery passphrase is needed: {e}")))?;
    let recovery = crypt::open_recovery(&sealed, &pass).map_err(|e| {
        let mut err = crypt_error(e);
        err.message = format!("{} ({})", err.message, sealed_path.display());
        err
    })?;
    let (me, _) = vault::ensure_device_identity(&s.ctx, s.ctx.identity).map_err(vault_error)?;
    // What this machine first found in the store is checked with the recovery key before it is
    // sealed: an unsealed change waiting there is held back, not taken in.
    s.trust = dotback::trust::anchor(&s.ctx, &Store::open(&s.ctx.store)?, std::slice::from_ref(&recovery))?;
    refuse_while_held(&s)?;
    let mut rs = s.trust.recipients().map_err(crypt_error)?;
    let mine = me.public().to_string();
    if rs.all().iter().any(|r| r.to_string() == mine) {
        ui.info("This device is already a recipient; the recovery key was not needed.");
        return Ok(s.finish()?);
    }
    // The same name with another key: this machine replaces a lost one.
    rs.entries.retain(|e| !matches!(&e.label, Label::Device(n) if *n == s.ctx.device));
    rs.add_device(&s.ctx.device, me.public()).map_err(crypt_error)?;
    let done =
        vault::change_recipients(&s.ctx.store, &s.state, std::slice::from_ref(&recovery), &rs).map_err(vault_error)?;
    // The recovery key is a recipient of the store key: it seals this device's admission.
    dotback::trust::authorize(&s.ctx, &[recovery], false)?;
    commit(&s, &format!("unlock {} with the recovery key", s.ctx.device))?;
    ui.info(format!("This device can now decrypt the store's secrets ({} files re-encrypted).", done.len()));
    Ok(s.finish()?)
}

fn gpg_dir(s: &Session) -> PathBuf {
    s.ctx.store.join(".dotback").join("keys").join("gpg")
}

fn gpg_export(ui: &Ui) -> Result<(), CliError> {
    let s = super::writer(ui)?;
    let export = Gpg::new().export_all().map_err(|e| CliError::from_error(&e))?;
    let dir = gpg_dir(&s);
    let vault = dotback::vault::Vault::new(&s.ctx, &s.trust);
    if !export.secret_keys.is_empty() {
        let cipher = vault.encrypt(&export.secret_keys).map_err(|why| {
            CliError::new(format!("cannot encrypt the GPG secret keys: {why}"))
                .hint("`dotback init` sets up the store's keys")
        })?;
        vault::write(&s.ctx.store, &dir.join("secret-keys.asc.age"), &cipher).map_err(vault_error)?;
    }
    vault::write(&s.ctx.store, &dir.join("public-keys.asc"), &export.public_keys).map_err(vault_error)?;
    vault::write(&s.ctx.store, &dir.join("ownertrust.txt"), &export.ownertrust).map_err(vault_error)?;
    drop(vault);
    // The exported keys are control files: sealed, so other devices import them.
    dotback::session::evaluate_trust(&s.ctx, &Store::open(&s.ctx.store)?, true)?;
    commit(&s, "export GPG keys")?;
    ui.info(format!(
        "Exported {} GPG secret key{} (encrypted) with public keys and ownertrust to {}.",
        export.fingerprints.len(),
        super::add::plural(export.fingerprints.len()),
        dir.display()
    ));
    Ok(s.finish()?)
}

fn gpg_import(ui: &Ui) -> Result<(), CliError> {
    let s = super::reader(ui)?;
    // Keys and ownertrust that arrived without a seal are not handed to gpg.
    refuse_while_held(&s)?;
    let dir = gpg_dir(&s);
    // A file that is not there was not exported; one that cannot be read is an error.
    let read = |name: &str| -> Result<Option<Vec<u8>>, CliError> {
        let path = dir.join(name);
        match dotback::fsutil::read_beneath(&s.ctx.store, &path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CliError::new(format!("cannot read {}: {e}", path.display()))
                .hint("nothing was imported; make the file readable (or export the keys again), then run this again")),
        }
    };
    let public = read("public-keys.asc")?.unwrap_or_default();
    if public.is_empty() {
        return Err(CliError::new(format!("{} holds no exported GPG keys", dir.display()))
            .hint("run `dotback keys gpg-export` on a device that has them"));
    }
    let vault = dotback::vault::Vault::new(&s.ctx, &s.trust);
    let secret_path = dir.join("secret-keys.asc.age");
    let secret = match read("secret-keys.asc.age")? {
        Some(c) => vault
            .decrypt(&c)
            .map_err(|why| CliError::new(format!("cannot decrypt {}: {why}", secret_path.display())))?,
        None => zeroize::Zeroizing::new(Vec::new()),
    };
    let ownertrust = read("ownertrust.txt")?.unwrap_or_default();
    let imported = Gpg::new().import(&public, &secret, &ownertrust).map_err(|e| CliError::from_error(&e))?;
    drop(vault);
    ui.info(format!(
        "Imported {} GPG secret key{} with public keys and ownertrust.",
        imported.len(),
        super::add::plural(imported.len())
    ));
    Ok(s.finish()?)
}
