//! `.dotback/recipients.txt`: the public keys every secret is encrypted to.
//!
//! The file stays a valid age recipients file, so `age -R .dotback/recipients.txt`
//! encrypts to the same set by hand. age ignores `#` comments and blank lines, so the
//! labels live in comments, each on the line before its key:
//!
//! ```text
//! # dotback recipients: every device and the recovery key (age -R reads this file)
//! # device: laptop
//! age1…
//! # recovery
//! age1…
//! ```
//!
//! Parsing rules: lines are trimmed; blank lines and other comments are ignored;
//! `# device: NAME` and `# recovery` (keywords case-insensitive) label the next key line.
//! A key without a label (added by hand, e.g. `age-keygen -y >> recipients.txt`) becomes
//! device `unnamed-N` (N = 1, 2, … in file order, skipping names already used), and
//! [`Recipients::to_text`] then writes that label out. Errors name the line: a line that
//! is not an `age1…` key (a pasted `AGE-SECRET-KEY-…` gets its own warning, never echoed),
//! a label not followed by a key, duplicate names or keys, two recovery keys.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use age::x25519::Recipient;

use super::CryptError;
use crate::error::{Op, PathError};

/// The comment written at the top of the file.
pub const HEADER: &str = "# dotback recipients: every device and the recovery key (age -R reads this file)";

/// Whose key a recipient is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// A device, by name.
    Device(String),
    /// The recovery key (its secret half is sealed in `.dotback/recovery.age`).
    Recovery,
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Device(name) => write!(f, "device {name:?}"),
            Label::Recovery => f.write_str("the recovery key"),
        }
    }
}

/// One recipient and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub label: Label,
    pub recipient: Recipient,
}

/// The whole recipients file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipients {
    pub entries: Vec<Entry>,
}

/// Checks a device name: non-empty, at most 64 characters, no surrounding whitespace, no
/// control characters, and usable as one path component (no `/`, `\`, not `.` or `..`),
/// since other parts of the store use it in paths (`packages/<device>/…`).
pub fn validate_device_name(name: &str) -> Result<(), CryptError> {
    let bad = |detail| Err(CryptError::InvalidDeviceName { name: name.to_string(), detail });
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.chars().count() > 64 {
        return bad("it is longer than 64 characters");
    }
    if name.trim() != name {
        return bad("it starts or ends with whitespace");
    }
    if name.chars().any(char::is_control) {
        return bad("it contains a control character");
    }
    if name.contains('/') || name.contains('\\') || name == "." || name == ".." {
        return bad("it must be usable as a file name (no '/', '\\', '.' or '..')");
    }
    Ok(())
}

enum Line<'a> {
    Blank,
    Label(Label),
    Key(&'a str),
}

fn classify(line: &str) -> Line<'_> {
    let line = line.trim();
    if line.is_empty() {
        return Line::Blank;
    }
    let Some(comment) = line.strip_prefix('#') else {
        return Line::Key(line);
    };
    let comment = comment.trim();
    if comment.eq_ignore_ascii_case("recovery") {
        return Line::Label(Label::Recovery);
    }
    if let Some((keyword, name)) = comment.split_once(':')
        && keyword.trim().eq_ignore_ascii_case("device")
    {
        return Line::Label(Label::Device(name.trim().to_string()));
    }
    Line::Blank
}

fn parse_key(key: &str) -> Result<Recipient, String> {
    if key.starts_with("AGE-SECRET-KEY-") {
        return Err("this line is a SECRET key: recipients.txt must hold public keys (age1…) only; \
                    remove it and treat that key as exposed"
            .into());
    }
    if key.starts_with("ssh-") || key.starts_with("ecdsa-") {
        return Err("ssh keys are not supported as dotback recipients; use an age1… key".into());
    }
    if key.starts_with("age1") && key.contains(' ') {
        return Err("unexpected text after the key (comments go on their own line)".into());
    }
    key.parse::<Recipient>().map_err(|why| format!("not an age X25519 public key (age1…): {why}"))
}

impl Recipients {
    /// An empty set (for a new store).
    pub fn new() -> Recipients {
        Recipients::default()
    }

