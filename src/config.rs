//! The device config (`config.toml`, this machine only) and the shared manifest
//! (`<store>/.dotback/dotback.toml`, in git).
//!
//! Both are strict: an unknown key is an error naming the file, the line and the key, because a
//! misspelt setting in a backup tool silently does the wrong thing for months. Parsing is split
//! from reading (`parse_*` takes text) so the rules are tested on strings.

use crate::error::{Op, PathError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `$XDG_CONFIG_HOME/dotback/config.toml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// This device's name, used in commit messages and (later) as its recipient's label.
    pub device: String,
    /// The store: a git work tree laid out as a chezmoi source directory.
    pub source: PathBuf,
    /// Where this device's age identity lives.
    #[serde(default, skip_serializing_if = "IdentityStorage::is_default")]
    pub identity: IdentityStorage,
    /// How many backups (of what apply overwrote or removed) to keep, and for how long.
    #[serde(default, skip_serializing_if = "is_default")]
    pub backups_keep: BackupsKeep,
    /// The largest file dotback stores or takes from a remote.
    #[serde(default, skip_serializing_if = "is_default")]
    pub max_file_size: MaxFileSize,
    /// The deletion guard: a capture (`commit`, `sync`) that would record the deletion of more
    /// than this many files (symlinks count, directories do not), or of more than half of the
    /// files tracked (when that is more than one), records none of them until `--allow-deletions`
    /// confirms it. An unmounted disk or a mistaken `rm -rf` must never become a deletion on
    /// every device.
    #[serde(default, skip_serializing_if = "is_default")]
    pub max_deletions: MaxDeletions,
    /// `[packages]`: package lists (see [`crate::packages`]).
    #[serde(default, skip_serializing_if = "is_default")]
    pub packages: PackagesConfig,
    /// How often `dotback watch` asks the remotes whether they moved (`<n>s`, `<n>m` or `<n>h`;
    /// 30 s unless set). Asking lists their refs only: nothing is fetched or scanned while
    /// nothing moved.
    #[serde(default, skip_serializing_if = "is_default")]
    pub pull_interval: PullInterval,
    /// `dotback check`'s recovery point objective: the longest time since this device's last
    /// successful sync before check calls it an error (`<n>s`, `<n>m`, `<n>h`, `<n>d` or `<n>w`;
    /// 1 h unless set).
    #[serde(default, skip_serializing_if = "is_default")]
    pub rpo: Rpo,
    /// How old the last successful `dotback drill` may be before check warns (30 d unless set).
    #[serde(default, skip_serializing_if = "is_default")]
    pub drill_every: DrillEvery,
    /// A shell command (`sh -c`) `dotback check --alert` runs when it finds an error, with the
    /// findings as JSON on its standard input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_command: Option<String>,
}

/// A time span as people write them, in seconds: a whole number followed by `s`, `m` or `h`
/// (as a step's `timeout`), or `d` or `w` (as `backups_keep.age`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval(pub u64);

/// `rpo = "1h"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Rpo(pub Interval);

impl Default for Rpo {
    fn default() -> Self {
        Rpo(Interval(HOUR))
    }
}

/// `drill_every = "30d"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DrillEvery(pub Interval);

impl Default for DrillEvery {
    fn default() -> Self {
        DrillEvery(Interval(30 * DAY))
    }
}

impl Interval {
    pub fn parse(text: &str) -> Result<Interval, String> {
        match text.chars().last() {
            Some('d' | 'w') => age_text::parse(text).map(Interval),
            _ => crate::bootstrap::plan::Timeout::parse(text).map(|t| Interval(t.0.as_secs())).map_err(|_| {
                format!(
                    "`{text}` is not a time span; write a whole number followed by s, m, h, d or w (such as \"1h\")"
                )
            }),
        }
    }
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            s if s % DAY == 0 => f.write_str(&age_text::show(s)),
            s => write!(f, "{}", crate::bootstrap::plan::Timeout(std::time::Duration::from_secs(s))),
        }
    }
}

