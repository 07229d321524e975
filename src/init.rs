//! `dotback init`: create or adopt a store and write this device's config. Idempotent.

use crate::config::{ConfigError, DeviceConfig, IdentityStorage, Manifest};
use crate::paths::Paths;
use crate::store::{Store, StoreError};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("this device already uses the store {}, not {}", existing.display(), requested.display())]
    OtherStore { existing: PathBuf, requested: PathBuf },
    #[error("{} exists and is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error("a recovery passphrase is needed to create the store's recovery key: {0}")]
    Passphrase(String),
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, serde::Serialize)]
pub struct InitReport {
    pub store: PathBuf,
    pub device: String,
    pub config: PathBuf,
    /// A new git repository was created (otherwise an existing one was adopted).
    pub created_repository: bool,
    pub wrote_manifest: bool,
    pub wrote_config: bool,
}

/// Where the store goes when the user did not say: chezmoi's configured source directory when
/// chezmoi is installed, else chezmoi's default.
pub fn default_source(paths: &Paths) -> PathBuf {
    let out = Command::new("chezmoi")
        .arg("source-path")
        .env("HOME", &paths.home)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            if p.is_absolute() { p } else { paths.default_source.clone() }
        }
        _ => paths.default_source.clone(),
    }
}

/// The host name, reduced to characters safe in file names and commit messages.
pub fn default_device() -> String {
    let raw = gethostname::gethostname().to_string_lossy().into_owned();
    let name: String = raw
        .split('.')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    if name.is_empty() { "device".to_string() } else { name }
}

/// Creates or adopts the store and writes the device config. `source` and `device` are the
/// user's choices, if any.
pub fn init(
    paths: &Paths,
    source: Option<&Path>,
    device: Option<&str>,
    identity: Option<IdentityStorage>,
) -> Result<InitReport, InitError> {
    let existing = DeviceConfig::load(&paths.config_file)?;
    let source = match (source, &existing) {
        (Some(s), Some(cfg)) if s != cfg.source => {
            return Err(InitError::OtherStore { existing: cfg.source.clone(), requested: s.to_path_buf() });
        }
        (Some(s), _) => s.to_path_buf(),
        (None, Some(cfg)) => cfg.source.clone(),
        (None, None) => default_source(paths),
    };
    if source.exists() && !source.is_dir() {
        return Err(InitError::NotADirectory { path: source });
    }
    let device = device
        .map(str::to_string)
        .or_else(|| existing.as_ref().map(|c| c.device.clone()))
        .unwrap_or_else(default_device);

    let (store, created_repository) = Store::init(&source)?;
    let manifest_path = source.join(".dotback").join("dotback.toml");
    let wrote_manifest = !manifest_path.exists();
    if wrote_manifest {
        let dir = manifest_path.parent().expect("manifest has a parent");
        std::fs::create_dir_all(dir).map_err(|source| InitError::Write { path: dir.to_path_buf(), source })?;
        let text = format!(
            "# dotback shared manifest: read by every device that syncs this store.\n{}",
            toml::to_string(&Manifest::default()).expect("manifest serializes")
        );
        crate::fsutil::write_atomic(&manifest_path, text.as_bytes(), 0o644)
            .map_err(|source| InitError::Write { path: manifest_path.clone(), source })?;
    } else {
        Manifest::load(&manifest_path)?;
    }

    let identity = identity.or(existing.as_ref().map(|c| c.identity)).unwrap_or_default();
    let max_file_size = existing.as_ref().map(|c| c.max_file_size).unwrap_or_default();
    let config = DeviceConfig { device: device.clone(), source: source.clone(), identity, max_file_size };
    let wrote_config = existing.as_ref() != Some(&config);
    if wrote_config {
        crate::state::ensure_private_dir(paths.config_file.parent().expect("config file has a parent")).map_err(
            |e| InitError::Write { path: paths.config_file.clone(), source: std::io::Error::other(e.to_string()) },
        )?;
        crate::fsutil::write_atomic(&paths.config_file, config.to_toml().as_bytes(), 0o600)
            .map_err(|source| InitError::Write { path: paths.config_file.clone(), source })?;
    }

    if created_repository || wrote_manifest {
        let message = format!("dotback: {device}: set up the store\n\nDevice: {device}\n");
        store.commit_all(&device, &message)?;
    }
    Ok(InitReport {
        store: source,
        device,
        config: paths.config_file.clone(),
        created_repository,
        wrote_manifest,
        wrote_config,
    })
}

/// What `setup_keys` did.
#[derive(Debug, serde::Serialize)]
pub struct KeysReport {
    /// This device's public key (its recipient).
    pub recipient: String,
    pub created_identity: bool,
    /// The store's recipients and recovery key were created now.
    pub created_recipients: bool,
    /// This device is among the store's recipients (can decrypt what others encrypt).
    pub is_recipient: bool,
}

/// Gives this device an identity and, for a store without keys, creates its recipients and
/// recovery key. `passphrase` is asked only in that case.
pub fn setup_keys(
    ctx: &crate::context::Context,
    passphrase: impl FnOnce() -> Result<secrecy::SecretString, String>,
) -> Result<KeysReport, InitError> {
    use crate::crypt::recipients::Recipients;
    use crate::vault;
    let (id, created_identity) = vault::ensure_device_identity(ctx, ctx.identity)?;
    let recipients_path = vault::recipients_path(&ctx.store);
    let created_recipients = !recipients_path.exists();
    if created_recipients {
        let pass = passphrase().map_err(InitError::Passphrase)?;
        vault::create(&ctx.store, &ctx.device, &id, &pass)?;
        // A chezmoi user's other configured recipients keep receiving every secret.
        if let Some(cz) = crate::crypt::chezmoi_config::read(&ctx.paths.chezmoi_config_dir, &ctx.paths.home)
            .map_err(vault::VaultError::from)?
        {
            let mut r = Recipients::load(&recipients_path).map_err(vault::VaultError::from)?;
            let mine = id.public().to_string();
            let mut n = 0;
            for other in cz.recipients.iter().filter(|r| r.to_string() != mine) {
                n += 1;
                r.add_device(&format!("chezmoi-{n}"), other.clone()).map_err(vault::VaultError::from)?;
            }
            if n > 0 {
                vault::write(&recipients_path, r.to_text().as_bytes())?;
            }
        }
        let store = Store::open(&ctx.store)?;
        store.commit_all(&ctx.device, &format!("{d}: create the store's keys\n\nDevice: {d}\n", d = ctx.device))?;
    }
    let recipients = Recipients::load(&recipients_path).map_err(vault::VaultError::from)?;
    let is_recipient = recipients.all().iter().any(|r| r.to_string() == id.public().to_string());
    Ok(KeysReport { recipient: id.public().to_string(), created_identity, created_recipients, is_recipient })
}
