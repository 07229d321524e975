//! Everything an operation needs to know about this device, loaded once per command.

use crate::config::{ConfigError, DeviceConfig, Manifest};
use crate::paths::Paths;
use std::path::{Component, Path, PathBuf};

/// A configured device: its paths, its name and its store.
#[derive(Clone, Debug)]
pub struct Context {
    pub paths: Paths,
    pub device: String,
    /// The store (git work tree).
    pub store: PathBuf,
    /// HOME with symlinks resolved: every write must land below it.
    pub home_canon: PathBuf,
    /// Where this device keeps its identity.
    pub identity: crate::config::IdentityStorage,
    /// The largest file (in bytes) stored or taken from a remote (`max_file_size`).
    pub max_file_size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("dotback is not set up on this device: {} does not exist", config.display())]
    NotInitialized { config: PathBuf },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot resolve HOME ({})", home.display())]
    Home {
        home: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is outside HOME ({}); dotback only manages files in HOME", path.display(), home.display())]
    OutsideHome { path: PathBuf, home: PathBuf },
    #[error("{} is inside the store ({}); add the live file in HOME instead", path.display(), store.display())]
    InsideStore { path: PathBuf, store: PathBuf },
    #[error("the path {} is not valid UTF-8; dotback cannot track it", path.display())]
    NonUtf8 { path: PathBuf },
}

impl Context {
    /// Loads the device config named by `paths`.
    pub fn load(paths: Paths) -> Result<Context, ContextError> {
        let config = DeviceConfig::load(&paths.config_file)?
            .ok_or_else(|| ContextError::NotInitialized { config: paths.config_file.clone() })?;
        Context::new(paths, config)
    }

    pub fn new(paths: Paths, config: DeviceConfig) -> Result<Context, ContextError> {
        let home_canon =
            paths.home.canonicalize().map_err(|source| ContextError::Home { home: paths.home.clone(), source })?;
        Ok(Context {
            device: config.device,
            store: config.source,
            home_canon,
            identity: config.identity,
            max_file_size: config.max_file_size.0,
            paths,
        })
    }

    pub fn manifest_path(&self) -> PathBuf {
        Manifest::path_in(&self.store)
    }

    pub fn manifest(&self) -> Result<Manifest, ConfigError> {
        Manifest::load(&self.manifest_path())
    }

    /// Absolute live path of a target.
    pub fn live(&self, target: &str) -> PathBuf {
        if target.is_empty() { self.paths.home.clone() } else { self.paths.home.join(target) }
    }

    /// The target (path relative to HOME, '/'-separated) a user-given path names. The path need
    /// not exist; `..` and symlinks in its directory part are resolved first.
    pub fn target_of(&self, given: &Path) -> Result<String, ContextError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| self.paths.home.clone());
        let abs = normalize(&cwd.join(given));
        // Resolve symlinks in the directory part (not the last component: that may be a link
        // the user wants to track as a link). A path whose directory does not exist yet is
        // taken lexically; writes are guarded again when they happen.
        let resolved = match (abs.parent(), abs.file_name()) {
            (Some(parent), Some(name)) => parent.canonicalize().ok().map(|p| p.join(name)),
            _ => None,
        };
        let store_canon = self.store.canonicalize().unwrap_or_else(|_| self.store.clone());
        let inside_store =
            resolved.as_ref().is_some_and(|r| r.starts_with(&store_canon)) || abs.starts_with(&self.store);
        if inside_store {
            return Err(ContextError::InsideStore { path: given.to_path_buf(), store: self.store.clone() });
        }
        let rel = match &resolved {
            Some(r) => r.strip_prefix(&self.home_canon).ok(),
            None => abs.strip_prefix(&self.paths.home).or_else(|_| abs.strip_prefix(&self.home_canon)).ok(),
        };
        let rel =
            rel.ok_or_else(|| ContextError::OutsideHome { path: given.to_path_buf(), home: self.paths.home.clone() })?;
        let rel = rel.to_str().ok_or_else(|| ContextError::NonUtf8 { path: given.to_path_buf() })?;
        Ok(rel.trim_end_matches('/').to_string())
    }
}

/// Lexically removes `.` and resolves `..` (used only before canonicalizing the parent).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