impl Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Interval::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// `pull_interval = "30s"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PullInterval(pub crate::bootstrap::plan::Timeout);

impl Default for PullInterval {
    fn default() -> Self {
        PullInterval(crate::bootstrap::plan::Timeout(std::time::Duration::from_secs(30)))
    }
}

/// `[packages]` in the device config.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackagesConfig {
    /// `sync` captures this device's package lists first (`dotback packages capture`).
    #[serde(default)]
    pub capture: bool,
}

/// `max_deletions`: a number of files, 25 unless set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MaxDeletions(pub usize);

impl Default for MaxDeletions {
    fn default() -> Self {
        MaxDeletions(25)
    }
}

/// `backups_keep = { count = 50, age = "30d" }`: a backup directory under the state dir is kept
/// while it is among the newest `count` and younger than `age` (`<n>h`, `<n>d` or `<n>w`). The
/// newest one always stays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupsKeep {
    #[serde(default = "BackupsKeep::default_count")]
    pub count: usize,
    /// In seconds; written as `<n>h`, `<n>d` or `<n>w`.
    #[serde(default = "BackupsKeep::default_age", with = "age_text")]
    pub age: u64,
}

impl BackupsKeep {
    fn default_count() -> usize {
        50
    }
    fn default_age() -> u64 {
        30 * DAY
    }
}

impl Default for BackupsKeep {
    fn default() -> Self {
        BackupsKeep { count: BackupsKeep::default_count(), age: BackupsKeep::default_age() }
    }
}

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// Ages as people write them: `12h`, `30d`, `8w`.
mod age_text {
    use super::{DAY, HOUR};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn parse(text: &str) -> Result<u64, String> {
        let bad = || format!("`{text}` is not an age; write a whole number followed by h, d or w (such as \"30d\")");
        let unit = match text.chars().last() {
            Some('h') => HOUR,
            Some('d') => DAY,
            Some('w') => 7 * DAY,
            _ => return Err(bad()),
        };
        let n: u64 = text[..text.len() - 1].parse().map_err(|_| bad())?;
        n.checked_mul(unit).filter(|&s| s > 0).ok_or_else(bad)
    }

    pub fn show(secs: u64) -> String {
        match secs {
            s if s % (7 * DAY) == 0 => format!("{}w", s / (7 * DAY)),
            s if s % DAY == 0 => format!("{}d", s / DAY),
            s => format!("{}h", s / HOUR),
        }
    }

