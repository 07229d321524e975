//! Selective sync: the manifest's `[[only]]` rules limit some targets to some devices.
//!
//! ```toml
//! [[only]]
//! paths = [".config/sway/**", ".local/bin/laptop-*"]
//! devices = ["laptop"]
//!
//! [[only]]
//! paths = [".config/karabiner"]
//! os = "macos"
//! ```
//!
//! A rule's `paths` are the `[secrets]` globs ([`crate::secrets`]): targets relative to HOME,
//! `**` for any depth, a pattern without `/` matching at any depth, and a pattern that names a
//! directory covering everything below it. A rule admits a device when the device is in
//! `devices` (if given) **and** this machine's OS is in `os` (if given); at least one of the two
//! must be there. A target no rule matches goes everywhere. A target several rules match goes
//! to a device if **any** of them admits it: rules only ever add devices, so a broad rule and a
//! narrower one for the same files never cancel each other out, and a device is never left
//! out by accident.
//!
//! On a device no matching rule admits, the target is *skipped*: it is not applied, captured or
//! removed, whatever is live at its path is left alone, and `status` lists it apart from the
//! changes. The store keeps it (it is other devices' file) and sync merges it as any other.
//! A conflict copy follows the file it is a copy of.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::secrets::Glob;

/// The operating systems `os` can name.
pub const OS_NAMES: &[&str] = &["linux", "macos"];

/// The name of the OS this binary runs on, as `os` spells it (`None` elsewhere: then no
/// `os` filter admits the machine).
pub fn current_os() -> Option<&'static str> {
    OS_NAMES.iter().copied().find(|&n| n == std::env::consts::OS)
}

/// One `[[only]]` table, validated.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "RawRule")]
pub struct OnlyRule {
    pub paths: Vec<String>,
    /// `paths`, compiled when the rule is read.
    #[serde(skip)]
    globs: Vec<Glob>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Vec<String>>,
}

/// Rules are equal when what they say is (the compiled patterns follow from it).
impl PartialEq for OnlyRule {
    fn eq(&self, other: &Self) -> bool {
        (&self.paths, &self.devices, &self.os) == (&other.paths, &other.devices, &other.os)
    }
}

impl Eq for OnlyRule {}

/// `[[only]]` as written, before the checks that need the whole table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    paths: Option<Vec<String>>,
    devices: Option<Vec<String>>,
    os: Option<OsList>,
}

impl TryFrom<RawRule> for OnlyRule {
    type Error = String;

    fn try_from(raw: RawRule) -> Result<OnlyRule, String> {
        let paths = raw.paths.ok_or("[[only]] needs `paths`, the patterns of the files it limits")?;
        if paths.is_empty() {
            return Err("[[only]] has an empty `paths`; list the patterns of the files it limits".into());
        }
        let globs = paths
            .iter()
            .map(|p| Glob::compile(p).map_err(|why| format!("[[only]] paths: invalid pattern `{p}`: {why}")))
            .collect::<Result<Vec<_>, _>>()?;
        if raw.devices.is_none() && raw.os.is_none() {
            return Err("[[only]] needs `devices = [...]` or `os = \"linux\"|\"macos\"` (or both): which devices get these paths".into());
        }
        if let Some(d) = &raw.devices {
            if d.is_empty() {
                return Err(
                    "[[only]] has an empty `devices`; list the device names that get these paths, or leave it out"
                        .into(),
                );
            }
            if let Some(bad) = d.iter().find(|n| n.trim().is_empty()) {
                return Err(format!("[[only]] devices: `{bad}` is not a device name"));
            }
        }
        if raw.os.as_ref().is_some_and(|o| o.0.is_empty()) {
            return Err("[[only]] has an empty `os`; name \"linux\" or \"macos\", or leave it out".into());
        }
        Ok(OnlyRule { paths, globs, devices: raw.devices, os: raw.os.map(|o| o.0) })
    }
}

/// `os = "linux"` or `os = ["linux", "macos"]`; an unknown name is refused where it is written.
struct OsList(Vec<String>);