    /// Parses the file's text; `path` is only used in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Recipients, CryptError> {
        let err = |line: usize, detail: String| CryptError::Recipients { path: path.to_path_buf(), line, detail };
        let mut parsed: Vec<(usize, Option<Label>, Recipient)> = Vec::new();
        let mut pending: Option<(usize, Label)> = None;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            match classify(raw) {
                Line::Blank => {}
                Line::Label(label) => {
                    if let Label::Device(name) = &label {
                        validate_device_name(name).map_err(|e| err(n, e.to_string()))?;
                    }
                    if let Some((m, previous)) = &pending {
                        return Err(err(n, format!("the label for {previous} on line {m} has no key after it")));
                    }
                    pending = Some((n, label));
                }
                Line::Key(key) => {
                    let recipient = parse_key(key).map_err(|d| err(n, d))?;
                    parsed.push((n, pending.take().map(|(_, l)| l), recipient));
                }
            }
        }
        if let Some((m, label)) = pending {
            return Err(err(m, format!("the label for {label} has no key after it")));
        }

        let explicit: HashSet<String> = parsed
            .iter()
            .filter_map(|(_, l, _)| match l {
                Some(Label::Device(name)) => Some(name.clone()),
                _ => None,
            })
            .collect();
        let mut counter = 0;
        let mut out = Recipients::new();
        for (n, label, recipient) in parsed {
            let label = label.unwrap_or_else(|| {
                loop {
                    counter += 1;
                    let name = format!("unnamed-{counter}");
                    if !explicit.contains(&name) {
                        break Label::Device(name);
                    }
                }
            });
            if let Some(existing) = out.entries.iter().find(|e| e.recipient == recipient) {
                return Err(err(n, format!("this key is already listed, for {}", existing.label)));
            }
            match &label {
                Label::Recovery if out.recovery().is_some() => {
                    return Err(err(n, "a second recovery key (there must be at most one)".into()));
                }
                Label::Device(name) if out.device(name).is_some() => {
                    return Err(err(n, format!("a second device named {name:?}")));
                }
                _ => {}
            }
            out.entries.push(Entry { label, recipient });
        }
        Ok(out)
    }

    /// Reads and parses the file `path`, following no symbolic link below `root` (the store). A
    /// missing file, or one without keys, is [`CryptError::EmptyRecipients`]: with no
    /// recipients nothing can be encrypted.
    pub fn load(root: &Path, path: &Path) -> Result<Recipients, CryptError> {
        let text = match crate::fsutil::read_to_string_beneath(root, path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CryptError::EmptyRecipients { path: path.to_path_buf() });
            }
            Err(source) => return Err(PathError::new(Op::Read, path, source).into()),
        };
        let recipients = Recipients::parse(path, &text)?;
        if recipients.entries.is_empty() {
            return Err(CryptError::EmptyRecipients { path: path.to_path_buf() });
        }
        Ok(recipients)
    }

    /// The file's text: the header comment, then each label comment and key.
    pub fn to_text(&self) -> String {
        let mut text = String::with_capacity(HEADER.len() + 1 + self.entries.len() * 100);
        text.push_str(HEADER);
        text.push('\n');
        for entry in &self.entries {
            match &entry.label {
                Label::Device(name) => {
                    text.push_str("# device: ");
                    text.push_str(name);
                }
                Label::Recovery => text.push_str("# recovery"),
            }
            text.push('\n');
            text.push_str(&entry.recipient.to_string());
            text.push('\n');
        }
        text
    }

    /// Every recipient, devices and recovery, in file order.
    pub fn all(&self) -> Vec<Recipient> {
        self.entries.iter().map(|e| e.recipient.clone()).collect()
    }

    /// The devices, in file order.
    pub fn devices(&self) -> impl Iterator<Item = (&str, &Recipient)> {
        self.entries.iter().filter_map(|e| match &e.label {
            Label::Device(name) => Some((name.as_str(), &e.recipient)),
            Label::Recovery => None,
        })
    }

    /// The key of the device with this name.
    pub fn device(&self, name: &str) -> Option<&Recipient> {
        self.devices().find(|(n, _)| *n == name).map(|(_, r)| r)
    }

    /// Adds a device (before the recovery key, which stays last). A name or key already
    /// present is an error.
    pub fn add_device(&mut self, name: &str, r: Recipient) -> Result<(), CryptError> {
        validate_device_name(name)?;
        if self.device(name).is_some() {
            return Err(CryptError::DeviceExists { name: name.to_string() });
        }
        self.check_new_key(&r)?;
        let at = self.entries.iter().position(|e| e.label == Label::Recovery).unwrap_or(self.entries.len());
        self.entries.insert(at, Entry { label: Label::Device(name.to_string()), recipient: r });
        Ok(())
    }

    /// Removes a device. Unknown names are an error, and so is removing the last device
    /// (the recovery key alone cannot run a device).
    pub fn remove_device(&mut self, name: &str) -> Result<(), CryptError> {
        let Some(at) = self.entries.iter().position(|e| matches!(&e.label, Label::Device(n) if n == name)) else {
            return Err(CryptError::UnknownDevice { name: name.to_string() });
        };
        if self.devices().count() == 1 {
            return Err(CryptError::LastDevice { name: name.to_string() });
        }
        self.entries.remove(at);
        Ok(())
    }

    /// The recovery key's public half, if there is one.
    pub fn recovery(&self) -> Option<&Recipient> {
        self.entries.iter().find(|e| e.label == Label::Recovery).map(|e| &e.recipient)
    }

    /// Sets (or replaces, when rotating) the recovery key; it is kept last. A key that is
    /// already a device's is an error.
    pub fn set_recovery(&mut self, r: Recipient) -> Result<(), CryptError> {
        if let Some(entry) = self.entries.iter().find(|e| e.recipient == r)
            && entry.label != Label::Recovery
        {
            return Err(CryptError::RecipientExists { label: entry.label.to_string() });
        }
        self.entries.retain(|e| e.label != Label::Recovery);
        self.entries.push(Entry { label: Label::Recovery, recipient: r });
        Ok(())
    }

    fn check_new_key(&self, r: &Recipient) -> Result<(), CryptError> {
        match self.entries.iter().find(|e| &e.recipient == r) {
            Some(entry) => Err(CryptError::RecipientExists { label: entry.label.to_string() }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypt::Identity;
    use std::path::PathBuf;

    fn key() -> Recipient {
        Identity::generate().public()
    }

    fn p() -> PathBuf {
        PathBuf::from("/store/.dotback/recipients.txt")
    }

    fn line_of(e: CryptError) -> usize {
        match e {
            CryptError::Recipients { line, .. } => line,
            other => panic!("expected a Recipients error, got {other:?}"),
        }
    }

    #[test]
    fn round_trips_through_text() {
        let mut r = Recipients::new();
        r.add_device("laptop", key()).unwrap();
        r.set_recovery(key()).unwrap();
        r.add_device("desktop", key()).unwrap();
        let text = r.to_text();
        assert!(text.starts_with(HEADER));
        let back = Recipients::parse(&p(), &text).unwrap();
        assert_eq!(back, r);
        // Recovery stays last; devices in insertion order.
        let labels: Vec<_> = back.entries.iter().map(|e| e.label.clone()).collect();
        assert_eq!(labels, vec![Label::Device("laptop".into()), Label::Device("desktop".into()), Label::Recovery]);
        assert_eq!(back.all().len(), 3);
        assert_eq!(back.recovery(), Some(&r.entries[2].recipient));
    }

    #[test]
    fn example_format_parses() {
        let (a, b) = (key(), key());
        let text = format!("{HEADER}\n# device: laptop\n{a}\n\n# some note\n# Recovery\n{b}\n");
        let r = Recipients::parse(&p(), &text).unwrap();
        assert_eq!(r.device("laptop"), Some(&a));
        assert_eq!(r.recovery(), Some(&b));
    }

    #[test]
    fn unlabeled_keys_become_unnamed_n() {
        let (a, b, c) = (key(), key(), key());
        let text = format!("{a}\n# device: unnamed-1\n{b}\n{c}\n");
        let r = Recipients::parse(&p(), &text).unwrap();
        let names: Vec<_> = r.devices().map(|(n, _)| n.to_string()).collect();
        assert_eq!(names, vec!["unnamed-2", "unnamed-1", "unnamed-3"]);
        assert!(r.to_text().contains("# device: unnamed-2\n"));
    }

    #[test]
    fn parse_errors_name_the_line() {
        let a = key();
        assert_eq!(line_of(Recipients::parse(&p(), &format!("# x\n{a}\nage1notakey\n")).unwrap_err()), 3);
        assert_eq!(line_of(Recipients::parse(&p(), &format!("{a}\n{a}\n")).unwrap_err()), 2);
        assert_eq!(line_of(Recipients::parse(&p(), &format!("# device: x\n# device: y\n{a}\n")).unwrap_err()), 2);
        assert_eq!(line_of(Recipients::parse(&p(), &format!("{a}\n\n# recovery\n")).unwrap_err()), 3);
        let (b, c) = (key(), key());
        let two_rec = format!("# recovery\n{a}\n# recovery\n{b}\n");
        assert_eq!(line_of(Recipients::parse(&p(), &two_rec).unwrap_err()), 4);
        let same_name = format!("# device: x\n{a}\n# device: x\n{c}\n");
        assert_eq!(line_of(Recipients::parse(&p(), &same_name).unwrap_err()), 4);
        assert_eq!(line_of(Recipients::parse(&p(), &format!("# device: a/b\n{a}\n")).unwrap_err()), 1);
        assert_eq!(line_of(Recipients::parse(&p(), &format!("{a} # laptop\n")).unwrap_err()), 1);
        let ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc user@host";
        assert_eq!(line_of(Recipients::parse(&p(), &format!("{a}\n{ssh}\n")).unwrap_err()), 2);
    }

    #[test]
    fn a_pasted_secret_key_is_flagged_and_never_echoed() {
        let id = Identity::generate();
        let secret = secrecy::ExposeSecret::expose_secret(&id.to_secret_string()).to_string();
        let e = Recipients::parse(&p(), &format!("# device: x\n{secret}\n")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(":2:") && msg.contains("SECRET"), "{msg}");
        assert!(!msg.contains(&secret[16..]), "{msg}");
    }

    #[test]
    fn load_missing_or_empty_is_empty_recipients() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recipients.txt");
        assert!(matches!(Recipients::load(dir.path(), &path), Err(CryptError::EmptyRecipients { .. })));
        std::fs::write(&path, format!("{HEADER}\n\n")).unwrap();
        assert!(matches!(Recipients::load(dir.path(), &path), Err(CryptError::EmptyRecipients { .. })));
        let mut r = Recipients::new();
        r.add_device("laptop", key()).unwrap();
        std::fs::write(&path, r.to_text()).unwrap();
        assert_eq!(Recipients::load(dir.path(), &path).unwrap(), r);
    }

    #[test]
    fn add_and_remove_devices() {
        let (a, b, rec) = (key(), key(), key());
        let mut r = Recipients::new();
        r.add_device("laptop", a.clone()).unwrap();
        r.set_recovery(rec.clone()).unwrap();
        assert!(matches!(r.add_device("laptop", key()), Err(CryptError::DeviceExists { .. })));
        assert!(matches!(r.add_device("other", a.clone()), Err(CryptError::RecipientExists { .. })));
        assert!(matches!(r.add_device("other", rec.clone()), Err(CryptError::RecipientExists { .. })));
        assert!(matches!(r.add_device("", key()), Err(CryptError::InvalidDeviceName { .. })));
        assert!(matches!(r.add_device("../x", key()), Err(CryptError::InvalidDeviceName { .. })));
        assert!(matches!(r.add_device("a\nb", key()), Err(CryptError::InvalidDeviceName { .. })));
        assert!(matches!(r.set_recovery(a.clone()), Err(CryptError::RecipientExists { .. })));
        assert!(matches!(r.remove_device("nope"), Err(CryptError::UnknownDevice { .. })));
        assert!(matches!(r.remove_device("laptop"), Err(CryptError::LastDevice { .. })));
        r.add_device("desktop", b.clone()).unwrap();
        r.remove_device("laptop").unwrap();
        assert_eq!(r.all(), vec![b, rec.clone()]);
        // Rotating the recovery key replaces it.
        let rec2 = key();
        r.set_recovery(rec2.clone()).unwrap();
        assert_eq!(r.recovery(), Some(&rec2));
        assert_eq!(r.entries.len(), 2);
    }
}