    pub fn serialize<S: Serializer>(secs: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&show(*secs))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        parse(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// `max_file_size`: bytes, or a number with a binary unit (`"100M"`, `"512K"`, `"2G"`, `"1T"`;
/// `KiB`/`KB` spellings too). A file is read into memory to be hashed, encrypted or merged, so
/// an unbounded one (a disk image tracked by mistake, or a blob a remote pushed) could exhaust it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxFileSize(pub u64);

impl Default for MaxFileSize {
    fn default() -> Self {
        MaxFileSize(100 << 20)
    }
}

const UNITS: [(&str, u32); 4] = [("K", 10), ("M", 20), ("G", 30), ("T", 40)];

impl MaxFileSize {
    /// Parses `"100M"`, `"100MiB"`, `"100MB"` (all 100 × 2^20 bytes) or `"1048576"`.
    pub fn parse(text: &str) -> Result<MaxFileSize, String> {
        let bad = || {
            format!("`{text}` is not a size; write bytes or a number with K, M, G or T (powers of 1024), e.g. \"100M\"")
        };
        let t = text.trim();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        let (number, unit) = t.split_at(digits);
        let n: u64 = number.parse().map_err(|_| bad())?;
        let unit = unit.trim_start();
        let unit = unit.strip_suffix("iB").or_else(|| unit.strip_suffix('B')).unwrap_or(unit);
        let shift = match unit.to_ascii_uppercase().as_str() {
            "" => 0,
            u => UNITS.iter().find(|(name, _)| *name == u).map(|(_, s)| *s).ok_or_else(bad)?,
        };
        let bytes = n.checked_mul(1 << shift).ok_or_else(bad)?;
        if bytes == 0 {
            return Err(format!("`{text}` is zero; every non-empty file would be refused"));
        }
        Ok(MaxFileSize(bytes))
    }
}

impl std::fmt::Display for MaxFileSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match UNITS.iter().rev().find(|(_, s)| self.0.is_multiple_of(1 << s)) {
            Some((name, s)) => write!(f, "{}{name}", self.0 >> s),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Serialize for MaxFileSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for MaxFileSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = MaxFileSize;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a size: bytes, or a string such as \"100M\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<MaxFileSize, E> {
                MaxFileSize::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<MaxFileSize, E> {
                MaxFileSize::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MaxFileSize, E> {
                MaxFileSize::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Where the device identity (its age secret key) is kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityStorage {
    /// `$XDG_CONFIG_HOME/dotback/identity.txt`, mode 0600.
    #[default]
    File,
    /// The OS keyring (Secret Service, Keychain): background runs never prompt.
    Keyring,
}

impl IdentityStorage {
    fn is_default(&self) -> bool {
        *self == IdentityStorage::File
    }
}

/// `<store>/.dotback/dotback.toml`, shared by every device.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version of the store's dotback data.
    pub version: u32,
    /// Which files are secret (encrypted in the store), beyond or instead of the defaults.
    #[serde(default, skip_serializing_if = "is_default")]
    pub secrets: crate::secrets::SecretsConfig,
    /// `[[only]]`: targets limited to some devices (selective sync, see [`crate::selective`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<crate::selective::OnlyRule>,
    /// `[bootstrap]`: the user's own steps for `dotback bootstrap`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub bootstrap: Bootstrap,
    /// Its rules, compiled once when it is read.
    #[serde(skip)]
    pub rules: ManifestRules,
}

/// A manifest's secret and `[[only]]` rules, compiled.
#[derive(Clone, Debug, Default)]
pub struct ManifestRules {
    pub secrets: crate::secrets::SecretRules,
    pub only: crate::selective::Only,
}

/// Manifests are equal when what they say is (the compiled rules follow from it).
impl PartialEq for Manifest {
    fn eq(&self, other: &Self) -> bool {
        (self.version, &self.secrets, &self.only, &self.bootstrap)
            == (other.version, &other.secrets, &other.only, &other.bootstrap)
    }
}

impl Eq for Manifest {}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            version: 1,
            secrets: Default::default(),
            only: Vec::new(),
            bootstrap: Default::default(),
            rules: Default::default(),
        }
    }
}

/// The manifest's `[bootstrap]` table: `[[bootstrap.step]]`, one per user step (see
/// [`crate::bootstrap::plan`]). Each step is checked where it is written; names must be unique.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawBootstrap")]
pub struct Bootstrap {
    #[serde(rename = "step", default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<crate::bootstrap::plan::UserStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBootstrap {
    #[serde(default)]
    step: Vec<crate::bootstrap::plan::UserStep>,
}

impl TryFrom<RawBootstrap> for Bootstrap {
    type Error = String;

    fn try_from(raw: RawBootstrap) -> Result<Bootstrap, String> {
        crate::bootstrap::plan::check_steps(&raw.step)?;
        Ok(Bootstrap { steps: raw.step })
    }
}

/// A config file that could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Read(#[from] crate::error::PathError),
    #[error("{} is not valid: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl DeviceConfig {
    pub fn parse(path: &Path, text: &str) -> Result<DeviceConfig, ConfigError> {
        let cfg: DeviceConfig = parse_toml(path, text)?;
        if cfg.device.trim().is_empty() {
            return Err(invalid(path, "`device` is empty; set it to this machine's name"));
        }
        if !cfg.source.is_absolute() {
            return Err(invalid(path, &format!("`source` is `{}`; it must be an absolute path", cfg.source.display())));
        }
        if cfg.backups_keep.count == 0 {
            return Err(invalid(path, "`backups_keep.count` is 0; keep at least 1 backup"));
        }
        Ok(cfg)
    }

