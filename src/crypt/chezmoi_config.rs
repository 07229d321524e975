//! chezmoi's age settings, so a chezmoi user's identity and recipients are used as they are.
//!
//! chezmoi reads `$XDG_CONFIG_HOME/chezmoi/chezmoi.{toml,yaml,yml,json,jsonc}` (more than
//! one is an error there too). dotback reads the TOML one and reports the others as
//! unsupported. The settings, as checked against chezmoi v2.73 (`chezmoi dump-config`):
//!
//! ```toml
//! encryption = "age"            # top level; anything else (or absent) = not age
//! [age]
//! identity = "~/key.txt"        # string path
//! identities = ["~/k2.txt"]     # list of paths
//! recipient = "age1…"           # string
//! recipients = ["age1…"]        # list
//! recipientsFile = "~/r.txt"    # string path (age -R format)
//! recipientsFiles = ["~/r2.txt"]
//! symmetric = false             # encrypt to the identities themselves
//! passphrase = false            # age -p (scrypt) instead of keys
//! suffix = ".age"
//! # also: command, args, useBuiltin (and top-level useBuiltinAge): not read here
//! ```
//!
//! Like chezmoi, key names match case-insensitively (`recipientsfile`, `[AGE]`), unknown
//! keys are ignored (it is chezmoi's file), and a key of the wrong type is an error.
//! Paths: `~` and `~/…` expand to HOME; `~user` and `$VARS` are not expanded (chezmoi
//! does not either). chezmoi resolves a relative path against its current directory; this
//! module returns it relative, so opening it resolves the same way.
//!
//! TOML errors are reported by message and line number only: chezmoi configs often hold
//! secrets in `[data]`, and the toml crate's full error display quotes the source line.

use std::path::{Path, PathBuf};

use age::x25519::Recipient;

use super::CryptError;
use crate::error::{IoContext, Op};

/// chezmoi's age settings that dotback uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChezmoiAge {
    /// `age.identity` then `age.identities`, `~` expanded.
    pub identities: Vec<PathBuf>,
    /// `age.recipient` then `age.recipients`.
    pub recipients: Vec<Recipient>,
    /// `age.recipientsFile` then `age.recipientsFiles`, `~` expanded (not read here).
    pub recipient_files: Vec<PathBuf>,
    /// `age.symmetric`: chezmoi encrypts to the identities' own public keys.
    pub symmetric: bool,
    /// `age.passphrase`: chezmoi uses passphrase (scrypt) encryption, not keys.
    pub passphrase: bool,
    /// `age.suffix` (default `.age`): the suffix of encrypted files in the source dir.
    pub suffix: String,
    /// The config file these came from.
    pub config_file: PathBuf,
}

/// The config file names chezmoi looks for, TOML first.
const CONFIG_NAMES: [&str; 5] = ["chezmoi.toml", "chezmoi.yaml", "chezmoi.yml", "chezmoi.json", "chezmoi.jsonc"];

/// Reads chezmoi's age settings from `config_dir` (`$XDG_CONFIG_HOME/chezmoi`). `Ok(None)`
/// when there is no config file or it does not say `encryption = "age"`.
pub fn read(config_dir: &Path, home: &Path) -> Result<Option<ChezmoiAge>, CryptError> {
    let present: Vec<PathBuf> =
        CONFIG_NAMES.iter().map(|name| config_dir.join(name)).filter(|p| p.symlink_metadata().is_ok()).collect();
    let path = match present.as_slice() {
        [] => return Ok(None),
        [one] => one.clone(),
        [first, second, ..] => {
            return Err(CryptError::ChezmoiConfig {
                path: first.clone(),
                detail: format!("chezmoi refuses multiple config files: also {}", second.display()),
            });
        }
    };
    if path.extension().and_then(|e| e.to_str()) != Some("toml") {
        return Err(CryptError::ChezmoiConfigUnsupported { path });
    }
    let text = std::fs::read_to_string(&path).context(Op::Read, &path)?;
    parse(&path, &text, home)
}

