//! `dotback init`: create or adopt a store, give this device an identity and the store its keys,
//! and write this device's config. Idempotent, and all or nothing: everything that can fail
//! before anything is written (the passphrase, the keys, sealing the recovery key) is done
//! first; then the identity, the store and, last, the device config are written, and a failure
//! on the way removes what this run wrote. The config is the mark of a finished setup
//! ([`crate::context::Context::load`] refuses a config whose store has no keys).

use crate::config::{ConfigError, DeviceConfig, IdentityStorage, Manifest};
use crate::context::Context;
use crate::crypt::Identity;
use crate::crypt::recipients::Recipients;
use crate::error::{IoContext, Op, PathError};
use crate::paths::Paths;
use crate::store::{Store, StoreError};
use crate::vault::{self, NewKeys};
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
    /// A device's name is in the store's recipients, its commits and its conflict copies:
    /// changing it in the config alone would leave those naming a device that no longer exists.
    #[error("this device is already set up as `{existing}`; renaming it to `{requested}` is not supported")]
    OtherDevice { existing: String, requested: String },
    #[error("{} exists and is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    /// A bare repository, or the inside of a repository's git directory: a store is a work tree,
    /// and making one inside it would nest a second repository in the first.
    #[error("{} is a git repository without a work tree{}; dotback's store must be a work tree", path.display(), match work_tree { Some(w) => format!(" (the git directory of {})", w.display()), None => String::new() })]
    NotAWorkTree { path: PathBuf, work_tree: Option<PathBuf> },
    #[error(transparent)]
    Context(#[from] crate::context::ContextError),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
    #[error("a recovery passphrase is needed to create the store's recovery key: {0}")]
    Passphrase(String),
    #[error(transparent)]
    Write(#[from] PathError),
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
    /// This device's public key (its recipient).
    pub recipient: String,
    pub created_identity: bool,
    /// The store's recipients and recovery key were created now.
    pub created_recipients: bool,
    /// This device is among the store's recipients (can decrypt what others encrypt).
    pub is_recipient: bool,
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

/// Creates or adopts the store, gives this device an identity and a new store its keys, and
/// writes the device config. `source` and `device` are the user's choices, if any;
/// `passphrase` is asked only when the store has no keys yet.
pub fn init(
    paths: &Paths,
    source: Option<&Path>,
    device: Option<&str>,
    identity: Option<IdentityStorage>,
    passphrase: impl FnOnce() -> Result<secrecy::SecretString, String>,
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
    if let (Some(d), Some(cfg)) = (device, &existing)
        && d != cfg.device
    {
        return Err(InitError::OtherDevice { existing: cfg.device.clone(), requested: d.to_string() });
    }
    if source.exists() && !source.is_dir() {
        return Err(InitError::NotADirectory { path: source });
    }
    refuse_git_dir(&source)?;
    let device = device
        .map(str::to_string)
        .or_else(|| existing.as_ref().map(|c| c.device.clone()))
        .unwrap_or_else(default_device);
    let identity = identity.or(existing.as_ref().map(|c| c.identity)).unwrap_or_default();
    let config = DeviceConfig {
        device: device.clone(),
        source: source.clone(),
        identity,
        ..existing.clone().unwrap_or_default()
    };
    let ctx = Context::new(paths.clone(), config.clone())?;

    // Everything that can fail, before anything is written.
    let manifest_path = Manifest::path_in(&source);
    let wrote_manifest = !manifest_path.exists();
    if !wrote_manifest {
        Manifest::load(&source)?;
    }
    let (id, created_identity) = match vault::load_identities(&ctx, identity) {
        Ok(mut ids) => (ids.remove(0), false),
        Err(_) => (Identity::generate(), true),
    };
    let mine = id.public().to_string();
    let recipients_path = vault::recipients_path(&source);
    let (keys, is_recipient) = match recipients_path.exists() {
        true => {
            let recipients = Recipients::load(&source, &recipients_path).map_err(vault::VaultError::from)?;
            (None, recipients.all().iter().any(|r| r.to_string() == mine))
        }
        false => {
            let pass = passphrase().map_err(InitError::Passphrase)?;
            let others: Vec<_> = crate::crypt::chezmoi_config::read(&paths.chezmoi_config_dir, &paths.home)
                .map_err(vault::VaultError::from)?
                .map(|cz| cz.recipients.into_iter().filter(|r| r.to_string() != mine).collect())
                .unwrap_or_default();
            (Some(NewKeys::make(&device, &id, &others, &pass)?), true)
        }
    };

    let mut undo = Undo::default();
    let written =
        write(&ctx, &config, existing.as_ref(), &id, created_identity, wrote_manifest, keys.as_ref(), &mut undo);
    let (created_repository, wrote_config) = match written {
        Ok(w) => w,
        Err(e) => {
            undo.run();
            return Err(e);
        }
    };
    Ok(InitReport {
        store: source,
        device,
        config: paths.config_file.clone(),
        created_repository,
        wrote_manifest,
        wrote_config,
        recipient: mine,
        created_identity,
        created_recipients: keys.is_some(),
        is_recipient,
    })
}

/// Refuses a `source` that is a bare repository or lies inside a repository's git directory
/// (before anything is written there). A work tree, or a directory inside one, is fine.
fn refuse_git_dir(source: &Path) -> Result<(), InitError> {
    let Ok(canon) = source.canonicalize() else { return Ok(()) };
    let Ok(repo) = git2::Repository::open_ext(&canon, git2::RepositoryOpenFlags::empty(), std::iter::empty::<&str>())
    else {
        return Ok(());
    };
    let git_dir = repo.path().canonicalize().unwrap_or_else(|_| repo.path().to_path_buf());
    if repo.is_bare() || canon.starts_with(&git_dir) {
        let work_tree = repo.workdir().map(Path::to_path_buf);
        return Err(InitError::NotAWorkTree { path: source.to_path_buf(), work_tree });
    }
    Ok(())
}

/// Writes what `init` prepared: the identity, then the store (repository, manifest, keys, one
/// commit), then the device config. Returns (repository created, config written).
#[allow(clippy::too_many_arguments)]
fn write(
    ctx: &Context,
    config: &DeviceConfig,
    existing: Option<&DeviceConfig>,
    id: &Identity,
    created_identity: bool,
    wrote_manifest: bool,
    keys: Option<&NewKeys>,
    undo: &mut Undo,
) -> Result<(bool, bool), InitError> {
    // The config's directory first: one that cannot be made fails before the store is touched.
    let file = &ctx.paths.config_file;
    let config_dir = file.parent().expect("config file has a parent");
    undo.dir_if_new(&ctx.paths.config_dir);
    undo.dir_if_new(config_dir);
    crate::state::ensure_private_dir(config_dir)?;
    if created_identity {
        let file = vault::identity_file(ctx);
        let file_existed = file.exists();
        vault::save_device_identity(ctx, config.identity, id)?;
        match config.identity {
            IdentityStorage::File if !file_existed => undo.paths.push(file),
            IdentityStorage::File => {}
            IdentityStorage::Keyring => undo.keyring = Some(config.device.clone()),
        }
    }

    let source = &config.source;
    undo.dir_if_new(source);
    let created_repository = !source.join(".git").exists();
    if created_repository {
        undo.paths.push(source.join(".git"));
    }
    let (store, _) = Store::init(source)?;
    let mark = if created_repository { None } else { Some(store.mark()?) };
    let dotback_dir = source.join(".dotback");
    undo.dir_if_new(&dotback_dir);
    if wrote_manifest {
        let manifest_path = Manifest::path_in(source);
        std::fs::create_dir_all(&dotback_dir).context(Op::Write, &dotback_dir)?;
        let text = format!(
            "# dotback shared manifest: read by every device that syncs this store.\n{}",
            toml::to_string(&Manifest::default()).expect("manifest serializes")
        );
        undo.paths.push(manifest_path.clone());
        crate::fsutil::write_atomic_beneath(source, &manifest_path, text.as_bytes(), 0o644)
            .context(Op::Write, &manifest_path)?;
    }
    if let Some(keys) = keys {
        undo.paths.push(vault::recovery_path(source));
        undo.paths.push(vault::recipients_path(source));
        keys.write(source)?;
        // The store key, and this device's trust in the set it seals.
        undo.paths.push(source.join(".dotback/trust"));
        undo.paths.push(crate::trust::trusted_path(&ctx.paths.state_dir));
        crate::trust::authorize(ctx, std::slice::from_ref(id), false)?;
    }
    // Also when an interrupted run left the store without any commit.
    if created_repository || wrote_manifest || keys.is_some() || store.head_commit()?.is_none() {
        let device = &config.device;
        let message = format!("dotback: {device}: set up the store\n\nDevice: {device}\n");
        undo.commit = mark.map(|m| (source.clone(), m));
        store.commit_all(device, &message)?;
    }

    // Last: the config marks the setup as finished.
    let wrote_config = existing != Some(config);
    if wrote_config {
        crate::fsutil::write_atomic(file, config.to_toml().as_bytes(), 0o600).context(Op::Write, file)?;
    }
    Ok((created_repository, wrote_config))
}

/// What a failed `init` wrote, to be removed again: files and directories (removed whole, last
/// first), an identity kept in the keyring, and a commit made in a repository that was there.
#[derive(Default)]
struct Undo {
    paths: Vec<PathBuf>,
    keyring: Option<String>,
    commit: Option<(PathBuf, crate::store::Mark)>,
}

impl Undo {
    /// Notes `dir` for removal when it does not exist yet (it is about to be created).
    fn dir_if_new(&mut self, dir: &Path) {
        if !dir.exists() {
            self.paths.push(dir.to_path_buf());
        }
    }

    /// Best effort: the error that made init fail is the one to report.
    fn run(self) {
        if let Some((source, mark)) = self.commit
            && let Ok(store) = Store::open(&source)
        {
            let _ = store.rewind(mark);
        }
        for p in self.paths.iter().rev() {
            let _ = match std::fs::symlink_metadata(p) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
                Ok(_) => std::fs::remove_file(p),
                Err(_) => Ok(()),
            };
        }
        if let Some(device) = self.keyring {
            let _ = crate::crypt::keyring::delete_identity(&device);
        }
    }
}
