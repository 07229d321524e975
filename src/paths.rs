//! Where dotback keeps things on this device.
//!
//! Every location is a pure function of `HOME`, the XDG variables and `DOTBACK_CONFIG`, so a
//! test (or a user with an unusual setup) controls all of them through the environment. dotback
//! uses the XDG layout on every platform, as chezmoi does, so the store sits at the same default
//! path for both tools.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Resolved per-device locations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// The destination directory: the user's home.
    pub home: PathBuf,
    /// The device config file (`$XDG_CONFIG_HOME/dotback/config.toml` or `$DOTBACK_CONFIG`).
    pub config_file: PathBuf,
    /// `$XDG_CONFIG_HOME/dotback`: device config and, later, the device identity.
    pub config_dir: PathBuf,
    /// `$XDG_STATE_HOME/dotback`: stat cache, lock, backups.
    pub state_dir: PathBuf,
    /// `$XDG_CONFIG_HOME/chezmoi`: where chezmoi keeps its own config.
    pub chezmoi_config_dir: PathBuf,
    /// chezmoi's default source directory, `$XDG_DATA_HOME/chezmoi`.
    pub default_source: PathBuf,
}

/// Why the environment does not describe a usable home.
#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error("HOME is not set")]
    NoHome,
    #[error("HOME is `{0}`, which is not an absolute path")]
    RelativeHome(PathBuf),
}

impl Paths {
    /// Resolves every location from the process environment.
    pub fn from_process_env() -> Result<Paths, PathsError> {
        Paths::from_env(|name| std::env::var_os(name))
    }

    /// Resolves every location from `var`, a lookup of environment variables.
    pub fn from_env(var: impl Fn(&str) -> Option<OsString>) -> Result<Paths, PathsError> {
        let home = match var("HOME").filter(|h| !h.is_empty()) {
            Some(h) => PathBuf::from(h),
            None => dirs::home_dir().ok_or(PathsError::NoHome)?,
        };
        if !home.is_absolute() {
            return Err(PathsError::RelativeHome(home));
        }
        // The XDG spec says relative values are invalid and must be ignored.
        let xdg = |name: &str, default: &[&str]| -> PathBuf {
            match var(name).map(PathBuf::from) {
                Some(p) if p.is_absolute() => p,
                _ => default.iter().fold(home.clone(), |p, c| p.join(c)),
            }
        };
        let config_home = xdg("XDG_CONFIG_HOME", &[".config"]);
        let state_home = xdg("XDG_STATE_HOME", &[".local", "state"]);
        let data_home = xdg("XDG_DATA_HOME", &[".local", "share"]);
        let config_dir = config_home.join("dotback");
        let config_file = match var("DOTBACK_CONFIG").filter(|c| !c.is_empty()) {
            Some(c) => absolutize(&home, Path::new(&c)),
            None => config_dir.join("config.toml"),
        };
        Ok(Paths {
            config_file,
            config_dir,
            state_dir: state_home.join("dotback"),
            chezmoi_config_dir: config_home.join("chezmoi"),
            default_source: data_home.join("chezmoi"),
            home,
        })
    }
}

fn absolutize(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_else(|_| base.to_path_buf()).join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(vars: &[(&str, &str)]) -> Result<Paths, PathsError> {
        let map: HashMap<String, OsString> = vars.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
        Paths::from_env(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_home() {
        let p = resolve(&[("HOME", "/h")]).unwrap();
        assert_eq!(p.config_file, Path::new("/h/.config/dotback/config.toml"));
        assert_eq!(p.state_dir, Path::new("/h/.local/state/dotback"));
        assert_eq!(p.default_source, Path::new("/h/.local/share/chezmoi"));
        assert_eq!(p.chezmoi_config_dir, Path::new("/h/.config/chezmoi"));
    }

    #[test]
    fn xdg_variables_override_and_relative_ones_are_ignored() {
        let p = resolve(&[
            ("HOME", "/h"),
            ("XDG_CONFIG_HOME", "/c"),
            ("XDG_STATE_HOME", "relative/state"),
            ("XDG_DATA_HOME", "/d"),
        ])
        .unwrap();
        assert_eq!(p.config_file, Path::new("/c/dotback/config.toml"));
        assert_eq!(p.state_dir, Path::new("/h/.local/state/dotback"));
        assert_eq!(p.default_source, Path::new("/d/chezmoi"));
    }

    #[test]
    fn dotback_config_names_the_config_file() {
        let p = resolve(&[("HOME", "/h"), ("DOTBACK_CONFIG", "/etc/x.toml")]).unwrap();
        assert_eq!(p.config_file, Path::new("/etc/x.toml"));
        assert_eq!(p.config_dir, Path::new("/h/.config/dotback"));
    }

    #[test]
    fn relative_home_is_refused() {
        assert!(matches!(resolve(&[("HOME", "home")]), Err(PathsError::RelativeHome(_))));
    }
}