/// The `[data]` table of chezmoi's config in `config_dir`: empty when there is no config file,
/// `None` when it cannot be read (another format than TOML, more than one file, invalid TOML),
/// so that nothing is assumed about the data.
pub fn data(config_dir: &Path) -> Option<toml::Table> {
    let present: Vec<PathBuf> =
        CONFIG_NAMES.iter().map(|name| config_dir.join(name)).filter(|p| p.symlink_metadata().is_ok()).collect();
    let path = match present.as_slice() {
        [] => return Some(toml::Table::new()),
        [one] if one.extension().and_then(|e| e.to_str()) == Some("toml") => one,
        _ => return None,
    };
    let mut table: toml::Table = toml::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    match table.remove("data") {
        None => Some(toml::Table::new()),
        Some(toml::Value::Table(data)) => Some(data),
        Some(_) => None,
    }
}

/// Parses chezmoi.toml text (`path` is for errors and [`ChezmoiAge::config_file`]).
pub fn parse(path: &Path, text: &str, home: &Path) -> Result<Option<ChezmoiAge>, CryptError> {
    let bad = |detail: String| CryptError::ChezmoiConfig { path: path.to_path_buf(), detail };
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let message = e.message().trim_end();
        bad(match line {
            Some(line) => format!("invalid TOML at line {line}: {message}"),
            None => format!("invalid TOML: {message}"),
        })
    })?;

    match get(&table, "encryption").map_err(&bad)? {
        None => return Ok(None),
        Some(toml::Value::String(s)) if s == "age" => {}
        Some(toml::Value::String(_)) => return Ok(None),
        Some(other) => {
            return Err(bad(format!("`encryption` must be a string, not {}", other.type_str())));
        }
    }

    let empty = toml::Table::new();
    let age = match get(&table, "age").map_err(&bad)? {
        None => &empty,
        Some(toml::Value::Table(t)) => t,
        Some(other) => {
            return Err(bad(format!("`age` must be a table, not {}", other.type_str())));
        }
    };

    let mut out = ChezmoiAge {
        identities: Vec::new(),
        recipients: Vec::new(),
        recipient_files: Vec::new(),
        symmetric: false,
        passphrase: false,
        suffix: ".age".to_string(),
        config_file: path.to_path_buf(),
    };
    let expand = |s: &str| expand_tilde(s, home);

    if let Some(s) = string(age, "identity").map_err(&bad)?.filter(|s| !s.is_empty()) {
        out.identities.push(expand(s));
    }
    for s in strings(age, "identities").map_err(&bad)? {
        out.identities.push(expand(s));
    }
    let mut recipient_strings = Vec::new();
    if let Some(s) = string(age, "recipient").map_err(&bad)?.filter(|s| !s.is_empty()) {
        recipient_strings.push(("age.recipient".to_string(), s));
    }
    for (i, s) in strings(age, "recipients").map_err(&bad)?.into_iter().enumerate() {
        recipient_strings.push((format!("age.recipients[{i}]"), s));
    }
    for (key, s) in recipient_strings {
        let r = s.trim().parse::<Recipient>().map_err(|_| {
            bad(format!(
                "`{key}` is not an age X25519 recipient (age1…); dotback supports only those, \
                 not ssh or plugin recipients"
            ))
        })?;
        if !out.recipients.contains(&r) {
            out.recipients.push(r);
        }
    }
    if let Some(s) = string(age, "recipientsFile").map_err(&bad)?.filter(|s| !s.is_empty()) {
        out.recipient_files.push(expand(s));
    }
    for s in strings(age, "recipientsFiles").map_err(&bad)? {
        out.recipient_files.push(expand(s));
    }
    out.symmetric = boolean(age, "symmetric").map_err(&bad)?.unwrap_or(false);
    out.passphrase = boolean(age, "passphrase").map_err(&bad)?.unwrap_or(false);
    if let Some(s) = string(age, "suffix").map_err(&bad)? {
        out.suffix = s.to_string();
    }
    Ok(Some(out))
}

