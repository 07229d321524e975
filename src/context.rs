//! Everything an operation needs to know about this device, loaded once per command.

use crate::config::{ConfigError, DeviceConfig};
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
    /// Which backups to keep.
    pub backups_keep: crate::config::BackupsKeep,
    /// dotback's own places, as configured and (where that differs) resolved: the store, its
    /// config directory and file, its state directory, and chezmoi's config directory (it names
    /// the store and the age keys dotback uses). `add` never tracks anything in them, and apply
    /// never writes, removes or backs up anything in them, whatever a store entry says.
    own: Vec<(PathBuf, &'static str)>,
    /// Those of them inside HOME, as targets (for [`Context::own_place_of`]).
    own_targets: Vec<(String, &'static str)>,
    /// The largest file (in bytes) stored or taken from a remote (`max_file_size`).
    pub max_file_size: u64,
    /// The deletion guard's limit (`max_deletions`, see [`crate::config::DeviceConfig`]).
    pub max_deletions: usize,
    /// `sync` captures the package lists first (`packages.capture`).
    pub packages_capture: bool,
    /// How often the watcher asks the remotes whether they moved.
    pub pull_interval: std::time::Duration,
    /// `check`: the recovery point objective and how often a drill should run, in seconds.
    pub rpo: u64,
    pub drill_every: u64,
    /// `check --alert` runs this when it finds an error.
    pub alert_command: Option<String>,
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
    /// The device config exists but the store has no keys: an init that did not finish (an
    /// older dotback wrote the config before the keys).
    #[error("the setup of this device did not finish: the store {} has no keys (no .dotback/recipients.txt)", store.display())]
    Unfinished { store: PathBuf },
    /// The store's recipients file is gone from the work tree, though the last commit has it.
    #[error("the store's recipients file {} was deleted (the last commit has it)", store.join(RECIPIENTS).display())]
    RecipientsDeleted { store: PathBuf },
}

/// The store's recipients file, relative to the store: `init` writes the device config only
/// after it, so a config without it is a device whose setup did not finish.
pub const RECIPIENTS: &str = ".dotback/recipients.txt";

impl Context {
    /// Loads the device config named by `paths`, refusing a device whose setup did not finish.
    pub fn load(paths: Paths) -> Result<Context, ContextError> {
        let config = DeviceConfig::load(&paths.config_file)?
            .ok_or_else(|| ContextError::NotInitialized { config: paths.config_file.clone() })?;
        let ctx = Context::new(paths, config)?;
        ctx.check_finished()?;
        Ok(ctx)
    }

    /// One `stat` per command; git is asked only when the recipients file is missing. A store
    /// that does not exist is left to whatever opens it to report.
    fn check_finished(&self) -> Result<(), ContextError> {
        if self.store.join(RECIPIENTS).exists() || !self.store.join(".git").exists() {
            return Ok(());
        }
        let repo = git2::Repository::open(&self.store).ok();
        let head = repo.as_ref().and_then(|r| r.head().ok()?.peel_to_tree().ok());
        if head.is_some_and(|tree| tree.get_path(Path::new(RECIPIENTS)).is_ok()) {
            return Err(ContextError::RecipientsDeleted { store: self.store.clone() });
        }
        // Gone from the last commit too, on a device that trusts a set already: a commit from a
        // remote deleted it, and trust holds that back (no pushed content stops a device).
        if crate::trust::trusted_path(&self.paths.state_dir).exists() {
            return Ok(());
        }
        Err(ContextError::Unfinished { store: self.store.clone() })
    }

    pub fn new(paths: Paths, config: DeviceConfig) -> Result<Context, ContextError> {
        let home_canon =
            paths.home.canonicalize().map_err(|source| ContextError::Home { home: paths.home.clone(), source })?;
        let mut own = Vec::new();
        for (p, what) in [
            (&config.source, "dotback's store"),
            (&paths.config_dir, "dotback's config directory"),
            (&paths.state_dir, "dotback's state directory"),
            (&paths.config_file, "dotback's config file"),
            (&paths.chezmoi_config_dir, "chezmoi's config directory"),
        ] {
            own.push((p.clone(), what));
            if let Ok(resolved) = p.canonicalize()
                && resolved != *p
            {
                own.push((resolved, what));
            }
        }
        let rel = |p: &Path| -> Option<String> {
            Some(p.strip_prefix(&paths.home).or_else(|_| p.strip_prefix(&home_canon)).ok()?.to_str()?.to_string())
        };
        let own_targets = own.iter().filter_map(|(p, what)| Some((rel(p)?, *what))).collect();
        Ok(Context {
            own,
            own_targets,
            device: config.device,
            store: config.source,
            home_canon,
            identity: config.identity,
            backups_keep: config.backups_keep,
            max_file_size: config.max_file_size.0,
            max_deletions: config.max_deletions.0,
            packages_capture: config.packages.capture,
            pull_interval: config.pull_interval.0.0,
            rpo: config.rpo.0.0,
            drill_every: config.drill_every.0.0,
            alert_command: config.alert_command,
            paths,
        })
    }

    /// What `path` is in when it is one of dotback's own places ([`Context::own`]) or below one,
    /// or in a git directory (a `.git` below HOME: its hooks run code, so nothing from a store
    /// goes there).
    pub fn own_place(&self, path: &Path) -> Option<&'static str> {
        let rel = self.below_home(path);
        let inside =
            |p: &Path| path.starts_with(p) || rel.zip(self.below_home(p)).is_some_and(|(r, q)| r.starts_with(q));
        if let Some((_, what)) = self.own.iter().find(|(p, _)| inside(p)) {
            return Some(what);
        }
        rel.unwrap_or(path).components().any(|c| is_git_dir(c.as_os_str())).then_some("a git directory")
    }

    /// [`Context::own_place`] for a target: string comparisons only, so evaluating every target
    /// costs next to nothing.
    pub fn own_place_of(&self, target: &str) -> Option<&'static str> {
        let inside = |place: &str| {
            place.is_empty() || target.strip_prefix(place).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if let Some((_, what)) = self.own_targets.iter().find(|(p, _)| inside(p)) {
            return Some(what);
        }
        target.split('/').any(|c| is_git_dir(c.as_ref())).then_some("a git directory")
    }

    /// One of dotback's own places strictly below `path` (what removing `path` would remove).
    pub fn own_place_below(&self, path: &Path) -> Option<(&Path, &'static str)> {
        let rel = self.below_home(path);
        let holds = |p: &Path| {
            (p.starts_with(path) && p != path)
                || rel.zip(self.below_home(p)).is_some_and(|(r, q)| q.starts_with(r) && q != r)
        };
        self.own.iter().find(|(p, _)| holds(p)).map(|(p, what)| (p.as_path(), *what))
    }

    /// `path` relative to HOME (as given or resolved), when it is inside it.
    fn below_home<'a>(&self, path: &'a Path) -> Option<&'a Path> {
        path.strip_prefix(&self.paths.home).or_else(|_| path.strip_prefix(&self.home_canon)).ok()
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