impl<'de> Deserialize<'de> for OsList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OsList, D::Error> {
        struct V;
        fn check<E: de::Error>(name: &str) -> Result<String, E> {
            if OS_NAMES.contains(&name) {
                Ok(name.to_string())
            } else {
                Err(E::custom(format!("[[only]] os: unknown OS `{name}`; use \"linux\" or \"macos\"")))
            }
        }
        impl<'de> Visitor<'de> for V {
            type Value = OsList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"linux\", \"macos\" or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OsList, E> {
                Ok(OsList(vec![check(v)?]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OsList, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    out.push(check(&name)?);
                }
                Ok(OsList(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// The compiled `[[only]]` rules of a store.
#[derive(Clone, Debug, Default)]
pub struct Only {
    rules: Vec<Compiled>,
}

#[derive(Clone, Debug)]
struct Compiled {
    globs: Vec<Glob>,
    devices: Option<Vec<String>>,
    os: Option<Vec<String>>,
}

impl Compiled {
    fn admits(&self, device: &str, os: Option<&str>) -> bool {
        self.devices.as_ref().is_none_or(|d| d.iter().any(|n| n == device))
            && self.os.as_ref().is_none_or(|list| os.is_some_and(|os| list.iter().any(|n| n == os)))
    }

    fn matches(&self, segs: &[&str]) -> bool {
        self.globs.iter().any(|g| g.matches(segs))
    }

    /// How the rule reads in a message: `.config/sway/** (devices: laptop)`.
    fn describe(&self) -> String {
        let paths: Vec<&str> = self.globs.iter().map(|g| g.text.as_str()).collect();
        let mut limits = Vec::new();
        if let Some(d) = &self.devices {
            limits.push(format!("devices: {}", d.join(", ")));
        }
        if let Some(o) = &self.os {
            limits.push(format!("os: {}", o.join(", ")));
        }
        format!("{} ({})", paths.join(", "), limits.join("; "))
    }
}

impl Only {
    /// The rules of a manifest, from the patterns compiled when it was read.
    pub fn new(rules: &[OnlyRule]) -> Only {
        let rules = rules
            .iter()
            .map(|r| Compiled { globs: r.globs.clone(), devices: r.devices.clone(), os: r.os.clone() })
            .collect();
        Only { rules }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Why `target` is skipped on `device` running `os`: the first rule that matches it, when
    /// rules match and none admits the device. `None`: the target applies here.
    pub fn skipped_by(&self, target: &str, device: &str, os: Option<&str>) -> Option<String> {
        if self.rules.is_empty() {
            return None;
        }
        let segs: Vec<&str> = target.split('/').filter(|s| !s.is_empty()).collect();
        let mut original = segs.clone();
        // A conflict copy goes where the file it copies goes.
        if let Some(copy) = segs.last().and_then(|n| crate::merge::conflict::parse(n)) {
            *original.last_mut().expect("not empty") = copy.original;
        }
        let mut matching = self.rules.iter().filter(|r| r.matches(&segs) || r.matches(&original)).peekable();
        let first = matching.peek().copied()?;
        if matching.any(|r| r.admits(device, os)) {
            return None;
        }
        Some(first.describe())
    }

    /// [`Only::skipped_by`] on this machine's OS.
    pub fn skips(&self, target: &str, device: &str) -> Option<String> {
        self.skipped_by(target, device, current_os())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(toml_text: &str) -> Only {
        #[derive(Deserialize)]
        struct T {
            only: Vec<OnlyRule>,
        }
        Only::new(&toml::from_str::<T>(toml_text).unwrap().only)
    }

    fn err(toml_text: &str) -> String {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct T {
            only: Vec<OnlyRule>,
        }
        toml::from_str::<T>(toml_text).unwrap_err().message().to_string()
    }

    #[test]
    fn a_rule_admits_listed_devices_only() {
        let only = rules("[[only]]\npaths = [\".config/sway/**\"]\ndevices = [\"laptop\"]\n");
        for t in [".config/sway", ".config/sway/config", ".config/sway/a/b"] {
            assert_eq!(only.skipped_by(t, "laptop", Some("linux")), None, "{t}");
            let why = only.skipped_by(t, "desk", Some("linux")).unwrap_or_else(|| panic!("{t} kept on desk"));
            assert!(why.contains(".config/sway/**") && why.contains("devices: laptop"), "{why}");
        }
        for t in [".config", ".config/swayfx/config", ".zshrc", "x/.config/sway/config"] {
            assert_eq!(only.skipped_by(t, "desk", Some("linux")), None, "{t}");
        }
    }

    #[test]
    fn a_directory_pattern_covers_what_is_below_and_bare_names_match_anywhere() {
        let only = rules("[[only]]\npaths = [\".config/sway\", \"*.work\"]\ndevices = [\"laptop\"]\n");
        assert!(only.skipped_by(".config/sway/config", "desk", None).is_some());
        assert!(only.skipped_by(".config/sway", "desk", None).is_some());
        assert!(only.skipped_by("notes/today.work", "desk", None).is_some());
        assert!(only.skipped_by("notes/today.works", "desk", None).is_none());
    }

    #[test]
    fn os_and_devices_must_both_match() {
        let only = rules(
            "[[only]]\npaths = [\".mac\"]\nos = \"macos\"\n[[only]]\npaths = [\".both\"]\ndevices = [\"a\"]\nos = [\"linux\"]\n",
        );
        assert!(only.skipped_by(".mac", "a", Some("linux")).is_some());
        assert!(only.skipped_by(".mac", "a", Some("macos")).is_none());
        assert!(only.skipped_by(".mac", "a", None).is_some(), "an unknown OS is admitted by no os filter");
        assert!(only.skipped_by(".both", "a", Some("linux")).is_none());
        assert!(only.skipped_by(".both", "a", Some("macos")).is_some());
        assert!(only.skipped_by(".both", "b", Some("linux")).is_some());
    }

    #[test]
    fn any_matching_rule_that_admits_keeps_the_path() {
        let only = rules(
            "[[only]]\npaths = [\".config/sway/**\"]\ndevices = [\"laptop\"]\n\
             [[only]]\npaths = [\".config/sway/colors\"]\ndevices = [\"desk\"]\n",
        );
        assert!(only.skipped_by(".config/sway/colors", "desk", None).is_none());
        assert!(only.skipped_by(".config/sway/colors", "laptop", None).is_none());
        assert!(only.skipped_by(".config/sway/colors", "other", None).is_some());
        assert!(only.skipped_by(".config/sway/config", "desk", None).is_some());
    }

    #[test]
    fn a_conflict_copy_follows_its_file() {
        let only = rules("[[only]]\npaths = [\".config/sway/config\"]\ndevices = [\"laptop\"]\n");
        let copy = ".config/sway/config.dotback-conflict-laptop2-20240101-120000";
        assert!(only.skipped_by(copy, "desk", None).is_some());
        assert!(only.skipped_by(copy, "laptop", None).is_none());
    }

    #[test]
    fn no_rules_skip_nothing() {
        assert!(Only::default().skipped_by(".anything", "d", None).is_none());
        assert!(current_os().is_some_and(|os| OS_NAMES.contains(&os)) || current_os().is_none());
    }

    #[test]
    fn malformed_rules_are_refused_with_the_key() {
        let cases = [
            ("[[only]]\npaths = [\"x\"]\ndevice = [\"a\"]\n", "device"),
            ("[[only]]\npaths = [\"x\"]\nos = \"windows\"\n", "windows"),
            ("[[only]]\npaths = [\"x\"]\nos = [\"linux\", \"plan9\"]\n", "plan9"),
            ("[[only]]\npaths = [\"x\"]\nos = 3\n", "linux"),
            ("[[only]]\npaths = [\"x\"]\nos = []\n", "empty `os`"),
            ("[[only]]\npaths = []\ndevices = [\"a\"]\n", "empty `paths`"),
            ("[[only]]\ndevices = [\"a\"]\n", "needs `paths`"),
            ("[[only]]\npaths = [\"x\"]\n", "needs `devices"),
            ("[[only]]\npaths = [\"x\"]\ndevices = []\n", "empty `devices`"),
            ("[[only]]\npaths = [\"/etc/x\"]\ndevices = [\"a\"]\n", "/etc/x"),
            ("[[only]]\npaths = [\"{a,b}\"]\ndevices = [\"a\"]\n", "{a,b}"),
        ];
        for (text, want) in cases {
            let e = err(text);
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