/// `~` -> home, `~/x` -> home/x; anything else unchanged.
fn expand_tilde(s: &str, home: &Path) -> PathBuf {
    if s == "~" {
        home.to_path_buf()
    } else if let Some(rest) = s.strip_prefix("~/") {
        home.join(rest)
    } else {
        PathBuf::from(s)
    }
}

/// Case-insensitive lookup, as chezmoi (viper) does. Two spellings of one key is an error.
fn get<'a>(table: &'a toml::Table, key: &str) -> Result<Option<&'a toml::Value>, String> {
    let mut found: Option<(&String, &toml::Value)> = None;
    for (k, v) in table {
        if k.eq_ignore_ascii_case(key) {
            if let Some((first, _)) = found {
                return Err(format!("both `{first}` and `{k}` are set; keep one"));
            }
            found = Some((k, v));
        }
    }
    Ok(found.map(|(_, v)| v))
}

fn string<'a>(table: &'a toml::Table, key: &str) -> Result<Option<&'a str>, String> {
    match get(table, key)? {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("`age.{key}` must be a string, not {}", other.type_str())),
    }
}

fn strings<'a>(table: &'a toml::Table, key: &str) -> Result<Vec<&'a str>, String> {
    match get(table, key)? {
        None => Ok(Vec::new()),
        Some(toml::Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                toml::Value::String(s) => Ok(s.as_str()),
                other => Err(format!("`age.{key}[{i}]` must be a string, not {}", other.type_str())),
            })
            .collect(),
        Some(other) => Err(format!("`age.{key}` must be a list of strings, not {}", other.type_str())),
    }
}