/// `.git`, in any case (git itself treats `.GIT` as `.git` on case-insensitive file systems).
pub fn is_git_dir(name: &std::ffi::OsStr) -> bool {
    name.eq_ignore_ascii_case(".git")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn own_places_cover_the_store_state_config_and_git_directories() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().canonicalize().unwrap();
        let paths = Paths::from_env(|k| (k == "HOME").then(|| OsString::from(&home))).unwrap();
        let store = home.join(".local/share/chezmoi");
        let ctx =
            Context::new(paths, DeviceConfig { device: "d".into(), source: store, ..Default::default() }).unwrap();
        let cases = [
            (".local/share/chezmoi", Some("dotback's store")),
            (".local/share/chezmoi/.git/hooks/post-commit", Some("dotback's store")),
            (".local/state/dotback/cache.bin", Some("dotback's state directory")),
            (".config/dotback/config.toml", Some("dotback's config directory")),
            (".config/chezmoi/chezmoi.toml", Some("chezmoi's config directory")),
            ("src/project/.git/hooks/pre-commit", Some("a git directory")),
            ("src/project/.GIT/config", Some("a git directory")),
            ("src/project/.gitignore", None),
            (".local/share/chezmoi-old/x", None),
            (".local/share", None),
            (".gitconfig", None),
        ];
        for (target, want) in cases {
            assert_eq!(ctx.own_place(&ctx.live(target)), want, "{target}");
            assert_eq!(ctx.own_place_of(target), want, "{target}");
        }
        let below = |t: &str| ctx.own_place_below(&ctx.live(t)).map(|(_, what)| what);
        assert_eq!(below(".local"), Some("dotback's store"));
        assert_eq!(below(".local/state"), Some("dotback's state directory"));
        assert_eq!(below(".local/share/chezmoi"), None, "the place itself is not below itself");
        assert_eq!(below(".local/bin"), None);
    }
}