    /// Reads the config; `Ok(None)` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<DeviceConfig>, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => DeviceConfig::parse(path, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PathError::new(Op::Read, path, source).into()),
        }
    }

    pub fn to_toml(&self) -> String {
        format!(
            "# dotback device config: this machine only, never shared.\n{}",
            toml::to_string(self).expect("device config serializes")
        )
    }
}

impl Manifest {
    pub fn parse(path: &Path, text: &str) -> Result<Manifest, ConfigError> {
        let mut m: Manifest = parse_toml(path, text)?;
        m.rules.secrets = crate::secrets::SecretRules::with_manifest(&m.secrets)
            .map_err(|e| invalid(path, &format!("[secrets]: {e}")))?;
        m.rules.only = crate::selective::Only::new(&m.only);
        if m.version != 1 {
            return Err(invalid(
                path,
                &format!(
                    "`version = {}` is not supported by this dotback (it reads version 1); upgrade dotback",
                    m.version
                ),
            ));
        }
        Ok(m)
    }

    /// Where the manifest of the store at `store` lives.
    pub fn path_in(store: &Path) -> PathBuf {
        store.join(".dotback").join("dotback.toml")
    }

    /// Reads the manifest of the store at `store` (following no symbolic link inside it); a
    /// store without one (a plain chezmoi store) gets the defaults.
    pub fn load(store: &Path) -> Result<Manifest, ConfigError> {
        let path = Manifest::path_in(store);
        match crate::fsutil::read_to_string_beneath(store, &path) {
            Ok(text) => Manifest::parse(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(source) => Err(PathError::new(Op::Read, path, source).into()),
        }
    }
}

fn invalid(path: &Path, message: &str) -> ConfigError {
    ConfigError::Invalid { path: path.to_path_buf(), message: message.to_string() }
}

fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| {
                let before = &text.as_bytes()[..s.start.min(text.len())];
                format!("line {}: ", before.iter().filter(|&&b| b == b'\n').count() + 1)
            })
            .unwrap_or_default();
        invalid(path, &format!("{line}{}", e.message()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/c/config.toml")
    }

    #[test]
    fn device_config_round_trips() {
        let cfg = DeviceConfig { device: "laptop".into(), source: "/h/src".into(), ..Default::default() };
        assert_eq!(DeviceConfig::parse(p(), &cfg.to_toml()).unwrap(), cfg);
        assert!(!cfg.to_toml().contains("backups_keep"), "defaults are not written out");
        let cfg = DeviceConfig { identity: IdentityStorage::Keyring, ..cfg };
        assert_eq!(DeviceConfig::parse(p(), &cfg.to_toml()).unwrap(), cfg);
        let err = DeviceConfig::parse(p(), "device = \"a\"\nsource = \"/s\"\nidentity = \"usb\"\n").unwrap_err();
        assert!(err.to_string().contains("usb"), "{err}");
    }

    #[test]
    fn max_deletions_is_a_count_with_a_default() {
        let p = || Path::new("/c/config.toml");
        let with = |extra: &str| DeviceConfig::parse(p(), &format!("device = \"a\"\nsource = \"/s\"\n{extra}"));
        assert_eq!(with("").unwrap().max_deletions, MaxDeletions(25));
        assert_eq!(with("max_deletions = 3\n").unwrap().max_deletions, MaxDeletions(3));
        assert!(with("max_deletions = \"many\"\n").unwrap_err().to_string().contains("config.toml"));
        assert!(!with("").unwrap().to_toml().contains("max_deletions"), "the default is not written out");
    }

    #[test]
    fn rpo_and_drill_every_are_time_spans_with_defaults() {
        let with = |extra: &str| DeviceConfig::parse(p(), &format!("device = \"a\"\nsource = \"/s\"\n{extra}"));
        let cfg = with("").unwrap();
        assert_eq!((cfg.rpo.0, cfg.drill_every.0, cfg.alert_command), (Interval(HOUR), Interval(30 * DAY), None));
        for (text, secs) in [("1s", 1), ("90m", 90 * 60), ("2h", 2 * HOUR), ("3d", 3 * DAY), ("2w", 14 * DAY)] {
            let cfg = with(&format!("rpo = \"{text}\"\ndrill_every = \"{text}\"\n")).unwrap();
            assert_eq!((cfg.rpo.0, cfg.drill_every.0), (Interval(secs), Interval(secs)), "{text}");
            assert!(cfg.to_toml().contains(&format!("rpo = \"{text}\"")), "{}", cfg.to_toml());
            assert_eq!(DeviceConfig::parse(p(), &cfg.to_toml()).unwrap(), cfg);
        }
        for bad in ["1", "h", "0s", "-1h", "1.5h", "1 hour", "1y"] {
            let err = with(&format!("rpo = \"{bad}\"\n")).unwrap_err().to_string();
            assert!(err.contains("line 3") && err.contains(bad), "{bad}: {err}");
        }
        let cfg = with("alert_command = \"curl -fsS https://hc.example/ping/x/fail\"\n").unwrap();
        assert_eq!(cfg.alert_command.as_deref(), Some("curl -fsS https://hc.example/ping/x/fail"));
        assert_eq!(DeviceConfig::parse(p(), &cfg.to_toml()).unwrap(), cfg);
        assert!(!with("").unwrap().to_toml().contains("rpo"), "the default is not written out");
    }

    #[test]
    fn packages_capture_is_strict_and_off_by_default() {
        let p = || Path::new("/c/config.toml");
        let with = |extra: &str| DeviceConfig::parse(p(), &format!("device = \"a\"\nsource = \"/s\"\n{extra}"));
        assert!(!with("").unwrap().packages.capture);
        let on = with("[packages]\ncapture = true\n").unwrap();
        assert!(on.packages.capture);
        assert_eq!(DeviceConfig::parse(p(), &on.to_toml()).unwrap(), on);
        let err = with("[packages]\ncapure = true\n").unwrap_err().to_string();
        assert!(err.contains("config.toml") && err.contains("capure"), "{err}");
    }

    #[test]
    fn backups_keep_reads_a_count_and_an_age() {
        let cfg = |keep: &str| DeviceConfig::parse(p(), &format!("device = \"a\"\nsource = \"/s\"\n{keep}\n"));
        assert_eq!(cfg("").unwrap().backups_keep, BackupsKeep { count: 50, age: 30 * DAY });
        assert_eq!(cfg("backups_keep = { count = 5 }").unwrap().backups_keep.age, 30 * DAY);
        let cases = [("12h", 12 * HOUR), ("30d", 30 * DAY), ("8w", 56 * DAY), ("1d", DAY)];
        for (text, secs) in cases {
            let keep = cfg(&format!("backups_keep = {{ count = 3, age = \"{text}\" }}")).unwrap().backups_keep;
            assert_eq!(keep, BackupsKeep { count: 3, age: secs }, "{text}");
            let again =
                DeviceConfig { backups_keep: keep, ..DeviceConfig { device: "a".into(), ..Default::default() } };
            assert!(again.to_toml().contains(&format!("age = \"{text}\"")), "{}", again.to_toml());
        }
        for bad in ["30", "d", "-1d", "0d", "1.5d", "30days", "99999999999999999999w"] {
            let err = cfg(&format!("backups_keep = {{ age = \"{bad}\" }}")).unwrap_err().to_string();
            assert!(err.contains("line 3") && err.contains(bad), "{bad}: {err}");
        }
        let err = cfg("backups_keep = { count = 0 }").unwrap_err().to_string();
        assert!(err.contains("backups_keep.count"), "{err}");
        assert!(cfg("backups_keep = { days = 3 }").unwrap_err().to_string().contains("days"));
    }

    #[test]
    fn file_sizes_are_bytes_or_binary_units() {
        for (text, bytes) in [
            ("1", 1),
            ("4096", 4096),
            ("512K", 512 << 10),
            ("100M", 100 << 20),
            ("100m", 100 << 20),
            ("100MiB", 100 << 20),
            ("100 MB", 100 << 20),
            ("2G", 2 << 30),
            ("1T", 1 << 40),
        ] {
            assert_eq!(MaxFileSize::parse(text), Ok(MaxFileSize(bytes)), "{text}");
        }
        for bad in ["", "M", "0", "0K", "-1", "1.5G", "10X", "10 KK", "99999999999999999999", "20000000T"] {
            assert!(MaxFileSize::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(MaxFileSize(100 << 20).to_string(), "100M");
        assert_eq!(MaxFileSize(1536).to_string(), "1536");
        let with =
            |v: &str| DeviceConfig::parse(p(), &format!("device = \"a\"\nsource = \"/s\"\nmax_file_size = {v}\n"));
        assert_eq!(with("\"1K\"").unwrap().max_file_size, MaxFileSize(1024));
        assert_eq!(with("2048").unwrap().max_file_size, MaxFileSize(2048));
        let err = with("\"lots\"").unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("lots"), "{err}");
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = DeviceConfig::parse(p(), "device = \"a\"\nsource = \"/s\"\ncolour = true\n").unwrap_err().to_string();
        assert!(err.contains("/c/config.toml"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn malformed_toml_names_the_line() {
        let err = DeviceConfig::parse(p(), "device = \"a\"\nsource = \n").unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn relative_source_and_empty_device_are_refused() {
        assert!(DeviceConfig::parse(p(), "device = \"a\"\nsource = \"rel\"\n").is_err());
        assert!(DeviceConfig::parse(p(), "device = \" \"\nsource = \"/s\"\n").is_err());
    }

    #[test]
    fn manifest_rejects_unknown_versions_and_keys() {
        assert_eq!(Manifest::parse(p(), "version = 1\n").unwrap(), Manifest::default());
        assert!(Manifest::parse(p(), "version = 2\n").unwrap_err().to_string().contains("upgrade"));
        assert!(Manifest::parse(p(), "version = 1\nx = 1\n").unwrap_err().to_string().contains('x'));
        let m = Manifest::parse(p(), "version = 1\n[secrets]\nextra = [\"*.token\"]\n").unwrap();
        assert_eq!(m.secrets.extra, ["*.token"]);
        let err = Manifest::parse(p(), "version = 1\n[secrets]\nextra = [\"../x\"]\n").unwrap_err().to_string();
        assert!(err.contains("[secrets]") && err.contains("../x"), "{err}");
        assert!(
            Manifest::parse(p(), "version = 1\n[secrets]\nextras = []\n").unwrap_err().to_string().contains("line 3")
        );
    }

    #[test]
    fn bootstrap_steps_parse_and_errors_name_file_line_and_key() {
        let text = "version = 1\n\n[[bootstrap.step]]\nname = \"rust\"\nrun = \"rustup default stable\"\nafter = [\"package-managers\"]\nbefore = [\"packages\"]\nunless = \"command -v cargo\"\nos = \"linux\"\ndevice = [\"laptop\", \"desk\"]\ntimeout = \"10m\"\n\n[[bootstrap.step]]\nname = \"fonts\"\nrun = \"fc-cache\"\n";
        let m = Manifest::parse(p(), text).unwrap();
        let [rust, fonts] = &m.bootstrap.steps[..] else { panic!("two steps: {:?}", m.bootstrap) };
        assert_eq!((rust.name.as_str(), rust.run.as_str()), ("rust", "rustup default stable"));
        assert_eq!(
            (&rust.after[..], &rust.before[..]),
            (&["package-managers".to_string()][..], &["packages".to_string()][..])
        );
        assert_eq!(rust.unless.as_deref(), Some("command -v cargo"));
        assert_eq!(rust.os.as_deref(), Some(&["linux".to_string()][..]));
        assert_eq!(rust.device.as_deref(), Some(&["laptop".to_string(), "desk".to_string()][..]));
        assert_eq!(rust.timeout.map(|t| t.0.as_secs()), Some(600));
        assert_eq!(
            (fonts.name.as_str(), fonts.after.len(), fonts.os.as_ref(), fonts.timeout),
            ("fonts", 0, None, None)
        );
        let short = "version = 1\n[[bootstrap.step]]\nname = \"a\"\nrun = \"true\"\nafter = \"ssh\"\nos = [\"linux\", \"macos\"]\n";
        let a = &Manifest::parse(p(), short).unwrap().bootstrap.steps[0];
        assert_eq!(
            (&a.after[..], a.os.as_ref().map(Vec::len)),
            (&["ssh".to_string()][..], Some(2)),
            "a name or a list"
        );
        let again = toml::to_string(&m).unwrap();
        assert_eq!(Manifest::parse(p(), &again).unwrap(), m, "{again}");
        assert_ne!(m, Manifest::default(), "the steps are part of what a manifest says");

        let step = |body: &str| format!("version = 1\n[[bootstrap.step]]\nname = \"a\"\nrun = \"true\"\n{body}");
        let cases = [
            (step("colour = 1\n"), "line 5", "colour"),
            (step("timeout = \"10 minutes\"\n"), "line 5", "10 minutes"),
            (step("os = \"windows\"\n"), "line 5", "windows"),
            (step("os = []\n"), "line 2", "`a`: `os` is empty"),
            (step("after = 1\n"), "line 5", "a name or a list of names"),
            ("version = 1\n[[bootstrap.step]]\nrun = \"true\"\n".to_string(), "line 2", "name"),
            ("version = 1\n[[bootstrap.step]]\nname = \"Bad Name\"\nrun = \"x\"\n".to_string(), "line 2", "Bad Name"),
            ("version = 1\n[[bootstrap.step]]\nname = \"gpg\"\nrun = \"x\"\n".to_string(), "line 2", "built-in"),
            (format!("{}[[bootstrap.step]]\nname = \"a\"\nrun = \"y\"\n", step("")), "line ", "used by two steps"),
            ("version = 1\n[bootstrap]\nsteps = []\n".to_string(), "line 3", "steps"),
        ];
        for (text, line, key) in cases {
            let err = Manifest::parse(p(), &text).unwrap_err().to_string();
            assert!(err.contains("/c/config.toml") && err.contains(line) && err.contains(key), "{text:?}: {err}");
        }
    }

    #[test]
    fn only_rules_parse_and_errors_name_file_line_and_key() {
        let m = Manifest::parse(
            p(),
            "version = 1\n[[only]]\npaths = [\".config/sway/**\"]\ndevices = [\"laptop\"]\n[[only]]\npaths = [\"x\"]\nos = \"macos\"\n",
        )
        .unwrap();
        assert_eq!(m.only.len(), 2);
        assert_eq!(m.only[0].devices.as_deref(), Some(&["laptop".to_string()][..]));
        assert_eq!(m.only[1].os.as_deref(), Some(&["macos".to_string()][..]));
        let text = toml::to_string(&m).unwrap();
        assert_eq!(Manifest::parse(p(), &text).unwrap(), m, "{text}");
        let cases = [
            ("version = 1\n[[only]]\npaths = [\"x\"]\nos = \"windows\"\n", "line 4", "windows"),
            ("version = 1\n\n[[only]]\npaths = [\"x\"]\ndevices = [\"a\"]\nhosts = [\"b\"]\n", "line 6", "hosts"),
            ("version = 1\n[[only]]\npaths = []\ndevices = [\"a\"]\n", "line ", "paths"),
            ("version = 1\n[[only]]\npaths = [\"../x\"]\ndevices = [\"a\"]\n", "line ", "../x"),
        ];
        for (text, line, key) in cases {
            let err = Manifest::parse(p(), text).unwrap_err().to_string();
            assert!(err.contains("/c/config.toml") && err.contains(line) && err.contains(key), "{text:?}: {err}");
        }
    }
}