fn boolean(table: &toml::Table, key: &str) -> Result<Option<bool>, String> {
    match get(table, key)? {
        None => Ok(None),
        Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
        Some(other) => Err(format!("`age.{key}` must be true or false, not {}", other.type_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypt::Identity;

    fn home() -> PathBuf {
        PathBuf::from("/home/u")
    }

    fn parse_ok(text: &str) -> Option<ChezmoiAge> {
        parse(Path::new("/c/chezmoi.toml"), text, &home()).unwrap()
    }

    fn parse_err(text: &str) -> String {
        parse(Path::new("/c/chezmoi.toml"), text, &home()).unwrap_err().to_string()
    }

    #[test]
    fn not_configured_for_age_is_none() {
        assert_eq!(parse_ok(""), None);
        assert_eq!(parse_ok("[age]\nidentity = \"~/k\"\n"), None);
        assert_eq!(parse_ok("encryption = \"gpg\"\n[gpg]\nrecipient = \"x\"\n"), None);
    }

    #[test]
    fn reads_every_key_and_expands_tilde() {
        let (a, b, c) = (Identity::generate().public(), Identity::generate().public(), Identity::generate().public());
        let text = format!(
            "encryption = \"age\"\nsomethingElse = 3\n[data]\nx = 1\n[age]\nidentity = \"~/key.txt\"\n\
             identities = [\"/abs/k2\", \"rel/k3\", \"~\"]\nrecipient = \"{a}\"\nrecipients = [\"{b}\", \"{c}\", \"{a}\"]\n\
             recipientsFile = \"~/r.txt\"\nrecipientsFiles = [\"~other/r2\"]\nsymmetric = true\npassphrase = false\n\
             suffix = \".enc\"\nuseBuiltin = true\ncommand = \"rage\"\nunknown = [1, 2]\n"
        );
        let got = parse_ok(&text).unwrap();
        assert_eq!(
            got.identities,
            vec![home().join("key.txt"), PathBuf::from("/abs/k2"), PathBuf::from("rel/k3"), home()]
        );
        assert_eq!(got.recipients, vec![a, b, c]);
        assert_eq!(got.recipient_files, vec![home().join("r.txt"), PathBuf::from("~other/r2")]);
        assert!(got.symmetric && !got.passphrase);
        assert_eq!(got.suffix, ".enc");
    }

    #[test]
    fn keys_match_case_insensitively_like_chezmoi() {
        let got = parse_ok("Encryption = \"age\"\n[AGE]\nIdentity = \"~/k\"\nRECIPIENTSFILE = \"/r\"\n").unwrap();
        assert_eq!(got.identities, vec![home().join("k")]);
        assert_eq!(got.recipient_files, vec![PathBuf::from("/r")]);
        assert!(parse_err("encryption = \"age\"\n[age]\nidentity = \"/a\"\nIdentity = \"/b\"\n").contains("both"));
    }

    #[test]
    fn encryption_age_without_table_gives_empty_settings() {
        let got = parse_ok("encryption = \"age\"\n").unwrap();
        assert!(got.identities.is_empty() && got.recipients.is_empty() && got.recipient_files.is_empty());
        assert_eq!(got.suffix, ".age");
    }

    #[test]
    fn wrong_types_are_errors() {
        assert!(parse_err("encryption = 1\n").contains("`encryption` must be a string"));
        assert!(parse_err("encryption = \"age\"\nage = 1\n").contains("`age` must be a table"));
        assert!(parse_err("encryption = \"age\"\n[age]\nidentity = 5\n").contains("`age.identity` must be a string"));
        assert!(parse_err("encryption = \"age\"\n[age]\nidentities = \"~/k\"\n").contains("list of strings"));
        assert!(parse_err("encryption = \"age\"\n[age]\nidentities = [\"a\", 1]\n").contains("`age.identities[1]`"));
        assert!(parse_err("encryption = \"age\"\n[age]\nsymmetric = \"yes\"\n").contains("true or false"));
        let e = parse_err("encryption = \"age\"\n[age]\nrecipients = [\"ssh-ed25519 AAAA\"]\n");
        assert!(e.contains("`age.recipients[0]` is not an age X25519 recipient"), "{e}");
    }

    #[test]
    fn toml_errors_give_the_line_but_not_its_content() {
        let e = parse_err("encryption = \"age\"\n[data]\ntoken = \"hunter2-secret\" oops\n");
        assert!(e.contains("line 3"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn read_finds_the_file_and_refuses_other_formats() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path(), &home()).unwrap(), None);
        std::fs::write(dir.path().join("chezmoi.toml"), "encryption = \"age\"\n[age]\nidentity = \"~/k\"\n").unwrap();
        let got = read(dir.path(), &home()).unwrap().unwrap();
        assert_eq!(got.config_file, dir.path().join("chezmoi.toml"));
        std::fs::write(dir.path().join("chezmoi.yaml"), "encryption: age\n").unwrap();
        assert!(matches!(read(dir.path(), &home()), Err(CryptError::ChezmoiConfig { .. })));
        std::fs::remove_file(dir.path().join("chezmoi.toml")).unwrap();
        assert!(matches!(read(dir.path(), &home()), Err(CryptError::ChezmoiConfigUnsupported { .. })));
    }

    #[test]
    fn data_is_the_data_table_or_nothing_known() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(data(dir.path()), Some(toml::Table::new()));
        let path = dir.path().join("chezmoi.toml");
        std::fs::write(&path, "encryption = \"age\"\n[data]\nwork = true\n[data.dev]\nos = \"linux\"\n").unwrap();
        let got = data(dir.path()).unwrap();
        assert_eq!(got["work"].as_bool(), Some(true));
        assert_eq!(got["dev"]["os"].as_str(), Some("linux"));
        std::fs::write(&path, "[age]\n").unwrap();
        assert_eq!(data(dir.path()), Some(toml::Table::new()));
        for bad in ["data = 1\n", "[data\n"] {
            std::fs::write(&path, bad).unwrap();
            assert_eq!(data(dir.path()), None, "{bad:?}");
        }
        std::fs::remove_file(&path).unwrap();
        std::fs::write(dir.path().join("chezmoi.yaml"), "data:\n  a: 1\n").unwrap();
        assert_eq!(data(dir.path()), None);
    }
}
